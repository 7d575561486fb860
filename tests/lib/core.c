// SPDX-License-Identifier: GPL-2.0
/*
 * libsyslet: the calls atoms may not make (-EPERM), on the backend
 * $SYSLET_BACKEND selects; tests/host/21-libsyslet-forbidden.sh checks
 * these tests name every call the kernel refuses.  The other calls have
 * a file each in tests/lib (ctx, chain, submit, wait, cq, limits, prep,
 * cancel, threadlet, ...).
 */
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

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

struct call {
	const char *name;
	unsigned int nr;
	uint64_t args[6];
};

static const unsigned int modes[] = { 0, SYSLET_ASYNC, SYSLET_SYNC };

static const char *mode_name(unsigned int mode)
{
	return mode == SYSLET_SYNC ? "sync" :
	       mode == SYSLET_ASYNC ? "async" : "default";
}

/*
 * Runs one atom @nr(@args) with head flags @mode (SYSLET_SYNC: in the
 * caller, into *done) and returns its result slot, or -99999 if the
 * submission itself failed.  Arguments go in by value (syslet_op_arg()).
 */
static int64_t run_call(struct syslet_ctx *ctx, unsigned int nr,
			const uint64_t *args, unsigned int mode)
{
	struct syslet_completion c;
	struct syslet_op a;
	unsigned int i;
	int ret;

	syslet_op_init(&a, nr, mode);
	a.ret = -12345;
	for (i = 0; i < 6; i++)
		syslet_op_arg(&a, i, args ? args[i] : 0);
	if (mode == SYSLET_SYNC) {
		ret = syslet_submit_done(ctx, &a.atom, &c);
		if (ret != SYSLET_DONE)
			return -99999;
	} else if (run1(ctx, &a.atom, &c) != a.ret) {
		return -99999;
	}
	return c.status == a.ret ? a.ret : -99998;
}

/* every x86-64 call kernel/syslet/calls.h denies (SYSLET_DENY), in every mode */
TEST(forbidden_calls_eperm)
{
	static uint32_t g = 1000;
	static uint32_t hdr[2] = { 0x20080522, 0 }, caps[6];
	const struct call calls[] = {
		{ "fork", SYS_fork, { 0 } },
		{ "vfork", SYS_vfork, { 0 } },
		{ "clone", SYS_clone, { 0 } },
		{ "clone3", SYS_clone3, { 0 } },
		{ "execve", SYS_execve, { 0 } },
		{ "execveat", SYS_execveat, { 0 } },
		{ "exit", SYS_exit, { 0 } },
		{ "exit_group", SYS_exit_group, { 0 } },
		{ "rt_sigreturn", SYS_rt_sigreturn, { 0 } },
		{ "restart_syscall", SYS_restart_syscall, { 0 } },
		{ "rt_sigprocmask", SYS_rt_sigprocmask, { 0, 0, 0, 8 } },
		{ "rt_sigsuspend", SYS_rt_sigsuspend, { 0 } },
		{ "rt_sigtimedwait", SYS_rt_sigtimedwait, { 0 } },
		{ "sigaltstack", SYS_sigaltstack, { 0 } },
		{ "pause", SYS_pause, { 0 } },
		{ "arch_prctl", SYS_arch_prctl, { 0x1002, 0 } },
		{ "set_tid_address", SYS_set_tid_address, { 0 } },
		{ "set_robust_list", SYS_set_robust_list, { 0, 24 } },
		{ "rseq", SYS_rseq, { 0, 32, 0, 0 } },
		{ "pkey_alloc", SYS_pkey_alloc, { 0, 0 } },
		{ "prctl", SYS_prctl, { 15, (uintptr_t)"evil" } },
		{ "seccomp", SYS_seccomp, { 0 } },
		{ "ptrace", SYS_ptrace, { 0 } },
		{ "personality", SYS_personality, { 0x0040000 } },
		{ "unshare", SYS_unshare, { CLONE_FILES } },
		{ "setns", SYS_setns, { 0 } },
		{ "setuid", SYS_setuid, { 1000 } },
		{ "setgid", SYS_setgid, { 1000 } },
		{ "setreuid", SYS_setreuid, { 1000, 1000 } },
		{ "setregid", SYS_setregid, { 1000, 1000 } },
		{ "setresuid", SYS_setresuid, { 1000, 1000, 1000 } },
		{ "setresgid", SYS_setresgid, { 1000, 1000, 1000 } },
		{ "setfsuid", SYS_setfsuid, { 1000 } },
		{ "setfsgid", SYS_setfsgid, { 1000 } },
		{ "setgroups", SYS_setgroups, { 1, (uintptr_t)&g } },
		{ "capset", SYS_capset, { (uintptr_t)hdr, (uintptr_t)caps } },
		{ "add_key", SYS_add_key, { (uintptr_t)"user", (uintptr_t)"k",
					    (uintptr_t)"v", 1, (uint64_t)-1 } },
		{ "request_key", SYS_request_key, { (uintptr_t)"user",
						    (uintptr_t)"k", 0, 0 } },
		{ "keyctl", SYS_keyctl, { 0, (uint64_t)-1, 1 } },
		{ "landlock_restrict_self", SYS_landlock_restrict_self, { 0 } },
#ifdef SYS_uretprobe		/* Linux 6.11 on, where the headers have it */
		{ "uretprobe", SYS_uretprobe, { 0 } },
#endif
#ifdef SYS_lsm_get_self_attr	/* Linux 6.8 on, where the headers have it */
		{ "lsm_get_self_attr", SYS_lsm_get_self_attr, { 0 } },
		{ "lsm_set_self_attr", SYS_lsm_set_self_attr, { 0 } },
#endif
		{ "set_mempolicy", SYS_set_mempolicy, { 0 } },
		{ "iopl", SYS_iopl, { 3 } },
		{ "ioperm", SYS_ioperm, { 0x80, 1, 1 } },
		{ "modify_ldt", SYS_modify_ldt, { 0 } },
		{ "io_uring_setup", SYS_io_uring_setup, { 0 } },
		{ "io_uring_enter", SYS_io_uring_enter, { 0 } },
		{ "io_uring_register", SYS_io_uring_register, { 0 } },
		{ "async_exec", SYSLET_NR_ASYNC_EXEC, { 0 } },
		{ "async_wait", SYSLET_NR_ASYNC_WAIT, { 0 } },
		{ "async_cancel", SYSLET_NR_ASYNC_CANCEL, { 0 } },
		{ "async_limits", SYSLET_NR_ASYNC_LIMITS, { 0 } },
	};
	struct syslet_ctx ctx;
	unsigned int i, m;
	uid_t uid = getuid(), euid = geteuid();
	gid_t gid = getgid();
	int pers = personality(0xffffffff);

	ctx_or_die(&ctx, 8);
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			int64_t ret = run_call(&ctx, calls[i].nr,
					       calls[i].args, modes[m]);

			if (ret != -EPERM)
				tap_diag("%s (%s): %lld", calls[i].name,
					 mode_name(modes[m]), (long long)ret);
			EXPECT_EQ(ret, -EPERM);
		}
	}
	/* nothing changed, and the context still works */
	EXPECT_EQ(getuid(), uid);
	EXPECT_EQ(geteuid(), euid);
	EXPECT_EQ(getgid(), gid);
	EXPECT_EQ(personality(0xffffffff), pers);
	EXPECT_EQ(run_call(&ctx, 100000, NULL, 0), -ENOSYS);
	EXPECT_EQ(run_call(&ctx, SYS_getpid, NULL, SYSLET_ASYNC), getpid());
	syslet_ctx_exit(&ctx);
}

/*
 * Per-thread scheduling state, nice, I/O priority and a private file
 * table are refused when the call names the thread running the atom: 0,
 * or its own id, or a process group or user it is part of (setpriority
 * and ioprio_set), whichever thread that is (the caller for SYSLET_SYNC, a
 * worker or async thread otherwise).  Naming another thread is allowed.
 */
TEST(forbidden_self_targeted_calls_eperm)
{
	static cpu_set_t set;
	static struct sched_param sp;
	static uint32_t attr[14] = { 56 };
	const struct call calls[] = {
		{ "sched_setaffinity", SYS_sched_setaffinity,
		  { 0, sizeof(set), (uintptr_t)&set } },
		{ "sched_setscheduler", SYS_sched_setscheduler,
		  { 0, SCHED_OTHER, (uintptr_t)&sp } },
		{ "sched_setparam", SYS_sched_setparam, { 0, (uintptr_t)&sp } },
		{ "sched_setattr", SYS_sched_setattr, { 0, (uintptr_t)attr, 0 } },
		{ "setpriority", SYS_setpriority, { PRIO_PROCESS, 0, 5 } },
		/* int arguments: the call ignores the upper 32 bits */
		{ "setpriority(high bits)", SYS_setpriority,
		  { PRIO_PROCESS | (7ULL << 32), 1ULL << 32, 5 } },
		{ "ioprio_set", SYS_ioprio_set,
		  { 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7 } },
		/*
		 * a process group or user the running thread is part of; if
		 * not refused, they must not change other processes: the
		 * nice value is ours, the I/O priority class invalid (7)
		 */
		{ "setpriority(PRIO_PGRP)", SYS_setpriority,
		  { PRIO_PGRP, 0, (uint64_t)getpriority(PRIO_PROCESS, 0) } },
		{ "setpriority(PRIO_USER)", SYS_setpriority,
		  { PRIO_USER, 0, (uint64_t)getpriority(PRIO_PROCESS, 0) } },
		{ "ioprio_set(WHO_PGRP)", SYS_ioprio_set,
		  { 2 /* IOPRIO_WHO_PGRP */, 0, 7 << 13 } },
		{ "ioprio_set(WHO_USER)", SYS_ioprio_set,
		  { 3 /* IOPRIO_WHO_USER */, 0, 7 << 13 } },
		{ "close_range(UNSHARE)", SYS_close_range,
		  { 1000, 1001, 1U << 1 /* CLOSE_RANGE_UNSHARE */ } },
	};
	uint64_t own[6] = { PRIO_PROCESS, (uint64_t)syscall(SYS_gettid), 5 };
	uint64_t mine[6] = { PRIO_PROCESS, (uint64_t)syscall(SYS_gettid), 3 };
	uint64_t cr[6] = { 0 };
	struct syslet_op tid, prio;
	struct syslet_completion c;
	struct syslet_ctx ctx;
	unsigned int i, m;
	int nice0, fd;

	ctx_or_die(&ctx, 8);
	sched_getaffinity(0, sizeof(set), &set);
	errno = 0;
	nice0 = getpriority(PRIO_PROCESS, 0);
	ASSERT_EQ(errno, 0);
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			int64_t ret = run_call(&ctx, calls[i].nr,
					       calls[i].args, modes[m]);

			if (ret != -EPERM)
				tap_diag("%s (%s): %lld", calls[i].name,
					 mode_name(modes[m]), (long long)ret);
			EXPECT_EQ(ret, -EPERM);
		}
	}
	/* in the caller, by its own thread id */
	EXPECT_EQ(run_call(&ctx, SYS_setpriority, own, SYSLET_SYNC), -EPERM);
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), nice0);

	/* an async atom naming its own thread, whose id a gettid atom fed */
	syslet_op_init(&tid, SYS_gettid, SYSLET_ASYNC);
	syslet_prep_syscall(&prio, SYS_setpriority, PRIO_PROCESS, 0, 10, 0, 0, 0);
	syslet_op_arg_ret(&prio, 1, &tid);
	syslet_op_link(&tid, &prio);
	ASSERT_EQ(run1(&ctx, &tid.atom, &c), -EPERM);
	EXPECT_EQ(c.nr_atoms, 2u);
	EXPECT_GT(tid.ret, 0);
	EXPECT_NE(tid.ret, syscall(SYS_gettid));
	EXPECT_EQ(prio.ret, -EPERM);

	/* allowed: an async atom naming the submitting thread acts on it */
	EXPECT_EQ(run_call(&ctx, SYS_setpriority, mine, SYSLET_ASYNC), 0);
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 3);
	/* allowed: close_range without UNSHARE, in the shared table */
	fd = open("/dev/null", O_RDONLY);
	ASSERT_GE(fd, 0);
	cr[0] = cr[1] = (uint64_t)fd;
	EXPECT_EQ(run_call(&ctx, SYS_close_range, cr, SYSLET_ASYNC), 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), -1);
	EXPECT_EQ(errno, EBADF);
	syslet_ctx_exit(&ctx);
}

TAP_MAIN
