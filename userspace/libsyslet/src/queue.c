// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet: submission, the ring's consumer side (peek, advance, reap),
 * which is the same for both backends because both write the same ring
 * format with the same ordering (entry first, then head with release
 * semantics), waiting, cancellation, limits and threadlets, each handed
 * to the context's backend through its table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* --- submission ---------------------------------------------------- */

SYSLET_API int syslet_submit(struct syslet_ctx *ctx,
			     const struct syslet_atom *head)
{
	if (!ctx || !head)
		return -EINVAL;
	return ctx_ops(ctx)->submit(ctx, head, NULL);
}

/* done is written only by a chain that completes in the caller */
SYSLET_API int syslet_submit_done(struct syslet_ctx *ctx,
				  const struct syslet_atom *head,
				  struct syslet_completion *done)
{
	if (!ctx || !head || !done)
		return -EINVAL;
	return ctx_ops(ctx)->submit(ctx, head, done);
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
	ctx_ops(ctx)->flush(ctx);
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
	*comp = &SYSLET_RING_ENTRIES(r)[tail & ctx->ring_mask];
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
 * completions, so the CAS cannot be fooled in between.  With @flush,
 * completions parked on the overflow list are moved in too (a lock of
 * the emulated backend's, a system call on the kernel's); without it
 * nothing but atomics runs.
 */
static int reap(struct syslet_ctx *ctx, struct syslet_completion *comps,
		unsigned int max, bool flush)
{
	struct syslet_ring *r = ctx->ring;
	uint32_t tail, head, n, i;
	int flushed = !flush;

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
			comps[i] = SYSLET_RING_ENTRIES(r)[(tail + i) &
							  ctx->ring_mask];
		if (atomic_compare_exchange_weak_explicit(ring_tail(r), &tail,
					tail + n, memory_order_acq_rel,
					memory_order_acquire))
			break;
	}
	if (flush)
		flush_overflow(ctx);
	return (int)n;
}

SYSLET_API int syslet_reap(struct syslet_ctx *ctx,
			   struct syslet_completion *comps, unsigned int max)
{
	return reap(ctx, comps, max, true);
}

/* What is in the ring now, nothing else: safe in a signal handler. */
SYSLET_API int syslet_reap_ready(struct syslet_ctx *ctx,
				 struct syslet_completion *comps,
				 unsigned int max)
{
	return reap(ctx, comps, max, false);
}

SYSLET_API int syslet_wait(struct syslet_ctx *ctx, unsigned int min_complete,
			   const struct timespec *timeout)
{
	return ctx_ops(ctx)->wait(ctx, min_complete, timeout, NULL);
}

SYSLET_API int syslet_pwait(struct syslet_ctx *ctx, unsigned int min_complete,
			    const struct timespec *timeout,
			    const sigset_t *sigmask)
{
	return ctx_ops(ctx)->wait(ctx, min_complete, timeout, sigmask);
}

SYSLET_API uint32_t syslet_cq_head(const struct syslet_ctx *ctx)
{
	return __atomic_load_n(&ctx->ring->head, __ATOMIC_ACQUIRE);
}

SYSLET_API int syslet_wait_posted(struct syslet_ctx *ctx, uint32_t head)
{
	return ctx_ops(ctx)->wait_posted(ctx, head);
}

SYSLET_API int syslet_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
				   const struct timespec *timeout,
				   const sigset_t *sigmask)
{
	return ctx_ops(ctx)->pwait_posted(ctx, head, timeout, sigmask);
}

SYSLET_API int syslet_post(struct syslet_ctx *ctx,
			   const struct syslet_completion *comp)
{
	return ctx_ops(ctx)->post(ctx, comp);
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
	return ctx_ops(ctx)->cancel(ctx, user_data, flags);
}

SYSLET_API int syslet_limits(struct syslet_ctx *ctx,
			     const struct syslet_limits *set,
			     struct syslet_limits *get)
{
	/* the kernel checks get->size as it checks set->size: this library's */
	if (get)
		get->size = sizeof(*get);
	return ctx_ops(ctx)->limits(set, get);
}

SYSLET_API int syslet_threadlet(struct syslet_ctx *ctx,
				syslet_threadlet_fn fn, void *arg,
				uint64_t user_data)
{
	if (!ctx || !fn)
		return -EINVAL;
	return ctx_ops(ctx)->threadlet(ctx, fn, arg, user_data);
}
