// SPDX-License-Identifier: GPL-2.0

//! Tests of `convert` and `merge`: examples, and properties checked against a simple
//! block-by-block model. [`opts`] gives batches from tags only and no keep flags (the
//! behaviour before batches were cut by first use); the tests of first-use batches, keep
//! and `until` say what they turn on.

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

/// Batches from tags only, no keep flags, and `max_gap`.
fn opts(max_gap: u64) -> Options {
    Options {
        max_gap,
        batch_bytes: 0,
        batch_ns: 0,
        keep: false,
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
fn a_partitions_disk_is_aligned_as_its_partitions() {
    // The kernel records a partition's disk with the disk's logical block size (512), and
    // gives it the partition's 4096 while recording: the playlist must say 4096 too, or
    // appending it to that recording session would be refused.
    let disk = Volume {
        block_size: 512,
        ..vol(VolumeId::parse("disk:b00cde00-01").unwrap())
    };
    let d = run(&[disk], &[read(1, 0, 512, 1024)], &opts(0));
    assert_eq!(spans(&d), vec![(0, 0, 4096, 0, false)]);
    assert_eq!(d.volumes[0].block_size, 4096);
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

/// Expected (volume index in history, block) -> batch, with batches from tags,
/// `max_gap` 0 and no cap.
fn model(entries: &[Entry], bs: u64) -> BTreeMap<(u16, u64), u8> {
    first_use_model(entries, bs)
        .into_iter()
        .map(|(k, (_, tag, _))| (k, tag.min(255) as u8))
        .collect()
}

fn blocks(d: &PlaylistData, vols: &[Volume], bs: u64) -> BTreeMap<(u16, u64), u8> {
    flagged_blocks(d, vols, bs)
        .into_iter()
        .map(|(k, (batch, _))| (k, batch))
        .collect()
}

/// (volume index in history, block) -> (batch, keep), checking that extents do not overlap.
fn flagged_blocks(d: &PlaylistData, vols: &[Volume], bs: u64) -> BTreeMap<(u16, u64), (u8, bool)> {
    let mut got = BTreeMap::new();
    for x in &d.extents {
        let id = d.volumes[usize::from(x.volume)].id;
        let hv = vols.iter().position(|v| v.id == id).unwrap() as u16;
        for b in x.offset / bs..x.end() / bs {
            assert!(
                got.insert((hv, b), (x.batch, x.keeps())).is_none(),
                "overlap"
            );
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
        let o = Options { max_gap: gap * 512, max_bytes: cap_blocks * BS, ..opts(0) };
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

// ---------------------------------------------------------------------------------------
// Batches cut by first use, keep flags, --until.
// ---------------------------------------------------------------------------------------

/// First-use batches of `batch_bytes`, nothing pulled ahead, no keep flags, no gaps read.
fn first_use(batch_bytes: u64) -> Options {
    Options {
        batch_bytes,
        pull_ahead: 0,
        ..opts(0)
    }
}

fn convert_report(
    vols: &[Volume],
    entries: &[Entry],
    o: &Options,
) -> (PlaylistData, bootcache::convert::Report) {
    let bytes = encode_history(vols, entries);
    let h = History::parse(&bytes).unwrap();
    let (d, report) = convert(&h, o).unwrap();
    Playlist::parse(&d.to_bytes().unwrap()).unwrap();
    (d, report)
}

/// (offset in blocks, length in blocks, batch, keep) of each extent, in playlist order.
fn runs(d: &PlaylistData) -> Vec<(u64, u64, u8, bool)> {
    d.extents
        .iter()
        .map(|x| (x.offset / BS, x.length / BS, x.batch, x.keeps()))
        .collect()
}

#[test]
fn batches_follow_first_use_with_disk_order_inside() {
    let vols = [vol(VolumeId::Root)];
    // First read in the order 300, 10, 200, 0, 100, 50 (blocks), two blocks each.
    let e = [
        read(1_000, 0, 300 * BS, 2 * BS),
        read(2_000, 0, 10 * BS, 2 * BS),
        read(3_000, 0, 200 * BS, 2 * BS),
        read(4_000, 0, 0, 2 * BS),
        read(5_000, 0, 100 * BS, 2 * BS),
        read(6_000, 0, 50 * BS, 2 * BS),
    ];
    let (d, report) = convert_report(&vols, &e, &first_use(4 * BS));
    assert_eq!(report.batch_bytes, 4 * BS);
    // Batch 0 is what was read first; each batch is in disk order.
    assert_eq!(
        runs(&d),
        vec![
            (0, 2, 1, false),
            (10, 2, 0, false),
            (50, 2, 2, false),
            (100, 2, 2, false),
            (200, 2, 1, false),
            (300, 2, 0, false),
        ]
    );
    // A block read again later stays in the batch of its first use.
    let mut again = e.to_vec();
    again.push(read(7_000, 0, 300 * BS, 2 * BS));
    let d2 = run(&vols, &again, &first_use(4 * BS));
    assert_eq!(runs(&d2), runs(&d));
    // --batch-bytes 0: one batch (there are no tags), as before.
    let d = run(&vols, &e, &first_use(0));
    assert!(d.extents.iter().all(|x| x.batch == 0));
    // A read that would take a batch past the limit starts the next one; a read larger
    // than the limit makes a batch of its own.
    let e = [
        read(1, 0, 0, BS),
        read(2, 0, 10 * BS, 8 * BS),
        read(3, 0, 50 * BS, BS),
    ];
    let d = run(&vols, &e, &first_use(2 * BS));
    assert_eq!(
        runs(&d),
        vec![(0, 1, 0, false), (10, 8, 1, false), (50, 1, 2, false)]
    );
}

#[test]
fn time_cuts_batches() {
    let vols = [vol(VolumeId::Root)];
    let ms = 1_000_000;
    let e = [
        read(0, 0, 40 * BS, BS),
        read(5 * ms, 0, 30 * BS, BS),
        read(10 * ms, 0, 20 * BS, BS), // 10 ms after the batch's first: next batch
        read(12 * ms, 0, 10 * BS, BS),
        read(30 * ms, 0, 0, BS),
    ];
    let o = Options {
        batch_bytes: 0,
        batch_ns: 10 * ms,
        ..first_use(0)
    };
    let d = run(&vols, &e, &o);
    let batch_of: BTreeMap<u64, u8> = runs(&d).into_iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(
        batch_of.into_iter().collect::<Vec<_>>(),
        vec![(0, 2), (10, 1), (20, 1), (30, 0), (40, 0)]
    );
    // Both: whichever comes first.
    let o = Options {
        batch_bytes: BS,
        ..o
    };
    let d = run(&vols, &e, &o);
    let batches: Vec<u8> = d.extents.iter().map(|x| x.batch).collect();
    assert_eq!(batches, vec![4, 3, 2, 1, 0]);
}

#[test]
fn tags_still_cut_first_use_batches() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 50 * BS, BS),
        Entry::tag(2, 0),
        Entry::tag(3, 0), // an empty stretch makes no empty batch
        read(4, 0, 40 * BS, BS),
        read(5, 0, 30 * BS, BS),
        read(6, 0, 20 * BS, BS),
        Entry::tag(7, 0),
        read(8, 0, 10 * BS, BS),
    ];
    let (d, report) = convert_report(&vols, &e, &first_use(2 * BS));
    assert_eq!(report.tags, 3);
    assert_eq!(
        runs(&d),
        vec![
            (10, 1, 3, false),
            (20, 1, 2, false),
            (30, 1, 1, false),
            (40, 1, 1, false),
            (50, 1, 0, false),
        ]
    );
}

#[test]
fn batches_grow_to_fit_the_limit() {
    let vols = [vol(VolumeId::Root)];
    // 1000 blocks, first read from the end of the disk back; one block per batch would
    // make 1000 batches.
    let e: Vec<Entry> = (0..1000u64)
        .map(|i| read(i, 0, (2 * (999 - i)) * BS, BS))
        .collect();
    // The default limit, 64: 16 blocks per batch.
    let (d, report) = convert_report(&vols, &e, &first_use(BS));
    assert!(report.batches_grown);
    assert_eq!(report.batch_bytes, 16 * BS);
    assert_eq!(d.batch_count(), 63);
    let all = Options {
        max_batches: 256,
        ..first_use(BS)
    };
    let (d, report) = convert_report(&vols, &e, &all);
    // Doubled twice: four blocks per batch, 250 batches.
    assert_eq!(report.batch_bytes, 4 * BS);
    assert_eq!(d.batch_count(), 250);
    assert_eq!(d.extents.len(), 1000);
    // The last block on disk was read first.
    assert_eq!(d.extents.last().unwrap().batch, 0);
    assert_eq!(d.extents.first().unwrap().batch, 249);
    for w in d.extents.windows(2) {
        assert!(w[0].batch >= w[1].batch);
    }
    // With a time cut as well, both grow.
    let o = Options {
        batch_ns: 1,
        ..all.clone()
    };
    let (d, report) = convert_report(&vols, &e, &o);
    assert!(d.batch_count() <= 256);
    assert_eq!((report.batch_bytes, report.batch_ns), (4 * BS, 4));
    // More than 255 tags: the tags past the 255th stay in batch 255.
    let mut e = Vec::new();
    for i in 0..300u64 {
        e.push(read(2 * i, 0, i * BS, BS));
        e.push(Entry::tag(2 * i + 1, 0));
    }
    let d = run(&vols, &e, &all);
    assert_eq!(d.batch_count(), 256);
    assert_eq!(d.extents[254].batch, 254);
    assert!(d.extents[255..].iter().all(|x| x.batch == 255));
    // And past the limit's, in its last batch.
    let d = run(&vols, &e, &first_use(BS));
    assert_eq!(d.batch_count(), 64);
    assert!(d.extents[63..].iter().all(|x| x.batch == 63));
    // A limit of one batch; 0 and 257 are refused.
    let one = Options {
        max_batches: 1,
        ..first_use(BS)
    };
    assert_eq!(run(&vols, &e, &one).batch_count(), 1);
    let bytes = encode_history(&vols, &e);
    let h = History::parse(&bytes).unwrap();
    for n in [0, 257] {
        let o = Options {
            max_batches: n,
            ..first_use(BS)
        };
        assert!(convert(&h, &o).is_err());
    }
}

#[test]
fn cap_drops_the_latest_used_first() {
    let vols = [vol(VolumeId::Root)];
    // First used from the end of the disk back, so disk order is the reverse of use.
    let e: Vec<Entry> = (0..8u64)
        .map(|i| read(i, 0, (70 - 10 * i) * BS, 2 * BS))
        .collect();
    let o = Options {
        max_bytes: 9 * BS,
        ..first_use(4 * BS)
    };
    let (d, report) = convert_report(&vols, &e, &o);
    // Batches of two reads; the first four reads (batches 0 and 1) fit, and in batch 2
    // the read first used: 9 blocks would cut a read, so 8 are kept.
    assert_eq!(
        runs(&d),
        vec![
            (40, 2, 1, false),
            (50, 2, 1, false),
            (60, 2, 0, false),
            (70, 2, 0, false)
        ]
    );
    assert_eq!(report.dropped_cap_bytes, 8 * BS);
    let o = Options {
        max_bytes: 10 * BS,
        ..o
    };
    let d = run(&vols, &e, &o);
    assert_eq!(runs(&d)[0], (30, 2, 2, false));
    assert_eq!(d.total_bytes(), 10 * BS);
}

#[test]
fn small_later_extents_are_pulled_ahead() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4 * BS),
        read(2, 0, 100 * BS, 4 * BS),
        // Batch 1: 1 block, 1 block after batch 0's first extent: pulled into batch 0.
        read(3, 0, 5 * BS, BS),
        // Batch 2: 8 blocks, right after batch 0's second extent: too long to pull.
        read(4, 0, 104 * BS, 8 * BS),
    ];
    let o = Options {
        pull_ahead: 4 * BS,
        max_gap: 2 * BS,
        ..first_use(8 * BS)
    };
    let d = run(&vols, &e, &o);
    // Batch 1 is left empty: the batches are numbered again.
    assert_eq!(
        runs(&d),
        vec![(0, 6, 0, false), (100, 4, 0, false), (104, 8, 1, false)]
    );
    // Not without pulling, nor with batches from tags only.
    let o0 = Options {
        pull_ahead: 0,
        ..o.clone()
    };
    assert_eq!(
        runs(&run(&vols, &e, &o0)),
        vec![
            (0, 4, 0, false),
            (5, 1, 1, false),
            (100, 4, 0, false),
            (104, 8, 2, false)
        ]
    );
    let tags_only = Options {
        batch_bytes: 0,
        ..o
    };
    assert_eq!(
        runs(&run(&vols, &e, &tags_only)),
        vec![(0, 6, 0, false), (100, 12, 0, false)]
    );
}

fn hit(ts: u64, volume: u16, offset: u64, length: u64) -> Entry {
    Entry {
        flags: ENTRY_HIT,
        ..read(ts, volume, offset, length)
    }
}

#[test]
fn blocks_read_more_than_once_are_kept() {
    let vols = [vol(VolumeId::Root)];
    let e = [
        read(1, 0, 0, 4 * BS),
        read(2, 0, 10 * BS, 2 * BS),
        hit(3, 0, 2 * BS, 4 * BS), // blocks 2-3 again (a hit counts), 4-5 new
        read(4, 0, 10 * BS, 512),  // block 10 again, in part
        write(5, 0, 20 * BS, BS),
        read(6, 0, 20 * BS, BS), // written first: not in the playlist
        read(7, 0, 20 * BS, BS),
    ];
    let keep = Options {
        keep: true,
        ..opts(0)
    };
    let d = run(&vols, &e, &keep);
    // Split where the flag changes, and coalesced only within one flag.
    assert_eq!(
        runs(&d),
        vec![
            (0, 2, 0, false),
            (2, 2, 0, true),
            (4, 2, 0, false),
            (10, 1, 0, true),
            (11, 1, 0, false),
        ]
    );
    assert_eq!(d.keep_bytes(), 3 * BS);
    assert!(d.extents.iter().all(|x| x.flags & EXTENT_LOW_PRIORITY == 0));
    // --no-keep: no flag, and coalesced as before.
    let d = run(&vols, &e, &opts(0));
    assert_eq!(runs(&d), vec![(0, 6, 0, false), (10, 2, 0, false)]);
    // The flag in the unit of the volume: 2 KiB blocks of a disc count separately.
    let disc = Volume {
        block_size: 2048,
        ..vol(VolumeId::Iso9660 {
            created: 2026113004000000,
            label_crc: 1,
        })
    };
    let e = [
        read(1, 0, 0, 2048),
        read(2, 0, 2048, 2048),
        read(3, 0, 0, 2048),
    ];
    let d = run(&[disc], &e, &keep);
    let got: Vec<(u64, u64, bool)> = d
        .extents
        .iter()
        .map(|x| (x.offset, x.length, x.keeps()))
        .collect();
    assert_eq!(got, vec![(0, 2048, true), (2048, 2048, false)]);
}

#[test]
fn merge_ors_keep() {
    let ext = |offset, length, flags, batch| Extent {
        offset,
        length,
        volume: 0,
        flags,
        batch,
    };
    let a = encode_playlist(
        &[vol(VolumeId::Root)],
        &[ext(0, 8 * BS, EXTENT_KEEP, 1), ext(20 * BS, BS, 0, 0)],
    );
    let b = encode_playlist(
        &[vol(VolumeId::Root)],
        &[ext(4 * BS, 8 * BS, 0, 0), ext(20 * BS, BS, EXTENT_KEEP, 2)],
    );
    let (pa, pb) = (Playlist::parse(&a).unwrap(), Playlist::parse(&b).unwrap());
    let (d, _) = merge(&pa, &pb, &opts(0)).unwrap();
    Playlist::parse(&d.to_bytes().unwrap()).unwrap();
    // A byte goes to the earlier batch, and is kept if either playlist keeps it.
    assert_eq!(
        runs(&d),
        vec![
            (0, 4, 1, true),
            (4, 4, 0, true),
            (8, 4, 0, false),
            (20, 1, 0, true)
        ]
    );
    let (m, _) = merge(&pb, &pa, &opts(0)).unwrap();
    assert_eq!(m, d);
}

#[test]
fn until_leaves_out_later_entries() {
    let vols = [vol(VolumeId::Root)];
    let s = 1_000_000_000;
    let e = [
        read(s, 0, 0, BS),
        read(2 * s, 0, 10 * BS, BS),
        Entry::tag(3 * s, 0),
        read(3 * s + 1, 0, 20 * BS, BS),
        read(4 * s, 0, 0, BS), // would mark block 0 keep
    ];
    let o = Options {
        until_ns: Some(3 * s),
        keep: true,
        ..opts(0)
    };
    let (d, report) = convert_report(&vols, &e, &o);
    assert_eq!(runs(&d), vec![(0, 1, 0, false), (10, 1, 0, false)]);
    assert_eq!(report.entries_after_until, 2);
    assert_eq!((report.reads, report.tags), (2, 1));
    // An entry exactly at the limit is kept.
    let o = Options {
        until_ns: Some(2 * s),
        ..o
    };
    assert_eq!(runs(&run(&vols, &e, &o)).len(), 2);
    let o = Options {
        until_ns: Some(2 * s - 1),
        ..o
    };
    assert_eq!(runs(&run(&vols, &e, &o)), vec![(0, 1, 0, false)]);
}

/// Expected (volume, block) -> (index of the entry that first read it, its tag stretch,
/// the number of read entries that read it), for the blocks a playlist wants.
fn first_use_model(entries: &[Entry], bs: u64) -> BTreeMap<(u16, u64), (usize, u32, u32)> {
    let mut written = std::collections::HashSet::new();
    let mut want: BTreeMap<(u16, u64), (usize, u32, u32)> = BTreeMap::new();
    let mut counts: BTreeMap<(u16, u64), u32> = BTreeMap::new();
    let mut tag = 0;
    for (i, e) in entries.iter().enumerate() {
        if e.is_tag() {
            tag += 1;
            continue;
        }
        for b in e.offset / bs..e.end().div_ceil(bs) {
            if e.is_write() {
                written.insert((e.volume, b));
                continue;
            }
            *counts.entry((e.volume, b)).or_insert(0) += 1;
            if !written.contains(&(e.volume, b)) {
                want.entry((e.volume, b)).or_insert((i, tag, 0));
            }
        }
    }
    for (k, v) in want.iter_mut() {
        v.2 = counts[k];
    }
    want
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// With first-use batches (nothing pulled, no gaps read): the same blocks as the model
    /// wants; a block first read earlier is never in a later batch; a tag always starts a
    /// later batch; keep exactly on the blocks read more than once.
    #[test]
    fn first_use_batches_match_model(entries in arb_entries(), batch_blocks in 1u64..16) {
        let vols = model_vols();
        let o = Options { keep: true, ..first_use(batch_blocks * BS) };
        let d = run(&vols, &entries, &o);
        let got = flagged_blocks(&d, &vols, BS);
        let want = first_use_model(&entries, BS);
        prop_assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (k, (i, tag, n)) in &want {
            let (batch, keep) = got[k];
            prop_assert_eq!(keep, *n > 1, "block {:?}", k);
            for (k2, (i2, tag2, _)) in &want {
                let b2 = got[k2].0;
                if i < i2 {
                    prop_assert!(batch <= b2, "{:?} first read before {:?}", k, k2);
                }
                if tag < tag2 {
                    prop_assert!(batch < b2, "{:?} in an earlier tag stretch", k);
                }
            }
        }
        prop_assert!(d.batch_count() <= 256);
    }

    /// Pulling ahead and reading gaps only add gap blocks and move blocks to earlier
    /// batches; the keep flag of a wanted block does not change.
    #[test]
    fn pulling_only_moves_blocks_earlier(
        entries in arb_entries(),
        batch_blocks in 1u64..16,
        gap in 0u64..16,
        pull in 0u64..32,
    ) {
        let vols = model_vols();
        let exact = Options { keep: true, ..first_use(batch_blocks * BS) };
        let o = Options { pull_ahead: pull * 512, max_gap: gap * 512, ..exact.clone() };
        let base = flagged_blocks(&run(&vols, &entries, &exact), &vols, BS);
        let d = run(&vols, &entries, &o);
        let got = flagged_blocks(&d, &vols, BS);
        for (k, (batch, keep)) in &base {
            let (b, kp) = got[k];
            prop_assert!(b <= *batch);
            prop_assert_eq!(kp, *keep);
        }
        prop_assert!(d.extents.len() <= run(&vols, &entries, &exact).extents.len());
    }

    /// With every option on, a playlist merged with itself is unchanged (when nothing was
    /// capped), and the cap is respected.
    #[test]
    fn defaults_merge_with_itself(entries in arb_entries(), cap_blocks in 1u64..64) {
        let vols = model_vols();
        let o = Options { max_bytes: cap_blocks * BS, batch_bytes: 4 * BS, ..Options::default() };
        let bytes = encode_history(&vols, &entries);
        let h = History::parse(&bytes).unwrap();
        let (d, report) = convert(&h, &o).unwrap();
        prop_assert!(d.total_bytes() <= o.max_bytes);
        let p = d.to_bytes().unwrap();
        let p = Playlist::parse(&p).unwrap();
        let (m, _) = merge(&p, &p, &o).unwrap();
        prop_assert!(m.total_bytes() <= o.max_bytes);
        if report.dropped_cap_bytes == 0 {
            prop_assert_eq!(m, d);
        }
    }
}

// ---------------------------------------------------------------------------------------
// A recorded live-DVD boot (tests/data/dvd-history.txt).
// ---------------------------------------------------------------------------------------

/// The disc of the recorded boot.
fn dvd_volume() -> Volume {
    Volume {
        id: VolumeId::Iso9660 {
            created: 2026113004522500,
            label_crc: 0xb7dd_e50c,
        },
        record_count: 0,
        bytes: 0,
        block_size: 2048,
    }
}

/// The recorded boot's history, as the kernel wrote it.
fn dvd_history() -> Vec<u8> {
    let text = include_str!("data/dvd-history.txt");
    let entries: Vec<Entry> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<u64> = l.split(' ').map(|x| x.parse().unwrap()).collect();
            Entry {
                pid: f[1] as u32,
                ..read(f[0], 0, f[2], f[3])
            }
        })
        .collect();
    assert_eq!(entries.len(), 318);
    encode_history(&[dvd_volume()], &entries)
}

/// (batches, extents, bytes, keep bytes) of the playlist `o` makes of the DVD boot.
fn dvd_figures(o: &Options) -> (u32, usize, u64, u64) {
    let bytes = dvd_history();
    let h = History::parse(&bytes).unwrap();
    let (d, _) = convert(&h, o).unwrap();
    Playlist::parse(&d.to_bytes().unwrap()).unwrap();
    (
        d.batch_count(),
        d.extents.len(),
        d.total_bytes(),
        d.keep_bytes(),
    )
}

/// The figures the tool's README gives for the recorded DVD boot.
#[test]
fn dvd_boot_figures() {
    let bytes = dvd_history();
    let h = History::parse(&bytes).unwrap();
    let counts: Vec<(u64, u64)> = bootcache::convert::read_counts(&h).into_iter().collect();
    assert_eq!(counts, vec![(1, 13955072), (2, 602112), (3, 643072)]);
    let d = Options::default();
    let no_keep = Options {
        keep: false,
        ..d.clone()
    };
    let tags_only = Options {
        batch_bytes: 0,
        ..d.clone()
    };
    // As before first-use batches and keep: the playlist made on the day it was recorded.
    assert_eq!(
        dvd_figures(&Options {
            keep: false,
            ..tags_only.clone()
        }),
        (1, 31, 17887232, 0)
    );
    assert_eq!(dvd_figures(&tags_only), (1, 38, 17555456, 1245184));
    let pull = |pull_ahead, o: &Options| Options {
        pull_ahead,
        ..o.clone()
    };
    assert_eq!(dvd_figures(&pull(0, &no_keep)), (16, 132, 15884288, 0));
    assert_eq!(dvd_figures(&pull(0, &d)), (16, 132, 15884288, 1245184));
    assert_eq!(
        dvd_figures(&pull(256 << 10, &no_keep)),
        (14, 47, 17444864, 0)
    );
    assert_eq!(
        dvd_figures(&pull(256 << 10, &d)),
        (14, 53, 17113088, 1245184)
    );
    assert_eq!(dvd_figures(&no_keep), (12, 31, 17887232, 0));
    assert_eq!(dvd_figures(&d), (12, 38, 17555456, 1245184));
    let bb = |batch_bytes| Options {
        batch_bytes,
        ..d.clone()
    };
    assert_eq!(dvd_figures(&bb(512 << 10)), (16, 38, 17555456, 1245184));
    assert_eq!(dvd_figures(&bb(2 << 20)), (7, 38, 17555456, 1245184));
}

/// On the recorded boot: batch 0 holds the boot's first reads, batches never go back in
/// first-use order, and each holds about `--batch-bytes` of it.
#[test]
fn dvd_boot_batches_follow_the_boot() {
    let bytes = dvd_history();
    let h = History::parse(&bytes).unwrap();
    let entries: Vec<Entry> = h.entries().collect();
    let o = Options {
        pull_ahead: 0,
        max_gap: 0,
        ..Options::default()
    };
    let (d, _) = convert(&h, &o).unwrap();
    let vols = [dvd_volume()];
    let got = flagged_blocks(&d, &vols, 2048);
    let want = first_use_model(&entries, 2048);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    // In first-use order, the batch never decreases.
    let mut order: Vec<(usize, u8)> = want.iter().map(|(k, v)| (v.0, got[k].0)).collect();
    order.sort_unstable();
    assert!(order.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(got[&(0, 74440704 / 2048)].0, 0);
    let mut per_batch = vec![0u64; d.batch_count() as usize];
    for x in &d.extents {
        per_batch[usize::from(x.batch)] += x.length;
    }
    let last = per_batch.len() - 1;
    for (b, bytes) in per_batch.iter().enumerate() {
        assert!(*bytes <= 1 << 20, "batch {b}: {bytes}");
        assert!(
            b == last || *bytes > (1 << 20) - 131072,
            "batch {b}: {bytes}"
        );
    }
    // Keep: exactly the blocks read more than once.
    for (k, (_, _, n)) in &want {
        assert_eq!(got[k].1, *n > 1, "block {k:?}");
    }
    // --until 13.5 s: the boot's first 101 reads (the disc read twice over).
    let early = Options {
        until_ns: Some(13_500_000_000),
        ..o
    };
    let (d, report) = convert(&h, &early).unwrap();
    assert_eq!(report.reads, 101);
    assert_eq!(report.entries_after_until, 217);
    assert!(d.total_bytes() < 4 << 20);
}
