// SPDX-License-Identifier: GPL-2.0

//! `bootcache info`: a summary of a playlist or history (bytes per batch and volume,
//! counts, gaps), as text or JSON.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use bootcache::fileio::read_input;
use bootcache::summary;

use super::input::{parse_any, Parsed};

/// Summarises the file at `path`, as text or JSON.
pub(super) fn run(path: &Path, as_json: bool, gaps: usize) -> Result<()> {
    let bytes = read_input(path)?;
    let v = match parse_any(path, &bytes)? {
        Parsed::Playlist(p) => summary::playlist(&p, gaps),
        Parsed::History(h) => summary::history(&h),
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if as_json {
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        render_info(&mut out, &v).context("writing the summary")?;
    }
    out.flush()?;
    Ok(())
}

/// Renders a summary as `key: value` lines and small tables.
fn render_info(out: &mut impl Write, v: &Value) -> io::Result<()> {
    let Some(map) = v.as_object() else {
        return Ok(());
    };
    for (k, val) in map {
        match val {
            Value::Array(rows) => {
                writeln!(out, "{k}:")?;
                if rows.is_empty() {
                    writeln!(out, "  (none)")?;
                }
                for row in rows {
                    let cells: Vec<String> = row
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(ck, cv)| match cv {
                                    Value::String(s) => format!("{ck} {s}"),
                                    other => format!("{ck} {other}"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    writeln!(out, "  {}", cells.join(", "))?;
                }
            }
            Value::String(s) => writeln!(out, "{k}: {s}")?,
            other => writeln!(out, "{k}: {other}")?,
        }
    }
    Ok(())
}
