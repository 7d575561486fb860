// SPDX-License-Identifier: GPL-2.0
/*
 * shim.c - properties of the syslet AIO shim itself (skipped under glibc):
 * every POSIX AIO entry point of this (unmodified, glibc-linked) program
 * reaches the shim, no file descriptor is consumed, no thread is created
 * for requests that need no notification, the request limit gives EAGAIN,
 * and the backend is the one the environment expects.
 */
#include <dirent.h>
#include <linux/magic.h>
#include <linux/syslet.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>

#include "aio-test.h"

static int nthreads_settled(const char *name, int want);

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

/* The entries of /proc/self/fd with their targets, sorted, as one string. */
static char *fd_table(void)
{
	static char out[16384];
	char names[256][300], path[300], target[256];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, i, j, dfd = d ? dirfd(d) : -1;
	ssize_t len;

	out[0] = 0;
	if (!d)
		return out;
	while ((e = readdir(d)) && n < 256) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dfd)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		snprintf(names[n++], sizeof(names[0]), "%.20s->%.250s",
			 e->d_name, target);
	}
	closedir(d);
	for (i = 1; i < n; i++)	/* insertion sort: a handful of entries */
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char tmp[300];

			memcpy(tmp, names[j], sizeof(tmp));
			memcpy(names[j], names[j - 1], sizeof(tmp));
			memcpy(names[j - 1], tmp, sizeof(tmp));
		}
	for (i = 0; i < n; i++) {
		strncat(out, names[i], sizeof(out) - strlen(out) - 2);
		strcat(out, " ");
	}
	return out;
}

static void fd_thread_fn(union sigval v)
{
	(void)v;
}

/*
 * Drepper's rule: a runtime library must not consume file descriptors.
 * /proc/self/fd, descriptor by descriptor, is the same before the first
 * AIO call and after every kind of use: an inline read, a request that
 * goes to the engine, SIGEV_SIGNAL and SIGEV_THREAD, a sleeping
 * aio_suspend, lio_listio(LIO_WAIT), aio_fsync, and a cancelled request.
 * (Holds for glibc too.)
 */
TEST(no_file_descriptors_used)
{
	char buf[8], before[16384];
	struct aiocb cb, c2;
	struct aiocb *l[2] = { &cb, &c2 };
	const struct aiocb *cl[1] = { &cb };
	int p[2], fd = aiot_file(100);

	ASSERT_EQ(pipe(p), 0);
	snprintf(before, sizeof(before), "%s", fd_table());
	ASSERT_NE(before[0], 0);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 8);

	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGURG;	/* ignored by default */
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(aio_suspend(cl, 1, NULL), 0);
	ASSERT_EQ(aio_return(&cb), 1);

	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = fd_thread_fn;
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 1);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	aiot_cb(&c2, fd, buf, sizeof(buf), 8);
	cb.aio_lio_opcode = c2.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 2, NULL), 0);
	ASSERT_EQ(aio_fsync(O_SYNC, &cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);

	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	aio_cancel(p[0], &cb);
	if (aio_error(&cb) == EINPROGRESS)	/* glibc cannot cancel it */
		ASSERT_EQ(write(p[1], "c", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	aiot_msleep(50);	/* notification threads are gone */

	ASSERT_STREQ(fd_table(), before);
}

/* SYSLET_AIO_INLINE=0: the shim starts every request in the engine. */
static bool inline_off(void)
{
	const char *e = getenv("SYSLET_AIO_INLINE");

	return e && !strcmp(e, "0");
}

/*
 * A read of page-cache-hot data completes inside aio_read(): with the
 * engine's help (pass-on-block: async_exec says SYSLET_DONE) or with the
 * shim's own attempt in the caller (RWF_NOWAIT, or pread() on a memory
 * file system).  /tmp is ext4 on the host and tmpfs in the guest.
 */
TEST(hot_read_completes_inline)
{
	char buf[64];
	struct aiocb cb;
	struct aiot_stats s0, s1;
	struct iovec iov = { buf, sizeof(buf) };
	int fd = aiot_file(4096), i, nowait;

	need_shim();
	nowait = preadv2(fd, &iov, 1, 0, RWF_NOWAIT) == (ssize_t)sizeof(buf);
	s0 = aiot_stats();
	for (i = 0; i < 20; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), i * 64);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), 64);
		ASSERT_EQ((unsigned char)buf[1], aiot_pat(i * 64 + 1));
	}
	s1 = aiot_stats();
	if (inline_off()) {
		/* only pass-on-block completes in the caller then */
		if (s1.backend == 2)
			ASSERT_EQ(s1.inline_done - s0.inline_done, 0);
		return;
	}
	if (s1.inline_done - s0.inline_done == 0 && !nowait)
		SKIP("no RWF_NOWAIT here and no pass-on-block in the engine");
	/* at most the first one may look at the descriptor the slow way */
	ASSERT_GE(s1.inline_done - s0.inline_done, 19);
	ASSERT_EQ(nthreads_settled("aio-reaper", 0), 0);
}

/* A file of 'len' pattern bytes in /dev/shm (tmpfs), or -1. */
static int shm_file(size_t len)
{
	char path[] = "/dev/shm/aiotest.XXXXXX";
	unsigned char b[4096];
	struct statfs sfs;
	size_t i;
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (fstatfs(fd, &sfs) || sfs.f_type != TMPFS_MAGIC) {
		close(fd);
		return -1;
	}
	for (i = 0; i < sizeof(b); i++)
		b[i] = aiot_pat(i);
	for (i = 0; i < len; i += sizeof(b))
		if (pwrite(fd, b, sizeof(b), i) != sizeof(b))
			return -1;
	return fd;
}

/*
 * tmpfs has no RWF_NOWAIT (6.1, and still 6.18): without swap its data is
 * memory, and the shim reads it in the caller on either backend, every
 * read after the first at once (the descriptor number's answer is kept).
 */
TEST(memory_file_read_completes_inline)
{
	char buf[64];
	struct aiocb cb;
	struct aiot_stats s0, s1;
	struct sysinfo si;
	int fd, i;

	need_shim();
	if (inline_off())
		SKIP("SYSLET_AIO_INLINE=0");
	fd = shm_file(4096);
	if (fd < 0)
		SKIP("no tmpfs at /dev/shm");
	if (sysinfo(&si) || si.totalswap)
		SKIP("swap configured: tmpfs data may be on disk");
	s0 = aiot_stats();
	for (i = 0; i < 20; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), i * 64 + 4096 - 20 * 64);
		ASSERT_EQ(aio_read(&cb), 0);
		/* done in the caller: no wait at all */
		ASSERT_EQ(aio_error(&cb), 0);
		ASSERT_EQ(aio_return(&cb), 64);
		ASSERT_EQ((unsigned char)buf[5], aiot_pat(i * 64 + 5));
	}
	/* a read across the end of the file is short; past it, 0 */
	aiot_cb(&cb, fd, buf, sizeof(buf), 4096 - 10);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 10);
	aiot_cb(&cb, fd, buf, sizeof(buf), 8192);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 0);
	s1 = aiot_stats();
	ASSERT_EQ(s1.inline_done - s0.inline_done, 22);
	ASSERT_EQ(nthreads_settled("aio-reaper", 0), 0);
	close(fd);
}

/*
 * A read the shim completes in the caller costs that read and nothing of
 * the shim's shared state: no lock taken, no request slot, in aio_read(),
 * aio_error() and aio_return() alike (fio's posixaio engine calls those
 * three per I/O at iodepth 1).  This program's own pthread_mutex_lock()
 * and pthread_mutex_trylock() come first in the symbol lookup (as the
 * shim's calls resolve to them) and count the calls of the thread that
 * submits.  One request of the 40 may take the usual way (two locks): a
 * descriptor's answer is looked at again every 64 requests.  Before: two
 * pthread_mutex_lock() per hot read, 80 (the request's allocation and its
 * completion, both under saio.lock).
 */
/* volatile: <aio.h> declares aio_read() a leaf, which calls nothing here */
static _Thread_local volatile bool lock_watch;
static _Thread_local volatile int locks_taken;

int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	if (lock_watch)
		locks_taken++;
	if (!real)
		real = (int (*)(pthread_mutex_t *))
			dlsym(RTLD_NEXT, "pthread_mutex_lock");
	return real(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	if (lock_watch)
		locks_taken++;
	if (!real)
		real = (int (*)(pthread_mutex_t *))
			dlsym(RTLD_NEXT, "pthread_mutex_trylock");
	return real(m);
}

/* 40 hot reads of fd through the shim: the locks they took, or -1. */
static int locks_of_hot_reads(int fd)
{
	char buf[64];
	struct aiocb cb;
	struct aiot_stats s0, s1;
	int i, bad = 0;

	/* the first read of a descriptor may look at it the slow way */
	for (i = 0; i < 2; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), 0);
		if (aio_read(&cb) || aiot_wait(&cb, 10) || aio_return(&cb) != 64)
			return -1;
	}
	s0 = aiot_stats();
	locks_taken = 0;
	for (i = 0; i < 40; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), i * 64);
		lock_watch = true;
		bad |= aio_read(&cb) != 0;
		bad |= aio_error(&cb) != 0;
		bad |= aio_return(&cb) != 64;
		lock_watch = false;
		bad |= (unsigned char)buf[7] != aiot_pat(i * 64 + 7);
	}
	s1 = aiot_stats();
	/* counted as every request is */
	bad |= s1.submitted - s0.submitted != 40;
	bad |= s1.completed - s0.completed != 40;
	bad |= s1.inline_done - s0.inline_done != 40;
	bad |= s1.in_flight != 0;
	return bad ? -1 : locks_taken;
}

TEST(hot_read_takes_no_lock)
{
	char b;
	struct iovec iov = { &b, 1 };
	struct sysinfo si;
	int fd, tested = 0;

	need_shim();
	if (inline_off())
		SKIP("SYSLET_AIO_INLINE=0");
	/* a memory file: pread() in the caller */
	fd = shm_file(4096);
	if (fd >= 0 && !sysinfo(&si) && !si.totalswap) {
		ASSERT_LE(locks_of_hot_reads(fd), 2);
		tested++;
	}
	if (fd >= 0)
		close(fd);
	/* a file with RWF_NOWAIT (ext4 on the host): preadv2() in the caller */
	fd = aiot_file(4096);
	ASSERT_GE(fd, 0);
	if (preadv2(fd, &iov, 1, 0, RWF_NOWAIT) == 1) {
		ASSERT_LE(locks_of_hot_reads(fd), 2);
		tested++;
	}
	close(fd);
	if (!tested)
		SKIP("no memory file system without swap, no RWF_NOWAIT");
}

/*
 * Reads the shim does in the caller never block there: a FIFO on tmpfs
 * (not a regular file) and, under the same descriptor number a tmpfs
 * file had a moment ago, a pipe, stay EINPROGRESS until data comes.
 */
TEST(caller_reads_never_block)
{
	char path[64] = "/dev/shm/aiofifo.XXXXXX", buf[64];
	struct aiocb cb;
	int fd, p[2], num, i;

	need_shim();
	fd = shm_file(4096);
	if (fd < 0)
		SKIP("no tmpfs at /dev/shm");
	/* a FIFO on tmpfs, opened read-write: a read waits for data */
	ASSERT_TRUE(mkdtemp(path) != NULL);
	strcat(path, "/f");
	ASSERT_EQ(mkfifo(path, 0600), 0);
	num = open(path, O_RDWR);
	ASSERT_GE(num, 0);
	unlink(path);
	*strrchr(path, '/') = 0;
	rmdir(path);
	aiot_cb(&cb, num, buf, 5, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(num, "fifo!", 5), 5);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 5);
	ASSERT_EQ(memcmp(buf, "fifo!", 5), 0);
	close(num);

	/* the tmpfs file's number, then a pipe's read end under it */
	for (i = 0; i < 3; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), 0);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), 64);
	}
	num = fd;
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(dup2(p[0], num), num);
	aiot_cb(&cb, num, buf, 4, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "pipe", 4), 4);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 4);
	ASSERT_EQ(memcmp(buf, "pipe", 4), 0);
	close(num);
	close(p[0]);
	close(p[1]);
}

/* Threads of this process whose name is 'name' (the shim names its own). */
/*
 * readahead() can block (it reads a file's extents, allocates block
 * requests under a deep queue), so it has no place in the caller.  This
 * program's own readahead() comes first in the symbol lookup (as the
 * shim's call resolves to it) and counts the calls made by the thread
 * that calls aio_read().  Before: a read missing the page cache called
 * readahead() in aio_read().
 */
static pid_t readahead_watch;
static int readahead_in_caller;

ssize_t readahead(int fd, off64_t off, size_t count)
{
	static ssize_t (*real)(int, off64_t, size_t);

	if (readahead_watch && (pid_t)syscall(SYS_gettid) == readahead_watch)
		readahead_in_caller++;
	if (!real)
		real = (ssize_t (*)(int, off64_t, size_t))
			dlsym(RTLD_NEXT, "readahead");
	return real ? real(fd, off, count) : -1;
}

TEST(cold_read_makes_no_readahead_in_the_caller)
{
	static char buf[65536];
	struct aiocb cb;
	int fd, i;

	need_shim();
	fd = aiot_file(1 << 20);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fsync(fd), 0);
	/* a kernel without fadvise (no CONFIG_ADVISE_SYSCALLS) */
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		SKIP("cannot drop the file from the page cache");
	readahead_watch = (pid_t)syscall(SYS_gettid);
	for (i = 0; i < 4; i++) {
		/* out of the page cache (clean after the fsync) */
		ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
		aiot_cb(&cb, fd, buf, sizeof(buf), (off_t)i * 262144);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aiot_wait(&cb, 20), 0);
		ASSERT_EQ(aio_return(&cb), (ssize_t)sizeof(buf));
		EXPECT_EQ((unsigned char)buf[100], aiot_pat((size_t)i * 262144 + 100));
	}
	readahead_watch = 0;
	EXPECT_EQ(readahead_in_caller, 0);
	close(fd);
}

static int nthreads_now(const char *name);

/*
 * Threads named 'name', once the count has settled: a thread created by
 * the reaper (an emulated backend worker started while it reaps) carries
 * the reaper's name until it renames itself, a moment later.  A real
 * extra reaper stays, and is still counted after a second.
 */
static int nthreads_settled(const char *name, int want)
{
	int n, i;

	for (i = 0; (n = nthreads_now(name)) != want && i < 100; i++)
		aiot_msleep(10);
	return n;
}

static int nthreads_now(const char *name)
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
	ASSERT_EQ(nthreads_settled("aio-reaper", 0), 0);
	/* a notification that must come without the program's help: one */
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb[0], p[0], buf, sizeof(buf), 0);
	cb[0].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb[0].aio_sigevent.sigev_signo = SIGURG;
	ASSERT_EQ(aio_read(&cb[0]), 0);
	aiot_msleep(20);
	ASSERT_EQ(nthreads_settled("aio-reaper", 1), 1);
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
	ASSERT_EQ(nthreads_settled("aio-reaper", 1), 1);
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

/*
 * The engine's own limit: the kernel backend's max_chains lowered to 2
 * (async_limits()) makes the third concurrent request fail in
 * aio_read() itself with EAGAIN, the aiocb's requests before it unharmed.
 */
TEST(engine_limit_gives_eagain)
{
	struct { uint32_t size, max_threads, idle_msecs, max_chains,
		 c[4]; uint64_t d[4]; } lim = { .size = 64, .max_chains = 2 };
	char buf[3][8];
	struct aiocb cb[3];
	int p[3][2], i;

	need_shim();
	if (aiot_stats().backend != 1)
		SKIP("kernel backend only (the emulated one is not reachable)");
	ASSERT_EQ(syscall(SYSLET_NR_ASYNC_LIMITS, &lim, NULL, 0L, 0L, 0L, 0L), 0);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(pipe(p[i]), 0);
		aiot_cb(&cb[i], p[i][0], buf[i], 8, 0);
	}
	ASSERT_EQ(aio_read(&cb[0]), 0);
	ASSERT_EQ(aio_read(&cb[1]), 0);
	aiot_msleep(50);
	errno = 0;
	ASSERT_EQ(aio_read(&cb[2]), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(aio_error(&cb[0]), EINPROGRESS);
	ASSERT_EQ(aio_error(&cb[1]), EINPROGRESS);
	ASSERT_EQ(aiot_stats().in_flight, 2);
	ASSERT_EQ(write(p[0][1], "x", 1), 1);
	ASSERT_EQ(aiot_wait(&cb[0], 10), 0);
	ASSERT_EQ(aio_return(&cb[0]), 1);
	/* room again */
	ASSERT_EQ(aio_read(&cb[2]), 0);
	ASSERT_EQ(write(p[2][1], "y", 1), 1);
	ASSERT_EQ(aiot_wait(&cb[2], 10), 0);
	ASSERT_EQ(aio_return(&cb[2]), 1);
	/* the running one runs on (AIO_NOTCANCELED), and completes */
	ASSERT_EQ(aio_cancel(p[1][0], &cb[1]), AIO_NOTCANCELED);
	ASSERT_EQ(write(p[1][1], "z", 1), 1);
	ASSERT_EQ(aiot_wait(&cb[1], 10), 0);
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
		/* the running read too gives its slot back at once */
		setenv("SYSLET_AIO_CANCEL_RUNNING", "1", 1);
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
