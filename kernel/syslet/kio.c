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
 * Only a read nobody watches is issued so: one whose submitter's seccomp
 * filter allows it (not RET_LOG), and whose submitter is not traced
 * (ptrace, the raw_syscalls tracepoints) nor audited (kio_watched()).  A
 * read that must be seen goes to an async thread, which makes it as the
 * call it is, with the seccomp log at its entry, the tracepoints and the
 * audit record with its result, in that thread, as for any SYSLET_ASYNC
 * atom.  Seeing a read here instead would attribute it to whichever
 * thread posts it (the pid, comm, auid and session of an unrelated
 * thread calling async_wait()), and a read dropped with its process
 * would leave no record at all.
 *
 * Anything else goes to an async thread as before: chains of more than
 * one atom, other calls and files, a seccomp filter that does not allow
 * the call, arguments the read itself would refuse (their error
 * comes from the real call), a buffer whose pages the caller could not
 * pin without waiting for their fault (not all of it in one private
 * anonymous mapping without userfaultfd: kbuf_may_fault()), and a read
 * the device cannot take without
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
 * an async thread), and exit/exec find it there too.  The completion
 * (an interrupt) holds a reference to the ctx of its own while it queues
 * the kio, and may be the last holder once it has: it drops it with
 * kio_ctx_put(), which leaves the last put to kio_work().  A chain whose
 * process has no thread left to post it when its read completes is
 * dropped unposted.
 *
 * The task work: one per ctx (@kio_tw, queued when @kio_tw_queued goes
 * 0 -> 1, holding a reference to the ctx; and @kio_tw_busy, below), on
 * the submitter of the read
 * that queued it, or on another user thread of the process if that one
 * is exiting or serves as an async thread.  It is queued as io_uring
 * queues its task work without DEFER_TASKRUN (TWA_SIGNAL): a thread
 * sleeping interruptibly in an unrelated system call (futex_wait(),
 * read() of a pipe) is woken as by a signal with no handler, runs it
 * and has its call restarted as usual (-ERESTARTSYS and the like; a call
 * that returns -EINTR to any signal, such as epoll_wait(), returns it
 * here too); a thread running in user space gets an IPI.  Else a
 * completion would wait for the submitter's next return to user space,
 * for ever if the program polls the ring from another thread while the
 * submitter sleeps.  A thread in the middle of a chain run in its
 * async_exec() (in ctx->callers, or a threadlet) is not interrupted, or
 * a sleeping atom after the first would end with -EINTR: another user
 * thread of the process is kicked instead, and if there is none, an
 * async thread of the process posts them (kio_post_work(); review 7
 * finding 11: the task work on a busy thread, TWA_RESUME, waited for its
 * chain's end, which could wait for the read).  A pass-on-block taker
 * waiting for its giver posts io_submit() reads too (syslet_taker_post()).
 * Only a chain's reads, with no unreserved async thread, still wait for a
 * busy user thread's chain end, with a task work of their own
 * (@kio_tw_busy, @kio_tw_parked: kio_kick_busy()) that keeps no later
 * kick from the first one (review 10 finding 2).  A thread that begins a chain with reads in flight
 * makes sure one exists (syslet_kio_spare()).
 * A kick that came before the chain started is run before it
 * (syslet_kio_chain_begin()).  async_wait() still posts completed reads
 * itself.
 *
 * During a pass-on-block hand-off neither the giver nor the taker can
 * take the task work (both are PF_IO_WORKER for a moment), and a task
 * work already queued on the giver would wait there for the end of the
 * call it blocks in: the taker, once a user thread, takes the task work
 * over from the giver and looks at ctx->kio_done (syslet_kio_taken()).
 *
 * A kio with @ops is a buffered read of another owner (aio.c: an
 * io_submit() request), read by the same code: its owner completes it
 * and frees it (@ops->finish), holds its file, and marks it cancelled.
 * It is read on with its submitter's credentials (@cred), whichever
 * thread reads it on; what must be read blocking is read by an async
 * thread (syslet_queue_kio(), syslet_kio_run()), never by the thread
 * that posts it (review 7 finding 4).
 */
#include <linux/audit.h>
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/xacct.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uio.h>
#include <linux/userfaultfd_k.h>
#include <asm/pkru.h>
#include <asm/unistd.h>
#include <trace/events/syslet.h>
#include "syslet.h"

/*
 * Drops what a kio pins but its file and chain.  The ctx is passed in:
 * the chain may be gone already (posted and freed by kio_finish()).
 */
static void kio_free(struct syslet_kio *kio, struct syslet_ctx *ctx)
{
	if (kio->cred)
		put_cred(kio->cred);
	put_task_struct(kio->tsk);
	mmdrop(kio->mm);
	kfree(kio);
	atomic_dec(&ctx->nr_kio);
	syslet_ctx_put(ctx);
}

/*
 * What vfs_read() does after the call: fsnotify and I/O accounting, in
 * current, the submitter or a thread of its process (review 6 finding 6:
 * direct reads did neither).
 */
static void kbuf_account(struct file *file, long res)
{
	if (res > 0) {
		fsnotify_access(file);
		add_rchar(current, res);
	}
	inc_syscr(current);
}

/* aio.c: frees an @ops read (its owner's request completed) */
void syslet_kio_free(struct syslet_kio *kio)
{
	kio_free(kio, kio->ctx);
}

/*
 * Current is about to read @kio on: with the submitter's credentials
 * (@kio->cred), not its own (issue 18 item 3: a thread whose per-thread
 * credentials differ may read an io_submit() request on).  Returns what
 * revert_creds() gets back, or NULL if current has them already (the
 * submitter, mostly) or @kio is a chain's.  A reference of its own is
 * held meanwhile: @kio may be freed before revert_creds().  Never in a
 * kworker: one that drops reads does not read.
 */
const struct cred *syslet_kio_creds(struct syslet_kio *kio)
{
	const struct cred *cred = kio->cred;

	/* an async thread reads a chain's with its submitter's, as it runs one */
	if (!cred && kio->c && (current->flags & PF_IO_WORKER))
		cred = kio->c->cred;
	if (!cred || cred == current_cred())
		return NULL;
	return override_creds(cred);
}

/* Posts (or, with the process gone, drops) a read that has completed. */
static void kio_finish(struct syslet_kio *kio, bool post)
{
	struct syslet_chain *c = kio->c;
	struct syslet_ctx *ctx = c->ctx;
	long status = kio->res;

	/* a buffered read was accounted where it copied (kbuf_*()) */
	if (post && !kio->buffered)
		kbuf_account(kio->iocb.ki_filp, kio->res);
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

/* a read is over: posted, or dropped with its process */
static void kio_end(struct syslet_kio *kio, bool post)
{
	if (kio->ops)
		kio->ops->finish(kio, post);
	else
		kio_finish(kio, post);
}

/*
 * Adds the reads @first..@last to ctx->kio_done; any context.  The
 * waiters on ctx->kio_wait (async_wait(), io_getevents()) are woken only
 * when the list goes from empty to not: each drains it all before it
 * sleeps again, and sleeps only once it saw it empty after going on the
 * queue (in that order, with a full barrier between), so a read added
 * to a list that was not empty has a wake-up on its way already.  Most
 * reads complete in bursts while the list holds the first of them: no
 * wait queue lock per read in the completion interrupt, which runs
 * under the folio's wait queue lock (kbuf_wake()), and whose spinning,
 * with interrupts off, against a waiter's add_wait_queue() whose vCPU
 * the host had preempted stalled the device's completions on that vCPU
 * for milliseconds (a busy host: docs/design.md).  None either when no
 * thread waits: wq_has_sleeper()'s barrier pairs with the one a waiter
 * has between going on the queue, or clearing its @kicked, and its look
 * at the list (the set_current_state() of async_wait()'s
 * prepare_to_wait(), the smp_mb()s of syslet_aio_waiter_begin() and
 * syslet_aio_run_work()).  Every add to the list goes through here but
 * the dead ctx's (syslet_kill_workers(): no user thread waits then).
 *
 * A put-back that refills an empty list wakes the waiters too, which
 * before waited for the next read's wake: a hand-off's giver asleep in
 * io_getevents() is then woken, drains the list and sleeps again, and
 * its taker's claim comes later (SYSLET_CLAIM_LATER); a giver that
 * stays on the queue after its claim (an async thread now: it posts
 * nothing) only takes such wake-ups, as it did every read's before.
 */
static void kio_done_add(struct syslet_ctx *ctx, struct llist_node *first,
			 struct llist_node *last)
{
	if (llist_add_batch(first, last, &ctx->kio_done) &&
	    wq_has_sleeper(&ctx->kio_wait))
		wake_up_all(&ctx->kio_wait);
}

static void kio_kick(struct syslet_ctx *ctx, struct task_struct *tsk);
static bool kio_readded_dead(struct syslet_ctx *ctx);
static bool kio_tw_once(struct syslet_ctx *ctx, struct task_struct *tsk);
static void kio_kick_busy(struct syslet_ctx *ctx, struct task_struct *tsk);
static void kbuf_retry(struct syslet_kio *kio, bool taker);

/*
 * Posts a read that completed, in current, a thread of the process, with
 * the submitter's memory protection keys at submission loaded: its PKRU,
 * not current's, decides what the kernel may write, as around a queued
 * chain (worker_run()).  A buffered read whose page came is read on
 * (copy_to_user(), and the blocking rest an io_submit() read may need
 * here, syslet_aio_sync()); a chain's result is stored at its ret_ptr
 * and posted to its ring (review 8 R8-2: a direct read's were written
 * with current's PKRU, which may forbid or allow what the submitter's
 * does not).  Any user thread posts so: none hands a read back for
 * another (review 7 finding 1: a thread of another PKRU put it back on
 * ctx->kio_done and kicked the submitter, whose busy chain sent the task
 * work back to it: it spun in the kernel past async_wait()'s timeout and
 * its signals, and never went back to user space; finding 8: a read
 * whose submitter was gone was copied with the refusing thread's PKRU).
 * (Its ioprio still applies to the readahead it starts: not handled.)
 *
 * No pass-on-block hand-off while another's PKRU is loaded (review 8
 * R8-1): the read on may sleep in an atom of current's chain (an
 * io_getevents() atom posts what completed), and a hand-off then would
 * give the taker current's user context with the submitter's PKRU (the
 * taker takes thread.pkru).  As for credentials that differ
 * (syslet_identity_same()), the call sleeps in the caller instead.
 */
static void kio_post_as_submitter(struct syslet_kio *kio, bool taker)
{
	struct syslet_pob *pob = current->syslet_pob;
	unsigned int pflags = current->flags & SYSLET_KWORK_PF;
	u32 pkru = syslet_arch_set_pkru(kio->pkru);
	bool armed = false;

	if (pob && (pkru != kio->pkru || pflags != kio->pflags)) {
		armed = pob->armed;
		WRITE_ONCE(pob->armed, false);
	}
	current_restore_flags(kio->pflags, SYSLET_KWORK_PF);
	/* @kio may be freed from here on */
	if (kio->buffered)
		kbuf_retry(kio, taker);
	else
		kio_end(kio, true);
	current_restore_flags(pflags, SYSLET_KWORK_PF);
	if (armed)
		WRITE_ONCE(pob->armed, true);
	syslet_arch_set_pkru(pkru);
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
	llist_for_each_entry_safe(kio, tmp, list, lnode) {
		bool post = current->mm == kio->mm &&
			    !(current->flags & (PF_EXITING | PF_KTHREAD));

		/* posted here (a buffered read: read on), as its submitter */
		if (post)
			kio_post_as_submitter(kio, false);
		else
			kio_end(kio, false);
	}
}

/* Puts @first and the reads after it back on ctx->kio_done. */
static void kio_put_back(struct syslet_ctx *ctx, struct llist_node *first)
{
	struct llist_node *last;

	if (!first)
		return;
	for (last = first; last->next; last = last->next)
		;
	kio_done_add(ctx, first, last);
}

/*
 * A pass-on-block taker (current), reserved and waiting for its giver
 * (syslet_pob_wait()), posts the io_submit() reads of ctx->kio_done as
 * kio_flush() does, one at a time: before each it looks at its hand-off
 * state word @hs, and a pend (but the one it already found over,
 * @later) stops it; the reads left go back on ctx->kio_done, newest
 * first as the list keeps them, so the next flush posts them oldest
 * first (review 23, kio.c finding 2: they came back reversed), after
 * reads added meanwhile (an order aio does not promise),
 * SYSLET_TAKER_STOPPED.
 * A read's blocking rest it queues for another thread (kbuf_to_thread()).
 * Review 10 finding 1.
 *
 * Only io_submit() reads: their posting writes the kernel's aio ring and
 * their read-on copies with page faults disabled (a private anonymous
 * buffer is faulted in first: syslet_kbuf_call()).  A chain's read is
 * posted with put_user() to its atom's result and a copy to its ring,
 * faults enabled, which may wait for a page only the giver's user
 * context serves (userfaultfd, a FUSE server's own mapping) and hold the
 * hand-off for ever, or for a major fault's I/O: those go back,
 * SYSLET_TAKER_CHAINS, for an unreserved async thread or a user thread
 * (syslet_taker_post()).
 */
int syslet_kio_post_taker(struct syslet_ctx *ctx, unsigned long *hs,
			  unsigned long later)
{
	struct llist_node *list = llist_del_all(&ctx->kio_done);
	struct llist_node *chains = NULL, **tail = &chains;
	struct syslet_kio *kio, *tmp;
	int ret = 0;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(kio, tmp, list, lnode) {
		/* pairs with the giver's cmpxchg, as in syslet_pob_wait() */
		unsigned long s = smp_load_acquire(hs);

		if (!kio->ops) {
			kio->lnode.next = NULL;
			*tail = &kio->lnode;
			tail = &kio->lnode.next;
			ret |= SYSLET_TAKER_CHAINS;
			continue;
		}
		if (syslet_hs_phase(s) == SYSLET_HS_PENDING && s != later) {
			/* newest first again, as llist_add() has them */
			kio_put_back(ctx, llist_reverse_order(&kio->lnode));
			ret |= SYSLET_TAKER_STOPPED;
			break;
		}
		/* an async thread of the process: its mm, never exiting here */
		if (current->mm == kio->mm)
			kio_post_as_submitter(kio, true);
		else
			kio_end(kio, false);
	}
	kio_put_back(ctx, llist_reverse_order(chains));
	/* put back on a dead ctx: dropped (and nothing more to do) */
	if (ret && kio_readded_dead(ctx))
		ret = 0;
	return ret;
}

/*
 * Reads a waiting taker put back that no async thread may post (a
 * chain's, with no unreserved thread): a user thread posts them, one that
 * runs no chain, else a busy one at its chain's end, as with no async
 * thread at all (kio_post_work()).  The caller holds a reference to the
 * ctx.
 */
void syslet_kio_post_user(struct syslet_ctx *ctx)
{
	struct llist_node *first = llist_del_all(&ctx->kio_done);
	struct task_struct *tsk;

	if (!first)
		return;		/* posted meanwhile */
	tsk = get_task_struct(llist_entry(first, struct syslet_kio,
					  lnode)->tsk);
	kio_put_back(ctx, first);
	if (!kio_readded_dead(ctx) && !kio_tw_once(ctx, tsk))
		kio_kick_busy(ctx, tsk);
	put_task_struct(tsk);
}

/* async_wait() and async_exec() on a ring: post what completed. */
void syslet_kio_flush(struct syslet_ctx *ctx)
{
	if (!llist_empty(&ctx->kio_done))
		kio_flush(ctx);
}

/*
 * The ctx is dead (the process exits or exec'd, or has no user thread
 * left: syslet_kio_dead()), or its last reference went in an interrupt
 * (kio_ctx_put()): drop the reads no thread will post.
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

/*
 * Drops a reference to the ctx in any context, interrupts included: the
 * last one is dropped by kio_work(), in process context, as ctx_free()
 * must be (it puts creds and seccomp filters, frees chains and rings).
 * It can be ours: another thread may post and free the kio (and its
 * reference) as soon as kio_complete() put it on ctx->kio_done.  Ours
 * being the last, no one else can have kio_work queued (it would hold a
 * reference of its own).
 */
static void kio_ctx_put(struct syslet_ctx *ctx)
{
	if (refcount_dec_not_one(&ctx->refs))
		return;
	queue_work(system_wq, &ctx->kio_work);
}

/* ctx->dead is set: the reads no thread will post are dropped */
void syslet_kio_dead(struct syslet_ctx *ctx)
{
	/*
	 * ctx->dead is set before the list is read: a read added after
	 * that sees it in kio_kick() (llist_add(), then ctx->dead).
	 */
	smp_mb();
	if (llist_empty(&ctx->kio_done))
		return;
	refcount_inc(&ctx->refs);
	/* from kio_kick() too: any context */
	if (!queue_work(system_wq, &ctx->kio_work))
		kio_ctx_put(ctx);	/* queued: its reference is enough */
}

/*
 * The task work, in a thread of the process on its way to user space;
 * its flag was just cleared.
 */
static void kio_tw_run(struct syslet_ctx *ctx)
{
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

static void kio_tw(struct callback_head *cb)
{
	struct syslet_ctx *ctx = container_of(cb, struct syslet_ctx, kio_tw);

	/* completions from now on queue it again */
	atomic_set(&ctx->kio_tw_queued, 0);
	kio_tw_run(ctx);
}

/* the same, parked on a busy thread for its chain's end (kio_kick_busy()) */
static void kio_tw_busy(struct callback_head *cb)
{
	struct syslet_ctx *ctx = container_of(cb, struct syslet_ctx,
					      kio_tw_busy);

	atomic_set(&ctx->kio_tw_parked, 0);
	kio_tw_run(ctx);
}

/*
 * Is @t running a chain in its async_exec()?  ctx->callers_lock held.
 * One bucket of ctx->callers is looked at, not every caller: a kick
 * looks at up to KIO_PICK_LOOKS threads in interrupt context.
 */
static bool kio_in_chain(struct syslet_ctx *ctx, struct task_struct *t)
{
	struct syslet_caller *sc;

	hash_for_each_possible(ctx->callers, sc, node, (unsigned long)t)
		if (sc->task == t)
			return true;
	return false;
}

/*
 * Queues the task work on @t, a user thread of the process, if it may
 * take it.  ctx->callers_lock held.  A thread running a chain in its
 * async_exec() (or a threadlet) is not taken (interrupted, an atom of its
 * chain would end with -EINTR) but by kio_kick_busy(), @busy: then the
 * task work is the other one, @kio_tw_busy, queued with TWA_RESUME, for
 * the chain's end (or a hand-off's, whose taker takes the task work
 * over: syslet_kio_taken()).  Parked there it keeps no later kick from
 * queueing @kio_tw on a thread that is free by then (review 10 finding
 * 2: the two shared one flag, and a parked task work swallowed every
 * later kick until that chain's end).  @t's flags are read and the task
 * work added under ctx->callers_lock, as one step: a thread that puts
 * itself in ctx->callers afterwards sees TIF_NOTIFY_SIGNAL set
 * (syslet_kio_chain_begin()), and a hand-off's taker that looks for the
 * task work on its giver afterwards finds it there (syslet_kio_taken());
 * one that looked before, the giver's PF_IO_WORKER, set at the claim
 * before it looked, makes this look see the flag.
 */
static bool kio_tw_add(struct syslet_ctx *ctx, struct task_struct *t,
		       bool busy, bool asleep_ok)
{
	bool in_chain;

	lockdep_assert_held(&ctx->callers_lock);
	if (READ_ONCE(t->flags) & (PF_EXITING | PF_IO_WORKER | PF_KTHREAD))
		return false;
	/*
	 * Not a thread in a long sleep where TWA_SIGNAL does not wake it (a
	 * vfork() parent in TASK_KILLABLE, a stopped or traced one): the
	 * reads would wait for it, and no later kick would look further
	 * (review 23 finding 4: another thread's eventfd saw a 200 ms read
	 * after the vfork() child's 3 s).  A plain TASK_UNINTERRUPTIBLE
	 * sleep (a mutex: the ring's, which the poster holds a moment) is
	 * short and keeps the kick: passed over, the reads of a process
	 * with one user thread went to the kworker and an async thread,
	 * cold QD64 0.89x -> 0.78x io_uring.  A look, not a promise: a
	 * thread that goes to such a sleep just after is waited for.  With
	 * no other thread to take it (@asleep_ok, kio_tw_pick()'s second
	 * look), such a one still does, when it wakes: without a user
	 * thread the reads of a process with no async thread failed with
	 * -EAGAIN (a single-threaded libaio program stopped by its tracer,
	 * in posix_spawn()'s vfork(), in a killable page fault: the review
	 * of review 23's fixes).
	 */
	if (!busy && !asleep_ok && (READ_ONCE(t->__state) &
		      (TASK_WAKEKILL | __TASK_STOPPED | __TASK_TRACED)))
		return false;
	in_chain = READ_ONCE(t->syslet_pob) || kio_in_chain(ctx, t);
	if (!busy) {
		if (in_chain)
			return false;
		init_task_work(&ctx->kio_tw, kio_tw);
		return !task_work_add(t, &ctx->kio_tw, TWA_SIGNAL);
	}
	init_task_work(&ctx->kio_tw_busy, kio_tw_busy);
	return !task_work_add(t, &ctx->kio_tw_busy,
			      in_chain ? TWA_RESUME : TWA_SIGNAL);
}

/*
 * How many threads a kick looks at for one that runs no chain: it runs
 * with interrupts off (the completion interrupt, or ctx->callers_lock),
 * so not all of them.
 */
#define KIO_PICK_LOOKS	32

/*
 * Queues the task work on @tsk, or another user thread of @tsk's
 * process (current's if @tsk is NULL) that runs no chain in its
 * async_exec(), among @tsk and the first KIO_PICK_LOOKS threads; with
 * @busy (kio_kick_busy(), the parked one), the first user thread, @tsk
 * first, busy or not.  The work is bounded: KIO_PICK_LOOKS lookups of
 * one bucket each, or a walk past async threads and exiting ones to the
 * first user thread (at most max_threads of them, and the exiting), one
 * lookup.  In a process with more threads, an async thread may post the
 * reads (kio_kick()) while an idle user thread further on could have.
 */
static bool kio_tw_pick(struct syslet_ctx *ctx, struct task_struct *tsk,
			bool busy)
{
	struct task_struct *t;
	unsigned long fl;
	int looks = 0;
	bool ok = true;

	spin_lock_irqsave(&ctx->callers_lock, fl);
	if (tsk && kio_tw_add(ctx, tsk, busy, false))
		goto out;
	for_each_thread(tsk ?: current, t) {
		if (t != tsk && kio_tw_add(ctx, t, busy, false))
			goto out;
		if (!busy && ++looks >= KIO_PICK_LOOKS)
			break;
	}
	ok = false;
	if (busy)
		goto out;
	/* none awake: one in a long sleep posts them when it wakes */
	ok = true;
	if (tsk && kio_tw_add(ctx, tsk, false, true))
		goto out;
	looks = 0;
	for_each_thread(tsk ?: current, t) {
		if (t != tsk && kio_tw_add(ctx, t, false, true))
			goto out;
		if (++looks >= KIO_PICK_LOOKS)
			break;
	}
	ok = false;
out:
	spin_unlock_irqrestore(&ctx->callers_lock, fl);
	return ok;
}

/*
 * Has a user thread of the process post ctx->kio_done: @tsk if it can,
 * else another (@tsk NULL: current is one of the process's threads);
 * with none left (the process is going), the kworker drops them.  Any
 * context, interrupts included.  Takes the references it needs.
 */
static void kio_kick(struct syslet_ctx *ctx, struct task_struct *tsk)
{
	bool queued;
	int tries;

	/*
	 * A dead ctx's reads are dropped by the kworker: the thread that
	 * exec'd may wait for them (exit_aio() of its old mm).  Pairs with
	 * the barrier in syslet_kio_dead().
	 */
	if (READ_ONCE(ctx->dead)) {
		syslet_kio_dead(ctx);
		return;
	}
	/*
	 * Two rounds: a taker that cleared PF_IO_WORKER after our first
	 * look, and whose own kick found @kio_tw_queued set by us, is seen
	 * by the second (both sides: flag, full barrier, the other's flag).
	 */
	for (tries = 0; tries < 2; tries++) {
		if (atomic_xchg(&ctx->kio_tw_queued, 1))
			return;		/* already on its way */
		refcount_inc(&ctx->refs);
		rcu_read_lock();
		queued = kio_tw_pick(ctx, tsk, false);
		rcu_read_unlock();
		if (queued)
			return;
		kio_ctx_put(ctx);
		atomic_set(&ctx->kio_tw_queued, 0);
		/* the flag is clear before the second look at the threads */
		smp_mb();
	}
	/*
	 * Every user thread runs a chain (or none can take it: a hand-off,
	 * exiting ones): not the task work on a busy one, for its chain's
	 * end, which may wait for this very read (review 7 finding 11), but
	 * an async thread posts them (kio_post_work()).  @kio_tw_queued is
	 * left clear: every later completion comes here again.
	 */
	refcount_inc(&ctx->refs);
	if (!queue_work(system_wq, &ctx->kio_post_work))
		kio_ctx_put(ctx);	/* queued: its reference is enough */
}

/*
 * Reads were put back on ctx->kio_done by the kworker, which had taken
 * them off: syslet_kio_dead() may have found the list empty meanwhile
 * and queued nothing (review 10 finding 6).  True if the ctx is dead:
 * they are dropped (kio_work()).  The barrier pairs with the one in
 * syslet_kio_dead(), as in kio_kick().
 */
static bool kio_readded_dead(struct syslet_ctx *ctx)
{
	/* the put-back before the look at ctx->dead */
	smp_mb();
	if (!READ_ONCE(ctx->dead))
		return false;
	syslet_kio_dead(ctx);
	return true;
}

/*
 * One look, in process context, for a user thread of @tsk's process
 * that runs no chain to take the task work (kio_tw_pick()): true if it
 * is on its way (queued now, or before: @kio_tw_queued is only ever set
 * for a thread that runs none, or a taker on its way to user space).
 * The caller holds a reference to the ctx.
 */
static bool kio_tw_once(struct syslet_ctx *ctx, struct task_struct *tsk)
{
	bool queued;

	if (atomic_xchg(&ctx->kio_tw_queued, 1))
		return true;
	refcount_inc(&ctx->refs);
	rcu_read_lock();
	queued = kio_tw_pick(ctx, tsk, false);
	rcu_read_unlock();
	if (queued)
		return true;
	atomic_set(&ctx->kio_tw_queued, 0);
	syslet_ctx_put(ctx);	/* not the last: the caller holds one */
	return false;
}

/*
 * The other task work (@kio_tw_busy) on a busy user thread of @tsk's
 * process, TWA_RESUME, for its chain's end (a chain's reads when the
 * process has no async thread to post them), unless it is parked on one
 * already: that one posts them too.  Process context; the caller holds
 * a reference to the ctx.
 */
static void kio_kick_busy(struct syslet_ctx *ctx, struct task_struct *tsk)
{
	bool queued;

	if (atomic_xchg(&ctx->kio_tw_parked, 1))
		return;
	refcount_inc(&ctx->refs);
	rcu_read_lock();
	queued = kio_tw_pick(ctx, tsk, true);
	rcu_read_unlock();
	if (queued)
		return;
	atomic_set(&ctx->kio_tw_parked, 0);
	syslet_ctx_put(ctx);	/* not the last: the caller holds one */
}

/*
 * The kick looked at the user threads in the completion's interrupt, and
 * a chain may have ended since (review 9 finding 8): before failing the
 * reads, look again for a user thread that runs no chain, from the
 * process of a read in ctx->kio_done (taken off the list to read its
 * task, and put back before the look).  True if one takes them.
 */
static bool kio_post_again(struct syslet_ctx *ctx)
{
	struct llist_node *first = llist_del_all(&ctx->kio_done), *last;
	struct task_struct *tsk;
	bool queued;

	if (!first)
		return true;	/* another thread posted them meanwhile */
	tsk = get_task_struct(llist_entry(first, struct syslet_kio,
					  lnode)->tsk);
	for (last = first; last->next; last = last->next)
		;
	kio_done_add(ctx, first, last);
	queued = kio_readded_dead(ctx) || kio_tw_once(ctx, tsk);
	put_task_struct(tsk);
	return queued;
}

/*
 * No user thread of the process could take its completed reads (kio_kick()
 * above), in a kworker: an async thread of the process posts them, with
 * each read's submitter's credentials and PKRU (syslet_kio_to_worker()),
 * an idle one woken, or the first to be done with its chain.  A process
 * with none (none could be made when its threads began their chains:
 * RLIMIT_NPROC, memory; syslet_kio_spare()) has its io_submit() reads
 * complete here with -EAGAIN, what they copied before counting (the aio
 * ring and its eventfd are the kernel's: no user memory is written),
 * rather than wait for a chain's end that may wait for them; a chain's
 * read goes to a busy thread for its chain's end, as before (it writes
 * user memory; async_wait() posts it too).
 */
static void kio_post_work(struct work_struct *work)
{
	struct syslet_ctx *ctx = container_of(work, struct syslet_ctx,
					      kio_post_work);
	struct llist_node *list, *first = NULL, *last = NULL;
	struct task_struct *tsk = NULL;
	struct syslet_kio *kio, *tmp;

	if (syslet_kio_to_worker(ctx) != -EAGAIN || kio_post_again(ctx))
		goto out;
	list = llist_reverse_order(llist_del_all(&ctx->kio_done));
	llist_for_each_entry_safe(kio, tmp, list, lnode) {
		if (kio->ops) {
			kio->res = kio->done ?: -EAGAIN;
			kio->ops->finish(kio, true);
			continue;
		}
		if (!tsk)
			tsk = get_task_struct(kio->tsk);
		/*
		 * The chains' reads go back as one batch, newest first as
		 * llist_add() would have them: the poster's reversal gives
		 * their order back.
		 */
		kio->lnode.next = first;
		first = &kio->lnode;
		if (!last)
			last = first;
	}
	if (first)
		kio_done_add(ctx, first, last);
	if (tsk) {
		if (!kio_readded_dead(ctx))
			kio_kick_busy(ctx, tsk);
		put_task_struct(tsk);
	}
out:
	syslet_ctx_put(ctx);
}

/*
 * A waiting user thread (async_wait()) was woken by task work queued
 * with TWA_SIGNAL (a read's kick, kio_kick(), or any other): that is no
 * signal, so the work is run and the wait goes on, as io_uring's waits
 * do.  False if a signal is pending too (the wait ends with -EINTR) or
 * it was not that.  Not in an async thread, whose notification is a
 * cancel (async_wait() is no atom anyway).
 */
bool syslet_kio_run_work(void)
{
	if (!test_thread_flag(TIF_NOTIFY_SIGNAL) || task_sigpending(current) ||
	    (current->flags & PF_IO_WORKER))
		return false;
	__set_current_state(TASK_RUNNING);
	clear_notify_signal();
	if (task_work_pending(current))
		task_work_run();
	return true;
}

/*
 * Current is about to run a chain in its async_exec(): reads that
 * complete meanwhile go to another thread if there is one, else to an
 * async thread (kio_post_work()).  A kick that came before (task work
 * with TIF_NOTIFY_SIGNAL) is run now, as get_signal() would run it,
 * not left to interrupt an atom.
 */
void syslet_kio_chain_begin(struct syslet_ctx *ctx, struct syslet_caller *sc)
{
	unsigned long fl;

	/*
	 * Reads in flight: an async thread to post them if no user thread
	 * can, made before current is busy (a read that completes before
	 * it exists would find none: kio_post_work()).
	 */
	if (atomic_read(&ctx->nr_kio))
		syslet_kio_spare(ctx);
	sc->task = current;
	spin_lock_irqsave(&ctx->callers_lock, fl);
	hash_add(ctx->callers, &sc->node, (unsigned long)current);
	spin_unlock_irqrestore(&ctx->callers_lock, fl);
	if (test_thread_flag(TIF_NOTIFY_SIGNAL)) {
		clear_notify_signal();
		if (task_work_pending(current))
			task_work_run();
	}
}

/*
 * Current is about to issue a read (aio.c; counted in ctx->nr_kio): if it
 * runs a chain itself (its io_submit() is an atom), an async thread to
 * post it if every user thread runs one, as syslet_kio_chain_begin()
 * makes sure.
 */
void syslet_kio_submitted(struct syslet_ctx *ctx)
{
	unsigned long fl;
	bool busy;

	if (READ_ONCE(current->syslet_pob)) {
		busy = true;
	} else {
		spin_lock_irqsave(&ctx->callers_lock, fl);
		busy = kio_in_chain(ctx, current);
		spin_unlock_irqrestore(&ctx->callers_lock, fl);
	}
	if (busy)
		syslet_kio_spare(ctx);
}

/*
 * The chain has ended, or (@sc NULL) current gave its user context away
 * and is about to live on as an async thread, which may exit without
 * returning through the async_exec() whose stack holds its entry.
 *
 * Reads that completed while every user thread ran a chain were left for
 * an async thread (kio_post_work()), which may be busy with a chain of
 * its own for long: current, a user thread again, takes them (the task
 * work, on its way back to user space), as the task work queued for the
 * chain's end did before review 7 finding 11 (review 9 finding 6: an
 * event loop's poll() of the eventfd waited for that thread's chain).
 */
void syslet_kio_chain_end(struct syslet_ctx *ctx, struct syslet_caller *sc)
{
	bool user = sc;
	struct syslet_caller *i;
	unsigned long fl;

	spin_lock_irqsave(&ctx->callers_lock, fl);
	if (!sc) {
		hash_for_each_possible(ctx->callers, i, node,
				       (unsigned long)current) {
			if (i->task == current) {
				sc = i;
				break;
			}
		}
	}
	/* an entry already taken out (by a giver) is left alone */
	if (sc)
		hash_del(&sc->node);
	spin_unlock_irqrestore(&ctx->callers_lock, fl);
	/*
	 * A kick that saw current busy did so under ctx->callers_lock, after
	 * its llist_add(): the read is seen here.  One after sees it free.
	 */
	if (user && !llist_empty(&ctx->kio_done))
		kio_kick(ctx, current);
}

/*
 * After a hand-off, in the taker (current), a user thread again: the task
 * work queued on the giver @from before it handed off goes with the user
 * context, and reads that completed while neither could take it are
 * posted on the way back to user space.
 */
void syslet_kio_taken(struct syslet_ctx *ctx, struct task_struct *from)
{
	bool moved, parked;
	unsigned long fl;

	/* PF_IO_WORKER is clear; pairs with llist_add() in kio_complete() */
	smp_mb();
	/*
	 * Under ctx->callers_lock: a kick that read @from's flags before
	 * the hand-off set PF_IO_WORKER has added its task work by now
	 * (kio_tw_add()), else it would sit on @from, an async thread from
	 * now on, with @kio_tw_queued set against every later kick.
	 */
	spin_lock_irqsave(&ctx->callers_lock, fl);
	moved = task_work_cancel(from, &ctx->kio_tw);
	parked = task_work_cancel(from, &ctx->kio_tw_busy);
	spin_unlock_irqrestore(&ctx->callers_lock, fl);
	/* the parked one too: it would keep @kio_tw_parked set */
	if (parked && task_work_add(current, &ctx->kio_tw_busy, TWA_RESUME)) {
		atomic_set(&ctx->kio_tw_parked, 0);
		syslet_ctx_put(ctx);
	}
	if (moved) {
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
	kio_done_add(ctx, &kio->lnode, &kio->lnode);	/* async_wait() posts it */
	kio_kick(ctx, tsk);
	put_task_struct(tsk);
	kio_ctx_put(ctx);
}

void syslet_kio_init(struct syslet_ctx *ctx)
{
	init_llist_head(&ctx->kio_done);
	INIT_WORK(&ctx->kio_work, kio_work);
	INIT_WORK(&ctx->kio_post_work, kio_post_work);
	INIT_LIST_HEAD(&ctx->kio_queue);
	atomic_set(&ctx->nr_kio, 0);
	init_waitqueue_head(&ctx->kio_wait);
	atomic_set(&ctx->kio_tw_queued, 0);
	atomic_set(&ctx->kio_tw_parked, 0);
	spin_lock_init(&ctx->callers_lock);
	hash_init(ctx->callers);
}

/*
 * Reads atom 0 of @c and its arguments; true if it is a lone pread64().
 * Every SYSLET_ASYNC submission comes here: other calls cost one get_user().
 * An i386 chain's atoms are in its numbers (17 is not pread64 there) and
 * registers: they take the usual paths.
 */
static bool kio_atom(struct syslet_chain *c, unsigned long *args, u64 *ret_ptr)
{
	struct syslet_atom __user *uatom = u64_to_user_ptr(c->head);
	struct syslet_atom atom;
	u32 nr;

	if (c->ia32 || get_user(nr, &uatom->nr) || nr != __NR_pread64 ||
	    copy_from_user(&atom, uatom, sizeof(atom)))
		return false;
	if (atom.nr != __NR_pread64 || atom.next ||
	    (atom.flags & (SYSLET_SKIP_TO_NEXT_ON_STOP | ~SYSLET_ATOM_FLAGS)) ||
	    syslet_load_args(&atom, args))
		return false;
	*ret_ptr = atom.ret_ptr;
	return true;
}

static bool kbuf_async(struct syslet_ctx *ctx, struct syslet_chain *c,
		       struct file *file, const unsigned long *args,
		       u64 ret_ptr);
static bool kbuf_may_fault(unsigned long uaddr, size_t len);
static long kbuf_comp(struct syslet_chain *c, long res, u64 ret_ptr);

/*
 * Would a read be seen as a call (ptrace, tracepoints, audit) of current's,
 * the submitter's?  Such a read is left to the usual paths.  A task
 * made while audit was on keeps a non-dummy context once it is off
 * (__audit_syscall_entry() no longer updates it): audit_enabled first.
 */
static bool kio_watched(void)
{
	unsigned long work = READ_ONCE(current_thread_info()->syscall_work);

	return (work & (SYSCALL_WORK_SYSCALL_TRACE | SYSCALL_WORK_SYSCALL_EMU |
			SYSCALL_WORK_SYSCALL_TRACEPOINT)) ||
	       (audit_enabled && !audit_dummy_context());
}

/*
 * Issues chain @c, whose atom is a pread64() (@args, @ret_ptr) of @file,
 * an O_DIRECT file (referenced: the reference goes with the read, or is
 * dropped), as a direct read if the file and the buffer allow it.
 * KBUF_QUEUED: in flight, it completes by itself.  KBUF_DONE: it
 * completed at once with *@res (not posted; @c is ours again).  KBUF_NO:
 * not issued (the caller runs it as usual).  The caller checked
 * kio_watched() and the seccomp verdict.
 */
static int kio_direct(struct syslet_ctx *ctx, struct syslet_chain *c,
		      struct file *file, const unsigned long *args,
		      u64 ret_ptr, long *res)
{
	struct syslet_kio *kio;
	struct iov_iter iter;
	loff_t pos = (loff_t)args[3];
	struct iovec iov;
	long ret;

	if (!(file->f_flags & O_DIRECT) || !(file->f_mode & FMODE_READ) ||
	    !(file->f_mode & FMODE_PREAD) || !(file->f_mode & FMODE_NOWAIT) ||
	    !S_ISBLK(file_inode(file)->i_mode) || !file->f_op->read_iter ||
	    !bdev_nowait(I_BDEV(file->f_mapping->host)) ||
	    pos < 0 || rw_verify_area(READ, file, &pos, args[2]))
		goto no;
	if (syslet_import_buf((void __user *)args[1], args[2], &iov, &iter))
		goto no;
	/*
	 * The buffer's pages are pinned while the read is issued, and a
	 * page that is not there is faulted in (IOCB_NOWAIT does not stop
	 * that): only one that its fault merely allocates is issued here,
	 * as kbuf decides for its copy; a file, shmem, FUSE or userfaultfd
	 * page may wait for anything, and goes to a thread.
	 */
	if (!kbuf_may_fault(args[1], iov.iov_len))
		goto no;
	kio = kmalloc(sizeof(*kio), GFP_KERNEL_ACCOUNT);
	if (!kio)
		goto no;
	init_sync_kiocb(&kio->iocb, file);
	kio->buffered = false;
	kio->ctx = ctx;
	kio->ops = NULL;
	kio->cred = NULL;
	kio->iocb.ki_pos = pos;
	kio->iocb.ki_flags |= IOCB_NOWAIT;
	kio->iocb.ki_complete = kio_complete;
	kio->c = c;
	kio->mm = current->mm;
	mmgrab(kio->mm);
	kio->ret_ptr = ret_ptr;
	kio->pkru = read_pkru();	/* kio_post_as_submitter()'s */
	kio->pflags = current->flags & SYSLET_KWORK_PF;
	kio->tsk = get_task_struct(current);
	refcount_set(&kio->refs, 2);
	refcount_inc(&ctx->refs);
	atomic_inc(&ctx->nr_kio);

	/* in flight: cancel, exit and exec find it here */
	spin_lock(&ctx->lock);
	list_add_tail(&c->node, &ctx->running);
	spin_unlock(&ctx->lock);

	ret = file->f_op->read_iter(&kio->iocb, &iter);
	/* queued: whichever of us and the completion is last finishes it */
	if (ret == -EIOCBQUEUED && !refcount_dec_and_test(&kio->refs))
		return KBUF_QUEUED;
	if (ret != -EIOCBQUEUED)
		kio->res = ret;		/* ->ki_complete() is not called */
	/*
	 * Done at once, or the device could not take it without waiting
	 * (-EAGAIN: a thread, or pass-on-block, will read it); a cancel
	 * may have marked it meanwhile: whoever runs it on sees that.
	 */
	*res = kio->res;
	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	spin_unlock(&ctx->lock);
	kio_free(kio, ctx);
	if (*res != -EAGAIN) {
		kbuf_account(file, *res);
		fput(file);
		return KBUF_DONE;
	}
no:
	fput(file);
	return KBUF_NO;
}

/*
 * Issues chain @c (queued to nothing yet, counted in ctx->nr_chains) as
 * a direct read if it is one.  Returns true if it was taken: it has
 * completed or will complete by itself.  False: queue it as usual.
 */
bool syslet_kio_submit(struct syslet_ctx *ctx, struct syslet_chain *c)
{
	unsigned long args[6];
	struct file *file;
	u64 ret_ptr;
	long res;

	if (READ_ONCE(ctx->dead) || kio_watched() ||
	    !kio_atom(c, args, &ret_ptr))
		return false;
	/* ALLOW only: any other verdict, LOG too, is a thread's to apply */
	if ((syslet_seccomp_verdict(c, __NR_pread64, args) &
	     SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
		return false;
	file = fget((unsigned int)args[0]);
	if (!file)
		return false;
	if (!(file->f_flags & O_DIRECT))
		return kbuf_async(ctx, c, file, args, ret_ptr);
	switch (kio_direct(ctx, c, file, args, ret_ptr, &res)) {
	case KBUF_QUEUED:
		return true;
	case KBUF_DONE:
		kbuf_comp(c, res, ret_ptr);
		if (c->kring && !(c->flags & SYSLET_NO_COMPLETE))
			syslet_post_chain(c);
		else
			syslet_chain_free(c);
		return true;
	}
	return false;
}

/*
 * Buffered reads without a thread (kbuf): a lone pread64() of a file
 * whose page cache can be waited for asynchronously (FMODE_BUF_RASYNC:
 * block devices, ext4, xfs, btrfs in 6.1), as io_uring reads it.  It is
 * tried with IOCB_NOWAIT, which copies what is cached and starts the
 * readahead of what is not; for the rest, IOCB_WAITQ puts @wpq on the
 * wait queue of the first folio still locked for its I/O, and the read
 * returns -EIOCBQUEUED.  The folio's unlock runs kbuf_wake() (any
 * context, interrupts included), which only queues the kio on
 * ctx->kio_done, exactly as a direct read's completion is queued; the
 * thread of the process that posts it (its task work, async_wait(),
 * async_exec() on the ring: see above) reads on from where the copy
 * stopped instead (kbuf_retry()), in process context with the
 * process's mm, and posts the chain when the read is complete, at end
 * of file, on an error, or drops it if the process is gone.  No kworker
 * ever copies to user memory, and no thread waits for the device.
 *
 * An SYSLET_ASYNC chain comes here from syslet_kio_submit(); a chain in
 * the default mode from async_exec() (syslet_kbuf_exec()), before pass-
 * on-block: a read the page cache satisfies completes in the caller, as
 * pass-on-block would have it, and one that must wait for the device is
 * queued like this instead of handing the caller's context to a thread.
 * As for a direct read, a read that must be seen (kio_watched(), or a
 * filter verdict other than ALLOW) is left to the usual paths, which
 * show the atom as a call in the task that makes it; the file is
 * checked as for a direct read.
 *
 * If a page cannot be waited for (it is unlocked but not uptodate after
 * an I/O error; no folio could be allocated), the read goes to an async
 * thread, which reads it all from the start as pread64() would.
 *
 * Lifetimes and ownership: the issuer (the submitter, then each thread
 * that retries) owns the kio; for each IOCB_WAITQ attempt, @refs is 2,
 * the issuer's and the wake-up's, and whichever drops the last goes on:
 * the issuer, if the page came before the read returned -EIOCBQUEUED,
 * reads on itself; else the wake-up queues it.  The wake function runs
 * under the folio wait queue's lock and has taken @wpq off that queue,
 * so once queued, nothing refers to the kio but ctx->kio_done.  The
 * kio pins what a direct read pins; the chain is on ctx->running.
 *
 * Cancel, exit and exec mark the chain cancelled (it has no worker to
 * signal): a read waiting for a page is left on the folio's wait queue
 * until the page's I/O ends (the wait entry is in the kio, which lives
 * until then), and then completes with -ECANCELED without reading on,
 * once; its ret_ptr has what was copied, or -ECANCELED.  That is how a
 * direct read in flight is cancelled too: the device's I/O is not
 * interrupted.  A process that died meanwhile has it dropped (kio_work()).
 */

/*
 * /sys/module/kio/parameters/kbuf: 0 sends buffered reads the usual ways
 * (async threads, pass-on-block), to compare both in one boot.
 */
static bool kbuf_on = true;
module_param_named(kbuf, kbuf_on, bool, 0644);

/*
 * /sys/module/kio/parameters/direct: 0 sends default-mode direct reads to
 * pass-on-block again (syslet_kbuf_exec()), to compare both in one boot.
 */
static bool direct_on = true;
module_param_named(direct, direct_on, bool, 0644);

/* A file whose page cache a read may wait for without a thread. */
bool syslet_kbuf_file(struct file *file)
{
	return !(file->f_flags & O_DIRECT) && (file->f_mode & FMODE_READ) &&
	       (file->f_mode & FMODE_PREAD) && (file->f_mode & FMODE_NOWAIT) &&
	       syslet_file_buf_rasync(file) && file->f_op->read_iter;
}

/* The folio's wait queue: @wpq's folio is unlocked. */
static int kbuf_wake(struct wait_queue_entry *wait, unsigned int mode,
		     int sync, void *arg)
{
	struct wait_page_queue *wpq = container_of(wait, struct wait_page_queue,
						   wait);
	struct syslet_kio *kio = container_of(wpq, struct syslet_kio, wpq);
	struct syslet_ctx *ctx = kio->ctx;
	struct task_struct *tsk = kio->tsk;

	if (!wake_page_match(wpq, arg))
		return 0;
	list_del_init(&wait->entry);
	/* the issuer has not seen -EIOCBQUEUED yet: it reads on itself */
	if (!refcount_dec_and_test(&kio->refs))
		return 1;
	/* as kio_complete(): the kio may be gone once it is on the list */
	refcount_inc(&ctx->refs);
	get_task_struct(tsk);
	kio_done_add(ctx, &kio->lnode, &kio->lnode);
	kio_kick(ctx, tsk);
	put_task_struct(tsk);
	kio_ctx_put(ctx);
	return 1;
}

/*
 * May the buffer [@uaddr, +@len) be faulted in here?  Only if it lies in
 * one private anonymous mapping without userfaultfd: its fault allocates
 * a page (or reads one back from swap), as any allocation may; a file
 * page, shmem, FUSE or userfaultfd mapping may wait for anything.  The
 * mmap lock is only tried: its writer may be slow.
 */
static bool kbuf_may_fault(unsigned long uaddr, size_t len)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool ok;

	if (!len || !mmap_read_trylock(mm))
		return false;
	vma = vma_lookup(mm, uaddr);
	ok = vma && vma_is_anonymous(vma) && !userfaultfd_armed(vma) &&
	     (vma->vm_flags & VM_WRITE) && !(vma->vm_flags & VM_SHARED) &&
	     len <= vma->vm_end - uaddr;
	mmap_read_unlock(mm);
	return ok;
}

/*
 * Reads with page faults disabled: a copy to a page that is not there
 * (a file page, a userfaultfd or FUSE mapping) would sleep for its fault
 * in the caller or the thread that retries, outside pass-on-block; for a
 * userfaultfd page, in the very thread that may have to resolve it.  The
 * copy stops short instead (the bytes before the page are returned, or
 * -EFAULT).  A buffer of fresh anonymous memory is faulted in and read
 * once more (kbuf_may_fault()); else a thread reads it all again
 * (KBUF_NO).  Of a vector (io_submit()'s PREADV), the segment the read
 * starts in: a read that copies up to a later one stops there, and the
 * next attempt faults that one in.
 */
ssize_t syslet_kbuf_call(struct kiocb *iocb, struct iov_iter *iter)
{
	size_t count = iov_iter_count(iter), seg = 0;
	unsigned long uaddr = 0;
	ssize_t ret;

	if (count) {
		uaddr = (unsigned long)iter_iov(iter)->iov_base +
			iter->iov_offset;
		seg = min(count, iter_iov(iter)->iov_len - iter->iov_offset);
	}
	pagefault_disable();
	ret = iocb->ki_filp->f_op->read_iter(iocb, iter);
	pagefault_enable();
	if (ret != -EFAULT || !kbuf_may_fault(uaddr, seg) ||
	    fault_in_writeable((char __user *)uaddr, seg))
		return ret;
	iov_iter_revert(iter, count - iov_iter_count(iter));
	pagefault_disable();
	ret = iocb->ki_filp->f_op->read_iter(iocb, iter);
	pagefault_enable();
	return ret;
}

/* One attempt at the rest of the read, with @flags added. */
static ssize_t kbuf_read(struct syslet_kio *kio, int flags)
{
	struct iov_iter iter;
	struct iovec iov;
	int ret;

	if (kio->iov) {
		iov_iter_init(&iter, ITER_DEST, kio->iov, kio->nr_segs, kio->len);
		iov_iter_advance(&iter, kio->done);
	} else {
		ret = syslet_import_buf(u64_to_user_ptr(kio->ubuf + kio->done),
					kio->len - kio->done, &iov, &iter);
		if (ret)
			return ret;
	}
	kio->iocb.ki_pos = kio->pos + kio->done;
	kio->iocb.ki_flags = kio->kflags | flags;
	return syslet_kbuf_call(&kio->iocb, &iter);
}

/*
 * Reads on, by the owner of @kio, until the read is complete, fails or
 * must wait for a page.  Returns KBUF_QUEUED if it waits (the kio is
 * no longer ours), KBUF_DONE with kio->res set, or KBUF_NO if the page
 * cannot be waited for: a thread must read it.  @missed: an IOCB_NOWAIT
 * attempt just got -EAGAIN, wait at once.
 */
static int kbuf_issue(struct syslet_kio *kio, bool missed)
{
	ssize_t ret;

	for (;;) {
		if (kio->ops ? READ_ONCE(kio->cancelled) :
		    READ_ONCE(kio->c->cancelled)) {
			ret = -ECANCELED;
			break;
		}
		ret = missed ? -EAGAIN : kbuf_read(kio, IOCB_NOWAIT);
		missed = false;
		if (ret == -EAGAIN) {
			/* not cached: wait for the page without a thread */
			kio->wpq.wait.func = kbuf_wake;
			kio->wpq.wait.private = kio;
			kio->wpq.wait.flags = 0;
			INIT_LIST_HEAD(&kio->wpq.wait.entry);
			kio->iocb.ki_waitq = &kio->wpq;
			refcount_set(&kio->refs, 2);
			ret = kbuf_read(kio, IOCB_WAITQ);
			if (ret == -EIOCBQUEUED) {
				if (!refcount_dec_and_test(&kio->refs))
					return KBUF_QUEUED;
				continue;	/* the page came meanwhile */
			}
			/* not queued: no wake-up will come */
			if (ret == -EAGAIN)
				return KBUF_NO;
		}
		/* a page of the buffer faults: a thread may sleep for it */
		if (ret == -EFAULT)
			return KBUF_NO;
		if (ret <= 0)
			break;		/* end of file, or an error */
		kio->done += ret;
		if (kio->done == kio->len)
			break;
	}
	/* as filemap_read(): what was copied before an error counts */
	kio->res = kio->done ? kio->done : ret;
	return KBUF_DONE;
}

/* aio.c: issues @kio (set up, on no list) as kbuf_submit() does */
int syslet_kbuf_issue(struct syslet_kio *kio, bool missed)
{
	return kbuf_issue(kio, missed);
}

/*
 * A read that cannot wait for its page without a thread goes to one,
 * from a thread of the process (not the submitter's async_exec()).
 */
static void kbuf_to_thread(struct syslet_kio *kio, bool taker)
{
	struct syslet_chain *c = kio->c;
	struct syslet_ctx *ctx = kio->ctx;
	int ret;

	if (kio->ops) {
		/*
		 * The blocking rest: here in an async thread only, never in
		 * a user thread that merely posts it (review 7 finding 4: a
		 * zero-timeout io_getevents() waited for the device, a
		 * chain's thread read someone else's request), nor in a
		 * reserved taker that posts it (review 10 finding 1): it is
		 * kept for a user context, whose hand-off would wait for the
		 * device, and a rest that faults on a mapping served by that
		 * very context (a FUSE server's) would wait for ever.
		 */
		if ((current->flags & PF_IO_WORKER) && !taker) {
			kio->ops->to_thread(kio);
			return;
		}
		ret = syslet_queue_kio(ctx, kio);
		/*
		 * No thread could be made (RLIMIT_NPROC, no memory): the
		 * rest is read here, blocking, by this thread of the
		 * process, rather than completed short or with -EAGAIN,
		 * which no buffered read of a file or block device returns
		 * in mainline (review 23 finding 5: a PREADV of two pages,
		 * the second buffer a file mapping, completed with 4096 of
		 * 8192 at RLIMIT_NPROC 1).  Only in the submitter, which
		 * mainline's io_submit() had made wait for it, and which a
		 * buffer it serves itself (a FUSE server's mapping) blocks
		 * there as it would have blocked it there; not another
		 * thread, not with the ctx dead, nor in a reserved taker
		 * (above).  It runs with the submitter's credentials
		 * (syslet_aio_sync()) and PKRU (kio_post_as_submitter()).
		 */
		if (ret && ret != -ECANCELED && current == kio->tsk &&
		    !(current->flags & (PF_EXITING | PF_IO_WORKER))) {
			kio->ops->to_thread(kio);
			return;
		}
		if (ret) {
			/* no thread: complete it with why, as a chain's */
			if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
			    ret == -ERESTARTNOHAND ||
			    ret == -ERESTART_RESTARTBLOCK)
				ret = -EINTR;
			kio->res = kio->done ?: ret;
			kio->ops->finish(kio, true);
		}
		return;
	}
	/*
	 * The thread runs the atom again, from the start; from ctx->running
	 * to the queue under one ctx->lock hold: async_cancel() finds it.
	 * Its read was issued, and may have copied data: not a chain that
	 * SYSLET_CANCEL_QUEUED may cancel (set before the move, which
	 * publishes it under ctx->lock).
	 */
	c->started = true;
	ret = syslet_queue_chain(ctx, c);
	if (ret) {
		/*
		 * Never a restart code: nothing restarts a read posted here.
		 * A thread is made with a signal pending (worker_spawn()),
		 * but not with a fatal one or a group stop.
		 */
		if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
		    ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK)
			ret = -EINTR;
		/* still on ctx->running; what a retry copied counts */
		kio->res = kio->done ?: ret;
		kbuf_account(kio->iocb.ki_filp, kio->res);
		kio_finish(kio, true);
		return;
	}
	fput(kio->iocb.ki_filp);
	kio_free(kio, ctx);
}

/*
 * An async thread reads the blocking rest of @kio, an @ops read queued to
 * it (syslet_queue_kio()), with its submitter's PKRU at submission (and
 * credentials: ->to_thread()), and completes it.
 */
void syslet_kio_run(struct syslet_kio *kio)
{
	unsigned int pflags = current->flags & SYSLET_KWORK_PF;
	u32 pkru = syslet_arch_set_pkru(kio->pkru);

	current_restore_flags(kio->pflags, SYSLET_KWORK_PF);
	/* @kio is freed from here on */
	kio->ops->to_thread(kio);
	current_restore_flags(pflags, SYSLET_KWORK_PF);
	syslet_arch_set_pkru(pkru);
}

/*
 * In a thread of the process: the page a read waited for is there.  An
 * @ops read reads on, and completes, with its submitter's credentials.
 */
static void kbuf_retry(struct syslet_kio *kio, bool taker)
{
	const struct cred *old = syslet_kio_creds(kio);
	int how = kbuf_issue(kio, false);

	if (how == KBUF_DONE) {
		if (kio->ops) {
			kio->ops->finish(kio, true);
		} else {
			kbuf_account(kio->iocb.ki_filp, kio->res);
			kio_finish(kio, true);
		}
	}
	/* @kio may be gone: the credentials were ours to revert */
	if (old)
		revert_creds(old);
	/*
	 * A thread made for it is made with current's own credentials, and
	 * reads with the submitter's itself (->to_thread(), worker_run()).
	 */
	if (how == KBUF_NO)
		kbuf_to_thread(kio, taker);
}

/*
 * Chain @c's lone pread64() (@args) of @file (a syslet_kbuf_file()): if the
 * page cache has it all, it is read here (KBUF_DONE, the result in
 * *@res); else the chain is taken (KBUF_QUEUED: it completes by itself,
 * with a reference to the file of its own).  KBUF_NO: not taken,
 * nothing read that counts.
 */
static int kbuf_submit(struct syslet_ctx *ctx, struct syslet_chain *c,
		       struct file *file, const unsigned long *args,
		       u64 ret_ptr, long *res)
{
	loff_t pos = (loff_t)args[3];
	struct syslet_kio *kio;
	struct iov_iter iter;
	struct kiocb iocb;
	struct iovec iov;
	ssize_t ret;

	/* a bad buffer: the real call's EFAULT */
	if (syslet_import_buf((void __user *)args[1], args[2], &iov, &iter))
		return KBUF_NO;
	/*
	 * The permission check (LSM, fanotify's FAN_ACCESS_PERM) last: a read
	 * refused after it is run again by a thread or pass-on-block, which
	 * checks again (a fault of the buffer, an I/O error, no memory).
	 */
	if (pos < 0 || rw_verify_area(READ, file, &pos, args[2]))
		return KBUF_NO;
	/* what is cached is read without a kio */
	init_sync_kiocb(&iocb, file);
	iocb.ki_pos = pos;
	iocb.ki_flags |= IOCB_NOWAIT;
	ret = syslet_kbuf_call(&iocb, &iter);
	/* -EFAULT: a page of the buffer faults (syslet_kbuf_call()) */
	if (ret == -EOPNOTSUPP || ret == -EIOCBQUEUED || ret == -EFAULT)
		return KBUF_NO;
	if (ret != -EAGAIN && (ret <= 0 || !iov_iter_count(&iter))) {
		kbuf_account(file, ret);
		*res = ret;
		return KBUF_DONE;
	}

	kio = kmalloc(sizeof(*kio), GFP_KERNEL_ACCOUNT);
	if (!kio)
		return KBUF_NO;		/* a thread reads it all again */
	init_sync_kiocb(&kio->iocb, get_file(file));
	kio->kflags = kio->iocb.ki_flags;
	kio->buffered = true;
	kio->ctx = ctx;
	kio->ops = NULL;
	kio->cred = NULL;
	kio->iov = NULL;
	kio->ubuf = args[1];
	kio->len = iov.iov_len;		/* clamped to MAX_RW_COUNT */
	kio->pos = pos;
	kio->pkru = read_pkru();
	kio->pflags = current->flags & SYSLET_KWORK_PF;
	kio->done = ret > 0 ? ret : 0;
	kio->c = c;
	kio->mm = current->mm;
	mmgrab(kio->mm);
	kio->ret_ptr = ret_ptr;
	kio->tsk = get_task_struct(current);
	refcount_inc(&ctx->refs);
	atomic_inc(&ctx->nr_kio);

	/* in flight: cancel, exit and exec find it here */
	spin_lock(&ctx->lock);
	list_add_tail(&c->node, &ctx->running);
	spin_unlock(&ctx->lock);

	switch (kbuf_issue(kio, ret == -EAGAIN)) {
	case KBUF_QUEUED:
		return KBUF_QUEUED;
	case KBUF_DONE:
		/* the page came while it was issued: post it now */
		kbuf_account(file, kio->res);
		kio_finish(kio, true);
		return KBUF_QUEUED;
	}
	spin_lock(&ctx->lock);
	list_del_init(&c->node);
	spin_unlock(&ctx->lock);
	fput(file);
	kio_free(kio, ctx);
	return KBUF_NO;
}

/*
 * Fills in the completion of a chain whose read completed here.  A
 * direct read was on ctx->running while it was issued: a cancel that
 * found it there (and returned 0) made it a cancelled one, as a queued
 * chain's (review 6 finding 5: a default-mode one completed as not
 * cancelled).
 */
static long kbuf_comp(struct syslet_chain *c, long res, u64 ret_ptr)
{
	long status = res;

	if (ret_ptr && put_user((s64)res, (s64 __user *)u64_to_user_ptr(ret_ptr)))
		status = -EFAULT;
	if (READ_ONCE(c->cancelled)) {
		status = -ECANCELED;
		c->comp.flags |= SYSLET_COMP_CANCELED;
	}
	c->comp.status = status;
	c->comp.atom = c->head;
	c->comp.nr_atoms = 1;
	return status;
}

/*
 * From syslet_kio_submit(): a SYSLET_ASYNC chain reading @file, which
 * is referenced (the reference is dropped).  True: taken.
 */
static bool kbuf_async(struct syslet_ctx *ctx, struct syslet_chain *c,
		       struct file *file, const unsigned long *args,
		       u64 ret_ptr)
{
	int how = KBUF_NO;
	long res;

	/* kio_watched() was checked by syslet_kio_submit() */
	if (READ_ONCE(kbuf_on) && syslet_kbuf_file(file))
		how = kbuf_submit(ctx, c, file, args, ret_ptr, &res);
	fput(file);
	switch (how) {
	case KBUF_QUEUED:
		return true;
	case KBUF_DONE:
		kbuf_comp(c, res, ret_ptr);
		if (c->kring && !(c->flags & SYSLET_NO_COMPLETE))
			syslet_post_chain(c);
		else
			syslet_chain_free(c);
		return true;
	}
	return false;
}

/*
 * A default-mode chain @c (made by async_exec(), counted; its first atom's
 * call @nr and arg_ptr[0] @fdp as async_exec() read them for its checks),
 * before it is run with pass-on-block: if it is a lone pread64() of a
 * file kbuf can read, it is done here (a page-cache hit: SYSLET_DONE,
 * delivered to @done or the ring as a chain run in the caller) or queued
 * to wait for its pages (SYSLET_QUEUED, no hand-off), with *@ret what
 * async_exec() returns.  A direct read that kio_direct() can issue is
 * issued as an SYSLET_ASYNC one is (SYSLET_QUEUED, no hand-off: every
 * direct read waits for the device, and would hand the caller's context
 * off), or done at once (an error, the end of the device: SYSLET_DONE,
 * as in the caller).  False: pass-on-block runs it as usual.
 */
bool syslet_kbuf_exec(struct syslet_ctx *ctx, struct syslet_chain *c,
		      u32 nr, u64 fdp, struct syslet_completion __user *done,
		      long *ret)
{
	unsigned long args[6];
	u64 ret_ptr, fd;
	bool direct;
	struct fd f;
	long res;
	int how;

	/*
	 * The file first: a read of tmpfs (a hot one) pays little here.
	 * kio_atom() reads the atom again, whole, and checks it.
	 */
	if (READ_ONCE(ctx->dead) || kio_watched() || c->ia32 ||
	    nr != __NR_pread64 || !fdp ||
	    get_user(fd, (u64 __user *)u64_to_user_ptr(fdp)))
		return false;
	f = fdget((unsigned int)fd);
	if (!fd_file(f))
		return false;
	direct = fd_file(f)->f_flags & O_DIRECT;
	if (direct ? !READ_ONCE(direct_on) :
		     !READ_ONCE(kbuf_on) || !syslet_kbuf_file(fd_file(f)))
		goto no;
	/* the atom read again, whole: its fd must not have changed */
	if (!kio_atom(c, args, &ret_ptr) ||
	    (unsigned int)args[0] != (unsigned int)fd)
		goto no;
	c->filter = seccomp_filter_get_current();
	/* ALLOW only (a LOG is logged by pass-on-block, in the caller) */
	if ((syslet_seccomp_verdict(c, __NR_pread64, args) &
	     SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
		goto no;
	/*
	 * A queued read posts to the ring later: a chain made without its
	 * kring (async_exec() with @done) gets it now, a hot read of a file
	 * kbuf does not take (tmpfs) never does.
	 */
	if (!c->kring && c->uring) {
		c->kring = syslet_kring_get(ctx, c->uring);
		if (!c->kring)
			goto no;
	}
	/*
	 * As for an async chain: a thread it may go to forwards signals,
	 * and runs it at our I/O priority (syslet_chain_new() took it only
	 * for SYSLET_ASYNC).
	 */
	c->submitter = get_task_pid(current, PIDTYPE_PID);
	c->ioprio = get_current_ioprio();
	if (direct) {
		/* the read takes a reference of its own to the file */
		how = kio_direct(ctx, c, get_file(fd_file(f)), args, ret_ptr, &res);
	} else {
		how = kbuf_submit(ctx, c, fd_file(f), args, ret_ptr, &res);
	}
	fdput(f);
	if (how == KBUF_QUEUED) {
		*ret = SYSLET_QUEUED;
		return true;
	}
	if (c->filter)
		seccomp_filter_put(c->filter);
	c->filter = NULL;
	if (how == KBUF_DONE) {
		kbuf_comp(c, res, ret_ptr);
		c->comp.flags |= SYSLET_COMP_SYNC;
		/* syslet_complete fires if it is posted to a ring (ring.c) */
		*ret = syslet_deliver_in_caller(c, done);
		return true;
	}
	put_pid(c->submitter);		/* pass-on-block sets its own */
	c->submitter = NULL;
	return false;
no:
	fdput(f);
	if (c->filter)
		seccomp_filter_put(c->filter);
	c->filter = NULL;
	return false;
}
