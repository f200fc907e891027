// SPDX-License-Identifier: GPL-2.0

//! `bootcache medium-id` and `bootcache check-medium` on ISO 9660 images made here: a
//! sparse file with a primary volume descriptor written into it by hand.

mod testenv;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde_json::Value;
use testenv::TestEnv;

const DATE: &[u8; 16] = b"2026113004000000";
const ID_DATE: &str = "2026-11-30-04-00-00-00";

/// Writes an image of `size` bytes at `path`: a PVD with `label` and `date` (creation
/// and modification, as xorriso's -volume_date uuid writes them), a terminator, and
/// `fill` at each of `data`'s offsets.
fn make_iso(path: &Path, size: u64, label: &str, date: &[u8; 16], data: &[(u64, &[u8])]) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    let mut pvd = vec![0u8; 2048];
    pvd[..7].copy_from_slice(b"\x01CD001\x01");
    pvd[8..40].fill(b' ');
    pvd[40..72].fill(b' ');
    pvd[40..40 + label.len()].copy_from_slice(label.as_bytes());
    let blocks = (size / 2048) as u32;
    pvd[80..84].copy_from_slice(&blocks.to_le_bytes());
    pvd[84..88].copy_from_slice(&blocks.to_be_bytes());
    pvd[128..130].copy_from_slice(&2048u16.to_le_bytes());
    pvd[130..132].copy_from_slice(&2048u16.to_be_bytes());
    pvd[813..829].copy_from_slice(date);
    pvd[830..846].copy_from_slice(date);
    f.write_all_at(&pvd, 32768).unwrap();
    let mut term = vec![0u8; 2048];
    term[..7].copy_from_slice(b"\xffCD001\x01");
    f.write_all_at(&term, 34816).unwrap();
    for (at, bytes) in data {
        f.write_all_at(bytes, *at).unwrap();
    }
}

/// Overwrites `bytes` at `at` in the file at `path`.
fn patch(path: &Path, at: u64, bytes: &[u8]) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, at).unwrap();
}

/// The id `medium-id` prints for `t`'s `name`.
fn id_of(t: &TestEnv, name: &str) -> String {
    t.ok(&["medium-id", name]).trim_end().to_string()
}

/// An image `live.iso` of 8 MiB labelled LIVE with data in three places, and the playlist
/// `p` of those three extents (64, 32 and 128 KiB at 1, 2 and 4 MiB) and one of `root`.
fn live(name: &str) -> (TestEnv, String) {
    let t = TestEnv::new(&format!("medium-{name}"));
    let a = vec![0xaa; 64 << 10];
    let b = vec![0xbb; 32 << 10];
    let c = vec![0xcc; 128 << 10];
    make_iso(
        &t.path("live.iso"),
        8 << 20,
        "LIVE",
        DATE,
        &[(1 << 20, &a), (2 << 20, &b), (4 << 20, &c)],
    );
    let id = id_of(&t, "live.iso");
    t.ok(&[
        "make-playlist",
        "-o",
        "p",
        "-e",
        &format!("{id}:1M:64K"),
        "-e",
        &format!("{id}:2M:32K:1"),
        "-e",
        &format!("{id}:4M:128K:2"),
        "-e",
        "root:0:4K",
    ]);
    (t, id)
}

#[test]
fn medium_id_of_an_image() {
    let t = TestEnv::new("medium-id");
    make_iso(&t.path("a.iso"), 1 << 20, "BOOTCACHE_LIVE", DATE, &[]);
    let id = id_of(&t, "a.iso");
    let mut label = [b' '; 32];
    label[..14].copy_from_slice(b"BOOTCACHE_LIVE");
    let crc = bootcache::format::crc32c(&label);
    assert_eq!(id, format!("iso9660:{ID_DATE}:{crc:08x}"));
    // The text form reads back as the same id.
    let parsed = bootcache::format::VolumeId::parse(&id).unwrap();
    assert_eq!(parsed.to_string(), id);

    let j: Value = serde_json::from_str(&t.ok(&["medium-id", "a.iso", "--json"])).unwrap();
    assert_eq!(j["id"], id);
    assert_eq!(j["label"], "BOOTCACHE_LIVE");
    assert_eq!(j["size"], 1 << 20);
    assert_eq!(j["filesystem_size"], 1 << 20);
}

#[test]
fn medium_id_refuses_what_is_not_iso9660() {
    let t = TestEnv::new("medium-id-bad");
    std::fs::write(t.path("small"), [0u8; 4096]).unwrap();
    let e = t.fails(&["medium-id", "small"]);
    assert!(e.contains("small: not an ISO 9660 medium"), "{e}");
    assert!(e.contains("too small"), "{e}");

    File::create(t.path("zero"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let e = t.fails(&["medium-id", "zero"]);
    assert!(
        e.contains("zero: not an ISO 9660 medium: no primary volume descriptor"),
        "{e}"
    );

    make_iso(
        &t.path("nodate.iso"),
        1 << 20,
        "X",
        b"0000000000000000",
        &[],
    );
    let e = t.fails(&["medium-id", "nodate.iso"]);
    assert!(e.contains("no primary volume descriptor"), "{e}");

    let e = t.fails(&["medium-id", "missing"]);
    assert!(e.contains("missing: cannot open"), "{e}");
}

#[test]
fn check_medium_accepts_the_same_medium() {
    let (t, id) = live("same");
    let out = t.ok(&["check-medium", "p", "live.iso"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("medium: live.iso: {id}, label \"LIVE\", 8.0 MiB")
    );
    assert_eq!(
        lines[1],
        format!("playlist: volume 0 {id}: 3 extents, 224.0 KiB, the last ending at byte 4325376")
    );
    assert_eq!(lines[2], "identity: ok, the same medium");
    assert_eq!(lines[3], "extents: all within the medium's 8388608 bytes");
    assert_eq!(lines.len(), 4);
}

#[test]
fn check_medium_finds_another_build() {
    let (t, id) = live("date");
    // Rebuilt at another date, the same label.
    make_iso(
        &t.path("new.iso"),
        8 << 20,
        "LIVE",
        b"2026113004000001",
        &[],
    );
    let out = t.run(&["check-medium", "p", "new.iso"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("identity: MISMATCH: the medium is iso9660:2026-11-30-04-00-00-01:"),
        "{stdout}"
    );
    assert!(stdout.contains("another creation date"), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "bootcache: new.iso: is not {id} (another creation date (another build of the disc))"
        )
    );
}

#[test]
fn check_medium_finds_another_label() {
    let (t, _) = live("label");
    // The same pinned date, another flavour.
    make_iso(&t.path("other.iso"), 8 << 20, "LIVE-XFCE", DATE, &[]);
    let e = t.fails(&["check-medium", "p", "other.iso"]);
    assert!(e.contains("another label"), "{e}");
    let out = String::from_utf8(t.run(&["check-medium", "p", "other.iso"]).stdout).unwrap();
    assert!(out.contains("label \"LIVE-XFCE\""), "{out}");
    assert!(out.contains("identity: MISMATCH"), "{out}");
}

#[test]
fn check_medium_finds_extents_beyond_the_end() {
    let (t, _) = live("short");
    // The same id, but the image ends in the middle of the last extent.
    make_iso(
        &t.path("short.iso"),
        (4 << 20) + (64 << 10),
        "LIVE",
        DATE,
        &[],
    );
    let out = t.run(&["check-medium", "p", "short.iso"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("identity: ok"), "{stdout}");
    assert!(
        stdout.contains(
            "extents: 1 extent of 3 ends beyond the medium's end at byte 4259840 (64.0 KiB past it)"
        ),
        "{stdout}"
    );
    let e = t.fails(&["check-medium", "p", "short.iso"]);
    assert!(
        e.ends_with("short.iso: 1 extent ends beyond its end\n"),
        "{e}"
    );
}

#[test]
fn check_medium_counts_unchanged_bytes() {
    let (t, id) = live("unchanged");
    // The rebuild: the same id, the 32 KiB extent moved away (zeros where it was) and
    // one 2 KiB block of the 128 KiB extent changed.
    std::fs::copy(t.path("live.iso"), t.path("new.iso")).unwrap();
    patch(&t.path("new.iso"), 2 << 20, &[0u8; 32 << 10]);
    patch(&t.path("new.iso"), (4 << 20) + 6144, b"changed");
    let out = t.ok(&["check-medium", "p", "new.iso", "--recorded", "live.iso"]);
    // 224 KiB in all; 32 KiB + 2 KiB changed.
    assert!(
        out.contains("unchanged: 190.0 KiB of 224.0 KiB (84.8%) unchanged since live.iso"),
        "{out}"
    );
    let with_min = |min| {
        [
            "check-medium",
            "p",
            "new.iso",
            "--recorded",
            "live.iso",
            "--min-unchanged",
            min,
        ]
    };
    t.ok(&with_min("80"));
    let e = t.fails(&with_min("90%"));
    assert!(
        e.contains("only 84.8% of the playlist's bytes are unchanged (at least 90% wanted)"),
        "{e}"
    );
    // The image against itself: all unchanged. The root volume's extent is not counted.
    let out = t.ok(&["check-medium", "p", "live.iso", "--recorded", "live.iso"]);
    assert!(
        out.contains("224.0 KiB of 224.0 KiB (100.0%) unchanged"),
        "{out}"
    );
    // A recorded image that is not the playlist's medium is noted, not refused.
    make_iso(&t.path("other.iso"), 8 << 20, "OTHER", DATE, &[]);
    let out = t.ok(&["check-medium", "p", "live.iso", "--recorded", "other.iso"]);
    assert!(
        out.contains("recorded: note: other.iso is iso9660:"),
        "{out}"
    );
    assert!(out.contains("(0.0%) unchanged"), "{out}");
    assert!(!out.contains(&format!("other.iso is {id}")));
}

#[test]
fn check_medium_needs_an_iso9660_volume() {
    let t = TestEnv::new("medium-none");
    make_iso(&t.path("a.iso"), 1 << 20, "A", DATE, &[]);
    t.ok(&["make-playlist", "-o", "p", "-e", "root:0:4K"]);
    let e = t.fails(&["check-medium", "p", "a.iso"]);
    assert!(e.contains("p: names no ISO 9660 volume"), "{e}");
    // --min-unchanged wants --recorded.
    let out = t.run(&["check-medium", "p", "a.iso", "--min-unchanged", "50"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&[
        "check-medium",
        "p",
        "a.iso",
        "--recorded",
        "a.iso",
        "--min-unchanged",
        "101",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn iso9660_volumes_in_print_info_and_convert() {
    let (t, id) = live("print");
    let print = t.ok(&["print", "p"]);
    assert!(print.contains(&format!("  0  {id}   2048")), "{print}");
    let j: Value = serde_json::from_str(&t.ok(&["print", "p", "--json"])).unwrap();
    assert_eq!(j["version"], bootcache::format::FORMAT_VERSION);
    assert_eq!(j["volumes"][0]["id"], id.as_str());
    assert_eq!(j["volumes"][0]["kind"], "iso9660");
    assert_eq!(j["volumes"][1]["kind"], "root");
    let j: Value = serde_json::from_str(&t.ok(&["info", "p", "--json"])).unwrap();
    assert_eq!(j["per_volume"][0]["kind"], "iso9660");
    assert_eq!(j["per_volume"][0]["block_size"], 2048);
    let info = t.ok(&["info", "p"]);
    assert!(info.contains(&format!("id {id}, kind iso9660")), "{info}");
    // A history whose fourth volume is a disc converts to a playlist that keeps it.
    t.ok(&[
        "gen-history",
        "-o",
        "h",
        "--entries",
        "400",
        "--volumes",
        "4",
        "--volume-size",
        "64M",
    ]);
    let h: Value = serde_json::from_str(&t.ok(&["info", "h", "--json"])).unwrap();
    let disc = h["per_volume"][3]["id"].as_str().unwrap().to_string();
    assert_eq!(h["per_volume"][3]["kind"], "iso9660");
    assert!(
        disc.starts_with("iso9660:2026-01-01-00-00-00-03:"),
        "{disc}"
    );
    t.ok(&["convert", "h", "-o", "q"]);
    let q: Value = serde_json::from_str(&t.ok(&["info", "q", "--json"])).unwrap();
    let kept: Vec<&Value> = q["per_volume"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == disc.as_str())
        .collect();
    assert_eq!(kept.len(), 1, "{q}");
    assert_eq!(kept[0]["kind"], "iso9660");
    // convert --low-priority takes the text form.
    t.ok(&["convert", "h", "-o", "r", "--low-priority", &disc]);
}
