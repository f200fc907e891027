// SPDX-License-Identifier: GPL-2.0

//! `bootcache print`: a playlist's or history's header, volumes and records, as tables
//! or as JSON.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use bootcache::fileio::read_input;
use bootcache::format::{self, History, Playlist};
use bootcache::summary;

use super::input::{parse_any, Parsed};

/// An extent's flags as `print` shows them: `low`, `keep`, `low,keep` or `-`.
fn extent_flags(flags: u16) -> String {
    let names: Vec<&str> = [
        (format::EXTENT_LOW_PRIORITY, "low"),
        (format::EXTENT_KEEP, "keep"),
    ]
    .into_iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| name)
    .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

fn entry_flags(flags: u16) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (format::ENTRY_TAG, 'T'),
        (format::ENTRY_WRITE, 'W'),
        (format::ENTRY_HIT, 'H'),
        (format::ENTRY_WAITED, 'w'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('R');
    }
    s
}

/// Prints the file at `path` as tables, or as JSON.
pub(super) fn run(path: &Path, as_json: bool) -> Result<()> {
    let bytes = read_input(path)?;
    let parsed = parse_any(path, &bytes)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if as_json {
        let v = match &parsed {
            Parsed::Playlist(p) => playlist_json(p),
            Parsed::History(h) => history_json(h),
        };
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    match parsed {
        Parsed::Playlist(p) => {
            let h = p.header();
            writeln!(
                out,
                "playlist version {} flags {:#x} checksum {:#010x}",
                format::FORMAT_VERSION,
                h.flags,
                h.checksum
            )?;
            writeln!(
                out,
                "{} volumes, {} extents, {} batches, {} bytes\n",
                p.volume_count(),
                p.extent_count(),
                p.batch_count(),
                p.total_bytes()
            )?;
            print_volumes(&mut out, p.volumes(), "EXTENTS", "BYTES")?;
            writeln!(
                out,
                "\n{:>7}  {:>3}  {:>5}  {:>8}  {:>16}  {:>12}",
                "EXTENT", "VOL", "BATCH", "FLAGS", "OFFSET", "LENGTH"
            )?;
            for (i, x) in p.extents().enumerate() {
                writeln!(
                    out,
                    "{:>7}  {:>3}  {:>5}  {:>8}  {:>16}  {:>12}",
                    i,
                    x.volume,
                    x.batch,
                    extent_flags(x.flags),
                    x.offset,
                    x.length
                )?;
            }
        }
        Parsed::History(h) => {
            let hd = h.header();
            writeln!(
                out,
                "history version {} flags {:#x}{} checksum {:#010x}",
                format::FORMAT_VERSION,
                hd.flags,
                if h.is_truncated() { " (truncated)" } else { "" },
                hd.checksum
            )?;
            writeln!(
                out,
                "{} volumes, {} entries, {} tags, {} bytes read\n",
                h.volume_count(),
                h.entry_count(),
                hd.extra,
                hd.bytes
            )?;
            print_volumes(&mut out, h.volumes(), "ENTRIES", "READ BYTES")?;
            writeln!(
                out,
                "\n{:>7}  {:>14}  {:>7}  {:>5}  {:>3}  {:>16}  {:>12}",
                "ENTRY", "TIME_NS", "PID", "FLAGS", "VOL", "OFFSET", "LENGTH"
            )?;
            for (i, e) in h.entries().enumerate() {
                let vol = if e.is_tag() {
                    "-".to_string()
                } else {
                    e.volume.to_string()
                };
                writeln!(
                    out,
                    "{:>7}  {:>14}  {:>7}  {:>5}  {:>3}  {:>16}  {:>12}",
                    i,
                    e.timestamp_ns,
                    e.pid,
                    entry_flags(e.flags),
                    vol,
                    e.offset,
                    e.length
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The volume table of `print`, with the labels of the record count and
/// byte columns.
fn print_volumes(
    out: &mut impl Write,
    vols: format::Volumes<'_>,
    records: &str,
    bytes: &str,
) -> io::Result<()> {
    writeln!(
        out,
        "{:>3}  {:<39}  {:>5}  {:>7}  {:>14}",
        "VOL", "ID", "BLOCK", records, bytes
    )?;
    for (i, v) in vols.enumerate() {
        writeln!(
            out,
            "{:>3}  {:<39}  {:>5}  {:>7}  {:>14}",
            i,
            v.id.to_string(),
            v.block_size,
            v.record_count,
            v.bytes
        )?;
    }
    Ok(())
}

fn volumes_json(vols: format::Volumes<'_>) -> Vec<Value> {
    vols.enumerate()
        .map(|(i, v)| {
            json!({
                "index": i,
                "id": v.id.to_string(),
                "kind": summary::volume_kind(v.id),
                "block_size": v.block_size,
                "record_count": v.record_count,
                "bytes": v.bytes,
            })
        })
        .collect()
}

fn playlist_json(p: &Playlist<'_>) -> Value {
    let h = p.header();
    json!({
        "format": "playlist",
        "version": format::FORMAT_VERSION,
        "flags": h.flags,
        "checksum": h.checksum,
        "batch_count": p.batch_count(),
        "total_bytes": p.total_bytes(),
        "keep_bytes": p.extents().filter(|x| x.keeps()).map(|x| x.length).sum::<u64>(),
        "volumes": volumes_json(p.volumes()),
        "extents": p.extents().map(|x| json!({
            "volume": x.volume,
            "offset": x.offset,
            "length": x.length,
            "batch": x.batch,
            "low_priority": x.is_low_priority(),
            "keep": x.keeps(),
        })).collect::<Vec<_>>(),
    })
}

fn history_json(h: &History<'_>) -> Value {
    let hd = h.header();
    json!({
        "format": "history",
        "version": format::FORMAT_VERSION,
        "flags": hd.flags,
        "truncated": h.is_truncated(),
        "checksum": hd.checksum,
        "tag_count": hd.extra,
        "read_bytes": hd.bytes,
        "volumes": volumes_json(h.volumes()),
        "entries": h.entries().map(|e| json!({
            "timestamp_ns": e.timestamp_ns,
            "pid": e.pid,
            "flags": entry_flags(e.flags),
            "volume": if e.is_tag() { Value::Null } else { json!(e.volume) },
            "offset": e.offset,
            "length": e.length,
        })).collect::<Vec<_>>(),
    })
}
