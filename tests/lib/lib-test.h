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

#endif
