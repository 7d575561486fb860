/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * aio-internal.h - what the files of libsyslet-aio share.
 *
 * Layout of the library (one concern per file):
 *	versions.c	the exported names and their symbol versions
 *	init.c		setting up on first use, fork, the environment, stats
 *	req.c		request and per-descriptor state, ordering
 *	submit.c	aio_read, aio_write, aio_fsync, lio_listio, aio_init
 *	complete.c	completion, aio_error, aio_return, aio_suspend, reaper
 *	cancel.c	aio_cancel
 *	notify.c	SIGEV_SIGNAL / SIGEV_THREAD / SIGEV_THREAD_ID delivery
 *	chains.c	the engine: the only file that talks to libsyslet, and a
 *			leaf (it calls nothing of the other files: completions
 *			go back to complete.c as values, struct saio_done)
 *
 * Locking: one mutex, saio.lock, protects the request pool, the aiocb and
 * descriptor hashes, the per-descriptor queues and the lio groups' counts.
 * It is never held across a system call that may block, across a call
 * into the engine, or while a notification is delivered.  A read that
 * completes in the caller the fast way (submit.c, saio_read_fast()) takes
 * no lock at all: it has no request, only its aiocb and saio.fast_done.  The engine's
 * completion ring has a single consumer at a time: whoever holds
 * saio.reap_lock.  Every lock is taken with saio_lock() (saio_trylock()),
 * which counts it in saio_t_busy: a signal handler's aio_error() or
 * aio_return() does not reap while its thread holds one.
 *
 * Completion status lives where glibc keeps it, in the aiocb's private
 * __error_code and __return_value fields: __return_value is written first,
 * then __error_code with release semantics; readers load __error_code with
 * acquire semantics.  After that store the library never touches the aiocb
 * again (the program may free it as soon as it sees the status).
 */
#ifndef SYSLET_AIO_INTERNAL_H
#define SYSLET_AIO_INTERNAL_H

/*
 * x86-64 (LP64) only, as libsyslet, which the engine is: the exported
 * names carry x86-64's glibc base version (GLIBC_2.2.5, versions.c), and
 * each *64 name is the plain one because struct aiocb64 is struct aiocb
 * there.  Before, gcc -m32 built every file but chains.c.
 */
#if !defined(__x86_64__) || !defined(__LP64__)
#error "libsyslet-aio: x86-64 (LP64) only; 32-bit and x32 builds are not supported"
#endif

#include <aio.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <time.h>

#include <linux/syslet.h>

#include "include/syslet-aio.h"

#define SAIO_EXPORT	__attribute__((visibility("default")))

/*
 * Thread-local state a signal handler reads: initial-exec, so that its
 * address is an offset from the thread pointer, never a call to
 * __tls_get_addr(), which may allocate the first time a thread touches a
 * library's TLS (not async-signal-safe) when the library was dlopen()ed.
 */
#define SAIO_TLS	_Thread_local __attribute__((tls_model("initial-exec")))

/*
 * SAIO_WINDOW(): a point where another thread's interleaving once caused a
 * defect (use after free, a lock inherited by fork()).  The sanitizer
 * build that the tests link (SAIO_RACE_WINDOWS, userspace/aio/Makefile)
 * sleeps 2 ms there, so that a regression shows at once under ASan or as
 * a hang; the library proper compiles it to nothing.
 */
#ifdef SAIO_RACE_WINDOWS
#define SAIO_WINDOW() do {						\
		struct timespec saio_w_ = { 0, 2000000L };		\
		nanosleep(&saio_w_, NULL);				\
	} while (0)
#else
#define SAIO_WINDOW() do { } while (0)
#endif

/*
 * Default bound on the engine's worker threads: glibc's default
 * aio_threads.  aio_init() and $SYSLET_AIO_THREADS change it.
 */
#define SAIO_THREADS_DEFAULT	20
#define SAIO_THREADS_LIMIT	4096

/* Default and largest number of requests in flight (SYSLET_AIO_MAX). */
#define SAIO_MAX_DEFAULT	16384
#define SAIO_MAX_LIMIT		(1 << 20)

enum saio_op {
	SAIO_READ,
	SAIO_WRITE,
	SAIO_FSYNC,
	SAIO_FDSYNC,
};

enum saio_state {
	SAIO_FREE,
	SAIO_WAITING,		/* held back behind earlier requests on its fd */
	SAIO_RUNNING,		/* handed to the engine (or about to be) */
};

/* How requests on one descriptor must be ordered (see req.c). */
enum saio_kind {
	SAIO_KIND_UNKNOWN,	/* not looked at: only one request so far */
	SAIO_KIND_FILE,		/* seekable: positioned I/O, ordered only
				 * where a write overlaps a request or
				 * may extend the file under a read */
	SAIO_KIND_APPEND,	/* seekable, O_APPEND: a write in order with
				 * every read and write */
	SAIO_KIND_STREAM,	/* pipe, socket, tty: reads in order, writes in order */
};

struct saio_lio;
struct saio_fd;

/*
 * An aio_cancel() waiting for a running request it asked the engine to
 * cancel (cancel.c).  That call owns it (an array it frees before it
 * returns); it is on the request's cwait list, under saio.lock, until the
 * request is finished (which stores the final status in it) or the call
 * stops waiting and takes it off.
 */
struct saio_cwait {
	struct saio_cwait *next;
	uint32_t idx, gen;		/* the request: slot and generation */
	int status;			/* EINPROGRESS until finished; atomic */
	bool wait;			/* cancelled: aio_cancel waits for it */
};

/* saio_req.aret before the system call has run */
#define SAIO_NOT_RUN	INT64_MIN

/*
 * One request: the aiocb it serves and the one-atom chain that runs it.
 * The chain's argument values and result live here, so a request stays
 * put (pool slot) until its completion has been processed.
 */
struct saio_req {
	struct aiocb *cb;
	struct saio_req *hnext;		/* aiocb hash chain */
	struct saio_req *fprev, *fnext;	/* its descriptor's queue */
	struct saio_req *wnext;		/* private work lists (ready, cancel) */
	struct saio_fd *fdq;
	struct saio_lio *lio;		/* list it belongs to, or NULL */
	struct saio_cwait *cwait;	/* aio_cancel() calls waiting for it */
	struct sigevent sev;		/* copied at submission */
	uint32_t idx;			/* pool slot */
	uint32_t gen;			/* bumped each time the slot is used */
	int fd;
	int64_t off;			/* aio_offset, aio_nbytes as submitted */
	uint64_t len;
	int64_t fsize;			/* its file's size when it was queued, if
					 * its order needed it (req.c: a lower
					 * bound while it waits), else 0 */
	uint8_t op;			/* enum saio_op */
	uint8_t state;			/* enum saio_state */
	bool stream;			/* use read/write, not pread/pwrite */
	bool notify;			/* counted in saio.nr_notify */
	bool nowait_missed;		/* an RWF_NOWAIT try of it missed */
	bool defer;			/* never completes in the call that
					 * starts it (lio_listio LIO_NOWAIT) */
	/* engine side: argument values and the result of the chain */
	struct syslet_atom atom;	/* the chain: one system call */
	uint64_t args[5];		/* its arguments, by pointer */
	struct iovec iov;		/* a deferred read's buffer (preadv) */
	int64_t aret;			/* the call's own result (ret_ptr), or
					 * SAIO_NOT_RUN */
	int64_t ret;			/* result of an inline completion */
	/*
	 * Taken from the ring by a signal handler's aio_error() or
	 * aio_return() that interrupted this thread in the shim: on
	 * saio.deferred through dnext with its result in dres, published
	 * in its aiocb already if dpub (complete.c, saio_publish()).
	 */
	struct saio_req *dnext;
	int64_t dres;
	bool dpub;
	/* futex bits of the waiters it wakes (complete.c); saio.lock */
	uint32_t wbits;
};

/* saio_fd.how: how a positioned read is started (chains.c) */
enum {
	SAIO_HOW_UNKNOWN,		/* not looked at yet */
	SAIO_HOW_NOWAIT,		/* buffered: preadv2(RWF_NOWAIT) first,
					 * a miss goes to an async thread */
	SAIO_HOW_MEMORY,		/* tmpfs/ramfs/hugetlbfs without swap:
					 * pread() in the caller */
	SAIO_HOW_DIRECT,		/* O_DIRECT: an async thread at once */
	SAIO_HOW_ENGINE,		/* the engine's default (pass-on-block) */
};

/*
 * lio_listio(LIO_NOWAIT) completes at most this many bytes of cached reads
 * inside the call (the first entries that fit); the others go to engine
 * threads: the call returns at once, and a program can find its entries
 * in progress after it, as with glibc (LTP's aio_suspend 9-1 waits, with
 * larger and larger reads from 64 KiB on, for one still in progress).
 */
#define SAIO_LIO_INLINE		(64 * 1024)

/* The requests in flight on one descriptor, in submission order. */
struct saio_fd {
	int fd;
	uint8_t kind;			/* enum saio_kind; written under
					 * saio.lock, atomic */
	uint8_t how;			/* SAIO_HOW_*, atomic */
	uint32_t nr;			/* requests on the queue */
	uint32_t nr_waiting;
	struct saio_req *head, *tail;
	struct saio_fd *hnext;
};

/* A lio_listio() call: counts its requests down to the list event. */
struct saio_lio {
	uint32_t pending;		/* requests not done + the submitter's hold */
	uint32_t refs;			/* pending + a LIO_WAIT waiter */
	uint32_t done;			/* futex word: 1 once pending hit 0 */
	uint32_t wbits;			/* the LIO_WAIT waiter's futex bit */
	bool notify;			/* sev is to be delivered */
	bool nowait;			/* LIO_NOWAIT: entries are deferred, */
	size_t inline_left;		/* but for this many bytes of cached
					 * reads (SAIO_LIO_INLINE) */
	struct sigevent sev;
};

struct saio_global {
	pthread_mutex_t lock;
	pthread_mutex_t reap_lock;
	bool ready;
	/* read by every fast read: apart from the counters bumped per
	 * completion below */
	uint32_t writes_live;		/* write requests not yet finished: a
					 * read then takes no fast way (it
					 * may have to wait for one: req.c) */
	bool forked;			/* child of fork(): new engine context due */
	int init_err;			/* errno if initialisation failed */
	uint32_t max;			/* pool size */
	struct saio_req *pool;
	struct saio_req *free_req;	/* through hnext */
	struct saio_fd *fdpool;
	struct saio_fd *free_fd;	/* through hnext */
	struct saio_req **cbhash;	/* aiocb -> request */
	struct saio_fd **fdhash;	/* fd -> queue */
	uint32_t hmask;
	uint32_t nr_notify;		/* requests whose completion must be reaped
					 * even if nobody asks: notification due */
	pid_t pid;

	/*
	 * Requests a handler took from the ring and published, for a call
	 * outside a handler to finish (complete.c, saio_drain()): a stack,
	 * pushed and emptied with atomic operations only.
	 */
	struct saio_req *deferred;

	/* futex word bumped (under no lock) on every completion */
	uint32_t seq;
	uint32_t nr_waiters;
	uint32_t notifying;		/* done, signal not yet queued */

	bool reaper_running;
	pthread_t reaper;

	/* the engine's worker threads: bound, idle time (0: engine's own) */
	uint32_t max_threads;
	uint32_t idle_msecs;

	struct syslet_aio_stats st;
	/* reads finished on the fast way (submit.c): submitted, completed
	 * and inline_done each, for syslet_aio_stats() */
	uint64_t fast_done;
};

extern struct saio_global saio;

/*
 * How deep this thread is in code that holds a lock a signal handler of
 * its own could block on: one of the shim's mutexes (saio_lock()), a
 * call into libsyslet that may take one of its own (chains.c: submit,
 * cancel, limits), or malloc(), free() and pthread_create() (which take
 * glibc's).  aio_error() and aio_return() are async-signal-safe (POSIX)
 * and reap the ring when they find a request in progress; a handler
 * that interrupted such code must not finish what it reaps (saio_reap()):
 * that takes saio.lock, starts others (libsyslet), frees a list or makes
 * a thread, and would wait for ever for what its own thread holds
 * (aio_return() in a handler that interrupted aio_read() inside saio.lock
 * deadlocked); it only publishes (complete.c, saio_publish()), and calls
 * outside handlers finish (saio_drain()).  Read by the thread's handlers: volatile, and
 * raised before the lock is taken, lowered after it is released.  Not
 * counted: the waits in the engine and on the futex (a handler that
 * interrupts aio_suspend() may reap, and does: docs/aio.md), but for the
 * emulated backend's engine wait, which may hold a lock of libsyslet's
 * (chains.c, saio_syslet_wait()).
 */
extern SAIO_TLS volatile sig_atomic_t saio_t_busy;

static inline void saio_busy_enter(void)
{
	saio_t_busy = saio_t_busy + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/*
 * Never below 0: the fork() child starts at 0 (init.c), and a frame that
 * raised it before a handler forked goes on in the child.
 */
static inline void saio_busy_leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (saio_t_busy > 0)
		saio_t_busy = saio_t_busy - 1;
}

static inline void saio_lock(pthread_mutex_t *m)
{
	saio_busy_enter();
	pthread_mutex_lock(m);
}

static inline void saio_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
	saio_busy_leave();
}

static inline int saio_trylock(pthread_mutex_t *m)
{
	int err;

	saio_busy_enter();
	err = pthread_mutex_trylock(m);
	if (err)
		saio_busy_leave();
	return err;
}

/* init.c */
int saio_init(void);
int saio_stats(struct syslet_aio_stats *st, size_t size);

/* req.c */
int saio_pools_alloc(uint32_t max);
void saio_pools_reset(void);
void saio_pools_free(void);
struct saio_req *saio_req_alloc(struct aiocb *cb, int op, int fd,
				const struct sigevent *sev,
				struct saio_lio *lio, bool *start);
void saio_req_free(struct saio_req *r, int status);
struct saio_req *saio_find(const struct aiocb *cb);
void saio_queue_remove(struct saio_req *r, struct saio_req **ready);
bool saio_make_stream(struct saio_req *r);

/* submit.c, complete.c, cancel.c: the POSIX calls (names: versions.c) */
int saio_aio_read(struct aiocb *cb);
int saio_aio_write(struct aiocb *cb);
int saio_aio_fsync(int operation, struct aiocb *cb);
int saio_lio_listio(int mode, struct aiocb *const list[], int nent,
		    struct sigevent *sig);
int saio_lio_listio_old(int mode, struct aiocb *const list[], int nent,
			struct sigevent *sig);
void saio_aio_init(const struct aioinit *init);
int saio_aio_suspend(const struct aiocb *const list[], int nent,
		     const struct timespec *timeout);
int saio_aio_cancel(int fd, struct aiocb *cb);


/* complete.c */
int saio_start_new(struct saio_req *r);
void saio_complete(struct saio_req *r, int64_t res);
int saio_reap(bool wait);
void saio_drain_all(void);
int saio_wait_seq(uint32_t seen, const struct timespec *deadline);
uint32_t saio_wait_targeted(uint32_t bits);
uint32_t saio_wait_bits(void);
int saio_wait_seq_restart(uint32_t seen);
int saio_wait_lead(uint32_t seen, const struct timespec *deadline,
		   const sigset_t *mask);
/* every signal blocked but in the engine's sleep (complete.c) */
struct saio_sigwait {
	bool on;
	sigset_t orig;		/* the program's mask, the sleep's */
	struct saio_sigwait *prev;	/* an outer call's (a handler's call) */
};
void saio_sigwait_begin(struct saio_sigwait *w);
void saio_sigwait_end(struct saio_sigwait *w);
const sigset_t *saio_sigwait_mask(struct saio_sigwait *w);
int saio_ensure_reaper(void);
void saio_reaper_forget(void);
void saio_fork_publish(void);
void saio_lio_put(struct saio_lio *g, bool fire);
int saio_status_reap(const struct aiocb *cb);
void saio_deadline(struct timespec *dl, const struct timespec *rel);

/* notify.c */
void saio_notify(const struct sigevent *sev);

/* chains.c */
#define SAIO_REAP_BATCH		64

/* The user word of saio_engine_wake()'s chain: no request's (saio.max) */
#define SAIO_WAKE_DATA		UINT64_MAX

/* A completion taken from the engine's ring. */
struct saio_done {
	uint64_t user_data;	/* saio_user_data() of the request */
	int64_t res;		/* its chain's status */
};

int saio_engine_init(uint32_t max_threads, uint32_t idle_msecs);
int saio_engine_read_fast(const struct aiocb *cb, int64_t *res,
			  bool *missed);
int saio_engine_submit(struct saio_req *r);
int saio_engine_reap(struct saio_done *out, int max, bool wait,
		     const struct timespec *rel);
int saio_engine_wait(const struct timespec *rel);
uint32_t saio_engine_head(bool *ready);
int saio_engine_wait_posted(uint32_t head, bool cancellable,
			    const struct timespec *rel, const sigset_t *mask);
int saio_engine_wake(void);
int saio_engine_cancel(uint64_t user_data, bool running);
int saio_engine_limits(uint32_t max_threads, uint32_t idle_msecs);
uint32_t saio_engine_backend(void);
int saio_engine_reap_ready(struct saio_done *out, int max);

/*
 * Is @fd a stream: a descriptor whose pread() fails with ESPIPE (a pipe, a
 * socket, a tty, an eventfd, timerfd, signalfd, epoll or inotify
 * descriptor)?  Asked with statx(), which takes no lock and makes no
 * round trip (AT_STATX_DONT_SYNC): lseek() takes a shared file's position
 * lock, so it would wait for another thread's read() of the file, and a
 * block device's inode lock.  An inode without a type (an anonymous
 * inode: eventfd and its kin, whose lseek() succeeds) is a stream; a
 * character device is asked with lseek(), which locks nothing there.
 * Without statx() (a seccomp filter may refuse it), lseek().  Keeps errno.
 */
static inline bool saio_fd_stream(int fd)
{
	int saved = errno;
	struct statx stx;
	bool stream;

	if (!statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE,
		   &stx) && (stx.stx_mask & STATX_TYPE)) {
		switch (stx.stx_mode & S_IFMT) {
		case S_IFREG:
		case S_IFBLK:
		case S_IFDIR:
			stream = false;
			break;
		case S_IFCHR:
			stream = lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
			break;
		default:	/* FIFO, socket, anonymous inode */
			stream = true;
			break;
		}
	} else {
		stream = lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
	}
	errno = saved;
	return stream;
}

/* Inline helpers for the status words. */
static inline uint64_t saio_user_data(const struct saio_req *r)
{
	return (uint64_t)r->gen << 32 | r->idx;
}

static inline int saio_load_error(const struct aiocb *cb)
{
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

static inline void saio_store_error(struct aiocb *cb, int e)
{
	__atomic_store_n(&cb->__error_code, e, __ATOMIC_RELEASE);
}

/*
 * Did a signal handler publish r's status (complete.c, saio_publish())?
 * Then r is done for the program, which may reuse its aiocb, though it
 * is on its queues until saio_drain() finishes it.
 */
static inline bool saio_published(const struct saio_req *r)
{
	return __atomic_load_n(&r->dpub, __ATOMIC_ACQUIRE);
}

/* Finish what handlers published (complete.c); never in a handler. */
static inline void saio_drain(void)
{
	if (__atomic_load_n(&saio.deferred, __ATOMIC_RELAXED))
		saio_drain_all();
}

static inline void saio_stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/*
 * The status of cb, reaping first if it is still in progress (inline: a
 * request that is done, the usual case when a program polls, costs no
 * call).
 */
static inline int saio_status(const struct aiocb *cb)
{
	int e = saio_load_error(cb);

	return e == EINPROGRESS ? saio_status_reap(cb) : e;
}

static inline int saio_aio_error(const struct aiocb *cb)
{
	return saio_status(cb);
}

/* A read's or write's aio_reqprio that glibc refuses (EINVAL) */
static inline bool saio_reqprio_bad(const struct aiocb *cb)
{
	return cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX;
}

/*
 * POSIX lets aio_return fail (EINVAL) once the status was retrieved; glibc
 * keeps returning it, and so do aio_error and aio_return here: programs
 * (and glibc's own tests) call aio_error after aio_return.  Of a request
 * in progress (POSIX: undefined) it returns -1 and leaves errno alone:
 * glibc's returns what its helper last stored, 0 until the helper starts
 * the request, -1 once it has tried pread() on a pipe or socket, which is
 * the request that stays in progress; a program may test errno after it
 * (LTP's aio_fsync 4-2 does).
 */
static inline ssize_t saio_aio_return(struct aiocb *cb)
{
	int saved = errno, e = saio_status(cb);

	errno = saved;	/* the reaping may have started requests */
	/* in progress: -1, errno untouched (POSIX: undefined) */
	return e == EINPROGRESS ? -1 : cb->__return_value;
}

/* What a sigevent means (delivery: notify.c). */
/*
 * Is sev valid for submission?  0 or EINVAL.  As lenient as glibc, which
 * checks nothing: a zero-filled sigevent (what a memset() or calloc()ed
 * aiocb has) is SIGEV_SIGNAL with signal 0, the null signal, and sends
 * nothing; so does SIGEV_SIGNAL with a number that is no signal (the
 * queueing fails, and as with glibc the request's status says EINVAL);
 * a sigev_notify value that
 * means nothing sends nothing.  Only SIGEV_THREAD without a function is
 * refused (glibc would call a null pointer in its notification thread).
 */
static inline int saio_sigev_check(const struct sigevent *sev)
{
	if (sev->sigev_notify == SIGEV_THREAD && !sev->sigev_notify_function)
		return EINVAL;
	return 0;
}

/* Does sev queue a signal (what aio_suspend() waits for: saio.notifying)? */
static inline bool saio_sigev_signals(const struct sigevent *sev)
{
	return sev->sigev_notify == SIGEV_SIGNAL ||
	       sev->sigev_notify == SIGEV_THREAD_ID;
}

static inline bool saio_signo_ok(int signo)
{
	return signo > 0 && signo <= SIGRTMAX;
}

/*
 * A SIGEV_SIGNAL request whose number is no signal: glibc's queueing of
 * it fails, and glibc then makes that the request's status (EINVAL, -1);
 * so does the shim (saio_finish(), saio_read_fast()).
 */
static inline bool saio_sigev_fails(const struct sigevent *sev)
{
	return sev->sigev_notify == SIGEV_SIGNAL && sev->sigev_signo != 0 &&
	       !saio_signo_ok(sev->sigev_signo);
}

/* Will sev send something? */
static inline bool saio_sigev_active(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		return saio_signo_ok(sev->sigev_signo);
	case SIGEV_THREAD:
		return true;
	default:
		return false;
	}
}

#endif /* SYSLET_AIO_INTERNAL_H */
