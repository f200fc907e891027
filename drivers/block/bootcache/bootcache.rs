// SPDX-License-Identifier: GPL-2.0

//! bootcache: a boot-time block read-ahead cache.
//!
//! At boot, bootcache reads a list of disk extents (the playlist) into memory
//! with large sequential reads, serves the boot's reads from that copy,
//! records what the boot really read (the history) so that the next
//! playlist fits the next boot, and takes itself out of the I/O path once it
//! stops helping.
//!
//! It is driven through `/sys/kernel/bootcache/`: write a playlist to
//! `playlist`, then `start`, `tag`, `stop` and `jettison` to `control`; read
//! the history from `history`, and the figures from `stats/`. See
//! `Documentation/admin-guide/bootcache.rst`.
//!
//! The files, in the order a bio goes through them:
//!
//! - `filter.rs`: what happens to each bio submitted to a cached disk (the
//!   entry point): served, parked or passed to the disk.
//! - `disk.rs`: a cached disk's state, the bios parked on it, and its life in
//!   a session.
//! - `readahead.rs`: the pump that reads extents ahead, and its completions.
//! - `cache.rs`: the state of every cached sector, and the pages.
//! - `history.rs`: the log of what the boot read and wrote.
//!
//! And beside them:
//!
//! - `session.rs`: start, append, stop and jettison, and the ticker.
//! - `plan.rs`: what a session caches, made from playlists.
//! - `volume.rs`: finding a playlist's volumes and opening their disks.
//! - `sysfs.rs`: the files under `/sys/kernel/bootcache/`.
//! - `boot.rs`: the `bootcache=` parameter and the playlist built into the
//!   kernel image.
//! - `stats.rs`: the counters under `stats/`.
//! - `format/`: the playlist and history formats, shared with the tool.

// `cache`, `compat`, `format`, `history` and `boot::param` are pure logic
// shared with the host (`tools/bootcache` and its tests compile the same
// files), so some of their items are `pub` for the host's sake, and some
// are used only there: the lints this expects say which.
mod boot;
#[expect(
    dead_code,
    unreachable_pub,
    reason = "shared with the host, which needs the items pub and uses some the kernel does not"
)]
mod cache;
mod compat;
mod disk;
mod filter;
#[expect(
    unreachable_pub,
    reason = "shared with the host, which needs the items pub"
)]
mod format;
#[expect(
    dead_code,
    unreachable_pub,
    reason = "shared with the host, which needs the items pub and uses some the kernel does not"
)]
mod history;
mod plan;
mod readahead;
mod session;
mod stats;
mod sysfs;
mod volume;

use boot::param::Mode;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sysfs::Dir;
use kernel::uapi;
use session::Control;

module! {
    type: BootCache,
    name: "bootcache",
    author: "The bootcache developers",
    description: "Boot-time block read-ahead cache",
    license: "GPL",
}

// The format code and the uapi header agree on the version.
kernel::static_assert!(format::FORMAT_VERSION as u32 == uapi::BOOTCACHE_FORMAT_VERSION);

struct BootCache {
    /// `None` with `bootcache=off`.
    _sysfs: Option<Dir<Arc<Control>>>,
}

impl kernel::Module for BootCache {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = boot::params();
        if params.mode == Mode::Off {
            pr_info!("off (bootcache=off)\n");
            return Ok(BootCache { _sysfs: None });
        }
        let control = Control::new(params.mode, boot::embedded_playlist_len())?;
        if let Some(ms) = params.wait_ms {
            control.tunables.wait_limit_ms.store(ms, Ordering::Relaxed);
        }
        let sysfs = sysfs::create(&control)?;
        pr_info!("format version {}\n", uapi::BOOTCACHE_FORMAT_VERSION);
        match params.mode {
            Mode::Record => {
                if let Err(e) = control.record(true, boot::record_volume(&params)) {
                    pr_err!("bootcache=record: cannot start: {:?}\n", e);
                }
            }
            Mode::Auto => control.autostart_embedded(params.record),
            Mode::Default if control.embedded > 0 => control.autostart_embedded(params.record),
            _ => {}
        }
        Ok(BootCache {
            _sysfs: Some(sysfs),
        })
    }
}
