// SPDX-License-Identifier: GPL-2.0

//! Making playlists: history to playlist (`convert`) and playlist union (`merge`).
//!
//! Both end in the same builder: pieces of volumes, each with a batch, a priority and the
//! time it was first read, are aligned to the volume's block size, made disjoint (a byte
//! wanted by several pieces goes to the one read first: normal priority before low
//! priority, then the lowest batch), split where the keep flag changes, coalesced, and
//! capped.
//!
//! `convert` makes the batches itself: it orders the wanted blocks by the time the boot
//! first read them and cuts that sequence into consecutive slices ([`Options::batch_bytes`],
//! [`Options::batch_ns`]; tags force a cut), so that batch 0 holds what the boot reads
//! first. The kernel reads batch by batch, each in disk order. It also counts how many
//! read entries read each block, and marks the blocks read more than once
//! [`format::EXTENT_KEEP`]: the cache keeps them after serving them.

use std::collections::BTreeMap;

use crate::format::{self, Extent, History, Playlist, Volume, VolumeId};

/// Default alignment of extents, in bytes: the page size, the unit the cache works in.
pub const DEFAULT_BLOCK_SIZE: u32 = 4096;
/// Default largest gap that coalescing reads through, in bytes.
///
/// Reading 256 KiB at ~100 MB/s takes ~2.5 ms, less than a typical disk seek plus
/// rotation (~8-12 ms); on an SSD it costs ~0.5 ms of bandwidth and the memory.
pub const DEFAULT_MAX_GAP: u64 = 256 << 10;
/// Default cap on the total bytes of a playlist: 1 GiB, well above what a boot reads.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Default bytes of first-use data per batch: 1 MiB.
///
/// The kernel reads a batch whole, in disk order, before the next, so the boot's first
/// read waits for all of batch 0 (its block may be the batch's last on the disk), and a
/// read of batch `k` for batches 0 to `k`. Small batches follow the boot closely; with
/// [`DEFAULT_PULL_AHEAD`] they cost few extra seeks. 1 MiB is 50 to 100 ms of transfer on
/// a DVD drive (10 to 20 MB/s), 10 ms on a hard disk. On the recorded live-DVD boot, in
/// `bench/playlist-model.py`'s model of a DVD drive and of a hard disk, 512 KiB and 1 MiB
/// made the boot wait the least, 2 MiB up to 3 times as long, and one batch 2.5 to 8.6
/// times as long (see the README). The trace benchmark tunes it.
pub const DEFAULT_BATCH_BYTES: u64 = 1 << 20;
/// Default time span of first use per batch: none (batches are cut by bytes only).
///
/// A boot reads in bursts with idle seconds between them; a time cut would make many small
/// batches of one burst's tail, or one huge batch of a fast burst. Bytes measure what the
/// read-ahead has to do before it reaches the next batch, so they are the default; a time
/// cut is there for boots whose phases matter more than their volume.
pub const DEFAULT_BATCH_NS: u64 = 0;
/// Default largest extent of a later batch that is read with an earlier batch's
/// neighbouring extent, counting the gap between them: 1 MiB.
///
/// Cutting by first use splits regions that the boot reads over time into pieces of
/// several batches; each would cost a seek of its own. Reading 1 MiB early takes about as
/// long as one seek on a hard disk (8 to 12 ms at ~100 MB/s) and less than one on a DVD
/// drive (~100 ms at 10 to 20 MB/s). On the recorded live-DVD boot it brings the extent
/// count of 1 MiB batches back to that of one batch.
pub const DEFAULT_PULL_AHEAD: u64 = 1 << 20;
/// The most batches a playlist has: the batch number is a `u8`.
pub const MAX_BATCHES: u32 = 256;
/// Default number of batches `convert` cuts by first use, at most: 64.
///
/// The kernel appends a playlist that arrives while a session runs after the session's
/// batches (the initramfs's, then the saved one, after an embedded one), and a session
/// holds [`MAX_BATCHES`]: a quarter each leaves room for that. 64 batches of
/// [`DEFAULT_BATCH_BYTES`] cover a boot that reads 64 MiB before the batches grow.
pub const DEFAULT_MAX_BATCHES: u32 = 64;

/// How to build a playlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Extents are aligned outward to this many bytes (or the volume's block size if
    /// larger); a power of two from 512 to 65536.
    pub block_size: u32,
    /// Neighbouring extents of the same batch, priority and keep flag are merged when the
    /// gap between them is at most this many bytes.
    pub max_gap: u64,
    /// Cap on the total bytes; at most [`format::MAX_TOTAL_BYTES`].
    pub max_bytes: u64,
    /// Volumes whose extents are all low priority.
    pub low_priority: Vec<VolumeId>,
    /// `convert` only: cut a batch when it holds this many bytes of first-use data (a
    /// read that would take it past the limit starts the next one). With
    /// [`Options::batch_ns`] also 0, batches come from tags only, as they did before
    /// batches were cut by first use, and nothing is pulled ahead.
    pub batch_bytes: u64,
    /// `convert` only: cut a batch when a read's first use comes this many nanoseconds
    /// or more after the batch's first; 0 for no time cut.
    pub batch_ns: u64,
    /// `convert` only, with batches cut by first use: the most batches, 1 to
    /// [`MAX_BATCHES`]; the limits grow until the cut fits.
    pub max_batches: u32,
    /// `convert` only, with batches cut by first use: an extent of a later batch whose
    /// length plus its gap to a neighbouring extent of an earlier batch (of the same
    /// priority and keep flag) is at most this many bytes is read with that earlier
    /// batch, when the gap is at most [`Options::max_gap`]; 0 turns it off.
    pub pull_ahead: u64,
    /// `convert` only: mark blocks that more than one read entry read with
    /// [`format::EXTENT_KEEP`].
    pub keep: bool,
    /// `convert` only: ignore history entries recorded after this many nanoseconds since
    /// the start of recording.
    pub until_ns: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            block_size: DEFAULT_BLOCK_SIZE,
            max_gap: DEFAULT_MAX_GAP,
            max_bytes: DEFAULT_MAX_BYTES,
            low_priority: Vec::new(),
            batch_bytes: DEFAULT_BATCH_BYTES,
            batch_ns: DEFAULT_BATCH_NS,
            max_batches: DEFAULT_MAX_BATCHES,
            pull_ahead: DEFAULT_PULL_AHEAD,
            keep: true,
            until_ns: None,
        }
    }
}

impl Options {
    /// Checks the options.
    pub fn check(&self) -> Result<(), String> {
        let b = self.block_size;
        if !b.is_power_of_two() || !(format::MIN_BLOCK_SIZE..=format::MAX_BLOCK_SIZE).contains(&b) {
            return Err(format!(
                "block size {b} is not a power of two from {} to {}",
                format::MIN_BLOCK_SIZE,
                format::MAX_BLOCK_SIZE
            ));
        }
        if !(1..=MAX_BATCHES).contains(&self.max_batches) {
            return Err(format!(
                "max batches {} is not from 1 to {MAX_BATCHES}",
                self.max_batches
            ));
        }
        if self.max_bytes > format::MAX_TOTAL_BYTES {
            return Err(format!(
                "max bytes {} exceed the format's limit of {}",
                self.max_bytes,
                format::MAX_TOTAL_BYTES
            ));
        }
        Ok(())
    }

    /// Returns whether batches are cut by first use (and not by tags alone).
    pub fn cuts_by_first_use(&self) -> bool {
        self.batch_bytes > 0 || self.batch_ns > 0
    }
}

/// A playlist in memory, ready for [`format::write_playlist`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaylistData {
    /// Volumes; `record_count` and `bytes` are filled in.
    pub volumes: Vec<Volume>,
    /// Extents, grouped by volume and sorted by offset.
    pub extents: Vec<Extent>,
}

impl PlaylistData {
    /// Reads a validated playlist.
    pub fn from_playlist(p: &Playlist<'_>) -> PlaylistData {
        PlaylistData {
            volumes: p.volumes().collect(),
            extents: p.extents().collect(),
        }
    }

    /// Serialises the playlist; the result always validates.
    pub fn to_bytes(&self) -> Result<Vec<u8>, format::Error> {
        let vcount = self.volumes.len().min(u32::MAX as usize) as u32;
        let xcount = self.extents.len().min(u32::MAX as usize) as u32;
        let size = format::file_size(format::Format::Playlist, vcount, xcount);
        let mut buf = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
        let len = format::write_playlist(&mut buf, &self.volumes, &self.extents)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// Returns the sum of the extents' lengths.
    pub fn total_bytes(&self) -> u64 {
        self.extents
            .iter()
            .fold(0u64, |acc, x| acc.saturating_add(x.length))
    }

    /// Returns the sum of the lengths of the extents marked [`format::EXTENT_KEEP`].
    pub fn keep_bytes(&self) -> u64 {
        self.extents
            .iter()
            .filter(|x| x.keeps())
            .fold(0u64, |acc, x| acc.saturating_add(x.length))
    }

    /// Returns the number of batches: the highest batch number plus one (0 if empty).
    pub fn batch_count(&self) -> u32 {
        self.extents
            .iter()
            .map(|x| u32::from(x.batch) + 1)
            .max()
            .unwrap_or(0)
    }
}

/// What a conversion did, for the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Read entries used.
    pub reads: u64,
    /// Write entries seen.
    pub writes: u64,
    /// Tag entries seen.
    pub tags: u64,
    /// Bytes of reads dropped because the same boot wrote them first.
    pub dropped_written_bytes: u64,
    /// Bytes dropped by the cap.
    pub dropped_cap_bytes: u64,
    /// Entries left out because they were recorded after [`Options::until_ns`].
    pub entries_after_until: u64,
    /// With batches cut by first use: the bytes of first-use data per batch that the cut
    /// used, after growing it to fit [`Options::max_batches`] (0 for tags only).
    pub batch_bytes: u64,
    /// With batches cut by first use: the time span per batch that the cut used, in
    /// nanoseconds, after growing it (0 for none).
    pub batch_ns: u64,
    /// Whether the limits per batch were grown to fit [`Options::max_batches`].
    pub batches_grown: bool,
    /// `--low-priority` volumes that do not appear in the input.
    pub unknown_low_priority: Vec<VolumeId>,
}

/// A wanted range of one volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    start: u64,
    end: u64,
    /// Read order: (low priority, batch); smaller is read first.
    key: (bool, u8),
    /// When it was first read (for the cap within the last batch kept).
    first_ns: u64,
    /// Whether the cache keeps its blocks after serving them ([`format::EXTENT_KEEP`]).
    keep: bool,
}

fn align_down(x: u64, a: u64) -> u64 {
    x - x % a
}

fn align_up(x: u64, a: u64) -> u64 {
    // Callers keep `x` below 2^60, so this cannot overflow.
    align_down(x.saturating_add(a - 1), a)
}

/// Inserts `[s, e)` into a set of disjoint ranges, merging with ranges it touches.
fn insert_range(set: &mut BTreeMap<u64, u64>, mut s: u64, mut e: u64) {
    if let Some((&ps, &pe)) = set.range(..=s).next_back() {
        if pe >= s {
            s = ps;
            e = e.max(pe);
        }
    }
    while let Some((&a, &b)) = set.range(s..=e).next() {
        set.remove(&a);
        e = e.max(b);
    }
    set.insert(s, e);
}

/// Calls `f` for each part of `[s, e)` not covered by `set`.
fn uncovered(set: &BTreeMap<u64, u64>, s: u64, e: u64, mut f: impl FnMut(u64, u64)) {
    let mut cursor = s;
    if let Some((_, &pe)) = set.range(..s).next_back() {
        cursor = cursor.max(pe.min(e));
    }
    for (&a, &b) in set.range(s..e) {
        if a > cursor {
            f(cursor, a);
        }
        cursor = cursor.max(b.min(e));
        if cursor >= e {
            break;
        }
    }
    if cursor < e {
        f(cursor, e);
    }
}

/// The unit a volume's ranges are aligned outward to: the larger of `opts.block_size` and
/// the volume's block size, except on a whole medium (an ISO 9660 disc), whose size is a
/// multiple of its own block size (2048 bytes) only: a larger unit could reach past its end.
/// A partition's disk is aligned as its partitions are, so that its volume has the block
/// size a recording session gives it (the kernel clips an extent at the end of its disk).
fn alignment(v: &Volume, opts: &Options) -> u64 {
    if matches!(v.id, VolumeId::Iso9660 { .. }) {
        u64::from(v.block_size)
    } else {
        u64::from(v.block_size.max(opts.block_size))
    }
}

/// Calls `f` for each part of `[s, e)`, in order, with whether `set` covers it.
fn split_by(set: &BTreeMap<u64, u64>, s: u64, e: u64, mut f: impl FnMut(u64, u64, bool)) {
    let mut cursor = s;
    if let Some((_, &pe)) = set.range(..s).next_back() {
        if pe > s {
            f(s, pe.min(e), true);
            cursor = pe.min(e);
        }
    }
    for (&a, &b) in set.range(s..e) {
        if a > cursor {
            f(cursor, a, false);
        }
        let b = b.min(e);
        if b > a.max(cursor) {
            f(a.max(cursor), b, true);
        }
        cursor = cursor.max(b);
        if cursor >= e {
            break;
        }
    }
    if cursor < e {
        f(cursor, e, false);
    }
}

/// How many read entries read each block of one volume: the count changes only where a
/// read starts (+1) or ends (-1).
#[derive(Clone, Debug, Default)]
struct ReadCounter {
    /// (offset, +1 or -1), in the order added; sorted when read.
    delta: Vec<(u64, i64)>,
}

impl ReadCounter {
    /// Counts one read of the aligned range `[s, e)`.
    fn add(&mut self, s: u64, e: u64) {
        self.delta.push((s, 1));
        self.delta.push((e, -1));
    }

    /// Calls `f(start, end, count)` for each range read `count` (> 0) times, in order.
    fn for_each(&mut self, mut f: impl FnMut(u64, u64, u64)) {
        self.delta.sort_unstable();
        let mut count: i64 = 0;
        let mut from = 0;
        for &(at, d) in &self.delta {
            if count > 0 && at > from {
                f(from, at, count as u64);
            }
            count += d;
            from = at;
        }
    }

    /// Returns the ranges read more than once.
    fn read_again(&mut self) -> BTreeMap<u64, u64> {
        let mut set = BTreeMap::new();
        self.for_each(|a, b, n| {
            if n > 1 {
                insert_range(&mut set, a, b);
            }
        });
        set
    }
}

/// Bytes of a history's volumes by how many read entries read them.
///
/// Blocks are in the unit `convert` aligns to with the default options ([`alignment`]),
/// so the bytes read more than once are those that `convert` marks
/// [`format::EXTENT_KEEP`] (before it drops blocks written before they were read).
pub fn read_counts(history: &History<'_>) -> BTreeMap<u64, u64> {
    let opts = Options::default();
    let aligns: Vec<u64> = history.volumes().map(|v| alignment(&v, &opts)).collect();
    let mut counters: Vec<ReadCounter> = vec![ReadCounter::default(); aligns.len()];
    for e in history.entries() {
        if e.is_tag() || e.is_write() {
            continue;
        }
        let v = usize::from(e.volume);
        if let (Some(&a), Some(c)) = (aligns.get(v), counters.get_mut(v)) {
            c.add(align_down(e.offset, a), align_up(e.end(), a));
        }
    }
    let mut out: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &mut counters {
        c.for_each(|a, b, n| {
            let bytes = out.entry(n).or_insert(0);
            *bytes = bytes.saturating_add(b - a);
        });
    }
    out
}

/// A range of a volume the boot first read at `ns`, in tag stretch `tag`.
#[derive(Clone, Copy, Debug)]
struct FirstUse {
    volume: usize,
    start: u64,
    end: u64,
    ns: u64,
    tag: u32,
}

/// Cuts first uses (in time order) into slices: a tag, `bytes` of first-use data or `ns`
/// of time (each if not 0) end one. Returns the slice of each and the number of slices.
fn cut(uses: &[FirstUse], bytes: u64, ns: u64) -> (Vec<u32>, u32) {
    let mut out = Vec::with_capacity(uses.len());
    let mut slice: u32 = 0;
    let mut start: Option<(u32, u64)> = None; // (tag, ns) of the slice's first use
    let mut held: u64 = 0;
    for u in uses {
        let len = u.end - u.start;
        if let Some((tag, t0)) = start {
            if u.tag != tag
                || (bytes > 0 && held.saturating_add(len) > bytes)
                || (ns > 0 && u.ns.saturating_sub(t0) >= ns)
            {
                slice = slice.saturating_add(1);
                start = None;
                held = 0;
            }
        }
        if start.is_none() {
            start = Some((u.tag, u.ns));
        }
        held = held.saturating_add(len);
        out.push(slice);
    }
    let count = if uses.is_empty() {
        0
    } else {
        slice.saturating_add(1)
    };
    (out, count)
}

/// Converts a history into a playlist.
///
/// Entries after `opts.until_ns` are left out. Writes are dropped, and so are the blocks
/// of reads that the same boot wrote earlier. Every range is aligned outward to the
/// volume's unit ([`alignment`]).
///
/// Batches: with [`Options::cuts_by_first_use`], the wanted blocks are taken in the order
/// the boot first read them and cut into consecutive slices of at most
/// `opts.batch_bytes` bytes and `opts.batch_ns` of time (a tag always
/// cuts); if that makes more than `opts.max_batches`, both limits are doubled until it
/// does not (tags past that stay in the last batch). Otherwise each tag starts a new
/// batch, as it always did (tags past the 255th stay in batch 255). Blocks read by more
/// than one read entry are marked keep (`opts.keep`). Then the builder makes the pieces
/// disjoint, pulls small later pieces ahead, coalesces and caps them (see the module
/// docs).
pub fn convert(history: &History<'_>, opts: &Options) -> Result<(PlaylistData, Report), String> {
    opts.check()?;
    let vols: Vec<Volume> = history.volumes().collect();
    let aligns: Vec<u64> = vols.iter().map(|v| alignment(v, opts)).collect();
    let low: Vec<bool> = vols
        .iter()
        .map(|v| opts.low_priority.contains(&v.id))
        .collect();
    let mut report = Report {
        unknown_low_priority: opts
            .low_priority
            .iter()
            .filter(|id| !vols.iter().any(|v| v.id == **id))
            .copied()
            .collect(),
        ..Report::default()
    };
    let mut written: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); vols.len()];
    let mut seen: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); vols.len()];
    let mut counters: Vec<ReadCounter> = vec![ReadCounter::default(); vols.len()];
    let mut uses: Vec<FirstUse> = Vec::new();
    // The parts of one read that the boot did not write first (reused).
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    let mut tag: u32 = 0;
    for e in history.entries() {
        if opts.until_ns.is_some_and(|u| e.timestamp_ns > u) {
            report.entries_after_until += 1;
            continue;
        }
        if e.is_tag() {
            report.tags += 1;
            tag = tag.saturating_add(1);
            continue;
        }
        let v = usize::from(e.volume);
        let (Some(&a), Some(w), Some(sn), Some(c)) = (
            aligns.get(v),
            written.get_mut(v),
            seen.get_mut(v),
            counters.get_mut(v),
        ) else {
            continue; // Cannot happen in a validated history.
        };
        let s = align_down(e.offset, a);
        let end = align_up(e.end(), a);
        if e.is_write() {
            report.writes += 1;
            insert_range(w, s, end);
            continue;
        }
        report.reads += 1;
        if opts.keep {
            c.add(s, end);
        }
        wanted.clear();
        if w.is_empty() {
            wanted.push((s, end));
        } else {
            uncovered(w, s, end, |a, b| wanted.push((a, b)));
        }
        let kept = wanted.iter().map(|(a, b)| b - a).sum::<u64>();
        report.dropped_written_bytes = report
            .dropped_written_bytes
            .saturating_add((end - s) - kept);
        for &(a, b) in &wanted {
            uncovered(sn, a, b, |x, y| {
                uses.push(FirstUse {
                    volume: v,
                    start: x,
                    end: y,
                    ns: e.timestamp_ns,
                    tag,
                })
            });
            insert_range(sn, a, b);
        }
    }
    let batches: Vec<u8> = if opts.cuts_by_first_use() {
        let total: u64 = uses
            .iter()
            .fold(0u64, |acc, u| acc.saturating_add(u.end - u.start));
        let span = uses.last().map_or(0, |u| u.ns) - uses.first().map_or(0, |u| u.ns);
        let (mut bytes, mut ns) = (opts.batch_bytes, opts.batch_ns);
        let (mut slices, mut count) = cut(&uses, bytes, ns);
        // Each doubling at least halves the cuts by size and time; 64 of them take any
        // limit past any total, after which only tags cut.
        for _ in 0..64 {
            let bytes_done = bytes == 0 || bytes > total;
            let ns_done = ns == 0 || ns > span;
            if count <= opts.max_batches || (bytes_done && ns_done) {
                break;
            }
            bytes = bytes.saturating_mul(2);
            ns = ns.saturating_mul(2);
            (slices, count) = cut(&uses, bytes, ns);
        }
        report.batch_bytes = bytes;
        report.batch_ns = ns;
        report.batches_grown = (bytes, ns) != (opts.batch_bytes, opts.batch_ns);
        let last = opts.max_batches.clamp(1, MAX_BATCHES) - 1;
        slices.into_iter().map(|s| s.min(last) as u8).collect()
    } else {
        uses.iter()
            .map(|u| u.tag.min(MAX_BATCHES - 1) as u8)
            .collect()
    };
    let mut pieces: Vec<Vec<Piece>> = vec![Vec::new(); vols.len()];
    for (u, &batch) in uses.iter().zip(batches.iter()) {
        if let Some(p) = pieces.get_mut(u.volume) {
            p.push(Piece {
                start: u.start,
                end: u.end,
                key: (low.get(u.volume).copied().unwrap_or(false), batch),
                first_ns: u.ns,
                keep: false,
            });
        }
    }
    let keep: Vec<BTreeMap<u64, u64>> = counters.iter_mut().map(ReadCounter::read_again).collect();
    let pull = if opts.cuts_by_first_use() {
        opts.pull_ahead
    } else {
        0
    };
    let (mut data, capped) = build(&vols, &aligns, pieces, &keep, pull, opts);
    report.dropped_cap_bytes = capped;
    if opts.cuts_by_first_use() {
        renumber(&mut data.extents);
    }
    Ok((data, report))
}

/// Numbers the batches that have extents 0, 1, 2, ... in their order: pulling ahead and
/// the cap can empty a batch, and a session holds [`MAX_BATCHES`] in all.
fn renumber(extents: &mut [Extent]) {
    let mut used = [false; MAX_BATCHES as usize];
    for x in extents.iter() {
        if let Some(u) = used.get_mut(usize::from(x.batch)) {
            *u = true;
        }
    }
    let mut new = [0u8; MAX_BATCHES as usize];
    let mut next: u8 = 0;
    for (n, u) in new.iter_mut().zip(used) {
        *n = next;
        if u {
            next = next.saturating_add(1);
        }
    }
    for x in extents.iter_mut() {
        x.batch = new.get(usize::from(x.batch)).copied().unwrap_or(x.batch);
    }
}

/// Merges two playlists into one.
///
/// Volumes are matched by id. A byte wanted by both goes to the earlier of the two
/// (normal priority before low priority, then the lower batch); batch numbers are kept
/// as they are, so batch 0 of both is read first; nothing is pulled ahead. A byte is kept
/// after serving ([`format::EXTENT_KEEP`]) if either playlist keeps it. Extents are
/// aligned to the larger block size of the two volumes (and `opts.block_size`), coalesced
/// and capped like [`convert`]'s. `opts.low_priority` marks more volumes low priority; the
/// options that only `convert` uses are ignored.
pub fn merge(
    a: &Playlist<'_>,
    b: &Playlist<'_>,
    opts: &Options,
) -> Result<(PlaylistData, Report), String> {
    opts.check()?;
    let mut vols: Vec<Volume> = Vec::new();
    let mut pieces: Vec<Vec<Piece>> = Vec::new();
    let mut report = Report::default();
    for p in [a, b] {
        let map: Vec<usize> = p
            .volumes()
            .map(|v| match vols.iter().position(|w| w.id == v.id) {
                Some(i) => {
                    if let Some(w) = vols.get_mut(i) {
                        w.block_size = w.block_size.max(v.block_size);
                    }
                    i
                }
                None => {
                    vols.push(v);
                    pieces.push(Vec::new());
                    vols.len() - 1
                }
            })
            .collect();
        for x in p.extents() {
            let Some(&v) = map.get(usize::from(x.volume)) else {
                continue; // Cannot happen in a validated playlist.
            };
            let Some(list) = pieces.get_mut(v) else {
                continue;
            };
            list.push(Piece {
                start: x.offset,
                end: x.end(),
                key: (x.is_low_priority(), x.batch),
                first_ns: 0,
                keep: x.keeps(),
            });
        }
    }
    report.unknown_low_priority = opts
        .low_priority
        .iter()
        .filter(|id| !vols.iter().any(|v| v.id == **id))
        .copied()
        .collect();
    let aligns: Vec<u64> = vols.iter().map(|v| alignment(v, opts)).collect();
    let mut keep: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); vols.len()];
    for (((v, list), &al), k) in vols
        .iter()
        .zip(pieces.iter_mut())
        .zip(aligns.iter())
        .zip(keep.iter_mut())
    {
        let low = opts.low_priority.contains(&v.id);
        for piece in list.iter_mut() {
            piece.start = align_down(piece.start, al);
            piece.end = align_up(piece.end, al);
            piece.key.0 |= low;
            if piece.keep {
                insert_range(k, piece.start, piece.end);
            }
        }
    }
    let (data, capped) = build(&vols, &aligns, pieces, &keep, 0, opts);
    report.dropped_cap_bytes = capped;
    Ok((data, report))
}

/// An extent before volume renumbering.
#[derive(Clone, Copy, Debug)]
struct Out {
    volume: usize,
    piece: Piece,
}

/// Coalesces neighbours (sorted by offset, disjoint) of the same read order and keep flag
/// across gaps of at most `max_gap` bytes.
fn coalesce(list: Vec<Piece>, max_gap: u64) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(list.len());
    for p in list {
        match out.last_mut() {
            Some(l) if l.key == p.key && l.keep == p.keep && p.start - l.end <= max_gap => {
                l.end = p.end;
                l.first_ns = l.first_ns.min(p.first_ns);
            }
            _ => out.push(p),
        }
    }
    out
}

/// The most passes of [`pull_ahead`]: each pass after the first only follows chains of
/// pieces that the one before pulled, so a few suffice; this bounds the time.
const MAX_PULL_PASSES: usize = 16;

/// Moves an extent (of `list`, coalesced, sorted by offset) into the batch of a neighbour
/// read in an earlier batch, with the same priority and keep flag, when the gap to it is
/// at most `max_gap` and the gap plus the extent's length at most `pull` bytes; then
/// coalesces again. Reading those bytes early costs less than a seek to them later.
fn pull_ahead(mut list: Vec<Piece>, pull: u64, max_gap: u64) -> Vec<Piece> {
    for _ in 0..MAX_PULL_PASSES {
        let mut changed = false;
        for i in 0..list.len() {
            let Some(&y) = list.get(i) else { break };
            let mut best = y.key.1;
            let before = i.checked_sub(1).and_then(|j| list.get(j)).copied();
            let after = list.get(i + 1).copied();
            for n in [before, after].into_iter().flatten() {
                let gap = if n.end <= y.start {
                    y.start - n.end
                } else {
                    n.start - y.end
                };
                if n.key.0 == y.key.0
                    && n.keep == y.keep
                    && n.key.1 < best
                    && gap <= max_gap
                    && gap.saturating_add(y.end - y.start) <= pull
                {
                    best = n.key.1;
                }
            }
            if best < y.key.1 {
                if let Some(p) = list.get_mut(i) {
                    p.key.1 = best;
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
        list = coalesce(list, max_gap);
    }
    list
}

/// Makes pieces disjoint, splits them where `keep` (per volume: the ranges to mark
/// [`format::EXTENT_KEEP`]) starts or ends, pulls small extents ahead (`pull` bytes, see
/// [`pull_ahead`]), coalesces, caps, and lays the result out as a playlist.
///
/// Returns the playlist and the bytes dropped by the cap.
fn build(
    vols: &[Volume],
    aligns: &[u64],
    pieces: Vec<Vec<Piece>>,
    keep: &[BTreeMap<u64, u64>],
    pull: u64,
    opts: &Options,
) -> (PlaylistData, u64) {
    let mut out: Vec<Out> = Vec::new();
    let empty = BTreeMap::new();
    for (v, mut list) in pieces.into_iter().enumerate() {
        // Merge overlapping and touching pieces of the same read order first.
        list.sort_unstable_by_key(|p| (p.key, p.start, p.end));
        let mut merged: Vec<Piece> = Vec::with_capacity(list.len());
        for p in list {
            match merged.last_mut() {
                Some(m) if m.key == p.key && p.start <= m.end => {
                    m.end = m.end.max(p.end);
                    m.first_ns = m.first_ns.min(p.first_ns);
                }
                _ => merged.push(p),
            }
        }
        // Give every byte to the first piece that reads it.
        let mut covered: BTreeMap<u64, Piece> = BTreeMap::new();
        let mut cover: BTreeMap<u64, u64> = BTreeMap::new();
        let mut current_key = None;
        // Ranges given to the current key, folded into `cover` when the key changes
        // (pieces of one key are disjoint, so they need not see each other).
        let mut pending: Vec<(u64, u64)> = Vec::new();
        for p in merged {
            if current_key != Some(p.key) {
                for (a, b) in pending.drain(..) {
                    insert_range(&mut cover, a, b);
                }
                current_key = Some(p.key);
            }
            uncovered(&cover, p.start, p.end, |a, b| {
                pending.push((a, b));
                covered.insert(
                    a,
                    Piece {
                        start: a,
                        end: b,
                        ..p
                    },
                );
            });
        }
        // Split at the keep flag's boundaries.
        let keep_v = keep.get(v).unwrap_or(&empty);
        let mut split: Vec<Piece> = Vec::with_capacity(covered.len());
        for (_, p) in covered {
            split_by(keep_v, p.start, p.end, |a, b, k| {
                split.push(Piece {
                    start: a,
                    end: b,
                    keep: k,
                    ..p
                })
            });
        }
        // Coalesce neighbours of the same read order across small gaps.
        let mut list = coalesce(split, opts.max_gap);
        if pull > 0 {
            list = pull_ahead(list, pull, opts.max_gap);
        }
        out.extend(list.into_iter().map(|piece| Out { volume: v, piece }));
    }
    let capped = cap(&mut out, opts.max_bytes);
    // Lay out: keep volumes that still have extents, in their input order.
    out.sort_unstable_by_key(|o| (o.volume, o.piece.start));
    let mut data = PlaylistData::default();
    let mut index: Vec<Option<u16>> = vec![None; vols.len()];
    for o in &out {
        let slot = index.get_mut(o.volume);
        let vi = match slot {
            Some(Some(i)) => *i,
            Some(s) => {
                let i = data.volumes.len() as u16;
                *s = Some(i);
                let src = vols.get(o.volume).copied();
                let al = aligns.get(o.volume).copied().unwrap_or(512);
                if let Some(src) = src {
                    data.volumes.push(Volume {
                        id: src.id,
                        record_count: 0,
                        bytes: 0,
                        block_size: al as u32,
                    });
                }
                i
            }
            None => continue,
        };
        if let Some(v) = data.volumes.get_mut(usize::from(vi)) {
            v.record_count += 1;
            v.bytes = v.bytes.saturating_add(o.piece.end - o.piece.start);
        }
        data.extents.push(Extent {
            offset: o.piece.start,
            length: o.piece.end - o.piece.start,
            volume: vi,
            flags: if o.piece.key.0 {
                format::EXTENT_LOW_PRIORITY
            } else {
                0
            } | if o.piece.keep { format::EXTENT_KEEP } else { 0 },
            batch: o.piece.key.1,
        });
    }
    (data, capped)
}

/// Caps the total length of `out` at `max`, dropping whole read-order groups from the
/// last (low priority, last batch) back; in the first group that does not fit whole,
/// extents first read latest go first. Returns the bytes dropped.
fn cap(out: &mut Vec<Out>, max: u64) -> u64 {
    let len = |o: &Out| o.piece.end - o.piece.start;
    let total: u64 = out.iter().fold(0u64, |acc, o| acc.saturating_add(len(o)));
    if total <= max {
        return 0;
    }
    // Read order: key, then first read time; drop from the end.
    out.sort_unstable_by_key(|o| (o.piece.key, o.piece.first_ns, o.volume, o.piece.start));
    let mut kept = 0u64;
    let mut cut = out.len();
    // Keep whole groups while they fit.
    let mut i = 0;
    while i < out.len() {
        let key = out.get(i).map(|o| o.piece.key);
        let mut j = i;
        let mut bytes = 0;
        while let Some(o) = out.get(j) {
            if Some(o.piece.key) != key {
                break;
            }
            bytes = u64::saturating_add(bytes, len(o));
            j += 1;
        }
        if kept.saturating_add(bytes) > max {
            // Within this group, keep the extents read first while they fit.
            let mut k = i;
            while let Some(o) = out.get(k) {
                if k >= j || kept + len(o) > max {
                    break;
                }
                kept += len(o);
                k += 1;
            }
            cut = k;
            break;
        }
        kept += bytes;
        i = j;
    }
    out.truncate(cut);
    total.saturating_sub(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_range_merges() {
        let mut s = BTreeMap::new();
        insert_range(&mut s, 10, 20);
        insert_range(&mut s, 30, 40);
        insert_range(&mut s, 20, 30);
        assert_eq!(s.into_iter().collect::<Vec<_>>(), vec![(10, 40)]);
        let mut s = BTreeMap::new();
        insert_range(&mut s, 10, 20);
        insert_range(&mut s, 0, 100);
        insert_range(&mut s, 200, 300);
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            vec![(0, 100), (200, 300)]
        );
    }

    #[test]
    fn uncovered_parts() {
        let mut s = BTreeMap::new();
        insert_range(&mut s, 10, 20);
        insert_range(&mut s, 30, 40);
        let mut v = Vec::new();
        uncovered(&s, 0, 50, |a, b| v.push((a, b)));
        assert_eq!(v, vec![(0, 10), (20, 30), (40, 50)]);
        v.clear();
        uncovered(&s, 15, 35, |a, b| v.push((a, b)));
        assert_eq!(v, vec![(20, 30)]);
        v.clear();
        uncovered(&s, 12, 18, |a, b| v.push((a, b)));
        assert!(v.is_empty());
    }
}
