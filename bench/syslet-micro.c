// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-micro: the kernel engine's raw costs, as ratios to a plain
 * system call, in one run (a benchmark: it prints, it never asserts).
 *
 *   plain     getppid() through syscall()
 *   sync      a one-atom SYSLET_SYNC chain running getppid() in the caller
 *   async     a one-atom SYSLET_ASYNC chain queued to an async thread,
 *             then reaped through async_wait() (a full round trip)
 *   pob       the same chain in the default mode (pass-on-block): it
 *             does not sleep, so it completes in the caller
 *   handoff   a default-mode read from an empty pipe: the time until
 *             async_exec() returns SYSLET_QUEUED in the caller's user
 *             context, which another thread took over
 *   pthread   pthread_create() + pthread_join() of an empty thread, for
 *             scale
 *   sleep64   throughput of 64 SYSLET_ASYNC chains each sleeping 10 ms
 *             in nanosleep(), all in flight at once, resubmitted in
 *             rounds: sleeps completed per second against the ideal
 *             64 / 10 ms = 6400/s (every sleep overlapping, no overhead)
 *   short     default-mode chains of one nanosleep() of 0 to 1000 us:
 *             the share handed off (a sleep that ends before the
 *             reserved thread claims the caller's context completes in
 *             the caller), and the time per chain against the same
 *             sleep as a SYSLET_SYNC chain; then again in a child
 *             process whose timer slack is 1 ns (PR_SET_TIMERSLACK, set
 *             before it has async threads, which inherit it: a hand-off
 *             needs the same slack on both sides).  With the default
 *             slack of 50 us a "0 us" sleep lasts up to 50 us, longer
 *             than a taker takes to claim, so the first table measures
 *             the slack as much as the engine.
 *
 * The first six are printed as ns per operation and as ratios to plain;
 * sleep64 is a throughput, so it gets its own line.
 *
 * Built by tests/kernel/Makefile into build/bench/syslet-micro.
 * Usage: syslet-micro [iterations]
 */
#include <errno.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <time.h>
#include "kernel/sys.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double bench_plain(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return (now_ns() - t0) / n;
}

static double bench_sync(long n)
{
	struct syslet_completion done;
	struct syslet_atom a;
	int64_t ret;
	double t0;

	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (async_exec(&a, NULL, &done, 0) != SYSLET_DONE)
			return -1;
	return (now_ns() - t0) / n;
}

static double bench_async(struct syslet_ring *r, long n)
{
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret;
	double t0;

	atom_init(&a, SYSLET_ASYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED ||
		    !ring_get(r, &comp))
			return -1;
	}
	return (now_ns() - t0) / n;
}

static double bench_pob(long n)
{
	struct syslet_completion done;
	struct syslet_ring *r = ring_new(4);
	struct syslet_atom a;
	int64_t ret;
	double t0;

	atom_init(&a, 0, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (async_exec(&a, r, &done, 0) != SYSLET_DONE)
			return -1;
	return (now_ns() - t0) / n;
}

static double bench_handoff(struct syslet_ring *r, long n)
{
	struct syslet_completion comp;
	struct syslet_atom a;
	uint64_t fd, buf, len = 1;
	double sum = 0;
	int fds[2];
	char c;

	if (pipe(fds))
		return -1;
	fd = fds[0];
	buf = (uintptr_t)&c;
	atom_init(&a, 0, SYS_read, NULL, &fd, &buf, &len, NULL);
	for (long i = 0; i < n; i++) {
		double t0 = now_ns();

		if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED)
			return -1;
		sum += now_ns() - t0;
		if (write(fds[1], "h", 1) != 1 || !ring_get(r, &comp))
			return -1;
	}
	close(fds[0]);
	close(fds[1]);
	return sum / n;
}

static void *empty(void *arg)
{
	return arg;
}

static double bench_pthread(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, empty, NULL) ||
		    pthread_join(t, NULL))
			return -1;
	}
	return (now_ns() - t0) / n;
}

#define NSLEEP	64

/* Returns sleeps completed per second, 64 in flight in each round. */
static double bench_sleep64(struct syslet_ring *r, int rounds)
{
	static struct syslet_atom a[NSLEEP];
	static int64_t ret[NSLEEP];
	struct timespec ten_ms = { 0, 10000000 };
	uint64_t tsp = (uintptr_t)&ten_ms;
	struct syslet_completion comp;
	double t0;

	for (int i = 0; i < NSLEEP; i++)
		atom_init(&a[i], SYSLET_ASYNC, SYS_nanosleep, &ret[i], &tsp,
			  NULL, NULL, NULL);
	t0 = now_ns();
	for (int k = 0; k < rounds; k++) {
		for (int i = 0; i < NSLEEP; i++)
			if (async_exec(&a[i], r, NULL, 0) != SYSLET_QUEUED)
				return -1;
		for (int i = 0; i < NSLEEP; i++)
			if (!ring_get(r, &comp) || comp.status != 0)
				return -1;
	}
	return (double)NSLEEP * rounds * 1e9 / (now_ns() - t0);
}

/*
 * @n default-mode (@flags 0) or SYSLET_SYNC chains sleeping @us each;
 * returns ns per chain, the number handed off in *@queued.
 */
static double bench_short(struct syslet_ring *r, long us, uint32_t flags,
			  int n, int *queued)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };
	uint64_t tsp = (uintptr_t)&ts;
	struct syslet_completion done, comp;
	struct syslet_atom a;
	int64_t ret;
	double t0;

	*queued = 0;
	atom_init(&a, flags, SYS_nanosleep, &ret, &tsp, NULL, NULL, NULL);
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		long res = async_exec(&a, r, &done, 0);

		if (res == SYSLET_QUEUED) {
			(*queued)++;
			if (!ring_get(r, &comp))
				return -1;
		} else if (res != SYSLET_DONE) {
			return -1;
		}
	}
	return (now_ns() - t0) / n;
}

static int print_short(struct syslet_ring *r, long n, const char *how)
{
	static const long us[] = { 0, 1, 10, 100, 1000 };
	int rounds = n / 100 < 50 ? 50 : n / 100;

	printf("# default-mode nanosleep() chains%s: share handed off, time vs SYSLET_SYNC\n",
	       how);
	printf("%-10s %12s %10s %10s\n", "sleep_us", "ns/op", "vs_sync",
	       "handed_off");
	for (unsigned int i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		int q, qs;
		double d = bench_short(r, us[i], 0, rounds, &q);
		double s = bench_short(r, us[i], SYSLET_SYNC, rounds, &qs);

		if (d < 0 || s < 0)
			return -1;
		printf("%-10ld %12.0f %10.2f %9.0f%%\n", us[i], d, d / s,
		       100.0 * q / rounds);
	}
	return 0;
}

/* print_short() in a child process whose timer slack is 1 ns */
static int print_short_noslack(long n)
{
	struct syslet_limits lim = { .size = sizeof(lim), .max_threads = 64 };
	struct syslet_ring *r;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		/* before the first async thread of this process is made */
		if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL))
			_exit(1);
		r = ring_new(128);
		async_limits(&lim, NULL);
		if (print_short(r, n, " (timer slack 1 ns)")) {
			fprintf(stderr, "syslet-micro: a short sleep failed\n");
			_exit(1);
		}
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

static double bench_one_sleep(int rounds)
{
	struct timespec ten_ms = { 0, 10000000 };
	double t0 = now_ns();

	for (int k = 0; k < rounds; k++)
		nanosleep(&ten_ms, NULL);
	return (now_ns() - t0) / rounds;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct syslet_ring *r = ring_new(128);
	struct syslet_limits lim = { .size = sizeof(lim), .max_threads = 64 };
	double plain, sync, async, pob, handoff, pthr, s64, s1, ideal;

	if (!syslet_present()) {
		fprintf(stderr, "syslet-micro: no syslet system calls here\n");
		return 1;
	}
	async_limits(&lim, NULL);
	bench_async(r, 1000);			/* warm up a thread */
	plain = bench_plain(n);
	sync = bench_sync(n);
	async = bench_async(r, n / 10);
	pob = bench_pob(n);
	handoff = bench_handoff(r, n / 10);
	pthr = bench_pthread(n / 10);
	s1 = bench_one_sleep(20);
	s64 = bench_sleep64(r, 20);
	if (sync < 0 || async < 0 || pob < 0 || handoff < 0 || pthr < 0 ||
	    s64 < 0) {
		fprintf(stderr, "syslet-micro: a chain failed\n");
		return 1;
	}
	printf("# syslet-micro, %ld iterations\n", n);
	printf("%-10s %12s %10s\n", "case", "ns/op", "ratio");
	printf("%-10s %12.0f %10.2f\n", "plain", plain, 1.0);
	printf("%-10s %12.0f %10.2f\n", "sync", sync, sync / plain);
	printf("%-10s %12.0f %10.2f\n", "async", async, async / plain);
	printf("%-10s %12.0f %10.2f\n", "pob", pob, pob / plain);
	printf("%-10s %12.0f %10.2f  (%.2fx pthread, %.2fx async)\n", "handoff",
	       handoff, handoff / plain, handoff / pthr, handoff / async);
	printf("%-10s %12.0f %10.2f\n", "pthread", pthr, pthr / plain);
	ideal = NSLEEP / 10e-3;
	printf("# 64 concurrent 10 ms sleepers (a plain 10 ms sleep takes %.2f ms)\n",
	       s1 / 1e6);
	printf("%-10s %12.0f sleeps/s  %.2f of the ideal %.0f/s\n", "sleep64",
	       s64, s64 / ideal, ideal);
	if (print_short(r, n, "")) {
		fprintf(stderr, "syslet-micro: a short sleep failed\n");
		return 1;
	}
	return print_short_noslack(n);
}
