// SPDX-License-Identifier: MIT
/*
 * cancel: give up on a call that blocks too long.
 *
 *	cancel [MSECS]
 *
 * A chain reads from a pipe nobody writes to, so its read() blocks for
 * ever.  After MSECS (default 200) without a completion the program
 * cancels the chain by its user word; the blocked read is interrupted and
 * the chain still posts its one completion, with status -ECANCELED and
 * SYSLET_COMP_CANCELED.  The atom after the read never runs.
 *
 * The ring here lives on the stack (syslet_ctx_init_mem): any memory will
 * do, nothing is registered or pinned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <syslet.h>

int main(int argc, char **argv)
{
	_Alignas(SYSLET_RING_ALIGN) char ring[SYSLET_RING_BYTES(4)];
	long msecs = argc > 1 ? atol(argv[1]) : 200;
	struct timespec tmo = { msecs / 1000, (msecs % 1000) * 1000000 };
	struct syslet_op rd, wr;
	struct syslet_completion c;
	struct syslet_ctx ctx;
	char buf[16];
	int p[2], ret;

	if (pipe(p))
		return 1;
	ret = syslet_ctx_init_mem(&ctx, ring, sizeof(ring), 0);
	if (ret < 0) {
		fprintf(stderr, "syslet_ctx_init_mem: %s\n", strerror(-ret));
		return 1;
	}

	syslet_prep_read(&rd, p[0], buf, sizeof(buf));	/* blocks */
	syslet_op_set_data(&rd, 7);
	syslet_prep_write(&wr, STDOUT_FILENO, "never printed\n", 14);
	syslet_op_link(&rd, &wr);
	ret = syslet_submit(&ctx, &rd.atom);
	if (ret < 0) {
		fprintf(stderr, "syslet_submit: %s\n", strerror(-ret));
		return 1;
	}

	ret = syslet_wait(&ctx, 1, &tmo);
	printf("after %ld ms: %s\n", msecs,
	       ret == -ETIME ? "still blocked, cancelling" : "completed?!");
	ret = syslet_cancel(&ctx, 7, 0);
	if (ret < 0) {
		fprintf(stderr, "syslet_cancel: %s\n", strerror(-ret));
		return 1;
	}
	ret = syslet_wait_completion(&ctx, &c);
	if (ret < 0) {
		fprintf(stderr, "syslet_wait_completion: %s\n", strerror(-ret));
		return 1;
	}
	printf("chain %llu: status %lld (%s), %scancelled flag, %u atom(s) "
	       "ran, read's own result %lld (%s backend)\n",
	       (unsigned long long)c.user_data, (long long)c.status,
	       strerror((int)-c.status),
	       c.flags & SYSLET_COMP_CANCELED ? "" : "no ", c.nr_atoms,
	       (long long)rd.ret, syslet_backend_name(&ctx));
	syslet_ctx_exit(&ctx);
	return c.status == -ECANCELED ? 0 : 1;
}
