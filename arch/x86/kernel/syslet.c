// SPDX-License-Identifier: GPL-2.0
/*
 * Syslet pass-on-block on x86-64: moving a user context (registers, FPU
 * state, FS/GS base, PKRU) from a task about to sleep in a system call to
 * the thread that returns to user space in its place.
 *
 * Pass-on-block: the taker reads the giving task's context from that task
 * once it is off its CPU (syslet_arch_save_task()): the context switch
 * saved its FPU registers in its fpstate (it was not PF_IO_WORKER then),
 * its FS/GS base in thread.fsbase/gsbase and its PKRU in thread.pkru; its
 * pt_regs are as it entered the kernel.  In the kernel the giver never
 * loads user FPU registers again (TIF_NEED_FPU_LOAD is set at switch-in,
 * and it will not return to user space with this context), so they stay
 * as saved while the taker copies them, even if it runs meanwhile.
 * Threadlets save the caller's context while it is current, at begin.
 */
#include <linux/compat.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fsgsbase.h>
#include <asm/pkru.h>
#include <asm/proto.h>
#include <asm/prctl.h>
#include <asm/syscall.h>
#include <asm/syslet.h>

#define SYSLET_TIF_REFUSE	(_TIF_IO_BITMAP | _TIF_NOCPUID | \
				 _TIF_SINGLESTEP | _TIF_BLOCKSTEP)
/* per-thread modes a hand-off does not move: PR_SET_TSC, speculation */
#define SYSLET_TIF_SAME		(_TIF_SSBD | _TIF_SPEC_IB | _TIF_NOTSC | \
				 _TIF_SPEC_L1D_FLUSH)

/* Has @tsk hardware breakpoints or watchpoints set by a tracer? */
static bool syslet_ptrace_bps(struct task_struct *tsk)
{
	int i;

	if (tsk->thread.ptrace_dr7)
		return true;
	for (i = 0; i < HBP_NUM; i++)
		if (READ_ONCE(tsk->thread.ptrace_bps[i]))
			return true;
	return false;
}

/* Can a task load these bases with ARCH_SET_FS and ARCH_SET_GS? */
static bool syslet_bases_loadable(struct task_struct *tsk)
{
	return x86_fsbase_read_task(tsk) < TASK_SIZE_MAX &&
	       x86_gsbase_read_task(tsk) < TASK_SIZE_MAX;
}

bool syslet_arch_may_pass(struct task_struct *from, struct task_struct *to)
{
	unsigned long ff = READ_ONCE(task_thread_info(from)->flags);
	unsigned long tf = READ_ONCE(task_thread_info(to)->flags);
	unsigned short fsi, gsi;

	if (in_compat_syscall() || (ff & SYSLET_TIF_REFUSE) ||
	    ((ff ^ tf) & SYSLET_TIF_SAME))
		return false;
	/* they stay with the task a tracer set them on */
	if (syslet_ptrace_bps(from) || syslet_ptrace_bps(to))
		return false;
#ifdef CONFIG_X86_USER_SHADOW_STACK
	/*
	 * Linux 6.6 on: a user shadow stack is its thread's own, and the
	 * shadow stack pointer is part of the FPU state that would move.
	 */
	if ((from->thread.features | to->thread.features) & ARCH_SHSTK_SHSTK)
		return false;
#endif
	/* dynamically enabled state (AMX) lives in a larger buffer */
	if (!fpu_has_default_fpstate(from) || !fpu_has_default_fpstate(to))
		return false;
	/*
	 * With FSGSBASE, user space loads any canonical base, kernel half
	 * included (WRFSBASE, WRGSBASE); the taker sets them through
	 * do_arch_prctl_64(), which takes user addresses only.  Other bases
	 * stay with their thread: no hand-off.  A threadlet's caller goes
	 * on with the spare's bases, so those are checked too.
	 */
	if (!syslet_bases_loadable(from) || !syslet_bases_loadable(to))
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

void syslet_arch_save_task(struct task_struct *tsk, struct syslet_uctx *u)
{
	u->regs = *task_pt_regs(tsk);
	u->fsbase = x86_fsbase_read_task(tsk);
	u->gsbase = x86_gsbase_read_task(tsk);
	u->pkru = tsk->thread.pkru;
}

/*
 * Sets current's bases.  syslet_arch_may_pass() let only user addresses
 * through, which cannot fail.
 */
static void set_bases(unsigned long fsbase, unsigned long gsbase)
{
	WARN_ON_ONCE(do_arch_prctl_64(current, ARCH_SET_FS, fsbase));
	WARN_ON_ONCE(do_arch_prctl_64(current, ARCH_SET_GS, gsbase));
}

/* Everything but the FPU state. */
static void take_regs(const struct syslet_uctx *u, long ret)
{
	struct pt_regs *regs = current_pt_regs();

	*regs = u->regs;
	regs->ax = ret;
	set_bases(u->fsbase, u->gsbase);

	preempt_disable();
	current->thread.pkru = u->pkru;
	write_pkru(u->pkru);
	preempt_enable();
}

void syslet_arch_take(struct task_struct *from, const struct syslet_uctx *u,
		      long ret)
{
	take_regs(u, ret);
	fpu_image_take(from);
}

unsigned int syslet_arch_fp_size(void)
{
	return fpu_image_size();
}

void syslet_arch_save_fp(struct fpu_image *img, void *regs)
{
	fpu_image_save(img, regs);
}

void syslet_arch_take_fp(const struct syslet_uctx *u,
			 const struct fpu_image *img, const void *regs,
			 long ret)
{
	take_regs(u, ret);
	fpu_image_load(img, regs);
}

void syslet_arch_bases(struct task_struct *tsk, unsigned long *fsbase,
		       unsigned long *gsbase)
{
	*fsbase = x86_fsbase_read_task(tsk);
	*gsbase = x86_gsbase_read_task(tsk);
}

void syslet_arch_set_bases(unsigned long fsbase, unsigned long gsbase)
{
	set_bases(fsbase, gsbase);
}

u32 syslet_arch_pkru(void)
{
	return read_pkru();
}

u32 syslet_arch_set_pkru(u32 pkru)
{
	u32 old;

	/* the register and the value a context switch loads, together */
	preempt_disable();
	old = read_pkru();
	if (old != pkru) {
		current->thread.pkru = pkru;
		write_pkru(pkru);
	}
	preempt_enable();
	return old;
}
