// SPDX-License-Identifier: GPL-2.0

//! Read-ahead: the pump that reads a disk's extents into the cache, and the
//! completions that file what it read.
//!
//! Read-ahead is driven by completions: [`Disk::pump`] keeps up to
//! `max_in_flight` large reads going, walking the extents in batch order
//! (low-priority extents last, and only when nothing else is in flight);
//! every completion (in process context) files its pages, serves or passes
//! the bios parked on them, and pumps again. So there is no thread to stop:
//! setting `stopped` ends the walk. A read-ahead's sectors are `Reading`
//! from its issue to its completion, so nothing is read ahead twice.
//!
//! A read that parks on sectors the walk has not issued yet goes first: the
//! filter queues the disk's demand work, and every pump (that work, and each
//! completion) first issues a *demand read-ahead* for the parked read that
//! has waited longest with sectors still `Expected`: the run of `Expected`
//! sectors around the page of its first such sector, up to a chunk, within
//! its extent. It goes forward first, then backward with what is left of
//! the chunk, for a reader that goes backward (the demo's live system reads
//! the tables at the end of its squashfs image mostly in descending order),
//! which on a drive that seeks would otherwise pay two seeks for each read.
//! Demand read-aheads may go [`DEMAND_EXTRA`] beyond `max_in_flight`; the
//! walk passes over what they fetched. They are issued from process
//! context, never from the submitter's: it may hold a file system's locks,
//! and read-ahead allocates pages and may sleep to submit.
//!
//! # What a miss waits for
//!
//! On a rotational disk read-ahead and the boot's own reads share one head.
//! The kext throttled the boot's reads while it read ahead; here the boot's
//! reads that miss go straight to the disk, and read-ahead keeps at most two
//! reads in flight on a rotational disk (four otherwise). What a miss (or a
//! demand read-ahead) then waits for depends on the disk's queue:
//!
//! - With an I/O scheduler that knows priorities (mq-deadline, the default
//!   of single-queue disks: SATA and SCSI disks, optical drives, MMC; BFQ),
//!   the walk's reads are of the idle class and the miss of the best-effort
//!   one: the scheduler dispatches it before every walk read still waiting
//!   in the scheduler. It waits only for the reads the device holds already:
//!   at most its queue depth of them, and never more than `max_in_flight`
//!   walk reads, each at most a chunk (`chunk`, up to 1 MiB), and for the
//!   demand read-aheads queued before it, which are of its class. An
//!   optical drive takes one command at a time: a miss waits for the chunk
//!   it holds, and while demand read-aheads and the chunks that follow
//!   them ([`FOLLOW_CHUNKS`]) go, for those queued before it: at most
//!   `max_in_flight + DEMAND_EXTRA` chunks in all. mq-deadline still
//!   dispatches an idle read that has waited `prio_aging_expire` (10 s),
//!   so the walk is never starved for good.
//! - With no scheduler (`none`: NVMe, multi-queue virtio) priorities are not
//!   looked at and requests go to the device in order: a miss waits behind
//!   at most `max_in_flight` walk reads of a chunk each, plus at most
//!   [`DEMAND_EXTRA`] demand read-aheads. Such devices have deep queues and
//!   serve the requests in parallel, so that wait is short.
//!
//! So on a slow single-queue device the bound is one chunk's transfer: on a
//! DVD (about 10 MB/s once positioned) a 1 MiB chunk is about 0.1 s, which
//! is of the order of the seek the miss pays anyway. A smaller chunk would
//! shorten that wait but cost the walk a seek per chunk, which is what a DVD
//! can least afford; a depth of one while misses are recent would not help
//! where the scheduler already puts misses first, and where there is no
//! scheduler the device is fast. Neither is done.
//!
//! # Pacing a drive that takes one command at a time
//!
//! Reads are not all the boot sends to a drive. Opening, closing and probing
//! an optical drive send it SCSI commands (TEST UNIT READY, GET
//! CONFIGURATION, READ TOC, medium locking) that no bio filter sees; the
//! block layer puts each ahead of the queued reads, but it still waits for
//! the command the drive is busy with. A live system's initramfs sends
//! dozens while it looks for its disc, so a walk that keeps the drive busy
//! with large reads holds the initramfs back until the whole playlist is
//! read. On a disk whose queue depth is 1 the walk is therefore paced
//! ([`cache::Pace`]): it reads the first batch at full speed, then a batch
//! at full speed only once the boot has read from it or, with a lead that
//! grows as the boot moves on, from an earlier one. Meanwhile it reads on
//! one [`HELD_CHUNK`] at a time, so that the drive is not idle while the
//! boot probes it, and each probe waits for a small command at most.

use crate::cache::{self, CachePage, DiskCache, PAGE, SECTOR};
use crate::compat;
use crate::disk::{Disk, DiskInner};
use crate::stats::{CpuTime, Stats};
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{__GFP_NORETRY, __GFP_NOWARN};
use kernel::block::bio::{self, IoPrio, ReadDone};
use kernel::page::Page;
use kernel::pr_warn_ratelimited;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A page of read-ahead data. It counts itself in `stats/cache_bytes` for
/// as long as it lives, so that figure is the memory the cache really holds.
pub(crate) struct CachedPage {
    page: Page,
    stats: Arc<Stats>,
}

impl CachedPage {
    fn new(page: Page, stats: &Arc<Stats>) -> Self {
        let held = stats.cache_bytes.fetch_add(PAGE, Ordering::Relaxed) + PAGE;
        stats.cache_peak_bytes.fetch_max(held, Ordering::Relaxed);
        Self {
            page,
            stats: stats.clone(),
        }
    }
}

impl Drop for CachedPage {
    fn drop(&mut self) {
        self.stats.cache_bytes.fetch_sub(PAGE, Ordering::Relaxed);
    }
}

impl CachePage for CachedPage {
    fn read(&self, offset: usize, dst: &mut [u8]) {
        // The cache only asks for ranges within the page.
        let _ = bio::read_page(&self.page, offset, dst);
    }
}

/// The read-ahead order of extents: batch by batch (low-priority extents
/// last), in disk order within a batch.
pub(crate) fn read_ahead_key(e: &cache::Extent<CachedPage>) -> (bool, u8, u64) {
    (e.low_priority, e.batch, e.start)
}

/// Fills `order`, which is empty with room for every extent of `cache`,
/// with their indices in read-ahead order. Allocates nothing.
pub(crate) fn sort_read_ahead(order: &mut KVVec<u32>, cache: &DiskCache<CachedPage>) {
    for index in 0..cache.extents().len() {
        if compat::push_within(order, index as u32).is_err() {
            // Cannot happen: the caller made room for every extent.
            break;
        }
    }
    let ext = cache.extents();
    order.sort_unstable_by_key(|&index| read_ahead_key(&ext[index as usize]));
}

/// How many demand read-aheads may go beyond `max_in_flight`.
///
/// A demand read-ahead fetches what a parked read waits for; it must not
/// wait for a walk's read to complete before it is even issued, so it may go
/// beyond the walk's depth, but not without bound: each costs up to a chunk
/// of memory (1 MiB at most) and a place in the device's queue, ahead of the
/// walk's idle-priority reads. Two let two readers that park at once (the
/// boot's reads come from a few processes at a time) each have their next
/// chunk in flight; a reader that needs more than a chunk gets the next one
/// as soon as one completes. So read-ahead never has more than
/// `max_in_flight + 2` reads (6 MiB of pages) in flight.
pub(crate) const DEMAND_EXTRA: u32 = 2;

/// How many chunks read-ahead reads, on a disk that takes one command at a
/// time, next to a demand read-ahead before the walk goes on.
///
/// A reader that waited reads on near where it waited (a file in order, a
/// file system's tables often backward), and on such a disk (an optical
/// drive) each return of the head to the walk costs a seek there and
/// another back: with one chunk per demand, a file the boot reads ahead of
/// the walk costs two seeks a chunk. So the chunks of the same extent that
/// follow the demand read-ahead, then those before it, are read next
/// ([`Follow`]). They are issued as demand read-aheads (at the boot's
/// priority, within [`DEMAND_EXTRA`]), so the scheduler sends them to the
/// drive before the walk's next read, one after the other; a new demand
/// read-ahead starts a new run. Three make the boot's reads in one place
/// four chunks (512 KiB on an ATAPI drive) before the head goes back to the
/// walk.
pub(crate) const FOLLOW_CHUNKS: u8 = 3;

/// The size of the walk's reads, one at a time, beyond the batches a
/// paced walk has been let into (see [`cache::Pace`]).
///
/// The drive would otherwise be idle while the boot probes it: in a replay
/// of the demo's live DVD the drive had read the first batch 3.7 s before
/// the boot mounted its squashfs and let the walk go on. A command the boot
/// sends meanwhile waits for the one read-ahead command the drive is busy
/// with; 32 KiB is about 3 ms on a DVD drive streaming at 10 MB/s, against
/// 13 ms for a 128 KiB chunk, and costs the drive a command's overhead
/// (under a millisecond) per 32 KiB.
///
/// A prober's next command still finds one of these in flight nearly every
/// time (it is sent when the last one returns, after the walk's next). Two
/// ways round that were measured (see the README's dvd-seek runs). Resting
/// between the commands let the probes through, but the walk then had less
/// of the playlist read when the boot needed it, and the boot parked for
/// it: no faster in the end. 8 KiB commands cut each probe's wait to a
/// quarter with the drive reading as much, but the boot was no faster
/// beyond the runs' spread.
pub(crate) const HELD_CHUNK: u64 = 32 * 1024;

/// Where read-ahead goes on after a demand read-ahead (see
/// [`FOLLOW_CHUNKS`]): forward from the end of what it read there, then,
/// when the extent has nothing left after it, backward from its start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Follow {
    /// The end of the chunks read there so far (a disk offset).
    next: u64,
    /// Their start.
    prev: u64,
    /// How many more chunks to read there.
    left: u8,
}

/// A read-ahead to issue: a run of one extent.
struct Run {
    /// The first byte on the disk.
    start: u64,
    /// Its length in bytes.
    len: u64,
    /// A demand read-ahead, for a parked read.
    demand: bool,
}

impl DiskInner {
    /// Chooses the next read-ahead, and marks its sectors `Reading`: first
    /// a demand read-ahead for the parked read that has waited longest with
    /// sectors not issued yet, then up to `follow` chunks next to the last
    /// one ([`Follow`]; both up to `max_in_flight + DEMAND_EXTRA` in
    /// flight), then the walk's next run (up to `max_in_flight`; beyond
    /// the batches a paced walk may read at full speed, one [`HELD_CHUNK`]
    /// with nothing else in flight).
    fn choose(&mut self, max_in_flight: u32, chunk: u64, follow: u8) -> Option<Run> {
        if self.in_flight < max_in_flight + DEMAND_EXTRA {
            let mut oldest: Option<(u64, u64, u64)> = None;
            for parked in self.parked.iter() {
                if oldest.is_some_and(|(since, _, _)| since <= parked.since_ns) {
                    continue;
                }
                if self.cache.has_expected(parked.start, parked.len) {
                    oldest = Some((parked.since_ns, parked.start, parked.len));
                }
            }
            if let Some((_, start, len)) = oldest {
                if let Some((start, len)) = self.cache.take_demand(start, len, chunk) {
                    self.follow = (follow > 0).then_some(Follow {
                        next: start + len,
                        prev: start,
                        left: follow,
                    });
                    return Some(Run {
                        start,
                        len,
                        demand: true,
                    });
                }
            }
            if let Some(f) = self.follow.take() {
                let run = match self.cache.take_after(f.next, chunk) {
                    Some((start, len)) => Some((start, len, start + len, f.prev)),
                    None => self
                        .cache
                        .take_before(f.prev, chunk)
                        .map(|(start, len)| (start, len, f.next, start)),
                };
                if let Some((start, len, next, prev)) = run {
                    self.follow = (f.left > 1).then_some(Follow {
                        next,
                        prev,
                        left: f.left - 1,
                    });
                    return Some(Run {
                        start,
                        len,
                        demand: true,
                    });
                }
            }
        }
        if self.in_flight >= max_in_flight {
            return None;
        }
        while let Some(&index) = self.order.get(self.pos) {
            let (start, low_priority, batch) = match self.cache.extent(index as usize) {
                Some(extent) => (extent.start, extent.low_priority, extent.batch),
                None => break,
            };
            // Low-priority extents only when nothing else is going.
            if low_priority && self.in_flight > 0 {
                return None;
            }
            // A paced walk that the boot has not let into the batch yet
            // reads on in small commands, one at a time.
            let chunk = if self.pace.allows(batch) {
                chunk
            } else if self.in_flight > 0 {
                return None;
            } else {
                chunk.min(HELD_CHUNK)
            };
            // What a demand read-ahead fetched is `Reading` or `Present`
            // already: the walk passes over it.
            if let Some((off, len)) = self.cache.take_next(index as usize, self.offset, chunk) {
                self.offset = off + len;
                return Some(Run {
                    start: start + off,
                    len,
                    demand: false,
                });
            }
            self.pos += 1;
            self.offset = 0;
        }
        None
    }
}

impl Disk {
    /// Starts or continues read-ahead: keeps up to `max_in_flight` reads
    /// going, and issues demand read-aheads for parked reads first. Process
    /// context.
    pub(crate) fn pump(self: &Arc<Self>) {
        loop {
            // Choose the next run under the lock.
            let run = {
                let _cpu = CpuTime::start(&self.session.stats);
                let mut inner = self.inner.lock();
                if inner.stopped {
                    return;
                }
                let (depth, chunk, follow) = (self.max_in_flight, self.chunk, self.follow_chunks);
                let Some(run) = inner.choose(depth, chunk, follow) else {
                    return;
                };
                inner.in_flight += 1;
                run
            };
            if self.read_ahead(run.start, run.len, run.demand).is_err() {
                // Could not read it ahead: those reads go to the disk.
                let settled = {
                    let mut inner = self.inner.lock();
                    inner.in_flight -= 1;
                    inner.cache.invalidate(run.start, run.len);
                    self.settle(&mut inner)
                };
                settled.finish();
            }
        }
    }

    fn read_ahead(self: &Arc<Self>, disk_off: u64, len: u64, demand: bool) -> Result {
        let cpu = CpuTime::start(&self.session.stats);
        let count = len.div_ceil(PAGE) as usize;
        let mut pages = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            // The cache yields to the system: when memory is short its pages
            // are not worth reclaiming hard or waking the OOM killer for.
            // Those reads then simply go to the disk.
            pages.push(
                Page::alloc_page(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN)?,
                GFP_KERNEL,
            )?;
        }
        // Not the submission: it may sleep for a place in the device's
        // queue (an optical drive takes one command at a time), which is
        // waiting, not bootcache's CPU time.
        drop(cpu);
        let done = ReadAhead {
            disk: self.clone(),
            disk_off,
            len,
        };
        // The walk reads at idle priority, so that where the I/O scheduler
        // knows priorities the boot's own reads, and demand read-aheads, go
        // first (see the module's documentation).
        let prio = if demand { IoPrio::NONE } else { IoPrio::IDLE };
        // Exactly the extent's bytes: never past its end (nor the disk's).
        match bio::submit_read(
            &self.bdev,
            disk_off / SECTOR,
            pages,
            len as usize,
            prio,
            done,
        ) {
            Ok(()) => {
                let stats = &self.session.stats;
                stats.readahead_bios.fetch_add(1, Ordering::Relaxed);
                if demand {
                    stats.demand_bios.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err((e, _, _)) => Err(e),
        }
    }
}

/// The completion of one read-ahead bio.
struct ReadAhead {
    /// The disk read from.
    disk: Arc<Disk>,
    /// The first byte read, on the disk.
    disk_off: u64,
    /// The bytes read.
    len: u64,
}

impl ReadDone for ReadAhead {
    fn read_done(self, result: Result, pages: KVec<Page>) {
        let disk = &self.disk;
        let stats = &disk.session.stats;
        let cpu = CpuTime::start(stats);
        let (settled, failed) = {
            let mut inner = disk.inner.lock();
            inner.in_flight -= 1;
            let failed = !inner.stopped && result.is_err();
            if inner.stopped {
                // Jettisoned meanwhile: the pages just go.
            } else if result.is_ok() {
                let pages = pages.into_iter().map(|page| CachedPage::new(page, stats));
                let filled = inner.cache.fill(self.disk_off, pages);
                stats.readahead_bytes.fetch_add(filled, Ordering::Relaxed);
            } else {
                stats.readahead_errors.fetch_add(1, Ordering::Relaxed);
                inner.cache.invalidate(self.disk_off, self.len);
            }
            (disk.settle(&mut inner), failed)
        };
        if failed {
            // A failing disk fails every read-ahead: say so, not that often.
            let dev = disk.bdev.disk_dev();
            pr_warn_ratelimited!(
                "disk {}:{}: read-ahead of {} bytes at sector {} failed; those reads go to the disk\n",
                dev.major(),
                dev.minor(),
                self.len,
                self.disk_off / SECTOR
            );
        }
        // Not what ending and resubmitting bios and issuing the next
        // read-ahead take: the bios' owners' completions, and submissions
        // that may sleep for the device's queue (`pump` counts its own
        // work).
        drop(cpu);
        settled.finish();
        disk.pump();
    }
}
