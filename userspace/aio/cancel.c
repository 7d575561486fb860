// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cancel.c - aio_cancel (its public names are in versions.c).
 *
 * A request still waiting behind others on its descriptor is ours alone:
 * it is completed with ECANCELED at once.  So is one the engine holds
 * queued, not started, because every thread it may have (aio_threads) is
 * busy: glibc's requests beyond its threads wait in its queue and are
 * cancelled, and the engine is asked to cancel such a chain only if no
 * thread has taken it (SYSLET_CANCEL_QUEUED; its completion is posted at
 * once, and reaped here).  A request the engine runs is in progress: as
 * with glibc, it is left alone and aio_cancel says AIO_NOTCANCELED (POSIX
 * lets an implementation cancel what it can; the programs and
 * conformance tests written against glibc expect a running request, such
 * as a write blocked on a full socket, to run on).
 *
 * With $SYSLET_AIO_CANCEL_RUNNING=1 (read at each call) the engine's
 * requests are cancelled through the engine (libsyslet: a chain not
 * started completes with -ECANCELED, a running one is interrupted), and
 * aio_cancel then waits a short while for the completions, so that the
 * answer is exact:
 * AIO_CANCELED for a request that ended with ECANCELED; AIO_NOTCANCELED
 * for one that finished anyway (a regular file's write is not
 * interrupted: it reports its real result, as POSIX wants of a request
 * not cancelled) or is still running when the wait ends (a call in an
 * uninterruptible sleep).  The wait has one deadline for all the requests
 * of the call, SAIO_CANCEL_WAIT_MS ($SYSLET_AIO_CANCEL_WAIT_MS, 0 to
 * 60000), however many there are.  Each cancelled request's notification
 * is delivered.
 *
 * The running requests are followed by their pool slot and generation,
 * never through their aiocb: once a request has finished, the program may
 * free its aiocb at any moment (another thread may be waiting for it).
 * Each is given a struct saio_cwait, on the request's list under
 * saio.lock; finishing the request stores its final status there (see
 * saio_req_free()), and before returning aio_cancel takes the ones still
 * waiting off their lists.
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

/* $SYSLET_AIO_CANCEL_RUNNING=1: cancel requests the engine has too */
static bool saio_cancel_running(void)
{
	const char *s = getenv("SYSLET_AIO_CANCEL_RUNNING");

	return s && s[0] == '1' && !s[1];
}

static uint64_t saio_cwait_data(const struct saio_cwait *w)
{
	return (uint64_t)w->gen << 32 | w->idx;
}

static bool saio_cwait_pending(const struct saio_cwait *w)
{
	return __atomic_load_n(&w->status, __ATOMIC_ACQUIRE) == EINPROGRESS;
}

/*
 * Wait, until one deadline, for the 'n' requests of 'w' to finish,
 * re-asking the engine now and then (a request may have been between its
 * queue and the engine when it was first asked).
 */
static void saio_cancel_wait(struct saio_cwait *w, int n, bool running)
{
	struct timespec end, slice = { 0, 10 * 1000000L }, dl, now;
	long ms = saio_cancel_wait_ms();
	struct timespec total = { ms / 1000, (ms % 1000) * 1000000L };
	int i, left;

	saio_deadline(&end, &total);
	__atomic_fetch_add(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t seen = __atomic_load_n(&saio.seq, __ATOMIC_SEQ_CST);

		saio_reap(false);
		saio_drain();	/* never in a handler (saio_lio_wait()) */
		for (i = left = 0; i < n; i++)
			left += w[i].wait && saio_cwait_pending(&w[i]);
		if (!left)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		saio_deadline(&dl, &slice);
		if (saio_wait_seq(seen, &dl) != ETIMEDOUT || !running)
			continue;
		for (i = 0; i < n; i++)
			if (saio_cwait_pending(&w[i]))
				saio_engine_cancel(saio_cwait_data(&w[i]), true);
	}
	__atomic_fetch_sub(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
}

/* Under saio.lock: take w off its request's list if it is still there. */
static void saio_cwait_drop(struct saio_cwait *w)
{
	struct saio_req *r = &saio.pool[w->idx];
	struct saio_cwait **pp;

	if (!saio_cwait_pending(w) || r->gen != w->gen)
		return;
	for (pp = &r->cwait; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

/*
 * Under saio.lock: the requests aio_cancel(fd, cb) is about, one after the
 * other ('prev' NULL for the first): cb's, or every one on fd's queue.
 */
static struct saio_req *saio_scope_next(int fd, const struct aiocb *cb,
					struct saio_req *prev)
{
	struct saio_fd *f;

	if (cb)
		return prev ? NULL : saio_find(cb);
	if (prev) {
		prev = prev->fnext;
	} else {
		for (f = saio.fdhash[(uint32_t)fd & saio.hmask]; f;
		     f = f->hnext)
			if (f->fd == fd)
				break;	/* one queue per descriptor */
		prev = f ? f->head : NULL;
	}
	/* done, as far as the program can tell: saio_find() */
	while (prev && saio_published(prev))
		prev = prev->fnext;
	return prev;
}

/*
 * No request of ours matched: AIO_ALLDONE, but -1 EINVAL for an aiocb
 * that says EINPROGRESS and is no request of this process (a copy of
 * one, a parent's in a fork() child, one never submitted), as glibc's
 * aio_cancel() (review 24 AIO probe finding 4: AIO_ALLDONE, beside
 * aio_error()'s EINPROGRESS).  An aio_cancel() racing the aio_read() of
 * the same aiocb in another thread may find it marked EINPROGRESS before
 * its request exists (saio_read_fast()) and say EINVAL too: the program
 * cancelled a request it had not submitted yet.
 */
static int saio_cancel_unknown(const struct aiocb *cb)
{
	if (cb && saio_load_error(cb) == EINPROGRESS) {
		errno = EINVAL;
		return -1;
	}
	return AIO_ALLDONE;
}

int saio_aio_cancel(int fd, struct aiocb *cb)
{
	struct saio_req *r, *mine = NULL, *next;
	struct saio_cwait *run = NULL;
	int canceled = 0, notcanceled = 0, nrun = 0, found = 0, i, e;
	bool running = saio_cancel_running();

	if (fcntl(fd, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	if (!__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE))
		return saio_cancel_unknown(cb);
	/* a request done but not reaped yet is done: AIO_ALLDONE */
	saio_reap(false);
	saio_drain();	/* never in a handler (saio_lio_wait()) */

	/*
	 * Collect under the lock: waiting requests leave their queue state
	 * (SAIO_RUNNING, so nobody else starts them) and are ours to finish;
	 * each one the engine has gets a saio_cwait on its list.  A running
	 * request may be on another thread's private list (through wnext:
	 * just made ready, about to be started), so only waiting ones are
	 * linked here.
	 */
	saio_lock(&saio.lock);
	for (r = saio_scope_next(fd, cb, NULL); r;
	     r = saio_scope_next(fd, cb, r)) {
		nrun += r->state != SAIO_WAITING;
		found++;
	}
	if (nrun) {
		run = malloc(nrun * sizeof(*run));
		if (!run) {
			/* cannot follow them: leave them alone, say so */
			notcanceled = nrun;
		}
	}
	i = 0;
	for (r = saio_scope_next(fd, cb, NULL); r;
	     r = saio_scope_next(fd, cb, r)) {
		if (r->state == SAIO_WAITING) {
			r->fdq->nr_waiting--;
			r->state = SAIO_RUNNING;
			r->wnext = mine;
			mine = r;
		} else if (run && i < nrun) {
			run[i].idx = r->idx;
			run[i].gen = r->gen;
			run[i].status = EINPROGRESS;
			run[i].wait = true;
			run[i].next = r->cwait;
			r->cwait = &run[i];
			i++;
		}
	}
	/*
	 * A handler may have published a request between the two passes
	 * (saio_publish(), no lock): it is done, skipped by the second, and
	 * run[] holds only what that pass filled.
	 */
	nrun = run ? i : 0;
	saio_unlock(&saio.lock);

	for (r = mine; r; r = next) {
		next = r->wnext;
		saio_complete(r, -ECANCELED);
		canceled++;
	}
	/*
	 * Without $SYSLET_AIO_CANCEL_RUNNING, only the chains no thread has
	 * started: the others run on (AIO_NOTCANCELED), not waited for.
	 */
	for (i = 0; i < nrun; i++)
		if (saio_engine_cancel(saio_cwait_data(&run[i]), running) &&
		    !running)
			run[i].wait = false;
	SAIO_WINDOW();
	if (nrun)
		saio_cancel_wait(run, nrun, running);

	saio_lock(&saio.lock);
	for (i = 0; i < nrun; i++)
		saio_cwait_drop(&run[i]);
	saio_unlock(&saio.lock);
	for (i = 0; i < nrun; i++) {
		e = __atomic_load_n(&run[i].status, __ATOMIC_ACQUIRE);
		if (!run[i].wait && e != EINPROGRESS)
			continue;	/* done meanwhile: by itself, or by another
					 * aio_cancel(), as glibc's AIO_ALLDONE */
		if (e == ECANCELED && run[i].wait)
			canceled++;
		else
			notcanceled++;	/* still running, or finished anyway */
	}
	saio_busy_enter();
	free(run);
	saio_busy_leave();
	if (notcanceled)
		return AIO_NOTCANCELED;
	if (canceled)
		return AIO_CANCELED;
	return found ? AIO_ALLDONE : saio_cancel_unknown(cb);
}
