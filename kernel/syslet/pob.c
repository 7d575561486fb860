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
 * if they are not, or the caller is traced, owns PI futex state, has an
 * io_uring task context, has a fatal signal pending or uses a 32-bit
 * ABI, or no idle untraced async thread is available, the chain just
 * runs on in the caller.  Thread-directed signals pending on the async
 * thread stay with its TID, which the caller's task takes.
 *
 * The protocol (the state word is the taker's w->hs, syslet.h):
 *
 * - At submission the caller (the giver) reserves one idle async thread
 *   (the taker) for the chain (syslet_reserve_taker()): off ctx->idle,
 *   w->pob set, state IDLE.
 * - The sleep hook (__syslet_sched_sleeping(), from sched_submit_work())
 *   only flips IDLE -> PENDING with a cmpxchg and wakes the taker on this
 *   CPU: no lock, allocation, copy or list walk in the sleep path, so no
 *   lock an atom sleeps on gains a dependency on ours.
 * - The taker (syslet_pob_wait()) sees PENDING, waits until the giver is
 *   off its CPU (->on_cpu clear, acquire: its registers, FPU state, FS/GS
 *   base and PKRU are then saved in its task), and claims it: PENDING ->
 *   CLAIMED, under ctx->lock and tasklist_lock, with preemption off until
 *   DONE.  Then it exchanges the TIDs, moves the signal state and the
 *   rest, copies the user context into itself, and publishes DONE
 *   (release).  After that, preemptible, it takes the giver's scheduling
 *   attributes and name, and returns to user space with the context.
 * - When schedule() returns in the giver (__syslet_sched_woken(), from
 *   the end of schedule()), it tries PENDING -> IDLE.  If that works it
 *   woke before the claim: the chain goes on in the caller, and a short
 *   sleep cost one wake-up of the taker and no hand-off (adaptive
 *   pass-on-block).  Else the taker claimed it (the giver spins until
 *   DONE: the claimed section is short and cannot be preempted, so a
 *   giver woken on the taker's CPU never waits for it) or refused it
 *   (OFF).  A passed giver finishes the chain as an async thread.
 * - A giver whose chain ends without a hand-off releases the taker
 *   (syslet_release_taker()); a taker being killed, or whose process
 *   dies, refuses (OFF) and waits for that release, so the giver never
 *   wakes a freed task or reads a freed state word.  A taker that took
 *   the context gives its struct syslet_worker to the giver on its way
 *   to user space (pob->taken): the giver reads @hs after DONE, and lives
 *   on in that struct as an async thread.
 *
 * Locking: the taker takes ctx->lock, tasklist_lock (written, inside
 * ctx->lock: the TIDs move under it, and a tracer attaches under it),
 * then the siglock; the giver, in the scheduler, takes none of them.
 */
#include <linux/audit.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/freezer.h>
#include <linux/iocontext.h>
#include <linux/mempolicy.h>
#include <linux/pid.h>
#include <linux/rseq.h>
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
	if (pob->taker) {
		syslet_release_taker(pob->ctx, pob->taker);
		pob->taker = NULL;
	}
	/* the chain ends with its caller, never posted */
	syslet_chain_drop(pob->chain);
}

/*
 * Is @t an async thread with an io_context of its own (worker_neutral()
 * made it; no thread shares it: an async thread never clones)?  Only @t
 * changes the pointer (set_task_ioprio() of another task may install one
 * where there was none): read from another task, a hint.
 */
static bool syslet_ioc_own(struct task_struct *t)
{
	struct io_context *ioc = READ_ONCE(t->io_context);

	return (READ_ONCE(t->flags) & PF_IO_WORKER) && ioc &&
	       atomic_read(&ioc->active_ref) == 1;
}

/*
 * I/O priority: an async thread runs each queued chain at its
 * submitter's (worker_run()), and taking a user context it takes that
 * context's (syslet_ioprio_take()), so its own is no reason to refuse.
 * A user thread (a threadlet's spare), or an async thread without an
 * io_context of its own, must have the same.
 */
static bool syslet_ioprio_fits(struct task_struct *from,
			       struct task_struct *to)
{
	return syslet_ioprio(from) == syslet_ioprio(to) || syslet_ioc_own(to);
}

/*
 * The taker, current (syslet_ioprio_fits()), takes @from's I/O priority,
 * on an io_context of its own only: one it shares (CLONE_IO made it for
 * a user thread that was a giver since) fit because the two were equal,
 * and an ioprio_set() of @from since then must not be written into that
 * user thread's (review 7 finding 10): the context keeps the priority it
 * had when it fit.
 */
static void syslet_ioprio_take(struct task_struct *from)
{
	struct io_context *ioc = current->io_context;
	int prio = syslet_ioprio(from);

	if (!ioc || syslet_ioprio(current) == prio ||
	    atomic_read(&ioc->active_ref) != 1)
		return;
	task_lock(current);
	ioc->ioprio = prio;
	task_unlock(current);
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

	/*
	 * PR_MCE_KILL, PR_SET_IO_FLUSHER; speculation prctl()s.  An async
	 * thread has no IO_FLUSHER flags of its own (worker_neutral()): the
	 * taker takes the giver's (pob_claim(); review 10 finding 5).
	 */
	if ((syslet_task_pf(from) ^ syslet_task_pf(to)) &
	    ~((READ_ONCE(to->flags) & PF_IO_WORKER) ? SYSLET_KWORK_PF : 0) ||
	    (READ_ONCE(from->atomic_flags) ^ READ_ONCE(to->atomic_flags)) & pfa)
		return false;
	/*
	 * ioprio_set(IOPRIO_WHO_PROCESS).  Not the timer slack: it goes
	 * with the scheduling (syslet_sched_take()).
	 */
	if (!syslet_ioprio_fits(from, to))
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

/*
 * Do @from and @to share what a hand-off does not move (but the arch
 * part)?  Either may be current.
 */
bool syslet_identity_same(struct task_struct *from, struct task_struct *to)
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
	return syslet_task_state_same(from, to);
}

/* Could @to run @from's user context, current's, with the same meaning? */
bool syslet_identity_fits(struct task_struct *from, struct task_struct *to)
{
	return syslet_identity_same(from, to) &&
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
 * Makes @to the parent of @kids, @from's children, and their tracer
 * where @from was.
 */
static void syslet_adopt(struct list_head *kids, struct task_struct *from,
			 struct task_struct *to)
{
	struct task_struct *p, *t;

	list_for_each_entry(p, kids, sibling) {
		for_each_thread(p, t) {
			RCU_INIT_POINTER(t->real_parent, to);
			if (rcu_access_pointer(t->parent) == from)
				RCU_INIT_POINTER(t->parent, to);
		}
	}
}

/*
 * The children and the tracees of a user context go with it (review 24
 * ABI probe findings 2 and 3: they stayed with the giver, an async
 * thread, whose idle exit sent the children their PR_SET_PDEATHSIG and
 * detached the tracees; ptrace requests of the user thread failed with
 * ESRCH, waitpid(__WNOTHREAD) with ECHILD), but only once the giver's
 * chain or threadlet is over: current, the giver, may be waiting for one
 * of them in an atom (wait4(__WNOTHREAD) scans its own children only),
 * and a threadlet may be inside a ptrace() request, which another task
 * made the tracer could undercut (a review of a first version that
 * exchanged them in the claim: an oops in putreg() for an unprivileged
 * user).  So current gives its children and tracees to the task that
 * has the user context's TID (@user) now, if it is a live user thread
 * of ours; else it keeps them, and its own exit reparents them (late: at
 * its idle exit, not at the user thread's; docs/abi.md).  Under
 * tasklist_lock, written, as exit's reparenting; children are added to
 * current only by current, and tracees by current or, with
 * PTRACE_TRACEME, by a child of its.
 */
void syslet_give_relations(struct pid *user)
{
	struct task_struct *to, *p;

	if (list_empty(&current->children) && list_empty(&current->ptraced))
		return;
	write_lock_irq(&tasklist_lock);
	to = pid_task(user, PIDTYPE_PID);
	if (to && to != current && same_thread_group(to, current) &&
	    !(to->flags & (PF_EXITING | PF_IO_WORKER))) {
		syslet_adopt(&current->children, current, to);
		list_for_each_entry(p, &current->ptraced, ptrace_entry)
			RCU_INIT_POINTER(p->parent, to);
		/*
		 * A __WNOTHREAD wait of @to's may sleep already, its child's
		 * wake-up having found nothing on @to's own list: woken as a
		 * child's exit or stop would wake it (keyed by the child).
		 */
		list_for_each_entry(p, &current->children, sibling)
			__wake_up_parent(p, to);
		list_for_each_entry(p, &current->ptraced, ptrace_entry)
			__wake_up_parent(p, to);
		list_splice_tail_init(&current->children, &to->children);
		list_splice_tail_init(&current->ptraced, &to->ptraced);
	}
	write_unlock_irq(&tasklist_lock);
}

/*
 * @t's TIF_SIGPENDING as recalc_sigpending() would have it, set or
 * clear: the giver's signals went to the taker, a flag raised for them
 * must not interrupt the atom it sleeps in; a threadlet's task may have
 * got the spare's, which cut its sleep short as they would have had they
 * come now.  What sets the flag without a queued signal (job control,
 * the freezer) keeps it.  Under @t's siglock; @t is off its CPU or
 * spinning for DONE in the scheduler.
 */
void syslet_giver_recalc_sigpending(struct task_struct *t)
{
	sigset_t p;

	lockdep_assert_held(&t->sighand->siglock);
	sigorsets(&p, &t->pending.signal, &t->signal->shared_pending.signal);
	sigandnsets(&p, &p, &t->blocked);
	if ((t->jobctl & (JOBCTL_PENDING_MASK | JOBCTL_TRAP_FREEZE)) ||
	    !sigisemptyset(&p) || freezing(t) || cgroup_task_frozen(t))
		signal_wake_up(t, sigismember(&p, SIGKILL));
	else
		clear_tsk_thread_flag(t, TIF_SIGPENDING);
}

/*
 * The signal state of the user context, from @from (the giver, off its
 * CPU) to @to (current, the taker): its mask, thread-directed pending
 * signals and alternate stack; @from is left as an async thread that
 * blocks every signal but SIGKILL and SIGSTOP, with the signals pending
 * on @to.  Called with the siglock held since before the TIDs'
 * exchange (senders take the siglock, not tasklist_lock): a signal sent
 * to the user's TID once it names @to is queued on @to after this, and
 * not, as when the two were apart, on @to before it (then moved to
 * @from, an async thread that blocks it for ever: a POSIX timer's
 * SIGEV_THREAD_ID signal stuck there, the timer sends no other; make
 * fuzz's episode that "did not end" on 2026-12-05; review 14 finding 1:
 * the exchange must come inside the siglock too, not only the move).
 */
static void pass_signals(struct task_struct *from, struct task_struct *to)
{
	LIST_HEAD(theirs);

	lockdep_assert_held(&from->sighand->siglock);
	to->blocked = from->blocked;
	siginitsetinv(&from->blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
	/*
	 * Thread-directed signals stay with the TID they were sent to: the
	 * giver's come to us, and ours (sent to this async thread by its
	 * TID, pending because it blocks them) stay with the TID, now the
	 * giver's, an async thread from now on, which blocks them as we did.
	 */
	list_splice_init(&to->pending.list, &theirs);
	list_splice_init(&from->pending.list, &to->pending.list);
	list_splice(&theirs, &from->pending.list);
	swap(to->pending.signal, from->pending.signal);
	/*
	 * But SIGKILL is the task's: zap_other_threads() (a group exit, or
	 * exec's de_thread(), before we took the siglock) sets it in each
	 * thread for the thread to die, and moved off the giver it left an
	 * async thread that exec waited for (review 5 finding 2).  Pending
	 * on either, the group is dying: both keep one.
	 */
	if (sigismember(&to->pending.signal, SIGKILL) ||
	    sigismember(&from->pending.signal, SIGKILL)) {
		sigaddset(&to->pending.signal, SIGKILL);
		sigaddset(&from->pending.signal, SIGKILL);
	}
	to->sas_ss_sp = from->sas_ss_sp;
	to->sas_ss_size = from->sas_ss_size;
	to->sas_ss_flags = from->sas_ss_flags;
	sas_ss_reset(from);
	/* the taker looks for signals on its way out; a spurious look is harmless */
	set_tsk_thread_flag(to, TIF_SIGPENDING);
	syslet_giver_recalc_sigpending(from);
}

/*
 * Moves the rest of the per-thread state that belongs to the user
 * context from @from (the giver, off its CPU) to @to (current, the
 * taker): the TID and the signal state went already (pass_signals()).
 */
static void pass_identity(struct task_struct *from, struct task_struct *to)
{
	to->robust_list = from->robust_list;
	from->robust_list = NULL;
	to->clear_child_tid = from->clear_child_tid;
	from->clear_child_tid = NULL;
	to->set_child_tid = from->set_child_tid;
	from->set_child_tid = NULL;
	/* the taker, an async thread, has none: the giver is left none */
	syslet_swap_rseq(to, from);
	to->personality = from->personality;
	if (task_no_new_privs(from))
		task_set_no_new_privs(to);
}

/*
 * The audit record of the giver's async_exec() (its context, put aside
 * for the atom's by syslet_dispatch(), at pob->audit_outer) goes with
 * the user context: the taker, current, writes it as the call that
 * returns SYSLET_QUEUED, under the user thread's identity (pob_claim());
 * the giver gets the taker's unused context, and goes on as an async
 * thread with it.  Else the giver kept the record pending, written
 * whenever it next left a system call of its own or exited, with its own
 * name and a wrong result.  Done in the claim: the giver is off its CPU
 * or spinning for DONE, and reads @outer again only after DONE (acquire);
 * nothing else touches the taker's context.  A taker made without a
 * context (audit was off then) is given none: the record stays behind.
 */
static void syslet_audit_pass(struct syslet_pob *pob)
{
#ifdef CONFIG_AUDITSYSCALL
	struct audit_context **outer = pob->audit_outer;

	if (outer && !IS_ERR_OR_NULL(*outer) && current->audit_context)
		swap(*outer, current->audit_context);
#endif
}

/*
 * The sleep hook: current, running a chain in the caller, is about to
 * sleep in an atom's system call (its state is set, it holds no
 * spinlock).  Mark the hand-off pending and wake the reserved taker on
 * this CPU; nothing else.  The cheap refusals read current only.
 */
void __syslet_sched_sleeping(struct task_struct *tsk)
{
	struct syslet_pob *pob = tsk->syslet_pob;
	struct syslet_worker *w = pob->taker;
	unsigned long s, pend;

	if (pob->tl) {
		syslet_threadlet_sleeping(tsk, pob->tl);
		return;
	}
	if (!pob->armed || !w)
		return;
	/*
	 * A call that installed a temporary signal mask (ppoll, pselect6,
	 * epoll_pwait, io_pgetevents) sleeps with the saved one pending
	 * restore on this task: the mask is not the user context's own now.
	 * ->ptrace is read locklessly here: a hint, checked again by the
	 * taker under tasklist_lock.
	 */
	if (READ_ONCE(tsk->ptrace) || fatal_signal_pending(tsk) ||
	    test_restore_sigmask() || !list_empty(&tsk->pi_state_list))
		return;
#ifdef CONFIG_IO_URING
	/* its io_uring task context (registered ring fds) cannot move */
	if (tsk->io_uring)
		return;
#endif
	/* OFF: the taker refused; the giver owns IDLE, the taker may set OFF */
	s = READ_ONCE(w->hs);
	if (syslet_hs_phase(s) != SYSLET_HS_IDLE)
		return;
	pend = s + SYSLET_HS_SEQ + SYSLET_HS_PENDING;
	/*
	 * Not preemptible from the pend to the wake-up: the taker claims
	 * only once we are off our CPU, so it cannot claim, take the user
	 * context and be gone before we wake it (review 16 finding 1: a
	 * preempted giver's late wake-up of a task that had exited).
	 */
	preempt_disable();
	if (cmpxchg(&w->hs, s, pend) != s) {
		preempt_enable();
		return;
	}
	pob->pending = pend;
	/*
	 * We are about to sleep: a sync wake-up on this CPU lets the taker
	 * run as soon as we are off it, and find us off it.  It cannot be
	 * gone: a reserved taker waits for its release.
	 */
	syslet_wake_up_sync(w->task);
	preempt_enable();
}

/*
 * From the end of schedule(), in the giver: cancel the pend if the taker
 * has not claimed it (the chain goes on here), else wait until the taker
 * has moved the user context (DONE): from then on the giver finishes its
 * chain as an async thread.
 */
void __syslet_sched_woken(struct task_struct *tsk)
{
	struct syslet_pob *pob = tsk->syslet_pob;
	unsigned long s = pob->pending, old;
	struct syslet_worker *w = pob->taker;

	if (pob->tl) {
		syslet_threadlet_woken(tsk, pob->tl);
		return;
	}
	if (!s)
		return;
	pob->pending = 0;
	/* a taker that claimed gives @w to us: it is not freed */
	old = cmpxchg(&w->hs, s, syslet_hs(s, SYSLET_HS_IDLE));
	if (old != s && syslet_hs_phase(old) != SYSLET_HS_OFF) {
		/* claimed: pairs with the taker's release of DONE */
		while (syslet_hs_phase(smp_load_acquire(&w->hs)) !=
		       SYSLET_HS_DONE)
			cpu_relax();
		pob->taker = NULL;
		pob->passed = true;
	}
}

struct pob_claim {
	unsigned long	*hs;
	unsigned long	s;
};

/*
 * Under task_call_func(): the giver pinned, its wake-up, enqueue and
 * schedule held off (->pi_lock, and its runqueue's lock if it is queued).
 * Claims pend @s, unless the giver runs or is being woken: its sleep is
 * over, no hand-off for it (SYSLET_CLAIM_LATER, as
 * syslet_giver_off_cpu()).  A giver still queued, not running (preempted
 * before its sleep's dequeue on a preemptible kernel, or left queued by
 * 6.12's delayed dequeue), is claimed: it cannot be picked meanwhile.
 * The claim makes it an async thread (not a user thread for
 * syslet_other_user_thread(), not one a tracer may attach to): its
 * ->flags are written here, from another CPU, only because it cannot
 * run, for a softirq on its CPU rewrites the ->flags of the task it
 * interrupts (review 14 finding 7; review 15 finding 1: a check of
 * ->on_rq under ->pi_lock alone refused every preempted giver).
 */
static int pob_claim_pinned(struct task_struct *from, void *arg)
{
	struct pob_claim *pc = arg;
	unsigned int state = READ_ONCE(from->__state);

	if (state == TASK_RUNNING || state == TASK_WAKING)
		return SYSLET_CLAIM_LATER;
	/* picked again before its sleep began: wait until it is off again */
	if (task_curr(from) || READ_ONCE(from->on_cpu))
		return SYSLET_CLAIM_AGAIN;
	if (cmpxchg(pc->hs, pc->s, syslet_hs(pc->s, SYSLET_HS_CLAIMED)) !=
	    pc->s)
		return SYSLET_CLAIM_GONE;
	WRITE_ONCE(from->flags, from->flags | SYSLET_PF_WORKER);
	return SYSLET_CLAIM_GO;
}

/*
 * The taker waits until the giver @from, which made pend @s of state
 * word @hs, is off its CPU (its user context is then saved in its task),
 * or has cancelled.  Returns SYSLET_CLAIM_GO to claim; SYSLET_CLAIM_GONE
 * if it cancelled; SYSLET_CLAIM_LATER if its sleep is already over (it
 * is runnable, waiting for a CPU, maybe ours, to cancel): no hand-off
 * for a sleep that ended before the claim, wait for its next pend.
 */
int syslet_giver_off_cpu(unsigned long *hs, struct task_struct *from,
			 unsigned long s)
{
#ifdef CONFIG_SMP
	/*
	 * It is in schedule(): it leaves its CPU, or comes back and
	 * cancels, in a moment.  Pairs with finish_task()'s release.
	 */
	while (smp_load_acquire(&from->on_cpu)) {
		if (READ_ONCE(*hs) != s)
			return SYSLET_CLAIM_GONE;
		cpu_relax();
	}
#endif
	if (READ_ONCE(*hs) != s)
		return SYSLET_CLAIM_GONE;
	return task_is_running(from) ? SYSLET_CLAIM_LATER : SYSLET_CLAIM_GO;
}

/*
 * May the taker, current, take the user context of @from, which pended
 * and is off its CPU?  What the sleep hook could not check cheaply, or
 * another thread may have changed since the reservation.
 */
static bool pob_may_claim(struct task_struct *from)
{
	return !fatal_signal_pending(from) && !fatal_signal_pending(current) &&
	       list_empty(&from->pi_state_list) &&
	       syslet_identity_same(from, current) &&
	       syslet_leader_may_take(from, current);
}

/* The taker refuses pend @s, or the state it is in if @s is 0 (OFF). */
static bool pob_refuse(struct syslet_worker *w, unsigned long s)
{
	unsigned long old;

	if (s)
		return cmpxchg(&w->hs, s, syslet_hs(s, SYSLET_HS_OFF)) == s;
	for (;;) {
		s = READ_ONCE(w->hs);
		if (syslet_hs_phase(s) == SYSLET_HS_OFF)
			return true;
		old = cmpxchg(&w->hs, s, syslet_hs(s, SYSLET_HS_OFF));
		if (old == s)
			return true;
	}
}

/*
 * The taker, current, claims pend @s of the giver that reserved it and
 * makes the giver's user context its own.  SYSLET_CLAIM_GO if it did: it
 * returns to user space with it.  Else the giver cancelled, or will (or
 * we refused): we wait on.
 */
static int pob_claim(struct syslet_worker *w, unsigned long s)
{
	struct syslet_ctx *ctx = w->ctx;
	struct syslet_kring *kr = NULL;
	char comm[TASK_COMM_LEN];
	struct task_struct *from;
	struct syslet_pob *pob;
	struct syslet_chain *c;
	struct syslet_uctx uctx;
	u64 uring;
	int ret;

	/*
	 * The giver may cancel pend @s, end its chain and release us (under
	 * ctx->lock) at any moment before the claim: read who it is under
	 * the lock while @s stands, and hold its task.  Its struct
	 * syslet_pob (on its stack) is read again only once claimed.
	 */
	spin_lock(&ctx->lock);
	pob = w->pob;
	if (!pob || READ_ONCE(w->hs) != s) {
		spin_unlock(&ctx->lock);
		return SYSLET_CLAIM_GONE;
	}
	from = pob->giver;
	get_task_struct(from);
	uring = w->uring;
	spin_unlock(&ctx->lock);

again:
	ret = syslet_giver_off_cpu(&w->hs, from, s);
	if (ret != SYSLET_CLAIM_GO) {
		put_task_struct(from);
		return ret;
	}
	/* the chain will post to its ring: it needs its kring from now on */
	if (uring)
		kr = syslet_kring_get(ctx, uring);
	if (!pob_may_claim(from) || (uring && !kr)) {
		pob_refuse(w, s);
		goto gone;
	}
	syslet_sched_save(&w->sched, from);

	/*
	 * From the claim to DONE: not preemptible, so that a giver woken on
	 * this CPU meanwhile does not spin against us; nothing here sleeps.
	 */
	preempt_disable();
	spin_lock(&ctx->lock);
	write_lock_irq(&tasklist_lock);
	/*
	 * Neither may be traced: a traced giver's context would escape its
	 * tracer, a traced taker's tracer would trace the user thread (the
	 * reservation passes traced threads over; a tracer that attached
	 * since is seen here: a tracer attaches under tasklist_lock).
	 */
	if (ctx->dead || from->ptrace || current->ptrace) {
		write_unlock_irq(&tasklist_lock);
		spin_unlock(&ctx->lock);
		preempt_enable();
		pob_refuse(w, s);
		goto gone;
	}
	ret = task_call_func(from, pob_claim_pinned, &(struct pob_claim){
				     .hs = &w->hs, .s = s });
	if (ret != SYSLET_CLAIM_GO) {
		/*
		 * LATER: its sleep is over; GONE: it went on in the caller;
		 * AGAIN: it runs on towards its sleep (review 16 finding 2).
		 */
		write_unlock_irq(&tasklist_lock);
		spin_unlock(&ctx->lock);
		preempt_enable();
		if (ret == SYSLET_CLAIM_GONE)
			goto gone;
		if (kr)
			syslet_kring_put(ctx, kr);
		kr = NULL;
		if (ret == SYSLET_CLAIM_AGAIN)
			goto again;
		put_task_struct(from);
		return ret;
	}
	/*
	 * Claimed: the giver is in schedule() with pend @s, its @pob alive,
	 * an async thread from now on.
	 */
	c = pob->chain;
	/*
	 * The TID, and signals an atom raises later, go with the context:
	 * the submitter is us now.
	 */
	spin_lock(&current->sighand->siglock);
	syslet_exchange_tids(from, current);
	pass_signals(from, current);
	spin_unlock(&current->sighand->siglock);
	/* PR_SET_PDEATHSIG: the thread's, exchanged (sent to each holder) */
	swap(from->pdeath_signal, current->pdeath_signal);
	c->submitter = get_pid(task_pid(current));
	write_unlock_irq(&tasklist_lock);
	/* the giver takes our place in ctx->nr_threads, and @w (give_to) */
	list_del(&w->node);
	w->give_to = pob;
	WRITE_ONCE(w->pob, NULL);
	ctx->nr_reserved--;	/* the giver runs its chain: not reserved */
	w->waiting = false;
	ctx->nr_handing++;	/* until we are a user thread */
	/* the chain is an async one from now on: cancel can find it */
	c->worker = from;
	list_add_tail(&c->node, &ctx->running);
	if (kr)
		c->kring = kr;	/* the giver reads it at the chain's end */
	spin_unlock(&ctx->lock);

	pass_identity(from, current);
	syslet_ioprio_take(from);
	/* its PR_SET_IO_FLUSHER flags: the giver is off its CPU */
	current_restore_flags(READ_ONCE(from->flags), SYSLET_KWORK_PF);
	syslet_audit_pass(pob);
	syslet_arch_save_task(from, &uctx);
	syslet_arch_take(from, &uctx, SYSLET_QUEUED);
	/* pairs with __syslet_sched_woken(): the giver may run on */
	smp_store_release(&w->hs, syslet_hs(s, SYSLET_HS_DONE));
	preempt_enable();

	/*
	 * Our own scheduling and affinity, for the giver, which lives on
	 * in @w as an async thread (finish_passed()): it reads them once
	 * we gave @w over (pob->taken), on our way to user space.
	 */
	syslet_sched_save(&w->own, current);
	/* the names go with the roles: the giver's is an async thread's */
	strscpy(comm, current->comm, sizeof(comm));
	syslet_sched_take(&w->sched);
	set_task_comm(from, comm);
	/*
	 * async_exec()'s audit record, if it came with the context
	 * (syslet_audit_pass()): its result is in ax now, the name and TID
	 * are the user thread's; ret_from_fork() would report 0.
	 */
	audit_syscall_exit(current_pt_regs());
	/* a user thread again */
	current->flags &= ~SYSLET_PF_WORKER;
	/* direct reads that completed meanwhile, or whose task work @from has */
	syslet_kio_taken(ctx, from);
	spin_lock(&ctx->lock);
	ctx->nr_handing--;
	spin_unlock(&ctx->lock);
	trace_syslet_handoff(task_pid_nr(current), task_pid_nr(from), false);
	put_task_struct(from);
	return SYSLET_CLAIM_GO;

gone:
	if (kr)
		syslet_kring_put(ctx, kr);
	put_task_struct(from);
	return SYSLET_CLAIM_GONE;
}

/*
 * An async thread reserved by a pass-on-block giver waits here: for a
 * pend (it claims it), for its release (returns 0, an idle thread again)
 * or, being killed or its process dying, refuses the hand-off and waits
 * for the release all the same (the giver may still pend and wake it).
 * Meanwhile it posts completed reads no other thread could
 * (syslet_taker_post()).
 * Returns SYSLET_QUEUED once it has taken the giver's user context.
 */
long syslet_pob_wait(struct syslet_worker *w)
{
	struct syslet_ctx *ctx = w->ctx;
	unsigned long later = 0;
	bool refused = false;

	for (;;) {
		unsigned long s;

		set_current_state(refused ? TASK_IDLE : TASK_INTERRUPTIBLE);
		if (!READ_ONCE(w->pob))
			break;
		/* pairs with the giver's cmpxchg: w->pob is set */
		s = smp_load_acquire(&w->hs);
		if (!refused && syslet_hs_phase(s) == SYSLET_HS_PENDING &&
		    s != later) {
			int ret;

			__set_current_state(TASK_RUNNING);
			ret = pob_claim(w, s);
			if (ret == SYSLET_CLAIM_GO)
				return SYSLET_QUEUED;
			/* its sleep is over: it cancels; its next pend wakes us */
			if (ret == SYSLET_CLAIM_LATER)
				later = s;
			continue;
		}
		if (!refused && (fatal_signal_pending(current) ||
				 READ_ONCE(ctx->dead))) {
			__set_current_state(TASK_RUNNING);
			refused = pob_refuse(w, 0);
			continue;
		}
		if (!refused && signal_pending(current)) {
			struct ksignal ksig;

			__set_current_state(TASK_RUNNING);
			/*
			 * Notifications and stops.  A fatal signal that came
			 * after the look above is consumed here (true: for an
			 * io thread get_signal() only takes the SIGKILL off):
			 * refuse, and leave once released (@killed), or an
			 * exec's de_thread() would wait for us until our idle
			 * timeout.
			 */
			if (get_signal(&ksig)) {
				WRITE_ONCE(w->killed, true);
				refused = pob_refuse(w, 0);
			}
			continue;
		}
		/* reads no user thread could post: while no pend comes */
		if (!refused && READ_ONCE(ctx->kio_taker)) {
			__set_current_state(TASK_RUNNING);
			syslet_taker_post(w, later);
			continue;
		}
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	spin_lock(&ctx->lock);
	w->waiting = false;
	spin_unlock(&ctx->lock);
	return 0;
}

/*
 * The affinity mask of a struct syslet_sched is allocated with the object
 * that holds it (an async thread's struct, a threadlet), where -ENOMEM
 * reaches user space: syslet_sched_save() runs in the claim, which must
 * not allocate.  @s is zeroed before (a NULL mask is freed as none).
 */
int syslet_sched_alloc(struct syslet_sched *s)
{
	return alloc_cpumask_var(&s->cpus, GFP_KERNEL_ACCOUNT) ? 0 : -ENOMEM;
}

void syslet_sched_free(struct syslet_sched *s)
{
	free_cpumask_var(s->cpus);
}

/*
 * Records @tsk's scheduling attributes, timer slack, affinity, name and
 * audit login.
 */
void syslet_sched_save(struct syslet_sched *s, struct task_struct *tsk)
{
	s->policy = tsk->policy;
	s->nice = task_nice(tsk);
	s->rt_priority = tsk->rt_priority;
	s->slack = tsk->timer_slack_ns;
	s->default_slack = tsk->default_timer_slack_ns;
#ifdef CONFIG_AUDIT
	s->loginuid = tsk->loginuid;
	s->sessionid = tsk->sessionid;
#endif
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
	/*
	 * The timer slack, once the policy is (an RT policy's is 0: that
	 * is why it is not compared, review 24 ABI probe finding 5).
	 * /proc/PID/timerslack_ns writes it under task_lock().
	 */
	if (current->policy == s->policy) {
		task_lock(current);
		current->default_timer_slack_ns = s->default_slack;
		current->timer_slack_ns = s->slack;
		task_unlock(current);
	}
	/*
	 * The audit login (review 24 ABI probe finding 4).  The giver keeps
	 * the user's until its chain is over (finish_passed() takes the
	 * taker's then): the records of the atoms it still runs are the
	 * user's.
	 */
#ifdef CONFIG_AUDIT
	current->loginuid = s->loginuid;
	current->sessionid = s->sessionid;
#endif
	if (!cpumask_equal(&current->cpus_mask, s->cpus))
		syslet_set_affinity(s->cpus);
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
	    (tsk == holder || (tsk == leader && !READ_ONCE(holder->mm)))) {
		/* under the siglock, as every syslet move of a TID (patch 0025) */
		spin_lock(&tsk->sighand->siglock);
		syslet_exchange_tids(holder, leader);
		spin_unlock(&tsk->sighand->siglock);
	}
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
	syslet_chain_leave_running(c);
	spin_unlock(&ctx->lock);
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();

	killed = c->killed || fatal_signal_pending(current);
	/* children and tracees to the user thread (c->submitter: its TID) */
	if (!killed)
		syslet_give_relations(c->submitter);
	if (c->kring && !(c->flags & SYSLET_NO_COMPLETE) && !killed)
		syslet_post_chain(c);
	else
		syslet_chain_free(c);
	/* the scheduling of the async thread we replace, not the caller's */
	syslet_sched_take(&w->own);
	/* and its PR_SET_IO_FLUSHER flags: none (worker_neutral()) */
	current_restore_flags(0, SYSLET_KWORK_PF);
	/*
	 * Killed, it leaves at once: a SIGKILL that get_signal() took in
	 * an atom's restart (syslet_may_restart()) is no longer pending,
	 * and an exec's de_thread() would wait for our idle timeout.
	 */
	return syslet_become_worker(ctx, w, killed);
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
	struct syslet_pob pob = { .chain = c, .ctx = ctx, .giver = current };

	init_completion(&pob.taken);
	/* without a reserved taker the chain just runs in the caller */
	pob.taker = syslet_reserve_taker(ctx, &pob);
	if (pob.taker) {
		/* a taker gets the kring for a chain that has none yet */
		pob.taker->uring = c->kring ? 0 : c->uring;
		/*
		 * The taker posts no read before the chain ends, which may
		 * wait for one without handing off (review 9 finding 1):
		 * reads in flight need another async thread, made now if
		 * none is idle (syslet_kio_chain_begin() saw the taker idle).
		 */
		if (atomic_read(&ctx->nr_kio))
			syslet_kio_spare(ctx);
	}
	current->syslet_pob = &pob;
	c->filter = seccomp_filter_get_current();
	syslet_run_chain(c, true);
	current->syslet_pob = NULL;
	if (c->filter)
		seccomp_filter_put(c->filter);
	c->filter = NULL;

	if (!pob.passed) {
		long ret = c->restart;

		/* no pend is left: each was settled in its schedule() */
		if (pob.taker)
			syslet_release_taker(ctx, pob.taker);
		if (!ret)
			return syslet_deliver_in_caller(c, done);
		syslet_chain_drop(c);	/* nothing ran: restart async_exec() */
		return ret;
	}
	/*
	 * The taker has all of the user context (DONE); its struct
	 * syslet_worker is ours once it is on its way to user space.
	 */
	wait_for_completion(&pob.taken);
	syslet_kio_chain_end(ctx, NULL);	/* an async thread from now on */
	return finish_passed(ctx, c, pob.worker);
}
