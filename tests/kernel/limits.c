// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 9, point 3: accounting and limits.  Async threads are threads of
 * the process (CPU time in getrusage(RUSAGE_SELF), same cgroup,
 * RLIMIT_NPROC), the per-process limits on threads and chains in flight
 * hold (-EAGAIN past max_chains, or with no thread and none creatable),
 * and the signals an atom raises (SIGPIPE, SIGXFSZ) reach the submitting
 * thread, or the process, as they would for a direct call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"

/* threads of this process whose comm starts with "syslet-" */
static int count_async_threads(void)
{
	return threads_named(getpid(), "syslet-", NULL);
}

/* the tid of one async thread of this process, or 0 */
static pid_t an_async_thread(void)
{
	pid_t tid;

	threads_named(getpid(), "syslet-", &tid);
	return tid;
}

/* Waits for one completion, riding out signals; 1 on success. */
static int get_one(struct syslet_ring *r, struct syslet_completion *c)
{
	struct timespec ts = { 1, 0 };

	for (int i = 0; i < 30; i++) {
		if (ring_pop(r, c))
			return 1;
		async_wait(r, 1, &ts);
	}
	return 0;
}

/* one read(fd, &c, 1) atom */
struct rd {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
	int fds[2];
};

static long rd_submit(struct rd *b, struct syslet_ring *r, uint64_t ud)
{
	if (pipe(b->fds))
		return -1;
	b->fd = b->fds[0];
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	b->ret = -12345;
	atom_init(&b->a, SYSLET_ASYNC, SYS_read, &b->ret, &b->fd, &b->buf, &b->len, NULL);
	b->a.user_data = ud;
	return async_exec(&b->a, r, NULL, 0);
}

static double ru_secs(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(async_cpu_time_counts_in_rusage_self)
{
	static char buf[65536];
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, bufp = (uintptr_t)buf, len = sizeof(buf);
	double self0, thr0, self1, thr1;
	long long t0, wall;

	REQUIRE_SYSLET();
	fd = open("/dev/zero", O_RDONLY);
	ASSERT_TRUE((int64_t)fd >= 0);
	/* a cycle: 4096 reads of 64 KiB from /dev/zero, all kernel time */
	atom_init(&a, SYSLET_ASYNC, SYS_read, &ret, &fd, &bufp, &len, NULL);
	a.next = (uintptr_t)&a;
	self0 = ru_secs(RUSAGE_SELF);
	thr0 = ru_secs(RUSAGE_THREAD);
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(get_one(r, &comp));
	wall = now_ms() - t0;
	self1 = ru_secs(RUSAGE_SELF);
	thr1 = ru_secs(RUSAGE_THREAD);
	ASSERT_EQ(comp.status, -ELOOP);
	ASSERT_EQ(comp.nr_atoms, SYSLET_MAX_ATOMS);
	tap_diag("chain %lld ms; process CPU +%.3f s, this thread +%.3f s",
		 wall, self1 - self0, thr1 - thr0);
	/* the async thread's time is the process's, not this thread's */
	ASSERT_GE((self1 - self0 - (thr1 - thr0)) * 1000, wall / 2);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static long long cg_usage_usec(const char *dir)
{
	char path[256], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "usage_usec %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * The async thread is in the process's cgroup, and its CPU time is
 * charged there: a cgroup v2 of our own, cpu.stat's usage_usec.
 */
TEST(async_threads_run_in_the_process_cgroup)
{
	static char buf[65536];
	const char *root = "/tmp/syslet-cg", *cg = "/tmp/syslet-cg/t";
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	char path[64], mine[256] = "", its[256] = "", pid[16];
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, bufp = (uintptr_t)buf, len = sizeof(buf);
	long long u0, u1, t0, wall;
	pid_t tid;
	FILE *f;

	REQUIRE_SYSLET();
	if (geteuid() != 0)
		SKIP("needs root to make a cgroup");
	mkdir(root, 0755);
	if (mount("none", root, "cgroup2", 0, NULL) && errno != EBUSY)
		SKIP("cannot mount cgroup2: %s", strerror(errno));
	ASSERT_TRUE(mkdir(cg, 0755) == 0 || errno == EEXIST);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ASSERT_EQ(write_str("/tmp/syslet-cg/t/cgroup.procs", pid), 0);

	fd = open("/dev/zero", O_RDONLY);
	ASSERT_TRUE((int64_t)fd >= 0);
	atom_init(&a, SYSLET_ASYNC, SYS_read, &ret, &fd, &bufp, &len, NULL);
	a.next = (uintptr_t)&a;
	u0 = cg_usage_usec(cg);
	ASSERT_GE(u0, 0);
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	for (int i = 0; i < 100 && !(tid = an_async_thread()); i++)
		usleep(1000);
	ASSERT_GT(tid, 0);
	f = fopen("/proc/self/cgroup", "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(mine, sizeof(mine), f) != NULL);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/cgroup", (int)tid);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(its, sizeof(its), f) != NULL);
	fclose(f);
	ASSERT_STREQ(mine, "0::/t\n");
	ASSERT_STREQ(its, mine);
	ASSERT_TRUE(get_one(r, &comp));
	wall = now_ms() - t0;
	u1 = cg_usage_usec(cg);
	ASSERT_EQ(comp.status, -ELOOP);
	tap_diag("chain %lld ms; cgroup CPU +%lld ms", wall, (u1 - u0) / 1000);
	ASSERT_GE((u1 - u0) / 1000, wall / 2);
}

TEST(max_threads_bounds_threads_chains_queue)
{
	enum { N = 20 };
	struct syslet_ring *r = ring_new(32);
	struct syslet_completion comp;
	static struct rd b[N];

	REQUIRE_SYSLET();
	sys_set_limits(4, 0, 0);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(rd_submit(&b[i], r, i), SYSLET_QUEUED);
	usleep(300000);
	ASSERT_EQ(limits_now().nr_threads, 4);
	ASSERT_EQ(count_async_threads(), 4);
	ASSERT_EQ(limits_now().nr_chains, N);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(write(b[i].fds[1], "x", 1), 1);
	for (int i = 0; i < N; i++) {
		ASSERT_TRUE(get_one(r, &comp));
		ASSERT_EQ(comp.status, 1);
		ASSERT_LE(count_async_threads(), 4);
	}
}

/*
 * max_threads 1, idle timeout 1 ms: the one thread keeps timing out while
 * chains are submitted around that moment.  A thread that had seen the
 * queue empty and was on its way out still counted in nr_threads, so a
 * chain submitted then was queued for no thread: it never completed.
 */
TEST(idle_timeout_exit_never_strands_a_queued_chain)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec wait = { 5, 0 };
	struct syslet_completion comp;
	struct syslet_atom a;
	long long t0 = now_ms();
	int64_t ret;
	int n = 0;

	REQUIRE_SYSLET();
	sys_set_limits(1, 1, 0);
	atom_init(&a, SYSLET_ASYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	/* 0 to 8 ms apart, by 125 us: tick-aligned timeouts at HZ 250..1000 */
	while (now_ms() - t0 < 20000) {
		struct timespec gap = { 0, (n % 65) * 125000L };

		a.user_data = n;
		ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
		if (!ring_pop(r, &comp)) {
			ASSERT_EQ(async_wait(r, 1, &wait), 1);
			ASSERT_TRUE(ring_pop(r, &comp));
		}
		ASSERT_EQ(comp.user_data, n);
		ASSERT_EQ(comp.status, getpid());
		n++;
		nanosleep(&gap, NULL);
	}
	tap_diag("%d chains", n);
}

TEST(max_chains_gives_eagain)
{
	enum { N = 8 };
	struct syslet_ring *r = ring_new(16);
	struct syslet_completion comp, done;
	static struct rd b[N + 1];
	struct syslet_atom s;
	int64_t sret = 0;

	REQUIRE_SYSLET();
	sys_set_limits(2, 0, N);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(rd_submit(&b[i], r, i), SYSLET_QUEUED);
	ASSERT_EQ(rd_submit(&b[N], r, N), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(b[N].ret, -12345);			/* did not run */
	ASSERT_EQ(limits_now().nr_chains, N);
	/* a chain run in the caller is not in flight: not limited */
	atom_init(&s, SYSLET_SYNC, SYS_getpid, &sret, NULL, NULL, NULL, NULL);
	ASSERT_EQ(async_exec(&s, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(sret, getpid());
	/* one completes, one more fits */
	ASSERT_EQ(write(b[0].fds[1], "x", 1), 1);
	ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(comp.user_data, 0);
	close(b[N].fds[0]);
	close(b[N].fds[1]);
	ASSERT_EQ(rd_submit(&b[N], r, N), SYSLET_QUEUED);
	for (int i = 1; i <= N; i++)
		ASSERT_EQ(write(b[i].fds[1], "x", 1), 1);
	for (int i = 1; i <= N; i++)
		ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(limits_now().nr_chains, 0);
}

struct flood {
	struct syslet_ring *r;
	int stop;
	long ok;
};

/* async_wait() on the full ring: each call tries to post the overflow */
static void *flush_loop(void *p)
{
	struct flood *f = p;
	struct timespec zero = { 0, 0 };

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		async_wait(f->r, 0, &zero);
	return NULL;
}

static void *submit_loop(void *p)
{
	struct flood *f = p;
	struct syslet_atom a;
	int64_t ret;
	long ok = 0;

	atom_init(&a, SYSLET_ASYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		ok += async_exec(&a, f->r, NULL, 0) == SYSLET_QUEUED;
	__atomic_fetch_add(&f->ok, ok, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * A 1-entry ring never reaped: every chain after the first waits on the
 * overflow list, in flight, so at most max_chains + 1 submissions can
 * succeed, however many threads submit while others try to post the
 * overflow (before: each failed post gave the chain's place up for its
 * duration and took it back, letting concurrent submissions in beyond
 * max_chains).
 */
TEST(failed_posts_never_let_chains_in_beyond_max_chains)
{
	enum { MAX = 8, SUB = 3, FL = 2 };
	struct flood f = { .r = ring_new(1) };
	pthread_t th[SUB + FL];
	struct syslet_limits l;

	REQUIRE_SYSLET();
	sys_set_limits(4, 0, MAX);
	for (int i = 0; i < SUB + FL; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL,
					 i < SUB ? submit_loop : flush_loop, &f), 0);
	sleep(3);
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < SUB + FL; i++)
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
	l = limits_now();
	tap_diag("%ld submissions succeeded, nr_chains %u (max_chains %d)",
		 f.ok, l.nr_chains, MAX);
	EXPECT_LE(f.ok, MAX + 1);
	EXPECT_LE(l.nr_chains, MAX);
}

/*
 * RLIMIT_NPROC counts async threads like any thread of the user: with
 * room for two, two run and the rest wait; with room for none and no
 * thread left, async_exec() fails with EAGAIN.  Root is exempt from
 * RLIMIT_NPROC, so this runs as uid 1000.
 */
TEST(rlimit_nproc_bounds_async_threads)
{
	enum { N = 6 };
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion comp;
	static struct rd b[N + 1];
	struct rlimit rl = { 3, 3 };	/* this process and two threads */

	REQUIRE_SYSLET();
	if (geteuid() != 0)
		SKIP("needs root to become uid 1000");
	ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
	ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	sys_set_limits(16, 100, 0);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(rd_submit(&b[i], r, i), SYSLET_QUEUED);
	usleep(300000);
	ASSERT_EQ(limits_now().nr_threads, 2);
	ASSERT_EQ(count_async_threads(), 2);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(write(b[i].fds[1], "x", 1), 1);
	for (int i = 0; i < N; i++) {
		ASSERT_TRUE(get_one(r, &comp));
		ASSERT_EQ(comp.status, 1);
	}
	/* idle threads leave after 100 ms; then no thread can be made */
	for (int i = 0; i < 100 && limits_now().nr_threads; i++)
		usleep(20000);
	ASSERT_EQ(limits_now().nr_threads, 0);
	rl.rlim_cur = rl.rlim_max = 1;
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	ASSERT_EQ(rd_submit(&b[N], r, N), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(limits_now().nr_chains, 0);
	ASSERT_EQ(b[N].ret, -12345);
}

/* --- signals raised by atoms ------------------------------------------ */

static _Atomic int sig_count;
static _Atomic pid_t sig_tid;

static void on_sig(int sig)
{
	(void)sig;
	sig_count++;
	sig_tid = sys_tid();
}

/* a write(fd, "x", 1) atom, fd from *fdp */
struct wr {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len, off;
};

static void wr_init(struct wr *w, int fd, uint32_t flags)
{
	static const char x = 'x';

	w->fd = fd;
	w->buf = (uintptr_t)&x;
	w->len = 1;
	w->ret = -12345;
	atom_init(&w->a, flags, SYS_write, &w->ret, &w->fd, &w->buf, &w->len,
		  NULL);
}

/* a pipe whose read end is closed */
static int broken_pipe(void)
{
	int fds[2];

	if (pipe(fds))
		return -1;
	close(fds[0]);
	return fds[1];
}

/* SigPnd of a task of this process, as a mask */
static unsigned long long sigpnd_of(pid_t tid)
{
	char path[64], line[128];
	unsigned long long m = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return ~0ULL;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigPnd: %llx", &m) == 1)
			break;
	fclose(f);
	return m;
}

TEST(sigpipe_from_async_atom_runs_submitters_handler)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct wr w;
	pid_t tid;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	wr_init(&w, broken_pipe(), SYSLET_ASYNC);
	ASSERT_EQ(async_exec(&w.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(w.ret, -EPIPE);
	ASSERT_EQ(comp.status, -EPIPE);
	/* posted after the signal was passed on: it has been handled */
	ASSERT_EQ(sig_count, 1);
	ASSERT_EQ(sig_tid, sys_tid());
	/* and nothing is left pending on the async thread */
	tid = an_async_thread();
	ASSERT_GT(tid, 0);
	ASSERT_EQ(sigpnd_of(tid) & (1ULL << (SIGPIPE - 1)), 0);
}

TEST(sigpipe_in_caller_is_the_callers_as_before)
{
	struct syslet_completion done;
	struct wr w;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	wr_init(&w, broken_pipe(), SYSLET_SYNC);
	ASSERT_EQ(async_exec(&w.a, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(done.status, -EPIPE);
	ASSERT_EQ(sig_count, 1);
	ASSERT_EQ(sig_tid, sys_tid());
}

/* SIGPIPE's default action kills the process, as for a direct write */
TEST(sigpipe_default_action_kills_the_process)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct wr w;
	pid_t pid;
	int st;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		signal(SIGPIPE, SIG_DFL);
		wr_init(&w, broken_pipe(), SYSLET_ASYNC);
		if (async_exec(&w.a, r, NULL, 0) != SYSLET_QUEUED)
			_exit(2);
		get_one(r, &comp);
		usleep(500000);
		_exit(3);		/* should not get here */
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGPIPE);
}

/* ignored SIGPIPE: the atom gets -EPIPE and the process lives */
TEST(sigpipe_ignored_just_fails_the_atom)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct wr w;

	REQUIRE_SYSLET();
	signal(SIGPIPE, SIG_IGN);
	wr_init(&w, broken_pipe(), SYSLET_ASYNC);
	ASSERT_EQ(async_exec(&w.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(comp.status, -EPIPE);
}

/* blocked in the submitter: it stays pending there, not on the thread */
TEST(sigpipe_blocked_by_submitter_is_pending_on_it)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	sigset_t set, pend;
	struct wr w;
	pid_t tid;

	REQUIRE_SYSLET();
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	wr_init(&w, broken_pipe(), SYSLET_ASYNC);
	ASSERT_EQ(async_exec(&w.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(comp.status, -EPIPE);
	ASSERT_EQ(sigpending(&pend), 0);
	ASSERT_TRUE(sigismember(&pend, SIGPIPE));
	ASSERT_NE(sigpnd_of(sys_tid()) & (1ULL << (SIGPIPE - 1)), 0);
	tid = an_async_thread();
	ASSERT_GT(tid, 0);
	ASSERT_EQ(sigpnd_of(tid) & (1ULL << (SIGPIPE - 1)), 0);
}

struct sub_arg {
	struct syslet_ring *r;
	struct wr w;
	pid_t tid;
	int ok;
	int wait;	/* wait for the completion in this thread */
	int gate[2];	/* the chain first reads a byte from gate[0] */
	struct rd g;
};

/* chain: read(gate) then write(broken pipe) */
static void *submitter(void *p)
{
	struct sub_arg *s = p;
	struct syslet_completion comp;

	s->tid = sys_tid();
	s->g.fd = s->gate[0];
	s->g.buf = (uintptr_t)&s->g.c;
	s->g.len = 1;
	atom_init(&s->g.a, SYSLET_ASYNC, SYS_read, &s->g.ret, &s->g.fd, &s->g.buf,
		  &s->g.len, NULL);
	s->g.a.next = (uintptr_t)&s->w.a;
	s->ok = async_exec(&s->g.a, s->r, NULL, 0) == SYSLET_QUEUED;
	if (s->ok && s->wait)
		s->ok = get_one(s->r, &comp) && comp.status == -EPIPE;
	return NULL;
}

TEST(signal_goes_to_the_submitting_thread)
{
	struct sub_arg s = { .r = ring_new(4), .wait = 1 };
	pthread_t th;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	ASSERT_EQ(pipe(s.gate), 0);
	wr_init(&s.w, broken_pipe(), SYSLET_ASYNC);
	ASSERT_EQ(pthread_create(&th, NULL, submitter, &s), 0);
	usleep(200000);
	ASSERT_EQ(write(s.gate[1], "g", 1), 1);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_TRUE(s.ok);
	ASSERT_EQ(sig_count, 1);
	ASSERT_EQ(sig_tid, s.tid);
	ASSERT_NE(sig_tid, sys_tid());
}

TEST(signal_goes_to_the_process_when_submitter_is_gone)
{
	struct sub_arg s = { .r = ring_new(4), .wait = 0 };
	struct syslet_completion comp;
	pthread_t th;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	ASSERT_EQ(pipe(s.gate), 0);
	wr_init(&s.w, broken_pipe(), SYSLET_ASYNC);
	ASSERT_EQ(pthread_create(&th, NULL, submitter, &s), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);		/* it exited */
	ASSERT_TRUE(s.ok);
	ASSERT_EQ(write(s.gate[1], "g", 1), 1);
	ASSERT_TRUE(get_one(s.r, &comp));
	ASSERT_EQ(comp.status, -EPIPE);
	ASSERT_EQ(sig_count, 1);
	ASSERT_EQ(sig_tid, sys_tid());		/* the only thread left */
}

/*
 * SYSLET_NOSIGNAL (with SYSLET_ASYNC): the SIGPIPE a write to a broken
 * pipe raises is discarded, as in glibc's AIO helper, which blocks every
 * signal: SIGPIPE left at its default does not kill, nothing is pending
 * on the submitter or the async thread, the atom still gets -EPIPE.  In
 * a child: without the flag the signal would kill it.
 */
TEST(sigpipe_nosignal_is_discarded)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	sigset_t pend;
	struct wr w;
	pid_t pid, tid;
	int st;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		signal(SIGPIPE, SIG_DFL);
		wr_init(&w, broken_pipe(), SYSLET_ASYNC | SYSLET_NOSIGNAL);
		if (async_exec(&w.a, r, NULL, 0) != SYSLET_QUEUED)
			_exit(2);
		if (!get_one(r, &comp))
			_exit(3);
		usleep(200000);
		if (comp.status != -EPIPE || w.ret != -EPIPE)
			_exit(4);
		if (sigpending(&pend) || sigismember(&pend, SIGPIPE))
			_exit(5);
		tid = an_async_thread();
		if (tid <= 0 || sigpnd_of(tid) & (1ULL << (SIGPIPE - 1)))
			_exit(6);
		/* the next chain, without the flag, gets it again */
		wr_init(&w, broken_pipe(), SYSLET_ASYNC);
		signal(SIGPIPE, on_sig);
		if (async_exec(&w.a, r, NULL, 0) != SYSLET_QUEUED ||
		    !get_one(r, &comp))
			_exit(7);
		_exit(sig_count == 1 ? 0 : 8);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/*
 * SYSLET_NOSIGNAL discards only what the atom's own call raised: a
 * SIGPIPE another thread sends the async thread (tgkill) while the chain
 * runs is moved to the submitter as without the flag.  Chain: read(gate),
 * then write(broken pipe); the tgkill lands while the read waits.
 */
TEST(nosignal_keeps_a_tgkill_sent_to_the_async_thread)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct rd g = { 0 };
	struct wr w;
	pid_t tid;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	ASSERT_EQ(pipe(g.fds), 0);
	g.fd = g.fds[0];
	g.buf = (uintptr_t)&g.c;
	g.len = 1;
	atom_init(&g.a, SYSLET_ASYNC | SYSLET_NOSIGNAL, SYS_read, &g.ret,
		  &g.fd, &g.buf, &g.len, NULL);
	wr_init(&w, broken_pipe(), 0);
	g.a.next = (uintptr_t)&w.a;
	ASSERT_EQ(async_exec(&g.a, r, NULL, 0), SYSLET_QUEUED);
	for (int i = 0; i < 200 && !(tid = an_async_thread()); i++)
		usleep(1000);
	ASSERT_GT(tid, 0);
	ASSERT_EQ(threads_named(getpid(), "syslet-", NULL), 1);
	usleep(100000);			/* in its read */
	ASSERT_EQ(syscall(SYS_tgkill, getpid(), tid, SIGPIPE), 0);
	usleep(50000);
	ASSERT_EQ(sig_count, 0);	/* blocked there meanwhile */
	ASSERT_EQ(write(g.fds[1], "g", 1), 1);
	ASSERT_TRUE(get_one(r, &comp));
	ASSERT_EQ(comp.status, -EPIPE);
	ASSERT_EQ(g.ret, 1);
	/* the tgkill'd one, moved after the read; the write's discarded */
	ASSERT_EQ(sig_count, 1);
	ASSERT_EQ(sig_tid, sys_tid());
	ASSERT_EQ(sigpnd_of(tid) & (1ULL << (SIGPIPE - 1)), 0);
}

/* SYSLET_NOSIGNAL without SYSLET_ASYNC: refused, nothing run */
TEST(nosignal_needs_async)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct wr w;

	REQUIRE_SYSLET();
	signal(SIGPIPE, on_sig);
	wr_init(&w, broken_pipe(), SYSLET_NOSIGNAL);
	errno = 0;
	ASSERT_EQ(async_exec(&w.a, r, &done, 0), -1);
	ASSERT_EQ(errno, EINVAL);
	wr_init(&w, broken_pipe(), SYSLET_NOSIGNAL | SYSLET_SYNC);
	errno = 0;
	ASSERT_EQ(async_exec(&w.a, r, &done, 0), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(w.ret, -12345);
	ASSERT_EQ(sig_count, 0);
}

/*
 * SIGXFSZ: a write past RLIMIT_FSIZE; its default action kills.  @ignore:
 * 0 default action, 1 SIG_IGN, 2 default action and SYSLET_NOSIGNAL.
 */
static void fsize_child(int ignore)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct rlimit rl = { 4096, 4096 };
	char path[] = "/tmp/syslet-fsz-XXXXXX";
	struct syslet_atom a;
	int64_t ret = 0;
	uint64_t fd, buf, len = 1, off = 8192;
	static const char x = 'x';
	int f = mkstemp(path);

	if (f < 0)
		_exit(2);
	unlink(path);
	signal(SIGXFSZ, ignore == 1 ? SIG_IGN : SIG_DFL);
	if (setrlimit(RLIMIT_FSIZE, &rl))
		_exit(2);
	fd = f;
	buf = (uintptr_t)&x;
	atom_init(&a, SYSLET_ASYNC | (ignore == 2 ? SYSLET_NOSIGNAL : 0),
		  SYS_pwrite64, &ret, &fd, &buf, &len, &off);
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED)
		_exit(2);
	if (!get_one(r, &comp))
		_exit(4);
	usleep(300000);
	_exit(comp.status == -EFBIG && ret == -EFBIG ? 0 : 5);
}

/* fsize_child(@mode) in a child: its wait status, or -1 */
static int fsize_status(int mode)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid)
		fsize_child(mode);
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

TEST(sigxfsz_default_action_kills_the_process)
{
	int st;

	REQUIRE_SYSLET();
	st = fsize_status(0);
	ASSERT_NE(st, -1);	/* fork() and waitpid() worked */
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGXFSZ);
}

TEST(sigxfsz_ignored_fails_the_atom_with_efbig)
{
	int st;

	REQUIRE_SYSLET();
	st = fsize_status(1);
	ASSERT_NE(st, -1);	/* fork() and waitpid() worked */
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* SYSLET_NOSIGNAL: SIGXFSZ at its default is discarded, the atom -EFBIG */
TEST(sigxfsz_nosignal_fails_the_atom_with_efbig)
{
	int st;

	REQUIRE_SYSLET();
	st = fsize_status(2);
	ASSERT_NE(st, -1);	/* fork() and waitpid() worked */
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

TAP_MAIN
