/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslets: what the files of kernel/syslet/ may call of each other.
 *
 * Objects and their lifetimes:
 *
 * struct syslet_ctx	one per process (thread group), hung off
 *			signal_struct.  Refcounted: one reference for the
 *			signal_struct, one per async thread.  Freed when the
 *			last goes (after exec, or with the signal_struct).
 * struct syslet_kring	the kernel's side of one user ring, found by the
 *			ring's user address in ctx->rings.  Counted by
 *			ctx->lock-protected @refs: one per chain that will
 *			post to it, one per waiter.  No user teardown.
 * struct syslet_chain	one submitted chain, from async_exec() until its
 *			completion is in the user ring (it may wait on the
 *			kring's overflow list before that).
 * struct syslet_kio	a chain issued as a direct read (kio.c); pins the
 *			ctx (one reference each) until posted.
 *
 * Locking: ctx->lock (a spinlock, process context only) protects the
 * ctx's lists and counters and every kring's @refs.  kring->mutex
 * serialises writes to that user ring (they may fault and sleep) and
 * protects its @head and overflow list.  Order: kring->mutex, then
 * ctx->lock; never sleep under ctx->lock.
 */
#ifndef _KERNEL_SYSLET_SYSLET_H
#define _KERNEL_SYSLET_SYSLET_H

#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/cpumask.h>
#include <linux/hashtable.h>
#include <linux/iocontext.h>
#include <linux/ioprio.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rseq.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/syslet.h>
#include <asm/syslet.h>

/*
 * The kernel interfaces whose spelling differs between the supported
 * versions (Linux 6.1 and 6.12): compat/<version>/kernel/syslet/kcompat.h.
 */
#include "kcompat.h"

/*
 * What makes a task an async thread, a kernel thread of its process: the
 * flags create_io_thread() sets, which keep the FPU core from saving a
 * task's user FPU state at context switch and from restoring it on the
 * way out.  A hand-off's giver takes them, its taker drops them (pob.c).
 */
#define SYSLET_PF_WORKER	(PF_IO_WORKER | PF_USER_WORKER)

/*
 * Exchanges @a's and @b's rseq registration (the area, its signature and
 * its size); each re-checks its area on its way out.  Moving one to a
 * task that has none (an async thread) leaves the other none.
 */
static inline void syslet_swap_rseq(struct task_struct *a,
				    struct task_struct *b)
{
#ifdef CONFIG_RSEQ
	swap(a->rseq, b->rseq);
	swap(a->rseq_sig, b->rseq_sig);
	syslet_swap_rseq_len(a, b);
	if (a->rseq)
		rseq_set_notify_resume(a);
	if (b->rseq)
		rseq_set_notify_resume(b);
#endif
}

#define SYSLET_DEF_MAX_THREADS	128
#define SYSLET_MAX_MAX_THREADS	4096
#define SYSLET_DEF_IDLE_MSECS	5000
#define SYSLET_MAX_IDLE_MSECS	3600000
#define SYSLET_DEF_MAX_CHAINS	16384
#define SYSLET_MAX_MAX_CHAINS	BIT(20)

struct pid;
struct seccomp_filter;
struct audit_context;
struct syslet_pob;
struct syslet_threadlet;

struct syslet_ctx {
	spinlock_t		lock;		/* lists, counters, kring refs */
	refcount_t		refs;
	bool			dead;		/* exec or last thread exit */
	struct list_head	queue;		/* chains not started yet */
	unsigned int		nr_queued;	/* on @queue */
	struct list_head	running;	/* chains an async thread runs */
	struct list_head	workers;	/* all async threads */
	struct list_head	idle;		/* idle async threads */
	struct list_head	uspares;	/* idle user spares (threadlets) */
	unsigned int		nr_uspares;
	unsigned int		nr_parked;	/* user spares, idle or reserved */
	unsigned int		nr_handing;	/* pob hand-offs under way */
	unsigned int		nr_threads;
	unsigned int		nr_idle;
	unsigned int		nr_idle_open;	/* of those, may take any context */
	unsigned int		nr_starting;	/* created, not yet idle */
	unsigned int		nr_creating;	/* submitters making a thread */
	unsigned int		nr_reserved;	/* pass-on-block takers */
	/*
	 * Concurrency (worker.c): async threads running queued work and
	 * not asleep (the scheduler's hooks keep it: no lock), and those
	 * woken or made for queued work that have not looked at it yet.
	 */
	atomic_t		nr_active;
	unsigned int		nr_woken;
	unsigned int		max_active;	/* the threads' CPUs */
	unsigned int		kick_extra;	/* allowed by the kick */
	/*
	 * Idle threads each kept for a chain that waits without a wake-up
	 * of its own (no one else takes them), chains taken off @queue so
	 * far, and at the kick's arming; the kick, and the wake-up a sleep
	 * hook leaves to a worker (its task blocked on an rt_mutex).
	 */
	struct list_head	standby;
	unsigned int		nr_standby;
	u64			nr_taken;
	u64			kick_taken;
	struct delayed_work	kick;
	struct work_struct	wake_work;
	wait_queue_head_t	spare_wait;	/* for nr_starting to drop */
	unsigned int		nr_chains;	/* submitted, not yet posted */
	unsigned int		nr_cached;	/* on @chain_cache */
	struct list_head	chain_cache;	/* free chain objects (core.c) */
	unsigned int		max_threads;
	unsigned int		idle_msecs;
	unsigned int		max_chains;
	unsigned int		thread_seq;
	u64			chains_done;
	DECLARE_HASHTABLE(rings, 6);
	struct llist_head	kio_done;	/* direct reads to post (kio.c) */
	wait_queue_head_t	kio_wait;	/* async_wait(): one completed */
	atomic_t		kio_tw_queued;	/* @kio_tw is queued */
	struct callback_head	kio_tw;
	/* for a busy thread's chain end (TWA_RESUME): apart, see kio.c */
	atomic_t		kio_tw_parked;	/* @kio_tw_busy is queued */
	struct callback_head	kio_tw_busy;
	struct work_struct	kio_work;	/* drops them: ctx dead */
	struct list_head	kwork;		/* kernel work not started yet */
	struct list_head	kwork_keys;	/* first work of each key */
	unsigned int		nr_kwork_running;	/* threads in one */
	/*
	 * No user thread could take them (each runs a chain): an async
	 * thread posts ctx->kio_done (@kio_post, ctx->lock, set by
	 * @kio_post_work), and so does a pass-on-block taker waiting for
	 * its giver, its io_submit() reads only (@kio_taker, likewise); an
	 * async thread reads @ops kios' blocking rest (@kio_queue,
	 * ctx->lock).  @nr_kio: kios in flight.
	 */
	struct work_struct	kio_post_work;
	bool			kio_post;
	bool			kio_taker;
	struct list_head	kio_queue;
	atomic_t		nr_kio;
	spinlock_t		callers_lock;	/* irqsave: kio_kick() takes it */
	/* struct syslet_caller, hashed by task: kio_kick() looks one up */
	DECLARE_HASHTABLE(callers, 7);
};

/*
 * A thread running a chain in its own async_exec() (SYSLET_SYNC, the
 * default mode, a chain in a threadlet), on its stack, in ctx->callers
 * while the chain runs: a read's completion kicks another user thread
 * (kio_kick()), an interrupted atom would end with -EINTR.
 */
struct syslet_caller {
	struct hlist_node	node;
	struct task_struct	*task;
};

struct syslet_kring {
	struct hlist_node	node;		/* in ctx->rings, ctx->lock */
	u64			uaddr;
	unsigned int		refs;		/* ctx->lock */
	struct mutex		mutex;
	u32			head;		/* mutex: the kernel's copy */
	u32			nr_entries;	/* the ring's size, at creation */
	u32			hdr_size;	/* its header's, with it */
	bool			head_valid;	/* mutex: @head read in */
	unsigned int		nr_overflow;	/* mutex */
	struct list_head	overflow;	/* mutex: chains to post */
	wait_queue_head_t	wait;		/* async_wait() sleepers */
};

struct syslet_chain {
	struct list_head	node;		/* queue/running/overflow */
	struct syslet_ctx	*ctx;
	struct syslet_kring	*kring;		/* NULL: nothing to post */
	const struct cred	*cred;		/* submitter's, at submission */
	struct pid		*submitter;	/* its thread, for signals */
	struct seccomp_filter	*filter;	/* submitter's, pinned; or NULL */
	u64			ip;		/* submitter's async_exec() call */
	u32			pkru;		/* submitter's, at submission */
	/* submitter's effective one, for a thread that runs the chain */
	int			ioprio;		/* set with @submitter */
	unsigned int		pflags;		/* its SYSLET_KWORK_PF flags */
	struct task_struct	*worker;	/* ctx->lock: who runs it */
	u64			head;		/* user address of atom 0 */
	u64			uring;		/* user address of its ring */
	u32			flags;		/* atom 0's flags */
	bool			cancelled;	/* ctx->lock to set */
	/* queued again after it ran (kbuf): SYSLET_CANCEL_QUEUED leaves it */
	bool			started;
	bool			killed;		/* its thread took a SIGKILL */
	bool			uncounted;	/* left ctx->nr_chains when posted */
	bool			ia32;		/* submitter in i386 ABI: atoms too */
	/* run in the caller: submit_in_caller_to_ring() frees it */
	bool			caller_owned;
	int			restart;	/* ran in the caller: restart it */
	struct syslet_completion comp;
};

/*
 * @t's I/O priority as ioprio_set() left it (IOPRIO_DEFAULT: none set,
 * the class then follows the nice value), what ioprio_get() reports.
 */
static inline int syslet_ioprio(struct task_struct *t)
{
	struct io_context *ioc = READ_ONCE(t->io_context);

	return ioc ? READ_ONCE(ioc->ioprio) : IOPRIO_DEFAULT;
}

/*
 * What of a thread's scheduling and name goes with its user context to
 * the task that takes it over (pass-on-block and threadlets alike).
 */
struct syslet_sched {
	int			policy;
	int			nice;
	unsigned int		rt_priority;
	u64			slack;		/* timer slack (PR_SET_TIMERSLACK) */
	u64			default_slack;
#ifdef CONFIG_AUDIT
	kuid_t			loginuid;	/* audit login */
	unsigned int		sessionid;
#endif
	cpumask_var_t		cpus;		/* syslet_sched_alloc() */
	char			comm[TASK_COMM_LEN];
};

/*
 * The hand-off state word of a reserved taker (pass-on-block: the
 * worker's @hs; threadlets: the threadlet's): a phase in the low bits, a
 * sequence number above them that each pend raises, so that a taker
 * cannot claim a pend it has not seen the giver go off its CPU for.
 *
 *   IDLE -> PENDING	the giver, in the scheduler hook, about to sleep;
 *			then it wakes the taker (nothing else in that hook)
 *   PENDING -> IDLE	the giver, after schedule() returned: it woke up
 *			before the claim, and goes on in the caller
 *   PENDING -> CLAIMED	the taker, once the giver is off its CPU
 *   CLAIMED -> DONE	the taker has moved the user context (release)
 *   IDLE, PENDING -> OFF	the taker refuses (its identity no longer
 *			fits, it is being killed): no hand-off for the rest
 *			of this chain
 * pob.c has the whole protocol.
 */
#define SYSLET_HS_IDLE		0UL
#define SYSLET_HS_PENDING	1UL
#define SYSLET_HS_CLAIMED	2UL
#define SYSLET_HS_DONE		3UL
#define SYSLET_HS_OFF		4UL
#define SYSLET_HS_PHASE		7UL
#define SYSLET_HS_SEQ		8UL

static inline unsigned long syslet_hs_phase(unsigned long hs)
{
	return hs & SYSLET_HS_PHASE;
}

/* @hs, same sequence number, in phase @phase */
static inline unsigned long syslet_hs(unsigned long hs, unsigned long phase)
{
	return (hs & ~SYSLET_HS_PHASE) | phase;
}

/*
 * An async thread.  While idle it may be reserved by a default-mode
 * chain at submission (@pob set, under ctx->lock, and off ctx->idle):
 * it then does nothing but wait for that chain's giver to pend, take its
 * user context, or be released (@pob cleared).
 *
 * A hand-off moves a place in ctx->nr_threads from the taker to the
 * giver, and this struct with it: the taker, once done with it (on its
 * way to user space), gives it to the giver (@give_to, the giver's
 * pob->worker), which lives on in it as an async thread.  So nothing is
 * allocated on the giver's way from its chain to the idle list, where no
 * error can be returned, and the giver may read @hs after DONE.
 */
struct syslet_worker {
	struct list_head	node;		/* ctx->workers */
	struct list_head	idle_node;	/* ctx->idle, when idle */
	struct task_struct	*task;
	struct syslet_ctx	*ctx;
	bool			starting;	/* counted in ctx->nr_starting */
	/*
	 * ctx->lock: made by worker_make() for work its maker has not
	 * queued yet (it dropped ctx->lock to make it): no giver reserves
	 * it meanwhile (taker_pick(); not in ctx->nr_idle_open), or the
	 * work would wait for that giver's chain, which may wait for the
	 * work.  @took: it took a chain off ctx->queue, or another queuer
	 * woke it, while held.
	 */
	bool			held;
	bool			took;
	unsigned int		seq;		/* its number, syslet-@seq */
	bool			restricted;	/* ctx->lock: idle, not open */
	bool			waiting;	/* ctx->lock: in syslet_pob_wait() */
	bool			killed;		/* its SIGKILL taken: leave */
	bool			woken;		/* ctx->lock: in ctx->nr_woken */
	bool			standby;	/* ctx->lock: on ctx->standby */
	bool			asleep;		/* busy, uncounted: it sleeps */
	struct syslet_pob	*pob;		/* ctx->lock: reserved by */
	unsigned long		hs;		/* the hand-off state (above) */
	u64			uring;		/* the chain's ring, no kring yet */
	struct syslet_pob	*give_to;	/* claimed: the giver's */
	struct syslet_sched	sched;		/* the giver's, at the claim */
	/*
	 * An async thread's own scheduling and affinity, saved when it
	 * claims a user context: the giver, which lives on in this struct,
	 * takes them on (finish_passed()), so that no async thread runs
	 * other threads' chains with a user thread's attributes.
	 */
	struct syslet_sched	own;
	struct callback_head	ret_work;
};

/*
 * A chain running in its caller that may pass the caller's user context
 * on (pass-on-block).  On the caller's stack, at current->syslet_pob,
 * while the chain runs.  @armed only around each atom's system call.
 * Only the caller (the giver) writes it, but @chain, whose list and
 * @worker the taker sets while it claims (the giver is asleep then).
 */
struct syslet_pob {
	struct syslet_ctx	*ctx;
	struct syslet_chain	*chain;		/* or NULL: */
	struct syslet_threadlet	*tl;		/* a threadlet runs (armed) */
	struct task_struct	*giver;		/* current */
	struct syslet_worker	*taker;		/* reserved at submission */
	unsigned long		pending;	/* the state it pended with */
	bool			armed;
	bool			passed;		/* the user context has gone */
	/* after a hand-off: the taker is done with @worker, now ours */
	struct completion	taken;
	struct syslet_worker	*worker;
	/*
	 * While an atom's call runs armed: where syslet_dispatch() keeps
	 * async_exec()'s own audit context, put aside for the atom's; a
	 * hand-off gives it to the taker (syslet_audit_pass()).
	 */
	struct audit_context	**audit_outer;
};

/*
 * A read issued as a kiocb (kio.c): a chain's lone pread64() (@c), or,
 * with @ops, a buffered read of another owner (aio.c: io_submit()).
 */
struct syslet_kio;

struct syslet_kio_ops {
	/*
	 * The read is over (@post: in a thread of the process), or dropped
	 * with its process (a kworker, or a thread of a new image): complete
	 * the owner's request once and free @kio (syslet_kio_free()).
	 */
	void (*finish)(struct syslet_kio *kio, bool post);
	/* a page cannot be waited for: read the rest where one may sleep */
	void (*to_thread)(struct syslet_kio *kio);
};

struct syslet_kio {
	struct kiocb		iocb;
	struct syslet_chain	*c;		/* or NULL: @ops */
	struct syslet_ctx	*ctx;		/* referenced */
	const struct syslet_kio_ops *ops;	/* NULL: a chain's read */
	struct mm_struct	*mm;		/* mmgrab()ed */
	u64			ret_ptr;	/* the atom's */
	long			res;
	refcount_t		refs;
	struct task_struct	*tsk;		/* the submitter, referenced */
	struct llist_node	lnode;		/* ctx->kio_done */
	struct list_head	qnode;		/* ctx->kio_queue */
	/* a buffered read (kbuf_*() in kio.c): it waits for pages, not I/O */
	bool			buffered;
	bool			cancelled;	/* @ops: the owner's cancel */
	int			kflags;		/* ki_flags of each attempt */
	u64			ubuf;		/* the read's buffer, or: */
	const struct iovec	*iov;		/* @ops: its vector, or NULL */
	unsigned long		nr_segs;
	size_t			len;		/* its length (clamped) */
	loff_t			pos;		/* where it started */
	size_t			done;		/* bytes copied so far */
	u32			pkru;		/* the submitter's, at submission */
	unsigned int		pflags;		/* its SYSLET_KWORK_PF flags */
	/*
	 * @ops: the submitter's credentials at submission, referenced; the
	 * read on runs with them, in whichever thread (syslet_kio_creds()).
	 * NULL: a chain's read, run with the thread's.
	 */
	const struct cred	*cred;
	struct wait_page_queue	wpq;		/* the page it waits for */
};

/*
 * Kernel work for the async threads of a process (worker.c), queued by a
 * system call of a thread of the process for another to do without it:
 * an io_submit() write (aio.c).  It runs in an async thread as its
 * submitter: with the submitter's credentials, memory protection keys
 * and I/O priority at submission, and the signals it raises there
 * (SIGXFSZ, SIGPIPE) go to the submitter.  Works of one @key (an inode)
 * run one at a time, in the order they were queued: the first is on
 * ctx->kwork_keys (@key_node) from its queueing until it is done, the
 * others wait on its @later; the last done hands them to the next.
 *
 * ->run() does the work (never for a work the ctx dropped); ->done() is
 * called once, after it or instead of it (@dropped: the process exits or
 * execs, ->run() was not called), and completes the owner's request; ->free()
 * frees the work, after it left every list.
 */
struct syslet_kwork;

struct syslet_kwork_ops {
	long (*run)(struct syslet_kwork *kw);
	void (*done)(struct syslet_kwork *kw, long res, bool dropped);
	void (*free)(struct syslet_kwork *kw);
};

struct syslet_kwork {
	struct list_head	node;		/* ctx->kwork, or a first's @later */
	struct list_head	key_node;	/* ctx->kwork_keys: first of @key */
	struct list_head	later;		/* first: the works of @key after it */
	const void		*key;		/* or NULL: no order with others */
	const struct syslet_kwork_ops *ops;
	const struct cred	*cred;		/* the submitter's, referenced */
	struct pid		*submitter;	/* its thread, referenced */
	u32			pkru;		/* its PKRU at submission */
	int			ioprio;		/* its effective I/O priority */
	unsigned int		pflags;		/* its SYSLET_KWORK_PF flags */
};

/*
 * The submitter's task flags kernel work runs with: PR_SET_IO_FLUSHER's
 * (memalloc_noio_save(), and dirty throttling against its own device).
 */
#define SYSLET_KWORK_PF	(PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE)

/* kbuf: how a buffered read went (kio.c) */
enum { KBUF_NO, KBUF_DONE, KBUF_QUEUED };

/* core.c */
struct syslet_ctx *syslet_get_ctx(bool create);
void syslet_ctx_put(struct syslet_ctx *ctx);
void syslet_chain_free(struct syslet_chain *c);
void syslet_chain_drop(struct syslet_chain *c);
int syslet_chain_count(struct syslet_ctx *ctx);
void syslet_chain_uncount(struct syslet_ctx *ctx);
struct syslet_chain *syslet_chain_new(struct syslet_ctx *ctx, u64 head,
				      u64 uring, u32 flags, u64 user_data);
bool syslet_other_user_thread(struct task_struct *tsk);

/* ring.c */
int syslet_ring_check(const struct syslet_ring __user *ring);
struct syslet_kring *syslet_kring_get(struct syslet_ctx *ctx, u64 uaddr);
void syslet_kring_put(struct syslet_ctx *ctx, struct syslet_kring *kr);
void syslet_kring_free_all(struct syslet_ctx *ctx);
int syslet_post(struct syslet_ctx *ctx, struct syslet_kring *kr,
		const struct syslet_completion *comp);
void syslet_post_chain(struct syslet_chain *c);
void syslet_flush(struct syslet_ctx *ctx, struct syslet_kring *kr);
long syslet_wait(struct syslet_ring __user *ring, unsigned int min,
		 const struct __kernel_timespec __user *uts,
		 const sigset_t __user *sigmask, size_t sigsetsize, u32 flags);

/* exec.c */
void syslet_run_chain(struct syslet_chain *c, bool in_caller);

/*
 * A chain that ran leaves ctx->running (under ctx->lock): a cancel that
 * marked it after syslet_run_chain()'s last look, and so returned 0 for
 * it, makes it a cancelled one all the same (async_cancel() returns 0
 * only for a chain that completes as cancelled).
 */
static inline void syslet_chain_leave_running(struct syslet_chain *c)
{
	list_del_init(&c->node);
	c->worker = NULL;
	if (c->cancelled && !(c->comp.flags & SYSLET_COMP_CANCELED)) {
		c->comp.status = -ECANCELED;
		c->comp.flags |= SYSLET_COMP_CANCELED;
	}
}

bool syslet_forward_signals(struct pid *submitter, bool drop);
int syslet_load_args(const struct syslet_atom *atom, unsigned long *args);
u32 syslet_seccomp_verdict(struct syslet_chain *c, unsigned int nr,
			   const unsigned long *args);

/* kio.c */
void syslet_kio_init(struct syslet_ctx *ctx);
bool syslet_kio_submit(struct syslet_ctx *ctx, struct syslet_chain *c);
void syslet_kio_flush(struct syslet_ctx *ctx);
bool syslet_kio_run_work(void);
void syslet_kio_dead(struct syslet_ctx *ctx);
void syslet_kio_taken(struct syslet_ctx *ctx, struct task_struct *from);
void syslet_kio_chain_begin(struct syslet_ctx *ctx, struct syslet_caller *sc);
void syslet_kio_chain_end(struct syslet_ctx *ctx, struct syslet_caller *sc);
bool syslet_kbuf_exec(struct syslet_ctx *ctx, struct syslet_chain *c,
		      u32 nr, u64 fdp, struct syslet_completion __user *done,
		      long *ret);
bool syslet_kbuf_file(struct file *file);
ssize_t syslet_kbuf_call(struct kiocb *iocb, struct iov_iter *iter);
int syslet_kbuf_issue(struct syslet_kio *kio, bool missed);
void syslet_kio_free(struct syslet_kio *kio);
const struct cred *syslet_kio_creds(struct syslet_kio *kio);
void syslet_kio_run(struct syslet_kio *kio);
void syslet_kio_submitted(struct syslet_ctx *ctx);
/* syslet_kio_post_taker(): a pend stopped it; it left a chain's reads */
#define SYSLET_TAKER_STOPPED	1
#define SYSLET_TAKER_CHAINS	2
int syslet_kio_post_taker(struct syslet_ctx *ctx, unsigned long *hs,
			  unsigned long later);
void syslet_kio_post_user(struct syslet_ctx *ctx);

/* worker.c */
int syslet_queue_chain(struct syslet_ctx *ctx, struct syslet_chain *c);
int syslet_queue_kio(struct syslet_ctx *ctx, struct syslet_kio *kio);
int syslet_kio_to_worker(struct syslet_ctx *ctx);
void syslet_taker_post(struct syslet_worker *w, unsigned long later);
void syslet_kio_spare(struct syslet_ctx *ctx);
void syslet_idle_del(struct syslet_ctx *ctx, struct syslet_worker *w);
void syslet_queue_del(struct syslet_ctx *ctx);
void syslet_worker_ctx_init(struct syslet_ctx *ctx);
void syslet_kill_workers(struct syslet_ctx *ctx);
void syslet_kwork_end_dying(struct syslet_ctx *ctx);
bool syslet_kwork_any(struct syslet_ctx *ctx, const void *key,
		      bool (*match)(const struct syslet_kwork *kw,
				    const void *arg),
		      const void *arg);
struct syslet_worker *syslet_reserve_taker(struct syslet_ctx *ctx,
					   struct syslet_pob *pob);
void syslet_release_taker(struct syslet_ctx *ctx, struct syslet_worker *w);
long syslet_become_worker(struct syslet_ctx *ctx, struct syslet_worker *w,
			  bool killed);
bool syslet_must_stay(void);
void syslet_kwork_init(struct syslet_kwork *kw, const void *key,
		       const struct syslet_kwork_ops *ops);
void syslet_kwork_release(struct syslet_kwork *kw);
int syslet_queue_kwork(struct syslet_ctx *ctx, struct syslet_kwork *kw);
bool syslet_kwork_pending(struct syslet_ctx *ctx, const void *key);

/* pob.c */
long syslet_post_comp(struct syslet_ctx *ctx,
		      const struct syslet_completion *comp,
		      struct syslet_ring __user *ring, bool counted);
bool syslet_pob_in_caller(void);
long syslet_deliver_in_caller(struct syslet_chain *c,
			      struct syslet_completion __user *done);
void syslet_pob_abort(void);
bool syslet_identity_fits(struct task_struct *from, struct task_struct *to);
bool syslet_leader_may_take(struct task_struct *from, struct task_struct *to);
void syslet_exchange_tids(struct task_struct *a, struct task_struct *b);
void syslet_give_relations(struct pid *user);
void syslet_reclaim_tid(struct task_struct *tsk);
long syslet_pob_wait(struct syslet_worker *w);
enum {
	SYSLET_CLAIM_GONE, SYSLET_CLAIM_LATER, SYSLET_CLAIM_GO,
	SYSLET_CLAIM_AGAIN,	/* pob.c: on its CPU again, not asleep yet */
};

int syslet_giver_off_cpu(unsigned long *hs, struct task_struct *from,
			 unsigned long s);
void syslet_giver_recalc_sigpending(struct task_struct *t);
bool syslet_identity_same(struct task_struct *from, struct task_struct *to);
int syslet_sched_alloc(struct syslet_sched *s);
void syslet_sched_free(struct syslet_sched *s);
void syslet_sched_save(struct syslet_sched *s, struct task_struct *tsk);
void syslet_sched_take(const struct syslet_sched *s);
long syslet_submit_pob(struct syslet_chain *c,
		       struct syslet_completion __user *done);

/* threadlet.c */
long syslet_spare(void);
long syslet_threadlet_begin(void);
long syslet_threadlet_end(struct syslet_ring __user *ring,
			  struct syslet_completion __user *done);
void syslet_threadlet_sleeping(struct task_struct *tsk,
			       struct syslet_threadlet *tl);
void syslet_threadlet_woken(struct task_struct *tsk,
			    struct syslet_threadlet *tl);
void syslet_threadlet_exit(void);
void syslet_wake_spares(struct syslet_ctx *ctx);

/* cancel.c */
long syslet_cancel(struct syslet_ring __user *ring, u64 user_data,
		   unsigned int flags);

#endif /* _KERNEL_SYSLET_SYSLET_H */
