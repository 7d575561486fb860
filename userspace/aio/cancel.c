// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cancel.c - aio_cancel.
 *
 * A request still waiting behind others on its descriptor is ours alone:
 * it is completed with ECANCELED at once.  A request the engine has is
 * cancelled through the engine (libsyslet: a chain not started completes
 * with -ECANCELED, a running one is interrupted); aio_cancel then waits a
 * short while (SAIO_CANCEL_WAIT_MS) for its completion, so that the answer
 * is exact: AIO_CANCELED if it ended with ECANCELED, counted as done if it
 * finished anyway, AIO_NOTCANCELED if it is still running after the wait
 * (a call in an uninterruptible sleep).  Either way each cancelled
 * request's notification is delivered.  $SYSLET_AIO_CANCEL_WAIT_MS sets
 * the wait (0 to 60000).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>

#include "aio-internal.h"

#define SAIO_CANCEL_WAIT_MS	2000

static long saio_cancel_wait_ms(void)
{
	const char *s = getenv("SYSLET_AIO_CANCEL_WAIT_MS");
	char *end;
	long v;

	if (!s || !*s)
		return SAIO_CANCEL_WAIT_MS;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 60000)
		return SAIO_CANCEL_WAIT_MS;
	return v;
}

/* Wait for cb to leave EINPROGRESS, re-asking the engine now and then. */
static int saio_cancel_wait(struct aiocb *cb, uint64_t user_data)
{
	struct timespec end, slice = { 0, 10 * 1000000L }, dl, now;
	long ms = saio_cancel_wait_ms();
	struct timespec total = { ms / 1000, (ms % 1000) * 1000000L };
	int e;

	saio_deadline(&end, &total);
	__atomic_fetch_add(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t seen = __atomic_load_n(&saio.seq, __ATOMIC_SEQ_CST);

		e = saio_status(cb);
		if (e != EINPROGRESS)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		saio_deadline(&dl, &slice);
		if (saio_wait_seq(seen, &dl) == ETIMEDOUT)
			/* it may have been between queue and engine: ask again */
			saio_engine_cancel(user_data);
	}
	__atomic_fetch_sub(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	return e;
}

SAIO_EXPORT int saio_aio_cancel(int fd, struct aiocb *cb)
{
	struct saio_req *r, *mine = NULL, *theirs = NULL, *next;
	struct saio_run {
		struct aiocb *cb;
		uint64_t ud;
	} *run = NULL;
	int canceled = 0, notcanceled = 0, nrun = 0, more = 0, i, e;

	saio_count_call();
	if (fcntl(fd, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	if (!__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE))
		return AIO_ALLDONE;

	/*
	 * Collect under the lock: waiting requests leave their queue state
	 * (SAIO_RUNNING, so nobody else starts them) and are ours to finish;
	 * running ones are noted with their aiocb and user_data, which stay
	 * meaningful after the lock is dropped even if the request completes.
	 */
	pthread_mutex_lock(&saio.lock);
	if (cb) {
		r = saio_find(cb);
		if (r)
			r->wnext = NULL;
	} else {
		struct saio_req *q;
		struct saio_fd *f;

		r = NULL;
		for (f = saio.fdhash[(uint32_t)fd & saio.hmask]; f;
		     f = f->hnext) {
			if (f->fd != fd)
				continue;
			for (q = f->head; q; q = q->fnext) {
				q->wnext = r;
				r = q;
			}
		}
	}
	for (; r; r = next) {
		next = r->wnext;
		if (r->state == SAIO_WAITING) {
			r->fdq->nr_waiting--;
			r->state = SAIO_RUNNING;
			r->wnext = mine;
			mine = r;
		} else {
			r->wnext = theirs;
			theirs = r;
		}
	}
	/* copy what we need of the running ones before they can go */
	for (r = theirs; r; r = r->wnext)
		nrun++;
	if (nrun) {
		run = malloc(nrun * sizeof(*run));
		if (!run) {
			/* cannot track them: report them as running */
			more = nrun;
			nrun = 0;
		}
	}
	for (r = theirs, i = 0; r && run; r = r->wnext, i++) {
		run[i].cb = r->cb;
		run[i].ud = saio_user_data(r);
	}
	pthread_mutex_unlock(&saio.lock);

	for (r = mine; r; r = next) {
		next = r->wnext;
		saio_complete(r, -ECANCELED);
		canceled++;
	}
	for (i = 0; i < nrun; i++)
		saio_engine_cancel(run[i].ud);
	for (i = 0; i < nrun; i++) {
		e = saio_cancel_wait(run[i].cb, run[i].ud);
		if (e == ECANCELED)
			canceled++;
		else if (e == EINPROGRESS)
			notcanceled++;
	}
	free(run);
	if (notcanceled || more)
		return AIO_NOTCANCELED;
	if (canceled)
		return AIO_CANCELED;
	return AIO_ALLDONE;
}

#ifdef SAIO_STATIC
SAIO_EXPORT int aio_cancel(int fd, struct aiocb *cb)
	__attribute__((alias("saio_aio_cancel")));
SAIO_EXPORT int aio_cancel64(int fd, struct aiocb64 *cb)
	__attribute__((alias("saio_aio_cancel")));
#else
SAIO_VERSIONS(saio_aio_cancel, aio_cancel);
SAIO_VERSIONS(saio_aio_cancel, aio_cancel64);
#endif
