// SPDX-License-Identifier: GPL-2.0
/* libsyslet submission: syslet_submit(), syslet_submit_done(), SYSLET_SYNC, NO_COMPLETE, the chains limit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "lib-test.h"

/* a SYSLET_SYNC chain into *done, and into the ring */
TEST(sync_modes)
{
	struct syslet_completion c, *pc;
	struct syslet_ctx ctx;
	struct syslet_op a;

	ctx_or_die(&ctx, 2);
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC);
	syslet_op_set_data(&a, 11);
	/* into *done, not the ring */
	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ(syslet_submit_done(&ctx, &a.atom, &c), SYSLET_DONE);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 11u);
	EXPECT_EQ(c.flags, (unsigned int)SYSLET_COMP_SYNC);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	/* into the ring */
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_DONE);
	ASSERT_EQ(syslet_cq_ready(&ctx), 1u);
	ASSERT_EQ(syslet_peek_completion(&ctx, &pc), 0);
	EXPECT_EQ(pc->status, getpid());
	EXPECT_EQ(pc->user_data, 11u);
	/*
	 * The kernel backend posts a SYSLET_SYNC chain's completion with
	 * SYSLET_EXEC_POST (never lost to a ring filling up meanwhile),
	 * which keeps the whole completion: the same on both backends
	 */
	EXPECT_EQ(pc->flags, (unsigned int)SYSLET_COMP_SYNC);
	EXPECT_EQ(pc->nr_atoms, 1u);
	EXPECT_EQ(pc->atom, (uint64_t)(uintptr_t)&a.atom);
	syslet_cq_advance(&ctx, 1);
	EXPECT_EQ(syslet_peek_completion(&ctx, &pc), -EAGAIN);
	/* NO_COMPLETE posts nothing */
	syslet_op_set_flags(&a, SYSLET_SYNC | SYSLET_NO_COMPLETE);
	a.ret = 0;
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_DONE);
	EXPECT_EQ(a.ret, getpid());
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_ctx_exit(&ctx);
}

/*
 * A SYSLET_SYNC chain has run when syslet_submit() returns, so it must
 * not return an error then (a caller that retries would run a write
 * twice): with the ring full its completion waits on the overflow list
 * and comes once the ring drains.
 */
TEST(sync_chain_into_a_full_ring_is_done_and_kept)
{
	struct syslet_completion c[4];
	struct syslet_ctx ctx;
	struct syslet_op w;
	char buf[8];
	int p[2], i, n = 0, ret;

	ctx_or_die(&ctx, 2);
	ASSERT_EQ(pipe(p), 0);
	syslet_prep_write(&w, p[1], "x", 1);
	syslet_op_set_flags(&w, SYSLET_SYNC);
	for (i = 0; i < 4; i++) {
		syslet_op_set_data(&w, 100 + i);
		ret = syslet_submit(&ctx, &w.atom);
		EXPECT_EQ(ret, SYSLET_DONE);
	}
	/* each ran exactly once */
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_EQ(syslet_cq_ready(&ctx), 2u);
	while (n < 4) {
		ret = syslet_reap(&ctx, &c[n], 4 - n);
		ASSERT_GT(ret, 0);
		n += ret;
	}
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(c[i].status, 1);
		EXPECT_EQ(c[i].user_data, 100u + i);
	}
	EXPECT_EQ(syslet_reap(&ctx, c, 4), 0);
	EXPECT_EQ(ctx.ring->overflow, 0u);
	close(p[0]);
	close(p[1]);
	syslet_ctx_exit(&ctx);
}

/*
 * syslet_submit_done(): a chain that completes in the caller reports
 * through *done, never through the ring; one that goes asynchronous
 * leaves *done alone and completes through the ring.
 */
TEST(submit_done)
{
	struct syslet_completion c, r;
	struct timespec ts = { 0, 20 * 1000000L };
	struct syslet_ctx ctx;
	struct syslet_op a;
	int ret;

	ctx_or_die(&ctx, 4);
	/* SYSLET_SYNC: always in the caller */
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC);
	syslet_op_set_data(&a, 21);
	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ(syslet_submit_done(&ctx, &a.atom, &c), SYSLET_DONE);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 21u);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_TRUE(c.flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);

	/*
	 * A chain that blocks goes asynchronous on every backend; but on the
	 * kernel's, a sleep that ends before the reserved taker got to run
	 * finishes in the caller (adaptive pass-on-block), which a loaded
	 * machine (a debug kernel, a busy host) makes happen for 20 ms: then
	 * *done has it, and a longer sleep is tried, up to 2 s.
	 */
	for (;;) {
		syslet_prep_nanosleep(&a, &ts);
		syslet_op_set_data(&a, 22);
		memset(&c, 0xab, sizeof(c));
		ret = syslet_submit_done(&ctx, &a.atom, &c);
		if (ret != SYSLET_DONE || ts.tv_sec >= 2)
			break;
		EXPECT_EQ(c.user_data, 22u);
		EXPECT_EQ(c.status, 0);
		EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
		ts.tv_sec = ts.tv_nsec >= 200 * 1000000L ? 2 : 0;
		ts.tv_nsec = ts.tv_sec ? 0 : 200 * 1000000L;
	}
	ASSERT_EQ(ret, SYSLET_QUEUED);
	ASSERT_EQ(wait_one(&ctx, &r), 0);
	EXPECT_EQ(r.user_data, 22u);
	EXPECT_EQ(r.status, 0);
	/* no completion in *done (the kernel zeroes it before running) */
	EXPECT_TRUE(c.user_data == 0xababababababababULL || c.user_data == 0);

	/*
	 * One that does not block: the caller (pass-on-block) or the ring,
	 * never both, never neither.
	 */
	syslet_op_init(&a, SYS_getppid, 0);
	syslet_op_set_data(&a, 23);
	memset(&c, 0xab, sizeof(c));
	ret = syslet_submit_done(&ctx, &a.atom, &c);
	if (ret == SYSLET_DONE) {
		EXPECT_EQ(c.user_data, 23u);
		EXPECT_EQ(c.status, getppid());
		EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	} else {
		ASSERT_EQ(ret, SYSLET_QUEUED);
		ASSERT_EQ(wait_one(&ctx, &r), 0);
		EXPECT_EQ(r.user_data, 23u);
		EXPECT_EQ(r.status, getppid());
		EXPECT_TRUE(c.user_data == 0xababababababababULL ||
			    c.user_data == 0);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);

	/* bad arguments */
	EXPECT_EQ(syslet_submit_done(&ctx, &a.atom, NULL), -EINVAL);
	EXPECT_EQ(syslet_submit_done(&ctx, NULL, &c), -EINVAL);
	syslet_op_set_flags(&a, SYSLET_SYNC | SYSLET_ASYNC);
	EXPECT_EQ(syslet_submit_done(&ctx, &a.atom, &c), -EINVAL);
	syslet_ctx_exit(&ctx);
}

TEST(async_no_complete)
{
	struct timespec ts = { 0, 50000000 };
	struct syslet_ctx ctx;
	struct syslet_op a;
	int i;

	ctx_or_die(&ctx, 4);
	syslet_op_init(&a, SYS_getpid, SYSLET_ASYNC | SYSLET_NO_COMPLETE);
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_QUEUED);
	for (i = 0; i < 200 && a.ret != getpid(); i++)
		nanosleep(&ts, NULL);
	EXPECT_EQ(a.ret, getpid());
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);
	syslet_ctx_exit(&ctx);
}

/* More chains in flight than max_chains: -EAGAIN. */
TEST(max_chains_eagain)
{
	struct timespec sl = { 0, 200000000 };
	struct syslet_limits set = { .size = sizeof(set), .max_chains = 2 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a[3];
	int i;

	ctx_or_die(&ctx, 4);
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	for (i = 0; i < 3; i++) {
		syslet_prep_nanosleep(&a[i], &sl);
		syslet_op_add_flags(&a[i], SYSLET_ASYNC);	/* queued at once */
	}
	ASSERT_EQ(syslet_submit(&ctx, &a[0].atom), SYSLET_QUEUED);
	ASSERT_EQ(syslet_submit(&ctx, &a[1].atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_submit(&ctx, &a[2].atom), -EAGAIN);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
