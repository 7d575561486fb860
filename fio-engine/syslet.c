// SPDX-License-Identifier: GPL-2.0
/*
 * syslet engine
 *
 * An external fio ioengine (fio 3.33, FIO_IOOPS_VERSION 31) on the syslet
 * engine, through libsyslet:
 *
 *	fio --ioengine=external:/path/to/syslet.so [--backend=kernel] ...
 *
 * Every I/O is its own chain of one atom (pread64, pwrite64, fsync,
 * fdatasync or sync_file_range), so iodepth=N means N chains in flight:
 * one chain for all of them would run them one after the other.  Trims
 * are done in ->queue() as libaio does them (syslet_fio_trim()).
 * The chain's user word is the io_u, so a completion leads straight back to
 * it.
 *
 * ->queue() only stages the io_u; ->commit() submits the staged ones (one
 * async_exec() each, there being no batch submission in the ABI).  With
 * exec_mode=pob a chain runs in the caller until it would block (the
 * kernel's pass-on-block): one that never blocks comes back SYSLET_DONE
 * with its completion in place (syslet_submit_done()), one that blocked
 * comes back SYSLET_QUEUED and completes through the ring.  The default,
 * exec_mode=auto, does the same but, after an I/O blocked, queues the next
 * iodepth I/Os to async threads at once (a hand-off costs the caller a
 * thread wakeup), then tries the caller again; with O_DIRECT, where every
 * I/O waits for the device, it queues them all.  exec_mode=async queues
 * every chain (SYSLET_ASYNC) and exec_mode=sync runs every chain in the
 * caller (SYSLET_SYNC).  Completions handed back
 * in place, and io_us that failed to submit, go on a list that
 * ->getevents() drains first.  ->getevents() then reaps
 * the ring from user space, and makes a system call (async_wait(), or the
 * emulated backend's wait) only when fewer than 'min' completions are
 * there.
 *
 * With nowait_first=1, reads and writes are first tried in the caller with
 * preadv2()/pwritev2(RWF_NOWAIT) and complete inline when they can, which
 * is what io_uring does before it punts to io-wq; only what would block
 * becomes a chain.  It is off by default so that the plain engine is what
 * gets measured.
 *
 * Locking: fio drives an engine instance from one thread (its job thread),
 * so the engine data is not locked.  The library's ring is reaped with
 * syslet_for_each_completion() and one syslet_cq_advance() per batch
 * (the inline single-reaper path), which holds for the same reason.
 *
 * Lifetime: an io_u's struct syslet_op lives from ->io_u_init() to
 * ->io_u_free(); the backend reads it while the chain is in flight.  The
 * context is torn down in ->cleanup() only once every chain in flight has
 * been reaped, since the kernel backend would otherwise write completions
 * into freed memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include <syslet.h>

#include "fio.h"
#include "optgroup.h"

#if FIO_IOOPS_VERSION != 31
#error "the syslet engine is written for FIO_IOOPS_VERSION 31 (fio 3.33)"
#endif

enum {
	SYSLET_FIO_BACKEND_AUTO,	/* SYSLET_BACKEND, else kernel if present */
	SYSLET_FIO_BACKEND_KERNEL,
	SYSLET_FIO_BACKEND_EMULATED,
};

enum {
	SYSLET_FIO_MODE_AUTO,		/* no mode flag: the backend decides */
	SYSLET_FIO_MODE_POB,		/* pass-on-block, every I/O */
	SYSLET_FIO_MODE_ASYNC,		/* SYSLET_ASYNC: never in the caller */
	SYSLET_FIO_MODE_SYNC,		/* SYSLET_SYNC: always in the caller */
};

struct syslet_fio_options {
	void *pad;			/* ->off1 of an option must not be 0 */
	unsigned int backend;
	unsigned int exec_mode;
	unsigned int nowait_first;
	unsigned int ring_entries;
	unsigned int spin_usec;
};

/* Per io_u: the chain (one op) and what its arguments point at. */
struct syslet_fio_io {
	struct syslet_op op;
	struct io_u *io_u;
};

struct syslet_fio_data {
	struct syslet_ctx ctx;
	unsigned int atom_flags;	/* mode flags of every chain */
	unsigned int depth;
	bool nowait;			/* nowait_first, until unsupported */

	struct io_u **staged;		/* queued, not yet submitted */
	unsigned int nr_staged;

	struct io_u **done;		/* completed in the caller */
	unsigned int nr_done;

	struct io_u **events;		/* what ->event() hands out */
	unsigned int nr_events;

	unsigned int in_flight;		/* submitted, not yet reaped */
	bool adaptive;			/* exec_mode=auto */
	unsigned int async_left;	/* auto: queue this many at once */
	unsigned int spin_usec;		/* poll the ring this long first */
};

static struct fio_option options[] = {
	{
		.name	= "backend",
		.lname	= "syslet backend",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct syslet_fio_options, backend),
		.help	= "Which implementation of the syslet ABI runs the chains",
		.def	= "auto",
		.posval = {
			  { .ival = "auto",
			    .oval = SYSLET_FIO_BACKEND_AUTO,
			    .help = "$SYSLET_BACKEND, else kernel if present, else emulated",
			  },
			  { .ival = "kernel",
			    .oval = SYSLET_FIO_BACKEND_KERNEL,
			    .help = "the patched kernel's async_exec() (fail without it)",
			  },
			  { .ival = "emulated",
			    .oval = SYSLET_FIO_BACKEND_EMULATED,
			    .help = "libsyslet's user-space thread pool",
			  },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "exec_mode",
		.lname	= "syslet execution mode",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct syslet_fio_options, exec_mode),
		.help	= "Where each chain runs",
		.def	= "auto",
		.posval = {
			  { .ival = "auto",
			    .oval = SYSLET_FIO_MODE_AUTO,
			    .help = "pass-on-block; after an I/O blocked, queue the next iodepth at once",
			  },
			  { .ival = "pob",
			    .oval = SYSLET_FIO_MODE_POB,
			    .help = "pass-on-block for every I/O: in the caller until it would block",
			  },
			  { .ival = "async",
			    .oval = SYSLET_FIO_MODE_ASYNC,
			    .help = "SYSLET_ASYNC: always in an async thread",
			  },
			  { .ival = "sync",
			    .oval = SYSLET_FIO_MODE_SYNC,
			    .help = "SYSLET_SYNC: always in the caller (a baseline)",
			  },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "nowait_first",
		.lname	= "try RWF_NOWAIT in the caller first",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct syslet_fio_options, nowait_first),
		.help	= "Try reads/writes with RWF_NOWAIT before making a chain",
		.def	= "0",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "ring_entries",
		.lname	= "syslet completion ring entries",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct syslet_fio_options, ring_entries),
		.help	= "Completion ring size (0: twice the iodepth; smaller overflows)",
		.def	= "0",
		.minval	= 0,
		.maxval	= SYSLET_RING_MAX_ENTRIES,
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "spin_usec",
		.lname	= "poll the ring before sleeping",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct syslet_fio_options, spin_usec),
		.help	= "Poll the ring this many microseconds before waiting in the backend",
		.def	= "0",
		.minval	= 0,
		.maxval	= 1000000,
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

/* Turns a chain's status into the io_u's result. */
static void syslet_fio_result(struct io_u *io_u, int64_t status)
{
	if (status < 0) {
		io_u->error = (unsigned int)-status;
		return;
	}
	if (ddir_rw(io_u->ddir) &&
	    (unsigned long long)status < io_u->xfer_buflen)
		io_u->resid = io_u->xfer_buflen - status;
}

/* Builds the io_u's chain.  Returns 0 or a positive errno. */
static int syslet_fio_prep(struct thread_data *td, struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	struct syslet_fio_io *sio = io_u->engine_data;
	struct syslet_op *op = &sio->op;
	int fd = io_u->file->fd;

	switch (io_u->ddir) {
	case DDIR_READ:
		syslet_prep_pread(op, fd, io_u->xfer_buf, io_u->xfer_buflen,
				  io_u->offset);
		break;
	case DDIR_WRITE:
		syslet_prep_pwrite(op, fd, io_u->xfer_buf, io_u->xfer_buflen,
				   io_u->offset);
		break;
	case DDIR_SYNC:
		syslet_prep_fsync(op, fd);
		break;
	case DDIR_DATASYNC:
		syslet_prep_fdatasync(op, fd);
		break;
	case DDIR_SYNC_FILE_RANGE:
		syslet_prep_syscall(op, SYS_sync_file_range, fd, io_u->offset,
				    io_u->xfer_buflen, td->o.sync_file_range,
				    0, 0);
		break;
	default:		/* trims: syslet_fio_trim() */
		return EINVAL;
	}
	syslet_op_add_flags(op, sd->atom_flags);
	syslet_op_set_data(op, (uint64_t)(uintptr_t)io_u);
	return 0;
}

/*
 * nowait_first: tries the read or write in the caller without blocking.
 * Returns true if the io_u is complete (its result set).
 */
static bool syslet_fio_try_nowait(struct syslet_fio_data *sd,
				  struct io_u *io_u)
{
	struct iovec iov = {
		.iov_base = io_u->xfer_buf,
		.iov_len = io_u->xfer_buflen,
	};
	ssize_t r;

	if (io_u->ddir == DDIR_READ)
		r = preadv2(io_u->file->fd, &iov, 1, io_u->offset, RWF_NOWAIT);
	else
		r = pwritev2(io_u->file->fd, &iov, 1, io_u->offset, RWF_NOWAIT);
	if (r >= 0 && (unsigned long long)r == io_u->xfer_buflen)
		return true;
	/* A file that cannot do RWF_NOWAIT never will: stop trying. */
	if (r < 0 && errno == EOPNOTSUPP)
		sd->nowait = false;
	/*
	 * EAGAIN, a partial transfer (part of it was not cached), EOF or
	 * another error: the chain does the whole I/O again and reports
	 * what a plain pread/pwrite would (rewriting the same bytes at the
	 * same offset is harmless).
	 */
	return false;
}

/*
 * An I/O that completes in ->queue() (FIO_Q_COMPLETED) never reaches
 * ->commit() or ->getevents(): count it as submitted and completed, as
 * fio's own engines do for what they finish there.
 */
static enum fio_q_status syslet_fio_completed(struct thread_data *td)
{
	io_u_mark_submit(td, 1);
	io_u_mark_complete(td, 1);
	return FIO_Q_COMPLETED;
}

/*
 * Trims, as libaio and io_uring do them: in ->queue(), once nothing is
 * in flight or staged, through fio's do_io_u_trim() (BLKDISCARD, or a
 * zone reset with zonemode=zbd).  A regular file, which fio cannot trim,
 * gets its range punched out instead.
 */
static enum fio_q_status syslet_fio_trim(struct thread_data *td,
					 struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	if (sd->nr_staged || sd->in_flight || sd->nr_done)
		return FIO_Q_BUSY;
	if (fio_fill_issue_time(td))
		fio_gettime(&io_u->issue_time, NULL);
	if (io_u->file->filetype == FIO_TYPE_FILE &&
	    td->o.zone_mode != ZONE_MODE_ZBD) {
		if (fallocate(io_u->file->fd, FALLOC_FL_PUNCH_HOLE |
			      FALLOC_FL_KEEP_SIZE, io_u->offset,
			      io_u->xfer_buflen))
			io_u->error = errno;
	} else {
		do_io_u_trim(td, io_u);
	}
	return syslet_fio_completed(td);
}

static enum fio_q_status syslet_fio_queue(struct thread_data *td,
					  struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	int err;

	fio_ro_check(td, io_u);

	if (io_u->ddir == DDIR_TRIM)
		return syslet_fio_trim(td, io_u);

	/* fio never has more than iodepth io_us; be safe anyway. */
	if (sd->nr_staged == sd->depth)
		return FIO_Q_BUSY;
	/*
	 * A sync goes behind what is staged, so that it covers every write
	 * fio has issued before it: let fio commit those first.
	 */
	if (ddir_sync(io_u->ddir) && sd->nr_staged)
		return FIO_Q_BUSY;

	if (sd->nowait && (io_u->ddir == DDIR_READ ||
			   io_u->ddir == DDIR_WRITE)) {
		/* fio leaves issue_time to us (FIO_ASYNCIO_SETS_ISSUE_TIME). */
		if (fio_fill_issue_time(td))
			fio_gettime(&io_u->issue_time, NULL);
		if (syslet_fio_try_nowait(sd, io_u))
			return syslet_fio_completed(td);
	}

	err = syslet_fio_prep(td, io_u);
	if (err) {
		io_u->error = err;
		return FIO_Q_COMPLETED;
	}
	/*
	 * Pass-on-block: submit at once, with nothing staged before it, so
	 * that an I/O which does not block completes here, like a psync
	 * one, at the cost of one system call.  Not when fio batches
	 * (iodepth_batch > 1): then ->commit() submits the batch, each I/O
	 * still tried in the caller first.
	 */
	if (!(sd->atom_flags & (SYSLET_SYNC | SYSLET_ASYNC)) &&
	    !sd->async_left && !sd->nr_staged && td->o.iodepth_batch <= 1) {
		struct syslet_fio_io *sio = io_u->engine_data;
		struct syslet_completion cqe;
		int r;

		if (fio_fill_issue_time(td)) {
			fio_gettime(&io_u->issue_time, NULL);
			io_u_queued(td, io_u);
		}
		sio->op.atom.flags &= ~SYSLET_ASYNC;
		do {
			r = syslet_submit_done(&sd->ctx, &sio->op.atom, &cqe);
		} while (r == -EINTR);
		if (r == SYSLET_DONE) {
			syslet_fio_result(io_u, cqe.status);
			return syslet_fio_completed(td);
		}
		if (r == SYSLET_QUEUED) {
			if (sd->adaptive)
				sd->async_left = sd->depth;
			sd->in_flight++;
			io_u_mark_submit(td, 1);
			return FIO_Q_QUEUED;
		}
		if (r != -EAGAIN || !sd->in_flight) {
			io_u->error = -r;
			return FIO_Q_COMPLETED;
		}
		/* the backend is full: stage it for ->commit() */
	}
	sd->staged[sd->nr_staged++] = io_u;
	return FIO_Q_QUEUED;
}

/* Submits the staged io_us, in order, as far as the backend takes them. */
static int syslet_fio_commit(struct thread_data *td)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	struct syslet_completion cqe;
	struct timespec now;
	unsigned int i, submitted = 0;
	bool stamp = fio_fill_issue_time(td);

	if (!sd->nr_staged)
		return 0;
	if (stamp)
		fio_gettime(&now, NULL);

	for (i = 0; i < sd->nr_staged; i++) {
		struct io_u *io_u = sd->staged[i];
		struct syslet_fio_io *sio = io_u->engine_data;
		int r;

		if (stamp) {
			io_u->issue_time = now;
			io_u_queued(td, io_u);
		}
		/*
		 * auto: a hand-off costs the caller a thread wakeup, so once
		 * an I/O blocked, the next iodepth go to async threads at
		 * once; then the caller tries again.
		 */
		if (sd->adaptive) {
			if (sd->async_left) {
				sio->op.atom.flags |= SYSLET_ASYNC;
				sd->async_left--;
			} else {
				sio->op.atom.flags &= ~SYSLET_ASYNC;
			}
		}
		do {
			if (sio->op.atom.flags & SYSLET_ASYNC)
				r = syslet_submit(&sd->ctx, &sio->op.atom);
			else
				r = syslet_submit_done(&sd->ctx, &sio->op.atom,
						       &cqe);
		} while (r == -EINTR);
		if (sd->adaptive && r == SYSLET_QUEUED &&
		    !(sio->op.atom.flags & SYSLET_ASYNC))
			sd->async_left = sd->depth;

		if (r == SYSLET_DONE && !(sio->op.atom.flags & SYSLET_ASYNC)) {
			/* Ran in the caller; the completion is in cqe. */
			syslet_fio_result(io_u, cqe.status);
			sd->done[sd->nr_done++] = io_u;
		} else if (r >= 0) {
			/* SYSLET_QUEUED or SYSLET_DONE: either way in the ring. */
			sd->in_flight++;
		} else if (r == -EAGAIN && (sd->in_flight || sd->nr_done)) {
			/* The backend is full: retry once some are reaped. */
			break;
		} else {
			/* Fails this io_u only; fio sees it in ->event(). */
			io_u->error = -r;
			sd->done[sd->nr_done++] = io_u;
		}
		submitted++;
	}
	if (i < sd->nr_staged)
		memmove(sd->staged, sd->staged + i,
			(sd->nr_staged - i) * sizeof(*sd->staged));
	sd->nr_staged -= i;
	if (submitted)
		io_u_mark_submit(td, submitted);
	return 0;
}

/* Moves what is ready (in-place completions, then the ring) to ->events. */
static unsigned int syslet_fio_harvest(struct syslet_fio_data *sd,
				       unsigned int max)
{
	struct syslet_completion *cqe;
	unsigned int n = 0;

	while (sd->nr_events < max && n < sd->nr_done)
		sd->events[sd->nr_events++] = sd->done[n++];
	if (n) {
		memmove(sd->done, sd->done + n,
			(sd->nr_done - n) * sizeof(*sd->done));
		sd->nr_done -= n;
	}

	/*
	 * The ring: every ready completion (up to max), then one store of
	 * the tail for the batch; again if that let overflowed ones in.
	 */
	do {
		unsigned int i;

		n = 0;
		syslet_for_each_completion(&sd->ctx, i, cqe) {
			struct io_u *io_u;

			if (sd->nr_events >= max)
				break;
			io_u = (struct io_u *)(uintptr_t)cqe->user_data;
			syslet_fio_result(io_u, cqe->status);
			sd->events[sd->nr_events++] = io_u;
			n++;
		}
		if (n)
			syslet_cq_advance(&sd->ctx, n);
		sd->in_flight -= n;
	} while (n && sd->nr_events < max);
	return sd->nr_events;
}

/*
 * spin_usec: polls the ring for up to spin_usec for @want completions, so
 * that a completion arriving soon is reaped without sleeping (and without
 * the wakeup).  Returns true if they came.
 */
static bool syslet_fio_spin(struct syslet_fio_data *sd, unsigned int want)
{
	struct timespec start;

	fio_gettime(&start, NULL);
	do {
		if (syslet_cq_ready(&sd->ctx) >= want)
			return true;
		nop;
	} while (utime_since_now(&start) < sd->spin_usec);
	return false;
}

static int syslet_fio_getevents(struct thread_data *td, unsigned int min,
				unsigned int max, const struct timespec *t)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	sd->nr_events = 0;
	for (;;) {
		unsigned int want;
		int r;

		if (syslet_fio_harvest(sd, max) >= min)
			break;
		/* Slots were freed: submit what the backend refused. */
		if (sd->nr_staged) {
			r = syslet_fio_commit(td);
			if (r < 0)
				return r;
			if (sd->nr_done)
				continue;
		}
		want = min - sd->nr_events;
		if (want > sd->in_flight)
			want = sd->in_flight;
		if (!want) {
			if (sd->nr_staged)
				continue;
			break;	/* nothing is coming: fio asked too much */
		}
		if (sd->spin_usec && syslet_fio_spin(sd, want))
			continue;
		r = syslet_wait(&sd->ctx, want, t);
		if (r == -ETIME)
			break;
		if (r < 0 && r != -EINTR)
			return r;
	}
	return sd->nr_events;
}

static struct io_u *syslet_fio_event(struct thread_data *td, int event)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	return sd->events[event];
}

/*
 * fio cancels what is in flight when a job stops on an error.  A 0 return
 * tells fio the io_u is gone and will never complete, and fio puts it at
 * once; but a cancelled chain still posts a completion (-ECANCELED, or its
 * result if it had finished), which fio would then reap a second time.  So
 * ask the backend to cut the chain short and always return 1: fio then
 * reaps the io_u through ->getevents like any other.
 */
static int syslet_fio_cancel(struct thread_data *td, struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	syslet_cancel(&sd->ctx, (uint64_t)(uintptr_t)io_u, 0);
	return 1;
}

static int syslet_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct syslet_fio_io *sio = calloc(1, sizeof(*sio));

	(void)td;
	if (!sio)
		return 1;
	sio->io_u = io_u;
	io_u->engine_data = sio;
	return 0;
}

static void syslet_fio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	(void)td;
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static void syslet_fio_free(struct syslet_fio_data *sd)
{
	free(sd->staged);
	free(sd->done);
	free(sd->events);
	free(sd);
}

static int syslet_fio_init(struct thread_data *td)
{
	struct syslet_fio_options *o = td->eo;
	struct syslet_fio_data *sd;
	unsigned int depth = td->o.iodepth ? td->o.iodepth : 1;
	unsigned int entries, flags = 0;
	int r;

	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return 1;
	sd->depth = depth;
	sd->staged = calloc(depth, sizeof(*sd->staged));
	sd->done = calloc(depth, sizeof(*sd->done));
	sd->events = calloc(depth, sizeof(*sd->events));
	if (!sd->staged || !sd->done || !sd->events) {
		syslet_fio_free(sd);
		return 1;
	}

	if (o->backend == SYSLET_FIO_BACKEND_KERNEL)
		flags = SYSLET_CTX_KERNEL;
	else if (o->backend == SYSLET_FIO_BACKEND_EMULATED)
		flags = SYSLET_CTX_EMULATED;
	sd->adaptive = o->exec_mode == SYSLET_FIO_MODE_AUTO;
	/*
	 * auto with O_DIRECT: every read and write waits for the device, so
	 * trying the caller first only costs a hand-off each: queue them.
	 */
	if (sd->adaptive && td->o.odirect) {
		sd->adaptive = false;
		sd->atom_flags = SYSLET_ASYNC;
	}
	if (o->exec_mode == SYSLET_FIO_MODE_ASYNC)
		sd->atom_flags = SYSLET_ASYNC;
	else if (o->exec_mode == SYSLET_FIO_MODE_SYNC)
		sd->atom_flags = SYSLET_SYNC;
	/*
	 * Not with O_DIRECT: RWF_NOWAIT would still wait for the device in
	 * the caller (it only refuses to block on locks and allocations).
	 */
	sd->nowait = o->nowait_first && !td->o.odirect;
	sd->spin_usec = o->spin_usec;

	/*
	 * By default there is room for every chain fio can have in flight,
	 * so nothing overflows; a smaller ring_entries exercises the
	 * backend's overflow list (no completion may be lost).
	 */
	entries = o->ring_entries ? o->ring_entries : 2 * depth;
	r = syslet_ctx_init(&sd->ctx, entries, flags);
	if (r) {
		log_err("syslet: syslet_ctx_init(%u entries, %s backend): %s\n",
			entries, o->backend == SYSLET_FIO_BACKEND_KERNEL ?
			"kernel" : o->backend == SYSLET_FIO_BACKEND_EMULATED ?
			"emulated" : "auto", strerror(-r));
		syslet_fio_free(sd);
		return 1;
	}
	dprint(FD_IO, "syslet: %s backend, ring of %u\n",
	       syslet_backend_name(&sd->ctx),
	       sd->ctx.ring_mask + 1);
	td->io_ops_data = sd;
	return 0;
}

static void syslet_fio_cleanup(struct thread_data *td)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	if (!sd)
		return;
	/*
	 * fio has normally reaped everything; after an error it may not
	 * have.  The backend must not complete into freed memory, so wait.
	 */
	while (sd->in_flight) {
		int r;

		sd->nr_events = 0;
		if (syslet_fio_harvest(sd, sd->depth))
			continue;
		r = syslet_wait(&sd->ctx, 1, NULL);
		if (r < 0 && r != -EINTR)
			break;
	}
	syslet_ctx_exit(&sd->ctx);
	syslet_fio_free(sd);
	td->io_ops_data = NULL;
}

struct ioengine_ops ioengine = {
	.name			= "syslet",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= syslet_fio_init,
	.queue			= syslet_fio_queue,
	.commit			= syslet_fio_commit,
	.getevents		= syslet_fio_getevents,
	.event			= syslet_fio_event,
	.cancel			= syslet_fio_cancel,
	.cleanup		= syslet_fio_cleanup,
	.open_file		= generic_open_file,
	.close_file		= generic_close_file,
	.get_file_size		= generic_get_file_size,
	.io_u_init		= syslet_fio_io_u_init,
	.io_u_free		= syslet_fio_io_u_free,
	.option_struct_size	= sizeof(struct syslet_fio_options),
	.options		= options,
};
