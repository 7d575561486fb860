// SPDX-License-Identifier: GPL-2.0
/*
 * syslet_kernel_supported(): the probe passes every argument of
 * async_limits (SYSLET_NR_ASYNC_LIMITS) explicitly, and believes only a
 * reply that async_limits would give.  A number can be another call on
 * another kernel: on stock kernels from 6.7 on, 454 (the number before ABI
 * v1) is futex_wake(uaddr, mask, nr, flags), which can return 0 without
 * writing anything.  This program's own syscall() (the library's calls
 * resolve to it) records the probe's arguments and plays such replies.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include "lib-test.h"

enum { REAL, FUTEX_WAKE_0, ENGINE };
static int mode = REAL;
static long probe_args[6];
static int probes;

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYSLET_NR_ASYNC_LIMITS) {
		probes++;
		memcpy(probe_args, a, sizeof(a));
		if (mode == FUTEX_WAKE_0)
			return 0;	/* woke nobody, wrote nothing */
		if (mode == ENGINE) {
			struct syslet_limits *get = (void *)a[1];

			memset(get, 0, sizeof(*get));
			get->size = sizeof(*get);
			get->max_threads = 64;
			get->idle_msecs = 5000;
			get->max_chains = 4096;
			return 0;
		}
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* leftover registers would reach a futex_wake() as its nr and flags */
__attribute__((noinline)) static int probe_with_junk_in_registers(void)
{
	__asm__ volatile("mov $0x5a5a5a5a, %%edx\n\tmov $0x5a5a5a5a, %%ecx\n\t"
			 "mov $0x5a5a5a5a, %%r8d\n\tmov $0x5a5a5a5a, %%r9d"
			 ::: "rdx", "rcx", "r8", "r9");
	return syslet_kernel_supported();
}

TEST(probe_passes_every_argument)
{
#if !defined(__x86_64__)
	SKIP("x86-64 registers");
#endif
	mode = FUTEX_WAKE_0;
	probe_with_junk_in_registers();
	ASSERT_EQ(probes, 1);
	EXPECT_EQ(probe_args[0], 0);	/* set */
	EXPECT_NE(probe_args[1], 0);	/* get */
	EXPECT_EQ(probe_args[2], 0);
	EXPECT_EQ(probe_args[3], 0);
	EXPECT_EQ(probe_args[4], 0);
	EXPECT_EQ(probe_args[5], 0);
}

TEST(probe_rejects_a_reply_that_is_not_async_limits)
{
	mode = FUTEX_WAKE_0;
	EXPECT_EQ(syslet_kernel_supported(), 0);
	EXPECT_EQ(probes, 1);
}

TEST(probe_accepts_the_engines_reply)
{
	mode = ENGINE;
	EXPECT_EQ(syslet_kernel_supported(), 1);
	EXPECT_EQ(syslet_kernel_supported(), 1);
	EXPECT_EQ(probes, 1);		/* asked once */
}

TAP_MAIN
