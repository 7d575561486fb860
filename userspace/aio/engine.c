// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * engine.c - the syslet engine under libsyslet-aio: one chain per request,
 * one completion ring per process, no file descriptor.
 *
 * Two backends, chosen once at start-up:
 *   kernel	async_exec()/async_wait()/async_cancel() (syscalls 451-453)
 *		when the running kernel has them: a cached read completes in
 *		the caller (SYSLET_DONE), a blocking one is handed to an async
 *		thread and posts to the ring (SYSLET_QUEUED).
 *   emulated	otherwise: a small pool of worker threads runs the chain's
 *		system call and posts to the same ring layout.  A cancelled
 *		running chain is interrupted with SAIO_EMU_SIGNAL (a no-op
 *		handler without SA_RESTART, so the call returns EINTR).
 * SYSLET_AIO_BACKEND=emulated forces the emulated backend.
 *
 * This file is the only one that knows about the engine.  It is written
 * against the ABI (include/uapi/linux/syslet.h) because libsyslet's public
 * header was not available when the shim was written; once it is, the
 * emulated half gives way to libsyslet's own emulation and the kernel half
 * to its submit/reap calls, without change to the rest of the shim.
 *
 * The ring has one consumer at a time (the caller holds saio.reap_lock).
 * Completions are copied out and the tail advanced before they are
 * processed, because processing may submit new chains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/time_types.h>
#include <limits.h>

#include "aio-internal.h"

#ifndef __NR_async_exec
#define __NR_async_exec		451
#define __NR_async_wait		452
#define __NR_async_cancel	453
#define __NR_async_limits	454
#endif

#define SAIO_RING_ENTRIES	1024
#define SAIO_REAP_BATCH		64
#define SAIO_EMU_MAX_WORKERS	256
#define SAIO_EMU_IDLE_SECS	10
#define SAIO_EMU_SIGNAL		(SIGRTMAX)

static struct syslet_ring *ring;
static uint32_t backend;

/* ---- emulated backend ------------------------------------------------ */

struct emu_worker {
	pthread_t thread;
	struct saio_req *cur;		/* chain running now, under emu.lock */
	bool cancel;			/* cur was cancelled */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work queued */
	struct saio_req *head, *tail;	/* queued chains, through 'chain' */
	uint32_t nr_workers, nr_idle;
	uint32_t nr_queued;		/* on the queue, not claimed yet */
	struct emu_worker *workers[SAIO_EMU_MAX_WORKERS];
} emu = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* Post one completion to the ring.  Under emu.lock (single producer). */
static void emu_post(uint64_t user_data, int64_t status, uint32_t flags)
{
	uint32_t head = ring->head;
	struct syslet_completion *c;

	/*
	 * The ring has room for every request the pool can hold plus the
	 * wake-ups; should a consumer be slow, wait for it (never drop).
	 */
	while (head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) >=
	       ring->nr_entries) {
		pthread_mutex_unlock(&emu.lock);
		sched_yield();
		pthread_mutex_lock(&emu.lock);
		head = ring->head;
	}
	c = &ring->entries[head & (ring->nr_entries - 1)];
	c->status = status;
	c->user_data = user_data;
	c->atom = 0;
	c->flags = flags;
	c->nr_atoms = 1;
	/* the entry must be visible before the new head */
	__atomic_store_n(&ring->head, head + 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ring->head, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

static void emu_sig(int sig)
{
	(void)sig;
}

static int64_t emu_run(const struct syslet_atom *a)
{
	uint64_t v[6] = { 0 };
	long ret;
	int i;

	for (i = 0; i < 6; i++)
		if (a->arg_ptr[i])
			v[i] = *(uint64_t *)(uintptr_t)a->arg_ptr[i];
	ret = syscall(a->nr, v[0], v[1], v[2], v[3], v[4], v[5]);
	return ret < 0 ? -errno : ret;
}

static void *emu_worker_fn(void *arg)
{
	struct emu_worker *w = arg;
	struct saio_req *r;
	struct timespec dl;
	sigset_t set;
	int64_t res;
	uint64_t ud;

	pthread_setname_np(pthread_self(), "aio-emu-worker");
	sigemptyset(&set);
	sigaddset(&set, SAIO_EMU_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	pthread_mutex_lock(&emu.lock);
	for (;;) {
		while (!emu.head) {
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += SAIO_EMU_IDLE_SECS;
			emu.nr_idle++;
			if (pthread_cond_timedwait(&emu.cond, &emu.lock, &dl) &&
			    !emu.head) {
				emu.nr_idle--;
				goto out;
			}
			emu.nr_idle--;
		}
		r = emu.head;
		emu.head = r->elink;
		emu.nr_queued--;
		if (!emu.head)
			emu.tail = NULL;
		w->cur = r;
		w->cancel = false;
		ud = saio_user_data(r);
		pthread_mutex_unlock(&emu.lock);

		res = emu_run(&r->atom);

		pthread_mutex_lock(&emu.lock);
		w->cur = NULL;
		if (w->cancel && res == -EINTR)
			res = -ECANCELED;
		emu_post(ud, res, res == -ECANCELED ? SYSLET_COMP_CANCELED : 0);
	}
out:
	for (uint32_t i = 0; i < SAIO_EMU_MAX_WORKERS; i++)
		if (emu.workers[i] == w)
			emu.workers[i] = NULL;
	emu.nr_workers--;
	pthread_mutex_unlock(&emu.lock);
	free(w);
	return NULL;
}

/*
 * Under emu.lock: start one more worker unless the idle ones can take
 * every queued chain (including the one about to be queued).
 */
static int emu_spawn(void)
{
	struct emu_worker *w;
	pthread_attr_t attr;
	sigset_t all, old;
	uint32_t i;
	int err;

	if (emu.nr_idle > emu.nr_queued ||
	    emu.nr_workers >= SAIO_EMU_MAX_WORKERS)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return emu.nr_workers ? 0 : -EAGAIN;
	for (i = 0; emu.workers[i]; i++)
		;
	emu.workers[i] = w;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&w->thread, &attr, emu_worker_fn, w);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		emu.workers[i] = NULL;
		free(w);
		return emu.nr_workers ? 0 : -EAGAIN;
	}
	emu.nr_workers++;
	return 0;
}

static int emu_submit(struct saio_req *r)
{
	int err;

	pthread_mutex_lock(&emu.lock);
	err = emu_spawn();
	if (!err) {
		r->elink = NULL;
		if (emu.tail)
			emu.tail->elink = r;
		else
			emu.head = r;
		emu.tail = r;
		emu.nr_queued++;
		pthread_cond_signal(&emu.cond);
	}
	pthread_mutex_unlock(&emu.lock);
	return err;
}

static int emu_cancel(uint64_t ud)
{
	struct saio_req **pp, *r;
	uint32_t i;
	int ret = -ENOENT;

	pthread_mutex_lock(&emu.lock);
	for (pp = &emu.head, r = NULL; *pp; pp = &(*pp)->elink) {
		if (saio_user_data(*pp) == ud) {
			r = *pp;
			*pp = r->elink;
			emu.nr_queued--;
			if (emu.tail == r)
				emu.tail = NULL;
			break;
		}
	}
	if (r) {
		/* rebuild the tail pointer if we removed the last entry */
		if (!emu.tail && emu.head)
			for (emu.tail = emu.head; emu.tail->elink;)
				emu.tail = emu.tail->elink;
		emu_post(ud, -ECANCELED, SYSLET_COMP_CANCELED);
		ret = 0;
	} else {
		for (i = 0; i < SAIO_EMU_MAX_WORKERS; i++) {
			struct emu_worker *w = emu.workers[i];

			if (w && w->cur && saio_user_data(w->cur) == ud) {
				w->cancel = true;
				pthread_kill(w->thread, SAIO_EMU_SIGNAL);
				ret = 0;
			}
		}
	}
	pthread_mutex_unlock(&emu.lock);
	return ret;
}

static int emu_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = emu_sig;	/* no SA_RESTART: interrupt the call */
	sigemptyset(&sa.sa_mask);
	return sigaction(SAIO_EMU_SIGNAL, &sa, NULL) ? -errno : 0;
}

/* ---- common ------------------------------------------------------------ */

/* Fill in r's atom: one system call, arguments by pointer into r->args. */
static void saio_fill_atom(struct saio_req *r)
{
	struct syslet_atom *a = &r->atom;
	int nargs = 4, i;

	memset(a, 0, sizeof(*a));
	r->args[0] = (uint64_t)r->fd;
	r->args[1] = (uint64_t)(uintptr_t)r->cb->aio_buf;
	r->args[2] = (uint64_t)r->cb->aio_nbytes;
	r->args[3] = (uint64_t)r->cb->aio_offset;
	switch (r->op) {
	case SAIO_READ:
		a->nr = r->stream ? SYS_read : SYS_pread64;
		nargs = r->stream ? 3 : 4;
		break;
	case SAIO_WRITE:
		a->nr = r->stream ? SYS_write : SYS_pwrite64;
		nargs = r->stream ? 3 : 4;
		break;
	case SAIO_FSYNC:
		a->nr = SYS_fsync;
		nargs = 1;
		break;
	default:
		a->nr = SYS_fdatasync;
		nargs = 1;
		break;
	}
	for (i = 0; i < nargs; i++)
		a->arg_ptr[i] = (uint64_t)(uintptr_t)&r->args[i];
	a->private = saio_user_data(r);
}

int saio_engine_init(void)
{
	struct syslet_limits lim;
	const char *force = getenv("SYSLET_AIO_BACKEND");
	size_t bytes = SYSLET_RING_BYTES(SAIO_RING_ENTRIES);

	ring = aligned_alloc(SYSLET_RING_ALIGN,
			     (bytes + SYSLET_RING_ALIGN - 1) &
			     ~(size_t)(SYSLET_RING_ALIGN - 1));
	if (!ring)
		return -ENOMEM;
	memset(ring, 0, bytes);
	ring->size = sizeof(*ring);
	ring->nr_entries = SAIO_RING_ENTRIES;

	memset(&lim, 0, sizeof(lim));
	lim.size = sizeof(lim);
	if ((!force || strcmp(force, "emulated")) &&
	    syscall(__NR_async_limits, NULL, &lim) == 0) {
		backend = SYSLET_AIO_BACKEND_KERNEL;
		return 0;
	}
	backend = SYSLET_AIO_BACKEND_EMULATED;
	return emu_init();
}

void saio_engine_fork_child(void)
{
	size_t bytes = SYSLET_RING_BYTES(SAIO_RING_ENTRIES);

	/* the parent's chains post to the parent's ring, not to ours */
	memset(ring, 0, bytes);
	ring->size = sizeof(*ring);
	ring->nr_entries = SAIO_RING_ENTRIES;
	pthread_mutex_init(&emu.lock, NULL);
	pthread_cond_init(&emu.cond, NULL);
	emu.head = emu.tail = NULL;
	emu.nr_workers = emu.nr_idle = emu.nr_queued = 0;
	memset(emu.workers, 0, sizeof(emu.workers));
}

uint32_t saio_engine_backend(void)
{
	return backend;
}

/*
 * Submit r's chain.  Returns 1 if it completed in the caller (result in
 * r->ret), 0 if its completion will come through the ring, or -errno.
 */
int saio_engine_submit(struct saio_req *r)
{
	struct syslet_completion done;
	long ret;

	saio_fill_atom(r);
	if (backend == SYSLET_AIO_BACKEND_EMULATED)
		return emu_submit(r);
	ret = syscall(__NR_async_exec, &r->atom, ring, &done, 0);
	if (ret == SYSLET_DONE) {
		r->ret = done.status;
		return 1;
	}
	return ret == SYSLET_QUEUED ? 0 : -errno;
}

int saio_engine_cancel(uint64_t user_data)
{
	if (backend == SYSLET_AIO_BACKEND_EMULATED)
		return emu_cancel(user_data);
	return syscall(__NR_async_cancel, ring, user_data, 0) < 0 ? -errno : 0;
}

/*
 * Process the completions in the ring.  With 'wait', first sleep until
 * there is at least one: forever if 'rel' is NULL, else at most 'rel'
 * (then returning 0 on timeout and -EINTR if a signal handler ran).
 * Returns how many completions were processed.
 */
int saio_engine_reap(bool wait, const struct timespec *rel)
{
	struct {
		uint64_t ud;
		int64_t status;
	} batch[SAIO_REAP_BATCH];
	uint32_t head, tail;
	int n, i, total = 0;
	long ret;

	for (;;) {
		tail = ring->tail;
		head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
		if (head == tail && __atomic_load_n(&ring->kflags,
						    __ATOMIC_RELAXED) &
		    SYSLET_RING_OVERFLOW && backend == SYSLET_AIO_BACKEND_KERNEL) {
			/* completions parked in the kernel: let it flush them */
			syscall(__NR_async_wait, ring, 0, NULL, NULL, 0);
			head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
		}
		if (head == tail) {
			if (!wait || total)
				return total;
			if (backend == SYSLET_AIO_BACKEND_KERNEL) {
				struct __kernel_timespec kts;

				if (rel) {
					kts.tv_sec = rel->tv_sec;
					kts.tv_nsec = rel->tv_nsec;
				}
				ret = syscall(__NR_async_wait, ring, 1,
					      rel ? &kts : NULL, NULL, 0);
			} else {
				ret = syscall(SYS_futex, &ring->head,
					      FUTEX_WAIT_PRIVATE, head, rel,
					      NULL, 0);
			}
			if (rel) {
				/* one bounded wait, then whatever is there */
				if (ret < 0 && errno == EINTR &&
				    __atomic_load_n(&ring->head,
						    __ATOMIC_ACQUIRE) == tail)
					return -EINTR;
				wait = false;
			}
			continue;
		}
		for (n = 0; tail != head && n < SAIO_REAP_BATCH; n++, tail++) {
			const struct syslet_completion *c =
				&ring->entries[tail & (ring->nr_entries - 1)];

			batch[n].ud = c->user_data;
			batch[n].status = c->status;
		}
		/* entries read before the kernel may reuse the slots */
		__atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
		for (i = 0; i < n; i++)
			saio_chain_done(batch[i].ud, batch[i].status);
		total += n;
	}
}
