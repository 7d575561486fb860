// SPDX-License-Identifier: GPL-2.0
/*
 * threads.c - thread safety: several threads submit, wait for and reap
 * requests on a shared file and on pipes of their own at the same time,
 * with aio_suspend, polling aio_error and lio_listio mixed.
 */
#include <sched.h>

#include "aio-test.h"

enum { NT = 4, ITERS = 100, QD = 8, SZ = 256 };

static int shared_fd;

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char buf[QD][SZ];
	struct aiocb cb[QD];
	const struct aiocb *l[QD];
	int it, i, p[2];

	if (pipe(p))
		return (void *)1L;
	for (it = 0; it < ITERS; it++) {
		for (i = 0; i < QD; i++) {
			off_t off = ((id * 7919 + it * 31 + i * 101) % 4000) * 16;

			aiot_cb(&cb[i], shared_fd, buf[i], SZ, off);
			if (aio_read(&cb[i]))
				return (void *)2L;
			l[i] = &cb[i];
		}
		for (i = 0; i < QD; i++) {
			/* odd rounds sleep, even ones poll (politely) */
			while (aio_error(&cb[i]) == EINPROGRESS) {
				if (it & 1)
					aio_suspend(l, QD, NULL);
				else
					sched_yield();
			}
			if (aio_return(&cb[i]) != SZ)
				bad++;
			else if ((unsigned char)buf[i][5] !=
				 aiot_pat(cb[i].aio_offset + 5))
				bad++;
		}
		if (it % 20 == 0) {	/* one that really waits */
			char c;

			aiot_cb(&cb[0], p[0], &c, 1, 0);
			if (aio_read(&cb[0]) || write(p[1], "t", 1) != 1)
				return (void *)3L;
			if (aiot_wait(&cb[0], 10) || aio_return(&cb[0]) != 1)
				bad++;
		}
	}
	return (void *)bad;
}

TEST(threads_share_the_engine)
{
	pthread_t t[NT];
	void *r;
	long i;

	shared_fd = aiot_file(70000);
	ASSERT_GE(shared_fd, 0);
	for (i = 0; i < NT; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (i = 0; i < NT; i++) {
		ASSERT_EQ(pthread_join(t[i], &r), 0);
		EXPECT_EQ((long)r, 0);
	}
}

static void *lio_worker(void *arg)
{
	char buf[QD][SZ];
	struct aiocb cb[QD];
	struct aiocb *l[QD];
	int it, i;

	(void)arg;
	for (it = 0; it < ITERS / 3; it++) {
		for (i = 0; i < QD; i++) {
			aiot_cb(&cb[i], shared_fd, buf[i], SZ, i * SZ);
			cb[i].aio_lio_opcode = LIO_READ;
			l[i] = &cb[i];
		}
		if (lio_listio(LIO_WAIT, l, QD, NULL))
			return (void *)1L;
		for (i = 0; i < QD; i++)
			if (aio_return(&cb[i]) != SZ)
				return (void *)2L;
	}
	return NULL;
}

TEST(threads_lio_wait)
{
	pthread_t t[NT];
	void *r;
	long i;

	shared_fd = aiot_file(70000);
	for (i = 0; i < NT; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, lio_worker, NULL), 0);
	for (i = 0; i < NT; i++) {
		ASSERT_EQ(pthread_join(t[i], &r), 0);
		EXPECT_EQ((long)r, 0);
	}
}

TAP_MAIN
