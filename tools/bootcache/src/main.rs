// SPDX-License-Identifier: GPL-2.0

//! `bootcache`: make, check and inspect bootcache playlists and histories.
//!
//! `main` parses the command line, runs it, and turns an error into one line on stderr
//! and exit status 1 (clap's own usage errors exit with 2). The commands' work is in
//! `commands/`, one module per command or family.

mod cli;
mod commands;

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let opts = cli::Opts::parse();
    match commands::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("bootcache: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Returns whether `err` is a closed stdout (as when piping into `head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
