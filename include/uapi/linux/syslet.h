/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Syslets: asynchronous execution of ordinary system calls.
 *
 * A chain of atoms (one system call each) is handed to async_exec().  The
 * kernel runs it in the caller or in an "async thread" of the calling
 * process and posts one completion per chain to a ring that lives in the
 * caller's own memory.  See Documentation in docs/abi.md of the syslet
 * project for the full contract; the essentials are repeated here.
 *
 * Every field has a fixed size, so 32- and 64-bit callers share one layout.
 * Pointers are carried in __u64 fields.
 *
 * ABI v1 (docs/abi.md says what it promises to keep): the ring and the
 * limits carry their size and are checked as copy_struct_from_user() does
 * (a bigger struct is accepted if the bytes the kernel does not know are
 * zero, -E2BIG otherwise; a smaller one down to its *_SIZE_VER0 gets
 * defaults); every reserved field must be zero (-EINVAL); every call has a
 * flags argument and refuses unknown bits (-EINVAL).  The header compiles
 * as C and as C++ (no keyword as a name, no flexible array member).
 */
#ifndef _UAPI_LINUX_SYSLET_H
#define _UAPI_LINUX_SYSLET_H

#include <linux/types.h>

/*
 * The system call numbers, the one place they are defined.  The same on
 * x86-64 and i386, free on Linux 6.1 and 6.12 (whose tables end at 450 and
 * 462) and below the x32 range (512-547).  The kernel's syscall tables are
 * checked against these (a build-time assertion in kernel/syslet/core.c
 * and tests/host/22-abi.sh).  A stock kernel answers -ENOSYS, or, should a
 * later kernel give a number another meaning, something async_limits()
 * would never reply: probe with async_limits() and check the reply.
 */
#define SYSLET_NR_ASYNC_EXEC	500
#define SYSLET_NR_ASYNC_WAIT	501
#define SYSLET_NR_ASYNC_CANCEL	502
#define SYSLET_NR_ASYNC_LIMITS	503

#if !defined(__KERNEL__) && \
	((defined(__x86_64__) && !defined(__ILP32__)) || defined(__i386__))
#ifndef __NR_async_exec
#define __NR_async_exec		SYSLET_NR_ASYNC_EXEC
#define __NR_async_wait		SYSLET_NR_ASYNC_WAIT
#define __NR_async_cancel	SYSLET_NR_ASYNC_CANCEL
#define __NR_async_limits	SYSLET_NR_ASYNC_LIMITS
#endif
#endif

/*
 * Atom flags.  The values are the historic syslet ones.
 *
 * The mode flags (SYSLET_ASYNC, SYSLET_SYNC, SYSLET_NO_COMPLETE,
 * SYSLET_NOSIGNAL) are read from the first atom of a chain and apply to
 * the whole chain.  The stop
 * flags are evaluated after each atom on its return value: when one matches,
 * the chain ends with that atom, unless SYSLET_SKIP_TO_NEXT_ON_STOP is set,
 * in which case execution continues with the atom laid out in memory right
 * after this one (a branch) instead of the one 'next' points to.
 */
#define SYSLET_ASYNC			0x00000001 /* never run in the caller */
#define SYSLET_SYNC			0x00000002 /* never leave the caller */
#define SYSLET_NO_COMPLETE		0x00000004 /* post no completion */
#define SYSLET_STOP_ON_NONZERO		0x00000008
#define SYSLET_STOP_ON_ZERO		0x00000010
#define SYSLET_STOP_ON_NEGATIVE		0x00000020
#define SYSLET_STOP_ON_NON_POSITIVE	0x00000040
#define SYSLET_SKIP_TO_NEXT_ON_STOP	0x00000080
/*
 * With SYSLET_ASYNC only (else -EINVAL): the signals the chain's calls
 * send to the thread that makes them, SIGPIPE and SIGXFSZ, are discarded
 * (the call still fails with EPIPE or EFBIG), as in a thread that blocks
 * every signal, such as glibc's POSIX AIO helper, or as send() with
 * MSG_NOSIGNAL.  Without it they go to the submitting thread.
 */
#define SYSLET_NOSIGNAL			0x00000100

#define SYSLET_ATOM_FLAGS	(SYSLET_ASYNC | SYSLET_SYNC |		\
				 SYSLET_NO_COMPLETE |			\
				 SYSLET_STOP_ON_NONZERO |		\
				 SYSLET_STOP_ON_ZERO |			\
				 SYSLET_STOP_ON_NEGATIVE |		\
				 SYSLET_STOP_ON_NON_POSITIVE |		\
				 SYSLET_SKIP_TO_NEXT_ON_STOP |		\
				 SYSLET_NOSIGNAL)

/* The most atoms one chain may run; the next one fails it with -ELOOP. */
#define SYSLET_MAX_ATOMS	4096

/*
 * One system call.  96 bytes, 8-byte aligned.
 *
 * @arg_ptr[i] points to the 64-bit value of argument i, read at the moment
 * the atom runs, so an atom may consume a value an earlier atom stored
 * through its @ret_ptr.  A zero @arg_ptr[i] passes 0.  @ret_ptr, when not
 * zero, points to an __s64 that receives the return value (a negative
 * errno on failure).  @next is the user address of the next atom, or 0 to
 * end the chain.  @user_data is never read by the kernel except to report
 * it: the first atom's @user_data is the chain's user word, which
 * identifies the chain in its completion and to async_cancel().  (It was
 * called @private before it had to compile as C++.)  @__reserved must be
 * zero: an atom with a nonzero reserved word is refused as one with an
 * unknown flag is (-EINVAL, it does not run); a later ABI may give the
 * words a meaning, under a new flag.
 */
struct syslet_atom {
	__u32	flags;
	__u32	nr;
	__u64	ret_ptr;
	__u64	next;
	__u64	arg_ptr[6];
	__u64	user_data;
	__u64	__reserved[2];
};

/*
 * One completion, 32 bytes.  It has no reserved word: a bigger completion
 * would be asked for with a flag (a SYSLET_RING_F_* for a ring's entries,
 * a SYSLET_EXEC_* for async_exec()'s @done), so a program that sets no
 * such flag never gets more than these 32 bytes written.
 * @status:	return value of the last atom run (or -ECANCELED, -ELOOP, ...)
 * @user_data:	the chain's user word (the first atom's @user_data)
 * @atom:	user address of the last atom read (0 if none was)
 * @flags:	SYSLET_COMP_* bits
 * @nr_atoms:	how many atoms got to their system call (made, or refused)
 */
struct syslet_completion {
	__s64	status;
	__u64	user_data;
	__u64	atom;
	__u32	flags;
	__u32	nr_atoms;
};

#define SYSLET_COMP_CANCELED	0x00000001 /* the chain was cancelled */
#define SYSLET_COMP_SYNC	0x00000002 /* ran wholly in the caller */

/*
 * The completion ring: ordinary memory of the caller's (heap, stack, shared
 * memory, hugetlb), 64-byte aligned, nothing registered, pinned or mapped
 * by the kernel.  The caller fills in @size, @nr_entries and @flags, zeroes
 * the rest, and passes the ring's address to async_exec() / async_wait().
 *
 * @size is the size of the header: sizeof(struct syslet_ring), or a later
 * header's (a multiple of 64, at most 4096) whose bytes past this one's are
 * zero.  The entries (struct syslet_completion) begin right after the
 * header, at SYSLET_RING_ENTRIES(ring), which is (char *)ring + @size.
 *
 * @head is written only by the kernel, @tail only by user space; they live
 * on separate cache lines.  Both are free-running 32-bit counters: the
 * number of entries ready is (head - tail), and entry i lives at
 * entries[i & (nr_entries - 1)].
 *
 * Ordering: the kernel writes an entry and then, with a write barrier
 * between, advances @head.  A reader loads @head with acquire semantics,
 * reads entries up to it, and then advances @tail with release semantics
 * (the kernel may reuse a slot as soon as it sees the new @tail).
 *
 * When the ring is full the kernel keeps completions on an overflow list
 * (bounded by the chains in flight), sets SYSLET_RING_OVERFLOW in @kflags
 * and @overflow to their number, and moves them into the ring in order as
 * slots are freed, on the next async_exec() or async_wait() on the ring.
 * No completion is ever dropped.
 */
struct syslet_ring {
	/* cache line 0: written by the kernel */
	__u32	head;
	__u32	kflags;			/* SYSLET_RING_OVERFLOW */
	__u32	overflow;		/* completions waiting in the kernel */
	__u32	__kpad[13];

	/* cache line 1: written by user space */
	__u32	tail;
	__u32	__upad[15];

	/* cache line 2: set up by user space, read by the kernel */
	__u32	size;			/* sizeof(struct syslet_ring) */
	__u32	nr_entries;		/* power of two, 1 .. 65536 */
	__u32	flags;			/* SYSLET_RING_F_*, none defined yet */
	__u32	__rpad[13];

	/* @nr_entries struct syslet_completion follow, at SYSLET_RING_ENTRIES */
};

#define SYSLET_RING_OVERFLOW	0x00000001 /* kflags: completions overflowed */
#define SYSLET_RING_ALIGN	64
#define SYSLET_RING_MAX_ENTRIES	65536
#define SYSLET_RING_F_ALL	0
#define SYSLET_RING_SIZE_VER0	192	/* v1: sizeof(struct syslet_ring) */
#define SYSLET_RING_SIZE_MAX	4096
/* bytes needed for a ring of n entries (with this header) */
#define SYSLET_RING_BYTES(n)	(sizeof(struct syslet_ring) +		\
				 (n) * sizeof(struct syslet_completion))
/* the entries of ring @r (a pointer to a ring whose @size is set) */
static __inline__ struct syslet_completion *
__syslet_ring_entries(const struct syslet_ring *r)
{
	return (struct syslet_completion *)(void *)((char *)r + r->size);
}

#define SYSLET_RING_ENTRIES(r)	__syslet_ring_entries(r)

/* async_exec() returns one of these, or a negative errno. */
#define SYSLET_DONE		0 /* the chain completed in the caller */
#define SYSLET_QUEUED		1 /* the chain will complete through the ring */

/*
 * async_exec() flags argument.  0 submits the chain at @atom; each flag
 * below selects another operation instead (at most one of them; any other
 * bit is -EINVAL): they all end in the same ring or hand-off machinery,
 * and libsyslet's threadlet code makes them from assembly with one number.
 * docs/abi.md says why they stay one call.
 *
 * SYSLET_EXEC_POST runs nothing: @atom must be NULL, and the completion at
 * @done, every field as it is (flags: only SYSLET_COMP_* bits), is posted
 * to @ring as if a chain had completed.
 * It lets a thread of the program (e.g. running a threadlet) complete
 * through the same ring as the kernel's chains.
 */
#define SYSLET_EXEC_POST	0x00000001

/*
 * Threadlets: a function of the program runs in the calling thread until
 * it would sleep; then the caller's context, as it was at
 * SYSLET_EXEC_THREADLET, goes on in a "spare" thread of the program and
 * the threadlet finishes in the original task, with the spare's identity.
 * @atom, @ring and @done must be NULL for THREADLET and SPARE.
 *
 * SYSLET_EXEC_SPARE parks the calling thread as a spare.  It returns
 * SYSLET_QUEUED as a threadlet's caller, or -EINTR (a signal), -ETIMEDOUT
 * (idle for the idle_msecs limit) or -ECANCELED (the process is exiting).
 * SYSLET_EXEC_THREADLET begins a threadlet: returns 0 to the caller, which
 * runs it, and SYSLET_QUEUED later, as the caller's context in a spare, if
 * it slept; -EAGAIN if no spare is parked, -EBUSY inside a threadlet.
 * SYSLET_EXEC_THREADLET_END ends it, posting *@done (status, user_data)
 * to @ring, then sets done->flags to 0 (the threadlet's memory is free
 * once it reads 0): SYSLET_DONE if it never slept (the caller goes on); else the
 * task goes on as the spare it swapped identities with, returning from
 * that spare's SYSLET_EXEC_SPARE call.  See docs/abi.md.
 */
#define SYSLET_EXEC_THREADLET		0x00000002
#define SYSLET_EXEC_THREADLET_END	0x00000004
#define SYSLET_EXEC_SPARE		0x00000008
#define SYSLET_EXEC_F_ALL	(SYSLET_EXEC_POST | SYSLET_EXEC_THREADLET | \
				 SYSLET_EXEC_THREADLET_END | SYSLET_EXEC_SPARE)

/*
 * async_wait() flags.  SYSLET_WAIT_RESTART: a wait a signal interrupts is
 * restarted after a handler installed with SA_RESTART (and after a signal
 * that runs no handler), as an untimed futex wait is, and fails with
 * -EINTR after any other handler.  Not with a sigmask, nor with a
 * relative timeout (-EINVAL).  SYSLET_WAIT_HEAD: min_complete is a value
 * of the ring's head, and the wait ends once the head differs from it (a
 * completion was posted since), whoever consumed it: a futex on the
 * head.  SYSLET_WAIT_RESTART_SIGMASK: the restart of SYSLET_WAIT_RESTART
 * for a wait with a sigmask, which the restarted call installs again
 * (not with a relative timeout: -EINVAL); so a program that blocks signals
 * outside the wait runs its handlers only inside it.  SYSLET_WAIT_ABSTIME:
 * the timeout is an absolute CLOCK_MONOTONIC time (another clock would
 * take a flag of its own), and a wait a signal interrupts is restarted,
 * with the same deadline, when the signal runs no handler, and fails with
 * -EINTR after any handler, SA_RESTART or not (as clock_nanosleep() with
 * TIMER_ABSTIME does): an ignored
 * signal that was pending while blocked does not end it; with it the two
 * restart flags above may have a timeout.  Not without a timeout
 * (-EINVAL).  See docs/abi.md.
 */
#define SYSLET_WAIT_RESTART		0x00000001
#define SYSLET_WAIT_HEAD		0x00000002
#define SYSLET_WAIT_RESTART_SIGMASK	0x00000004
#define SYSLET_WAIT_ABSTIME		0x00000008
#define SYSLET_WAIT_F_ALL	(SYSLET_WAIT_RESTART | SYSLET_WAIT_HEAD | \
				 SYSLET_WAIT_RESTART_SIGMASK | \
				 SYSLET_WAIT_ABSTIME)

/* async_cancel() flags */
#define SYSLET_CANCEL_ALL	0x00000001 /* every chain with that user_data */
#define SYSLET_CANCEL_QUEUED	0x00000002 /* only chains not yet started */
#define SYSLET_CANCEL_F_ALL	(SYSLET_CANCEL_ALL | SYSLET_CANCEL_QUEUED)

/*
 * Per-process limits, read and set with async_limits().  @size is
 * sizeof(struct syslet_limits), or that of an older (down to
 * SYSLET_LIMITS_SIZE_VER0) or newer (up to 4096 bytes) struct, a multiple
 * of 8.  In 'set', fields set to 0 are left unchanged, fields a smaller
 * struct lacks count as 0, bytes this struct lacks must be 0 (-E2BIG) and
 * so must @__reserved and @__reserved2 (-EINVAL); the counters are
 * ignored.  'get' receives @size bytes (zeroes past this struct).
 */
struct syslet_limits {
	__u32	size;
	__u32	max_threads;		/* async threads, also <= RLIMIT_NPROC */
	__u32	idle_msecs;		/* idle async threads exit after this */
	__u32	max_chains;		/* chains in flight; then -EAGAIN */
	/* read-only counters */
	__u32	nr_threads;		/* async threads alive now */
	__u32	nr_idle;		/* of those, idle */
	__u32	nr_chains;		/* chains in flight now */
	__u32	__reserved;
	__u64	chains_done;		/* chains completed since exec */
	__u64	__reserved2[3];
};

#define SYSLET_LIMITS_SIZE_VER0	16	/* @size and the three limits */
#define SYSLET_LIMITS_SIZE_MAX	4096

/* async_limits() flags: none defined yet */
#define SYSLET_LIMITS_F_ALL	0

#endif /* _UAPI_LINUX_SYSLET_H */
