// SPDX-License-Identifier: GPL-2.0

//! The allocation the pure modules (`cache`) use, in the kernel.
//!
//! The host tests (`tools/bootcache/tests/engine.rs`) provide the same names
//! over `std`, so that the pure modules compile unchanged on both sides.

use kernel::alloc::{
    flags::{GFP_ATOMIC, GFP_KERNEL},
    KVVec,
};

pub(crate) use kernel::alloc::AllocError;

/// A vector. The sizes the format allows (a history of 2^20 events, the
/// sector states of a 1 GiB extent) are too large for `kmalloc`: these
/// vectors fall back to `vmalloc`.
pub(crate) type Vec<T> = KVVec<T>;

/// Makes an empty vector with room for `n` elements.
pub(crate) fn with_capacity<T>(n: usize) -> Result<Vec<T>, AllocError> {
    KVVec::with_capacity(n, GFP_KERNEL)
}

/// Appends `x`.
pub(crate) fn push<T>(v: &mut Vec<T>, x: T) -> Result<(), AllocError> {
    v.push(x, GFP_KERNEL)
}

/// Inserts `x` at `i` (at most `v.len()`), shifting the rest up.
pub(crate) fn insert<T>(v: &mut Vec<T>, i: usize, x: T) -> Result<(), AllocError> {
    v.push(x, GFP_KERNEL)?;
    if let Some(tail) = v.get_mut(i..) {
        tail.rotate_right(1);
    }
    Ok(())
}

/// Appends `x` if there is room for it, and never allocates (so it may be
/// called under a spin lock). Gives `x` back if there is no room.
pub(crate) fn push_within<T>(v: &mut Vec<T>, x: T) -> Result<(), T> {
    if v.len() >= v.capacity() {
        return Err(x);
    }
    // There is room: this does not allocate, so it cannot fail.
    let _ = v.push(x, GFP_ATOMIC);
    Ok(())
}
