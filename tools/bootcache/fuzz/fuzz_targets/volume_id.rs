// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the volume names that do not come from a validated file: the text form
//! (`VolumeId::parse`, which reads `bootcache=...,volume=` and the tool's arguments) and
//! an ISO 9660 primary volume descriptor read from a disk (`VolumeId::from_iso9660_pvd`).
//! No input may panic; a name that parses must print as itself (up to the case of hex
//! digits and `root`), and its raw form must decode to it.

#![no_main]

use bootcache::format::VolumeId;
use libfuzzer_sys::fuzz_target;

fn check(id: VolumeId) {
    let (t, raw) = id.to_raw();
    assert_eq!(VolumeId::from_raw(t, &raw), Some(id));
    assert_eq!(VolumeId::parse(&id.to_string()), Some(id));
}

fuzz_target!(|data: &[u8]| {
    if let Some(id) = VolumeId::from_iso9660_pvd(data) {
        assert!(id.is_whole_disk());
        check(id);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(id) = VolumeId::parse(s) {
            assert!(id.to_string().eq_ignore_ascii_case(s));
            check(id);
        }
    }
});
