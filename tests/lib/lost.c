// SPDX-License-Identifier: GPL-2.0
/*
 * Completions are never lost: a threadlet's completion is posted even
 * when the post fails for a while (a signal, no memory).  The failures
 * are injected by this program's own syscall(), which the library's
 * calls resolve to (the executable comes first in the symbol lookup):
 * it fails async_exec(SYSLET_EXEC_POST) with ENOMEM as often as asked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "lib-test.h"

static _Atomic int post_failures;	/* posts still to fail */
static _Atomic int posts_failed;
static _Atomic int fail_posts_while_full; /* as at max_chains, until reaped */
static _Atomic int fill_before_sync;	/* other threads fill the ring first */
static _Atomic int posts_refused;	/* EXEC_POST refused for good */
static _Atomic int fillers_posted;

static long real_syscall(long nr, const long *a)
{
	static long (*real)(long, ...);

	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * Plays other threads' completions filling the ring between the
 * library's look at it and the kernel's post of a SYSLET_SYNC chain:
 * fillers (user_data 1000 on) are posted until the ring is full, then
 * the chain is submitted.
 */
static void fill_ring(struct syslet_ring *r)
{
	struct syslet_completion f;
	long pa[6];

	while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) < r->nr_entries) {
		memset(&f, 0, sizeof(f));
		f.user_data = 1000 + (uint64_t)atomic_fetch_add(&fillers_posted, 1);
		f.status = 1;
		pa[0] = 0;
		pa[1] = (long)r;
		pa[2] = (long)&f;
		pa[3] = SYSLET_EXEC_POST;
		pa[4] = pa[5] = 0;
		if (real_syscall(SYSLET_NR_ASYNC_EXEC, pa) < 0)
			break;
	}
}

long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYSLET_NR_ASYNC_EXEC && a[0] && a[1] && atomic_load(&fill_before_sync) &&
	    (((struct syslet_atom *)a[0])->flags & SYSLET_SYNC))
		fill_ring((struct syslet_ring *)a[1]);
	if (nr == SYSLET_NR_ASYNC_EXEC && a[0] == 0 && a[3] == SYSLET_EXEC_POST &&
	    atomic_load(&posts_refused)) {
		errno = EINVAL;		/* as for a ring no longer usable */
		return -1;
	}
	if (nr == SYSLET_NR_ASYNC_EXEC && a[0] == 0 && a[3] == SYSLET_EXEC_POST &&
	    atomic_load(&fail_posts_while_full)) {
		struct syslet_ring *r = (struct syslet_ring *)a[1];

		if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
		    __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= r->nr_entries) {
			atomic_fetch_add(&posts_failed, 1);
			errno = EAGAIN;
			return -1;
		}
	}
	if (nr == SYSLET_NR_ASYNC_EXEC && a[0] == 0 && a[3] == SYSLET_EXEC_POST &&
	    atomic_fetch_sub(&post_failures, 1) > 0) {
		atomic_fetch_add(&posts_failed, 1);
		errno = ENOMEM;
		return -1;
	}
	return real_syscall(nr, a);
}

static long answer(void *arg)
{
	(void)arg;
	return 42;
}

/* kernel backend: a threadlet on a library thread posts with EXEC_POST */
TEST(threadlet_post_failing_with_enomem_is_retried)
{
	struct timespec to = { 20, 0 };
	struct syslet_completion c;
	struct syslet_ctx ctx;

	ctx_or_die(&ctx, 4);
	if (syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL)
		SKIP("threadlets post through the kernel on its backend only");
	atomic_store(&post_failures, 3);
	ASSERT_EQ(syslet_threadlet(&ctx, answer, NULL, 7), 0);
	ASSERT_EQ(syslet_wait(&ctx, 1, &to), 1);
	ASSERT_EQ(syslet_reap(&ctx, &c, 1), 1);
	EXPECT_EQ(c.user_data, 7u);
	EXPECT_EQ(c.status, 42);
	EXPECT_EQ(atomic_load(&posts_failed), 3);
	syslet_ctx_exit(&ctx);
}

/*
 * Kernel backend: a SYSLET_SYNC chain into a full ring has its completion
 * posted by the library (SYSLET_EXEC_POST), which the kernel may refuse
 * until the ring is reaped (EAGAIN at max_chains, played here).  The
 * submitting thread is the one that reaps: syslet_submit() must not wait
 * for the post, and the completion must come once it reaps.
 */
TEST(sync_completion_refused_until_reaped_is_kept)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op[3];
	int i, seen = 0;

	ctx_or_die(&ctx, 2);
	if (syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL)
		SKIP("the library posts only on the kernel backend");
	atomic_store(&fail_posts_while_full, 1);
	alarm(20);
	for (i = 0; i < 3; i++) {
		syslet_op_init(&op[i], SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&op[i], 10 + i);
		ASSERT_EQ(syslet_submit(&ctx, &op[i].atom), SYSLET_DONE);
	}
	EXPECT_GE(atomic_load(&posts_failed), 1);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(wait_one(&ctx, &c), 0);
		EXPECT_EQ(c.status, getpid());
		seen |= 1 << (c.user_data - 10);
	}
	EXPECT_EQ(seen, 7);
	syslet_ctx_exit(&ctx);
}

/*
 * Kernel backend: the ring fills up under other threads after the
 * library looked at it and before the kernel posts a SYSLET_SYNC chain's
 * completion (played by fill_ring()).  The chain ran: syslet_submit()
 * must say SYSLET_DONE and its completion must come, once, after the
 * fillers.  Before: -EOVERFLOW after the chain ran, and the completion
 * was lost.
 */
TEST(sync_chain_racing_a_filling_ring_is_kept)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	int i, n, fillers = 0, mine = 0;

	ctx_or_die(&ctx, 4);
	if (syslet_backend(&ctx) != SYSLET_BACKEND_KERNEL)
		SKIP("the kernel posts the ring on its backend only");
	alarm(20);
	atomic_store(&fill_before_sync, 1);
	for (i = 0; i < 3; i++) {
		syslet_op_init(&op, SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&op, 7);
		ASSERT_EQ(syslet_submit(&ctx, &op.atom), SYSLET_DONE);
		EXPECT_EQ(op.ret, getpid());
		/* reap what is there: fillers and, once, the chain */
		while ((n = syslet_reap(&ctx, &c, 1)) == 1) {
			if (c.user_data == 7) {
				mine++;
				EXPECT_EQ(c.status, getpid());
			} else {
				fillers++;
			}
		}
		EXPECT_EQ(mine, i + 1);
	}
	atomic_store(&fill_before_sync, 0);
	EXPECT_EQ(fillers, atomic_load(&fillers_posted));
	EXPECT_GE(fillers, 4);
	syslet_ctx_exit(&ctx);
}

/*
 * Kernel backend: a threadlet's completion whose post the kernel refuses
 * for good is no longer expected: syslet_ctx_exit() on a ring in the
 * caller's memory (which waits until nothing more can arrive) returns.
 * Before: the count kept it, and exit waited for ever (here: the alarm).
 */
TEST(threadlet_post_refused_for_good_is_not_waited_for)
{
	static char mem[SYSLET_RING_BYTES(4)] __attribute__((aligned(64)));
	struct syslet_ctx ctx;

	if (!syslet_kernel_supported())
		SKIP("threadlets post through the kernel on its backend only");
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, sizeof(mem),
				      SYSLET_CTX_KERNEL), 0);
	atomic_store(&posts_refused, 1);
	alarm(20);
	ASSERT_EQ(syslet_threadlet(&ctx, answer, NULL, 8), 0);
	syslet_ctx_exit(&ctx);	/* waits for the threadlet, then returns */
	alarm(0);
	EXPECT_EQ(posts_failed, 0);	/* refused, not transient */
}

/*
 * Several threads fill a small ring (default-mode chains, done in the
 * caller or not) while one submits SYSLET_SYNC chains and the main
 * thread reaps: every SYNC chain's completion arrives exactly once, and
 * syslet_submit() never fails for one (before, on the kernel backend:
 * -EOVERFLOW after the chain ran when the ring filled up in between).
 */
#define RACE_SYNC	300
#define RACE_FILL	3
static struct syslet_ctx race_ctx;
static _Atomic int race_stop, race_bad;

/*
 * A filler's ops live in static memory, never on its stack: a queued
 * chain's worker may still read its atom after the filler has returned
 * (the emulated backend reads head->next and the flags after writing
 * ret).  An op is reused only once its chain has stored its result.
 */
#define RACE_OPS	64
static struct syslet_op race_ops[RACE_FILL][RACE_OPS];
static unsigned char race_used[RACE_FILL][RACE_OPS];

static void *race_filler(void *arg)
{
	unsigned int k = (uintptr_t)arg, j = 0;
	uint64_t id = 100000 * (1 + k);
	struct syslet_op *op;
	int r;

	while (!atomic_load(&race_stop)) {
		op = &race_ops[k][j % RACE_OPS];
		if (race_used[k][j % RACE_OPS] &&
		    !__atomic_load_n(&op->ret, __ATOMIC_ACQUIRE)) {
			sched_yield();	/* still in flight: getpid() > 0 */
			continue;
		}
		race_used[k][j % RACE_OPS] = 1;
		j++;
		syslet_op_init(op, SYS_getpid, 0);
		syslet_op_set_data(op, id++);
		r = syslet_submit(&race_ctx, &op->atom);
		if (r < 0 && r != -EAGAIN)
			atomic_fetch_add(&race_bad, 1);
		if (r < 0)		/* nothing ran: free for reuse */
			op->ret = 1;
	}
	return NULL;
}

static void *race_sync(void *arg)
{
	struct syslet_op op;
	int i, r;

	(void)arg;
	for (i = 1; i <= RACE_SYNC; i++) {
		syslet_op_init(&op, SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&op, (uint64_t)i);
		while ((r = syslet_submit(&race_ctx, &op.atom)) == -EAGAIN)
			sched_yield();	/* max_chains: nothing ran */
		if (r != SYSLET_DONE) {
			printf("# sync submit %d: %d\n", i, r);
			atomic_fetch_add(&race_bad, 1);
		}
	}
	return NULL;
}

TEST(sync_chains_while_other_threads_fill_the_ring)
{
	static unsigned char seen[RACE_SYNC + 1];
	struct timespec ms = { 0, 1000000 };
	struct syslet_completion c[8];
	pthread_t f[RACE_FILL], t;
	int i, n, got = 0, dup = 0, idle = 0;

	ctx_or_die(&race_ctx, 4);
	alarm(120);
	for (i = 0; i < RACE_FILL; i++)
		ASSERT_EQ(pthread_create(&f[i], NULL, race_filler,
					 (void *)(uintptr_t)i), 0);
	ASSERT_EQ(pthread_create(&t, NULL, race_sync, NULL), 0);
	while (got < RACE_SYNC && idle < 5000) {
		n = syslet_reap(&race_ctx, c, 8);
		if (n <= 0) {
			nanosleep(&ms, NULL);	/* let the ring fill */
			idle++;
			continue;
		}
		idle = 0;
		for (i = 0; i < n; i++) {
			if (c[i].user_data < 1 || c[i].user_data > RACE_SYNC)
				continue;
			if (seen[c[i].user_data]++)
				dup++;
			else
				got++;
		}
	}
	pthread_join(t, NULL);
	atomic_store(&race_stop, 1);
	for (i = 0; i < RACE_FILL; i++)
		pthread_join(f[i], NULL);
	/* whatever is still on its way */
	while ((n = syslet_reap(&race_ctx, c, 8)) > 0 || idle++ < 200) {
		if (n <= 0) {
			nanosleep(&ms, NULL);
			continue;
		}
		for (i = 0; i < n; i++)
			if (c[i].user_data >= 1 && c[i].user_data <= RACE_SYNC) {
				if (seen[c[i].user_data]++)
					dup++;
				else
					got++;
			}
	}
	EXPECT_EQ(atomic_load(&race_bad), 0);
	EXPECT_EQ(got, RACE_SYNC);
	EXPECT_EQ(dup, 0);
	syslet_ctx_exit(&race_ctx);
}

TAP_MAIN
