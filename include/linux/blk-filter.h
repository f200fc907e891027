/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device bio filter: lets one driver see, complete, or take over every
 * bio submitted to a disk.
 *
 * See Documentation/block/blk-filter.rst for the rules.
 */
#ifndef __LINUX_BLK_FILTER_H
#define __LINUX_BLK_FILTER_H

struct bio;
struct blk_filter;
struct gendisk;

/**
 * enum blk_filter_result - what a filter did with a bio
 * @BLK_FILTER_PASS: the bio continues down the submit path as if no filter
 *	were attached.
 * @BLK_FILTER_CONSUMED: the filter owns the bio now. It has completed it
 *	with bio_endio(), or it will complete it or hand it back with
 *	blk_filter_resubmit_bio() later.
 */
enum blk_filter_result {
	BLK_FILTER_PASS,
	BLK_FILTER_CONSUMED,
};

/**
 * enum blk_filter_gone - why the filter core detached a filter by itself
 * @BLK_FILTER_DISK_DELETED: the disk is being deleted (del_gendisk()). No
 *	filter can attach to it any more.
 * @BLK_FILTER_MEDIA_CHANGED: the disk's medium changed: another disc in the
 *	drive, a loop device bound to another file or unbound, a network
 *	block device disconnected. The disk stays, and a filter may attach
 *	to it again; what was read from the old medium is not the disk's
 *	content any more.
 */
enum blk_filter_gone {
	BLK_FILTER_DISK_DELETED,
	BLK_FILTER_MEDIA_CHANGED,
};

/**
 * struct blk_filter_ops - the callbacks of a bio filter
 * @submit_bio: called once for every bio submitted to the disk (any
 *	partition), after partition remapping and before throttling, in the
 *	submitter's context: process context, possibly inside a stacking
 *	driver's ->submit_bio() (then bios submitted here are dispatched only
 *	after that returns). Must not sleep when the bio has %REQ_NOWAIT set,
 *	and should not sleep for long otherwise; allocations must not recurse
 *	into I/O (%GFP_NOIO, or %GFP_NOWAIT for %REQ_NOWAIT). Must not submit
 *	bios and then wait for them, and must not call blk_filter_attach() or
 *	blk_filter_detach(). filter->disk is valid while it runs.
 * @missed_bio: called for a bio that reached the disk's request queue
 *	without having been offered to @submit_bio, because it was submitted
 *	before the filter was attached (it was held by blk-throttle, or its
 *	submitter was between the filter hook and the queue). Also called for
 *	every data-changing bio (op_is_write()) that reaches the queue, even
 *	one that was offered to @submit_bio, handed back or made by the
 *	filter: the core cannot tell whether this filter or an earlier one of
 *	the disk saw it, so the filter hears again of its own writes, and of
 *	each remainder of a split, and must take repeats. %BIO_FILTERED is
 *	set on the bio if a filter of the disk saw it before this call. The
 *	bio is not the filter's: it may look at it (bio_op(), ->bi_iter,
 *	->bi_bdev, ->bi_flags) but must not change, complete or resubmit it.
 *	It has not been split or sent to the driver yet. A caching filter
 *	forgets the blocks a data-changing bio covers. Called with the queue
 *	entered, in the context of blk_mq_submit_bio(), which may be inside
 *	the filter's own blk_filter_resubmit_bio() or
 *	blk_filter_submit_own_bio() call: it must not sleep, allocate other
 *	than with %GFP_ATOMIC or %GFP_NOWAIT, submit I/O, or take a lock the
 *	filter holds across those calls. Rarely it is also called for a bio
 *	the block layer made from one the filter passed (bounce buffers, the
 *	blk-crypto fallback). Optional.
 * @disk_gone: called once when the core detaches the filter by itself,
 *	with the reason: the disk is being deleted, or its medium changed.
 *	By then no call to @submit_bio or @missed_bio is running or can
 *	start; filter->disk still names the disk, and becomes %NULL when
 *	this returns. Before it returns, the filter must complete or
 *	resubmit every bio it still owns and must forget what it knows of
 *	the disk's content. Called in process context, without the filter
 *	core's lock: it may sleep, and resubmitting may wait for a free
 *	request of the disk. For %BLK_FILTER_MEDIA_CHANGED, whoever reports
 *	the change holds its locks (the disk's ->open_mutex, a driver's
 *	configuration lock). So it must not open or close a block device,
 *	call blk_filter_attach() or blk_filter_detach(), nor wait for a task
 *	that does. Optional.
 */
struct blk_filter_ops {
	enum blk_filter_result (*submit_bio)(struct blk_filter *filter,
					     struct bio *bio);
	void (*missed_bio)(struct blk_filter *filter, struct bio *bio);
	void (*disk_gone)(struct blk_filter *filter, enum blk_filter_gone why);
};

/**
 * struct blk_filter - a bio filter, embedded in its owner's structure
 * @ops: the callbacks; set by the owner before blk_filter_attach().
 * @disk: the disk the filter is attached to, or %NULL; owned by the filter
 *	core. The owner initialises it to %NULL and otherwise only reads it:
 *	in the callbacks, or with READ_ONCE() to learn whether the filter is
 *	still attached. The core may detach the filter by itself (see
 *	@ops->disk_gone); @disk is %NULL once that has returned.
 */
struct blk_filter {
	const struct blk_filter_ops *ops;
	struct gendisk *disk;
};

int blk_filter_attach(struct gendisk *disk, struct blk_filter *filter);
void blk_filter_detach(struct blk_filter *filter);
void blk_filter_resubmit_bio(struct bio *bio);
void blk_filter_submit_own_bio(struct bio *bio);

#endif /* __LINUX_BLK_FILTER_H */
