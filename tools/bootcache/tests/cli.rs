// SPDX-License-Identifier: GPL-2.0

//! Runs the `bootcache` binary the way a user or script would.

mod testenv;

use testenv::{no_temp_files, TestEnv};

#[test]
fn convert_validate_print_info_merge() {
    let t = TestEnv::new("flow");
    t.ok(&[
        "gen-history",
        "-o",
        "h",
        "--entries",
        "2000",
        "--volume-size",
        "256M",
    ]);
    let v = t.ok(&["validate", "h"]);
    assert!(v.contains("valid history: 3 volumes, 2000 entries"), "{v}");
    let out = t.run(&[
        "convert",
        "h",
        "-o",
        "p",
        "--max-gap",
        "64K",
        "--block-size",
        "4K",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("p: 3 volumes"));
    assert!(t.ok(&["validate", "h", "p"]).contains("p: valid playlist"));
    assert!(t
        .ok(&["validate", "--format", "playlist", "p"])
        .contains("valid playlist"));
    let print = t.ok(&["print", "p"]);
    assert!(print.starts_with("playlist version 3"));
    assert!(print.contains("EXTENT  VOL  BATCH"));
    let json: serde_json::Value = serde_json::from_str(&t.ok(&["print", "--json", "p"])).unwrap();
    assert_eq!(json["format"], "playlist");
    assert!(!json["extents"].as_array().unwrap().is_empty());
    let hj: serde_json::Value = serde_json::from_str(&t.ok(&["print", "--json", "h"])).unwrap();
    assert_eq!(hj["entries"].as_array().unwrap().len(), 2000);
    let info = t.ok(&["info", "p"]);
    assert!(
        info.contains("per_batch:") && info.contains("largest_gaps:"),
        "{info}"
    );
    let ij: serde_json::Value =
        serde_json::from_str(&t.ok(&["info", "--json", "--gaps", "2", "p"])).unwrap();
    assert!(ij["largest_gaps"].as_array().unwrap().len() <= 2);
    assert!(t.ok(&["info", "h"]).contains("tags: "));
    // Merging a playlist with itself, with the options that made it, changes nothing.
    t.ok(&["merge", "p", "p", "-o", "m", "--max-gap", "64K"]);
    assert!(std::fs::read(t.path("m")).unwrap() == std::fs::read(t.path("p")).unwrap());
    t.ok(&[
        "convert",
        "h",
        "-o",
        "low",
        "--low-priority",
        "root",
        "--max-bytes",
        "1M",
    ]);
    let lj: serde_json::Value = serde_json::from_str(&t.ok(&["info", "--json", "low"])).unwrap();
    assert!(lj["total_bytes"].as_u64().unwrap() <= 1 << 20);
    no_temp_files(&t.dir);
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let t = TestEnv::new("errors");
    t.ok(&["gen-malformed", "bad"]);
    let mut names: Vec<_> = std::fs::read_dir(t.path("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut messages = Vec::new();
    for n in &names {
        let format = if n.ends_with(".history") {
            "history"
        } else {
            "playlist"
        };
        let err = t.fails(&["validate", "--format", format, &format!("bad/{n}")]);
        let msg = err
            .split_once(": ")
            .unwrap()
            .1
            .split_once(": ")
            .unwrap()
            .1
            .to_string();
        messages.push(msg);
    }
    assert!(names.len() >= 20);
    t.fails(&["validate", "missing-file"]);
    t.fails(&["print", "bad"]);
    t.fails(&["convert", "bad/01-truncated.playlist", "-o", "x"]);
    std::fs::write(t.path("empty"), b"").unwrap();
    t.fails(&["info", "empty"]);
    t.ok(&["gen-history", "-o", "h", "--entries", "10"]);
    let e = t.fails(&["convert", "h", "-o", "x", "--block-size", "1000"]);
    assert!(e.contains("block size 1000"), "{e}");
    t.fails(&["convert", "h", "-o", "x", "--max-bytes", "5G"]);
    // A failed convert leaves no output and no temporary file.
    assert!(!t.path("x").exists());
    t.fails(&["convert", "h", "-o", "no/such/dir/x"]);
    t.fails(&["merge", "h", "h", "-o", "x"]);
    no_temp_files(&t.dir);
    // Usage errors are clap's (exit 2).
    assert_eq!(t.run(&["convert", "h"]).status.code(), Some(2));
    assert_eq!(
        t.run(&["convert", "h", "-o", "x", "--low-priority", "nonsense"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn convert_batches_keep_until() {
    use bootcache::format::{Entry, Volume, VolumeId, ENTRY_HIT};
    use bootcache::malformed::encode_history;
    let t = TestEnv::new("batches");
    let read = |ts: u64, offset: u64, flags: u16| Entry {
        offset,
        length: 4096,
        timestamp_ns: ts,
        pid: 1,
        flags,
        volume: 0,
    };
    let s = 1_000_000_000;
    // First read from the end of the disk back, 1 MiB apart; block 0 read again (a hit).
    let mut e: Vec<Entry> = (0..8u64).map(|i| read(i * s, (7 - i) << 20, 0)).collect();
    e.push(read(9 * s, 7 << 20, ENTRY_HIT));
    let vol = Volume {
        id: VolumeId::Root,
        record_count: 0,
        bytes: 0,
        block_size: 512,
    };
    std::fs::write(t.path("h"), encode_history(&[vol], &e)).unwrap();
    let info = t.ok(&["info", "h"]);
    assert!(info.contains("read_more_than_once_bytes: 4096"), "{info}");
    assert!(info.contains("times 2, bytes 4096"), "{info}");
    // Two blocks per batch: four batches, the first read first.
    let out = t.run(&["convert", "h", "-o", "p", "--batch-bytes", "8K"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("8 extents, 4 batches") && err.contains("4096 bytes kept for re-reads"),
        "{err}"
    );
    let j: serde_json::Value = serde_json::from_str(&t.ok(&["print", "--json", "p"])).unwrap();
    let x = j["extents"].as_array().unwrap();
    let col = |k: &str| x.iter().map(|v| v[k].clone()).collect::<Vec<_>>();
    assert_eq!(
        col("batch"),
        serde_json::json!([3, 3, 2, 2, 1, 1, 0, 0])
            .as_array()
            .unwrap()
            .clone()
    );
    let keep: Vec<bool> = x.iter().map(|v| v["keep"].as_bool().unwrap()).collect();
    assert_eq!(
        keep,
        [false, false, false, false, false, false, false, true]
    );
    assert_eq!(j["keep_bytes"], 4096);
    let print = t.ok(&["print", "p"]);
    assert!(print.contains("    keep  "), "{print}");
    // --no-keep, --batch-bytes 0 (one batch: there are no tags), --until.
    t.ok(&["convert", "h", "-o", "q", "--no-keep", "--batch-bytes", "0"]);
    let j: serde_json::Value = serde_json::from_str(&t.ok(&["info", "--json", "q"])).unwrap();
    assert_eq!(
        (j["batches"].clone(), j["keep_bytes"].clone()),
        (1.into(), 0.into())
    );
    let out = t.run(&["convert", "h", "-o", "u", "--until", "2.5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 entries after --until left out"));
    let j: serde_json::Value = serde_json::from_str(&t.ok(&["info", "--json", "u"])).unwrap();
    assert_eq!(j["total_bytes"], 3 * 4096);
    assert_eq!(
        t.run(&["convert", "h", "-o", "x", "--until", "-1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        t.run(&["merge", "p", "p", "-o", "x", "--no-keep"])
            .status
            .code(),
        Some(2)
    );
    // merge keeps what either keeps; make-playlist sets the flag.
    t.ok(&[
        "make-playlist",
        "-o",
        "k",
        "-e",
        "root:0:4K:0:keep",
        "-e",
        "root:1M:4K:0:low,keep",
    ]);
    let print = t.ok(&["print", "k"]);
    assert!(print.contains("low,keep"), "{print}");
    t.ok(&["merge", "q", "k", "-o", "m"]);
    let j: serde_json::Value = serde_json::from_str(&t.ok(&["info", "--json", "m"])).unwrap();
    assert_eq!(j["keep_bytes"], 2 * 4096);
    no_temp_files(&t.dir);
}
