// SPDX-License-Identifier: GPL-2.0

//! The files under `/sys/kernel/bootcache/`.

use crate::boot;
use crate::format;
use crate::session::{Control, Reason};
use crate::stats;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sysfs::{Attribute, BinAttribute, Dir, Group, ShowBuf};
use kernel::uapi;

fn show_version(_: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", uapi::BOOTCACHE_FORMAT_VERSION)?;
    Ok(())
}

fn show_boot(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.boot.name())?;
    Ok(())
}

fn show_embedded(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.embedded)?;
    Ok(())
}

fn show_state(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", c.state())?;
    Ok(())
}

fn show_recording(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    let on = c
        .inner
        .lock()
        .recorder
        .as_ref()
        .is_some_and(|r| r.is_recording());
    writeln!(buf, "{}", u8::from(on))?;
    Ok(())
}

fn show_reason(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    writeln!(buf, "{}", Reason::name_of(c.inner.lock().last_reason))?;
    Ok(())
}

fn store_control(c: &Arc<Control>, input: &[u8]) -> Result {
    let word = input.strip_suffix(b"\n").unwrap_or(input);
    match word {
        b"start" => c.start(),
        b"record" => c.record(false),
        b"stop" => {
            let mut g = c.inner.lock();
            c.stop_recording(&mut g)
        }
        b"tag" => c.tag(),
        b"jettison" => c.jettison(Reason::Command),
        _ => {
            pr_err!("control: unknown command (start, record, stop, tag or jettison)\n");
            Err(EINVAL)
        }
    }
}

/// A tunable: a decimal number in a range.
fn parse_num(input: &[u8], min: u64, max: u64) -> Result<u64> {
    let s = core::str::from_utf8(input).map_err(|_| EINVAL)?.trim();
    let v: u64 = s.parse().map_err(|_| EINVAL)?;
    if v < min || v > max {
        return Err(ERANGE);
    }
    Ok(v)
}

macro_rules! tunable {
    ($show:ident, $store:ident, $field:ident, $ty:ty, $min:expr, $max:expr) => {
        fn $show(c: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
            writeln!(buf, "{}", c.tunables.$field.load(Ordering::Relaxed))?;
            Ok(())
        }

        fn $store(c: &Arc<Control>, input: &[u8]) -> Result {
            let v = parse_num(input, $min, $max)?;
            c.tunables.$field.store(v as $ty, Ordering::Relaxed);
            Ok(())
        }
    };
}

tunable!(
    show_wait,
    store_wait,
    wait_limit_ms,
    u32,
    0,
    boot::param::MAX_WAIT_MS as u64
);
tunable!(show_misses, store_misses, miss_limit, u64, 1, u64::MAX);
tunable!(
    show_record,
    store_record,
    record_limit_ms,
    u32,
    0,
    3_600_000
);
tunable!(
    show_entries,
    store_entries,
    history_entries,
    u32,
    16,
    format::MAX_HISTORY_ENTRIES as u64
);

/// Takes a playlist in chunks; validates it whole once its header's size
/// has arrived.
fn write_playlist(c: &Arc<Control>, offset: u64, data: &[u8]) -> Result<usize> {
    let mut inner = c.inner.lock();
    if offset == 0 {
        // A new playlist; one already validated stays until this one is.
        inner.staged.truncate(0);
    }
    if offset != inner.staged.len() as u64 {
        pr_err!(
            "playlist: write at {} but {} bytes arrived so far\n",
            offset,
            inner.staged.len()
        );
        return Err(EINVAL);
    }
    // The largest playlist the format allows (about 24 MiB).
    let max = format::file_size(
        format::Format::Playlist,
        format::MAX_VOLUMES,
        format::MAX_EXTENTS,
    );
    if (inner.staged.len() + data.len()) as u64 > max {
        pr_err!("playlist: larger than the {} byte limit\n", max);
        inner.staged.truncate(0);
        return Err(EFBIG);
    }
    inner.staged.extend_from_slice(data, GFP_KERNEL)?;
    let verdict = match format::Playlist::parse(&inner.staged) {
        Err(format::Error::Truncated { .. }) => None,
        Ok(_) => Some(Ok(())),
        Err(err) => {
            pr_err!("playlist refused: {}\n", err);
            Some(Err(EINVAL))
        }
    };
    match verdict {
        None => {}
        Some(Ok(())) => {
            let bytes = core::mem::replace(&mut inner.staged, KVVec::new());
            if inner.active.is_some() {
                // While caching, a playlist is appended at once.
                c.append(&mut inner, &bytes)?;
            } else {
                inner.ready = Some(bytes);
            }
        }
        Some(Err(err)) => {
            inner.staged.truncate(0);
            return Err(err);
        }
    }
    Ok(data.len())
}

fn read_history(c: &Arc<Control>, offset: u64, out: &mut [u8]) -> Result<usize> {
    let inner = c.inner.lock();
    let Some(history) = inner.history.as_ref() else {
        return Err(
            if inner.recorder.as_ref().is_some_and(|r| r.is_recording()) {
                EBUSY
            } else {
                Error::from_errno(-(uapi::ENODATA as i32))
            },
        );
    };
    let Some(rest) = history.get(offset as usize..) else {
        return Ok(0);
    };
    let count = rest.len().min(out.len());
    out[..count].copy_from_slice(&rest[..count]);
    Ok(count)
}

static ATTRS: [Attribute<Arc<Control>>; 11] = [
    Attribute::new_ro(c_str!("version"), 0o444, show_version),
    Attribute::new_ro(c_str!("boot"), 0o444, show_boot),
    Attribute::new_ro(c_str!("embedded"), 0o444, show_embedded),
    Attribute::new_ro(c_str!("state"), 0o444, show_state),
    Attribute::new_ro(c_str!("recording"), 0o444, show_recording),
    Attribute::new_ro(c_str!("reason"), 0o444, show_reason),
    Attribute::new_wo(c_str!("control"), 0o200, store_control),
    Attribute::new_rw(c_str!("wait_limit_ms"), 0o644, show_wait, store_wait),
    Attribute::new_rw(c_str!("miss_limit"), 0o644, show_misses, store_misses),
    Attribute::new_rw(c_str!("record_limit_ms"), 0o644, show_record, store_record),
    Attribute::new_rw(
        c_str!("history_entries"),
        0o644,
        show_entries,
        store_entries,
    ),
];

static BIN_ATTRS: [BinAttribute<Arc<Control>>; 2] = [
    BinAttribute::new_wo(c_str!("playlist"), 0o200, 0, write_playlist),
    BinAttribute::new_ro(c_str!("history"), 0o400, 0, read_history),
];

static GROUPS: [Group<Arc<Control>>; 1] = [Group::new(c_str!("stats"), &stats::attrs::STATS)];

/// Makes `/sys/kernel/bootcache/` and its files, for `control`.
pub(crate) fn create(control: &Arc<Control>) -> Result<Dir<Arc<Control>>> {
    Dir::builder(c_str!("bootcache"))
        .attrs(&ATTRS)
        .bin_attrs(&BIN_ATTRS)
        .groups(&GROUPS)
        .build_in_kernel(control.clone())
}
