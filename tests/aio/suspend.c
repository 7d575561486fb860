// SPDX-License-Identifier: GPL-2.0
/*
 * suspend.c - aio_suspend: relative timeout (EAGAIN), polling with a zero
 * timeout, NULL entries, wake-up on any one completion, EINTR on a signal
 * (with and without SA_RESTART), and several threads waiting at once.
 */
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "aio-test.h"
#include "../procstatus.h"

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(timeout_eagain)
{
	char buf[8];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct timespec ts = { 0, 200 * 1000000L };
	double t0;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	t0 = aiot_now();
	ASSERT_EQ(aio_suspend(l, 1, &ts), -1);
	ASSERT_EQ(errno, EAGAIN);
	/* relative: about 200 ms, not returned at once nor much later */
	ASSERT_GE((aiot_now() - t0) * 1000, 190);
	ASSERT_LT((aiot_now() - t0) * 1000, 5000);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
}

/*
 * Before any request, with only NULL entries: nothing to wait for.  glibc
 * returns 0 at once, and so does the shim now (it waited out the timeout;
 * before that it crashed: its engine did not exist yet).  Either is a
 * reading of POSIX; what matters is a clean answer.
 */
TEST(only_null_entries_before_any_request)
{
	const struct aiocb *l[2] = { NULL, NULL };
	struct timespec ts = { 0, 100 * 1000000L };
	double t0 = aiot_now();
	int r = aio_suspend(l, 2, &ts);

	if (r == 0)
		return;
	ASSERT_EQ(r, -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_GE((aiot_now() - t0) * 1000, 90);
}

TEST(zero_timeout_polls)
{
	char buf[8];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct timespec ts = { 0, 0 };
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aio_suspend(l, 1, &ts), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(write(p[1], "z", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_suspend(l, 1, &ts), 0);
	ASSERT_EQ(aio_return(&cb), 1);
}

TEST(already_done_returns_at_once)
{
	char buf[8];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	/* and again: a completed entry keeps satisfying aio_suspend */
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(aio_return(&cb), 8);
}

struct delayed_write {
	int fd;
	long ms;
};

static void *writer(void *arg)
{
	struct delayed_write *dw = arg;

	aiot_msleep(dw->ms);
	if (write(dw->fd, "w", 1) != 1)
		abort();
	return NULL;
}

TEST(null_entries_ignored_and_any_wakes)
{
	char b1[8], b2[8];
	struct aiocb c1, c2;
	const struct aiocb *l[4];
	struct delayed_write dw;
	pthread_t t;
	int p1[2], p2[2];

	ASSERT_EQ(pipe(p1), 0);
	ASSERT_EQ(pipe(p2), 0);
	aiot_cb(&c1, p1[0], b1, sizeof(b1), 0);
	aiot_cb(&c2, p2[0], b2, sizeof(b2), 0);
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	l[0] = NULL;
	l[1] = &c1;
	l[2] = NULL;
	l[3] = &c2;
	dw.fd = p2[1];
	dw.ms = 150;
	ASSERT_EQ(pthread_create(&t, NULL, writer, &dw), 0);
	ASSERT_EQ(aio_suspend(l, 4, NULL), 0);
	ASSERT_EQ(aio_error(&c2), 0);
	ASSERT_EQ(aio_error(&c1), EINPROGRESS);
	pthread_join(t, NULL);
	ASSERT_EQ(aio_return(&c2), 1);
}

struct poker {
	pthread_t target;
	int sig;
	long ms;
	int n;
	atomic_int stop;
};

/*
 * Signals @target every @ms, @n times or until @stop.  A signal that
 * lands just before the target blocks is handled and the wait goes on
 * (no implementation can see it): the next one interrupts it.
 */
static void *poke(void *arg)
{
	struct poker *pk = arg;

	for (int i = 0; i < pk->n && !atomic_load(&pk->stop); i++) {
		aiot_msleep(pk->ms);
		if (!atomic_load(&pk->stop))
			pthread_kill(pk->target, pk->sig);
	}
	return NULL;
}

/*
 * A read of an empty pipe (p) in flight, and *t sending this thread
 * SIGUSR1 (a handler installed with @flags) every pk->ms ms, pk->n times.
 */
static void poked_read(struct aiocb *cb, char *buf, size_t len, int p[2],
		       int flags, struct poker *pk, pthread_t *t)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(cb, p[0], buf, len, 0);
	ASSERT_EQ(aio_read(cb), 0);
	pk->target = pthread_self();
	pk->sig = SIGUSR1;
	atomic_init(&pk->stop, 0);
	ASSERT_EQ(pthread_create(t, NULL, poke, pk), 0);
}

static void eintr(int flags, int untimed)
{
	char buf[8];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct timespec ts = { 5, 0 };
	struct poker pk = { .ms = 200, .n = 20 };
	pthread_t t;
	double t0;
	int p[2];

	poked_read(&cb, buf, sizeof(buf), p, flags, &pk, &t);
	t0 = aiot_now();
	ASSERT_EQ(aio_suspend(l, 1, &ts), -1);
	ASSERT_EQ(errno, EINTR);
	ASSERT_LT(aiot_now() - t0, 3);
	if (untimed) {
		ASSERT_EQ(aio_suspend(l, 1, NULL), -1);
		ASSERT_EQ(errno, EINTR);
		ASSERT_LT(aiot_now() - t0, 3);
	}
	atomic_store(&pk.stop, 1);
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	pthread_join(t, NULL);
}

TEST(eintr_on_signal)
{
	eintr(0, 1);
}

TEST(eintr_on_signal_sa_restart)
{
	eintr(SA_RESTART, 0);
}

struct ignored_poke {
	pthread_t target;
	atomic_int in;
};

/*
 * 1 ms after the target said it waits: one SIGUSR2 and 100 instances of
 * SIGRTMIN + 4 (a real-time signal is queued once per send), all set to
 * SIG_IGN.
 */
static void *poke_ignored(void *arg)
{
	struct ignored_poke *ip = arg;
	union sigval v = { .sival_int = 0 };

	while (!atomic_load(&ip->in))
		sched_yield();
	aiot_msleep(1);
	pthread_kill(ip->target, SIGUSR2);
	for (int i = 0; i < 100; i++)
		pthread_sigqueue(ip->target, SIGRTMIN + 4, v);
	return NULL;
}

/*
 * A signal set to SIG_IGN does not end a timed wait: glibc's waiter
 * never sees it (the kernel discards it at once).  The shim's wait
 * blocks signals outside its sleep, so one sent meanwhile was queued,
 * and the sleep, unblocking it, ended with EINTR (a known difference
 * until the wait dropped such signals before it sleeps; more than 64
 * instances of a real-time one did still, while the drop had a cap: a
 * review).  The race
 * build's 2 ms windows before the sleep are where the signal lands
 * (guest-race/suspend-ignored in tests/aio/run.sh); elsewhere it mostly
 * lands in the sleep, and this is a check against glibc.
 */
TEST(timed_wait_drops_an_ignored_signal)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	struct timespec ts = { 0, 150 * 1000000L };
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	char buf[8];
	int p[2], i;

	ASSERT_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
	ASSERT_EQ(sigaction(SIGRTMIN + 4, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	for (i = 0; i < 5; i++) {
		struct ignored_poke ip = { .target = pthread_self() };
		pthread_t t;
		double t0;
		int r, e;

		atomic_init(&ip.in, 0);
		ASSERT_EQ(pthread_create(&t, NULL, poke_ignored, &ip), 0);
		t0 = aiot_now();
		atomic_store(&ip.in, 1);
		r = aio_suspend(l, 1, &ts);
		e = errno;
		t0 = aiot_now() - t0;
		pthread_join(t, NULL);
		if (r != -1 || e != EAGAIN)
			tap_diag("round %d: %d, %s after %.1f ms", i, r,
				 strerror(e), t0 * 1e3);
		ASSERT_EQ(r, -1);
		ASSERT_EQ(e, EAGAIN);
		ASSERT_GE(t0 * 1000, 140);
	}
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	aiot_wait(&cb, 5);
	ASSERT_EQ(aio_return(&cb), 1);
	close(p[0]);
	close(p[1]);
}

static void *write_later(void *arg)
{
	int fd = *(int *)arg;

	aiot_msleep(600);
	if (write(fd, "x", 1) != 1)
		abort();
	return NULL;
}

/* Threads of this process whose name (comm) starts with @name. */
static int threads_named(const char *name)
{
	char path[300], comm[32];
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	while (d && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, name, strlen(name)))
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * As glibc: an untimed wait goes on after an SA_RESTART handler (a timed
 * one fails with EINTR, eintr_on_signal_sa_restart).  LTP's aio_suspend
 * 6-1 waits, untimed, for one of ten requests whose SA_RESTART signals
 * arrive meanwhile, and fails if the wait ends before its request did.
 * On the kernel backend the shim's wait is in the engine itself
 * (async_wait() with SYSLET_WAIT_RESTART): no reaper thread is made for
 * it, whose hop per completion made the shim collapse on a busy host
 * (docs/aio.md, "Reaping"); before, aio_suspend() started the reaper.
 */
TEST(untimed_wait_goes_on_after_sa_restart_handler)
{
	char buf[8];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct poker pk = { .ms = 50, .n = 8 };
	pthread_t t, w;
	int p[2];

	poked_read(&cb, buf, sizeof(buf), p, SA_RESTART, &pk, &t);
	ASSERT_EQ(pthread_create(&w, NULL, write_later, &p[1]), 0);
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 1);
	atomic_store(&pk.stop, 1);
	pthread_join(t, NULL);
	pthread_join(w, NULL);
	if (aiot_shim() && aiot_stats().backend == 1)
		EXPECT_EQ(threads_named("aio-reaper"), 0);
}

/*
 * lio_listio(LIO_WAIT) of a pipe read leads in the engine too: no reaper,
 * and it returns once the read completes (glibc: the same result).
 */
TEST(lio_wait_of_a_read_makes_no_reaper)
{
	char buf[8];
	struct aiocb cb, *l[1] = { &cb };
	pthread_t w;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(pthread_create(&w, NULL, write_later, &p[1]), 0);
	ASSERT_EQ(lio_listio(LIO_WAIT, l, 1, NULL), 0);
	ASSERT_EQ(aio_error(&cb), 0);
	ASSERT_EQ(aio_return(&cb), 1);
	pthread_join(w, NULL);
	if (aiot_shim() && aiot_stats().backend == 1)
		EXPECT_EQ(threads_named("aio-reaper"), 0);
	close(p[0]);
	close(p[1]);
}

static void *cancel_later(void *arg)
{
	struct aiocb *cb = arg;

	aiot_msleep(200);
	return (void *)(intptr_t)aio_cancel(cb->aio_fildes, cb);
}

/*
 * A request that completes without the engine's ring (a read queued in
 * the shim behind another read of its pipe, cancelled by another thread)
 * ends an untimed aio_suspend() waiting for it, as glibc's.  (The queued
 * read has made the shim start its reaper, so the wait is on saio.seq.)
 */
TEST(untimed_wait_ends_for_a_request_completed_outside_the_ring)
{
	char b1[4], b2[4];
	struct aiocb c1, c2;
	const struct aiocb *l[1] = { &c2 };
	pthread_t t;
	void *r;
	double t0;
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, sizeof(b1), 0);
	aiot_cb(&c2, p[0], b2, sizeof(b2), 0);
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	ASSERT_EQ(pthread_create(&t, NULL, cancel_later, &c2), 0);
	t0 = aiot_now();
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	EXPECT_LT(aiot_now() - t0, 3);
	pthread_join(t, &r);
	EXPECT_EQ((intptr_t)r, AIO_CANCELED);
	EXPECT_EQ(aio_error(&c2), ECANCELED);
	EXPECT_EQ(aio_return(&c2), -1);
	EXPECT_EQ(aio_error(&c1), EINPROGRESS);
	ASSERT_EQ(write(p[1], "abcd", 4), 4);
	l[0] = &c1;
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	EXPECT_EQ(aio_return(&c1), 4);
	close(p[0]);
	close(p[1]);
}

static int hp[2];
static struct aiocb hcb;

/* Completes hcb (writes its pipe) and reaps it, with aio_error(). */
static void complete_and_reap(int sig)
{
	(void)sig;
	if (write(hp[1], "h", 1) != 1)
		abort();
	while (aio_error(&hcb) == EINPROGRESS)
		;
}

static void *kick_once(void *arg)
{
	aiot_msleep(200);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

/*
 * An SA_RESTART handler interrupts a thread's untimed aio_suspend(),
 * completes the request it waits for and reaps it (aio_error() is
 * async-signal-safe): the restarted wait must end, as glibc's does (its
 * futex word changed).  On the kernel backend the thread leads and sleeps
 * in the engine, whose ring the handler emptied: the wait ends because
 * the ring's head moved (SYSLET_WAIT_HEAD), not because something is in
 * it.  A review found this hang in a version that waited for the ring to
 * be non-empty.
 */
TEST(untimed_wait_ends_when_its_handler_reaped_the_request)
{
	const struct aiocb *l[1] = { &hcb };
	struct sigaction sa;
	pthread_t self = pthread_self(), k;
	char buf[4];
	double t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = complete_and_reap;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(hp), 0);
	aiot_cb(&hcb, hp[0], buf, 1, 0);
	ASSERT_EQ(aio_read(&hcb), 0);
	ASSERT_EQ(pthread_create(&k, NULL, kick_once, &self), 0);
	t0 = aiot_now();
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	EXPECT_LT(aiot_now() - t0, 3);
	pthread_join(k, NULL);
	EXPECT_EQ(aio_return(&hcb), 1);
	close(hp[0]);
	close(hp[1]);
}

struct pipe_waiter {
	int fd[2];
	struct aiocb cb;
	char buf[4];
	atomic_int round;	/* the round its read is in flight for */
	atomic_int done;	/* the last round its wait ended */
};

/* Waits, untimed, for each round's read of its pipe. */
static void *wait_rounds(void *arg)
{
	struct pipe_waiter *w = arg;
	const struct aiocb *l[1] = { &w->cb };
	int r;

	for (;;) {
		while (atomic_load(&w->round) == atomic_load(&w->done))
			sched_yield();
		r = atomic_load(&w->round);
		if (r < 0)
			return NULL;
		if (aio_suspend(l, 1, NULL) || aio_error(&w->cb) ||
		    aio_return(&w->cb) != 1)
			abort();
		atomic_store(&w->done, r);
	}
}

/*
 * Two threads wait untimed at once, each for a read of its own pipe,
 * written in either order: on the kernel backend both wait in the engine
 * (every completion wakes both, the first to reap reaps for both), and no
 * reaper thread is made (it was, by the second waiter, and then every
 * wait paid its hop: fio's posixaio engine with two jobs collapsed on a
 * busy host).  Every wait must end: 300 rounds, a lost wake-up hangs the
 * test.
 */
TEST(two_untimed_waiters)
{
	enum { ROUNDS = 300 };
	static struct pipe_waiter w[2];
	pthread_t t[2];
	int i, r;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pipe(w[i].fd), 0);
		atomic_init(&w[i].round, 0);
		atomic_init(&w[i].done, 0);
		ASSERT_EQ(pthread_create(&t[i], NULL, wait_rounds, &w[i]), 0);
	}
	for (r = 1; r <= ROUNDS; r++) {
		for (i = 0; i < 2; i++) {
			aiot_cb(&w[i].cb, w[i].fd[0], w[i].buf, 1, 0);
			ASSERT_EQ(aio_read(&w[i].cb), 0);
			atomic_store(&w[i].round, r);
		}
		aiot_msleep(r % 3);
		for (i = 0; i < 2; i++)
			ASSERT_EQ(write(w[(i + r) % 2].fd[1], "w", 1), 1);
		for (i = 0; i < 2; i++)
			while (atomic_load(&w[i].done) != r)
				sched_yield();
	}
	for (i = 0; i < 2; i++) {
		atomic_store(&w[i].round, -1);
		pthread_join(t[i], NULL);
		close(w[i].fd[0]);
		close(w[i].fd[1]);
	}
	if (aiot_shim() && aiot_stats().backend == 1)
		EXPECT_EQ(threads_named("aio-reaper"), 0);
}

static atomic_int herd_tid;

/* an untimed aio_suspend() until @arg completes */
static void *untimed_until_done(void *arg)
{
	const struct aiocb *l[1] = { arg };

	atomic_store(&herd_tid, (int)syscall(SYS_gettid));
	while (aio_error(l[0]) == EINPROGRESS)
		aio_suspend(l, 1, NULL);
	return NULL;
}

/* timed aio_suspend()s of 100 ms until @arg completes */
static void *timed_until_done(void *arg)
{
	const struct aiocb *l[1] = { arg };
	struct timespec ts = { 0, 100000000L };

	while (aio_error(l[0]) == EINPROGRESS)
		aio_suspend(l, 1, &ts);
	return NULL;
}


/*
 * A thread waits untimed for a read nobody completes while another waits
 * in timed aio_suspend()s for another: the untimed one must not be woken
 * meanwhile (glibc: it is not).  The shim's timed leader ends a lead every
 * 10 ms slice and let every sleeper look again; a review measured 86
 * wake-ups a second of an untimed waiter in the engine for it.  Kernel
 * backend and glibc (on the emulated backend an untimed sleeper waits on
 * the futex the leader bumps: woken at each slice, diag only).
 */
TEST(an_idle_timed_waiter_does_not_wake_an_untimed_one)
{
	struct aiocb c1, c2;
	char b1, b2;
	pthread_t u, t;
	int p1[2], p2[2];
	long v0, v1;

	ASSERT_EQ(pipe(p1), 0);
	ASSERT_EQ(pipe(p2), 0);
	aiot_cb(&c1, p1[0], &b1, 1, 0);
	aiot_cb(&c2, p2[0], &b2, 1, 0);
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	atomic_store(&herd_tid, 0);
	ASSERT_EQ(pthread_create(&u, NULL, untimed_until_done, &c1), 0);
	ASSERT_EQ(pthread_create(&t, NULL, timed_until_done, &c2), 0);
	for (int i = 0; i < 500 && !atomic_load(&herd_tid); i++)
		aiot_msleep(10);	/* a loaded guest may start it late */
	aiot_msleep(300);
	v0 = tap_tid_status(atomic_load(&herd_tid), "voluntary_ctxt_switches");
	aiot_msleep(1000);
	v1 = tap_tid_status(atomic_load(&herd_tid), "voluntary_ctxt_switches");
	/* both still waiting, the untimed one in the engine */
	EXPECT_EQ(aio_error(&c1), EINPROGRESS);
	EXPECT_EQ(aio_error(&c2), EINPROGRESS);
	if (aiot_shim() && aiot_stats().backend == 1)
		EXPECT_EQ(threads_named("aio-reaper"), 0);
	ASSERT_EQ(write(p2[1], "t", 1), 1);
	ASSERT_EQ(write(p1[1], "u", 1), 1);
	pthread_join(t, NULL);
	pthread_join(u, NULL);
	tap_diag("untimed waiter woke %ld times in 1 s", v1 - v0);
	ASSERT_NE(v0, -1);
	ASSERT_NE(v1, -1);
	if (!aiot_shim() || aiot_stats().backend == 1)
		EXPECT_LT(v1 - v0, 10);
	EXPECT_EQ(aio_return(&c1), 1);
	EXPECT_EQ(aio_return(&c2), 1);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

struct reaper_race {
	struct aiocb *cb;	/* a read of a pipe nobody writes to */
	atomic_int stop;
};

/*
 * Polls aio_error() on a request that stays in progress: each call reaps
 * the ring (complete.c saio_status_reap()), others' completions included.
 */
static void *poll_status(void *arg)
{
	struct reaper_race *rr = arg;

	while (!atomic_load(&rr->stop))
		aio_error(rr->cb);
	return NULL;
}

/*
 * One thread waits untimed for pipe reads that another thread's aio_error()
 * polling keeps reaping from the ring: a completion reaped between the
 * waiter's last look and its sleep in the engine must still end its wait
 * (the polling thread's reap posts a wake for it).  2,000 rounds, each
 * read completed by a write after 0-200 us; a lost wake-up hangs the test.
 */
/*
 * @rounds untimed waits for a pipe read, each completed by a write after
 * 0-200 us, while another thread polls aio_error() on an idle request
 * (and so reaps the ring); the longest wait in *@worst.
 */
static void race_rounds(int rounds, double *worst)
{
	struct reaper_race rr;
	struct aiocb cb, idle;
	const struct aiocb *l[1] = { &cb };
	char buf[4], ibuf[4];
	pthread_t t;
	int p[2], q[2], i;

	*worst = 0;
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(pipe(q), 0);
	aiot_cb(&idle, q[0], ibuf, 1, 0);
	ASSERT_EQ(aio_read(&idle), 0);
	rr.cb = &idle;
	atomic_init(&rr.stop, 0);
	ASSERT_EQ(pthread_create(&t, NULL, poll_status, &rr), 0);
	for (i = 0; i < rounds; i++) {
		struct timespec us = { 0, (i % 5) * 50000L };
		double s;

		aiot_cb(&cb, p[0], buf, 1, 0);
		ASSERT_EQ(aio_read(&cb), 0);
		nanosleep(&us, NULL);
		ASSERT_EQ(write(p[1], "z", 1), 1);
		s = aiot_now();
		ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
		if (aiot_now() - s > *worst)
			*worst = aiot_now() - s;
		ASSERT_EQ(aio_error(&cb), 0);
		ASSERT_EQ(aio_return(&cb), 1);
	}
	atomic_store(&rr.stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ(write(q[1], "i", 1), 1);
	l[0] = &idle;
	ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
	EXPECT_EQ(aio_return(&idle), 1);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

TEST(untimed_wait_races_another_threads_reaping)
{
	enum { ROUNDS = 2000 };
	double t0 = aiot_now(), worst;

	race_rounds(ROUNDS, &worst);
	tap_diag("%d rounds in %.2f s, longest wait %.1f ms", ROUNDS,
		 aiot_now() - t0, worst * 1e3);
}

/*
 * The shim's threads are made with pthread_create(): this one raises
 * SIGUSR1 in the thread that makes the next (armed), while the signal is
 * blocked there, so that its handler runs as the mask comes back, inside
 * the shim's saio_ensure_reaper(), with reaper_lock held.
 */
static atomic_int create_arm;

int pthread_create(pthread_t *t, const pthread_attr_t *a,
		   void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *,
			   void *(*)(void *), void *);

	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *,
				void *(*)(void *), void *))
			dlsym(RTLD_NEXT, "pthread_create");
	if (atomic_exchange(&create_arm, 0))
		raise(SIGUSR1);
	return real(t, a, fn, arg);
}

static struct aiocb handler_rd;
static volatile sig_atomic_t handler_ret = 99, handler_err;

static void timed_suspend_handler(int sig)
{
	const struct aiocb *l[1] = { &handler_rd };
	struct timespec ts = { 0, 50000000 };

	(void)sig;
	handler_ret = aio_suspend(l, 1, &ts);
	handler_err = errno;
}

/*
 * A handler's timed aio_suspend() (async-signal-safe) that interrupts
 * its thread while the shim starts its reaper thread: it times out
 * (EAGAIN), as glibc's.  Since the emulated backend's timed waits went
 * through the reaper, such a wait took reaper_lock, which its own thread
 * held: the process hung (a review).
 */
TEST(timed_suspend_in_a_handler_while_the_reaper_starts)
{
	struct sigaction sa = { .sa_handler = timed_suspend_handler };
	struct aiocb wr;
	char b, c = 'x';
	int p[2], fd = aiot_file(0);

	if (!aiot_shim())
		SKIP("glibc makes its threads out of reach of the interposer");
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&handler_rd, p[0], &b, 1, 0);
	ASSERT_EQ(aio_read(&handler_rd), 0);
	aiot_cb(&wr, fd, &c, 1, 0);
	/* the next thread made must be the reaper (a review) */
	if (threads_named("aio-reaper"))
		SKIP("the reaper runs already");
	atomic_store(&create_arm, 1);
	ASSERT_EQ(aio_write(&wr), 0);	/* the reaper: the first write */
	atomic_store(&create_arm, 0);
	ASSERT_EQ(aiot_wait(&wr, 10), 0);
	if (handler_ret == 99)
		SKIP("the reaper ran already: the handler never ran");
	EXPECT_EQ(handler_ret, -1);
	EXPECT_EQ(handler_err, EAGAIN);
	ASSERT_EQ(write(p[1], "r", 1), 1);
	ASSERT_EQ(aiot_wait(&handler_rd, 10), 0);
	EXPECT_EQ(aio_return(&handler_rd), 1);
	aio_return(&wr);
	close(p[0]);
	close(p[1]);
	close(fd);
}

static int rescue_fd;

static void *rescue_later(void *arg)
{
	(void)arg;
	aiot_msleep(3000);
	if (write(rescue_fd, "y", 1) != 1)
		abort();
	return NULL;
}

/*
 * A timeout of TIME_T_MAX is for ever, and a handler without SA_RESTART
 * still ends the wait with EINTR.  With the reaper running, the shim
 * waits on its futex with an absolute deadline, which overflowed: the
 * kernel refused it, and the wait spun on the CPU until its request
 * completed (a review: 3.96 s of CPU in 4 s, no EINTR); without, it
 * failed at once with EAGAIN, as glibc 2.36 does (its deadline overflows
 * too: not a behaviour to copy).
 */
TEST(huge_timeout_waits_and_takes_eintr)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct timespec ts = { LONG_MAX, 0 };
	struct aiocb w, cb;
	const struct aiocb *l[1] = { &cb };
	struct rusage r0, r1;
	pthread_t rescue;
	char c = 'x', b;
	double t0, cpu;
	int p[2], fd = aiot_file(0), r, err;

	if (!aiot_shim())
		SKIP("glibc 2.36 fails at once with EAGAIN (an overflow)");
	ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&w, fd, &c, 1, 0);
	ASSERT_EQ(aio_write(&w), 0);		/* the shim's reaper, if any */
	ASSERT_EQ(aiot_wait(&w, 10), 0);
	aiot_cb(&cb, p[0], &b, 1, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	/* the harness's alarm is this test's: a late write ends a spin */
	rescue_fd = p[1];
	ASSERT_EQ(pthread_create(&rescue, NULL, rescue_later, NULL), 0);
	getrusage(RUSAGE_SELF, &r0);
	t0 = aiot_now();
	alarm(1);
	r = aio_suspend(l, 1, &ts);
	err = errno;
	t0 = aiot_now() - t0;
	getrusage(RUSAGE_SELF, &r1);
	cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
		       r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
	      (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
		       r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
	pthread_join(rescue, NULL);
	tap_diag("aio_suspend() for TIME_T_MAX: %d (%s) after %.2f s, "
		 "%.2f s of CPU", r, strerror(err), t0, cpu);
	EXPECT_EQ(r, -1);
	EXPECT_EQ(err, EINTR);
	EXPECT_LT((long)(cpu * 1000), 500);	/* ms */
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	EXPECT_EQ(aio_return(&cb), 1);
	aio_return(&w);
	close(p[0]);
	close(p[1]);
	close(fd);
}

struct news_and_signal {
	pthread_t waiter;
	struct aiocb *cb;
	int wfd, rescue_fd;
	atomic_int in, done;
};

/*
 * Once the waiter is in aio_suspend(): its read's data, the read reaped
 * (aio_error(), which finishes it), then an SA_RESTART signal; after
 * 1.5 s, another request's completion to end a wait that slept on.
 */
static void *news_then_signal(void *arg)
{
	struct news_and_signal *ns = arg;
	double t0;

	while (!atomic_load(&ns->in))
		sched_yield();
	if (write(ns->wfd, "n", 1) != 1)
		abort();
	t0 = aiot_now();
	while (aio_error(ns->cb) == EINPROGRESS && aiot_now() - t0 < 1)
		sched_yield();
	pthread_kill(ns->waiter, SIGUSR1);
	t0 = aiot_now();
	while (!atomic_load(&ns->done) && aiot_now() - t0 < 1.5)
		aiot_msleep(1);
	if (!atomic_load(&ns->done) && write(ns->rescue_fd, "r", 1) != 1)
		abort();
	return NULL;
}

/*
 * An untimed aio_suspend() that finds its request's completion (news)
 * and a signal due at once takes the signal in the engine and, after an
 * SA_RESTART handler, must look at the news, not sleep on from the head
 * it read until another completion (an outside review found it so, with
 * a 2 ms sleep before the head is read: what the race build's window
 * does there).  Each round's wait must end well before the 1.5 s rescue.
 */
TEST(untimed_wait_with_news_and_a_restart_signal_due)
{
	struct sigaction sa = { .sa_handler = on_alarm,
				.sa_flags = SA_RESTART };
	struct news_and_signal ns = { .waiter = pthread_self() };
	struct aiocb cb, rescue;
	const struct aiocb *l[1] = { &cb };
	char b, rb;
	double worst = 0;
	int p[2], q[2], i;

	if (aiot_shim() && aiot_stats().backend != 1)
		SKIP("the kernel backend's wait in the engine only");
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(pipe(q), 0);
	aiot_cb(&rescue, q[0], &rb, 1, 0);
	ASSERT_EQ(aio_read(&rescue), 0);
	ns.cb = &cb;
	ns.wfd = p[1];
	ns.rescue_fd = q[1];
	for (i = 0; i < 20; i++) {
		pthread_t t;
		double t0;

		aiot_cb(&cb, p[0], &b, 1, 0);
		ASSERT_EQ(aio_read(&cb), 0);
		atomic_store(&ns.in, 0);
		atomic_store(&ns.done, 0);
		ASSERT_EQ(pthread_create(&t, NULL, news_then_signal, &ns), 0);
		t0 = aiot_now();
		atomic_store(&ns.in, 1);
		while (aio_error(&cb) == EINPROGRESS)
			ASSERT_EQ(aio_suspend(l, 1, NULL), 0);
		t0 = aiot_now() - t0;
		atomic_store(&ns.done, 1);
		pthread_join(t, NULL);
		if (t0 > worst)
			worst = t0;
		ASSERT_EQ(aio_return(&cb), 1);
		if (aio_error(&rescue) != EINPROGRESS) {
			/* rescued: re-arm for the next round */
			aio_return(&rescue);
			aiot_cb(&rescue, q[0], &rb, 1, 0);
			ASSERT_EQ(aio_read(&rescue), 0);
		}
	}
	tap_diag("longest wait %.1f ms", worst * 1e3);
	EXPECT_LT(worst, 1.4);
	ASSERT_EQ(write(q[1], "e", 1), 1);
	aiot_wait(&rescue, 5);
	aio_return(&rescue);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/*
 * The same in the child of a fork() made after untimed waits in the
 * engine: the shim's record of the head its sleepers read is the
 * parent's, and the child's new ring starts again at 0.  A review found
 * that a record kept across the fork (the latest head read, only ever
 * raised) made the child's wakers post no wake, and the race above hang
 * (the suspend-race build widens its window).  The child has 30 s.
 * Shim only: under glibc the child does not get through its rounds (it
 * is killed; glibc's AIO helper threads are the parent's).
 */
/* race_rounds() in a child of fork(), which must get through in 30 s */
static void race_rounds_in_a_child(void)
{
	double worst;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_NE(pid, -1);
	if (!pid) {
		alarm(30);
		race_rounds(500, &worst);
		_exit(tap_failed_here ? 1 : 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

TEST(untimed_wait_races_reaping_in_a_forked_child)
{
	double worst;

	if (!aiot_shim())
		SKIP("glibc: its AIO after fork() is not under test");
	race_rounds(300, &worst);
	race_rounds_in_a_child();
}

/*
 * The same with another thread of the parent asleep in an untimed
 * aio_suspend() in the engine at the fork: the child inherits its count
 * of sleepers, which no thread of the child will ever take back, and with
 * it the parent's record of the head they read.  The fork handler must
 * reset both (a review's mutant without the reset hangs here in the
 * suspend-race build, and passes the test above: there nobody sleeps at
 * the fork, and the child's first sleeper resets the record itself).
 */
TEST(untimed_wait_races_reaping_in_a_child_forked_beside_a_sleeper)
{
	struct aiocb cb;
	char b;
	double worst;
	pthread_t u;
	int p[2];

	if (!aiot_shim())
		SKIP("glibc: its AIO after fork() is not under test");
	race_rounds(100, &worst);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], &b, 1, 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(pthread_create(&u, NULL, untimed_until_done, &cb), 0);
	aiot_msleep(200);		/* asleep in aio_suspend() */
	race_rounds_in_a_child();
	ASSERT_EQ(write(p[1], "p", 1), 1);
	pthread_join(u, NULL);
	EXPECT_EQ(aio_return(&cb), 1);
	close(p[0]);
	close(p[1]);
}

/*
 * aio_suspend() is async-signal-safe (POSIX): a handler that interrupts a
 * thread's (timed) aio_suspend() may wait in aio_suspend() for another
 * request, untimed or timed.  The handler's wait ends with its request;
 * the interrupted one ends with EINTR (glibc: the same).  Before, the
 * interrupted thread led the reaping holding the reap lock across its
 * wait in the engine, and the handler's wait never ended (untimed: the
 * reaper blocked on that lock; timed: no one else reaped).  Each case in
 * a process of its own (a reaper, once started, would serve the other).
 */
static struct aiocb nest_cb2;
static volatile sig_atomic_t nest_ret = -2, nest_untimed, nest_in;
static _Atomic int nest_main_in;

static void nest_handler(int sig)
{
	const struct aiocb *l[1] = { &nest_cb2 };
	struct timespec five = { 5, 0 };

	(void)sig;
	nest_in = 1;
	nest_ret = aio_suspend(l, 1, nest_untimed ? NULL : &five);
}

struct nest_plan {
	pthread_t target;
	pid_t tid;
	int wfd;
};

/* The state letter of thread @tid of this process (/proc), or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void *nest_helper(void *arg)
{
	struct nest_plan *np = arg;
	int i, n;

	/*
	 * The signal once main is asleep in its wait (three looks 20 ms
	 * apart: a signal that lands before it blocks runs the handler and
	 * no implementation can end the wait with EINTR; the debug kernel
	 * once took that long to get there) ...
	 */
	for (i = 0; i < 500 && !atomic_load(&nest_main_in); i++)
		aiot_msleep(10);
	for (i = 0, n = 0; i < 500 && n < 3; i++) {
		aiot_msleep(20);
		n = thread_state(np->tid) == 'S' ? n + 1 : 0;
	}
	pthread_kill(np->target, SIGUSR1);
	/* ... the handler's request done once the handler waits */
	for (i = 0; i < 500 && !nest_in; i++)
		aiot_msleep(10);
	aiot_msleep(100);
	if (write(np->wfd, "b", 1) != 1)
		abort();
	return NULL;
}

static void nest_case(int untimed)
{
	char b1[4], b2[4];
	struct aiocb cb1;
	const struct aiocb *l[1] = { &cb1 };
	struct timespec ten = { 10, 0 };
	struct sigaction sa;
	struct nest_plan np;
	int p1[2], p2[2], r;
	pthread_t t;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nest_handler;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	nest_untimed = untimed;
	ASSERT_EQ(pipe(p1), 0);
	ASSERT_EQ(pipe(p2), 0);
	aiot_cb(&cb1, p1[0], b1, 1, 0);
	aiot_cb(&nest_cb2, p2[0], b2, 1, 0);
	ASSERT_EQ(aio_read(&cb1), 0);
	ASSERT_EQ(aio_read(&nest_cb2), 0);
	np.target = pthread_self();
	np.tid = (pid_t)syscall(SYS_gettid);
	np.wfd = p2[1];
	ASSERT_EQ(pthread_create(&t, NULL, nest_helper, &np), 0);
	alarm(20);	/* a hang fails here, not at the harness's bound */
	atomic_store(&nest_main_in, 1);
	r = aio_suspend(l, 1, &ten);
	alarm(0);
	pthread_join(t, NULL);
	tap_diag("handler's wait (%s): %d; the interrupted one: %d",
		 untimed ? "untimed" : "timed", (int)nest_ret, r);
	EXPECT_EQ(nest_ret, 0);
	EXPECT_EQ(r, -1);
	/*
	 * EINTR, unless the signal landed where the wait was not blocked
	 * (between two of the timed leader's slices, say): then the handler
	 * ran, no call could end with EINTR, and the wait ran to its
	 * timeout (once in six runs on the host's emulated backend).
	 */
	if (errno == EAGAIN)
		tap_diag("the signal missed the blocked wait: it timed out");
	else
		EXPECT_EQ(errno, EINTR);
	EXPECT_EQ(aio_error(&nest_cb2), 0);
	EXPECT_EQ(aio_return(&nest_cb2), 1);
	EXPECT_EQ(aio_error(&cb1), EINPROGRESS);
	ASSERT_EQ(write(p1[1], "a", 1), 1);
	ASSERT_EQ(aiot_wait(&cb1, 10), 0);
	EXPECT_EQ(aio_return(&cb1), 1);
}

TEST(untimed_aio_suspend_in_a_handler_that_interrupted_aio_suspend)
{
	nest_case(1);
}

TEST(timed_aio_suspend_in_a_handler_that_interrupted_aio_suspend)
{
	nest_case(0);
}

struct waiter {
	struct aiocb *cb;
	int ret;
};

static void *suspend_thread(void *arg)
{
	struct waiter *w = arg;
	const struct aiocb *l[1] = { w->cb };
	struct timespec ts = { 10, 0 };

	w->ret = aio_suspend(l, 1, &ts);
	if (w->ret)
		w->ret = -errno;
	return NULL;
}

TEST(several_threads_wait)
{
	enum { N = 4 };
	char buf[N][8];
	struct aiocb cb[N];
	struct waiter w[N];
	pthread_t t[N];
	int p[N][2], i;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(pipe(p[i]), 0);
		aiot_cb(&cb[i], p[i][0], buf[i], 8, 0);
		ASSERT_EQ(aio_read(&cb[i]), 0);
		w[i].cb = &cb[i];
		w[i].ret = 99;
		ASSERT_EQ(pthread_create(&t[i], NULL, suspend_thread, &w[i]), 0);
	}
	aiot_msleep(100);
	/* complete them in reverse order; each waiter returns for its own */
	for (i = N - 1; i >= 0; i--) {
		ASSERT_EQ(write(p[i][1], "x", 1), 1);
		pthread_join(t[i], NULL);
		ASSERT_EQ(w[i].ret, 0);
		ASSERT_EQ(aio_return(&cb[i]), 1);
	}
}

static void *suspend_on(void *p)
{
	const struct aiocb *list[1] = { p };

	aio_suspend(list, 1, NULL);
	return NULL;
}

/*
 * aio_suspend() is a cancellation point (POSIX): a thread cancelled while
 * it waits is cancelled then, not when the request completes (the shim
 * once returned only when data came); the request and the shim go on.
 */
TEST(suspend_is_a_cancellation_point)
{
	struct timespec dl;
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	char buf[4];
	void *res;
	pthread_t t;
	int p[2];

#ifdef __SANITIZE_ADDRESS__
	/*
	 * An untimed aio_suspend() waits in a futex with asynchronous
	 * cancellation, as glibc's; ASan cannot follow the unwinding from
	 * the cancellation signal's handler (its CHECK in asan_thread.cpp).
	 */
	SKIP("asynchronous cancellation under ASan");
#endif
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(pthread_create(&t, NULL, suspend_on, &cb), 0);
	aiot_msleep(50);
	ASSERT_EQ(pthread_cancel(t), 0);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	ASSERT_EQ(pthread_timedjoin_np(t, &res, &dl), 0);
	EXPECT_TRUE(res == PTHREAD_CANCELED);
	EXPECT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	EXPECT_EQ(aio_suspend(list, 1, NULL), 0);
	EXPECT_EQ(aio_error(&cb), 0);
	EXPECT_EQ(aio_return(&cb), 2);
	close(p[0]);
	close(p[1]);
}

/*
 * A signal that comes while aio_suspend() or lio_listio(LIO_WAIT) waits
 * ends the wait with EINTR (its handler installed without SA_RESTART),
 * also when other threads' requests complete all the while.  Before, the
 * shim's waiters all slept on one word every completion moved: a waiter
 * woken by another thread's completion took the signal on its way back to
 * user space, saw no EINTR and slept again, until its own request
 * completed (here: for ever; an outside probe lost 37-39 of 60 signals so
 * in the guest, 33-39 on the host).  On the kernel backend the wait now
 * blocks every signal but in its sleep in the engine (docs/aio.md,
 * "Signals and waits"): each of the rounds must end with EINTR (a tenth
 * may not for lio_listio(), below).  glibc's waiter, woken by its own
 * requests only, loses one only when the signal lands as it waits for its
 * lock (1 of 30 seen): at most a tenth there.  On the emulated backend
 * (here with the reaper: the noise writes) the waits sleep on saio.seq,
 * woken by their own requests only since 2026-12-07 (before, skipped).
 */
static atomic_int noise_stop;

static void *aio_noise(void *arg)
{
	char buf[512];
	int fd = *(int *)arg;
	long n = 0;

	memset(buf, 'n', sizeof(buf));
	while (!atomic_load(&noise_stop)) {
		struct aiocb cb;
		const struct aiocb *l[1] = { &cb };

		aiot_cb(&cb, fd, buf, sizeof(buf), (n++ % 64) * 512);
		if ((n & 1 ? aio_write(&cb) : aio_read(&cb)) != 0)
			continue;
		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend(l, 1, NULL);
		aio_return(&cb);
	}
	return NULL;
}

struct eintr_round {
	pthread_t waiter;
	pid_t tid;
	atomic_int inside;	/* the waiter is in the call */
	atomic_int ended;	/* rounds ended */
	int rounds, lost;
	bool lio;		/* lio_listio() queues first: a later signal */
	int pipe[2];
};

/* Signals the waiter once it sleeps in the call; counts the lost ones. */
static void *eintr_signaller(void *arg)
{
	struct eintr_round *e = arg;

	for (int i = 0; i < e->rounds; i++) {
		double t0;

		while (!(atomic_load(&e->inside) && tap_tid_state(e->tid) == 'S'))
			aiot_msleep(1);
		aiot_msleep((e->lio ? 100 : 2) + i % 7);
		pthread_kill(e->waiter, SIGUSR1);
		t0 = aiot_now();
		while (atomic_load(&e->ended) == i && aiot_now() - t0 < 2)
			aiot_msleep(1);
		if (atomic_load(&e->ended) == i) {
			e->lost++;
			/* end the waiter's request: the next round's read */
			if (write(e->pipe[1], "x", 1) != 1)
				abort();
			while (atomic_load(&e->ended) == i)
				aiot_msleep(1);
		}
	}
	return NULL;
}

static void eintr_beside_completions(int how)	/* 0 untimed, 1 timed, 2 lio */
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct eintr_round e = { .rounds = 30 };
	struct timespec ts = { 30, 0 };
	pthread_t s, nt[2];
	struct aiocb cb;
	char buf[8];
	int fd = aiot_file(64 * 512), i;

	if (!aiot_shim() && how == 2)
		SKIP("glibc's lio_listio(LIO_WAIT) returns EINTR with its "
		     "wait list still linked: a later completion spins");
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(e.pipe), 0);
	e.waiter = pthread_self();
	e.tid = (pid_t)syscall(SYS_gettid);
	e.lio = how == 2;
	atomic_store(&noise_stop, 0);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&nt[i], NULL, aio_noise, &fd), 0);
	/*
	 * The emulated backend's reaper, which the noise's writes start,
	 * running first: while it starts (its thread made, not yet counted
	 * as running) a wait may still lead, in the engine, which every
	 * completion wakes (the race build's window there lost round 0 so).
	 */
	if (aiot_shim() && aiot_stats().backend == 2)
		for (i = 0; i < 500 && !threads_named("aio-reaper"); i++)
			aiot_msleep(2);
	aiot_msleep(20);
	ASSERT_EQ(pthread_create(&s, NULL, eintr_signaller, &e), 0);
	for (i = 0; i < e.rounds; i++) {
		struct aiocb *ll[1] = { &cb };
		const struct aiocb *l[1] = { &cb };
		int r, err;

		aiot_cb(&cb, e.pipe[0], buf, 1, 0);
		cb.aio_lio_opcode = LIO_READ;
		if (how < 2)
			ASSERT_EQ(aio_read(&cb), 0);
		atomic_store(&e.inside, 1);
		r = how == 2 ? lio_listio(LIO_WAIT, ll, 1, NULL) :
			       aio_suspend(l, 1, how ? &ts : NULL);
		err = errno;
		atomic_store(&e.inside, 0);
		if (r == -1 && err == EINTR)
			atomic_fetch_add(&e.ended, 1);
		/* the read ends with a byte, the signaller's or ours */
		if (aio_error(&cb) == EINPROGRESS) {
			ASSERT_EQ(write(e.pipe[1], "y", 1), 1);
			while (aio_error(&cb) == EINPROGRESS)
				aio_suspend(l, 1, NULL);
		}
		aio_return(&cb);
		if (r == 0 || err != EINTR)
			atomic_fetch_add(&e.ended, 1);	/* a lost one */
	}
	pthread_join(s, NULL);
	atomic_store(&noise_stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(nt[i], NULL);
	tap_diag("%s: %d of %d signals ended the wait with EINTR, %d lost",
		 how == 2 ? "lio_listio(LIO_WAIT)" : how ? "timed aio_suspend()" :
		 "untimed aio_suspend()", e.rounds - e.lost, e.rounds, e.lost);
	/*
	 * lio_listio() queues its entries first, its signals unblocked (as
	 * glibc's): a signal the signaller sends while the thread sleeps
	 * there, queuing the pipe's read, runs its handler there and is no
	 * EINTR of the wait (1 of 30 seen)
	 */
	if (aiot_shim() && how < 2)
		EXPECT_EQ(e.lost, 0);
	else
		EXPECT_LE(e.lost, e.rounds / 10);
	close(e.pipe[0]);
	close(e.pipe[1]);
	close(fd);
}

TEST(eintr_not_lost_beside_completions_untimed)
{
	eintr_beside_completions(0);
}

TEST(eintr_not_lost_beside_completions_timed)
{
	eintr_beside_completions(1);
}

TEST(eintr_not_lost_beside_completions_lio_wait)
{
	eintr_beside_completions(2);
}

TAP_MAIN
