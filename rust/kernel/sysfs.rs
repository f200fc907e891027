// SPDX-License-Identifier: GPL-2.0

//! Sysfs directories with attributes backed by Rust data.
//!
//! A [`Dir<T>`] is a directory in sysfs (a `struct kobject`) that owns a value
//! of type `T`. Its files are [`Attribute<T>`]s: each one has a name, a mode
//! and Rust functions that read (`show`) or write (`store`) the value. As the
//! driver core wants it, the files are the default groups of the kobject's
//! type (`default_groups`): they exist as soon as the directory does, with
//! nothing added afterwards, and only then is the directory announced with a
//! `KOBJ_ADD` uevent. The directory and its files disappear when the [`Dir`]
//! is dropped; the value is dropped once the last reference to the kobject is
//! gone.
//!
//! A file holds one value, as `Documentation/filesystems/sysfs.rst` asks
//! (or a list of values of one kind).
//!
//! Show functions format one value with [`core::fmt`] into a [`ShowBuf`], as
//! `sysfs_emit()` does in C; store functions get the bytes written to the
//! file.
//!
//! A directory may also have binary files ([`BinAttribute<T>`], for data that
//! is not one short text value) and subdirectories of files ([`Group<T>`]);
//! [`Dir::builder`] makes such a directory.
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
    error::{code::*, Error, Result},
    ffi::c_char,
    page::PAGE_SIZE,
    prelude::KVec,
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

/// A binary sysfs file of a [`Dir<T>`].
///
/// Reads and writes come in chunks of at most a page at increasing offsets:
/// the read function fills as much of the buffer as it can with the bytes at
/// `offset` and returns how many it wrote (0 at the end of the data); the
/// write function takes the bytes meant for `offset` and returns how many it
/// consumed. A big write from user space thus arrives as several calls. If
/// the file has a size, sysfs stops reads at that size and refuses writes
/// past it; with size 0, the functions decide where the data ends.
///
/// Like [`Attribute`]s, binary attributes are meant to live in `static`
/// arrays.
///
/// # Invariants
///
/// `attr.attr.name` points to a NUL-terminated string that lives forever,
/// `attr.read` and `attr.write` are `Self::read_callback` and
/// `Self::write_callback` exactly when `read` and `write` are set, and
/// `attr` is the first field, so a pointer to `attr` is a pointer to the
/// whole `BinAttribute<T>`.
#[repr(C)]
pub struct BinAttribute<T> {
    attr: bindings::bin_attribute,
    read: Option<BinReadFn<T>>,
    write: Option<BinWriteFn<T>>,
}

/// The read function of a [`BinAttribute<T>`].
type BinReadFn<T> = fn(&T, u64, &mut [u8]) -> Result<usize>;

/// The write function of a [`BinAttribute<T>`].
type BinWriteFn<T> = fn(&T, u64, &[u8]) -> Result<usize>;

// SAFETY: A `BinAttribute` is never changed after it is made; it holds a
// pointer to a `'static` string and function pointers, which may be used from
// any thread.
unsafe impl<T> Sync for BinAttribute<T> {}

impl<T> BinAttribute<T> {
    const fn build(
        name: &'static CStr,
        mode: u16,
        size: usize,
        read: Option<BinReadFn<T>>,
        write: Option<BinWriteFn<T>>,
    ) -> Self {
        // SAFETY: `struct bin_attribute` is valid when zeroed (no name, mode
        // 0, no callbacks, no private data).
        let mut attr: bindings::bin_attribute = unsafe { core::mem::zeroed() };
        // INVARIANT: `name` is a `'static` C string, and the C callbacks are
        // set exactly for the Rust functions given.
        attr.attr.name = name.as_char_ptr();
        attr.attr.mode = mode;
        attr.size = size;
        if read.is_some() {
            attr.read = Some(Self::read_callback);
        }
        if write.is_some() {
            attr.write = Some(Self::write_callback);
        }
        Self { attr, read, write }
    }

    /// Makes a read-only binary attribute of `size` bytes (0 if unknown);
    /// `mode` is its permission bits, such as `0o444`.
    pub const fn new_ro(
        name: &'static CStr,
        mode: u16,
        size: usize,
        read: fn(&T, u64, &mut [u8]) -> Result<usize>,
    ) -> Self {
        Self::build(name, mode, size, Some(read), None)
    }

    /// Makes a write-only binary attribute of `size` bytes (0 if unknown);
    /// `mode` is its permission bits, such as `0o200`.
    pub const fn new_wo(
        name: &'static CStr,
        mode: u16,
        size: usize,
        write: fn(&T, u64, &[u8]) -> Result<usize>,
    ) -> Self {
        Self::build(name, mode, size, None, Some(write))
    }

    /// Turns a read or write callback's result into what sysfs expects: the
    /// bytes handled (at most `count`), or a negative errno.
    fn ssize(result: Result<usize>, count: usize) -> isize {
        match result {
            Ok(n) if n <= count => n as isize,
            Ok(_) => EIO.to_errno() as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by sysfs with the kobject of a [`Dir<T>`], one of its binary
    /// attributes and `count` bytes at `buf` that this call may write.
    unsafe extern "C" fn read_callback(
        _file: *mut bindings::file,
        kobj: *mut bindings::kobject,
        attr: *mut bindings::bin_attribute,
        buf: *mut c_char,
        offset: bindings::loff_t,
        count: usize,
    ) -> isize {
        // SAFETY: Only `Dir::new` adds binary attributes, and only
        // `BinAttribute<T>`s to the kobject of an `Inner<T>`, which sysfs
        // keeps alive while the callback runs. By the type invariant, `attr`
        // points to a whole `BinAttribute<T>`, which is `'static`.
        let (data, attribute) = unsafe { (Inner::<T>::data(kobj), &*attr.cast::<Self>()) };
        let (Some(read), Ok(offset)) = (attribute.read, u64::try_from(offset)) else {
            return EIO.to_errno() as isize;
        };
        // SAFETY: sysfs passes `count` bytes that only this call uses until
        // it returns.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), count) };
        Self::ssize(read(data, offset, out), count)
    }

    /// # Safety
    ///
    /// Called by sysfs with the kobject of a [`Dir<T>`], one of its binary
    /// attributes and `count` readable bytes at `buf`.
    unsafe extern "C" fn write_callback(
        _file: *mut bindings::file,
        kobj: *mut bindings::kobject,
        attr: *mut bindings::bin_attribute,
        buf: *mut c_char,
        offset: bindings::loff_t,
        count: usize,
    ) -> isize {
        // SAFETY: As in `read_callback`.
        let (data, attribute) = unsafe { (Inner::<T>::data(kobj), &*attr.cast::<Self>()) };
        let (Some(write), Ok(offset)) = (attribute.write, u64::try_from(offset)) else {
            return EIO.to_errno() as isize;
        };
        // SAFETY: sysfs passes `count` bytes it owns until this call returns.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        Self::ssize(write(data, offset, input), count)
    }
}

/// A named subdirectory of a [`Dir<T>`] with its own files.
///
/// Its files use the same `T` as the directory's own files. Groups are meant
/// to live in `static` arrays, like attributes.
pub struct Group<T: 'static> {
    name: &'static CStr,
    attrs: &'static [Attribute<T>],
}

impl<T> Group<T> {
    /// Makes a subdirectory `name` with the files `attrs`.
    pub const fn new(name: &'static CStr, attrs: &'static [Attribute<T>]) -> Self {
        Self { name, attrs }
    }
}

/// The C tables that tell sysfs a directory's files: the kobject type's
/// `default_groups`.
///
/// # Invariants
///
/// - `list` is a NULL-terminated list of pointers into `groups`: one
///   `attribute_group` without a name for the directory's own files, then
///   one per subdirectory.
/// - The groups' `attrs` and `bin_attrs` point to NULL-terminated lists in
///   `attrs` and `bin_attrs`, whose pointers are to `'static`
///   [`Attribute<T>`]s and [`BinAttribute<T>`]s of the directory's `T`.
/// - None of the vectors is changed after they are made, so their buffers
///   (which these pointers point into) stay where they are.
struct Groups {
    list: KVec<*const bindings::attribute_group>,
    /// Only pointed to, from `list`.
    _groups: KVec<bindings::attribute_group>,
    /// Only pointed to, from the groups.
    _attrs: KVec<*mut bindings::attribute>,
    /// Only pointed to, from the groups.
    _bin_attrs: KVec<*mut bindings::bin_attribute>,
}

impl Groups {
    /// Makes the tables of a directory with the files `files`.
    fn new<T: 'static>(files: &DirBuilder<'_, T>) -> Result<Self> {
        let nr_groups = files.groups.len() + 1;
        let nr_attrs =
            files.attrs.len() + files.groups.iter().map(|g| g.attrs.len()).sum::<usize>();
        // Each list of pointers ends with a NULL.
        let mut attrs = KVec::with_capacity(nr_attrs + nr_groups, flags::GFP_KERNEL)?;
        let mut bin_attrs = KVec::with_capacity(files.bin_attrs.len() + 1, flags::GFP_KERNEL)?;
        let mut groups = KVec::with_capacity(nr_groups, flags::GFP_KERNEL)?;
        let mut list = KVec::with_capacity(nr_groups + 1, flags::GFP_KERNEL)?;

        // Room is reserved: no push below allocates, so none fails and no
        // buffer moves once a pointer into it was taken.
        let mut starts = KVec::with_capacity(nr_groups, flags::GFP_KERNEL)?;
        let own = core::iter::once(files.attrs);
        for group_attrs in own.chain(files.groups.iter().map(|g| g.attrs)) {
            starts.push(attrs.len(), flags::GFP_KERNEL)?;
            for a in group_attrs {
                attrs.push(core::ptr::addr_of!(a.attr).cast_mut(), flags::GFP_KERNEL)?;
            }
            attrs.push(core::ptr::null_mut(), flags::GFP_KERNEL)?;
        }
        for a in files.bin_attrs {
            bin_attrs.push(core::ptr::addr_of!(a.attr).cast_mut(), flags::GFP_KERNEL)?;
        }
        bin_attrs.push(core::ptr::null_mut(), flags::GFP_KERNEL)?;
        let empty_bin = bin_attrs.len() - 1;

        let names = core::iter::once(None).chain(files.groups.iter().map(|g| Some(g.name)));
        for (i, (name, start)) in names.zip(starts.iter()).enumerate() {
            groups.push(
                bindings::attribute_group {
                    name: name.map_or(core::ptr::null(), CStr::as_char_ptr),
                    is_visible: None,
                    is_bin_visible: None,
                    // SAFETY: `start` is the index of a list within `attrs`.
                    attrs: unsafe { attrs.as_mut_ptr().add(*start) },
                    // The binary files are the directory's own; the
                    // subdirectories get the empty list (the final NULL).
                    // SAFETY: Both indices are within `bin_attrs`.
                    bin_attrs: unsafe {
                        bin_attrs
                            .as_mut_ptr()
                            .add(if i == 0 { 0 } else { empty_bin })
                    },
                },
                flags::GFP_KERNEL,
            )?;
        }
        for g in groups.iter() {
            list.push(core::ptr::from_ref(g), flags::GFP_KERNEL)?;
        }
        list.push(core::ptr::null(), flags::GFP_KERNEL)?;
        // INVARIANT: The lists are complete and NULL-terminated, and nothing
        // changes them from here on.
        Ok(Self {
            list,
            _groups: groups,
            _attrs: attrs,
            _bin_attrs: bin_attrs,
        })
    }
}

/// Builds a [`Dir<T>`] with binary files and subdirectories.
///
/// Made by [`Dir::builder`].
pub struct DirBuilder<'a, T: 'static> {
    name: &'a CStr,
    attrs: &'static [Attribute<T>],
    bin_attrs: &'static [BinAttribute<T>],
    groups: &'static [Group<T>],
}

impl<'a, T: Send + Sync> DirBuilder<'a, T> {
    /// Sets the directory's text files.
    pub fn attrs(self, attrs: &'static [Attribute<T>]) -> Self {
        Self { attrs, ..self }
    }

    /// Sets the directory's binary files.
    pub fn bin_attrs(self, bin_attrs: &'static [BinAttribute<T>]) -> Self {
        Self { bin_attrs, ..self }
    }

    /// Sets the directory's subdirectories.
    pub fn groups(self, groups: &'static [Group<T>]) -> Self {
        Self { groups, ..self }
    }

    /// Creates the directory in `/sys/kernel/`, holding `data`, with its
    /// files, and announces it with a `KOBJ_ADD` uevent.
    pub fn build_in_kernel(self, data: T) -> Result<Dir<T>> {
        // SAFETY: `kernel_kobj` is set up at boot, before any initcall that
        // could call this, and never changes afterwards.
        let parent = unsafe { bindings::kernel_kobj };
        Dir::new(parent, data, self)
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

impl fmt::Write for ShowBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The heap part of a [`Dir<T>`]: the kobject, its type with the files, and
/// the value it owns.
///
/// # Invariants
///
/// - Once `kobj` is initialised, this allocation is owned by the kobject's
///   reference count and freed by [`Inner::release_callback`].
/// - `ktype` is `Inner::<T>::KTYPE` with `default_groups` set to
///   `groups.list`; it is not changed once `kobj` is initialised.
#[repr(C)]
struct Inner<T> {
    kobj: Opaque<bindings::kobject>,
    ktype: bindings::kobj_type,
    groups: Groups,
    data: T,
}

impl<T> Inner<T> {
    /// Returns the value a `Dir<T>`'s kobject owns.
    ///
    /// # Safety
    ///
    /// `kobj` must be the `kobj` field of a live `Inner<T>`, and stay live
    /// for `'a`.
    unsafe fn data<'a>(kobj: *mut bindings::kobject) -> &'a T {
        // SAFETY: By the safety requirements, `kobj` is the `kobj` field of a
        // live `Inner<T>`.
        unsafe { &(*container_of!(kobj, Inner<T>, kobj)).data }
    }
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
        let data = unsafe { Inner::data(kobj) };
        // SAFETY: By the safety requirements and the type invariant of
        // `Attribute`, `attr` points to a whole `Attribute<T>`, which is
        // `'static` because `Dir::new` only takes `'static` attributes.
        let attribute = unsafe { &*attr.cast::<Attribute<T>>() };
        (data, attribute)
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
/// Dropping it removes the directory and its files.
///
/// # Invariants
///
/// `inner` points to an `Inner<T>` whose kobject was added to sysfs and on
/// which this `Dir` holds one reference.
#[must_use = "the directory is removed when the Dir is dropped"]
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
        Self::builder(name).attrs(attrs).build_in_kernel(data)
    }

    /// Starts building a directory called `name` that also has binary files
    /// or subdirectories.
    ///
    /// # Examples
    ///
    /// `/sys/kernel/rust_sysfs_doctest_bin/` with a text file `received`,
    /// binary files `history` (to read) and `playlist` (to write), and a
    /// subdirectory `stats/` holding `hits`:
    ///
    /// ```
    /// use core::fmt::Write;
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use kernel::c_str;
    /// use kernel::sysfs::{Attribute, BinAttribute, Dir, Group, ShowBuf};
    /// # use kernel::{bindings, error::from_err_ptr, str::CStr};
    ///
    /// struct Cache {
    ///     hits: AtomicU64,
    ///     received: AtomicU64,
    /// }
    ///
    /// const HISTORY: &[u8] = b"recorded reads";
    ///
    /// fn show_hits(c: &Cache, buf: &mut ShowBuf<'_>) -> Result {
    ///     writeln!(buf, "{}", c.hits.load(Ordering::Relaxed))?;
    ///     Ok(())
    /// }
    ///
    /// fn read_history(_c: &Cache, offset: u64, buf: &mut [u8]) -> Result<usize> {
    ///     let rest = usize::try_from(offset).ok().and_then(|o| HISTORY.get(o..)).unwrap_or(&[]);
    ///     let n = rest.len().min(buf.len());
    ///     buf[..n].copy_from_slice(&rest[..n]);
    ///     Ok(n)
    /// }
    ///
    /// fn show_received(c: &Cache, buf: &mut ShowBuf<'_>) -> Result {
    ///     writeln!(buf, "{}", c.received.load(Ordering::Relaxed))?;
    ///     Ok(())
    /// }
    ///
    /// fn write_playlist(c: &Cache, offset: u64, data: &[u8]) -> Result<usize> {
    ///     // Chunks come in order; a real driver would append them to a buffer.
    ///     if offset != c.received.load(Ordering::Relaxed) {
    ///         return Err(EINVAL);
    ///     }
    ///     c.received.fetch_add(data.len() as u64, Ordering::Relaxed);
    ///     Ok(data.len())
    /// }
    ///
    /// static STATS: [Attribute<Cache>; 1] = [Attribute::new_ro(c_str!("hits"), 0o444, show_hits)];
    /// static GROUPS: [Group<Cache>; 1] = [Group::new(c_str!("stats"), &STATS)];
    /// static OWN: [Attribute<Cache>; 1] =
    ///     [Attribute::new_ro(c_str!("received"), 0o444, show_received)];
    /// static BIN: [BinAttribute<Cache>; 2] = [
    ///     BinAttribute::new_ro(c_str!("history"), 0o444, 0, read_history),
    ///     BinAttribute::new_wo(c_str!("playlist"), 0o200, 0, write_playlist),
    /// ];
    ///
    /// let dir = Dir::builder(c_str!("rust_sysfs_doctest_bin"))
    ///     .attrs(&OWN)
    ///     .bin_attrs(&BIN)
    ///     .groups(&GROUPS)
    ///     .build_in_kernel(Cache { hits: AtomicU64::new(3), received: AtomicU64::new(0) })?;
    /// # // Check the files through the VFS, on a private mount of sysfs (the
    /// # // doctests run before user space has mounted it).
    /// # fn with_file<R>(
    /// #     path: &CStr,
    /// #     flags: u32,
    /// #     f: impl FnOnce(*mut bindings::file) -> R,
    /// # ) -> Result<R> {
    /// #     // SAFETY: The name is a C string.
    /// #     let fs = unsafe { bindings::get_fs_type(c_str!("sysfs").as_char_ptr()) };
    /// #     if fs.is_null() {
    /// #         return Err(ENODEV);
    /// #     }
    /// #     // SAFETY: `fs` is a registered file system type.
    /// #     let mnt = from_err_ptr(unsafe { bindings::kern_mount(fs) })?;
    /// #     // SAFETY: `mnt` is a live mount.
    /// #     let root = bindings::path { mnt, dentry: unsafe { (*mnt).mnt_root } };
    /// #     // SAFETY: `root` is a valid path and `path` a C string.
    /// #     let file =
    /// #         unsafe { bindings::file_open_root(&root, path.as_char_ptr(), flags as i32, 0) };
    /// #     let ret = from_err_ptr(file).map(|file| {
    /// #         let r = f(file);
    /// #         // SAFETY: We opened `file`.
    /// #         unsafe { bindings::fput(file) };
    /// #         r
    /// #     });
    /// #     // SAFETY: We own `mnt`; an open file keeps its own reference.
    /// #     unsafe { bindings::kern_unmount(mnt) };
    /// #     ret
    /// # }
    /// # fn read(path: &CStr, buf: &mut [u8]) -> Result<usize> {
    /// #     with_file(path, bindings::O_RDONLY, |file| {
    /// #         let mut pos = 0;
    /// #         // SAFETY: `file` is open and `buf` is writable.
    /// #         let n = unsafe {
    /// #             bindings::kernel_read(file, buf.as_mut_ptr().cast(), buf.len(), &mut pos)
    /// #         };
    /// #         usize::try_from(n).map_err(|_| Error::from_errno(n as i32))
    /// #     })?
    /// # }
    /// # fn write(path: &CStr, data: &[u8]) -> Result {
    /// #     with_file(path, bindings::O_WRONLY, |file| {
    /// #         let (mut pos, mut done) = (0, 0);
    /// #         while done < data.len() {
    /// #             let rest = &data[done..];
    /// #             // SAFETY: `file` is open and `rest` is readable.
    /// #             let n = unsafe {
    /// #                 bindings::kernel_write(file, rest.as_ptr().cast(), rest.len(), &mut pos)
    /// #             };
    /// #             done += usize::try_from(n).map_err(|_| Error::from_errno(n as i32))?;
    /// #         }
    /// #         Ok(())
    /// #     })?
    /// # }
    /// # let mut buf = [0u8; 64];
    /// # let n = read(c_str!("kernel/rust_sysfs_doctest_bin/stats/hits"), &mut buf)?;
    /// # assert_eq!(&buf[..n], b"3\n");
    /// # let n = read(c_str!("kernel/rust_sysfs_doctest_bin/history"), &mut buf)?;
    /// # assert_eq!(&buf[..n], HISTORY);
    /// # // A write bigger than a page arrives in chunks.
    /// # let big = [b'x'; 5000];
    /// # write(c_str!("kernel/rust_sysfs_doctest_bin/playlist"), &big)?;
    /// # assert_eq!(dir.data().received.load(Ordering::Relaxed), 5000);
    /// # let n = read(c_str!("kernel/rust_sysfs_doctest_bin/received"), &mut buf)?;
    /// # assert_eq!(&buf[..n], b"5000\n");
    /// # // The subdirectory has only its own files.
    /// # let n = read(c_str!("kernel/rust_sysfs_doctest_bin/stats/history"), &mut buf);
    /// # assert_eq!(n, Err(ENOENT));
    /// drop(dir);
    /// # assert_eq!(read(c_str!("kernel/rust_sysfs_doctest_bin/history"), &mut buf), Err(ENOENT));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn builder(name: &CStr) -> DirBuilder<'_, T>
    where
        T: 'static,
    {
        DirBuilder {
            name,
            attrs: &[],
            bin_attrs: &[],
            groups: &[],
        }
    }

    fn new(parent: *mut bindings::kobject, data: T, files: DirBuilder<'_, T>) -> Result<Self> {
        let groups = Groups::new(&files)?;
        let inner = KBox::new(
            Inner {
                kobj: Opaque::uninit(),
                ktype: Inner::<T>::KTYPE,
                groups,
                data,
            },
            flags::GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is a valid allocation we own; nothing refers to
        // its type yet. The lists do not move with the box: they are in the
        // vectors' buffers.
        let ktype = unsafe {
            (*inner).ktype.default_groups = (*inner).groups.list.as_mut_ptr();
            core::ptr::addr_of!((*inner).ktype)
        };
        // SAFETY: `inner` is a valid allocation we own.
        let kobj = unsafe { Opaque::raw_get(core::ptr::addr_of!((*inner).kobj)) };
        // SAFETY: `kobj` is valid for writes; `kobject_init` needs it zeroed.
        unsafe { core::ptr::write_bytes(kobj, 0, 1) };
        // SAFETY: `kobj` is zeroed; `ktype` lives as long as the kobject (it
        // is freed by its release function) and its default groups are
        // NULL-terminated lists of `'static` attributes of this `T`;
        // `parent` is a live kobject or null, and the format takes exactly
        // one string argument. Adding the kobject creates the files.
        let ret = unsafe {
            bindings::kobject_init_and_add(
                kobj,
                ktype,
                parent,
                crate::c_str!("%s").as_char_ptr(),
                files.name.as_char_ptr(),
            )
        };
        if ret != 0 {
            // SAFETY: The kobject was initialised, so its reference count owns
            // `inner` now; dropping the reference frees it, as
            // `kobject_init_and_add` requires on failure.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // The directory is complete: tell user space. As for C callers, a
        // uevent that cannot be sent is no reason to fail; the kobject core
        // sends none for a directory that is in no kset, itself or through
        // its parents (`/sys/kernel/` is not).
        // SAFETY: `kobj` was added to sysfs.
        let _ = unsafe { bindings::kobject_uevent(kobj, bindings::kobject_action_KOBJ_ADD) };
        // INVARIANT: `inner` was added to sysfs and we hold its one reference.
        Ok(Self {
            // SAFETY: `inner` came from `KBox::into_raw`, so it is not null.
            inner: unsafe { NonNull::new_unchecked(inner) },
            _p: PhantomData,
        })
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
