// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * aio-floor.so - the least any POSIX AIO library can cost (a benchmark
 * preload, NOT a conforming implementation: never use it for anything
 * else).
 *
 *	LD_PRELOAD=build/bench/aio-floor.so fio --ioengine=posixaio ...
 *
 * aio_read() and aio_write() are a bare pread()/pwrite() done in the
 * call, aio_fsync() an fsync()/fdatasync(); the result is kept in the
 * aiocb itself (glibc's private __error_code and __return_value), so
 * aio_error() and aio_return() only read it back; aio_suspend() has
 * nothing to wait for; aio_cancel() reports everything done.  No request
 * is allocated, no lock taken, no thread woken, no notification sent
 * (aio_sigevent is ignored), no state kept between calls.
 *
 * bench/fio-compare.py runs fio's posixaio engine with it as the
 * "posixaio+floor" row: whatever fio's posixaio engine costs beyond
 * psync's (it returns every I/O as queued, then finds it with
 * aio_error()/aio_return() in ->getevents()) is in that row, so the shim
 * (posixaio+shim) is measured against psync and against this floor in
 * one run (docs/aio.md).
 *
 * The names carry the versions libc.so.6 gives them (as the shim's do,
 * userspace/aio/versions.c), so that a program's versioned references
 * (aio_read64@GLIBC_2.34, ...) bind here.  On x86-64 struct aiocb64 is
 * struct aiocb: each *64 name is the same function.
 */
#define _GNU_SOURCE
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_EXPORT __attribute__((visibility("default"), used))
#define FLOOR_SYMVER(impl, name, ver) \
	__asm__(".symver " #impl ", " #name "@" ver)
#define FLOOR_VERSIONS(impl, name) \
	FLOOR_SYMVER(impl, name, "GLIBC_2.2.5"); \
	FLOOR_SYMVER(impl, name, "@GLIBC_2.34")

static int floor_done(struct aiocb *cb, ssize_t r)
{
	cb->__error_code = r < 0 ? errno : 0;
	cb->__return_value = r;
	return 0;
}

FLOOR_EXPORT int floor_aio_read(struct aiocb *cb)
{
	return floor_done(cb, pread(cb->aio_fildes, (void *)cb->aio_buf,
				    cb->aio_nbytes, cb->aio_offset));
}

FLOOR_EXPORT int floor_aio_write(struct aiocb *cb)
{
	return floor_done(cb, pwrite(cb->aio_fildes,
				     (const void *)cb->aio_buf,
				     cb->aio_nbytes, cb->aio_offset));
}

FLOOR_EXPORT int floor_aio_fsync(int op, struct aiocb *cb)
{
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	return floor_done(cb, op == O_SYNC ? fsync(cb->aio_fildes) :
				fdatasync(cb->aio_fildes));
}

FLOOR_EXPORT int floor_aio_error(const struct aiocb *cb)
{
	return cb->__error_code;
}

FLOOR_EXPORT ssize_t floor_aio_return(struct aiocb *cb)
{
	return cb->__return_value;
}

FLOOR_EXPORT int floor_aio_suspend(const struct aiocb *const list[], int n,
				   const struct timespec *timeout)
{
	(void)list;
	(void)n;
	(void)timeout;
	return 0;		/* every request is complete */
}

FLOOR_EXPORT int floor_aio_cancel(int fd, struct aiocb *cb)
{
	(void)fd;
	(void)cb;
	return AIO_ALLDONE;
}

FLOOR_VERSIONS(floor_aio_read, aio_read);
FLOOR_VERSIONS(floor_aio_read, aio_read64);
FLOOR_VERSIONS(floor_aio_write, aio_write);
FLOOR_VERSIONS(floor_aio_write, aio_write64);
FLOOR_VERSIONS(floor_aio_fsync, aio_fsync);
FLOOR_VERSIONS(floor_aio_fsync, aio_fsync64);
FLOOR_VERSIONS(floor_aio_error, aio_error);
FLOOR_VERSIONS(floor_aio_error, aio_error64);
FLOOR_VERSIONS(floor_aio_return, aio_return);
FLOOR_VERSIONS(floor_aio_return, aio_return64);
FLOOR_VERSIONS(floor_aio_suspend, aio_suspend);
FLOOR_VERSIONS(floor_aio_suspend, aio_suspend64);
FLOOR_VERSIONS(floor_aio_cancel, aio_cancel);
FLOOR_VERSIONS(floor_aio_cancel, aio_cancel64);
