// SPDX-License-Identifier: GPL-2.0
/*
 * Block device bio filter: one driver per disk may see every bio submitted to
 * the disk, after partition remapping and before throttling, and pass it on,
 * complete it, or take it over. See Documentation/block/blk-filter.rst.
 *
 * Locking:
 *  - blk_filter_mutex serialises attach, detach and disk deletion; it
 *    protects every gendisk->bio_filter and every blk_filter->disk.
 *  - blk_filter_srcu protects the filters against detach while their
 *    ->submit_bio() runs. SRCU rather than RCU because the callback may sleep
 *    (for bios without REQ_NOWAIT).
 *  - blk_filter_active is enabled once per attached filter, so bios pay for
 *    one patched-out branch only while no filter is attached anywhere.
 *
 * Lock order: a disk's ->open_mutex and driver locks (loop's lo_mutex and
 * loop_ctl_mutex, nbd's config_lock) -> blk_filter_mutex -> the SRCU grace
 * period. Media changes are reported with those locks held, so nothing may
 * take them under blk_filter_mutex or inside an SRCU read section: the
 * callbacks must not open or close block devices. No caller of
 * blk_filter_media_changed() or blk_filter_disk_gone() holds a queue
 * freeze, so ->submit_bio() may enter a queue (resubmit) under SRCU.
 */
#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/export.h>
#include <linux/mutex.h>
#include <linux/srcu.h>

#include "blk-filter.h"

DEFINE_STATIC_KEY_FALSE(blk_filter_active);
DEFINE_STATIC_SRCU(blk_filter_srcu);
static DEFINE_MUTEX(blk_filter_mutex);

/**
 * __blk_filter_bio - offer a bio to the filter of its disk
 * @bio: the bio being submitted
 *
 * Slow path of blk_filter_bio(), taken while at least one filter is attached
 * anywhere. A bio that carries %BIO_FILTERED was offered already (it is the
 * remainder of a split, or a bio the filter handed back) or was made by the
 * filter itself, and is not offered again. Otherwise, if the bio's disk has a
 * filter, the bio is marked %BIO_FILTERED and passed to its ->submit_bio().
 *
 * Context: process context, from submit_bio_noacct(); possibly inside a
 * stacking driver's ->submit_bio() (current->bio_list set).
 * Return: %true if the filter consumed the bio, which the caller must then
 * leave alone; %false if the bio continues down the submit path.
 */
bool __blk_filter_bio(struct bio *bio)
{
	struct gendisk *disk = bio->bi_bdev->bd_disk;
	struct blk_filter *filter;
	bool consumed = false;
	int idx;

	if (bio_flagged(bio, BIO_FILTERED))
		return false;
	/*
	 * Most disks have no filter even while the key is on: spare them the
	 * barrier in srcu_read_lock(). A filter attached or detached under our
	 * feet either sees this bio or not; both are fine.
	 */
	if (!rcu_access_pointer(disk->bio_filter))
		return false;

	idx = srcu_read_lock(&blk_filter_srcu);
	filter = srcu_dereference(disk->bio_filter, &blk_filter_srcu);
	if (filter) {
		bio_set_flag(bio, BIO_FILTERED);
		consumed = filter->ops->submit_bio(filter, bio) ==
			   BLK_FILTER_CONSUMED;
	}
	srcu_read_unlock(&blk_filter_srcu, idx);
	return consumed;
}

/**
 * __blk_filter_missed_bio - report a bio that went past the filter hook
 * @bio: a bio that has entered the queue of its disk
 *
 * Slow path of blk_filter_missed_bio(). A bio without %BIO_FILTERED that
 * reaches the queue of a disk with a filter was submitted before the filter
 * was published: blk-throttle held it, or its submitter read "no filter" in
 * __blk_filter_bio() and was preempted before it entered the queue. Such a
 * bio is reported to ->missed_bio() and marked %BIO_FILTERED, so that it is
 * reported once, and the remainder of a split is not offered afterwards.
 *
 * Why this catches every such bio, with blk_filter_attach(): see there.
 *
 * Context: blk_mq_submit_bio(), with a reference on the queue of @bio's
 * disk (bio_queue_enter() or a plug's cached request), before splitting.
 */
void __blk_filter_missed_bio(struct bio *bio)
{
	struct gendisk *disk = bio->bi_bdev->bd_disk;
	struct blk_filter *filter;
	int idx;

	if (bio_flagged(bio, BIO_FILTERED))
		return;
	/*
	 * Order the load of the queue reference's state (in bio_queue_enter()
	 * or, for a cached request, in the bio_queue_enter() that allocated
	 * it) before the load of the filter: paired with the smp_mb() in
	 * blk_filter_attach() and the release in percpu_ref_resurrect().
	 */
	smp_rmb();
	if (!rcu_access_pointer(disk->bio_filter))
		return;

	idx = srcu_read_lock(&blk_filter_srcu);
	filter = srcu_dereference(disk->bio_filter, &blk_filter_srcu);
	if (filter) {
		bio_set_flag(bio, BIO_FILTERED);
		if (filter->ops->missed_bio)
			filter->ops->missed_bio(filter, bio);
	}
	srcu_read_unlock(&blk_filter_srcu, idx);
}

/**
 * blk_filter_attach - attach a bio filter to a disk
 * @disk: the disk to filter, with all its partitions
 * @filter: the filter; its ->ops must be set and its ->disk %NULL
 *
 * From the moment the filter is published, before this function returns,
 * every bio submitted to @disk is offered to @filter->ops->submit_bio(),
 * until blk_filter_detach(), the deletion of @disk, or a change of its
 * medium (both call @filter->ops->disk_gone()) takes the filter away again.
 *
 * Bios submitted before the filter was published are not offered. Before
 * it returns, this function freezes and unfreezes the disk's queue. When it
 * returns, each of those bios has either completed, or will be reported to
 * @filter->ops->missed_bio() when it enters the queue, before it is split or
 * reaches the driver: a write held by blk-throttle, or one whose submitter
 * was between the filter hook and the queue, is not lost to the filter.
 *
 * Only disks with a blk-mq request queue can be filtered: the bios in
 * flight on a bio-based disk (device mapper, md, an NVMe multipath head,
 * brd, zram) hold no queue reference, so nothing can wait for them or
 * catch them on their way to the driver.
 *
 * The caller must hold a reference on @disk for the duration of the call.
 * The core takes none: a disk that was live is deleted (del_gendisk(), which
 * detaches the filter) before it can be freed.
 *
 * Context: process context; may sleep. Must not be called from the filter's
 * callbacks.
 * Return: 0 on success; -EINVAL if @filter has no ->ops or ->submit_bio, or
 * is attached already; -EOPNOTSUPP if @disk is bio-based; -EBUSY if @disk
 * has a filter already; -ENODEV if @disk is not added yet, or is being
 * deleted or gone. On failure no callback of @filter has been or will be
 * called.
 */
int blk_filter_attach(struct gendisk *disk, struct blk_filter *filter)
{
	int ret;

	might_sleep();

	if (!filter->ops || !filter->ops->submit_bio)
		return -EINVAL;
	if (!queue_is_mq(disk->queue))
		return -EOPNOTSUPP;

	mutex_lock(&blk_filter_mutex);
	ret = -EINVAL;
	if (filter->disk)
		goto out_unlock;
	ret = -EBUSY;
	if (rcu_access_pointer(disk->bio_filter))
		goto out_unlock;

	static_branch_inc(&blk_filter_active);
	/*
	 * Enable the key before checking that the disk is staying: paired
	 * with blk_filter_disk_gone(), which sets GD_BIO_FILTER_GONE before it
	 * reads the key. Either it sees the key on and waits for the mutex, or
	 * we see the bit.
	 */
	smp_mb();
	ret = -ENODEV;
	if (test_bit(GD_BIO_FILTER_GONE, &disk->state) || !disk_live(disk))
		goto out_dec;

	/* Owners may read it locklessly, see struct blk_filter. */
	WRITE_ONCE(filter->disk, disk);
	rcu_assign_pointer(disk->bio_filter, filter);
	/*
	 * Order the publication before the freeze below, and so before
	 * percpu_ref_resurrect() in the unfreeze: paired with the smp_rmb()
	 * in __blk_filter_missed_bio().
	 */
	smp_mb();
	mutex_unlock(&blk_filter_mutex);

	/*
	 * Bios submitted before the filter was published did not go through
	 * it. Every such bio that reaches the driver enters the queue first,
	 * holding q_usage_counter (bio_queue_enter(), or a plug's cached
	 * request, whose reference its task took with an earlier
	 * bio_queue_enter()), and blk_mq_submit_bio() then calls
	 * blk_filter_missed_bio(). Either the bio's reference was taken before
	 * the freeze killed the counter: then the freeze waits until its
	 * request has completed. Or the reference was taken after the
	 * unfreeze revived it: percpu_ref_tryget_live() saw the state that
	 * percpu_ref_resurrect() wrote, in per-cpu mode with a load ordered by
	 * the smp_rmb() in __blk_filter_missed_bio() after that release
	 * store, in atomic mode with a fully ordered atomic_long_inc_not_zero()
	 * after it; the smp_mb() above orders the publication before it, so
	 * the check sees the filter. A frozen counter admits nobody: the
	 * freeze is the dividing line. A bio released from a zone write plug
	 * skips the check, but was checked when it entered the queue first,
	 * and holds that reference while plugged.
	 */
	blk_mq_freeze_queue(disk->queue);
	blk_mq_unfreeze_queue(disk->queue);
	return 0;

out_dec:
	static_branch_dec(&blk_filter_active);
out_unlock:
	mutex_unlock(&blk_filter_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(blk_filter_attach);

/*
 * Unpublish an attached filter and wait until none of its ->submit_bio() or
 * ->missed_bio() calls is running. Drops the key reference taken by
 * blk_filter_attach(): filter->disk is set exactly while that reference is
 * held.
 */
static void __blk_filter_detach(struct blk_filter *filter)
{
	struct gendisk *disk = filter->disk;

	lockdep_assert_held(&blk_filter_mutex);
	WARN_ON_ONCE(rcu_access_pointer(disk->bio_filter) != filter);

	RCU_INIT_POINTER(disk->bio_filter, NULL);
	synchronize_srcu(&blk_filter_srcu);
	static_branch_dec(&blk_filter_active);
	WRITE_ONCE(filter->disk, NULL);
}

/**
 * blk_filter_detach - detach a bio filter from its disk
 * @filter: the filter
 *
 * Once this returns, no call to @filter->ops->submit_bio() or ->missed_bio()
 * is running or can start, and the owner may free @filter. Bios the filter
 * consumed stay its own: it must still complete them or hand them back with
 * blk_filter_resubmit_bio(). Does nothing if @filter is not attached (never
 * was, or the core detached it when its disk was deleted or its medium
 * changed).
 *
 * Context: process context; may sleep (it waits for an SRCU grace period,
 * and for ->disk_gone() if the core is detaching the filter by itself).
 * Must not be called from the filter's callbacks.
 */
void blk_filter_detach(struct blk_filter *filter)
{
	might_sleep();

	mutex_lock(&blk_filter_mutex);
	if (filter->disk)
		__blk_filter_detach(filter);
	mutex_unlock(&blk_filter_mutex);
}
EXPORT_SYMBOL_GPL(blk_filter_detach);

/**
 * blk_filter_resubmit_bio - hand a consumed bio back to the submit path
 * @bio: a bio the filter owns
 *
 * Sends @bio on to its disk without offering it to the filter again, with
 * submit_bio_noacct(), as if the filter had returned %BLK_FILTER_PASS. @bio
 * is a bio the filter consumed, or one it derived from such a bio (with
 * bio_split(), say); it is marked %BIO_FILTERED here in either case. Works
 * whether or not the filter is still attached.
 *
 * Context: process context, as for submit_bio_noacct().
 */
void blk_filter_resubmit_bio(struct bio *bio)
{
	bio_set_flag(bio, BIO_FILTERED);
	submit_bio_noacct(bio);
}
EXPORT_SYMBOL_GPL(blk_filter_resubmit_bio);

/**
 * blk_filter_submit_own_bio - submit a bio made by the filter
 * @bio: a new bio of the filter, for example a read-ahead
 *
 * Submits @bio with submit_bio() and marks it %BIO_FILTERED so that it goes to
 * the disk without being offered to the disk's filter: a filter never sees
 * its own I/O, and cannot wait for it inside its ->submit_bio().
 *
 * Context: process context, as for submit_bio_noacct().
 */
void blk_filter_submit_own_bio(struct bio *bio)
{
	bio_set_flag(bio, BIO_FILTERED);
	submit_bio(bio);
}
EXPORT_SYMBOL_GPL(blk_filter_submit_own_bio);

/*
 * Detach the filter of @disk, if it has one, and tell it why. ->disk_gone()
 * runs with blk_filter_mutex held, so that a racing blk_filter_detach()
 * returns only after it: the owner may free the filter then.
 */
static void blk_filter_gone(struct gendisk *disk, enum blk_filter_gone why)
{
	struct blk_filter *filter;

	mutex_lock(&blk_filter_mutex);
	filter = rcu_dereference_protected(disk->bio_filter,
					   lockdep_is_held(&blk_filter_mutex));
	if (filter) {
		__blk_filter_detach(filter);
		if (filter->ops->disk_gone)
			filter->ops->disk_gone(filter, why);
	}
	mutex_unlock(&blk_filter_mutex);
}

/**
 * blk_filter_disk_gone - detach the filter of a disk that is being deleted
 * @disk: the disk
 *
 * Called by del_gendisk() before the disk is unhashed and before the file
 * system is told to write back and shut down, so the filter does not see that
 * final writeback. Marks @disk so that no filter attaches any more, detaches
 * its filter as blk_filter_detach() does, then calls ->disk_gone() with
 * %BLK_FILTER_DISK_DELETED. Costs a bit operation and a barrier while no
 * filter is attached anywhere, and one uncontended mutex while none is
 * attached to @disk.
 *
 * Context: process context; may sleep.
 */
void blk_filter_disk_gone(struct gendisk *disk)
{
	set_bit(GD_BIO_FILTER_GONE, &disk->state);
	/* Paired with smp_mb() in blk_filter_attach(). */
	smp_mb__after_atomic();
	if (!static_key_enabled(&blk_filter_active))
		return;
	blk_filter_gone(disk, BLK_FILTER_DISK_DELETED);
}

/**
 * blk_filter_media_changed - detach the filter of a disk whose medium changed
 * @disk: the disk
 *
 * Called where the block layer learns that the medium of @disk changed: by
 * disk_check_events() when the driver reports %DISK_EVENT_MEDIA_CHANGE
 * (the events work, or disk_check_media_change() from a driver's ->open()),
 * and by disk_force_media_change() (loop devices bound, unbound or switched
 * to another file, nbd disconnects), right after the disk sequence number
 * is raised. Detaches the filter of @disk, if any, as blk_filter_detach()
 * does, then calls its ->disk_gone() with %BLK_FILTER_MEDIA_CHANGED. The
 * disk stays live: a filter may attach to it again.
 *
 * The change is reported when the block layer learns of it: a disc swapped
 * in a drive is noticed at the next events poll or open, and loop reports
 * a new backing file before it switches to it. Only media changes are
 * reported, not every write behind the block layer's back (a loop device's
 * backing file written directly, for example).
 *
 * Always takes blk_filter_mutex (media changes are rare), so that it is
 * ordered with a concurrent blk_filter_attach() without a barrier pairing.
 *
 * Context: process context; may sleep. Callers may hold the disk's
 * ->open_mutex and the reporting driver's locks, but no queue freeze.
 */
void blk_filter_media_changed(struct gendisk *disk)
{
	might_sleep();
	blk_filter_gone(disk, BLK_FILTER_MEDIA_CHANGED);
}
