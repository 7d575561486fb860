// SPDX-License-Identifier: MIT
/*
 * oneshot-read: the smallest use of libsyslet - read the start of a file
 * asynchronously and wait for the result.
 *
 *	oneshot-read FILE
 *
 * The three lines that matter are marked.  Everything else is setup and
 * error handling.  Works on either backend (SYSLET_BACKEND=kernel|emulated).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <syslet.h>

int main(int argc, char **argv)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	char buf[128];
	int fd, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	ret = syslet_ctx_init(&ctx, 8, 0);
	if (ret < 0) {
		fprintf(stderr, "syslet_ctx_init: %s\n", strerror(-ret));
		return 1;
	}

	syslet_prep_pread(&op, fd, buf, sizeof(buf) - 1, 0);	/* 1 */
	ret = syslet_submit(&ctx, &op.atom);			/* 2 */
	if (ret >= 0)
		ret = syslet_wait_completion(&ctx, &c);		/* 3 */
	if (ret < 0) {
		fprintf(stderr, "syslet: %s\n", strerror(-ret));
		return 1;
	}

	if (c.status < 0) {
		fprintf(stderr, "pread: %s\n", strerror((int)-c.status));
		return 1;
	}
	buf[c.status] = '\0';
	printf("backend %s: read %lld bytes: \"%.40s%s\"\n",
	       syslet_backend_name(&ctx), (long long)c.status, buf,
	       c.status > 40 ? "..." : "");
	syslet_ctx_exit(&ctx);
	close(fd);
	return 0;
}
