// SPDX-License-Identifier: GPL-2.0
/*
 * PI futexes in atoms (issue 19 item 3).  A PI lock's owner is named by
 * its TID in the futex word, written by the kernel when it hands the lock
 * to a waiter, so the thread that waits must be the one the program
 * thinks of as the owner:
 *
 * - in the caller (default mode, SYSLET_SYNC) the wait is never passed
 *   on: the lock is the calling thread's, and it can unlock it.  On Linux
 *   6.12 the scheduler hook is not even reached: the PI wait goes through
 *   rt_mutex_futex_pre_schedule() and rt_mutex_schedule(), which skip
 *   sched_submit_work();
 * - in an async thread (SYSLET_ASYNC) the async thread owns the lock, and
 *   a later atom of the chain unlocks it.  On 6.12 that path asserts (with
 *   lockdep) that the task is no io-wq or workqueue worker: an async
 *   thread is PF_IO_WORKER, and the run must not warn.
 *
 * Each test checks that the kernel did not warn meanwhile (the taint
 * flags), as well as the lock's owner.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sys.h"
#include "tap.h"

#define TAINT_WARN	(1UL << 9)	/* 'W': a WARN*() fired */

static unsigned long tainted(void)
{
	unsigned long t = ~0UL;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%lu", &t) != 1)
			t = ~0UL;
		fclose(f);
	}
	return t;
}

static long futex_pi(_Atomic uint32_t *w, int op)
{
	return syscall(SYS_futex, w, op | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
}

/*
 * A thread that holds the lock (taken in user space: the word is its
 * TID) until a waiter has queued in the kernel (FUTEX_WAITERS), up to
 * 10 s, then unlocks it, handing it to that waiter.
 */
struct holder {
	_Atomic uint32_t *word;
	_Atomic int locked;
	pthread_t thr;
	long unlock_ret;
	int saw_waiter;
};

static void *hold(void *arg)
{
	struct holder *h = arg;
	uint32_t zero = 0, tid = (uint32_t)sys_tid();
	struct timespec ms = { 0, 1000 * 1000 };
	int i;

	if (!atomic_compare_exchange_strong(h->word, &zero, tid))
		return NULL;
	atomic_store(&h->locked, 1);
	for (i = 0; i < 10000; i++) {
		if (atomic_load(h->word) & FUTEX_WAITERS) {
			h->saw_waiter = 1;
			break;
		}
		nanosleep(&ms, NULL);
	}
	nanosleep(&ms, NULL);		/* the waiter is asleep by now */
	/* the kernel's unlock: the word has the waiters bit, or is ours */
	h->unlock_ret = futex_pi(h->word, FUTEX_UNLOCK_PI);
	if (h->unlock_ret)
		h->unlock_ret = -errno;
	return NULL;
}

static int hold_start(struct holder *h, _Atomic uint32_t *word)
{
	memset(h, 0, sizeof(*h));
	h->word = word;
	if (pthread_create(&h->thr, NULL, hold, h))
		return -1;
	while (!atomic_load(&h->locked))
		sched_yield();
	return 0;
}

/*
 * A default-mode chain whose one atom waits for a contended PI lock: it
 * runs in the caller (SYSLET_DONE, not passed on), and the caller owns
 * the lock when async_exec() returns (the word is its TID; it unlocks
 * it).  A hand-off here would have given the lock to the async thread the
 * caller's task turns into, under the TID that task takes.
 */
static void pi_lock_in_the_caller(uint64_t op)
{
	struct syslet_ring *r = ring_new(4);
	_Atomic uint32_t word = 0;
	uint64_t uaddr = (uintptr_t)&word, zero = 0;
	struct syslet_completion done;
	struct syslet_atom a;
	struct holder h;
	unsigned long t0 = tainted();
	int64_t ret = -12345;
	pid_t me = sys_tid();
	long n;

	REQUIRE_SYSLET();
	ASSERT_TRUE(t0 != ~0UL);
	/* a spare thread, so that a hand-off would be possible */
	sys_set_limits(4, 10000, 0);
	ASSERT_EQ(hold_start(&h, &word), 0);
	atom_init(&a, 0, SYS_futex, &ret, &uaddr, &op, &zero, &zero);
	a.arg_ptr[4] = a.arg_ptr[5] = (uintptr_t)&zero;
	memset(&done, 0, sizeof(done));
	n = async_exec(&a, r, &done, 0);
	if (n == SYSLET_QUEUED)		/* to say what happened */
		ring_get(r, &done);
	pthread_join(h.thr, NULL);
	EXPECT_TRUE(h.saw_waiter);
	EXPECT_EQ(h.unlock_ret, 0);
	ASSERT_EQ(n, SYSLET_DONE);
	ASSERT_EQ(done.status, 0);
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(sys_tid(), me);
	ASSERT_EQ(atomic_load(&word) & FUTEX_TID_MASK, (uint32_t)me);
	ASSERT_EQ(futex_pi(&word, FUTEX_UNLOCK_PI), 0);
	ASSERT_EQ(atomic_load(&word), 0);
	ASSERT_EQ(tainted() & TAINT_WARN, t0 & TAINT_WARN);
	free(r);
}

TEST(pi_lock_in_the_caller_is_the_callers)
{
	pi_lock_in_the_caller(FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG);
}

/*
 * futex() takes its op as an int: an atom's op argument with the upper
 * half set is the same FUTEX_LOCK_PI to it, and must be to the engine
 * too (review 6 finding 1: it was tested as 64 bits and handed off).
 */
TEST(pi_lock_with_upper_op_bits_in_the_caller_is_the_callers)
{
	pi_lock_in_the_caller(FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG |
			      (1ULL << 32));
}

/* The same with SYSLET_SYNC: lock and unlock in the caller. */
TEST(pi_lock_and_unlock_in_a_sync_chain)
{
	_Atomic uint32_t word = 0;
	uint64_t uaddr = (uintptr_t)&word, zero = 0;
	uint64_t lock = FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG;
	uint64_t unlock = FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG;
	struct syslet_completion done;
	struct syslet_atom a[2];
	struct holder h;
	unsigned long t0 = tainted();
	int64_t ret[2] = { -12345, -12345 };

	REQUIRE_SYSLET();
	ASSERT_TRUE(t0 != ~0UL);
	ASSERT_EQ(hold_start(&h, &word), 0);
	atom_init(&a[0], SYSLET_SYNC | SYSLET_STOP_ON_NONZERO, SYS_futex,
		  &ret[0], &uaddr, &lock, &zero, &zero);
	atom_init(&a[1], SYSLET_SYNC, SYS_futex, &ret[1], &uaddr, &unlock,
		  &zero, &zero);
	a[0].arg_ptr[4] = a[0].arg_ptr[5] = (uintptr_t)&zero;
	a[1].arg_ptr[4] = a[1].arg_ptr[5] = (uintptr_t)&zero;
	a[0].next = (uintptr_t)&a[1];
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&a[0], NULL, &done, 0), SYSLET_DONE);
	pthread_join(h.thr, NULL);
	EXPECT_TRUE(h.saw_waiter);
	EXPECT_EQ(h.unlock_ret, 0);
	ASSERT_EQ(ret[0], 0);
	ASSERT_EQ(ret[1], 0);
	ASSERT_EQ(done.nr_atoms, 2);
	ASSERT_EQ(atomic_load(&word), 0);
	ASSERT_EQ(tainted() & TAINT_WARN, t0 & TAINT_WARN);
}

/*
 * SYSLET_ASYNC: an async thread waits for the contended lock, owns it
 * (its TID in the word), and unlocks it in the chain's next atom, without
 * a warning from the kernel.
 */
TEST(pi_lock_in_an_async_thread_is_its_own_and_does_not_warn)
{
	struct syslet_ring *r = ring_new(4);
	_Atomic uint32_t word = 0;
	uint64_t uaddr = (uintptr_t)&word, zero = 0;
	uint64_t lock = FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG;
	uint64_t unlock = FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG;
	struct syslet_completion done;
	struct syslet_atom a[3];
	struct holder h;
	unsigned long t0 = tainted();
	int64_t ret[3] = { -12345, -12345, -12345 };

	REQUIRE_SYSLET();
	ASSERT_TRUE(t0 != ~0UL);
	ASSERT_EQ(hold_start(&h, &word), 0);
	/* lock; the TID of the thread that holds it (not ours); unlock */
	atom_init(&a[0], SYSLET_ASYNC | SYSLET_STOP_ON_NONZERO, SYS_futex,
		  &ret[0], &uaddr, &lock, &zero, &zero);
	a[0].arg_ptr[4] = a[0].arg_ptr[5] = (uintptr_t)&zero;
	atom_init(&a[1], SYSLET_ASYNC, SYS_gettid, &ret[1], NULL, NULL, NULL,
		  NULL);
	atom_init(&a[2], SYSLET_ASYNC, SYS_futex, &ret[2], &uaddr, &unlock,
		  &zero, &zero);
	a[2].arg_ptr[4] = a[2].arg_ptr[5] = (uintptr_t)&zero;
	a[0].next = (uintptr_t)&a[1];
	a[1].next = (uintptr_t)&a[2];
	a[0].user_data = 3;
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &done));
	pthread_join(h.thr, NULL);
	EXPECT_TRUE(h.saw_waiter);
	EXPECT_EQ(h.unlock_ret, 0);
	ASSERT_EQ(done.user_data, 3);
	ASSERT_EQ(done.nr_atoms, 3);
	ASSERT_EQ(done.status, 0);
	ASSERT_EQ(ret[0], 0);
	ASSERT_TRUE(ret[1] > 0 && ret[1] != sys_tid());
	ASSERT_EQ(ret[2], 0);
	ASSERT_EQ(atomic_load(&word), 0);
	ASSERT_EQ(tainted() & TAINT_WARN, t0 & TAINT_WARN);
	free(r);
}

TAP_MAIN
