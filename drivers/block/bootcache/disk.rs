// SPDX-License-Identifier: GPL-2.0

//! A cached disk: its cache, the bios parked on it, and its life in a
//! session (attached, visited, shrunk, shut down).
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

use crate::cache::{self, DiskCache, NewExtent, ReadDecision, PAGE, SECTOR};
use crate::compat;
use crate::filter::{serve, DiskFilter};
use crate::format;
use crate::readahead::{read_ahead_key, sort_read_ahead, CPage};
use crate::session::{reason, Shared};
use crate::volume::Part;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::block::bdev::BlockDevice;
use kernel::block::bio::{Bio, BioList};
use kernel::block::filter::Registration;
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::prelude::*;
use kernel::shrinker::{ScanResult, ShrinkControl, Shrinker};
use kernel::sync::{new_spinlock, Arc, SpinLock};

/// How often the releaser passes parked bios whose wait ran out, and the
/// ticker looks at time limits, in milliseconds.
pub(crate) const TICK_MS: u32 = 100;

/// A bio waiting for read-ahead.
pub(crate) struct Parked {
    pub(crate) bio: Bio,
    pub(crate) start: u64,
    pub(crate) len: u64,
    pub(crate) since_ns: u64,
    /// The submitter, for the history.
    pub(crate) pid: u32,
}

/// A disk's state, under its lock.
pub(crate) struct DiskInner {
    pub(crate) cache: DiskCache<CPage>,
    pub(crate) parked: KVec<Parked>,
    /// Extent indices in read-ahead order.
    pub(crate) order: KVVec<u32>,
    /// Position in `order` and offset in that extent of the next read.
    pub(crate) pos: usize,
    pub(crate) offset: u64,
    pub(crate) in_flight: u32,
    pub(crate) stopped: bool,
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
    pub(crate) max_in_flight: u32,
    pub(crate) chunk: u64,
    /// Bytes of playlist extents it caches; appends add to it.
    pub(crate) bytes: AtomicU64,
    /// Bytes of its volumes' extents that the memory cap left out.
    pub(crate) capped: u64,
    #[pin]
    pub(crate) inner: SpinLock<DiskInner>,
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
pub(crate) struct Finish {
    end: BioList,
    pass: BioList,
}

impl Finish {
    /// Ends and resubmits the bios. Process context: resubmitting may sleep.
    pub(crate) fn run(self) {
        let Finish { end, pass } = self;
        for b in end {
            b.end(Ok(()));
        }
        for b in pass {
            b.resubmit();
        }
    }
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

    /// Serves or passes parked bios that no longer wait. Called with the lock
    /// held; returns what to finish after it is dropped.
    pub(crate) fn settle(&self, g: &mut DiskInner) -> Finish {
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

    pub(crate) fn part_of(&self, bio: &Bio) -> Option<Part> {
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
