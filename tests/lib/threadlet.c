// SPDX-License-Identifier: GPL-2.0
/* libsyslet threadlets: a C function run asynchronously. */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>
#include "lib-test.h"

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

	ctx_or_die(&ctx, 512);
	ctx_or_die(&ctx2, 4);
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

TAP_MAIN
