// SPDX-License-Identifier: GPL-2.0
/*
 * notify.c - completion notification: SIGEV_SIGNAL (si_code SI_ASYNCIO,
 * si_value, the result already visible in the handler), SIGEV_THREAD (the
 * function runs in another thread with the value, with or without
 * attributes), SIGEV_NONE (nothing), and notification of a request that
 * completes while the program never calls into AIO again.
 */
#include <sys/syscall.h>

#include "aio-test.h"

static volatile sig_atomic_t nsig, code_ok, err_in_handler = -1;
static void *volatile sigptr;
static struct aiocb *volatile watch;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	nsig++;
	code_ok = si->si_code == SI_ASYNCIO && si->si_pid == getpid();
	sigptr = si->si_value.sival_ptr;
	if (watch)
		err_in_handler = aio_error(watch);
}

static void install(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(sig, &sa, NULL);
}

static void wait_for(volatile sig_atomic_t *v, int n)
{
	for (int i = 0; i < 500 && *v < n; i++)
		aiot_msleep(10);
}

TEST(sigev_signal_file)
{
	char buf[64];
	struct aiocb cb;
	int fd = aiot_file(100);

	install(SIGUSR1);
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGUSR1;
	cb.aio_sigevent.sigev_value.sival_ptr = &cb;
	watch = &cb;
	ASSERT_EQ(aio_read(&cb), 0);
	wait_for(&nsig, 1);
	ASSERT_EQ(nsig, 1);
	ASSERT_TRUE(code_ok);
	ASSERT_TRUE(sigptr == (void *)&cb);
	ASSERT_EQ(err_in_handler, 0);	/* the result is visible by then */
	ASSERT_EQ(aio_return(&cb), 64);
}

TEST(sigev_signal_async_no_polling)
{
	char buf[8];
	struct aiocb cb;
	sigset_t set, old;
	siginfo_t si;
	struct timespec ts = { 10, 0 };
	int p[2];

	/* take the signal synchronously, never calling aio_* meanwhile */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &old), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGRTMIN + 1;
	cb.aio_sigevent.sigev_value.sival_int = 4242;
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(50);
	ASSERT_EQ(write(p[1], "abcd", 4), 4);
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 1);
	ASSERT_EQ(si.si_code, SI_ASYNCIO);
	ASSERT_EQ(si.si_value.sival_int, 4242);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 4);
}

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond = PTHREAD_COND_INITIALIZER;
static int tcalls, terr = -1;
static void *tval;
static pthread_t tself;
static size_t tstack;
static int tdetach = -1;

static void thread_fn(union sigval v)
{
	pthread_attr_t a;

	pthread_mutex_lock(&tlock);
	tcalls++;
	tval = v.sival_ptr;
	tself = pthread_self();
	terr = aio_error(v.sival_ptr);
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &tstack);
		pthread_attr_getdetachstate(&a, &tdetach);
		pthread_attr_destroy(&a);
	}
	pthread_cond_signal(&tcond);
	pthread_mutex_unlock(&tlock);
}

static int wait_thread_calls(int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&tlock);
	while (tcalls < n)
		if (pthread_cond_timedwait(&tcond, &tlock, &ts))
			break;
	pthread_mutex_unlock(&tlock);
	return tcalls;
}

/*
 * The textbook sigwaitinfo() program: SIGRTMIN+3 blocked and left at
 * SIG_DFL, each completion's signal collected with sigwaitinfo().  The
 * shim's library must not take that signal for itself (before: the
 * emulated backend did, the process-directed completion signal landed on
 * a worker and its handler ran the default action: the process died).
 */
TEST(sigev_signal_blocked_collected_by_sigwaitinfo)
{
	static char buf[4096];
	struct timespec ts = { 10, 0 };
	int sig = SIGRTMIN + 3, fd = aiot_file(0);
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 4; i++) {
		const struct aiocb *l[1];
		struct aiocb cb;

		aiot_cb(&cb, fd, buf, sizeof(buf), (off_t)i * 4096);
		cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cb.aio_sigevent.sigev_signo = sig;
		cb.aio_sigevent.sigev_value.sival_int = i;
		ASSERT_EQ(aio_write(&cb), 0);
		l[0] = &cb;
		ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
		aiot_msleep(50);	/* for the signal to land somewhere */
		ASSERT_EQ(sigtimedwait(&set, &si, &ts), sig);
		EXPECT_EQ(si.si_value.sival_int, i);
		EXPECT_EQ(si.si_code, SI_ASYNCIO);
		EXPECT_EQ(aio_return(&cb), 4096);
	}
	close(fd);
}

TEST(sigev_thread)
{
	char buf[8];
	struct aiocb cb;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = thread_fn;
	cb.aio_sigevent.sigev_value.sival_ptr = &cb;
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(50);
	ASSERT_EQ(tcalls, 0);
	ASSERT_EQ(write(p[1], "xy", 2), 2);
	ASSERT_EQ(wait_thread_calls(1), 1);
	ASSERT_TRUE(tval == (void *)&cb);
	ASSERT_EQ(terr, 0);
	ASSERT_FALSE(pthread_equal(tself, pthread_self()));
	/* no attributes: a detached thread, as glibc's */
	ASSERT_EQ(tdetach, PTHREAD_CREATE_DETACHED);
	ASSERT_EQ(aio_return(&cb), 2);
	aiot_msleep(50);
	ASSERT_EQ(tcalls, 1);
}

TEST(sigev_thread_attributes)
{
	char buf[8];
	struct aiocb cb;
	pthread_attr_t attr;
	int fd = aiot_file(100);

	ASSERT_EQ(pthread_attr_init(&attr), 0);
	ASSERT_EQ(pthread_attr_setstacksize(&attr, 1 << 20), 0);
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = thread_fn;
	cb.aio_sigevent.sigev_notify_attributes = &attr;
	cb.aio_sigevent.sigev_value.sival_ptr = &cb;
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(wait_thread_calls(1), 1);
	ASSERT_EQ(terr, 0);
	ASSERT_EQ(tstack, 1 << 20);
	/*
	 * The attributes as given, joinable included (glibc's
	 * __aio_notify_only() passes them as they are): the program may join
	 * the thread it learnt in the function.  The shim detached it before.
	 */
	ASSERT_EQ(tdetach, PTHREAD_CREATE_JOINABLE);
	ASSERT_EQ(pthread_join(tself, NULL), 0);
	ASSERT_EQ(aio_return(&cb), 8);
	pthread_attr_destroy(&attr);
}

TEST(sigev_none_sends_nothing)
{
	char buf[8];
	struct aiocb cb;
	int fd = aiot_file(100);

	nsig = 0;
	install(SIGUSR1);
	install(SIGUSR2);
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_signo = SIGUSR1;	/* ignored with SIGEV_NONE */
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	aiot_msleep(50);
	ASSERT_EQ(nsig, 0);
	ASSERT_EQ(aio_return(&cb), 8);
}

TEST(many_signals_each_delivered)
{
	enum { N = 20 };
	char buf[N][8];
	struct aiocb cb[N];
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 10, 0 };
	int fd = aiot_file(1000), i, seen[N] = { 0 };

	/*
	 * queued realtime signals: one per request, each with its own value
	 * (not SIGRTMIN + 3: libsyslet's emulated backend owns that one)
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 8);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	for (i = 0; i < N; i++) {
		aiot_cb(&cb[i], fd, buf[i], 8, i * 8);
		cb[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cb[i].aio_sigevent.sigev_signo = SIGRTMIN + 8;
		cb[i].aio_sigevent.sigev_value.sival_int = i;
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 8);
		ASSERT_GE(si.si_value.sival_int, 0);
		ASSERT_LT(si.si_value.sival_int, N);
		seen[si.si_value.sival_int]++;
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(seen[i], 1);
		ASSERT_EQ(aio_return(&cb[i]), 8);
	}
}

/*
 * As glibc: a number that is no signal is accepted, nothing is sent, and
 * the request's status says the signal could not be queued.
 */
TEST(bad_signal_number)
{
	char buf[8];
	struct aiocb cb;
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = 1000;
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_error(&cb), EINVAL);
	ASSERT_EQ(aio_return(&cb), -1);
}

TAP_MAIN
