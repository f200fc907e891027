// SPDX-License-Identifier: GPL-2.0

//! Bootcache playlist and history formats: validation, zero-copy reading and writing.
//!
//! C header: [`include/uapi/linux/bootcache.h`](srctree/include/uapi/linux/bootcache.h)
//!
//! These files are shared, byte for byte, by the kernel driver and by the `bootcache` tool
//! in `tools/bootcache`. They use only `core`: no allocation, no `unsafe`, no floating point
//! and no operation that can panic.
//!
//! - `layout.rs`: the byte layouts of the C header, and file sizes;
//! - `bytes.rs`: little-endian access that cannot panic, and the CRC-32C;
//! - `error.rs`: every way a file can be wrong, each its own [`Error`] variant carrying the
//!   record, field and value concerned, with a one-line message such as
//!   `extent 17: offset 4097 is not a multiple of 512`;
//! - `record.rs`: the records, decoded;
//! - `reader.rs`: [`Playlist::parse`] and the history's checks, which check every field and
//!   every cross-reference of a file before handing out a view of it; a view borrows the
//!   caller's bytes and decodes records on demand;
//! - `writer.rs`: [`write_history`] and the per-record `write_to` methods with [`seal`],
//!   which serialise into a caller's buffer;
//! - `host.rs`: what only the tool uses: `History::parse` and its view, `write_playlist`,
//!   `VolumeId::is_whole_disk`,
//!   and a few helpers. The kernel does not build it.

use core::fmt;

/// Version of both formats (`BOOTCACHE_FORMAT_VERSION`).
pub const FORMAT_VERSION: u16 = 3;
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
/// Volume id type: a whole disk holding an ISO 9660 file system, named by the creation
/// date and the label in its primary volume descriptor.
pub const VOLUME_ISO9660: u8 = 3;
/// Volume id type: the whole disk that holds a GPT partition, named by the partition's
/// unique GUID.
pub const VOLUME_GPT_DISK: u8 = 4;
/// Volume id type: the whole disk that holds an MBR partition, named by the partition's
/// `SSSSSSSS-PP` PARTUUID.
pub const VOLUME_MBR_DISK: u8 = 5;

/// Byte offset of an ISO 9660 primary volume descriptor on its disk (sector 16 of 2048
/// bytes).
pub const ISO9660_PVD_OFFSET: u64 = 32768;
/// Size of an ISO 9660 primary volume descriptor, in bytes.
pub const ISO9660_PVD_SIZE: usize = 2048;

/// Extent flag: read after all normal extents, when no other read-ahead is in flight.
pub const EXTENT_LOW_PRIORITY: u16 = 0x1;
/// Extent flag: the boot reads these blocks more than once, so a read served from the
/// cache leaves them there for the next one (until the session ends).
pub const EXTENT_KEEP: u16 = 0x2;
/// Every extent flag.
pub const EXTENT_FLAGS_ALL: u16 = 0x3;

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

mod bytes;
mod error;
pub mod layout;
mod reader;
mod record;
mod writer;

// What only the tool uses. The kernel builds every Rust file with `CONFIG_RUST` set, and
// leaves this one out; the tool (`tools/bootcache`, which includes this directory) builds
// it.
#[cfg(not(CONFIG_RUST))]
mod host;

pub use error::{Error, Field, Record};
pub use layout::file_size;
pub use reader::Playlist;
pub use record::{Entry, Extent, Header, Volume, VolumeId};
pub use writer::write_history;

// The rest of the tool's view of the format.
#[cfg(not(CONFIG_RUST))]
pub use {
    bytes::{crc32c_update, file_checksum},
    host::{crc32c, record_offset, write_playlist, Entries, History},
    layout::volume_offset,
    reader::{Extents, Records, Volumes},
    writer::seal,
};

use bytes::get_u32;
use layout::header as lh;

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

    pub(crate) fn magic(self) -> u32 {
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
