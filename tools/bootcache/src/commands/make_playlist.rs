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

/// The block size of an ISO 9660 volume: a CD's or DVD's sector, which every other disk's
/// logical block size divides.
const ISO9660_BLOCK_SIZE: u32 = 2048;

/// Splits `VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]` at its colons, the volume first.
///
/// A GPT or MBR id has dashes but no colons; an ISO 9660 id
/// (`iso9660:2026-11-30-04-00-00-00:1a2b3c4d`) has two and a partition's disk
/// (`disk:1234abcd-01`) one, and they keep them.
fn split_spec(spec: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = spec.split(':').collect();
    let n = match parts.first() {
        Some(&"iso9660") => 3,
        Some(&"disk") => 2,
        _ => 1,
    };
    if n > 1 && parts.len() >= n {
        let volume_len = parts[..n].iter().map(|p| p.len()).sum::<usize>() + n - 1;
        parts.splice(0..n, [&spec[..volume_len]]);
    }
    parts
}

/// Builds a playlist from `VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]` specs; FLAGS is `low`,
/// `keep` or `low,keep`.
fn make_playlist(specs: &[String]) -> Result<Vec<u8>> {
    let mut volumes: Vec<format::Volume> = Vec::new();
    let mut extents: Vec<format::Extent> = Vec::new();
    for spec in specs {
        let parts = split_spec(spec);
        if parts.len() < 3 || parts.len() > 5 {
            return Err(anyhow!("{spec}: want VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]"));
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
        let mut flags = 0;
        for f in parts.get(4).into_iter().flat_map(|f| f.split(',')) {
            flags |= match f {
                "low" => format::EXTENT_LOW_PRIORITY,
                "keep" => format::EXTENT_KEEP,
                _ => {
                    return Err(anyhow!(
                        "{spec}: unknown flag {f} (`low`, `keep`, or both: `low,keep`)"
                    ))
                }
            };
        }
        let volume = match volumes.iter().position(|v| v.id == id) {
            Some(i) => i,
            None => {
                volumes.push(format::Volume {
                    id,
                    record_count: 0,
                    bytes: 0,
                    block_size: if matches!(id, format::VolumeId::Iso9660 { .. }) {
                        ISO9660_BLOCK_SIZE
                    } else {
                        4096
                    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_after_the_volume() {
        assert_eq!(
            split_spec("root:0:4M:1:low"),
            ["root", "0", "4M", "1", "low"]
        );
        assert_eq!(
            split_spec("iso9660:2026-11-30-04-00-00-00:1a2b3c4d:32k:2k:3"),
            ["iso9660:2026-11-30-04-00-00-00:1a2b3c4d", "32k", "2k", "3"]
        );
        assert_eq!(split_spec("iso9660:x"), ["iso9660", "x"]);
    }

    #[test]
    fn iso9660_volumes_have_2048_byte_blocks() {
        let pl = make_playlist(&[
            "iso9660:2026-11-30-04-00-00-00:1a2b3c4d:32k:2k".to_string(),
            "root:0:4k".to_string(),
        ])
        .unwrap();
        let pl = format::Playlist::parse(&pl).unwrap();
        let v = pl.volume(0).unwrap();
        assert!(v.id.is_whole_disk());
        assert_eq!(v.block_size, 2048);
        assert_eq!(pl.volume(1).unwrap().block_size, 4096);
        assert!(make_playlist(&["iso9660:2026-11-30-04-00-00-00:1a2b3c4d:1k:2k".into()]).is_err());
    }

    #[test]
    fn partition_disks_are_split_at_their_colon() {
        let pl = make_playlist(&[
            "disk:b00cde00-01:0:4k".to_string(),
            "b00cde00-01:8k:4k".to_string(),
        ])
        .unwrap();
        let pl = format::Playlist::parse(&pl).unwrap();
        let v = pl.volume(0).unwrap();
        assert_eq!(v.id.to_string(), "disk:b00cde00-01");
        assert!(v.id.is_whole_disk());
        assert_eq!(v.block_size, 4096);
        assert_eq!(pl.volume(1).unwrap().id.to_string(), "b00cde00-01");
        assert!(make_playlist(&["disk:root:0:4k".into()]).is_err());
    }

    #[test]
    fn flags() {
        let pl = make_playlist(&[
            "root:0:4k:0:low".to_string(),
            "root:8k:4k:1:keep".to_string(),
            "root:16k:4k:2:low,keep".to_string(),
            "root:24k:4k:3".to_string(),
        ])
        .unwrap();
        let pl = format::Playlist::parse(&pl).unwrap();
        let got: Vec<(bool, bool)> = pl
            .extents()
            .map(|x| (x.is_low_priority(), x.keeps()))
            .collect();
        assert_eq!(
            got,
            [(true, false), (false, true), (true, true), (false, false)]
        );
        for bad in ["root:0:4k:0:fast", "root:0:4k:0:low,", "root:0:4k:0:"] {
            assert!(make_playlist(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
