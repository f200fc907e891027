// SPDX-License-Identifier: GPL-2.0

//! Bio filters: see, complete or take over every bio submitted to a disk.
//!
//! A driver implements [`Filter`] and attaches it to a disk with
//! [`Registration::new`], handing it the filter's private data
//! ([`Filter::Data`]). From then on [`Filter::submit_bio`] is offered every
//! bio submitted to the disk or its partitions, after partition remapping.
//! Its [`Verdict`] either hands the bio back to let it go on to the disk, or
//! says the filter took it: to complete it itself ([`Bio::end`]) or to send
//! it on later ([`Bio::resubmit`]). Dropping the [`Registration`] detaches
//! the filter, waits until no call into it is running, and drops the
//! private data.
//!
//! The other callbacks are optional (`#[vtable]`): bios submitted before the
//! attach that had not reached the disk's queue yet are shown to
//! [`Filter::missed_bio`] when they do, and so is every write that reaches
//! the queue, whichever filter saw it before; when the block layer detaches
//! the filter by itself, because the disk is deleted or its medium changes,
//! it says so through [`Filter::gone`].
//!
//! Only disks with a blk-mq request queue take a filter: attaching one to a
//! bio-based disk (device mapper, md, brd) fails with `EOPNOTSUPP`.
//!
//! The rules (context, sleeping, ordering) are those of
//! `Documentation/block/blk-filter.rst`.
//!
//! C header: [`include/linux/blk-filter.h`](srctree/include/linux/blk-filter.h)
//!
//! # Examples
//!
//! A filter that counts reads and notes what may have made its knowledge of
//! the disk stale; attached to a loop device (a blk-mq disk, bound or not)
//! and refused by a RAM disk (bio-based), where the kernel has them:
//!
//! ```
//! use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
//! use kernel::block::{
//!     bdev::{BlockDevice, DevT},
//!     bio::{Bio, BioRef, Op},
//!     filter::{Filter, Gone, Registration, Verdict},
//! };
//! use kernel::c_str;
//! use kernel::sync::{Arc, ArcBorrow};
//!
//! struct Counts {
//!     reads: AtomicU64,
//!     /// Whether what the filter learnt about the disk still holds.
//!     valid: AtomicBool,
//! }
//!
//! struct CountReads;
//!
//! #[vtable]
//! impl Filter for CountReads {
//!     type Data = Arc<Counts>;
//!
//!     fn submit_bio(counts: ArcBorrow<'_, Counts>, bio: Bio) -> Verdict {
//!         if bio.op() == Op::Read {
//!             counts.reads.fetch_add(1, Ordering::Relaxed);
//!         }
//!         Verdict::Pass(bio)
//!     }
//!
//!     fn missed_bio(counts: ArcBorrow<'_, Counts>, bio: &BioRef) {
//!         // A write from before the attach: what we knew may be stale.
//!         if bio.op().is_write() {
//!             counts.valid.store(false, Ordering::Relaxed);
//!         }
//!     }
//!
//!     fn gone(counts: ArcBorrow<'_, Counts>, reason: Gone) {
//!         // Deleted or another medium: nothing we knew holds any more.
//!         counts.valid.store(false, Ordering::Relaxed);
//!         if reason == Gone::MediaChanged {
//!             // The disk is still there: a new filter may attach to it.
//!         }
//!     }
//! }
//!
//! /// Only `submit_bio` is required: a filter without the optional
//! /// callbacks.
//! struct PassAll;
//!
//! #[vtable]
//! impl Filter for PassAll {
//!     type Data = KBox<AtomicU64>;
//!
//!     fn submit_bio(seen: &AtomicU64, bio: Bio) -> Verdict {
//!         seen.fetch_add(1, Ordering::Relaxed);
//!         Verdict::Pass(bio)
//!     }
//! }
//! assert!(CountReads::HAS_MISSED_BIO && CountReads::HAS_GONE);
//! assert!(!PassAll::HAS_MISSED_BIO && !PassAll::HAS_GONE);
//!
//! let counts = Arc::new(
//!     Counts { reads: AtomicU64::new(0), valid: AtomicBool::new(true) },
//!     GFP_KERNEL,
//! )?;
//! if let Ok(dev) = DevT::find_by_name(c_str!("loop0")) {
//!     let loop0 = BlockDevice::open_read(dev)?;
//!     let reg = KBox::pin_init(
//!         Registration::<CountReads>::new(&loop0, counts.clone()),
//!         GFP_KERNEL,
//!     )?;
//!     assert!(reg.is_attached());
//!     // A disk takes one filter.
//!     let second = KBox::pin_init(
//!         Registration::<PassAll>::new(&loop0, KBox::new(AtomicU64::new(0), GFP_KERNEL)?),
//!         GFP_KERNEL,
//!     );
//!     assert_eq!(second.err(), Some(EBUSY));
//!     // Detach, and let a filter without the optional callbacks attach.
//!     drop(reg);
//!     let reg = KBox::pin_init(
//!         Registration::<PassAll>::new(&loop0, KBox::new(AtomicU64::new(0), GFP_KERNEL)?),
//!         GFP_KERNEL,
//!     )?;
//!     assert!(reg.is_attached());
//! }
//! if let Ok(dev) = DevT::find_by_name(c_str!("ram0")) {
//!     let ram0 = BlockDevice::open_read(dev)?;
//!     let reg = KBox::pin_init(
//!         Registration::<CountReads>::new(&ram0, counts.clone()),
//!         GFP_KERNEL,
//!     );
//!     assert_eq!(reg.err(), Some(EOPNOTSUPP));
//! }
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    block::{
        bdev::BlockDevice,
        bio::{Bio, BioRef},
    },
    error::{to_result, Error},
    ffi::c_void,
    init::PinInit,
    prelude::*,
    types::{ForeignOwnable, Opaque},
};
use core::marker::{PhantomData, PhantomPinned};

/// Why the block layer detached a filter by itself (`enum blk_filter_gone`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Gone {
    /// The disk is being deleted; no filter can attach to it any more.
    DiskDeleted,
    /// The disk's medium changed: another disc in the drive, a loop device
    /// bound to another file or unbound. The disk stays, and a filter may
    /// attach to it again; what was read from the old medium is not the disk's
    /// content any more.
    MediaChanged,
}

impl Gone {
    /// Converts the C reason.
    ///
    /// The C core passes only the values of `enum blk_filter_gone`; any
    /// other value is taken as the stronger [`Gone::DiskDeleted`].
    fn from_raw(why: bindings::blk_filter_gone) -> Self {
        match why {
            bindings::blk_filter_gone_BLK_FILTER_MEDIA_CHANGED => Gone::MediaChanged,
            _ => Gone::DiskDeleted,
        }
    }
}

/// What a filter did with a bio offered to [`Filter::submit_bio`]
/// (`enum blk_filter_result`).
#[must_use = "a bio handed back must reach the disk; one taken must be ended or resubmitted"]
pub enum Verdict {
    /// The bio goes on to the disk as if there were no filter
    /// (`BLK_FILTER_PASS`).
    Pass(Bio),
    /// The filter took the bio over (`BLK_FILTER_CONSUMED`): it has ended
    /// it, or keeps it to end or resubmit later.
    Consumed,
}

/// How the callbacks of a filter borrow its private data.
type ForeignBorrowed<'a, T> = <T as ForeignOwnable>::Borrowed<'a>;

/// A bio filter's callbacks.
///
/// The implementing type only names the callbacks; what they work on is the
/// private data ([`Filter::Data`]) given to [`Registration::new`], which each
/// callback borrows. Only [`Filter::submit_bio`] is required: the C core
/// skips the others when the implementation leaves them out.
#[macros::vtable]
pub trait Filter {
    /// The filter's private data: an `Arc<T>` (borrowed as
    /// [`ArcBorrow<'_, T>`](crate::sync::ArcBorrow)) or a `KBox<T>`
    /// (borrowed as `&T`). Callbacks run on any CPU at the same time, and
    /// the registration may be dropped on any thread.
    type Data: ForeignOwnable + Send + Sync;

    /// Called with every bio submitted to the disk, in the submitter's
    /// context. Returns [`Verdict::Pass`] with the bio to let it go on to the
    /// disk, or [`Verdict::Consumed`] after taking it over (ending it now, or
    /// keeping it to end or resubmit later).
    ///
    /// Must not sleep if [`BioRef::is_nowait`]; should not sleep for long in
    /// any case.
    fn submit_bio(data: ForeignBorrowed<'_, Self::Data>, bio: Bio) -> Verdict;

    /// Called for a bio that reached the disk's request queue without having
    /// been offered to [`Filter::submit_bio`], because it was submitted before
    /// the filter was attached (blk-throttle held it, or its submitter was
    /// on the way to the queue).
    ///
    /// Also called for every data-changing bio (see
    /// [`Op::is_write`](super::bio::Op::is_write)) that reaches the queue,
    /// even one this filter was offered, resubmitted or made: the block
    /// layer cannot tell whether this filter or an earlier one of the disk
    /// saw it, and a write an earlier filter passed may reach the queue only
    /// now. So a write comes here again after [`Filter::submit_bio`], and
    /// once more for each remainder of a split; [`BioRef::was_filtered`] is
    /// `true` for those repeats.
    ///
    /// The filter cannot take the bio, only note it: a cache forgets the
    /// blocks a write covers, which must be harmless to do twice. Called
    /// before the bio is split or reaches the driver, possibly before
    /// [`Registration::new`] returns; once that has returned, every write
    /// that reaches the driver, and every read the filter was not offered
    /// (but for its own and those an earlier filter was offered), comes here
    /// first. Rarely also called for a bio the block layer made from one the
    /// filter passed (a bounce buffer, the blk-crypto fallback).
    ///
    /// # Context
    ///
    /// Whoever sends the bio to the queue (its submitter, or blk-throttle's
    /// work item), with the queue entered: must not sleep, allocate only
    /// atomically, and submit no I/O. For a write the filter hands back with
    /// [`Bio::resubmit`] or submits itself, that may be inside that call: the
    /// filter must not hold a lock across it that this callback takes.
    fn missed_bio(_data: ForeignBorrowed<'_, Self::Data>, _bio: &BioRef) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Called once when the block layer detached the filter by itself: the
    /// disk is being deleted, or its medium changed. No call to
    /// [`Filter::submit_bio`] or [`Filter::missed_bio`] is running or can
    /// start. Every bio the filter still holds must be ended or resubmitted
    /// before this returns, and what it knows of the disk's content is void.
    ///
    /// # Context
    ///
    /// Process context, without the filter core's lock; for
    /// [`Gone::MediaChanged`], with the locks of whoever reports the change
    /// (the disk's `open_mutex`, the loop driver's locks). May sleep, and
    /// [`Bio::resubmit`] may wait for a free request of the disk; must not
    /// open or close a block device (so must not drop a [`BlockDevice`] or
    /// a [`Registration`]), nor wait for a task that does.
    fn gone(_data: ForeignBorrowed<'_, Self::Data>, _reason: Gone) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

impl Bio {
    /// Sends a bio a filter took over on to the disk, past the filter.
    ///
    /// # Context
    ///
    /// Process context: resubmitting may sleep.
    pub fn resubmit(self) {
        let ptr = self.into_raw();
        // SAFETY: We owned the bio; the filter core hands it on.
        unsafe { bindings::blk_filter_resubmit_bio(ptr) };
    }
}

/// A filter attached to a disk.
///
/// # Invariants
///
/// - `filter` is a `struct blk_filter` whose `ops` are `Self::OPS`; when it
///   is attached, its disk calls the callbacks of `T` with it until
///   [`PinnedDrop::drop`] detaches it, or the core detaches it by itself and
///   calls [`Filter::gone`] once. No callback runs once `drop` has returned
///   from `blk_filter_detach()`.
/// - `data` comes from `T::Data::into_foreign()` and is given back to Rust
///   only by `drop`, after the detach.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Filter> {
    #[pin]
    filter: Opaque<bindings::blk_filter>,
    data: *const c_void,
    /// The C filter core holds the address of `filter`.
    #[pin]
    _pin: PhantomPinned,
    _p: PhantomData<T::Data>,
}

// SAFETY: The registration owns a `T::Data`, which is `Send`; it may be
// dropped (detached) on any thread.
unsafe impl<T: Filter> Send for Registration<T> {}

// SAFETY: Shared access only reads the C struct's `disk`, with a volatile
// read; the callbacks borrow `T::Data` from any thread, and it is `Sync`.
unsafe impl<T: Filter> Sync for Registration<T> {}

impl<T: Filter> Registration<T> {
    const OPS: bindings::blk_filter_ops = bindings::blk_filter_ops {
        submit_bio: Some(Self::submit_bio_callback),
        missed_bio: if T::HAS_MISSED_BIO {
            Some(Self::missed_bio_callback)
        } else {
            None
        },
        disk_gone: if T::HAS_GONE {
            Some(Self::disk_gone_callback)
        } else {
            None
        },
    };

    /// Attaches a filter of type `T` with the private data `data` to the
    /// disk `bdev` is on (the whole disk, even if `bdev` is a partition).
    ///
    /// Before it returns, it waits until the bios already in the disk's queue
    /// have completed (see [`Filter::missed_bio`] for the others).
    ///
    /// Fails with `EOPNOTSUPP` if the disk is bio-based, `EBUSY` if it already
    /// has a filter, and `ENODEV` if it is going away; `data` is dropped
    /// then. May sleep.
    #[must_use = "the filter is detached when the registration is dropped"]
    pub fn new<'a>(bdev: &'a BlockDevice, data: T::Data) -> impl PinInit<Self, Error> + 'a
    where
        T: 'a,
    {
        try_pin_init!(Self {
            filter <- Opaque::ffi_init(|f: *mut bindings::blk_filter| {
                // SAFETY: `f` is valid for writes; a detached filter has no disk.
                unsafe {
                    f.write(bindings::blk_filter {
                        ops: &Self::OPS,
                        disk: core::ptr::null_mut(),
                    })
                };
            }),
            // INVARIANT: Only `drop` gives the data back to Rust, and it runs
            // on the error path below too.
            data: data.into_foreign(),
            _pin: PhantomPinned,
            _p: PhantomData,
        })
        .pin_chain(move |this| {
            // SAFETY: `filter` is initialised and pinned, `data` is ready for
            // calls, and the open `bdev` keeps its disk alive during the call.
            to_result(unsafe { bindings::blk_filter_attach(bdev.raw_disk(), this.filter.get()) })
        })
    }

    /// Returns `true` while the filter is attached: until the registration
    /// is dropped, or the block layer detached it by itself and
    /// [`Filter::gone`] has returned.
    ///
    /// The answer may be stale by the time the caller looks at it.
    pub fn is_attached(&self) -> bool {
        // SAFETY: `filter` was initialised and lives as long as `self`. The
        // core writes `disk` under its mutex with `WRITE_ONCE()`; a volatile
        // read of the aligned pointer is `READ_ONCE()`.
        let disk =
            unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.filter.get()).disk)) };
        !disk.is_null()
    }

    /// Borrows the private data of the registration whose `filter` field is
    /// `filter`.
    ///
    /// # Safety
    ///
    /// `filter` is the `filter` field of a live `Registration<T>` that stays
    /// live for `'a`.
    unsafe fn data<'a>(filter: *mut bindings::blk_filter) -> ForeignBorrowed<'a, T::Data> {
        // SAFETY: By the safety requirements; `Opaque` has the layout of the
        // C struct.
        let this = unsafe {
            &*crate::container_of!(filter.cast::<Opaque<bindings::blk_filter>>(), Self, filter)
        };
        // SAFETY: By the type invariant `data` came from `into_foreign()`, and
        // it is given back only after the registration stops being live.
        unsafe { T::Data::borrow(this.data) }
    }

    /// # Safety
    ///
    /// Called by the filter core for a bio of an attached `Registration<T>`,
    /// which it hands over.
    unsafe extern "C" fn submit_bio_callback(
        filter: *mut bindings::blk_filter,
        bio: *mut bindings::bio,
    ) -> bindings::blk_filter_result {
        // SAFETY: The core calls only while the registration is attached,
        // which ends before it is dropped.
        let data = unsafe { Self::data(filter) };
        // SAFETY: The core hands the bio over for the duration of the call,
        // or for good if we return `BLK_FILTER_CONSUMED`.
        let bio = unsafe { Bio::from_raw(bio) };
        match T::submit_bio(data, bio) {
            Verdict::Pass(bio) => {
                // The core sends it on: it is the core's again.
                let _ = bio.into_raw();
                bindings::blk_filter_result_BLK_FILTER_PASS
            }
            Verdict::Consumed => bindings::blk_filter_result_BLK_FILTER_CONSUMED,
        }
    }

    /// # Safety
    ///
    /// Called by the filter core for an attached `Registration<T>`, with a
    /// bio that stays live and unchanged for the duration of the call.
    unsafe extern "C" fn missed_bio_callback(
        filter: *mut bindings::blk_filter,
        bio: *mut bindings::bio,
    ) {
        // SAFETY: The core calls only while the registration is attached,
        // which ends before it is dropped.
        let data = unsafe { Self::data(filter) };
        // SAFETY: The core lends the bio for the duration of the call; its
        // owner, the caller, leaves it alone until we return.
        let bio = unsafe { BioRef::from_raw(bio) };
        T::missed_bio(data, bio);
    }

    /// # Safety
    ///
    /// Called by the filter core once, for a `Registration<T>` it has just
    /// detached.
    unsafe extern "C" fn disk_gone_callback(
        filter: *mut bindings::blk_filter,
        why: bindings::blk_filter_gone,
    ) {
        // SAFETY: The registration is alive: dropping it detaches the filter
        // first, and `blk_filter_detach()` waits until this call has returned.
        let data = unsafe { Self::data(filter) };
        T::gone(data, Gone::from_raw(why));
    }
}

#[pinned_drop]
impl<T: Filter> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `filter` was initialised; detaching a filter that is not
        // attached (never was, or its disk went away) does nothing. When this
        // returns no callback is running.
        unsafe { bindings::blk_filter_detach(self.filter.get()) };
        // SAFETY: By the type invariant `data` came from `into_foreign()`;
        // no callback borrows it any more, and this is the only place that
        // gives it back.
        drop(unsafe { T::Data::from_foreign(self.data) });
    }
}
