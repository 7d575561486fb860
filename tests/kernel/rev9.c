// SPDX-License-Identifier: GPL-2.0
/*
 * Review 9 of the kernel engine (a hostile review of int8, 7f7156b): its
 * reproducers, each a test that failed on the kernel as of a68ea80.
 * Needs our own null_blk (memory backed: its reads are zeros; 200 ms a
 * read), loaded by main() when there is none.
 *
 * F1: a default-mode chain that reserved the process's only idle async
 * thread as its pass-on-block taker, and waits for an io_submit() read
 * without handing off (ppoll() with a signal mask, a task that used
 * io_uring): the read's completion waited for the reserved thread; a
 * released taker is woken for the work that waited for it.
 * F6: reads left for a busy async thread are posted by a user thread
 * whose chain ends.
 * F2: an O_DSYNC write for which no async thread can be made is written
 * in io_submit() when every thread runs a chain (-EBUSY), not queued
 * behind them.
 * F7: kernel work (an O_DSYNC write) runs with its submitter's
 * PR_SET_IO_FLUSHER flags (PF_MEMALLOC_NOIO, PF_LOCAL_THROTTLE).
 * F8: a read is not failed with -EAGAIN for lack of a thread when the
 * user thread that was busy at its completion is back in user space.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include "tap.h"
#include "sys.h"
#include "nullb.h"

/*
 * One SYSLET_ASYNC [getpid] chain, so that the process has one async
 * thread, idle afterwards (kept: the idle time is 60 s).  1 once it is.
 */
static int one_idle_async_thread(void)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = -1;

	sys_set_limits(4, 60000, 0);
	atom_init(&a, SYSLET_ASYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &c) ||
	    ret != getpid())
		return 0;
	for (int i = 0; i < 500; i++) {
		struct syslet_limits l = limits_now();

		if (l.nr_threads == 1 && l.nr_idle == 1)
			return 1;
		usleep(2000);
	}
	return 0;
}

/* the first async thread's TID once it sleeps (up to 10 s), or 0 */
static pid_t async_thread_asleep(void)
{
	pid_t w = 0;

	for (int i = 0; i < 500 && !threads_named(getpid(), "syslet", &w); i++)
		usleep(2000);
	return w && sleeping(w) ? w : 0;
}

/* ---------------------------------------------------------------------- */
/* F1: the reserved pass-on-block taker was counted as a thread to post   */
/* ---------------------------------------------------------------------- */

static void sigalrm_none(int sig)
{
	(void)sig;
}

/*
 * One user thread, one idle async thread W (left by an earlier chain).
 * The thread io_submit()s a cold read with RESFD=E, then runs a
 * default-mode chain whose one atom waits for E without a hand-off:
 * @uring 0, ppoll(E, 4 s) with a signal mask (test_restore_sigmask():
 * the mask is not the user context's own while it sleeps); @uring 1,
 * read(E) in a thread that set up an io_uring once (its io_uring task
 * context cannot move), ended by alarm(4) at the latest.  The chain's
 * submission reserves W as its taker; the read comes after 200 ms, the
 * thread runs a chain, so an async thread must post it.  Before the fix
 * syslet_kio_to_worker() counted W (nr_threads 1), set kio_post and woke
 * nobody: W waits for the chain's end, the chain for the read's eventfd,
 * until its timeout (ppoll returned 0 after 4 s, read -EINTR).  Now a
 * thread that will post is made after the reservation
 * (syslet_submit_pob()), and only unreserved threads count.
 */
static void reserved_taker_case(int uring)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	struct timespec to = { 4, 0 }, eto = { 5, 0 };
	uint64_t a0, a1, a2, a3, a4;
	struct syslet_completion done;
	struct syslet_atom a;
	struct pollfd pfd;
	struct io_event ev;
	aio_context_t actx = 0;
	int64_t ret = -12345;
	uint64_t cnt = 0;
	sigset_t empty;
	long long t0, ms;
	long n;
	int fd, efd;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	if (uring) {
		struct io_uring_params p;
		int ufd;

		memset(&p, 0, sizeof(p));
		ufd = (int)syscall(SYS_io_uring_setup, 2, &p);
		if (ufd < 0)
			SKIP("no io_uring (%s)", strerror(errno));
		/* the task context stays with the thread */
		close(ufd);
	}
	efd = (int)syscall(SYS_eventfd2, 0, 0);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	ASSERT_TRUE(one_idle_async_thread());
	ASSERT_EQ(nullb_submit_pread(actx, fd, buf, 28 + uring, efd), 1);
	if (uring) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigalrm_none;	/* no SA_RESTART: -EINTR */
		ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
		a0 = (uint64_t)efd;
		a1 = (uintptr_t)&cnt;
		a2 = 8;
		atom_init(&a, 0, SYS_read, &ret, &a0, &a1, &a2, NULL);
		alarm(4);
	} else {
		pfd.fd = efd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		sigemptyset(&empty);
		a0 = (uintptr_t)&pfd;
		a1 = 1;
		a2 = (uintptr_t)&to;
		a3 = (uintptr_t)&empty;
		a4 = 8;
		atom_init(&a, 0, SYS_ppoll, &ret, &a0, &a1, &a2, &a3);
		a.arg_ptr[4] = (uintptr_t)&a4;
	}
	memset(&done, 0, sizeof(done));
	t0 = now_ms();
	n = async_exec(&a, ring_new(4), &done, 0);
	ms = now_ms() - t0;
	alarm(0);
	tap_diag("default-mode [%s] returned %lld after %lld ms (async_exec "
		 "%ld; the read's page came after 200 ms)",
		 uring ? "read(eventfd), io_uring used" :
			 "ppoll(eventfd, 4 s, sigmask)",
		 (long long)ret, ms, n);
	/* no hand-off: done in the caller */
	EXPECT_EQ(n, SYSLET_DONE);
	EXPECT_EQ(ret, uring ? 8 : 1);
	EXPECT_LT(ms, 2000);
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &eto), 1);
	tap_diag("the read completed with %lld", (long long)ev.res);
	EXPECT_EQ(ev.res, BLK);
	syscall(SYS_io_destroy, actx);
	close(efd);
	close(fd);
}

TEST(read_posted_while_the_only_async_thread_is_a_ppoll_chains_taker)
{
	reserved_taker_case(0);
}

TEST(read_posted_while_the_only_async_thread_is_an_io_uring_users_taker)
{
	reserved_taker_case(1);
}

static int rk_efd;
static _Atomic int rk_ready;
static int rk_n;
static long long rk_ms;

/* U: the event loop, a user thread in poll(E) (the read's kick finds it) */
static void *rk_poller(void *arg)
{
	struct pollfd pfd = { .fd = rk_efd, .events = POLLIN };
	long long t0 = *(long long *)arg;

	atomic_store(&rk_ready, 1);
	rk_n = poll(&pfd, 1, 3000);
	rk_ms = now_ms() - t0;
	return NULL;
}

/*
 * max_threads 2: W1 runs SYSLET_ASYNC [read(pipe)], W2 is idle.  A cold
 * PREADV whose second buffer is a shared mapping of the slow device
 * (its rest must be read blocking, by an async thread: rev7.c), RESFD=E;
 * then the submitter runs a default-mode [ppoll(pipe, 500 ms, sigmask)]
 * chain, which reserves W2 and never hands off.  At 200 ms U posts the
 * read and queues its rest (ctx->kio_queue) for W1, busy: W2 is
 * reserved.  At 500 ms the chain releases W2, back on ctx->idle asleep.
 * Before the fix the release woke it only for a queued chain: the rest
 * waited for W1's chain (the pipe written after U's 3 s poll) or W2's
 * idle timeout, and U's poll timed out; now W2 is woken and reads it (at
 * ~700 ms).
 */
TEST(released_taker_is_woken_for_a_reads_blocking_rest)
{
	static unsigned char buf0[BLK] __attribute__((aligned(BLK)));
	struct timespec to = { 0, 500000000 }, eto = { 5, 0 };
	struct syslet_ring *r = ring_new(4);
	uint64_t a0, a1, a2, a3, a4, r0, r1, r2;
	struct syslet_completion done, c;
	struct syslet_atom a, rd, g;
	struct iocb cb, *cbp = &cb;
	struct pollfd pfd;
	struct iovec iov[2];
	struct io_event ev;
	aio_context_t actx = 0;
	int64_t ret = -12345, rret = -12345, gret = -1;
	long long t0;
	sigset_t empty;
	pthread_t u;
	int fd, mfd, p[2], q[2];
	char ch = 0, *map;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	map = NULLB_MAP(&mfd, 88);
	rk_efd = (int)syscall(SYS_eventfd2, 0, 0);
	ASSERT_GE(rk_efd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(pipe(q), 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	/* W1 busy, then W2 made for an ASYNC [getpid] chain, idle after */
	sys_set_limits(2, 60000, 0);
	r0 = (uint64_t)p[0];
	r1 = (uintptr_t)&ch;
	r2 = 1;
	atom_init(&rd, SYSLET_ASYNC, SYS_read, &rret, &r0, &r1, &r2, NULL);
	ASSERT_EQ(async_exec(&rd, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_NE(async_thread_asleep(), 0);
	atom_init(&g, SYSLET_ASYNC, SYS_getpid, &gret, NULL, NULL, NULL, NULL);
	ASSERT_EQ(async_exec(&g, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(gret, getpid());
	for (int i = 0; i < 500; i++) {
		struct syslet_limits l = limits_now();

		if (l.nr_threads == 2 && l.nr_idle == 1)
			break;
		usleep(2000);
	}
	ASSERT_EQ(limits_now().nr_threads, 2);
	ASSERT_EQ(limits_now().nr_idle, 1);
	t0 = now_ms();
	ASSERT_EQ(pthread_create(&u, NULL, rk_poller, &t0), 0);
	while (!atomic_load(&rk_ready))
		sched_yield();
	iov[0].iov_base = buf0;
	iov[0].iov_len = BLK;
	iov[1].iov_base = map;
	iov[1].iov_len = BLK;
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREADV;
	cb.aio_buf = (uintptr_t)iov;
	cb.aio_nbytes = 2;
	cb.aio_offset = 80 << 20;
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = rk_efd;
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	pfd.fd = q[0];
	pfd.events = POLLIN;
	sigemptyset(&empty);
	a0 = (uintptr_t)&pfd;
	a1 = 1;
	a2 = (uintptr_t)&to;
	a3 = (uintptr_t)&empty;
	a4 = 8;
	atom_init(&a, 0, SYS_ppoll, &ret, &a0, &a1, &a2, &a3);
	a.arg_ptr[4] = (uintptr_t)&a4;
	memset(&done, 0, sizeof(done));
	EXPECT_EQ(async_exec(&a, r, &done, 0), SYSLET_DONE);
	EXPECT_EQ(ret, 0);
	ASSERT_EQ(pthread_join(u, NULL), 0);
	tap_diag("U's poll(eventfd, 3 s): %d at %lld ms (the chain released "
		 "its taker at 500 ms; the rest takes 200 ms)", rk_n, rk_ms);
	EXPECT_EQ(rk_n, 1);
	EXPECT_LT(rk_ms, 2000);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &eto), 1);
	tap_diag("the read completed with %lld", (long long)ev.res);
	EXPECT_EQ(ev.res, 2 * BLK);
	syscall(SYS_io_destroy, actx);
	munmap(map, BLK);
	close(mfd);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* F6: reads parked for a busy async thread, offered back at a chain's end */
/* ---------------------------------------------------------------------- */

/*
 * max_threads 1: the only async thread runs SYSLET_ASYNC [read(pipe)]
 * and blocks.  The only user thread io_submit()s a cold read with
 * RESFD=E, then runs SYSLET_SYNC [nanosleep 300 ms] (no spare: at
 * max_threads).  The read comes at 200 ms while every thread runs a
 * chain: it is left for an async thread (kio_post).  The user thread
 * then leaves its chain and waits for E with poll(), the usual event
 * loop.  Before the fix nothing posted the read until the async thread's
 * chain ended (the pipe written after the 2 s poll): poll timed out.
 * Now the chain's end kicks the reads that wait (syslet_kio_chain_end()):
 * E is readable at ~300 ms.
 */
TEST(read_left_for_a_busy_async_thread_is_posted_when_a_chain_ends)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	struct timespec ms300 = { 0, 300000000 }, eto = { 5, 0 };
	struct syslet_ring *r = ring_new(4);
	uint64_t a0, a1, a2, b0, b1;
	struct syslet_completion done, c;
	struct syslet_atom rd, sl;
	struct pollfd pfd;
	struct io_event ev;
	aio_context_t actx = 0;
	int64_t rret = -12345, sret = -12345;
	long long t0, ms;
	char ch = 0;
	int fd, efd, p[2], n;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	efd = (int)syscall(SYS_eventfd2, 0, 0);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	sys_set_limits(1, 60000, 0);
	a0 = (uint64_t)p[0];
	a1 = (uintptr_t)&ch;
	a2 = 1;
	atom_init(&rd, SYSLET_ASYNC, SYS_read, &rret, &a0, &a1, &a2, NULL);
	ASSERT_EQ(async_exec(&rd, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_NE(async_thread_asleep(), 0);
	ASSERT_EQ(nullb_submit_pread(actx, fd, buf, 32, efd), 1);
	t0 = now_ms();
	b0 = (uintptr_t)&ms300;
	b1 = 0;
	atom_init(&sl, SYSLET_SYNC, SYS_nanosleep, &sret, &b0, &b1, NULL, NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&sl, NULL, &done, 0), SYSLET_DONE);
	pfd.fd = efd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	n = poll(&pfd, 1, 2000);
	ms = now_ms() - t0;
	tap_diag("poll(eventfd, 2 s) after the SYNC [nanosleep 300 ms] chain: "
		 "%d (revents %#x) at %lld ms (the read's page came at 200 ms)",
		 n, pfd.revents, ms);
	EXPECT_EQ(n, 1);
	EXPECT_LT(ms, 1500);
	/* the async thread's chain ends */
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(rret, 1);
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &eto), 1);
	tap_diag("the read completed with %lld", (long long)ev.res);
	EXPECT_EQ(ev.res, BLK);
	syscall(SYS_io_destroy, actx);
	close(efd);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* F2: no thread could be made: the write is not queued behind chains     */
/* ---------------------------------------------------------------------- */

/*
 * uid 1000 at RLIMIT_NPROC 2: this thread and one async thread.  That
 * thread runs SYSLET_ASYNC [io_getevents(actx, 1, 1, 5 s)], waiting for
 * the O_DSYNC write then io_submit()ted on actx (the slow device: 200
 * ms).  No idle thread, below max_threads, and the thread for the write
 * cannot be made: every thread runs a chain, so syslet_queue_kwork()
 * must say -EBUSY and io_submit() write it, as at max_threads.  Before
 * the fix the write was queued for the busy thread, whose chain waits for
 * it: io_getevents() returned 0 at its 5 s timeout, and the write ran
 * only after (holding the file system's freeze protection meanwhile).
 */
TEST(dsync_write_with_no_thread_to_be_had_is_not_queued_behind_chains)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	struct timespec to5 = { 5, 0 }, eto = { 5, 0 };
	struct syslet_ring *r = ring_new(4);
	struct rlimit rl = { 2, 2 };
	uint64_t a0, a1, a2, a3, a4;
	struct syslet_completion c;
	struct iocb cb, *cbp = &cb;
	struct io_event ev[2];
	struct syslet_atom a;
	aio_context_t actx = 0;
	int64_t ret = -12345;
	long long t0, ms;
	int fd, n;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	if (geteuid() != 0)
		SKIP("needs root to become uid 1000");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	close(fd);
	fd = open("/dev/nullb0", O_WRONLY | O_DSYNC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
	ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	sys_set_limits(4, 60000, 0);
	a0 = (uint64_t)actx;
	a1 = 1;
	a2 = 1;
	a3 = (uintptr_t)ev;
	a4 = (uintptr_t)&to5;
	atom_init(&a, SYSLET_ASYNC, SYS_io_getevents, &ret, &a0, &a1, &a2, &a3);
	a.arg_ptr[4] = (uintptr_t)&a4;
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_NE(async_thread_asleep(), 0);
	ASSERT_EQ(limits_now().nr_threads, 1);
	memset(buf, 0x5a, sizeof(buf));
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = BLK;
	cb.aio_offset = 40 << 20;
	t0 = now_ms();
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	ASSERT_TRUE(ring_get(r, &c));
	ms = now_ms() - t0;
	tap_diag("ASYNC [io_getevents(1, 5 s)] returned %lld %lld ms after the "
		 "O_DSYNC write's io_submit() (the device: 200 ms)",
		 (long long)ret, ms);
	EXPECT_EQ(ret, 1);
	EXPECT_LT(ms, 2500);
	if (ret != 1) {
		n = (int)syscall(SYS_io_getevents, actx, 1, 1, ev, &eto);
		ASSERT_EQ(n, 1);
	}
	EXPECT_EQ(ev[0].res, BLK);
	EXPECT_EQ(limits_now().nr_threads, 1);
	syscall(SYS_io_destroy, actx);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* F7: kernel work carries its submitter's PR_SET_IO_FLUSHER               */
/* ---------------------------------------------------------------------- */

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER	57
#endif
#define F_MEMALLOC_NOIO		0x00080000u
#define F_LOCAL_THROTTLE	0x00100000u

/* field 9 of /proc/self/task/@tid/stat, the task's flags; ~0 if gone */
static unsigned int task_flags(pid_t tid)
{
	char path[64], line[512], *s;
	unsigned int fl = ~0u;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return fl;
	if (fgets(line, sizeof(line), f) && (s = strrchr(line, ')')) &&
	    sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %u", &fl) != 1)
		fl = ~0u;
	fclose(f);
	return fl;
}

/*
 * A storage daemon's thread sets PR_SET_IO_FLUSHER (PF_MEMALLOC_NOIO |
 * PF_LOCAL_THROTTLE: its writes are not throttled on the global dirty
 * limit, its allocations do not recurse into I/O) and io_submit()s an
 * O_DSYNC write of 1 MiB to the slow device.  Mainline writes it in
 * that thread, with the flags.  The engine writes it in an async thread,
 * made before (by the same thread, without the flag): before the fix its
 * flags stayed clear while it wrote (sampled from /proc during the
 * write); now it carries the submitter's for the work, and has exactly
 * its own again after.
 */
TEST(dsync_write_in_an_async_thread_carries_the_submitters_io_flusher)
{
	const unsigned int both = F_MEMALLOC_NOIO | F_LOCAL_THROTTLE;
	unsigned char *buf = aligned_alloc(BLK, 1 << 20);
	struct timespec zero = { 0, 0 };
	struct iocb cb, *cbp = &cb;
	unsigned int fl, seen = 0, before, after;
	struct io_event ev;
	aio_context_t actx = 0;
	int fd, samples = 0;
	long n = 0;
	pid_t w;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	if (geteuid() != 0)
		SKIP("PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	close(fd);
	fd = open("/dev/nullb0", O_WRONLY | O_DSYNC);
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(buf != NULL);
	memset(buf, 0xa5, 1 << 20);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	ASSERT_TRUE(one_idle_async_thread());
	ASSERT_EQ(threads_named(getpid(), "syslet", &w), 1);
	before = task_flags(w);
	ASSERT_EQ(before & both, 0);
	ASSERT_EQ(prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0), 0);
	ASSERT_EQ(task_flags(sys_tid()) & both, both);
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = 1 << 20;
	cb.aio_offset = 48 << 20;
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	for (int i = 0; i < 20000 && !n; i++) {
		fl = task_flags(w);
		if (fl != ~0u) {
			seen |= fl & both;
			samples++;
		}
		n = syscall(SYS_io_getevents, actx, 0, 1, &ev, &zero);
		if (!n)
			usleep(1000);
	}
	ASSERT_EQ(n, 1);
	EXPECT_EQ(ev.res, 1 << 20);
	after = task_flags(w);
	tap_diag("async thread %d: flags %#x before, IO_FLUSHER bits %#x seen "
		 "in %d samples during the write, %#x after", (int)w, before,
		 seen, samples, after);
	EXPECT_EQ(seen, both);
	/* its own again (bits it had: none) */
	EXPECT_EQ(after & both, 0);
	syscall(SYS_io_destroy, actx);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* F8: -EAGAIN decided on a stale "every user thread is busy"             */
/* ---------------------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * uid 1000 at RLIMIT_NPROC 1 (no async thread to be had), one user
 * thread.  It io_submit()s a cold read (RESFD=E) on CPU 0, where the
 * device's completion then comes, moves to CPU 1 and runs SYNC
 * [nanosleep 300 ms]; a SCHED_FIFO process spins on CPU 0 from then to
 * ~650 ms, so that the kworker the read's kick queues there at 200 ms
 * (every user thread ran a chain) runs only after the chain ended.  The
 * thread then waits for E in poll().  Before the fixes the kworker,
 * at ~650 ms, found no async thread and completed the read with -EAGAIN
 * (the thread, long back in user space, was not looked at again); now
 * the chain's end posts it (finding 6: at ~300 ms, the whole read), and
 * the kworker, should it come first, looks again (kio_post_again()).
 * It passes without the second look too (review 10 finding 7): the
 * chain's end posts first.  No test isolates the look: every way a user
 * thread leaves a chain kicks, and a threadlet (whose end does not)
 * needs a parked spare, a free user thread that takes the kick itself.
 */
TEST(read_is_not_failed_for_a_chain_that_ended_before_the_kworker_ran)
{
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	struct timespec ms300 = { 0, 300000000 }, eto = { 5, 0 };
	struct rlimit rl = { 1, 1 };
	struct syslet_completion done;
	struct syslet_atom sl;
	struct pollfd pfd;
	struct io_event ev;
	aio_context_t actx = 0;
	int64_t sret = -12345;
	uint64_t b0, b1;
	long long t0, ms;
	int fd, efd, go[2], n, status;
	pid_t spin;
	char ch;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	if (geteuid() != 0)
		SKIP("needs root (SCHED_FIFO, uid 1000)");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP("needs 2 CPUs");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	efd = (int)syscall(SYS_eventfd2, 0, 0);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	spin = fork();
	if (spin == 0) {
		struct sched_param sp = { .sched_priority = 1 };
		long long end;

		pin(0);
		if (sched_setscheduler(0, SCHED_FIFO, &sp) ||
		    read(go[0], &ch, 1) != 1)
			_exit(1);
		end = now_ms() + 650;
		while (now_ms() < end)
			;
		_exit(0);
	}
	ASSERT_GT(spin, 0);
	ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
	ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	pin(0);
	ASSERT_EQ(nullb_submit_pread(actx, fd, buf, 56, efd), 1);
	t0 = now_ms();
	pin(1);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	b0 = (uintptr_t)&ms300;
	b1 = 0;
	atom_init(&sl, SYSLET_SYNC, SYS_nanosleep, &sret, &b0, &b1, NULL, NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&sl, NULL, &done, 0), SYSLET_DONE);
	pfd.fd = efd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	n = poll(&pfd, 1, 2000);
	ms = now_ms() - t0;
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &eto), 1);
	ASSERT_EQ(waitpid(spin, &status, 0), spin);
	tap_diag("after SYNC [nanosleep 300 ms], poll(eventfd): %d at %lld ms; "
		 "the read completed with %lld (CPU 0 busy until ~650 ms; "
		 "spinner status %#x)", n, ms, (long long)ev.res, status);
	ASSERT_EQ(status, 0);
	EXPECT_EQ(ev.res, BLK);
	EXPECT_LT(ms, 600);
	EXPECT_EQ(limits_now().nr_threads, 0);
	syscall(SYS_io_destroy, actx);
	close(efd);
	close(fd);
}

NULLB_MAIN()
