/* SPDX-License-Identifier: GPL-2.0 */
/* Raw syslet system calls and small helpers for the kernel engine tests. */
#ifndef SYSLET_TESTS_SYS_H
#define SYSLET_TESTS_SYS_H

#include <linux/syslet.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the numbers: <linux/syslet.h>, the one place they are defined */
#define NR_async_exec	SYSLET_NR_ASYNC_EXEC
#define NR_async_wait	SYSLET_NR_ASYNC_WAIT
#define NR_async_cancel	SYSLET_NR_ASYNC_CANCEL
#define NR_async_limits	SYSLET_NR_ASYNC_LIMITS

/*
 * Every argument a call takes is passed (flags 0): syscall() forwards
 * six, and a missing one would be a leftover register value.
 */
static inline long async_exec(struct syslet_atom *a, struct syslet_ring *r,
			      struct syslet_completion *done, unsigned int flags)
{
	return syscall(NR_async_exec, a, r, done, flags, 0L, 0L);
}

/* async_wait() with a signal mask and flags (ABI v1: 6 arguments) */
static inline long async_pwait(struct syslet_ring *r, unsigned int min,
			       const struct timespec *ts, const void *mask,
			       size_t masksize, unsigned int flags)
{
	return syscall(NR_async_wait, r, min, ts, mask, masksize, flags);
}

static inline long async_wait(struct syslet_ring *r, unsigned int min,
			      const struct timespec *ts)
{
	return async_pwait(r, min, ts, NULL, 8, 0);
}

static inline long async_cancel(struct syslet_ring *r, uint64_t ud,
				unsigned int flags)
{
	return syscall(NR_async_cancel, r, ud, flags, 0L, 0L, 0L);
}

static inline long async_limits_flags(const struct syslet_limits *set,
				      struct syslet_limits *get,
				      unsigned int flags)
{
	return syscall(NR_async_limits, set, get, flags, 0L, 0L, 0L);
}

static inline long async_limits(const struct syslet_limits *set,
				struct syslet_limits *get)
{
	return async_limits_flags(set, get, 0);
}

static inline int syslet_present(void)
{
	return async_limits(NULL, NULL) == 0;
}

/* A ring of n entries on the heap, 64-byte aligned. */
static inline struct syslet_ring *ring_new(unsigned int n)
{
	struct syslet_ring *r = aligned_alloc(64, (SYSLET_RING_BYTES(n) + 63) & ~63UL);

	memset(r, 0, SYSLET_RING_BYTES(n));
	r->size = sizeof(*r);
	r->nr_entries = n;
	return r;
}

/* Takes one completion if there is one; returns 1 if it did. */
static inline int ring_pop(struct syslet_ring *r, struct syslet_completion *c)
{
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t tail = r->tail;

	if (head == tail)
		return 0;
	*c = SYSLET_RING_ENTRIES(r)[tail & (r->nr_entries - 1)];
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	return 1;
}

/* Waits for and takes one completion (10 s limit); returns 1 on success. */
static inline int ring_get(struct syslet_ring *r, struct syslet_completion *c)
{
	struct timespec ts = { 10, 0 };

	long n;

	if (ring_pop(r, c))
		return 1;
	/* a signal handler that ran meanwhile is not the test's failure */
	do
		n = async_wait(r, 1, &ts);
	while (n < 0 && errno == EINTR);
	if (n < 1)
		return 0;
	return ring_pop(r, c);
}

/* One atom: nr with argument pointers, result into *ret. */
static inline void atom_init(struct syslet_atom *a, uint32_t flags, uint32_t nr,
			     int64_t *ret, uint64_t *a0, uint64_t *a1,
			     uint64_t *a2, uint64_t *a3)
{
	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->nr = nr;
	a->ret_ptr = (uintptr_t)ret;
	a->arg_ptr[0] = (uintptr_t)a0;
	a->arg_ptr[1] = (uintptr_t)a1;
	a->arg_ptr[2] = (uintptr_t)a2;
	a->arg_ptr[3] = (uintptr_t)a3;
}

static inline struct syslet_limits limits_now(void)
{
	struct syslet_limits l;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	async_limits(NULL, &l);
	return l;
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Runs @fn in a child process and returns its wait status (-1: none). */
static inline int in_child(void (*fn)(void), int secs)
{
	pid_t pid = fork();
	int status = -1;

	if (!pid) {
		fn();
		_exit(99);
	}
	alarm(secs);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	alarm(0);
	return status;
}

/* Ends a child with work in flight: exit (0), exec (1) or SIGKILL (2). */
static inline void __attribute__((noreturn)) end_child(int how)
{
	if (how == 1)
		execl("/bin/true", "true", (char *)NULL);
	if (how == 2)
		raise(SIGKILL);
	_exit(0);
}

/*
 * Waits for a child ended by end_child(@how): 0 if it ended so, else its
 * exit code (77: it skipped), or -1.
 */
static inline int wait_end(pid_t pid, int how)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (how == 2)
		return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define REQUIRE_SYSLET() do {						\
		if (!syslet_present())					\
			SKIP("no syslet system calls in this kernel");	\
	} while (0)

/* The caller's thread id. */
static inline pid_t sys_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Sets the process's limits (0 leaves one as it is); exits 3 on failure. */
static inline void sys_set_limits(unsigned int threads, unsigned int idle_ms,
				  unsigned int chains)
{
	struct syslet_limits l = { .size = sizeof(l), .max_threads = threads,
				   .idle_msecs = idle_ms, .max_chains = chains };

	if (async_limits(&l, NULL))
		_exit(3);
}

/* Waits, up to 10 s, until thread @tid sleeps (state S in /proc). */
static inline int sleeping(pid_t tid)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	char path[64], buf[256], *st;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			st = fgets(buf, sizeof(buf), f);
			fclose(f);
			st = st ? strrchr(buf, ')') : NULL;
			if (st && st[1] == ' ' && st[2] == 'S')
				return 1;
		}
		nanosleep(&ms, NULL);
	}
	return 0;
}

#endif
