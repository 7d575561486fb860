/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslets: the hooks the rest of the kernel calls.
 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <linux/compiler.h>

struct signal_struct;
struct task_struct;

#ifdef CONFIG_SYSLET
#include <linux/sched.h>

/* free the process's syslet context with its signal_struct */
void syslet_free_signal(struct signal_struct *sig);
/* exec, before de_thread(): give the TGID back to the leader if we have it */
void syslet_execve_prepare(void);
/* exec: the old image's chains and async threads are gone; drop the rest */
void syslet_execve(void);
/* a thread exits: give back what it holds of a threadlet */
void syslet_task_exit(struct task_struct *tsk);
/*
 * it has left signal->live, the last one if @group_dead: the process is
 * dead; or no user thread is left: stop the others
 */
void syslet_task_exited(struct task_struct *tsk, bool group_dead);
/* its robust futex list is walked (exit_mm()): give the TGID back */
void syslet_task_exit_mm(struct task_struct *tsk);

void __syslet_sched_sleeping(struct task_struct *tsk);
/* kernel/sched/core.c: wake_up_process() with WF_SYNC, for a hand-off */
int syslet_wake_up_sync(struct task_struct *p);

/*
 * From sched_submit_work(): @tsk (current) is about to sleep.  If it runs
 * a chain with pass-on-block armed, its user context may be handed to an
 * async thread that returns to user space in its place: this only marks
 * the hand-off pending and wakes that thread (a cmpxchg and a wake-up).
 */
static inline void syslet_sched_sleeping(struct task_struct *tsk)
{
	if (unlikely(tsk->syslet_pob))
		__syslet_sched_sleeping(tsk);
}

void __syslet_sched_woken(struct task_struct *tsk);

/*
 * From the end of schedule(), after a sleep that syslet_sched_sleeping()
 * saw: the hand-off it made pending is cancelled (the sleep was short),
 * or taken, and then waited for.
 */
static inline void syslet_sched_woken(struct task_struct *tsk)
{
	if (unlikely(tsk->syslet_pob))
		__syslet_sched_woken(tsk);
}

void __syslet_worker_sleeping(struct task_struct *tsk);
void __syslet_worker_running(struct task_struct *tsk);

/*
 * From sched_submit_work() and sched_update_worker(), beside io-wq's
 * hooks: @tsk (current), an async thread running queued work
 * (task->syslet_worker set), is about to sleep, or runs again.  Its
 * sleep may wake an idle async thread for the chains that wait for one
 * (a count, and when it drops below the CPUs with chains queued, a
 * spinlock and a wake-up).
 */
static inline void syslet_worker_sleeping(struct task_struct *tsk)
{
	if (unlikely(tsk->syslet_worker))
		__syslet_worker_sleeping(tsk);
}

static inline void syslet_worker_running(struct task_struct *tsk)
{
	if (unlikely(tsk->syslet_worker))
		__syslet_worker_running(tsk);
}
#else
static inline void syslet_free_signal(struct signal_struct *sig) { }
static inline void syslet_execve_prepare(void) { }
static inline void syslet_execve(void) { }
static inline void syslet_task_exit(struct task_struct *tsk) { }
static inline void syslet_task_exited(struct task_struct *tsk,
				      bool group_dead) { }
static inline void syslet_task_exit_mm(struct task_struct *tsk) { }
static inline void syslet_sched_sleeping(struct task_struct *tsk) { }
static inline void syslet_sched_woken(struct task_struct *tsk) { }
static inline void syslet_worker_sleeping(struct task_struct *tsk) { }
static inline void syslet_worker_running(struct task_struct *tsk) { }
#endif

#endif /* _LINUX_SYSLET_H */
