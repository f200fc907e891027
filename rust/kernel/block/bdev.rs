// SPDX-License-Identifier: GPL-2.0

//! Block devices: finding them by name, number or partition UUID, and holding
//! them open.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use crate::{
    bindings,
    error::{code::*, from_err_ptr, Result},
    ffi::{c_int, c_void},
    str::CStr,
};
use core::ptr::NonNull;

/// A block device number (`dev_t`): a major and a minor number.
///
/// # Examples
///
/// ```
/// use kernel::block::bdev::{BlockDevice, DevT};
/// use kernel::c_str;
///
/// let dev = DevT::new(254, 17);
/// assert_eq!((dev.major(), dev.minor()), (254, 17));
/// assert_eq!(DevT::from_raw(dev.as_raw()), dev);
///
/// // Lookups that find nothing say so, and opening a device that does not
/// // exist fails.
/// assert_eq!(DevT::find_by_name(c_str!("no-such-disk")), Err(ENODEV));
/// assert_eq!(DevT::find_by_partuuid("00000000-00"), Err(ENODEV));
/// assert_eq!(DevT::find_by_partuuid(""), Err(EINVAL));
/// assert!(BlockDevice::open_read(DevT::new(4095, 1)).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DevT(u32);

/// Bits of a `dev_t` that hold the minor number (`MINORBITS`).
const MINOR_BITS: u32 = 20;

impl DevT {
    /// Makes a device number from its major and minor numbers.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self((major << MINOR_BITS) | (minor & ((1 << MINOR_BITS) - 1)))
    }

    /// Makes a device number from its kernel encoding.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// Returns the kernel encoding of this device number.
    pub const fn as_raw(self) -> u32 {
        self.0
    }

    /// Returns the major number.
    pub const fn major(self) -> u32 {
        self.0 >> MINOR_BITS
    }

    /// Returns the minor number.
    pub const fn minor(self) -> u32 {
        self.0 & ((1 << MINOR_BITS) - 1)
    }

    /// Returns the device the kernel mounted as root (`ROOT_DEV`), or `None`
    /// if it has none (yet: it is set when the kernel mounts the root
    /// itself, and stays unset when an initramfs does).
    pub fn root() -> Option<Self> {
        // SAFETY: `ROOT_DEV` is a plain `dev_t` that boot code sets once; a
        // volatile read of it is always defined.
        let raw = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::ROOT_DEV)) };
        (raw != 0).then_some(Self(raw))
    }

    /// Finds the block device (disk or partition) called `name`, such as
    /// `vda` or `sda1`.
    ///
    /// Returns `ENODEV` if there is none.
    pub fn find_by_name(name: &CStr) -> Result<Self> {
        // SAFETY: `block_class` is a static object, `name` is a valid C string
        // for the duration of the call, and `device_match_name` compares a
        // device's name with it.
        let dev = unsafe {
            bindings::class_find_device(
                &bindings::block_class,
                core::ptr::null(),
                name.as_char_ptr().cast::<c_void>(),
                Some(bindings::device_match_name),
            )
        };
        Self::from_found_device(dev)
    }

    /// Finds the partition whose partition UUID is `uuid`, written as the
    /// kernel shows it (GPT: `01234567-89ab-cdef-0123-456789abcdef`; MBR:
    /// `SSSSSSSS-PP`), in any case.
    ///
    /// Returns `ENODEV` if there is none.
    pub fn find_by_partuuid(uuid: &str) -> Result<Self> {
        if uuid.is_empty() || uuid.len() >= bindings::PARTITION_META_INFO_UUIDLTH as usize {
            return Err(EINVAL);
        }
        // SAFETY: `block_class` is a static object, and `uuid` outlives the
        // call; `match_partuuid` only reads it as a `&str`.
        let dev = unsafe {
            bindings::class_find_device(
                &bindings::block_class,
                core::ptr::null(),
                (&uuid as *const &str).cast::<c_void>(),
                Some(match_partuuid),
            )
        };
        Self::from_found_device(dev)
    }

    fn from_found_device(dev: *mut bindings::device) -> Result<Self> {
        if dev.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `class_find_device` returned a live device of the block
        // class with a reference we now own.
        let devt = unsafe { (*dev).devt };
        // SAFETY: We drop the reference `class_find_device` took.
        unsafe { bindings::put_device(dev) };
        Ok(Self(devt))
    }
}

/// Matches a block class device against a `&str` partition UUID.
///
/// # Safety
///
/// `dev` is a live device of the block class and `data` points to a `&str`.
unsafe extern "C" fn match_partuuid(dev: *mut bindings::device, data: *const c_void) -> c_int {
    // SAFETY: By the safety requirements, `data` points to a `&str`.
    let want = unsafe { *data.cast::<&str>() };
    // SAFETY: Every device of the block class is the `bd_device` of a
    // `struct block_device`.
    let bdev = unsafe { bindings::dev_to_bdev(dev) };
    // SAFETY: `bdev` is live while the class iterator holds `dev`.
    let info = unsafe { (*bdev).bd_meta_info };
    if info.is_null() {
        return 0;
    }
    // SAFETY: `info` is the partition's metadata, which lives as long as the
    // partition; its `uuid` is a NUL-terminated string in a fixed array.
    let uuid = unsafe { &(*info).uuid };
    let len = uuid.iter().position(|&c| c == 0).unwrap_or(uuid.len());
    let have = uuid.get(..len).unwrap_or(&[]);
    c_int::from(
        have.len() == want.len()
            && have
                .iter()
                .zip(want.bytes())
                .all(|(&a, b)| a.eq_ignore_ascii_case(&b)),
    )
}

/// A block device held open for reading.
///
/// # Invariants
///
/// `file` is a block device file returned by `bdev_file_open_by_dev` that this
/// object owns.
pub struct BlockDevice {
    file: NonNull<bindings::file>,
}

// SAFETY: An open block device file may be used and closed from any thread.
unsafe impl Send for BlockDevice {}

// SAFETY: The accessors only read fields that do not change while the device
// is open.
unsafe impl Sync for BlockDevice {}

impl BlockDevice {
    /// Opens the block device `dev` for reading (not exclusively).
    pub fn open_read(dev: DevT) -> Result<Self> {
        // SAFETY: No holder, so no holder operations are needed.
        let file = from_err_ptr(unsafe {
            bindings::bdev_file_open_by_dev(
                dev.as_raw(),
                bindings::BLK_OPEN_READ,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        })?;
        // INVARIANT: `file` is a block device file we own.
        Ok(Self {
            // SAFETY: `from_err_ptr` returned a valid pointer, so not null.
            file: unsafe { NonNull::new_unchecked(file) },
        })
    }

    /// Returns the `struct block_device`.
    pub fn as_raw(&self) -> *mut bindings::block_device {
        // SAFETY: By the type invariant, `file` is an open block device file.
        unsafe { bindings::file_bdev(self.file.as_ptr()) }
    }

    /// Returns the device number.
    pub fn dev(&self) -> DevT {
        // SAFETY: The block device lives while it is open.
        DevT(unsafe { (*self.as_raw()).bd_dev })
    }

    /// Returns the device number of the whole disk this device is on.
    pub fn disk_dev(&self) -> DevT {
        // SAFETY: The block device and its disk live while it is open.
        DevT(unsafe { (*(*(*self.as_raw()).bd_disk).part0).bd_dev })
    }

    /// Returns the size in 512-byte sectors.
    pub fn nr_sectors(&self) -> u64 {
        // SAFETY: The block device lives while it is open.
        unsafe { bindings::bdev_nr_sectors(self.as_raw()) }
    }

    /// Returns the first sector of this device on its disk (0 for a disk).
    pub fn start_sector(&self) -> u64 {
        // SAFETY: The block device lives while it is open.
        unsafe { (*self.as_raw()).bd_start_sect }
    }

    /// Returns the `struct gendisk` of the disk this device is on.
    pub fn raw_disk(&self) -> *mut bindings::gendisk {
        // SAFETY: The block device lives while it is open.
        unsafe { (*self.as_raw()).bd_disk }
    }

    /// Returns the largest I/O the disk takes in one request, in 512-byte
    /// sectors (`max_sectors_kb * 2`).
    pub fn max_sectors(&self) -> u32 {
        // SAFETY: The disk and its queue live while the device is open.
        unsafe { (*(*self.raw_disk()).queue).limits.max_sectors }
    }

    /// Returns `true` if the disk is rotational (a hard disk or optical drive).
    pub fn is_rotational(&self) -> bool {
        // SAFETY: The disk and its queue live while the device is open.
        let features = unsafe { (*(*self.raw_disk()).queue).limits.features };
        features & bindings::BLK_FEAT_ROTATIONAL != 0
    }

    /// Returns `true` if the disk is zoned (host-managed or host-aware, as
    /// SMR hard disks and ZNS SSDs are; `bdev_is_zoned()`).
    ///
    /// Data on a zoned disk also changes through zone operations (reset,
    /// finish, zone append), and the block layer may hold writes in zone
    /// write plugs, so code that keeps a copy of disk data should refuse such
    /// a disk: `EOPNOTSUPP`, with a message naming the disk.
    pub fn is_zoned(&self) -> bool {
        // SAFETY: The block device lives while it is open.
        unsafe { bindings::bdev_is_zoned(self.as_raw()) }
    }

    /// Returns `true` if the disk has a blk-mq request queue
    /// (`queue_is_mq()`), `false` if it is bio-based (device mapper, md, an
    /// NVMe multipath head, brd, zram).
    ///
    /// Only a blk-mq disk can take a [bio filter](super::filter): attaching
    /// one to a bio-based disk fails with `EOPNOTSUPP`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::block::bdev::{BlockDevice, DevT};
    /// use kernel::c_str;
    ///
    /// // A loop device is a blk-mq disk, not zoned, bound or not.
    /// if let Ok(dev) = DevT::find_by_name(c_str!("loop0")) {
    ///     let loop0 = BlockDevice::open_read(dev)?;
    ///     assert!(loop0.is_mq());
    ///     assert!(!loop0.is_zoned());
    ///     assert!(loop0.diskseq() > 0);
    /// }
    /// // A RAM disk (brd) is bio-based.
    /// if let Ok(dev) = DevT::find_by_name(c_str!("ram0")) {
    ///     assert!(!BlockDevice::open_read(dev)?.is_mq());
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn is_mq(&self) -> bool {
        // SAFETY: The disk and its queue live while the device is open.
        unsafe { bindings::queue_is_mq((*self.raw_disk()).queue) }
    }

    /// Returns the disk's sequence number (`diskseq`): unique among the disks
    /// since boot, and raised each time the disk's medium changes (another
    /// disc, a loop device bound to another file).
    ///
    /// Two equal values read from the same device mean the same medium,
    /// unless the change has not been noticed yet (a disc swapped without an
    /// events poll or an open since).
    pub fn diskseq(&self) -> u64 {
        // SAFETY: The disk lives while the device is open. The block layer
        // changes `diskseq` without a lock (`inc_diskseq()`), so read it once,
        // as `READ_ONCE()` does.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.raw_disk()).diskseq)) }
    }
}

impl Drop for BlockDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own `file`; this closes it.
        unsafe { bindings::bdev_fput(self.file.as_ptr()) };
    }
}
