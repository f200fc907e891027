// SPDX-License-Identifier: GPL-2.0

//! How much memory the system has.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//!
//! # Examples
//!
//! ```
//! let ram = kernel::meminfo::total_ram_bytes();
//! assert!(ram > 0);
//! assert_eq!(ram % kernel::page::PAGE_SIZE as u64, 0);
//! ```

use crate::{bindings, page::PAGE_SIZE};

/// Returns the RAM the kernel manages, in bytes (`totalram_pages()`): what
/// is left after the kernel image and early reservations.
pub fn total_ram_bytes() -> u64 {
    // SAFETY: `totalram_pages()` reads an atomic counter; it is always safe to
    // call.
    let pages = unsafe { bindings::totalram_pages() };
    (pages as u64).saturating_mul(PAGE_SIZE as u64)
}
