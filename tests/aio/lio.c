// SPDX-License-Identifier: GPL-2.0
/*
 * lio.c - lio_listio: LIO_WAIT returns with everything done, LIO_NOWAIT
 * returns at once and notifies once when the whole list is done
 * (SIGEV_SIGNAL, SIGEV_THREAD), LIO_NOP and NULL entries, individual
 * notifications, failures reported as EIO, and an invalid mode.
 */
#include "aio-test.h"

/*
 * LIO_NOWAIT "shall return immediately": no entry completes inside the
 * call, not even a read of cached data, which aio_read() may complete
 * there (LTP's aio_suspend 9-1 waits, with bigger and bigger reads, for
 * an entry still in progress after the call: for ever when each one was
 * done in it; the shim completes at most 64 KiB of cached reads there).
 * The file is in the page cache; after the call some entry must still be
 * in progress, in one of 5 tries of 10 reads of 1 MiB.
 */
TEST(lio_nowait_completes_nothing_in_the_call)
{
	enum { N = 10, LEN = 1 << 20 };
	static char buf[N][LEN];
	struct aiocb c[N], *l[N];
	int fd = aiot_file(LEN), i, t, busy = 0;

	ASSERT_GE(fd, 0);
#ifdef AIOT_WINDOWS
	/* 2 ms sleeps in the call (-san, -race): each entry is over by then */
	SKIP("the shim's race windows are widened in this build");
#endif
	for (t = 0; t < 5 && !busy; t++) {
		for (i = 0; i < N; i++) {
			aiot_cb(&c[i], fd, buf[i], LEN, 0);
			c[i].aio_lio_opcode = LIO_READ;
			l[i] = &c[i];
		}
		ASSERT_EQ(lio_listio(LIO_NOWAIT, l, N, NULL), 0);
		for (i = 0; i < N; i++)
			busy += aio_error(&c[i]) == EINPROGRESS;
		for (i = 0; i < N; i++) {
			ASSERT_EQ(aiot_wait(&c[i], 10), 0);
			ASSERT_EQ(aio_return(&c[i]), LEN);
			ASSERT_EQ((unsigned char)buf[i][LEN - 1],
				  aiot_pat(LEN - 1));
		}
	}
	ASSERT_GT(busy, 0);
}

/*
 * A LIO_NOWAIT read of a pipe, not tried in the caller: the pipe must be
 * seen as a stream at submission (a positioned read of it fails with
 * ESPIPE in the engine, and nothing reaped and redid it: a writer of more
 * than the pipe holds waited for ever).
 */
TEST(lio_nowait_pipe_read_is_read)
{
	static char wbuf[1 << 17];
	char rbuf[1 << 16];
	struct aiocb c, *l[1] = { &c };
	size_t done = 0;
	double t0;
	ssize_t n;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	aiot_cb(&c, p[0], rbuf, sizeof(rbuf), 0);
	c.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(lio_listio(LIO_NOWAIT, l, 1, NULL), 0);
	memset(wbuf, 'p', sizeof(wbuf));
	t0 = aiot_now();
	/*
	 * More than the pipe holds (64 KiB), and no AIO call meanwhile (one
	 * would reap and redo the failed read): the read must take some.
	 */
	while (done <= 65536 && aiot_now() - t0 < 5) {
		n = write(p[1], wbuf + done, sizeof(wbuf) - done);
		if (n > 0)
			done += (size_t)n;
		else
			aiot_msleep(5);
	}
	ASSERT_GT(done, 65536);
	ASSERT_EQ(aiot_wait(&c, 10), 0);
	ASSERT_GT(aio_return(&c), 0);
	ASSERT_EQ(rbuf[0], 'p');
}

TEST(lio_wait_reads_and_writes)
{
	char r1[100], r2[100], w[100];
	struct aiocb c[5];
	struct aiocb *l[5];
	int fd = aiot_file(1000), i;

	memset(w, 'W', sizeof(w));
	aiot_cb(&c[0], fd, r1, sizeof(r1), 0);
	c[0].aio_lio_opcode = LIO_READ;
	aiot_cb(&c[1], fd, w, sizeof(w), 2000);
	c[1].aio_lio_opcode = LIO_WRITE;
	aiot_cb(&c[2], fd, r2, sizeof(r2), 500);
	c[2].aio_lio_opcode = LIO_READ;
	aiot_cb(&c[3], fd, NULL, 0, 0);
	c[3].aio_lio_opcode = LIO_NOP;
	for (i = 0; i < 4; i++)
		l[i] = &c[i];
	l[4] = NULL;
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 5, NULL), 0);
	ASSERT_EQ(aio_error(&c[0]), 0);
	ASSERT_EQ(aio_error(&c[1]), 0);
	ASSERT_EQ(aio_error(&c[2]), 0);
	ASSERT_EQ(aio_return(&c[0]), 100);
	ASSERT_EQ(aio_return(&c[1]), 100);
	ASSERT_EQ(aio_return(&c[2]), 100);
	ASSERT_EQ((unsigned char)r1[7], aiot_pat(7));
	ASSERT_EQ((unsigned char)r2[7], aiot_pat(507));
	ASSERT_EQ(lseek(fd, 0, SEEK_END), 2100);
}

/*
 * LIO_WAIT over and over, the requests completed by another thread: reads
 * of empty pipes that a helper thread fills once the waiter sleeps, so
 * that the shim's reaper finishes them while the waiter is woken by each
 * completion.  The waiter returns, and its list goes, while the completing
 * thread may still be at it; under ASan (the -san build widens that
 * window) a use after free of the list shows at once.
 */
enum { OUTLIVE_N = 6 };

struct filler {
	int (*p)[2];
	int rounds;
};

static void *fill_pipes(void *arg)
{
	struct filler *f = arg;
	int it, i;

	for (it = 0; it < f->rounds; it++) {
		aiot_msleep(5);
		for (i = 0; i < OUTLIVE_N; i++)
			if (write(f->p[i][1], "abcd", 4) != 4)
				abort();
	}
	return NULL;
}

TEST(lio_wait_list_outlives_completer)
{
	enum { N = OUTLIVE_N, ITERS = 40 };
	struct aiocb c[N], *l[N];
	struct filler f = { .rounds = ITERS };
	char buf[N][4];
	int p[N][2], i, it;
	pthread_t t;

	for (i = 0; i < N; i++)
		ASSERT_EQ(pipe(p[i]), 0);
	f.p = p;
	ASSERT_EQ(pthread_create(&t, NULL, fill_pipes, &f), 0);
	for (it = 0; it < ITERS; it++) {
		for (i = 0; i < N; i++) {
			aiot_cb(&c[i], p[i][0], buf[i], 4, 0);
			c[i].aio_lio_opcode = LIO_READ;
			l[i] = &c[i];
		}
		ASSERT_EQ(lio_listio(LIO_WAIT, l, N, NULL), 0);
		for (i = 0; i < N; i++)
			ASSERT_EQ(aio_return(&c[i]), 4);
	}
	ASSERT_EQ(pthread_join(t, NULL), 0);
}

struct feeder {
	int fd;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;

	aiot_msleep(200);
	if (write(f->fd, "abcdef", 6) != 6)
		abort();
	return NULL;
}

TEST(lio_wait_blocks_until_all_done)
{
	char b1[3], b2[3];
	struct aiocb c1, c2;
	struct aiocb *l[2] = { &c1, &c2 };
	struct feeder f;
	pthread_t t;
	double t0;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, 3, 0);
	aiot_cb(&c2, p[0], b2, 3, 0);
	c1.aio_lio_opcode = c2.aio_lio_opcode = LIO_READ;
	f.fd = p[1];
	ASSERT_EQ(pthread_create(&t, NULL, feed, &f), 0);
	t0 = aiot_now();
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 2, NULL), 0);
	ASSERT_GE(aiot_now() - t0, 0.15);
	ASSERT_EQ(aio_return(&c1), 3);
	ASSERT_EQ(aio_return(&c2), 3);
	pthread_join(t, NULL);
}

TEST(lio_wait_failure_is_eio)
{
	char b1[8], b2[8];
	struct aiocb c1, c2;
	struct aiocb *l[2] = { &c1, &c2 };
	int fd = aiot_file(100);

	aiot_cb(&c1, fd, b1, 8, 0);
	aiot_cb(&c2, 999, b2, 8, 0);
	c1.aio_lio_opcode = c2.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 2, NULL), -1);
	ASSERT_EQ(errno, EIO);
	ASSERT_EQ(aio_error(&c1), 0);
	ASSERT_EQ(aio_return(&c1), 8);
	ASSERT_EQ(aio_error(&c2), EBADF);
	ASSERT_EQ(aio_return(&c2), -1);
}

TEST(lio_nowait_signal_once_after_all)
{
	char b[3][4];
	struct aiocb c[3];
	struct aiocb *l[3];
	struct sigevent sev;
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 0, 100 * 1000000L };
	int p[2], fd = aiot_file(100), i;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 4);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c[0], fd, b[0], 4, 0);
	aiot_cb(&c[1], p[0], b[1], 4, 0);
	aiot_cb(&c[2], fd, b[2], 4, 4);
	for (i = 0; i < 3; i++) {
		c[i].aio_lio_opcode = LIO_READ;
		l[i] = &c[i];
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 4;
	sev.sigev_value.sival_int = 31337;
	ASSERT_EQ(lio_listio(LIO_NOWAIT, l, 3, &sev), 0);
	ASSERT_EQ(aio_error(&c[1]), EINPROGRESS);
	ASSERT_EQ(aiot_wait(&c[0], 10), 0);
	ASSERT_EQ(aiot_wait(&c[2], 10), 0);
	/* two of three done: no list notification yet */
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), -1);
	ASSERT_EQ(write(p[1], "1234", 4), 4);
	ts.tv_sec = 10;
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 4);
	ASSERT_EQ(si.si_code, SI_ASYNCIO);
	ASSERT_EQ(si.si_value.sival_int, 31337);
	ASSERT_EQ(aio_error(&c[1]), 0);
	ts.tv_sec = 0;
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), -1);	/* only once */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(aio_return(&c[i]), 4);
}

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static int calls;
static int val;

static void list_done(union sigval v)
{
	pthread_mutex_lock(&lk);
	calls++;
	val = v.sival_int;
	pthread_mutex_unlock(&lk);
}

TEST(lio_nowait_thread)
{
	enum { N = 8 };
	char b[N][16];
	struct aiocb c[N];
	struct aiocb *l[N];
	struct sigevent sev;
	int fd = aiot_file(1000), i, n = 0;

	for (i = 0; i < N; i++) {
		aiot_cb(&c[i], fd, b[i], 16, i * 16);
		c[i].aio_lio_opcode = LIO_READ;
		l[i] = &c[i];
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = list_done;
	sev.sigev_value.sival_int = 5;
	ASSERT_EQ(lio_listio(LIO_NOWAIT, l, N, &sev), 0);
	for (i = 0; i < 1000; i++) {
		pthread_mutex_lock(&lk);
		n = calls;
		pthread_mutex_unlock(&lk);
		if (n)
			break;
		aiot_msleep(10);
	}
	ASSERT_EQ(n, 1);
	ASSERT_EQ(val, 5);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(aio_error(&c[i]), 0);
		ASSERT_EQ(aio_return(&c[i]), 16);
	}
	aiot_msleep(50);
	ASSERT_EQ(calls, 1);
}

TEST(lio_nowait_no_sig)
{
	char b[8];
	struct aiocb c;
	struct aiocb *l[1] = { &c };
	int fd = aiot_file(100);

	aiot_cb(&c, fd, b, 8, 0);
	c.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(lio_listio(LIO_NOWAIT, l, 1, NULL), 0);
	ASSERT_EQ(aiot_wait(&c, 10), 0);
	ASSERT_EQ(aio_return(&c), 8);
}

TEST(lio_individual_notification)
{
	char b[8];
	struct aiocb c;
	struct aiocb *l[1] = { &c };
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 10, 0 };
	int fd = aiot_file(100);

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 5);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	aiot_cb(&c, fd, b, 8, 0);
	c.aio_lio_opcode = LIO_READ;
	c.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	c.aio_sigevent.sigev_signo = SIGRTMIN + 5;
	c.aio_sigevent.sigev_value.sival_int = 9;
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 1, NULL), 0);
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 5);
	ASSERT_EQ(si.si_value.sival_int, 9);
	ASSERT_EQ(aio_return(&c), 8);
}

TEST(lio_only_nops)
{
	struct aiocb c;
	struct aiocb *l[2] = { &c, NULL };

	aiot_cb(&c, 0, NULL, 0, 0);
	c.aio_lio_opcode = LIO_NOP;
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 2, NULL), 0);
	ASSERT_EQ(lio_listio(LIO_NOWAIT, l, 2, NULL), 0);
}

TEST(lio_bad_mode)
{
	struct aiocb c;
	struct aiocb *l[1] = { &c };

	aiot_cb(&c, 0, NULL, 0, 0);
	c.aio_lio_opcode = LIO_NOP;
	ASSERT_EQ(lio_listio(7, l, 1, NULL), -1);
	ASSERT_EQ(errno, EINVAL);
}

TAP_MAIN
