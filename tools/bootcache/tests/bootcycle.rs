// SPDX-License-Identifier: GPL-2.0

//! The boot cycle's commands against a fake `/sys/kernel/bootcache` and a save directory:
//! `boot-start`, `stop --save-dir` and `status`.

mod testenv;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use testenv::{no_temp_files, TestEnv};

/// A test directory with a fake sysfs directory `sys` in the given state, and an empty
/// save directory `state`.
fn fake(name: &str, state: &str, recording: &str, reason: &str) -> (TestEnv, PathBuf) {
    let t = TestEnv::new(&format!("cycle-{name}"));
    let sys = t.path("sys");
    fs::create_dir_all(sys.join("stats")).unwrap();
    for (f, v) in [
        ("version", "2\n".to_string()),
        ("state", format!("{state}\n")),
        ("recording", format!("{recording}\n")),
        ("reason", format!("{reason}\n")),
        ("control", String::new()),
        ("playlist", String::new()),
    ] {
        fs::write(sys.join(f), v).unwrap();
    }
    fs::create_dir(t.path("state")).unwrap();
    (t, sys)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

fn saved_playlist(t: &TestEnv) -> Vec<u8> {
    t.ok(&[
        "make-playlist",
        "-o",
        "state/playlist",
        "-e",
        "root:0:1M",
        "-e",
        "root:8M:1M:1",
    ]);
    fs::read(t.path("state/playlist")).unwrap()
}

fn boot_start(t: &TestEnv) -> std::process::Output {
    t.run(&["boot-start", "--dir", "state", "--sysfs", "sys"])
}

#[test]
fn idle_kernel_consumes_loads_and_starts() {
    let (t, sys) = fake("start", "idle", "0", "none");
    let p = saved_playlist(&t);
    let out = boot_start(&t);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "bootcache: started with state/playlist.used (1 volumes, 2 extents, 2 batches, \
         2.0 MiB to read ahead)\n"
    );
    assert!(out.stderr.is_empty());
    // Consumed before use: the next boot does not see it again.
    assert!(!t.path("state/playlist").exists());
    assert_eq!(fs::read(t.path("state/playlist.used")).unwrap(), p);
    assert_eq!(fs::read(sys.join("playlist")).unwrap(), p);
    assert_eq!(read(&sys.join("control")), "start");
}

#[test]
fn no_saved_playlist_starts_recording_only() {
    let (t, sys) = fake("record", "idle", "0", "none");
    let out = t.ok(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert_eq!(
        out,
        "bootcache: recording the root device (no saved playlist)\n"
    );
    assert_eq!(read(&sys.join("control")), "record");
    assert_eq!(read(&sys.join("playlist")), "");
}

#[test]
fn a_running_session_gets_the_playlist_added() {
    let (t, sys) = fake("append", "active", "1", "none");
    let p = saved_playlist(&t);
    let out = t.ok(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert!(
        out.starts_with("bootcache: added state/playlist.used (1 volumes, 2 extents"),
        "{out}"
    );
    assert_eq!(fs::read(sys.join("playlist")).unwrap(), p);
    // No second `start`: the kernel appends a playlist that arrives while it caches.
    assert_eq!(read(&sys.join("control")), "");
    assert!(!t.path("state/playlist").exists());
    // Nothing saved: nothing to do.
    let out = t.ok(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert_eq!(
        out,
        "bootcache: already caching and recording (started by the kernel or the initramfs); \
         no saved playlist to add\n"
    );
    assert_eq!(read(&sys.join("control")), "");
}

#[test]
fn a_session_that_already_ended_is_left_alone() {
    let (t, sys) = fake("ended", "idle", "0", "misses");
    let p = saved_playlist(&t);
    let out = t.ok(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert_eq!(
        out,
        "bootcache: a session already ran this boot and ended (misses); not starting another\n"
    );
    // Not consumed, nothing written.
    assert_eq!(fs::read(t.path("state/playlist")).unwrap(), p);
    assert_eq!(read(&sys.join("control")), "");
    assert_eq!(read(&sys.join("playlist")), "");
}

#[test]
fn a_bad_saved_playlist_is_consumed_and_not_used() {
    let (t, sys) = fake("bad", "idle", "0", "none");
    t.ok(&["gen-malformed", "bad"]);
    fs::copy(
        t.path("bad/13-bad-checksum.playlist"),
        t.path("state/playlist"),
    )
    .unwrap();
    let out = boot_start(&t);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("bootcache: warning: state/playlist.used: not used: "),
        "{err}"
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "bootcache: recording the root device (no saved playlist)\n"
    );
    assert!(!t.path("state/playlist").exists());
    assert_eq!(read(&sys.join("playlist")), "");
    assert_eq!(read(&sys.join("control")), "record");
}

#[test]
fn a_refused_playlist_stays_consumed() {
    let (t, sys) = fake("refused", "idle", "0", "none");
    saved_playlist(&t);
    fs::remove_file(sys.join("playlist")).unwrap();
    symlink("/dev/full", sys.join("playlist")).unwrap();
    let e = t.fails(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert_eq!(
        e,
        "bootcache: boot-start: playlist: No space left on device (see dmesg)\n"
    );
    assert!(!t.path("state/playlist").exists());
    assert!(t.path("state/playlist.used").exists());
    assert_eq!(read(&sys.join("control")), "");
    let e = t.fails(&["boot-start", "--dir", "state", "--sysfs", "nowhere"]);
    assert!(e.contains("nowhere: not found"), "{e}");
}

#[test]
fn stop_saves_into_the_directory() {
    let (t, sys) = fake("stop", "active", "1", "none");
    t.ok(&["gen-history", "-o", "sys/history", "--entries", "500"]);
    let out = t.run(&[
        "stop",
        "--sysfs",
        "sys",
        "--save-dir",
        "state",
        "--max-gap",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&sys.join("control")), "stop");
    assert_eq!(
        fs::read(t.path("state/history")).unwrap(),
        fs::read(sys.join("history")).unwrap()
    );
    t.ok(&["convert", "sys/history", "-o", "c", "--max-gap", "0"]);
    assert_eq!(
        fs::read(t.path("state/playlist")).unwrap(),
        fs::read(t.path("c")).unwrap()
    );
    no_temp_files(&t.path("state"));
    // The next boot-start uses what stop saved.
    fs::write(sys.join("state"), "idle\n").unwrap();
    fs::write(sys.join("control"), "").unwrap();
    let out = t.ok(&["boot-start", "--dir", "state", "--sysfs", "sys"]);
    assert!(
        out.starts_with("bootcache: started with state/playlist.used"),
        "{out}"
    );
    assert_eq!(
        fs::read(sys.join("playlist")).unwrap(),
        fs::read(t.path("c")).unwrap()
    );
    // --save-dir replaces --history and --playlist.
    let out = t.run(&[
        "stop",
        "--sysfs",
        "sys",
        "--save-dir",
        "state",
        "--history",
        "h",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

const COUNTERS: [(&str, u64); 13] = [
    ("playlist_bytes", 100 << 20),
    ("missing_volume_bytes", 0),
    ("capped_bytes", 0),
    ("readahead_bytes", 96 << 20),
    ("hits", 15120),
    ("hit_bytes", 91 << 20),
    ("misses", 803),
    ("parked", 210),
    ("parked_wait_ns", 1_900_000_000),
    ("writes", 12),
    ("invalidated_bytes", 8192),
    ("history_events", 16002),
    ("history_dropped", 0),
];

fn status(t: &TestEnv, cmdline: &str) -> String {
    fs::write(t.path("cmdline"), cmdline).unwrap();
    t.ok(&[
        "status",
        "--sysfs",
        "sys",
        "--dir",
        "state",
        "--cmdline",
        "cmdline",
    ])
}

#[test]
fn status_after_a_jettison() {
    let (t, sys) = fake("status", "idle", "0", "misses");
    for (c, v) in COUNTERS {
        fs::write(sys.join("stats").join(c), format!("{v}\n")).unwrap();
    }
    fs::write(sys.join("boot"), "auto\n").unwrap();
    fs::write(sys.join("embedded"), format!("{}\n", 1_258_291)).unwrap();
    t.ok(&["gen-history", "-o", "state/history", "--entries", "16002"]);
    saved_playlist(&t);
    let s = status(
        &t,
        "BOOT_IMAGE=/vmlinuz root=/dev/sda1 bootcache=auto,record,wait=500\n",
    );
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "bootcache: cache ended (hit rate too low: miss_limit reads in a row missed the cache)",
            "  boot: bootcache=auto,record,wait=500 (start with the embedded playlist, and \
             record; wait limit 500 ms; embedded playlist, 1.2 MiB)",
            "  playlist: 100.0 MiB asked, 96.0 MiB read ahead, 91.0 MiB used (94.8%)",
            "  reads: 15,120 hits, 803 misses (95.0% hits), 210 parked (1.9 s waiting)",
            "  writes: 12 (8.0 KiB of cache invalidated)",
            "  recording: stopped, 16,002 events recorded",
        ]
    );
    assert!(
        lines[6].starts_with("  history: state/history: 16,002 entries over "),
        "{s}"
    );
    assert!(lines[6].ends_with(" s ago"), "{s}");
    assert!(
        lines[7].starts_with("  next playlist: state/playlist: 2 extents, 2.0 MiB, saved "),
        "{s}"
    );
    assert_eq!(lines.len(), 8, "{s}");
}

#[test]
fn status_while_recording_and_without_a_session() {
    let (t, sys) = fake("status-rec", "active", "1", "none");
    for (c, v) in COUNTERS {
        fs::write(sys.join("stats").join(c), format!("{v}\n")).unwrap();
    }
    fs::write(sys.join("stats/playlist_bytes"), "0\n").unwrap();
    fs::write(sys.join("embedded"), "0\n").unwrap();
    let s = status(&t, "root=/dev/sda1 bootcache=record");
    assert_eq!(
        s,
        "bootcache: caching and recording\n\
         \x20 boot: bootcache=record (record from the first bio on the root disk, no playlist; \
         no embedded playlist)\n\
         \x20 playlist: none (recording only)\n\
         \x20 reads: 15,120 hits, 803 misses (95.0% hits), 210 parked (1.9 s waiting)\n\
         \x20 writes: 12 (8.0 KiB of cache invalidated)\n\
         \x20 recording: on, 16,002 events so far\n\
         \x20 history: none saved in state\n\
         \x20 next playlist: none saved in state (the next boot records only, unless the stop \
         timer saves one)\n"
    );
    fs::write(sys.join("state"), "idle\n").unwrap();
    fs::write(sys.join("recording"), "0\n").unwrap();
    let s = status(&t, "quiet");
    assert_eq!(
        s.lines().take(3).collect::<Vec<_>>(),
        [
            "bootcache: idle: no cache session has run since boot",
            "  boot: no bootcache= option (no embedded playlist: waits for userspace)",
            "  history: none saved in state",
        ]
    );
    // A saved file that is not valid says so.
    fs::write(t.path("state/playlist.used"), b"junk").unwrap();
    let s = status(&t, "quiet");
    assert!(
        s.contains("  consumed: state/playlist.used: not valid: "),
        "{s}"
    );
}

#[test]
fn status_without_the_driver() {
    let (t, _) = fake("status-none", "idle", "0", "none");
    fs::write(t.path("cmdline"), "root=/dev/sda1\n").unwrap();
    let s = t.ok(&[
        "status",
        "--sysfs",
        "nowhere",
        "--dir",
        "state",
        "--cmdline",
        "cmdline",
    ]);
    assert_eq!(
        s,
        "bootcache: not running: bootcache is not in this kernel or was turned off with \
         bootcache=off\n\
         \x20 boot: no bootcache= option (auto if a playlist is embedded)\n\
         \x20 history: none saved in state\n\
         \x20 next playlist: none saved in state (the next boot records only, unless the stop \
         timer saves one)\n"
    );
    fs::write(t.path("cmdline"), "root=/dev/sda1 bootcache=off\n").unwrap();
    let s = t.ok(&[
        "status",
        "--sysfs",
        "nowhere",
        "--dir",
        "state",
        "--cmdline",
        "cmdline",
    ]);
    assert!(
        s.starts_with(
            "bootcache: off (bootcache=off on the kernel command line)\n  boot: bootcache=off \
             (off: the driver does nothing)\n"
        ),
        "{s}"
    );
}
