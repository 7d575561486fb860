// SPDX-License-Identifier: GPL-2.0
/* libsyslet preparers: syslet_prep_*() on files, pipes and sockets. */
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

/* The remaining preparers, each checked by its effect. */
TEST(preparers_write_sync_splice_sockets)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op[4];
	int64_t off_out = 0;
	char buf[32] = "";
	int fd, p[2], sv[2];

	fd = tmpfile_with("", 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctx_or_die(&ctx, 8);

	/* pwrite -> fsync -> fdatasync -> write, one chain */
	syslet_prep_pwrite(&op[0], fd, "abcd", 4, 10);
	syslet_prep_fsync(&op[1], fd);
	syslet_prep_fdatasync(&op[2], fd);
	syslet_prep_write(&op[3], p[1], "pipe!", 5);
	syslet_op_link(&op[0], &op[1]);
	syslet_op_link(&op[1], &op[2]);
	syslet_op_link(&op[2], &op[3]);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.nr_atoms, 4u);
	EXPECT_EQ(op[0].ret, 4);
	EXPECT_EQ(op[1].ret, 0);
	EXPECT_EQ(op[2].ret, 0);
	EXPECT_EQ(c.status, 5);
	ASSERT_EQ(pread(fd, buf, 4, 10), 4);
	EXPECT_EQ(memcmp(buf, "abcd", 4), 0);

	/* splice the pipe's 5 bytes into the file at offset 0 */
	syslet_prep_splice(&op[0], p[0], NULL, fd, &off_out, 5, 0);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 5);
	EXPECT_EQ(off_out, 5);
	ASSERT_EQ(pread(fd, buf, 5, 0), 5);
	EXPECT_EQ(memcmp(buf, "pipe!", 5), 0);

	/* send on one end, recv on the other */
	syslet_prep_send(&op[0], sv[0], "sock", 4, 0);
	syslet_prep_recv(&op[1], sv[1], buf, sizeof(buf), 0);
	syslet_op_link(&op[0], &op[1]);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(op[0].ret, 4);
	EXPECT_EQ(c.status, 4);
	EXPECT_EQ(memcmp(buf, "sock", 4), 0);
	syslet_ctx_exit(&ctx);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TAP_MAIN
