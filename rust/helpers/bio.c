// SPDX-License-Identifier: GPL-2.0

#include <linux/bio.h>
#include <linux/bio-integrity.h>
#include <linux/blk-crypto.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>

struct bio_vec rust_helper_bio_iter_iovec(struct bio *bio, struct bvec_iter iter)
{
	return bio_iter_iovec(bio, iter);
}

void rust_helper_bio_advance_iter_single(const struct bio *bio,
					 struct bvec_iter *iter,
					 unsigned int bytes)
{
	bio_advance_iter_single(bio, iter, bytes);
}

void rust_helper_bio_io_error(struct bio *bio)
{
	bio_io_error(bio);
}

bool rust_helper_bio_has_crypt_ctx(struct bio *bio)
{
	return bio_has_crypt_ctx(bio);
}

struct bio_integrity_payload *rust_helper_bio_integrity(struct bio *bio)
{
	return bio_integrity(bio);
}

struct request_queue *rust_helper_bdev_get_queue(struct block_device *bdev)
{
	return bdev_get_queue(bdev);
}

bool rust_helper_bdev_is_zoned(struct block_device *bdev)
{
	return bdev_is_zoned(bdev);
}

bool rust_helper_bdev_nonrot(struct block_device *bdev)
{
	return bdev_nonrot(bdev);
}

sector_t rust_helper_bdev_nr_sectors(struct block_device *bdev)
{
	return bdev_nr_sectors(bdev);
}

struct block_device *rust_helper_dev_to_bdev(struct device *dev)
{
	return dev_to_bdev(dev);
}

dev_t rust_helper_disk_devt(struct gendisk *disk)
{
	return disk_devt(disk);
}

void rust_helper_flush_dcache_page(struct page *page)
{
	flush_dcache_page(page);
}

sector_t rust_helper_get_start_sect(struct block_device *bdev)
{
	return get_start_sect(bdev);
}

unsigned int rust_helper_queue_max_sectors(const struct request_queue *q)
{
	return queue_max_sectors(q);
}

unsigned int rust_helper_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}
