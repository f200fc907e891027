// SPDX-License-Identifier: GPL-2.0

//! The subcommands' work: one module per command, or per small family of commands, and
//! [`run`], which hands each parsed command to its module.
//!
//! | commands | module |
//! | --- | --- |
//! | `validate` | [`validate`] |
//! | `print` | [`print`] |
//! | `info` | [`info`] |
//! | `convert`, `merge` | [`convert`] |
//! | `make-playlist` | [`make_playlist`] |
//! | `medium-id`, `check-medium` | [`medium`] |
//! | `plot` | [`plot`] |
//! | `embed`, `embed --check` | [`embed`] |
//! | `start`, `stop`, `tag`, `jettison` | [`control`] |
//! | `stats` | [`stats`] |
//! | `status` | [`status`] |
//! | `boot-start` | [`boot_start`] |
//! | `gen-malformed`, `gen-history` (hidden) | [`generate`] |
//!
//! [`input`] parses the files they are given and holds the summary lines they share.

mod boot_start;
mod control;
mod convert;
mod embed;
mod generate;
mod info;
mod input;
mod make_playlist;
mod medium;
mod plot;
mod print;
mod stats;
mod status;
mod validate;

use anyhow::{anyhow, Result};

use crate::cli::{Command, Opts};

/// Runs one command.
pub fn run(opts: Opts) -> Result<()> {
    match opts.command {
        Command::Validate { files, format } => validate::run(&files, format),
        Command::Print { file, json } => print::run(&file, json),
        Command::Info { file, json, gaps } => info::run(&file, json, gaps),
        Command::Convert {
            history,
            output,
            build,
            history_args,
        } => convert::convert(&history, &output, build, history_args),
        Command::Merge {
            a,
            b,
            output,
            build,
        } => convert::merge(&a, &b, &output, build),
        Command::MakePlaylist { output, extents } => make_playlist::run(&output, &extents),
        Command::MediumId { medium, json } => medium::id(&medium, json),
        Command::CheckMedium {
            playlist,
            medium,
            recorded,
            min_unchanged,
        } => medium::check(&medium::CheckArgs {
            playlist: &playlist,
            medium: &medium,
            recorded: recorded.as_deref(),
            min_unchanged,
        }),
        Command::Plot {
            history,
            playlist,
            output,
            title,
        } => plot::run(&history, playlist.as_deref(), &output, title),
        Command::Embed {
            playlist,
            output,
            check,
        } => match (check, playlist, output) {
            (Some(vmlinux), _, _) => embed::check(&vmlinux),
            (None, Some(p), Some(o)) => embed::copy(&p, &o),
            _ => Err(anyhow!("embed: give PLAYLIST -o OUT, or --check VMLINUX")),
        },
        Command::Start { playlist, sysfs } => control::start(&playlist, &sysfs.sysfs),
        Command::Stop {
            history,
            playlist,
            save_dir,
            build,
            history_args,
            sysfs,
        } => control::stop(
            control::SaveTo::new(history, playlist, save_dir),
            build,
            history_args,
            &sysfs.sysfs,
        ),
        Command::Tag { sysfs } => control::tag(&sysfs.sysfs),
        Command::Jettison { sysfs } => control::jettison(&sysfs.sysfs),
        Command::Stats { json, sysfs } => stats::run(&sysfs.sysfs, json),
        Command::Status {
            sysfs,
            dir,
            cmdline,
        } => status::run(&sysfs.sysfs, &cmdline, &dir.dir),
        Command::BootStart { dir, sysfs } => boot_start::run(&dir.dir, &sysfs.sysfs),
        Command::GenMalformed { dir } => generate::gen_malformed(&dir),
        Command::GenHistory {
            output,
            entries,
            volumes,
            volume_size,
            seed,
        } => generate::gen_history(&output, entries, volumes, volume_size, seed),
    }
}
