// SPDX-License-Identifier: GPL-2.0

//! `bootcache convert` and `bootcache merge`: make a playlist from a history, or from two
//! playlists. `stop` makes the next playlist with the same code.

use std::path::Path;

use anyhow::{anyhow, Result};

use bootcache::convert::{self, Options, Report};
use bootcache::fileio::{read_input, write_atomic};

use super::input::{parse_history, parse_playlist};
use crate::cli::{BuildArgs, HistoryArgs};

/// The conversion options of `convert`, `merge` and `stop`, checked; `history` for those
/// that read a history (`merge` uses the defaults, which it ignores).
pub(super) fn options(build: BuildArgs, history: Option<HistoryArgs>) -> Result<Options> {
    let mut opts = Options {
        block_size: build.block_size,
        max_gap: build.max_gap,
        max_bytes: build.max_bytes,
        low_priority: build.low_priority,
        ..Options::default()
    };
    if let Some(h) = history {
        opts.batch_bytes = h.batch_bytes;
        opts.batch_ns = h
            .batch_ms
            .checked_mul(1_000_000)
            .ok_or_else(|| anyhow!("--batch-ms {} is too large", h.batch_ms))?;
        opts.max_batches = h.max_batches;
        opts.pull_ahead = h.pull_ahead;
        opts.keep = !h.no_keep;
        opts.until_ns = h.until;
    }
    opts.check().map_err(|e| anyhow!("{e}"))?;
    Ok(opts)
}

/// Writes the playlist made and says what it holds (and what was dropped).
fn finish(output: &Path, data: &convert::PlaylistData, report: &Report) -> Result<()> {
    for id in &report.unknown_low_priority {
        eprintln!("bootcache: warning: --low-priority volume {id} is not in the input");
    }
    let bytes = data
        .to_bytes()
        .map_err(|e| anyhow!("internal error: made an invalid playlist: {e}"))?;
    write_atomic(output, &bytes)?;
    let mut notes = Vec::new();
    if data.keep_bytes() > 0 {
        notes.push(format!("{} bytes kept for re-reads", data.keep_bytes()));
    }
    if report.dropped_cap_bytes > 0 {
        notes.push(format!(
            "{} bytes dropped by the cap",
            report.dropped_cap_bytes
        ));
    }
    if report.batches_grown {
        notes.push(format!(
            "batches grown to {} bytes{} to fit --max-batches",
            report.batch_bytes,
            if report.batch_ns > 0 {
                format!(", {} ms", report.batch_ns / 1_000_000)
            } else {
                String::new()
            }
        ));
    }
    if report.entries_after_until > 0 {
        notes.push(format!(
            "{} entries after --until left out",
            report.entries_after_until
        ));
    }
    eprintln!(
        "{}: {} volumes, {} extents, {} batches, {} bytes{}",
        output.display(),
        data.volumes.len(),
        data.extents.len(),
        data.batch_count(),
        data.total_bytes(),
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    );
    Ok(())
}

/// Makes a playlist from the history at `history` and writes it to `output`.
pub(super) fn convert(
    history: &Path,
    output: &Path,
    build: BuildArgs,
    history_args: HistoryArgs,
) -> Result<()> {
    let opts = options(build, Some(history_args))?;
    let bytes = read_input(history)?;
    convert_history(history, &bytes, output, &opts)
}

/// Makes a playlist from the history in `bytes` (read from `source`) and writes it.
pub(super) fn convert_history(
    source: &Path,
    bytes: &[u8],
    output: &Path,
    opts: &Options,
) -> Result<()> {
    let h = parse_history(source, bytes)?;
    let (data, report) = convert::convert(&h, opts).map_err(|e| anyhow!("{e}"))?;
    finish(output, &data, &report)
}

/// Merges the playlists at `a` and `b` and writes the result to `output`.
pub(super) fn merge(a: &Path, b: &Path, output: &Path, build: BuildArgs) -> Result<()> {
    let opts = options(build, None)?;
    let ab = read_input(a)?;
    let bb = read_input(b)?;
    let pa = parse_playlist(a, &ab)?;
    let pb = parse_playlist(b, &bb)?;
    let (data, report) = convert::merge(&pa, &pb, &opts).map_err(|e| anyhow!("{e}"))?;
    finish(output, &data, &report)
}
