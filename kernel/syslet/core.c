// SPDX-License-Identifier: GPL-2.0
/*
 * Syslets: the system calls, the per-process context and its lifetime.
 *
 * The context hangs off signal_struct, so it is per process and a forked
 * child (which gets a new signal_struct) starts without one.  A user
 * thread of the process may use current->signal->syslet without taking a
 * reference: it only goes away at exec (when the caller is the only thread
 * left) or with the signal_struct.  Async threads hold a reference each.
 *
 * Names: "exec" is the executor (exec.c, which runs chains), "submit"
 * the ways async_exec() takes work (syslet_submit_pob() for the default
 * mode), "execve" the hooks of the execve() path (syslet_execve_prepare()
 * and syslet_execve()).
 */
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/sched/signal.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>
#include <asm/unistd.h>
#include <trace/events/syslet.h>
#include "syslet.h"

/* The syscall tables (patches/) must agree with the uapi header. */
static_assert(__NR_async_exec == SYSLET_NR_ASYNC_EXEC);
static_assert(__NR_async_wait == SYSLET_NR_ASYNC_WAIT);
static_assert(__NR_async_cancel == SYSLET_NR_ASYNC_CANCEL);
static_assert(__NR_async_limits == SYSLET_NR_ASYNC_LIMITS);
/* the same numbers for i386 callers (patches/<version>/0006) */
static_assert(__NR_ia32_async_exec == SYSLET_NR_ASYNC_EXEC);
static_assert(__NR_ia32_async_wait == SYSLET_NR_ASYNC_WAIT);
static_assert(__NR_ia32_async_cancel == SYSLET_NR_ASYNC_CANCEL);
static_assert(__NR_ia32_async_limits == SYSLET_NR_ASYNC_LIMITS);

static struct syslet_ctx *ctx_alloc(void)
{
	struct syslet_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return NULL;
	spin_lock_init(&ctx->lock);
	refcount_set(&ctx->refs, 1);
	INIT_LIST_HEAD(&ctx->queue);
	INIT_LIST_HEAD(&ctx->running);
	INIT_LIST_HEAD(&ctx->workers);
	INIT_LIST_HEAD(&ctx->idle);
	INIT_LIST_HEAD(&ctx->uspares);
	INIT_LIST_HEAD(&ctx->chain_cache);
	INIT_LIST_HEAD(&ctx->kwork);
	INIT_LIST_HEAD(&ctx->kwork_keys);
	init_waitqueue_head(&ctx->spare_wait);
	syslet_worker_ctx_init(ctx);
	hash_init(ctx->rings);
	ctx->max_threads = SYSLET_DEF_MAX_THREADS;
	ctx->idle_msecs = SYSLET_DEF_IDLE_MSECS;
	ctx->max_chains = SYSLET_DEF_MAX_CHAINS;
	syslet_kio_init(ctx);
	return ctx;
}

/*
 * Returns the calling process's context, creating it if @create (then an
 * ERR_PTR on failure); NULL if there is none and !@create.
 */
struct syslet_ctx *syslet_get_ctx(bool create)
{
	struct signal_struct *sig = current->signal;
	struct syslet_ctx *ctx = READ_ONCE(sig->syslet), *new;

	if (ctx || !create)
		return ctx;
	new = ctx_alloc();
	if (!new)
		return ERR_PTR(-ENOMEM);
	ctx = cmpxchg(&sig->syslet, NULL, new);
	if (ctx) {
		kfree(new);
		return ctx;
	}
	return new;
}

/*
 * Chain objects a process has freed are kept for its next chains, up to
 * SYSLET_CHAIN_CACHE of them (ctx->chain_cache, under ctx->lock): a
 * default-mode chain is a heap object from submission, and allocating
 * and freeing one per call was most of what a chain that completes in
 * its caller cost over a SYSLET_SYNC one.  Not under KASAN, which should
 * see every object freed.
 */
#define SYSLET_CHAIN_CACHE	(IS_ENABLED(CONFIG_KASAN) ? 0 : 16)

/* Drops what a chain pins. */
static void chain_put_refs(struct syslet_chain *c)
{
	if (c->filter)
		seccomp_filter_put(c->filter);
	if (c->cred)
		put_cred(c->cred);
	put_pid(c->submitter);
}

/* Drops what a chain pins and frees it. */
static void chain_release(struct syslet_chain *c)
{
	chain_put_refs(c);
	kfree(c);
}

static void ctx_free(struct syslet_ctx *ctx)
{
	struct syslet_chain *c, *tmp;
	struct syslet_kring *kr;
	struct hlist_node *htmp;
	int bkt;

	/*
	 * Never from a hard interrupt (kio_ctx_put()); from a softirq it
	 * can be: the signal_struct's reference may go with the last task
	 * of the process, in an RCU callback (delayed_put_task_struct()).
	 */
	WARN_ON_ONCE(in_hardirq());
	/* syslet_kill_workers() dropped the kernel work, none came after */
	WARN_ON_ONCE(!list_empty(&ctx->kwork) || !list_empty(&ctx->kwork_keys));
	/* No thread is left: queued and overflowed chains just go. */
	list_for_each_entry_safe(c, tmp, &ctx->queue, node)
		chain_release(c);
	list_for_each_entry_safe(c, tmp, &ctx->chain_cache, node)
		kfree(c);
	hash_for_each_safe(ctx->rings, bkt, htmp, kr, node) {
		list_for_each_entry_safe(c, tmp, &kr->overflow, node)
			chain_release(c);
		INIT_LIST_HEAD(&kr->overflow);
	}
	syslet_kring_free_all(ctx);
	kfree(ctx);
}

void syslet_ctx_put(struct syslet_ctx *ctx)
{
	if (refcount_dec_and_test(&ctx->refs))
		ctx_free(ctx);
}

/*
 * Takes one of ctx->max_chains for a chain (or a completion) that will be
 * in flight: 0, or -EAGAIN at the limit.  Every chain object and every
 * completion kept on an overflow list holds one, so the kernel memory a
 * process can make the engine hold is bounded by a limit it cannot lift.
 */
int syslet_chain_count(struct syslet_ctx *ctx)
{
	int ret = 0;

	spin_lock(&ctx->lock);
	if (ctx->nr_chains >= ctx->max_chains)
		ret = -EAGAIN;
	else
		ctx->nr_chains++;
	spin_unlock(&ctx->lock);
	return ret;
}

void syslet_chain_uncount(struct syslet_ctx *ctx)
{
	spin_lock(&ctx->lock);
	ctx->nr_chains--;
	spin_unlock(&ctx->lock);
}

/*
 * A new chain object, counted in ctx->nr_chains, with a reference to its
 * ring's kring if @uring; or an ERR_PTR (-ENOMEM, -EAGAIN at max_chains).
 */
struct syslet_chain *syslet_chain_new(struct syslet_ctx *ctx, u64 head,
				      u64 uring, u32 flags, u64 user_data)
{
	struct syslet_chain *c = NULL;

	/* counted, and a cached object taken, under one hold of the lock */
	spin_lock(&ctx->lock);
	if (ctx->nr_chains >= ctx->max_chains) {
		spin_unlock(&ctx->lock);
		return ERR_PTR(-EAGAIN);
	}
	ctx->nr_chains++;
	if (ctx->nr_cached) {
		c = list_first_entry(&ctx->chain_cache, struct syslet_chain,
				     node);
		list_del(&c->node);
		ctx->nr_cached--;
	}
	spin_unlock(&ctx->lock);
	if (c) {
		memset(c, 0, sizeof(*c));
	} else {
		c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
		if (!c) {
			syslet_chain_uncount(ctx);
			return ERR_PTR(-ENOMEM);
		}
	}
	INIT_LIST_HEAD(&c->node);
	c->ctx = ctx;
	c->head = head;
	c->uring = uring;
	c->flags = flags;
	c->comp.user_data = user_data;
	c->cred = get_current_cred();
	c->ip = instruction_pointer(current_pt_regs());
	c->pkru = syslet_arch_pkru();
	/*
	 * What the block layer gives our I/O: our nice and policy if none
	 * set.  Only a thread that runs the chain for us needs it: a chain
	 * run with pass-on-block takes it when kbuf queues its read.
	 */
	if (flags & SYSLET_ASYNC)
		c->ioprio = get_current_ioprio();
	/* PR_SET_IO_FLUSHER's, for an async thread that runs it */
	c->pflags = current->flags & SYSLET_KWORK_PF;
	c->ia32 = in_ia32_syscall();
	if (uring) {
		c->kring = syslet_kring_get(ctx, uring);
		if (!c->kring) {
			syslet_chain_drop(c);
			return ERR_PTR(-ENOMEM);
		}
	}
	return c;
}

/*
 * Uncounts (@done: as completed) and frees, or caches, a chain; one
 * hold of ctx->lock for both.
 */
static void chain_end(struct syslet_chain *c, bool uncount, bool done)
{
	struct syslet_ctx *ctx = c->ctx;
	bool cached = false;

	if (c->kring)
		syslet_kring_put(ctx, c->kring);
	chain_put_refs(c);
	spin_lock(&ctx->lock);
	if (uncount)
		ctx->nr_chains--;
	if (done)
		ctx->chains_done++;
	if (ctx->nr_cached < SYSLET_CHAIN_CACHE) {
		list_add(&c->node, &ctx->chain_cache);
		ctx->nr_cached++;
		cached = true;
	}
	spin_unlock(&ctx->lock);
	if (!cached)
		kfree(c);
}

/* Frees a chain that has completed (posted, dropped or never queued). */
void syslet_chain_free(struct syslet_chain *c)
{
	/* a posted chain stopped counting when it was written (ring.c) */
	chain_end(c, !c->uncounted, !c->uncounted);
}

/*
 * Frees a chain that is not counted as done: it never ran, or it
 * completed in its caller without waiting on an overflow list.
 */
void syslet_chain_drop(struct syslet_chain *c)
{
	chain_end(c, true, false);
}

/*
 * Runs chain @c in the caller, start to end (a SYSLET_SYNC chain, or any
 * chain inside a threadlet).  With the ctx (made here if it is not yet:
 * a read another thread submits meanwhile may kick this one), a read's
 * completion does not interrupt the chain; without memory for it, no
 * read exists.  Returns c->restart: non-zero if nothing ran.
 */
static long run_in_caller(struct syslet_chain *c, struct syslet_ctx *ctx)
{
	struct syslet_caller sc;

	if (!IS_ERR(ctx))
		syslet_kio_chain_begin(ctx, &sc);
	c->filter = seccomp_filter_get_current();
	syslet_run_chain(c, true);
	if (!IS_ERR(ctx))
		syslet_kio_chain_end(ctx, &sc);
	if (c->filter)
		seccomp_filter_put(c->filter);
	c->filter = NULL;
	return c->restart;
}

/*
 * A chain run in the caller whose completion goes to @ring: it is a
 * chain object like a queued one, counted in max_chains and holding the
 * kring, both taken before anything runs (-EAGAIN, -ENOMEM), so that a
 * completion the ring cannot take now (full, or not writable) waits on
 * the overflow list as a default-mode chain's does, and async_exec()
 * returns SYSLET_DONE: once an atom ran, nothing reads as an error.
 */
static long submit_in_caller_to_ring(const struct syslet_atom __user *atom,
				     struct syslet_ring __user *ring,
				     u32 aflags, u64 user_data)
{
	struct syslet_chain *c;
	struct syslet_ctx *ctx;
	long ret;

	ctx = syslet_get_ctx(true);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	c = syslet_chain_new(ctx, (u64)(unsigned long)atom,
			     (u64)(unsigned long)ring, aflags, user_data);
	if (IS_ERR(c))
		return PTR_ERR(c);
	c->caller_owned = true;		/* a seccomp kill drops it: exec.c */
	ret = run_in_caller(c, ctx);
	if (ret) {
		syslet_chain_drop(c);	/* nothing ran: restart async_exec() */
		return ret;
	}
	return syslet_deliver_in_caller(c, NULL);
}

/*
 * Runs a SYSLET_SYNC chain (or any chain inside a threadlet) in the
 * caller, its completion going to @done or nowhere (no ring, or
 * SYSLET_NO_COMPLETE); submit_in_caller_to_ring() otherwise.  An
 * unwritable @done is refused before anything runs; if it cannot be
 * written after the chain ran (the program unmapped it meanwhile), the
 * result is -EOVERFLOW, the atoms' results being in their ret_ptrs.
 */
static long submit_in_caller(struct syslet_chain *c,
			     struct syslet_completion __user *done)
{
	long ret;

	if (done && clear_user(done, sizeof(*done)))
		return -EFAULT;
	ret = run_in_caller(c, syslet_get_ctx(true));
	if (ret)
		return ret;		/* nothing ran: restart async_exec() */
	if (done && copy_to_user(done, &c->comp, sizeof(c->comp)))
		return -EOVERFLOW;
	return SYSLET_DONE;
}

/* The completion flags a program may post (SYSLET_EXEC_POST) */
#define SYSLET_COMP_FLAGS	(SYSLET_COMP_CANCELED | SYSLET_COMP_SYNC)

/*
 * SYSLET_EXEC_POST: posts the caller's completion *@done to @ring, all of
 * it, so that a completion async_exec() gave back in *@done (a SYSLET_SYNC
 * chain's) reaches the ring as the kernel would have posted it there.
 */
static long submit_post(struct syslet_ring __user *ring,
			struct syslet_completion __user *done)
{
	struct syslet_completion comp;
	struct syslet_ctx *ctx;
	long ret;

	if (!ring || !done)
		return -EINVAL;
	ret = syslet_ring_check(ring);
	if (ret)
		return ret;
	if (copy_from_user(&comp, done, sizeof(comp)))
		return -EFAULT;
	if (comp.flags & ~SYSLET_COMP_FLAGS)
		return -EINVAL;
	ctx = syslet_get_ctx(true);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	return syslet_post_comp(ctx, &comp, ring, false);
}

/* What async_exec() takes of a chain's first atom before it runs */
struct syslet_head {
	u32 flags;
	u32 nr;
	u64 user_data;
	u64 arg0;		/* arg_ptr[0] */
};

/*
 * Reads the first atom for async_exec()'s checks, in one copy, on a
 * stack of its own (not under the atoms run in the caller); the chain
 * reads it again when it runs it (exec.c).  An atom with unknown flags
 * or a reserved word set is refused before anything runs.
 */
static noinline_for_stack int read_head(const struct syslet_atom __user *uatom,
					struct syslet_head *h)
{
	struct syslet_atom atom;

	if (copy_from_user(&atom, uatom, sizeof(atom)))
		return -EFAULT;
	if ((atom.flags & ~SYSLET_ATOM_FLAGS) || atom.__reserved[0] ||
	    atom.__reserved[1])
		return -EINVAL;
	h->flags = atom.flags;
	h->nr = atom.nr;
	h->user_data = atom.user_data;
	h->arg0 = atom.arg_ptr[0];
	return 0;
}

SYSCALL_DEFINE4(async_exec, const struct syslet_atom __user *, atom,
		struct syslet_ring __user *, ring,
		struct syslet_completion __user *, done, unsigned int, flags)
{
	struct syslet_caller caller;
	struct syslet_head head;
	struct syslet_chain *c;
	struct syslet_ctx *ctx;
	u64 user_data;
	u32 aflags;
	long ret;

	if (flags & ~SYSLET_EXEC_F_ALL)
		return -EINVAL;
	if (flags & (flags - 1))
		return -EINVAL;			/* one at a time */
	if (flags & SYSLET_EXEC_POST)
		return atom ? -EINVAL : submit_post(ring, done);
	if (flags & (SYSLET_EXEC_THREADLET | SYSLET_EXEC_SPARE))
		return atom || ring || done ? -EINVAL :
		       flags & SYSLET_EXEC_SPARE ? syslet_spare() :
		       syslet_threadlet_begin();
	if (flags & SYSLET_EXEC_THREADLET_END)
		return atom ? -EINVAL : syslet_threadlet_end(ring, done);
	ret = read_head(atom, &head);
	if (ret)
		return ret;
	aflags = head.flags;
	user_data = head.user_data;
	if ((aflags & SYSLET_ASYNC) && (aflags & SYSLET_SYNC))
		return -EINVAL;
	/* in the caller, the signals would be the caller's own */
	if ((aflags & SYSLET_NOSIGNAL) && !(aflags & SYSLET_ASYNC))
		return -EINVAL;
	if (ring) {
		ret = syslet_ring_check(ring);
		if (ret)
			return ret;
	} else if (!(aflags & (SYSLET_SYNC | SYSLET_NO_COMPLETE))) {
		return -EINVAL;		/* an async chain needs a ring */
	}

	trace_syslet_submit(atom, ring, aflags, user_data);
	/* inside a threadlet, a chain does not pass on by itself */
	if ((aflags & SYSLET_SYNC) ||
	    (!(aflags & SYSLET_ASYNC) && current->syslet_pob)) {
		struct syslet_chain sc = {
			.head = (u64)(unsigned long)atom,
			.uring = (u64)(unsigned long)ring,
			.flags = aflags,
			.comp.user_data = user_data,
			.ip = instruction_pointer(current_pt_regs()),
			.ia32 = in_ia32_syscall(),
		};

		if (!done && ring && !(aflags & SYSLET_NO_COMPLETE))
			return submit_in_caller_to_ring(atom, ring, aflags,
							user_data);
		return submit_in_caller(&sc, done);
	}

	ctx = syslet_get_ctx(true);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (!(aflags & SYSLET_ASYNC)) {
		bool lazy = false;

		/* the default: in the caller until an atom would sleep */
		if (done && clear_user(done, sizeof(*done)))
			return -EFAULT;
		/*
		 * With @done, a completion in the caller goes there: the
		 * ring's kring (made and freed per chain when no other chain
		 * holds it) is needed only after a hand-off, and the taker
		 * gets it then; or for a buffered read kbuf queues, which
		 * posts later: syslet_kbuf_exec() gets it then.
		 */
		if (done && ring)
			lazy = true;
		c = syslet_chain_new(ctx, (u64)(unsigned long)atom,
				     lazy ? 0 : (u64)(unsigned long)ring,
				     aflags, user_data);
		if (IS_ERR(c))
			return PTR_ERR(c);
		c->uring = (u64)(unsigned long)ring;
		/* a buffered read that would wait for pages: no hand-off */
		if (syslet_kbuf_exec(ctx, c, head.nr, head.arg0, done, &ret))
			return ret;
		/* as in submit_in_caller(); after a hand-off, an async thread */
		syslet_kio_chain_begin(ctx, &caller);
		ret = syslet_submit_pob(c, done);
		syslet_kio_chain_end(ctx, &caller);
		return ret;
	}

	c = syslet_chain_new(ctx, (u64)(unsigned long)atom,
			     (u64)(unsigned long)ring, aflags, user_data);
	if (IS_ERR(c))
		return PTR_ERR(c);
	c->submitter = get_task_pid(current, PIDTYPE_PID);
	c->filter = seccomp_filter_get_current();
	if (c->kring) {
		syslet_kio_flush(ctx);
		syslet_flush(ctx, c->kring);
	}
	if (syslet_kio_submit(ctx, c))
		return SYSLET_QUEUED;
	ret = syslet_queue_chain(ctx, c);
	if (ret)
		syslet_chain_drop(c);	/* it never ran */
	return ret ?: SYSLET_QUEUED;
}

SYSCALL_DEFINE6(async_wait, struct syslet_ring __user *, ring,
		unsigned int, min_complete,
		const struct __kernel_timespec __user *, timeout,
		const sigset_t __user *, sigmask, size_t, sigsetsize,
		unsigned int, flags)
{
	if (flags & ~SYSLET_WAIT_F_ALL)
		return -EINVAL;
	/* an absolute deadline needs a time */
	if ((flags & SYSLET_WAIT_ABSTIME) && !timeout)
		return -EINVAL;
	/*
	 * A restarted call must wait as the first did: not with the mask
	 * restored, nor with its relative timeout started over (mainline
	 * restarts only untimed waits so; a timed futex wait keeps its
	 * expiry in a restart block).  An absolute deadline
	 * (SYSLET_WAIT_ABSTIME) is the same in the restarted call.
	 */
	if ((flags & SYSLET_WAIT_RESTART) &&
	    (sigmask || (timeout && !(flags & SYSLET_WAIT_ABSTIME))))
		return -EINVAL;
	/*
	 * With a sigmask the restart is asked for with a flag of its own:
	 * the -ERESTARTSYS leaves TS_RESTORE_SIGMASK set, so a handler runs
	 * with the call's mask and returns to the thread's own (saved in its
	 * frame), and the restarted call installs the call's mask again, as
	 * the first did; without a handler the signal code restores the
	 * thread's mask before the restart.  Untimed or absolute, as above.
	 */
	if ((flags & SYSLET_WAIT_RESTART_SIGMASK) && timeout &&
	    !(flags & SYSLET_WAIT_ABSTIME))
		return -EINVAL;
	return syslet_wait(ring, min_complete, timeout, sigmask, sigsetsize,
			   flags);
}

static long do_async_cancel(struct syslet_ring __user *ring, u64 user_data,
			    unsigned int flags)
{
	long ret = syslet_cancel(ring, user_data, flags);

	trace_syslet_cancel(ring, user_data, flags, ret);
	return ret;
}

SYSCALL_DEFINE3(async_cancel, struct syslet_ring __user *, ring,
		u64, user_data, unsigned int, flags)
{
	return do_async_cancel(ring, user_data, flags);
}

#ifdef CONFIG_COMPAT
/*
 * i386: the 64-bit user word comes in two registers, low half first (as
 * pread64()'s offset does); the other three calls take pointers and
 * 32-bit integers only, which their native entry points' i386 wrappers
 * zero-extend, and structs laid out alike in both ABIs (async_wait()'s
 * sigset_t is compat_sigset_t's 8 bytes on little-endian x86).
 */
COMPAT_SYSCALL_DEFINE4(async_cancel, struct syslet_ring __user *, ring,
		       compat_arg_u64_dual(user_data), unsigned int, flags)
{
	return do_async_cancel(ring, compat_arg_u64_glue(user_data), flags);
}
#endif

/*
 * A struct syslet_limits' size as user space gives it (ABI v1): 0, or
 * -EINVAL (smaller than the first version, not whole u64s), -E2BIG (over
 * SYSLET_LIMITS_SIZE_MAX).
 */
static int limits_size_check(u32 size)
{
	if (size > SYSLET_LIMITS_SIZE_MAX)
		return -E2BIG;
	if (size < SYSLET_LIMITS_SIZE_VER0 || size % sizeof(u64))
		return -EINVAL;
	return 0;
}

SYSCALL_DEFINE3(async_limits, const struct syslet_limits __user *, set,
		struct syslet_limits __user *, get, unsigned int, flags)
{
	struct syslet_limits lim;
	struct syslet_ctx *ctx;
	u32 size, gsize = 0;
	int ret;

	if (flags & ~SYSLET_LIMITS_F_ALL)
		return -EINVAL;
	/* @get says which struct it is, as @set does; checked before @set */
	if (get) {
		if (get_user(gsize, &get->size))
			return -EFAULT;
		ret = limits_size_check(gsize);
		if (ret)
			return ret;
	}
	if (set) {
		if (get_user(size, &set->size))
			return -EFAULT;
		ret = limits_size_check(size);
		if (ret)
			return ret;
		/* a smaller struct's missing fields are 0: "unchanged" */
		ret = copy_struct_from_user(&lim, sizeof(lim), set, size);
		if (ret)
			return ret;
		if (lim.size != size || lim.__reserved ||
		    memchr_inv(lim.__reserved2, 0, sizeof(lim.__reserved2)) ||
		    lim.max_threads > SYSLET_MAX_MAX_THREADS ||
		    lim.idle_msecs > SYSLET_MAX_IDLE_MSECS ||
		    lim.max_chains > SYSLET_MAX_MAX_CHAINS)
			return -EINVAL;
		/*
		 * Nothing is applied if the call fails: @get must take what
		 * it will be written (its bytes are all written below).
		 */
		if (get && clear_user(get, gsize))
			return -EFAULT;
		ctx = syslet_get_ctx(true);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		spin_lock(&ctx->lock);
		if (lim.max_threads)
			ctx->max_threads = lim.max_threads;
		if (lim.idle_msecs)
			WRITE_ONCE(ctx->idle_msecs, lim.idle_msecs);
		if (lim.max_chains)
			ctx->max_chains = lim.max_chains;
		spin_unlock(&ctx->lock);
	}
	if (!get)
		return 0;

	memset(&lim, 0, sizeof(lim));
	/* what both know, as sched_getattr() says it */
	lim.size = min_t(u32, gsize, sizeof(lim));
	lim.max_threads = SYSLET_DEF_MAX_THREADS;
	lim.idle_msecs = SYSLET_DEF_IDLE_MSECS;
	lim.max_chains = SYSLET_DEF_MAX_CHAINS;
	ctx = syslet_get_ctx(false);
	if (ctx) {
		spin_lock(&ctx->lock);
		lim.max_threads = ctx->max_threads;
		lim.idle_msecs = ctx->idle_msecs;
		lim.max_chains = ctx->max_chains;
		lim.nr_threads = ctx->nr_threads;
		lim.nr_idle = ctx->nr_idle + ctx->nr_standby;
		lim.nr_chains = ctx->nr_chains;
		lim.chains_done = ctx->chains_done;
		spin_unlock(&ctx->lock);
	}
	/* as much as both know; a bigger struct's unknown bytes read 0 */
	if (copy_to_user(get, &lim, min_t(size_t, gsize, sizeof(lim))))
		return -EFAULT;
	if (gsize > sizeof(lim) &&
	    clear_user((char __user *)get + sizeof(lim), gsize - sizeof(lim)))
		return -EFAULT;
	return 0;
}

/* signal_struct is being freed: no thread of the process is left. */
void syslet_free_signal(struct signal_struct *sig)
{
	struct syslet_ctx *ctx = sig->syslet;

	if (ctx)
		syslet_ctx_put(ctx);
}

/*
 * exec, after de_thread(): the async threads were killed with the other
 * threads and have dropped their references; the new image starts clean.
 */
void syslet_execve(void)
{
	struct syslet_ctx *ctx = xchg(&current->signal->syslet, NULL);

	if (ctx) {
		syslet_kill_workers(ctx);
		syslet_ctx_put(ctx);
	}
}

/*
 * Has @tsk's process a user thread besides @tsk: a thread that is not an
 * async thread (PF_IO_WORKER, which a pass-on-block giver becomes too),
 * not a parked user spare and not exiting?
 *
 * Counted, not derived from signal->live: a thread being created is in
 * ctx->nr_threads before it is live, and one exiting is live until after
 * its exit hooks.  A user context on its way from a giver to its taker
 * is on neither task for a moment: ctx->nr_handing counts it.  A thread
 * sets PF_EXITING before it leaves signal->live (a full barrier), and
 * syslet_task_exited() looks after that, so of two user threads exiting
 * at once the second to look sees the first's flag.
 */
bool syslet_other_user_thread(struct task_struct *tsk)
{
	struct syslet_ctx *ctx = READ_ONCE(tsk->signal->syslet);
	struct task_struct *t;
	unsigned int users;
	bool other;

	if (!ctx)
		return atomic_read(&tsk->signal->live) > 1;
	spin_lock(&ctx->lock);
	users = ctx->nr_handing;
	rcu_read_lock();
	for_each_thread(tsk, t) {
		if (t != tsk &&
		    !(READ_ONCE(t->flags) & (PF_IO_WORKER | PF_EXITING)))
			users++;
		if (users > ctx->nr_parked)
			break;
	}
	rcu_read_unlock();
	other = users > ctx->nr_parked;
	spin_unlock(&ctx->lock);
	return other;
}

/*
 * A thread is exiting: what it holds of a threadlet.  The TGID it may
 * hold goes back later, in syslet_task_exit_mm().
 */
void syslet_task_exit(struct task_struct *tsk)
{
	if (!READ_ONCE(tsk->signal->syslet))
		return;
	syslet_threadlet_exit();
}

/*
 * A thread has left signal->live (do_exit(), process context).  If it was
 * the last (@group_dead), the process has died as a whole: the ctx is
 * dead, and direct reads that complete from now on are dropped, their
 * files released (no thread is left to post them).  Else, if no user
 * thread is left (only async threads and parked spares, e.g. after
 * pthread_exit() in every thread), stop the others so that the process
 * can die.
 */
void syslet_task_exited(struct task_struct *tsk, bool group_dead)
{
	struct syslet_ctx *ctx = READ_ONCE(tsk->signal->syslet);

	if (ctx && (group_dead || (!(tsk->flags & PF_IO_WORKER) &&
				   !syslet_other_user_thread(tsk))))
		syslet_kill_workers(ctx);
}

/* exec, before de_thread(): the leader's TID must be the TGID again */
void syslet_execve_prepare(void)
{
	if (READ_ONCE(current->signal->syslet)) {
		syslet_threadlet_exit();
		syslet_reclaim_tid(current);
	}
}
