// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: the producer side of the ring (entries, overflow, wake-ups) and
 * the waits.
 */
#include "emu.h"

long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* --- ring production ----------------------------------------------- */

bool ring_write(struct syslet_ctx *ctx,
		       const struct syslet_completion *c)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct syslet_ring *r = ctx->ring;
	uint32_t tail = atomic_load_explicit(ring_tail(r),
					     memory_order_acquire);

	if (e->head - tail >= ctx->ring_entries)
		return false;
	SYSLET_RING_ENTRIES(r)[e->head & ctx->ring_mask] = *c;
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

void job_put_locked(struct syslet_emu *e, struct emu_job *j,
			   struct emu_job **freelist)
{
	(void)e;
	if (--j->refs == 0) {
		j->next = *freelist;
		*freelist = j;
	}
}

void free_jobs(struct emu_job *j)
{
	while (j) {
		struct emu_job *n = j->next;

		pthread_mutex_destroy(&j->sig_lock);
		free(j);
		j = n;
	}
}

/* Moves overflowed completions in as far as there is room; emu->lock. */
bool flush_locked(struct syslet_ctx *ctx, struct emu_job **freelist)
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

void wake_waiters(struct syslet_ctx *ctx)
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
		for (w = e->pw_list; w; w = w->next) {
			if (w->efd < 0) {
				if (!atomic_exchange(&w->kicked, 1))
					pthread_sigqueue(w->thread, pool.signo,
						(union sigval){ .sival_ptr =
						(void *)&emu_wake_mark });
			} else if (write(w->efd, &one, sizeof(one)) < 0) {
				/* EAGAIN: the counter is full, it is readable */
			}
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
void park_locked(struct syslet_ctx *ctx, struct emu_job *j)
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
void post_job(struct emu_job *j)
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

/*
 * syslet_post(): into the ring if it has room and nothing is parked
 * before it (posting order), else -EAGAIN: the emulated backend parks
 * only jobs.
 */
int __syslet_emu_post(struct syslet_ctx *ctx, const struct syslet_completion *c)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *fl = NULL;
	int ret = -EAGAIN;

	if (c->flags & ~(SYSLET_COMP_CANCELED | SYSLET_COMP_SYNC))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	flush_locked(ctx, &fl);
	if (!e->ovf && ring_write(ctx, c))
		ret = 0;
	wake_waiters(ctx);
	pthread_mutex_unlock(&e->lock);
	free_jobs(fl);
	return ret;
}

/* --- waiting ----------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The CLOCK_MONOTONIC deadline @ts from now in *@deadline; -EINVAL for an
 * invalid @ts.  Saturates: a timeout beyond 2^63 ns is no timeout at all.
 */
static int deadline_of(const struct timespec *ts, int64_t *deadline)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	*deadline = now_ns();
	if (ts->tv_sec >= (INT64_MAX - *deadline) / 1000000000 - 1)
		*deadline = INT64_MAX;
	else
		*deadline += (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	return 0;
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

/*
 * One round of a wait: true with *@ret the count once @min completions
 * are ready, or -ETIME once @deadline passed (@timed); else false, with
 * *@tp the time left (NULL: no timeout) and *@headp the head seen.
 */
static bool wait_done(struct syslet_ctx *ctx, unsigned int min, bool timed,
		      int64_t deadline, struct timespec *rel,
		      struct timespec **tp, uint32_t *headp, int *ret)
{
	uint32_t ready = emu_ready(ctx, headp);
	int64_t left;

	*tp = NULL;
	if (ready >= min) {
		*ret = (int)ready;
		return true;
	}
	if (!timed)
		return false;
	left = deadline - now_ns();
	if (left <= 0) {
		*ret = -ETIME;
		return true;
	}
	rel->tv_sec = left / 1000000000;
	rel->tv_nsec = left % 1000000000;
	*tp = rel;
	return false;
}

/*
 * A waiter's eventfd, listed on the context's pw_list: every
 * wake_waiters() from the moment it is listed writes it, so a completion
 * after the ring was read makes a ppoll() on it return.
 */
static int pw_enter(struct syslet_emu *e, struct emu_pwaiter *w, bool efd)
{
	w->prev = NULL;
	w->thread = pthread_self();
	atomic_init(&w->kicked, 0);
	w->efd = efd ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	if (efd && w->efd < 0)
		return -errno;
	pthread_mutex_lock(&e->pw_lock);
	w->next = e->pw_list;
	if (w->next)
		w->next->prev = w;
	e->pw_list = w;
	pthread_mutex_unlock(&e->pw_lock);
	atomic_fetch_add(&e->pwaiters, 1);	/* seq_cst: see wake_waiters() */
	return 0;
}

/*
 * The raw close(): glibc's is a cancellation point, and a thread cancelled
 * in it would leave the descriptor open.
 */
static void pw_leave(struct syslet_emu *e, struct emu_pwaiter *w)
{
	atomic_fetch_sub(&e->pwaiters, 1);
	pthread_mutex_lock(&e->pw_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		e->pw_list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&e->pw_lock);
	if (w->efd >= 0)
		syscall(SYS_close, w->efd);
}

/*
 * syslet_pwait(): the thread's own eventfd (pw_enter()); ppoll() sets and
 * restores the mask atomically, as the kernel backend's async_wait()
 * does.  The raw system calls, not glibc's ppoll() and read(): those are
 * cancellation points, and a thread cancelled in one would leave its node
 * (on its stack) listed and its eventfd open; async_wait() and the futex
 * wait are not cancellation points either.
 */
static int emu_pwait(struct syslet_ctx *ctx, unsigned int min,
		     const struct timespec *timeout, int64_t deadline,
		     const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_pwaiter w;
	int ret;

	ret = pw_enter(e, &w, true);
	if (ret)
		return ret;
	for (;;) {
		struct pollfd pfd = { .fd = w.efd, .events = POLLIN };
		struct timespec rel, *tp;
		uint32_t head;
		uint64_t v;

		if (wait_done(ctx, min, timeout, deadline, &rel, &tp, &head,
			      &ret))
			break;
		if (syscall(SYS_ppoll, &pfd, 1L, tp, sigmask,
			    (long)KERNEL_SIGSET_BYTES) < 0 && errno != EAGAIN) {
			ret = -errno;	/* EINTR: a handler ran */
			break;
		}
		if (syscall(SYS_read, w.efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: a timeout, or another thread's wake */
		}
	}
	pw_leave(e, &w);
	return ret;
}

int __syslet_emu_wait(struct syslet_ctx *ctx, unsigned int min,
		      const struct timespec *timeout, const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	int64_t deadline = 0;
	int ret = 0;

	if (timeout && deadline_of(timeout, &deadline))
		return -EINVAL;
	if (min > ctx->ring_entries)
		min = ctx->ring_entries;
	if (sigmask)
		return emu_pwait(ctx, min, timeout, deadline, sigmask);

	atomic_fetch_add(&e->waiters, 1);	/* seq_cst: see wake_waiters() */
	for (;;) {
		struct timespec rel, *tp;
		uint32_t head;

		if (wait_done(ctx, min, timeout, deadline, &rel, &tp, &head,
			      &ret))
			break;
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

/*
 * syslet_wait_posted(): an untimed futex wait on the head itself, which
 * the kernel restarts after an SA_RESTART handler.  Parked completions
 * are moved in first (emu_ready()): the head moves for them too.
 */
int __syslet_emu_wait_posted(struct syslet_ctx *ctx, uint32_t head)
{
	struct syslet_emu *e = ctx_emu(ctx);
	uint32_t now;
	int ret;

	atomic_fetch_add(&e->waiters, 1);	/* seq_cst: see wake_waiters() */
	for (;;) {
		ret = (int)emu_ready(ctx, &now);
		if (now != head)
			break;
		if (futex(ring_head(ctx->ring), FUTEX_WAIT_PRIVATE, head,
			  NULL) && errno == EINTR) {
			ret = -EINTR;
			break;
		}
	}
	atomic_fetch_sub(&e->waiters, 1);
	return ret;
}

const char emu_wake_mark;

/*
 * glibc's own signals (SIGCANCEL, SIGSETXID: from 32 below SIGRTMIN) are
 * never blocked; their handlers, installed with SA_RESTART, may end the
 * sleep, which goes on.
 */
static bool libc_signal(int sig)
{
	return sig >= 32 && sig < SIGRTMIN;
}

struct pw_masked {
	struct syslet_emu *e;
	struct emu_pwaiter w;
	sigset_t cur;		/* the thread's mask before the call */
	sigset_t watch;		/* what the caller's mask lets through */
	bool foreign;		/* the program uses pool.signo too */
};

/*
 * A signal the wait took (sigtimedwait()): a wake (emu_wake_mark) ends
 * nothing.  Any other is the program's: it is queued again to this thread
 * with its siginfo (the kernel takes any siginfo a process sends itself),
 * unblocked, so that its handler runs as the call that unblocked it
 * returns, and blocked again.  Returns 1 if it ran a handler that ends
 * the wait (@timed: any; else one installed without SA_RESTART), 0 if
 * not.  pool.signo not sent by the library is the program's too: the
 * wait stops waiting for it (m->foreign), or it would take it again.
 */
static int pw_took(struct pw_masked *m, int sig, siginfo_t *si, bool timed)
{
	struct sigaction sa;
	sigset_t one;
	bool handler;

	if (sig == pool.signo && si->si_code == SI_QUEUE &&
	    si->si_pid == getpid() &&
	    si->si_value.sival_ptr == (void *)&emu_wake_mark)
		return 0;
	if (sig == pool.signo && !sigismember(&m->watch, sig))
		m->foreign = true;
	if (sigaction(sig, NULL, &sa))
		return 0;
	handler = sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
	if (sa.sa_handler == SIG_IGN)
		return 0;		/* as if delivered */
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid),
		    sig, si))
		pthread_kill(pthread_self(), sig);
	sigemptyset(&one);
	sigaddset(&one, sig);
	/* the caller's mask blocks it: pending again for after the call */
	if (!sigismember(&m->watch, sig))
		return 0;
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	return handler && (timed || !(sa.sa_flags & SA_RESTART));
}

/* Takes the wakes still pending for this thread (after pw_leave()). */
static void pw_drain(struct pw_masked *m)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, pool.signo);
	/* the program's own (m->foreign) is queued again: not taken twice */
	while (!m->foreign &&
	       syscall(SYS_rt_sigtimedwait, &set, &si, &zero,
		       (long)KERNEL_SIGSET_BYTES) == pool.signo)
		pw_took(m, pool.signo, &si, false);
}

static void pw_masked_end(void *arg)
{
	struct pw_masked *m = arg;

	pw_leave(m->e, &m->w);
	pw_drain(m);
	pthread_sigmask(SIG_SETMASK, &m->cur, NULL);
}

/*
 * syslet_pwait_posted() with a mask: until a completion was posted since
 * @head, with @sigmask installed for the sleep only, as the kernel's
 * async_wait() with SYSLET_WAIT_HEAD and SYSLET_WAIT_RESTART_SIGMASK.  No
 * primitive of user space installs a mask and sleeps on a futex, and
 * ppoll() ends with EINTR after any handler, where an untimed wait must go
 * on after one installed with SA_RESTART; nor may the wait hold a
 * descriptor, even for its time: a program that closes a descriptor and
 * then names it in a request (a conformance test's EBADF) would have its
 * request run on the wait's.  So the thread blocks every signal (but the C
 * library's own) for the whole call, and sleeps in sigtimedwait() for
 * those @sigmask lets through and for pool.signo, which wake_waiters()
 * sends it, with emu_wake_mark, at most once per look at the ring
 * (kicked).  A signal of the program's that it takes goes back to the
 * thread with its siginfo and runs its handler there (pw_took()): the wait
 * then ends with -EINTR when timed, and when untimed if the handler was
 * installed without SA_RESTART; it goes on after one with SA_RESTART, or a
 * signal that runs no handler.  Differences from the kernel's: a
 * disposition is read as its signal is taken (one changed meanwhile may
 * end or not end the wait as the old one would have); a real-time signal
 * taken and queued again goes behind others of its number queued
 * meanwhile; a standard signal sent again meanwhile runs its handler
 * once.
 *
 * As cancellable as the caller made it: with asynchronous cancellation
 * on, a cancellation acts in the sleep only (the rest runs deferred: it
 * takes locks), and unlists the waiter, takes its pending wakes and puts
 * the thread's mask back as it goes (pw_masked_end()).
 */
static int emu_pwait_posted_masked(struct syslet_ctx *ctx, uint32_t head,
				   const struct timespec *ts, int64_t deadline,
				   const sigset_t *sigmask)
{
	struct pw_masked m = { .e = ctx_emu(ctx) };
	sigset_t all;
	int ret, sig, ctype;

	/* first: what follows takes locks */
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &ctype);
	pthread_mutex_lock(&pool.lock);
	ret = install_signal();
	pthread_mutex_unlock(&pool.lock);
	if (ret)
		goto out;
	sigemptyset(&m.watch);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(sigmask, sig) != 1 && !libc_signal(sig) &&
		    sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&m.watch, sig);
	sigfillset(&all);	/* pthread_sigmask() leaves glibc's alone */
	pthread_sigmask(SIG_BLOCK, &all, &m.cur);
	pw_enter(m.e, &m.w, false);
	pthread_cleanup_push(pw_masked_end, &m);
	for (;;) {
		struct timespec rel, *tp = NULL;
		sigset_t set = m.watch;
		siginfo_t si;
		uint32_t now;
		long r;
		int err, t;

		/* then the head: wake_waiters() moves it, then kicks */
		atomic_store(&m.w.kicked, 0);
		atomic_thread_fence(memory_order_seq_cst);
		ret = (int)emu_ready(ctx, &now);
		if (now != head)
			break;
		if (ts) {
			int64_t left = deadline - now_ns();

			if (left <= 0) {
				ret = -ETIME;
				break;
			}
			rel.tv_sec = left / 1000000000;
			rel.tv_nsec = left % 1000000000;
			tp = &rel;
		}
		if (m.foreign) {
			/* no wakes by signal: look again every millisecond */
			rel.tv_sec = 0;
			if (!tp || rel.tv_nsec > 1000000 || rel.tv_sec)
				rel.tv_nsec = 1000000;
			tp = &rel;
		} else {
			sigaddset(&set, pool.signo);
		}
		if (ctype == PTHREAD_CANCEL_ASYNCHRONOUS)
			pthread_setcanceltype(ctype, &t);
		r = syscall(SYS_rt_sigtimedwait, &set, &si, tp,
			    (long)KERNEL_SIGSET_BYTES);
		err = errno;
		if (ctype == PTHREAD_CANCEL_ASYNCHRONOUS)
			pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &t);
		if (r > 0 && pw_took(&m, (int)r, &si, ts != NULL)) {
			ret = -EINTR;
			break;
		}
		/* EAGAIN: a timeout; EINTR: one of glibc's own */
		if (r < 0 && err != EAGAIN && err != EINTR) {
			ret = -err;
			break;
		}
	}
	pthread_cleanup_pop(1);
out:
	pthread_setcanceltype(ctype, NULL);
	return ret;
}

/*
 * syslet_pwait_posted(): without a mask, syslet_wait_posted() with a
 * timeout (-EINTR after any handler when timed, as the kernel's); with a
 * mask, emu_pwait_posted_masked().
 */
int __syslet_emu_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
			      const struct timespec *ts,
			      const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	int64_t deadline = 0;
	uint32_t now;
	int ret;

	if (ts && deadline_of(ts, &deadline))
		return -EINVAL;
	if (sigmask)
		return emu_pwait_posted_masked(ctx, head, ts, deadline,
					       sigmask);
	if (!ts)
		return __syslet_emu_wait_posted(ctx, head);
	atomic_fetch_add(&e->waiters, 1);	/* seq_cst: see wake_waiters() */
	for (;;) {
		struct timespec rel;
		int64_t left;

		ret = (int)emu_ready(ctx, &now);
		if (now != head)
			break;
		left = deadline - now_ns();
		if (left <= 0) {
			ret = -ETIME;
			break;
		}
		rel.tv_sec = left / 1000000000;
		rel.tv_nsec = left % 1000000000;
		if (futex(ring_head(ctx->ring), FUTEX_WAIT_PRIVATE, head,
			  &rel) && errno == EINTR) {
			ret = -EINTR;
			break;
		}
	}
	atomic_fetch_sub(&e->waiters, 1);
	return ret;
}
