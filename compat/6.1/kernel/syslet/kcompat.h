/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslets on Linux 6.1: what the engine, written for Linux 6.12, needs of
 * the kernel interfaces that changed between 6.1 and 6.12.  This file is
 * kernel/syslet/kcompat.h of a 6.1 tree only (scripts/kernel.sh lays
 * compat/6.1/ over it); compat/6.12/kernel/syslet/kcompat.h has the same
 * items in the same order, so a diff of the two is the whole list of
 * differences in kernel/syslet/.  Each item says what changed upstream.
 *
 * Not here because the engine does not use it: call_read_iter() (6.12
 * has none; a file's ->read_iter() is called directly on both).
 */
#ifndef _KERNEL_SYSLET_KCOMPAT_H
#define _KERNEL_SYSLET_KCOMPAT_H

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>

/*
 * 6.12 reads a struct fd's file through fd_file() (added in 6.12, which
 * packs a struct fd into one word); 6.1 has the field.
 */
#define fd_file(f)	((f).file)

/*
 * 6.12 reads an iov_iter's current segment through iter_iov() (added in
 * 6.4, with the field renamed __iov; it serves ITER_UBUF too); 6.1 has
 * the field, for ITER_IOVEC only.
 */
#define iter_iov(iter)	((iter)->iov)

/*
 * PF_USER_WORKER (6.4): a kernel thread cloned from a user thread, which
 * create_io_thread() sets as well as PF_IO_WORKER, and which (not
 * PF_IO_WORKER) keeps 6.12's FPU core from saving and restoring a task's
 * user FPU state.  6.1 has no such flag; its FPU core keys on
 * PF_IO_WORKER.  (No 6.1 task has it, so 0 is true to 6.1.)
 */
#define PF_USER_WORKER	0

/*
 * Can reads of @file's page cache wait for pages asynchronously?  6.1
 * says so in the open file's f_mode (FMODE_BUF_RASYNC); 6.12 in the
 * file's operations (f_op->fop_flags, FOP_BUFFER_RASYNC).
 */
static inline bool syslet_file_buf_rasync(const struct file *file)
{
	return file->f_mode & FMODE_BUF_RASYNC;
}

/*
 * dequeue_signal() for current, under its siglock: 6.1's takes the task
 * (it must be current); 6.12's has no task argument.
 */
static inline int syslet_dequeue_signal(sigset_t *mask, kernel_siginfo_t *info,
					enum pid_type *type)
{
	return dequeue_signal(current, mask, info, type);
}

/*
 * A user buffer to read into, as an iov_iter: 6.1 has no import_ubuf()
 * and 6.12 no import_single_range().  6.1's import_single_range()
 * makes an ITER_IOVEC over @iov, which must live as long as @i.  @iov is
 * the buffer as imported, its length clamped to MAX_RW_COUNT, as on 6.12.
 */
static inline int syslet_import_buf(void __user *buf, size_t len,
				    struct iovec *iov, struct iov_iter *i)
{
	return import_single_range(READ, buf, len, iov, i);
}

/*
 * Sets current's CPU affinity to @mask.  6.1 keeps no affinity request
 * of the user's (user_cpus_ptr, which set_cpus_allowed_ptr() keeps a task
 * within from 6.2 on, so 6.12 replaces the request itself).
 */
static inline void syslet_set_affinity(const struct cpumask *mask)
{
	set_cpus_allowed_ptr(current, mask);
}

/*
 * The size of @a's and @b's registered rseq areas, exchanged: 6.1 has no
 * rseq_len (added in 6.3, with the extensible rseq area); its area is the
 * original 32 bytes.
 */
static inline void syslet_swap_rseq_len(struct task_struct *a,
					struct task_struct *b)
{
}

/*
 * Is @iter a user buffer read through iter_iov()?  6.1's io_submit()
 * gives a single buffer as an ITER_IOVEC (6.12's as an ITER_UBUF, which
 * 6.1's iter_iov() above cannot read).
 */
static inline bool syslet_iter_user_segs(const struct iov_iter *iter)
{
	return iter_is_iovec(iter);
}

/*
 * The end of a sysctl table: 6.1's register_sysctl() stops at an empty
 * entry; 6.12's counts the entries (register_sysctl_sz(), 6.6) and
 * refuses one without a name.
 */
#define SYSLET_CTL_TABLE_END	{ }

#endif /* _KERNEL_SYSLET_KCOMPAT_H */
