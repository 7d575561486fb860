/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syslet-aio.h - the few things libsyslet-aio adds to POSIX AIO.
 *
 * libsyslet-aio implements <aio.h> (aio_read, aio_write, aio_fsync,
 * aio_error, aio_return, aio_suspend, aio_cancel, lio_listio, the *64
 * twins and aio_init) on the syslet engine.  Programs use <aio.h> as
 * usual, either linking with -lsyslet-aio or running unmodified with
 * LD_PRELOAD=libsyslet-aio.so.  This header only adds an introspection
 * call; look it up with dlsym() to find out whether the shim is in use.
 */
#ifndef SYSLET_AIO_H
#define SYSLET_AIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Counters since the process started (or since fork, in a child). */
struct syslet_aio_stats {
	uint64_t submitted;	/* requests accepted */
	uint64_t completed;	/* requests completed (any status) */
	uint64_t inline_done;	/* of those, completed inside the submit call */
	uint64_t notified;	/* SIGEV_SIGNAL/SIGEV_THREAD notifications sent */
	uint64_t calls;		/* calls of the POSIX AIO entry points */
	uint32_t in_flight;	/* requests not yet completed */
	uint32_t backend;	/* SYSLET_AIO_BACKEND_* of the engine */
};

#define SYSLET_AIO_BACKEND_NONE		0 /* engine not started yet */
#define SYSLET_AIO_BACKEND_KERNEL	1 /* async_exec() system calls */
#define SYSLET_AIO_BACKEND_EMULATED	2 /* libsyslet's user-space threads */

/*
 * Copy the counters into *st (at most 'size' bytes, so that older callers
 * keep working when the structure grows).  Starts the engine if it was
 * not started yet, so that 'backend' is meaningful.  Returns 0.
 */
int syslet_aio_stats(struct syslet_aio_stats *st, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SYSLET_AIO_H */
