// SPDX-License-Identifier: GPL-2.0

//! `bootcache medium-id` (the volume id of an ISO 9660 image or disc) and
//! `bootcache check-medium` (whether a rebuilt image still is the medium a playlist
//! names, and still holds the playlist's blocks in place).

use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::json;

use bootcache::fileio::read_input;
use bootcache::format::{Playlist, Volume, VolumeId};
use bootcache::medium::{beyond, compare, volume_extents, Identity, Medium};
use bootcache::size::{format_bytes, format_count};

use super::input::parse_playlist;

/// Prints the id of the medium at `path`, as text or JSON.
pub(super) fn id(path: &Path, as_json: bool) -> Result<()> {
    let m = Medium::open(path)?;
    let mut out = io::stdout().lock();
    if as_json {
        let v = json!({
            "path": m.path.display().to_string(),
            "id": m.id.to_string(),
            "label": m.label,
            "size": m.size,
            "filesystem_size": m.fs_size,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", m.id)?;
    }
    Ok(())
}

/// What `check-medium` is asked to check.
pub(super) struct CheckArgs<'a> {
    /// The playlist.
    pub playlist: &'a Path,
    /// The image or device to check.
    pub medium: &'a Path,
    /// The image the playlist was recorded on, to compare with.
    pub recorded: Option<&'a Path>,
    /// Fail if less than this share of the playlist's bytes is unchanged, in percent.
    pub min_unchanged: Option<f64>,
}

/// Checks a medium against a playlist's ISO 9660 volume; prints what it finds and fails
/// if the medium is another, if extents end beyond it, or if too little is unchanged.
pub(super) fn check(args: &CheckArgs<'_>) -> Result<()> {
    let bytes = read_input(args.playlist)?;
    let playlist = parse_playlist(args.playlist, &bytes)?;
    let medium = Medium::open(args.medium)?;
    let (index, vol) = pick_volume(&playlist, medium.id).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: names no ISO 9660 volume (make one with make-playlist -e iso9660:..., or \
             record with bootcache=record,volume=iso9660:...)",
            args.playlist.display()
        )
    })?;
    let named = vol.id;
    let extents = volume_extents(&playlist, index);
    let mut out = io::stdout().lock();
    let mut problems: Vec<String> = Vec::new();

    writeln!(
        out,
        "medium: {}: {}, label \"{}\", {}",
        medium.path.display(),
        medium.id,
        medium.label,
        format_bytes(medium.size)
    )?;
    let b = beyond(&extents, medium.size);
    writeln!(
        out,
        "playlist: volume {index} {named}: {} extents, {}, the last ending at byte {}",
        format_count(extents.len() as u64),
        format_bytes(vol.bytes),
        b.last_end
    )?;

    let identity = Identity::of(named, medium.id);
    if identity == Identity::Same {
        writeln!(out, "identity: ok, {}", identity.describe())?;
    } else {
        writeln!(
            out,
            "identity: MISMATCH: the medium is {}: {}",
            medium.id,
            identity.describe()
        )?;
        problems.push(format!("is not {named} ({})", identity.describe()));
    }

    if b.extents == 0 {
        writeln!(
            out,
            "extents: all within the medium's {} bytes",
            medium.size
        )?;
    } else {
        let (noun, verb) = if b.extents == 1 {
            ("extent", "ends")
        } else {
            ("extents", "end")
        };
        writeln!(
            out,
            "extents: {} {noun} of {} {verb} beyond the medium's end at byte {} ({} past it)",
            format_count(b.extents),
            format_count(extents.len() as u64),
            medium.size,
            format_bytes(b.bytes)
        )?;
        problems.push(format!(
            "{} {noun} {verb} beyond its end",
            format_count(b.extents)
        ));
    }

    if let Some(old_path) = args.recorded {
        let old = Medium::open(old_path)?;
        if old.id != named {
            writeln!(
                out,
                "recorded: note: {} is {}, not the playlist's volume",
                old.path.display(),
                old.id
            )?;
        }
        let u = compare(&medium, &old, &extents, vol.block_size)?;
        writeln!(
            out,
            "unchanged: {} of {} ({:.1}%) unchanged since {}",
            format_bytes(u.same),
            format_bytes(u.total),
            u.percent(),
            old.path.display()
        )?;
        if let Some(min) = args.min_unchanged {
            if u.percent() < min {
                problems.push(format!(
                    "only {:.1}% of the playlist's bytes are unchanged (at least {min}% wanted)",
                    u.percent()
                ));
            }
        }
    }
    out.flush()?;
    if !problems.is_empty() {
        bail!("{}: {}", medium.path.display(), problems.join("; "));
    }
    Ok(())
}

/// Returns the playlist's ISO 9660 volume to check `found` against: the one that is
/// `found` if any, or else the first.
fn pick_volume(playlist: &Playlist<'_>, found: VolumeId) -> Option<(u32, Volume)> {
    let isos: Vec<(u32, Volume)> = playlist
        .volumes()
        .zip(0u32..)
        .filter(|(v, _)| matches!(v.id, VolumeId::Iso9660 { .. }))
        .map(|(v, i)| (i, v))
        .collect();
    isos.iter()
        .find(|(_, v)| v.id == found)
        .or(isos.first())
        .copied()
}
