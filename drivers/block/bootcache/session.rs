// SPDX-License-Identifier: GPL-2.0

//! A cache session: start, append, stop (recording), jettison, and the
//! ticker that looks after a running one.

use crate::boot::param::Mode;
use crate::disk::{Attached, CacheShrinker, Disk, DiskList, Releaser, TICK_MS};
use crate::format::{self, Entry, VolumeId};
use crate::history::Recorder;
use crate::plan::{self, Plan};
use crate::stats::Stats;
use crate::sysfs::Tunables;
use crate::volume::{self, Media, Part};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::pr_err_ratelimited;
use kernel::prelude::*;
use kernel::shrinker::{ShrinkerBuilder, ShrinkerRegistration};
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

/// What every disk of one cache session shares: the state its I/O path
/// reads and changes.
pub(crate) struct Session {
    /// The session's counters.
    pub(crate) stats: Arc<Stats>,
    /// The history log.
    pub(crate) recorder: Arc<Recorder>,
    /// How long a read may wait for read-ahead (`wait_limit_ms` at start).
    pub(crate) wait_limit_ns: u64,
    /// Misses in a row that end the session (`miss_limit` at start).
    pub(crate) miss_limit: u64,
    /// When recording (and caching) started.
    pub(crate) t0: Ktime,
    /// Set when the cache should go; the ticker acts on it.
    pub(crate) jettison: JettisonRequest,
    /// Misses are counted towards the limit only after the first `stop`.
    pub(crate) count_misses: AtomicBool,
    /// Reads sent to the disk since the last one served from the cache.
    pub(crate) misses_since_hit: AtomicU64,
}

/// Why a session ended, as the `reason` file shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Reason {
    /// `jettison` was written to `control`.
    Command = 1,
    /// Reads missed `miss_limit` times in a row.
    Misses = 2,
    /// Reclaim took everything the cache held.
    Memory = 3,
    /// A cached disk went away.
    DiskGone = 4,
    /// Recording stopped, and there was nothing to cache.
    Recorded = 5,
    /// The medium in a cached drive changed (an eject, a new disc, a loop
    /// device bound to another file).
    MediumChanged = 6,
}

impl Reason {
    const ALL: [Reason; 6] = [
        Reason::Command,
        Reason::Misses,
        Reason::Memory,
        Reason::DiskGone,
        Reason::Recorded,
        Reason::MediumChanged,
    ];

    /// Returns the word the `reason` file shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Misses => "misses",
            Reason::Memory => "memory",
            Reason::DiskGone => "disk-gone",
            Reason::Recorded => "recorded",
            Reason::MediumChanged => "medium-changed",
        }
    }

    /// Returns the word the `reason` file shows for the last session's end,
    /// `none` if no session ended yet.
    pub(crate) fn name_of(reason: Option<Reason>) -> &'static str {
        reason.map_or("none", Reason::name)
    }

    /// Returns the `stats/jettison_*` counter of this reason, if it has one.
    fn counter(self, stats: &Stats) -> Option<&AtomicU64> {
        match self {
            Reason::Command => Some(&stats.jettison_command),
            Reason::Misses => Some(&stats.jettison_misses),
            Reason::Memory => Some(&stats.jettison_memory),
            Reason::DiskGone | Reason::MediumChanged => Some(&stats.jettison_disk_gone),
            Reason::Recorded => None,
        }
    }
}

/// A jettison the I/O path asks for and the ticker carries out: the first
/// reason asked for is the one kept.
#[derive(Default)]
pub(crate) struct JettisonRequest(AtomicU32);

impl JettisonRequest {
    /// Asks for a jettison, unless one was asked for already.
    pub(crate) fn request(&self, why: Reason) {
        let _ = self
            .0
            .compare_exchange(0, why as u32, Ordering::AcqRel, Ordering::Relaxed);
    }

    /// Returns the reason asked for, if any.
    pub(crate) fn get(&self) -> Option<Reason> {
        let raw = self.0.load(Ordering::Acquire);
        Reason::ALL.into_iter().find(|&r| r as u32 == raw)
    }
}

impl Session {
    pub(crate) fn now_ns(&self) -> u64 {
        let d = Ktime::ktime_get().to_ns() - self.t0.to_ns();
        d.max(0) as u64
    }

    /// Asks the ticker to end the session, unless that was asked already.
    pub(crate) fn request_jettison(&self, why: Reason) {
        self.jettison.request(why);
    }
}

/// A running cache session.
pub(crate) struct Active {
    /// Dropped first when the session ends: no shrinker call runs once its
    /// disks are torn down.
    shrinker: ShrinkerRegistration<CacheShrinker>,
    /// Passes parked bios whose wait ran out.
    releaser: Arc<Releaser>,
    /// The disks, with their filters attached.
    disks: KVec<Attached>,
    /// The same disks, for the shrinker and the releaser.
    list: Arc<DiskList>,
    /// What the disks share.
    session: Arc<Session>,
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
            .map(|attached| attached.disk.bytes.load(Ordering::Relaxed))
            .sum()
    }

    /// Returns the bytes the cache may still take.
    fn budget(&self) -> u64 {
        self.cap.saturating_sub(self.cached_bytes())
    }

    /// Sets the figures that follow from the session's disks and missing
    /// volumes: recomputed whole after every change, never adjusted.
    fn refresh_sizes(&self, plan: &Plan) {
        let stats = &self.session.stats;
        stats
            .playlist_bytes
            .store(self.cached_bytes(), Ordering::Relaxed);
        let missing = self
            .pending
            .iter()
            .map(|&volume| plan.volume_bytes(volume))
            .sum();
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
    pub(crate) last_reason: Option<Reason>,
    /// Bumped by every start and jettison; a ticker of an older session
    /// stops.
    generation: u64,
    /// What the whole disks were found to hold, for finding the session's
    /// media.
    media: Media,
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
                    last_reason: None,
                    generation: 0,
                    media: Media::new(),
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
        let mut inner = self.inner.lock();
        if inner.active.is_some() {
            pr_err!("start: already caching\n");
            return Err(EBUSY);
        }
        let Some(bytes) = inner.ready.take() else {
            if inner.staged.is_empty() {
                pr_err!("start: no playlist\n");
            } else {
                pr_err!(
                    "start: the playlist is incomplete ({} bytes)\n",
                    inner.staged.len()
                );
            }
            return Err(EINVAL);
        };
        // It was validated when it arrived.
        let plan = format::Playlist::parse(&bytes)
            .map_err(|_| EINVAL)
            .and_then(|p| Plan::from_playlist(&p));
        let res = plan.and_then(|plan| self.start_plan(&mut inner, plan, true, false));
        if res.is_err() {
            // Nothing changed: the playlist stays ready for another try.
            inner.ready = Some(bytes);
        }
        res
    }

    /// Records a history of the root file system's partition, with nothing
    /// to read ahead (`record` in `control`, and `bootcache=record`). With
    /// `wait`, the partition may appear later.
    pub(crate) fn record(self: &Arc<Self>, wait: bool, volume: Option<VolumeId>) -> Result {
        let mut inner = self.inner.lock();
        if inner.active.is_some() {
            pr_err!("record: already caching\n");
            return Err(EBUSY);
        }
        let plan =
            Plan::record_only(volume.map_or_else(volume::root_volume, volume::named_volume))?;
        self.start_plan(&mut inner, plan, true, wait)
    }

    /// Starts a session: finds the plan's volumes, attaches to their disks,
    /// reads ahead and, with `record`, records, on the whole disks of its
    /// partitions too ([`Plan::add_disk_volumes`]). Volumes not there yet
    /// are looked for later; unless `wait`, at least one must be there now.
    /// Everything that can fail comes first: on an error nothing changed.
    pub(crate) fn start_plan(
        self: &Arc<Self>,
        inner: &mut ControlInner,
        mut plan: Plan,
        record: bool,
        wait: bool,
    ) -> Result {
        if record {
            plan.add_disk_volumes()?;
        }
        let ram = kernel::meminfo::total_ram_bytes();
        if ram < MIN_RAM_BYTES {
            pr_err!(
                "start: {} MiB of RAM is below the {} MiB bootcache needs\n",
                ram >> 20,
                MIN_RAM_BYTES >> 20
            );
            return Err(ENOMEM);
        }
        let tunables = &self.tunables;
        // Without a history to keep, the log stays at its smallest.
        let entries = if record {
            tunables.history_entries.load(Ordering::Relaxed) as usize
        } else {
            MIN_HISTORY_ENTRIES
        };
        let recorder = Arc::new(Recorder::new(entries).map_err(|_| ENOMEM)?, GFP_KERNEL)?;
        let stats = Arc::new(Stats::default(), GFP_KERNEL)?;
        let session = Arc::new(
            Session {
                stats: stats.clone(),
                recorder: recorder.clone(),
                wait_limit_ns: u64::from(tunables.wait_limit_ms.load(Ordering::Relaxed))
                    * 1_000_000,
                miss_limit: tunables.miss_limit.load(Ordering::Relaxed),
                t0: Ktime::ktime_get(),
                jettison: Default::default(),
                count_misses: Default::default(),
                misses_since_hit: Default::default(),
            },
            GFP_KERNEL,
        )?;
        let cap = ram / 2;
        // What disks were found to hold is looked at afresh.
        inner.media = Media::new();
        let built = volume::build_disks(&plan, &session, cap, None, &[], &mut inner.media)?;
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
        for disk in built.disks.iter() {
            let room = list.reserve()?;
            disks.push(attach(disk, "start")?, GFP_KERNEL)?;
            list.add(room, disk);
        }
        let shrinker =
            ShrinkerBuilder::new(c_str!("bootcache"))?.register::<CacheShrinker>(KBox::new(
                CacheShrinker {
                    list: list.clone(),
                    session: session.clone(),
                },
                GFP_KERNEL,
            )?);
        let releaser = Releaser::new(list.clone())?;
        let ticker = Ticker::new(self.clone(), inner.generation + 1)?;

        // Nothing fails from here on.
        stats.cache_limit_bytes.store(cap, Ordering::Relaxed);
        for attached in disks.iter() {
            stats
                .capped_bytes
                .fetch_add(attached.disk.capped, Ordering::Relaxed);
        }
        *self.stats.lock() = stats.clone();
        if record {
            recorder.start();
        }
        inner.generation += 1;
        inner.recorder = Some(recorder);
        inner.history = None;
        inner.last_reason = None;
        let active = Active {
            shrinker,
            releaser,
            disks,
            list,
            session,
            pending: built.missing,
            cap,
        };
        active.refresh_sizes(&plan);
        for attached in active.disks.iter() {
            attached.disk.pump();
        }
        Releaser::start(&active.releaser);
        pr_info!(
            "started: {} bytes on {} disk(s){}\n",
            stats.playlist_bytes.load(Ordering::Relaxed),
            active.disks.len(),
            if record { ", recording" } else { "" }
        );
        inner.active = Some(active);
        inner.in_use = Some(plan);
        DelayedWork::schedule(ticker, TICK_MS);
        Ok(())
    }

    /// Looks for volumes that were missing at `start`, and caches those that
    /// appeared, on disks not cached yet. A volume leaves the missing ones
    /// only once its disk is attached (or bootcache refused that disk).
    fn find_late_volumes(&self, inner: &mut ControlInner) -> Result {
        let ControlInner {
            in_use: plan,
            active,
            media,
            ..
        } = &mut *inner;
        let (Some(plan), Some(active)) = (plan.as_ref(), active.as_mut()) else {
            return Ok(());
        };
        if active.pending.is_empty() {
            return Ok(());
        }
        let mut in_use = KVec::with_capacity(active.disks.len(), GFP_KERNEL)?;
        for attached in active.disks.iter() {
            in_use.push(attached.disk.bdev.disk_dev(), GFP_KERNEL)?;
        }
        let built = volume::build_disks(
            plan,
            &active.session,
            active.budget(),
            Some(&active.pending),
            &in_use,
            media,
        )?;
        let mut still = KVec::with_capacity(active.pending.len(), GFP_KERNEL)?;
        for &volume in built.missing.iter() {
            still.push(volume, GFP_KERNEL)?;
        }
        for &volume in built.refused.iter() {
            pr_err!(
                "volume {} is on a disk bootcache does not cache; left out\n",
                volume
            );
        }
        active.disks.reserve(built.disks.len(), GFP_KERNEL)?;
        for disk in built.disks.iter() {
            let volumes = disk.volumes()?;
            match active
                .list
                .reserve()
                .and_then(|room| Ok((room, attach(disk, "appeared")?)))
            {
                Ok((room, attached)) => {
                    active.list.add(room, disk);
                    active
                        .session
                        .stats
                        .capped_bytes
                        .fetch_add(disk.capped, Ordering::Relaxed);
                    // Room was reserved above.
                    active.disks.push(attached, GFP_KERNEL)?;
                    for volume in volumes.iter() {
                        pr_info!("volume {} appeared\n", volume);
                    }
                    disk.pump();
                }
                // A disk bootcache cannot cache is not tried again.
                Err(err) if err == EOPNOTSUPP => {}
                Err(_) => {
                    // Tried again at the next tick.
                    for &volume in volumes.iter() {
                        still.push(volume, GFP_KERNEL)?;
                    }
                }
            }
        }
        active.pending = still;
        active.refresh_sizes(plan);
        Ok(())
    }

    /// Appends a validated playlist to the session's: its extents are read
    /// ahead after everything queued (in batches after the current ones),
    /// on the disks in use now and on disks found later. Either all of it is
    /// taken or, with an error, nothing changes.
    pub(crate) fn append(&self, inner: &mut ControlInner, bytes: &[u8]) -> Result {
        let ControlInner {
            in_use,
            active,
            media,
            ..
        } = &mut *inner;
        let (Some(old), Some(active)) = (in_use.as_ref(), active.as_mut()) else {
            return Err(EINVAL);
        };
        let new = format::Playlist::parse(bytes).map_err(|_| EINVAL)?;
        let (merged, map) = old.append(&new)?;
        let shift = old.batches;
        // The new extents of volumes on disks in use, and the volumes to
        // look for later.
        let mut found: KVVec<(usize, Part, format::Extent)> = KVVec::new();
        let mut later: KVec<u32> = KVec::new();
        for (new_index, &volume) in map.iter().enumerate() {
            if map[..new_index].contains(&volume) {
                continue;
            }
            if active.pending.contains(&u32::from(volume)) {
                // Still missing: all its extents, old and new, join when it
                // appears.
                later.push(u32::from(volume), GFP_KERNEL)?;
                continue;
            }
            let on_disk = active
                .disks
                .iter()
                .enumerate()
                .find_map(|(disk_index, attached)| {
                    attached.disk.part(volume).map(|known| (disk_index, known))
                });
            let place = match on_disk {
                Some(extent) => Some(extent),
                None => merged.volumes.get(usize::from(volume)).and_then(|desc| {
                    let (part, disk) = volume::locate(volume, desc, media).ok()?;
                    let disk_index = active
                        .disks
                        .iter()
                        .position(|attached| attached.disk.bdev.disk_dev() == disk)?;
                    Some((disk_index, part))
                }),
            };
            let Some((disk_index, part)) = place else {
                later.push(u32::from(volume), GFP_KERNEL)?;
                continue;
            };
            for extent in merged.volume_extents(u32::from(volume)) {
                if u32::from(extent.batch) >= shift {
                    found.push((disk_index, part, *extent), GFP_KERNEL)?;
                }
            }
        }
        let capped = plan::cap_extents(&mut found, active.budget());
        // Everything that can fail comes before anything changes.
        let mut prepared = KVec::with_capacity(active.disks.len(), GFP_KERNEL)?;
        for (disk_index, attached) in active.disks.iter().enumerate() {
            let mut parts = KVec::new();
            let mut extents = KVVec::new();
            for (_, part, extent) in found.iter().filter(|(on, _, _)| *on == disk_index) {
                if !parts.iter().any(|known: &Part| known.volume == part.volume) {
                    parts.push(*part, GFP_KERNEL)?;
                }
                extents.push((*part, *extent), GFP_KERNEL)?;
            }
            prepared.push(attached.disk.prepare_append(&parts, &extents)?, GFP_KERNEL)?;
        }
        active.pending.reserve(later.len(), GFP_KERNEL)?;
        for (prep, attached) in prepared.into_iter().zip(active.disks.iter()) {
            attached.disk.append(prep);
        }
        let stats = &active.session.stats;
        stats.capped_bytes.fetch_add(capped, Ordering::Relaxed);
        for &volume in later.iter() {
            if !active.pending.contains(&volume) {
                // Room was reserved above.
                active.pending.push(volume, GFP_KERNEL)?;
            }
        }
        stats.playlist_appends.fetch_add(1, Ordering::Relaxed);
        pr_info!(
            "appended a playlist: {} bytes in {} extents\n",
            new.total_bytes(),
            new.extent_count()
        );
        active.refresh_sizes(&merged);
        inner.in_use = Some(merged);
        // Volumes that are on disks not in use yet join now.
        if let Err(err) = self.find_late_volumes(inner) {
            pr_err!("appended volumes on other disks: {:?}\n", err);
        }
        Ok(())
    }

    /// Ends recording and writes the history out. All or nothing: the
    /// memory the history takes is allocated while recording goes on, so a
    /// failure leaves recording on and a later `stop` can succeed.
    pub(crate) fn stop_recording(&self, inner: &mut ControlInner) -> Result {
        let Some(rec) = inner.recorder.clone() else {
            return Err(EINVAL);
        };
        if !rec.is_recording() {
            return Ok(());
        }
        let Some(plan) = inner.in_use.as_ref() else {
            return Err(EINVAL);
        };
        let room = HistoryRoom::new(plan.volumes.len(), &rec)?;
        // Each volume found has its disk's logical block size (a CD's 2048)
        // in the history, the unit its reads came in.
        let mut volumes = KVec::with_capacity(plan.volumes.len(), GFP_KERNEL)?;
        for (index, desc) in plan.volumes.iter().enumerate() {
            let lbs = inner.active.as_ref().and_then(|active| {
                active
                    .disks
                    .iter()
                    .find(|attached| attached.disk.part(index as u16).is_some())
                    .map(|attached| attached.disk.bdev.logical_block_size())
            });
            volumes.push(
                format::Volume {
                    block_size: lbs.unwrap_or(desc.block_size),
                    ..*desc
                },
                GFP_KERNEL,
            )?;
        }
        rec.stop();
        let blob = match room.write(&volumes, &rec) {
            Ok(blob) => blob,
            Err(e) => {
                rec.start();
                return Err(e);
            }
        };
        if let Some(active) = inner.active.as_ref() {
            // From now on a run of misses ends the cache; a session that only
            // recorded has nothing left to do.
            active.session.count_misses.store(true, Ordering::Relaxed);
            if plan.extents.is_empty() {
                active.session.request_jettison(Reason::Recorded);
            }
        }
        inner.history = Some(blob);
        Ok(())
    }

    pub(crate) fn tag(&self) -> Result {
        let inner = self.inner.lock();
        let (Some(rec), Some(active)) = (inner.recorder.as_ref(), inner.active.as_ref()) else {
            return Err(EINVAL);
        };
        if !rec.is_recording() {
            return Err(EINVAL);
        }
        let entry = format::Entry::tag(active.session.now_ns(), kernel::current!().pid() as u32);
        let stats = &active.session.stats;
        if rec.record(&entry) {
            stats.history_events.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.history_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Leaves the I/O path: detaches the filters, hands parked bios to the
    /// disk and frees the cache. Process context, never inside a filter call.
    pub(crate) fn jettison(&self, why: Reason) -> Result {
        let active = {
            let mut inner = self.inner.lock();
            self.end_session(&mut inner, why)?
        };
        self.tear_down(active, why);
        Ok(())
    }

    /// Takes the session out of the control state, under the mutex, so that
    /// the decision to end it and its end are one step.
    fn end_session(&self, inner: &mut ControlInner, why: Reason) -> Result<Active> {
        let Some(active) = inner.active.take() else {
            return Err(EINVAL);
        };
        let _ = self.stop_recording(inner);
        inner.last_reason = Some(why);
        inner.generation += 1;
        Ok(active)
    }

    /// Tears down a session [`Control::end_session`] took out, after the
    /// mutex is dropped: it waits for filter calls and the shrinker.
    fn tear_down(&self, active: Active, why: Reason) {
        let Active {
            shrinker,
            releaser,
            disks,
            session,
            ..
        } = active;
        // No more shrinker calls (this waits for a running one).
        drop(shrinker);
        releaser.stop();
        // Each disk: detach, then hand the parked bios to the disk.
        drop(disks);
        let stats = &session.stats;
        if let Some(counter) = why.counter(stats) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        pr_info!("jettisoned ({})\n", why.name());
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
fn attach(disk: &Arc<Disk>, what: &str) -> Result<Attached> {
    Attached::new(disk).inspect_err(|&err| {
        let dev = disk.bdev.disk_dev();
        if err == EOPNOTSUPP {
            pr_err!(
                "{}: disk {}:{} is bio-based (device-mapper, md), which bootcache cannot cache\n",
                what,
                dev.major(),
                dev.minor()
            );
        } else {
            // The ticker tries again at every tick while the disk fails.
            pr_err_ratelimited!(
                "{}: cannot attach to disk {}:{}: {:?}\n",
                what,
                dev.major(),
                dev.minor(),
                err
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
        let control = &this.control;
        let (ended, next) = {
            let mut inner = control.inner.lock();
            if inner.generation != this.generation {
                return;
            }
            let Some(active) = inner.active.as_ref() else {
                return;
            };
            let session = active.session.clone();
            if let Some(why) = session.jettison.get() {
                // Decided and done under one hold of the mutex: a `jettison`
                // and `start` in between cannot make this end the next
                // session.
                (
                    control
                        .end_session(&mut inner, why)
                        .ok()
                        .map(|active| (active, why)),
                    0,
                )
            } else {
                let elapsed_ms = session.now_ns() / 1_000_000;
                let limit = u64::from(control.tunables.record_limit_ms.load(Ordering::Relaxed));
                let recording = inner.recorder.as_ref().is_some_and(|r| r.is_recording());
                let young = limit == 0 || elapsed_ms < limit;
                // Disks that appear while recording, or early in a session,
                // join it.
                if recording || young {
                    if let Err(err) = control.find_late_volumes(&mut inner) {
                        pr_err_ratelimited!("looking for volumes that appeared: {:?}\n", err);
                    }
                }
                if !young {
                    // A session that does not record counts misses from here.
                    session.count_misses.store(true, Ordering::Relaxed);
                }
                if recording && !young {
                    pr_info!("recording stopped at its time limit\n");
                    let _ = control.stop_recording(&mut inner);
                }
                let missing = inner
                    .active
                    .as_ref()
                    .is_some_and(|active| !active.pending.is_empty());
                let next = if missing && young && elapsed_ms < FAST_TICK_FOR_MS {
                    FAST_TICK_MS
                } else {
                    TICK_MS
                };
                (None, next)
            }
        };
        if let Some((active, why)) = ended {
            control.tear_down(active, why);
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
