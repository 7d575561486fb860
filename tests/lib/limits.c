// SPDX-License-Identifier: GPL-2.0
/* libsyslet limits: syslet_limits(). */
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

TEST(limits)
{
	struct syslet_limits get, set;
	struct syslet_ctx ctx;

	ctx_or_die(&ctx, 4);
	ASSERT_EQ(syslet_limits(&ctx, NULL, &get), 0);
	EXPECT_EQ(get.size, (unsigned int)sizeof(get));
	EXPECT_GT(get.max_threads, 0u);
	EXPECT_GT(get.max_chains, 0u);
	memset(&set, 0, sizeof(set));
	EXPECT_EQ(syslet_limits(&ctx, &set, NULL), -EINVAL);	/* size */
	set.size = sizeof(set);
	set.max_chains = 3;
	ASSERT_EQ(syslet_limits(&ctx, &set, &get), 0);
	EXPECT_EQ(get.max_chains, 3u);
	set.max_chains = 0xffffffff;
	EXPECT_EQ(syslet_limits(&ctx, &set, NULL), -EINVAL);
	syslet_ctx_exit(&ctx);
}

/*
 * ABI v1 sizes and reserved words of a 'set', the same on both backends
 * (the kernel's own checks: tests/kernel/abi.c): a smaller struct down to
 * 16 bytes, a bigger one with a zero tail (E2BIG if not), reserved words 0.
 */
TEST(limits_abi_v1_sizes)
{
	union { struct syslet_limits l; unsigned char b[128]; } u;
	struct syslet_limits get;
	struct syslet_ctx ctx;

	ctx_or_die(&ctx, 4);
	memset(&u, 0, sizeof(u));
	u.l.size = SYSLET_LIMITS_SIZE_VER0;
	u.l.max_chains = 71;
	u.b[20] = 0xff;			/* past its size: not read */
	EXPECT_EQ(syslet_limits(&ctx, &u.l, &get), 0);
	EXPECT_EQ(get.max_chains, 71u);
	u.l.size = 8;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -EINVAL);
	u.l.size = 20;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -EINVAL);
	u.l.size = 8192;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -E2BIG);

	memset(&u, 0, sizeof(u));
	u.l.size = sizeof(u);
	u.l.max_chains = 72;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, &get), 0);
	EXPECT_EQ(get.max_chains, 72u);
	u.b[100] = 1;
	u.l.max_chains = 73;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -E2BIG);
	u.b[100] = 0;
	u.l.size = sizeof(u.l);
	u.l.__reserved2[1] = 1;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -EINVAL);
	u.l.__reserved2[1] = 0;
	u.l.__reserved = 1;
	EXPECT_EQ(syslet_limits(&ctx, &u.l, NULL), -EINVAL);
	EXPECT_EQ(syslet_limits(&ctx, NULL, &get), 0);
	EXPECT_EQ(get.max_chains, 72u);
	EXPECT_EQ(get.size, (unsigned int)sizeof(get));
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
