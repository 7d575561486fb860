// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet: contexts, backend selection, and the ring consumer side
 * (peek, advance, reap), which is the same for both backends because both
 * write the same ring format with the same ordering: entry first, then
 * head with release semantics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* --- kernel backend: raw system calls --------------------------------- */

static long neg_errno(long r)
{
	return r < 0 ? -errno : r;
}

/*
 * Every argument is passed, unused ones as 0: syscall() forwards six, and
 * a call that takes more than ours would see leftover register values.
 */
long __syslet_sys_async_exec(const struct syslet_atom *atom,
			     struct syslet_ring *ring,
			     struct syslet_completion *done,
			     unsigned int flags)
{
	return neg_errno(syscall(__NR_async_exec, atom, ring, done,
				 (unsigned long)flags, 0L, 0L));
}

long __syslet_sys_async_wait(struct syslet_ring *ring, unsigned int min,
		    const struct timespec *ts)
{
	return neg_errno(syscall(__NR_async_wait, ring, (unsigned long)min,
				 ts, NULL, 0L, 0L));
}

long __syslet_sys_async_cancel(struct syslet_ring *ring, uint64_t user_data,
		      unsigned int flags)
{
	return neg_errno(syscall(__NR_async_cancel, ring, user_data,
				 (unsigned long)flags, 0L, 0L, 0L));
}

long __syslet_sys_async_limits(const struct syslet_limits *set,
		      struct syslet_limits *get)
{
	return neg_errno(syscall(__NR_async_limits, set, get, 0L, 0L, 0L, 0L));
}

/*
 * The probe: async_limits(NULL, &l), believed only if it answers as
 * async_limits does (0, and @l filled in: its size, nonzero limits, the
 * reserved words 0).  On stock kernels 454 may be another call (futex_wake
 * from 6.7 on, which returns 0 for waking nobody and writes nothing).
 */
SYSLET_API int syslet_kernel_supported(void)
{
	static _Atomic int cached = -1;
	int v = atomic_load_explicit(&cached, memory_order_relaxed);
	struct syslet_limits l;

	if (v < 0) {
		memset(&l, 0xa5, sizeof(l));
		l.size = sizeof(l);
		v = __syslet_sys_async_limits(NULL, &l) == 0 &&
		    l.size == sizeof(l) && l.max_threads && l.idle_msecs &&
		    l.max_chains && l.max_threads != 0xa5a5a5a5U &&
		    l.nr_idle <= l.nr_threads && !l.__reserved &&
		    !l.__reserved2[0] && !l.__reserved2[1] &&
		    !l.__reserved2[2];
		atomic_store_explicit(&cached, v, memory_order_relaxed);
	}
	return v;
}

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
struct kstate {
	_Atomic uint32_t expected;
	_Atomic unsigned int threadlets;	/* running on library threads */
	struct kstate *next, *prev;	/* kctxs, under kctxs_lock */
	struct syslet_ring *ring;
	int own_mem;
};

static pthread_mutex_t kctxs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kstate *kctxs;		/* live kernel-mode contexts */
static struct kstate *orphans;		/* rings of exited contexts */
static pthread_once_t kfork_once = PTHREAD_ONCE_INIT;
/* threadlets on library threads in the process (kthreadlet_start()) */
static _Atomic unsigned int kthreadlets_process;

/*
 * fork(): the child has none of the parent's chains and threads (the
 * kernel engine runs and posts none of the parent's chains in the child).
 * So in the child every kernel-mode context starts empty: nothing is
 * expected beyond what its ring holds, nothing is parked in the kernel,
 * no threadlet runs; orphaned rings are freed.  kctxs_lock is held
 * across fork() so the lists are whole in the child.
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

		atomic_store(&k->expected, atomic_load(ring_head(r)));
		atomic_store(&k->threadlets, 0);
		atomic_store((_Atomic uint32_t *)&r->overflow, 0);
		atomic_store((_Atomic uint32_t *)&r->kflags, 0);
	}
	atomic_store(&kthreadlets_process, 0);
	while ((k = orphans)) {
		orphans = k->next;
		free(k->ring);
		free(k);
	}
	pthread_mutex_unlock(&kctxs_lock);
}

static void kfork_init(void)
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
		__syslet_sys_async_wait(r, 0, &zero);
		if (atomic_load_explicit(ring_head(r),
					 memory_order_acquire) == head)
			break;		/* nothing moved */
	}
	return !ovf && atomic_load_explicit(&k->expected,
					    memory_order_relaxed) == head;
}

/* Frees the orphaned rings the kernel is done with; kctxs_lock held. */
static void orphans_reap_locked(void)
{
	struct kstate **pp = &orphans, *k;

	while ((k = *pp)) {
		if (kstate_drained(k)) {
			*pp = k->next;
			free(k->ring);
			free(k);
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
	pthread_once(&kfork_once, kfork_init);
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
static int kstate_exit(struct syslet_ctx *ctx)
{
	struct timespec ms = { 0, 10000000 };
	struct kstate *k = kstate(ctx);
	int done;

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
		free(k);
		return 1;
	}
	if (k->own_mem)
		return 0;
	/* the caller's memory: it may reuse it once this returns, so wait */
	while (!kstate_drained(k))
		__syslet_sys_async_wait(k->ring, 1, &ms);
	free(k);
	return 1;
}

/* --- contexts -------------------------------------------------------- */

static int pick_backend(unsigned int flags)
{
	const char *env;

	if (flags & SYSLET_CTX_KERNEL)
		return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
						   -ENOSYS;
	if (flags & SYSLET_CTX_EMULATED)
		return SYSLET_BACKEND_EMULATED;
	env = getenv("SYSLET_BACKEND");
	if (env && !strcmp(env, "kernel"))
		return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
						   -ENOSYS;
	if (env && !strcmp(env, "emulated"))
		return SYSLET_BACKEND_EMULATED;
	if (env && *env && strcmp(env, "auto"))
		return -EINVAL;
	return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
					   SYSLET_BACKEND_EMULATED;
}

static int ctx_setup(struct syslet_ctx *ctx, struct syslet_ring *ring,
		     unsigned int entries, unsigned int flags)
{
	int backend = pick_backend(flags);
	int ret;

	if (backend < 0)
		return backend;
	memset(ring, 0, SYSLET_RING_BYTES(entries));
	ring->size = sizeof(*ring);
	ring->nr_entries = entries;
	ring->flags = 0;
	ctx->ring = ring;
	ctx->ring_entries = entries;
	ctx->ring_mask = entries - 1;
	ctx->backend = (unsigned int)backend;
	ctx->__priv[0] = NULL;
	if (backend == SYSLET_BACKEND_EMULATED)
		ret = __syslet_emu_ctx_init(ctx);
	else
		ret = kstate_init(ctx);
	return ret;
}

#define BOTH_BACKENDS	(SYSLET_CTX_EMULATED | SYSLET_CTX_KERNEL)
#define BOTH_TL_MODES	(SYSLET_CTX_INCALLER | SYSLET_CTX_NO_INCALLER)

static int bad_flags(unsigned int flags)
{
	return (flags & ~SYSLET_CTX_F_ALL) ||
	       (flags & BOTH_BACKENDS) == BOTH_BACKENDS ||
	       (flags & BOTH_TL_MODES) == BOTH_TL_MODES;
}

SYSLET_API int syslet_ctx_init(struct syslet_ctx *ctx, unsigned int entries,
			       unsigned int flags)
{
	unsigned int n = 1;
	void *mem;
	int ret;

	if (!ctx || bad_flags(flags))
		return -EINVAL;
	if (!entries || entries > SYSLET_RING_MAX_ENTRIES)
		return -EINVAL;
	while (n < entries)
		n <<= 1;
	mem = aligned_alloc(SYSLET_RING_ALIGN,
			    (SYSLET_RING_BYTES(n) + SYSLET_RING_ALIGN - 1) &
			    ~(size_t)(SYSLET_RING_ALIGN - 1));
	if (!mem)
		return -ENOMEM;
	memset(ctx, 0, sizeof(*ctx));
	ctx->flags = flags | SYSLET_CTX_OWN_MEM;
	ret = ctx_setup(ctx, mem, n, flags);
	if (ret) {
		free(mem);
		ctx->ring = NULL;
	}
	return ret;
}

SYSLET_API int syslet_ctx_init_mem(struct syslet_ctx *ctx, void *mem,
				   size_t bytes, unsigned int flags)
{
	unsigned int n = SYSLET_RING_MAX_ENTRIES;

	if (!ctx || !mem || ((uintptr_t)mem & (SYSLET_RING_ALIGN - 1)) ||
	    bad_flags(flags))
		return -EINVAL;
	while (n && SYSLET_RING_BYTES(n) > bytes)
		n >>= 1;
	if (!n)
		return -EINVAL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->flags = flags;
	return ctx_setup(ctx, mem, n, flags);
}

static void kthreadlets_wait(struct syslet_ctx *ctx);

SYSLET_API void syslet_ctx_exit(struct syslet_ctx *ctx)
{
	if (!ctx || !ctx->ring)
		return;
	if (ctx->backend == SYSLET_BACKEND_EMULATED) {
		__syslet_emu_ctx_exit(ctx);
	} else {
		kthreadlets_wait(ctx);
		__syslet_tl_wait(ctx);
		/*
		 * The kernel has no "cancel every chain of this ring": chains
		 * still running keep a library ring alive (orphaned), and a
		 * ring in the caller's memory is waited for.
		 */
		if (!kstate_exit(ctx)) {
			ctx->ring = NULL;
			return;
		}
	}
	if (ctx->flags & SYSLET_CTX_OWN_MEM)
		free(ctx->ring);
	ctx->ring = NULL;
}

SYSLET_API int syslet_backend(const struct syslet_ctx *ctx)
{
	return (int)ctx->backend;
}

SYSLET_API const char *syslet_backend_name(const struct syslet_ctx *ctx)
{
	return ctx->backend == SYSLET_BACKEND_KERNEL ? "kernel" : "emulated";
}

/* --- submission ------------------------------------------------------ */

/*
 * Posts @c to @ctx's kernel-mode ring with SYSLET_EXEC_POST: the kernel
 * parks it on the ring's overflow list if the ring is full.  It is the
 * completion of something that has run, so it is never dropped: a
 * transient failure (a signal, no memory) is retried.
 */
void __syslet_kernel_post(struct syslet_ctx *ctx,
			  const struct syslet_completion *c)
{
	struct timespec ms = { 0, 1000000 };
	long r;

	for (;;) {
		r = __syslet_sys_async_exec(NULL, ctx->ring,
					    (struct syslet_completion *)c,
					    SYSLET_EXEC_POST);
		if (r >= 0 || (r != -EINTR && r != -ENOMEM && r != -EAGAIN))
			return;
		if (r != -EINTR)
			nanosleep(&ms, NULL);
	}
}

/* The ring has no free slot or completions wait on its overflow list. */
static int ring_full(const struct syslet_ctx *ctx)
{
	const struct syslet_ring *r = ctx->ring;

	return atomic_load_explicit(ring_head((struct syslet_ring *)r),
				    memory_order_acquire) -
	       atomic_load_explicit(ring_tail((struct syslet_ring *)r),
				    memory_order_relaxed) >= ctx->ring_entries ||
	       atomic_load_explicit((_Atomic uint32_t *)&r->overflow,
				    memory_order_relaxed);
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
 * submission must not fail then.  A kernel that cannot park a chain run
 * in the caller on the overflow list returns -EOVERFLOW when the ring is
 * full: when it looks full, the chain's completion comes back into a
 * buffer and is posted with SYSLET_EXEC_POST, which parks it (status and
 * user_data; that path leaves atom, nr_atoms and flags 0).
 */
static int kernel_submit(struct syslet_ctx *ctx,
			 const struct syslet_atom *head)
{
	struct syslet_completion c;
	long r;

	/* the head is read here only when the ring is full */
	if (!ring_full(ctx) || !(head->flags & SYSLET_SYNC) ||
	    (head->flags & SYSLET_NO_COMPLETE)) {
		r = __syslet_sys_async_exec(head, ctx->ring, NULL, 0);
		kernel_count(ctx, head, r, NULL);
		return (int)r;
	}
	r = __syslet_sys_async_exec(head, ctx->ring, &c, 0);
	if (r != SYSLET_DONE)
		return (int)r;		/* it did not run */
	__syslet_kernel_post(ctx, &c);
	kstate_count(ctx, 1);
	return SYSLET_DONE;
}

SYSLET_API int syslet_submit(struct syslet_ctx *ctx,
			     const struct syslet_atom *head)
{
	if (!ctx || !head)
		return -EINVAL;
	if (ctx->backend == SYSLET_BACKEND_KERNEL)
		return kernel_submit(ctx, head);
	return __syslet_emu_submit(ctx, head, NULL);
}

SYSLET_API int syslet_submit_sync(struct syslet_ctx *ctx,
				  const struct syslet_atom *head,
				  struct syslet_completion *done)
{
	if (!ctx || !head || !done || !(head->flags & SYSLET_SYNC))
		return -EINVAL;
	if (ctx->backend == SYSLET_BACKEND_KERNEL)
		return (int)__syslet_sys_async_exec(head, ctx->ring, done, 0);
	return __syslet_emu_submit(ctx, head, done);
}

SYSLET_API int syslet_submit_done(struct syslet_ctx *ctx,
				  const struct syslet_atom *head,
				  struct syslet_completion *done)
{
	if (!ctx || !head || !done)
		return -EINVAL;
	if (ctx->backend == SYSLET_BACKEND_KERNEL) {
		long r = __syslet_sys_async_exec(head, ctx->ring, done, 0);

		kernel_count(ctx, head, r, done);
		return (int)r;
	}
	/* the emulation runs only SYSLET_SYNC chains in the caller */
	return __syslet_emu_submit(ctx, head,
				   (head->flags & SYSLET_SYNC) ? done : NULL);
}

/* --- completions ----------------------------------------------------- */

SYSLET_API unsigned int syslet_cq_ready(const struct syslet_ctx *ctx)
{
	struct syslet_ring *r = ctx->ring;

	return atomic_load_explicit(ring_head(r), memory_order_acquire) -
	       atomic_load_explicit(ring_tail(r), memory_order_relaxed);
}

/* Completions may wait on an overflow list: move them in. */
static void flush_overflow(struct syslet_ctx *ctx)
{
	if (!atomic_load_explicit((_Atomic uint32_t *)&ctx->ring->overflow,
				  memory_order_relaxed) &&
	    !atomic_load_explicit((_Atomic uint32_t *)&ctx->ring->kflags,
				  memory_order_relaxed))
		return;
	if (ctx->backend == SYSLET_BACKEND_EMULATED) {
		__syslet_emu_flush(ctx);
	} else {
		struct timespec zero = { 0, 0 };

		__syslet_sys_async_wait(ctx->ring, 0, &zero);
	}
}

SYSLET_API int syslet_peek_completion(struct syslet_ctx *ctx,
				      struct syslet_completion **comp)
{
	struct syslet_ring *r = ctx->ring;
	uint32_t tail = atomic_load_explicit(ring_tail(r),
					     memory_order_relaxed);

	if (atomic_load_explicit(ring_head(r), memory_order_acquire) == tail) {
		flush_overflow(ctx);
		if (atomic_load_explicit(ring_head(r),
					 memory_order_acquire) == tail)
			return -EAGAIN;
	}
	*comp = &r->entries[tail & ctx->ring_mask];
	return 0;
}

/* Single reaper: one release store of tail (no read-modify-write). */
SYSLET_API void syslet_cq_advance(struct syslet_ctx *ctx, unsigned int nr)
{
	_Atomic uint32_t *tail = ring_tail(ctx->ring);

	atomic_store_explicit(tail, atomic_load_explicit(tail,
				memory_order_relaxed) + nr,
			      memory_order_release);
	flush_overflow(ctx);
}

/*
 * Lock-free multi-consumer reap: copy entries [tail, tail + n) and claim
 * them by moving tail with a compare-and-swap.  If another reaper moved
 * tail first, the copies may be stale (the producer may have reused the
 * slots) and are discarded.  The 32-bit counters wrap only after 2^32
 * completions, so the CAS cannot be fooled in between.
 */
SYSLET_API int syslet_reap(struct syslet_ctx *ctx,
			   struct syslet_completion *comps, unsigned int max)
{
	struct syslet_ring *r = ctx->ring;
	uint32_t tail, head, n, i;
	int flushed = 0;

	if (!max)
		return 0;
again:
	tail = atomic_load_explicit(ring_tail(r), memory_order_acquire);
	for (;;) {
		head = atomic_load_explicit(ring_head(r), memory_order_acquire);
		n = head - tail;
		if (!n) {
			if (flushed++)
				return 0;
			flush_overflow(ctx);
			goto again;
		}
		if (n > max)
			n = max;
		for (i = 0; i < n; i++)
			comps[i] = r->entries[(tail + i) & ctx->ring_mask];
		if (atomic_compare_exchange_weak_explicit(ring_tail(r), &tail,
					tail + n, memory_order_acq_rel,
					memory_order_acquire))
			break;
	}
	flush_overflow(ctx);
	return (int)n;
}

SYSLET_API int syslet_wait(struct syslet_ctx *ctx, unsigned int min_complete,
			   const struct timespec *timeout)
{
	if (ctx->backend == SYSLET_BACKEND_KERNEL)
		return (int)__syslet_sys_async_wait(ctx->ring, min_complete, timeout);
	return __syslet_emu_wait(ctx, min_complete, timeout);
}

SYSLET_API int syslet_wait_completion(struct syslet_ctx *ctx,
				      struct syslet_completion *comp)
{
	int ret;

	for (;;) {
		ret = syslet_reap(ctx, comp, 1);
		if (ret)
			return ret < 0 ? ret : 0;
		ret = syslet_wait(ctx, 1, NULL);
		if (ret < 0)
			return ret;
	}
}

/* --- cancellation, limits, threadlets -------------------------------- */

SYSLET_API int syslet_cancel(struct syslet_ctx *ctx, uint64_t user_data,
			     unsigned int flags)
{
	if (ctx->backend == SYSLET_BACKEND_KERNEL)
		return (int)__syslet_sys_async_cancel(ctx->ring, user_data, flags);
	return __syslet_emu_cancel(ctx, user_data, flags);
}

SYSLET_API int syslet_limits(struct syslet_ctx *ctx,
			     const struct syslet_limits *set,
			     struct syslet_limits *get)
{
	/* the kernel checks get->size as it checks set->size: this library's */
	if (get)
		get->size = sizeof(*get);
	if (ctx->backend == SYSLET_BACKEND_KERNEL)
		return (int)__syslet_sys_async_limits(set, get);
	return __syslet_emu_limits(set, get);
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

	while (atomic_load_explicit(kthreadlets_running(ctx),
				    memory_order_acquire))
		nanosleep(&ms, NULL);
}

SYSLET_API int syslet_threadlet(struct syslet_ctx *ctx,
				syslet_threadlet_fn fn, void *arg,
				uint64_t user_data)
{
	if (!ctx || !fn)
		return -EINVAL;
	if (ctx->backend == SYSLET_BACKEND_KERNEL) {
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
	return __syslet_emu_threadlet(ctx, fn, arg, user_data);
}
