// SPDX-License-Identifier: GPL-2.0
/*
 * Regression tests for the findings of hostile review 4 (issue 15):
 *  1. a read's completion interrupt looked at every thread, and for each
 *     at every thread running a chain in its caller (O(threads x callers)
 *     with interrupts off);
 *  2. async threads inherited the scheduling of the thread that made them;
 *  3. async threads shared that thread's io_context;
 *  4. a traced async thread took a user context in a hand-off;
 *  5. a signal sent to an async thread's TID went to the user thread whose
 *     context it took;
 *  6. a buffered read that goes to a thread from get_signal()'s task work
 *     was posted with -ERESTARTNOINTR;
 *  7. async_limits() applied @set and then failed on an unwritable @get.
 * Needs null_blk (loaded here with 200 ms timer completions if absent) and
 * tracefs for 1.
 */
#include "tap.h"
#include "sys.h"
#include "procstatus.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>

#define BLK 4096

/* null_blk with 200 ms timer completions, ours, opened with @flags; or -1 */
static int slow_dev(int flags)
{
	return nullb_open(flags, 1);
}

static void *page_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	return p;
}

/* A SYSLET_SYNC chain of one nanosleep of @ms (ended early by a signal). */
static long sync_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	uint64_t pts = (uintptr_t)&ts;
	struct syslet_completion d;
	struct syslet_atom a;
	int64_t ret;

	atom_init(&a, SYSLET_SYNC, SYS_nanosleep, &ret, &pts, NULL, NULL, NULL);
	memset(&d, 0, sizeof(d));
	return async_exec(&a, NULL, &d, 0);
}

/* ---- 1. the completion interrupt's cost ------------------------------ */

#define TRACING "/sys/kernel/tracing"

static int tr_write(const char *file, const char *val)
{
	char path[256];
	int fd, n;

	snprintf(path, sizeof(path), TRACING "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (int)strlen(val) ? 0 : -1;
}

static int tr_setup(void)
{
	if (access(TRACING "/events/timer/hrtimer_expire_entry", F_OK) &&
	    mount("nodev", TRACING, "tracefs", 0, NULL))
		return -1;
	if (access(TRACING "/events/timer/hrtimer_expire_entry", F_OK))
		return -1;
	/* visible.c leaves tracing off */
	if (tr_write("buffer_size_kb", "4096") ||
	    tr_write("events/timer/hrtimer_expire_entry/enable", "1") ||
	    tr_write("events/timer/hrtimer_expire_exit/enable", "1") ||
	    tr_write("tracing_on", "1"))
		return -1;
	return 0;
}

static void tr_off(void)
{
	tr_write("tracing_on", "0");
	tr_write("events/timer/hrtimer_expire_entry/enable", "0");
	tr_write("events/timer/hrtimer_expire_exit/enable", "0");
	tr_write("trace", "");
}

/*
 * The durations (ms) of null_blk's timer callbacks in the trace (the
 * completion's hard interrupt: the bio's end, the read's kick); up to
 * @max into @d.  Entry and exit are matched by their hrtimer pointer.
 */
static int tr_null_blk_irqs(double *d, int max)
{
	char line[512], timers[16][40];
	double start[16];
	int n = 0, nt = 0;
	FILE *f = fopen(TRACING "/trace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *ts, *hp, *colon;
		double t;

		if (line[0] == '#')
			continue;
		hp = strstr(line, "hrtimer=");
		colon = strstr(line, ": hrtimer_expire_");
		if (!hp || !colon)
			continue;
		/* the timestamp: the word before ": hrtimer_expire_" */
		*colon = 0;
		ts = strrchr(line, ' ');
		if (!ts)
			continue;
		t = atof(ts + 1);
		hp += 8;
		hp[strcspn(hp, " \n")] = 0;
		if (strstr(colon + 1, "entry")) {
			int i = 0;

			if (!strstr(hp + strlen(hp) + 1, "null_cmd_timer_expired"))
				continue;
			/* a free slot: one whose exit was seen, or a new one */
			while (i < nt && timers[i][0])
				i++;
			if (i == 16)
				continue;
			if (i == nt)
				nt++;
			snprintf(timers[i], sizeof(timers[i]), "%.39s", hp);
			start[i] = t;
		} else {
			for (int i = 0; i < nt; i++) {
				if (strcmp(timers[i], hp))
					continue;
				d[n++] = (t - start[i]) * 1000;
				timers[i][0] = 0;
				break;
			}
		}
	}
	fclose(f);
	return n;
}

static atomic_int kw_in;

static void pin_to(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static pid_t kw_tids[4000];

static void *kw_sleeper(void *x)
{
	pin_to(1);
	kw_tids[(intptr_t)x] = sys_tid();
	atomic_fetch_add(&kw_in, 1);
	for (;;)
		sync_sleep_ms(600000);
	return NULL;
}

static void *kw_idler(void *x)
{
	(void)x;
	for (;;)
		pause();
	return NULL;
}

/*
 * In a child: @n threads in SYSLET_SYNC chains and one idle thread made
 * last, then 4 cold buffered reads of the slow device (kbuf: no async
 * thread), each completing while the submitter runs a SYSLET_SYNC chain
 * too: the kick looks for a thread in no chain, the last one.  Writes the shortest completion interrupt (ms)
 * to *@out; exits 0, or 77 without the device or tracing.
 */
static void kw_run(int n, double *out)
{
	struct syslet_ring *r = ring_new(16);
	pthread_attr_t at;
	double d[16], best = 1e9;
	char *b = page_alloc(BLK);
	int fd = slow_dev(O_RDONLY), got = 0;
	pthread_t t;

	if (fd < 0)
		_exit(77);
	pin_to(0);
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, &at, kw_sleeper, (void *)(intptr_t)i))
			_exit(3);
	while (atomic_load(&kw_in) < n)
		usleep(10000);
	/* each one asleep in its chain's nanosleep */
	for (int i = 0; i < n; i++)
		if (!sleeping(kw_tids[i]))
			_exit(7);
	/* one thread in no chain, last in the thread list */
	if (pthread_create(&t, &at, kw_idler, NULL))
		_exit(3);
	sleep(1);			/* all of them in their chains */
	if (tr_write("trace", ""))
		_exit(77);
	for (int i = 0; i < 4; i++) {
		uint64_t pfd = fd, pb = (uintptr_t)b, pl = BLK;
		uint64_t po = (uint64_t)(i + 1) << 20;
		struct syslet_completion c;
		struct syslet_atom a;
		int64_t ret = -1;

		/* cold: a buffered read waits for its page without a thread */
		if (ioctl(fd, BLKFLSBUF, 0))
			_exit(77);
		atom_init(&a, SYSLET_ASYNC, SYS_pread64, &ret, &pfd, &pb, &pl,
			  &po);
		if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED)
			_exit(4);
		/* busy in a chain of its own while the read completes */
		sync_sleep_ms(500);
		if (!ring_get(r, &c) || c.status != BLK)
			_exit(5);
	}
	got = tr_null_blk_irqs(d, 16);
	for (int i = 0; i < got; i++) {
		tap_diag("n=%d: completion interrupt %.3f ms", n, d[i]);
		if (d[i] < best)
			best = d[i];
	}
	if (got < 4)
		_exit(6);
	*out = best;
	_exit(0);
}

TEST(a_reads_completion_does_not_look_at_every_thread_in_a_chain)
{
	double *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ns[2] = { 0, 3000 }, st;

	REQUIRE_SYSLET();
	alarm(600);		/* 2000 threads under TCG, a loaded host */
	if (tr_setup())
		SKIP("no tracefs with the timer events");
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (!pid)
			kw_run(ns[i], &res[i]);
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFEXITED(st));
		if (WEXITSTATUS(st) == 77) {
			tr_off();
			SKIP("no null_blk of ours, or no tracing");
		}
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
	tr_off();
	tap_diag("shortest completion interrupt: %.3f ms with 0 threads in "
		 "chains, %.3f ms with 3000", res[0], res[1]);
	/*
	 * Bounded: not 10 times the cost without them (0.5 ms at the
	 * least: TCG on a loaded host).  The shortest of the reads: a
	 * host that takes the CPU away lengthens some.
	 */
	ASSERT_LT(res[1], 10 * (res[0] > 0.5 ? res[0] : 0.5));
}

/* ---- 2. the scheduling async threads start with ---------------------- */

static struct syslet_ring *sr_ring;

static int64_t queue_one(uint32_t nr, uint64_t *a0, uint64_t *a1, uint64_t *a2)
{
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = -12345;

	atom_init(&a, SYSLET_ASYNC, nr, &ret, a0, a1, a2, NULL);
	if (async_exec(&a, sr_ring, NULL, 0) != SYSLET_QUEUED ||
	    !ring_get(sr_ring, &c))
		return -99999;
	return ret;
}

static void *sr_maker(void *x)
{
	cpu_set_t s;

	(void)x;
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	if (sched_setaffinity(0, sizeof(s), &s) ||
	    setpriority(PRIO_PROCESS, 0, 7))
		return (void *)1;
	/* the process's first async thread is made now, by this thread */
	return queue_one(SYS_getpid, NULL, NULL, NULL) == getpid() ?
	       NULL : (void *)2;
}

TEST(async_threads_do_not_take_their_makers_scheduling)
{
	uint64_t zero = 0, which = PRIO_PROCESS, sz = sizeof(cpu_set_t), pm;
	void *res;
	cpu_set_t m;
	pthread_t t;
	int64_t pol, prio, aff;

	REQUIRE_SYSLET();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP("one CPU");
	sr_ring = ring_new(8);
	ASSERT_EQ(pthread_create(&t, NULL, sr_maker, NULL), 0);
	ASSERT_EQ(pthread_join(t, &res), 0);
	ASSERT_EQ((long)res, 0);
	ASSERT_EQ(limits_now().nr_threads, 1);
	/* this thread: SCHED_OTHER, nice 0, every CPU */
	pm = (uintptr_t)&m;
	CPU_ZERO(&m);
	pol = queue_one(SYS_sched_getscheduler, &zero, NULL, NULL);
	prio = queue_one(SYS_getpriority, &which, &zero, NULL);
	aff = queue_one(SYS_sched_getaffinity, &zero, &sz, &pm);
	tap_diag("a chain of a nice-0 thread on every CPU ran with policy "
		 "%lld, getpriority %lld (20 - nice), %d CPUs", (long long)pol,
		 (long long)prio, aff > 0 ? CPU_COUNT(&m) : -1);
	EXPECT_EQ(pol, SCHED_OTHER);
	EXPECT_EQ(prio, 20);
	ASSERT_GT(aff, 0);
	EXPECT_GE(CPU_COUNT(&m), 2);
}

/*
 * ... but never above what the process may set itself (review 5 finding
 * 5): an unprivileged process confined by RLIMIT_NICE 0 at nice 19, or
 * in SCHED_IDLE, got its queued chains run at nice 0 / SCHED_OTHER.  In
 * a child: the limit, the nice value or policy, then uid 65534.  Exit 0:
 * right; 10 + what the async thread had: wrong; 1-9: setup.
 */
static void confined_child(int idle)
{
	struct rlimit rl = { 0, 0 };
	struct sched_param sp = { 0 };
	uint64_t zero = 0, which = PRIO_PROCESS;
	int64_t got;

	if (setrlimit(RLIMIT_NICE, &rl) || setpriority(PRIO_PROCESS, 0, 19) ||
	    (idle && sched_setscheduler(0, SCHED_IDLE, &sp)))
		_exit(1);
	if (setgid(65534) || setuid(65534))
		_exit(2);
	/* the process itself may not go back */
	if (!setpriority(PRIO_PROCESS, 0, 0) ||
	    (idle && !sched_setscheduler(0, SCHED_OTHER, &sp)))
		_exit(3);
	sr_ring = ring_new(8);
	if (idle) {
		got = queue_one(SYS_sched_getscheduler, &zero, NULL, NULL);
		_exit(got == SCHED_IDLE ? 0 : 10 + (int)got);
	}
	got = queue_one(SYS_getpriority, &which, &zero, NULL);
	_exit(got == 20 - 19 ? 0 : 10 + (int)got);
}

static void confined_nice(void)
{
	confined_child(0);
}

static void confined_idle(void)
{
	confined_child(1);
}

TEST(async_threads_stay_within_the_process_nice_limit)
{
	int st;

	REQUIRE_SYSLET();
	if (geteuid())
		SKIP("not root: cannot set up the confined process");
	st = in_child(confined_nice, 30);
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) >= 10)
		tap_diag("nice 19, RLIMIT_NICE 0: its chain ran at getpriority "
			 "%d (20 - nice; 1 is nice 19)", WEXITSTATUS(st) - 10);
	EXPECT_EQ(WEXITSTATUS(st), 0);
	st = in_child(confined_idle, 30);
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) >= 10)
		tap_diag("SCHED_IDLE, RLIMIT_NICE 0: its chain ran with policy "
			 "%d (SCHED_IDLE is 5)", WEXITSTATUS(st) - 10);
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

/* ---- 3. async threads' io_context ----------------------------------- */

static int ioprio_of(int tid)
{
	return (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
}

static int ioprio_to(int tid, int prio)
{
	return (int)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, prio);
}

/* the TID of the process's one async thread, or 0 */
static int async_tid(void)
{
	struct dirent *e;
	int me = sys_tid(), found = 0;
	DIR *d = opendir("/proc/self/task");

	while (d && (e = readdir(d))) {
		char path[96], comm[32] = "";
		FILE *f;

		if (atoi(e->d_name) <= 0 || atoi(e->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm",
			 atoi(e->d_name));
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "syslet-", 7))
			found = atoi(e->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

TEST(an_async_thread_has_an_io_context_of_its_own)
{
	int be4 = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4);
	int idle = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0);
	int w;

	REQUIRE_SYSLET();
	sr_ring = ring_new(8);
	/* an io_context of this thread's, then the async thread */
	ASSERT_EQ(ioprio_to(0, be4), 0);
	ASSERT_EQ(queue_one(SYS_getpid, NULL, NULL, NULL), getpid());
	w = async_tid();
	ASSERT_GT(w, 0);
	/*
	 * The async thread's I/O priority set (as a tracer or the program
	 * may, by TID) must not be this thread's: a hand-off would carry a
	 * user thread onto that task, and its ioprio_set() would set every
	 * thread's sharing it.
	 */
	ASSERT_EQ(ioprio_to(w, idle), 0);
	tap_diag("after ioprio_set(async thread %d, IDLE): this thread's "
		 "%#x (was %#x)", w, ioprio_of(0), be4);
	EXPECT_EQ(ioprio_of(0), be4);
}

/* ---- 4, 5. hand-offs to a traced async thread, signals on its TID ---- */

static int pipe_fds[2];

/* A default-mode read of an empty pipe: 1 (SYSLET_QUEUED) if handed off */
static long handoff_read(struct syslet_ring *r, char *c, int64_t *ret)
{
	static uint64_t p0, pb, pl = 1;
	static struct syslet_atom a;

	p0 = pipe_fds[0];
	pb = (uintptr_t)c;
	atom_init(&a, 0, SYS_read, ret, &p0, &pb, &pl, NULL);
	return async_exec(&a, r, NULL, 0);
}

/*
 * Review 5 finding 7: a queued chain ran at the I/O priority of whichever
 * thread made the async thread (it kept its maker's): a background thread
 * in the IDLE class that made it put every other thread's queued I/O in
 * the IDLE class.  Now each chain runs at its submitter's, and a hand-off
 * to that thread still happens, the user context keeping its own.
 */
static int64_t qc_prio;

static void *idle_class_maker(void *x)
{
	uint64_t who = IOPRIO_WHO_PROCESS, zero = 0;

	(void)x;
	if (ioprio_to(0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)))
		return (void *)1;
	/* the process's first async thread is made now, by this thread */
	qc_prio = queue_one(SYS_ioprio_get, &who, &zero, NULL);
	return NULL;
}

static void *write_pipe_later(void *x)
{
	(void)x;
	usleep(300000);
	if (write(pipe_fds[1], "x", 1) != 1)
		return (void *)1;
	return NULL;
}

TEST(queued_chains_run_at_their_submitters_io_priority)
{
	int idle = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0);
	int be2 = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 2);
	uint64_t who = IOPRIO_WHO_PROCESS, zero = 0;
	struct syslet_completion comp;
	int64_t mine, be, ret = -1, after;
	pthread_t t;
	int nice_now;
	void *res;
	long h;
	char c;

	REQUIRE_SYSLET();
	sr_ring = ring_new(8);
	ASSERT_EQ(pipe(pipe_fds), 0);
	ASSERT_EQ(pthread_create(&t, NULL, idle_class_maker, NULL), 0);
	ASSERT_EQ(pthread_join(t, &res), 0);
	ASSERT_EQ((long)res, 0);
	ASSERT_EQ(limits_now().nr_threads, 1);
	/*
	 * This thread has none set: its I/O goes best effort at the level
	 * of its nice value (SCHED_OTHER), and so does its chain's, whose
	 * ioprio_get() shows it (review 7 finding 2; before, 0: the class
	 * then followed the async thread's nice value).  Then level 2.
	 */
	errno = 0;
	nice_now = getpriority(PRIO_PROCESS, 0);
	ASSERT_EQ(errno, 0);
	ASSERT_EQ(sched_getscheduler(0), SCHED_OTHER);
	mine = queue_one(SYS_ioprio_get, &who, &zero, NULL);
	ASSERT_EQ(ioprio_to(0, be2), 0);
	be = queue_one(SYS_ioprio_get, &who, &zero, NULL);
	tap_diag("the IDLE-class maker's chain ran at %#llx; this thread's "
		 "(%#x, then %#x) at %#llx, then %#llx", (long long)qc_prio,
		 0, be2, (long long)mine, (long long)be);
	EXPECT_EQ(qc_prio, idle);
	EXPECT_EQ(mine, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, (nice_now + 20) / 5));
	EXPECT_EQ(be, be2);
	/*
	 * Back in the IDLE class from the maker's next chain, the async
	 * thread still takes this thread's user context (a read of an empty
	 * pipe must be handed off), which keeps its own priority.
	 */
	ASSERT_EQ(pthread_create(&t, NULL, idle_class_maker, NULL), 0);
	ASSERT_EQ(pthread_join(t, &res), 0);
	ASSERT_EQ(qc_prio, idle);
	ASSERT_EQ(pthread_create(&t, NULL, write_pipe_later, NULL), 0);
	h = handoff_read(sr_ring, &c, &ret);
	after = ioprio_of(0);
	ASSERT_EQ(pthread_join(t, &res), 0);
	if (h == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(sr_ring, &comp));
	tap_diag("default-mode read of an empty pipe: %ld (1: handed off); "
		 "this thread's I/O priority after it %#llx", h,
		 (long long)after);
	EXPECT_EQ(h, SYSLET_QUEUED);
	EXPECT_EQ(after, be2);
}

static int tracer_of(int tid)
{
	return (int)tap_tid_status(tid, "TracerPid");
}

TEST(a_traced_async_thread_takes_no_user_context)
{
	struct syslet_ring *r = ring_new(8);
	int me = sys_tid(), w, st, wst, tracer;
	int64_t ret = -1;
	char c;
	long h;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(pipe_fds), 0);
	sr_ring = r;
	ASSERT_EQ(queue_one(SYS_getpid, NULL, NULL, NULL), getpid());
	w = async_tid();
	ASSERT_GT(w, 0);
	tracer = fork();
	if (!tracer) {
		if (ptrace(PTRACE_SEIZE, w, 0, 0))
			_exit(2);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 100 && tracer_of(w) != tracer; i++)
		usleep(20000);
	ASSERT_EQ(tracer_of(w), tracer);
	ASSERT_EQ(tracer_of(me), 0);
	/*
	 * The traced thread is not the one that takes this context: the
	 * read hands off to another (made for it), as a read of an empty
	 * pipe must, or it would block here for good.
	 */
	h = handoff_read(r, &c, &ret);
	st = tracer_of(sys_tid());
	wst = tracer_of(w);
	kill(tracer, SIGKILL);
	waitpid(tracer, NULL, 0);
	if (write(pipe_fds[1], "x", 1) != 1)
		_exit(1);
	tap_diag("hand-off: %ld; this thread's TracerPid: %d, TID %d's: %d "
		 "(tracer %d)", h, st, w, wst, tracer);
	EXPECT_EQ(h, SYSLET_QUEUED);
	/* nobody attached to this thread; TID w is still the traced one */
	EXPECT_EQ(st, 0);
	EXPECT_EQ(wst, tracer);
}

/* the signals pending on thread @tid alone (SigPnd), or ~0 */
static unsigned long long sig_pending_of(int tid)
{
	unsigned long long p = ~0ULL;
	char path[96], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigPnd:", 7))
			p = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return p;
}

static volatile sig_atomic_t usr1_code, usr1_tid;

static void on_usr1(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	usr1_code = si->si_code;
	usr1_tid = sys_tid();
}

TEST(a_signal_sent_to_an_async_thread_stays_with_its_tid)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	struct syslet_ring *r = ring_new(8);
	unsigned long long pnd;
	int64_t ret = -1;
	long h;
	char c;
	int w;

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pipe(pipe_fds), 0);
	sr_ring = r;
	ASSERT_EQ(queue_one(SYS_getpid, NULL, NULL, NULL), getpid());
	w = async_tid();
	ASSERT_GT(w, 0);
	/* pending on the async thread, which blocks it */
	ASSERT_EQ(syscall(SYS_tgkill, getpid(), w, SIGUSR1), 0);
	usleep(100000);
	ASSERT_EQ(usr1_code, 0);
	h = handoff_read(r, &c, &ret);
	usleep(100000);
	/* TID w is the old caller's task now, asleep in the read */
	pnd = sig_pending_of(w);
	if (write(pipe_fds[1], "x", 1) != 1)
		_exit(1);
	tap_diag("hand-off: %ld; handler ran: %s (si_code %d, in tid %d); "
		 "TID %d's SigPnd %#llx", h, usr1_code ? "yes" : "no",
		 (int)usr1_code, (int)usr1_tid, w, pnd);
	EXPECT_EQ(h, SYSLET_QUEUED);
	/* not handled here: it is still pending on TID w, blocked */
	EXPECT_EQ(usr1_code, 0);
	EXPECT_TRUE(pnd & (1ULL << (SIGUSR1 - 1)));
}

/*
 * Review 5 finding 2: exec's de_thread() sets SIGKILL in every other
 * thread; one that landed on a giver between the claim and the signal
 * transplant moved to the taker, and the giver, an async thread from then
 * on, lived on: exec waited for it until it idled out (here 60 s), or
 * for ever.  4 of 159 trials on the fast kernel.  Two threads hand off
 * nanosleep()s without end while the main thread execs; every child must
 * be gone within 45 s, before the async threads' idle timeout (60 s), so
 * that a slow exec on a busy host (3.4 s on the fast kernel; one of 10 s
 * on the loaded debug kernel) is told from one that waits for an async
 * thread.  A child still there after 10 s has its tasks shown.
 */
static void *hand_off_forever(void *x)
{
	struct syslet_ring *r = ring_new(256);
	static __thread uint64_t ts[2] = { 0, 300000 }, tsp, zero;
	static __thread int64_t res;
	struct syslet_completion c;
	struct syslet_atom a;

	(void)x;
	tsp = (uintptr_t)ts;
	for (;;) {
		atom_init(&a, 0, SYS_nanosleep, &res, &tsp, &zero, NULL, NULL);
		async_exec(&a, r, NULL, 0);
		while (ring_pop(r, &c))
			;
	}
	return NULL;
}

static void exec_amid_hand_offs(unsigned int us)
{
	struct syslet_limits l = { .size = sizeof(l), .idle_msecs = 60000 };
	pthread_t t;

	if (async_limits(&l, NULL) ||
	    pthread_create(&t, NULL, hand_off_forever, NULL) ||
	    pthread_create(&t, NULL, hand_off_forever, NULL))
		_exit(3);
	usleep(us);
	execl("/bin/true", "true", (char *)NULL);
	_exit(4);
}

/* Each task of @p: TID, state, comm and wait channel, as a diagnostic. */
static void show_tasks(pid_t p)
{
	char path[320], buf[256], comm[64], wchan[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)p);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		comm[0] = wchan[0] = buf[0] = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)p,
			 e->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", (int)p,
			 e->d_name);
		f = fopen(path, "r");
		if (f && fgets(wchan, sizeof(wchan), f))
			wchan[strcspn(wchan, "\n")] = 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)p,
			 e->d_name);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = 0;
		if (f)
			fclose(f);
		tap_diag("task %s (%s) wchan %s: %.60s", e->d_name, comm, wchan,
			 strrchr(buf, ')') ? strrchr(buf, ')') + 2 : buf);
	}
	if (d)
		closedir(d);
}

TEST(exec_racing_hand_offs_waits_for_no_async_thread)
{
	long long t0 = now_ms(), worst = 0;
	int trials = 0, hung = 0, slow = 0;

	REQUIRE_SYSLET();
	srand(getpid());
	while (now_ms() - t0 < 40000 && !hung) {
		long long s = now_ms();
		pid_t p = fork();
		int st = 0;

		if (!p)
			exec_amid_hand_offs(20000 + rand() % 20000);
		ASSERT_GT(p, 0);
		while (waitpid(p, &st, WNOHANG) != p) {
			/* slow, or waiting for an async thread? */
			if (now_ms() - s > 10000 && !slow) {
				slow = 1;
				show_tasks(p);
			}
			if (now_ms() - s > 45000) {
				hung = 1;
				show_tasks(p);
				kill(p, SIGKILL);
				waitpid(p, &st, 0);
				break;
			}
			usleep(2000);
		}
		worst = now_ms() - s > worst ? now_ms() - s : worst;
		trials++;
		EXPECT_TRUE(hung || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
	}
	tap_diag("%d execs amid hand-offs, slowest %lld ms%s", trials, worst,
		 hung ? ": one not gone after 45 s" : "");
	ASSERT_EQ(hung, 0);
}

/* ---- 6. no restart code as a read's result --------------------------- */

static volatile sig_atomic_t alarmed;

static void on_alarm(int s)
{
	(void)s;
	alarmed = 1;
}

TEST(a_read_sent_to_a_thread_from_get_signal_is_not_a_restart_code)
{
	struct itimerval it = { { 0, 0 }, { 0, 600000 } };
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion c, d;
	struct timespec ts = { 2, 0 };
	struct syslet_atom rd, ch[2];
	uint64_t pts = (uintptr_t)&ts, pfd, pb, pl = BLK, po = 7 << 20;
	int64_t ret = -12345, cr[2];
	char *buf;
	int fd;

	REQUIRE_SYSLET();
	fd = slow_dev(O_RDONLY);
	if (fd < 0)
		SKIP("no null_blk of ours (200 ms completions)");
	ASSERT_EQ(ioctl(fd, BLKFLSBUF, 0), 0);
	buf = page_alloc(BLK);
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(signal(SIGALRM, on_alarm) == SIG_ERR, 0);
	ASSERT_EQ(limits_now().nr_threads, 0);
	pfd = fd;
	pb = (uintptr_t)buf;
	atom_init(&rd, SYSLET_ASYNC, SYS_pread64, &ret, &pfd, &pb, &pl, &po);
	rd.user_data = 0x77;
	ASSERT_EQ(async_exec(&rd, r, NULL, 0), SYSLET_QUEUED);
	/* the retry's copy faults: the read must go to a thread */
	ASSERT_EQ(mprotect(buf, BLK, PROT_READ), 0);
	/*
	 * The only user thread in a chain when the page comes: the task
	 * work waits for the chain's end, which SIGALRM brings, and
	 * get_signal() runs it with SIGALRM pending.
	 */
	ASSERT_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
	atom_init(&ch[0], SYSLET_SYNC, SYS_getpid, &cr[0], NULL, NULL, NULL,
		  NULL);
	atom_init(&ch[1], 0, SYS_nanosleep, &cr[1], &pts, NULL, NULL, NULL);
	ch[0].next = (uintptr_t)&ch[1];
	memset(&d, 0, sizeof(d));
	ASSERT_EQ(async_exec(&ch[0], NULL, &d, 0), SYSLET_DONE);
	ASSERT_EQ(alarmed, 1);
	ASSERT_TRUE(ring_get(r, &c));
	tap_diag("read: status %lld, ret_ptr %lld, %u async thread(s)",
		 (long long)c.status, (long long)ret,
		 limits_now().nr_threads);
	ASSERT_EQ(c.user_data, 0x77);
	EXPECT_NE(c.status, -513);
	/* an async thread read it all again: the buffer is read-only */
	EXPECT_EQ(c.status, -EFAULT);
	EXPECT_EQ(ret, -EFAULT);
}

/* ---- 7. async_limits(): nothing applied if @get cannot be written --- */

TEST(async_limits_with_an_unwritable_get_changes_nothing)
{
	char *m = page_alloc(4096);
	struct syslet_limits set, *ro = (struct syslet_limits *)m;
	unsigned int before;
	long ret;

	REQUIRE_SYSLET();
	ASSERT_TRUE(m != NULL);
	before = limits_now().max_threads;
	ASSERT_NE(before, 5);
	ro->size = sizeof(*ro);
	ASSERT_EQ(mprotect(m, 4096, PROT_READ), 0);
	memset(&set, 0, sizeof(set));
	set.size = sizeof(set);
	set.max_threads = 5;
	ret = async_limits(&set, ro);
	ASSERT_EQ(ret, -1);
	ASSERT_EQ(errno, EFAULT);
	tap_diag("max_threads %u before, %u after the failed call", before,
		 limits_now().max_threads);
	ASSERT_EQ(limits_now().max_threads, before);
}

int main(int argc, char **argv)
{
	int ret;

	nullb_begin();
	ret = tap_main(argc, argv);
	if (nullb_end())
		ret = 1;
	return ret;
}
