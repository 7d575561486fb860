// SPDX-License-Identifier: GPL-2.0
/*
 * Direct reads without a thread (kernel/syslet/kio.c): a SYSLET_ASYNC
 * chain that is one pread64() of a block device opened with O_DIRECT is
 * issued from the caller as an asynchronous kiocb and posted by the
 * completion, so no async thread is made for it; anything else still
 * goes to an async thread.  The same checks apply as in a thread
 * (seccomp), cancel reaches a read in flight, and a process may exit
 * with reads in flight.
 *
 * Devices: a loop device over a file with known contents (data checks),
 * and null_blk with 200 ms timer completions (reads that stay in flight).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "tap.h"
#include "sys.h"
#include "filter.h"

#define BLK	4096
#define NBLK	256

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

static void set_limits(unsigned int threads)
{
	struct syslet_limits l = { .size = sizeof(l), .max_threads = threads };

	async_limits(&l, NULL);
}

/*
 * A loop device over 1 MiB whose block i is filled with byte i; set up
 * by main() before the tests (each runs in a child of its own).
 */
static char loopdev[64];

static int loop_setup(void)
{
	static const char img[] = "/tmp/syslet-kio.img";
	char *buf = malloc(BLK);
	int fd;

	if (loopdev[0])
		return 0;
	if (!buf)
		return -1;
	fd = open(img, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	for (int i = 0; i < NBLK; i++) {
		memset(buf, i, BLK);
		if (write(fd, buf, BLK) != BLK)
			return -1;
	}
	close(fd);
	free(buf);
	return loop_attach(img, loopdev, sizeof(loopdev));
}

struct rd {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len, off;
};

static void rd_init(struct rd *r, int fd, void *buf, uint64_t off,
		    uint64_t ud)
{
	r->fd = (uint64_t)fd;
	r->buf = (uintptr_t)buf;
	r->len = BLK;
	r->off = off;
	r->ret = -12345;
	atom_init(&r->a, SYSLET_ASYNC, SYS_pread64, &r->ret, &r->fd, &r->buf,
		  &r->len, &r->off);
	r->a.user_data = ud;
}

static char *bufs(int n)
{
	return aligned_alloc(BLK, (size_t)n * BLK);
}

TEST(direct_reads_of_a_block_device_need_no_async_thread)
{
	struct syslet_ring *r = ring_new(64);
	struct syslet_completion c;
	struct rd rd[32];
	char *b = bufs(32);
	int fd;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	fd = open(loopdev, O_RDONLY | O_DIRECT);
	ASSERT_GE(fd, 0);
	memset(b, 0xee, 32 * BLK);
	for (int i = 0; i < 32; i++) {
		rd_init(&rd[i], fd, b + i * BLK, (uint64_t)(i * 7 % NBLK) * BLK, i);
		ASSERT_EQ(async_exec(&rd[i].a, r, NULL, 0), SYSLET_QUEUED);
	}
	for (int i = 0; i < 32; i++) {
		ASSERT_TRUE(ring_get(r, &c));
		ASSERT_LT(c.user_data, 32);
		EXPECT_EQ(c.status, BLK);
		EXPECT_EQ(c.nr_atoms, 1);
		EXPECT_EQ(c.atom, (uintptr_t)&rd[c.user_data].a);
	}
	for (int i = 0; i < 32; i++) {
		unsigned char want = (unsigned char)(i * 7 % NBLK);

		EXPECT_EQ(rd[i].ret, BLK);
		EXPECT_EQ((unsigned char)b[i * BLK], want);
		EXPECT_EQ((unsigned char)b[i * BLK + BLK - 1], want);
	}
	/* issued from here: the engine never made a thread */
	EXPECT_EQ(limits_now().nr_threads, 0);
	EXPECT_EQ(limits_now().nr_chains, 0);
	close(fd);
}

TEST(other_reads_of_the_device_still_go_to_async_threads)
{
	struct syslet_ring *r = ring_new(16);
	struct syslet_completion c;
	struct rd rd[3];
	char *b = bufs(3);
	int dfd, bfd;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	dfd = open(loopdev, O_RDONLY | O_DIRECT);
	bfd = open(loopdev, O_RDONLY);		/* buffered */
	ASSERT_GE(dfd, 0);
	ASSERT_GE(bfd, 0);
	rd_init(&rd[0], bfd, b, 5 * BLK, 0);
	/* misaligned for O_DIRECT: the real call's EINVAL */
	rd_init(&rd[1], dfd, b + BLK + 1, 0, 1);
	/* a chain of two atoms: not a lone read */
	rd_init(&rd[2], dfd, b + 2 * BLK, 6 * BLK, 2);
	rd[2].a.next = (uintptr_t)&rd[0].a;
	ASSERT_EQ(async_exec(&rd[0].a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.status, BLK);
	EXPECT_EQ((unsigned char)b[0], 5);
	/* buffered: it waits for its pages without a thread (kbuf.c) */
	EXPECT_EQ(limits_now().nr_threads, 0);
	ASSERT_EQ(async_exec(&rd[1].a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.status, -EINVAL);
	rd[0].a.flags = 0;	/* follows rd[2] */
	ASSERT_EQ(async_exec(&rd[2].a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.nr_atoms, 2);
	EXPECT_EQ((unsigned char)b[2 * BLK], 6);
	EXPECT_GE(limits_now().nr_threads, 1);
	close(dfd);
	close(bfd);
}

/*
 * The default mode (pass-on-block) for the same reads: every direct read
 * waits for the device, so pass-on-block handed the caller's context to
 * an async thread for each (the taker made and reserved for it, a wake-up
 * and a transplant each: fio's O_DIRECT QD32 at 0.37x libaio where
 * SYSLET_ASYNC's direct reads were at 0.91x).  They are issued as
 * SYSLET_ASYNC's are: SYSLET_QUEUED with no hand-off and no thread, or,
 * if the read is over at once (here the real call's EINVAL), SYSLET_DONE
 * as in the caller.
 */
TEST(default_mode_direct_reads_make_no_hand_off)
{
	struct syslet_ring *r = ring_new(64);
	struct syslet_completion c, d;
	struct rd rd[33];
	char *b = bufs(33);
	int fd, queued = 0;
	long ret;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	fd = open(loopdev, O_RDONLY | O_DIRECT);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
	memset(b, 0xee, 33 * BLK);
	for (int i = 0; i < 32; i++) {
		rd_init(&rd[i], fd, b + i * BLK, (uint64_t)(i * 5 % NBLK) * BLK, i);
		rd[i].a.flags = 0;
		ret = async_exec(&rd[i].a, r, NULL, 0);
		if (ret == SYSLET_QUEUED)
			queued++;
		else
			ASSERT_EQ(ret, SYSLET_DONE);	/* over before we looked */
	}
	for (int i = 0; i < 32; i++) {
		ASSERT_TRUE(ring_get(r, &c));
		ASSERT_LT(c.user_data, 32);
		EXPECT_EQ(c.status, BLK);
		EXPECT_EQ(c.atom, (uintptr_t)&rd[c.user_data].a);
	}
	for (int i = 0; i < 32; i++) {
		unsigned char want = (unsigned char)(i * 5 % NBLK);

		EXPECT_EQ(rd[i].ret, BLK);
		EXPECT_EQ((unsigned char)b[i * BLK], want);
		EXPECT_EQ((unsigned char)b[i * BLK + BLK - 1], want);
	}
	/* misaligned: the real call's EINVAL, in the caller */
	rd_init(&rd[32], fd, b + 32 * BLK + 1, 0, 32);
	rd[32].a.flags = 0;
	memset(&d, 0xff, sizeof(d));
	EXPECT_EQ(async_exec(&rd[32].a, r, &d, 0), SYSLET_DONE);
	EXPECT_EQ(d.status, -EINVAL);
	EXPECT_EQ(d.user_data, 32);
	EXPECT_TRUE(d.flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(rd[32].ret, -EINVAL);
	tap_diag("%d of 32 queued; %u async thread(s)", queued,
		 limits_now().nr_threads);
	EXPECT_GT(queued, 0);
	/* no hand-off: no taker was ever made */
	EXPECT_EQ(limits_now().nr_threads, 0);
	EXPECT_EQ(limits_now().nr_chains, 0);
	close(fd);
}

/* a child whose filter denies pread64 with EACCES; 0 if a read got that */
static void denied_read(void)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	struct rd rd;
	char *b = bufs(1);
	int fd = open(loopdev, O_RDONLY | O_DIRECT);

	if (deny(SYS_pread64, SECCOMP_RET_ERRNO | EACCES))
		_exit(3);
	memset(b, 0xee, BLK);
	rd_init(&rd, fd, b, 3 * BLK, 1);
	if (async_exec(&rd.a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &c))
		_exit(4);
	/* the filter's errno, and the device was not read */
	_exit(c.status == -EACCES && (unsigned char)b[0] == 0xee ? 0 : 5);
}

TEST(seccomp_applies_to_direct_reads)
{
	int st;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	st = in_child(denied_read, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/*
 * null_blk with 200 ms completions: /dev/nullb0 opened with O_DIRECT, or
 * -1.  With @ours, only a device this file loaded (its latency known).
 */
static int slow_dev(int ours)
{
	return nullb_open(O_RDONLY | O_DIRECT, ours);
}

TEST(cancel_reaches_a_direct_read_in_flight)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	struct rd rd;
	char *b = bufs(1);
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	rd_init(&rd, fd, b, 0, 0x77);
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	EXPECT_EQ(limits_now().nr_chains, 1);
	ASSERT_EQ(async_cancel(r, 0x77, 0), 0);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.status, -ECANCELED);
	EXPECT_TRUE(c.flags & SYSLET_COMP_CANCELED);
	EXPECT_EQ(rd.ret, BLK);		/* the read itself was not cut short */
	EXPECT_EQ(limits_now().nr_threads, 0);
	close(fd);
}

/*
 * A direct read that completes inside the call (here: at the device's
 * end, where read_iter() returns 0 at once) is on ctx->running while it
 * is issued, so a cancel can find it there and return 0; then its
 * completion must say so (-ECANCELED, SYSLET_COMP_CANCELED), in either
 * mode (review 6 finding 5: a default-mode one completed as not
 * cancelled; SYSLET_ASYNC was right).  A canceller thread races each
 * chain for 2 s; every chain a cancel returned 0 for is checked.
 */
static struct syslet_ring *cx_ring;
static _Atomic uint64_t cx_cur;
static _Atomic int cx_stop;
static unsigned char cx_ok[1 << 20];

static void *cx_canceller(void *x)
{
	uint64_t last = 0;

	(void)x;
	while (!atomic_load(&cx_stop)) {
		uint64_t s = atomic_load(&cx_cur);

		if (s != last && s < sizeof(cx_ok) &&
		    async_cancel(cx_ring, s, 0) == 0) {
			cx_ok[s] = 1;
			last = s;
		}
	}
	return NULL;
}

static void cancel_at_once(uint32_t mode)
{
	struct syslet_completion c;
	long hits = 0, wrong = 0, n;
	unsigned long long size;
	uint64_t seq = 0;
	long long t0;
	pthread_t t;
	struct rd rd;
	char *b = bufs(1);
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(0);
	if (fd < 0)
		SKIP("no null_blk");
	ASSERT_EQ(ioctl(fd, BLKGETSIZE64, &size), 0);
	cx_ring = ring_new(64);
	rd_init(&rd, fd, b, size, 0);
	rd.a.flags = mode;
	ASSERT_EQ(pthread_create(&t, NULL, cx_canceller, NULL), 0);
	t0 = now_ms();
	while (now_ms() - t0 < 2000 && seq < sizeof(cx_ok) - 1) {
		rd.a.user_data = ++seq;
		atomic_store(&cx_cur, seq);
		memset(&c, 0, sizeof(c));
		n = mode & SYSLET_ASYNC ? async_exec(&rd.a, cx_ring, NULL, 0) :
					  async_exec(&rd.a, cx_ring, &c, 0);
		if (n == SYSLET_QUEUED && !ring_get(cx_ring, &c))
			break;
		ASSERT_TRUE(n == SYSLET_QUEUED || n == SYSLET_DONE);
		ASSERT_EQ(c.user_data, seq);
		if (!cx_ok[seq])
			continue;
		hits++;
		if (c.status != -ECANCELED || !(c.flags & SYSLET_COMP_CANCELED))
			wrong++;
	}
	atomic_store(&cx_stop, 1);
	pthread_join(t, NULL);
	tap_diag("%llu chains at the device's end; a cancel returned 0 for "
		 "%ld, of which %ld completed as not cancelled",
		 (unsigned long long)seq, hits, wrong);
	EXPECT_EQ(wrong, 0);
	close(fd);
}

TEST(a_cancelled_direct_read_done_at_once_says_so_default_mode)
{
	cancel_at_once(0);
}

TEST(a_cancelled_direct_read_done_at_once_says_so_async)
{
	cancel_at_once(SYSLET_ASYNC);
}

/*
 * What vfs_read() does after a read, a direct read issued by the engine
 * does too (review 6 finding 6): fsnotify's IN_ACCESS on the device and
 * the process's rchar/syscr (/proc/self/io), as many as for the same
 * number of plain pread64() calls.  Skipped on a kernel without inotify
 * or task I/O accounting (configs/fast.config has both).
 *
 * Reading /proc/self/io is a read too: its bytes count in rchar after the
 * values it shows, and their number grows with the values' digits, so
 * each reading's own length (*@len) is taken out of the next difference.
 */
static int io_counts(long long *rchar, long long *syscr, long long *len)
{
	char b[1024], *p;
	ssize_t n;
	int fd = open("/proc/self/io", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);	/* one read: syscr counts it once */
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	*len = n;
	p = strstr(b, "rchar: ");
	if (!p || sscanf(p, "rchar: %lld", rchar) != 1)
		return -1;
	p = strstr(b, "syscr: ");
	if (!p || sscanf(p, "syscr: %lld", syscr) != 1)
		return -1;
	return 0;
}

static int access_events(int in)
{
	char b[4096] __attribute__((aligned(8)));
	int n = 0;
	ssize_t r;

	while ((r = read(in, b, sizeof(b))) > 0)
		for (char *p = b; p < b + r; p += sizeof(struct inotify_event) +
		     ((struct inotify_event *)p)->len)
			n++;
	return n;
}

/* 4 reads of @fd through the engine, default mode and SYSLET_ASYNC */
static int engine_reads(struct syslet_ring *r, int fd, char *b)
{
	struct syslet_completion c;
	struct rd rd;
	long n;

	for (int i = 0; i < 4; i++) {
		rd_init(&rd, fd, b, 0, 0x50 + i);
		rd.a.flags = i & 1 ? SYSLET_ASYNC : 0;
		memset(&c, 0, sizeof(c));
		n = async_exec(&rd.a, r, &c, 0);
		if (n == SYSLET_QUEUED && !ring_get(r, &c))
			return -1;
		if (c.status != BLK)
			return -1;
	}
	return 0;
}

TEST(direct_reads_are_seen_as_plain_reads_are)
{
	long long r0, s0, l0, r1, s1, l1, r2, s2, l2, de, dp;
	struct syslet_ring *r = ring_new(16);
	int in, fd, ev_engine, ev_plain;
	char *b = bufs(1);

	REQUIRE_SYSLET();
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0 || io_counts(&r0, &s0, &l0))
		SKIP("no inotify or no task I/O accounting in this kernel");
	fd = slow_dev(0);
	if (fd < 0)
		SKIP("no null_blk");
	/* the counts first, with no other read between them; then events */
	ASSERT_EQ(io_counts(&r0, &s0, &l0), 0);
	ASSERT_EQ(engine_reads(r, fd, b), 0);
	ASSERT_EQ(io_counts(&r1, &s1, &l1), 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pread(fd, b, BLK, 0), BLK);
	ASSERT_EQ(io_counts(&r2, &s2, &l2), 0);
	(void)l2;
	/* each difference without the reading of /proc/self/io before it */
	de = r1 - r0 - l0;
	dp = r2 - r1 - l1;
	ASSERT_GE(inotify_add_watch(in, "/dev/nullb0", IN_ACCESS), 0);
	ASSERT_EQ(engine_reads(r, fd, b), 0);
	ev_engine = access_events(in);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(pread(fd, b, BLK, 0), BLK);
	ev_plain = access_events(in);
	tap_diag("4 reads through the engine: IN_ACCESS %d, rchar +%lld, "
		 "syscr +%lld; 4 plain pread64: %d, +%lld, +%lld", ev_engine,
		 de, s1 - s0, ev_plain, dp, s2 - s1);
	EXPECT_EQ(ev_engine, ev_plain);
	EXPECT_EQ(de, dp);
	EXPECT_EQ(s1 - s0, s2 - s1);
	close(in);
	close(fd);
}

/*
 * A direct read whose buffer is a page that faults (a private mapping of
 * the slow device, not yet read: its fault waits 200 ms for its I/O, as
 * one on a userfaultfd or FUSE page waits for its server): the buffer is
 * pinned when the read is issued, and the caller must not sleep for that
 * fault outside pass-on-block (a thread serving a userfaultfd would wait
 * for itself).  The read goes to an async thread (before: issued in the
 * caller, which faulted the page in; no thread).
 */
TEST(direct_read_into_a_faulting_page_does_not_wait_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	unsigned int threads;
	long long t0, ms;
	struct rd rd;
	int fd, src;
	char *buf;
	long ret;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	src = open("/dev/nullb0", O_RDONLY);
	ASSERT_GE(src, 0);
	ASSERT_EQ(ioctl(src, BLKFLSBUF, 0), 0);
	buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE, src,
		   (off_t)9 << 20);
	ASSERT_TRUE(buf != MAP_FAILED);
	rd_init(&rd, fd, buf, 0, 0x66);
	t0 = now_ms();
	ret = async_exec(&rd.a, r, NULL, 0);
	ms = now_ms() - t0;
	threads = limits_now().nr_threads;
	tap_diag("async_exec %ld after %lld ms, %u async threads", ret, ms,
		 threads);
	EXPECT_EQ(ret, SYSLET_QUEUED);
	EXPECT_EQ(threads, 1);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.user_data, 0x66);
	EXPECT_EQ(c.status, BLK);
	EXPECT_EQ(rd.ret, BLK);
	munmap(buf, BLK);
	close(src);
	close(fd);
}

/* shares its parent's mm (CLONE_VM, not a thread) and outlives it */
static int mm_sharer(void *arg)
{
	struct timespec ts = { 1, 0 };

	(void)arg;
	syscall(SYS_nanosleep, &ts, NULL);
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * A process exits (1: execs; 2: exits while another process shares its
 * mm) with direct reads in flight: the reads are dropped when they
 * complete, and their file released, or main()'s rmmod null_blk fails
 * "in use".  The ctx is marked dead when the process's last thread exits
 * (before: only a kworker check that the mm had no user left dropped
 * them, which never happened for 2).
 */
TEST(exit_and_exec_with_direct_reads_in_flight)
{
	for (int how = 0; how < 3; how++) {
		pid_t pid;
		int st;

		REQUIRE_SYSLET();
		pid = fork();
		if (pid == 0) {
			struct syslet_ring *r = ring_new(64);
			struct rd *rd = calloc(32, sizeof(*rd));
			char *b = bufs(32);
			int fd = slow_dev(0);

			if (fd < 0)
				_exit(77);
			set_limits(4);
			for (int i = 0; i < 32; i++) {
				rd_init(&rd[i], fd, b + i * BLK, (uint64_t)i * BLK, i);
				if (async_exec(&rd[i].a, r, NULL, 0) != SYSLET_QUEUED)
					_exit(4);
			}
			/* a read the device refused with -EAGAIN went to a thread */
			printf("# how %d: %u async threads\n", how,
			       limits_now().nr_threads);
			fflush(stdout);
			if (how == 1)
				execl("/bin/true", "true", (char *)NULL);
			if (how == 2) {
				static char stack[64 * 1024];

				if (clone(mm_sharer, stack + sizeof(stack),
					  CLONE_VM, NULL) < 0)
					_exit(5);
			}
			_exit(0);
		}
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFEXITED(st));
		if (WEXITSTATUS(st) == 77)
			SKIP("no null_blk");
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
	/*
	 * The reads complete after their process: nothing to post them to.
	 * Each holds the device open, and so null_blk's module, until it
	 * is dropped (main() then unloads null_blk).
	 */
	for (int i = 0; i < 60; i++) {
		FILE *f = fopen("/sys/module/null_blk/refcnt", "r");
		int refs = -1;

		if (!f)
			break;
		if (fscanf(f, "%d", &refs) != 1)
			refs = -1;
		fclose(f);
		if (refs == 0)
			break;
		if (i == 59)
			EXPECT_EQ(refs, 0);
		usleep(100000);
	}
}

/*
 * Issue 15, item 6: a direct read's completion is written by a thread of
 * the process, never by a system kworker (which a FUSE or userfaultfd
 * page could stall, and whose PKRU is not the process's).  Seen through
 * page faults: the ring slot and the ret_ptr are on pages not present
 * yet, and whoever writes them first takes the faults; here
 * the submitter waits in async_wait(), which posts the read itself.
 */
TEST(direct_read_completions_are_written_by_a_thread_of_the_process)
{
	struct syslet_completion c;
	struct rusage ru0, ru1;
	struct timespec ts = { 10, 0 };
	struct syslet_ring *r;
	char *b = bufs(1), *map;
	struct rd rd;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	/* page 0: header and slots 0..121; page 1: slot 200; page 3: ret */
	map = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(map != MAP_FAILED);
	r = (struct syslet_ring *)map;
	r->size = sizeof(*r);
	r->nr_entries = 256;
	r->head = r->tail = 200;
	rd_init(&rd, fd, b, 0, 0x66);
	rd.a.ret_ptr = (uintptr_t)(map + 3 * 4096);
	/* fresh pages, not present (no madvise() in the test kernel) */
	ASSERT_TRUE(mmap(map + 4096, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED);
	ASSERT_TRUE(mmap(map + 3 * 4096, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED);
	ASSERT_EQ(getrusage(RUSAGE_THREAD, &ru0), 0);
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, 0), 1);
	ASSERT_EQ(getrusage(RUSAGE_THREAD, &ru1), 0);
	tap_diag("minor faults of the submitter meanwhile: %ld",
		 ru1.ru_minflt - ru0.ru_minflt);
	/* the slot's page and the ret_ptr's page: faulted in by us */
	ASSERT_GE(ru1.ru_minflt - ru0.ru_minflt, 2);
	ASSERT_TRUE(ring_pop(r, &c));
	ASSERT_EQ(c.user_data, 0x66);
	ASSERT_EQ(c.status, BLK);
	ASSERT_EQ(*(int64_t *)(map + 3 * 4096), BLK);
	ASSERT_EQ(limits_now().nr_threads, 0);
	close(fd);
}

/*
 * A direct read completes (its task work queued on the submitter) while
 * the submitter is in a default-mode chain whose next atom then hands its
 * user context off: the task work stayed on the giver, asleep in that
 * atom, and kept later completions from being kicked; a program that only
 * polls the ring never saw the read.  The taker must post it.
 */
TEST(direct_read_completing_before_a_handoff_is_posted_by_the_taker)
{
	enum { CHUNK = 1 << 20, MAXA = 200 };
	static struct syslet_atom a[MAXA + 1];
	static uint64_t gbuf, glen = CHUNK, gflags, pfd, pbuf, plen = 1;
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion c;
	long long t0, per, n, waited;
	int fds[2], got = 0;
	char *b = bufs(1), pc;
	struct rd rd;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	ASSERT_EQ(pipe(fds), 0);
	gbuf = (uintptr_t)malloc(CHUNK);
	/* atoms that keep the caller in the kernel ~800 ms without sleeping */
	t0 = now_ms();
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(syscall(SYS_getrandom, (void *)gbuf, CHUNK, 0), CHUNK);
	per = (now_ms() - t0) / 8 + 1;
	n = 800 / per + 1;
	if (n > MAXA)
		n = MAXA;
	for (int i = 0; i < n; i++) {
		atom_init(&a[i], 0, SYS_getrandom, NULL, &gbuf, &glen, &gflags,
			  NULL);
		a[i].next = (uintptr_t)&a[i + 1];
	}
	pfd = fds[0];
	pbuf = (uintptr_t)&pc;
	atom_init(&a[n], 0, SYS_read, NULL, &pfd, &pbuf, &plen, NULL);
	a[0].user_data = 0x99;

	rd_init(&rd, fd, b, 0, 0x55);
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	waited = now_ms() - t0;
	tap_diag("%lld atoms of %lld ms; in the kernel %lld ms", n, per, waited);
	if (waited < 250)
		SKIP("the chain did not outlast the read (%lld ms)", waited);
	/* poll the ring: no async_wait() or async_exec(), which post reads */
	for (int i = 0; i < 300 && !got; i++) {
		while (!got && ring_pop(r, &c))
			got = c.user_data == 0x55;
		if (!got)
			usleep(10000);
	}
	ASSERT_EQ(write(fds[1], "z", 1), 1);
	ASSERT_TRUE(got);
	ASSERT_EQ(c.status, BLK);
	ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(c.user_data, 0x99);
	close(fd);
}

int main(int argc, char **argv)
{
	int ret;

	nullb_begin();	/* the tests' children load it */
	if (loop_setup())
		loopdev[0] = 0;
	ret = tap_main(argc, argv);
	/*
	 * A read of 200 ms may still be in flight from the last test (its
	 * file holds the module): nullb_end() gives it a few completion times.
	 */
	if (nullb_end())
		ret = 1;
	if (loop_detach(loopdev))
		ret = 1;
	unlink("/tmp/syslet-kio.img");
	return ret;
}
