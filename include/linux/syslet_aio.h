/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_submit() through the syslet engine: fs/aio.c's hooks
 * (kernel/syslet/aio.c).
 */
#ifndef _LINUX_SYSLET_AIO_H
#define _LINUX_SYSLET_AIO_H

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/wait.h>

#ifdef CONFIG_SYSLET_AIO
/*
 * A wait of io_getevents()/io_pgetevents() (read_events()) or io_destroy()
 * (syslet_aio_wait()) for the events of a kioctx.  The engine's reads
 * are read on by a thread of the process (task work); with every user
 * thread in a chain, by an async thread once it gets to them (with none
 * to be had, they complete with -EAGAIN).  The waiting thread does not
 * wait for that: it posts what completed itself (as async_wait() does),
 * before and after each wait, and a completion wakes it: on the
 * process's ctx->kio_wait, @kicked set and the task woken (@notify: with
 * TIF_NOTIFY_SIGNAL, which ends a completion's interruptible wait too).
 * On the stack of the waiting thread, between syslet_aio_waiter_begin()
 * and _end().
 */
struct syslet_aio_waiter {
	struct wait_queue_entry	wq;
	void			*ctx;		/* struct syslet_ctx, or NULL */
	bool			kicked;		/* a read completed */
	bool			notify;
};

void syslet_aio_waiter_begin(struct syslet_aio_waiter *w, bool notify);
void syslet_aio_waiter_end(struct syslet_aio_waiter *w);

/* did a read of the process complete since the last look? */
static inline bool syslet_aio_kicked(struct syslet_aio_waiter *w)
{
	return READ_ONCE(w->kicked);
}

/*
 * aio_read(): a buffered read that would wait for the device is read
 * without waiting in io_submit().  @user_data: the iocb's aio_data (for
 * the trace events).  True: handled, complete the request with *@res
 * now (-EIOCBQUEUED: it completes by itself).  False: read it as
 * mainline does.
 */
bool syslet_aio_read(struct kiocb *req, u64 user_data, struct iov_iter *iter,
		     ssize_t *res);
/*
 * aio_write(): a write that would wait for the device (O_DSYNC, O_SYNC,
 * RWF_DSYNC, RWF_SYNC) is written by an async thread of the process, not
 * in io_submit().  As syslet_aio_read().
 */
bool syslet_aio_write(struct kiocb *req, u64 user_data, struct iov_iter *iter,
		      ssize_t *res);
/*
 * fs/aio.c: is the kioctx of @req, an aio request, being torn down
 * (io_destroy(), exit_aio())?  Its ->ki_cancel() is then called for
 * every request in flight by free_ioctx_users(), not by io_cancel().
 */
bool aio_kiocb_ctx_dead(struct kiocb *req);
/* io_destroy(): wait for the kioctx's requests, running our task work */
void syslet_aio_wait(struct completion *done);
/*
 * An interruptible wait ended: if our task work (TWA_SIGNAL) or a read
 * that completed (@w kicked), not a signal, cut it short, run it, post
 * what completed and return true (wait on).
 */
bool syslet_aio_run_work(struct syslet_aio_waiter *w);
#else
struct syslet_aio_waiter {
};

static inline void syslet_aio_waiter_begin(struct syslet_aio_waiter *w,
					   bool notify)
{
}

static inline void syslet_aio_waiter_end(struct syslet_aio_waiter *w)
{
}

static inline bool syslet_aio_kicked(struct syslet_aio_waiter *w)
{
	return false;
}

static inline bool syslet_aio_read(struct kiocb *req, u64 user_data,
				   struct iov_iter *iter, ssize_t *res)
{
	return false;
}

static inline bool syslet_aio_write(struct kiocb *req, u64 user_data,
				    struct iov_iter *iter, ssize_t *res)
{
	return false;
}

static inline void syslet_aio_wait(struct completion *done)
{
	wait_for_completion(done);
}

static inline bool syslet_aio_run_work(struct syslet_aio_waiter *w)
{
	return false;
}
#endif

#endif /* _LINUX_SYSLET_AIO_H */
