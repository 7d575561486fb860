// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15 item 8: what an atom may call is an allowlist
 * (kernel/syslet/calls.h).  Denied families fail with EPERM, numbers the
 * list does not name with ENOSYS, and calls that name a process group or
 * user the running thread belongs to are refused like those that name the
 * thread itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"

#define IOPRIO_WHO_PROCESS	1
#define IOPRIO_WHO_PGRP		2
#define IOPRIO_WHO_USER		3

static const uint32_t modes[] = { SYSLET_SYNC, SYSLET_ASYNC, 0 };

/* Runs call @nr with @args as one atom in mode @flags; returns its status. */
static int64_t run_call(uint32_t nr, const uint64_t *args, uint32_t flags)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done;
	struct syslet_atom a;
	uint64_t v[6];
	int64_t ret = -12345;
	int i, n;

	memset(&a, 0, sizeof(a));
	a.flags = flags;
	a.nr = nr;
	a.ret_ptr = (uintptr_t)&ret;
	for (i = 0; i < 6; i++) {
		v[i] = args ? args[i] : 0;
		a.arg_ptr[i] = (uintptr_t)&v[i];
	}
	n = run_chain(&a, r, &done);
	if (n)
		return n;
	free(r);
	if (done.status != ret)
		return -99997;
	return done.status;
}

static void expect_in_every_mode(const char *what, uint32_t nr,
				 const uint64_t *args, int64_t want)
{
	unsigned int m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		int64_t got = run_call(nr, args, modes[m]);

		if (got != want)
			tap_diag("%s (flags %#x): got %" PRId64 ", want %" PRId64,
				 what, modes[m], got, want);
		EXPECT_EQ(got, want);
	}
}

TEST(setpriority_own_pgrp_and_user_refused)
{
	int nice;

	REQUIRE_SYSLET();
	/* the nice value it has: a success would change nothing */
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	ASSERT_EQ(errno, 0);
	{
		uint64_t pgrp0[6] = { PRIO_PGRP, 0, (uint64_t)nice };
		uint64_t pgrp[6] = { PRIO_PGRP, (uint64_t)getpgrp(), (uint64_t)nice };
		uint64_t user0[6] = { PRIO_USER, 0, (uint64_t)nice };
		uint64_t user[6] = { PRIO_USER, getuid(), (uint64_t)nice };

		expect_in_every_mode("setpriority(PRIO_PGRP, 0)",
				     SYS_setpriority, pgrp0, -EPERM);
		expect_in_every_mode("setpriority(PRIO_PGRP, own)",
				     SYS_setpriority, pgrp, -EPERM);
		expect_in_every_mode("setpriority(PRIO_USER, 0)",
				     SYS_setpriority, user0, -EPERM);
		expect_in_every_mode("setpriority(PRIO_USER, own)",
				     SYS_setpriority, user, -EPERM);
	}
}

TEST(ioprio_set_own_pgrp_and_user_refused)
{
	/* an invalid class (7): if not refused, EINVAL and nothing changes */
	uint64_t pgrp0[6] = { IOPRIO_WHO_PGRP, 0, 7 << 13 };
	uint64_t pgrp[6] = { IOPRIO_WHO_PGRP, (uint64_t)getpgrp(), 7 << 13 };
	uint64_t user0[6] = { IOPRIO_WHO_USER, 0, 7 << 13 };
	uint64_t user[6] = { IOPRIO_WHO_USER, getuid(), 7 << 13 };

	REQUIRE_SYSLET();
	expect_in_every_mode("ioprio_set(WHO_PGRP, 0)", SYS_ioprio_set,
			     pgrp0, -EPERM);
	expect_in_every_mode("ioprio_set(WHO_PGRP, own)", SYS_ioprio_set,
			     pgrp, -EPERM);
	expect_in_every_mode("ioprio_set(WHO_USER, 0)", SYS_ioprio_set,
			     user0, -EPERM);
	expect_in_every_mode("ioprio_set(WHO_USER, own)", SYS_ioprio_set,
			     user, -EPERM);
}

/* Another process group is not the running thread's: allowed. */
TEST(setpriority_other_pgrp_allowed)
{
	int p[2];
	char c;
	pid_t pid;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		setpgid(0, 0);
		close(p[0]);
		write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(read(p[0], &c, 1), 1);
	{
		uint64_t other[6] = { PRIO_PGRP, (uint64_t)pid, 1 };
		uint64_t ioother[6] = { IOPRIO_WHO_PGRP, (uint64_t)pid, 0 };

		expect_in_every_mode("setpriority(PRIO_PGRP, other)",
				     SYS_setpriority, other, 0);
		expect_in_every_mode("ioprio_set(WHO_PGRP, other)",
				     SYS_ioprio_set, ioother, 0);
	}
	errno = 0;
	EXPECT_EQ(getpriority(PRIO_PROCESS, pid), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* pkey_alloc() sets the running thread's PKRU: a user-context call. */
TEST(pkey_alloc_refused)
{
	uint64_t args[6] = { 0, 0 };

	REQUIRE_SYSLET();
	expect_in_every_mode("pkey_alloc", SYS_pkey_alloc, args, -EPERM);
}

/* The engine's own calls, whatever their number. */
TEST(engine_calls_refused)
{
	uint32_t nr;

	REQUIRE_SYSLET();
	for (nr = NR_async_exec; nr <= NR_async_limits; nr++)
		expect_in_every_mode("async_*", nr, NULL, -EPERM);
}

/*
 * Numbers the list does not name are not run: gaps in the table, x32
 * numbers, numbers past the table, entries with no 64-bit entry point.
 */
TEST(unlisted_numbers_enosys)
{
	static const uint32_t nrs[] = {
		336, 400, 423, 480, 499, 511, 0x40000000U | SYS_getpid,
		0x40000000U | 512, 0xffffffffU, 205 /* set_thread_area */,
		156 /* _sysctl */,
	};
	unsigned int i;

	REQUIRE_SYSLET();
	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		expect_in_every_mode("unlisted", nrs[i], NULL, -ENOSYS);
}

/*
 * Linux 6.12's calls that 6.1 has not (issue 19): uretprobe (335) and
 * 451-462.  Each is allowed or denied (calls.h, abi.md).  An allowed one
 * runs as itself, whatever the kernel: the atom gets what the direct call
 * gets (-ENOSYS on 6.1, where the numbers are no call); a denied one
 * fails with -EPERM where the kernel has it (and is never made directly
 * here: uretprobe would raise SIGILL).  All arguments 0: every allowed one
 * fails at once or does nothing (mseal of 0 bytes), and none sleeps.
 */
TEST(calls_of_linux_6_12_as_decided)
{
	static const struct {
		uint32_t nr;
		const char *name;
		int allowed;
	} calls[] = {
		{ 335, "uretprobe", 0 },
		{ 451, "cachestat", 1 }, { 452, "fchmodat2", 1 },
		{ 453, "map_shadow_stack", 1 }, { 454, "futex_wake", 1 },
		{ 455, "futex_wait", 1 }, { 456, "futex_requeue", 1 },
		{ 457, "statmount", 1 }, { 458, "listmount", 1 },
		{ 459, "lsm_get_self_attr", 0 },
		{ 460, "lsm_set_self_attr", 0 },
		{ 461, "lsm_list_modules", 1 }, { 462, "mseal", 1 },
	};
	struct utsname u;
	unsigned int i, maj = 0, min = 0;
	int has;

	REQUIRE_SYSLET();
	ASSERT_EQ(uname(&u), 0);
	ASSERT_EQ(sscanf(u.release, "%u.%u", &maj, &min), 2);
	has = maj > 6 || (maj == 6 && min >= 12);
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int64_t want = has ? -EPERM : -ENOSYS;

		if (calls[i].allowed) {
			long direct = syscall(calls[i].nr, 0, 0, 0, 0, 0, 0);

			want = direct < 0 ? -errno : direct;
			if (!has)
				EXPECT_EQ(want, -ENOSYS);
			/* what the atom must get is not a refusal */
			EXPECT_NE(want, -EPERM);
		}
		expect_in_every_mode(calls[i].name, calls[i].nr, NULL, want);
	}
}

/* And the allowed calls still run, as themselves. */
TEST(allowed_calls_run)
{
	REQUIRE_SYSLET();
	expect_in_every_mode("getpid", SYS_getpid, NULL, getpid());
	expect_in_every_mode("getppid", SYS_getppid, NULL, getppid());
	expect_in_every_mode("getpgrp", SYS_getpgrp, NULL, getpgrp());
}

TAP_MAIN
