// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit (i386) callers on the 64-bit kernel (issue 19 item 3).
 *
 * Built twice (tests/kernel/Makefile):
 *  - compat32-i386: gcc -m32 -static, a real i386 program.  Raw system
 *    calls through sys.h's wrappers, which are the i386 calls under -m32,
 *    and <linux/syslet.h> only (libsyslet refuses -m32).  Its atoms are in
 *    its own ABI: i386 numbers (<sys/syscall.h> under -m32), 32-bit
 *    argument registers, the i386 layouts of what the calls read and
 *    write; seccomp sees AUDIT_ARCH_I386 and the i386 number.
 *  - compat32: the same file as an x86-64 program, whose tests submit
 *    chains through the i386 entry (int $0x80, memory below 4 GiB) and
 *    the 64-bit one in turn, to the same async thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/syslet.h>
#include "tap.h"
#include "sys.h"

#define U64P(p)	((uint64_t)(uintptr_t)(p))

static void atom_set(struct syslet_atom *a, uint32_t flags, uint32_t nr,
		     int64_t *ret, struct syslet_atom *next)
{
	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->nr = nr;
	a->ret_ptr = U64P(ret);
	a->next = U64P(next);
}

#ifdef __i386__

/* in the guest the patched kernel must answer: fail there, skip else */
#define REQUIRE_SYSLET32() do {						\
		struct syslet_limits l_ = { .size = sizeof(l_) };	\
		if (async_limits(NULL, &l_) && getenv("SYSLET_GUEST"))	\
			TAP_FAIL_(1, "no syslet calls for i386: %s",	\
				  strerror(errno));			\
		if (async_limits(NULL, &l_))				\
			SKIP("no syslet system calls for i386 callers (%s)", \
			     strerror(errno));				\
	} while (0)

static char tmpl[] = "/tmp/compat32.XXXXXX";
static const char text[] = "i386 atoms on a 64-bit kernel\n";

/* a file with @text in it, unlinked at exit of the test's child */
static const char *text_file(void)
{
	int fd = mkstemp(tmpl);

	if (fd < 0 || write(fd, text, sizeof(text) - 1) != sizeof(text) - 1)
		_exit(2);
	close(fd);
	return tmpl;
}

/*
 * getpid, openat, read, close: the read's fd is the openat's result
 * (through its ret_ptr), all in i386 numbers.
 */
struct chain4 {
	struct syslet_atom a[4];
	int64_t ret[4];
	uint64_t dirfd, path, oflags, buf, len;
	char data[64];
};

static void chain4_init(struct chain4 *c, uint32_t mode, uint64_t user_data)
{
	memset(c, 0, sizeof(*c));
	c->dirfd = (uint64_t)(uint32_t)AT_FDCWD;
	c->path = U64P(text_file());
	c->oflags = O_RDONLY;
	c->buf = U64P(c->data);
	c->len = sizeof(c->data);
	atom_set(&c->a[0], mode | SYSLET_STOP_ON_NEGATIVE, SYS_getpid,
		 &c->ret[0], &c->a[1]);
	c->a[0].user_data = user_data;
	atom_set(&c->a[1], SYSLET_STOP_ON_NEGATIVE, SYS_openat, &c->ret[1],
		 &c->a[2]);
	c->a[1].arg_ptr[0] = U64P(&c->dirfd);
	c->a[1].arg_ptr[1] = U64P(&c->path);
	c->a[1].arg_ptr[2] = U64P(&c->oflags);
	atom_set(&c->a[2], 0, SYS_read, &c->ret[2], &c->a[3]);
	c->a[2].arg_ptr[0] = U64P(&c->ret[1]);
	c->a[2].arg_ptr[1] = U64P(&c->buf);
	c->a[2].arg_ptr[2] = U64P(&c->len);
	atom_set(&c->a[3], 0, SYS_close, &c->ret[3], NULL);
	c->a[3].arg_ptr[0] = U64P(&c->ret[1]);
}

static void chain4_check(const struct chain4 *c)
{
	EXPECT_EQ(c->ret[0], getpid());
	EXPECT_GE(c->ret[1], 3);
	EXPECT_EQ(c->ret[2], sizeof(text) - 1);
	EXPECT_EQ(memcmp(c->data, text, sizeof(text) - 1), 0);
	EXPECT_EQ(c->ret[3], 0);
	unlink(tmpl);
}

/*
 * An i386 caller's chains never hand off, so a default-mode chain must not
 * make (and wait for) an async thread to hand off to (review 5 finding 6:
 * the first one of a process made one, 0 -> 1).  In a child: a process
 * with no async thread yet.
 */
static void default_mode_child(void)
{
	struct syslet_completion done;
	struct chain4 c;

	if (limits_now().nr_threads != 0)
		_exit(2);
	chain4_init(&c, 0, 8);
	if (async_exec(&c.a[0], ring_new(4), &done, 0) != SYSLET_DONE ||
	    done.status != 0 || done.nr_atoms != 4)
		_exit(3);
	_exit(limits_now().nr_threads == 0 ? 0 : 10);
}

TEST(i386_default_mode_chain_makes_no_async_thread)
{
	int st;

	REQUIRE_SYSLET32();
	st = in_child(default_mode_child, 30);
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) == 10)
		tap_diag("an async thread was made for a chain that cannot hand off");
	EXPECT_EQ(WEXITSTATUS(st), 0);
	unlink(tmpl);
}

TEST(i386_async_limits_answers)
{
	struct syslet_limits l = { .size = sizeof(l) };

	REQUIRE_SYSLET32();
	ASSERT_EQ(async_limits(NULL, &l), 0);
	EXPECT_EQ(l.size, sizeof(l));
	EXPECT_GT(l.max_threads, 0);
	EXPECT_GT(l.max_chains, 0);
}

TEST(i386_sync_chain_getpid_openat_read_close)
{
	struct syslet_completion done;
	struct chain4 c;

	REQUIRE_SYSLET32();
	chain4_init(&c, SYSLET_SYNC, 7);
	memset(&done, 0xff, sizeof(done));
	ASSERT_EQ(async_exec(&c.a[0], NULL, &done, 0), SYSLET_DONE);
	chain4_check(&c);
	EXPECT_EQ(done.status, 0);
	EXPECT_EQ(done.nr_atoms, 4);
	EXPECT_EQ(done.user_data, 7);
	EXPECT_EQ(done.atom, U64P(&c.a[3]));
	EXPECT_EQ(done.flags, SYSLET_COMP_SYNC);
}

TEST(i386_async_chain_getpid_openat_read_close_and_wait)
{
	uint64_t ud = 0x8765432100000042ULL;
	struct syslet_ring *r = ring_new(8);
	struct syslet_completion comp;
	struct chain4 c;

	REQUIRE_SYSLET32();
	chain4_init(&c, SYSLET_ASYNC, ud);
	ASSERT_EQ(async_exec(&c.a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	chain4_check(&c);
	EXPECT_EQ(comp.status, 0);
	EXPECT_EQ(comp.nr_atoms, 4);
	EXPECT_EQ(comp.user_data, ud);
	EXPECT_EQ(comp.flags, 0);
}

/* gettid in an async thread: its own id, in i386's number (224) */
TEST(i386_async_gettid_is_an_async_threads)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = 0;

	REQUIRE_SYSLET32();
	atom_set(&a, SYSLET_ASYNC, SYS_gettid, &ret, NULL);
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	EXPECT_GT(ret, 0);
	EXPECT_NE(ret, syscall(SYS_gettid));
	EXPECT_EQ(comp.status, ret);
}

/*
 * mmap2() made by an async thread for an i386 program: an address it can
 * use (below 4 GiB, the 32-bit layout: in_32bit_syscall() in the async
 * thread), and the page works.  In the caller as well.
 */
static void mmap2_atom(uint32_t mode)
{
	uint64_t len = 4096, prot = PROT_READ | PROT_WRITE,
		 fl = MAP_PRIVATE | MAP_ANONYMOUS, fd = (uint32_t)-1, pg = 0;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = 0;

	atom_set(&a, mode, SYS_mmap2, &ret, NULL);
	a.arg_ptr[1] = U64P(&len);
	a.arg_ptr[2] = U64P(&prot);
	a.arg_ptr[3] = U64P(&fl);
	a.arg_ptr[4] = U64P(&fd);
	a.arg_ptr[5] = U64P(&pg);
	if (mode == SYSLET_ASYNC) {
		ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
		ASSERT_TRUE(ring_get(r, &comp));
	} else {
		ASSERT_EQ(async_exec(&a, NULL, &comp, 0), SYSLET_DONE);
	}
	tap_diag("mmap2 atom (%s): %#llx", mode == SYSLET_ASYNC ? "async" : "sync",
		 (unsigned long long)ret);
	ASSERT_GT(ret, 0);
	ASSERT_LT(ret, 0x100000000LL);
	*(volatile char *)(uintptr_t)ret = 1;
	EXPECT_EQ(munmap((void *)(uintptr_t)ret, 4096), 0);
}

TEST(i386_mmap2_atom_async_gives_a_32bit_address)
{
	REQUIRE_SYSLET32();
	mmap2_atom(SYSLET_ASYNC);
}

TEST(i386_mmap2_atom_sync_gives_a_32bit_address)
{
	REQUIRE_SYSLET32();
	mmap2_atom(SYSLET_SYNC);
}

/*
 * pread64: its 64-bit offset in two registers (args 3 and 4, low half
 * first), as i386 passes it; a sparse file with data past 4 GiB.
 */
TEST(i386_async_pread64_offset_in_two_registers)
{
	uint64_t fdv, bufv, len = 3, lo = 5, hi = 1;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	char buf[4] = "";
	int64_t ret = 0;
	int fd;

	REQUIRE_SYSLET32();
	fd = mkstemp(tmpl);
	ASSERT_GE(fd, 0);
	unlink(tmpl);
	ASSERT_EQ(pwrite(fd, "xyz", 3, (off_t)0x100000005LL), 3);
	fdv = fd;
	bufv = U64P(buf);
	atom_set(&a, SYSLET_ASYNC, SYS_pread64, &ret, NULL);
	a.arg_ptr[0] = U64P(&fdv);
	a.arg_ptr[1] = U64P(&bufv);
	a.arg_ptr[2] = U64P(&len);
	a.arg_ptr[3] = U64P(&lo);
	a.arg_ptr[4] = U64P(&hi);
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	EXPECT_EQ(ret, 3);
	EXPECT_EQ(memcmp(buf, "xyz", 3), 0);
}

/* a number's upper half is not the callee's: i386 registers are 32-bit */
TEST(i386_argument_upper_halves_are_dropped)
{
	uint64_t fdv = 0xffffffff00000000ULL, bufv, len = 0x100000004ULL;
	struct syslet_completion comp;
	struct syslet_atom a[2];
	int64_t ret[2] = { 0, 0 };
	char buf[8] = "";
	int p[2];

	REQUIRE_SYSLET32();
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(write(p[1], "abcd", 4), 4);
	fdv |= (uint32_t)p[0];
	bufv = U64P(buf);
	atom_set(&a[0], SYSLET_SYNC, SYS_read, &ret[0], NULL);
	a[0].arg_ptr[0] = U64P(&fdv);
	a[0].arg_ptr[1] = U64P(&bufv);
	a[0].arg_ptr[2] = U64P(&len);
	ASSERT_EQ(async_exec(&a[0], NULL, &comp, 0), SYSLET_DONE);
	EXPECT_EQ(ret[0], 4);
	EXPECT_EQ(memcmp(buf, "abcd", 4), 0);
}

/* what i386 has that an atom may not make, and numbers it does not have */
TEST(i386_denied_and_unlisted_numbers)
{
	static const struct { uint32_t nr; int64_t want; } t[] = {
		{ SYS_fork, -EPERM }, { SYS_set_thread_area, -EPERM },
		{ SYS_nice, -EPERM }, { SYS_sigprocmask, -EPERM },
		{ SYS_setuid32, -EPERM }, { SYS_sigreturn, -EPERM },
		{ SYSLET_NR_ASYNC_EXEC, -EPERM },
		{ 17 /* break */, -ENOSYS }, { 451, -ENOSYS },
		{ 499, -ENOSYS }, { 0x40000000 | 39, -ENOSYS },
	};
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret;
	unsigned int i;

	REQUIRE_SYSLET32();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ret = 1;
		atom_set(&a, SYSLET_SYNC, t[i].nr, &ret, NULL);
		ASSERT_EQ(async_exec(&a, NULL, &comp, 0), SYSLET_DONE);
		if (ret != t[i].want)
			tap_diag("nr %u", t[i].nr);
		EXPECT_EQ(ret, t[i].want);
	}
}

/* sched_setaffinity(0, ...) names the thread that runs the atom */
TEST(i386_self_targeted_call_refused)
{
	uint64_t pid = 0, len = sizeof(unsigned long), maskp;
	unsigned long mask = 1;
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = 1;

	REQUIRE_SYSLET32();
	maskp = U64P(&mask);
	atom_set(&a, SYSLET_SYNC, SYS_sched_setaffinity, &ret, NULL);
	a.arg_ptr[0] = U64P(&pid);
	a.arg_ptr[1] = U64P(&len);
	a.arg_ptr[2] = U64P(&maskp);
	ASSERT_EQ(async_exec(&a, NULL, &comp, 0), SYSLET_DONE);
	EXPECT_EQ(ret, -EPERM);
}

/*
 * A lone atom with x86-64's pread64 number (17) is i386's "break": no
 * call, -ENOSYS, wherever it runs (not a read without a thread).
 */
TEST(i386_async_atom_17_is_not_pread64)
{
	uint64_t fdv, bufv, len = 4, off = 0;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	char buf[8] = "";
	int64_t ret = 0;

	REQUIRE_SYSLET32();
	fdv = open("/proc/self/stat", O_RDONLY);
	bufv = U64P(buf);
	atom_set(&a, SYSLET_ASYNC, 17, &ret, NULL);
	a.arg_ptr[0] = U64P(&fdv);
	a.arg_ptr[1] = U64P(&bufv);
	a.arg_ptr[2] = U64P(&len);
	a.arg_ptr[3] = U64P(&off);
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	EXPECT_EQ(ret, -ENOSYS);
	EXPECT_EQ(buf[0], 0);
}

/*
 * A sleep as i386 glibc makes it: clock_nanosleep_time64 (407), with the
 * 64-bit struct __kernel_timespec.  (The time32 calls, nanosleep with
 * struct old_timespec32, need CONFIG_COMPAT_32BIT_TIME, which the
 * project's kernels do not set: -ENOSYS, atom or direct call alike.)
 */
static void sleep_atom(struct syslet_atom *a, uint32_t flags, int64_t *ret,
		       struct __kernel_timespec *ts, uint64_t *args, int secs, int ms)
{
	ts->tv_sec = secs;
	ts->tv_nsec = ms * 1000000;
	args[0] = CLOCK_MONOTONIC;
	args[1] = 0;
	args[2] = U64P(ts);
	atom_set(a, flags, SYS_clock_nanosleep_time64, ret, NULL);
	a->arg_ptr[0] = U64P(&args[0]);
	a->arg_ptr[1] = U64P(&args[1]);
	a->arg_ptr[2] = U64P(&args[2]);
}

/*
 * async_cancel() of a running chain by a user word with its upper half
 * set (the compat entry joins the two registers).
 */
TEST(i386_cancel_running_chain_by_64bit_user_data)
{
	uint64_t ud = 0xabcdef0000000007ULL, tsp[3];
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	struct __kernel_timespec ts;
	int64_t ret = 0;
	long long t0;
	long c = -1;
	int i;

	REQUIRE_SYSLET32();
	sleep_atom(&a, SYSLET_ASYNC, &ret, &ts, tsp, 30, 0);
	a.user_data = ud;
	t0 = time(NULL);
	ASSERT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	/* the other half alone names no chain */
	EXPECT_EQ(async_cancel(r, (uint32_t)ud, 0), -1);
	EXPECT_EQ(errno, ENOENT);
	for (i = 0; i < 100 && c; i++) {
		c = async_cancel(r, ud, 0);
		if (c)
			usleep(10000);
	}
	ASSERT_EQ(c, 0);
	ASSERT_TRUE(ring_get(r, &comp));
	EXPECT_EQ(comp.status, -ECANCELED);
	EXPECT_EQ(comp.user_data, ud);
	EXPECT_TRUE(comp.flags & SYSLET_COMP_CANCELED);
	EXPECT_LT(time(NULL) - t0, 20);
}

/* async_wait(): the kernel timespec and an 8-byte mask, 6 registers */
TEST(i386_async_wait_times_out_with_a_mask)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t mask = 0;
	long n;

	REQUIRE_SYSLET32();
	n = async_pwait(r, 1, &ts, &mask, 8, 0);
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ETIME);
	n = async_pwait(r, 1, &ts, &mask, 8, 1);
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, EINVAL);
}

/* SYSLET_WAIT_ABSTIME: a CLOCK_MONOTONIC deadline, read as 64 bits */
TEST(i386_async_wait_to_a_deadline)
{
	struct syslet_ring *r = ring_new(4);
	struct timespec now, ts = { 1, 0 };
	uint64_t mask = 0;
	long long t0, took;
	long n;

	REQUIRE_SYSLET32();
	t0 = now_ms();
	n = async_pwait(r, 1, &ts, &mask, 8, SYSLET_WAIT_ABSTIME);
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ETIME);		/* long past */
	EXPECT_LT(now_ms() - t0, 800);		/* not 1 s from now */
	ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	ts.tv_sec = now.tv_sec;
	ts.tv_nsec = now.tv_nsec + 200 * 1000 * 1000;
	if (ts.tv_nsec >= 1000 * 1000 * 1000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000 * 1000 * 1000;
	}
	t0 = now_ms();
	n = async_pwait(r, 1, &ts, &mask, 8, SYSLET_WAIT_ABSTIME);
	took = now_ms() - t0;
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, ETIME);
	EXPECT_GE(took, 150);
	EXPECT_LT(took, 2000);
}

/*
 * The default mode: no pass-on-block for an i386 caller (the hand-off's
 * user context is 64-bit), the chain runs in the caller to its end.
 */
TEST(i386_default_mode_runs_in_the_caller)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a;
	struct __kernel_timespec ts;
	uint64_t tsp[3];
	int64_t ret = 1;

	REQUIRE_SYSLET32();
	sleep_atom(&a, 0, &ret, &ts, tsp, 0, 50);
	ASSERT_EQ(async_exec(&a, r, &comp, 0), SYSLET_DONE);
	EXPECT_EQ(ret, 0);
	EXPECT_EQ(comp.status, 0);
	EXPECT_EQ(comp.flags, SYSLET_COMP_SYNC);
}

/* threadlets move a 64-bit user context: refused for i386 callers */
TEST(i386_threadlets_refused)
{
	REQUIRE_SYSLET32();
	EXPECT_EQ(async_exec(NULL, NULL, NULL, SYSLET_EXEC_SPARE), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	EXPECT_EQ(async_exec(NULL, NULL, NULL, SYSLET_EXEC_THREADLET), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
}

/* SYSLET_EXEC_POST moves no registers: allowed */
TEST(i386_post_completes_through_the_ring)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion c = { .status = -5, .user_data = 1ULL << 40 },
				 got;

	REQUIRE_SYSLET32();
	ASSERT_EQ(async_exec(NULL, r, &c, SYSLET_EXEC_POST), 0);
	ASSERT_TRUE(ring_pop(r, &got));
	EXPECT_EQ(got.status, -5);
	EXPECT_EQ(got.user_data, 1ULL << 40);
}

/*
 * A filter the i386 program installs: atoms are checked as i386 calls
 * (AUDIT_ARCH_I386, i386 numbers), in the caller and in an async thread.
 * x86-64 arch: ERRNO(EXDEV); getppid (i386 64): ERRNO(EXFULL).
 */
static void filter_i386(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXFULL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(3);
}

TEST(i386_seccomp_sees_i386_arch_and_number)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a[2];
	int64_t ret[2] = { 1, 1 };
	uint32_t mode[2] = { SYSLET_SYNC, SYSLET_ASYNC };
	int i;

	REQUIRE_SYSLET32();
	filter_i386();
	/* the filter works on direct calls (glibc's getppid() returns -54) */
	ASSERT_EQ(syscall(SYS_getppid), -1);
	EXPECT_EQ(errno, EXFULL);
	for (i = 0; i < 2; i++) {
		ret[0] = ret[1] = 1;
		atom_set(&a[0], mode[i], SYS_getppid, &ret[0], &a[1]);
		atom_set(&a[1], 0, SYS_getpid, &ret[1], NULL);
		if (mode[i] == SYSLET_SYNC) {
			ASSERT_EQ(async_exec(&a[0], NULL, &comp, 0),
				  SYSLET_DONE);
		} else {
			ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
			ASSERT_TRUE(ring_get(r, &comp));
		}
		EXPECT_EQ(ret[0], -EXFULL);
		EXPECT_EQ(ret[1], getpid());
	}
}

/*
 * A tracer (PTRACE_SYSCALL) of an i386 program sees each atom the program
 * runs itself as an i386 call: orig_eax the i386 number, the arguments
 * in ebx, ecx, ..., the result in eax at the exit stop.
 */
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#define MAGIC_PGID	0x7a5e

static void traced_i386_child(void)
{
	uint64_t pgid = MAGIC_PGID;
	struct syslet_completion comp;
	struct syslet_atom a;
	int64_t ret = 0;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(2);
	raise(SIGSTOP);
	atom_set(&a, SYSLET_SYNC, SYS_getpgid, &ret, NULL);
	a.arg_ptr[0] = U64P(&pgid);
	if (async_exec(&a, NULL, &comp, 0) != SYSLET_DONE)
		_exit(3);
	_exit(ret == -ESRCH ? 0 : 1);
}

TEST(i386_ptrace_syscall_stops_per_atom_in_i386_registers)
{
	int status, entries = 0, exits = 0, in_atom = 0, stops = 0;
	struct user_regs_struct regs;
	pid_t pid;

	REQUIRE_SYSLET32();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		traced_i386_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)PTRACE_O_TRACESYSGOOD), 0);
	for (;;) {
		ASSERT_EQ(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status))
			break;
		ASSERT_TRUE(WIFSTOPPED(status));
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		ASSERT_LT(++stops, 1000);
		ASSERT_EQ(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
		if (regs.orig_eax != SYS_getpgid)
			continue;
		/* entry and exit stops alternate, the entry's eax -ENOSYS */
		if (!in_atom) {
			EXPECT_EQ(regs.ebx, MAGIC_PGID);
			entries++;
		} else {
			EXPECT_EQ(regs.eax, -ESRCH);
			exits++;
		}
		in_atom = !in_atom;
	}
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(entries, 1);
	EXPECT_EQ(exits, 1);
}

#else /* x86-64: chains submitted through the i386 entry, and 64-bit ones */

#include <sys/wait.h>

static long int80(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "0"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "r8", "r9", "r10", "r11", "cc");
	return (int)ret;
}

/* i386 numbers (this is an x86-64 program: <sys/syscall.h> has its own) */
#define I386_getpid	20
#define I386_gettid	224
#define I386_mmap2	192

struct low {
	struct syslet_atom a[4];
	int64_t ret[4];
	uint64_t len, prot, fl, fd, pg;
	struct syslet_completion comp;
	char ring[SYSLET_RING_BYTES(8)] __attribute__((aligned(64)));
};

static struct low *low_mem(void)
{
	void *p = mmap(NULL, sizeof(struct low), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED || (uintptr_t)p >= 0x100000000ULL)
		_exit(2);
	return p;
}

static int present(void)
{
	struct syslet_limits l = { .size = sizeof(l) };

	return async_limits(NULL, &l) == 0 &&
	       int80(SYSLET_NR_ASYNC_LIMITS, 0, (long)(uintptr_t)&l, 0, 0, 0) != -ENOSYS;
}

/* in the guest the patched kernel must answer: fail there, skip else */
#define REQUIRE_SYSLET32() do {						\
		if (!present() && getenv("SYSLET_GUEST"))		\
			TAP_FAIL_(1, "no syslet calls through the i386 entry"); \
		if (!present())						\
			SKIP("no syslet system calls for i386 callers"); \
	} while (0)

/*
 * One async thread (max_threads 1) runs i386 and x86-64 chains in turn:
 * getpid, gettid and mmap in each one's numbers; mmap gives the i386
 * chain a 32-bit address.  The first chain is i386: the thread is made
 * in an i386 call.
 */
TEST(one_async_thread_runs_i386_and_x86_64_chains_in_turn)
{
	struct syslet_limits l = { .size = sizeof(l), .max_threads = 1 };
	struct low *m = low_mem();
	struct syslet_ring *r = ring_at(m->ring, 8);
	pid_t tid = 0;
	int round;

	REQUIRE_SYSLET32();
	ASSERT_EQ(async_limits(&l, NULL), 0);
	m->len = 4096;
	m->prot = PROT_READ | PROT_WRITE;
	m->fl = MAP_PRIVATE | MAP_ANONYMOUS;
	m->fd = (uint64_t)-1;
	m->pg = 0;
	for (round = 0; round < 6; round++) {
		int i386 = !(round & 1);
		long ret;

		memset(m->ret, 0x55, sizeof(m->ret));
		atom_set(&m->a[0], SYSLET_ASYNC, i386 ? I386_getpid : SYS_getpid,
			 &m->ret[0], &m->a[1]);
		atom_set(&m->a[1], 0, i386 ? I386_gettid : SYS_gettid,
			 &m->ret[1], &m->a[2]);
		atom_set(&m->a[2], 0, i386 ? I386_mmap2 : SYS_mmap,
			 &m->ret[2], NULL);
		m->a[2].arg_ptr[1] = U64P(&m->len);
		m->a[2].arg_ptr[2] = U64P(&m->prot);
		m->a[2].arg_ptr[3] = U64P(&m->fl);
		m->a[2].arg_ptr[4] = U64P(&m->fd);
		m->a[2].arg_ptr[5] = U64P(&m->pg);
		if (i386)
			ret = int80(SYSLET_NR_ASYNC_EXEC, (long)(uintptr_t)&m->a[0],
				    (long)(uintptr_t)r, 0, 0, 0);
		else
			ret = async_exec(&m->a[0], r, NULL, 0);
		ASSERT_EQ(ret, SYSLET_QUEUED);
		ASSERT_TRUE(ring_get(r, &m->comp));
		tap_diag("round %d (%s): getpid %lld gettid %lld mmap %#llx",
			 round, i386 ? "i386" : "x86-64", (long long)m->ret[0],
			 (long long)m->ret[1], (unsigned long long)m->ret[2]);
		EXPECT_EQ(m->ret[0], getpid());
		EXPECT_GT(m->ret[1], 0);
		EXPECT_NE(m->ret[1], syscall(SYS_gettid));
		if (!tid)
			tid = m->ret[1];
		EXPECT_EQ(m->ret[1], tid);
		EXPECT_GT(m->ret[2], 0);
		/* each in its layout: the thread is not left in a 32-bit call */
		if (i386)
			EXPECT_LT(m->ret[2], 0x100000000LL);
		else
			EXPECT_GT(m->ret[2], 0xffffffffLL);
		if (m->ret[2] > 0)
			munmap((void *)(uintptr_t)m->ret[2], 4096);
		EXPECT_EQ(m->comp.nr_atoms, 3);
	}
}

/* --- audit: an i386 atom's record has the i386 arch and number --------- */

#define I386_getpgid	132	/* x86-64's 132 is utime */
#define MAGIC32		0x7a5e

/* getpgid(MAGIC32 + i) as an i386 atom: SYNC (i 0) and ASYNC (i 1) */
static void audited_i386_child(void)
{
	struct low *m = low_mem();
	struct syslet_ring *r = ring_at(m->ring, 8);
	int i;

	for (i = 0; i < 2; i++) {
		long ret;

		m->len = MAGIC32 + i;
		atom_set(&m->a[0], i ? SYSLET_ASYNC : SYSLET_SYNC,
			 I386_getpgid, &m->ret[0], NULL);
		m->a[0].arg_ptr[0] = U64P(&m->len);
		ret = int80(SYSLET_NR_ASYNC_EXEC, (long)(uintptr_t)&m->a[0],
			    i ? (long)(uintptr_t)r : 0,
			    i ? 0 : (long)(uintptr_t)&m->comp, 0, 0);
		if (ret != (i ? SYSLET_QUEUED : SYSLET_DONE))
			_exit(1);
		if (i && !ring_get(r, &m->comp))
			_exit(2);
		if (m->ret[0] != -ESRCH)
			_exit(3);
	}
	_exit(0);
}

TEST(i386_atoms_audited_with_the_i386_arch_and_number)
{
	struct audit_rule_data rule;
	int fd, status, got[2] = { 0, 0 }, wrong = 0, i, type;
	struct audit_reader ar;
	char want[96], *text;
	pid_t pid;

	REQUIRE_SYSLET32();
	fd = audit_open();
	if (fd == -1)
		SKIP("no audit netlink socket: %s", strerror(errno));
	ASSERT_GE(fd, 0);	/* bound */
	if (audit_set(fd, 1, getpid()))
		SKIP("cannot enable audit (not root, or auditd runs)");
	audit_rule(&rule, I386_getpgid);
	ASSERT_EQ(audit_send(fd, AUDIT_ADD_RULE, &rule, sizeof(rule)), 0);

	/* audited tasks are those made after audit was enabled */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		audited_i386_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);

	audit_reader_init(&ar, fd, 4000);
	while ((type = audit_next(&ar, &text))) {
		if (type != AUDIT_SYSCALL)
			continue;
		for (i = 0; i < 2; i++) {
			snprintf(want, sizeof(want), " a0=%x ", MAGIC32 + i);
			if (!strstr(text, want))
				continue;
			tap_diag("%s", text);
			snprintf(want, sizeof(want), "arch=%x syscall=%d ",
				 AUDIT_ARCH_I386, I386_getpgid);
			if (strstr(text, want) && strstr(text, " exit=-3 "))
				got[i]++;
			else
				wrong++;
		}
	}
	audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
	audit_set(fd, 0, 0);
	close(fd);
	EXPECT_EQ(got[0], 1);	/* SYSLET_SYNC, in the caller */
	EXPECT_EQ(got[1], 1);	/* SYSLET_ASYNC, in an async thread */
	EXPECT_EQ(wrong, 0);
}

/* the same from the caller (SYSLET_SYNC), through either entry */
TEST(sync_chains_through_either_entry)
{
	struct low *m = low_mem();
	int i;

	REQUIRE_SYSLET32();
	for (i = 0; i < 2; i++) {
		long ret;

		memset(m->ret, 0x55, sizeof(m->ret));
		atom_set(&m->a[0], SYSLET_SYNC, i ? SYS_gettid : I386_gettid,
			 &m->ret[0], NULL);
		if (!i)
			ret = int80(SYSLET_NR_ASYNC_EXEC, (long)(uintptr_t)&m->a[0],
				    0, (long)(uintptr_t)&m->comp, 0, 0);
		else
			ret = async_exec(&m->a[0], NULL, &m->comp, 0);
		ASSERT_EQ(ret, SYSLET_DONE);
		EXPECT_EQ(m->ret[0], syscall(SYS_gettid));
	}
}

#endif

TAP_MAIN
