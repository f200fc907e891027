// SPDX-License-Identifier: GPL-2.0

//! `bootcache status`: what bootcache did this boot, in a few lines, from the kernel
//! command line, the driver's sysfs files and the boot cycle's saved files.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;

use bootcache::status::{report, Inputs};

/// Reads the inputs and prints the report.
pub(super) fn run(sysfs: &Path, cmdline: &Path, save_dir: &Path) -> Result<()> {
    let inputs = Inputs::read(sysfs, cmdline, save_dir)?;
    print!("{}", report(&inputs));
    io::stdout().flush()?;
    Ok(())
}
