// SPDX-License-Identifier: GPL-2.0
/*
 * async_cancel(): cancel chains by the ring they post to and their user
 * word (the first atom's user_data field).
 *
 * A chain still queued is taken off the queue and completes at once with
 * -ECANCELED.  A running chain is marked cancelled and its async thread
 * gets a notification signal (TIF_NOTIFY_SIGNAL), which makes an
 * interruptible sleep in the current system call return early; no later
 * atom runs, and the chain completes with -ECANCELED (its atoms' own
 * return values, partial results included, are in their ret_ptr).  An
 * uninterruptible sleep (disk I/O, say) is not cut short.  With
 * SYSLET_CANCEL_QUEUED only chains that have not started are cancelled,
 * as a thread pool cancels what no thread has taken yet (POSIX
 * aio_cancel()): queued ones, but not a buffered read queued again for a
 * thread after it was issued (kio.c, c->started).
 */
#include <linux/sched/signal.h>
#include "syslet.h"

#define CANCEL_FLAGS	(SYSLET_CANCEL_ALL | SYSLET_CANCEL_QUEUED)

static bool chain_matches(struct syslet_chain *c, u64 ring, u64 user_data)
{
	return c->comp.user_data == user_data && c->uring == ring;
}

/*
 * Returns 0 (or the number cancelled with SYSLET_CANCEL_ALL), -ENOENT,
 * -EALREADY (SYSLET_CANCEL_QUEUED: none queued, but one has started), or
 * an error of the ring header's check, as async_exec() and async_wait()
 * do (NULL names ringless SYSLET_NO_COMPLETE chains).
 */
long syslet_cancel(struct syslet_ring __user *uring, u64 user_data,
		   unsigned int flags)
{
	u64 ring = (u64)(unsigned long)uring;
	struct syslet_chain *c, *tmp;
	struct syslet_ctx *ctx;
	LIST_HEAD(cancelled);
	bool started = false;
	long nr = 0;

	if (flags & ~CANCEL_FLAGS)
		return -EINVAL;
	if (uring) {
		long ret = syslet_ring_check(uring);

		if (ret)
			return ret;
	}
	ctx = syslet_get_ctx(false);
	if (!ctx)	/* nothing was ever submitted: none matched */
		return flags & SYSLET_CANCEL_ALL ? 0 : -ENOENT;

	spin_lock(&ctx->lock);
	list_for_each_entry_safe(c, tmp, &ctx->queue, node) {
		if (!chain_matches(c, ring, user_data))
			continue;
		if ((flags & SYSLET_CANCEL_QUEUED) && c->started) {
			started = true;
			continue;
		}
		list_move_tail(&c->node, &cancelled);
		syslet_queue_del(ctx);
		c->cancelled = true;
		nr++;
		if (!(flags & SYSLET_CANCEL_ALL))
			goto unlock;
	}
	list_for_each_entry(c, &ctx->running, node) {
		if (!chain_matches(c, ring, user_data))
			continue;
		if (flags & SYSLET_CANCEL_QUEUED) {
			started = true;
			break;
		}
		if (c->cancelled)
			continue;
		WRITE_ONCE(c->cancelled, true);
		/* a direct read in flight (kio.c) has no thread to tell */
		if (c->worker)
			set_notify_signal(c->worker);
		nr++;
		if (!(flags & SYSLET_CANCEL_ALL))
			break;
	}
unlock:
	spin_unlock(&ctx->lock);

	list_for_each_entry_safe(c, tmp, &cancelled, node) {
		list_del_init(&c->node);
		c->comp.status = -ECANCELED;
		c->comp.flags |= SYSLET_COMP_CANCELED;
		if (c->kring && !(c->flags & SYSLET_NO_COMPLETE))
			syslet_post_chain(c);
		else
			syslet_chain_free(c);
	}
	if (flags & SYSLET_CANCEL_ALL)
		return nr;
	if (nr)
		return 0;
	return started ? -EALREADY : -ENOENT;
}
