// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet: the kernel backend.  Contexts (what the kernel may still
 * write into a ring, orphaned rings, fork()), submission and the
 * completions the library posts itself (SYSLET_EXEC_POST), threadlets
 * on library threads (those in the caller are threadlet.c's), and the
 * backend's table (__syslet_kernel_ops).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* --- kernel backend: what the kernel may still write ------------------ */

/*
 * A kernel-mode context's state (ctx->__priv[0]).  Every completion
 * bound for the ring is counted in @expected when its submission returns
 * (a chain queued or run in the caller that posts to the ring, a
 * threadlet), and the kernel counts the ones it has written in the
 * ring's free-running @head; those still parked on the kernel's overflow
 * list are in @overflow.  So the kernel may still write the ring while
 * expected - head - overflow is not 0 (chains running) or overflow is
 * not 0 (parked completions flushed by the next call on the ring).
 * syslet_ctx_exit() never frees a ring the kernel may still write: it
 * drains what has arrived and, if chains are still running, keeps a
 * library-allocated ring on the orphan list, freed once they have all
 * posted (checked at every kernel-mode syslet_ctx_init() and _exit()).
 */
struct kpost {
	struct syslet_completion c;
	struct kpost *next;
};

struct kstate {
	_Atomic uint32_t expected;
	_Atomic unsigned int threadlets;	/* running on library threads */
	struct kstate *next, *prev;	/* kctxs, under kctxs_lock */
	struct syslet_ring *ring;
	int own_mem;
	/*
	 * Completions of what ran whose SYSLET_EXEC_POST the kernel refused
	 * for now (EAGAIN at max_chains, ENOMEM), oldest first: posted again
	 * at the next call on the context that may free room (flush, wait,
	 * submit).  Counted in @expected.
	 */
	pthread_mutex_t plock;
	struct kpost *pend, **pend_tail;
	_Atomic unsigned int npend;
};

static pthread_mutex_t kctxs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kstate *kctxs;		/* live kernel-mode contexts */
static struct kstate *orphans;		/* rings of exited contexts */
/* threadlets on library threads in the process (kthreadlet_start()) */
static _Atomic unsigned int kthreadlets_process;

/*
 * fork(): the child has none of the parent's chains and threads (the
 * kernel engine runs and posts none of the parent's chains in the child).
 * So in the child every kernel-mode context starts empty: nothing is
 * expected beyond what its ring holds, nothing is parked in the kernel,
 * no threadlet runs; orphaned rings are freed.  kctxs_lock is held
 * across fork() so the lists are whole in the child.  The handlers are
 * registered when the library is loaded: registered on first use, a
 * fork() at that moment could give the child a half-run pthread_once()
 * that registers them a second time (and then locks kctxs_lock twice).
 */
static void kfork_prepare(void)
{
	pthread_mutex_lock(&kctxs_lock);
}

static void kfork_parent(void)
{
	pthread_mutex_unlock(&kctxs_lock);
}

static void kfork_child(void)
{
	struct kstate *k;

	for (k = kctxs; k; k = k->next) {
		struct syslet_ring *r = k->ring;

		struct kpost *p;

		atomic_store(&k->expected, atomic_load(ring_head(r)));
		atomic_store(&k->threadlets, 0);
		pthread_mutex_init(&k->plock, NULL);
		while ((p = k->pend)) {
			k->pend = p->next;
			free(p);
		}
		k->pend_tail = &k->pend;
		atomic_store(&k->npend, 0);
		atomic_store((_Atomic uint32_t *)&r->overflow, 0);
		atomic_store((_Atomic uint32_t *)&r->kflags, 0);
	}
	atomic_store(&kthreadlets_process, 0);
	while ((k = orphans)) {
		orphans = k->next;
		free(k->ring);
		free(k);	/* its plock may be held by a parent thread */
	}
	pthread_mutex_unlock(&kctxs_lock);
}

__attribute__((constructor)) static void kfork_init(void)
{
	pthread_atfork(kfork_prepare, kfork_parent, kfork_child);
}

static struct kstate *kstate(const struct syslet_ctx *ctx)
{
	return ctx->__priv[0];
}

static void kstate_count(struct syslet_ctx *ctx, unsigned int n)
{
	atomic_fetch_add_explicit(&kstate(ctx)->expected, n,
				  memory_order_relaxed);
}

/*
 * Consumes whatever has arrived in @k's ring (the context is going away)
 * and has the kernel flush its overflow list into it.  Returns 1 once the
 * kernel will never write the ring again.
 */
static int kstate_drained(struct kstate *k)
{
	struct syslet_ring *r = k->ring;
	struct timespec zero = { 0, 0 };
	uint32_t head, ovf;

	for (;;) {
		head = atomic_load_explicit(ring_head(r), memory_order_acquire);
		atomic_store_explicit(ring_tail(r), head, memory_order_release);
		ovf = atomic_load_explicit((_Atomic uint32_t *)&r->overflow,
					   memory_order_relaxed);
		if (!ovf)
			break;
		__syslet_sys_async_wait(r, 0, &zero, NULL);
		if (atomic_load_explicit(ring_head(r),
					 memory_order_acquire) == head)
			break;		/* nothing moved */
	}
	return !ovf && atomic_load_explicit(&k->expected,
					    memory_order_relaxed) == head;
}

static void kstate_free(struct kstate *k)
{
	pthread_mutex_destroy(&k->plock);
	free(k);
}

/* Frees the orphaned rings the kernel is done with; kctxs_lock held. */
static void orphans_reap_locked(void)
{
	struct kstate **pp = &orphans, *k;

	while ((k = *pp)) {
		if (kstate_drained(k)) {
			*pp = k->next;
			free(k->ring);
			kstate_free(k);
		} else {
			pp = &k->next;
		}
	}
}

static int kstate_init(struct syslet_ctx *ctx)
{
	struct kstate *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->ring = ctx->ring;
	k->own_mem = !!(ctx->flags & SYSLET_CTX_OWN_MEM);
	pthread_mutex_init(&k->plock, NULL);
	k->pend_tail = &k->pend;
	pthread_mutex_lock(&kctxs_lock);
	orphans_reap_locked();
	k->next = kctxs;
	if (kctxs)
		kctxs->prev = k;
	kctxs = k;
	pthread_mutex_unlock(&kctxs_lock);
	ctx->__priv[0] = k;
	return 0;
}

/*
 * syslet_ctx_exit() on the kernel backend.  Returns 1 if the caller may
 * free (or reuse) the ring, 0 if it went to the orphan list.
 */
/* The context goes: its parked posts will never be reaped, drop them. */
static void kstate_drop_pending(struct kstate *k)
{
	struct kpost *p;

	pthread_mutex_lock(&k->plock);
	while ((p = k->pend)) {
		k->pend = p->next;
		atomic_fetch_sub(&k->expected, 1);
		free(p);
	}
	k->pend_tail = &k->pend;
	atomic_store(&k->npend, 0);
	pthread_mutex_unlock(&k->plock);
}

static int kstate_exit(struct syslet_ctx *ctx)
{
	struct timespec ms = { 0, 10000000 };
	struct kstate *k = kstate(ctx);
	int done;

	kstate_drop_pending(k);
	pthread_mutex_lock(&kctxs_lock);
	if (k->prev)
		k->prev->next = k->next;
	else
		kctxs = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
	orphans_reap_locked();
	done = kstate_drained(k);
	if (!done && k->own_mem) {
		/* chains still run: the ring stays until they have posted */
		k->next = orphans;
		orphans = k;
	}
	pthread_mutex_unlock(&kctxs_lock);
	ctx->__priv[0] = NULL;
	if (done) {
		kstate_free(k);
		return 1;
	}
	if (k->own_mem)
		return 0;
	/* the caller's memory: it may reuse it once this returns, so wait */
	while (!kstate_drained(k))
		__syslet_sys_async_wait(k->ring, 1, &ms, NULL);
	kstate_free(k);
	return 1;
}

/* --- submission ---------------------------------------------------- */


/* SYSLET_EXEC_POST of @c, again while a signal interrupts it */
static long post_once(struct syslet_ctx *ctx, const struct syslet_completion *c)
{
	long r;

	do
		r = __syslet_sys_async_exec(NULL, ctx->ring,
					    (struct syslet_completion *)c,
					    SYSLET_EXEC_POST);
	while (r == -EINTR);
	return r;
}

static int post_transient(long r)
{
	return r == -EAGAIN || r == -ENOMEM;
}

/*
 * Posts @c to @ctx's kernel-mode ring with SYSLET_EXEC_POST: the kernel
 * parks it on the ring's overflow list if the ring is full.  It is the
 * completion of something that has run, so it is never dropped: a
 * transient refusal (EAGAIN at max_chains, ENOMEM) is retried after a
 * millisecond.  One refused for good (a ring no longer usable) will never
 * arrive: it is no longer expected, so that syslet_ctx_exit() does not
 * wait for it.  For a thread that is not the context's reaper (a
 * threadlet's library thread); the reaper uses kernel_post_or_park().
 */
void __syslet_kernel_post(struct syslet_ctx *ctx,
			  const struct syslet_completion *c)
{
	struct timespec ms = { 0, 1000000 };
	long r;

	while (post_transient(r = post_once(ctx, c)))
		nanosleep(&ms, NULL);
	if (r < 0)
		atomic_fetch_sub(&kstate(ctx)->expected, 1);
}

/* Posts what waits on @ctx's parked list, in order, while the kernel takes it. */
static void kernel_post_pending(struct syslet_ctx *ctx)
{
	struct kstate *k = kstate(ctx);
	struct kpost *p;
	long r;

	if (!atomic_load_explicit(&k->npend, memory_order_relaxed))
		return;
	pthread_mutex_lock(&k->plock);
	while ((p = k->pend)) {
		r = post_once(ctx, &p->c);
		if (post_transient(r))
			break;
		/* posted (or refused for good: a ring no longer usable) */
		k->pend = p->next;
		if (!k->pend)
			k->pend_tail = &k->pend;
		atomic_fetch_sub(&k->npend, 1);
		if (r < 0)
			atomic_fetch_sub(&k->expected, 1);
		free(p);
	}
	pthread_mutex_unlock(&k->plock);
}

/*
 * Posts @c, or parks it on the context's list to be posted later, when
 * the kernel refuses it for now: the caller may be the thread that must
 * reap to make room, so it does not wait.  @spare, if not NULL, is the
 * list node to use (allocated before the chain ran); it is freed if not
 * used.  Posts keep their order.
 */
void __syslet_kernel_post_or_park(struct syslet_ctx *ctx,
				  const struct syslet_completion *c,
				  void *spare)
{
	struct kstate *k = kstate(ctx);
	struct kpost *p = spare;
	long r = -EAGAIN;

	pthread_mutex_lock(&k->plock);
	if (!k->pend)
		r = post_once(ctx, c);
	if (post_transient(r)) {
		if (!p)
			p = malloc(sizeof(*p));
		if (p) {
			p->c = *c;
			p->next = NULL;
			*k->pend_tail = p;
			k->pend_tail = &p->next;
			atomic_fetch_add(&k->npend, 1);
			pthread_mutex_unlock(&k->plock);
			return;
		}
		pthread_mutex_unlock(&k->plock);
		__syslet_kernel_post(ctx, c);	/* no memory to park it */
		return;
	}
	pthread_mutex_unlock(&k->plock);
	if (r < 0)
		atomic_fetch_sub(&k->expected, 1);	/* refused for good */
	free(spare);
}

/* A node for __syslet_kernel_post_or_park(), taken before a chain runs. */
void *__syslet_kernel_post_node(void)
{
	return malloc(sizeof(struct kpost));
}

/*
 * Counts a submission's completion if it goes to the ring (see struct
 * kstate): async_exec() returned @r, with the completion buffer @done.
 * The head atom has been read by the kernel, so it can be read here.
 */
static void kernel_count(struct syslet_ctx *ctx,
			 const struct syslet_atom *head, long r,
			 const struct syslet_completion *done)
{
	if (r == SYSLET_QUEUED || (r == SYSLET_DONE && !done))
		if (!(head->flags & SYSLET_NO_COMPLETE))
			kstate_count(ctx, 1);
}

/*
 * A SYSLET_SYNC chain has run by the time async_exec() returns, so its
 * submission must not fail then.  Kernels of this series before 2026-12
 * did not park a completion of a chain run in the caller on the overflow
 * list: they returned -EOVERFLOW when the ring was full at its post,
 * which other threads can bring about at any time, whatever the ring
 * looked like before (the kernel now parks it; this works on both).  So
 * every SYSLET_SYNC chain's completion comes back into a buffer and is
 * posted with SYSLET_EXEC_POST, which parks it if the ring is full, or
 * parked on the library's list if the kernel refuses the post for now.
 * That path posts the completion whole (status, user_data, atom,
 * nr_atoms, SYSLET_COMP_SYNC).  The head's flags are read here (as the emulated backend
 * does): syslet_submit()'s head must be readable.
 */
static int kernel_submit(struct syslet_ctx *ctx,
			 const struct syslet_atom *head)
{
	struct syslet_completion c;
	void *node;
	long r;

	kernel_post_pending(ctx);

	if (!(head->flags & SYSLET_SYNC) ||
	    (head->flags & SYSLET_NO_COMPLETE)) {
		r = __syslet_sys_async_exec(head, ctx->ring, NULL, 0);
		kernel_count(ctx, head, r, NULL);
		return (int)r;
	}
	/* nothing may fail once it ran: its list node comes first */
	node = __syslet_kernel_post_node();
	if (!node)
		return -ENOMEM;
	r = __syslet_sys_async_exec(head, ctx->ring, &c, 0);
	if (r != SYSLET_DONE) {
		free(node);
		return (int)r;		/* it did not run */
	}
	kstate_count(ctx, 1);
	__syslet_kernel_post_or_park(ctx, &c, node);
	return SYSLET_DONE;
}

/*
 * Kernel backend threadlets: each runs on a thread of its own (signals
 * blocked, detached) and completes through the ring with async_exec()'s
 * SYSLET_EXEC_POST, since only the kernel writes a kernel-mode ring.  The
 * number running is kept in the context's struct kstate, so that
 * syslet_ctx_exit() can wait for them before the ring goes.
 */
#define KTHREADLETS_MAX		256	/* per context */
#define KTHREADLETS_PROCESS_MAX	1024	/* in the process */
#define KTHREADLET_STACK	(2 * 1024 * 1024)


struct kthreadlet {
	struct syslet_ctx *ctx;
	syslet_threadlet_fn fn;
	void *arg;
	uint64_t user_data;
};

static _Atomic unsigned int *kthreadlets_running(struct syslet_ctx *ctx)
{
	return &kstate(ctx)->threadlets;
}

static void *kthreadlet_main(void *p)
{
	struct kthreadlet k = *(struct kthreadlet *)p;
	struct syslet_completion c;

	free(p);
	memset(&c, 0, sizeof(c));
	c.status = k.fn(k.arg);
	c.user_data = k.user_data;
	/* parked on the overflow list if the ring is full; never dropped */
	__syslet_kernel_post(k.ctx, &c);
	atomic_fetch_sub_explicit(&kthreadlets_process, 1,
				  memory_order_relaxed);
	atomic_fetch_sub_explicit(kthreadlets_running(k.ctx), 1,
				  memory_order_release);
	return NULL;
}

static int kthreadlet_start(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			    void *arg, uint64_t user_data)
{
	struct kthreadlet *k = malloc(sizeof(*k));
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (!k)
		return -ENOMEM;
	if (atomic_fetch_add(kthreadlets_running(ctx), 1) >= KTHREADLETS_MAX) {
		atomic_fetch_sub(kthreadlets_running(ctx), 1);
		free(k);
		return -EAGAIN;
	}
	if (atomic_fetch_add(&kthreadlets_process, 1) >=
	    KTHREADLETS_PROCESS_MAX) {
		atomic_fetch_sub(&kthreadlets_process, 1);
		atomic_fetch_sub(kthreadlets_running(ctx), 1);
		free(k);
		return -EAGAIN;
	}
	k->ctx = ctx;
	k->fn = fn;
	k->arg = arg;
	k->user_data = user_data;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, KTHREADLET_STACK);
	/* the program's signals go to its own threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, &attr, kthreadlet_main, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		atomic_fetch_sub(&kthreadlets_process, 1);
		atomic_fetch_sub(kthreadlets_running(ctx), 1);
		free(k);
		return -err;
	}
	return 0;
}

/* Waits for the kernel backend's running threadlets (ctx_exit). */
static void kthreadlets_wait(struct syslet_ctx *ctx)
{
	struct timespec ms = { 0, 1000000 };

	/*
	 * A threadlet's post may be refused while the ring's parked
	 * completions hold every place of max_chains: consume what arrives
	 * (the context is going away), which lets the kernel move them in.
	 */
	while (atomic_load_explicit(kthreadlets_running(ctx),
				    memory_order_acquire)) {
		kstate_drained(kstate(ctx));
		nanosleep(&ms, NULL);
	}
}

/* --- the backend's table -------------------------------------------- */

static int k_ctx_exit(struct syslet_ctx *ctx)
{
	kthreadlets_wait(ctx);
	__syslet_tl_wait(ctx);
	return kstate_exit(ctx);
}

static int k_submit(struct syslet_ctx *ctx, const struct syslet_atom *head,
		    struct syslet_completion *done)
{
	long r;

	if (!done)
		return kernel_submit(ctx, head);
	kernel_post_pending(ctx);
	r = __syslet_sys_async_exec(head, ctx->ring, done, 0);
	kernel_count(ctx, head, r, done);
	return (int)r;
}

/*
 * The kernel restarts the wait after an SA_RESTART handler (the call does
 * not return); a kernel without SYSLET_WAIT_RESTART says -EINVAL.
 */
/*
 * syslet_post(): SYSLET_EXEC_POST, counted as expected first (it is
 * reaped like a chain's completion).  Nothing is parked here: a refusal
 * is the caller's.  Safe in a signal handler: an atomic and the call.
 */
static int k_post(struct syslet_ctx *ctx, const struct syslet_completion *c)
{
	long r;

	kstate_count(ctx, 1);
	r = post_once(ctx, c);
	if (r < 0) {
		atomic_fetch_sub(&kstate(ctx)->expected, 1);
		return (int)r;
	}
	return 0;
}

/*
 * The bare system call once nothing is parked (kernel_post_pending() is
 * an atomic load then): the POSIX AIO shim runs it with asynchronous
 * cancellation, its context never parking anything.
 */
static int k_wait_posted(struct syslet_ctx *ctx, uint32_t head)
{
	kernel_post_pending(ctx);
	return (int)__syslet_sys_async_wait_flags(ctx->ring, head,
						  SYSLET_WAIT_RESTART |
						  SYSLET_WAIT_HEAD);
}

/*
 * A wait with a mask, to a deadline (SYSLET_WAIT_ABSTIME; untimed: one
 * past any clock), which the kernel restarts when a signal runs no
 * handler, as ppoll(): a signal set to SIG_IGN while the caller blocked
 * it, queued then and unblocked by @sigmask, would end a relative or
 * plain wait with -EINTR and nothing run.  A wait to a deadline fails
 * with -ETIME or -EINTR or returns; after any other error the same wait
 * is made as before the flag (a second system call, which seccomp,
 * audit and strace see).  Only -EINVAL to the flag where the wait without
 * it is not refused (a kernel without the flag) stops this thread from
 * trying it again: another error may be a seccomp filter's, which is the
 * thread's, or pass (-ENOMEM), and must not turn the flag off for
 * threads that may use it.  A filter that kills or traps on a flag it
 * does not know kills the program here, as on any new flag.
 */
static _Thread_local bool k_abstime_off;

/* the largest time_t (a signed type) */
#define K_TIME_MAX	((time_t)((1ULL << (sizeof(time_t) * 8 - 1)) - 1))

/*
 * *@dl = CLOCK_MONOTONIC now + *@rel, saturated (@rel NULL: the latest
 * time); false for a timespec the kernel would refuse (it then sees it
 * as given, and says -EINVAL).
 */
static bool k_deadline(const struct timespec *rel, struct timespec *dl)
{
	if (!rel) {
		dl->tv_sec = K_TIME_MAX;
		dl->tv_nsec = 0;
		return true;
	}
	if (rel->tv_sec < 0 || rel->tv_nsec < 0 || rel->tv_nsec >= 1000000000L ||
	    clock_gettime(CLOCK_MONOTONIC, dl))
		return false;
	dl->tv_nsec += rel->tv_nsec;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_nsec -= 1000000000L;
		dl->tv_sec++;
	}
	if (rel->tv_sec > K_TIME_MAX - dl->tv_sec)
		dl->tv_sec = K_TIME_MAX;
	else
		dl->tv_sec += rel->tv_sec;
	return true;
}

static long k_masked_wait(struct syslet_ring *ring, unsigned int min,
			  const struct timespec *ts, const sigset_t *sigmask,
			  unsigned int flags)
{
	struct timespec dl;
	long ret, plain;

	if (k_abstime_off || !k_deadline(ts, &dl))
		return __syslet_sys_async_pwait_flags(ring, min, ts, sigmask,
						      flags);
	ret = __syslet_sys_async_pwait_flags(ring, min, &dl, sigmask,
					     flags | SYSLET_WAIT_ABSTIME);
	if (ret >= 0 || ret == -ETIME || ret == -EINTR)
		return ret;
	plain = __syslet_sys_async_pwait_flags(ring, min, ts, sigmask, flags);
	if (ret == -EINVAL && plain != -EINVAL)
		k_abstime_off = true;
	return plain;
}

/* With a mask, to a deadline where the kernel can (above). */
static int k_wait(struct syslet_ctx *ctx, unsigned int min,
		  const struct timespec *ts, const sigset_t *sigmask)
{
	kernel_post_pending(ctx);
	if (sigmask)
		return (int)k_masked_wait(ctx->ring, min, ts, sigmask, 0);
	return (int)__syslet_sys_async_wait(ctx->ring, min, ts, sigmask);
}

/*
 * Untimed: restarted after an SA_RESTART handler, with the mask installed
 * again (SYSLET_WAIT_RESTART_SIGMASK; a kernel without it says -EINVAL).
 * Timed: -EINTR after any handler; with a mask, to a deadline where the
 * kernel can (above).
 */
static int k_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
			  const struct timespec *ts, const sigset_t *sigmask)
{
	unsigned int flags = SYSLET_WAIT_HEAD;

	kernel_post_pending(ctx);
	if (ts && sigmask)
		return (int)k_masked_wait(ctx->ring, head, ts, sigmask, flags);
	if (!ts)
		flags |= sigmask ? SYSLET_WAIT_RESTART_SIGMASK :
				   SYSLET_WAIT_RESTART;
	return (int)__syslet_sys_async_pwait_flags(ctx->ring, head, ts,
						   sigmask, flags);
}

static int k_cancel(struct syslet_ctx *ctx, uint64_t user_data,
		    unsigned int flags)
{
	return (int)__syslet_sys_async_cancel(ctx->ring, user_data,
					      flags & ~SYSLET_CANCEL_NOWAIT);
}

static int k_limits(const struct syslet_limits *set,
		    struct syslet_limits *get)
{
	return (int)__syslet_sys_async_limits(set, get);
}

/* the kernel moves parked completions in on any call on the ring */
static void k_flush(struct syslet_ctx *ctx)
{
	struct timespec zero = { 0, 0 };

	__syslet_sys_async_wait(ctx->ring, 0, &zero, NULL);
	kernel_post_pending(ctx);
}

static int k_threadlet(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
		       void *arg, uint64_t user_data)
{
	int ret = -EAGAIN;

	/* in the caller until it would sleep, if asked (threadlet.c) */
	if (ctx->flags & SYSLET_CTX_INCALLER)
		ret = __syslet_tl_incaller(ctx, fn, arg, user_data);
	if (ret == -EAGAIN)
		ret = kthreadlet_start(ctx, fn, arg, user_data);
	if (!ret)
		kstate_count(ctx, 1);
	return ret;
}

const struct syslet_backend_ops __syslet_kernel_ops = {
	.name		= "kernel",
	.ctx_init	= kstate_init,
	.ctx_exit	= k_ctx_exit,
	.submit		= k_submit,
	.wait		= k_wait,
	.wait_posted	= k_wait_posted,
	.pwait_posted	= k_pwait_posted,
	.post		= k_post,
	.cancel		= k_cancel,
	.limits		= k_limits,
	.flush		= k_flush,
	.threadlet	= k_threadlet,
};
