// SPDX-License-Identifier: MIT
/*
 * lib-overhead: what one operation costs through libsyslet, per backend,
 * against the plain system call.  Prints a table; asserts nothing.
 *
 *	lib-overhead [-n OPS] [-q QD]
 *
 * Operations: getppid() (no work: the cost is all engine overhead) and a
 * 4 KiB pread() from a page-cache-hot file.  Modes, for each backend the
 * machine has (the kernel one only on the patched kernel):
 *
 *   plain	the system call itself, in a loop
 *   sync	a SYSLET_SYNC chain, completion into a caller buffer
 *		(syslet_submit_done: runs in the caller, no ring)
 *   qd1	submit one chain, wait for its completion, reap it
 *   qdN	keep N chains in flight, reap in batches (throughput)
 *
 * Threadlets (syslet_threadlet()), for the kernel backend in the caller
 * ("incaller", SYSLET_CTX_INCALLER: the functions keep to its rules), the
 * kernel backend on library threads ("threads", the default) and the
 * emulated backend:
 *
 *   tl-getppid	a threadlet calling getppid(), submitted and reaped one
 *		at a time (round trip, x plain getppid)
 *   tl-sleep	a threadlet sleeping 200 us: how long syslet_threadlet()
 *		takes to return to the caller (the hand-off; x plain
 *		getppid), against pthread_create() + pthread_join() of an
 *		empty thread
 *
 * ns/op is wall-clock time per operation; "x plain" is the ratio to the
 * plain call.  Under TCG only the ratios mean anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <syslet.h>

#define MAXQD	256

static char buf[MAXQD][4096];
static int fd;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void prep(struct syslet_op *op, int which, unsigned int slot)
{
	if (which == 0)
		syslet_op_init(op, SYS_getppid, 0);
	else
		syslet_prep_pread(op, fd, buf[slot], 4096, 0);
}

static double run_plain(int which, long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		long r = which == 0 ? syscall(SYS_getppid) :
				      pread(fd, buf[0], 4096, 0);
		if (r < 0)
			return -1;
	}
	return (now_ns() - t0) / n;
}

static double run_sync(struct syslet_ctx *ctx, int which, long n)
{
	struct syslet_completion c;
	struct syslet_op op;
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		prep(&op, which, 0);
		syslet_op_add_flags(&op, SYSLET_SYNC);
		if (syslet_submit_done(ctx, &op.atom, &c) != SYSLET_DONE ||
		    c.status < 0)
			return -1;
	}
	return (now_ns() - t0) / n;
}

static double run_qd1(struct syslet_ctx *ctx, int which, long n)
{
	struct syslet_completion c;
	struct syslet_op op;
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		prep(&op, which, 0);
		if (syslet_submit(ctx, &op.atom) < 0 ||
		    syslet_wait_completion(ctx, &c) < 0 || c.status < 0)
			return -1;
	}
	return (now_ns() - t0) / n;
}

static double run_qdn(struct syslet_ctx *ctx, int which, long n,
		      unsigned int qd)
{
	static struct syslet_op ops[MAXQD];
	struct syslet_completion c[MAXQD];
	long submitted = 0, done = 0;
	double t0 = now_ns();
	unsigned int i;

	for (i = 0; i < qd && submitted < n; i++, submitted++) {
		prep(&ops[i], which, i);
		syslet_op_set_data(&ops[i], i);
		if (syslet_submit(ctx, &ops[i].atom) < 0)
			return -1;
	}
	while (done < n) {
		int got;

		if (syslet_wait(ctx, 1, NULL) < 0)
			return -1;
		got = syslet_reap(ctx, c, qd);
		for (i = 0; i < (unsigned int)got; i++) {
			unsigned int s = (unsigned int)c[i].user_data;

			if (c[i].status < 0)
				return -1;
			done++;
			if (submitted < n) {
				prep(&ops[s], which, s);
				syslet_op_set_data(&ops[s], s);
				if (syslet_submit(ctx, &ops[s].atom) < 0)
					return -1;
				submitted++;
			}
		}
	}
	return (now_ns() - t0) / n;
}

static long tl_getppid(void *arg)
{
	(void)arg;
	return syslet_syscall(SYS_getppid, 0, 0, 0, 0, 0, 0);
}

static long tl_sleep(void *arg)
{
	struct timespec ts = { 0, 200 * 1000 };

	(void)arg;
	return syslet_syscall(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}

/* Threadlet round trip (@fn = tl_getppid) or time to return (tl_sleep). */
static double run_threadlet(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			    long n)
{
	struct syslet_completion c;
	double t0, in = 0;
	long i;

	/* spares and threads are made on demand: warm up first */
	for (i = 0; i < 200; i++) {
		if (syslet_threadlet(ctx, fn, NULL, 1) ||
		    syslet_wait_completion(ctx, &c))
			return -1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		double t1 = now_ns();

		if (syslet_threadlet(ctx, fn, NULL, 1))
			return -1;
		in += now_ns() - t1;
		if (syslet_wait_completion(ctx, &c))
			return -1;
	}
	return fn == tl_sleep ? in / n : (now_ns() - t0) / n;
}

static void *empty(void *arg)
{
	return arg;
}

static double run_pthread(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, empty, NULL) ||
		    pthread_join(t, NULL))
			return -1;
	}
	return (now_ns() - t0) / n;
}

static void row(const char *op, const char *backend, const char *mode,
		double ns, double plain)
{
	if (ns < 0)
		printf("%-10s %-9s %-6s %10s %9s\n", op, backend, mode,
		       "failed", "-");
	else
		printf("%-10s %-9s %-6s %10.0f %9.2f\n", op, backend, mode,
		       ns, ns / plain);
}

int main(int argc, char **argv)
{
	static const char *ops[] = { "getppid", "pread-4k" };
	static const unsigned int backends[] = {
		SYSLET_CTX_KERNEL, SYSLET_CTX_EMULATED
	};
	char path[] = "/tmp/lib-overhead.XXXXXX", qdname[16];
	unsigned int qd = 32;
	long n = 20000;
	int opt, which, b;

	while ((opt = getopt(argc, argv, "n:q:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'q')
			qd = (unsigned int)atoi(optarg);
		else
			goto usage;
	}
	if (n <= 0 || !qd || qd > MAXQD)
		goto usage;
	fd = mkstemp(path);
	if (fd < 0 || pwrite(fd, buf[0], 4096, 0) != 4096) {
		perror("lib-overhead: scratch file");
		return 1;
	}
	unlink(path);
	snprintf(qdname, sizeof(qdname), "qd%u", qd);

	printf("# libsyslet per-operation overhead, %ld ops per row\n", n);
	printf("%-10s %-9s %-6s %10s %9s\n", "op", "backend", "mode",
	       "ns/op", "x plain");
	for (which = 0; which < 2; which++) {
		double plain = run_plain(which, n);

		row(ops[which], "-", "plain", plain, plain);
		for (b = 0; b < 2; b++) {
			struct syslet_ctx ctx;
			const char *name = b ? "emulated" : "kernel";
			int ret = syslet_ctx_init(&ctx, MAXQD, backends[b]);

			if (ret < 0) {
				printf("%-10s %-9s %-6s %10s %9s  # %s\n",
				       ops[which], name, "-", "n/a", "-",
				       strerror(-ret));
				continue;
			}
			row(ops[which], name, "sync",
			    run_sync(&ctx, which, n), plain);
			row(ops[which], name, "qd1",
			    run_qd1(&ctx, which, n), plain);
			row(ops[which], name, qdname,
			    run_qdn(&ctx, which, n, qd), plain);
			syslet_ctx_exit(&ctx);
		}
	}
	{
		static const unsigned int tlflags[] = {
			SYSLET_CTX_KERNEL | SYSLET_CTX_INCALLER,
			SYSLET_CTX_KERNEL,
			SYSLET_CTX_EMULATED,
		};
		static const char *tlname[] = {
			"kernel", "kernel", "emulated"
		};
		static const char *tlmode[] = { "caller", "thread", "pool" };
		double plain = run_plain(0, n);
		long tn = n / 10 > 0 ? n / 10 : 1;

		for (b = 0; b < 3; b++) {
			struct syslet_ctx ctx;

			if (syslet_ctx_init(&ctx, 64, tlflags[b]) < 0)
				continue;
			row("tl-getppid", tlname[b], tlmode[b],
			    run_threadlet(&ctx, tl_getppid, tn), plain);
			row("tl-sleep", tlname[b], tlmode[b],
			    run_threadlet(&ctx, tl_sleep, tn / 4 + 1), plain);
			syslet_ctx_exit(&ctx);
		}
		row("pthread", "-", "create", run_pthread(tn), plain);
	}
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n OPS] [-q QD (1..%d)]\n", argv[0], MAXQD);
	return 2;
}
