// SPDX-License-Identifier: GPL-2.0

//! `bootcache embed`: check a playlist and write the copy the kernel build embeds
//! (`CONFIG_BOOTCACHE_PLAYLIST`), or find and check the playlist a vmlinux carries.

use std::fs::File;
use std::io;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

use bootcache::elf::{self, Elf};
use bootcache::fileio::{read_input, write_atomic};
use bootcache::format::{self, Format, Playlist};
use bootcache::size::{format_bytes, format_count};

use super::input::{parse_playlist, playlist_line};

/// Files larger than this are worth a warning when built into a kernel image.
const EMBED_WARN_BYTES: usize = 16 << 20;
/// The ELF section the kernel build puts the embedded playlist in.
const EMBED_SECTION: &str = ".init.bootcache_playlist";
/// The symbols around the embedded playlist.
const EMBED_SYMBOLS: [&str; 2] = ["__bootcache_playlist_start", "__bootcache_playlist_end"];

/// Checks a playlist and writes its canonical copy for `CONFIG_BOOTCACHE_PLAYLIST`.
pub(super) fn copy(input: &Path, output: &Path) -> Result<()> {
    let bytes = read_input(input)?;
    if Format::detect(&bytes) == Some(Format::History) {
        return Err(anyhow!(
            "{}: a history, not a playlist; make one first with `bootcache convert {} -o PLAYLIST`",
            input.display(),
            input.display()
        ));
    }
    let p = parse_playlist(input, &bytes)?;
    // Written again from its records: the copy is exactly what the format code makes.
    let volumes: Vec<format::Volume> = p.volumes().collect();
    let extents: Vec<format::Extent> = p.extents().collect();
    let mut copy = vec![0u8; bytes.len()];
    let len = format::write_playlist(&mut copy, &volumes, &extents)
        .map_err(|e| anyhow!("{}: cannot be written again: {e}", input.display()))?;
    copy.truncate(len);
    if copy != bytes {
        return Err(anyhow!(
            "{}: valid, but not in canonical form (internal error)",
            input.display()
        ));
    }
    if copy.len() > EMBED_WARN_BYTES {
        eprintln!(
            "bootcache: warning: {}: {} is big for a kernel image (it is loaded with the kernel)",
            input.display(),
            format_bytes(copy.len() as u64)
        );
    }
    if p.extent_count() == 0 {
        eprintln!(
            "bootcache: warning: {}: the playlist is empty and reads nothing",
            input.display()
        );
    }
    write_atomic(output, &copy)?;
    eprintln!(
        "{}: {} ({} bytes to embed)",
        output.display(),
        playlist_line(&p),
        format_count(copy.len() as u64)
    );
    Ok(())
}

/// Finds, checks and summarises the playlist embedded in a vmlinux.
pub(super) fn check(vmlinux: &Path) -> Result<()> {
    let err = |e: elf::Error| anyhow!("{}: {e}", vmlinux.display());
    let file =
        File::open(vmlinux).with_context(|| format!("{}: cannot open", vmlinux.display()))?;
    let elf = Elf::parse(io::BufReader::new(file)).map_err(err)?;
    let (bytes, place) = match elf.section_data(EMBED_SECTION).map_err(err)? {
        Some(b) => (b, format!("section {EMBED_SECTION}")),
        None => match elf.symbols(&EMBED_SYMBOLS).map_err(err)?[..] {
            [Some(start), Some(end)] => (
                elf.bytes_between(start, end).map_err(err)?,
                format!("{}..{}", EMBED_SYMBOLS[0], EMBED_SYMBOLS[1]),
            ),
            _ => (Vec::new(), String::new()),
        },
    };
    if bytes.is_empty() {
        println!("{}: no embedded playlist", vmlinux.display());
        return Ok(());
    }
    let p = Playlist::parse(&bytes).map_err(|e| {
        anyhow!(
            "{}: the embedded playlist ({place}) is not valid: {e}",
            vmlinux.display()
        )
    })?;
    println!(
        "{}: embedded playlist, {} bytes: {}",
        vmlinux.display(),
        format_count(bytes.len() as u64),
        playlist_line(&p)
    );
    Ok(())
}
