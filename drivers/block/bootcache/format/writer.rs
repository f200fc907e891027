// SPDX-License-Identifier: GPL-2.0

//! Writing files into a caller's buffer.

use super::bytes::{file_checksum, get_u32, get_u64, put, put_u16, put_u32, put_u64};
use super::layout::{entry as le, extent as lx, header as lh, volume as lv, volume_offset};
use super::reader::check_history;
use super::*;

/// Stores the checksum of `bytes` in its header, making a written file complete.
///
/// Returns [`Error::BufferTooSmall`] if `bytes` is shorter than a header.
pub fn seal(bytes: &mut [u8]) -> Result<(), Error> {
    if bytes.len() < lh::SIZE {
        return Err(Error::BufferTooSmall {
            need: lh::SIZE as u64,
            have: bytes.len(),
        });
    }
    let sum = file_checksum(bytes);
    put_u32(bytes, lh::CHECKSUM, sum);
    Ok(())
}

pub(super) fn record_buf(out: &mut [u8], size: usize) -> Result<&mut [u8], Error> {
    let have = out.len();
    out.get_mut(..size).ok_or(Error::BufferTooSmall {
        need: size as u64,
        have,
    })
}

impl Volume {
    /// Writes this record, as it is, into the first [`layout::volume::SIZE`] bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Error> {
        let rec = record_buf(out, lv::SIZE)?;
        let (id_type, id) = self.id.to_raw();
        rec.fill(0);
        put(rec, lv::ID_TYPE, &[id_type]);
        put_u32(rec, lv::RECORD_COUNT, self.record_count);
        put(rec, lv::ID, &id);
        put_u64(rec, lv::BYTES, self.bytes);
        put_u32(rec, lv::BLOCK_SIZE, self.block_size);
        Ok(())
    }
}

impl Entry {
    /// Writes this record, as it is, into the first [`layout::entry::SIZE`] bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Error> {
        let rec = record_buf(out, le::SIZE)?;
        put_u64(rec, le::OFFSET, self.offset);
        put_u64(rec, le::LENGTH, self.length);
        put_u64(rec, le::TIMESTAMP_NS, self.timestamp_ns);
        put_u32(rec, le::PID, self.pid);
        put_u16(rec, le::FLAGS, self.flags);
        put_u16(rec, le::VOLUME, self.volume);
        Ok(())
    }
}

impl Header {
    /// Returns the header of a file to write: `write_file` sets its counts and checksum.
    pub(super) fn for_writing(format: Format, flags: u32, bytes: u64, extra: u32) -> Header {
        Header {
            format,
            flags,
            checksum: 0,
            volume_count: 0,
            record_count: 0,
            bytes,
            extra,
        }
    }

    /// Writes this header, with the magic, version and header size of its format and the
    /// checksum as it is, into the first 40 bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Error> {
        let rec = record_buf(out, lh::SIZE)?;
        rec.fill(0);
        put_u32(rec, lh::MAGIC, self.format.magic());
        put_u16(rec, lh::VERSION, FORMAT_VERSION);
        put_u16(rec, lh::HEADER_SIZE, lh::SIZE as u16);
        put_u32(rec, lh::FLAGS, self.flags);
        put_u32(rec, lh::CHECKSUM, self.checksum);
        put_u32(rec, lh::VOLUME_COUNT, self.volume_count);
        put_u32(rec, lh::COUNT, self.record_count);
        put_u64(rec, lh::BYTES, self.bytes);
        put_u32(rec, lh::EXTRA, self.extra);
        Ok(())
    }

    fn record_size(&self) -> u64 {
        match self.format {
            Format::Playlist => lx::SIZE as u64,
            Format::History => le::SIZE as u64,
        }
    }
}

/// Lays out a file in `buf`: header, volumes (with counts and sums computed from the
/// records), records; seals it and returns its length.
pub(super) fn write_file<R: Copy>(
    buf: &mut [u8],
    header: Header,
    volumes: &[Volume],
    records: &[R],
    info: impl Fn(&R) -> Option<(u16, u64, bool)>,
    write: impl Fn(&R, &mut [u8]) -> Result<(), Error>,
) -> Result<usize, Error> {
    let too_many = Error::BufferTooSmall {
        need: u64::MAX,
        have: buf.len(),
    };
    let vcount = u32::try_from(volumes.len()).map_err(|_| too_many)?;
    let rcount = u32::try_from(records.len()).map_err(|_| too_many)?;
    let size = file_size(header.format, vcount, rcount);
    let have = buf.len();
    let size_usize = usize::try_from(size).map_err(|_| too_many)?;
    let out = buf
        .get_mut(..size_usize)
        .ok_or(Error::BufferTooSmall { need: size, have })?;
    out.fill(0);
    for (i, v) in volumes.iter().enumerate() {
        let mut v = *v;
        v.record_count = 0;
        v.bytes = 0;
        v.write_to(
            out.get_mut(volume_offset(i as u32) as usize..)
                .unwrap_or(&mut []),
        )?;
    }
    let rsize = header.record_size() as usize;
    let rstart = volume_offset(vcount) as usize;
    for (i, r) in records.iter().enumerate() {
        let at = rstart.saturating_add(i.saturating_mul(rsize));
        write(r, out.get_mut(at..).unwrap_or(&mut []))?;
        if let Some((vol, len, counts_bytes)) = info(r) {
            let vo = volume_offset(u32::from(vol)) as usize;
            if u32::from(vol) < vcount {
                let c = get_u32(out, vo + lv::RECORD_COUNT).wrapping_add(1);
                put_u32(out, vo + lv::RECORD_COUNT, c);
                if counts_bytes {
                    let b = get_u64(out, vo + lv::BYTES).saturating_add(len);
                    put_u64(out, vo + lv::BYTES, b);
                }
            }
        }
    }
    Header {
        volume_count: vcount,
        record_count: rcount,
        checksum: 0,
        ..header
    }
    .write_to(out)?;
    seal(out)?;
    Ok(size_usize)
}

/// Writes a history with `flags`, `volumes` and `entries` into `buf` and returns its
/// length.
///
/// The volumes' `record_count` and `bytes` and the header's counts, read bytes and tag
/// count are computed from `entries`; everything else is written as given. The result is
/// then validated, so a history this returns `Ok` for always parses.
pub fn write_history(
    buf: &mut [u8],
    flags: u32,
    volumes: &[Volume],
    entries: &[Entry],
) -> Result<usize, Error> {
    let mut reads: u64 = 0;
    let mut tags: u32 = 0;
    for e in entries {
        if e.is_tag() {
            tags = tags.saturating_add(1);
        } else if e.is_read() {
            reads = reads.saturating_add(e.length);
        }
    }
    let header = Header::for_writing(Format::History, flags, reads, tags);
    let len = write_file(
        buf,
        header,
        volumes,
        entries,
        |e| (!e.is_tag()).then_some((e.volume, e.length, e.is_read())),
        |e, out| e.write_to(out),
    )?;
    check_history(buf.get(..len).unwrap_or(&[]))?;
    Ok(len)
}
