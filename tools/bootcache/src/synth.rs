// SPDX-License-Identifier: GPL-2.0

//! Synthetic histories, for benchmarks and tests.

use crate::format::{self, Entry, Volume, VolumeId};

/// A small, fast, deterministic pseudo-random generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Makes a generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// Returns the next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Returns a value below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Makes a history of `entries` entries over `volumes` volumes (1 to 64): the root
/// device, GPT partitions and, every fourth volume from the fourth on, an ISO 9660 disc
/// with 2048-byte blocks, each of `volume_bytes` bytes.
///
/// Reads are mostly sequential runs with random jumps, 4 KiB to 128 KiB long; about 5%
/// of the entries are writes, and there are about eight tags spread over the recording.
pub fn history(entries: u32, volumes: u32, volume_bytes: u64, seed: u64) -> Vec<u8> {
    let volumes = volumes.clamp(1, format::MAX_VOLUMES);
    let entries = entries.min(format::MAX_HISTORY_ENTRIES);
    let volume_bytes = (volume_bytes.clamp(1 << 20, format::MAX_VOLUME_BYTES) >> 12) << 12;
    let mut rng = Rng::new(seed);
    let vols: Vec<Volume> = (0..volumes)
        .map(|i| Volume {
            id: if i == 0 {
                VolumeId::Root
            } else if i % 4 == 3 {
                // A disc: a creation date in 2026, to the hundredth of a second.
                VolumeId::Iso9660 {
                    created: 2_026_010_100_000_000 + u64::from(i),
                    label_crc: rng.next_u64() as u32,
                }
            } else {
                let mut g = [0u8; 16];
                g[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                g[8..].copy_from_slice(&u64::from(i).to_le_bytes());
                VolumeId::Gpt(g)
            },
            record_count: 0,
            bytes: 0,
            block_size: match i % 4 {
                3 => 2048,
                _ if i % 3 == 2 => 512,
                _ => 4096,
            },
        })
        .collect();
    let mut cursors: Vec<u64> = vec![0; volumes as usize];
    let tag_every = (u64::from(entries) / 9).max(1);
    let mut ts: u64 = 0;
    let mut out = Vec::with_capacity(entries as usize);
    for n in 0..u64::from(entries) {
        ts += rng.below(20_000);
        let pid = 1 + rng.below(400) as u32;
        if n > 0 && n % tag_every == 0 {
            out.push(Entry::tag(ts, pid));
            continue;
        }
        let v = (rng.below(u64::from(volumes) * 4) / 4).min(u64::from(volumes) - 1);
        let length = (1 + rng.below(32)) * 4096;
        let cursor = &mut cursors[v as usize];
        if rng.below(10) < 3 || *cursor + length > volume_bytes {
            *cursor = rng.below(volume_bytes / 4096) * 4096;
        }
        let offset = (*cursor).min(volume_bytes - length.min(volume_bytes));
        *cursor = offset + length;
        let write = rng.below(20) == 0;
        let flags = if write {
            format::ENTRY_WRITE
        } else if rng.below(2) == 0 {
            format::ENTRY_HIT
        } else {
            0
        };
        out.push(Entry {
            offset,
            length,
            timestamp_ns: ts,
            pid,
            flags,
            volume: v as u16,
        });
    }
    let size = format::file_size(format::Format::History, volumes, out.len() as u32);
    let mut buf = vec![0u8; size as usize];
    let len = format::write_history(&mut buf, 0, &vols, &out)
        .expect("synthetic history is valid by construction");
    buf.truncate(len);
    buf
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_history_validates() {
        let h = super::history(10_000, 3, 1 << 30, 7);
        let p = crate::format::History::parse(&h).unwrap();
        assert_eq!(p.entry_count(), 10_000);
        assert_eq!(p.volume_count(), 3);
    }
}
