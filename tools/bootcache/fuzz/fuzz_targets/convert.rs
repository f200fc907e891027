// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `convert` and `merge`: the input is a history (its checksum fixed) with the
//! options (batches, keep, pulling ahead included) taken from its first bytes; every
//! playlist made must validate, respect the cap, and (when nothing was capped) be
//! unchanged by a merge with itself.

#![no_main]

use bootcache::convert::{convert, merge, Options};
use bootcache::format::{self, History, Playlist, VolumeId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let opts = Options {
        block_size: 512 << (data[0] % 5),
        max_gap: u64::from(data[1]) * 4096,
        max_bytes: if data[2] == 0 {
            format::MAX_TOTAL_BYTES
        } else {
            u64::from(data[2]) * 8192
        },
        low_priority: if data[3] & 1 != 0 {
            vec![VolumeId::Root]
        } else {
            Vec::new()
        },
        keep: data[3] & 2 != 0,
        // 0 (tags only) or 4 KiB to 256 KiB of first use per batch.
        batch_bytes: match (data[3] >> 2) & 7 {
            0 => 0,
            n => 2048 << n,
        },
        batch_ns: u64::from(data[3] >> 5) * 1000,
        pull_ahead: u64::from(data[1] >> 4) * 8192,
        // 1 to 256.
        max_batches: u32::from(data[2]) + 1,
        until_ns: None,
    };
    let mut bytes = data[4..].to_vec();
    let _ = format::seal(&mut bytes);
    let Ok(h) = History::parse(&bytes) else {
        return;
    };
    let (d, report) = convert(&h, &opts).expect("valid options");
    assert!(d.total_bytes() <= opts.max_bytes);
    let out = d.to_bytes().expect("convert made an invalid playlist");
    let p = Playlist::parse(&out).expect("output validates");
    let (m, _) = merge(&p, &p, &opts).expect("merge");
    let merged = m.to_bytes().expect("merge made an invalid playlist");
    Playlist::parse(&merged).expect("merged output validates");
    assert!(m.total_bytes() <= opts.max_bytes);
    // Without the cap, a playlist merged with itself is unchanged. (After the cap has
    // dropped extents, merging may coalesce across the holes it left.)
    if report.dropped_cap_bytes == 0 {
        assert_eq!(m, d);
    }
});
