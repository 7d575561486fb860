// SPDX-License-Identifier: GPL-2.0
/*
 * Review 8 of the kernel engine (a hostile review of d02740f..77b075e):
 * its reproducers, each a test that failed on the kernel as of 1c22e5d.
 * Needs our own null_blk (memory backed: its reads are zeros; 200 ms a
 * read), loaded by main() when there is none; the protection key tests
 * need CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS and a CPU with PKU (they
 * skip elsewhere).
 *
 * R8-1: a pass-on-block hand-off while a thread reads an io_submit() read
 * on with the submitter's PKRU loaded gave the caller's user context the
 * submitter's PKRU.
 * R8-2: a direct read's result (*ret_ptr, the ring) is written with the
 * submitter's PKRU, not that of the thread that posts it.
 * R8-5: syslet_aio_complete's submitter is the submitting thread's TID,
 * also after its user context was handed off.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include "tap.h"
#include "sys.h"
#include "nullb.h"
#include "tracefs.h"

static inline uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	__asm__ volatile(".byte 0x0f,0x01,0xee" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static inline void wrpkru(uint32_t pkru)
{
	__asm__ volatile(".byte 0x0f,0x01,0xef" :: "a"(pkru), "c"(0), "d"(0)
			 : "memory");
}

/* Are there protection keys (a PKRU per thread)? */
static int have_pkeys(void)
{
	/* PKEY_DISABLE_ACCESS: the default PKRU's bits, ours unchanged */
	int key = (int)syscall(SYS_pkey_alloc, 0, 1);

	if (key < 0)
		return 0;
	syscall(SYS_pkey_free, key);
	return 1;
}

/*
 * Makes sure an idle async thread is there to take a hand-off: runs
 * default-mode [nanosleep 10 ms] chains until one is handed off (its
 * giver then lives on as an async thread, idle once the sleep is over).
 */
static int idle_async_thread(void)
{
	static struct timespec ms10 = { 0, 10000000 }, ms30 = { 0, 30000000 };
	static int64_t ret;
	static uint64_t tsp, zero;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done, c;
	struct syslet_atom a;

	tsp = (uintptr_t)&ms10;
	for (int i = 0; i < 5; i++) {
		atom_init(&a, 0, SYS_nanosleep, &ret, &tsp, &zero, NULL, NULL);
		memset(&done, 0, sizeof(done));
		if (async_exec(&a, r, &done, 0) == SYSLET_QUEUED) {
			if (!ring_get(r, &c))
				return 0;
			nanosleep(&ms30, NULL);
			return 1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* R8-2: a direct read's result is stored with the submitter's PKRU        */
/* ---------------------------------------------------------------------- */

static int dr_key;
static struct syslet_ring *dr_ring;
static _Atomic int dr_ready;
static long dr_waited;

/* B: write-disables the key A's ret_ptr page has, then posts A's read */
static void *dr_poster(void *arg)
{
	struct timespec to = { 5, 0 };

	(void)arg;
	/* PKEY_DISABLE_WRITE (2) for dr_key, in this thread only */
	wrpkru(rdpkru() | (2u << (2 * dr_key)));
	atomic_store(&dr_ready, 1);
	dr_waited = async_wait(dr_ring, 1, &to);
	return NULL;
}

/*
 * A allocates key k (writable for A) and tags the page of an atom's
 * ret_ptr with it; B write-disables k for itself and waits in
 * async_wait().  A submits a SYSLET_ASYNC pread64() of O_DIRECT null_blk,
 * issued from A (kio_direct(): no async thread), then runs a SYNC chain
 * of 1 s: B, in async_wait(), is the thread that posts the read.  It
 * posted it with its own PKRU: put_user() of the result faulted, the
 * completion's status was -EFAULT and *ret_ptr kept its old value (an
 * async thread would have run the read with A's PKRU and written both).
 */
TEST(a_direct_reads_result_is_stored_with_the_submitters_pkru)
{
	static struct timespec s1 = { 1, 0 };
	uint64_t fd64, buf64, len64 = BLK, off64 = 8 << 20, tsp, zero = 0;
	struct syslet_completion done, c;
	struct syslet_atom a, sl;
	volatile int64_t *retp;
	int64_t sret = -12345;
	unsigned char *buf;
	pthread_t b;
	int fd;

	REQUIRE_SYSLET();
	if (!have_pkeys())
		SKIP("no protection keys");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY | O_DIRECT);
	if (limits_now().nr_threads != 0)
		SKIP("async threads left: cannot tell a direct read");
	dr_key = (int)syscall(SYS_pkey_alloc, 0, 0);
	ASSERT_GE(dr_key, 0);
	retp = mmap(NULL, BLK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(retp != MAP_FAILED);
	ASSERT_EQ(syscall(SYS_pkey_mprotect, retp, BLK, PROT_READ | PROT_WRITE,
			  dr_key), 0);
	*retp = -12345;
	buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(buf != MAP_FAILED);
	memset(buf, 0xee, BLK);
	dr_ring = ring_new(8);
	ASSERT_EQ(pthread_create(&b, NULL, dr_poster, NULL), 0);
	while (!atomic_load(&dr_ready))
		sched_yield();

	fd64 = (uint64_t)fd;
	buf64 = (uintptr_t)buf;
	atom_init(&a, SYSLET_ASYNC, SYS_pread64, (int64_t *)retp, &fd64,
		  &buf64, &len64, &off64);
	ASSERT_EQ(async_exec(&a, dr_ring, NULL, 0), SYSLET_QUEUED);
	/*
	 * Issued from A (kio_direct()): no async thread made.  (The chain
	 * A begins next makes a spare one, since a read is in flight:
	 * review 7 finding 11's fix; it is not the read's.)
	 */
	EXPECT_EQ(limits_now().nr_threads, 0);
	/* A busy in a chain for 1 s: B posts the read */
	tsp = (uintptr_t)&s1;
	atom_init(&sl, SYSLET_SYNC, SYS_nanosleep, &sret, &tsp, &zero, NULL,
		  NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&sl, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(b, NULL), 0);
	ASSERT_TRUE(ring_get(dr_ring, &c));
	tap_diag("B's async_wait() %ld; status %lld, *ret_ptr %lld, %u async "
		 "threads", dr_waited, (long long)c.status, (long long)*retp,
		 limits_now().nr_threads);
	EXPECT_EQ(dr_waited, 1);
	EXPECT_EQ(c.status, BLK);		/* was -EFAULT */
	EXPECT_EQ(*retp, BLK);			/* was -12345 */
	EXPECT_EQ(buf[0], 0);
	munmap((void *)retp, BLK);
	munmap(buf, BLK);
	syscall(SYS_pkey_free, dr_key);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* R8-1: no hand-off gives the caller's user context the submitter's PKRU  */
/* ---------------------------------------------------------------------- */

static aio_context_t pk_ctx;
static _Atomic int pk_ready, pk_stop;
static uint32_t pk_mine, pk_after;
static int pk_bad, pk_queued, pk_chains;
static long long pk_long_ms;

/* atoms of a poll chain: long, so that B is in a chain almost always */
#define PK_ATOMS	128

/*
 * B: a key of its own (its PKRU is not A's), polls the aio context in
 * default-mode (pass-on-block) chains of PK_ATOMS io_getevents(min 0,
 * timeout 0).  After each async_exec() its PKRU must still be its own.
 * The chains' memory is static: a handed-off chain's giver writes it
 * later.  A chain that took 100 ms or more read the request on (a poll
 * with a zero timeout does not wait otherwise; the read on waits for
 * the device).
 */
static void *pk_poller(void *arg)
{
	static struct timespec zero = { 0, 0 };
	static uint64_t a0, a1, a2 = 1, a3, a4;
	static struct syslet_atom a[PK_ATOMS];
	static struct syslet_completion done;
	static int64_t ret[PK_ATOMS];
	static struct io_event ev;
	long long t0, ms;
	long how;

	(void)arg;
	if (syscall(SYS_pkey_alloc, 0, 0) < 0 || !idle_async_thread()) {
		atomic_store(&pk_ready, -1);
		return NULL;
	}
	pk_mine = rdpkru();
	a0 = pk_ctx;
	a3 = (uintptr_t)&ev;
	a4 = (uintptr_t)&zero;
	for (int i = 0; i < PK_ATOMS; i++) {
		/* no ring: a handed-off chain completes unposted */
		atom_init(&a[i], SYSLET_NO_COMPLETE, SYS_io_getevents, &ret[i],
			  &a0, &a1, &a2, &a3);
		a[i].arg_ptr[4] = (uintptr_t)&a4;
		if (i + 1 < PK_ATOMS)
			a[i].next = (uintptr_t)&a[i + 1];
	}
	atomic_store(&pk_ready, 1);
	while (!atomic_load(&pk_stop)) {
		memset(&done, 0, sizeof(done));
		t0 = now_ms();
		how = async_exec(&a[0], NULL, &done, 0);
		pk_after = rdpkru();	/* the user context's, now */
		ms = now_ms() - t0;
		if (how >= 0)
			pk_chains++;
		if (how == SYSLET_QUEUED)
			pk_queued++;
		if (pk_after != pk_mine) {
			pk_bad = 1;
			/* our PKRU back, for what follows */
			wrpkru(pk_mine);
			break;
		}
		if (how == SYSLET_DONE && ms > pk_long_ms)
			pk_long_ms = ms;
	}
	return NULL;
}

/*
 * A submits an io_submit() PREADV of a cold block whose second buffer is
 * a not yet faulted page of a MAP_SHARED mapping of the same slow device,
 * then runs a SYNC chain (busy: the kick's task work waits for A).  B
 * reads the request on in its io_getevents() atom (the waiter's flush)
 * with A's PKRU loaded; the copy to the mapped page faults, the rest is
 * read blocking (syslet_aio_sync()), the page's fault sleeps 200 ms.
 * That sleep handed B's user context off, with the PKRU it had then,
 * A's: async_exec() returned SYSLET_QUEUED in B with A's PKRU.
 */
TEST(a_hand_off_during_a_read_on_keeps_the_callers_pkru)
{
	static unsigned char buf0[BLK] __attribute__((aligned(BLK)));
	static struct timespec s1 = { 1, 0 };
	uint64_t tsp = (uintptr_t)&s1, zero = 0;
	struct syslet_completion done;
	struct iocb cb, *cbp = &cb;
	struct syslet_atom sl;
	struct iovec iov[2];
	struct timespec to = { 5, 0 };
	struct io_event ev;
	int64_t sret = -12345;
	uint32_t pk_a;
	long n;
	pthread_t b;
	int fd, mfd;
	char *map;

	REQUIRE_SYSLET();
	if (!have_pkeys())
		SKIP("no protection keys");
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	mfd = open("/dev/nullb0", O_RDWR);
	ASSERT_GE(mfd, 0);
	map = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 64 << 20);
	ASSERT_TRUE(map != MAP_FAILED);		/* not touched: not mapped */
	ASSERT_EQ(syscall(SYS_io_setup, 4, &pk_ctx), 0);
	ASSERT_EQ(pthread_create(&b, NULL, pk_poller, NULL), 0);
	while (!atomic_load(&pk_ready))
		sched_yield();
	ASSERT_EQ(atomic_load(&pk_ready), 1);
	pk_a = rdpkru();
	ASSERT_NE(pk_a, pk_mine);		/* B's PKRU is not A's */
	iov[0] = (struct iovec){ buf0, BLK };
	iov[1] = (struct iovec){ map, BLK };
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREADV;
	cb.aio_buf = (uintptr_t)iov;
	cb.aio_nbytes = 2;
	cb.aio_offset = 16 << 20;
	ASSERT_EQ(syscall(SYS_io_submit, pk_ctx, 1, &cbp), 1);
	/* A busy for 1 s: the kick's task work waits on A (TWA_RESUME) */
	atom_init(&sl, SYSLET_SYNC, SYS_nanosleep, &sret, &tsp, &zero, NULL,
		  NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&sl, NULL, &done, 0), SYSLET_DONE);
	atomic_store(&pk_stop, 1);
	ASSERT_EQ(pthread_join(b, NULL), 0);
	/* the event, if B's polls did not reap it */
	n = syscall(SYS_io_getevents, pk_ctx, 0, 1, &ev, &to);
	tap_diag("B's PKRU 0x%x, after its last chain 0x%x, A's 0x%x; %d "
		 "chains, %d hand-offs, the longest chain run in B %lld ms",
		 pk_mine, pk_after, pk_a, pk_chains, pk_queued, pk_long_ms);
	EXPECT_EQ(pk_bad, 0);
	EXPECT_EQ(pk_after, pk_mine);		/* was A's */
	if (n == 1)
		EXPECT_EQ(ev.res, 2 * BLK);
	if (!pk_bad && pk_long_ms < 100)
		SKIP("B did not read the request on in a chain: timing");
	syscall(SYS_io_destroy, pk_ctx);
	munmap(map, BLK);
	close(mfd);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* R8-5: syslet_aio_complete's submitter after a hand-off                   */
/* ---------------------------------------------------------------------- */

/* 0: tracefs mounted, syslet_aio_complete on (or off), the buffer empty */
static int complete_tracing(int on)
{
	if (tracefs_find())
		return -1;
	tr_write("tracing_on", "0");
	if (tr_write("events/syslet/syslet_aio_complete/enable",
		     on ? "1" : "0"))
		return -1;
	if (on && (tr_write("trace", "") || tr_write("tracing_on", "1")))
		return -1;
	return 0;
}

/*
 * A io_submit()s a cold read, then runs a default-mode [nanosleep 300 ms]
 * chain, which is handed off: A's user context, and its TID, go to the
 * taker (syslet_exchange_tids()), the task that called io_submit() lives
 * on as an async thread with the taker's old TID.  The read completes
 * and is posted; its syslet_aio_complete named task_pid_nr() of the task
 * that called io_submit(): the async thread's new TID, not A's.
 */
TEST(aio_complete_names_the_submitter_after_a_hand_off)
{
	enum { UD = 0xa8500 };
	static unsigned char buf[BLK] __attribute__((aligned(BLK)));
	static struct timespec ms300 = { 0, 300000000 };
	static uint64_t tsp, zero;
	static int64_t sret;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done, c;
	struct timespec to = { 5, 0 };
	struct iocb cb, *cbp = &cb;
	struct syslet_atom a;
	aio_context_t actx = 0;
	struct io_event ev;
	pid_t me = sys_tid(), sub = -1;
	char want[64], *t;
	const char *e;
	long how;
	int fd;

	REQUIRE_SYSLET();
	if (access("/proc/sys/fs/aio-syslet", F_OK))
		SKIP("no /proc/sys/fs/aio-syslet (CONFIG_SYSLET_AIO)");
	fd = NULLB_COLD_OR_SKIP(O_RDONLY);
	if (complete_tracing(1))
		SKIP("no tracefs or no syslet_aio_complete event");
	ASSERT_TRUE(idle_async_thread());
	ASSERT_EQ(syscall(SYS_io_setup, 4, &actx), 0);
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = BLK;
	cb.aio_offset = 24 << 20;
	cb.aio_data = UD;
	ASSERT_EQ(syscall(SYS_io_submit, actx, 1, &cbp), 1);
	tsp = (uintptr_t)&ms300;
	atom_init(&a, 0, SYS_nanosleep, &sret, &tsp, &zero, NULL, NULL);
	memset(&done, 0, sizeof(done));
	how = async_exec(&a, r, &done, 0);
	ASSERT_EQ(sys_tid(), me);	/* the TID goes with the user context */
	ASSERT_EQ(syscall(SYS_io_getevents, actx, 1, 1, &ev, &to), 1);
	EXPECT_EQ(ev.res, BLK);
	if (how == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(complete_tracing(0), 0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "user_data 0x%x ", UD);
	e = strstr(t, want);
	if (e)
		e = strstr(e, " submitter ");
	if (e)
		sub = (pid_t)atoi(e + 11);
	tap_diag("async_exec() %ld; A's TID %d, the event's submitter %d",
		 how, me, sub);
	if (how != SYSLET_QUEUED)
		SKIP("the chain was not handed off");
	EXPECT_EQ(sub, me);
	free(t);
	syscall(SYS_io_destroy, actx);
	close(fd);
}

NULLB_MAIN()
