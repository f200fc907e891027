// SPDX-License-Identifier: GPL-2.0

//! Tests of `convert` and `merge`: examples, and properties checked against a simple
//! block-by-block model.

use std::collections::BTreeMap;

use bootcache::convert::{convert, merge, Options, PlaylistData};
use bootcache::format::*;
use bootcache::malformed::{encode_history, encode_playlist};
use proptest::prelude::*;

const BS: u64 = 4096;

fn vol(id: VolumeId) -> Volume {
    Volume {
        id,
        record_count: 0,
        bytes: 0,
        block_size: 512,
    }
}

fn read(ts: u64, volume: u16, offset: u64, length: u64) -> Entry {
    Entry {
        offset,
        length,
        timestamp_ns: ts,
        pid: 1,
        flags: 0,
        volume,
    }
}

fn write(ts: u64, volume: u16, offset: u64, length: u64) -> Entry {
    Entry {
        flags: ENTRY_WRITE,
        ..read(ts, volume, offset, length)
    }
}

fn run(vols: &[Volume], entries: &[Entry], opts: &Options) -> PlaylistData {
    let bytes = encode_history(vols, entries);
    let h = History::parse(&bytes).unwrap();
    let (data, _) = convert(&h, opts).unwrap();
    // The result always serialises into a valid playlist.
    let out = data.to_bytes().unwrap();
    Playlist::parse(&out).unwrap();
    data
}

fn spans(d: &PlaylistData) -> Vec<(u16, u64, u64, u8, bool)> {
    d.extents
        .iter()
        .map(|x| (x.volume, x.offset, x.length, x.batch, x.is_low_priority()))
        .collect()
}

fn opts(max_gap: u64) -> Options {
    Options {
        max_gap,
        ..Options::default()
    }
}

#[test]
fn tags_make_batches_and_writes_are_dropped() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4096),
        write(2, 0, 8192, 4096),
        read(3, 0, 8192, 4096), // written before read: dropped
        Entry::tag(4, 0),
        read(5, 0, 1 << 20, 4096),
        read(6, 0, 0, 4096), // already in batch 0
        read(7, 0, 12288, 512),
    ];
    let d = run(&vols, &e, &opts(0));
    assert_eq!(
        spans(&d),
        vec![
            (0, 0, 4096, 0, false),
            (0, 12288, 4096, 1, false),
            (0, 1 << 20, 4096, 1, false)
        ]
    );
}

#[test]
fn read_before_write_is_kept() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 8192),
        write(2, 0, 0, 4096),
        read(3, 0, 0, 8192),
    ];
    let d = run(&vols, &e, &opts(0));
    assert_eq!(spans(&d), vec![(0, 0, 8192, 0, false)]);
}

#[test]
fn alignment_rounds_outward() {
    let vols = [vol(VolumeId::Root)];
    let e = [read(1, 0, 512 * 7, 512 * 3)];
    let d = run(&vols, &e, &opts(0));
    assert_eq!(spans(&d), vec![(0, 0, 8192, 0, false)]);
    let d = run(
        &vols,
        &e,
        &Options {
            block_size: 512,
            ..opts(0)
        },
    );
    assert_eq!(spans(&d), vec![(0, 3584, 1536, 0, false)]);
    assert_eq!(d.volumes[0].block_size, 512);
}

#[test]
fn a_whole_medium_is_aligned_to_its_own_blocks() {
    // An ISO 9660 disc's size is a multiple of 2048 only: its last block must not be
    // rounded out to the default 4096 past the end of the medium.
    let disc = Volume {
        block_size: 2048,
        ..vol(VolumeId::Iso9660 {
            created: 2026113004000000,
            label_crc: 0x1a2b_3c4d,
        })
    };
    let d = run(&[disc], &[read(1, 0, 2048 * 5, 2048)], &opts(0));
    assert_eq!(spans(&d), vec![(0, 10240, 2048, 0, false)]);
    assert_eq!(d.volumes[0].block_size, 2048);
}

#[test]
fn coalescing_respects_the_gap() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4096),
        read(2, 0, 4096 + 8192, 4096),   // gap 8 KiB
        read(3, 0, 16384 + 65536, 4096), // gap 64 KiB
    ];
    let d = run(&vols, &e, &opts(8192));
    assert_eq!(
        spans(&d),
        vec![(0, 0, 16384, 0, false), (0, 81920, 4096, 0, false)]
    );
    let d = run(&vols, &e, &opts(65536));
    assert_eq!(spans(&d), vec![(0, 0, 86016, 0, false)]);
    let d = run(&vols, &e, &opts(0));
    assert_eq!(d.extents.len(), 3);
}

#[test]
fn different_batches_are_not_coalesced() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4096),
        Entry::tag(2, 0),
        read(3, 0, 4096, 4096),
    ];
    let d = run(&vols, &e, &opts(1 << 20));
    assert_eq!(
        spans(&d),
        vec![(0, 0, 4096, 0, false), (0, 4096, 4096, 1, false)]
    );
}

#[test]
fn cap_drops_last_batches_first() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4 * BS),
        Entry::tag(2, 0),
        read(3, 0, 100 * BS, 4 * BS),
        read(4, 0, 200 * BS, 2 * BS),
        Entry::tag(5, 0),
        read(6, 0, 300 * BS, 4 * BS),
    ];
    let o = Options {
        max_bytes: 8 * BS,
        ..opts(0)
    };
    let bytes = encode_history(&vols, &e);
    let h = History::parse(&bytes).unwrap();
    let (d, report) = convert(&h, &o).unwrap();
    // Batch 2 goes whole; in batch 1 the extent read first is kept.
    assert_eq!(
        spans(&d),
        vec![(0, 0, 4 * BS, 0, false), (0, 100 * BS, 4 * BS, 1, false)]
    );
    assert_eq!(report.dropped_cap_bytes, 6 * BS);
}

#[test]
fn low_priority_volume_and_unused_volumes() {
    let g = VolumeId::Gpt([7; 16]);
    let vols = [vol(VolumeId::Root), vol(g), vol(VolumeId::Gpt([8; 16]))];
    let e = [
        read(1, 1, 0, 4096),
        read(2, 0, 0, 4096),
        write(3, 2, 0, 4096),
    ];
    let o = Options {
        low_priority: vec![g, VolumeId::Gpt([9; 16])],
        ..opts(0)
    };
    let bytes = encode_history(&vols, &e);
    let h = History::parse(&bytes).unwrap();
    let (d, report) = convert(&h, &o).unwrap();
    // Volume 2 had only writes: it is left out.
    assert_eq!(d.volumes.len(), 2);
    assert_eq!(d.volumes[1].id, g);
    assert_eq!(
        spans(&d),
        vec![(0, 0, 4096, 0, false), (1, 0, 4096, 0, true)]
    );
    assert_eq!(report.unknown_low_priority, vec![VolumeId::Gpt([9; 16])]);
}

#[test]
fn more_than_255_tags_stay_in_batch_255() {
    let vols = [vol(VolumeId::Root)];
    let mut e: Vec<Entry> = (0..300).map(|i| Entry::tag(i, 0)).collect();
    e.push(read(400, 0, 0, 4096));
    let d = run(&vols, &e, &opts(0));
    assert_eq!(spans(&d), vec![(0, 0, 4096, 255, false)]);
}

#[test]
fn bad_options_are_refused() {
    let bytes = encode_history(&[], &[]);
    let h = History::parse(&bytes).unwrap();
    for o in [
        Options {
            block_size: 1000,
            ..Options::default()
        },
        Options {
            block_size: 256,
            ..Options::default()
        },
        Options {
            max_bytes: MAX_TOTAL_BYTES + 1,
            ..Options::default()
        },
    ] {
        assert!(convert(&h, &o).is_err());
    }
    let (d, _) = convert(&h, &Options::default()).unwrap();
    assert!(d.extents.is_empty());
}

#[test]
fn merge_unions_by_earliest_batch() {
    let g = VolumeId::Gpt([3; 16]);
    let a = encode_playlist(
        &[vol(VolumeId::Root)],
        &[Extent {
            offset: 0,
            length: 8192,
            volume: 0,
            flags: 0,
            batch: 1,
        }],
    );
    let b = encode_playlist(
        &[vol(g), vol(VolumeId::Root)],
        &[
            Extent {
                offset: 0,
                length: 512,
                volume: 0,
                flags: 0,
                batch: 0,
            },
            Extent {
                offset: 4096,
                length: 8192,
                volume: 1,
                flags: 0,
                batch: 0,
            },
        ],
    );
    let pa = Playlist::parse(&a).unwrap();
    let pb = Playlist::parse(&b).unwrap();
    let (d, _) = merge(&pa, &pb, &opts(0)).unwrap();
    Playlist::parse(&d.to_bytes().unwrap()).unwrap();
    assert_eq!(d.volumes[0].id, VolumeId::Root);
    assert_eq!(d.volumes[1].id, g);
    assert_eq!(
        spans(&d),
        vec![
            (0, 0, 4096, 1, false),
            (0, 4096, 8192, 0, false),
            (1, 0, 4096, 0, false)
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Properties against a block model.
// ---------------------------------------------------------------------------------------

/// A history over two volumes with small offsets, so that reads and writes collide.
fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec((0u8..12, 0u16..2, 0u64..64, 1u64..24), 0..80).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (kind, v, off, len))| {
                let ts = i as u64 * 10;
                match kind {
                    0 => Entry::tag(ts, 0),
                    1 | 2 => write(ts, v, off * 512, len * 512),
                    _ => read(ts, v, off * 512, len * 512),
                }
            })
            .collect()
    })
}

fn model_vols() -> [Volume; 2] {
    [vol(VolumeId::Root), vol(VolumeId::Gpt([5; 16]))]
}

/// Expected (volume index in history, block) -> batch, with `max_gap` 0 and no cap.
fn model(entries: &[Entry], bs: u64) -> BTreeMap<(u16, u64), u8> {
    let mut written = std::collections::HashSet::new();
    let mut want = BTreeMap::new();
    let mut batch: u8 = 0;
    for e in entries {
        if e.is_tag() {
            batch = batch.saturating_add(1);
            continue;
        }
        let first = e.offset / bs;
        let last = e.end().div_ceil(bs);
        for b in first..last {
            if e.is_write() {
                written.insert((e.volume, b));
            } else if !written.contains(&(e.volume, b)) {
                want.entry((e.volume, b)).or_insert(batch);
            }
        }
    }
    want
}

fn blocks(d: &PlaylistData, vols: &[Volume], bs: u64) -> BTreeMap<(u16, u64), u8> {
    let mut got = BTreeMap::new();
    for x in &d.extents {
        let id = d.volumes[usize::from(x.volume)].id;
        let hv = vols.iter().position(|v| v.id == id).unwrap() as u16;
        for b in x.offset / bs..x.end() / bs {
            assert!(got.insert((hv, b), x.batch).is_none(), "overlap");
        }
    }
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn convert_matches_block_model(entries in arb_entries(), shift in 9u32..14) {
        let vols = model_vols();
        let bs = 1u64 << shift;
        let o = Options { block_size: bs as u32, ..opts(0) };
        let d = run(&vols, &entries, &o);
        prop_assert_eq!(blocks(&d, &vols, bs), model(&entries, bs));
    }

    #[test]
    fn coalescing_only_adds_gaps(entries in arb_entries(), gap in 0u64..40) {
        let vols = model_vols();
        let max_gap = gap * 512;
        let exact = run(&vols, &entries, &opts(0));
        let d = run(&vols, &entries, &opts(max_gap));
        let want = blocks(&exact, &vols, BS);
        let got = blocks(&d, &vols, BS);
        // Every wanted block is there, in its batch; extra blocks only fill gaps.
        for (k, b) in &want {
            prop_assert_eq!(got.get(k), Some(b));
        }
        // Neighbours of the same batch and priority are farther apart than max_gap.
        for w in d.extents.windows(2) {
            if w[0].volume == w[1].volume && w[0].batch == w[1].batch && w[0].flags == w[1].flags {
                prop_assert!(w[1].offset - w[0].end() > max_gap);
            }
        }
        prop_assert!(d.extents.len() <= exact.extents.len());
    }

    #[test]
    fn cap_keeps_a_prefix_in_read_order(entries in arb_entries(), cap_blocks in 0u64..40) {
        let vols = model_vols();
        let full = run(&vols, &entries, &opts(0));
        let o = Options { max_bytes: cap_blocks * BS, ..opts(0) };
        let d = run(&vols, &entries, &o);
        prop_assert!(d.total_bytes() <= o.max_bytes);
        let kept = blocks(&d, &vols, BS);
        let all = blocks(&full, &vols, BS);
        for (k, b) in &kept {
            prop_assert_eq!(all.get(k), Some(b));
        }
        let max_kept = kept.values().max();
        for (k, b) in &all {
            if !kept.contains_key(k) {
                if let Some(m) = max_kept {
                    prop_assert!(b >= m, "dropped batch {} but kept batch {}", b, m);
                }
            }
        }
        if full.total_bytes() <= o.max_bytes {
            prop_assert_eq!(&d, &full);
        }
    }

    #[test]
    fn merge_is_union_with_earliest_batch(a in arb_entries(), b in arb_entries()) {
        let vols = model_vols();
        let pa = run(&vols, &a, &opts(0)).to_bytes().unwrap();
        let pb = run(&vols, &b, &opts(0)).to_bytes().unwrap();
        let (pa, pb) = (Playlist::parse(&pa).unwrap(), Playlist::parse(&pb).unwrap());
        let (d, _) = merge(&pa, &pb, &opts(0)).unwrap();
        Playlist::parse(&d.to_bytes().unwrap()).unwrap();
        let got = blocks(&d, &vols, BS);
        let mut want = model(&a, BS);
        for (k, v) in model(&b, BS) {
            let e = want.entry(k).or_insert(v);
            *e = (*e).min(v);
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn huge_reads_do_not_overflow() {
    // 20 volumes each read whole up to the 2^60-byte limit: more than 2^64 bytes in all.
    let vols: Vec<Volume> = (0..20u8).map(|i| vol(VolumeId::Gpt([i + 1; 16]))).collect();
    let half = MAX_VOLUME_BYTES / 2;
    let mut e = Vec::new();
    for v in 0..20u16 {
        e.push(read(u64::from(v), v, 0, half));
        e.push(read(u64::from(v), v, half, half));
        e.push(write(u64::from(v), v, 0, 512));
    }
    let bytes = encode_history(&vols, &e);
    let h = History::parse(&bytes).unwrap();
    let (d, report) = convert(&h, &Options::default()).unwrap();
    assert!(d.total_bytes() <= Options::default().max_bytes);
    assert!(report.dropped_cap_bytes > 0);
    Playlist::parse(&d.to_bytes().unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootcache"))
        .arg("info")
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Found by the convert fuzz target: after the cap drops extents, a merge may coalesce
    /// across the holes, but never beyond the cap; without the cap, merging a playlist
    /// with itself changes nothing.
    #[test]
    fn merge_with_itself(entries in arb_entries(), gap in 0u64..64, cap_blocks in 1u64..64) {
        let vols = model_vols();
        let o = Options { max_gap: gap * 512, max_bytes: cap_blocks * BS, ..Options::default() };
        let bytes = encode_history(&vols, &entries);
        let h = History::parse(&bytes).unwrap();
        let (d, report) = convert(&h, &o).unwrap();
        let p = d.to_bytes().unwrap();
        let p = Playlist::parse(&p).unwrap();
        let (m, _) = merge(&p, &p, &o).unwrap();
        prop_assert!(m.total_bytes() <= o.max_bytes);
        if report.dropped_cap_bytes == 0 {
            prop_assert_eq!(m, d);
        }
    }
}
