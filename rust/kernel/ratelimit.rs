// SPDX-License-Identifier: GPL-2.0

//! Rate-limited printing, as `printk_ratelimited()` and `pr_err_ratelimited()`
//! do in C.
//!
//! A message printed on a path that a misbehaving device or a user can drive
//! as fast as it likes (an I/O error, a failing retry) could flood the log.
//! [`pr_err_ratelimited!`](crate::pr_err_ratelimited) and its siblings print
//! at most [`DEFAULT_BURST`] messages from one call site every
//! [`DEFAULT_INTERVAL_MS`] milliseconds, the C defaults
//! (`DEFAULT_RATELIMIT_BURST` and `DEFAULT_RATELIMIT_INTERVAL`), and say how
//! many they left out when the next one goes through.
//!
//! Each call site has a [`Ratelimit`] of its own in a `static`. The C
//! `struct ratelimit_state` holds a spin lock that a `static` cannot
//! initialise from Rust, so the state here is a few atomics; like C's, it is
//! best effort when several CPUs print at once.
//!
//! C header: [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h)
//!
//! # Examples
//!
//! ```
//! use kernel::ratelimit::Ratelimit;
//!
//! // Three messages, then silence until the interval is over.
//! let limit = Ratelimit::new(60_000, 3);
//! let printed = (0..10).filter(|_| limit.check().is_some()).count();
//! assert_eq!(printed, 3);
//!
//! for n in 0..100 {
//!     // At most ten of these reach the log every five seconds.
//!     kernel::pr_info_ratelimited!("ratelimit example {}\n", n);
//! }
//! ```

use crate::time::Ktime;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The length of a rate-limiting interval, in milliseconds
/// (`DEFAULT_RATELIMIT_INTERVAL`, `5 * HZ`).
pub const DEFAULT_INTERVAL_MS: u32 = 5_000;

/// How many messages an interval lets through (`DEFAULT_RATELIMIT_BURST`).
pub const DEFAULT_BURST: u32 = 10;

/// The state of one rate limit: how many messages went through in the
/// current interval and how many were held back.
pub struct Ratelimit {
    interval_ns: u64,
    burst: u32,
    /// When the current interval began (`ktime_get()`, in nanoseconds); 0
    /// before the first message.
    begin_ns: AtomicU64,
    printed: AtomicU32,
    missed: AtomicU32,
}

impl Ratelimit {
    /// Makes a rate limit that lets `burst` messages through every
    /// `interval_ms` milliseconds; an interval of 0 lets everything through.
    pub const fn new(interval_ms: u32, burst: u32) -> Self {
        Self {
            interval_ns: interval_ms as u64 * 1_000_000,
            burst,
            begin_ns: AtomicU64::new(0),
            printed: AtomicU32::new(0),
            missed: AtomicU32::new(0),
        }
    }

    /// Makes a rate limit with the C defaults.
    pub const fn new_default() -> Self {
        Self::new(DEFAULT_INTERVAL_MS, DEFAULT_BURST)
    }

    /// Counts a message: returns `None` if it is to be left out, and
    /// otherwise how many were left out since one last went through at the
    /// start of a new interval (usually 0).
    pub fn check(&self) -> Option<u32> {
        if self.interval_ns == 0 {
            return Some(0);
        }
        // `ktime_get()` is monotonic and counts from boot: it is never
        // negative.
        let now = (Ktime::ktime_get().to_ns() as u64).max(1);
        let begin = self.begin_ns.load(Ordering::Relaxed);
        let mut missed = 0;
        if begin == 0 || now.saturating_sub(begin) >= self.interval_ns {
            // One caller starts the new interval; the others count in it.
            if self
                .begin_ns
                .compare_exchange(begin, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                missed = self.missed.swap(0, Ordering::Relaxed);
                self.printed.store(0, Ordering::Relaxed);
            }
        }
        let burst = self.burst;
        let counted = self
            .printed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |printed| {
                (printed < burst).then_some(printed + 1)
            });
        if counted.is_ok() {
            Some(missed)
        } else {
            self.missed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Prints a message with `$print` (`pr_err` and so on) unless its call site
/// printed too many lately; see [`kernel::ratelimit`](crate::ratelimit).
#[doc(hidden)]
#[macro_export]
macro_rules! print_ratelimited (
    ($print:ident, $($arg:tt)*) => {{
        static RATELIMIT: $crate::ratelimit::Ratelimit =
            $crate::ratelimit::Ratelimit::new_default();
        if let Some(missed) = RATELIMIT.check() {
            if missed > 0 {
                $crate::pr_warn!("{} messages like the next one suppressed\n", missed);
            }
            $crate::$print!($($arg)*);
        }
    }}
);

/// Prints an error-level message (level 3), at most
/// [`DEFAULT_BURST`](crate::ratelimit::DEFAULT_BURST) from this call site every
/// [`DEFAULT_INTERVAL_MS`](crate::ratelimit::DEFAULT_INTERVAL_MS) milliseconds.
///
/// Equivalent to the kernel's `pr_err_ratelimited` macro; see
/// [`pr_err!`](crate::pr_err).
///
/// # Examples
///
/// ```
/// kernel::pr_err_ratelimited!("hello {}\n", "there");
/// ```
#[macro_export]
macro_rules! pr_err_ratelimited (
    ($($arg:tt)*) => ($crate::print_ratelimited!(pr_err, $($arg)*))
);

/// Prints a warning-level message (level 4), at most
/// [`DEFAULT_BURST`](crate::ratelimit::DEFAULT_BURST) from this call site every
/// [`DEFAULT_INTERVAL_MS`](crate::ratelimit::DEFAULT_INTERVAL_MS) milliseconds.
///
/// Equivalent to the kernel's `pr_warn_ratelimited` macro; see
/// [`pr_warn!`](crate::pr_warn).
///
/// # Examples
///
/// ```
/// kernel::pr_warn_ratelimited!("hello {}\n", "there");
/// ```
#[macro_export]
macro_rules! pr_warn_ratelimited (
    ($($arg:tt)*) => ($crate::print_ratelimited!(pr_warn, $($arg)*))
);

/// Prints an info-level message (level 6), at most
/// [`DEFAULT_BURST`](crate::ratelimit::DEFAULT_BURST) from this call site every
/// [`DEFAULT_INTERVAL_MS`](crate::ratelimit::DEFAULT_INTERVAL_MS) milliseconds.
///
/// Equivalent to the kernel's `pr_info_ratelimited` macro; see
/// [`pr_info!`](crate::pr_info).
///
/// # Examples
///
/// ```
/// kernel::pr_info_ratelimited!("hello {}\n", "there");
/// ```
#[macro_export]
macro_rules! pr_info_ratelimited (
    ($($arg:tt)*) => ($crate::print_ratelimited!(pr_info, $($arg)*))
);
