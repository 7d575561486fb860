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
#include <stdatomic.h>
#include <time.h>
#include "lib-test.h"

static _Atomic int post_failures;	/* posts still to fail */
static _Atomic int posts_failed;
static _Atomic int fail_posts_while_full; /* as at max_chains, until reaped */

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == 451 && a[0] == 0 && a[3] == SYSLET_EXEC_POST &&
	    atomic_load(&fail_posts_while_full)) {
		struct syslet_ring *r = (struct syslet_ring *)a[1];

		if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
		    __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= r->nr_entries) {
			atomic_fetch_add(&posts_failed, 1);
			errno = EAGAIN;
			return -1;
		}
	}
	if (nr == 451 && a[0] == 0 && a[3] == SYSLET_EXEC_POST &&
	    atomic_fetch_sub(&post_failures, 1) > 0) {
		atomic_fetch_add(&posts_failed, 1);
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
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

TAP_MAIN
