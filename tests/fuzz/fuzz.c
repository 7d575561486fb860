// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-fuzz: a fuzzer for the kernel's syslet engine (issue 9).
 *
 *   syslet-fuzz [-s SEED] [-n CHAINS] [-t SECONDS] [-e EPISODE] [-v] [-x N]
 *
 * Runs "episodes" until CHAINS chains were submitted or SECONDS passed
 * (whichever first; default 20000 chains, no time limit); -e replays one
 * episode, -v prints each, -x N adds N to the TAP plan (for a script that
 * prints more tests after it).  Each episode is
 * a child process with 1-5 threads that submit random chains: atoms from
 * a safe set of system calls (pipe I/O, files under a private directory,
 * nanosleep, splice, lseek, close of its own fds, ...) plus refused and
 * nonexistent ones, random flags (unknown bits too), stop/skip
 * combinations, garbage and unmapped atom/ring/argument/result pointers,
 * self-modifying, cyclic and very long chains, random cancels, waits
 * (async_wait()'s flags too) and async_limits() changes, rings made
 * inaccessible, scribbled or munmapped while chains are in flight,
 * threads that exit with chains in flight; calls that install a
 * temporary signal mask (ppoll, pselect6, epoll_pwait, epoll_pwait2,
 * io_pgetevents) while real-time signals are sent to the process, floods
 * of SYSLET_EXEC_POST on a full ring, and (in a forked process of uid
 * 1000 at a low RLIMIT_NPROC) submissions for which no async thread can
 * be made while another thread cancels them.  An episode ends normally
 * (drain, then exit), or by exit_group(), exec, or SIGKILL from the
 * parent, with chains in flight.
 *
 * Safety: the child installs a seccomp filter that, for calls made from
 * its async_exec() call site (which is what atoms are checked as), allows
 * only the safe set, the engine's refused calls and numbers past the
 * table; its own direct calls are not restricted.  Paths are relative to
 * its private directory.
 *
 * Invariants checked (any failure prints the seed and episode to replay
 * with -s SEED -e EPISODE, and the program exits 1):
 *  - every chain async_exec() accepted for a ring without NO_COMPLETE
 *    completes exactly once, on that ring, with sane fields (rings the
 *    fuzzer munmapped or scribbled beyond repair are written off);
 *  - async_exec() fails only with its documented errors;
 *  - an atom's -EPIPE comes with a SIGPIPE delivered to the process;
 *  - the engine never has more async threads than the highest
 *    max_threads set;
 *  - every real-time signal sent to the process is handled exactly once
 *    (no async thread consumes one, whatever mask an atom installed);
 *  - with no async thread creatable, a SYSLET_ASYNC chain either fails
 *    with EAGAIN or, cancelled meanwhile, completes once (-ECANCELED);
 *    a run that cannot be set up as root (uid 1000, RLIMIT_NPROC, its
 *    canceller thread) fails, as a user it is counted as not run;
 *  - a flood of SYSLET_EXEC_POST on a ring nobody reaps, at a low
 *    max_chains M, has at most (free entries + M) posts accepted, the
 *    rest refused with EAGAIN (unless limits were set meanwhile);
 *  - async_wait() with SYSLET_WAIT_RESTART and a timeout or a sigmask
 *    fails with EINVAL; with valid flags it fails only with EINTR, ETIME
 *    or ENOMEM;
 *  - every episode's process ends: normally within 120 s, killed within
 *    30 s;
 *  - libsyslet threadlets (run in the caller, handed on to spares when
 *    they sleep) complete with their own value, and no thread's TID
 *    changes across a hand-off.
 * A kernel oops, KASAN or lockdep report is caught by the guest harness.
 *
 * Deterministic by seed: each thread of an episode draws from its own
 * generator seeded from (SEED, episode, thread), so the same seed replays
 * the same operations; what the kernel does with them depends on timing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "sys.h"
#include <syslet.h>

#define MAX_THREADS	5
#define RINGS_PER	3
#define MAX_RINGS	(MAX_THREADS * RINGS_PER + 1)
#define ARENA		8192		/* atoms per thread */
#define MAX_CHAINS	(1 << 17)	/* tracked chains per episode */
#define STACK_SIZE	(256 << 10)
#define NPOOL		13		/* fds made at start */
#define STEP_MS		20000		/* an episode's steps stop after this */

/* --- shared with the parent ------------------------------------------- */

struct shared {
	_Atomic uint64_t calls;		/* async_exec() calls */
	_Atomic uint64_t accepted;	/* returned QUEUED or DONE */
	_Atomic uint64_t completions;	/* taken from rings */
	_Atomic uint64_t cancels;
	_Atomic uint64_t eagain;
	_Atomic uint64_t writtenoff;
	_Atomic uint64_t sigpipes, epipes, sigxfsz;
	_Atomic uint64_t threadlets, tl_handed;	/* reaped; went on elsewhere */
	_Atomic uint64_t direct;	/* accepted lone preads of blk_path */
	_Atomic uint64_t rtsigs;	/* real-time signals sent and handled */
	_Atomic uint64_t rt_sent, rt_delivered;	/* all episodes */
	_Atomic uint64_t floods;	/* POST floods that met max_chains */
	_Atomic uint64_t flood_posts, flood_refused, flood_unchecked;
	_Atomic uint64_t nproc_runs;	/* low RLIMIT_NPROC runs that ran */
	_Atomic uint64_t flag_waits;	/* async_wait()s with flags (valid) */
	_Atomic uint64_t np_eagain, np_cancelled;	/* their submissions */
	_Atomic uint64_t np_notroot;	/* not run: not root */
	_Atomic int np_errno;		/* why one could not start */
	_Atomic unsigned int max_threads_seen;
	_Atomic unsigned int limit_hw;
	_Atomic int failed;
	_Atomic int finished;		/* M_KILL: drained, waiting for it */
	char msg[1024];
};

static struct shared *sh;

/* --- random numbers ---------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix(r->s);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static int chance(struct rng *r, unsigned int per_mille)
{
	return below(r, 1000) < per_mille;
}

/* --- failure reporting (child) ----------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&sh->failed, &expected, 1))
		_exit(1);
	va_start(ap, fmt);
	vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* --- the child's memory ------------------------------------------------- */

static char *bad_page;		/* PROT_NONE */
static char *ro_page;		/* PROT_READ, zeroes */
static char *ff_page;		/* 0xff bytes: atoms with unknown flags */
static char *scratch;		/* buffers; followed by a PROT_NONE page */
#define SCRATCH	65536
static char *paths;		/* read-only, relative names */
static struct timespec *tss;	/* read-only, short or invalid sleeps */
#define NMASKS	4
static uint64_t *masks;		/* read-only: empty, full, two random */
static uint64_t (*psels)[2];	/* read-only: { &masks[i], 8 } */
#define NTS	8

static int pool[NPOOL];		/* the fds made at start */
static uint64_t aio_ctx;	/* io_setup() at start; 0 if there is none */
/*
 * $SYSLET_FUZZ_BLK: a block device (the scripts set up a loop device over
 * 4 MiB), read with O_DIRECT by lone pread64 atoms, which async_exec()
 * issues itself as async kiocbs (kernel/syslet/kio.c).
 */
static const char *blk_path;
static int blk_fd = -1;
#define BLK_BYTES	(4 << 20)

/*
 * The pump: a thread that keeps the pool's pipes moving (reads a little
 * from each, writes a little to each) through descriptions of its own
 * that do not block, every pump_ms.  Without it, an episode whose async
 * threads all block on empty pipes while its callers block on a full one
 * (pass-on-block finds no spare at max_threads) crawls at one step per
 * tick.  Some episodes run without it.
 */
#define NPUMP	8
static int pump_fd[NPUMP];	/* even: read ends, odd: write ends */
static int pump_ms;		/* 0: no pump */
static _Atomic int pump_stop;
static pthread_t pump_th;

struct ring {
	struct syslet_ring *r;
	size_t bytes;
	unsigned int n;
	int owner;		/* thread index that takes completions */
	int stable;		/* never mutilated: others may submit to it */
	int state;		/* owner only: 0 ok, 1 no access, 2 bad nr, 3 dead */
	int fixed_in;		/* ops until a mutilation is undone */
};

static struct ring rings[MAX_RINGS];
static int nrings;

/* chain table: state per user_data index */
enum { CH_FREE, CH_SUBMITTING, CH_EXPECTED, CH_DONE, CH_WRITTENOFF };

static _Atomic unsigned char ch_state[MAX_CHAINS];
static unsigned char ch_ring[MAX_CHAINS];
static unsigned char ch_sync[MAX_CHAINS];
static unsigned char ch_thr[MAX_CHAINS];	/* submitting thread */
static _Atomic unsigned int ch_next;
static uint64_t ud_magic;

static _Atomic int stop_all;		/* workers: stop submitting */
static _Atomic unsigned int limits_gen;	/* async_limits() sets begun + ended */
static long long step_until;		/* then stop stepping and drain */
static _Atomic int epipe_seen;
static char epipe_what[160];		/* the first such completion */
static volatile sig_atomic_t sigpipe_count, sigxfsz_count;

struct thr {
	int idx;
	struct rng rng;
	unsigned int quota;
	struct syslet_atom *atoms;
	uint64_t (*args)[6];
	int64_t *rets;
	unsigned int pos;
	int myrings[RINGS_PER];
	int nmy;
	pthread_t th;
	pid_t tid;		/* its TID, which must never change */
	int started, joined;
	struct syslet_ctx tctx;	/* its threadlets (libsyslet) */
	int tctx_state;		/* 0 none yet, 1 ready, -1 unavailable */
	unsigned int tl_inflight;
};

static struct thr thr[MAX_THREADS];
static char *stacks;

/* --- async_exec() from one known call site ------------------------------ */

extern char fuzz_exec_ip[];

/*
 * The one place atoms are submitted from: seccomp sees this address as the
 * instruction pointer of async_exec() and of every atom it submits.
 */
__attribute__((noinline)) static long fuzz_exec(const void *atom, void *ring,
						void *done, unsigned int flags)
{
	register long r10 __asm__("r10") = flags;
	long ret;

	__asm__ volatile("syscall\n\t"
			 ".globl fuzz_exec_ip\n"
			 "fuzz_exec_ip:"
			 : "=a"(ret)
			 : "0"((long)NR_async_exec), "D"(atom), "S"(ring),
			   "d"(done), "r"(r10)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* --- the system calls atoms make ---------------------------------------- */

enum kind { K_NONE, K_FD, K_BUF, K_LEN, K_OFF, K_OFFP, K_FLAGS, K_PATH,
	    K_TS, K_WHENCE, K_PIPEFD, K_FCNTL, K_ANY, K_MASK, K_SETSZ, K_PSEL,
	    K_MS, K_AIO };

struct spec {
	int nr;
	unsigned char k[6];
};

static const struct spec specs[] = {
	{ SYS_getpid, { 0 } },
	{ SYS_gettid, { 0 } },
	{ SYS_getppid, { 0 } },
	{ SYS_sched_yield, { 0 } },
	{ SYS_read, { K_FD, K_BUF, K_LEN } },
	{ SYS_read, { K_FD, K_BUF, K_LEN } },
	{ SYS_write, { K_FD, K_BUF, K_LEN } },
	{ SYS_write, { K_FD, K_BUF, K_LEN } },
	{ SYS_pread64, { K_FD, K_BUF, K_LEN, K_OFF } },
	{ SYS_pwrite64, { K_FD, K_BUF, K_LEN, K_OFF } },
	{ SYS_pipe2, { K_PIPEFD, K_FLAGS } },
	{ SYS_close, { K_FD } },
	{ SYS_lseek, { K_FD, K_OFF, K_WHENCE } },
	{ SYS_nanosleep, { K_TS, K_BUF } },
	{ SYS_openat, { K_FD, K_PATH, K_FLAGS, K_ANY } },
	{ SYS_splice, { K_FD, K_OFFP, K_FD, K_OFFP, K_LEN, K_FLAGS } },
	{ SYS_tee, { K_FD, K_FD, K_LEN, K_FLAGS } },
	{ SYS_dup, { K_FD } },
	{ SYS_fcntl, { K_FD, K_FCNTL, K_ANY } },
	{ SYS_eventfd2, { K_ANY, K_FLAGS } },
	{ SYS_clock_gettime, { K_ANY, K_BUF } },
	/* calls that install a temporary signal mask */
	{ SYS_ppoll, { K_BUF, K_LEN, K_TS, K_MASK, K_SETSZ } },
	{ SYS_pselect6, { K_LEN, K_BUF, K_BUF, K_BUF, K_TS, K_PSEL } },
	{ SYS_epoll_pwait, { K_FD, K_BUF, K_LEN, K_MS, K_MASK, K_SETSZ } },
	{ SYS_epoll_pwait2, { K_FD, K_BUF, K_LEN, K_TS, K_MASK, K_SETSZ } },
	{ SYS_epoll_create1, { K_FLAGS } },
	/* on an AIO context with nothing in flight: waits out its timeout */
	{ SYS_io_pgetevents, { K_AIO, K_LEN, K_LEN, K_BUF, K_TS, K_PSEL } },
	/* refused by the engine: must come back -EPERM, never run */
	{ SYS_exit_group, { K_ANY } },
	{ SYS_setuid, { K_ANY } },
	{ SYS_unshare, { K_ANY } },
	{ SYS_prctl, { K_ANY, K_ANY } },
	{ SYS_set_mempolicy, { K_ANY, K_BUF, K_ANY } },
	{ NR_async_exec, { K_BUF, K_BUF, K_BUF, K_ANY } },
	{ NR_async_wait, { K_BUF, K_ANY, K_BUF } },
	{ NR_async_cancel, { K_BUF, K_ANY, K_ANY } },
	{ NR_async_limits, { K_BUF, K_BUF } },
	/* past the table: -ENOSYS */
	{ 455, { 0 } },
	{ 0x40000001, { K_FD, K_BUF, K_LEN } },
	{ -1, { 0 } },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* cheap calls for very long and cyclic chains */
static const int cheap[] = { SYS_getpid, SYS_gettid, SYS_getppid, SYS_lseek,
			     SYS_close };

/* fcntl commands that may not send signals elsewhere */
static const int fcntls[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD,
	F_DUPFD_CLOEXEC, F_GETPIPE_SZ, F_SETPIPE_SZ, F_SETLK, F_GETLK,
	F_OFD_SETLKW, F_OFD_SETLK };

/* A pointer nobody may use: unmapped, kernel, non-canonical, ... */
static uint64_t bad_ptr(struct rng *r)
{
	switch (below(r, 8)) {
	case 0: return 0;
	case 1: return 8;
	case 2: return (uintptr_t)bad_page + below(r, 4096);
	case 3: return 0xffff888000000000ULL + (below(r, 1 << 20) << 3);
	case 4: return 0xffffffff81000000ULL;
	case 5: return 0x0000800000000000ULL;
	case 6: return ~0ULL - below(r, 64);
	default: return (uintptr_t)scratch + SCRATCH - below(r, 8);
	}
}

static uint64_t pick_fd(struct rng *r)
{
	switch (below(r, 20)) {
	case 0: return (uint64_t)-1;
	case 1: return below(r, 3);		/* /dev/null */
	case 2: return 1 << 30;
	case 3: return (uint64_t)AT_FDCWD;
	case 4: return 3 + below(r, 64);	/* whatever is there now */
	default: return pool[below(r, NPOOL)];
	}
}

static uint64_t value(struct rng *r, int k)
{
	static const uint64_t lens[] = { 0, 1, 7, 512, 4096, 65536, 1 << 20,
					 ~0ULL };
	static const uint64_t offs[] = { 0, 1, 4096, 1 << 20, 1ULL << 40,
					 ~0ULL, (uint64_t)-4096 };
	static const uint64_t flags[] = { 0, O_NONBLOCK, O_CLOEXEC,
		O_CREAT | O_RDWR, O_CREAT | O_RDWR | O_TRUNC,
		O_APPEND | O_WRONLY | O_CREAT, O_DIRECTORY, O_TMPFILE | O_RDWR,
		O_RDONLY, 4 /* SPLICE_F_NONBLOCK */ };
	static const uint64_t anys[] = { 0, 1, 2, 0x40, ~0ULL, 4096,
					 1ULL << 31, 0x1ff };

	switch (k) {
	case K_FD:
		return pick_fd(r);
	case K_BUF:
		if (chance(r, 120))
			return bad_ptr(r);
		if (chance(r, 30))
			return (uintptr_t)ro_page;
		return (uintptr_t)scratch + below(r, SCRATCH);
	case K_LEN:
		return lens[below(r, 8)];
	case K_OFF:
		return offs[below(r, 7)];
	case K_OFFP:
		if (chance(r, 700))
			return 0;
		if (chance(r, 300))
			return bad_ptr(r);
		return (uintptr_t)scratch + (below(r, SCRATCH / 8) << 3);
	case K_FLAGS:
		if (chance(r, 100))
			return (uint32_t)rnd(r) & ~(uint32_t)O_TMPFILE;
		return flags[below(r, 10)];
	case K_PATH:
		if (chance(r, 80))
			return bad_ptr(r);
		if (chance(r, 30))
			return (uintptr_t)ff_page;
		return (uintptr_t)paths + 16 * below(r, 8);
	case K_TS:
		if (chance(r, 60))
			return bad_ptr(r);
		return (uintptr_t)&tss[below(r, NTS)];
	case K_WHENCE:
		return chance(r, 50) ? 99 : below(r, 5);
	case K_PIPEFD:
		if (chance(r, 100))
			return chance(r, 500) ? bad_ptr(r) : (uintptr_t)ro_page;
		return (uintptr_t)scratch + (below(r, SCRATCH / 8) << 3);
	case K_FCNTL:
		return fcntls[below(r, sizeof(fcntls) / sizeof(fcntls[0]))];
	case K_ANY:
		if (chance(r, 100))
			return (uintptr_t)scratch + (below(r, SCRATCH / 8) << 3);
		return anys[below(r, 8)];
	case K_MASK:	/* NULL, a mask (empty, full, random), or bad */
		if (chance(r, 200))
			return 0;
		if (chance(r, 50))
			return bad_ptr(r);
		return (uintptr_t)(masks + below(r, NMASKS));
	case K_SETSZ:
		return chance(r, 900) ? 8 : below(r, 17);
	case K_PSEL:	/* pselect6's { mask pointer, size } */
		if (chance(r, 100))
			return chance(r, 500) ? 0 : bad_ptr(r);
		return (uintptr_t)(psels + below(r, NMASKS));
	case K_MS:	/* epoll_pwait's timeout: short, none, or forever */
		return (uint64_t)(int64_t)(chance(r, 100) ? -1 : (int)below(r, 30));
	case K_AIO:	/* the AIO context, or not one */
		if (chance(r, 100))
			return anys[below(r, 8)];
		return aio_ctx;
	}
	return 0;
}

/* --- building chains ----------------------------------------------------- */

static uint32_t stop_flags(struct rng *r)
{
	uint32_t f = 0;

	if (chance(r, 120))
		f |= SYSLET_STOP_ON_NONZERO;
	if (chance(r, 120))
		f |= SYSLET_STOP_ON_ZERO;
	if (chance(r, 150))
		f |= SYSLET_STOP_ON_NEGATIVE;
	if (chance(r, 100))
		f |= SYSLET_STOP_ON_NON_POSITIVE;
	if (chance(r, 150))
		f |= SYSLET_SKIP_TO_NEXT_ON_STOP;
	if (chance(r, 8))
		f |= 1u << (9 + below(r, 23));		/* unknown bit */
	return f;
}

/*
 * Lays out a chain of @len atoms at t->atoms[t->pos...] and returns its
 * head; *@cyclic is set if it loops.
 */
static struct syslet_atom *build(struct thr *t, unsigned int len, int cheap_only,
				 int cyclic)
{
	struct rng *r = &t->rng;
	struct syslet_atom *a;
	unsigned int base;

	if (t->pos + len + 1 > ARENA)
		t->pos = 0;
	base = t->pos;
	t->pos += len;
	a = &t->atoms[base];
	for (unsigned int i = 0; i < len; i++) {
		unsigned int j = base + i;
		struct syslet_atom *x = &t->atoms[j];
		const struct spec *sp;
		struct spec tmp;

		memset(x, 0, sizeof(*x));
		if (cheap_only) {
			memset(&tmp, 0, sizeof(tmp));
			tmp.nr = cheap[below(r, sizeof(cheap) / sizeof(cheap[0]))];
			/* lseek(fd, 0, 0); close(-1) */
			tmp.k[0] = tmp.nr == SYS_lseek ? K_FD : K_NONE;
			sp = &tmp;
		} else {
			sp = &specs[below(r, NSPECS)];
		}
		x->nr = (uint32_t)sp->nr;
		x->flags = stop_flags(r);
		for (int k = 0; k < 6; k++) {
			if (sp->k[k] == K_NONE && !chance(r, 20)) {
				t->args[j][k] = 0;
				x->arg_ptr[k] = chance(r, 500) ? 0 :
					(uintptr_t)&t->args[j][k];
				if (sp->nr == SYS_close && cheap_only) {
					t->args[j][k] = (uint64_t)-1;
					x->arg_ptr[k] = (uintptr_t)&t->args[j][k];
				}
				continue;
			}
			if (i && chance(r, 80)) {		/* data flow */
				x->arg_ptr[k] = (uintptr_t)&t->rets[j - 1 - below(r, i)];
				continue;
			}
			if (chance(r, 15)) {
				x->arg_ptr[k] = bad_ptr(r);
				continue;
			}
			if (chance(r, 10)) {
				x->arg_ptr[k] = (uintptr_t)ff_page + below(r, 4089);
				continue;
			}
			t->args[j][k] = value(r, sp->k[k] ? sp->k[k] : K_ANY);
			x->arg_ptr[k] = (uintptr_t)&t->args[j][k];
		}
		if (chance(r, 40))
			x->ret_ptr = 0;
		else if (chance(r, 30))
			x->ret_ptr = chance(r, 500) ? (uintptr_t)ro_page : bad_ptr(r);
		else if (chance(r, 15))		/* self-modifying */
			x->ret_ptr = (uintptr_t)&t->atoms[base + below(r, len)] +
				     8 * below(r, 10);
		else
			x->ret_ptr = (uintptr_t)&t->rets[j];
		t->rets[j] = 0x5a5a5a5a;
		x->next = i + 1 < len ? (uintptr_t)&t->atoms[j + 1] : 0;
		if (chance(r, 20))
			x->next = bad_ptr(r);
		x->user_data = rnd(r);
	}
	if (cyclic)
		t->atoms[base + len - 1].next =
			(uintptr_t)&t->atoms[base + below(r, len)];
	return a;
}

/* --- rings ---------------------------------------------------------------- */

static int ring_make(int owner, int stable, unsigned int n)
{
	struct ring *g = &rings[nrings];
	size_t bytes = (SYSLET_RING_BYTES(n) + 4095) & ~4095UL;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap ring: %s", strerror(errno));
	g->r = p;
	g->bytes = bytes;
	g->n = n;
	g->r->size = sizeof(*g->r);
	g->r->nr_entries = n;
	g->owner = owner;
	g->stable = stable;
	return nrings++;
}

static void check_comp(const struct syslet_completion *c, int ring, int sync)
{
	uint64_t idx = c->user_data & 0xffffffffULL;
	unsigned char st;

	if ((c->user_data >> 32) != ud_magic || idx >= MAX_CHAINS)
		fail("ring %d: completion with unknown user_data %#llx (status %lld)",
		     ring, (unsigned long long)c->user_data, (long long)c->status);
	if (c->flags & ~(SYSLET_COMP_CANCELED | SYSLET_COMP_SYNC))
		fail("completion %#llx: unknown flags %#x",
		     (unsigned long long)c->user_data, c->flags);
	if ((c->flags & SYSLET_COMP_CANCELED) && c->status != -ECANCELED)
		fail("completion %#llx: CANCELED with status %lld",
		     (unsigned long long)c->user_data, (long long)c->status);
	if (c->nr_atoms > SYSLET_MAX_ATOMS)
		fail("completion %#llx: %u atoms", (unsigned long long)c->user_data,
		     c->nr_atoms);
	if (c->status < -4095)
		fail("completion %#llx: status %lld", (unsigned long long)c->user_data,
		     (long long)c->status);
	if (ring < 0) {		/* a SYNC chain's done, in the caller */
		if (c->status == -EPIPE && !epipe_seen) {
			snprintf(epipe_what, sizeof(epipe_what),
				 "a chain completed in the caller, %u atoms",
				 c->nr_atoms);
			epipe_seen = 1;
		}
		return;
	}
	/*
	 * An -EPIPE came with a SIGPIPE for the submitter.  Only thread 0
	 * is sure to live on and take it: a thread that exits right after
	 * its submission drops a signal still pending on it.
	 */
	if (c->status == -EPIPE && ch_thr[idx] == 0 && !epipe_seen) {
		snprintf(epipe_what, sizeof(epipe_what),
			 "chain %#llx on ring %d, mode %d, flags %#x, %u atoms",
			 (unsigned long long)idx, ring, ch_sync[idx], c->flags,
			 c->nr_atoms);
		epipe_seen = 1;
	}
	if (ch_sync[idx] < 2 && !!(c->flags & SYSLET_COMP_SYNC) != ch_sync[idx])
		fail("completion %#llx: SYNC flag %d for a %s chain",
		     (unsigned long long)c->user_data,
		     !!(c->flags & SYSLET_COMP_SYNC), ch_sync[idx] ? "sync" : "queued");
	st = atomic_load(&ch_state[idx]);
	if (st == CH_EXPECTED) {
		if (ch_ring[idx] != ring)
			fail("completion %#llx on ring %d, submitted to ring %d",
			     (unsigned long long)c->user_data, ring, ch_ring[idx]);
		atomic_store(&ch_state[idx], CH_DONE);
	} else if (st != CH_WRITTENOFF) {
		fail("ring %d: completion %#llx in state %d (duplicate or never submitted)",
		     ring, (unsigned long long)c->user_data, st);
	}
	sh->completions++;
	(void)sync;
}

/* Takes every completion ready on ring @i (its owner only). */
static void reap(int i)
{
	struct ring *g = &rings[i];
	struct timespec zero = { 0, 0 };
	struct syslet_completion c;

	if (g->state)
		return;
	/* min 0: flushes the overflow into the ring, returns at once */
	syscall(NR_async_wait, g->r, 0, &zero, NULL, 8, 0);
	while (ring_pop(g->r, &c))
		check_comp(&c, i, 0);
}

static void write_off(int i)
{
	for (unsigned int k = 0; k < MAX_CHAINS; k++) {
		unsigned char exp = CH_EXPECTED;

		if (ch_ring[k] == i &&
		    atomic_compare_exchange_strong(&ch_state[k], &exp, CH_WRITTENOFF))
			sh->writtenoff++;
	}
}

/* Makes ring @i unusable for a while, or for good. */
static void mutilate(struct thr *t, int i)
{
	struct ring *g = &rings[i];

	if (g->stable || g->state)
		return;
	switch (below(&t->rng, 5)) {
	case 0:		/* inaccessible for a while */
		mprotect(g->r, g->bytes, PROT_NONE);
		g->state = 1;
		break;
	case 1:		/* read-only for a while */
		mprotect(g->r, g->bytes, PROT_READ);
		g->state = 1;
		break;
	case 2:		/* a bad header for a while */
		g->r->nr_entries = 3;
		g->state = 2;
		break;
	case 3:		/* munmapped with chains in flight: gone */
		g->state = 3;
		write_off(i);
		munmap(g->r, g->bytes);
		return;
	default:	/* a garbage tail: completions may be overwritten */
		g->state = 3;
		write_off(i);
		g->r->tail = (uint32_t)rnd(&t->rng);
		return;
	}
	g->fixed_in = 1 + below(&t->rng, 20);
}

static void repair(int i)
{
	struct ring *g = &rings[i];

	if (g->state == 1)
		mprotect(g->r, g->bytes, PROT_READ | PROT_WRITE);
	else if (g->state == 2)
		g->r->nr_entries = g->n;
	if (g->state == 1 || g->state == 2)
		g->state = 0;
}

/* --- one submission ------------------------------------------------------ */

/* Makes @head (one atom) a pread64 of the block device, or nearly one. */
static void direct_read(struct thr *t, struct syslet_atom *head)
{
	static const uint64_t lens[] = { 4096, 8192, 512, 65536, 1, 0,
					 1 << 20, ~0ULL };
	struct rng *r = &t->rng;
	unsigned int j = (unsigned int)(head - t->atoms);
	uint64_t *a = t->args[j];

	a[0] = chance(r, 900) ? (uint64_t)blk_fd : pick_fd(r);
	switch (below(r, 10)) {
	case 0: a[1] = bad_ptr(r); break;
	case 1: a[1] = (uintptr_t)ro_page; break;
	case 2: a[1] = (uintptr_t)scratch + 1 + below(r, 4000); break;
	default: a[1] = (uintptr_t)scratch + (below(r, SCRATCH / 4096) << 12);
	}
	a[2] = lens[below(r, 8)];
	switch (below(r, 10)) {
	case 0: a[3] = BLK_BYTES - (chance(r, 500) ? 4096 : 0); break;
	case 1: a[3] = (uint64_t)-4096; break;
	case 2: a[3] = 1 + below(r, 4095); break;
	case 3: a[3] = 1ULL << 40; break;
	default: a[3] = (uint64_t)below(r, BLK_BYTES / 4096) << 12;
	}
	head->nr = SYS_pread64;
	for (int k = 0; k < 6; k++)
		head->arg_ptr[k] = k < 4 ? (uintptr_t)&a[k] : 0;
	head->next = 0;
}

static void submit(struct thr *t)
{
	struct rng *r = &t->rng;
	struct syslet_completion done, *donep = NULL;
	struct syslet_atom *head;
	unsigned int len, idx;
	int ri = -1, sync = 0, tracked = 0, cheap_only = 0, cyclic = 0;
	uint32_t mode;
	void *ring = NULL, *atom;
	unsigned int xflags;
	long ret;

	int kio = blk_fd >= 0 && chance(r, 60);

	switch (kio ? 100 : below(r, 100)) {
	case 0 ... 1:
		len = 1000 + below(r, 4000);
		cheap_only = 1;
		break;
	case 2 ... 4:
		len = 1 + below(r, 8);
		cheap_only = 1;
		cyclic = 1;
		break;
	case 5 ... 14:
		len = 7 + below(r, 58);
		break;
	default:
		len = 1 + below(r, 6);
	}
	if (kio)
		len = 1;
	head = build(t, len, cheap_only, cyclic);
	if (kio)
		direct_read(t, head);

	/* sync: 0 SYSLET_ASYNC, 1 SYSLET_SYNC, 2 pass-on-block (either) */
	switch (kio && chance(r, 800) ? 40 : below(r, 100)) {
	case 0 ... 39: mode = 0; sync = 2; break;
	case 40 ... 64: mode = SYSLET_ASYNC; break;
	case 65 ... 79: mode = SYSLET_SYNC; sync = 1; break;
	case 80 ... 94:
		mode = SYSLET_NO_COMPLETE;
		switch (below(r, 3)) {
		case 0: mode |= SYSLET_ASYNC; break;
		case 1: mode |= SYSLET_SYNC; sync = 1; break;
		default: sync = 2;
		}
		break;
	case 95 ... 97: mode = SYSLET_SYNC | SYSLET_ASYNC; break;
	default: mode = 1u << (9 + below(r, 23));
	}
	head->flags |= mode;
	if (sync && chance(r, sync == 1 ? 600 : 250))
		donep = chance(r, 50) ? (void *)(uintptr_t)bad_ptr(r) : &done;

	/* which ring */
	switch (below(r, 100)) {
	case 0 ... 2:
		ring = NULL;
		break;
	case 3 ... 5:
		ring = (void *)(uintptr_t)bad_ptr(r);
		break;
	case 6 ... 7:
		ring = (char *)rings[t->myrings[0]].r + 8;	/* misaligned */
		break;
	case 8 ... 10: {	/* someone else's stable ring */
		int o = below(r, MAX_THREADS);

		ri = thr[o].nmy ? thr[o].myrings[0] : t->myrings[0];
		ring = rings[ri].r;
		break;
	}
	default:
		ri = t->myrings[below(r, t->nmy)];
		ring = rings[ri].r;
	}
	if (ri >= 0 && rings[ri].state == 3) {
		/* dead: its address may hold anything now; no tracking */
		ri = -1;
	}

	atom = head;
	if (chance(r, 30))
		atom = chance(r, 500) ? (void *)(uintptr_t)bad_ptr(r) :
			(void *)(ff_page + below(r, 4000));

	idx = atomic_fetch_add(&ch_next, 1);
	if (idx >= MAX_CHAINS)
		fail("more than %d chains in one episode", MAX_CHAINS);
	head->user_data = (ud_magic << 32) | idx;
	ch_ring[idx] = ri < 0 ? 0xff : (unsigned char)ri;
	ch_sync[idx] = (unsigned char)sync;
	ch_thr[idx] = (unsigned char)t->idx;
	/* the completion may be posted (and reaped) before we return */
	/*
	 * A read-only ring takes chains: they complete once it is writable.
	 * A SYNC chain with done posts nothing; a pass-on-block chain with
	 * done posts only if it was handed off.
	 */
	tracked = ri >= 0 && rings[ri].state != 3 && atom == head &&
		  !(mode & SYSLET_NO_COMPLETE) && !(donep && sync == 1);
	if (tracked)
		atomic_store(&ch_state[idx], CH_EXPECTED);

	sh->calls++;
	/*
	 * Unknown exec flags; POST and the threadlet flags with an atom are
	 * refused.  SYSLET_EXEC_SPARE with all three NULL would park this
	 * thread as a spare: an unknown bit instead.
	 */
	xflags = chance(r, 5) ? 1u << below(r, 8) : 0;
	if (xflags == SYSLET_EXEC_SPARE && !atom && !ring && !donep)
		xflags = 1u << 7;
	/*
	 * POST without an atom posts *done as it is: the completion of an
	 * earlier chain of this thread, left in this stack slot, would be
	 * posted again, which the program asked for and which would read as
	 * a duplicate (random_post() posts tracked ones).  An unknown bit
	 * instead.
	 */
	if (xflags == SYSLET_EXEC_POST && !atom)
		xflags = 1u << 7;
	ret = fuzz_exec(atom, ring, donep, xflags);
	if (ret == SYSLET_QUEUED || ret == SYSLET_DONE) {
		unsigned char exp = CH_EXPECTED;

		sh->accepted++;
		if (kio)
			sh->direct++;
		if (ret == SYSLET_DONE && !sync)
			fail("SYSLET_ASYNC chain %#x returned DONE", idx);
		if (ret == SYSLET_QUEUED && sync == 1)
			fail("SYNC chain %#x returned QUEUED", idx);
		if (ret == SYSLET_DONE && donep == &done)
			check_comp(&done, -1, 1);
		/* completed in the caller into done: nothing posted */
		if (tracked && ret == SYSLET_DONE && donep &&
		    !atomic_compare_exchange_strong(&ch_state[idx], &exp, CH_FREE))
			fail("chain %#x completed into done and on the ring", idx);
		return;
	}
	if (ret != -1)
		fail("async_exec returned %ld", ret);
	switch (errno) {
	case EAGAIN:
		sh->eagain++;
		/* fall through */
	case EINVAL: case EFAULT: case ENOMEM:
		break;
	case EOVERFLOW:
		/*
		 * It ran and its completion was refused: only for a done
		 * made unwritable after the run, never for a ring (a full
		 * or read-only one parks it on the overflow list)
		 */
		if (tracked)
			fail("chain %#x ran, its completion refused", idx);
		break;
	case EINTR:	/* the first atom, in the caller, was interrupted */
		if (!sync)
			fail("SYSLET_ASYNC chain %#x failed with EINTR", idx);
		break;
	default:
		fail("async_exec failed with errno %d (%s)", errno, strerror(errno));
	}
	if (tracked) {
		unsigned char exp = CH_EXPECTED;

		/* not posted: nothing to come */
		if (!atomic_compare_exchange_strong(&ch_state[idx], &exp, CH_FREE))
			fail("chain %#x failed with %d but completed", idx, errno);
	}
}

/* --- other operations ----------------------------------------------------- */

/* SYSLET_EXEC_POST: a completion from user space, through the same ring */
static void random_post(struct thr *t)
{
	struct rng *r = &t->rng;
	struct syslet_completion done;
	int ri = t->myrings[below(r, t->nmy)], tracked;
	void *ring = rings[ri].r, *donep = &done;
	unsigned int idx;
	long ret;

	if (chance(r, 50))
		ring = (void *)(uintptr_t)bad_ptr(r);
	if (chance(r, 50))
		donep = (void *)(uintptr_t)bad_ptr(r);
	idx = atomic_fetch_add(&ch_next, 1);
	if (idx >= MAX_CHAINS)
		fail("more than %d chains in one episode", MAX_CHAINS);
	memset(&done, 0, sizeof(done));
	done.user_data = (ud_magic << 32) | idx;
	done.status = -(long)below(r, 200);
	if (done.status == -EPIPE)	/* that would claim a SIGPIPE */
		done.status = -EPIPE - 1;
	ch_ring[idx] = (unsigned char)ri;
	ch_sync[idx] = 2;
	ch_thr[idx] = (unsigned char)t->idx;
	tracked = ring == rings[ri].r && donep == &done && rings[ri].state != 3;
	if (tracked)
		atomic_store(&ch_state[idx], CH_EXPECTED);
	sh->calls++;
	ret = fuzz_exec(chance(r, 30) ? (void *)t->atoms : NULL, ring, donep,
			SYSLET_EXEC_POST);
	if (ret == SYSLET_DONE) {
		sh->accepted++;
		return;
	}
	/* EAGAIN: the ring cannot take it and max_chains are in flight */
	if (ret != -1 || (errno != EINVAL && errno != EFAULT && errno != ENOMEM &&
			  errno != EAGAIN))
		fail("async_exec(POST) returned %ld, errno %d", ret, errno);
	if (tracked) {
		unsigned char exp = CH_EXPECTED;

		if (!atomic_compare_exchange_strong(&ch_state[idx], &exp, CH_FREE))
			fail("post %#x failed with %d but completed", idx, errno);
	}
}

/*
 * One tracked SYSLET_EXEC_POST of a valid completion to ring @ri: 1 if
 * it was accepted, 0 if refused with EAGAIN (the ring full and max_chains
 * in flight); any other result fails.
 */
static int flood_post(struct thr *t, int ri)
{
	struct syslet_completion done;
	unsigned int idx = atomic_fetch_add(&ch_next, 1);
	unsigned char exp = CH_EXPECTED;
	long ret;

	if (idx >= MAX_CHAINS)
		fail("more than %d chains in one episode", MAX_CHAINS);
	memset(&done, 0, sizeof(done));
	done.user_data = (ud_magic << 32) | idx;
	done.status = -(long)below(&t->rng, 200);
	if (done.status == -EPIPE)
		done.status = -EPIPE - 1;
	ch_ring[idx] = (unsigned char)ri;
	ch_sync[idx] = 2;
	ch_thr[idx] = (unsigned char)t->idx;
	atomic_store(&ch_state[idx], CH_EXPECTED);
	sh->calls++;
	ret = fuzz_exec(NULL, rings[ri].r, &done, SYSLET_EXEC_POST);
	if (ret == SYSLET_DONE) {
		sh->accepted++;
		return 1;
	}
	if (ret != -1 || errno != EAGAIN)
		fail("async_exec(POST) to a full ring returned %ld, errno %d",
		     ret, errno);
	if (!atomic_compare_exchange_strong(&ch_state[idx], &exp, CH_FREE))
		fail("post %#x failed with %d but completed", idx, errno);
	return 0;
}

/*
 * A flood of posts to one of this thread's rings, which nobody reaps
 * meanwhile (its owner floods it), at a low max_chains M: the posts fill
 * the F free entries, then wait on the overflow list, which max_chains
 * bounds (each holds one of M, as every chain in flight does), so at most
 * F + M of F + M + 20 posts may be accepted and the rest fail with EAGAIN.
 * Checked unless another thread set limits meanwhile; then max_chains is
 * put back.  Without the bound, kernel memory grows with every post.
 */
static void post_flood(struct thr *t)
{
	struct rng *r = &t->rng;
	struct syslet_limits was, set;
	unsigned int m = 16 + below(r, 48), free_n, posts, ok = 0, no = 0;
	unsigned int gen, i;
	int ri = -1;

	for (int k = 0; k < t->nmy; k++) {
		int j = t->myrings[k];

		if (!rings[j].state && (ri < 0 || rings[j].n < rings[ri].n))
			ri = j;
	}
	if (ri < 0)
		return;
	memset(&was, 0, sizeof(was));
	was.size = sizeof(was);
	if (async_limits(NULL, &was))
		fail("async_limits(get): %s", strerror(errno));
	memset(&set, 0, sizeof(set));
	set.size = sizeof(set);
	set.max_chains = m;
	atomic_fetch_add(&limits_gen, 1);
	if (async_limits(&set, NULL))
		fail("async_limits(max_chains %u): %s", m, strerror(errno));
	gen = atomic_fetch_add(&limits_gen, 1) + 1;
	/* head: the kernel's; tail: ours, not moved during the flood */
	free_n = rings[ri].n - (__atomic_load_n(&rings[ri].r->head,
						__ATOMIC_ACQUIRE) -
				rings[ri].r->tail);
	posts = free_n + m + 20;
	for (i = 0; i < posts && !atomic_load(&stop_all); i++) {
		if (flood_post(t, ri))
			ok++;
		else
			no++;
	}
	sh->flood_posts += ok + no;
	sh->flood_refused += no;
	if (atomic_load(&limits_gen) != gen) {
		sh->flood_unchecked++;	/* someone else set limits */
	} else {
		if (ok > free_n + m)
			fail("POST flood on ring %d: %u of %u posts accepted with "
			     "%u free entries and max_chains %u (overflow %u)",
			     ri, ok, i, free_n, m, rings[ri].r->overflow);
		if (i == posts) {
			if (!(rings[ri].r->kflags & SYSLET_RING_OVERFLOW) &&
			    ok > free_n)
				fail("POST flood on ring %d: %u accepted past a full "
				     "ring, but no SYSLET_RING_OVERFLOW", ri,
				     ok - free_n);
			sh->floods++;
		}
	}
	set.max_chains = was.max_chains;
	atomic_fetch_add(&limits_gen, 1);
	async_limits(&set, NULL);
	atomic_fetch_add(&limits_gen, 1);
}

/* --- real-time signals to the process: each is handled exactly once ------ */

#define RTSIG	(SIGRTMIN + 1)
static _Atomic unsigned int rt_sent, rt_handled;

static void on_rt(int sig)
{
	(void)sig;
	rt_handled++;
	sh->rt_delivered++;	/* lock-free: async-signal-safe */
}

static void rt_signal(void)
{
	union sigval v = { 0 };

	/* process-directed: any thread not blocking it may take it */
	if (!sigqueue(getpid(), RTSIG, v)) {
		rt_sent++;
		sh->rt_sent++;
	}
}

/* after the drain: no async thread may have eaten one */
static void rt_check(void)
{
	long long until = now_ms() + 2000;

	while (rt_handled != rt_sent && now_ms() < until)
		usleep(1000);
	if (rt_handled != rt_sent)
		fail("%u real-time signals sent to the process, %u handled",
		     rt_sent, rt_handled);
	sh->rtsigs += rt_sent;
}

/*
 * In a forked process of uid 1000 whose RLIMIT_NPROC leaves no room for
 * an async thread: SYSLET_ASYNC chains while another thread cancels
 * them.  Each submission fails with EAGAIN or, cancelled while
 * async_exec() tried to make its thread, completes once with -ECANCELED.
 */
static struct syslet_ring *np_ring;
static _Atomic int np_stop;

static void *np_cancel(void *arg)
{
	(void)arg;
	while (!atomic_load(&np_stop))
		syscall(NR_async_cancel, np_ring, 0x5a5aULL, 0, 0L, 0L, 0L);
	return NULL;
}

/* Why a low RLIMIT_NPROC run could not start (its exit status - 10). */
static const char *const np_why[] = { "not root", "pipe", "setresgid(1000)",
	"setresuid(1000)", "pthread_create", "setrlimit(RLIMIT_NPROC, 2)" };

static void nproc_run(void)
{
	struct rlimit rl = { 2, 2 };	/* this thread and the canceller */
	struct syslet_completion c;
	struct syslet_atom a;
	uint64_t fd, buf, len = 1;
	unsigned int queued = 0, got = 0, eagain = 0;
	int p[2], st, e;
	pthread_t th;
	pid_t pid;
	char ch;

	pid = fork();
	if (pid < 0)
		fail("low RLIMIT_NPROC run: fork: %s", strerror(errno));
	if (pid) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		e = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (e == 0)
			sh->nproc_runs++;
		else if (e == 10)	/* as a user: nothing to try */
			sh->np_notroot++;
		else if (e > 10 && e <= 15)
			fail("low RLIMIT_NPROC run could not start: %s: %s",
			     np_why[e - 10], strerror(sh->np_errno));
		else
			fail("low RLIMIT_NPROC run: status %#x", st);
		return;
	}
	if (geteuid() != 0)
		_exit(10);
	if (pipe(p))
		goto setup;
	if (setresgid(1000, 1000, 1000)) {
		e = 12;
		goto out;
	}
	if (setresuid(1000, 1000, 1000)) {
		e = 13;
		goto out;
	}
	np_ring = calloc(1, SYSLET_RING_BYTES(512) + 64);
	np_ring = (void *)(((uintptr_t)np_ring + 63) & ~63UL);
	np_ring->size = sizeof(*np_ring);
	np_ring->nr_entries = 512;
	if ((errno = pthread_create(&th, NULL, np_cancel, NULL))) {
		e = 14;
		goto out;
	}
	if (setrlimit(RLIMIT_NPROC, &rl)) {
		e = 15;
		goto out;
	}
	fd = (uint64_t)p[0];
	buf = (uintptr_t)&ch;
	memset(&a, 0, sizeof(a));
	a.flags = SYSLET_ASYNC;
	a.nr = SYS_read;
	a.arg_ptr[0] = (uintptr_t)&fd;
	a.arg_ptr[1] = (uintptr_t)&buf;
	a.arg_ptr[2] = (uintptr_t)&len;
	a.user_data = 0x5a5a;
	for (int i = 0; i < 300; i++) {
		long ret = fuzz_exec(&a, np_ring, NULL, 0);

		if (ret == SYSLET_QUEUED)
			queued++;
		else if (ret != -1 || errno != EAGAIN)
			_exit(2);
		else
			eagain++;
		while (ring_pop(np_ring, &c))
			if (c.status != -ECANCELED || got++ > queued)
				_exit(3);
	}
	atomic_store(&np_stop, 1);
	pthread_join(th, NULL);
	/* whatever was queued was cancelled: nothing else could run it */
	while (got < queued && ring_get(np_ring, &c))
		if (c.status != -ECANCELED || got++ > queued)
			_exit(4);
	sh->np_eagain += eagain;
	sh->np_cancelled += got;
	_exit(got == queued && !limits_now().nr_chains ? 0 : 5);
setup:
	e = 11;
out:
	sh->np_errno = errno;
	_exit(e);
}

/*
 * Threadlets through libsyslet: in the caller until they sleep, then
 * handed on to a spare (or on a library thread when none is parked).
 * Their functions are bounded, so an episode still ends by itself.
 */
#define TL_MAGIC	0x7e7e000000000000ULL

static long tl_quick(void *arg)
{
	(void)arg;
	return syscall(SYS_getppid);
}

static long tl_sleep(void *arg)
{
	struct timespec ts = { 0, (long)(uintptr_t)arg };

	/* the periodic SIGUSR1 may cut it short before a hand-off */
	if (nanosleep(&ts, NULL))
		return errno == EINTR ? -EINTR : -1000;
	return 0;
}

static void tl_reap(struct thr *t)
{
	struct syslet_completion *c;

	while (syslet_peek_completion(&t->tctx, &c) == 0) {
		if ((c->user_data & 0xffff000000000000ULL) != TL_MAGIC)
			fail("threadlet completion with user_data %#llx",
			     (unsigned long long)c->user_data);
		if (c->user_data & 1 ? c->status != getppid() :
		    c->status != 0 && c->status != -EINTR)
			fail("threadlet %#llx returned %lld",
			     (unsigned long long)c->user_data,
			     (long long)c->status);
		sh->threadlets++;
		if (!(c->flags & SYSLET_COMP_SYNC))
			sh->tl_handed++;
		syslet_cq_advance(&t->tctx, 1);
		t->tl_inflight--;
	}
}

static void random_threadlet(struct thr *t)
{
	struct rng *r = &t->rng;
	uint64_t ud;
	int ret;

	if (!t->tctx_state)
		t->tctx_state = syslet_ctx_init(&t->tctx, 64,
						SYSLET_CTX_KERNEL) ? -1 : 1;
	if (t->tctx_state < 0)
		return;
	tl_reap(t);
	if (t->tl_inflight >= 256)
		return;
	ud = TL_MAGIC | ((uint64_t)below(r, 1 << 20) << 1);
	sh->calls++;
	if (chance(r, 2))
		ret = syslet_threadlet(&t->tctx, tl_quick, NULL, ud | 1);
	else
		ret = syslet_threadlet(&t->tctx, tl_sleep,
				       (void *)(uintptr_t)below(r, 2000000), ud);
	if (ret == 0) {
		sh->accepted++;
		t->tl_inflight++;
	} else if (ret != -EAGAIN && ret != -ENOMEM) {
		fail("syslet_threadlet returned %d", ret);
	}
	tl_reap(t);
}

static void random_cancel(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned int n = atomic_load(&ch_next);
	uint64_t ud = (ud_magic << 32) | (n ? n - 1 - below(r, n < 64 ? n : 64) : 0);
	void *ring = rings[t->myrings[below(r, t->nmy)]].r;
	unsigned int flags = chance(r, 200) ? SYSLET_CANCEL_ALL : 0;

	if (chance(r, 250))
		flags |= SYSLET_CANCEL_QUEUED;
	if (chance(r, 50))
		flags |= 1u << below(r, 32);
	if (chance(r, 50))
		ring = (void *)(uintptr_t)bad_ptr(r);
	if (chance(r, 50))
		ud = rnd(r);
	sh->cancels++;
	/* EALREADY only says "it has started" to SYSLET_CANCEL_QUEUED */
	if (syscall(NR_async_cancel, ring, ud, flags, 0L, 0L, 0L) < 0 &&
	    errno == EALREADY &&
	    (!(flags & SYSLET_CANCEL_QUEUED) || (flags & SYSLET_CANCEL_ALL)))
		fail("async_cancel(flags %#x) failed with EALREADY", flags);
}

/*
 * async_wait() with its flags, on ring @i (this thread's, in a good
 * state): SYSLET_WAIT_HEAD from a stale head (ends at once) or the
 * current one (until a completion is posted, or the timeout);
 * SYSLET_WAIT_RESTART untimed, for entries or for the head to move, which
 * the thread's 100 ms tick ends if nothing else does (its handler has no
 * SA_RESTART: -EINTR), while the rt signals sent to the process (no
 * SA_RESTART either) and hand-offs happen around it; and the flag
 * combinations the kernel must refuse.
 */
static void flags_wait(struct thr *t, int i)
{
	static const int ok_errno[] = { EINTR, ETIME, ENOMEM };
	struct rng *r = &t->rng;
	struct timespec ts = { 0, (long)below(r, 3) * 1000000 };
	struct syslet_ring *ring = rings[i].r;
	unsigned int head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
	unsigned int flags, min;
	void *tsp = NULL;
	sigset_t set;
	bool bad = false;
	long ret;

	switch (below(r, 6)) {
	case 0:
		flags = SYSLET_WAIT_HEAD;
		min = head - 1 - (unsigned int)below(r, 100);
		tsp = chance(r, 500) ? &ts : NULL;
		break;
	case 1:
		flags = SYSLET_WAIT_HEAD;
		min = head;
		tsp = &ts;
		break;
	case 2:
		flags = SYSLET_WAIT_RESTART;
		min = 1 + (unsigned int)below(r, 2);
		break;
	case 3:
		flags = SYSLET_WAIT_RESTART | SYSLET_WAIT_HEAD;
		min = head;
		break;
	case 4:		/* refused: a restart would start the timeout over */
		flags = SYSLET_WAIT_RESTART | (chance(r, 500) ? SYSLET_WAIT_HEAD : 0);
		min = 1;
		tsp = &ts;
		bad = true;
		break;
	default:	/* refused: the mask would be restored at the restart */
		flags = SYSLET_WAIT_RESTART;
		min = 1;
		sigemptyset(&set);
		bad = true;
		break;
	}
	ret = syscall(NR_async_wait, ring, min, tsp, bad && !tsp ? &set : NULL,
		      8, flags);
	if (bad && (ret != -1 || errno != EINVAL))
		fail("async_wait(flags %#x) with a %s: %ld (%s), not EINVAL",
		     flags, tsp ? "timeout" : "sigmask", ret,
		     ret < 0 ? strerror(errno) : "no error");
	if (!bad && ret < 0) {
		unsigned int k;

		for (k = 0; k < sizeof(ok_errno) / sizeof(ok_errno[0]); k++)
			if (errno == ok_errno[k])
				break;
		if (k == sizeof(ok_errno) / sizeof(ok_errno[0]))
			fail("async_wait(flags %#x): %s", flags, strerror(errno));
	}
	if (!bad)
		sh->flag_waits++;
	reap(i);
}

static void random_wait(struct thr *t)
{
	struct rng *r = &t->rng;
	struct timespec ts = { 0, (long)below(r, 3) * 1000000 };
	int i = t->myrings[below(r, t->nmy)];
	void *ring = rings[i].r;
	void *tsp = &ts, *mask = NULL;
	sigset_t set;
	size_t sz = 8;

	if (rings[i].state)
		return;
	if (chance(r, 100))
		tsp = (void *)(uintptr_t)bad_ptr(r);
	if (chance(r, 100)) {
		sigemptyset(&set);
		mask = chance(r, 500) ? (void *)&set : (void *)(uintptr_t)bad_ptr(r);
		if (chance(r, 300))
			sz = below(r, 300);
	}
	if (chance(r, 50)) {
		ts.tv_nsec = -1;
		tsp = &ts;
	}
	if (chance(r, 250)) {
		flags_wait(t, i);
		return;
	}
	syscall(NR_async_wait, ring, below(r, 4), tsp, mask, sz,
		chance(r, 100) ? 1u << below(r, 32) : 0);
	reap(i);
}

static void random_limits(struct thr *t)
{
	struct rng *r = &t->rng;
	struct syslet_limits l = { .size = sizeof(l) };
	unsigned int hw;

	if (chance(r, 400))
		l.max_threads = 1 + below(r, 64);
	if (chance(r, 300))
		l.idle_msecs = 1 + below(r, 1000);
	if (chance(r, 300))
		l.max_chains = 16 + below(r, 4000);
	if (chance(r, 50))
		l.size = below(r, 128);
	if (chance(r, 30))
		l.max_threads = 100000;
	/* raise the high-water mark first: the set may succeed */
	if (l.max_threads && l.max_threads <= 4096) {
		hw = atomic_load(&sh->limit_hw);
		while (l.max_threads > hw &&
		       !atomic_compare_exchange_weak(&sh->limit_hw, &hw, l.max_threads))
			;
	}
	atomic_fetch_add(&limits_gen, 1);	/* a flood's bound is off */
	syscall(NR_async_limits, chance(r, 30) ? (void *)(uintptr_t)bad_ptr(r) : &l,
		NULL, chance(r, 100) ? 1u << below(r, 32) : 0, 0L, 0L, 0L);
	atomic_fetch_add(&limits_gen, 1);
}

static void check_threads(void)
{
	struct syslet_limits l;
	unsigned int seen;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	if (async_limits(NULL, &l))
		return;
	if (l.nr_threads > atomic_load(&sh->limit_hw))
		fail("%u async threads, limit never above %u", l.nr_threads,
		     atomic_load(&sh->limit_hw));
	seen = atomic_load(&sh->max_threads_seen);
	while (l.nr_threads > seen &&
	       !atomic_compare_exchange_weak(&sh->max_threads_seen, &seen,
					     l.nr_threads))
		;
}

static int start_thread(int i);

static void step(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned int op = below(r, 1000);
	pid_t tid = (pid_t)syscall(SYS_gettid);

	/* pass-on-block moves the user context, and its TID with it */
	if (tid != t->tid)
		fail("thread %d: TID %d became %d", t->idx, (int)t->tid, (int)tid);

	for (int k = 0; k < t->nmy; k++) {
		struct ring *g = &rings[t->myrings[k]];

		if ((g->state == 1 || g->state == 2) && --g->fixed_in <= 0)
			repair(t->myrings[k]);
	}
	if (op < 780) {
		submit(t);
	} else if (op < 880) {
		for (int k = 0; k < t->nmy; k++)
			reap(t->myrings[k]);
	} else if (op < 920) {
		random_cancel(t);
	} else if (op < 950) {
		random_wait(t);
	} else if (op < 965) {
		random_limits(t);
	} else if (op < 975) {
		mutilate(t, t->myrings[below(r, t->nmy)]);
	} else if (op < 985) {
		check_threads();
	} else if (op < 988) {
		if (chance(r, 100))
			post_flood(t);
		else
			random_post(t);
	} else if (op < 996) {
		random_threadlet(t);
	} else if (op < 998 && t->idx == 0) {
		start_thread(1 + below(r, MAX_THREADS - 1));
	} else if (chance(r, 500)) {
		rt_signal();
	} else if (chance(r, 400)) {
		/* a few per short run: thread creation failing, cancels */
		nproc_run();
	} else {
		sched_yield();
	}
}

static void on_tick(int sig)
{
	(void)sig;
}

/*
 * A SYSLET_SYNC chain runs in the calling thread and may block it (a read
 * from an empty pipe): a per-thread timer interrupts it every 100 ms, as
 * a signal would interrupt a direct call (the atom gets -EINTR).
 */
static timer_t tick_start(void)
{
	struct sigevent sev;
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	timer_t id;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &id) ||
	    timer_settime(id, 0, &its, NULL))
		fail("timer: %s", strerror(errno));
	return id;
}

static void *pump(void *p)
{
	struct timespec ts = { 0, (long)pump_ms * 1000000 };
	timer_t tick = tick_start();	/* an fd reused by a blocking pipe */
	char buf[4096];

	(void)p;
	memset(buf, 'p', sizeof(buf));
	while (!atomic_load(&pump_stop) && now_ms() < step_until) {
		for (int i = 0; i < NPUMP; i += 2) {
			if (read(pump_fd[i], buf, sizeof(buf)) < 0)
				continue;
			if (write(pump_fd[i + 1], buf, 512) < 0)
				continue;
		}
		nanosleep(&ts, NULL);
	}
	timer_delete(tick);
	return NULL;
}

static void pump_start(struct rng *r)
{
	int n = 0;

	pump_ms = chance(r, 200) ? 0 : 2 + (int)below(r, 60);
	if (!pump_ms)
		return;
	/* pool[1..8]: four pipes, read end first; reopened, non-blocking */
	for (int i = 1; i <= NPUMP; i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", pool[i]);
		fd = open(path, (i & 1 ? O_RDONLY : O_WRONLY) | O_NONBLOCK);
		/* out of the way of atoms, which use the low numbers */
		pump_fd[n++] = fd < 0 ? -1 : fcntl(fd, F_DUPFD, 240);
		if (fd >= 0)
			close(fd);
	}
	if (pthread_create(&pump_th, NULL, pump, NULL))
		pump_ms = 0;
}

static void pump_end(void)
{
	if (!pump_ms)
		return;
	atomic_store(&pump_stop, 1);
	pthread_join(pump_th, NULL);
	pump_ms = 0;
}

static void *worker(void *p)
{
	struct thr *t = p;
	timer_t tick;

	t->tid = (pid_t)syscall(SYS_gettid);
	tick = tick_start();

	for (unsigned int i = 0; i < t->quota && !atomic_load(&stop_all) &&
	     now_ms() < step_until; i++)
		step(t);
	timer_delete(tick);
	/* exits with its chains in flight; main takes its completions */
	return NULL;
}

static int start_thread(int i)
{
	pthread_attr_t a;

	if (thr[i].started || !thr[i].nmy)
		return 0;
	thr[i].started = 1;
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stacks + (size_t)i * STACK_SIZE, STACK_SIZE);
	if (pthread_create(&thr[i].th, &a, worker, &thr[i]))
		fail("pthread_create: %s", strerror(errno));
	pthread_attr_destroy(&a);
	return 1;
}

/* --- the child ------------------------------------------------------------ */

static void on_sig(int sig)
{
	if (sig == SIGPIPE)
		sigpipe_count++;
	else
		sigxfsz_count++;
}

/*
 * seccomp: calls from fuzz_exec_ip (async_exec itself and every atom it
 * submits) must be in the safe set; everything else is allowed.
 */
static void install_filter(void)
{
	static const int allowed[] = { SYS_getpid, SYS_gettid, SYS_getppid,
		SYS_sched_yield, SYS_read, SYS_write, SYS_pread64, SYS_pwrite64,
		SYS_pipe2, SYS_close, SYS_lseek, SYS_nanosleep, SYS_openat,
		SYS_splice, SYS_tee, SYS_dup, SYS_eventfd2, SYS_clock_gettime,
		SYS_exit_group, SYS_setuid, SYS_unshare, SYS_prctl,
		SYS_set_mempolicy, NR_async_exec, NR_async_wait,
		NR_async_cancel, NR_async_limits, SYS_ppoll, SYS_pselect6,
		SYS_epoll_pwait, SYS_epoll_pwait2, SYS_epoll_create1,
		SYS_io_pgetevents };
	static const int bad_fcntl[] = { F_SETOWN, F_SETSIG, F_SETOWN_EX,
					 F_SETLEASE, F_NOTIFY };
	enum { NA = sizeof(allowed) / sizeof(allowed[0]),
	       NB = sizeof(bad_fcntl) / sizeof(bad_fcntl[0]) };
	uint64_t ip = (uintptr_t)fuzz_exec_ip;
	struct sock_filter f[16 + NA + NB];
	struct sock_fprog prog;
	int n = 0, allow, deny, fc;

	/* layout: header, nr list, fcntl check, deny, allow */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, instruction_pointer));
	/* jumps are patched below */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (uint32_t)ip, 0, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, instruction_pointer) + 4);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (uint32_t)(ip >> 32), 0, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K,
					      NR_async_limits, 0, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      SYS_fcntl, 0, 0);
	for (int i = 0; i < NA; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      allowed[i], 0, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	fc = n;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, args[1]));
	for (int i = 0; i < NB; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      bad_fcntl[i], 0, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	deny = n;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ERRNO | EHWPOISON);
	allow = n;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	/* patch: offsets are relative to the next instruction */
	f[1].jf = (uint8_t)(allow - 2);
	f[3].jf = (uint8_t)(allow - 4);
	f[5].jt = (uint8_t)(allow - 6);
	f[6].jt = (uint8_t)(fc - 7);
	for (int i = 0; i < NA; i++)
		f[7 + i].jt = (uint8_t)(allow - (8 + i));
	f[7 + NA].k = (uint32_t)(deny - (8 + NA));
	for (int i = 0; i < NB; i++)
		f[fc + 1 + i].jt = (uint8_t)(deny - (fc + 2 + i));
	f[fc + 1 + NB].k = (uint32_t)(allow - (fc + 2 + NB));

	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		fail("seccomp: %s", strerror(errno));
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return p;
}

static void setup(uint64_t es, const char *dir)
{
	struct rng r = { es };
	struct rlimit fsz = { 1 << 20, 1 << 20 }, nof = { 256, 256 };
	int np = 0, fd, n;

	/* no stdio: an atom may write to or close any low fd */
	syscall(SYS_close_range, 0, ~0U, 0);
	for (int i = 0; i < 3; i++)
		if (open("/dev/null", O_RDWR) != i)
			fail("/dev/null");
	if (mkdir(dir, 0700) || chdir(dir))
		fail("private directory %s: %s", dir, strerror(errno));
	setrlimit(RLIMIT_FSIZE, &fsz);
	setrlimit(RLIMIT_NOFILE, &nof);
	signal(SIGPIPE, on_sig);
	signal(SIGXFSZ, on_sig);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_tick;	/* no SA_RESTART */
		sigaction(SIGUSR1, &sa, NULL);
		sa.sa_handler = on_rt;
		sigaction(RTSIG, &sa, NULL);
	}

	bad_page = map(4096, PROT_NONE);
	ro_page = map(4096, PROT_READ);
	ff_page = map(4096, PROT_READ | PROT_WRITE);
	memset(ff_page, 0xff, 4096);
	scratch = map(SCRATCH + 4096, PROT_READ | PROT_WRITE);
	mprotect(scratch + SCRATCH, 4096, PROT_NONE);
	for (int i = 0; i < SCRATCH; i++) {
		scratch[i] = (char)rnd(&r);
		if (scratch[i] == '/')
			scratch[i] = 'x';
	}
	paths = map(4096, PROT_READ | PROT_WRITE);
	for (int i = 0; i < 8; i++)
		snprintf(paths + 16 * i, 16, "%s", (const char *[]){ "f0", "f1",
			 "f2", "f3", ".", "", "f0/x", "nonexistent/f" }[i]);
	tss = (struct timespec *)(paths + 512);
	tss[0] = (struct timespec){ 0, 0 };
	tss[1] = (struct timespec){ 0, 1000 };
	tss[2] = (struct timespec){ 0, 1000000 };
	tss[3] = (struct timespec){ 0, 5000000 };
	tss[4] = (struct timespec){ 0, 20000000 };
	tss[5] = (struct timespec){ 0, -1 };
	tss[6] = (struct timespec){ -1, 0 };
	tss[7] = (struct timespec){ 0, 1000000000 };
	masks = (uint64_t *)(paths + 1024);
	psels = (uint64_t (*)[2])(paths + 1536);
	/*
	 * None blocks the tick (SIGUSR1): a call run in the caller with no
	 * timeout must stay interruptible, as it is without a mask.
	 */
	masks[0] = 0;
	masks[1] = ~0ULL;
	masks[2] = rnd(&r);
	masks[3] = rnd(&r) & rnd(&r);
	for (int i = 0; i < NMASKS; i++)
		masks[i] &= ~(1ULL << (SIGUSR1 - 1));
	for (int i = 0; i < NMASKS; i++) {
		psels[i][0] = (uintptr_t)&masks[i];
		psels[i][1] = 8;
	}
	mprotect(paths, 4096, PROT_READ);

	/* an AIO context for io_pgetevents (none: it fails, EINVAL) */
	if (syscall(SYS_io_setup, 16, &aio_ctx))
		aio_ctx = 0;
	/* the fd pool: the directory, pipes, files */
	pool[np++] = open(".", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 4; i++) {
		int p[2];

		if (pipe2(p, i == 3 ? O_NONBLOCK : 0))
			fail("pipe");
		if (i == 1)
			fcntl(p[1], F_SETPIPE_SZ, 4096);
		pool[np++] = p[0];
		pool[np++] = p[1];
	}
	for (int i = 0; i < 2; i++) {
		fd = openat(pool[0], i ? "f1" : "f0", O_CREAT | O_RDWR, 0600);
		if (fd < 0)
			fail("open f%d: %s", i, strerror(errno));
		pool[np++] = fd;
	}
	pool[np++] = open("/dev/null", O_RDWR);
	if (blk_path)
		pool[np++] = blk_fd = open(blk_path, O_RDONLY | O_DIRECT);
	while (np < NPOOL)
		pool[np++] = -1;

	stacks = map((size_t)MAX_THREADS * STACK_SIZE, PROT_READ | PROT_WRITE);
	n = 1 + below(&r, MAX_THREADS);		/* threads with rings */
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thr *t = &thr[i];

		t->idx = i;
		t->rng.s = mix(es ^ (0x1234567ULL * (i + 1)));
		if (i >= n)
			continue;
		t->atoms = map(ARENA * sizeof(*t->atoms), PROT_READ | PROT_WRITE);
		t->args = map(ARENA * sizeof(*t->args), PROT_READ | PROT_WRITE);
		t->rets = map(ARENA * sizeof(*t->rets), PROT_READ | PROT_WRITE);
		t->nmy = 1 + below(&r, RINGS_PER);
		for (int k = 0; k < t->nmy; k++)
			t->myrings[k] = ring_make(i, k == 0,
						  1u << below(&r, k ? 7 : 11));
	}
	ud_magic = (mix(es) & 0x7fffffff) | 1;
	atomic_store(&sh->limit_hw, 128);	/* the default max_threads */
}

enum { M_NORMAL, M_EXIT, M_EXEC, M_KILL, M_PTEXIT };

static void drain_and_check(void)
{
	struct timespec ts = { 0, 20 * 1000000 };
	long long deadline;
	unsigned int left = 0, first = 0, n = atomic_load(&ch_next);

	atomic_store(&stop_all, 1);
	for (int i = 1; i < MAX_THREADS; i++)
		if (thr[i].started)
			pthread_join(thr[i].th, NULL);
	pump_end();
	for (int i = 0; i < nrings; i++)
		repair(i);
	/* blocked reads see EOF, blocked writes EPIPE */
	syscall(SYS_close_range, 3, ~0U, 0);

	deadline = now_ms() + 500;	/* then cancel what is left */
	for (int pass = 0; ; pass++) {
		left = 0;
		for (int i = 0; i < nrings; i++) {
			reap(i);
			if (!rings[i].state)
				async_wait(rings[i].r, 1, &ts);
		}
		for (unsigned int k = 0; k < n; k++)
			if (atomic_load(&ch_state[k]) == CH_EXPECTED) {
				if (!left++)
					first = k;
			}
		if (!left)
			break;
		if (now_ms() > deadline) {
			if (pass < 0x10000)	/* once: cancel what is left */
				for (unsigned int k = 0; k < n; k++)
					if (atomic_load(&ch_state[k]) == CH_EXPECTED)
						async_cancel(rings[ch_ring[k]].r,
							     (ud_magic << 32) | k, 0);
			if (now_ms() > deadline + 60000)
				fail("%u chains never completed (first %#x on ring %d, state %d)",
				     left, first, ch_ring[first],
				     rings[ch_ring[first]].state);
			pass = 0x10000;
		}
	}
	check_threads();
	rt_check();
	sh->sigpipes += sigpipe_count;
	sh->sigxfsz += sigxfsz_count;
	if (epipe_seen) {
		sh->epipes++;
		/* a signal is delivered by the time its chain is reaped */
		if (!sigpipe_count)
			fail("chains completed with -EPIPE, but no SIGPIPE arrived (first: %s)", epipe_what);
	}
}

static void child(uint64_t es, int mode, unsigned int chains, uint64_t stop_at,
		  const char *dir)
{
	struct thr *t0 = &thr[0];
	int n = 0;

	setup(es, dir);
	step_until = now_ms() + STEP_MS;
	install_filter();
	t0->tid = (pid_t)syscall(SYS_gettid);
	tick_start();
	for (int i = 0; i < MAX_THREADS; i++)
		if (thr[i].nmy)
			n++;
	for (int i = 0; i < n; i++)
		thr[i].quota = chains / n + 1;
	/* some threads from the start, others later (from thread 0) */
	for (int i = 1; i < n; i++)
		if (chance(&t0->rng, 600))
			start_thread(i);
	/* the last thread's pthread_exit() must end the process */
	if (mode != M_PTEXIT)
		pump_start(&t0->rng);
	for (unsigned int i = 0; i < t0->quota && now_ms() < step_until; i++) {
		step(t0);
		if (mode != M_NORMAL && sh->accepted >= stop_at) {
			if (mode == M_EXIT)
				syscall(SYS_exit_group, 0);
			if (mode == M_EXEC)
				execl("/bin/true", "true", (char *)NULL);
			if (mode == M_PTEXIT)	/* this thread only */
				syscall(SYS_exit, 0);
			/* M_KILL: the parent kills us; keep going */
		}
	}
	if (mode == M_PTEXIT)	/* never reached stop_at: go now */
		syscall(SYS_exit, 0);
	drain_and_check();
	if (mode == M_KILL) {
		sh->finished = 1;
		/*
		 * Until the SIGKILL: pause() returns after a handler, and the
		 * tick's runs every 100 ms (a parent slower than that, on a
		 * busy host, found the episode ended with status 0).
		 */
		for (;;)
			pause();
	}
	_exit(0);
}

/* --- the parent ------------------------------------------------------------ */

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* A hung episode: what each of its tasks is doing (and sysrq-t if root). */
static void dump_tasks(pid_t pid)
{
	char path[320], line[256];
	struct dirent *e;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		static const char *files[] = { "comm", "wchan", "syscall", "stat" };

		if (e->d_name[0] == '.')
			continue;
		printf("# task %s:", e->d_name);
		for (int i = 0; i < 4; i++) {
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", (int)pid,
				 e->d_name, files[i]);
			f = fopen(path, "r");
			if (f && fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n")] = 0;
				printf(" %s=[%.80s]", files[i], line);
			}
			if (f)
				fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid,
			 e->d_name);
		{
			FILE *f = fopen(path, "r");

			while (f && fgets(line, sizeof(line), f))
				if (!strncmp(line, "Sig", 3) || !strncmp(line, "ShdPnd", 6)) {
					line[strcspn(line, "\n")] = 0;
					printf(" %s", line);
				}
			if (f)
				fclose(f);
		}
		printf("\n");
	}
	if (d)
		closedir(d);
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "t", 1) != 1)
			perror("sysrq");
		close(fd);
	}
}

static const char *mode_name[] = { "normal", "exit", "exec", "kill",
				   "pthread_exit" };

int main(int argc, char **argv)
{
	uint64_t seed = 0, target = 20000, total = 0, accepted = 0, comps = 0;
	uint64_t cancels = 0, eagain = 0, woff = 0, sigpipes = 0, sigxfsz = 0;
	uint64_t tls = 0, tlh = 0, direct = 0, rtsigs = 0, floods = 0, nproc = 0;
	uint64_t flag_waits = 0;
	uint64_t rt_sent = 0, rt_deliv = 0, fl_posts = 0, fl_refused = 0;
	uint64_t fl_unchecked = 0, np_eagain = 0, np_cancelled = 0;
	uint64_t np_notroot = 0;
	long long t_start, secs = 0, last_print;
	unsigned int max_seen = 0, hw_max = 0, counts[5] = { 0 };
	long only = -1, ep;
	char base[64];
	int opt, verbose = 0, failed = 0, extra = 0;

	while ((opt = getopt(argc, argv, "s:n:t:e:vx:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': target = strtoull(optarg, NULL, 0); break;
		case 't': secs = atoll(optarg); break;
		case 'e': only = atol(optarg); break;
		case 'v': verbose = 1; break;
		case 'x': extra = atoi(optarg); break;	/* more TAP to come */
		default:
			fprintf(stderr, "usage: %s [-s seed] [-n chains] [-t secs] [-e episode] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	blk_path = getenv("SYSLET_FUZZ_BLK");
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			   (uint64_t)getpid());
	}
	printf("TAP version 13\n1..%d\n", 3 + extra);
	printf("# syslet-fuzz seed %#llx (replay: -s %#llx)%s%s\n",
	       (unsigned long long)seed, (unsigned long long)seed,
	       blk_path ? ", direct reads of " : "", blk_path ? blk_path : "");
	if (!syslet_present()) {
		printf("ok 1 # SKIP no syslet system calls in this kernel\n");
		printf("ok 2 # SKIP\nok 3 # SKIP\n");
		return 0;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	snprintf(base, sizeof(base), "/tmp/syslet-fuzz.%d", (int)getpid());
	if (mkdir(base, 0700)) {
		perror(base);
		return 2;
	}
	t_start = last_print = now_ms();

	for (ep = only >= 0 ? only : 0; ; ep++) {
		uint64_t es = mix(seed ^ mix((uint64_t)ep + 1));
		struct rng r = { es ^ 0xabcdef };
		int mode, st = 0, killed = 0, hang = 0;
		unsigned int chains = 200 + below(&r, 2800);
		uint64_t stop_at = 20 + below(&r, chains);
		long long t0, died_by = 0;
		char dir[96];
		pid_t pid, w;

		switch (below(&r, 100)) {
		case 0 ... 64: mode = M_NORMAL; break;
		case 65 ... 79: mode = M_KILL; break;
		case 80 ... 89: mode = M_EXIT; break;
		case 90 ... 94: mode = M_PTEXIT; break;
		default: mode = M_EXEC;
		}
		memset(sh, 0, sizeof(*sh));
		snprintf(dir, sizeof(dir), "%s/e%ld", base, ep);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (!pid)
			child(es, mode, chains, stop_at, dir);
		t0 = now_ms();
		for (;;) {
			w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			if (mode == M_KILL && !killed &&
			    (sh->accepted >= stop_at || sh->finished ||
			     now_ms() - t0 > 60000)) {
				kill(pid, SIGKILL);
				killed = 1;
				died_by = now_ms() + 30000;
			}
			if (!died_by && now_ms() - t0 > 120000) {
				hang = 1;
				dump_tasks(pid);
				kill(pid, SIGKILL);
				died_by = now_ms() + 30000;
			}
			if (died_by && now_ms() > died_by) {
				printf("not ok 1 # episode %ld (seed %#llx): process %d "
				       "unkillable\n", ep, (unsigned long long)seed,
				       (int)pid);
				printf("not ok 2 episode processes end\nok 3 # SKIP\n");
				return 1;
			}
			usleep(killed || hang ? 10000 : 2000);
		}
		rm_dir(dir);
		total += sh->calls;
		accepted += sh->accepted;
		comps += sh->completions;
		cancels += sh->cancels;
		eagain += sh->eagain;
		woff += sh->writtenoff;
		sigpipes += sh->sigpipes;
		sigxfsz += sh->sigxfsz;
		tls += sh->threadlets;
		tlh += sh->tl_handed;
		direct += sh->direct;
		rtsigs += sh->rtsigs;
		floods += sh->floods;
		nproc += sh->nproc_runs;
		flag_waits += sh->flag_waits;
		rt_sent += sh->rt_sent;
		rt_deliv += sh->rt_delivered;
		fl_posts += sh->flood_posts;
		fl_refused += sh->flood_refused;
		fl_unchecked += sh->flood_unchecked;
		np_eagain += sh->np_eagain;
		np_cancelled += sh->np_cancelled;
		np_notroot += sh->np_notroot;
		counts[mode]++;
		if (sh->max_threads_seen > max_seen)
			max_seen = sh->max_threads_seen;
		if (sh->limit_hw > hw_max)
			hw_max = sh->limit_hw;
		if (verbose)
			printf("# episode %ld %s: %llu chains, %lld ms, status %#x\n",
			       ep, mode_name[mode], (unsigned long long)sh->calls,
			       now_ms() - t0, st);
		if (sh->failed) {
			printf("# FAIL episode %ld (%s), replay: %s -s %#llx -e %ld\n# %s\n",
			       ep, mode_name[mode], argv[0],
			       (unsigned long long)seed, ep, sh->msg);
			failed |= 1;
		} else if (hang) {
			printf("# FAIL episode %ld (%s) did not end in 120 s, replay: %s -s %#llx -e %ld\n",
			       ep, mode_name[mode], argv[0],
			       (unsigned long long)seed, ep);
			failed |= 2;
		} else {
			int ok;

			switch (mode) {
			case M_NORMAL:
				ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
				break;
			case M_EXIT: case M_EXEC: case M_PTEXIT:
				ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
				break;
			default:
				ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
			}
			if (!ok) {
				printf("# FAIL episode %ld (%s): process ended with status %#x, replay: %s -s %#llx -e %ld\n",
				       ep, mode_name[mode], st, argv[0],
				       (unsigned long long)seed, ep);
				failed |= 2;
			}
		}
		if (failed || only >= 0)
			break;
		if (now_ms() - last_print > 30000) {
			last_print = now_ms();
			printf("# %ld episodes, %llu chains, %lld s\n", ep + 1,
			       (unsigned long long)total,
			       (now_ms() - t_start) / 1000);
		}
		if (total >= target || (secs && now_ms() - t_start > secs * 1000))
			break;
	}
	rmdir(base);
	printf("# %ld episodes (normal %u, exit %u, exec %u, kill %u, "
	       "pthread_exit %u) in %lld s\n", (only >= 0 ? 1 : ep + 1),
	       counts[0], counts[1], counts[2], counts[3], counts[4],
	       (now_ms() - t_start) / 1000);
	printf("# chains %llu (accepted %llu), completions checked %llu, "
	       "cancels %llu, EAGAIN %llu, written off %llu\n",
	       (unsigned long long)total, (unsigned long long)accepted,
	       (unsigned long long)comps, (unsigned long long)cancels,
	       (unsigned long long)eagain, (unsigned long long)woff);
	printf("# SIGPIPE %llu, SIGXFSZ %llu delivered; async threads at most %u "
	       "(highest max_threads %u)\n", (unsigned long long)sigpipes,
	       (unsigned long long)sigxfsz, max_seen, hw_max);
	printf("# threadlets reaped %llu, of which not wholly in the caller %llu; "
	       "direct reads accepted %llu\n", (unsigned long long)tls,
	       (unsigned long long)tlh, (unsigned long long)direct);
	printf("# real-time signals to the process: sent %llu, delivered %llu "
	       "(in drained episodes each handled once: %llu)\n",
	       (unsigned long long)rt_sent, (unsigned long long)rt_deliv,
	       (unsigned long long)rtsigs);
	printf("# POST floods that met max_chains: %llu (posts %llu, refused "
	       "with EAGAIN %llu; %llu floods unchecked: limits set meanwhile)\n",
	       (unsigned long long)floods, (unsigned long long)fl_posts,
	       (unsigned long long)fl_refused, (unsigned long long)fl_unchecked);
	printf("# runs at a low RLIMIT_NPROC: %llu (submissions refused with "
	       "EAGAIN %llu, cancelled %llu; not run, not root: %llu)\n",
	       (unsigned long long)nproc, (unsigned long long)np_eagain,
	       (unsigned long long)np_cancelled, (unsigned long long)np_notroot);
	/* one line for tests/fuzz/long.sh */
	printf("# coverage: chains %llu nproc_runs %llu floods %llu "
	       "rt_delivered %llu flag_waits %llu\n", (unsigned long long)total,
	       (unsigned long long)nproc, (unsigned long long)floods,
	       (unsigned long long)rt_deliv, (unsigned long long)flag_waits);
	printf("%s 1 every chain completes exactly once, with sane fields\n",
	       failed & 1 ? "not ok" : "ok");
	printf("%s 2 every episode's process ends (normally, exit, exec, SIGKILL, last pthread_exit)\n",
	       failed & 2 ? "not ok" : "ok");
	printf("%s 3 async threads within the limit (%u <= %u)\n",
	       max_seen <= hw_max ? "ok" : "not ok", max_seen, hw_max);
	return failed || max_seen > hw_max;
}
