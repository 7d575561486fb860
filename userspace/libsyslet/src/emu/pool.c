// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: the worker pool: threads, the job queue, submission and limits.
 */
#include "emu.h"

struct emu_pool pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.max_threads = EMU_DEF_MAX_THREADS,
	.idle_msecs = EMU_DEF_IDLE_MSECS,
	.max_chains = EMU_DEF_MAX_CHAINS,
};

/* --- workers ----------------------------------------------------------- */

static void *worker(void *unused)
{
	(void)unused;
	/* not the name of whichever thread happened to start the worker */
	pthread_setname_np(pthread_self(), "syslet-emu");
	/* all signals blocked (see start_job()); run_syscall() opens one */
	t_worker = true;

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
void unqueue_locked(struct emu_job *j)
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

	/* as the kernel: unknown flags, reserved words not 0 (ABI v1) */
	if ((flags & ~SYSLET_ATOM_FLAGS) || head->__reserved[0] ||
	    head->__reserved[1])
		return -EINVAL;
	if ((flags & SYSLET_ASYNC) && (flags & SYSLET_SYNC))
		return -EINVAL;
	/* a worker blocks every signal: SYSLET_NOSIGNAL is what it does */
	if ((flags & SYSLET_NOSIGNAL) && !(flags & SYSLET_ASYNC))
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

/* A struct syslet_limits' size, checked as the kernel checks it (ABI v1). */
static int limits_size_check(uint32_t size)
{
	if (size > SYSLET_LIMITS_SIZE_MAX)
		return -E2BIG;
	if (size < SYSLET_LIMITS_SIZE_VER0 || size % sizeof(uint64_t))
		return -EINVAL;
	return 0;
}

int __syslet_emu_limits(const struct syslet_limits *set,
			struct syslet_limits *get)
{
	struct syslet_limits l;
	uint32_t gsize = 0;
	int ret;

	if (get) {
		gsize = get->size;
		ret = limits_size_check(gsize);
		if (ret)
			return ret;
	}
	if (set) {
		ret = limits_size_check(set->size);
		if (ret)
			return ret;
		/* copy_struct_from_user(): missing fields 0, extra bytes 0 */
		memset(&l, 0, sizeof(l));
		memcpy(&l, set, set->size < sizeof(l) ? set->size : sizeof(l));
		for (size_t i = sizeof(l); i < set->size; i++)
			if (((const unsigned char *)set)[i])
				return -E2BIG;
		if (l.__reserved || l.__reserved2[0] || l.__reserved2[1] ||
		    l.__reserved2[2] ||
		    l.max_threads > EMU_MAX_MAX_THREADS ||
		    l.idle_msecs > EMU_MAX_IDLE_MSECS ||
		    l.max_chains > EMU_MAX_MAX_CHAINS)
			return -EINVAL;
		pthread_mutex_lock(&pool.lock);
		if (l.max_threads)
			pool.max_threads = l.max_threads;
		if (l.idle_msecs)
			pool.idle_msecs = l.idle_msecs;
		if (l.max_chains)
			pool.max_chains = l.max_chains;
		pthread_mutex_unlock(&pool.lock);
	}
	if (get) {
		memset(&l, 0, sizeof(l));
		l.size = gsize < sizeof(l) ? gsize : sizeof(l);
		pthread_mutex_lock(&pool.lock);
		l.max_threads = pool.max_threads;
		l.idle_msecs = pool.idle_msecs;
		l.max_chains = pool.max_chains;
		l.nr_threads = pool.nr_threads;
		l.nr_idle = pool.nr_idle;
		l.nr_chains = pool.nr_chains;
		l.chains_done = pool.chains_done;
		pthread_mutex_unlock(&pool.lock);
		/* @gsize bytes: as much as both know, zeroes past it */
		memcpy(get, &l, gsize < sizeof(l) ? gsize : sizeof(l));
		if (gsize > sizeof(l))
			memset((char *)get + sizeof(l), 0, gsize - sizeof(l));
	}
	return 0;
}

