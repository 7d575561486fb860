// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 9, point 2: calls that change the identity or per-thread state of
 * the task that makes them are refused in atoms (-EPERM, in every mode),
 * and leave that state as it was; the per-thread calls that are allowed
 * act on the thread that runs the atom (docs/security.md lists both).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/close_range.h>
#include <linux/ioprio.h>
#include "tap.h"
#include "sys.h"

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

struct call {
	const char *name;
	int nr;
	uint64_t args[6];
};

/* one atom with immediate argument values; returns its result */
static int64_t run_atom(int nr, const uint64_t *args, int sync,
			struct syslet_ring *r)
{
	struct syslet_completion done;
	struct syslet_atom a;
	uint64_t v[6];
	int64_t ret = -12345;

	memset(&a, 0, sizeof(a));
	a.nr = nr;
	a.ret_ptr = (uintptr_t)&ret;
	for (int i = 0; i < 6; i++) {
		v[i] = args ? args[i] : 0;
		a.arg_ptr[i] = (uintptr_t)&v[i];
	}
	if (sync) {
		a.flags = SYSLET_SYNC;
		if (async_exec(&a, NULL, &done, 0) != SYSLET_DONE)
			return -99999;
		return ret;
	}
	a.flags = SYSLET_ASYNC;
	if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED || !ring_get(r, &done))
		return -99999;
	return ret;
}

/* What the identity of this process looks like, to compare. */
struct ident {
	uid_t r, e, s, fs;
	gid_t rg, eg, sg;
	int ngroups;
	int pers;
	int nice;
};

static void ident_now(struct ident *id)
{
	getresuid(&id->r, &id->e, &id->s);
	getresgid(&id->rg, &id->eg, &id->sg);
	id->fs = setfsuid(-1);
	id->ngroups = getgroups(0, NULL);
	id->pers = personality(0xffffffff);
	errno = 0;
	id->nice = getpriority(PRIO_PROCESS, 0);
}

TEST(identity_calls_are_refused_in_every_mode)
{
	static struct __user_cap_header { uint32_t v; int pid; } hdr = {
		0x20080522, 0 };
	static struct { uint32_t e, p, i; } caps[2];
	static const gid_t g = 1000;
	const struct call calls[] = {
		{ "setuid", SYS_setuid, { 1000 } },
		{ "setgid", SYS_setgid, { 1000 } },
		{ "setreuid", SYS_setreuid, { 1000, 1000 } },
		{ "setregid", SYS_setregid, { 1000, 1000 } },
		{ "setresuid", SYS_setresuid, { 1000, 1000, 1000 } },
		{ "setresgid", SYS_setresgid, { 1000, 1000, 1000 } },
		{ "setfsuid", SYS_setfsuid, { 1000 } },
		{ "setfsgid", SYS_setfsgid, { 1000 } },
		{ "setgroups", SYS_setgroups, { 1, (uintptr_t)&g } },
		{ "capset", SYS_capset, { (uintptr_t)&hdr, (uintptr_t)caps } },
		{ "unshare", SYS_unshare, { CLONE_FILES } },
		{ "unshare(NEWNS)", SYS_unshare, { CLONE_NEWNS } },
		{ "setns", SYS_setns, { 0, 0 } },
		{ "prctl(SET_NAME)", SYS_prctl, { 15, (uintptr_t)"evil" } },
		{ "prctl(SET_NO_NEW_PRIVS)", SYS_prctl, { 38, 1 } },
		{ "personality", SYS_personality, { 0x0040000 } },
		{ "arch_prctl", SYS_arch_prctl, { 0x1002, 0 } },
		{ "seccomp", SYS_seccomp, { 0, 0, 0 } },
		{ "ptrace", SYS_ptrace, { 0 } },
		{ "keyctl", SYS_keyctl, { 0, (uint64_t)-1, 1 } },
		{ "add_key", SYS_add_key, { (uintptr_t)"user", (uintptr_t)"k",
					    (uintptr_t)"v", 1, (uint64_t)-1 } },
		{ "request_key", SYS_request_key, { (uintptr_t)"user",
						    (uintptr_t)"k", 0, 0 } },
		{ "landlock_restrict_self", SYS_landlock_restrict_self, { 0 } },
		{ "set_mempolicy", SYS_set_mempolicy, { 0, 0, 0 } },
		{ "set_tid_address", SYS_set_tid_address, { 0 } },
		{ "set_robust_list", SYS_set_robust_list, { 0, 24 } },
		{ "rseq", SYS_rseq, { 0, 32, 0, 0 } },
		{ "sigaltstack", SYS_sigaltstack, { 0, 0 } },
		{ "rt_sigprocmask", SYS_rt_sigprocmask, { 0, 0, 0, 8 } },
		{ "modify_ldt", SYS_modify_ldt, { 0, 0, 0 } },
		{ "iopl", SYS_iopl, { 3 } },
		{ "ioperm", SYS_ioperm, { 0x80, 1, 1 } },
	};
	struct syslet_ring *r = ring_new(4);
	struct ident before, after;

	REQUIRE_SYSLET();
	ident_now(&before);
	for (unsigned int i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		for (int sync = 0; sync < 2; sync++) {
			int64_t ret = run_atom(calls[i].nr, calls[i].args,
					       sync, r);

			if (ret != -EPERM)
				tap_diag("%s (%s): %lld", calls[i].name,
					 sync ? "sync" : "queued",
					 (long long)ret);
			EXPECT_EQ(ret, -EPERM);
		}
	}
	ident_now(&after);
	ASSERT_EQ(after.r, before.r);
	ASSERT_EQ(after.e, before.e);
	ASSERT_EQ(after.s, before.s);
	ASSERT_EQ(after.fs, before.fs);
	ASSERT_EQ(after.rg, before.rg);
	ASSERT_EQ(after.eg, before.eg);
	ASSERT_EQ(after.sg, before.sg);
	ASSERT_EQ(after.ngroups, before.ngroups);
	ASSERT_EQ(after.pers, before.pers);
	/* the engine still works: queued chains run as before */
	ASSERT_EQ(run_atom(SYS_getpid, NULL, 0, r), getpid());
}

/*
 * Per-thread scheduling state, I/O priority and a private file table are
 * refused when the call names the thread running the atom (0, or its own
 * id), whichever thread that is.
 */
TEST(per_thread_state_of_the_running_thread_is_refused)
{
	static cpu_set_t set;
	static struct sched_param sp;
	static uint32_t attr[14] = { 56 };
	struct syslet_ring *r = ring_new(4);
	const struct call calls[] = {
		{ "sched_setaffinity", SYS_sched_setaffinity,
		  { 0, sizeof(set), (uintptr_t)&set } },
		{ "sched_setscheduler", SYS_sched_setscheduler,
		  { 0, SCHED_OTHER, (uintptr_t)&sp } },
		{ "sched_setparam", SYS_sched_setparam, { 0, (uintptr_t)&sp } },
		{ "sched_setattr", SYS_sched_setattr, { 0, (uintptr_t)attr, 0 } },
		{ "setpriority", SYS_setpriority, { PRIO_PROCESS, 0, 5 } },
		/* int arguments: upper bits are ignored by the call */
		{ "setpriority(high bits)", SYS_setpriority,
		  { PRIO_PROCESS | (7ULL << 32), 1ULL << 32, 5 } },
		{ "ioprio_set", SYS_ioprio_set,
		  { IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7) } },
		{ "close_range(UNSHARE)", SYS_close_range,
		  { 1000, 1001, CLOSE_RANGE_UNSHARE } },
	};
	int nice0;

	REQUIRE_SYSLET();
	sched_getaffinity(0, sizeof(set), &set);
	errno = 0;
	nice0 = getpriority(PRIO_PROCESS, 0);
	for (unsigned int i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		for (int sync = 0; sync < 2; sync++) {
			int64_t ret = run_atom(calls[i].nr, calls[i].args,
					       sync, r);

			if (ret != -EPERM)
				tap_diag("%s (%s): %lld", calls[i].name,
					 sync ? "sync" : "queued",
					 (long long)ret);
			EXPECT_EQ(ret, -EPERM);
		}
	}
	/* in the caller, by its own id */
	uint64_t own[6] = { PRIO_PROCESS, (uint64_t)syscall(SYS_gettid), 5 };

	ASSERT_EQ(run_atom(SYS_setpriority, own, 1, r), -EPERM);
	ASSERT_EQ(getpriority(PRIO_PROCESS, 0), nice0);
}

/*
 * The async thread by its own id: a gettid atom feeds the next atom's
 * argument, so the chain names the thread it runs in.
 */
TEST(async_thread_naming_itself_is_refused)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct syslet_atom a[2];
	int64_t tid = 0, ret = -12345;
	uint64_t which = PRIO_PROCESS, prio = 10;

	REQUIRE_SYSLET();
	atom_init(&a[0], SYSLET_ASYNC, SYS_gettid, &tid, NULL, NULL, NULL, NULL);
	atom_init(&a[1], 0, SYS_setpriority, &ret, &which, (uint64_t *)&tid,
		  &prio, NULL);
	a[0].next = (uintptr_t)&a[1];
	ASSERT_EQ(async_exec(&a[0], r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_GT(tid, 0);
	ASSERT_NE(tid, syscall(SYS_gettid));
	ASSERT_EQ(ret, -EPERM);
}

/*
 * Allowed, with their documented meaning: naming another thread acts on
 * it (the submitter's nice changes from an async thread), gettid is the
 * running thread's, and close_range without UNSHARE closes in the
 * process's shared table.
 */
TEST(allowed_per_thread_calls_act_on_what_they_name)
{
	struct syslet_ring *r = ring_new(4);
	uint64_t mine[6] = { PRIO_PROCESS, (uint64_t)syscall(SYS_gettid), 3 };
	uint64_t cr[6];
	int fd;

	REQUIRE_SYSLET();
	ASSERT_EQ(run_atom(SYS_setpriority, mine, 0, r), 0);
	ASSERT_EQ(getpriority(PRIO_PROCESS, 0), 3);
	ASSERT_EQ(run_atom(SYS_gettid, NULL, 1, r), syscall(SYS_gettid));
	ASSERT_NE(run_atom(SYS_gettid, NULL, 0, r), syscall(SYS_gettid));
	ASSERT_EQ(run_atom(SYS_getpid, NULL, 0, r), getpid());
	fd = open("/dev/null", O_RDONLY);
	ASSERT_GE(fd, 0);
	cr[0] = cr[1] = fd;
	cr[2] = 0;
	ASSERT_EQ(run_atom(SYS_close_range, cr, 0, r), 0);
	ASSERT_EQ(fcntl(fd, F_GETFD), -1);		/* closed for us too */
	ASSERT_EQ(errno, EBADF);
}

/* one read(fd, &c, 1) chain in the default (pass-on-block) mode */
struct pobrd {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
	long sub;		/* what async_exec() returned */
};

static void pobrd_submit(struct pobrd *b, int fd, struct syslet_ring *r)
{
	b->fd = fd;
	b->buf = (uintptr_t)&b->c;
	b->len = 1;
	atom_init(&b->a, 0, SYS_read, &b->ret, &b->fd, &b->buf, &b->len, NULL);
	b->sub = async_exec(&b->a, r, NULL, 0);
}

struct tid_arg {
	int fd;
	pid_t before, after;
	long sub;
	int got;
};

static void *tid_thread(void *p)
{
	struct tid_arg *t = p;
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct pobrd b;

	t->before = (pid_t)syscall(SYS_gettid);
	pobrd_submit(&b, t->fd, r);
	t->sub = b.sub;
	t->got = b.sub == SYSLET_DONE ? ring_pop(r, &comp) : ring_get(r, &comp);
	t->after = (pid_t)syscall(SYS_gettid);
	return NULL;		/* exits: with a hand-off, on another task */
}

/*
 * A TID stays with its user context through pass-on-block hand-offs:
 * the main thread hands its context off (the leader task finishes its
 * chain and goes idle), then another thread blocks in a chain and exits.
 * Neither thread's TID may change, and the main thread's stays the TGID.
 */
TEST(tids_stay_with_their_threads_across_handoffs)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	struct tid_arg t = { 0 };
	int p1[2], p2[2];
	struct pobrd b;
	pthread_t th;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(p1), 0);
	ASSERT_EQ(pipe(p2), 0);
	pobrd_submit(&b, p1[0], r);
	ASSERT_EQ(b.sub, SYSLET_QUEUED);		/* handed off */
	ASSERT_EQ(write(p1[1], "x", 1), 1);
	ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(comp.status, 1);
	ASSERT_EQ(syscall(SYS_gettid), getpid());
	usleep(100000);				/* the leader task is idle */

	t.fd = p2[0];
	ASSERT_EQ(pthread_create(&th, NULL, tid_thread, &t), 0);
	usleep(300000);
	ASSERT_EQ(write(p2[1], "y", 1), 1);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_TRUE(t.got);
	tap_diag("second chain: %s", t.sub == SYSLET_QUEUED ? "handed off" :
		 "ran in its caller");
	ASSERT_EQ(t.after, t.before);
	usleep(100000);
	ASSERT_EQ(syscall(SYS_gettid), getpid());
	/* and the process still works as one */
	pobrd_submit(&b, p1[0], r);
	ASSERT_EQ(write(p1[1], "z", 1), 1);
	if (b.sub == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(r, &comp));
	ASSERT_EQ(syscall(SYS_gettid), getpid());
}

TAP_MAIN
