// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * chains.c - the only file of libsyslet-aio that talks to libsyslet.
 *
 * One libsyslet context (one completion ring in ordinary memory, no file
 * descriptor) per process; one chain of one atom per request.  The
 * backend is libsyslet's choice: the kernel engine when the running
 * kernel has it, the emulated one otherwise, $SYSLET_BACKEND to force it.
 *
 * A request is started with syslet_submit_done(): a chain that completes
 * in the calling thread (on a kernel whose engine passes a chain on only
 * when it blocks, every page-cache hit) reports through the 'done'
 * argument, is finished inside the submitting call, and never touches the
 * ring.  Until the engine does that, a read of a buffered regular file is
 * first tried in the caller with preadv2(RWF_NOWAIT), which succeeds only
 * when the data is in the page cache and never blocks; that attempt stops
 * for good the first time the engine itself completes a non-SYNC chain in
 * the caller, since the engine then does the same for free.
 *
 * Completions that go through the ring are copied out with syslet_reap()
 * (no system call) and processed after the ring slots are given back,
 * because processing may submit new chains.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>

#include <syslet.h>

#include "aio-internal.h"

#define SAIO_RING_ENTRIES	1024
#define SAIO_REAP_BATCH		64

static struct syslet_ctx ctx;
static bool ctx_live;
/* the engine completed a non-SYNC chain in the caller (pass-on-block) */
static bool engine_inline;

int saio_engine_init(void)
{
	int ret;

	if (ctx_live) {
		/*
		 * In a child after fork(): the context it inherited is empty
		 * (libsyslet guarantees it for both backends), so tearing it
		 * down waits for nothing; start from a fresh ring.
		 */
		syslet_ctx_exit(&ctx);
		ctx_live = false;
	}
	ret = syslet_ctx_init(&ctx, SAIO_RING_ENTRIES, 0);
	if (ret)
		return ret;
	ctx_live = true;
	__atomic_store_n(&engine_inline, false, __ATOMIC_RELAXED);
	return 0;
}

uint32_t saio_engine_backend(void)
{
	return ctx_live ? (uint32_t)syslet_backend(&ctx) : 0;
}

/* Fill in r's atom: one system call, arguments by pointer into r->args. */
static void saio_fill_atom(struct saio_req *r)
{
	struct syslet_atom *a = &r->atom;
	int nargs, i;

	syslet_atom_init(a, 0, 0);
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
		syslet_atom_arg(a, i, &r->args[i]);
	syslet_atom_set_data(a, saio_user_data(r));
}

/*
 * Descriptors on which the caller-side attempt is pointless (O_DIRECT, or
 * a file system without RWF_NOWAIT, such as tmpfs in 6.1): skip it for
 * the next SAIO_NOWAIT_SKIP reads of that descriptor number, then look
 * again (the number may have been closed and reused meanwhile).  Only the
 * negative answer is remembered: skipping the attempt is always safe.
 */
#define SAIO_NOWAIT_FDS		4096
#define SAIO_NOWAIT_SKIP	255
static uint8_t nowait_skip[SAIO_NOWAIT_FDS];

static void saio_nowait_off(struct saio_req *r)
{
	__atomic_store_n(&r->fdq->nowait, SAIO_NOWAIT_NO, __ATOMIC_RELAXED);
	if (r->fd >= 0 && r->fd < SAIO_NOWAIT_FDS)
		__atomic_store_n(&nowait_skip[r->fd], SAIO_NOWAIT_SKIP,
				 __ATOMIC_RELAXED);
}

/*
 * A positioned read of a buffered file, tried in the caller without
 * blocking.  Returns true with *res set if it completed; false if the
 * chain must do it (not cached, O_DIRECT, a stream, not supported, ...).
 * Only a full read or end of file counts: a short read may be a partly
 * cached range, so the chain reads the whole range again.
 */
static bool saio_try_nowait(struct saio_req *r, int64_t *res)
{
	struct saio_fd *f = r->fdq;
	uint8_t st = __atomic_load_n(&f->nowait, __ATOMIC_RELAXED), skip;
	struct iovec iov;
	ssize_t n;
	int fl;

	if (r->op != SAIO_READ || r->stream || st == SAIO_NOWAIT_NO ||
	    __atomic_load_n(&engine_inline, __ATOMIC_RELAXED))
		return false;
	if (st == SAIO_NOWAIT_UNKNOWN) {
		if (r->fd >= 0 && r->fd < SAIO_NOWAIT_FDS) {
			skip = __atomic_load_n(&nowait_skip[r->fd],
					       __ATOMIC_RELAXED);
			if (skip) {
				__atomic_store_n(&nowait_skip[r->fd], skip - 1,
						 __ATOMIC_RELAXED);
				return false;
			}
		}
		/* O_DIRECT: RWF_NOWAIT does not keep it from waiting for I/O */
		fl = fcntl(r->fd, F_GETFL);
		if (fl < 0)
			return false;	/* the chain reports the error */
		if (fl & O_DIRECT) {
			saio_nowait_off(r);
			return false;
		}
		__atomic_store_n(&f->nowait, SAIO_NOWAIT_YES, __ATOMIC_RELAXED);
	}
	iov.iov_base = (void *)r->cb->aio_buf;
	iov.iov_len = r->cb->aio_nbytes;
	n = preadv2(r->fd, &iov, 1, r->cb->aio_offset, RWF_NOWAIT);
	if (n >= 0 && ((size_t)n == iov.iov_len || n == 0)) {
		*res = n;
		return true;
	}
	if (n < 0 && errno == ESPIPE)
		saio_make_stream(r);	/* a pipe or socket: read() */
	else if (n < 0 && errno == EOPNOTSUPP)
		saio_nowait_off(r);
	return false;
}

/*
 * Start r.  Returns 1 if it completed in the caller (result in r->ret),
 * 0 if its completion will come through the ring (r may be gone by the
 * time this returns), or a negative errno if it could not be started.
 */
int saio_engine_submit(struct saio_req *r)
{
	struct syslet_completion done;
	int saved = errno, ret;

	if (saio_try_nowait(r, &r->ret)) {
		errno = saved;
		return 1;
	}
	errno = saved;
	saio_fill_atom(r);
	ret = syslet_submit_done(&ctx, &r->atom, &done);
	if (ret == SYSLET_DONE) {
		__atomic_store_n(&engine_inline, true, __ATOMIC_RELAXED);
		r->ret = done.status;
		return 1;
	}
	return ret == SYSLET_QUEUED ? 0 : ret;
}

/* 0 if a chain was cancelled (it completes with -ECANCELED), -ENOENT. */
int saio_engine_cancel(uint64_t user_data)
{
	return syslet_cancel(&ctx, user_data, 0);
}

/*
 * Process the completions in the ring.  With 'wait', first sleep until
 * there is at least one: forever if 'rel' is NULL, else at most 'rel'
 * (then returning 0 on timeout and -EINTR if a signal handler ran).
 * Returns how many completions were processed.  Caller holds
 * saio.reap_lock.
 */
int saio_engine_reap(bool wait, const struct timespec *rel)
{
	struct syslet_completion batch[SAIO_REAP_BATCH];
	int n, i, ret, total = 0;

	for (;;) {
		n = syslet_reap(&ctx, batch, SAIO_REAP_BATCH);
		if (n > 0) {
			for (i = 0; i < n; i++)
				saio_chain_done(batch[i].user_data,
						batch[i].status);
			total += n;
			continue;
		}
		if (!wait || total)
			return total;
		ret = syslet_wait(&ctx, 1, rel);
		if (ret == -EINTR && rel && !syslet_cq_ready(&ctx))
			return -EINTR;
		if (ret < 0 && ret != -EINTR && ret != -ETIME)
			return total;	/* cannot wait: let the caller poll */
		if (rel)
			wait = false;	/* one bounded wait, then what is there */
	}
}
