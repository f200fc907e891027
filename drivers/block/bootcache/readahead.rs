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
//! On a rotational disk read-ahead and the boot's own reads share one head.
//! The kext throttled the boot's reads while it read ahead; here the boot's
//! reads that miss go straight to the disk, and read-ahead keeps at most two
//! reads in flight on a rotational disk (four otherwise), so that a missed
//! read waits behind at most two large reads rather than a queue of them.

use crate::cache::{self, CachePage, DiskCache, PAGE, SECTOR};
use crate::compat;
use crate::disk::Disk;
use crate::stats::Stats;
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{__GFP_NORETRY, __GFP_NOWARN};
use kernel::block::bio::{self, ReadDone};
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

impl Disk {
    /// Starts or continues read-ahead: keeps up to `max_in_flight` reads
    /// going. Process context.
    pub(crate) fn pump(self: &Arc<Self>) {
        loop {
            // Choose the next run under the lock.
            let next = {
                let mut inner = self.inner.lock();
                if inner.stopped || inner.in_flight >= self.max_in_flight {
                    return;
                }
                let mut found = None;
                while let Some(&index) = inner.order.get(inner.pos) {
                    let (start, low_priority) = match inner.cache.extent(index as usize) {
                        Some(extent) => (extent.start, extent.low_priority),
                        None => break,
                    };
                    // Low-priority extents only when nothing else is going.
                    if low_priority && inner.in_flight > 0 {
                        return;
                    }
                    // Its sectors become `Reading`: the walk never reads
                    // them again.
                    let from = inner.offset;
                    if let Some((off, len)) =
                        inner.cache.take_next(index as usize, from, self.chunk)
                    {
                        found = Some((start, off, len));
                        inner.offset = off + len;
                        break;
                    }
                    inner.pos += 1;
                    inner.offset = 0;
                }
                let Some(found) = found else {
                    return;
                };
                inner.in_flight += 1;
                found
            };
            let (start, off, len) = next;
            if self.read_ahead(start + off, len).is_err() {
                // Could not read it ahead: those reads go to the disk.
                let settled = {
                    let mut inner = self.inner.lock();
                    inner.in_flight -= 1;
                    inner.cache.invalidate(start + off, len);
                    self.settle(&mut inner)
                };
                settled.finish();
            }
        }
    }

    fn read_ahead(self: &Arc<Self>, disk_off: u64, len: u64) -> Result {
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
        let done = ReadAhead {
            disk: self.clone(),
            disk_off,
            len,
        };
        // Exactly the extent's bytes: never past its end (nor the disk's).
        match bio::submit_read(&self.bdev, disk_off / SECTOR, pages, len as usize, done) {
            Ok(()) => {
                self.session
                    .stats
                    .readahead_bios
                    .fetch_add(1, Ordering::Relaxed);
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
        settled.finish();
        disk.pump();
    }
}
