// SPDX-License-Identifier: GPL-2.0
/*
 * Syslet pass-on-block on x86-64: moving a user context (registers, FPU
 * state, FS/GS base, PKRU) from a task about to sleep in a system call to
 * the thread that returns to user space in its place.
 *
 * The giving task saves its context while it is still current (it is in
 * the scheduler, about to sleep) and becomes an async thread: it never
 * returns to user space with that context again.  Its fpstate then stays
 * as saved: PF_IO_WORKER tasks do not save FPU registers at context switch
 * or in kernel_fpu_begin(), so the taker can copy it at any later time.
 */
#include <linux/compat.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <asm/fpu/api.h>
#include <asm/fsgsbase.h>
#include <asm/pkru.h>
#include <asm/proto.h>
#include <asm/prctl.h>
#include <asm/syscall.h>
#include <asm/syslet.h>

#define SYSLET_TIF_REFUSE	(_TIF_IO_BITMAP | _TIF_NOCPUID | \
				 _TIF_SINGLESTEP | _TIF_BLOCKSTEP)
#define SYSLET_TIF_SAME		(_TIF_SSBD | _TIF_SPEC_IB)

bool syslet_arch_may_pass(struct task_struct *from, struct task_struct *to)
{
	unsigned long ff = READ_ONCE(task_thread_info(from)->flags);
	unsigned long tf = READ_ONCE(task_thread_info(to)->flags);
	unsigned short fsi, gsi;

	if (in_compat_syscall() || (ff & SYSLET_TIF_REFUSE) ||
	    ((ff ^ tf) & SYSLET_TIF_SAME))
		return false;
	/* dynamically enabled state (AMX) lives in a larger buffer */
	if (from->thread.fpu.fpstate != &from->thread.fpu.__fpstate ||
	    to->thread.fpu.fpstate != &to->thread.fpu.__fpstate)
		return false;
	/* 64-bit programs use bases, not selectors, for TLS */
	savesegment(fs, fsi);
	savesegment(gs, gsi);
	return !fsi && !gsi;
}

void syslet_arch_save(struct syslet_uctx *u)
{
	u->regs = *current_pt_regs();
	u->fsbase = x86_fsbase_read_task(current);
	u->gsbase = x86_gsbase_read_task(current);
	u->pkru = read_pkru();
	fpu_sync_fpstate(&current->thread.fpu);
}

/* Loads @regs into current's FPU state, to be loaded on the way out. */
static void take_fp(const struct syslet_fpmeta *m, const void *regs)
{
	struct fpstate *dst = current->thread.fpu.fpstate;

	fpregs_lock();
	memcpy(&dst->regs, regs, min(dst->size, m->size));
	dst->xfeatures = m->xfeatures;
	dst->user_xfeatures = m->user_xfeatures;
	dst->xfd = m->xfd;
	/* load it on the way out, not what the registers hold now */
	set_thread_flag(TIF_NEED_FPU_LOAD);
	/* as __fpu_invalidate_fpregs_state(): the registers are not ours */
	current->thread.fpu.last_cpu = -1;
	fpregs_unlock();
}

/* Everything but the FPU state. */
static void take_regs(const struct syslet_uctx *u, long ret)
{
	struct pt_regs *regs = current_pt_regs();

	*regs = u->regs;
	regs->ax = ret;

	/* bases >= TASK_SIZE_MAX cannot come from user space */
	do_arch_prctl_64(current, ARCH_SET_FS, u->fsbase);
	do_arch_prctl_64(current, ARCH_SET_GS, u->gsbase);

	preempt_disable();
	current->thread.pkru = u->pkru;
	write_pkru(u->pkru);
	preempt_enable();
}

void syslet_arch_take(struct task_struct *from, const struct syslet_uctx *u,
		      long ret)
{
	const struct fpstate *src = from->thread.fpu.fpstate;
	struct syslet_fpmeta m = {
		.size		= src->size,
		.xfeatures	= src->xfeatures,
		.user_xfeatures	= src->user_xfeatures,
		.xfd		= src->xfd,
	};

	take_regs(u, ret);
	take_fp(&m, &src->regs);
}

unsigned int syslet_arch_fp_size(void)
{
	return current->thread.fpu.fpstate->size;
}

void syslet_arch_save_fp(struct syslet_fpmeta *m, void *regs)
{
	const struct fpstate *fps = current->thread.fpu.fpstate;

	fpu_sync_fpstate(&current->thread.fpu);
	memcpy(regs, &fps->regs, min(m->size, fps->size));
	m->xfeatures = fps->xfeatures;
	m->user_xfeatures = fps->user_xfeatures;
	m->xfd = fps->xfd;
}

void syslet_arch_take_fp(const struct syslet_uctx *u,
			 const struct syslet_fpmeta *m, const void *regs,
			 long ret)
{
	take_regs(u, ret);
	take_fp(m, regs);
}

void syslet_arch_bases(struct task_struct *tsk, unsigned long *fsbase,
		       unsigned long *gsbase)
{
	*fsbase = x86_fsbase_read_task(tsk);
	*gsbase = x86_gsbase_read_task(tsk);
}

void syslet_arch_set_bases(unsigned long fsbase, unsigned long gsbase)
{
	do_arch_prctl_64(current, ARCH_SET_FS, fsbase);
	do_arch_prctl_64(current, ARCH_SET_GS, gsbase);
}
