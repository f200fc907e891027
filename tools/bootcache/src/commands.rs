// SPDX-License-Identifier: GPL-2.0

//! The subcommands' work.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use bootcache::convert::{self, Options, Report};
use bootcache::elf::{self, Elf};
use bootcache::fileio::{read_input, write_atomic};
use bootcache::format::{self, Format, History, Playlist};
use bootcache::size::{format_bytes, format_count};
use bootcache::stats::{self, Page};
use bootcache::status::{self, HISTORY, PLAYLIST, PLAYLIST_USED};
use bootcache::sysfs::{self as ksysfs, Sysfs};
use bootcache::{malformed, plot, summary, synth};

use crate::cli::{BuildArgs, Command, FormatArg, Opts};

/// Returns whether `err` is a closed stdout (as when piping into `head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs one command.
pub fn run(opts: Opts) -> Result<()> {
    match opts.command {
        Command::Validate { files, format } => {
            for f in files {
                validate(&f, format)?;
            }
            Ok(())
        }
        Command::GenMalformed { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            for (i, s) in malformed::samples().iter().enumerate() {
                let ext = match s.format {
                    Format::Playlist => "playlist",
                    Format::History => "history",
                };
                write_atomic(
                    &dir.join(format!("{:02}-{}.{ext}", i + 1, s.name)),
                    &s.bytes,
                )?;
            }
            Ok(())
        }
        Command::Print { file, json } => print(&file, json),
        Command::Convert {
            history,
            output,
            build,
        } => convert_cmd(&history, &output, build),
        Command::Merge {
            a,
            b,
            output,
            build,
        } => merge_cmd(&a, &b, &output, build),
        Command::Info { file, json, gaps } => info(&file, json, gaps),
        Command::Start { playlist, sysfs } => start(&playlist, &sysfs.sysfs),
        Command::Stop {
            history,
            playlist,
            save_dir,
            build,
            sysfs,
        } => {
            let (history, playlist) = match save_dir {
                Some(d) => (Some(d.join(HISTORY)), Some(d.join(PLAYLIST))),
                None => (history, playlist),
            };
            stop(history.as_deref(), playlist.as_deref(), build, &sysfs.sysfs)
        }
        Command::Status {
            sysfs,
            dir,
            cmdline,
        } => {
            let inputs = status::Inputs::read(&sysfs.sysfs, &cmdline, &dir.dir)?;
            print!("{}", status::report(&inputs));
            io::stdout().flush()?;
            Ok(())
        }
        Command::BootStart { dir, sysfs } => boot_start(&dir.dir, &sysfs.sysfs),
        Command::Embed {
            playlist,
            output,
            check,
        } => match (check, playlist, output) {
            (Some(vmlinux), _, _) => embed_check(&vmlinux),
            (None, Some(p), Some(o)) => embed(&p, &o),
            _ => Err(anyhow!("embed: give PLAYLIST -o OUT, or --check VMLINUX")),
        },
        Command::Plot {
            history,
            playlist,
            output,
            title,
        } => plot_cmd(&history, playlist.as_deref(), &output, title),
        Command::Tag { sysfs } => Ok(Sysfs::open(&sysfs.sysfs)?.control("tag")?),
        Command::Jettison { sysfs } => Ok(Sysfs::open(&sysfs.sysfs)?.control("jettison")?),
        Command::Stats { json, sysfs } => show_stats(&sysfs.sysfs, json),
        Command::MakePlaylist { output, extents } => {
            let bytes = make_playlist(&extents)?;
            write_atomic(&output, &bytes)
        }
        Command::GenHistory {
            output,
            entries,
            volumes,
            volume_size,
            seed,
        } => {
            let h = synth::history(entries, volumes, volume_size, seed);
            write_atomic(&output, &h)
        }
    }
}

/// A file that validated, as one of the two formats.
enum Parsed<'a> {
    Playlist(Playlist<'a>),
    History(History<'a>),
}

fn parse_any<'a>(path: &Path, bytes: &'a [u8]) -> Result<Parsed<'a>> {
    let err = |e: format::Error| anyhow!("{}: {e}", path.display());
    match Format::detect(bytes) {
        Some(Format::History) => Ok(Parsed::History(History::parse(bytes).map_err(err)?)),
        _ => Ok(Parsed::Playlist(Playlist::parse(bytes).map_err(err)?)),
    }
}

fn parse_playlist<'a>(path: &Path, bytes: &'a [u8]) -> Result<Playlist<'a>> {
    Playlist::parse(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn validate(path: &Path, format: FormatArg) -> Result<()> {
    let bytes = read_input(path)?;
    let err = |e: format::Error| anyhow!("{}: {e}", path.display());
    let parsed = match format {
        FormatArg::Auto => parse_any(path, &bytes)?,
        FormatArg::Playlist => Parsed::Playlist(Playlist::parse(&bytes).map_err(err)?),
        FormatArg::History => Parsed::History(History::parse(&bytes).map_err(err)?),
    };
    match parsed {
        Parsed::Playlist(p) => println!(
            "{}: valid playlist: {} volumes, {} extents, {} batches, {} bytes",
            path.display(),
            p.volume_count(),
            p.extent_count(),
            p.batch_count(),
            p.total_bytes()
        ),
        Parsed::History(h) => println!(
            "{}: valid history: {} volumes, {} entries, {} tags, {} bytes read{}",
            path.display(),
            h.volume_count(),
            h.entry_count(),
            h.header().extra,
            h.header().bytes,
            if h.is_truncated() { ", truncated" } else { "" }
        ),
    }
    Ok(())
}

fn extent_flags(flags: u16) -> String {
    if flags & format::EXTENT_LOW_PRIORITY != 0 {
        "low".into()
    } else {
        "-".into()
    }
}

fn entry_flags(flags: u16) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (format::ENTRY_TAG, 'T'),
        (format::ENTRY_WRITE, 'W'),
        (format::ENTRY_HIT, 'H'),
        (format::ENTRY_WAITED, 'w'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('R');
    }
    s
}

fn print(path: &Path, as_json: bool) -> Result<()> {
    let bytes = read_input(path)?;
    let parsed = parse_any(path, &bytes)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if as_json {
        let v = match &parsed {
            Parsed::Playlist(p) => playlist_json(p),
            Parsed::History(h) => history_json(h),
        };
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    match parsed {
        Parsed::Playlist(p) => {
            let h = p.header();
            writeln!(
                out,
                "playlist version {} flags {:#x} checksum {:#010x}",
                format::FORMAT_VERSION,
                h.flags,
                h.checksum
            )?;
            writeln!(
                out,
                "{} volumes, {} extents, {} batches, {} bytes\n",
                p.volume_count(),
                p.extent_count(),
                p.batch_count(),
                p.total_bytes()
            )?;
            print_volumes(&mut out, p.volumes(), "EXTENTS", "BYTES")?;
            writeln!(
                out,
                "\n{:>7}  {:>3}  {:>5}  {:>5}  {:>16}  {:>12}",
                "EXTENT", "VOL", "BATCH", "FLAGS", "OFFSET", "LENGTH"
            )?;
            for (i, x) in p.extents().enumerate() {
                writeln!(
                    out,
                    "{:>7}  {:>3}  {:>5}  {:>5}  {:>16}  {:>12}",
                    i,
                    x.volume,
                    x.batch,
                    extent_flags(x.flags),
                    x.offset,
                    x.length
                )?;
            }
        }
        Parsed::History(h) => {
            let hd = h.header();
            writeln!(
                out,
                "history version {} flags {:#x}{} checksum {:#010x}",
                format::FORMAT_VERSION,
                hd.flags,
                if h.is_truncated() { " (truncated)" } else { "" },
                hd.checksum
            )?;
            writeln!(
                out,
                "{} volumes, {} entries, {} tags, {} bytes read\n",
                h.volume_count(),
                h.entry_count(),
                hd.extra,
                hd.bytes
            )?;
            print_volumes(&mut out, h.volumes(), "ENTRIES", "READ BYTES")?;
            writeln!(
                out,
                "\n{:>7}  {:>14}  {:>7}  {:>5}  {:>3}  {:>16}  {:>12}",
                "ENTRY", "TIME_NS", "PID", "FLAGS", "VOL", "OFFSET", "LENGTH"
            )?;
            for (i, e) in h.entries().enumerate() {
                let vol = if e.is_tag() {
                    "-".to_string()
                } else {
                    e.volume.to_string()
                };
                writeln!(
                    out,
                    "{:>7}  {:>14}  {:>7}  {:>5}  {:>3}  {:>16}  {:>12}",
                    i,
                    e.timestamp_ns,
                    e.pid,
                    entry_flags(e.flags),
                    vol,
                    e.offset,
                    e.length
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Builds a playlist from `VOLUME:OFFSET:LENGTH[:BATCH[:low]]` specs.
fn make_playlist(specs: &[String]) -> Result<Vec<u8>> {
    let mut volumes: Vec<format::Volume> = Vec::new();
    let mut extents: Vec<format::Extent> = Vec::new();
    for spec in specs {
        // A GPT or MBR id has dashes but no colons, so split from the right.
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() < 3 || parts.len() > 5 {
            return Err(anyhow!("{spec}: want VOLUME:OFFSET:LENGTH[:BATCH[:low]]"));
        }
        let id = format::VolumeId::parse(parts[0])
            .ok_or_else(|| anyhow!("{spec}: {} is not a volume id", parts[0]))?;
        let offset = bootcache::size::parse_size(parts[1]).map_err(|e| anyhow!("{spec}: {e}"))?;
        let length = bootcache::size::parse_size(parts[2]).map_err(|e| anyhow!("{spec}: {e}"))?;
        let batch: u8 = match parts.get(3) {
            Some(b) => b
                .parse()
                .map_err(|_| anyhow!("{spec}: batch {b} is not 0..255"))?,
            None => 0,
        };
        let flags = match parts.get(4) {
            Some(&"low") => format::EXTENT_LOW_PRIORITY,
            Some(f) => return Err(anyhow!("{spec}: unknown flag {f} (only `low`)")),
            None => 0,
        };
        let volume = match volumes.iter().position(|v| v.id == id) {
            Some(i) => i,
            None => {
                volumes.push(format::Volume {
                    id,
                    record_count: 0,
                    bytes: 0,
                    block_size: 4096,
                });
                volumes.len() - 1
            }
        };
        extents.push(format::Extent {
            offset,
            length,
            volume: volume as u16,
            flags,
            batch,
        });
    }
    // Grouped by volume and sorted, as the format wants.
    extents.sort_by_key(|x| (x.volume, x.offset));
    let size = format::file_size(Format::Playlist, volumes.len() as u32, extents.len() as u32);
    let mut buf = vec![0u8; size as usize];
    let len = format::write_playlist(&mut buf, &volumes, &extents)
        .map_err(|e| anyhow!("the extents do not make a valid playlist: {e}"))?;
    buf.truncate(len);
    Ok(buf)
}

/// The volume table of `print`, with the labels of the record count and
/// byte columns.
fn print_volumes(
    out: &mut impl Write,
    vols: format::Volumes<'_>,
    records: &str,
    bytes: &str,
) -> io::Result<()> {
    writeln!(
        out,
        "{:>3}  {:<36}  {:>5}  {:>7}  {:>14}",
        "VOL", "ID", "BLOCK", records, bytes
    )?;
    for (i, v) in vols.enumerate() {
        writeln!(
            out,
            "{:>3}  {:<36}  {:>5}  {:>7}  {:>14}",
            i,
            v.id.to_string(),
            v.block_size,
            v.record_count,
            v.bytes
        )?;
    }
    Ok(())
}

fn volumes_json(vols: format::Volumes<'_>) -> Vec<Value> {
    vols.enumerate()
        .map(|(i, v)| {
            json!({
                "index": i,
                "id": v.id.to_string(),
                "block_size": v.block_size,
                "record_count": v.record_count,
                "bytes": v.bytes,
            })
        })
        .collect()
}

fn playlist_json(p: &Playlist<'_>) -> Value {
    let h = p.header();
    json!({
        "format": "playlist",
        "version": format::FORMAT_VERSION,
        "flags": h.flags,
        "checksum": h.checksum,
        "batch_count": p.batch_count(),
        "total_bytes": p.total_bytes(),
        "volumes": volumes_json(p.volumes()),
        "extents": p.extents().map(|x| json!({
            "volume": x.volume,
            "offset": x.offset,
            "length": x.length,
            "batch": x.batch,
            "low_priority": x.is_low_priority(),
        })).collect::<Vec<_>>(),
    })
}

fn history_json(h: &History<'_>) -> Value {
    let hd = h.header();
    json!({
        "format": "history",
        "version": format::FORMAT_VERSION,
        "flags": hd.flags,
        "truncated": h.is_truncated(),
        "checksum": hd.checksum,
        "tag_count": hd.extra,
        "read_bytes": hd.bytes,
        "volumes": volumes_json(h.volumes()),
        "entries": h.entries().map(|e| json!({
            "timestamp_ns": e.timestamp_ns,
            "pid": e.pid,
            "flags": entry_flags(e.flags),
            "volume": if e.is_tag() { Value::Null } else { json!(e.volume) },
            "offset": e.offset,
            "length": e.length,
        })).collect::<Vec<_>>(),
    })
}

fn options(build: BuildArgs) -> Result<Options> {
    let opts = Options {
        block_size: build.block_size,
        max_gap: build.max_gap,
        max_bytes: build.max_bytes,
        low_priority: build.low_priority,
    };
    opts.check().map_err(|e| anyhow!("{e}"))?;
    Ok(opts)
}

fn finish(output: &Path, data: &convert::PlaylistData, report: &Report) -> Result<()> {
    for id in &report.unknown_low_priority {
        eprintln!("bootcache: warning: --low-priority volume {id} is not in the input");
    }
    let bytes = data
        .to_bytes()
        .map_err(|e| anyhow!("internal error: made an invalid playlist: {e}"))?;
    write_atomic(output, &bytes)?;
    let batches = data.extents.iter().map(|x| u32::from(x.batch) + 1).max();
    eprintln!(
        "{}: {} volumes, {} extents, {} batches, {} bytes{}",
        output.display(),
        data.volumes.len(),
        data.extents.len(),
        batches.unwrap_or(0),
        data.total_bytes(),
        if report.dropped_cap_bytes > 0 {
            format!(" ({} bytes dropped by the cap)", report.dropped_cap_bytes)
        } else {
            String::new()
        }
    );
    Ok(())
}

fn convert_cmd(history: &Path, output: &Path, build: BuildArgs) -> Result<()> {
    let opts = options(build)?;
    let bytes = read_input(history)?;
    convert_history(history, &bytes, output, &opts)
}

/// Makes a playlist from the history in `bytes` (read from `source`) and writes it.
fn convert_history(source: &Path, bytes: &[u8], output: &Path, opts: &Options) -> Result<()> {
    let h = History::parse(bytes).map_err(|e| anyhow!("{}: {e}", source.display()))?;
    let (data, report) = convert::convert(&h, opts).map_err(|e| anyhow!("{e}"))?;
    finish(output, &data, &report)
}

/// Loads a playlist and starts the cache; a playlist that does not validate is refused
/// before anything is written.
fn start(playlist: &Path, dir: &Path) -> Result<()> {
    let bytes = read_input(playlist)?;
    parse_playlist(playlist, &bytes)?;
    let sysfs = Sysfs::open(dir)?;
    sysfs.load_playlist("start", &bytes)?;
    sysfs.control("start")?;
    Ok(())
}

/// Stops recording, then saves the history and makes the next playlist as asked.
fn stop(
    history: Option<&Path>,
    playlist: Option<&Path>,
    build: BuildArgs,
    dir: &Path,
) -> Result<()> {
    // Bad options are found before recording stops.
    let opts = options(build)?;
    let sysfs = Sysfs::open(dir)?;
    sysfs.control("stop")?;
    if history.is_none() && playlist.is_none() {
        return Ok(());
    }
    let bytes = sysfs.history("stop")?;
    if let Some(out) = history {
        write_atomic(out, &bytes)?;
        match History::parse(&bytes) {
            Ok(h) => eprintln!(
                "{}: {} volumes, {} entries, {} tags, {} bytes read{}",
                out.display(),
                h.volume_count(),
                h.entry_count(),
                h.header().extra,
                h.header().bytes,
                if h.is_truncated() { ", truncated" } else { "" }
            ),
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

/// Prints the state and the statistics.
fn show_stats(dir: &Path, as_json: bool) -> Result<()> {
    let sysfs = Sysfs::open(dir)?;
    let mut top = Vec::new();
    for name in stats::TOP {
        top.push((name, sysfs.read_text(name)?));
    }
    let page = Page::new(top, sysfs.read_group("stats")?);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if as_json {
        serde_json::to_writer_pretty(&mut out, &page.json())?;
        writeln!(out)?;
    } else {
        out.write_all(page.text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Files larger than this are worth a warning when built into a kernel image.
const EMBED_WARN_BYTES: usize = 16 << 20;
/// The ELF section the kernel build puts the embedded playlist in.
const EMBED_SECTION: &str = ".init.bootcache_playlist";
/// The symbols around the embedded playlist.
const EMBED_SYMBOLS: [&str; 2] = ["__bootcache_playlist_start", "__bootcache_playlist_end"];

/// One line about a valid playlist: volumes, extents, batches, bytes.
fn playlist_line(p: &Playlist<'_>) -> String {
    format!(
        "{} volumes, {} extents, {} batches, {} to read ahead",
        p.volume_count(),
        format_count(u64::from(p.extent_count())),
        p.batch_count(),
        format_bytes(p.total_bytes())
    )
}

/// Checks a playlist and writes its canonical copy for `CONFIG_BOOTCACHE_PLAYLIST`.
fn embed(input: &Path, output: &Path) -> Result<()> {
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
fn embed_check(vmlinux: &Path) -> Result<()> {
    let err = |e: elf::Error| anyhow!("{}: {e}", vmlinux.display());
    let file =
        File::open(vmlinux).with_context(|| format!("{}: cannot open", vmlinux.display()))?;
    let mut elf = Elf::parse(io::BufReader::new(file)).map_err(err)?;
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

/// Draws a history (and a playlist) as SVG.
fn plot_cmd(
    history: &Path,
    playlist: Option<&Path>,
    output: &Path,
    title: Option<String>,
) -> Result<()> {
    let hb = read_input(history)?;
    let h = History::parse(&hb).map_err(|e| anyhow!("{}: {e}", history.display()))?;
    let pb = match playlist {
        Some(p) => Some((p, read_input(p)?)),
        None => None,
    };
    let p = match &pb {
        Some((path, b)) => Some(parse_playlist(path, b)?),
        None => None,
    };
    let name = history
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| history.display().to_string());
    let title = title.unwrap_or_else(|| plot::default_title(&name, &h));
    let (svg, drawn) = plot::svg(&h, p.as_ref(), &title);
    write_atomic(output, svg.as_bytes())?;
    eprintln!(
        "{}: {} entries as {} marks, {} tags, {}",
        output.display(),
        format_count(drawn.entries.iter().sum()),
        format_count(drawn.rects.iter().sum()),
        drawn.tags,
        format_bytes(svg.len() as u64)
    );
    Ok(())
}

/// The errno of a refusal by the kernel.
fn kernel_errno(e: &ksysfs::Error) -> Option<i32> {
    match e {
        ksysfs::Error::Kernel { err, .. } => err.raw_os_error(),
        _ => None,
    }
}

const E2BIG: i32 = 7;
const EBUSY: i32 = 16;
const ENODEV: i32 = 19;
const EROFS: i32 = 30;

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
fn boot_start(dir: &Path, sysfs_dir: &Path) -> Result<()> {
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

fn merge_cmd(a: &Path, b: &Path, output: &Path, build: BuildArgs) -> Result<()> {
    let opts = options(build)?;
    let ab = read_input(a)?;
    let bb = read_input(b)?;
    let pa = parse_playlist(a, &ab)?;
    let pb = parse_playlist(b, &bb)?;
    let (data, report) = convert::merge(&pa, &pb, &opts).map_err(|e| anyhow!("{e}"))?;
    finish(output, &data, &report)
}

fn info(path: &Path, as_json: bool, gaps: usize) -> Result<()> {
    let bytes = read_input(path)?;
    let v = match parse_any(path, &bytes)? {
        Parsed::Playlist(p) => summary::playlist(&p, gaps),
        Parsed::History(h) => summary::history(&h),
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if as_json {
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        render_info(&mut out, &v).context("writing the summary")?;
    }
    out.flush()?;
    Ok(())
}

/// Renders a summary as `key: value` lines and small tables.
fn render_info(out: &mut impl Write, v: &Value) -> io::Result<()> {
    let Some(map) = v.as_object() else {
        return Ok(());
    };
    for (k, val) in map {
        match val {
            Value::Array(rows) => {
                writeln!(out, "{k}:")?;
                if rows.is_empty() {
                    writeln!(out, "  (none)")?;
                }
                for row in rows {
                    let cells: Vec<String> = row
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(ck, cv)| match cv {
                                    Value::String(s) => format!("{ck} {s}"),
                                    other => format!("{ck} {other}"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    writeln!(out, "  {}", cells.join(", "))?;
                }
            }
            Value::String(s) => writeln!(out, "{k}: {s}")?,
            other => writeln!(out, "{k}: {other}")?,
        }
    }
    Ok(())
}
