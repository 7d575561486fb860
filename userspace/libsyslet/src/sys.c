// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet: the syslet system calls (numbers 500-503, <linux/syslet.h>), -errno
 * returns, and the probe for them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"


static long neg_errno(long r)
{
	return r < 0 ? -errno : r;
}

/*
 * Every argument is passed, unused ones as 0: syscall() forwards six, and
 * a call that takes more than ours would see leftover register values.
 */
long __syslet_sys_async_exec(const struct syslet_atom *atom,
			     struct syslet_ring *ring,
			     struct syslet_completion *done,
			     unsigned int flags)
{
	return neg_errno(syscall(__NR_async_exec, atom, ring, done,
				 (unsigned long)flags, 0L, 0L));
}

long __syslet_sys_async_wait(struct syslet_ring *ring, unsigned int min,
		    const struct timespec *ts, const sigset_t *sigmask)
{
	return neg_errno(syscall(__NR_async_wait, ring, (unsigned long)min,
				 ts, sigmask,
				 sigmask ? KERNEL_SIGSET_BYTES : 0L, 0L));
}

/* untimed, no sigmask: what SYSLET_WAIT_RESTART allows */
long __syslet_sys_async_wait_flags(struct syslet_ring *ring, unsigned int min,
				   unsigned int flags)
{
	return neg_errno(syscall(__NR_async_wait, ring, (unsigned long)min,
				 NULL, NULL, 0L, (unsigned long)flags));
}

/* all six arguments */
long __syslet_sys_async_pwait_flags(struct syslet_ring *ring, unsigned int min,
				    const struct timespec *ts,
				    const sigset_t *sigmask,
				    unsigned int flags)
{
	return neg_errno(syscall(__NR_async_wait, ring, (unsigned long)min,
				 ts, sigmask,
				 sigmask ? KERNEL_SIGSET_BYTES : 0L,
				 (unsigned long)flags));
}

long __syslet_sys_async_cancel(struct syslet_ring *ring, uint64_t user_data,
		      unsigned int flags)
{
	return neg_errno(syscall(__NR_async_cancel, ring, user_data,
				 (unsigned long)flags, 0L, 0L, 0L));
}

long __syslet_sys_async_limits(const struct syslet_limits *set,
		      struct syslet_limits *get)
{
	/* flags 0 */
	return neg_errno(syscall(__NR_async_limits, set, get, 0L, 0L, 0L, 0L));
}

/*
 * The probe: async_limits(NULL, &l), believed only if it answers as
 * async_limits does (0, and @l filled in: its size, nonzero limits, the
 * reserved words 0).  On a stock kernel the number may one day be another
 * call (454, the number before ABI v1, is futex_wake from 6.7 on, which
 * returns 0 for waking nobody and writes nothing).
 */
SYSLET_API int syslet_kernel_supported(void)
{
	static _Atomic int cached = -1;
	int v = atomic_load_explicit(&cached, memory_order_relaxed);
	struct syslet_limits l;

	if (v < 0) {
		memset(&l, 0xa5, sizeof(l));
		l.size = sizeof(l);
		v = __syslet_sys_async_limits(NULL, &l) == 0 &&
		    l.size == sizeof(l) && l.max_threads && l.idle_msecs &&
		    l.max_chains && l.max_threads != 0xa5a5a5a5U &&
		    l.nr_idle <= l.nr_threads && !l.__reserved &&
		    !l.__reserved2[0] && !l.__reserved2[1] &&
		    !l.__reserved2[2];
		atomic_store_explicit(&cached, v, memory_order_relaxed);
	}
	return v;
}
