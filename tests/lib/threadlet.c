// SPDX-License-Identifier: GPL-2.0
/* libsyslet threadlets: a C function run asynchronously. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include "lib-test.h"

/*
 * Threadlets run in the caller only with SYSLET_CTX_INCALLER: kernel
 * backend, x86-64, not under a sanitizer.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define INCALLER 1
#else
#define INCALLER 0
#endif

static pid_t tid(void)
{
	return (pid_t)syslet_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

static long slow_square(void *arg)
{
	struct timespec ts = { 0, 20000000 };
	long v = (long)(intptr_t)arg;

	nanosleep(&ts, NULL);
	return v * v;
}

static long fails(void *arg)
{
	(void)arg;
	return -EIO;
}

struct blocker {
	int fd;
	char buf[16];
};

static long blocking_read(void *arg)
{
	struct blocker *b = arg;
	ssize_t n = read(b->fd, b->buf, sizeof(b->buf));

	return n < 0 ? -errno : n;
}

/*
 * Ordinary C code, as syslet_threadlet(3) showed it: errno read after a
 * call that slept and failed.  At -O2 (this file's plain build) gcc
 * computes errno's address once, before recv(); if the function went on
 * as another thread in between, it reads the wrong thread's errno.
 */
static long recv_with_timeout(void *arg)
{
	int fd = *(int *)arg;
	char byte;
	ssize_t n;

	errno = 0;
	n = recv(fd, &byte, 1, 0);
	if (n < 0)
		return -errno;
	return n;
}

/* a socket whose recv() sleeps 30 ms and fails with EAGAIN */
static int timing_out_socket(int sv[2])
{
	struct timeval tv = { 0, 30000 };

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	return setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * A context made without flags runs threadlets where ordinary C code is
 * safe: every one of them sees its own errno (and keeps its thread).
 */
TEST(threadlet_default_keeps_errno_across_a_blocking_call)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int sv[2], i, bad = 0;

	ctx_or_die(&ctx, 8);
	ASSERT_EQ(timing_out_socket(sv), 0);
	/* spares are made on demand: the later ones would find one parked */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(syslet_threadlet(&ctx, recv_with_timeout, &sv[0], i), 0);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		if (c.status != -EAGAIN) {
			printf("# threadlet %d: status %lld, not -EAGAIN%s\n",
			       i, (long long)c.status,
			       c.flags & SYSLET_COMP_SYNC ? " (in the caller)" : "");
			bad++;
		}
	}
	EXPECT_EQ(bad, 0);
	close(sv[0]);
	close(sv[1]);
	syslet_ctx_exit(&ctx);
}

TEST(threadlet_return_values)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	unsigned int seen = 0;
	int i;

	ctx_or_die(&ctx, 4);
	EXPECT_EQ(syslet_threadlet(&ctx, NULL, NULL, 1), -EINVAL);
	for (i = 1; i <= 10; i++)
		ASSERT_EQ(syslet_threadlet(&ctx, slow_square,
					   (void *)(intptr_t)i, i), 0);
	ASSERT_EQ(syslet_threadlet(&ctx, fails, NULL, 99), 0);
	for (i = 0; i < 11; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		if (c.user_data == 99) {
			EXPECT_EQ(c.status, -EIO);
		} else {
			EXPECT_EQ(c.status, (int64_t)(c.user_data * c.user_data));
		}
		EXPECT_EQ(c.nr_atoms, 0u);
		seen |= 1u << c.user_data % 32;
	}
	EXPECT_EQ(seen, 0x7feu | (1u << (99 % 32)));
	syslet_ctx_exit(&ctx);
}

/* a threadlet wrapping a blocking call; chains still flow meanwhile */
TEST(threadlet_blocking_call)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	struct blocker b = { 0 };
	int p[2];

	ctx_or_die(&ctx, 4);
	ASSERT_EQ(pipe(p), 0);
	b.fd = p[0];
	ASSERT_EQ(syslet_threadlet(&ctx, blocking_read, &b, 1), 0);
	syslet_op_init(&op, SYS_getpid, 0);
	syslet_op_set_data(&op, 2);
	/* queued, or done in the caller (kernel): its completion is in the ring */
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 2u);
	/* threadlets cannot be cancelled */
	EXPECT_EQ(syslet_cancel(&ctx, 1, 0), -ENOENT);
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 1u);
	EXPECT_EQ(c.status, 3);
	EXPECT_EQ(memcmp(b.buf, "abc", 3), 0);
	syslet_ctx_exit(&ctx);
}

static long quick(void *arg)
{
	return (long)(intptr_t)arg;
}

/*
 * The -EAGAIN limit of syslet_threadlet(3): on the emulated backend
 * threadlets are chains of the process-wide pool, limited by max_chains
 * (set to 8 here), which chains and threadlets share; on the kernel
 * backend at most 256 threadlets run per context, and chains are not
 * counted against it.  Blocked threadlets all complete when released.
 */
TEST(threadlet_limit_eagain)
{
	static struct blocker b[256];
	struct syslet_completion c;
	struct syslet_ctx ctx, ctx2;
	struct syslet_op op;
	unsigned int limit, i, done = 0;
	int p[2], emu;

	/* the library-thread limit: threadlets in the caller do not count */
	ASSERT_EQ(syslet_ctx_init(&ctx, 512, SYSLET_CTX_NO_INCALLER), 0);
	ASSERT_EQ(syslet_ctx_init(&ctx2, 4, SYSLET_CTX_NO_INCALLER), 0);
	emu = syslet_backend(&ctx) == SYSLET_BACKEND_EMULATED;
	if (emu) {
		struct syslet_limits set = { .size = sizeof(set),
					     .max_chains = 8 };

		ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
		limit = 8;
	} else {
		limit = 256;
	}
	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < limit; i++) {
		b[i].fd = p[0];
		ASSERT_EQ(syslet_threadlet(&ctx, blocking_read, &b[i], i), 0);
	}
	EXPECT_EQ(syslet_threadlet(&ctx, quick, NULL, 1000), -EAGAIN);
	syslet_op_init(&op, SYS_getpid, SYSLET_ASYNC);
	syslet_op_set_data(&op, 1001);
	if (emu) {
		/* chains and threadlets share max_chains, process-wide */
		EXPECT_EQ(syslet_submit(&ctx, &op.atom), -EAGAIN);
		EXPECT_EQ(syslet_threadlet(&ctx2, quick, NULL, 1002), -EAGAIN);
	} else {
		/* chains still run; the limit is this context's */
		ASSERT_EQ(syslet_submit(&ctx, &op.atom), SYSLET_QUEUED);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.user_data, 1001u);
		EXPECT_EQ(c.status, getpid());
		ASSERT_EQ(syslet_threadlet(&ctx2, quick, (void *)7, 1002), 0);
		ASSERT_EQ(wait_one(&ctx2, &c), 0);
		EXPECT_EQ(c.status, 7);
	}
	/* release them: every read sees end of file */
	close(p[1]);
	for (i = 0; i < limit; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, 0);
		EXPECT_LT(c.user_data, limit);
		done++;
	}
	EXPECT_EQ(done, limit);
	/* below the limit again */
	ASSERT_EQ(syslet_threadlet(&ctx, quick, (void *)3, 3), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 3);
	syslet_ctx_exit(&ctx2);
	syslet_ctx_exit(&ctx);
	close(p[0]);
}

/*
 * The process-wide bound of the kernel backend's threadlets on library
 * threads: 1024 (256 per context), so that many contexts cannot make
 * threads without end.  Four contexts hold 256 blocked threadlets each;
 * a fifth context, under its own 256, gets -EAGAIN, while chains still
 * run; once they are released, threadlets start again.  (The emulated
 * backend's bound is max_chains, process-wide: threadlet_limit_eagain.)
 */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The process-wide bound: 1,024 threadlet threads.  Making them is slow
 * where threads are (an ASan build on a debug kernel under TCG took over
 * the 300 s limit, 13 s on the fast kernel): if the first context's 256
 * say the rest would not fit in half of the test's time, it says so and
 * skips; they are made, so nothing hangs.
 */
TEST(threadlet_process_limit_eagain)
{
	enum { PER_CTX = 256, NCTX = 4 };
	static struct blocker b[NCTX * PER_CTX];
	struct syslet_completion c;
	struct syslet_ctx ctx[NCTX], extra;
	struct syslet_op op;
	unsigned int i, j, done = 0;
	const char *tmo = getenv("TAP_TIMEOUT");
	int p[2], budget = tmo ? atoi(tmo) : 60;
	long long t0;

	ASSERT_EQ(syslet_ctx_init(&extra, 4, SYSLET_CTX_NO_INCALLER), 0);
	if (syslet_backend(&extra) != SYSLET_BACKEND_KERNEL)
		SKIP("a bound of the kernel backend's threadlet threads");
	ASSERT_EQ(pipe(p), 0);
	t0 = now_ms();
	for (j = 0; j < NCTX; j++) {
		ASSERT_EQ(syslet_ctx_init(&ctx[j], PER_CTX,
					  SYSLET_CTX_NO_INCALLER), 0);
		for (i = 0; i < PER_CTX; i++) {
			struct blocker *bl = &b[j * PER_CTX + i];

			bl->fd = p[0];
			ASSERT_EQ(syslet_threadlet(&ctx[j], blocking_read, bl,
						   i), 0);
		}
		if (!j && (now_ms() - t0) * NCTX > budget * 500LL)
			SKIP("%d threadlet threads took %lld ms: %d would not "
			     "fit in half of the %d s limit", PER_CTX,
			     now_ms() - t0, NCTX * PER_CTX, budget);
	}
	/* 1024 running: a context below its own bound is refused too */
	EXPECT_EQ(syslet_threadlet(&extra, quick, (void *)1, 1), -EAGAIN);
	EXPECT_EQ(syslet_cq_ready(&extra), 0u);
	/* chains are not threadlets */
	syslet_op_init(&op, SYS_getpid, SYSLET_ASYNC);
	syslet_op_set_data(&op, 2);
	ASSERT_EQ(syslet_submit(&extra, &op.atom), SYSLET_QUEUED);
	ASSERT_EQ(wait_one(&extra, &c), 0);
	EXPECT_EQ(c.user_data, 2u);
	EXPECT_EQ(c.status, getpid());
	/* release them: every read sees end of file */
	close(p[1]);
	for (j = 0; j < NCTX; j++)
		for (i = 0; i < PER_CTX; i++) {
			ASSERT_EQ(wait_one(&ctx[j], &c), 0);
			EXPECT_EQ(c.status, 0);
			done++;
		}
	EXPECT_EQ(done, NCTX * PER_CTX);
	/* below the bound again */
	ASSERT_EQ(syslet_threadlet(&extra, quick, (void *)3, 3), 0);
	ASSERT_EQ(wait_one(&extra, &c), 0);
	EXPECT_EQ(c.user_data, 3u);
	EXPECT_EQ(c.status, 3);
	for (j = 0; j < NCTX; j++)
		syslet_ctx_exit(&ctx[j]);
	syslet_ctx_exit(&extra);
	close(p[0]);
}

static long whoami(void *arg)
{
	*(pid_t *)arg = tid();
	return 5;
}

/*
 * Spares are made on demand: run threadlets until one runs in the
 * caller.  Returns 0 once one did, or skips the test where none can.
 */
static int incaller_ready(struct syslet_ctx *ctx)
{
	struct timespec ms = { 0, 10000000 };
	struct syslet_completion c;
	int i;

	if (!INCALLER || syslet_backend(ctx) != SYSLET_BACKEND_KERNEL)
		return -1;
	for (i = 0; i < 300; i++) {
		pid_t t = 0;

		if (syslet_threadlet(ctx, whoami, &t, 77) ||
		    wait_one(ctx, &c) || c.status != 5)
			return -2;
		if (c.flags & SYSLET_COMP_SYNC)
			return t == tid() ? 0 : -3;
		nanosleep(&ms, NULL);
	}
	return -4;
}

#define REQUIRE_INCALLER(ctx) do {					\
		int r_ = incaller_ready(ctx);				\
		if (r_ == -1)						\
			SKIP("threadlets run in the caller only on the "	\
			     "kernel backend (x86-64, no sanitizer)");	\
		ASSERT_EQ(r_, 0);					\
	} while (0)

TEST(threadlet_that_does_not_sleep_runs_in_the_caller)
{
	struct syslet_completion *c;
	struct syslet_ctx ctx;
	pid_t t = 0;

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_INCALLER), 0);
	REQUIRE_INCALLER(&ctx);
	ASSERT_EQ(syslet_threadlet(&ctx, whoami, &t, 9), 0);
	/* done before syslet_threadlet() returned */
	ASSERT_EQ(syslet_peek_completion(&ctx, &c), 0);
	EXPECT_EQ(c->user_data, 9u);
	EXPECT_EQ(c->status, 5);
	EXPECT_TRUE(c->flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(t, tid());
	syslet_cq_advance(&ctx, 1);
	syslet_ctx_exit(&ctx);
}

static __thread int tls_mark;

/* &tls_mark, computed anew each time (no caching across a blocking call) */
static __attribute__((noinline, noipa)) int *mark_addr(void)
{
	int *p = &tls_mark;

	__asm__ volatile("" : "+r"(p));
	return p;
}


struct sleeper {
	int fd;
	char buf[8];
	pid_t tid_before, tid_after;
	int *mark_before, *mark_after;
	double x;
};

static long sleeping_read(void *arg)
{
	struct sleeper *s = arg;
	volatile double x = s->x;
	ssize_t n;

	s->tid_before = tid();
	s->mark_before = mark_addr();
	/* the in-caller rules: errno is not read after a call that sleeps */
	n = syslet_syscall(SYS_read, s->fd, (long)s->buf, sizeof(s->buf),
			   0, 0, 0);
	s->tid_after = tid();
	s->mark_after = mark_addr();
	s->x = x * 2;
	return n;
}

/*
 * A threadlet that sleeps: the caller goes on at once, with its TID, TLS,
 * signal mask and pending signals; the threadlet finishes as another
 * thread (another TID, another TLS block) and posts its value.
 */
TEST(threadlet_that_sleeps_hands_the_caller_on)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct sleeper s = { .x = 1.25 };
	pthread_t self = pthread_self();
	sigset_t usr2, now;
	pid_t me = tid();
	long long t0;
	int p[2];

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_INCALLER), 0);
	REQUIRE_INCALLER(&ctx);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &usr2, NULL), 0);
	ASSERT_EQ(syscall(SYS_tgkill, getpid(), me, SIGUSR2), 0);
	ASSERT_EQ(pipe(p), 0);
	s.fd = p[0];
	tls_mark = 1234;
	t0 = now_ms();
	ASSERT_EQ(syslet_threadlet(&ctx, sleeping_read, &s, 3), 0);
	EXPECT_LT(now_ms() - t0, 2000);
	/* the caller's identity came back with its context */
	EXPECT_EQ(tid(), me);
	EXPECT_TRUE(pthread_equal(pthread_self(), self));
	EXPECT_EQ(tls_mark, 1234);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	EXPECT_TRUE(sigismember(&now, SIGUSR2));
	ASSERT_EQ(sigpending(&now), 0);
	EXPECT_TRUE(sigismember(&now, SIGUSR2));
	/* it has not completed: it sleeps in read() */
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	EXPECT_EQ(s.tid_before, me);
	EXPECT_TRUE(s.mark_before == &tls_mark);

	ASSERT_EQ(write(p[1], "xyz", 3), 3);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 3u);
	EXPECT_EQ(c.status, 3);
	EXPECT_FALSE(c.flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(memcmp(s.buf, "xyz", 3), 0);
	/* it finished as the spare: not our TID, not our TLS */
	EXPECT_NE(s.tid_after, me);
	EXPECT_TRUE(s.mark_after != &tls_mark);
	EXPECT_TRUE(s.x == 2.5);
	EXPECT_EQ(tid(), me);
	/* and the spare parks again: the next one runs in the caller too */
	EXPECT_EQ(incaller_ready(&ctx), 0);
	close(p[0]);
	close(p[1]);
	syslet_ctx_exit(&ctx);
}

static volatile sig_atomic_t usr1_tid;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_tid = (sig_atomic_t)tid();
}

/* one completion within 10 s, or -ETIME (a lost one fails, not hangs) */
static int wait_one_10s(struct syslet_ctx *ctx, struct syslet_completion *c)
{
	struct timespec step = { 0, 100000000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (syslet_reap(ctx, c, 1) == 1)
			return 0;
		syslet_wait(ctx, 1, &step);
	}
	return -ETIME;
}

struct ranhere {
	pid_t tid;
	int runs;
};

static long ran_here(void *arg)
{
	struct ranhere *r = arg;

	r->tid = tid();
	r->runs++;
	return 4242;
}

/*
 * The end of a threadlet that ran in the caller posts its value with
 * async_exec(SYSLET_EXEC_THREADLET_END), from assembly
 * (__syslet_tl_run).  When the kernel refuses that post (the ring is full
 * and max_chains is reached, so no overflow place can be taken: -EAGAIN)
 * the function has run, so syslet_threadlet() must not return an error:
 * the library posts the value itself later, as the kernel would have
 * (SYSLET_COMP_SYNC: it ran in the caller), after the completions before
 * it.  Here the ring is filled by threadlets in the caller, the one
 * place max_chains leaves goes to one more (parked by the kernel), and
 * the next one's end is refused.
 */
TEST(threadlet_incaller_end_refused_is_posted_later)
{
	struct syslet_limits get = { .size = sizeof(get) };
	struct syslet_limits set = { .size = sizeof(set) };
	struct syslet_completion c;
	struct ranhere rh = { 0, 0 };
	struct syslet_ctx ctx;
	unsigned int n, i, max0;

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_INCALLER), 0);
	REQUIRE_INCALLER(&ctx);
	n = ctx.ring->nr_entries;
	ASSERT_EQ(syslet_cq_ready(&ctx), 0u);
	ASSERT_EQ(syslet_limits(&ctx, NULL, &get), 0);
	max0 = get.max_chains;
	/* one place left for a parked completion */
	set.max_chains = get.nr_chains + 1;
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	for (i = 0; i < n + 1; i++) {
		pid_t t = 0;

		ASSERT_EQ(syslet_threadlet(&ctx, whoami, &t, i), 0);
		ASSERT_EQ(t, tid());	/* in the caller, and it never slept */
	}
	/* the ring is full, the last one is parked, no place is left */
	EXPECT_EQ(syslet_cq_ready(&ctx), n);
	EXPECT_EQ(ctx.ring->overflow, 1u);
	ASSERT_EQ(syslet_limits(&ctx, NULL, &get), 0);
	EXPECT_EQ(get.nr_chains, get.max_chains);

	/* its end is refused: it ran, so it succeeds all the same */
	EXPECT_EQ(syslet_threadlet(&ctx, ran_here, &rh, 1000), 0);
	EXPECT_EQ(rh.runs, 1);
	EXPECT_EQ(rh.tid, tid());
	EXPECT_EQ(syslet_cq_ready(&ctx), n);
	EXPECT_EQ(ctx.ring->overflow, 1u);

	/* everything arrives once, in order, the refused one last */
	for (i = 0; i < n + 2; i++) {
		ASSERT_EQ(wait_one_10s(&ctx, &c), 0);
		if (i < n + 1) {
			EXPECT_EQ(c.user_data, (uint64_t)i);
			EXPECT_EQ(c.status, 5);
		} else {
			EXPECT_EQ(c.user_data, 1000u);
			EXPECT_EQ(c.status, 4242);
			EXPECT_TRUE(c.flags & SYSLET_COMP_SYNC);
		}
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	EXPECT_EQ(rh.runs, 1);
	set.max_chains = max0;
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	syslet_ctx_exit(&ctx);
}

/* Many threadlets sleep at once; signals keep reaching the caller. */
TEST(many_threadlets_sleep_and_the_caller_keeps_its_signals)
{
	static struct sleeper s[16];
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	unsigned int seen = 0, handed = 0;
	pid_t me = tid();
	int p[2], i;

	ASSERT_EQ(syslet_ctx_init(&ctx, 32, SYSLET_CTX_INCALLER), 0);
	REQUIRE_INCALLER(&ctx);
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < 16; i++) {
		s[i].fd = p[0];
		s[i].x = i;
		ASSERT_EQ(syslet_threadlet(&ctx, sleeping_read, &s[i], i), 0);
		ASSERT_EQ(tid(), me);
		usr1_tid = 0;
		ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
		EXPECT_EQ(usr1_tid, me);
	}
	/* one byte each, one at a time */
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(write(p[1], "a", 1), 1);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, 1);
		seen |= 1u << c.user_data;
	}
	EXPECT_EQ(seen, 0xffffu);
	for (i = 0; i < 16; i++) {
		EXPECT_TRUE(s[i].x == 2.0 * i);
		if (s[i].tid_before == me && s[i].tid_after != me)
			handed++;
	}
	/* at least the first, which had a parked spare, was handed on */
	EXPECT_GE(handed, 1u);
	printf("# %u of 16 threadlets went on in a spare\n", handed);
	close(p[0]);
	close(p[1]);
	syslet_ctx_exit(&ctx);
}

/*
 * Opt-in: with SYSLET_CTX_INCALLER, a threadlet written to its rules
 * (system calls through syslet_syscall()) gets every error right, though
 * it goes on as another thread each time recv() sleeps.
 */
static long recv_incaller(void *arg)
{
	char byte;

	return syslet_syscall(SYS_recvfrom, *(int *)arg, (long)&byte, 1, 0,
			      0, 0);
}

TEST(threadlet_incaller_errors_through_syslet_syscall)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int sv[2], i, bad = 0;

	ASSERT_EQ(syslet_ctx_init(&ctx, 8, SYSLET_CTX_INCALLER), 0);
	REQUIRE_INCALLER(&ctx);
	ASSERT_EQ(timing_out_socket(sv), 0);
	for (i = 0; i < 20; i++) {
		errno = 1234;
		ASSERT_EQ(syslet_threadlet(&ctx, recv_incaller, &sv[0], i), 0);
		EXPECT_EQ(errno, 1234);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		if (c.status != -EAGAIN)
			bad++;
	}
	EXPECT_EQ(bad, 0);
	/* the helper itself: result, or -errno with errno untouched */
	errno = 0;
	EXPECT_EQ(syslet_syscall(SYS_close, -1, 0, 0, 0, 0, 0), -EBADF);
	EXPECT_EQ(errno, 0);
	EXPECT_EQ(syslet_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), getpid());
	close(sv[0]);
	close(sv[1]);
	syslet_ctx_exit(&ctx);
}

/* Without SYSLET_CTX_INCALLER a threadlet never runs in the caller. */
TEST(threadlet_default_runs_on_a_thread_of_its_own)
{
	struct timespec ms = { 0, 5000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int i;

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_INCALLER |
				  SYSLET_CTX_NO_INCALLER), -EINVAL);
	ctx_or_die(&ctx, 4);
	for (i = 0; i < 30; i++) {
		pid_t t = 0;

		ASSERT_EQ(syslet_threadlet(&ctx, whoami, &t, 1), 0);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, 5);
		EXPECT_FALSE(c.flags & SYSLET_COMP_SYNC);
		EXPECT_NE(t, tid());
		nanosleep(&ms, NULL);
	}
	syslet_ctx_exit(&ctx);
}

/*
 * A program that runs under AddressSanitizer (threadlet-asan: this file
 * built with -fsanitize=address against the plain shared library) asks
 * for SYSLET_CTX_INCALLER and gets threads of their own: the library sees
 * the sanitizer at run time.
 */
TEST(threadlet_incaller_not_under_a_sanitizer)
{
	struct timespec ms = { 0, 5000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int i;

#if !defined(__SANITIZE_ADDRESS__)
	SKIP("not built with a sanitizer");
#endif
	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_INCALLER), 0);
	for (i = 0; i < 30; i++) {
		pid_t t = 0;

		ASSERT_EQ(syslet_threadlet(&ctx, whoami, &t, 1), 0);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, 5);
		EXPECT_FALSE(c.flags & SYSLET_COMP_SYNC);
		EXPECT_NE(t, tid());
		nanosleep(&ms, NULL);
	}
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
