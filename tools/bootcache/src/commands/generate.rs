// SPDX-License-Identifier: GPL-2.0

//! The hidden commands that write test data: `bootcache gen-malformed` (one bad file per
//! validation rule) and `bootcache gen-history` (a synthetic history).

use std::path::Path;

use anyhow::{Context, Result};

use bootcache::fileio::write_atomic;
use bootcache::format::Format;
use bootcache::{malformed, synth};

/// Writes each malformed sample into `dir` as `NN-name.playlist` or `NN-name.history`.
pub(super) fn gen_malformed(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for (i, s) in malformed::samples().iter().enumerate() {
        let ext = match s.format {
            Format::Playlist => "playlist",
            Format::History => "history",
        };
        write_atomic(
            &dir.join(format!("{:02}-{}.{ext}", i + 1, s.name)),
            &s.bytes,
        )?;
    }
    Ok(())
}

/// Writes a synthetic history of `entries` entries over `volumes` volumes of
/// `volume_size` bytes each.
pub(super) fn gen_history(
    output: &Path,
    entries: u32,
    volumes: u32,
    volume_size: u64,
    seed: u64,
) -> Result<()> {
    write_atomic(output, &synth::history(entries, volumes, volume_size, seed))
}
