// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15: what a pass-on-block hand-off moves with the user context,
 * and when it must not hand off at all (the chain then runs on in the
 * caller and async_exec() returns SYSLET_DONE).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include "tap.h"
#include "sys.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE	(1 << 1)
#endif

struct blocker {
	int fds[2];
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
	struct syslet_atom a;
	pthread_t writer;
	int delay_ms;
};

static void *write_later(void *arg)
{
	struct blocker *b = arg;
	struct timespec ts = { b->delay_ms / 1000,
			       (b->delay_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	if (write(b->fds[1], "z", 1) != 1)
		_exit(3);
	return NULL;
}

/*
 * Submits a one-byte read of an empty pipe in the default mode, written
 * to @delay_ms later by another thread; returns what async_exec() said.
 * SYSLET_QUEUED: it was handed off; SYSLET_DONE: it ran on in the caller.
 */
static long block(struct blocker *b, struct syslet_ring *r, int delay_ms,
		  struct syslet_completion *done)
{
	if (pipe(b->fds))
		_exit(2);
	b->fd = b->fds[0];
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	b->ret = -12345;
	b->delay_ms = delay_ms;
	atom_init(&b->a, 0, SYS_read, &b->ret, &b->fd, &b->buf, &b->len, NULL);
	b->a.user_data = 5;
	if (pthread_create(&b->writer, NULL, write_later, b))
		_exit(2);
	return async_exec(&b->a, r, done, 0);
}

/* Joins the writer, reaps a queued completion; 0 if the read worked. */
static int finish(struct blocker *b, struct syslet_ring *r, long how,
		  struct syslet_completion *done)
{
	struct syslet_completion comp;

	pthread_join(b->writer, NULL);
	if (how == SYSLET_QUEUED) {
		if (!ring_get(r, &comp))
			return -1;
	} else {
		comp = *done;
	}
	close(b->fds[0]);
	close(b->fds[1]);
	return comp.status == 1 && b->ret == 1 && b->c == 'z' ? 0 : -1;
}

static inline unsigned long rdgsbase(void)
{
	unsigned long v;

	__asm__ volatile("rdgsbase %0" : "=r"(v) :: "memory");
	return v;
}

static inline void wrgsbase(unsigned long v)
{
	__asm__ volatile("wrgsbase %0" :: "r"(v) : "memory");
}

/*
 * A GS base is user state like any register; 64-bit glibc does not use
 * GS.  Returns what async_exec() said for a chain that blocks while the
 * base is @base, and checks the base is still @base after it.
 */
static long gs_across_block(unsigned long base)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct blocker b;
	unsigned long after;
	long how;

	memset(&done, 0, sizeof(done));
	wrgsbase(base);
	how = block(&b, r, 300, &done);
	after = rdgsbase();
	wrgsbase(0);
	if (after != base) {
		tap_diag("GS base %#lx became %#lx (async_exec %ld)", base,
			 after, how);
		return -1;
	}
	if (finish(&b, r, how, &done))
		return -2;
	return how;
}

static void require_fsgsbase(void)
{
	if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE))
		SKIP("no FSGSBASE instructions for user space");
}

TEST(user_gs_base_goes_with_the_handoff)
{
	REQUIRE_SYSLET();
	require_fsgsbase();
	ASSERT_EQ(gs_across_block(0x7f1234560000UL), SYSLET_QUEUED);
}

/*
 * With FSGSBASE, user space can load any canonical base, kernel half
 * included; the taker cannot set that one with ARCH_SET_GS, so there is
 * no hand-off and the base stays as it was.  The taker used to ignore
 * the failure and return to user space with its own base (0).
 */
TEST(kernel_half_gs_base_is_kept)
{
	REQUIRE_SYSLET();
	require_fsgsbase();
	/* an idle async thread made while the base was an ordinary one */
	ASSERT_EQ(gs_across_block(0x7f1234560000UL), SYSLET_QUEUED);
	ASSERT_EQ(gs_across_block(0xffff888000001000UL), SYSLET_DONE);
	/* and hand-offs work again once the base is ordinary */
	ASSERT_EQ(gs_across_block(0x7f1234560000UL), SYSLET_QUEUED);
}

/* --- per-thread state a hand-off does not move (docs/design.md) -------- */

/*
 * A blocking default-mode read: SYSLET_QUEUED if it was handed off,
 * SYSLET_DONE if it ran on in the caller; -1 if the read went wrong, -2
 * if the thread's TID changed (it goes with the user context: abi.md).
 */
static long block_once(void)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct blocker b;
	pid_t tid = sys_tid();
	long how;

	memset(&done, 0, sizeof(done));
	how = block(&b, r, 200, &done);
	if (finish(&b, r, how, &done))
		how = -1;
	if (sys_tid() != tid) {
		tap_diag("TID %d became %d across async_exec() (%ld)",
			 (int)tid, (int)sys_tid(), how);
		how = -2;
	}
	free(r);
	return how;
}

/*
 * Errnos with which setting a state says the kernel or the CPU lacks it
 * (an option compiled out, no SMT for core scheduling, no NUMA): the
 * test is then skipped.  Any other failure is the test's.
 */
static const int absent_errnos[] = { EINVAL, ENODEV, ENXIO, ENOSYS, 0 };

static void set_or_skip(const char *what, int (*set)(void),
			const int *absent)
{
	int e;

	if (!set())
		return;
	e = errno;
	for (; absent && *absent; absent++)
		if (*absent == e)
			SKIP("%s: not available here (%s)", what, strerror(e));
	TAP_FAIL_(1, "%s: cannot set it (%s)", what, strerror(e));
}

/*
 * A peer thread made before the state is set, which reads it for itself
 * on request: it must not have it (the state is per thread, and get()
 * reads the calling thread's), so get() would tell a user context that
 * went on in a thread without the state.
 */
struct peer {
	pthread_t th;
	int req[2], ans[2];
	long (*get)(void);
};

static void *peer_fn(void *arg)
{
	struct peer *p = arg;
	long v;
	char c;

	while (read(p->req[0], &c, 1) == 1 && c == 'g') {
		v = p->get();
		if (write(p->ans[1], &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

static long peer_get(struct peer *p)
{
	long v = -12345;

	if (write(p->req[1], "g", 1) != 1 ||
	    read(p->ans[0], &v, sizeof(v)) != sizeof(v))
		return -12345;
	return v;
}

static void peer_start(struct peer *p, long (*get)(void))
{
	p->get = get;
	if (pipe(p->req) || pipe(p->ans) ||
	    pthread_create(&p->th, NULL, peer_fn, p))
		_exit(2);
}

/*
 * With @set applied to this thread only (after an async thread was made
 * without it), the state is still this thread's after a chain that
 * blocks (@get returns @want): the chain ran on in the caller (DONE), or
 * went to an async thread that has the same state (QUEUED: one made by
 * this thread after @set inherits it).  With @reset applied, hand-offs
 * happen.  A @set that fails with an errno in @absent skips the test
 * (the kernel or CPU lacks the state); any other failure fails it.
 */
static void state_stays_or(const char *what, int (*set)(void),
			   long (*get)(void), long want, int (*reset)(void),
			   const int *absent)
{
	struct peer peer;
	long how, got;

	/* an idle async thread, which stays idle through the test */
	sys_set_limits(0, 60000, 0);
	peer_start(&peer, get);
	ASSERT_EQ(block_once(), SYSLET_QUEUED);
	/* a state that cannot be set here skips; it never passes unset */
	set_or_skip(what, set, absent);
	ASSERT_EQ(get(), want);
	/* a thread without it reads otherwise */
	ASSERT_NE(peer_get(&peer), want);
	how = block_once();
	got = get();
	tap_diag("%s: %s", what, how == SYSLET_DONE ?
		 "the chain ran on in the caller" : how == SYSLET_QUEUED ?
		 "handed off to a thread with the same state" : "failed");
	if ((how != SYSLET_DONE && how != SYSLET_QUEUED) || got != want)
		tap_diag("%s: async_exec %ld, state %ld (want %ld)",
			 what, how, got, want);
	EXPECT_TRUE(how == SYSLET_DONE || how == SYSLET_QUEUED);
	EXPECT_EQ(got, want);
	/* and again: whichever task has the context now */
	how = block_once();
	EXPECT_TRUE(how == SYSLET_DONE || how == SYSLET_QUEUED);
	EXPECT_EQ(get(), want);
	ASSERT_EQ(reset(), 0);
	EXPECT_EQ(block_once(), SYSLET_QUEUED);
}

/* A state every kernel and CPU here has: failing to set it is a failure. */
static void state_stays(const char *what, int (*set)(void), long (*get)(void),
			long want, int (*reset)(void))
{
	state_stays_or(what, set, get, want, reset, NULL);
}

static int tsc_set(void) { return prctl(PR_SET_TSC, PR_TSC_SIGSEGV); }
static int tsc_reset(void) { return prctl(PR_SET_TSC, PR_TSC_ENABLE); }
static long tsc_get(void)
{
	int v = -1;

	return prctl(PR_GET_TSC, &v) ? -1 : v;
}

TEST(pr_set_tsc_stays)
{
	REQUIRE_SYSLET();
	state_stays("PR_SET_TSC", tsc_set, tsc_get, PR_TSC_SIGSEGV, tsc_reset);
}

static int slack_set(void) { return prctl(PR_SET_TIMERSLACK, 1234567); }
static long slack_get(void) { return prctl(PR_GET_TIMERSLACK); }

/* --- per-thread state a hand-off moves (docs/abi.md) ------------------- */

/*
 * With @set applied to this thread only, after an async thread was made
 * without it, a chain that blocks is handed off, and the state is the
 * thread's after it, twice (whichever task has the context).  Review 24
 * (ABI probe): PR_SET_TIMERSLACK, an RT policy (whose timer slack the
 * scheduler makes 0) and PR_SET_PDEATHSIG were states that stopped
 * hand-offs or were lost in one.
 */
static void state_moves(const char *what, int (*set)(void), long (*get)(void),
			long want)
{
	long how;

	sys_set_limits(0, 60000, 0);
	ASSERT_EQ(block_once(), SYSLET_QUEUED);
	if (set())
		SKIP("%s: cannot set it here (%s)", what, strerror(errno));
	ASSERT_EQ(get(), want);
	how = block_once();
	tap_diag("%s: async_exec %ld (1: handed off), then %ld (want %ld)",
		 what, how, get(), want);
	EXPECT_EQ(how, SYSLET_QUEUED);
	EXPECT_EQ(get(), want);
	EXPECT_EQ(block_once(), SYSLET_QUEUED);
	EXPECT_EQ(get(), want);
}

TEST(timer_slack_goes_with_the_handoff)
{
	REQUIRE_SYSLET();
	state_moves("PR_SET_TIMERSLACK", slack_set, slack_get, 1234567);
}

static int fifo_set(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) ?
	       -1 : 0;
}

static long fifo_get(void)
{
	struct sched_param sp;
	int pol;

	if (pthread_getschedparam(pthread_self(), &pol, &sp))
		return -1;
	return pol * 1000 + sp.sched_priority;
}

static int rr_set(void)
{
	struct sched_param sp = { .sched_priority = 2 };

	return pthread_setschedparam(pthread_self(), SCHED_RR, &sp) ? -1 : 0;
}

TEST(rt_policy_threads_hand_off)
{
	REQUIRE_SYSLET();
	state_moves("SCHED_FIFO", fifo_set, fifo_get, SCHED_FIFO * 1000 + 1);
}

TEST(rr_policy_threads_hand_off)
{
	REQUIRE_SYSLET();
	state_moves("SCHED_RR", rr_set, fifo_get, SCHED_RR * 1000 + 2);
}

static int pdeath_set(void) { return prctl(PR_SET_PDEATHSIG, SIGUSR2); }
static long pdeath_get(void)
{
	int v = -1;

	return prctl(PR_GET_PDEATHSIG, &v) ? -1 : v;
}

TEST(pdeath_signal_goes_with_the_handoff)
{
	REQUIRE_SYSLET();
	state_moves("PR_SET_PDEATHSIG", pdeath_set, pdeath_get, SIGUSR2);
}

/*
 * The children a thread forked and the tasks it traces stay its own
 * across a hand-off (review 24 ABI probe findings 2 and 3): a child with
 * PR_SET_PDEATHSIG(SIGKILL) is not killed when the task that gave the
 * context away, an async thread then, exits idle; waitpid(__WNOTHREAD)
 * finds the children; a tracee stopped for us takes PTRACE_GETREGS and
 * PTRACE_CONT from us.  Before: the child killed when the giver exited,
 * ESRCH and ECHILD.
 */
TEST(children_and_tracees_go_with_the_handoff)
{
	struct user_regs_struct regs;
	int go[2], st;
	pid_t kid, tracee, tid = sys_tid();
	long how;
	char c;

	REQUIRE_SYSLET();
	/* the giver leaves soon after it turned async thread */
	sys_set_limits(0, 200, 0);
	ASSERT_EQ(pipe(go), 0);
	kid = fork();
	ASSERT_GE(kid, 0);
	if (!kid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* its parent thread may have gone before the prctl */
		if (getppid() == 1)
			_exit(4);
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 5);
	}
	tracee = fork();
	ASSERT_GE(tracee, 0);
	if (!tracee) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(6);
		raise(SIGSTOP);
		_exit(7);
	}
	ASSERT_EQ(waitpid(tracee, &st, __WNOTHREAD), tracee);
	ASSERT_TRUE(WIFSTOPPED(st));
	ASSERT_EQ(ptrace(PTRACE_GETREGS, tracee, NULL, &regs), 0);

	how = block_once();
	tap_diag("async_exec %ld (1: handed off), TID kept: %d", how,
		 sys_tid() == tid);
	ASSERT_EQ(how, SYSLET_QUEUED);
	/* the giver, an async thread now, leaves after its idle time */
	usleep(1000000);
	errno = 0;
	EXPECT_EQ(ptrace(PTRACE_GETREGS, tracee, NULL, &regs), 0);
	if (errno)
		tap_diag("PTRACE_GETREGS after the hand-off: %s",
			 strerror(errno));
	EXPECT_EQ(ptrace(PTRACE_CONT, tracee, NULL, NULL), 0);
	EXPECT_EQ(waitpid(tracee, &st, __WNOTHREAD), tracee);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	/* the child is alive and ours: it exits 0 when told */
	close(go[0]);
	EXPECT_EQ(write(go[1], "x", 1), 1);
	EXPECT_EQ(waitpid(kid, &st, __WNOTHREAD), kid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tap_diag("the child: status %#x (9: killed)", st);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(go[1]);
}

/*
 * A wait4(__WNOTHREAD) atom for a child of the thread, handed off while
 * it waits: it completes with the child once it exits.  The children go
 * to the user thread only when the chain is over (review of a first
 * version, which moved them in the claim: the giver's wait scanned its
 * own, empty, list and never completed).
 */
TEST(a_wait4_wnothread_atom_handed_off_completes)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	uint64_t pid, st = 0, opt = __WNOTHREAD, ru = 0;
	int64_t ret = -12345;
	int status = -1;
	pid_t kid;
	long how;

	REQUIRE_SYSLET();
	sys_set_limits(0, 60000, 0);
	kid = fork();
	ASSERT_GE(kid, 0);
	if (!kid) {
		usleep(300000);
		_exit(3);
	}
	pid = kid;
	st = (uintptr_t)&status;
	atom_init(&a, 0, SYS_wait4, &ret, &pid, &st, &opt, &ru);
	a.user_data = 9;
	how = async_exec(&a, r, NULL, 0);
	tap_diag("wait4(__WNOTHREAD) chain: async_exec %ld (1: handed off)",
		 how);
	EXPECT_EQ(how, SYSLET_QUEUED);
	if (how == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(r, &comp));
	else
		comp.status = ret;
	tap_diag("status %lld, wait status %#x", (long long)comp.status,
		 status);
	EXPECT_EQ(comp.status, kid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	free(r);
}

/* /proc/thread-self/loginuid: 0 if written (CONFIG_AUDIT, allowed) */
static long loginuid_get(void)
{
	char buf[32] = "";
	int fd = open("/proc/thread-self/loginuid", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static int loginuid_set(void)
{
	int fd = open("/proc/thread-self/loginuid", O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, "4321", 4) == 4 ? 0 : -1;
	close(fd);
	return ret;
}

/* Review 24 ABI probe finding 4: the audit loginuid was left behind. */
TEST(audit_loginuid_goes_with_the_handoff)
{
	REQUIRE_SYSLET();
	state_moves("loginuid", loginuid_set, loginuid_get, 4321);
}

static int mce_set(void)
{
	return prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
}

static int mce_reset(void)
{
	return prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0);
}

static long mce_get(void) { return prctl(PR_MCE_KILL_GET, 0, 0, 0, 0); }

TEST(pr_mce_kill_stays)
{
	REQUIRE_SYSLET();
	state_stays("PR_MCE_KILL", mce_set, mce_get, PR_MCE_KILL_EARLY,
		    mce_reset);
}

static int flusher_set(void) { return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0); }
static int flusher_reset(void) { return prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0); }
static long flusher_get(void) { return prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0); }

TEST(pr_set_io_flusher_stays)
{
	REQUIRE_SYSLET();
	state_stays("PR_SET_IO_FLUSHER", flusher_set, flusher_get, 1,
		    flusher_reset);
}

#define IOPRIO_BE3	((2 << 13) | 3)

static int ioprio_set_me(void)
{
	return syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
		       IOPRIO_BE3);
}

static int ioprio_reset(void)
{
	return syscall(SYS_ioprio_set, 1, 0, 0);
}

static long ioprio_get_me(void)
{
	return syscall(SYS_ioprio_get, 1, 0);
}

TEST(ioprio_stays)
{
	REQUIRE_SYSLET();
	state_stays("ioprio_set", ioprio_set_me, ioprio_get_me, IOPRIO_BE3,
		    ioprio_reset);
}

static int ssb_set(void)
{
	return prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS,
		     PR_SPEC_DISABLE, 0, 0);
}

static int ssb_reset(void)
{
	return prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS,
		     PR_SPEC_ENABLE, 0, 0);
}

static long ssb_get(void)
{
	return prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) &
	       (PR_SPEC_ENABLE | PR_SPEC_DISABLE);
}

TEST(speculation_ctrl_stays)
{
	REQUIRE_SYSLET();
	if (!(prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) &
	      PR_SPEC_PRCTL))
		SKIP("store bypass not controlled by prctl on this CPU");
	state_stays_or("PR_SET_SPECULATION_CTRL", ssb_set, ssb_get,
		       PR_SPEC_DISABLE, ssb_reset, absent_errnos);
}

/* --- syscall user dispatch --------------------------------------------- */

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#define SYSCALL_DISPATCH_FILTER_BLOCK	1
#endif

static volatile char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
/* per thread: only the trapping thread counts (see peer_get()) */
static _Thread_local volatile sig_atomic_t sud_traps;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	/* lets rt_sigreturn (and everything after) through */
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sud_traps++;
}

/* On, with no exempt range, the selector letting everything through. */
static int sud_set(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };

	if (sigaction(SIGSYS, &sa, NULL))
		return -1;
	return prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0,
		     &sud_selector);
}

static int sud_reset(void)
{
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	return prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0,
		     0);
}

/* 1 if this thread's system calls are dispatched (a blocked one traps) */
static long sud_get(void)
{
	sig_atomic_t before = sud_traps;

	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	syscall(SYS_getppid);
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	return sud_traps - before;
}

/*
 * A thread with syscall user dispatch on never hands its context off
 * (docs/security.md): the taker would return to user space without it,
 * and a blocked call would then run instead of trapping.
 */
TEST(syscall_user_dispatch_stays)
{
	REQUIRE_SYSLET();
	/* x86-64 always has it (GENERIC_ENTRY): failing to set it fails */
	state_stays("syscall user dispatch", sud_set, sud_get, 1, sud_reset);
}

/* --- a threaded cgroup ------------------------------------------------- */

#define CG_ROOT	"/tmp/syslet-cg"
static char cg_dom[64], cg_thr[80], cg_want[96];

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

static int cg_move_me(const char *dir, const char *file, pid_t id)
{
	char path[160], text[16];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(text, sizeof(text), "%d", (int)id);
	return write_file(path, text);
}

/* this thread alone into the threaded child cgroup */
static int cg_set(void) { return cg_move_me(cg_thr, "cgroup.threads", sys_tid()); }
/* and back to the process's (the threaded domain) */
static int cg_reset(void) { return cg_move_me(cg_dom, "cgroup.threads", sys_tid()); }

/* 1 if this thread is in the threaded child cgroup */
static long cg_get(void)
{
	char line[256] = "";
	FILE *f = fopen("/proc/thread-self/cgroup", "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return !strcmp(line, cg_want);
}

static void cg_run(void)
{
	if (cg_move_me(cg_dom, "cgroup.procs", getpid()))
		TAP_FAIL_(1, "cannot move the process to %s: %s", cg_dom,
			  strerror(errno));
	state_stays("threaded cgroup", cg_set, cg_get, 1, cg_reset);
	_exit(tap_failed_here ? 1 : 0);
}

/*
 * A thread moved alone into a threaded cgroup (cgroup.type "threaded",
 * cgroup.threads) stays there: the chain runs on in it, or goes to an
 * async thread in the same cgroup; never to one in the process's.
 */
TEST(threaded_cgroup_stays)
{
	char path[128];
	int st;

	REQUIRE_SYSLET();
	if (geteuid() != 0)
		SKIP("needs root to make cgroups");
	if (access("/proc/self/cgroup", R_OK))
		SKIP("no cgroups in this kernel");
	mkdir(CG_ROOT, 0755);
	if (access(CG_ROOT "/cgroup.procs", F_OK) &&
	    mount("none", CG_ROOT, "cgroup2", 0, NULL))
		SKIP("cannot mount cgroup2: %s", strerror(errno));
	snprintf(cg_dom, sizeof(cg_dom), CG_ROOT "/h%d", (int)getpid());
	snprintf(cg_thr, sizeof(cg_thr), "%s/x", cg_dom);
	snprintf(cg_want, sizeof(cg_want), "0::/h%d/x\n", (int)getpid());
	ASSERT_EQ(mkdir(cg_dom, 0755), 0);
	ASSERT_EQ(mkdir(cg_thr, 0755), 0);
	snprintf(path, sizeof(path), "%s/cgroup.type", cg_thr);
	ASSERT_EQ(write_file(path, "threaded"), 0);
	st = in_child(cg_run, 50);
	/* the child and its async threads are gone: the cgroups are empty */
	for (int i = 0; i < 100 && rmdir(cg_thr) && errno == EBUSY; i++)
		usleep(10000);
	for (int i = 0; i < 100 && rmdir(cg_dom) && errno == EBUSY; i++)
		usleep(10000);
	if (WIFEXITED(st) && WEXITSTATUS(st) == TAP_SKIP_EXIT)
		SKIP("see above");
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* --- NUMA memory policy ------------------------------------------------ */

#define MPOL_DEFAULT_	0
#define MPOL_PREFERRED_	1

static int mpol_set(void)
{
	unsigned long node0 = 1;

	return syscall(SYS_set_mempolicy, MPOL_PREFERRED_, &node0,
		       8 * sizeof(node0));
}

static int mpol_reset(void)
{
	return syscall(SYS_set_mempolicy, MPOL_DEFAULT_, NULL, 0);
}

static long mpol_get(void)
{
	int mode = -1;

	return syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0) ? -1 : mode;
}

TEST(numa_mempolicy_stays)
{
	REQUIRE_SYSLET();
	/* ENOSYS without CONFIG_NUMA */
	state_stays_or("set_mempolicy(MPOL_PREFERRED, node 0)", mpol_set,
		       mpol_get, MPOL_PREFERRED_, mpol_reset, absent_errnos);
}

/* --- the core-scheduling cookie ---------------------------------------- */

static uint64_t core_cookie_made;

static uint64_t core_cookie(void)
{
	uint64_t c = ~0ULL;

	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, 0,
		  PR_SCHED_CORE_SCOPE_THREAD, &c))
		return ~0ULL;
	return c;
}

/*
 * PR_SCHED_CORE_GET reports a cookie as a hash of its address, and as 0
 * until the kernel's pointer-hash key is filled, once its random number
 * generator is ready (a guest without a trusted RNG: some seconds after
 * boot; a blocking getrandom() makes it ready).  EBUSY: still not.
 */
static int core_set(void)
{
	char c;

	if (getrandom(&c, 1, 0) != 1)
		return -1;
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
		  PR_SCHED_CORE_SCOPE_THREAD, 0))
		return -1;
	for (int i = 0; i < 500 && !(core_cookie_made = core_cookie()); i++)
		usleep(10000);
	if (!core_cookie_made || core_cookie_made == ~0ULL) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

/* and EBUSY: the cookie cannot be told from none (above) */
static const int core_absent[] = { EINVAL, ENODEV, ENXIO, EBUSY, 0 };

/* the test runner (our parent) has none: take its */
static int core_reset(void)
{
	return prctl(PR_SCHED_CORE, PR_SCHED_CORE_SHARE_FROM, getppid(),
		     PR_SCHED_CORE_SCOPE_THREAD, 0);
}

/* 1 if this thread has the cookie core_set() made for it */
static long core_get(void)
{
	uint64_t c = core_cookie();

	return c && c != ~0ULL && c == core_cookie_made;
}

TEST(core_scheduling_cookie_stays)
{
	REQUIRE_SYSLET();
	/* EINVAL without CONFIG_SCHED_CORE, ENODEV without SMT */
	state_stays_or("PR_SCHED_CORE_CREATE (thread)", core_set, core_get, 1,
		       core_reset, core_absent);
	EXPECT_EQ(core_cookie(), 0);
}

/* --- uprobes: a return probe pending across a sleep -------------------- */

static const char *tracefs;
static char up_group[32], up_inst[160];

static int tr_append(const char *file, const char *text)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", tracefs, file);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Occurrences of @needle in the trace of our tracefs instance. */
static int tr_count(const char *needle)
{
	static char buf[1 << 20];
	char path[256];
	ssize_t n, len = 0;
	int fd, c = 0;

	snprintf(path, sizeof(path), "%s/trace", up_inst);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	for (char *p = buf; (p = strstr(p, needle)); p++)
		c++;
	return c;
}

/* Where @addr is in the file mapped there: its path and file offset. */
static int file_offset(const void *addr, char *path, size_t size,
		       unsigned long *off)
{
	unsigned long a = (uintptr_t)addr, start, end, pgoff;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n, found = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end,
			   &pgoff, &n) < 3 || a < start || a >= end)
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, size, "%s", line + n);
		*off = a - start + pgoff;
		found = path[0] == '/' ? 0 : -1;
		break;
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * SIGILL: a return through the trampoline in a task that has no return
 * instance for it (after a hand-off); SIGTRAP: a breakpoint nobody owns.
 * Returning would hit the same instruction again: end the test.
 */
static void on_bad_signal(int sig)
{
	static const char m[] = "# SIGILL or SIGTRAP in the probed code\n";

	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(40 + sig);
	_exit(40 + sig);
}

/*
 * The probed function: a uretprobe replaces its return address with the
 * uprobes trampoline and keeps the real one in this task's utask; with
 * @sleep, a chain blocks in it meanwhile.
 */
__attribute__((noinline, noclone)) static long probed(int sleep)
{
	long how = 0;

	__asm__ volatile("" ::: "memory");
	if (sleep)
		how = block_once();
	__asm__ volatile("" ::: "memory");
	return how;
}

static long (*volatile probed_fn)(int) = probed;

static void up_run(void)
{
	struct sigaction sa = { .sa_handler = on_bad_signal };
	long how;

	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sys_set_limits(0, 60000, 0);
	/* before any hand-off */
	ASSERT_EQ(probed_fn(0), 0);
	ASSERT_EQ(tr_count(" up_ent: ("), 1);
	ASSERT_EQ(tr_count(" up_ret: ("), 1);
	/* a hand-off: the context goes on in a task that never hit one */
	ASSERT_EQ(block_once(), SYSLET_QUEUED);
	ASSERT_EQ(probed_fn(0), 0);
	EXPECT_EQ(tr_count(" up_ent: ("), 2);
	EXPECT_EQ(tr_count(" up_ret: ("), 2);
	/*
	 * A chain that blocks while a return probe is pending: no hand-off
	 * (the taker has no return instance for the trampoline address on
	 * the stack: the return would be a SIGILL), and the return fires.
	 */
	how = probed_fn(1);
	EXPECT_EQ(how, SYSLET_DONE);
	EXPECT_EQ(tr_count(" up_ent: ("), 3);
	EXPECT_EQ(tr_count(" up_ret: ("), 3);
	/* with none pending, hand-offs happen, and probes fire after them */
	EXPECT_EQ(block_once(), SYSLET_QUEUED);
	EXPECT_EQ(probed_fn(0), 0);
	EXPECT_EQ(tr_count(" up_ent: ("), 4);
	EXPECT_EQ(tr_count(" up_ret: ("), 4);
	_exit(tap_failed_here ? 1 : 0);
}

static char up_events[4][16];
static int up_nevents;

/*
 * tracefs with uprobe_events, or the test skips; a group and an instance
 * of tracefs of our own, so that other tracing is not disturbed.
 */
static void up_begin(void)
{
	char path[256];
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root for tracefs");
	tracefs = "/sys/kernel/tracing";
	if (stat("/sys/kernel/tracing/uprobe_events", &st) &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) &&
	    (mkdir("/tmp/tracing", 0700), mount("nodev", "/tmp/tracing",
						 "tracefs", 0, NULL) == 0))
		tracefs = "/tmp/tracing";
	snprintf(path, sizeof(path), "%s/uprobe_events", tracefs);
	if (stat(path, &st))
		SKIP("no uprobe_events in tracefs (CONFIG_UPROBE_EVENTS)");
	snprintf(up_group, sizeof(up_group), "syslet_h%d", (int)getpid());
	snprintf(up_inst, sizeof(up_inst), "%s/instances/%s", tracefs,
		 up_group);
}

/* A uprobe @name_ent and a uretprobe @name_ret on function @fn. */
static void up_add(const char *name, void *fn)
{
	char path[400], text[512];
	unsigned long off;

	ASSERT_EQ(file_offset(fn, path, sizeof(path), &off), 0);
	snprintf(up_events[up_nevents++], sizeof(up_events[0]), "%s", name);
	snprintf(text, sizeof(text), "p:%s/%s_ent %s:0x%lx\n", up_group,
		 name, path, off);
	ASSERT_EQ(tr_append("uprobe_events", text), 0);
	snprintf(text, sizeof(text), "r:%s/%s_ret %s:0x%lx\n", up_group,
		 name, path, off);
	ASSERT_EQ(tr_append("uprobe_events", text), 0);
}

static void up_enable(void)
{
	char text[96];

	ASSERT_EQ(mkdir(up_inst, 0755), 0);
	snprintf(text, sizeof(text), "instances/%s/events/%s/enable",
		 up_group, up_group);
	ASSERT_EQ(tr_append(text, "1"), 0);
}

static void up_cleanup(void)
{
	char text[160];

	snprintf(text, sizeof(text), "instances/%s/events/%s/enable",
		 up_group, up_group);
	tr_append(text, "0");
	rmdir(up_inst);
	for (int i = 0; i < up_nevents; i++) {
		snprintf(text, sizeof(text), "-:%s/%s_ent", up_group,
			 up_events[i]);
		tr_append("uprobe_events", text);
		snprintf(text, sizeof(text), "-:%s/%s_ret", up_group,
			 up_events[i]);
		tr_append("uprobe_events", text);
	}
}

/*
 * A uprobe and a uretprobe on a function of this program (tracefs
 * uprobe_events), hit before and after hand-offs; a chain that blocks
 * inside the function runs on in the caller.
 */
TEST(uretprobe_pending_across_a_sleep)
{
	int status;

	REQUIRE_SYSLET();
	up_begin();
	up_add("up", (void *)probed);
	up_enable();
	status = in_child(up_run, 50);
	up_cleanup();
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* --- ptrace hardware breakpoints --------------------------------------- */

static volatile int watched __attribute__((aligned(8)));
static volatile sig_atomic_t bp_traps;
static int bp_ready[2], bp_go[2];

static void on_bp_trap(int sig)
{
	(void)sig;
	bp_traps++;
}

/* Tells the parent (the tracer) to set or clear, and waits until it did. */
static void bp_ask(char what)
{
	char c;

	if (write(bp_ready[1], &what, 1) != 1 || read(bp_go[0], &c, 1) != 1)
		_exit(20);
	if (c == 's')
		_exit(TAP_SKIP_EXIT);
}

static void bp_child(void)
{
	struct sigaction sa = { .sa_handler = on_bp_trap };
	long how;

	sigaction(SIGTRAP, &sa, NULL);
	sys_set_limits(0, 60000, 0);
	/* an idle async thread, made without breakpoints */
	if (block_once() != SYSLET_QUEUED)
		_exit(10);
	bp_ask('w');		/* a write watchpoint on 'watched' */
	watched = 1;
	if (bp_traps != 1) {
		printf("# SKIP: a watchpoint set by ptrace does not fire here\n");
		_exit(TAP_SKIP_EXIT);
	}
	/* the breakpoints stay with the task: no hand-off */
	if (block_once() != SYSLET_DONE)
		_exit(11);
	watched = 2;
	if (bp_traps != 2)
		_exit(12);
	if (block_once() != SYSLET_DONE)
		_exit(13);
	watched = 3;
	if (bp_traps != 3)
		_exit(14);
	/*
	 * Cleared (DR7 0): the watchpoint is gone.  The kernel keeps the
	 * task's breakpoint slots (ptrace_bps[]) until exit or exec, and
	 * syslet_ptrace_bps() refuses on a slot: still no hand-off.
	 */
	bp_ask('c');
	how = block_once();
	if (how != SYSLET_DONE && how != SYSLET_QUEUED)
		_exit(15);
	printf("# after the tracer cleared DR7: %s\n", how == SYSLET_DONE ?
	       "no hand-off (slots kept)" : "handed off");
	watched = 4;
	_exit(bp_traps == 3 ? 0 : 16);
}

#define DR_OFF(n)	offsetof(struct user, u_debugreg[n])

/*
 * Attaches to @pid, sets DR0 and DR7 (or clears them), detaches: the
 * breakpoints stay with the task after the detach.  0, or the errno.
 */
static int bp_poke(pid_t pid, unsigned long dr0, unsigned long dr7)
{
	int st, err = 0;

	pid_t w = 0;

	if (ptrace(PTRACE_ATTACH, pid, 0, 0))
		return errno;
	/* an async thread stops only where it looks at signals: 5 s */
	for (int i = 0; i < 500 && !(w = waitpid(pid, &st, __WALL | WNOHANG));
	     i++)
		usleep(10000);
	if (w != pid || !WIFSTOPPED(st))
		return w ? ECHILD : ETIMEDOUT;
	if (!dr7 && ptrace(PTRACE_POKEUSER, pid, DR_OFF(7), 0))
		err = errno;
	if (!err && ptrace(PTRACE_POKEUSER, pid, DR_OFF(0), dr0))
		err = errno;
	if (!err && dr7 && ptrace(PTRACE_POKEUSER, pid, DR_OFF(7), dr7))
		err = errno;
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return err;
}

/*
 * A task with hardware watchpoints a tracer set (and left on detaching)
 * never hands its context off: they would not go with it.
 */
TEST(ptrace_hw_breakpoints_stay)
{
	/* DR7: L0, break on data writes (RW0 01), 4 bytes (LEN0 11) */
	const unsigned long dr7 = 1UL | (1UL << 16) | (3UL << 18);
	pid_t pid;
	char c;
	int st, err;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(bp_ready), 0);
	ASSERT_EQ(pipe(bp_go), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		bp_child();
	/* the parent's copy of 'watched' is at the child's address */
	ASSERT_EQ(read(bp_ready[0], &c, 1), 1);
	ASSERT_EQ(c, 'w');
	err = bp_poke(pid, (uintptr_t)&watched, dr7);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		SKIP("cannot set a hardware watchpoint: %s", strerror(err));
	}
	ASSERT_EQ(write(bp_go[1], "g", 1), 1);
	if (read(bp_ready[0], &c, 1) == 1) {
		ASSERT_EQ(c, 'c');
		ASSERT_EQ(bp_poke(pid, 0, 0), 0);
		ASSERT_EQ(write(bp_go[1], "g", 1), 1);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == TAP_SKIP_EXIT)
		SKIP("see above");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tap_diag("child status %#x (exit 11/13: handed off with breakpoints, 12/14: they did not fire after)", st);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/*
 * The other side: a tracer sets a watchpoint on an idle async thread (one
 * that may take a user context) and detaches.  The user context must not
 * go on in it: a hand-off goes to another thread (made for it) or none
 * is made, and the context's writes to the watched word never trap.
 */
static volatile int watched_too __attribute__((aligned(8)));

static void bp_to_child(void)
{
	struct sigaction sa = { .sa_handler = on_bp_trap };
	pid_t async_tid;
	long how;

	sigaction(SIGTRAP, &sa, NULL);
	sys_set_limits(0, 60000, 0);
	/* the leader's task, idle now, which would take this context back */
	if (block_once() != SYSLET_QUEUED)
		_exit(10);
	if (threads_named(getpid(), "syslet-", &async_tid) != 1)
		_exit(11);
	if (write(bp_ready[1], &async_tid, sizeof(async_tid)) !=
	    sizeof(async_tid) || read(bp_go[0], &async_tid, 1) != 1)
		_exit(20);
	if (((char *)&async_tid)[0] == 's')
		_exit(TAP_SKIP_EXIT);
	for (int i = 0; i < 3; i++) {
		how = block_once();
		if (how != SYSLET_DONE && how != SYSLET_QUEUED)
			_exit(12);
		printf("# with a watchpoint on the idle async thread: %s\n",
		       how == SYSLET_DONE ? "no hand-off" :
		       "handed off to another thread");
		watched_too = i;
		if (bp_traps)
			_exit(13);	/* the context went on in that thread */
	}
	_exit(0);
}

TEST(ptrace_hw_breakpoints_on_an_idle_async_thread)
{
	const unsigned long dr7 = 1UL | (1UL << 16) | (3UL << 18);
	pid_t pid, tid;
	int st, err;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(bp_ready), 0);
	ASSERT_EQ(pipe(bp_go), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		bp_to_child();
	if (read(bp_ready[0], &tid, sizeof(tid)) == sizeof(tid)) {
		err = bp_poke(tid, (uintptr_t)&watched_too, dr7);
		if (err)
			tap_diag("cannot set a watchpoint on async thread %d: %s",
				 (int)tid, strerror(err));
		ASSERT_EQ(write(bp_go[1], err ? "s" : "g", 1), 1);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == TAP_SKIP_EXIT)
		SKIP("see above");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tap_diag("child status %#x (exit 13: the context went on in the thread with the watchpoint)", st);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* --- threadlets: the same states, checked at begin and at the claim ---- */

/*
 * A threadlet's caller and its spare exchange identities at the hand-off
 * (the spare returns from begin as the caller, SYSLET_QUEUED): with the
 * state set on the caller before begin (checked at begin, threadlet.c
 * syslet_threadlet_begin()), on the caller between begin and the sleep
 * (checked at the claim, threadlet_claim()), or on the spare, there is
 * no hand-off and the threadlet ends in the caller.  Raw calls only
 * between begin and end: a hand-off would have the spare return from
 * begin on this stack, which then ends the process with status 5; the
 * control run without the state must end so.
 */
enum { TL_NONE, TL_BEFORE, TL_AFTER, TL_SPARE, TL_UP_CALLER, TL_UP_SPARE };
static const char *const tl_where_name[] = { "none", "caller, before begin",
	"caller, after begin", "spare", "caller, in a uretprobed function",
	"spare, in a uretprobed function" };
static int (*tl_set)(void);
static long (*tl_get)(void);
static long tl_want;
static int tl_where;
static _Atomic pid_t tl_spare_tid;
static long tl_spare_ret;

static void on_usr1(int sig)
{
	(void)sig;
}

/* Parks the calling thread as a spare: -EINTR after a SIGUSR1. */
__attribute__((noinline, noclone)) static long probed_park(void)
{
	long ret = async_exec(NULL, NULL, NULL, SYSLET_EXEC_SPARE);

	__asm__ volatile("" ::: "memory");
	return ret < 0 ? -errno : ret;
}

static long (*volatile probed_park_fn)(void) = probed_park;

static void *tl_spare(void *arg)
{
	(void)arg;
	if (tl_where == TL_SPARE && tl_set()) {
		tl_spare_ret = -errno;
		atomic_store(&tl_spare_tid, -1);
		return NULL;
	}
	atomic_store(&tl_spare_tid, sys_tid());
	if (tl_where == TL_UP_SPARE) {
		tl_spare_ret = probed_park_fn();
		return NULL;
	}
	tl_spare_ret = async_exec(NULL, NULL, NULL, SYSLET_EXEC_SPARE);
	if (tl_spare_ret < 0)
		tl_spare_ret = -errno;
	return NULL;
}

/* Begins a threadlet; a spare that takes the context ends the process (5) */
static inline __attribute__((always_inline)) long tl_begin(void)
{
	return tl_begin_or_exit(5);
}

static struct syslet_completion tl_done;

/*
 * A threadlet that sleeps 100 ms: async_exec()'s result at its end; its
 * begin's in *@begin.
 */
static long threadlet_once(struct syslet_ring *r, long *begin)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	tl_done.status = 9;
	*begin = tl_begin();
	if (*begin == 0) {
		if (tl_where == TL_AFTER && tl_set())
			syscall(SYS_exit_group, 23);
		syscall(SYS_nanosleep, &ts, NULL);
	}
	return syscall(NR_async_exec, NULL, r, &tl_done,
		       SYSLET_EXEC_THREADLET_END);
}

/* The same, in a function a uretprobe may be on. */
__attribute__((noinline, noclone)) static long
probed_threadlet(struct syslet_ring *r, long *begin)
{
	long ret = threadlet_once(r, begin);

	__asm__ volatile("" ::: "memory");
	return ret;
}

static long (*volatile probed_threadlet_fn)(struct syslet_ring *, long *) =
	probed_threadlet;

static void tl_run(void)
{
	static struct syslet_completion comp;
	struct syslet_ring *r = ring_new(4);
	struct sigaction sa = { .sa_handler = on_usr1 };
	pid_t tid = sys_tid(), spare;
	long begin, end;
	pthread_t t;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) ||
	    pthread_create(&t, NULL, tl_spare, NULL))
		_exit(20);
	sa.sa_handler = on_bad_signal;
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	while (!(spare = atomic_load(&tl_spare_tid)))
		;
	if (spare < 0)
		_exit(21);
	if (!sleeping(spare))
		_exit(22);
	if (tl_where == TL_BEFORE && tl_set())
		_exit(23);
	if (tl_where == TL_UP_CALLER)
		end = probed_threadlet_fn(r, &begin);
	else
		end = threadlet_once(r, &begin);
	if (begin != 0 || end != SYSLET_DONE) {
		printf("# begin %ld, end %ld (errno %d)\n", begin, end, errno);
		_exit(begin ? 24 : 25);
	}
	if (!ring_pop(r, &comp) || comp.status != 9 ||
	    !(comp.flags & SYSLET_COMP_SYNC))
		_exit(26);
	if (sys_tid() != tid)
		_exit(27);
	/* the caller's state is its own: set (before, after) or not (spare) */
	if (tl_where <= TL_SPARE &&
	    (tl_get() == tl_want) != (tl_where != TL_SPARE))
		_exit(28);
	if (!sleeping(spare))
		_exit(29);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	_exit(tl_spare_ret == -EINTR ? 0 : 30);
}

static void tl_state_stays(const char *what, int (*set)(void),
			   long (*get)(void), long want, int (*reset)(void),
			   const int *absent, const int *wheres)
{
	int st;

	/* this process is the test's own: see that the state can be set */
	if (set) {
		set_or_skip(what, set, absent);
		ASSERT_EQ(get(), want);
		ASSERT_EQ(reset(), 0);
	}
	tl_set = set;
	tl_get = get;
	tl_want = want;
	/* control: without the state the threadlet is handed off */
	tl_where = TL_NONE;
	st = in_child(tl_run, 30);
	tap_diag("%s: without it, status %#x (5: handed off)", what, st);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 5);
	for (; *wheres; wheres++) {
		tl_where = *wheres;
		st = in_child(tl_run, 30);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			tap_diag("%s on the %s: status %#x (5: handed off)",
				 what, tl_where_name[tl_where], st);
		EXPECT_TRUE(WIFEXITED(st));
		EXPECT_EQ(WEXITSTATUS(st), 0);
	}
}

/*
 * The timer slack goes with the scheduling now, as for pass-on-block
 * (timer_slack_goes_with_the_handoff): a threadlet whose caller, body or
 * spare has its own is handed off all the same (review 24 ABI probe
 * finding 5: an RT caller, whose slack is 0, never was).
 */
TEST(threadlet_timer_slack_does_not_stop_the_handoff)
{
	static const int wheres[] = { TL_NONE, TL_BEFORE, TL_AFTER, TL_SPARE };
	unsigned int i;
	int st;

	REQUIRE_SYSLET();
	tl_set = slack_set;
	tl_get = slack_get;
	tl_want = 1234567;
	for (i = 0; i < sizeof(wheres) / sizeof(wheres[0]); i++) {
		tl_where = wheres[i];
		st = in_child(tl_run, 30);
		tap_diag("PR_SET_TIMERSLACK on the %s: status %#x (5: handed off)",
			 tl_where_name[tl_where], st);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	}
}

TEST(threadlet_syscall_user_dispatch_stays)
{
	static const int wheres[] = { TL_BEFORE, TL_AFTER, TL_SPARE, 0 };

	REQUIRE_SYSLET();
	tl_state_stays("syscall user dispatch", sud_set, sud_get, 1,
		       sud_reset, NULL, wheres);
}

TEST(threadlet_numa_mempolicy_stays)
{
	static const int wheres[] = { TL_BEFORE, TL_AFTER, TL_SPARE, 0 };

	REQUIRE_SYSLET();
	tl_state_stays("set_mempolicy(MPOL_PREFERRED, node 0)", mpol_set,
		       mpol_get, MPOL_PREFERRED_, mpol_reset, absent_errnos,
		       wheres);
}

/*
 * Holds a cookie of its own: while any cookie exists, core scheduling
 * stays enabled, and PR_SCHED_CORE_CREATE does not sleep to enable it
 * (stop_machine()) before it sets the cookie; in a threadlet, a hand-off
 * at that sleep would be right (nothing differs yet).
 */
static void *core_keeper(void *arg)
{
	if (!prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
		   PR_SCHED_CORE_SCOPE_THREAD, 0))
		atomic_store((_Atomic int *)arg, 1);
	else
		atomic_store((_Atomic int *)arg, -1);
	pause();
	return NULL;
}

TEST(threadlet_core_scheduling_cookie_stays)
{
	static const int wheres[] = { TL_BEFORE, TL_AFTER, TL_SPARE, 0 };
	static _Atomic int kept;
	pthread_t keeper;

	REQUIRE_SYSLET();
	ASSERT_EQ(pthread_create(&keeper, NULL, core_keeper, (void *)&kept), 0);
	while (!atomic_load(&kept))
		usleep(1000);
	tl_state_stays("PR_SCHED_CORE_CREATE (thread)", core_set, core_get, 1,
		       core_reset, core_absent, wheres);
}

/*
 * A uretprobe pending on the threadlet's caller at begin (it begins in a
 * probed function), or on its spare (parked in one): the return address
 * on that stack is the trampoline's, which only the task holding the
 * return instance can take, so no hand-off; no SIGILL, and the probed
 * functions' returns fire.
 */
TEST(threadlet_uretprobe_pending_stays)
{
	static const int wheres[] = { TL_UP_CALLER, TL_UP_SPARE, 0 };
	int tlc, tlp;

	REQUIRE_SYSLET();
	up_begin();
	up_add("tlc", (void *)probed_threadlet);
	up_add("tlp", (void *)probed_park);
	up_enable();
	tl_state_stays("a pending uretprobe", NULL, NULL, 0, NULL, NULL,
		       wheres);
	tlc = tr_count(" tlc_ret: (");
	tlp = tr_count(" tlp_ret: (");
	up_cleanup();
	tap_diag("returns through the trampoline: threadlet %d, spare %d",
		 tlc, tlp);
	EXPECT_EQ(tlc, 1);
	EXPECT_EQ(tlp, 1);
}

/*
 * A POSIX timer signalling the user thread by its TID (SIGEV_THREAD_ID)
 * while the thread hands off again and again, and another thread takes
 * the process's siglock in a loop: each timer signal must reach the user
 * thread.  One queued on the giver (an async thread from then on, which
 * blocks it for ever) stops the timer's signals for good: it then only
 * counts overruns.  make fuzz found that (80901ad): a kernel that moves
 * the signals after the TIDs' critical section fails this test (tried
 * with the move just after it, 20 us later: at least 2 runs of 3
 * failed).  A race, so a stress test: 100 hand-offs, the timer at
 * 200 us.  It does
 * not reach the narrower window review 14 found (finding 1: the TIDs
 * exchanged just before the siglock was taken, interrupts off: the
 * timer fires on the CPU it was armed on, the user thread's, which is
 * the claim's), nor a sender that looked the TID up before the exchange
 * (docs/design.md: open).
 */
static atomic_int tick_count;

static void on_tick(int sig)
{
	(void)sig;
	atomic_fetch_add(&tick_count, 1);
}

static atomic_int mask_stop;

/*
 * Hand-offs the timer test makes, its bound on attempts and on time (its
 * own time limit raised above it), and the fewest it must have made.
 */
#define TT_HANDOFFS	100
#define TT_ATTEMPTS	5000
#define TT_SECS		150
#define TT_AT_LEAST	10

/* takes the process's siglock again and again (a mask that changes) */
static void *mask_loop(void *arg)
{
	sigset_t one;

	(void)arg;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	while (!atomic_load(&mask_stop)) {
		pthread_sigmask(SIG_BLOCK, &one, NULL);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	return NULL;
}

TEST(thread_timer_signals_reach_the_user_thread_across_handoffs)
{
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
	struct itimerspec its = { { 0, 200000 }, { 0, 200000 } };
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct sigevent sev;
	int handed = 0, stalled = 0, i, n, waited;
	long long deadline;
	pthread_t masker;
	struct blocker b;
	timer_t tm;
	long how;

	REQUIRE_SYSLET();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(sigaction(SIGRTMIN + 1, &sa, NULL), 0);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 1;
	sev._sigev_un._tid = sys_tid();
	ASSERT_EQ(timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
	ASSERT_EQ(pthread_create(&masker, NULL, mask_loop, NULL), 0);
	ASSERT_EQ(timer_settime(tm, 0, &its, NULL), 0);
	/* the debug kernels: a few seconds per hand-off when loaded */
	alarm(TT_SECS + 30);
	deadline = now_ms() + TT_SECS * 1000LL;
	for (i = 0; handed < TT_HANDOFFS && i < TT_ATTEMPTS &&
	     now_ms() < deadline; i++) {
		memset(&done, 0, sizeof(done));
		how = block(&b, r, 2, &done);
		ASSERT_EQ(finish(&b, r, how, &done), 0);
		handed += how == SYSLET_QUEUED;
		/* the timer's next signal comes here, within 1 s */
		n = atomic_load(&tick_count);
		for (waited = 0; waited < 1000 &&
		     atomic_load(&tick_count) == n; waited++)
			usleep(1000);
		if (atomic_load(&tick_count) == n) {
			tap_diag("after hand-off attempt %d (%d handed off): "
				 "no timer signal for 1 s", i, handed);
			stalled = 1;
			i++;
			break;
		}
	}
	timer_delete(tm);
	atomic_store(&mask_stop, 1);
	pthread_join(masker, NULL);
	tap_diag("%d read chains handed off in %d attempts, %d timer signals",
		 handed, i, atomic_load(&tick_count));
	/* no stall: the loop ended on its count, not on a lost signal */
	EXPECT_EQ(stalled, 0);
	/*
	 * The signals cut reads short, before the taker claims them: the
	 * debug kernels handed off 19 and 43 of 100, and 3 of 100 on a host
	 * busy with two other guests (2026-12-07).  So attempts go on until
	 * enough have handed off or the time is up, not for a fixed number.
	 */
	EXPECT_GE(handed, TT_AT_LEAST);
	free(r);
}

/*
 * A thread on the other CPU sends the user thread a real-time signal by
 * its TID (tgkill()), the next one as soon as the last was handled,
 * while the user thread hands off again and again: every signal sent
 * must be handled.  One queued on the task the TID has just left (an
 * async thread from then on, blocking it for ever) is never handled:
 * the sender looked the TID up before the exchange and took the siglock
 * after it (review 14 finding 2; patch 0025 rechecks under the siglock).
 * That window is a few instructions: on a kernel without 0025 this
 * passed 3 of 3 runs; with a 50 us delay put between do_send_specific()'s
 * lookup and its lock, 3 of 3 failed without 0025 (a signal sent, never
 * handled) and 3 of 3 passed with it (6.12, 2026-12-05); again so with
 * the sender paced (0-127 us between signals), 2026-12-05.
 */
static atomic_int tg_sent, tg_got, tg_stop, tg_stuck;

static void on_tg(int sig)
{
	(void)sig;
	atomic_fetch_add(&tg_got, 1);
}

static void *tg_sender(void *arg)
{
	pid_t tid = *(pid_t *)arg;
	unsigned int seed = 1;
	long long t0, t1, pause_us;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(1, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	while (!atomic_load(&tg_stop)) {
		/*
		 * 0-127 us before the next one: back to back, a signal is
		 * nearly always pending when the read would sleep, and few
		 * reads hand off (CI: 14 of 200).
		 */
		pause_us = rand_r(&seed) % 128;
		t1 = now_us();
		while (now_us() - t1 < pause_us)
			;
		if (syscall(SYS_tgkill, getpid(), tid, SIGRTMIN + 2) == 0)
			atomic_fetch_add(&tg_sent, 1);
		t0 = now_ms();
		while (atomic_load(&tg_got) < atomic_load(&tg_sent) &&
		       !atomic_load(&tg_stop)) {
			if (now_ms() - t0 > 2000) {
				atomic_store(&tg_stuck, 1);
				return NULL;
			}
		}
	}
	return NULL;
}

TEST(tgkill_signals_reach_the_user_thread_across_handoffs)
{
	struct sigaction sa = { .sa_handler = on_tg, .sa_flags = SA_RESTART };
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	int handed = 0, i, sent, got, stuck;
	pid_t tid = sys_tid();
	struct blocker b;
	pthread_t sender;
	long long t0;
	long how;

	REQUIRE_SYSLET();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP("needs 2 CPUs");
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(sigaction(SIGRTMIN + 2, &sa, NULL), 0);
	ASSERT_EQ(pthread_create(&sender, NULL, tg_sender, &tid), 0);
	/*
	 * The flood cuts many reads short before they sleep (a signal
	 * pending: no hand-off); CI saw 14 hand-offs in 200 attempts.  So
	 * go on until 100 hand-offs, within 4,000 attempts and 30 s.
	 */
	t0 = now_ms();
	for (i = 0; handed < 100 && i < 4000 && now_ms() - t0 < 30000 &&
	     !atomic_load(&tg_stuck); i++) {
		memset(&done, 0, sizeof(done));
		how = block(&b, r, 1, &done);
		ASSERT_EQ(finish(&b, r, how, &done), 0);
		handed += how == SYSLET_QUEUED;
	}
	atomic_store(&tg_stop, 1);
	pthread_join(sender, NULL);
	/* the last one sent may be on its way still */
	for (int w = 0; w < 2000 &&
	     atomic_load(&tg_got) < atomic_load(&tg_sent); w++)
		usleep(1000);
	sent = atomic_load(&tg_sent);
	got = atomic_load(&tg_got);
	stuck = atomic_load(&tg_stuck);
	tap_diag("%d read chains handed off in %d attempts; tgkill() %d "
		 "signals, %d handled%s", handed, i, sent, got,
		 stuck ? " (one not handled for 2 s)" : "");
	EXPECT_EQ(got, sent);
	EXPECT_EQ(stuck, 0);
	EXPECT_GT(handed, 20);
	free(r);
}

TAP_MAIN
