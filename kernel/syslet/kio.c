// SPDX-License-Identifier: GPL-2.0
/*
 * Direct reads without a thread: a SYSLET_ASYNC chain that is one
 * pread64() of a block device opened with O_DIRECT is issued from the
 * caller as an asynchronous kiocb, the way io_submit() issues it, instead
 * of waking an async thread that would issue it and then sleep until the
 * device answers.  Such a read never waits for its data in a thread: the
 * device's completion (interrupt context) hands the chain to a kworker,
 * which borrows the process's mm and posts the completion to the ring.
 *
 * Anything else goes to an async thread as before: chains of more than
 * one atom, other calls and files, a seccomp filter that does not simply
 * allow the call, arguments the read itself would refuse (their error
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
 * else the kworker.  The chain is on ctx->running with no worker while
 * the read is in flight: async_cancel() marks it cancelled (it completes
 * with -ECANCELED, its data read or not, like an uninterruptible call in
 * an async thread), and exit/exec find it there too.  A chain whose
 * process (mm) is gone when its read completes is dropped unposted.
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <asm/unistd.h>
#include "syslet.h"

struct syslet_kio {
	struct kiocb		iocb;
	struct syslet_chain	*c;
	struct mm_struct	*mm;		/* mmgrab()ed */
	u64			ret_ptr;	/* the atom's */
	long			res;
	refcount_t		refs;
	struct llist_node	lnode;		/* ctx->kio_done */
};

/*
 * Drops what a kio pins but its file and chain.  The ctx is passed in:
 * the chain may be gone already (posted and freed by kio_finish()).
 */
static void kio_free(struct syslet_kio *kio, struct syslet_ctx *ctx)
{
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
 * The kworker: posts the reads that completed, in the process's mm.  It
 * may drop the last reference to the ctx, and so free this work item
 * (which the workqueue allows).
 */
static void kio_work(struct work_struct *work)
{
	struct syslet_ctx *ctx = container_of(work, struct syslet_ctx, kio_work);
	struct llist_node *list = llist_del_all(&ctx->kio_done);
	struct syslet_kio *kio, *tmp;
	struct mm_struct *used = NULL;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(kio, tmp, list, lnode) {
		if (kio->mm != used) {
			if (used) {
				kthread_unuse_mm(used);
				mmput(used);
				used = NULL;
			}
			if (mmget_not_zero(kio->mm)) {
				used = kio->mm;
				kthread_use_mm(used);
			}
		}
		kio_finish(kio, used);
	}
	if (used) {
		kthread_unuse_mm(used);
		mmput(used);
	}
}

/* ->ki_complete(): any context, interrupts included */
static void kio_complete(struct kiocb *iocb, long res)
{
	struct syslet_kio *kio = container_of(iocb, struct syslet_kio, iocb);
	struct syslet_ctx *ctx = kio->c->ctx;

	kio->res = res;
	/* the issuer still holds its reference: it finishes the read */
	if (!refcount_dec_and_test(&kio->refs))
		return;
	if (llist_add(&kio->lnode, &ctx->kio_done))
		queue_work(system_wq, &ctx->kio_work);
}

void syslet_kio_init(struct syslet_ctx *ctx)
{
	init_llist_head(&ctx->kio_done);
	INIT_WORK(&ctx->kio_work, kio_work);
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
	long ret;

	if (READ_ONCE(ctx->dead) || !kio_atom(c, args, &ret_ptr) ||
	    !syslet_seccomp_allows(c, __NR_pread64, args))
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
