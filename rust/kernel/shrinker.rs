// SPDX-License-Identifier: GPL-2.0

//! Shrinkers: give memory back when the system runs low.
//!
//! A driver that keeps memory it could free (a cache) implements [`Shrinker`]
//! and registers it with [`ShrinkerBuilder::register`], handing it the
//! shrinker's private data ([`Shrinker::Ptr`]). Memory reclaim then asks it
//! how much it could free ([`Shrinker::count_objects`]) and tells it to free
//! some ([`Shrinker::scan_objects`]). Dropping the [`ShrinkerRegistration`]
//! unregisters the shrinker, waits until no callback is running, and drops
//! the private data.
//!
//! # Context
//!
//! The callbacks run in the context of whoever is reclaiming memory: `kswapd`
//! or any task whose allocation ran short (direct reclaim), possibly with
//! locks held that the driver does not know about, and possibly while the
//! driver's own code is allocating. They therefore:
//!
//! - must not allocate memory with `GFP_KERNEL` (use `GFP_NOWAIT` or
//!   `GFP_ATOMIC` if at all);
//! - must not block on I/O, and should take only locks that are never held
//!   across an allocation (or use `try_lock`), giving up with
//!   [`ScanObjects::STOP`] rather than waiting;
//! - should be quick: [`Shrinker::count_objects`] in particular is called
//!   often and must not free anything.
//!
//! [`ShrinkControl`] tells a scan how many objects to free.
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h)
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicUsize, Ordering};
//! use kernel::c_str;
//! use kernel::shrinker::{CountObjects, ScanObjects, ShrinkControl, Shrinker, ShrinkerBuilder};
//! use kernel::sync::{Arc, ArcBorrow};
//!
//! /// A cache of `pages` pages, all of which could be freed.
//! struct Cache {
//!     pages: AtomicUsize,
//! }
//!
//! impl Shrinker for Cache {
//!     type Ptr = Arc<Cache>;
//!
//!     fn count_objects(cache: ArcBorrow<'_, Cache>, _sc: ShrinkControl<'_>) -> CountObjects {
//!         CountObjects::new(cache.pages.load(Ordering::Relaxed))
//!     }
//!
//!     fn scan_objects(cache: ArcBorrow<'_, Cache>, sc: ShrinkControl<'_>) -> ScanObjects {
//!         let mut freed = 0;
//!         while freed < sc.nr_to_scan() {
//!             let ok = cache.pages.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
//!                 p.checked_sub(1)
//!             });
//!             if ok.is_err() {
//!                 break;
//!             }
//!             freed += 1;
//!         }
//!         ScanObjects::from_count(freed)
//!     }
//! }
//!
//! let cache = Arc::new(Cache { pages: AtomicUsize::new(10) }, GFP_KERNEL)?;
//! let reg = ShrinkerBuilder::new(c_str!("rust-doctest"))?.register::<Cache>(cache.clone());
//! assert_eq!(cache.pages.load(Ordering::Relaxed), 10);
//! # // Let reclaim call the shrinker for real: drop_slab() is what
//! # // `echo 2 > /proc/sys/vm/drop_caches` runs.
//! # // SAFETY: `drop_slab()` may be called from process context at any time.
//! # unsafe { kernel::bindings::drop_slab() };
//! # assert_eq!(cache.pages.load(Ordering::Relaxed), 0);
//! drop(reg);
//! // The registration dropped its reference to the cache.
//! assert!(cache.into_unique_or_drop().is_some());
//! # Ok::<(), Error>(())
//! ```

use crate::{alloc::AllocError, bindings, ffi::c_ulong, str::CStr, types::ForeignOwnable};
use core::{marker::PhantomData, ptr::NonNull};

/// `SHRINK_STOP`: the scan made no progress and should not be retried from
/// this reclaim context.
const SHRINK_STOP: c_ulong = c_ulong::MAX;

/// A shrinker's callbacks.
///
/// The implementing type names the callbacks; what they work on is the
/// private data ([`Shrinker::Ptr`]) given to [`ShrinkerBuilder::register`],
/// which each callback borrows. See the [module documentation](self) for the
/// context they run in.
pub trait Shrinker {
    /// The private data: an `Arc<T>` (borrowed as
    /// [`ArcBorrow<'_, T>`](crate::sync::ArcBorrow)) or a `KBox<T>`
    /// (borrowed as `&T`).
    ///
    /// Reclaim calls the callbacks on several CPUs at once, and the
    /// registration may be dropped on any thread.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Returns how many objects [`Shrinker::scan_objects`] could free now.
    ///
    /// Must not free anything, and must be cheap.
    fn count_objects(
        me: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        sc: ShrinkControl<'_>,
    ) -> CountObjects;

    /// Tries to free up to [`ShrinkControl::nr_to_scan`] objects.
    ///
    /// Returns how many it freed, or [`ScanObjects::STOP`] if it cannot make
    /// progress now without risking a deadlock.
    fn scan_objects(
        me: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        sc: ShrinkControl<'_>,
    ) -> ScanObjects;
}

/// The result of [`Shrinker::count_objects`].
pub struct CountObjects {
    inner: c_ulong,
}

impl CountObjects {
    /// The largest count reclaim takes: it multiplies counts without
    /// checking for overflow.
    const MAX: c_ulong = c_ulong::MAX / 2;

    /// Returns a count of `count` objects (none: 0).
    pub fn new(count: usize) -> Self {
        Self {
            inner: (count as c_ulong).min(Self::MAX),
        }
    }
}

/// The result of [`Shrinker::scan_objects`].
pub struct ScanObjects {
    inner: c_ulong,
}

impl ScanObjects {
    /// No progress is possible in this reclaim context (`SHRINK_STOP`); do
    /// not call [`Shrinker::scan_objects`] again from it.
    pub const STOP: Self = Self { inner: SHRINK_STOP };

    /// The most objects a scan may report freed: the values above are
    /// `SHRINK_EMPTY` and `SHRINK_STOP`.
    const MAX: c_ulong = SHRINK_STOP - 2;

    /// Returns that `count` objects were freed (possibly 0).
    pub fn from_count(count: usize) -> Self {
        Self {
            inner: (count as c_ulong).min(Self::MAX),
        }
    }
}

/// What reclaim tells a shrinker (`struct shrink_control`).
///
/// # Invariants
///
/// `ptr` points to a valid `struct shrink_control` for `'a`.
pub struct ShrinkControl<'a> {
    ptr: NonNull<bindings::shrink_control>,
    _p: PhantomData<&'a bindings::shrink_control>,
}

impl ShrinkControl<'_> {
    /// # Safety
    ///
    /// `ptr` points to a valid `struct shrink_control` for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::shrink_control) -> ShrinkControl<'a> {
        // INVARIANT: By the safety requirements.
        ShrinkControl {
            // SAFETY: By the safety requirements, `ptr` is valid, so not null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _p: PhantomData,
        }
    }

    /// Returns how many objects [`Shrinker::scan_objects`] should try to
    /// free.
    pub fn nr_to_scan(&self) -> usize {
        // SAFETY: By the type invariant, `ptr` is valid.
        unsafe { (*self.ptr.as_ptr()).nr_to_scan }
    }
}

/// A shrinker that is not registered yet.
///
/// # Invariants
///
/// `shrinker` was returned by `shrinker_alloc`, is not registered, and is
/// owned by this object.
pub struct ShrinkerBuilder {
    shrinker: NonNull<bindings::shrinker>,
}

// SAFETY: An unregistered shrinker may be moved to, and freed on, any thread.
unsafe impl Send for ShrinkerBuilder {}

// SAFETY: `&ShrinkerBuilder` gives access to nothing.
unsafe impl Sync for ShrinkerBuilder {}

impl ShrinkerBuilder {
    /// Allocates a shrinker called `name`, which names it in debugfs
    /// (`/sys/kernel/debug/shrinker/<name>-<id>`) when
    /// `CONFIG_SHRINKER_DEBUG` is set.
    ///
    /// # Context
    ///
    /// Process context; may sleep.
    pub fn new(name: &CStr) -> Result<Self, AllocError> {
        // SAFETY: No flags: neither NUMA nor memcg aware. The format takes
        // exactly one string argument, `name`, which is a valid C string for
        // the duration of the call.
        let shrinker = unsafe {
            bindings::shrinker_alloc(0, crate::c_str!("%s").as_char_ptr(), name.as_char_ptr())
        };
        // INVARIANT: A new shrinker is not registered.
        Ok(Self {
            shrinker: NonNull::new(shrinker).ok_or(AllocError)?,
        })
    }

    /// Registers the shrinker with the callbacks of `T` and the private data
    /// `private_data`.
    ///
    /// Its callbacks may run before this returns.
    #[must_use = "the shrinker is unregistered when the registration is dropped"]
    pub fn register<T: Shrinker>(self, private_data: T::Ptr) -> ShrinkerRegistration<T> {
        let shrinker = self.shrinker;
        // The registration frees the shrinker from now on.
        core::mem::forget(self);
        let s = shrinker.as_ptr();
        // SAFETY: `s` is a new shrinker that nothing else uses yet; once
        // registered, its callbacks may run at once and find everything
        // ready.
        unsafe {
            (*s).count_objects = Some(count_objects_callback::<T>);
            (*s).scan_objects = Some(scan_objects_callback::<T>);
            (*s).private_data = private_data.into_foreign().cast_mut();
            bindings::shrinker_register(s);
        }
        // INVARIANT: The shrinker is registered with `T`'s callbacks, and
        // its private data came from `T::Ptr::into_foreign()`.
        ShrinkerRegistration {
            shrinker,
            _p: PhantomData,
        }
    }
}

impl Drop for ShrinkerBuilder {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, we own the unregistered shrinker.
        unsafe { bindings::shrinker_free(self.shrinker.as_ptr()) };
    }
}

/// A registered shrinker whose callbacks are those of `T`.
///
/// # Invariants
///
/// `shrinker` is registered, owned by this object, has the callbacks of `T`,
/// and its private data came from `T::Ptr::into_foreign()`; that is given
/// back to Rust only after `shrinker_free`.
pub struct ShrinkerRegistration<T: Shrinker> {
    shrinker: NonNull<bindings::shrinker>,
    _p: PhantomData<T::Ptr>,
}

// SAFETY: The registration may be dropped on any thread (`shrinker_free`
// allows it), and it owns a `T::Ptr`, which is `Send`.
unsafe impl<T: Shrinker> Send for ShrinkerRegistration<T> {}

// SAFETY: `&ShrinkerRegistration` gives access to nothing.
unsafe impl<T: Shrinker> Sync for ShrinkerRegistration<T> {}

impl<T: Shrinker> Drop for ShrinkerRegistration<T> {
    fn drop(&mut self) {
        let s = self.shrinker.as_ptr();
        // SAFETY: By the type invariant, we own the registered shrinker.
        let private = unsafe { (*s).private_data };
        // SAFETY: `shrinker_free` unregisters the shrinker, waits until no
        // callback runs, and frees it (after an RCU grace period).
        unsafe { bindings::shrinker_free(s) };
        // SAFETY: By the type invariant the private data came from
        // `into_foreign()`, and no callback borrows it any more.
        drop(unsafe { T::Ptr::from_foreign(private) });
    }
}

/// Borrows the private data of a shrinker and wraps its `shrink_control`.
///
/// # Safety
///
/// `shrinker` is registered by [`ShrinkerBuilder::register`] for `T`, and
/// reclaim is calling one of its callbacks with `sc`, valid for `'a`, the
/// duration of the call.
unsafe fn callback_args<'a, T: Shrinker>(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> (<T::Ptr as ForeignOwnable>::Borrowed<'a>, ShrinkControl<'a>) {
    // SAFETY: By the safety requirements the private data came from
    // `T::Ptr::into_foreign()`; `shrinker_free` waits for the callback to
    // return before it gives the data back.
    let me = unsafe { T::Ptr::borrow((*shrinker).private_data) };
    // SAFETY: By the safety requirements `sc` is valid for `'a`.
    (me, unsafe { ShrinkControl::from_raw(sc) })
}

/// # Safety
///
/// Called by reclaim on a shrinker registered by
/// [`ShrinkerBuilder::register`] for `T`, with a valid `sc`.
unsafe extern "C" fn count_objects_callback<T: Shrinker>(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: By the safety requirements.
    let (me, sc) = unsafe { callback_args::<T>(shrinker, sc) };
    T::count_objects(me, sc).inner
}

/// # Safety
///
/// Called by reclaim on a shrinker registered by
/// [`ShrinkerBuilder::register`] for `T`, with a valid `sc`.
unsafe extern "C" fn scan_objects_callback<T: Shrinker>(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: By the safety requirements.
    let (me, sc) = unsafe { callback_args::<T>(shrinker, sc) };
    T::scan_objects(me, sc).inner
}
