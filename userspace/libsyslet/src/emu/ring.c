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
 * syslet_pwait(): the thread's own eventfd, on the context's pw_list, is
 * written by every wake_waiters() from the moment it is listed, so a
 * completion after the ring was read makes ppoll() return; ppoll() sets
 * and restores the mask atomically, as the kernel backend's async_wait()
 * does.  The raw system calls, not glibc's ppoll(), read() and close():
 * those are cancellation points, and a thread cancelled in one would leave its
 * node listed and its eventfd open; async_wait() and the futex wait are not
 * cancellation points either.  The node is on the heap: a handler that
 * siglongjmp()s out of the wait leaves it listed and its eventfd open (a
 * leak, which every wake-up writes), where a node on the abandoned stack
 * had wake_waiters() write to whatever descriptor that memory came to hold
 * (an outside review: 8 bytes written into the program's stdin file).  A
 * handler that forks meanwhile: the child's list is new (pw_gen), and the
 * wait it resumes unlists nothing there.
 */
static int emu_pwait(struct syslet_ctx *ctx, unsigned int min,
		     const struct timespec *timeout, int64_t deadline,
		     const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_pwaiter *w = malloc(sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->prev = NULL;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		ret = -errno;
		free(w);
		return ret;
	}
	pthread_mutex_lock(&e->pw_lock);
	w->gen = e->pw_gen;
	w->next = e->pw_list;
	if (w->next)
		w->next->prev = w;
	e->pw_list = w;
	pthread_mutex_unlock(&e->pw_lock);
	atomic_fetch_add(&e->pwaiters, 1);	/* seq_cst: see wake_waiters() */

	for (;;) {
		struct pollfd pfd = { .fd = w->efd, .events = POLLIN };
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
		if (syscall(SYS_read, w->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: a timeout, or another thread's wake */
		}
	}

	pthread_mutex_lock(&e->pw_lock);
	/* not if a handler forked meanwhile: the child's list is new */
	if (w->gen == e->pw_gen) {
		atomic_fetch_sub(&e->pwaiters, 1);
		if (w->prev)
			w->prev->next = w->next;
		else
			e->pw_list = w->next;
		if (w->next)
			w->next->prev = w->prev;
	}
	pthread_mutex_unlock(&e->pw_lock);
	syscall(SYS_close, w->efd);	/* glibc's close() is one too */
	free(w);
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
		deadline = now_ns();
		/* saturates: a timeout beyond 2^63 ns is no timeout at all */
		if (timeout->tv_sec >= (INT64_MAX - deadline) / 1000000000 - 1)
			deadline = INT64_MAX;
		else
			deadline += (int64_t)timeout->tv_sec * 1000000000 +
				    timeout->tv_nsec;
	}
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

/*
 * syslet_pwait_posted(): without a mask, syslet_wait_posted() with a
 * timeout (-EINTR after any handler when timed, as the kernel's).  With a
 * mask, -EOPNOTSUPP: installing a mask and sleeping until the head moves
 * is one step only in the kernel (emu_pwait()'s ppoll() would end with
 * -EINTR after an SA_RESTART handler too, which an untimed wait must not).
 */
int __syslet_emu_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
			      const struct timespec *ts,
			      const sigset_t *sigmask)
{
	struct syslet_emu *e = ctx_emu(ctx);
	int64_t deadline = 0;
	uint32_t now;
	int ret;

	if (sigmask)
		return -EOPNOTSUPP;
	if (!ts)
		return __syslet_emu_wait_posted(ctx, head);
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	deadline = now_ns();
	if (ts->tv_sec >= (INT64_MAX - deadline) / 1000000000 - 1)
		deadline = INT64_MAX;
	else
		deadline += (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
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
