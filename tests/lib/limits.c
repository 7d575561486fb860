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

TAP_MAIN
