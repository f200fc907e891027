// SPDX-License-Identifier: GPL-2.0

//! Reading input files with a size bound, and writing output files atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::format::{self, Format};

/// The largest file either format allows.
pub fn max_file_size() -> u64 {
    let p = format::file_size(Format::Playlist, format::MAX_VOLUMES, format::MAX_EXTENTS);
    let h = format::file_size(
        Format::History,
        format::MAX_VOLUMES,
        format::MAX_HISTORY_ENTRIES,
    );
    p.max(h)
}

/// Reads `path` whole, refusing files larger than any valid playlist or history.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let max = max_file_size();
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > max {
        anyhow::bail!(
            "{}: larger than {max} bytes, the largest valid bootcache file",
            path.display()
        );
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically: to a temporary file in the same directory, which
/// is synced and then renamed over `path`; the directory is synced last.
///
/// On failure `path` is untouched and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("{}: cannot sync", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, path)
            .with_context(|| format!("{}: cannot rename into place", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: cannot sync directory", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("bootcache-fileio-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(write_atomic(&dir.join("missing/x"), b"z").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
