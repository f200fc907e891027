// SPDX-License-Identifier: GPL-2.0

//! `bootcache plot`: the SVG is well-formed XML and has one mark per entry when entries
//! are far apart, with the playlist's extents behind them.

mod testenv;

use std::fs;

use bootcache::format::*;
use testenv::{no_temp_files, TestEnv};

/// Checks that `s` is well-formed XML as far as this SVG needs: one root element, every
/// tag closed in order, attributes quoted, no bare `&` or `<` in text.
fn well_formed(s: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = s;
    let mut roots = 0;
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").ok_or("unclosed declaration")? + 2..];
    }
    loop {
        let Some(lt) = rest.find('<') else {
            if !rest.trim().is_empty() && stack.is_empty() {
                return Err("text after the root".into());
            }
            check_text(rest)?;
            break;
        };
        check_text(&rest[..lt])?;
        let gt = rest[lt..].find('>').ok_or("unclosed tag")? + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().ok_or("empty tag")?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad name {name:?}"));
        }
        // Attributes: name="value" pairs.
        let mut attrs = body[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find("=\"")
                .ok_or(format!("unquoted attribute in <{tag}>"))?;
            let close = attrs[eq + 2..].find('"').ok_or("unclosed attribute")? + eq + 2;
            check_text(&attrs[eq + 2..close])?;
            if attrs[eq + 2..close].contains('<') {
                return Err("< in an attribute".into());
            }
            attrs = attrs[close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

fn check_text(t: &str) -> Result<(), String> {
    for (i, _) in t.match_indices('&') {
        let ent = &t[i..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| ent.starts_with(e))
        {
            return Err(format!("bare & in {t:?}"));
        }
    }
    Ok(())
}

/// The rectangles of the group with this id.
fn group_rects(svg: &str, id: &str) -> usize {
    let start = svg
        .find(&format!("<g id=\"{id}\""))
        .unwrap_or_else(|| panic!("no group {id}"));
    let end = svg[start..].find("</g>").unwrap() + start;
    svg[start..end].matches("<rect ").count()
}

fn entry(ts_s: f64, volume: u16, offset: u64, flags: u16) -> Entry {
    Entry {
        offset,
        length: 64 << 10,
        timestamp_ns: (ts_s * 1e9) as u64,
        pid: 1,
        flags,
        volume,
    }
}

/// A history of 14 s on two volumes: entries a second apart and far apart on the
/// offset axis, so each is one mark.
fn history() -> Vec<u8> {
    let vols = [
        Volume {
            id: VolumeId::Root,
            record_count: 0,
            bytes: 0,
            block_size: 4096,
        },
        Volume {
            id: VolumeId::parse("00112233-4455-6677-8899-aabbccddeeff").unwrap(),
            record_count: 0,
            bytes: 0,
            block_size: 4096,
        },
    ];
    let mib = 1u64 << 20;
    let mut e = vec![
        entry(0.0, 0, 0, ENTRY_HIT),
        entry(1.0, 0, 100 * mib, ENTRY_HIT),
        entry(2.0, 0, 200 * mib, 0),
        Entry::tag(2_500_000_000, 1),
        entry(3.0, 0, 300 * mib, ENTRY_HIT | ENTRY_WAITED),
        entry(4.0, 0, 400 * mib, ENTRY_HIT),
        entry(5.0, 1, 0, 0),
        entry(6.0, 1, 50 * mib, ENTRY_WRITE),
        entry(7.0, 1, 100 * mib, ENTRY_HIT),
        Entry::tag(7_500_000_000, 1),
        entry(8.0, 1, 150 * mib, 0),
        entry(9.0, 0, 500 * mib, ENTRY_HIT | ENTRY_WAITED),
        entry(10.0, 0, 600 * mib, ENTRY_HIT),
        entry(11.0, 0, 700 * mib, ENTRY_WRITE),
        entry(12.0, 1, 200 * mib, ENTRY_HIT),
        entry(14.0, 0, 800 * mib, 0),
    ];
    e.sort_by_key(|e| e.timestamp_ns);
    let mut buf = vec![0u8; file_size(Format::History, 2, e.len() as u32) as usize];
    let len = write_history(&mut buf, 0, &vols, &e).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn marks_per_kind_and_tags() {
    let t = TestEnv::new("plot");
    fs::write(t.path("h"), history()).unwrap();
    let out = t.run(&["plot", "h", "-o", "h.svg"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("h.svg: 14 entries as 14 marks, 2 tags, "),
        "{err}"
    );
    let svg = fs::read_to_string(t.path("h.svg")).unwrap();
    well_formed(&svg).unwrap();
    assert_eq!(group_rects(&svg, "hit"), 6);
    assert_eq!(group_rects(&svg, "miss"), 4);
    assert_eq!(group_rects(&svg, "waited"), 2);
    assert_eq!(group_rects(&svg, "write"), 2);
    assert!(!svg.contains("id=\"readahead\""));
    let tags = &svg[svg.find("<g id=\"tags\"").unwrap()..];
    let tags = &tags[..tags.find("</g>").unwrap()];
    assert_eq!(tags.matches("<line ").count(), 2);
    assert!(tags.contains(">tag 1</text>") && tags.contains(">tag 2</text>"));
    for want in [
        "<title>h: 16 entries over 14.0 s</title>",
        "volume 0: root",
        "volume 1: 00112233-4455-6677-8899-aabbccddeeff",
        "time since recording started (s)",
        "offset in volume (MiB)",
        "read: hit (6)",
        "read: miss (4)",
        "read: parked, then hit (2)",
        "write (2)",
        "tag (2)",
    ] {
        assert!(svg.contains(want), "{want} missing");
    }
    no_temp_files(&t.dir);
}

#[test]
fn playlist_band_and_title() {
    let t = TestEnv::new("plot-playlist");
    fs::write(t.path("h"), history()).unwrap();
    // Two extents far apart on the root, one on the GPT volume, one on a volume the
    // history does not have (it gets a band of its own).
    t.ok(&[
        "make-playlist",
        "-o",
        "p",
        "-e",
        "root:0:1M",
        "-e",
        "root:400M:1M",
        "-e",
        "00112233-4455-6677-8899-aabbccddeeff:100M:4M",
        "-e",
        "11111111-01:0:4K",
    ]);
    t.ok(&[
        "plot",
        "h",
        "--playlist",
        "p",
        "--title",
        "boot <1> & \"more\"",
        "-o",
        "p.svg",
    ]);
    let svg = fs::read_to_string(t.path("p.svg")).unwrap();
    well_formed(&svg).unwrap();
    assert_eq!(group_rects(&svg, "readahead"), 4);
    assert!(svg.contains("volume 2: 11111111-01"));
    assert!(svg.contains("read ahead (6.0 MiB)"));
    assert!(svg.contains("<title>boot &lt;1&gt; &amp; &quot;more&quot;</title>"));
    // The read-ahead band is drawn first, under the entries.
    assert!(svg.find("id=\"readahead\"").unwrap() < svg.find("id=\"hit\"").unwrap());
    assert_eq!(group_rects(&svg, "hit"), 6);
}

#[test]
fn many_entries_stay_small_and_bad_inputs_fail() {
    let t = TestEnv::new("plot-big");
    t.ok(&["gen-history", "-o", "h", "--entries", "100000"]);
    t.ok(&["convert", "h", "-o", "p"]);
    t.ok(&["plot", "h", "--playlist", "p", "-o", "big.svg"]);
    let svg = fs::read_to_string(t.path("big.svg")).unwrap();
    well_formed(&svg).unwrap();
    assert!(svg.len() < 4 << 20, "{} bytes", svg.len());
    let marks: usize = ["hit", "miss", "waited", "write"]
        .iter()
        .map(|k| group_rects(&svg, k))
        .sum();
    assert!(marks > 1000 && marks < 100_000, "{marks}");
    // The playlist must be a playlist, the history a history.
    let e = t.fails(&["plot", "p", "-o", "x.svg"]);
    assert!(e.starts_with("bootcache: p: "), "{e}");
    let e = t.fails(&["plot", "h", "--playlist", "h", "-o", "x.svg"]);
    assert!(e.starts_with("bootcache: h: "), "{e}");
    assert!(!t.path("x.svg").exists());
    // An empty history still makes a picture.
    let mut buf = vec![0u8; file_size(Format::History, 0, 0) as usize];
    let len = write_history(&mut buf, 0, &[], &[]).unwrap();
    fs::write(t.path("empty"), &buf[..len]).unwrap();
    t.ok(&["plot", "empty", "-o", "e.svg"]);
    well_formed(&fs::read_to_string(t.path("e.svg")).unwrap()).unwrap();
}

#[test]
fn the_checker_catches_broken_xml() {
    assert!(well_formed("<svg><g></g></svg>").is_ok());
    assert!(well_formed("<svg><g></svg>").is_err());
    assert!(well_formed("<svg a=b/>").is_err());
    assert!(well_formed("<svg>a & b</svg>").is_err());
    assert!(well_formed("<svg/><svg/>").is_err());
}
