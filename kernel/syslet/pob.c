// SPDX-License-Identifier: GPL-2.0
/*
 * Pass-on-block: a chain submitted without SYSLET_ASYNC or SYSLET_SYNC runs
 * in its caller, at the cost of a plain system call, until one of its
 * atoms is about to sleep.  Then, from the scheduler (sched_submit_work(),
 * where io-wq and workqueues learn that a worker blocks), the caller's
 * user context is handed to an idle async thread of the process, which
 * returns to user space with it at once, "queued".  The caller's task
 * sleeps on, finishes the chain as an async thread and posts its
 * completion; then it is an async thread like any other.
 *
 * The user-visible identity travels with the user context: the TID (the
 * two tasks exchange PIDs), the registers, FPU state, FS/GS base and PKRU,
 * the signal mask, pending thread-directed signals and alternate signal
 * stack, the robust futex list, clear_child_tid, rseq, personality,
 * no_new_privs, comm, scheduling policy and CPU affinity.  Credentials,
 * seccomp filter, files, fs and namespaces, and the per-thread state of
 * syslet_task_state_same(), are required to be the same in both tasks
 * (always true for threads that did not unshare or change them alone);
 * if they are not, or the caller is traced, owns PI futex
 * state, has an io_uring task context, has a fatal signal pending or uses
 * a 32-bit ABI, or no idle async thread is available, the chain just runs
 * on in the caller.
 *
 * Locking in the hook: the caller is current, in the scheduler with its
 * state set to sleep, holding no spinlock (it could not sleep otherwise).
 * It takes ctx->lock, and when an async thread may take its context,
 * tasklist_lock (written: the TIDs move under it) inside it; then
 * separately its siglock.
 * The taker is asleep, reserved by @take, until @ready is published.
 */
#include <linux/audit.h>
#include <linux/cred.h>
#include <linux/iocontext.h>
#include <linux/mempolicy.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>
#include <linux/uprobes.h>
#include <uapi/linux/sched/types.h>
#include <trace/events/syslet.h>
#include "syslet.h"

bool syslet_pob_in_caller(void)
{
	struct syslet_pob *pob = current->syslet_pob;

	/* a threadlet's task returns to user space, whoever it is then */
	return !pob || pob->tl || !pob->passed;
}

/*
 * The caller is about to die in the middle of its chain (a seccomp KILL
 * action on an atom), before any hand-off: give back the idle thread it
 * reserved, or it would stay reserved, and never run a queued chain, for
 * as long as the process lives, and the chain with its count.
 */
void syslet_pob_abort(void)
{
	struct syslet_pob *pob = current->syslet_pob;

	if (!pob || pob->passed || pob->tl)
		return;
	current->syslet_pob = NULL;
	if (pob->reserved) {
		pob->reserved = false;
		syslet_unreserve_spare(pob->ctx);
	}
	/* the chain ends with its caller, never posted */
	syslet_chain_drop(pob->chain);
}

/* @t's I/O priority, as get_current_ioprio() would find it for @t */
static int syslet_ioprio(struct task_struct *t)
{
	struct io_context *ioc = READ_ONCE(t->io_context);

	return ioc ? READ_ONCE(ioc->ioprio) : 0;
}

/* @t's PF_ flags that user space sets: PR_MCE_KILL, PR_SET_IO_FLUSHER */
static unsigned int syslet_task_pf(struct task_struct *t)
{
	unsigned int pf = READ_ONCE(t->flags);

	/* PF_MCE_EARLY means nothing without PF_MCE_PROCESS */
	if (!(pf & PF_MCE_PROCESS))
		pf &= ~PF_MCE_EARLY;
	return pf & (PF_MCE_PROCESS | PF_MCE_EARLY | PF_MEMALLOC_NOIO |
		     PF_LOCAL_THROTTLE);
}

/*
 * Per-task state that user space sets for one thread and that a hand-off
 * does not move (docs/design.md has the list, and what is done with each
 * item): if giver and taker differ in any of it, there is no hand-off.
 * Both are quiet: @from is current, in the scheduler hook; @to sleeps, and
 * only it changes its own state (the atoms that would are refused).
 */
static bool syslet_task_state_same(struct task_struct *from,
				   struct task_struct *to)
{
	const unsigned long pfa = BIT(PFA_SPEC_SSB_DISABLE) |
				  BIT(PFA_SPEC_SSB_NOEXEC) |
				  BIT(PFA_SPEC_SSB_FORCE_DISABLE) |
				  BIT(PFA_SPEC_IB_DISABLE) |
				  BIT(PFA_SPEC_IB_FORCE_DISABLE);

	/* PR_MCE_KILL, PR_SET_IO_FLUSHER; speculation prctl()s */
	if (syslet_task_pf(from) != syslet_task_pf(to) ||
	    (READ_ONCE(from->atomic_flags) ^ READ_ONCE(to->atomic_flags)) & pfa)
		return false;
	/* PR_SET_TIMERSLACK; ioprio_set(IOPRIO_WHO_PROCESS) */
	if (from->timer_slack_ns != to->timer_slack_ns ||
	    syslet_ioprio(from) != syslet_ioprio(to))
		return false;
	/* syscall user dispatch */
	if (test_task_syscall_work(from, SYSCALL_USER_DISPATCH) ||
	    test_task_syscall_work(to, SYSCALL_USER_DISPATCH))
		return false;
#ifdef CONFIG_CGROUPS
	/* threaded cgroups: a thread's own cgroup */
	if (rcu_access_pointer(from->cgroups) != rcu_access_pointer(to->cgroups))
		return false;
#endif
#ifdef CONFIG_NUMA
	if (!mpol_equal(from->mempolicy, to->mempolicy))
		return false;
#endif
#ifdef CONFIG_SCHED_CORE
	if (from->core_cookie != to->core_cookie)
		return false;
#endif
#ifdef CONFIG_UPROBES
	/* a uretprobe's trampoline address is on the user stack */
	if ((from->utask && from->utask->return_instances) ||
	    (to->utask && to->utask->return_instances))
		return false;
#endif
	return true;
}

/* Could @to run @from's user context with the same meaning? */
bool syslet_identity_fits(struct task_struct *from, struct task_struct *to)
{
	if (from->files != to->files || from->fs != to->fs ||
	    from->cred != to->cred || from->real_cred != to->real_cred ||
	    from->nsproxy != to->nsproxy)
		return false;
#ifdef CONFIG_SECCOMP
	if (from->seccomp.mode != to->seccomp.mode ||
	    from->seccomp.filter != to->seccomp.filter)
		return false;
#endif
	return syslet_task_state_same(from, to) &&
	       syslet_arch_may_pass(from, to);
}

/*
 * A leader that gave its TID away gets it back when it or the TID's holder
 * exits (syslet_reclaim_tid()).  Had it taken over another thread's user
 * context meanwhile, that context's TID would change under it, and the
 * main thread's too: it may only take the context that holds the TGID.
 */
bool syslet_leader_may_take(struct task_struct *from, struct task_struct *to)
{
	return !thread_group_leader(to) ||
	       task_pid_nr(from) == task_tgid_nr(from);
}

/*
 * Exchanges the TIDs of @a and @b, and their start times, which user space
 * reads as the TID's (/proc/<tid>/stat: a TID whose start time changes
 * looks like a reused one).  Under tasklist_lock, written.
 */
void syslet_exchange_tids(struct task_struct *a, struct task_struct *b)
{
	lockdep_assert_held_write(&tasklist_lock);
	exchange_tids(a, b);
	swap(a->start_time, b->start_time);
	swap(a->start_boottime, b->start_boottime);
}

/*
 * Moves the per-thread state that belongs to the user context from
 * @from (current) to @to, but the TID (exchanged already); @from is left
 * as an async thread that blocks every signal but SIGKILL and SIGSTOP.
 */
static void pass_identity(struct task_struct *from, struct task_struct *to)
{
	struct sighand_struct *sighand = from->sighand;

	spin_lock_irq(&sighand->siglock);
	to->blocked = from->blocked;
	siginitsetinv(&from->blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
	list_splice_tail_init(&from->pending.list, &to->pending.list);
	sigorsets(&to->pending.signal, &to->pending.signal,
		  &from->pending.signal);
	sigemptyset(&from->pending.signal);
	to->sas_ss_sp = from->sas_ss_sp;
	to->sas_ss_size = from->sas_ss_size;
	to->sas_ss_flags = from->sas_ss_flags;
	sas_ss_reset(from);
	/* the taker looks for signals on its way out; a spurious look is harmless */
	set_tsk_thread_flag(to, TIF_SIGPENDING);
	recalc_sigpending();
	spin_unlock_irq(&sighand->siglock);

	to->robust_list = from->robust_list;
	from->robust_list = NULL;
	to->clear_child_tid = from->clear_child_tid;
	from->clear_child_tid = NULL;
	to->set_child_tid = from->set_child_tid;
	from->set_child_tid = NULL;
#ifdef CONFIG_RSEQ
	to->rseq = from->rseq;
	to->rseq_sig = from->rseq_sig;
	from->rseq = NULL;
	from->rseq_sig = 0;
	if (to->rseq)
		rseq_set_notify_resume(to);
#endif
	to->personality = from->personality;
	if (task_no_new_privs(from))
		task_set_no_new_privs(to);
}

/*
 * The audit record of the giver's async_exec() (its context, put aside
 * for the atom's by syslet_dispatch()) goes with the user context: the
 * taker writes it, as the call that returns SYSLET_QUEUED, under the
 * user thread's identity (syslet_pob_take()); the giver gets the taker's
 * unused context, and goes on as an async thread with it.  Else the
 * giver kept the record pending, written whenever it next left a system
 * call of its own or exited, with its own name and a wrong result.  @to
 * sleeps: nothing else touches its context.  A taker made without a
 * context (audit was off then) is given none: the record stays behind.
 */
static void syslet_audit_pass(struct syslet_pob *pob, struct task_struct *to)
{
#ifdef CONFIG_AUDITSYSCALL
	struct audit_context **outer = pob->audit_outer;

	if (outer && !IS_ERR_OR_NULL(*outer) && to->audit_context)
		swap(*outer, to->audit_context);
#endif
}

/*
 * The scheduler hook: current, running a chain in the caller, is about to
 * sleep in an atom's system call.  Hand its user context to an idle async
 * thread if one fits; current then finishes the chain as an async thread.
 */
void __syslet_sched_sleeping(struct task_struct *tsk)
{
	struct syslet_pob *pob = tsk->syslet_pob;
	struct syslet_ctx *ctx = pob->ctx;
	struct syslet_chain *c = pob->chain;
	struct syslet_worker *w, *taker = NULL;
	struct syslet_handoff *h;
	struct task_struct *to;
	bool holder;

	if (pob->tl) {
		syslet_threadlet_sleeping(tsk, pob->tl);
		return;
	}
	if (!pob->armed)
		return;
	/* one try per atom: no spare now means none in the next microseconds */
	pob->armed = false;
	/*
	 * A call that installed a temporary signal mask (ppoll, pselect6,
	 * epoll_pwait, io_pgetevents) sleeps with the saved one pending
	 * restore on this task: the mask is not the user context's own now.
	 * ->ptrace is read locklessly here: a hint, checked again below.
	 */
	if (READ_ONCE(tsk->ptrace) || fatal_signal_pending(tsk) ||
	    test_restore_sigmask() || !list_empty(&tsk->pi_state_list) ||
	    !READ_ONCE(ctx->nr_idle))
		return;
#ifdef CONFIG_IO_URING
	/* its io_uring task context (registered ring fds) cannot move */
	if (tsk->io_uring)
		return;
#endif

	/* does it carry the TGID, its leader's TID being away? */
	holder = !thread_group_leader(tsk) &&
		 task_pid_nr(tsk) == task_tgid_nr(tsk);

	spin_lock(&ctx->lock);
	/* the chain is counted in ctx->nr_chains since async_exec() */
	if (!ctx->dead) {
		/*
		 * The TGID's holder gives the leader its context back first:
		 * no other giver may use that thread.
		 */
		list_for_each_entry(w, &ctx->idle, idle_node) {
			if (!syslet_identity_fits(tsk, w->task) ||
			    !syslet_leader_may_take(tsk, w->task))
				continue;
			if (!taker || w->restricted)
				taker = w;
			if (w->restricted || !holder)
				break;
		}
	}
	/*
	 * A tracer attaches under tasklist_lock (ptrace_attach()), and the
	 * TID moves under it: a traced task never hands off, and the TID
	 * goes to the taker before anyone can attach to the giver by it.
	 * tasklist_lock nests inside ctx->lock, never around it (it is taken
	 * for reading in interrupts, ctx->lock with interrupts on).
	 */
	if (taker) {
		write_lock_irq(&tasklist_lock);
		if (tsk->ptrace) {
			write_unlock_irq(&tasklist_lock);
			taker = NULL;
		}
	}
	if (taker) {
		syslet_exchange_tids(tsk, taker->task);
		/*
		 * The TID, and signals an atom raises later, go with the
		 * context: the submitter is the taker now (tsk has the
		 * taker's old TID; forwarding to it would be to itself).
		 */
		c->submitter = get_pid(task_pid(taker->task));
		write_unlock_irq(&tasklist_lock);
		syslet_idle_del(ctx, taker);
		ctx->nr_reserved--;
		pob->reserved = false;
		taker->take = true;
		ctx->nr_handing++;	/* until the taker is a user thread */
		/* the chain is an async one from now on: cancel can find it */
		c->worker = tsk;
		list_add_tail(&c->node, &ctx->running);
	}
	spin_unlock(&ctx->lock);
	if (!taker)
		return;

	h = &taker->h;
	syslet_audit_pass(pob, taker->task);
	syslet_arch_save(&h->uctx);
	h->from = tsk;
	h->pob = pob;
	get_task_struct(tsk);
	h->ret = SYSLET_QUEUED;
	syslet_sched_save(&h->sched, tsk);
	pass_identity(tsk, taker->task);
	trace_syslet_handoff(task_pid_nr(taker->task), task_pid_nr(tsk), false);
	/* the names go with the roles: the taker's is an async thread's */
	set_task_comm(tsk, taker->task->comm);
	/* no FPU saves from now on: the saved user state stays for the taker */
	tsk->flags |= PF_IO_WORKER;
	pob->passed = true;

	/*
	 * The taker may run, and free @taker, as soon as @ready reads true:
	 * its task (RCU-freed) is what we wake.  We are about to sleep: a
	 * sync wake-up lets it run on this CPU at once.
	 */
	to = taker->task;
	rcu_read_lock();
	/* pairs with worker_take(): @h is complete before @ready reads true */
	smp_store_release(&taker->ready, true);
	syslet_wake_up_sync(to);
	rcu_read_unlock();
}

/*
 * The affinity mask of a struct syslet_sched is allocated with the object
 * that holds it (an async thread's struct, a threadlet), where -ENOMEM
 * reaches user space: syslet_sched_save() runs in the scheduler hook, which
 * must not allocate.  @s is zeroed before (a NULL mask is freed as none).
 */
int syslet_sched_alloc(struct syslet_sched *s)
{
	return alloc_cpumask_var(&s->cpus, GFP_KERNEL_ACCOUNT) ? 0 : -ENOMEM;
}

void syslet_sched_free(struct syslet_sched *s)
{
	free_cpumask_var(s->cpus);
}

/* Records @tsk's scheduling attributes, affinity and name. */
void syslet_sched_save(struct syslet_sched *s, struct task_struct *tsk)
{
	s->policy = tsk->policy;
	s->nice = task_nice(tsk);
	s->rt_priority = tsk->rt_priority;
	/* the affinity asked for: cpus_ptr may be a migrate_disable() one */
	cpumask_copy(s->cpus, &tsk->cpus_mask);
	strscpy(s->comm, tsk->comm, sizeof(s->comm));
}

/* current takes them over (it may sleep: not from the scheduler hook) */
void syslet_sched_take(const struct syslet_sched *s)
{
	set_task_comm(current, s->comm);
	if (current->policy != s->policy || task_nice(current) != s->nice ||
	    current->rt_priority != s->rt_priority) {
		struct sched_attr attr = {
			.size		= sizeof(attr),
			.sched_policy	= s->policy,
			.sched_nice	= s->nice,
			.sched_priority	= s->rt_priority,
		};

		/* as good as the giver's; a failure leaves ours (documented) */
		sched_setattr_nocheck(current, &attr);
	}
	if (!cpumask_equal(&current->cpus_mask, s->cpus))
		set_cpus_allowed_ptr(current, s->cpus);
}

/* The taker, current, makes the handed-off user context its own. */
void syslet_pob_take(struct syslet_ctx *ctx, struct syslet_handoff *h)
{
	struct task_struct *from = h->from;

	/*
	 * @from waits for pob->taken (completed by worker_give(), once we
	 * are done with @h) before it can be idle, and taken itself.
	 */
	syslet_arch_take(from, &h->uctx, h->ret);
	syslet_sched_take(&h->sched);
	/*
	 * async_exec()'s audit record, if it came with the context
	 * (syslet_audit_pass()): its result is in ax now, the name and TID
	 * are the user thread's; ret_from_fork() would report 0.
	 */
	audit_syscall_exit(current_pt_regs());
	/* a user thread again: its FPU state is saved at context switch */
	current->flags &= ~PF_IO_WORKER;
	/* direct reads that completed meanwhile, or whose task work @from has */
	syslet_kio_taken(ctx, from);
	put_task_struct(from);
}

/*
 * When the leader passed its user context on, another thread carries the
 * TGID as its TID.  waitpid(), de_thread() and the reaping of a group
 * expect the leader's TID to be the TGID, so the two exchange TIDs back
 * when the carrier exits (do_exit(), after exit_mm(), before
 * exit_notify()) or execs, or when the leader exits after that point of
 * the carrier's exit.  Under tasklist_lock, which release_task() takes
 * too, so neither can be unhashed meanwhile; whichever comes second
 * finds nothing to do.  The leader, an async thread then, does not exit
 * on idle.
 */
void syslet_reclaim_tid(struct task_struct *tsk)
{
	struct task_struct *leader = tsk->group_leader, *holder;

	if (task_pid_nr(leader) == task_tgid_nr(leader))
		return;
	write_lock_irq(&tasklist_lock);
	holder = pid_task(task_tgid(tsk), PIDTYPE_PID);
	/*
	 * The robust futexes the holder locked name the TGID as their owner:
	 * it keeps the TGID until its robust list has been walked, in its
	 * own exit_mm() (->mm is cleared after); then it gives it back, to
	 * a leader that may be a zombie by then (still hashed: a leader is
	 * released after the group's other threads).
	 */
	if (holder && holder != leader &&
	    (tsk == holder || (tsk == leader && !READ_ONCE(holder->mm))))
		syslet_exchange_tids(holder, leader);
	write_unlock_irq(&tasklist_lock);
}

/* @tsk exits, and has walked its robust futex list (exit_mm()). */
void syslet_task_exit_mm(struct task_struct *tsk)
{
	if (READ_ONCE(tsk->signal->syslet))
		syslet_reclaim_tid(tsk);
}

/*
 * Posts a completion that has no chain object (SYSLET_EXEC_POST, the end
 * of a threadlet) to @ring.  If the ring cannot take it now (full, or not
 * writable), it waits on the overflow list in a chain object of its own,
 * which needs one of max_chains: @counted says the caller holds one for
 * it (given back if it is not needed); else one is taken, or the post is
 * refused with -EAGAIN.
 */
long syslet_post_comp(struct syslet_ctx *ctx,
		      const struct syslet_completion *comp,
		      struct syslet_ring __user *ring, bool counted)
{
	struct syslet_chain *hc;
	struct syslet_kring *kr;
	long ret = -ENOMEM;

	kr = syslet_kring_get(ctx, (u64)(unsigned long)ring);
	if (!kr)
		goto uncount;
	ret = syslet_post(ctx, kr, comp);
	if (!ret)
		goto put;
	if (!counted) {
		ret = syslet_chain_count(ctx);
		if (ret)
			goto put;
		counted = true;
	}
	hc = kzalloc(sizeof(*hc), GFP_KERNEL_ACCOUNT);
	if (!hc) {
		ret = -ENOMEM;
		goto put;
	}
	INIT_LIST_HEAD(&hc->node);
	hc->ctx = ctx;
	hc->comp = *comp;
	hc->kring = kr;			/* the reference goes with it */
	syslet_post_chain(hc);
	return SYSLET_DONE;
put:
	syslet_kring_put(ctx, kr);
uncount:
	if (counted)
		syslet_chain_uncount(ctx);
	return ret ?: SYSLET_DONE;
}

/*
 * A default-mode chain completed in its caller: deliver it to @done, or
 * to its ring.  Its atoms ran, so nothing here reads as "did not run":
 * a completion the ring cannot take now (full, or not writable) waits on
 * the overflow list in @c, which holds its place in max_chains.
 */
long syslet_deliver_in_caller(struct syslet_chain *c,
			      struct syslet_completion __user *done)
{
	long ret = SYSLET_DONE;

	if (done) {
		/* checked writable before the chain ran */
		if (copy_to_user(done, &c->comp, sizeof(c->comp)))
			ret = -EOVERFLOW;
	} else if (c->kring && !(c->flags & SYSLET_NO_COMPLETE) &&
		   syslet_post(c->ctx, c->kring, &c->comp)) {
		syslet_post_chain(c);
		return SYSLET_DONE;
	}
	syslet_chain_drop(c);
	return ret;
}

/*
 * After a hand-off: post the chain's completion (it may wait on the
 * overflow list), then live on as an async thread, in @w.
 */
static long finish_passed(struct syslet_ctx *ctx, struct syslet_chain *c,
			  struct syslet_worker *w)
{
	bool killed;

	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	c->worker = NULL;
	spin_unlock(&ctx->lock);
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();

	killed = c->killed || fatal_signal_pending(current);
	if (c->kring && !(c->flags & SYSLET_NO_COMPLETE) && !killed)
		syslet_post_chain(c);
	else
		syslet_chain_free(c);
	/* the scheduling of the async thread we replace, not the caller's */
	syslet_sched_take(&w->own);
	return syslet_become_worker(ctx, w);
}

/*
 * Runs chain @c (made by async_exec(), counted in ctx->nr_chains) with
 * pass-on-block.  Returns SYSLET_DONE (the completion is in @done or
 * the ring, or on its way there through the overflow list) if it
 * completed in the caller, SYSLET_QUEUED to whichever task returns to
 * user space with the caller's context after a hand-off, or -EOVERFLOW
 * if @done could not be written.
 */
long syslet_submit_pob(struct syslet_chain *c,
		       struct syslet_completion __user *done)
{
	struct syslet_ctx *ctx = c->ctx;
	struct syslet_pob pob = { .chain = c, .ctx = ctx };

	init_completion(&pob.taken);

	/* without a reserved spare the chain just runs in the caller */
	pob.reserved = syslet_reserve_spare(ctx);
	current->syslet_pob = &pob;
	c->filter = seccomp_filter_get_current();
	syslet_run_chain(c, true);
	current->syslet_pob = NULL;
	if (c->filter)
		seccomp_filter_put(c->filter);
	c->filter = NULL;

	if (!pob.passed) {
		long ret = c->restart;

		if (pob.reserved)
			syslet_unreserve_spare(ctx);
		if (!ret)
			return syslet_deliver_in_caller(c, done);
		syslet_chain_drop(c);	/* nothing ran: restart async_exec() */
		return ret;
	}
	/*
	 * Our FPU state is the user context's until the taker has it, and
	 * the taker's struct syslet_worker is ours once it is done with it.
	 */
	wait_for_completion(&pob.taken);
	syslet_kio_chain_end(ctx, NULL);	/* an async thread from now on */
	return finish_passed(ctx, c, pob.worker);
}
