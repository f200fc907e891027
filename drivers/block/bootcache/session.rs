// SPDX-License-Identifier: GPL-2.0

//! A cache session: start, append, stop (recording), jettison, and the
//! ticker that looks after a running one.

use crate::boot::param::Mode;
use crate::disk::{Attached, CacheShrinker, Disk, DiskList, Releaser, TICK_MS};
use crate::format::{self, Entry};
use crate::history::Recorder;
use crate::plan::{self, Plan};
use crate::stats::Stats;
use crate::volume::{self, Part};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::prelude::*;
use kernel::shrinker;
use kernel::sync::{new_mutex, new_spinlock, Arc, Mutex, SpinLock};
use kernel::time::Ktime;

/// Below this much RAM bootcache does not start (as the kext).
const MIN_RAM_BYTES: u64 = 256 << 20;

/// The smallest history log, for sessions that do not record.
const MIN_HISTORY_ENTRIES: usize = 16;

/// While volumes are missing early in a session (a boot whose disks are still
/// being probed), the ticker looks for them this often instead, so that a
/// disk is attached before the boot's first reads of it.
const FAST_TICK_MS: u32 = 5;

/// How long into a session the ticker may look that often.
const FAST_TICK_FOR_MS: u64 = 30_000;

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

/// A running cache session.
pub(crate) struct Active {
    /// Dropped first when the session ends: no shrinker call runs once its
    /// disks are torn down.
    shrinker: shrinker::Registration<CacheShrinker>,
    releaser: Arc<Releaser>,
    disks: KVec<Attached>,
    list: Arc<DiskList>,
    shared: Arc<Shared>,
    /// Volumes not found yet; the ticker looks for them while recording.
    pending: KVec<u32>,
    /// The most the cache may hold, in bytes.
    cap: u64,
}

impl Active {
    /// Returns the playlist bytes its disks cache.
    fn cached_bytes(&self) -> u64 {
        self.disks
            .iter()
            .map(|a| a.disk.bytes.load(Ordering::Relaxed))
            .sum()
    }

    /// Returns the bytes the cache may still take.
    fn budget(&self) -> u64 {
        self.cap.saturating_sub(self.cached_bytes())
    }

    /// Sets the figures that follow from the session's disks and missing
    /// volumes: recomputed whole after every change, never adjusted.
    fn refresh_sizes(&self, plan: &Plan) {
        let stats = &self.shared.stats;
        stats
            .playlist_bytes
            .store(self.cached_bytes(), Ordering::Relaxed);
        let missing = self.pending.iter().map(|&v| plan.volume_bytes(v)).sum();
        stats.missing_volume_bytes.store(missing, Ordering::Relaxed);
    }
}

/// What `control` and the files around it change, under one mutex.
pub(crate) struct ControlInner {
    /// The playlist as written so far.
    pub(crate) staged: KVVec<u8>,
    /// A complete, validated playlist, waiting for `start`.
    pub(crate) ready: Option<KVVec<u8>>,
    /// The plan of the current or last session (its volumes name those of
    /// its history).
    in_use: Option<Plan>,
    pub(crate) active: Option<Active>,
    pub(crate) recorder: Option<Arc<Recorder>>,
    /// The history, written out once recording stopped.
    pub(crate) history: Option<KVVec<u8>>,
    pub(crate) last_reason: u32,
    /// Bumped by every start and jettison; a ticker of an older session
    /// stops.
    generation: u64,
}

/// The state behind `/sys/kernel/bootcache/`.
#[pin_data]
pub(crate) struct Control {
    /// The statistics of the current or last session. Every session has its
    /// own, so that an old session's read-ahead still completing cannot
    /// touch the new one's figures.
    #[pin]
    stats: SpinLock<Arc<Stats>>,
    pub(crate) tunables: Tunables,
    /// What `bootcache=` asked for.
    pub(crate) boot: Mode,
    /// Bytes of the playlist built into the kernel image.
    pub(crate) embedded: usize,
    #[pin]
    pub(crate) inner: Mutex<ControlInner>,
}

impl Control {
    /// Makes the state behind `/sys/kernel/bootcache/`, with no session:
    /// `boot` is what `bootcache=` asked for, `embedded` the bytes of the
    /// playlist built into the kernel image.
    pub(crate) fn new(boot: Mode, embedded: usize) -> Result<Arc<Self>> {
        let stats = Arc::new(Stats::default(), GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Control {
                stats <- new_spinlock!(stats),
                tunables: Tunables::new(),
                boot,
                embedded,
                inner <- new_mutex!(ControlInner {
                    staged: KVVec::new(),
                    ready: None,
                    in_use: None,
                    active: None,
                    recorder: None,
                    history: None,
                    last_reason: reason::NONE,
                    generation: 0,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// Returns the statistics of the current or last session.
    pub(crate) fn stats(&self) -> Arc<Stats> {
        self.stats.lock().clone()
    }

    pub(crate) fn start(self: &Arc<Self>) -> Result {
        let mut g = self.inner.lock();
        if g.active.is_some() {
            pr_err!("start: already caching\n");
            return Err(EBUSY);
        }
        let Some(bytes) = g.ready.take() else {
            if g.staged.is_empty() {
                pr_err!("start: no playlist\n");
            } else {
                pr_err!(
                    "start: the playlist is incomplete ({} bytes)\n",
                    g.staged.len()
                );
            }
            return Err(EINVAL);
        };
        // It was validated when it arrived.
        let plan = format::Playlist::parse(&bytes)
            .map_err(|_| EINVAL)
            .and_then(|p| Plan::from_playlist(&p));
        let res = plan.and_then(|plan| self.start_plan(&mut g, plan, true, false));
        if res.is_err() {
            // Nothing changed: the playlist stays ready for another try.
            g.ready = Some(bytes);
        }
        res
    }

    /// Records a history of the root file system's partition, with nothing
    /// to read ahead (`record` in `control`, and `bootcache=record`). With
    /// `wait`, the partition may appear later.
    pub(crate) fn record(self: &Arc<Self>, wait: bool) -> Result {
        let mut g = self.inner.lock();
        if g.active.is_some() {
            pr_err!("record: already caching\n");
            return Err(EBUSY);
        }
        let plan = Plan::record_only(volume::root_volume())?;
        self.start_plan(&mut g, plan, true, wait)
    }

    /// Starts a session: finds the plan's volumes, attaches to their disks,
    /// reads ahead and, with `record`, records. Volumes not there yet are
    /// looked for later; unless `wait`, at least one must be there now.
    /// Everything that can fail comes first: on an error nothing changed.
    pub(crate) fn start_plan(
        self: &Arc<Self>,
        g: &mut ControlInner,
        plan: Plan,
        record: bool,
        wait: bool,
    ) -> Result {
        let ram = kernel::meminfo::total_ram_bytes();
        if ram < MIN_RAM_BYTES {
            pr_err!(
                "start: {} MiB of RAM is below the {} MiB bootcache needs\n",
                ram >> 20,
                MIN_RAM_BYTES >> 20
            );
            return Err(ENOMEM);
        }
        let t = &self.tunables;
        // Without a history to keep, the log stays at its smallest.
        let entries = if record {
            t.history_entries.load(Ordering::Relaxed) as usize
        } else {
            MIN_HISTORY_ENTRIES
        };
        let recorder = Arc::new(Recorder::new(entries).map_err(|_| ENOMEM)?, GFP_KERNEL)?;
        let stats = Arc::new(Stats::default(), GFP_KERNEL)?;
        let shared = Arc::new(
            Shared {
                stats: stats.clone(),
                recorder: recorder.clone(),
                wait_limit_ns: u64::from(t.wait_limit_ms.load(Ordering::Relaxed)) * 1_000_000,
                miss_limit: t.miss_limit.load(Ordering::Relaxed),
                t0: Ktime::ktime_get(),
                jettison: Default::default(),
                count_misses: Default::default(),
                misses_since_hit: Default::default(),
            },
            GFP_KERNEL,
        )?;
        let cap = ram / 2;
        let built = volume::build_disks(&plan, &shared, cap, None, &[])?;
        if !built.refused.is_empty() {
            pr_err!("start: a volume of the playlist is on a disk bootcache does not cache\n");
            return Err(EOPNOTSUPP);
        }
        if built.disks.is_empty() && !wait {
            pr_err!("start: none of the playlist's volumes was found\n");
            return Err(ENODEV);
        }
        let list = DiskList::new()?;
        // On an error below, dropping `disks` detaches what was attached.
        let mut disks = KVec::with_capacity(built.disks.len(), GFP_KERNEL)?;
        for d in built.disks.iter() {
            let room = list.reserve()?;
            disks.push(attach(d, "start")?, GFP_KERNEL)?;
            list.add(room, d);
        }
        let shrinker = shrinker::Registration::new(
            c_str!("bootcache"),
            CacheShrinker {
                list: list.clone(),
                shared: shared.clone(),
            },
        )?;
        let releaser = Releaser::new(list.clone())?;
        let ticker = Ticker::new(self.clone(), g.generation + 1)?;

        // Nothing fails from here on.
        stats.cache_limit_bytes.store(cap, Ordering::Relaxed);
        for a in disks.iter() {
            stats
                .capped_bytes
                .fetch_add(a.disk.capped, Ordering::Relaxed);
        }
        *self.stats.lock() = stats.clone();
        if record {
            recorder.start();
        }
        g.generation += 1;
        g.recorder = Some(recorder);
        g.history = None;
        g.last_reason = reason::NONE;
        let active = Active {
            shrinker,
            releaser,
            disks,
            list,
            shared,
            pending: built.missing,
            cap,
        };
        active.refresh_sizes(&plan);
        for a in active.disks.iter() {
            a.disk.pump();
        }
        Releaser::start(&active.releaser);
        pr_info!(
            "started: {} bytes on {} disk(s){}\n",
            stats.playlist_bytes.load(Ordering::Relaxed),
            active.disks.len(),
            if record { ", recording" } else { "" }
        );
        g.active = Some(active);
        g.in_use = Some(plan);
        DelayedWork::schedule(ticker, TICK_MS);
        Ok(())
    }

    /// Looks for volumes that were missing at `start`, and caches those that
    /// appeared, on disks not cached yet. A volume leaves the missing ones
    /// only once its disk is attached (or bootcache refused that disk).
    fn find_late_volumes(&self, g: &mut ControlInner) -> Result {
        let (Some(plan), Some(a)) = (g.in_use.as_ref(), g.active.as_mut()) else {
            return Ok(());
        };
        if a.pending.is_empty() {
            return Ok(());
        }
        let mut in_use = KVec::with_capacity(a.disks.len(), GFP_KERNEL)?;
        for att in a.disks.iter() {
            in_use.push(att.disk.bdev.disk_dev(), GFP_KERNEL)?;
        }
        let built = volume::build_disks(plan, &a.shared, a.budget(), Some(&a.pending), &in_use)?;
        let mut still = KVec::with_capacity(a.pending.len(), GFP_KERNEL)?;
        for &v in built.missing.iter() {
            still.push(v, GFP_KERNEL)?;
        }
        for &v in built.refused.iter() {
            pr_err!(
                "volume {} is on a disk bootcache does not cache; left out\n",
                v
            );
        }
        a.disks.reserve(built.disks.len(), GFP_KERNEL)?;
        for d in built.disks.iter() {
            let volumes = d.volumes()?;
            match a
                .list
                .reserve()
                .and_then(|room| Ok((room, attach(d, "appeared")?)))
            {
                Ok((room, att)) => {
                    a.list.add(room, d);
                    a.shared
                        .stats
                        .capped_bytes
                        .fetch_add(d.capped, Ordering::Relaxed);
                    // Room was reserved above.
                    a.disks.push(att, GFP_KERNEL)?;
                    for v in volumes.iter() {
                        pr_info!("volume {} appeared\n", v);
                    }
                    d.pump();
                }
                // A disk bootcache cannot cache is not tried again.
                Err(e) if e == EOPNOTSUPP => {}
                Err(_) => {
                    // Tried again at the next tick.
                    for &v in volumes.iter() {
                        still.push(v, GFP_KERNEL)?;
                    }
                }
            }
        }
        a.pending = still;
        a.refresh_sizes(plan);
        Ok(())
    }

    /// Appends a validated playlist to the session's: its extents are read
    /// ahead after everything queued (in batches after the current ones),
    /// on the disks in use now and on disks found later. Either all of it is
    /// taken or, with an error, nothing changes.
    pub(crate) fn append(&self, g: &mut ControlInner, bytes: &[u8]) -> Result {
        let (Some(old), Some(a)) = (g.in_use.as_ref(), g.active.as_mut()) else {
            return Err(EINVAL);
        };
        let new = format::Playlist::parse(bytes).map_err(|_| EINVAL)?;
        let (merged, map) = old.append(&new)?;
        let shift = old.batches;
        // The new extents of volumes on disks in use, and the volumes to
        // look for later.
        let mut found: KVVec<(usize, Part, format::Extent)> = KVVec::new();
        let mut later: KVec<u32> = KVec::new();
        for (i, &m) in map.iter().enumerate() {
            if map[..i].contains(&m) {
                continue;
            }
            if a.pending.contains(&u32::from(m)) {
                // Still missing: all its extents, old and new, join when it
                // appears.
                later.push(u32::from(m), GFP_KERNEL)?;
                continue;
            }
            let on_disk = a
                .disks
                .iter()
                .enumerate()
                .find_map(|(di, att)| att.disk.part(m).map(|p| (di, p)));
            let place = match on_disk {
                Some(x) => Some(x),
                None => merged.volumes.get(usize::from(m)).and_then(|v| {
                    let (part, disk) = volume::locate(m, v).ok()?;
                    let di = a
                        .disks
                        .iter()
                        .position(|att| att.disk.bdev.disk_dev() == disk)?;
                    Some((di, part))
                }),
            };
            let Some((di, part)) = place else {
                later.push(u32::from(m), GFP_KERNEL)?;
                continue;
            };
            for x in merged.volume_extents(u32::from(m)) {
                if u32::from(x.batch) >= shift {
                    found.push((di, part, *x), GFP_KERNEL)?;
                }
            }
        }
        let capped = plan::cap_extents(&mut found, a.budget());
        // Everything that can fail comes before anything changes.
        let mut prepared = KVec::with_capacity(a.disks.len(), GFP_KERNEL)?;
        for (di, att) in a.disks.iter().enumerate() {
            let mut parts = KVec::new();
            let mut extents = KVVec::new();
            for (_, part, x) in found.iter().filter(|(i, _, _)| *i == di) {
                if !parts.iter().any(|p: &Part| p.volume == part.volume) {
                    parts.push(*part, GFP_KERNEL)?;
                }
                extents.push((*part, *x), GFP_KERNEL)?;
            }
            prepared.push(att.disk.prepare_append(&parts, &extents)?, GFP_KERNEL)?;
        }
        a.pending.reserve(later.len(), GFP_KERNEL)?;
        for (prep, att) in prepared.into_iter().zip(a.disks.iter()) {
            att.disk.append(prep);
        }
        let stats = &a.shared.stats;
        stats.capped_bytes.fetch_add(capped, Ordering::Relaxed);
        for &m in later.iter() {
            if !a.pending.contains(&m) {
                // Room was reserved above.
                a.pending.push(m, GFP_KERNEL)?;
            }
        }
        stats.playlist_appends.fetch_add(1, Ordering::Relaxed);
        pr_info!(
            "appended a playlist: {} bytes in {} extents\n",
            new.total_bytes(),
            new.extent_count()
        );
        a.refresh_sizes(&merged);
        g.in_use = Some(merged);
        // Volumes that are on disks not in use yet join now.
        if let Err(e) = self.find_late_volumes(g) {
            pr_err!("appended volumes on other disks: {:?}\n", e);
        }
        Ok(())
    }

    /// Ends recording and writes the history out. All or nothing: the
    /// memory the history takes is allocated while recording goes on, so a
    /// failure leaves recording on and a later `stop` can succeed.
    pub(crate) fn stop_recording(&self, g: &mut ControlInner) -> Result {
        let Some(rec) = g.recorder.clone() else {
            return Err(EINVAL);
        };
        if !rec.is_recording() {
            return Ok(());
        }
        let Some(plan) = g.in_use.as_ref() else {
            return Err(EINVAL);
        };
        let room = HistoryRoom::new(plan.volumes.len(), &rec)?;
        rec.stop();
        let blob = match room.write(&plan.volumes, &rec) {
            Ok(blob) => blob,
            Err(e) => {
                rec.start();
                return Err(e);
            }
        };
        if let Some(a) = g.active.as_ref() {
            // From now on a run of misses ends the cache; a session that only
            // recorded has nothing left to do.
            a.shared.count_misses.store(true, Ordering::Relaxed);
            if plan.extents.is_empty() {
                a.shared.request_jettison(reason::RECORDED);
            }
        }
        g.history = Some(blob);
        Ok(())
    }

    pub(crate) fn tag(&self) -> Result {
        let g = self.inner.lock();
        let (Some(rec), Some(a)) = (g.recorder.as_ref(), g.active.as_ref()) else {
            return Err(EINVAL);
        };
        if !rec.is_recording() {
            return Err(EINVAL);
        }
        let e = format::Entry::tag(a.shared.now_ns(), kernel::current!().pid() as u32);
        let stats = &a.shared.stats;
        if rec.record(&e) {
            stats.history_events.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.history_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Leaves the I/O path: detaches the filters, hands parked bios to the
    /// disk and frees the cache. Process context, never inside a filter call.
    pub(crate) fn jettison(&self, why: u32) -> Result {
        let active = {
            let mut g = self.inner.lock();
            self.end_session(&mut g, why)?
        };
        self.tear_down(active, why);
        Ok(())
    }

    /// Takes the session out of the control state, under the mutex, so that
    /// the decision to end it and its end are one step.
    fn end_session(&self, g: &mut ControlInner, why: u32) -> Result<Active> {
        let Some(active) = g.active.take() else {
            return Err(EINVAL);
        };
        let _ = self.stop_recording(g);
        g.last_reason = why;
        g.generation += 1;
        Ok(active)
    }

    /// Tears down a session [`Control::end_session`] took out, after the
    /// mutex is dropped: it waits for filter calls and the shrinker.
    fn tear_down(&self, active: Active, why: u32) {
        let Active {
            shrinker,
            releaser,
            disks,
            shared,
            ..
        } = active;
        // No more shrinker calls (this waits for a running one).
        drop(shrinker);
        releaser.stop();
        // Each disk: detach, then hand the parked bios to the disk.
        drop(disks);
        let stats = &shared.stats;
        let counter = match why {
            reason::MISSES => Some(&stats.jettison_misses),
            reason::MEMORY => Some(&stats.jettison_memory),
            reason::DISK_GONE | reason::MEDIUM_CHANGED => Some(&stats.jettison_disk_gone),
            reason::COMMAND => Some(&stats.jettison_command),
            _ => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        pr_info!("jettisoned ({})\n", reason::name(why));
    }

    pub(crate) fn state(&self) -> &'static str {
        if self.inner.lock().active.is_some() {
            "active"
        } else {
            "idle"
        }
    }
}

/// Attaches a filter to `d`, saying why not if it cannot (`what`: the
/// occasion, for the message).
fn attach(d: &Arc<Disk>, what: &str) -> Result<Attached> {
    Attached::new(d).inspect_err(|&e| {
        let dev = d.bdev.disk_dev();
        if e == EOPNOTSUPP {
            pr_err!(
                "{}: disk {}:{} is bio-based (device-mapper, md): its writes in flight cannot be seen, so bootcache does not cache it\n",
                what,
                dev.major(),
                dev.minor()
            );
        } else {
            pr_err!(
                "{}: cannot attach to disk {}:{}: {:?}\n",
                what,
                dev.major(),
                dev.minor(),
                e
            );
        }
    })
}

/// Looks after a session every [`TICK_MS`]: ends recording at its time
/// limit, looks for missing volumes and carries out a jettison the I/O path
/// asked for. (Parked bios are the [`Releaser`]'s.)
#[pin_data]
struct Ticker {
    control: Arc<Control>,
    generation: u64,
    #[pin]
    work: DelayedWork<Ticker>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Ticker { self.work }
}

impl Ticker {
    fn new(control: Arc<Control>, generation: u64) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Ticker {
                control,
                generation,
                work <- new_delayed_work!("bootcache::Ticker"),
            }),
            GFP_KERNEL,
        )
    }
}

impl DelayedWorkItem for Ticker {
    fn run(this: Arc<Self>) {
        let c = &this.control;
        let (ended, next) = {
            let mut g = c.inner.lock();
            if g.generation != this.generation {
                return;
            }
            let Some(a) = g.active.as_ref() else {
                return;
            };
            let shared = a.shared.clone();
            let why = shared.jettison.load(Ordering::Acquire);
            if why != reason::NONE {
                // Decided and done under one hold of the mutex: a `jettison`
                // and `start` in between cannot make this end the next
                // session.
                (c.end_session(&mut g, why).ok().map(|a| (a, why)), 0)
            } else {
                let elapsed_ms = shared.now_ns() / 1_000_000;
                let limit = u64::from(c.tunables.record_limit_ms.load(Ordering::Relaxed));
                let recording = g.recorder.as_ref().is_some_and(|r| r.is_recording());
                let young = limit == 0 || elapsed_ms < limit;
                // Disks that appear while recording, or early in a session,
                // join it.
                if recording || young {
                    if let Err(e) = c.find_late_volumes(&mut g) {
                        pr_err!("looking for volumes that appeared: {:?}\n", e);
                    }
                }
                if !young {
                    // A session that does not record counts misses from here.
                    shared.count_misses.store(true, Ordering::Relaxed);
                }
                if recording && !young {
                    pr_info!("recording stopped at its time limit\n");
                    let _ = c.stop_recording(&mut g);
                }
                let missing = g.active.as_ref().is_some_and(|a| !a.pending.is_empty());
                let next = if missing && young && elapsed_ms < FAST_TICK_FOR_MS {
                    FAST_TICK_MS
                } else {
                    TICK_MS
                };
                (None, next)
            }
        };
        if let Some((active, why)) = ended {
            c.tear_down(active, why);
            return;
        }
        DelayedWork::schedule(this, next);
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
