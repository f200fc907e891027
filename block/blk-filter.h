/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The calls of the block layer into the bio filter core (block/blk-filter.c).
 * Filter drivers use <linux/blk-filter.h>.
 */
#ifndef BLK_FILTER_H
#define BLK_FILTER_H

#include <linux/jump_label.h>
#include <linux/types.h>

struct bio;
struct gendisk;

#ifdef CONFIG_BLK_FILTER

DECLARE_STATIC_KEY_FALSE(blk_filter_active);

bool __blk_filter_bio(struct bio *bio);
void __blk_filter_missed_bio(struct bio *bio);
void blk_filter_disk_gone(struct gendisk *disk);
void blk_filter_media_changed(struct gendisk *disk);

/**
 * blk_filter_bio - offer a bio to the disk's filter
 * @bio: the bio being submitted
 *
 * Called by submit_bio_noacct(). While no filter is attached anywhere this
 * is one patched-out branch.
 *
 * Context: process context, from submit_bio_noacct().
 * Return: %true if the filter took the bio (the caller must not touch it),
 * %false if the bio continues down the submit path.
 */
static inline bool blk_filter_bio(struct bio *bio)
{
	if (static_branch_unlikely(&blk_filter_active))
		return __blk_filter_bio(bio);
	return false;
}

/**
 * blk_filter_missed_bio - report a bio the disk's filter may not have seen
 * @bio: a bio in blk_mq_submit_bio(), which holds a queue reference for it
 *
 * Called by blk_mq_submit_bio() once the bio has entered its queue, before
 * it is split. Reports the bio if the disk's filter was not offered it, and
 * every data-changing bio. While no filter is attached anywhere this is one
 * patched-out branch.
 *
 * Context: as blk_mq_submit_bio().
 */
static inline void blk_filter_missed_bio(struct bio *bio)
{
	if (static_branch_unlikely(&blk_filter_active))
		__blk_filter_missed_bio(bio);
}

#else /* CONFIG_BLK_FILTER */

static inline bool blk_filter_bio(struct bio *bio)
{
	return false;
}

static inline void blk_filter_missed_bio(struct bio *bio)
{
}

static inline void blk_filter_disk_gone(struct gendisk *disk)
{
}

static inline void blk_filter_media_changed(struct gendisk *disk)
{
}

#endif /* CONFIG_BLK_FILTER */

#endif /* BLK_FILTER_H */
