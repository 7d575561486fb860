/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syslet pass-on-block, the x86-64 part: the user context a task hands to
 * another thread of its process when a chain it runs is about to sleep.
 */
#ifndef _ASM_X86_SYSLET_H
#define _ASM_X86_SYSLET_H

#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/ptrace.h>

struct task_struct;

struct syslet_uctx {
	struct pt_regs	regs;		/* as the task entered the kernel */
	unsigned long	fsbase;
	unsigned long	gsbase;
	u32		pkru;
};

/* Can @from's user context run in @to?  @from is current. */
bool syslet_arch_may_pass(struct task_struct *from, struct task_struct *to);
/* Captures current's user context; it may be about to sleep. */
void syslet_arch_save(struct syslet_uctx *u);
/*
 * Captures the user context of @tsk, a task off its CPU (->on_cpu read
 * clear), but the FPU state, which syslet_arch_take() reads from @tsk.
 */
void syslet_arch_save_task(struct task_struct *tsk, struct syslet_uctx *u);
/*
 * Makes @u, saved from @from, current's user context, returning @ret from
 * the system call @from was in.  Only the FPU state is read from @from,
 * which is off its CPU or does not load user FPU registers meanwhile.
 */
void syslet_arch_take(struct task_struct *from, const struct syslet_uctx *u,
		      long ret);

/* Bytes of current's FPU register image. */
unsigned int syslet_arch_fp_size(void);
/* Copies current's FPU registers to @regs (@img->size bytes). */
void syslet_arch_save_fp(struct fpu_image *img, void *regs);
/* As syslet_arch_take(), with the FPU state from @img and @regs. */
void syslet_arch_take_fp(const struct syslet_uctx *u,
			 const struct fpu_image *img, const void *regs,
			 long ret);
/* @tsk's FS and GS base; and setting current's. */
void syslet_arch_bases(struct task_struct *tsk, unsigned long *fsbase,
		       unsigned long *gsbase);
void syslet_arch_set_bases(unsigned long fsbase, unsigned long gsbase);
/* current's memory protection keys (PKRU; 0 without them) */
u32 syslet_arch_pkru(void);
/* Sets current's PKRU; returns the one it had. */
u32 syslet_arch_set_pkru(u32 pkru);

#endif /* _ASM_X86_SYSLET_H */
