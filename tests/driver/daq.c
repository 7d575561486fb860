// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/syslet-daq (issue 7): data integrity through read, splice and tee;
 * confirm waiting for the DMA; the rate; O_NONBLOCK, signals, bad input;
 * the write direction and SPLICE_F_MORE batching; syslet chains reading
 * and splicing off the caller's CPU, and their cancellation.
 *
 * Needs the module loaded (tests/guest/30-driver.sh loads it); every test
 * sets the module parameters it depends on.  Unload safety is in unload.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include "tap.h"
#include "sys.h"
#include "daq.h"

#define MiB	(1024 * 1024)

static void set_param(const char *name, unsigned int val)
{
	char path[128], s[32];
	int fd, n;

	snprintf(path, sizeof(path), DAQ_PARAMS "/%s", name);
	fd = open(path, O_WRONLY);
	ASSERT_GE(fd, 0);
	n = snprintf(s, sizeof(s), "%u", val);
	ASSERT_EQ(write(fd, s, n), n);
	close(fd);
}

/* Rate in MB/s and latency in us for this test. */
static void params(unsigned int rate, unsigned int latency_us)
{
	set_param("rate", rate);
	set_param("latency_us", latency_us);
	set_param("coalesce_us", 100);
}

static int daq_open(int flags)
{
	int fd = open(DAQ_DEV, O_RDWR | flags);

	if (fd < 0 && errno == ENOENT)
		SKIP(DAQ_DEV " missing (module not loaded)");
	ASSERT_GE(fd, 0);
	return fd;
}

/* An address no mapping backs, for -EFAULT (not NULL: -Wnonnull). */
static void *volatile bad_addr_;

static void *bad_addr(void)
{
	bad_addr_ = (void *)(uintptr_t)8;
	return bad_addr_;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	ASSERT_TRUE(p);
	return p;
}

/* Reads exactly n bytes from fd (a pipe or the device). */
static void read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		ASSERT_GT(r, 0);
		got += r;
	}
}

static int big_pipe(int p[2], int size)
{
	ASSERT_EQ(pipe(p), 0);
	return fcntl(p[1], F_SETPIPE_SZ, size);
}

static void verify(const void *buf, uint64_t pos, size_t n)
{
	size_t ok = daq_check(buf, pos, n);

	if (ok != n)
		TAP_FAIL_(1, "pattern wrong at stream offset %llu (of %llu..%llu)",
			  (unsigned long long)(pos + ok),
			  (unsigned long long)pos,
			  (unsigned long long)(pos + n));
}

TEST(read_integrity_odd_sizes)
{
	static const size_t sizes[] = { 1, 7, 4096, 13, 65536 + 5, 3,
					1 << 20, 4095, 200000 };
	char *buf = xmalloc(MiB);
	uint64_t pos = 0;
	unsigned int i;
	int fd;

	params(1000, 10);
	fd = daq_open(0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ssize_t r = read(fd, buf, sizes[i]);

		ASSERT_EQ(r, (ssize_t)sizes[i]);
		verify(buf, pos, r);
		pos += r;
	}
	/* pread picks any stream offset and leaves the position alone */
	ASSERT_EQ(pread(fd, buf, 100, 1 << 30), 100);
	verify(buf, 1 << 30, 100);
	ASSERT_EQ(read(fd, buf, 8), 8);
	verify(buf, pos, 8);
	/* a session is a stream of its own, from 0 */
	close(fd);
	fd = daq_open(0);
	ASSERT_EQ(read(fd, buf, 64), 64);
	verify(buf, 0, 64);
	close(fd);
}

TEST(read_waits_for_dma)
{
	char buf[4096];
	long long t0, dt;
	int fd;

	params(200, 300000);	/* 300 ms per transfer */
	fd = daq_open(0);
	t0 = now_ms();
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 4096);
	dt = now_ms() - t0;
	verify(buf, 0, sizeof(buf));
	EXPECT_GE(dt, 290);
	close(fd);
}

TEST(rate_is_honoured)
{
	size_t total = 8 * MiB, got = 0;
	char *buf = xmalloc(MiB);
	long long t0, dt, min_ms;
	int fd;

	params(100, 0);		/* 100 MB/s: 8 MiB take >= 83 ms */
	fd = daq_open(0);
	t0 = now_ms();
	while (got < total) {
		ssize_t r = read(fd, buf, MiB);

		ASSERT_GT(r, 0);
		verify(buf, got, r);
		got += r;
	}
	dt = now_ms() - t0;
	min_ms = (long long)total / 100000 * 95 / 100;
	tap_diag("8 MiB at 100 MB/s in %lld ms", dt);
	EXPECT_GE(dt, min_ms);
	close(fd);
}

TEST(nonblock_read_eagain_then_poll)
{
	struct pollfd pfd;
	char buf[4096];
	int fd;

	params(200, 200000);
	fd = daq_open(O_NONBLOCK);
	errno = 0;
	ASSERT_EQ(read(fd, buf, sizeof(buf)), -1);
	ASSERT_EQ(errno, EAGAIN);
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 4096);
	verify(buf, 0, sizeof(buf));
	close(fd);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(signal_interrupts_blocked_read)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	char buf[4096];
	long long t0, dt;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	params(200, 3000000);		/* 3 s */
	fd = daq_open(0);
	t0 = now_ms();
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	ASSERT_EQ(read(fd, buf, sizeof(buf)), -1);
	dt = now_ms() - t0;
	ASSERT_EQ(errno, EINTR);
	EXPECT_LT(dt, 2000);
	/* nothing was lost: the same position reads the same data later */
	params(200, 0);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 4096);
	verify(buf, 0, sizeof(buf));
	close(fd);
}

TEST(splice_integrity_through_big_pipe)
{
	size_t total = 6 * MiB, in = 0, out = 0;
	char *buf = xmalloc(MiB);
	int fd, p[2];

	params(1000, 50);
	fd = daq_open(0);
	ASSERT_EQ(big_pipe(p, MiB), MiB);
	while (out < total) {
		if (in < total) {
			ssize_t r = splice(fd, NULL, p[1], NULL, 300000 + 7,
					   SPLICE_F_MORE);

			ASSERT_GT(r, 0);
			in += r;
		}
		ssize_t r = read(p[0], buf, in - out < MiB ? in - out : MiB);

		ASSERT_GT(r, 0);
		verify(buf, out, r);
		out += r;
	}
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* dev -> pipe returns before the DMA; pipe -> file waits in ->confirm(). */
TEST(splice_confirm_waits_for_dma)
{
	char path[] = "/tmp/daq-file-XXXXXX", *buf = xmalloc(65536);
	long long t0, t_in, t_out;
	loff_t off = 0;
	int fd, p[2], out;

	params(200, 1000000);		/* 1 s */
	fd = daq_open(0);
	out = mkstemp(path);
	ASSERT_GE(out, 0);
	unlink(path);
	ASSERT_GE(big_pipe(p, 65536), 65536);
	t0 = now_ms();
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, 65536, 0), 65536);
	t_in = now_ms() - t0;
	ASSERT_EQ(splice(p[0], NULL, out, &off, 65536, 0), 65536);
	t_out = now_ms() - t0;
	tap_diag("dev->pipe %lld ms, pipe->file %lld ms", t_in, t_out);
	EXPECT_LT(t_in, 500);		/* did not wait for the DMA */
	EXPECT_GE(t_out, 950);		/* the consumer did */
	/* had confirm not waited, the file would hold zeroes */
	ASSERT_EQ(pread(out, buf, 65536, 0), 65536);
	verify(buf, 0, 65536);
	close(out);
	close(fd);
}

TEST(splice_confirm_waits_for_pipe_read)
{
	char buf[8192];
	long long t0, dt;
	int fd, p[2];

	params(200, 500000);
	fd = daq_open(0);
	ASSERT_EQ(pipe(p), 0);
	t0 = now_ms();
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, sizeof(buf), 0), 8192);
	EXPECT_LT(now_ms() - t0, 400);
	read_full(p[0], buf, sizeof(buf));
	dt = now_ms() - t0;
	EXPECT_GE(dt, 450);
	verify(buf, 0, sizeof(buf));
	close(fd);
}

TEST(splice_nonblock_eagain)
{
	char buf[4096];
	int fd, p[2];

	params(200, 300000);
	fd = daq_open(O_NONBLOCK);
	ASSERT_EQ(pipe(p), 0);
	errno = 0;
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, 4096, 0), -1);
	ASSERT_EQ(errno, EAGAIN);
	usleep(600000);			/* the acquisition it started is in */
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, 4096, 0), 4096);
	read_full(p[0], buf, sizeof(buf));
	verify(buf, 0, sizeof(buf));
	close(fd);
}

TEST(splice_with_offset_and_tee)
{
	char a[4096], b[4096];
	loff_t off = 12345;
	int fd, p[2], q[2];

	params(1000, 1000);
	fd = daq_open(0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(pipe(q), 0);
	ASSERT_EQ(splice(fd, &off, p[1], NULL, sizeof(a), 0), 4096);
	ASSERT_EQ(off, 12345 + 4096);
	ASSERT_EQ(tee(p[0], q[1], sizeof(a), 0), 4096);
	read_full(p[0], a, sizeof(a));
	read_full(q[0], b, sizeof(b));
	verify(a, 12345, sizeof(a));
	verify(b, 12345, sizeof(b));
	close(fd);
}

TEST(write_checks_pattern)
{
	char *buf = xmalloc(MiB);
	int fd;

	params(1000, 10);
	fd = daq_open(0);
	daq_fill(buf, 0, MiB);
	ASSERT_EQ(write(fd, buf, 1000), 1000);
	ASSERT_EQ(write(fd, buf + 1000, MiB - 1000), MiB - 1000);
	/* the write stream is at 1 MiB now: old data is wrong there (its
	 * first two bytes happen to be right: the good prefix is taken) */
	ASSERT_EQ(write(fd, buf, 4096), 2);
	errno = 0;
	ASSERT_EQ(write(fd, buf + 2, 4096), -1);
	ASSERT_EQ(errno, EIO);
	daq_fill(buf, MiB + 2, 4094);
	ASSERT_EQ(write(fd, buf, 4094), 4094);
	/* a bad byte in the middle: the good prefix is taken */
	daq_fill(buf, MiB + 4096, 8192);
	buf[5000] ^= 1;
	ASSERT_EQ(write(fd, buf, 8192), 5000);
	errno = 0;
	ASSERT_EQ(write(fd, buf + 5000, 100), -1);
	ASSERT_EQ(errno, EIO);
	buf[5000] ^= 1;
	ASSERT_EQ(write(fd, buf + 5000, 3192), 3192);
	/* bad addresses and offsets */
	errno = 0;
	ASSERT_EQ(write(fd, bad_addr(), 8), -1);
	ASSERT_EQ(errno, EFAULT);
	errno = 0;
	ASSERT_EQ(pwrite(fd, buf, 8, 0), -1);
	ASSERT_EQ(errno, ESPIPE);
	close(fd);
}

/* dev -> pipe -> dev: the write side steals the device's own pages. */
TEST(splice_write_roundtrip_and_more_batching)
{
	long long t0, t_more, t_last;
	int in, out, p[2];
	ssize_t r;
	int i;

	params(1000, 300000);		/* 300 ms per transfer */
	in = daq_open(0);
	out = daq_open(0);
	ASSERT_EQ(big_pipe(p, MiB), MiB);
	ASSERT_EQ(splice(in, NULL, p[1], NULL, 4 * 65536, 0), 4 * 65536);
	/* SPLICE_F_MORE: batched, the call does not wait for the DMA out */
	t0 = now_ms();
	for (i = 0; i < 3; i++) {
		r = splice(p[0], NULL, out, NULL, 65536, SPLICE_F_MORE);
		ASSERT_EQ(r, 65536);
	}
	t_more = now_ms() - t0;
	/* the last piece comes without it: the whole batch is DMAed */
	r = splice(p[0], NULL, out, NULL, 65536, 0);
	ASSERT_EQ(r, 65536);
	t_last = now_ms() - t0;
	tap_diag("3 x SPLICE_F_MORE %lld ms (includes the 300 ms confirm), total %lld ms",
		 t_more, t_last);
	/* the first splice waited in confirm, the next two not at all */
	EXPECT_LT(t_more, 900);
	/* the last one waited for the batch's DMA out */
	EXPECT_GE(t_last - t_more, 280);
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
}

TEST(splice_write_rejects_wrong_data)
{
	char buf[4096];
	int fd, p[2];

	params(1000, 10);
	fd = daq_open(0);
	ASSERT_EQ(pipe(p), 0);
	memset(buf, 0xaa, sizeof(buf));		/* stream byte 0 is 0x00 */
	ASSERT_EQ(write(p[1], buf, sizeof(buf)), 4096);
	errno = 0;
	ASSERT_EQ(splice(p[0], NULL, fd, NULL, 4096, 0), -1);
	ASSERT_EQ(errno, EIO);
	close(fd);
}

/*
 * socket -> pipe -> device: a socket's pipe buffers can be bigger than a
 * page (an AF_UNIX stream splices out of up to 32 KiB skb fragments of
 * compound pages).  The device takes them a page at a time, from the
 * page the data is in: review 24 (driver) finding 1, where it copied a
 * whole buffer into one page (a heap overflow any user could make: an
 * oops at once).  Here from stream offset 100 too, the data unaligned.
 */
TEST(splice_write_takes_socket_buffers_bigger_than_a_page)
{
	static char buf[65536];
	uint64_t pos = 0;
	int fd, sv[2], p[2], round, start;
	ssize_t w, in, out, r;

	params(1000, 10);
	for (start = 0; start <= 100; start += 100) {
		fd = daq_open(0);
		pos = 0;
		if (start) {
			daq_fill(buf, 0, start);
			ASSERT_EQ(write(fd, buf, start), start);
			pos = start;
		}
		ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ASSERT_EQ(big_pipe(p, MiB), MiB);
		for (round = 0; round < 8; round++) {
			daq_fill(buf, pos, sizeof(buf));
			w = write(sv[0], buf, sizeof(buf));
			ASSERT_EQ(w, (ssize_t)sizeof(buf));
			for (in = 0; in < w; in += r) {
				r = splice(sv[1], NULL, p[1], NULL, w - in, 0);
				ASSERT_GT(r, 0);
			}
			for (out = 0; out < w; out += r) {
				r = splice(p[0], NULL, fd, NULL, w - out, 0);
				if (r < 0)
					tap_diag("splice to the device: %s at "
						 "stream offset %llu",
						 strerror(errno),
						 (unsigned long long)(pos + out));
				ASSERT_GT(r, 0);
			}
			pos += w;
		}
		/* the device's stream went on where the data says */
		daq_fill(buf, pos, 4096);
		ASSERT_EQ(write(fd, buf, 4096), 4096);
		close(sv[0]);
		close(sv[1]);
		close(p[0]);
		close(p[1]);
		close(fd);
	}
}

struct blocked {
	int fd, pfd;
	ssize_t ret;
};

static long long thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *pread_at_1mib(void *arg)
{
	struct blocked *b = arg;
	char buf[4096];

	b->ret = pread(b->fd, buf, sizeof(buf), MiB);
	return NULL;
}

static void *splice_from_empty_pipe(void *arg)
{
	struct blocked *b = arg;

	b->ret = splice(b->pfd, NULL, b->fd, NULL, 4096, 0);
	return NULL;
}

/*
 * poll() while a reader waits for its DMA and a writer waits in a
 * splice from an empty pipe, both on the file: poll() answers at once
 * (review 24 finding 2: it slept on their locks, uninterruptibly, a
 * whole DMA latency for the reader and for ever for the writer).
 */
TEST(poll_does_not_wait_for_a_blocked_reader_or_writer)
{
	long long t0, dt, dt2, cpu0, cpu;
	struct blocked rd, wr;
	pthread_t tr, tw;
	struct pollfd pfd;
	char buf[4096];
	int fd, p[2], n;

	params(1000, 1500000);		/* 1.5 s per transfer */
	fd = daq_open(0);
	ASSERT_EQ(pipe(p), 0);
	rd = (struct blocked){ .fd = fd };
	wr = (struct blocked){ .fd = fd, .pfd = p[0] };
	ASSERT_EQ(pthread_create(&tr, NULL, pread_at_1mib, &rd), 0);
	ASSERT_EQ(pthread_create(&tw, NULL, splice_from_empty_pipe, &wr), 0);
	usleep(300000);
	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT;
	t0 = now_ms();
	ASSERT_GE(poll(&pfd, 1, 0), 0);
	dt = now_ms() - t0;
	tap_diag("poll(timeout 0) beside a blocked reader and writer: %lld ms",
		 dt);
	/*
	 * With a timeout, while the reader's and poll()'s own DMA complete:
	 * poll() times out, asleep (a first fix woke itself and spun, and
	 * never timed out).
	 */
	pfd.events = POLLOUT;
	cpu0 = thread_cpu_ms();
	t0 = now_ms();
	n = poll(&pfd, 1, 2500);
	dt2 = now_ms() - t0;
	cpu = thread_cpu_ms() - cpu0;
	tap_diag("poll(POLLOUT, 2500 ms) beside the writer: %d after %lld ms, "
		 "%lld ms of CPU", n, dt2, cpu);
	/* the writer gets its data, the reader its DMA */
	daq_fill(buf, 0, sizeof(buf));
	ASSERT_EQ(write(p[1], buf, sizeof(buf)), 4096);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	EXPECT_EQ(wr.ret, 4096);
	EXPECT_EQ(rd.ret, 4096);
	EXPECT_LT(dt, 500);
	EXPECT_EQ(n, 0);
	EXPECT_GE(dt2, 2400);
	EXPECT_LT(cpu, 500);
	close(p[0]);
	close(p[1]);
	close(fd);
}

struct reader {
	int fd;
	uint64_t pos;
	ssize_t ret;
	pthread_barrier_t *go;
};

static void *pread_one(void *arg)
{
	struct reader *r = arg;
	char buf[4096];

	pthread_barrier_wait(r->go);
	r->ret = pread(r->fd, buf, sizeof(buf), r->pos);
	if (r->ret == (ssize_t)sizeof(buf) &&
	    daq_check(buf, r->pos, sizeof(buf)) != sizeof(buf))
		r->ret = -2;
	return NULL;
}

/*
 * Two readers of one file, other parts of the stream: their DMA goes on
 * together, each pays the latency once (review 24 finding 4: the second
 * one's DMA started only once the first had its data, 2 latencies).
 */
TEST(readers_of_one_file_wait_for_their_dma_together)
{
	struct reader r[2];
	pthread_barrier_t go;
	pthread_t t[2];
	long long t0, dt;
	int fd, i;

	params(1000, 800000);		/* 800 ms per transfer */
	fd = daq_open(0);
	ASSERT_EQ(pthread_barrier_init(&go, NULL, 3), 0);
	for (i = 0; i < 2; i++) {
		r[i] = (struct reader){ .fd = fd, .pos = (uint64_t)i * MiB,
					.go = &go };
		ASSERT_EQ(pthread_create(&t[i], NULL, pread_one, &r[i]), 0);
	}
	pthread_barrier_wait(&go);
	t0 = now_ms();
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	dt = now_ms() - t0;
	pthread_barrier_destroy(&go);
	tap_diag("two 4 KiB preads, 800 ms latency each: %lld ms", dt);
	EXPECT_EQ(r[0].ret, 4096);
	EXPECT_EQ(r[1].ret, 4096);
	EXPECT_LT(dt, 1400);
	close(fd);
}

struct span {
	int fd;
	uint64_t pos;
	size_t len;
	long long delay_ms;
	ssize_t ret;
};

static void *pread_span(void *arg)
{
	struct span *s = arg;
	char *buf = malloc(s->len);

	usleep(s->delay_ms * 1000);
	s->ret = buf ? pread(s->fd, buf, s->len, s->pos) : -1;
	if (s->ret > 0 && daq_check(buf, s->pos, s->ret) != (size_t)s->ret)
		s->ret = -2;
	free(buf);
	return NULL;
}

/*
 * Two readers of overlapping parts of one file: the second, 8 KiB at 0,
 * finds its second page taken by the first, 4 KiB at 4096, while it
 * waited for its first: it acquires it again and gets all 8 KiB
 * (review of e6662f1 finding 3: it returned 4096, 20 of 20 times).
 */
TEST(readers_of_overlapping_parts_get_all_they_asked_for)
{
	struct span a, b;
	pthread_t ta, tb;
	int fd, round;

	params(1000, 300000);		/* 300 ms per transfer */
	for (round = 0; round < 3; round++) {
		fd = daq_open(0);
		a = (struct span){ .fd = fd, .pos = 4096, .len = 4096 };
		b = (struct span){ .fd = fd, .pos = 0, .len = 8192,
				   .delay_ms = 50 };
		ASSERT_EQ(pthread_create(&ta, NULL, pread_span, &a), 0);
		ASSERT_EQ(pthread_create(&tb, NULL, pread_span, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		if (a.ret != 4096 || b.ret != 8192)
			tap_diag("round %d: pread 4096 at 4096 -> %zd, 8192 at 0 "
				 "-> %zd", round, a.ret, b.ret);
		EXPECT_EQ(a.ret, 4096);
		EXPECT_EQ(b.ret, 8192);
		close(fd);
	}
}

TEST(bad_input)
{
	char buf[64];
	int fd, p[2];
	loff_t off = -8;

	params(200, 10);
	fd = daq_open(0);
	errno = 0;
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), -1);
	ASSERT_EQ(errno, ESPIPE);
	errno = 0;
	ASSERT_EQ(pread(fd, buf, 8, -8), -1);
	ASSERT_EQ(errno, EINVAL);
	errno = 0;
	ASSERT_EQ(read(fd, bad_addr(), 8), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(pipe(p), 0);
	errno = 0;
	ASSERT_EQ(splice(fd, &off, p[1], NULL, 8, 0), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(read(fd, buf, 0), 0);
	close(fd);
}

/*
 * One call moves at most DAQ_MAX_IO (1 MiB): a bigger read, pread,
 * readv, splice from the device, write or splice to it is a short one of
 * exactly the cap (when nothing else cuts it short), and the next call
 * goes on from there.
 */
TEST(oversized_requests_are_short)
{
	const size_t big = 3 * MiB + 123;
	char *buf = xmalloc(big);
	struct iovec iov[3];
	loff_t off = 5 * MiB + 7;
	int fd, p[2];

	params(1000, 10);
	fd = daq_open(0);
	ASSERT_EQ(read(fd, buf, big), DAQ_MAX_IO);
	verify(buf, 0, DAQ_MAX_IO);
	ASSERT_EQ(read(fd, buf, big), DAQ_MAX_IO);
	verify(buf, DAQ_MAX_IO, DAQ_MAX_IO);
	ASSERT_EQ(pread(fd, buf, big, 9 * MiB + 1), DAQ_MAX_IO);
	verify(buf, 9 * MiB + 1, DAQ_MAX_IO);
	iov[0].iov_base = buf;
	iov[0].iov_len = 4097;
	iov[1].iov_base = buf + 4097;
	iov[1].iov_len = 2 * MiB;
	iov[2].iov_base = buf + 4097 + 2 * MiB;
	iov[2].iov_len = big - 4097 - 2 * MiB;
	ASSERT_EQ(readv(fd, iov, 3), DAQ_MAX_IO);
	verify(buf, 2 * MiB, DAQ_MAX_IO);

	/* splice from the device into a pipe with room for 4 MiB */
	ASSERT_GE(big_pipe(p, 4 * MiB), 4 * MiB);
	ASSERT_EQ(splice(fd, &off, p[1], NULL, big, 0), DAQ_MAX_IO);
	ASSERT_EQ(off, 5 * MiB + 7 + DAQ_MAX_IO);
	read_full(p[0], buf, DAQ_MAX_IO);
	verify(buf, 5 * MiB + 7, DAQ_MAX_IO);

	/* write and splice to the device */
	daq_fill(buf, 0, big);
	ASSERT_EQ(write(fd, buf, big), DAQ_MAX_IO);
	daq_fill(buf, DAQ_MAX_IO, 2 * MiB);
	ASSERT_EQ(write(p[1], buf, 2 * MiB), 2 * MiB);
	ASSERT_EQ(splice(p[0], NULL, fd, NULL, 2 * MiB, 0), DAQ_MAX_IO);
	/* the rest is still in the pipe and goes with the next call */
	ASSERT_EQ(splice(p[0], NULL, fd, NULL, 2 * MiB, 0), DAQ_MAX_IO);
	free(buf);
	close(p[0]);
	close(p[1]);
	close(fd);
}

TEST(bad_module_parameters)
{
	const char *bad[][2] = {
		{ "rate", "0" }, { "rate", "100001" }, { "rate", "x" },
		{ "latency_us", "10000001" }, { "coalesce_us", "-1" },
	};
	char path[128];
	unsigned int i;
	int fd;

	if (access(DAQ_PARAMS, F_OK))
		SKIP("no " DAQ_PARAMS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), DAQ_PARAMS "/%s", bad[i][0]);
		fd = open(path, O_WRONLY);
		ASSERT_GE(fd, 0);
		errno = 0;
		EXPECT_EQ(write(fd, bad[i][1], strlen(bad[i][1])), -1);
		EXPECT_EQ(errno, EINVAL);
		close(fd);
	}
}

/* ---- syslet chains ---------------------------------------------------- */

#define NCHAINS	8
#define SEG	(256 * 1024)

/* read(dev, buf, SEG) at its own offset: pread64 */
struct rchain {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len, off;
};

TEST(async_pread_chains_integrity)
{
	struct syslet_ring *ring = ring_new(64);
	struct rchain c[NCHAINS];
	struct syslet_completion done;
	char *buf = xmalloc((size_t)NCHAINS * SEG);
	int fd, i, n;

	REQUIRE_SYSLET();
	params(200, 100);
	fd = daq_open(0);
	for (i = 0; i < NCHAINS; i++) {
		c[i].fd = fd;
		c[i].buf = (uintptr_t)(buf + (size_t)i * SEG);
		c[i].len = SEG;
		c[i].off = (uint64_t)i * SEG;
		atom_init(&c[i].a, SYSLET_ASYNC, SYS_pread64, &c[i].ret,
			  &c[i].fd, &c[i].buf, &c[i].len, &c[i].off);
		c[i].a.user_data = i;
		ASSERT_EQ(async_exec(&c[i].a, ring, NULL, 0), SYSLET_QUEUED);
	}
	for (n = 0; n < NCHAINS; n++) {
		ASSERT_TRUE(ring_get(ring, &done));
		ASSERT_EQ(done.status, SEG);
	}
	for (i = 0; i < NCHAINS; i++)
		ASSERT_EQ(c[i].ret, SEG);
	verify(buf, 0, (size_t)NCHAINS * SEG);
	close(fd);
}

/* splice(dev, &off, pipe) -> splice(pipe, file, &off), one pipe per chain */
struct schain {
	struct syslet_atom a[2];
	int64_t r_in, r_out;
	uint64_t dev, off_in_p, pw, null, len, flags_in;
	uint64_t pr, file, off_out_p, flags_out;
	loff_t off_in, off_out;
	int p[2];
};

static void schain_init(struct schain *c, int dev, int file, uint64_t pos,
			uint64_t len)
{
	memset(c, 0, sizeof(*c));
	ASSERT_EQ(pipe(c->p), 0);
	ASSERT_GE(fcntl(c->p[1], F_SETPIPE_SZ, (int)len), (int)len);
	c->dev = dev;
	c->off_in = pos;
	c->off_in_p = (uintptr_t)&c->off_in;
	c->pw = c->p[1];
	c->len = len;
	c->flags_in = SPLICE_F_MORE;
	c->pr = c->p[0];
	c->file = file;
	c->off_out = pos;
	c->off_out_p = (uintptr_t)&c->off_out;
	atom_init(&c->a[0], SYSLET_ASYNC | SYSLET_STOP_ON_NON_POSITIVE,
		  SYS_splice, &c->r_in, &c->dev, &c->off_in_p, &c->pw,
		  &c->null);
	c->a[0].arg_ptr[4] = (uintptr_t)&c->len;
	c->a[0].arg_ptr[5] = (uintptr_t)&c->flags_in;
	/* the second splice moves what the first one got */
	atom_init(&c->a[1], 0, SYS_splice, &c->r_out, &c->pr, &c->null,
		  &c->file, &c->off_out_p);
	c->a[1].arg_ptr[4] = (uintptr_t)&c->r_in;
	c->a[1].arg_ptr[5] = (uintptr_t)&c->flags_out;
	c->a[0].next = (uintptr_t)&c->a[1];
}

TEST(async_splice_chains_to_file)
{
	struct syslet_ring *ring = ring_new(64);
	struct schain *c = xmalloc(sizeof(*c) * NCHAINS);
	char path[] = "/tmp/daq-rec-XXXXXX", *buf;
	struct syslet_completion done;
	int fd, out, i;

	REQUIRE_SYSLET();
	params(200, 100);
	fd = daq_open(0);
	out = mkstemp(path);
	ASSERT_GE(out, 0);
	unlink(path);
	for (i = 0; i < NCHAINS; i++) {
		schain_init(&c[i], fd, out, (uint64_t)i * SEG, SEG);
		c[i].a[0].user_data = i;
		ASSERT_EQ(async_exec(&c[i].a[0], ring, NULL, 0), SYSLET_QUEUED);
	}
	for (i = 0; i < NCHAINS; i++) {
		ASSERT_TRUE(ring_get(ring, &done));
		ASSERT_EQ(done.nr_atoms, 2);
		ASSERT_EQ(done.status, SEG);
	}
	buf = xmalloc((size_t)NCHAINS * SEG);
	ASSERT_EQ(pread(out, buf, (size_t)NCHAINS * SEG, 0),
		  (ssize_t)NCHAINS * SEG);
	verify(buf, 0, (size_t)NCHAINS * SEG);
	close(out);
	close(fd);
}

/*
 * ->confirm() waits on the async path too.  Chains splice(dev -> pipe),
 * clock_gettime(), splice(pipe -> file), clock_gettime() with a 1 s DMA
 * latency: the first splice returns at once, the second waits in
 * ->confirm(), so no byte reaches the file before the DMA (due no sooner
 * than 1 s after submission) has finished, and the file holds the
 * pattern, not the zeroes of a page read before its DMA.
 */
#define TCHAINS	4
#define TSEG	(64 * 1024)

struct tchain {
	struct schain s;
	struct syslet_atom clk[2];
	int64_t r_clk[2];
	uint64_t clk_id, ts_p[2];
	struct timespec ts[2];
};

static long long ts_ms(const struct timespec *ts)
{
	return ts->tv_sec * 1000LL + ts->tv_nsec / 1000000;
}

TEST(async_splice_chains_confirm_waits_for_dma)
{
	struct syslet_ring *ring = ring_new(16);
	struct tchain *c = xmalloc(sizeof(*c) * TCHAINS);
	char path[] = "/tmp/daq-conf-XXXXXX", *buf;
	struct syslet_completion done;
	long long t0, t_obs;
	struct stat st;
	int fd, out, i, j;

	REQUIRE_SYSLET();
	params(200, 1000000);		/* 1 s per transfer */
	fd = daq_open(0);
	out = mkstemp(path);
	ASSERT_GE(out, 0);
	unlink(path);
	t0 = now_ms();
	for (i = 0; i < TCHAINS; i++) {
		struct tchain *t = &c[i];

		schain_init(&t->s, fd, out, (uint64_t)i * TSEG, TSEG);
		memset(t->clk, 0, sizeof(t->clk));
		t->clk_id = CLOCK_MONOTONIC;
		for (j = 0; j < 2; j++) {
			t->r_clk[j] = 1;
			t->ts_p[j] = (uintptr_t)&t->ts[j];
			atom_init(&t->clk[j], 0, SYS_clock_gettime,
				  &t->r_clk[j], &t->clk_id, &t->ts_p[j],
				  NULL, NULL);
		}
		/* splice in -> clock -> splice out -> clock */
		t->s.a[0].next = (uintptr_t)&t->clk[0];
		t->clk[0].next = (uintptr_t)&t->s.a[1];
		t->s.a[1].next = (uintptr_t)&t->clk[1];
		t->s.a[0].user_data = i;
		ASSERT_EQ(async_exec(&t->s.a[0], ring, NULL, 0), SYSLET_QUEUED);
	}
	/* halfway through the latency nothing may have reached the file */
	usleep(400000);
	t_obs = now_ms();
	ASSERT_EQ(fstat(out, &st), 0);
	tap_diag("file size %lld at %lld ms", (long long)st.st_size,
		 t_obs - t0);
	if (t_obs - t0 < 950)
		ASSERT_EQ(st.st_size, 0);
	for (i = 0; i < TCHAINS; i++) {
		ASSERT_TRUE(ring_get(ring, &done));
		ASSERT_EQ(done.nr_atoms, 4);
		ASSERT_EQ(done.status, 0);
	}
	for (i = 0; i < TCHAINS; i++) {
		struct tchain *t = &c[i];
		long long in = ts_ms(&t->ts[0]) - t0;
		long long o = ts_ms(&t->ts[1]) - t0;

		tap_diag("chain %d: dev->pipe done at %lld ms, pipe->file at %lld ms",
			 i, in, o);
		ASSERT_EQ(t->s.r_in, TSEG);
		ASSERT_EQ(t->s.r_out, TSEG);
		ASSERT_EQ(t->r_clk[0], 0);
		ASSERT_EQ(t->r_clk[1], 0);
		EXPECT_LT(in, 500);	/* splice_read did not wait */
		EXPECT_GE(o, 950);	/* ->confirm() did */
		close(t->s.p[0]);
		close(t->s.p[1]);
	}
	buf = xmalloc((size_t)TCHAINS * TSEG);
	ASSERT_EQ(pread(out, buf, (size_t)TCHAINS * TSEG, 0),
		  (ssize_t)TCHAINS * TSEG);
	verify(buf, 0, (size_t)TCHAINS * TSEG);
	free(buf);
	free(c);
	close(out);
	close(fd);
}

TEST(async_chain_blocked_on_device_is_cancelled)
{
	struct syslet_ring *ring = ring_new(8);
	struct syslet_completion done;
	struct rchain c;
	char buf[4096];
	long long t0, dt;
	int fd;

	REQUIRE_SYSLET();
	params(200, 3000000);		/* 3 s */
	fd = daq_open(0);
	c.fd = fd;
	c.buf = (uintptr_t)buf;
	c.len = sizeof(buf);
	c.off = 0;
	c.ret = 1;
	atom_init(&c.a, SYSLET_ASYNC, SYS_pread64, &c.ret, &c.fd, &c.buf,
		  &c.len, &c.off);
	c.a.user_data = 0xda9;
	ASSERT_EQ(async_exec(&c.a, ring, NULL, 0), SYSLET_QUEUED);
	usleep(200000);			/* it is asleep in the driver now */
	t0 = now_ms();
	ASSERT_EQ(async_cancel(ring, 0xda9, 0), 0);
	ASSERT_TRUE(ring_get(ring, &done));
	dt = now_ms() - t0;
	ASSERT_EQ(done.status, -ECANCELED);
	ASSERT_TRUE(done.flags & SYSLET_COMP_CANCELED);
	EXPECT_LT(dt, 3000);
	tap_diag("cancelled after %lld ms, the read returned %lld", dt,
		 (long long)c.ret);
	EXPECT_LT(c.ret, 0);
	close(fd);
}

/*
 * Cancelling a splice chain blocked on the device.  splice(dev -> pipe)
 * does not wait for the DMA; the chain blocks in the next atom,
 * splice(pipe -> file), in the device's ->confirm().  async_cancel()
 * cuts that wait short: the chain completes with -ECANCELED long before
 * the DMA is due, the interrupted splice's result is -ECANCELED, nothing
 * reached the file, the atom after it did not run, and the pages stay in
 * the pipe, unconsumed, with their data once the DMA is done.
 */
TEST(async_splice_chain_blocked_in_confirm_is_cancelled)
{
	struct syslet_ring *ring = ring_new(8);
	char path[] = "/tmp/daq-canc-XXXXXX", *buf;
	struct syslet_completion done;
	struct syslet_atom after;
	int64_t r_after = -12345;
	long long t0, t1, dt;
	struct schain c;
	struct stat st;
	int fd, out;

	REQUIRE_SYSLET();
	params(200, 3000000);		/* 3 s */
	fd = daq_open(0);
	out = mkstemp(path);
	ASSERT_GE(out, 0);
	unlink(path);
	schain_init(&c, fd, out, 0, TSEG);
	atom_init(&after, 0, SYS_getpid, &r_after, NULL, NULL, NULL, NULL);
	c.a[1].next = (uintptr_t)&after;
	c.a[0].user_data = 0xda5;
	t0 = now_ms();
	ASSERT_EQ(async_exec(&c.a[0], ring, NULL, 0), SYSLET_QUEUED);
	usleep(300000);			/* asleep in ->confirm() now */
	ASSERT_FALSE(ring_pop(ring, &done));
	t1 = now_ms();
	ASSERT_EQ(async_cancel(ring, 0xda5, 0), 0);
	ASSERT_TRUE(ring_get(ring, &done));
	dt = now_ms() - t1;
	tap_diag("cancelled after %lld ms (%lld ms after submission): splice in %lld, out %lld",
		 dt, now_ms() - t0, (long long)c.r_in, (long long)c.r_out);
	ASSERT_EQ(done.user_data, 0xda5);
	ASSERT_EQ(done.status, -ECANCELED);
	ASSERT_TRUE(done.flags & SYSLET_COMP_CANCELED);
	EXPECT_LT(now_ms() - t0, 2000);	/* the DMA is due at 3 s */
	ASSERT_EQ(done.nr_atoms, 2);
	ASSERT_EQ(c.r_in, TSEG);
	ASSERT_EQ(c.r_out, -ECANCELED);
	ASSERT_EQ(r_after, -12345);	/* the next atom did not run */
	ASSERT_EQ(fstat(out, &st), 0);
	ASSERT_EQ(st.st_size, 0);
	/* the pages are still in the pipe and fill in when their DMA ends */
	buf = xmalloc(TSEG);
	read_full(c.p[0], buf, TSEG);
	EXPECT_GE(now_ms() - t0, 2900);
	verify(buf, 0, TSEG);
	free(buf);
	close(c.p[0]);
	close(c.p[1]);
	close(out);
	close(fd);
}

TAP_MAIN
