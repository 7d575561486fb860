// SPDX-License-Identifier: GPL-2.0
/*
 * syslet_daq.c - a simulated high-rate data-acquisition card
 *
 * /dev/syslet-daq behaves like a DMA acquisition card: data exists only
 * once a (simulated) DMA transfer has put it into memory, so readers
 * block until it is there.  It exists to run real driver read and splice
 * paths, which sleep on DMA, off the caller's CPU with syslets.
 *
 * The stream.  Every open file is one acquisition session with its own
 * stream of bytes, starting at stream offset 0.  The stream is a sequence
 * of little-endian 64-bit words: word w (stream bytes 8w .. 8w+7) holds
 * DAQ_MAGIC ^ w.  A reader can thus check continuity and detect lost,
 * duplicated or unfilled (zero) data.
 *
 * Reads are positioned: the file position (or pread()'s offset, or
 * splice()'s off_in) is the stream offset to acquire, so several readers
 * of one file, syslet chains say, can each take their own part of the
 * stream in any order.  The device acquires the pages a read needs and
 * keeps each until all of it has been handed out; reading a range twice
 * acquires it twice.  lseek() is not supported (-ESPIPE).  The write
 * direction is a plain stream with a position of its own (pwrite() fails
 * with -ESPIPE).
 *
 * The DMA engine.  One engine serves every session.  A transfer moves
 * one page (or less); the engine moves @rate MB/s (10^6 bytes), one
 * transfer after the other in submission order, and each transfer
 * completes @latency_us after the engine has moved its last byte.  The
 * latency is pipelined: a caller with many transfers in flight pays it
 * once, a caller with one in flight pays it every time.  Completions are
 * delivered by an hrtimer (the "interrupt"), at most every @coalesce_us;
 * that is where the pattern is written into an incoming page.  Pages
 * are zeroed when they are allocated, so a page read before its DMA
 * completed shows zeroes, never stale memory.
 *
 * read() asks the engine for the pages that cover the request, waits
 * (interruptibly) for each in turn and copies it out.  Pages asked for
 * but not handed out (after a signal, or with O_NONBLOCK) stay in flight
 * as the session's read-ahead and serve the next read or splice.  A
 * reader waits for the DMA without the session's lock, so readers of
 * other parts of the stream acquire theirs meanwhile.
 *
 * splice_read() follows the recipe from "splice methods in character
 * device driver" (lkml, 2009): allocate pages, start the DMA into them,
 * put them into the pipe with splice_to_pipe() at once, and let the
 * buffers' ->confirm() wait for the DMA when a consumer looks at the
 * data.  Per-page DMA state travels in pipe_buffer->private.
 *
 * write() and splice_write() "DMA" pages out to the device, which checks
 * that they carry the stream's pattern (-EIO at the first wrong byte).
 * splice_write() steals full pages from the pipe when it can (zero copy)
 * and keeps collecting them while the caller passes SPLICE_F_MORE; the
 * batch goes to the engine when a call comes without it (or the batch
 * is full), and that call waits for the batch's DMA.
 *
 * Lifetimes.  A struct daq_buf is one page and its DMA state.  It is
 * counted by a kref: one reference for the session's read-ahead or
 * write batch, one for the engine while the transfer is queued, one per
 * pipe buffer that shows the page.  The buf owns one reference to its
 * page and drops it when it is freed.  Pipe buffers can outlive the file
 * and the process that made them, and their operations are this
 * module's code, which the pipe does not pin: so every daq_buf holds a
 * module reference, taken when it is allocated (always from a file
 * operation, whose file already pins the module) and dropped as the very
 * last thing when it is freed.  The module cannot be unloaded while a
 * page of it sits in a pipe (delete_module() fails with -EWOULDBLOCK),
 * and daq_exit() waits for a running timer callback with hrtimer_cancel().
 * A task that dropped the last reference may still be returning through
 * daq_buf_free() after its module_put(), preempted there on a
 * preemptible kernel (where no RCU read side covers it): daq_exit()
 * waits with synchronize_rcu_tasks(), as the tracers do for their
 * trampolines, until every task has passed a voluntary context switch,
 * and so has left the module's text.
 *
 * Locking.  daq.lock (spinlock, taken from softirq by the timer: use the
 * _bh variants elsewhere) protects the engine queue and its clock.
 * daq_file->rlock serialises a session's readers (the read-ahead); it
 * nests inside pipe->mutex in splice_read, and is not held across a wait
 * for DMA.  daq_file->wlock serialises writers (batch and write
 * position); pipe->mutex nests inside it in splice_write, which may
 * wait there for data in the pipe.  poll() only tries the two (it must
 * not sleep on them): one it finds taken reports nothing, and its holder
 * wakes the pollers when it lets it go (daq_unlock(), @rmissed and
 * @wmissed).
 * A buf's @done goes from 0 to 1 once, written with release and read
 * with acquire semantics, so the page's contents are visible to whoever
 * sees it set.
 *
 * Memory.  Pages and bufs are charged to the memory cgroup of the task
 * that allocates them (__GFP_ACCOUNT): a session may hold DAQ_RQ_PAGES
 * pages of read-ahead and DAQ_MAX_PAGES of write batch, and the device
 * node is open to every user.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/memcontrol.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/pipe_fs_i.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/splice.h>
#include <linux/uio.h>
#include <linux/unaligned.h>
#include <linux/wait.h>
#include <linux/wait_bit.h>

#define DAQ_MAGIC		0x5DA0000000000000ULL
#define DAQ_MAX_PAGES		256	/* per call; write batch bound */
#define DAQ_RQ_PAGES		4096	/* read-ahead bound (16 calls' worth) */
#define DAQ_MAX_BYTES		(DAQ_MAX_PAGES * PAGE_SIZE)
#define DAQ_SPD_PAGES		PIPE_DEF_BUFFERS /* pages per splice_to_pipe() */
#define DAQ_IRQ_BATCH		64	/* completions per timer callback */

static unsigned int rate = 200;
static unsigned int latency_us = 100;
static unsigned int coalesce_us = 100;

static int daq_set_rate(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 100000);
}

static int daq_set_usecs(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 10 * USEC_PER_SEC);
}

static const struct kernel_param_ops daq_rate_ops = {
	.set	= daq_set_rate,
	.get	= param_get_uint,
};

static const struct kernel_param_ops daq_usecs_ops = {
	.set	= daq_set_usecs,
	.get	= param_get_uint,
};

module_param_cb(rate, &daq_rate_ops, &rate, 0644);
MODULE_PARM_DESC(rate, "DMA engine rate in MB/s (10^6 bytes), 1..100000 (200)");
module_param_cb(latency_us, &daq_usecs_ops, &latency_us, 0644);
MODULE_PARM_DESC(latency_us, "per-transfer DMA latency in us, up to 10 s (100)");
module_param_cb(coalesce_us, &daq_usecs_ops, &coalesce_us, 0644);
MODULE_PARM_DESC(coalesce_us, "least time between DMA completion interrupts in us (100)");

/* One page and the state of its DMA. */
struct daq_buf {
	struct kref		ref;
	struct list_head	node;	/* owner's rq or wbatch (owner's mutex) */
	struct list_head	qnode;	/* daq.queue (daq.lock), then the irq's */
	struct page		*page;	/* one reference, dropped at free */
	u64			pos;	/* stream offset of the data's first byte */
	unsigned int		len;	/* bytes the DMA moves */
	unsigned int		used;	/* bytes handed out (read-ahead) */
	bool			out;	/* memory -> device */
	int			done;	/* 0 -> 1 once: release/acquire */
	ktime_t			due;	/* completion time (daq.lock) */
};

/* One open file: an acquisition session. */
struct daq_file {
	struct mutex		rlock;	/* readers: rq, nr_rq */
	struct list_head	rq;	/* read-ahead, sorted by stream offset */
	unsigned int		nr_rq;

	struct mutex		wlock;	/* writers: wbatch, wpos, wlast */
	struct list_head	wbatch;	/* wlock: checked, not yet DMAed */
	unsigned int		wbatch_pages;
	u64			wpos;	/* wlock: next stream byte expected */
	struct daq_buf		*wlast;	/* wlock: last buf given to the engine */

	int			rmissed; /* a poller found rlock taken */
	int			wmissed; /* a poller found wlock taken */
};

static struct {
	spinlock_t		lock;		/* queue, busy_until */
	struct list_head	queue;		/* lock: transfers, due order */
	ktime_t			busy_until;	/* lock: engine's clock */
	struct hrtimer		timer;
	wait_queue_head_t	wait;		/* pollers: any DMA completed */
} daq;

static inline u64 daq_word(u64 w)
{
	return DAQ_MAGIC ^ w;
}

static inline u8 daq_byte(u64 pos)
{
	return daq_word(pos >> 3) >> (8 * (pos & 7));
}

/* Returns how many leading bytes of @p (stream bytes from @pos) are right. */
static size_t daq_check(const u8 *p, u64 pos, size_t len)
{
	size_t i = 0;

	while (i < len && ((pos + i) & 7)) {
		if (p[i] != daq_byte(pos + i))
			return i;
		i++;
	}
	for (; i + 8 <= len; i += 8)
		if (get_unaligned_le64(p + i) != daq_word((pos + i) >> 3))
			break;
	for (; i < len; i++)
		if (p[i] != daq_byte(pos + i))
			return i;
	return len;
}

/* Writes the stream's pattern for @b->pos onwards into @b's page. */
static void daq_fill(struct daq_buf *b)
{
	__le64 *w = kmap_local_page(b->page);
	u64 first = b->pos >> 3;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(*w); i++)
		w[i] = cpu_to_le64(daq_word(first + i));
	kunmap_local(w);
}

static inline bool daq_buf_done(struct daq_buf *b)
{
	/* pairs with the release in daq_dma_irq(): the page is filled */
	return smp_load_acquire(&b->done);
}

/*
 * Returns a new buf (one reference, the caller's) with a zeroed page if
 * @page, or NULL.  Takes a module reference: the caller runs in a file
 * operation, whose file pins the module, so __module_get() is safe.
 */
static struct daq_buf *daq_buf_alloc(bool page)
{
	struct daq_buf *b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);

	if (!b)
		return NULL;
	if (page) {
		b->page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!b->page) {
			kfree(b);
			return NULL;
		}
	}
	kref_init(&b->ref);
	INIT_LIST_HEAD(&b->node);
	INIT_LIST_HEAD(&b->qnode);
	__module_get(THIS_MODULE);
	return b;
}

/* kref release: may run in softirq (the timer) or under pipe->mutex. */
static void daq_buf_free(struct kref *ref)
{
	struct daq_buf *b = container_of(ref, struct daq_buf, ref);

	if (b->page)
		put_page(b->page);
	kfree(b);
	/* Last: after this the module may go (see "Lifetimes" above). */
	module_put(THIS_MODULE);
}

static inline void daq_buf_put(struct daq_buf *b)
{
	kref_put(&b->ref, daq_buf_free);
}

/*
 * Hands @b to the DMA engine, which takes its own reference.  Its
 * transfer starts when the engine has finished the ones before it (or
 * now), takes len / rate, and completes latency_us after that.
 */
static void daq_submit(struct daq_buf *b)
{
	ktime_t now = ktime_get(), start, due;
	struct daq_buf *last;
	bool idle;

	kref_get(&b->ref);
	spin_lock_bh(&daq.lock);
	start = max(now, daq.busy_until);
	daq.busy_until = ktime_add_ns(start, div_u64((u64)b->len * 1000,
						     READ_ONCE(rate)));
	due = ktime_add_us(daq.busy_until, READ_ONCE(latency_us));
	idle = list_empty(&daq.queue);
	if (!idle) {
		/* latency_us may have shrunk: keep the queue in due order */
		last = list_last_entry(&daq.queue, struct daq_buf, qnode);
		due = max(due, last->due);
	}
	b->due = due;
	list_add_tail(&b->qnode, &daq.queue);
	if (idle)
		hrtimer_start(&daq.timer, due, HRTIMER_MODE_ABS_SOFT);
	spin_unlock_bh(&daq.lock);
}

/*
 * The DMA completion "interrupt" (softirq context): completes every
 * transfer that is due, filling incoming pages, and re-arms itself for
 * the next one, no sooner than coalesce_us from now.  A submitter that
 * finds the queue empty starts the timer itself; hrtimer_start() on a
 * timer whose callback is running is allowed and wins over NORESTART.
 */
static enum hrtimer_restart daq_dma_irq(struct hrtimer *timer)
{
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	ktime_t now = ktime_get();
	struct daq_buf *b, *tmp;
	LIST_HEAD(done);
	int n = 0;

	spin_lock(&daq.lock);
	while ((b = list_first_entry_or_null(&daq.queue, struct daq_buf,
					     qnode))) {
		if (b->due > now || n == DAQ_IRQ_BATCH)
			break;
		list_move_tail(&b->qnode, &done);
		n++;
	}
	if (b) {
		ktime_t next = ktime_add_us(now, READ_ONCE(coalesce_us));

		hrtimer_set_expires(timer, max(b->due, next));
		ret = HRTIMER_RESTART;
	}
	spin_unlock(&daq.lock);

	list_for_each_entry(b, &done, qnode) {
		if (!b->out)
			daq_fill(b);
		/* the page's contents before done (daq_buf_done()) */
		smp_store_release(&b->done, 1);
		/* done before wake_up_var()'s look for waiters */
		smp_mb();
		wake_up_var(&b->done);
	}
	if (wq_has_sleeper(&daq.wait))
		wake_up_all(&daq.wait);		/* pollers */
	list_for_each_entry_safe(b, tmp, &done, qnode)
		daq_buf_put(b);		/* the engine's reference */
	return ret;
}

/*
 * Waits for @b's DMA; returns 0, or -ERESTARTSYS on a signal.  Waiters
 * sleep on the buf's own (hashed) wait queue: with many readers, each
 * wakes for its own page only, not on every completion interrupt.
 */
static int daq_wait(struct daq_buf *b)
{
	if (daq_buf_done(b))
		return 0;
	return wait_var_event_interruptible(&b->done, daq_buf_done(b));
}

/* ---- read side ---------------------------------------------------- */

/*
 * Returns the read-ahead page at stream offset @pos (page aligned),
 * acquiring it if there is none: a new page is inserted in order and its
 * DMA started.  Called with rlock held.  Returns NULL if the read-ahead
 * is full (DAQ_RQ_PAGES pages acquired but not handed out) or memory is
 * short.  Searches from the end, where sequential readers look.
 */
static struct daq_buf *daq_rq_page(struct daq_file *f, u64 pos)
{
	struct list_head *at = &f->rq;
	struct daq_buf *b;

	list_for_each_entry_reverse(b, &f->rq, node) {
		if (b->pos == pos)
			return b;
		if (b->pos < pos)
			break;
		at = &b->node;
	}
	if (f->nr_rq >= DAQ_RQ_PAGES)
		return NULL;
	b = daq_buf_alloc(true);
	if (!b)
		return NULL;
	b->pos = pos;
	b->len = PAGE_SIZE;
	list_add_tail(&b->node, at);	/* before @at: stays sorted */
	f->nr_rq++;
	daq_submit(b);
	return b;
}

/*
 * Makes sure the read-ahead holds the pages of [@pos, @pos + @len).
 * Returns the first, or NULL if not even that one could be had; the
 * others follow it in the list, as far as they could be had.
 */
static struct daq_buf *daq_rq_fill(struct daq_file *f, u64 pos, size_t len)
{
	u64 p, first = round_down(pos, PAGE_SIZE);

	for (p = first; p < pos + len; p += PAGE_SIZE)
		if (!daq_rq_page(f, p))
			break;
	if (p == first)
		return NULL;
	return daq_rq_page(f, first);
}

/* Notes @n bytes of @b handed out; drops @b once all of it has been. */
static void daq_rq_used(struct daq_file *f, struct daq_buf *b, size_t n)
{
	b->used += n;
	if (b->used < PAGE_SIZE)
		return;
	list_del(&b->node);
	f->nr_rq--;
	daq_buf_put(b);
}

/* The buf after @b in the read-ahead if it holds stream offset @pos. */
static struct daq_buf *daq_rq_next(struct daq_file *f, struct daq_buf *b,
				   u64 pos)
{
	if (list_is_last(&b->node, &f->rq))
		return NULL;
	b = list_next_entry(b, node);
	return b->pos == round_down(pos, PAGE_SIZE) ? b : NULL;
}

/*
 * As a wait for DMA, a wait for the lock ends with -ERESTARTSYS on a
 * signal: a handler with SA_RESTART gets the call made again, wherever
 * the reader slept.
 */
static int daq_lock(struct mutex *lock, bool nonblock)
{
	if (nonblock)
		return mutex_trylock(lock) ? 0 : -EAGAIN;
	return mutex_lock_interruptible(lock) ? -ERESTARTSYS : 0;
}

/* The mark of a poller that found @lock, a session lock of @f, taken. */
static int *daq_missed(struct daq_file *f, struct mutex *lock)
{
	return lock == &f->rlock ? &f->rmissed : &f->wmissed;
}

/*
 * Lets @lock, a session lock of @f, go and wakes the pollers if one
 * found it taken (daq_poll_trylock()).  The barrier pairs with the
 * poller's between its mark and its second try: either that try finds
 * the lock free, or we see the mark.  One mark per lock: a poller that
 * found one lock taken (a writer waiting for data in its pipe) must not
 * be woken by its own unlock of the other, or poll() would spin and
 * never time out (review of e6662f1, finding 1).
 */
static void daq_unlock(struct daq_file *f, struct mutex *lock)
{
	int *missed = daq_missed(f, lock);

	mutex_unlock(lock);
	/* the unlock before the look at the mark: daq_poll_trylock()'s */
	smp_mb();
	if (READ_ONCE(*missed) && xchg(missed, 0))
		wake_up_all(&daq.wait);
}

static ssize_t daq_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct daq_file *f = iocb->ki_filp->private_data;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	size_t want = min_t(size_t, iov_iter_count(to), DAQ_MAX_BYTES);
	size_t copied = 0, off, n, got;
	u64 pos = iocb->ki_pos;
	struct daq_buf *b, *next;
	int err;

	if (!want)
		return 0;
	err = daq_lock(&f->rlock, nonblock);
	if (err)
		return err;
	b = daq_rq_fill(f, pos, want);
	if (!b)
		err = -ENOBUFS;
	while (b && copied < want) {
		if (!daq_buf_done(b)) {
			if (nonblock) {
				err = -EAGAIN;
				break;
			}
			/*
			 * Without rlock: other readers go on.  Our reference
			 * keeps @b while we wait for it.
			 */
			kref_get(&b->ref);
			daq_unlock(f, &f->rlock);
			err = daq_wait(b);
			if (!err)
				err = daq_lock(&f->rlock, false);
			if (err) {
				daq_buf_put(b);
				goto out;
			}
			/*
			 * Another reader may have handed out @b, or pages
			 * after it, meanwhile: what is missing is acquired
			 * again (the rest is found where it is).
			 */
			daq_buf_put(b);
			b = daq_rq_fill(f, pos, want - copied);
			if (!b)
				err = -ENOBUFS;
			continue;
		}
		off = pos - b->pos;
		n = min_t(size_t, PAGE_SIZE - off, want - copied);
		got = copy_page_to_iter(b->page, off, n, to);
		pos += got;
		copied += got;
		if (got < n) {
			daq_rq_used(f, b, got);
			err = -EFAULT;
			break;
		}
		next = daq_rq_next(f, b, pos);
		daq_rq_used(f, b, got);
		/* a page another reader took meanwhile: acquired again */
		if (!next && copied < want)
			next = daq_rq_fill(f, pos, want - copied);
		b = next;
	}
	daq_unlock(f, &f->rlock);
out:
	iocb->ki_pos = pos;
	return copied ? copied : err;
}

/*
 * The pipe buffer operations of pages spliced out of the device.  The
 * pipe calls them under pipe->mutex; buf->private is the struct daq_buf
 * whose page buf->page is, and the pipe buffer holds one reference to it
 * (and through it to the page and to this module).
 */

/*
 * ->confirm(): called by every consumer of the buffer (read() from the
 * pipe, splice to a file or socket, vmsplice to memory) before it touches
 * the data.  The page went into the pipe as soon as its DMA was started,
 * so this is where the consumer waits for the DMA to complete: it sleeps
 * interruptibly until the engine has filled the page.  Returns 0 when the
 * data is there (it never changes afterwards; later calls return at
 * once), or -ERESTARTSYS if a signal, or a syslet cancellation, came
 * first; the buffer then stays in the pipe, unconsumed.
 */
static int daq_pipe_buf_confirm(struct pipe_inode_info *pipe,
				struct pipe_buffer *buf)
{
	return daq_wait((struct daq_buf *)buf->private);
}

/*
 * ->release(): called when the buffer's contents have been consumed or
 * the pipe is freed, also before the DMA has completed (the engine keeps
 * its own reference and finishes the transfer into a page nobody will
 * read).  Drops the buffer's reference; the last one frees the page and
 * lets the module go.
 */
static void daq_pipe_buf_release(struct pipe_inode_info *pipe,
				 struct pipe_buffer *buf)
{
	daq_buf_put((struct daq_buf *)buf->private);
}

/*
 * ->try_steal(): called on a confirmed buffer by a consumer that wants
 * the page itself (zero copy), e.g. this device's own splice_write or
 * virtio-console.  Succeeds only if nothing else can see the page any
 * more: the DMA has completed, this pipe buffer holds the only reference
 * to the buf (no read-ahead, engine or tee()d buffer), and the buf holds
 * the only reference to the page.  Returns true with the page locked;
 * the caller then takes its own page reference and releases the pipe
 * buffer as usual, which frees the buf but not the page.  References
 * cannot be added meanwhile: only tee() (under this pipe's mutex, held
 * by our caller) adds one to a buf that has left the read-ahead.
 */
static bool daq_steal(struct pipe_buffer *buf, bool foreign)
{
	struct daq_buf *b = (struct daq_buf *)buf->private;

	/*
	 * Not a page charged to a memory cgroup as kernel memory to a
	 * foreign taker (FUSE's page cache, say), which would keep that
	 * charge; the device's own splice_write keeps it as kernel memory.
	 */
	if (!daq_buf_done(b) || kref_read(&b->ref) != 1 ||
	    page_count(buf->page) != 1 ||
	    (foreign && PageMemcgKmem(buf->page)))
		return false;
	lock_page(buf->page);
	return true;
}

static bool daq_pipe_buf_try_steal(struct pipe_inode_info *pipe,
				   struct pipe_buffer *buf)
{
	return daq_steal(buf, true);
}

/*
 * ->get(): called by tee() to show the buffer in a second pipe.  Takes
 * a reference to the buf, which the second buffer's ->release() drops.
 */
static bool daq_pipe_buf_get(struct pipe_inode_info *pipe,
			     struct pipe_buffer *buf)
{
	kref_get(&((struct daq_buf *)buf->private)->ref);
	return true;
}

static const struct pipe_buf_operations daq_pipe_buf_ops = {
	.confirm	= daq_pipe_buf_confirm,
	.release	= daq_pipe_buf_release,
	.try_steal	= daq_pipe_buf_try_steal,
	.get		= daq_pipe_buf_get,
};

/* splice_to_pipe() could not place page @i: drop the pipe's reference. */
static void daq_spd_release(struct splice_pipe_desc *spd, unsigned int i)
{
	daq_buf_put((struct daq_buf *)spd->partial[i].private);
}

/*
 * Moves up to @len bytes of the stream, from stream offset *@ppos, into
 * @pipe (locked by our caller) without waiting for their DMA.  With
 * O_NONBLOCK only pages whose DMA has completed go, and -EAGAIN if there
 * are none yet.  Returns bytes placed, or an error.
 */
static ssize_t daq_splice_read(struct file *file, loff_t *ppos,
			       struct pipe_inode_info *pipe, size_t len,
			       unsigned int flags)
{
	struct daq_file *f = file->private_data;
	bool nonblock = file->f_flags & O_NONBLOCK;
	struct daq_buf *bufs[DAQ_SPD_PAGES], *b, *next;
	struct partial_page partial[DAQ_SPD_PAGES];
	struct page *pages[DAQ_SPD_PAGES];
	struct splice_pipe_desc spd = {
		.pages		= pages,
		.partial	= partial,
		.nr_pages_max	= DAQ_SPD_PAGES,
		.ops		= &daq_pipe_buf_ops,
		.spd_release	= daq_spd_release,
	};
	ssize_t total = 0, ret = 0;
	u64 pos = *ppos, end, p;
	size_t want, n, left;
	int i, err;

	len = min_t(size_t, len, DAQ_MAX_BYTES);
	if (!len)
		return 0;
	err = daq_lock(&f->rlock, nonblock);
	if (err)
		return err;
	b = daq_rq_fill(f, pos, len);
	if (!b)
		ret = -ENOBUFS;
	end = pos + len;

	while (b && pos < end) {
		/* up to DAQ_SPD_PAGES pages from @b on */
		want = 0;
		spd.nr_pages = 0;
		for (p = pos; b && p < end && spd.nr_pages < DAQ_SPD_PAGES;
		     b = daq_rq_next(f, b, p)) {
			if (nonblock && !daq_buf_done(b))
				break;
			n = min_t(u64, b->pos + PAGE_SIZE, end) - p;
			kref_get(&b->ref);	/* the pipe buffer's */
			bufs[spd.nr_pages] = b;
			pages[spd.nr_pages] = b->page;
			partial[spd.nr_pages].offset = p - b->pos;
			partial[spd.nr_pages].len = n;
			partial[spd.nr_pages].private = (unsigned long)b;
			spd.nr_pages++;
			p += n;
			want += n;
		}
		if (!spd.nr_pages) {
			ret = -EAGAIN;
			break;
		}
		next = b;
		ret = splice_to_pipe(pipe, &spd);
		if (ret <= 0)
			break;
		/* the pipe took a prefix of the batch: those bytes are out */
		for (left = ret, i = 0; left; i++) {
			n = min_t(size_t, left, partial[i].len);
			if (bufs[i] == next)
				next = NULL;	/* dropped below */
			daq_rq_used(f, bufs[i], n);
			left -= n;
		}
		pos += ret;
		total += ret;
		if (ret < want)
			break;		/* the pipe is full */
		b = next;
	}
	daq_unlock(f, &f->rlock);
	*ppos = pos;
	return total ? total : ret;
}

/* ---- write side --------------------------------------------------- */

/* Gives the write batch to the engine; its last buf becomes wlast. */
static void daq_wflush(struct daq_file *f)
{
	struct daq_buf *b, *tmp;

	list_for_each_entry_safe(b, tmp, &f->wbatch, node) {
		list_del_init(&b->node);
		daq_submit(b);
		if (list_empty(&f->wbatch)) {
			if (f->wlast)
				daq_buf_put(f->wlast);
			f->wlast = b;
		} else {
			daq_buf_put(b);
		}
	}
	f->wbatch_pages = 0;
}

/* Whether a writer must wait before its data may go to the engine. */
static bool daq_wbusy(struct daq_file *f)
{
	return f->wlast && !daq_buf_done(f->wlast);
}

/* Adds @b, holding @len checked bytes, to the write batch. */
static void daq_wbatch_add(struct daq_file *f, struct daq_buf *b,
			   unsigned int len)
{
	b->out = true;
	b->pos = f->wpos;
	b->len = len;
	f->wpos += len;
	list_add_tail(&b->node, &f->wbatch);
	f->wbatch_pages++;
}

/*
 * Ends a write call: the batch goes to the engine and, unless
 * @nonblock, the caller waits for its DMA.  The data was accepted
 * already, so a signal only cuts the wait short.
 */
static void daq_wfinish(struct daq_file *f, bool nonblock)
{
	daq_wflush(f);
	if (!nonblock && f->wlast)
		daq_wait(f->wlast);
}

static ssize_t daq_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct daq_file *f = iocb->ki_filp->private_data;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	size_t done = 0, n, got, ok;
	struct daq_buf *b;
	void *p;
	int err;

	if (!iov_iter_count(from))
		return 0;
	err = daq_lock(&f->wlock, nonblock);
	if (err)
		return err;
	if (nonblock && daq_wbusy(f)) {
		err = -EAGAIN;
		goto out;
	}
	while (iov_iter_count(from) && f->wbatch_pages < DAQ_MAX_PAGES) {
		b = daq_buf_alloc(true);
		if (!b) {
			err = -ENOMEM;
			break;
		}
		n = min_t(size_t, iov_iter_count(from), PAGE_SIZE);
		got = copy_page_from_iter(b->page, 0, n, from);
		p = kmap_local_page(b->page);
		ok = daq_check(p, f->wpos, got);
		kunmap_local(p);
		if (!ok) {
			daq_buf_put(b);
			err = got ? -EIO : -EFAULT;
			break;
		}
		daq_wbatch_add(f, b, ok);
		done += ok;
		if (ok < n) {
			err = ok < got ? -EIO : -EFAULT;
			break;
		}
	}
	daq_wfinish(f, nonblock);
out:
	daq_unlock(f, &f->wlock);
	return done ? done : err;
}

/*
 * splice_from_pipe() actor: checks one confirmed pipe buffer against the
 * stream and adds it to the write batch, stealing the page if it is a
 * whole one nobody else sees, copying it otherwise.  Returns the bytes
 * taken, 0 when the batch is full, or -EIO / -ENOMEM.
 *
 * A buffer may be bigger than a page: a socket's (an skb fragment of a
 * compound page, up to 32 KiB) has its data at buf->offset of buf->page
 * and the pages after it.  One page at most is taken per call, from the
 * page the data starts in; __splice_from_pipe() calls again for the
 * rest.  Only a buffer that is one whole page is stolen.
 */
static int daq_pipe_to_dev(struct pipe_inode_info *pipe,
			   struct pipe_buffer *buf, struct splice_desc *sd)
{
	struct daq_file *f = sd->u.file->private_data;
	struct page *page = nth_page(buf->page, buf->offset >> PAGE_SHIFT);
	unsigned int off = offset_in_page(buf->offset);
	unsigned int n = min_t(unsigned int, sd->len, PAGE_SIZE - off);
	struct daq_buf *b;
	size_t ok;
	u8 *p;

	if (f->wbatch_pages >= DAQ_MAX_PAGES)
		return 0;
	p = kmap_local_page(page);
	ok = daq_check(p + off, f->wpos, n);
	kunmap_local(p);
	if (!ok)
		return -EIO;

	/* before a steal: a page taken from its owner is not given back */
	b = daq_buf_alloc(false);
	if (!b)
		return -ENOMEM;
	if (buf->offset == 0 && buf->len == PAGE_SIZE && ok == PAGE_SIZE &&
	    (buf->ops == &daq_pipe_buf_ops ? daq_steal(buf, false) :
	     pipe_buf_try_steal(pipe, buf))) {
		/* ours now; the pipe buffer's release drops the pipe's ref */
		get_page(buf->page);
		unlock_page(buf->page);
		b->page = buf->page;
	} else {
		b->page = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!b->page) {
			daq_buf_put(b);
			return -ENOMEM;
		}
		memcpy_page(b->page, 0, page, off, ok);
	}
	daq_wbatch_add(f, b, ok);
	return ok;
}

static ssize_t daq_splice_write(struct pipe_inode_info *pipe,
				struct file *out, loff_t *ppos, size_t len,
				unsigned int flags)
{
	struct daq_file *f = out->private_data;
	bool nonblock = out->f_flags & O_NONBLOCK;
	struct splice_desc sd = {
		.total_len	= len,
		.flags		= flags,
		.pos		= *ppos,
		.u.file		= out,
	};
	ssize_t ret;

	ret = daq_lock(&f->wlock, nonblock);
	if (ret)
		return ret;
	if (nonblock && daq_wbusy(f)) {
		ret = -EAGAIN;
		goto out;
	}
	if (f->wbatch_pages >= DAQ_MAX_PAGES)
		daq_wflush(f);
	/* what splice_from_pipe() does; 6.1 does not export it */
	pipe_lock(pipe);
	ret = __splice_from_pipe(pipe, &sd, daq_pipe_to_dev);
	pipe_unlock(pipe);
	/* batch while the caller says more is coming and there is room */
	if (!(flags & SPLICE_F_MORE) || ret <= 0 ||
	    f->wbatch_pages >= DAQ_MAX_PAGES)
		daq_wfinish(f, nonblock);
out:
	daq_unlock(f, &f->wlock);
	return ret;
}

/* ---- file ----------------------------------------------------------- */

/*
 * Readable when the page at the file position is in (its acquisition is
 * started if need be, so that poll() and O_NONBLOCK read() suffice to
 * acquire data); writable when the last write's DMA is done.  Never
 * sleeps on a session lock, which a reader or writer may hold for long
 * (a splice_write() waiting for data in its pipe, a read faulting in
 * its buffer): a lock found taken says nothing ready, and its holder
 * wakes us when it lets it go (daq_unlock(): ours too, for another
 * poller that found it taken by us; only a poller that found it taken
 * marks it, so that epoll is not woken by its own looks).
 */
/* poll()'s try at a session lock of @f: see daq_unlock() */
static bool daq_poll_trylock(struct daq_file *f, struct mutex *lock)
{
	if (mutex_trylock(lock))
		return true;
	WRITE_ONCE(*daq_missed(f, lock), 1);
	/* the mark before the second try: pairs with daq_unlock() */
	smp_mb();
	return mutex_trylock(lock);
}

static __poll_t daq_poll(struct file *file, poll_table *wait)
{
	struct daq_file *f = file->private_data;
	struct daq_buf *b;
	__poll_t mask = 0;

	poll_wait(file, &daq.wait, wait);
	/* queued before anyone can see a mark of ours (daq_unlock()) */
	smp_mb();
	if ((file->f_mode & FMODE_READ) && daq_poll_trylock(f, &f->rlock)) {
		b = daq_rq_page(f, round_down(READ_ONCE(file->f_pos), PAGE_SIZE));
		if (b && daq_buf_done(b))
			mask |= EPOLLIN | EPOLLRDNORM;
		daq_unlock(f, &f->rlock);
	}
	if (daq_poll_trylock(f, &f->wlock)) {
		if (!daq_wbusy(f))
			mask |= EPOLLOUT | EPOLLWRNORM;
		daq_unlock(f, &f->wlock);
	}
	return mask;
}

static int daq_open(struct inode *inode, struct file *file)
{
	struct daq_file *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->rlock);
	mutex_init(&f->wlock);
	INIT_LIST_HEAD(&f->rq);
	INIT_LIST_HEAD(&f->wbatch);
	file->private_data = f;
	/*
	 * Positioned reads, but no lseek and no positioned writes.  Not
	 * FMODE_ATOMIC_POS: its f_pos_lock is taken uninterruptibly, held
	 * across a read's DMA wait, and by write() too (review of e6662f1,
	 * finding 2); threads that read() one file share its position as
	 * for any character device (docs/driver.md).
	 */
	file->f_mode &= ~(FMODE_LSEEK | FMODE_PWRITE);
	file->f_mode |= FMODE_PREAD;
	return 0;
}

/*
 * Last close: batched writes still go to the engine; in-flight DMA
 * completes without us (the engine holds its own references).
 */
static int daq_release(struct inode *inode, struct file *file)
{
	struct daq_file *f = file->private_data;
	struct daq_buf *b, *tmp;

	list_for_each_entry_safe(b, tmp, &f->rq, node) {
		list_del(&b->node);
		daq_buf_put(b);
	}
	daq_wflush(f);
	if (f->wlast)
		daq_buf_put(f->wlast);
	mutex_destroy(&f->rlock);
	mutex_destroy(&f->wlock);
	kfree(f);
	return 0;
}

static const struct file_operations daq_fops = {
	.owner		= THIS_MODULE,
	.open		= daq_open,
	.release	= daq_release,
	.read_iter	= daq_read_iter,
	.write_iter	= daq_write_iter,
	.splice_read	= daq_splice_read,
	.splice_write	= daq_splice_write,
	.poll		= daq_poll,
	/* no .llseek: daq_open() clears FMODE_LSEEK (6.12 has no no_llseek) */
};

static struct miscdevice daq_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "syslet-daq",
	.fops	= &daq_fops,
	.mode	= 0666,
};

static int __init daq_init(void)
{
	int ret;

	spin_lock_init(&daq.lock);
	INIT_LIST_HEAD(&daq.queue);
	init_waitqueue_head(&daq.wait);
	hrtimer_init(&daq.timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	daq.timer.function = daq_dma_irq;
	ret = misc_register(&daq_misc);
	if (ret)
		return ret;
	pr_info("%u MB/s, %u us latency\n", rate, latency_us);
	return 0;
}

/*
 * Runs only once nothing holds the module: no open file, no buf (each
 * holds a module reference), so the engine's queue is empty.  A timer
 * callback may still be returning from its last daq_buf_put();
 * hrtimer_cancel() waits for it.  A task may still be returning from
 * daq_buf_free() after its module_put(), preempted there: it has not
 * passed a voluntary context switch since, which
 * synchronize_rcu_tasks() waits for.
 */
static void __exit daq_exit(void)
{
	misc_deregister(&daq_misc);
	hrtimer_cancel(&daq.timer);
	synchronize_rcu_tasks();
	WARN_ON(!list_empty(&daq.queue));
}

module_init(daq_init);
module_exit(daq_exit);
MODULE_DESCRIPTION("Simulated DMA data-acquisition device for syslets");
MODULE_LICENSE("GPL");
