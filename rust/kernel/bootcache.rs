// SPDX-License-Identifier: GPL-2.0

//! The bootcache playlist built into the kernel image.
//!
//! `CONFIG_BOOTCACHE_PLAYLIST` names a playlist file that the build puts in
//! the kernel image (`drivers/block/bootcache/playlist_blob.S`), in the
//! section `.init.bootcache_playlist`. The linker script places that section
//! in the init data, between `__bootcache_playlist_start` and
//! `__bootcache_playlist_end`; with the option empty the two are equal.
//!
//! Being init data, the bytes are freed by `free_initmem()` once the
//! initcalls have run. So this module never hands out a reference to them:
//! [`copy_embedded_playlist`] copies them into a vector the caller owns, and
//! only where the copy is certain to finish before they are freed, that is
//! in an initcall, such as a built-in module's `init`. The bytes are not
//! checked: they are what the file held at build time.
//!
//! C header: [`include/linux/bootcache.h`](srctree/include/linux/bootcache.h)
//!
//! # Examples
//!
//! ```
//! use kernel::bootcache;
//!
//! let len = bootcache::embedded_playlist_len();
//! let copy: Result<Option<KVVec<u8>>> = bootcache::copy_embedded_playlist(GFP_KERNEL);
//! match copy {
//!     Ok(None) => assert_eq!(len, 0),
//!     Ok(Some(bytes)) => assert_eq!(bytes.len(), len),
//!     // KUnit runs each doctest in a thread of its own, not in an
//!     // initcall: there is a playlist, but it cannot be read from here.
//!     Err(e) => {
//!         assert!(len > 0);
//!         assert_eq!(e, EPERM);
//!     }
//! }
//! ```

use crate::{
    alloc::{Allocator, Flags, Vec},
    bindings,
    error::{code::EPERM, Result},
};

/// Returns the size in bytes of the playlist built into the kernel image, or
/// 0 if there is none.
///
/// The size stays known after the bytes themselves are freed.
pub fn embedded_playlist_len() -> usize {
    // SAFETY: The helper subtracts the addresses of two symbols that the
    // linker script defines; it reads no memory.
    unsafe { bindings::bootcache_playlist_len() }
}

/// Copies the playlist built into the kernel image into a new vector.
///
/// Returns `Ok(None)` if no playlist is built in, and the bytes otherwise.
/// Use [`KVVec`](crate::alloc::KVVec) for playlists larger than a few pages.
///
/// # Errors
///
/// - [`EPERM`] if the bytes cannot be read from here: the caller is not an
///   initcall run by `kernel_init()` (it is a work item, a kernel thread, a
///   sysfs handler and so on), or the init memory is being or has been freed.
///   Only while `kernel_init()` runs the initcalls is it sure that the bytes
///   outlive the copy. Nothing is allocated in that case.
/// - `ENOMEM` if the vector cannot be allocated.
pub fn copy_embedded_playlist<A: Allocator>(flags: Flags) -> Result<Option<Vec<u8, A>>> {
    let len = embedded_playlist_len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: The helper reads `current` and `system_state`; it is always
    // safe to call.
    if !unsafe { bindings::bootcache_playlist_readable() } {
        return Err(EPERM);
    }
    let mut bytes = Vec::<u8, A>::with_capacity(len, flags)?;
    // SAFETY: `bytes` has room for at least `len` bytes at `as_mut_ptr()`.
    // The helper checks again that it runs in `kernel_init()` before the init
    // memory is freed, so that the playlist's `len` bytes stay mapped during
    // the copy, and copies nothing otherwise.
    if !unsafe { bindings::bootcache_playlist_copy(bytes.as_mut_ptr().cast(), len) } {
        return Err(EPERM);
    }
    // SAFETY: The helper initialised the first `len` bytes, and `len` is at
    // most the capacity.
    unsafe { bytes.set_len(len) };
    Ok(Some(bytes))
}
