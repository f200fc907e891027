// SPDX-License-Identifier: GPL-2.0

//! Driving the kernel through `/sys/kernel/bootcache/`.
//!
//! Every file is opened, written or read once, as `echo` and `cat` would. The kernel
//! answers a refused write or read with an errno, and most refusals are explained by a
//! line in the kernel log; [`Error::Kernel`] carries the errno and a hint.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Where the driver's files are.
pub const DEFAULT_DIR: &str = "/sys/kernel/bootcache";

/// An error talking to the kernel.
#[derive(Debug)]
pub enum Error {
    /// The directory is missing or unusable.
    NoDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        err: io::Error,
    },
    /// A file could not be opened or read for a reason of our own (a missing file, a
    /// permission).
    File {
        /// The file.
        path: PathBuf,
        /// What was tried: `open`, `read`.
        what: &'static str,
        /// Why.
        err: io::Error,
    },
    /// The kernel refused a write or a read.
    Kernel {
        /// The operation, as the user named it (`start`, `stop: history`, ...).
        op: String,
        /// The errno.
        err: io::Error,
        /// What the errno most likely means here.
        hint: &'static str,
    },
}

/// The text of an errno without Rust's ` (os error N)` suffix, e.g. `Invalid argument`.
pub fn errno_text(err: &io::Error) -> String {
    let s = err.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoDir { dir, err } if err.kind() == io::ErrorKind::NotFound => write!(
                f,
                "{}: not found (is this kernel built with CONFIG_BOOTCACHE?)",
                dir.display()
            ),
            Error::NoDir { dir, err } => write!(f, "{}: {}", dir.display(), errno_text(err)),
            Error::File { path, what, err } => {
                write!(f, "{}: cannot {what}: {}", path.display(), errno_text(err))?;
                if err.kind() == io::ErrorKind::PermissionDenied {
                    write!(f, " (run as root)")?;
                }
                Ok(())
            }
            Error::Kernel { op, err, hint } => write!(f, "{op}: {} ({hint})", errno_text(err)),
        }
    }
}

impl std::error::Error for Error {}

/// The errno's meaning for one operation, or `see dmesg`.
fn hint(op: &str, err: &io::Error) -> &'static str {
    let errno = err.raw_os_error().unwrap_or(0);
    match (op, errno) {
        ("tag", libc::EINVAL) => "not recording",
        ("jettison", libc::EINVAL) => "not caching",
        ("start", libc::EBUSY) => "already caching; see dmesg",
        ("start", libc::ENODEV) => "none of the playlist's volumes was found; see dmesg",
        ("record", libc::ENODEV) => "the root file system's partition was not found; see dmesg",
        ("record", libc::EBUSY) => "already caching; see dmesg",
        (_, libc::EACCES | libc::EPERM) => "run as root",
        (o, libc::EBUSY) if o.ends_with("history") => "still recording; run stop first",
        (o, libc::ENODATA) if o.ends_with("history") => {
            "no history: recording has not stopped since the last start, or never started"
        }
        _ => "see dmesg",
    }
}

/// The driver's directory.
#[derive(Debug, Clone)]
pub struct Sysfs {
    dir: PathBuf,
}

impl Sysfs {
    /// Checks that `dir` is a directory.
    pub fn open(dir: &Path) -> Result<Sysfs, Error> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(Sysfs {
                dir: dir.to_path_buf(),
            }),
            Ok(_) => Err(Error::NoDir {
                dir: dir.to_path_buf(),
                err: io::Error::from_raw_os_error(20), // ENOTDIR
            }),
            Err(err) => Err(Error::NoDir {
                dir: dir.to_path_buf(),
                err,
            }),
        }
    }

    /// The path of one of the driver's files.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens an existing file for writing (never creates one).
    fn open_write(&self, name: &str) -> Result<File, Error> {
        let path = self.path(name);
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|err| Error::File {
                path,
                what: "open",
                err,
            })
    }

    /// Writes a command word (`start`, `stop`, `tag`, `jettison`) to `control`.
    pub fn control(&self, word: &str) -> Result<(), Error> {
        let mut f = self.open_write("control")?;
        f.write_all(word.as_bytes()).map_err(|err| Error::Kernel {
            op: word.to_string(),
            hint: hint(word, &err),
            err,
        })
    }

    /// Writes a whole playlist to `playlist` through one open file, handing the whole
    /// buffer to write(2); sysfs takes a binary file a page per call, and the loop goes
    /// on from where the kernel stopped.
    pub fn load_playlist(&self, op: &str, bytes: &[u8]) -> Result<(), Error> {
        let mut f = self.open_write("playlist")?;
        f.write_all(bytes).map_err(|err| Error::Kernel {
            op: format!("{op}: playlist"),
            hint: hint("playlist", &err),
            err,
        })
    }

    /// Reads the binary `history` whole.
    pub fn history(&self, op: &str) -> Result<Vec<u8>, Error> {
        let path = self.path("history");
        let mut f = File::open(&path).map_err(|err| Error::File {
            path: path.clone(),
            what: "open",
            err,
        })?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|err| {
            let op = format!("{op}: history");
            Error::Kernel {
                hint: hint(&op, &err),
                op,
                err,
            }
        })?;
        Ok(bytes)
    }

    /// Reads a text file, without its trailing newline; `None` if it does not exist.
    pub fn read_text(&self, name: &str) -> Result<Option<String>, Error> {
        read_text(&self.path(name))
    }

    /// Reads every regular file of a subdirectory (`stats`) as text, sorted by name.
    pub fn read_group(&self, name: &str) -> Result<Vec<(String, String)>, Error> {
        let dir = self.path(name);
        let entries = std::fs::read_dir(&dir).map_err(|err| Error::File {
            path: dir.clone(),
            what: "list",
            err,
        })?;
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(|err| Error::File {
                path: dir.clone(),
                what: "list",
                err,
            })?;
            let path = e.path();
            if !path.is_file() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = read_text(&path)? {
                out.push((name, v));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn read_text(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).trim_end().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::File {
            path: path.to_path_buf(),
            what: "read",
            err,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(op: &str, errno: i32) -> String {
        let err = io::Error::from_raw_os_error(errno);
        Error::Kernel {
            op: op.into(),
            hint: hint(op, &err),
            err,
        }
        .to_string()
    }

    #[test]
    fn messages() {
        assert_eq!(kernel("start", 22), "start: Invalid argument (see dmesg)");
        assert_eq!(
            kernel("start", 16),
            "start: Device or resource busy (already caching; see dmesg)"
        );
        assert_eq!(kernel("tag", 22), "tag: Invalid argument (not recording)");
        assert_eq!(
            kernel("jettison", 22),
            "jettison: Invalid argument (not caching)"
        );
        assert!(kernel("stop: history", 16).ends_with("(still recording; run stop first)"));
        assert!(
            kernel("stop: history", 61).starts_with("stop: history: No data available (no history")
        );
        assert_eq!(kernel("stop", 13), "stop: Permission denied (run as root)");
        let e = Error::NoDir {
            dir: "/nowhere".into(),
            err: io::Error::from(io::ErrorKind::NotFound),
        };
        assert!(e.to_string().starts_with("/nowhere: not found"));
    }
}
