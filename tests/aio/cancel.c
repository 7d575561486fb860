// SPDX-License-Identifier: GPL-2.0
/*
 * cancel.c - aio_cancel: AIO_CANCELED / AIO_NOTCANCELED / AIO_ALLDONE, the
 * cancelled request's ECANCELED status and its notification, cancelling one
 * request or every request of a descriptor, and argument errors.  A
 * running request runs on (AIO_NOTCANCELED) as with glibc, unless the
 * shim is told to interrupt it ($SYSLET_AIO_CANCEL_RUNNING=1: the tests
 * that call cancel_running()).
 */
#include <sys/socket.h>

#include "aio-test.h"
#include "../wchan.h"

/* the shim only: from here on aio_cancel interrupts running requests */
static void cancel_running(void)
{
	need_shim();	/* glibc cannot stop a running request */
	setenv("SYSLET_AIO_CANCEL_RUNNING", "1", 1);
}

static volatile sig_atomic_t got_sig;
static volatile void *got_ptr;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGRTMIN + 2 && si->si_code == SI_ASYNCIO) {
		got_ptr = si->si_value.sival_ptr;
		got_sig++;
	}
}

TEST(cancel_queued_behind_blocked_read)
{
	char b1[8], b2[8];
	struct aiocb c1, c2;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, sizeof(b1), 0);
	aiot_cb(&c2, p[0], b2, sizeof(b2), 0);
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	aiot_msleep(50);
	ASSERT_EQ(aio_cancel(p[0], &c2), AIO_CANCELED);
	ASSERT_EQ(aio_error(&c2), ECANCELED);
	ASSERT_EQ(aio_return(&c2), -1);
	/* the first one is still there and still works */
	ASSERT_EQ(aio_error(&c1), EINPROGRESS);
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_EQ(aiot_wait(&c1, 10), 0);
	ASSERT_EQ(aio_return(&c1), 3);
}

TEST(cancel_leaves_running_read_running)
{
	char buf[8];
	struct aiocb cb;
	int p[2], r;

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	tap_threads_in("pipe_read", 1, 5);
	aiot_msleep(50);
	/* as glibc: not cancelled, not touched, and it completes */
	r = aio_cancel(p[0], &cb);
	/* one not started yet is cancelled, by glibc and the shim alike */
	if (r == AIO_CANCELED)
		SKIP("the read had not started (no thread yet)");
	ASSERT_EQ(r, AIO_NOTCANCELED);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 3);
	ASSERT_EQ(memcmp(buf, "abc", 3), 0);
}

/*
 * LTP's aio_cancel 5-1 and 7-1: datagram writes queued on a full socket;
 * aio_cancel(fd, NULL) once the first is done and the second blocked:
 * AIO_NOTCANCELED, the blocked one still in progress and not modified,
 * every later one ECANCELED; and the blocked one goes out after all.
 */
TEST(cancel_all_leaves_blocked_write_running)
{
	enum { N = 6 };
	static char wbuf[N][4096];
	struct aiocb cb[N];
	char sink[65536];
	int sv[2], i, sz = 4 * 4096, got = 0;
	ssize_t n;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	while (write(sv[0], wbuf[0], sizeof(wbuf[0])) > 0)
		;
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(fcntl(sv[0], F_SETFL, 0), 0);
	for (i = 0; i < N; i++) {
		memset(wbuf[i], 'a' + i, sizeof(wbuf[i]));
		aiot_cb(&cb[i], sv[0], wbuf[i], sizeof(wbuf[i]), 0);
		ASSERT_EQ(aio_write(&cb[i]), 0);
	}
	aiot_msleep(50);
	ASSERT_EQ(aio_error(&cb[0]), EINPROGRESS);
	i = aio_cancel(sv[0], NULL);
	if (i == AIO_CANCELED && !aiot_shim())
		SKIP("glibc's thread had not started the write in 50 ms");
	ASSERT_EQ(i, AIO_NOTCANCELED);
	ASSERT_EQ(aio_error(&cb[0]), EINPROGRESS);
	for (i = 1; i < N; i++) {
		ASSERT_EQ(aio_error(&cb[i]), ECANCELED);
		ASSERT_EQ(aio_return(&cb[i]), -1);
	}
	/* drain: the blocked write goes out, the cancelled ones never do */
	ASSERT_EQ(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	for (i = 0; i < 2000; i++) {
		n = read(sv[1], sink, sizeof(sink));
		if (n > 0) {
			ASSERT_TRUE(sink[0] == 'a' || sink[0] == 0);
			got += sink[0] == 'a';
		} else if (aio_error(&cb[0]) == EINPROGRESS) {
			aiot_msleep(5);
		} else if (aio_error(&cb[0]) == 0 && got) {
			break;
		}
	}
	ASSERT_EQ(aio_error(&cb[0]), 0);
	ASSERT_EQ(aio_return(&cb[0]), (ssize_t)sizeof(wbuf[0]));
	ASSERT_EQ(got, 1);
}

TEST(cancel_running_blocked_read)
{
	char buf[8];
	struct aiocb cb;
	int p[2];

	cancel_running();
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(50);
	ASSERT_EQ(aio_cancel(p[0], &cb), AIO_CANCELED);
	ASSERT_EQ(aio_error(&cb), ECANCELED);
	ASSERT_EQ(aio_return(&cb), -1);
	/* and it no longer consumes data written afterwards */
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(read(p[0], buf, 1), 1);
}

TEST(cancel_all_on_fd)
{
	enum { N = 5 };
	char buf[N][8];
	struct aiocb cb[N];
	int p[2], i, r, canceled = 0;

	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < N; i++) {
		aiot_cb(&cb[i], p[0], buf[i], 8, 0);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	aiot_msleep(50);
	r = aio_cancel(p[0], NULL);
	if (r == AIO_CANCELED && !aiot_shim())
		SKIP("glibc's thread had not started the first read in 50 ms");
	/* the first one runs on; the others waited behind it */
	ASSERT_EQ(r, AIO_NOTCANCELED);
	for (i = 0; i < N; i++)
		if (aio_error(&cb[i]) == ECANCELED)
			canceled++;
	ASSERT_EQ(canceled, N - 1);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	for (i = 0; i < N; i++)
		ASSERT_EQ(aiot_wait(&cb[i], 10), 0);
}

TEST(cancel_all_on_fd_running_too)
{
	enum { N = 5 };
	char buf[N][8];
	struct aiocb cb[N];
	int p[2], i;

	cancel_running();
	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < N; i++) {
		aiot_cb(&cb[i], p[0], buf[i], 8, 0);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	aiot_msleep(50);
	ASSERT_EQ(aio_cancel(p[0], NULL), AIO_CANCELED);
	for (i = 0; i < N; i++)
		ASSERT_EQ(aio_error(&cb[i]), ECANCELED);
}

/*
 * An aiocb that says EINPROGRESS but is no request of the process (a copy
 * of one in flight): -1 EINVAL, as glibc (review 24 AIO probe finding 4:
 * AIO_ALLDONE, while aio_error() on it said EINPROGRESS).  The request
 * itself is handled as usual.
 */
TEST(cancel_of_a_copy_of_a_request_is_einval)
{
	char buf[8];
	struct aiocb cb, copy;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	copy = cb;
	errno = 0;
	EXPECT_EQ(aio_cancel(p[0], &copy), -1);
	EXPECT_EQ(errno, EINVAL);
	/* a read under way: glibc's threads cannot cancel it, nor can we */
	if (aio_cancel(p[0], &cb) == AIO_CANCELED) {
		EXPECT_EQ(aio_error(&cb), ECANCELED);
	} else {
		ASSERT_EQ(write(p[1], "x", 1), 1);
		ASSERT_EQ(aiot_wait(&cb, 10), 0);
		EXPECT_EQ(aio_return(&cb), 1);
	}
	close(p[0]);
	close(p[1]);
}

TEST(alldone)
{
	char buf[8];
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_cancel(fd, &cb), AIO_ALLDONE);
	ASSERT_EQ(aio_cancel(fd, NULL), AIO_ALLDONE);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 8);
}

TEST(bad_fd)
{
	ASSERT_EQ(aio_cancel(999, NULL), -1);
	ASSERT_EQ(errno, EBADF);
}

/*
 * Requests beyond the threads (aio_init()'s aio_threads, 3 here): reads of
 * eight pipes, each on its own descriptor, so three hold a thread each and
 * five wait for one.  glibc cancels the five (they wait in its queue:
 * AIO_CANCELED, ECANCELED, aio_return -1) and leaves the three running
 * (AIO_NOTCANCELED); the shim's five are chains the engine queued, which
 * it must cancel as well (before, AIO_NOTCANCELED for all eight).  Which
 * three run is the implementation's (glibc, and the shim on both
 * backends: the first three), so the test counts.  A cancelled request never reads: a byte written to
 * its pipe afterwards stays there; a running one completes with its byte.
 */
#define BEYOND_THREADS	3
#define BEYOND_PIPES	8

TEST(cancel_of_requests_waiting_for_a_thread)
{
	int p[BEYOND_PIPES][2], i, r, canceled = 0, running = 0;
	bool ran[BEYOND_PIPES];
	struct aiocb cb[BEYOND_PIPES];
	char buf[BEYOND_PIPES][4];
	struct aioinit ai;

	memset(&ai, 0, sizeof(ai));
	ai.aio_threads = BEYOND_THREADS;
	ai.aio_num = 32;
	aio_init(&ai);
	for (i = 0; i < BEYOND_PIPES; i++) {
		ASSERT_EQ(pipe(p[i]), 0);
		aiot_cb(&cb[i], p[i][0], buf[i], 1, 0);
		alarm(30);
		ASSERT_EQ(aio_read(&cb[i]), 0);
		alarm(0);
	}
	tap_diag("%d threads in their read",
		 tap_threads_in("pipe_read", BEYOND_THREADS, 5));
	aiot_msleep(100);
	for (i = BEYOND_PIPES - 1; i >= 0; i--) {
		/* one by descriptor (aiocbp NULL), the others by aiocb */
		r = aio_cancel(p[i][0], i == BEYOND_THREADS ? NULL : &cb[i]);
		ran[i] = r == AIO_NOTCANCELED;
		if (ran[i]) {
			running++;
			EXPECT_EQ(aio_error(&cb[i]), EINPROGRESS);
			continue;
		}
		ASSERT_EQ(r, AIO_CANCELED);
		canceled++;
		EXPECT_EQ(aio_error(&cb[i]), ECANCELED);
		EXPECT_EQ(aio_return(&cb[i]), -1);
		EXPECT_EQ(aio_cancel(p[i][0], &cb[i]), AIO_ALLDONE);
	}
	/*
	 * At most aio_threads run; every other one is cancelled.  Fewer may
	 * have started with glibc, whose threads may not have run yet.
	 * (With SYSLET_AIO_INLINE=0, the shim's reads of a pipe used to fail
	 * with ESPIPE in the engine and wait in the ring, not started, until
	 * this aio_cancel(): basic.c stream_read_starts_without_further_call.)
	 */
	if (running < BEYOND_THREADS)
		tap_diag("only %d of %d reads had started", running,
			 BEYOND_THREADS);
	EXPECT_LE(running, BEYOND_THREADS);
	EXPECT_GE(canceled, BEYOND_PIPES - BEYOND_THREADS);
	/* the running ones run on, and complete with their data */
	for (i = 0; i < BEYOND_PIPES; i++) {
		if (!ran[i])
			continue;
		ASSERT_EQ(write(p[i][1], &"abcdefgh"[i], 1), 1);
		ASSERT_EQ(aiot_wait(&cb[i], 30), 0);
		EXPECT_EQ(aio_return(&cb[i]), 1);
		EXPECT_EQ(buf[i][0], "abcdefgh"[i]);
	}
	/* the cancelled ones never read: a byte written now stays there */
	for (i = 0; i < BEYOND_PIPES; i++)
		if (!ran[i])
			ASSERT_EQ(write(p[i][1], "c", 1), 1);
	aiot_msleep(100);
	for (i = 0; i < BEYOND_PIPES; i++) {
		char c = 0;

		if (!ran[i]) {
			ASSERT_EQ(fcntl(p[i][0], F_SETFL, O_NONBLOCK), 0);
			EXPECT_EQ(read(p[i][0], &c, 1), 1);
			EXPECT_EQ(c, 'c');
		}
		close(p[i][0]);
		close(p[i][1]);
	}
}

TEST(cancel_fires_notification)
{
	char b1[8], b2[8];
	struct aiocb c1, c2;
	struct sigaction sa;
	int p[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_EQ(sigaction(SIGRTMIN + 2, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, sizeof(b1), 0);
	aiot_cb(&c2, p[0], b2, sizeof(b2), 0);
	c2.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	c2.aio_sigevent.sigev_signo = SIGRTMIN + 2;
	c2.aio_sigevent.sigev_value.sival_ptr = &c2;
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	aiot_msleep(50);
	ASSERT_EQ(got_sig, 0);
	ASSERT_EQ(aio_cancel(p[0], &c2), AIO_CANCELED);
	for (int i = 0; i < 200 && !got_sig; i++)
		aiot_msleep(10);
	ASSERT_EQ(got_sig, 1);
	ASSERT_TRUE(got_ptr == (void *)&c2);
	ASSERT_EQ(aio_error(&c2), ECANCELED);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(aiot_wait(&c1, 10), 0);
}

/*
 * A running request the engine cannot interrupt: a read of a pipe whose
 * mutex is held by a splice() from that pipe into a full datagram socket
 * (the splice sleeps in the socket's send with the pipe locked, so the
 * read sleeps uninterruptibly on the pipe's mutex; a stream socket would
 * not do on 6.1, whose sendpage appends to the peer's last skb).  aio_cancel must say
 * AIO_NOTCANCELED, and the request must still complete once the splice
 * gives the pipe back.  The shim's wait for a cancelled request is cut
 * to 300 ms ($SYSLET_AIO_CANCEL_WAIT_MS) to keep this short.
 */
struct splicer {
	int from, to;
	ssize_t ret;
	int done;		/* atomic */
};

static void *do_splice(void *arg)
{
	struct splicer *sp = arg;

	sp->ret = splice(sp->from, NULL, sp->to, NULL, 4096, 0);
	__atomic_store_n(&sp->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(notcanceled_while_uninterruptible)
{
	static char sink[1 << 20];
	char buf[8], block[4096];
	struct aiocb cb;
	struct splicer sp;
	pthread_t t;
	int p[2], sv[2], r, e;

	if (aiot_shim())
		cancel_running();
	setenv("SYSLET_AIO_CANCEL_WAIT_MS", "100", 1);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	/* fill the socket */
	ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	memset(block, 'b', sizeof(block));
	while (write(sv[0], block, sizeof(block)) > 0)
		;
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(fcntl(sv[0], F_SETFL, 0), 0);
	ASSERT_EQ(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	/* data in the pipe for splice to take, then splice holds the pipe */
	ASSERT_EQ(write(p[1], block, sizeof(block)), (ssize_t)sizeof(block));
	sp.from = p[0];
	sp.to = sv[0];
	sp.done = 0;
	ASSERT_EQ(pthread_create(&t, NULL, do_splice, &sp), 0);
	aiot_msleep(100);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(100);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	/*
	 * Where the shim tried nothing in the caller (SYSLET_AIO_INLINE=0),
	 * the positioned read failed with ESPIPE in the engine and the
	 * aio_error() above, reaping that, restarted it as read(): give that
	 * one time to reach the pipe's mutex too.
	 */
	aiot_msleep(100);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	r = aio_cancel(p[0], &cb);
	/* the splice still held the pipe */
	ASSERT_EQ(__atomic_load_n(&sp.done, __ATOMIC_ACQUIRE), 0);
	ASSERT_EQ(r, AIO_NOTCANCELED);
	/* let the splice finish, then give the read something to read */
	while (!__atomic_load_n(&sp.done, __ATOMIC_ACQUIRE)) {
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
		aiot_msleep(10);
	}
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(write(p[1], "late", 4), 4);
	ASSERT_EQ(aiot_wait(&cb, 20), 0);
	/* it ends one way or the other, with a definite status */
	e = aio_error(&cb);
	ASSERT_TRUE(e == 0 || e == ECANCELED);
}

static void nop_handler(int sig)
{
	(void)sig;
}

/*
 * Emulated backend: aio_cancel(fd, NULL) on requests whose calls do not
 * end on the library's signal (re-installed with SA_RESTART, which a
 * program must not do: it stands in for a disk wait) takes one deadline,
 * SYSLET_AIO_CANCEL_WAIT_MS, for the whole call.  Before: each running
 * request's engine cancel resent the signal for ~0.8 s before that wait
 * began (N x 0.8 s + the wait; here 1 running, the socket's others
 * queued behind it: 0.9 s for a 100 ms deadline).
 */
TEST(cancel_of_stuck_requests_has_one_deadline)
{
	struct sigaction sa = { .sa_handler = nop_handler,
				.sa_flags = SA_RESTART };
	static char big[4 << 20];
	struct aiocb w, cb[6];
	uint64_t v[6];
	char tmp[4];
	long long t0, took;
	struct timespec ts;
	int p[2], sv[2], i, r;

	cancel_running();
	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+9", 1);
	setenv("SYSLET_AIO_CANCEL_WAIT_MS", "100", 1);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	aiot_cb(&w, p[0], tmp, 1, 0);
	ASSERT_EQ(aio_read(&w), 0);	/* the library takes its signal */
	ASSERT_EQ(aiot_wait(&w, 10), 0);
	if (aiot_stats().backend != 2)
		SKIP("the emulated backend's cancel signal");
	ASSERT_EQ(sigaction(SIGRTMIN + 9, &sa, NULL), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; i < 6; i++) {
		if (i & 1) {
			aiot_cb(&cb[i], sv[0], big, sizeof(big), 0);
			ASSERT_EQ(aio_write(&cb[i]), 0);
		} else {
			aiot_cb(&cb[i], sv[0], &v[i], 8, 0);
			ASSERT_EQ(aio_read(&cb[i]), 0);
		}
	}
	aiot_msleep(100);
	for (i = 0; i < 6; i++)
		aio_error(&cb[i]);
	aiot_msleep(200);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	r = aio_cancel(sv[0], NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	took = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0;
	printf("# aio_cancel of 6 stuck requests took %lld ms\n", took);
	EXPECT_EQ(r, AIO_NOTCANCELED);
	/* 100 ms, and room for a loaded machine; the old kicks alone
	 * slept 0.8 s per running request */
	EXPECT_LT(took, 750);
	/* the stuck requests stay: the test's process ends with them */
}

/* Cancelling a request the engine runs: ECANCELED, and its signal. */
TEST(cancel_running_fires_notification)
{
	char buf[8];
	struct aiocb cb;
	struct sigaction sa;
	int p[2];

	cancel_running();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_EQ(sigaction(SIGRTMIN + 2, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGRTMIN + 2;
	cb.aio_sigevent.sigev_value.sival_ptr = &cb;
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(50);
	ASSERT_EQ(got_sig, 0);
	ASSERT_EQ(aio_cancel(p[0], &cb), AIO_CANCELED);
	ASSERT_EQ(aio_error(&cb), ECANCELED);
	for (int i = 0; i < 200 && !got_sig; i++)
		aiot_msleep(10);
	ASSERT_EQ(got_sig, 1);
	ASSERT_TRUE(got_ptr == (void *)&cb);
	ASSERT_EQ(aio_return(&cb), -1);
}

/*
 * aio_cancel of a running request while another thread waits for it and
 * frees its aiocb as soon as it is done: aio_cancel must not look at the
 * aiocb once the request is over (ASan: the -san build widens the moment
 * between the engine's cancel and the wait).
 */
static void *wait_and_free(void *arg)
{
	struct aiocb *cb = arg;
	const struct aiocb *l[1] = { cb };

	while (aio_error(cb) == EINPROGRESS)
		aio_suspend(l, 1, NULL);
	memset(cb, 0xee, sizeof(*cb));
	free(cb);
	return NULL;
}

TEST(cancel_while_another_thread_frees)
{
	static char buf[8];
	struct aiocb *cb = malloc(sizeof(*cb));
	pthread_t t;
	int p[2], r;

	if (aiot_shim())
		cancel_running();
	ASSERT_TRUE(cb != NULL);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(pthread_create(&t, NULL, wait_and_free, cb), 0);
	aiot_msleep(20);
	r = aio_cancel(p[0], cb);
	/* cb may be gone now */
	if (aiot_shim())
		ASSERT_EQ(r, AIO_CANCELED);
	else
		ASSERT_EQ(r, AIO_NOTCANCELED);	/* glibc: runs on */
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(pthread_join(t, NULL), 0);
}

/*
 * aio_cancel(fd, NULL) at the moment a completion has just made the next
 * request of the descriptor ready (it is RUNNING, on the completing
 * thread's private list, not yet started; the -san build widens that
 * moment): the cancel must not link that request into a list of its own,
 * which made the completing thread start the cancel's other requests a
 * second time (here a socket write: reported cancelled, its data went
 * out all the same).
 */
struct peer {
	int fd;
};

static void *poke(void *arg)
{
	struct peer *pe = arg;

	aiot_msleep(30);
	if (write(pe->fd, "x", 1) != 1)
		abort();
	return NULL;
}

TEST(cancel_while_next_request_starts)
{
	enum { WLEN = 65536 };
	static char wbuf[WLEN], sink[1 << 16];
	char r1[1], r2[1];
	struct aiocb w, c1, c2;
	struct peer pe;
	pthread_t t;
	long filled = 0, got = 0;
	ssize_t n;
	int sv[2], r, idle;

	cancel_running();
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	memset(wbuf, 'w', sizeof(wbuf));
	while ((n = write(sv[0], wbuf, 4096)) > 0)
		filled += n;
	ASSERT_EQ(fcntl(sv[0], F_SETFL, 0), 0);
	aiot_cb(&w, sv[0], wbuf, WLEN, 0);
	aiot_cb(&c1, sv[0], r1, 1, 0);
	aiot_cb(&c2, sv[0], r2, 1, 0);
	ASSERT_EQ(aio_read(&c1), 0);		/* blocks: nothing to read */
	ASSERT_EQ(aio_read(&c2), 0);		/* waits behind c1 */
	ASSERT_EQ(aio_write(&w), 0);		/* blocks: the socket is full */
	aiot_msleep(20);
	pe.fd = sv[1];
	ASSERT_EQ(pthread_create(&t, NULL, poke, &pe), 0);
	while (aio_error(&c1) == EINPROGRESS)
		;				/* c1 done: c2 being started */
	r = aio_cancel(sv[0], NULL);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_TRUE(r == AIO_CANCELED || r == AIO_NOTCANCELED);
	ASSERT_EQ(aiot_wait(&w, 10), 0);
	ASSERT_EQ(aio_return(&c1), 1);
	/* everything the peer gets, until it has been quiet for 300 ms */
	ASSERT_EQ(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	for (idle = 0; idle < 30;) {
		n = read(sv[1], sink, sizeof(sink));
		if (n > 0) {
			got += n;
			idle = 0;
		} else {
			idle++;
			aiot_msleep(10);
		}
	}
	n = aio_return(&w);
	tap_diag("filled %ld, write %zd, peer got %ld", filled, n, got);
	/* what the peer got is what the writes say they wrote */
	ASSERT_EQ(got, filled + (n > 0 ? n : 0));
	if (aio_error(&c2) == EINPROGRESS) {
		ASSERT_EQ(write(sv[1], "y", 1), 1);
		ASSERT_EQ(aiot_wait(&c2, 10), 0);
	}
}

TEST(fd_mismatch)
{
	char buf[8];
	struct aiocb cb;
	int p[2], fd = aiot_file(10);

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aio_cancel(fd, &cb), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
}

TAP_MAIN
