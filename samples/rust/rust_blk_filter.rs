// SPDX-License-Identifier: GPL-2.0

//! Rust bio filter sample: counts the bios submitted to a disk.
//!
//! Write a disk name to `/sys/kernel/rust_blk_filter/attach` to put a filter
//! on that disk (a disk takes one filter: a second attach fails with
//! `EBUSY`; a bio-based disk takes none: `EOPNOTSUPP`), and anything to
//! `detach` to take the filters off. `disk` lists the device numbers of the
//! disks with a filter. The filters let every bio through and count them per
//! operation, with their bytes, in the other files of the directory. They
//! also count the bios submitted before the attach that reached the disk
//! after it (`missed`, `missed_writes`), and how often the block layer took a
//! filter off because its disk was deleted (`disk_gone`) or its medium
//! changed (`media_changed`):
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
use kernel::block::bio::{Bio, BioRef, Op};
use kernel::block::filter::{Filter, Gone, Registration, Verdict};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
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
    missed: AtomicU64,
    missed_writes: AtomicU64,
    disk_gone: AtomicU64,
    media_changed: AtomicU64,
}

/// The filter: counts, then lets every bio go on to the disk.
struct CountingFilter;

#[vtable]
impl Filter for CountingFilter {
    type Data = Arc<Counters>;

    fn submit_bio(c: ArcBorrow<'_, Counters>, bio: Bio) -> Verdict {
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
        Verdict::Pass(bio)
    }

    fn missed_bio(c: ArcBorrow<'_, Counters>, bio: &BioRef) {
        // Every write comes here too, also one `submit_bio` counted (or an
        // earlier filter of the disk saw): count only the bios no filter saw.
        if bio.was_filtered() {
            return;
        }
        c.missed.fetch_add(1, Ordering::Relaxed);
        if bio.op().is_write() {
            c.missed_writes.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn gone(c: ArcBorrow<'_, Counters>, reason: Gone) {
        match reason {
            Gone::DiskDeleted => c.disk_gone.fetch_add(1, Ordering::Relaxed),
            Gone::MediaChanged => c.media_changed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// A filter on a disk, and the open device that keeps the disk with us. The
/// registration is dropped (detached) before the device is closed. The block
/// layer may have detached the filter by itself already.
struct Attached {
    registration: Pin<KBox<Registration<CountingFilter>>>,
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
    let mut attached = state.attached.lock();
    attached.reserve(1, GFP_KERNEL)?;
    // The filter core refuses a second filter on a disk with `EBUSY`, and a
    // bio-based disk with `EOPNOTSUPP`.
    let registration = KBox::pin_init(
        Registration::<CountingFilter>::new(&bdev, state.counters.clone()),
        GFP_KERNEL,
    )?;
    pr_info!("attached to {}\n", name);
    attached.push(Attached { registration, bdev }, GFP_KERNEL)?;
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
    for a in attached.iter().filter(|a| a.registration.is_attached()) {
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
    missed,
    missed_writes,
    disk_gone,
    media_changed
);

static ATTRS: [Attribute<Arc<State>>; 14] = [
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
    Attribute::new_ro(c_str!("missed"), 0o444, missed),
    Attribute::new_ro(c_str!("missed_writes"), 0o444, missed_writes),
    Attribute::new_ro(c_str!("disk_gone"), 0o444, disk_gone),
    Attribute::new_ro(c_str!("media_changed"), 0o444, media_changed),
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
