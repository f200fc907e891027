// SPDX-License-Identifier: GPL-2.0

//! Bios: the block layer's unit of I/O.
//!
//! Three kinds of bio are offered here:
//!
//! - [`Bio`], a bio someone else submitted and the caller was handed for a
//!   while (by a [`filter`](super::filter), for example). It can be looked at,
//!   filled with data and completed.
//! - [`BioRef`], a bio someone else owns, lent for the duration of a call. It
//!   can only be looked at. A [`Bio`] dereferences to a [`BioRef`], so the
//!   accessors of [`BioRef`] work on both.
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
    types::{ForeignOwnable, Opaque},
    workqueue::{self, impl_has_work, Work, WorkItem},
};
use core::{ops::Deref, ptr::NonNull};

/// Bytes in a sector, the block layer's address unit.
const SECTOR_SIZE: u64 = 512;

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

/// A bio someone else owns, lent to the caller: it can be looked at, but not
/// completed, resubmitted or changed.
///
/// Callbacks receive a `&BioRef` for a bio they do not own (a filter's
/// [`missed_bio`](super::filter::Filter::missed_bio), for example), and an
/// owned [`Bio`] dereferences to one.
///
/// # Invariants
///
/// The bio is live, and its owner does not change the fields read here
/// (`bi_opf`, `bi_flags`, `bi_iter`, `bi_bdev`) while a shared reference to
/// this object exists.
#[repr(transparent)]
pub struct BioRef(Opaque<bindings::bio>);

impl BioRef {
    /// Borrows a bio for `'a`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live bio whose owner does not change, complete
    /// or free it during `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::bio) -> &'a Self {
        // INVARIANT: By the safety requirements, the bio is live and left
        // alone during `'a`.
        // SAFETY: `BioRef` is a transparent wrapper of `Opaque<bio>`, which
        // has the layout of `struct bio`; by the safety requirements the bio
        // is valid for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn ptr(&self) -> *mut bindings::bio {
        self.0.get()
    }

    /// Returns the operation.
    pub fn op(&self) -> Op {
        Op::from_raw(self.opf() & ((1 << bindings::REQ_OP_BITS) - 1))
    }

    /// Returns the operation and flags (`bi_opf`), as the C code sees them.
    fn opf(&self) -> u32 {
        // SAFETY: By the type invariant the bio is live and `bi_opf` does not
        // change while we are borrowed.
        unsafe { (*self.ptr()).bi_opf }
    }

    /// Returns `true` if the submitter asked not to wait (`REQ_NOWAIT`).
    pub fn is_nowait(&self) -> bool {
        self.opf() & (1 << bindings::req_flag_bits___REQ_NOWAIT) != 0
    }

    /// Returns `true` if a bio filter of the bio's disk saw it before
    /// (`BIO_FILTERED`): one was offered it or told of it, it was handed back
    /// with [`Bio::resubmit`], or it is a filter's own bio.
    ///
    /// In [`missed_bio`](super::filter::Filter::missed_bio), `true` marks a
    /// repeat: a write this filter, or an earlier filter of the disk, was
    /// offered already.
    pub fn was_filtered(&self) -> bool {
        // SAFETY: By the type invariant the bio is live and `bi_flags` does
        // not change while we are borrowed.
        let flags = unsafe { (*self.ptr()).bi_flags };
        flags & (1 << bindings::BIO_FILTERED) != 0
    }

    /// Returns `true` if the bio carries an inline encryption context or an
    /// integrity payload, so its data on the disk is not its data in memory.
    pub fn has_crypt_or_integrity(&self) -> bool {
        // SAFETY: By the type invariant the bio is live.
        unsafe {
            bindings::bio_has_crypt_ctx(self.ptr())
                || !bindings::bio_integrity(self.ptr()).is_null()
        }
    }

    /// Returns the first sector, relative to the whole disk.
    ///
    /// Bios are remapped from partitions to their disk before filters see
    /// them.
    pub fn sector(&self) -> u64 {
        // SAFETY: By the type invariant the bio is live and `bi_iter` does not
        // change while we are borrowed.
        unsafe { (*self.ptr()).bi_iter.bi_sector }
    }

    /// Returns the size in bytes.
    pub fn size(&self) -> u32 {
        // SAFETY: As for `sector`.
        unsafe { (*self.ptr()).bi_iter.bi_size }
    }

    /// Returns the device number of the block device (disk or partition) the
    /// bio was submitted to.
    pub fn dev(&self) -> DevT {
        // SAFETY: By the type invariant the bio is live, and a live bio has a
        // live `bi_bdev`.
        DevT::from_raw(unsafe { (*(*self.ptr()).bi_bdev).bd_dev })
    }
}

/// A bio the caller was handed and must complete or hand back.
///
/// Dropping a `Bio` completes it with an I/O error, so that no bio is ever
/// lost; complete it with [`Bio::end`] instead. Its accessors are those of
/// [`BioRef`], which it dereferences to.
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

impl Deref for Bio {
    type Target = BioRef;

    fn deref(&self) -> &BioRef {
        // SAFETY: By the type invariant we own the live bio, so nobody else
        // changes it, and while the returned reference lives `self` is
        // borrowed: none of our methods that take `&mut self` or `self` can
        // run.
        unsafe { BioRef::from_raw(self.ptr.as_ptr()) }
    }
}

impl Bio {
    /// Takes over a bio.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live bio whose owner hands it over: nobody else may use
    /// it until the returned object ends it or gives it back with
    /// [`Bio::into_raw`].
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::bio) -> Self {
        // INVARIANT: By the safety requirements we own a live bio.
        Self {
            // SAFETY: By the safety requirements, `ptr` is a live bio.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }

    /// Gives the bio back without completing it.
    pub(crate) fn into_raw(self) -> *mut bindings::bio {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// Returns the bio's current position in its data.
    fn iter(&self) -> bindings::bvec_iter {
        // SAFETY: By the type invariant, the bio is live and ours.
        unsafe { (*self.ptr.as_ptr()).bi_iter }
    }

    /// Returns a writer that fills the bio's data in order, from the start.
    pub fn data_writer(&mut self) -> DataWriter<'_> {
        let iter = self.iter();
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
    pub fn write(&mut self, src: &[u8]) -> usize {
        self.write_with(src.len(), |done, segment| {
            segment.copy_from_slice(&src[done..done + segment.len()]);
        })
    }

    /// Fills the next `len` bytes of the bio's data segment by segment:
    /// `fill(done, segment)` is called with each segment mapped into memory
    /// (within one page) and the bytes filled before it, and must fill it
    /// all. Returns how many bytes were filled (fewer than `len` only at the
    /// end of the bio).
    pub fn write_with(&mut self, len: usize, mut fill: impl FnMut(usize, &mut [u8])) -> usize {
        let mut done = 0;
        while done < len && self.iter.bi_size > 0 {
            let ptr = self.bio.ptr.as_ptr();
            // SAFETY: The bio is live and `iter` is within its data.
            let bv = unsafe { bindings::bio_iter_iovec(ptr, self.iter) };
            let n = (bv.bv_len as usize).min(len - done);
            // SAFETY: `bv` is a single-page segment of the bio, which we own;
            // its page stays mapped here until `kunmap_local` below.
            let base = unsafe { bindings::kmap_local_page(bv.bv_page) }.cast::<u8>();
            // SAFETY: `n` bytes at `bv_offset` are within the segment's page,
            // which is ours to write while we own the bio; the slice is not
            // used after the page is unmapped.
            let segment =
                unsafe { core::slice::from_raw_parts_mut(base.add(bv.bv_offset as usize), n) };
            fill(done, segment);
            // SAFETY: `base` was mapped above; `bv_page` is live.
            unsafe {
                bindings::kunmap_local(base.cast());
                // The page may also be mapped to user space (direct I/O, the
                // page cache): make what was written through the kernel
                // mapping visible there (a no-op where caches are coherent,
                // such as x86).
                bindings::flush_dcache_page(bv.bv_page);
            }
            // SAFETY: `n` bytes of `iter` were just written.
            unsafe { bindings::bio_advance_iter_single(ptr, &mut self.iter, n as u32) };
            done += n;
        }
        done
    }

    /// Passes over the next `len` bytes of the bio's data, leaving them as
    /// they are; returns how many bytes were passed over (fewer than `len`
    /// only at the end of the bio).
    pub fn skip(&mut self, len: usize) -> usize {
        let mut done = 0;
        while done < len && self.iter.bi_size > 0 {
            let ptr = self.bio.ptr.as_ptr();
            // SAFETY: The bio is live and `iter` is within its data.
            let bv = unsafe { bindings::bio_iter_iovec(ptr, self.iter) };
            let n = (bv.bv_len as usize).min(len - done);
            // SAFETY: `n` bytes of `iter`, within its current segment, are
            // passed over.
            unsafe { bindings::bio_advance_iter_single(ptr, &mut self.iter, n as u32) };
            done += n;
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

/// The I/O priority of a bio (`bi_ioprio`): a class and a level within it,
/// as `ioprio_set(2)` takes them. I/O schedulers that know priorities
/// (mq-deadline, BFQ) dispatch a higher class first; others ignore it.
///
/// C header: [`include/uapi/linux/ioprio.h`](srctree/include/uapi/linux/ioprio.h)
///
/// # Examples
///
/// ```
/// use kernel::block::bio::IoPrio;
///
/// // IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0) and IOPRIO_CLASS_NONE.
/// assert_eq!(IoPrio::IDLE.as_raw(), 3 << 13);
/// assert_eq!(IoPrio::NONE.as_raw(), 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IoPrio(u16);

impl IoPrio {
    /// No priority of the bio's own (`IOPRIO_CLASS_NONE`): the block layer's
    /// default, best effort.
    pub const NONE: Self = Self(0);

    /// The idle class (`IOPRIO_CLASS_IDLE`): dispatched when no request of a
    /// higher class waits (mq-deadline still dispatches it once it has waited
    /// its `prio_aging_expire`, 10 s by default).
    pub const IDLE: Self =
        Self((bindings::IOPRIO_CLASS_IDLE as u16) << bindings::IOPRIO_CLASS_SHIFT);

    /// Returns the value of `bi_ioprio`.
    pub fn as_raw(self) -> u16 {
        self.0
    }
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

/// Reads `len` bytes from `bdev` starting at `sector` (relative to `bdev`)
/// into `pages`, from the start of the first page on, at I/O priority
/// `prio`, and calls `done.read_done()` in process context when the read has
/// finished.
///
/// `len` is a multiple of the sector size (512 bytes) that needs every page
/// of `pages`:
/// the last page may be filled only in part, so that a read never goes past
/// the end of what the caller asked for (the end of the device, say).
///
/// The bio is marked as the caller's own, so a filter attached to the disk
/// does not see it. `bdev` stays open until the read is done. On failure to
/// start, the pages and `done` come back with the error (`EINVAL` if `len`
/// does not fit `pages` as described).
pub fn submit_read<D: ReadDone>(
    bdev: &Arc<BlockDevice>,
    sector: u64,
    pages: KVec<Page>,
    len: usize,
    prio: IoPrio,
    done: D,
) -> core::result::Result<(), (Error, KVec<Page>, D)> {
    let nr = pages.len();
    if nr == 0
        || nr > bindings::BIO_MAX_VECS as usize
        || len % SECTOR_SIZE as usize != 0
        || len.div_ceil(PAGE_SIZE) != nr
    {
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
        (*bio).bi_ioprio = prio.as_raw();
        (*bio).bi_end_io = Some(read_end_io::<D>);
    }
    let mut left = len;
    for page in state.pages.iter() {
        let n = left.min(PAGE_SIZE);
        left -= n;
        // SAFETY: `bio` has a free vector for each page, and the page stays
        // alive in `state` until the bio completes; `n` bytes fit the page.
        unsafe { bindings::__bio_add_page(bio, page.as_ptr(), n as u32, 0) };
    }
    // The state travels with the bio, still pinned, to `read_end_io`, which
    // owns it from then on.
    let state = state.into_foreign();
    // SAFETY: `bio` is fully set up; `bi_private` carries the state to the
    // completion.
    unsafe {
        (*bio).bi_private = state.cast_mut();
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
    // SAFETY: The bio is done and ours.
    let state = unsafe { (*bio).bi_private };
    // SAFETY: The bio is done and ours.
    let status = unsafe { (*bio).bi_status };
    // SAFETY: The bio came from `bio_kmalloc` and `bio_init`.
    unsafe {
        bindings::bio_uninit(bio);
        bindings::kfree(bio.cast());
    }
    // SAFETY: `bi_private` is the state `submit_read` made foreign, and the
    // bio that carried it is gone: nothing else gives it back.
    let mut state = unsafe { <Pin<KBox<ReadState<D>>>>::from_foreign(state) };
    if status != bindings::BLK_STS_OK as bindings::blk_status_t {
        *state.as_mut().project().status = Err(EIO);
    }
    // Queueing can't fail: the work item is not queued anywhere else.
    workqueue::system().enqueue(state);
}

/// A list of bios owned by the caller, linked through their `bi_next`
/// fields as the C `struct bio_list` links them: collecting bios costs no
/// allocation, so it works under a spin lock and when memory is short.
///
/// Dropping a list drops its bios, which fails them (see [`Bio`]); take them
/// out by iterating.
///
/// # Invariants
///
/// `head` is null or the first of a chain of live bios that this list owns,
/// linked through `bi_next`; `tail` is the last of them (whose `bi_next` is
/// null), and null exactly when `head` is.
///
/// # Examples
///
/// ```
/// use kernel::block::bio::{Bio, BioList};
///
/// fn end_all(bios: BioList) {
///     for bio in bios {
///         bio.end(Ok(()));
///     }
/// }
/// end_all(BioList::new());
/// assert!(BioList::default().next().is_none());
/// ```
pub struct BioList {
    head: *mut bindings::bio,
    tail: *mut bindings::bio,
}

// SAFETY: The list owns its bios, and a `Bio` is `Send`.
unsafe impl Send for BioList {}

impl BioList {
    /// Makes an empty list.
    pub const fn new() -> Self {
        // INVARIANT: Both ends are null: the list is empty.
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
        }
    }

    /// Adds a bio at the end.
    pub fn push(&mut self, bio: Bio) {
        let ptr = bio.into_raw();
        // SAFETY: We own `ptr` now, and by the type invariant `tail` is null
        // or the last bio of our chain.
        unsafe {
            (*ptr).bi_next = core::ptr::null_mut();
            if self.tail.is_null() {
                self.head = ptr;
            } else {
                (*self.tail).bi_next = ptr;
            }
        }
        // INVARIANT: `ptr` ends the chain.
        self.tail = ptr;
    }

    /// Takes the first bio out.
    fn pop(&mut self) -> Option<Bio> {
        let ptr = self.head;
        if ptr.is_null() {
            return None;
        }
        // SAFETY: By the type invariant `ptr` is a live bio of ours.
        unsafe {
            self.head = (*ptr).bi_next;
            (*ptr).bi_next = core::ptr::null_mut();
        }
        if self.head.is_null() {
            // INVARIANT: The chain is empty again.
            self.tail = core::ptr::null_mut();
        }
        // SAFETY: The bio left the chain; its ownership moves to the `Bio`.
        Some(unsafe { Bio::from_raw(ptr) })
    }
}

impl Default for BioList {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for BioList {
    type Item = Bio;

    fn next(&mut self) -> Option<Bio> {
        self.pop()
    }
}

impl Drop for BioList {
    fn drop(&mut self) {
        while let Some(bio) = self.pop() {
            drop(bio);
        }
    }
}
