// SPDX-License-Identifier: GPL-2.0

//! Hand-made malformed files, one per validation rule, for tests and demonstrations.
//!
//! Each sample starts from a small valid playlist or history and breaks exactly one rule;
//! all other fields stay consistent (the checksum is recomputed unless the checksum is
//! what is broken), so the validator must name that rule.

use crate::format::{
    self, layout, Entry, Extent, Format, Volume, VolumeId, ENTRY_HIT, ENTRY_WRITE,
    EXTENT_LOW_PRIORITY,
};

/// One malformed file.
#[derive(Clone, Debug)]
pub struct Sample {
    /// A short name, usable as a file name.
    pub name: &'static str,
    /// The format it claims (or is meant to be read as).
    pub format: Format,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

fn gpt(n: u8) -> VolumeId {
    let mut g = [0x11u8; 16];
    g[15] = n;
    VolumeId::Gpt(g)
}

/// The base playlist's volumes: the root device (4096-byte blocks) and a GPT partition
/// (512-byte blocks).
pub fn base_volumes() -> Vec<Volume> {
    vec![
        Volume {
            id: VolumeId::Root,
            record_count: 0,
            bytes: 0,
            block_size: 4096,
        },
        Volume {
            id: gpt(1),
            record_count: 0,
            bytes: 0,
            block_size: 512,
        },
    ]
}

fn ext(volume: u16, offset: u64, length: u64, batch: u8, flags: u16) -> Extent {
    Extent {
        offset,
        length,
        volume,
        flags,
        batch,
    }
}

/// The base playlist's extents.
pub fn base_extents() -> Vec<Extent> {
    vec![
        ext(0, 0, 8192, 0, 0),
        ext(0, 16384, 4096, 1, EXTENT_LOW_PRIORITY),
        ext(1, 4096, 4096, 0, 0),
    ]
}

/// Encodes a playlist exactly as given, with honest counts and sums computed from the
/// records (even where they break the rules), and a correct checksum.
pub fn encode_playlist(vols: &[Volume], exts: &[Extent]) -> Vec<u8> {
    let mut vols = vols.to_vec();
    for v in &mut vols {
        v.record_count = 0;
        v.bytes = 0;
    }
    for x in exts {
        if let Some(v) = vols.get_mut(usize::from(x.volume)) {
            v.record_count += 1;
            v.bytes = v.bytes.saturating_add(x.length);
        }
    }
    let header = format::Header {
        format: Format::Playlist,
        flags: 0,
        checksum: 0,
        volume_count: vols.len() as u32,
        record_count: exts.len() as u32,
        bytes: exts.iter().fold(0u64, |a, x| a.saturating_add(x.length)),
        extra: exts
            .iter()
            .map(|x| u32::from(x.batch) + 1)
            .max()
            .unwrap_or(0),
    };
    encode(header, &vols, exts.len(), |i, out| {
        exts[i].write_to(out).unwrap()
    })
}

/// Encodes a history exactly as given, with honest counts and sums and a correct
/// checksum.
pub fn encode_history(vols: &[Volume], entries: &[Entry]) -> Vec<u8> {
    let mut vols = vols.to_vec();
    for v in &mut vols {
        v.record_count = 0;
        v.bytes = 0;
    }
    for e in entries.iter().filter(|e| !e.is_tag()) {
        if let Some(v) = vols.get_mut(usize::from(e.volume)) {
            v.record_count += 1;
            if e.is_read() {
                v.bytes = v.bytes.saturating_add(e.length);
            }
        }
    }
    let header = format::Header {
        format: Format::History,
        flags: 0,
        checksum: 0,
        volume_count: vols.len() as u32,
        record_count: entries.len() as u32,
        bytes: entries
            .iter()
            .filter(|e| e.is_read())
            .fold(0u64, |a, e| a.saturating_add(e.length)),
        extra: entries.iter().filter(|e| e.is_tag()).count() as u32,
    };
    encode(header, &vols, entries.len(), |i, out| {
        entries[i].write_to(out).unwrap()
    })
}

fn encode(
    header: format::Header,
    vols: &[Volume],
    n: usize,
    write: impl Fn(usize, &mut [u8]),
) -> Vec<u8> {
    let rsize = match header.format {
        Format::Playlist => layout::extent::SIZE,
        Format::History => layout::entry::SIZE,
    };
    let vstart = layout::header::SIZE;
    let rstart = vstart + vols.len() * layout::volume::SIZE;
    let mut b = vec![0u8; rstart + n * rsize];
    header.write_to(&mut b).unwrap();
    for (i, v) in vols.iter().enumerate() {
        v.write_to(&mut b[vstart + i * layout::volume::SIZE..])
            .unwrap();
    }
    for i in 0..n {
        write(i, &mut b[rstart + i * rsize..]);
    }
    format::seal(&mut b).unwrap();
    b
}

/// The base history's volumes: the root device and a GPT partition.
pub fn base_history_volumes() -> Vec<Volume> {
    base_volumes()
}

fn entry(ts: u64, flags: u16, volume: u16, offset: u64, length: u64) -> Entry {
    Entry {
        offset,
        length,
        timestamp_ns: ts,
        pid: 100,
        flags,
        volume,
    }
}

/// The base history's entries: reads, a write, a tag, a hit.
pub fn base_entries() -> Vec<Entry> {
    vec![
        entry(1000, 0, 0, 0, 4096),
        entry(2000, ENTRY_WRITE, 1, 512, 512),
        Entry::tag(3000, 1),
        entry(4000, ENTRY_HIT, 1, 8192, 1024),
    ]
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

fn patched(mut b: Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    f(&mut b);
    format::seal(&mut b).unwrap();
    b
}

const H: usize = layout::header::SIZE;
const VS: usize = layout::volume::SIZE;
const XS: usize = layout::extent::SIZE;

fn vol_at(i: usize) -> usize {
    H + i * VS
}

fn ext_at(i: usize) -> usize {
    H + 2 * VS + i * XS
}

/// Returns every malformed sample: at least one per validation rule.
pub fn samples() -> Vec<Sample> {
    use layout::{entry as le, extent as lx, header as lh, volume as lv};
    let vols = base_volumes();
    let exts = base_extents();
    let base = encode_playlist(&vols, &exts);
    let hist = encode_history(&base_history_volumes(), &base_entries());
    let pl = |name, bytes| Sample {
        name,
        format: Format::Playlist,
        bytes,
    };
    let hi = |name, bytes| Sample {
        name,
        format: Format::History,
        bytes,
    };
    let with_exts = |f: &dyn Fn(&mut Vec<Extent>)| {
        let mut e = exts.clone();
        f(&mut e);
        encode_playlist(&vols, &e)
    };
    let with_entries = |f: &dyn Fn(&mut Vec<Entry>)| {
        let mut e = base_entries();
        f(&mut e);
        encode_history(&base_history_volumes(), &e)
    };
    let mut three = vols.clone();
    three.push(Volume {
        id: VolumeId::Mbr {
            signature: 0x1234_abcd,
            partition: 1,
        },
        ..vols[1]
    });
    let mut dup = vols.clone();
    dup[1].id = VolumeId::Root;
    vec![
        pl("truncated", base[..base.len() - 10].to_vec()),
        pl(
            "trailing-bytes",
            patched(base.clone(), |b| b.extend([0; XS])),
        ),
        pl(
            "wrong-magic",
            patched(base.clone(), |b| {
                put(b, lh::MAGIC, &0xdead_beefu32.to_le_bytes())
            }),
        ),
        pl("history-as-playlist", hist.clone()),
        pl(
            "wrong-version",
            // Version 1, which had no ISO 9660 volumes.
            patched(base.clone(), |b| put(b, lh::VERSION, &1u16.to_le_bytes())),
        ),
        pl(
            "wrong-header-size",
            patched(base.clone(), |b| {
                put(b, lh::HEADER_SIZE, &48u16.to_le_bytes())
            }),
        ),
        pl(
            "unknown-header-flags",
            patched(base.clone(), |b| put(b, lh::FLAGS, &0x10u32.to_le_bytes())),
        ),
        pl(
            "header-reserved",
            patched(base.clone(), |b| put(b, lh::RESERVED, &1u32.to_le_bytes())),
        ),
        pl(
            "huge-volume-count",
            patched(base.clone(), |b| {
                put(b, lh::VOLUME_COUNT, &1000u32.to_le_bytes())
            }),
        ),
        pl(
            "huge-extent-count",
            patched(base.clone(), |b| put(b, lh::COUNT, &u32::MAX.to_le_bytes())),
        ),
        pl(
            "huge-batch-count",
            patched(base.clone(), |b| put(b, lh::EXTRA, &300u32.to_le_bytes())),
        ),
        pl(
            "huge-total",
            patched(base.clone(), |b| {
                put(b, lh::BYTES, &(1u64 << 40).to_le_bytes())
            }),
        ),
        pl("bad-checksum", {
            let mut b = base.clone();
            put(&mut b, ext_at(0) + lx::LENGTH, &12288u64.to_le_bytes());
            b
        }),
        pl(
            "volume-bad-type",
            patched(base.clone(), |b| b[vol_at(1) + lv::ID_TYPE] = 7),
        ),
        pl(
            "volume-null-gpt",
            patched(base.clone(), |b| put(b, vol_at(1) + lv::ID, &[0; 16])),
        ),
        pl(
            "volume-reserved",
            patched(base.clone(), |b| b[vol_at(0) + lv::RESERVED0] = 1),
        ),
        pl(
            "volume-block-size",
            patched(base.clone(), |b| {
                put(b, vol_at(1) + lv::BLOCK_SIZE, &3000u32.to_le_bytes())
            }),
        ),
        pl("duplicate-volume", encode_playlist(&dup, &exts)),
        pl("volume-without-extents", encode_playlist(&three, &exts)),
        pl(
            "volume-count-mismatch",
            patched(base.clone(), |b| {
                put(b, vol_at(0) + lv::RECORD_COUNT, &3u32.to_le_bytes())
            }),
        ),
        pl(
            "volume-bytes-mismatch",
            patched(base.clone(), |b| {
                put(b, vol_at(0) + lv::BYTES, &4096u64.to_le_bytes())
            }),
        ),
        pl("volume-index-out-of-range", with_exts(&|e| e[2].volume = 5)),
        pl("unknown-extent-flags", with_exts(&|e| e[0].flags = 0x80)),
        pl(
            "extent-reserved",
            patched(base.clone(), |b| b[ext_at(1) + lx::RESERVED + 2] = 9),
        ),
        pl("zero-length", with_exts(&|e| e[1].length = 0)),
        pl("misaligned", with_exts(&|e| e[2].offset = 4097)),
        pl(
            "past-end",
            with_exts(&|e| {
                e[2].offset = format::MAX_VOLUME_BYTES - 4096;
                e[2].length = 8192;
            }),
        ),
        pl(
            "batch-out-of-range",
            patched(base.clone(), |b| put(b, lh::EXTRA, &1u32.to_le_bytes())),
        ),
        pl(
            "volumes-interleaved",
            with_exts(&|e| {
                e.swap(1, 2);
            }),
        ),
        pl(
            "unsorted",
            with_exts(&|e| {
                e[0].offset = 32768;
            }),
        ),
        pl("overlapping", with_exts(&|e| e[1].offset = 4096)),
        pl(
            "total-mismatch",
            patched(base.clone(), |b| put(b, lh::BYTES, &20480u64.to_le_bytes())),
        ),
        pl(
            "batch-count-mismatch",
            patched(base.clone(), |b| put(b, lh::EXTRA, &3u32.to_le_bytes())),
        ),
        hi(
            "history-bad-flag-combination",
            with_entries(&|e| e[1].flags = ENTRY_WRITE | ENTRY_HIT),
        ),
        hi("history-bad-tag", with_entries(&|e| e[2].length = 512)),
        hi(
            "history-time-order",
            with_entries(&|e| e[3].timestamp_ns = 10),
        ),
        hi(
            "history-tag-count",
            patched(hist.clone(), |b| put(b, lh::EXTRA, &2u32.to_le_bytes())),
        ),
        hi(
            "history-misaligned-entry",
            patched(hist.clone(), |b| {
                put(b, H + 2 * VS + le::SIZE + le::OFFSET, &100u64.to_le_bytes())
            }),
        ),
    ]
}
