// SPDX-License-Identifier: GPL-2.0

//! The cache of one disk: its extents, the state of every sector in them, the
//! pages holding their data, and the decisions made on each bio.
//!
//! This module is pure logic: it allocates through `crate::compat` and
//! touches pages only through [`CachePage`], so the host compiles it too and
//! checks it against a model (`tools/bootcache/tests/engine.rs`).
//!
//! Offsets and lengths here are bytes from the start of the disk, multiples
//! of [`SECTOR`]. Every cached sector is in one of six states:
//!
//! - `Expected`: read-ahead will bring it; a read of it may wait.
//! - `Reading`: its read-ahead is issued and in flight; a read of it may
//!   wait, and read-ahead does not read it again.
//! - `Present`: its data is in the cache; a read of it is served from there.
//! - `Kept`: its data is in the cache and was served before; it belongs to a
//!   keep extent (`BOOTCACHE_EXTENT_KEEP`, blocks the boot reads more than
//!   once), so it is served again, like a `Present` one.
//! - `Consumed`: it was served once from an extent that is not kept; its
//!   data is gone, later reads go to the disk.
//! - `Invalid`: a write, a failed read-ahead, the shrinker or a jettison made
//!   the cache unable to serve it, for good.
//!
//! ```text
//!   Expected --issue--> Reading --fill--> Present --serve--> Consumed
//!                                            |                (or Kept, in a
//!                                            +--serve (keep)--> Kept  keep extent)
//!                                                               | serve (keep)
//!                                                               v
//!                                                              Kept
//!   any state --write, failed read-ahead, shed, clear--> Invalid
//! ```
//!
//! Only read-ahead turns a sector `Present` (a read-ahead completion, from
//! `Reading`), and only serving a `Present` or `Kept` sector makes it `Kept`;
//! nothing leaves `Invalid`. That is the whole of the cache's consistency
//! argument: a write makes its sectors `Invalid` before it goes to the disk,
//! so data read before the write (even by a read-ahead still in flight) can
//! never be served after it. Keeping changes nothing in it: a `Kept` sector's
//! data is the data read-ahead brought, which no write has touched since (a
//! write would have made it `Invalid`), so serving it again serves what the
//! disk holds. A read-ahead fills only the sectors it found `Expected` and
//! marked `Reading` when it was issued, so no sector is read ahead twice.

use crate::compat::{self, AllocError, Vec};

/// Bytes in a sector: the unit of sector state.
pub const SECTOR: u64 = 512;
/// Bytes in a cache page.
pub const PAGE: u64 = 4096;
const SECTORS_PER_PAGE: u64 = PAGE / SECTOR;

/// The state of one cached sector.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum SectorState {
    /// Read-ahead will bring it.
    Expected = 0,
    /// Its data is in the cache.
    Present = 1,
    /// Served once; its data is freed.
    Consumed = 2,
    /// Never to be served.
    Invalid = 3,
    /// Its read-ahead is in flight.
    Reading = 4,
    /// Served, and kept in the cache to be served again.
    Kept = 5,
}

impl SectorState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => SectorState::Expected,
            1 => SectorState::Present,
            2 => SectorState::Consumed,
            4 => SectorState::Reading,
            5 => SectorState::Kept,
            _ => SectorState::Invalid,
        }
    }

    /// Returns `true` if a read of the sector is served from the cache now.
    pub fn is_servable(self) -> bool {
        matches!(self, SectorState::Present | SectorState::Kept)
    }

    /// Returns `true` if read-ahead is still to bring the sector (issued or
    /// not): a read of it may wait.
    pub fn is_pending(self) -> bool {
        matches!(self, SectorState::Expected | SectorState::Reading)
    }

    /// Returns `true` if the sector may still be served: servable or
    /// pending.
    pub fn is_live(self) -> bool {
        self.is_servable() || self.is_pending()
    }
}

/// A page of cached data, as the cache needs it.
pub trait CachePage {
    /// Copies `dst.len()` bytes from `offset` in the page into `dst`.
    fn read(&self, offset: usize, dst: &mut [u8]);
}

/// One extent of the cache.
pub struct Extent<P> {
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// The batch it belongs to: lower batches are read ahead first.
    pub batch: u8,
    /// Read ahead only when nothing else is pending.
    pub low_priority: bool,
    /// Served as often as it is read (`Kept`), not once.
    pub keep: bool,
    /// Index of the playlist volume it came from.
    pub volume: u16,
    states: Vec<u8>,
    pages: Vec<Option<P>>,
}

impl<P: CachePage> Extent<P> {
    /// Makes an extent whose sectors are all `Expected`.
    pub fn new(
        start: u64,
        len: u64,
        batch: u8,
        low_priority: bool,
        keep: bool,
        volume: u16,
    ) -> Result<Self, AllocError> {
        // A length that is not a whole number of sectors still covers its
        // last, partial sector.
        let sectors = len.div_ceil(SECTOR) as usize;
        let pages = len.div_ceil(PAGE) as usize;
        let mut states = compat::with_capacity(sectors)?;
        for _ in 0..sectors {
            compat::push(&mut states, SectorState::Expected as u8)?;
        }
        let mut slots = compat::with_capacity(pages)?;
        for _ in 0..pages {
            compat::push(&mut slots, None)?;
        }
        Ok(Self {
            start,
            len,
            batch,
            low_priority,
            keep,
            volume,
            states,
            pages: slots,
        })
    }

    /// Returns the end (exclusive).
    pub fn end(&self) -> u64 {
        self.start + self.len
    }

    /// Returns the state of the sector at `offset` from the extent's start.
    pub fn state(&self, offset: u64) -> SectorState {
        SectorState::from_u8(
            self.states
                .get((offset / SECTOR) as usize)
                .copied()
                .unwrap_or(3),
        )
    }

    fn set(&mut self, sector: usize, s: SectorState) {
        if let Some(v) = self.states.get_mut(sector) {
            *v = s as u8;
        }
    }

    /// Frees the page holding sector `sector` if none of its sectors can be
    /// served any more. Returns the bytes freed.
    fn maybe_free_page(&mut self, page: usize) -> u64 {
        if self.page_is_live(page) {
            return 0;
        }
        match self.pages.get_mut(page).and_then(|p| p.take()) {
            Some(_) => PAGE,
            None => 0,
        }
    }

    /// Returns the next run of `Expected` sectors at or after `from` (an
    /// offset in the extent), at most `max` bytes, as (offset, length), both
    /// page aligned within the extent except at its end.
    pub fn next_expected(&self, from: u64, max: u64) -> Option<(u64, u64)> {
        let mut page = (from / PAGE) as usize;
        let npages = self.pages.len();
        // First page holding an Expected sector.
        while page < npages && !self.page_has(page, SectorState::Expected) {
            page += 1;
        }
        if page >= npages {
            return None;
        }
        let first = page;
        let limit = (max / PAGE).max(1) as usize;
        while page < npages && page - first < limit && self.page_has(page, SectorState::Expected) {
            page += 1;
        }
        let off = first as u64 * PAGE;
        let end = (page as u64 * PAGE).min(self.len);
        Some((off, end - off))
    }

    /// Returns the run of pages holding `Expected` sectors around the page
    /// of `at` (an offset in the extent), at most `max` bytes, as (offset,
    /// length): forward from that page as [`Extent::next_expected`] goes,
    /// then, with what is left of `max`, backward from it. A reader that
    /// goes backward through a region (a file system's tables, read from
    /// their end) finds what it reads next fetched with what it waits for.
    /// `None` if that page holds no `Expected` sector.
    pub fn expected_around(&self, at: u64, max: u64) -> Option<(u64, u64)> {
        let page = (at / PAGE) as usize;
        if !self.page_has(page, SectorState::Expected) {
            return None;
        }
        let (off, n) = self.next_expected(at / PAGE * PAGE, max)?;
        let limit = (max / PAGE).max(1) as usize;
        let mut pages = n.div_ceil(PAGE) as usize;
        let mut first = page;
        while first > 0 && pages < limit && self.page_has(first - 1, SectorState::Expected) {
            first -= 1;
            pages += 1;
        }
        let start = first as u64 * PAGE;
        Some((start, off + n - start))
    }

    /// Returns the nearest run of pages holding `Expected` sectors that ends
    /// at or before the page of `end` (an offset in the extent), at most
    /// `max` bytes and ending where that run ends, as (offset, length):
    /// [`Extent::next_expected`] going backward.
    pub fn prev_expected(&self, end: u64, max: u64) -> Option<(u64, u64)> {
        let mut page = ((end / PAGE) as usize).min(self.pages.len());
        // One past the last page below `end` holding an Expected sector.
        while page > 0 && !self.page_has(page - 1, SectorState::Expected) {
            page -= 1;
        }
        if page == 0 {
            return None;
        }
        let last = page;
        let limit = (max / PAGE).max(1) as usize;
        while page > 0 && last - page < limit && self.page_has(page - 1, SectorState::Expected) {
            page -= 1;
        }
        let off = page as u64 * PAGE;
        let end = (last as u64 * PAGE).min(self.len);
        Some((off, end - off))
    }

    /// Marks the `Expected` sectors of the pages of `[off, off + n)` (in the
    /// extent, as [`Extent::next_expected`] returned it) `Reading`: their
    /// read-ahead is issued.
    fn mark_reading(&mut self, off: u64, n: u64) {
        let first = (off / PAGE * SECTORS_PER_PAGE) as usize;
        let last = ((off + n).div_ceil(PAGE) * SECTORS_PER_PAGE) as usize;
        let last = last.min(self.states.len());
        if let Some(states) = self.states.get_mut(first..last) {
            for v in states.iter_mut() {
                if *v == SectorState::Expected as u8 {
                    *v = SectorState::Reading as u8;
                }
            }
        }
    }

    /// Returns the offset in the extent of the first `Expected` sector of
    /// `[off, off + n)` (in the extent), if there is one.
    fn first_expected(&self, off: u64, n: u64) -> Option<u64> {
        let first = (off / SECTOR) as usize;
        let last = ((off + n).div_ceil(SECTOR) as usize).min(self.states.len());
        let found = self
            .states
            .get(first..last)?
            .iter()
            .position(|&v| v == SectorState::Expected as u8)?;
        Some((first + found) as u64 * SECTOR)
    }

    /// Sets the sectors of `[off, off + n)` (in the extent) to `s`, which
    /// must be `Consumed` or `Invalid`, and frees emptied pages. Returns the
    /// bytes freed.
    fn set_range(&mut self, off: u64, n: u64, s: SectorState) -> u64 {
        if n == 0 {
            return 0;
        }
        for sector in off / SECTOR..(off + n).div_ceil(SECTOR) {
            self.set(sector as usize, s);
        }
        let mut freed = 0;
        for page in (off / PAGE) as usize..=((off + n - 1) / PAGE) as usize {
            freed += self.maybe_free_page(page);
        }
        freed
    }

    /// Returns `true` if page `page` holds a sector that may still be
    /// served: one that is [live](SectorState::is_live).
    fn page_is_live(&self, page: usize) -> bool {
        let first = page * SECTORS_PER_PAGE as usize;
        let last = (first + SECTORS_PER_PAGE as usize).min(self.states.len());
        self.states
            .get(first..last)
            .is_some_and(|s| s.iter().any(|&v| SectorState::from_u8(v).is_live()))
    }

    fn page_has(&self, page: usize, s: SectorState) -> bool {
        let first = page * SECTORS_PER_PAGE as usize;
        let last = (first + SECTORS_PER_PAGE as usize).min(self.states.len());
        self.states
            .get(first..last)
            .is_some_and(|v| v.contains(&(s as u8)))
    }
}

/// A page of a read served from the cache (see [`DiskCache::serve_pages`]).
pub enum Served<'a, P> {
    /// A page the cache keeps: other sectors in it are still to be served.
    Kept(&'a P),
    /// A page with nothing left to serve, which the cache let go of.
    Released(P),
}

/// What to do with a read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadDecision {
    /// Every sector is `Present` or `Kept`: serve it from the cache.
    Hit,
    /// Some sector is `Expected` or `Reading` and none is lost: wait for
    /// read-ahead.
    Wait,
    /// Send it to the disk.
    Miss,
}

/// The cache of one disk.
pub struct DiskCache<P> {
    /// Sorted by start, not overlapping.
    extents: Vec<Extent<P>>,
    /// Bytes of pages held.
    pub bytes_held: u64,
}

impl<P: CachePage> DiskCache<P> {
    /// Makes an empty cache.
    pub fn new() -> Self {
        Self {
            extents: Vec::new(),
            bytes_held: 0,
        }
    }

    /// Adds an extent. Extents may come in any order; a part that overlaps an
    /// extent already there is dropped (two volumes naming the same
    /// partition). Returns the bytes added.
    pub fn add(
        &mut self,
        start: u64,
        len: u64,
        batch: u8,
        low_priority: bool,
        keep: bool,
        volume: u16,
    ) -> Result<u64, AllocError> {
        let mut start = start;
        let end = start + len;
        let mut added = 0;
        while start < end {
            // The first extent ending after `start`.
            let i = self.extents.partition_point(|e| e.end() <= start);
            let (piece_end, skip_to) = match self.extents.get(i) {
                Some(e) if e.start <= start => (start, e.end()),
                Some(e) => (e.start.min(end), e.start.min(end)),
                None => (end, end),
            };
            if piece_end > start {
                let e = Extent::new(start, piece_end - start, batch, low_priority, keep, volume)?;
                compat::insert(&mut self.extents, i, e)?;
                added += piece_end - start;
            }
            start = skip_to.max(piece_end).min(end);
        }
        Ok(added)
    }

    /// Returns the extents, sorted by start.
    pub fn extents(&self) -> &[Extent<P>] {
        &self.extents
    }

    /// Returns extent `i`.
    pub fn extent(&self, i: usize) -> Option<&Extent<P>> {
        self.extents.get(i)
    }

    /// Calls `f(extent index, offset in extent, length)` for each piece of
    /// `[start, start + len)` covered by extents, in order, and returns the
    /// bytes not covered.
    fn pieces(&self, start: u64, len: u64, mut f: impl FnMut(usize, u64, u64)) -> u64 {
        let end = start + len;
        let mut pos = start;
        let mut uncovered = 0;
        let mut i = self.extents.partition_point(|e| e.end() <= start);
        while pos < end {
            match self.extents.get(i) {
                Some(e) if e.start < end => {
                    if e.start > pos {
                        uncovered += e.start - pos;
                        pos = e.start;
                    }
                    let piece_end = e.end().min(end);
                    f(i, pos - e.start, piece_end - pos);
                    pos = piece_end;
                    i += 1;
                }
                _ => {
                    uncovered += end - pos;
                    pos = end;
                }
            }
        }
        uncovered
    }

    /// Decides what to do with a read of `[start, start + len)`.
    pub fn classify_read(&self, start: u64, len: u64) -> ReadDecision {
        let mut any_expected = false;
        let mut lost = false;
        let uncovered = self.pieces(start, len, |i, off, n| {
            let e = &self.extents[i];
            // Every sector the range touches, a partial last one too.
            let mut s = off / SECTOR;
            while s < (off + n).div_ceil(SECTOR) {
                let st = e.state(s * SECTOR);
                if st.is_pending() {
                    any_expected = true;
                } else if !st.is_servable() {
                    lost = true;
                }
                s += 1;
            }
        });
        if uncovered > 0 || lost || len == 0 {
            ReadDecision::Miss
        } else if any_expected {
            ReadDecision::Wait
        } else {
            ReadDecision::Hit
        }
    }

    /// Returns the highest batch of the extents `[start, start + len)`
    /// overlaps, if it overlaps any.
    pub fn max_batch(&self, start: u64, len: u64) -> Option<u8> {
        let mut max = None;
        self.pieces(start, len, |i, _, _| {
            let b = self.extents[i].batch;
            max = Some(max.map_or(b, |m: u8| m.max(b)));
        });
        max
    }

    /// Returns `true` if a sector of `[start, start + len)` is `Expected`:
    /// read-ahead has not been issued for it yet.
    pub fn has_expected(&self, start: u64, len: u64) -> bool {
        let mut found = false;
        self.pieces(start, len, |i, off, n| {
            found = found || self.extents[i].first_expected(off, n).is_some();
        });
        found
    }

    /// Returns the bytes of `[start, start + len)` whose sectors the cache
    /// could serve now (`Present` or `Kept`): what a read sent to the disk
    /// reads again.
    pub fn servable_bytes(&self, start: u64, len: u64) -> u64 {
        let end = start + len;
        let mut bytes = 0;
        self.pieces(start, len, |i, off, n| {
            let e = &self.extents[i];
            for s in off / SECTOR..(off + n).div_ceil(SECTOR) {
                if e.state(s * SECTOR).is_servable() {
                    let from = (e.start + s * SECTOR).max(start);
                    let to = (e.start + (s + 1) * SECTOR).min(end).min(e.end());
                    bytes += to.saturating_sub(from);
                }
            }
        });
        bytes
    }

    /// Issues the walk's next read-ahead in extent `i`: the next run of
    /// `Expected` sectors at or after `from` (see [`Extent::next_expected`]),
    /// whose sectors become `Reading`. Returns it as (offset in the extent,
    /// length).
    pub fn take_next(&mut self, i: usize, from: u64, max: u64) -> Option<(u64, u64)> {
        let e = self.extents.get_mut(i)?;
        let (off, n) = e.next_expected(from, max)?;
        e.mark_reading(off, n);
        Some((off, n))
    }

    /// Issues a demand read-ahead for a read of `[start, start + len)` that
    /// waits: around the page of its first `Expected` sector, the run of
    /// pages holding `Expected` sectors, at most `max` bytes, within that
    /// sector's extent (forward first, see [`Extent::expected_around`]). Its
    /// sectors become `Reading`. Returns it as (disk offset, length), or
    /// `None` if no sector of the read is `Expected`.
    pub fn take_demand(&mut self, start: u64, len: u64, max: u64) -> Option<(u64, u64)> {
        let mut first = None;
        self.pieces(start, len, |i, off, n| {
            if first.is_none() {
                first = self.extents[i].first_expected(off, n).map(|o| (i, o));
            }
        });
        let (i, off) = first?;
        let e = self.extents.get_mut(i)?;
        let (off, n) = e.expected_around(off, max)?;
        e.mark_reading(off, n);
        Some((e.start + off, n))
    }

    /// Issues the read-ahead that follows one that ended at `at` (a disk
    /// offset): the next run of `Expected` sectors from the page of `at` on,
    /// in the extent that holds `at`, at most `max` bytes. Its sectors become
    /// `Reading`. Returns it as (disk offset, length), or `None` if that
    /// extent has nothing left to read after `at`.
    pub fn take_after(&mut self, at: u64, max: u64) -> Option<(u64, u64)> {
        let i = self.extents.partition_point(|e| e.end() <= at);
        let e = self.extents.get_mut(i).filter(|e| e.start <= at)?;
        let (off, n) = e.next_expected(at - e.start, max)?;
        e.mark_reading(off, n);
        Some((e.start + off, n))
    }

    /// Issues the read-ahead that precedes one that started at `at` (a disk
    /// offset): the nearest run of `Expected` sectors before the page of
    /// `at`, in the extent that holds the byte before `at`, at most `max`
    /// bytes (see [`Extent::prev_expected`]). Its sectors become `Reading`.
    /// Returns it as (disk offset, length), or `None` if that extent has
    /// nothing left to read before `at`.
    pub fn take_before(&mut self, at: u64, max: u64) -> Option<(u64, u64)> {
        let i = self.extents.partition_point(|e| e.end() < at);
        let e = self.extents.get_mut(i).filter(|e| e.start < at)?;
        let (off, n) = e.prev_expected(at - e.start, max)?;
        e.mark_reading(off, n);
        Some((e.start + off, n))
    }

    /// Serves a read that [`DiskCache::classify_read`] called a `Hit`:
    /// `copy(offset in the read, data)` is called with every piece in order;
    /// the sectors become `Consumed` (or `Kept`, in a keep extent) and
    /// emptied pages are freed. Returns the bytes of the read that had been
    /// served before (`Kept` sectors), or `None` (and changes nothing) if it
    /// is not a hit any more.
    pub fn serve(&mut self, start: u64, len: u64, mut copy: impl FnMut(u64, &[u8])) -> Option<u64> {
        let mut buf = [0u8; 512];
        self.serve_pages(start, len, |at, offset, len, page| {
            let page = match &page {
                Served::Kept(page) => *page,
                Served::Released(page) => page,
            };
            let mut done = 0;
            while done < len {
                let dst = &mut buf[..(len - done).min(512)];
                page.read(offset + done, dst);
                copy(at + done as u64, dst);
                done += dst.len();
            }
        })
    }

    /// Serves a read that [`DiskCache::classify_read`] called a `Hit`, as
    /// [`DiskCache::serve`] does, but hands out its data as pages:
    /// `piece(offset in the read, offset in the page, length, page)` is
    /// called with every piece in order. A page that still holds sectors to
    /// serve (a keep extent's always does) is [`Served::Kept`]: copy from it
    /// before the cache is changed again. A page with nothing left to serve
    /// is [`Served::Released`] to the caller, who may copy from it later (a
    /// page is never written once its sectors are `Present`) and then drops
    /// it. Returns the bytes of the read that had been served before, or
    /// `None` (and changes nothing) if it is not a hit any more.
    pub fn serve_pages(
        &mut self,
        start: u64,
        len: u64,
        mut piece: impl FnMut(u64, usize, usize, Served<'_, P>),
    ) -> Option<u64> {
        if self.classify_read(start, len) != ReadDecision::Hit {
            return None;
        }
        let mut rehit = 0;
        let end = start + len;
        let mut i = self.extents.partition_point(|e| e.end() <= start);
        let mut pos = start;
        // A hit is covered without gaps, so the extents from `i` on cover it.
        while pos < end {
            let Some(e) = self.extents.get_mut(i) else {
                break;
            };
            let piece_end = e.end().min(end) - e.start;
            let mut offset = pos - e.start;
            while offset < piece_end {
                let page = (offset / PAGE) as usize;
                let in_page = offset % PAGE;
                let chunk = (PAGE - in_page).min(piece_end - offset);
                let to = if e.keep {
                    SectorState::Kept
                } else {
                    SectorState::Consumed
                };
                for sector in offset / SECTOR..(offset + chunk).div_ceil(SECTOR) {
                    if e.state(sector * SECTOR) == SectorState::Kept {
                        let lo = (sector * SECTOR).max(offset);
                        let hi = ((sector + 1) * SECTOR).min(offset + chunk);
                        rehit += hi - lo;
                    }
                    e.set(sector as usize, to);
                }
                let at = pos - start + (offset - (pos - e.start));
                if e.page_is_live(page) {
                    if let Some(Some(p)) = e.pages.get(page) {
                        piece(at, in_page as usize, chunk as usize, Served::Kept(p));
                    }
                } else if let Some(p) = e.pages.get_mut(page).and_then(|p| p.take()) {
                    self.bytes_held -= PAGE;
                    piece(at, in_page as usize, chunk as usize, Served::Released(p));
                }
                offset += chunk;
            }
            pos = e.end().min(end);
            i += 1;
        }
        Some(rehit)
    }

    /// Makes every cached sector in `[start, start + len)` `Invalid` and
    /// frees emptied pages (a write, or a failed read-ahead). Returns the
    /// bytes that could have been served and now cannot.
    pub fn invalidate(&mut self, start: u64, len: u64) -> u64 {
        let end = start + len;
        let mut i = self.extents.partition_point(|e| e.end() <= start);
        let mut lost = 0;
        while let Some(e) = self.extents.get_mut(i) {
            if e.start >= end {
                break;
            }
            let from = start.max(e.start);
            let to = end.min(e.end());
            let off = from - e.start;
            for s in off / SECTOR..(to - e.start).div_ceil(SECTOR) {
                if e.state(s * SECTOR).is_live() {
                    lost += SECTOR;
                }
            }
            self.bytes_held -= e.set_range(off, to - from, SectorState::Invalid);
            i += 1;
        }
        lost
    }

    /// Installs the pages read ahead at `start` (a disk offset, page
    /// aligned within its extent; a read-ahead never crosses extents):
    /// sectors still `Reading` become `Present`; pages with no sector left
    /// to serve are dropped. Returns the bytes that became `Present`.
    ///
    /// The extent is looked up by offset, not index, because extents added
    /// while the read was in flight ([`DiskCache::absorb`]) move indices.
    pub fn fill(&mut self, start: u64, pages: impl IntoIterator<Item = P>) -> u64 {
        let i = self.extents.partition_point(|e| e.end() <= start);
        let Some(e) = self.extents.get_mut(i) else {
            return 0;
        };
        if e.start > start {
            return 0;
        }
        let offset = start - e.start;
        let mut filled = 0;
        for (page, p) in ((offset / PAGE) as usize..).zip(pages) {
            if page >= e.pages.len() {
                break;
            }
            let first = page * SECTORS_PER_PAGE as usize;
            let last = (first + SECTORS_PER_PAGE as usize).min(e.states.len());
            let mut any = false;
            for s in first..last {
                if e.states[s] == SectorState::Reading as u8 {
                    e.states[s] = SectorState::Present as u8;
                    filled += SECTOR;
                    any = true;
                }
            }
            if any && e.pages[page].is_none() {
                e.pages[page] = Some(p);
                self.bytes_held += PAGE;
            }
        }
        filled
    }

    /// Gives up pages of extent `i` from its end backwards, until `want`
    /// bytes of pages were given up or nothing of the extent is left to
    /// serve. A page given up is one with a sector still to serve: its
    /// sectors become `Invalid`, whether read ahead already (`Present` or
    /// `Kept`: the page is freed) or not yet (`Expected`: it will not be
    /// read, and no memory is taken for it; `Reading`: what arrives is
    /// dropped). Returns the bytes given up and, of those, the bytes of
    /// pages freed.
    pub fn shed(&mut self, i: usize, want: u64) -> (u64, u64) {
        let Some(e) = self.extents.get_mut(i) else {
            return (0, 0);
        };
        let (mut given, mut freed) = (0, 0);
        let mut page = e.pages.len();
        while page > 0 && given < want {
            page -= 1;
            let first = page * SECTORS_PER_PAGE as usize;
            let last = (first + SECTORS_PER_PAGE as usize).min(e.states.len());
            let mut live = false;
            if let Some(states) = e.states.get_mut(first..last) {
                for v in states.iter_mut() {
                    if SectorState::from_u8(*v).is_live() {
                        *v = SectorState::Invalid as u8;
                        live = true;
                    }
                }
            }
            if live {
                given += PAGE;
            }
            freed += e.maybe_free_page(page);
        }
        self.bytes_held -= freed;
        (given, freed)
    }

    /// Returns the extents' ranges as `(start, end)`, sorted by start.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.extents.iter().map(|e| (e.start, e.end()))
    }

    /// Adds the extents of `new` (sorted by start, overlapping neither each
    /// other nor the extents already here: see [`clip_new`]) to a cache in
    /// use, moving every extent into `room`, which must be empty with room
    /// for them all. Nothing allocates, so this may run under a spin lock;
    /// extents keep their states and pages, but indices change. Returns
    /// `false`, changing nothing, if a condition does not hold.
    pub fn absorb(&mut self, new: Vec<Extent<P>>, room: Vec<Extent<P>>) -> bool {
        if !room.is_empty() || room.capacity() < self.extents.len() + new.len() {
            return false;
        }
        // The merged sequence must be sorted and without overlap.
        let mut prev_end = 0;
        let sorted = merge_sorted(
            self.extents.iter(),
            new.iter(),
            |e| e.start,
            |e| {
                if e.start < prev_end || e.len == 0 {
                    return Err(());
                }
                prev_end = e.end();
                Ok(())
            },
        );
        if sorted.is_err() {
            return false;
        }
        let old = core::mem::replace(&mut self.extents, room);
        // Room was checked: these pushes cannot fail.
        let _ = merge_sorted(
            old,
            new,
            |e| e.start,
            |e| compat::push_within(&mut self.extents, e).map_err(|_| ()),
        );
        true
    }

    /// Marks everything `Invalid` and frees every page (jettison). Returns
    /// the bytes freed.
    pub fn clear(&mut self) -> u64 {
        let held = self.bytes_held;
        for e in self.extents.iter_mut() {
            for v in e.states.iter_mut() {
                *v = SectorState::Invalid as u8;
            }
            for p in e.pages.iter_mut() {
                *p = None;
            }
        }
        self.bytes_held = 0;
        held
    }
}

/// How far a paced read-ahead walk may go at full speed, in batches.
///
/// A drive that takes one command at a time is needed by the boot for more
/// than reads (probing it, opening and closing it), and those commands wait
/// for the read-ahead command in progress. So on such a drive the walk reads
/// the first batch at full speed, then follows the boot: when the boot reads
/// from a later batch than before, the walk may read up to `lead` batches
/// beyond it at full speed, and `lead` grows 0, 1, 3, 7, ... with each such
/// step. Beyond that the walk reads one small command at a time (the
/// driver's read-ahead decides how small), so that a boot still probing its
/// devices (reading from the first batch only) waits little for the drive,
/// and one that has begun reading its data soon has all of it read ahead.
///
/// Not paced is a lead that reaches the last batch already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// The highest batch the boot has read from.
    boot: u8,
    /// How many batches beyond `boot` the walk may read.
    lead: u8,
}

impl Pace {
    /// No pacing.
    pub const OFF: Self = Self {
        boot: 0,
        lead: u8::MAX,
    };

    /// Paced, starting with batch `first` only.
    pub fn new(first: u8) -> Self {
        Self {
            boot: first,
            lead: 0,
        }
    }

    /// Returns `true` if the walk may read batch `batch` now.
    pub fn allows(&self, batch: u8) -> bool {
        batch <= self.boot.saturating_add(self.lead)
    }

    /// Returns `true` if the walk may read every batch: not paced, or no
    /// longer held back.
    pub fn is_open(&self) -> bool {
        self.allows(u8::MAX)
    }

    /// Notes that the boot reads from batch `batch`; returns `true` if the
    /// walk may now read further than before.
    pub fn reach(&mut self, batch: u8) -> bool {
        if self.is_open() || batch <= self.boot {
            return false;
        }
        let before = self.boot.saturating_add(self.lead);
        self.boot = batch;
        self.lead = self.lead.saturating_mul(2).saturating_add(1);
        self.boot.saturating_add(self.lead) > before
    }
}

impl<P: CachePage> Default for DiskCache<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// An extent to add to a cache in use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NewExtent {
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Its batch.
    pub batch: u8,
    /// Read ahead only when nothing else is pending.
    pub low_priority: bool,
    /// Served as often as it is read.
    pub keep: bool,
    /// Index of the playlist volume it came from.
    pub volume: u16,
}

/// Clips `wanted` to what neither `existing` (ranges `(start, end)` sorted by
/// start, not overlapping: [`DiskCache::ranges`]) nor an earlier extent of
/// `wanted` covers, and appends the pieces to `out`, sorted by start and not
/// overlapping, ready for [`DiskCache::absorb`]. `wanted` is sorted in place.
pub fn clip_new(
    existing: &[(u64, u64)],
    wanted: &mut [NewExtent],
    out: &mut Vec<NewExtent>,
) -> Result<(), AllocError> {
    wanted.sort_unstable_by_key(|w| (w.start, w.volume, w.batch, w.len, w.keep));
    let mut covered_to = 0u64;
    for w in wanted.iter() {
        let end = w.start.saturating_add(w.len);
        let mut pos = w.start.max(covered_to);
        let mut j = existing.partition_point(|&(_, e)| e <= pos);
        while pos < end {
            match existing.get(j) {
                Some(&(s, e)) if s <= pos => {
                    pos = e;
                    j += 1;
                }
                next => {
                    let piece_end = next.map_or(end, |&(s, _)| s.min(end));
                    compat::push(
                        out,
                        NewExtent {
                            start: pos,
                            len: piece_end - pos,
                            ..*w
                        },
                    )?;
                    pos = piece_end;
                }
            }
        }
        covered_to = covered_to.max(end);
    }
    Ok(())
}

/// Calls `f` with every item of `a` and of `b`, which are both sorted by
/// `key`, in the order of `key` (an item of `a` first when two are equal),
/// and stops at the first error `f` returns.
pub fn merge_sorted<T, K: Ord, E>(
    a: impl IntoIterator<Item = T>,
    b: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    mut f: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => key(x) <= key(y),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return Ok(()),
        };
        let next = if take_a { a.next() } else { b.next() };
        if let Some(item) = next {
            f(item)?;
        }
    }
}
