// SPDX-License-Identifier: GPL-2.0

//! `bootcache stats`: the live cache's state and statistics on one page.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Result;

use bootcache::stats::{self, Page};
use bootcache::sysfs::Sysfs;

/// Prints the state and the statistics.
pub(super) fn run(dir: &Path, as_json: bool) -> Result<()> {
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
