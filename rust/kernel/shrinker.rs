// SPDX-License-Identifier: GPL-2.0

//! Shrinkers: give memory back when the system runs low.
//!
//! A driver that keeps memory it could free (a cache) implements [`Shrinker`]
//! and registers it with [`Registration::new`]. Memory reclaim then asks it
//! how much it could free ([`Shrinker::count`]) and tells it to free some
//! ([`Shrinker::scan`]). Dropping the [`Registration`] unregisters the
//! shrinker and waits until no callback is running.
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
//!   [`ScanResult::Stop`] rather than waiting;
//! - should be quick: [`Shrinker::count`] in particular is called often and
//!   must not free anything.
//!
//! [`ShrinkControl`] tells what the allocation being served allows.
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h)
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicUsize, Ordering};
//! use kernel::c_str;
//! use kernel::shrinker::{Registration, ScanResult, ShrinkControl, Shrinker};
//!
//! /// A cache of `pages` pages, all of which could be freed.
//! struct Cache {
//!     pages: AtomicUsize,
//! }
//!
//! impl Shrinker for Cache {
//!     fn count(&self, _sc: &ShrinkControl<'_>) -> usize {
//!         self.pages.load(Ordering::Relaxed)
//!     }
//!
//!     fn scan(&self, nr_to_scan: usize, _sc: &ShrinkControl<'_>) -> ScanResult {
//!         let mut freed = 0;
//!         while freed < nr_to_scan {
//!             let ok = self.pages.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
//!                 p.checked_sub(1)
//!             });
//!             if ok.is_err() {
//!                 break;
//!             }
//!             freed += 1;
//!         }
//!         ScanResult::Freed(freed)
//!     }
//! }
//!
//! let reg = Registration::new(c_str!("rust-doctest"), Cache { pages: AtomicUsize::new(10) })?;
//! assert_eq!(reg.data().pages.load(Ordering::Relaxed), 10);
//! # // Let reclaim call the shrinker for real: drop_slab() is what
//! # // `echo 2 > /proc/sys/vm/drop_caches` runs.
//! # // SAFETY: `drop_slab()` may be called from process context at any time.
//! # unsafe { kernel::bindings::drop_slab() };
//! # assert_eq!(reg.data().pages.load(Ordering::Relaxed), 0);
//! drop(reg);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    alloc::{flags, KBox},
    bindings,
    error::{code::*, Result},
    ffi::c_ulong,
    str::CStr,
};
use core::{marker::PhantomData, ptr::NonNull};

/// What a shrinker's owner implements.
pub trait Shrinker: Send + Sync {
    /// How costly it is to recreate an object, relative to other caches
    /// (`seeks`); a higher value makes reclaim scan this cache less.
    const SEEKS: u32 = bindings::DEFAULT_SEEKS;

    /// Returns how many objects [`Shrinker::scan`] could free now; 0 if there
    /// are none (or their number cannot be told now).
    ///
    /// Must not free anything, and must be cheap. See the
    /// [module documentation](self) for the context.
    fn count(&self, sc: &ShrinkControl<'_>) -> usize;

    /// Tries to free up to `nr_to_scan` objects.
    ///
    /// Returns how many it freed, or [`ScanResult::Stop`] if it cannot make
    /// progress now without risking a deadlock. See the
    /// [module documentation](self) for the context.
    fn scan(&self, nr_to_scan: usize, sc: &ShrinkControl<'_>) -> ScanResult;
}

/// The result of [`Shrinker::scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanResult {
    /// This many objects were freed (possibly 0).
    Freed(usize),
    /// No progress is possible in this reclaim context (`SHRINK_STOP`); do
    /// not call [`Shrinker::scan`] again from it.
    Stop,
}

/// The largest count or number of freed objects a shrinker may report: the
/// values above are `SHRINK_EMPTY` and `SHRINK_STOP`.
const MAX_OBJECTS: c_ulong = c_ulong::MAX - 2;

/// What reclaim tells a shrinker (`struct shrink_control`).
pub struct ShrinkControl<'a> {
    sc: &'a bindings::shrink_control,
}

impl ShrinkControl<'_> {
    /// Returns whether the allocation that reclaim is serving allows starting
    /// I/O (`__GFP_IO`).
    pub fn may_do_io(&self) -> bool {
        self.sc.gfp_mask & (1 << bindings::___GFP_IO_BIT) != 0
    }

    /// Returns whether the allocation that reclaim is serving allows calling
    /// into file systems (`__GFP_FS`).
    pub fn may_enter_fs(&self) -> bool {
        self.sc.gfp_mask & (1 << bindings::___GFP_FS_BIT) != 0
    }

    /// Returns the NUMA node being shrunk.
    pub fn nid(&self) -> i32 {
        self.sc.nid
    }
}

/// A registered shrinker whose callbacks are those of `T`.
///
/// # Invariants
///
/// `shrinker` was returned by `shrinker_alloc`, is registered, has
/// `Self::count_callback` and `Self::scan_callback` as callbacks and
/// `data` as private data, and is owned by this object; `data` comes from
/// [`KBox::into_raw`] and is only freed after `shrinker_free`.
pub struct Registration<T: Shrinker> {
    shrinker: NonNull<bindings::shrinker>,
    data: NonNull<T>,
    _p: PhantomData<T>,
}

// SAFETY: The registration may be dropped on any thread (`shrinker_free`
// allows it), and it owns a `T`, which is `Send`.
unsafe impl<T: Shrinker> Send for Registration<T> {}

// SAFETY: Shared access only reaches `&T`, and `T` is `Sync`.
unsafe impl<T: Shrinker> Sync for Registration<T> {}

impl<T: Shrinker> Registration<T> {
    /// Registers a shrinker holding `data`.
    ///
    /// `name` names it in debugfs (`/sys/kernel/debug/shrinker/<name>-<id>`)
    /// when `CONFIG_SHRINKER_DEBUG` is set.
    ///
    /// # Context
    ///
    /// Process context; may sleep.
    pub fn new(name: &CStr, data: T) -> Result<Self> {
        let data = KBox::into_raw(KBox::new(data, flags::GFP_KERNEL)?);
        // SAFETY: The format takes exactly one string argument, `name`, which
        // is a valid C string for the duration of the call.
        let shrinker = unsafe {
            bindings::shrinker_alloc(0, crate::c_str!("%s").as_char_ptr(), name.as_char_ptr())
        };
        let Some(shrinker) = NonNull::new(shrinker) else {
            // SAFETY: `data` came from `KBox::into_raw` and was not shared.
            drop(unsafe { KBox::from_raw(data) });
            return Err(ENOMEM);
        };
        let s = shrinker.as_ptr();
        // SAFETY: `s` is a new shrinker that nothing else uses yet; once
        // registered, its callbacks may run at once and find `data` ready.
        unsafe {
            (*s).count_objects = Some(Self::count_callback);
            (*s).scan_objects = Some(Self::scan_callback);
            (*s).seeks = T::SEEKS.try_into().unwrap_or(i32::MAX);
            (*s).private_data = data.cast();
            bindings::shrinker_register(s);
        }
        // INVARIANT: `shrinker` is registered with our callbacks and `data`.
        Ok(Self {
            shrinker,
            // SAFETY: `KBox::into_raw` never returns null.
            data: unsafe { NonNull::new_unchecked(data) },
            _p: PhantomData,
        })
    }

    /// Returns the data the shrinker's callbacks use.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariant, `data` lives until `self` is dropped
        // and is only shared.
        unsafe { self.data.as_ref() }
    }

    /// # Safety
    ///
    /// `shrinker` and `sc` come from reclaim calling a shrinker registered by
    /// [`Registration::new`] for this `T`.
    unsafe fn parts<'a>(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> (&'a T, ShrinkControl<'a>) {
        // SAFETY: By the safety requirements and the type invariant, the
        // private data is a `T` that lives until `shrinker_free` has waited
        // for this call to return.
        let data = unsafe { &*(*shrinker).private_data.cast::<T>() };
        // SAFETY: Reclaim passes a valid `shrink_control` for the call.
        let sc = unsafe { &*sc };
        (data, ShrinkControl { sc })
    }

    /// # Safety
    ///
    /// Called by reclaim on a shrinker registered by [`Registration::new`].
    unsafe extern "C" fn count_callback(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: By the safety requirements, reclaim calls us on a shrinker
        // that `Registration::new` registered for this `T`.
        let (data, sc) = unsafe { Self::parts(shrinker, sc) };
        data.count(&sc).min(MAX_OBJECTS)
    }

    /// # Safety
    ///
    /// Called by reclaim on a shrinker registered by [`Registration::new`].
    unsafe extern "C" fn scan_callback(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: As in `count_callback`.
        let (data, control) = unsafe { Self::parts(shrinker, sc) };
        // SAFETY: Reclaim passes a valid `shrink_control` for the call.
        let nr_to_scan: usize = unsafe { (*sc).nr_to_scan };
        match data.scan(nr_to_scan, &control) {
            ScanResult::Freed(n) => n.min(MAX_OBJECTS),
            // `SHRINK_STOP` is `~0UL`.
            ScanResult::Stop => c_ulong::MAX,
        }
    }
}

impl<T: Shrinker> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, we own the registered shrinker.
        // `shrinker_free` unregisters it and waits until no callback runs,
        // and frees it (after an RCU grace period).
        unsafe { bindings::shrinker_free(self.shrinker.as_ptr()) };
        // SAFETY: No callback can use `data` any more, and it came from
        // `KBox::into_raw`.
        drop(unsafe { KBox::from_raw(self.data.as_ptr()) });
    }
}
