// SPDX-License-Identifier: GPL-2.0

//! Finding a playlist's volumes: the block device of each, and the disks to
//! cache for them.

use crate::boot;
use crate::disk::Disk;
use crate::format::{self, VolumeId};
use crate::plan::{batch_key, first_batch_over, BatchKey, Plan};
use crate::session::Session;
use kernel::block::bdev::{BlockDevice, DevT};
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;
use kernel::time::Ktime;

/// The major number of floppy drives, which are never looked at for a
/// medium: opening an empty one can take seconds.
const FLOPPY_MAJOR: u32 = 2;

/// How long what a whole disk was found to hold stays known, unless its
/// medium changes before: while a session waits for a medium, each disk is
/// read at most this often.
const MEDIUM_RECHECK_NS: u64 = 1_000_000_000;

/// A partition (or the whole disk) a playlist volume lives on.
#[derive(Clone, Copy)]
pub(crate) struct Part {
    pub(crate) volume: u16,
    pub(crate) dev: DevT,
    /// First byte on the disk.
    pub(crate) start: u64,
    /// Length in bytes.
    pub(crate) len: u64,
}

/// What a whole disk was found to hold.
struct Seen {
    dev: DevT,
    /// The disk's sequence number when it was looked at.
    seq: u64,
    /// When, in nanoseconds since boot.
    at_ns: u64,
    /// The ISO 9660 medium it holds, if it holds one.
    id: Option<VolumeId>,
}

/// The whole disks looked at for the media a session's playlist names
/// ([`VolumeId::Iso9660`]), so that each disk is read at most once a
/// second while a medium is awaited, and a disk holding another medium is
/// reported once.
pub(crate) struct Media {
    seen: KVec<Seen>,
}

impl Media {
    pub(crate) const fn new() -> Self {
        Self { seen: KVec::new() }
    }

    /// Finds the whole disk holding the medium `want` (volume `index`).
    fn find(&mut self, index: u16, want: &VolumeId) -> Result<DevT> {
        let now = Ktime::ktime_get().to_ns() as u64;
        for disk in DevT::disks()? {
            if disk.dev.major() == FLOPPY_MAJOR {
                continue;
            }
            let known = self.seen.iter().position(|s| s.dev == disk.dev);
            let fresh = known
                .and_then(|i| self.seen.get(i))
                .filter(|s| s.seq == disk.seq && now.saturating_sub(s.at_ns) < MEDIUM_RECHECK_NS);
            let id = match fresh {
                Some(s) => s.id,
                None => {
                    let id = medium_of(disk.dev);
                    let was = known.and_then(|i| self.seen.get(i)).and_then(|s| s.id);
                    if let Some(have) = id.filter(|have| have != want && Some(*have) != was) {
                        // Once per medium put in: the playlist is not for it.
                        pr_warn!(
                            "volume {} ({}): disk {}:{} holds another medium ({}); not cached\n",
                            index,
                            want,
                            disk.dev.major(),
                            disk.dev.minor(),
                            have
                        );
                    }
                    let seen = Seen {
                        dev: disk.dev,
                        seq: disk.seq,
                        at_ns: now,
                        id,
                    };
                    match known.and_then(|i| self.seen.get_mut(i)) {
                        Some(slot) => *slot = seen,
                        None => self.seen.push(seen, GFP_KERNEL)?,
                    }
                    id
                }
            };
            if id.as_ref() == Some(want) {
                return Ok(disk.dev);
            }
        }
        Err(ENODEV)
    }
}

/// Returns the ISO 9660 medium the whole disk `dev` holds, read from its
/// primary volume descriptor, or `None` if it holds none (or no medium, or
/// cannot be read).
fn medium_of(dev: DevT) -> Option<VolumeId> {
    // Not the open that caches: a CD drive's tray stays as the user left it.
    let bdev = BlockDevice::open_read_nodelay(dev).ok()?;
    // A read of whole logical blocks: two of 2048 bytes would do on any
    // disk but one with 4096-byte blocks.
    let len = format::ISO9660_PVD_SIZE.max(bdev.logical_block_size() as usize);
    let mut pvd = KVec::from_elem(0u8, len, GFP_KERNEL).ok()?;
    bdev.read_at(format::ISO9660_PVD_OFFSET, &mut pvd).ok()?;
    VolumeId::from_iso9660_pvd(pvd.get(..format::ISO9660_PVD_SIZE)?)
}

/// Finds the partition (or, for a medium or a partition's disk, the whole
/// disk) volume `index` names.
pub(crate) fn find_volume(index: u16, id: &VolumeId, media: &mut Media) -> Result<DevT> {
    match id {
        // Until the kernel mounts root, `ROOT_DEV` is not set: `root=` says.
        VolumeId::Root => DevT::root().map_or_else(root_from_cmdline, Ok),
        VolumeId::Iso9660 { .. } => media.find(index, id),
        // A partition by its PARTUUID; a partition's disk through the partition.
        _ => {
            let part = id.partition();
            let uuid = CString::try_from_fmt(fmt!("{}", part.unwrap_or(*id)))?;
            let dev = DevT::find_by_partuuid(uuid.to_str()?)?;
            match part {
                Some(_) => Ok(BlockDevice::open_read(dev)?.disk_dev()),
                None => Ok(dev),
            }
        }
    }
}

/// Finds the partition `root=` names, by PARTUUID or `/dev/NAME`.
fn root_from_cmdline() -> Result<DevT> {
    let root = boot::root_arg()?.ok_or(ENODEV)?;
    if let Some(id) = boot::param::root_partuuid(root) {
        return DevT::find_by_partuuid(core::str::from_utf8(id).map_err(|_| ENODEV)?);
    }
    let name = boot::param::root_dev_name(root).ok_or(ENODEV)?;
    let name = CString::try_from_fmt(fmt!("{}", kernel::str::BStr::from_bytes(name)))?;
    DevT::find_by_name(&name)
}

/// The volume of the root file system, for recording without a playlist:
/// named by the PARTUUID `root=` gives, if it does (so that the playlist
/// made from the history finds it at the next boot, whatever the device is
/// called), and otherwise as `root`.
pub(crate) fn root_volume() -> format::Volume {
    let id = boot::root_arg()
        .ok()
        .flatten()
        .and_then(boot::param::root_partuuid)
        .and_then(|id| core::str::from_utf8(id).ok())
        .and_then(VolumeId::parse)
        .unwrap_or(VolumeId::Root);
    format::Volume {
        id,
        record_count: 0,
        bytes: 0,
        block_size: 4096,
    }
}

/// The volume `bootcache=record,volume=...` names, to record.
pub(crate) fn named_volume(id: VolumeId) -> format::Volume {
    format::Volume {
        id,
        record_count: 0,
        bytes: 0,
        block_size: 4096,
    }
}

/// Finds the partition of volume `index` (`desc`) and returns it and its
/// disk.
pub(crate) fn locate(index: u16, desc: &format::Volume, media: &mut Media) -> Result<(Part, DevT)> {
    let dev = find_volume(index, &desc.id, media)?;
    let bdev = BlockDevice::open_read(dev)?;
    Ok((
        Part {
            volume: index,
            dev,
            start: bdev.start_sector() * 512,
            len: bdev.nr_sectors() * 512,
        },
        bdev.disk_dev(),
    ))
}

/// The disks of a validated playlist, opened and ready (not attached).
pub(crate) struct Built {
    /// One per disk, holding the extents of the volumes found on it.
    pub(crate) disks: KVec<Arc<Disk>>,
    /// Volumes not found.
    pub(crate) missing: KVec<u32>,
    /// Volumes found on disks bootcache does not cache (zoned ones).
    pub(crate) refused: KVec<u32>,
}

/// Opens the disks of a validated playlist and makes their caches (not
/// attached). Changes no statistics: the caller counts the disks it attaches.
///
/// At most `cap` bytes are cached: extents are taken in read-ahead order
/// (batch by batch, low priority last) and the rest is left out, so that an
/// oversized playlist degrades instead of failing.
///
/// With `only`, just the volumes it lists are looked at (volumes that
/// appeared after `start`), and disks in `skip` are left alone: a volume
/// found on one of them is neither cached nor missing.
pub(crate) fn build_disks(
    plan: &Plan,
    session: &Arc<Session>,
    cap: u64,
    only: Option<&[u32]>,
    skip: &[DevT],
    media: &mut Media,
) -> Result<Built> {
    // Each volume's partition, or `None` if it is not there.
    let mut parts: KVec<Option<(Part, DevT)>> = KVec::new();
    let mut missing: KVec<u32> = KVec::new();
    for (index, desc) in plan.volumes.iter().enumerate() {
        if only.is_some_and(|o| !o.contains(&(index as u32))) {
            parts.push(None, GFP_KERNEL)?;
            continue;
        }
        match locate(index as u16, desc, media) {
            Ok((_, disk)) if skip.contains(&disk) => {
                // A disk being cached already gains no extents on the way.
                pr_info!(
                    "volume {} ({}) appeared on a disk in use; skipped\n",
                    index,
                    desc.id
                );
                parts.push(None, GFP_KERNEL)?;
            }
            Ok(found) => parts.push(Some(found), GFP_KERNEL)?,
            Err(_) => {
                if only.is_none() {
                    pr_info!("volume {} ({}) not found yet\n", index, desc.id);
                }
                missing.push(index as u32, GFP_KERNEL)?;
                parts.push(None, GFP_KERNEL)?;
            }
        }
    }
    // The first batch that does not fit whole under the cap: it and every
    // batch after it are left out.
    let mut wanted: KVVec<(BatchKey, u64)> = KVVec::new();
    for (index, found) in parts.iter().enumerate() {
        if found.is_none() {
            continue;
        }
        for extent in plan.volume_extents(index as u32) {
            wanted.push((batch_key(extent), extent.length), GFP_KERNEL)?;
        }
    }
    wanted.sort_unstable_by_key(|&(key, _)| key);
    let limit = first_batch_over(wanted.iter().copied(), cap);
    let keep = |extent: &format::Extent| match limit {
        None => true,
        Some(left_out) => batch_key(extent) < left_out,
    };

    let mut disks: KVec<Arc<Disk>> = KVec::new();
    let mut refused: KVec<u32> = KVec::new();
    let mut done: KVec<DevT> = KVec::new();
    for (_, disk_dev) in parts.iter().flatten() {
        if done.contains(disk_dev) {
            continue;
        }
        done.push(*disk_dev, GFP_KERNEL)?;
        let mut on_disk: KVec<Part> = KVec::new();
        let mut extents: KVVec<(Part, format::Extent)> = KVVec::new();
        let mut capped = 0;
        for (index, found) in parts.iter().enumerate() {
            if let Some((part, d)) = found {
                if d == disk_dev {
                    on_disk.push(*part, GFP_KERNEL)?;
                    refused.reserve(1, GFP_KERNEL)?;
                    for extent in plan.volume_extents(index as u32) {
                        if keep(extent) {
                            extents.push((*part, *extent), GFP_KERNEL)?;
                        } else {
                            capped += extent.length;
                        }
                    }
                }
            }
        }
        let bdev = Arc::new(BlockDevice::open_read(*disk_dev)?, GFP_KERNEL)?;
        let lbs = bdev.logical_block_size();
        let coarse = on_disk.iter().find_map(|part| {
            let size = plan.volumes.get(usize::from(part.volume))?.block_size;
            (size % lbs != 0).then_some((part.volume, size))
        });
        let refuse = if let Some((volume, size)) = coarse {
            // Its extents need not be whole blocks of the disk, which takes
            // no read of part of a block.
            pr_err!(
                "volume {} has {}-byte blocks; disk {}:{} reads {}-byte blocks: not cached\n",
                volume,
                size,
                disk_dev.major(),
                disk_dev.minor(),
                lbs
            );
            true
        } else if bdev.is_zoned() {
            // Zone appends land where the disk chooses and zone resets
            // change data without a write to see: a cache of it could serve
            // data the disk no longer holds.
            pr_err!(
                "disk {}:{} is zoned; bootcache does not cache zoned disks\n",
                disk_dev.major(),
                disk_dev.minor()
            );
            true
        } else {
            false
        };
        if refuse {
            for part in on_disk.iter() {
                // Room was reserved above.
                refused.push(u32::from(part.volume), GFP_KERNEL)?;
            }
            continue;
        }
        disks.push(
            Disk::new(bdev, on_disk, session.clone(), &extents, capped)?,
            GFP_KERNEL,
        )?;
    }
    Ok(Built {
        disks,
        missing,
        refused,
    })
}
