// SPDX-License-Identifier: GPL-2.0

//! Delayed work: run a function in process context after a delay.
//!
//! A [`DelayedWork<T>`] is a field of a struct `T` that lives in an [`Arc<T>`]. Once
//! [`DelayedWork::schedule`] has been called, [`DelayedWorkItem::run`] is called on a workqueue
//! after the delay, unless [`DelayedWork::cancel_sync`] comes first.
//! Scheduling an item that is already waiting re-arms it with the new delay, so the item fits
//! timeouts that are pushed back or called off.
//!
//! While the item waits, the workqueue holds one reference to the `Arc<T>`:
//! [`DelayedWorkItem::run`] gets that reference, and a successful cancel drops it. So a waiting or
//! running item is never freed under the workqueue, and a cancelled one does not leak.
//!
//! This is the Rust form of `struct delayed_work` with `mod_delayed_work()` and
//! `cancel_delayed_work_sync()`; the item runs on the system workqueue (`system_wq`).
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! # Examples
//!
//! A timeout that fires, and one that is cancelled before it fires:
//!
//! ```
//! use kernel::delayed_work::{
//!     impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem,
//! };
//! use kernel::sync::{new_condvar, new_mutex, Arc, CondVar, CondVarTimeoutResult, Mutex};
//! use kernel::time::msecs_to_jiffies;
//!
//! #[pin_data]
//! struct Timeout {
//!     #[pin]
//!     fired: Mutex<u32>,
//!     #[pin]
//!     fired_changed: CondVar,
//!     #[pin]
//!     work: DelayedWork<Timeout>,
//! }
//!
//! impl_has_delayed_work! {
//!     impl HasDelayedWork<Self> for Timeout { self.work }
//! }
//!
//! impl DelayedWorkItem for Timeout {
//!     fn run(this: Arc<Self>) {
//!         *this.fired.lock() += 1;
//!         this.fired_changed.notify_all();
//!     }
//! }
//!
//! fn new_timeout() -> Result<Arc<Timeout>> {
//!     Arc::pin_init(
//!         pin_init!(Timeout {
//!             fired <- new_mutex!(0),
//!             fired_changed <- new_condvar!(),
//!             work <- new_delayed_work!("Timeout::work"),
//!         }),
//!         GFP_KERNEL,
//!     )
//! }
//!
//! // Arm a timeout for an hour, then bring it forward to 10 ms and wait (at most 5 s) for it.
//! let t = new_timeout()?;
//! assert!(!DelayedWork::schedule(t.clone(), 3_600_000));
//! assert!(DelayedWork::schedule(t.clone(), 10));
//! let mut fired = t.fired.lock();
//! while *fired == 0 {
//!     let res = t.fired_changed.wait_interruptible_timeout(&mut fired, msecs_to_jiffies(5000));
//!     if matches!(res, CondVarTimeoutResult::Timeout) {
//!         break;
//!     }
//! }
//! assert_eq!(*fired, 1);
//! drop(fired);
//! // It ran once and holds no reference any more.
//! assert!(!t.work.cancel_sync());
//! assert!(t.into_unique_or_drop().is_some());
//!
//! // Cancel a timeout before it fires: the reference the workqueue held comes back.
//! let t = new_timeout()?;
//! assert!(!DelayedWork::schedule(t.clone(), 3_600_000));
//! assert!(t.work.cancel_sync());
//! assert!(!t.work.cancel_sync());
//! assert_eq!(*t.fired.lock(), 0);
//! assert!(t.into_unique_or_drop().is_some());
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    prelude::*,
    str::CStr,
    sync::{Arc, LockClassKey},
    time::{msecs_to_jiffies, Msecs},
    types::Opaque,
};
use core::marker::PhantomData;

// The work function gets a pointer to the `work` field of the `struct delayed_work`; it is the
// first field, so it is also a pointer to the `DelayedWork`.
const _: () = assert!(core::mem::offset_of!(bindings::delayed_work, work) == 0);

/// Creates a [`DelayedWork`] initialiser with the given name and new lock classes.
#[macro_export]
macro_rules! new_delayed_work {
    ($($name:literal)?) => {
        $crate::delayed_work::DelayedWork::new(
            $crate::optional_name!($($name)?),
            $crate::static_lock_class!(),
            $crate::static_lock_class!(),
        )
    };
}
pub use new_delayed_work;

/// A struct that can run after a delay, through its [`DelayedWork<Self, ID>`] field.
///
/// `ID` tells several `DelayedWork` fields of one struct apart (any distinct values will do).
pub trait DelayedWorkItem<const ID: u64 = 0>:
    HasDelayedWork<Self, ID> + Send + Sync + Sized
{
    /// Called on a workqueue, in process context (it may sleep), once the delay has passed.
    ///
    /// `this` is the reference the workqueue held. The item may be scheduled again from here,
    /// but must not be cancelled with [`DelayedWork::cancel_sync`] (that would wait for itself).
    fn run(this: Arc<Self>);
}

/// A delayed work item: a `struct delayed_work` (a work item and a timer).
///
/// It is a field of the `T` it runs; see the [module documentation](self).
///
/// # Invariants
///
/// `dwork` was initialised by [`DelayedWork::new`], with `Self::run_callback` as the work
/// function. When its work item is pending, it was queued by [`DelayedWork::schedule`], which
/// gave the workqueue one reference to the `Arc<T>` holding this field; that reference is owned
/// by whoever clears the pending state (the work function or a successful cancel).
#[pin_data]
#[repr(transparent)]
pub struct DelayedWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    _inner: PhantomData<T>,
}

// SAFETY: A `delayed_work` may be queued and cancelled from any thread. The `T` it belongs to
// only crosses threads when `T: DelayedWorkItem`, which requires `Send + Sync`.
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}

// SAFETY: As for `Send`: the C functions taking a `delayed_work` are safe to call concurrently.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

impl<T: DelayedWorkItem<ID>, const ID: u64> DelayedWork<T, ID> {
    /// Creates a new, idle delayed work item; use [`new_delayed_work!`] rather than this.
    ///
    /// `work_key` and `timer_key` are the lock classes of the work item and of its timer.
    pub fn new(
        name: &'static CStr,
        work_key: &'static LockClassKey,
        timer_key: &'static LockClassKey,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes; `run_callback` is a work function for
                // this item's `work_struct`, and the name and key are `'static`.
                unsafe {
                    bindings::init_work_with_key(
                        core::ptr::addr_of_mut!((*slot).work),
                        Some(Self::run_callback),
                        false,
                        name.as_char_ptr(),
                        work_key.as_ptr(),
                    )
                };
                // SAFETY: As above, for the timer; `delayed_work_timer_fn` with
                // `TIMER_IRQSAFE` is what `INIT_DELAYED_WORK()` sets up.
                unsafe {
                    bindings::init_timer_key(
                        core::ptr::addr_of_mut!((*slot).timer),
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        name.as_char_ptr(),
                        timer_key.as_ptr(),
                    )
                };
            }),
            _inner: PhantomData,
        })
    }

    /// Schedules `this` to run on the system workqueue after `delay_ms` milliseconds, or re-arms
    /// it with the new delay if it is already waiting.
    ///
    /// Returns `true` if it was waiting (its old delay is replaced), `false` if it was idle (it
    /// may be running; it will then run again).
    ///
    /// If [`DelayedWork::cancel_sync`] runs at the same time on another thread, the item may end
    /// up not scheduled; `this` is then dropped.
    ///
    /// # Context
    ///
    /// Any context, including atomic context. If `this` is the last reference (see above), `T` is
    /// dropped here.
    pub fn schedule(this: Arc<T>, delay_ms: Msecs) -> bool {
        // SAFETY: `system_wq` is set up before any initcall and never changes.
        let queue = unsafe { bindings::system_wq };
        let work = this.delayed_work().dwork.get();
        // Re-arm as "cancel, then queue", whose results say exactly who owns which reference.
        // (`mod_delayed_work()` does not tell whether it queued the item.)
        // SAFETY: `work` belongs to `this`, which we hold.
        let was_pending = unsafe { Self::raw_cancel(work) };
        let ptr = Arc::into_raw(this);
        // SAFETY: `work` was initialised by `new` and lives as long as `ptr` (it is a field of
        // `*ptr`); `queue` is the system workqueue, which never goes away.
        let queued = unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as _,
                queue,
                work,
                msecs_to_jiffies(delay_ms),
            )
        };
        // INVARIANT: If `queued`, the workqueue now owns the reference `ptr`.
        if !queued {
            // Another thread queued it first, or it is being cancelled.
            // SAFETY: `ptr` came from `Arc::into_raw` above and the workqueue did not take it.
            drop(unsafe { Arc::from_raw(ptr) });
        }
        was_pending
    }

    /// Cancels the item if it is waiting, and waits until it is not running either.
    ///
    /// Returns `true` if it was waiting; the reference the workqueue held is then dropped.
    /// Afterwards the item is neither waiting nor running, unless it is scheduled again.
    ///
    /// # Context
    ///
    /// Process context; may sleep. Must not be called from this item's own
    /// [`DelayedWorkItem::run`].
    pub fn cancel_sync(&self) -> bool {
        // SAFETY: `dwork` was initialised by `new`.
        let was_pending = unsafe { bindings::cancel_delayed_work_sync(self.dwork.get()) };
        if was_pending {
            // SAFETY: We cleared the pending state, so we own the workqueue's reference.
            unsafe { Self::drop_queued_ref(self.dwork.get()) };
        }
        was_pending
    }

    /// Cancels the work item `work` and drops the reference it held if it was pending.
    ///
    /// # Safety
    ///
    /// `work` is the `delayed_work` of a `DelayedWork<T, ID>` that the caller borrows (directly
    /// or through an `Arc<T>`) for the duration of the call.
    unsafe fn raw_cancel(work: *mut bindings::delayed_work) -> bool {
        // SAFETY: By the safety requirements, `work` is initialised and live.
        let was_pending = unsafe { bindings::cancel_delayed_work(work) };
        if was_pending {
            // SAFETY: We cleared the pending state, so we own the workqueue's reference.
            unsafe { Self::drop_queued_ref(work) };
        }
        was_pending
    }

    /// Drops the reference the workqueue held.
    ///
    /// # Safety
    ///
    /// `work` is the `delayed_work` of a `DelayedWork<T, ID>` whose pending state the caller has
    /// just cleared, so that the caller owns the reference that [`DelayedWork::schedule`] gave
    /// the workqueue.
    unsafe fn drop_queued_ref(work: *mut bindings::delayed_work) {
        // SAFETY: By the type invariant, a pending item was queued by `schedule` for the
        // `T` holding it at `T`'s `HasDelayedWork` offset, and that `T` lives in an `Arc`.
        let ptr = unsafe { T::delayed_work_container_of(work.cast::<Self>()) };
        // SAFETY: By the safety requirements, we own this reference, which came from
        // `Arc::into_raw` in `schedule`. The caller borrows `self` (or `this`), so it is not
        // the last one and `T` is not dropped here.
        drop(unsafe { Arc::from_raw(ptr) });
    }

    /// The work function.
    ///
    /// # Safety
    ///
    /// Called by the workqueue with the `work` field of the `delayed_work` of a
    /// `DelayedWork<T, ID>`, whose pending state it has cleared.
    unsafe extern "C" fn run_callback(ptr: *mut bindings::work_struct) {
        // `work` is the first field of the `delayed_work`, which `Self` wraps transparently.
        let work = ptr.cast::<Self>();
        // SAFETY: By the type invariant, the item was queued by `schedule` for the `T` that
        // holds it at `T`'s `HasDelayedWork` offset.
        let ptr = unsafe { T::delayed_work_container_of(work) };
        // SAFETY: The workqueue cleared the pending state, so the reference `schedule` gave
        // it now belongs to us.
        let this = unsafe { Arc::from_raw(ptr) };
        T::run(this)
    }
}

/// Declares that a type has a [`DelayedWork<T, ID>`] field.
///
/// Implement it with [`impl_has_delayed_work!`].
///
/// # Safety
///
/// [`HasDelayedWork::OFFSET`] must be the offset in `Self` of the field that
/// [`HasDelayedWork::delayed_work`] returns, and
/// [`HasDelayedWork::delayed_work_container_of`] must keep its behaviour.
pub unsafe trait HasDelayedWork<T, const ID: u64 = 0> {
    /// The offset of the [`DelayedWork<T, ID>`] field.
    const OFFSET: usize;

    /// Returns the [`DelayedWork<T, ID>`] field.
    fn delayed_work(&self) -> &DelayedWork<T, ID>;

    /// Returns a pointer to the struct holding the [`DelayedWork<T, ID>`] field at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to the [`DelayedWork<T, ID>`] field of a `Self`.
    unsafe fn delayed_work_container_of(ptr: *mut DelayedWork<T, ID>) -> *mut Self
    where
        Self: Sized,
    {
        // SAFETY: By the safety requirements, the field is `OFFSET` bytes into a `Self`.
        unsafe { ptr.cast::<u8>().sub(Self::OFFSET).cast() }
    }
}

/// Implements [`HasDelayedWork`] for a struct and one of its fields.
///
/// ```
/// use kernel::delayed_work::{impl_has_delayed_work, DelayedWork};
///
/// struct Two {
///     first: DelayedWork<Two, 1>,
///     second: DelayedWork<Two, 2>,
/// }
///
/// impl_has_delayed_work! {
///     impl HasDelayedWork<Two, 1> for Two { self.first }
///     impl HasDelayedWork<Two, 2> for Two { self.second }
/// }
/// ```
#[macro_export]
macro_rules! impl_has_delayed_work {
    ($(impl$({$($generics:tt)*})?
       HasDelayedWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        // SAFETY: `OFFSET` is the offset of the field that `delayed_work` returns.
        unsafe impl$(<$($generics)+>)? $crate::delayed_work::HasDelayedWork<$work_type $(, $id)?>
            for $self
        {
            const OFFSET: usize = ::core::mem::offset_of!(Self, $field);

            #[inline]
            fn delayed_work(&self) -> &$crate::delayed_work::DelayedWork<$work_type $(, $id)?> {
                &self.$field
            }
        }
    )*};
}
pub use impl_has_delayed_work;
