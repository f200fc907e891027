// SPDX-License-Identifier: GPL-2.0

//! The parts of the format code only the tool uses: reading histories, writing
//! playlists, and a few helpers. The kernel never builds this file (see `mod.rs`).

use super::bytes::{crc32c_update, put, put_u16, put_u64};
use super::layout::extent as lx;
use super::reader::{check_history, Records, Volumes};
use super::writer::{record_buf, write_file};
use super::*;

/// Returns the CRC-32C (Castagnoli) of `data`.
///
/// # Examples
///
/// ```ignore
/// assert_eq!(crc32c(b"123456789"), 0xe306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    !crc32c_update(!0, data)
}

/// Returns the byte offset of extent or entry `index` in a file with `volume_count` volumes.
pub fn record_offset(format: Format, volume_count: u32, index: u32) -> u64 {
    file_size(format, volume_count, index)
}

/// An iterator over history entries.
pub type Entries<'a> = Records<'a, Entry>;

impl Extent {
    /// Writes this record, as it is, into the first [`layout::extent::SIZE`] bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Error> {
        let rec = record_buf(out, lx::SIZE)?;
        rec.fill(0);
        put_u64(rec, lx::OFFSET, self.offset);
        put_u64(rec, lx::LENGTH, self.length);
        put_u16(rec, lx::VOLUME, self.volume);
        put_u16(rec, lx::FLAGS, self.flags);
        put(rec, lx::BATCH, &[self.batch]);
        Ok(())
    }
}

impl VolumeId {
    /// Returns whether the id names a whole disk rather than a partition (or the root
    /// device): an ISO 9660 medium or a partition's disk, whose offsets are from the start
    /// of the disk.
    pub fn is_whole_disk(&self) -> bool {
        matches!(
            self,
            VolumeId::Iso9660 { .. } | VolumeId::GptDisk(_) | VolumeId::MbrDisk { .. }
        )
    }
}

impl Entry {
    /// Returns the first byte after the entry's range.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

impl Playlist<'_> {
    /// Returns the header.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// A validated history: a view of the caller's bytes.
///
/// # Invariants
///
/// The bytes it was made from passed every check of [`check_history`].
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    header: Header,
    volumes: &'a [u8],
    entries: &'a [u8],
}

impl<'a> History<'a> {
    /// Validates `bytes` as a whole history and returns a view of it.
    ///
    /// Checks, in this order: the header (magic, version, size, flags, reserved field,
    /// limits), the exact file size, the checksum, every volume record, every entry
    /// (flags and their combination, tags, volume index, length, alignment to 512 bytes,
    /// end, time order), and the per-volume and header counts and sums.
    pub fn parse(bytes: &'a [u8]) -> Result<History<'a>, Error> {
        let (header, volumes, entries) = check_history(bytes)?;
        // INVARIANT: `check_history` passed.
        Ok(History {
            header,
            volumes,
            entries,
        })
    }

    /// Returns the header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Returns whether recording stopped early.
    pub fn is_truncated(&self) -> bool {
        self.header.flags & HISTORY_TRUNCATED != 0
    }

    /// Returns the number of volumes.
    pub fn volume_count(&self) -> u32 {
        self.header.volume_count
    }

    /// Returns the number of entries.
    pub fn entry_count(&self) -> u32 {
        self.header.record_count
    }

    /// Returns the volumes in index order.
    pub fn volumes(&self) -> Volumes<'a> {
        Volumes::new(self.volumes)
    }

    /// Returns volume `index`, if it exists.
    pub fn volume(&self, index: u32) -> Option<Volume> {
        self.volumes().nth(index as usize)
    }

    /// Returns the entries in time order.
    pub fn entries(&self) -> Entries<'a> {
        Entries::new(self.entries)
    }
}

/// Writes a playlist with `volumes` and `extents` into `buf` and returns its length.
///
/// The volumes' `record_count` and `bytes` and the header's counts, total and batch count
/// are computed from `extents`; everything else is written as given. The result is then
/// validated, so a playlist this returns `Ok` for always parses.
pub fn write_playlist(
    buf: &mut [u8],
    volumes: &[Volume],
    extents: &[Extent],
) -> Result<usize, Error> {
    let mut total: u64 = 0;
    let mut batches: u32 = 0;
    for x in extents {
        total = total.saturating_add(x.length);
        batches = batches.max(u32::from(x.batch).saturating_add(1));
    }
    let header = Header::for_writing(Format::Playlist, 0, total, batches);
    let len = write_file(
        buf,
        header,
        volumes,
        extents,
        |x| Some((x.volume, x.length, true)),
        |x, out| x.write_to(out),
    )?;
    Playlist::parse(buf.get(..len).unwrap_or(&[]))?;
    Ok(len)
}
