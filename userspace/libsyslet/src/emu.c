// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The emulated backend: the syslet contract on a pool of threads.
 *
 * Chains run with syscall(2) on worker threads that are created on demand
 * (up to max_threads) and exit after idle_msecs without work; they obey
 * the same flags, data flow, limits and forbidden list as the kernel
 * engine (kernel/syslet/exec.c) and write the same ring format with the
 * same ordering (entry, then head with release semantics).  Waiters sleep
 * on a futex on the ring's head.  No file descriptor is used.
 *
 * Locking:
 *   pool.lock	the job queue, worker counts, limits, nr_chains
 *   emu->lock	the context's in-flight list, its overflow list and the
 *		producer side of its ring (head); taken after pool.lock
 *		never before it
 *   job->sig_lock  a running job's in_syscall state, so that a canceller
 *		only signals a thread that is (about to be) in the call and
 *		cannot exit meanwhile
 *
 * Cancellation of a blocked call: the worker marks itself in_syscall,
 * checks the cancelled flag, and makes the call; the canceller sets the
 * flag and, while the worker is marked in_syscall, sends it the cancel
 * signal (pool.signo, a real-time signal the program neither handles nor
 * blocks, see pick_signal(); its handler does nothing for the library's
 * own signals, and sends the program's back to the process, see
 * sig_cancel(); it is installed without SA_RESTART, so a blocked
 * interruptible call returns EINTR).  A signal that lands between the check and the call is lost, so the canceller
 * retries with a growing delay until the worker leaves the call (or, for
 * an uninterruptible call, gives up after about a second: the call ends
 * by itself and the chain still completes as cancelled).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

#define EMU_DEF_MAX_THREADS	128
#define EMU_MAX_MAX_THREADS	4096
#define EMU_DEF_IDLE_MSECS	5000
#define EMU_MAX_IDLE_MSECS	3600000
#define EMU_DEF_MAX_CHAINS	16384
#define EMU_MAX_MAX_CHAINS	(1U << 20)

struct emu_job {
	struct emu_job *next;		/* pool queue */
	struct emu_job *iprev, *inext;	/* ctx in-flight list */
	struct syslet_ctx *ctx;
	const struct syslet_atom *head;
	uint32_t flags;			/* head atom's flags */
	syslet_threadlet_fn fn;		/* threadlet, or NULL */
	void *arg;
	struct syslet_completion comp;
	_Atomic bool cancelled;
	bool queued;			/* on pool.queue; under pool.lock */
	pthread_mutex_t sig_lock;
	bool in_syscall;		/* under sig_lock */
	pthread_t thread;		/* valid while in_syscall */
	int refs;			/* under emu->lock */
};

struct emu_pwaiter {
	int efd;
	struct emu_pwaiter *next, *prev;
};

struct syslet_emu {
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* in-flight list became empty */
	struct emu_job *inflight;	/* oldest first */
	struct emu_job *inflight_last;
	unsigned int nr_inflight;
	struct emu_job *ovf, *ovf_last;	/* completions waiting for room */
	uint32_t head;			/* producer's copy of ring->head */
	_Atomic unsigned int waiters;
	/*
	 * syslet_pwait() callers, each polling an eventfd of its own with
	 * ppoll() (a futex cannot take a signal mask); pw_lock is a leaf
	 * lock, taken after e->lock where both are held.
	 */
	_Atomic unsigned int pwaiters;
	pthread_mutex_t pw_lock;
	struct emu_pwaiter *pw_list;	/* under pw_lock */
	struct syslet_ctx *ctx;
	struct syslet_emu *cnext, *cprev; /* pool.ctxs; under pool.lock */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct emu_job *queue, *queue_last;
	unsigned int nr_threads, nr_idle, nr_chains, nr_queued;
	unsigned int max_threads, idle_msecs, max_chains;
	uint64_t chains_done;
	struct syslet_emu *ctxs;	/* every live context */
	bool sig_installed;
	bool atfork_installed;
	int signo;
	/* the program uses signo too: workers keep it blocked from now on */
	_Atomic bool sig_foreign;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.max_threads = EMU_DEF_MAX_THREADS,
	.idle_msecs = EMU_DEF_IDLE_MSECS,
	.max_chains = EMU_DEF_MAX_CHAINS,
};

#define EMU_IOPRIO_WHO_PROCESS		1	/* <linux/ioprio.h> */
#define EMU_IOPRIO_WHO_PGRP		2
#define EMU_IOPRIO_WHO_USER		3
#define EMU_CLOSE_RANGE_UNSHARE		(1U << 1) /* <linux/close_range.h> */

/*
 * What an atom may call: the kernel engine's own table
 * (kernel/syslet/calls.h), so the two backends refuse the same calls.
 */
enum { EMU_CALL_NOSYS, EMU_CALL_ALLOW, EMU_CALL_DENY };

static const unsigned char emu_calls[__NR_async_limits + 1] = {
/* x86-64 names: <syslet.h> refuses other builds with one clear #error */
#if defined(__x86_64__) && defined(__LP64__)
#define SYSLET_ALLOW(name)	[__NR_##name] = EMU_CALL_ALLOW,
#define SYSLET_DENY(name, why)	[__NR_##name] = EMU_CALL_DENY,
#define SYSLET_NOSYS(name)	[__NR_##name] = EMU_CALL_NOSYS,
#include "../../../kernel/syslet/calls.h"
#undef SYSLET_ALLOW
#undef SYSLET_DENY
#undef SYSLET_NOSYS
#endif
};

/* 0 if an atom may make call @nr, else -EPERM or -ENOSYS (not listed). */
int __syslet_nr_check(unsigned int nr)
{
	if (nr >= sizeof(emu_calls))
		return -ENOSYS;
	switch (emu_calls[nr]) {
	case EMU_CALL_ALLOW:
		return 0;
	case EMU_CALL_DENY:
		return -EPERM;
	}
	return -ENOSYS;
}

/*
 * The kernel engine's syslet_targets_self(): calls that set per-thread
 * state on the thread running the atom when they name it (0 or its own
 * thread id, or a process group or user it is part of), which a worker
 * would keep for the chains it runs later.  "Self" is the running
 * thread: a worker, or the caller for SYSLET_SYNC.  int arguments are
 * compared as ints, as the callee ignores the upper 32 bits.
 */
static int prio_targets_self(int which, int who)
{
	switch (which) {
	case PRIO_PROCESS:
		return who == 0 || who == (pid_t)syscall(SYS_gettid);
	case PRIO_PGRP:
		return who == 0 || who == getpgrp();
	case PRIO_USER:
		return who == 0 || (uid_t)who == getuid();
	}
	return 0;
}

static int nr_targets_self(unsigned int nr, const uint64_t *a)
{
	pid_t self;

	switch (nr) {
	case SYS_sched_setaffinity: case SYS_sched_setscheduler:
	case SYS_sched_setparam: case SYS_sched_setattr:
		self = (pid_t)syscall(SYS_gettid);
		return (pid_t)a[0] == 0 || (pid_t)a[0] == self;
	case SYS_setpriority:
		return prio_targets_self((int)a[0], (int)a[1]);
	case SYS_ioprio_set:
		/* IOPRIO_WHO_* are PRIO_* plus one */
		if ((int)a[0] < EMU_IOPRIO_WHO_PROCESS ||
		    (int)a[0] > EMU_IOPRIO_WHO_USER)
			return 0;
		return prio_targets_self((int)a[0] - 1, (int)a[1]);
	case SYS_close_range:
		return (a[2] & EMU_CLOSE_RANGE_UNSHARE) != 0;
	}
	return 0;
}

/* What the program had on pool.signo when the library took it. */
static struct sigaction sig_old;

/* this thread is a worker; it blocks pool.signo (set in the worker) */
static _Thread_local bool t_worker, t_sig_blocked;
/* a signal of the program's interrupted this worker's call */
static _Thread_local volatile sig_atomic_t t_foreign_hit;

/*
 * A signal of the program's landed on a worker (it was sent to the
 * process, and only the workers left it unblocked): it goes back to the
 * process with its siginfo, for a thread of the program (or
 * sigwaitinfo(), signalfd()) to take, and this worker keeps the signal
 * blocked from now on, as the others will (pool.sig_foreign), so it
 * cannot come back here.  The kernel refuses a siginfo with si_code >= 0
 * (kill(), the kernel's own) from anyone but the pid named: such a one
 * is sent again with kill(), which keeps the signal but not the sender.
 */
static void sig_requeue(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	atomic_store(&pool.sig_foreign, true);
	t_foreign_hit = 1;
	if (uc)
		sigaddset(&((ucontext_t *)uc)->uc_sigmask, sig);
	if (!si || syscall(SYS_rt_sigqueueinfo, getpid(), sig, si))
		kill(getpid(), sig);
	errno = saved;
}

/*
 * The cancel signal's handler.  The library's own kick (kick_job():
 * pthread_sigqueue() from this process with &pool as its value) only has
 * to interrupt the call, which then returns EINTR; any other signal is
 * the program's: on a worker it goes back to the process (above), on a
 * thread of the program to the disposition the library found, run with
 * that disposition's sa_mask, SA_NODEFER and SA_RESETHAND (SA_ONSTACK is
 * not: the library's handler runs on whatever stack the thread is on).
 */
static void sig_cancel(int sig, siginfo_t *si, void *uc)
{
	sigset_t mask, old;

	if (si && si->si_code == SI_QUEUE && si->si_pid == getpid() &&
	    si->si_value.sival_ptr == (void *)&pool)
		return;
	if (t_worker) {
		sig_requeue(sig, si, uc);
		return;
	}
	if (sig_old.sa_handler != SIG_DFL && sig_old.sa_handler != SIG_IGN) {
		struct sigaction now = sig_old;

		if (now.sa_flags & SA_RESETHAND) {
			memset(&sig_old, 0, sizeof(sig_old));
			sig_old.sa_handler = SIG_DFL;
		}
		mask = now.sa_mask;
		if (!(now.sa_flags & SA_NODEFER))
			sigaddset(&mask, sig);
		else
			sigdelset(&mask, sig);
		pthread_sigmask(SIG_BLOCK, &mask, &old);
		if (now.sa_flags & SA_NODEFER) {
			sigemptyset(&mask);
			sigaddset(&mask, sig);
			pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
		}
		if (now.sa_flags & SA_SIGINFO)
			now.sa_sigaction(sig, si, uc);
		else
			now.sa_handler(sig);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else if (sig_old.sa_handler == SIG_DFL) {
		/* a real-time signal's default action: the end of the process */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		pthread_kill(pthread_self(), sig);	/* once we return */
	}
}

/*
 * The cancel signal: $SYSLET_CANCEL_SIGNAL (a number, or RTMIN+n), else
 * the first real-time signal from SIGRTMIN+3 on that the program has
 * left at its default disposition and does not block in the calling
 * thread ("blocked, left at SIG_DFL" is how a program sets a signal up
 * for sigwaitinfo() or signalfd()); SIGRTMIN+3 itself if there is none.
 * -EINVAL for a bad $SYSLET_CANCEL_SIGNAL.
 */
static int pick_signal(void)
{
	const char *env = getenv("SYSLET_CANCEL_SIGNAL");
	struct sigaction sa;
	sigset_t blocked;
	char *end;
	long v;
	int sig;

	if (env && *env) {
		if (!strncmp(env, "SIG", 3))
			env += 3;
		if (!strncmp(env, "RTMIN+", 6)) {
			v = strtol(env + 6, &end, 10);
			v += SIGRTMIN;
		} else {
			v = strtol(env, &end, 10);
		}
		if (*end || v < SIGRTMIN || v > SIGRTMAX)
			return -EINVAL;
		return (int)v;
	}
	if (pthread_sigmask(SIG_BLOCK, NULL, &blocked))
		sigemptyset(&blocked);
	for (sig = SIGRTMIN + 3; sig <= SIGRTMAX; sig++)
		if (!sigaction(sig, NULL, &sa) && !(sa.sa_flags & SA_SIGINFO) &&
		    sa.sa_handler == SIG_DFL && !sigismember(&blocked, sig))
			return sig;
	return SIGRTMIN + 3;
}

static void free_jobs(struct emu_job *j);

/*
 * fork(): as with the kernel engine, none of the parent's chains runs or
 * completes in the child.  The child has none of the workers, and its
 * copies of the contexts start empty: their in-flight and overflow lists
 * are dropped (queued chains included, which a worker of the child would
 * otherwise run a second time), so a context inherited from the parent
 * can be used, or torn down, in the child.  The handlers hold pool.lock
 * and every context's lock across fork(), so the copied state is
 * consistent (lock order: pool.lock, then the contexts').
 */
static void atfork_prepare(void)
{
	struct syslet_emu *e;

	pthread_mutex_lock(&pool.lock);
	for (e = pool.ctxs; e; e = e->cnext) {
		pthread_mutex_lock(&e->lock);
		pthread_mutex_lock(&e->pw_lock);
	}
}

static void atfork_parent(void)
{
	struct syslet_emu *e;

	for (e = pool.ctxs; e; e = e->cnext) {
		pthread_mutex_unlock(&e->pw_lock);
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&pool.lock);
}

static void atfork_child(void)
{
	struct syslet_emu *e;
	struct emu_job *j, *fl = NULL;

	for (e = pool.ctxs; e; e = e->cnext) {
		while ((j = e->inflight)) {
			e->inflight = j->inext;
			j->next = fl;
			fl = j;
		}
		while ((j = e->ovf)) {
			e->ovf = j->next;
			j->next = fl;
			fl = j;
		}
		e->inflight_last = NULL;
		e->ovf_last = NULL;
		e->nr_inflight = 0;
		atomic_store(&e->waiters, 0);
		atomic_store(&e->pwaiters, 0);
		e->pw_list = NULL;	/* their threads are not in the child */
		pthread_mutex_init(&e->pw_lock, NULL);
		atomic_store_explicit((_Atomic uint32_t *)&e->ctx->ring->overflow,
				      0, memory_order_relaxed);
		atomic_store_explicit((_Atomic uint32_t *)&e->ctx->ring->kflags,
				      0, memory_order_relaxed);
		pthread_cond_init(&e->idle, NULL);
		pthread_mutex_unlock(&e->lock);
	}
	free_jobs(fl);
	pool.queue = NULL;
	pool.queue_last = NULL;
	pool.nr_queued = 0;
	pool.nr_chains = 0;
	pool.nr_threads = 0;
	pool.nr_idle = 0;
	pthread_cond_init(&pool.work, NULL);
	pthread_mutex_unlock(&pool.lock);
}

/* Installs the cancel signal once; caller holds pool.lock. */
static int install_signal(void)
{
	struct sigaction sa;
	int sig;

	if (pool.sig_installed)
		return 0;
	sig = pick_signal();
	if (sig < 0)
		return sig;
	memset(&sa, 0, sizeof(sa));
	/* no SA_RESTART: calls return EINTR */
	sa.sa_sigaction = sig_cancel;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &sig_old))
		return -errno;
	pool.signo = sig;
	pool.sig_installed = true;
	return 0;
}

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* --- ring production ----------------------------------------------- */

static bool ring_write(struct syslet_ctx *ctx,
		       const struct syslet_completion *c)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct syslet_ring *r = ctx->ring;
	uint32_t tail = atomic_load_explicit(ring_tail(r),
					     memory_order_acquire);

	if (e->head - tail >= ctx->ring_entries)
		return false;
	r->entries[e->head & ctx->ring_mask] = *c;
	e->head++;
	atomic_store_explicit(ring_head(r), e->head, memory_order_release);
	return true;
}

/* Read without the lock by reapers (flush_overflow() in syslet.c). */
static void set_overflow(struct syslet_ctx *ctx, unsigned int n)
{
	atomic_store_explicit((_Atomic uint32_t *)&ctx->ring->overflow, n,
			      memory_order_relaxed);
	atomic_store_explicit((_Atomic uint32_t *)&ctx->ring->kflags,
			      n ? SYSLET_RING_OVERFLOW : 0,
			      memory_order_relaxed);
}

static void job_put_locked(struct syslet_emu *e, struct emu_job *j,
			   struct emu_job **freelist)
{
	(void)e;
	if (--j->refs == 0) {
		j->next = *freelist;
		*freelist = j;
	}
}

static void free_jobs(struct emu_job *j)
{
	while (j) {
		struct emu_job *n = j->next;

		pthread_mutex_destroy(&j->sig_lock);
		free(j);
		j = n;
	}
}

/* Moves overflowed completions in as far as there is room; emu->lock. */
static bool flush_locked(struct syslet_ctx *ctx, struct emu_job **freelist)
{
	struct syslet_emu *e = ctx_emu(ctx);
	bool moved = false;
	unsigned int n = 0;
	struct emu_job *j;

	while ((j = e->ovf) && ring_write(ctx, &j->comp)) {
		e->ovf = j->next;
		if (!e->ovf)
			e->ovf_last = NULL;
		moved = true;
		job_put_locked(e, j, freelist);
	}
	if (moved) {
		for (j = e->ovf; j; j = j->next)
			n++;
		set_overflow(ctx, n);
	}
	return moved;
}

static void wake_waiters(struct syslet_ctx *ctx)
{
	/* pairs with the waiter's increment of waiters before reading head */
	atomic_thread_fence(memory_order_seq_cst);
	struct syslet_emu *e = ctx_emu(ctx);
	static const uint64_t one = 1;
	struct emu_pwaiter *w;

	if (atomic_load(&e->waiters))
		futex(ring_head(ctx->ring), FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	if (atomic_load(&e->pwaiters)) {
		pthread_mutex_lock(&e->pw_lock);
		for (w = e->pw_list; w; w = w->next)
			if (write(w->efd, &one, sizeof(one)) < 0) {
				/* EAGAIN: the counter is full, it is readable */
			}
		pthread_mutex_unlock(&e->pw_lock);
	}
}

void __syslet_emu_flush(struct syslet_ctx *ctx)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *fl = NULL;
	bool moved;

	pthread_mutex_lock(&e->lock);
	moved = flush_locked(ctx, &fl);
	pthread_mutex_unlock(&e->lock);
	if (moved)
		wake_waiters(ctx);
	free_jobs(fl);
}

/* Puts @j's completion on the overflow list (it keeps posting order). */
static void park_locked(struct syslet_ctx *ctx, struct emu_job *j)
{
	struct syslet_emu *e = ctx_emu(ctx);
	unsigned int n = 0;
	struct emu_job *o;

	j->next = NULL;
	if (e->ovf_last)
		e->ovf_last->next = j;
	else
		e->ovf = j;
	e->ovf_last = j;
	for (o = e->ovf; o; o = o->next)
		n++;
	set_overflow(ctx, n);
}

/*
 * Posts a finished job's completion (or queues it on the overflow list,
 * which keeps posting order), and takes it off the in-flight list.
 */
static void post_job(struct emu_job *j)
{
	struct syslet_ctx *ctx = j->ctx;
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *fl = NULL;

	/* before it is visible: a reaper may submit again at once */
	pthread_mutex_lock(&pool.lock);
	pool.nr_chains--;
	pool.chains_done++;
	pthread_mutex_unlock(&pool.lock);

	pthread_mutex_lock(&e->lock);
	/* off the in-flight list */
	if (j->iprev)
		j->iprev->inext = j->inext;
	else
		e->inflight = j->inext;
	if (j->inext)
		j->inext->iprev = j->iprev;
	else
		e->inflight_last = j->iprev;
	e->nr_inflight--;

	flush_locked(ctx, &fl);
	if (j->flags & SYSLET_NO_COMPLETE) {
		job_put_locked(e, j, &fl);
	} else if (!e->ovf && ring_write(ctx, &j->comp)) {
		job_put_locked(e, j, &fl);
	} else {
		park_locked(ctx, j);
	}
	/*
	 * Wake before dropping the lock: once nr_inflight is 0 and the lock
	 * is free, syslet_ctx_exit() may free the ring and the context.
	 */
	wake_waiters(ctx);
	if (!e->nr_inflight)
		pthread_cond_broadcast(&e->idle);
	pthread_mutex_unlock(&e->lock);
	free_jobs(fl);
}

/* --- the executor (mirrors kernel/syslet/exec.c) ------------------- */

static bool should_stop(uint32_t flags, long ret)
{
	return ((flags & SYSLET_STOP_ON_NONZERO) && ret != 0) ||
	       ((flags & SYSLET_STOP_ON_ZERO) && ret == 0) ||
	       ((flags & SYSLET_STOP_ON_NEGATIVE) && ret < 0) ||
	       ((flags & SYSLET_STOP_ON_NON_POSITIVE) && ret <= 0);
}

/* A worker stops taking pool.signo (the program uses it). */
static void worker_block_signal(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, pool.signo);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	t_sig_blocked = true;
}

static long run_syscall(struct emu_job *j, unsigned int nr,
			const uint64_t *a)
{
	long ret;

	ret = __syslet_nr_check(nr);
	if (ret)
		return ret;
	if (nr_targets_self(nr, a))
		return -EPERM;
	if (j) {
		if (!t_sig_blocked && atomic_load(&pool.sig_foreign))
			worker_block_signal();
		pthread_mutex_lock(&j->sig_lock);
		j->thread = pthread_self();
		j->in_syscall = true;
		pthread_mutex_unlock(&j->sig_lock);
		t_foreign_hit = 0;
		if (atomic_load(&j->cancelled)) {
			ret = -ECANCELED;
			goto out;
		}
	}
	for (;;) {
		ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (ret == -1)
			ret = -errno;
		/*
		 * EINTR for a signal of the program's that landed here (and
		 * went back to the process): the call is made again, as
		 * SA_RESTART would, unless the chain was cancelled meanwhile.
		 */
		if (ret != -EINTR || !j || !t_foreign_hit ||
		    atomic_load(&j->cancelled))
			break;
		t_foreign_hit = 0;
	}
out:
	if (j) {
		pthread_mutex_lock(&j->sig_lock);
		j->in_syscall = false;
		pthread_mutex_unlock(&j->sig_lock);
	}
	return ret;
}

/*
 * Runs a chain to its end and fills in @c.  @j is the job when run on a
 * worker (cancellable), NULL when run in the caller (SYSLET_SYNC).
 */
static void run_chain(const struct syslet_atom *head, struct emu_job *j,
		      struct syslet_completion *c)
{
	const struct syslet_atom *a = head;
	unsigned int nr_run = 0;
	uint64_t last = 0;
	long status = 0;

	while (a) {
		uint64_t args[6];
		struct syslet_atom atom;
		long ret;
		int i;

		if (j && atomic_load(&j->cancelled)) {
			status = -ECANCELED;
			break;
		}
		if (nr_run >= SYSLET_MAX_ATOMS) {
			status = -ELOOP;
			break;
		}
		memcpy(&atom, a, sizeof(atom));
		last = (uint64_t)(uintptr_t)a;
		if (atom.flags & ~SYSLET_ATOM_FLAGS) {
			status = -EINVAL;
			break;
		}
		for (i = 0; i < 6; i++)
			args[i] = atom.arg_ptr[i] ?
				*(const uint64_t *)(uintptr_t)atom.arg_ptr[i] : 0;
		nr_run++;
		ret = run_syscall(j, atom.nr, args);
		if (ret == -EINTR && j && atomic_load(&j->cancelled))
			ret = -ECANCELED;
		status = ret;
		if (atom.ret_ptr)
			*(int64_t *)(uintptr_t)atom.ret_ptr = ret;
		if (should_stop(atom.flags, ret)) {
			if (!(atom.flags & SYSLET_SKIP_TO_NEXT_ON_STOP))
				break;
			a = a + 1;
			continue;
		}
		a = (const struct syslet_atom *)(uintptr_t)atom.next;
	}
	if (j && atomic_load(&j->cancelled)) {
		status = -ECANCELED;
		c->flags |= SYSLET_COMP_CANCELED;
	}
	c->status = status;
	c->atom = last;
	c->nr_atoms = nr_run;
	if (!j)
		c->flags |= SYSLET_COMP_SYNC;
}

/* --- workers ----------------------------------------------------------- */

static void *worker(void *unused)
{
	sigset_t set;

	(void)unused;
	/* not the name of whichever thread happened to start the worker */
	pthread_setname_np(pthread_self(), "syslet-emu");
	/*
	 * Workers take the cancel signal (they start with all signals
	 * blocked), unless the program turned out to use it too.
	 */
	t_worker = true;
	if (!atomic_load(&pool.sig_foreign)) {
		sigemptyset(&set);
		sigaddset(&set, pool.signo);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	} else {
		t_sig_blocked = true;
	}

	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct emu_job *j;

		while (!pool.queue) {
			struct timespec ts;
			int rc;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += pool.idle_msecs / 1000;
			ts.tv_nsec += (long)(pool.idle_msecs % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pool.nr_idle++;
			rc = pthread_cond_timedwait(&pool.work, &pool.lock, &ts);
			pool.nr_idle--;
			if (rc == ETIMEDOUT && !pool.queue) {
				pool.nr_threads--;
				pthread_mutex_unlock(&pool.lock);
				return NULL;
			}
		}
		j = pool.queue;
		j->queued = false;
		pool.nr_queued--;
		pool.queue = j->next;
		if (!pool.queue)
			pool.queue_last = NULL;
		pthread_mutex_unlock(&pool.lock);

		if (j->fn) {
			long v = j->fn(j->arg);

			j->comp.status = v;
		} else {
			run_chain(j->head, j, &j->comp);
		}
		post_job(j);
		pthread_mutex_lock(&pool.lock);
	}
}

/* Takes @j off the pool queue; pool.lock held, j->queued. */
static void unqueue_locked(struct emu_job *j)
{
	struct emu_job **pp = &pool.queue, *prev = NULL;

	while (*pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = j->next;
	if (pool.queue_last == j)
		pool.queue_last = prev;
	pool.nr_queued--;
	j->queued = false;
}

/* Queues @j and makes sure a worker will take it; pool.lock held. */
static int queue_job_locked(struct emu_job *j)
{
	j->next = NULL;
	if (pool.queue_last)
		pool.queue_last->next = j;
	else
		pool.queue = j;
	pool.queue_last = j;
	pool.nr_queued++;
	j->queued = true;

	pthread_cond_signal(&pool.work);
	if (pool.nr_queued > pool.nr_idle &&
	    pool.nr_threads < pool.max_threads) {
		pthread_attr_t attr;
		sigset_t all, old;
		pthread_t t;
		int rc;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* workers must not take the application's signals */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&t, &attr, worker, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
		if (rc == 0)
			pool.nr_threads++;
		else if (pool.nr_threads == 0)
			return -rc;	/* nobody would ever run it */
	}
	return 0;
}

static struct emu_job *job_new(struct syslet_ctx *ctx, uint64_t user_data)
{
	struct emu_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->ctx = ctx;
	j->comp.user_data = user_data;
	j->refs = 1;
	pthread_mutex_init(&j->sig_lock, NULL);
	return j;
}

/* Accounts a chain and puts it on the context's in-flight list. */
static int start_job(struct syslet_ctx *ctx, struct emu_job *j)
{
	struct syslet_emu *e = ctx_emu(ctx);
	int ret;

	pthread_mutex_lock(&pool.lock);
	ret = install_signal();
	if (!ret && pool.nr_chains >= pool.max_chains)
		ret = -EAGAIN;
	if (ret) {
		pthread_mutex_unlock(&pool.lock);
		return ret;
	}
	pool.nr_chains++;

	pthread_mutex_lock(&e->lock);
	j->inext = NULL;
	j->iprev = e->inflight_last;
	if (e->inflight_last)
		e->inflight_last->inext = j;
	else
		e->inflight = j;
	e->inflight_last = j;
	e->nr_inflight++;
	pthread_mutex_unlock(&e->lock);

	ret = queue_job_locked(j);
	if (ret) {
		/* no worker exists to run it */
		unqueue_locked(j);
		pool.nr_chains--;
		pthread_mutex_lock(&e->lock);
		if (j->iprev)
			j->iprev->inext = NULL;
		else
			e->inflight = NULL;
		e->inflight_last = j->iprev;
		e->nr_inflight--;
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

int __syslet_emu_submit(struct syslet_ctx *ctx, const struct syslet_atom *head,
	       struct syslet_completion *done)
{
	uint32_t flags = head->flags;
	struct emu_job *j;
	int ret;

	if (flags & ~SYSLET_ATOM_FLAGS)
		return -EINVAL;
	if ((flags & SYSLET_ASYNC) && (flags & SYSLET_SYNC))
		return -EINVAL;
	__syslet_emu_flush(ctx);

	if (flags & SYSLET_SYNC) {
		struct syslet_completion c = { .user_data = head->user_data };
		struct syslet_emu *e = ctx_emu(ctx);
		struct emu_job *fl = NULL;

		/*
		 * Once an atom has run, nothing may fail (a caller that retries
		 * would run it twice): what the completion needs if the ring is
		 * full is allocated first.
		 */
		j = NULL;
		if (!done && !(flags & SYSLET_NO_COMPLETE)) {
			j = job_new(ctx, head->user_data);
			if (!j)
				return -ENOMEM;
		}
		run_chain(head, NULL, &c);
		if (done) {
			*done = c;
			return SYSLET_DONE;
		}
		if (!j)
			return SYSLET_DONE;
		j->comp = c;
		j->flags = flags;
		pthread_mutex_lock(&e->lock);
		flush_locked(ctx, &fl);
		if (!e->ovf && ring_write(ctx, &c))
			job_put_locked(e, j, &fl);
		else
			park_locked(ctx, j);	/* posted as the ring drains */
		pthread_mutex_unlock(&e->lock);
		wake_waiters(ctx);
		free_jobs(fl);
		return SYSLET_DONE;
	}

	j = job_new(ctx, head->user_data);
	if (!j)
		return -ENOMEM;
	j->head = head;
	j->flags = flags;
	ret = start_job(ctx, j);
	if (ret) {
		free_jobs(j);
		return ret;
	}
	return SYSLET_QUEUED;
}

int __syslet_emu_threadlet(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			   void *arg, uint64_t user_data)
{
	struct emu_job *j = job_new(ctx, user_data);
	int ret;

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	ret = start_job(ctx, j);
	if (ret)
		free_jobs(j);
	return ret;
}

/* --- waiting ----------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Completions ready on @ctx's ring, after moving parked ones in. */
static uint32_t emu_ready(struct syslet_ctx *ctx, uint32_t *headp)
{
	struct syslet_ring *r = ctx->ring;
	uint32_t head;

	__syslet_emu_flush(ctx);
	head = atomic_load_explicit(ring_head(r), memory_order_acquire);
	if (headp)
		*headp = head;
	return head - atomic_load_explicit(ring_tail(r), memory_order_acquire);
}

/* What is left of @deadline in *@rel; false once it passed. */
static bool time_left(int64_t deadline, struct timespec *rel)
{
	int64_t left = deadline - now_ns();

	if (left <= 0)
		return false;
	rel->tv_sec = left / 1000000000;
	rel->tv_nsec = left % 1000000000;
	return true;
}

/*
 * syslet_pwait(): the thread's own eventfd, on the context's pw_list, is
 * written by every wake_waiters() from the moment it is listed, so a
 * completion after the ring was read makes ppoll() return; ppoll() sets
 * and restores the mask atomically, as the kernel backend's async_wait()
 * does.
 */
static int emu_pwait(struct syslet_ctx *ctx, unsigned int min,
		     const struct timespec *timeout, int64_t deadline,
		     const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_pwaiter w = { .prev = NULL };
	int ret;

	w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w.efd < 0)
		return -errno;
	pthread_mutex_lock(&e->pw_lock);
	w.next = e->pw_list;
	if (w.next)
		w.next->prev = &w;
	e->pw_list = &w;
	pthread_mutex_unlock(&e->pw_lock);
	atomic_fetch_add(&e->pwaiters, 1);	/* seq_cst: see wake_waiters() */

	for (;;) {
		struct pollfd pfd = { .fd = w.efd, .events = POLLIN };
		struct timespec rel, *tp = NULL;
		uint32_t ready = emu_ready(ctx, NULL);
		uint64_t v;

		if (ready >= min) {
			ret = (int)ready;
			break;
		}
		if (timeout) {
			if (!time_left(deadline, &rel)) {
				ret = -ETIME;
				break;
			}
			tp = &rel;
		}
		if (ppoll(&pfd, 1, tp, sigmask) < 0 && errno != EAGAIN) {
			ret = -errno;	/* EINTR: a handler ran */
			break;
		}
		if (read(w.efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: a timeout, or another thread's wake */
		}
	}

	atomic_fetch_sub(&e->pwaiters, 1);
	pthread_mutex_lock(&e->pw_lock);
	if (w.prev)
		w.prev->next = w.next;
	else
		e->pw_list = w.next;
	if (w.next)
		w.next->prev = w.prev;
	pthread_mutex_unlock(&e->pw_lock);
	close(w.efd);
	return ret;
}

int __syslet_emu_wait(struct syslet_ctx *ctx, unsigned int min,
		      const struct timespec *timeout, const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	int64_t deadline = 0;
	int ret = 0;

	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= 1000000000)
			return -EINVAL;
		deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 +
			   timeout->tv_nsec;
	}
	if (min > ctx->ring_entries)
		min = ctx->ring_entries;
	if (sigmask)
		return emu_pwait(ctx, min, timeout, deadline, sigmask);

	atomic_fetch_add(&e->waiters, 1);	/* seq_cst: see wake_waiters() */
	for (;;) {
		struct timespec rel, *tp = NULL;
		uint32_t head, ready = emu_ready(ctx, &head);

		if (ready >= min) {
			ret = (int)ready;
			break;
		}
		if (timeout) {
			if (!time_left(deadline, &rel)) {
				ret = -ETIME;
				break;
			}
			tp = &rel;
		}
		/* sleeps only if head is still what we saw */
		if (futex(ring_head(ctx->ring), FUTEX_WAIT_PRIVATE, head, tp) &&
		    errno == EINTR) {
			ret = -EINTR;
			break;
		}
	}
	atomic_fetch_sub(&e->waiters, 1);
	return ret;
}

/* --- cancellation -------------------------------------------------------- */

/*
 * Interrupts the system calls of @n jobs until they have left them (see
 * the top): each round signals every job still in its call, then waits;
 * one deadline (about 0.8 s) for all of them, not one per job.
 */
static void kick_jobs(struct emu_job *const *v, unsigned int n,
		      bool once)
{
	unsigned int attempt, i;

	for (attempt = 0; attempt < 14; attempt++) {
		struct timespec ts;
		bool any = false;

		for (i = 0; i < n; i++) {
			struct emu_job *j = v[i];

			pthread_mutex_lock(&j->sig_lock);
			if (j->in_syscall) {
				any = true;
				pthread_sigqueue(j->thread, pool.signo,
						 (union sigval){ .sival_ptr = &pool });
			}
			pthread_mutex_unlock(&j->sig_lock);
		}
		if (!any || once)
			return;
		/* 50us, 100us, ... about 0.8 s in all */
		ts.tv_sec = 0;
		ts.tv_nsec = 50000L << attempt;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_nsec = 999999999;
		nanosleep(&ts, NULL);
	}
}

/*
 * As the kernel's async_cancel(): chains still queued are taken off the
 * queue and complete at once with -ECANCELED; running ones are marked
 * and their blocked call interrupted.  Threadlets are not cancellable.
 */
int __syslet_emu_cancel(struct syslet_ctx *ctx, uint64_t user_data,
	       unsigned int flags)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *j, *hit[64], *fl = NULL, *dq = NULL, **dq_last = &dq;
	unsigned int nhit, i;
	bool more, rekick;
	int nr = 0;

	if (flags & ~(SYSLET_CANCEL_F_ALL | SYSLET_CANCEL_NOWAIT))
		return -EINVAL;
	/* the first round only: later ones see this call's own marks */
	rekick = flags & SYSLET_CANCEL_NOWAIT;
	do {
		nhit = 0;
		more = false;
		pthread_mutex_lock(&pool.lock);
		pthread_mutex_lock(&e->lock);
		for (j = e->inflight; j; j = j->inext) {
			if (j->comp.user_data != user_data || j->fn)
				continue;
			if (atomic_load(&j->cancelled)) {
				/* NOWAIT: signal a running one again */
				if (!rekick || j->queued || nhit == 64)
					continue;
				nr++;
				j->refs++;
				hit[nhit++] = j;
				if (!(flags & SYSLET_CANCEL_ALL))
					break;
				continue;
			}
			if (nhit == 64) {
				more = true;
				break;
			}
			atomic_store(&j->cancelled, true);
			nr++;
			if (j->queued) {
				unqueue_locked(j);
				j->next = NULL;
				*dq_last = j;
				dq_last = &j->next;
			} else {
				j->refs++;
				hit[nhit++] = j;
			}
			if (!(flags & SYSLET_CANCEL_ALL))
				break;
		}
		pthread_mutex_unlock(&e->lock);
		pthread_mutex_unlock(&pool.lock);

		kick_jobs(hit, nhit, flags & SYSLET_CANCEL_NOWAIT);
		rekick = false;
		pthread_mutex_lock(&e->lock);
		for (i = 0; i < nhit; i++)
			job_put_locked(e, hit[i], &fl);
		pthread_mutex_unlock(&e->lock);
		free_jobs(fl);
		fl = NULL;
	} while (more);

	/* complete the ones that never started, in order */
	while ((j = dq)) {
		dq = j->next;
		j->comp.status = -ECANCELED;
		j->comp.flags |= SYSLET_COMP_CANCELED;
		post_job(j);
	}
	if (flags & SYSLET_CANCEL_ALL)
		return nr;
	return nr ? 0 : -ENOENT;
}

int __syslet_emu_limits(const struct syslet_limits *set,
			struct syslet_limits *get)
{
	if (set) {
		if (set->size != sizeof(*set) ||
		    set->max_threads > EMU_MAX_MAX_THREADS ||
		    set->idle_msecs > EMU_MAX_IDLE_MSECS ||
		    set->max_chains > EMU_MAX_MAX_CHAINS)
			return -EINVAL;
		pthread_mutex_lock(&pool.lock);
		if (set->max_threads)
			pool.max_threads = set->max_threads;
		if (set->idle_msecs)
			pool.idle_msecs = set->idle_msecs;
		if (set->max_chains)
			pool.max_chains = set->max_chains;
		pthread_mutex_unlock(&pool.lock);
	}
	if (get) {
		memset(get, 0, sizeof(*get));
		get->size = sizeof(*get);
		pthread_mutex_lock(&pool.lock);
		get->max_threads = pool.max_threads;
		get->idle_msecs = pool.idle_msecs;
		get->max_chains = pool.max_chains;
		get->nr_threads = pool.nr_threads;
		get->nr_idle = pool.nr_idle;
		get->nr_chains = pool.nr_chains;
		get->chains_done = pool.chains_done;
		pthread_mutex_unlock(&pool.lock);
	}
	return 0;
}

/* --- contexts ------------------------------------------------------------ */

int __syslet_emu_ctx_init(struct syslet_ctx *ctx)
{
	struct syslet_emu *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&pool.lock);
	if (!pool.atfork_installed) {
		if (pthread_atfork(atfork_prepare, atfork_parent,
				   atfork_child)) {
			pthread_mutex_unlock(&pool.lock);
			free(e);
			return -ENOMEM;
		}
		pool.atfork_installed = true;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->pw_lock, NULL);
	pthread_cond_init(&e->idle, NULL);
	e->ctx = ctx;
	e->cnext = pool.ctxs;
	if (pool.ctxs)
		pool.ctxs->cprev = e;
	pool.ctxs = e;
	ctx->__priv[0] = e;
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

void __syslet_emu_ctx_exit(struct syslet_ctx *ctx)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *j, *fl = NULL;

	if (!e)
		return;
	/* cancel everything (threadlets run to their end) and wait */
	for (;;) {
		struct emu_job *hit[64];
		unsigned int nhit = 0, i;

		pthread_mutex_lock(&e->lock);
		for (j = e->inflight; j && nhit < 64; j = j->inext) {
			if (!j->fn && !atomic_load(&j->cancelled)) {
				atomic_store(&j->cancelled, true);
				j->refs++;
				hit[nhit++] = j;
			}
		}
		pthread_mutex_unlock(&e->lock);
		if (!nhit)
			break;
		kick_jobs(hit, nhit, false);
		pthread_mutex_lock(&e->lock);
		for (i = 0; i < nhit; i++)
			job_put_locked(e, hit[i], &fl);
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&e->lock);
	while (e->nr_inflight)
		pthread_cond_wait(&e->idle, &e->lock);
	while ((j = e->ovf)) {
		e->ovf = j->next;
		job_put_locked(e, j, &fl);
	}
	pthread_mutex_unlock(&e->lock);
	free_jobs(fl);
	pthread_mutex_lock(&pool.lock);
	if (e->cprev)
		e->cprev->cnext = e->cnext;
	else
		pool.ctxs = e->cnext;
	if (e->cnext)
		e->cnext->cprev = e->cprev;
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&e->idle);
	pthread_mutex_destroy(&e->pw_lock);
	pthread_mutex_destroy(&e->lock);
	free(e);
	ctx->__priv[0] = NULL;
}

/* --- the backend's table ------------------------------------------------- */

static int emu_ctx_exit(struct syslet_ctx *ctx)
{
	__syslet_emu_ctx_exit(ctx);
	return 1;
}

const struct syslet_backend_ops __syslet_emu_ops = {
	.name		= "emulated",
	.ctx_init	= __syslet_emu_ctx_init,
	.ctx_exit	= emu_ctx_exit,
	.submit		= __syslet_emu_submit,
	.wait		= __syslet_emu_wait,
	.cancel		= __syslet_emu_cancel,
	.limits		= __syslet_emu_limits,
	.flush		= __syslet_emu_flush,
	.threadlet	= __syslet_emu_threadlet,
};
