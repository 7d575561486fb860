// SPDX-License-Identifier: GPL-2.0
/*
 * The consumer fast path of <syslet.h> (inline): syslet_cq_ready(),
 * syslet_peek_completion(), syslet_for_each_completion() and one
 * syslet_cq_advance() per batch, through a ring that overflows.
 */
#define _GNU_SOURCE
#include "lib-test.h"

/* @n getpid chains into a ring of 4: the rest wait on the overflow list */
static void submit_getpids(struct syslet_ctx *ctx, struct syslet_op *op,
			   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		syslet_op_init(&op[i], SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&op[i], i);
		ASSERT_EQ(syslet_submit(ctx, &op[i].atom), SYSLET_DONE);
	}
}

TEST(for_each_then_one_advance_per_batch)
{
	struct syslet_completion *c;
	struct syslet_ctx ctx;
	struct syslet_op op[10];
	unsigned int i, n, seen = 0, batches = 0;

	ctx_or_die(&ctx, 4);
	submit_getpids(&ctx, op, 10);
	EXPECT_EQ(syslet_cq_ready(&ctx), 4u);
	while (seen < 10 && batches < 10) {
		n = 0;
		syslet_for_each_completion(&ctx, i, c) {
			EXPECT_EQ(c->user_data, (uint64_t)seen + n);
			EXPECT_EQ(c->status, getpid());
			n++;
		}
		/* seen, not consumed: the ring still holds them */
		EXPECT_EQ(syslet_cq_ready(&ctx), n);
		syslet_cq_advance(&ctx, n);
		seen += n;
		batches++;
	}
	EXPECT_EQ(seen, 10u);
	EXPECT_GE(batches, 3u);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	EXPECT_EQ(ctx.ring->overflow, 0u);
	syslet_ctx_exit(&ctx);
}

TEST(peek_advance_through_an_overflow)
{
	struct syslet_completion *c;
	struct syslet_ctx ctx;
	struct syslet_op op[9];
	unsigned int i;

	ctx_or_die(&ctx, 4);
	submit_getpids(&ctx, op, 9);
	for (i = 0; i < 9; i++) {
		ASSERT_EQ(syslet_peek_completion(&ctx, &c), 0);
		EXPECT_EQ(c->user_data, (uint64_t)i);
		syslet_cq_advance(&ctx, 1);
	}
	EXPECT_EQ(syslet_peek_completion(&ctx, &c), -EAGAIN);
	syslet_ctx_exit(&ctx);
}

/* the library's own functions (old binaries, function pointers) agree */
TEST(out_of_line_functions_still_work)
{
	int (*peek)(struct syslet_ctx *, struct syslet_completion **) =
		syslet_peek_completion;
	void (*advance)(struct syslet_ctx *, unsigned int) = syslet_cq_advance;
	unsigned int (*ready)(const struct syslet_ctx *) = syslet_cq_ready;
	struct syslet_completion *c;
	struct syslet_ctx ctx;
	struct syslet_op op[6];
	unsigned int i;

	ctx_or_die(&ctx, 4);
	submit_getpids(&ctx, op, 6);
	EXPECT_EQ(ready(&ctx), 4u);
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(peek(&ctx, &c), 0);
		EXPECT_EQ(c->user_data, (uint64_t)i);
		advance(&ctx, 1);
	}
	EXPECT_EQ(peek(&ctx, &c), -EAGAIN);
	syslet_ctx_exit(&ctx);
}

TEST(peek_advance_order)
{
	struct syslet_completion *pc;
	struct syslet_ctx ctx;
	struct syslet_op a[8];
	int i;

	ctx_or_die(&ctx, 8);
	for (i = 0; i < 8; i++) {
		syslet_op_init(&a[i], SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&a[i], 100 + i);
		ASSERT_EQ(syslet_submit(&ctx, &a[i].atom), SYSLET_DONE);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 8u);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(syslet_peek_completion(&ctx, &pc), 0);
		EXPECT_EQ(pc->user_data, (uint64_t)(100 + i));
		syslet_cq_advance(&ctx, 1);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
