// SPDX-License-Identifier: GPL-2.0

//! `bootcache status`: what happened this boot, in a few lines, from the kernel command
//! line, the driver's sysfs files and the saved files of the boot cycle.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::cmdline::{self, BootOption};
use crate::fileio::read_input;
use crate::format::{History, Playlist};
use crate::size::{format_bytes, format_count};
use crate::stats::Page;
use crate::sysfs::Sysfs;

/// The next boot's playlist, in the save directory.
pub const PLAYLIST: &str = "playlist";
/// The playlist `boot-start` consumed (renamed before loading it).
pub const PLAYLIST_USED: &str = "playlist.used";
/// A playlist the initramfs hook copied into the initramfs (and so took off the disk).
pub const PLAYLIST_INITRAMFS: &str = "playlist.initramfs";
/// The last boot's history, in the save directory.
pub const HISTORY: &str = "history";
/// The default save directory.
pub const DEFAULT_SAVE_DIR: &str = "/var/lib/bootcache";

/// What the kernel's directory says.
#[derive(Debug, Default)]
pub struct Kernel {
    /// `state`.
    pub state: Option<String>,
    /// `recording`.
    pub recording: Option<String>,
    /// `reason`.
    pub reason: Option<String>,
    /// `boot`: the mode the command line asked for (newer kernels).
    pub boot: Option<String>,
    /// `embedded`: bytes of the embedded playlist, 0 if none (newer kernels).
    pub embedded: Option<u64>,
    /// Every file of `stats/`, as read.
    pub counters: Vec<(String, String)>,
}

impl Kernel {
    /// Reads the driver's directory; `Ok(None)` if it does not exist.
    pub fn read(dir: &Path) -> anyhow::Result<Option<Kernel>> {
        if !dir.exists() {
            return Ok(None);
        }
        let s = Sysfs::open(dir)?;
        let counters = if s.path("stats").is_dir() {
            s.read_group("stats")?
        } else {
            Vec::new()
        };
        Ok(Some(Kernel {
            state: s.read_text("state")?,
            recording: s.read_text("recording")?,
            reason: s.read_text("reason")?,
            boot: s.read_text("boot")?,
            embedded: s.read_text("embedded")?.and_then(|v| v.parse().ok()),
            counters,
        }))
    }

    fn session_ran(&self) -> bool {
        self.state.as_deref() == Some("active")
            || self.reason.as_deref().is_some_and(|r| r != "none")
    }
}

/// One saved file, summarised.
#[derive(Debug)]
pub enum Saved {
    /// Not there.
    Missing,
    /// Not a valid file of its kind.
    Invalid(String),
    /// A valid playlist: extents and bytes.
    Playlist {
        /// Extent count.
        extents: u32,
        /// Total bytes.
        bytes: u64,
    },
    /// A valid history.
    History {
        /// Entry count.
        entries: u32,
        /// Time of the last entry.
        duration_ns: u64,
        /// The kernel's log filled up.
        truncated: bool,
    },
}

/// Summarises a saved file; `history` says which kind it should be.
pub fn saved(path: &Path, history: bool) -> (Saved, Option<SystemTime>) {
    if !path.exists() {
        return (Saved::Missing, None);
    }
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let bytes = match read_input(path) {
        Ok(b) => b,
        Err(e) => return (Saved::Invalid(format!("{e:#}")), mtime),
    };
    let s = if history {
        match History::parse(&bytes) {
            Ok(h) => Saved::History {
                entries: h.entry_count(),
                duration_ns: h.entries().map(|e| e.timestamp_ns).max().unwrap_or(0),
                truncated: h.is_truncated(),
            },
            Err(e) => Saved::Invalid(e.to_string()),
        }
    } else {
        match Playlist::parse(&bytes) {
            Ok(p) => Saved::Playlist {
                extents: p.extent_count(),
                bytes: p.total_bytes(),
            },
            Err(e) => Saved::Invalid(e.to_string()),
        }
    };
    (s, mtime)
}

/// Everything the report is made from.
#[derive(Debug)]
pub struct Inputs {
    /// The kernel command line (`None` if unreadable).
    pub cmdline: Option<String>,
    /// The driver's directory (`None` if it does not exist).
    pub kernel: Option<Kernel>,
    /// The save directory.
    pub save_dir: PathBuf,
    /// Now, for the age of saved files.
    pub now: SystemTime,
}

impl Inputs {
    /// Reads the command line, the driver's directory and notes the save directory.
    pub fn read(sysfs: &Path, cmdline: &Path, save_dir: &Path) -> anyhow::Result<Inputs> {
        Ok(Inputs {
            cmdline: std::fs::read_to_string(cmdline).ok(),
            kernel: Kernel::read(sysfs)?,
            save_dir: save_dir.to_path_buf(),
            now: SystemTime::now(),
        })
    }
}

fn why(reason: &str) -> String {
    match reason {
        "misses" => "hit rate too low: miss_limit reads in a row missed the cache".into(),
        "command" => "jettisoned by command".into(),
        "memory" => "memory ran short".into(),
        "disk-gone" => "a cached disk went away".into(),
        "recorded" => "recording stopped, and there was nothing to cache".into(),
        r => r.to_string(),
    }
}

fn seconds(ns: u64) -> String {
    format!("{:.1} s", ns as f64 / 1e9)
}

fn age(now: SystemTime, then: Option<SystemTime>) -> String {
    let Some(d) = then.and_then(|t| now.duration_since(t).ok()) else {
        return String::new();
    };
    let s = d.as_secs();
    let a = if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else if s < 172_800 {
        format!("{} h", s / 3600)
    } else {
        format!("{} days", s / 86400)
    };
    format!(", saved {a} ago")
}

/// The report, a headline and indented lines.
pub fn report(i: &Inputs) -> String {
    let mut s = String::new();
    let opt = i.cmdline.as_deref().and_then(cmdline::find);
    let Some(k) = &i.kernel else {
        if opt.as_ref().and_then(|o| o.mode) == Some(cmdline::Mode::Off) {
            let _ = writeln!(
                s,
                "bootcache: off (bootcache=off on the kernel command line)"
            );
        } else {
            let _ = writeln!(
                s,
                "bootcache: not running: bootcache is not in this kernel or was turned off \
                 with bootcache=off"
            );
        }
        boot_line(&mut s, opt.as_ref(), None);
        saved_lines(&mut s, i);
        return s;
    };
    let state = k.state.as_deref().unwrap_or("?");
    let reason = k.reason.as_deref().unwrap_or("none");
    let head = match (state, k.recording.as_deref(), reason) {
        ("active", Some("1"), _) => "caching and recording".to_string(),
        ("active", _, _) => "caching; recording has stopped".to_string(),
        ("idle", _, "none") => "idle: no cache session has run since boot".to_string(),
        ("idle", _, r) => format!("cache ended ({})", why(r)),
        (st, _, _) => format!("state {st}"),
    };
    let _ = writeln!(s, "bootcache: {head}");
    boot_line(&mut s, opt.as_ref(), Some(k));
    if k.session_ran() {
        session_lines(&mut s, k);
    }
    saved_lines(&mut s, i);
    s
}

fn boot_line(s: &mut String, opt: Option<&BootOption>, k: Option<&Kernel>) {
    let embedded = k.and_then(|k| k.embedded);
    let mut line = match (opt, embedded) {
        (Some(o), _) => format!("bootcache={} ({o}", o.raw),
        (None, Some(0)) => "no bootcache= option (no embedded playlist: waits for userspace".into(),
        (None, Some(_)) => "no bootcache= option (auto: starts with the embedded playlist".into(),
        (None, None) if k.is_some() => {
            "no bootcache= option (auto if a playlist is embedded, else waits for userspace".into()
        }
        (None, None) => "no bootcache= option (auto if a playlist is embedded".into(),
    };
    match embedded {
        Some(0) if opt.is_some() => line.push_str("; no embedded playlist"),
        Some(n) if n > 0 => {
            let _ = write!(line, "; embedded playlist, {}", format_bytes(n));
        }
        _ => {}
    }
    line.push(')');
    if let Some(b) = k.and_then(|k| k.boot.as_deref()) {
        if opt.and_then(|o| o.mode).map(|m| m.name()) != Some(b) {
            let _ = write!(line, ", kernel mode: {b}");
        }
    }
    let _ = writeln!(s, "  boot: {line}");
}

fn session_lines(s: &mut String, k: &Kernel) {
    let page = Page::new(Vec::new(), k.counters.clone());
    let get = |n: &str| {
        k.counters
            .iter()
            .find(|(c, _)| c == n)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
    };
    let ratio = |key: &str| {
        page.ratios
            .iter()
            .find(|r| r.key == key)
            .and_then(|r| r.value)
    };
    let pct = |v: Option<f64>| {
        v.map(|v| format!(" ({:.1}%)", v * 100.0))
            .unwrap_or_default()
    };
    if let Some(asked) = get("playlist_bytes") {
        let missing = get("missing_volume_bytes").unwrap_or(0);
        if asked == 0 && missing == 0 {
            let _ = writeln!(s, "  playlist: none (recording only)");
        } else {
            let mut line = format!("{} asked", format_bytes(asked));
            if let Some(r) = get("readahead_bytes") {
                let _ = write!(line, ", {} read ahead", format_bytes(r));
            }
            if let Some(h) = get("hit_bytes") {
                let _ = write!(
                    line,
                    ", {} used{}",
                    format_bytes(h),
                    pct(ratio("served_of_readahead"))
                );
            }
            if missing > 0 {
                let _ = write!(line, ", {} on missing volumes", format_bytes(missing));
            }
            if let Some(c) = get("capped_bytes").filter(|&c| c > 0) {
                let _ = write!(line, ", {} left out by the memory cap", format_bytes(c));
            }
            let _ = writeln!(s, "  playlist: {line}");
        }
    }
    if let (Some(h), Some(m)) = (get("hits"), get("misses")) {
        let mut line = format!("{} hits, {} misses", format_count(h), format_count(m));
        if let Some(r) = ratio("hit_ratio_bios") {
            let _ = write!(line, " ({:.1}% hits)", r * 100.0);
        }
        if let Some(p) = get("parked") {
            let _ = write!(line, ", {} parked", format_count(p));
            if let Some(w) = get("parked_wait_ns") {
                let _ = write!(line, " ({} waiting)", seconds(w));
            }
        }
        let _ = writeln!(s, "  reads: {line}");
    }
    if let Some(w) = get("writes").filter(|&w| w > 0) {
        let inv = get("invalidated_bytes").unwrap_or(0);
        let _ = writeln!(
            s,
            "  writes: {} ({} of cache invalidated)",
            format_count(w),
            format_bytes(inv)
        );
    }
    let events = get("history_events").map(format_count);
    let dropped = get("history_dropped").filter(|&d| d > 0);
    let mut line = match (k.recording.as_deref(), events) {
        (Some("1"), Some(e)) => format!("on, {e} events so far"),
        (Some("1"), None) => "on".into(),
        (_, Some(e)) => format!("stopped, {e} events recorded"),
        (_, None) => "stopped".into(),
    };
    if let Some(d) = dropped {
        let _ = write!(line, ", {} dropped (log full)", format_count(d));
    }
    let _ = writeln!(s, "  recording: {line}");
}

fn saved_lines(s: &mut String, i: &Inputs) {
    let dir = &i.save_dir;
    let path = |n: &str| dir.join(n);
    let describe = |p: &Path, history: bool| -> Option<String> {
        let (sv, mtime) = saved(p, history);
        let when = age(i.now, mtime);
        Some(match sv {
            Saved::Missing => return None,
            Saved::Invalid(e) => format!("{}: not valid: {e}", p.display()),
            Saved::Playlist { extents, bytes } => format!(
                "{}: {} extents, {}{when}",
                p.display(),
                format_count(u64::from(extents)),
                format_bytes(bytes)
            ),
            Saved::History {
                entries,
                duration_ns,
                truncated,
            } => format!(
                "{}: {} entries over {}{}{when}",
                p.display(),
                format_count(u64::from(entries)),
                seconds(duration_ns),
                if truncated { ", truncated" } else { "" }
            ),
        })
    };
    match describe(&path(HISTORY), true) {
        Some(d) => {
            let _ = writeln!(s, "  history: {d}");
        }
        None => {
            let _ = writeln!(s, "  history: none saved in {}", dir.display());
        }
    }
    match describe(&path(PLAYLIST), false) {
        Some(d) => {
            let _ = writeln!(s, "  next playlist: {d}");
        }
        None => {
            let _ = writeln!(
                s,
                "  next playlist: none saved in {} (the next boot records only, unless the \
                 stop timer saves one)",
                dir.display()
            );
        }
    }
    if let Some(d) = describe(&path(PLAYLIST_USED), false) {
        let _ = writeln!(s, "  consumed: {d}");
    }
    if let Some(d) = describe(&path(PLAYLIST_INITRAMFS), false) {
        let _ = writeln!(s, "  in the initramfs: {d}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(state: &str, recording: &str, reason: &str) -> Kernel {
        Kernel {
            state: Some(state.into()),
            recording: Some(recording.into()),
            reason: Some(reason.into()),
            boot: None,
            embedded: None,
            counters: [
                ("playlist_bytes", "104857600"),
                ("readahead_bytes", "104857600"),
                ("hit_bytes", "94371840"),
                ("hits", "900"),
                ("misses", "100"),
                ("parked", "3"),
                ("parked_wait_ns", "1500000000"),
                ("history_events", "1234"),
                ("history_dropped", "0"),
                ("writes", "0"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        }
    }

    fn inputs(cmdline: &str, k: Option<Kernel>) -> Inputs {
        Inputs {
            cmdline: Some(cmdline.into()),
            kernel: k,
            save_dir: "/nonexistent-bootcache-dir".into(),
            now: SystemTime::now(),
        }
    }

    #[test]
    fn headlines() {
        let r = report(&inputs("quiet", None));
        assert!(r.starts_with("bootcache: not running: bootcache is not in this kernel"));
        let r = report(&inputs("bootcache=off", None));
        assert!(r.starts_with("bootcache: off (bootcache=off"), "{r}");
        let r = report(&inputs("", Some(kernel("idle", "0", "misses"))));
        assert!(
            r.starts_with("bootcache: cache ended (hit rate too low"),
            "{r}"
        );
        assert!(
            r.contains(
                "  playlist: 100.0 MiB asked, 100.0 MiB read ahead, 90.0 MiB used (90.0%)\n"
            ),
            "{r}"
        );
        assert!(
            r.contains("  reads: 900 hits, 100 misses (90.0% hits), 3 parked (1.5 s waiting)\n"),
            "{r}"
        );
        assert!(
            r.contains("  recording: stopped, 1,234 events recorded\n"),
            "{r}"
        );
        assert!(!r.contains("writes:"), "{r}");
        let r = report(&inputs("", Some(kernel("active", "1", "none"))));
        assert!(r.starts_with("bootcache: caching and recording\n"), "{r}");
        assert!(r.contains("recording: on, 1,234 events so far"), "{r}");
        let r = report(&inputs("", Some(kernel("idle", "0", "none"))));
        assert!(r.starts_with("bootcache: idle: no cache session"), "{r}");
        assert!(!r.contains("reads:"), "{r}");
    }

    #[test]
    fn boot_lines() {
        let mut k = kernel("active", "1", "none");
        k.embedded = Some(3 << 20);
        k.boot = Some("auto".into());
        let r = report(&inputs("bootcache=auto,record", Some(k)));
        assert!(
            r.contains(
                "  boot: bootcache=auto,record (start with the embedded playlist, and record; \
                 embedded playlist, 3.0 MiB)\n"
            ),
            "{r}"
        );
        let mut k = kernel("active", "1", "none");
        k.embedded = Some(0);
        let r = report(&inputs("ro", Some(k)));
        assert!(
            r.contains(
                "  boot: no bootcache= option (no embedded playlist: waits for userspace)\n"
            ),
            "{r}"
        );
    }
}
