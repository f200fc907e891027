// SPDX-License-Identifier: GPL-2.0

//! The `bootcache` tool's library: the format code shared with the kernel driver, the
//! offline operations on playlists and histories (conversion, merging, summaries, plots),
//! the ISO 9660 media that playlists name,
//! the driver's sysfs interface (commands, history, statistics, status), and reading the
//! playlist embedded in a kernel image.
//!
//! The binary (`src/main.rs`) is a thin command line over this library; the fuzz targets
//! and the tests use it directly.

#![warn(missing_docs)]

/// The playlist and history formats, compiled from the kernel driver's own source file.
#[path = "../../../drivers/block/bootcache/format/mod.rs"]
pub mod format;

pub mod cmdline;
pub mod convert;
pub mod elf;
pub mod fileio;
pub mod malformed;
pub mod medium;
pub mod plot;
pub mod size;
pub mod stats;
pub mod status;
pub mod summary;
pub mod synth;
pub mod sysfs;
