// SPDX-License-Identifier: GPL-2.0

//! Sysfs directories with attributes backed by Rust data.
//!
//! A [`Dir<T>`] is a directory in sysfs (a `struct kobject`) that owns a value
//! of type `T`. Its files are [`Attribute<T>`]s: each one has a name, a mode
//! and Rust functions that read (`show`) or write (`store`) the value. The
//! directory and its files disappear when the [`Dir`] is dropped; the value is
//! dropped once the last reference to the kobject is gone.
//!
//! Show functions format one value with [`core::fmt`] into a [`ShowBuf`], as
//! `sysfs_emit()` does in C; store functions get the bytes written to the
//! file.
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h) and
//! [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h)
//!
//! # Examples
//!
//! ```
//! use core::fmt::Write;
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use kernel::c_str;
//! use kernel::sysfs::{Attribute, Dir, ShowBuf};
//!
//! struct Counter {
//!     value: AtomicU32,
//! }
//!
//! fn show_value(c: &Counter, buf: &mut ShowBuf<'_>) -> Result {
//!     writeln!(buf, "{}", c.value.load(Ordering::Relaxed))?;
//!     Ok(())
//! }
//!
//! fn store_value(c: &Counter, input: &[u8]) -> Result {
//!     let text = core::str::from_utf8(input).map_err(|_| EINVAL)?;
//!     let v = text.trim().parse::<u32>().map_err(|_| EINVAL)?;
//!     c.value.store(v, Ordering::Relaxed);
//!     Ok(())
//! }
//!
//! static ATTRS: [Attribute<Counter>; 1] =
//!     [Attribute::new_rw(c_str!("value"), 0o644, show_value, store_value)];
//!
//! let dir = Dir::new_in_kernel(
//!     c_str!("rust_sysfs_doctest"),
//!     Counter { value: AtomicU32::new(7) },
//!     &ATTRS,
//! )?;
//! assert_eq!(dir.data().value.load(Ordering::Relaxed), 7);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    alloc::{flags, KBox},
    bindings, container_of,
    error::{code::*, to_result, Error, Result},
    ffi::c_char,
    page::PAGE_SIZE,
    str::CStr,
    types::Opaque,
};
use core::{fmt, marker::PhantomData, ptr::NonNull};

/// A sysfs file of a [`Dir<T>`].
///
/// Attributes are meant to live in `static` arrays: the C side keeps a pointer
/// to them for as long as the file exists.
///
/// # Invariants
///
/// `attr.name` points to a NUL-terminated string that lives forever, and
/// `attr` is the first field, so a pointer to `attr` is a pointer to the
/// whole `Attribute<T>`.
#[repr(C)]
pub struct Attribute<T> {
    attr: bindings::attribute,
    show: Option<fn(&T, &mut ShowBuf<'_>) -> Result>,
    store: Option<fn(&T, &[u8]) -> Result>,
}

// SAFETY: An `Attribute` is never changed after it is made; it holds a pointer
// to a `'static` string and function pointers, which may be used from any
// thread.
unsafe impl<T> Sync for Attribute<T> {}

impl<T> Attribute<T> {
    const fn build(
        name: &'static CStr,
        mode: u16,
        show: Option<fn(&T, &mut ShowBuf<'_>) -> Result>,
        store: Option<fn(&T, &[u8]) -> Result>,
    ) -> Self {
        // SAFETY: `struct attribute` is valid when zeroed (no name, mode 0,
        // and, with lockdep, no key and no static key data yet).
        let mut attr: bindings::attribute = unsafe { core::mem::zeroed() };
        // INVARIANT: `name` is a `'static` C string.
        attr.name = name.as_char_ptr();
        attr.mode = mode;
        Self { attr, show, store }
    }

    /// Makes a read-only attribute; `mode` is its permission bits, such as
    /// `0o444`.
    pub const fn new_ro(
        name: &'static CStr,
        mode: u16,
        show: fn(&T, &mut ShowBuf<'_>) -> Result,
    ) -> Self {
        Self::build(name, mode, Some(show), None)
    }

    /// Makes a write-only attribute; `mode` is its permission bits, such as
    /// `0o200`.
    pub const fn new_wo(name: &'static CStr, mode: u16, store: fn(&T, &[u8]) -> Result) -> Self {
        Self::build(name, mode, None, Some(store))
    }

    /// Makes a read-write attribute; `mode` is its permission bits, such as
    /// `0o644`.
    pub const fn new_rw(
        name: &'static CStr,
        mode: u16,
        show: fn(&T, &mut ShowBuf<'_>) -> Result,
        store: fn(&T, &[u8]) -> Result,
    ) -> Self {
        Self::build(name, mode, Some(show), Some(store))
    }
}

/// The page a show function writes its value into.
///
/// Writing more than a page fails with [`fmt::Error`] (`-EINVAL` once
/// converted with `?`); the read then fails and returns nothing.
pub struct ShowBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl ShowBuf<'_> {
    /// Returns the number of bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `true` if nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for ShowBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The heap part of a [`Dir<T>`]: the kobject and the value it owns.
///
/// # Invariants
///
/// Once `kobj` is initialised, this allocation is owned by the kobject's
/// reference count and freed by [`Inner::release_callback`].
#[repr(C)]
struct Inner<T> {
    kobj: Opaque<bindings::kobject>,
    data: T,
}

impl<T: Send + Sync> Inner<T> {
    const SYSFS_OPS: bindings::sysfs_ops = bindings::sysfs_ops {
        show: Some(Self::show_callback),
        store: Some(Self::store_callback),
    };

    const KTYPE: bindings::kobj_type = bindings::kobj_type {
        release: Some(Self::release_callback),
        sysfs_ops: &Self::SYSFS_OPS,
        default_groups: core::ptr::null_mut(),
        child_ns_type: None,
        namespace: None,
        get_ownership: None,
    };

    /// # Safety
    ///
    /// `kobj` must be the `kobj` field of a live `Inner<T>`, and `attr` the
    /// `attr` field of an `Attribute<T>`.
    unsafe fn parts<'a>(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
    ) -> (&'a T, &'a Attribute<T>) {
        // SAFETY: By the safety requirements, `kobj` is the `kobj` field of a
        // live `Inner<T>`; sysfs keeps it alive while a callback runs.
        let inner = unsafe { &*container_of!(kobj, Inner<T>, kobj) };
        // SAFETY: By the safety requirements and the type invariant of
        // `Attribute`, `attr` points to a whole `Attribute<T>`, which is
        // `'static` because `Dir::new` only takes `'static` attributes.
        let attribute = unsafe { &*attr.cast::<Attribute<T>>() };
        (&inner.data, attribute)
    }

    /// # Safety
    ///
    /// Called by sysfs with a kobject of type `KTYPE`, one of its attributes
    /// and a buffer of `PAGE_SIZE` bytes.
    unsafe extern "C" fn show_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: Only `Dir::new` creates kobjects of this type, and it adds
        // only `Attribute<T>`s to them.
        let (data, attribute) = unsafe { Self::parts(kobj, attr) };
        let Some(show) = attribute.show else {
            return EIO.to_errno() as isize;
        };
        let mut out = ShowBuf {
            // SAFETY: sysfs passes a zeroed page that only this call uses
            // until it returns.
            buf: unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) },
            len: 0,
        };
        match show(data, &mut out) {
            Ok(()) => out.len as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by sysfs with a kobject of type `KTYPE`, one of its attributes
    /// and `count` readable bytes at `buf`.
    unsafe extern "C" fn store_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: As in `show_callback`.
        let (data, attribute) = unsafe { Self::parts(kobj, attr) };
        let Some(store) = attribute.store else {
            return EIO.to_errno() as isize;
        };
        // SAFETY: sysfs passes `count` bytes it owns until this call returns.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        match store(data, input) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called once by the kobject core when the last reference to a kobject
    /// of type `KTYPE` is dropped.
    unsafe extern "C" fn release_callback(kobj: *mut bindings::kobject) {
        // SAFETY: `kobj` is the `kobj` field of an `Inner<T>` that `Dir::new`
        // leaked from a `KBox`; this is the last user, so it may be freed.
        drop(unsafe { KBox::from_raw(container_of!(kobj, Inner<T>, kobj).cast_mut()) });
    }
}

/// A sysfs directory that owns a value of type `T`.
///
/// # Invariants
///
/// `inner` points to an `Inner<T>` whose kobject was added to sysfs and on
/// which this `Dir` holds one reference.
pub struct Dir<T: Send + Sync> {
    inner: NonNull<Inner<T>>,
    _p: PhantomData<T>,
}

// SAFETY: `Dir` only gives shared access to `T`, which is `Send + Sync`; the
// kobject reference it holds may be dropped from any thread.
unsafe impl<T: Send + Sync> Send for Dir<T> {}

// SAFETY: `&Dir` only gives `&T`, and `T` is `Sync`.
unsafe impl<T: Send + Sync> Sync for Dir<T> {}

impl<T: Send + Sync> Dir<T> {
    /// Creates `/sys/kernel/<name>/` holding `data`, with the files `attrs`.
    pub fn new_in_kernel(name: &CStr, data: T, attrs: &'static [Attribute<T>]) -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up at boot, before any initcall that
        // could call this, and never changes afterwards.
        let parent = unsafe { bindings::kernel_kobj };
        Self::new(name, parent, data, attrs)
    }

    fn new(
        name: &CStr,
        parent: *mut bindings::kobject,
        data: T,
        attrs: &'static [Attribute<T>],
    ) -> Result<Self> {
        let inner = KBox::new(
            Inner {
                kobj: Opaque::uninit(),
                data,
            },
            flags::GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is a valid allocation we own.
        let kobj = unsafe { Opaque::raw_get(core::ptr::addr_of!((*inner).kobj)) };
        // SAFETY: `kobj` is valid for writes; `kobject_init` needs it zeroed.
        unsafe { core::ptr::write_bytes(kobj, 0, 1) };
        // SAFETY: `kobj` is zeroed, `KTYPE` lives forever, `parent` is a live
        // kobject or null, and the format takes exactly one string argument.
        let ret = unsafe {
            bindings::kobject_init_and_add(
                kobj,
                &Inner::<T>::KTYPE,
                parent,
                crate::c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        if ret != 0 {
            // SAFETY: The kobject was initialised, so its reference count owns
            // `inner` now; dropping the reference frees it, as
            // `kobject_init_and_add` requires on failure.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: `inner` was added to sysfs and we hold its one reference.
        let dir = Self {
            // SAFETY: `inner` came from `KBox::into_raw`, so it is not null.
            inner: unsafe { NonNull::new_unchecked(inner) },
            _p: PhantomData,
        };
        for attr in attrs {
            // SAFETY: `kobj` is in sysfs, and `attr` is `'static`. On failure
            // `dir` is dropped, which removes the directory and what it holds.
            to_result(unsafe {
                bindings::sysfs_create_file_ns(kobj, &attr.attr, core::ptr::null())
            })?;
        }
        Ok(dir)
    }

    /// Returns the value this directory owns.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariant, we hold a reference, so `inner` is
        // alive.
        unsafe { &self.inner.as_ref().data }
    }

    fn kobj(&self) -> *mut bindings::kobject {
        // SAFETY: By the type invariant, `inner` is alive.
        unsafe { Opaque::raw_get(core::ptr::addr_of!((*self.inner.as_ptr()).kobj)) }
    }
}

impl<T: Send + Sync> Drop for Dir<T> {
    fn drop(&mut self) {
        let kobj = self.kobj();
        // SAFETY: By the type invariant, `kobj` is live and we hold one
        // reference. `kobject_del` removes the files and waits for running
        // show and store calls; `kobject_put` drops our reference, after which
        // `release_callback` frees `inner` once nobody else holds one.
        unsafe {
            bindings::kobject_del(kobj);
            bindings::kobject_put(kobj);
        }
    }
}
