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

#ifdef CONFIG_SYSLET_AIO
/*
 * aio_read(): a buffered read that would wait for the device is read
 * without waiting in io_submit().  True: handled, complete the request
 * with *@res now (-EIOCBQUEUED: it completes by itself).  False: read
 * it as mainline does.
 */
bool syslet_aio_read(struct kiocb *req, struct iov_iter *iter, ssize_t *res);
/* io_destroy(): wait for the kioctx's requests, running our task work */
void syslet_aio_wait(struct completion *done);
/*
 * An interruptible wait ended: if our task work (TWA_SIGNAL), not a
 * signal, cut it short, run it and return true (wait on).
 */
bool syslet_aio_run_work(void);
#else
static inline bool syslet_aio_read(struct kiocb *req, struct iov_iter *iter,
				   ssize_t *res)
{
	return false;
}

static inline void syslet_aio_wait(struct completion *done)
{
	wait_for_completion(done);
}

static inline bool syslet_aio_run_work(void)
{
	return false;
}
#endif

#endif /* _LINUX_SYSLET_AIO_H */
