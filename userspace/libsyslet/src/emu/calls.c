// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: what an atom may call (kernel/syslet/calls.h), and
 * the calls refused when aimed at the process itself, as the kernel
 * engine refuses them.
 */
#include "emu.h"

#define EMU_IOPRIO_WHO_PROCESS		1	/* <linux/ioprio.h> */
#define EMU_IOPRIO_WHO_PGRP		2
#define EMU_IOPRIO_WHO_USER		3
#define EMU_CLOSE_RANGE_UNSHARE		(1U << 1) /* <linux/close_range.h> */

/*
 * What an atom may call: the kernel engine's own lists (calls.h's
 * decision for each name of calls64.h's x86-64 names), so the two
 * backends refuse the same calls.
 */
enum { EMU_CALL_NOSYS, EMU_CALL_ALLOW, EMU_CALL_DENY };

/* x86-64 names: <syslet.h> refuses other builds with one clear #error */
#if defined(__x86_64__) && defined(__LP64__)
/* calls.h's decisions: EMU_KIND_<name>, one per call name */
enum {
#define SYSLET_ALLOW(name)	EMU_KIND_##name = EMU_CALL_ALLOW,
#define SYSLET_DENY(name, why)	EMU_KIND_##name = EMU_CALL_DENY,
#include "../../../../kernel/syslet/calls.h"
#undef SYSLET_ALLOW
#undef SYSLET_DENY
};
#endif

static const unsigned char emu_calls[__NR_async_limits + 1] = {
#if defined(__x86_64__) && defined(__LP64__)
#define SYSLET_CALL(name)	[__NR_##name] = EMU_KIND_##name,
#define SYSLET_NOENTRY(name)	[__NR_##name] = EMU_CALL_NOSYS,
#include "../../../../kernel/syslet/calls64.h"
#undef SYSLET_CALL
#undef SYSLET_NOENTRY
#endif
};

/* 0 if an atom may make call @nr, else -EPERM or -ENOSYS (not listed). */
int __syslet_nr_check(unsigned int nr)
{
	if (nr >= sizeof(emu_calls))
		return -ENOSYS;
	switch (emu_calls[nr]) {
	case EMU_CALL_ALLOW:
		return 0;
	case EMU_CALL_DENY:
		return -EPERM;
	}
	return -ENOSYS;
}

/*
 * The kernel engine's syslet_targets_self(): calls that set per-thread
 * state on the thread running the atom when they name it (0 or its own
 * thread id, or a process group or user it is part of), which a worker
 * would keep for the chains it runs later.  "Self" is the running
 * thread: a worker, or the caller for SYSLET_SYNC.  int arguments are
 * compared as ints, as the callee ignores the upper 32 bits.
 */
static int prio_targets_self(int which, int who)
{
	switch (which) {
	case PRIO_PROCESS:
		return who == 0 || who == (pid_t)syscall(SYS_gettid);
	case PRIO_PGRP:
		return who == 0 || who == getpgrp();
	case PRIO_USER:
		return who == 0 || (uid_t)who == getuid();
	}
	return 0;
}

int nr_targets_self(unsigned int nr, const uint64_t *a)
{
	pid_t self;

	switch (nr) {
	case SYS_sched_setaffinity: case SYS_sched_setscheduler:
	case SYS_sched_setparam: case SYS_sched_setattr:
		self = (pid_t)syscall(SYS_gettid);
		return (pid_t)a[0] == 0 || (pid_t)a[0] == self;
	case SYS_setpriority:
		return prio_targets_self((int)a[0], (int)a[1]);
	case SYS_ioprio_set:
		/* IOPRIO_WHO_* are PRIO_* plus one */
		if ((int)a[0] < EMU_IOPRIO_WHO_PROCESS ||
		    (int)a[0] > EMU_IOPRIO_WHO_USER)
			return 0;
		return prio_targets_self((int)a[0] - 1, (int)a[1]);
	case SYS_close_range:
		return (a[2] & EMU_CLOSE_RANGE_UNSHARE) != 0;
	}
	return 0;
}
