// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of pass-on-block: a chain submitted without SYSLET_ASYNC or
 * SYSLET_SYNC runs in the caller; when an atom is about to sleep, the
 * caller's user context goes on in another task, with its identity.
 */
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/prctl.h>
#include "sys.h"
#include "tap.h"

/* A read of one byte from an empty pipe: it sleeps until released. */
struct blocker {
	int fds[2];
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
	struct syslet_atom a;
};

/* Submits @b in the default mode; returns what async_exec() returned. */
static long block(struct blocker *b, struct syslet_ring *r, uint64_t ud)
{
	if (pipe(b->fds))
		_exit(2);
	b->fd = b->fds[0];
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	b->ret = -12345;
	atom_init(&b->a, 0, SYS_read, &b->ret, &b->fd, &b->buf, &b->len, NULL);
	b->a.user_data = ud;
	return async_exec(&b->a, r, NULL, 0);
}

/* Lets @b's read complete and reaps its completion. */
static int release(struct blocker *b, struct syslet_ring *r)
{
	struct syslet_completion comp;

	if (write(b->fds[1], "z", 1) != 1 || !ring_get(r, &comp))
		return -1;
	close(b->fds[0]);
	close(b->fds[1]);
	return comp.status == 1 && b->ret == 1 && b->c == 'z' &&
	       !(comp.flags & SYSLET_COMP_SYNC) ? 0 : -1;
}

TEST(chain_that_does_not_sleep_completes_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct syslet_atom a;
	int64_t ret = 0;

	REQUIRE_SYSLET();
	atom_init(&a, 0, SYS_getpid, &ret, NULL, NULL, NULL, NULL);
	a.user_data = 77;
	memset(&done, 0, sizeof(done));
	ASSERT_EQ(async_exec(&a, r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(ret, getpid());
	ASSERT_EQ(done.status, getpid());
	ASSERT_EQ(done.user_data, 77);
	ASSERT_TRUE(done.flags & SYSLET_COMP_SYNC);
	ASSERT_EQ(r->head, 0);			/* nothing posted */
	/* without @done the completion goes to the ring */
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_DONE);
	ASSERT_TRUE(ring_pop(r, &done));
	ASSERT_EQ(done.user_data, 77);
	ASSERT_EQ(limits_now().nr_chains, 0);
}

TEST(chain_that_sleeps_is_queued_and_the_caller_keeps_its_tid)
{
	struct syslet_ring *r = ring_new(4);
	pid_t me = sys_tid(), ptid = 0;
	pthread_t self = pthread_self();
	struct blocker b;
	long long t0 = now_ms();

	REQUIRE_SYSLET();
	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	ASSERT_LT(now_ms() - t0, 5000);
	ASSERT_EQ(sys_tid(), me);
	ASSERT_TRUE(pthread_equal(pthread_self(), self));
	ASSERT_EQ(getpid(), getpid());
	/* the chain is in flight, run by an async thread */
	ASSERT_EQ(limits_now().nr_chains, 1);
	ASSERT_EQ(b.ret, -12345);
	/* /proc agrees: this TID is still "us" */
	{
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", me);
		f = fopen(path, "r");
		ASSERT_TRUE(f != NULL);
		ASSERT_TRUE(fgets(comm, sizeof(comm), f) != NULL);
		fclose(f);
		ASSERT_EQ(strncmp(comm, "syslet-", 7) != 0, 1);
	}
	ptid = sys_tid();
	ASSERT_EQ(ptid, me);
	ASSERT_EQ(release(&b, r), 0);
	ASSERT_EQ(sys_tid(), me);
}

static volatile sig_atomic_t handled_tid;

static void on_usr1(int sig)
{
	(void)sig;
	handled_tid = (sig_atomic_t)syscall(SYS_gettid);
}

TEST(signal_state_goes_with_the_user_context)
{
	struct syslet_ring *r = ring_new(4);
	sigset_t block2, now, pend;
	struct sigaction sa = { .sa_handler = on_usr1 };
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) }, cur;
	struct blocker b;
	pid_t me = sys_tid();

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	sigemptyset(&block2);
	sigaddset(&block2, SIGUSR2);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &block2, NULL), 0);
	ASSERT_EQ(sigaltstack(&ss, NULL), 0);
	/* a thread-directed signal pending before the hand-off */
	ASSERT_EQ(syscall(SYS_tgkill, getpid(), me, SIGUSR2), 0);

	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	ASSERT_TRUE(sigismember(&now, SIGUSR2));
	ASSERT_FALSE(sigismember(&now, SIGUSR1));
	ASSERT_EQ(sigpending(&pend), 0);
	ASSERT_TRUE(sigismember(&pend, SIGUSR2));
	ASSERT_EQ(sigaltstack(NULL, &cur), 0);
	ASSERT_TRUE(cur.ss_sp == altstack);
	ASSERT_EQ(cur.ss_size, sizeof(altstack));
	/* tgkill and pthread_kill reach this context, by its TID */
	handled_tid = 0;
	ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
	ASSERT_EQ(handled_tid, me);
	handled_tid = 0;
	ASSERT_EQ(syscall(SYS_tgkill, getpid(), me, SIGUSR1), 0);
	ASSERT_EQ(handled_tid, me);
	ASSERT_EQ(release(&b, r), 0);
}

static __thread int tls_value = 1234;

TEST(fpu_state_tls_and_fs_base_survive)
{
	struct syslet_ring *r = ring_new(4);
	unsigned long fs_before = 0, fs_after = 0;
	volatile double x = 1.0;
	double y, in = 3.25, out = 0;
	struct blocker b;
	int *tls_addr = &tls_value;
	long q;

	REQUIRE_SYSLET();
	ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before), 0);
	ASSERT_EQ(fesetround(FE_UPWARD), 0);	/* MXCSR and x87 control */
	tls_value = 4321;
	/* xmm8 across the very system call that hands off */
	if (pipe(b.fds))
		_exit(2);
	b.fd = b.fds[0];
	b.buf = (uintptr_t)&b.c;
	b.len = 1;
	atom_init(&b.a, 0, SYS_read, &b.ret, &b.fd, &b.buf, &b.len, NULL);
	{
		register long rax __asm__("rax") = NR_async_exec;
		register long rdi __asm__("rdi") = (long)&b.a;
		register long rsi __asm__("rsi") = (long)r;
		register long rdx __asm__("rdx") = 0;
		register long r10 __asm__("r10") = 0;

		__asm__ volatile("movsd %[in], %%xmm8\n\t"
				 "syscall\n\t"
				 "movsd %%xmm8, %[out]"
				 : "+r"(rax), [out] "=m"(out)
				 : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10),
				   [in] "m"(in)
				 : "rcx", "r11", "xmm8", "memory");
		q = rax;
	}
	ASSERT_EQ(q, SYSLET_QUEUED);
	ASSERT_TRUE(out == 3.25);
	ASSERT_EQ(fegetround(), FE_UPWARD);
	y = x / 3.0;			/* rounded up, not to nearest */
	ASSERT_TRUE(y * 3.0 > 1.0);
	fesetround(FE_TONEAREST);
	ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_after), 0);
	ASSERT_EQ(fs_after, fs_before);
	ASSERT_TRUE(tls_addr == &tls_value);
	ASSERT_EQ(tls_value, 4321);
	ASSERT_EQ(release(&b, r), 0);
}

TEST(mutexes_normal_errorcheck_pi_and_robust_survive)
{
	struct syslet_ring *r = ring_new(4);
	pthread_mutexattr_t ea, pa, ra;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, em, pm, rm;
	struct blocker b;

	REQUIRE_SYSLET();
	pthread_mutexattr_init(&ea);
	pthread_mutexattr_settype(&ea, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutexattr_init(&pa);
	pthread_mutexattr_setprotocol(&pa, PTHREAD_PRIO_INHERIT);
	pthread_mutexattr_init(&ra);
	pthread_mutexattr_setrobust(&ra, PTHREAD_MUTEX_ROBUST);
	ASSERT_EQ(pthread_mutex_init(&em, &ea), 0);
	ASSERT_EQ(pthread_mutex_init(&pm, &pa), 0);
	ASSERT_EQ(pthread_mutex_init(&rm, &ra), 0);
	ASSERT_EQ(pthread_mutex_lock(&m), 0);
	ASSERT_EQ(pthread_mutex_lock(&em), 0);
	ASSERT_EQ(pthread_mutex_lock(&pm), 0);	/* futex word = our TID */
	ASSERT_EQ(pthread_mutex_lock(&rm), 0);

	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	/* owners are checked against the TID: it must still be ours */
	ASSERT_EQ(pthread_mutex_lock(&em), EDEADLK);
	ASSERT_EQ(pthread_mutex_unlock(&em), 0);
	ASSERT_EQ(pthread_mutex_unlock(&pm), 0);
	ASSERT_EQ(pthread_mutex_unlock(&rm), 0);
	ASSERT_EQ(pthread_mutex_unlock(&m), 0);
	ASSERT_EQ(pthread_mutex_lock(&pm), 0);
	ASSERT_EQ(pthread_mutex_unlock(&pm), 0);
	ASSERT_EQ(release(&b, r), 0);
}

/* The robust list moved: a thread that dies holding a robust mutex after
 * a hand-off still has it marked owner-dead for the next locker. */
static pthread_mutex_t robust_m;

static void *die_holding(void *arg)
{
	struct syslet_ring *r = arg;
	struct blocker *b = calloc(1, sizeof(*b));

	pthread_mutex_lock(&robust_m);
	if (block(b, r, 5) != SYSLET_QUEUED)
		return (void *)1;
	return NULL;			/* exits holding the mutex */
}

/* The cpu_id the kernel keeps in this thread's rseq area (glibc's). */
static int rseq_cpu(void)
{
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() +
					  __rseq_offset);

	return (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
}

/* Pins this thread to @cpu and waits until it runs there. */
static int pin(int cpu)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	for (i = 0; i < 1000 && sched_getcpu() != cpu; i++)
		sched_yield();
	return sched_getcpu() == cpu ? 0 : -1;
}

/*
 * The rest of the identity: rseq registration (the kernel keeps updating
 * this thread's rseq area), GS base, nice value, CPU affinity and
 * credentials all stay with the user context.
 */
TEST(rseq_gs_base_nice_affinity_and_credentials_survive)
{
	struct syslet_ring *r = ring_new(4);
	unsigned long gs = 0;
	struct blocker b;
	cpu_set_t set;
	pid_t me = sys_tid();
	uid_t uid = geteuid();

	REQUIRE_SYSLET();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP("needs 2 CPUs");
	if (__rseq_size == 0)
		SKIP("glibc did not register rseq");
	ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, 0x12345000UL), 0);
	ASSERT_EQ(setpriority(PRIO_PROCESS, (id_t)me, 7), 0);
	ASSERT_EQ(pin(1), 0);
	ASSERT_EQ(rseq_cpu(), 1);

	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	ASSERT_EQ(sys_tid(), me);
	ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs), 0);
	ASSERT_EQ(gs, 0x12345000UL);
	errno = 0;
	ASSERT_EQ(getpriority(PRIO_PROCESS, (id_t)me), 7);
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	ASSERT_EQ(CPU_COUNT(&set), 1);
	ASSERT_TRUE(CPU_ISSET(1, &set));
	ASSERT_EQ(sched_getcpu(), 1);
	ASSERT_EQ(geteuid(), uid);
	/* rseq moved too: the kernel updates our area as we migrate */
	ASSERT_EQ(pin(0), 0);
	ASSERT_EQ(rseq_cpu(), 0);
	ASSERT_EQ(pin(1), 0);
	ASSERT_EQ(rseq_cpu(), 1);
	ASSERT_EQ(release(&b, r), 0);
	ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL), 0);
}

/*
 * A thread at nice 7 pinned to CPU 1 hands its user context off: the
 * giver, an async thread from then on, must not run the chains of other
 * threads with that thread's scheduling and affinity; it takes on those
 * of the async thread it replaced (before: a nice-0 thread's SYSLET_ASYNC
 * chain ran at nice 7, pinned to CPU 1, on the giver).  (Not with
 * SCHED_FIFO: a real-time task's timer slack is 0, an async thread's is
 * not, and a difference in timer slack refuses the hand-off.)
 */
TEST(a_giver_runs_later_chains_with_the_takers_scheduling)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c;
	struct syslet_atom a[2];
	uint64_t zero = 0, size = sizeof(cpu_set_t), mask, who = PRIO_PROCESS;
	int64_t prio = -12345, aff = -12345;
	static cpu_set_t wset;
	struct blocker b;
	cpu_set_t set;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	pid_t me = sys_tid();

	REQUIRE_SYSLET();
	if (ncpu < 2)
		SKIP("needs 2 CPUs");
	sys_set_limits(1, 0, 0);
	/* the one async thread, made by this thread at nice 0, on all CPUs */
	atom_init(&a[0], SYSLET_ASYNC, SYS_getpid, &prio, NULL, NULL, NULL,
		  NULL);
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	for (int i = 0; i < 500 && limits_now().nr_idle != 1; i++)
		usleep(10000);
	ASSERT_EQ(limits_now().nr_idle, 1);
	ASSERT_EQ(setpriority(PRIO_PROCESS, (id_t)me, 7), 0);
	ASSERT_EQ(pin(1), 0);
	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	/* the user context went on with its scheduling */
	errno = 0;
	ASSERT_EQ(getpriority(PRIO_PROCESS, (id_t)me), 7);
	/* and may not raise it again: the chain below reads the giver's */
	CPU_ZERO(&set);
	for (int i = 0; i < ncpu; i++)
		CPU_SET(i, &set);
	ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
	ASSERT_EQ(release(&b, r), 0);
	for (int i = 0; i < 500 && limits_now().nr_idle != 1; i++)
		usleep(10000);
	ASSERT_EQ(limits_now().nr_threads, 1);

	/* the giver is the only async thread: it runs this chain */
	mask = (uintptr_t)&wset;
	atom_init(&a[0], SYSLET_ASYNC, SYS_getpriority, &prio, &who, &zero,
		  NULL, NULL);
	atom_init(&a[1], 0, SYS_sched_getaffinity, &aff, &zero, &size, &mask,
		  NULL);
	a[0].next = (uintptr_t)&a[1];
	a[0].user_data = 0x44;
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &c));
	EXPECT_EQ(c.user_data, 0x44);
	/* the raw getpriority() returns 20 - nice */
	tap_diag("async thread: nice %lld, %d CPUs", 20 - (long long)prio,
		 CPU_COUNT(&wset));
	EXPECT_EQ(prio, 20);
	EXPECT_GT(aff, 0);
	EXPECT_EQ(CPU_COUNT(&wset), ncpu);
}

TEST(robust_list_goes_with_the_user_context)
{
	struct syslet_ring *r = ring_new(4);
	pthread_mutexattr_t ra;
	pthread_t t;
	void *res;

	REQUIRE_SYSLET();
	pthread_mutexattr_init(&ra);
	pthread_mutexattr_setrobust(&ra, PTHREAD_MUTEX_ROBUST);
	ASSERT_EQ(pthread_mutex_init(&robust_m, &ra), 0);
	ASSERT_EQ(pthread_create(&t, NULL, die_holding, r), 0);
	ASSERT_EQ(pthread_join(t, &res), 0);	/* clear_child_tid moved too */
	ASSERT_TRUE(res == NULL);
	ASSERT_EQ(pthread_mutex_lock(&robust_m), EOWNERDEAD);
	ASSERT_EQ(pthread_mutex_consistent(&robust_m), 0);
	ASSERT_EQ(pthread_mutex_unlock(&robust_m), 0);
}

TEST(no_spare_thread_runs_the_chain_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_limits l = { .size = sizeof(l), .max_threads = 1 };
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	uint64_t tsp = (uintptr_t)&ts;
	struct syslet_completion done;
	struct syslet_atom a;
	struct blocker b;
	long long t0;

	REQUIRE_SYSLET();
	ASSERT_EQ(async_limits(&l, NULL), 0);
	/* the one thread there may be is taken by a blocked chain */
	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	atom_init(&a, 0, SYS_nanosleep, NULL, &tsp, NULL, NULL, NULL);
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a, r, &done, 0), SYSLET_DONE);
	ASSERT_GE(now_ms() - t0, 190);		/* it slept here */
	ASSERT_EQ(done.status, 0);
	ASSERT_TRUE(done.flags & SYSLET_COMP_SYNC);
	ASSERT_EQ(release(&b, r), 0);
}

static void *handoff_loop(void *arg)
{
	struct syslet_ring *r = ring_new(8);
	pthread_mutex_t *m = arg;
	pid_t me = sys_tid();
	double acc = 0;

	for (int i = 0; i < 40; i++) {
		struct blocker b;

		pthread_mutex_lock(m);
		acc += i * 0.5;
		if (block(&b, r, i) != SYSLET_QUEUED || sys_tid() != me)
			return (void *)1;
		acc += i * 0.5;
		pthread_mutex_unlock(m);
		if (release(&b, r))
			return (void *)2;
		tls_value = me + i;
		if (tls_value != me + i)
			return (void *)3;
	}
	return acc == 40 * 39 / 2.0 ? NULL : (void *)4;
}

TEST(many_threads_hand_off_under_load)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_t t[6];
	void *res;

	REQUIRE_SYSLET();
	for (int i = 0; i < 6; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, handoff_loop, &m), 0);
	for (int i = 0; i < 6; i++) {
		ASSERT_EQ(pthread_join(t[i], &res), 0);
		ASSERT_TRUE(res == NULL);
	}
	ASSERT_LE(limits_now().nr_threads, 128);
}

static void exit_with_handoffs(void)
{
	struct syslet_ring *r = ring_new(64);
	static struct blocker b[40];

	for (int i = 0; i < 40; i++)
		if (block(&b[i], r, i) != SYSLET_QUEUED)
			_exit(1);
	exit(7);
}

static void kill_with_handoffs(void)
{
	struct syslet_ring *r = ring_new(64);
	static struct blocker b[40];

	for (int i = 0; i < 40; i++)
		if (block(&b[i], r, i) != SYSLET_QUEUED)
			_exit(1);
	kill(getpid(), SIGKILL);
}

static void *write_later_and_exit(void *arg)
{
	struct blocker *b = arg;

	usleep(200000);
	if (write(b->fds[1], "z", 1) != 1)
		exit(1);
	usleep(200000);
	/* the main thread's TID is the PID again, as /proc shows it */
	exit(kill((pid_t)syscall(SYS_getpid), 0) == 0 ? 2 : 8);
}

static void leader_pthread_exit_after_handoff(void)
{
	struct syslet_ring *r = ring_new(4);
	static struct blocker b;
	pthread_t t;

	if (block(&b, r, 1) != SYSLET_QUEUED || sys_tid() != getpid())
		_exit(1);
	if (pthread_create(&t, NULL, write_later_and_exit, &b))
		_exit(1);
	pthread_exit(NULL);
}

static void exec_after_handoff(void)
{
	struct syslet_ring *r = ring_new(4);
	static struct blocker b;
	char self[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || block(&b, r, 1) != SYSLET_QUEUED)
		_exit(1);
	self[n] = 0;
	setenv("POB_EXEC_CHECK", "1", 1);
	execl(self, self, (char *)NULL);
	_exit(3);
}

/* exec'd by exec_after_handoff: the new image's TID is its PID */
__attribute__((constructor)) static void exec_check(void)
{
	if (getenv("POB_EXEC_CHECK"))
		_exit(getpid() == sys_tid() ? 5 : 6);
}

TEST(exit_kill_exec_and_pthread_exit_with_handoffs_in_flight)
{
	int st;

	REQUIRE_SYSLET();
	st = in_child(exit_with_handoffs, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 7);
	st = in_child(kill_with_handoffs, 30);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGKILL);
	st = in_child(leader_pthread_exit_after_handoff, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 2);	/* waitpid found it; TID == PID */
	st = in_child(exec_after_handoff, 30);
	ASSERT_EQ(st, 5 << 8);		/* exited 5: TID == PID after exec */
}

TEST(parent_waits_by_pid_while_the_leader_tid_is_away)
{
	pid_t pid = fork();
	int st;

	REQUIRE_SYSLET();
	if (!pid) {
		struct syslet_ring *r = ring_new(4);
		static struct blocker b;

		if (block(&b, r, 1) != SYSLET_QUEUED || sys_tid() != getpid())
			_exit(1);
		usleep(500000);
		_exit(4);
	}
	usleep(200000);
	/* alive: 0, not -1/ECHILD although the leader task's TID moved */
	ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0);
	ASSERT_EQ(kill(pid, 0), 0);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_EQ(st, 4 << 8);
}

static volatile sig_atomic_t pipe_tid;

static void on_sigpipe(int sig)
{
	(void)sig;
	pipe_tid = (sig_atomic_t)syscall(SYS_gettid);
}

TEST(sigpipe_after_a_handoff_reaches_the_user_context)
{
	struct syslet_ring *r = ring_new(4);
	struct sigaction sa = { .sa_handler = on_sigpipe };
	struct syslet_completion comp;
	struct syslet_atom w;
	int64_t wret = 0;
	uint64_t wfd, wbuf, wlen = 1;
	int broken[2];
	struct blocker b;
	pid_t me = sys_tid();

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGPIPE, &sa, NULL), 0);
	ASSERT_EQ(pipe(broken), 0);
	close(broken[0]);
	wfd = broken[1];
	wbuf = (uintptr_t)"x";
	/* read (blocks: hand-off), then write to a pipe with no reader */
	if (pipe(b.fds))
		_exit(2);
	b.fd = b.fds[0];
	b.buf = (uintptr_t)&b.c;
	b.len = 1;
	atom_init(&b.a, 0, SYS_read, &b.ret, &b.fd, &b.buf, &b.len, NULL);
	atom_init(&w, 0, SYS_write, &wret, &wfd, &wbuf, &wlen, NULL);
	b.a.next = (uintptr_t)&w;
	pipe_tid = 0;
	ASSERT_EQ(async_exec(&b.a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_EQ(write(b.fds[1], "z", 1), 1);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.status, -EPIPE);
	for (int i = 0; i < 100 && !pipe_tid; i++)
		usleep(10000);
	ASSERT_EQ(pipe_tid, me);	/* delivered to this thread, by its TID */
}

/*
 * [read(empty pipe); write(pipe with no reader)] in the default mode: the
 * read hands the caller off, the write then raises SIGPIPE in the thread
 * that gave its context away.  Returns the write's result (the chain's
 * status); the caller holds SIGPIPE's disposition.
 */
static int64_t sigpipe_after_handoff(void)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	static struct blocker b;
	static struct syslet_atom w;
	static int64_t wret;
	static uint64_t wfd, wbuf, wlen = 1;
	int broken[2];

	if (pipe(broken) || pipe(b.fds))
		_exit(2);
	close(broken[0]);
	wfd = broken[1];
	wbuf = (uintptr_t)"x";
	b.fd = b.fds[0];
	b.buf = (uintptr_t)&b.c;
	b.len = 1;
	atom_init(&b.a, 0, SYS_read, &b.ret, &b.fd, &b.buf, &b.len, NULL);
	atom_init(&w, 0, SYS_write, &wret, &wfd, &wbuf, &wlen, NULL);
	b.a.next = (uintptr_t)&w;
	if (async_exec(&b.a, r, NULL, 0) != SYSLET_QUEUED)
		_exit(3);
	if (write(b.fds[1], "z", 1) != 1 || !ring_get(r, &comp))
		_exit(4);
	return comp.status;
}

static void sigpipe_default_after_handoff(void)
{
	signal(SIGPIPE, SIG_DFL);
	sigpipe_after_handoff();
	/* SIGPIPE is delivered on the way back to user space at the latest */
	for (int i = 0; i < 500; i++)
		usleep(10000);
	_exit(5);
}

static void sigpipe_ignored_after_handoff(void)
{
	signal(SIGPIPE, SIG_IGN);
	_exit(sigpipe_after_handoff() == -EPIPE ? 6 : 7);
}

/*
 * The thread that raised SIGPIPE gave its TID away: the signal must not
 * be forwarded to itself for ever (it looped in the kernel, unkillable).
 */
TEST(sigpipe_after_a_handoff_kills_or_is_ignored_and_never_loops)
{
	int st;

	REQUIRE_SYSLET();
	st = in_child(sigpipe_default_after_handoff, 30);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGPIPE);
	st = in_child(sigpipe_ignored_after_handoff, 30);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 6);
}

/*
 * Threads with different rounding modes (MXCSR and x87 control word) hand
 * off over and over with short sleeps: a giver whose chain ends soon goes
 * idle and may be picked as a taker itself.  Its FPU state must not be
 * overwritten before its own taker has copied it.
 */
static atomic_int fpu_bad, fpu_handoffs;

static void *fpu_handoff_loop(void *arg)
{
	static const int modes[] = { FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
	int mode = modes[(intptr_t)arg % 3];
	struct syslet_ring *r = ring_new(64);
	struct timespec ts = { 0, 50 * 1000 };
	uint64_t tsp = (uintptr_t)&ts;
	struct syslet_completion comp;
	struct syslet_atom a;
	long long t0 = now_ms();

	fesetround(mode);
	atom_init(&a, 0, SYS_nanosleep, NULL, &tsp, NULL, NULL, NULL);
	while (now_ms() - t0 < 15000) {
		long ret = async_exec(&a, r, &comp, 0);

		if (fegetround() != mode)
			atomic_fetch_add(&fpu_bad, 1);
		if (ret == SYSLET_QUEUED) {
			atomic_fetch_add(&fpu_handoffs, 1);
			if (!ring_get(r, &comp))
				atomic_fetch_add(&fpu_bad, 1000);
		}
	}
	fesetround(FE_TONEAREST);
	return NULL;
}

TEST(fpu_state_of_a_giver_that_goes_idle_soon_is_not_overwritten)
{
	pthread_t t[3];

	REQUIRE_SYSLET();
	for (intptr_t i = 0; i < 3; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, fpu_handoff_loop,
					 (void *)i), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	tap_diag("%d hand-offs", atomic_load(&fpu_handoffs));
	ASSERT_GT(atomic_load(&fpu_handoffs), 0);
	ASSERT_EQ(atomic_load(&fpu_bad), 0);
}

TEST(a_thread_that_used_io_uring_keeps_its_chains)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	uint64_t tsp = (uintptr_t)&ts;
	struct syslet_completion done;
	struct syslet_atom a;
	char params[120] = { 0 };	/* struct io_uring_params */
	int fd;

	REQUIRE_SYSLET();
	fd = (int)syscall(425 /* io_uring_setup */, 4, params);
	if (fd < 0)
		SKIP("no io_uring");
	/* its io_uring task context cannot move: no hand-off, runs here */
	atom_init(&a, 0, SYS_nanosleep, NULL, &tsp, NULL, NULL, NULL);
	ASSERT_EQ(async_exec(&a, r, &done, 0), SYSLET_DONE);
	ASSERT_EQ(done.status, 0);
	ASSERT_TRUE(done.flags & SYSLET_COMP_SYNC);
	close(fd);
}

TEST(fork_after_handoff_starts_clean)
{
	struct syslet_ring *r = ring_new(4);
	struct blocker b;
	pid_t pid;
	int st;

	REQUIRE_SYSLET();
	ASSERT_EQ(block(&b, r, 1), SYSLET_QUEUED);
	pid = fork();
	if (!pid)
		_exit(sys_tid() == getpid() && limits_now().nr_threads == 0 ? 0 : 1);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_EQ(release(&b, r), 0);
}

TEST(cancel_reaches_a_chain_that_passed_its_caller_on)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct blocker b;

	REQUIRE_SYSLET();
	ASSERT_EQ(block(&b, r, 42), SYSLET_QUEUED);
	ASSERT_EQ(async_cancel(r, 42, 0), 0);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.user_data, 42);
	ASSERT_EQ(comp.status, -ECANCELED);
	ASSERT_EQ(b.ret, -ECANCELED);
}

TAP_MAIN
