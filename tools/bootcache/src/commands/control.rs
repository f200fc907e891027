// SPDX-License-Identifier: GPL-2.0

//! The commands that drive a running session through the driver's `control` file:
//! `bootcache start`, `stop`, `tag` and `jettison`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use bootcache::fileio::{read_input, write_atomic};
use bootcache::format::History;
use bootcache::status::{HISTORY, PLAYLIST};
use bootcache::sysfs::Sysfs;

use super::convert::{convert_history, options};
use super::input::{history_line, parse_playlist};
use crate::cli::{BuildArgs, HistoryArgs};

/// Loads a playlist and starts the cache; a playlist that does not validate is refused
/// before anything is written.
pub(super) fn start(playlist: &Path, dir: &Path) -> Result<()> {
    let bytes = read_input(playlist)?;
    parse_playlist(playlist, &bytes)?;
    let sysfs = Sysfs::open(dir)?;
    sysfs.load_playlist("start", &bytes)?;
    sysfs.control("start")?;
    Ok(())
}

/// Where `stop` saves the history and the next playlist (either may be left out).
pub(super) struct SaveTo {
    /// The history, as the kernel gives it.
    pub history: Option<PathBuf>,
    /// The playlist made from it.
    pub playlist: Option<PathBuf>,
}

impl SaveTo {
    /// `--save-dir DIR` is DIR/history and DIR/playlist, as the boot cycle keeps them;
    /// without it, `--history` and `--playlist`.
    pub(super) fn new(
        history: Option<PathBuf>,
        playlist: Option<PathBuf>,
        save_dir: Option<PathBuf>,
    ) -> SaveTo {
        match save_dir {
            Some(d) => SaveTo {
                history: Some(d.join(HISTORY)),
                playlist: Some(d.join(PLAYLIST)),
            },
            None => SaveTo { history, playlist },
        }
    }
}

/// Stops recording, then saves the history and makes the next playlist as asked.
pub(super) fn stop(
    save: SaveTo,
    build: BuildArgs,
    history_args: HistoryArgs,
    dir: &Path,
) -> Result<()> {
    let (history, playlist) = (save.history.as_deref(), save.playlist.as_deref());
    // Bad options are found before recording stops.
    let opts = options(build, Some(history_args))?;
    let sysfs = Sysfs::open(dir)?;
    sysfs.control("stop")?;
    if history.is_none() && playlist.is_none() {
        return Ok(());
    }
    let bytes = sysfs.history("stop")?;
    if let Some(out) = history {
        write_atomic(out, &bytes)?;
        match History::parse(&bytes) {
            Ok(h) => eprintln!("{}: {}", out.display(), history_line(&h)),
            // Saved as the kernel gave it, for a bug report; say what is wrong with it.
            Err(e) => {
                return Err(anyhow!(
                    "{}: saved, but not a valid history: {e}",
                    out.display()
                ))
            }
        }
    }
    if let Some(out) = playlist {
        convert_history(&sysfs.path("history"), &bytes, out, &opts)?;
    }
    Ok(())
}

/// Marks a batch boundary in the history.
pub(super) fn tag(dir: &Path) -> Result<()> {
    Ok(Sysfs::open(dir)?.control("tag")?)
}

/// Drops the cache and takes bootcache out of the I/O path.
pub(super) fn jettison(dir: &Path) -> Result<()> {
    Ok(Sysfs::open(dir)?.control("jettison")?)
}
