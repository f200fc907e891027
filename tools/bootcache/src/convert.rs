// SPDX-License-Identifier: GPL-2.0

//! Making playlists: history to playlist (`convert`) and playlist union (`merge`).
//!
//! Both end in the same builder: pieces of volumes, each with a batch, a priority and the
//! time it was first read, are aligned to the volume's block size, made disjoint (a byte
//! wanted by several pieces goes to the one read first: normal priority before low
//! priority, then the lowest batch), coalesced, and capped.

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

/// How to build a playlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Extents are aligned outward to this many bytes (or the volume's block size if
    /// larger); a power of two from 512 to 65536.
    pub block_size: u32,
    /// Neighbouring extents of the same batch and priority are merged when the gap between
    /// them is at most this many bytes.
    pub max_gap: u64,
    /// Cap on the total bytes; at most [`format::MAX_TOTAL_BYTES`].
    pub max_bytes: u64,
    /// Volumes whose extents are all low priority.
    pub low_priority: Vec<VolumeId>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            block_size: DEFAULT_BLOCK_SIZE,
            max_gap: DEFAULT_MAX_GAP,
            max_bytes: DEFAULT_MAX_BYTES,
            low_priority: Vec::new(),
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
        if self.max_bytes > format::MAX_TOTAL_BYTES {
            return Err(format!(
                "max bytes {} exceed the format's limit of {}",
                self.max_bytes,
                format::MAX_TOTAL_BYTES
            ));
        }
        Ok(())
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
    let inside: Vec<(u64, u64)> = set.range(s..=e).map(|(&a, &b)| (a, b)).collect();
    for (a, b) in inside {
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
fn alignment(v: &Volume, opts: &Options) -> u64 {
    if v.id.is_whole_disk() {
        u64::from(v.block_size)
    } else {
        u64::from(v.block_size.max(opts.block_size))
    }
}

/// Converts a history into a playlist.
///
/// Each tag starts a new batch (batches past 255 stay in 255). Writes are dropped, and so
/// are the blocks of reads that the same boot wrote earlier. Every range is aligned
/// outward to the volume's unit ([`alignment`]); then the builder makes the pieces
/// disjoint, coalesces and caps them (see the module docs).
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
    let mut pieces: Vec<Vec<Piece>> = vec![Vec::new(); vols.len()];
    let mut batch: u8 = 0;
    for e in history.entries() {
        if e.is_tag() {
            report.tags += 1;
            batch = batch.saturating_add(1);
            continue;
        }
        let v = usize::from(e.volume);
        let (Some(&a), Some(w), Some(p)) = (aligns.get(v), written.get_mut(v), pieces.get_mut(v))
        else {
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
        let key = (low.get(v).copied().unwrap_or(false), batch);
        let mut kept = 0;
        if w.is_empty() {
            kept = end - s;
            p.push(Piece {
                start: s,
                end,
                key,
                first_ns: e.timestamp_ns,
            });
        } else {
            uncovered(w, s, end, |a, b| {
                kept += b - a;
                p.push(Piece {
                    start: a,
                    end: b,
                    key,
                    first_ns: e.timestamp_ns,
                });
            });
        }
        report.dropped_written_bytes = report
            .dropped_written_bytes
            .saturating_add((end - s) - kept);
    }
    let (data, capped) = build(&vols, &aligns, pieces, opts);
    report.dropped_cap_bytes = capped;
    Ok((data, report))
}

/// Merges two playlists into one.
///
/// Volumes are matched by id. A byte wanted by both goes to the earlier of the two
/// (normal priority before low priority, then the lower batch); batch numbers are kept
/// as they are, so batch 0 of both is read first. Extents are aligned to the larger block
/// size of the two volumes (and `opts.block_size`), coalesced and capped like
/// [`convert`]'s. `opts.low_priority` marks more volumes low priority.
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
    for ((v, list), &al) in vols.iter().zip(pieces.iter_mut()).zip(aligns.iter()) {
        let low = opts.low_priority.contains(&v.id);
        for piece in list.iter_mut() {
            piece.start = align_down(piece.start, al);
            piece.end = align_up(piece.end, al);
            piece.key.0 |= low;
        }
    }
    let (data, capped) = build(&vols, &aligns, pieces, opts);
    report.dropped_cap_bytes = capped;
    Ok((data, report))
}

/// An extent before volume renumbering.
#[derive(Clone, Copy, Debug)]
struct Out {
    volume: usize,
    piece: Piece,
}

/// Makes pieces disjoint, coalesces, caps, and lays the result out as a playlist.
///
/// Returns the playlist and the bytes dropped by the cap.
fn build(
    vols: &[Volume],
    aligns: &[u64],
    pieces: Vec<Vec<Piece>>,
    opts: &Options,
) -> (PlaylistData, u64) {
    let mut out: Vec<Out> = Vec::new();
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
        // Coalesce neighbours of the same read order across small gaps.
        let mut last: Option<Piece> = None;
        for (_, p) in covered {
            match last.as_mut() {
                Some(l) if l.key == p.key && p.start - l.end <= opts.max_gap => {
                    l.end = p.end;
                    l.first_ns = l.first_ns.min(p.first_ns);
                }
                _ => {
                    if let Some(l) = last.take() {
                        out.push(Out {
                            volume: v,
                            piece: l,
                        });
                    }
                    last = Some(p);
                }
            }
        }
        if let Some(l) = last {
            out.push(Out {
                volume: v,
                piece: l,
            });
        }
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
            },
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
