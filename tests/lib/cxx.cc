// SPDX-License-Identifier: GPL-2.0
/*
 * <syslet.h> (and with it <linux/syslet.h>) compiles as C++ with
 * g++ -Wall -Wextra -pedantic -Werror (tests/lib/Makefile builds this file
 * as C++11 and C++20), and a C++ program links against libsyslet and runs
 * a chain through it.  A C-only construct in either header (a field named
 * 'private', a flexible array member under -pedantic, an implicit void *
 * conversion in an inline function) breaks the build of the tests.
 */
#include <syslet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int n, failed;

static void ok(bool cond, const char *what)
{
	++n;
	if (!cond)
		failed = 1;
	printf("%sok %d %s\n", cond ? "" : "not ", n, what);
}

int main()
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op[2];
	struct syslet_atom a;
	int fds[2];
	char buf[8] = { 0 };

	printf("TAP version 13\n1..4\n");
	ok(syslet_ctx_init(&ctx, 8, 0) == 0, "syslet_ctx_init from C++");
	syslet_atom_init(&a, SYS_getpid, 0);
	syslet_atom_set_data(&a, 42);
	ok(a.user_data == 42 && a.nr == SYS_getpid,
	   "inline atom helpers compile and work as C++");
	if (pipe(fds))
		return 1;
	if (write(fds[1], "c++", 3) != 3)
		return 1;
	syslet_prep_read(&op[0], fds[0], buf, sizeof(buf));
	syslet_op_set_data(&op[0], 7);
	syslet_prep_close(&op[1], fds[0]);
	syslet_op_link(&op[0], &op[1]);
	ok(syslet_submit(&ctx, &op[0].atom) >= 0 &&
	   syslet_wait_completion(&ctx, &c) == 0 && c.user_data == 7 &&
	   c.status == 0 && op[0].ret == 3 && !memcmp(buf, "c++", 3),
	   "a read -> close chain submitted from C++ completes");
	{
		struct syslet_completion *cp;
		unsigned int i, seen = 0;

		syslet_op_init(&op[1], SYS_getpid, SYSLET_SYNC);
		if (syslet_submit(&ctx, &op[1].atom) != SYSLET_DONE)
			failed = 1;
		syslet_for_each_completion(&ctx, i, cp)
			seen += cp->status == getpid();
		syslet_cq_advance(&ctx, syslet_cq_ready(&ctx));
		if (seen != 1)
			failed = 1;
	}
	ok(SYSLET_RING_BYTES(ctx.ring_entries) ==
	   sizeof(struct syslet_ring) + 8 * sizeof(struct syslet_completion),
	   "SYSLET_RING_BYTES() in C++");
	syslet_ctx_exit(&ctx);
	close(fds[1]);
	return failed;
}
