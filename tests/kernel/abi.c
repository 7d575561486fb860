// SPDX-License-Identifier: GPL-2.0
/*
 * ABI v1 (issue 19 item 1), as the kernel checks it: the ring's and the
 * limits' sizes the copy_struct_from_user() way (bigger with a zero tail:
 * accepted; a nonzero tail: E2BIG; smaller limits down to VER0: defaults),
 * the ring's entries at the header's size, reserved words of atoms that
 * must be zero, flags on async_wait() and async_limits(), and the system
 * call numbers of <linux/syslet.h>.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "sys.h"
#include "tap.h"

static long xexec(void *atom, struct syslet_ring *r,
		  struct syslet_completion *done, unsigned int flags)
{
	long ret = async_exec(atom, r, done, flags);

	return ret < 0 ? -errno : ret;
}

/* a ring of 4 entries with a header of @size bytes, in a zeroed page */
static struct syslet_ring *ring_sized(uint32_t size)
{
	struct syslet_ring *r = aligned_alloc(4096, 2 * 4096);

	memset(r, 0, 2 * 4096);
	r->size = size;
	r->nr_entries = 4;
	return r;
}

static const unsigned char *bytes(const void *p)
{
	return (const unsigned char *)p;
}

static int all_zero(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bytes(p)[i])
			return 0;
	return 1;
}

TEST(the_engine_answers_at_the_headers_numbers)
{
	struct syslet_limits l;

	REQUIRE_SYSLET();
	memset(&l, 0xa5, sizeof(l));
	l.size = sizeof(l);
	ASSERT_EQ(syscall(SYSLET_NR_ASYNC_LIMITS, NULL, &l, 0L, 0L, 0L, 0L), 0);
	ASSERT_EQ(l.size, sizeof(l));
	ASSERT_TRUE(l.max_threads && l.max_threads != 0xa5a5a5a5u);
	/* the numbers sys.h and libsyslet call are the header's */
	ASSERT_EQ(NR_async_exec, 500);
	ASSERT_EQ(NR_async_limits, 503);
}

/* before ABI v1: any size but sizeof(struct syslet_ring) was EINVAL */
TEST(a_bigger_ring_header_with_a_zero_tail_is_accepted)
{
	struct syslet_ring *r = ring_sized(256);
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = 0;

	REQUIRE_SYSLET();
	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	a.user_data = 7;
	ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_DONE);
	ASSERT_EQ(r->head, 1);
	/* posted at the header's size, nothing in the bytes before it */
	ASSERT_TRUE(all_zero((char *)r + sizeof(*r), 256 - sizeof(*r)));
	memcpy(&c, (char *)r + 256, sizeof(c));
	ASSERT_EQ(c.user_data, 7);
	ASSERT_EQ(c.status, getppid());
	ASSERT_TRUE(c.flags & SYSLET_COMP_SYNC);
	ASSERT_TRUE(ring_pop(r, &c) && c.user_data == 7);

	/* and a queued chain's completion, written by an async thread */
	a.flags = SYSLET_ASYNC;
	a.user_data = 8;
	ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	ASSERT_EQ(c.user_data, 8);
	ASSERT_EQ(c.status, getppid());
	ASSERT_TRUE(all_zero((char *)r + sizeof(*r), 256 - sizeof(*r)));
	/* async_wait() and async_cancel() take it too */
	ASSERT_EQ(async_wait(r, 0, NULL), 0);
	ASSERT_EQ(async_cancel(r, 99, 0), -1);
	ASSERT_EQ(errno, ENOENT);
}

TEST(a_ring_header_with_unknown_nonzero_bytes_is_e2big)
{
	struct syslet_ring *r = ring_sized(256);
	struct syslet_completion done = { 0 };
	struct timespec ts = { 0, 0 };
	struct syslet_atom a;
	int64_t ret = 12345;

	REQUIRE_SYSLET();
	((char *)r)[200] = 1;
	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	ASSERT_EQ(xexec(&a, r, NULL, 0), -E2BIG);
	ASSERT_EQ(ret, 12345);				/* did not run */
	ASSERT_EQ(xexec(NULL, r, &done, SYSLET_EXEC_POST), -E2BIG);
	ASSERT_EQ(async_wait(r, 0, &ts), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT_EQ(async_cancel(r, 1, 0), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT_EQ(r->head, 0);
}

TEST(ring_header_sizes_outside_abi_v1_are_refused)
{
	static const struct { uint32_t size; int err; } cases[] = {
		{ 0, EINVAL }, { 128, EINVAL },		/* below VER0 */
		{ 200, EINVAL }, { 196, EINVAL },	/* not whole lines */
		{ 8192, E2BIG }, { 4096 + 64, E2BIG },	/* over the max */
	};
	struct syslet_atom a;
	int64_t ret = 12345;

	REQUIRE_SYSLET();
	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct syslet_ring *r = ring_sized(cases[i].size);

		if (xexec(&a, r, NULL, 0) != -cases[i].err)
			tap_diag("size %u: want -%d", cases[i].size,
				 cases[i].err);
		ASSERT_EQ(xexec(&a, r, NULL, 0), -cases[i].err);
		free(r);
	}
	ASSERT_EQ(ret, 12345);
	/* the largest header: the entries on the next page */
	{
		struct syslet_ring *r = ring_sized(4096);
		struct syslet_completion c;

		ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_DONE);
		memcpy(&c, (char *)r + 4096, sizeof(c));
		ASSERT_EQ(c.status, getppid());
	}
}

/* before ABI v1 there were no reserved words: 80-byte atoms */
TEST(an_atom_with_a_nonzero_reserved_word_does_not_run)
{
	static const uint32_t modes[] = { SYSLET_SYNC, 0, SYSLET_ASYNC };
	struct syslet_ring *r = ring_new(8);

	REQUIRE_SYSLET();
	for (unsigned int m = 0; m < 3; m++) {
		struct syslet_completion c;
		struct syslet_atom a[2];
		int64_t ret[2] = { 12345, 12345 };

		/* the head: refused before anything runs */
		atom_init(&a[0], modes[m], SYS_getppid, &ret[0], NULL, NULL,
			  NULL, NULL);
		a[0].__reserved[1] = 1;
		ASSERT_EQ(xexec(&a[0], r, NULL, 0), -EINVAL);
		ASSERT_EQ(ret[0], 12345);
		a[0].__reserved[1] = 0;

		/* a later one: the chain ends there, with -EINVAL */
		atom_init(&a[1], 0, SYS_getpid, &ret[1], NULL, NULL, NULL,
			  NULL);
		a[1].__reserved[0] = 1ULL << 63;
		a[0].next = (uintptr_t)&a[1];
		a[0].user_data = 40 + m;
		ASSERT_GE(xexec(&a[0], r, NULL, 0), 0);
		ASSERT_TRUE(ring_get(r, &c));
		ASSERT_EQ(c.user_data, 40 + m);
		ASSERT_EQ(c.status, -EINVAL);
		ASSERT_EQ(c.nr_atoms, 1);
		ASSERT_EQ(c.atom, (uintptr_t)&a[1]);
		ASSERT_EQ(ret[0], getppid());
		ASSERT_EQ(ret[1], 12345);			/* did not run */
	}
}

/*
 * before ABI v1, async_wait() had five arguments and no flags; since,
 * SYSLET_WAIT_RESTART (untimed or absolute, not with a sigmask),
 * SYSLET_WAIT_HEAD, SYSLET_WAIT_RESTART_SIGMASK (untimed or absolute) and
 * SYSLET_WAIT_ABSTIME are the flags
 */
TEST(async_wait_refuses_unknown_flags)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec ts = { 0, 0 };
	sigset_t mask;

	REQUIRE_SYSLET();
	sigemptyset(&mask);
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 8, 0x10), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 8, 0x80000000u), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_pwait(r, 0, NULL, &mask, 8, SYSLET_WAIT_RESTART), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 0, SYSLET_WAIT_RESTART), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_pwait(r, 0, &ts, &mask, 8,
			      SYSLET_WAIT_RESTART_SIGMASK), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 8, 0), 0);
	ASSERT_EQ(async_pwait(r, 0, NULL, NULL, 0, SYSLET_WAIT_RESTART), 0);
	ASSERT_EQ(async_pwait(r, 0, NULL, &mask, 8,
			      SYSLET_WAIT_RESTART_SIGMASK), 0);
	ASSERT_EQ(async_pwait(r, 0, NULL, NULL, 0,
			      SYSLET_WAIT_RESTART_SIGMASK), 0);
	/*
	 * an absolute deadline (0: long past, so -ETIME: the timeout is
	 * read) may be restarted; it needs a time
	 */
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, SYSLET_WAIT_ABSTIME), -1);
	ASSERT_EQ(errno, ETIME);
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, SYSLET_WAIT_ABSTIME |
			      SYSLET_WAIT_RESTART), -1);
	ASSERT_EQ(errno, ETIME);
	ASSERT_EQ(async_pwait(r, 1, &ts, &mask, 8, SYSLET_WAIT_ABSTIME |
			      SYSLET_WAIT_RESTART_SIGMASK), -1);
	ASSERT_EQ(errno, ETIME);
	ASSERT_EQ(async_pwait(r, 0, NULL, &mask, 8, SYSLET_WAIT_ABSTIME), -1);
	ASSERT_EQ(errno, EINVAL);
	/* still no sigmask with SYSLET_WAIT_RESTART */
	ASSERT_EQ(async_pwait(r, 0, &ts, &mask, 8, SYSLET_WAIT_ABSTIME |
			      SYSLET_WAIT_RESTART), -1);
	ASSERT_EQ(errno, EINVAL);
	ts.tv_nsec = 1000 * 1000 * 1000;
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 8, SYSLET_WAIT_ABSTIME), -1);
	ASSERT_EQ(errno, EINVAL);
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	ASSERT_EQ(async_pwait(r, 0, &ts, NULL, 8, SYSLET_WAIT_ABSTIME), -1);
	ASSERT_EQ(errno, EINVAL);
}

/*
 * SYSLET_WAIT_HEAD: min_complete is a value of the ring's head, not a
 * count (so not capped at the ring's size).  The ring's own head waits
 * (here until the timeout); once a completion was posted, the old head
 * returns at once with what is ready: 1, and 0 after it was consumed (a
 * count of 1 would wait again).
 */
TEST(async_wait_head_waits_for_the_ring_head_to_move)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec ts = { 0, 50000000 };
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = 0;
	uint32_t head;

	REQUIRE_SYSLET();
	head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	ASSERT_EQ(async_pwait(r, head, &ts, NULL, 8, SYSLET_WAIT_HEAD), -1);
	ASSERT_EQ(errno, ETIME);
	atom_init(&a, 0, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	ASSERT_GE(async_exec(&a, r, NULL, 0), 0);
	ASSERT_EQ(async_pwait(r, head, &ts, NULL, 8, SYSLET_WAIT_HEAD), 1);
	ASSERT_EQ(ring_pop(r, &c), 1);
	EXPECT_EQ(c.status, getppid());
	ASSERT_EQ(async_pwait(r, head, NULL, NULL, 8,
			      SYSLET_WAIT_HEAD | SYSLET_WAIT_RESTART), 0);
	ASSERT_EQ(async_pwait(r, head + 1000, &ts, NULL, 8, SYSLET_WAIT_HEAD),
		  0);
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, 0), -1);
	ASSERT_EQ(errno, ETIME);
}

/* before ABI v1, async_limits() had two arguments and no flags */
TEST(async_limits_refuses_unknown_flags)
{
	struct syslet_limits set = { .size = sizeof(set), .max_chains = 77 };

	REQUIRE_SYSLET();
	ASSERT_EQ(async_limits_flags(&set, NULL, 1), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(async_limits_flags(NULL, NULL, 0x100), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_NE(limits_now().max_chains, 77);		/* nothing set */
	ASSERT_EQ(async_limits_flags(&set, NULL, 0), 0);
	ASSERT_EQ(limits_now().max_chains, 77);
}

/* before ABI v1, a size other than sizeof was EINVAL */
TEST(a_smaller_limits_struct_gets_defaults_and_only_its_bytes)
{
	unsigned char buf[64];
	struct syslet_limits *l = (struct syslet_limits *)buf;
	struct syslet_limits old = limits_now();

	REQUIRE_SYSLET();
	/* set: the three limits alone (VER0, 16 bytes) */
	memset(buf, 0, sizeof(buf));
	l->size = SYSLET_LIMITS_SIZE_VER0;
	l->max_chains = 77;
	buf[20] = 0xff;		/* past the struct it says: not read */
	ASSERT_EQ(async_limits(l, NULL), 0);
	ASSERT_EQ(limits_now().max_chains, 77);
	ASSERT_EQ(limits_now().max_threads, old.max_threads);

	/* get: 24 bytes written, no more; size says what both know */
	memset(buf, 0xa5, sizeof(buf));
	l->size = 24;
	ASSERT_EQ(async_limits(NULL, l), 0);
	ASSERT_EQ(l->size, 24);
	ASSERT_EQ(l->max_chains, 77);
	ASSERT_EQ(l->max_threads, old.max_threads);
	ASSERT_NE(l->nr_idle, 0xa5a5a5a5u);
	for (unsigned int i = 24; i < sizeof(buf); i++)
		ASSERT_EQ(buf[i], 0xa5);

	/* below VER0, or not whole u64s: EINVAL */
	memset(buf, 0, sizeof(buf));
	l->size = 8;
	ASSERT_EQ(async_limits(l, NULL), -1);
	ASSERT_EQ(errno, EINVAL);
	l->size = 20;
	ASSERT_EQ(async_limits(NULL, l), -1);
	ASSERT_EQ(errno, EINVAL);
}

TEST(a_bigger_limits_struct_needs_a_zero_tail)
{
	unsigned char buf[128];
	struct syslet_limits *l = (struct syslet_limits *)buf;

	REQUIRE_SYSLET();
	memset(buf, 0, sizeof(buf));
	l->size = sizeof(buf);
	l->max_chains = 66;
	ASSERT_EQ(async_limits(l, NULL), 0);
	ASSERT_EQ(limits_now().max_chains, 66);
	buf[100] = 1;
	l->max_chains = 55;
	ASSERT_EQ(async_limits(l, NULL), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT_EQ(limits_now().max_chains, 66);

	/* get: this struct's bytes, zeroes past them, size this struct's */
	memset(buf, 0xa5, sizeof(buf));
	l->size = sizeof(buf);
	ASSERT_EQ(async_limits(NULL, l), 0);
	ASSERT_EQ(l->size, sizeof(struct syslet_limits));
	ASSERT_EQ(l->max_chains, 66);
	ASSERT_EQ(l->__reserved, 0);
	ASSERT_TRUE(all_zero(buf + sizeof(*l), sizeof(buf) - sizeof(*l)));
}

/* before ABI v1, the reserved words of a 'set' were ignored */
TEST(limits_reserved_words_must_be_zero)
{
	struct syslet_limits l;

	REQUIRE_SYSLET();
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.max_chains = 44;
	l.__reserved = 1;
	ASSERT_EQ(async_limits(&l, NULL), -1);
	ASSERT_EQ(errno, EINVAL);
	l.__reserved = 0;
	l.__reserved2[2] = 1;
	ASSERT_EQ(async_limits(&l, NULL), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_NE(limits_now().max_chains, 44);
	/* the counters of a struct read back are ignored, as before */
	l = limits_now();
	l.nr_chains = 1234;
	l.chains_done = 99;
	ASSERT_EQ(async_limits(&l, NULL), 0);
}

TAP_MAIN
