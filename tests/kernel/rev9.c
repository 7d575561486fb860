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
 * io_uring): the read's completion waited for the reserved thread.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include "tap.h"
#include "sys.h"

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

#define BLK	4096

static int loaded_nullb;

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

/* an io_submit() PREAD of one cold block at @off MiB, RESFD @efd */
static int submit_read(aio_context_t actx, int fd, void *buf, int off,
		       int efd)
{
	struct iocb cb, *cbp = &cb;

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = BLK;
	cb.aio_offset = (long long)off << 20;
	if (efd >= 0) {
		cb.aio_flags = IOCB_FLAG_RESFD;
		cb.aio_resfd = efd;
	}
	return (int)syscall(SYS_io_submit, actx, 1, &cbp);
}

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
	fd = nullb_cold(O_RDONLY);
	if (fd < 0)
		SKIP("no null_blk of ours (memory backed, 200 ms)");
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
	ASSERT_EQ(submit_read(actx, fd, buf, 28 + uring, efd), 1);
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
