// SPDX-License-Identifier: GPL-2.0

//! What happens to each bio submitted to a cached disk: the entry point.
//!
//! A read whose every sector is in the cache is served from it and ended
//! here; a read whose sectors read-ahead is still bringing is parked on its
//! disk until they arrive (or its wait runs out); any other read goes to the
//! disk. A write invalidates the sectors it overlaps, then goes to the disk.
//! Every bio is counted, and recorded in the history while recording.

use crate::cache::{DiskCache, ReadDecision, SECTOR};
use crate::disk::{Disk, Parked, Settled};
use crate::format::{self, Entry};
use crate::readahead::CachedPage;
use crate::session::Reason;
use core::sync::atomic::Ordering;
use kernel::block::bio::{Bio, BioRef, Op};
use kernel::block::filter::{Filter, Gone};
use kernel::prelude::*;
use kernel::sync::Arc;

impl Disk {
    pub(crate) fn record(&self, bio: &Bio, flags: u16) {
        self.record_at(bio, flags, self.session.now_ns(), current_pid());
    }

    /// Records a bio that `pid` submitted at `timestamp_ns`. Bios without
    /// data (an empty flush) are not recorded.
    fn record_at(&self, bio: &Bio, flags: u16, timestamp_ns: u64, pid: u32) {
        let rec = &self.session.recorder;
        if bio.size() == 0 {
            return;
        }
        if !rec.is_recording() {
            return;
        }
        let Some(part) = self.part_of(bio) else {
            return;
        };
        let start = bio.sector() * 512;
        let entry = Entry {
            offset: start.saturating_sub(part.start),
            length: u64::from(bio.size()),
            timestamp_ns,
            pid,
            flags,
            volume: part.volume,
        };
        if rec.record(&entry) {
            self.session
                .stats
                .history_events
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.session
                .stats
                .history_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts and records a read served from the cache (`extra`: more
    /// history flags, such as waited), submitted by `pid` at `at`.
    pub(crate) fn count_hit(&self, bio: &Bio, extra: u16, at: u64, pid: u32) {
        let stats = &self.session.stats;
        stats.hits.fetch_add(1, Ordering::Relaxed);
        stats
            .hit_bytes
            .fetch_add(u64::from(bio.size()), Ordering::Relaxed);
        self.session.misses_since_hit.store(0, Ordering::Relaxed);
        self.record_at(bio, format::ENTRY_HIT | extra, at, pid);
    }

    /// Counts and records a read sent to the disk, submitted by `pid` at
    /// `at`, towards the miss limit too.
    pub(crate) fn count_miss(&self, bio: &Bio, at: u64, pid: u32) {
        let stats = &self.session.stats;
        stats.misses.fetch_add(1, Ordering::Relaxed);
        stats
            .miss_bytes
            .fetch_add(u64::from(bio.size()), Ordering::Relaxed);
        self.record_at(bio, 0, at, pid);
        self.note_miss();
    }

    fn note_miss(&self) {
        let session = &self.session;
        if session.count_misses.load(Ordering::Relaxed)
            && session.misses_since_hit.fetch_add(1, Ordering::Relaxed) + 1 >= session.miss_limit
        {
            session.request_jettison(Reason::Misses);
        }
    }
}

fn current_pid() -> u32 {
    kernel::current!().pid() as u32
}

/// Copies a hit into the bio. Returns `false` if it was not a hit.
pub(crate) fn serve(
    cache: &mut DiskCache<CachedPage>,
    bio: &mut Bio,
    start: u64,
    len: u64,
) -> bool {
    let mut writer = bio.data_writer();
    cache.serve(start, len, |_, data| {
        writer.write(data);
    })
}

/// The filter on a cached disk.
pub(crate) struct DiskFilter {
    pub(crate) disk: Arc<Disk>,
}

impl Filter for DiskFilter {
    fn submit_bio(&self, mut bio: Bio) -> Option<Bio> {
        let disk = &self.disk;
        let stats = &disk.session.stats;
        let op = bio.op();
        let start = bio.sector() * 512;
        let len = u64::from(bio.size());
        if op.is_write() {
            stats.writes.fetch_add(1, Ordering::Relaxed);
            disk.record(&bio, format::ENTRY_WRITE);
            if len > 0 {
                let nowait = bio.is_nowait();
                let settled = {
                    let mut inner = disk.inner.lock();
                    let lost = inner.cache.invalidate(start, len);
                    stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
                    // Parked reads of those blocks now go to the disk, but
                    // not from a submitter that must not sleep: for it the
                    // releaser passes them at its next visit.
                    if nowait {
                        Settled::default()
                    } else {
                        disk.settle(&mut inner)
                    }
                };
                settled.finish();
            }
            return Some(bio);
        }
        if op != Op::Read || len == 0 || bio.has_crypt_or_integrity() {
            return Some(bio);
        }
        let mut inner = disk.inner.lock();
        let decision = if inner.stopped {
            ReadDecision::Miss
        } else {
            inner.cache.classify_read(start, len)
        };
        match decision {
            ReadDecision::Hit if serve(&mut inner.cache, &mut bio, start, len) => {
                drop(inner);
                disk.count_hit(&bio, 0, disk.session.now_ns(), current_pid());
                bio.end(Ok(()));
                None
            }
            ReadDecision::Wait if !bio.is_nowait() && disk.session.wait_limit_ns > 0 => {
                if inner.parked.reserve(1, GFP_ATOMIC).is_err() {
                    // No memory to park it: to the disk it goes.
                    drop(inner);
                    disk.count_miss(&bio, disk.session.now_ns(), current_pid());
                    return Some(bio);
                }
                // Recorded when it is served or passed on.
                let since_ns = disk.session.now_ns();
                // Room is reserved: this push cannot fail.
                let _ = inner.parked.push(
                    Parked {
                        bio,
                        start,
                        len,
                        since_ns,
                        pid: current_pid(),
                    },
                    GFP_ATOMIC,
                );
                stats.parked.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                drop(inner);
                disk.count_miss(&bio, disk.session.now_ns(), current_pid());
                Some(bio)
            }
        }
    }

    fn missed_bio(&self, bio: &BioRef) {
        // A write from before the attach, which read-ahead may have read
        // around: its blocks can never be served. Parked reads of them are
        // the releaser's to pass (no I/O may be submitted here).
        let len = u64::from(bio.size());
        if !bio.op().is_write() || len == 0 {
            return;
        }
        let disk = &self.disk;
        let lost = disk
            .inner
            .lock()
            .cache
            .invalidate(bio.sector() * SECTOR, len);
        let stats = &disk.session.stats;
        stats.writes.fetch_add(1, Ordering::Relaxed);
        stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
    }

    fn gone(&self, why: Gone) {
        self.disk.shut_down();
        self.disk.session.request_jettison(match why {
            Gone::MediaChanged => Reason::MediumChanged,
            _ => Reason::DiskGone,
        });
    }
}
