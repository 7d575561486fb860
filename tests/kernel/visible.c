// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15 item 7: every atom is seen as the system call it is, in every
 * mode: by the raw_syscalls sys_enter/sys_exit tracepoints (read through
 * tracefs), by audit (records read from the audit netlink socket as
 * auditd would), by seccomp's logging, and, for atoms a traced task runs
 * itself, by a PTRACE_SYSCALL tracer.  And the engine's own trace events:
 * syslet_complete once per completion posted to a ring, whoever posts it.
 *
 * A direct read (kernel/syslet/kio.c: a lone O_DIRECT pread64() of a block
 * device, issued without an async thread) is only issued so when nobody
 * watches it: a traced or audited submitter, or a seccomp LOG, sends it
 * to an async thread, which makes it as the call it is (sys_enter/
 * sys_exit, audit, the LOG), so that it is never seen as a call of the
 * thread that happens to post it, and is seen even if its process exits
 * before it completes (issue 15, late review findings 1, 2 and 5).  The
 * devices: a loop device over a file, set up by main(), and null_blk with
 * 200 ms completions (reads that stay in flight).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include "tap.h"
#include "sys.h"
#include "tracefs.h"
#include "filter.h"

#define MAGIC_SYNC	0x7171
#define MAGIC_ASYNC	0x7272
#define MAGIC_POB	0x7373

/* getpgid(@magic) as one atom in mode @flags: fails with ESRCH */
static int64_t getpgid_atom(uint64_t magic, uint32_t flags)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct syslet_atom a;
	int64_t ret = -12345;
	int n;

	atom_init(&a, flags, SYS_getpgid, &ret, &magic, NULL, NULL, NULL);
	a.user_data = magic;
	n = run_chain(&a, r, &done);
	if (n)
		return n;
	free(r);
	return done.status;
}

/* --- tracefs ----------------------------------------------------------- */

static void tracefs_or_skip(void)
{
	if (tracefs_find())
		SKIP("no tracefs (CONFIG_FTRACE)");
}

static void tracing_nr(int on, int nr)
{
	char filter[64];

	snprintf(filter, sizeof(filter), "id == %d", nr);
	tr_write("tracing_on", "0");
	if (on) {
		tr_write("trace", "");
		tr_write("events/raw_syscalls/sys_enter/filter", filter);
		tr_write("events/raw_syscalls/sys_exit/filter", filter);
	}
	tr_write("events/raw_syscalls/sys_enter/enable", on ? "1" : "0");
	tr_write("events/raw_syscalls/sys_exit/enable", on ? "1" : "0");
	tr_write("events/syslet/enable", on ? "1" : "0");
	if (!on) {
		tr_write("events/raw_syscalls/sys_enter/filter", "0");
		tr_write("events/raw_syscalls/sys_exit/filter", "0");
	}
	tr_write("tracing_on", on ? "1" : "0");
}

static void tracing(int on)
{
	tracing_nr(on, SYS_getpgid);
}

TEST(raw_syscalls_tracepoints_fire_per_atom)
{
	char want[64], *t;
	int n;

	REQUIRE_SYSLET();
	tracefs_or_skip();
	if (access("/sys/kernel/tracing/events/raw_syscalls", F_OK) &&
	    access("/tmp/tracing/events/raw_syscalls", F_OK))
		SKIP("no raw_syscalls events (CONFIG_TRACING)");
	tracing(1);
	ASSERT_EQ(getpgid_atom(MAGIC_SYNC, SYSLET_SYNC), -ESRCH);
	ASSERT_EQ(getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC), -ESRCH);
	ASSERT_EQ(getpgid_atom(MAGIC_POB, 0), -ESRCH);
	tracing(0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	/* one sys_enter with the atom's number and arguments, one sys_exit */
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_SYNC);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_ASYNC);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_POB);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "sys_exit: NR %d = %d", SYS_getpgid,
		 -ESRCH);
	n = tr_count(t, want);
	EXPECT_EQ(n, 3);
	/* the async one ran in an async thread, named as one */
	EXPECT_TRUE(strstr(t, "syslet-") != NULL);
	if (n != 3)
		tap_diag("trace:\n%s", t);
	free(t);
}

static void *write_later(void *arg)
{
	int fd = *(int *)arg;

	usleep(300 * 1000);
	if (write(fd, "z", 1) != 1)
		_exit(3);
	return NULL;
}

TEST(engine_trace_events)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	uint64_t fd, buf, len = 1;
	struct syslet_atom a;
	pthread_t th;
	int64_t ret;
	char c, want[96], *t;
	int p[2];

	REQUIRE_SYSLET();
	tracefs_or_skip();
	tracing(1);
	ASSERT_EQ(getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC), -ESRCH);
	async_cancel(r, 0x5151, 0);	/* nothing to cancel */
	/* a default-mode read that blocks: handed off */
	ASSERT_EQ(pipe(p), 0);
	fd = p[0];
	buf = (uintptr_t)&c;
	atom_init(&a, 0, SYS_read, &ret, &fd, &buf, &len, NULL);
	a.user_data = 0x6161;
	ASSERT_EQ(pthread_create(&th, NULL, write_later, &p[1]), 0);
	EXPECT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	pthread_join(th, NULL);
	tracing(0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "flags 0x%x user_data 0x%x", SYSLET_ASYNC,
		 MAGIC_ASYNC);
	EXPECT_EQ(tr_count(t, "syslet_submit:"), 2);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "syslet_complete: user_data 0x%x status %d atoms 1",
		 MAGIC_ASYNC, -ESRCH);
	EXPECT_EQ(tr_count(t, want), 1);
	EXPECT_EQ(tr_count(t, "syslet_complete: user_data 0x6161 status 1 atoms 1"), 1);
	snprintf(want, sizeof(want), "syslet_handoff: tid %d giver ",
		 (int)syscall(SYS_gettid));
	EXPECT_EQ(tr_count(t, want), 1);
	EXPECT_EQ(tr_count(t, "syslet_cancel: ring"), 1);
	EXPECT_EQ(tr_count(t, "user_data 0x5151 flags 0x0 ret -"), 1);
	free(t);
	free(r);
}


/* --- syslet_complete: once per completion posted to a ring ------------- */

struct parker {
	pid_t tid;
	long ret;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *park(void *arg)
{
	struct parker *p = arg;

	__atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	p->ret = async_exec(NULL, NULL, NULL, SYSLET_EXEC_SPARE) < 0 ? -errno : 0;
	return NULL;
}

static int completes(const char *t, unsigned int ud)
{
	char want[64];

	snprintf(want, sizeof(want), "syslet_complete: user_data 0x%x ", ud);
	return tr_count(t, want);
}

/*
 * Every completion that reaches a ring fires syslet_complete once, with
 * the ring's address: a chain cancelled while still queued, a
 * SYSLET_EXEC_POST, a threadlet's end, a chain whose ring was full (once,
 * when it is put on the overflow list, not again when it is flushed); a
 * completion given back in *done fires none.
 */
TEST(complete_event_fires_once_per_completion_posted_to_a_ring)
{
	struct syslet_limits lim = { .size = sizeof(lim), .max_threads = 1 };
	struct syslet_ring *r = ring_new(4), *r1 = ring_new(1);
	struct syslet_completion done, comp;
	struct syslet_atom a[3];
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct parker p = { 0 };
	uint64_t fd, buf, len = 1, magic = 0x7575;
	int64_t ret[3];
	char c, want[96], *t;
	pthread_t th;
	int pp[2];

	REQUIRE_SYSLET();
	tracefs_or_skip();
	ASSERT_EQ(async_limits(&lim, NULL), 0);
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(pp), 0);
	tracing(1);
	/* one async thread, blocked in a read; a second chain stays queued */
	fd = pp[0];
	buf = (uintptr_t)&c;
	atom_init(&a[0], SYSLET_ASYNC, SYS_read, &ret[0], &fd, &buf, &len, NULL);
	a[0].user_data = 0xa1;
	atom_init(&a[1], SYSLET_ASYNC, SYS_getpgid, &ret[1], &magic, NULL,
		  NULL, NULL);
	a[1].user_data = 0xa2;
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(async_exec(&a[1], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(async_cancel(r, 0xa2, 0), 0);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.user_data, 0xa2);
	ASSERT_EQ(comp.status, -ECANCELED);
	ASSERT_EQ(write(pp[1], "z", 1), 1);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.user_data, 0xa1);
	/* SYSLET_EXEC_POST */
	memset(&done, 0, sizeof(done));
	done.status = -5;
	done.user_data = 0xa3;
	ASSERT_EQ(async_exec(NULL, r, &done, SYSLET_EXEC_POST), SYSLET_DONE);
	ASSERT_TRUE(ring_get(r, &comp));
	/* a threadlet that ends without sleeping, posted in the caller */
	ASSERT_EQ(pthread_create(&th, NULL, park, &p), 0);
	while (!__atomic_load_n(&p.tid, __ATOMIC_ACQUIRE))
		;
	ASSERT_TRUE(sleeping(p.tid));
	memset(&done, 0, sizeof(done));
	done.status = 7;
	done.user_data = 0xa4;
	ASSERT_EQ(async_exec(NULL, NULL, NULL, SYSLET_EXEC_THREADLET), 0);
	ASSERT_EQ(async_exec(NULL, r, &done, SYSLET_EXEC_THREADLET_END),
		  SYSLET_DONE);
	ASSERT_EQ(pthread_kill(th, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_TRUE(ring_get(r, &comp));
	/* a SYSLET_SYNC chain given back in *done: no post */
	atom_init(&a[2], SYSLET_SYNC, SYS_getpgid, &ret[2], &magic, NULL, NULL,
		  NULL);
	a[2].user_data = 0xa5;
	ASSERT_EQ(async_exec(&a[2], r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(done.user_data, 0xa5);
	/* a full 1-entry ring: the second waits on the overflow list */
	a[2].flags = SYSLET_ASYNC;
	a[2].user_data = 0xa6;
	ASSERT_EQ(async_exec(&a[2], r1, NULL, 0), SYSLET_QUEUED);
	a[2].user_data = 0xa7;
	ASSERT_EQ(async_exec(&a[2], r1, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r1, &comp));
	ASSERT_TRUE(ring_get(r1, &comp));
	tracing(0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	EXPECT_EQ(completes(t, 0xa1), 1);
	EXPECT_EQ(completes(t, 0xa2), 1);	/* cancelled while queued */
	EXPECT_EQ(completes(t, 0xa3), 1);	/* SYSLET_EXEC_POST */
	EXPECT_EQ(completes(t, 0xa4), 1);	/* SYSLET_EXEC_THREADLET_END */
	EXPECT_EQ(completes(t, 0xa5), 0);	/* to *done */
	EXPECT_EQ(completes(t, 0xa6), 1);
	EXPECT_EQ(completes(t, 0xa7), 1);	/* overflowed, then flushed */
	snprintf(want, sizeof(want), "user_data 0xa2 status %d atoms 0 last 0x0 flags 0x%x ring 0x%lx",
		 -ECANCELED, SYSLET_COMP_CANCELED, (unsigned long)(uintptr_t)r);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "user_data 0xa4 status 7 atoms 0 last 0x0 flags 0x%x ring 0x%lx",
		 SYSLET_COMP_SYNC, (unsigned long)(uintptr_t)r);
	EXPECT_EQ(tr_count(t, want), 1);
	if (completes(t, 0xa2) != 1 || completes(t, 0xa4) != 1)
		tap_diag("trace:\n%s", t);
	free(t);
}

enum { ORDER_PER = 1500, ORDER_RING = 8192 };

/* SYSLET_EXEC_POSTs, user_data 0x100000 * @id + i */
static void *poster(void *arg)
{
	struct syslet_ring *r = *(struct syslet_ring **)arg;
	uintptr_t id = (uintptr_t)((struct syslet_ring **)arg)[1];
	struct syslet_completion done;

	for (int i = 0; i < ORDER_PER; i++) {
		memset(&done, 0, sizeof(done));
		done.user_data = 0x100000 * id + i;
		if (async_exec(NULL, r, &done, SYSLET_EXEC_POST) != SYSLET_DONE)
			return (void *)1;
	}
	return NULL;
}

/*
 * Late review, finding 6: syslet_complete fired before the ring write for
 * a chain's completion (syslet_post_chain()) and after the ring's unlock
 * for a completion without a chain (syslet_post()), so the events of one
 * ring did not come in the order of its completions.  Two threads post
 * while async threads complete chains into the same ring; the events,
 * stamped by the trace clock "counter" (one order for all CPUs), must
 * name the completions in the order the ring has them.
 */
TEST(complete_events_come_in_the_order_of_the_ring)
{
	struct syslet_ring *r = ring_new(ORDER_RING);
	static struct syslet_atom a[ORDER_PER];
	static int64_t ret[ORDER_PER];
	static uint64_t ring_ud[3 * ORDER_PER];
	struct syslet_completion c;
	struct timespec ts = { 10, 0 };
	void *arg[2][2] = { { r, (void *)1 }, { r, (void *)2 } };
	unsigned int n = 0, e = 0, bad = 0;
	char want[64], *t, *p;
	pthread_t th[2];

	REQUIRE_SYSLET();
	tracefs_or_skip();
	sys_set_limits(2, 0, 0);
	ASSERT_EQ(tr_write("trace_clock", "counter"), 0);
	tr_write("tracing_on", "0");
	tr_write("trace", "");
	tr_write("events/syslet/syslet_complete/enable", "1");
	tr_write("tracing_on", "1");
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, poster, arg[i]), 0);
	for (int i = 0; i < ORDER_PER; i++) {
		atom_init(&a[i], SYSLET_ASYNC, SYS_getpid, &ret[i], NULL, NULL,
			  NULL, NULL);
		a[i].user_data = i;
		ASSERT_EQ(async_exec(&a[i], r, NULL, 0), SYSLET_QUEUED);
	}
	for (int i = 0; i < 2; i++) {
		void *res;

		ASSERT_EQ(pthread_join(th[i], &res), 0);
		ASSERT_TRUE(res == NULL);
	}
	while (n < 3 * ORDER_PER) {
		while (n < 3 * ORDER_PER && ring_pop(r, &c))
			ring_ud[n++] = c.user_data;
		if (n < 3 * ORDER_PER &&
		    async_pwait(r, 1, &ts, NULL, 8, 0) < 1)
			break;
	}
	tr_write("tracing_on", "0");
	tr_write("events/syslet/syslet_complete/enable", "0");
	t = tr_read();
	tr_write("trace_clock", "local");
	ASSERT_EQ(n, 3 * ORDER_PER);
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "ring 0x%lx", (unsigned long)(uintptr_t)r);
	for (p = strstr(t, "syslet_complete: user_data "); p;
	     p = strstr(p + 1, "syslet_complete: user_data ")) {
		unsigned long long ud = strtoull(p + 27, NULL, 16);
		char *eol = strchr(p, '\n');

		/* only this ring's, to be safe */
		if (!eol || !memmem(p, eol - p, want, strlen(want)))
			continue;
		if (e < n && ud != ring_ud[e] && !bad++)
			tap_diag("event %u names 0x%llx, the ring has 0x%llx",
				 e, ud, (unsigned long long)ring_ud[e]);
		e++;
	}
	tap_diag("%u completions, %u events, %u out of order", n, e, bad);
	EXPECT_EQ(e, n);
	EXPECT_EQ(bad, 0);
	free(t);
}

/* --- direct reads ------------------------------------------------------ */

#define BLK	4096

/* a loop device over 64 KiB of a file, set up by main(), or "" */
static char loopdev[64];

static void loop_setup(void)
{
	static const char img[] = "/tmp/syslet-visible.img";
	static char buf[16 * BLK];
	int fd;

	memset(buf, 0x5a, sizeof(buf));
	fd = open(img, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return;
	}
	close(fd);
	loop_attach(img, loopdev, sizeof(loopdev));
}

/*
 * One direct read of block 2 as a SYSLET_ASYNC chain, user_data @ud,
 * reaped; returns its status, or -99999.  Its fd is @fd; @threads async
 * threads must have been made for it (1: it is watched, and made by one).
 */
static int64_t direct_read(int fd, uint64_t ud, unsigned int threads)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	uint64_t f = (uint64_t)fd, b, l = BLK, off = 2 * BLK;
	char *buf = aligned_alloc(BLK, BLK);
	struct syslet_atom a;
	int64_t ret = -12345;

	b = (uintptr_t)buf;
	atom_init(&a, SYSLET_ASYNC, SYS_pread64, &ret, &f, &b, &l, &off);
	a.user_data = ud;
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &comp))
		return -99999;
	if (limits_now().nr_threads != threads)
		return -99998;		/* not the way it was expected */
	free(buf);
	free(r);
	return comp.status;
}

/*
 * With the raw_syscalls tracepoints on, a direct read is made by an async
 * thread, as the read it is: sys_enter, sys_exit, syslet_complete once.
 */
TEST(traced_direct_read_is_made_by_an_async_thread)
{
	char want[96], *t;
	int fd;

	REQUIRE_SYSLET();
	tracefs_or_skip();
	if (!loopdev[0])
		SKIP("no loop device");
	fd = open(loopdev, O_RDONLY | O_DIRECT);
	ASSERT_GE(fd, 0);
	tracing_nr(1, SYS_pread64);
	ASSERT_EQ(direct_read(fd, 0xb1, 1), BLK);
	tracing_nr(0, SYS_pread64);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_pread64, fd);
	EXPECT_EQ(tr_count(t, want), 1);
	snprintf(want, sizeof(want), "sys_exit: NR %d = %d", SYS_pread64, BLK);
	EXPECT_EQ(tr_count(t, want), 1);
	EXPECT_EQ(completes(t, 0xb1), 1);
	if (tr_count(t, want) != 1)
		tap_diag("trace:\n%s", t);
	free(t);
	close(fd);
}

/* /dev/nullb0 opened with O_DIRECT if it is ours (200 ms reads), or -1 */
static int slow_dev(void)
{
	return nullb_open(O_RDONLY | O_DIRECT, 1);
}

/* The TID of the task of the trace line that contains @at. */
static int trace_pid(const char *t, const char *at)
{
	const char *bol = at, *p;

	while (bol > t && bol[-1] != '\n')
		bol--;
	/* "   comm-PID   [CPU] flags  time: event: ..." */
	p = strstr(bol, " [");
	if (!p || p > at)
		return -1;
	while (p > bol && p[-1] == ' ')
		p--;
	while (p > bol && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return atoi(p);
}

struct submitter {
	int fd, slow;		/* the read's fd, another fd of the device */
	struct syslet_ring *r;
	pid_t tid;
	long queued;
	int64_t ret;
	uint64_t f, b, l, off;
	struct syslet_atom a;
};

/*
 * Submits a direct read of the 200 ms device, then sleeps uninterruptibly
 * (a read of its own of the device, from 100 to 300 ms) over the moment
 * it completes: the task work that would have it post the read cannot
 * run, and the main thread's async_wait() posts it.
 */
static void *submit_then_block(void *arg)
{
	struct submitter *s = arg;
	struct timespec ms100 = { 0, 100 * 1000 * 1000 };
	char *own = aligned_alloc(BLK, BLK);

	s->tid = sys_tid();
	s->f = (uint64_t)s->fd;
	s->b = (uintptr_t)aligned_alloc(BLK, BLK);
	s->l = BLK;
	s->off = 0;
	s->ret = -12345;
	atom_init(&s->a, SYSLET_ASYNC, SYS_pread64, &s->ret, &s->f, &s->b,
		  &s->l, &s->off);
	s->a.user_data = 0xb3;
	s->queued = async_exec(&s->a, s->r, NULL, 0);
	nanosleep(&ms100, NULL);
	if (pread(s->slow, own, BLK, BLK) != BLK)
		s->queued = -99;
	free(own);
	return NULL;
}

/*
 * Late review, finding 1: a direct read posted by another thread than its
 * submitter (here the main thread, in async_wait(), while the submitter
 * sleeps in a read of its own) was seen as a read of the posting thread:
 * its sys_enter and sys_exit events carried that thread's TID (and its
 * audit record that thread's comm, auid and session).  A read the
 * tracepoints watch is made by an async thread instead, as the call it is.
 */
TEST(direct_read_is_never_seen_as_a_call_of_the_thread_that_posts_it)
{
	struct submitter s = { .r = ring_new(4) };
	struct timespec ts = { 10, 0 };
	struct syslet_completion c;
	char want[96], *t, *at;
	pthread_t th;
	int me = sys_tid(), who;

	REQUIRE_SYSLET();
	tracefs_or_skip();
	s.fd = slow_dev();
	if (s.fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	s.slow = open("/dev/nullb0", O_RDONLY | O_DIRECT);
	ASSERT_GE(s.slow, 0);
	tracing_nr(1, SYS_pread64);
	ASSERT_EQ(pthread_create(&th, NULL, submit_then_block, &s), 0);
	ASSERT_EQ(async_pwait(s.r, 1, &ts, NULL, 8, 0), 1);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	tracing_nr(0, SYS_pread64);
	ASSERT_EQ(s.queued, SYSLET_QUEUED);
	ASSERT_TRUE(ring_pop(s.r, &c));
	ASSERT_EQ(c.user_data, 0xb3);
	ASSERT_EQ(c.status, BLK);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_pread64, s.fd);
	at = strstr(t, want);
	if (!at)
		tap_diag("trace:\n%s", t);
	ASSERT_TRUE(at != NULL);
	ASSERT_EQ(tr_count(t, want), 1);
	who = trace_pid(t, at);
	tap_diag("the read is seen in TID %d; submitter %d, poster %d", who,
		 s.tid, me);
	EXPECT_NE(who, me);
	snprintf(want, sizeof(want), "sys_exit: NR %d = %d", SYS_pread64, BLK);
	at = strstr(t, want);
	ASSERT_TRUE(at != NULL);
	/* the submitter's own read has its sys_exit too: none may be ours */
	for (; at; at = strstr(at + 1, want))
		EXPECT_NE(trace_pid(t, at), me);
	free(t);
	close(s.slow);
	close(s.fd);
}

/* --- audit ------------------------------------------------------------- */

static void audited_child(void)
{
	uint64_t sid = 0x7474;
	struct syslet_atom a;
	int64_t ret;

	/* a direct read, first: audited and LOGged, an async thread makes it */
	if (loopdev[0]) {
		int fd = open(loopdev, O_RDONLY | O_DIRECT);

		if (fd != 9 && (fd < 0 || dup2(fd, 9) != 9))
			_exit(4);
		if (deny(SYS_pread64, SECCOMP_RET_LOG) ||
		    direct_read(9, 0xb2, 1) != BLK)
			_exit(5);
	}
	if (getpgid_atom(MAGIC_SYNC, SYSLET_SYNC) != -ESRCH ||
	    getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC) != -ESRCH ||
	    getpgid_atom(MAGIC_POB, 0) != -ESRCH)
		_exit(1);
	/* seccomp RET_LOG is logged for an atom as for a direct call */
	if (deny(SYS_getsid, SECCOMP_RET_LOG))
		_exit(2);
	atom_init(&a, SYSLET_SYNC, SYS_getsid, &ret, &sid, NULL, NULL, NULL);
	if (async_exec(&a, NULL, NULL, 0) != SYSLET_DONE || ret != -ESRCH)
		_exit(3);
	_exit(0);
}

TEST(audit_records_per_atom)
{
	struct audit_rule_data rule;
	struct audit_reader ar;
	char want[64], *text;
	int fd, status, got[3] = { 0 }, exits = 0, logged = 0, e451 = 0;
	int reads = 0, reads_logged = 0, type;
	pid_t pid;

	REQUIRE_SYSLET();
	fd = audit_open();
	if (fd == -1)
		SKIP("no audit netlink socket (CONFIG_AUDIT): %s",
		     strerror(errno));
	ASSERT_GE(fd, 0);	/* bound */
	ASSERT_EQ(audit_set(fd, 1, getpid()), 0);
	audit_rule(&rule, SYS_getpgid);
	rule.mask[SYS_getsid / 32] |= 1U << (SYS_getsid % 32);
	rule.mask[SYS_pread64 / 32] |= 1U << (SYS_pread64 % 32);
	ASSERT_EQ(audit_send(fd, AUDIT_ADD_RULE, &rule, sizeof(rule)), 0);

	/* audited tasks are those made after audit was enabled */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		audited_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);

	audit_reader_init(&ar, fd, 3000);
	while ((type = audit_next(&ar, &text))) {
		unsigned int i;

		if (type == AUDIT_SECCOMP && strstr(text, " syscall=124 "))
			logged++;
		snprintf(want, sizeof(want), " syscall=%d ", SYS_pread64);
		if (type == AUDIT_SECCOMP && strstr(text, want))
			reads_logged++;
		if (type != AUDIT_SYSCALL)
			continue;
		/* the direct read: its fd, its result */
		if (strstr(text, want) && strstr(text, " a0=9 ") &&
		    strstr(text, " exit=4096 "))
			reads++;
		snprintf(want, sizeof(want), " syscall=%d ", NR_async_exec);
		if (strstr(text, want))
			e451++;
		snprintf(want, sizeof(want), " syscall=%d ", SYS_getpgid);
		if (!strstr(text, want))
			continue;
		if (strstr(text, "exit=-3 "))
			exits++;
		for (i = 0; i < 3; i++) {
			snprintf(want, sizeof(want), " a0=%x ",
				 MAGIC_SYNC + 0x101 * i);
			if (strstr(text, want))
				got[i]++;
		}
	}
	audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
	audit_set(fd, 0, 0);
	close(fd);
	EXPECT_EQ(got[0], 1);	/* SYSLET_SYNC, in the caller */
	EXPECT_EQ(got[1], 1);	/* SYSLET_ASYNC, in an async thread */
	EXPECT_EQ(got[2], 1);	/* default mode, in the caller */
	EXPECT_EQ(exits, 3);
	EXPECT_EQ(e451, 0);	/* async_exec() itself is not in the rule */
	EXPECT_EQ(logged, 1);	/* seccomp RET_LOG */
	if (!loopdev[0]) {
		tap_diag("no loop device: direct reads not checked");
		return;
	}
	EXPECT_EQ(reads, 1);	/* the direct read, as the read it is */
	EXPECT_EQ(reads_logged, 1);	/* seccomp RET_LOG on it */
}

static struct syslet_atom audit_blk;

/* hands its user context off once in a default-mode read, then exits */
static void handing_off_child(void)
{
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion c;
	struct syslet_atom a;
	static uint64_t fd, buf, len = 1;
	static int64_t ret;
	static char ch;
	int p[2];

	if (prctl(PR_SET_NAME, "r15user") || pipe(p))
		_exit(1);
	/* an idle async thread, for the hand-off */
	atom_init(&a, SYSLET_ASYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &c))
		_exit(2);
	for (int i = 0; i < 500 && limits_now().nr_idle != 1; i++)
		usleep(10000);
	fd = (uint64_t)p[0];
	buf = (uintptr_t)&ch;
	atom_init(&audit_blk, 0, SYS_read, &ret, &fd, &buf, &len, NULL);
	if (async_exec(&audit_blk, r, NULL, 0) != SYSLET_QUEUED)
		_exit(3);
	if (write(p[1], "x", 1) != 1 || !ring_get(r, &c) || ret != 1)
		_exit(4);
	_exit(0);
}

/*
 * Late review, finding 5: after a hand-off, the audit record of the
 * async_exec() that returned SYSLET_QUEUED is written once, when it
 * returns, with its result and the user thread's name and TID (before:
 * the giver kept it pending, and wrote it as its own, comm "syslet-N",
 * when it next left a system call or exited, with a wrong result).
 */
TEST(audit_record_of_an_async_exec_that_handed_off)
{
	struct audit_rule_data rule;
	char a0[64], pidw[32], nrw[32], *text;
	int fd, status, all = 0, good = 0, type;
	struct audit_reader ar;
	pid_t pid;

	REQUIRE_SYSLET();
	fd = audit_open();
	if (fd == -1)
		SKIP("no audit netlink socket (CONFIG_AUDIT): %s",
		     strerror(errno));
	ASSERT_GE(fd, 0);	/* bound */
	ASSERT_EQ(audit_set(fd, 1, getpid()), 0);
	audit_rule(&rule, NR_async_exec);
	ASSERT_EQ(audit_send(fd, AUDIT_ADD_RULE, &rule, sizeof(rule)), 0);

	/* audited tasks are those made after audit was enabled */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		handing_off_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);
	snprintf(a0, sizeof(a0), " a0=%lx ", (unsigned long)&audit_blk);
	snprintf(pidw, sizeof(pidw), " pid=%d ", pid);
	snprintf(nrw, sizeof(nrw), " syscall=%d ", NR_async_exec);

	audit_reader_init(&ar, fd, 3000);
	while ((type = audit_next(&ar, &text))) {
		if (type != AUDIT_SYSCALL || !strstr(text, nrw) ||
		    !strstr(text, a0))
			continue;
		tap_diag("%s", text);
		all++;
		good += strstr(text, " exit=1 ") &&
			strstr(text, " comm=\"r15user\"") && strstr(text, pidw);
	}
	audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
	audit_set(fd, 0, 0);
	close(fd);
	EXPECT_EQ(all, 1);
	EXPECT_EQ(good, 1);
}

/* Reads in flight on /dev/nullb0 (/sys/block/nullb0/inflight), or -1. */
static int nullb_inflight(void)
{
	FILE *f = fopen("/sys/block/nullb0/inflight", "r");
	int rd = -1, wr;

	if (!f)
		return -1;
	if (fscanf(f, "%d %d", &rd, &wr) != 2)
		rd = -1;
	fclose(f);
	return rd;
}

/*
 * Submits a direct read of the 200 ms device on fd 9, its pread64 LOGged,
 * and exits once the read is in flight: before it completes.
 */
static void exiting_reader(void)
{
	static struct syslet_atom a;
	static int64_t ret;
	static uint64_t f = 9, b, l = BLK, off = 0;
	int fd = slow_dev();

	if (fd < 0)
		_exit(77);
	if (fd != 9 && dup2(fd, 9) != 9)
		_exit(4);
	b = (uintptr_t)aligned_alloc(BLK, BLK);
	if (deny(SYS_pread64, SECCOMP_RET_LOG))
		_exit(5);
	atom_init(&a, SYSLET_ASYNC, SYS_pread64, &ret, &f, &b, &l, &off);
	if (async_exec(&a, ring_new(4), NULL, 0) != SYSLET_QUEUED)
		_exit(6);
	for (int i = 0; nullb_inflight() < 1; i++) {
		if (i == 1000)
			_exit(7);
		usleep(1000);
	}
	_exit(0);
}

/*
 * Late review, finding 2: a direct read whose process exits before it
 * completes is dropped; it left no seccomp LOG record and no audit record,
 * though the device read it (the LOG and the record were written by the
 * thread that posted it, and there is none).  Now a LOGged or audited read
 * is made by an async thread: the LOG at its entry, the record at its
 * exit, whatever becomes of the process meanwhile.
 */
TEST(direct_read_of_an_exiting_process_leaves_its_records)
{
	struct audit_rule_data rule;
	int fd, status, logged = 0, reads = 0, type;
	struct audit_reader ar;
	char want[64], *text;
	pid_t pid;

	REQUIRE_SYSLET();
	fd = audit_open();
	if (fd == -1)
		SKIP("no audit netlink socket (CONFIG_AUDIT): %s",
		     strerror(errno));
	ASSERT_GE(fd, 0);	/* bound */
	ASSERT_EQ(audit_set(fd, 1, getpid()), 0);
	audit_rule(&rule, SYS_pread64);
	ASSERT_EQ(audit_send(fd, AUDIT_ADD_RULE, &rule, sizeof(rule)), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		exiting_reader();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
		audit_set(fd, 0, 0);
		SKIP("no null_blk of ours (200 ms completions)");
	}
	EXPECT_EQ(status, 0);
	/* the read completes 200 ms after it was issued */
	snprintf(want, sizeof(want), " syscall=%d ", SYS_pread64);
	audit_reader_init(&ar, fd, 5000);
	while ((type = audit_next(&ar, &text))) {
		if (!strstr(text, want))
			continue;
		if (type == AUDIT_SECCOMP)
			logged++;
		if (type == AUDIT_SYSCALL && strstr(text, " a0=9 ") &&
		    strstr(text, " exit=4096 "))
			reads++;
		/* both seen: no more waiting, once what came is read */
		if (logged && reads)
			ar.until = 0;
	}
	audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
	audit_set(fd, 0, 0);
	close(fd);
	EXPECT_EQ(logged, 1);	/* seccomp RET_LOG, at the read's entry */
	EXPECT_EQ(reads, 1);	/* its audit record, with its result */
}

/* --- ptrace ------------------------------------------------------------ */

static void traced_child(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(1);
	raise(SIGSTOP);
	/* the tracer turns the argument into 0: our own process group */
	if (getpgid_atom(MAGIC_SYNC, SYSLET_SYNC) != getpgid(0))
		_exit(2);
	if (getpgid_atom(MAGIC_POB, 0) != getpgid(0))
		_exit(3);
	_exit(0);
}

/*
 * A PTRACE_SYSCALL tracer sees each atom its tracee runs as a system call
 * of its own, nested in async_exec(): entry with the atom's number and
 * arguments, exit with its result; it may change the arguments.
 */
TEST(ptrace_syscall_stops_per_atom)
{
	int status, entries = 0, exits = 0, in451 = 0, nested = 0;
	pid_t pid;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		traced_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)PTRACE_O_TRACESYSGOOD), 0);
	for (;;) {
		struct __ptrace_syscall_info info;
		struct user_regs_struct regs;

		ASSERT_EQ(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		memset(&info, 0, sizeof(info));
		ASSERT_GT(ptrace(PTRACE_GET_SYSCALL_INFO, pid,
				 (void *)sizeof(info), &info), 0);
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			if (info.entry.nr == NR_async_exec)
				in451++;
			if (info.entry.nr == SYS_getpgid &&
			    (info.entry.args[0] == MAGIC_SYNC ||
			     info.entry.args[0] == MAGIC_POB)) {
				entries++;
				nested += in451 == 1;
				ASSERT_EQ(ptrace(PTRACE_GETREGS, pid, NULL,
						 &regs), 0);
				EXPECT_EQ(regs.orig_rax, SYS_getpgid);
				regs.rdi = 0;
				ASSERT_EQ(ptrace(PTRACE_SETREGS, pid, NULL,
						 &regs), 0);
			}
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && in451) {
			ASSERT_EQ(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
			if (regs.orig_rax == SYS_getpgid) {
				exits++;
				EXPECT_EQ((long)regs.rax, getpgid(pid));
			} else if (regs.orig_rax == NR_async_exec) {
				in451--;
			}
		}
	}
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(entries, 2);
	EXPECT_EQ(exits, 2);
	EXPECT_EQ(nested, 2);
	EXPECT_EQ(in451, 0);
}

/*
 * async_exec() with canaries in the argument registers it does not use
 * (r8, r9): a system call preserves all but rax, rcx and r11.
 */
static long exec_keep_regs(struct syslet_atom *a, struct syslet_ring *r,
			   unsigned long out[6])
{
	register long rdi __asm__("rdi") = (long)a;
	register long rsi __asm__("rsi") = (long)r;
	register long rdx __asm__("rdx") = 0;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0x5a5a0008;
	register long r9 __asm__("r9") = 0x5a5a0009;
	long ret = NR_async_exec;

	__asm__ volatile("syscall"
			 : "+a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx),
			   "+r"(r10), "+r"(r8), "+r"(r9)
			 : : "rcx", "r11", "memory");
	out[0] = rdi;
	out[1] = rsi;
	out[2] = rdx;
	out[3] = r10;
	out[4] = r8;
	out[5] = r9;
	return ret;
}

#define DETACH_FD	100

static void detached_child(void)
{
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion c;
	struct syslet_atom a;
	uint64_t fd = DETACH_FD, buf, len = 4096, off = 5 << 20;
	int64_t ret = -12345;
	unsigned long out[6];
	int dev = slow_dev();
	long res;

	if (dev < 0)
		_exit(77);
	if (dup2(dev, DETACH_FD) != DETACH_FD)
		_exit(1);
	buf = (uintptr_t)aligned_alloc(4096, 4096);
	memset((void *)(uintptr_t)buf, 0, 4096);
	/* an idle async thread, for the hand-off */
	atom_init(&a, SYSLET_ASYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &c))
		_exit(2);
	for (int i = 0; i < 500 && limits_now().nr_idle != 1; i++)
		usleep(10000);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(4);
	raise(SIGSTOP);
	/*
	 * A 200 ms direct read: an uninterruptible sleep, which the
	 * detach's wake-up (TIF_SIGPENDING) does not cut short.
	 */
	atom_init(&a, 0, SYS_pread64, &ret, &fd, &buf, &len, &off);
	a.user_data = 0x31;
	res = exec_keep_regs(&a, r, out);
	tap_diag("async_exec %ld; rdi %#lx rsi %#lx rdx %#lx r10 %#lx "
		 "r8 %#lx r9 %#lx", res, out[0], out[1], out[2], out[3],
		 out[4], out[5]);
	if (res != SYSLET_QUEUED && res != SYSLET_DONE)
		_exit(5);
	if (out[0] != (uintptr_t)&a || out[1] != (uintptr_t)r || out[2] ||
	    out[3] || out[4] != 0x5a5a0008 || out[5] != 0x5a5a0009)
		_exit(6);
	if (!ring_get(r, &c) || c.user_data != 0x31 || ret != 4096)
		_exit(7);
	_exit(0);
}

/*
 * A PTRACE_SYSCALL tracer detaches at an atom's entry stop (which put the
 * atom's number and arguments in the registers); the atom then sleeps
 * (uninterruptibly: an interruptible sleep would end at once, the detach
 * wakes the task with TIF_SIGPENDING, and async_exec() restart) with
 * pass-on-block armed.  The user context async_exec() returns to,
 * in the caller or a taker, must have async_exec()'s registers (before:
 * a hand-off gave the taker the atom's: rdi 100, rsi the buffer, ...).
 */
TEST(detach_at_an_atoms_entry_stop_keeps_async_execs_registers)
{
	int status, detached = 0;
	pid_t pid;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		detached_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)PTRACE_O_TRACESYSGOOD), 0);
	while (!detached) {
		struct __ptrace_syscall_info info;

		ASSERT_EQ(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT_FALSE(WIFEXITED(status) || WIFSIGNALED(status));
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		memset(&info, 0, sizeof(info));
		ASSERT_GT(ptrace(PTRACE_GET_SYSCALL_INFO, pid,
				 (void *)sizeof(info), &info), 0);
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY &&
		    info.entry.nr == SYS_pread64 &&
		    info.entry.args[0] == DETACH_FD) {
			ASSERT_EQ(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
			detached = 1;
		}
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		SKIP("no null_blk of ours (200 ms completions)");
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	int ret;

	nullb_begin();	/* the tests' children load it */
	loop_setup();
	ret = tap_main(argc, argv);
	/* a 200 ms read may still hold the module: nullb_end() waits */
	if (nullb_end())
		ret = 1;
	if (loop_detach(loopdev))
		ret = 1;
	unlink("/tmp/syslet-visible.img");
	return ret;
}
