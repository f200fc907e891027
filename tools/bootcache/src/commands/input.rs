// SPDX-License-Identifier: GPL-2.0

//! Parsing the files the commands are given, with the path in the error, and the
//! one-line summaries several commands print.

use std::path::Path;

use anyhow::{anyhow, Result};

use bootcache::format::{self, Format, History, Playlist};
use bootcache::size::{format_bytes, format_count};

/// A file that validated, as one of the two formats.
pub(super) enum Parsed<'a> {
    Playlist(Playlist<'a>),
    History(History<'a>),
}

/// Parses `bytes` (read from `path`) as the format its magic says; a file with neither
/// magic is parsed as a playlist, whose error says so.
pub(super) fn parse_any<'a>(path: &Path, bytes: &'a [u8]) -> Result<Parsed<'a>> {
    match Format::detect(bytes) {
        Some(Format::History) => Ok(Parsed::History(parse_history(path, bytes)?)),
        _ => Ok(Parsed::Playlist(parse_playlist(path, bytes)?)),
    }
}

/// Parses `bytes` (read from `path`) as a playlist.
pub(super) fn parse_playlist<'a>(path: &Path, bytes: &'a [u8]) -> Result<Playlist<'a>> {
    Playlist::parse(bytes).map_err(|e| in_file(path, e))
}

/// Parses `bytes` (read from `path`) as a history.
pub(super) fn parse_history<'a>(path: &Path, bytes: &'a [u8]) -> Result<History<'a>> {
    History::parse(bytes).map_err(|e| in_file(path, e))
}

/// A format error, prefixed with the file it was found in.
fn in_file(path: &Path, e: format::Error) -> anyhow::Error {
    anyhow!("{}: {e}", path.display())
}

/// One line about a valid history: volumes, entries, tags, bytes read, truncation.
pub(super) fn history_line(h: &History<'_>) -> String {
    format!(
        "{} volumes, {} entries, {} tags, {} bytes read{}",
        h.volume_count(),
        h.entry_count(),
        h.header().extra,
        h.header().bytes,
        if h.is_truncated() { ", truncated" } else { "" }
    )
}

/// One line about a valid playlist, for people: volumes, extents, batches, bytes.
pub(super) fn playlist_line(p: &Playlist<'_>) -> String {
    format!(
        "{} volumes, {} extents, {} batches, {} to read ahead",
        p.volume_count(),
        format_count(u64::from(p.extent_count())),
        p.batch_count(),
        format_bytes(p.total_bytes())
    )
}
