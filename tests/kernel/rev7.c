// SPDX-License-Identifier: GPL-2.0
/*
 * Review 7 of the kernel engine (a hostile review of d02740f): its
 * reproducers, each a test that failed on the kernel as of that commit.
 * Needs our own null_blk (memory backed: its reads are zeros; 200 ms a
 * read), loaded by main() when there is none.
 *
 * Finding 3: FUTEX_TRYLOCK_PI in the caller is the caller's.
 * Finding 2: a queued chain's I/O goes at its submitter's effective I/O
 * priority (nice and policy when none was set).
 * Findings 1 and 8: a buffered read is read on with its submitter's
 * PKRU wherever it is read on: no thread spins handing it back and forth
 * (needs CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS and a CPU with PKU).
 * Findings 4 and 11: the blocking rest of an io_submit() read goes to
 * an async thread, never to the thread that posts it; completions while
 * every thread runs a chain are posted by an async thread, or, when the
 * process can have none, completed with -EAGAIN.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include "tap.h"
#include "sys.h"
#include "nullb.h"

/* <linux/ioprio.h> is not a uapi header on every distribution */
#define IOPRIO_CLASS_SHIFT	13
#define IOPRIO_PRIO_CLASS(p)	(((p) >> IOPRIO_CLASS_SHIFT) & 0x7)
#define IOPRIO_PRIO_LEVEL(p)	((p) & 0x7)
#define IOPRIO_PRIO_VALUE(c, l)	(((c) << IOPRIO_CLASS_SHIFT) | (l))
#define IOPRIO_CLASS_NONE	0
#define IOPRIO_CLASS_RT		1
#define IOPRIO_CLASS_BE		2
#define IOPRIO_CLASS_IDLE	3
#define IOPRIO_WHO_PROCESS	1

static struct syslet_ring *qr;

static int64_t queue1(uint32_t nr, uint64_t *a0, uint64_t *a1)
{
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = -12345;

	atom_init(&a, SYSLET_ASYNC, nr, &ret, a0, a1, NULL, NULL);
	if (async_exec(&a, qr, NULL, 0) != SYSLET_QUEUED || !ring_get(qr, &c))
		return -99999;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Finding 2: the I/O priority a queued chain's I/O really gets             */
/* ---------------------------------------------------------------------- */

/*
 * What block/ioprio.c's __get_task_ioprio() makes of a thread's state,
 * and so what blk-core's bio_set_ioprio() stamps on its bios: the value
 * ioprio_set() left, or, with none (class NONE), the class of its
 * scheduling policy and the level of its nice value.  @getprio is what
 * getpriority(2) returns raw (20 - nice).
 */
static int effective_ioprio(int raw, int policy, int getprio)
{
	int nice = 20 - getprio, class;

	if (IOPRIO_PRIO_CLASS(raw) != IOPRIO_CLASS_NONE)
		return raw;
	class = policy == SCHED_IDLE ? IOPRIO_CLASS_IDLE :
		(policy == SCHED_FIFO || policy == SCHED_RR) ? IOPRIO_CLASS_RT :
		IOPRIO_CLASS_BE;
	return IOPRIO_PRIO_VALUE(class, (nice + 20) / 5);
}

/* the effective I/O priority of whoever runs an SYSLET_ASYNC atom */
static int queued_effective_ioprio(void)
{
	uint64_t who = IOPRIO_WHO_PROCESS, which = PRIO_PROCESS, zero = 0;
	int64_t raw, pol, pr;

	raw = queue1(SYS_ioprio_get, &who, &zero);
	pol = queue1(SYS_sched_getscheduler, &zero, NULL);
	pr = queue1(SYS_getpriority, &which, &zero);
	if (raw < 0 || pol < 0 || pr < 0)
		return -1;
	return effective_ioprio((int)raw, (int)pol, (int)pr);
}

static int my_effective_ioprio(void)
{
	int raw = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	int pol = sched_getscheduler(0);
	long pr = syscall(SYS_getpriority, PRIO_PROCESS, 0);

	return effective_ioprio(raw, pol, (int)pr);
}

struct prio_case {
	int idle;		/* SCHED_IDLE, else nice 19 */
	int mine, queued;
};

static void *low_prio_submitter(void *arg)
{
	struct prio_case *pc = arg;
	struct sched_param sp = { 0 };

	/* lowering one's own priority needs no privilege */
	if (pc->idle ? sched_setscheduler(0, SCHED_IDLE, &sp) :
		       setpriority(PRIO_PROCESS, sys_tid(), 19))
		return (void *)1;
	pc->mine = my_effective_ioprio();
	pc->queued = queued_effective_ioprio();
	return NULL;
}

/*
 * Review 5 finding 7 made a queued chain run at its submitter's I/O
 * priority, but only the raw ioprio_set() value travelled.  A thread that
 * never called ioprio_set() (class NONE, nearly every program) has its
 * I/O priority from its nice value and policy, and the async thread that
 * runs its queued chain is nice 0, SCHED_OTHER (worker_neutral()): a
 * nice-19 thread's queued reads went to the device as best-effort level
 * 4 instead of 7, a SCHED_IDLE thread's as best-effort instead of the
 * idle class.  Now the chain carries get_current_ioprio() (core.c).
 */
TEST(queued_chain_io_runs_at_the_submitters_effective_io_priority)
{
	void *res;
	pthread_t t;

	REQUIRE_SYSLET();
	qr = ring_new(8);
	/* the async thread is made by this (nice 0) thread, and kept */
	sys_set_limits(2, 60000, 0);
	ASSERT_EQ(queue1(SYS_getpid, NULL, NULL), getpid());
	for (int idle = 0; idle < 2; idle++) {
		struct prio_case pc = { .idle = idle };

		ASSERT_EQ(pthread_create(&t, NULL, low_prio_submitter, &pc), 0);
		ASSERT_EQ(pthread_join(t, &res), 0);
		ASSERT_EQ((long)res, 0);
		tap_diag("%s submitter, no ioprio_set(): its own I/O priority "
			 "class %d level %d; its queued chain's class %d level %d",
			 idle ? "SCHED_IDLE" : "nice-19",
			 IOPRIO_PRIO_CLASS(pc.mine), IOPRIO_PRIO_LEVEL(pc.mine),
			 IOPRIO_PRIO_CLASS(pc.queued),
			 IOPRIO_PRIO_LEVEL(pc.queued));
		ASSERT_GE(pc.queued, 0);
		EXPECT_EQ(pc.queued, pc.mine);
	}
}

/* ---------------------------------------------------------------------- */
/* Finding 3: FUTEX_TRYLOCK_PI hands off, and takes the lock as the giver  */
/* ---------------------------------------------------------------------- */

/*
 * A default-mode chain of one FUTEX_TRYLOCK_PI of a free lock whose word
 * is on a page not yet read from the device (a private mapping of the
 * slow null_blk: the fault in futex_lock_pi()'s uaddr_faulted path sleeps
 * 200 ms).  syslet_pi_futex_owner() (exec.c) listed FUTEX_LOCK_PI,
 * LOCK_PI2 and WAIT_REQUEUE_PI only, so the atom was dispatched with
 * pass-on-block armed: the caller's user context went to an async thread
 * while the fault slept, the TIDs were exchanged, and the retry in
 * futex_lock_pi_atomic() wrote task_pid_vnr(current), the giver's new
 * TID, into the word.  The program, which got 0, owned a lock whose word
 * named an async thread: its FUTEX_UNLOCK_PI failed with EPERM (glibc's
 * pthread_mutex_unlock() of a PI mutex then returns EPERM), and priority
 * inheritance would boost the wrong task.
 */
TEST(pi_trylock_on_a_cold_page_in_the_caller_is_the_callers)
{
	struct syslet_ring *r = ring_new(4);
	uint64_t uaddr, op = FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, zero = 0;
	struct syslet_completion done;
	struct syslet_atom a;
	_Atomic uint32_t *word;
	int64_t ret = -12345;
	pid_t me = sys_tid();
	uint32_t owner;
	long n, unl;
	char *m;
	int fd;

	REQUIRE_SYSLET();
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	/* an idle async thread: a hand-off is possible */
	sys_set_limits(4, 60000, 0);
	qr = r;
	ASSERT_EQ(queue1(SYS_getpid, NULL, NULL), getpid());
	m = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 8 << 20);
	ASSERT_TRUE(m != MAP_FAILED);
	word = (_Atomic uint32_t *)m;
	uaddr = (uintptr_t)word;
	atom_init(&a, 0, SYS_futex, &ret, &uaddr, &op, &zero, &zero);
	a.arg_ptr[4] = a.arg_ptr[5] = (uintptr_t)&zero;
	memset(&done, 0, sizeof(done));
	n = async_exec(&a, r, &done, 0);
	if (n == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(r, &done));
	tap_diag("async_exec() %ld (%s), status %lld, ret %lld; word %#x, "
		 "caller's TID %d", n, n == SYSLET_QUEUED ? "handed off" :
		 "in the caller", (long long)done.status, (long long)ret,
		 (unsigned)atomic_load(word), (int)me);
	ASSERT_EQ(done.status, 0);
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(sys_tid(), me);
	unl = syscall(SYS_futex, word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG,
		      0, NULL, NULL, 0);
	if (unl)
		tap_diag("FUTEX_UNLOCK_PI by the caller: %s", strerror(errno));
	owner = atomic_load(word) & FUTEX_TID_MASK;
	EXPECT_EQ(owner, unl ? (uint32_t)me : 0);
	EXPECT_EQ(unl, 0);
	munmap(m, BLK);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Finding 1: PKRU ping-pong of a buffered read: a thread spins in the     */
/* kernel (async_wait() past its timeout, io_getevents(), or on its way    */
/* back to user space)                                                     */
/* ---------------------------------------------------------------------- */

static int pp_pipe[2], pp_fd, pp_how;
static struct syslet_ring *pp_ring;
static aio_context_t pp_actx;
static _Atomic int pp_submitted, pp_b_ready;
static long long pp_ms, pp_cpu_ms;
static long pp_ret;

static long long thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* B: a thread whose PKRU is not the submitter's (pkey_alloc() sets it) */
static void *other_pkru(void *arg)
{
	struct timespec to = { 1, 0 }, ms10 = { 0, 10000000 };
	struct io_event ev;
	long long t0, c0;

	(void)arg;
	/* a key of ours: this thread's PKRU differs from the submitter's */
	if (syscall(SYS_pkey_alloc, 0, 0) < 0) {
		pp_ret = -998;
		atomic_store(&pp_b_ready, -1);
		return NULL;
	}
	atomic_store(&pp_b_ready, 1);
	while (!atomic_load(&pp_submitted))
		nanosleep(&ms10, NULL);
	t0 = now_ms();
	c0 = thread_cpu_ms();
	/* the read's page comes 200 ms after its submission: we wait 1 s */
	if (pp_how == 0)
		pp_ret = async_wait(pp_ring, 1, &to);
	else if (pp_how == 1)
		pp_ret = syscall(SYS_io_getevents, pp_actx, 1, 1, &ev, &to);
	else
		pp_ret = nanosleep(&to, NULL);
	pp_ms = now_ms() - t0;
	pp_cpu_ms = thread_cpu_ms() - c0;
	/* let the submitter's chain end (it waits for this byte) */
	if (write(pp_pipe[1], "b", 1) != 1)
		pp_ret = -999;
	return NULL;
}

/* C: ends the submitter's chain after 6 s, if B could not */
static void *watchdog(void *arg)
{
	struct timespec s6 = { 6, 0 };

	(void)arg;
	nanosleep(&s6, NULL);
	if (write(pp_pipe[1], "c", 1) != 1)
		return (void *)1;
	return NULL;
}

static void pkru_case(int how)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	uint64_t args[4], rfd, cp, one = 1;
	struct syslet_completion done;
	struct syslet_atom a, rd;
	struct iocb cb, *cbp = &cb;
	pthread_t b, c;
	int64_t ret = -12345, rret = -12345;
	char ch[2];
	int key;

	REQUIRE_SYSLET();
	pp_fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	/* is there a PKRU at all (CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS)? */
	/* PKEY_DISABLE_ACCESS (1): the default PKRU's bits, ours unchanged */
	key = (int)syscall(SYS_pkey_alloc, 0, 1);
	if (key < 0)
		SKIP("no protection keys (pkey_alloc: %s): every thread's "
		     "PKRU is the same", strerror(errno));
	syscall(SYS_pkey_free, key);
	ASSERT_EQ(pipe(pp_pipe), 0);
	pp_how = how;
	pp_ring = ring_new(8);
	/* B first: for_each_thread() meets it before C (same PKRU as A) */
	ASSERT_EQ(pthread_create(&b, NULL, other_pkru, NULL), 0);
	while (!atomic_load(&pp_b_ready))
		sched_yield();
	ASSERT_EQ(atomic_load(&pp_b_ready), 1);
	ASSERT_EQ(pthread_create(&c, NULL, watchdog, NULL), 0);

	if (how == 1) {
		ASSERT_EQ(syscall(SYS_io_setup, 4, &pp_actx), 0);
		memset(&cb, 0, sizeof(cb));
		cb.aio_fildes = pp_fd;
		cb.aio_lio_opcode = IOCB_CMD_PREAD;
		cb.aio_buf = (uintptr_t)buf;
		cb.aio_nbytes = BLK;
		cb.aio_offset = 12 << 20;
		ASSERT_EQ(syscall(SYS_io_submit, pp_actx, 1, &cbp), 1);
	} else {
		args[0] = (uint64_t)pp_fd;
		args[1] = (uintptr_t)buf;
		args[2] = BLK;
		args[3] = 12 << 20;
		atom_init(&a, SYSLET_ASYNC, SYS_pread64, &ret, &args[0],
			  &args[1], &args[2], &args[3]);
		ASSERT_EQ(async_exec(&a, pp_ring, NULL, 0), SYSLET_QUEUED);
	}
	atomic_store(&pp_submitted, 1);
	/* A, the submitter, runs a chain until B (or C) writes the pipe */
	rfd = (uint64_t)pp_pipe[0];
	cp = (uintptr_t)ch;
	atom_init(&rd, SYSLET_SYNC, SYS_read, &rret, &rfd, &cp, &one, NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&rd, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(b, NULL), 0);
	tap_diag("%s in a thread of another PKRU, 1 s timeout, submitter in "
		 "a chain: %ld after %lld ms, %lld ms of CPU",
		 how == 0 ? "async_wait()" : how == 1 ? "io_getevents()" :
		 "nanosleep()", pp_ret, pp_ms, pp_cpu_ms);
	EXPECT_LT(pp_ms, 3000);
	EXPECT_LT(pp_cpu_ms, 500);
	pthread_join(c, NULL);
	if (how == 1)
		syscall(SYS_io_destroy, pp_actx);
	close(pp_fd);
}

/*
 * kio.c: a buffered read's page came; the thread that flushed
 * ctx->kio_done could not read on if its PKRU was not the submitter's
 * (kbuf_here()), so kbuf_elsewhere() put the read back on ctx->kio_done
 * and kicked the submitter.  The submitter runs a chain (busy:
 * TWA_RESUME), so kio_tw_pick() queued the task work on the first thread
 * that is not busy: the very thread that had just put it back, with
 * TWA_SIGNAL.  It ran it at once and put the read back again:
 *  - async_wait(): it saw ctx->kio_done not empty and went round again,
 *    before looking at signals or the timeout: it spun in the kernel,
 *    past its timeout and any signal but SIGKILL, until the submitter's
 *    chain ended (never, if the chain waits for it);
 *  - io_getevents() (6.12: prepare_to_wait_event() sees TIF_NOTIFY_SIGNAL
 *    each pass, the -ETIME test is never reached; 6.1 stops at the
 *    timeout) and io_destroy() spun the same way;
 *  - any other thread of that PKRU, in any interruptible sleep or in user
 *    space, looped in exit_to_user_mode_loop() running the task work.
 * Now any thread reads on, with the submitter's PKRU loaded for the copy
 * (kbuf_retry_as_submitter()).  Needs a kernel with
 * CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS on a CPU with PKU (the tests
 * skip elsewhere).
 *
 * pkey_alloc() is done in B by B: the PKRU is per thread.
 */
TEST(another_pkru_does_not_spin_async_wait_past_its_timeout)
{
	pkru_case(0);
}

TEST(another_pkru_does_not_spin_io_getevents_past_its_timeout)
{
	pkru_case(1);
}

TEST(another_pkru_thread_returns_to_user_space)
{
	pkru_case(2);
}

/* ---------------------------------------------------------------------- */
/* Finding 4: the blocking rest of an io_submit() read runs in whichever   */
/* thread posts it: an io_getevents(timeout 0) poller waits for the device */
/* ---------------------------------------------------------------------- */

static aio_context_t st_ctx;
static _Atomic int st_stop;
static int st_in_chain;
static long long st_max_poll, st_max_iter;
static long st_reaped;
static struct io_event st_ev;

/* H: polls the context every 10 ms with a zero timeout, as event loops do */
static void *poller(void *arg)
{
	struct timespec zero = { 0, 0 }, ms10 = { 0, 10000000 };

	(void)arg;
	while (!st_in_chain && !atomic_load(&st_stop)) {
		long long t0 = now_ms(), t1;
		long n = syscall(SYS_io_getevents, st_ctx, 0, 1, &st_ev, &zero);

		t1 = now_ms();
		if (n > 0)
			st_reaped += n;
		if (t1 - t0 > st_max_poll)
			st_max_poll = t1 - t0;
		nanosleep(&ms10, NULL);
		if (now_ms() - t0 > st_max_iter)
			st_max_iter = now_ms() - t0;
	}
	if (st_in_chain) {
		/*
		 * The same loop as one SYSLET_SYNC chain (an event loop run
		 * by a chain: the thread is busy all along, the kick never
		 * gives it the task work): 150 rounds of [clock_gettime,
		 * io_getevents(timeout 0), clock_gettime, nanosleep 10 ms].
		 */
		enum { R = 150 };
		static struct syslet_atom a[4 * R];
		static struct timespec ts[2 * R + 1];
		static int64_t res[4 * R];
		static uint64_t clk = CLOCK_MONOTONIC, tsp[2 * R], c, z, one = 1,
				e, zp, sp, nul;
		struct syslet_completion d;

		c = st_ctx;
		z = 0;
		nul = 0;
		e = (uintptr_t)&st_ev;
		zp = (uintptr_t)&zero;
		sp = (uintptr_t)&ms10;
		for (int i = 0; i < R; i++) {
			tsp[2 * i] = (uintptr_t)&ts[2 * i];
			tsp[2 * i + 1] = (uintptr_t)&ts[2 * i + 1];
			atom_init(&a[4 * i], SYSLET_SYNC, SYS_clock_gettime,
				  &res[4 * i], &clk, &tsp[2 * i], NULL, NULL);
			atom_init(&a[4 * i + 1], SYSLET_SYNC, SYS_io_getevents,
				  &res[4 * i + 1], &c, &z, &one, &e);
			a[4 * i + 1].arg_ptr[4] = (uintptr_t)&zp;
			atom_init(&a[4 * i + 2], SYSLET_SYNC, SYS_clock_gettime,
				  &res[4 * i + 2], &clk, &tsp[2 * i + 1], NULL,
				  NULL);
			atom_init(&a[4 * i + 3], SYSLET_SYNC, SYS_nanosleep,
				  &res[4 * i + 3], &sp, &nul, NULL, NULL);
		}
		for (int i = 0; i + 1 < 4 * R; i++)
			a[i].next = (uintptr_t)&a[i + 1];
		memset(&d, 0, sizeof(d));
		if (async_exec(&a[0], NULL, &d, 0) != SYSLET_DONE)
			return (void *)1;
		for (int i = 0; i < R; i++) {
			long long b = ts[2 * i].tv_sec * 1000LL +
				      ts[2 * i].tv_nsec / 1000000;
			long long f = ts[2 * i + 1].tv_sec * 1000LL +
				      ts[2 * i + 1].tv_nsec / 1000000;

			if (res[4 * i + 1] > 0)
				st_reaped += res[4 * i + 1];
			if (f - b > st_max_poll)
				st_max_poll = f - b;
			if (i + 1 < R) {
				long long nb = ts[2 * i + 2].tv_sec * 1000LL +
					       ts[2 * i + 2].tv_nsec / 1000000;

				if (nb - b > st_max_iter)
					st_max_iter = nb - b;
			}
		}
	}
	return NULL;
}

/*
 * An io_submit() PREADV of a cold block whose second buffer is a page of
 * a file mapping not yet faulted (here a MAP_SHARED mapping of the same
 * slow device; FUSE or userfaultfd memory in real programs).  Mainline
 * reads it in io_submit(), in the submitter.  The engine returns at once;
 * when the page comes, the thread that posts it reads on (kbuf_retry()),
 * cannot fault the mapping in with page faults off (kbuf_may_fault(): not
 * anonymous), and the rest must be read blocking (syslet_aio_sync(),
 * aio.c).  Before the fix, in that thread: the task work's pick (the
 * submitter runs a chain here) or any thread in io_getevents()/
 * io_pgetevents()/io_destroy() (syslet_aio_waiter_begin() flushes before
 * even looking at the timeout): an io_getevents() poll with a zero
 * timeout waited for the device (a FUSE daemon, a userfaultfd handler:
 * if that is the polling thread, for ever).  Now an async thread reads
 * it (syslet_queue_kio()).
 */
static void poll_stall_case(int in_chain)
{
	static unsigned char buf0[BLK] __attribute__((aligned(BLK)));
	struct timespec s1 = { 1, 0 }, to = { 5, 0 };
	uint64_t tsp = (uintptr_t)&s1, zero = 0;
	struct syslet_completion done;
	struct syslet_atom sl;
	struct iovec iov[2];
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	int64_t sret = -12345;
	pthread_t h;
	char *map;
	int fd, mfd;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	map = NULLB_MAP(&mfd, 64);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &st_ctx), 0);
	st_in_chain = in_chain;
	ASSERT_EQ(pthread_create(&h, NULL, poller, NULL), 0);
	iov[0].iov_base = buf0;
	iov[0].iov_len = BLK;
	iov[1].iov_base = map;
	iov[1].iov_len = BLK;
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREADV;
	cb.aio_buf = (uintptr_t)iov;
	cb.aio_nbytes = 2;
	cb.aio_offset = 16 << 20;
	ASSERT_EQ(syscall(SYS_io_submit, st_ctx, 1, &cbp), 1);
	/* the submitter busy in a chain meanwhile (1 s) */
	atom_init(&sl, SYSLET_SYNC, SYS_nanosleep, &sret, &tsp, &zero, NULL,
		  NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&sl, NULL, &done, 0), SYSLET_DONE);
	atomic_store(&st_stop, 1);
	ASSERT_EQ(pthread_join(h, NULL), 0);
	if (!st_reaped)
		ASSERT_EQ(syscall(SYS_io_getevents, st_ctx, 1, 1, &ev, &to), 1);
	else
		ev = st_ev;
	tap_diag("read: res %lld; poller: longest io_getevents(timeout 0) "
		 "%lld ms, longest 10 ms round %lld ms", (long long)ev.res,
		 st_max_poll, st_max_iter);
	EXPECT_EQ(ev.res, 2 * BLK);
	/* a device read takes 200 ms; a poll and a 10 ms sleep take less */
	EXPECT_LT(st_max_poll, 150);
	EXPECT_LT(st_max_iter, 150);
	syscall(SYS_io_destroy, st_ctx);
	munmap(map, BLK);
	close(mfd);
	close(fd);
}

/* the poller in user space: the task work's pick finds it (pre-existing) */
TEST(aio_read_never_blocks_a_polling_thread_for_the_device)
{
	poll_stall_case(0);
}

/*
 * The poller polls in SYNC [io_getevents(timeout 0)] chains (busy: the
 * kick gives it no task work): d02740f's waiter
 * (syslet_aio_waiter_begin()'s flush) made it read on, inside the
 * zero-timeout io_getevents().
 */
TEST(aio_read_never_blocks_an_io_getevents_poll_in_a_chain)
{
	poll_stall_case(1);
}

/*
 * The same read when no async thread can be made (uid 1000 at its
 * RLIMIT_NPROC, single-threaded): the request completes whole, 8192
 * bytes, the rest read blocking by the thread of the process that posts
 * it, as a buffered read does in mainline (review 23 finding 5; before,
 * after review 7 finding 4, it completed short: 4096, the anonymous page
 * only, which no buffered read of a file returns).  Where the thread
 * reads it depends on where it posts: its task work on the way back to
 * user space here (the polls stay short), or, if a poll's own flush
 * posts it, inside that io_getevents(timeout 0), as mainline's
 * io_submit() would have waited: only when no thread can be had.
 */
TEST(aio_read_blocking_rest_with_no_thread_to_be_had_completes_whole)
{
	static unsigned char buf0[BLK] __attribute__((aligned(BLK)));
	struct timespec zero = { 0, 0 }, ms10 = { 0, 10000000 };
	struct rlimit rl = { 1, 1 };
	struct iocb cb, *cbp = &cb;
	long long t0, t1, max_poll = 0;
	struct iovec iov[2];
	struct io_event ev;
	aio_context_t actx = 0;
	long n = 0;
	char *map;
	int fd, mfd;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	if (geteuid() != 0)
		SKIP("needs root to become uid 1000");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	map = NULLB_MAP(&mfd, 72);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
	ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	/* this process only: no thread can be made */
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	iov[0].iov_base = buf0;
	iov[0].iov_len = BLK;
	iov[1].iov_base = map;
	iov[1].iov_len = BLK;
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREADV;
	cb.aio_buf = (uintptr_t)iov;
	cb.aio_nbytes = 2;
	cb.aio_offset = 24 << 20;
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	for (int i = 0; i < 300 && !n; i++) {
		t0 = now_ms();
		n = syscall(SYS_io_getevents, actx, 0, 1, &ev, &zero);
		t1 = now_ms();
		if (t1 - t0 > max_poll)
			max_poll = t1 - t0;
		if (!n)
			nanosleep(&ms10, NULL);
	}
	ASSERT_EQ(n, 1);
	tap_diag("read: res %lld; longest io_getevents(timeout 0) %lld ms",
		 (long long)ev.res, max_poll);
	EXPECT_EQ(ev.res, 2 * BLK);
	EXPECT_EQ(limits_now().nr_threads, 0);
	syscall(SYS_io_destroy, actx);
	munmap(map, BLK);
	close(mfd);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Finding 11: review 5 finding 3 is fixed for io_getevents() only: an    */
/* IOCB_FLAG_RESFD eventfd waited on in a chain is never signalled        */
/* ---------------------------------------------------------------------- */

static int ev_fd, ev_pipe[2];
static _Atomic pid_t ev_tid;
static long long ev_ms;
static int64_t ev_ret;

/* B: an event loop that waits in a SYSLET_SYNC chain [read(eventfd)] */
static void *eventfd_waiter(void *arg)
{
	uint64_t fd, bp, len = 8, cnt = 0;
	struct syslet_completion d;
	struct syslet_atom a;
	long long t0;

	(void)arg;
	fd = (uint64_t)ev_fd;
	bp = (uintptr_t)&cnt;
	atom_init(&a, SYSLET_SYNC, SYS_read, &ev_ret, &fd, &bp, &len, NULL);
	memset(&d, 0, sizeof(d));
	atomic_store(&ev_tid, sys_tid());
	t0 = now_ms();
	async_exec(&a, NULL, &d, 0);
	ev_ms = now_ms() - t0;
	/* the submitter's chain waits for this */
	if (write(ev_pipe[1], "b", 1) != 1)
		ev_ret = -999;
	return NULL;
}

/*
 * Every user thread runs a chain: B waits for the read's eventfd
 * (IOCB_FLAG_RESFD, how libaio/epoll event loops learn of completions) in
 * SYNC [read(eventfd)], A (the submitter) in SYNC [read(pipe)] until B
 * has its event.  The read's page comes in 200 ms; kio_tw_pick() finds no
 * thread outside a chain.  Before the fix it queued the task work on A
 * with TWA_RESUME, for its chain's end; nobody posted the read,
 * aio_complete() never signalled the eventfd: deadlock (a forked watchdog
 * breaks it after 8 s).  Now an async thread posts it (one made when A
 * began its chain with the read in flight: syslet_kio_chain_begin()).
 * With /proc/sys/fs/aio-syslet at 0 (mainline) io_submit() reads it at
 * once.  d02740f fixed exactly this for io_getevents()/io_destroy()
 * (syslet_aio_waiter) and for nothing else that waits for an aio
 * completion: eventfd read/poll/epoll, the mapped ring.
 */
static void eventfd_case(int nproc)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	uint64_t rfd, cp, one = 1;
	struct syslet_completion done;
	struct syslet_atom rd;
	struct iocb cb, *cbp = &cb;
	struct timespec to = { 5, 0 };
	struct io_event ev;
	aio_context_t actx = 0;
	int64_t rret = -12345;
	pthread_t b;
	pid_t dog;
	char ch;
	int fd;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	if (nproc && geteuid() != 0)
		SKIP("needs root to become uid 1000");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	ev_fd = (int)syscall(SYS_eventfd2, 0, 0);
	ASSERT_GE(ev_fd, 0);
	ASSERT_EQ(pipe(ev_pipe), 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	/* RLIMIT_NPROC binds only a user without CAP_SYS_RESOURCE */
	if (nproc) {
		ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
		ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	}
	/* the watchdog is another process: no thread of ours outside a chain */
	dog = fork();
	if (dog == 0) {
		uint64_t v = 1;
		struct timespec s8 = { 8, 0 };

		nanosleep(&s8, NULL);
		if (write(ev_fd, &v, 8) != 8 || write(ev_pipe[1], "d", 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_GT(dog, 0);
	ASSERT_EQ(pthread_create(&b, NULL, eventfd_waiter, NULL), 0);
	while (!atomic_load(&ev_tid))
		sched_yield();
	ASSERT_TRUE(sleeping(atomic_load(&ev_tid)));
	if (nproc) {
		/* uid 1000 has this thread, B and the watchdog: no more */
		struct rlimit rl = { 3, 3 };

		ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	}
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = BLK;
	cb.aio_offset = (20 + nproc) << 20;
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = ev_fd;
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	rfd = (uint64_t)ev_pipe[0];
	cp = (uintptr_t)&ch;
	atom_init(&rd, SYSLET_SYNC, SYS_read, &rret, &rfd, &cp, &one, NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&rd, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(b, NULL), 0);
	tap_diag("SYNC [read(eventfd)] returned %lld after %lld ms "
		 "(the read's page came after 200 ms; the watchdog at 8 s)",
		 (long long)ev_ret, ev_ms);
	EXPECT_EQ(ev_ret, 8);
	EXPECT_LT(ev_ms, 4000);
	kill(dog, SIGKILL);
	waitpid(dog, NULL, 0);
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &to), 1);
	tap_diag("the read completed with %lld", (long long)ev.res);
	/* posted by an async thread; with none to be had, -EAGAIN */
	EXPECT_EQ(ev.res, nproc ? -EAGAIN : BLK);
	if (nproc)
		EXPECT_EQ(limits_now().nr_threads, 0);
	syscall(SYS_io_destroy, actx);
	close(fd);
}

TEST(eventfd_of_a_read_done_while_every_thread_ran_a_chain)
{
	eventfd_case(0);
}

/*
 * The same with no async thread to be had (uid 1000 at its RLIMIT_NPROC,
 * so that the thread syslet_kio_chain_begin() makes is refused): the
 * read cannot be read on by any thread, and completes with -EAGAIN,
 * what abi.md gives a lone read that finds no thread and can make none,
 * instead of waiting for a chain's end that waits for it.
 */
TEST(eventfd_of_a_read_with_no_thread_to_be_had_completes_with_eagain)
{
	eventfd_case(1);
}

NULLB_MAIN()
