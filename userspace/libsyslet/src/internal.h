/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsyslet internals shared by the common code (ctx.c, queue.c), the
 * system calls (sys.c), the kernel backend (kernel.c, threadlet.c) and
 * the emulated backend (emu/).
 */
#ifndef LIBSYSLET_INTERNAL_H
#define LIBSYSLET_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#define LIBSYSLET_NO_INLINE	/* the library defines the functions */
#include "syslet.h"

#define SYSLET_API __attribute__((visibility("default")))

/* __NR_async_exec etc.: <linux/syslet.h>, the one place they are defined */
#define SYSLET_STR_(x)		#x
#define SYSLET_STR(x)		SYSLET_STR_(x)

/* ctx->flags bits above SYSLET_CTX_F_ALL */
#define SYSLET_CTX_OWN_MEM	0x00010000U /* ring allocated by the library */

/*
 * A backend: what the calls of queue.c and ctx.c do on it.  Two exist,
 * __syslet_kernel_ops (kernel.c) and __syslet_emu_ops (emu/ctx.c), found by
 * ctx->backend in __syslet_backends[] (ctx.c).
 */
struct syslet_backend_ops {
	const char *name;
	int (*ctx_init)(struct syslet_ctx *ctx);
	/* 1: the caller may free the ring; 0: the backend keeps it */
	int (*ctx_exit)(struct syslet_ctx *ctx);
	/*
	 * @done NULL: the completion goes to the ring.  Else a chain that
	 * completes in the caller writes *@done instead (the emulated
	 * backend completes only SYSLET_SYNC chains in the caller).
	 */
	int (*submit)(struct syslet_ctx *ctx, const struct syslet_atom *head,
		      struct syslet_completion *done);
	/* @sigmask NULL: the thread's mask is left alone */
	int (*wait)(struct syslet_ctx *ctx, unsigned int min,
		    const struct timespec *ts, const sigset_t *sigmask);
	/* syslet_wait_posted(): until the head moves; SA_RESTART goes on */
	int (*wait_posted)(struct syslet_ctx *ctx, uint32_t head);
	/* syslet_pwait_posted(): the same, timed or with a mask, or both */
	int (*pwait_posted)(struct syslet_ctx *ctx, uint32_t head,
			    const struct timespec *ts,
			    const sigset_t *sigmask);
	/* syslet_post() */
	int (*post)(struct syslet_ctx *ctx, const struct syslet_completion *c);
	int (*cancel)(struct syslet_ctx *ctx, uint64_t user_data,
		      unsigned int flags);
	int (*limits)(const struct syslet_limits *set,
		      struct syslet_limits *get);
	/* moves completions parked on the overflow list into the ring */
	void (*flush)(struct syslet_ctx *ctx);
	int (*threadlet)(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			 void *arg, uint64_t user_data);
};

extern const struct syslet_backend_ops __syslet_kernel_ops;
extern const struct syslet_backend_ops __syslet_emu_ops;
extern const struct syslet_backend_ops *const __syslet_backends[3];

static inline const struct syslet_backend_ops *
ctx_ops(const struct syslet_ctx *ctx)
{
	return __syslet_backends[ctx->backend];
}

/*
 * A context's backend state, ctx->__priv[0]: the emulated backend's
 * struct syslet_emu (emu/emu.h), or the kernel backend's struct kstate
 * (kernel.c).
 */
struct syslet_emu;

static inline struct syslet_emu *ctx_emu(const struct syslet_ctx *ctx)
{
	return (struct syslet_emu *)ctx->__priv[0];
}

/* The ring indices as atomics (they are plain __u32 in the ABI). */
static inline _Atomic uint32_t *ring_head(struct syslet_ring *r)
{
	return (_Atomic uint32_t *)&r->head;
}

static inline _Atomic uint32_t *ring_tail(struct syslet_ring *r)
{
	return (_Atomic uint32_t *)&r->tail;
}

/* the atom executor shared by both backends' semantics (emu.c) */
int __syslet_nr_check(unsigned int nr);

/* kernel backend: raw system calls, -errno returns */
long __syslet_sys_async_exec(const struct syslet_atom *atom,
			     struct syslet_ring *ring,
			     struct syslet_completion *done,
			     unsigned int flags);
/*
 * The kernel's sigset_t is _NSIG (64) bits on every architecture the
 * library builds for; glibc's is 1024, of which the kernel reads the first
 * KERNEL_SIGSET_BYTES, as for ppoll() and pselect6().
 */
#define KERNEL_SIGSET_BYTES	8

long __syslet_sys_async_wait(struct syslet_ring *ring, unsigned int min,
		    const struct timespec *ts, const sigset_t *sigmask);
long __syslet_sys_async_wait_flags(struct syslet_ring *ring, unsigned int min,
				   unsigned int flags);
long __syslet_sys_async_pwait_flags(struct syslet_ring *ring, unsigned int min,
				    const struct timespec *ts,
				    const sigset_t *sigmask,
				    unsigned int flags);
long __syslet_sys_async_cancel(struct syslet_ring *ring, uint64_t user_data,
		      unsigned int flags);
long __syslet_sys_async_limits(const struct syslet_limits *set,
		      struct syslet_limits *get);

/*
 * SYSLET_EXEC_POST of a completion of something that ran (kernel.c):
 * retried until the kernel takes it, or (for the context's own threads,
 * which may be its reaper) parked and posted at a later call.
 */
void __syslet_kernel_post(struct syslet_ctx *ctx,
			  const struct syslet_completion *c);
void __syslet_kernel_post_or_park(struct syslet_ctx *ctx,
				  const struct syslet_completion *c,
				  void *spare);
void *__syslet_kernel_post_node(void);

/* emulated backend */
int __syslet_emu_ctx_init(struct syslet_ctx *ctx);
void __syslet_emu_ctx_exit(struct syslet_ctx *ctx);
int __syslet_emu_submit(struct syslet_ctx *ctx, const struct syslet_atom *head,
	       struct syslet_completion *done);
int __syslet_emu_wait(struct syslet_ctx *ctx, unsigned int min,
		      const struct timespec *ts, const sigset_t *sigmask);
int __syslet_emu_wait_posted(struct syslet_ctx *ctx, uint32_t head);
int __syslet_emu_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
			      const struct timespec *ts,
			      const sigset_t *sigmask);
int __syslet_emu_post(struct syslet_ctx *ctx,
		      const struct syslet_completion *c);
int __syslet_emu_cancel(struct syslet_ctx *ctx, uint64_t user_data,
	       unsigned int flags);
int __syslet_emu_limits(const struct syslet_limits *set,
			struct syslet_limits *get);
void __syslet_emu_flush(struct syslet_ctx *ctx);
int __syslet_emu_threadlet(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			   void *arg, uint64_t user_data);

/* kernel backend threadlets in the caller (threadlet.c) */
int __syslet_tl_incaller(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			 void *arg, uint64_t user_data);
void __syslet_tl_wait(struct syslet_ctx *ctx);

#endif /* LIBSYSLET_INTERNAL_H */
