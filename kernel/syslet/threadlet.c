// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets: a function of the program runs in the calling thread, on a
 * stack of its own, at the cost of a plain function call; only if it is
 * about to sleep does the caller's user context, as it was when the
 * threadlet began, go on in another thread, which returns to user space
 * at once ("queued").  The threadlet finishes in the original task and
 * posts its return value to a ring.
 *
 * The other thread is a "user spare": a thread of the program (libsyslet
 * makes them) parked in async_exec(SYSLET_EXEC_SPARE).  At the hand-off
 * the two tasks exchange their identities whole: TIDs, FS/GS base (so
 * TLS, errno and the thread pointer), signal mask, pending thread-directed
 * signals, alternate stack, robust list, clear_child_tid, rseq and comm.
 * So the caller's context goes on with the caller's identity, and the
 * threadlet finishes with the spare's: no two tasks ever share a TLS
 * block.  When the threadlet ends, its task takes the spare's registers
 * as they were at its park call and parks in its place.  Nothing is
 * allocated by user space for this but the threadlet's stack.
 *
 *   caller (task A)                    spare (task B), parked
 *   async_exec(THREADLET) = 0
 *   runs fn on its stack ...
 *   ... fn's read() is about to sleep: hand-off, identities exchanged
 *   A sleeps on in read(), now B's     B returns from async_exec(THREADLET)
 *     identity                           = SYSLET_QUEUED, as the caller
 *   fn returns; async_exec(THREADLET_END) posts its value, takes B's
 *   registers at its park call, parks as a spare
 *
 * The hand-off follows pass-on-block's protocol (pob.c), with the state
 * word in the threadlet (tl->hs): the sleep hook only marks it pending
 * and wakes the reserved spare; the spare, once the threadlet's task is
 * off its CPU, claims it and exchanges the identities (TIDs under
 * tasklist_lock, signal state under the siglock, the rest as fields);
 * the threadlet's task, at the end of its schedule(), cancels the pend
 * (a short sleep: no hand-off) or waits for DONE, then loads the spare's
 * FS/GS base itself (a base is loaded by its own task) and goes on.
 *
 * Locking: ctx->lock protects ctx->uspares, ctx->nr_uspares, and the
 * pairing of a threadlet with its reserved spare (tl->spare, us->tl).
 * A spare reads tl->hs under rcu_read_lock() (a threadlet is freed
 * through RCU); once it has claimed, the threadlet lives until @taken,
 * which says the spare has copied what it needs of it.  A struct
 * syslet_uspare lives on its task's kernel stack while it is parked.
 */
#include <linux/compat.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>
#include <trace/events/syslet.h>
#include "syslet.h"

struct syslet_uspare {
	struct list_head	node;	/* ctx->uspares while idle */
	struct task_struct	*task;
	struct syslet_threadlet	*tl;	/* ctx->lock: reserved by */
};

struct syslet_threadlet {
	struct syslet_pob	pob;	/* current->syslet_pob while it runs */
	struct syslet_ctx	*ctx;	/* referenced */
	struct syslet_uspare	*spare;	/* ctx->lock: reserved, not taken */
	struct task_struct	*spare_task;	/* its task, referenced */
	unsigned long		hs;	/* the hand-off state (syslet.h) */
	struct completion	taken;	/* the spare is done reading us */
	struct syslet_uctx	uctx;	/* the caller's, at the beginning */
	struct pt_regs		spare_regs;	/* the spare's park call */
	unsigned long		spare_fsbase, spare_gsbase;
	struct syslet_sched	sched;		/* the caller's */
	struct pid		*caller;	/* its TID once handed off */
	struct fpu_image	fpm;
	struct rcu_head		rcu;
	u8			fpregs[];	/* the caller's FPU registers */
};

/* A spare the threadlet did not use goes back to the idle ones. */
static void threadlet_unreserve(struct syslet_threadlet *tl)
{
	struct syslet_ctx *ctx = tl->ctx;
	struct syslet_uspare *us;

	spin_lock(&ctx->lock);
	us = tl->spare;
	if (us) {
		tl->spare = NULL;
		us->tl = NULL;
		list_add(&us->node, &ctx->uspares);
		ctx->nr_uspares++;
	}
	spin_unlock(&ctx->lock);
}

/* A spare may still read tl->hs (under RCU) */
static void threadlet_free(struct syslet_threadlet *tl)
{
	if (tl->spare_task)
		put_task_struct(tl->spare_task);
	put_pid(tl->caller);
	syslet_ctx_put(tl->ctx);
	syslet_sched_free(&tl->sched);
	kfree_rcu(tl, rcu);
}

/*
 * Exchanges the signal state (mask, thread-directed pending signals,
 * alternate stack) between @a, the threadlet's task (off its CPU, or
 * spinning for DONE in the scheduler), and @b, the spare (current).
 * Siglock held since before the TIDs' exchange: a signal sent to a TID
 * after the exchange is queued after this (see pob.c's pass_signals()).
 */
static void exchange_signals(struct task_struct *a, struct task_struct *b)
{
	LIST_HEAD(tmp);

	lockdep_assert_held(&a->sighand->siglock);
	swap(a->blocked, b->blocked);
	list_splice_init(&a->pending.list, &tmp);
	list_splice_init(&b->pending.list, &a->pending.list);
	list_splice(&tmp, &b->pending.list);
	swap(a->pending.signal, b->pending.signal);
	swap(a->sas_ss_sp, b->sas_ss_sp);
	swap(a->sas_ss_size, b->sas_ss_size);
	swap(a->sas_ss_flags, b->sas_ss_flags);
	/* the spare looks for signals on its way out: harmless if spurious */
	set_tsk_thread_flag(b, TIF_SIGPENDING);
	/* @a's sleep is cut short if it now has a signal to take */
	syslet_giver_recalc_sigpending(a);
}

/* The rest: the TIDs and the signal state went already. */
static void exchange_identity(struct task_struct *a, struct task_struct *b)
{
	swap(a->robust_list, b->robust_list);
	swap(a->clear_child_tid, b->clear_child_tid);
	swap(a->set_child_tid, b->set_child_tid);
	syslet_swap_rseq(a, b);
	if (task_no_new_privs(a) || task_no_new_privs(b)) {
		task_set_no_new_privs(a);
		task_set_no_new_privs(b);
	}
}

/*
 * The scheduler hook in threadlet mode: current, running a threadlet, is
 * about to sleep.  Mark the hand-off pending and wake the reserved
 * spare, as __syslet_sched_sleeping() does.
 */
void syslet_threadlet_sleeping(struct task_struct *tsk,
			       struct syslet_threadlet *tl)
{
	unsigned long s, pend;

	/*
	 * A temporary signal mask is in place: see __syslet_sched_sleeping().
	 * ->ptrace read locklessly: a hint, checked again by the spare.
	 */
	if (!tl->pob.armed || tl->pob.passed || READ_ONCE(tsk->ptrace) ||
	    (tsk->flags & PF_EXITING) || fatal_signal_pending(tsk) ||
	    test_restore_sigmask() ||
	    !list_empty(&tsk->pi_state_list))
		return;
#ifdef CONFIG_IO_URING
	if (tsk->io_uring)
		return;
#endif
	s = READ_ONCE(tl->hs);
	if (syslet_hs_phase(s) != SYSLET_HS_IDLE)
		return;
	pend = s + SYSLET_HS_SEQ + SYSLET_HS_PENDING;
	/* not preemptible to the wake-up: see __syslet_sched_sleeping() */
	preempt_disable();
	if (cmpxchg(&tl->hs, s, pend) != s) {
		preempt_enable();
		return;
	}
	tl->pob.pending = pend;
	/* referenced by @tl: an unpaired spare may have gone */
	syslet_wake_up_sync(tl->spare_task);
	preempt_enable();
}

/*
 * The end of the threadlet's task's schedule(): cancel the pend, or wait
 * until the spare has exchanged the identities and go on with the
 * spare's TLS.
 */
void syslet_threadlet_woken(struct task_struct *tsk,
			    struct syslet_threadlet *tl)
{
	unsigned long s = tl->pob.pending, old;

	if (!s)
		return;
	tl->pob.pending = 0;
	old = cmpxchg(&tl->hs, s, syslet_hs(s, SYSLET_HS_IDLE));
	if (old == s || syslet_hs_phase(old) == SYSLET_HS_OFF)
		return;
	/* claimed: pairs with the spare's release of DONE */
	while (syslet_hs_phase(smp_load_acquire(&tl->hs)) != SYSLET_HS_DONE)
		cpu_relax();
	/* the threadlet goes on with the spare's TLS */
	syslet_arch_set_bases(tl->spare_fsbase, tl->spare_gsbase);
	tl->pob.passed = true;
}

/* The spare refuses @tl's hand-offs from now on; under ctx->lock */
static void threadlet_refuse(struct syslet_threadlet *tl)
{
	unsigned long s, old;

	for (;;) {
		s = READ_ONCE(tl->hs);
		if (syslet_hs_phase(s) == SYSLET_HS_OFF)
			return;
		old = cmpxchg(&tl->hs, s, syslet_hs(s, SYSLET_HS_OFF));
		if (old == s)
			return;
	}
}

/*
 * The spare @us, current, claims pend @s of threadlet @tl (read under
 * rcu_read_lock(), which the caller holds) and exchanges identities with
 * its task.  SYSLET_CLAIM_GO if it did: @tl lives until tl->taken.
 */
static int threadlet_claim(struct syslet_ctx *ctx, struct syslet_uspare *us,
			   struct syslet_threadlet *tl, unsigned long s)
{
	struct task_struct *from = tl->pob.giver;
	bool refuse = false;
	int ret;

	ret = syslet_giver_off_cpu(&tl->hs, from, s);
	if (ret != SYSLET_CLAIM_GO)
		return ret;
	/* the threadlet's task is quiet: what may have changed since begin */
	if (fatal_signal_pending(from) || !list_empty(&from->pi_state_list) ||
	    !syslet_identity_same(from, current) ||
	    !syslet_leader_may_take(from, current))
		refuse = true;

	preempt_disable();	/* until DONE: see pob_claim() */
	spin_lock(&ctx->lock);
	if (us->tl != tl || READ_ONCE(tl->hs) != s) {
		spin_unlock(&ctx->lock);
		preempt_enable();
		return SYSLET_CLAIM_GONE;
	}
	/*
	 * Once handed off, the threadlet's completion may have to wait on
	 * an overflow list: it takes its place in max_chains now (or stays).
	 */
	if (refuse || ctx->dead || ctx->nr_chains >= ctx->max_chains)
		goto refuse;
	/*
	 * Both tasks return to user space with the other's TID: neither may
	 * be traced.  A tracer attaches under tasklist_lock, and the TIDs
	 * are exchanged under it, inside ctx->lock.
	 */
	write_lock_irq(&tasklist_lock);
	if (from->ptrace || current->ptrace) {
		write_unlock_irq(&tasklist_lock);
		goto refuse;
	}
	if (cmpxchg(&tl->hs, s, syslet_hs(s, SYSLET_HS_CLAIMED)) != s) {
		write_unlock_irq(&tasklist_lock);
		spin_unlock(&ctx->lock);
		preempt_enable();
		return SYSLET_CLAIM_GONE;
	}
	/* with the TIDs, as pob.c's pass_signals() */
	spin_lock(&current->sighand->siglock);
	syslet_exchange_tids(from, current);
	exchange_signals(from, current);
	spin_unlock(&current->sighand->siglock);
	/* the caller's TID, for its children at the threadlet's end */
	tl->caller = get_pid(task_pid(current));
	/* PR_SET_PDEATHSIG: the thread's, exchanged (sent to each holder) */
	swap(from->pdeath_signal, current->pdeath_signal);
	write_unlock_irq(&tasklist_lock);
	tl->spare = NULL;
	ctx->nr_chains++;
	spin_unlock(&ctx->lock);

	/* ours, as at our park call: the threadlet goes on with them */
	tl->spare_regs = *current_pt_regs();
	syslet_arch_bases(current, &tl->spare_fsbase, &tl->spare_gsbase);
	syslet_sched_save(&tl->sched, from);
	exchange_identity(from, current);
	/* pairs with syslet_threadlet_woken() */
	smp_store_release(&tl->hs, syslet_hs(s, SYSLET_HS_DONE));
	preempt_enable();
	trace_syslet_handoff(task_pid_nr(current), task_pid_nr(from), true);
	return SYSLET_CLAIM_GO;

refuse:
	threadlet_refuse(tl);
	spin_unlock(&ctx->lock);
	preempt_enable();
	return SYSLET_CLAIM_GONE;
}

/* The spare, current, makes the caller's context of @tl its own. */
static long threadlet_take(struct syslet_threadlet *tl)
{
	struct task_struct *from = tl->pob.giver;
	char comm[TASK_COMM_LEN];

	syslet_arch_take_fp(&tl->uctx, &tl->fpm, tl->fpregs, SYSLET_QUEUED);
	/* the names go with the identities */
	strscpy(comm, current->comm, sizeof(comm));
	syslet_sched_take(&tl->sched);
	set_task_comm(from, comm);
	complete(&tl->taken);
	return SYSLET_QUEUED;
}

/*
 * Parks current as a user spare until a threadlet hands it its caller's
 * context (returns SYSLET_QUEUED, with that context's registers), a
 * signal comes (-EINTR), it has been idle for the process's idle time
 * (-ETIMEDOUT) or the process is going (-ECANCELED).  A spare that was
 * reserved cannot refuse a hand-off once it has begun.  A leader that
 * gave its TID away does not time out (see worker_must_stay()).
 */
static long spare_park(struct syslet_ctx *ctx)
{
	struct syslet_uspare us = { .task = current };
	struct syslet_threadlet *tl;
	unsigned long later = 0;
	long timeout, ret;

	spin_lock(&ctx->lock);
	if (ctx->dead) {
		spin_unlock(&ctx->lock);
		return -ECANCELED;
	}
	list_add(&us.node, &ctx->uspares);
	ctx->nr_uspares++;
	ctx->nr_parked++;
	spin_unlock(&ctx->lock);

	timeout = msecs_to_jiffies(READ_ONCE(ctx->idle_msecs));
	for (;;) {
		unsigned long s;
		int claim = -1;

		set_current_state(TASK_INTERRUPTIBLE);
		/* a threadlet is freed through RCU; a pend: threadlet_claim() */
		rcu_read_lock();
		tl = READ_ONCE(us.tl);
		/* pairs with the hook's cmpxchg: the threadlet is filled in */
		s = tl ? smp_load_acquire(&tl->hs) : 0;
		if (tl && syslet_hs_phase(s) == SYSLET_HS_PENDING && s != later) {
			__set_current_state(TASK_RUNNING);
			claim = threadlet_claim(ctx, &us, tl, s);
		}
		rcu_read_unlock();
		if (claim == SYSLET_CLAIM_GO)
			break;
		/* its sleep is over: it cancels; its next pend wakes us */
		if (claim == SYSLET_CLAIM_LATER)
			later = s;
		if (claim >= 0)
			continue;
		if (!timeout && syslet_must_stay())
			timeout = MAX_SCHEDULE_TIMEOUT;
		ret = signal_pending(current) ? -EINTR :
		      READ_ONCE(ctx->dead) ? -ECANCELED :
		      !timeout ? -ETIMEDOUT : 0;
		if (!ret) {
			timeout = schedule_timeout(timeout);
			continue;
		}
		__set_current_state(TASK_RUNNING);
		spin_lock(&ctx->lock);
		if (us.tl) {
			/* its threadlet runs on in its caller */
			threadlet_refuse(us.tl);
			us.tl->spare = NULL;
		} else {
			list_del(&us.node);
			ctx->nr_uspares--;
		}
		ctx->nr_parked--;
		spin_unlock(&ctx->lock);
		return ret;
	}
	/* claimed: @tl lives until we complete tl->taken */
	spin_lock(&ctx->lock);
	ctx->nr_parked--;	/* a user thread again */
	spin_unlock(&ctx->lock);
	return threadlet_take(tl);
}

/* The process is going: wake the idle spares, which see ctx->dead. */
void syslet_wake_spares(struct syslet_ctx *ctx)
{
	struct syslet_uspare *us;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(us, &ctx->uspares, node)
		wake_up_process(us->task);
}

/* The process's context, for a spare or a threadlet of current's. */
static struct syslet_ctx *threadlet_ctx(void)
{
	if (current->syslet_pob)
		return ERR_PTR(-EBUSY);	/* inside a threadlet or a chain */
	if (in_compat_syscall())
		return ERR_PTR(-EOPNOTSUPP);
	return syslet_get_ctx(true);
}

/* async_exec(NULL, NULL, NULL, SYSLET_EXEC_SPARE) */
long syslet_spare(void)
{
	struct syslet_ctx *ctx;
	long ret;

	ctx = threadlet_ctx();
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	refcount_inc(&ctx->refs);
	ret = spare_park(ctx);
	syslet_ctx_put(ctx);
	return ret;
}

/*
 * async_exec(NULL, NULL, NULL, SYSLET_EXEC_THREADLET): a threadlet begins
 * in the caller.  Returns 0 to the caller, which runs it; SYSLET_QUEUED
 * later, to the spare that goes on with the caller's context if the
 * threadlet sleeps; -EAGAIN if no spare is parked (run it some other way).
 */
long syslet_threadlet_begin(void)
{
	struct syslet_threadlet *tl;
	struct syslet_uspare *us;
	struct syslet_ctx *ctx;
	unsigned int fpsize;

	ctx = threadlet_ctx();
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (!READ_ONCE(ctx->nr_uspares))
		return -EAGAIN;
	fpsize = syslet_arch_fp_size();
	tl = kzalloc(struct_size(tl, fpregs, fpsize), GFP_KERNEL_ACCOUNT);
	if (!tl)
		return -ENOMEM;
	/* the claim, which may not allocate, saves the caller's in it */
	if (syslet_sched_alloc(&tl->sched)) {
		kfree(tl);
		return -ENOMEM;
	}

	spin_lock(&ctx->lock);
	us = list_first_entry_or_null(&ctx->uspares, struct syslet_uspare,
				      node);
	if (us && !ctx->dead) {
		list_del(&us->node);
		ctx->nr_uspares--;
		us->tl = tl;
		tl->spare = us;
		tl->spare_task = get_task_struct(us->task);
	}
	spin_unlock(&ctx->lock);
	if (!tl->spare_task) {
		syslet_sched_free(&tl->sched);
		kfree(tl);
		return -EAGAIN;
	}
	refcount_inc(&ctx->refs);
	tl->ctx = ctx;
	init_completion(&tl->taken);
	tl->pob.ctx = ctx;
	tl->pob.tl = tl;
	tl->pob.giver = current;
	tl->pob.armed = true;
	/* checked here, where current is the caller (arch: its segments) */
	if (!syslet_identity_fits(current, tl->spare_task))
		tl->hs = SYSLET_HS_OFF;
	tl->fpm.size = fpsize;
	syslet_arch_save(&tl->uctx);
	syslet_arch_save_fp(&tl->fpm, tl->fpregs);
	current->syslet_pob = &tl->pob;
	return 0;
}

/*
 * async_exec(NULL, ring, done, SYSLET_EXEC_THREADLET_END): the threadlet
 * returned; post *@done (its status and user_data) to @ring.  Then
 * done->flags is set to 0: the memory of *@done (the threadlet's stack,
 * say) may be reused from then on, though this task has not left it.  If it never
 * slept, the caller goes on: returns SYSLET_DONE or an error of the post.
 * If it did, current takes the spare's place: its registers at its park
 * call, and parks (see spare_park()).
 */
long syslet_threadlet_end(struct syslet_ring __user *ring,
			  struct syslet_completion __user *done)
{
	struct syslet_pob *pob = current->syslet_pob;
	struct syslet_completion comp = {};
	struct syslet_threadlet *tl;
	struct syslet_ctx *ctx;
	long ret;

	if (!pob || !pob->tl)
		return -EINVAL;
	tl = pob->tl;
	ctx = tl->ctx;
	/* from here on a sleep hands nothing off */
	tl->pob.armed = false;

	/*
	 * Its children and tracees to the caller's context (pob.c), before
	 * the completion that tells the caller the threadlet is over.
	 * tl->caller is the claim's, read after DONE (acquire).
	 */
	if (tl->pob.passed)
		syslet_give_relations(tl->caller);

	ret = ring && done ? syslet_ring_check(ring) : -EINVAL;
	if (!ret && (get_user(comp.status, &done->status) ||
		     get_user(comp.user_data, &done->user_data)))
		ret = -EFAULT;
	if (!ret) {
		if (!tl->pob.passed)
			comp.flags = SYSLET_COMP_SYNC;
		/* a hand-off counted it in max_chains (uncounted here) */
		ret = syslet_post_comp(ctx, &comp, ring, tl->pob.passed);
	} else if (tl->pob.passed) {
		syslet_chain_uncount(ctx);
	}
	/* posted (or refused): the threadlet's memory is the program's again */
	if (done && put_user(0, &done->flags) && ret >= 0)
		ret = -EFAULT;

	current->syslet_pob = NULL;
	if (!tl->pob.passed) {
		threadlet_unreserve(tl);
		threadlet_free(tl);
		return ret;
	}
	wait_for_completion(&tl->taken);
	*current_pt_regs() = tl->spare_regs;
	refcount_inc(&ctx->refs);
	threadlet_free(tl);
	ret = spare_park(ctx);
	syslet_ctx_put(ctx);
	return ret;
}

/* current exits or execs with a threadlet running: drop it. */
void syslet_threadlet_exit(void)
{
	struct syslet_pob *pob = current->syslet_pob;
	struct syslet_threadlet *tl;

	if (!pob || !pob->tl)
		return;
	tl = pob->tl;
	current->syslet_pob = NULL;
	if (tl->pob.passed) {
		wait_for_completion(&tl->taken);
		syslet_chain_uncount(tl->ctx);	/* counted at the hand-off */
	} else {
		threadlet_unreserve(tl);
	}
	threadlet_free(tl);
}
