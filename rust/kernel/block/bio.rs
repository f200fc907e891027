// SPDX-License-Identifier: GPL-2.0

//! Bios: the block layer's unit of I/O.
//!
//! Two kinds of bio are offered here:
//!
//! - [`Bio`], a bio someone else submitted and the caller was handed for a
//!   while (by a [`filter`](super::filter), for example). It can be looked at,
//!   filled with data and completed.
//! - [`submit_read`], which reads a range of a block device into pages the
//!   caller owns and hands them back, in process context, when the read is
//!   done. Its bios are the caller's own: a bio filter on the disk does not
//!   see them.
//!
//! C header: [`include/linux/bio.h`](srctree/include/linux/bio.h)

use crate::{
    alloc::{flags, KBox, KVec},
    bindings,
    block::bdev::{BlockDevice, DevT},
    error::{code::*, Error, Result},
    new_work,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::Arc,
    workqueue::{self, impl_has_work, Work, WorkItem},
};
use core::ptr::NonNull;

/// Bytes in a sector, the block layer's address unit.
pub const SECTOR_SIZE: u64 = 512;

/// The operation of a bio (`enum req_op`).
///
/// # Examples
///
/// ```
/// use kernel::block::bio::Op;
///
/// assert!(!Op::Read.is_write());
/// assert!(Op::Write.is_write() && Op::Discard.is_write() && Op::WriteZeroes.is_write());
/// // A flush moves data already written; it writes nothing itself.
/// assert!(!Op::Flush.is_write());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// Read data.
    Read,
    /// Write data.
    Write,
    /// Flush the volatile write cache.
    Flush,
    /// Discard sectors.
    Discard,
    /// Securely erase sectors.
    SecureErase,
    /// Write zeroes.
    WriteZeroes,
    /// Any other operation (zone management, driver private), by number.
    Other(u32),
}

impl Op {
    fn from_raw(op: u32) -> Self {
        // The names are those of `enum req_op`.
        match op {
            bindings::req_op_REQ_OP_READ => Op::Read,
            bindings::req_op_REQ_OP_WRITE => Op::Write,
            bindings::req_op_REQ_OP_FLUSH => Op::Flush,
            bindings::req_op_REQ_OP_DISCARD => Op::Discard,
            bindings::req_op_REQ_OP_SECURE_ERASE => Op::SecureErase,
            bindings::req_op_REQ_OP_WRITE_ZEROES => Op::WriteZeroes,
            other => Op::Other(other),
        }
    }

    fn as_raw(self) -> u32 {
        match self {
            Op::Read => bindings::req_op_REQ_OP_READ,
            Op::Write => bindings::req_op_REQ_OP_WRITE,
            Op::Flush => bindings::req_op_REQ_OP_FLUSH,
            Op::Discard => bindings::req_op_REQ_OP_DISCARD,
            Op::SecureErase => bindings::req_op_REQ_OP_SECURE_ERASE,
            Op::WriteZeroes => bindings::req_op_REQ_OP_WRITE_ZEROES,
            Op::Other(op) => op,
        }
    }

    /// Returns `true` for operations that change data on the device, as
    /// `op_is_write()` (the low bit of the operation) says; a flush does not.
    pub fn is_write(self) -> bool {
        self.as_raw() & 1 != 0
    }
}

/// A bio the caller was handed and must complete or hand back.
///
/// Dropping a `Bio` completes it with an I/O error, so that no bio is ever
/// lost; complete it with [`Bio::end`] instead.
///
/// # Invariants
///
/// `ptr` is a live bio that this object owns: nothing else touches it until
/// this object ends it or gives it back.
#[must_use = "a Bio must be ended or handed back; dropping it fails the I/O"]
pub struct Bio {
    ptr: NonNull<bindings::bio>,
}

// SAFETY: A bio may be completed from any thread.
unsafe impl Send for Bio {}

impl Bio {
    /// Takes over a bio.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live bio whose owner hands it over: nobody else may use
    /// it until the returned object ends it or gives it back with
    /// [`Bio::into_raw`].
    pub unsafe fn from_raw(ptr: *mut bindings::bio) -> Self {
        // INVARIANT: By the safety requirements we own a live bio.
        Self {
            // SAFETY: By the safety requirements, `ptr` is a live bio.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }

    /// Gives the bio back without completing it.
    pub fn into_raw(self) -> *mut bindings::bio {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    fn raw(&self) -> &bindings::bio {
        // SAFETY: By the type invariant, the bio is live and ours.
        unsafe { self.ptr.as_ref() }
    }

    /// Returns the operation.
    pub fn op(&self) -> Op {
        Op::from_raw(self.raw().bi_opf & ((1 << bindings::REQ_OP_BITS) - 1))
    }

    /// Returns the operation and flags (`bi_opf`), as the C code sees them.
    pub fn opf(&self) -> u32 {
        self.raw().bi_opf
    }

    /// Returns `true` if the submitter asked not to wait (`REQ_NOWAIT`).
    pub fn is_nowait(&self) -> bool {
        self.raw().bi_opf & (1 << bindings::req_flag_bits___REQ_NOWAIT) != 0
    }

    /// Returns `true` if the bio is read-ahead (`REQ_RAHEAD`), which may fail
    /// without harm.
    pub fn is_readahead(&self) -> bool {
        self.raw().bi_opf & (1 << bindings::req_flag_bits___REQ_RAHEAD) != 0
    }

    /// Returns `true` if the bio carries an inline encryption context or an
    /// integrity payload, so its data on the disk is not its data in memory.
    pub fn has_crypt_or_integrity(&self) -> bool {
        // SAFETY: The bio is live.
        unsafe {
            bindings::bio_has_crypt_ctx(self.ptr.as_ptr())
                || !bindings::bio_integrity(self.ptr.as_ptr()).is_null()
        }
    }

    /// Returns the first sector, relative to the whole disk.
    ///
    /// Bios are remapped from partitions to their disk before filters see
    /// them.
    pub fn sector(&self) -> u64 {
        self.raw().bi_iter.bi_sector
    }

    /// Returns the size in bytes.
    pub fn size(&self) -> u32 {
        self.raw().bi_iter.bi_size
    }

    /// Returns the device number of the block device (disk or partition) the
    /// bio was submitted to.
    pub fn dev(&self) -> DevT {
        // SAFETY: A live bio has a live `bi_bdev`.
        DevT::from_raw(unsafe { (*self.raw().bi_bdev).bd_dev })
    }

    /// Returns the first sector of the partition the bio was submitted to, on
    /// its disk (0 for the whole disk).
    pub fn partition_start(&self) -> u64 {
        // SAFETY: A live bio has a live `bi_bdev`.
        unsafe { (*self.raw().bi_bdev).bd_start_sect }
    }

    /// Calls `f` with each data segment of the bio, in order, mapped into
    /// memory; each segment lies within one page.
    pub fn for_each_segment_mut(&mut self, mut f: impl FnMut(&mut [u8])) {
        let mut iter = self.raw().bi_iter;
        while iter.bi_size > 0 {
            // SAFETY: The bio is live and `iter` is within its data.
            let bv = unsafe { bindings::bio_iter_iovec(self.ptr.as_ptr(), iter) };
            let len = bv.bv_len;
            // SAFETY: `bv` is a single-page segment of the bio: its page is
            // live and mapped here until `kunmap_local` below.
            let base = unsafe { bindings::kmap_local_page(bv.bv_page) }.cast::<u8>();
            // SAFETY: The segment is `bv_len` bytes at `bv_offset` in the
            // page, which is ours to write while we own the bio.
            let seg = unsafe {
                core::slice::from_raw_parts_mut(base.add(bv.bv_offset as usize), len as usize)
            };
            f(seg);
            // SAFETY: `base` was mapped above.
            unsafe { bindings::kunmap_local(base.cast()) };
            // SAFETY: `len` bytes of `iter` were just consumed.
            unsafe { bindings::bio_advance_iter_single(self.ptr.as_ptr(), &mut iter, len) };
        }
    }

    /// Fills the bio's data with `src`, which must be exactly as long as the
    /// bio ([`Bio::size`]).
    pub fn copy_from_slice(&mut self, src: &[u8]) -> Result {
        if src.len() != self.size() as usize {
            return Err(EINVAL);
        }
        let mut rest = src;
        self.for_each_segment_mut(|seg| {
            let (now, later) = rest.split_at(seg.len().min(rest.len()));
            seg[..now.len()].copy_from_slice(now);
            rest = later;
        });
        Ok(())
    }

    /// Returns a writer that fills the bio's data in order, from the start.
    pub fn data_writer(&mut self) -> DataWriter<'_> {
        let iter = self.raw().bi_iter;
        DataWriter { bio: self, iter }
    }

    /// Completes the bio: successfully, or with the error.
    pub fn end(self, result: Result) {
        let ptr = self.into_raw();
        let status = match result {
            Ok(()) => bindings::BLK_STS_OK as bindings::blk_status_t,
            Err(e) => e.to_blk_status(),
        };
        // SAFETY: We owned the bio; `bio_endio` hands it back to its owner.
        unsafe {
            (*ptr).bi_status = status;
            bindings::bio_endio(ptr);
        }
    }
}

impl Drop for Bio {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the bio; failing it is always
        // allowed and never loses it.
        unsafe { bindings::bio_io_error(self.ptr.as_ptr()) };
    }
}

/// Fills a [`Bio`]'s data piece by piece, in order.
pub struct DataWriter<'a> {
    bio: &'a mut Bio,
    iter: bindings::bvec_iter,
}

impl DataWriter<'_> {
    /// Copies `src` into the next bytes of the bio's data; returns how many
    /// bytes fitted (fewer than `src.len()` only at the end of the bio).
    pub fn write(&mut self, mut src: &[u8]) -> usize {
        let mut done = 0;
        while !src.is_empty() && self.iter.bi_size > 0 {
            let ptr = self.bio.ptr.as_ptr();
            // SAFETY: The bio is live and `iter` is within its data.
            let bv = unsafe { bindings::bio_iter_iovec(ptr, self.iter) };
            let len = (bv.bv_len as usize).min(src.len());
            // SAFETY: `bv` is a single-page segment of the bio, which we own;
            // its page is mapped until `kunmap_local` below, and `len` bytes
            // at `bv_offset` are within it.
            unsafe {
                let base = bindings::kmap_local_page(bv.bv_page).cast::<u8>();
                core::ptr::copy_nonoverlapping(src.as_ptr(), base.add(bv.bv_offset as usize), len);
                bindings::kunmap_local(base.cast());
            }
            // SAFETY: `len` bytes of `iter` were just written.
            unsafe { bindings::bio_advance_iter_single(ptr, &mut self.iter, len as u32) };
            src = &src[len..];
            done += len;
        }
        done
    }
}

/// Copies `dst.len()` bytes at `offset` in `page` into `dst`.
///
/// Fails with `EINVAL` if the range is not within the page.
pub fn read_page(page: &Page, offset: usize, dst: &mut [u8]) -> Result {
    // SAFETY: `dst` is valid for writes of its length. Every write to a
    // `Page` goes through an `unsafe` method whose caller promises it does not
    // race with reads, so this read races with nothing.
    unsafe { page.read_raw(dst.as_mut_ptr(), offset, dst.len()) }
}

/// What [`submit_read`] hands back when its read is done.
pub trait ReadDone: Send + Sized + 'static {
    /// Called in process context (a work item) once the read has finished:
    /// `result` says whether `pages` now hold the data.
    fn read_done(self, result: Result, pages: KVec<Page>);
}

/// A read in flight: the bio, its pages and where to report.
#[pin_data]
struct ReadState<D: ReadDone> {
    #[pin]
    work: Work<ReadState<D>>,
    pages: KVec<Page>,
    done: Option<D>,
    status: Result,
    bdev: Option<Arc<BlockDevice>>,
}

/// The fields of a [`ReadState`] that are not pinned.
struct ReadFields<'a, D> {
    pages: &'a mut KVec<Page>,
    done: &'a mut Option<D>,
    status: &'a mut Result,
    bdev: &'a mut Option<Arc<BlockDevice>>,
}

impl<D: ReadDone> ReadState<D> {
    fn project(self: Pin<&mut Self>) -> ReadFields<'_, D> {
        // SAFETY: Only `work` is structurally pinned, and it is not reachable
        // through the returned references.
        let this = unsafe { self.get_unchecked_mut() };
        ReadFields {
            pages: &mut this.pages,
            done: &mut this.done,
            status: &mut this.status,
            bdev: &mut this.bdev,
        }
    }
}

impl_has_work! {
    impl{D: ReadDone} HasWork<ReadState<D>> for ReadState<D> { self.work }
}

impl<D: ReadDone> WorkItem for ReadState<D> {
    type Pointer = Pin<KBox<ReadState<D>>>;

    fn run(mut this: Pin<KBox<Self>>) {
        let this = this.as_mut().project();
        let pages = core::mem::take(this.pages);
        let status = *this.status;
        // The read is over: drop our hold on the device before reporting.
        this.bdev.take();
        if let Some(done) = this.done.take() {
            done.read_done(status, pages);
        }
    }
}

/// Reads `pages.len()` pages from `bdev` starting at `sector` (relative to
/// `bdev`) into `pages`, and calls `done.read_done()` in process context when
/// the read has finished.
///
/// The bio is marked as the caller's own, so a filter attached to the disk
/// does not see it. `bdev` stays open until the read is done. On failure to
/// start, the pages and `done` come back with the error.
pub fn submit_read<D: ReadDone>(
    bdev: &Arc<BlockDevice>,
    sector: u64,
    pages: KVec<Page>,
    done: D,
) -> core::result::Result<(), (Error, KVec<Page>, D)> {
    let nr = pages.len();
    if nr == 0 || nr > bindings::BIO_MAX_VECS as usize {
        return Err((EINVAL, pages, done));
    }
    let mut state = match KBox::pin_init(
        pin_init!(ReadState {
            work <- new_work!("bio::submit_read"),
            pages: KVec::new(),
            done: None,
            status: Ok(()),
            bdev: None,
        }),
        flags::GFP_KERNEL,
    ) {
        Ok(state) => state,
        Err(e) => return Err((e, pages, done)),
    };
    // SAFETY: `bio_kmalloc` returns an uninitialised bio with room for `nr`
    // inline vectors, or null.
    let bio = unsafe { bindings::bio_kmalloc(nr as u16, bindings::GFP_KERNEL) };
    if bio.is_null() {
        return Err((ENOMEM, pages, done));
    }
    // Nothing can fail from here on.
    let fields = state.as_mut().project();
    *fields.pages = pages;
    *fields.done = Some(done);
    *fields.bdev = Some(bdev.clone());
    // SAFETY: `bio` has room for `nr` vectors inline; `bdev` is open.
    unsafe {
        bindings::bio_init(
            bio,
            bdev.as_raw(),
            (*bio).bi_inline_vecs.as_mut_ptr(),
            nr as u16,
            bindings::req_op_REQ_OP_READ,
        );
        (*bio).bi_iter.bi_sector = sector;
        (*bio).bi_end_io = Some(read_end_io::<D>);
    }
    for page in state.pages.iter() {
        // SAFETY: `bio` has a free vector for each page, and the page stays
        // alive in `state` until the bio completes.
        unsafe { bindings::__bio_add_page(bio, page.as_ptr(), PAGE_SIZE as u32, 0) };
    }
    // SAFETY: The state is not moved: only its address travels with the bio,
    // and `read_end_io` rebuilds the pinned box from it.
    let state = KBox::into_raw(unsafe { Pin::into_inner_unchecked(state) });
    // SAFETY: `bio` is fully set up; `bi_private` carries the state to the
    // completion, which owns it from here on.
    unsafe {
        (*bio).bi_private = state.cast();
        submit_own(bio);
    }
    Ok(())
}

/// Submits a bio of the caller's own, past any bio filter on its disk.
///
/// # Safety
///
/// `bio` must be a fully set-up bio that the caller owns.
unsafe fn submit_own(bio: *mut bindings::bio) {
    #[cfg(CONFIG_BLK_FILTER)]
    // SAFETY: By the safety requirements.
    unsafe {
        bindings::blk_filter_submit_own_bio(bio)
    };
    #[cfg(not(CONFIG_BLK_FILTER))]
    // SAFETY: By the safety requirements.
    unsafe {
        bindings::submit_bio(bio)
    };
}

/// Completion of a [`submit_read`] bio, in interrupt context: record the
/// status, free the bio, and finish in a work item.
///
/// # Safety
///
/// Called by the block layer once for a bio set up by `submit_read::<D>`.
unsafe extern "C" fn read_end_io<D: ReadDone>(bio: *mut bindings::bio) {
    // SAFETY: `bi_private` is the `ReadState<D>` leaked in `submit_read`.
    let state = unsafe { (*bio).bi_private.cast::<ReadState<D>>() };
    // SAFETY: The bio is done and ours.
    let status = unsafe { (*bio).bi_status };
    // SAFETY: The bio came from `bio_kmalloc` and `bio_init`.
    unsafe {
        bindings::bio_uninit(bio);
        bindings::kfree(bio.cast());
    }
    // SAFETY: We own the state again: the bio that held it is gone. It was
    // pinned at creation and has not moved.
    let mut state = unsafe { Pin::new_unchecked(KBox::from_raw(state)) };
    if status != bindings::BLK_STS_OK as bindings::blk_status_t {
        *state.as_mut().project().status = Err(EIO);
    }
    // Queueing can't fail: the work item is not queued anywhere else.
    workqueue::system().enqueue(state);
}
