// SPDX-License-Identifier: GPL-2.0
/* libsyslet contexts: syslet_ctx_init(), syslet_ctx_init_mem(), backend selection. */
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

TEST(ctx_init_rounds_and_rejects)
{
	struct syslet_ctx ctx;

	ASSERT_EQ(syslet_ctx_init(&ctx, 0, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 65537, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 8, 0x100), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 8, SYSLET_CTX_EMULATED |
				  SYSLET_CTX_KERNEL), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 5, 0), 0);
	EXPECT_EQ(ctx.ring_entries, 8u);
	EXPECT_EQ(ctx.ring->nr_entries, 8u);
	EXPECT_EQ(ctx.ring->size, (unsigned int)sizeof(struct syslet_ring));
	EXPECT_EQ((uintptr_t)ctx.ring % SYSLET_RING_ALIGN, 0u);
	syslet_ctx_exit(&ctx);
}

TEST(ctx_backend_selection)
{
	const char *env = getenv("SYSLET_BACKEND");
	struct syslet_ctx ctx;

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_EMULATED), 0);
	EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_EMULATED);
	EXPECT_EQ(strcmp(syslet_backend_name(&ctx), "emulated"), 0);
	syslet_ctx_exit(&ctx);

	if (syslet_kernel_supported()) {
		ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_KERNEL), 0);
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_KERNEL);
		syslet_ctx_exit(&ctx);
	} else {
		EXPECT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_KERNEL), -ENOSYS);
	}
	ctx_or_die(&ctx, 4);
	if (env && !strcmp(env, "emulated"))
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_EMULATED);
	if (env && !strcmp(env, "kernel"))
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_KERNEL);
	syslet_ctx_exit(&ctx);

	setenv("SYSLET_BACKEND", "bogus", 1);
	EXPECT_EQ(syslet_ctx_init(&ctx, 4, 0), -EINVAL);
}

TEST(ctx_init_mem_stack_ring)
{
	_Alignas(64) char mem[SYSLET_RING_BYTES(16) + 40];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;

	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem + 8, sizeof(mem) - 8, 0),
		  -EINVAL);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, 100, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, sizeof(mem), 0), 0);
	EXPECT_EQ(ctx.ring_entries, 16u);
	EXPECT_EQ((void *)ctx.ring, (void *)mem);
	syslet_op_init(&op, SYS_getpid, 0);
	syslet_op_set_data(&op, 5);
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 5u);
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
