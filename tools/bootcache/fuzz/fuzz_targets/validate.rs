// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the validators: no input may panic, and whatever validates must read back and
//! re-serialise to the very same bytes.

#![no_main]

use bootcache::format::{self, Format, History, Playlist};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Also try the input with its checksum fixed, to get past the checksum.
    let mut sealed = data.to_vec();
    let _ = format::seal(&mut sealed);
    for bytes in [data, &sealed[..]] {
        if let Ok(p) = Playlist::parse(bytes) {
            let vols: Vec<_> = p.volumes().collect();
            let exts: Vec<_> = p.extents().collect();
            let mut buf = vec![0u8; bytes.len()];
            let n = format::write_playlist(&mut buf, &vols, &exts).expect("rewrite");
            assert_eq!(&buf[..n], bytes);
            for i in 0..p.volume_count() {
                assert!(p.volume_extents(i).is_some());
            }
        }
        if let Ok(h) = History::parse(bytes) {
            let vols: Vec<_> = h.volumes().collect();
            let entries: Vec<_> = h.entries().collect();
            let mut buf = vec![0u8; bytes.len()];
            let n = format::write_history(&mut buf, h.header().flags, &vols, &entries)
                .expect("rewrite");
            assert_eq!(&buf[..n], bytes);
        }
        let _ = Format::detect(bytes);
    }
});
