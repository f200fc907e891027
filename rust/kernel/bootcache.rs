// SPDX-License-Identifier: GPL-2.0

//! Safe calls into the bootcache driver's C glue for the playlist built into
//! the kernel image (`drivers/block/bootcache/embedded.c`).
//!
//! The driver uses no `unsafe`; these two functions are the whole of its
//! foreign interface. The rules (which bytes, when they may be read) are the
//! C glue's.
//!
//! C header: [`include/linux/bootcache.h`](srctree/include/linux/bootcache.h)
//!
//! # Examples
//!
//! ```
//! use kernel::bootcache;
//!
//! let len = bootcache::embedded_playlist_len();
//! let mut bytes = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
//! match bootcache::copy_embedded_playlist(&mut bytes) {
//!     // Nothing is built in: there is nothing to copy.
//!     Ok(()) if len == 0 => assert!(bytes.is_empty()),
//!     Ok(()) => assert_eq!(bytes.len(), len),
//!     // KUnit runs each doctest in a thread of its own, not in an
//!     // initcall: there is a playlist, but it cannot be read from here.
//!     Err(e) => {
//!         assert!(len > 0);
//!         assert_eq!(e, EPERM);
//!     }
//! }
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{code::*, Result},
};

/// Returns the size in bytes of the playlist built into the kernel image, or
/// 0 if there is none.
pub fn embedded_playlist_len() -> usize {
    // SAFETY: The glue subtracts the addresses of two symbols that the linker
    // script defines; it reads no memory.
    unsafe { bindings::bootcache_playlist_len() }
}

/// Copies the playlist built into the kernel image into `dst`, which must be
/// exactly [`embedded_playlist_len`] bytes long.
///
/// # Errors
///
/// - `EINVAL` if `dst` is not as long as the playlist.
/// - `EPERM` if the bytes cannot be read from here: the caller is not an
///   initcall run by `kernel_init()`, or the init memory that holds them is
///   being or has been freed. Nothing is written then.
pub fn copy_embedded_playlist(dst: &mut [u8]) -> Result {
    if dst.len() != embedded_playlist_len() {
        return Err(EINVAL);
    }
    if dst.is_empty() {
        return Ok(());
    }
    // SAFETY: `dst` is valid for writes of `dst.len()` bytes, and the glue
    // writes no more than that: it copies only if `dst.len()` is the size of
    // the playlist, and only while the playlist's init memory cannot be
    // freed.
    if unsafe { bindings::bootcache_playlist_copy(dst.as_mut_ptr().cast(), dst.len()) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}
