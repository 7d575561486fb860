// SPDX-License-Identifier: GPL-2.0
/*
 * io_submit() through the engine: a buffered IOCB_CMD_PREAD or PREADV
 * (fs/aio.c's aio_read()) that would wait for the device does not wait
 * in io_submit().  It is read the way kbuf reads a chain's pread64()
 * (kio.c): IOCB_NOWAIT copies what the page cache has and starts the
 * readahead of the rest; IOCB_WAITQ waits for the first missing page on
 * its folio's wait queue, without a thread; the page's unlock queues the
 * read on the process's ctx->kio_done, and a thread of the process (the
 * submitter first: task work) reads on in process context with the
 * process's mm and completes the request through fs/aio.c's
 * ->ki_complete() (aio_complete_rw()): the aio ring, its eventfd, as
 * mainline.  A read the page cache satisfies completes in io_submit(),
 * as before.  No kworker touches user memory; an async thread of the
 * process reads on when no user thread can (every one runs a chain), and
 * reads a blocking rest.
 *
 * Writes that must reach the device before they complete (O_DSYNC,
 * RWF_DSYNC, ...) have no page to wait for without a thread: an async
 * thread of the process writes them (syslet_aio_write(), below).
 *
 * What stays on mainline's path: O_DIRECT (already asynchronous), files
 * whose page cache cannot be waited for so (no FMODE_BUF_RASYNC: they
 * read as before, in io_submit()), a request with RWF_NOWAIT (its caller
 * wants -EAGAIN), and everything with /proc/sys/fs/aio-syslet at 0.
 * A page that cannot be waited for (an I/O error left it not uptodate,
 * no memory for a folio) or a buffer page that faults: the rest is read
 * blocking, in io_submit() if it is found there (as mainline would), or
 * by an async thread of the process it is queued to (syslet_aio_sync()
 * from syslet_kio_run()), never by a user thread that merely posts it.
 *
 * Credentials, seccomp, audit, tracing: the read on runs with the
 * submitter's credentials at io_submit() (kio->cred, overridden around
 * it by syslet_kio_creds()), in whichever thread of the process reads it
 * on; it makes no system call, so no seccomp filter, audit rule or
 * syscall tracepoint sees anything but the submitter's io_submit(), as
 * for a mainline request.  The engine's trace events show the work:
 * syslet_aio_submit per request taken, syslet_aio_complete per request
 * queued, with the thread that completed it and the fsuid it read with.
 *
 * Lifetimes: struct syslet_aio is a kio (kio.c's rules: it pins the
 * ctx, the mm (mmgrab), the submitter's task_struct, and here its
 * credentials) plus the request's iovec, copied (fs/aio.c's is on its
 * stack).  The aio request pins the
 * file and itself until ->ki_complete(), which is called exactly once,
 * by syslet_aio_finish(), which then frees the kio.  fs/aio.c's kioctx
 * cannot go before: io_destroy() and exit_aio() wait for every request.
 *
 * Cancel: the request is on the kioctx's active_reqs (kiocb_set_cancel_fn())
 * from before it can complete; io_cancel(), io_destroy() and the mm's
 * exit_aio() mark it (under the kioctx's ctx_lock, any context) and
 * it completes with -ECANCELED once its page is in, without reading
 * on; io_cancel() returns -EINPROGRESS, as for any cancellable request.
 * Not once it has copied data (its NOWAIT part in io_submit(), a page
 * read on): then it is not cancelled and completes whole.
 *
 * Waits for its own requests: io_destroy() waits for them with the
 * submitter's task work runnable (syslet_aio_wait()), else a read whose
 * page came would wait for the very thread that waits for it; it and
 * io_getevents() post the reads that completed themselves, as the task
 * work may wait on a thread busy in a chain (struct syslet_aio_waiter,
 * below).  exit_aio()
 * runs in an exiting thread (task work goes to another) or, at exec,
 * after the ctx is dead (a kworker drops the reads: kio_kick()).  A read
 * dropped so, with its process, completes with -ECANCELED.
 */
#include <linux/aio.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/syslet_aio.h>
#include <linux/sysctl.h>
#include <linux/task_work.h>
#include <linux/uio.h>
#include <asm/pkru.h>
#include <trace/events/syslet.h>
#include "syslet.h"

struct syslet_aio {
	struct syslet_kio	kio;		/* first: kio_free() frees it */
	struct kiocb		*req;		/* fs/aio.c's request */
	u64			user_data;	/* its aio_data, for the trace */
	pid_t			submitter;	/* its thread's TID, for the trace */
	struct iovec		*iov;		/* @fast or allocated */
	struct iovec		fast[UIO_FASTIOV];
};

/* /proc/sys/fs/aio-syslet: 0 leaves io_submit() as mainline has it */
static int syslet_aio_on = 1;

static struct ctl_table syslet_aio_table[] = {
	{
		.procname	= "aio-syslet",
		.data		= &syslet_aio_on,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	SYSLET_CTL_TABLE_END
};

static int __init syslet_aio_init(void)
{
	register_sysctl("fs", syslet_aio_table);
	return 0;
}
device_initcall(syslet_aio_init);

/* Completes the request once and frees @kio; see struct syslet_kio_ops. */
static void syslet_aio_finish(struct syslet_kio *kio, bool post)
{
	struct syslet_aio *a = container_of(kio, struct syslet_aio, kio);
	struct kiocb *req = a->req;
	long res = kio->res;

	/*
	 * Dropped with its process, or cancelled before it copied anything.
	 * A read cancelled after it copied some reports what it copied
	 * (kbuf_issue(), syslet_aio_sync()): the buffer has it (review 23
	 * finding 7: -ECANCELED over data already in the buffer).
	 */
	if (!post || (READ_ONCE(kio->cancelled) && !kio->done))
		res = -ECANCELED;
	/* as aio_rw_done(): a blocking read that a signal cut short */
	if (res == -ERESTARTSYS || res == -ERESTARTNOINTR ||
	    res == -ERESTARTNOHAND || res == -ERESTART_RESTARTBLOCK)
		res = -EINTR;
	if (a->iov != a->fast)
		kfree(a->iov);
	trace_syslet_aio_complete(req, a->user_data, res, a->submitter, !post);
	/* the request leaves active_reqs; nothing of it is read after */
	req->ki_complete(req, res);
	syslet_kio_free(kio);
}

/*
 * A page that cannot be waited for, a buffer page that faults: the rest
 * is read here, blocking, with the submitter's credentials, by the
 * submitter in io_submit() (as mainline would), or by an async thread
 * of the process with the submitter's PKRU loaded (syslet_kio_run():
 * never a user thread that merely posts it, review 7 finding 4).  A
 * request cancelled meanwhile is not read on.
 */
static void syslet_aio_sync(struct syslet_kio *kio)
{
	const struct cred *old = syslet_kio_creds(kio);
	struct iov_iter iter;
	ssize_t ret;

	if (!READ_ONCE(kio->cancelled)) {
		iov_iter_init(&iter, ITER_DEST, kio->iov, kio->nr_segs,
			      kio->len);
		iov_iter_advance(&iter, kio->done);
		kio->iocb.ki_pos = kio->pos + kio->done;
		kio->iocb.ki_flags = kio->kflags;
		ret = kio->iocb.ki_filp->f_op->read_iter(&kio->iocb, &iter);
		if (ret > 0)
			kio->done += ret;
		kio->res = kio->done ? kio->done : ret;
	} else {
		kio->res = kio->done ?: -ECANCELED;
	}
	syslet_aio_finish(kio, true);
	if (old)
		revert_creds(old);
}

static const struct syslet_kio_ops syslet_aio_ops = {
	.finish		= syslet_aio_finish,
	.to_thread	= syslet_aio_sync,
};

/*
 * ->ki_cancel(): under the kioctx's ctx_lock, interrupts off.  A read
 * that has copied some of its data already is not cancelled (-EINVAL,
 * as for a request mainline cannot cancel): it reads on and completes
 * with all of it, as mainline's would.  One that copies some after the
 * mark completes with what it copied.
 */
static int syslet_aio_cancel(struct kiocb *req)
{
	struct syslet_aio *a = req->private;

	if (READ_ONCE(a->kio.done))
		return -EINVAL;
	WRITE_ONCE(a->kio.cancelled, true);
	return 0;
}

/* reads and writes ordered after queued writes (below) */
static bool aio_writes_queued(struct syslet_ctx *ctx, struct file *file);
static bool aio_writes_overlap(struct syslet_ctx *ctx, struct file *file,
			       loff_t pos, size_t len, bool write, bool append);
static bool aio_rw_queue(struct syslet_ctx *ctx, struct kiocb *req,
			 u64 user_data, struct iov_iter *iter, bool read,
			 ssize_t *res);

/*
 * fs/aio.c's aio_read(), for a request checked as mainline checks it,
 * with @iter its buffer at req->ki_pos.  True: handled, *@res is the
 * result to complete it with now (aio_rw_done()), or -EIOCBQUEUED if it
 * completes by itself.  False: nothing was read, read it as mainline.
 */
bool syslet_aio_read(struct kiocb *req, u64 user_data, struct iov_iter *iter,
		     ssize_t *res)
{
	struct file *file = req->ki_filp;
	struct iov_iter orig = *iter;
	loff_t pos = req->ki_pos;
	struct syslet_ctx *ctx;
	struct syslet_aio *a;
	struct syslet_kio *kio;
	int flags = req->ki_flags;
	ssize_t ret;

	/*
	 * The request's flags, not the file's: fcntl(F_SETFL) may have
	 * changed O_DIRECT since aio_prep_rw() took them (review of review
	 * 23: a direct read reached the queued path, whose thread's kiocb
	 * the block layer then completed asynchronously: an oops).
	 */
	if (!READ_ONCE(syslet_aio_on) ||
	    !syslet_iter_user_segs(iter) || !iov_iter_count(iter))
		return false;
	/*
	 * After writes of ours to the file: in its turn (aio_rw_queue());
	 * an O_DIRECT read or one of a file kbuf does not read too, after
	 * those over its range; with RWF_NOWAIT, -EAGAIN (it would wait).
	 */
	ctx = syslet_get_ctx(false);
	if (aio_writes_queued(ctx, file)) {
		if (!(flags & (IOCB_NOWAIT | IOCB_DIRECT)) &&
		    syslet_kbuf_file(file))
			return aio_rw_queue(ctx, req, user_data, iter, true,
					    res);
		if (aio_writes_overlap(ctx, file, pos, iov_iter_count(iter),
				       false, false)) {
			if (flags & IOCB_NOWAIT) {
				*res = -EAGAIN;
				return true;
			}
			return aio_rw_queue(ctx, req, user_data, iter, true,
					    res);
		}
	}
	if ((flags & (IOCB_NOWAIT | IOCB_DIRECT)) || !syslet_kbuf_file(file))
		return false;
	/* what is cached is read here, as mainline would */
	req->ki_flags |= IOCB_NOWAIT;
	ret = syslet_kbuf_call(req, iter);
	req->ki_flags = flags;
	/* no IOCB_NOWAIT here, a buffer page that faults: mainline's path */
	if (ret == -EOPNOTSUPP || ret == -EFAULT)
		return false;
	if (ret != -EAGAIN && (ret <= 0 || !iov_iter_count(iter))) {
		*res = ret;
		goto done;
	}

	ctx = syslet_get_ctx(true);
	a = IS_ERR(ctx) || READ_ONCE(ctx->dead) ? NULL :
	    kmalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (a && orig.nr_segs > ARRAY_SIZE(a->fast)) {
		a->iov = kmalloc_array(orig.nr_segs, sizeof(*a->iov),
				       GFP_KERNEL_ACCOUNT);
		if (!a->iov) {
			kfree(a);
			a = NULL;
		}
	} else if (a) {
		a->iov = a->fast;
	}
	if (!a) {
		/* the rest as mainline reads it, here */
		ssize_t more = file->f_op->read_iter(req, iter);

		*res = ret > 0 ? (more > 0 ? ret + more : ret) : more;
		goto done;
	}
	memcpy(a->iov, iter_iov(&orig), orig.nr_segs * sizeof(*a->iov));
	a->iov[0].iov_base += orig.iov_offset;
	a->iov[0].iov_len -= orig.iov_offset;
	a->req = req;
	a->user_data = user_data;
	/*
	 * The thread's TID now, not @kio->tsk's later: a pass-on-block
	 * hand-off moves the TID with the user context
	 * (syslet_exchange_tids()), the task that called io_submit() may be
	 * an async thread by then.
	 */
	a->submitter = task_pid_nr(current);

	kio = &a->kio;
	init_sync_kiocb(&kio->iocb, file);
	kio->iocb.ki_ioprio = req->ki_ioprio;	/* IOCB_FLAG_IOPRIO's */
	kio->kflags = flags & ~(IOCB_EVENTFD | IOCB_AIO_RW);
	kio->c = NULL;
	kio->ctx = ctx;
	kio->ops = &syslet_aio_ops;
	kio->buffered = true;
	kio->cancelled = false;
	kio->ubuf = 0;
	kio->iov = a->iov;
	kio->nr_segs = orig.nr_segs;
	kio->len = iov_iter_count(&orig);
	kio->pos = pos;
	kio->done = ret > 0 ? ret : 0;
	kio->pkru = read_pkru();
	kio->pflags = current->flags & SYSLET_KWORK_PF;
	kio->mm = current->mm;
	mmgrab(kio->mm);
	kio->ret_ptr = 0;
	kio->tsk = get_task_struct(current);
	/* the read on runs with them, in whichever thread reads it on */
	kio->cred = get_current_cred();
	refcount_inc(&ctx->refs);
	atomic_inc(&ctx->nr_kio);
	/* in a chain's atom: an async thread to post it (review 7 finding 11) */
	syslet_kio_submitted(ctx);

	/* cancellable from before it can complete (on another CPU) */
	req->private = a;
	kiocb_set_cancel_fn(req, syslet_aio_cancel);

	/* before it can complete: a syslet_aio_complete comes after */
	trace_syslet_aio_submit(req, user_data, pos, kio->len, kio->done, true,
				false);
	switch (syslet_kbuf_issue(kio, ret == -EAGAIN)) {
	case KBUF_DONE:
		/* the page came while it was issued */
		syslet_aio_finish(kio, true);
		break;
	case KBUF_NO:
		/* as mainline, the submitter waits */
		syslet_aio_sync(kio);
		break;
	}
	*res = -EIOCBQUEUED;
	return true;
done:
	trace_syslet_aio_submit(req, user_data, pos, iov_iter_count(&orig), *res,
				false, false);
	return true;
}

/*
 * A write that would wait for the device in io_submit(): one of a file
 * opened O_DSYNC or O_SYNC (or on a sync mount, or a sync inode), or an
 * iocb with RWF_DSYNC or RWF_SYNC (IOCB_DSYNC, both).  It goes to an
 * async thread of the submitting process as kernel work (worker.c),
 * which writes it as fs/aio.c's aio_write() would have, with the
 * submitter's credentials, PKRU and I/O priority, SIGXFSZ to the
 * submitter, and completes it through ->ki_complete().  Works of one
 * inode run one at a time in submission order: appends land, and all
 * complete, in the order io_submit() got them.  A write not started is
 * cancellable by io_cancel() (@state): it completes with -ECANCELED; a
 * started one is not (io_cancel() gets -EINVAL, as for any request
 * mainline cannot cancel), nor is any by io_destroy() or the exit of the
 * process: they wait for it, and exit and exec write those still queued
 * (worker.c: syslet_kill_workers()), as mainline had written them in
 * io_submit(); only a process killed by a signal drops them.  Freeze
 * protection is held while the write runs, not while it is queued.
 */
enum { AIO_W_QUEUED, AIO_W_STARTED, AIO_W_CANCELLED };

struct syslet_aio_write {
	struct syslet_kwork	kw;
	struct kiocb		*req;		/* fs/aio.c's request */
	u64			user_data;	/* its aio_data, for the trace */
	atomic_t		state;		/* AIO_W_*: started or cancelled */
	bool			read;		/* a read ordered after writes */
	bool			append;		/* IOCB_APPEND: at the end */
	loff_t			pos;		/* where, at submission */
	struct iovec		*iov;		/* @fast or allocated */
	unsigned long		nr_segs;
	size_t			len;
	struct iovec		fast[UIO_FASTIOV];
};

/* In an async thread, as the submitter (worker_run_kwork()) */
static long aio_write_run(struct syslet_kwork *kw)
{
	struct syslet_aio_write *w = container_of(kw, struct syslet_aio_write,
						  kw);
	struct kiocb *req = w->req;
	struct kiocb sync = *req;
	struct iov_iter iter;

	long ret;

	/* STARTED already: a write a kill cut short at its start, again */
	if (atomic_cmpxchg(&w->state, AIO_W_QUEUED, AIO_W_STARTED) ==
	    AIO_W_CANCELLED)
		return -ECANCELED;
	sync.ki_complete = NULL;
	if (w->read) {
		iov_iter_init(&iter, ITER_DEST, w->iov, w->nr_segs, w->len);
		return req->ki_filp->f_op->read_iter(&sync, &iter);
	}
	iov_iter_init(&iter, ITER_SOURCE, w->iov, w->nr_segs, w->len);
	/*
	 * Written synchronously, on a copy without ->ki_complete(): a file
	 * system that completes an asynchronous kiocb by itself
	 * (-EIOCBQUEUED: 9p with cache=none, cifs, FUSE) waits here
	 * instead, so the request is completed only by aio_write_done(),
	 * after which nothing (its cancel function neither) looks at @w
	 * (review 9 finding 3: @w was freed while the request was in
	 * flight, and io_cancel() read it).  Freeze protection is taken
	 * here, for the write, as write(2) takes it: not held while the
	 * request waits in the queue (syslet_aio_write()).
	 */
	sync.ki_complete = NULL;
	sync.ki_flags &= ~IOCB_WRITE;
	file_start_write(req->ki_filp);
	ret = req->ki_filp->f_op->write_iter(&sync, &iter);
	file_end_write(req->ki_filp);
	return ret;
}

/* Completes the request once: after aio_write_run(), or @dropped */
static void aio_write_done(struct syslet_kwork *kw, long res, bool dropped)
{
	struct syslet_aio_write *w = container_of(kw, struct syslet_aio_write,
						  kw);
	struct kiocb *req = w->req;

	/* never from a synchronous kiocb (aio_write_run()) */
	if (res == -EIOCBQUEUED)
		res = -EIO;
	if (dropped)
		res = -ECANCELED;
	/* as aio_rw_done() */
	if (res == -ERESTARTSYS || res == -ERESTARTNOINTR ||
	    res == -ERESTARTNOHAND || res == -ERESTART_RESTARTBLOCK)
		res = -EINTR;
	trace_syslet_aio_complete(req, w->user_data, res,
				  pid_nr(kw->submitter), dropped);
	/* the request leaves active_reqs: no cancel looks at @w after */
	req->ki_complete(req, res);
}

static void aio_write_free(struct syslet_kwork *kw)
{
	struct syslet_aio_write *w = container_of(kw, struct syslet_aio_write,
						  kw);

	if (w->iov != w->fast)
		kfree(w->iov);
	kfree(w);
}

static const struct syslet_kwork_ops aio_write_ops = {
	.run	= aio_write_run,
	.done	= aio_write_done,
	.free	= aio_write_free,
};

/*
 * ->ki_cancel(): under the kioctx's ctx_lock, interrupts off.  Only
 * io_cancel() cancels a write: the teardown of its kioctx (io_destroy(),
 * exit_aio()) waits for it instead, as for every write in mainline,
 * where io_submit() had written it (review 23 finding 1: 7 of 8 queued
 * O_DSYNC writes were dropped by io_destroy()).
 */
static int syslet_aio_write_cancel(struct kiocb *req)
{
	struct syslet_aio_write *w = req->private;

	if (aio_kiocb_ctx_dead(req))
		return -EINVAL;
	/* completed with -ECANCELED by the thread that takes it */
	if (atomic_cmpxchg(&w->state, AIO_W_QUEUED, AIO_W_CANCELLED) ==
	    AIO_W_QUEUED)
		return 0;
	return -EINVAL;
}

/*
 * fs/aio.c's aio_write(), for a request checked as mainline checks it,
 * its freeze protection taken and IOCB_WRITE set, with @iter its buffer
 * at req->ki_pos.  True: handled, complete it with *@res now
 * (-EIOCBQUEUED: it completes by itself).  False: write it as mainline.
 */
/*
 * Does @file's inode have writes of ours queued (or under way) that a
 * request io_submit() gets after them must come after?  Only they are
 * ordered so: a write or read of the file submitted later is queued
 * behind them, in its turn, as mainline's io_submit() had done them one
 * after the other (review 23 finding 2: a plain write overtook a queued
 * RWF_DSYNC one and was overwritten by it; a read returned the old data).
 * O_DIRECT requests too, and reads of a file kbuf does not read (tmpfs),
 * behind those over their range (aio_writes_overlap()): mainline had
 * written the queued write before it looked at them (an outside probe,
 * 2026-12-07: an O_DIRECT write was overwritten by the older buffered one
 * in 7-9 of 10 runs, O_DIRECT and tmpfs reads returned the old data);
 * RWF_NOWAIT ones get -EAGAIN then.  IOCB_CMD_FSYNC is mainline's (a
 * workqueue) and may complete before them: not ordered.  The look
 * without the lock sees every write queued before by this thread.
 */
static bool aio_writes_queued(struct syslet_ctx *ctx, struct file *file)
{
	return ctx && !READ_ONCE(ctx->dead) &&
	       syslet_kwork_pending(ctx, file_inode(file));
}

struct aio_range {
	loff_t	pos;
	size_t	len;
	bool	write;
	bool	append;	/* IOCB_APPEND: its ki_pos is not where it lands */
};

/* a queued write (for a write, any queued request) over @arg's range */
static bool aio_work_overlaps(const struct syslet_kwork *kw, const void *arg)
{
	const struct syslet_aio_write *w =
		container_of(kw, struct syslet_aio_write, kw);
	const struct aio_range *r = arg;

	if (w->read && !r->write)
		return false;
	if (w->append || r->append)
		return true;
	return w->pos < r->pos + (loff_t)r->len &&
	       r->pos < w->pos + (loff_t)w->len;
}

/*
 * Does a request of ours queued for @file's inode overlap [@pos, +@len)?
 * O_DIRECT and RWF_NOWAIT requests, and reads of a file kbuf does not
 * read, are ordered after those only: mainline had done the queued ones
 * before it looked at them, and an O_DIRECT write over a queued buffered
 * one was overwritten by it (an outside probe); queued behind every work
 * of the inode (one at a time), the direct reads of a file with writes
 * of ours queued elsewhere in it would lose their concurrency.
 */
static bool aio_writes_overlap(struct syslet_ctx *ctx, struct file *file,
			       loff_t pos, size_t len, bool write, bool append)
{
	struct aio_range r = { .pos = pos, .len = len, .write = write,
			       .append = append };

	return ctx && !READ_ONCE(ctx->dead) &&
	       syslet_kwork_any(ctx, file_inode(file), aio_work_overlaps, &r);
}

/*
 * Queues @req, a write (or, with @read, a read ordered after writes),
 * for an async thread of @ctx, after the works of its inode.
 */
static bool aio_rw_queue(struct syslet_ctx *ctx, struct kiocb *req,
			 u64 user_data, struct iov_iter *iter, bool read,
			 ssize_t *res)
{
	struct file *file = req->ki_filp;
	umode_t mode = file_inode(file)->i_mode;
	struct syslet_aio_write *w;
	long ret;

	w = kmalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return false;
	w->iov = w->fast;
	if (iter->nr_segs > ARRAY_SIZE(w->fast)) {
		w->iov = kmalloc_array(iter->nr_segs, sizeof(*w->iov),
				       GFP_KERNEL_ACCOUNT);
		if (!w->iov) {
			kfree(w);
			return false;
		}
	}
	memcpy(w->iov, iter_iov(iter), iter->nr_segs * sizeof(*w->iov));
	w->iov[0].iov_base += iter->iov_offset;
	w->iov[0].iov_len -= iter->iov_offset;
	w->nr_segs = iter->nr_segs;
	w->len = iov_iter_count(iter);
	w->pos = req->ki_pos;
	w->append = req->ki_flags & IOCB_APPEND;
	w->req = req;
	w->user_data = user_data;
	w->read = read;
	atomic_set(&w->state, AIO_W_QUEUED);
	/*
	 * The freeze protection aio_write() took for the request is given
	 * back now and taken by the write when it runs (aio_write_run()):
	 * held from here to the completion, a queue of writes to one inode
	 * (one at a time) held a freeze, and every writer of the file
	 * system behind it, for all of them (review 23 finding 3).
	 */
	if (!read && S_ISREG(mode)) {
		__sb_writers_acquired(file_inode(file)->i_sb, SB_FREEZE_WRITE);
		sb_end_write(file_inode(file)->i_sb);
	}
	req->ki_flags &= ~IOCB_WRITE;
	/* one at a time per inode, in order: an append lands in its turn */
	syslet_kwork_init(&w->kw, file_inode(file), &aio_write_ops);

	/* cancellable from before it can complete (on another CPU) */
	req->private = w;
	kiocb_set_cancel_fn(req, syslet_aio_write_cancel);
	trace_syslet_aio_submit(req, user_data, req->ki_pos, w->len, 0, true,
				!read);
	if (syslet_queue_kwork(ctx, &w->kw)) {
		/* no thread to do it: here, as mainline */
		ret = aio_write_run(&w->kw);
		aio_write_done(&w->kw, ret, false);
		syslet_kwork_release(&w->kw);
	}
	*res = -EIOCBQUEUED;
	return true;
}

bool syslet_aio_write(struct kiocb *req, u64 user_data, struct iov_iter *iter,
		      ssize_t *res)
{
	struct file *file = req->ki_filp;
	umode_t mode = file_inode(file)->i_mode;
	struct syslet_ctx *ctx;

	if (!READ_ONCE(syslet_aio_on) ||
	    !(S_ISREG(mode) || S_ISBLK(mode)) ||
	    !syslet_iter_user_segs(iter) || !iov_iter_count(iter))
		return false;
	/*
	 * O_DIRECT is async, and RWF_NOWAIT wants -EAGAIN, not a queue:
	 * theirs, unless after writes of ours to the file (queued in their
	 * turn; RWF_NOWAIT -EAGAIN, it would wait for them).
	 */
	if (req->ki_flags & (IOCB_NOWAIT | IOCB_DIRECT)) {
		ctx = syslet_get_ctx(false);
		if (!aio_writes_queued(ctx, file) ||
		    !aio_writes_overlap(ctx, file, req->ki_pos,
					iov_iter_count(iter), true,
					req->ki_flags & IOCB_APPEND))
			return false;
		if (req->ki_flags & IOCB_NOWAIT) {
			*res = -EAGAIN;
			return true;
		}
		return aio_rw_queue(ctx, req, user_data, iter, false, res);
	}
	/* a write the page cache takes stays here, unless after ours */
	if (!(req->ki_flags & IOCB_DSYNC)) {
		ctx = syslet_get_ctx(false);
		if (!aio_writes_queued(ctx, file))
			return false;
	} else {
		ctx = syslet_get_ctx(true);
		if (IS_ERR(ctx) || READ_ONCE(ctx->dead))
			return false;
	}
	return aio_rw_queue(ctx, req, user_data, iter, false, res);
}

/*
 * The waits of io_getevents() and io_destroy() (struct syslet_aio_waiter).
 * A read's completion (kio.c: kbuf_wake(), kio_complete()) adds it to
 * ctx->kio_done, wakes ctx->kio_wait if the list was empty (kio_done_add():
 * a waiter drains it all when woken) and kicks a thread of the process
 * to read it on (task work); if every user thread runs a chain, an
 * async thread does (kio.c: kio_post_work()), once it gets to it.  A
 * thread waiting in io_getevents() or io_destroy(), in a chain's atom or
 * after it, does not wait for that: such a waiter is on ctx->kio_wait
 * too and posts ctx->kio_done itself,
 * as async_wait() does: at its start (reads that completed before it),
 * whenever a completion woke it, and at its end; never from inside the
 * wait's condition, as posting a read may sleep (it reads on).
 *
 * The wake-up: @kicked set, then the task woken from TASK_INTERRUPTIBLE
 * (read_events() looks at @kicked in its condition), or, with @notify,
 * TIF_NOTIFY_SIGNAL set (io_destroy()'s wait for a completion looks at
 * nothing else).  Not TIF_NOTIFY_SIGNAL for an async thread (a hand-off's
 * giver waiting there on): for it that flag means a cancel.  An async
 * thread does not post either (it would read on in a thread that is not
 * the process's user thread): it waits on as before, for a user thread
 * or the async thread that posts (kio_post_work()).
 * The wait entry lives on the waiter's stack until _end() takes it off
 * ctx->kio_wait (under the queue's lock: no wake-up runs after).  The
 * waiter holds a reference to the ctx meanwhile.
 */
static int aio_waiter_wake(struct wait_queue_entry *wq, unsigned int mode,
			   int sync, void *key)
{
	struct syslet_aio_waiter *w = container_of(wq, struct syslet_aio_waiter,
						   wq);
	struct task_struct *t = wq->private;

	WRITE_ONCE(w->kicked, true);
	if (!w->notify)
		wake_up_state(t, TASK_INTERRUPTIBLE);
	else if (!(READ_ONCE(t->flags) & PF_IO_WORKER))
		set_notify_signal(t);
	return 0;
}

/* Posts what completed, if current may: a user thread of the process. */
static void aio_waiter_flush(struct syslet_aio_waiter *w)
{
	if (w->ctx && !(current->flags & PF_IO_WORKER))
		syslet_kio_flush(w->ctx);
}

void syslet_aio_waiter_begin(struct syslet_aio_waiter *w, bool notify)
{
	struct syslet_ctx *ctx = syslet_get_ctx(false);

	w->kicked = false;
	w->notify = notify;
	w->ctx = NULL;
	if (!ctx || (current->flags & PF_IO_WORKER))
		return;
	refcount_inc(&ctx->refs);
	w->ctx = ctx;
	init_waitqueue_func_entry(&w->wq, aio_waiter_wake);
	w->wq.private = current;
	/* on the queue first: a read that completes after the flush wakes us */
	add_wait_queue(&ctx->kio_wait, &w->wq);
	/*
	 * Our going on the queue before the flush's look at the list, as
	 * kio_done_add() has its add before its look at the queue
	 * (wq_has_sleeper()): one of the two sees the other.
	 */
	smp_mb();
	syslet_kio_flush(ctx);
}

void syslet_aio_waiter_end(struct syslet_aio_waiter *w)
{
	struct syslet_ctx *ctx = w->ctx;

	if (!ctx)
		return;
	/* no wake-up runs after this: @kicked and the flag are settled */
	remove_wait_queue(&ctx->kio_wait, &w->wq);
	/*
	 * A TIF_NOTIFY_SIGNAL (ours, or task work's) is cleared as the way
	 * to user space would, not left to end the next atom of a chain
	 * with -EINTR; whether or not @kicked is still set: a wake-up sets
	 * @kicked before the flag, so run_work() may have taken the one and
	 * the other come after (review 7 finding 6).  So too after
	 * io_getevents()'s wait (no @notify), which returns without
	 * sleeping when it has its events or no time to wait: a read's kick
	 * left pending made sys_io_getevents() turn "no event" into -EINTR,
	 * no signal sent (an outside probe: 1-35 of 64 zero-timeout polls).
	 * Not in an async thread (a hand-off's giver that waited on): there
	 * the flag is a cancel, and it posts nothing (finding 5).
	 */
	if (!(current->flags & PF_IO_WORKER) &&
	    test_thread_flag(TIF_NOTIFY_SIGNAL)) {
		clear_notify_signal();
		if (task_work_pending(current))
			task_work_run();
	}
	/* a read that completed after the last look: posted now */
	if (READ_ONCE(w->kicked))
		aio_waiter_flush(w);
	w->ctx = NULL;
	syslet_ctx_put(ctx);
}

/*
 * An interruptible wait ended.  True (wait on) if it was not a signal:
 * a task work queued with TWA_SIGNAL (a read of ours to read on, or any
 * other: it is run) or a read that completed (@w kicked); what completed
 * is posted.  False if a signal is pending (the wait ends as mainline's
 * would) or it was neither.
 *
 * Not in an async thread (PF_IO_WORKER, a pass-on-block giver too): the
 * engine queues no task work there, and TIF_NOTIFY_SIGNAL is how
 * async_cancel() and the ctx's death (syslet_kill_workers()) interrupt
 * the atom's call.  Cleared here, a cancelled io_getevents() atom would
 * wait on, for ever without a timeout, and its chain never complete.
 */
bool syslet_aio_run_work(struct syslet_aio_waiter *w)
{
	bool again = false;

	/*
	 * What it runs may sleep (a read on: syslet_aio_sync()), so not in
	 * the state a wait may have left: 6.12's read_events() calls it
	 * when prepare_to_wait_event() saw TIF_NOTIFY_SIGNAL, which leaves
	 * TASK_INTERRUPTIBLE from the pass before if that one got events,
	 * fewer than min_nr, and did not schedule() (review 8 R8-3).  The
	 * callers' waits set their state again.
	 */
	__set_current_state(TASK_RUNNING);
	if (task_sigpending(current))
		return false;
	if (READ_ONCE(w->kicked)) {
		WRITE_ONCE(w->kicked, false);
		/*
		 * Cleared before the flush looks at the list: a read added
		 * after that look finds the list empty and kicks again
		 * (kio_done_add(): its add, a full barrier, then its look at
		 * the queue and our flag).  Without the barrier the clear
		 * could land after that kick, and the read wait on the list
		 * with no one told (review of the batched wake).
		 */
		smp_mb();
		again = true;
	}
	if (test_thread_flag(TIF_NOTIFY_SIGNAL) &&
	    !(current->flags & PF_IO_WORKER)) {
		clear_notify_signal();
		if (task_work_pending(current))
			task_work_run();
		again = true;
	}
	if (again)
		aio_waiter_flush(w);
	return again;
}

/*
 * The queued writes of a dying process, ended by a thread in io_destroy():
 * a user thread's (@w's ctx), or an async thread's, which has none there
 * (an io_destroy() atom: an exec waits in de_thread() for it, and the
 * ctx's death, which would end them, comes after; a review).
 */
static void aio_end_dying(struct syslet_aio_waiter *w)
{
	struct syslet_ctx *ctx = w->ctx;

	if (!ctx && (current->flags & PF_IO_WORKER))
		ctx = syslet_get_ctx(false);
	if (ctx && !IS_ERR(ctx))
		syslet_kwork_end_dying(ctx);
}

/*
 * io_destroy(): waits for @done (every request of the kioctx completed)
 * as mainline does, but runs the task work the reads may have queued on
 * this thread meanwhile and posts the reads that completed.  With a
 * signal pending the wait cannot sleep interruptibly: it looks for task
 * work and completed reads every 10 ms; with a SIGKILL pending (the
 * process is killed, exits or execs) it also ends the writes that wait
 * for an async thread (syslet_kwork_end_dying()): the async threads
 * leave on that kill, and the process's end, which would end them, waits
 * for this thread.
 */
void syslet_aio_wait(struct completion *done)
{
	struct syslet_aio_waiter w;

	syslet_aio_waiter_begin(&w, true);
	while (wait_for_completion_interruptible(done)) {
		if (syslet_aio_run_work(&w))
			continue;
		while (!wait_for_completion_timeout(done, msecs_to_jiffies(10))) {
			if (task_work_pending(current))
				task_work_run();
			aio_waiter_flush(&w);
			if (fatal_signal_pending(current))
				aio_end_dying(&w);
		}
		break;
	}
	syslet_aio_waiter_end(&w);
}
