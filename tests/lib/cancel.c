// SPDX-License-Identifier: GPL-2.0
/* libsyslet cancellation: blocked, queued, all-by-user-data, races. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include "lib-test.h"

/* read from an empty pipe blocks until cancelled; no later atom runs */
TEST(cancel_blocked_read)
{
	struct timespec ts = { 0, 50000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd, after;
	char buf[8];
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	syslet_prep_read(&rd, p[0], buf, sizeof(buf));
	syslet_op_set_data(&rd, 42);
	syslet_op_init(&after, SYS_getpid, 0);
	after.ret = 12345;
	syslet_op_link(&rd, &after);
	ASSERT_EQ(syslet_submit(&ctx, &rd.atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);	/* it blocks */
	EXPECT_EQ(syslet_cancel(&ctx, 43, 0), -ENOENT);
	EXPECT_EQ(syslet_cancel(&ctx, 42, 0x100), -EINVAL);
	ASSERT_EQ(syslet_cancel(&ctx, 42, 0), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, -ECANCELED);
	EXPECT_TRUE(c.flags & SYSLET_COMP_CANCELED);
	EXPECT_EQ(c.user_data, 42u);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_TRUE(rd.ret == -EINTR || rd.ret == -ECANCELED);
	EXPECT_EQ(after.ret, 12345);	/* never ran */
	/* nothing left to cancel */
	EXPECT_EQ(syslet_cancel(&ctx, 42, 0), -ENOENT);
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

static void nop_handler_early(int sig)
{
	(void)sig;
}

/*
 * SYSLET_CANCEL_NOWAIT: the call is interrupted without the canceller
 * waiting for it; asked again while the chain is still in its call (as
 * one whose call ignores the signal), it is signalled again (0, not
 * -ENOENT); the chain completes once, cancelled.
 */
TEST(cancel_nowait_blocked_read)
{
	struct sigaction sa = { .sa_handler = nop_handler_early,
				.sa_flags = SA_RESTART };
	struct timespec ts = { 0, 50000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd;
	char buf[8];
	int p[2];

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+9", 1);
	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	syslet_prep_read(&rd, p[0], buf, sizeof(buf));
	syslet_op_set_data(&rd, 42);
	ASSERT_EQ(syslet_submit(&ctx, &rd.atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);	/* it blocks */
	if (syslet_backend(&ctx) == SYSLET_BACKEND_EMULATED) {
		/* the call ignores the signal: the chain stays in it */
		ASSERT_EQ(sigaction(SIGRTMIN + 9, &sa, NULL), 0);
		EXPECT_EQ(syslet_cancel(&ctx, 42, SYSLET_CANCEL_NOWAIT), 0);
		EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);
		EXPECT_EQ(syslet_cancel(&ctx, 42, SYSLET_CANCEL_NOWAIT), 0);
		EXPECT_EQ(syslet_cancel(&ctx, 42, 0), -ENOENT);
		ASSERT_EQ(write(p[1], "x", 1), 1);	/* it ends */
	} else {
		ASSERT_EQ(syslet_cancel(&ctx, 42, SYSLET_CANCEL_NOWAIT), 0);
	}
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, -ECANCELED);
	EXPECT_EQ(c.user_data, 42u);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

TEST(cancel_all_by_user_data)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd[5];
	char buf[5][8];
	int p[2], i, canc = 0;

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	for (i = 0; i < 5; i++) {
		syslet_prep_read(&rd[i], p[0], buf[i], sizeof(buf[i]));
		syslet_op_set_data(&rd[i], i < 3 ? 7 : 8);
		ASSERT_EQ(syslet_submit(&ctx, &rd[i].atom), SYSLET_QUEUED);
	}
	ASSERT_EQ(syslet_cancel(&ctx, 7, SYSLET_CANCEL_ALL), 3);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.user_data, 7u);
		EXPECT_EQ(c.status, -ECANCELED);
		canc++;
	}
	EXPECT_EQ(canc, 3);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	EXPECT_EQ(syslet_cancel(&ctx, 8, SYSLET_CANCEL_ALL), 2);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.user_data, 8u);
	}
	EXPECT_EQ(syslet_cancel(&ctx, 8, SYSLET_CANCEL_ALL), 0);
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

/* a chain still queued (one worker, busy) completes cancelled at once */
TEST(cancel_queued)
{
	struct syslet_limits set = { .size = sizeof(set), .max_threads = 1 };
	struct timespec sl = { 0, 200000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;

	ctx_or_die(&ctx, 8);
	if (syslet_backend(&ctx) == SYSLET_BACKEND_KERNEL)
		SKIP("kernel: the limit is process-wide and covered by tests/kernel");
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	syslet_prep_nanosleep(&a, &sl);
	syslet_op_set_data(&a, 1);
	syslet_op_init(&b, SYS_getpid, 0);
	syslet_op_set_data(&b, 2);
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_QUEUED);
	ASSERT_EQ(syslet_submit(&ctx, &b.atom), SYSLET_QUEUED);
	ASSERT_EQ(syslet_cancel(&ctx, 2, 0), 0);
	/* completes at once, before the sleeper ahead of it */
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 2u);
	EXPECT_EQ(c.status, -ECANCELED);
	EXPECT_EQ(c.nr_atoms, 0u);
	EXPECT_EQ(b.ret, 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 1u);
	EXPECT_EQ(c.status, 0);
	syslet_ctx_exit(&ctx);
}

/*
 * SYSLET_CANCEL_QUEUED: the queued chain is cancelled, the running one is
 * not touched (-EALREADY) and sleeps its whole time.  The running one
 * writes a byte before its sleep, so the test knows it has started.
 */
TEST(cancel_queued_only)
{
	struct syslet_limits set = { .size = sizeof(set), .max_threads = 1 };
	struct timespec sl = { 0, 200000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op w, a, b;
	char x = 'x';
	int p[2];

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	if (syslet_backend(&ctx) == SYSLET_BACKEND_KERNEL)
		SKIP("kernel: the limit is process-wide and covered by tests/kernel");
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	syslet_prep_write(&w, p[1], &x, 1);
	syslet_prep_nanosleep(&a, &sl);
	a.ret = 12345;
	syslet_op_link(&w, &a);
	syslet_op_set_data(&w, 1);
	syslet_op_init(&b, SYS_getpid, 0);
	syslet_op_set_data(&b, 2);
	ASSERT_EQ(syslet_submit(&ctx, &w.atom), SYSLET_QUEUED);
	ASSERT_EQ(read(p[0], &x, 1), 1);	/* the worker has taken it */
	ASSERT_EQ(syslet_submit(&ctx, &b.atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_cancel(&ctx, 1, SYSLET_CANCEL_QUEUED), -EALREADY);
	EXPECT_EQ(syslet_cancel(&ctx, 3, SYSLET_CANCEL_QUEUED), -ENOENT);
	ASSERT_EQ(syslet_cancel(&ctx, 2, SYSLET_CANCEL_QUEUED), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 2u);
	EXPECT_EQ(c.status, -ECANCELED);
	EXPECT_EQ(c.nr_atoms, 0u);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 1u);
	EXPECT_EQ(c.status, 0);		/* slept it all */
	EXPECT_EQ(a.ret, 0);
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

/*
 * Cancel right after submit, many times: the signal may land before the
 * worker enters read(2); the chain must still end (no hang) as cancelled.
 */
TEST(cancel_race_no_hang)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd;
	char buf[8];
	int p[2], i;

	ASSERT_EQ(pipe(p), 0);
	ctx_or_die(&ctx, 8);
	for (i = 0; i < 300; i++) {
		syslet_prep_read(&rd, p[0], buf, sizeof(buf));
		syslet_op_set_data(&rd, i);
		ASSERT_EQ(syslet_submit(&ctx, &rd.atom), SYSLET_QUEUED);
		if (i & 1)
			sched_yield();
		ASSERT_EQ(syslet_cancel(&ctx, i, 0), 0);
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		ASSERT_EQ(c.user_data, (uint64_t)i);
		ASSERT_EQ(c.status, -ECANCELED);
	}
	syslet_ctx_exit(&ctx);
}

/* exit cancels what is still blocked (emulated backend) */
TEST(ctx_exit_cancels_inflight)
{
	struct syslet_ctx ctx;
	struct syslet_op rd[3];
	char buf[3][8];
	int p[2], i;

	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syslet_ctx_init(&ctx, 2, SYSLET_CTX_EMULATED), 0);
	for (i = 0; i < 3; i++) {
		syslet_prep_read(&rd[i], p[0], buf[i], sizeof(buf[i]));
		ASSERT_EQ(syslet_submit(&ctx, &rd[i].atom), SYSLET_QUEUED);
	}
	syslet_ctx_exit(&ctx);		/* must not hang or leak */
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(rd[i].ret == -EINTR || rd[i].ret == -ECANCELED ||
			    rd[i].ret == 0);
}

/* a blocked read on the emulated backend, cancelled: it must end */
static int cancel_one_emulated(void)
{
	struct timespec ts = { 0, 20000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd;
	char buf[4];
	int p[2], ret = -1;

	if (pipe(p) || syslet_ctx_init(&ctx, 4, SYSLET_CTX_EMULATED))
		return -1;
	syslet_prep_read(&rd, p[0], buf, sizeof(buf));
	syslet_op_set_data(&rd, 9);
	if (syslet_submit(&ctx, &rd.atom) == SYSLET_QUEUED &&
	    syslet_wait(&ctx, 1, &ts) == -ETIME &&
	    syslet_cancel(&ctx, 9, 0) == 0 && wait_one(&ctx, &c) == 0 &&
	    c.status == -ECANCELED)
		ret = 0;
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
	return ret;
}

static volatile sig_atomic_t program_sig_count;

static void program_handler(int sig)
{
	(void)sig;
	program_sig_count++;
}

/*
 * The emulated backend interrupts a blocked call with a real-time signal
 * of its own: it must not take one the program handles.  The program's
 * handler on SIGRTMIN+3 (the library's default) stays, still runs, and
 * cancellation still works (on another signal).
 */
TEST(emulated_cancel_keeps_the_programs_signal_handler)
{
	struct sigaction sa = { .sa_handler = program_handler }, now;

	ASSERT_EQ(sigaction(SIGRTMIN + 3, &sa, NULL), 0);
	ASSERT_EQ(cancel_one_emulated(), 0);
	ASSERT_EQ(sigaction(SIGRTMIN + 3, NULL, &now), 0);
	EXPECT_TRUE(!(now.sa_flags & SA_SIGINFO) &&
		    now.sa_handler == program_handler);
	program_sig_count = 0;
	ASSERT_EQ(raise(SIGRTMIN + 3), 0);
	EXPECT_EQ(program_sig_count, 1);
}

/* $SYSLET_CANCEL_SIGNAL names the signal (a number or RTMIN+n) */
TEST(emulated_cancel_signal_from_the_environment)
{
	struct sigaction now;

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+6", 1);
	ASSERT_EQ(cancel_one_emulated(), 0);
	ASSERT_EQ(sigaction(SIGRTMIN + 6, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler != SIG_DFL);
	ASSERT_EQ(sigaction(SIGRTMIN + 3, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler == SIG_DFL);
}

/*
 * The program installs a handler on the library's signal afterwards, or
 * sends that signal itself: the library's handler passes every signal
 * it did not send on to the handler it found (none here: then the
 * default action, for a real-time signal the end of the process).
 */
TEST(emulated_cancel_signal_is_passed_on)
{
	struct sigaction sa = { .sa_handler = program_handler };
	int st;
	pid_t pid;

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+7", 1);
	ASSERT_EQ(sigaction(SIGRTMIN + 7, &sa, NULL), 0);
	ASSERT_EQ(cancel_one_emulated(), 0);
	program_sig_count = 0;
	ASSERT_EQ(raise(SIGRTMIN + 7), 0);
	EXPECT_EQ(program_sig_count, 1);
	/* no handler before the library's: the default action */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+8", 1);
		if (cancel_one_emulated())
			_exit(2);
		raise(SIGRTMIN + 8);
		_exit(3);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMIN + 8);
}

/*
 * A program that blocks a real-time signal left at SIG_DFL and collects
 * it with sigwaitinfo() (the textbook set-up, also for signalfd()): the
 * library must not take that signal for its cancel kicks.  Process-
 * directed instances sent while a worker is idle must reach the program
 * (before: the library took SIGRTMIN+3, its worker took the signal and
 * the library's handler applied SIG_DFL: the process died).
 */
TEST(emulated_cancel_signal_skips_a_blocked_signal)
{
	struct timespec ts = { 10, 0 };
	sigset_t set;
	siginfo_t si;
	int i;

	unsetenv("SYSLET_CANCEL_SIGNAL");
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	/* cancellation works, on another signal; the worker stays idle */
	ASSERT_EQ(cancel_one_emulated(), 0);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 3,
				   (union sigval){ .sival_int = 100 + i }), 0);
		/* time for an idle worker to take it, if it would */
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 3);
		EXPECT_EQ(si.si_value.sival_int, 100 + i);
		EXPECT_EQ(si.si_code, SI_QUEUE);
	}
}

/*
 * A first submission from a thread that blocks every signal (a program
 * that takes its signals in one thread) must not take a real-time signal
 * the program has a handler on: the library took SIGRTMIN+3, the
 * program's handler replaced and its SA_RESTART gone (an outside review),
 * where one left at its default was there to take.
 */
TEST(emulated_cancel_signal_leaves_a_handled_one_from_a_blocking_thread)
{
	struct sigaction sa, now;
	sigset_t all;

	unsetenv("SYSLET_CANCEL_SIGNAL");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = program_handler;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGRTMIN + 3, &sa, NULL), 0);
	sigfillset(&all);
	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &all, NULL), 0);
	ASSERT_EQ(cancel_one_emulated(), 0);
	ASSERT_EQ(sigaction(SIGRTMIN + 3, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler == program_handler);
	EXPECT_TRUE(now.sa_flags & SA_RESTART);
	/*
	 * Nor the next ones, which such a program collects with
	 * sigwaitinfo() (a second review: SIGRTMIN+4 was taken next)
	 */
	ASSERT_EQ(sigaction(SIGRTMIN + 4, NULL, &now), 0);
	EXPECT_TRUE(now.sa_handler == SIG_DFL && !(now.sa_flags & SA_SIGINFO));
}

/*
 * The program uses the library's signal anyway (named by the
 * environment, blocked in the program's threads, collected with
 * sigwaitinfo()) and sends it while a worker is blocked in a call: the
 * signal lands on the worker.  The library must pass it on to the
 * process with its siginfo, not run a default action or a handler on its
 * own thread, and the chain's call must not fail with EINTR for it.
 */
TEST(emulated_foreign_signal_on_a_worker_goes_to_the_process)
{
	struct timespec ts = { 10, 0 }, ms = { 0, 50000000 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd;
	char buf[4];
	sigset_t set;
	siginfo_t si;
	int p[2];

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+9", 1);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 9);
	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_EMULATED), 0);
	syslet_prep_read(&rd, p[0], buf, sizeof(buf));
	syslet_op_set_data(&rd, 5);
	ASSERT_EQ(syslet_submit(&ctx, &rd.atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_wait(&ctx, 1, &ms), -ETIME);	/* in its read */
	ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 9,
			   (union sigval){ .sival_int = 77 }), 0);
	nanosleep(&ms, NULL);	/* the worker takes it first */
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 9);
	EXPECT_EQ(si.si_value.sival_int, 77);
	EXPECT_EQ(si.si_code, SI_QUEUE);
	EXPECT_EQ(si.si_pid, getpid());
	/* the chain still reads */
	EXPECT_EQ(syslet_wait(&ctx, 1, &ms), -ETIME);
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 2);
	EXPECT_EQ(c.user_data, 5u);
	/* a second one, after the library saw the first */
	ASSERT_EQ(sigqueue(getpid(), SIGRTMIN + 9,
			   (union sigval){ .sival_int = 78 }), 0);
	nanosleep(&ms, NULL);	/* the worker takes it first */
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 9);
	EXPECT_EQ(si.si_value.sival_int, 78);
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

static _Atomic pid_t late_handler_tid;

static void late_handler(int sig)
{
	(void)sig;
	atomic_store(&late_handler_tid, (pid_t)syscall(SYS_gettid));
}

/* The child of emulated_program_takes_the_signal_after_the_library(). */
static int late_taker(void)
{
	struct timespec ms = { 0, 50000000 }, ten = { 10, 0 };
	struct sigaction sa = { .sa_handler = late_handler };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op, rd;
	char buf[4];
	sigset_t set;
	int p[2];

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+10", 1);
	if (syslet_ctx_init(&ctx, 4, SYSLET_CTX_EMULATED) || pipe(p))
		return 10;
	syslet_op_init(&op, SYS_getpid, SYSLET_ASYNC);
	if (syslet_submit(&ctx, &op.atom) != SYSLET_QUEUED ||
	    wait_one(&ctx, &c))
		return 11;
	/* the library has its signal now; the program takes it over */
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;			/* no SA_RESTART */
	sigaction(SIGRTMIN + 10, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 10);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	syslet_prep_read(&rd, p[0], buf, sizeof(buf));
	if (syslet_submit(&ctx, &rd.atom) != SYSLET_QUEUED)
		return 12;
	nanosleep(&ms, NULL);			/* the worker is in read() */
	kill(getpid(), SIGRTMIN + 10);
	nanosleep(&ms, NULL);
	if (write(p[1], "ab", 2) != 2)
		return 13;
	if (syslet_wait(&ctx, 1, &ten) != 1 || wait_one(&ctx, &c))
		return 14;
	if (c.status != 2)
		return 15;			/* -EINTR before */
	if (atomic_load(&late_handler_tid))
		return 16;			/* ran on a worker before */
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (atomic_load(&late_handler_tid) != (pid_t)syscall(SYS_gettid))
		return 17;			/* the program's thread takes it */
	syslet_ctx_exit(&ctx);
	return 0;
}

/*
 * A program installs a handler on the library's signal after the library
 * took it (it cannot know which one: $SYSLET_CANCEL_SIGNAL names it here)
 * and blocks it in its own thread, as a program that waits for it does; a
 * process-directed one arrives while a worker is in a call.  The call
 * must not fail with EINTR, nor the program's handler run on a worker:
 * the signal waits for the program's thread (glibc's AIO helper threads
 * block every signal).
 */
TEST(emulated_program_takes_the_signal_after_the_library)
{
	int st;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(late_taker());
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

/*
 * Kernel backend: syslet_ctx_exit() with chains still running must not
 * free a ring the kernel will write.  A new context gets the memory just
 * freed (malloc hands the same chunk back) and the kernel knows rings by
 * address: the old chains' completions would land in the new ring.  Nor
 * may exit wait for those chains.
 */
TEST(ctx_exit_with_chains_in_flight_keeps_the_ring_kernel)
{
	struct timespec ms = { 0, 1000000 };
	struct syslet_ctx ctx, ctx2;
	struct syslet_op rd[3], g;
	void *old_ring;
	char buf[3][8];
	int p[2], i;

	if (!syslet_kernel_supported())
		SKIP("the kernel has no syslet engine");
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_KERNEL), 0);
	for (i = 0; i < 3; i++) {
		syslet_prep_read(&rd[i], p[0], buf[i], 1);
		syslet_op_add_flags(&rd[i], SYSLET_ASYNC);
		syslet_op_set_data(&rd[i], 100 + i);
		ASSERT_EQ(syslet_submit(&ctx, &rd[i].atom), SYSLET_QUEUED);
	}
	/* a quick one whose completion has arrived: drained at exit */
	syslet_op_init(&g, SYS_getpid, SYSLET_SYNC);
	ASSERT_EQ(syslet_submit(&ctx, &g.atom), SYSLET_DONE);
	old_ring = ctx.ring;
	syslet_ctx_exit(&ctx);
	ASSERT_EQ(syslet_ctx_init(&ctx2, 4, SYSLET_CTX_KERNEL), 0);
	if (ctx2.ring == old_ring)
		printf("# the new context got the old ring's memory\n");
	/* the old chains complete now */
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	for (i = 0; i < 2000 && (rd[0].ret != 1 || rd[1].ret != 1 ||
				 rd[2].ret != 1); i++)
		nanosleep(&ms, NULL);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(rd[i].ret, 1);
	nanosleep(&ms, NULL);
	EXPECT_EQ(syslet_cq_ready(&ctx2), 0u);
	EXPECT_EQ(ctx2.ring->overflow, 0u);
	/* and it works as ever (a later context frees the orphaned ring) */
	EXPECT_EQ(syslet_submit(&ctx2, &g.atom), SYSLET_DONE);
	EXPECT_EQ(syslet_cq_ready(&ctx2), 1u);
	syslet_ctx_exit(&ctx2);
	ASSERT_EQ(syslet_ctx_init(&ctx2, 4, SYSLET_CTX_KERNEL), 0);
	syslet_ctx_exit(&ctx2);
	close(p[0]);
	close(p[1]);
}

static void nop_handler(int sig)
{
	(void)sig;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Cancelling N chains whose calls do not return on the signal (as one
 * sleeping uninterruptibly): the emulated backend resends it for a while
 * before it gives up, one deadline for all of them, not one after the
 * other (5 x ~0.8 s before).  The calls are made to ignore the signal by
 * re-installing the library's signal with SA_RESTART (which a program
 * must not do: here it stands in for a disk wait).
 */
TEST(emulated_cancel_of_stuck_chains_has_one_deadline)
{
	struct sigaction sa = { .sa_handler = nop_handler,
				.sa_flags = SA_RESTART };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op rd[5];
	char buf[5][4];
	long long t0, took;
	int p[2], i;

	setenv("SYSLET_CANCEL_SIGNAL", "RTMIN+9", 1);
	ASSERT_EQ(cancel_one_emulated(), 0);	/* the library took it */
	ASSERT_EQ(sigaction(SIGRTMIN + 9, &sa, NULL), 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syslet_ctx_init(&ctx, 8, SYSLET_CTX_EMULATED), 0);
	for (i = 0; i < 5; i++) {
		syslet_prep_read(&rd[i], p[0], buf[i], 1);
		syslet_op_set_data(&rd[i], 1);
		ASSERT_EQ(syslet_submit(&ctx, &rd[i].atom), SYSLET_QUEUED);
	}
	for (i = 0; i < 200; i++) {
		struct syslet_limits l;

		ASSERT_EQ(syslet_limits(&ctx, NULL, &l), 0);
		if (l.nr_threads >= 5 && l.nr_idle == 0)
			break;
		usleep(10000);
	}
	usleep(50000);
	t0 = now_ms();
	EXPECT_EQ(syslet_cancel(&ctx, 1, SYSLET_CANCEL_ALL), 5);
	took = now_ms() - t0;
	printf("# cancelling 5 stuck chains took %lld ms\n", took);
	EXPECT_LT(took, 2500);
	ASSERT_EQ(write(p[1], "12345", 5), 5);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, -ECANCELED);
	}
	syslet_ctx_exit(&ctx);
	close(p[0]);
	close(p[1]);
}

struct delayed_write {
	int fd;
	unsigned int ms;
};

static void *write_later(void *arg)
{
	struct delayed_write *d = arg;
	struct timespec ts = { d->ms / 1000, (d->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	if (write(d->fd, "abc", 3) != 3)
		return (void *)1;
	return NULL;
}

/*
 * The same with a ring in the caller's memory, which the caller may reuse
 * as soon as syslet_ctx_exit() returns: exit waits for the chains (here
 * released by another thread 200 ms later), so a new ring on the same
 * memory sees none of their completions.
 */
TEST(ctx_exit_waits_for_chains_on_a_callers_ring_kernel)
{
	static char mem[SYSLET_RING_BYTES(4)] __attribute__((aligned(64)));
	struct timespec ms = { 0, 1000000 };
	struct delayed_write d;
	struct syslet_ctx ctx, ctx2;
	struct syslet_op rd[3];
	char buf[3][8];
	pthread_t t;
	void *tr;
	int p[2], i;

	if (!syslet_kernel_supported())
		SKIP("the kernel has no syslet engine");
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, sizeof(mem), SYSLET_CTX_KERNEL), 0);
	for (i = 0; i < 3; i++) {
		syslet_prep_read(&rd[i], p[0], buf[i], 1);
		syslet_op_add_flags(&rd[i], SYSLET_ASYNC);
		ASSERT_EQ(syslet_submit(&ctx, &rd[i].atom), SYSLET_QUEUED);
	}
	d.fd = p[1];
	d.ms = 200;
	ASSERT_EQ(pthread_create(&t, NULL, write_later, &d), 0);
	syslet_ctx_exit(&ctx);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx2, mem, sizeof(mem), SYSLET_CTX_KERNEL), 0);
	ASSERT_EQ(pthread_join(t, &tr), 0);
	ASSERT_TRUE(tr == NULL);
	for (i = 0; i < 2000 && (rd[0].ret != 1 || rd[1].ret != 1 ||
				 rd[2].ret != 1); i++)
		nanosleep(&ms, NULL);
	nanosleep(&ms, NULL);
	EXPECT_EQ(syslet_cq_ready(&ctx2), 0u);
	syslet_ctx_exit(&ctx2);
	close(p[0]);
	close(p[1]);
}

TAP_MAIN
