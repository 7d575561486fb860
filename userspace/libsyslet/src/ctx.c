// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet: contexts (the ring, set up for the backend chosen) and the
 * backend table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* --- backends -------------------------------------------------------- */

/* indexed by enum syslet_backend_type */
const struct syslet_backend_ops *const __syslet_backends[3] = {
	[SYSLET_BACKEND_KERNEL] = &__syslet_kernel_ops,
	[SYSLET_BACKEND_EMULATED] = &__syslet_emu_ops,
};

/* --- contexts -------------------------------------------------------- */

static int pick_backend(unsigned int flags)
{
	const char *env;

	if (flags & SYSLET_CTX_KERNEL)
		return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
						   -ENOSYS;
	if (flags & SYSLET_CTX_EMULATED)
		return SYSLET_BACKEND_EMULATED;
	env = getenv("SYSLET_BACKEND");
	if (env && !strcmp(env, "kernel"))
		return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
						   -ENOSYS;
	if (env && !strcmp(env, "emulated"))
		return SYSLET_BACKEND_EMULATED;
	if (env && *env && strcmp(env, "auto"))
		return -EINVAL;
	return syslet_kernel_supported() ? SYSLET_BACKEND_KERNEL :
					   SYSLET_BACKEND_EMULATED;
}

static int ctx_setup(struct syslet_ctx *ctx, struct syslet_ring *ring,
		     unsigned int entries, unsigned int flags)
{
	int backend = pick_backend(flags);

	if (backend < 0)
		return backend;
	memset(ring, 0, SYSLET_RING_BYTES(entries));
	ring->size = sizeof(*ring);
	ring->nr_entries = entries;
	ring->flags = 0;
	ctx->ring = ring;
	ctx->ring_entries = entries;
	ctx->ring_mask = entries - 1;
	ctx->backend = (unsigned int)backend;
	ctx->__priv[0] = NULL;
	return ctx_ops(ctx)->ctx_init(ctx);
}

#define BOTH_BACKENDS	(SYSLET_CTX_EMULATED | SYSLET_CTX_KERNEL)
#define BOTH_TL_MODES	(SYSLET_CTX_INCALLER | SYSLET_CTX_NO_INCALLER)

static int bad_flags(unsigned int flags)
{
	return (flags & ~SYSLET_CTX_F_ALL) ||
	       (flags & BOTH_BACKENDS) == BOTH_BACKENDS ||
	       (flags & BOTH_TL_MODES) == BOTH_TL_MODES;
}

SYSLET_API int syslet_ctx_init(struct syslet_ctx *ctx, unsigned int entries,
			       unsigned int flags)
{
	unsigned int n = 1;
	void *mem;
	int ret;

	if (!ctx || bad_flags(flags))
		return -EINVAL;
	if (!entries || entries > SYSLET_RING_MAX_ENTRIES)
		return -EINVAL;
	while (n < entries)
		n <<= 1;
	mem = aligned_alloc(SYSLET_RING_ALIGN,
			    (SYSLET_RING_BYTES(n) + SYSLET_RING_ALIGN - 1) &
			    ~(size_t)(SYSLET_RING_ALIGN - 1));
	if (!mem)
		return -ENOMEM;
	memset(ctx, 0, sizeof(*ctx));
	ctx->flags = flags | SYSLET_CTX_OWN_MEM;
	ret = ctx_setup(ctx, mem, n, flags);
	if (ret) {
		free(mem);
		ctx->ring = NULL;
	}
	return ret;
}

SYSLET_API int syslet_ctx_init_mem(struct syslet_ctx *ctx, void *mem,
				   size_t bytes, unsigned int flags)
{
	unsigned int n = SYSLET_RING_MAX_ENTRIES;

	if (!ctx || !mem || ((uintptr_t)mem & (SYSLET_RING_ALIGN - 1)) ||
	    bad_flags(flags))
		return -EINVAL;
	while (n && SYSLET_RING_BYTES(n) > bytes)
		n >>= 1;
	if (!n)
		return -EINVAL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->flags = flags;
	return ctx_setup(ctx, mem, n, flags);
}

SYSLET_API void syslet_ctx_exit(struct syslet_ctx *ctx)
{
	if (!ctx || !ctx->ring)
		return;
	/*
	 * 0: the backend keeps the ring (the kernel one, while chains it
	 * has no call to cancel still run: kernel.c) and frees it later.
	 */
	if (ctx_ops(ctx)->ctx_exit(ctx) && (ctx->flags & SYSLET_CTX_OWN_MEM))
		free(ctx->ring);
	ctx->ring = NULL;
}

SYSLET_API int syslet_backend(const struct syslet_ctx *ctx)
{
	return (int)ctx->backend;
}

SYSLET_API const char *syslet_backend_name(const struct syslet_ctx *ctx)
{
	return ctx_ops(ctx)->name;
}
