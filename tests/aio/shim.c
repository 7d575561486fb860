// SPDX-License-Identifier: GPL-2.0
/*
 * shim.c - properties of the syslet AIO shim itself (skipped under glibc):
 * every POSIX AIO entry point of this (unmodified, glibc-linked) program
 * reaches the shim, no file descriptor is consumed, no thread is created
 * for requests that need no notification, the request limit gives EAGAIN,
 * and the backend is the one the environment expects.
 */
#include <dirent.h>

#include "aio-test.h"

static uint64_t calls(void)
{
	return aiot_stats().calls;
}

/* Each call must bump the shim's entry-point counter. */
#define THROUGH_SHIM(expr) do {						\
		uint64_t c0_ = calls();					\
		(void)(expr);						\
		if (calls() <= c0_)					\
			TAP_FAIL_(1, "%s did not reach the shim", #expr); \
	} while (0)

TEST(every_entry_point_reaches_shim)
{
	char buf[8];
	struct aiocb cb;
	struct aiocb *l[1] = { &cb };
	const struct aiocb *cl[1] = { &cb };
	struct aioinit ai = { 0 };
	int fd = aiot_file(100);

	need_shim();
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	THROUGH_SHIM(aio_init(&ai));
	THROUGH_SHIM(aio_read(&cb));
	THROUGH_SHIM(aio_suspend(cl, 1, NULL));
	THROUGH_SHIM(aio_error(&cb));
	THROUGH_SHIM(aio_return(&cb));
	THROUGH_SHIM(aio_write(&cb));
	aiot_wait(&cb, 10);
	aio_return(&cb);
	THROUGH_SHIM(aio_fsync(O_SYNC, &cb));
	aiot_wait(&cb, 10);
	aio_return(&cb);
	THROUGH_SHIM(aio_cancel(fd, NULL));
	cb.aio_lio_opcode = LIO_READ;
	THROUGH_SHIM(lio_listio(LIO_WAIT, l, 1, NULL));
	aio_return(&cb);
#if defined(__USE_LARGEFILE64) && !defined(__USE_FILE_OFFSET64)
	{
		struct aiocb64 c64;
		struct aiocb64 *l64[1] = { &c64 };
		const struct aiocb64 *cl64[1] = { &c64 };

		memset(&c64, 0, sizeof(c64));
		c64.aio_fildes = fd;
		c64.aio_buf = buf;
		c64.aio_nbytes = 8;
		THROUGH_SHIM(aio_read64(&c64));
		THROUGH_SHIM(aio_suspend64(cl64, 1, NULL));
		THROUGH_SHIM(aio_error64(&c64));
		THROUGH_SHIM(aio_return64(&c64));
		THROUGH_SHIM(aio_write64(&c64));
		while (aio_error64(&c64) == EINPROGRESS)
			aio_suspend64(cl64, 1, NULL);
		aio_return64(&c64);
		THROUGH_SHIM(aio_fsync64(O_DSYNC, &c64));
		while (aio_error64(&c64) == EINPROGRESS)
			aio_suspend64(cl64, 1, NULL);
		aio_return64(&c64);
		THROUGH_SHIM(aio_cancel64(fd, NULL));
		c64.aio_lio_opcode = LIO_READ;
		THROUGH_SHIM(lio_listio64(LIO_WAIT, l64, 1, NULL));
	}
#endif
}

TEST(requests_counted)
{
	char buf[8];
	struct aiocb cb;
	struct aiot_stats s0, s1;
	int fd = aiot_file(100), i;

	need_shim();
	s0 = aiot_stats();
	for (i = 0; i < 10; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), i);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), 8);
	}
	s1 = aiot_stats();
	ASSERT_EQ(s1.submitted - s0.submitted, 10);
	ASSERT_EQ(s1.completed - s0.completed, 10);
	ASSERT_EQ(s1.in_flight, 0);
}

TEST(no_file_descriptors_used)
{
	char buf[8];
	struct aiocb cb;
	int p[2], fd = aiot_file(100), n0;

	need_shim();
	ASSERT_EQ(pipe(p), 0);
	n0 = aiot_nfds();
	/* the first request sets everything up; an async one, a signal one */
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	aio_return(&cb);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGURG;	/* ignored by default */
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(aiot_nfds(), n0);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aiot_nfds(), n0);
}

/* Threads of this process whose name is 'name' (the shim names its own). */
static int nthreads(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[64];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (!strcmp(comm, name))
				n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

TEST(reaper_only_when_needed)
{
	char buf[8];
	struct aiocb cb[16];
	int fd = aiot_file(1000), p[2], i;

	need_shim();
	/* polling only: completions are reaped by aio_error, no thread */
	for (i = 0; i < 16; i++) {
		aiot_cb(&cb[i], fd, buf, sizeof(buf), i);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		while (aio_error(&cb[i]) == EINPROGRESS)
			aiot_msleep(1);
		ASSERT_EQ(aio_return(&cb[i]), 8);
	}
	ASSERT_EQ(nthreads("aio-reaper"), 0);
	/* a notification that must come without the program's help: one */
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb[0], p[0], buf, sizeof(buf), 0);
	cb[0].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb[0].aio_sigevent.sigev_signo = SIGURG;
	ASSERT_EQ(aio_read(&cb[0]), 0);
	aiot_msleep(20);
	ASSERT_EQ(nthreads("aio-reaper"), 1);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(aiot_wait(&cb[0], 10), 0);
	/* and waiting more does not make more */
	for (i = 0; i < 8; i++) {
		aiot_cb(&cb[i], p[0], buf, 1, 0);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	ASSERT_EQ(write(p[1], "12345678", 8), 8);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(aiot_wait(&cb[i], 10), 0);
	ASSERT_EQ(nthreads("aio-reaper"), 1);
}

TEST(expected_backend)
{
	const char *want = getenv("SYSLET_AIO_EXPECT_BACKEND");
	char buf[8];
	struct aiocb cb;
	int fd = aiot_file(100);

	need_shim();
	if (!want)
		SKIP("SYSLET_AIO_EXPECT_BACKEND not set");
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aiot_stats().backend, (uint32_t)atoi(want));
}

/* Run by limit_gives_eagain in a child, with SYSLET_AIO_MAX=4 set. */
static int limit_child(void)
{
	char buf[5][8];
	struct aiocb cb[5];
	int p[2], i;

	if (pipe(p))
		return 10;
	for (i = 0; i < 4; i++) {
		aiot_cb(&cb[i], p[0], buf[i], 8, 0);
		if (aio_read(&cb[i]))
			return 11;
	}
	aiot_cb(&cb[4], p[0], buf[4], 8, 0);
	if (aio_read(&cb[4]) != -1 || errno != EAGAIN)
		return 12;
	/* the rejected aiocb was not touched, the others are in progress */
	for (i = 0; i < 4; i++)
		if (aio_error(&cb[i]) != EINPROGRESS)
			return 13;
	if (aio_cancel(p[0], NULL) != AIO_CANCELED)
		return 14;
	/* slots are back: a new request is accepted */
	if (aio_read(&cb[4]))
		return 15;
	return 0;
}

TEST(limit_gives_eagain)
{
	char *argv[] = { "shim", "--limit-child", NULL };
	int st;
	pid_t pid;

	need_shim();
	pid = fork();
	if (pid == 0) {
		setenv("SYSLET_AIO_MAX", "4", 1);
		execv("/proc/self/exe", argv);
		_exit(99);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
	/* _exit, like every test child of tap.h (no exit-time leak scan) */
	if (argc > 1 && !strcmp(argv[1], "--limit-child"))
		_exit(limit_child());
	return tap_main(argc, argv);
}
