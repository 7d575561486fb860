// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * req.c - request and per-descriptor state of libsyslet-aio.
 *
 * Requests come from a fixed pool (SYSLET_AIO_MAX entries, default
 * SAIO_MAX_DEFAULT); when it is empty, submission fails with EAGAIN.  Each
 * request is in two hashes' chains: by aiocb address (for aio_cancel) and,
 * through its descriptor's queue, by file descriptor.
 *
 * Ordering.  glibc runs the requests of one descriptor one at a time, in
 * priority order.  That keeps streams in order but serialises a QD32 load on
 * one file.  Here a request waits only for earlier requests it could race
 * with:
 *   - aio_fsync waits for every earlier request on the descriptor (POSIX:
 *     it covers "all currently queued I/O operations");
 *   - on a stream (pipe, socket, tty: anything that cannot seek), reads wait
 *     for earlier reads and writes for earlier writes, so that data is
 *     consumed and produced in submission order, while a blocked read does
 *     not hold up a write in the other direction;
 *   - on an O_APPEND file, a write waits for every earlier read or write,
 *     a read for every earlier write;
 *   - positioned I/O on other files and block devices: a write waits for
 *     earlier reads and writes of an overlapping range, a read for earlier
 *     writes of one; and a read and a write that do not overlap are still
 *     in order if the write may extend the file under the read (it ends
 *     beyond the read's start, the read reaches past the file's size);
 *     the rest runs concurrently (saio_conflict()).
 * The descriptor is only examined (statx, fcntl) when a second request
 * arrives while an earlier one is still in flight, and the file's size
 * only when a read and a write in flight together may depend on it
 * (saio_size_for_order()); a lone request costs no extra system call.  If a lone request was a positioned read or write on a
 * stream, the kernel says -ESPIPE and it is retried as a plain read or
 * write (saio_make_stream()), as glibc does: for a write, which always
 * goes to an engine thread, the reaper sees to it (complete.c).
 *
 * The pools are set up by init.c (saio_init()), and emptied again there in
 * the child of a fork().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aio-internal.h"

static unsigned int hbits;

static inline uint32_t hash_ptr(const void *p)
{
	return (uint32_t)(((uintptr_t)p >> 3) * 0x9E3779B97F4A7C15ull >>
			  (64 - hbits));
}

static inline uint32_t hash_fd(int fd)
{
	return (uint32_t)fd & saio.hmask;
}

/* Thread every pool entry onto the free lists, lowest index first. */
void saio_pools_reset(void)
{
	uint32_t i;

	memset(saio.cbhash, 0, sizeof(*saio.cbhash) * (saio.hmask + 1));
	memset(saio.fdhash, 0, sizeof(*saio.fdhash) * (saio.hmask + 1));
	saio.free_req = NULL;
	saio.free_fd = NULL;
	__atomic_store_n(&saio.writes_live, 0, __ATOMIC_RELAXED);
	for (i = saio.max; i-- > 0;) {
		struct saio_req *r = &saio.pool[i];

		r->state = SAIO_FREE;
		r->dpub = false;	/* published in the parent, never drained */
		r->dnext = NULL;
		r->idx = i;
		r->hnext = saio.free_req;
		saio.free_req = r;
		saio.fdpool[i].hnext = saio.free_fd;
		saio.free_fd = &saio.fdpool[i];
	}
}

/* Allocate the pools and hashes for 'max' requests.  0 or ENOMEM. */
int saio_pools_alloc(uint32_t max)
{
	uint32_t n;

	saio.max = max;
	for (hbits = 4, n = 16; n < max; n <<= 1)
		hbits++;
	saio.hmask = n - 1;
	saio.pool = calloc(max, sizeof(*saio.pool));
	saio.fdpool = calloc(max, sizeof(*saio.fdpool));
	saio.cbhash = calloc(n, sizeof(*saio.cbhash));
	saio.fdhash = calloc(n, sizeof(*saio.fdhash));
	if (!saio.pool || !saio.fdpool || !saio.cbhash || !saio.fdhash) {
		saio_pools_free();
		return ENOMEM;
	}
	saio_pools_reset();
	return 0;
}

void saio_pools_free(void)
{
	free(saio.pool);
	free(saio.fdpool);
	free(saio.cbhash);
	free(saio.fdhash);
	saio.pool = NULL;
	saio.fdpool = NULL;
	saio.cbhash = NULL;
	saio.fdhash = NULL;
}

/* Look at a descriptor that has more than one request in flight. */
static uint8_t saio_classify(int fd)
{
	int saved = errno, fl;
	uint8_t kind = SAIO_KIND_FILE;

	if (saio_fd_stream(fd)) {
		kind = SAIO_KIND_STREAM;
	} else {
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_APPEND))
			kind = SAIO_KIND_APPEND;
	}
	errno = saved;
	return kind;
}

/* Does positioned request q touch no byte (it fails, or has none)? */
static bool saio_empty(const struct saio_req *q)
{
	/* a negative offset fails in the kernel: it touches nothing */
	return q->off < 0 || !q->len;
}

/* The end of q's byte range (saturated: "beyond any file"). */
static uint64_t saio_end(const struct saio_req *q)
{
	return q->len > UINT64_MAX - (uint64_t)q->off ?
	       UINT64_MAX : (uint64_t)q->off + q->len;
}

/* Do the byte ranges of positioned requests q and r overlap? */
static bool saio_overlap(const struct saio_req *q, const struct saio_req *r)
{
	if (saio_empty(q) || saio_empty(r))
		return false;
	return (uint64_t)q->off - (uint64_t)r->off < r->len ||
	       (uint64_t)r->off - (uint64_t)q->off < q->len;
}

/*
 * A read rd and a write wr of one file that do not overlap: could the
 * write make the read's result other than what it would be with the two
 * run in their submission order?  Only through the file's size: a write
 * that ends beyond the read's start may extend the file into the read's
 * range (a hole of zeros, or the write's own bytes further on), or past
 * it, where the read would otherwise meet the end of the file (glibc runs
 * one descriptor's requests one after the other: a read queued after a
 * write of [1000, 1010) to a 100-byte file reads zeros at 500, not end of
 * file).  Without the size this is the whole answer (saio_extends_maybe());
 * with 'size', the file's size when the later of the two was queued (a
 * lower bound of its size from then on: AIO never shrinks a file), the
 * write changes nothing for the read if the read's range lies within the
 * file already (every byte of it exists, and none is the write's) or the
 * write ends within the file (it does not change its size).
 */
static bool saio_extends_maybe(const struct saio_req *rd,
			       const struct saio_req *wr)
{
	return !saio_empty(rd) && !saio_empty(wr) && !saio_overlap(rd, wr) &&
	       saio_end(wr) > (uint64_t)rd->off;
}

static bool saio_extends(const struct saio_req *rd, const struct saio_req *wr,
			 int64_t size)
{
	return saio_extends_maybe(rd, wr) && saio_end(rd) > (uint64_t)size &&
	       saio_end(wr) > (uint64_t)size;
}

/*
 * Must r wait for the earlier request q on the same descriptor?  An
 * fsync waits for everything before it (it must cover those writes).  On
 * a stream, reads wait for reads and writes for writes (the order is the
 * data's).  On a seekable file, requests run at once unless a write
 * overlaps: a write then waits for an earlier read or write of any byte
 * of its range, a read for an earlier write, so that the file and the
 * read's data are what the program's order says, as with glibc, which
 * runs one descriptor's requests one after another (two overlapping
 * writes: the later one's data stays; LTP's aio_error 2-1 queues 128
 * writes at offset 0); and a read and a write also wait for each other
 * (the later for the earlier) when the write may extend the file under
 * the read (saio_extends(), with the size r saw when it was queued).
 * Two writes that do not overlap leave the same file in either order.
 * O_APPEND: a write waits for every earlier read or write, a read for
 * every earlier write (an append's offset is the end of the file when it
 * runs, whatever aio_offset says).
 */
static bool saio_conflict(const struct saio_fd *f, const struct saio_req *q,
			  const struct saio_req *r)
{
	if (r->op == SAIO_FSYNC || r->op == SAIO_FDSYNC)
		return true;
	switch (f->kind) {
	case SAIO_KIND_STREAM:
		/* r not a stream: see saio_req_alloc() */
		return r->stream && q->op == r->op;
	case SAIO_KIND_APPEND:
		/* an append's range is the end of the file when it runs */
		return (q->op == SAIO_WRITE || r->op == SAIO_WRITE) &&
		       (q->op == SAIO_READ || q->op == SAIO_WRITE);
	default:
		break;
	}
	if (q->op == SAIO_WRITE && r->op == SAIO_READ)
		return saio_overlap(q, r) || saio_extends(r, q, r->fsize);
	if (q->op == SAIO_READ && r->op == SAIO_WRITE)
		return saio_overlap(q, r) || saio_extends(q, r, r->fsize);
	return q->op == SAIO_WRITE && r->op == SAIO_WRITE && saio_overlap(q, r);
}

/*
 * r, just queued on a file: does its order with an earlier request
 * depend on the file's size (saio_extends_maybe())?  Then look at the
 * size, once, for the life of r (saio_must_wait() is asked again as
 * earlier requests finish, of fewer of them).  The look (statx(), which
 * takes no lock of the file's and makes no round trip) is made only
 * when a read and a write of the file are in flight together and could
 * depend on each other that way: a pure read load, or writes only, never
 * pay it.  A block device's size is no inode size (statx() says 0) and
 * no write changes it: nothing depends on it.  If it cannot be known, 0:
 * every such pair is ordered.
 */
static void saio_size_for_order(const struct saio_fd *f, struct saio_req *r)
{
	const struct saio_req *q;
	struct statx stx;
	int saved;

	r->fsize = 0;
	if (f->kind != SAIO_KIND_FILE ||
	    (r->op != SAIO_READ && r->op != SAIO_WRITE))
		return;
	for (q = r->fprev; q; q = q->fprev) {
		if (r->op == SAIO_READ ? q->op == SAIO_WRITE &&
					 saio_extends_maybe(r, q) :
					 q->op == SAIO_READ &&
					 saio_extends_maybe(q, r))
			break;
	}
	if (!q)
		return;
	saved = errno;
	if (!statx(r->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		   STATX_TYPE | STATX_SIZE, &stx)) {
		if ((stx.stx_mask & STATX_TYPE) &&
		    (stx.stx_mode & S_IFMT) == S_IFBLK)
			r->fsize = INT64_MAX;
		else if ((stx.stx_mask & STATX_SIZE) &&
			 stx.stx_size <= (uint64_t)INT64_MAX)
			r->fsize = (int64_t)stx.stx_size;
	}
	errno = saved;
}

static bool saio_must_wait(const struct saio_fd *f, const struct saio_req *r)
{
	const struct saio_req *q;

	for (q = r->fprev; q; q = q->fprev)
		if (saio_conflict(f, q, r))
			return true;
	return false;
}

static struct saio_fd *saio_fd_get(int fd)
{
	struct saio_fd **pp = &saio.fdhash[hash_fd(fd)], *f;

	for (f = *pp; f; f = f->hnext)
		if (f->fd == fd)
			return f;
	/* there is always one: each queue holds at least one request */
	f = saio.free_fd;
	saio.free_fd = f->hnext;
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->hnext = *pp;
	*pp = f;
	return f;
}

static void saio_fd_put(struct saio_fd *f)
{
	struct saio_fd **pp = &saio.fdhash[hash_fd(f->fd)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	f->hnext = saio.free_fd;
	saio.free_fd = f;
}

/*
 * Take a request slot for cb and queue it on its descriptor.  Sets *start
 * when it may run at once (it is then SAIO_RUNNING), otherwise it waits
 * behind earlier requests (SAIO_WAITING).  Marks the aiocb EINPROGRESS.
 * Returns NULL with errno EAGAIN when the pool is empty.
 */
struct saio_req *saio_req_alloc(struct aiocb *cb, int op, int fd,
				const struct sigevent *sev,
				struct saio_lio *lio, bool *start)
{
	struct saio_req *r;
	struct saio_fd *f;
	uint32_t h = hash_ptr(cb);
	bool stream;

	saio_lock(&saio.lock);
	r = saio.free_req;
	if (!r) {
		saio_unlock(&saio.lock);
		errno = EAGAIN;
		return NULL;
	}
	saio.free_req = r->hnext;
	r->gen++;
	r->cb = cb;
	r->fd = fd;
	r->off = cb->aio_offset;
	r->len = cb->aio_nbytes;
	r->op = (uint8_t)op;
	if (op == SAIO_WRITE)
		__atomic_fetch_add(&saio.writes_live, 1, __ATOMIC_RELAXED);
	r->lio = lio;
	r->cwait = NULL;
	r->sev = *sev;
	r->notify = saio_sigev_active(sev) || (lio && lio->notify);
	r->wnext = NULL;
	r->dnext = NULL;
	r->wbits = 0;
	__atomic_store_n(&r->dpub, false, __ATOMIC_RELAXED);
	r->ret = 0;
	r->nowait_missed = false;
	r->defer = lio && lio->nowait;
	r->hnext = saio.cbhash[h];
	saio.cbhash[h] = r;
	if (r->notify)
		saio.nr_notify++;
	if (lio) {
		lio->pending++;
		lio->refs++;
	}

	f = saio_fd_get(fd);
	stream = false;
	/*
	 * A deferred request (lio_listio LIO_NOWAIT) is not tried in the
	 * caller, where a stream shows itself (ESPIPE): looked at now, or
	 * its positioned call would fail in the engine with nobody to
	 * reap and redo it.  (A write, never tried in the caller either,
	 * has the reaper for that: complete.c, saio_start_new().)
	 */
	if ((f->nr || r->defer) && (f->kind == SAIO_KIND_UNKNOWN ||
				    f->kind == SAIO_KIND_STREAM)) {
		/*
		 * Does not block.  A stream queue is looked at again: POSIX
		 * lets requests go on after their descriptor was closed, so
		 * the number may now name a file, which must not get plain
		 * writes at its file position behind the old stream's.
		 */
		uint8_t kind = saio_classify(fd);

		/* atomic: chains.c reads it without the lock */
		if (f->kind == SAIO_KIND_UNKNOWN)
			__atomic_store_n(&f->kind, kind, __ATOMIC_RELAXED);
		stream = kind == SAIO_KIND_STREAM;
	}
	r->fdq = f;
	r->fnext = NULL;
	r->fprev = f->tail;
	if (f->tail)
		f->tail->fnext = r;
	else
		f->head = r;
	f->tail = r;
	f->nr++;
	r->stream = stream;
	saio_size_for_order(f, r);
	if (saio_must_wait(f, r)) {
		r->state = SAIO_WAITING;
		f->nr_waiting++;
		*start = false;
	} else {
		r->state = SAIO_RUNNING;
		*start = true;
	}
	saio.st.in_flight++;
	saio.st.submitted++;
	saio_store_error(cb, EINPROGRESS);
	saio_unlock(&saio.lock);
	return r;
}

/*
 * Under saio.lock: put a request whose completion has been processed back;
 * 'status' (its aiocb's final error status) goes to the aio_cancel() calls
 * waiting for it.
 */
void saio_req_free(struct saio_req *r, int status)
{
	struct saio_cwait *w;

	for (w = r->cwait; w; w = w->next)
		__atomic_store_n(&w->status, status, __ATOMIC_RELEASE);
	r->cwait = NULL;
	r->state = SAIO_FREE;
	r->cb = NULL;
	r->hnext = saio.free_req;
	saio.free_req = r;
}

/*
 * Under saio.lock: the live request for cb, or NULL.  Not one a handler
 * published and nobody finished yet (complete.c, saio_publish()): it is
 * done as far as the program can tell, and its aiocb may already serve
 * another request.
 */
struct saio_req *saio_find(const struct aiocb *cb)
{
	struct saio_req *r;

	for (r = saio.cbhash[hash_ptr(cb)]; r; r = r->hnext)
		if (r->cb == cb && !saio_published(r))
			return r;
	return NULL;
}

/*
 * Under saio.lock: take r off its aiocb hash chain and its descriptor's
 * queue, and push onto *ready the waiting requests that may now run
 * (marked SAIO_RUNNING; the caller starts them after dropping the lock).
 */
void saio_queue_remove(struct saio_req *r, struct saio_req **ready)
{
	struct saio_req **pp = &saio.cbhash[hash_ptr(r->cb)], *w;
	struct saio_fd *f = r->fdq;

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;

	if (r->op == SAIO_WRITE)
		__atomic_fetch_sub(&saio.writes_live, 1, __ATOMIC_RELAXED);
	if (r->state == SAIO_WAITING)
		f->nr_waiting--;
	if (r->fprev)
		r->fprev->fnext = r->fnext;
	else
		f->head = r->fnext;
	if (r->fnext)
		r->fnext->fprev = r->fprev;
	else
		f->tail = r->fprev;
	if (--f->nr == 0) {
		saio_fd_put(f);
		return;
	}
	if (!f->nr_waiting)
		return;
	for (w = f->head; w; w = w->fnext) {
		if (w->state != SAIO_WAITING || saio_must_wait(f, w))
			continue;
		w->state = SAIO_RUNNING;
		f->nr_waiting--;
		w->wnext = *ready;
		*ready = w;
	}
}

/*
 * The engine said -ESPIPE to a positioned read or write: the descriptor is
 * a stream.  Record that (later requests will wait in order) and switch r
 * to plain read/write.  Returns false if r already was a stream request.
 */
bool saio_make_stream(struct saio_req *r)
{
	bool changed;

	saio_lock(&saio.lock);
	changed = !r->stream && (r->op == SAIO_READ || r->op == SAIO_WRITE);
	if (changed) {
		r->stream = true;
		__atomic_store_n(&r->fdq->kind, SAIO_KIND_STREAM,
				 __ATOMIC_RELAXED);
	}
	saio_unlock(&saio.lock);
	return changed;
}
