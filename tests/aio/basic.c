// SPDX-License-Identifier: GPL-2.0
/*
 * basic.c - aio_read, aio_write, aio_fsync, aio_error and aio_return on
 * files and pipes: results, data, EINPROGRESS, argument errors, and that
 * the aiocb's public fields are left alone.
 */
#include <poll.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "aio-test.h"

/* The public fields of an aiocb, to check that nothing wrote to them. */
struct pub {
	int fd, op, prio;
	volatile void *buf;
	size_t n;
	struct sigevent sev;
	off_t off;
};

static struct pub pub_of(const struct aiocb *cb)
{
	struct pub p;

	memset(&p, 0, sizeof(p));
	p.fd = cb->aio_fildes;
	/* glibc stores its own operation code in aio_lio_opcode */
	p.op = aiot_shim() ? cb->aio_lio_opcode : 0;
	p.prio = cb->aio_reqprio;
	p.buf = cb->aio_buf;
	p.n = cb->aio_nbytes;
	p.sev = cb->aio_sigevent;
	p.off = cb->aio_offset;
	return p;
}

/* The first test: the process's first AIO call, which leaves errno alone
 * when it succeeds (the shim's backend probe once left EINVAL there). */
TEST(read_file)
{
	unsigned char buf[8192];
	struct aiocb cb;
	int fd = aiot_file(65536);
	size_t i;

	ASSERT_GE(fd, 0);
	aiot_cb(&cb, fd, buf, sizeof(buf), 12345);
	errno = EDOM;
	ASSERT_EQ(aio_read(&cb), 0);
	EXPECT_EQ(errno, EDOM);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), (ssize_t)sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != aiot_pat(12345 + i))
			ASSERT_EQ(buf[i], aiot_pat(12345 + i));
}

TEST(read_short_and_eof)
{
	char buf[100];
	struct aiocb cb;
	int fd = aiot_file(150);

	ASSERT_GE(fd, 0);
	aiot_cb(&cb, fd, buf, sizeof(buf), 100);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 50);
	aiot_cb(&cb, fd, buf, sizeof(buf), 150);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 0);
}

TEST(write_then_read_back)
{
	char out[4096], in[4096];
	struct aiocb cb;
	int fd = aiot_file(0);

	ASSERT_GE(fd, 0);
	memset(out, 'w', sizeof(out));
	aiot_cb(&cb, fd, out, sizeof(out), 8192);
	ASSERT_EQ(aio_write(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 4096);
	ASSERT_EQ(pread(fd, in, sizeof(in), 8192), 4096);
	ASSERT_EQ(memcmp(in, out, sizeof(in)), 0);
	/* the file grew to the write's end: the offset was honoured */
	ASSERT_EQ(lseek(fd, 0, SEEK_END), 8192 + 4096);
}

TEST(public_fields_untouched)
{
	char buf[512];
	struct aiocb cb;
	struct pub before, after;
	int fd = aiot_file(4096);

	ASSERT_GE(fd, 0);
	aiot_cb(&cb, fd, buf, sizeof(buf), 1000);
	cb.aio_lio_opcode = 1234;	/* not read by aio_read */
	cb.aio_reqprio = 0;
	cb.aio_sigevent.sigev_value.sival_int = 77;
	before = pub_of(&cb);
	ASSERT_EQ(aio_read(&cb), 0);
	after = pub_of(&cb);
	ASSERT_EQ(memcmp(&before, &after, sizeof(before)), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 512);
	after = pub_of(&cb);
	ASSERT_EQ(memcmp(&before, &after, sizeof(before)), 0);

	ASSERT_EQ(aio_fsync(O_SYNC, &cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 0);
	after = pub_of(&cb);
	ASSERT_EQ(memcmp(&before, &after, sizeof(before)), 0);
}

TEST(pipe_read_in_progress_until_data)
{
	char buf[16];
	struct aiocb cb;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(100);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 5);
	ASSERT_EQ(memcmp(buf, "hello", 5), 0);
}

/*
 * A read of a stream starts without any further call into the library:
 * the data written is consumed while the program looks only at the
 * descriptor (FIONREAD, poll()), never at the request.  Four ways in:
 * a pipe on the number an O_DIRECT file had just before (the shim
 * remembers for a while how a number's reads go: O_DIRECT ones to the
 * engine untried), a pipe on the number of a /proc file (read by the
 * engine in its default mode), a pipe on a number never used, and an
 * eventfd on an O_DIRECT file's number (lseek() does not refuse an
 * eventfd); with SYSLET_AIO_INLINE=0 (run.sh) every read goes untried.
 * Before, such a positioned read failed in the engine with ESPIPE and
 * waited in the ring, to be redone as read() at the program's next
 * aio_error(), aio_suspend() or aio_cancel(): a cancel then found it not
 * started (AIO_CANCELED, where glibc, whose thread redoes it at once,
 * says AIO_NOTCANCELED).  Only the timed waits of aiot_wait() follow:
 * an untimed aio_suspend() starts the shim's reaper, which would redo
 * it anyway.
 */
static int reuse_number(int oldfd, int newfd)
{
	if (oldfd < 0)
		return newfd;
	if (dup2(newfd, oldfd) != oldfd)
		return -1;
	close(newfd);
	return oldfd;
}

TEST(stream_read_starts_without_further_call)
{
	static char dbuf[4096] __attribute__((aligned(4096)));
	const uint64_t one = 1;
	char buf[16];
	struct aiocb cb;
	int p[2], k, n = -1, old;

	for (k = 0; k < 4; k++) {
		bool efd = k == 3;

		old = -1;
		if (k == 0 || k == 3)
			old = aiot_file_flags(O_DIRECT);
		else if (k == 1)
			old = open("/proc/self/status", O_RDONLY);
		if (old >= 0) {
			aiot_cb(&cb, old, dbuf, sizeof(dbuf), 0);
			ASSERT_EQ(aio_read(&cb), 0);
			ASSERT_EQ(aiot_wait(&cb, 10), 0);
			ASSERT_GE(aio_return(&cb), 0);
		} else if (k != 2) {
			tap_diag("case %d: no such file here, a fresh number", k);
		}
		if (efd) {
			p[0] = p[1] = eventfd(0, 0);
			ASSERT_GE(p[0], 0);
		} else {
			ASSERT_EQ(pipe(p), 0);
		}
		if (k == 2)	/* a number no request has used */
			old = fcntl(p[0], F_DUPFD, 700);
		ASSERT_GE(p[0] = reuse_number(old, p[0]), 0);
		if (efd)
			p[1] = p[0];
		aiot_cb(&cb, p[0], buf, efd ? 8 : sizeof(buf), 0);
		ASSERT_EQ(aio_read(&cb), 0);
		if (efd)
			ASSERT_EQ(write(p[1], &one, 8), 8);
		else
			ASSERT_EQ(write(p[1], "hello", 5), 5);
		for (int i = 0; i < 500; i++) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };

			if (efd) {
				n = poll(&pfd, 1, 0);
				ASSERT_GE(n, 0);
			} else {
				ASSERT_EQ(ioctl(p[0], FIONREAD, &n), 0);
			}
			if (!n)
				break;
			aiot_msleep(10);
		}
		tap_diag("case %d: %s unread", k, n ? "data left" : "nothing");
		EXPECT_EQ(n, 0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), efd ? 8 : 5);
		if (!efd)
			ASSERT_EQ(memcmp(buf, "hello", 5), 0);
		close(p[0]);
		if (p[1] != p[0])
			close(p[1]);
	}
}

/*
 * A negative offset is refused as glibc's pread() refuses it (EINVAL),
 * also on a pipe the shim already knows as a stream (a second request on
 * it), where it used to read() a byte.
 */
TEST(negative_offset_on_a_known_stream)
{
	char b1[4], b2[4];
	struct aiocb c1, c2;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, 1, 0);
	aiot_cb(&c2, p[0], b2, 1, 0);
	c2.aio_offset = -1;
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	ASSERT_EQ(aiot_wait(&c1, 10), 0);
	ASSERT_EQ(aiot_wait(&c2, 10), 0);
	EXPECT_EQ(aio_return(&c1), 1);
	EXPECT_EQ(aio_error(&c2), EINVAL);
	EXPECT_EQ(aio_return(&c2), -1);
	close(p[0]);
	close(p[1]);
}

/*
 * aio_read() never waits for another thread's read() of the same file:
 * that read() holds the file's position lock while it sleeps (here, in
 * a fault on a userfaultfd page, resolved after 2 s), and the shim's look
 * at the descriptor for a read it sends to the engine untried (with
 * SYSLET_AIO_INLINE=0, run.sh) was an lseek(), which takes that lock: the
 * aio_read() took 2 s (glibc: at once).  Skipped without userfaultfd.
 */
static char *uffd_area;
static int uffd_file;

static void *read_into_uffd(void *arg)
{
	(void)arg;
	if (read(uffd_file, uffd_area, 16) < 0)
		return (void *)1;
	return NULL;
}

/* resolves the read()'s fault after 2 s, whatever the test does */
static void *resolve_uffd(void *arg)
{
	struct uffdio_zeropage zp = {
		.range = { (unsigned long)uffd_area, 4096 },
	};

	aiot_msleep(2000);
	ioctl((int)(intptr_t)arg, UFFDIO_ZEROPAGE, &zp);
	return NULL;
}

TEST(aio_read_does_not_wait_for_a_read_of_the_same_file)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffd_msg msg;
	struct pollfd pfd;
	char buf[64];
	struct aiocb cb;
	pthread_t t, res;
	double t0;
	long ms;
	int uffd;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		SKIP("no userfaultfd here");
	uffd_area = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(uffd_area != MAP_FAILED);
	reg.range.start = (unsigned long)uffd_area;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	uffd_file = aiot_file(4096);
	ASSERT_GE(uffd_file, 0);
	ASSERT_EQ(lseek(uffd_file, 0, SEEK_SET), 0);	/* read() reads */
	ASSERT_EQ(pthread_create(&t, NULL, read_into_uffd, NULL), 0);
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);	/* the read() is in its fault */
	ASSERT_EQ(read(uffd, &msg, sizeof(msg)), (ssize_t)sizeof(msg));
	ASSERT_EQ(pthread_create(&res, NULL, resolve_uffd,
				 (void *)(intptr_t)uffd), 0);
	aiot_msleep(20);
	aiot_cb(&cb, uffd_file, buf, sizeof(buf), 0);
	t0 = aiot_now();
	ASSERT_EQ(aio_read(&cb), 0);
	ms = (long)((aiot_now() - t0) * 1000);
	ASSERT_EQ(pthread_join(res, NULL), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	tap_diag("aio_read() took %ld ms", ms);
	EXPECT_LT(ms, 500);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), (ssize_t)sizeof(buf));
	ASSERT_EQ(buf[0], (char)aiot_pat(0));
	close(uffd_file);
	close(uffd);
	munmap(uffd_area, 4096);
}

TEST(pipe_write_reaches_reader)
{
	char buf[16] = { 0 };
	struct aiocb cb;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[1], "abc", 3, 0);
	ASSERT_EQ(aio_write(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 3);
	ASSERT_EQ(read(p[0], buf, sizeof(buf)), 3);
	ASSERT_STREQ(buf, "abc");
}

TEST(many_in_flight)
{
	enum { N = 256, SZ = 512 };
	static struct aiocb cb[N];
	static char buf[N][SZ];
	int fd = aiot_file(N * SZ), i, j;

	ASSERT_GE(fd, 0);
	for (i = 0; i < N; i++) {
		/* reverse order, so offsets cannot come from a shared position */
		aiot_cb(&cb[i], fd, buf[i], SZ, (off_t)(N - 1 - i) * SZ);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(aiot_wait(&cb[i], 20), 0);
		ASSERT_EQ(aio_return(&cb[i]), SZ);
		for (j = 0; j < SZ; j++)
			if ((unsigned char)buf[i][j] !=
			    aiot_pat((size_t)(N - 1 - i) * SZ + j))
				ASSERT_EQ(buf[i][j], aiot_pat((N - 1 - i) * SZ + j));
	}
}

/*
 * More blocking requests than the default 20 threads: 24 pipes, an
 * aio_read() on each, then a byte written to each.  POSIX: aio_read()
 * returns once the request is queued, whatever the number of threads
 * (glibc queues it too).  Before: on the kernel backend the 21st read
 * blocked in aio_read() (pass-on-block gave up at the thread bound and
 * the chain blocked in its caller), here killed by the alarm.
 */
#define NPIPES 24
TEST(more_blocking_reads_than_threads)
{
	int p[NPIPES][2], i;
	struct aiocb cb[NPIPES];
	char buf[NPIPES][4];

	for (i = 0; i < NPIPES; i++) {
		ASSERT_EQ(pipe(p[i]), 0);
		aiot_cb(&cb[i], p[i][0], buf[i], 1, 0);
		alarm(30);	/* a hang in aio_read() ends the test */
		ASSERT_EQ(aio_read(&cb[i]), 0);
		alarm(0);
	}
	for (i = 0; i < NPIPES; i++) {
		EXPECT_EQ(aio_error(&cb[i]), EINPROGRESS);
		ASSERT_EQ(write(p[i][1], &"abcdefghijklmnopqrstuvwx"[i], 1), 1);
	}
	for (i = 0; i < NPIPES; i++) {
		ASSERT_EQ(aiot_wait(&cb[i], 30), 0);
		EXPECT_EQ(aio_return(&cb[i]), 1);
		EXPECT_EQ(buf[i][0], "abcdefghijklmnopqrstuvwx"[i]);
		close(p[i][0]);
		close(p[i][1]);
	}
}

TEST(bad_fd)
{
	char buf[16];
	struct aiocb cb;
	int r;

	/* EBADF either at once or as the request's error status */
	aiot_cb(&cb, 999, buf, sizeof(buf), 0);
	r = aio_read(&cb);
	if (r < 0) {
		ASSERT_EQ(errno, EBADF);
	} else {
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_error(&cb), EBADF);
		ASSERT_EQ(aio_return(&cb), -1);
	}
}

TEST(read_on_write_only_fd)
{
	char buf[16];
	struct aiocb cb;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[1], buf, sizeof(buf), 0);
	if (aio_read(&cb) < 0) {
		ASSERT_EQ(errno, EBADF);
		return;
	}
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), EBADF);
	ASSERT_EQ(aio_return(&cb), -1);
}

TEST(negative_offset)
{
	char buf[16];
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), -5);
	if (aio_read(&cb) < 0) {
		ASSERT_EQ(errno, EINVAL);
		return;
	}
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), EINVAL);
	ASSERT_EQ(aio_return(&cb), -1);
}

TEST(bad_reqprio)
{
	char buf[16];
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_reqprio = -1;
	ASSERT_EQ(aio_read(&cb), -1);
	ASSERT_EQ(errno, EINVAL);
}

TEST(fsync_ops)
{
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, NULL, 0, 0);
	ASSERT_EQ(aio_fsync(O_DSYNC, &cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 0);
	ASSERT_EQ(aio_fsync(12345, &cb), -1);
	ASSERT_EQ(errno, EINVAL);
	cb.aio_fildes = 999;
	ASSERT_EQ(aio_fsync(O_SYNC, &cb), -1);
	ASSERT_EQ(errno, EBADF);
}

TEST(fsync_on_pipe_fails_async)
{
	struct aiocb cb;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[1], NULL, 0, 0);
	ASSERT_EQ(aio_fsync(O_SYNC, &cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), EINVAL);
	ASSERT_EQ(aio_return(&cb), -1);
}

/*
 * Waits for n writes of sz bytes each and then the read rd (sz bytes):
 * 0 if all completed with their full size, else the index that did not
 * (n for the read).
 */
static int writes_then_read_done(struct aiocb *cb, int n, struct aiocb *rd,
				 ssize_t sz)
{
	int i;

	for (i = 0; i < n; i++)
		if (aiot_wait(&cb[i], 20) || aio_return(&cb[i]) != sz)
			return i ? i : -1;
	if (aiot_wait(rd, 20) || aio_return(rd) != sz)
		return n;
	return 0;
}

/*
 * Writes queued on one range are done in order, so the last one's data
 * stays, and none is done inside aio_write() or aio_fsync(), as under
 * glibc (whose helper thread does one descriptor's requests one after
 * another): LTP's aio_error 2-1 queues 128 writes of 1 KiB at offset 0 and
 * looks for one still in progress, its aio_fsync 5-1 for an aio_fsync
 * after a write still in progress.  On the guest's tmpfs no write ever
 * waits, and the shim used to do each one inside aio_write()
 * (pass-on-block: the shim's inline_done count went up by one per
 * write): none in progress, in any round.  How many are still in progress
 * is timing (printed); that none completed inside the call is not (the
 * shim's count).  A read queued behind them sees the last one.
 */
TEST(overlapping_writes_in_order_and_in_progress)
{
	/*
	 * 64 KiB each, so that glibc's helper, doing them one after another,
	 * stays behind the submitting loop (with 1 KiB on tmpfs it can keep
	 * up); the last one has its own buffer
	 */
	enum { N = 128, SZ = 64 << 10, NBUF = 16, ROUNDS = 20 };
	static struct aiocb cb[N];
	static char buf[NBUF + 1][SZ], back[SZ];
	struct aiocb fs, rd;
	struct aiot_stats s0, s1, s2;
	int fd = aiot_file(0), i, busy = 0, fbusy = 0, wrong = 0;

	ASSERT_GE(fd, 0);
	s0 = aiot_stats();
	for (i = 0; i <= NBUF; i++)
		memset(buf[i], 1 + i, SZ);
	for (i = 0; i < N; i++) {
		/* memset like real programs: SIGEV_SIGNAL with signal 0 */
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = buf[i == N - 1 ? NBUF : i % NBUF];
		cb[i].aio_nbytes = SZ;
		ASSERT_EQ(aio_write(&cb[i]), 0);
		/* right after its own aio_write(): a timing observation */
		busy += aio_error(&cb[i]) == EINPROGRESS;
	}
	s1 = aiot_stats();
	ASSERT_EQ(s1.inline_done - s0.inline_done, 0);	/* none in the call */
	aiot_cb(&rd, fd, back, SZ, 0);
	ASSERT_EQ(aio_read(&rd), 0);
	ASSERT_EQ(writes_then_read_done(cb, N, &rd, SZ), 0);
	for (i = 0; i < SZ; i++)
		wrong += back[i] != (char)(1 + NBUF);
	ASSERT_EQ(wrong, 0);	/* the read came after the last write */
	ASSERT_EQ(pread(fd, back, SZ, 0), SZ);
	for (i = 0; i < SZ; i++)
		wrong += back[i] != (char)(1 + NBUF);
	ASSERT_EQ(wrong, 0);	/* the file holds the last write */

	for (i = 0; i < ROUNDS; i++) {
		aiot_cb(&cb[0], fd, buf[1], 1024, 0);
		s1 = aiot_stats();
		ASSERT_EQ(aio_write(&cb[0]), 0);
		memset(&fs, 0, sizeof(fs));
		fs.aio_fildes = fd;
		ASSERT_EQ(aio_fsync(O_SYNC, &fs), 0);
		fbusy += aio_error(&fs) == EINPROGRESS;
		s2 = aiot_stats();
		ASSERT_EQ(s2.inline_done - s1.inline_done, 0);
		ASSERT_EQ(aiot_wait(&fs, 20), 0);
		ASSERT_EQ(aio_return(&fs), 0);
		ASSERT_EQ(aiot_wait(&cb[0], 20), 0);
		ASSERT_EQ(aio_return(&cb[0]), 1024);
	}
	printf("# %d of %d writes in progress right after their aio_write(), "
	       "aio_fsync() in progress in %d of %d rounds\n",
	       busy, N, fbusy, ROUNDS);
	close(fd);
}

/*
 * A lone aio_write() to a pipe, SIGEV_NONE, then a plain read() of the
 * other end, with no other AIO call: the write is done by itself, as
 * glibc's helper does it.  Before, the shim sent it to the engine as a
 * pwrite64, whose ESPIPE waited in the ring for a reap that never came
 * (the read waited for ever: here, the alarm's EINTR).  The same on a
 * socketpair, and on an eventfd (which lseek() does not refuse).
 */
static void on_alarm(int s)
{
	(void)s;
}

TEST(lone_stream_write_needs_no_further_call)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;	/* no SA_RESTART */
	uint64_t one = 1, got = 0;
	struct aiocb cb;
	char b[8] = "";
	unsigned int left;
	int p[2], k;

	left = alarm(0);	/* the harness's own, given back at the end */
	sigaction(SIGALRM, &sa, &old);
	for (k = 0; k < 3; k++) {
		if (k == 0) {
			ASSERT_EQ(pipe(p), 0);
		} else if (k == 1) {
			ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
		} else {
			p[0] = p[1] = eventfd(0, 0);
			ASSERT_GE(p[0], 0);
		}
		memset(&cb, 0, sizeof(cb));
		cb.aio_fildes = p[1];
		cb.aio_buf = k == 2 ? (void *)&one : (void *)"hello";
		cb.aio_nbytes = k == 2 ? 8 : 5;
		cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		ASSERT_EQ(aio_write(&cb), 0);
		alarm(5);
		if (k == 2) {
			ASSERT_EQ(read(p[0], &got, 8), 8);
			ASSERT_EQ(got, 1u);
		} else {
			ASSERT_EQ(read(p[0], b, sizeof(b)), 5);
			ASSERT_EQ(memcmp(b, "hello", 5), 0);
		}
		alarm(0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), (ssize_t)cb.aio_nbytes);
		close(p[0]);
		if (p[1] != p[0])
			close(p[1]);
	}
	sigaction(SIGALRM, &old, NULL);
	alarm(left);
}

/*
 * Writes nobody looks at (SIGEV_NONE, never aio_error()ed: a logger)
 * do not fill the request pool: with SYSLET_AIO_MAX=64 (run.sh), 1000 of
 * them are all accepted, and a read after them too (once the last
 * burst's writes are done: a loaded host failed it at once, 2026-12-07),
 * as with glibc, which frees a request when its helper is done.  Before, the shim kept
 * each one's slot until its completion was reaped, and refused the 65th
 * and every later request with EAGAIN.  Looked at only at the end.
 */
TEST(unread_writes_do_not_fill_the_pool)
{
	enum { N = 1000, SZ = 512 };
	static struct aiocb cb[N];
	static char buf[SZ];
	struct aiocb rd;
	char back[SZ];
	int fd = aiot_file(0), i, refused = 0, ret;

	ASSERT_GE(fd, 0);
	memset(buf, 'u', SZ);
	for (i = 0; i < N; i++) {
		aiot_cb(&cb[i], fd, buf, SZ, (off_t)i * SZ);
		if (aio_write(&cb[i])) {
			refused++;
			/* let the engine finish some: a burst can outrun it */
			aiot_msleep(1);
			i--;
			if (refused > 10 * N)
				break;
		}
	}
	ASSERT_LT(refused, 10 * N);
	aiot_cb(&rd, fd, back, SZ, 0);
	/* the last writes' burst may hold every slot for a moment yet */
	for (i = 0; (ret = aio_read(&rd)) && errno == EAGAIN && i < 5000; i++)
		aiot_msleep(1);
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(writes_then_read_done(cb, N, &rd, SZ), 0);
	ASSERT_EQ(back[SZ - 1], 'u');
	close(fd);
}

/* as glibc: the status stays; aio_return may be called again */
TEST(return_twice)
{
	char buf[16];
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 16);
	ASSERT_EQ(aio_return(&cb), 16);
	ASSERT_EQ(aio_error(&cb), 0);
}

TEST(return_while_in_progress)
{
	char buf[16];
	struct aiocb cb;
	ssize_t r;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	/*
	 * errno untouched, as glibc (LTP's aio_fsync 4-2 checks it); the
	 * value: -1 from the shim, whatever glibc's worker last stored (0
	 * before it starts the read, -1 after its pread() failed: a race)
	 */
	errno = EDOM;
	r = aio_return(&cb);
	ASSERT_EQ(errno, EDOM);
	if (aiot_shim())
		ASSERT_EQ(r, -1);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 1);
}

/*
 * aio_return() is async-signal-safe (POSIX): a signal handler calls it
 * on a request in flight while the thread it interrupted is inside
 * aio_read() or aio_error(), thousands of times.  glibc's takes no lock.
 * The shim's reaps the ring when the request is in progress, and that
 * reap finished requests under the shim's lock, which the interrupted
 * aio_read() held: the thread deadlocked (within the first hundred
 * rounds; here the alarm ends it).  The shim's aio_error() took the same
 * way, and is called there too (glibc's takes its lock: a handler's call
 * deadlocks there, whatever it interrupted).  Reads of an O_DIRECT file
 * where it can be opened so, of a plain one otherwise, and with
 * SYSLET_AIO_INLINE=0: on the emulated backend they complete through the
 * ring, where the handler's reap finds them.  A status the handler saw
 * done comes with its full result.
 */
static struct aiocb *volatile sig_cb;
static volatile long sig_calls, sig_seen, sig_wrong;
static volatile int sig_stop;
static bool sig_error;	/* the shim: aio_error() in the handler too */
static pid_t sig_tid;

static void return_in_handler(int s)
{
	struct aiocb *c = sig_cb;
	int saved = errno, e;
	ssize_t n;

	(void)s;
	if (c) {
		e = sig_error ? aio_error(c) : EINPROGRESS;
		n = aio_return(c);
		if (e == 0 && n != 4096)
			sig_wrong++;
		sig_seen += e != EINPROGRESS;
		sig_calls++;
	}
	errno = saved;
}

static void *signal_storm(void *arg)
{
	struct timespec ts = { 0, 20000 };

	(void)arg;
	while (!sig_stop) {
		syscall(SYS_tgkill, getpid(), sig_tid, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

TEST(aio_return_in_a_handler_that_interrupted_aio_read)
{
	enum { NR = 4, BS = 4096, ROUNDS = 3000 };
	static char buf[NR][BS] __attribute__((aligned(4096)));
	struct sigaction sa;
	struct aiocb cb[NR];
	char path[64];
	pthread_t t;
	double end;
	int fd, dfd, i, k, bad = 0;

	setenv("SYSLET_AIO_INLINE", "0", 1);	/* before the first AIO call */
	sig_error = aiot_shim() != NULL;
	fd = aiot_file(1 << 20);
	ASSERT_GE(fd, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd >= 0) {
		close(fd);
		fd = dfd;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = return_in_handler;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	sig_tid = (pid_t)syscall(SYS_gettid);
	ASSERT_EQ(pthread_create(&t, NULL, signal_storm, NULL), 0);
	alarm(30);	/* a deadlock fails the test (SIGALRM) */
	end = aiot_now() + 10;
	for (i = 0; i < ROUNDS && aiot_now() < end; i++) {
		for (k = 0; k < NR; k++) {
			aiot_cb(&cb[k], fd, buf[k], BS,
				(off_t)((i * NR + k) % 256) * BS);
			ASSERT_EQ(aio_read(&cb[k]), 0);
			sig_cb = &cb[k];	/* in flight, or done */
		}
		for (k = 0; k < NR; k++)
			while (aio_error(&cb[k]) == EINPROGRESS)
				;
		sig_cb = NULL;
		for (k = 0; k < NR; k++)
			bad += aio_return(&cb[k]) != BS;
	}
	sig_stop = 1;
	pthread_join(t, NULL);
	alarm(0);
	printf("# %d rounds (%s), %ld handler calls, %ld saw the request "
	       "done\n", i, dfd >= 0 ? "O_DIRECT" : "buffered", sig_calls,
	       sig_seen);
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(sig_wrong, 0);
	EXPECT_GT(sig_calls, 0);
	close(fd);
}

#ifdef AIOT_WINDOWS
/*
 * A signal handler that interrupted its thread inside the shim (inside a
 * lock, a submission's system call, malloc()) and polls aio_error() on a
 * read whose completion is in the ring: the shim's reap there publishes
 * the status without finishing the request (complete.c, saio_publish()),
 * so the poll ends.  Before, such a handler reaped nothing and saw
 * EINPROGRESS for as long as it polled: nothing else reaps a read
 * without a notification.  White-box: only the shim linked in (the
 * "race" build) can raise the thread's depth, as the interrupted frame
 * would (the "race" build in the guest, the "san" build on the host).
 * Both backends (syslet_reap_ready(): atomics only; before it the
 * emulated backend's handler reaped nothing, its reap could take a lock
 * of libsyslet's).  The aiocb is reused at once, before anything
 * finished the first request.
 */
extern _Thread_local volatile sig_atomic_t saio_t_busy;
static struct aiocb *volatile poll_cb;
static volatile int poll_seen;

static void poll_in_handler(int s)
{
	int saved = errno;
	double end = aiot_now() + 2;

	(void)s;
	while (aio_error(poll_cb) == EINPROGRESS && aiot_now() < end)
		;
	poll_seen = aio_error(poll_cb) == 0 && aio_return(poll_cb) == 1 ?
		    1 : -1;
	errno = saved;
}

/* poll_in_handler() on SIGUSR2 (0, or -1 if sigaction() failed) */
static int poll_handler_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = poll_in_handler;
	return sigaction(SIGUSR2, &sa, NULL);
}

/*
 * Raise SIGUSR2 with this thread's depth raised, as in a frame inside the
 * shim: the handler polls cb.  What it saw: 1 done with 1 byte, -1 not.
 */
static int poll_inside_the_shim(struct aiocb *cb)
{
	poll_cb = cb;
	poll_seen = 0;
	saio_t_busy = saio_t_busy + 1;
	raise(SIGUSR2);
	saio_t_busy = saio_t_busy - 1;
	return poll_seen;
}

TEST(handler_inside_the_shim_polls_a_read_done_in_the_ring)
{
	struct aiocb cb;
	char c[2];
	int p[2], round;

	need_shim();
	ASSERT_EQ(poll_handler_install(), 0);
	ASSERT_EQ(pipe(p), 0);
	for (round = 0; round < 3; round++) {
		aiot_cb(&cb, p[0], c, 1, 0);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aio_error(&cb), EINPROGRESS);
		ASSERT_EQ(write(p[1], "x", 1), 1);
		ASSERT_EQ(poll_inside_the_shim(&cb), 1);
		ASSERT_EQ(c[0], 'x');
	}
	/* the next call outside a handler finishes what it published */
	aiot_cb(&cb, p[0], c, 1, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(write(p[1], "y", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 1);
	ASSERT_EQ(aiot_stats().in_flight, 0);
	close(p[0]);
	close(p[1]);
	signal(SIGUSR2, SIG_DFL);
}

/*
 * The same, then fork() before anything finished the published request:
 * the child's requests start clean, its first in that pool slot has its
 * status published too.  A review found the slot's "published" mark kept
 * in the child, where that request then said EINPROGRESS for ever.
 */
TEST(handler_inside_the_shim_publishes_then_fork)
{
	struct aiocb cb;
	char c;
	int p[2], st;
	pid_t pid;

	need_shim();
	ASSERT_EQ(poll_handler_install(), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], &c, 1, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(poll_inside_the_shim(&cb), 1);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* one with data waiting, one that waits for it */
		struct aiocb c2[2];
		char d[2] = { 0, 0 };
		int q[2], k, bad = 0;

		if (pipe(q) || write(q[1], "y", 1) != 1)
			_exit(3);
		for (k = 0; k < 2; k++) {
			aiot_cb(&c2[k], q[0], &d[k], 1, 0);
			if (aio_read(&c2[k]))
				_exit(4);
		}
		if (write(q[1], "z", 1) != 1)
			_exit(5);
		for (k = 0; k < 2; k++)
			bad += aiot_wait(&c2[k], 5) || aio_return(&c2[k]) != 1;
		_exit(bad ? 1 : d[0] == 'y' && d[1] == 'z' ? 0 : 2);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	close(p[0]);
	close(p[1]);
	signal(SIGUSR2, SIG_DFL);
}
#endif

TEST(aiocb_reusable_after_return)
{
	char buf[64];
	struct aiocb cb;
	int fd = aiot_file(4096), i;

	ASSERT_GE(fd, 0);
	for (i = 0; i < 100; i++) {
		aiot_cb(&cb, fd, buf, sizeof(buf), i * 13);
		ASSERT_EQ(aio_read(&cb), 0);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		ASSERT_EQ(aio_return(&cb), 64);
		ASSERT_EQ((unsigned char)buf[0], aiot_pat(i * 13));
	}
}

TEST(aio_init_accepted)
{
	struct aioinit ai;
	char buf[8];
	struct aiocb cb;
	int fd = aiot_file(100);

	memset(&ai, 0, sizeof(ai));
	ai.aio_threads = 4;
	ai.aio_num = 64;
	ai.aio_idle_time = 1;
	aio_init(&ai);
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 8);
}

TAP_MAIN
