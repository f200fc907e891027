// SPDX-License-Identifier: GPL-2.0
//
// Host tests of the driver's pure logic (drivers/block/bootcache/cache.rs
// and history.rs), compiled here exactly as the kernel compiles it, and checked
// against a model disk: whatever interleaving of read-ahead (the walk's and
// demand read-aheads, issued, then completed later), reads (of extents served
// once and of keep extents, served as often as they are read) and writes
// happens, no read is ever served data that differs from what the disk holds
// at that moment, and no sector is read ahead twice.

#[path = "../../../drivers/block/bootcache/boot/param.rs"]
#[allow(dead_code)]
mod bootparam;
#[path = "../../../drivers/block/bootcache/cache.rs"]
#[allow(dead_code)]
mod cache;
// The format code as the tool's library builds it (history.rs names it as
// `crate::format`).
use bootcache::format;
#[path = "../../../drivers/block/bootcache/history.rs"]
#[allow(dead_code)]
mod history;

/// The host's version of the kernel's `compat` module.
mod compat {
    pub(crate) use std::vec::Vec;

    #[derive(Debug)]
    pub(crate) struct AllocError;

    pub(crate) fn with_capacity<T>(n: usize) -> Result<Vec<T>, AllocError> {
        Ok(Vec::with_capacity(n))
    }

    pub(crate) fn push<T>(v: &mut Vec<T>, x: T) -> Result<(), AllocError> {
        v.push(x);
        Ok(())
    }

    pub(crate) fn insert<T>(v: &mut Vec<T>, i: usize, x: T) -> Result<(), AllocError> {
        v.insert(i, x);
        Ok(())
    }

    pub(crate) fn push_within<T>(v: &mut Vec<T>, x: T) -> Result<(), T> {
        if v.len() >= v.capacity() {
            return Err(x);
        }
        let cap = v.capacity();
        v.push(x);
        assert_eq!(v.capacity(), cap, "push_within allocated");
        Ok(())
    }
}

use cache::{CachePage, DiskCache, NewExtent, ReadDecision, SectorState, Served, PAGE, SECTOR};
use proptest::prelude::*;

struct HostPage(Box<[u8; PAGE as usize]>);

impl CachePage for HostPage {
    fn read(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.0[offset..offset + dst.len()]);
    }
}

const DISK_SECTORS: u64 = 256;

/// A disk whose bytes record which write last touched them.
struct Model {
    disk: Vec<u8>,
    cache: DiskCache<HostPage>,
    /// Read-ahead issued but not completed: disk offset, length, the data
    /// read.
    in_flight: Vec<(u64, u64, Vec<u8>)>,
    served: u64,
    /// Bytes served from sectors served before.
    rehit: u64,
}

impl Model {
    fn new(extents: &[(u64, u64)]) -> Self {
        Self::new_keep(extents, &[])
    }

    /// A model whose extent `i` is a keep extent if `keep[i]`.
    fn new_keep(extents: &[(u64, u64)], keep: &[bool]) -> Self {
        let mut disk = vec![0u8; (DISK_SECTORS * SECTOR) as usize];
        for (i, b) in disk.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let mut cache = DiskCache::new();
        for (i, &(s, n)) in extents.iter().enumerate() {
            let k = keep.get(i).copied().unwrap_or(false);
            cache.add(s * SECTOR, n * SECTOR, 0, false, k, 0).unwrap();
        }
        Model {
            disk,
            cache,
            in_flight: Vec::new(),
            served: 0,
            rehit: 0,
        }
    }

    /// The walk's read-ahead of the next run of extent `i`: the device
    /// reads now.
    fn issue(&mut self, i: usize) {
        let Some(start) = self.cache.extent(i).map(|e| e.start) else {
            return;
        };
        if let Some((off, len)) = self.cache.take_next(i, 0, 4 * PAGE) {
            self.device_reads(start + off, len);
        }
    }

    /// A demand read-ahead for a read of `n` sectors at `s` that waits.
    fn demand(&mut self, s: u64, n: u64) -> Option<(u64, u64)> {
        let run = self.cache.take_demand(s * SECTOR, n * SECTOR, 4 * PAGE)?;
        self.device_reads(run.0, run.1);
        Some(run)
    }

    fn device_reads(&mut self, start: u64, len: u64) {
        let start = start as usize;
        // The device may read past the extent's end within the page.
        let mut data = vec![0u8; len.div_ceil(PAGE) as usize * PAGE as usize];
        let avail = (self.disk.len() - start).min(data.len());
        data[..avail].copy_from_slice(&self.disk[start..start + avail]);
        self.in_flight.push((start as u64, len, data));
    }

    fn complete(&mut self, k: usize) {
        if self.in_flight.is_empty() {
            return;
        }
        let (start, _, data) = self.in_flight.remove(k % self.in_flight.len());
        let pages = data.chunks(PAGE as usize).map(|c| {
            let mut p = Box::new([0u8; PAGE as usize]);
            p[..c.len()].copy_from_slice(c);
            HostPage(p)
        });
        self.cache.fill(start, pages);
    }

    /// Adds extents to the cache in use, the way the driver appends a
    /// playlist: clipped against what is there, moved into new room.
    fn append(&mut self, extents: &[(u64, u64)]) {
        let existing: Vec<(u64, u64)> = self.cache.ranges().collect();
        let mut wanted: Vec<NewExtent> = extents
            .iter()
            .map(|&(s, n)| NewExtent {
                start: s * SECTOR,
                len: n * SECTOR,
                batch: 1,
                low_priority: false,
                keep: s % 2 == 0,
                volume: 0,
            })
            .collect();
        let mut pieces = Vec::new();
        cache::clip_new(&existing, &mut wanted, &mut pieces).unwrap();
        let new: Vec<cache::Extent<HostPage>> = pieces
            .iter()
            .map(|p| cache::Extent::new(p.start, p.len, p.batch, false, p.keep, 0).unwrap())
            .collect();
        let room = Vec::with_capacity(existing.len() + new.len());
        assert!(self.cache.absorb(new, room));
    }

    fn write(&mut self, s: u64, n: u64, v: u8) {
        // The driver invalidates before the write goes to the disk.
        self.cache.invalidate(s * SECTOR, n * SECTOR);
        for b in &mut self.disk[(s * SECTOR) as usize..((s + n) * SECTOR) as usize] {
            *b = v;
        }
    }

    fn read(&mut self, s: u64, n: u64) -> ReadDecision {
        let (start, len) = (s * SECTOR, n * SECTOR);
        let d = self.cache.classify_read(start, len);
        if d == ReadDecision::Hit {
            let mut out = vec![0u8; len as usize];
            let rehit = self.cache.serve(start, len, |at, data| {
                out[at as usize..at as usize + data.len()].copy_from_slice(data);
            });
            assert!(rehit.is_some());
            assert_eq!(
                out,
                self.disk[start as usize..(start + len) as usize],
                "served data differs from the disk at sector {s}, {n} sectors"
            );
            self.served += len;
            self.rehit += rehit.unwrap_or(0);
            // A read that keep extents alone hold is a hit again.
            if self.kept_only(start, len) {
                assert_eq!(self.cache.classify_read(start, len), ReadDecision::Hit);
            }
        }
        d
    }

    /// Returns `true` if keep extents cover all of `[start, start + len)`.
    fn kept_only(&self, start: u64, len: u64) -> bool {
        (start..start + len).step_by(SECTOR as usize).all(|o| {
            self.cache
                .extents()
                .iter()
                .any(|e| e.keep && e.start <= o && o < e.end())
        })
    }

    /// Reads as the driver's filter does: the pages the cache lets go of are
    /// copied after the cache changed again (here, after a write of the same
    /// sectors), and still hold what the disk held when the read was served.
    fn read_pages(&mut self, s: u64, n: u64) -> ReadDecision {
        let (start, len) = (s * SECTOR, n * SECTOR);
        let d = self.cache.classify_read(start, len);
        if d == ReadDecision::Hit {
            let want = self.disk[start as usize..(start + len) as usize].to_vec();
            let mut out = vec![0u8; len as usize];
            let mut later = Vec::new();
            assert!(self
                .cache
                .serve_pages(start, len, |at, offset, n, page| {
                    let at = at as usize;
                    match page {
                        Served::Kept(page) => page.read(offset, &mut out[at..at + n]),
                        Served::Released(page) => later.push((at, offset, n, page)),
                    }
                })
                .is_some());
            self.write(s, n, 0xee);
            for (at, offset, n, page) in later {
                page.read(offset, &mut out[at..at + n]);
            }
            assert_eq!(
                out, want,
                "served data differs from the disk at sector {s}, {n} sectors"
            );
            self.served += len;
        }
        d
    }
}

#[derive(Debug, Clone)]
enum Op {
    Issue(usize),
    Complete(usize),
    Read(u64, u64),
    /// A read whose released pages are copied after a write.
    ReadPages(u64, u64),
    Write(u64, u64, u8),
    Append(u64, u64),
    /// The shrinker: extent, pages wanted.
    Shed(usize, u64),
    /// A read of these sectors parks: a demand read-ahead for it.
    Demand(u64, u64),
    /// The read-ahead that follows one that ended at this sector.
    Follow(u64),
    /// The read-ahead that precedes one that started at this sector.
    Precede(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4).prop_map(Op::Issue),
        (0usize..8).prop_map(Op::Complete),
        (0u64..DISK_SECTORS - 1, 1u64..24).prop_map(|(s, n)| Op::Read(s, n.min(DISK_SECTORS - s))),
        (0u64..DISK_SECTORS - 1, 1u64..24)
            .prop_map(|(s, n)| Op::ReadPages(s, n.min(DISK_SECTORS - s))),
        (0u64..DISK_SECTORS - 1, 1u64..16, 1u8..255).prop_map(|(s, n, v)| Op::Write(
            s,
            n.min(DISK_SECTORS - s),
            v
        )),
        (0u64..DISK_SECTORS - 1, 1u64..40)
            .prop_map(|(s, n)| Op::Append(s, n.min(DISK_SECTORS - s))),
        (0usize..4, 1u64..4).prop_map(|(i, n)| Op::Shed(i, n)),
        (0u64..DISK_SECTORS - 1, 1u64..24)
            .prop_map(|(s, n)| Op::Demand(s, n.min(DISK_SECTORS - s))),
        (0u64..DISK_SECTORS).prop_map(Op::Follow),
        (0u64..=DISK_SECTORS).prop_map(Op::Precede),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No interleaving serves stale data, and pages are accounted exactly.
    #[test]
    fn never_serves_stale_data(
        extents in proptest::collection::vec(
            (0u64..DISK_SECTORS - 8, 1u64..40, any::<bool>()),
            1..4,
        ),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let keep: Vec<bool> = extents.iter().map(|&(_, _, k)| k).collect();
        let extents: Vec<(u64, u64)> = extents
            .into_iter()
            .map(|(s, n, _)| (s, n.min(DISK_SECTORS - s)))
            .collect();
        let mut m = Model::new_keep(&extents, &keep);
        for op in ops {
            match op {
                Op::Issue(i) => m.issue(i),
                Op::Complete(k) => m.complete(k),
                Op::Read(s, n) => { m.read(s, n); }
                Op::ReadPages(s, n) => {
                    let before = m.cache.bytes_held;
                    m.read_pages(s, n);
                    prop_assert!(m.cache.bytes_held <= before);
                }
                Op::Write(s, n, v) => m.write(s, n, v),
                Op::Append(s, n) => {
                    let before = m.cache.bytes_held;
                    m.append(&[(s, n)]);
                    prop_assert_eq!(m.cache.bytes_held, before);
                }
                Op::Shed(i, n) => {
                    let before = m.cache.bytes_held;
                    let (given, freed) = m.cache.shed(i, n * PAGE);
                    prop_assert!(freed <= given && given <= n * PAGE);
                    prop_assert_eq!(m.cache.bytes_held, before - freed);
                }
                Op::Demand(s, n) => {
                    let waits = m.cache.has_expected(s * SECTOR, n * SECTOR);
                    let run = m.demand(s, n);
                    // A demand read-ahead exactly when a sector of the read
                    // was not issued yet, starting in the read's pages.
                    prop_assert_eq!(run.is_some(), waits);
                    if let Some((start, len)) = run {
                        prop_assert!(len > 0 && len <= 4 * PAGE);
                        prop_assert!(start < (s + n) * SECTOR);
                        prop_assert!(start + len > s * SECTOR);
                    }
                }
                Op::Follow(s) => {
                    if let Some((start, len)) = m.cache.take_after(s * SECTOR, 4 * PAGE) {
                        // From its page on, within the extent that holds it.
                        prop_assert!(start + PAGE > s * SECTOR && len > 0 && len <= 4 * PAGE);
                        prop_assert!(m.cache.extents().iter().any(|e| e.start <= s * SECTOR
                            && start + len <= e.end()));
                        m.device_reads(start, len);
                    }
                }
                Op::Precede(s) => {
                    if let Some((start, len)) = m.cache.take_before(s * SECTOR, 4 * PAGE) {
                        // Before its page, within the extent that holds
                        // the byte before it.
                        prop_assert!(start < s * SECTOR && len > 0 && len <= 4 * PAGE);
                        prop_assert!(m.cache.extents().iter().any(|e| e.start <= start
                            && e.end() >= s * SECTOR && start + len <= e.end()));
                        m.device_reads(start, len);
                    }
                }
            }
            // Every sector read-ahead is bringing is in exactly one read in
            // flight: nothing is read ahead twice, nothing is lost.
            for e in m.cache.extents() {
                for o in (0..e.len).step_by(SECTOR as usize) {
                    let at = e.start + o;
                    let reads = m
                        .in_flight
                        .iter()
                        .filter(|(s, n, _)| *s <= at && at < s + n)
                        .count();
                    if e.state(o) == SectorState::Reading {
                        prop_assert_eq!(reads, 1, "sector {} is Reading", at / SECTOR);
                    }
                    if e.state(o) == SectorState::Expected {
                        prop_assert_eq!(reads, 0, "sector {} is Expected", at / SECTOR);
                    }
                    if !e.keep {
                        prop_assert!(e.state(o) != SectorState::Kept);
                    }
                }
            }
            // Extents stay sorted and apart, whatever was appended.
            let r: Vec<(u64, u64)> = m.cache.ranges().collect();
            prop_assert!(r.windows(2).all(|w| w[0].1 <= w[1].0));
            let pages: u64 = m.cache.extents().iter().map(|e| {
                (0..e.len.div_ceil(PAGE)).filter(|&p| {
                    (p * PAGE..((p + 1) * PAGE).min(e.len)).step_by(SECTOR as usize).any(|o| {
                        e.state(o).is_servable()
                    })
                }).count() as u64
            }).sum();
            // Every page with a Present or Kept sector is held (maybe more,
            // where a pending sector keeps a page alive).
            prop_assert!(m.cache.bytes_held >= pages * PAGE);
        }
        for k in 0..m.in_flight.len() { let _ = k; m.complete(0); }
        m.cache.clear();
        prop_assert_eq!(m.cache.bytes_held, 0);
    }
}

#[test]
fn hit_spanning_two_adjacent_extents() {
    let mut m = Model::new(&[(0, 8), (8, 8)]);
    m.issue(0);
    m.issue(1);
    assert_eq!(m.read(4, 8), ReadDecision::Wait);
    m.complete(0);
    assert_eq!(m.read(4, 8), ReadDecision::Wait);
    m.complete(0);
    assert_eq!(m.read(4, 8), ReadDecision::Hit);
    // Served once: those sectors are gone.
    assert_eq!(m.read(4, 8), ReadDecision::Miss);
    assert_eq!(m.served, 8 * SECTOR);
}

#[test]
fn a_hit_hands_over_the_pages_it_empties() {
    let mut m = Model::new(&[(0, 24)]);
    m.issue(0);
    m.complete(0);
    let held = m.cache.bytes_held;
    assert_eq!(held, 3 * PAGE);
    // Sectors 4 to 19: the first and last pages keep sectors to serve, the
    // middle one is emptied and handed over.
    assert_eq!(m.read_pages(4, 16), ReadDecision::Hit);
    assert_eq!(m.cache.bytes_held, 2 * PAGE);
    assert_eq!(m.read(0, 4), ReadDecision::Hit);
    assert_eq!(m.read(20, 4), ReadDecision::Hit);
    assert_eq!(m.cache.bytes_held, 0);
}

#[test]
fn partly_outside_any_extent_is_a_miss() {
    let mut m = Model::new(&[(8, 8)]);
    m.issue(0);
    m.complete(0);
    assert_eq!(m.read(4, 8), ReadDecision::Miss);
    assert_eq!(m.read(8, 8), ReadDecision::Hit);
}

#[test]
fn write_during_read_ahead_is_never_served() {
    let mut m = Model::new(&[(0, 16)]);
    m.issue(0); // the device has read the old data
    m.write(2, 2, 0xee); // then the write
    m.complete(0); // old data arrives
    assert_eq!(m.read(2, 2), ReadDecision::Miss);
    assert_eq!(m.read(0, 2), ReadDecision::Hit);
}

#[test]
fn pages_are_freed_as_they_are_consumed() {
    let mut m = Model::new(&[(0, 16)]);
    m.issue(0);
    m.complete(0);
    assert_eq!(m.cache.bytes_held, 2 * PAGE);
    m.read(0, 8);
    assert_eq!(m.cache.bytes_held, PAGE);
    m.write(8, 4, 1);
    assert_eq!(m.cache.bytes_held, PAGE);
    m.read(12, 4);
    assert_eq!(m.cache.bytes_held, 0);
}

#[test]
fn max_batch_is_the_highest_batch_a_range_touches() {
    let mut c: DiskCache<HostPage> = DiskCache::new();
    c.add(0, 8 * SECTOR, 2, false, false, 0).unwrap();
    c.add(8 * SECTOR, 8 * SECTOR, 5, false, false, 0).unwrap();
    c.add(32 * SECTOR, 8 * SECTOR, 1, false, false, 0).unwrap();
    assert_eq!(c.max_batch(0, SECTOR), Some(2));
    assert_eq!(c.max_batch(4 * SECTOR, 8 * SECTOR), Some(5));
    assert_eq!(c.max_batch(16 * SECTOR, 8 * SECTOR), None);
    assert_eq!(c.max_batch(20 * SECTOR, 16 * SECTOR), Some(1));
}

#[test]
fn pace_off_allows_every_batch_and_never_advances() {
    let mut p = cache::Pace::OFF;
    assert!(p.allows(0) && p.allows(u8::MAX));
    assert!(!p.reach(7));
}

#[test]
fn pace_waits_for_the_boot_then_ramps_up() {
    let mut p = cache::Pace::new(0);
    // The first batch only, however long the boot reads from it.
    assert!(p.allows(0) && !p.allows(1));
    assert!(!p.reach(0));
    assert!(!p.allows(1));
    // The boot reaches batch 1: the walk may read one batch beyond it.
    assert!(p.reach(1));
    assert!(p.allows(2) && !p.allows(3));
    // Then three beyond batch 2, seven beyond batch 3.
    assert!(p.reach(2));
    assert!(p.allows(5) && !p.allows(6));
    assert!(p.reach(3));
    assert!(p.allows(10) && !p.allows(11));
    // An earlier batch changes nothing.
    assert!(!p.reach(1));
    assert!(p.allows(10) && !p.allows(11));
    // The lead saturates: every batch, and no more steps.
    for b in 4..=12 {
        p.reach(b);
    }
    assert!(p.allows(u8::MAX));
    assert!(!p.reach(200));
}

#[test]
fn pace_starts_at_the_first_batch_in_order() {
    let mut p = cache::Pace::new(3);
    assert!(p.allows(3) && !p.allows(4));
    assert!(p.reach(4));
    assert!(p.allows(5) && !p.allows(6));
}

#[test]
fn overlapping_volumes_keep_the_first() {
    let mut c: DiskCache<HostPage> = DiskCache::new();
    assert_eq!(
        c.add(0, 8 * SECTOR, 0, false, false, 0).unwrap(),
        8 * SECTOR
    );
    assert_eq!(
        c.add(4 * SECTOR, 8 * SECTOR, 1, false, false, 1).unwrap(),
        4 * SECTOR
    );
    assert_eq!(
        c.add(20 * SECTOR, 4 * SECTOR, 1, false, false, 1).unwrap(),
        4 * SECTOR
    );
    let starts: Vec<u64> = c.extents().iter().map(|e| e.start / SECTOR).collect();
    assert_eq!(starts, vec![0, 8, 20]);
}

fn entry(i: u64, ts: u64) -> format::Entry {
    format::Entry {
        offset: i * 4096,
        length: 4096,
        timestamp_ns: ts,
        pid: i as u32,
        flags: 0,
        volume: 0,
    }
}

#[test]
fn history_records_only_while_recording_and_truncates() {
    let r = history::Recorder::new(4).unwrap();
    assert!(!r.record(&entry(0, 1)));
    r.start();
    for i in 0..6 {
        let _ = r.record(&entry(i, 10 - i));
    }
    r.stop();
    assert!(!r.record(&entry(9, 99)));
    assert!(r.is_truncated());
    let (entries, skipped) = r.collect().unwrap();
    assert_eq!(skipped, 0);
    // The first four, sorted by time.
    let ts: Vec<u64> = entries.iter().map(|e| e.timestamp_ns).collect();
    assert_eq!(ts, vec![7, 8, 9, 10]);
    assert_eq!(entries[0], entry(3, 7));
    r.clear();
    assert!(r.is_empty() && !r.is_truncated());
}

#[test]
fn history_concurrent_writers_lose_nothing() {
    let r = std::sync::Arc::new(history::Recorder::new(40_000).unwrap());
    r.start();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let r = r.clone();
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    assert!(r.record(&entry(t * 10_000 + i, t * 10_000 + i)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    r.stop();
    let (entries, skipped) = r.collect().unwrap();
    assert_eq!((entries.len(), skipped), (40_000, 0));
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(*e, entry(i as u64, i as u64));
    }
}

#[test]
fn clip_new_keeps_only_what_is_not_covered() {
    let existing = [(8 * SECTOR, 16 * SECTOR), (24 * SECTOR, 32 * SECTOR)];
    let n = |s: u64, l: u64, v: u16| NewExtent {
        start: s * SECTOR,
        len: l * SECTOR,
        batch: 3,
        low_priority: false,
        keep: v == 2,
        volume: v,
    };
    // Given out of order, overlapping each other and the existing ones.
    let mut wanted = vec![n(30, 10, 1), n(0, 40, 0), n(12, 2, 2)];
    let mut out = Vec::new();
    cache::clip_new(&existing, &mut wanted, &mut out).unwrap();
    let got: Vec<(u64, u64, u16)> = out
        .iter()
        .map(|p| (p.start / SECTOR, p.len / SECTOR, p.volume))
        .collect();
    assert_eq!(got, vec![(0, 8, 0), (16, 8, 0), (32, 8, 0)]);
}

#[test]
fn absorb_refuses_overlap_and_short_room() {
    let mut c: DiskCache<HostPage> = DiskCache::new();
    c.add(8 * SECTOR, 8 * SECTOR, 0, false, false, 0).unwrap();
    let ext = |s: u64, n: u64| {
        cache::Extent::<HostPage>::new(s * SECTOR, n * SECTOR, 1, false, false, 0).unwrap()
    };
    // Overlaps the extent there: refused, nothing changes.
    assert!(!c.absorb(vec![ext(12, 8)], Vec::with_capacity(2)));
    // Not enough room: refused.
    assert!(!c.absorb(vec![ext(0, 8)], Vec::with_capacity(1)));
    assert_eq!(c.ranges().count(), 1);
    assert!(c.absorb(vec![ext(0, 8), ext(16, 8)], Vec::with_capacity(3)));
    let r: Vec<(u64, u64)> = c.ranges().map(|(s, e)| (s / SECTOR, e / SECTOR)).collect();
    assert_eq!(r, vec![(0, 8), (8, 16), (16, 24)]);
}

#[test]
fn read_ahead_in_flight_lands_after_an_append() {
    let mut m = Model::new(&[(16, 8)]);
    m.issue(0); // in flight for [16, 24)
    m.append(&[(0, 8), (40, 8)]); // indices move: [16, 24) is now extent 1
    m.complete(0);
    assert_eq!(m.read(16, 8), ReadDecision::Hit);
    assert_eq!(m.read(0, 8), ReadDecision::Wait);
    m.issue(0);
    m.complete(0);
    assert_eq!(m.read(0, 8), ReadDecision::Hit);
}

fn boot(v: &str) -> (bootparam::BootParams<'_>, Vec<String>) {
    let mut problems = Vec::new();
    let p = bootparam::parse(v.as_bytes(), |p| problems.push(format!("{p:?}")));
    (p, problems)
}

#[test]
fn bootcache_parameter_modes_and_options() {
    use bootparam::{BootParams, Mode};
    let p = |mode, record, wait_ms| BootParams {
        mode,
        record,
        wait_ms,
        volume: None,
    };
    assert_eq!(boot("off"), (p(Mode::Off, false, None), vec![]));
    assert_eq!(boot("record"), (p(Mode::Record, false, None), vec![]));
    assert_eq!(
        boot("auto,record,wait=45000"),
        (p(Mode::Auto, true, Some(45000)), vec![])
    );
    assert_eq!(boot("auto,wait=0").0, p(Mode::Auto, false, Some(0)));
    // Nothing is fatal: what is not understood is reported and ignored.
    let (got, problems) = boot("bogus,wait=abc,zzz,wait=600001,record");
    assert_eq!(got, p(Mode::Default, true, None));
    assert_eq!(
        problems,
        [
            "UnknownMode([98, 111, 103, 117, 115])",
            "BadWait([97, 98, 99])",
            "UnknownOption([122, 122, 122])",
            "BadWait([54, 48, 48, 48, 48, 49])",
        ]
    );
    assert_eq!(
        boot("off,record").1,
        ["Useless([114, 101, 99, 111, 114, 100])"]
    );
    // volume= names what `record` records; with another mode it means nothing.
    let (got, problems) = boot("record,volume=iso9660:2026-11-30-04-00-00-00:1a2b3c4d");
    assert_eq!(
        got.volume,
        Some(&b"iso9660:2026-11-30-04-00-00-00:1a2b3c4d"[..])
    );
    assert!(problems.is_empty());
    assert_eq!(boot("auto,volume=x").0.volume, None);
    assert_eq!(
        boot("auto,volume=x").1,
        ["Useless([118, 111, 108, 117, 109, 101, 61, 120])"]
    );
    assert_eq!(
        boot("record,volume=").1,
        ["Useless([118, 111, 108, 117, 109, 101, 61])"]
    );
    assert_eq!(boot("").0.mode, Mode::Default);
    assert_eq!(boot("AUTO").0.mode, Mode::Default);
}

#[test]
fn root_parameter_forms() {
    assert_eq!(
        bootparam::root_partuuid(b"PARTUUID=b0075ca1-01"),
        Some(&b"b0075ca1-01"[..])
    );
    assert_eq!(bootparam::root_partuuid(b"PARTUUID=x/PARTNROFF=1"), None);
    assert_eq!(bootparam::root_partuuid(b"/dev/vda1"), None);
    assert_eq!(bootparam::root_dev_name(b"/dev/vda1"), Some(&b"vda1"[..]));
    assert_eq!(bootparam::root_dev_name(b"/dev/mapper/x"), None);
    assert_eq!(bootparam::root_dev_name(b"/dev/"), None);
    assert_eq!(bootparam::root_dev_name(b"LABEL=root"), None);
}

#[test]
fn shed_gives_back_from_the_end_and_what_it_sheds_is_never_served() {
    let mut m = Model::new(&[(0, 32)]);
    for _ in 0..4 {
        m.issue(0);
        m.complete(0);
    }
    assert_eq!(m.cache.bytes_held, 4 * PAGE);
    // Asked for one page: the last one goes, the first three stay.
    assert_eq!(m.cache.shed(0, PAGE), (PAGE, PAGE));
    assert_eq!(m.cache.bytes_held, 3 * PAGE);
    assert_eq!(m.read(24, 8), ReadDecision::Miss);
    assert_eq!(m.read(0, 8), ReadDecision::Hit);
    // Asked for more than is held: everything goes (the first page was
    // served already), and nothing is lost from the accounting.
    assert_eq!(m.cache.shed(0, 16 * PAGE), (2 * PAGE, 2 * PAGE));
    assert_eq!(m.cache.bytes_held, 0);
    assert_eq!(m.read(8, 8), ReadDecision::Miss);
}

#[test]
fn shed_stops_read_ahead_of_what_is_not_read_yet() {
    let mut m = Model::new(&[(0, 32)]);
    // Nothing read yet: shedding frees nothing, but the tail is given up
    // and read-ahead will not bring it.
    assert_eq!(m.cache.shed(0, 2 * PAGE), (2 * PAGE, 0));
    let e = m.cache.extent(0).unwrap();
    assert_eq!(e.next_expected(0, 16 * PAGE), Some((0, 16 * SECTOR)));
    assert_eq!(e.state(31 * SECTOR), SectorState::Invalid);
}

#[test]
fn a_partial_last_sector_is_covered() {
    // 1000 bytes: two sectors, the second in part.
    let mut c: DiskCache<HostPage> = DiskCache::new();
    assert_eq!(c.add(0, 1000, 0, false, false, 0).unwrap(), 1000);
    let e = c.extent(0).unwrap();
    assert_eq!(e.state(512), SectorState::Expected);
    assert_eq!(c.classify_read(512, 488), ReadDecision::Wait);
    // A write of the partial sector makes it invalid: never served.
    assert_eq!(c.invalidate(512, 488), 512);
    assert_eq!(c.classify_read(512, 488), ReadDecision::Miss);
}

#[test]
fn history_collect_into_needs_no_memory_and_counts_what_did_not_fit() {
    let r = history::Recorder::new(8).unwrap();
    r.start();
    for i in 0..6 {
        assert!(r.record(&entry(i, 100 - i)));
    }
    let mut room = Vec::with_capacity(8);
    assert_eq!(r.collect_into(&mut room), 0);
    assert_eq!(room.len(), 6);
    assert!(room
        .windows(2)
        .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns));
    let mut short = Vec::with_capacity(4);
    assert_eq!(r.collect_into(&mut short), 2);
    assert_eq!(short.len(), 4);
}

#[test]
fn a_keep_extent_is_served_until_a_write() {
    let mut m = Model::new_keep(&[(0, 16), (16, 16)], &[true, false]);
    m.issue(0);
    m.issue(0);
    m.complete(0);
    m.complete(0);
    // Read three times: a hit each time, the second and third rehits.
    for round in 0..3 {
        assert_eq!(m.read(2, 8), ReadDecision::Hit, "round {round}");
    }
    assert_eq!(m.rehit, 2 * 8 * SECTOR);
    // The pages stay while a keep extent can serve them.
    assert_eq!(m.cache.bytes_held, 2 * PAGE);
    let e = m.cache.extent(0).unwrap();
    assert_eq!(e.state(2 * SECTOR), SectorState::Kept);
    assert_eq!(e.state(SECTOR), SectorState::Present);
    // A write makes them a miss; the sectors around it still hit.
    m.write(4, 2, 0x5a);
    assert_eq!(m.read(2, 8), ReadDecision::Miss);
    assert_eq!(m.read(0, 4), ReadDecision::Hit);
    assert_eq!(m.read(6, 10), ReadDecision::Hit);
    // Not a keep extent: served once.
    m.issue(1);
    m.complete(0);
    assert_eq!(m.read(16, 8), ReadDecision::Hit);
    assert_eq!(m.read(16, 8), ReadDecision::Miss);
    // Everything goes at the end.
    m.cache.clear();
    assert_eq!(m.cache.bytes_held, 0);
}

#[test]
fn the_shrinker_sheds_kept_pages_too() {
    let mut m = Model::new_keep(&[(0, 16)], &[true]);
    m.issue(0);
    m.complete(0);
    assert_eq!(m.read(0, 16), ReadDecision::Hit);
    assert_eq!(m.cache.shed(0, 16 * PAGE), (2 * PAGE, 2 * PAGE));
    assert_eq!(m.cache.bytes_held, 0);
    assert_eq!(m.read(0, 16), ReadDecision::Miss);
}

#[test]
fn a_demand_read_ahead_goes_first_and_the_walk_skips_it() {
    // 64 sectors: 8 pages. A read of sectors 41..43 waits.
    let mut m = Model::new(&[(0, 64)]);
    assert_eq!(
        m.cache.classify_read(41 * SECTOR, 2 * SECTOR),
        ReadDecision::Wait
    );
    // Its page first (sector 40 on) to the extent's end, 3 pages, then
    // backward up to the chunk (4 pages here): pages 4 to 7.
    assert_eq!(m.demand(41, 2), Some((32 * SECTOR, 4 * PAGE)));
    assert_eq!(
        m.cache.extent(0).unwrap().state(41 * SECTOR),
        SectorState::Reading
    );
    // Issued already: no second demand read-ahead for it, and it waits.
    assert_eq!(m.demand(41, 2), None);
    assert_eq!(m.read(41, 2), ReadDecision::Wait);
    // The walk (4 pages at a time here) reads the pages before it, then
    // passes over what the demand read-ahead fetches.
    m.issue(0);
    m.issue(0);
    let runs: Vec<(u64, u64)> = m.in_flight.iter().map(|&(s, n, _)| (s, n)).collect();
    assert_eq!(runs, [(32 * SECTOR, 4 * PAGE), (0, 4 * PAGE)]);
    m.complete(0);
    assert_eq!(m.read(41, 2), ReadDecision::Hit);
    // A write while the walk's read is in flight is never served.
    m.write(3, 1, 0x77);
    m.complete(0);
    m.complete(0);
    assert_eq!(m.read(3, 1), ReadDecision::Miss);
    assert_eq!(m.read(0, 3), ReadDecision::Hit);
    assert_eq!(m.read(32, 8), ReadDecision::Hit);
}

#[test]
fn a_demand_read_ahead_takes_the_pages_before_a_backward_reader() {
    // 128 sectors: 16 pages; the chunk is 4 pages. A reader goes backward
    // from page 14, one page at a time.
    let mut m = Model::new(&[(0, 128)]);
    // Forward to the extent's end (pages 14 and 15), then back (12, 13).
    assert_eq!(m.demand(112, 8), Some((12 * PAGE, 4 * PAGE)));
    // The next page down is not fetched yet: pages 8 to 11, all backward.
    assert_eq!(m.demand(88, 8), Some((8 * PAGE, 4 * PAGE)));
    // A read in the middle of what is left, pages 0 to 7: forward first, up
    // to what is issued already, then back.
    assert_eq!(m.demand(40, 8), Some((4 * PAGE, 4 * PAGE)));
    assert_eq!(m.demand(24, 8), Some((0, 4 * PAGE)));
    assert_eq!(m.demand(0, 128), None);
    // Every page once, and the data the disk's.
    for _ in 0..4 {
        m.complete(0);
    }
    assert_eq!(m.read(0, 128), ReadDecision::Hit);
}

#[test]
fn read_ahead_follows_a_demand_read_ahead_within_its_extent() {
    // Two extents: 32 sectors (4 pages) at 0, 64 (8 pages) at 64.
    let mut m = Model::new(&[(0, 32), (64, 64)]);
    // A demand read-ahead in the second extent, then what follows it.
    assert_eq!(m.demand(64, 8), Some((64 * SECTOR, 4 * PAGE)));
    let at = 64 * SECTOR + 4 * PAGE;
    assert_eq!(m.cache.take_after(at, 2 * PAGE), Some((at, 2 * PAGE)));
    // Past what is issued already, to the extent's end; never into the
    // next extent, nor from a place no extent holds.
    assert_eq!(
        m.cache.take_after(at, 4 * PAGE),
        Some((at + 2 * PAGE, 2 * PAGE))
    );
    assert_eq!(m.cache.take_after(at, 4 * PAGE), None);
    assert_eq!(m.cache.take_after(32 * SECTOR, 4 * PAGE), None);
    assert_eq!(
        m.cache.take_after(16 * SECTOR, PAGE),
        Some((2 * PAGE, PAGE))
    );
    assert_eq!(m.cache.take_after(128 * SECTOR, PAGE), None);
}

#[test]
fn read_ahead_goes_back_from_a_demand_read_ahead_within_its_extent() {
    // Two extents: 32 sectors (4 pages) at 0, 64 (8 pages) at 64. A reader
    // going backward waits at the second extent's last page.
    let mut m = Model::new(&[(0, 32), (64, 64)]);
    let ext = 64 * SECTOR;
    assert_eq!(m.demand(120, 8), Some((ext + 4 * PAGE, 4 * PAGE)));
    // Backward from where it started, a chunk (2 pages here) at a time,
    // never into the extent before.
    assert_eq!(
        m.cache.take_before(ext + 4 * PAGE, 2 * PAGE),
        Some((ext + 2 * PAGE, 2 * PAGE))
    );
    assert_eq!(
        m.cache.take_before(ext + 2 * PAGE, 2 * PAGE),
        Some((ext, 2 * PAGE))
    );
    assert_eq!(m.cache.take_before(ext, 2 * PAGE), None);
    // Nothing from between the extents; from the end of the first one, then
    // over what is issued already, to the nearest run below.
    assert_eq!(m.cache.take_before(6 * PAGE, 4 * PAGE), None);
    assert_eq!(m.cache.take_before(4 * PAGE, PAGE), Some((3 * PAGE, PAGE)));
    assert_eq!(m.cache.take_before(4 * PAGE, 4 * PAGE), Some((0, 3 * PAGE)));
    assert_eq!(m.cache.take_before(4 * PAGE, 4 * PAGE), None);
    assert_eq!(m.cache.take_before(0, PAGE), None);
}

#[test]
fn servable_bytes_counts_what_a_miss_reads_again() {
    let mut m = Model::new(&[(8, 16)]);
    m.issue(0);
    m.complete(0);
    // Sectors 0..8 are not cached, 8..12 are: 4 sectors.
    assert_eq!(m.cache.servable_bytes(0, 12 * SECTOR), 4 * SECTOR);
    assert_eq!(m.read(4, 8), ReadDecision::Miss);
    m.read(8, 2);
    assert_eq!(m.cache.servable_bytes(0, 12 * SECTOR), 2 * SECTOR);
}
