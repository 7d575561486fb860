// SPDX-License-Identifier: GPL-2.0
/*
 * The completion ring: user memory the kernel writes completions into,
 * the overflow list that keeps completions that do not fit, and
 * async_wait().
 *
 * The ring belongs to user space; the kernel keeps only a small struct
 * syslet_kring per ring address, while chains or waiters use it.  The
 * kernel's copy of @head is authoritative while the kring exists; user
 * space only ever writes @tail.
 */
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/time64.h>
#include <linux/time_namespace.h>
#include <linux/uaccess.h>
#include <trace/events/syslet.h>
#include "syslet.h"

static bool nr_entries_valid(u32 nr)
{
	return nr && nr <= SYSLET_RING_MAX_ENTRIES && is_power_of_2(nr);
}

/*
 * A ring header's size (ABI v1): this header's, or a later one's, whole
 * cache lines, at most SYSLET_RING_SIZE_MAX.  The entries begin there.
 */
static bool ring_size_valid(u32 size)
{
	return size >= SYSLET_RING_SIZE_VER0 && size <= SYSLET_RING_SIZE_MAX &&
	       !(size & (SYSLET_RING_ALIGN - 1));
}

/*
 * Is every byte of header @hdr (a copy) that is not a named field 0?  The
 * named fields are cleared in the copy, then the whole of it is ORed word
 * by word: every async_exec() with a ring comes here, and three
 * memchr_inv() walks of the padding, misaligned, cost as much as a small
 * system call under TCG.  A field a later ABI names is cleared here too
 * (the BUILD_BUG_ON() counts them).  @hdr is 8-byte aligned; the kernel
 * is built with -fno-strict-aliasing.
 */
static bool ring_pads_zero(struct syslet_ring *hdr)
{
	const u64 *w = (const u64 *)hdr;
	unsigned int i;
	u64 any = 0;

	/* the named fields below and the padding are the whole header */
	BUILD_BUG_ON(sizeof(*hdr) != 7 * sizeof(u32) + sizeof(hdr->__kpad) +
		     sizeof(hdr->__upad) + sizeof(hdr->__rpad));
	BUILD_BUG_ON(sizeof(*hdr) % sizeof(u64));
	hdr->head = 0;
	hdr->kflags = 0;
	hdr->overflow = 0;
	hdr->tail = 0;
	hdr->size = 0;
	hdr->nr_entries = 0;
	hdr->flags = 0;
	for (i = 0; i < sizeof(*hdr) / sizeof(u64); i++)
		any |= w[i];
	return !any;
}

/*
 * Returns 0 if @ring is a usable ring header, else -EINVAL, -E2BIG or
 * -EFAULT.  The reserved words of all three cache lines must be zero, so
 * that they can be given a meaning later (the kernel writes none of
 * them), and so must the bytes of a later, bigger header that this kernel
 * does not know (-E2BIG, as copy_struct_from_user() has it).
 */
int syslet_ring_check(const struct syslet_ring __user *ring)
{
	struct syslet_ring hdr __aligned(8);	/* read as u64 words */
	u32 size, nr;
	int ret;

	if (!ring || ((unsigned long)ring & (SYSLET_RING_ALIGN - 1)))
		return -EINVAL;
	if (copy_from_user(&hdr, ring, sizeof(hdr)))
		return -EFAULT;
	if (hdr.size > SYSLET_RING_SIZE_MAX)
		return -E2BIG;
	if (!ring_size_valid(hdr.size) ||
	    hdr.flags & ~SYSLET_RING_F_ALL || !nr_entries_valid(hdr.nr_entries))
		return -EINVAL;
	size = hdr.size;
	nr = hdr.nr_entries;
	if (!ring_pads_zero(&hdr))
		return -EINVAL;
	if (size > sizeof(hdr)) {
		ret = check_zeroed_user((const char __user *)ring + sizeof(hdr),
					size - sizeof(hdr));
		if (ret <= 0)
			return ret ?: -E2BIG;
	}
	if (!access_ok(ring, size + (unsigned long)nr *
			     sizeof(struct syslet_completion)))
		return -EFAULT;
	return 0;
}

static struct syslet_kring *kring_find(struct syslet_ctx *ctx, u64 uaddr)
{
	struct syslet_kring *kr;

	hash_for_each_possible(ctx->rings, kr, node, uaddr)
		if (kr->uaddr == uaddr)
			return kr;
	return NULL;
}

/*
 * Returns the kring for the ring at @uaddr with a reference taken,
 * creating it if needed, or NULL if out of memory.
 */
struct syslet_kring *syslet_kring_get(struct syslet_ctx *ctx, u64 uaddr)
{
	struct syslet_kring *kr, *new;

	spin_lock(&ctx->lock);
	kr = kring_find(ctx, uaddr);
	if (kr)
		kr->refs++;
	spin_unlock(&ctx->lock);
	if (kr)
		return kr;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	new->uaddr = uaddr;
	new->refs = 1;
	/* the size the ring and its header have now, snapshot (0: unusable) */
	if (get_user(new->nr_entries,
		     &((struct syslet_ring __user *)u64_to_user_ptr(uaddr))->nr_entries) ||
	    !nr_entries_valid(new->nr_entries) ||
	    get_user(new->hdr_size,
		     &((struct syslet_ring __user *)u64_to_user_ptr(uaddr))->size) ||
	    !ring_size_valid(new->hdr_size))
		new->nr_entries = 0;
	mutex_init(&new->mutex);
	INIT_LIST_HEAD(&new->overflow);
	init_waitqueue_head(&new->wait);

	spin_lock(&ctx->lock);
	kr = kring_find(ctx, uaddr);
	if (kr) {
		kr->refs++;
	} else {
		hash_add(ctx->rings, &new->node, uaddr);
		kr = new;
		new = NULL;
	}
	spin_unlock(&ctx->lock);
	kfree(new);
	return kr;
}

/* Drops a reference; the last one frees the kring (its overflow is empty). */
void syslet_kring_put(struct syslet_ctx *ctx, struct syslet_kring *kr)
{
	bool last;

	spin_lock(&ctx->lock);
	last = !--kr->refs;
	if (last)
		hash_del(&kr->node);
	spin_unlock(&ctx->lock);
	if (last) {
		WARN_ON_ONCE(!list_empty(&kr->overflow));
		mutex_destroy(&kr->mutex);
		kfree(kr);
	}
}

/* Context teardown: no chain, waiter or thread is left. */
void syslet_kring_free_all(struct syslet_ctx *ctx)
{
	struct syslet_kring *kr;
	struct hlist_node *tmp;
	int bkt;

	hash_for_each_safe(ctx->rings, bkt, tmp, kr, node) {
		hash_del(&kr->node);
		kfree(kr);
	}
}

/*
 * A new kring continues from the head user memory shows.  It is read at
 * first use under kr->mutex, not when the kring is made: a kring made
 * earlier for the same ring may post, and go, in between, and reading
 * before that would rewind the ring.  (The ring's size is read when the
 * kring is made, right after the caller checked the header.)
 *
 * Only the kernel writes @head, and user space sets @size and
 * @nr_entries before it uses a ring, so on every later use a head or a
 * geometry in user memory other than ours means another ring lives at
 * this address now: a program reaped its ring's last completion (or none
 * came), freed it and got its next ring at the same address while this
 * kring was still going away (the posting chain drops its reference just
 * after the head's store; a waiter holds one until it returns).  That
 * ring starts at its own head and with its own size.  Both heads may be
 * 0: the geometry is compared too (review 23: a 2-entry ring made where
 * an 8-entry one was, a thread still waiting on that, had entries 2 and
 * 3 written past its end).  A geometry that is not valid (no ring could
 * have it) is ignored while the head is ours: a scribble, the ring is
 * used as the kernel knows it.  A program that scribbles a valid one
 * can only misplace its own completions.
 * Caller holds kr->mutex.
 */
static int kring_load_head(struct syslet_kring *kr)
{
	struct syslet_ring __user *ring = u64_to_user_ptr(kr->uaddr);
	struct {
		u32 size;
		u32 nr_entries;
	} geo;
	bool valid;
	u32 head;

	BUILD_BUG_ON(offsetof(struct syslet_ring, nr_entries) !=
		     offsetof(struct syslet_ring, size) + sizeof(u32));
	if (get_user(head, &ring->head) ||
	    copy_from_user(&geo, &ring->size, sizeof(geo)))
		return -EFAULT;
	valid = nr_entries_valid(geo.nr_entries) && ring_size_valid(geo.size);
	/* a geometry that is not valid is a scribble: ignored (snapshot) */
	if (kr->head_valid && head == kr->head &&
	    (!valid || (geo.size == kr->hdr_size &&
			geo.nr_entries == kr->nr_entries)))
		return 0;
	/*
	 * Another ring here, or it was not usable when the kring was made;
	 * else this is the first use, with the geometry read then.
	 */
	if (kr->head_valid || !kr->nr_entries) {
		if (!valid)
			return -EINVAL;
		kr->hdr_size = geo.size;
		kr->nr_entries = geo.nr_entries;
	}
	/* async_wait() reads @head without the mutex */
	WRITE_ONCE(kr->head, head);
	kr->head_valid = true;
	return 0;
}

/*
 * Chain @c's completion is about to be seen in its ring (@posted), or
 * after all is not: it leaves ctx->nr_chains, or comes back to it.
 */
static void chain_posted(struct syslet_chain *c, bool posted)
{
	struct syslet_ctx *ctx = c->ctx;

	spin_lock(&ctx->lock);
	if (posted) {
		ctx->nr_chains--;
		ctx->chains_done++;
	} else {
		ctx->nr_chains++;
		ctx->chains_done--;
	}
	spin_unlock(&ctx->lock);
	c->uncounted = posted;
}

/*
 * Writes one completion into the user ring.  Returns 0, -ENOSPC if the
 * ring is full, or -EFAULT/-EINVAL if the ring is not usable right now.
 * Caller holds kr->mutex.
 */
static int ring_write(struct syslet_kring *kr,
		      const struct syslet_completion *comp,
		      struct syslet_chain *c)
{
	struct syslet_ring __user *ring = u64_to_user_ptr(kr->uaddr);
	struct syslet_completion __user *entries;
	u32 tail, nr;
	int ret;

	ret = kring_load_head(kr);
	if (ret)
		return ret;
	if (get_user(tail, &ring->tail))
		return -EFAULT;
	nr = kr->nr_entries;
	/*
	 * The slot is written only if @tail says user space is done with
	 * it: a control dependency orders the load of @tail before the
	 * store to the slot (user space reads the entry, then advances
	 * @tail with release semantics).  get_user() is an access the
	 * compiler cannot move, so no store is speculated before it.
	 */
	if (kr->head - tail >= nr)
		return -ENOSPC;
	/* the entries begin after the header, whatever its size (ABI v1) */
	entries = (struct syslet_completion __user *)
		  ((char __user *)ring + kr->hdr_size);
	if (copy_to_user(&entries[kr->head & (nr - 1)], comp, sizeof(*comp)))
		return -EFAULT;
	/*
	 * The entry must be visible before the head that publishes it:
	 * user space reads head with acquire semantics, then the entry.
	 */
	smp_wmb();
	/*
	 * Chain @c stops counting as in flight before its completion can be
	 * seen (a program that reaped it may submit another at once, within
	 * max_chains), and not before nothing but the head's store can fail:
	 * dropped earlier and counted again on a full ring, the concurrent
	 * submissions let in meanwhile would exceed max_chains.
	 */
	if (c)
		chain_posted(c, true);
	if (put_user(kr->head + 1, &ring->head)) {
		/*
		 * Only a ring unmapped or made read-only while a completion
		 * is posted to it: the chain stays on the overflow list and
		 * counts again, over max_chains if submissions came in
		 * meanwhile (by at most one per ring being posted to).
		 */
		if (c)
			chain_posted(c, false);
		return -EFAULT;
	}
	/* written under kr->mutex, read by async_wait() without it */
	WRITE_ONCE(kr->head, kr->head + 1);
	return 0;
}

/* Tell user space how many completions wait in the kernel. */
static void ring_set_overflow(struct syslet_kring *kr)
{
	struct syslet_ring __user *ring = u64_to_user_ptr(kr->uaddr);

	/* Best effort: the list itself is what keeps the completions. */
	if (!put_user(kr->nr_overflow ? SYSLET_RING_OVERFLOW : 0, &ring->kflags))
		put_user(kr->nr_overflow, &ring->overflow);
}

/*
 * Writes @c's completion to the ring (it stops counting as in flight in
 * ring_write()).  Caller holds kr->mutex.
 */
static int write_chain(struct syslet_kring *kr, struct syslet_chain *c)
{
	return ring_write(kr, &c->comp, c);
}

/*
 * Moves overflowed completions into the ring, oldest first, for as long as
 * there is room.  Caller holds kr->mutex; posted chains are moved to @done
 * for the caller to free after dropping the mutex.
 */
static bool flush_locked(struct syslet_kring *kr, struct list_head *done)
{
	struct syslet_chain *c, *tmp;
	bool moved = false;

	list_for_each_entry_safe(c, tmp, &kr->overflow, node) {
		if (write_chain(kr, c))
			break;
		list_move_tail(&c->node, done);
		kr->nr_overflow--;
		moved = true;
	}
	if (moved)
		ring_set_overflow(kr);
	return moved;
}

static void free_chains(struct list_head *list)
{
	struct syslet_chain *c, *tmp;

	list_for_each_entry_safe(c, tmp, list, node)
		syslet_chain_free(c);
}

/*
 * Wakes async_wait()ers after the kernel's head moved (under kr->mutex,
 * released before this).  No wait queue lock when nobody waits:
 * wq_has_sleeper()'s full barrier orders the head's store before the
 * look at the queue, and pairs with the one of async_wait()'s
 * prepare_to_wait() (set_current_state()) between going on the queue and
 * reading the head: either the waiter sees the new head or we see it.
 */
static void kring_wake(struct syslet_kring *kr)
{
	if (wq_has_sleeper(&kr->wait))
		wake_up_all(&kr->wait);
}

/* Flushes @kr's overflow list into its ring as far as there is room. */
void syslet_flush(struct syslet_ctx *ctx, struct syslet_kring *kr)
{
	LIST_HEAD(done);
	bool moved;

	if (!READ_ONCE(kr->nr_overflow))
		return;
	mutex_lock(&kr->mutex);
	moved = flush_locked(kr, &done);
	mutex_unlock(&kr->mutex);
	if (moved)
		kring_wake(kr);
	free_chains(&done);
}

/*
 * syslet_complete fires for a completion at one point for every path:
 * under kr->mutex, as soon as the ring has it (written there, or put on
 * its overflow list), before any waiter is woken.  So the events of one
 * ring come in the order of its completions, and a completion a program
 * reaped has had its event.
 */
static void post_traced(struct syslet_kring *kr,
			const struct syslet_completion *comp)
{
	lockdep_assert_held(&kr->mutex);
	trace_syslet_complete(kr->uaddr, comp);
}

/*
 * Posts @c's completion to its ring, or queues it on the overflow list if
 * the ring is full (the chain then lives on until it is flushed); frees
 * the chain once posted.  Completions reach the ring in posting order.
 */
void syslet_post_chain(struct syslet_chain *c)
{
	struct syslet_kring *kr = c->kring;
	struct syslet_ctx *ctx = c->ctx;
	LIST_HEAD(done);

	/* Keep the kring alive across the section even if @c is freed. */
	spin_lock(&ctx->lock);
	kr->refs++;
	spin_unlock(&ctx->lock);

	mutex_lock(&kr->mutex);
	flush_locked(kr, &done);
	if (list_empty(&kr->overflow) && !write_chain(kr, c)) {
		list_add_tail(&c->node, &done);
	} else {
		list_add_tail(&c->node, &kr->overflow);
		kr->nr_overflow++;
		ring_set_overflow(kr);
	}
	/* @c is freed after the unlock: still ours */
	post_traced(kr, &c->comp);
	mutex_unlock(&kr->mutex);
	kring_wake(kr);
	free_chains(&done);
	syslet_kring_put(ctx, kr);
}

/*
 * Posts a completion that has no chain object (a chain run in the caller,
 * SYSLET_EXEC_POST, a threadlet's end) if the ring takes it now: 0, or
 * the error of ring_write() (-ENOSPC with completions overflowed).
 */
int syslet_post(struct syslet_ctx *ctx, struct syslet_kring *kr,
		const struct syslet_completion *comp)
{
	LIST_HEAD(done);
	int ret;

	mutex_lock(&kr->mutex);
	flush_locked(kr, &done);
	ret = list_empty(&kr->overflow) ? ring_write(kr, comp, NULL) : -ENOSPC;
	/* else not posted: the caller keeps it (syslet_post_chain()) or not */
	if (!ret)
		post_traced(kr, comp);
	mutex_unlock(&kr->mutex);
	kring_wake(kr);
	free_chains(&done);
	return ret;
}

/*
 * A SYSLET_WAIT_ABSTIME deadline, a CLOCK_MONOTONIC time of the caller's
 * time namespace, as the host's: KTIME_MAX (none) from KTIME_SEC_MAX on,
 * as a relative timeout that far; 0 (past) before the namespace's
 * offset.  The conversion of 6.1 wraps a time past KTIME_MAX plus a
 * negative offset to a negative one (the kernel's arithmetic wraps:
 * -fno-strict-overflow; 6.12 clamps it): none too.
 */
static ktime_t syslet_abs_deadline(const struct timespec64 *ts)
{
	ktime_t t;

	if (ts->tv_sec >= KTIME_SEC_MAX)
		return KTIME_MAX;
	t = timens_ktime_to_host(CLOCK_MONOTONIC, timespec64_to_ktime(*ts));
	return t < 0 ? KTIME_MAX : t;
}

/*
 * async_wait(): returns the number of completions ready once at least
 * @min are (@min is capped at the ring size), -ETIME when the timeout
 * (relative, or absolute with SYSLET_WAIT_ABSTIME) passes first, -EINTR
 * on a signal (or a code that has the signal code restart the call:
 * below).  With SYSLET_WAIT_HEAD, once
 * the ring's head differs from @min instead (it may return 0: another
 * thread consumed what was posted); a restarted call (SYSLET_WAIT_RESTART)
 * compares with the same @min, so a completion posted and consumed
 * while a handler ran still ends it.
 */
long syslet_wait(struct syslet_ring __user *ring, unsigned int min,
		 const struct __kernel_timespec __user *uts,
		 const sigset_t __user *sigmask, size_t sigsetsize, u32 flags)
{
	struct syslet_ctx *ctx;
	struct syslet_kring *kr;
	ktime_t expires = KTIME_MAX;
	bool timed_out = false;
	struct wait_queue_entry kio_wait;
	struct timespec64 ts;
	DEFINE_WAIT(wait);
	u32 nr;
	long ret;

	ret = syslet_ring_check(ring);
	if (ret)
		return ret;
	if (get_user(nr, &ring->nr_entries))
		return -EFAULT;
	if (!(flags & SYSLET_WAIT_HEAD))
		min = min_t(unsigned int, min, nr);
	if (uts) {
		if (get_timespec64(&ts, uts))
			return -EFAULT;
		if (!timespec64_valid(&ts))
			return -EINVAL;
		if (flags & SYSLET_WAIT_ABSTIME)
			expires = syslet_abs_deadline(&ts);
		else
			expires = ktime_add_safe(ktime_get(),
						 timespec64_to_ktime(ts));
	}
	ctx = syslet_get_ctx(true);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	kr = syslet_kring_get(ctx, (u64)(unsigned long)ring);
	if (!kr)
		return -ENOMEM;
	ret = set_user_sigmask(sigmask, sigsetsize);
	if (ret)
		goto out;
	/* a direct read that completes wakes us to post it (kio.c) */
	init_waitqueue_entry(&kio_wait, current);
	add_wait_queue(&ctx->kio_wait, &kio_wait);

	for (;;) {
		u32 tail, head;

		syslet_kio_flush(ctx);
		syslet_flush(ctx, kr);
		mutex_lock(&kr->mutex);
		ret = kring_load_head(kr);
		mutex_unlock(&kr->mutex);
		if (ret)
			break;
		/*
		 * Read the user's tail before going to sleep state (it may
		 * fault).  Only the kernel's head can make more completions
		 * ready, and a post after prepare_to_wait() wakes us.
		 */
		if (get_user(tail, &ring->tail)) {
			ret = -EFAULT;
			break;
		}
		prepare_to_wait(&kr->wait, &wait, TASK_INTERRUPTIBLE);
		head = READ_ONCE(kr->head);
		ret = (u32)(head - tail);
		if ((flags & SYSLET_WAIT_HEAD) ? head != min : ret >= min)
			break;
		/*
		 * A signal or the timeout ends the wait before any look
		 * that goes round again: nothing keeps it past them
		 * (review 7 finding 1).
		 */
		if (task_sigpending(current)) {
			ret = -EINTR;
			break;
		}
		if (timed_out) {
			ret = -ETIME;
			break;
		}
		/*
		 * A read completed (kio.c): post it.  kio_done_add() adds it,
		 * then wakes us if the list was empty (we drain it all);
		 * prepare_to_wait() set our state with a full barrier, so
		 * either we see it here or its wake-up sees us.
		 */
		if (!llist_empty(&ctx->kio_done)) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		/* a read's kick is no signal: it may post, look again */
		if (syslet_kio_run_work())
			continue;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		timed_out = !schedule_hrtimeout(expires == KTIME_MAX ?
						NULL : &expires,
						HRTIMER_MODE_ABS);
	}
	finish_wait(&kr->wait, &wait);
	remove_wait_queue(&ctx->kio_wait, &kio_wait);
	restore_saved_sigmask_unless(ret == -EINTR);
	/*
	 * SYSLET_WAIT_RESTART (no sigmask) and SYSLET_WAIT_RESTART_SIGMASK
	 * (a sigmask or none), untimed or to a SYSLET_WAIT_ABSTIME deadline
	 * (async_wait() refused a relative timeout with them): the signal
	 * code restarts the call after an SA_RESTART handler, or makes it
	 * -EINTR, as for an untimed futex wait.  Nothing of the wait is kept
	 * but the arguments: the restarted call looks at the ring afresh,
	 * and installs its sigmask again.  SYSLET_WAIT_ABSTIME without them:
	 * restarted only when no handler ran, as clock_nanosleep(TIMER_ABSTIME)
	 * and ppoll() are (so a signal set to SIG_IGN, pending while it was
	 * blocked and unblocked by the sigmask, does not end the wait).
	 */
	if (ret == -EINTR &&
	    (flags & (SYSLET_WAIT_RESTART | SYSLET_WAIT_RESTART_SIGMASK)))
		ret = -ERESTARTSYS;
	else if (ret == -EINTR && (flags & SYSLET_WAIT_ABSTIME))
		ret = -ERESTARTNOHAND;
out:
	syslet_kring_put(ctx, kr);
	return ret;
}
