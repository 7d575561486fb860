/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * <syslet.h> - libsyslet, the user runtime of the syslet engine.
 *
 * A chain of "atoms" (one system call each) is submitted with
 * syslet_submit(); it runs asynchronously and posts one completion to the
 * context's ring, which is reaped without a system call.  Two backends
 * implement the same contract: the kernel engine (syscalls 500-503, see
 * <linux/syslet.h>) and an emulation on a pool of threads for kernels
 * without it.
 *
 * Conventions (like liburing): functions return 0 or a count on success
 * and a negative errno on failure; errno is not used; nothing is printed.
 *
 * A one-off asynchronous read:
 *
 *	struct syslet_ctx ctx;
 *	struct syslet_op op;
 *	struct syslet_completion c;
 *
 *	syslet_ctx_init(&ctx, 8, 0);
 *	syslet_prep_pread(&op, fd, buf, sizeof(buf), 0);
 *	syslet_submit(&ctx, &op.atom);
 *	syslet_wait_completion(&ctx, &c);	// c.status = bytes read
 *
 * Thread safety: syslet_submit(), syslet_reap(), syslet_wait(),
 * syslet_cancel() and syslet_threadlet() may be called concurrently on one
 * context.  syslet_peek_completion(), syslet_for_each_completion() and
 * syslet_cq_advance() are for a single reaper (like io_uring_peek_cqe(),
 * io_uring_for_each_cqe() and io_uring_cq_advance()).  Async-signal
 * safety: see syslet(3).
 */
#ifndef LIBSYSLET_SYSLET_H
#define LIBSYSLET_SYSLET_H

/*
 * x86-64 (LP64) only: the syslet system calls (500-503) are wired for
 * x86-64, and an atom's 64-bit argument values (a file offset) would
 * have to be split in two for a 32-bit syscall(), which neither the
 * emulated backend nor syslet_prep_pread() and friends do.
 */
#if !defined(__x86_64__) || !defined(__LP64__)
#error "libsyslet: x86-64 (LP64) only; 32-bit and x32 builds are not supported"
#endif

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <linux/syslet.h>	/* C and C++, -pedantic (ABI v1) */

#ifdef __cplusplus
extern "C" {
#endif

/* syslet_ctx_init() flags */
#define SYSLET_CTX_EMULATED	0x00000001U /* force the emulated backend */
#define SYSLET_CTX_KERNEL	0x00000002U /* force the kernel backend */
/* threadlets on threads of their own: the default (kept for old programs) */
#define SYSLET_CTX_NO_INCALLER	0x00000004U
/* threadlets may run in the caller: see syslet_threadlet(3) for the rules */
#define SYSLET_CTX_INCALLER	0x00000008U
#define SYSLET_CTX_F_ALL	(SYSLET_CTX_EMULATED | SYSLET_CTX_KERNEL | \
				 SYSLET_CTX_NO_INCALLER | SYSLET_CTX_INCALLER)

/* syslet_backend() */
enum syslet_backend_type {
	SYSLET_BACKEND_KERNEL = 1,
	SYSLET_BACKEND_EMULATED = 2,
};

/*
 * A context: one completion ring and the backend that fills it.  The
 * fields are readable (ring, ring_entries, backend); treat them as
 * read-only; __priv is the library's (the backend's state).  Without
 * SYSLET_CTX_EMULATED / SYSLET_CTX_KERNEL the backend comes from
 * $SYSLET_BACKEND (kernel, emulated, auto; default auto: the kernel
 * engine when the running kernel has it).
 */
struct syslet_ctx {
	struct syslet_ring *ring;
	unsigned int ring_entries;
	unsigned int ring_mask;
	unsigned int backend;		/* enum syslet_backend_type */
	unsigned int flags;		/* SYSLET_CTX_* given, plus internal */
	void *__priv[4];
};

/*
 * An atom with storage for its argument values and return value, so that
 * arguments can be set by value.  syslet_op_init() points every arg_ptr[i]
 * at arg[i] and ret_ptr at ret; syslet_op_arg_ret() re-points an argument
 * at an earlier op's ret (data flow: open -> read -> close).
 *
 * Note that SYSLET_SKIP_TO_NEXT_ON_STOP continues with the atom laid out
 * right after this atom in memory (&atom + 1), which in a struct syslet_op
 * is not an atom: build branching chains from arrays of plain struct
 * syslet_atom (syslet_atom_*() below) with values stored elsewhere.
 */
struct syslet_op {
	struct syslet_atom atom;
	uint64_t arg[6];
	int64_t ret;
};

/* --- contexts ------------------------------------------------------ */

/* Ring of @entries (rounded up to a power of two, 1..65536) slots. */
int syslet_ctx_init(struct syslet_ctx *ctx, unsigned int entries,
		    unsigned int flags);
/*
 * Ring in caller memory @mem of @bytes (SYSLET_RING_ALIGN-aligned): the
 * largest power of two of entries that fits.  Not freed by exit.
 */
int syslet_ctx_init_mem(struct syslet_ctx *ctx, void *mem, size_t bytes,
			unsigned int flags);
/*
 * Tears a context down; running threadlets are waited for.  Emulated
 * backend: chains still in flight are cancelled and waited for.  Kernel
 * backend: completions that arrived are dropped; chains still running
 * are left to finish (the kernel has no "cancel every chain of this
 * ring"): a ring the library allocated is freed only once they have
 * posted, a ring in the caller's memory (syslet_ctx_init_mem()) is
 * waited for.  Either way a chain's memory must stay valid until it ends.
 */
void syslet_ctx_exit(struct syslet_ctx *ctx);

/* SYSLET_BACKEND_KERNEL or SYSLET_BACKEND_EMULATED. */
int syslet_backend(const struct syslet_ctx *ctx);
/* "kernel" or "emulated" */
const char *syslet_backend_name(const struct syslet_ctx *ctx);
/* 1 if the running kernel has the syslet engine, else 0. */
int syslet_kernel_supported(void);

/* --- atoms and ops -------------------------------------------------- */

static inline void syslet_atom_init(struct syslet_atom *a, unsigned int nr,
				    unsigned int flags)
{
	unsigned int i;

	a->flags = flags;
	a->nr = nr;
	a->ret_ptr = 0;
	a->next = 0;
	for (i = 0; i < 6; i++)
		a->arg_ptr[i] = 0;
	a->user_data = 0;
	/* ABI v1: must be zero, or the kernel refuses the atom (EINVAL) */
	a->__reserved[0] = 0;
	a->__reserved[1] = 0;
}

/* Argument @i is read, when the atom runs, from the u64 at @ptr. */
static inline void syslet_atom_arg(struct syslet_atom *a, unsigned int i,
				   const void *ptr)
{
	a->arg_ptr[i] = (uint64_t)(uintptr_t)ptr;
}

static inline void syslet_atom_ret(struct syslet_atom *a, int64_t *ret)
{
	a->ret_ptr = (uint64_t)(uintptr_t)ret;
}

static inline void syslet_atom_link(struct syslet_atom *a,
				    const struct syslet_atom *next)
{
	a->next = (uint64_t)(uintptr_t)next;
}

/* The chain's user word (set it on the head atom). */
static inline void syslet_atom_set_data(struct syslet_atom *a, uint64_t data)
{
	a->user_data = data;
}

static inline void syslet_op_init(struct syslet_op *op, unsigned int nr,
				  unsigned int flags)
{
	unsigned int i;

	syslet_atom_init(&op->atom, nr, flags);
	for (i = 0; i < 6; i++) {
		op->arg[i] = 0;
		op->atom.arg_ptr[i] = (uint64_t)(uintptr_t)&op->arg[i];
	}
	op->ret = 0;
	op->atom.ret_ptr = (uint64_t)(uintptr_t)&op->ret;
}

/* Argument @i by value. */
static inline void syslet_op_arg(struct syslet_op *op, unsigned int i,
				 uint64_t v)
{
	op->arg[i] = v;
	op->atom.arg_ptr[i] = (uint64_t)(uintptr_t)&op->arg[i];
}

/* Argument @i is @src's return value (read when @op runs). */
static inline void syslet_op_arg_ret(struct syslet_op *op, unsigned int i,
				     const struct syslet_op *src)
{
	op->atom.arg_ptr[i] = (uint64_t)(uintptr_t)&src->ret;
}

/* @b runs after @a (syslet_atom_link() for ops). */
static inline void syslet_op_link(struct syslet_op *a,
				  const struct syslet_op *b)
{
	a->atom.next = (uint64_t)(uintptr_t)&b->atom;
}

static inline void syslet_op_set_data(struct syslet_op *op, uint64_t data)
{
	op->atom.user_data = data;
}

static inline void syslet_op_set_flags(struct syslet_op *op,
				       unsigned int flags)
{
	op->atom.flags = flags;
}

static inline void syslet_op_add_flags(struct syslet_op *op,
				       unsigned int flags)
{
	op->atom.flags |= flags;
}

/*
 * Any system call @nr with argument values @a0..@a5 (0 for those it does
 * not take); the syslet_prep_*() below are this for common calls.
 */
static inline void syslet_prep_syscall(struct syslet_op *op, unsigned int nr,
				       uint64_t a0, uint64_t a1, uint64_t a2,
				       uint64_t a3, uint64_t a4, uint64_t a5)
{
	syslet_op_init(op, nr, 0);
	op->arg[0] = a0;
	op->arg[1] = a1;
	op->arg[2] = a2;
	op->arg[3] = a3;
	op->arg[4] = a4;
	op->arg[5] = a5;
}

#define SYSLET_U64(x) ((uint64_t)(uintptr_t)(x))

static inline void syslet_prep_read(struct syslet_op *op, int fd, void *buf,
				    size_t len)
{
	syslet_prep_syscall(op, SYS_read, (uint64_t)(int64_t)fd, SYSLET_U64(buf),
			    len, 0, 0, 0);
}

static inline void syslet_prep_write(struct syslet_op *op, int fd,
				     const void *buf, size_t len)
{
	syslet_prep_syscall(op, SYS_write, (uint64_t)(int64_t)fd, SYSLET_U64(buf),
			    len, 0, 0, 0);
}

static inline void syslet_prep_pread(struct syslet_op *op, int fd, void *buf,
				     size_t len, off_t off)
{
	syslet_prep_syscall(op, SYS_pread64, (uint64_t)(int64_t)fd, SYSLET_U64(buf),
			    len, (uint64_t)off, 0, 0);
}

static inline void syslet_prep_pwrite(struct syslet_op *op, int fd,
				      const void *buf, size_t len, off_t off)
{
	syslet_prep_syscall(op, SYS_pwrite64, (uint64_t)(int64_t)fd, SYSLET_U64(buf),
			    len, (uint64_t)off, 0, 0);
}

static inline void syslet_prep_openat(struct syslet_op *op, int dfd,
				      const char *path, int flags,
				      mode_t mode)
{
	syslet_prep_syscall(op, SYS_openat, (uint64_t)(int64_t)dfd, SYSLET_U64(path),
			    (uint64_t)(unsigned int)flags, mode, 0, 0);
}

static inline void syslet_prep_close(struct syslet_op *op, int fd)
{
	syslet_prep_syscall(op, SYS_close, (uint64_t)(int64_t)fd, 0, 0, 0, 0, 0);
}

static inline void syslet_prep_fsync(struct syslet_op *op, int fd)
{
	syslet_prep_syscall(op, SYS_fsync, (uint64_t)(int64_t)fd, 0, 0, 0, 0, 0);
}

static inline void syslet_prep_fdatasync(struct syslet_op *op, int fd)
{
	syslet_prep_syscall(op, SYS_fdatasync, (uint64_t)(int64_t)fd, 0, 0, 0, 0, 0);
}

/* @off_in/@off_out: pointers to loff_t, or NULL (as splice(2)). */
static inline void syslet_prep_splice(struct syslet_op *op, int fd_in,
				      int64_t *off_in, int fd_out,
				      int64_t *off_out, size_t len,
				      unsigned int flags)
{
	syslet_prep_syscall(op, SYS_splice, (uint64_t)(int64_t)fd_in,
			    SYSLET_U64(off_in), (uint64_t)(int64_t)fd_out,
			    SYSLET_U64(off_out), len, flags);
}

static inline void syslet_prep_recv(struct syslet_op *op, int sockfd,
				    void *buf, size_t len, int flags)
{
	syslet_prep_syscall(op, SYS_recvfrom, (uint64_t)(int64_t)sockfd,
			    SYSLET_U64(buf), len, (uint64_t)(unsigned int)flags,
			    0, 0);
}

static inline void syslet_prep_send(struct syslet_op *op, int sockfd,
				    const void *buf, size_t len, int flags)
{
	syslet_prep_syscall(op, SYS_sendto, (uint64_t)(int64_t)sockfd,
			    SYSLET_U64(buf), len, (uint64_t)(unsigned int)flags,
			    0, 0);
}

/* @ts must stay valid until the chain completes. */
static inline void syslet_prep_nanosleep(struct syslet_op *op,
					 const struct timespec *ts)
{
	syslet_prep_syscall(op, SYS_nanosleep, SYSLET_U64(ts), 0, 0, 0, 0, 0);
}

/* --- submission ----------------------------------------------------- */

/*
 * Submits the chain starting at @head.  Returns SYSLET_QUEUED (it will
 * complete through the ring), SYSLET_DONE (it ran in the caller, e.g.
 * SYSLET_SYNC; its completion is in the ring unless SYSLET_NO_COMPLETE),
 * or a negative errno (-EINVAL for bad head flags, -EAGAIN at the chains
 * limit, ...).  Atoms, their values and anything they point at must stay
 * valid until the chain's completion is reaped.
 */
int syslet_submit(struct syslet_ctx *ctx, const struct syslet_atom *head);

/*
 * Submits the chain starting at @head like syslet_submit(), except that a
 * chain which completes in the calling thread stores its completion in
 * *@done instead of posting it to the ring: SYSLET_DONE is returned and no
 * ring slot is used.  That is a SYSLET_SYNC chain, and, on a kernel whose
 * engine runs chains in the caller until they would block (pass-on-block),
 * any chain none of whose atoms blocked.  A chain that went asynchronous
 * returns SYSLET_QUEUED and completes through the ring; *@done then
 * holds no completion (the kernel backend zeroes it before anything
 * runs).  Negative errno as syslet_submit().
 */
int syslet_submit_done(struct syslet_ctx *ctx, const struct syslet_atom *head,
		       struct syslet_completion *done);

/* --- completions ---------------------------------------------------- */

/* Completions ready in the ring (no system call). */
unsigned int syslet_cq_ready(const struct syslet_ctx *ctx);

/*
 * Single reaper: points *@comp at the oldest ready completion (valid until
 * syslet_cq_advance()) and returns 0, or returns -EAGAIN if none is ready.
 */
int syslet_peek_completion(struct syslet_ctx *ctx,
			   struct syslet_completion **comp);
void syslet_cq_advance(struct syslet_ctx *ctx, unsigned int nr);

/*
 * The single reaper's fast path, inline (as liburing's): the three calls
 * above are macros for these, which touch only the ring (an acquire load
 * of head, one release store of tail per batch) and call into the library
 * only to have overflowed completions moved in.  The library's functions
 * stay for programs built before and for taking their address.
 *
 * syslet_for_each_completion(ctx, i, comp) walks the ready completions
 * without consuming them (i: an unsigned int cursor, comp: a
 * struct syslet_completion *); then syslet_cq_advance(ctx, n) consumes
 * the n seen, with one store:
 *
 *	unsigned int i, n = 0;
 *	struct syslet_completion *c;
 *
 *	syslet_for_each_completion(&ctx, i, c) {
 *		handle(c);
 *		n++;
 *	}
 *	syslet_cq_advance(&ctx, n);
 */
static inline unsigned int __syslet_cq_ready_inline(const struct syslet_ctx *ctx)
{
	const struct syslet_ring *r = ctx->ring;

	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
}

static inline int __syslet_peek_inline(struct syslet_ctx *ctx,
				       struct syslet_completion **comp)
{
	struct syslet_ring *r = ctx->ring;
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == tail)
		return (syslet_peek_completion)(ctx, comp); /* + overflow */
	*comp = &SYSLET_RING_ENTRIES(r)[tail & ctx->ring_mask];
	return 0;
}

static inline void __syslet_cq_advance_inline(struct syslet_ctx *ctx,
					      unsigned int nr)
{
	struct syslet_ring *r = ctx->ring;

	__atomic_store_n(&r->tail, __atomic_load_n(&r->tail, __ATOMIC_RELAXED) +
			 nr, __ATOMIC_RELEASE);
	if (__atomic_load_n(&r->overflow, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&r->kflags, __ATOMIC_RELAXED))
		(syslet_cq_advance)(ctx, 0);	/* move overflowed ones in */
}

#ifndef LIBSYSLET_NO_INLINE
#define syslet_cq_ready(ctx)		__syslet_cq_ready_inline(ctx)
#define syslet_peek_completion(ctx, comp) __syslet_peek_inline(ctx, comp)
#define syslet_cq_advance(ctx, nr)	__syslet_cq_advance_inline(ctx, nr)
#endif

#define syslet_for_each_completion(ctx, i, comp)			\
	for ((i) = __atomic_load_n(&(ctx)->ring->tail, __ATOMIC_RELAXED); \
	     (i) != __atomic_load_n(&(ctx)->ring->head, __ATOMIC_ACQUIRE) && \
	     ((comp) = &SYSLET_RING_ENTRIES((ctx)->ring)[(i) &		\
						 (ctx)->ring_mask], 1);	\
	     (i)++)

/*
 * Copies up to @max ready completions into @comps and consumes them;
 * returns how many (0 if none).  Safe with concurrent reapers.
 */
int syslet_reap(struct syslet_ctx *ctx, struct syslet_completion *comps,
		unsigned int max);

/*
 * As syslet_reap(), but only what is in the ring now: completions parked
 * on the overflow list stay there (the next syslet_reap() or wait moves
 * them in).  Atomics only: no lock, no allocation, no system call, so it
 * may be called in a signal handler whatever the thread it interrupted
 * was doing in the library (since 1.5).
 */
int syslet_reap_ready(struct syslet_ctx *ctx,
		      struct syslet_completion *comps, unsigned int max);

/*
 * Waits until at least @min_complete completions are ready (at most the
 * ring size) or @timeout (relative; NULL waits forever) passes.  Returns
 * how many are ready, -ETIME, or -EINTR.
 */
int syslet_wait(struct syslet_ctx *ctx, unsigned int min_complete,
		const struct timespec *timeout);

/*
 * sigset_t is POSIX, not ISO C: glibc's <signal.h> hides it from a strict
 * -std=c11 build without a feature macro, and so syslet_pwait() is then
 * not declared (as sigprocmask() is not).
 */
#if defined(__USE_POSIX) || !defined(__GLIBC__)
/*
 * syslet_wait() with the thread's signal mask replaced by *@sigmask for
 * the time of the wait, atomically, as ppoll() and pselect() do: a signal
 * that *@sigmask unblocks, pending already or arriving during the wait,
 * runs its handler and makes the call return -EINTR; the caller's mask is
 * back when it returns.  @sigmask NULL is syslet_wait().  On a kernel
 * with async_wait()'s SYSLET_WAIT_ABSTIME, it waits to a deadline (or
 * none), which the kernel restarts it with when a signal runs no handler
 * (ignored, a stop and continue), as ppoll(); on one without (or where a
 * seccomp filter refuses the flag: then one more system call), such a
 * signal ends it with -EINTR.  (Since 1.3.)
 */
int syslet_pwait(struct syslet_ctx *ctx, unsigned int min_complete,
		 const struct timespec *timeout, const sigset_t *sigmask);
#endif

/*
 * The ring's head: the number of completions ever posted to it (free
 * running).  (LIBSYSLET_1.4.)
 */
uint32_t syslet_cq_head(const struct syslet_ctx *ctx);

/*
 * Waits, untimed, until a completion was posted to the ring since its head
 * read @head (syslet_cq_head()), whoever consumed it: a futex wait on the
 * head.  So a thread that read the head, then looked at its own state,
 * sleeps here without missing a completion another thread reaps in
 * between.  A signal handler installed with SA_RESTART does not end it,
 * as it does not end an untimed futex wait or read(); -EINTR after
 * another handler.  Returns the number of completions ready (0 if others
 * consumed them), or -EINTR; -EINVAL from a kernel without async_wait()'s
 * SYSLET_WAIT_HEAD and SYSLET_WAIT_RESTART.  (LIBSYSLET_1.4.)
 */
int syslet_wait_posted(struct syslet_ctx *ctx, uint32_t head);

#if defined(__USE_POSIX) || !defined(__GLIBC__)
/*
 * syslet_wait_posted() with a relative @timeout (NULL: none; -ETIME when
 * it passes) and a signal mask installed for the duration of the wait
 * (@sigmask, NULL: the thread's), as syslet_pwait() does.  Untimed, it is
 * restarted after an SA_RESTART handler with @sigmask installed again; so
 * a thread that blocks its signals outside it runs their handlers only
 * inside it, where they end it with -EINTR unless installed with
 * SA_RESTART.  Timed, -EINTR after any handler (and, on a kernel without
 * async_wait()'s SYSLET_WAIT_ABSTIME or where a seccomp filter refuses
 * it, after a signal set to SIG_IGN that came while the thread blocked
 * it: with a mask the library waits to a deadline, which the kernel
 * restarts past such a signal).  -EOPNOTSUPP on the
 * emulated backend with a @sigmask (a mask and a sleep in one step need
 * the kernel); -EINVAL from a kernel without async_wait()'s
 * SYSLET_WAIT_RESTART_SIGMASK (untimed with a mask) or SYSLET_WAIT_HEAD.
 * (LIBSYSLET_1.6.)
 */
int syslet_pwait_posted(struct syslet_ctx *ctx, uint32_t head,
			const struct timespec *timeout,
			const sigset_t *sigmask);
#endif

/*
 * Posts *@comp to @ctx's ring, as if a chain had completed with it (its
 * flags: 0, or SYSLET_COMP_CANCELED / SYSLET_COMP_SYNC), to be reaped like
 * any completion: to wake a thread waiting on the ring, say.  Nothing
 * runs and no thread is involved.  Returns 0, or -EAGAIN when it cannot
 * be posted now (the emulated backend: the ring is full; the kernel's:
 * full and at max_chains, else the kernel parks it), -EINVAL for bad
 * flags, -ENOMEM.  No allocation or lock in user space on the kernel
 * backend, so a signal handler may call it there; for that reason it does
 * not first post what the library parked (completions of SYSLET_SYNC
 * chains refused for now), which it may therefore overtake.
 * (LIBSYSLET_1.4.)
 */
int syslet_post(struct syslet_ctx *ctx, const struct syslet_completion *comp);

/* Waits for one completion, copies it to *@comp and consumes it. */
int syslet_wait_completion(struct syslet_ctx *ctx,
			   struct syslet_completion *comp);

/* --- cancellation, limits ------------------------------------------- */

/*
 * Cancels the chain(s) in flight on @ctx with @user_data.  A queued chain
 * completes with -ECANCELED; a running one has its blocked call
 * interrupted and completes with -ECANCELED (SYSLET_COMP_CANCELED); no
 * later atom runs.  Returns 0 (or the count with SYSLET_CANCEL_ALL), or
 * -ENOENT if no chain matched.  With SYSLET_CANCEL_QUEUED only chains
 * that no thread has started are cancelled: -EALREADY if none is queued
 * but one has started (it runs on, untouched).
 *
 * SYSLET_CANCEL_NOWAIT (the library's, never passed to the kernel): the
 * emulated backend signals a running chain's call once and returns,
 * instead of resending the signal until the call is left (~0.8 s at
 * most); a chain already cancelled and still in its call is signalled
 * again (and counted), so a caller cancelling many chains can resend in
 * rounds under one deadline of its own.  No effect on the kernel backend.
 */
#define SYSLET_CANCEL_NOWAIT	0x80000000U
int syslet_cancel(struct syslet_ctx *ctx, uint64_t user_data,
		  unsigned int flags);

/*
 * Reads (@get) and/or sets (@set; zero fields unchanged) the per-process
 * limits of @ctx's backend.  @set->size must be sizeof(*set).
 */
int syslet_limits(struct syslet_ctx *ctx, const struct syslet_limits *set,
		  struct syslet_limits *get);

/* --- threadlets ----------------------------------------------------- */

typedef long (*syslet_threadlet_fn)(void *arg);

/*
 * Runs @fn(@arg) asynchronously; its return value is posted to @ctx's
 * ring as the status of a completion with @user_data (nr_atoms 0, atom
 * 0).  Returns 0 or -errno (-EAGAIN, -ENOMEM); once it has returned 0 the
 * completion always comes.  A threadlet cannot be interrupted by
 * syslet_cancel().  @arg must stay valid until the completion is reaped.
 *
 * By default @fn runs on a thread of its own (a library thread, or a
 * worker of the emulated backend's pool), so ordinary thread-safe C code
 * is safe in it: errno, stdio, malloc, locks, thread-local data.  It
 * must not pthread_exit(), longjmp() out, or leave its signal mask or
 * credentials changed.
 *
 * With SYSLET_CTX_INCALLER (kernel backend, x86-64, not in a program
 * running under a sanitizer) @fn may run in the caller on a stack of the
 * library's until it would sleep, then go on as another thread (another
 * TID and TLS) while the caller returns from here.  Only code written for
 * that may run so: see syslet_threadlet(3) for the exact rules; system
 * calls through syslet_syscall(), which never touches errno.
 */
int syslet_threadlet(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
		     void *arg, uint64_t user_data);

/*
 * System call @nr with up to six arguments (pass 0 for unused ones).
 * Returns its result, or -errno on failure; never reads or writes errno
 * nor any other thread-local data, so it is safe in a threadlet that may
 * go on as another thread (SYSLET_CTX_INCALLER) and in signal handlers.
 */
long syslet_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
		    long a5);

#ifdef __cplusplus
}
#endif

#endif /* LIBSYSLET_SYSLET_H */
