// SPDX-License-Identifier: GPL-2.0

//! How bootcache starts at boot: the `bootcache=` parameter, the `root=`
//! parameter (the volume to record without a playlist, unless
//! `bootcache=record,volume=` names another), and the playlist built into
//! the kernel image.
//!
//! The kernel's command line is read through `kernel::cmdline`, which splits
//! it with the kernel's own parser; `param.c` claims `bootcache=` so that
//! the kernel does not pass it on to init. The built-in playlist's bytes are
//! init data, copied by `embedded.c` while they are there.

// Shared with the host's tests, so its items are `pub` for the host's sake.
#[expect(
    unreachable_pub,
    reason = "shared with the host, which needs the items pub"
)]
pub(crate) mod param;

use crate::format::{self, VolumeId};
use crate::plan::Plan;
use crate::session::Control;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use param::{BootParams, Problem};

/// Reads `bootcache=`, reporting what it ignores.
pub(crate) fn params() -> BootParams<'static> {
    let value = match kernel::cmdline::get(c_str!("bootcache")) {
        Ok(Some(value)) => value,
        // No parameter: nothing to report.
        Ok(None) => return param::parse(b"", |_| ()),
        Err(err) => {
            pr_err!("cannot read bootcache=: {:?}; ignored\n", err);
            return param::parse(b"", |_| ());
        }
    };
    param::parse(value, |problem| {
        let (what, word) = match problem {
            Problem::UnknownMode(word) => ("unknown mode", word),
            Problem::UnknownOption(word) => ("unknown option", word),
            Problem::BadWait(word) => ("wait= wants milliseconds up to 600000, not", word),
            Problem::Useless(word) => ("option means nothing with this mode", word),
        };
        pr_warn!(
            "bootcache=: {} '{}'; ignored\n",
            what,
            kernel::str::BStr::from_bytes(word)
        );
    })
}

/// The volume `bootcache=record,volume=VOLUME` names, or `None` to record
/// the root file system's partition (also when VOLUME is not a volume's
/// name, which is reported).
pub(crate) fn record_volume(params: &BootParams<'_>) -> Option<VolumeId> {
    let text = params.volume?;
    let id = core::str::from_utf8(text).ok().and_then(VolumeId::parse);
    if id.is_none() {
        pr_warn!(
            "bootcache=: volume= names no volume: '{}'; recording the root's\n",
            kernel::str::BStr::from_bytes(text)
        );
    }
    id
}

impl Control {
    /// Starts caching with the playlist built into the kernel image. Runs in
    /// the module's init, while the playlist's init memory is still there;
    /// what goes wrong is logged and the boot goes on without bootcache.
    pub(crate) fn autostart_embedded(self: &Arc<Self>, record: bool) {
        let bytes = match embedded_playlist() {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                pr_info!("no playlist is built in; waiting for userspace\n");
                return;
            }
            Err(err) => {
                pr_err!("cannot copy the built-in playlist: {:?}\n", err);
                return;
            }
        };
        let plan = match format::Playlist::parse(&bytes) {
            Ok(playlist) => Plan::from_playlist(&playlist),
            Err(err) => {
                pr_err!("built-in playlist refused: {}; booting without it\n", err);
                return;
            }
        };
        let res = plan.and_then(|plan| {
            let mut inner = self.inner.lock();
            self.start_plan(&mut inner, plan, record, true)
        });
        if let Err(err) = res {
            pr_err!("cannot start with the built-in playlist: {:?}\n", err);
        }
    }
}

/// Returns the size of the playlist built into the kernel image (0 if there
/// is none); it stays known after the bytes are freed.
pub(crate) fn embedded_playlist_len() -> usize {
    kernel::bootcache::embedded_playlist_len()
}

/// Copies the playlist built into the kernel image, `None` if there is none.
/// Only an initcall can (`EPERM` elsewhere): the bytes are init data.
fn embedded_playlist() -> Result<Option<KVVec<u8>>> {
    let len = embedded_playlist_len();
    if len == 0 {
        return Ok(None);
    }
    let mut bytes = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
    kernel::bootcache::copy_embedded_playlist(&mut bytes)?;
    Ok(Some(bytes))
}

/// Returns the value of `root=`, if the command line has one.
pub(crate) fn root_arg() -> Result<Option<&'static [u8]>> {
    kernel::cmdline::get(c_str!("root"))
}
