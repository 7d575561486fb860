// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * complete.c - completions, and the calls that observe them: aio_error,
 * aio_return, aio_suspend (their public names are in versions.c).
 *
 * Completion dispatch.  A request that completes in the submitting thread
 * (a page-cache hit: the engine said SYSLET_DONE, or the RWF_NOWAIT
 * attempt of chains.c succeeded) is finished right there: no other
 * thread, no ring.  A request that went asynchronous posts its
 * completion to the engine's ring, and the ring is reaped:
 *   - lazily, without blocking, by aio_error, aio_return and aio_suspend
 *     (whoever gets saio.reap_lock; a caller that does not get it knows
 *     someone else is reaping); called in a signal handler that
 *     interrupted its thread inside the shim (saio_t_busy), they only
 *     publish what they take, and calls outside handlers finish it
 *     (saio_publish(), saio_drain());
 *   - by a leader: a thread in aio_suspend or lio_listio(LIO_WAIT) that
 *     waits in the engine itself and reaps (saio_wait_lead(); untimed
 *     ones on the kernel backend, any number at once, saio_wait_engine());
 *   - by the reaper, one thread per process, created the first time a
 *     caller has to sleep and cannot lead (a timed sleeper while another
 *     leads, an untimed sleeper on the emulated backend, aio_cancel),
 *     a request needing a notification goes asynchronous, a write goes to
 *     an engine thread or a request waits behind another.  It blocks in
 *     the engine's wait with every signal blocked, and exists at most
 *     once.
 * Sleepers other than a leader (saio_wait_lead(): aio_suspend, and
 * lio_listio(LIO_WAIT), when no reaper runs) do not wait in the engine:
 * they wait on saio.seq, a futex word bumped after every completion, woken
 * by those of the requests they wait for (targeted wakes, below).  So a
 * sleeper sees completions made by any thread, inline ones included; an
 * untimed wait is an untimed futex wait, which the kernel restarts after
 * an SA_RESTART handler (as glibc's aio_suspend and lio_listio(LIO_WAIT)
 * do), a timed one ends with EINTR after any handler.  An untimed waiter
 * on the kernel backend waits in the engine with SYSLET_WAIT_RESTART,
 * which the kernel restarts the same way, and is woken through the ring
 * for what completes elsewhere (eng_sleep).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#include "aio-internal.h"

static pthread_mutex_t reaper_lock = PTHREAD_MUTEX_INITIALIZER;
static bool saio_leading;	/* atomic: a thread leads (saio_wait_lead()) */
/*
 * This thread is about to lead, or leaves its lead (1), or leads and owns
 * saio_leading (2), or is counted in eng_sleep (3, saio_wait_engine());
 * read by its signal handlers, hence volatile.
 */
static SAIO_TLS volatile sig_atomic_t t_leading;
/*
 * Untimed waiters asleep in the engine (saio_wait_engine()) see only the
 * ring's head, not saio.seq.  eng_sleep is one word for them: how many are
 * counted (low 32 bits) and the latest head one of them read (high 32).
 * Each reads the head, counts itself in and raises the head part to what
 * it read, in one atomic step (saio_sleep_register()), and then looks at
 * saio.seq for the last time before it sleeps until the head moves.
 * saio_wake_sleepers() bumps saio.seq, then, if eng_sleep counts a
 * sleeper and its head part is still the ring's head, posts a completion
 * that names no request (saio_engine_wake()), which moves the head (the
 * two read-modify-writes sequentially consistent, the ring's head read
 * after them; on x86: saio_wake_sleepers()): either a sleeper sees the
 * bump and does not
 * sleep, or the waker sees it counted, its head unmoved, and wakes it.  A
 * sleeper's head is at most the head part, which is at most the ring's
 * head: one whose head was passed is awake, and while the head is still
 * the head part every sleeper on it is woken by one post, so a wake is
 * posted once per sleep and waker, not once per bump.  The post moves the head
 * whoever reaps it, which is what the waits look at (SYSLET_WAIT_HEAD),
 * so a wake that another thread reaps first still ends them.  The first
 * sleeper to count itself in sets the head part whatever it held (the
 * head wraps; a fork's child has a new ring): only a count that never
 * drops, a thread that longjmp()ed out of a handler that interrupted its
 * wait, would leave it to age, and be wrong after 2^31 more completions.
 */
static uint64_t eng_sleep;

static void saio_sleep_register(uint32_t head)
{
	uint64_t old = __atomic_load_n(&eng_sleep, __ATOMIC_SEQ_CST), new;

	do {
		uint32_t n = (uint32_t)old, h = (uint32_t)(old >> 32);

		/* the later of the two, if others are counted */
		if (!n || (int32_t)(head - h) > 0)
			h = head;
		new = (uint64_t)h << 32 | (n + 1);
	} while (!__atomic_compare_exchange_n(&eng_sleep, &old, new, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
}

/*
 * Never below 0: the fork child handler sets the count to whether the
 * forking thread is counted by t_leading (3), which says nothing in the
 * two windows where t_leading is 1 and the thread is counted already or
 * still (a handler that forks there): the child's count is then 0, and
 * this thread's uncount, as the frame resumes, must leave it so (a
 * review: it borrowed from the head part, and every later sleeper of the
 * child registered with a count of 0, woken by no post).
 */
static void saio_sleep_unregister(void)
{
	uint64_t old = __atomic_load_n(&eng_sleep, __ATOMIC_SEQ_CST);

	while ((uint32_t)old &&
	       !__atomic_compare_exchange_n(&eng_sleep, &old, old - 1, false,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
}
/* the kernel refused SYSLET_WAIT_RESTART: untimed waits use the reaper */
static bool lead_untimed_off;
/* the engine cannot wait with a mask (struct saio_sigwait): for good */
static bool mask_wait_off;

/*
 * Targeted wakes.  The futex sleepers on saio.seq wait with a bit set
 * (FUTEX_WAIT_BITSET): SAIO_WAKE_ANY, woken by every bump, or, for
 * aio_suspend() and lio_listio(LIO_WAIT), the waiting thread's own bit
 * (one of 31: threads beyond share them), registered on the requests
 * (struct saio_req.wbits) or the list (saio_lio.wbits) it waits for,
 * under saio.lock.  A request's completion then wakes its waiters and the
 * SAIO_WAKE_ANY ones only (every wake's mask has SAIO_WAKE_GENERIC, which
 * no thread's own bit is: it wakes those, and a mask is never 0), as
 * glibc's waiters are woken by their own requests only.  Before
 * (2026-12-07), every completion woke every sleeper, and one that took a
 * signal on its way back to user space saw no EINTR and slept again until
 * its own request completed: on the emulated backend, whose untimed waits
 * (and timed ones while the reaper runs) sleep here, an outside probe
 * lost 33-39 of 60 signals beside two threads' AIO.  A bit stays on a
 * request after its waiter has gone (a later wait of that thread may be
 * woken by it once for nothing), and other wakes (a leader's end, a
 * handler's reap) are for everyone.
 */
#define SAIO_WAKE_ANY		FUTEX_BITSET_MATCH_ANY
#define SAIO_WAKE_GENERIC	(1U << 31)

/* saio.seq moves: the futex sleepers that 'bits' names look again */
static void saio_bump_seq(uint32_t bits)
{
	__atomic_fetch_add(&saio.seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&saio.nr_waiters, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &saio.seq, FUTEX_WAKE_BITSET_PRIVATE,
			INT_MAX, NULL, NULL, bits | SAIO_WAKE_GENERIC);
}

/* this thread's bit, and the one its current wait sleeps with (0: any) */
static SAIO_TLS uint32_t t_wbit, t_wait_bits;

/*
 * Make this thread's futex waits on saio.seq sleep with 'bits' (0: with
 * SAIO_WAKE_ANY); returns this thread's own bit, for the caller to
 * register (saio_wait_targeted(0) to stop).
 */
/* The bits this thread's futex waits sleep with now (0: any). */
uint32_t saio_wait_bits(void)
{
	return t_wait_bits;
}

uint32_t saio_wait_targeted(uint32_t bits)
{
	static uint32_t next;

	if (!t_wbit)
		t_wbit = 1U << (__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) %
				31);
	t_wait_bits = bits;
	return t_wbit;
}

/*
 * Something completed: every sleeper looks again, those in the engine
 * too.  A sleeper that needs the post read the ring empty at the head it
 * registered, and the head has not moved since, so the ring is empty
 * still: a waker that sees entries in it posts nothing (each post into a
 * full ring would be parked by the kernel, and move no head).  The ring's
 * head and tail are plain memory the kernel and the reaping thread write,
 * not C11 atomics: the argument rests on x86's total store order, with
 * the sequentially consistent read-modify-writes on both sides (a
 * configuration the shim is built for only: aio-internal.h).
 */
static void saio_wake_sleepers(uint32_t bits)
{
	uint64_t sleep;
	uint32_t head;
	bool ready;

	saio_bump_seq(bits);
	sleep = __atomic_load_n(&eng_sleep, __ATOMIC_SEQ_CST);
	if (!(uint32_t)sleep)
		return;
	head = saio_engine_head(&ready);
	if ((uint32_t)(sleep >> 32) == head && !ready)
		saio_engine_wake();	/* cannot fail when needed: see there */
}

/*
 * Drop one reference to a list (a request of it is done, or the submitter
 * has queued them all); the last one delivers the list's sigevent.
 */
void saio_lio_put(struct saio_lio *g, bool request)
{
	struct sigevent sev;
	bool last, gone, notify;
	uint32_t bits;

	(void)request;
	saio_lock(&saio.lock);
	bits = g->wbits;
	last = --g->pending == 0;
	notify = last && g->notify;
	if (notify)
		sev = g->sev;
	if (last)
		__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
	SAIO_WINDOW();
	/* a LIO_WAIT caller drops its reference under the lock too */
	gone = --g->refs == 0;
	saio_unlock(&saio.lock);
	if (notify)
		saio_notify(&sev);
	if (last)
		saio_wake_sleepers(bits);
	if (gone) {
		saio_busy_enter();
		free(g);
		saio_busy_leave();
	}
}

/*
 * Publish r's result in its aiocb, release it, deliver its notification.
 * Returns the requests of the same descriptor that may now start.
 */
static struct saio_req *saio_finish(struct saio_req *r, int64_t res)
{
	struct saio_req *ready = NULL;
	struct aiocb *cb = r->cb;
	struct saio_lio *g = r->lio;
	struct sigevent sev;
	bool notify, signals, published = saio_published(r);
	uint32_t bits;

	/* published by a handler (saio_publish()): res is what it stored */
	if (!published && saio_sigev_fails(&r->sev))
		res = -EINVAL;	/* as glibc: its signal could not be queued */
	saio_lock(&saio.lock);
	saio_queue_remove(r, &ready);
	sev = r->sev;
	notify = saio_sigev_active(&sev);
	signals = notify && saio_sigev_signals(&sev);
	/* aio_suspend() waits for it: saio_notified(); counted if published */
	if (signals && !published)
		__atomic_fetch_add(&saio.notifying, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&r->dpub, false, __ATOMIC_RELAXED);
	if (!published) {
		cb->__return_value = res < 0 ? -1 : (ssize_t)res;
		/* after this store the program may free cb: no more access */
		saio_store_error(cb, res < 0 ? (int)-res : 0);
	}
	if (r->notify)
		saio.nr_notify--;
	saio.st.in_flight--;
	saio.st.completed++;
	bits = r->wbits;
	saio_req_free(r, res < 0 ? (int)-res : 0);
	saio_unlock(&saio.lock);

	/*
	 * A program whose aio_suspend() returns for r has had r's signal
	 * queued by then, as with glibc (LTP's aio_suspend 6-1 checks that
	 * its handler ran): aio_suspend() waits for saio.notifying.  Only a
	 * signal is counted: a SIGEV_THREAD function may run here when no
	 * thread can be made, and program code may wait for anything.
	 */
	saio_wake_sleepers(bits);
	if (notify)
		saio_notify(&sev);
	if (signals)
		__atomic_fetch_sub(&saio.notifying, 1, __ATOMIC_SEQ_CST);
	if (g)
		saio_lio_put(g, true);
	if (ready)
		SAIO_WINDOW();	/* ready requests: RUNNING, on our list */
	return ready;
}

/*
 * Drive requests: finish r (when not NULL) with res, and start every
 * request on 'work' (a wnext list of SAIO_RUNNING requests), finishing in
 * this loop those that complete in the caller and queueing what they
 * unblock in turn.  Iterative, so a long queue cannot deepen the stack.
 */
/*
 * Must the completion of r, about to go to the engine, be reaped even if
 * the program never calls us again?  Yes if a notification is due; and
 * for a write (never done in the caller): a positioned write on what
 * turns out to be a stream (a pipe, socket or eventfd, its number's kind
 * unknown or stale) comes back with ESPIPE and must be redone as write()
 * (a lone aio_write() to a pipe whose program then read()s the other end
 * waited for ever); and a completed write frees its request slot.  glibc
 * has its helper thread for these.
 */
static bool saio_needs_reaper(const struct saio_req *r)
{
	return r->notify || r->op == SAIO_WRITE;
}

static void saio_drive(struct saio_req *work, struct saio_req *r, int64_t res)
{
	for (;;) {
		struct saio_req *ready, *last;
		bool reap;
		int ret;

		if (r) {
			if (res == -ESPIPE && saio_make_stream(r)) {
				/* a stream after all: redo it as read/write */
				r->wnext = work;
				work = r;
			} else {
				ready = saio_finish(r, res);
				if (ready) {
					for (last = ready; last->wnext;)
						last = last->wnext;
					last->wnext = work;
					work = ready;
				}
			}
			r = NULL;
		}
		if (!work)
			return;
		r = work;
		work = r->wnext;
		reap = saio_needs_reaper(r);	/* r may be gone once submitted */
		ret = saio_engine_submit(r);
		if (ret == 0) {
			if (reap)
				saio_ensure_reaper();
			r = NULL;
			continue;
		}
		if (ret == 1) {
			res = r->ret;
			saio_stat_add(&saio.st.inline_done, 1);
		} else {
			res = ret;
		}
	}
}

/*
 * Start a request just accepted by aio_read, aio_write, aio_fsync or
 * lio_listio.  If the engine has no room for it (its chain limit, or no
 * memory), the request is taken back and the call fails with EAGAIN, as
 * POSIX wants ("not queued due to system resource limitations"), instead
 * of completing with that error.  Returns 0, or -1 with errno set.
 */
int saio_start_new(struct saio_req *r)
{
	struct saio_req *ready = NULL;
	struct aiocb *cb = r->cb;
	struct saio_lio *g = r->lio;
	/* r may be gone once submitted */
	bool reap = saio_needs_reaper(r);
	uint32_t bits;
	int ret;

	/*
	 * A write always goes through the ring and needs the reaper (see
	 * saio_needs_reaper()): without one, it is not queued (EAGAIN, as
	 * glibc's aio_write() when it cannot make its helper).
	 */
	if (r->op == SAIO_WRITE && saio_ensure_reaper())
		ret = -EAGAIN;
	else
		ret = saio_engine_submit(r);
	/* a stream: read() it, and let this call fail if that cannot start */
	if (ret == -ESPIPE && saio_make_stream(r))
		ret = saio_engine_submit(r);
	if (ret == 0) {
		if (reap)
			saio_ensure_reaper();
		return 0;
	}
	if (ret == 1) {
		saio_stat_add(&saio.st.inline_done, 1);
		saio_drive(NULL, r, r->ret);
		return 0;
	}
	if (ret != -EAGAIN && ret != -ENOMEM) {
		saio_drive(NULL, r, ret);	/* the request's own status */
		return 0;
	}
	saio_lock(&saio.lock);
	saio_queue_remove(r, &ready);
	if (r->notify)
		saio.nr_notify--;
	if (g) {
		g->pending--;		/* never the last: the submitter holds one */
		g->refs--;
	}
	saio.st.in_flight--;
	saio.st.submitted--;
	bits = r->wbits;
	saio_req_free(r, EAGAIN);
	cb->__return_value = -1;
	saio_store_error(cb, EAGAIN);
	saio_unlock(&saio.lock);
	/* a waiter that found it meanwhile (a review) */
	if (bits)
		saio_wake_sleepers(bits);
	if (ready)
		saio_drive(ready, NULL, 0);	/* queued behind it meanwhile */
	errno = EAGAIN;
	return -1;
}

void saio_complete(struct saio_req *r, int64_t res)
{
	saio_drive(NULL, r, res);
}

/*
 * With saio.reap_lock held: the request a completion taken from the ring
 * names, or NULL (a wake, or stale: not a request in flight); *res is
 * made its result.
 */
static struct saio_req *saio_done_req(uint64_t user_data, int64_t *res)
{
	uint32_t idx = (uint32_t)user_data;
	struct saio_req *r;

	if (idx >= saio.max)
		return NULL;
	r = &saio.pool[idx];
	if (r->gen != (uint32_t)(user_data >> 32) || r->state != SAIO_RUNNING)
		return NULL;
	/*
	 * A chain cancelled while it ran completes with -ECANCELED on both
	 * backends, even if its call was not interrupted and did its work
	 * (a regular file's write, a read that got data).  The call's own
	 * result is in its ret_ptr: that request was not cancelled, and
	 * POSIX wants it reported as it finished.
	 */
	if (*res == -ECANCELED && r->aret != SAIO_NOT_RUN &&
	    r->aret != -ECANCELED && r->aret != -EINTR)
		*res = r->aret;
	return r;
}

/* With saio.reap_lock held, for each completion taken from the ring. */
static void saio_chain_done(uint64_t user_data, int64_t res)
{
	struct saio_req *r = saio_done_req(user_data, &res);

	if (r)
		saio_complete(r, res);
}

/*
 * The reap of a signal handler that interrupted its thread in the shim
 * (saio_t_busy): that thread may hold saio.lock, a lock of libsyslet's
 * or of malloc(), so finishing a request (saio_finish(): the lock, the
 * descriptor's queue, a list, a notification thread) could wait for ever
 * or corrupt what the frame below is changing.  It publishes only: the
 * status goes into the aiocb, exactly as saio_finish() would store it,
 * and the request goes on saio.deferred for saio_drain() to finish
 * (unpublished if it must be redone as a stream's read or write).  A
 * handler that polls aio_error() on a request done in the ring sees it
 * done.  Touches the aiocb and the request's own fields only, with
 * atomics and no lock but saio.reap_lock (taken by the caller with a
 * trylock: the ring has one consumer).  The status is stored before the
 * request is pushed, so a drain never notifies ahead of it; a program
 * that sees the status may reuse the aiocb at once, and its new request
 * may then be on the hash chain and the descriptor's queue beside this
 * one until it is drained: both are left by pointer (saio_queue_remove()),
 * never by aiocb.
 */
static void saio_publish(uint64_t user_data, int64_t res)
{
	struct saio_req *r = saio_done_req(user_data, &res), *head;
	struct aiocb *cb;

	if (!r)
		return;
	if (!(res == -ESPIPE && !r->stream &&
	      (r->op == SAIO_READ || r->op == SAIO_WRITE))) {
		cb = r->cb;
		if (saio_sigev_fails(&r->sev))
			res = -EINVAL;
		if (saio_sigev_active(&r->sev) && saio_sigev_signals(&r->sev))
			__atomic_fetch_add(&saio.notifying, 1,
					   __ATOMIC_SEQ_CST);
		cb->__return_value = res < 0 ? -1 : (ssize_t)res;
		saio_store_error(cb, res < 0 ? (int)-res : 0);
		/*
		 * After the status (a reviewer: set before it, aio_suspend()
		 * could find neither a status nor a request, and return 0 for
		 * nothing done): saio_find() skips r from then on.  In between
		 * r is found as in flight, as a request completing during the
		 * lookup would be.
		 */
		__atomic_store_n(&r->dpub, true, __ATOMIC_SEQ_CST);
	}
	r->dres = res;
	head = __atomic_load_n(&saio.deferred, __ATOMIC_RELAXED);
	do
		r->dnext = head;
	while (!__atomic_compare_exchange_n(&saio.deferred, &head, r, true,
					    __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/*
 * Finish the requests a handler published (saio_publish()), oldest
 * first.  Called outside handlers: before a request is taken (submit.c),
 * by every reap that is not a handler's, so by the reaper before each of
 * its waits.  Any number of threads at once: each finishes what it took.
 */
void saio_drain_all(void)
{
	struct saio_req *r, *next, *fifo = NULL;

	r = __atomic_exchange_n(&saio.deferred, NULL, __ATOMIC_ACQUIRE);
	for (; r; r = next) {
		next = r->dnext;
		r->dnext = fifo;
		fifo = r;
	}
	for (r = fifo; r; r = next) {
		next = r->dnext;
		saio_complete(r, r->dres);
	}
}

/*
 * In a fork() child, before the shim forgets its parent's requests (the
 * atfork child handler, saio_fork_child()): those whose completion is in
 * the ring already, unreaped by the parent, get their status in their
 * aiocb, as a glibc child sees the status its parent's helper threads
 * stored before the fork (review 24 AIO probe finding 2: it said
 * EINPROGRESS for ever, and a loop of aio_suspend() until aio_error()
 * changes spun).  Only the status: the notification was the parent's,
 * the request is forgotten.  Atomics only: libsyslet is linked in after
 * the shim's objects, so its child handlers run after ours, with its
 * locks still held from its prepare handlers; syslet_reap_ready() takes
 * none and flushes nothing, and neither handler touches the ring's
 * entries.  Not seen: a completion a parent thread had taken from the
 * ring but not finished at the fork, one parked on an overflow list, and
 * a first positioned read of a descriptor that turned out a stream
 * (-ESPIPE, to be redone): those still say EINPROGRESS in the child.
 */
void saio_fork_publish(void)
{
	struct saio_done d[SAIO_REAP_BATCH];
	struct saio_req *r;
	int n, i;

	while ((n = saio_engine_reap_ready(d, SAIO_REAP_BATCH)) > 0) {
		for (i = 0; i < n; i++) {
			r = saio_done_req(d[i].user_data, &d[i].res);
			if (!r || saio_published(r) ||
			    (d[i].res == -ESPIPE && !r->stream &&
			     (r->op == SAIO_READ || r->op == SAIO_WRITE)))
				continue;
			if (saio_sigev_fails(&r->sev))
				d[i].res = -EINVAL;
			r->cb->__return_value = d[i].res < 0 ? -1 :
						(ssize_t)d[i].res;
			saio_store_error(r->cb, d[i].res < 0 ?
					 (int)-d[i].res : 0);
		}
	}
}

/*
 * A handler's reap (saio_publish()) of what is in the ring
 * (saio_engine_reap_ready(): atomics only, on both backends); what it
 * took wakes the sleepers as a finished request would: atomics, a futex
 * wake and, for sleepers in the engine, a post (kernel backend only,
 * where that is a system call: eng_sleep counts nobody on the emulated
 * backend, whose post takes a lock).
 */
static int saio_reap_published(void)
{
	struct saio_done d[SAIO_REAP_BATCH];
	int n, i, total = 0;

	if (saio_trylock(&saio.reap_lock))
		return 0;
	while ((n = saio_engine_reap_ready(d, SAIO_REAP_BATCH)) > 0) {
		for (i = 0; i < n; i++)
			saio_publish(d[i].user_data, d[i].res);
		total += n;
	}
	saio_unlock(&saio.reap_lock);
	if (total)
		saio_wake_sleepers(SAIO_WAKE_ANY);
	return total;
}

/*
 * Process the completions in the ring, in batches (processing may submit
 * new chains, so a batch is copied out of the ring first).  With 'wait',
 * first sleep until there is one: forever if 'rel' is NULL, else at most
 * 'rel'.  Returns how many were processed, or -EINTR if a signal handler
 * ran during a bounded wait that brought none.  Caller holds
 * saio.reap_lock.
 */
static int saio_process(bool wait, const struct timespec *rel)
{
	struct saio_done d[SAIO_REAP_BATCH];
	int n, i, total = 0;

	saio_drain();	/* before a wait: what a handler published */
	for (;;) {
		n = saio_engine_reap(d, SAIO_REAP_BATCH, wait && !total, rel);
		if (n <= 0)
			return total ? total : n;
		/* taken, not yet published: a leader asleep must still wake */
		SAIO_WINDOW();
		for (i = 0; i < n; i++)
			saio_chain_done(d[i].user_data, d[i].res);
		total += n;
	}
}

/*
 * Reap the ring.  Without 'wait', only if nobody else is reaping and
 * without blocking.  Returns the number of completions processed.
 */
int saio_reap(bool wait)
{
	int n;

	if (!__atomic_load_n(&saio.ready, __ATOMIC_ACQUIRE))
		return 0;
	/*
	 * A signal handler that interrupted this thread inside a lock (or
	 * libsyslet, malloc, ...): publish what the ring holds, leave the
	 * rest to a call outside a handler (aio-internal.h, saio_t_busy).
	 */
	if (!wait && saio_t_busy)
		return saio_reap_published();
	saio_drain();
	if (wait)
		saio_lock(&saio.reap_lock);
	else if (saio_trylock(&saio.reap_lock))
		return 0;
	n = saio_process(wait, NULL);
	saio_unlock(&saio.reap_lock);
	return n < 0 ? 0 : n;
}

static void *saio_reaper(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "aio-reaper");
	for (;;)
		saio_reap(true);
	return NULL;
}

/*
 * In the child of fork(), from the atfork handler: no reaper, and
 * reaper_lock free (another thread of the parent may have held it, in
 * pthread_create(), at the moment of the fork).
 */
void saio_reaper_forget(void)
{
	pthread_mutex_init(&reaper_lock, NULL);
	saio.reaper_running = false;
	/* a thread of the parent may have led at the fork */
	__atomic_store_n(&saio_leading, false, __ATOMIC_RELAXED);
	/*
	 * Only this thread is left, counted if a handler that interrupted its
	 * engine wait forked: the wait it goes back to uncounts it (and in the
	 * windows where t_leading is 1, finds 0: saio_sleep_unregister()).
	 * Not with _Fork(), which runs no fork handler: a child made so
	 * inherits the whole shim's state, as any library's.
	 */
	__atomic_store_n(&eng_sleep, t_leading == 3, __ATOMIC_RELAXED);
}

/* Make sure the reaper runs.  Returns 0, or an errno if it cannot. */
int saio_ensure_reaper(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int err = 0;

	if (__atomic_load_n(&saio.reaper_running, __ATOMIC_ACQUIRE))
		return 0;
	saio_lock(&reaper_lock);
	if (saio.reaper_running)
		goto out;
	/* signals meant for the program must never land on the reaper */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&saio.reaper, &attr, saio_reaper, NULL);
	SAIO_WINDOW();
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		__atomic_store_n(&saio.reaper_running, true, __ATOMIC_RELEASE);
out:
	saio_unlock(&reaper_lock);
	return err;
}

/* An absolute CLOCK_MONOTONIC deadline 'rel' from now. */
void saio_deadline(struct timespec *dl, const struct timespec *rel)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	/* saturated: a timeout of TIME_T_MAX is for ever (a review) */
	if (rel->tv_sec > LONG_MAX - 1 - dl->tv_sec) {
		dl->tv_sec = LONG_MAX;
		dl->tv_nsec = 0;
		return;
	}
	dl->tv_sec += rel->tv_sec;
	dl->tv_nsec += rel->tv_nsec;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

/* The time from now to 'deadline' in *left; false once it has passed. */
static bool saio_time_left(const struct timespec *deadline,
			   struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = deadline->tv_sec - now.tv_sec;
	left->tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += 1000000000L;
	}
	return left->tv_sec >= 0;
}

/*
 * Sleep until saio.seq moves from 'seen', the deadline (if any) passes
 * (ETIMEDOUT) or a signal handler runs (EINTR).  Returns 0 or that errno.
 * The caller has counted itself in saio.nr_waiters.
 */
static int saio_wait_seq_(uint32_t seen, const struct timespec *deadline,
			  bool reaper, bool restart);

int saio_wait_seq(uint32_t seen, const struct timespec *deadline)
{
	return saio_wait_seq_(seen, deadline, true, false);
}

/*
 * A bounded wait for another thread's reap or lead (saio_wait_engine(),
 * saio_wait_lead()): woken by any bump (SAIO_WAKE_ANY), not this thread's
 * requests only, or it would sleep out its slice (a review).
 */
static int saio_wait_seq_noreaper(uint32_t seen,
				  const struct timespec *deadline)
{
	uint32_t bits = t_wait_bits;
	int n;

	t_wait_bits = 0;
	n = saio_wait_seq_(seen, deadline, false, false);
	t_wait_bits = bits;
	return n;
}

/*
 * Like saio_wait_seq() without a deadline, except that after a handler
 * installed with SA_RESTART the wait goes on instead of failing with EINTR
 * (when the reaper runs: an untimed futex wait, which the kernel restarts;
 * without a reaper the caller polls in short timed waits, and a handler
 * still means EINTR).
 */
int saio_wait_seq_restart(uint32_t seen)
{
	return saio_wait_seq_(seen, NULL, true, true);
}

/*
 * Set while this thread is in aio_suspend(), a cancellation point: its
 * futex waits (which hold no lock) run with asynchronous cancellation, as
 * glibc's cancellable system calls do.
 */
static SAIO_TLS bool t_cancellable;

static int saio_wait_seq_(uint32_t seen, const struct timespec *deadline,
			  bool reaper, bool restart)
{
	struct timespec now, rel = { 3600, 0 }, abs, *tmo = &rel;
	int oldtype, err;
	long r;

	if (deadline && !saio_time_left(deadline, &rel))
		return ETIMEDOUT;
	/*
	 * Not from a handler that interrupted the shim (saio_t_busy): its
	 * thread may hold reaper_lock, in saio_ensure_reaper() (a review: a
	 * timed aio_suspend() in a handler there waited for it for ever).
	 */
	if (reaper && (saio_t_busy || saio_ensure_reaper())) {
		/* no thread to reap: poll the ring ourselves */
		struct timespec ms = { 0, 1000000L };

		if (!deadline || rel.tv_sec || rel.tv_nsec > ms.tv_nsec)
			rel = ms;
		if (saio_reap(false))
			return 0;
	} else if (restart && !deadline) {
		tmo = NULL;
	}
	/* with a timeout, a signal handler always means EINTR */
	if (tmo)
		saio_deadline(&abs, tmo);	/* the bitset wait's is absolute */
	if (t_cancellable)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &oldtype);
	r = syscall(SYS_futex, &saio.seq, FUTEX_WAIT_BITSET_PRIVATE, seen,
		    tmo ? &abs : NULL, NULL,
		    t_wait_bits ? t_wait_bits : SAIO_WAKE_ANY);
	if (t_cancellable) {
		err = errno;
		pthread_setcanceltype(oldtype, NULL);
		errno = err;
	}
	if (r == 0 || errno == EAGAIN)
		return 0;
	if (errno == EINTR)
		return EINTR;
	if (errno == ETIMEDOUT && deadline) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline->tv_sec ||
		    (now.tv_sec == deadline->tv_sec &&
		     now.tv_nsec >= deadline->tv_nsec))
			return ETIMEDOUT;
	}
	return 0;
}

/*
 * Like saio_wait_seq() (saio_wait_seq_restart() when 'deadline' is NULL),
 * for a caller that would rather reap itself than be woken by the reaper
 * (one thread hop less per completion, two cross-CPU wake-ups less per
 * batch: on a busy host, each one a host time slice away): when there is
 * no reaper thread and no other leader, the caller leads.  It waits in the
 * engine itself, then reaps; other sleepers wait on saio.seq, which the
 * leader bumps when it lets go.
 *
 * A timed leader waits for a bounded slice (SAIO_LEAD_SLICE_NS) at a
 * time, which bounds how long a completion made outside the ring (an
 * inline one in another thread, a cancelled waiting request) can go
 * unnoticed by it.  Untimed waiters on the kernel backend all wait in the
 * engine, as many at once as there are (saio_wait_engine()); the emulated
 * backend's untimed sleepers wait on the reaper, which they start.  A
 * program whose threads wait for reads (fio's posixaio engine with
 * rw=randread, one job or several) has no reaper; one that writes, asks
 * for notifications or queues a request behind another has it, and waits
 * through it.
 *
 * The leader is elected with saio_leading, not saio.reap_lock: it takes
 * the lock only to reap, after its wait, so that while it waits (where it
 * spends its time) the lock is free.  A signal handler that interrupts
 * the wait and calls aio_suspend() (async-signal-safe) then waits as if
 * no leader ran: on the reaper thread (t_leading), whose reap takes the
 * lock, and whose completions wake the leader's restarted wait; before,
 * the interrupted leader held it, and the handler's wait never ended
 * (untimed: the reaper blocked on the lock; timed: nobody reaped until
 * its deadline).  It does not lead itself: the engine's wait may take a
 * lock of libsyslet's that the interrupted leader holds.  A handler that
 * interrupts the leader while it reaps (holding the lock) still waits for
 * it to be done, that is, for ever if untimed: not fixed.  One that
 * lands while the leader's engine wait holds a lock of libsyslet's (the
 * emulated backend flushes its overflow list under one) only publishes:
 * that wait counts in saio_t_busy (chains.c, saio_syslet_wait()); before,
 * its reap waited for that lock for ever.  A signal that interrupts the
 * leader's wait and is not restarted ends its aio_suspend() with EINTR,
 * as glibc's, after what is in the ring was reaped.
 */
#define SAIO_LEAD_SLICE_NS	10000000L

/*
 * An untimed wait in the engine (kernel backend), by any number of threads
 * at once: until a completion was posted since this thread read the head
 * (SYSLET_WAIT_HEAD), restarted after an SA_RESTART handler as glibc's
 * untimed futex wait is (SYSLET_WAIT_RESTART), woken by a posted
 * completion for what completes outside the ring (eng_sleep, above);
 * then it reaps.  Every sleeper wakes at every post, and the first to get
 * saio.reap_lock reaps for all (the others wait for its bump of saio.seq,
 * a slice at most): before, only one thread led, and a second untimed
 * waiter started the reaper thread, whose hop per completion (two
 * cross-CPU wake-ups per batch, each a host time slice away on a busy
 * host) every wait paid from then on: fio's posixaio engine with two
 * jobs ran at 0.13-0.32x io_uring there.  t_leading is 3 while this
 * thread is counted in eng_sleep (a cancellation in the wait uncounts
 * it: saio_suspend_cancelled()), 1 just before and after, so that a
 * handler that interrupts it and calls aio_suspend() waits on the reaper
 * instead (as in a timed lead, below).
 */
static bool saio_sig_due(const sigset_t *mask, bool *restart,
			 sigset_t *only);

static int saio_wait_engine(uint32_t seen, const struct timespec *deadline,
			    const sigset_t *mask)
{
	struct timespec dl, left, *tmo = NULL,
			rel = { 0, SAIO_LEAD_SLICE_NS }, ms = { 0, 1000000L };
	uint32_t head;
	bool ready, news, due, restart;
	sigset_t only;
	int n;

	if (deadline) {
		if (!saio_time_left(deadline, &left))
			return ETIMEDOUT;
		tmo = &left;
	}
	/* race build: news and a signal before the head is read */
	SAIO_WINDOW();
	/* set first: a handler in the window must not wait in the engine */
	t_leading = 1;
	head = saio_engine_head(&ready);
	saio_sleep_register(head);
	t_leading = 3;
	/*
	 * A completion this thread has not seen either bumped saio.seq
	 * before the load below, or is in the ring, or is posted after
	 * 'head' was read, or was reaped from the ring by another thread
	 * that bumps saio.seq after that load and then sees this thread
	 * counted, its head unmoved, and posts a wake: each ends the wait.
	 */
	news = ready || __atomic_load_n(&saio.seq, __ATOMIC_SEQ_CST) != seen;
	due = news && saio_sig_due(mask, &restart, &only);
	if (news && !due) {
		n = 1;	/* news already: look at it */
	} else if (due) {
		/*
		 * News, and a signal due: 'head' is the kernel's now (unless
		 * one was posted since: then this returns at once, and the
		 * next round comes back), so the call takes the signal.  A
		 * timed call, 1 ms at most: an untimed one would go on after
		 * an SA_RESTART handler from that head, and sleep past the
		 * news until another completion (an outside review, with a
		 * 2 ms sleep before the head is read: the request's own
		 * completion already in the ring, its wait for ever).  Its
		 * EINTR is then the untimed call's only if a handler due
		 * had no SA_RESTART; only those due are let through (a
		 * review: one without SA_RESTART that came during the wait
		 * was taken as restartable), the others wait for the next.
		 */
		n = saio_engine_wait_posted(head, t_cancellable,
					    tmo && tmo->tv_sec == 0 &&
					    tmo->tv_nsec < ms.tv_nsec ?
					    tmo : &ms, &only);
		if (n == 0 || (n == -EINTR && !deadline && restart))
			n = 1;	/* the news is still there */
	} else {
		/* race build: a completion elsewhere must wake it */
		SAIO_WINDOW();
		/*
		 * A timed sleep ends with EINTR for a signal set to SIG_IGN
		 * that came while the wait blocked it: drop those first (an
		 * untimed one is restarted by the kernel, no EINTR seen).
		 */
		if (deadline)
			saio_sig_due(mask, &restart, &only);
		n = saio_engine_wait_posted(head, t_cancellable, tmo, mask);
	}
	t_leading = 1;
	saio_sleep_unregister();
	t_leading = 0;
	/* a kernel without the flags (or no usable context): for good */
	if (n == -EINVAL)
		__atomic_store_n(mask ? &mask_wait_off : &lead_untimed_off,
				 true, __ATOMIC_RELAXED);
	/*
	 * Reap what is there.  If another thread holds the lock, it reaps and
	 * bumps saio.seq for what it completes: wait for that, not spin on a
	 * ring that says ready; so too if the engine cannot wait at all.
	 * (With signals blocked, a bounded wait that no signal ends.)
	 */
	if (!saio_reap(false) && n != 0 && n != -EINTR) {
		saio_deadline(&dl, &rel);
		saio_wait_seq_noreaper(seen, &dl);
	}
	if (n == -EINTR)
		return EINTR;
	return n == 0 ? ETIMEDOUT : 0;
}

int saio_wait_lead(uint32_t seen, const struct timespec *deadline,
		   const sigset_t *mask)
{
	struct timespec now, rel = { 0, SAIO_LEAD_SLICE_NS };
	bool untimed = !deadline;
	int64_t left;
	int n;

	/* every signal blocked but in the engine's wait: struct saio_sigwait */
	if (mask && !t_leading) {
		n = saio_wait_engine(seen, deadline, mask);
		if (n == ETIMEDOUT && deadline) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec < deadline->tv_sec ||
			    (now.tv_sec == deadline->tv_sec &&
			     now.tv_nsec < deadline->tv_nsec))
				n = 0;
		}
		return n;
	}
	/*
	 * The emulated backend's waits, timed or not, sleep on saio.seq,
	 * woken by their own requests only (targeted wakes): a timed one
	 * that led there too, in the engine, was woken by every completion,
	 * and one that took a signal on its way back lost its EINTR (a
	 * review: 14 of 60 lost with timed waiters and no reaper).
	 */
	if (t_leading ||
	    __atomic_load_n(&saio.reaper_running, __ATOMIC_ACQUIRE) ||
	    saio_engine_backend() != SYSLET_AIO_BACKEND_KERNEL ||
	    (untimed && __atomic_load_n(&lead_untimed_off, __ATOMIC_RELAXED)))
		return untimed ? saio_wait_seq_restart(seen) :
				 saio_wait_seq(seen, deadline);
	if (untimed)
		return saio_wait_engine(seen, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 +
	       deadline->tv_nsec - now.tv_nsec;
	if (left <= 0)
		return ETIMEDOUT;
	if (left < rel.tv_nsec)
		rel.tv_nsec = (long)left;
	/* set first: a handler in the window must not take this as a lead */
	t_leading = 1;
	if (__atomic_exchange_n(&saio_leading, true, __ATOMIC_ACQUIRE)) {
		/* someone else leads: wait for news, but not for long */
		struct timespec dl;

		t_leading = 0;
		saio_deadline(&dl, &rel);
		n = saio_wait_seq_noreaper(seen, &dl);
		/*
		 * A whole slice without news: reap what is there ourselves, so
		 * that a leader gone astray (a handler that longjmp()ed out of
		 * its wait leaves saio_leading set) costs a slice, not the
		 * whole wait.
		 */
		if (n == ETIMEDOUT) {
			saio_reap(false);
			n = 0;
		}
		return n;
	}
	t_leading = 2;
	n = saio_engine_wait(&rel);
	t_leading = 1;
	__atomic_store_n(&saio_leading, false, __ATOMIC_RELEASE);
	t_leading = 0;
	/*
	 * Reap what is there (a completion may have raced the signal or the
	 * timeout).  If another thread holds the lock, it reaps and bumps
	 * saio.seq for what it completes: wait for that, not spin on a ring
	 * that says ready; so too if the engine cannot wait at all.
	 */
	if (!saio_reap(false) && n != 0 && n != -EINTR) {
		struct timespec dl;

		saio_deadline(&dl, &rel);
		saio_wait_seq_noreaper(seen, &dl);
	}
	/*
	 * Let the timed sleepers re-check, and one of them take over; not
	 * those in the engine (woken for nothing at every slice's end: a
	 * review measured 86 wake-ups a second with one idle timed waiter):
	 * what this lead completed woke them already (saio_finish()).
	 */
	saio_bump_seq(SAIO_WAKE_ANY);
	return n == -EINTR ? EINTR : 0;
}

/*
 * The waits of aio_suspend() and lio_listio(LIO_WAIT) on the kernel
 * backend block every signal (but glibc's own, which pthread_sigmask()
 * leaves alone) and unblock the program's for the sleep in the engine
 * only (saio_engine_wait_posted() with the mask: async_wait() installs it
 * for the sleep, and restarts an untimed one after an SA_RESTART handler
 * with it installed again).  So a handler runs only inside that sleep,
 * which then ends with EINTR (or goes on, for SA_RESTART), and a signal
 * that comes while the thread looks at the ring, reaps, or is woken by
 * another request's completion stays pending until its next sleep:
 * before, it ran its handler there, the wait saw no EINTR and slept
 * again, and the caller waited on until its own request completed (an
 * outside probe: 37-39 of 60 signals lost beside two threads' AIO, and 1-2
 * of 300 with none, at the gaps between a timed wait's slices).  glibc's
 * waiter is woken by its own requests only.  Other sleeps inside such a
 * wait are bounded (a slice, saio_wait_engine()), so a signal waits for
 * one at most.  Not on the emulated backend (no sleep there installs a
 * mask and restarts as an untimed wait must: its waits are as before), in
 * a handler that interrupted a wait of this thread (t_leading: it waits on
 * the reaper, as before), or from a kernel without
 * SYSLET_WAIT_RESTART_SIGMASK (mask_wait_off, found at the first wait).
 */
static SAIO_TLS struct saio_sigwait *t_sigwait;	/* for a cancellation */

void saio_sigwait_begin(struct saio_sigwait *w)
{
	sigset_t all;

	w->on = false;
	if (t_leading || saio_t_busy ||
	    __atomic_load_n(&mask_wait_off, __ATOMIC_RELAXED) ||
	    saio_engine_backend() != SYSLET_AIO_BACKEND_KERNEL)
		return;
	/*
	 * Not the signals a fault raises (a program's SIGSEGV handler for
	 * write-protected memory the shim touches: blocked, the kernel
	 * would kill the process instead), nor those ignored by default
	 * (blocked, one sent meanwhile would be queued, then end a timed
	 * sleep with EINTR and no handler run: a review); a handler of
	 * the latter may still be missed so.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	sigdelset(&all, SIGCHLD);
	sigdelset(&all, SIGWINCH);
	sigdelset(&all, SIGURG);
	sigdelset(&all, SIGCONT);
	/* added to the program's mask: what it blocks stays blocked */
	if (pthread_sigmask(SIG_BLOCK, &all, &w->orig))
		return;
	w->on = true;
	/* an outer call's stays for its cancellation (a review) */
	w->prev = t_sigwait;
	t_sigwait = w;
}

void saio_sigwait_end(struct saio_sigwait *w)
{
	if (!w || !w->on)
		return;
	w->on = false;
	t_sigwait = w->prev;
	/* what came meanwhile runs now: after the wait, as for glibc's */
	pthread_sigmask(SIG_SETMASK, &w->orig, NULL);
}

/*
 * Takes @sig, pending and blocked, set to SIG_IGN, off this thread's and
 * the process's queues, up to 4,096 instances of a real-time signal per
 * look (a cap of 64 left 100 queued ones to end the sleep with EINTR, a
 * review; without a cap a sender that refills the queue kept the wait
 * from its sleep past its deadline, another; more than 4,096 queued
 * still end a relative sleep, not one to a deadline, SYSLET_WAIT_ABSTIME,
 * which the kernel restarts past them): what the kernel would have done
 * had the wait not blocked it.  An instance taken after another thread
 * installed a handler is that handler's: it is put back on this thread,
 * which takes it in its sleep (a review: dropped, its handler never ran),
 * and which is then due: returns true.
 */
static bool saio_sig_drop(int sig)
{
	const struct timespec zero = { 0, 0 };
	struct sigaction sa;
	int saved = errno, i;
	bool back = false;
	sigset_t one;
	siginfo_t si;

	sigemptyset(&one);
	sigaddset(&one, sig);
	/*
	 * The system call: glibc's sigtimedwait() is a cancellation point.
	 * Bounded, so that a sender that keeps refilling the queue cannot
	 * keep a timed wait from its sleep past its deadline (a review).
	 */
	for (i = 0; i < 4096 && syscall(SYS_rt_sigtimedwait, &one, &si, &zero,
					(size_t)(_NSIG / 8)) == sig; i++) {
		if (!sigaction(sig, NULL, &sa) && sa.sa_handler == SIG_IGN)
			continue;
		back = !syscall(SYS_rt_tgsigqueueinfo, getpid(),
				syscall(SYS_gettid), sig, &si);
		break;
	}
	errno = saved;
	return back;
}

/*
 * A signal the program's mask lets through is pending (blocked by the
 * wait): it must run its handler in the engine's sleep now, even when
 * there is news, or a waiter that other threads' completions keep busy
 * could loop without sleeping, the handler put off (a review).
 *
 * One set to SIG_IGN is dropped instead, and is not due: sent to a
 * thread that does not block it, the kernel discards it at once, but the
 * wait blocks it, so it was queued, and the engine's sleep, unblocking
 * it, would end with EINTR and no handler run (a timed aio_suspend() of
 * a program that ignores SIGHUP or SIGPIPE returned EINTR, where
 * glibc's never sees the signal).  POSIX lets an ignored signal that is
 * blocked be discarded.  One that comes after the look still ends a
 * timed sleep so (docs/aio.md).
 */
static bool saio_sig_due(const sigset_t *mask, bool *restart,
			 sigset_t *only)
{
	struct sigaction sa;
	bool due = false;
	sigset_t p;
	int sig;

	*restart = true;
	sigfillset(only);
	if (!mask || sigpending(&p))
		return false;
	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(&p, sig) != 1 || sigismember(mask, sig))
			continue;
		if (sigaction(sig, NULL, &sa))
			sa.sa_handler = SIG_DFL;
		/* one put back has a handler now: due, with its flags */
		if (sa.sa_handler == SIG_IGN &&
		    (!saio_sig_drop(sig) || sigaction(sig, NULL, &sa)))
			continue;
		due = true;
		sigdelset(only, sig);	/* *only: every other one blocked */
		/* *restart: none of them would end an untimed wait */
		if (sa.sa_handler != SIG_DFL && !(sa.sa_flags & SA_RESTART))
			*restart = false;
	}
	return due;
}

/* The mask to sleep with, or NULL: the engine cannot (then unblocked). */
const sigset_t *saio_sigwait_mask(struct saio_sigwait *w)
{
	if (w->on && __atomic_load_n(&mask_wait_off, __ATOMIC_RELAXED))
		saio_sigwait_end(w);
	return w->on ? &w->orig : NULL;
}

/*
 * The status of cb, which said EINPROGRESS: reap, and look again (also
 * when this call reaped nothing: another thread, the reaper, may have
 * finished it meanwhile).  In a signal handler that interrupted this
 * thread inside the shim this publishes only (saio_publish()); when this
 * thread holds saio.reap_lock it takes nothing, and a request done but
 * not yet reaped says EINPROGRESS until the reaper, another thread or
 * this thread's next call reaps it.
 */
int saio_status_reap(const struct aiocb *cb)
{
	saio_reap(false);
	return saio_load_error(cb);
}

/*
 * Requests published done whose notification is still being sent
 * (saio.notifying): wait for them, 10 ms at most.  glibc publishes a
 * status and queues its signal under the lock its aio_suspend() looks
 * under, so a program whose aio_suspend() returned has its signal queued
 * (LTP's aio_suspend 6-1 checks its handler ran); here the status is
 * published without that lock.
 */
static void saio_notified(void)
{
	struct timespec t0, now;

	if (!__atomic_load_n(&saio.notifying, __ATOMIC_SEQ_CST))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (__atomic_load_n(&saio.notifying, __ATOMIC_SEQ_CST) &&
		 (now.tv_sec - t0.tv_sec) * 1000000000L +
		 (now.tv_nsec - t0.tv_nsec) < 10000000L);
}

static bool saio_any_done(const struct aiocb *const list[], int nent)
{
	int i;

	for (i = 0; i < nent; i++) {
		if (list[i] && saio_load_error(list[i]) != EINPROGRESS) {
			saio_notified();
			return true;
		}
	}
	return false;
}

/*
 * Is there anything to wait for?  As glibc: not if the list holds no
 * aiocb, nor if an aiocb says EINPROGRESS without being a request in
 * flight here (one a parent had in flight when it forked: it never
 * completes in the child, where glibc's aio_suspend returns at once).
 */
static bool saio_anything_to_wait(const struct aiocb *const list[], int nent,
				  uint32_t bit)
{
	struct saio_req *r;
	bool any = false;
	int i;

	saio_lock(&saio.lock);
	for (i = 0; i < nent; i++) {
		if (!list[i])
			continue;
		if (saio_load_error(list[i]) != EINPROGRESS ||
		    !(r = saio_find(list[i]))) {
			any = false;
			break;
		}
		r->wbits |= bit;	/* its completion wakes this thread */
		any = true;
	}
	saio_unlock(&saio.lock);
	return any;
}

/* aio_suspend() cancelled: it waits no more. */
static void saio_suspend_cancelled(void *unused)
{
	(void)unused;
	/*
	 * Cancelled in its engine wait, or in a handler that interrupted this
	 * thread's lead or engine wait.
	 */
	if (t_leading == 2)
		__atomic_store_n(&saio_leading, false, __ATOMIC_RELEASE);
	if (t_leading == 3)
		saio_sleep_unregister();
	t_leading = 0;
	t_cancellable = false;
	t_wait_bits = 0;
	saio_sigwait_end(t_sigwait);
	__atomic_fetch_sub(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
}

/* aio_suspend()'s wait, once there is something to wait for. */
static int saio_suspend_wait(const struct aiocb *const list[], int nent,
			     const struct timespec *deadline,
			     struct saio_sigwait *sw)
{
	int err, ret = 0;

	for (;;) {
		uint32_t seen = __atomic_load_n(&saio.seq, __ATOMIC_SEQ_CST);

		pthread_testcancel();
		/*
		 * What a handler published (it pushed before it bumped
		 * saio.seq): a request held back behind it starts only once
		 * it is finished, and an untimed wait in the engine would not
		 * see it.  Not in a handler inside the shim.
		 */
		if (!saio_t_busy)
			saio_drain();
		if (saio_any_done(list, nent))
			break;
		/*
		 * Untimed: a wait the kernel restarts after an SA_RESTART
		 * handler, as glibc's untimed futex wait (a timed wait, in the
		 * engine or not, ends with EINTR).
		 */
		err = saio_wait_lead(seen, deadline, saio_sigwait_mask(sw));
		if (err && saio_any_done(list, nent))
			break;
		if (err) {
			ret = err == ETIMEDOUT ? EAGAIN : err;
			break;
		}
	}
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

/*
 * A cancellation point (POSIX): a pending cancellation acts on entry, in
 * the futex waits, and at least every leader slice (SAIO_LEAD_SLICE_NS)
 * while this thread reaps in the engine.
 */
int saio_aio_suspend(const struct aiocb *const list[], int nent,
			    const struct timespec *timeout)
{
	struct saio_sigwait sw;
	struct timespec dl;
	int saved = errno, ret, err;
	uint32_t outer, bit;

	pthread_testcancel();
	if (nent < 0) {
		errno = EINVAL;
		return -1;
	}
	if (saio_any_done(list, nent))
		return 0;
	if (saio_init())
		return -1;
	/*
	 * From here a signal runs its handler only in the sleep (or once
	 * this call returns), and the sleep then ends with EINTR: one that
	 * comes while this call reaps or looks is not missed (struct
	 * saio_sigwait, saio_sigwait_begin()).
	 */
	saio_sigwait_begin(&sw);
	/* a wait this one's handler interrupted keeps its bits (below) */
	outer = t_wait_bits;
	bit = saio_wait_targeted(outer);
	/* success leaves errno as it was (the waits' EAGAIN, ETIMEDOUT) */
	if ((saio_reap(false) && saio_any_done(list, nent)) ||
	    !saio_anything_to_wait(list, nent, bit)) {
		saio_sigwait_end(&sw);
		errno = saved;
		return 0;
	}
	if (timeout)
		saio_deadline(&dl, timeout);
	__atomic_fetch_add(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	pthread_cleanup_push(saio_suspend_cancelled, NULL);
	t_cancellable = true;
	saio_wait_targeted(bit);
	ret = saio_suspend_wait(list, nent, timeout ? &dl : NULL, &sw);
	saio_wait_targeted(outer);
	t_cancellable = false;
	pthread_cleanup_pop(0);
	__atomic_fetch_sub(&saio.nr_waiters, 1, __ATOMIC_SEQ_CST);
	/* errno last: a handler that runs as the mask goes may change it */
	err = ret ? errno : 0;
	saio_sigwait_end(&sw);
	errno = err ? err : saved;
	return err ? -1 : 0;
}
