// SPDX-License-Identifier: GPL-2.0

//! The `bootcache=` option of the kernel command line, as `status` explains it.
//!
//! Syntax: `bootcache=MODE[,OPTION...]`. MODE is `off` (the driver does nothing),
//! `record` (record the history from the first bio on the root disk, no playlist) or
//! `auto` (start with the playlist embedded in the kernel image). OPTIONs: `record`
//! (with `auto`: also record) and `wait=MS` (the wait limit in ms). Without the option
//! the kernel uses `auto` if a playlist is embedded, and otherwise waits for userspace.

use std::fmt;

/// The MODE of `bootcache=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `off`.
    Off,
    /// `record`.
    Record,
    /// `auto`.
    Auto,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        match s {
            "off" => Some(Mode::Off),
            "record" => Some(Mode::Record),
            "auto" => Some(Mode::Auto),
            _ => None,
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Record => "record",
            Mode::Auto => "auto",
        }
    }
}

/// The `bootcache=` option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOption {
    /// The option as written, after `bootcache=`.
    pub raw: String,
    /// The mode, `None` if it is not one this tool knows.
    pub mode: Option<Mode>,
    /// `record` was given as an option (with `auto`).
    pub record: bool,
    /// `wait=MS`.
    pub wait_ms: Option<u64>,
    /// Options this tool does not understand.
    pub unknown: Vec<String>,
}

impl BootOption {
    /// Parses the value of `bootcache=`.
    pub fn parse(value: &str) -> BootOption {
        let mut parts = value.split(',');
        let mode_word = parts.next().unwrap_or("");
        let mut o = BootOption {
            raw: value.to_string(),
            mode: Mode::parse(mode_word),
            record: false,
            wait_ms: None,
            unknown: Vec::new(),
        };
        if o.mode.is_none() {
            o.unknown.push(mode_word.to_string());
        }
        for p in parts {
            match p.split_once('=') {
                None if p == "record" => o.record = true,
                Some(("wait", ms)) if ms.parse::<u64>().is_ok() => o.wait_ms = ms.parse().ok(),
                _ => o.unknown.push(p.to_string()),
            }
        }
        o
    }

    /// Whether the kernel records this boot from the first bio.
    pub fn records(&self) -> bool {
        self.mode == Some(Mode::Record) || (self.mode == Some(Mode::Auto) && self.record)
    }
}

/// The last `bootcache=` of a command line (the kernel takes the last), if any.
pub fn find(cmdline: &str) -> Option<BootOption> {
    words(cmdline)
        .filter_map(|w| w.strip_prefix("bootcache=").map(BootOption::parse))
        .last()
}

/// The words of a command line, honouring double quotes as the kernel does.
fn words(cmdline: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out.into_iter()
}

impl fmt::Display for BootOption {
    /// What the option asks the kernel to do, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            Some(Mode::Off) => write!(f, "off: the driver does nothing")?,
            Some(Mode::Record) => {
                write!(f, "record from the first bio on the root disk, no playlist")?
            }
            Some(Mode::Auto) if self.record => {
                write!(f, "start with the embedded playlist, and record")?
            }
            Some(Mode::Auto) => write!(f, "start with the embedded playlist")?,
            None => write!(f, "not understood")?,
        }
        if let Some(ms) = self.wait_ms {
            write!(f, "; wait limit {ms} ms")?;
        }
        if !self.unknown.is_empty() {
            write!(f, "; unknown: {}", self.unknown.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_and_options() {
        let o = BootOption::parse("auto,record,wait=500");
        assert_eq!(o.mode, Some(Mode::Auto));
        assert!(o.record && o.records());
        assert_eq!(o.wait_ms, Some(500));
        assert!(o.unknown.is_empty());
        assert_eq!(
            o.to_string(),
            "start with the embedded playlist, and record; wait limit 500 ms"
        );
        let o = BootOption::parse("record");
        assert!(o.records() && !o.record);
        let o = BootOption::parse("auto");
        assert!(!o.records());
        let o = BootOption::parse("sometimes,wait=x,fast");
        assert_eq!(o.mode, None);
        assert_eq!(o.unknown, ["sometimes", "wait=x", "fast"]);
        assert_eq!(
            o.to_string(),
            "not understood; unknown: sometimes,wait=x,fast"
        );
    }

    #[test]
    fn finds_the_last_option() {
        assert_eq!(find("root=/dev/sda1 quiet"), None);
        let o = find("bootcache=off root=/dev/sda1 bootcache=record\n").unwrap();
        assert_eq!(o.mode, Some(Mode::Record));
        let o = find("a=\"x y\" bootcache=\"auto,wait=5\" nobootcache=off").unwrap();
        assert_eq!(o.raw, "auto,wait=5");
        assert_eq!(o.wait_ms, Some(5));
        assert_eq!(find("xbootcache=off"), None);
    }
}
