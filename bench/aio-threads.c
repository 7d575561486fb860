// SPDX-License-Identifier: GPL-2.0
/*
 * aio-threads: 128 writes queued at once on one file through POSIX AIO;
 * prints the most threads the process had while they ran (sampled from
 * /proc/self/task), the threads left when they were all done, and how
 * long it took.  Run it as is (glibc's AIO) and with libsyslet-aio.so
 * preloaded: the same program, the same work.  A benchmark: it prints,
 * it never asserts.
 *
 *	aio-threads [DIR [N [SIZE]]]	(default: /tmp, 128, 16384)
 *
 * The file is opened O_DSYNC, so that each write waits for its data to be
 * written where the file system can wait (on tmpfs nothing waits).
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int nthreads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	int n = argc > 2 ? atoi(argv[2]) : 128;
	size_t sz = argc > 3 ? strtoul(argv[3], NULL, 0) : 16384;
	struct aiocb *cb = calloc(n, sizeof(*cb));
	char *buf = malloc(sz), path[4096];
	int fd, i, most = 0, t, busy = 1, bad = 0;
	double t0;

	if (!cb || !buf || n <= 0)
		return 1;
	snprintf(path, sizeof(path), "%s/aio-threads.XXXXXX", dir);
	fd = mkostemp(path, O_DSYNC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	unlink(path);
	memset(buf, 'x', sz);
	t0 = now();
	for (i = 0; i < n; i++) {
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = buf;
		cb[i].aio_nbytes = sz;
		cb[i].aio_offset = (off_t)i * sz;
		cb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
		if (aio_write(&cb[i])) {
			perror("aio_write");
			return 1;
		}
		t = nthreads();
		if (t > most)
			most = t;
	}
	while (busy) {
		struct timespec ts = { 0, 200000 };

		t = nthreads();
		if (t > most)
			most = t;
		busy = 0;
		for (i = 0; i < n; i++)
			if (aio_error(&cb[i]) == EINPROGRESS)
				busy = 1;
		if (busy)
			nanosleep(&ts, NULL);
	}
	for (i = 0; i < n; i++)
		if (aio_return(&cb[i]) != (ssize_t)sz)
			bad++;
	printf("threads_peak %d threads_after %d ms %.1f failed %d\n", most,
	       nthreads(), (now() - t0) * 1e3, bad);
	return 0;
}
