// SPDX-License-Identifier: GPL-2.0

//! The statistics under `/sys/kernel/bootcache/stats/`, one 64-bit counter
//! per file.

use crate::session::Control;
use crate::sysfs::emit;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::c_str;
use kernel::sync::Arc;
use kernel::sysfs::Attribute;

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// The counters of one session; a `start` makes new ones.
        #[derive(Default)]
        pub(crate) struct Stats {
            $($(#[doc = $doc])* pub(crate) $name: AtomicU64,)*
        }

        /// The files of the `stats` group: one read-only file per counter.
        pub(crate) static FILES: [Attribute<Arc<Control>>; [$(stringify!($name)),*].len()] = [
            $(Attribute::new_ro(
                c_str!(stringify!($name)),
                0o444,
                |control, buf| emit(buf, control.stats().$name.load(Ordering::Relaxed)),
            ),)*
        ];
    };
}

stats! {
    /// Bytes the playlist asked for, on volumes that were found.
    playlist_bytes,
    /// Playlists appended to the one in use while caching.
    playlist_appends,
    /// Playlist bytes on volumes that are not there (yet).
    missing_volume_bytes,
    /// Playlist bytes left out to keep the cache within `cache_limit_bytes`.
    capped_bytes,
    /// The most the cache may hold: half of RAM.
    cache_limit_bytes,
    /// Read-ahead bios issued.
    readahead_bios,
    /// Bytes read ahead into the cache.
    readahead_bytes,
    /// Read-ahead bios that failed (their blocks went Invalid).
    readahead_errors,
    /// Read bios served from the cache.
    hits,
    /// Bytes served from the cache.
    hit_bytes,
    /// Read bios sent to the disk.
    misses,
    /// Bytes of read bios sent to the disk.
    miss_bytes,
    /// Read bios parked until read-ahead brought their data.
    parked,
    /// Parked bios served once their data arrived.
    parked_hits,
    /// Parked bios sent to the disk when the wait limit ran out.
    parked_timeouts,
    /// Parked bios sent to the disk for another reason (write, jettison).
    parked_passed,
    /// Nanoseconds parked bios spent waiting, in all.
    parked_wait_ns,
    /// Write bios (and other data-changing bios) seen.
    writes,
    /// Cached bytes a write made Invalid.
    invalidated_bytes,
    /// History events recorded.
    history_events,
    /// History events dropped because the log was full.
    history_dropped,
    /// Bytes of cache pages held now (counted by the pages themselves).
    cache_bytes,
    /// The most bytes of cache pages held at once.
    cache_peak_bytes,
    /// Jettisons: by command.
    jettison_command,
    /// Jettisons: by the miss limit.
    jettison_misses,
    /// Jettisons: by memory pressure (the shrinker).
    jettison_memory,
    /// Jettisons: a disk went away.
    jettison_disk_gone,
    /// Bytes served from sectors that had been served before (keep
    /// extents): what keeping them bought.
    rehit_bytes,
    /// Demand read-aheads issued: reads of what a parked bio waits for,
    /// ahead of the walk.
    demand_bios,
    /// Bytes of reads sent to the disk whose sectors the cache held
    /// (`Present` or `Kept`): what serving partial hits could have saved.
    partial_miss_bytes,
    /// Nanoseconds of CPU spent in the filter (`submit_bio`, `missed_bio`),
    /// in read-ahead completions and in choosing read-aheads and allocating
    /// their pages; not in submitting them, which may sleep for a place in
    /// the device's queue. See [`CpuTime`].
    cpu_ns,
    /// The longest of the sections `cpu_ns` adds up, in nanoseconds: one
    /// far above the others was charged for something else as well (see
    /// [`CpuTime`]).
    cpu_max_ns,
}

/// Adds the CPU time bootcache spends in one of its entry points, from its
/// start to its drop, to `cpu_ns` (and keeps the longest in `cpu_max_ns`).
///
/// Every entry point runs in process context: the filter in the submitter's,
/// read-ahead's choice, allocations and completions in work items. A
/// section there may be preempted, or sleep to allocate, so the figure is
/// not a clock's (which would count the time other tasks ran meanwhile)
/// but the current task's CPU time, the scheduler's own account. That
/// account also charges the running task for interrupts that arrive (unless
/// `CONFIG_IRQ_TIME_ACCOUNTING` is set) and, in a virtual machine with no
/// steal time accounting (an emulator's), for time its virtual CPU did not
/// run; `cpu_max_ns`, the longest section, shows when one section took such
/// a charge.
pub(crate) struct CpuTime<'a> {
    stats: &'a Stats,
    /// The current task's CPU time at the start, in nanoseconds.
    start: u64,
}

impl<'a> CpuTime<'a> {
    /// Starts counting.
    pub(crate) fn start(stats: &'a Stats) -> Self {
        Self {
            stats,
            start: kernel::current!().sched_runtime(),
        }
    }
}

impl Drop for CpuTime<'_> {
    fn drop(&mut self) {
        // The same task: a section does not change the task it runs in.
        let ns = kernel::current!()
            .sched_runtime()
            .saturating_sub(self.start);
        self.stats.cpu_ns.fetch_add(ns, Ordering::Relaxed);
        self.stats.cpu_max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}
