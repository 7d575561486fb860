// SPDX-License-Identifier: GPL-2.0
/*
 * Posting completions when many async threads finish at once (written
 * while looking into issue 16, part 2: the engine under host CPU
 * contention).  Dozens of threads post into one small ring at the same
 * moment, with the overflow list in use, with chains that complete in
 * their caller posting beside them, and with a waiter asleep on the ring;
 * every completion must arrive exactly once and wake the waiter (a
 * completion left behind would time the wait out).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "tap.h"
#include "sys.h"

enum { NCHAINS = 64, ROUNDS = 40 };

struct blocked {
	struct syslet_atom a;
	int fds[2];
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
};

/*
 * A chain that blocks in read() of its own pipe until the byte comes;
 * returns async_exec()'s result.
 */
static long block_on_pipe(struct blocked *b, struct syslet_ring *r, uint64_t ud)
{
	if (pipe2(b->fds, O_CLOEXEC))
		return -1000 - errno;
	b->fd = b->fds[0];
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	atom_init(&b->a, SYSLET_ASYNC, SYS_read, &b->ret, &b->fd, &b->buf,
		  &b->len, NULL);
	b->a.user_data = ud;
	return async_exec(&b->a, r, NULL, 0);
}

struct release {
	struct blocked *b;
	int from, to;
};

/* writes the byte that ends each chain's read, as fast as it can */
static void *release_range(void *arg)
{
	struct release *rl = arg;

	for (int i = rl->from; i < rl->to; i++)
		if (write(rl->b[i].fds[1], "x", 1) != 1)
			_exit(1);
	return NULL;
}

static atomic_int sync_stop;
static atomic_int sync_posted;
static atomic_long sync_error;
static atomic_int sync_reaped;

/*
 * Chains that complete in the caller and post to the same ring
 * (pass-on-block mode: getpid() never sleeps, so each completes in
 * async_exec() and is posted there, or waits on the overflow list).
 */
static void *sync_poster(void *arg)
{
	struct syslet_ring *r = arg;

	while (!atomic_load(&sync_stop)) {
		struct syslet_atom a;
		long ret;

		/* a bounded backlog: max_chains would refuse more (EAGAIN) */
		if (atomic_load(&sync_posted) - atomic_load(&sync_reaped) > 256) {
			usleep(100);
			continue;
		}
		atom_init(&a, 0, SYS_getpid, NULL, NULL, NULL, NULL, NULL);
		a.user_data = 1000000 + atomic_load(&sync_posted);
		ret = async_exec(&a, r, NULL, 0);
		if (ret != SYSLET_DONE) {
			atomic_store(&sync_error, ret < 0 ? -errno : ret);
			break;
		}
		atomic_fetch_add(&sync_posted, 1);
	}
	return NULL;
}

static void close_all(struct blocked *b, int n)
{
	for (int i = 0; i < n; i++) {
		close(b[i].fds[0]);
		close(b[i].fds[1]);
	}
}

TEST(simultaneous_completions_lose_nothing)
{
	/* smaller than NCHAINS: the overflow list is in use as well */
	struct syslet_ring *r = ring_new(16);
	struct blocked *b = calloc(NCHAINS, sizeof(*b));
	int sync_seen = 0, overflowed = 0;
	pthread_t st;

	REQUIRE_SYSLET();
	ASSERT_TRUE(r && b);
	ASSERT_EQ(pthread_create(&st, NULL, sync_poster, r), 0);
	for (int round = 0; round < ROUNDS; round++) {
		unsigned char seen[NCHAINS] = { 0 };
		struct release rl[2] = {
			{ b, 0, NCHAINS / 2 }, { b, NCHAINS / 2, NCHAINS },
		};
		pthread_t t[2];
		int got = 0;

		for (int i = 0; i < NCHAINS; i++)
			ASSERT_EQ(block_on_pipe(&b[i], r, i), SYSLET_QUEUED);
		/* let the threads reach their reads */
		usleep(20000);
		for (int i = 0; i < 2; i++)
			ASSERT_EQ(pthread_create(&t[i], NULL, release_range, &rl[i]), 0);
		while (got < NCHAINS) {
			struct syslet_completion comp;
			struct timespec ts = { 20, 0 };

			if (__atomic_load_n(&r->kflags, __ATOMIC_ACQUIRE) &
			    SYSLET_RING_OVERFLOW)
				overflowed = 1;
			while (ring_pop(r, &comp)) {
				if (comp.user_data >= 1000000) {
					ASSERT_EQ(comp.status, getpid());
					sync_seen++;
					atomic_fetch_add(&sync_reaped, 1);
					continue;
				}
				ASSERT_LT(comp.user_data, NCHAINS);
				ASSERT_EQ(seen[comp.user_data], 0);
				ASSERT_EQ(comp.status, 1);
				seen[comp.user_data] = 1;
				got++;
			}
			/* a completion left behind would time this out */
			if (got < NCHAINS)
				ASSERT_GE(async_wait(r, 1, &ts), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		close_all(b, NCHAINS);
	}
	atomic_store(&sync_stop, 1);
	pthread_join(st, NULL);
	ASSERT_EQ(atomic_load(&sync_error), 0);
	/*
	 * The caller's chains not reaped yet: in the ring, or on the
	 * overflow list (async_wait() flushes it).
	 */
	while (sync_seen < atomic_load(&sync_posted)) {
		struct syslet_completion comp;
		struct timespec ts = { 5, 0 };

		while (ring_pop(r, &comp)) {
			ASSERT_GE(comp.user_data, 1000000);
			sync_seen++;
		}
		if (sync_seen < atomic_load(&sync_posted) &&
		    async_wait(r, 1, &ts) < 1)
			break;
	}
	ASSERT_EQ(sync_seen, atomic_load(&sync_posted));
	tap_diag("%d caller-side posts beside them; overflow list used: %s",
	     sync_seen, overflowed ? "yes" : "no");
	ASSERT_EQ(limits_now().nr_chains, 0);
	free(b);
}

TEST(a_waiter_is_woken_by_simultaneous_completions)
{
	struct syslet_ring *r = ring_new(128);
	struct blocked *b = calloc(NCHAINS, sizeof(*b));

	REQUIRE_SYSLET();
	ASSERT_TRUE(r && b);
	for (int round = 0; round < ROUNDS; round++) {
		struct release rl[2] = {
			{ b, 0, NCHAINS / 2 }, { b, NCHAINS / 2, NCHAINS },
		};
		struct timespec ts = { 20, 0 };
		struct syslet_completion comp;
		pthread_t t[2];
		long long t0;
		int got = 0;

		for (int i = 0; i < NCHAINS; i++)
			ASSERT_EQ(block_on_pipe(&b[i], r, i), SYSLET_QUEUED);
		usleep(20000);
		for (int i = 0; i < 2; i++)
			ASSERT_EQ(pthread_create(&t[i], NULL, release_range, &rl[i]), 0);
		/* one wait for all of them: only the last post can end it */
		t0 = now_ms();
		ASSERT_EQ(async_wait(r, NCHAINS, &ts), NCHAINS);
		ASSERT_LT(now_ms() - t0, 15000);
		while (ring_pop(r, &comp))
			got++;
		ASSERT_EQ(got, NCHAINS);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		close_all(b, NCHAINS);
	}
	ASSERT_EQ(limits_now().nr_chains, 0);
	free(b);
}

/*
 * A program reaps its ring's last completion, frees the ring, and its next
 * ring is allocated at the same address, while the kernel's side of the
 * old one is still alive (held here by a thread asleep in async_wait() on
 * it; in the wild, by the posting chain for the moment after its head's
 * store).  The new ring must start at its own head: the kernel went on at
 * the old ring's head, posted to slot 1 and set head 2 for one
 * completion, and async_wait() reported a completion that was not there
 * (found as an intermittent "completion did not come" in allowlist).
 */
static struct syslet_ring *reused;

static void *wait_on_reused(void *p)
{
	struct timespec ts = { 2, 0 };

	__atomic_store_n((pid_t *)p, sys_tid(), __ATOMIC_RELEASE);
	return (void *)async_wait(reused, 2, &ts);
}

static void ring_init_at(struct syslet_ring *r, unsigned int n)
{
	memset(r, 0, SYSLET_RING_BYTES(n));
	r->size = sizeof(*r);
	r->nr_entries = n;
}

/* @reused, an 8-entry ring, and a thread *@tid in async_wait() on it */
static int waiter_on_a_new_ring(pthread_t *t, pid_t *tid)
{
	int ret;

	reused = ring_new(8);
	ret = pthread_create(t, NULL, wait_on_reused, tid);
	while (!ret && !__atomic_load_n(tid, __ATOMIC_ACQUIRE))
		sched_yield();
	return ret;
}

TEST(a_new_ring_at_a_freed_rings_address_starts_at_its_own_head)
{
	struct timespec zero = { 0, 0 };
	struct syslet_completion comp;
	struct syslet_atom a;
	pthread_t t;
	pid_t tid = 0;
	void *wret;

	REQUIRE_SYSLET();
	ASSERT_EQ(waiter_on_a_new_ring(&t, &tid), 0);
	ASSERT_TRUE(sleeping(tid));

	atom_init(&a, 0, SYS_getpid, NULL, NULL, NULL, NULL, NULL);
	a.user_data = 1;
	ASSERT_EQ(async_exec(&a, reused, NULL, 0), SYSLET_DONE);
	ASSERT_TRUE(ring_pop(reused, &comp));
	ASSERT_EQ(comp.user_data, 1);

	/* "free" it; the next ring, of another size, comes at its address */
	ring_init_at(reused, 4);
	ASSERT_EQ(async_wait(reused, 1, &zero), -1);
	ASSERT_EQ(errno, ETIME);
	a.user_data = 2;
	ASSERT_EQ(async_exec(&a, reused, NULL, 0), SYSLET_DONE);
	ASSERT_EQ(__atomic_load_n(&reused->head, __ATOMIC_ACQUIRE), 1);
	ASSERT_EQ(SYSLET_RING_ENTRIES(reused)[0].user_data, 2);
	ASSERT_TRUE(ring_pop(reused, &comp));
	ASSERT_EQ(comp.user_data, 2);

	ASSERT_EQ(pthread_join(t, &wret), 0);
	ASSERT_EQ((long)wret, -1);		/* -ETIME: 1 of the 2 it wants */
	free(reused);
}

/*
 * The same with no completion posted to the old ring: both heads are 0.
 * The new ring has 2 entries where the old had 8: four completions
 * later, the kernel has written entries 0 and 1 and kept the other two
 * (overflow), and nothing past the end of the new ring.  Review 23
 * finding 1 (kio.c/ring.c): the old ring's size was kept, and entries 2
 * and 3, past the new ring, were written.
 */
TEST(a_smaller_ring_at_a_rings_address_with_the_same_head_is_not_overrun)
{
	struct syslet_completion *e;
	struct syslet_atom a;
	unsigned char *past;
	pthread_t t;
	pid_t tid = 0;
	void *wret;
	int touched = 0;

	REQUIRE_SYSLET();
	ASSERT_EQ(waiter_on_a_new_ring(&t, &tid), 0);
	ASSERT_TRUE(sleeping(tid));

	/* the waiter holds the old ring's kring: head 0, 8 entries */
	memset(reused, 0xaa, SYSLET_RING_BYTES(8));
	ring_init_at(reused, 2);
	e = SYSLET_RING_ENTRIES(reused);
	past = (unsigned char *)&e[2];
	memset(past, 0xaa, 6 * sizeof(*e));
	atom_init(&a, SYSLET_SYNC, SYS_getpid, NULL, NULL, NULL, NULL, NULL);
	for (int i = 0; i < 4; i++) {
		a.user_data = 10 + i;
		async_exec(&a, reused, NULL, 0);
	}
	for (size_t k = 0; k < 6 * sizeof(*e); k++)
		touched |= past[k] != 0xaa;
	tap_diag("head %u tail %u overflow %u", reused->head, reused->tail,
		 reused->overflow);
	EXPECT_EQ(touched, 0);
	EXPECT_EQ(__atomic_load_n(&reused->head, __ATOMIC_ACQUIRE), 2);
	EXPECT_EQ(e[0].user_data, 10);
	EXPECT_EQ(e[1].user_data, 11);

	ASSERT_EQ(pthread_join(t, &wret), 0);
	free(reused);
}

TAP_MAIN
