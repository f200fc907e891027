// SPDX-License-Identifier: GPL-2.0

//! Summaries of playlists and histories (`bootcache info`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::format::{History, Playlist, VolumeId};

/// Returns the kind of a volume id, as the JSON summaries name it: `root`, `gpt`, `mbr`,
/// `iso9660` (a whole disk), `gpt-disk` or `mbr-disk` (the whole disk of a partition).
pub fn volume_kind(id: VolumeId) -> &'static str {
    match id {
        VolumeId::Root => "root",
        VolumeId::Gpt(_) => "gpt",
        VolumeId::Mbr { .. } => "mbr",
        VolumeId::Iso9660 { .. } => "iso9660",
        VolumeId::GptDisk(_) => "gpt-disk",
        VolumeId::MbrDisk { .. } => "mbr-disk",
    }
}

/// Returns a summary of a playlist: bytes (all, low priority, kept after serving) per batch
/// and per volume, the extent count and the `top` largest gaps between neighbouring
/// extents of a volume.
pub fn playlist(p: &Playlist<'_>, top: usize) -> Value {
    // Per batch: extents, bytes, low-priority bytes, keep bytes.
    let mut batches: BTreeMap<u8, (u64, u64, u64, u64)> = BTreeMap::new();
    let mut gaps: Vec<(u64, u16, u64, u64)> = Vec::new();
    let mut vols = Vec::new();
    for (i, v) in p.volumes().enumerate() {
        let mut low = 0;
        let mut keep = 0;
        let mut prev_end: Option<u64> = None;
        for x in p.volume_extents(i as u32).into_iter().flatten() {
            let b = batches.entry(x.batch).or_default();
            b.0 += 1;
            b.1 += x.length;
            if x.is_low_priority() {
                b.2 += x.length;
                low += x.length;
            }
            if x.keeps() {
                b.3 += x.length;
                keep += x.length;
            }
            if let Some(e) = prev_end {
                if x.offset > e {
                    gaps.push((x.offset - e, i as u16, e, x.offset));
                }
            }
            prev_end = Some(x.end());
        }
        vols.push(json!({
            "index": i,
            "id": v.id.to_string(),
            "kind": volume_kind(v.id),
            "block_size": v.block_size,
            "extents": v.record_count,
            "bytes": v.bytes,
            "low_priority_bytes": low,
            "keep_bytes": keep,
        }));
    }
    gaps.sort_unstable_by(|a, b| b.cmp(a));
    gaps.truncate(top);
    let largest = p.extents().map(|x| x.length).max().unwrap_or(0);
    json!({
        "format": "playlist",
        "volumes": p.volume_count(),
        "extents": p.extent_count(),
        "batches": p.batch_count(),
        "total_bytes": p.total_bytes(),
        "keep_bytes": batches.values().map(|b| b.3).sum::<u64>(),
        "largest_extent_bytes": largest,
        "per_batch": batches.iter().map(|(b, (n, bytes, low, keep))| json!({
            "batch": b, "extents": n, "bytes": bytes, "low_priority_bytes": low,
            "keep_bytes": keep,
        })).collect::<Vec<_>>(),
        "per_volume": vols,
        "largest_gaps": gaps.iter().map(|(size, v, from, to)| json!({
            "volume": v, "from": from, "to": to, "bytes": size,
        })).collect::<Vec<_>>(),
    })
}

/// Returns a summary of a history: entries by kind, bytes, per volume and per batch (the
/// stretches between tags), duration, distinct pids, and the bytes read more than once
/// (by separate read entries, hits included, in the blocks `convert` aligns to): those
/// `convert` marks keep.
pub fn history(h: &History<'_>) -> Value {
    #[derive(Default)]
    struct Vol {
        reads: u64,
        read_bytes: u64,
        writes: u64,
        write_bytes: u64,
    }
    let mut vols: Vec<Vol> = (0..h.volume_count()).map(|_| Vol::default()).collect();
    let (mut reads, mut hits, mut waited, mut writes, mut tags) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut batches: Vec<(u64, u64)> = vec![(0, 0)];
    let mut pids = std::collections::HashSet::new();
    let mut last_ns = 0;
    for e in h.entries() {
        last_ns = e.timestamp_ns;
        pids.insert(e.pid);
        if e.is_tag() {
            tags += 1;
            batches.push((0, 0));
            continue;
        }
        let Some(v) = vols.get_mut(usize::from(e.volume)) else {
            continue;
        };
        if e.is_write() {
            writes += 1;
            v.writes += 1;
            v.write_bytes = v.write_bytes.saturating_add(e.length);
            continue;
        }
        reads += 1;
        v.reads += 1;
        v.read_bytes = v.read_bytes.saturating_add(e.length);
        if let Some(b) = batches.last_mut() {
            b.0 += 1;
            b.1 = b.1.saturating_add(e.length);
        }
        if e.flags & crate::format::ENTRY_HIT != 0 {
            hits += 1;
        }
        if e.flags & crate::format::ENTRY_WAITED != 0 {
            waited += 1;
        }
    }
    let counts = crate::convert::read_counts(h);
    let again: u64 = counts
        .iter()
        .filter(|(n, _)| **n > 1)
        .fold(0u64, |acc, (_, b)| acc.saturating_add(*b));
    json!({
        "format": "history",
        "truncated": h.is_truncated(),
        "volumes": h.volume_count(),
        "entries": h.entry_count(),
        "reads": reads,
        "hits": hits,
        "waited": waited,
        "writes": writes,
        "tags": tags,
        "read_bytes": h.header().bytes,
        "duration_ns": last_ns,
        "distinct_pids": pids.len(),
        "read_more_than_once_bytes": again,
        "read_counts": counts.iter().map(|(n, b)| json!({
            "times": n, "bytes": b,
        })).collect::<Vec<_>>(),
        "per_batch": batches.iter().enumerate().map(|(i, (n, b))| json!({
            "batch": i, "reads": n, "bytes": b,
        })).collect::<Vec<_>>(),
        "per_volume": h.volumes().zip(vols.iter()).enumerate().map(|(i, (v, s))| json!({
            "index": i,
            "id": v.id.to_string(),
            "kind": volume_kind(v.id),
            "block_size": v.block_size,
            "reads": s.reads,
            "read_bytes": s.read_bytes,
            "writes": s.writes,
            "write_bytes": s.write_bytes,
        })).collect::<Vec<_>>(),
    })
}
