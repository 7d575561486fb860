// SPDX-License-Identifier: GPL-2.0
/*
 * Async threads: the threads of a process that run its queued chains.
 *
 * They are made with create_io_thread(): threads of the submitting
 * process (same mm, files, fs, signal handlers; visible in /proc/PID/task
 * as "syslet-N") that never return to user space and block every signal
 * but SIGKILL and SIGSTOP.  They are PF_IO_WORKER threads, like io-wq's,
 * but leave task->worker_private NULL, which is what makes io-wq's
 * scheduler hooks (io_wq_worker_sleeping/running) ignore them.
 *
 * They are created on demand when a chain is queued and no thread is
 * idle, up to ctx->max_threads (and RLIMIT_NPROC, which copy_process()
 * checks); more chains than threads simply wait in ctx->queue.  A thread
 * idle for ctx->idle_msecs exits.  A fatal signal (exit_group, kill -9,
 * exec's de_thread) makes a thread drop its chain and exit.
 */
#include <linux/cred.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include "syslet.h"

struct syslet_worker {
	struct list_head	node;		/* ctx->workers */
	struct list_head	idle_node;	/* ctx->idle, when idle */
	struct task_struct	*task;
	struct syslet_ctx	*ctx;
};

/*
 * Runs one chain taken off the queue; posts or frees it.  Returns true if
 * the thread is being killed.
 */
static bool worker_run(struct syslet_worker *w, struct syslet_chain *c)
{
	struct syslet_ctx *ctx = w->ctx;
	const struct cred *old;
	bool killed;

	old = override_creds(c->cred);
	syslet_run_chain(c, false);
	revert_creds(old);

	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	c->worker = NULL;
	spin_unlock(&ctx->lock);

	/*
	 * A cancel that came too late may have left a notification: clear it
	 * now that no cancel can target this chain, before the next chain.
	 */
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();

	killed = c->killed || fatal_signal_pending(current);
	if (c->kring && !(c->flags & SYSLET_NO_COMPLETE) && !killed)
		syslet_post_chain(c);
	else
		syslet_chain_free(c);
	return killed;
}

static int syslet_worker_fn(void *data)
{
	struct syslet_worker *w = data;
	struct syslet_ctx *ctx = w->ctx;

	for (;;) {
		struct syslet_chain *c;
		long left;

		spin_lock(&ctx->lock);
		if (!ctx->dead && !list_empty(&ctx->queue)) {
			c = list_first_entry(&ctx->queue, struct syslet_chain, node);
			list_move_tail(&c->node, &ctx->running);
			c->worker = current;
			spin_unlock(&ctx->lock);
			if (worker_run(w, c))
				break;
			continue;
		}
		if (ctx->dead) {
			spin_unlock(&ctx->lock);
			break;
		}
		/* Idle: a submitter takes us off ctx->idle and wakes us. */
		list_add(&w->idle_node, &ctx->idle);
		ctx->nr_idle++;
		__set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&ctx->lock);

		left = schedule_timeout(msecs_to_jiffies(READ_ONCE(ctx->idle_msecs)));

		spin_lock(&ctx->lock);
		if (!list_empty(&w->idle_node)) {
			list_del_init(&w->idle_node);
			ctx->nr_idle--;
		}
		if (!left && list_empty(&ctx->queue)) {
			spin_unlock(&ctx->lock);
			break;			/* idle timeout */
		}
		spin_unlock(&ctx->lock);

		if (signal_pending(current)) {
			struct ksignal ksig;

			/* handles notifications and stops; true when fatal */
			if (get_signal(&ksig))
				break;
		}
	}

	spin_lock(&ctx->lock);
	list_del(&w->node);
	if (!list_empty(&w->idle_node)) {
		list_del(&w->idle_node);
		ctx->nr_idle--;
	}
	ctx->nr_threads--;
	spin_unlock(&ctx->lock);
	kfree(w);
	syslet_ctx_put(ctx);
	/* an io thread has no user context to return to */
	do_exit(0);
}

/* Creates one async thread; ctx->nr_threads was already raised for it. */
static int worker_create(struct syslet_ctx *ctx, unsigned int seq)
{
	struct syslet_worker *w;
	struct task_struct *tsk;
	char name[TASK_COMM_LEN];

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return -ENOMEM;
	INIT_LIST_HEAD(&w->idle_node);
	w->ctx = ctx;
	refcount_inc(&ctx->refs);
	tsk = create_io_thread(syslet_worker_fn, w, NUMA_NO_NODE);
	if (IS_ERR(tsk)) {
		kfree(w);
		syslet_ctx_put(ctx);
		return PTR_ERR(tsk);
	}
	w->task = tsk;
	snprintf(name, sizeof(name), "syslet-%u", seq);
	set_task_comm(tsk, name);
	spin_lock(&ctx->lock);
	list_add(&w->node, &ctx->workers);
	spin_unlock(&ctx->lock);
	wake_up_new_task(tsk);
	return 0;
}

/*
 * Queues @c for an async thread, waking an idle one or creating one.
 * Returns 0, or a negative errno if no thread exists to run it (the chain
 * is then not queued).
 */
int syslet_queue_chain(struct syslet_ctx *ctx, struct syslet_chain *c)
{
	struct syslet_worker *w;
	unsigned int seq = 0;
	bool create = false;
	int ret;

	spin_lock(&ctx->lock);
	if (ctx->dead) {
		spin_unlock(&ctx->lock);
		return -ECANCELED;
	}
	list_add_tail(&c->node, &ctx->queue);
	w = list_first_entry_or_null(&ctx->idle, struct syslet_worker, idle_node);
	if (w) {
		list_del_init(&w->idle_node);
		ctx->nr_idle--;
		wake_up_process(w->task);
	} else if (ctx->nr_threads < ctx->max_threads) {
		ctx->nr_threads++;
		seq = ctx->thread_seq++;
		create = true;
	}
	spin_unlock(&ctx->lock);
	if (!create)
		return 0;

	ret = worker_create(ctx, seq);
	if (!ret)
		return 0;
	spin_lock(&ctx->lock);
	ctx->nr_threads--;
	/*
	 * Other threads will run it; with no thread at all, give it back
	 * unless a thread or a cancel already took it.
	 */
	if (ctx->nr_threads || c->worker || c->cancelled)
		ret = 0;
	else
		list_del_init(&c->node);
	spin_unlock(&ctx->lock);
	return ret;
}

/*
 * Makes every async thread stop: idle ones wake and exit, running ones
 * have their blocked call interrupted and exit after it.  ctx->dead is set.
 */
void syslet_kill_workers(struct syslet_ctx *ctx)
{
	struct syslet_worker *w;
	struct syslet_chain *c;

	spin_lock(&ctx->lock);
	ctx->dead = true;
	list_for_each_entry(c, &ctx->running, node)
		WRITE_ONCE(c->cancelled, true);
	list_for_each_entry(w, &ctx->workers, node)
		set_notify_signal(w->task);
	spin_unlock(&ctx->lock);
}
