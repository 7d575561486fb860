/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslets on Linux 6.12: the kernel interfaces the engine reaches through
 * a helper of its own because Linux 6.1 spells them differently.  This
 * file is kernel/syslet/kcompat.h of a 6.12 tree only (scripts/kernel.sh
 * lays compat/6.12/ over it); compat/6.1/kernel/syslet/kcompat.h has the
 * same items in the same order, so a diff of the two is the whole list
 * of differences in kernel/syslet/.
 *
 * The engine's files are written for 6.12: where 6.12's own name can be
 * given to 6.1, they use it (fd_file(), iter_iov(), PF_USER_WORKER) and
 * only the 6.1 file has a shim; the helpers below are for what cannot.
 * Merged into 6.12, this file's bodies would replace their calls.
 */
#ifndef _KERNEL_SYSLET_KCOMPAT_H
#define _KERNEL_SYSLET_KCOMPAT_H

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>

/* fd_file(), iter_iov(), PF_USER_WORKER: 6.12's own */

/* Can reads of @file's page cache wait for pages asynchronously? */
static inline bool syslet_file_buf_rasync(const struct file *file)
{
	return file->f_op->fop_flags & FOP_BUFFER_RASYNC;
}

/* dequeue_signal() for current, under its siglock */
static inline int syslet_dequeue_signal(sigset_t *mask, kernel_siginfo_t *info,
					enum pid_type *type)
{
	return dequeue_signal(mask, info, type);
}

/*
 * A user buffer to read into, as an iov_iter (an ITER_UBUF); @iov is
 * filled with the buffer as imported (its length clamped to
 * MAX_RW_COUNT), which the callers read: import_ubuf() does not.
 */
static inline int syslet_import_buf(void __user *buf, size_t len,
				    struct iovec *iov, struct iov_iter *i)
{
	int ret = import_ubuf(READ, buf, len, i);

	if (!ret) {
		iov->iov_base = buf;
		iov->iov_len = iov_iter_count(i);
	}
	return ret;
}

/*
 * Sets current's CPU affinity to @mask.  set_cpus_allowed_ptr() keeps a
 * task within the affinity its user asked for last (user_cpus_ptr, which
 * a new thread inherits from its maker), so the request itself is
 * replaced, as sched_setaffinity() does; should that fail (an LSM's
 * refusal, memory), the mask is applied as it is.
 */
static inline void syslet_set_affinity(const struct cpumask *mask)
{
	if (!sched_setaffinity(0, mask))
		return;
	set_cpus_allowed_ptr(current, mask);
}

#ifdef CONFIG_RSEQ
/* The size of @a's and @b's registered rseq areas, exchanged */
static inline void syslet_swap_rseq_len(struct task_struct *a,
					struct task_struct *b)
{
	swap(a->rseq_len, b->rseq_len);
}
#endif

/*
 * Is @iter a user buffer read through iter_iov()?  io_submit() gives a
 * single buffer as an ITER_UBUF, a vector as an ITER_IOVEC.
 */
static inline bool syslet_iter_user_segs(const struct iov_iter *iter)
{
	return user_backed_iter(iter);
}

/*
 * The end of a sysctl table: register_sysctl() counts the entries
 * (ARRAY_SIZE()) and refuses one without a name, so there is no end
 * marker.
 */
#define SYSLET_CTL_TABLE_END

#endif /* _KERNEL_SYSLET_KCOMPAT_H */
