// SPDX-License-Identifier: GPL-2.0

//! How bootcache starts at boot.

// Shared with the host's tests, so its items are `pub` for the host's sake.
#[allow(dead_code, unreachable_pub)]
pub(crate) mod param;
