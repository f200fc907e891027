// SPDX-License-Identifier: GPL-2.0

//! Bootcache playlist and history formats: validation, zero-copy reading and writing.
//!
//! C header: [`include/uapi/linux/bootcache.h`](srctree/include/uapi/linux/bootcache.h)
//!
//! This file is shared, byte for byte, by the kernel driver and by the `bootcache` tool in
//! `tools/bootcache`. It uses only `core`: no allocation, no `unsafe`, no floating point and
//! no operation that can panic.
//!
//! [`Playlist::parse`] and [`History::parse`] check every field and every cross-reference
//! of a file before handing out a view of it; a view borrows the caller's bytes and decodes
//! records on demand. Every way a file can be wrong is its own [`Error`] variant, carrying
//! the record, field and value concerned, and [`Error`] implements [`core::fmt::Display`]
//! with a one-line message such as `extent 17: offset 4097 is not a multiple of 512`.
//!
//! The writers ([`write_playlist`], [`write_history`] and the per-record `write_to`
//! methods with [`seal`]) serialise into a caller's buffer.

use core::fmt;

/// Version of both formats (`BOOTCACHE_FORMAT_VERSION`).
pub const FORMAT_VERSION: u16 = 1;
/// First four bytes of a playlist, `"BCPL"` as a little-endian `u32`.
pub const PLAYLIST_MAGIC: u32 = 0x4c50_4342;
/// First four bytes of a history, `"BCHI"` as a little-endian `u32`.
pub const HISTORY_MAGIC: u32 = 0x4948_4342;

/// Most volume records in one file.
pub const MAX_VOLUMES: u32 = 64;
/// Most extents in one playlist.
pub const MAX_EXTENTS: u32 = 1 << 20;
/// Most batches in one playlist (a batch number is a `u8`).
pub const MAX_BATCHES: u32 = 256;
/// Largest sum of extent lengths in one playlist, in bytes.
pub const MAX_TOTAL_BYTES: u64 = 1 << 32;
/// Most entries in one history.
pub const MAX_HISTORY_ENTRIES: u32 = 1 << 21;
/// Largest `offset + length` of any record, in bytes.
pub const MAX_VOLUME_BYTES: u64 = 1 << 60;
/// Every offset and length is a multiple of this many bytes.
pub const SECTOR_SIZE: u32 = 512;
/// Smallest volume block size, in bytes.
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest volume block size, in bytes.
pub const MAX_BLOCK_SIZE: u32 = 65536;

/// Every playlist header flag (none are defined).
pub const PLAYLIST_FLAGS_ALL: u32 = 0;
/// History header flag: recording stopped early because the buffer was full.
pub const HISTORY_TRUNCATED: u32 = 0x1;
/// Every history header flag.
pub const HISTORY_FLAGS_ALL: u32 = 0x1;

/// Volume id type: the root device; the id is all zero.
pub const VOLUME_ROOT: u8 = 0;
/// Volume id type: a GPT partition's unique GUID.
pub const VOLUME_GPT: u8 = 1;
/// Volume id type: an MBR partition's `SSSSSSSS-PP` PARTUUID.
pub const VOLUME_MBR: u8 = 2;

/// Extent flag: read after all normal extents, when no other read-ahead is in flight.
pub const EXTENT_LOW_PRIORITY: u16 = 0x1;
/// Every extent flag.
pub const EXTENT_FLAGS_ALL: u16 = 0x1;

/// History entry flag: a read that the cache served.
pub const ENTRY_HIT: u16 = 0x1;
/// History entry flag: a write (or discard).
pub const ENTRY_WRITE: u16 = 0x2;
/// History entry flag: a tag, that is a batch boundary.
pub const ENTRY_TAG: u16 = 0x4;
/// History entry flag: a read that waited for read-ahead (implies [`ENTRY_HIT`]).
pub const ENTRY_WAITED: u16 = 0x8;
/// Every history entry flag.
pub const ENTRY_FLAGS_ALL: u16 = 0xf;
/// The volume index of a tag entry.
pub const NO_VOLUME: u16 = 0xffff;

/// Byte layouts of the on-disk structures, as in the C header.
pub mod layout {
    /// `struct bootcache_playlist_header` and `struct bootcache_history_header`.
    ///
    /// The two headers share one layout; the fields at `COUNT`, `BYTES` and `EXTRA`
    /// are `extent_count`, `total_bytes` and `batch_count` in a playlist and `entry_count`,
    /// `read_bytes` and `tag_count` in a history.
    pub mod header {
        /// Size of the header.
        pub const SIZE: usize = 40;
        /// Offset of `magic` (`__le32`).
        pub const MAGIC: usize = 0;
        /// Offset of `version` (`__le16`).
        pub const VERSION: usize = 4;
        /// Offset of `header_size` (`__le16`).
        pub const HEADER_SIZE: usize = 6;
        /// Offset of `flags` (`__le32`).
        pub const FLAGS: usize = 8;
        /// Offset of `checksum` (`__le32`).
        pub const CHECKSUM: usize = 12;
        /// Offset of `volume_count` (`__le32`).
        pub const VOLUME_COUNT: usize = 16;
        /// Offset of `extent_count` or `entry_count` (`__le32`).
        pub const COUNT: usize = 20;
        /// Offset of `total_bytes` or `read_bytes` (`__le64`).
        pub const BYTES: usize = 24;
        /// Offset of `batch_count` or `tag_count` (`__le32`).
        pub const EXTRA: usize = 32;
        /// Offset of `reserved` (`__le32`).
        pub const RESERVED: usize = 36;
    }

    /// `struct bootcache_volume`.
    pub mod volume {
        /// Size of a volume record.
        pub const SIZE: usize = 40;
        /// Offset of `id_type` (`__u8`).
        pub const ID_TYPE: usize = 0;
        /// Offset of `reserved0` (`__u8[3]`).
        pub const RESERVED0: usize = 1;
        /// Offset of `record_count` (`__le32`).
        pub const RECORD_COUNT: usize = 4;
        /// Offset of `id` (`__u8[16]`).
        pub const ID: usize = 8;
        /// Offset of `bytes` (`__le64`).
        pub const BYTES: usize = 24;
        /// Offset of `block_size` (`__le32`).
        pub const BLOCK_SIZE: usize = 32;
        /// Offset of `reserved1` (`__le32`).
        pub const RESERVED1: usize = 36;
    }

    /// `struct bootcache_extent`.
    pub mod extent {
        /// Size of an extent record.
        pub const SIZE: usize = 24;
        /// Offset of `offset` (`__le64`).
        pub const OFFSET: usize = 0;
        /// Offset of `length` (`__le64`).
        pub const LENGTH: usize = 8;
        /// Offset of `volume` (`__le16`).
        pub const VOLUME: usize = 16;
        /// Offset of `flags` (`__le16`).
        pub const FLAGS: usize = 18;
        /// Offset of `batch` (`__u8`).
        pub const BATCH: usize = 20;
        /// Offset of `reserved` (`__u8[3]`).
        pub const RESERVED: usize = 21;
    }

    /// `struct bootcache_history_entry`.
    pub mod entry {
        /// Size of a history entry.
        pub const SIZE: usize = 32;
        /// Offset of `offset` (`__le64`).
        pub const OFFSET: usize = 0;
        /// Offset of `length` (`__le64`).
        pub const LENGTH: usize = 8;
        /// Offset of `timestamp_ns` (`__le64`).
        pub const TIMESTAMP_NS: usize = 16;
        /// Offset of `pid` (`__le32`).
        pub const PID: usize = 24;
        /// Offset of `flags` (`__le16`).
        pub const FLAGS: usize = 28;
        /// Offset of `volume` (`__le16`).
        pub const VOLUME: usize = 30;
    }
}

use layout::{entry as le, extent as lx, header as lh, volume as lv};

// ---------------------------------------------------------------------------------------
// CRC-32C.
// ---------------------------------------------------------------------------------------

const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32C_TABLE: [u32; 256] = crc32c_table();

/// Continues a CRC-32C computation over `data`.
///
/// Start with `0xffff_ffff` and invert the final value, or use [`crc32c`].
pub fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        // The index is a `u8`, always below the table's 256 entries.
        crc = CRC32C_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
    }
    crc
}

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

/// Returns the checksum of a whole file: the CRC-32C of `bytes` with the header's checksum
/// field taken as zero.
///
/// A buffer shorter than the header is checksummed as if the missing header bytes were
/// zero; such a buffer is never a valid file.
pub fn file_checksum(bytes: &[u8]) -> u32 {
    let head = bytes.get(..lh::CHECKSUM).unwrap_or(bytes);
    let mut crc = crc32c_update(!0, head);
    crc = crc32c_update(crc, &[0; 4]);
    crc = crc32c_update(crc, bytes.get(lh::CHECKSUM + 4..).unwrap_or(&[]));
    !crc
}

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

// ---------------------------------------------------------------------------------------
// Little-endian access that cannot panic.
// ---------------------------------------------------------------------------------------

fn get_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn get_u16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off.saturating_add(2)).map(<[u8; 2]>::try_from) {
        Some(Ok(a)) => u16::from_le_bytes(a),
        _ => 0,
    }
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off.saturating_add(4)).map(<[u8; 4]>::try_from) {
        Some(Ok(a)) => u32::from_le_bytes(a),
        _ => 0,
    }
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    match b.get(off..off.saturating_add(8)).map(<[u8; 8]>::try_from) {
        Some(Ok(a)) => u64::from_le_bytes(a),
        _ => 0,
    }
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off.saturating_add(v.len())) {
        for (d, s) in dst.iter_mut().zip(v) {
            *d = *s;
        }
    }
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}

fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

fn reserved_ok(b: &[u8], off: usize, len: usize) -> bool {
    b.get(off..off.saturating_add(len)).is_some_and(all_zero)
}

// ---------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------

/// Which of the two file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A playlist.
    Playlist,
    /// A history.
    History,
}

impl Format {
    /// Returns the format whose magic `bytes` starts with, if any.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.len() < 4 {
            return None;
        }
        match get_u32(bytes, lh::MAGIC) {
            PLAYLIST_MAGIC => Some(Format::Playlist),
            HISTORY_MAGIC => Some(Format::History),
            _ => None,
        }
    }

    fn magic(self) -> u32 {
        match self {
            Format::Playlist => PLAYLIST_MAGIC,
            Format::History => HISTORY_MAGIC,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Playlist => "playlist",
            Format::History => "history",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A record of a file, named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Playlist extent number `n` (counting from 0).
    Extent(u32),
    /// History entry number `n` (counting from 0).
    Entry(u32),
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Extent(n) => write!(f, "extent {n}"),
            Record::Entry(n) => write!(f, "entry {n}"),
        }
    }
}

/// A field of a record whose value must be a multiple of some alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The byte offset.
    Offset,
    /// The byte length.
    Length,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Offset => "offset",
            Field::Length => "length",
        })
    }
}

/// Why a file (or a buffer to write one into) is not acceptable.
///
/// Each variant is one rule of the format; its fields say where and what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The file is shorter than its header, or than its header says it should be.
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes needed.
        need: u64,
    },
    /// The file has bytes after its last record.
    TrailingBytes {
        /// Bytes present.
        len: usize,
        /// Size that the header implies.
        expected: u64,
    },
    /// The magic is neither a playlist's nor a history's.
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// A history was given where a playlist was expected, or the other way round.
    WrongFormat {
        /// The format expected.
        expected: Format,
        /// The format found.
        found: Format,
    },
    /// The format version is not [`FORMAT_VERSION`].
    BadVersion {
        /// The version found.
        found: u16,
    },
    /// The header size is not 40.
    BadHeaderSize {
        /// The header size found.
        found: u16,
    },
    /// The header has flags that are not defined.
    UnknownHeaderFlags {
        /// The undefined flags.
        flags: u32,
    },
    /// The header's reserved field is not zero.
    HeaderReserved {
        /// The value found.
        value: u32,
    },
    /// More volumes than [`MAX_VOLUMES`].
    TooManyVolumes {
        /// The count in the header.
        count: u32,
    },
    /// More extents than [`MAX_EXTENTS`] or entries than [`MAX_HISTORY_ENTRIES`].
    TooManyRecords {
        /// Which format.
        format: Format,
        /// The count in the header.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// A playlist's batch count is above [`MAX_BATCHES`].
    TooManyBatches {
        /// The count in the header.
        count: u32,
    },
    /// A playlist's total bytes are above [`MAX_TOTAL_BYTES`].
    TotalTooLarge {
        /// The total in the header.
        total: u64,
    },
    /// The stored checksum does not match the file's.
    BadChecksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the file.
        computed: u32,
    },
    /// A volume's id type is not defined.
    VolumeBadType {
        /// The volume index.
        volume: u32,
        /// The id type found.
        id_type: u8,
    },
    /// A volume's id is not valid for its type.
    VolumeBadId {
        /// The volume index.
        volume: u32,
        /// The id type.
        id_type: u8,
    },
    /// A volume's reserved bytes are not zero.
    VolumeReserved {
        /// The volume index.
        volume: u32,
    },
    /// A volume's block size is not a power of two between 512 and 65536.
    VolumeBadBlockSize {
        /// The volume index.
        volume: u32,
        /// The block size found.
        block_size: u32,
    },
    /// Two volumes have the same id.
    DuplicateVolume {
        /// The later volume's index.
        volume: u32,
        /// The earlier volume's index.
        first: u32,
    },
    /// A playlist volume has no extents.
    VolumeEmpty {
        /// The volume index.
        volume: u32,
    },
    /// A volume's record count does not match its records.
    VolumeCountMismatch {
        /// The volume index.
        volume: u32,
        /// The count in the volume record.
        stored: u32,
        /// The number of records that name the volume.
        counted: u32,
    },
    /// A volume's byte sum does not match its records.
    VolumeBytesMismatch {
        /// The volume index.
        volume: u32,
        /// The sum in the volume record.
        stored: u64,
        /// The sum of the records.
        counted: u64,
    },
    /// A record names a volume that does not exist.
    VolumeOutOfRange {
        /// The record.
        record: Record,
        /// The volume index found.
        volume: u16,
        /// The number of volumes.
        count: u32,
    },
    /// A record has undefined flags.
    UnknownFlags {
        /// The record.
        record: Record,
        /// The undefined flags.
        flags: u16,
    },
    /// An extent's reserved bytes are not zero.
    ExtentReserved {
        /// The extent index.
        extent: u32,
    },
    /// A record's length is zero.
    ZeroLength {
        /// The record.
        record: Record,
    },
    /// A record's offset or length is not a multiple of the required alignment.
    Misaligned {
        /// The record.
        record: Record,
        /// The offending field.
        field: Field,
        /// Its value.
        value: u64,
        /// The required alignment.
        align: u32,
    },
    /// A record ends beyond [`MAX_VOLUME_BYTES`].
    PastEnd {
        /// The record.
        record: Record,
        /// Its offset.
        offset: u64,
        /// Its length.
        length: u64,
    },
    /// An extent's batch is not below the header's batch count.
    BatchOutOfRange {
        /// The extent index.
        extent: u32,
        /// The batch found.
        batch: u8,
        /// The batch count in the header.
        batch_count: u32,
    },
    /// Extents are not grouped by ascending volume index.
    VolumeOrder {
        /// The extent index.
        extent: u32,
        /// Its volume.
        volume: u16,
        /// The previous extent's volume.
        previous: u16,
    },
    /// An extent starts before the previous extent of its volume.
    Unsorted {
        /// The extent index.
        extent: u32,
        /// Its offset.
        offset: u64,
        /// The previous extent's offset.
        previous: u64,
    },
    /// An extent starts before the previous extent of its volume ends.
    Overlap {
        /// The extent index.
        extent: u32,
        /// Its offset.
        offset: u64,
        /// The end of the previous extent.
        previous_end: u64,
    },
    /// The header's byte sum does not match the records.
    TotalBytesMismatch {
        /// The sum in the header.
        stored: u64,
        /// The sum of the records.
        counted: u64,
    },
    /// The playlist header's batch count is not the highest batch plus one.
    BatchCountMismatch {
        /// The count in the header.
        stored: u32,
        /// The highest batch plus one.
        counted: u32,
    },
    /// A history entry has a combination of flags that cannot happen.
    BadFlagCombination {
        /// The entry index.
        entry: u32,
        /// Its flags.
        flags: u16,
    },
    /// A tag entry has an offset, a length, or a volume.
    BadTag {
        /// The entry index.
        entry: u32,
    },
    /// A history entry is older than the one before it.
    TimeOrder {
        /// The entry index.
        entry: u32,
        /// Its timestamp.
        timestamp_ns: u64,
        /// The previous entry's timestamp.
        previous: u64,
    },
    /// The history header's tag count does not match the entries.
    TagCountMismatch {
        /// The count in the header.
        stored: u32,
        /// The number of tag entries.
        counted: u32,
    },
    /// The buffer given to a writer is too small.
    BufferTooSmall {
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { len, need } => {
                write!(f, "truncated: file is {len} bytes, needs {need}")
            }
            Error::TrailingBytes { len, expected } => write!(
                f,
                "file is {len} bytes, but its header accounts for {expected}: trailing bytes"
            ),
            Error::BadMagic { found } => write!(
                f,
                "bad magic {found:#010x}: not a bootcache playlist ({PLAYLIST_MAGIC:#010x}) \
                 or history ({HISTORY_MAGIC:#010x})"
            ),
            Error::WrongFormat { expected, found } => {
                write!(f, "this is a {found}, not a {expected}")
            }
            Error::BadVersion { found } => write!(
                f,
                "format version {found} is not supported (this code reads version \
                 {FORMAT_VERSION})"
            ),
            Error::BadHeaderSize { found } => {
                write!(f, "header size {found} is wrong (must be {})", lh::SIZE)
            }
            Error::UnknownHeaderFlags { flags } => {
                write!(f, "header: unknown flags {flags:#x}")
            }
            Error::HeaderReserved { value } => {
                write!(f, "header: reserved field is {value:#x}, must be 0")
            }
            Error::TooManyVolumes { count } => write!(
                f,
                "header: volume count {count} exceeds the limit of {MAX_VOLUMES}"
            ),
            Error::TooManyRecords { format, count, max } => write!(
                f,
                "header: {} count {count} exceeds the limit of {max}",
                match format {
                    Format::Playlist => "extent",
                    Format::History => "entry",
                }
            ),
            Error::TooManyBatches { count } => write!(
                f,
                "header: batch count {count} exceeds the limit of {MAX_BATCHES}"
            ),
            Error::TotalTooLarge { total } => write!(
                f,
                "header: total bytes {total} exceed the limit of {MAX_TOTAL_BYTES}"
            ),
            Error::BadChecksum { stored, computed } => write!(
                f,
                "checksum mismatch: header says {stored:#010x}, contents give {computed:#010x}"
            ),
            Error::VolumeBadType { volume, id_type } => {
                write!(f, "volume {volume}: unknown id type {id_type}")
            }
            Error::VolumeBadId { volume, id_type } => write!(
                f,
                "volume {volume}: id is not valid for id type {id_type} ({})",
                match id_type {
                    VOLUME_ROOT => "a root volume's id must be all zero",
                    VOLUME_GPT => "a GPT PARTUUID must not be all zero",
                    _ => "an MBR PARTUUID needs a partition number 1-255 and zero bytes 5-15",
                }
            ),
            Error::VolumeReserved { volume } => {
                write!(f, "volume {volume}: reserved bytes are not zero")
            }
            Error::VolumeBadBlockSize { volume, block_size } => write!(
                f,
                "volume {volume}: block size {block_size} is not a power of two from \
                 {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
            ),
            Error::DuplicateVolume { volume, first } => {
                write!(f, "volume {volume}: same id as volume {first}")
            }
            Error::VolumeEmpty { volume } => write!(f, "volume {volume}: has no extents"),
            Error::VolumeCountMismatch {
                volume,
                stored,
                counted,
            } => write!(
                f,
                "volume {volume}: record count {stored} does not match the {counted} records \
                 that name it"
            ),
            Error::VolumeBytesMismatch {
                volume,
                stored,
                counted,
            } => write!(
                f,
                "volume {volume}: byte count {stored} does not match its records' {counted}"
            ),
            Error::VolumeOutOfRange {
                record,
                volume,
                count,
            } => write!(
                f,
                "{record}: volume index {volume} is out of range ({count} volumes)"
            ),
            Error::UnknownFlags { record, flags } => {
                write!(f, "{record}: unknown flags {flags:#x}")
            }
            Error::ExtentReserved { extent } => {
                write!(f, "extent {extent}: reserved bytes are not zero")
            }
            Error::ZeroLength { record } => write!(f, "{record}: length is zero"),
            Error::Misaligned {
                record,
                field,
                value,
                align,
            } => write!(f, "{record}: {field} {value} is not a multiple of {align}"),
            Error::PastEnd {
                record,
                offset,
                length,
            } => write!(
                f,
                "{record}: offset {offset} + length {length} is beyond the {MAX_VOLUME_BYTES}-byte \
                 limit"
            ),
            Error::BatchOutOfRange {
                extent,
                batch,
                batch_count,
            } => write!(
                f,
                "extent {extent}: batch {batch} is not below the batch count {batch_count}"
            ),
            Error::VolumeOrder {
                extent,
                volume,
                previous,
            } => write!(
                f,
                "extent {extent}: volume {volume} after volume {previous}: extents must be \
                 grouped by ascending volume"
            ),
            Error::Unsorted {
                extent,
                offset,
                previous,
            } => write!(
                f,
                "extent {extent}: offset {offset} is below the previous extent's offset \
                 {previous}: not sorted"
            ),
            Error::Overlap {
                extent,
                offset,
                previous_end,
            } => write!(
                f,
                "extent {extent}: offset {offset} overlaps the previous extent, which ends at \
                 {previous_end}"
            ),
            Error::TotalBytesMismatch { stored, counted } => write!(
                f,
                "header: byte total {stored} does not match the records' {counted}"
            ),
            Error::BatchCountMismatch { stored, counted } => write!(
                f,
                "header: batch count {stored} is not the highest batch plus one ({counted})"
            ),
            Error::BadFlagCombination { entry, flags } => write!(
                f,
                "entry {entry}: flags {flags:#x} combine bits that exclude each other"
            ),
            Error::BadTag { entry } => write!(
                f,
                "entry {entry}: a tag must have offset 0, length 0 and volume {NO_VOLUME:#x}"
            ),
            Error::TimeOrder {
                entry,
                timestamp_ns,
                previous,
            } => write!(
                f,
                "entry {entry}: timestamp {timestamp_ns} ns is before the previous entry's \
                 {previous} ns"
            ),
            Error::TagCountMismatch { stored, counted } => write!(
                f,
                "header: tag count {stored} does not match the {counted} tag entries"
            ),
            Error::BufferTooSmall { need, have } => {
                write!(f, "buffer of {have} bytes is too small, {need} needed")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------------------

/// The persistent name of a volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VolumeId {
    /// The root device, whatever it is (the seed's null UUID).
    Root,
    /// A GPT partition's unique GUID, its bytes in the order of the canonical text form.
    Gpt([u8; 16]),
    /// An MBR partition: PARTUUID `SSSSSSSS-PP`.
    Mbr {
        /// The disk signature `SSSSSSSS`.
        signature: u32,
        /// The partition number `PP`, 1 to 255.
        partition: u8,
    },
}

impl VolumeId {
    /// Returns the `id_type` and `id` fields for this id.
    pub fn to_raw(self) -> (u8, [u8; 16]) {
        match self {
            VolumeId::Root => (VOLUME_ROOT, [0; 16]),
            VolumeId::Gpt(g) => (VOLUME_GPT, g),
            VolumeId::Mbr {
                signature,
                partition,
            } => {
                let mut id = [0; 16];
                put_u32(&mut id, 0, signature);
                put(&mut id, 4, &[partition]);
                (VOLUME_MBR, id)
            }
        }
    }

    /// Decodes `id_type` and `id`, or returns `None` if they are not a valid pair.
    pub fn from_raw(id_type: u8, id: &[u8; 16]) -> Option<VolumeId> {
        match id_type {
            VOLUME_ROOT if all_zero(id) => Some(VolumeId::Root),
            VOLUME_GPT if !all_zero(id) => Some(VolumeId::Gpt(*id)),
            VOLUME_MBR => {
                let partition = get_u8(id, 4);
                if partition == 0 || !reserved_ok(id, 5, 11) {
                    return None;
                }
                Some(VolumeId::Mbr {
                    signature: get_u32(id, 0),
                    partition,
                })
            }
            _ => None,
        }
    }

    /// Parses `root`, a GPT PARTUUID (`00112233-4455-6677-8899-aabbccddeeff`) or an MBR
    /// PARTUUID (`1234abcd-01`), in either case of hex digit.
    pub fn parse(s: &str) -> Option<VolumeId> {
        let b = s.as_bytes();
        if s.eq_ignore_ascii_case("root") {
            return Some(VolumeId::Root);
        }
        if b.len() == 11 && get_u8(b, 8) == b'-' {
            let signature = hex_value(b.get(..8)?)?;
            let partition = hex_value(b.get(9..)?)?;
            let partition = u8::try_from(partition).ok().filter(|&p| p != 0)?;
            return Some(VolumeId::Mbr {
                signature: u32::try_from(signature).ok()?,
                partition,
            });
        }
        if b.len() == 36 {
            let mut id = [0u8; 16];
            let mut n = 0;
            let mut i = 0;
            while i < 36 {
                if matches!(i, 8 | 13 | 18 | 23) {
                    if get_u8(b, i) != b'-' {
                        return None;
                    }
                    i = i.wrapping_add(1);
                    continue;
                }
                let byte = u8::try_from(hex_value(b.get(i..i.wrapping_add(2))?)?).ok()?;
                *id.get_mut(n)? = byte;
                n = n.wrapping_add(1);
                i = i.wrapping_add(2);
            }
            return VolumeId::from_raw(VOLUME_GPT, &id);
        }
        None
    }
}

fn hex_value(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        let x = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(x);
    }
    Some(v)
}

impl fmt::Display for VolumeId {
    /// Formats as `root`, a GPT PARTUUID or an MBR PARTUUID, in lower case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeId::Root => f.write_str("root"),
            VolumeId::Gpt(g) => {
                for (b, i) in g.iter().zip(0..u32::MAX) {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            VolumeId::Mbr {
                signature,
                partition,
            } => write!(f, "{signature:08x}-{partition:02x}"),
        }
    }
}

/// A volume record (`struct bootcache_volume`), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Volume {
    /// The volume's persistent name.
    pub id: VolumeId,
    /// Playlist: its extents; history: its read and write entries.
    pub record_count: u32,
    /// Playlist: the sum of its extents' lengths; history: of its reads' lengths.
    pub bytes: u64,
    /// Its block size in bytes.
    pub block_size: u32,
}

impl Volume {
    /// Decodes a record from a validated file. Invalid ids read as [`VolumeId::Root`].
    fn decode(b: &[u8]) -> Volume {
        let mut id = [0u8; 16];
        put(&mut id, 0, b.get(lv::ID..lv::ID + 16).unwrap_or(&[]));
        Volume {
            id: VolumeId::from_raw(get_u8(b, lv::ID_TYPE), &id).unwrap_or(VolumeId::Root),
            record_count: get_u32(b, lv::RECORD_COUNT),
            bytes: get_u64(b, lv::BYTES),
            block_size: get_u32(b, lv::BLOCK_SIZE),
        }
    }

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

/// A playlist extent (`struct bootcache_extent`), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset from the start of the volume.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Index of the volume record.
    pub volume: u16,
    /// `EXTENT_*` flags.
    pub flags: u16,
    /// Batch; batch 0 is read first.
    pub batch: u8,
}

impl Extent {
    fn decode(b: &[u8]) -> Extent {
        Extent {
            offset: get_u64(b, lx::OFFSET),
            length: get_u64(b, lx::LENGTH),
            volume: get_u16(b, lx::VOLUME),
            flags: get_u16(b, lx::FLAGS),
            batch: get_u8(b, lx::BATCH),
        }
    }

    /// Returns the first byte after the extent.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }

    /// Returns whether the extent is read at low priority.
    pub fn is_low_priority(&self) -> bool {
        self.flags & EXTENT_LOW_PRIORITY != 0
    }

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

/// A history entry (`struct bootcache_history_entry`), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Byte offset from the start of the volume.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Nanoseconds since recording started.
    pub timestamp_ns: u64,
    /// The submitting task's pid.
    pub pid: u32,
    /// `ENTRY_*` flags.
    pub flags: u16,
    /// Index of the volume record, or [`NO_VOLUME`] for a tag.
    pub volume: u16,
}

impl Entry {
    fn decode(b: &[u8]) -> Entry {
        Entry {
            offset: get_u64(b, le::OFFSET),
            length: get_u64(b, le::LENGTH),
            timestamp_ns: get_u64(b, le::TIMESTAMP_NS),
            pid: get_u32(b, le::PID),
            flags: get_u16(b, le::FLAGS),
            volume: get_u16(b, le::VOLUME),
        }
    }

    /// Returns a tag entry recorded at `timestamp_ns` by `pid`.
    pub fn tag(timestamp_ns: u64, pid: u32) -> Entry {
        Entry {
            offset: 0,
            length: 0,
            timestamp_ns,
            pid,
            flags: ENTRY_TAG,
            volume: NO_VOLUME,
        }
    }

    /// Returns whether this is a tag.
    pub fn is_tag(&self) -> bool {
        self.flags & ENTRY_TAG != 0
    }

    /// Returns whether this is a write.
    pub fn is_write(&self) -> bool {
        self.flags & ENTRY_WRITE != 0
    }

    /// Returns whether this is a read (neither a write nor a tag).
    pub fn is_read(&self) -> bool {
        self.flags & (ENTRY_WRITE | ENTRY_TAG) == 0
    }

    /// Returns the first byte after the entry's range.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }

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

fn record_buf(out: &mut [u8], size: usize) -> Result<&mut [u8], Error> {
    let have = out.len();
    out.get_mut(..size).ok_or(Error::BufferTooSmall {
        need: size as u64,
        have,
    })
}

/// The header of a file, decoded (`struct bootcache_playlist_header` or
/// `struct bootcache_history_header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Which format.
    pub format: Format,
    /// Header flags.
    pub flags: u32,
    /// The stored checksum.
    pub checksum: u32,
    /// Number of volume records.
    pub volume_count: u32,
    /// Number of extents (playlist) or entries (history).
    pub record_count: u32,
    /// Playlist: the sum of extent lengths; history: the sum of read lengths.
    pub bytes: u64,
    /// Playlist: the batch count; history: the tag count.
    pub extra: u32,
}

impl Header {
    fn decode(format: Format, b: &[u8]) -> Header {
        Header {
            format,
            flags: get_u32(b, lh::FLAGS),
            checksum: get_u32(b, lh::CHECKSUM),
            volume_count: get_u32(b, lh::VOLUME_COUNT),
            record_count: get_u32(b, lh::COUNT),
            bytes: get_u64(b, lh::BYTES),
            extra: get_u32(b, lh::EXTRA),
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

/// Returns the size of a file with `volume_count` volumes and `record_count` extents or
/// entries.
pub fn file_size(format: Format, volume_count: u32, record_count: u32) -> u64 {
    let rec = match format {
        Format::Playlist => lx::SIZE as u64,
        Format::History => le::SIZE as u64,
    };
    (lh::SIZE as u64)
        .saturating_add(u64::from(volume_count).saturating_mul(lv::SIZE as u64))
        .saturating_add(u64::from(record_count).saturating_mul(rec))
}

/// Returns the byte offset of volume record `index` in a file.
pub fn volume_offset(index: u32) -> u64 {
    (lh::SIZE as u64).saturating_add(u64::from(index).saturating_mul(lv::SIZE as u64))
}

/// Returns the byte offset of extent or entry `index` in a file with `volume_count` volumes.
pub fn record_offset(format: Format, volume_count: u32, index: u32) -> u64 {
    file_size(format, volume_count, index)
}

// ---------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------

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
        if id_type > VOLUME_MBR {
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
    if offset & u64::from(align).wrapping_sub(1) != 0 {
        return Err(Error::Misaligned {
            record,
            field: Field::Offset,
            value: offset,
            align,
        });
    }
    if length & u64::from(align).wrapping_sub(1) != 0 {
        return Err(Error::Misaligned {
            record,
            field: Field::Length,
            value: length,
            align,
        });
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

fn close_volume(volumes: &[u8], volume: u32, count: u32, bytes: u64) -> Result<(), Error> {
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
    Ok(())
}

/// A validated playlist: a view of the caller's bytes.
///
/// # Invariants
///
/// The bytes it was made from passed every check of [`Playlist::parse`].
#[derive(Clone, Copy, Debug)]
pub struct Playlist<'a> {
    header: Header,
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
        for ((&count, &bytes), volume) in counts.iter().zip(sums.iter()).zip(0..vcount) {
            if count == 0 {
                return Err(Error::VolumeEmpty { volume });
            }
            close_volume(volumes, volume, count, bytes)?;
        }
        if total != header.bytes {
            return Err(Error::TotalBytesMismatch {
                stored: header.bytes,
                counted: total,
            });
        }
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

    /// Returns the header.
    pub fn header(&self) -> &Header {
        &self.header
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
        Volumes(self.volumes.chunks_exact(lv::SIZE))
    }

    /// Returns volume `index`, if it exists.
    pub fn volume(&self, index: u32) -> Option<Volume> {
        self.volumes().nth(index as usize)
    }

    /// Returns all extents in file order.
    pub fn extents(&self) -> Extents<'a> {
        Extents(self.extents.chunks_exact(lx::SIZE))
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
        Some(Extents(
            self.extents.get(start..end)?.chunks_exact(lx::SIZE),
        ))
    }
}

/// A validated history: a view of the caller's bytes.
///
/// # Invariants
///
/// The bytes it was made from passed every check of [`History::parse`].
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
        for ((&count, &bytes), volume) in counts.iter().zip(sums.iter()).zip(0..vcount) {
            close_volume(volumes, volume, count, bytes)?;
        }
        if reads != header.bytes {
            return Err(Error::TotalBytesMismatch {
                stored: header.bytes,
                counted: reads,
            });
        }
        if tags != header.extra {
            return Err(Error::TagCountMismatch {
                stored: header.extra,
                counted: tags,
            });
        }
        // INVARIANT: every check above passed.
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
        Volumes(self.volumes.chunks_exact(lv::SIZE))
    }

    /// Returns volume `index`, if it exists.
    pub fn volume(&self, index: u32) -> Option<Volume> {
        self.volumes().nth(index as usize)
    }

    /// Returns the entries in time order.
    pub fn entries(&self) -> Entries<'a> {
        Entries(self.entries.chunks_exact(le::SIZE))
    }
}

/// An iterator over volume records.
#[derive(Clone, Debug)]
pub struct Volumes<'a>(core::slice::ChunksExact<'a, u8>);

impl Iterator for Volumes<'_> {
    type Item = Volume;

    fn next(&mut self) -> Option<Volume> {
        self.0.next().map(Volume::decode)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<Volume> {
        self.0.nth(n).map(Volume::decode)
    }
}

impl ExactSizeIterator for Volumes<'_> {}

/// An iterator over playlist extents.
#[derive(Clone, Debug)]
pub struct Extents<'a>(core::slice::ChunksExact<'a, u8>);

impl Iterator for Extents<'_> {
    type Item = Extent;

    fn next(&mut self) -> Option<Extent> {
        self.0.next().map(Extent::decode)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<Extent> {
        self.0.nth(n).map(Extent::decode)
    }
}

impl ExactSizeIterator for Extents<'_> {}

/// An iterator over history entries.
#[derive(Clone, Debug)]
pub struct Entries<'a>(core::slice::ChunksExact<'a, u8>);

impl Iterator for Entries<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        self.0.next().map(Entry::decode)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<Entry> {
        self.0.nth(n).map(Entry::decode)
    }
}

impl ExactSizeIterator for Entries<'_> {}

// ---------------------------------------------------------------------------------------
// Writers.
// ---------------------------------------------------------------------------------------

/// Lays out a file in `buf`: header, volumes (with counts and sums computed from the
/// records), records; seals it and returns its length.
fn write_file<R: Copy>(
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
    let header = Header {
        format: Format::Playlist,
        flags: 0,
        checksum: 0,
        volume_count: 0,
        record_count: 0,
        bytes: total,
        extra: batches,
    };
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
    let header = Header {
        format: Format::History,
        flags,
        checksum: 0,
        volume_count: 0,
        record_count: 0,
        bytes: reads,
        extra: tags,
    };
    let len = write_file(
        buf,
        header,
        volumes,
        entries,
        |e| (!e.is_tag()).then_some((e.volume, e.length, e.is_read())),
        |e, out| e.write_to(out),
    )?;
    History::parse(buf.get(..len).unwrap_or(&[]))?;
    Ok(len)
}
