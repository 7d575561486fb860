/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslets: the hooks the rest of the kernel calls.
 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

struct signal_struct;
struct task_struct;

#ifdef CONFIG_SYSLET
/* free the process's syslet context with its signal_struct */
void syslet_free_signal(struct signal_struct *sig);
/* exec: the old image's chains and async threads are gone; drop the rest */
void syslet_exec(void);
/* a user thread exits: if it is the last one, stop the async threads */
void syslet_task_exit(struct task_struct *tsk);
#else
static inline void syslet_free_signal(struct signal_struct *sig) { }
static inline void syslet_exec(void) { }
static inline void syslet_task_exit(struct task_struct *tsk) { }
#endif

#endif /* _LINUX_SYSLET_H */
