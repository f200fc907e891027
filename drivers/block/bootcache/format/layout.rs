// SPDX-License-Identifier: GPL-2.0

//! Byte layouts of the on-disk structures, as in the C header.
//!
//! C header: [`include/uapi/linux/bootcache.h`](srctree/include/uapi/linux/bootcache.h)

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

use super::Format;

/// Returns the size of a file with `volume_count` volumes and `record_count` extents or
/// entries.
pub fn file_size(format: Format, volume_count: u32, record_count: u32) -> u64 {
    let rec = match format {
        Format::Playlist => extent::SIZE as u64,
        Format::History => entry::SIZE as u64,
    };
    (header::SIZE as u64)
        .saturating_add(u64::from(volume_count).saturating_mul(volume::SIZE as u64))
        .saturating_add(u64::from(record_count).saturating_mul(rec))
}

/// Returns the byte offset of volume record `index` in a file.
pub fn volume_offset(index: u32) -> u64 {
    (header::SIZE as u64).saturating_add(u64::from(index).saturating_mul(volume::SIZE as u64))
}
