// SPDX-License-Identifier: GPL-2.0
/*
 * libsyslet core API: contexts, ops, data flow, flags, submission modes,
 * reaping, waiting, limits.  Run on the backend $SYSLET_BACKEND selects.
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

static const char msg[] = "hello, syslets\n";

static int tmpfile_with(const char *data, size_t len)
{
	char path[] = "/tmp/syslet-lib-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len)
		return -1;
	return fd;
}

TEST(ctx_init_rounds_and_rejects)
{
	struct syslet_ctx ctx;

	ASSERT_EQ(syslet_ctx_init(&ctx, 0, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 65537, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 8, 0x100), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 8, SYSLET_CTX_EMULATED |
				  SYSLET_CTX_KERNEL), -EINVAL);
	ASSERT_EQ(syslet_ctx_init(&ctx, 5, 0), 0);
	EXPECT_EQ(ctx.ring_entries, 8u);
	EXPECT_EQ(ctx.ring->nr_entries, 8u);
	EXPECT_EQ(ctx.ring->size, (unsigned int)sizeof(struct syslet_ring));
	EXPECT_EQ((uintptr_t)ctx.ring % SYSLET_RING_ALIGN, 0u);
	syslet_ctx_exit(&ctx);
}

TEST(ctx_backend_selection)
{
	const char *env = getenv("SYSLET_BACKEND");
	struct syslet_ctx ctx;

	ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_EMULATED), 0);
	EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_EMULATED);
	EXPECT_EQ(strcmp(syslet_backend_name(&ctx), "emulated"), 0);
	syslet_ctx_exit(&ctx);

	if (syslet_kernel_supported()) {
		ASSERT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_KERNEL), 0);
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_KERNEL);
		syslet_ctx_exit(&ctx);
	} else {
		EXPECT_EQ(syslet_ctx_init(&ctx, 4, SYSLET_CTX_KERNEL), -ENOSYS);
	}
	ctx_or_die(&ctx, 4);
	if (env && !strcmp(env, "emulated"))
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_EMULATED);
	if (env && !strcmp(env, "kernel"))
		EXPECT_EQ(syslet_backend(&ctx), SYSLET_BACKEND_KERNEL);
	syslet_ctx_exit(&ctx);

	setenv("SYSLET_BACKEND", "bogus", 1);
	EXPECT_EQ(syslet_ctx_init(&ctx, 4, 0), -EINVAL);
}

TEST(ctx_init_mem_stack_ring)
{
	_Alignas(64) char mem[SYSLET_RING_BYTES(16) + 40];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;

	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem + 8, sizeof(mem) - 8, 0),
		  -EINVAL);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, 100, 0), -EINVAL);
	ASSERT_EQ(syslet_ctx_init_mem(&ctx, mem, sizeof(mem), 0), 0);
	EXPECT_EQ(ctx.ring_entries, 16u);
	EXPECT_EQ((void *)ctx.ring, (void *)mem);
	syslet_op_init(&op, SYS_getpid, 0);
	syslet_op_set_data(&op, 5);
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 5u);
	syslet_ctx_exit(&ctx);
}

TEST(one_off_pread)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	char buf[64] = "";
	int fd = tmpfile_with(msg, sizeof(msg) - 1);

	ASSERT_GE(fd, 0);
	ctx_or_die(&ctx, 8);
	syslet_prep_pread(&op, fd, buf, sizeof(buf), 6);
	syslet_op_set_data(&op, 0xabcdef);
	/* queued, or done in the caller (kernel pass-on-block): in the ring */
	ASSERT_GE(syslet_submit(&ctx, &op.atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, (int64_t)sizeof(msg) - 1 - 6);
	EXPECT_EQ(op.ret, c.status);
	EXPECT_EQ(c.user_data, 0xabcdefu);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&op.atom);
	EXPECT_EQ(c.flags & ~SYSLET_COMP_SYNC, 0u);
	EXPECT_EQ(memcmp(buf, msg + 6, sizeof(msg) - 7), 0);
	syslet_ctx_exit(&ctx);
	close(fd);
}

/* open -> read -> close with the fd flowing from openat's ret. */
TEST(chain_data_flow)
{
	char path[] = "/tmp/syslet-lib-XXXXXX";
	struct syslet_op op[3];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	char buf[64] = "";
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
	close(fd);
	ctx_or_die(&ctx, 8);
	syslet_prep_openat(&op[0], AT_FDCWD, path, O_RDONLY, 0);
	syslet_op_add_flags(&op[0], SYSLET_STOP_ON_NEGATIVE);
	syslet_prep_read(&op[1], -1, buf, sizeof(buf));
	syslet_op_arg_ret(&op[1], 0, &op[0]);
	syslet_prep_close(&op[2], -1);
	syslet_op_arg_ret(&op[2], 0, &op[0]);
	syslet_op_link(&op[0], &op[1]);
	syslet_op_link(&op[1], &op[2]);
	syslet_op_set_data(&op[0], 7);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 0);		/* close */
	EXPECT_EQ(c.nr_atoms, 3u);
	EXPECT_GE(op[0].ret, 0);
	EXPECT_EQ(op[1].ret, (int64_t)sizeof(msg) - 1);
	EXPECT_EQ(memcmp(buf, msg, sizeof(msg) - 1), 0);
	/* the fd was closed by the chain */
	EXPECT_EQ(fcntl((int)op[0].ret, F_GETFD), -1);

	/* and a failing open stops the chain there */
	unlink(path);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, -ENOENT);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&op[0].atom);
	syslet_ctx_exit(&ctx);
}

static int64_t run1(struct syslet_ctx *ctx, struct syslet_atom *head,
		    struct syslet_completion *c)
{
	int ret = syslet_submit(ctx, head);

	if (ret < 0)
		return ret;
	ret = wait_one(ctx, c);
	return ret < 0 ? ret : c->status;
}

TEST(stop_flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;

	ctx_or_die(&ctx, 8);
	/* getppid > 0: STOP_ON_NONZERO stops, STOP_ON_ZERO does not */
	syslet_op_init(&a, SYS_getppid, SYSLET_STOP_ON_NONZERO);
	syslet_op_init(&b, SYS_getpid, 0);
	syslet_op_link(&a, &b);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getppid());
	EXPECT_EQ(c.nr_atoms, 1u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_ZERO);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NON_POSITIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	/* close(-1) = -EBADF: negative stops */
	syslet_prep_close(&a, -1);
	syslet_op_link(&a, &b);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NEGATIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EBADF);
	EXPECT_EQ(c.nr_atoms, 1u);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_NON_POSITIVE);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EBADF);
	syslet_op_set_flags(&a, SYSLET_STOP_ON_ZERO);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), getpid());
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_ctx_exit(&ctx);
}

/* SKIP_TO_NEXT_ON_STOP branches to the atom laid out after this one. */
TEST(skip_to_next_branch)
{
	static uint64_t badfd = (uint64_t)-1;
	struct syslet_atom at[3];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	int64_t r[3] = { 1, 1, 1 };

	ctx_or_die(&ctx, 8);
	syslet_atom_init(&at[0], SYS_close, SYSLET_STOP_ON_NEGATIVE |
			 SYSLET_SKIP_TO_NEXT_ON_STOP);
	syslet_atom_arg(&at[0], 0, &badfd);
	syslet_atom_ret(&at[0], &r[0]);
	syslet_atom_init(&at[1], SYS_getppid, 0);	/* the branch */
	syslet_atom_ret(&at[1], &r[1]);
	syslet_atom_init(&at[2], SYS_getpid, 0);	/* 'next' */
	syslet_atom_ret(&at[2], &r[2]);
	syslet_atom_link(&at[0], &at[2]);
	EXPECT_EQ(run1(&ctx, &at[0], &c), getppid());
	EXPECT_EQ(r[0], -EBADF);
	EXPECT_EQ(r[1], getppid());
	EXPECT_EQ(r[2], 1);
	EXPECT_EQ(c.nr_atoms, 2u);
	syslet_ctx_exit(&ctx);
}

TEST(bad_flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a, b;

	ctx_or_die(&ctx, 8);
	syslet_op_init(&a, SYS_getpid, 0x80000000u);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC | SYSLET_ASYNC);
	EXPECT_EQ(syslet_submit(&ctx, &a.atom), -EINVAL);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	/* unknown flags in a later atom end the chain with -EINVAL */
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_op_init(&b, SYS_getpid, 0x40000000u);
	syslet_op_link(&a, &b);
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -EINVAL);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_EQ(c.atom, (uint64_t)(uintptr_t)&b.atom);
	syslet_ctx_exit(&ctx);
}

TEST(chain_too_long_eloop)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a;

	ctx_or_die(&ctx, 8);
	syslet_op_init(&a, SYS_getpid, 0);
	syslet_op_link(&a, &a);		/* a loop */
	EXPECT_EQ(run1(&ctx, &a.atom, &c), -ELOOP);
	EXPECT_EQ(c.nr_atoms, (unsigned int)SYSLET_MAX_ATOMS);
	syslet_ctx_exit(&ctx);
}

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

/* every call of the kernel's syslet_forbidden() list, in every mode */
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
		{ "set_mempolicy", SYS_set_mempolicy, { 0 } },
		{ "iopl", SYS_iopl, { 3 } },
		{ "ioperm", SYS_ioperm, { 0x80, 1, 1 } },
		{ "modify_ldt", SYS_modify_ldt, { 0 } },
		{ "io_uring_setup", SYS_io_uring_setup, { 0 } },
		{ "io_uring_enter", SYS_io_uring_enter, { 0 } },
		{ "io_uring_register", SYS_io_uring_register, { 0 } },
		{ "async_exec", 451, { 0 } },
		{ "async_wait", 452, { 0 } },
		{ "async_cancel", 453, { 0 } },
		{ "async_limits", 454, { 0 } },
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
 * or its own id, whichever thread that is (the caller for SYSLET_SYNC, a
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

/* syslet_submit_sync() is deprecated but exported (LIBSYSLET_1): test it */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST(sync_modes)
{
	struct syslet_completion c, *pc;
	struct syslet_ctx ctx;
	struct syslet_op a;

	ctx_or_die(&ctx, 2);
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC);
	syslet_op_set_data(&a, 11);
	/* into *done, not the ring */
	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ(syslet_submit_sync(&ctx, &a.atom, &c), SYSLET_DONE);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 11u);
	EXPECT_EQ(c.flags, (unsigned int)SYSLET_COMP_SYNC);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	/* into the ring */
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_DONE);
	ASSERT_EQ(syslet_cq_ready(&ctx), 1u);
	ASSERT_EQ(syslet_peek_completion(&ctx, &pc), 0);
	EXPECT_EQ(pc->status, getpid());
	EXPECT_TRUE(pc->flags & SYSLET_COMP_SYNC);
	syslet_cq_advance(&ctx, 1);
	EXPECT_EQ(syslet_peek_completion(&ctx, &pc), -EAGAIN);
	/* NO_COMPLETE posts nothing */
	syslet_op_set_flags(&a, SYSLET_SYNC | SYSLET_NO_COMPLETE);
	a.ret = 0;
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_DONE);
	EXPECT_EQ(a.ret, getpid());
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	EXPECT_EQ(syslet_submit_sync(&ctx, &a.atom, NULL), -EINVAL);
	syslet_op_set_flags(&a, 0);
	EXPECT_EQ(syslet_submit_sync(&ctx, &a.atom, &c), -EINVAL);
	syslet_ctx_exit(&ctx);
}

#pragma GCC diagnostic pop

/*
 * A SYSLET_SYNC chain has run when syslet_submit() returns, so it must
 * not return an error then (a caller that retries would run a write
 * twice): with the ring full its completion waits on the overflow list
 * and comes once the ring drains.
 */
TEST(sync_chain_into_a_full_ring_is_done_and_kept)
{
	struct syslet_completion c[4];
	struct syslet_ctx ctx;
	struct syslet_op w;
	char buf[8];
	int p[2], i, n = 0, ret;

	ctx_or_die(&ctx, 2);
	ASSERT_EQ(pipe(p), 0);
	syslet_prep_write(&w, p[1], "x", 1);
	syslet_op_set_flags(&w, SYSLET_SYNC);
	for (i = 0; i < 4; i++) {
		syslet_op_set_data(&w, 100 + i);
		ret = syslet_submit(&ctx, &w.atom);
		EXPECT_EQ(ret, SYSLET_DONE);
	}
	/* each ran exactly once */
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_EQ(syslet_cq_ready(&ctx), 2u);
	while (n < 4) {
		ret = syslet_reap(&ctx, &c[n], 4 - n);
		ASSERT_GT(ret, 0);
		n += ret;
	}
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(c[i].status, 1);
		EXPECT_EQ(c[i].user_data, 100u + i);
	}
	EXPECT_EQ(syslet_reap(&ctx, c, 4), 0);
	EXPECT_EQ(ctx.ring->overflow, 0u);
	close(p[0]);
	close(p[1]);
	syslet_ctx_exit(&ctx);
}

/*
 * syslet_submit_done(): a chain that completes in the caller reports
 * through *done, never through the ring; one that goes asynchronous
 * leaves *done alone and completes through the ring.
 */
TEST(submit_done)
{
	struct syslet_completion c, r;
	struct timespec ts = { 0, 20 * 1000000L };
	struct syslet_ctx ctx;
	struct syslet_op a;
	int ret;

	ctx_or_die(&ctx, 4);
	/* SYSLET_SYNC: always in the caller */
	syslet_op_init(&a, SYS_getpid, SYSLET_SYNC);
	syslet_op_set_data(&a, 21);
	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ(syslet_submit_done(&ctx, &a.atom, &c), SYSLET_DONE);
	EXPECT_EQ(c.status, getpid());
	EXPECT_EQ(c.user_data, 21u);
	EXPECT_EQ(c.nr_atoms, 1u);
	EXPECT_TRUE(c.flags & SYSLET_COMP_SYNC);
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);

	/* a chain that blocks goes asynchronous on every backend */
	syslet_prep_nanosleep(&a, &ts);
	syslet_op_set_data(&a, 22);
	memset(&c, 0xab, sizeof(c));
	ASSERT_EQ(syslet_submit_done(&ctx, &a.atom, &c), SYSLET_QUEUED);
	ASSERT_EQ(wait_one(&ctx, &r), 0);
	EXPECT_EQ(r.user_data, 22u);
	EXPECT_EQ(r.status, 0);
	EXPECT_EQ(c.user_data, 0xababababababababULL);	/* untouched */

	/*
	 * One that does not block: the caller (pass-on-block) or the ring,
	 * never both, never neither.
	 */
	syslet_op_init(&a, SYS_getppid, 0);
	syslet_op_set_data(&a, 23);
	memset(&c, 0xab, sizeof(c));
	ret = syslet_submit_done(&ctx, &a.atom, &c);
	if (ret == SYSLET_DONE) {
		EXPECT_EQ(c.user_data, 23u);
		EXPECT_EQ(c.status, getppid());
		EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	} else {
		ASSERT_EQ(ret, SYSLET_QUEUED);
		ASSERT_EQ(wait_one(&ctx, &r), 0);
		EXPECT_EQ(r.user_data, 23u);
		EXPECT_EQ(r.status, getppid());
		EXPECT_EQ(c.user_data, 0xababababababababULL);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);

	/* bad arguments */
	EXPECT_EQ(syslet_submit_done(&ctx, &a.atom, NULL), -EINVAL);
	EXPECT_EQ(syslet_submit_done(&ctx, NULL, &c), -EINVAL);
	syslet_op_set_flags(&a, SYSLET_SYNC | SYSLET_ASYNC);
	EXPECT_EQ(syslet_submit_done(&ctx, &a.atom, &c), -EINVAL);
	syslet_ctx_exit(&ctx);
}

TEST(async_no_complete)
{
	struct timespec ts = { 0, 50000000 };
	struct syslet_ctx ctx;
	struct syslet_op a;
	int i;

	ctx_or_die(&ctx, 4);
	syslet_op_init(&a, SYS_getpid, SYSLET_ASYNC | SYSLET_NO_COMPLETE);
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_QUEUED);
	for (i = 0; i < 200 && a.ret != getpid(); i++)
		nanosleep(&ts, NULL);
	EXPECT_EQ(a.ret, getpid());
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);
	syslet_ctx_exit(&ctx);
}

TEST(wait_timeout_and_count)
{
	struct timespec ts = { 0, 20000000 }, bad = { 0, 2000000000 };
	struct timespec sl = { 0, 30000000 };
	struct syslet_completion cs[4];
	struct syslet_ctx ctx;
	struct syslet_op a[4];
	int i;

	ctx_or_die(&ctx, 4);
	EXPECT_EQ(syslet_wait(&ctx, 1, &ts), -ETIME);
	EXPECT_EQ(syslet_wait(&ctx, 0, &ts), 0);
	EXPECT_EQ(syslet_wait(&ctx, 1, &bad), -EINVAL);
	for (i = 0; i < 4; i++) {
		syslet_prep_nanosleep(&a[i], &sl);
		syslet_op_set_data(&a[i], i);
		ASSERT_EQ(syslet_submit(&ctx, &a[i].atom), SYSLET_QUEUED);
	}
	EXPECT_GE(syslet_wait(&ctx, 3, NULL), 3);
	/* min above the ring size is capped at the ring size */
	EXPECT_EQ(syslet_wait(&ctx, 100, NULL), 4);
	EXPECT_EQ(syslet_reap(&ctx, cs, 4), 4);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(cs[i].status, 0);
	EXPECT_EQ(syslet_reap(&ctx, cs, 4), 0);
	syslet_ctx_exit(&ctx);
}

static volatile sig_atomic_t sigs_handled;

static void on_sigusr1(int sig)
{
	(void)sig;
	sigs_handled++;
}

struct kicker {
	pthread_t target;
	_Atomic int stop;
};

/* Signals the target every 20 ms until told to stop (a single signal
 * could land before the target sleeps, and be missed). */
static void *kick(void *p)
{
	struct kicker *k = p;
	struct timespec ts = { 0, 20000000 };

	while (!atomic_load(&k->stop)) {
		nanosleep(&ts, NULL);
		pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

/*
 * A handler installed without SA_RESTART cuts syslet_wait() short with
 * -EINTR, with or without a timeout, on both backends; a wait that has
 * its completions returns them.
 */
TEST(wait_eintr_handler_without_sa_restart)
{
	struct timespec ten = { 10, 0 };
	struct sigaction sa;
	struct kicker k;
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a;
	pthread_t t;
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART */
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	ctx_or_die(&ctx, 4);
	k.target = pthread_self();
	atomic_init(&k.stop, 0);
	ASSERT_EQ(pthread_create(&t, NULL, kick, &k), 0);
	ret = syslet_wait(&ctx, 1, NULL);
	EXPECT_EQ(ret, -EINTR);
	EXPECT_GE(sigs_handled, 1);
	ret = syslet_wait(&ctx, 1, &ten);
	EXPECT_EQ(ret, -EINTR);
	EXPECT_GE(sigs_handled, 2);
	atomic_store(&k.stop, 1);
	pthread_join(t, NULL);
	/* nothing was lost or posted meanwhile; the ring still works */
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_op_init(&a, SYS_getpid, SYSLET_ASYNC);
	ASSERT_EQ(syslet_submit(&ctx, &a.atom), SYSLET_QUEUED);
	do
		ret = syslet_wait(&ctx, 1, &ten);
	while (ret == -EINTR);
	EXPECT_EQ(ret, 1);
	ASSERT_EQ(syslet_reap(&ctx, &c, 1), 1);
	EXPECT_EQ(c.status, getpid());
	syslet_ctx_exit(&ctx);
}

/*
 * syslet_op_arg() sets an argument by value, also after the argument was
 * pointed at another op's result; syslet_atom_set_data() sets a raw
 * chain's user word, which only the head atom's counts.
 */
TEST(op_arg_and_atom_set_data)
{
	struct syslet_atom at[2];
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op, src;
	int64_t r0 = 0, r1 = 0;
	unsigned int i;
	int fd = tmpfile_with(msg, sizeof(msg) - 1);

	ASSERT_GE(fd, 0);
	ctx_or_die(&ctx, 8);
	/* lseek(fd, 5, SEEK_SET) -> 5, every argument by value */
	syslet_op_init(&op, SYS_lseek, 0);
	syslet_op_arg(&op, 0, (uint64_t)fd);
	syslet_op_arg(&op, 1, 5);
	syslet_op_arg(&op, 2, SEEK_SET);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(op.atom.arg_ptr[i], (uint64_t)(uintptr_t)&op.arg[i]);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 5);
	EXPECT_EQ(op.ret, 5);
	/* offset from another op's result slot, then by value again */
	syslet_op_init(&src, SYS_getpid, 0);
	src.ret = 7;
	syslet_op_arg_ret(&op, 1, &src);
	EXPECT_EQ(op.atom.arg_ptr[1], (uint64_t)(uintptr_t)&src.ret);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 7);
	syslet_op_arg(&op, 1, 9);
	EXPECT_EQ(op.atom.arg_ptr[1], (uint64_t)(uintptr_t)&op.arg[1]);
	EXPECT_EQ(op.arg[1], 9u);
	EXPECT_EQ(run1(&ctx, &op.atom, &c), 9);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 9);

	/* a raw two-atom chain: the head's user word is the chain's */
	syslet_atom_init(&at[0], SYS_getpid, 0);
	syslet_atom_ret(&at[0], &r0);
	syslet_atom_set_data(&at[0], 0x1234567890abcdefULL);
	EXPECT_EQ(at[0].user_data, 0x1234567890abcdefULL);
	syslet_atom_init(&at[1], SYS_getppid, 0);
	syslet_atom_ret(&at[1], &r1);
	syslet_atom_set_data(&at[1], 99);
	syslet_atom_link(&at[0], &at[1]);
	ASSERT_GE(syslet_submit(&ctx, &at[0]), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 0x1234567890abcdefULL);
	EXPECT_EQ(c.nr_atoms, 2u);
	EXPECT_EQ(c.status, getppid());
	EXPECT_EQ(r0, getpid());
	EXPECT_EQ(r1, getppid());
	/* set again, the next submission carries the new word */
	syslet_atom_set_data(&at[0], 5);
	ASSERT_GE(syslet_submit(&ctx, &at[0]), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.user_data, 5u);
	syslet_ctx_exit(&ctx);
	close(fd);
}

TEST(limits)
{
	struct syslet_limits get, set;
	struct syslet_ctx ctx;

	ctx_or_die(&ctx, 4);
	ASSERT_EQ(syslet_limits(&ctx, NULL, &get), 0);
	EXPECT_EQ(get.size, (unsigned int)sizeof(get));
	EXPECT_GT(get.max_threads, 0u);
	EXPECT_GT(get.max_chains, 0u);
	memset(&set, 0, sizeof(set));
	EXPECT_EQ(syslet_limits(&ctx, &set, NULL), -EINVAL);	/* size */
	set.size = sizeof(set);
	set.max_chains = 3;
	ASSERT_EQ(syslet_limits(&ctx, &set, &get), 0);
	EXPECT_EQ(get.max_chains, 3u);
	set.max_chains = 0xffffffff;
	EXPECT_EQ(syslet_limits(&ctx, &set, NULL), -EINVAL);
	syslet_ctx_exit(&ctx);
}

/* More chains in flight than max_chains: -EAGAIN. */
TEST(max_chains_eagain)
{
	struct timespec sl = { 0, 200000000 };
	struct syslet_limits set = { .size = sizeof(set), .max_chains = 2 };
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op a[3];
	int i;

	ctx_or_die(&ctx, 4);
	ASSERT_EQ(syslet_limits(&ctx, &set, NULL), 0);
	for (i = 0; i < 3; i++) {
		syslet_prep_nanosleep(&a[i], &sl);
		syslet_op_add_flags(&a[i], SYSLET_ASYNC);	/* queued at once */
	}
	ASSERT_EQ(syslet_submit(&ctx, &a[0].atom), SYSLET_QUEUED);
	ASSERT_EQ(syslet_submit(&ctx, &a[1].atom), SYSLET_QUEUED);
	EXPECT_EQ(syslet_submit(&ctx, &a[2].atom), -EAGAIN);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	syslet_ctx_exit(&ctx);
}

TEST(peek_advance_order)
{
	struct syslet_completion *pc;
	struct syslet_ctx ctx;
	struct syslet_op a[8];
	int i;

	ctx_or_die(&ctx, 8);
	for (i = 0; i < 8; i++) {
		syslet_op_init(&a[i], SYS_getpid, SYSLET_SYNC);
		syslet_op_set_data(&a[i], 100 + i);
		ASSERT_EQ(syslet_submit(&ctx, &a[i].atom), SYSLET_DONE);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 8u);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(syslet_peek_completion(&ctx, &pc), 0);
		EXPECT_EQ(pc->user_data, (uint64_t)(100 + i));
		syslet_cq_advance(&ctx, 1);
	}
	EXPECT_EQ(syslet_cq_ready(&ctx), 0u);
	syslet_ctx_exit(&ctx);
}

/* The remaining preparers, each checked by its effect. */
TEST(preparers_write_sync_splice_sockets)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op[4];
	int64_t off_out = 0;
	char buf[32] = "";
	int fd, p[2], sv[2];

	fd = tmpfile_with("", 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctx_or_die(&ctx, 8);

	/* pwrite -> fsync -> fdatasync -> write, one chain */
	syslet_prep_pwrite(&op[0], fd, "abcd", 4, 10);
	syslet_prep_fsync(&op[1], fd);
	syslet_prep_fdatasync(&op[2], fd);
	syslet_prep_write(&op[3], p[1], "pipe!", 5);
	syslet_op_link(&op[0], &op[1]);
	syslet_op_link(&op[1], &op[2]);
	syslet_op_link(&op[2], &op[3]);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.nr_atoms, 4u);
	EXPECT_EQ(op[0].ret, 4);
	EXPECT_EQ(op[1].ret, 0);
	EXPECT_EQ(op[2].ret, 0);
	EXPECT_EQ(c.status, 5);
	ASSERT_EQ(pread(fd, buf, 4, 10), 4);
	EXPECT_EQ(memcmp(buf, "abcd", 4), 0);

	/* splice the pipe's 5 bytes into the file at offset 0 */
	syslet_prep_splice(&op[0], p[0], NULL, fd, &off_out, 5, 0);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(c.status, 5);
	EXPECT_EQ(off_out, 5);
	ASSERT_EQ(pread(fd, buf, 5, 0), 5);
	EXPECT_EQ(memcmp(buf, "pipe!", 5), 0);

	/* send on one end, recv on the other */
	syslet_prep_send(&op[0], sv[0], "sock", 4, 0);
	syslet_prep_recv(&op[1], sv[1], buf, sizeof(buf), 0);
	syslet_op_link(&op[0], &op[1]);
	ASSERT_GE(syslet_submit(&ctx, &op[0].atom), 0);
	ASSERT_EQ(wait_one(&ctx, &c), 0);
	EXPECT_EQ(op[0].ret, 4);
	EXPECT_EQ(c.status, 4);
	EXPECT_EQ(memcmp(buf, "sock", 4), 0);
	syslet_ctx_exit(&ctx);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TAP_MAIN
