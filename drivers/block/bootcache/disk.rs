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

use crate::cache::{self, DiskCache, NewExtent, Pace, ReadDecision, PAGE, SECTOR};
use crate::compat;
use crate::filter::{serve, DiskFilter};
use crate::format;
use crate::readahead::{read_ahead_key, sort_read_ahead, CachedPage, Follow, FOLLOW_CHUNKS};
use crate::session::{Reason, Session};
use crate::volume::Part;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::block::bdev::BlockDevice;
use kernel::block::bio::{Bio, BioList};
use kernel::block::filter::Registration;
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::prelude::*;
use kernel::shrinker::{CountObjects, ScanObjects, ShrinkControl, Shrinker};
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// How often the releaser passes parked bios whose wait ran out, and the
/// ticker looks at time limits, in milliseconds.
pub(crate) const TICK_MS: u32 = 100;

/// A bio waiting for read-ahead.
pub(crate) struct Parked {
    /// The read, taken from its submitter.
    pub(crate) bio: Bio,
    /// The first byte it reads, on the disk.
    pub(crate) start: u64,
    /// The bytes it reads.
    pub(crate) len: u64,
    /// When it was parked ([`Session::now_ns`]): its wait is bounded.
    pub(crate) since_ns: u64,
    /// The submitter, for the history.
    pub(crate) pid: u32,
}

/// A disk's state, under its lock.
pub(crate) struct DiskInner {
    /// The state of every cached sector, and the pages.
    pub(crate) cache: DiskCache<CachedPage>,
    /// Reads waiting for read-ahead, in no order.
    pub(crate) parked: KVec<Parked>,
    /// Extent indices in read-ahead order.
    pub(crate) order: KVVec<u32>,
    /// Position in `order` and offset in that extent of the next read.
    pub(crate) pos: usize,
    pub(crate) offset: u64,
    /// Read-ahead bios submitted and not completed yet.
    pub(crate) in_flight: u32,
    /// Set when the disk is shut down: nothing more is read ahead, parked
    /// or served.
    pub(crate) stopped: bool,
    /// How far the walk may go: paced on a disk that takes one command at
    /// a time (see [`Pace`]), not on others.
    pub(crate) pace: Pace,
    /// Where read-ahead goes on after the last demand read-ahead, before
    /// the walk (see [`Disk::follow_chunks`]).
    pub(crate) follow: Option<Follow>,
}

impl DiskInner {
    /// Notes that the boot reads `[start, start + len)`. On a paced disk
    /// this lets the walk go on to the batches the read is in; returns
    /// `true` if it may now read more than before.
    pub(crate) fn reach(&mut self, start: u64, len: u64) -> bool {
        // Not paced, or paced no more: nothing to look up.
        if self.pace.is_open() {
            return false;
        }
        match self.cache.max_batch(start, len) {
            Some(batch) => self.pace.reach(batch),
            None => false,
        }
    }
}

/// One cached disk.
#[pin_data]
pub(crate) struct Disk {
    /// The whole disk, open for reading.
    pub(crate) bdev: Arc<BlockDevice>,
    /// The partitions of its volumes; changed only under the control mutex
    /// (an appended playlist may add one).
    #[pin]
    parts: SpinLock<KVec<Part>>,
    /// The session it is cached in.
    pub(crate) session: Arc<Session>,
    /// The most read-ahead bios in flight: two on a rotational disk, whose
    /// head the boot's own reads share, and four on others.
    pub(crate) max_in_flight: u32,
    /// The size of a read-ahead bio, in bytes: what the disk takes at once,
    /// between 64 KiB and 1 MiB.
    pub(crate) chunk: u64,
    /// How many chunks read-ahead reads next to a demand read-ahead, ahead
    /// of the walk: [`FOLLOW_CHUNKS`] on a disk that takes one command at a
    /// time, 0 on others.
    pub(crate) follow_chunks: u8,
    /// Bytes of playlist extents it caches; appends add to it.
    pub(crate) bytes: AtomicU64,
    /// Bytes of its volumes' extents that the memory cap left out.
    pub(crate) capped: u64,
    /// The disk's state, under its spin lock (see the module's
    /// documentation).
    #[pin]
    pub(crate) inner: SpinLock<DiskInner>,
    /// Issues demand read-aheads for reads that parked (see
    /// [`Disk::kick_demand`]).
    #[pin]
    demand: Work<Disk>,
}

impl_has_work! {
    impl HasWork<Self> for Disk { self.demand }
}

impl WorkItem for Disk {
    type Pointer = Arc<Disk>;

    fn run(this: Arc<Disk>) {
        // `pump` counts its own CPU time.
        this.pump();
    }
}

/// Extents to add to a disk in use, with all the memory that takes.
pub(crate) struct Append {
    /// The new extents, clipped to what the cache does not hold yet.
    extents: KVVec<cache::Extent<CachedPage>>,
    /// Room for all the extents, old and new.
    room: KVVec<cache::Extent<CachedPage>>,
    /// Room for the read-ahead order of all the extents.
    order: KVVec<u32>,
    /// The partitions of the disk's volumes, old and new.
    parts: KVec<Part>,
    /// The bytes the new extents add.
    bytes: u64,
    /// The read-ahead key of the first new extent.
    first: Option<(bool, u8, u64)>,
}

/// Bios to finish once the lock is dropped: those served from the cache,
/// to end, and those to hand to the disk. Collecting them allocates
/// nothing, so no bio is ever held back for want of memory.
#[derive(Default)]
pub(crate) struct Settled {
    end: BioList,
    pass: BioList,
}

impl Settled {
    /// Adds a served bio, to be ended by [`Settled::finish`].
    pub(crate) fn end_later(&mut self, bio: Bio) {
        self.end.push(bio);
    }

    /// Ends and resubmits the bios. Process context: resubmitting may sleep.
    pub(crate) fn finish(self) {
        let Settled { end, pass } = self;
        for bio in end {
            bio.end(Ok(()));
        }
        for bio in pass {
            bio.resubmit();
        }
    }
}

/// Extent `x` of the volume on `part`, in bytes of the disk, widened to
/// whole sectors (the unit of sector state and of reads).
fn disk_extent(part: &Part, extent: &format::Extent) -> NewExtent {
    let start = (part.start + extent.offset) & !(SECTOR - 1);
    let end = (part.start + extent.offset + extent.length).next_multiple_of(SECTOR);
    NewExtent {
        start,
        len: end - start,
        batch: extent.batch,
        low_priority: extent.is_low_priority(),
        keep: extent.keeps(),
        volume: part.volume,
    }
}

/// Makes cache extents of `extents` (pairs of a partition and an extent of
/// its volume), clipped to what neither `existing` nor an earlier extent
/// covers, sorted by disk offset. Extents are clipped to the end of their
/// partition (a medium a little shorter than the one recorded), and those
/// that start beyond it are dropped. Returns them and their bytes.
/// `O(n log n)`.
fn make_extents(
    existing: &[(u64, u64)],
    extents: &[(Part, format::Extent)],
) -> Result<(KVVec<cache::Extent<CachedPage>>, u64)> {
    let mut wanted = KVVec::with_capacity(extents.len(), GFP_KERNEL)?;
    for (part, extent) in extents {
        if extent.offset >= part.len {
            continue;
        }
        let clipped = format::Extent {
            length: extent.length.min(part.len - extent.offset),
            ..*extent
        };
        wanted.push(disk_extent(part, &clipped), GFP_KERNEL)?;
    }
    let mut pieces = KVVec::new();
    cache::clip_new(existing, &mut wanted, &mut pieces).map_err(|_| ENOMEM)?;
    let mut made = KVVec::with_capacity(pieces.len(), GFP_KERNEL)?;
    let mut bytes = 0;
    for piece in pieces.iter() {
        made.push(
            cache::Extent::new(
                piece.start,
                piece.len,
                piece.batch,
                piece.low_priority,
                piece.keep,
                piece.volume,
            )
            .map_err(|_| ENOMEM)?,
            GFP_KERNEL,
        )?;
        bytes += piece.len;
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
        session: Arc<Session>,
        extents: &[(Part, format::Extent)],
        capped: u64,
    ) -> Result<Arc<Self>> {
        let (made, bytes) = make_extents(&[], extents)?;
        let count = made.len();
        let mut cache = DiskCache::new();
        if !cache.absorb(made, KVVec::with_capacity(count, GFP_KERNEL)?) {
            return Err(EINVAL);
        }
        let mut order = KVVec::with_capacity(count, GFP_KERNEL)?;
        sort_read_ahead(&mut order, &cache);
        let rotational = bdev.is_rotational();
        // A drive that takes one command at a time (an optical drive, a
        // USB stick) is paced from the first batch in read-ahead order, so
        // that it is free for the boot's other commands, which bootcache
        // does not see, until the boot reads on, and reads next to a
        // demand read-ahead before the walk goes on (see `Pace`,
        // `FOLLOW_CHUNKS`, and the module's documentation in `readahead`).
        let (pace, follow_chunks) = if bdev.queue_depth() == 1 {
            let first = order
                .first()
                .and_then(|&i| cache.extent(i as usize))
                .map_or(0, |e| e.batch);
            (Pace::new(first), FOLLOW_CHUNKS)
        } else {
            (Pace::OFF, 0)
        };
        let chunk =
            (u64::from(bdev.max_sectors()) * 512).clamp(64 * 1024, 1024 * 1024) & !(PAGE - 1);
        Arc::pin_init(
            pin_init!(Disk {
                bdev,
                parts <- new_spinlock!(parts),
                session,
                max_in_flight: if rotational { 2 } else { 4 },
                chunk,
                follow_chunks,
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
                    pace,
                    follow: None,
                }),
                demand <- new_work!("bootcache::Disk::demand"),
            }),
            GFP_KERNEL,
        )
    }

    /// Has read-ahead issue demand read-aheads for the parked reads, from a
    /// work item (process context, where pages may be allocated with
    /// `GFP_KERNEL` and a bio submitted). Any context; allocates nothing.
    /// If the work is queued already, that run sees this read too.
    pub(crate) fn kick_demand(this: Arc<Self>) {
        let _ = workqueue::system().enqueue(this);
    }

    /// Serves or passes parked bios that no longer wait. Called with the lock
    /// held; returns what to finish after it is dropped.
    pub(crate) fn settle(&self, inner: &mut DiskInner) -> Settled {
        let mut settled = Settled::default();
        let now = self.session.now_ns();
        let limit = self.session.wait_limit_ns;
        let stats = &self.session.stats;
        let mut index = 0;
        while index < inner.parked.len() {
            let parked = &inner.parked[index];
            let decision = if inner.stopped {
                ReadDecision::Miss
            } else {
                inner.cache.classify_read(parked.start, parked.len)
            };
            let expired = now.saturating_sub(parked.since_ns) >= limit;
            if decision == ReadDecision::Wait && !expired {
                index += 1;
                continue;
            }
            let Some(mut parked) = inner.parked.swap_remove(index) else {
                break;
            };
            stats
                .parked_wait_ns
                .fetch_add(now.saturating_sub(parked.since_ns), Ordering::Relaxed);
            // Settling runs under the lock, where nothing may allocate: a
            // parked bio's data is copied here, with no room for released
            // pages to copy later.
            let served = if decision == ReadDecision::Hit {
                serve(
                    &mut inner.cache,
                    &mut parked.bio,
                    parked.start,
                    parked.len,
                    &mut KVVec::new(),
                )
            } else {
                None
            };
            if let Some(rehit) = served {
                stats.parked_hits.fetch_add(1, Ordering::Relaxed);
                self.count_hit(
                    &parked.bio,
                    format::ENTRY_WAITED,
                    rehit,
                    parked.since_ns,
                    parked.pid,
                );
                settled.end.push(parked.bio);
                continue;
            }
            if decision == ReadDecision::Wait {
                stats.parked_timeouts.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.parked_passed.fetch_add(1, Ordering::Relaxed);
            }
            // It waited, but the data came from the disk: a plain read.
            if !inner.stopped {
                let held = inner.cache.servable_bytes(parked.start, parked.len);
                stats.partial_miss_bytes.fetch_add(held, Ordering::Relaxed);
            }
            self.count_miss(&parked.bio, parked.since_ns, parked.pid);
            settled.pass.push(parked.bio);
        }
        settled
    }

    /// The releaser's visit: passes parked bios whose wait ran out (or
    /// whose blocks a write or the shrinker took away meanwhile).
    pub(crate) fn tick(&self) {
        let settled = {
            let mut inner = self.inner.lock();
            self.settle(&mut inner)
        };
        settled.finish();
    }

    /// Stops read-ahead, drops the cache and hands every parked bio to the
    /// disk. The filter must be detached (or stop parking: `stopped` is set
    /// here, under the lock the filter takes).
    pub(crate) fn shut_down(&self) {
        let settled = {
            let mut inner = self.inner.lock();
            inner.stopped = true;
            inner.cache.clear();
            self.settle(&mut inner)
        };
        settled.finish();
    }

    /// Gives memory back (the shrinker): `want` bytes of pages, from the
    /// extents that read-ahead comes to last, from their ends backwards;
    /// pages not read yet count too, as memory read-ahead will not take.
    /// What is given up is not read ahead any more; reads of it go to the
    /// disk. Parked bios are left for the releaser, which passes them to the
    /// disk: this runs in reclaim, where submitting I/O is not allowed.
    /// Returns the bytes given up and, of those, the bytes freed.
    pub(crate) fn shrink(&self, want: u64) -> (u64, u64) {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let (mut given, mut freed) = (0, 0);
        for &index in inner.order.iter().rev() {
            if given >= want {
                break;
            }
            let (gave, fr) = inner.cache.shed(index as usize, want - given);
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
        let mut volumes = KVec::with_capacity(n, GFP_KERNEL)?;
        for part in self.parts.lock().iter() {
            // Room is reserved: no allocation under the lock.
            if volumes.len() < volumes.capacity() {
                volumes.push(u32::from(part.volume), GFP_ATOMIC)?;
            }
        }
        Ok(volumes)
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
        let old_count = self.inner.lock().cache.extents().len();
        let mut ranges: KVVec<(u64, u64)> = KVVec::with_capacity(old_count, GFP_KERNEL)?;
        for range in self.inner.lock().cache.ranges() {
            // Room is reserved: no allocation under the lock.
            if compat::push_within(&mut ranges, range).is_err() {
                break;
            }
        }
        let (new, bytes) = make_extents(&ranges, extents)?;
        let first = new.iter().map(read_ahead_key).min();
        let total = old_count + new.len();
        let part_count = self.parts.lock().len();
        let mut all_parts = KVec::with_capacity(part_count + parts.len(), GFP_KERNEL)?;
        for part in self.parts.lock().iter() {
            // Room is reserved: no allocation under the lock.
            if all_parts.len() < part_count {
                all_parts.push(*part, GFP_ATOMIC)?;
            }
        }
        for part in parts {
            if !all_parts
                .iter()
                .any(|known: &Part| known.volume == part.volume)
            {
                all_parts.push(*part, GFP_KERNEL)?;
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
    pub(crate) fn append(self: &Arc<Self>, prepared: Append) -> u64 {
        let Append {
            extents,
            room,
            mut order,
            parts,
            bytes,
            first,
        } = prepared;
        let Some(first) = first else {
            *self.parts.lock() = parts;
            return 0;
        };
        {
            let mut inner = self.inner.lock();
            if inner.stopped {
                return 0;
            }
            // Where the walk is: the key of the extent it is in.
            let here = inner
                .order
                .get(inner.pos)
                .and_then(|&i| inner.cache.extent(i as usize))
                .map(read_ahead_key);
            if !inner.cache.absorb(extents, room) {
                return 0;
            }
            sort_read_ahead(&mut order, &inner.cache);
            let ext = inner.cache.extents();
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
                inner.offset = 0;
            }
            inner.pos = pos;
            inner.order = order;
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
        let mut disks = self.disks.lock();
        if room.capacity() < disks.len() + 1 {
            // Cannot happen: see `reserve`. The disk is then visited by
            // neither the shrinker nor the releaser, but the ticker still
            // ends its session.
            return;
        }
        // There is room for all: these pushes allocate nothing.
        for disk in disks.iter() {
            let _ = room.push(disk.clone(), GFP_ATOMIC);
        }
        let _ = room.push(disk.clone(), GFP_ATOMIC);
        *disks = room;
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
        let mut index = 0;
        while let Some(disk) = this.list.get(index) {
            disk.tick();
            index += 1;
        }
        DelayedWork::schedule(this, TICK_MS);
    }
}

/// Gives the cache's memory back when the system needs it, and has the
/// cache jettisoned once it holds nothing more.
pub(crate) struct CacheShrinker {
    pub(crate) list: Arc<DiskList>,
    pub(crate) session: Arc<Session>,
}

impl Shrinker for CacheShrinker {
    type Ptr = KBox<Self>;

    fn count_objects(me: &Self, _sc: ShrinkControl<'_>) -> CountObjects {
        let held: u64 = me.list.disks.lock().iter().map(|d| d.held()).sum();
        CountObjects::new((held / PAGE) as usize)
    }

    fn scan_objects(me: &Self, sc: ShrinkControl<'_>) -> ScanObjects {
        // About what reclaim asks for, from the data read-ahead would
        // serve last: see `Disk::shrink`.
        let want = sc.nr_to_scan() as u64 * PAGE;
        let (mut given, mut freed, mut held) = (0, 0, 0);
        let mut index = 0;
        while let Some(disk) = me.list.get(index) {
            if given < want {
                let (gave, fr) = disk.shrink(want - given);
                given += gave;
                freed += fr;
            }
            held += disk.held();
            index += 1;
        }
        if held == 0 {
            // Reclaim took everything: the cache has nothing left to give.
            me.session.request_jettison(Reason::Memory);
        }
        ScanObjects::from_count((freed / PAGE) as usize)
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
        let reg = KBox::pin_init(
            Registration::<DiskFilter>::new(&disk.bdev, disk.clone()),
            GFP_KERNEL,
        )?;
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
