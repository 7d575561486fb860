/* SPDX-License-Identifier: GPL-2.0 */
/* A one-call seccomp filter for the kernel engine tests. */
#ifndef SYSLET_TESTS_FILTER_H
#define SYSLET_TESTS_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/*
 * Installs a filter returning @action for system call @nr, ALLOW else,
 * with seccomp(2) flags @flags; returns what seccomp(2) returned.
 */
static inline int deny_flags(int nr, uint32_t action, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static inline int deny(int nr, uint32_t action)
{
	return deny_flags(nr, action, 0);
}

#endif
