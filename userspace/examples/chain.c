// SPDX-License-Identifier: MIT
/*
 * chain: open -> read -> close as ONE chain, with data flow.  The file
 * descriptor that openat() returns is never seen by this program before the
 * chain ends: read and close take it straight from open's result slot
 * (syslet_op_arg_ret()), the way the 2007 syslet examples did.
 *
 *	chain FILE
 *
 * Stop flags: if openat() fails (negative result) the chain stops there
 * (SYSLET_STOP_ON_NEGATIVE), so read and close never see a bad descriptor.
 * A failing read does not stop the chain: close must still run.
 *
 * The completion reports the last atom run (its status, its address and
 * how many atoms ran); every atom's own result stays in its op's ->ret.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslet.h>

int main(int argc, char **argv)
{
	struct syslet_op open_op, read_op, close_op;
	struct syslet_completion c;
	struct syslet_ctx ctx;
	char buf[64];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	ret = syslet_ctx_init(&ctx, 4, 0);
	if (ret < 0) {
		fprintf(stderr, "syslet_ctx_init: %s\n", strerror(-ret));
		return 1;
	}

	syslet_prep_openat(&open_op, AT_FDCWD, argv[1], O_RDONLY, 0);
	syslet_op_add_flags(&open_op, SYSLET_STOP_ON_NEGATIVE);
	syslet_op_set_data(&open_op, 42);		/* the chain's user word */

	syslet_prep_read(&read_op, -1, buf, sizeof(buf) - 1);
	syslet_op_arg_ret(&read_op, 0, &open_op);	/* fd = open's result */

	syslet_prep_close(&close_op, -1);
	syslet_op_arg_ret(&close_op, 0, &open_op);	/* the same fd */

	syslet_op_link(&open_op, &read_op);
	syslet_op_link(&read_op, &close_op);

	ret = syslet_submit(&ctx, &open_op.atom);
	if (ret >= 0)
		ret = syslet_wait_completion(&ctx, &c);
	if (ret < 0) {
		fprintf(stderr, "syslet: %s\n", strerror(-ret));
		return 1;
	}

	printf("chain %llu: %u atoms ran, last %s, status %lld\n",
	       (unsigned long long)c.user_data, c.nr_atoms,
	       c.atom == (uintptr_t)&open_op ? "openat" :
	       c.atom == (uintptr_t)&read_op ? "read" :
	       c.atom == (uintptr_t)&close_op ? "close" : "?",
	       (long long)c.status);
	syslet_ctx_exit(&ctx);
	if (open_op.ret < 0) {
		printf("openat: %s\n", strerror((int)-open_op.ret));
		return 1;
	}
	printf("openat -> fd %lld, read -> %lld, close -> %lld\n",
	       (long long)open_op.ret, (long long)read_op.ret,
	       (long long)close_op.ret);
	if (read_op.ret > 0) {
		buf[read_op.ret] = '\0';
		printf("data: \"%.40s%s\"\n", buf, read_op.ret > 40 ? "..." : "");
	}
	return read_op.ret < 0 || close_op.ret < 0;
}
