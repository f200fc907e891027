// SPDX-License-Identifier: GPL-2.0

//! The history recorder: a bounded, preallocated log of the boot's reads,
//! writes and tags.
//!
//! Recording is on the I/O path of every CPU, so it takes no lock: a writer
//! claims a slot with one atomic add and fills it; the slot's last word
//! carries a ready bit, stored last with release ordering. When the log is
//! full further events are dropped and the history is marked truncated, as
//! the kext did. Reading the log out ([`Recorder::collect`]) happens after
//! recording stopped; a slot whose writer had not finished is skipped and
//! counted.
//!
//! Pure logic over `core` atomics and `crate::compat`, compiled by the host
//! tests too.

use crate::compat::{self, AllocError, Vec};
use crate::format::Entry;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const READY: u64 = 1 << 63;

/// One slot: offset; length, flags and volume; timestamp; pid and ready.
type Slot = [AtomicU64; 4];

/// The history log.
pub struct Recorder {
    slots: Vec<Slot>,
    next: AtomicUsize,
    recording: AtomicBool,
    truncated: AtomicBool,
}

impl Recorder {
    /// Makes a stopped recorder with room for `capacity` events.
    pub fn new(capacity: usize) -> Result<Self, AllocError> {
        let mut slots = compat::with_capacity(capacity)?;
        for _ in 0..capacity {
            compat::push(&mut slots, Default::default())?;
        }
        Ok(Self {
            slots,
            next: AtomicUsize::new(0),
            recording: AtomicBool::new(false),
            truncated: AtomicBool::new(false),
        })
    }

    /// Returns the number of events it can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Starts recording (again, after what was recorded before).
    pub fn start(&self) {
        self.recording.store(true, Ordering::Release);
    }

    /// Stops recording; events after this are dropped.
    pub fn stop(&self) {
        self.recording.store(false, Ordering::Release);
    }

    /// Returns `true` while recording.
    pub fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Acquire)
    }

    /// Returns `true` if events were dropped because the log was full.
    pub fn is_truncated(&self) -> bool {
        self.truncated.load(Ordering::Relaxed)
    }

    /// Returns the number of events recorded.
    pub fn len(&self) -> usize {
        self.next.load(Ordering::Relaxed).min(self.slots.len())
    }

    /// Returns `true` if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records an event; returns `false` if it was dropped (not recording, or
    /// full).
    pub fn record(&self, e: &Entry) -> bool {
        if !self.is_recording() {
            return false;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = self.slots.get(i) else {
            // Keep `next` from wrapping however long the boot records.
            self.next.store(self.slots.len(), Ordering::Relaxed);
            self.truncated.store(true, Ordering::Relaxed);
            return false;
        };
        let length = e.length.min(u64::from(u32::MAX));
        slot[0].store(e.offset, Ordering::Relaxed);
        slot[1].store(
            length << 32 | u64::from(e.flags) << 16 | u64::from(e.volume),
            Ordering::Relaxed,
        );
        slot[2].store(e.timestamp_ns, Ordering::Relaxed);
        slot[3].store(u64::from(e.pid) | READY, Ordering::Release);
        true
    }

    /// Returns the events recorded, sorted by time, and how many slots were
    /// skipped because their writer had not finished.
    pub fn collect(&self) -> Result<(Vec<Entry>, usize), AllocError> {
        let mut out = compat::with_capacity(self.len())?;
        let skipped = self.collect_into(&mut out);
        Ok((out, skipped))
    }

    /// Appends the events recorded to `out`, sorted by time, and returns
    /// how many slots were skipped because their writer had not finished or
    /// `out` had no room. Allocates nothing: with room for
    /// [`Recorder::capacity`] events in `out`, nothing is left out for
    /// want of memory.
    pub fn collect_into(&self, out: &mut Vec<Entry>) -> usize {
        let n = self.len();
        let mut skipped = 0;
        for slot in self.slots.iter().take(n) {
            let w3 = slot[3].load(Ordering::Acquire);
            if w3 & READY == 0 {
                skipped += 1;
                continue;
            }
            let w1 = slot[1].load(Ordering::Relaxed);
            let e = Entry {
                offset: slot[0].load(Ordering::Relaxed),
                length: w1 >> 32,
                flags: (w1 >> 16) as u16,
                volume: w1 as u16,
                timestamp_ns: slot[2].load(Ordering::Relaxed),
                pid: w3 as u32,
            };
            if compat::push_within(out, e).is_err() {
                skipped += 1;
            }
        }
        // Slots are claimed in nearly time order; make it exact.
        out.sort_unstable_by_key(|e| e.timestamp_ns);
        skipped
    }

    /// Forgets everything recorded (the log stays allocated).
    pub fn clear(&self) {
        let n = self.len();
        for slot in self.slots.iter().take(n) {
            slot[3].store(0, Ordering::Relaxed);
        }
        self.next.store(0, Ordering::Relaxed);
        self.truncated.store(false, Ordering::Relaxed);
    }
}
