// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * submit.c - aio_read, aio_write, aio_fsync, lio_listio and aio_init
 * (their public names are in versions.c).
 *
 * Each request becomes one syslet chain of one atom (pread64/pwrite64,
 * read/write on streams, fsync/fdatasync).  Errors found without a system
 * call (a bad aio_reqprio, SIGEV_THREAD without a function, an unknown
 * aio_fsync operation, no request slot left) fail the call; everything
 * the kernel reports (EBADF, EINVAL of O_DIRECT alignment, EIO, ...)
 * becomes the request's error status, as with glibc.  aio_fsync checks its
 * descriptor at once (EBADF), since POSIX lists that as its error.
 *
 * Nothing in the aiocb's public fields is written, not even
 * aio_lio_opcode (glibc writes it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio-internal.h"

/*
 * The fast way of a read: done in the caller before any request exists
 * (saio_engine_read_fast(): a page-cache hit, a memory file), its result
 * published and its notification delivered here, as saio_finish() would.
 * Nothing shared is touched but the aiocb and a counter: no lock, no
 * request slot, no wake-up (nobody can wait for a request that has none:
 * aio_suspend() and aio_cancel() find no request and see the final status
 * or return at once).  Returns true if cb is done; else the usual way
 * follows, *missed saying that an RWF_NOWAIT try missed.
 */
static inline bool saio_read_fast(struct aiocb *cb,
				  const struct sigevent *sev, bool *missed)
{
	struct sigevent copy;
	bool notify, signals;
	int64_t res;

	/* a write in flight may overlap: req.c orders them */
	if (__atomic_load_n(&saio.writes_live, __ATOMIC_RELAXED))
		return false;
	/* as the usual way: in progress from the start of the call */
	saio_store_error(cb, EINPROGRESS);
	if (!saio_engine_read_fast(cb, &res, missed))
		return false;
	if (saio_sigev_fails(sev))
		res = -EINVAL;	/* as glibc: its signal could not be queued */
	notify = saio_sigev_active(sev);
	signals = notify && saio_sigev_signals(sev);
	if (notify)
		copy = *sev;	/* sev may be in cb, free once published */
	if (signals)	/* see saio_finish() */
		__atomic_fetch_add(&saio.notifying, 1, __ATOMIC_SEQ_CST);
	cb->__return_value = res < 0 ? -1 : (ssize_t)res;
	/* after this store the program may free cb: no more access */
	saio_store_error(cb, res < 0 ? (int)-res : 0);
	saio_stat_add(&saio.fast_done, 1);
	if (notify)
		saio_notify(&copy);
	if (signals)
		__atomic_fetch_sub(&saio.notifying, 1, __ATOMIC_SEQ_CST);
	return true;
}

/*
 * Accept cb.  'individual': deliver cb's own sigevent (everything but the
 * GLIBC_2.2.5 lio_listio, whose entries never notify individually).
 */
static inline int saio_submit(struct aiocb *cb, int op,
			      struct saio_lio *lio, bool individual)
{
	static const struct sigevent none = { .sigev_notify = SIGEV_NONE };
	const struct sigevent *sev = individual ? &cb->aio_sigevent : &none;
	struct saio_req *r;
	bool start, missed = false;
	int err;

	if (!__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE) && saio_init())
		return -1;
	/*
	 * aio_fsync looks at aio_fildes and aio_sigevent only (POSIX).  As
	 * glibc: a bad aio_reqprio fails the call and is also the aiocb's
	 * status; a negative offset is the kernel's to refuse (the status
	 * says EINVAL).
	 */
	if ((op == SAIO_READ || op == SAIO_WRITE) && saio_reqprio_bad(cb)) {
		cb->__return_value = -1;
		saio_store_error(cb, EINVAL);
		errno = EINVAL;
		return -1;
	}
	err = saio_sigev_check(sev);
	if (err) {
		errno = err;
		return -1;
	}
	/*
	 * A positioned read waits behind no other request unless a write
	 * in flight overlaps it (req.c), so while no write is in flight
	 * one that can complete in the caller needs no request: a list's
	 * entry done this way never joins its list's count either.  Not an
	 * entry of lio_listio(LIO_NOWAIT), which "shall return immediately",
	 * beyond SAIO_LIO_INLINE bytes of cached reads: the rest are queued,
	 * each to a thread of the engine (docs/aio.md).
	 */
	saio_drain();	/* a handler's published writes may hold back reads */
	if (op == SAIO_READ &&
	    (!lio || !lio->nowait || cb->aio_nbytes <= lio->inline_left) &&
	    saio_read_fast(cb, sev, &missed)) {
		if (lio && lio->nowait)
			lio->inline_left -= cb->aio_nbytes;
		return 0;
	}
	r = saio_req_alloc(cb, op, cb->aio_fildes, sev, lio, &start);
	/*
	 * No slot left: completions nobody has looked at may hold them (a
	 * program that never checks its SIGEV_NONE writes; glibc frees a
	 * request when its helper is done with it).  Reap, then try again.
	 */
	if (!r && errno == EAGAIN && saio_reap(false) > 0)
		r = saio_req_alloc(cb, op, cb->aio_fildes, sev, lio, &start);
	if (!r)
		return -1;
	if (start) {
		r->nowait_missed = missed;
		return saio_start_new(r);
	}
	/*
	 * r starts when an earlier request completes; that completion must
	 * be reaped even if the program does not call us again (it may be
	 * reading the other end of the socket).
	 */
	saio_ensure_reaper();
	return 0;
}

int saio_aio_read(struct aiocb *cb)
{
	return saio_submit(cb, SAIO_READ, NULL, true);
}

int saio_aio_write(struct aiocb *cb)
{
	return saio_submit(cb, SAIO_WRITE, NULL, true);
}

int saio_aio_fsync(int operation, struct aiocb *cb)
{
	if (operation != O_SYNC && operation != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl(cb->aio_fildes, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	return saio_submit(cb, operation == O_SYNC ? SAIO_FSYNC : SAIO_FDSYNC,
			   NULL, true);
}

/*
 * Sleep until list g is done, or a signal handler without SA_RESTART runs
 * (EINTR): as glibc, whose wait is restarted after an SA_RESTART handler
 * (the entries' own signals are such handlers, often).  'sw': the signals
 * the caller blocked (saio_sigwait_begin()).
 */
static int saio_lio_wait(struct saio_lio *g, struct saio_sigwait *sw)
{
	uint32_t outer = saio_wait_bits(), bit = saio_wait_targeted(outer);
	int err;

	/* woken by the list's end, not each completion (complete.c) */
	saio_lock(&saio.lock);
	g->wbits |= bit;
	saio_unlock(&saio.lock);
	saio_wait_targeted(bit);
	err = 0;
	__atomic_fetch_add(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t seen = __atomic_load_n(&saio.seq, __ATOMIC_SEQ_CST);

		if (__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
			break;
		saio_reap(false);
		/* never in a handler: even with the depth left raised */
		saio_drain();
		if (__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
			break;
		err = saio_wait_lead(seen, NULL, saio_sigwait_mask(sw));
		if (err == EINTR && !__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
			break;
		err = 0;
	}
	__atomic_fetch_sub(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	saio_wait_targeted(outer);	/* an outer wait's (a review) */
	return err;
}

/*
 * lio_listio: LIO_NOP and NULL entries are skipped.  An entry that cannot
 * be queued gets that error as its status (aio_error) and makes the call
 * fail, as glibc's does: with LIO_NOWAIT, or when nothing was queued, with
 * the errno of the last entry that could not be (EINVAL for a bad
 * aio_reqprio, EAGAIN for resources); with LIO_WAIT the call returns when
 * every queued entry is done, failing with EIO if any entry failed (EINTR
 * if a signal handler interrupted the wait: the requests go on).  A
 * successful call leaves errno as it was.  With LIO_NOWAIT, 'sig' is
 * delivered once every queued entry is
 * done (at once if none was queued), and each entry's own sigevent is
 * delivered as usual in both modes, except by the GLIBC_2.2.5 version
 * ('individual' false: glibc's LIO_NO_INDIVIDUAL_EVENT).
 */
static int saio_lio(int mode, struct aiocb *const list[], int nent,
		    struct sigevent *sig, bool individual)
{
	struct saio_sigwait sw = { .on = false };
	struct saio_lio *g;
	bool failed = false;
	int i, err, saved = errno, last_err = 0, queued = 0;

	if ((mode != LIO_WAIT && mode != LIO_NOWAIT) || nent < 0) {
		errno = EINVAL;
		return -1;
	}
	if (mode == LIO_NOWAIT && sig) {
		err = saio_sigev_check(sig);
		if (err) {
			errno = err;
			return -1;
		}
	}
	if (saio_init())
		return -1;
	saio_busy_enter();
	g = calloc(1, sizeof(*g));
	saio_busy_leave();
	if (!g) {
		errno = EAGAIN;
		return -1;
	}
	g->pending = 1;		/* ours, until everything is queued */
	g->nowait = mode == LIO_NOWAIT;
	g->inline_left = SAIO_LIO_INLINE;
	g->refs = mode == LIO_WAIT ? 2 : 1;
	if (mode == LIO_NOWAIT && sig && saio_sigev_active(sig)) {
		g->notify = true;
		g->sev = *sig;
	}

	for (i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];
		int op;

		if (!cb || cb->aio_lio_opcode == LIO_NOP)
			continue;
		if (cb->aio_lio_opcode == LIO_READ) {
			op = SAIO_READ;
		} else if (cb->aio_lio_opcode == LIO_WRITE) {
			op = SAIO_WRITE;
		} else if (saio_reqprio_bad(cb)) {
			/*
			 * glibc refuses it before it looks at the opcode
			 * (but for its internal opcodes 3 and 4, fdatasync
			 * and fsync, which the shim does not take either)
			 */
			last_err = EINVAL;
			failed = true;
			cb->__return_value = -1;
			saio_store_error(cb, EINVAL);
			continue;
		} else {
			/*
			 * As glibc, which queues it and fails it there: the
			 * entry's status is EINVAL and its own notification
			 * is sent; LIO_NOWAIT itself succeeds.
			 */
			cb->__return_value = -1;
			saio_store_error(cb, EINVAL);
			if (individual && saio_sigev_check(&cb->aio_sigevent) == 0)
				saio_notify(&cb->aio_sigevent);
			queued++;
			if (mode == LIO_WAIT)
				failed = true;
			continue;
		}
		if (!saio_submit(cb, op, g, individual)) {
			queued++;
			continue;
		}
		last_err = errno;
		failed = true;
		cb->__return_value = -1;
		saio_store_error(cb, errno);
	}

	saio_lio_put(g, false);	/* may fire the list event */
	if (mode == LIO_WAIT) {
		/*
		 * From here a signal runs its handler only in the wait's
		 * sleep, which then ends with EINTR (complete.c, struct
		 * saio_sigwait).  Not while the entries are queued: one that
		 * blocks in this thread (a stream's read that cannot be
		 * handed off: a traced thread) would block every signal for
		 * as long (a review: a handler ran only when the data came);
		 * one that comes then runs its handler there, as glibc's.
		 */
		saio_sigwait_begin(&sw);
		err = saio_lio_wait(g, &sw);
		saio_sigwait_end(&sw);
		/*
		 * Our reference goes under the lock, like the requests' ones
		 * (saio_lio_put()): the last request may still be between
		 * setting g->done and dropping its reference.  After EINTR,
		 * the last request frees g.
		 */
		saio_lock(&saio.lock);
		i = --g->refs;
		saio_unlock(&saio.lock);
		if (!i) {
			saio_busy_enter();
			free(g);
			saio_busy_leave();
		}
		if (err) {
			errno = err;
			return -1;
		}
		for (i = 0; i < nent && !failed; i++) {
			struct aiocb *cb = list[i];

			if (cb && cb->aio_lio_opcode != LIO_NOP &&
			    saio_load_error(cb) != 0)
				failed = true;
		}
	}
	if (last_err && (mode == LIO_NOWAIT || !queued)) {
		errno = last_err;
		return -1;
	}
	if (failed) {
		errno = EIO;
		return -1;
	}
	errno = saved;
	return 0;
}

int saio_lio_listio(int mode, struct aiocb *const list[],
				int nent, struct sigevent *sig)
{
	return saio_lio(mode, list, nent, sig, true);
}

/* lio_listio@GLIBC_2.2.5, for programs linked against glibc < 2.4 */
int saio_lio_listio_old(int mode, struct aiocb *const list[],
				    int nent, struct sigevent *sig)
{
	return saio_lio(mode, list, nent, sig, false);
}

/*
 * As glibc: aio_threads bounds the worker threads (at least 1; glibc's
 * default, 20, unless $SYSLET_AIO_THREADS says otherwise), aio_idle_time
 * (seconds, if not 0) is how long an idle one stays.  aio_num, glibc's
 * guess of how many requests will be in flight, sizes nothing here: the
 * request pool is SYSLET_AIO_MAX.  Works before and after the first
 * request.
 */
void saio_aio_init(const struct aioinit *init)
{
	uint32_t threads, idle = 0;

	if (!init)
		return;
	threads = init->aio_threads < 1 ? 1 :
		  init->aio_threads > SAIO_THREADS_LIMIT ? SAIO_THREADS_LIMIT :
		  (uint32_t)init->aio_threads;
	if (init->aio_idle_time > 0)
		idle = init->aio_idle_time > 3600 ? 3600000 :
		       (uint32_t)init->aio_idle_time * 1000;
	__atomic_store_n(&saio.max_threads, threads, __ATOMIC_RELAXED);
	if (idle)
		__atomic_store_n(&saio.idle_msecs, idle, __ATOMIC_RELAXED);
	if (__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE))
		saio_engine_limits(threads, idle);
}
