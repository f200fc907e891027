// SPDX-License-Identifier: GPL-2.0

//! `bootcache plot`: a history (and the playlist read ahead) as an SVG timeline.

use std::path::Path;

use anyhow::Result;

use bootcache::fileio::{read_input, write_atomic};
use bootcache::plot;
use bootcache::size::{format_bytes, format_count};

use super::input::{parse_history, parse_playlist};

/// Draws a history (and a playlist) as SVG.
pub(super) fn run(
    history: &Path,
    playlist: Option<&Path>,
    output: &Path,
    title: Option<String>,
) -> Result<()> {
    let hb = read_input(history)?;
    let h = parse_history(history, &hb)?;
    let pb = match playlist {
        Some(p) => Some((p, read_input(p)?)),
        None => None,
    };
    let p = match &pb {
        Some((path, b)) => Some(parse_playlist(path, b)?),
        None => None,
    };
    let name = history
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| history.display().to_string());
    let title = title.unwrap_or_else(|| plot::default_title(&name, &h));
    let (svg, drawn) = plot::svg(&h, p.as_ref(), &title);
    write_atomic(output, svg.as_bytes())?;
    eprintln!(
        "{}: {} entries as {} marks, {} tags, {}",
        output.display(),
        format_count(drawn.entries.iter().sum()),
        format_count(drawn.rects.iter().sum()),
        drawn.tags,
        format_bytes(svg.len() as u64)
    );
    Ok(())
}
