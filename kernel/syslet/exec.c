// SPDX-License-Identifier: GPL-2.0
/*
 * The chain executor: runs a chain's atoms one after the other, in the
 * caller (SYSLET_SYNC) or in an async thread, and fills in the chain's
 * completion.
 *
 * Each atom is read from user memory when it is about to run, and so are
 * its arguments (through their pointers), so an atom can consume a value
 * an earlier atom stored through its ret_ptr.
 */
#include <linux/audit.h>
#include <linux/close_range.h>
#include <linux/cred.h>
#include <linux/futex.h>
#include <linux/ioprio.h>
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <linux/resource.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/seccomp.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include <trace/events/syscalls.h>
#include "syslet.h"

/*
 * What an atom may call: calls.h's decision for the call's name (shared
 * with libsyslet's emulated backend), the names and numbers from the
 * list of the atom's ABI: calls64.h, or calls32.h for a 32-bit (i386)
 * submitter's atoms.  A number its list does not name is answered as
 * one past the system call table.
 *
 * The ABI of an atom is its chain's (c->ia32, the submitter's at
 * submission).  While the atom is checked and made, the running task has
 * TS_COMPAT set for an i386 chain and clear for an x86-64 one, as the
 * i386 entry code sets it (syslet_abi_enter()): in_ia32_syscall() then
 * says which ABI the atom's number and arguments are in, here as in the
 * calls themselves (compat ioctls, mmap()'s 32-bit layout) and in
 * syscall_get_arch() and syscall_get_arguments(), which audit and the
 * raw_syscalls tracepoints use.
 */
enum { SYSLET_CALL_NOSYS, SYSLET_CALL_ALLOW, SYSLET_CALL_DENY };

/*
 * calls.h's decisions: an enumerator SYSLET_KIND_<name> per call name,
 * the allowed ones first, so that a name's decision is a constant.
 */
enum {
#define SYSLET_ALLOW(name)	SYSLET_KIND_##name,
#define SYSLET_DENY(...)
#include "calls.h"
#undef SYSLET_ALLOW
#undef SYSLET_DENY
	SYSLET_KINDS_ALLOWED,
#define SYSLET_ALLOW(...)
#define SYSLET_DENY(name, ...)	SYSLET_KIND_##name,
#include "calls.h"
#undef SYSLET_ALLOW
#undef SYSLET_DENY
};

/*
 * An ABI's table: each name's decision at its number there, which
 * SYSLET_NR() gives.  A name without a decision does not build.
 */
#define SYSLET_CALL(name) \
	[SYSLET_NR(name)] = SYSLET_KIND_##name < SYSLET_KINDS_ALLOWED ? \
			    SYSLET_CALL_ALLOW : SYSLET_CALL_DENY,
#define SYSLET_NOENTRY(name) \
	[SYSLET_NR(name)] = SYSLET_CALL_NOSYS,

#define SYSLET_NR(name) __NR_##name
static const u8 syslet_calls[NR_syscalls] = {
#include "calls64.h"
};

#undef SYSLET_NR

#ifdef CONFIG_IA32_EMULATION
#define SYSLET_NR(name) __NR_ia32_##name
static const u8 syslet_calls32[IA32_NR_syscalls] = {
#include "calls32.h"
};

#undef SYSLET_NR
#endif

#undef SYSLET_CALL
#undef SYSLET_NOENTRY

/* The ABI of the atom being made: i386 (TS_COMPAT, see above) or x86-64. */
static bool syslet_atom_ia32(void)
{
	return IS_ENABLED(CONFIG_IA32_EMULATION) && in_ia32_syscall();
}

/* One past the highest number of the atom's ABI. */
static unsigned int syslet_nr_calls(void)
{
	return syslet_atom_ia32() ? IA32_NR_syscalls : NR_syscalls;
}

/*
 * Makes the atom's ABI @c's on current until syslet_abi_leave(@old): the
 * caller of async_exec() is in that ABI already (c->ia32 came from it);
 * an async thread runs chains of both in turn and has TS_COMPAT clear
 * between them (syslet_worker_fn() clears what it inherited).
 */
static u32 syslet_abi_enter(const struct syslet_chain *c)
{
	u32 old = current_thread_info()->status & TS_COMPAT;

	if (!IS_ENABLED(CONFIG_IA32_EMULATION))
		return old;
	if (c->ia32)
		current_thread_info()->status |= TS_COMPAT;
	else
		current_thread_info()->status &= ~TS_COMPAT;
	return old;
}

static void syslet_abi_leave(u32 old)
{
	current_thread_info()->status =
		(current_thread_info()->status & ~TS_COMPAT) | old;
}

/* What a number past the table gets: sys_ni_syscall()'s result. */
static long syslet_ni_syscall(void)
{
	struct pt_regs regs = {};

	return x64_sys_call(&regs, NR_syscalls);
}

/* What the atom's ABI's list says of @nr (SYSLET_CALL_*). */
static u8 syslet_call_kind(unsigned int nr)
{
#ifdef CONFIG_IA32_EMULATION
	if (syslet_atom_ia32())
		return nr < IA32_NR_syscalls ?
		       syslet_calls32[array_index_nospec(nr, IA32_NR_syscalls)] :
		       SYSLET_CALL_NOSYS;
#endif
	return nr < NR_syscalls ?
	       syslet_calls[array_index_nospec(nr, NR_syscalls)] :
	       SYSLET_CALL_NOSYS;
}

/* 0 if an atom may make call @nr, else the errno it fails with. */
static long syslet_call_allowed(unsigned int nr)
{
	switch (syslet_call_kind(nr)) {
	case SYSLET_CALL_ALLOW:
		return 0;
	case SYSLET_CALL_DENY:
		return -EPERM;
	}
	return syslet_ni_syscall();
}

/*
 * An i386 atom's number as the x86-64 one syslet_targets_self() knows,
 * for the calls it looks at (the same arguments in the same places);
 * NR_syscalls (none of them) for every other.
 */
static unsigned int syslet_self_nr64(unsigned int nr)
{
	switch (nr) {
	case __NR_ia32_sched_setaffinity:
		return __NR_sched_setaffinity;
	case __NR_ia32_sched_setscheduler:
		return __NR_sched_setscheduler;
	case __NR_ia32_sched_setparam:
		return __NR_sched_setparam;
	case __NR_ia32_sched_setattr:
		return __NR_sched_setattr;
	case __NR_ia32_setpriority:
		return __NR_setpriority;
	case __NR_ia32_ioprio_set:
		return __NR_ioprio_set;
	case __NR_ia32_close_range:
		return __NR_close_range;
	}
	return NR_syscalls;
}

/*
 * Is @who (0: the caller) the running thread?  Looked up only for the
 * calls that name one: every atom goes through syslet_targets_self().
 */
static bool syslet_pid_is_self(pid_t who)
{
	return !who || who == task_pid_vnr(current);
}

/* Does process group @who (0: the caller's) hold the running thread? */
static bool syslet_pgrp_is_self(pid_t who)
{
	return !who || who == task_pgrp_vnr(current);
}

/*
 * Does user @who (0: the caller's) own the running thread?  The callee
 * matches the threads' real user id against it.
 */
static bool syslet_user_is_self(uid_t who)
{
	kuid_t uid = who ? make_kuid(current_user_ns(), who) : current_uid();

	return uid_eq(uid, task_uid(current));
}

/*
 * Calls that set per-thread state on the thread running the atom when
 * they name it (pid 0 or its own id, or a process group or user it is
 * part of): scheduling policy, affinity, nice and I/O priority, or a
 * private file table.  An async thread would keep that state for the
 * chains it runs later, so they are refused.
 */
static bool syslet_targets_self(unsigned int nr, const unsigned long *args)
{
	if (syslet_atom_ia32())
		nr = syslet_self_nr64(nr);
	/* int arguments: the callee ignores the upper 32 bits, so do we */
	switch (nr) {
	case __NR_sched_setaffinity: case __NR_sched_setscheduler:
	case __NR_sched_setparam: case __NR_sched_setattr:
		return syslet_pid_is_self((pid_t)args[0]);
	case __NR_setpriority:
		switch ((int)args[0]) {
		case PRIO_PROCESS:
			return syslet_pid_is_self((pid_t)args[1]);
		case PRIO_PGRP:
			return syslet_pgrp_is_self((pid_t)args[1]);
		case PRIO_USER:
			return syslet_user_is_self((uid_t)args[1]);
		}
		return false;
	case __NR_ioprio_set:
		switch ((int)args[0]) {
		case IOPRIO_WHO_PROCESS:
			return syslet_pid_is_self((pid_t)args[1]);
		case IOPRIO_WHO_PGRP:
			return syslet_pgrp_is_self((pid_t)args[1]);
		case IOPRIO_WHO_USER:
			return syslet_user_is_self((uid_t)args[1]);
		}
		return false;
	case __NR_close_range:
		return args[2] & CLOSE_RANGE_UNSHARE;
	}
	return false;
}

/*
 * Checks an atom against the submitting thread's seccomp filter, pinned
 * at submission, as if that thread made the call itself.  Returns 0 to
 * run it or the errno the atom fails with:
 *
 *  ALLOW, LOG		run (LOG logs, as for a direct call)
 *  ERRNO		the filter's errno
 *  TRAP, TRACE,	-EOPNOTSUPP: there is no user context to send
 *  USER_NOTIF		the SIGSYS to, or to stop for a tracer or supervisor
 *  KILL_THREAD,	in the caller (SYSLET_SYNC), exactly what seccomp
 *  KILL_PROCESS	does for a direct call minus the core dump: the
 *			thread or the process dies of SIGSYS.  In an async
 *			thread the submitter cannot be killed alone, so the
 *			whole process gets SIGKILL (either action).
 */
static u32 syslet_seccomp_eval(struct syslet_chain *c, unsigned int nr,
			       const unsigned long *args)
{
	struct seccomp_data sd = {
		.nr = nr,
		.arch = c->ia32 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64,
		.instruction_pointer = c->ip,
	};
	int i;

	for (i = 0; i < 6; i++)
		sd.args[i] = args[i];
	return seccomp_filter_eval(c->filter, &sd);
}

/*
 * Logs a verdict as seccomp logs a direct call's (LOG, KILL_*, ...): a
 * record of its own, as at a system call's entry, before audit's; in the
 * caller not one that makes async_exec()'s own record be written.
 */
static void syslet_seccomp_log(struct syslet_chain *c, unsigned int nr,
			       const unsigned long *args, u32 ret)
{
	struct seccomp_data sd = {
		.nr = nr,
		.arch = c->ia32 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64,
		.instruction_pointer = c->ip,
	};
	struct audit_context *outer;
	int i;

	for (i = 0; i < 6; i++)
		sd.args[i] = args[i];
	outer = audit_syslet_begin();
	seccomp_filter_log(c->filter, &sd, ret);
	audit_syslet_end(outer);
}

/*
 * The filter's verdict on the atom making this call (SECCOMP_RET_ALLOW
 * without a filter), not acted on nor logged.
 */
u32 syslet_seccomp_verdict(struct syslet_chain *c, unsigned int nr,
			   const unsigned long *args)
{
	if (!c->filter)
		return SECCOMP_RET_ALLOW;
	return syslet_seccomp_eval(c, nr, args);
}

static long syslet_seccomp(struct syslet_chain *c, unsigned int nr,
			   const unsigned long *args, bool in_caller)
{
	struct syslet_ctx *ctx;
	u32 ret, action;

	if (!c->filter)
		return 0;
	ret = syslet_seccomp_eval(c, nr, args);
	action = ret & SECCOMP_RET_ACTION_FULL;
	if (action != SECCOMP_RET_ALLOW)
		syslet_seccomp_log(c, nr, args, ret);
	switch (action) {
	case SECCOMP_RET_ALLOW:
	case SECCOMP_RET_LOG:
		return 0;
	case SECCOMP_RET_ERRNO:
		return -(long)min_t(u32, ret & SECCOMP_RET_DATA, MAX_ERRNO);
	case SECCOMP_RET_TRAP:
	case SECCOMP_RET_TRACE:
	case SECCOMP_RET_USER_NOTIF:
		return -EOPNOTSUPP;
	}
	/* KILL_THREAD, KILL_PROCESS or unknown: fail closed */
	if (in_caller) {
		/* submit_in_caller_to_ring()'s chain, which it would free */
		bool caller_owned = c->caller_owned;

		/*
		 * Drop the filter, then the chain: a default-mode one
		 * (pob_abort(), which frees @c), or a SYSLET_SYNC one posting
		 * to a ring, a counted object holding its kring and cred.
		 */
		seccomp_filter_put(c->filter);
		c->filter = NULL;
		syslet_pob_abort();
		if (caller_owned)
			syslet_chain_drop(c);
		/* its entry on ctx->callers is on the stack it dies with */
		ctx = syslet_get_ctx(false);
		if (ctx)
			syslet_kio_chain_end(ctx, NULL);
		/* as seccomp: the last thread takes the process with it */
		if (action == SECCOMP_RET_KILL_THREAD &&
		    syslet_other_user_thread(current))
			do_exit(SIGSYS);
		do_group_exit(SIGSYS);
	}
	do_send_sig_info(SIGKILL, SEND_SIG_PRIV, current, PIDTYPE_TGID);
	return -ECANCELED;
}

/*
 * The registers system call @nr with @args is made with, in the atom's
 * ABI: i386 passes them in bx, cx, dx, si, di, bp (32 bits each).
 */
static void syslet_call_regs(struct pt_regs *regs, unsigned int nr,
			     const unsigned long *args)
{
	regs->orig_ax = nr;
	if (syslet_atom_ia32()) {
		regs->bx = args[0];
		regs->cx = args[1];
		regs->dx = args[2];
		regs->si = args[3];
		regs->di = args[4];
		regs->bp = args[5];
		return;
	}
	regs->di = args[0];
	regs->si = args[1];
	regs->dx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
}

/* The registers' arguments back (a tracer may have changed them). */
static void syslet_regs_args(const struct pt_regs *regs, unsigned long *args)
{
	if (syslet_atom_ia32()) {
		args[0] = (u32)regs->bx;
		args[1] = (u32)regs->cx;
		args[2] = (u32)regs->dx;
		args[3] = (u32)regs->si;
		args[4] = (u32)regs->di;
		args[5] = (u32)regs->bp;
		return;
	}
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}

/* Makes system call @nr, listed in the atom's ABI's table, from @regs. */
static long syslet_call(const struct pt_regs *regs, unsigned int nr)
{
	if (syslet_atom_ia32())
		return ia32_sys_call(regs, nr);
	return x64_sys_call(regs, nr);
}

/*
 * Calls system call @nr the way do_syscall_x64() (an i386 atom:
 * do_syscall_32_irqs_on()) does, with the entry and
 * exit work of kernel/entry/common.c that applies to an atom: the
 * raw_syscalls sys_enter and sys_exit tracepoints, and audit, which sees
 * the atom as the call it is (its number, arguments and result), in the
 * task that runs it.  In the caller, inside async_exec(), the record of
 * async_exec() itself is put aside meanwhile (audit_syslet_begin()).
 * Seccomp was checked by syslet_seccomp(); a ptrace tracer sees the atoms
 * its tracee runs itself (syslet_syscall()); syscall user dispatch
 * decided on async_exec(), the call the tracee made.
 *
 * With @pob, pass-on-block is armed around the call itself only: the
 * audit bookkeeping around it may allocate (GFP_KERNEL) and sleep, which
 * must not hand the caller off.  A dummy audit context (no rule) records
 * nothing: the atom's record is not even set up then.
 */
static long syslet_dispatch(unsigned int nr, const unsigned long *args,
			    struct syslet_pob *pob)
{
	struct audit_context *outer = ERR_PTR(-ENOENT);
	struct pt_regs regs = {};

	/* only listed calls come here (syslet_call_allowed()) */
	if (WARN_ON_ONCE(nr >= syslet_nr_calls()))
		return syslet_ni_syscall();
	nr = array_index_nospec(nr, syslet_nr_calls());
	syslet_call_regs(&regs, nr, args);

	trace_sys_enter(&regs, nr);
	/* an error: not audited (audit off or dummy, or no memory) */
	if (!audit_dummy_context())
		outer = audit_syslet_begin();
	if (!IS_ERR(outer))
		audit_syscall_entry(nr, args[0], args[1], args[2], args[3]);

	if (pob) {
		pob->audit_outer = &outer;
		WRITE_ONCE(pob->armed, true);
	}
	/* a hand-off meanwhile exchanges @outer for the taker's context */
	regs.ax = syslet_call(&regs, nr);
	if (pob) {
		WRITE_ONCE(pob->armed, false);
		pob->audit_outer = NULL;
	}

	if (!IS_ERR(outer)) {
		audit_syscall_exit(&regs);
		audit_syslet_end(outer);
	}
	trace_sys_exit(&regs, regs.ax);
	return regs.ax;
}

/*
 * A task traced with PTRACE_SYSCALL (or PTRACE_SYSEMU) stops at each atom
 * it runs itself, as at a system call of its own, nested in its
 * async_exec(): a syscall-entry stop with the atom's number in orig_ax
 * and its arguments in the argument registers (PTRACE_GETREGS and
 * PTRACE_GET_SYSCALL_INFO show them), then a syscall-exit stop with its
 * result in ax.  The tracer may change the number and arguments at the
 * entry stop, or skip the call (SYSEMU, or orig_ax -1: the result is
 * then ax), as for any call; seccomp and the allowlist check what it
 * left.  The registers of async_exec() are put back after the atom.
 * Returns true if the call is skipped, with its result in *@ret.
 */
static bool syslet_ptrace_entry(unsigned long work, unsigned int *nr,
				unsigned long *args, long *ret)
{
	struct pt_regs *regs = current_pt_regs();

	syslet_call_regs(regs, *nr, args);
	/* as the entry code has it until the call returns */
	regs->ax = syslet_ni_syscall();
	if (ptrace_report_syscall_entry(regs) ||
	    (work & SYSCALL_WORK_SYSCALL_EMU) || (long)regs->orig_ax < 0) {
		*ret = regs->ax;
		return true;
	}
	*nr = regs->orig_ax;
	syslet_regs_args(regs, args);
	return false;
}

/*
 * Does call @nr take a PI futex in the caller's name?  A PI lock's owner
 * is named by the TID of the task that takes it, which the kernel writes
 * into the futex word when it takes it: FUTEX_LOCK_PI, FUTEX_LOCK_PI2 and
 * FUTEX_TRYLOCK_PI in the call, FUTEX_WAIT_REQUEUE_PI when it is woken
 * with the lock.  Such a call never hands the caller's user context on:
 * a hand-off exchanges the TIDs, and a call that sleeps before it writes
 * the word (the lock's wait, a fault on the word's page, which
 * FUTEX_TRYLOCK_PI meets too) would write the giver's new one: the lock
 * would be an async thread's, and the program's FUTEX_UNLOCK_PI fail
 * with EPERM.  So the lock is the caller's when the atom returns, as
 * after a direct call.  FUTEX_UNLOCK_PI reads the caller's TID before it
 * can sleep, FUTEX_CMP_REQUEUE_PI writes the waiter's, futex_waitv() and
 * 6.12's futex_wait()/futex_wake()/futex_requeue() have no PI ops: they
 * may hand off.  (Linux 6.12 would not hand off in the lock's own wait
 * anyway, rt_mutex_futex_pre_schedule(); 6.1 would.)
 */
static bool syslet_pi_futex_owner(unsigned int nr, const unsigned long *args)
{
	if (nr != __NR_futex)
		return false;
	/* futex()'s op is an int: the upper half of the argument is not it */
	switch ((int)args[1] & FUTEX_CMD_MASK) {
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_TRYLOCK_PI:
	case FUTEX_WAIT_REQUEUE_PI:
		return true;
	}
	return false;
}

/*
 * Checks and runs an atom's system call (no ptrace); returns its result.
 * !@may_pass: it does not hand off, whatever happens meanwhile.
 */
static long syslet_syscall_checked(struct syslet_chain *c, unsigned int nr,
				   const unsigned long *args, bool in_caller,
				   bool may_pass)
{
	struct syslet_pob *pob = current->syslet_pob;
	long ret;

	ret = syslet_seccomp(c, nr, args, in_caller);
	if (ret)
		return ret;
	ret = syslet_call_allowed(nr);
	if (ret)
		return ret;
	if (syslet_targets_self(nr, args))
		return -EPERM;
	if (!may_pass || !pob || pob->passed || pob->tl || !pob->taker ||
	    syslet_pi_futex_owner(nr, args))
		return syslet_dispatch(nr, args, NULL);
	/* pass-on-block: if the call sleeps, the caller goes on elsewhere */
	return syslet_dispatch(nr, args, pob);
}

/*
 * An atom run in a traced caller: the tracer sees it first
 * (syslet_ptrace_entry()), and the caller's registers are its own again
 * after it.
 */
static noinline long syslet_syscall_traced(struct syslet_chain *c,
					   unsigned long work, unsigned int nr,
					   const unsigned long *args)
{
	unsigned long targs[6];
	struct pt_regs saved;
	long ret;

	saved = *current_pt_regs();
	memcpy(targs, args, sizeof(targs));
	/*
	 * A traced task does not hand off: it is still the caller.  Nor
	 * does it if the tracer detached at the entry stop: the registers
	 * are the atom's until @saved is put back, and a hand-off would give
	 * them to the user context (the scheduler hook only sees ->ptrace).
	 */
	if (!syslet_ptrace_entry(work, &nr, targs, &ret))
		ret = syslet_syscall_checked(c, nr, targs, true, false);
	current_pt_regs()->ax = ret;
	ptrace_report_syscall_exit(current_pt_regs(), false);
	*current_pt_regs() = saved;
	return ret;
}

/*
 * Checks and runs an atom's system call; returns its result.  In the
 * caller, a ptrace tracer sees it first (syslet_syscall_traced()).
 * The traced path is a function of its own: with the stack initialised
 * (INIT_STACK_ALL_ZERO, as distributions build), its struct pt_regs
 * would be zeroed for every atom here, traced or not.
 */
static long syslet_syscall(struct syslet_chain *c, unsigned int nr,
			   const unsigned long *args, bool in_caller)
{
	unsigned long work = READ_ONCE(current_thread_info()->syscall_work);

	if (!in_caller ||
	    !(work & (SYSCALL_WORK_SYSCALL_TRACE | SYSCALL_WORK_SYSCALL_EMU)))
		return syslet_syscall_checked(c, nr, args, in_caller, true);
	return syslet_syscall_traced(c, work, nr, args);
}

/*
 * An async thread's interruptible sleep was cut short, and the call asks
 * to be restarted.  Unless the chain was cancelled or the thread is being
 * killed, the cause was not meant for the chain: a job-control stop
 * (SIGSTOP, ^Z), a ptrace interrupt, or a cancel that came too late for
 * the thread's previous chain.  Take the stop here, as the return to user
 * space would, and tell the caller to restart the call.  A restart code
 * with nothing pending is not restarted (no loop on a buggy driver).
 */
static bool syslet_may_restart(struct syslet_chain *c)
{
	struct ksignal ksig;

	if (!signal_pending(current) || READ_ONCE(c->cancelled) ||
	    fatal_signal_pending(current))
		return false;
	/* cancel sets c->cancelled before it notifies: see it below */
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	/*
	 * An io thread only gets SIGKILL and SIGSTOP: its mask is its own
	 * again (syslet_restore_mask()), so no handled signal can be
	 * dequeued here.  True means fatal, and get_signal() has consumed
	 * the SIGKILL: remember it.
	 */
	if (task_sigpending(current) && get_signal(&ksig)) {
		c->killed = true;
		return false;
	}
	/*
	 * Something get_signal() did not take is still pending: restarting
	 * would be interrupted again at once, for ever.  No restart.
	 */
	if (task_sigpending(current))
		return false;
	return !READ_ONCE(c->cancelled);
}

/*
 * ppoll(), pselect6(), epoll_pwait(), epoll_pwait2() and io_pgetevents()
 * install the caller's temporary mask and leave it, with the old one in
 * saved_sigmask and TS_RESTORE_SIGMASK set, when a signal interrupts
 * them: the return to user space delivers the signal and restores the
 * mask.  An async thread never returns to user space: it restores its
 * own mask (every signal blocked but SIGKILL and SIGSTOP) after the call,
 * which also passes process signals routed to it meanwhile on to the
 * threads of the process that take them.
 */
static void syslet_restore_mask(void)
{
	if (test_and_clear_restore_sigmask())
		set_current_blocked(&current->saved_sigmask);
}

static bool is_restart(long ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
	       ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK;
}

/* Does @ret trip one of the atom's stop conditions? */
static bool should_stop(u32 flags, long ret)
{
	return ((flags & SYSLET_STOP_ON_NONZERO) && ret != 0) ||
	       ((flags & SYSLET_STOP_ON_ZERO) && ret == 0) ||
	       ((flags & SYSLET_STOP_ON_NEGATIVE) && ret < 0) ||
	       ((flags & SYSLET_STOP_ON_NON_POSITIVE) && ret <= 0);
}

/*
 * Signals a system call sends to its caller: SIGPIPE (write to a broken
 * pipe or socket) and SIGXFSZ (past RLIMIT_FSIZE).  An async thread
 * blocks them, so they would stay pending on it for ever.
 */
#define SYSLET_FWD_SIGS	(sigmask(SIGPIPE) | sigmask(SIGXFSZ))

/* the signals whose default action dumps core (sig_kernel_coredump()) */
#define SYSLET_CORE_SIGS	(sigmask(SIGQUIT) | sigmask(SIGILL) | \
				 sigmask(SIGTRAP) | sigmask(SIGABRT) | \
				 sigmask(SIGBUS) | sigmask(SIGFPE) | \
				 sigmask(SIGSEGV) | sigmask(SIGXCPU) | \
				 sigmask(SIGXFSZ) | sigmask(SIGSYS))

/*
 * Does @sig, pending for @t (a thread of current's group; siglock held),
 * kill the process when @t takes it: unblocked (sigtimedwait() keeps the
 * real mask in ->real_blocked), left to its default action, no tracer to
 * take it, not an init of a namespace (SIGNAL_UNKILLABLE).
 */
static bool syslet_sig_kills(struct task_struct *t, int sig)
{
	return !sigismember(&t->blocked, sig) &&
	       !sigismember(&t->real_blocked, sig) && !t->ptrace &&
	       !(t->signal->flags & SIGNAL_UNKILLABLE) &&
	       current->sighand->action[sig - 1].sa.sa_handler == SIG_DFL;
}

/*
 * Moves the signals above that the atom (or a kernel work: worker.c) just
 * raised on this async thread to @submitter, the thread that submitted
 * it, as if it had made the call itself; to the process if that thread
 * is gone or exiting, or is this very thread (never back onto current:
 * they are blocked here, and would be dequeued and requeued for ever).
 * With @drop (a SYSLET_NOSIGNAL chain), those the kernel raised for this
 * thread's own call (send_sig(): SI_USER from this process) are
 * discarded; one another thread queued on it (tgkill(), SI_TKILL) is
 * moved as before, and so is one that lost its siginfo (no queue entry
 * could be allocated: no sender), which may be another's tgkill() whose
 * sender was over RLIMIT_SIGPENDING.
 * A group-wide signal goes to the shared queue, which the loop does not
 * read.  Bounded all the same, and it stops when the thread is being
 * killed.
 */
bool syslet_forward_signals(struct pid *submitter, bool drop)
{
	struct sighand_struct *sighand = current->sighand;
	struct task_struct *t;
	kernel_siginfo_t info;
	enum pid_type type;
	unsigned long fwd;
	bool doomed = false;
	sigset_t mask;
	int sig, i;

	for (i = 0; i < 2 * _NSIG && !fatal_signal_pending(current); i++) {
		sig = 0;
		rcu_read_lock();
		spin_lock_irq(&sighand->siglock);
		fwd = current->pending.signal.sig[0] & SYSLET_FWD_SIGS;
		if (fwd) {
			/* only those, and private ones come first */
			siginitsetinv(&mask, fwd);
			sig = syslet_dequeue_signal(&mask, &info, &type);
		}
		/*
		 * The submitter's TID is looked up and the signal queued in
		 * one hold of the siglock, which a hand-off moves the TID
		 * under (pob.c): not on a task the TID has left meanwhile
		 * (review 14 finding 2).  A thread of ours shares it.
		 */
		if (sig && !(drop && info.si_code == SI_USER &&
			     info.si_pid == task_tgid_vnr(current))) {
			t = submitter ? pid_task(submitter, PIDTYPE_PID) : NULL;
			if (t && t != current && same_thread_group(t, current) &&
			    !(t->flags & PF_EXITING)) {
				send_signal_locked(sig, &info, t, PIDTYPE_PID);
				/* it dies of it: see syslet_doomed() */
				doomed |= (sigmask(sig) & SYSLET_CORE_SIGS) &&
					  sigismember(&t->pending.signal, sig) &&
					  syslet_sig_kills(t, sig);
			} else {
				send_signal_locked(sig, &info, current,
						   PIDTYPE_TGID);
			}
		}
		spin_unlock_irq(&sighand->siglock);
		rcu_read_unlock();
		if (!sig)
			break;
	}
	return doomed;
}

/*
 * After each atom in an async thread: clear a notification "signal" (the
 * way cancellation interrupts a blocked call), pass on (or, for a
 * SYSLET_NOSIGNAL chain, discard) the signals the atom raised, and run
 * deferred task work such as the final fput() of a closed file.
 */
static bool syslet_after_atom(struct syslet_chain *c, bool in_caller)
{
	bool doomed = false;

	if (in_caller)
		return false;
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	if (READ_ONCE(current->pending.signal.sig[0]) & SYSLET_FWD_SIGS)
		doomed = syslet_forward_signals(c->submitter,
						c->flags & SYSLET_NOSIGNAL);
	if (task_work_pending(current))
		task_work_run();
	return doomed;
}

/*
 * Reads @atom's six arguments through their pointers (NULL: 0).  Pointers
 * to consecutive words, as a program's array of arguments gives them
 * (libsyslet's struct syslet_op), are read with one copy: the same words,
 * and -EFAULT if any of them cannot be read, as word by word.  A word the
 * program changes meanwhile may be read torn then (a copy is not a load
 * per word): docs/abi.md asks for atoms left alone until their chain ends.
 */
int syslet_load_args(const struct syslet_atom *atom, unsigned long *args)
{
	int i, n;

	BUILD_BUG_ON(sizeof(*args) != sizeof(u64));
	for (i = 0; i < 6; i += n) {
		u64 p = atom->arg_ptr[i];
		u64 __user *up = u64_to_user_ptr(p);

		n = 1;
		if (!p) {
			args[i] = 0;
			continue;
		}
		while (i + n < 6 && atom->arg_ptr[i + n] &&
		       atom->arg_ptr[i + n] == p + n * sizeof(u64))
			n++;
		if (n == 1 ? get_user(args[i], up) :
			     copy_from_user(&args[i], up, n * sizeof(u64)))
			return -EFAULT;
	}
	return 0;
}

/*
 * Is the process about to die of a signal whose default action dumps
 * core, pending for the thread whose call the chain makes (@in_caller:
 * current; else the submitter, which an atom's SIGXFSZ is forwarded to),
 * or for the process, unblocked there, left to its default action, no
 * tracer to take it?  complete_signal() turns every other fatal signal
 * into a SIGKILL of the group (fatal_signal_pending()), not these (the
 * thread that dequeues one dumps the core), so a chain ran on past one:
 * an atom's pwrite() past RLIMIT_FSIZE raised SIGXFSZ, which kills a
 * direct caller at once, and the next atoms still wrote their files (an
 * outside probe).  Then no further atom runs, as the direct program
 * would have made no further call.
 */
static bool syslet_doomed(struct syslet_chain *c, bool in_caller)
{
	struct task_struct *t = current;
	unsigned long core;
	bool doomed = false;
	int sig;

	if (!in_caller && !c->submitter)
		return false;
	rcu_read_lock();
	spin_lock_irq(&current->sighand->siglock);
	/* looked up under the siglock: a thread released meanwhile is gone */
	if (!in_caller)
		t = pid_task(c->submitter, PIDTYPE_PID);
	if (t && same_thread_group(t, current) && !(t->flags & PF_EXITING) &&
	    test_tsk_thread_flag(t, TIF_SIGPENDING)) {
		core = (t->pending.signal.sig[0] |
			current->signal->shared_pending.signal.sig[0]) &
		       SYSLET_CORE_SIGS;
		for (sig = 1; core && sig < BITS_PER_LONG && !doomed; sig++)
			doomed = (core & sigmask(sig)) &&
				 syslet_sig_kills(t, sig);
	}
	spin_unlock_irq(&current->sighand->siglock);
	rcu_read_unlock();
	return doomed;
}

/*
 * Runs chain @c to its end and fills in c->comp.  In an async thread the
 * chain's credentials are those of the submitter at submission time.
 * A chain started in the caller (@in_caller) with pass-on-block armed
 * (current->syslet_pob) goes on as an async chain once the caller's user
 * context has been passed to another thread.
 */
void syslet_run_chain(struct syslet_chain *c, bool caller)
{
	bool in_caller = caller;
	u64 uaddr = c->head, last = 0;
	unsigned int nr_run = 0;
	bool doomed = false;
	long status = 0;

	while (uaddr) {
		struct syslet_atom atom;
		unsigned long args[6];
		long ret;
		u32 abi;
		int i;

		if (READ_ONCE(c->cancelled) || c->killed ||
		    fatal_signal_pending(current) || doomed ||
		    (nr_run && syslet_doomed(c, in_caller))) {
			status = -ECANCELED;
			break;
		}
		if (nr_run >= SYSLET_MAX_ATOMS) {
			status = -ELOOP;
			break;
		}
		if (copy_from_user(&atom, u64_to_user_ptr(uaddr), sizeof(atom))) {
			status = -EFAULT;
			break;
		}
		last = uaddr;
		/* unknown flags, reserved words not 0 (ABI v1): not run */
		if ((atom.flags & ~SYSLET_ATOM_FLAGS) ||
		    atom.__reserved[0] || atom.__reserved[1]) {
			status = -EINVAL;
			break;
		}
		if (syslet_load_args(&atom, args)) {
			status = -EFAULT;
			break;
		}

		/* an i386 atom's arguments are 32-bit registers */
		if (c->ia32)
			for (i = 0; i < 6; i++)
				args[i] = (u32)args[i];

		nr_run++;
		abi = syslet_abi_enter(c);
		ret = syslet_syscall(c, atom.nr, args, in_caller);
		in_caller = caller && syslet_pob_in_caller();
		if (in_caller && is_restart(ret) && nr_run == 1) {
			/*
			 * The first atom, run in the caller, did nothing and
			 * asks to be restarted: so does async_exec(), and the
			 * return to user space restarts it (or not) exactly
			 * as it would the call itself (SA_RESTART, stops,
			 * the freezer).  Not through restart_block: that
			 * would restart the atom's call alone.
			 */
			c->restart = ret == -ERESTART_RESTARTBLOCK ?
				     -ERESTARTNOHAND : ret;
			syslet_abi_leave(abi);
			return;
		}
		if (!in_caller)
			syslet_restore_mask();
		/* as after a signal with no handler: the call goes on */
		while (!in_caller && is_restart(ret) && syslet_may_restart(c)) {
			ret = syslet_dispatch(ret != -ERESTART_RESTARTBLOCK ?
					      atom.nr : c->ia32 ?
					      __NR_ia32_restart_syscall :
					      __NR_restart_syscall, args, NULL);
			syslet_restore_mask();
		}
		syslet_abi_leave(abi);
		if (is_restart(ret))
			ret = READ_ONCE(c->cancelled) ? -ECANCELED : -EINTR;
		/* a SIGXFSZ that kills the submitter: no further atom */
		if (syslet_after_atom(c, in_caller))
			doomed = true;
		status = ret;
		if (atom.ret_ptr &&
		    put_user((s64)ret, (s64 __user *)u64_to_user_ptr(atom.ret_ptr))) {
			status = -EFAULT;
			break;
		}
		/*
		 * In the caller, a signal interrupted a call that installed a
		 * temporary mask: the chain ends here, so that the return to
		 * user space delivers it and restores the mask (a later such
		 * call would overwrite the saved one).
		 */
		if (in_caller && test_restore_sigmask())
			break;
		if (should_stop(atom.flags, ret)) {
			if (!(atom.flags & SYSLET_SKIP_TO_NEXT_ON_STOP))
				break;
			uaddr += sizeof(struct syslet_atom);
			continue;
		}
		uaddr = atom.next;
	}

	/* A chain cancelled while it ran completes as cancelled. */
	if (READ_ONCE(c->cancelled)) {
		status = -ECANCELED;
		c->comp.flags |= SYSLET_COMP_CANCELED;
	}
	c->comp.status = status;
	c->comp.atom = last;
	c->comp.nr_atoms = nr_run;
	if (in_caller)
		c->comp.flags |= SYSLET_COMP_SYNC;
}
