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
#include <sys/auxv.h>
#include <sys/prctl.h>
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
 * With @set applied to this thread only (after an async thread was made
 * without it), the state is still this thread's after a chain that
 * blocks (@get returns @want): the chain ran on in the caller (DONE), or
 * went to an async thread that has the same state (QUEUED: one made by
 * this thread after @set inherits it).  With @reset applied, hand-offs
 * happen.
 */
static void state_stays_or(const char *what, int (*set)(void),
			   long (*get)(void), long want, int (*reset)(void),
			   const int *absent)
{
	long how, got;

	ASSERT_EQ(block_once(), SYSLET_QUEUED);	/* an idle async thread */
	/* a state that cannot be set here skips; it never passes unset */
	set_or_skip(what, set, absent);
	ASSERT_EQ(get(), want);
	how = block_once();
	got = get();
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
static int slack_reset(void) { return prctl(PR_SET_TIMERSLACK, 0); }
static long slack_get(void) { return prctl(PR_GET_TIMERSLACK); }

TEST(timer_slack_stays)
{
	REQUIRE_SYSLET();
	state_stays("PR_SET_TIMERSLACK", slack_set, slack_get, 1234567,
		    slack_reset);
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

TAP_MAIN
