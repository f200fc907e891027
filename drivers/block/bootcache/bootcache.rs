// SPDX-License-Identifier: GPL-2.0

//! bootcache: a boot-time block read-ahead cache.
//!
//! At boot, bootcache reads a list of disk extents (the playlist) into memory
//! with large sequential reads, serves the boot's reads from that copy,
//! records what the boot really read (the history) so that the next
//! playlist fits the next boot, and takes itself out of the I/O path once it
//! stops helping.
//!
//! It is driven through `/sys/kernel/bootcache/`: write a playlist to
//! `playlist`, then `start`, `tag`, `stop` and `jettison` to `control`; read
//! the history from `history`, and the figures from `stats/`. See
//! `Documentation/admin-guide/bootcache.rst`.

// The engine's pure parts, shared with the host (`tools/bootcache` and its
// tests compile the same files), so their items are `pub` for the host's
// sake and not all of them are used here.
mod boot;
#[allow(dead_code, unreachable_pub)]
mod cache;
#[allow(dead_code, unreachable_pub)]
mod compat;
mod disk;
#[allow(dead_code, unreachable_pub)]
mod format;
#[allow(dead_code, unreachable_pub)]
mod history;
mod stats;

use boot::param::{BootParams, Mode, Problem};
use core::fmt::Write;
use core::sync::atomic::Ordering;
use disk::{
    reason, Attached, CacheShrinker, Disk, DiskList, Plan, Releaser, Shared, Tunables, TICK_MS,
};
use history::Recorder;
use kernel::c_str;
use kernel::delayed_work::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use kernel::prelude::*;
use kernel::shrinker;
use kernel::sync::{new_mutex, new_spinlock, Arc, Mutex, SpinLock};
use kernel::sysfs::{Attribute, BinAttribute, Dir, Group, ShowBuf};
use kernel::time::Ktime;
use kernel::uapi;
use stats::Stats;

module! {
    type: BootCache,
    name: "bootcache",
    author: "The bootcache developers",
    description: "Boot-time block read-ahead cache",
    license: "GPL",
}

// The format code and the uapi header agree on the version.
kernel::static_assert!(format::FORMAT_VERSION as u32 == uapi::BOOTCACHE_FORMAT_VERSION);

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

/// A running cache session.
struct Active {
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
struct ControlInner {
    /// The playlist as written so far.
    staged: KVVec<u8>,
    /// A complete, validated playlist, waiting for `start`.
    ready: Option<KVVec<u8>>,
    /// The plan of the current or last session (its volumes name those of
    /// its history).
    in_use: Option<Plan>,
    active: Option<Active>,
    recorder: Option<Arc<Recorder>>,
    /// The history, written out once recording stopped.
    history: Option<KVVec<u8>>,
    last_reason: u32,
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
    tunables: Tunables,
    /// What `bootcache=` asked for.
    boot: Mode,
    /// Bytes of the playlist built into the kernel image.
    embedded: usize,
    #[pin]
    inner: Mutex<ControlInner>,
}

impl Control {
    /// Returns the statistics of the current or last session.
    pub(crate) fn stats(&self) -> Arc<Stats> {
        self.stats.lock().clone()
    }

    fn start(self: &Arc<Self>) -> Result {
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
    fn record(self: &Arc<Self>, wait: bool) -> Result {
        let mut g = self.inner.lock();
        if g.active.is_some() {
            pr_err!("record: already caching\n");
            return Err(EBUSY);
        }
        let plan = Plan::record_only(disk::root_volume())?;
        self.start_plan(&mut g, plan, true, wait)
    }

    /// Starts a session: finds the plan's volumes, attaches to their disks,
    /// reads ahead and, with `record`, records. Volumes not there yet are
    /// looked for later; unless `wait`, at least one must be there now.
    /// Everything that can fail comes first: on an error nothing changed.
    fn start_plan(
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
        let built = disk::build_disks(&plan, &shared, cap, None, &[])?;
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
        let built = disk::build_disks(plan, &a.shared, a.budget(), Some(&a.pending), &in_use)?;
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
    fn append(&self, g: &mut ControlInner, bytes: &[u8]) -> Result {
        let (Some(old), Some(a)) = (g.in_use.as_ref(), g.active.as_mut()) else {
            return Err(EINVAL);
        };
        let new = format::Playlist::parse(bytes).map_err(|_| EINVAL)?;
        let (merged, map) = old.append(&new)?;
        let shift = old.batches;
        // The new extents of volumes on disks in use, and the volumes to
        // look for later.
        let mut found: KVVec<(usize, disk::Part, format::Extent)> = KVVec::new();
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
                    let (part, disk) = disk::locate(m, v).ok()?;
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
        let capped = disk::cap_extents(&mut found, a.budget());
        // Everything that can fail comes before anything changes.
        let mut prepared = KVec::with_capacity(a.disks.len(), GFP_KERNEL)?;
        for (di, att) in a.disks.iter().enumerate() {
            let mut parts = KVec::new();
            let mut extents = KVVec::new();
            for (_, part, x) in found.iter().filter(|(i, _, _)| *i == di) {
                if !parts.iter().any(|p: &disk::Part| p.volume == part.volume) {
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
    fn stop_recording(&self, g: &mut ControlInner) -> Result {
        let Some(rec) = g.recorder.clone() else {
            return Err(EINVAL);
        };
        if !rec.is_recording() {
            return Ok(());
        }
        let Some(plan) = g.in_use.as_ref() else {
            return Err(EINVAL);
        };
        let room = disk::HistoryRoom::new(plan.volumes.len(), &rec)?;
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

    fn tag(&self) -> Result {
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
    fn jettison(&self, why: u32) -> Result {
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

    fn state(&self) -> &'static str {
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

fn show_version(_: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", uapi::BOOTCACHE_FORMAT_VERSION)?;
    Ok(())
}

fn show_boot(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.boot.name())?;
    Ok(())
}

fn show_embedded(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.embedded)?;
    Ok(())
}

fn show_state(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.state())?;
    Ok(())
}

fn show_recording(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    let on = c
        .inner
        .lock()
        .recorder
        .as_ref()
        .is_some_and(|r| r.is_recording());
    writeln!(buf, "{}", u8::from(on))?;
    Ok(())
}

fn show_reason(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", reason::name(c.inner.lock().last_reason))?;
    Ok(())
}

fn store_control(c: &Arc<Control>, input: &[u8]) -> Result {
    let word = input.strip_suffix(b"\n").unwrap_or(input);
    match word {
        b"start" => c.start(),
        b"record" => c.record(false),
        b"stop" => {
            let mut g = c.inner.lock();
            c.stop_recording(&mut g)
        }
        b"tag" => c.tag(),
        b"jettison" => c.jettison(reason::COMMAND),
        _ => {
            pr_err!("control: unknown command (start, record, stop, tag or jettison)\n");
            Err(EINVAL)
        }
    }
}

/// A tunable: a decimal number in a range.
fn parse_num(input: &[u8], min: u64, max: u64) -> Result<u64> {
    let s = core::str::from_utf8(input).map_err(|_| EINVAL)?.trim();
    let v: u64 = s.parse().map_err(|_| EINVAL)?;
    if v < min || v > max {
        return Err(ERANGE);
    }
    Ok(v)
}

macro_rules! tunable {
    ($show:ident, $store:ident, $field:ident, $ty:ty, $min:expr, $max:expr) => {
        fn $show(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
            writeln!(buf, "{}", c.tunables.$field.load(Ordering::Relaxed))?;
            Ok(())
        }

        fn $store(c: &Arc<Control>, input: &[u8]) -> Result {
            let v = parse_num(input, $min, $max)?;
            c.tunables.$field.store(v as $ty, Ordering::Relaxed);
            Ok(())
        }
    };
}

tunable!(
    show_wait,
    store_wait,
    wait_limit_ms,
    u32,
    0,
    boot::param::MAX_WAIT_MS as u64
);
tunable!(show_misses, store_misses, miss_limit, u64, 1, u64::MAX);
tunable!(
    show_record,
    store_record,
    record_limit_ms,
    u32,
    0,
    3_600_000
);
tunable!(
    show_entries,
    store_entries,
    history_entries,
    u32,
    16,
    format::MAX_HISTORY_ENTRIES as u64
);

/// Takes a playlist in chunks; validates it whole once its header's size
/// has arrived.
fn write_playlist(c: &Arc<Control>, offset: u64, data: &[u8]) -> Result<usize> {
    let mut g = c.inner.lock();
    if offset == 0 {
        // A new playlist; one already validated stays until this one is.
        g.staged.truncate(0);
    }
    if offset != g.staged.len() as u64 {
        pr_err!(
            "playlist: write at {} but {} bytes arrived so far\n",
            offset,
            g.staged.len()
        );
        return Err(EINVAL);
    }
    // The largest playlist the format allows (about 24 MiB).
    let max = format::file_size(
        format::Format::Playlist,
        format::MAX_VOLUMES,
        format::MAX_EXTENTS,
    );
    if (g.staged.len() + data.len()) as u64 > max {
        pr_err!("playlist: larger than the {} byte limit\n", max);
        g.staged.truncate(0);
        return Err(EFBIG);
    }
    g.staged.extend_from_slice(data, GFP_KERNEL)?;
    let verdict = match format::Playlist::parse(&g.staged) {
        Err(format::Error::Truncated { .. }) => None,
        Ok(_) => Some(Ok(())),
        Err(e) => {
            pr_err!("playlist refused: {}\n", e);
            Some(Err(EINVAL))
        }
    };
    match verdict {
        None => {}
        Some(Ok(())) => {
            let bytes = core::mem::replace(&mut g.staged, KVVec::new());
            if g.active.is_some() {
                // While caching, a playlist is appended at once.
                c.append(&mut g, &bytes)?;
            } else {
                g.ready = Some(bytes);
            }
        }
        Some(Err(e)) => {
            g.staged.truncate(0);
            return Err(e);
        }
    }
    Ok(data.len())
}

fn read_history(c: &Arc<Control>, offset: u64, out: &mut [u8]) -> Result<usize> {
    let g = c.inner.lock();
    let Some(h) = g.history.as_ref() else {
        return Err(if g.recorder.as_ref().is_some_and(|r| r.is_recording()) {
            EBUSY
        } else {
            Error::from_errno(-(uapi::ENODATA as i32))
        });
    };
    let Some(rest) = h.get(offset as usize..) else {
        return Ok(0);
    };
    let n = rest.len().min(out.len());
    out[..n].copy_from_slice(&rest[..n]);
    Ok(n)
}

static ATTRS: [Attribute<Arc<Control>>; 11] = [
    Attribute::new_ro(c_str!("version"), 0o444, show_version),
    Attribute::new_ro(c_str!("boot"), 0o444, show_boot),
    Attribute::new_ro(c_str!("embedded"), 0o444, show_embedded),
    Attribute::new_ro(c_str!("state"), 0o444, show_state),
    Attribute::new_ro(c_str!("recording"), 0o444, show_recording),
    Attribute::new_ro(c_str!("reason"), 0o444, show_reason),
    Attribute::new_wo(c_str!("control"), 0o200, store_control),
    Attribute::new_rw(c_str!("wait_limit_ms"), 0o644, show_wait, store_wait),
    Attribute::new_rw(c_str!("miss_limit"), 0o644, show_misses, store_misses),
    Attribute::new_rw(c_str!("record_limit_ms"), 0o644, show_record, store_record),
    Attribute::new_rw(
        c_str!("history_entries"),
        0o644,
        show_entries,
        store_entries,
    ),
];

static BIN_ATTRS: [BinAttribute<Arc<Control>>; 2] = [
    BinAttribute::new_wo(c_str!("playlist"), 0o200, 0, write_playlist),
    BinAttribute::new_ro(c_str!("history"), 0o400, 0, read_history),
];

static GROUPS: [Group<Arc<Control>>; 1] = [Group::new(c_str!("stats"), &stats::attrs::STATS)];

struct BootCache {
    /// `None` with `bootcache=off`.
    _sysfs: Option<Dir<Arc<Control>>>,
}

/// Reads `bootcache=`, reporting what it ignores.
fn boot_params() -> BootParams {
    let Some(value) = kernel::cmdline::get(c_str!("bootcache")) else {
        // No parameter: nothing to report.
        return boot::param::parse(b"", |_| ());
    };
    boot::param::parse(value, |p| {
        let (what, word) = match p {
            Problem::UnknownMode(w) => ("unknown mode", w),
            Problem::UnknownOption(w) => ("unknown option", w),
            Problem::BadWait(w) => ("wait= wants milliseconds up to 600000, not", w),
            Problem::Useless(w) => ("option means nothing with this mode", w),
        };
        pr_warn!(
            "bootcache=: {} '{}'; ignored\n",
            what,
            kernel::str::BStr::from_bytes(word)
        );
    })
}

impl Control {
    /// Starts caching with the playlist built into the kernel image. Runs in
    /// the module's init, while the playlist's init memory is still there;
    /// what goes wrong is logged and the boot goes on without bootcache.
    fn autostart_embedded(self: &Arc<Self>, record: bool) {
        let bytes: KVVec<u8> = match kernel::bootcache::copy_embedded_playlist(GFP_KERNEL) {
            Ok(Some(b)) => b,
            Ok(None) => {
                pr_info!("no playlist is built in; waiting for userspace\n");
                return;
            }
            Err(e) => {
                pr_err!("cannot copy the built-in playlist: {:?}\n", e);
                return;
            }
        };
        let plan = match format::Playlist::parse(&bytes) {
            Ok(p) => Plan::from_playlist(&p),
            Err(e) => {
                pr_err!("built-in playlist refused: {}; booting without it\n", e);
                return;
            }
        };
        let res = plan.and_then(|plan| {
            let mut g = self.inner.lock();
            self.start_plan(&mut g, plan, record, true)
        });
        if let Err(e) = res {
            pr_err!("cannot start with the built-in playlist: {:?}\n", e);
        }
    }
}

impl kernel::Module for BootCache {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = boot_params();
        if params.mode == Mode::Off {
            pr_info!("off (bootcache=off)\n");
            return Ok(BootCache { _sysfs: None });
        }
        let stats = Arc::new(Stats::default(), GFP_KERNEL)?;
        let control = Arc::pin_init(
            pin_init!(Control {
                stats <- new_spinlock!(stats),
                tunables: Tunables::new(),
                boot: params.mode,
                embedded: kernel::bootcache::embedded_playlist_len(),
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
        )?;
        if let Some(ms) = params.wait_ms {
            control.tunables.wait_limit_ms.store(ms, Ordering::Relaxed);
        }
        let sysfs = Dir::builder(c_str!("bootcache"))
            .attrs(&ATTRS)
            .bin_attrs(&BIN_ATTRS)
            .groups(&GROUPS)
            .build_in_kernel(control.clone())?;
        pr_info!("format version {}\n", uapi::BOOTCACHE_FORMAT_VERSION);
        match params.mode {
            Mode::Record => {
                if let Err(e) = control.record(true) {
                    pr_err!("bootcache=record: cannot start: {:?}\n", e);
                }
            }
            Mode::Auto => control.autostart_embedded(params.record),
            Mode::Default if control.embedded > 0 => control.autostart_embedded(params.record),
            _ => {}
        }
        Ok(BootCache {
            _sysfs: Some(sysfs),
        })
    }
}
