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
 */
#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/export.h>
#include <linux/mutex.h>
#include <linux/srcu.h>

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
 * blk_filter_attach - attach a bio filter to a disk
 * @disk: the disk to filter, with all its partitions
 * @filter: the filter; its ->ops must be set and its ->disk %NULL
 *
 * From the moment the filter is published, before this function returns,
 * every bio submitted to @disk is offered to @filter->ops->submit_bio(),
 * until blk_filter_detach() or the deletion of @disk (which calls
 * @filter->ops->disk_gone()) takes the filter away again.
 *
 * Before returning, it waits until every request already queued on @disk
 * has completed (it freezes and unfreezes the queue): when it returns, every
 * bio the filter did not see, because it was submitted earlier, is done. A
 * bio that was between the filter's check and the queue at that moment can
 * still be dispatched after the return; such a bio was submitted before
 * the attach, so no ordering against the filter's own later bios exists.
 *
 * The caller must hold a reference on @disk for the duration of the call.
 * The core takes none: a disk that was live is deleted (del_gendisk(), which
 * detaches the filter) before it can be freed.
 *
 * Context: process context; may sleep. Must not be called from the filter's
 * callbacks.
 * Return: 0 on success; -EINVAL if @filter has no ->ops or ->submit_bio, or
 * is attached already; -EBUSY if @disk has a filter already; -ENODEV if
 * @disk is not added yet, or is being deleted or gone. On failure no callback
 * of @filter has been or will be called.
 */
int blk_filter_attach(struct gendisk *disk, struct blk_filter *filter)
{
	int ret;

	might_sleep();

	if (!filter->ops || !filter->ops->submit_bio)
		return -EINVAL;

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

	filter->disk = disk;
	rcu_assign_pointer(disk->bio_filter, filter);
	mutex_unlock(&blk_filter_mutex);

	/*
	 * Bios submitted before the filter was published did not go through
	 * it. Freezing the queue waits until every request in it has
	 * completed, so that when we return the filter has seen, or the disk
	 * has finished, every bio in flight: a caching filter may read the
	 * disk now and trust what it reads.
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
 * Unpublish an attached filter and wait until none of its ->submit_bio()
 * calls is running. Drops the key reference taken by blk_filter_attach():
 * filter->disk is set exactly while that reference is held.
 */
static void __blk_filter_detach(struct blk_filter *filter)
{
	struct gendisk *disk = filter->disk;

	lockdep_assert_held(&blk_filter_mutex);
	WARN_ON_ONCE(rcu_access_pointer(disk->bio_filter) != filter);

	RCU_INIT_POINTER(disk->bio_filter, NULL);
	synchronize_srcu(&blk_filter_srcu);
	static_branch_dec(&blk_filter_active);
	filter->disk = NULL;
}

/**
 * blk_filter_detach - detach a bio filter from its disk
 * @filter: the filter
 *
 * Once this returns, no call to @filter->ops->submit_bio() is running or can
 * start, and the owner may free @filter. Bios the filter consumed stay its
 * own: it must still complete them or hand them back with
 * blk_filter_resubmit_bio(). Does nothing if @filter is not attached (never
 * was, or its disk was deleted).
 *
 * Context: process context; may sleep (it waits for an SRCU grace period).
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

/**
 * blk_filter_disk_gone - detach the filter of a disk that is being deleted
 * @disk: the disk
 *
 * Called by del_gendisk() before the disk is unhashed and before the file
 * system is told to write back and shut down, so the filter does not see that
 * final writeback. Marks @disk so that no filter attaches any more, detaches
 * its filter as blk_filter_detach() does, then calls ->disk_gone() with the
 * filter lock held so that a racing blk_filter_detach() returns only after
 * it. Costs a bit operation and a barrier while no filter is attached
 * anywhere, and one uncontended mutex while none is attached to @disk.
 *
 * Context: process context; may sleep.
 */
void blk_filter_disk_gone(struct gendisk *disk)
{
	struct blk_filter *filter;

	set_bit(GD_BIO_FILTER_GONE, &disk->state);
	/* Paired with smp_mb() in blk_filter_attach(). */
	smp_mb__after_atomic();
	if (!static_key_enabled(&blk_filter_active))
		return;

	mutex_lock(&blk_filter_mutex);
	filter = rcu_dereference_protected(disk->bio_filter,
					   lockdep_is_held(&blk_filter_mutex));
	if (filter) {
		__blk_filter_detach(filter);
		if (filter->ops->disk_gone)
			filter->ops->disk_gone(filter);
	}
	mutex_unlock(&blk_filter_mutex);
}
