// SPDX-License-Identifier: GPL-2.0
/* libsyslet waiting: syslet_wait() timeouts, counts and signals. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "lib-test.h"

TEST(wait_timeout_and_count)
{
	struct timespec ts = { 0, 20000000 }, bad = { 0, 2000000000 };
	struct timespec sl = { 0, 30000000 };
	struct syslet_completion cs[4];
	struct syslet_ctx ctx;
	struct syslet_op a[4];
	int i;

	ctx_or_die(&ctx, 4);
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);
	EXPECT_EQ(syslet_wait(&ctx, 0, &ts), 0);
	EXPECT_EQ(syslet_wait(&ctx, 1, &bad), -EINVAL);
	for (i = 0; i < 4; i++) {
		syslet_prep_nanosleep(&a[i], &sl);
		syslet_op_set_data(&a[i], i);
		ASSERT_EQ(syslet_submit(&ctx, &a[i].atom), SYSLET_QUEUED);
	}
	EXPECT_GE(syslet_wait(&ctx, 3, NULL), 3);
	/* min above the ring size is capped at the ring size */
	EXPECT_EQ(syslet_wait(&ctx, 100, NULL), 4);
	EXPECT_EQ(syslet_reap(&ctx, cs, 4), 4);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(cs[i].status, 0);
	EXPECT_EQ(syslet_reap(&ctx, cs, 4), 0);
	syslet_ctx_exit(&ctx);
}

static volatile sig_atomic_t sigs_handled;

static void on_sigusr1(int sig)
{
	(void)sig;
	sigs_handled++;
}

struct kicker {
	pthread_t target;
	_Atomic int stop;
};

/* Signals the target every 20 ms until told to stop (a single signal
 * could land before the target sleeps, and be missed). */
static void *kick(void *p)
{
	struct kicker *k = p;
	struct timespec ts = { 0, 20000000 };

	while (!atomic_load(&k->stop)) {
		nanosleep(&ts, NULL);
		pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

/*
 * A handler installed without SA_RESTART cuts syslet_wait() short with
 * -EINTR, with or without a timeout, on both backends; a wait that has
 * its completions returns them.
 */
TEST(wait_eintr_handler_without_sa_restart)
{
	struct timespec ten = { 10, 0 };
	struct sigaction sa;
	struct kicker k;
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a;
	pthread_t t;
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART */
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ctx_or_die(&ctx, 4);
	k.target = pthread_self();
	atomic_init(&k.stop, 0);
	ASSERT_EQ(pthread_create(&t, NULL, kick, &k), 0);
	ret = syslet_wait(&ctx, 1, NULL);
	EXPECT_EQ(ret, -EINTR);
	EXPECT_GE(sigs_handled, 1);
	ret = syslet_wait(&ctx, 1, &ten);
	EXPECT_EQ(ret, -EINTR);
	EXPECT_GE(sigs_handled, 2);
	atomic_store(&k.stop, 1);
	pthread_join(t, NULL);
	/* nothing was lost or posted meanwhile; the ring still works */
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_op_init(&a, SYS_getpid, SYSLET_ASYNC);
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_QUEUED);
	do
		ret = syslet_wait(&ctx, 1, &ten);
	while (ret == -EINTR);
	EXPECT_EQ(ret, 1);
	ASSERT_EQ(syslet_reap(&ctx, &c, 1), 1);
	EXPECT_EQ(c.status, getpid());
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
