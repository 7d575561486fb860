/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TEMPORARY (issue 19, until ABI v1 numbers the engine's calls the same on
 * every kernel): the number of async_exec on the running kernel, from the
 * sets in include/uapi/linux/syslet.h (6.12 has the 6.12 one; any other
 * kernel, stock ones included, gets the 6.1 numbers, as before 6.12 was
 * supported);
 * async_wait, async_cancel and async_limits follow it.  libsyslet picks
 * its numbers the same way (userspace/libsyslet/src/sys.c).
 */
#ifndef SYSLET_TESTS_NR_H
#define SYSLET_TESTS_NR_H

#include <linux/syslet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/utsname.h>

static inline long syslet_nr_base(void)
{
	static _Atomic long base;
	long b = atomic_load_explicit(&base, memory_order_relaxed);
	unsigned int major = 0, minor = 0;
	struct utsname u;

	if (!b) {
		if (!uname(&u))
			sscanf(u.release, "%u.%u", &major, &minor);
		b = major == 6 && minor == 12 ?
			SYSLET_NR_BASE_6_12 : SYSLET_NR_BASE_6_1;
		atomic_store_explicit(&base, b, memory_order_relaxed);
	}
	return b;
}

#define NR_async_exec	(syslet_nr_base() + 0)
#define NR_async_wait	(syslet_nr_base() + 1)
#define NR_async_cancel	(syslet_nr_base() + 2)
#define NR_async_limits	(syslet_nr_base() + 3)

#endif
