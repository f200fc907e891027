// SPDX-License-Identifier: GPL-2.0

//! Runs the commands that drive the kernel against a fake `/sys/kernel/bootcache`: regular
//! files stand in for the sysfs files, and what the tool wrote is read back from them.

mod testenv;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use serde_json::Value;
use testenv::{no_temp_files, TestEnv};

/// The driver's counters, in its order, with the values the fake gives them.
const COUNTERS: [(&str, u64); 24] = [
    ("playlist_bytes", 8 << 20),
    ("missing_volume_bytes", 0),
    ("readahead_bios", 64),
    ("readahead_bytes", 4 << 20),
    ("readahead_errors", 0),
    ("hits", 300),
    ("hit_bytes", 3 << 20),
    ("misses", 100),
    ("miss_bytes", 1 << 20),
    ("parked", 10),
    ("parked_hits", 6),
    ("parked_timeouts", 2),
    ("parked_passed", 2),
    ("parked_wait_ns", 50_000_000),
    ("writes", 7),
    ("invalidated_bytes", 8192),
    ("history_events", 420),
    ("history_dropped", 0),
    ("cache_bytes", 1 << 20),
    ("cache_peak_bytes", 2 << 20),
    ("jettison_command", 0),
    ("jettison_misses", 1),
    ("jettison_memory", 0),
    ("jettison_disk_gone", 0),
];

/// A test directory with a fake sysfs directory `sys` in it.
fn fake(name: &str) -> (TestEnv, PathBuf) {
    let t = TestEnv::new(&format!("sysfs-{name}"));
    let sys = t.path("sys");
    fs::create_dir_all(sys.join("stats")).unwrap();
    for (f, v) in [
        ("version", "2\n"),
        ("state", "active\n"),
        ("recording", "0\n"),
        ("reason", "none\n"),
        ("control", ""),
        ("playlist", ""),
    ] {
        fs::write(sys.join(f), v).unwrap();
    }
    for (c, v) in COUNTERS {
        fs::write(sys.join("stats").join(c), format!("{v}\n")).unwrap();
    }
    (t, sys)
}

fn read(p: &PathBuf) -> String {
    fs::read_to_string(p).unwrap()
}

#[test]
fn start_loads_the_playlist_then_starts() {
    let (t, sys) = fake("start");
    t.ok(&[
        "make-playlist",
        "-o",
        "p",
        "-e",
        "root:0:64K",
        "-e",
        "root:1M:8K:1",
    ]);
    let out = t.ok(&["start", "--sysfs", "sys", "p"]);
    assert!(out.is_empty());
    assert_eq!(
        fs::read(sys.join("playlist")).unwrap(),
        fs::read(t.path("p")).unwrap()
    );
    assert_eq!(read(&sys.join("control")), "start");
}

#[test]
fn a_bad_playlist_is_refused_before_anything_is_written() {
    let (t, sys) = fake("start-bad");
    t.ok(&["gen-malformed", "bad"]);
    let e = t.fails(&["start", "--sysfs", "sys", "bad/01-truncated.playlist"]);
    assert!(e.contains("bad/01-truncated.playlist: "), "{e}");
    // A history is not a playlist either.
    t.ok(&["gen-history", "-o", "h", "--entries", "10"]);
    t.fails(&["start", "--sysfs", "sys", "h"]);
    t.fails(&["start", "--sysfs", "sys", "no-such-file"]);
    assert_eq!(read(&sys.join("playlist")), "");
    assert_eq!(read(&sys.join("control")), "");
    // Checked before the directory is even looked at.
    let e = t.fails(&["start", "--sysfs", "nowhere", "h"]);
    assert!(e.contains("h: "), "{e}");
}

#[test]
fn kernel_errors_are_reported_with_the_errno() {
    let (t, sys) = fake("errno");
    t.ok(&["make-playlist", "-o", "p", "-e", "root:0:4K"]);
    // Writes to /dev/full fail with ENOSPC, as a refusing sysfs file fails with its errno.
    fs::remove_file(sys.join("control")).unwrap();
    symlink("/dev/full", sys.join("control")).unwrap();
    let e = t.fails(&["start", "--sysfs", "sys", "p"]);
    assert_eq!(e, "bootcache: start: No space left on device (see dmesg)\n");
    // The playlist went in first.
    assert_eq!(
        fs::read(sys.join("playlist")).unwrap(),
        fs::read(t.path("p")).unwrap()
    );
    assert_eq!(
        t.fails(&["tag", "--sysfs", "sys"]),
        "bootcache: tag: No space left on device (see dmesg)\n"
    );
    t.fails(&["stop", "--sysfs", "sys"]);
    // A refused playlist stops `start` before `control`.
    fs::remove_file(sys.join("playlist")).unwrap();
    symlink("/dev/full", sys.join("playlist")).unwrap();
    fs::remove_file(sys.join("control")).unwrap();
    fs::write(sys.join("control"), "").unwrap();
    let e = t.fails(&["start", "--sysfs", "sys", "p"]);
    assert_eq!(
        e,
        "bootcache: start: playlist: No space left on device (see dmesg)\n"
    );
    assert_eq!(read(&sys.join("control")), "");
}

#[test]
fn tag_and_jettison_write_their_word() {
    let (t, sys) = fake("words");
    for w in ["tag", "jettison"] {
        t.ok(&[w, "--sysfs", "sys"]);
        assert_eq!(read(&sys.join("control")), w);
    }
}

#[test]
fn missing_directory_or_files() {
    let (t, sys) = fake("missing");
    for cmd in [
        vec!["tag", "--sysfs", "nowhere"],
        vec!["jettison", "--sysfs", "nowhere"],
        vec!["stop", "--sysfs", "nowhere"],
        vec!["stats", "--sysfs", "nowhere"],
    ] {
        let e = t.fails(&cmd);
        assert!(e.contains("nowhere: not found"), "{e}");
    }
    // A file instead of the directory.
    let e = t.fails(&["tag", "--sysfs", "sys/version"]);
    assert!(e.contains("Not a directory"), "{e}");
    // `control` is never created.
    fs::remove_file(sys.join("control")).unwrap();
    let e = t.fails(&["tag", "--sysfs", "sys"]);
    assert!(e.contains("control: cannot open: No such file"), "{e}");
    assert!(!sys.join("control").exists());
    fs::remove_dir_all(sys.join("stats")).unwrap();
    let e = t.fails(&["stats", "--sysfs", "sys"]);
    assert!(e.contains("stats: cannot list"), "{e}");
}

#[test]
fn stop_saves_the_history_and_makes_the_next_playlist() {
    let (t, sys) = fake("stop");
    t.ok(&[
        "gen-history",
        "-o",
        "sys/history",
        "--entries",
        "3000",
        "--volume-size",
        "256M",
    ]);
    let opts = [
        "--max-gap",
        "64K",
        "--max-bytes",
        "2M",
        "--low-priority",
        "root",
    ];
    let mut args = vec![
        "stop",
        "--sysfs",
        "sys",
        "--history",
        "h",
        "--playlist",
        "p",
    ];
    args.extend(opts);
    let out = t.run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("h: 3 volumes, 3000 entries"), "{err}");
    assert!(
        err.contains("p: 2 volumes") && err.contains("dropped by the cap"),
        "{err}"
    );
    assert_eq!(read(&sys.join("control")), "stop");
    assert_eq!(
        fs::read(t.path("h")).unwrap(),
        fs::read(sys.join("history")).unwrap()
    );
    // The same playlist as `convert` makes with the same options.
    let mut conv = vec!["convert", "sys/history", "-o", "c"];
    conv.extend(opts);
    t.ok(&conv);
    assert_eq!(
        fs::read(t.path("p")).unwrap(),
        fs::read(t.path("c")).unwrap()
    );
    t.ok(&["validate", "--format", "playlist", "p"]);
    // Only a playlist, or nothing at all.
    t.ok(&["stop", "--sysfs", "sys", "--playlist", "p2"]);
    assert!(t.path("p2").exists());
    fs::write(sys.join("control"), "").unwrap();
    t.ok(&["stop", "--sysfs", "sys"]);
    assert_eq!(read(&sys.join("control")), "stop");
    no_temp_files(&t.dir);
}

#[test]
fn stop_errors() {
    let (t, sys) = fake("stop-errors");
    // Bad convert options are refused before recording stops.
    let e = t.fails(&[
        "stop",
        "--sysfs",
        "sys",
        "--playlist",
        "p",
        "--block-size",
        "1000",
    ]);
    assert!(e.contains("block size 1000"), "{e}");
    assert_eq!(read(&sys.join("control")), "");
    // No history file.
    let e = t.fails(&["stop", "--sysfs", "sys", "--history", "h"]);
    assert!(e.contains("history: cannot open: No such file"), "{e}");
    assert_eq!(read(&sys.join("control")), "stop");
    // A history that cannot be read.
    fs::create_dir(sys.join("history")).unwrap();
    let e = t.fails(&["stop", "--sysfs", "sys", "--history", "h"]);
    assert_eq!(e, "bootcache: stop: history: Is a directory (see dmesg)\n");
    assert!(!t.path("h").exists());
    // A history that is not valid: saved as it came, and the playlist is not made.
    fs::remove_dir(sys.join("history")).unwrap();
    fs::write(sys.join("history"), b"junk").unwrap();
    let e = t.fails(&[
        "stop",
        "--sysfs",
        "sys",
        "--history",
        "h",
        "--playlist",
        "p",
    ]);
    assert!(e.contains("h: saved, but not a valid history"), "{e}");
    assert_eq!(fs::read(t.path("h")).unwrap(), b"junk");
    assert!(!t.path("p").exists());
    let e = t.fails(&["stop", "--sysfs", "sys", "--playlist", "p"]);
    assert!(e.contains("sys/history: "), "{e}");
    assert!(!t.path("p").exists());
    no_temp_files(&t.dir);
}

#[test]
fn stats_page() {
    let (t, sys) = fake("stats");
    fs::write(sys.join("stats").join("zz_new_counter"), "5\n").unwrap();
    let page = t.ok(&["stats", "--sysfs", "sys"]);
    let lines: Vec<&str> = page.lines().collect();
    assert_eq!(
        &lines[..4],
        [
            "version: 2",
            "state: active",
            "recording: 0",
            "reason: none"
        ]
    );
    let groups: Vec<&str> = lines.iter().copied().filter(|l| l.ends_with(':')).collect();
    assert_eq!(
        groups,
        [
            "read-ahead:",
            "serving:",
            "writes:",
            "history:",
            "memory:",
            "jettisons:",
            "other:"
        ]
    );
    for (c, _) in COUNTERS {
        assert!(page.contains(&format!("  {c} ")), "{c} missing:\n{page}");
    }
    for want in [
        "read ahead of playlist",
        "50.0%",
        "hit ratio (bios)",
        "75.0%",
        "hit ratio (bytes)",
        "served of read ahead",
        "mean wait when parked",
        "5.00 ms",
        "(8.0 MiB)",
        "zz_new_counter",
    ] {
        assert!(page.contains(want), "{want} missing:\n{page}");
    }
}

#[test]
fn stats_json() {
    let (t, sys) = fake("stats-json");
    fs::write(sys.join("stats").join("zz_new_counter"), "5\n").unwrap();
    let j: Value = serde_json::from_str(&t.ok(&["stats", "--sysfs", "sys", "--json"])).unwrap();
    assert_eq!(j["state"], "active");
    assert_eq!(j["recording"], false);
    assert_eq!(j["reason"], "none");
    assert_eq!(j["version"], 2);
    let c = j["counters"].as_object().unwrap();
    assert_eq!(c.len(), COUNTERS.len() + 1);
    for (name, v) in COUNTERS {
        assert_eq!(c[name], v, "{name}");
    }
    assert_eq!(c["zz_new_counter"], 5);
    let r = &j["ratios"];
    assert_eq!(r["hit_ratio_bios"], 0.75);
    assert_eq!(r["hit_ratio_bytes"], 0.75);
    assert_eq!(r["served_of_readahead"], 0.75);
    assert_eq!(r["readahead_done"], 0.5);
    assert_eq!(r["mean_parked_wait_ms"], 5.0);
    assert_eq!(r["history_dropped_ratio"], 0.0);
}

#[test]
fn stats_without_some_counters_or_with_zeros() {
    let (t, sys) = fake("stats-zero");
    for (c, _) in COUNTERS {
        fs::write(sys.join("stats").join(c), "0\n").unwrap();
    }
    fs::remove_file(sys.join("stats").join("miss_bytes")).unwrap();
    fs::remove_file(sys.join("recording")).unwrap();
    let j: Value = serde_json::from_str(&t.ok(&["stats", "--sysfs", "sys", "--json"])).unwrap();
    assert_eq!(j["recording"], Value::Null);
    let r = j["ratios"].as_object().unwrap();
    // No input, no ratio; a zero denominator gives null.
    assert!(!r.contains_key("hit_ratio_bytes"));
    assert_eq!(r["hit_ratio_bios"], Value::Null);
    assert_eq!(r["mean_parked_wait_ms"], Value::Null);
    let page = t.ok(&["stats", "--sysfs", "sys"]);
    assert!(page.contains("recording: ?"), "{page}");
    assert!(!page.contains("hit ratio (bytes)"), "{page}");
    assert!(
        page.lines()
            .any(|l| l.contains("hit ratio (bios)") && l.ends_with(" -")),
        "{page}"
    );
    // An empty stats directory still makes a page.
    fs::remove_dir_all(sys.join("stats")).unwrap();
    fs::create_dir(sys.join("stats")).unwrap();
    let page = t.ok(&["stats", "--sysfs", "sys"]);
    assert_eq!(page.lines().count(), 4, "{page}");
}
