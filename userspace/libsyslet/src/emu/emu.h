// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The emulated backend: the syslet contract on a pool of threads.
 * (Declarations shared by the files of src/emu/.)
 *
 * Chains run with syscall(2) on worker threads that are created on demand
 * (up to max_threads) and exit after idle_msecs without work; they obey
 * the same flags, data flow, limits and forbidden list as the kernel
 * engine (kernel/syslet/exec.c) and write the same ring format with the
 * same ordering (entry, then head with release semantics).  Waiters sleep
 * on a futex on the ring's head (syslet_pwait() in ppoll() on an eventfd).
 *
 * Files: pool.c (workers, the job queue, submission, limits), exec.c (the
 * executor), ring.c (ring production, overflow, waits), cancel.c,
 * signal.c (the cancellation signal), calls.c (the allowlist), ctx.c
 * (contexts, fork(), the backend's table).
 *
 * Locking:
 *   pool.lock	the job queue, worker counts, limits, nr_chains
 *   emu->lock	the context's in-flight list, its overflow list and the
 *		producer side of its ring (head); taken after pool.lock
 *		never before it
 *   job->sig_lock  a running job's in_syscall state, so that a canceller
 *		only signals a thread that is (about to be) in the call and
 *		cannot exit meanwhile
 *
 * Cancellation of a blocked call: the worker marks itself in_syscall,
 * checks the cancelled flag, and makes the call; the canceller sets the
 * flag and, while the worker is marked in_syscall, sends it the cancel
 * signal (pool.signo, a real-time signal the program neither handles nor
 * blocks, see pick_signal(); its handler does nothing for the library's
 * own signals, and sends the program's back to the process, see
 * sig_cancel(); it is installed without SA_RESTART, so a blocked
 * interruptible call returns EINTR).  A signal that lands between the check and the call is lost, so the canceller
 * retries with a growing delay until the worker leaves the call (or, for
 * an uninterruptible call, gives up after about a second: the call ends
 * by itself and the chain still completes as cancelled).
 */
#ifndef LIBSYSLET_EMU_H
#define LIBSYSLET_EMU_H

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "../internal.h"


#define EMU_DEF_MAX_THREADS	128
#define EMU_MAX_MAX_THREADS	4096
#define EMU_DEF_IDLE_MSECS	5000
#define EMU_MAX_IDLE_MSECS	3600000
#define EMU_DEF_MAX_CHAINS	16384
#define EMU_MAX_MAX_CHAINS	(1U << 20)

struct emu_job {
	struct emu_job *next;		/* pool queue */
	struct emu_job *iprev, *inext;	/* ctx in-flight list */
	struct syslet_ctx *ctx;
	const struct syslet_atom *head;
	uint32_t flags;			/* head atom's flags */
	syslet_threadlet_fn fn;		/* threadlet, or NULL */
	void *arg;
	struct syslet_completion comp;
	_Atomic bool cancelled;
	bool queued;			/* on pool.queue; under pool.lock */
	pthread_mutex_t sig_lock;
	bool in_syscall;		/* under sig_lock */
	pthread_t thread;		/* valid while in_syscall */
	int refs;			/* under emu->lock */
};

struct emu_pwaiter {
	int efd;
	unsigned int gen;		/* pw_gen when listed */
	struct emu_pwaiter *next, *prev;
};

struct syslet_emu {
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* in-flight list became empty */
	struct emu_job *inflight;	/* oldest first */
	struct emu_job *inflight_last;
	unsigned int nr_inflight;
	struct emu_job *ovf, *ovf_last;	/* completions waiting for room */
	uint32_t head;			/* producer's copy of ring->head */
	_Atomic unsigned int waiters;
	/*
	 * syslet_pwait() callers, each polling an eventfd of its own with
	 * ppoll() (a futex cannot take a signal mask); pw_lock is a leaf
	 * lock, taken after e->lock where both are held.
	 */
	_Atomic unsigned int pwaiters;
	pthread_mutex_t pw_lock;
	struct emu_pwaiter *pw_list;	/* under pw_lock */
	unsigned int pw_gen;		/* under pw_lock; new in a fork child */
	struct syslet_ctx *ctx;
	struct syslet_emu *cnext, *cprev; /* pool.ctxs; under pool.lock */
};

struct emu_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct emu_job *queue, *queue_last;
	unsigned int nr_threads, nr_idle, nr_chains, nr_queued;
	unsigned int max_threads, idle_msecs, max_chains;
	uint64_t chains_done;
	struct syslet_emu *ctxs;	/* every live context */
	bool sig_installed;
	bool atfork_installed;
	int signo;
	/* the program uses signo too: workers keep it blocked from now on */
	_Atomic bool sig_foreign;
};

/*
 * Functions and data shared between the files: the static library shares
 * the program's name space, so they get the __syslet_emu_ prefix.
 */
#define pool	__syslet_emu_pool
extern struct emu_pool pool;	/* the one pool of the process */

/* signal.c: this thread is a worker */
#define t_worker	__syslet_emu_t_worker
extern _Thread_local bool t_worker;

#define nr_targets_self	__syslet_emu_nr_targets_self
#define install_signal	__syslet_emu_install_signal
#define unqueue_locked	__syslet_emu_unqueue_locked
#define job_put_locked	__syslet_emu_job_put_locked
#define free_jobs	__syslet_emu_free_jobs
#define post_job	__syslet_emu_post_job
#define signal_still_ours	__syslet_emu_signal_still_ours
#define kick_jobs	__syslet_emu_kick_jobs
#define run_chain	__syslet_emu_run_chain
#define flush_locked	__syslet_emu_flush_locked
#define ring_write	__syslet_emu_ring_write
#define park_locked	__syslet_emu_park_locked
#define wake_waiters	__syslet_emu_wake_waiters
#define futex	__syslet_emu_futex

int nr_targets_self(unsigned int nr, const uint64_t *a);
int install_signal(void);
void unqueue_locked(struct emu_job *j);
void job_put_locked(struct syslet_emu *e, struct emu_job *j,
			   struct emu_job **freelist);
void free_jobs(struct emu_job *j);
void post_job(struct emu_job *j);
bool signal_still_ours(void);
void kick_jobs(struct emu_job *const *v, unsigned int n,
		      bool once);
void run_chain(const struct syslet_atom *head, struct emu_job *j,
		      struct syslet_completion *c);
bool flush_locked(struct syslet_ctx *ctx, struct emu_job **freelist);
bool ring_write(struct syslet_ctx *ctx,
		       const struct syslet_completion *c);
void park_locked(struct syslet_ctx *ctx, struct emu_job *j);
void wake_waiters(struct syslet_ctx *ctx);
long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts);

#endif /* LIBSYSLET_EMU_H */
