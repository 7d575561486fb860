/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the libsyslet TAP tests. */
#ifndef LIBSYSLET_TEST_H
#define LIBSYSLET_TEST_H

#include <syslet.h>
#include "../tap.h"

/* A context on whatever $SYSLET_BACKEND selects. */
static inline void ctx_or_die(struct syslet_ctx *ctx, unsigned int entries)
{
	int ret = syslet_ctx_init(ctx, entries, 0);

	if (ret) {
		printf("# syslet_ctx_init: %d\n", ret);
		_exit(1);
	}
}

static inline int wait_one(struct syslet_ctx *ctx, struct syslet_completion *c)
{
	return syslet_wait_completion(ctx, c);
}

/* a short text, and an unlinked temporary file holding @data */
static const char msg[] = "hello, syslets\n";

static inline int tmpfile_with(const char *data, size_t len)
{
	char path[] = "/tmp/syslet-lib-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len)
		return -1;
	return fd;
}

/* submits @head, waits for one completion: its status, or -errno */
static inline int64_t run1(struct syslet_ctx *ctx, struct syslet_atom *head,
			   struct syslet_completion *c)
{
	int ret = syslet_submit(ctx, head);

	if (ret < 0)
		return ret;
	ret = wait_one(ctx, c);
	return ret < 0 ? ret : c->status;
}

#endif
