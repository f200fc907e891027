// SPDX-License-Identifier: GPL-2.0

//! `bootcache boot-start`: start this boot's cache from the playlist the last boot saved,
//! consuming it first so that a boot it breaks does not use it again.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use bootcache::fileio::read_input;
use bootcache::format::Playlist;
use bootcache::status::{PLAYLIST, PLAYLIST_USED};
use bootcache::sysfs::{self as ksysfs, Sysfs};
use libc::{E2BIG, EBUSY, ENODEV, EROFS};

use super::input::playlist_line;

/// The errno of a refusal by the kernel.
fn kernel_errno(e: &ksysfs::Error) -> Option<i32> {
    match e {
        ksysfs::Error::Kernel { err, .. } => err.raw_os_error(),
        _ => None,
    }
}

/// Renames the saved playlist to `playlist.used` (so a boot that fails because of it does
/// not use it again), then reads and checks it. `None` if there is none or it is bad.
fn consume_playlist(dir: &Path) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let saved = dir.join(PLAYLIST);
    let used = dir.join(PLAYLIST_USED);
    // Looked at first: on a read-only root, rename fails with EROFS even
    // when there is nothing to rename.
    if !saved.exists() {
        return Ok(None);
    }
    match std::fs::rename(&saved, &used) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(EROFS) => {
            // It cannot be consumed, so it is not used: a boot that fails
            // because of it would fail again.
            eprintln!(
                "bootcache: warning: {}: not used: the file system is read-only, so it \
                 cannot be consumed first",
                saved.display()
            );
            return Ok(None);
        }
        Err(e) => {
            return Err(anyhow!(
                "{}: cannot rename to {}: {}",
                saved.display(),
                PLAYLIST_USED,
                ksysfs::errno_text(&e)
            ))
        }
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: cannot sync directory", dir.display()))?;
    let bytes = read_input(&used)?;
    if let Err(e) = Playlist::parse(&bytes) {
        eprintln!("bootcache: warning: {}: not used: {e}", used.display());
        return Ok(None);
    }
    Ok(Some((used, bytes)))
}

/// Starts recording without a playlist: the kernel records the root file system's
/// partition (`record` in `control`).
fn start_recording(sysfs: &Sysfs) -> Result<()> {
    sysfs.control("record")?;
    println!("bootcache: recording the root device (no saved playlist)");
    Ok(())
}

/// Starts this boot's cache from the saved playlist; see `bootcache boot-start --help`.
pub(super) fn run(dir: &Path, sysfs_dir: &Path) -> Result<()> {
    let sysfs = Sysfs::open(sysfs_dir)?;
    let state = sysfs.read_text("state")?.unwrap_or_default();
    let recording = sysfs.read_text("recording")?.as_deref() == Some("1");
    let reason = sysfs.read_text("reason")?.unwrap_or_else(|| "none".into());
    if state != "active" && reason != "none" {
        // A new start would drop that session's history before `stop` saves it.
        println!(
            "bootcache: a session already ran this boot and ended ({reason}); not starting another"
        );
        return Ok(());
    }
    let playlist = consume_playlist(dir)?;
    let describe = |path: &Path, bytes: &[u8]| match Playlist::parse(bytes) {
        Ok(p) => format!("{} ({})", path.display(), playlist_line(&p)),
        Err(_) => path.display().to_string(),
    };
    match (state == "active", playlist) {
        (true, Some((path, bytes))) => match sysfs.load_playlist("boot-start", &bytes) {
            Ok(()) => println!(
                "bootcache: added {} to the running session",
                describe(&path, &bytes)
            ),
            Err(e) if kernel_errno(&e) == Some(EBUSY) => eprintln!(
                "bootcache: warning: {}: not used: this kernel cannot add a playlist while caching",
                path.display()
            ),
            Err(e) if kernel_errno(&e) == Some(E2BIG) => eprintln!(
                "bootcache: warning: {}: not used: with the running session's it would exceed \
                 the format's limits",
                path.display()
            ),
            Err(e) => return Err(e.into()),
        },
        (true, None) => println!(
            "bootcache: already {} (started by the kernel or the initramfs); no saved playlist to add",
            if recording { "caching and recording" } else { "caching" }
        ),
        (false, Some((path, bytes))) => {
            sysfs.load_playlist("boot-start", &bytes)?;
            match sysfs.control("start") {
                Ok(()) => println!("bootcache: started with {}", describe(&path, &bytes)),
                Err(e) if kernel_errno(&e) == Some(ENODEV) => {
                    eprintln!(
                        "bootcache: warning: {}: none of its volumes was found; recording only",
                        path.display()
                    );
                    start_recording(&sysfs)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        (false, None) => start_recording(&sysfs)?,
    }
    Ok(())
}
