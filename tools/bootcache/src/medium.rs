// SPDX-License-Identifier: GPL-2.0

//! Whole media named by their ISO 9660 primary volume descriptor (a CD, a DVD, or a
//! hybrid ISO image on a USB stick): reading the id of an image or a block device, and
//! checking a playlist's ISO 9660 volume against one (`bootcache medium-id`,
//! `bootcache check-medium`).
//!
//! The kernel names such a disk by [`VolumeId::Iso9660`]: the creation date and the
//! label's CRC-32C, which a rebuilt live ISO keeps. What it cannot see is whether the
//! rebuilt image still holds the playlist's blocks where the playlist says; [`compare`]
//! measures that against the image the playlist was recorded on.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::format::{Extent, Playlist, VolumeId, ISO9660_PVD_OFFSET, ISO9660_PVD_SIZE};

/// An image file or block device holding an ISO 9660 file system.
#[derive(Debug)]
pub struct Medium {
    /// Where it was opened.
    pub path: PathBuf,
    /// Its id, as a playlist names it.
    pub id: VolumeId,
    /// The volume identifier, without its space padding.
    pub label: String,
    /// The size of the image or device, in bytes.
    pub size: u64,
    /// The size of the file system its PVD gives (volume space size times logical block
    /// size), in bytes.
    pub fs_size: u64,
    file: File,
}

impl Medium {
    /// Opens `path` and reads its primary volume descriptor.
    ///
    /// Fails with a message that says so if `path` holds no ISO 9660 file system.
    pub fn open(path: &Path) -> Result<Medium> {
        let mut file =
            File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        // A block device's size is where its end is, as a regular file's.
        let size = file
            .seek(SeekFrom::End(0))
            .with_context(|| format!("{}: cannot find the size", path.display()))?;
        let mut pvd = vec![0u8; ISO9660_PVD_SIZE];
        let end = ISO9660_PVD_OFFSET + ISO9660_PVD_SIZE as u64;
        if size < end {
            bail!(
                "{}: not an ISO 9660 medium: {size} bytes, too small to hold a primary \
                 volume descriptor at byte {ISO9660_PVD_OFFSET}",
                path.display()
            );
        }
        file.read_exact_at(&mut pvd, ISO9660_PVD_OFFSET)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let id = VolumeId::from_iso9660_pvd(&pvd).ok_or_else(|| {
            anyhow!(
                "{}: not an ISO 9660 medium: no primary volume descriptor (type 1, \
                 \"CD001\", version 1, a creation date) at byte {ISO9660_PVD_OFFSET}",
                path.display()
            )
        })?;
        Ok(Medium {
            path: path.to_path_buf(),
            id,
            label: pvd_label(&pvd),
            size,
            fs_size: pvd_fs_size(&pvd),
            file,
        })
    }

    /// Reads `buf.len()` bytes at `offset`; fails past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .with_context(|| format!("{}: cannot read at byte {offset}", self.path.display()))
    }
}

/// The label: the volume identifier (PVD bytes 40 to 71), its trailing spaces dropped.
fn pvd_label(pvd: &[u8]) -> String {
    let raw = pvd.get(40..72).unwrap_or(&[]);
    String::from_utf8_lossy(raw)
        .trim_end_matches(' ')
        .to_string()
}

/// The file system's size: the volume space size (PVD bytes 80 to 83) times the logical
/// block size (bytes 128 and 129), both little-endian.
fn pvd_fs_size(pvd: &[u8]) -> u64 {
    let le = |r: std::ops::Range<usize>| {
        pvd.get(r)
            .map(|b| b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
            .unwrap_or(0)
    };
    le(80..84) * le(128..130)
}

/// How a medium's id differs from the id a playlist names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The same medium.
    Same,
    /// Another creation date, the same label: another build of the disc.
    OtherDate,
    /// The same date, another label: another disc built at the same pinned date.
    OtherLabel,
    /// Both differ.
    Other,
}

impl Identity {
    /// Compares the id the playlist names with the medium's.
    pub fn of(named: VolumeId, found: VolumeId) -> Identity {
        match (named, found) {
            (a, b) if a == b => Identity::Same,
            (
                VolumeId::Iso9660 {
                    created: c1,
                    label_crc: l1,
                },
                VolumeId::Iso9660 {
                    created: c2,
                    label_crc: l2,
                },
            ) if l1 == l2 && c1 != c2 => Identity::OtherDate,
            (VolumeId::Iso9660 { created: c1, .. }, VolumeId::Iso9660 { created: c2, .. })
                if c1 == c2 =>
            {
                Identity::OtherLabel
            }
            _ => Identity::Other,
        }
    }

    /// What it means, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Identity::Same => "the same medium",
            Identity::OtherDate => "another creation date (another build of the disc)",
            Identity::OtherLabel => "another label (another disc of the same date)",
            Identity::Other => "another date and label (another disc)",
        }
    }
}

/// The extents of a playlist's volume that end beyond a medium's end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Beyond {
    /// How many.
    pub extents: u64,
    /// Their bytes past the end.
    pub bytes: u64,
    /// The first byte after the last extent.
    pub last_end: u64,
}

/// Returns the extents of volume `index` of `playlist`.
pub fn volume_extents(playlist: &Playlist<'_>, index: u32) -> Vec<Extent> {
    playlist
        .volume_extents(index)
        .into_iter()
        .flatten()
        .collect()
}

/// Returns what of `extents` lies past `size` bytes.
pub fn beyond(extents: &[Extent], size: u64) -> Beyond {
    let mut b = Beyond::default();
    for x in extents {
        b.last_end = b.last_end.max(x.end());
        if x.end() > size {
            b.extents += 1;
            b.bytes += x.end() - x.offset.max(size);
        }
    }
    b
}

/// What of a playlist's bytes two images hold alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unchanged {
    /// The bytes of the extents compared.
    pub total: u64,
    /// The bytes in blocks that are the same in both.
    pub same: u64,
}

impl Unchanged {
    /// The share unchanged, in percent (100 for nothing to compare).
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.same as f64 * 100.0 / self.total as f64
        }
    }
}

/// Compares `extents` in `new` and `old`, `block_size` bytes at a time: a block counts as
/// unchanged when every byte of it is the same in both. Blocks beyond the end of either
/// count as changed.
pub fn compare(
    new: &Medium,
    old: &Medium,
    extents: &[Extent],
    block_size: u32,
) -> Result<Unchanged> {
    const CHUNK: u64 = 1 << 20;
    let block = u64::from(block_size.max(1));
    let chunk = CHUNK / block * block;
    let mut a = vec![0u8; chunk as usize];
    let mut b = vec![0u8; chunk as usize];
    let mut u = Unchanged::default();
    for x in extents {
        u.total += x.length;
        let end = x.end().min(new.size).min(old.size);
        let mut at = x.offset;
        while at < end {
            let n = chunk.min(end - at) as usize;
            new.read_at(&mut a[..n], at)?;
            old.read_at(&mut b[..n], at)?;
            for (p, q) in a[..n]
                .chunks(block as usize)
                .zip(b[..n].chunks(block as usize))
            {
                if p == q {
                    u.same += p.len() as u64;
                }
            }
            at += n as u64;
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(c: u64, l: u32) -> VolumeId {
        VolumeId::Iso9660 {
            created: c,
            label_crc: l,
        }
    }

    #[test]
    fn identities() {
        assert_eq!(Identity::of(iso(1, 2), iso(1, 2)), Identity::Same);
        assert_eq!(Identity::of(iso(1, 2), iso(3, 2)), Identity::OtherDate);
        assert_eq!(Identity::of(iso(1, 2), iso(1, 3)), Identity::OtherLabel);
        assert_eq!(Identity::of(iso(1, 2), iso(3, 4)), Identity::Other);
        assert_eq!(Identity::of(VolumeId::Root, iso(3, 4)), Identity::Other);
    }

    #[test]
    fn extents_beyond_the_end() {
        let x = |offset, length| Extent {
            offset,
            length,
            volume: 0,
            flags: 0,
            batch: 0,
        };
        let exts = [x(0, 4096), x(8192, 4096), x(16384, 8192)];
        assert_eq!(
            beyond(&exts, 20480),
            Beyond {
                extents: 1,
                bytes: 4096,
                last_end: 24576
            }
        );
        assert_eq!(beyond(&exts, 24576).extents, 0);
        assert_eq!(
            beyond(&exts, 4096),
            Beyond {
                extents: 2,
                bytes: 12288,
                last_end: 24576
            }
        );
    }

    #[test]
    fn labels_and_sizes() {
        let mut pvd = vec![0u8; 2048];
        pvd[40..72].fill(b' ');
        pvd[40..44].copy_from_slice(b"LIVE");
        pvd[80..84].copy_from_slice(&1000u32.to_le_bytes());
        pvd[84..88].copy_from_slice(&1000u32.to_be_bytes());
        pvd[128..130].copy_from_slice(&2048u16.to_le_bytes());
        assert_eq!(pvd_label(&pvd), "LIVE");
        assert_eq!(pvd_fs_size(&pvd), 2_048_000);
        assert_eq!(Unchanged::default().percent(), 100.0);
        assert_eq!(Unchanged { total: 4, same: 1 }.percent(), 25.0);
    }
}
