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
 * Findings 4 and 11: the blocking rest of an io_submit() read, and
 * completions while every thread runs a chain.
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

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

#define BLK	4096

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

static int loaded_nullb;

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

static int nullb_cold(int flags)
{
	int fd;

	if (!loaded_nullb)
		return -1;
	fd = open("/dev/nullb0", flags);
	if (fd >= 0 && ioctl(fd, BLKFLSBUF, 0)) {
		close(fd);
		return -1;
	}
	return fd;
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
	fd = nullb_cold(O_RDONLY);
	if (fd < 0)
		SKIP("no null_blk of ours (memory backed, 200 ms)");
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
	pp_fd = nullb_cold(O_RDONLY);
	if (pp_fd < 0)
		SKIP("no null_blk of ours (memory backed, 200 ms)");
	/* is there a PKRU at all (CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS)? */
	/* PKEY_DISABLE_ACCESS (1): the default PKRU's bits, ours unchanged */
	key = (int)syscall(SYS_pkey_alloc, 0, 1);
	if (key < 0)
		SKIP("no protection keys (pkey_alloc: %s): kbuf_here() is "
		     "always true", strerror(errno));
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

int main(int argc, char **argv)
{
	const char *root = getenv("SYSLET_MODROOT");
	char cmd[512];
	int ret;

	/* our own null_blk: memory backed (reads of it are zeros), 200 ms */
	if (access("/dev/nullb0", F_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "modprobe %s%s null_blk "
			 "memory_backed=1 completion_nsec=200000000 irqmode=2 "
			 "2>/dev/null", root ? "-d " : "", root ? root : "");
		if (!system(cmd)) {
			for (int i = 0; i < 50 && access("/dev/nullb0", F_OK); i++)
				usleep(20000);
			loaded_nullb = access("/dev/nullb0", F_OK) == 0;
		}
	}
	ret = tap_main(argc, argv);
	if (loaded_nullb &&
	    system("i=0; until rmmod null_blk 2>/dev/null; do "
		   "i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done"))
		ret = 1;
	return ret;
}
