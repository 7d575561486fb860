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

/* --- item 5: every path to the overflow list is bounded --------------- */

TEST(post_flood_on_a_full_ring_is_bounded_by_max_chains)
{
	struct syslet_ring *r = ring_new(1);
	struct syslet_completion done = { 0 }, comp;
	long ok = 0, refused = 0, ret;

	REQUIRE_SYSLET();
	sys_set_limits(0, 0, 64);
	for (int i = 0; i < 10000; i++) {
		done.status = i;
		done.user_data = i;
		ret = xexec(NULL, r, &done, SYSLET_EXEC_POST);
		if (ret == SYSLET_DONE)
			ok++;
		else if (ret == -EAGAIN)
			refused++;
		else
			ASSERT_EQ(ret, SYSLET_DONE);
	}
	tap_diag("%ld posted, %ld refused; nr_chains %u", ok, refused,
		 limits_now().nr_chains);
	/* one in the ring, max_chains waiting in the kernel */
	ASSERT_LE(limits_now().nr_chains, 64);
	ASSERT_EQ(ok, 65);
	ASSERT_EQ(r->overflow, 64);
	/* none lost, in order */
	for (long i = 0; i < ok; i++) {
		ASSERT_TRUE(ring_get(r, &comp));
		ASSERT_EQ(comp.user_data, (uint64_t)i);
	}
	ASSERT_EQ(limits_now().nr_chains, 0);
	ASSERT_EQ(r->kflags, 0);
}

struct parker {
	_Atomic pid_t tid;
	long ret;
};

static void *park(void *arg)
{
	struct parker *p = arg;

	p->tid = sys_tid();
	p->ret = xexec(NULL, NULL, NULL, SYSLET_EXEC_SPARE);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

TEST(threadlet_end_flood_on_a_full_ring_is_bounded_by_max_chains)
{
	struct syslet_ring *r = ring_new(1);
	struct syslet_completion done, comp;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct parker p = { 0 };
	long ok = 0, refused = 0, begin, end;
	pthread_t t;

	REQUIRE_SYSLET();
	sys_set_limits(0, 60000, 64);
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ASSERT_EQ(pthread_create(&t, NULL, park, &p), 0);
	while (!p.tid)
		;
	ASSERT_TRUE(sleeping(p.tid));
	for (int i = 0; i < 5000; i++) {
		memset(&done, 0, sizeof(done));
		done.user_data = i;
		done.flags = 1;
		begin = xexec(NULL, NULL, NULL, SYSLET_EXEC_THREADLET);
		if (begin == -EAGAIN) {
			refused++;
			continue;
		}
		end = xexec(NULL, r, &done, SYSLET_EXEC_THREADLET_END);
		ASSERT_EQ(begin, 0);
		if (end == SYSLET_DONE)
			ok++;
		else if (end == -EAGAIN)
			refused++;
		else
			ASSERT_EQ(end, SYSLET_DONE);
		ASSERT_EQ(done.flags, 0);
	}
	tap_diag("%ld posted, %ld refused; nr_chains %u", ok, refused,
		 limits_now().nr_chains);
	ASSERT_LE(limits_now().nr_chains, 64);
	ASSERT_EQ(ok, 65);
	for (long i = 0; i < ok; i++) {
		ASSERT_TRUE(ring_get(r, &comp));
		ASSERT_EQ(comp.user_data, (uint64_t)i);
	}
	ASSERT_EQ(limits_now().nr_chains, 0);
	ASSERT_EQ(pthread_kill(t, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(p.ret, -EINTR);
}

/* --- item 12b: a completion is kept once an atom ran ------------------ */

/* a ring in pages of its own, so that it can be made read-only */
static struct syslet_ring *ring_mmap(unsigned int n, size_t *len)
{
	struct syslet_ring *r;

	*len = (SYSLET_RING_BYTES(n) + 4095) & ~4095UL;
	r = mmap(NULL, *len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		_exit(4);
	r->size = sizeof(*r);
	r->nr_entries = n;
	return r;
}

TEST(default_chain_with_a_read_only_ring_keeps_its_completion)
{
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = -12345;
	size_t len;
	struct syslet_ring *r = ring_mmap(4, &len);
	struct timespec ts = { 5, 0 };

	REQUIRE_SYSLET();
	atom_init(&a, 0, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	a.user_data = 99;
	ASSERT_EQ(mprotect(r, len, PROT_READ), 0);
	/* the atom runs; its ret_ptr is writable, the ring is not */
	ASSERT_GE(xexec(&a, r, NULL, 0), 0);
	ASSERT_EQ(ret, getppid());
	ASSERT_EQ(mprotect(r, len, PROT_READ | PROT_WRITE), 0);
	/* the completion is delivered once the ring can take it */
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, 0), 1);
	ASSERT_TRUE(ring_pop(r, &comp));
	ASSERT_EQ(comp.user_data, 99);
	ASSERT_EQ(comp.status, getppid());
	ASSERT_EQ(comp.nr_atoms, 1);
	ASSERT_EQ(limits_now().nr_chains, 0);
}

/*
 * A SYSLET_SYNC chain that posts to its ring keeps its completion on the
 * overflow list when the ring cannot take it, as a default-mode chain's
 * is kept: before, async_exec() returned -EOVERFLOW after the atom ran
 * and the completion was lost (issue 21 defect 8, in the kernel too).
 */
TEST(sync_chain_with_a_read_only_ring_keeps_its_completion)
{
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = -12345;
	size_t len;
	struct syslet_ring *r = ring_mmap(4, &len);
	struct timespec ts = { 5, 0 };

	REQUIRE_SYSLET();
	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	a.user_data = 98;
	ASSERT_EQ(mprotect(r, len, PROT_READ), 0);
	ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_DONE);
	ASSERT_EQ(ret, getppid());
	/* on the overflow list, in flight */
	EXPECT_EQ(limits_now().nr_chains, 1);
	ASSERT_EQ(mprotect(r, len, PROT_READ | PROT_WRITE), 0);
	ASSERT_EQ(async_pwait(r, 1, &ts, NULL, 8, 0), 1);
	ASSERT_TRUE(ring_pop(r, &comp));
	EXPECT_EQ(comp.user_data, 98);
	EXPECT_EQ(comp.status, getppid());
	EXPECT_EQ(comp.nr_atoms, 1);
	EXPECT_EQ(comp.atom, (uintptr_t)&a);
	EXPECT_TRUE(comp.flags & SYSLET_COMP_SYNC);
	EXPECT_FALSE(ring_pop(r, &comp));
	ASSERT_EQ(limits_now().nr_chains, 0);
}

TEST(sync_chains_into_a_full_ring_keep_their_completions_in_order)
{
	enum { N = 2, MORE = 3 };
	struct syslet_ring *r = ring_new(N);
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret;

	REQUIRE_SYSLET();
	atom_init(&a, SYSLET_SYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	for (int i = 0; i < N + MORE; i++) {
		ret = -12345;
		a.user_data = i;
		ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_DONE);
		ASSERT_EQ(ret, getpid());
	}
	/* the ring holds N, the kernel the rest, and says so */
	EXPECT_EQ(r->head - r->tail, N);
	EXPECT_TRUE(r->kflags & SYSLET_RING_OVERFLOW);
	EXPECT_EQ(r->overflow, MORE);
	EXPECT_EQ(limits_now().nr_chains, MORE);
	for (int i = 0; i < N + MORE; i++) {
		ASSERT_TRUE(ring_get(r, &comp));
		ASSERT_EQ(comp.user_data, i);
		EXPECT_EQ(comp.status, getpid());
		EXPECT_TRUE(comp.flags & SYSLET_COMP_SYNC);
	}
	EXPECT_FALSE(ring_pop(r, &comp));
	EXPECT_EQ(r->overflow, 0);
	ASSERT_EQ(limits_now().nr_chains, 0);
}

/*
 * That place on the overflow list is one of max_chains, taken before the
 * chain runs: at the limit a SYNC chain to a ring is refused (-EAGAIN,
 * nothing ran); with @done it needs none and runs.
 */
TEST(sync_chain_to_a_ring_at_max_chains_is_refused_before_it_runs)
{
	struct syslet_ring *r = ring_new(1);
	struct syslet_completion comp, done;
	struct syslet_atom a;
	int64_t ret;

	REQUIRE_SYSLET();
	sys_set_limits(0, 0, 1);
	atom_init(&a, SYSLET_SYNC, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	/* the first fills the ring, the second waits in the kernel */
	for (int i = 0; i < 2; i++) {
		a.user_data = i;
		ASSERT_EQ(xexec(&a, r, NULL, 0), SYSLET_DONE);
	}
	ASSERT_EQ(limits_now().nr_chains, 1);
	ret = -12345;
	a.user_data = 2;
	ASSERT_EQ(xexec(&a, r, NULL, 0), -EAGAIN);
	ASSERT_EQ(ret, -12345);
	ASSERT_EQ(xexec(&a, r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(ret, getpid());
	ASSERT_EQ(done.user_data, 2);
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(ring_get(r, &comp));
		ASSERT_EQ(comp.user_data, i);
	}
	EXPECT_FALSE(ring_pop(r, &comp));
	ASSERT_EQ(limits_now().nr_chains, 0);
}

TEST(unwritable_done_is_refused_before_anything_runs)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_atom a;
	int64_t ret = -12345;
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);

	REQUIRE_SYSLET();
	ASSERT_TRUE(ro != MAP_FAILED);
	atom_init(&a, SYSLET_SYNC, SYS_getppid, &ret, NULL, NULL, NULL, NULL);
	ASSERT_EQ(xexec(&a, r, ro, 0), -EFAULT);
	ASSERT_EQ(ret, -12345);
	a.flags = 0;
	ASSERT_EQ(xexec(&a, r, ro, 0), -EFAULT);
	ASSERT_EQ(ret, -12345);
	ASSERT_EQ(r->head, 0);
}

/* --- item 12c: every call checks the ring header --------------------- */

TEST(cancel_checks_the_ring_header_like_exec)
{
	struct syslet_ring *r = ring_new(4), *bad;
	struct syslet_completion comp = { 0 };
	struct syslet_limits l;
	struct timespec ts = { 0, 0 };
	char *raw = aligned_alloc(64, 4096);
	void *gone;

	REQUIRE_SYSLET();
	memset(raw, 0, 4096);
	/* misaligned */
	bad = (struct syslet_ring *)(raw + 8);
	bad->size = sizeof(*bad);
	bad->nr_entries = 4;
	ASSERT_EQ(async_cancel(bad, 1, 0), -1);
	ASSERT_EQ(errno, EINVAL);
	/* nr_entries not a power of two */
	bad = (struct syslet_ring *)raw;
	memset(raw, 0, 4096);
	bad->size = sizeof(*bad);
	bad->nr_entries = 3;
	ASSERT_EQ(async_cancel(bad, 1, 0), -1);
	ASSERT_EQ(errno, EINVAL);
	/* unmapped */
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(gone != MAP_FAILED);
	ASSERT_EQ(munmap(gone, 4096), 0);
	ASSERT_EQ(async_cancel(gone, 1, 0), -1);
	ASSERT_EQ(errno, EFAULT);
	/* a good ring with nothing in flight: ENOENT, and NULL is a ring */
	ASSERT_EQ(async_cancel(r, 1, 0), -1);
	ASSERT_EQ(errno, ENOENT);
	ASSERT_EQ(async_cancel(NULL, 1, 0), -1);
	ASSERT_EQ(errno, ENOENT);

	/* nonzero reserved words in the header: refused by every call */
	for (int line = 0; line < 3; line++) {
		struct syslet_ring *p = ring_new(4);
		struct syslet_atom a;

		if (line == 0)
			p->__kpad[5] = 1;
		else if (line == 1)
			p->__upad[3] = 1;
		else
			p->__rpad[12] = 1;
		atom_init(&a, SYSLET_SYNC, SYS_getppid, NULL, NULL, NULL, NULL,
			  NULL);
		ASSERT_EQ(xexec(&a, p, NULL, 0), -EINVAL);
		ASSERT_EQ(xexec(NULL, p, &comp, SYSLET_EXEC_POST), -EINVAL);
		ASSERT_EQ(async_pwait(p, 0, &ts, NULL, 8, 0), -1);
		ASSERT_EQ(errno, EINVAL);
		ASSERT_EQ(async_cancel(p, 1, 0), -1);
		ASSERT_EQ(errno, EINVAL);
		ASSERT_EQ(p->head, 0);
	}
	/*
	 * Each reserved word, with its low bit or its high bit set, is
	 * seen: the check is an OR of 64-bit words (ring.c), which must miss
	 * none, nor either half of one.
	 */
	{
		struct syslet_ring *p = ring_new(4);
		uint32_t *line[3] = { p->__kpad, p->__upad, p->__rpad };
		size_t words[3] = {
			sizeof(p->__kpad) / sizeof(p->__kpad[0]),
			sizeof(p->__upad) / sizeof(p->__upad[0]),
			sizeof(p->__rpad) / sizeof(p->__rpad[0]),
		};
		struct syslet_atom a;

		atom_init(&a, SYSLET_SYNC, SYS_getppid, NULL, NULL, NULL, NULL,
			  NULL);
		for (int l = 0; l < 3; l++)
			for (size_t w = 0; w < words[l]; w++)
				for (int bit = 0; bit < 32; bit += 31) {
					line[l][w] = 1u << bit;
					ASSERT_EQ(xexec(&a, p, &comp, 0),
						  -EINVAL);
					line[l][w] = 0;
				}
		ASSERT_EQ(xexec(&a, p, &comp, 0), SYSLET_DONE);
	}

	/* async_limits() checks get->size as it checks set->size */
	memset(&l, 0, sizeof(l));
	ASSERT_EQ(async_limits(NULL, &l), -1);
	ASSERT_EQ(errno, EINVAL);
	l.size = SYSLET_LIMITS_SIZE_MAX + 8;	/* ABI v1: bigger is E2BIG */
	ASSERT_EQ(async_limits(NULL, &l), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT_EQ(async_limits(NULL, gone), -1);
	ASSERT_EQ(errno, EFAULT);
	l.size = sizeof(l);
	ASSERT_EQ(async_limits(NULL, &l), 0);
	ASSERT_EQ(l.size, sizeof(l));
}

/* --- item 12a: hand-offs from other threads after the leader's ------- */

struct late_writer {
	int fd;
	int ms;
};

static void *write_later(void *arg)
{
	struct late_writer *w = arg;

	usleep((useconds_t)w->ms * 1000);
	if (write(w->fd, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

struct second {
	struct syslet_ring *r;
	long ret;
	long long ms;
	pid_t tid_before, tid_after;
};

static void *second_thread(void *arg)
{
	struct second *s = arg;
	struct late_writer w = { .ms = 3000 };
	long long t0;
	pthread_t t;
	struct rd b;
	int fds[2];

	if (pipe(fds))
		return (void *)1;
	w.fd = fds[1];
	rd_init(&b, fds[0], 0, 2);
	/* in case it blocks here (the bug), it is let go after 3 s */
	pthread_create(&t, NULL, write_later, &w);
	s->tid_before = sys_tid();
	t0 = now_ms();
	s->ret = xexec(&b.a, s->r, NULL, 0);
	s->ms = now_ms() - t0;
	s->tid_after = sys_tid();
	pthread_join(t, NULL);
	return NULL;
}

TEST(other_threads_hand_off_after_the_leader_did)
{
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion comp;
	struct late_writer w = { .ms = 300 };
	struct second s = { .r = r };
	pthread_t t, wt;
	struct rd b;
	int fds[2];

	REQUIRE_SYSLET();
	ASSERT_EQ(getpid(), sys_tid());	/* the leader */
	ASSERT_EQ(pipe(fds), 0);
	rd_init(&b, fds[0], 0, 1);
	w.fd = fds[1];
	ASSERT_EQ(pthread_create(&wt, NULL, write_later, &w), 0);
	ASSERT_EQ(xexec(&b.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.status, 1);
	ASSERT_EQ(pthread_join(wt, NULL), 0);
	/* the leader's old task is idle now, and may not take this one */
	ASSERT_EQ(pthread_create(&t, NULL, second_thread, &s), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	tap_diag("second thread: async_exec() = %ld after %lld ms", s.ret,
		 s.ms);
	ASSERT_EQ(s.ret, SYSLET_QUEUED);
	ASSERT_LT(s.ms, 2000);
	ASSERT_EQ(s.tid_after, s.tid_before);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.user_data, 2);
	ASSERT_EQ(comp.status, 1);
}

/* --- item 2: calls that install a temporary signal mask --------------- */

static _Atomic int usr1_count;

static void count_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static int usr1_blocked(void)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, SIGUSR1);
}

static void block_usr1(int restart)
{
	struct sigaction sa = { .sa_handler = count_usr1 };
	sigset_t set;

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* a ppoll() atom on @fd (POLLIN), no timeout unless @ts, mask @mask */
struct pp {
	struct syslet_atom a;
	int64_t ret;
	struct pollfd pfd;
	uint64_t fds, nfds, tsp, maskp, setsize;
};

static void pp_init(struct pp *p, int fd, struct timespec *ts,
		    sigset_t *mask, uint32_t flags)
{
	memset(p, 0, sizeof(*p));
	p->pfd.fd = fd;
	p->pfd.events = POLLIN;
	p->fds = (uintptr_t)&p->pfd;
	p->nfds = 1;
	p->tsp = (uintptr_t)ts;
	p->maskp = (uintptr_t)mask;
	p->setsize = 8;
	p->ret = -12345;
	atom_init(&p->a, flags, SYS_ppoll, &p->ret, &p->fds, &p->nfds,
		  &p->tsp, &p->maskp);
	p->a.arg_ptr[4] = (uintptr_t)&p->setsize;
}

struct later {
	pid_t tid;
	int sig_ms, fd, write_ms;
};

/* tgkill(@tid, SIGUSR1) after @sig_ms (if set); write @fd after @write_ms */
static void *later(void *arg)
{
	struct later *l = arg;

	if (l->sig_ms) {
		usleep((useconds_t)l->sig_ms * 1000);
		syscall(SYS_tgkill, getpid(), l->tid, SIGUSR1);
	}
	if (l->write_ms) {
		usleep((useconds_t)(l->write_ms - l->sig_ms) * 1000);
		if (write(l->fd, "x", 1) != 1)
			return (void *)1;
	}
	return NULL;
}

/* 1 if every async thread blocks every signal but SIGKILL and SIGSTOP */
static int async_threads_blocking_all(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0, ok = 1;

	while (d && (e = readdir(d))) {
		char path[300], line[128], comm[32] = "";
		unsigned long long blk = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, "syslet-", 7))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		if (f)
			fclose(f);
		n++;
		if (blk != ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1))))
			ok = 0;
	}
	if (d)
		closedir(d);
	return n && ok;
}

TEST(ppoll_in_the_default_mode_keeps_the_callers_mask)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct later l = { .write_ms = 500 };
	sigset_t empty;
	struct pp p;
	pthread_t t;
	long ret;
	int fds[2];

	REQUIRE_SYSLET();
	block_usr1(0);
	sigemptyset(&empty);
	ASSERT_EQ(pipe(fds), 0);
	l.fd = fds[1];
	pp_init(&p, fds[0], NULL, &empty, 0);
	ASSERT_EQ(pthread_create(&t, NULL, later, &l), 0);
	ret = xexec(&p.a, r, NULL, 0);
	tap_diag("async_exec() = %ld", ret);
	/* the temporary mask of ppoll() must not stay with the context */
	ASSERT_TRUE(usr1_blocked());
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_TRUE(ret == SYSLET_DONE || ret == SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.status, 1);
	ASSERT_TRUE(usr1_blocked());
}

TEST(interrupted_ppoll_in_an_async_thread_leaves_the_signal_to_the_process)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct timespec ts = { 20, 0 };
	sigset_t empty, none;
	struct pp p;
	int fds[2];

	REQUIRE_SYSLET();
	block_usr1(0);
	sigemptyset(&empty);
	ASSERT_EQ(pipe(fds), 0);
	pp_init(&p, fds[0], &ts, &empty, SYSLET_ASYNC);
	p.a.user_data = 5;
	ASSERT_EQ(xexec(&p.a, r, NULL, 0), SYSLET_QUEUED);
	usleep(300000);
	/* only the async thread, in ppoll(), does not block it now */
	ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
	/* the chain completes; the signal is not eaten by the async thread */
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.user_data, 5);
	ASSERT_EQ(comp.status, -EINTR);
	ASSERT_EQ(p.ret, -EINTR);
	ASSERT_EQ(usr1_count, 0);
	sigemptyset(&none);
	sigaddset(&none, SIGUSR1);
	ASSERT_EQ(sigprocmask(SIG_UNBLOCK, &none, NULL), 0);
	ASSERT_EQ(usr1_count, 1);
	/* and the async thread's mask is its own again */
	ASSERT_EQ(async_threads_blocking_all(), 1);
}

TEST(signal_during_ppoll_in_the_caller_ends_the_chain_with_the_mask_kept)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct timespec zero = { 0, 0 };
	struct later l = { .sig_ms = 300 };
	struct syslet_atom first;
	sigset_t empty;
	struct pp p1, p2;
	pthread_t t;
	int fds[2];

	REQUIRE_SYSLET();
	block_usr1(0);
	sigemptyset(&empty);
	ASSERT_EQ(pipe(fds), 0);
	l.tid = sys_tid();
	/* getppid; ppoll (interrupted); ppoll with no timeout */
	atom_init(&first, SYSLET_SYNC, SYS_getppid, NULL, NULL, NULL, NULL,
		  NULL);
	pp_init(&p1, fds[0], NULL, &empty, 0);
	pp_init(&p2, fds[0], &zero, &empty, 0);
	first.next = (uintptr_t)&p1.a;
	p1.a.next = (uintptr_t)&p2.a;
	ASSERT_EQ(pthread_create(&t, NULL, later, &l), 0);
	ASSERT_EQ(xexec(&first, r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(usr1_count, 1);		/* delivered on the way out */
	ASSERT_TRUE(usr1_blocked());		/* and the mask put back */
	ASSERT_EQ(done.status, -EINTR);
	ASSERT_EQ(done.nr_atoms, 2);		/* the chain ended there */
	ASSERT_EQ(p2.ret, -12345);
}

/* --- item 11: restart codes in the caller ----------------------------- */

TEST(sa_restart_handler_restarts_a_first_atom_in_the_caller)
{
	struct syslet_completion done;
	struct later l = { .sig_ms = 300, .write_ms = 600 };
	sigset_t set;
	pthread_t t;
	struct rd b;
	int fds[2];

	REQUIRE_SYSLET();
	block_usr1(1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_EQ(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	ASSERT_EQ(pipe(fds), 0);
	l.tid = sys_tid();
	l.fd = fds[1];
	rd_init(&b, fds[0], SYSLET_SYNC, 1);
	ASSERT_EQ(pthread_create(&t, NULL, later, &l), 0);
	/* a read(2) of the pipe would be restarted: so is the chain */
	ASSERT_EQ(xexec(&b.a, NULL, &done, 0), SYSLET_DONE);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(usr1_count, 1);
	ASSERT_EQ(done.status, 1);
	ASSERT_EQ(b.ret, 1);
}

static int stop_fd;

static void read_in_caller(void)
{
	struct syslet_completion done;
	struct rd b;

	rd_init(&b, stop_fd, SYSLET_SYNC, 1);
	if (xexec(&b.a, NULL, &done, 0) != SYSLET_DONE)
		_exit(1);
	_exit(done.status == 1 && b.ret == 1 ? 0 : 2);
}

TEST(sigstop_does_not_break_a_chain_in_the_caller)
{
	int fds[2], status;
	pid_t pid;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(fds), 0);
	stop_fd = fds[0];
	pid = fork();
	if (!pid)
		read_in_caller();
	ASSERT_GT(pid, 0);
	usleep(300000);
	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	usleep(200000);
	ASSERT_EQ(kill(pid, SIGCONT), 0);
	usleep(100000);
	ASSERT_EQ(write(fds[1], "x", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* --- item 10: the ring's size is read once, with its head -------------- */

TEST(ring_size_is_snapshot_while_the_kernel_uses_the_ring)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct rd b;
	int fds[2];

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(fds), 0);
	rd_init(&b, fds[0], SYSLET_ASYNC, 3);
	ASSERT_EQ(xexec(&b.a, r, NULL, 0), SYSLET_QUEUED);
	/* the kernel holds the ring now; a scribbled size changes nothing */
	r->nr_entries = 3;
	ASSERT_EQ(write(fds[1], "x", 1), 1);
	for (int i = 0; i < 200 && !__atomic_load_n(&r->head, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	ASSERT_EQ(r->head, 1);
	r->nr_entries = 4;
	ASSERT_TRUE(ring_pop(r, &comp));
	ASSERT_EQ(comp.user_data, 3);
	ASSERT_EQ(comp.status, 1);
}

TAP_MAIN
