// SPDX-License-Identifier: GPL-2.0
/* libsyslet chains: ops, data flow, stop and skip flags, bad flags, the atom limit. */
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

TEST(one_off_pread)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	char buf[64] = "";
	int fd = tmpfile_with(msg, sizeof(msg) - 1);

	ASSERT_GE(fd, 0);
	ctx_or_die(&ctx, 8);
	syslet_prep_pread(&op, fd, buf, sizeof(buf), 6);
	syslet_op_set_data(&op, 0xabcdef);
	/* queued, or done in the caller (kernel pass-on-block): in the ring */
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, (int64_t)sizeof(msg) - 1 - 6);
	EXPECT_EQ(op.ret, c.status);
	EXPECT_EQ(c.user_data, 0xabcdefu);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&op.atom);
	EXPECT_EQ(c.flags & ~SYSLET_COMP_SYNC, 0u);
	EXPECT_EQ(memcmp(buf, msg + 6, sizeof(msg) - 7), 0);
	syslet_ctx_exit(&ctx);
	close(fd);
}

/* open -> read -> close with the fd flowing from openat's ret. */
TEST(chain_data_flow)
{
	char path[] = "/tmp/syslet-lib-XXXXXX";
	struct syslet_op op[3];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	char buf[64] = "";
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
	close(fd);
	ctx_or_die(&ctx, 8);
	syslet_prep_openat(&op[0], AT_FDCWD, path, O_RDONLY, 0);
	syslet_op_add_flags(&op[0], SYSLET_STOP_ON_NEGATIVE);
	syslet_prep_read(&op[1], -1, buf, sizeof(buf));
	syslet_op_arg_ret(&op[1], 0, &op[0]);
	syslet_prep_close(&op[2], -1);
	syslet_op_arg_ret(&op[2], 0, &op[0]);
	syslet_op_link(&op[0], &op[1]);
	syslet_op_link(&op[1], &op[2]);
	syslet_op_set_data(&op[0], 7);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 0);		/* close */
	EXPECT_EQ(c.nr_atoms, 3u);
	EXPECT_GE(op[0].ret, 0);
	EXPECT_EQ(op[1].ret, (int64_t)sizeof(msg) - 1);
	EXPECT_EQ(memcmp(buf, msg, sizeof(msg) - 1), 0);
	/* the fd was closed by the chain */
	EXPECT_EQ(fcntl((int)op[0].ret, F_GETFD), -1);

	/* and a failing open stops the chain there */
	unlink(path);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, -ENOENT);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&op[0].atom);
	syslet_ctx_exit(&ctx);
}

TEST(stop_flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;

	ctx_or_die(&ctx, 8);
	/* getppid > 0: STOP_ON_NONZERO stops, STOP_ON_ZERO does not */
	syslet_op_init(&a, SYS_getppid, SYSLET_STOP_ON_NONZERO);
	syslet_op_init(&b, SYS_getpid, 0);
	syslet_op_link(&a, &b);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getppid());
	EXPECT_EQ(c.nr_atoms, 1u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_ZERO);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NON_POSITIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	/* close(-1) = -EBADF: negative stops */
	syslet_prep_close(&a, -1);
	syslet_op_link(&a, &b);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NEGATIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EBADF);
	EXPECT_EQ(c.nr_atoms, 1u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NON_POSITIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EBADF);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_ZERO);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_ctx_exit(&ctx);
}

/* SKIP_TO_NEXT_ON_STOP branches to the atom laid out after this one. */
TEST(skip_to_next_branch)
{
	static uint64_t badfd = (uint64_t)-1;
	struct syslet_atom at[3];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int64_t r[3] = { 1, 1, 1 };

	ctx_or_die(&ctx, 8);
	syslet_atom_init(&at[0], SYS_close, SYSLET_STOP_ON_NEGATIVE |
			 SYSLET_SKIP_TO_NEXT_ON_STOP);
	syslet_atom_arg(&at[0], 0, &badfd);
	syslet_atom_ret(&at[0], &r[0]);
	syslet_atom_init(&at[1], SYS_getppid, 0);	/* the branch */
	syslet_atom_ret(&at[1], &r[1]);
	syslet_atom_init(&at[2], SYS_getpid, 0);	/* 'next' */
	syslet_atom_ret(&at[2], &r[2]);
	syslet_atom_link(&at[0], &at[2]);
	EXPECT_EQ(run1(&ctx, &at[0], &c), getppid());
	EXPECT_EQ(r[0], -EBADF);
	EXPECT_EQ(r[1], getppid());
	EXPECT_EQ(r[2], 1);
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_ctx_exit(&ctx);
}

TEST(bad_flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;

	ctx_or_die(&ctx, 8);
	syslet_op_init(&a, SYS_getpid, 0x80000000u);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC | SYSLET_ASYNC);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	/* unknown flags in a later atom end the chain with -EINVAL */
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_op_init(&b, SYS_getpid, 0x40000000u);
	syslet_op_link(&a, &b);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EINVAL);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&b.atom);
	/* SYSLET_NOSIGNAL: only with SYSLET_ASYNC, on both backends */
	syslet_op_init(&a, SYS_getpid, SYSLET_NOSIGNAL);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	syslet_op_init(&a, SYS_getpid, SYSLET_NOSIGNAL | SYSLET_SYNC);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_op_init(&a, SYS_getpid, SYSLET_NOSIGNAL | SYSLET_ASYNC);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	syslet_ctx_exit(&ctx);
}

/*
 * ABI v1: an atom's reserved words must be zero, on both backends (head:
 * refused; later atom: ends the chain, not run), and syslet_atom_init()
 * and syslet_op_init() zero them in a struct full of stack garbage.
 */
TEST(reserved_words_zeroed_by_init_and_checked)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;
	struct syslet_atom at;

	ctx_or_die(&ctx, 8);
	memset(&a, 0xa5, sizeof(a));
	memset(&at, 0x5a, sizeof(at));
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_atom_init(&at, SYS_getpid, SYSLET_SYNC);
	EXPECT_EQ(a.atom.__reserved[0] | a.atom.__reserved[1], 0u);
	EXPECT_EQ(at.__reserved[0] | at.__reserved[1], 0u);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	EXPECT_EQ(syslet_submit(&ctx, &at), SYSLET_DONE);
	syslet_cq_advance(&ctx, syslet_cq_ready(&ctx));

	a.atom.__reserved[1] = 1;
	a.ret = 12345;
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	EXPECT_EQ(a.ret, 12345);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_op_init(&b, SYS_getppid, 0);
	b.atom.__reserved[0] = 1;
	b.ret = 12345;
	syslet_op_link(&a, &b);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EINVAL);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&b.atom);
	EXPECT_EQ(b.ret, 12345);
	syslet_ctx_exit(&ctx);
}

TEST(chain_too_long_eloop)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a;

	ctx_or_die(&ctx, 8);
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_op_link(&a, &a);		/* a loop */
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -ELOOP);
	EXPECT_EQ(c.nr_atoms, (unsigned int)SYSLET_MAX_ATOMS);
	syslet_ctx_exit(&ctx);
}

/*
 * syslet_op_arg() sets an argument by value, also after the argument was
 * pointed at another op's result; syslet_atom_set_data() sets a raw
 * chain's user word, which only the head atom's counts.
 */
TEST(op_arg_and_atom_set_data)
{
	struct syslet_atom at[2];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op, src;
	int64_t r0 = 0, r1 = 0;
	unsigned int i;
	int fd = tmpfile_with(msg, sizeof(msg) - 1);

	ASSERT_GE(fd, 0);
	ctx_or_die(&ctx, 8);
	/* lseek(fd, 5, SEEK_SET) -> 5, every argument by value */
	syslet_op_init(&op, SYS_lseek, 0);
	syslet_op_arg(&op, 0, (uint64_t)fd);
	syslet_op_arg(&op, 1, 5);
	syslet_op_arg(&op, 2, SEEK_SET);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(op.atom.arg_ptr[i], (uint64_t)(uintptr_t)&op.arg[i]);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 5);
	EXPECT_EQ(op.ret, 5);
	/* offset from another op's result slot, then by value again */
	syslet_op_init(&src, SYS_getpid, 0);
	src.ret = 7;
	syslet_op_arg_ret(&op, 1, &src);
	EXPECT_EQ(op.atom.arg_ptr[1], (uint64_t)(uintptr_t)&src.ret);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 7);
	syslet_op_arg(&op, 1, 9);
	EXPECT_EQ(op.atom.arg_ptr[1], (uint64_t)(uintptr_t)&op.arg[1]);
	EXPECT_EQ(op.arg[1], 9u);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 9);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 9);

	/* a raw two-atom chain: the head's user word is the chain's */
	syslet_atom_init(&at[0], SYS_getpid, 0);
	syslet_atom_ret(&at[0], &r0);
	syslet_atom_set_data(&at[0], 0x1234567890abcdefULL);
	EXPECT_EQ(at[0].user_data, 0x1234567890abcdefULL);
	syslet_atom_init(&at[1], SYS_getppid, 0);
	syslet_atom_ret(&at[1], &r1);
	syslet_atom_set_data(&at[1], 99);
	syslet_atom_link(&at[0], &at[1]);
	ASSERT_GE(syslet_submit(&ctx, &at[0]), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 0x1234567890abcdefULL);
	EXPECT_EQ(c.nr_atoms, 2u);
	EXPECT_EQ(c.status, getppid());
	EXPECT_EQ(r0, getpid());
	EXPECT_EQ(r1, getppid());
	/* set again, the next submission carries the new word */
	syslet_atom_set_data(&at[0], 5);
	ASSERT_GE(syslet_submit(&ctx, &at[0]), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 5u);
	syslet_ctx_exit(&ctx);
	close(fd);
}

TAP_MAIN
