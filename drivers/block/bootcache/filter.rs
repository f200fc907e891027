// SPDX-License-Identifier: GPL-2.0

//! What happens to each bio submitted to a cached disk: the entry point.
//!
//! A read whose every sector is in the cache is served from it and ended
//! here; a read whose sectors read-ahead is still bringing is parked on its
//! disk until they arrive (or its wait runs out), and if read-ahead has not
//! issued some of them yet, the disk's demand work has them read next (see
//! [`crate::readahead`]); any other read goes to the disk. A write
//! invalidates the sectors it overlaps, then goes to the disk. Every bio is
//! counted, and recorded in the history while recording; the time spent here
//! is counted in `stats/cpu_ns`, up to the point where the bios it served or
//! released are ended or passed on (their owners' work, not bootcache's).
//!
//! A hit is decided, and its sectors consumed, under the disk's lock; the
//! data of the pages it empties is copied into the bio after the lock is
//! dropped, so that a large read does not hold the lock for its whole copy.

use crate::cache::{CachePage, DiskCache, ReadDecision, Served, PAGE, SECTOR};
use crate::compat;
use crate::disk::{Disk, Parked, Settled};
use crate::format::{self, Entry};
use crate::readahead::CachedPage;
use crate::session::Reason;
use crate::stats::CpuTime;
use core::sync::atomic::Ordering;
use kernel::alloc::flags::__GFP_NOWARN;
use kernel::block::bio::{Bio, BioRef, DataWriter, Op};
use kernel::block::filter::{Filter, Gone, Verdict};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The filter on a cached disk, whose private data is the disk.
pub(crate) struct DiskFilter;

#[vtable]
impl Filter for DiskFilter {
    type Data = Arc<Disk>;

    fn submit_bio(disk: ArcBorrow<'_, Disk>, bio: Bio) -> Verdict {
        let cpu = CpuTime::start(&disk.session.stats);
        let mut after = Settled::default();
        let mut reached = false;
        let verdict = submit(disk, bio, &mut after, &mut reached);
        if reached {
            // The paced walk may go on: from a work item, as for a
            // parked read (see below).
            Disk::kick_demand(disk.into());
        }
        // Not bootcache's own work: ending a served read runs its owner's
        // completion, and passing parked reads on may sleep for a place in
        // the device's queue.
        drop(cpu);
        after.finish();
        verdict
    }

    fn missed_bio(disk: ArcBorrow<'_, Disk>, bio: &BioRef) {
        let _cpu = CpuTime::start(&disk.session.stats);
        missed(&disk, bio);
    }

    fn gone(disk: ArcBorrow<'_, Disk>, why: Gone) {
        disk.shut_down();
        disk.session.request_jettison(match why {
            Gone::MediaChanged => Reason::MediumChanged,
            _ => Reason::DiskGone,
        });
    }
}

/// A bio submitted to a cached disk: see the module's documentation. The
/// bios to end or pass on once the filter's work is done go to `after`;
/// `reached` is set when the read lets a paced walk go on.
fn submit(
    disk: ArcBorrow<'_, Disk>,
    mut bio: Bio,
    after: &mut Settled,
    reached: &mut bool,
) -> Verdict {
    let stats = &disk.session.stats;
    let op = bio.op();
    let start = bio.sector() * 512;
    let len = u64::from(bio.size());
    if op.is_write() {
        stats.writes.fetch_add(1, Ordering::Relaxed);
        disk.record(&bio, format::ENTRY_WRITE);
        if len > 0 {
            let nowait = bio.is_nowait();
            let mut inner = disk.inner.lock();
            let lost = inner.cache.invalidate(start, len);
            stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
            // Parked reads of those blocks now go to the disk, but not
            // from a submitter that must not sleep: for it the releaser
            // passes them at its next visit.
            if !nowait {
                *after = disk.settle(&mut inner);
            }
        }
        return Verdict::Pass(bio);
    }
    if op != Op::Read || len == 0 || bio.has_crypt_or_integrity() {
        return Verdict::Pass(bio);
    }
    // Room for the pages a hit of more than a few pages empties, made
    // before the lock is taken and without waiting (the submitter may
    // hold a file system's locks): without it the hit is copied under
    // the lock.
    let mut released = KVVec::new();
    if len > 2 * PAGE {
        let _ = released.reserve(len.div_ceil(PAGE) as usize + 1, GFP_NOWAIT | __GFP_NOWARN);
    }
    let mut inner = disk.inner.lock();
    let decision = if inner.stopped {
        ReadDecision::Miss
    } else {
        *reached = inner.reach(start, len);
        inner.cache.classify_read(start, len)
    };
    if decision == ReadDecision::Hit {
        if let Some(rehit) = serve(&mut inner.cache, &mut bio, start, len, &mut released) {
            drop(inner);
            copy_released(&mut bio, released);
            disk.count_hit(&bio, 0, rehit, disk.session.now_ns(), current_pid());
            after.end_later(bio);
            return Verdict::Consumed;
        }
    }
    match decision {
        ReadDecision::Wait if !bio.is_nowait() && disk.session.wait_limit_ns > 0 => {
            if inner.parked.reserve(1, GFP_ATOMIC).is_err() {
                // No memory to park it: to the disk it goes.
                drop(inner);
                disk.count_miss(&bio, disk.session.now_ns(), current_pid());
                return Verdict::Pass(bio);
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
            // Read-ahead fetches what it waits for next (a demand
            // read), unless it is issued already. The read is issued by
            // a work item, not here: the submitter may hold a file
            // system's locks, and read-ahead allocates its pages with
            // GFP_KERNEL and may sleep to submit.
            let demand = inner.cache.has_expected(start, len);
            drop(inner);
            if demand {
                Disk::kick_demand(disk.into());
            }
            Verdict::Consumed
        }
        _ => {
            let held = if inner.stopped {
                0
            } else {
                inner.cache.servable_bytes(start, len)
            };
            drop(inner);
            stats.partial_miss_bytes.fetch_add(held, Ordering::Relaxed);
            disk.count_miss(&bio, disk.session.now_ns(), current_pid());
            Verdict::Pass(bio)
        }
    }
}

/// A bio a filter was told of: see [`Filter::missed_bio`].
fn missed(disk: &Disk, bio: &BioRef) {
    // A write on its way to the disk, which read-ahead may have read
    // around: its blocks can never be served. It may be one from before
    // the attach, or one a filter saw already (this one, then nothing
    // is left to forget, or the last session's, held by blk-throttle
    // across a jettison and a start): only the first is counted. Parked
    // reads of them are the releaser's to pass (no I/O may be submitted
    // here).
    let len = u64::from(bio.size());
    if !bio.op().is_write() || len == 0 {
        return;
    }
    let lost = disk
        .inner
        .lock()
        .cache
        .invalidate(bio.sector() * SECTOR, len);
    let stats = &disk.session.stats;
    if !bio.was_filtered() {
        stats.writes.fetch_add(1, Ordering::Relaxed);
    }
    stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
}

/// A page a hit emptied, and the piece of the read it holds: `len` bytes at
/// `offset` in the page, for the bytes at `at` in the read.
pub(crate) struct Released {
    at: u64,
    offset: usize,
    len: usize,
    page: CachedPage,
}

/// Serves a hit into `bio`, under the disk's lock: consumes its sectors and
/// copies the data of the pages the cache keeps; the pages the hit empties
/// go to `released`, as far as it has room (a push never allocates), for
/// [`copy_released`] once the lock is dropped, and are copied now beyond
/// that. Returns the bytes served that had been served before, or `None` if
/// it was not a hit.
pub(crate) fn serve(
    cache: &mut DiskCache<CachedPage>,
    bio: &mut Bio,
    start: u64,
    len: u64,
    released: &mut KVVec<Released>,
) -> Option<u64> {
    let mut writer = bio.data_writer();
    let mut pos = 0;
    cache.serve_pages(start, len, |at, offset, len, page| match page {
        Served::Kept(page) => copy_piece(&mut writer, &mut pos, at, page, offset, len),
        Served::Released(page) => {
            let piece = Released {
                at,
                offset,
                len,
                page,
            };
            if let Err(piece) = compat::push_within(released, piece) {
                copy_piece(&mut writer, &mut pos, at, &piece.page, offset, len);
            }
        }
    })
}

/// Copies the pages a hit released into `bio`, and frees them. Runs after
/// the disk's lock is dropped: the pages are the bio's alone now.
fn copy_released(bio: &mut Bio, released: KVVec<Released>) {
    let mut writer = bio.data_writer();
    let mut pos = 0;
    for piece in released {
        copy_piece(
            &mut writer,
            &mut pos,
            piece.at,
            &piece.page,
            piece.offset,
            piece.len,
        );
    }
}

/// Copies `len` bytes at `offset` in `page` to the bytes at `at` in the bio
/// `writer` fills; `pos` is where `writer` is, and pieces come in order.
fn copy_piece(
    writer: &mut DataWriter<'_>,
    pos: &mut u64,
    at: u64,
    page: &CachedPage,
    offset: usize,
    len: usize,
) {
    writer.skip(at.saturating_sub(*pos) as usize);
    writer.write_with(len, |done, segment| page.read(offset + done, segment));
    *pos = at + len as u64;
}

fn current_pid() -> u32 {
    kernel::current!().pid() as u32
}

/// How each bio is counted, and recorded in the history.
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
    /// history flags, such as waited; `rehit`: its bytes that had been
    /// served before), submitted by `pid` at `at`.
    pub(crate) fn count_hit(&self, bio: &Bio, extra: u16, rehit: u64, at: u64, pid: u32) {
        let stats = &self.session.stats;
        stats.hits.fetch_add(1, Ordering::Relaxed);
        stats.rehit_bytes.fetch_add(rehit, Ordering::Relaxed);
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
