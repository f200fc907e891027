// SPDX-License-Identifier: GPL-2.0

//! The records of a file, decoded.

use super::bytes::{
    all_zero, crc32c_update, get_u16, get_u32, get_u64, get_u8, put, put_u32, put_u64, reserved_ok,
};
use super::layout::{entry as le, extent as lx, header as lh, volume as lv};
use super::*;
use core::fmt;

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
    /// A whole disk holding an ISO 9660 file system (a CD or DVD, or a hybrid image written
    /// to a USB stick), named by its primary volume descriptor; see
    /// [`VolumeId::from_iso9660_pvd`].
    Iso9660 {
        /// The volume creation date and time, its 16 digits `YYYYMMDDhhmmsscc` read as one
        /// decimal number: 1 to 10^16 - 1.
        created: u64,
        /// The CRC-32C of the volume identifier (the label), its 32 bytes as stored.
        label_crc: u32,
    },
    /// The whole disk that holds GPT partition [`VolumeId::Gpt`]`(id)`: the reads made
    /// through the disk's own device (its partition table, blkid's probes of it).
    GptDisk([u8; 16]),
    /// The whole disk that holds MBR partition [`VolumeId::Mbr`] `{ signature, partition }`.
    MbrDisk {
        /// The disk signature `SSSSSSSS`.
        signature: u32,
        /// The partition number `PP`, 1 to 255.
        partition: u8,
    },
}

/// The prefix of the text form of a partition's disk: `disk:` and the partition's PARTUUID.
const DISK_PREFIX: &str = "disk:";

/// One more than the largest ISO 9660 creation date: 16 decimal digits.
const ISO9660_DATE_LIMIT: u64 = 10_000_000_000_000_000;

/// Offset of the volume identifier (the label) in a primary volume descriptor.
const PVD_LABEL: usize = 40;
/// Size of the volume identifier, in bytes.
const PVD_LABEL_SIZE: usize = 32;
/// Offset of the volume creation date and time in a primary volume descriptor: 16 ASCII
/// digits `YYYYMMDDhhmmsscc`, then a time zone byte.
const PVD_CREATED: usize = 813;

/// The number of digits of each field of the text form of an ISO 9660 date,
/// `YYYY-MM-DD-hh-mm-ss-cc`.
const ISO9660_DATE_FIELDS: [usize; 7] = [4, 2, 2, 2, 2, 2, 2];
/// The text form's prefix of an ISO 9660 volume.
const ISO9660_PREFIX: &str = "iso9660:";

impl VolumeId {
    /// Returns the `id_type` and `id` fields for this id.
    pub fn to_raw(self) -> (u8, [u8; 16]) {
        match self {
            VolumeId::Root => (VOLUME_ROOT, [0; 16]),
            VolumeId::Gpt(g) => (VOLUME_GPT, g),
            VolumeId::GptDisk(g) => (VOLUME_GPT_DISK, g),
            VolumeId::Mbr {
                signature,
                partition,
            } => (VOLUME_MBR, mbr_raw(signature, partition)),
            VolumeId::MbrDisk {
                signature,
                partition,
            } => (VOLUME_MBR_DISK, mbr_raw(signature, partition)),
            VolumeId::Iso9660 { created, label_crc } => {
                let mut id = [0; 16];
                put_u64(&mut id, 0, created);
                put_u32(&mut id, 8, label_crc);
                (VOLUME_ISO9660, id)
            }
        }
    }

    /// Decodes `id_type` and `id`, or returns `None` if they are not a valid pair.
    pub fn from_raw(id_type: u8, id: &[u8; 16]) -> Option<VolumeId> {
        match id_type {
            VOLUME_ROOT if all_zero(id) => Some(VolumeId::Root),
            VOLUME_GPT if !all_zero(id) => Some(VolumeId::Gpt(*id)),
            VOLUME_GPT_DISK if !all_zero(id) => Some(VolumeId::GptDisk(*id)),
            VOLUME_MBR | VOLUME_MBR_DISK => {
                let partition = get_u8(id, 4);
                if partition == 0 || !reserved_ok(id, 5, 11) {
                    return None;
                }
                let signature = get_u32(id, 0);
                Some(if id_type == VOLUME_MBR {
                    VolumeId::Mbr {
                        signature,
                        partition,
                    }
                } else {
                    VolumeId::MbrDisk {
                        signature,
                        partition,
                    }
                })
            }
            VOLUME_ISO9660 => {
                let created = get_u64(id, 0);
                if created == 0 || created >= ISO9660_DATE_LIMIT || !reserved_ok(id, 12, 4) {
                    return None;
                }
                Some(VolumeId::Iso9660 {
                    created,
                    label_crc: get_u32(id, 8),
                })
            }
            _ => None,
        }
    }

    /// Returns the id of the whole disk that holds this partition, or `None` if this is
    /// not a GPT or MBR partition.
    pub fn disk(self) -> Option<VolumeId> {
        match self {
            VolumeId::Gpt(g) => Some(VolumeId::GptDisk(g)),
            VolumeId::Mbr {
                signature,
                partition,
            } => Some(VolumeId::MbrDisk {
                signature,
                partition,
            }),
            _ => None,
        }
    }

    /// Returns the id of the partition by which this names its whole disk, or `None` if
    /// it does not name a partition's disk.
    pub fn partition(self) -> Option<VolumeId> {
        match self {
            VolumeId::GptDisk(g) => Some(VolumeId::Gpt(g)),
            VolumeId::MbrDisk {
                signature,
                partition,
            } => Some(VolumeId::Mbr {
                signature,
                partition,
            }),
            _ => None,
        }
    }

    /// Returns the id of the disk whose primary volume descriptor is `pvd`, the
    /// [`ISO9660_PVD_SIZE`] bytes at [`ISO9660_PVD_OFFSET`] of the disk, or `None` if it is
    /// not one.
    ///
    /// A primary volume descriptor starts with type 1, `"CD001"` and version 1; its volume
    /// creation date must be 16 ASCII digits, not all zero. The label's CRC is taken over
    /// its 32 bytes as stored, space padding included.
    pub fn from_iso9660_pvd(pvd: &[u8]) -> Option<VolumeId> {
        if pvd.get(..7)? != b"\x01CD001\x01" {
            return None;
        }
        let created = decimal_value(0, pvd.get(PVD_CREATED..PVD_CREATED.wrapping_add(16))?)?;
        if created == 0 {
            return None;
        }
        let label = pvd.get(PVD_LABEL..PVD_LABEL.wrapping_add(PVD_LABEL_SIZE))?;
        Some(VolumeId::Iso9660 {
            created,
            label_crc: !crc32c_update(!0, label),
        })
    }

    /// Parses `root`, a GPT PARTUUID (`00112233-4455-6677-8899-aabbccddeeff`), an MBR
    /// PARTUUID (`1234abcd-01`), in either case of hex digit, an ISO 9660 volume
    /// (`iso9660:2026-11-30-04-00-00-00:1a2b3c4d`: the creation date in the form of the
    /// UUID blkid shows for a disc, then the label's CRC-32C as 8 hex digits), or the whole
    /// disk of a partition (`disk:` and the partition's PARTUUID).
    pub fn parse(s: &str) -> Option<VolumeId> {
        let b = s.as_bytes();
        if s.eq_ignore_ascii_case("root") {
            return Some(VolumeId::Root);
        }
        if let Some(rest) = s.strip_prefix(ISO9660_PREFIX) {
            return parse_iso9660(rest.as_bytes());
        }
        if let Some(rest) = s.strip_prefix(DISK_PREFIX) {
            // One level of recursion at most (the kernel parses the command
            // line with this): a disk of a disk is no volume.
            if rest.starts_with(DISK_PREFIX) {
                return None;
            }
            return VolumeId::parse(rest)?.disk();
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

/// The `id` field of an MBR partition (or its disk): the signature, then the partition.
fn mbr_raw(signature: u32, partition: u8) -> [u8; 16] {
    let mut id = [0; 16];
    put_u32(&mut id, 0, signature);
    put(&mut id, 4, &[partition]);
    id
}

/// Parses the text form of an ISO 9660 volume after its prefix:
/// `YYYY-MM-DD-hh-mm-ss-cc:xxxxxxxx`.
fn parse_iso9660(b: &[u8]) -> Option<VolumeId> {
    let mut created: u64 = 0;
    let mut i: usize = 0;
    for (n, width) in ISO9660_DATE_FIELDS.iter().enumerate() {
        if n > 0 {
            if get_u8(b, i) != b'-' {
                return None;
            }
            i = i.wrapping_add(1);
        }
        created = decimal_value(created, b.get(i..i.wrapping_add(*width))?)?;
        i = i.wrapping_add(*width);
    }
    if get_u8(b, i) != b':' {
        return None;
    }
    let crc = b.get(i.wrapping_add(1)..)?;
    if crc.len() != 8 {
        return None;
    }
    let mut id = [0u8; 16];
    put_u64(&mut id, 0, created);
    put_u32(&mut id, 8, u32::try_from(hex_value(crc)?).ok()?);
    VolumeId::from_raw(VOLUME_ISO9660, &id)
}

/// Returns `acc` followed by the decimal `digits`, or `None` if one is not a digit.
///
/// Callers pass 16 digits at most in all, which stay below 10^16.
fn decimal_value(acc: u64, digits: &[u8]) -> Option<u64> {
    let mut v = acc;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v
            .wrapping_mul(10)
            .wrapping_add(u64::from(d.wrapping_sub(b'0')));
    }
    Some(v)
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
    /// Formats as `root`, a GPT PARTUUID, an MBR PARTUUID, an ISO 9660 volume or a
    /// partition's disk, in lower case: the form [`VolumeId::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeId::Root => f.write_str("root"),
            VolumeId::GptDisk(g) => write!(f, "{DISK_PREFIX}{}", VolumeId::Gpt(*g)),
            VolumeId::MbrDisk {
                signature,
                partition,
            } => write!(
                f,
                "{DISK_PREFIX}{}",
                VolumeId::Mbr {
                    signature: *signature,
                    partition: *partition,
                }
            ),
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
            VolumeId::Iso9660 { created, label_crc } => {
                let c = *created;
                write!(
                    f,
                    "{ISO9660_PREFIX}{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{:02}:{label_crc:08x}",
                    c / 1_000_000_000_000 % 10_000,
                    c / 10_000_000_000 % 100,
                    c / 100_000_000 % 100,
                    c / 1_000_000 % 100,
                    c / 10_000 % 100,
                    c / 100 % 100,
                    c % 100,
                )
            }
        }
    }
}

/// A kind of record that files hold a run of: its size, and how to decode one.
pub trait Decode {
    /// Size of a record in a file, in bytes.
    const SIZE: usize;

    /// Decodes a record from a validated file.
    fn decode(b: &[u8]) -> Self;
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

impl Decode for Volume {
    const SIZE: usize = lv::SIZE;

    /// Invalid ids read as [`VolumeId::Root`].
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

impl Decode for Extent {
    const SIZE: usize = lx::SIZE;

    fn decode(b: &[u8]) -> Extent {
        Extent {
            offset: get_u64(b, lx::OFFSET),
            length: get_u64(b, lx::LENGTH),
            volume: get_u16(b, lx::VOLUME),
            flags: get_u16(b, lx::FLAGS),
            batch: get_u8(b, lx::BATCH),
        }
    }
}

impl Extent {
    /// Returns the first byte after the extent.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }

    /// Returns whether the extent is read at low priority.
    pub fn is_low_priority(&self) -> bool {
        self.flags & EXTENT_LOW_PRIORITY != 0
    }

    /// Returns whether the cache keeps the extent's blocks after serving them.
    pub fn keeps(&self) -> bool {
        self.flags & EXTENT_KEEP != 0
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

impl Decode for Entry {
    const SIZE: usize = le::SIZE;

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
}

impl Entry {
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
    pub(super) fn decode(format: Format, b: &[u8]) -> Header {
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
}
