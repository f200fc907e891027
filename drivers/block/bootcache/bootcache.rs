// SPDX-License-Identifier: GPL-2.0

//! bootcache: a boot-time block read-ahead cache.
//!
//! At boot, bootcache reads a list of disk extents (the playlist) into memory
//! with large sequential reads, serves the boot's reads from that copy,
//! records what the boot really read so that the next playlist fits the next
//! boot, and takes itself out of the I/O path once it stops helping.
//!
//! This is the driver's skeleton: it creates `/sys/kernel/bootcache/` with a
//! read-only `version` file holding the playlist and history format version
//! from `include/uapi/linux/bootcache.h`.

// The engine's pure parts, shared with the host (`tools/bootcache` and its
// tests compile the same files), so their items are `pub` for the host's
// sake. The driver does not call them yet (the cache engine is being built
// on them), but it compiles them, so the kernel and the host always build
// the same code.
#[allow(dead_code, unreachable_pub)]
mod cache;
#[allow(dead_code, unreachable_pub)]
mod compat;
#[allow(dead_code, unreachable_pub)]
mod format;
#[allow(dead_code, unreachable_pub)]
mod history;

use core::fmt::Write;
use kernel::prelude::*;
use kernel::sysfs::{Attribute, Dir, ShowBuf};
use kernel::{c_str, uapi};

module! {
    type: BootCache,
    name: "bootcache",
    author: "The bootcache developers",
    description: "Boot-time block read-ahead cache",
    license: "GPL",
}

/// The state behind `/sys/kernel/bootcache/` (none yet).
struct Control;

fn show_version(_: &Control, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", uapi::BOOTCACHE_FORMAT_VERSION)?;
    Ok(())
}

// The format code and the uapi header agree on the version.
kernel::static_assert!(format::FORMAT_VERSION as u32 == uapi::BOOTCACHE_FORMAT_VERSION);

static ATTRS: [Attribute<Control>; 1] = [Attribute::new_ro(c_str!("version"), 0o444, show_version)];

struct BootCache {
    _sysfs: Dir<Control>,
}

impl kernel::Module for BootCache {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let sysfs = Dir::new_in_kernel(c_str!("bootcache"), Control, &ATTRS)?;
        pr_info!("format version {}\n", uapi::BOOTCACHE_FORMAT_VERSION);
        Ok(BootCache { _sysfs: sysfs })
    }
}
