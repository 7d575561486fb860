/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aio-test.h - helpers shared by the POSIX AIO tests.
 *
 * The tests are written against the POSIX interface only, so that they can
 * be run against glibc's own implementation (to validate the tests) and
 * against the syslet shim (preloaded or linked).  A test that checks a
 * property only the shim promises calls need_shim(), which skips when the
 * shim is not the implementation in use.
 */
#ifndef SYSLET_TESTS_AIO_TEST_H
#define SYSLET_TESTS_AIO_TEST_H

#include <aio.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "../tap.h"

/* Mirrors struct syslet_aio_stats of userspace/aio/include/syslet-aio.h. */
struct aiot_stats {
	uint64_t submitted;
	uint64_t completed;
	uint64_t inline_done;
	uint64_t notified;
	uint64_t calls;
	uint32_t in_flight;
	uint32_t backend;	/* 1 kernel, 2 emulated */
};

typedef int (*aiot_stats_fn)(void *st, size_t size);

/* The shim's stats entry point, or NULL when glibc implements AIO. */
static inline aiot_stats_fn aiot_shim(void)
{
	return (aiot_stats_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "syslet_aio_stats");
}

static inline struct aiot_stats aiot_stats(void)
{
	struct aiot_stats st = { 0 };
	aiot_stats_fn fn = aiot_shim();

	if (fn)
		fn(&st, sizeof(st));
	return st;
}

#define need_shim() do {						\
		if (!aiot_shim())					\
			SKIP("shim-only property (glibc AIO in use)");	\
	} while (0)

static inline double aiot_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void aiot_msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A file in /tmp holding 'len' bytes of the pattern (i * 7 + 3) & 0xff. */
static inline int aiot_file(size_t len)
{
	char path[] = "/tmp/aiotest.XXXXXX";
	unsigned char buf[4096];
	size_t i, done = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)((done + i) * 7 + 3);
		if (write(fd, buf, n) != (ssize_t)n)
			return -1;
		done += n;
	}
	return fd;
}

/*
 * $SYSLET_AIO_BLOCKING_DIR: a directory on a file system whose writes
 * wait for a device (tests/aio/run.sh guest: ext4 on a loop device), for
 * the tests whose case needs a request that blocks.  The guest's /tmp is
 * tmpfs, where a write never waits: its async thread is free again at
 * once, so it cannot show a bound on threads or a cancel of a blocked
 * write.  NULL if it is not set.
 */
static inline const char *aiot_blocking_dir(void)
{
	const char *d = getenv("SYSLET_AIO_BLOCKING_DIR");

	return d && *d ? d : NULL;
}

/*
 * An empty unlinked file opened with 'flags' (O_DSYNC, say) in the
 * blocking directory if there is one, else in /tmp.
 */
static inline int aiot_file_flags(int flags)
{
	const char *dir = aiot_blocking_dir();
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/aiotest.XXXXXX", dir ? dir : "/tmp");
	fd = mkostemp(path, flags);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static inline unsigned char aiot_pat(size_t off)
{
	return (unsigned char)(off * 7 + 3);
}

static inline void aiot_cb(struct aiocb *cb, int fd, void *buf, size_t n,
			   off_t off)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* Wait (aio_suspend, up to 'secs') until cb is no longer in progress. */
static inline int aiot_wait(struct aiocb *cb, double secs)
{
	const struct aiocb *l[1] = { cb };
	double end = aiot_now() + secs;

	while (aio_error(cb) == EINPROGRESS) {
		struct timespec ts = { 0, 50 * 1000000L };

		if (aiot_now() > end)
			return -1;
		aio_suspend(l, 1, &ts);
	}
	return 0;
}

/* Number of open file descriptors of this process. */
static inline int aiot_nfds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

#endif /* SYSLET_TESTS_AIO_TEST_H */
