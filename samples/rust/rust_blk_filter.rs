// SPDX-License-Identifier: GPL-2.0

//! Rust bio filter sample: counts the bios submitted to a disk.
//!
//! Write a disk name to `/sys/kernel/rust_blk_filter/attach` to put a filter
//! on that disk (a disk takes one filter: a second attach fails with
//! `EBUSY`), and anything to `detach` to take the filters off. `disk` lists
//! the device numbers of the disks with a filter. The filters let every bio
//! through and count them per operation, with their bytes, in the other
//! files of the directory:
//!
//! ```text
//! # echo vdb > /sys/kernel/rust_blk_filter/attach
//! # dd if=/dev/vdb of=/dev/null bs=4096 count=10 iflag=direct
//! # cat /sys/kernel/rust_blk_filter/reads /sys/kernel/rust_blk_filter/read_bytes
//! 10
//! 40960
//! ```

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::block::bdev::{BlockDevice, DevT};
use kernel::block::bio::{Bio, Op};
use kernel::block::filter::{Filter, Registration};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{new_mutex, Arc, Mutex};
use kernel::sysfs::{Attribute, Dir, ShowBuf};

module! {
    type: RustBlkFilter,
    name: "rust_blk_filter",
    author: "The bootcache developers",
    description: "Rust bio filter sample",
    license: "GPL",
}

/// What the filter counts.
#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    read_bytes: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
    flushes: AtomicU64,
    discards: AtomicU64,
    others: AtomicU64,
    disk_gone: AtomicU64,
}

/// The filter: counts, then lets every bio go on to the disk.
struct CountingFilter {
    counters: Arc<Counters>,
}

impl Filter for CountingFilter {
    fn submit_bio(&self, bio: Bio) -> Option<Bio> {
        let c = &self.counters;
        let bytes = u64::from(bio.size());
        match bio.op() {
            Op::Read => {
                c.reads.fetch_add(1, Ordering::Relaxed);
                c.read_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Op::Write => {
                c.writes.fetch_add(1, Ordering::Relaxed);
                c.write_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Op::Flush => {
                c.flushes.fetch_add(1, Ordering::Relaxed);
            }
            Op::Discard => {
                c.discards.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                c.others.fetch_add(1, Ordering::Relaxed);
            }
        }
        Some(bio)
    }

    fn disk_gone(&self) {
        self.counters.disk_gone.fetch_add(1, Ordering::Relaxed);
    }
}

/// A filter on a disk, and the open device that keeps the disk with us. The
/// registration is dropped (detached) before the device is closed.
struct Attached {
    _registration: Pin<KBox<Registration<CountingFilter>>>,
    bdev: BlockDevice,
}

#[pin_data]
struct State {
    counters: Arc<Counters>,
    #[pin]
    attached: Mutex<KVec<Attached>>,
}

/// Copies a sysfs write into `buf` as a NUL-terminated name; returns the
/// name's length.
fn name_from(input: &[u8], buf: &mut [u8; 32]) -> Result<usize> {
    let name = match input.strip_suffix(b"\n") {
        Some(n) => n,
        None => input,
    };
    if name.is_empty() || name.len() >= buf.len() || name.contains(&0) {
        return Err(EINVAL);
    }
    buf[..name.len()].copy_from_slice(name);
    buf[name.len()] = 0;
    Ok(name.len())
}

fn store_attach(state: &Arc<State>, input: &[u8]) -> Result {
    let mut buf = [0u8; 32];
    let len = name_from(input, &mut buf)?;
    let name = CStr::from_bytes_with_nul(&buf[..=len])?;
    let bdev = BlockDevice::open_read(DevT::find_by_name(name)?)?;
    let filter = CountingFilter {
        counters: state.counters.clone(),
    };
    let mut attached = state.attached.lock();
    attached.reserve(1, GFP_KERNEL)?;
    // The filter core refuses a second filter on a disk with `EBUSY`.
    let registration = KBox::pin_init(Registration::new(&bdev, filter), GFP_KERNEL)?;
    pr_info!("attached to {}\n", name);
    attached.push(
        Attached {
            _registration: registration,
            bdev,
        },
        GFP_KERNEL,
    )?;
    Ok(())
}

fn store_detach(state: &Arc<State>, _input: &[u8]) -> Result {
    // Detach (which waits for running filter calls) outside the lock.
    let old = core::mem::take(&mut *state.attached.lock());
    if old.is_empty() {
        return Err(ENODEV);
    }
    drop(old);
    Ok(())
}

fn show_disk(state: &Arc<State>, buf: &mut ShowBuf<'_>) -> Result {
    let attached = state.attached.lock();
    for a in attached.iter() {
        let dev = a.bdev.disk_dev();
        writeln!(buf, "{}:{}", dev.major(), dev.minor())?;
    }
    Ok(())
}

macro_rules! counter_attrs {
    ($($name:ident),* $(,)?) => {
        $(
            fn $name(state: &Arc<State>, buf: &mut ShowBuf<'_>) -> Result {
                writeln!(buf, "{}", state.counters.$name.load(Ordering::Relaxed))?;
                Ok(())
            }
        )*
    };
}

counter_attrs!(
    reads,
    read_bytes,
    writes,
    write_bytes,
    flushes,
    discards,
    others,
    disk_gone
);

static ATTRS: [Attribute<Arc<State>>; 11] = [
    Attribute::new_wo(c_str!("attach"), 0o200, store_attach),
    Attribute::new_wo(c_str!("detach"), 0o200, store_detach),
    Attribute::new_ro(c_str!("disk"), 0o444, show_disk),
    Attribute::new_ro(c_str!("reads"), 0o444, reads),
    Attribute::new_ro(c_str!("read_bytes"), 0o444, read_bytes),
    Attribute::new_ro(c_str!("writes"), 0o444, writes),
    Attribute::new_ro(c_str!("write_bytes"), 0o444, write_bytes),
    Attribute::new_ro(c_str!("flushes"), 0o444, flushes),
    Attribute::new_ro(c_str!("discards"), 0o444, discards),
    Attribute::new_ro(c_str!("others"), 0o444, others),
    Attribute::new_ro(c_str!("disk_gone"), 0o444, disk_gone),
];

struct RustBlkFilter {
    _dir: Dir<Arc<State>>,
}

impl kernel::Module for RustBlkFilter {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let state = Arc::pin_init(
            pin_init!(State {
                counters,
                attached <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        let dir = Dir::new_in_kernel(c_str!("rust_blk_filter"), state, &ATTRS)?;
        Ok(RustBlkFilter { _dir: dir })
    }
}
