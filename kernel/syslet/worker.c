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
#include <linux/capability.h>
#include <linux/cpuset.h>
#include <linux/cred.h>
#include <linux/iocontext.h>
#include <linux/ioprio.h>
#include <linux/oom.h>
#include <linux/ptrace.h>
#include <uapi/linux/sched/types.h>
#include <linux/sched/prio.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/syslet.h>
#include <linux/sysctl.h>
#include <linux/task_work.h>
#include <asm/pkru.h>
#include <trace/events/syslet.h>
#include "syslet.h"

/*
 * A queued chain's I/O goes at its submitter's priority (review 5 finding
 * 7: not at that of whichever thread made this one).  Set on this
 * thread's io_context, its own (worker_neutral()), and left there: the
 * next chain sets its own, a hand-off takes the user context's.  An
 * io_context shared with a user thread (a pass-on-block giver's, which
 * CLONE_IO shared) is left alone; without memory for one, the default.
 */
static void worker_set_ioprio(int prio)
{
	struct io_context *ioc = current->io_context;

	if (syslet_ioprio(current) == prio)
		return;
	if (!ioc) {
		/* ours, not the program's (nor the submitter's, whose creds we wear) */
		set_task_ioprio_nocheck(current, prio);
		return;
	}
	if (atomic_read(&ioc->active_ref) != 1)
		return;
	task_lock(current);
	ioc->ioprio = prio;
	task_unlock(current);
}

static void wake_idle(struct syslet_ctx *ctx);
static struct syslet_worker *idle_pick(struct syslet_ctx *ctx);

/*
 * Runs one chain taken off the queue; posts or frees it.  Returns true if
 * the thread is being killed.
 */
static bool worker_run(struct syslet_ctx *ctx, struct syslet_chain *c)
{
	const struct cred *old;
	unsigned int pflags;
	bool killed;
	u32 pkru;

	/*
	 * With the submitter's credentials and memory protection keys (its
	 * PKRU decides what its atoms may write), not those of whichever
	 * user thread made this one or gave its context away from it; and
	 * its PR_SET_IO_FLUSHER flags, as kernel work (review 10 finding 5:
	 * a storage daemon's queued [pwrite; fdatasync] ran without them,
	 * other threads' chains with those of the thread that made this
	 * one).  Kernel work that an atom queues (io_submit() of an O_DSYNC
	 * write) takes them from here (syslet_kwork_init()).
	 */
	old = override_creds(c->cred);
	pkru = syslet_arch_set_pkru(c->pkru);
	/* set with c->submitter, for a chain a thread may run (core.c) */
	WARN_ON_ONCE(!c->submitter);
	worker_set_ioprio(c->ioprio);
	pflags = current->flags & SYSLET_KWORK_PF;
	current_restore_flags(c->pflags, SYSLET_KWORK_PF);
	syslet_run_chain(c, false);
	current_restore_flags(pflags, SYSLET_KWORK_PF);
	syslet_arch_set_pkru(pkru);
	revert_creds(old);

	spin_lock(&ctx->lock);
	syslet_chain_leave_running(c);
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

/*
 * Kernel work (struct syslet_kwork): @kw is done; the next work of its
 * key, if any, becomes the first and is queued, with the others after it
 * on its @later.  With the ctx dead, they go on @drop instead, for
 * kwork_drop().  ctx->lock held.
 */
static void kwork_next(struct syslet_ctx *ctx, struct syslet_kwork *kw,
		       struct list_head *drop)
{
	struct syslet_kwork *next;

	lockdep_assert_held(&ctx->lock);
	if (!kw->key)
		return;
	list_del_init(&kw->key_node);
	if (list_empty(&kw->later))
		return;
	if (ctx->dead) {
		list_splice_tail_init(&kw->later, drop);
		return;
	}
	next = list_first_entry(&kw->later, struct syslet_kwork, node);
	list_del_init(&next->node);
	list_splice_tail_init(&kw->later, &next->later);
	list_add_tail(&next->key_node, &ctx->kwork_keys);
	list_add_tail(&next->node, &ctx->kwork);
}

/* Frees @kw with what it pins; it is on no list. */
void syslet_kwork_release(struct syslet_kwork *kw)
{
	put_cred(kw->cred);
	put_pid(kw->submitter);
	kw->ops->free(kw);
}

/*
 * Does the process die of a signal (SIGKILL, a fatal one, a core dump),
 * not of exit() or exit_group()?  Its kernel work not started is
 * dropped then; at exit and exec it is done (kwork_drop()).
 */
static bool syslet_dying_of_signal(void)
{
	struct signal_struct *sig = current->signal;

	return (READ_ONCE(sig->flags) & SIGNAL_GROUP_EXIT) &&
	       (READ_ONCE(sig->group_exit_code) & 0x7f);
}

/*
 * The SIGKILL that an exit_group() or exec sent this thread (it kills
 * every other thread of the process) is taken off, as get_signal() takes
 * it off a user thread on its way to do_exit(): kernel work that
 * io_submit() accepted is written at exit and exec (kwork_drop()), and a
 * pending SIGKILL ends a write at its start (generic_perform_write()).
 * Not when the process dies of a signal: that kill stands.  The thread
 * still leaves once its work is done (worker_run_kwork()).
 */
static void kwork_take_exit_kill(void)
{
	if (!fatal_signal_pending(current))
		return;
	/* under the siglock: a kill of the process sets its exit code so */
	spin_lock_irq(&current->sighand->siglock);
	if (!syslet_dying_of_signal()) {
		sigdelset(&current->pending.signal, SIGKILL);
		recalc_sigpending();
	}
	spin_unlock_irq(&current->sighand->siglock);
}

/*
 * Runs @kw as its submitter, in current, a thread of its process: with
 * its credentials, PKRU and PR_SET_IO_FLUSHER flags (a storage daemon's
 * write must not recurse into reclaim I/O nor be throttled on the global
 * dirty limit: review 9 finding 7), and in an async thread its I/O
 * priority too; what signals it raised on this thread (SIGXFSZ past
 * RLIMIT_FSIZE) go to the submitter, or, in a user thread ending the
 * process (kwork_drop()), are dropped: an exec'd image must not get
 * them (review of review 23: SIGXFSZ killed it).  Then completes it, as
 * the submitter too (the trace's fsuid).
 */
static void kwork_run(struct syslet_kwork *kw)
{
	bool worker = current->flags & PF_IO_WORKER;
	const struct cred *old;
	unsigned int pflags;
	long res;
	u32 pkru;

	old = override_creds(kw->cred);
	pkru = syslet_arch_set_pkru(kw->pkru);
	if (worker)
		worker_set_ioprio(kw->ioprio);
	/* exactly ours again after it, as memalloc_noio_restore() */
	pflags = current->flags & SYSLET_KWORK_PF;
	current_restore_flags(kw->pflags, SYSLET_KWORK_PF);
	res = kw->ops->run(kw);
	current_restore_flags(pflags, SYSLET_KWORK_PF);
	syslet_arch_set_pkru(pkru);
	syslet_forward_signals(kw->submitter, !worker);
	kw->ops->done(kw, res, false);
	revert_creds(old);
}

/*
 * Completes the works on @drop, taken off the ctx when it died: each
 * once, with the works of its key that waited after it, in their order.
 * Kernel work is the writes io_submit() accepted (aio.c), which mainline
 * had written in io_submit(): they are written here, by the thread that
 * ends the process (its last thread, at exit; the one that execs; the
 * last user thread, whose async threads stop; an async thread whose
 * running work's key has more), which still has the process's memory,
 * unless the process dies of a signal (a kill must end it at once):
 * then they complete with -ECANCELED (review 23 finding 1: exit and
 * exec dropped 7 of 8 queued O_DSYNC writes).
 */
static void kwork_drop(struct list_head *drop)
{
	struct syslet_kwork *kw;
	bool run;

	while ((kw = list_first_entry_or_null(drop, struct syslet_kwork,
					      node))) {
		/*
		 * Looked at before each: a kill of the process (an exec's is
		 * still deliverable) or the OOM killer ends the writing.
		 * After exit_group() a SIGKILL is not delivered any more:
		 * the exit waits for the writes as mainline's exit_aio()
		 * waits for requests in flight.
		 */
		run = current->mm && !(current->flags & PF_KTHREAD) &&
		      !syslet_dying_of_signal() && !tsk_is_oom_victim(current);
		if (run)
			kwork_take_exit_kill();
		list_del_init(&kw->node);
		/* those that waited for it come next */
		list_splice_init(&kw->later, drop);
		/* an async thread's: the ctx's death, told; not for the write */
		if (run && (current->flags & PF_IO_WORKER) &&
		    test_thread_flag(TIF_NOTIFY_SIGNAL))
			clear_notify_signal();
		if (run)
			kwork_run(kw);
		else
			kw->ops->done(kw, -ECANCELED, true);
		syslet_kwork_release(kw);
	}
}

/*
 * Runs @kw, taken off ctx->kwork (kwork_run(), as worker_run() a
 * chain); the next work of its key is queued only after it completed:
 * works of one key complete in order.  A thread killed by its process's
 * exit or exec writes it all the same (kwork_take_exit_kill()), and
 * leaves after it; one killed with its process by a signal drops it.
 * Returns true if the thread is being killed.
 */
static bool worker_run_kwork(struct syslet_ctx *ctx, struct syslet_kwork *kw)
{
	bool killed;
	LIST_HEAD(drop);

	kwork_take_exit_kill();
	killed = fatal_signal_pending(current);
	if (killed)
		kw->ops->done(kw, -ECANCELED, true);
	else
		kwork_run(kw);
	/* as after an atom: a notification meant for the work is over */
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	/*
	 * Deferred task work, the final fput() of a file closed while its
	 * write was queued (its request held the last reference): we never
	 * return to user space, where it would run.
	 */
	if (task_work_pending(current))
		task_work_run();

	spin_lock(&ctx->lock);
	ctx->nr_kwork_running--;
	kwork_next(ctx, kw, &drop);
	/* the next of its key, for an idle thread (or us, next round) */
	if (!list_empty(&ctx->kwork))
		wake_idle(ctx);
	spin_unlock(&ctx->lock);
	kwork_drop(&drop);
	syslet_kwork_release(kw);
	/* an exit's or exec's kill taken off: leave all the same */
	return killed || fatal_signal_pending(current) ||
	       (READ_ONCE(current->signal->flags) & SIGNAL_GROUP_EXIT) ||
	       READ_ONCE(current->signal->group_exec_task);
}

/*
 * A leader that gave its TID away with its user context keeps the thread
 * group's shape as exec and wait expect it: it does not exit while another
 * thread has the TGID as its TID (see syslet_reclaim_tid()).
 */
bool syslet_must_stay(void)
{
	return thread_group_leader(current) &&
	       task_pid_nr(current) != task_tgid_nr(current);
}

/*
 * ctx->idle: idle async threads, counted in ctx->nr_idle, none of them
 * reserved (a reservation takes its thread off the list).  Those that may
 * take any giver's user context are also counted in ctx->nr_idle_open; a
 * leader whose TID is away may only take the TGID's context back (see
 * syslet_leader_may_take()), so it runs queued chains and is reserved
 * only by the TGID's holder; one held for its maker's work (@held) is
 * open only once its maker lets it go (worker_make()).  Caller holds
 * ctx->lock.
 */
static void idle_readd(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	lockdep_assert_held(&ctx->lock);
	list_add(&w->idle_node, &ctx->idle);
	ctx->nr_idle++;
	if (!w->restricted && !w->held)
		WRITE_ONCE(ctx->nr_idle_open, ctx->nr_idle_open + 1);
}

static void idle_add(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	w->restricted = syslet_must_stay();
	idle_readd(ctx, w);
}

void syslet_idle_del(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	lockdep_assert_held(&ctx->lock);
	if (list_empty(&w->idle_node))
		return;
	list_del_init(&w->idle_node);
	if (w->standby) {
		w->standby = false;
		ctx->nr_standby--;
		return;
	}
	ctx->nr_idle--;
	if (!w->restricted && !w->held)
		WRITE_ONCE(ctx->nr_idle_open, ctx->nr_idle_open - 1);
}

/*
 * Concurrency, as workqueue's: a thread counts in ctx->nr_active while it
 * runs queued work (a chain, kernel work, a read's rest) and is not
 * asleep, and one woken or made for queued work counts in ctx->nr_woken
 * until it has looked at the queue.  A chain queued while those are as
 * many as the CPUs wakes no thread (queue_for_thread()) if an idle one
 * can be set aside for it: that thread leaves ctx->idle for ctx->standby,
 * where nothing else takes it (no pass-on-block reservation, kernel work
 * or read), so that each chain that waits so has a thread of its own to
 * be woken.  A busy thread takes the chain when its work ends (and gives
 * a standby thread back to ctx->idle); when one sleeps the scheduler
 * tells us (__syslet_worker_sleeping()) and a standby thread is woken;
 * and when no chain has left the queue for WORKER_KICK_MS the kick wakes
 * one (busy threads that run long without sleeping, as workqueue's
 * CPU-intensive work).  So chains that do not sleep run one after
 * another in a few threads, not with a wake-up, and a thread, each; and
 * a chain that sleeps (a read from the device, or one that waits for a
 * chain queued after it, a pipe's reader before its writer) lets the
 * queue go on as before.
 */
#define WORKER_KICK_MS	10

/*
 * /proc/sys/kernel/syslet_concurrency: 0 turns it off, each queued chain
 * waking or making a thread as before (so that one boot can compare)
 */
static int syslet_concurrency = 1;

static struct ctl_table syslet_worker_table[] = {
	{
		.procname	= "syslet_concurrency",
		.data		= &syslet_concurrency,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	SYSLET_CTL_TABLE_END
};

static int __init syslet_worker_init(void)
{
	register_sysctl("kernel", syslet_worker_table);
	return 0;
}
device_initcall(syslet_worker_init);

/*
 * The online CPUs async threads may use (worker_neutral()), and one more
 * for each kick that found the queue stuck since a thread last ran out of
 * work (busy threads that do not sleep: the kick's wake-up, below)
 */
static unsigned int worker_max_active(struct syslet_ctx *ctx)
{
	return max(1U, READ_ONCE(ctx->max_active)) + READ_ONCE(ctx->kick_extra);
}

/* Threads running queued work or about to look at it; ctx->lock held */
static unsigned int worker_going(struct syslet_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	return atomic_read(&ctx->nr_active) + ctx->nr_woken;
}

/* Do queued chains need one more thread woken?  ctx->lock held. */
static bool worker_wanted(struct syslet_ctx *ctx, unsigned int max)
{
	return !ctx->dead && ctx->nr_queued && worker_going(ctx) < max;
}

/*
 * An idle thread to set aside for a chain about to be queued without a
 * wake-up, or NULL if it must have one: too few threads going, or none
 * idle that is free (not held for its maker's work).  ctx->lock held.
 */
static struct syslet_worker *standby_pick(struct syslet_ctx *ctx,
					  unsigned int max)
{
	struct syslet_worker *w;

	if (!READ_ONCE(syslet_concurrency) || worker_going(ctx) < max)
		return NULL;
	list_for_each_entry(w, &ctx->idle, idle_node)
		if (!w->held)
			return w;
	return NULL;
}

static void standby_add(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	syslet_idle_del(ctx, w);
	list_add_tail(&w->idle_node, &ctx->standby);
	w->standby = true;
	ctx->nr_standby++;
}

/*
 * A chain left ctx->queue (taken, or cancelled): a thread set aside for
 * one that no longer waits goes back to ctx->idle.  ctx->lock held.
 */
void syslet_queue_del(struct syslet_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	ctx->nr_queued--;
	ctx->nr_taken++;
	while (ctx->nr_standby > ctx->nr_queued) {
		struct syslet_worker *w;

		w = list_first_entry(&ctx->standby, struct syslet_worker,
				     idle_node);
		syslet_idle_del(ctx, w);
		idle_readd(ctx, w);
		if (wq_has_sleeper(&ctx->spare_wait))
			wake_up_all(&ctx->spare_wait);
	}
}

/*
 * Wakes @w, idle or set aside, for queued work; it counts as woken for it
 * until it looks (worker_going()).  ctx->lock held.
 */
static void worker_wake(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	/* woken for other work than its maker's: see worker_make() */
	if (w->held)
		w->took = true;
	syslet_idle_del(ctx, w);
	if (!w->woken) {
		w->woken = true;
		ctx->nr_woken++;
	}
	wake_up_process(w->task);
}

/*
 * Wakes a thread for the queue: one set aside for it, else any idle one.
 * @why for the trace: 0 a submitter, 1 a busy thread's sleep, 2 the kick.
 */
static void wake_queue(struct syslet_ctx *ctx, int why)
{
	struct syslet_worker *w;

	lockdep_assert_held(&ctx->lock);
	w = list_first_entry_or_null(&ctx->standby, struct syslet_worker,
				     idle_node);
	if (!w)
		w = idle_pick(ctx);
	if (!w)
		return;
	trace_syslet_worker_wake(w->task, why, ctx->nr_queued);
	worker_wake(ctx, w);
}

/*
 * The kick: armed while chains wait for busy threads (ctx->lock held),
 * it wakes a thread for them if none has left the queue since.  It holds
 * a reference to ctx while queued.
 */
static void worker_kick_arm(struct syslet_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	if (delayed_work_pending(&ctx->kick))
		return;
	ctx->kick_taken = ctx->nr_taken;
	refcount_inc(&ctx->refs);
	if (!queue_delayed_work(system_unbound_wq, &ctx->kick,
				msecs_to_jiffies(WORKER_KICK_MS)))
		refcount_dec(&ctx->refs);	/* not the last: ours */
}

static void worker_kick(struct work_struct *work)
{
	struct syslet_ctx *ctx = container_of(to_delayed_work(work),
					      struct syslet_ctx, kick);

	spin_lock(&ctx->lock);
	if (!ctx->dead && ctx->nr_queued) {
		/*
		 * Stuck for WORKER_KICK_MS: the busy threads run long without
		 * sleeping.  As workqueue takes CPU-intensive work out of its
		 * count, allow one more thread going until one runs out of
		 * work, so that the thread woken here is not the only one the
		 * queue gets while they run (its sleep wakes the next).
		 */
		if (ctx->nr_taken == ctx->kick_taken) {
			if (ctx->kick_extra < ctx->max_threads)
				WRITE_ONCE(ctx->kick_extra, ctx->kick_extra + 1);
			wake_queue(ctx, 2);
		}
		if (ctx->nr_standby)
			worker_kick_arm(ctx);
	}
	spin_unlock(&ctx->lock);
	syslet_ctx_put(ctx);
}

/* A sleep hook's wake-up, left to a worker (below) */
static void worker_wake_work(struct work_struct *work)
{
	struct syslet_ctx *ctx = container_of(work, struct syslet_ctx,
					      wake_work);

	spin_lock(&ctx->lock);
	if (worker_wanted(ctx, worker_max_active(ctx)))
		wake_queue(ctx, 1);
	spin_unlock(&ctx->lock);
	syslet_ctx_put(ctx);
}

void syslet_worker_ctx_init(struct syslet_ctx *ctx)
{
	INIT_LIST_HEAD(&ctx->standby);
	ctx->max_active = num_online_cpus();
	INIT_DELAYED_WORK(&ctx->kick, worker_kick);
	INIT_WORK(&ctx->wake_work, worker_wake_work);
}

/* @w, current, has looked at the queue since it was woken for it */
static void worker_looked(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	lockdep_assert_held(&ctx->lock);
	if (w->woken) {
		w->woken = false;
		ctx->nr_woken--;
	}
}

/*
 * @w, current, takes queued work: it counts in ctx->nr_active until it
 * finds none (worker_unbusy()), but while the scheduler's hooks say it
 * sleeps.  Only the task itself writes current->syslet_worker and
 * @w->asleep (the hooks run in it), so they need no lock.
 */
static void worker_busy(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	worker_looked(ctx, w);
	if (current->syslet_worker)
		return;
	atomic_inc(&ctx->nr_active);
	current->syslet_worker = w;
}

static void worker_unbusy(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	lockdep_assert_held(&ctx->lock);
	worker_looked(ctx, w);
	if (!current->syslet_worker)
		return;
	/* a thread ran out of work: the queue is not stuck (the kick) */
	if (ctx->kick_extra)
		WRITE_ONCE(ctx->kick_extra, 0);
	current->syslet_worker = NULL;
	if (!WARN_ON_ONCE(w->asleep))
		atomic_dec(&ctx->nr_active);
	w->asleep = false;
}

/*
 * From sched_submit_work(): current, busy, is about to sleep (or, from
 * rt_mutex_pre_schedule(), may).  It stops counting; if that leaves
 * fewer threads going than CPUs while chains wait, a thread is woken for
 * them.  ctx->lock is a spinlock: sched_submit_work() allows those
 * (sched_map on 6.12); no lock is taken that a sleeping task may hold,
 * and none is held here.  A task already blocked on an rt_mutex (a PI
 * futex's waiter, queued before rt_mutex_futex_pre_schedule(); 6.1's
 * rt_mutex_slowlock_block()) takes none: on PREEMPT_RT a contended
 * spinlock would block it on a second one; a worker wakes the thread.
 * @tsk holds a reference to ctx.
 */
void __syslet_worker_sleeping(struct task_struct *tsk)
{
	struct syslet_worker *w = tsk->syslet_worker;
	struct syslet_ctx *ctx = w->ctx;
	unsigned int max;

	if (w->asleep)
		return;
	w->asleep = true;
	max = worker_max_active(ctx);
	/*
	 * Fully ordered: the count, then the queue, as queue_for_thread()
	 * publishes the chain, then reads the count (its smp_mb()).  One of
	 * us sees the other.
	 */
	if (atomic_dec_return(&ctx->nr_active) >= (int)max ||
	    list_empty(&ctx->queue))
		return;
#ifdef CONFIG_RT_MUTEXES
	if (tsk->pi_blocked_on) {
		refcount_inc(&ctx->refs);
		if (!queue_work(system_wq, &ctx->wake_work))
			refcount_dec(&ctx->refs);	/* not the last: ours */
		return;
	}
#endif
	spin_lock(&ctx->lock);
	if (worker_wanted(ctx, max))
		wake_queue(ctx, 1);
	spin_unlock(&ctx->lock);
}

/* From sched_update_worker(): current, busy, runs again */
void __syslet_worker_running(struct task_struct *tsk)
{
	struct syslet_worker *w = tsk->syslet_worker;

	if (!w->asleep)
		return;
	w->asleep = false;
	atomic_inc(&w->ctx->nr_active);
}

/*
 * The taker is done with @w (it has taken the user context over and has
 * its return value in place): @w goes to the giver, which waits for it in
 * syslet_submit_pob() and lives on in it as an async thread.  @w is not
 * ours from the complete() on.
 */
static void worker_give(struct syslet_worker *w)
{
	struct syslet_pob *pob = w->give_to;

	pob->worker = w;
	complete(&pob->taken);
}

/*
 * @w is reserved by a pass-on-block giver (ctx->lock held, dropped): wait
 * for it.  Returns SYSLET_QUEUED if we took over its user context (off
 * ctx->workers then: the giver took our place in ctx->nr_threads), or 0
 * once released.
 */
static long worker_reserved(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	long ret;

	lockdep_assert_held(&ctx->lock);
	worker_unbusy(ctx, w);
	w->waiting = true;
	spin_unlock(&ctx->lock);
	ret = syslet_pob_wait(w);
	if (ret)
		syslet_ctx_put(ctx);	/* the worker's reference */
	return ret;
}

/*
 * @w leaves ctx->nr_threads and the lists, under ctx->lock.  A submitter
 * at max_threads queues its chain for the threads counted there: a thread
 * that leaves for lack of work must do so in the same ctx->lock section
 * that saw ctx->queue empty.  Returns whether @w was still starting.
 */
static bool worker_unlink(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	bool starting = w->starting;

	lockdep_assert_held(&ctx->lock);
	worker_unbusy(ctx, w);
	list_del(&w->node);
	syslet_idle_del(ctx, w);
	if (starting)
		WRITE_ONCE(ctx->nr_starting, ctx->nr_starting - 1);
	ctx->nr_threads--;
	return starting;
}

static void worker_free(struct syslet_worker *w)
{
	syslet_sched_free(&w->sched);
	syslet_sched_free(&w->own);
	kfree(w);
}

/* @w is off the lists and uncounted: free it and end the thread */
static void __noreturn worker_gone(struct syslet_worker *w, bool starting)
{
	struct syslet_ctx *ctx = w->ctx;

	if (starting)
		wake_up_all(&ctx->spare_wait);
	worker_free(w);
	syslet_ctx_put(ctx);
	/* an async thread has no user context to return to */
	do_exit(0);
}

/* Exit when the context is dead or the thread killed (no chain is lost) */
static void __noreturn worker_exit(struct syslet_worker *w)
{
	struct syslet_ctx *ctx = w->ctx;
	bool starting;

	spin_lock(&ctx->lock);
	starting = worker_unlink(ctx, w);
	spin_unlock(&ctx->lock);
	worker_gone(w, starting);
}

/*
 * The engine's reads (kio.c) an async thread reads on, ctx->lock held:
 * ctx->kio_done when no user thread could take it (@kio_post, or
 * @kio_taker: for a reserved taker, which an unreserved thread takes as
 * well), or the blocking rest of one read (ctx->kio_queue).  False, the
 * lock held, if there is none; else true, the lock dropped, the work
 * done.
 */
static bool worker_kio(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	struct syslet_kio *kio;

	lockdep_assert_held(&ctx->lock);
	if (ctx->dead)
		return false;
	if (ctx->kio_post || ctx->kio_taker) {
		WRITE_ONCE(ctx->kio_post, false);
		WRITE_ONCE(ctx->kio_taker, false);
		worker_busy(ctx, w);
		spin_unlock(&ctx->lock);
		syslet_kio_flush(ctx);
		return true;
	}
	kio = list_first_entry_or_null(&ctx->kio_queue, struct syslet_kio,
				       qnode);
	if (!kio)
		return false;
	list_del_init(&kio->qnode);
	worker_busy(ctx, w);
	spin_unlock(&ctx->lock);
	syslet_kio_run(kio);
	return true;
}

/*
 * The async threads that run queued work without waiting for a chain's
 * end: all but those reserved by a pass-on-block giver (which run nothing
 * until their giver's chain ends: review 9 finding 1).  ctx->lock held.
 */
static unsigned int worker_unreserved(struct syslet_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	return ctx->nr_threads - ctx->nr_reserved;
}

/*
 * Is kio work waiting, or may a read in flight need this thread (the last
 * unreserved one)?  ctx->lock held.
 */
static bool worker_kio_keep(struct syslet_ctx *ctx)
{
	return ctx->kio_post || ctx->kio_taker ||
	       !list_empty(&ctx->kio_queue) ||
	       (worker_unreserved(ctx) == 1 && atomic_read(&ctx->nr_kio));
}

/*
 * The life of an async thread: run queued chains, wait idle, exit after
 * the idle timeout or when killed.  Returns only when the thread has
 * taken over a user context, with the value to return to user space.
 */
static long worker_loop(struct syslet_worker *w)
{
	struct syslet_ctx *ctx = w->ctx;

	for (;;) {
		struct syslet_chain *c;
		bool started = false;
		long left;

		/* a SIGKILL taken where it could not leave (@killed) */
		if (READ_ONCE(w->killed))
			break;
		spin_lock(&ctx->lock);
		if (w->pob) {
			long ret = worker_reserved(ctx, w);

			if (ret)
				return ret;
			continue;
		}
		if (w->starting) {
			w->starting = false;
			WRITE_ONCE(ctx->nr_starting, ctx->nr_starting - 1);
			started = true;
		}
		if (!ctx->dead && !list_empty(&ctx->kwork)) {
			struct syslet_kwork *kw;

			kw = list_first_entry(&ctx->kwork, struct syslet_kwork,
					      node);
			list_del_init(&kw->node);
			ctx->nr_kwork_running++;
			worker_busy(ctx, w);
			spin_unlock(&ctx->lock);
			if (started)
				wake_up_all(&ctx->spare_wait);
			if (worker_run_kwork(ctx, kw))
				break;
			continue;
		}
		if (worker_kio(ctx, w)) {
			/*
			 * As after kernel work: the final fput() of a file
			 * closed while its read was in flight runs here
			 * (review 9 finding 4)
			 */
			if (task_work_pending(current))
				task_work_run();
			if (started)
				wake_up_all(&ctx->spare_wait);
			if (fatal_signal_pending(current))
				break;
			continue;
		}
		if (!ctx->dead && !list_empty(&ctx->queue)) {
			c = list_first_entry(&ctx->queue, struct syslet_chain, node);
			list_move_tail(&c->node, &ctx->running);
			syslet_queue_del(ctx);
			c->worker = current;
			w->took = true;
			worker_busy(ctx, w);
			spin_unlock(&ctx->lock);
			if (started)
				wake_up_all(&ctx->spare_wait);
			if (worker_run(ctx, c))
				break;
			continue;
		}
		if (ctx->dead) {
			spin_unlock(&ctx->lock);
			break;
		}
		/*
		 * Idle: a submitter takes us off ctx->idle and wakes us to
		 * run a chain, or reserves us for pass-on-block (@pob), and
		 * its chain's giver wakes us if it hands off.
		 */
		worker_unbusy(ctx, w);
		idle_add(ctx, w);
		__set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&ctx->lock);
		/* a submitter may wait for an idle thread to pass its caller on to */
		if (started || wq_has_sleeper(&ctx->spare_wait))
			wake_up_all(&ctx->spare_wait);

		left = schedule_timeout(msecs_to_jiffies(READ_ONCE(ctx->idle_msecs)));

		spin_lock(&ctx->lock);
		syslet_idle_del(ctx, w);
		if (w->pob) {
			long ret = worker_reserved(ctx, w);

			if (ret)
				return ret;
			continue;
		}
		/*
		 * Not while a submitter makes a thread for a chain it has yet
		 * to queue (ctx->nr_creating): that thread, or we, may be what
		 * it counts on to run it (syslet_queue_chain()).
		 */
		if (!left && list_empty(&ctx->queue) &&
		    list_empty(&ctx->kwork) && !syslet_must_stay() &&
		    !ctx->nr_creating && !worker_kio_keep(ctx)) {
			/* idle timeout: uncounted before the queue can fill */
			bool starting = worker_unlink(ctx, w);

			spin_unlock(&ctx->lock);
			worker_gone(w, starting);
		}
		spin_unlock(&ctx->lock);

		if (signal_pending(current)) {
			struct ksignal ksig;

			/* handles notifications and stops; true when fatal */
			if (get_signal(&ksig))
				break;
		}
	}
	worker_exit(w);
}

/*
 * ret_from_fork() zeroes ax after the thread function: put our result
 * back, and give @w to the giver.
 */
static void worker_set_ret(struct callback_head *cb)
{
	struct syslet_worker *w = container_of(cb, struct syslet_worker, ret_work);

	current_pt_regs()->ax = SYSLET_QUEUED;
	worker_give(w);
}

/*
 * A new async thread leaves what it inherited from the user thread that
 * happened to make it (create_io_thread() copies it from current), as
 * it will run every thread's queued chains: it starts without
 * PF_MEMALLOC_NOIO and PF_LOCAL_THROTTLE (PR_SET_IO_FLUSHER), at SCHED_NORMAL,
 * nice 0, on every CPU its cpuset allows, and with an io_context of its
 * own (CLONE_IO linked it to its maker's, which a later ioprio_set() of
 * either would change for both, and a hand-off would then leave a user
 * thread on an io_context shared with async threads).  Never more than
 * the process could take itself: where RLIMIT_NICE keeps its maker from
 * nice 0 (or from leaving SCHED_IDLE), it keeps its maker's nice (and
 * SCHED_IDLE); an RT or deadline policy it drops.  (Affinity within the
 * cpuset any thread may set for itself.)  Its I/O priority is the
 * default: each queued chain runs at its submitter's (worker_set_ioprio())
 * and a hand-off takes the user context's (syslet_ioprio_take()).  None
 * of it can fail but for memory: then it keeps what it has.
 */
/*
 * can_nice() for current without its capable(): the check is ours, not
 * the program's, and must not leave an LSM's audit record of a
 * CAP_SYS_NICE denial the program never asked for.
 */
static bool worker_may_nice(int nice)
{
	return nice_to_rlimit(nice) <= task_rlimit(current, RLIMIT_NICE) ||
	       has_capability_noaudit(current, CAP_SYS_NICE);
}

static void worker_neutral(struct syslet_ctx *ctx)
{
	struct sched_attr attr = { .sched_policy = SCHED_NORMAL };
	struct io_context *ioc = current->io_context;
	int nice = task_nice(current);
	cpumask_var_t mask;

	/* as setpriority() and sched_setattr() would refuse us */
	if (nice > 0 && !worker_may_nice(0))
		attr.sched_nice = nice;
	if (current->policy == SCHED_IDLE && !worker_may_nice(nice))
		attr.sched_policy = SCHED_IDLE;
	sched_setattr_nocheck(current, &attr);
	if (alloc_cpumask_var(&mask, GFP_KERNEL)) {
		cpuset_cpus_allowed(current, mask);
		syslet_set_affinity(mask);
		/*
		 * How many may run queued work before chains wait (above):
		 * the online CPUs of the mask (without cpusets it is every
		 * possible CPU)
		 */
		WRITE_ONCE(ctx->max_active,
			   cpumask_weight_and(mask, cpu_online_mask));
		free_cpumask_var(mask);
	}
	if (ioc)
		exit_io_context(current);
	/*
	 * Nor its PR_SET_IO_FLUSHER flags (review 10 finding 5): a chain or
	 * kernel work runs with its submitter's (worker_run(),
	 * worker_run_kwork()), reads posted here with none.
	 */
	current_restore_flags(0, SYSLET_KWORK_PF);
	/*
	 * Without set_task_ioprio()'s checks: the LSM hook and the uid test
	 * are for a program's ioprio_set(), not for our own default (no
	 * audit record, no denial).  No memory leaves none: the default
	 * priority, and no hand-off at another.
	 */
	set_task_ioprio_nocheck(current, IOPRIO_DEFAULT);
}

static int syslet_worker_fn(void *data)
{
	struct syslet_worker *w = data;

	worker_neutral(w->ctx);
	/*
	 * Made in an i386 caller's call, we inherited its TS_COMPAT: the
	 * ABI is each atom's (exec.c), and a user context we may take over
	 * (a hand-off, 64-bit callers only) returns to 64-bit user space.
	 */
	current_thread_info()->status &= ~TS_COMPAT;
	worker_loop(w);
	/*
	 * We took over a user context and return to user space through
	 * ret_from_fork().  The task work runs first thing on the way out,
	 * before any signal is delivered on the restored registers.
	 */
	init_task_work(&w->ret_work, worker_set_ret);
	if (WARN_ON_ONCE(task_work_add(current, &w->ret_work, TWA_SIGNAL)))
		worker_give(w);
	return 0;
}

/*
 * After pass-on-block: the task that gave its user context away has
 * finished its chain and becomes an async thread of @ctx, in @w, the
 * taker's struct (worker_give()), and in the taker's place in
 * ctx->nr_threads, taken at the hand-off.  Returns only if it takes over
 * another user context, with the value to return.
 */
long syslet_become_worker(struct syslet_ctx *ctx, struct syslet_worker *w,
			  bool killed)
{
	long ret;

	INIT_LIST_HEAD(&w->idle_node);
	w->task = current;
	w->ctx = ctx;
	w->starting = false;
	w->restricted = false;
	w->waiting = false;
	w->held = false;
	w->took = false;
	w->killed = killed;
	/* a reserved taker: idle, not woken, never busy */
	WARN_ON_ONCE(w->woken || w->asleep || w->standby);
	w->woken = false;
	w->asleep = false;
	w->standby = false;
	WRITE_ONCE(w->pob, NULL);
	w->uring = 0;
	w->give_to = NULL;
	refcount_inc(&ctx->refs);
	spin_lock(&ctx->lock);
	list_add(&w->node, &ctx->workers);
	spin_unlock(&ctx->lock);
	ret = worker_loop(w);
	/* we return through our own system call: no task work is needed */
	worker_give(w);
	return ret;
}

/*
 * create_io_thread() with every signal but SIGKILL blocked in the maker
 * meanwhile.  copy_process() refuses to make a thread while its maker
 * has a signal pending (-ERESTARTNOINTR, so that a fork is ordered with
 * the signals around it), and async threads are made where one may be:
 * a buffered read going to a thread from the task work that
 * get_signal() runs, with the signal to deliver pending
 * (kbuf_to_thread()), or async_exec() with a signal just come.  An
 * async thread is no fork user space could order signals with (it
 * blocks them all itself); the signal stays pending, and process-wide
 * ones may go to another thread meanwhile (set_current_blocked()).
 * A fatal signal, or a group stop, still refuses it.
 */
static struct task_struct *worker_spawn(struct syslet_worker *w)
{
	struct task_struct *tsk;
	sigset_t all, old;

	old = current->blocked;
	siginitsetinv(&all, sigmask(SIGKILL));
	set_current_blocked(&all);
	tsk = create_io_thread(syslet_worker_fn, w, NUMA_NO_NODE);
	set_current_blocked(&old);
	return tsk;
}

/*
 * Creates one async thread; ctx->nr_threads (and for a @starting spare,
 * ctx->nr_starting) was already raised for it.  @hold: no giver may
 * reserve it until worker_make() lets it go.
 */
static int worker_create(struct syslet_ctx *ctx, unsigned int seq,
			 bool starting, bool hold)
{
	struct syslet_worker *w;
	struct task_struct *tsk;
	char name[TASK_COMM_LEN];

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return -ENOMEM;
	/* the claim, which may not allocate, saves the giver's in it */
	if (syslet_sched_alloc(&w->sched) || syslet_sched_alloc(&w->own)) {
		worker_free(w);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&w->idle_node);
	w->ctx = ctx;
	w->starting = starting;
	w->held = hold;
	w->seq = seq;
	refcount_inc(&ctx->refs);
	tsk = worker_spawn(w);
	if (IS_ERR(tsk)) {
		worker_free(w);
		syslet_ctx_put(ctx);
		return PTR_ERR(tsk);
	}
	w->task = tsk;
	snprintf(name, sizeof(name), "syslet-%u", seq);
	set_task_comm(tsk, name);
	spin_lock(&ctx->lock);
	list_add(&w->node, &ctx->workers);
	/* made for work: it counts as woken for it (worker_going()) */
	if (hold) {
		w->woken = true;
		ctx->nr_woken++;
	}
	spin_unlock(&ctx->lock);
	wake_up_new_task(tsk);
	return 0;
}

/*
 * An idle thread for a queued chain: a restricted one first (it backs no
 * reservation but the TGID holder's), else the most recently idle one.
 */
static struct syslet_worker *idle_pick(struct syslet_ctx *ctx)
{
	struct syslet_worker *w;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(w, &ctx->idle, idle_node)
		if (w->restricted)
			return w;
	return list_first_entry_or_null(&ctx->idle, struct syslet_worker,
					idle_node);
}

static void wake_idle(struct syslet_ctx *ctx)
{
	struct syslet_worker *w = idle_pick(ctx);

	if (w)
		worker_wake(ctx, w);
}

/*
 * A thread that was being made was not (ctx->lock held, ctx->nr_threads
 * just lowered): if it was the process's only unreserved one and
 * completed reads wait for an async thread to post them (@kio_post, set
 * while it was counted), kio.c decides again (kio_post_work()), or they
 * would wait for a thread that no one makes, or for the end of a chain
 * that reserved the others (review 10 finding 3).
 */
static void worker_kio_orphan(struct syslet_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	if (worker_unreserved(ctx) || !ctx->kio_post)
		return;
	WRITE_ONCE(ctx->kio_post, false);
	refcount_inc(&ctx->refs);
	if (!queue_work(system_wq, &ctx->kio_post_work))
		refcount_dec(&ctx->refs);	/* not the last: ours */
}

/*
 * Makes one async thread, its place in ctx->nr_threads taken first
 * (ctx->lock held, dropped meanwhile; ctx->nr_creating keeps idle threads
 * from leaving on their timeout until it is known).  0, or the errno of
 * a thread that could not be made (its place given back).  @hold: for
 * work the caller queues once it has the lock again (below); a thread
 * made for no work in particular (syslet_kio_spare()) is not held, a
 * giver may reserve it as soon as it is idle (review 13 finding 1: a
 * giver at max_threads found only it idle, held, and ran its chain in
 * the caller).
 */
static int worker_make(struct syslet_ctx *ctx, bool hold)
{
	struct syslet_worker *w;
	unsigned int seq;
	int ret;

	lockdep_assert_held(&ctx->lock);
	ctx->nr_threads++;
	WRITE_ONCE(ctx->nr_creating, ctx->nr_creating + 1);
	seq = ctx->thread_seq++;
	spin_unlock(&ctx->lock);
	ret = worker_create(ctx, seq, false, hold);
	spin_lock(&ctx->lock);
	WRITE_ONCE(ctx->nr_creating, ctx->nr_creating - 1);
	if (ret) {
		ctx->nr_threads--;
		worker_kio_orphan(ctx);
		return ret;
	}
	if (!hold)
		return 0;
	/*
	 * A giver may reserve it from now on: our caller queues its work
	 * before it drops ctx->lock.  Running a chain it took meanwhile
	 * (another submitter's, or one queued before ours: it ran on from
	 * its start), which may wait for ours, it is no thread for ours:
	 * -EBUSY.  Gone already: the process is exiting or exec'ing.  (The
	 * newest of its seq: the list is newest first.)
	 */
	ret = ctx->dead ? -ECANCELED : -EINTR;
	list_for_each_entry(w, &ctx->workers, node) {
		if (w->seq != seq)
			continue;
		w->held = false;
		if (!list_empty(&w->idle_node) && !w->restricted) {
			WRITE_ONCE(ctx->nr_idle_open, ctx->nr_idle_open + 1);
			/* a giver waiting for a thread to reserve */
			if (wq_has_sleeper(&ctx->spare_wait))
				wake_up_all(&ctx->spare_wait);
		}
		ret = w->took ? -EBUSY : 0;
		break;
	}
	return ret;
}

/*
 * A thread for a work about to be queued: an idle one, or one made now,
 * up to ctx->max_threads (ctx->lock held, dropped meanwhile; one made
 * that took other work meanwhile does not count: worker_make()).  1 if
 * there is one; 0 if not, but other threads, busy, will run it once done
 * with what they run; a negative errno if none exists at all to run it
 * (-EAGAIN at max_threads).  Unless @reserved_ok, a thread reserved by a
 * pass-on-block giver does not count: it runs nothing until that chain
 * ends, which may wait for this very work (a read's blocking rest).
 */
static int worker_for_queue(struct syslet_ctx *ctx, bool reserved_ok)
{
	unsigned int others;
	int ret = -EAGAIN;

	lockdep_assert_held(&ctx->lock);
	if (idle_pick(ctx))
		return 1;
	if (ctx->nr_threads < ctx->max_threads)
		ret = worker_make(ctx, true);
	/* one that went idle while we tried */
	if (!ret || idle_pick(ctx))
		return 1;
	/* other threads will run it; with none, give it back */
	others = reserved_ok ? ctx->nr_threads : worker_unreserved(ctx);
	return others ? 0 : ret;
}

/*
 * Queues @node on @queue for an async thread (a chain on ctx->queue, a
 * kio on ctx->kio_queue), waking an idle one or creating one.  Returns 0,
 * or a negative errno if no thread exists to run it (it is then not
 * queued).  For a chain:
 *
 * The chain is published on ctx->queue only once it is known to stay
 * there: from then on a thread or async_cancel() may run, post and free
 * it at any moment.  So a thread that has to be made is made first (its
 * place in ctx->nr_threads reserved under the lock), and the chain is
 * queued after, or given back if no thread at all exists.  A chain on
 * ctx->running (a kbuf read going to a thread) moves from there to the
 * queue under one hold of ctx->lock, so that async_cancel() finds it at
 * every moment; given back, it is still on ctx->running.
 *
 * While the thread is being made, ctx->nr_creating keeps idle threads, the
 * new one too, from leaving on their idle timeout: else the new thread
 * could find the queue empty, time out and leave before the chain is
 * queued, which would then wait for no thread (a submitter delayed for an
 * idle time, 1 ms at the least, between the two: an interrupt storm, or a
 * virtual CPU its host does not run).
 */
static int queue_for_thread(struct syslet_ctx *ctx, struct list_head *node,
			    struct list_head *queue, bool reserved_ok)
{
	struct syslet_worker *w;
	unsigned int max;
	int ret;

	spin_lock(&ctx->lock);
	if (ctx->dead)
		goto dead;
	max = worker_max_active(ctx);
	w = queue == &ctx->queue ? standby_pick(ctx, max) : NULL;
	if (w) {
		standby_add(ctx, w);
		list_move_tail(node, queue);
		ctx->nr_queued++;
		/*
		 * The chain, then the count: pairs with the fully ordered
		 * decrement of __syslet_worker_sleeping(), which then reads
		 * the queue.  Either it sees the chain or we its sleep.
		 */
		smp_mb();
		if (worker_wanted(ctx, max))
			wake_queue(ctx, 0);
		else
			worker_kick_arm(ctx);
		spin_unlock(&ctx->lock);
		return 0;
	}
	ret = worker_for_queue(ctx, reserved_ok);
	if (ret < 0) {
		spin_unlock(&ctx->lock);
		return ret;
	}
	if (ctx->dead)
		goto dead;
	list_move_tail(node, queue);
	if (queue == &ctx->queue)
		ctx->nr_queued++;
	/* the new thread, if any, finds the work or is idle by now */
	wake_idle(ctx);
	spin_unlock(&ctx->lock);
	return 0;
dead:
	spin_unlock(&ctx->lock);
	return -ECANCELED;
}

int syslet_queue_chain(struct syslet_ctx *ctx, struct syslet_chain *c)
{
	/* a reserved thread runs it once its giver's chain ends */
	return queue_for_thread(ctx, &c->node, &ctx->queue, true);
}

/*
 * The submitter, current, gives @kw its credentials, PKRU, I/O priority,
 * PR_SET_IO_FLUSHER flags and thread (for the signals the work raises);
 * @key orders it with the other works of that key.
 */
void syslet_kwork_init(struct syslet_kwork *kw, const void *key,
		       const struct syslet_kwork_ops *ops)
{
	INIT_LIST_HEAD(&kw->node);
	INIT_LIST_HEAD(&kw->key_node);
	INIT_LIST_HEAD(&kw->later);
	kw->key = key;
	kw->ops = ops;
	kw->cred = get_current_cred();
	kw->submitter = get_task_pid(current, PIDTYPE_PID);
	kw->pkru = read_pkru();
	kw->ioprio = get_current_ioprio();
	kw->pflags = current->flags & SYSLET_KWORK_PF;
}

/* the first queued work of @key, running or not; ctx->lock held */
static struct syslet_kwork *kwork_first(struct syslet_ctx *ctx,
					const void *key)
{
	struct syslet_kwork *kw;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(kw, &ctx->kwork_keys, key_node)
		if (kw->key == key)
			return kw;
	return NULL;
}

/*
 * Has @key works queued or under way?  The look at ctx->kwork_keys
 * without the lock sees what this thread queued before (aio.c orders a
 * request after them).
 */
bool syslet_kwork_pending(struct syslet_ctx *ctx, const void *key)
{
	bool pending;

	if (list_empty_careful(&ctx->kwork_keys))
		return false;
	spin_lock(&ctx->lock);
	pending = kwork_first(ctx, key);
	spin_unlock(&ctx->lock);
	return pending;
}

/*
 * Is a work of @key, running or waiting, one @match says yes to?  @match
 * is called under ctx->lock; the works it sees are not freed meanwhile.
 */
bool syslet_kwork_any(struct syslet_ctx *ctx, const void *key,
		      bool (*match)(const struct syslet_kwork *kw,
				    const void *arg),
		      const void *arg)
{
	struct syslet_kwork *kw, *l;
	bool found = false;

	if (list_empty_careful(&ctx->kwork_keys))
		return false;
	spin_lock(&ctx->lock);
	kw = kwork_first(ctx, key);
	if (kw) {
		found = match(kw, arg);
		list_for_each_entry(l, &kw->later, node) {
			if (found)
				break;
			found = match(l, arg);
		}
	}
	spin_unlock(&ctx->lock);
	return found;
}

/*
 * Queues @kw (syslet_kwork_init()) for an async thread of @ctx, after
 * the works of its key queued before it.  0: queued, it will be done (or
 * dropped) and freed by the engine; from then on it may be at any
 * moment.  A negative errno: not queued, still the caller's, who does
 * the work itself: the ctx is dead, no thread exists to run it, or
 * -EBUSY, every thread runs a chain and no other can be made (at
 * max_threads, or its creation failed: review 9 finding 2).  Such a
 * chain may wait for this very work (io_getevents() in an atom, for the
 * write queued here): a thread busy with kernel work, which ends, or
 * one idle or new, is needed to queue it.
 */
int syslet_queue_kwork(struct syslet_ctx *ctx, struct syslet_kwork *kw)
{
	struct syslet_kwork *first;
	int ret;

	spin_lock(&ctx->lock);
	if (ctx->dead)
		goto dead;
	ret = worker_for_queue(ctx, false);
	if (!ret && !ctx->nr_kwork_running && list_empty(&ctx->kwork))
		ret = -EBUSY;
	if (ret < 0) {
		spin_unlock(&ctx->lock);
		return ret;
	}
	if (ctx->dead)
		goto dead;
	first = kw->key ? kwork_first(ctx, kw->key) : NULL;
	if (first) {
		/* the one that completes before it queues it */
		list_add_tail(&kw->node, &first->later);
	} else {
		if (kw->key)
			list_add_tail(&kw->key_node, &ctx->kwork_keys);
		list_add_tail(&kw->node, &ctx->kwork);
		wake_idle(ctx);
	}
	spin_unlock(&ctx->lock);
	return 0;
dead:
	spin_unlock(&ctx->lock);
	return -ECANCELED;
}

/*
 * A user thread that waits for requests to complete (io_destroy()) while
 * its process is killed, exits or execs (a SIGKILL pending): the kernel
 * work not started is ended here, as syslet_kill_workers() would end it
 * at the process's end, which cannot come while this thread waits (an
 * outside probe: io_destroy() with 64 O_DSYNC writes queued, then a
 * SIGKILL, or exit() or execve() in another thread: the process stayed,
 * unkillable, in D state, its mount busy).  Dying of a signal, the works
 * complete with -ECANCELED; at exit and exec they are written, with the
 * kill taken off for them (a pending SIGKILL ends a write at its start)
 * and put back after: this thread still dies on its way out.
 */
void syslet_kwork_end_dying(struct syslet_ctx *ctx)
{
	struct syslet_kwork *kw;
	bool kill_back;
	LIST_HEAD(drop);

	spin_lock(&ctx->lock);
	list_splice_init(&ctx->kwork, &drop);
	list_for_each_entry(kw, &drop, node)
		list_del_init(&kw->key_node);
	spin_unlock(&ctx->lock);
	if (list_empty(&drop))
		return;
	kill_back = fatal_signal_pending(current) && !syslet_dying_of_signal();
	kwork_drop(&drop);
	if (kill_back) {
		spin_lock_irq(&current->sighand->siglock);
		sigaddset(&current->pending.signal, SIGKILL);
		signal_wake_up(current, 1);
		spin_unlock_irq(&current->sighand->siglock);
	}
}

/*
 * Makes every async thread stop: idle ones wake and exit, running ones
 * have their blocked call interrupted and exit after it.  ctx->dead is set.
 */
void syslet_kill_workers(struct syslet_ctx *ctx)
{
	struct syslet_kio *kio, *tmp;
	struct syslet_worker *w;
	struct syslet_chain *c;
	struct syslet_kwork *kw;
	LIST_HEAD(drop);

	spin_lock(&ctx->lock);
	ctx->dead = true;
	/*
	 * Kernel work not started is dropped here (a running one's later
	 * works by its thread, kwork_next()): each completes once.
	 */
	list_splice_init(&ctx->kwork, &drop);
	list_for_each_entry(kw, &drop, node)
		list_del_init(&kw->key_node);
	list_for_each_entry(c, &ctx->running, node) {
		WRITE_ONCE(c->cancelled, true);
		/* a chain that passed its caller on has no worker entry yet */
		if (c->worker)
			set_notify_signal(c->worker);
	}
	list_for_each_entry(w, &ctx->workers, node)
		set_notify_signal(w->task);
	syslet_wake_spares(ctx);
	/*
	 * Reads left for a thread: dropped with the rest (syslet_kio_dead());
	 * no user thread waits for them now, so no kio_done_add() wake.
	 */
	list_for_each_entry_safe(kio, tmp, &ctx->kio_queue, qnode) {
		list_del_init(&kio->qnode);
		llist_add(&kio->lnode, &ctx->kio_done);
	}
	spin_unlock(&ctx->lock);
	kwork_drop(&drop);
	/* direct reads left for a thread of the process: none will come */
	syslet_kio_dead(ctx);
}

/*
 * Queues @kio (an @ops read whose rest must be read blocking: a page that
 * cannot be waited for, a buffer page that faults) for an async thread,
 * as syslet_queue_chain() queues a chain: never in the user thread that
 * merely posts it (review 7 finding 4: a zero-timeout io_getevents()
 * waited for the device there).  0, or a negative errno if no thread
 * exists to read it (not queued): -ECANCELED (the ctx is dead),
 * -EAGAIN, -ENOMEM, ... (none could be made).
 */
int syslet_queue_kio(struct syslet_ctx *ctx, struct syslet_kio *kio)
{
	INIT_LIST_HEAD(&kio->qnode);
	return queue_for_thread(ctx, &kio->qnode, &ctx->kio_queue, false);
}

/*
 * No user thread of the process could take its completed reads (every
 * one runs a chain, or is exiting): an async thread posts ctx->kio_done
 * instead (review 7 finding 11: the task work waited for a chain's end,
 * TWA_RESUME, and a chain waiting for the read's eventfd waited for
 * ever).  An idle one is woken; else the first to finish its chain or
 * to start takes it, or a thread reserved by a pass-on-block giver,
 * woken here, while it waits for a hand-off (syslet_taker_post(): review
 * 10 finding 1; before, with only reserved threads the reads failed with
 * -EAGAIN, and before that waited for the giver's chain, which may wait
 * for them without handing off: review 9 finding 1).  From a kworker
 * (kio.c): none is made here.  0, -ECANCELED if the ctx is dead, -EAGAIN
 * if the process has no async thread at all.
 */
int syslet_kio_to_worker(struct syslet_ctx *ctx)
{
	struct syslet_worker *w;
	int ret = 0;

	spin_lock(&ctx->lock);
	if (ctx->dead) {
		ret = -ECANCELED;
	} else if (!ctx->nr_threads) {
		ret = -EAGAIN;
	} else if (idle_pick(ctx)) {
		WRITE_ONCE(ctx->kio_post, true);
		wake_idle(ctx);
	} else {
		/* busy unreserved ones post them all once done, as ever */
		if (worker_unreserved(ctx))
			WRITE_ONCE(ctx->kio_post, true);
		/* and a reserved one, waiting or asleep idle, its share now */
		list_for_each_entry(w, &ctx->workers, node) {
			if (w->pob) {
				WRITE_ONCE(ctx->kio_taker, true);
				wake_up_process(w->task);
				break;
			}
		}
	}
	spin_unlock(&ctx->lock);
	return ret;
}

/*
 * Current, reserved by a pass-on-block giver for @w, waits for a hand-off
 * (syslet_pob_wait(), no pend it may claim): it posts ctx->kio_done if
 * no user thread or idle async thread could (@kio_taker), as worker_kio()
 * would, but for three things.  It posts io_submit() reads only, and
 * leaves a chain's to a busy unreserved async thread, else sends them to
 * a user thread (syslet_kio_post_taker(): their posting may fault on
 * memory the giver's user context serves).  It looks for a pend between
 * reads, and stops for one with the rest left for later (@kio_taker set
 * again): a hand-off that comes meanwhile waits for one read's posting at
 * the most (its aio ring and its read-on's copy, faults disabled, or a
 * thread made for its blocking rest; the giver sleeps on, and if it
 * wakes first, its chain goes on in the caller, as the adaptive protocol
 * allows).  And it reads no blocking rest (kbuf_to_thread()).  @later: a
 * pend it found over already.
 */
void syslet_taker_post(struct syslet_worker *w, unsigned long later)
{
	struct syslet_ctx *ctx = w->ctx;
	bool user = false;
	int ret;

	spin_lock(&ctx->lock);
	if (ctx->dead || !ctx->kio_taker || !w->pob) {
		spin_unlock(&ctx->lock);
		return;
	}
	WRITE_ONCE(ctx->kio_taker, false);
	spin_unlock(&ctx->lock);
	ret = syslet_kio_post_taker(ctx, &w->hs, later);
	if (ret) {
		spin_lock(&ctx->lock);
		if (ret & SYSLET_TAKER_STOPPED)
			WRITE_ONCE(ctx->kio_taker, true);
		/*
		 * A chain's reads: for an unreserved async thread, idle or
		 * once done with its chain (under ctx->lock: one that goes
		 * idle meanwhile is woken here), else for a user thread.
		 */
		if ((ret & SYSLET_TAKER_CHAINS) && worker_unreserved(ctx)) {
			WRITE_ONCE(ctx->kio_post, true);
			wake_idle(ctx);
		} else if (ret & SYSLET_TAKER_CHAINS) {
			user = true;
		}
		spin_unlock(&ctx->lock);
		if (user)
			syslet_kio_post_user(ctx);
	}
	/*
	 * As after worker_kio(): the final fput() of a file closed
	 * meanwhile (task work queued TWA_RESUME, which no look of ours
	 * for a signal would see).
	 */
	if (task_work_pending(current))
		task_work_run();
}

/*
 * Current, a user thread, is about to run a chain (or runs one) while
 * reads of the process are in flight: if no async thread is idle, make
 * one (below max_threads), so that a read that completes while every
 * user thread runs a chain finds one to post it (syslet_kio_to_worker()).
 * Only in a user thread's process context can one be made; the
 * completion comes in an interrupt.  A thread that cannot be made
 * (RLIMIT_NPROC, memory) is not an error here: the read then completes
 * with that error if no thread can post it.
 */
void syslet_kio_spare(struct syslet_ctx *ctx)
{
	spin_lock(&ctx->lock);
	if (!ctx->dead && !ctx->nr_idle && !ctx->nr_creating &&
	    !ctx->nr_starting && ctx->nr_threads < ctx->max_threads)
		worker_make(ctx, false); /* no thread: not an error here */
	spin_unlock(&ctx->lock);
}

/*
 * The idle thread a pass-on-block giver, current, would hand its user
 * context to: one whose identity fits.  The TGID's holder gives the
 * leader its context back first (a restricted thread, which no other
 * giver may use).  A traced thread takes no user context (the context
 * would become traced, and its TID, the tracee's, would be the caller's
 * untraced task's): *@traced says one that fits was passed over for
 * that.  ->ptrace is read locklessly, a hint: the claim reads it again
 * under tasklist_lock.  One just made for work not queued yet (@held) is
 * not picked: a giver with only it idle makes a thread of its own (at
 * max_threads, where it cannot, it runs its chain in the caller: the
 * held thread takes its maker's work).
 */
static struct syslet_worker *taker_pick(struct syslet_ctx *ctx, bool *traced)
{
	bool holder = !thread_group_leader(current) &&
		      task_pid_nr(current) == task_tgid_nr(current);
	struct syslet_worker *w, *pick = NULL;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(w, &ctx->idle, idle_node) {
		if (w->held)
			continue;
		if (!syslet_leader_may_take(current, w->task) ||
		    !syslet_identity_fits(current, w->task))
			continue;
		if (READ_ONCE(w->task->ptrace)) {
			*traced = true;
			continue;
		}
		if (!pick || w->restricted)
			pick = w;
		if (w->restricted || !holder)
			break;
	}
	return pick;
}

/*
 * Pass-on-block needs an idle async thread to hand the caller's user
 * context to: reserve one for @pob (the caller's), making it if none is
 * idle (and waiting until it is), so that a chain's sleep finds it even
 * when other threads submit at the same time.  The thread leaves
 * ctx->idle, runs no queued chain and does not exit on idle until
 * released (syslet_release_taker()) or it took the context.  Returns
 * NULL when none can be had (at the thread limit, a thread cannot be
 * made, or the idle ones do not fit the caller): a chain that sleeps then
 * runs on in the caller.
 */
struct syslet_worker *syslet_reserve_taker(struct syslet_ctx *ctx,
					   struct syslet_pob *pob)
{
	/*
	 * No bound on the tries: a round either reserves, or makes a thread
	 * (at most max_threads of them), or waits for one being made; when
	 * submitters race for the same new thread, the losers make more.
	 * Giving up instead would leave a chain that sleeps blocked in its
	 * caller, which a caller that does not expect it (aio_read() on an
	 * empty pipe, then a write to it) may never get out of.
	 */
	for (;;) {
		struct syslet_worker *w;
		bool create, traced = false;
		unsigned int seq = 0;

		spin_lock(&ctx->lock);
		if (ctx->dead) {
			spin_unlock(&ctx->lock);
			return NULL;
		}
		w = taker_pick(ctx, &traced);
		if (w) {
			syslet_idle_del(ctx, w);
			WRITE_ONCE(w->pob, pob);
			ctx->nr_reserved++;
			w->uring = 0;
			w->hs = syslet_hs(w->hs, SYSLET_HS_IDLE);
			spin_unlock(&ctx->lock);
			return w;
		}
		/*
		 * Idle ones that do not fit: in the caller, as before.  Only
		 * traced ones fit: make another (a new thread is not traced),
		 * one at a time, up to max_threads.  Nor make one for a
		 * caller no thread can take from (an i386 caller, a tracer's
		 * breakpoints, ...: review 5 finding 6).
		 */
		if ((ctx->nr_idle_open && !traced) ||
		    !syslet_arch_may_pass(current, current)) {
			spin_unlock(&ctx->lock);
			return NULL;
		}
		create = !ctx->nr_starting;
		if (create) {
			if (ctx->nr_threads >= ctx->max_threads) {
				spin_unlock(&ctx->lock);
				return NULL;
			}
			ctx->nr_threads++;
			WRITE_ONCE(ctx->nr_starting, ctx->nr_starting + 1);
			seq = ctx->thread_seq++;
		}
		spin_unlock(&ctx->lock);

		if (create && worker_create(ctx, seq, true, false)) {
			spin_lock(&ctx->lock);
			ctx->nr_threads--;
			worker_kio_orphan(ctx);
			WRITE_ONCE(ctx->nr_starting, ctx->nr_starting - 1);
			spin_unlock(&ctx->lock);
			return NULL;
		}
		/* a fatal signal ends the wait; the chain then stops at once */
		if (wait_event_killable(ctx->spare_wait,
					(!traced && READ_ONCE(ctx->nr_idle_open)) ||
					!READ_ONCE(ctx->nr_starting)))
			return NULL;
	}
}

/*
 * The chain completed without a hand-off (its giver, current, holds no
 * pend: the state is IDLE or OFF): give the reserved thread back.  One
 * that waits in syslet_pob_wait() is woken; one still asleep idle goes
 * back on ctx->idle, and is woken if work waits that it may have been
 * the only thread for: a queued chain, kernel work, reads to post or
 * to read on (review 9 finding 1: else they waited for its idle
 * timeout).
 */
void syslet_release_taker(struct syslet_ctx *ctx, struct syslet_worker *w)
{
	spin_lock(&ctx->lock);
	WRITE_ONCE(w->pob, NULL);
	ctx->nr_reserved--;
	if (w->waiting)
		wake_up_process(w->task);
	else
		idle_readd(ctx, w);
	if (!list_empty(&ctx->queue) || !list_empty(&ctx->kwork) ||
	    ctx->kio_post || ctx->kio_taker || !list_empty(&ctx->kio_queue))
		wake_idle(ctx);
	spin_unlock(&ctx->lock);
	if (wq_has_sleeper(&ctx->spare_wait))
		wake_up_all(&ctx->spare_wait);
}
