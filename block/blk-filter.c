// SPDX-License-Identifier: GPL-2.0
/*
 * Block device bio filter: one driver per disk may see every bio submitted to
 * the disk, after partition remapping and before throttling, and pass it on,
 * complete it, or take it over. See Documentation/block/blk-filter.rst.
 *
 * Locking
 *
 * The state: disk->bio_filter (the filter the hooks find), filter->disk, the
 * GD_BIO_FILTER_GONE bit of disk->state, and the count of blk_filter_active.
 *
 * blk_filter_mutex, global, serialises every change of that state. It is
 * taken by blk_filter_attach(), blk_filter_detach(), blk_filter_disk_gone()
 * (every del_gendisk()) and blk_filter_media_changed(), never by the hooks.
 * Under it:
 *  - filter->disk is set exactly while the filter holds a count of
 *    blk_filter_active, from its attach until its detach has finished;
 *  - disk->bio_filter == filter implies filter->disk == disk;
 *  - filter->disk set but disk->bio_filter != filter means that the core has
 *    unpublished the filter and that its ->disk_gone() is running;
 *  - GD_BIO_FILTER_GONE is set and tested only under the mutex, so it needs
 *    no barrier.
 * The mutex is held across synchronize_srcu() and the static key updates,
 * but never across a callback of a filter.
 *
 * blk_filter_srcu keeps a published filter alive while a hook calls into it:
 * the owner frees the filter once blk_filter_detach() has returned, and
 * unpublishing is RCU_INIT_POINTER(NULL) then synchronize_srcu(). SRCU, not
 * RCU, because ->submit_bio() may sleep (without %REQ_NOWAIT). The grace
 * period is bounded by those callbacks, which neither take the mutex (they
 * may not attach or detach) nor submit I/O and wait for it.
 *
 * ->disk_gone() runs with none of our locks held: it may resubmit the bios
 * it holds, which may wait for a free request of that disk, and a global
 * mutex that every del_gendisk() takes must not wait for one disk's I/O.
 * Until it returns, filter->disk stays set, and a blk_filter_detach() that
 * comes meanwhile waits for it to be cleared (wait_var_event()), so that the
 * owner still frees the filter only after ->disk_gone(). The core clears it
 * under the mutex, then wakes the waiter, and does not touch the filter
 * after the store.
 *
 * Lock order: a disk's ->open_mutex and the locks of drivers that report
 * media changes (loop's lo_mutex and loop_validate_mutex, nbd's
 * config_lock) -> blk_filter_mutex -> the SRCU grace period, and the
 * static key's cpus_read_lock() and jump_label_mutex. No caller of
 * blk_filter_media_changed() or blk_filter_disk_gone() holds a queue
 * freeze, so a callback may enter the queue (resubmit).
 *
 * The static key makes each hook one patched-out branch while no filter is
 * attached anywhere. It is enabled before the filter is published and
 * disabled after the filter's detach has finished.
 *
 * Barriers: the hooks test disk->bio_filter with rcu_access_pointer()
 * before taking the SRCU read lock. That needs no barrier: a bio that
 * misses a filter being attached counts as submitted before the filter was
 * published, and a bio that sees a filter being detached reads the pointer
 * again under the read lock. Two pairings remain. Attach's smp_mb() after
 * publication pairs with the smp_rmb() in __blk_filter_missed_bio(), as
 * explained at the queue freeze in blk_filter_attach(). The release store
 * that clears filter->disk after ->disk_gone() pairs with the acquire load
 * in blk_filter_detach(), so a waiting owner that frees the filter sees
 * all the core did with it; the smp_mb() after it orders it before
 * wake_up_var() looks for waiters, against the barrier in
 * prepare_to_wait_event() (store_release_wake_up() in later kernels).
 *
 * Bios that went past the filter. BIO_FILTERED says that a filter of the
 * bio's disk was offered the bio (or told of it, or made it, or handed it
 * back), not which filter. A bio offered to one filter can wait between
 * the hook and the queue (in blk-throttle, on a preempted submitter's
 * way, on a stacking driver's current->bio_list), or in the filter that
 * consumed it, across that filter's detach and the next attach on the
 * same disk. If the missed-bio check skipped every flagged bio, such a
 * write would reach the driver unseen by the new filter, which may have
 * read the old blocks ahead: a cache would serve them after the write
 * completed. struct bio has no room to name the filter: no field is the
 * filter's while the bio travels from submit_bio_noacct() to the queue
 * (bio_poll() reads bi_cookie meanwhile, for one), and the one spare flag
 * bit cannot count attaches without wrapping.
 *
 * So __blk_filter_missed_bio() skips a flagged bio only if it changes no
 * data. A data-changing bio (op_is_write(): write, discard, write zeroes,
 * secure erase, zone append and the zone management operations) is shown
 * to ->missed_bio() whenever it enters the queue of a disk with a filter,
 * flag or not. With the freeze argument in blk_filter_attach(): a
 * data-changing bio that reaches the driver after blk_filter_attach() has
 * returned entered the queue after the unfreeze, found the filter at the
 * check and was shown to it there, before it was split or reached the
 * driver, whichever filter it passed before. A cache that forgets those
 * blocks for good, even while a read-ahead of them is in flight, never
 * serves data older than the write once it has completed.
 *
 * The cost falls on disks with a filter only. The filter hears again, at
 * the queue, of every data-changing bio it was offered, handed back or
 * made itself, once more for each remainder of a split, so its
 * ->missed_bio() must take repeats (forgetting blocks twice is harmless).
 * The core sets BIO_FILTERED only after calling ->missed_bio(), so a set
 * flag tells the filter that it, or an earlier filter of the disk, has
 * seen the bio before. Reads keep the skip: one an earlier filter was
 * offered is neither offered nor shown, which costs a cache nothing.
 *
 * What a filter, and a reader of the hooks, may assume:
 *  - ->submit_bio() and ->missed_bio() are called only while the filter is
 *    published, possibly on several CPUs at once (the filter does its own
 *    locking), and none is running once blk_filter_detach() has returned
 *    or ->disk_gone() has been called.
 *  - ->disk_gone() is called at most once per attach, and
 *    blk_filter_detach() returns only after it has returned.
 *  - del_gendisk() goes on only after ->disk_gone(): the disk is still live
 *    while it runs, so bios it resubmits reach the driver. (Should a media
 *    change and the deletion of the same disk race, del_gendisk() does not
 *    wait for the media change's ->disk_gone(), and bios that resubmits
 *    fail as any bio sent to a dying disk does. No 6.12 caller lets them
 *    race: disk_del_events() waits for the events work, del_gendisk() takes
 *    ->open_mutex, which ->open() holds, and loop, nbd and floppy do not
 *    delete a disk while they report a change.)
 *  - A data-changing bio of the disk that reaches the driver after
 *    blk_filter_attach() has returned was shown to ->missed_bio() first,
 *    whether this filter, an earlier one or none was offered it. A read
 *    that reaches it was offered to this filter or shown to ->missed_bio(),
 *    unless it is the filter's own or an earlier filter was offered it.
 *  - ->missed_bio() may run for a data-changing bio inside the filter's
 *    own blk_filter_resubmit_bio() and blk_filter_submit_own_bio() calls
 *    (so inside its ->submit_bio(), if that submits one): a filter must
 *    not hold a lock across those calls that its ->missed_bio() takes.
 */
#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/export.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/wait_bit.h>

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
 * bio is reported to ->missed_bio() and then marked %BIO_FILTERED, so that
 * the remainder of a split is not offered afterwards.
 *
 * A data-changing bio is reported even if it carries %BIO_FILTERED: the
 * flag does not say which filter of the disk saw it, and an earlier one may
 * have (see "Bios that went past the filter" above). So the filter hears
 * again of the writes it was offered, and of each remainder of a split.
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

	if (bio_flagged(bio, BIO_FILTERED) && !op_is_write(bio_op(bio)))
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
		/* Flag it after the call: the filter may look for a repeat. */
		if (filter->ops->missed_bio)
			filter->ops->missed_bio(filter, bio);
		bio_set_flag(bio, BIO_FILTERED);
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
 * That holds for a data-changing bio that an earlier filter of @disk was
 * offered, or that such a filter hands back late, too; only a read an
 * earlier filter was offered is neither offered nor reported.
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

	ret = -ENODEV;
	if (test_bit(GD_BIO_FILTER_GONE, &disk->state) || !disk_live(disk))
		goto out_unlock;

	static_branch_inc(&blk_filter_active);
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
	 * freeze is the dividing line. The check reports a data-changing bio
	 * whatever filter of this disk it passed before, see "Bios that went
	 * past the filter" at the top. A bio released from a zone write plug
	 * skips the check, but was checked when it entered the queue first,
	 * and holds that reference while plugged.
	 */
	blk_mq_freeze_queue(disk->queue);
	blk_mq_unfreeze_queue(disk->queue);
	return 0;

out_unlock:
	mutex_unlock(&blk_filter_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(blk_filter_attach);

/*
 * Unpublish @filter and wait until none of its ->submit_bio() or
 * ->missed_bio() calls is running. @filter->disk stays set.
 */
static void blk_filter_unpublish(struct blk_filter *filter)
{
	struct gendisk *disk = filter->disk;

	lockdep_assert_held(&blk_filter_mutex);
	WARN_ON_ONCE(rcu_access_pointer(disk->bio_filter) != filter);

	RCU_INIT_POINTER(disk->bio_filter, NULL);
	synchronize_srcu(&blk_filter_srcu);
}

/*
 * Finish the detach of an unpublished filter: drop the key reference that
 * blk_filter_attach() took, and clear ->disk, which wakes a
 * blk_filter_detach() waiting for the core's ->disk_gone(). The filter may
 * be freed as soon as ->disk is %NULL: the release store orders everything
 * done with it before.
 */
static void blk_filter_release(struct blk_filter *filter)
{
	lockdep_assert_held(&blk_filter_mutex);

	static_branch_dec(&blk_filter_active);
	/* Paired with smp_load_acquire() in blk_filter_detach(). */
	smp_store_release(&filter->disk, NULL);
	/* Store before looking for waiters, see "Barriers" above. */
	smp_mb();
	wake_up_var(&filter->disk);
}

/**
 * blk_filter_detach - detach a bio filter from its disk
 * @filter: the filter
 *
 * Once this returns, no callback of @filter is running or can start, and
 * the owner may free @filter. Bios the filter consumed stay its own: it must
 * still complete them or hand them back with blk_filter_resubmit_bio().
 * Does nothing if @filter is not attached (never was, or the core detached
 * it when its disk was deleted or its medium changed); if the core is
 * detaching it right now, waits until its ->disk_gone() has returned.
 *
 * Context: process context; may sleep (it waits for an SRCU grace period,
 * or for ->disk_gone()). Must not be called from the filter's callbacks.
 */
void blk_filter_detach(struct blk_filter *filter)
{
	struct gendisk *disk;

	might_sleep();

	mutex_lock(&blk_filter_mutex);
	disk = filter->disk;
	if (disk && rcu_access_pointer(disk->bio_filter) == filter) {
		blk_filter_unpublish(filter);
		blk_filter_release(filter);
	}
	mutex_unlock(&blk_filter_mutex);

	/* Still set while blk_filter_gone() calls ->disk_gone(): wait. */
	wait_var_event(&filter->disk, !smp_load_acquire(&filter->disk));
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
 * Detach the filter of @disk, if it has one, and tell it why. A deleted disk
 * is marked first, so that no filter attaches to it any more. ->disk_gone()
 * runs without the mutex, see "Locking" above.
 */
static void blk_filter_gone(struct gendisk *disk, enum blk_filter_gone why)
{
	struct blk_filter *filter;

	mutex_lock(&blk_filter_mutex);
	if (why == BLK_FILTER_DISK_DELETED)
		set_bit(GD_BIO_FILTER_GONE, &disk->state);
	filter = rcu_dereference_protected(disk->bio_filter,
					   lockdep_is_held(&blk_filter_mutex));
	if (filter)
		blk_filter_unpublish(filter);
	mutex_unlock(&blk_filter_mutex);
	if (!filter)
		return;

	if (filter->ops->disk_gone)
		filter->ops->disk_gone(filter, why);

	mutex_lock(&blk_filter_mutex);
	blk_filter_release(filter);
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
 * %BLK_FILTER_DISK_DELETED, and returns when that has returned. Costs one
 * uncontended mutex while no filter is attached to @disk.
 *
 * Context: process context; may sleep.
 */
void blk_filter_disk_gone(struct gendisk *disk)
{
	might_sleep();
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
 * Context: process context; may sleep. Callers may hold the disk's
 * ->open_mutex and the reporting driver's locks, but no queue freeze.
 */
void blk_filter_media_changed(struct gendisk *disk)
{
	might_sleep();
	blk_filter_gone(disk, BLK_FILTER_MEDIA_CHANGED);
}
