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
/// // Lookups that find nothing say so.
/// assert_eq!(DevT::find_by_name(c_str!("no-such-disk")), Err(ENODEV));
/// assert_eq!(DevT::find_by_partuuid("00000000-00"), Err(ENODEV));
/// assert_eq!(DevT::find_by_partuuid(""), Err(EINVAL));
///
/// // Loop devices have major number 7 (`LOOP_MAJOR`); one opens even when
/// // it is bound to no file, and then it is not zoned.
/// if let Ok(dev) = DevT::find_by_name(c_str!("loop0")) {
///     assert_eq!((dev.major(), dev.minor()), (7, 0));
///     let loop0 = BlockDevice::open_read(dev)?;
///     assert_eq!(loop0.disk_dev(), dev);
///     assert_eq!(loop0.start_sector(), 0);
///     assert!(!loop0.is_zoned());
///     assert!(loop0.max_sectors() > 0);
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DevT(u32);

/// Bits of a `dev_t` that hold the minor number (`MINORBITS`).
const MINOR_BITS: u32 = 20;

impl DevT {
    /// Makes a device number from its kernel encoding.
    pub(crate) const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// Returns the kernel encoding of this device number.
    const fn as_raw(self) -> u32 {
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
    pub(crate) fn as_raw(&self) -> *mut bindings::block_device {
        // SAFETY: By the type invariant, `file` is an open block device file.
        unsafe { bindings::file_bdev(self.file.as_ptr()) }
    }

    /// Returns the device number of the whole disk this device is on.
    pub fn disk_dev(&self) -> DevT {
        // SAFETY: The block device and its disk live while it is open.
        DevT(unsafe { bindings::disk_devt(self.raw_disk()) })
    }

    /// Returns the size in 512-byte sectors.
    pub fn nr_sectors(&self) -> u64 {
        // SAFETY: The block device lives while it is open.
        unsafe { bindings::bdev_nr_sectors(self.as_raw()) }
    }

    /// Returns the first sector of this device on its disk (0 for a disk).
    pub fn start_sector(&self) -> u64 {
        // SAFETY: The block device lives while it is open.
        unsafe { bindings::get_start_sect(self.as_raw()) }
    }

    /// Returns the `struct gendisk` of the disk this device is on.
    pub(crate) fn raw_disk(&self) -> *mut bindings::gendisk {
        // SAFETY: The block device lives while it is open.
        unsafe { (*self.as_raw()).bd_disk }
    }

    /// Returns the largest I/O the disk takes in one request, in 512-byte
    /// sectors (`max_sectors_kb * 2`).
    pub fn max_sectors(&self) -> u32 {
        // SAFETY: The block device, and so its disk's queue, live while it is
        // open.
        unsafe { bindings::queue_max_sectors(bindings::bdev_get_queue(self.as_raw())) }
    }

    /// Returns `true` if the disk is rotational (a hard disk or optical drive).
    pub fn is_rotational(&self) -> bool {
        // SAFETY: The block device lives while it is open.
        let nonrot = unsafe { bindings::bdev_nonrot(self.as_raw()) };
        !nonrot
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
}

impl Drop for BlockDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own `file`; this closes it.
        unsafe { bindings::bdev_fput(self.file.as_ptr()) };
    }
}
