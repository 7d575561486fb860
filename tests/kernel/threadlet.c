// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side of threadlets (issue 8): async_exec()'s
 * SYSLET_EXEC_SPARE, SYSLET_EXEC_THREADLET and SYSLET_EXEC_THREADLET_END,
 * their errors, and a threadlet that begins and ends without sleeping.
 * The hand-off itself is tested through libsyslet (tests/lib/threadlet.c),
 * which switches stacks for it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sys.h"
#include "tap.h"

static long exec_flags(void *atom, struct syslet_ring *r,
		       struct syslet_completion *done, unsigned int flags)
{
	long ret = async_exec(atom, r, done, flags);

	return ret < 0 ? -errno : ret;
}

TEST(threadlet_flags_are_checked)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done = { 0 };
	struct syslet_atom a;

	REQUIRE_SYSLET();
	atom_init(&a, 0, SYS_getpid, NULL, NULL, NULL, NULL, NULL);
	/* one operation at a time */
	ASSERT_EQ(exec_flags(NULL, r, &done, SYSLET_EXEC_POST |
			     SYSLET_EXEC_THREADLET), -EINVAL);
	ASSERT_EQ(exec_flags(NULL, NULL, NULL, SYSLET_EXEC_SPARE |
			     SYSLET_EXEC_THREADLET), -EINVAL);
	/* begin and spare take no arguments */
	ASSERT_EQ(exec_flags(&a, NULL, NULL, SYSLET_EXEC_THREADLET), -EINVAL);
	ASSERT_EQ(exec_flags(NULL, r, NULL, SYSLET_EXEC_THREADLET), -EINVAL);
	ASSERT_EQ(exec_flags(NULL, NULL, &done, SYSLET_EXEC_SPARE), -EINVAL);
	/* no threadlet runs: nothing to end */
	ASSERT_EQ(exec_flags(NULL, r, &done, SYSLET_EXEC_THREADLET_END),
		  -EINVAL);
	ASSERT_EQ(exec_flags(&a, r, &done, SYSLET_EXEC_THREADLET_END),
		  -EINVAL);
	ASSERT_EQ(exec_flags(NULL, NULL, NULL, 0x80000000u), -EINVAL);
}

TEST(no_parked_spare_means_eagain)
{
	REQUIRE_SYSLET();
	ASSERT_EQ(exec_flags(NULL, NULL, NULL, SYSLET_EXEC_THREADLET), -EAGAIN);
}

static void on_usr1(int sig)
{
	(void)sig;
}

struct parker {
	pid_t tid;
	long ret;
	long long ms;
};

static void *park(void *arg)
{
	struct parker *p = arg;
	long long t0 = now_ms();

	p->tid = (pid_t)syscall(SYS_gettid);
	p->ret = exec_flags(NULL, NULL, NULL, SYSLET_EXEC_SPARE);
	p->ms = now_ms() - t0;
	return NULL;
}

TEST(a_spare_parks_until_a_signal_or_its_idle_time)
{
	struct syslet_limits set = { .size = sizeof(set), .idle_msecs = 300 };
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct parker p = { 0 };
	pthread_t t;

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(async_limits(&set, NULL), 0);
	/* idle time: -ETIMEDOUT after about 300 ms */
	ASSERT_EQ(pthread_create(&t, NULL, park, &p), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(p.ret, -ETIMEDOUT);
	ASSERT_GE(p.ms, 250);
	ASSERT_LT(p.ms, 5000);
	/* a signal: -EINTR */
	set.idle_msecs = 60000;
	ASSERT_EQ(async_limits(&set, NULL), 0);
	memset(&p, 0, sizeof(p));
	ASSERT_EQ(pthread_create(&t, NULL, park, &p), 0);
	while (!__atomic_load_n(&p.tid, __ATOMIC_ACQUIRE))
		;
	ASSERT_TRUE(sleeping(p.tid));
	ASSERT_EQ(pthread_kill(t, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(p.ret, -EINTR);
	ASSERT_LT(p.ms, 30000);
}

/*
 * With a spare parked, a threadlet begins (0), cannot nest (-EBUSY), and
 * ends without having slept: its completion is posted flagged
 * SYSLET_COMP_SYNC, done->flags is cleared, and the spare is still free
 * for the next one.  Nothing between begin and end may sleep, or the
 * spare would take over this function's context: only raw calls.
 */
TEST(threadlet_that_does_not_sleep_posts_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done, comp;
	struct parker p = { 0 };
	long begin, nested, end;
	pthread_t t;
	int i;

	struct sigaction sa = { .sa_handler = on_usr1 };

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pthread_create(&t, NULL, park, &p), 0);
	while (!__atomic_load_n(&p.tid, __ATOMIC_ACQUIRE))
		;
	ASSERT_TRUE(sleeping(p.tid));
	for (i = 0; i < 3; i++) {
		memset(&done, 0, sizeof(done));
		done.status = 42 + i;
		done.user_data = 7;
		done.flags = 1;
		begin = exec_flags(NULL, NULL, NULL, SYSLET_EXEC_THREADLET);
		nested = exec_flags(NULL, NULL, NULL, SYSLET_EXEC_THREADLET);
		end = exec_flags(NULL, r, &done, SYSLET_EXEC_THREADLET_END);
		ASSERT_EQ(begin, 0);
		ASSERT_EQ(nested, -EBUSY);
		ASSERT_EQ(end, SYSLET_DONE);
		ASSERT_EQ(done.flags, 0);
		ASSERT_TRUE(ring_pop(r, &comp));
		ASSERT_EQ(comp.status, 42 + i);
		ASSERT_EQ(comp.user_data, 7);
		ASSERT_TRUE(comp.flags & SYSLET_COMP_SYNC);
	}
	/* the spare was never used: a signal still finds it parked */
	ASSERT_EQ(pthread_kill(t, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(p.ret, -EINTR);
}

TAP_MAIN
