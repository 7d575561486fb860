// SPDX-License-Identifier: GPL-2.0
/*
 * libsyslet under load: a tiny ring with many more chains than slots (the
 * overflow path), and many threads submitting and reaping one ring.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "lib-test.h"

#define NCHAINS	10000

/* 10,000 chains through an 8-entry ring: none lost, none duplicated. */
TEST(tiny_ring_10000_chains)
{
	struct syslet_completion cs[8];
	struct syslet_ctx ctx;
	struct syslet_op *ops = calloc(NCHAINS, sizeof(*ops));
	unsigned char *seen = calloc(NCHAINS, 1);
	unsigned int submitted = 0, reaped = 0, i;
	int n;

	ASSERT_TRUE(ops && seen);
	ctx_or_die(&ctx, 8);
	while (reaped < NCHAINS) {
		/* keep up to 64 in flight: 8 in the ring, the rest overflow */
		while (submitted < NCHAINS && submitted - reaped < 64) {
			struct syslet_op *op = &ops[submitted];

			syslet_op_init(op, SYS_getpid, 0);
			syslet_op_set_data(op, submitted);
			ASSERT_GE(syslet_submit(&ctx, &op->atom), 0);
			submitted++;
		}
		n = syslet_reap(&ctx, cs, 8);
		ASSERT_GE(n, 0);
		if (!n) {
			ASSERT_GT(syslet_wait(&ctx, 1, NULL), 0);
			continue;
		}
		for (i = 0; i < (unsigned int)n; i++) {
			ASSERT_LT(cs[i].user_data, (uint64_t)NCHAINS);
			ASSERT_EQ(seen[cs[i].user_data], 0);
			seen[cs[i].user_data] = 1;
			ASSERT_EQ(cs[i].status, getpid());
		}
		reaped += n;
	}
	EXPECT_EQ(reaped, (unsigned int)NCHAINS);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_ctx_exit(&ctx);
	free(ops);
	free(seen);
}

/* Completions overflow while nobody reaps, and all arrive later. */
TEST(overflow_flag_then_drain)
{
	struct syslet_completion cs[4];
	struct syslet_ctx ctx;
	struct syslet_limits l;
	struct syslet_op ops[20];
	unsigned int total = 0, i;
	struct timespec ts = { 0, 10000000 };

	ctx_or_die(&ctx, 4);
	for (i = 0; i < 20; i++) {
		syslet_op_init(&ops[i], SYS_getpid, SYSLET_ASYNC);
		syslet_op_set_data(&ops[i], i);
		ASSERT_EQ(syslet_submit(&ctx, &ops[i].atom), SYSLET_QUEUED);
	}
	/* wait until every chain has run (16 overflowed) */
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(syslet_limits(&ctx, NULL, &l), 0);
		if (ctx.ring->overflow == 16)
			break;
		nanosleep(&ts, NULL);
	}
	EXPECT_EQ(ctx.ring->overflow, 16u);
	EXPECT_TRUE(ctx.ring->kflags & SYSLET_RING_OVERFLOW);
	EXPECT_EQ(syslet_cq_ready(&ctx), 4u);
	/* drained in submission order per ring slot; all 20 arrive */
	while (total < 20) {
		int n = syslet_reap(&ctx, cs, 4);

		ASSERT_GE(n, 0);
		if (!n) {
			ASSERT_GT(syslet_wait(&ctx, 1, NULL), 0);
			continue;
		}
		total += n;
	}
	EXPECT_EQ(total, 20u);
	EXPECT_EQ(ctx.ring->overflow, 0u);
	EXPECT_EQ(ctx.ring->kflags & SYSLET_RING_OVERFLOW, 0u);
	syslet_ctx_exit(&ctx);
}

/*
 * syslet_reap_ready() takes what is in the ring and leaves what the
 * backend parked on its overflow list (it runs atomics only, so that a
 * signal handler may call it); syslet_reap() then moves the rest in.
 */
TEST(reap_ready_leaves_the_overflow_list)
{
	struct syslet_completion cs[8];
	struct syslet_ctx ctx;
	struct syslet_limits l;
	struct syslet_op ops[12];
	unsigned int total = 0, i;
	struct timespec ts = { 0, 10000000 };

	ctx_or_die(&ctx, 4);
	for (i = 0; i < 12; i++) {
		syslet_op_init(&ops[i], SYS_getpid, SYSLET_ASYNC);
		syslet_op_set_data(&ops[i], i);
		ASSERT_EQ(syslet_submit(&ctx, &ops[i].atom), SYSLET_QUEUED);
	}
	for (i = 0; i < 500 && ctx.ring->overflow != 8; i++) {
		ASSERT_EQ(syslet_limits(&ctx, NULL, &l), 0);
		nanosleep(&ts, NULL);
	}
	ASSERT_EQ(ctx.ring->overflow, 8u);
	ASSERT_EQ(syslet_reap_ready(&ctx, cs, 8), 4);
	/* nothing moved in: the parked eight are still parked */
	ASSERT_EQ(syslet_reap_ready(&ctx, cs, 8), 0);
	EXPECT_EQ(ctx.ring->overflow, 8u);
	while (total < 8) {
		int n = syslet_reap(&ctx, cs, 8);

		ASSERT_GE(n, 0);
		if (!n) {
			ASSERT_GT(syslet_wait(&ctx, 1, NULL), 0);
			continue;
		}
		total += n;
	}
	EXPECT_EQ(total, 8u);
	EXPECT_EQ(ctx.ring->overflow, 0u);
	syslet_ctx_exit(&ctx);
}

#define NTHREADS	4
#ifndef PER_THREAD
#define PER_THREAD	1000
#endif

struct mt {
	struct syslet_ctx *ctx;
	unsigned int id;
	_Atomic unsigned int *reaped;
	_Atomic unsigned char *seen;
	int err;
};

static void *mt_thread(void *p)
{
	struct mt *m = p;
	struct syslet_op *ops = calloc(PER_THREAD, sizeof(*ops));
	struct syslet_completion cs[4];
	unsigned int i = 0, k;
	int n, r;

	if (!ops) {
		m->err = -ENOMEM;
		return NULL;
	}
	while (atomic_load(m->reaped) < NTHREADS * PER_THREAD) {
		if (i < PER_THREAD) {
			unsigned int id = m->id * PER_THREAD + i;

			syslet_op_init(&ops[i], SYS_getppid, 0);
			syslet_op_set_data(&ops[i], id);
			r = syslet_submit(m->ctx, &ops[i].atom);
			if (r < 0 && r != -EAGAIN) {
				m->err = r;
				break;
			}
			if (r >= 0)
				i++;
		}
		n = syslet_reap(m->ctx, cs, 4);
		if (n < 0) {
			m->err = n;
			break;
		}
		for (k = 0; k < (unsigned int)n; k++) {
			if (cs[k].user_data >= NTHREADS * PER_THREAD ||
			    atomic_fetch_add(&m->seen[cs[k].user_data], 1) ||
			    cs[k].status != getppid())
				m->err = -EBADMSG;
		}
		atomic_fetch_add(m->reaped, (unsigned int)n);
		if (!n && i == PER_THREAD) {
			struct timespec ts = { 0, 1000000 };

			syslet_wait(m->ctx, 1, &ts);
		}
	}
	/* the ops must outlive their chains: wait for everyone */
	while (atomic_load(m->reaped) < NTHREADS * PER_THREAD) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	free(ops);
	return NULL;
}

TEST(threads_submit_and_reap_one_ring)
{
	static _Atomic unsigned char seen[NTHREADS * PER_THREAD];
	_Atomic unsigned int reaped = 0;
	pthread_t t[NTHREADS];
	struct mt m[NTHREADS];
	struct syslet_ctx ctx;
	unsigned int i;

	ctx_or_die(&ctx, 16);
	for (i = 0; i < NTHREADS; i++) {
		m[i] = (struct mt){ &ctx, i, &reaped, seen, 0 };
		ASSERT_EQ(pthread_create(&t[i], NULL, mt_thread, &m[i]), 0);
	}
	/* a watchdog that tells a lost completion from a slow machine */
	for (;;) {
		struct timespec ts = { 0, 100000000 };
		unsigned int last = atomic_load(&reaped), still = 0;

		while (atomic_load(&reaped) == last &&
		       last < NTHREADS * PER_THREAD && still < 300) {
			nanosleep(&ts, NULL);
			still++;
		}
		if (last >= NTHREADS * PER_THREAD)
			break;
		if (still >= 300) {
			struct syslet_limits l = { .size = sizeof(l) };

			syslet_limits(&ctx, NULL, &l);
			tap_diag("no progress for 30 s: reaped %u head %u tail %u kflags %u overflow %u nr_chains %u nr_threads %u errs %d %d %d %d",
				 last, ctx.ring->head, ctx.ring->tail,
				 ctx.ring->kflags, ctx.ring->overflow,
				 l.nr_chains, l.nr_threads, m[0].err, m[1].err,
				 m[2].err, m[3].err);
			ASSERT_TRUE(0);
		}
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(m[i].err, 0);
	}
	EXPECT_EQ(atomic_load(&reaped), (unsigned int)(NTHREADS * PER_THREAD));
	for (i = 0; i < NTHREADS * PER_THREAD; i++)
		if (seen[i] != 1)
			break;
	EXPECT_EQ(i, (unsigned int)(NTHREADS * PER_THREAD));
	syslet_ctx_exit(&ctx);
}

/* The worker pool grows on demand and shrinks when idle. */
TEST(pool_idle_threads_exit)
{
	struct syslet_limits set = { .size = sizeof(set), .idle_msecs = 50 };
	struct timespec sl = { 0, 100000000 }, ts = { 0, 20000000 };
	struct syslet_completion c;
	struct syslet_limits l;
	struct syslet_ctx ctx;
	struct syslet_op ops[4];
	int i;

	ctx_or_die(&ctx, 8);
	if (syslet_backend(&ctx) != SYSLET_BACKEND_EMULATED)
		SKIP("the kernel's async threads are tested by tests/kernel");
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	for (i = 0; i < 4; i++) {
		syslet_prep_nanosleep(&ops[i], &sl);
		ASSERT_EQ(syslet_submit(&ctx, &ops[i].atom), SYSLET_QUEUED);
	}
	ASSERT_EQ(syslet_limits(&ctx, NULL, &l), 0);
	EXPECT_EQ(l.nr_chains, 4u);
	EXPECT_GE(l.nr_threads, 2u);	/* they sleep in parallel */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(wait_one(&ctx, &c), 0);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(syslet_limits(&ctx, NULL, &l), 0);
		if (!l.nr_threads)
			break;
		nanosleep(&ts, NULL);
	}
	EXPECT_EQ(l.nr_threads, 0u);
	EXPECT_EQ(l.nr_chains, 0u);
	EXPECT_GE(l.chains_done, 4u);
	syslet_ctx_exit(&ctx);
}

/* After fork() the child's pool starts from scratch and works. */
TEST(fork_child_can_submit)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	int st;
	pid_t pid;

	ctx_or_die(&ctx, 8);
	syslet_op_init(&op, SYS_getpid, 0);
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);	/* pool started */
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		syslet_op_init(&op, SYS_getpid, 0);
		if (syslet_submit(&ctx, &op.atom) < 0 || wait_one(&ctx, &c))
			_exit(2);
		_exit(c.status == getpid() ? 0 : 3);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	syslet_ctx_exit(&ctx);
}

/*
 * fork() with chains in flight: none of the parent's chains runs in the
 * child, not even one still queued for a worker, and the child can use
 * and tear down the context it inherited.  One worker thread, so that
 * the second chain is still queued at fork().
 */
TEST(fork_child_runs_none_of_the_parents_chains)
{
	struct timespec ts = { 0, 300 * 1000000L };
	struct syslet_limits set = { .size = sizeof(set), .max_threads = 1 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op sleep_op, write_op, op;
	char buf[8];
	int p[2], st, n, i;
	pid_t pid;

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	syslet_prep_nanosleep(&sleep_op, &ts);
	syslet_op_add_flags(&sleep_op, SYSLET_ASYNC);
	syslet_op_set_data(&sleep_op, 1);
	syslet_prep_write(&write_op, p[1], "x", 1);
	syslet_op_add_flags(&write_op, SYSLET_ASYNC);
	syslet_op_set_data(&write_op, 2);
	ASSERT_EQ(syslet_submit(&ctx, &sleep_op.atom), SYSLET_QUEUED);
	ASSERT_EQ(syslet_submit(&ctx, &write_op.atom), SYSLET_QUEUED);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		syslet_op_init(&op, SYS_getpid, 0);
		syslet_op_set_data(&op, 3);
		if (syslet_submit(&ctx, &op.atom) < 0 || wait_one(&ctx, &c))
			_exit(2);
		if (c.user_data != 3 || c.status != getpid())
			_exit(3);
		nanosleep(&ts, NULL);
		nanosleep(&ts, NULL);
		/* nothing of the parent's arrives, and exit does not hang */
		if (syslet_cq_ready(&ctx))
			_exit(4);
		syslet_ctx_exit(&ctx);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, c.user_data == 1 ? 0 : 1);
	}
	/* the write ran once: in the parent */
	ASSERT_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	n = (int)read(p[0], buf, sizeof(buf));
	EXPECT_EQ(n, 1);
	syslet_ctx_exit(&ctx);
}

static long read_one(void *arg)
{
	char byte;

	return syslet_syscall(SYS_read, *(int *)arg, (long)&byte, 1, 0, 0, 0);
}

/*
 * fork() while threadlets run (on a library thread, and in the caller
 * where the backend has that) and a chain is in flight on a ring in the
 * caller's memory: none of them exists in the child, so the child's
 * syslet_ctx_exit() of the contexts it inherited returns at once.
 */
TEST(fork_child_exits_contexts_with_threadlets_running)
{
	static char mem[SYSLET_RING_BYTES(8)] __attribute__((aligned(64)));
	struct timespec ms = { 0, 20000000 };
	struct syslet_ctx a, b, m;
	struct syslet_completion c;
	struct syslet_op rd;
	char buf[4];
	int p[2], st, i;
	pid_t pid;

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&a, 8);
	ASSERT_EQ(syslet_ctx_init(&b, 8, SYSLET_CTX_INCALLER), 0);
	ASSERT_EQ(syslet_ctx_init_mem(&m, mem, sizeof(mem), 0), 0);
	ASSERT_EQ(syslet_threadlet(&a, read_one, &p[0], 1), 0);
	/* spares are made on demand: a few tries for one in the caller */
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(syslet_threadlet(&b, read_one, &p[0], 2), 0);
		nanosleep(&ms, NULL);
	}
	syslet_prep_read(&rd, p[0], buf, 1);
	syslet_op_add_flags(&rd, SYSLET_ASYNC);
	ASSERT_EQ(syslet_submit(&m, &rd.atom), SYSLET_QUEUED);
	nanosleep(&ms, NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		alarm(20);
		syslet_ctx_exit(&a);
		syslet_ctx_exit(&b);
		syslet_ctx_exit(&m);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	/* the parent's own go on: release and reap them */
	ASSERT_EQ(write(p[1], "1234567", 7), 7);
	ASSERT_EQ(wait_one(&a, &c), 0);
	EXPECT_EQ(c.status, 1);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(wait_one(&b, &c), 0);
		EXPECT_EQ(c.status, 1);
	}
	ASSERT_EQ(wait_one(&m, &c), 0);
	EXPECT_EQ(c.status, 1);
	syslet_ctx_exit(&a);
	syslet_ctx_exit(&b);
	syslet_ctx_exit(&m);
}

TAP_MAIN
