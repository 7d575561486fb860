/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syslet engine's own events: a chain submitted, a user context
 * handed off (pass-on-block or threadlet), a completion posted to a
 * ring, a cancel.  The system calls of its atoms are the raw_syscalls
 * sys_enter and sys_exit events (and audit records) of the task that runs
 * them; a direct read's (kernel/syslet/kio.c), of the thread that posts it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM syslet

#if !defined(_TRACE_SYSLET_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SYSLET_H

#include <linux/tracepoint.h>
#include <uapi/linux/syslet.h>

/**
 * syslet_submit - async_exec() was given a chain
 * @atom: user address of its first atom
 * @ring: its completion ring, or %NULL
 * @flags: the first atom's flags (SYSLET_SYNC, SYSLET_ASYNC, ...)
 * @user_data: the first atom's user_data
 */
TRACE_EVENT(syslet_submit,
	    TP_PROTO(const void __user *atom, const void __user *ring,
		     u32 flags, u64 user_data),
	    TP_ARGS(atom, ring, flags, user_data),
	    TP_STRUCT__entry(__field(unsigned long, head)
			     __field(unsigned long, ring)
			     __field(u32, flags)
			     __field(u64, user_data)),
	    TP_fast_assign(__entry->head = (unsigned long)atom;
			   __entry->ring = (unsigned long)ring;
			   __entry->flags = flags;
			   __entry->user_data = user_data;),
	    TP_printk("head 0x%lx ring 0x%lx flags 0x%x user_data 0x%llx",
		      __entry->head, __entry->ring, __entry->flags,
		      __entry->user_data)
);

/**
 * syslet_handoff - a user context went from a task about to sleep to another
 * @tid: the thread id that goes with the context (the taker's now)
 * @giver: the giver's thread id now; it finishes the chain or threadlet
 * @threadlet: a threadlet's context (else pass-on-block)
 */
TRACE_EVENT(syslet_handoff,
	    TP_PROTO(pid_t tid, pid_t giver, bool threadlet),
	    TP_ARGS(tid, giver, threadlet),
	    TP_STRUCT__entry(__field(pid_t, tid)
			     __field(pid_t, giver)
			     __field(bool, threadlet)),
	    TP_fast_assign(__entry->tid = tid;
			   __entry->giver = giver;
			   __entry->threadlet = threadlet;),
	    TP_printk("tid %d giver %d%s", __entry->tid, __entry->giver,
		      __entry->threadlet ? " threadlet" : "")
);

/**
 * syslet_complete - a completion is posted to a ring
 * @ring: the ring's user address
 * @comp: the completion (status, atom, nr_atoms, flags, user_data)
 *
 * Once per completion that goes to a ring, as soon as it is written there
 * or put on the ring's overflow list, under the ring's mutex (so a ring's
 * events come in the order of its completions, and before any waiter is
 * woken for it): a chain's (run by an async thread, in
 * its caller, or as a direct read; or cancelled before it started), and
 * one of SYSLET_EXEC_POST or SYSLET_EXEC_THREADLET_END.  A completion
 * given back in *done, or not posted (SYSLET_NO_COMPLETE, a chain dropped
 * with its process, a post refused), fires none.
 */
TRACE_EVENT(syslet_complete,
	    TP_PROTO(u64 ring, const struct syslet_completion *comp),
	    TP_ARGS(ring, comp),
	    TP_STRUCT__entry(__field(u64, user_data)
			     __field(s64, status)
			     __field(u64, atom)
			     __field(u32, nr_atoms)
			     __field(u32, flags)
			     __field(u64, ring)),
	    TP_fast_assign(__entry->user_data = comp->user_data;
			   __entry->status = comp->status;
			   __entry->atom = comp->atom;
			   __entry->nr_atoms = comp->nr_atoms;
			   __entry->flags = comp->flags;
			   __entry->ring = ring;),
	    TP_printk("user_data 0x%llx status %lld atoms %u last 0x%llx flags 0x%x ring 0x%llx",
		      __entry->user_data, __entry->status, __entry->nr_atoms,
		      __entry->atom, __entry->flags, __entry->ring)
);

/**
 * syslet_cancel - async_cancel() was called
 * @ring: the ring it named
 * @user_data: the chains it named
 * @flags: its flags
 * @ret: what it returned
 */
TRACE_EVENT(syslet_cancel,
	    TP_PROTO(const void __user *ring, u64 user_data,
		     unsigned int flags, long ret),
	    TP_ARGS(ring, user_data, flags, ret),
	    TP_STRUCT__entry(__field(unsigned long, ring)
			     __field(u64, user_data)
			     __field(unsigned int, flags)
			     __field(long, ret)),
	    TP_fast_assign(__entry->ring = (unsigned long)ring;
			   __entry->user_data = user_data;
			   __entry->flags = flags;
			   __entry->ret = ret;),
	    TP_printk("ring 0x%lx user_data 0x%llx flags 0x%x ret %ld",
		      __entry->ring, __entry->user_data, __entry->flags,
		      __entry->ret)
);

#endif /* _TRACE_SYSLET_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
