// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15: regressions for what an independent review of the kernel
 * engine and a probe written from docs/abi.md alone found.  Each test
 * names the item it covers.  Some only fail visibly on the debug kernel
 * (KASAN reports a use-after-free, which fails the guest run).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>
#include "sys.h"
#include "tap.h"

static long xexec(void *atom, struct syslet_ring *r,
		  struct syslet_completion *done, unsigned int flags)
{
	long ret = async_exec(atom, r, done, flags);

	return ret < 0 ? -errno : ret;
}

/* a one-byte read of the read end of a pipe */
struct rd {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
};

static void rd_init(struct rd *b, int fd, uint32_t flags, uint64_t ud)
{
	b->fd = (uint64_t)fd;
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	b->ret = -12345;
	atom_init(&b->a, flags, SYS_read, &b->ret, &b->fd, &b->buf, &b->len,
		  NULL);
	b->a.user_data = ud;
}

/* --- item 1: thread creation fails while cancels run ------------------ */

static struct syslet_ring *cancel_ring;
static _Atomic int cancel_stop;
static _Atomic long cancel_hits;

static void *canceller(void *arg)
{
	(void)arg;
	while (!cancel_stop)
		if (async_cancel(cancel_ring, 7, 0) == 0)
			cancel_hits++;
	return NULL;
}

/*
 * As uid 1000 with RLIMIT_NPROC at the number of threads it has, no async
 * thread can be made: every SYSLET_ASYNC submission either fails with
 * EAGAIN (nothing queued) or was cancelled while async_exec() tried to
 * make its thread (QUEUED, and completes with -ECANCELED).  The old code
 * read the chain after a cancel had posted and freed it (KASAN).
 */
TEST(thread_creation_failing_while_cancels_run)
{
	enum { N = 3000 };
	struct syslet_completion comp;
	struct rlimit rl = { 2, 2 };	/* this thread and the canceller */
	long queued = 0, eagain = 0, got = 0;
	struct rd b;
	pthread_t t;
	int fds[2];

	REQUIRE_SYSLET();
	if (geteuid() != 0)
		SKIP("needs root to become uid 1000");
	ASSERT_EQ(pipe(fds), 0);
	cancel_ring = ring_new(4096);
	ASSERT_EQ(setresgid(1000, 1000, 1000), 0);
	ASSERT_EQ(setresuid(1000, 1000, 1000), 0);
	ASSERT_EQ(pthread_create(&t, NULL, canceller, NULL), 0);
	ASSERT_EQ(setrlimit(RLIMIT_NPROC, &rl), 0);
	rd_init(&b, fds[0], SYSLET_ASYNC, 7);
	for (int i = 0; i < N; i++) {
		long ret = xexec(&b.a, cancel_ring, NULL, 0);

		if (ret == SYSLET_QUEUED)
			queued++;
		else if (ret == -EAGAIN)
			eagain++;
		else
			ASSERT_EQ(ret, SYSLET_QUEUED);
		while (ring_pop(cancel_ring, &comp)) {
			ASSERT_EQ(comp.status, -ECANCELED);
			ASSERT_EQ(comp.nr_atoms, 0);
			got++;
		}
	}
	cancel_stop = 1;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	while (ring_pop(cancel_ring, &comp)) {
		ASSERT_EQ(comp.status, -ECANCELED);
		got++;
	}
	tap_diag("%ld queued (cancelled in the window), %ld EAGAIN", queued,
		 eagain);
	ASSERT_EQ(got, queued);
	ASSERT_EQ(queued + eagain, N);
	ASSERT_EQ(limits_now().nr_threads, 0);
	ASSERT_EQ(limits_now().nr_chains, 0);
	ASSERT_EQ(b.ret, -12345);	/* no read ever ran */
}

TAP_MAIN
