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
    assert!(print.starts_with("playlist version 2"));
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
