// SPDX-License-Identifier: GPL-2.0

//! Every way a file can be wrong, and its one-line message.

use super::*;
use core::fmt;

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
                    VOLUME_GPT | VOLUME_GPT_DISK => "a GPT PARTUUID must not be all zero",
                    VOLUME_MBR | VOLUME_MBR_DISK => {
                        "an MBR PARTUUID needs a partition number 1-255 and zero bytes 5-15"
                    }
                    _ => {
                        "an ISO 9660 id needs a creation date of 16 digits, not all zero, \
                         and zero bytes 12-15"
                    }
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
