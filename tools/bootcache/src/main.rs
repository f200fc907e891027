// SPDX-License-Identifier: GPL-2.0

//! `bootcache`: make, check and inspect bootcache playlists and histories.
//!
//! `main` parses the command line, runs it, and turns an error into one line on stderr
//! and exit status 1 (clap's own usage errors exit with 2).

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let opts = cli::Opts::parse();
    match commands::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if commands::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("bootcache: {err:#}");
            ExitCode::from(1)
        }
    }
}
