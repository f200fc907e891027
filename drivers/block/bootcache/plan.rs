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
    pub(crate) fn from_playlist(p: &Playlist<'_>) -> Result<Self> {
        let mut volumes = KVec::with_capacity(p.volume_count() as usize, GFP_KERNEL)?;
        for v in p.volumes() {
            volumes.push(v, GFP_KERNEL)?;
        }
        let mut extents = KVVec::with_capacity(p.extent_count() as usize, GFP_KERNEL)?;
        for x in p.extents() {
            extents.push(x, GFP_KERNEL)?;
        }
        Ok(Self {
            volumes,
            extents,
            batches: p.batch_count(),
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
        for v in self.volumes.iter() {
            volumes.push(*v, GFP_KERNEL)?;
        }
        let mut map: KVec<u16> = KVec::new();
        for v in new.volumes() {
            let i = match volumes.iter().position(|o| o.id == v.id) {
                Some(i) => {
                    if volumes[i].block_size != v.block_size {
                        pr_err!(
                            "playlist: volume {} has block size {}, but {} in the playlist in use\n",
                            v.id,
                            v.block_size,
                            volumes[i].block_size
                        );
                        return Err(EINVAL);
                    }
                    i
                }
                None => {
                    if volumes.len() >= format::MAX_VOLUMES as usize {
                        pr_err!(
                            "playlist: more than {} volumes with the playlist in use\n",
                            format::MAX_VOLUMES
                        );
                        return Err(E2BIG);
                    }
                    volumes.push(v, GFP_KERNEL)?;
                    volumes.len() - 1
                }
            };
            map.push(i as u16, GFP_KERNEL)?;
        }
        let mut extents: KVVec<format::Extent> = KVVec::new();
        let mut batches = shift;
        for vi in 0..volumes.len() as u32 {
            let olds = self.volume_extents(vi);
            let mut ranges: KVVec<(u64, u64)> = KVVec::with_capacity(olds.len(), GFP_KERNEL)?;
            for x in olds {
                ranges.push((x.offset, x.end()), GFP_KERNEL)?;
            }
            let mut wanted: KVVec<NewExtent> = KVVec::new();
            for (ni, _) in map.iter().enumerate().filter(|(_, &m)| u32::from(m) == vi) {
                for x in new.volume_extents(ni as u32).into_iter().flatten() {
                    let batch = (shift + u32::from(x.batch)).min(format::MAX_BATCHES - 1);
                    batches = batches.max(batch + 1);
                    wanted.push(
                        NewExtent {
                            start: x.offset,
                            len: x.length,
                            batch: batch as u8,
                            low_priority: x.is_low_priority(),
                            volume: vi as u16,
                        },
                        GFP_KERNEL,
                    )?;
                }
            }
            let mut pieces: KVVec<NewExtent> = KVVec::new();
            cache::clip_new(&ranges, &mut wanted, &mut pieces).map_err(|_| ENOMEM)?;
            // Both are sorted by offset and do not overlap: merge them.
            let mut a = olds.iter().peekable();
            let mut b = pieces.iter().peekable();
            loop {
                let take_old = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) => x.offset <= y.start,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let x = if take_old {
                    a.next().copied()
                } else {
                    b.next().map(|p| format::Extent {
                        offset: p.start,
                        length: p.len,
                        volume: p.volume,
                        flags: if p.low_priority {
                            format::EXTENT_LOW_PRIORITY
                        } else {
                            0
                        },
                        batch: p.batch,
                    })
                };
                if let Some(x) = x {
                    extents.push(x, GFP_KERNEL)?;
                }
            }
        }
        if extents.len() > format::MAX_EXTENTS as usize {
            pr_err!(
                "playlist: more than {} extents with the playlist in use\n",
                format::MAX_EXTENTS
            );
            return Err(E2BIG);
        }
        let total: u64 = extents.iter().map(|x| x.length).sum();
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
    list.sort_unstable_by_key(|(_, _, x)| (x.is_low_priority(), x.batch));
    let mut sum = 0u64;
    let mut cut = list.len();
    for (i, (_, _, x)) in list.iter().enumerate() {
        if sum.saturating_add(x.length) > budget {
            // The whole batch goes.
            let key = (x.is_low_priority(), x.batch);
            cut = list[..i].partition_point(|(_, _, y)| (y.is_low_priority(), y.batch) < key);
            break;
        }
        sum += x.length;
    }
    let capped = list[cut..].iter().map(|(_, _, x)| x.length).sum();
    list.truncate(cut);
    capped
}
