// SPDX-License-Identifier: GPL-2.0

//! `gen-docs DIR`: writes the man pages, `bootcache.8` and one `bootcache-COMMAND.8` per
//! command (hidden ones left out), and the shell completions (`bootcache.bash`,
//! `_bootcache` for zsh, `bootcache.fish`) into DIR, all made from the command line's
//! definition in `src/cli.rs`, so they say what `--help` says.
//!
//! `install.sh` runs it (`cargo run --release --example gen-docs -- DIR`) and installs the
//! files. The man pages' date is `SOURCE_DATE_EPOCH`'s day when that is set (a
//! reproducible build), otherwise today's (UTC).

// The command line as the binary defines it; only its clap definition is used here.
#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: gen-docs DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gen-docs: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes the man pages and completions into `dir` (`tests/install.rs` calls it too).
pub fn run(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;

    // As clap_mangen::generate_to does, but in section 8: no `help` command (its page
    // would only repeat this one), and the display names (bootcache-convert) set.
    let mut cmd = cli::Opts::command().disable_help_subcommand(true);
    cmd.build();
    man_pages(&cmd, dir, &man_date()?)?;

    // The completions offer the visible commands only: clap_complete would offer the
    // hidden test helpers too, so they are built from a copy without them.
    let complete = clap::Command::new("bootcache")
        .version(env!("CARGO_PKG_VERSION"))
        .about(cmd.get_about().cloned().unwrap_or_default())
        .subcommand_required(true)
        .disable_help_subcommand(true)
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for (shell, name) in [
        (Shell::Bash, "bootcache.bash"),
        (Shell::Zsh, "_bootcache"),
        (Shell::Fish, "bootcache.fish"),
    ] {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut complete.clone(), "bootcache", &mut text);
        write(&dir.join(name), &text)?;
    }
    Ok(())
}

/// Writes the man page of `cmd` and of each of its visible subcommands into `dir`.
fn man_pages(cmd: &clap::Command, dir: &Path, date: &str) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir, date)?;
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .date(date)
        .manual("System Administration")
        .source(format!("bootcache {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render(&mut page)?;
    write(&dir.join(man.get_filename()), &page)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// The day of `SOURCE_DATE_EPOCH`, or today, as YYYY-MM-DD (UTC). A page needs a date:
/// without one, the `.TH` line's fields shift.
fn man_date() -> Result<String> {
    let secs: i64 = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={epoch}: not a number of seconds"))?,
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
    };
    // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}
