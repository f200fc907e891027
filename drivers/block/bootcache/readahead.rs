// SPDX-License-Identifier: GPL-2.0

//! Read-ahead: the pump that reads a disk's extents into the cache, and the
//! completions that file what it read.
//!
//! Read-ahead is driven by completions: [`Disk::pump`] keeps up to
//! `max_in_flight` large reads going, walking the extents in batch order
//! (low-priority extents last, and only when nothing else is in flight);
//! every completion (in process context) files its pages, serves or passes
//! the bios parked on them, and pumps again. So there is no thread to stop:
//! setting `stopped` ends the walk.
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
use kernel::prelude::*;
use kernel::sync::Arc;

/// A page of read-ahead data. It counts itself in `stats/cache_bytes` for
/// as long as it lives, so that figure is the memory the cache really holds.
pub(crate) struct CPage {
    page: Page,
    stats: Arc<Stats>,
}

impl CPage {
    fn new(page: Page, stats: &Arc<Stats>) -> Self {
        let held = stats.cache_bytes.fetch_add(PAGE, Ordering::Relaxed) + PAGE;
        stats.cache_peak_bytes.fetch_max(held, Ordering::Relaxed);
        Self {
            page,
            stats: stats.clone(),
        }
    }
}

impl Drop for CPage {
    fn drop(&mut self) {
        self.stats.cache_bytes.fetch_sub(PAGE, Ordering::Relaxed);
    }
}

impl CachePage for CPage {
    fn read(&self, offset: usize, dst: &mut [u8]) {
        // The cache only asks for ranges within the page.
        let _ = bio::read_page(&self.page, offset, dst);
    }
}

/// The read-ahead order of extents: batch by batch (low-priority extents
/// last), in disk order within a batch.
pub(crate) fn read_ahead_key(e: &cache::Extent<CPage>) -> (bool, u8, u64) {
    (e.low_priority, e.batch, e.start)
}

/// Fills `order`, which is empty with room for every extent of `cache`,
/// with their indices in read-ahead order. Allocates nothing.
pub(crate) fn sort_read_ahead(order: &mut KVVec<u32>, cache: &DiskCache<CPage>) {
    for i in 0..cache.extents().len() {
        if compat::push_within(order, i as u32).is_err() {
            // Cannot happen: the caller made room for every extent.
            break;
        }
    }
    let ext = cache.extents();
    order.sort_unstable_by_key(|&i| read_ahead_key(&ext[i as usize]));
}

impl Disk {
    /// Starts or continues read-ahead: keeps up to `max_in_flight` reads
    /// going. Process context.
    pub(crate) fn pump(self: &Arc<Self>) {
        loop {
            // Choose the next run under the lock.
            let next = {
                let mut g = self.inner.lock();
                if g.stopped || g.in_flight >= self.max_in_flight {
                    return;
                }
                let mut found = None;
                while let Some(&i) = g.order.get(g.pos) {
                    let Some(e) = g.cache.extent(i as usize) else {
                        break;
                    };
                    // Low-priority extents only when nothing else is going.
                    if e.low_priority && g.in_flight > 0 {
                        return;
                    }
                    if let Some((off, len)) = e.next_expected(g.offset, self.chunk) {
                        found = Some((e.start, off, len));
                        g.offset = off + len;
                        break;
                    }
                    g.pos += 1;
                    g.offset = 0;
                }
                let Some(found) = found else {
                    return;
                };
                g.in_flight += 1;
                found
            };
            let (start, off, len) = next;
            if self.read_ahead(start + off, len).is_err() {
                // Could not read it ahead: those reads go to the disk.
                let fin = {
                    let mut g = self.inner.lock();
                    g.in_flight -= 1;
                    g.cache.invalidate(start + off, len);
                    self.settle(&mut g)
                };
                fin.run();
            }
        }
    }

    fn read_ahead(self: &Arc<Self>, disk_off: u64, len: u64) -> Result {
        let n = len.div_ceil(PAGE) as usize;
        let mut pages = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
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
                self.shared
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
    disk: Arc<Disk>,
    disk_off: u64,
    len: u64,
}

impl ReadDone for ReadAhead {
    fn read_done(self, result: Result, pages: KVec<Page>) {
        let d = &self.disk;
        let stats = &d.shared.stats;
        let fin = {
            let mut g = d.inner.lock();
            g.in_flight -= 1;
            if g.stopped {
                // Jettisoned meanwhile: the pages just go.
            } else if result.is_ok() {
                let pages = pages.into_iter().map(|p| CPage::new(p, stats));
                let filled = g.cache.fill(self.disk_off, pages);
                stats.readahead_bytes.fetch_add(filled, Ordering::Relaxed);
            } else {
                stats.readahead_errors.fetch_add(1, Ordering::Relaxed);
                g.cache.invalidate(self.disk_off, self.len);
            }
            d.settle(&mut g)
        };
        fin.run();
        d.pump();
    }
}
