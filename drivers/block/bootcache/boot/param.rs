// SPDX-License-Identifier: GPL-2.0

//! The `bootcache=` kernel parameter: `MODE[,OPTION...]`.
//!
//! - `off`: bootcache does nothing at all (no sysfs directory, no filter);
//! - `record`: record a history from the first bio on the root file system's
//!   partition, with no playlist;
//! - `auto`: cache with the playlist built into the kernel image
//!   (`CONFIG_BOOTCACHE_PLAYLIST`), without a history unless the `record`
//!   option asks for one.
//!
//! Options: `record` (with `auto`: record a history too), `wait=MS` (how
//! long a read may wait for read-ahead) and, with `record`, `volume=VOLUME`
//! (record that volume instead of the root file system's partition: a live
//! medium, say `volume=iso9660:2026-11-30-04-00-00-00:1a2b3c4d`; VOLUME is
//! checked by the caller). Without the parameter bootcache
//! behaves as with `auto` if a playlist is built in, and otherwise waits for
//! userspace.
//!
//! This module is pure logic, compiled by the host's tests as well. Nothing
//! here is fatal: what is not understood is reported and ignored.

/// What the command line asks bootcache to do at boot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// No `bootcache=` (or none that was understood): `auto` if a playlist
    /// is built in, otherwise wait for userspace.
    Default,
    /// Do nothing at all.
    Off,
    /// Record a history of the boot, without a playlist.
    Record,
    /// Cache with the built-in playlist.
    Auto,
}

impl Mode {
    /// Returns the name `/sys/kernel/bootcache/boot` shows.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::Off => "off",
            Mode::Record => "record",
            Mode::Auto => "auto",
        }
    }
}

/// The parsed parameter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BootParams<'a> {
    /// The mode.
    pub mode: Mode,
    /// `auto,record`: record a history while caching.
    pub record: bool,
    /// `wait=MS`: the wait limit, in milliseconds.
    pub wait_ms: Option<u32>,
    /// `volume=VOLUME` with `record`: the volume to record, as written.
    pub volume: Option<&'a [u8]>,
}

/// The largest `wait=` accepted, as for `wait_limit_ms` (10 minutes).
pub const MAX_WAIT_MS: u32 = 600_000;

/// Something in the parameter that was ignored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem<'a> {
    /// The first word is not a mode.
    UnknownMode(&'a [u8]),
    /// An option that is not known.
    UnknownOption(&'a [u8]),
    /// `wait=` with a value that is not a number of milliseconds in range.
    BadWait(&'a [u8]),
    /// `record` given with `off` or `record`, or `volume=` with a mode other
    /// than `record`, where it means nothing.
    Useless(&'a [u8]),
}

/// Parses the value of `bootcache=`; `report` hears of every part ignored.
pub fn parse<'a>(value: &'a [u8], mut report: impl FnMut(Problem<'a>)) -> BootParams<'a> {
    let mut p = BootParams {
        mode: Mode::Default,
        record: false,
        wait_ms: None,
        volume: None,
    };
    let mut words = value.split(|&c| c == b',');
    match words.next().unwrap_or(&[]) {
        b"off" => p.mode = Mode::Off,
        b"record" => p.mode = Mode::Record,
        b"auto" => p.mode = Mode::Auto,
        other => report(Problem::UnknownMode(other)),
    }
    for w in words {
        if w == b"record" {
            if p.mode == Mode::Auto || p.mode == Mode::Default {
                p.record = true;
            } else {
                report(Problem::Useless(w));
            }
        } else if let Some(v) = w.strip_prefix(b"volume=") {
            if p.mode == Mode::Record && !v.is_empty() {
                p.volume = Some(v);
            } else {
                report(Problem::Useless(w));
            }
        } else if let Some(v) = w.strip_prefix(b"wait=") {
            match parse_ms(v) {
                Some(ms) => p.wait_ms = Some(ms),
                None => report(Problem::BadWait(v)),
            }
        } else {
            report(Problem::UnknownOption(w));
        }
    }
    p
}

fn parse_ms(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 7 {
        return None;
    }
    let mut n: u32 = 0;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    (n <= MAX_WAIT_MS).then_some(n)
}

/// Returns the partition `root=` names by PARTUUID (`root=PARTUUID=ID`,
/// maybe followed by `/PARTNROFF=N`, which is not followed here), if it
/// does.
pub fn root_partuuid(root: &[u8]) -> Option<&[u8]> {
    let id = root.strip_prefix(b"PARTUUID=")?;
    let end = id.iter().position(|&c| c == b'/').unwrap_or(id.len());
    if end != id.len() {
        return None;
    }
    Some(id)
}

/// Returns the device name `root=/dev/NAME` names, if it does.
pub fn root_dev_name(root: &[u8]) -> Option<&[u8]> {
    let name = root.strip_prefix(b"/dev/")?;
    (!name.is_empty() && !name.contains(&b'/')).then_some(name)
}
