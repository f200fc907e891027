// SPDX-License-Identifier: GPL-2.0

//! Validation, and views of validated files.

use super::bytes::{file_checksum, get_u16, get_u32, get_u64, get_u8, put, reserved_ok};
use super::layout::{entry as le, extent as lx, header as lh, volume as lv};
use super::record::Decode;
use super::*;
use core::marker::PhantomData;

/// Checks the header, the size and the checksum, and splits off the volume and record
/// areas.
fn parse_common(format: Format, bytes: &[u8]) -> Result<(Header, &[u8], &[u8]), Error> {
    if bytes.len() < lh::SIZE {
        // Name a foreign file as such even when it is short.
        if bytes.len() >= 4 && Format::detect(bytes).is_none() {
            return Err(Error::BadMagic {
                found: get_u32(bytes, lh::MAGIC),
            });
        }
        return Err(Error::Truncated {
            len: bytes.len(),
            need: lh::SIZE as u64,
        });
    }
    match Format::detect(bytes) {
        Some(found) if found == format => {}
        Some(found) => {
            return Err(Error::WrongFormat {
                expected: format,
                found,
            })
        }
        None => {
            return Err(Error::BadMagic {
                found: get_u32(bytes, lh::MAGIC),
            })
        }
    }
    let version = get_u16(bytes, lh::VERSION);
    if version != FORMAT_VERSION {
        return Err(Error::BadVersion { found: version });
    }
    let header_size = get_u16(bytes, lh::HEADER_SIZE);
    if usize::from(header_size) != lh::SIZE {
        return Err(Error::BadHeaderSize { found: header_size });
    }
    let h = Header::decode(format, bytes);
    let (all_flags, max_records) = match format {
        Format::Playlist => (PLAYLIST_FLAGS_ALL, MAX_EXTENTS),
        Format::History => (HISTORY_FLAGS_ALL, MAX_HISTORY_ENTRIES),
    };
    if h.flags & !all_flags != 0 {
        return Err(Error::UnknownHeaderFlags {
            flags: h.flags & !all_flags,
        });
    }
    let reserved = get_u32(bytes, lh::RESERVED);
    if reserved != 0 {
        return Err(Error::HeaderReserved { value: reserved });
    }
    if h.volume_count > MAX_VOLUMES {
        return Err(Error::TooManyVolumes {
            count: h.volume_count,
        });
    }
    if h.record_count > max_records {
        return Err(Error::TooManyRecords {
            format,
            count: h.record_count,
            max: max_records,
        });
    }
    if format == Format::Playlist {
        if h.extra > MAX_BATCHES {
            return Err(Error::TooManyBatches { count: h.extra });
        }
        if h.bytes > MAX_TOTAL_BYTES {
            return Err(Error::TotalTooLarge { total: h.bytes });
        }
    }
    let size = file_size(format, h.volume_count, h.record_count);
    // `size` is below 2^27 by the limits above, so it fits a `usize` on every target.
    let len = bytes.len() as u64;
    if len < size {
        return Err(Error::Truncated {
            len: bytes.len(),
            need: size,
        });
    }
    if len > size {
        return Err(Error::TrailingBytes {
            len: bytes.len(),
            expected: size,
        });
    }
    let computed = file_checksum(bytes);
    if computed != h.checksum {
        return Err(Error::BadChecksum {
            stored: h.checksum,
            computed,
        });
    }
    let vol_end = lh::SIZE.saturating_add((h.volume_count as usize).saturating_mul(lv::SIZE));
    let volumes = bytes.get(lh::SIZE..vol_end).unwrap_or(&[]);
    let records = bytes.get(vol_end..).unwrap_or(&[]);
    Ok((h, volumes, records))
}

/// Checks every volume record on its own and against the others.
fn check_volumes(volumes: &[u8]) -> Result<(), Error> {
    for (rec, volume) in volumes.chunks_exact(lv::SIZE).zip(0..u32::MAX) {
        let id_type = get_u8(rec, lv::ID_TYPE);
        if id_type > VOLUME_MBR_DISK {
            return Err(Error::VolumeBadType { volume, id_type });
        }
        if !reserved_ok(rec, lv::RESERVED0, 3) || get_u32(rec, lv::RESERVED1) != 0 {
            return Err(Error::VolumeReserved { volume });
        }
        let id = rec.get(lv::ID..lv::ID + 16).unwrap_or(&[]);
        let mut raw = [0u8; 16];
        put(&mut raw, 0, id);
        if VolumeId::from_raw(id_type, &raw).is_none() {
            return Err(Error::VolumeBadId { volume, id_type });
        }
        let block_size = get_u32(rec, lv::BLOCK_SIZE);
        if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size)
        {
            return Err(Error::VolumeBadBlockSize { volume, block_size });
        }
        for (other, first) in volumes.chunks_exact(lv::SIZE).zip(0..volume) {
            if get_u8(other, lv::ID_TYPE) == id_type && other.get(lv::ID..lv::ID + 16) == Some(id) {
                return Err(Error::DuplicateVolume { volume, first });
            }
        }
    }
    Ok(())
}

/// Checks what a playlist extent and a history entry share: the volume index, the
/// length and the alignment.
fn check_range(
    record: Record,
    volume: u16,
    volume_count: u32,
    offset: u64,
    length: u64,
    align: u32,
) -> Result<(), Error> {
    if u32::from(volume) >= volume_count {
        return Err(Error::VolumeOutOfRange {
            record,
            volume,
            count: volume_count,
        });
    }
    if length == 0 {
        return Err(Error::ZeroLength { record });
    }
    for (field, value) in [(Field::Offset, offset), (Field::Length, length)] {
        if value & u64::from(align).wrapping_sub(1) != 0 {
            return Err(Error::Misaligned {
                record,
                field,
                value,
                align,
            });
        }
    }
    match offset.checked_add(length) {
        Some(end) if end <= MAX_VOLUME_BYTES => Ok(()),
        _ => Err(Error::PastEnd {
            record,
            offset,
            length,
        }),
    }
}

/// Checks every volume record's count and byte sum against `counts` and `sums`, those of
/// the records that name it, and the header's byte total against `total`. With
/// `nonempty` (a playlist), every volume must have records.
fn check_sums(
    volumes: &[u8],
    header: &Header,
    counts: &[u32],
    sums: &[u64],
    total: u64,
    nonempty: bool,
) -> Result<(), Error> {
    let vcount = header.volume_count;
    for ((&count, &bytes), volume) in counts.iter().zip(sums.iter()).zip(0..vcount) {
        if nonempty && count == 0 {
            return Err(Error::VolumeEmpty { volume });
        }
        let rec = volumes
            .get((volume as usize).saturating_mul(lv::SIZE)..)
            .unwrap_or(&[]);
        let stored = get_u32(rec, lv::RECORD_COUNT);
        if stored != count {
            return Err(Error::VolumeCountMismatch {
                volume,
                stored,
                counted: count,
            });
        }
        let stored = get_u64(rec, lv::BYTES);
        if stored != bytes {
            return Err(Error::VolumeBytesMismatch {
                volume,
                stored,
                counted: bytes,
            });
        }
    }
    if total != header.bytes {
        return Err(Error::TotalBytesMismatch {
            stored: header.bytes,
            counted: total,
        });
    }
    Ok(())
}

/// A validated playlist: a view of the caller's bytes.
///
/// # Invariants
///
/// The bytes it was made from passed every check of [`Playlist::parse`].
#[derive(Clone, Copy, Debug)]
pub struct Playlist<'a> {
    pub(super) header: Header,
    volumes: &'a [u8],
    extents: &'a [u8],
}

impl<'a> Playlist<'a> {
    /// Validates `bytes` as a whole playlist and returns a view of it.
    ///
    /// Checks, in this order: the header (magic, version, size, flags, reserved field,
    /// limits), the exact file size, the checksum, every volume record, every extent
    /// (volume index, flags, reserved bytes, batch, length, alignment to its volume's
    /// block size, end), the ordering (grouped by ascending volume, sorted by offset,
    /// no overlap), and the per-volume and header counts and sums.
    pub fn parse(bytes: &'a [u8]) -> Result<Playlist<'a>, Error> {
        let (header, volumes, extents) = parse_common(Format::Playlist, bytes)?;
        check_volumes(volumes)?;
        let vcount = header.volume_count;
        let mut counts = [0u32; MAX_VOLUMES as usize];
        let mut sums = [0u64; MAX_VOLUMES as usize];
        // The previous extent's volume, offset and end.
        let mut prev: Option<(u16, u64, u64)> = None;
        let mut total: u64 = 0;
        let mut max_batch: u32 = 0;
        for (rec, extent) in extents.chunks_exact(lx::SIZE).zip(0..u32::MAX) {
            let record = Record::Extent(extent);
            let x = Extent::decode(rec);
            if u32::from(x.volume) >= vcount {
                return Err(Error::VolumeOutOfRange {
                    record,
                    volume: x.volume,
                    count: vcount,
                });
            }
            if x.flags & !EXTENT_FLAGS_ALL != 0 {
                return Err(Error::UnknownFlags {
                    record,
                    flags: x.flags & !EXTENT_FLAGS_ALL,
                });
            }
            if !reserved_ok(rec, lx::RESERVED, 3) {
                return Err(Error::ExtentReserved { extent });
            }
            if u32::from(x.batch) >= header.extra {
                return Err(Error::BatchOutOfRange {
                    extent,
                    batch: x.batch,
                    batch_count: header.extra,
                });
            }
            let vrec = volumes
                .get(usize::from(x.volume) * lv::SIZE..)
                .unwrap_or(&[]);
            let align = get_u32(vrec, lv::BLOCK_SIZE);
            check_range(record, x.volume, vcount, x.offset, x.length, align)?;
            if let Some((pv, poff, pend)) = prev {
                if x.volume < pv {
                    return Err(Error::VolumeOrder {
                        extent,
                        volume: x.volume,
                        previous: pv,
                    });
                }
                if x.volume == pv && x.offset < poff {
                    return Err(Error::Unsorted {
                        extent,
                        offset: x.offset,
                        previous: poff,
                    });
                }
                if x.volume == pv && x.offset < pend {
                    return Err(Error::Overlap {
                        extent,
                        offset: x.offset,
                        previous_end: pend,
                    });
                }
            }
            prev = Some((x.volume, x.offset, x.end()));
            let v = usize::from(x.volume);
            if let Some(c) = counts.get_mut(v) {
                *c = c.saturating_add(1);
            }
            if let Some(s) = sums.get_mut(v) {
                *s = s.saturating_add(x.length);
            }
            total = total.saturating_add(x.length);
            max_batch = max_batch.max(u32::from(x.batch).saturating_add(1));
        }
        check_sums(volumes, &header, &counts, &sums, total, true)?;
        if max_batch != header.extra {
            return Err(Error::BatchCountMismatch {
                stored: header.extra,
                counted: max_batch,
            });
        }
        // INVARIANT: every check above passed.
        Ok(Playlist {
            header,
            volumes,
            extents,
        })
    }

    /// Returns the number of volumes.
    pub fn volume_count(&self) -> u32 {
        self.header.volume_count
    }

    /// Returns the number of extents.
    pub fn extent_count(&self) -> u32 {
        self.header.record_count
    }

    /// Returns the number of batches.
    pub fn batch_count(&self) -> u32 {
        self.header.extra
    }

    /// Returns the sum of all extent lengths.
    pub fn total_bytes(&self) -> u64 {
        self.header.bytes
    }

    /// Returns the volumes in index order.
    pub fn volumes(&self) -> Volumes<'a> {
        Volumes::new(self.volumes)
    }

    /// Returns volume `index`, if it exists.
    pub fn volume(&self, index: u32) -> Option<Volume> {
        self.volumes().nth(index as usize)
    }

    /// Returns all extents in file order.
    pub fn extents(&self) -> Extents<'a> {
        Extents::new(self.extents)
    }

    /// Returns the extents of volume `index`, sorted by offset, if the volume exists.
    pub fn volume_extents(&self, index: u32) -> Option<Extents<'a>> {
        if index >= self.volume_count() {
            return None;
        }
        // By the type invariant, the volumes' record counts add up to the extents, in order.
        let first: usize = self
            .volumes()
            .take(index as usize)
            .fold(0usize, |acc, v| acc.saturating_add(v.record_count as usize));
        let count = self.volume(index)?.record_count as usize;
        let start = first.checked_mul(lx::SIZE)?;
        let end = first.checked_add(count)?.checked_mul(lx::SIZE)?;
        Some(Extents::new(self.extents.get(start..end)?))
    }
}

/// Validates `bytes` as a whole history; returns its header, volume records and
/// entries.
///
/// Checks, in this order: the header (magic, version, size, flags, reserved field,
/// limits), the exact file size, the checksum, every volume record, every entry
/// (flags and their combination, tags, volume index, length, alignment to 512 bytes,
/// end, time order), and the per-volume and header counts and sums.
pub(super) fn check_history(bytes: &[u8]) -> Result<(Header, &[u8], &[u8]), Error> {
    let (header, volumes, entries) = parse_common(Format::History, bytes)?;
    check_volumes(volumes)?;
    let vcount = header.volume_count;
    let mut counts = [0u32; MAX_VOLUMES as usize];
    let mut sums = [0u64; MAX_VOLUMES as usize];
    let mut tags: u32 = 0;
    let mut reads: u64 = 0;
    let mut last_ts: u64 = 0;
    for (rec, entry) in entries.chunks_exact(le::SIZE).zip(0..u32::MAX) {
        let record = Record::Entry(entry);
        let e = Entry::decode(rec);
        if e.flags & !ENTRY_FLAGS_ALL != 0 {
            return Err(Error::UnknownFlags {
                record,
                flags: e.flags & !ENTRY_FLAGS_ALL,
            });
        }
        let bad_combination = (e.is_tag() && e.flags != ENTRY_TAG)
            || (e.is_write() && e.flags != ENTRY_WRITE)
            || (e.flags & ENTRY_WAITED != 0 && e.flags & ENTRY_HIT == 0);
        if bad_combination {
            return Err(Error::BadFlagCombination {
                entry,
                flags: e.flags,
            });
        }
        if e.timestamp_ns < last_ts {
            return Err(Error::TimeOrder {
                entry,
                timestamp_ns: e.timestamp_ns,
                previous: last_ts,
            });
        }
        last_ts = e.timestamp_ns;
        if e.is_tag() {
            if e.offset != 0 || e.length != 0 || e.volume != NO_VOLUME {
                return Err(Error::BadTag { entry });
            }
            tags = tags.saturating_add(1);
            continue;
        }
        check_range(record, e.volume, vcount, e.offset, e.length, SECTOR_SIZE)?;
        let v = usize::from(e.volume);
        if let Some(c) = counts.get_mut(v) {
            *c = c.saturating_add(1);
        }
        if e.is_read() {
            if let Some(s) = sums.get_mut(v) {
                *s = s.saturating_add(e.length);
            }
            reads = reads.saturating_add(e.length);
        }
    }
    check_sums(volumes, &header, &counts, &sums, reads, false)?;
    if tags != header.extra {
        return Err(Error::TagCountMismatch {
            stored: header.extra,
            counted: tags,
        });
    }
    Ok((header, volumes, entries))
}

/// An iterator over the records of one kind (volumes, extents or entries) of a validated
/// file, decoding each on demand.
#[derive(Clone, Debug)]
pub struct Records<'a, R> {
    chunks: core::slice::ChunksExact<'a, u8>,
    kind: PhantomData<fn() -> R>,
}

impl<'a, R: Decode> Records<'a, R> {
    /// Walks `bytes`, a whole number of records of kind `R`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            chunks: bytes.chunks_exact(R::SIZE),
            kind: PhantomData,
        }
    }
}

impl<R: Decode> Iterator for Records<'_, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        self.chunks.next().map(R::decode)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<R> {
        self.chunks.nth(n).map(R::decode)
    }
}

impl<R: Decode> ExactSizeIterator for Records<'_, R> {}

/// An iterator over volume records.
pub type Volumes<'a> = Records<'a, Volume>;

/// An iterator over playlist extents.
pub type Extents<'a> = Records<'a, Extent>;
