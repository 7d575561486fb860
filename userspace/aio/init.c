// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * init.c - the shim's state, set up on first use and started afresh in the
 * child of a fork(); the environment it reads; syslet_aio_stats().
 *
 * Nothing is set up until the first AIO call that needs it (saio_init()):
 * the request pool and hashes (req.c), the engine context (chains.c).  The
 * pthread_atfork child handler is registered when the library is loaded,
 * so that a fork() while another thread is inside saio_init() (init_lock
 * held) finds it in place.  In the child it drops all of the parent's
 * state (its aiocbs keep saying EINPROGRESS, as with glibc), frees every
 * lock of the shim, and leaves no reaper; the child's first AIO call
 * replaces the libsyslet context.
 *
 * Environment: SYSLET_AIO_MAX (requests in flight at most),
 * SYSLET_AIO_THREADS (default bound on worker threads; aio_init() sets
 * it too); SYSLET_AIO_INLINE and SYSLET_BACKEND are read by chains.c and
 * libsyslet, SYSLET_AIO_CANCEL_WAIT_MS by cancel.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aio-internal.h"

struct saio_global saio = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.reap_lock = PTHREAD_MUTEX_INITIALIZER,
};

SAIO_TLS volatile sig_atomic_t saio_t_busy;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool atfork_done;

/*
 * pthread_atfork child handler: forget everything the parent had.  The
 * engine context is replaced by the next saio_init() rather than here:
 * libsyslet's own child handler may not have run yet (child handlers run
 * in registration order), so calling into libsyslet now could deadlock.
 */
static void saio_fork_child(void)
{
	pthread_mutex_init(&saio.lock, NULL);
	pthread_mutex_init(&saio.reap_lock, NULL);
	pthread_mutex_init(&init_lock, NULL);
	/*
	 * The forking thread's depth: raised if the fork came from a handler
	 * that interrupted the shim, whose frame goes on in the child with
	 * every lock above re-made (saio_busy_leave() stops at 0); or if a
	 * handler once left such a frame with siglongjmp().
	 */
	saio_t_busy = 0;
	saio.deferred = NULL;
	saio_reaper_forget();
	if (!saio.ready)
		return;
	/* what completed before the fork, unreaped: its status, as glibc */
	saio_fork_publish();
	saio_pools_reset();
	saio.nr_notify = 0;
	saio.seq = 0;
	saio.nr_waiters = 0;
	saio.notifying = 0;
	memset(&saio.st, 0, sizeof(saio.st));
	saio.fast_done = 0;
	saio.forked = true;
	__atomic_store_n(&saio.ready, false, __ATOMIC_RELEASE);
}

/* If registering fails here, saio_init() tries again. */
__attribute__((constructor)) static void saio_atfork_setup(void)
{
	atfork_done = !pthread_atfork(NULL, NULL, saio_fork_child);
}

/* A positive number from the environment, at most 'limit', or 'def'. */
static uint32_t saio_env_u32(const char *name, uint32_t def, uint32_t limit)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	if (*end || v == 0)
		return def;
	return v > limit ? limit : (uint32_t)v;
}

static int saio_engine_start(void)
{
	int err = -saio_engine_init(
		__atomic_load_n(&saio.max_threads, __ATOMIC_RELAXED),
		__atomic_load_n(&saio.idle_msecs, __ATOMIC_RELAXED));

	if (err)
		return err;
	saio.pid = getpid();
	saio.st.backend = saio_engine_backend();
	return 0;
}

/*
 * Set everything up on first use.  Returns 0, or -1 with errno set (and
 * the same errno for every later call: a failed engine does not come back).
 */
int saio_init(void)
{
	int err = 0, saved = errno;

	if (__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE))
		return 0;
	saio_lock(&init_lock);
	if (saio.ready || saio.init_err)
		goto out;
	if (saio.forked) {
		err = saio_engine_start();
		if (err) {
			saio.init_err = err;
			goto out;
		}
		saio.forked = false;
		__atomic_store_n(&saio.ready, true, __ATOMIC_RELEASE);
		goto out;
	}
	/* aio_init() before the first request may have set it */
	if (!__atomic_load_n(&saio.max_threads, __ATOMIC_RELAXED))
		__atomic_store_n(&saio.max_threads,
				 saio_env_u32("SYSLET_AIO_THREADS",
					      SAIO_THREADS_DEFAULT,
					      SAIO_THREADS_LIMIT),
				 __ATOMIC_RELAXED);
	err = saio_pools_alloc(saio_env_u32("SYSLET_AIO_MAX", SAIO_MAX_DEFAULT,
					    SAIO_MAX_LIMIT));
	if (err)
		goto fail;
	err = saio_engine_start();
	if (err)
		goto fail;
	SAIO_WINDOW();
	if (!atfork_done && pthread_atfork(NULL, NULL, saio_fork_child)) {
		err = ENOMEM;
		goto fail;
	}
	atfork_done = true;
	__atomic_store_n(&saio.ready, true, __ATOMIC_RELEASE);
	goto out;
fail:
	saio_pools_free();
	saio.init_err = err;
out:
	err = saio.init_err;
	saio_unlock(&init_lock);
	if (err) {
		/* "not queued due to system resource limitations" */
		errno = err == ENOSYS ? EAGAIN : err;
		return -1;
	}
	errno = saved;	/* the backend probe's ENOSYS/EINVAL is not the caller's */
	return 0;
}

/* The shim's own introspection call (syslet-aio.h). */
int saio_stats(struct syslet_aio_stats *st, size_t size)
{
	struct syslet_aio_stats s;
	uint64_t fast;

	saio_init();		/* so that 'backend' is known */
	saio_lock(&saio.lock);
	s = saio.st;
	saio_unlock(&saio.lock);
	s.calls = __atomic_load_n(&saio.st.calls, __ATOMIC_RELAXED);
	/* reads done on the fast way (submit.c) have no request */
	fast = __atomic_load_n(&saio.fast_done, __ATOMIC_RELAXED);
	s.submitted += fast;
	s.completed += fast;
	s.inline_done += fast;
	memcpy(st, &s, size < sizeof(s) ? size : sizeof(s));
	return 0;
}
