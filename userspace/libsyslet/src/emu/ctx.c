// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: contexts: creation, teardown, fork(), and the backend's table.
 */
#include "emu.h"

/*
 * fork(): as with the kernel engine, none of the parent's chains runs or
 * completes in the child.  The child has none of the workers, and its
 * copies of the contexts start empty: their in-flight and overflow lists
 * are dropped (queued chains included, which a worker of the child would
 * otherwise run a second time), so a context inherited from the parent
 * can be used, or torn down, in the child.  The handlers hold pool.lock
 * and every context's lock across fork(), so the copied state is
 * consistent (lock order: pool.lock, then the contexts').
 *
 * The handlers are registered when the library is loaded (emu_atfork_setup),
 * not when the first context is made: registering then, with pool.lock
 * held, let a fork() by another thread at that moment give its child
 * pool.lock held and no handler to reset it, so the child's first context
 * hung (seen as a grandchild stuck in aio_read() under the shim).
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
		e->pw_gen++;		/* a wait a handler forked in: unlisted */
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

static int emu_atfork_register(void)
{
	if (pool.atfork_installed)
		return 0;
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child))
		return -ENOMEM;
	pool.atfork_installed = true;
	return 0;
}

__attribute__((constructor)) static void emu_atfork_setup(void)
{
	emu_atfork_register();
}

/* --- contexts ------------------------------------------------------------ */

int __syslet_emu_ctx_init(struct syslet_ctx *ctx)
{
	struct syslet_emu *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&pool.lock);
	/* only if it failed at load time (out of memory then) */
	if (emu_atfork_register()) {
		pthread_mutex_unlock(&pool.lock);
		free(e);
		return -ENOMEM;
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
	.wait_posted	= __syslet_emu_wait_posted,
	.pwait_posted	= __syslet_emu_pwait_posted,
	.post		= __syslet_emu_post,
	.cancel		= __syslet_emu_cancel,
	.limits		= __syslet_emu_limits,
	.flush		= __syslet_emu_flush,
	.threadlet	= __syslet_emu_threadlet,
};
