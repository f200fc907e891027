// SPDX-License-Identifier: GPL-2.0

//! The files under `/sys/kernel/bootcache/`.

use crate::boot;
use crate::format;
use crate::session::{Control, Reason};
use crate::stats;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::sysfs::{Attribute, BinAttribute, Dir, Group, ShowBuf};
use kernel::uapi;

/// Writes `value` and a newline: the whole of a text file.
pub(crate) fn emit(buf: &mut ShowBuf<'_>, value: impl fmt::Display) -> Result {
    writeln!(buf, "{value}")?;
    Ok(())
}

fn show_version(_: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    emit(buf, uapi::BOOTCACHE_FORMAT_VERSION)
}

fn show_boot(control: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    emit(buf, control.boot.name())
}

fn show_embedded(control: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    emit(buf, control.embedded)
}

fn show_state(control: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    emit(buf, control.state())
}

fn show_recording(control: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    let on = control
        .inner
        .lock()
        .recorder
        .as_ref()
        .is_some_and(|r| r.is_recording());
    emit(buf, u8::from(on))
}

fn show_reason(control: &Arc<Control>, buf: &mut ShowBuf<'_>) -> Result {
    emit(buf, Reason::name_of(control.inner.lock().last_reason))
}

fn store_control(control: &Arc<Control>, input: &[u8]) -> Result {
    let word = input.strip_suffix(b"\n").unwrap_or(input);
    match word {
        b"start" => control.start(),
        b"record" => control.record(false, None),
        b"stop" => {
            let mut inner = control.inner.lock();
            control.stop_recording(&mut inner)
        }
        b"tag" => control.tag(),
        b"jettison" => control.jettison(Reason::Command),
        _ => {
            pr_err!("control: unknown command (start, record, stop, tag or jettison)\n");
            Err(EINVAL)
        }
    }
}

/// A tunable: a decimal number in a range.
fn parse_num(input: &[u8], min: u64, max: u64) -> Result<u64> {
    let text = core::str::from_utf8(input).map_err(|_| EINVAL)?.trim();
    let value: u64 = text.parse().map_err(|_| EINVAL)?;
    if value < min || value > max {
        return Err(ERANGE);
    }
    Ok(value)
}

/// Makes [`Tunables`] and the directory's text files: `files` are the
/// files that are not tunables; each tunable is one line with its name (the
/// file's and the field's), its atomic type and value type, its default,
/// and the smallest and largest values a write may set.
macro_rules! tunables {
    (
        files: [$($file:expr,)*],
        $($(#[doc = $doc:literal])*
        $name:ident: $atomic:ident as $ty:ty = $default:expr, from $min:expr, to $max:expr;)*
    ) => {
        /// The tunables, in `/sys/kernel/bootcache/`. A session takes their
        /// values when it starts.
        pub(crate) struct Tunables {
            $($(#[doc = $doc])* pub(crate) $name: $atomic,)*
        }

        impl Tunables {
            /// Makes the tunables, set to their defaults.
            pub(crate) const fn new() -> Self {
                Self {
                    $($name: $atomic::new($default),)*
                }
            }
        }

        static ATTRS: [Attribute<Arc<Control>>;
            [$(stringify!($file),)* $(stringify!($name),)*].len()] = [
            $($file,)*
            $(Attribute::new_rw(
                c_str!(stringify!($name)),
                0o644,
                |control, buf| emit(buf, control.tunables.$name.load(Ordering::Relaxed)),
                |control, input| {
                    let value = parse_num(input, $min as u64, $max as u64)?;
                    control.tunables.$name.store(value as $ty, Ordering::Relaxed);
                    Ok(())
                },
            ),)*
        ];
    };
}

tunables! {
    files: [
        Attribute::new_ro(c_str!("version"), 0o444, show_version),
        Attribute::new_ro(c_str!("boot"), 0o444, show_boot),
        Attribute::new_ro(c_str!("embedded"), 0o444, show_embedded),
        Attribute::new_ro(c_str!("state"), 0o444, show_state),
        Attribute::new_ro(c_str!("recording"), 0o444, show_recording),
        Attribute::new_ro(c_str!("reason"), 0o444, show_reason),
        Attribute::new_wo(c_str!("control"), 0o200, store_control),
    ],
    /// How long a read may wait for read-ahead, in milliseconds.
    wait_limit_ms: AtomicU32 as u32 = 10_000, from 0, to boot::param::MAX_WAIT_MS;
    /// Reads since the last hit after which the cache jettisons itself.
    miss_limit: AtomicU64 as u64 = 10_000, from 1, to u64::MAX;
    /// Recording stops by itself after this many milliseconds (0: never).
    record_limit_ms: AtomicU32 as u32 = 240_000, from 0, to 3_600_000;
    /// Events the history holds.
    history_entries: AtomicU32 as u32 = 65_536, from 16, to format::MAX_HISTORY_ENTRIES;
}

/// Takes a playlist in chunks; validates it whole once its header's size
/// has arrived.
fn write_playlist(control: &Arc<Control>, offset: u64, data: &[u8]) -> Result<usize> {
    let mut inner = control.inner.lock();
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
                control.append(&mut inner, &bytes)?;
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

fn read_history(control: &Arc<Control>, offset: u64, out: &mut [u8]) -> Result<usize> {
    let inner = control.inner.lock();
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

static BIN_ATTRS: [BinAttribute<Arc<Control>>; 2] = [
    BinAttribute::new_wo(c_str!("playlist"), 0o200, 0, write_playlist),
    BinAttribute::new_ro(c_str!("history"), 0o400, 0, read_history),
];

static GROUPS: [Group<Arc<Control>>; 1] = [Group::new(c_str!("stats"), &stats::FILES)];

/// Makes `/sys/kernel/bootcache/` and its files, for `control`.
pub(crate) fn create(control: &Arc<Control>) -> Result<Dir<Arc<Control>>> {
    Dir::builder(c_str!("bootcache"))
        .attrs(&ATTRS)
        .bin_attrs(&BIN_ATTRS)
        .groups(&GROUPS)
        .build_in_kernel(control.clone())
}
