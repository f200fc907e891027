// SPDX-License-Identifier: GPL-2.0

//! `bootcache make-playlist`: a playlist from extents given on the command line.

use std::path::Path;

use anyhow::{anyhow, Result};

use bootcache::fileio::write_atomic;
use bootcache::format::{self, Format};
use bootcache::size::parse_size;

/// Writes the playlist of `specs` to `output`.
pub(super) fn run(output: &Path, specs: &[String]) -> Result<()> {
    let bytes = make_playlist(specs)?;
    write_atomic(output, &bytes)
}

/// Builds a playlist from `VOLUME:OFFSET:LENGTH[:BATCH[:low]]` specs.
fn make_playlist(specs: &[String]) -> Result<Vec<u8>> {
    let mut volumes: Vec<format::Volume> = Vec::new();
    let mut extents: Vec<format::Extent> = Vec::new();
    for spec in specs {
        // A GPT or MBR id has dashes but no colons, so split from the right.
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() < 3 || parts.len() > 5 {
            return Err(anyhow!("{spec}: want VOLUME:OFFSET:LENGTH[:BATCH[:low]]"));
        }
        let id = format::VolumeId::parse(parts[0])
            .ok_or_else(|| anyhow!("{spec}: {} is not a volume id", parts[0]))?;
        let offset = parse_size(parts[1]).map_err(|e| anyhow!("{spec}: {e}"))?;
        let length = parse_size(parts[2]).map_err(|e| anyhow!("{spec}: {e}"))?;
        let batch: u8 = match parts.get(3) {
            Some(b) => b
                .parse()
                .map_err(|_| anyhow!("{spec}: batch {b} is not 0..255"))?,
            None => 0,
        };
        let flags = match parts.get(4) {
            Some(&"low") => format::EXTENT_LOW_PRIORITY,
            Some(f) => return Err(anyhow!("{spec}: unknown flag {f} (only `low`)")),
            None => 0,
        };
        let volume = match volumes.iter().position(|v| v.id == id) {
            Some(i) => i,
            None => {
                volumes.push(format::Volume {
                    id,
                    record_count: 0,
                    bytes: 0,
                    block_size: 4096,
                });
                volumes.len() - 1
            }
        };
        extents.push(format::Extent {
            offset,
            length,
            volume: volume as u16,
            flags,
            batch,
        });
    }
    // Grouped by volume and sorted, as the format wants.
    extents.sort_by_key(|x| (x.volume, x.offset));
    let size = format::file_size(Format::Playlist, volumes.len() as u32, extents.len() as u32);
    let mut buf = vec![0u8; size as usize];
    let len = format::write_playlist(&mut buf, &volumes, &extents)
        .map_err(|e| anyhow!("the extents do not make a valid playlist: {e}"))?;
    buf.truncate(len);
    Ok(buf)
}
