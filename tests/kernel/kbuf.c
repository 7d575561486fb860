// SPDX-License-Identifier: GPL-2.0
/*
 * Buffered reads without a thread (kbuf, kernel/syslet/kio.c): a chain
 * that is one pread64() of a file whose page cache can be waited for
 * asynchronously (a block device, ext4) reads what is cached at once and
 * waits for the rest without an async thread: the page's unlock queues
 * it, and a thread of the process reads on and posts it.  SYSLET_ASYNC
 * chains and default-mode ones (no hand-off) alike.
 *
 * Checked: no async thread for cold reads at any queue depth, and they
 * are concurrent; the result is pread64()'s (bytes and return value,
 * short reads at the end, errors); seccomp applies; cancel while a read
 * waits for its page; a thread, the process exiting, exec'ing or killed
 * with reads in flight (the device must be free afterwards: rmmod).
 *
 * Devices: a loop device over a file of random bytes (data checks), and
 * null_blk with 200 ms timer completions (reads that wait long).  The
 * page cache of a device is dropped with BLKFLSBUF.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"
#include "filter.h"

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

#define BLK	4096
#define IMG	(1 << 20)

static char loopdev[64];

/* A loop device over 1 MiB of random bytes. */
static int loop_setup(void)
{
	static const char img[] = "/tmp/syslet-kbuf.img";
	unsigned char *buf = malloc(IMG);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int fd;

	if (!buf)
		return -1;
	for (int i = 0; i < IMG; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	fd = open(img, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || write(fd, buf, IMG) != IMG)
		return -1;
	close(fd);
	free(buf);
	return loop_attach(img, loopdev, sizeof(loopdev));
}

/* null_blk with 200 ms completions, opened buffered, cache dropped; or -1 */
static int slow_dev(int ours)
{
	int fd = nullb_open(O_RDONLY, ours);

	if (fd >= 0 && ioctl(fd, BLKFLSBUF, 0))
		return -1;
	return fd;
}

struct rd {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len, off;
};

static void rd_init(struct rd *r, uint32_t flags, int fd, void *buf,
		    uint64_t len, uint64_t off, uint64_t ud)
{
	r->fd = (uint64_t)(int64_t)fd;
	r->buf = (uintptr_t)buf;
	r->len = len;
	r->off = off;
	r->ret = -12345;
	atom_init(&r->a, flags, SYS_pread64, &r->ret, &r->fd, &r->buf,
		  &r->len, &r->off);
	r->a.user_data = ud;
}

/*
 * Runs one read chain to its end; returns its completion status (also
 * in *st), with the atom's own result in r->ret.
 */
static long run_rd(struct syslet_ring *r, struct rd *rd)
{
	struct syslet_completion c;

	return run_chain(&rd->a, r, &c) ? -99999 : c.status;
}

TEST(cold_buffered_reads_need_no_async_thread_at_any_depth)
{
	enum { QD = 64 };
	struct syslet_ring *r = ring_new(128);
	struct syslet_completion c;
	struct rd *rd = calloc(QD, sizeof(*rd));
	char *b = aligned_alloc(BLK, QD * BLK);
	long long t0, ms;
	int fd, seen = 0;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	for (int mode = 0; mode < 2; mode++) {
		uint32_t flags = mode ? SYSLET_ASYNC : 0;

		ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
		t0 = now_ms();
		for (int i = 0; i < QD; i++) {
			struct syslet_completion done;

			/* 1 MiB apart: no read is another's readahead */
			rd_init(&rd[i], flags, fd, b + i * BLK, BLK,
				(uint64_t)(i + 1) << 20, i);
			ASSERT_EQ(async_exec(&rd[i].a, r, mode ? NULL : &done, 0),
				  SYSLET_QUEUED);
		}
		/*
		 * Waiting for their pages (those not already back: on a slow
		 * kernel the submissions take longer than one I/O), and not
		 * one thread for them.
		 */
		EXPECT_EQ(limits_now().nr_threads, 0);
		EXPECT_GT(limits_now().nr_chains, 0);
		for (int i = 0; i < QD; i++) {
			ASSERT_TRUE(ring_get(r, &c));
			ASSERT_LT(c.user_data, QD);
			EXPECT_EQ(c.status, BLK);
			EXPECT_EQ(c.nr_atoms, 1);
			EXPECT_EQ(c.flags & SYSLET_COMP_SYNC, 0);
			seen |= rd[c.user_data].ret != BLK;
		}
		ms = now_ms() - t0;
		tap_diag("%s: %d cold reads of 200 ms in %lld ms",
			 mode ? "SYSLET_ASYNC" : "default mode", QD, ms);
		EXPECT_EQ(seen, 0);
		/* concurrent: one after the other would take 12.8 s */
		EXPECT_LT(ms, 6000);
		EXPECT_EQ(limits_now().nr_threads, 0);
		EXPECT_EQ(limits_now().nr_chains, 0);
	}
	close(fd);
}

/* a hot read in the default mode completes in the caller, like pread */
TEST(hot_buffered_reads_complete_in_the_caller)
{
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion done;
	char *b = aligned_alloc(BLK, 2 * BLK), *w = b + BLK;
	struct rd rd;
	int fd;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	fd = open(loopdev, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pread(fd, w, BLK, 3 * BLK), BLK);	/* now cached */
	rd_init(&rd, 0, fd, b, BLK, 3 * BLK, 5);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&rd.a, r, &done, 0), SYSLET_DONE);
	EXPECT_EQ(done.status, BLK);
	EXPECT_TRUE(done.flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(done.user_data, 5);
	EXPECT_EQ(rd.ret, BLK);
	EXPECT_EQ(memcmp(b, w, BLK), 0);
	EXPECT_EQ(limits_now().nr_threads, 0);
	EXPECT_EQ(limits_now().nr_chains, 0);
	close(fd);
}

/*
 * The differential test: every case read by a chain (default mode and
 * SYSLET_ASYNC, cache cold and hot) gives what pread64() gives, bytes
 * and return value.
 */
struct dcase {
	const char *what;
	int fdk;		/* 0 loop dev, 1 -1, 2 closed, 3 O_WRONLY, 4 dir, 5 pipe */
	int bufk;		/* 0 good, 1 unmapped, 2 second page unmapped */
	int64_t off;
	uint64_t len;
};

static const struct dcase dcases[] = {
	{ "first block", 0, 0, 0, BLK },
	{ "unaligned, two pages", 0, 0, 5 * BLK + 100, BLK },
	{ "many pages", 0, 0, 12345, 300000 },
	{ "short at the end", 0, 0, IMG - 100, BLK },
	{ "at the end", 0, 0, IMG, BLK },
	{ "past the end", 0, 0, IMG + 3 * BLK, 10 },
	{ "zero length", 0, 0, 7 * BLK, 0 },
	{ "huge length, near the end", 0, 0, IMG - 3 * BLK - 5, 1ULL << 40 },
	{ "negative offset", 0, 0, -BLK, BLK },
	{ "bad buffer", 0, 1, 2 * BLK, BLK },
	{ "buffer bad from its second page", 0, 2, 9 * BLK, 2 * BLK },
	{ "fd -1", 1, 0, 0, BLK },
	{ "closed fd", 2, 0, 0, BLK },
	{ "write-only fd", 3, 0, 0, BLK },
	{ "directory", 4, 0, 0, BLK },
	{ "pipe", 5, 0, 0, BLK },
};

#define DBUF	(300000 + 2 * BLK)

static int case_fd(int fdk, int dev, int closed, int wr, int dir, int pfd)
{
	switch (fdk) {
	case 0: return dev;
	case 1: return -1;
	case 2: return closed;
	case 3: return wr;
	case 4: return dir;
	default: return pfd;
	}
}

TEST(buffered_reads_return_what_pread_returns)
{
	struct syslet_ring *r = ring_new(8);
	char *mine, *ref, *bad;
	int dev, wr, dir, closed, p[2], bad_cases = 0;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	dev = open(loopdev, O_RDONLY);
	wr = open(loopdev, O_WRONLY);
	dir = open("/", O_RDONLY | O_DIRECTORY);
	closed = open("/dev/null", O_RDONLY);
	ASSERT_GE(dev, 0);
	ASSERT_GE(wr, 0);
	ASSERT_GE(dir, 0);
	ASSERT_EQ(pipe(p), 0);
	close(closed);
	mine = malloc(DBUF);
	ref = malloc(DBUF);
	/* two pages: the first readable, the second not */
	bad = mmap(NULL, 2 * BLK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(bad != MAP_FAILED);
	ASSERT_EQ(mprotect(bad + BLK, BLK, PROT_NONE), 0);

	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *d = &dcases[i];
		int fd = case_fd(d->fdk, dev, closed, wr, dir, p[0]);

		for (int v = 0; v < 4; v++) {
			uint32_t flags = v & 1 ? SYSLET_ASYNC : 0;
			int cold = !(v & 2);
			char *mb = d->bufk == 1 ? bad + BLK :
				   d->bufk == 2 ? bad : mine;
			ssize_t want;
			long st;
			struct rd rd;

			memset(mine, 0x5a, DBUF);
			memset(ref, 0x5a, DBUF);
			memset(bad, 0x5a, BLK);
			if (cold)
				ASSERT_EQ(ioctl(dev, BLKFLSBUF, 0), 0);
			rd_init(&rd, flags, fd, mb, d->len, (uint64_t)d->off, i);
			st = run_rd(r, &rd);
			/* pread's buffer: the same kind of memory */
			if (d->bufk == 2)
				memcpy(ref, bad, BLK);
			memset(bad, 0x5a, BLK);
			if (cold)
				ASSERT_EQ(ioctl(dev, BLKFLSBUF, 0), 0);
			want = pread(fd, d->bufk == 0 ? ref : mb, d->len, d->off);
			if (want < 0)
				want = -errno;
			if (st != want || rd.ret != want ||
			    (d->bufk == 0 && memcmp(mine, ref, DBUF)) ||
			    (d->bufk == 2 && memcmp(ref, bad, BLK))) {
				tap_diag("%s (%s, %s): chain %ld (ret %lld), "
					 "pread %zd%s", d->what,
					 flags ? "async" : "default",
					 cold ? "cold" : "hot", st,
					 (long long)rd.ret, want,
					 st == want ? ", bytes differ" : "");
				bad_cases++;
			}
		}
	}
	EXPECT_EQ(bad_cases, 0);
	close(dev);
	close(wr);
	close(dir);
}

/*
 * ext4 (FMODE_BUF_RASYNC too): a file of an odd size on a loop device,
 * read cold (the cache dropped before each read) by chains and by
 * pread64(): the same bytes and return values, and no thread.
 */
static int drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	int ok = fd >= 0 && write(fd, "3", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

TEST(ext4_reads_return_what_pread_returns)
{
	static const char *mnt = "/tmp/syslet-kbuf-mnt";
	static const struct { int64_t off; uint64_t len; } ec[] = {
		{ 0, BLK }, { 8191, 3 * BLK }, { 200000, 100000 },
		{ 300001 - 5, BLK }, { 300001, 10 }, { 1 << 20, BLK },
	};
	struct syslet_ring *r = ring_new(8);
	char *mine = malloc(100000), *ref = malloc(100000), *data;
	char cmd[512], dev[64] = "", path[128];
	int fd, bad = 0;
	FILE *p;

	REQUIRE_SYSLET();
	if (system("command -v mkfs.ext4 >/dev/null 2>&1"))
		SKIP("no mkfs.ext4");
	if (drop_caches())
		SKIP("no /proc/sys/vm/drop_caches");
	ASSERT_EQ(system("truncate -s 64M /tmp/syslet-kbuf-ext4.img"), 0);
	p = popen("losetup -f --show /tmp/syslet-kbuf-ext4.img", "r");
	ASSERT_TRUE(p && fgets(dev, sizeof(dev), p));
	pclose(p);
	dev[strcspn(dev, "\n")] = 0;
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s && mkdir -p %s && "
		 "mount -t ext4 %s %s", dev, mnt, dev, mnt);
	if (system(cmd)) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
		ASSERT_EQ(system(cmd), 0);
		SKIP("cannot make and mount ext4");
	}
	snprintf(path, sizeof(path), "%s/f", mnt);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	data = malloc(300001);
	for (int i = 0; i < 300001; i++)
		data[i] = (char)(i * 131 + i / 4093);
	ASSERT_EQ(write(fd, data, 300001), 300001);
	ASSERT_EQ(fsync(fd), 0);
	for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++) {
		for (int mode = 0; mode < 2; mode++) {
			struct rd rd;
			ssize_t want;
			long st;

			memset(mine, 0x5a, 100000);
			memset(ref, 0x5a, 100000);
			ASSERT_EQ(drop_caches(), 0);
			rd_init(&rd, mode ? SYSLET_ASYNC : 0, fd, mine, ec[i].len,
				(uint64_t)ec[i].off, i);
			st = run_rd(r, &rd);
			ASSERT_EQ(drop_caches(), 0);
			want = pread(fd, ref, ec[i].len, ec[i].off);
			if (st != want || rd.ret != want || memcmp(mine, ref, 100000)) {
				tap_diag("ext4 %lld+%llu (%s): chain %ld, pread %zd",
					 (long long)ec[i].off,
					 (unsigned long long)ec[i].len,
					 mode ? "async" : "default", st, want);
				bad++;
			}
		}
	}
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(limits_now().nr_threads, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "umount %s && losetup -d %s", mnt, dev);
	EXPECT_EQ(system(cmd), 0);
	unlink("/tmp/syslet-kbuf-ext4.img");
}

/* a child whose filter denies pread64 with EACCES */
static void denied_read(void)
{
	struct syslet_ring *r = ring_new(4);
	char *b = malloc(BLK);
	int fd = open(loopdev, O_RDONLY);
	struct rd rd;

	if (fd < 0 || ioctl(fd, BLKFLSBUF, 0))
		_exit(2);
	if (deny(SYS_pread64, SECCOMP_RET_ERRNO | EACCES))
		_exit(3);
	for (int mode = 0; mode < 2; mode++) {
		memset(b, 0xee, BLK);
		rd_init(&rd, mode ? SYSLET_ASYNC : 0, fd, b, BLK, 3 * BLK, 1);
		/* the filter's errno, and the device was not read */
		if (run_rd(r, &rd) != -EACCES || (unsigned char)b[0] != 0xee)
			_exit(4 + mode);
	}
	_exit(0);
}

TEST(seccomp_applies_to_buffered_reads)
{
	int st;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	st = in_child(denied_read, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(cancel_reaches_a_buffered_read_waiting_for_its_page)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	char *b = malloc(BLK);
	struct rd rd;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	for (int mode = 0; mode < 2; mode++) {
		ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
		rd_init(&rd, mode ? SYSLET_ASYNC : 0, fd, b, BLK, 5 << 20, 0x77);
		ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
		EXPECT_EQ(limits_now().nr_chains, 1);
		ASSERT_EQ(async_cancel(r, 0x77, 0), 0);
		ASSERT_TRUE(ring_get(r, &c));
		EXPECT_EQ(c.user_data, 0x77);
		EXPECT_EQ(c.status, -ECANCELED);
		EXPECT_TRUE(c.flags & SYSLET_COMP_CANCELED);
		/* it did not read on once its page came */
		EXPECT_EQ(rd.ret, -ECANCELED);
		/* once: nothing more comes */
		usleep(400000);
		EXPECT_FALSE(ring_pop(r, &c));
		EXPECT_EQ(async_cancel(r, 0x77, 0), -1);
		EXPECT_EQ(errno, ENOENT);
		EXPECT_EQ(limits_now().nr_chains, 0);
		EXPECT_EQ(limits_now().nr_threads, 0);
	}
	close(fd);
}

struct tharg {
	struct syslet_ring *r;
	struct rd *rd;
	char *b;
	int fd, n;
};

static void *submit_and_exit(void *p)
{
	struct tharg *t = p;

	for (int i = 0; i < t->n; i++) {
		rd_init(&t->rd[i], SYSLET_ASYNC, t->fd, t->b + i * BLK, BLK,
			(uint64_t)(i + 1) << 20, i);
		if (async_exec(&t->rd[i].a, t->r, NULL, 0) != SYSLET_QUEUED)
			return (void *)1;
	}
	return NULL;
}

/* The submitter is gone when the pages come: another thread posts. */
TEST(buffered_reads_outlive_the_thread_that_submitted_them)
{
	struct tharg t = { .r = ring_new(32), .n = 16 };
	struct syslet_completion c;
	pthread_t th;
	void *ret;

	REQUIRE_SYSLET();
	t.fd = slow_dev(1);
	if (t.fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	t.rd = calloc(t.n, sizeof(*t.rd));
	t.b = malloc(t.n * BLK);
	ASSERT_EQ(pthread_create(&th, NULL, submit_and_exit, &t), 0);
	ASSERT_EQ(pthread_join(th, &ret), 0);
	ASSERT_TRUE(ret == NULL);
	for (int i = 0; i < t.n; i++) {
		ASSERT_TRUE(ring_get(t.r, &c));
		EXPECT_EQ(c.status, BLK);
	}
	EXPECT_EQ(limits_now().nr_threads, 0);
	close(t.fd);
}

/*
 * A hot read whose buffer is a page that faults (a private mapping of
 * the slow device, not yet read: the fault waits 200 ms for its I/O, as
 * one on a userfaultfd or FUSE page waits for its server): the copy is
 * not made in the caller, which must not sleep for it outside
 * pass-on-block; the read goes to a thread, or hands the caller off.
 */
TEST(buffered_read_into_a_faulting_page_does_not_wait_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c = { 0 }, done;
	char *want = malloc(BLK);
	struct rd rd;
	int fd, src;
	long ret;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	src = open(loopdev, O_RDONLY);
	ASSERT_GE(src, 0);
	ASSERT_EQ(pread(src, want, BLK, 3 * BLK), BLK);	/* hot */
	for (int mode = 0; mode < 2; mode++) {
		char *buf;
		int now;

		ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
		buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			   (off_t)(9 + mode) << 20);
		ASSERT_TRUE(buf != MAP_FAILED);
		rd_init(&rd, mode ? SYSLET_ASYNC : 0, src, buf, BLK, 3 * BLK,
			0x66);
		memset(&done, 0, sizeof(done));
		ret = async_exec(&rd.a, r, mode ? NULL : &done, 0);
		/* completed in the caller, after its fault's I/O? */
		now = mode ? ring_pop(r, &c) : ret == SYSLET_DONE;
		tap_diag("%s: async_exec %ld, completed in the caller %d",
			 mode ? "SYSLET_ASYNC" : "default mode", ret, now);
		EXPECT_EQ(ret, SYSLET_QUEUED);
		EXPECT_FALSE(now);
		if (!now)
			ASSERT_TRUE(ring_get(r, &c));
		else if (!mode)
			c = done;
		EXPECT_EQ(c.user_data, 0x66);
		EXPECT_EQ(c.status, BLK);
		EXPECT_EQ(rd.ret, BLK);
		EXPECT_EQ(memcmp(buf, want, BLK), 0);
		munmap(buf, BLK);
	}
	close(src);
	close(fd);
	free(want);
}

struct poller {
	struct syslet_ring *r;
	struct syslet_completion c;
	uint32_t flag;
	long long ms;		/* until the completion was seen, or -1 */
};

/* Polls the ring's head without a system call for 5 s, then wakes A. */
static void *poll_then_wake(void *p)
{
	struct poller *w = p;
	long long t0 = now_ms();

	w->ms = -1;
	while (now_ms() - t0 < 5000) {	/* the vDSO: no system call */
		if (ring_pop(w->r, &w->c)) {
			w->ms = now_ms() - t0;
			break;
		}
		__builtin_ia32_pause();
	}
	__atomic_store_n(&w->flag, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &w->flag, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

/*
 * Thread A submits a cold read, then sleeps in futex_wait() until B has
 * seen its completion; B only polls the ring's head.  The completion
 * must come while A sleeps in an unrelated system call (before: only
 * when B gave up and woke A, which then posted it on its way back).
 */
TEST(buffered_read_completes_while_its_submitter_sleeps_in_a_futex)
{
	struct syslet_completion done;
	char *b = malloc(BLK);
	struct poller w;
	struct rd rd;
	pthread_t th;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	for (int mode = 0; mode < 2; mode++) {
		memset(&w, 0, sizeof(w));
		w.r = ring_new(4);
		ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
		rd_init(&rd, mode ? SYSLET_ASYNC : 0, fd, b, BLK, 7 << 20, 0x55);
		ASSERT_EQ(pthread_create(&th, NULL, poll_then_wake, &w), 0);
		ASSERT_EQ(async_exec(&rd.a, w.r, mode ? NULL : &done, 0),
			  SYSLET_QUEUED);
		while (!__atomic_load_n(&w.flag, __ATOMIC_ACQUIRE))
			syscall(SYS_futex, &w.flag, FUTEX_WAIT_PRIVATE, 0,
				NULL, NULL, 0);
		ASSERT_EQ(pthread_join(th, NULL), 0);
		tap_diag("%s: completion seen by the poller after %lld ms",
			 mode ? "SYSLET_ASYNC" : "default mode", w.ms);
		EXPECT_GE(w.ms, 0);
		if (w.ms < 0)	/* posted once A returned: take it */
			ASSERT_TRUE(ring_get(w.r, &w.c));
		EXPECT_EQ(w.c.user_data, 0x55);
		EXPECT_EQ(w.c.status, BLK);
		EXPECT_EQ(rd.ret, BLK);
		EXPECT_EQ(limits_now().nr_threads, 0);
		free(w.r);
	}
	free(b);
	close(fd);
}

/*
 * async_wait() for two completions while the first, a cold read's, comes
 * after 200 ms: the read's kick (task work with TWA_SIGNAL) is no signal
 * and must not end the wait with -EINTR (before: it did, 200 ms in, with
 * one completion ready); it returns 2 once a 600 ms sleep is done too.
 */
TEST(async_wait_is_not_cut_short_by_a_reads_completion)
{
	struct timespec sl = { 0, 600 * 1000 * 1000 }, to = { 5, 0 };
	uint64_t pts = (uintptr_t)&sl;
	struct syslet_atom sleep;
	struct syslet_ring *r;
	char *b = malloc(BLK);
	int64_t sret = -1;
	long long t0, ms;
	struct rd rd;
	long n;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	r = ring_new(8);
	rd_init(&rd, 0, fd, b, BLK, 9 << 20, 0x61);
	atom_init(&sleep, SYSLET_ASYNC, SYS_nanosleep, &sret, &pts, NULL,
		  NULL, NULL);
	sleep.user_data = 0x62;
	t0 = now_ms();
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(async_exec(&sleep, r, NULL, 0), SYSLET_QUEUED);
	n = async_wait(r, 2, &to);
	ms = now_ms() - t0;
	tap_diag("async_wait(min 2) -> %ld after %lld ms", n, ms);
	EXPECT_EQ(n, 2);
	EXPECT_GE(ms, 550);
	for (int i = 0; i < 2; i++) {
		struct syslet_completion c;

		if (n < 2 && async_wait(r, 1, &to) < 1)
			break;
		ASSERT_TRUE(ring_get(r, &c));
		EXPECT_EQ(c.status, c.user_data == 0x61 ? BLK : 0);
	}
	EXPECT_EQ(rd.ret, BLK);
	free(r);
	free(b);
	close(fd);
}

/*
 * A read completes while its submitter runs a SYSLET_SYNC chain in its
 * async_exec(): the completion must not interrupt the chain (before: the
 * task work came with TWA_SIGNAL, the nanosleep atom ended with -EINTR).
 */
TEST(a_read_completing_during_a_sync_chain_does_not_interrupt_it)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c, done;
	struct syslet_atom a[2];
	struct timespec ts = { 1, 0 };
	uint64_t pts = (uintptr_t)&ts;
	int64_t ret[2] = { -12345, -12345 };
	char *b = malloc(BLK);
	struct rd rd;
	long long t0;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
	rd_init(&rd, SYSLET_ASYNC, fd, b, BLK, 11 << 20, 0x77);
	atom_init(&a[0], SYSLET_SYNC, SYS_getpid, &ret[0], NULL, NULL, NULL,
		  NULL);
	atom_init(&a[1], 0, SYS_nanosleep, &ret[1], &pts, NULL, NULL, NULL);
	a[0].next = (uintptr_t)&a[1];
	a[0].user_data = 0x78;
	t0 = now_ms();
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	/* the 200 ms read completes during the 1 s nanosleep */
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&a[0], NULL, &done, 0), SYSLET_DONE);
	tap_diag("nanosleep atom: %lld after %lld ms", (long long)ret[1],
		 now_ms() - t0);
	EXPECT_EQ(ret[0], getpid());
	EXPECT_EQ(ret[1], 0);
	EXPECT_EQ(done.status, 0);
	EXPECT_EQ(done.nr_atoms, 2);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.user_data, 0x77);
	EXPECT_EQ(c.status, BLK);
	EXPECT_EQ(rd.ret, BLK);
	free(r);
	free(b);
	close(fd);
}

/*
 * The thread a read's kick picks may not run for long: here the first
 * user thread that runs no chain, C, sits in vfork() (a killable sleep,
 * which TWA_SIGNAL does not end) for 1.5 s, while the submitter runs a
 * SYSLET_SYNC chain in its async_exec().  A third thread waiting in
 * async_wait() must not wait for C: the completion wakes ctx->kio_wait
 * and the waiter posts the reads itself, 200 ms in (a wake lost there,
 * e.g. a completion that skipped it for a list it wrongly thought
 * another's wake covered, leaves the waiter until C's vfork() ends).
 * Two reads, which complete together: the second is often added to a
 * list that holds the first, and must not be left there.
 */
struct waiter_arg {
	struct syslet_ring *r;
	int started;
	long n;
	long long ms;
};

static void *ring_waiter(void *p)
{
	struct waiter_arg *w = p;
	struct timespec to = { 3, 0 };
	long long t0 = now_ms();

	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	w->n = async_wait(w->r, 2, &to);
	w->ms = now_ms() - t0;
	return NULL;
}

TEST(a_waiter_posts_a_read_whose_kick_went_to_a_thread_that_cannot_run)
{
	struct timespec ts = { 1, 0 };
	uint64_t pts = (uintptr_t)&ts;
	struct syslet_completion c, done;
	struct waiter_arg w = { 0 };
	int v_started = 0;
	char *b = malloc(2 * BLK);
	struct syslet_atom a;
	pthread_t tc, tb;
	int64_t sret = -1;
	struct rd rd[2];
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
	w.r = ring_new(4);
	/* C first: the kick looks at the threads in the order they came */
	ASSERT_EQ(pthread_create(&tc, NULL, vfork_hold, &v_started), 0);
	ASSERT_EQ(pthread_create(&tb, NULL, ring_waiter, &w), 0);
	while (!__atomic_load_n(&v_started, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&w.started, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(50 * 1000);	/* C in vfork(), B in async_wait() */
	for (int i = 0; i < 2; i++) {
		rd_init(&rd[i], SYSLET_ASYNC, fd, b + i * BLK, BLK,
			(13 << 20) + (i << 19), 0x91 + i);
		ASSERT_EQ(async_exec(&rd[i].a, w.r, NULL, 0), SYSLET_QUEUED);
	}
	atom_init(&a, SYSLET_SYNC, SYS_nanosleep, &sret, &pts, NULL, NULL,
		  NULL);
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&a, NULL, &done, 0), SYSLET_DONE);
	EXPECT_EQ(sret, 0);
	ASSERT_EQ(pthread_join(tb, NULL), 0);
	tap_diag("async_wait() in another thread -> %ld after %lld ms", w.n,
		 w.ms);
	EXPECT_EQ(w.n, 2);
	/* 200 ms, not C's 1.5 s (nor the 3 s timeout) */
	EXPECT_LT(w.ms, 1000);
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(ring_get(w.r, &c));
		EXPECT_TRUE(c.user_data == 0x91 || c.user_data == 0x92);
		EXPECT_EQ(c.status, BLK);
		EXPECT_EQ(rd[i].ret, BLK);
	}
	ASSERT_EQ(pthread_join(tc, NULL), 0);
	free(w.r);
	free(b);
	close(fd);
}

/*
 * A default-mode chain that runs in its caller without a hand-off (the
 * one async thread allowed is busy) waits in futex_wait() for a thread
 * that polls the ring for a read the caller submitted: the read's
 * completion must go to the poller (before: TWA_RESUME on the caller,
 * which no one woke; the poller saw nothing in 5 s).
 */
TEST(a_read_completing_during_a_default_mode_chain_in_the_caller_is_posted)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct syslet_atom fw, pr;
	struct timespec ts = { 10, 0 };
	uint64_t fflag, fop = FUTEX_WAIT_PRIVATE, fval = 0, fts = (uintptr_t)&ts;
	uint64_t pfd, pbuf, plen = 1;
	int64_t fret = -12345, pret = -12345;
	char *b = malloc(BLK), pc = 0;
	int fds[2], fd;
	struct poller w;
	pthread_t th;
	struct rd rd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	sys_set_limits(1, 0, 0);
	ASSERT_EQ(pipe(fds), 0);
	/* the one async thread: asleep in a read of an empty pipe */
	pfd = (uint64_t)fds[0];
	pbuf = (uintptr_t)&pc;
	atom_init(&pr, SYSLET_ASYNC, SYS_read, &pret, &pfd, &pbuf, &plen, NULL);
	pr.user_data = 0x79;
	ASSERT_EQ(async_exec(&pr, r, NULL, 0), SYSLET_QUEUED);
	for (int i = 0; i < 500 && limits_now().nr_idle != 0; i++)
		usleep(10000);
	ASSERT_EQ(limits_now().nr_threads, 1);
	ASSERT_EQ(limits_now().nr_idle, 0);

	memset(&w, 0, sizeof(w));
	w.r = r;
	ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
	rd_init(&rd, SYSLET_ASYNC, fd, b, BLK, 13 << 20, 0x7a);
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(pthread_create(&th, NULL, poll_then_wake, &w), 0);
	fflag = (uintptr_t)&w.flag;
	atom_init(&fw, 0, SYS_futex, &fret, &fflag, &fop, &fval, &fts);
	fw.user_data = 0x7b;
	memset(&done, 0, sizeof(done));
	/* in the caller all along: no thread to hand off to */
	ASSERT_EQ(async_exec(&fw, r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	tap_diag("completion seen by the poller after %lld ms", w.ms);
	EXPECT_GE(w.ms, 0);
	EXPECT_LT(w.ms, 5000);
	if (w.ms >= 0) {
		EXPECT_EQ(w.c.user_data, 0x7a);
		EXPECT_EQ(w.c.status, BLK);
		EXPECT_EQ(rd.ret, BLK);
	}
	/* the pipe read ends */
	ASSERT_EQ(write(fds[1], "x", 1), 1);
	for (int got = 0; !got;) {
		struct syslet_completion c;

		ASSERT_TRUE(ring_get(r, &c));
		got = c.user_data == 0x79;
	}
	EXPECT_EQ(pret, 1);
	close(fds[0]);
	close(fds[1]);
	free(b);
	close(fd);
}

/*
 * A buffered read's page comes (its task work queued on the submitter)
 * while the submitter is in a default-mode chain whose next atom then
 * hands its user context off: the taker must read it on and post it, to
 * a program that only polls the ring.
 */
TEST(buffered_read_whose_page_comes_before_a_handoff_is_read_by_the_taker)
{
	enum { CHUNK = 1 << 20, MAXA = 200 };
	static struct syslet_atom a[MAXA + 1];
	static uint64_t gbuf, glen = CHUNK, gflags, pfd, pbuf, plen = 1;
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion c;
	long long t0, per, n, waited;
	int fds[2], got = 0;
	char *b = malloc(BLK), pc;
	struct rd rd;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(1);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	ASSERT_EQ(pipe(fds), 0);
	gbuf = (uintptr_t)malloc(CHUNK);
	/*
	 * Atoms that keep the caller in the kernel ~1 s without sleeping;
	 * the fastest of 8 calls, so that preemption meanwhile (a busy
	 * host) does not make the chain too short.
	 */
	per = 1 << 30;
	for (int i = 0; i < 8; i++) {
		t0 = now_ms();
		ASSERT_EQ(syscall(SYS_getrandom, (void *)gbuf, CHUNK, 0), CHUNK);
		if (now_ms() - t0 < per)
			per = now_ms() - t0;
	}
	per++;
	n = 1000 / per + 1;
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

	rd_init(&rd, SYSLET_ASYNC, fd, b, BLK, 7 << 20, 0x55);
	ASSERT_EQ(async_exec(&rd.a, r, NULL, 0), SYSLET_QUEUED);
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	waited = now_ms() - t0;
	tap_diag("%lld atoms of %lld ms; in the kernel %lld ms", n, per, waited);
	if (waited < 250)
		SKIP("the chain did not outlast the read (%lld ms)", waited);
	/* poll the ring: no async_wait() or async_exec(), which read on */
	for (int i = 0; i < 300 && !got; i++) {
		while (!got && ring_pop(r, &c))
			got = c.user_data == 0x55;
		if (!got)
			usleep(10000);
	}
	ASSERT_EQ(write(fds[1], "z", 1), 1);
	ASSERT_TRUE(got);
	ASSERT_EQ(c.status, BLK);
	ASSERT_EQ(rd.ret, BLK);
	ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(c.user_data, 0x99);
	close(fd);
}

/* Turns audit on or off through its netlink socket; 0 if it did. */
static int audit_onoff(int on)
{
	int fd = audit_open(), ok;

	if (fd < 0)
		return -1;
	ok = audit_set(fd, on, -1) ? -1 : 0;
	close(fd);
	return ok;
}

static void cold_read_after_audit(void)
{
	struct syslet_ring *r = ring_new(4);
	char *b = malloc(BLK);
	struct rd rd;
	int fd = open(loopdev, O_RDONLY);

	if (fd < 0 || ioctl(fd, BLKFLSBUF, 0))
		_exit(2);
	rd_init(&rd, SYSLET_ASYNC, fd, b, BLK, 11 * BLK, 1);
	if (run_rd(r, &rd) != BLK)
		_exit(3);
	_exit(limits_now().nr_threads ? 4 : 0);
}

/*
 * A task made after audit was once on has an audit context that stays
 * non-dummy when audit is off again (visible.c's tests leave the system
 * so): that must not keep its reads from waiting without a thread.
 */
TEST(audit_once_on_does_not_keep_reads_on_threads)
{
	int st;

	REQUIRE_SYSLET();
	if (!loopdev[0])
		SKIP("no loop device");
	if (audit_onoff(1))
		SKIP("no audit (CONFIG_AUDIT) or not allowed");
	ASSERT_EQ(audit_onoff(0), 0);
	st = in_child(cold_read_after_audit, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(exit_exec_and_kill_with_buffered_reads_in_flight)
{
	for (int how = 0; how < 3; how++) {
		pid_t pid;
		int st;

		REQUIRE_SYSLET();
		pid = fork();
		if (pid == 0) {
			struct syslet_ring *r = ring_new(64);
			struct rd *rd = calloc(32, sizeof(*rd));
			char *b = malloc(32 * BLK);
			int fd = slow_dev(0);

			if (fd < 0)
				_exit(77);
			/*
			 * Blocks of their own for each child: the last
			 * child's reads still in flight are in the page
			 * cache, locked, where BLKFLSBUF cannot drop them,
			 * and one that came in before this read would make
			 * it complete in the caller (6.1 debug, once in
			 * make test-debug: the child exited 4).
			 */
			for (int i = 0; i < 32; i++) {
				long ret;

				rd_init(&rd[i], i & 1 ? SYSLET_ASYNC : 0, fd,
					b + i * BLK, BLK,
					(uint64_t)(how * 32 + i + 1) << 20, i);
				ret = async_exec(&rd[i].a, r, NULL, 0);
				if (ret != SYSLET_QUEUED)
					_exit(ret == SYSLET_DONE ? 6 : 4);
			}
			if (limits_now().nr_threads)
				_exit(5);
			end_child(how);
		}
		st = wait_end(pid, how);
		if (st == 77)
			SKIP("no null_blk");
		ASSERT_EQ(st, 0);
	}
	/* the pages come after their process: main() checks the device */
	usleep(400000);
}

int main(int argc, char **argv)
{
	int ret;

	nullb_begin();
	if (loop_setup())
		loopdev[0] = 0;
	ret = tap_main(argc, argv);
	/* a 200 ms read may still hold the module: nullb_end() waits */
	if (nullb_end())
		ret = 1;
	if (loop_detach(loopdev))
		ret = 1;
	unlink("/tmp/syslet-kbuf.img");
	return ret;
}
