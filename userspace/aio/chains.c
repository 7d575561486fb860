// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * chains.c - the engine: the only file of libsyslet-aio that talks to
 * libsyslet, and a leaf: it calls nothing of the other files.  It starts
 * a request's chain (or does a read in the caller), hands completions
 * back as values (struct saio_done), cancels, and sets the limits.
 *
 * One libsyslet context (one completion ring in ordinary memory, no file
 * descriptor) per process; one chain of one atom per request.  The
 * backend is libsyslet's choice: the kernel engine when the running
 * kernel has it, the emulated one otherwise, $SYSLET_BACKEND to force it.
 *
 * A request is started with syslet_submit_done(): a chain that completes
 * in the calling thread reports through the 'done' argument, is finished
 * inside the submitting call, and never touches the ring.  On the kernel
 * backend the default mode is pass-on-block: a chain runs in the caller
 * until an atom would sleep, so a read that does not block (a page-cache
 * hit, a pipe with data) completes that way.  Writes, fsync and fdatasync
 * are always queued to an async thread (SYSLET_ASYNC), as glibc's are to
 * its helper: a program that queues writes finds them in progress, not
 * done inside aio_write(), and a write's own cost moves off the caller.
 * Positioned reads
 * are steered further (saio_read_here()): a buffered read is tried with
 * preadv2(RWF_NOWAIT) and, if the data is not cached, submitted at once
 * with SYSLET_ASYNC instead of paying pass-on-block's hand-off when it
 * blocks: a kernel that reads such a file's pages without a thread (kbuf,
 * docs/design.md) waits for them holding no thread at all, an older one
 * queues the read to an async thread; O_DIRECT reads are queued at once;
 * reads of memory file systems are done in the caller.  On the emulated backend every chain
 * goes to a worker, so the reads done in the caller are its only inline
 * path.
 *
 * Completions that go through the ring are copied out with syslet_reap()
 * (no system call) and processed after the ring slots are given back,
 * because processing may submit new chains.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#include "aio-internal.h"	/* first: its x86-64 check */

#include <syslet.h>

#define SAIO_RING_ENTRIES	1024

static struct syslet_ctx ctx;
static bool ctx_live;
static bool inline_off;		/* SYSLET_AIO_INLINE=0 */

/*
 * Every chain that goes to an engine thread (SYSLET_ASYNC) is
 * SYSLET_NOSIGNAL: the SIGPIPE or SIGXFSZ its write raises is discarded,
 * as in glibc's helper thread, which blocks every signal, and the request
 * fails with EPIPE or EFBIG only.  A kernel without the flag refuses it
 * (EINVAL): then it is dropped for good, and such a signal goes to the
 * thread that submitted the chain (docs/aio.md).
 */
static unsigned int nosignal = SYSLET_NOSIGNAL;

/*
 * Requests that may hold an engine thread: every chain submitted whose
 * completion has not been reaped from the ring yet (the chains done in
 * the caller never count).  The kernel's pass-on-block hands a blocking
 * chain to a new thread only below the process's max_threads; at the
 * bound the chain blocks in its caller, which would make aio_read() wait
 * for the data (a pipe: for ever, if the program writes only after its
 * aio_read() calls return).  So from max_threads requests on, a chain
 * is started with SYSLET_ASYNC, which the kernel queues until a thread
 * is free, and the submitting call never blocks.  (Another libsyslet
 * user in the process sharing the bound can still make a default-mode
 * chain block in the caller.)  A cold read that the kernel waits for
 * without a thread (kbuf) counts too, the shim cannot tell it apart: that
 * only makes later chains start with SYSLET_ASYNC a little sooner.
 */
static unsigned int nr_held;
static uint32_t held_max = 1;

/*
 * Start the engine (or, in the child of a fork, start it afresh) with at
 * most 'max_threads' worker threads (see saio_engine_limits()).
 */
int saio_engine_init(uint32_t max_threads, uint32_t idle_msecs)
{
	const char *env;
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
	__atomic_store_n(&nr_held, 0, __ATOMIC_RELAXED);
	saio_engine_limits(max_threads, idle_msecs);
	env = getenv("SYSLET_AIO_INLINE");
	inline_off = env && !strcmp(env, "0");
	return 0;
}

uint32_t saio_engine_backend(void)
{
	return ctx_live ? (uint32_t)syslet_backend(&ctx) : 0;
}


/*
 * Fill in r's atom: one system call, arguments by pointer into r->args;
 * 'flags' the chain's mode (0: the engine's default, or SYSLET_ASYNC).
 */
static void saio_fill_atom(struct saio_req *r, unsigned int flags)
{
	struct syslet_atom *a = &r->atom;
	int nargs, i;

	if (flags & SYSLET_ASYNC)
		flags |= __atomic_load_n(&nosignal, __ATOMIC_RELAXED);
	syslet_atom_init(a, 0, flags);
	r->args[0] = (uint64_t)r->fd;
	r->args[1] = (uint64_t)(uintptr_t)r->cb->aio_buf;
	r->args[2] = (uint64_t)r->cb->aio_nbytes;
	r->args[3] = (uint64_t)r->cb->aio_offset;
	switch (r->op) {
	case SAIO_READ:
		a->nr = r->stream ? SYS_read : SYS_pread64;
		nargs = r->stream ? 3 : 4;
		if (r->defer && !r->stream) {
			/*
			 * preadv(fd, iov, 1, offset, 0): the kernel's kbuf
			 * takes lone pread64() atoms only, and would read a
			 * cached block inside async_exec() (docs/aio.md)
			 */
			r->iov.iov_base = (void *)r->cb->aio_buf;
			r->iov.iov_len = r->cb->aio_nbytes;
			a->nr = SYS_preadv;
			r->args[1] = (uint64_t)(uintptr_t)&r->iov;
			r->args[2] = 1;
			r->args[4] = 0;
			nargs = 5;
		}
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
	/* what the call itself returned, even if the chain was cancelled */
	r->aret = SAIO_NOT_RUN;
	syslet_atom_ret(a, &r->aret);
	syslet_atom_set_data(a, saio_user_data(r));
}

/*
 * Reads in the caller.  How a positioned read starts depends on its
 * descriptor (saio_fd.how, looked at once per burst of requests):
 *
 *   NOWAIT  a buffered file: preadv2(RWF_NOWAIT) in the caller, which
 *	     succeeds only for cached data and never waits for a device.  A
 *	     full read (or end of file) completes the request there; a miss
 *	     is submitted at once with SYSLET_ASYNC: it would block, and
 *	     under pass-on-block a block costs the caller a hand-off.  On a
 *	     block device or ext4 (FMODE_BUF_RASYNC) the kernel then reads it
 *	     without a thread: async_exec() starts the device's I/O and the
 *	     read waits for its pages holding no thread (kbuf), so every miss
 *	     is at the device at once, whatever aio_threads is; elsewhere it
 *	     goes to an async thread, at most aio_threads at a time.  A short
 *	     read may be a partly cached range: the chain reads it all.  The
 *	     shim itself does nothing else for a miss in the caller:
 *	     readahead() can block (it maps the file's extents, and waits for
 *	     a block request when the device's queue is full).
 *   MEMORY  a regular file of tmpfs (when the system has no swap), ramfs
 *	     or hugetlbfs, which has no RWF_NOWAIT (tmpfs in 6.1, and still
 *	     in 6.18): its data is memory, a read never waits for a device,
 *	     so a plain pread() in the caller.
 *   DIRECT  O_DIRECT: every read waits for the device (RWF_NOWAIT does not
 *	     keep a direct read from waiting for it), so SYSLET_ASYNC.
 *   ENGINE  anything else: the engine's default mode, pass-on-block on
 *	     the kernel backend (in the caller until the read would block).
 *
 * The answer is also remembered per descriptor number (how_cache) for the
 * next SAIO_HOW_TRUST bursts (each read done the fast way,
 * saio_engine_read_fast(), is a burst of its own), so that a program at
 * iodepth 1, whose queue empties after every request, does not pay an
 * fcntl() per read (and for a memory file an RWF_NOWAIT try, fstat(),
 * fstatfs() and sysinfo(), and the request pool: at 64, that look was
 * about a tenth of a hot read's cost in the TCG guest).  The
 * number may be closed and reused meanwhile; every mode reads correctly
 * from any descriptor, a stale one only for a while starts reads the less
 * suitable way (at worst a read of a reused O_DIRECT or disk descriptor
 * waits in the caller).  SYSLET_AIO_INLINE=0 turns all of this off: every
 * read is a chain in the engine's default mode.
 */
#define SAIO_HOW_FDS		4096
#define SAIO_HOW_TRUST		256
static uint32_t how_cache[SAIO_HOW_FDS];	/* how | bursts left << 8 */

static void saio_how_set(struct saio_req *r, uint8_t how)
{
	__atomic_store_n(&r->fdq->how, how, __ATOMIC_RELAXED);
	if (r->fd >= 0 && r->fd < SAIO_HOW_FDS)
		__atomic_store_n(&how_cache[r->fd],
				 (uint32_t)(how | SAIO_HOW_TRUST << 8),
				 __ATOMIC_RELAXED);
}

static uint8_t saio_how(struct saio_req *r)
{
	uint8_t how = __atomic_load_n(&r->fdq->how, __ATOMIC_RELAXED);
	uint32_t c;
	int fl;

	if (how != SAIO_HOW_UNKNOWN)
		return how;
	if (r->fd >= 0 && r->fd < SAIO_HOW_FDS) {
		c = __atomic_load_n(&how_cache[r->fd], __ATOMIC_RELAXED);
		if (c >> 8) {
			__atomic_store_n(&how_cache[r->fd],
					 (uint32_t)(c - (1 << 8)),
					 __ATOMIC_RELAXED);
			how = c & 0xff;
			__atomic_store_n(&r->fdq->how, how, __ATOMIC_RELAXED);
			return how;
		}
	}
	fl = fcntl(r->fd, F_GETFL);
	if (fl < 0)
		return SAIO_HOW_ENGINE;	/* the chain reports the error */
	how = fl & O_DIRECT ? SAIO_HOW_DIRECT : SAIO_HOW_NOWAIT;
	saio_how_set(r, how);
	return how;
}

/* No RWF_NOWAIT on r's file: is it a memory file, or one for the engine? */
static uint8_t saio_how_memory(struct saio_req *r)
{
	struct statfs sfs;
	struct sysinfo si;
	struct stat st;
	uint8_t how = SAIO_HOW_ENGINE;

	/* regular files only: a device node of devtmpfs is no memory */
	if (!fstat(r->fd, &st) && S_ISREG(st.st_mode) &&
	    !fstatfs(r->fd, &sfs) &&
	    ((uint32_t)sfs.f_type == RAMFS_MAGIC ||
	     (uint32_t)sfs.f_type == HUGETLBFS_MAGIC ||
	     ((uint32_t)sfs.f_type == TMPFS_MAGIC && !sysinfo(&si) &&
	      !si.totalswap)))
		how = SAIO_HOW_MEMORY;
	saio_how_set(r, how);
	return how;
}

/*
 * Is r's descriptor a stream?  Asked of a positioned read about to leave
 * the caller without having been tried there (below).  A queue that has
 * looked at its descriptor (req.c) knows whether it is a file.
 */
static bool saio_untried_stream(const struct saio_req *r)
{
	uint8_t kind = __atomic_load_n(&r->fdq->kind, __ATOMIC_RELAXED);

	if (kind == SAIO_KIND_FILE || kind == SAIO_KIND_APPEND)
		return false;
	return saio_fd_stream(r->fd);
}

/*
 * Try r (a positioned read) in the caller.  Returns 1 with r->ret set if
 * it completed there; 0 if the chain must do it, with *flags the chain's
 * mode and *tried set if a read was tried (so r is no stream's); -ESPIPE
 * if the descriptor is a stream (the caller makes r a plain read and
 * starts it again: saio_make_stream()).
 */
static int saio_read_here(struct saio_req *r, unsigned int *flags,
			  bool *tried)
{
	struct iovec iov = {
		.iov_base = (void *)r->cb->aio_buf,
		.iov_len = r->cb->aio_nbytes,
	};
	uint8_t how = saio_how(r);
	ssize_t n;

	switch (how) {
	case SAIO_HOW_DIRECT:
		*flags = SYSLET_ASYNC;
		return 0;
	case SAIO_HOW_NOWAIT:
		n = preadv2(r->fd, &iov, 1, r->cb->aio_offset, RWF_NOWAIT);
		*tried = true;
		if (n >= 0 && ((size_t)n == iov.iov_len || n == 0)) {
			r->ret = n;
			return 1;
		}
		if (n >= 0 || errno == EAGAIN) {
			/* not (all) cached: a thread reads it */
			*flags = SYSLET_ASYNC;
			return 0;
		}
		if (errno == ESPIPE)
			return -ESPIPE;	/* a pipe or socket: read() */
		if (errno != EOPNOTSUPP ||
		    saio_how_memory(r) != SAIO_HOW_MEMORY)
			return 0;	/* the chain reports any error */
		/* fall through */
	case SAIO_HOW_MEMORY:
		n = pread(r->fd, iov.iov_base, iov.iov_len, r->cb->aio_offset);
		if (n < 0 && errno == ESPIPE)
			return -ESPIPE;
		r->ret = n < 0 ? -errno : n;
		return 1;
	default:
		return 0;
	}
}

/*
 * The fast way of a positioned read of cb: done in the caller with no
 * request at all, when its descriptor number's answer (how_cache) is
 * trusted and says a read there never waits for a device (MEMORY) or is
 * tried with RWF_NOWAIT first (NOWAIT).  Looks at nothing but cb and
 * how_cache: no lock, no request slot (submit.c publishes the result).
 * Returns 1 with *res the read's result (or -errno: the request's status)
 * if it completed; 0 if the request must go the usual way, with *missed
 * set if an RWF_NOWAIT try found the data not (all) cached (the request
 * then goes to the engine at once, without trying again:
 * saio_req.nowait_missed).  A stream (-ESPIPE: a pipe or socket reusing
 * the number; a positioned read consumed nothing of it), RWF_NOWAIT not
 * supported, any other error of the RWF_NOWAIT try, and every other
 * descriptor go the usual way.
 */
int saio_engine_read_fast(const struct aiocb *cb, int64_t *res, bool *missed)
{
	struct iovec iov = {
		.iov_base = (void *)cb->aio_buf,
		.iov_len = cb->aio_nbytes,
	};
	int fd = cb->aio_fildes, saved, ret;
	uint32_t c;
	uint8_t how;
	ssize_t n;

	*missed = false;
	if (inline_off || fd < 0 || fd >= SAIO_HOW_FDS || cb->aio_offset < 0)
		return 0;
	c = __atomic_load_n(&how_cache[fd], __ATOMIC_RELAXED);
	how = c & 0xff;
	if (!(c >> 8) || (how != SAIO_HOW_MEMORY && how != SAIO_HOW_NOWAIT))
		return 0;
	/* each request is a burst of its own here */
	__atomic_store_n(&how_cache[fd], (uint32_t)(c - (1 << 8)),
			 __ATOMIC_RELAXED);
	saved = errno;
	if (how == SAIO_HOW_MEMORY) {
		n = pread(fd, iov.iov_base, iov.iov_len, cb->aio_offset);
		if (n >= 0) {
			*res = n;
			return 1;
		}
		ret = errno != ESPIPE;
		*res = -errno;
	} else {
		n = preadv2(fd, &iov, 1, cb->aio_offset, RWF_NOWAIT);
		if (n >= 0 && ((size_t)n == iov.iov_len || n == 0)) {
			*res = n;
			return 1;
		}
		/* short (maybe partly cached) or not cached */
		*missed = n >= 0 || errno == EAGAIN;
		ret = 0;
	}
	errno = saved;
	return ret;
}

/*
 * Submit r's chain; without SYSLET_NOSIGNAL if the kernel has no such
 * flag: refused with it (EINVAL) and accepted without it.  Any other
 * outcome leaves the flag alone.
 */
static int saio_submit_atom(struct saio_req *r, struct syslet_completion *done)
{
	int ret;

	saio_busy_enter();	/* the emulated backend's locks */
	ret = syslet_submit_done(&ctx, &r->atom, done);
	if (ret == -EINVAL && (r->atom.flags & SYSLET_NOSIGNAL)) {
		r->atom.flags &= ~SYSLET_NOSIGNAL;
		ret = syslet_submit_done(&ctx, &r->atom, done);
		if (ret == SYSLET_DONE || ret == SYSLET_QUEUED)
			__atomic_store_n(&nosignal, 0, __ATOMIC_RELAXED);
	}
	saio_busy_leave();
	return ret;
}

/*
 * Start r.  Returns 1 if it completed in the caller (result in r->ret),
 * 0 if its completion will come through the ring (r may be gone by the
 * time this returns), or a negative errno if it could not be started
 * (-ESPIPE: a positioned read of a stream, to be redone as read()).
 */
int saio_engine_submit(struct saio_req *r)
{
	struct syslet_completion done;
	unsigned int flags = 0;
	int saved = errno, ret;
	bool tried = r->nowait_missed;

	/*
	 * A stream's request gets read()/write(), which has no offset; but
	 * glibc's pread()/pwrite() refuses a negative one before it meets
	 * the stream (EINVAL), and so does the shim.
	 */
	if (r->stream && (r->op == SAIO_READ || r->op == SAIO_WRITE) &&
	    r->cb->aio_offset < 0)
		return -EINVAL;

	/* a negative offset is not "the file position" here: the chain's
	 * pread64 refuses it, as glibc's pread does */
	if (r->defer || r->op != SAIO_READ) {
		/*
		 * lio_listio(LIO_NOWAIT): nothing completes in the caller.
		 * Writes and syncs never do (the top of this file).
		 */
		flags = SYSLET_ASYNC;
	} else if (r->op == SAIO_READ && !r->stream && r->nowait_missed) {
		/* saio_engine_read_fast() tried RWF_NOWAIT: not cached */
		flags = SYSLET_ASYNC;
	} else if (r->op == SAIO_READ && !r->stream && !inline_off &&
		   r->cb->aio_offset >= 0) {
		ret = saio_read_here(r, &flags, &tried);
		if (ret) {
			errno = saved;
			return ret;
		}
	}
	errno = saved;
	if (__atomic_fetch_add(&nr_held, 1, __ATOMIC_RELAXED) >=
	    __atomic_load_n(&held_max, __ATOMIC_RELAXED))
		flags = SYSLET_ASYNC;	/* never blocks the caller */
	/*
	 * A positioned read that leaves the caller untried (O_DIRECT, a
	 * number whose remembered answer says so and may be stale: a pipe
	 * reusing an O_DIRECT file's number, SYSLET_AIO_INLINE=0) must not
	 * be a stream's: its ESPIPE would come back through the ring, where
	 * nothing reaps a read but the program's next aio_error(),
	 * aio_suspend() or aio_cancel(), and the read would not start until
	 * then.  Not asked where the engine runs it in the caller (the
	 * kernel's default mode): its ESPIPE comes back here at once.
	 */
	if (r->op == SAIO_READ && !r->stream && !tried &&
	    r->cb->aio_offset >= 0 &&
	    ((flags & SYSLET_ASYNC) ||
	     syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL) &&
	    saio_untried_stream(r)) {
		__atomic_fetch_sub(&nr_held, 1, __ATOMIC_RELAXED);
		return -ESPIPE;
	}
	saio_fill_atom(r, flags);
	/*
	 * -EINTR: a handler without SA_RESTART interrupted the first atom
	 * before it did anything (docs/abi.md); glibc's helper retries
	 * such a call, so submit again rather than fail it with EINTR.
	 * Bounded: a call that raises the signal itself each time (a
	 * background process's tty write with a SIGTTOU handler) would
	 * loop for ever; it then goes to an async thread, which blocks
	 * every signal, as glibc's helper does.
	 */
	for (int tries = 0; tries < 64; tries++) {
		ret = saio_submit_atom(r, &done);
		if (ret != -EINTR)
			break;
	}
	if (ret == -EINTR) {
		saio_fill_atom(r, SYSLET_ASYNC);
		ret = saio_submit_atom(r, &done);
	}
	if (ret == SYSLET_QUEUED)
		return 0;
	__atomic_fetch_sub(&nr_held, 1, __ATOMIC_RELAXED);
	if (ret == SYSLET_DONE) {
		r->ret = done.status;
		return 1;
	}
	return ret;
}

/*
 * Bound the engine's worker threads (and set how long an idle one stays,
 * unless 'idle_msecs' is 0).  On the emulated backend the pool is the
 * shim's own (libsyslet is linked in privately); on the kernel backend
 * the limit is the process's (async_limits()), shared with any other
 * libsyslet user in it.  At the bound, queued chains wait for a thread;
 * a default-mode chain that would block would run on in the caller, so
 * saio_engine_submit() starts chains with SYSLET_ASYNC from the bound on
 * (nr_held).
 */
int saio_engine_limits(uint32_t max_threads, uint32_t idle_msecs)
{
	struct syslet_limits set = {
		.size = sizeof(set),
		.max_threads = max_threads,
		.idle_msecs = idle_msecs,
	};
	int ret;

	if (!ctx_live)
		return 0;
	if (max_threads)
		__atomic_store_n(&held_max, max_threads, __ATOMIC_RELAXED);
	saio_busy_enter();
	ret = syslet_limits(&ctx, &set, NULL);
	saio_busy_leave();
	return ret;
}

/*
 * A kernel without SYSLET_CANCEL_QUEUED refuses it (EINVAL): then the
 * engine's requests are never cancelled by default (as before the flag),
 * and not asked again.
 */
static bool cancel_queued_ok = true;

/*
 * Cancel the engine's chain for a request: only if it has not started
 * (SYSLET_CANCEL_QUEUED: its completion, -ECANCELED, is posted before
 * this returns), or, with 'running', even if it runs.  0 if a chain was
 * cancelled, else a negative errno.  Never waits: with 'running' on the
 * emulated backend a running chain's call is signalled once (again, if
 * it was cancelled before and is still in its call); aio_cancel() asks
 * again in rounds under its one deadline (saio_cancel_wait()).
 */
int saio_engine_cancel(uint64_t user_data, bool running)
{
	int ret;

	if (!running && !__atomic_load_n(&cancel_queued_ok, __ATOMIC_RELAXED))
		return -EINVAL;
	saio_busy_enter();	/* the emulated backend's locks */
	ret = syslet_cancel(&ctx, user_data, running ? SYSLET_CANCEL_NOWAIT :
						       SYSLET_CANCEL_QUEUED);
	saio_busy_leave();
	if (running)
		return ret;
	if (ret == -EINVAL)
		__atomic_store_n(&cancel_queued_ok, false, __ATOMIC_RELAXED);
	return ret;
}

/*
 * syslet_wait() for one completion.  The emulated backend's moves parked
 * completions in under a lock of libsyslet's and frees their jobs: there
 * the wait counts in saio_t_busy, so that a handler that interrupts it
 * only publishes (complete.c, saio_reap()), where its full reap waited
 * for that lock for ever.  The kernel backend's is a system call.
 */
static int saio_syslet_wait(const struct timespec *rel)
{
	bool emulated = syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL;
	int ret;

	if (emulated)
		saio_busy_enter();
	ret = syslet_wait(&ctx, 1, rel);
	if (emulated)
		saio_busy_leave();
	return ret;
}

/*
 * Sleep until the ring has a completion, at most 'rel': 1 if it has, 0
 * on timeout, -EINTR after a signal handler, -EAGAIN if the engine cannot
 * wait (the caller must not spin).  Reaps nothing; any thread may wait so.
 */
int saio_engine_wait(const struct timespec *rel)
{
	int ret = saio_syslet_wait(rel);

	if (ret > 0)
		return 1;
	if (ret == -ETIME)
		return 0;
	return ret == -EINTR ? -EINTR : -EAGAIN;
}

/*
 * The ring's head now, and whether anything waits in the ring: the first
 * half of an untimed wait in the engine (complete.c), read before it
 * looks at saio.seq for the last time; and what a waker compares with the
 * head the sleepers read.  Only loads of the ring header: a signal
 * handler may call it.
 */
uint32_t saio_engine_head(bool *ready)
{
	uint32_t head = syslet_cq_head(&ctx);

	*ready = syslet_cq_ready(&ctx) != 0;
	return head;
}

/*
 * A wait in the engine (complete.c): until a completion was posted since
 * the ring's head was 'head', whoever reaped it (async_wait()'s
 * SYSLET_WAIT_HEAD), so that one reaped by another thread, or by a handler
 * of this one, between the waiter's last look and its sleep, still ends
 * it; at most 'rel' (NULL: untimed).  Untimed, the kernel restarts it
 * after an SA_RESTART handler, as glibc's untimed futex wait
 * (SYSLET_WAIT_RESTART, or SYSLET_WAIT_RESTART_SIGMASK with a 'mask',
 * which keep 'head'); -EINTR after any other handler, and after any
 * handler when timed.  With 'mask' (the program's, the caller's thread
 * blocking every signal meanwhile: complete.c, struct saio_sigwait), the
 * mask is installed for the sleep only, so that handlers run only in it.
 * Returns 1 when a completion was posted, 0 on timeout, -EINTR, -EINVAL
 * (the emulated backend, a kernel without those flags, and the emulated
 * backend with a mask) or -EAGAIN (no context yet, or the engine cannot
 * wait: not "cannot ever").
 *
 * With 'cancellable' (the caller is in aio_suspend(), a cancellation
 * point), asynchronous cancellation is on across the call: a cancellation
 * request's signal, whose handler glibc installs with SA_RESTART, would
 * otherwise only restart it.  That is safe because for the shim's context
 * the call is the system call and nothing that holds a lock or memory:
 * libsyslet first posts completions it parked itself (a lock, a free()),
 * and this context has none, since the shim submits no SYSLET_SYNC chain
 * and no threadlet; a timed wait with a mask reads the clock (the vDSO)
 * first, and may try the call a second time and set a flag (kernel.c,
 * k_masked_wait()).
 */
int saio_engine_wait_posted(uint32_t head, bool cancellable,
			    const struct timespec *rel, const sigset_t *mask)
{
	int ret, oldtype, err;

	if (!ctx_live)
		return -EAGAIN;		/* no context yet: not "cannot ever" */
	if (syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL)
		return -EINVAL;
	if (cancellable)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &oldtype);
	ret = rel || mask ? syslet_pwait_posted(&ctx, head, rel, mask) :
			    syslet_wait_posted(&ctx, head);
	if (cancellable) {
		err = errno;
		pthread_setcanceltype(oldtype, NULL);
		errno = err;
	}
	if (ret >= 0)
		return 1;
	if (ret == -ETIME)
		return 0;
	return ret == -EINTR || ret == -EINVAL ? ret : -EAGAIN;
}

/*
 * Wake the waiters asleep in saio_engine_wait_posted(): post a completion
 * that names no request (SAIO_WAKE_DATA) to move the ring's head
 * (syslet_post(): SYSLET_EXEC_POST, nothing runs, no thread; on the
 * kernel backend no allocation or lock in user space, so a signal handler
 * may do it).  It cannot fail when it is needed: a waiter still asleep
 * has the head it read, and it read it with the ring empty, so the ring
 * is empty, nothing is parked before it (its wait flushed the overflow
 * list; anything parked since moved the head) and the kernel writes it
 * straight into the ring, without a chain object or a place in
 * max_chains.  When the head has moved, a refusal does not matter: every
 * waiter is awake.  Not counted in nr_held: it holds no thread.  Returns
 * 0 or the engine's -errno.
 */
int saio_engine_wake(void)
{
	struct syslet_completion c;
	int r;

	memset(&c, 0, sizeof(c));
	c.user_data = SAIO_WAKE_DATA;
	do
		r = syslet_post(&ctx, &c);
	while (r == -EINTR);
	return r;
}

/*
 * Copy up to 'max' (at most SAIO_REAP_BATCH) completions out of the ring
 * into 'out'.  With 'wait' and none there, first sleep until there is one:
 * forever if 'rel' is NULL, else at most 'rel' (then returning 0 on
 * timeout and -EINTR if a signal handler ran).  Returns how many were
 * copied.  Caller holds saio.reap_lock (the ring has one consumer).
 */
static void saio_engine_took(struct saio_done *out,
			     const struct syslet_completion *batch, int n)
{
	unsigned int held = 0;
	int i;

	/* a wake (saio_engine_wake()) names no request */
	for (i = 0; i < n; i++) {
		out[i].user_data = batch[i].user_data;
		out[i].res = batch[i].status;
		held += batch[i].user_data != SAIO_WAKE_DATA;
	}
	__atomic_fetch_sub(&nr_held, held, __ATOMIC_RELAXED);
}

/*
 * saio_engine_reap() without a wait, for a signal handler that
 * interrupted this thread anywhere, in the shim and libsyslet included:
 * what is in the ring only (syslet_reap_ready(): atomics, both backends),
 * completions parked on an overflow list left for the next reap.
 */
int saio_engine_reap_ready(struct saio_done *out, int max)
{
	struct syslet_completion batch[SAIO_REAP_BATCH];
	int n;

	if (!ctx_live)
		return 0;
	if (max > SAIO_REAP_BATCH)
		max = SAIO_REAP_BATCH;
	n = syslet_reap_ready(&ctx, batch, max);
	if (n > 0)
		saio_engine_took(out, batch, n);
	return n;
}

int saio_engine_reap(struct saio_done *out, int max, bool wait,
		     const struct timespec *rel)
{
	struct syslet_completion batch[SAIO_REAP_BATCH];
	int n, ret;

	if (max > SAIO_REAP_BATCH)
		max = SAIO_REAP_BATCH;
	for (;;) {
		n = syslet_reap(&ctx, batch, max);
		if (n > 0) {
			saio_engine_took(out, batch, n);
			return n;
		}
		if (!wait)
			return 0;
		ret = saio_syslet_wait(rel);
		if (ret == -EINTR && rel && !syslet_cq_ready(&ctx))
			return -EINTR;
		if (ret < 0 && ret != -EINTR && ret != -ETIME)
			return 0;	/* cannot wait: let the caller poll */
		if (rel)
			wait = false;	/* one bounded wait, then what is there */
	}
}
