// SPDX-License-Identifier: GPL-2.0

//! The command line: every `///` doc below is the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bootcache::convert::{
    DEFAULT_BATCH_BYTES, DEFAULT_BLOCK_SIZE, DEFAULT_MAX_BATCHES, DEFAULT_MAX_BYTES,
    DEFAULT_MAX_GAP, DEFAULT_PULL_AHEAD,
};
use bootcache::format::VolumeId;
use bootcache::size::parse_size;
use bootcache::status::DEFAULT_SAVE_DIR;
use bootcache::sysfs::DEFAULT_DIR;

/// Make, check and inspect bootcache playlists and histories, and drive the kernel's cache.
///
/// A history is what the kernel recorded during one boot; a playlist is what it reads
/// ahead at the next. `convert` makes the one from the other. `start`, `tag`, `stop`,
/// `jettison`, `stats`, `status` and `boot-start` talk to the driver through
/// /sys/kernel/bootcache.
#[derive(Debug, Parser)]
#[command(name = "bootcache", version, max_term_width = 98)]
pub struct Opts {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that each FILE is a valid playlist or history (exit 1 at the first bad one).
    Validate {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Which format to expect (`auto` goes by the magic).
        #[arg(long = "format", value_enum, default_value_t = FormatArg::Auto)]
        format: FormatArg,
    },
    /// Print a playlist or history: its header, volumes and records.
    Print {
        /// The file to print.
        file: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Make a playlist from a history.
    ///
    /// Batches follow the boot: the blocks the history reads are taken in the order they
    /// were first read and cut into consecutive batches of --batch-bytes (and --batch-ms)
    /// of first use; a tag always starts a new batch. The kernel reads batch 0 first, each
    /// batch in disk order. Blocks that more than one read entry reads are marked keep:
    /// the cache keeps them after serving them, for the next read.
    ///
    /// --batch-bytes 0 makes batches from tags only, as before (with --no-keep, the
    /// playlist is the same as before keep existed).
    Convert {
        /// The history to read.
        history: PathBuf,
        /// The playlist to write (atomically).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        build: BuildArgs,
        #[command(flatten)]
        history_args: HistoryArgs,
    },
    /// Merge two playlists into one (a byte in both goes to the earlier batch).
    Merge {
        /// The first playlist.
        a: PathBuf,
        /// The second playlist.
        b: PathBuf,
        /// The playlist to write (atomically).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        build: BuildArgs,
    },
    /// Summarise a playlist or history: bytes per batch and per volume, counts, gaps.
    Info {
        /// The file to summarise.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// How many of the largest gaps between extents to list.
        #[arg(long, default_value_t = 5)]
        gaps: usize,
    },
    /// Write a playlist from extents given on the command line (for tests, and
    /// for media whose reads are known without recording a boot).
    MakePlaylist {
        /// The playlist to write (atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// An extent: VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]], where VOLUME is `root`, a
        /// GPT PARTUUID, an MBR PARTUUID or an ISO 9660 medium
        /// (iso9660:2026-11-30-04-00-00-00:1a2b3c4d, as `medium-id` prints it; its
        /// offsets are from the start of the disk, in 2048-byte blocks), OFFSET and
        /// LENGTH are bytes (K, M, G suffixes; multiples of 512), and FLAGS is `low` (read
        /// after the rest), `keep` (the cache keeps the blocks after serving them) or
        /// `low,keep`. Repeat it; volumes are numbered in the order they first appear.
        #[arg(short, long = "extent", required = true)]
        extents: Vec<String>,
    },
    /// Print the volume id of an ISO 9660 image or disc, as a playlist names it.
    ///
    /// Reads the primary volume descriptor, the 2048 bytes at byte 32768 of MEDIUM, and
    /// prints iso9660:DATE:CRC: the volume creation date in the form blkid shows as a
    /// disc's UUID (2026-11-30-04-00-00-00), and the CRC-32C of the 32-byte label as
    /// stored. This is what `make-playlist -e`, `bootcache=record,volume=` and the
    /// kernel's log use. A rebuilt image keeps it if its date and label are pinned
    /// (xorriso -volume_date uuid ... -V LABEL).
    ///
    /// Fails if MEDIUM holds no ISO 9660 file system.
    MediumId {
        /// An ISO image file or a block device (/dev/sr0, a USB stick /dev/sdb).
        medium: PathBuf,
        /// Print JSON: the id, the label, the size of MEDIUM and of its file system.
        #[arg(long)]
        json: bool,
    },
    /// Check that an ISO image or disc is the medium a playlist names, and still holds
    /// what the playlist reads.
    ///
    /// Use it when a live ISO is rebuilt with its playlist: it prints the medium's id and
    /// the playlist's ISO 9660 volume (the one that is MEDIUM, or the first), then
    ///
    ///  - identity: whether MEDIUM's id (creation date and label) is the one the
    ///    playlist names; the kernel reads a playlist's volume ahead only from that disc;
    ///
    ///  - extents: whether every extent of the volume lies within MEDIUM;
    ///
    ///  - unchanged: with --recorded OLD_MEDIUM, the image the playlist was recorded on,
    ///    how many of the volume's bytes are the same in both, block by block of the
    ///    volume's block size ("38.1 MiB of 39.2 MiB (97.2%) unchanged"). The kernel
    ///    reads ahead at the recorded offsets: what changed there is read for nothing.
    ///
    /// Exits 1 if the identity differs, if an extent ends beyond MEDIUM, or if less is
    /// unchanged than --min-unchanged asks.
    CheckMedium {
        /// The playlist.
        playlist: PathBuf,
        /// The ISO image file or block device to check.
        medium: PathBuf,
        /// The image the playlist was recorded on, to count the unchanged bytes.
        #[arg(long, value_name = "OLD_MEDIUM")]
        recorded: Option<PathBuf>,
        /// With --recorded: fail if less than PERCENT of the playlist's bytes are
        /// unchanged.
        #[arg(long, value_name = "PERCENT", requires = "recorded", value_parser = parse_percent)]
        min_unchanged: Option<f64>,
    },
    /// Load a playlist into the kernel and start caching (and recording).
    ///
    /// The playlist is checked first; a bad one is refused before anything is written.
    Start {
        /// The playlist to load.
        playlist: PathBuf,
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Stop recording; optionally save the history and make the next playlist from it.
    ///
    /// Caching goes on after `stop` until the boot stops hitting the cache (miss_limit)
    /// or `jettison`.
    Stop {
        /// Save the kernel's history here (atomically).
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
        /// Make the next playlist from the history and write it here (atomically), with
        /// the same options as `convert`.
        #[arg(long, value_name = "FILE")]
        playlist: Option<PathBuf>,
        /// Save both into DIR, as the boot cycle does: DIR/history and DIR/playlist.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["history", "playlist"])]
        save_dir: Option<PathBuf>,
        #[command(flatten)]
        build: BuildArgs,
        #[command(flatten)]
        history_args: HistoryArgs,
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Mark a batch boundary in the history (e.g. when a boot phase is reached).
    Tag {
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Drop the cache now and take bootcache out of the I/O path.
    Jettison {
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Show the cache's state and statistics on one page.
    Stats {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Explain in a few lines what bootcache did this boot.
    ///
    /// Reads the kernel command line (`bootcache=`), the driver's sysfs files and the
    /// saved files of the boot cycle.
    Status {
        #[command(flatten)]
        sysfs: SysfsArgs,
        #[command(flatten)]
        dir: SaveDirArgs,
        /// The kernel command line to read (for tests).
        #[arg(
            long,
            value_name = "FILE",
            default_value = "/proc/cmdline",
            hide = true
        )]
        cmdline: PathBuf,
    },
    /// Start this boot's cache from the saved playlist (run early in boot).
    ///
    /// The saved DIR/playlist is renamed to DIR/playlist.used before it is loaded, so a
    /// boot that fails because of it is not repeated. If the kernel already caches (it
    /// was started by `bootcache=` or the initramfs), the playlist is added to the running
    /// session; otherwise it is loaded and the cache started. With no saved playlist,
    /// recording alone is started.
    BootStart {
        #[command(flatten)]
        dir: SaveDirArgs,
        #[command(flatten)]
        sysfs: SysfsArgs,
    },
    /// Check a playlist and write a copy to build into the kernel image, or check the
    /// playlist a vmlinux carries.
    ///
    /// Point CONFIG_BOOTCACHE_PLAYLIST at the copy. A history is refused: make a playlist
    /// from it with `bootcache convert` first.
    Embed {
        /// The playlist to embed.
        #[arg(required_unless_present = "check", conflicts_with = "check")]
        playlist: Option<PathBuf>,
        /// Where to write the copy (atomically).
        #[arg(
            short,
            long,
            required_unless_present = "check",
            conflicts_with = "check"
        )]
        output: Option<PathBuf>,
        /// Instead: find the playlist embedded in this vmlinux (section
        /// .init.bootcache_playlist), check it and summarise it.
        #[arg(long, value_name = "VMLINUX")]
        check: Option<PathBuf>,
    },
    /// Draw a history as an SVG timeline: time across, volume offset up; hits, parked
    /// reads, misses and writes in their own colours, tags as lines.
    Plot {
        /// The history to draw.
        history: PathBuf,
        /// Shade the extents of this playlist (what was read ahead) on the offset axis.
        #[arg(long, value_name = "PLAYLIST")]
        playlist: Option<PathBuf>,
        /// The SVG file to write (atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// The title (default: the file name, entry count and duration).
        #[arg(long)]
        title: Option<String>,
    },
    /// Write one malformed file per validation rule into DIR (for tests and demos).
    #[command(hide = true)]
    GenMalformed {
        /// The directory to write into.
        dir: PathBuf,
    },
    /// Write a synthetic history (for benchmarks and tests).
    #[command(hide = true)]
    GenHistory {
        /// The history to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Number of entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u32,
        /// Number of volumes.
        #[arg(long, default_value_t = 3)]
        volumes: u32,
        /// Size of each volume (K, M, G, T suffixes).
        #[arg(long, default_value = "64G", value_parser = parse_size)]
        volume_size: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// The file format to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Go by the file's magic.
    Auto,
    /// A playlist.
    Playlist,
    /// A history.
    History,
}

/// Where the driver's files are.
#[derive(Debug, Args)]
pub struct SysfsArgs {
    /// The driver's sysfs directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub sysfs: PathBuf,
}

/// Where the boot cycle's files are.
#[derive(Debug, Args)]
pub struct SaveDirArgs {
    /// The directory of the saved files: `playlist` (the next boot's), `playlist.used`,
    /// `history` (the last boot's).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_SAVE_DIR)]
    pub dir: PathBuf,
}

/// Options for making a playlist (`convert` and `merge`).
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Align extents outward to this many bytes (or the volume's block size if larger);
    /// a power of two from 512 to 65536.
    #[arg(long, default_value_t = DEFAULT_BLOCK_SIZE, value_parser = parse_u32_size)]
    pub block_size: u32,
    /// Merge neighbouring extents of the same batch and flags when the gap between them is at most
    /// this many bytes (reading a small gap is cheaper than a seek; 0 merges only
    /// touching extents).
    #[arg(long, default_value_t = DEFAULT_MAX_GAP, value_parser = parse_size)]
    pub max_gap: u64,
    /// Cap the playlist at this many bytes, dropping low-priority extents and then the
    /// last batches first (at most 4G).
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES, value_parser = parse_size)]
    pub max_bytes: u64,
    /// Mark every extent of this volume low priority: `root`, a GPT PARTUUID, an MBR
    /// PARTUUID (SSSSSSSS-PP) or an ISO 9660 medium (iso9660:DATE:CRC). May be repeated.
    #[arg(long = "low-priority", value_name = "VOLUME", value_parser = parse_volume)]
    pub low_priority: Vec<VolumeId>,
}

/// Options for making a playlist from a history (`convert` and `stop`).
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Cut a batch when it holds this many bytes of first-use data: batch 0 is what the
    /// boot reads first. Smaller batches follow the boot's order more closely; larger ones
    /// split fewer extents. Grown (doubled) until there are at most --max-batches. 0 (with
    /// --batch-ms 0): batches from tags only.
    #[arg(
        long,
        value_name = "SIZE",
        default_value_t = DEFAULT_BATCH_BYTES,
        value_parser = parse_size
    )]
    pub batch_bytes: u64,
    /// Cut at most N batches (1 to 256), growing --batch-bytes and --batch-ms to fit. A
    /// playlist the kernel appends to a running session gets batches after the session's,
    /// and a session holds 256: the default leaves room for a few.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BATCHES)]
    pub max_batches: u32,
    /// Also cut a batch when a block's first use comes MS milliseconds or more after the
    /// batch's first (0: no time cut).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub batch_ms: u64,
    /// Read an extent of a later batch with a neighbouring extent of an earlier batch when
    /// its length plus the gap between them is at most SIZE (and the gap at most
    /// --max-gap): reading it early costs less than a seek later. 0: never.
    #[arg(
        long,
        value_name = "SIZE",
        default_value_t = DEFAULT_PULL_AHEAD,
        value_parser = parse_size
    )]
    pub pull_ahead: u64,
    /// Do not mark blocks read more than once keep (the cache then serves every block
    /// once).
    #[arg(long)]
    pub no_keep: bool,
    /// Leave out history entries recorded more than SECONDS after recording started (for
    /// a history recorded past the point that matters); a decimal number.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub until: Option<u64>,
}

/// Parses a decimal number of seconds into nanoseconds.
fn parse_seconds(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a number of seconds (e.g. 45 or 12.5)");
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || frac.len() > 9
    {
        return Err(bad());
    }
    let w: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let f: u64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    w.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(f))
        .ok_or_else(|| format!("'{s}' is too many seconds"))
}

fn parse_u32_size(s: &str) -> Result<u32, String> {
    let v = parse_size(s)?;
    u32::try_from(v).map_err(|_| format!("'{s}' is too large"))
}

fn parse_volume(s: &str) -> Result<VolumeId, String> {
    VolumeId::parse(s).ok_or_else(|| {
        format!(
            "'{s}' is not a volume (use root, a GPT PARTUUID, an MBR SSSSSSSS-PP, or \
             iso9660:YYYY-MM-DD-hh-mm-ss-cc:CRC as `bootcache medium-id` prints it)"
        )
    })
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("'{s}' is not a percentage from 0 to 100")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("45"), Ok(45_000_000_000));
        assert_eq!(parse_seconds("12.5"), Ok(12_500_000_000));
        assert_eq!(parse_seconds(".25"), Ok(250_000_000));
        assert_eq!(parse_seconds("0.000000001"), Ok(1));
        for bad in [
            "",
            ".",
            "-1",
            "1e3",
            "1.2.3",
            "0.0000000001",
            "nan",
            "99999999999",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
