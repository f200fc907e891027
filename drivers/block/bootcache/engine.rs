// SPDX-License-Identifier: GPL-2.0

//! The cache at work: one [`Disk`] per disk the playlist names, each with a
//! bio filter, a read-ahead pump and the bios parked on it.
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
//!
//! Locking: a disk's state is under its spin lock, taken by the filter (in
//! the submitter's context), by completions, by the releaser and by the
//! shrinker; nothing sleeps or allocates with `GFP_KERNEL` under it. Bios
//! are ended and resubmitted after it is dropped, from lists linked through
//! the bios themselves, so that handing them on never needs memory.
//! Jettison (which detaches filters and so waits for running filter calls)
//! never runs inside a filter call: the filter only asks for it, and the
//! ticker does it.
//!
//! A parked bio's wait is bounded without the control mutex: the session's
//! [`Releaser`] visits every disk each tick and passes the bios whose wait
//! ran out, whatever the control path (which may hold the mutex across
//! queue freezes and block device opens) is doing.

use crate::bootparam;
use crate::cache::{self, CachePage, DiskCache, NewExtent, ReadDecision, PAGE, SECTOR};
use crate::compat;
use crate::format::{self, Entry, Playlist, VolumeId};
use crate::history::Recorder;
use crate::stats::Stats;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::alloc::flags::{__GFP_NORETRY, __GFP_NOWARN};
use kernel::block::bdev::{BlockDevice, DevT};
use kernel::block::bio::{self, Bio, BioList, BioRef, Op, ReadDone};
use kernel::block::filter::{Filter, Gone, Registration};
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::fmt;
use kernel::page::Page;
use kernel::prelude::*;
use kernel::shrinker::{ScanResult, ShrinkControl, Shrinker};
use kernel::str::CString;
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::time::Ktime;

/// How often the releaser passes parked bios whose wait ran out, and the
/// ticker looks at time limits, in milliseconds.
pub(crate) const TICK_MS: u32 = 100;

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

/// The tunables, in `/sys/kernel/bootcache/`.
pub(crate) struct Tunables {
    /// How long a read may wait for read-ahead, in milliseconds.
    pub(crate) wait_limit_ms: AtomicU32,
    /// Reads since the last hit after which the cache jettisons itself.
    pub(crate) miss_limit: AtomicU64,
    /// Recording stops by itself after this many milliseconds (0: never).
    pub(crate) record_limit_ms: AtomicU32,
    /// Events the history holds.
    pub(crate) history_entries: AtomicU32,
}

impl Tunables {
    pub(crate) const fn new() -> Self {
        Self {
            wait_limit_ms: AtomicU32::new(10_000),
            miss_limit: AtomicU64::new(10_000),
            record_limit_ms: AtomicU32::new(240_000),
            history_entries: AtomicU32::new(65_536),
        }
    }
}

/// What every disk of one cache session shares.
pub(crate) struct Shared {
    pub(crate) stats: Arc<Stats>,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) wait_limit_ns: u64,
    pub(crate) miss_limit: u64,
    /// When recording (and caching) started.
    pub(crate) t0: Ktime,
    /// Set when the cache should go; the ticker acts on it.
    pub(crate) jettison: AtomicU32,
    /// Misses are counted towards the limit only after the first `stop`.
    pub(crate) count_misses: AtomicBool,
    pub(crate) misses_since_hit: AtomicU64,
}

/// Why the cache ended (the value of `jettison`), as the `reason` file
/// shows it.
pub(crate) mod reason {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const COMMAND: u32 = 1;
    pub(crate) const MISSES: u32 = 2;
    pub(crate) const MEMORY: u32 = 3;
    pub(crate) const DISK_GONE: u32 = 4;
    /// Recording stopped, and there was nothing to cache.
    pub(crate) const RECORDED: u32 = 5;
    /// The medium in a cached drive changed (an eject, a new disc, a loop
    /// device bound to another file).
    pub(crate) const MEDIUM_CHANGED: u32 = 6;

    pub(crate) fn name(r: u32) -> &'static str {
        match r {
            COMMAND => "command",
            MISSES => "misses",
            MEMORY => "memory",
            DISK_GONE => "disk-gone",
            RECORDED => "recorded",
            MEDIUM_CHANGED => "medium-changed",
            _ => "none",
        }
    }
}

impl Shared {
    pub(crate) fn now_ns(&self) -> u64 {
        let d = Ktime::ktime_get().to_ns() - self.t0.to_ns();
        d.max(0) as u64
    }

    pub(crate) fn request_jettison(&self, why: u32) {
        let _ =
            self.jettison
                .compare_exchange(reason::NONE, why, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// A partition (or the whole disk) a playlist volume lives on.
#[derive(Clone, Copy)]
pub(crate) struct Part {
    pub(crate) volume: u16,
    pub(crate) dev: DevT,
    /// First byte on the disk.
    pub(crate) start: u64,
    /// Length in bytes.
    pub(crate) len: u64,
}

/// A bio waiting for read-ahead.
struct Parked {
    bio: Bio,
    start: u64,
    len: u64,
    since_ns: u64,
    /// The submitter, for the history.
    pid: u32,
}

/// A disk's state, under its lock.
struct DiskInner {
    cache: DiskCache<CPage>,
    parked: KVec<Parked>,
    /// Extent indices in read-ahead order.
    order: KVVec<u32>,
    /// Position in `order` and offset in that extent of the next read.
    pos: usize,
    offset: u64,
    in_flight: u32,
    stopped: bool,
}

/// One cached disk.
#[pin_data]
pub(crate) struct Disk {
    pub(crate) bdev: Arc<BlockDevice>,
    /// The partitions of its volumes; changed only under the control mutex
    /// (an appended playlist may add one).
    #[pin]
    parts: SpinLock<KVec<Part>>,
    pub(crate) shared: Arc<Shared>,
    max_in_flight: u32,
    chunk: u64,
    /// Bytes of playlist extents it caches; appends add to it.
    pub(crate) bytes: AtomicU64,
    /// Bytes of its volumes' extents that the memory cap left out.
    pub(crate) capped: u64,
    #[pin]
    inner: SpinLock<DiskInner>,
}

/// Extents to add to a disk in use, with all the memory that takes.
pub(crate) struct Append {
    extents: KVVec<cache::Extent<CPage>>,
    room: KVVec<cache::Extent<CPage>>,
    order: KVVec<u32>,
    parts: KVec<Part>,
    bytes: u64,
    /// The read-ahead key of the first new extent.
    first: Option<(bool, u8, u64)>,
}

/// Bios to finish once the lock is dropped: those served from the cache,
/// to end, and those to hand to the disk. Collecting them allocates
/// nothing, so no bio is ever held back for want of memory.
#[derive(Default)]
struct Finish {
    end: BioList,
    pass: BioList,
}

impl Finish {
    /// Ends and resubmits the bios. Process context: resubmitting may sleep.
    fn run(self) {
        let Finish { end, pass } = self;
        for b in end {
            b.end(Ok(()));
        }
        for b in pass {
            b.resubmit();
        }
    }
}

/// The read-ahead order of extents: batch by batch (low-priority extents
/// last), in disk order within a batch.
fn read_ahead_key(e: &cache::Extent<CPage>) -> (bool, u8, u64) {
    (e.low_priority, e.batch, e.start)
}

/// Fills `order`, which is empty with room for every extent of `cache`,
/// with their indices in read-ahead order. Allocates nothing.
fn sort_read_ahead(order: &mut KVVec<u32>, cache: &DiskCache<CPage>) {
    for i in 0..cache.extents().len() {
        if compat::push_within(order, i as u32).is_err() {
            // Cannot happen: the caller made room for every extent.
            break;
        }
    }
    let ext = cache.extents();
    order.sort_unstable_by_key(|&i| read_ahead_key(&ext[i as usize]));
}

/// Extent `x` of the volume on `part`, in bytes of the disk, widened to
/// whole sectors (the unit of sector state and of reads).
fn disk_extent(part: &Part, x: &format::Extent) -> NewExtent {
    let start = (part.start + x.offset) & !(SECTOR - 1);
    let end = (part.start + x.offset + x.length).next_multiple_of(SECTOR);
    NewExtent {
        start,
        len: end - start,
        batch: x.batch,
        low_priority: x.is_low_priority(),
        volume: part.volume,
    }
}

/// Makes cache extents of `extents` (pairs of a partition and an extent of
/// its volume), clipped to what neither `existing` nor an earlier extent
/// covers, sorted by disk offset. Extents beyond the end of their partition
/// are dropped. Returns them and their bytes. `O(n log n)`.
fn make_extents(
    existing: &[(u64, u64)],
    extents: &[(Part, format::Extent)],
) -> Result<(KVVec<cache::Extent<CPage>>, u64)> {
    let mut wanted = KVVec::with_capacity(extents.len(), GFP_KERNEL)?;
    for (part, x) in extents {
        if x.offset.saturating_add(x.length) > part.len {
            continue;
        }
        wanted.push(disk_extent(part, x), GFP_KERNEL)?;
    }
    let mut pieces = KVVec::new();
    cache::clip_new(existing, &mut wanted, &mut pieces).map_err(|_| ENOMEM)?;
    let mut made = KVVec::with_capacity(pieces.len(), GFP_KERNEL)?;
    let mut bytes = 0;
    for p in pieces.iter() {
        made.push(
            cache::Extent::new(p.start, p.len, p.batch, p.low_priority, p.volume)
                .map_err(|_| ENOMEM)?,
            GFP_KERNEL,
        )?;
        bytes += p.len;
    }
    Ok((made, bytes))
}

impl Disk {
    /// Makes the cache of one disk from `(part, extent)` pairs; `capped` is
    /// the bytes of its volumes that the memory cap left out. Changes no
    /// statistics: the caller counts the disk once it is attached.
    pub(crate) fn new(
        bdev: Arc<BlockDevice>,
        parts: KVec<Part>,
        shared: Arc<Shared>,
        extents: &[(Part, format::Extent)],
        capped: u64,
    ) -> Result<Arc<Self>> {
        let (made, bytes) = make_extents(&[], extents)?;
        let n = made.len();
        let mut cache = DiskCache::new();
        if !cache.absorb(made, KVVec::with_capacity(n, GFP_KERNEL)?) {
            return Err(EINVAL);
        }
        let mut order = KVVec::with_capacity(n, GFP_KERNEL)?;
        sort_read_ahead(&mut order, &cache);
        let rotational = bdev.is_rotational();
        let chunk =
            (u64::from(bdev.max_sectors()) * 512).clamp(64 * 1024, 1024 * 1024) & !(PAGE - 1);
        Arc::pin_init(
            pin_init!(Disk {
                bdev,
                parts <- new_spinlock!(parts),
                shared,
                max_in_flight: if rotational { 2 } else { 4 },
                chunk,
                bytes: AtomicU64::new(bytes),
                capped,
                inner <- new_spinlock!(DiskInner {
                    cache,
                    parked: KVec::new(),
                    order,
                    pos: 0,
                    offset: 0,
                    in_flight: 0,
                    stopped: false,
                }),
            }),
            GFP_KERNEL,
        )
    }

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

    /// Serves or passes parked bios that no longer wait. Called with the lock
    /// held; returns what to finish after it is dropped.
    fn settle(&self, g: &mut DiskInner) -> Finish {
        let mut fin = Finish::default();
        let now = self.shared.now_ns();
        let limit = self.shared.wait_limit_ns;
        let stats = &self.shared.stats;
        let mut i = 0;
        while i < g.parked.len() {
            let p = &g.parked[i];
            let decision = if g.stopped {
                ReadDecision::Miss
            } else {
                g.cache.classify_read(p.start, p.len)
            };
            let expired = now.saturating_sub(p.since_ns) >= limit;
            if decision == ReadDecision::Wait && !expired {
                i += 1;
                continue;
            }
            let Some(mut p) = g.parked.swap_remove(i) else {
                break;
            };
            stats
                .parked_wait_ns
                .fetch_add(now.saturating_sub(p.since_ns), Ordering::Relaxed);
            if decision == ReadDecision::Hit && serve(&mut g.cache, &mut p.bio, p.start, p.len) {
                stats.parked_hits.fetch_add(1, Ordering::Relaxed);
                self.count_hit(&p.bio, format::ENTRY_WAITED, p.since_ns, p.pid);
                fin.end.push(p.bio);
                continue;
            }
            if decision == ReadDecision::Wait {
                stats.parked_timeouts.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.parked_passed.fetch_add(1, Ordering::Relaxed);
            }
            // It waited, but the data came from the disk: a plain read.
            self.count_miss(&p.bio, p.since_ns, p.pid);
            fin.pass.push(p.bio);
        }
        fin
    }

    /// The releaser's visit: passes parked bios whose wait ran out (or
    /// whose blocks a write or the shrinker took away meanwhile).
    pub(crate) fn tick(&self) {
        let fin = {
            let mut g = self.inner.lock();
            self.settle(&mut g)
        };
        fin.run();
    }

    /// Stops read-ahead, drops the cache and hands every parked bio to the
    /// disk. The filter must be detached (or stop parking: `stopped` is set
    /// here, under the lock the filter takes).
    pub(crate) fn shut_down(&self) {
        let fin = {
            let mut g = self.inner.lock();
            g.stopped = true;
            g.cache.clear();
            self.settle(&mut g)
        };
        fin.run();
    }

    /// Gives memory back (the shrinker): `want` bytes of pages, from the
    /// extents that read-ahead comes to last, from their ends backwards;
    /// pages not read yet count too, as memory read-ahead will not take.
    /// What is given up is not read ahead any more; reads of it go to the
    /// disk. Parked bios are left for the releaser, which passes them to the
    /// disk: this runs in reclaim, where submitting I/O is not allowed.
    /// Returns the bytes given up and, of those, the bytes freed.
    pub(crate) fn shrink(&self, want: u64) -> (u64, u64) {
        let mut g = self.inner.lock();
        let g = &mut *g;
        let (mut given, mut freed) = (0, 0);
        for &i in g.order.iter().rev() {
            if given >= want {
                break;
            }
            let (gave, fr) = g.cache.shed(i as usize, want - given);
            given += gave;
            freed += fr;
        }
        (given, freed)
    }

    /// Returns the bytes of cache pages held.
    pub(crate) fn held(&self) -> u64 {
        self.inner.lock().cache.bytes_held
    }

    fn part_of(&self, bio: &Bio) -> Option<Part> {
        let dev = bio.dev();
        self.parts.lock().iter().find(|p| p.dev == dev).copied()
    }

    /// Returns the volumes it holds.
    pub(crate) fn volumes(&self) -> Result<KVec<u32>> {
        let n = self.parts.lock().len();
        let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
        for p in self.parts.lock().iter() {
            // Room is reserved: no allocation under the lock.
            if v.len() < v.capacity() {
                v.push(u32::from(p.volume), GFP_ATOMIC)?;
            }
        }
        Ok(v)
    }

    /// Returns the partition of volume `volume`, if it is on this disk.
    pub(crate) fn part(&self, volume: u16) -> Option<Part> {
        self.parts
            .lock()
            .iter()
            .find(|p| p.volume == volume)
            .copied()
    }

    /// Prepares adding `extents` (of the volumes `parts`, which may be new
    /// on this disk) to the cache in use: everything is allocated here, so
    /// that [`Disk::append`] cannot fail. The extents' geometry changes only
    /// under the control mutex, which the caller holds until it appends.
    pub(crate) fn prepare_append(
        &self,
        parts: &[Part],
        extents: &[(Part, format::Extent)],
    ) -> Result<Append> {
        let n_old = self.inner.lock().cache.extents().len();
        let mut ranges: KVVec<(u64, u64)> = KVVec::with_capacity(n_old, GFP_KERNEL)?;
        for r in self.inner.lock().cache.ranges() {
            // Room is reserved: no allocation under the lock.
            if compat::push_within(&mut ranges, r).is_err() {
                break;
            }
        }
        let (new, bytes) = make_extents(&ranges, extents)?;
        let first = new.iter().map(read_ahead_key).min();
        let total = n_old + new.len();
        let n_parts = self.parts.lock().len();
        let mut all_parts = KVec::with_capacity(n_parts + parts.len(), GFP_KERNEL)?;
        for p in self.parts.lock().iter() {
            // Room is reserved: no allocation under the lock.
            if all_parts.len() < n_parts {
                all_parts.push(*p, GFP_ATOMIC)?;
            }
        }
        for p in parts {
            if !all_parts.iter().any(|q: &Part| q.volume == p.volume) {
                all_parts.push(*p, GFP_KERNEL)?;
            }
        }
        Ok(Append {
            extents: new,
            room: KVVec::with_capacity(total, GFP_KERNEL)?,
            order: KVVec::with_capacity(total, GFP_KERNEL)?,
            parts: all_parts,
            bytes,
            first,
        })
    }

    /// Adds the extents of a prepared [`Append`] to the cache in use: they
    /// are read ahead after everything queued now (their batches come after
    /// the current ones). Returns the bytes added (none if the cache is
    /// being shut down).
    pub(crate) fn append(self: &Arc<Self>, a: Append) -> u64 {
        let Append {
            extents,
            room,
            mut order,
            parts,
            bytes,
            first,
        } = a;
        let Some(first) = first else {
            *self.parts.lock() = parts;
            return 0;
        };
        {
            let mut g = self.inner.lock();
            if g.stopped {
                return 0;
            }
            // Where the walk is: the key of the extent it is in.
            let here = g
                .order
                .get(g.pos)
                .and_then(|&i| g.cache.extent(i as usize))
                .map(read_ahead_key);
            if !g.cache.absorb(extents, room) {
                return 0;
            }
            sort_read_ahead(&mut order, &g.cache);
            let ext = g.cache.extents();
            let key = read_ahead_key;
            // Go on where the walk was, unless a new extent comes first;
            // extents behind the walk hold nothing left to read but what is
            // in flight.
            let resume = match here {
                Some(h) if h <= first => h,
                _ => first,
            };
            let pos = order.partition_point(|&i| key(&ext[i as usize]) < resume);
            if here != Some(resume) {
                g.offset = 0;
            }
            g.pos = pos;
            g.order = order;
        }
        *self.parts.lock() = parts;
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.pump();
        bytes
    }

    fn record(&self, bio: &Bio, flags: u16) {
        self.record_at(bio, flags, self.shared.now_ns(), current_pid());
    }

    /// Records a bio that `pid` submitted at `timestamp_ns`. Bios without
    /// data (an empty flush) are not recorded.
    fn record_at(&self, bio: &Bio, flags: u16, timestamp_ns: u64, pid: u32) {
        let rec = &self.shared.recorder;
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
        let e = Entry {
            offset: start.saturating_sub(part.start),
            length: u64::from(bio.size()),
            timestamp_ns,
            pid,
            flags,
            volume: part.volume,
        };
        if rec.record(&e) {
            self.shared
                .stats
                .history_events
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.shared
                .stats
                .history_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts and records a read served from the cache (`extra`: more
    /// history flags, such as waited), submitted by `pid` at `at`.
    fn count_hit(&self, bio: &Bio, extra: u16, at: u64, pid: u32) {
        let stats = &self.shared.stats;
        stats.hits.fetch_add(1, Ordering::Relaxed);
        stats
            .hit_bytes
            .fetch_add(u64::from(bio.size()), Ordering::Relaxed);
        self.shared.misses_since_hit.store(0, Ordering::Relaxed);
        self.record_at(bio, format::ENTRY_HIT | extra, at, pid);
    }

    /// Counts and records a read sent to the disk, submitted by `pid` at
    /// `at`, towards the miss limit too.
    fn count_miss(&self, bio: &Bio, at: u64, pid: u32) {
        let stats = &self.shared.stats;
        stats.misses.fetch_add(1, Ordering::Relaxed);
        stats
            .miss_bytes
            .fetch_add(u64::from(bio.size()), Ordering::Relaxed);
        self.record_at(bio, 0, at, pid);
        self.note_miss();
    }

    fn note_miss(&self) {
        let s = &self.shared;
        if s.count_misses.load(Ordering::Relaxed)
            && s.misses_since_hit.fetch_add(1, Ordering::Relaxed) + 1 >= s.miss_limit
        {
            s.request_jettison(reason::MISSES);
        }
    }
}

fn current_pid() -> u32 {
    kernel::current!().pid() as u32
}

/// Copies a hit into the bio. Returns `false` if it was not a hit.
fn serve(cache: &mut DiskCache<CPage>, bio: &mut Bio, start: u64, len: u64) -> bool {
    let mut w = bio.data_writer();
    cache.serve(start, len, |_, data| {
        w.write(data);
    })
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

/// The filter on a cached disk.
pub(crate) struct DiskFilter {
    pub(crate) disk: Arc<Disk>,
}

impl Filter for DiskFilter {
    fn submit_bio(&self, mut bio: Bio) -> Option<Bio> {
        let d = &self.disk;
        let stats = &d.shared.stats;
        let op = bio.op();
        let start = bio.sector() * 512;
        let len = u64::from(bio.size());
        if op.is_write() {
            stats.writes.fetch_add(1, Ordering::Relaxed);
            d.record(&bio, format::ENTRY_WRITE);
            if len > 0 {
                let nowait = bio.is_nowait();
                let fin = {
                    let mut g = d.inner.lock();
                    let lost = g.cache.invalidate(start, len);
                    stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
                    // Parked reads of those blocks now go to the disk, but
                    // not from a submitter that must not sleep: for it the
                    // releaser passes them at its next visit.
                    if nowait {
                        Finish::default()
                    } else {
                        d.settle(&mut g)
                    }
                };
                fin.run();
            }
            return Some(bio);
        }
        if op != Op::Read || len == 0 || bio.has_crypt_or_integrity() {
            return Some(bio);
        }
        let mut g = d.inner.lock();
        let decision = if g.stopped {
            ReadDecision::Miss
        } else {
            g.cache.classify_read(start, len)
        };
        match decision {
            ReadDecision::Hit if serve(&mut g.cache, &mut bio, start, len) => {
                drop(g);
                d.count_hit(&bio, 0, d.shared.now_ns(), current_pid());
                bio.end(Ok(()));
                None
            }
            ReadDecision::Wait if !bio.is_nowait() && d.shared.wait_limit_ns > 0 => {
                if g.parked.reserve(1, GFP_ATOMIC).is_err() {
                    // No memory to park it: to the disk it goes.
                    drop(g);
                    d.count_miss(&bio, d.shared.now_ns(), current_pid());
                    return Some(bio);
                }
                // Recorded when it is served or passed on.
                let since_ns = d.shared.now_ns();
                // Room is reserved: this push cannot fail.
                let _ = g.parked.push(
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
                drop(g);
                d.count_miss(&bio, d.shared.now_ns(), current_pid());
                Some(bio)
            }
        }
    }

    fn missed_bio(&self, bio: &BioRef) {
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
        let d = &self.disk;
        let lost = d.inner.lock().cache.invalidate(bio.sector() * SECTOR, len);
        let stats = &d.shared.stats;
        if !bio.was_filtered() {
            stats.writes.fetch_add(1, Ordering::Relaxed);
        }
        stats.invalidated_bytes.fetch_add(lost, Ordering::Relaxed);
    }

    fn gone(&self, why: Gone) {
        self.disk.shut_down();
        self.disk.shared.request_jettison(match why {
            Gone::MediaChanged => reason::MEDIUM_CHANGED,
            _ => reason::DISK_GONE,
        });
    }
}

/// Finds the partition a volume names.
pub(crate) fn find_volume(id: &VolumeId) -> Result<DevT> {
    match id {
        // Until the kernel mounts root, `ROOT_DEV` is not set: `root=` says.
        VolumeId::Root => DevT::root().map_or_else(root_from_cmdline, Ok),
        _ => {
            let uuid = CString::try_from_fmt(fmt!("{id}"))?;
            DevT::find_by_partuuid(uuid.to_str()?)
        }
    }
}

/// Finds the partition `root=` names, by PARTUUID or `/dev/NAME`.
fn root_from_cmdline() -> Result<DevT> {
    let root = kernel::cmdline::get(kernel::c_str!("root")).ok_or(ENODEV)?;
    if let Some(id) = bootparam::root_partuuid(root) {
        return DevT::find_by_partuuid(core::str::from_utf8(id).map_err(|_| ENODEV)?);
    }
    let name = bootparam::root_dev_name(root).ok_or(ENODEV)?;
    let name = CString::try_from_fmt(fmt!("{}", kernel::str::BStr::from_bytes(name)))?;
    DevT::find_by_name(&name)
}

/// The volume of the root file system, for recording without a playlist:
/// named by the PARTUUID `root=` gives, if it does (so that the playlist
/// made from the history finds it at the next boot, whatever the device is
/// called), and otherwise as `root`.
pub(crate) fn root_volume() -> format::Volume {
    let id = kernel::cmdline::get(kernel::c_str!("root"))
        .and_then(bootparam::root_partuuid)
        .and_then(|id| core::str::from_utf8(id).ok())
        .and_then(VolumeId::parse)
        .unwrap_or(VolumeId::Root);
    format::Volume {
        id,
        record_count: 0,
        bytes: 0,
        block_size: 4096,
    }
}

/// Finds the partition of volume `vi` (`v`) and returns it and its disk.
pub(crate) fn locate(vi: u16, v: &format::Volume) -> Result<(Part, DevT)> {
    let dev = find_volume(&v.id)?;
    let b = BlockDevice::open_read(dev)?;
    Ok((
        Part {
            volume: vi,
            dev,
            start: b.start_sector() * 512,
            len: b.nr_sectors() * 512,
        },
        b.disk_dev(),
    ))
}

/// What a session caches and records: its volumes (the history names them,
/// and [`Part::volume`] indexes them) and the extents to read ahead, sorted
/// by volume and offset, without overlap. A playlist makes one; a recording
/// session without a playlist has a volume and no extents.
pub(crate) struct Plan {
    pub(crate) volumes: KVec<format::Volume>,
    /// Up to the format's 2^20 extents: too large for `kmalloc`.
    pub(crate) extents: KVVec<format::Extent>,
    /// Batches in use; appended extents come after them.
    pub(crate) batches: u32,
}

impl Plan {
    /// The plan of a validated playlist.
    pub(crate) fn from_playlist(p: &Playlist<'_>) -> Result<Self> {
        let mut volumes = KVec::with_capacity(p.volume_count() as usize, GFP_KERNEL)?;
        for v in p.volumes() {
            volumes.push(v, GFP_KERNEL)?;
        }
        let mut extents = KVVec::with_capacity(p.extent_count() as usize, GFP_KERNEL)?;
        for x in p.extents() {
            extents.push(x, GFP_KERNEL)?;
        }
        Ok(Self {
            volumes,
            extents,
            batches: p.batch_count(),
        })
    }

    /// The plan of recording `v` with nothing to read ahead.
    pub(crate) fn record_only(v: format::Volume) -> Result<Self> {
        let mut volumes = KVec::new();
        volumes.push(v, GFP_KERNEL)?;
        Ok(Self {
            volumes,
            extents: KVVec::new(),
            batches: 0,
        })
    }

    /// Returns the extents of volume `vi`.
    pub(crate) fn volume_extents(&self, vi: u32) -> &[format::Extent] {
        let a = self.extents.partition_point(|x| u32::from(x.volume) < vi);
        let b = self.extents.partition_point(|x| u32::from(x.volume) <= vi);
        self.extents.get(a..b).unwrap_or(&[])
    }

    /// Returns the bytes of volume `vi`'s extents.
    pub(crate) fn volume_bytes(&self, vi: u32) -> u64 {
        self.volume_extents(vi).iter().map(|x| x.length).sum()
    }

    /// Appends playlist `new`: this plan's volumes, then those of `new` it
    /// lacks; this plan's extents, then those of `new` minus what this plan
    /// covers, in batches after this plan's. Returns the new plan and, for
    /// each volume of `new`, its index there. The format's limits hold for
    /// the result, so that its history and the next append stay within them.
    pub(crate) fn append(&self, new: &Playlist<'_>) -> Result<(Plan, KVec<u16>)> {
        let shift = self.batches;
        if shift >= format::MAX_BATCHES {
            pr_err!("playlist: the playlist in use has every batch; none can follow\n");
            return Err(E2BIG);
        }
        let mut volumes: KVec<format::Volume> = KVec::new();
        for v in self.volumes.iter() {
            volumes.push(*v, GFP_KERNEL)?;
        }
        let mut map: KVec<u16> = KVec::new();
        for v in new.volumes() {
            let i = match volumes.iter().position(|o| o.id == v.id) {
                Some(i) => {
                    if volumes[i].block_size != v.block_size {
                        pr_err!(
                            "playlist: volume {} has block size {}, but {} in the playlist in use\n",
                            v.id,
                            v.block_size,
                            volumes[i].block_size
                        );
                        return Err(EINVAL);
                    }
                    i
                }
                None => {
                    if volumes.len() >= format::MAX_VOLUMES as usize {
                        pr_err!(
                            "playlist: more than {} volumes with the playlist in use\n",
                            format::MAX_VOLUMES
                        );
                        return Err(E2BIG);
                    }
                    volumes.push(v, GFP_KERNEL)?;
                    volumes.len() - 1
                }
            };
            map.push(i as u16, GFP_KERNEL)?;
        }
        let mut extents: KVVec<format::Extent> = KVVec::new();
        let mut batches = shift;
        for vi in 0..volumes.len() as u32 {
            let olds = self.volume_extents(vi);
            let mut ranges: KVVec<(u64, u64)> = KVVec::with_capacity(olds.len(), GFP_KERNEL)?;
            for x in olds {
                ranges.push((x.offset, x.end()), GFP_KERNEL)?;
            }
            let mut wanted: KVVec<NewExtent> = KVVec::new();
            for (ni, _) in map.iter().enumerate().filter(|(_, &m)| u32::from(m) == vi) {
                for x in new.volume_extents(ni as u32).into_iter().flatten() {
                    let batch = (shift + u32::from(x.batch)).min(format::MAX_BATCHES - 1);
                    batches = batches.max(batch + 1);
                    wanted.push(
                        NewExtent {
                            start: x.offset,
                            len: x.length,
                            batch: batch as u8,
                            low_priority: x.is_low_priority(),
                            volume: vi as u16,
                        },
                        GFP_KERNEL,
                    )?;
                }
            }
            let mut pieces: KVVec<NewExtent> = KVVec::new();
            cache::clip_new(&ranges, &mut wanted, &mut pieces).map_err(|_| ENOMEM)?;
            // Both are sorted by offset and do not overlap: merge them.
            let mut a = olds.iter().peekable();
            let mut b = pieces.iter().peekable();
            loop {
                let take_old = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) => x.offset <= y.start,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let x = if take_old {
                    a.next().copied()
                } else {
                    b.next().map(|p| format::Extent {
                        offset: p.start,
                        length: p.len,
                        volume: p.volume,
                        flags: if p.low_priority {
                            format::EXTENT_LOW_PRIORITY
                        } else {
                            0
                        },
                        batch: p.batch,
                    })
                };
                if let Some(x) = x {
                    extents.push(x, GFP_KERNEL)?;
                }
            }
        }
        if extents.len() > format::MAX_EXTENTS as usize {
            pr_err!(
                "playlist: more than {} extents with the playlist in use\n",
                format::MAX_EXTENTS
            );
            return Err(E2BIG);
        }
        let total: u64 = extents.iter().map(|x| x.length).sum();
        if total > format::MAX_TOTAL_BYTES {
            pr_err!(
                "playlist: more than {} bytes with the playlist in use\n",
                format::MAX_TOTAL_BYTES
            );
            return Err(E2BIG);
        }
        let plan = Plan {
            volumes,
            extents,
            batches,
        };
        Ok((plan, map))
    }
}

/// Keeps the extents of `list` that fit in `budget` bytes, whole batches
/// in read-ahead order (low priority last), and returns the bytes left out.
pub(crate) fn cap_extents<T>(list: &mut KVVec<(T, Part, format::Extent)>, budget: u64) -> u64 {
    list.sort_unstable_by_key(|(_, _, x)| (x.is_low_priority(), x.batch));
    let mut sum = 0u64;
    let mut cut = list.len();
    for (i, (_, _, x)) in list.iter().enumerate() {
        if sum.saturating_add(x.length) > budget {
            // The whole batch goes.
            let key = (x.is_low_priority(), x.batch);
            cut = list[..i].partition_point(|(_, _, y)| (y.is_low_priority(), y.batch) < key);
            break;
        }
        sum += x.length;
    }
    let capped = list[cut..].iter().map(|(_, _, x)| x.length).sum();
    list.truncate(cut);
    capped
}

/// The disks of a validated playlist, opened and ready (not attached).
pub(crate) struct Built {
    /// One per disk, holding the extents of the volumes found on it.
    pub(crate) disks: KVec<Arc<Disk>>,
    /// Volumes not found.
    pub(crate) missing: KVec<u32>,
    /// Volumes found on disks bootcache does not cache (zoned ones).
    pub(crate) refused: KVec<u32>,
}

/// Opens the disks of a validated playlist and makes their caches (not
/// attached). Changes no statistics: the caller counts the disks it attaches.
///
/// At most `cap` bytes are cached: extents are taken in read-ahead order
/// (batch by batch, low priority last) and the rest is left out, so that an
/// oversized playlist degrades instead of failing.
///
/// With `only`, just the volumes it lists are looked at (volumes that
/// appeared after `start`), and disks in `skip` are left alone: a volume
/// found on one of them is neither cached nor missing.
pub(crate) fn build_disks(
    p: &Plan,
    shared: &Arc<Shared>,
    cap: u64,
    only: Option<&[u32]>,
    skip: &[DevT],
) -> Result<Built> {
    // Each volume's partition, or `None` if it is not there.
    let mut parts: KVec<Option<(Part, DevT)>> = KVec::new();
    let mut missing: KVec<u32> = KVec::new();
    for (vi, v) in p.volumes.iter().enumerate() {
        if only.is_some_and(|o| !o.contains(&(vi as u32))) {
            parts.push(None, GFP_KERNEL)?;
            continue;
        }
        match locate(vi as u16, v) {
            Ok((_, disk)) if skip.contains(&disk) => {
                // A disk being cached already gains no extents on the way.
                pr_info!(
                    "volume {} ({}) appeared on a disk in use; skipped\n",
                    vi,
                    v.id
                );
                parts.push(None, GFP_KERNEL)?;
            }
            Ok(x) => parts.push(Some(x), GFP_KERNEL)?,
            Err(_) => {
                if only.is_none() {
                    pr_info!("volume {} ({}) not found yet\n", vi, v.id);
                }
                missing.push(vi as u32, GFP_KERNEL)?;
                parts.push(None, GFP_KERNEL)?;
            }
        }
    }
    // The first (priority, batch) that does not fit whole under the cap: it
    // and everything after it are left out.
    let mut wanted: KVVec<(bool, u8, u64)> = KVVec::new();
    for (vi, x) in parts.iter().enumerate() {
        if x.is_none() {
            continue;
        }
        for e in p.volume_extents(vi as u32) {
            wanted.push((e.is_low_priority(), e.batch, e.length), GFP_KERNEL)?;
        }
    }
    wanted.sort_unstable_by_key(|&(low, batch, _)| (low, batch));
    let mut sum = 0u64;
    let mut limit: Option<(bool, u8)> = None;
    for &(low, batch, len) in wanted.iter() {
        if sum.saturating_add(len) > cap {
            limit = Some((low, batch));
            break;
        }
        sum += len;
    }
    let keep = |e: &format::Extent| match limit {
        None => true,
        Some(l) => (e.is_low_priority(), e.batch) < l,
    };

    let mut disks: KVec<Arc<Disk>> = KVec::new();
    let mut refused: KVec<u32> = KVec::new();
    let mut done: KVec<DevT> = KVec::new();
    for (_, disk_dev) in parts.iter().flatten() {
        if done.contains(disk_dev) {
            continue;
        }
        done.push(*disk_dev, GFP_KERNEL)?;
        let mut on_disk: KVec<Part> = KVec::new();
        let mut extents: KVVec<(Part, format::Extent)> = KVVec::new();
        let mut capped = 0;
        for (vi, x) in parts.iter().enumerate() {
            if let Some((part, d)) = x {
                if d == disk_dev {
                    on_disk.push(*part, GFP_KERNEL)?;
                    refused.reserve(1, GFP_KERNEL)?;
                    for e in p.volume_extents(vi as u32) {
                        if keep(e) {
                            extents.push((*part, *e), GFP_KERNEL)?;
                        } else {
                            capped += e.length;
                        }
                    }
                }
            }
        }
        let bdev = Arc::new(BlockDevice::open_read(*disk_dev)?, GFP_KERNEL)?;
        if bdev.is_zoned() {
            // Zone appends land where the disk chooses and zone resets
            // change data without a write to see: a cache of it could serve
            // data the disk no longer holds.
            pr_err!(
                "disk {}:{} is zoned; bootcache does not cache zoned disks\n",
                disk_dev.major(),
                disk_dev.minor()
            );
            for part in on_disk.iter() {
                // Room was reserved above.
                refused.push(u32::from(part.volume), GFP_KERNEL)?;
            }
            continue;
        }
        disks.push(
            Disk::new(bdev, on_disk, shared.clone(), &extents, capped)?,
            GFP_KERNEL,
        )?;
    }
    Ok(Built {
        disks,
        missing,
        refused,
    })
}

/// The disks of a session, for those that visit all of them without the
/// control mutex: the shrinker and the releaser. Disks join as they are
/// attached and leave only when the session ends.
#[pin_data]
pub(crate) struct DiskList {
    #[pin]
    disks: SpinLock<KVec<Arc<Disk>>>,
    /// Set when the session ends: the releaser stops.
    closed: AtomicBool,
}

impl DiskList {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(DiskList {
                disks <- new_spinlock!(KVec::new()),
                closed: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// Makes room for one more disk, so that [`DiskList::add`] cannot fail.
    /// Room is made before the lock is taken: reclaim takes this lock, so
    /// nothing may allocate under it. Only the control mutex's holder adds
    /// disks, so the length does not change in between.
    pub(crate) fn reserve(&self) -> Result<KVec<Arc<Disk>>> {
        let len = self.disks.lock().len();
        Ok(KVec::with_capacity(len + 1, GFP_KERNEL)?)
    }

    /// Adds a disk into room made by [`DiskList::reserve`].
    pub(crate) fn add(&self, mut room: KVec<Arc<Disk>>, disk: &Arc<Disk>) {
        let mut g = self.disks.lock();
        if room.capacity() < g.len() + 1 {
            // Cannot happen: see `reserve`. The disk is then visited by
            // neither the shrinker nor the releaser, but the ticker still
            // ends its session.
            return;
        }
        // There is room for all: these pushes allocate nothing.
        for d in g.iter() {
            let _ = room.push(d.clone(), GFP_ATOMIC);
        }
        let _ = room.push(disk.clone(), GFP_ATOMIC);
        *g = room;
    }

    /// Returns disk `i`, if there is one.
    fn get(&self, i: usize) -> Option<Arc<Disk>> {
        self.disks.lock().get(i).cloned()
    }

    /// Ends the releaser's visits.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// Passes parked bios whose wait ran out, every [`TICK_MS`], for as long as
/// its session lasts. It takes no mutex, so that the wait limit is a bound
/// whatever the control path is doing.
#[pin_data]
pub(crate) struct Releaser {
    list: Arc<DiskList>,
    #[pin]
    work: DelayedWork<Releaser>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Releaser { self.work }
}

impl Releaser {
    /// Makes the releaser of a session's disks; [`Releaser::start`] starts it.
    pub(crate) fn new(list: Arc<DiskList>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Releaser {
                list,
                work <- new_delayed_work!("bootcache::Releaser"),
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn start(this: &Arc<Self>) {
        DelayedWork::schedule(this.clone(), TICK_MS);
    }

    /// Stops it: when this returns it is not running and will not run.
    /// Process context.
    pub(crate) fn stop(&self) {
        self.list.close();
        self.work.cancel_sync();
    }
}

impl DelayedWorkItem for Releaser {
    fn run(this: Arc<Self>) {
        if this.list.closed.load(Ordering::Acquire) {
            return;
        }
        // Disks are only ever added, so walking by index sees each once,
        // and needs no memory.
        let mut i = 0;
        while let Some(d) = this.list.get(i) {
            d.tick();
            i += 1;
        }
        DelayedWork::schedule(this, TICK_MS);
    }
}

/// Gives the cache's memory back when the system needs it, and has the
/// cache jettisoned once it holds nothing more.
pub(crate) struct CacheShrinker {
    pub(crate) list: Arc<DiskList>,
    pub(crate) shared: Arc<Shared>,
}

impl Shrinker for CacheShrinker {
    fn count(&self, _sc: &ShrinkControl<'_>) -> usize {
        let held: u64 = self.list.disks.lock().iter().map(|d| d.held()).sum();
        (held / PAGE) as usize
    }

    fn scan(&self, nr_to_scan: usize, _sc: &ShrinkControl<'_>) -> ScanResult {
        // About what reclaim asks for, from the data read-ahead would
        // serve last: see `Disk::shrink`.
        let want = nr_to_scan as u64 * PAGE;
        let (mut given, mut freed, mut held) = (0, 0, 0);
        let mut i = 0;
        while let Some(d) = self.list.get(i) {
            if given < want {
                let (gave, fr) = d.shrink(want - given);
                given += gave;
                freed += fr;
            }
            held += d.held();
            i += 1;
        }
        if held == 0 {
            // Reclaim took everything: the cache has nothing left to give.
            self.shared.request_jettison(reason::MEMORY);
        }
        ScanResult::Freed((freed / PAGE) as usize)
    }
}

/// A disk of a session with its filter attached.
///
/// Dropping it detaches the filter (waiting for running filter calls) and
/// then shuts the disk down, handing every parked bio to the disk: so every
/// path that lets go of a disk, error paths included, leaves no bio behind.
pub(crate) struct Attached {
    pub(crate) disk: Arc<Disk>,
    reg: Option<Pin<KBox<Registration<DiskFilter>>>>,
}

impl Attached {
    /// Attaches a filter to `disk`. Process context; may sleep.
    pub(crate) fn new(disk: &Arc<Disk>) -> Result<Self> {
        let filter = DiskFilter { disk: disk.clone() };
        let reg = KBox::pin_init(Registration::new(&disk.bdev, filter), GFP_KERNEL)?;
        Ok(Self {
            disk: disk.clone(),
            reg: Some(reg),
        })
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // Detach first: then nothing can park any more, and the rest goes
        // to the disk.
        self.reg.take();
        self.disk.shut_down();
    }
}

/// Events a history can gain between the allocation of its room and the
/// stop of its recorder.
const HISTORY_SLACK: usize = 65_536;

/// Everything writing a history out takes, allocated beforehand, so that
/// `stop` can stop the recorder and then write the history without failing
/// for want of memory (and so lose it).
pub(crate) struct HistoryRoom {
    entries: KVVec<Entry>,
    buf: KVVec<u8>,
}

impl HistoryRoom {
    /// Makes room for the history of `volumes` volumes and what `rec`
    /// holds, with room to spare for events recorded until it stops (the
    /// whole log at most: however many it holds, a few MiB at most for a
    /// boot's history, rather than all its capacity up front).
    pub(crate) fn new(volumes: usize, rec: &Recorder) -> Result<Self> {
        let cap = rec.len().saturating_add(HISTORY_SLACK).min(rec.capacity());
        let size = format::file_size(format::Format::History, volumes as u32, cap as u32) as usize;
        Ok(Self {
            entries: KVVec::with_capacity(cap, GFP_KERNEL)?,
            buf: KVVec::from_elem(0u8, size, GFP_KERNEL)?,
        })
    }

    /// Writes the history of `rec`, which has stopped recording.
    pub(crate) fn write(mut self, volumes: &[format::Volume], rec: &Recorder) -> Result<KVVec<u8>> {
        let left_out = rec.collect_into(&mut self.entries);
        // Events that found no room (more arrived before the stop than
        // the slack allows) make the history incomplete, as a full log does.
        let flags = if rec.is_truncated() || left_out > 0 {
            format::HISTORY_TRUNCATED
        } else {
            0
        };
        let len =
            format::write_history(&mut self.buf, flags, volumes, &self.entries).map_err(|e| {
                pr_err!("cannot write the history: {}\n", e);
                EINVAL
            })?;
        self.buf.truncate(len);
        Ok(self.buf)
    }
}
