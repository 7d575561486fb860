// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, point 8: async threads seen from outside (ptrace, /proc as
 * `ps -L` reads it) and the engine's lifetime across exit_group() and
 * execve() with chains in flight, checked against kernel memory.
 *
 * ptrace: an async thread is a PF_IO_WORKER thread of the process, made
 * by create_io_thread() like io-wq's.  Linux 6.1 lets a tracer in another
 * process attach to it (only PF_KTHREAD threads are refused): PTRACE_SEIZE
 * succeeds, PTRACE_INTERRUPT stops it in a ptrace trap (its blocked call is
 * restarted afterwards, as for a job-control stop), its registers read as
 * those of a thread with no user context (ip and sp 0), and PTRACE_DETACH
 * lets it go on with its chain, which completes normally.  PTRACE_ATTACH's
 * SIGSTOP stops it in a signal-delivery stop (the process goes on), and a
 * detach with no signal suppresses it.  SIGKILL of the process ends a
 * traced, stopped async thread at once; the tracer reaps it as any traced
 * thread before the process can be reaped.
 *
 * Leaks: a chain is a kmalloc'ed object pinning a cred and a struct pid,
 * an async thread a task_struct and a kernel stack.  The tests compare
 * /proc/slabinfo (active objects x object size, all caches) and
 * KernelStack before and after processes that die, or exec, with
 * thousands of chains running, queued and overflowed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"

static void set_limits(unsigned int threads, unsigned int idle_ms)
{
	struct syslet_limits l = { .size = sizeof(l), .max_threads = threads,
				   .idle_msecs = idle_ms };

	if (async_limits(&l, NULL))
		_exit(1);
}

/* first thread of @pid whose comm starts with "syslet-", or 0 */
static pid_t async_thread_of(pid_t pid)
{
	pid_t tid;

	threads_named(pid, "syslet-", &tid);
	return tid;
}

/* the state letter of /proc/@pid/task/@tid/stat, '?' if unreadable */
static char task_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* waits up to @ms for the thread to be in state @want */
static int wait_state(pid_t pid, pid_t tid, char want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (task_state(pid, tid) == want)
			return 1;
		usleep(10000);
	}
	return task_state(pid, tid) == want;
}

/* an integer field ("Key:\t<n>") of /proc/@pid/task/@tid/status, or -1 */
static long status_field(pid_t pid, pid_t tid, const char *key)
{
	char path[96], line[256];
	size_t k = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			v = atol(line + k + 1);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* waitpid() bounded by @ms; returns what waitpid returned, 0 on timeout */
static pid_t wait_bounded(pid_t pid, int *st, int flags, int ms)
{
	for (int i = 0; i <= ms / 5; i++) {
		pid_t r = waitpid(pid, st, flags | WNOHANG);

		if (r != 0)
			return r;
		usleep(5000);
	}
	return 0;
}

/*
 * A child with one async thread blocked in read(@rfd): it reports ready on
 * @ready, then waits for the chain and exits 0 if it read 'p', 2 if it
 * completed otherwise, 3 if it did not complete in 30 s.
 */
static pid_t child_blocked_in_read(int rfd, int ready)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	{
		struct syslet_ring *r = ring_new(4);
		struct syslet_completion comp;
		struct syslet_atom a;
		uint64_t fd = rfd, buf, len = 1;
		int64_t ret = 0;
		char c = 0;

		buf = (uintptr_t)&c;
		set_limits(4, 60000);
		atom_init(&a, SYSLET_ASYNC, SYS_read, &ret, &fd, &buf, &len, NULL);
		a.user_data = 0xfeed;
		if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED)
			_exit(4);
		if (write(ready, "r", 1) != 1)
			_exit(5);
		for (int i = 0; i < 3; i++)
			if (ring_get(r, &comp))
				_exit(comp.status == 1 && ret == 1 && c == 'p' &&
				      comp.user_data == 0xfeed ? 0 : 2);
		_exit(3);
	}
}

/* forks the child above; returns its pid and its async thread's tid */
static pid_t start_blocked_child(int data[2], pid_t *tid)
{
	int ready[2];
	struct pollfd pfd;
	pid_t pid;
	char c;

	if (pipe(data) || pipe(ready))
		_exit(1);
	pid = child_blocked_in_read(data[0], ready[1]);
	if (pid < 0)
		_exit(1);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1 || read(ready[0], &c, 1) != 1)
		return -1;
	close(ready[0]);
	close(ready[1]);
	*tid = 0;
	for (int i = 0; i < 500 && !*tid; i++) {
		*tid = async_thread_of(pid);
		if (!*tid)
			usleep(10000);
	}
	/* blocked in read(): interruptible sleep */
	if (!*tid || !wait_state(pid, *tid, 'S', 5000))
		return -1;
	return pid;
}

TEST(proc_shows_async_thread_like_ps_L)
{
	char path[96], comm[32] = "";
	int data[2], st;
	pid_t pid, tid;
	FILE *f;

	REQUIRE_SYSLET();
	pid = start_blocked_child(data, &tid);
	ASSERT_GT(pid, 0);
	ASSERT_NE(tid, pid);
	/* what ps -L reads: stat, status, comm of each task */
	ASSERT_EQ(task_state(pid, tid), 'S');
	ASSERT_EQ(status_field(pid, tid, "Tgid"), pid);
	ASSERT_EQ(status_field(pid, tid, "Pid"), tid);
	ASSERT_EQ(status_field(pid, tid, "PPid"), getpid());
	ASSERT_EQ(status_field(pid, tid, "TracerPid"), 0);
	ASSERT_EQ(status_field(pid, pid, "Threads"), 2);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(comm, sizeof(comm), f) != NULL);
	fclose(f);
	ASSERT_EQ(strncmp(comm, "syslet-0\n", 9), 0);
	/* its cmdline is the process's (same mm), as for any thread */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/cmdline", (int)pid, (int)tid);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	fclose(f);
	ASSERT_EQ(write(data[1], "p", 1), 1);
	ASSERT_EQ(wait_bounded(pid, &st, 0, 10000), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/*
 * PTRACE_SEIZE of an async thread blocked in a chain works; an interrupt
 * stops it in a ptrace trap without ending its call; detach lets the
 * chain go on and complete with the data written afterwards.
 */
TEST(ptrace_seize_interrupt_detach_async_thread)
{
	struct user_regs_struct regs;
	int data[2], st = 0;
	pid_t pid, tid;

	REQUIRE_SYSLET();
	pid = start_blocked_child(data, &tid);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(ptrace(PTRACE_SEIZE, tid, 0, 0), 0);
	ASSERT_EQ(status_field(pid, tid, "TracerPid"), getpid());
	ASSERT_EQ(task_state(pid, tid), 'S');	/* SEIZE does not stop it */

	ASSERT_EQ(ptrace(PTRACE_INTERRUPT, tid, 0, 0), 0);
	ASSERT_EQ(wait_bounded(tid, &st, __WALL, 5000), tid);
	ASSERT_TRUE(WIFSTOPPED(st));
	ASSERT_EQ(st >> 16, PTRACE_EVENT_STOP);
	ASSERT_EQ(task_state(pid, tid), 't');	/* tracing stop */
	/* no user context: the registers of an io thread, ip and sp 0 */
	memset(&regs, 0xa5, sizeof(regs));
	ASSERT_EQ(ptrace(PTRACE_GETREGS, tid, 0, &regs), 0);
	ASSERT_EQ(regs.rip, 0);
	ASSERT_EQ(regs.rsp, 0);
	/* the rest of the process runs: the chain has not completed */
	ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0);
	/* the main thread may not be asleep in async_wait() yet (CI once) */
	ASSERT_TRUE(wait_state(pid, pid, 'S', 5000));

	ASSERT_EQ(ptrace(PTRACE_DETACH, tid, 0, 0), 0);
	ASSERT_TRUE(wait_state(pid, tid, 'S', 5000));	/* back in read() */
	ASSERT_EQ(status_field(pid, tid, "TracerPid"), 0);
	ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0);	/* still waiting */
	ASSERT_EQ(write(data[1], "p", 1), 1);
	ASSERT_EQ(wait_bounded(pid, &st, 0, 10000), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);		/* read 'p': chain unbroken */
}

/*
 * PTRACE_ATTACH sends the async thread a SIGSTOP, which it reports to the
 * tracer as a signal-delivery stop, as any thread would: the rest of the
 * process is not stopped (a group stop would only start if the tracer let
 * the SIGSTOP through).  Detaching with no signal suppresses it, and the
 * chain goes on.
 */
TEST(ptrace_attach_async_thread_signal_stop)
{
	int data[2], st = 0;
	pid_t pid, tid;

	REQUIRE_SYSLET();
	pid = start_blocked_child(data, &tid);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(ptrace(PTRACE_ATTACH, tid, 0, 0), 0);
	ASSERT_EQ(wait_bounded(tid, &st, __WALL, 5000), tid);
	ASSERT_TRUE(WIFSTOPPED(st));
	ASSERT_EQ(WSTOPSIG(st), SIGSTOP);
	ASSERT_EQ(st >> 16, 0);			/* not an event stop */
	ASSERT_EQ(task_state(pid, tid), 't');
	ASSERT_EQ(task_state(pid, pid), 'S');	/* no group stop */
	ASSERT_EQ(status_field(pid, tid, "TracerPid"), getpid());
	ASSERT_EQ(ptrace(PTRACE_DETACH, tid, 0, 0), 0);
	ASSERT_TRUE(wait_state(pid, tid, 'S', 5000));
	ASSERT_EQ(task_state(pid, pid), 'S');
	ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0);
	ASSERT_EQ(write(data[1], "p", 1), 1);
	ASSERT_EQ(wait_bounded(pid, &st, 0, 10000), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* SIGKILL of a process whose async thread sits in a ptrace stop */
TEST(kill_9_with_async_thread_in_ptrace_stop)
{
	int data[2], st = 0;
	long long t0;
	pid_t pid, tid;

	REQUIRE_SYSLET();
	pid = start_blocked_child(data, &tid);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(ptrace(PTRACE_SEIZE, tid, 0, 0), 0);
	ASSERT_EQ(ptrace(PTRACE_INTERRUPT, tid, 0, 0), 0);
	ASSERT_EQ(wait_bounded(tid, &st, __WALL, 5000), tid);
	ASSERT_TRUE(WIFSTOPPED(st));
	t0 = now_ms();
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	/*
	 * The tracer reaps the traced thread (its exit is reported to the
	 * tracer, as for any traced thread), then the process.
	 */
	ASSERT_EQ(wait_bounded(tid, &st, __WALL, 5000), tid);
	ASSERT_TRUE(WIFSIGNALED(st) || WIFEXITED(st));
	ASSERT_EQ(wait_bounded(pid, &st, __WALL, 5000), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGKILL);
	ASSERT_LT(now_ms() - t0, 5000);
}

/* --- leaks ----------------------------------------------------------------- */

static long long kernel_stack_bytes(void)
{
	long long kb = meminfo_kb("KernelStack");

	return kb < 0 ? -1 : kb * 1024;
}

static long long mem_now(void)
{
	return slab_bytes() + kernel_stack_bytes();
}

enum { NR_CHAINS = 3000, NR_THREADS = 64, NR_OVERFLOW = 200 };
#define LEAK_SLACK	(384 * 1024)	/* bytes of noise allowed */

/*
 * In a child: NR_THREADS chains blocked in read() (one async thread
 * each), NR_CHAINS - NR_THREADS queued behind them, and NR_OVERFLOW
 * completed chains waiting on the overflow list of a ring of 4 entries.
 * Reports on @ready, then waits for a byte on @go and ends: 'x' by
 * exit_group(), 'e' by execve() of this program with --exec-check.
 */
static void child_with_chains(int ready, int go)
{
	struct syslet_ring *r = ring_new(1024), *small = ring_new(4);
	struct syslet_atom *a = calloc(NR_CHAINS + NR_OVERFLOW, sizeof(*a));
	uint64_t fd, buf, len = 1;
	struct syslet_limits l;
	int fds[2];
	char c;

	set_limits(NR_THREADS, 60000);
	if (!a || pipe(fds))
		_exit(1);
	fd = fds[0];
	buf = (uintptr_t)&c;
	/* first the chains that overflow the small ring (nobody reaps it) */
	for (int i = 0; i < NR_OVERFLOW; i++) {
		atom_init(&a[NR_CHAINS + i], SYSLET_ASYNC, SYS_getpid, NULL,
			  NULL, NULL, NULL, NULL);
		if (async_exec(&a[NR_CHAINS + i], small, NULL, 0) != SYSLET_QUEUED)
			_exit(7);
	}
	for (int i = 0; i < 1000 && small->overflow < NR_OVERFLOW - 4; i++)
		usleep(10000);
	/* then the ones that block every thread and queue behind them */
	for (int i = 0; i < NR_CHAINS; i++) {
		atom_init(&a[i], SYSLET_ASYNC, SYS_read, NULL, &fd, &buf, &len, NULL);
		a[i].user_data = i;
		if (async_exec(&a[i], r, NULL, 0) != SYSLET_QUEUED)
			_exit(6);
	}
	/* all threads blocked, the getpid chains overflowed */
	for (int i = 0; i < 1000; i++) {
		l = limits_now();
		if (l.nr_threads == NR_THREADS &&
		    l.nr_chains == NR_CHAINS + NR_OVERFLOW - 4 &&
		    l.nr_idle == 0 && small->overflow == NR_OVERFLOW - 4)
			break;
		usleep(10000);
	}
	l = limits_now();
	if (l.nr_threads != NR_THREADS ||
	    l.nr_chains != NR_CHAINS + NR_OVERFLOW - 4 ||
	    small->overflow != NR_OVERFLOW - 4) {
		printf("# child: nr_threads %u nr_chains %u overflow %u\n",
		       l.nr_threads, l.nr_chains, small->overflow);
		_exit(8);
	}
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(9);
	if (c == 'e') {
		execl("/proc/self/exe", "lifetime", "--exec-check", (char *)NULL);
		_exit(10);
	}
	_exit(0);	/* exit_group() with everything in flight */
}

/* After execve(): a new image with no chains and no async threads. */
static int exec_check(void)
{
	struct syslet_limits l = limits_now();
	long threads = status_field(getpid(), getpid(), "Threads");

	if (l.nr_threads || l.nr_chains || l.nr_idle || l.chains_done ||
	    threads != 1 || async_thread_of(getpid())) {
		printf("# exec'd: nr_threads %u nr_chains %u done %llu Threads %ld\n",
		       l.nr_threads, l.nr_chains,
		       (unsigned long long)l.chains_done, threads);
		return 11;
	}
	return 0;
}

/*
 * Runs one child to its end by @how; returns the kernel memory its
 * chains and threads took while in flight (bytes), or -1.
 */
static long long one_cycle(char how)
{
	int ready[2], go[2], st;
	struct pollfd pfd;
	long long before, during;
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(go))
		return -1;
	before = mem_now();
	pid = fork();
	if (pid == 0)
		child_with_chains(ready[1], go[0]);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 60000) != 1 || read(ready[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	during = mem_now();
	if (write(go[1], &how, 1) != 1)
		return -1;
	if (wait_bounded(pid, &st, 0, 20000) != pid) {
		tap_diag("child did not end in 20 s");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		tap_diag("child status %#x", st);
		return -1;
	}
	return during - before;
}

/* waits up to 10 s for kernel memory to drop back under @limit */
static long long settle(long long limit)
{
	long long m = mem_now();

	for (int i = 0; i < 100 && m > limit; i++) {
		usleep(100000);
		m = mem_now();
	}
	return m;
}

/*
 * KASAN's quarantine keeps freed objects allocated for a while, so slab
 * figures say nothing there (the debug kernel's leaks are kmemleak's
 * business: make fuzz).
 */
static int kasan_kernel(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256];
	int yes = 0;

	while (f && !yes && fgets(line, sizeof(line), f))
		yes = strstr(line, " kasan_quarantine_put") != NULL;
	if (f)
		fclose(f);
	return yes;
}

static void no_leak_over_cycles(char how)
{
	long long base, in_flight, after;

	if (kasan_kernel()) {
		/* still: the process ends, or execs into a clean image */
		ASSERT_GE(one_cycle(how), 0);
		SKIP("KASAN quarantine: slab figures are meaningless here");
	}
	if (slab_bytes() < 0)
		SKIP("no /proc/slabinfo");
	/* warm up: caches, the ring's pages, this program's own state */
	ASSERT_GE(one_cycle(how), 0);
	base = settle(0);
	in_flight = one_cycle(how);
	ASSERT_GE(in_flight, 0);
	for (int i = 0; i < 2; i++)
		ASSERT_GE(one_cycle(how), 0);
	after = settle(base + LEAK_SLACK);
	tap_diag("%s: %d chains in flight took %lld KiB; after 3 processes "
		 "%+lld KiB", how == 'x' ? "exit_group" : "execve",
		 NR_CHAINS + NR_OVERFLOW, in_flight / 1024, (after - base) / 1024);
	/* the measure sees the chains: a leak of them would show */
	ASSERT_GT(in_flight, 2 * LEAK_SLACK);
	ASSERT_LT(after - base, LEAK_SLACK);
}

TEST(exit_group_with_chains_in_flight_leaks_nothing)
{
	REQUIRE_SYSLET();
	no_leak_over_cycles('x');
}

TEST(execve_with_chains_in_flight_leaks_nothing)
{
	REQUIRE_SYSLET();
	no_leak_over_cycles('e');
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--exec-check"))
		return exec_check();
	return tap_main(argc, argv);
}
