/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syslet engine's own events: a chain submitted, a user context
 * handed off (pass-on-block or threadlet), a completion posted to a
 * ring, a cancel, an io_submit() request taken and completed
 * (kernel/syslet/aio.c).  The system calls of its atoms are the
 * raw_syscalls sys_enter and sys_exit events (and audit records) of the
 * task that runs them; a direct read's (kernel/syslet/kio.c), of the
 * thread that posts it.  An io_submit() request's only system call is
 * io_submit(), of its submitter.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM syslet

#if !defined(_TRACE_SYSLET_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SYSLET_H

#include <linux/cred.h>
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

/**
 * syslet_worker_wake - an async thread is woken for queued chains that
 *	waited without a wake-up of their own (concurrency management)
 * @tid: the thread's TID
 * @why: 0 a submitter (threads going fell meanwhile), 1 a busy thread
 *	went to sleep, 2 the kick (no chain left the queue for a while)
 * @queued: chains on the queue
 */
TRACE_EVENT(syslet_worker_wake,
	    TP_PROTO(struct task_struct *t, int why, unsigned int queued),
	    TP_ARGS(t, why, queued),
	    TP_STRUCT__entry(__field(pid_t, tid)
			     __field(int, why)
			     __field(unsigned int, queued)),
	    TP_fast_assign(__entry->tid = t->pid;
			   __entry->why = why;
			   __entry->queued = queued;),
	    TP_printk("tid %d why %d queued %u",
		      __entry->tid, __entry->why, __entry->queued)
);

/**
 * syslet_aio_submit - io_submit() gave the engine a buffered read or write
 * @req: the request (fs/aio.c's kiocb), as syslet_aio_complete names it
 * @user_data: its iocb's aio_data
 * @pos: the file position it reads from (a write: writes at, but for an
 *	O_APPEND one, which writes at the end of the file when it runs)
 * @len: its length
 * @res: its result if it completed in io_submit(), else what io_submit()
 *	copied from the page cache before it queued the rest (a write: 0)
 * @queued: it waits for its pages and completes by itself (a
 *	syslet_aio_complete follows), else it completed in io_submit()
 * @write: an O_DSYNC/RWF_DSYNC write, queued for an async thread of the
 *	submitter's process (printed as " write" after the fsuid)
 *
 * Its fsuid field is current's, the submitter's: the credentials the
 * request runs with, wherever it is read on or written.
 *
 * Once per request the engine takes: a buffered IOCB_CMD_PREAD or PREADV
 * read through it, a PWRITE or PWRITEV that would wait for the device.
 * A request it leaves to mainline's path (the switch off, O_DIRECT,
 * RWF_NOWAIT, a write the page cache takes, a file whose page cache
 * cannot be waited for) fires none.
 */
TRACE_EVENT(syslet_aio_submit,
	    TP_PROTO(const void *req, u64 user_data, loff_t pos, size_t len,
		     long res, bool queued, bool write),
	    TP_ARGS(req, user_data, pos, len, res, queued, write),
	    TP_STRUCT__entry(__field(const void *, req)
			     __field(u64, user_data)
			     __field(loff_t, pos)
			     __field(size_t, len)
			     __field(long, res)
			     __field(bool, queued)
			     __field(bool, write)
			     __field(uid_t, fsuid)),
	    TP_fast_assign(__entry->req = req;
			   __entry->user_data = user_data;
			   __entry->pos = pos;
			   __entry->len = len;
			   __entry->res = res;
			   __entry->queued = queued;
			   __entry->write = write;
			   __entry->fsuid = from_kuid_munged(&init_user_ns,
							     current_fsuid());),
	    TP_printk("req %p user_data 0x%llx pos %lld len %zu res %ld %s fsuid %u%s",
		      __entry->req, __entry->user_data, __entry->pos,
		      __entry->len, __entry->res,
		      __entry->queued ? "queued" : "done", __entry->fsuid,
		      __entry->write ? " write" : "")
);

/**
 * syslet_aio_complete - a request queued by syslet_aio_submit completed
 * @req: the request
 * @user_data: its iocb's aio_data
 * @res: the result its io_event gets (-ECANCELED if it was cancelled)
 * @submitter: the thread that submitted it (its TID, which a pass-on-block
 *	hand-off takes along with the user context)
 * @dropped: its process was going (exit, exec), nothing was read or
 *	written: its -ECANCELED is completed by a kworker, the process's
 *	exiting or exec'ing thread, or an async thread being killed
 *
 * Once per queued request, just before its event goes to the aio ring,
 * in the thread that completes it: the one that read it on (the
 * submitter, or another thread of its process) or wrote it (an async
 * thread), or the one that drops it.  Its tid field is that thread's,
 * its fsuid field the credentials it read on or wrote with: the
 * submitter's (that thread's own if @dropped).
 */
TRACE_EVENT(syslet_aio_complete,
	    TP_PROTO(const void *req, u64 user_data, long res, pid_t submitter,
		     bool dropped),
	    TP_ARGS(req, user_data, res, submitter, dropped),
	    TP_STRUCT__entry(__field(const void *, req)
			     __field(u64, user_data)
			     __field(long, res)
			     __field(pid_t, tid)
			     __field(pid_t, submitter)
			     __field(uid_t, fsuid)
			     __field(bool, dropped)),
	    TP_fast_assign(__entry->req = req;
			   __entry->user_data = user_data;
			   __entry->res = res;
			   __entry->tid = task_pid_nr(current);
			   __entry->submitter = submitter;
			   __entry->fsuid = from_kuid_munged(&init_user_ns,
							     current_fsuid());
			   __entry->dropped = dropped;),
	    TP_printk("req %p user_data 0x%llx res %ld tid %d submitter %d fsuid %u%s",
		      __entry->req, __entry->user_data, __entry->res,
		      __entry->tid, __entry->submitter, __entry->fsuid,
		      __entry->dropped ? " dropped" : "")
);

#endif /* _TRACE_SYSLET_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
