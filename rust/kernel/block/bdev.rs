// SPDX-License-Identifier: GPL-2.0

//! Block devices: finding them by name, number or partition UUID, and holding
//! them open.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::{code::*, from_err_ptr, Result},
    ffi::{c_int, c_void},
    page::{Page, PAGE_SIZE},
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
///
/// // Every disk listed is a whole disk; its first block can be read, and a
/// // read that is not whole blocks within the disk and a page is refused.
/// for disk in DevT::disks()?.iter() {
///     let Ok(bdev) = BlockDevice::open_read(disk.dev) else {
///         continue; // An empty CD drive, say.
///     };
///     assert_eq!(bdev.disk_dev(), disk.dev);
///     assert_eq!(bdev.start_sector(), 0);
///     let lbs = bdev.logical_block_size() as usize;
///     assert!(lbs.is_power_of_two() && lbs >= 512);
///     let mut buf = KVec::from_elem(0u8, 8192, GFP_KERNEL)?;
///     assert_eq!(bdev.read_at(1, &mut buf[..lbs]), Err(EINVAL));
///     assert_eq!(bdev.read_at(0, &mut buf[..]), Err(EINVAL));
///     assert_eq!(bdev.read_at(bdev.nr_sectors() * 512, &mut buf[..lbs]), Err(EINVAL));
///     if bdev.nr_sectors() * 512 >= lbs as u64 && lbs <= 4096 {
///         assert_eq!(bdev.read_at(0, &mut buf[..lbs]), Ok(()));
///     }
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DevT(u32);

/// The unit of `bi_sector` and of device sizes, in bytes.
const SECTOR_SIZE: u64 = 512;

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

    /// Returns the whole disks the kernel has now (no partitions), in the
    /// order the block class lists them, each with its sequence number.
    ///
    /// Disks come and go: one in the list may be gone by the time it is
    /// opened, and a disk added meanwhile is not in it.
    pub fn disks() -> Result<KVec<DiskSeq>> {
        let mut found = Disks {
            devs: KVec::new(),
            status: Ok(()),
        };
        // SAFETY: `block_class` is a static object, and `found` outlives the
        // call; `collect_disk` only uses it as a `Disks`.
        unsafe {
            bindings::class_for_each_device(
                &bindings::block_class,
                core::ptr::null(),
                (&mut found as *mut Disks).cast::<c_void>(),
                Some(collect_disk),
            )
        };
        found.status.map(|()| found.devs)
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

/// A whole disk and its sequence number (`diskseq`), which is unique since
/// boot and raised whenever the disk's medium changes: the same pair means
/// the same medium.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DiskSeq {
    /// The disk's device number.
    pub dev: DevT,
    /// Its sequence number.
    pub seq: u64,
}

/// What [`DevT::disks`] collects into.
struct Disks {
    devs: KVec<DiskSeq>,
    status: Result,
}

/// Adds a block class device to a [`Disks`] if it is a whole disk.
///
/// # Safety
///
/// `dev` is a live device of the block class and `data` points to a `Disks`
/// that nothing else uses during the call.
unsafe extern "C" fn collect_disk(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: By the safety requirements, `data` points to a `Disks` that is
    // ours for the duration of the call.
    let found = unsafe { &mut *data.cast::<Disks>() };
    // SAFETY: Every device of the block class is the `bd_device` of a
    // `struct block_device`.
    let bdev = unsafe { bindings::dev_to_bdev(dev) };
    // SAFETY: `bdev` and its disk are live while the class iterator holds
    // `dev`; `diskseq` is written as a whole aligned word.
    let (devt, disk, seq) = unsafe {
        let gendisk = (*bdev).bd_disk;
        (
            (*bdev).bd_dev,
            bindings::disk_devt(gendisk),
            core::ptr::read_volatile(core::ptr::addr_of!((*gendisk).diskseq)),
        )
    };
    if devt != disk {
        return 0;
    }
    let entry = DiskSeq {
        dev: DevT(devt),
        seq,
    };
    match found.devs.push(entry, GFP_KERNEL) {
        Ok(()) => 0,
        Err(e) => {
            found.status = Err(e.into());
            // Stops the walk.
            1
        }
    }
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
        Self::open(dev, bindings::BLK_OPEN_READ)
    }

    /// Opens the block device `dev` for reading without acting on a
    /// removable drive (`BLK_OPEN_NDELAY`, as `O_NONBLOCK` does): a CD or DVD
    /// drive's tray is not closed and its door not locked, and the open
    /// works with no medium in, when reads fail. For a look at what a drive
    /// holds.
    pub fn open_read_nodelay(dev: DevT) -> Result<Self> {
        Self::open(dev, bindings::BLK_OPEN_READ | bindings::BLK_OPEN_NDELAY)
    }

    fn open(dev: DevT, mode: bindings::blk_mode_t) -> Result<Self> {
        // SAFETY: No holder, so no holder operations are needed.
        let file = from_err_ptr(unsafe {
            bindings::bdev_file_open_by_dev(
                dev.as_raw(),
                mode,
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

    /// Returns the logical block size in bytes: the smallest unit the disk
    /// addresses (512, or 2048 for a CD/DVD drive, or 4096).
    pub fn logical_block_size(&self) -> u32 {
        // SAFETY: The block device lives while it is open.
        unsafe { bindings::bdev_logical_block_size(self.as_raw()) }
    }

    /// Reads `dst.len()` bytes at byte `offset` of this device into `dst`,
    /// and waits for them. For small reads outside the I/O path, such as a
    /// file system's label: the bio goes past any bio filter of the disk.
    ///
    /// `offset` and `dst.len()` are multiples of the logical block size and
    /// the read lies within the device and one page; otherwise `EINVAL`.
    /// `EIO` if the disk fails the read.
    pub fn read_at(&self, offset: u64, dst: &mut [u8]) -> Result {
        let lbs = u64::from(self.logical_block_size());
        let len = dst.len() as u64;
        if len == 0
            || dst.len() > PAGE_SIZE
            || offset % lbs != 0
            || len % lbs != 0
            || offset
                .checked_add(len)
                .filter(|&end| end <= self.nr_sectors() * SECTOR_SIZE)
                .is_none()
        {
            return Err(EINVAL);
        }
        let page = Page::alloc_page(GFP_KERNEL)?;
        // SAFETY: `bio_kmalloc` returns an uninitialised bio with room for
        // one inline vector, or null.
        let bio = unsafe { bindings::bio_kmalloc(1, bindings::GFP_KERNEL) };
        if bio.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `bio` has room for one vector inline and this device is
        // open; `page` outlives the bio, which is gone when
        // `submit_bio_wait` returns; `len` fits the page.
        let ret = unsafe {
            bindings::bio_init(
                bio,
                self.as_raw(),
                (*bio).bi_inline_vecs.as_mut_ptr(),
                1,
                bindings::req_op_REQ_OP_READ,
            );
            (*bio).bi_iter.bi_sector = offset / SECTOR_SIZE;
            bindings::__bio_add_page(bio, page.as_ptr(), len as u32, 0);
            // Not the boot's I/O: a filter of the disk neither serves nor
            // records it.
            #[cfg(CONFIG_BLK_FILTER)]
            {
                (*bio).bi_flags |= 1 << bindings::BIO_FILTERED;
            }
            let ret = bindings::submit_bio_wait(bio);
            bindings::bio_uninit(bio);
            bindings::kfree(bio.cast());
            ret
        };
        if ret != 0 {
            return Err(EIO);
        }
        super::bio::read_page(&page, 0, dst)
    }

    /// Returns `true` if the disk is rotational (a hard disk or optical drive).
    pub fn is_rotational(&self) -> bool {
        // SAFETY: The block device lives while it is open.
        let nonrot = unsafe { bindings::bdev_nonrot(self.as_raw()) };
        !nonrot
    }

    /// Returns how many commands the disk takes at once (`blk_queue_depth()`):
    /// 1 for a drive that serves one command at a time, as an ATAPI optical
    /// drive or a USB mass storage device over Bulk-Only Transport do.
    pub fn queue_depth(&self) -> u32 {
        // SAFETY: The block device and its queue live while it is open; the
        // two fields are only read.
        unsafe {
            let q = bindings::bdev_get_queue(self.as_raw());
            match (*q).queue_depth {
                0 => (*q).nr_requests as u32,
                depth => depth,
            }
        }
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
