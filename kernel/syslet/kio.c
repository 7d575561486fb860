// SPDX-License-Identifier: GPL-2.0
/*
 * Direct reads without a thread: a SYSLET_ASYNC chain that is one
 * pread64() of a block device opened with O_DIRECT is issued from the
 * caller as an asynchronous kiocb, the way io_submit() issues it, instead
 * of waking an async thread that would issue it and then sleep until the
 * device answers.  Such a read never waits for its data in a thread: the
 * device's completion (interrupt context) queues the chain on the ctx,
 * and a thread of the process posts it, in process context, with the
 * process's own mm and memory protection keys: the submitting thread on
 * its way back to user space (task work), or any thread of the process
 * that calls async_wait() first (or async_exec() on that ring).  No
 * system kworker ever writes user memory (a ring on a FUSE or
 * userfaultfd page could stall it for ever); a kworker only drops the
 * reads of a process whose ctx is dead (exit, exec, no user thread left).
 *
 * Such a read is as visible as the same read made by an async thread:
 * the thread that posts it fires the raw_syscalls sys_enter and sys_exit
 * events for it, with its arguments and result, writes its audit record
 * (under the submitter's credentials) and, if the submitter's seccomp
 * filter said SECCOMP_RET_LOG, logs that first (syslet_call_seen()).  A
 * read dropped with its process is not posted, nor seen.
 *
 * Anything else goes to an async thread as before: chains of more than
 * one atom, other calls and files, a seccomp filter that neither allows
 * nor logs the call, arguments the read itself would refuse (their error
 * comes from the real call), and a read the device cannot take without
 * waiting (IOCB_NOWAIT gets -EAGAIN).  The caller waits for nothing the
 * async thread would not have: the read is issued with IOCB_NOWAIT, to
 * devices that honour it (bdev_nowait()).  blk-mq refuses such a read
 * while it is being issued, which is seen here; a device that took it
 * and failed it later with -EAGAIN would complete the atom with -EAGAIN.
 *
 * Lifetimes: a struct syslet_kio pins the file, the process's mm
 * (mmgrab) and the ctx, and is referenced twice while the read is being
 * issued (the issuer's and the completion's), so that whichever of the
 * two is last finishes it: the issuer if the read completed at once,
 * else a thread of the process.  The chain is on ctx->running with no worker while
 * the read is in flight: async_cancel() marks it cancelled (it completes
 * with -ECANCELED, its data read or not, like an uninterruptible call in
 * an async thread), and exit/exec find it there too.  A chain whose
 * process has no thread left to post it when its read completes is
 * dropped unposted.
 *
 * The task work: one per ctx (@kio_tw, queued when @kio_tw_queued goes
 * 0 -> 1, holding a reference to the ctx), on the submitter of the read
 * that queued it, or on another user thread of the process if that one
 * is exiting or serves as an async thread.  It runs on the thread's way
 * back to user space without interrupting a system call (TWA_RESUME,
 * with an IPI to a thread running in user space), which is why
 * async_wait() posts completed reads itself: a thread waiting for the
 * read's completion must not wait for its own return to user space.
 *
 * During a pass-on-block hand-off neither the giver nor the taker can
 * take the task work (both are PF_IO_WORKER for a moment), and a task
 * work already queued on the giver would wait there for the end of the
 * call it blocks in: the taker, once a user thread, takes the task work
 * over from the giver and looks at ctx->kio_done (syslet_kio_taken()).
 */
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uio.h>
#include <asm/unistd.h>
#include "syslet.h"

struct syslet_kio {
	struct kiocb		iocb;
	struct syslet_chain	*c;
	struct mm_struct	*mm;		/* mmgrab()ed */
	u64			ret_ptr;	/* the atom's */
	unsigned long		args[6];	/* the atom's, as issued */
	u32			seccomp;	/* the filter's verdict */
	long			res;
	refcount_t		refs;
	struct task_struct	*tsk;		/* the submitter, referenced */
	struct llist_node	lnode;		/* ctx->kio_done */
};

/*
 * Drops what a kio pins but its file and chain.  The ctx is passed in:
 * the chain may be gone already (posted and freed by kio_finish()).
 */
static void kio_free(struct syslet_kio *kio, struct syslet_ctx *ctx)
{
	put_task_struct(kio->tsk);
	mmdrop(kio->mm);
	kfree(kio);
	syslet_ctx_put(ctx);
}

/* Posts (or, with the process gone, drops) a read that has completed. */
static void kio_finish(struct syslet_kio *kio, bool post)
{
	struct syslet_chain *c = kio->c;
	struct syslet_ctx *ctx = c->ctx;
	long status = kio->res;

	fput(kio->iocb.ki_filp);
	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	spin_unlock(&ctx->lock);

	if (post) {
		const struct cred *old = override_creds(c->cred);

		/* seen as the same read made by an async thread would be */
		if ((kio->seccomp & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
			syslet_seccomp_log(c, __NR_pread64, kio->args,
					   kio->seccomp);
		syslet_call_seen(__NR_pread64, kio->args, kio->res);
		revert_creds(old);
	}
	if (post && kio->ret_ptr &&
	    put_user((s64)kio->res, (s64 __user *)u64_to_user_ptr(kio->ret_ptr)))
		status = -EFAULT;
	if (READ_ONCE(c->cancelled)) {
		status = -ECANCELED;
		c->comp.flags |= SYSLET_COMP_CANCELED;
	}
	c->comp.status = status;
	c->comp.atom = c->head;
	c->comp.nr_atoms = 1;
	if (post && c->kring && !(c->flags & SYSLET_NO_COMPLETE))
		syslet_post_chain(c);
	else
		syslet_chain_free(c);
	/* @c is freed: nothing of it may be read from here on */
	kio_free(kio, ctx);
}

/*
 * Posts the reads that completed, from a thread of the process (current),
 * or drops them if current cannot write the process's memory (it is
 * exiting, or is the kworker of a process with no thread left).
 */
static void kio_flush(struct syslet_ctx *ctx)
{
	struct llist_node *list = llist_del_all(&ctx->kio_done);
	struct syslet_kio *kio, *tmp;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(kio, tmp, list, lnode)
		kio_finish(kio, current->mm == kio->mm &&
			   !(current->flags & (PF_EXITING | PF_KTHREAD)));
}

/* async_wait() and async_exec() on a ring: post what completed. */
void syslet_kio_flush(struct syslet_ctx *ctx)
{
	if (!llist_empty(&ctx->kio_done))
		kio_flush(ctx);
}

/*
 * No thread of the process could take the task work.  If the ctx is dead
 * (the process exits or exec'd, or has no user thread left), drop the
 * reads; else the process is only between two threads (a hand-off): they
 * stay on ctx->kio_done for the taker (syslet_kio_taken()), async_wait()
 * or async_exec(), and syslet_kill_workers() queues this work again.
 */
static void kio_work(struct work_struct *work)
{
	struct syslet_ctx *ctx = container_of(work, struct syslet_ctx, kio_work);
	bool dead;

	spin_lock(&ctx->lock);
	dead = ctx->dead;
	spin_unlock(&ctx->lock);
	if (dead)
		kio_flush(ctx);
	syslet_ctx_put(ctx);
}

/* ctx->dead is set: the reads no thread will post are dropped */
void syslet_kio_dead(struct syslet_ctx *ctx)
{
	if (llist_empty(&ctx->kio_done))
		return;
	refcount_inc(&ctx->refs);
	if (!queue_work(system_wq, &ctx->kio_work))
		syslet_ctx_put(ctx);	/* queued: its reference is enough */
}

static void kio_kick(struct syslet_ctx *ctx, struct task_struct *tsk);

/* The task work, in a thread of the process on its way to user space. */
static void kio_tw(struct callback_head *cb)
{
	struct syslet_ctx *ctx = container_of(cb, struct syslet_ctx, kio_tw);

	/* completions from now on queue it again */
	atomic_set(&ctx->kio_tw_queued, 0);
	/*
	 * Clear the flag before reading the list: a read added after that
	 * sees it clear (llist_add() then atomic_xchg() in kio_kick(), full
	 * barriers both) and queues the work again.
	 */
	smp_mb();
	/* an exiting thread cannot post: another one must */
	if (current->flags & PF_EXITING) {
		if (!llist_empty(&ctx->kio_done))
			kio_kick(ctx, NULL);
	} else {
		kio_flush(ctx);
	}
	syslet_ctx_put(ctx);
}

static bool kio_tw_add(struct syslet_ctx *ctx, struct task_struct *t)
{
	if (READ_ONCE(t->flags) & (PF_EXITING | PF_IO_WORKER | PF_KTHREAD))
		return false;
	init_task_work(&ctx->kio_tw, kio_tw);
	return !task_work_add(t, &ctx->kio_tw, TWA_RESUME);
}

/*
 * Has a user thread of the process post ctx->kio_done: @tsk if it can,
 * else another (@tsk NULL: current is one of the process's threads);
 * with none left (the process is going), the kworker drops them.  Any
 * context, interrupts included.  Takes the references it needs.
 */
static void kio_kick(struct syslet_ctx *ctx, struct task_struct *tsk)
{
	struct task_struct *t;
	bool queued = false;
	int tries;

	/*
	 * Two rounds: a taker that cleared PF_IO_WORKER after our first
	 * look, and whose own kick found @kio_tw_queued set by us, is seen
	 * by the second (both sides: flag, full barrier, the other's flag).
	 */
	for (tries = 0; tries < 2 && !queued; tries++) {
		if (atomic_xchg(&ctx->kio_tw_queued, 1))
			return;		/* already on its way */
		refcount_inc(&ctx->refs);
		rcu_read_lock();
		if (tsk && kio_tw_add(ctx, tsk)) {
			queued = true;
		} else {
			for_each_thread(tsk ?: current, t) {
				if (kio_tw_add(ctx, t)) {
					queued = true;
					break;
				}
			}
		}
		rcu_read_unlock();
		if (queued)
			return;
		syslet_ctx_put(ctx);
		atomic_set(&ctx->kio_tw_queued, 0);
		/* the flag is clear before the second look at the threads */
		smp_mb();
	}
	refcount_inc(&ctx->refs);
	if (!queue_work(system_wq, &ctx->kio_work))
		syslet_ctx_put(ctx);	/* queued: its reference is enough */
}

/*
 * After a hand-off, in the taker (current), a user thread again: the task
 * work queued on the giver @from before it handed off goes with the user
 * context, and reads that completed while neither could take it are
 * posted on the way back to user space.
 */
void syslet_kio_taken(struct syslet_ctx *ctx, struct task_struct *from)
{
	/* PF_IO_WORKER is clear; pairs with llist_add() in kio_complete() */
	smp_mb();
	if (task_work_cancel(from, &ctx->kio_tw)) {
		/* its reference to the ctx goes with it */
		if (!task_work_add(current, &ctx->kio_tw, TWA_RESUME))
			return;
		atomic_set(&ctx->kio_tw_queued, 0);
		/* clear before kio_kick() below reads it (its xchg) */
		smp_mb();
		syslet_ctx_put(ctx);
	}
	if (!llist_empty(&ctx->kio_done))
		kio_kick(ctx, current);
}

/* ->ki_complete(): any context, interrupts included */
static void kio_complete(struct kiocb *iocb, long res)
{
	struct syslet_kio *kio = container_of(iocb, struct syslet_kio, iocb);
	struct syslet_ctx *ctx = kio->c->ctx;
	struct task_struct *tsk = kio->tsk;

	kio->res = res;
	/* the issuer still holds its reference: it finishes the read */
	if (!refcount_dec_and_test(&kio->refs))
		return;
	/*
	 * @kio may be posted and freed as soon as it is on the list, and
	 * with it the references it holds: hold the ctx and the task.
	 */
	refcount_inc(&ctx->refs);
	get_task_struct(tsk);
	llist_add(&kio->lnode, &ctx->kio_done);
	wake_up_all(&ctx->kio_wait);		/* async_wait() posts it */
	kio_kick(ctx, tsk);
	put_task_struct(tsk);
	syslet_ctx_put(ctx);
}

void syslet_kio_init(struct syslet_ctx *ctx)
{
	init_llist_head(&ctx->kio_done);
	INIT_WORK(&ctx->kio_work, kio_work);
	init_waitqueue_head(&ctx->kio_wait);
	atomic_set(&ctx->kio_tw_queued, 0);
}

/*
 * Reads atom 0 of @c and its arguments; true if it is a lone pread64().
 * Every SYSLET_ASYNC submission comes here: other calls cost one get_user().
 */
static bool kio_atom(struct syslet_chain *c, unsigned long *args, u64 *ret_ptr)
{
	struct syslet_atom __user *uatom = u64_to_user_ptr(c->head);
	struct syslet_atom atom;
	u32 nr;

	if (get_user(nr, &uatom->nr) || nr != __NR_pread64 ||
	    copy_from_user(&atom, uatom, sizeof(atom)))
		return false;
	if (atom.nr != __NR_pread64 || atom.next ||
	    (atom.flags & (SYSLET_SKIP_TO_NEXT_ON_STOP | ~SYSLET_ATOM_FLAGS)) ||
	    syslet_load_args(&atom, args))
		return false;
	*ret_ptr = atom.ret_ptr;
	return true;
}

/*
 * Issues chain @c (queued to nothing yet, counted in ctx->nr_chains) as
 * a direct read if it is one.  Returns true if it was taken: it has
 * completed or will complete by itself.  False: queue it as usual.
 */
bool syslet_kio_submit(struct syslet_ctx *ctx, struct syslet_chain *c)
{
	unsigned long args[6];
	struct syslet_kio *kio;
	struct iov_iter iter;
	struct iovec iov;
	struct file *file;
	loff_t pos;
	u64 ret_ptr;
	u32 verdict;
	long ret;

	if (READ_ONCE(ctx->dead) || !kio_atom(c, args, &ret_ptr))
		return false;
	/* ALLOW, or LOG (logged when posted); any other action: a thread */
	verdict = syslet_seccomp_verdict(c, __NR_pread64, args);
	if ((verdict & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW &&
	    (verdict & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_LOG)
		return false;
	pos = (loff_t)args[3];
	file = fget((unsigned int)args[0]);
	if (!file)
		return false;
	if (!(file->f_flags & O_DIRECT) || !(file->f_mode & FMODE_READ) ||
	    !(file->f_mode & FMODE_PREAD) || !(file->f_mode & FMODE_NOWAIT) ||
	    !S_ISBLK(file_inode(file)->i_mode) || !file->f_op->read_iter ||
	    !bdev_nowait(I_BDEV(file->f_mapping->host)) ||
	    pos < 0 || rw_verify_area(READ, file, &pos, args[2]))
		goto no;
	if (import_single_range(READ, (void __user *)args[1], args[2], &iov,
				&iter))
		goto no;
	kio = kmalloc(sizeof(*kio), GFP_KERNEL_ACCOUNT);
	if (!kio)
		goto no;
	init_sync_kiocb(&kio->iocb, file);
	kio->iocb.ki_pos = pos;
	kio->iocb.ki_flags |= IOCB_NOWAIT;
	kio->iocb.ki_complete = kio_complete;
	kio->c = c;
	kio->mm = current->mm;
	mmgrab(kio->mm);
	kio->ret_ptr = ret_ptr;
	memcpy(kio->args, args, sizeof(kio->args));
	kio->seccomp = verdict;
	kio->tsk = get_task_struct(current);
	refcount_set(&kio->refs, 2);
	refcount_inc(&ctx->refs);

	/* in flight: cancel, exit and exec find it here */
	spin_lock(&ctx->lock);
	list_add_tail(&c->node, &ctx->running);
	spin_unlock(&ctx->lock);

	ret = call_read_iter(file, &kio->iocb, &iter);
	/* queued: whichever of us and the completion is last finishes it */
	if (ret == -EIOCBQUEUED && !refcount_dec_and_test(&kio->refs))
		return true;
	if (ret != -EIOCBQUEUED)
		kio->res = ret;		/* ->ki_complete() is not called */
	if (kio->res != -EAGAIN) {
		kio_finish(kio, true);
		return true;
	}
	/* the device could not take it without waiting: a thread will */
	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	spin_unlock(&ctx->lock);
	kio_free(kio, ctx);
	/* a cancel may have marked it meanwhile: the thread sees that */
no:
	fput(file);
	return false;
}
