// SPDX-License-Identifier: GPL-2.0

//! Bio filters: see, complete or take over every bio submitted to a disk.
//!
//! A driver implements [`Filter`] and attaches it to a disk with
//! [`Registration::new`]. From then on [`Filter::submit_bio`] is offered every
//! bio submitted to the disk or its partitions, after partition remapping.
//! It hands the bio back to let it go on to the disk, or keeps it: to
//! complete it itself ([`Bio::end`]) or to send it on later
//! ([`Bio::resubmit`]). Dropping the [`Registration`] detaches the filter and
//! waits until no call into it is running.
//!
//! The rules (context, sleeping, ordering) are those of
//! `Documentation/block/blk-filter.rst`.
//!
//! C header: [`include/linux/blk-filter.h`](srctree/include/linux/blk-filter.h)
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use kernel::block::{bdev::BlockDevice, bio::Bio, filter::{Filter, Registration}};
//!
//! struct CountReads(AtomicU64);
//!
//! impl Filter for CountReads {
//!     fn submit_bio(&self, bio: Bio) -> Option<Bio> {
//!         if bio.op() == kernel::block::bio::Op::Read {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!         Some(bio)
//!     }
//! }
//!
//! fn attach(disk: &BlockDevice) -> Result<Pin<KBox<Registration<CountReads>>>> {
//!     KBox::pin_init(Registration::new(disk, CountReads(AtomicU64::new(0))), GFP_KERNEL)
//! }
//! ```

use crate::{
    bindings,
    block::{bdev::BlockDevice, bio::Bio},
    error::{to_result, Error},
    init::PinInit,
    prelude::*,
    types::Opaque,
};
use core::marker::PhantomPinned;

/// A bio filter's behaviour.
pub trait Filter: Send + Sync {
    /// Called with every bio submitted to the disk, in the submitter's
    /// context. Return the bio to let it go on to the disk, or `None` after
    /// taking it over (ending it now, or keeping it to end or resubmit
    /// later).
    ///
    /// Must not sleep if [`Bio::is_nowait`]; should not sleep for long in any
    /// case.
    fn submit_bio(&self, bio: Bio) -> Option<Bio>;

    /// Called once when the disk is being deleted, after the filter has been
    /// detached and no [`Filter::submit_bio`] call is running. Every bio the
    /// filter still holds must be ended or resubmitted. May sleep.
    fn disk_gone(&self) {}
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
/// `filter` is a `struct blk_filter` whose `ops` are `Self::OPS`; when it is
/// attached, its disk has this filter and calls [`Filter::submit_bio`] on
/// `data` until [`PinnedDrop::drop`] detaches it.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Filter> {
    #[pin]
    filter: Opaque<bindings::blk_filter>,
    data: T,
    /// The C filter core holds the address of `filter`.
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The C side calls in from any thread; `T` is `Send + Sync`.
unsafe impl<T: Filter> Send for Registration<T> {}

// SAFETY: Shared access only reaches `T`, which is `Sync`.
unsafe impl<T: Filter> Sync for Registration<T> {}

impl<T: Filter> Registration<T> {
    const OPS: bindings::blk_filter_ops = bindings::blk_filter_ops {
        submit_bio: Some(Self::submit_bio_callback),
        disk_gone: Some(Self::disk_gone_callback),
    };

    /// Attaches a filter holding `data` to the disk `bdev` is on (the whole
    /// disk, even if `bdev` is a partition).
    ///
    /// Fails with `EBUSY` if the disk already has a filter, and `ENODEV` if it
    /// is going away.
    pub fn new<'a>(bdev: &'a BlockDevice, data: T) -> impl PinInit<Self, Error> + 'a
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
            data,
            _pin: PhantomPinned,
        })
        .pin_chain(move |this| {
            // SAFETY: `filter` is initialised and pinned, `data` is ready for
            // calls, and the open `bdev` keeps its disk alive during the call.
            to_result(unsafe { bindings::blk_filter_attach(bdev.raw_disk(), this.filter.get()) })
        })
    }

    /// Returns the filter's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// # Safety
    ///
    /// `filter` is the `filter` field of a live `Registration<T>`.
    unsafe fn from_filter<'a>(filter: *mut bindings::blk_filter) -> &'a Self {
        // SAFETY: By the safety requirements; `Opaque` has the layout of the
        // C struct.
        unsafe {
            &*crate::container_of!(filter.cast::<Opaque<bindings::blk_filter>>(), Self, filter)
        }
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
        let this = unsafe { Self::from_filter(filter) };
        // SAFETY: The core hands the bio over for the duration of the call,
        // or for good if we return `BLK_FILTER_CONSUMED`.
        let bio = unsafe { Bio::from_raw(bio) };
        match this.data.submit_bio(bio) {
            Some(bio) => {
                let _ = bio.into_raw();
                bindings::blk_filter_result_BLK_FILTER_PASS
            }
            None => bindings::blk_filter_result_BLK_FILTER_CONSUMED,
        }
    }

    /// # Safety
    ///
    /// Called by the filter core once, for an attached `Registration<T>`.
    unsafe extern "C" fn disk_gone_callback(filter: *mut bindings::blk_filter) {
        // SAFETY: The registration is alive: dropping it would have detached
        // the filter first, and the core serialises the two.
        let this = unsafe { Self::from_filter(filter) };
        this.data.disk_gone();
    }
}

#[pinned_drop]
impl<T: Filter> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `filter` was initialised; detaching a filter that is not
        // attached (never was, or its disk went away) does nothing. When this
        // returns no callback is running, so `data` may be dropped.
        unsafe { bindings::blk_filter_detach(self.filter.get()) };
    }
}
