// SPDX-License-Identifier: GPL-2.0

//! `bootcache validate`: check files completely, one summary line per valid file.

use std::path::{Path, PathBuf};

use anyhow::Result;

use bootcache::fileio::read_input;

use super::input::{history_line, parse_any, parse_history, parse_playlist, Parsed};
use crate::cli::FormatArg;

/// Checks each file in turn; the first bad one is the error.
pub(super) fn run(files: &[PathBuf], format: FormatArg) -> Result<()> {
    for f in files {
        validate(f, format)?;
    }
    Ok(())
}

fn validate(path: &Path, format: FormatArg) -> Result<()> {
    let bytes = read_input(path)?;
    let parsed = match format {
        FormatArg::Auto => parse_any(path, &bytes)?,
        FormatArg::Playlist => Parsed::Playlist(parse_playlist(path, &bytes)?),
        FormatArg::History => Parsed::History(parse_history(path, &bytes)?),
    };
    match parsed {
        Parsed::Playlist(p) => println!(
            "{}: valid playlist: {} volumes, {} extents, {} batches, {} bytes",
            path.display(),
            p.volume_count(),
            p.extent_count(),
            p.batch_count(),
            p.total_bytes()
        ),
        Parsed::History(h) => {
            println!("{}: valid history: {}", path.display(), history_line(&h))
        }
    }
    Ok(())
}
