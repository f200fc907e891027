/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bootcache: binary formats shared by the kernel and userspace.
 *
 * Two files cross the boundary between the kernel and the bootcache tool:
 *
 *  - the *playlist*: the sorted set of extents that the kernel reads ahead at
 *    boot, written to /sys/kernel/bootcache or embedded in the kernel image;
 *  - the *history*: what one boot read and wrote, in time order, as the
 *    kernel recorded it, from which the tool makes the next playlist.
 *
 * Both are little-endian and fixed-layout: a header, then @volume_count
 * volume records, then the records that refer to the volumes (extents for a
 * playlist, entries for a history), packed back to back with no gaps and no
 * trailing bytes.  Every structure below has an explicit size and no implicit
 * padding; every reserved field must be zero.  Offsets and lengths are bytes
 * from the start of the volume and are multiples of 512.
 *
 * The checksum is CRC-32C (Castagnoli, reflected polynomial 0x82f63b78,
 * initial value and final xor 0xffffffff; crc32c("123456789") == 0xe3069283)
 * over the whole file, computed with the header's checksum field set to zero.
 *
 * A reader must accept a file only if every field and every cross-reference
 * checks out: the magic, the version, the header size, the flags, the counts
 * and limits, the exact file size, the checksum, every volume, every record,
 * the ordering rules, and the per-volume and total counts and byte sums.  The
 * kernel and the tool share one implementation of these rules
 * (drivers/block/bootcache/format/).
 */
#ifndef _UAPI_LINUX_BOOTCACHE_H
#define _UAPI_LINUX_BOOTCACHE_H

#include <linux/types.h>

/*
 * Version of both formats.  A reader accepts exactly this version: a change
 * of any layout or rule bumps it.  Version 2 added BOOTCACHE_VOLUME_ISO9660,
 * version 3 BOOTCACHE_VOLUME_GPT_DISK and BOOTCACHE_VOLUME_MBR_DISK; files of
 * an earlier version are refused, and a new history makes a new playlist.
 */
#define BOOTCACHE_FORMAT_VERSION	3

/* First four bytes of a playlist ("BCPL" read as a little-endian u32). */
#define BOOTCACHE_PLAYLIST_MAGIC	0x4c504342
/* First four bytes of a history ("BCHI" read as a little-endian u32). */
#define BOOTCACHE_HISTORY_MAGIC		0x49484342

/*
 * Limits.
 *
 * BOOTCACHE_MAX_VOLUMES: a boot touches a handful of partitions; the kernel
 *	keeps one small state per volume and matches every volume against
 *	every block device that appears, so the list stays short.
 * BOOTCACHE_MAX_EXTENTS: a coalesced playlist of a large desktop boot has a
 *	few tens of thousands of extents; 2^20 (a 24 MiB file) bounds the time
 *	and memory the kernel spends validating and indexing one.
 * BOOTCACHE_MAX_BATCHES: a batch number is a __u8; batch 0 is read first.
 * BOOTCACHE_MAX_TOTAL_BYTES: the sum of all extent lengths, 4 GiB.  Boots
 *	read a few hundred MiB; the cap bounds what one playlist can ask the
 *	kernel to cache (the kernel applies its own, lower, memory cap on top).
 * BOOTCACHE_MAX_HISTORY_ENTRIES: 2^21 entries (a 64 MiB file), room for a
 *	long, busy boot; the kernel stops recording (and sets
 *	BOOTCACHE_HISTORY_TRUNCATED) when its own, lower, buffer limit is hit.
 * BOOTCACHE_MAX_VOLUME_BYTES: offset + length of any record must not exceed
 *	2^60 bytes (1 EiB), so byte offsets, sector numbers and their sums never
 *	overflow a loff_t or sector_t.
 * BOOTCACHE_MIN_BLOCK_SIZE, BOOTCACHE_MAX_BLOCK_SIZE: a volume's block size
 *	is a power of two in this range.
 */
#define BOOTCACHE_MAX_VOLUMES		64
#define BOOTCACHE_MAX_EXTENTS		1048576
#define BOOTCACHE_MAX_BATCHES		256
#define BOOTCACHE_MAX_TOTAL_BYTES	0x100000000ULL
#define BOOTCACHE_MAX_HISTORY_ENTRIES	2097152
#define BOOTCACHE_MAX_VOLUME_BYTES	0x1000000000000000ULL
#define BOOTCACHE_SECTOR_SIZE		512
#define BOOTCACHE_MIN_BLOCK_SIZE	512
#define BOOTCACHE_MAX_BLOCK_SIZE	65536

/* Playlist header flags: none are defined; the field must be zero. */
#define BOOTCACHE_PLAYLIST_FLAGS_ALL	0x0

/* History header flags. */
/* The kernel stopped recording early because its buffer was full. */
#define BOOTCACHE_HISTORY_TRUNCATED	0x1
#define BOOTCACHE_HISTORY_FLAGS_ALL	0x1

/*
 * struct bootcache_playlist_header - first 40 bytes of a playlist
 * @magic:        BOOTCACHE_PLAYLIST_MAGIC.
 * @version:      BOOTCACHE_FORMAT_VERSION.
 * @header_size:  sizeof(struct bootcache_playlist_header), 40.
 * @flags:        BOOTCACHE_PLAYLIST_FLAGS_ALL bits only (none today).
 * @checksum:     CRC-32C of the whole file with this field as zero.
 * @volume_count: number of volume records, 0..BOOTCACHE_MAX_VOLUMES.
 * @extent_count: number of extent records, 0..BOOTCACHE_MAX_EXTENTS.  An
 *                empty playlist (no volumes, no extents) is valid and reads
 *                nothing.
 * @total_bytes:  sum of all extent lengths, at most BOOTCACHE_MAX_TOTAL_BYTES.
 * @batch_count:  highest batch number used plus one, 0..BOOTCACHE_MAX_BATCHES
 *                (0 exactly when there are no extents).
 * @reserved:     zero.
 *
 * The file size is exactly 40 + 40 * @volume_count + 24 * @extent_count.
 */
struct bootcache_playlist_header {
	__le32 magic;
	__le16 version;
	__le16 header_size;
	__le32 flags;
	__le32 checksum;
	__le32 volume_count;
	__le32 extent_count;
	__le64 total_bytes;
	__le32 batch_count;
	__le32 reserved;
};

/*
 * struct bootcache_history_header - first 40 bytes of a history
 * @magic:        BOOTCACHE_HISTORY_MAGIC.
 * @version:      BOOTCACHE_FORMAT_VERSION.
 * @header_size:  sizeof(struct bootcache_history_header), 40.
 * @flags:        BOOTCACHE_HISTORY_FLAGS_ALL bits only.
 * @checksum:     CRC-32C of the whole file with this field as zero.
 * @volume_count: number of volume records, 0..BOOTCACHE_MAX_VOLUMES.
 * @entry_count:  number of entries, 0..BOOTCACHE_MAX_HISTORY_ENTRIES.
 * @read_bytes:   sum of the lengths of all read entries (neither write nor
 *                tag), saturated at 2^64 - 1 (as are the volumes' @bytes).
 * @tag_count:    number of tag entries.
 * @reserved:     zero.
 *
 * The file size is exactly 40 + 40 * @volume_count + 32 * @entry_count.
 */
struct bootcache_history_header {
	__le32 magic;
	__le16 version;
	__le16 header_size;
	__le32 flags;
	__le32 checksum;
	__le32 volume_count;
	__le32 entry_count;
	__le64 read_bytes;
	__le32 tag_count;
	__le32 reserved;
};

/* Volume identifier kinds (struct bootcache_volume.id_type). */
/*
 * The root device, whatever it is; @id is all zero.  This is the seed's
 * "null UUID" volume.  At most one per file.
 */
#define BOOTCACHE_VOLUME_ROOT		0
/*
 * A GPT partition: @id is the partition's unique GUID (PARTUUID), its 16
 * bytes in the order the canonical text form reads them, as printed by blkid
 * and /dev/disk/by-partuuid (00112233-4455-6677-8899-aabbccddeeff gives
 * id[0] = 0x00 ... id[15] = 0xff).  Not all zero.
 */
#define BOOTCACHE_VOLUME_GPT		1
/*
 * An MBR partition, PARTUUID "SSSSSSSS-PP": id[0..3] are the disk signature
 * SSSSSSSS as a little-endian __le32, id[4] is the partition number PP
 * (1..255), id[5..15] are zero.
 */
#define BOOTCACHE_VOLUME_MBR		2
/*
 * A whole disk (not a partition) holding an ISO 9660 file system: a CD or
 * DVD, or a hybrid ISO image written to a USB stick or SD card.  It is named
 * by its primary volume descriptor (PVD): the 2048 bytes at byte 32768 of
 * the disk (sector 16 of 2048 bytes), which start with type 1, "CD001",
 * version 1.  Offsets of its extents and entries are bytes from the start
 * of the disk.
 *
 *   id[0..7]   __le64: the PVD's volume creation date and time, its bytes
 *              813..828, 16 ASCII digits YYYYMMDDhhmmsscc, read as one
 *              decimal number (2026-11-30 04:00:00.00 is 2026113004000000).
 *              Not zero, below 10^16.  blkid and /dev/disk/by-uuid show a
 *              disc's UUID in this form, "2026-11-30-04-00-00-00", but take
 *              the modification date (bytes 830..845) when it is set; the
 *              two are the same on an image whose date xorriso pinned with
 *              -volume_date uuid.  `bootcache medium-id` prints the id.
 *   id[8..11]  __le32: the CRC-32C (as above) of the PVD's volume
 *              identifier, its 32 bytes at PVD offset 40 as stored (space
 *              padded): the label, blkid's LABEL.
 *   id[12..15] zero.
 *
 * The text form, in logs, in the tool and in bootcache=...,volume=, is
 * "iso9660:2026-11-30-04-00-00-00:1a2b3c4d" (the CRC as 8 hex digits).
 *
 * Why the date and the label and not a hash of the medium's bytes: a live
 * system is rebuilt with its playlist inside the kernel on it, which would
 * change such a hash, while the date and label stay (xorriso pins them with
 * -volume_date uuid and -V).  A different build of a disc (another date), or
 * another flavour built at the same pinned date (another label), does not
 * match, so its blocks are not read ahead at the offsets of the wrong disc.
 * The kernel reads the PVD of each whole disk; a disk with a different PVD,
 * or none, is not cached, and a playlist whose medium is in no drive is not
 * read ahead.  Correctness never depends on the match: the cache only holds
 * what the disk returned after the filter attached, and a media change
 * detaches it.
 */
#define BOOTCACHE_VOLUME_ISO9660	3
/*
 * The whole disk that holds a partition: @id is that partition's id, as for
 * BOOTCACHE_VOLUME_GPT (a GPT partition's disk) or BOOTCACHE_VOLUME_MBR (an
 * MBR partition's disk).  Offsets of its extents and entries are bytes from
 * the start of the disk.  It holds the reads a boot makes through the whole
 * disk's device rather than a partition's: the partition table, and the
 * probes udev's blkid makes of the disk for a file system or RAID signature.
 * Each costs a seek on a hard disk, where the partition's reads come from the
 * cache.  The text form is "disk:" followed by the partition's PARTUUID.  A
 * recording session adds the disk of each GPT or MBR partition volume it
 * records.
 */
#define BOOTCACHE_VOLUME_GPT_DISK	4
#define BOOTCACHE_VOLUME_MBR_DISK	5

/*
 * struct bootcache_volume - one volume record, 40 bytes (both formats)
 * @id_type:      BOOTCACHE_VOLUME_ROOT, _GPT, _MBR, _ISO9660, _GPT_DISK or
 *                _MBR_DISK.
 * @reserved0:    zero.
 * @record_count: playlist: extents of this volume, at least one;
 *                history: entries (reads and writes) of this volume.
 * @id:           the identifier, see the id types above.  No two volumes of
 *                a file have the same (id_type, id).
 * @bytes:        playlist: sum of the lengths of this volume's extents;
 *                history: sum of the lengths of this volume's read entries.
 * @block_size:   a power of two, BOOTCACHE_MIN_BLOCK_SIZE to
 *                BOOTCACHE_MAX_BLOCK_SIZE.  History: the device's logical
 *                block size when it was recorded.  Playlist: every extent's
 *                offset and length of this volume is a multiple of it.
 * @reserved1:    zero.
 */
struct bootcache_volume {
	__u8 id_type;
	__u8 reserved0[3];
	__le32 record_count;
	__u8 id[16];
	__le64 bytes;
	__le32 block_size;
	__le32 reserved1;
};

/* Playlist extent flags (struct bootcache_extent.flags). */
/*
 * Read after all normal extents of every batch, and only when no other
 * read-ahead is in flight.
 */
#define BOOTCACHE_EXTENT_LOW_PRIORITY	0x1
/*
 * The boot reads these blocks more than once: a read served from the cache
 * leaves them there, for the next one, until the session ends (or memory
 * pressure takes them).  Without it a block is served once.
 */
#define BOOTCACHE_EXTENT_KEEP		0x2
#define BOOTCACHE_EXTENT_FLAGS_ALL	0x3

/*
 * struct bootcache_extent - one playlist extent, 24 bytes
 * @offset:    byte offset from the start of the volume; a multiple of the
 *             volume's block size.
 * @length:    byte length, not zero; a multiple of the volume's block size;
 *             @offset + @length <= BOOTCACHE_MAX_VOLUME_BYTES.
 * @volume:    index of the volume record, < volume_count.
 * @flags:     BOOTCACHE_EXTENT_FLAGS_ALL bits only.
 * @batch:     0..batch_count - 1; batch 0 is read first.
 * @reserved:  zero.
 *
 * Extents are grouped by volume in ascending volume index, and within a
 * volume sorted by @offset and not overlapping (an extent may start where the
 * previous one ends).
 */
struct bootcache_extent {
	__le64 offset;
	__le64 length;
	__le16 volume;
	__le16 flags;
	__u8 batch;
	__u8 reserved[3];
};

/* History entry flags (struct bootcache_history_entry.flags). */
/* A read that the cache served. */
#define BOOTCACHE_ENTRY_HIT		0x1
/* A write (or discard); never combined with HIT. */
#define BOOTCACHE_ENTRY_WRITE		0x2
/* A tag: a batch boundary.  Alone, with offset, length zero. */
#define BOOTCACHE_ENTRY_TAG		0x4
/* A read that waited for read-ahead to deliver its blocks (implies HIT). */
#define BOOTCACHE_ENTRY_WAITED		0x8
#define BOOTCACHE_ENTRY_FLAGS_ALL	0xf

/* The volume index of a tag entry. */
#define BOOTCACHE_NO_VOLUME		0xffff

/*
 * struct bootcache_history_entry - one recorded I/O or tag, 32 bytes
 * @offset:       byte offset from the start of the volume; a multiple of 512.
 * @length:       byte length, not zero; a multiple of 512;
 *                @offset + @length <= BOOTCACHE_MAX_VOLUME_BYTES.
 * @timestamp_ns: nanoseconds since recording started; never less than the
 *                previous entry's (entries are in time order).
 * @pid:          the submitting task's pid (0 for the kernel or unknown).
 * @flags:        BOOTCACHE_ENTRY_* bits.
 * @volume:       index of the volume record, < volume_count;
 *                BOOTCACHE_NO_VOLUME for a tag.
 *
 * A tag entry has flags == BOOTCACHE_ENTRY_TAG, offset 0, length 0 and
 * volume BOOTCACHE_NO_VOLUME.
 */
struct bootcache_history_entry {
	__le64 offset;
	__le64 length;
	__le64 timestamp_ns;
	__le32 pid;
	__le16 flags;
	__le16 volume;
};

#endif /* _UAPI_LINUX_BOOTCACHE_H */
