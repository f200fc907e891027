// SPDX-License-Identifier: GPL-2.0

//! What a session caches and records: its plan, made from a playlist and
//! grown by appended ones.

use crate::cache::{self, NewExtent};
use crate::format::{self, Playlist};
use crate::volume::Part;
use kernel::prelude::*;

/// What a session caches and records: its volumes (the history names them,
/// and [`Part::volume`] indexes them) and the extents to read ahead, sorted
/// by volume and offset, without overlap. A playlist makes one; a recording
/// session without a playlist has a volume and no extents.
pub(crate) struct Plan {
    pub(crate) volumes: KVec<format::Volume>,
    /// Up to the format's 2^20 extents: too large for `kmalloc`.
    pub(crate) extents: KVVec<format::Extent>,
    /// Batches in use; appended extents come after them.
    pub(crate) batches: u32,
}

impl Plan {
    /// The plan of a validated playlist.
    pub(crate) fn from_playlist(playlist: &Playlist<'_>) -> Result<Self> {
        let mut volumes = KVec::with_capacity(playlist.volume_count() as usize, GFP_KERNEL)?;
        for volume in playlist.volumes() {
            volumes.push(volume, GFP_KERNEL)?;
        }
        let mut extents = KVVec::with_capacity(playlist.extent_count() as usize, GFP_KERNEL)?;
        for extent in playlist.extents() {
            extents.push(extent, GFP_KERNEL)?;
        }
        Ok(Self {
            volumes,
            extents,
            batches: playlist.batch_count(),
        })
    }

    /// The plan of recording `v` with nothing to read ahead.
    pub(crate) fn record_only(v: format::Volume) -> Result<Self> {
        let mut volumes = KVec::new();
        volumes.push(v, GFP_KERNEL)?;
        Ok(Self {
            volumes,
            extents: KVVec::new(),
            batches: 0,
        })
    }

    /// Adds, for each GPT or MBR partition volume, the whole disk that holds
    /// it ([`format::VolumeId::disk`]) if the plan lacks it, with no extents
    /// and up to [`format::MAX_VOLUMES`]: a recording session then records
    /// the reads made through the disk's own device too (the partition
    /// table, udev's probes), and the next playlist reads them ahead.
    pub(crate) fn add_disk_volumes(&mut self) -> Result {
        // The disks pushed on the way are looked at too: they have none.
        let mut i = 0;
        while let Some(&v) = self.volumes.get(i) {
            i += 1;
            let Some(disk) = v.id.disk() else {
                continue;
            };
            if self.volumes.len() >= format::MAX_VOLUMES as usize {
                break;
            }
            if self.volumes.iter().any(|w| w.id == disk) {
                continue;
            }
            self.volumes.push(
                format::Volume {
                    id: disk,
                    record_count: 0,
                    bytes: 0,
                    block_size: v.block_size,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(())
    }

    /// Returns the extents of volume `vi`.
    pub(crate) fn volume_extents(&self, vi: u32) -> &[format::Extent] {
        let a = self.extents.partition_point(|x| u32::from(x.volume) < vi);
        let b = self.extents.partition_point(|x| u32::from(x.volume) <= vi);
        self.extents.get(a..b).unwrap_or(&[])
    }

    /// Returns the bytes of volume `vi`'s extents.
    pub(crate) fn volume_bytes(&self, vi: u32) -> u64 {
        self.volume_extents(vi).iter().map(|x| x.length).sum()
    }

    /// Appends playlist `new`: this plan's volumes, then those of `new` it
    /// lacks; this plan's extents, then those of `new` minus what this plan
    /// covers, in batches after this plan's. Returns the new plan and, for
    /// each volume of `new`, its index there. The format's limits hold for
    /// the result, so that its history and the next append stay within them.
    pub(crate) fn append(&self, new: &Playlist<'_>) -> Result<(Plan, KVec<u16>)> {
        let shift = self.batches;
        if shift >= format::MAX_BATCHES {
            pr_err!("playlist: the playlist in use has every batch; none can follow\n");
            return Err(E2BIG);
        }
        let mut volumes: KVec<format::Volume> = KVec::new();
        for volume in self.volumes.iter() {
            volumes.push(*volume, GFP_KERNEL)?;
        }
        let mut map: KVec<u16> = KVec::new();
        for volume in new.volumes() {
            let index = match volumes.iter().position(|known| known.id == volume.id) {
                Some(index) => {
                    if volumes[index].block_size != volume.block_size {
                        pr_err!(
                            "playlist: volume {}: block size {}, but {} in the playlist in use\n",
                            volume.id,
                            volume.block_size,
                            volumes[index].block_size
                        );
                        return Err(EINVAL);
                    }
                    index
                }
                None => {
                    if volumes.len() >= format::MAX_VOLUMES as usize {
                        pr_err!(
                            "playlist: more than {} volumes with the playlist in use\n",
                            format::MAX_VOLUMES
                        );
                        return Err(E2BIG);
                    }
                    volumes.push(volume, GFP_KERNEL)?;
                    volumes.len() - 1
                }
            };
            map.push(index as u16, GFP_KERNEL)?;
        }
        let mut extents: KVVec<format::Extent> = KVVec::new();
        let mut batches = shift;
        for volume_index in 0..volumes.len() as u32 {
            let olds = self.volume_extents(volume_index);
            let mut ranges: KVVec<(u64, u64)> = KVVec::with_capacity(olds.len(), GFP_KERNEL)?;
            for extent in olds {
                ranges.push((extent.offset, extent.end()), GFP_KERNEL)?;
            }
            let mut wanted: KVVec<NewExtent> = KVVec::new();
            for (new_volume, _) in map
                .iter()
                .enumerate()
                .filter(|(_, &merged_index)| u32::from(merged_index) == volume_index)
            {
                for extent in new.volume_extents(new_volume as u32).into_iter().flatten() {
                    let batch = (shift + u32::from(extent.batch)).min(format::MAX_BATCHES - 1);
                    batches = batches.max(batch + 1);
                    wanted.push(
                        NewExtent {
                            start: extent.offset,
                            len: extent.length,
                            batch: batch as u8,
                            low_priority: extent.is_low_priority(),
                            keep: extent.keeps(),
                            volume: volume_index as u16,
                        },
                        GFP_KERNEL,
                    )?;
                }
            }
            let mut pieces: KVVec<NewExtent> = KVVec::new();
            cache::clip_new(&ranges, &mut wanted, &mut pieces).map_err(|_| ENOMEM)?;
            // Both are sorted by offset and do not overlap: merge them.
            let new_extents = pieces.iter().map(|piece| format::Extent {
                offset: piece.start,
                length: piece.len,
                volume: piece.volume,
                flags: if piece.low_priority {
                    format::EXTENT_LOW_PRIORITY
                } else {
                    0
                } | if piece.keep { format::EXTENT_KEEP } else { 0 },
                batch: piece.batch,
            });
            cache::merge_sorted(
                olds.iter().copied(),
                new_extents,
                |extent| extent.offset,
                |extent| extents.push(extent, GFP_KERNEL),
            )?;
        }
        if extents.len() > format::MAX_EXTENTS as usize {
            pr_err!(
                "playlist: more than {} extents with the playlist in use\n",
                format::MAX_EXTENTS
            );
            return Err(E2BIG);
        }
        let total: u64 = extents.iter().map(|extent| extent.length).sum();
        if total > format::MAX_TOTAL_BYTES {
            pr_err!(
                "playlist: more than {} bytes with the playlist in use\n",
                format::MAX_TOTAL_BYTES
            );
            return Err(E2BIG);
        }
        let plan = Plan {
            volumes,
            extents,
            batches,
        };
        Ok((plan, map))
    }
}

/// Keeps the extents of `list` that fit in `budget` bytes, whole batches
/// in read-ahead order (low priority last), and returns the bytes left out.
pub(crate) fn cap_extents<T>(list: &mut KVVec<(T, Part, format::Extent)>, budget: u64) -> u64 {
    list.sort_unstable_by_key(|(_, _, extent)| batch_key(extent));
    let cut = match first_batch_over(
        list.iter()
            .map(|(_, _, extent)| (batch_key(extent), extent.length)),
        budget,
    ) {
        // The whole batch goes.
        Some(left_out) => list.partition_point(|(_, _, extent)| batch_key(extent) < left_out),
        None => list.len(),
    };
    let capped = list[cut..].iter().map(|(_, _, extent)| extent.length).sum();
    list.truncate(cut);
    capped
}

/// Where an extent comes in the read-ahead order: by batch, low-priority
/// extents after all others.
pub(crate) type BatchKey = (bool, u8);

/// Returns the [`BatchKey`] of `extent`.
pub(crate) fn batch_key(extent: &format::Extent) -> BatchKey {
    (extent.is_low_priority(), extent.batch)
}

/// Of extents given as `(key, length)` in read-ahead order, returns the key
/// of the first batch that does not fit whole in `budget` bytes after the
/// batches before it: it and every batch after it are left out. Returns
/// `None` if everything fits.
pub(crate) fn first_batch_over(
    sorted: impl IntoIterator<Item = (BatchKey, u64)>,
    budget: u64,
) -> Option<BatchKey> {
    let mut sum = 0u64;
    for (key, length) in sorted {
        if sum.saturating_add(length) > budget {
            return Some(key);
        }
        sum += length;
    }
    None
}
