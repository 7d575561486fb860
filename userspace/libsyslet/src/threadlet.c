/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel backend threadlets that run in the caller (x86-64).
 *
 * syslet_threadlet() calls the function on a stack of its own, in the
 * calling thread, after async_exec(SYSLET_EXEC_THREADLET).  If the
 * function never sleeps it returns there, and async_exec(..._END) posts
 * its value (flagged SYSLET_COMP_SYNC): the cost of a function call and
 * two system calls.  If it is about to sleep, the kernel hands the
 * caller's context, as it was at SYSLET_EXEC_THREADLET, to a "spare"
 * thread parked in async_exec(SYSLET_EXEC_SPARE): syslet_threadlet()
 * returns 0 at once in that thread, which now has the caller's TID, TLS
 * and signal state.  The function finishes in the original task with the
 * spare's identity (its TID, TLS, errno; all signals blocked), posts its
 * value and parks as the spare.
 *
 * Only for contexts made with SYSLET_CTX_INCALLER: the function may go on
 * as another thread at any point where it sleeps, which ordinary C code
 * does not expect (errno's address computed once, owner-tracked locks):
 * syslet_threadlet(3) lists the rules, and syslet_syscall() (below) makes
 * system calls without errno.
 *
 * Stacks: a pool of STACKS_MAX stacks; a stack's completion header says
 * whether it is in use (flags 1; the kernel writes 0 once it has read the
 * completion at the end).  Spares: made on demand, one at a time, up to
 * SPARES_MAX; they exit after the process's idle time.  With no spare
 * parked or no stack free, the threadlet runs on a library thread
 * instead (kernel.c).  Not under AddressSanitizer (nor the other
 * sanitizers that track stacks or threads), which cannot follow the
 * stack switch and the identity exchange: whether the program runs under
 * one is asked at run time (the library is usually built without one),
 * and then every threadlet runs on a library thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/*
 * long syslet_syscall(nr, a0, ..., a5): the system call, -errno on
 * failure, errno untouched (syslet.h).
 */
#if defined(__x86_64__)
__asm__(
	".text\n"
	".globl syslet_syscall\n"
	".type syslet_syscall, @function\n"
	"syslet_syscall:\n"
	"	.cfi_startproc\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	movq %r9, %r8\n"
	"	movq 8(%rsp), %r9\n"
	"	syscall\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size syslet_syscall, .-syslet_syscall\n");
#else
SYSLET_API long syslet_syscall(long nr, long a0, long a1, long a2, long a3,
			       long a4, long a5)
{
	int saved = errno;
	long r = syscall(nr, a0, a1, a2, a3, a4, a5);

	if (r == -1)
		r = -errno;
	errno = saved;
	return r;
}
#endif

/*
 * Sanitizers that keep per-thread or per-stack state (ASan, TSan, MSan,
 * HWASan, LSan) cannot follow a threadlet's stack switch and identity
 * exchange.  The program may run under one although the library was
 * built without: their runtimes define these symbols.
 */
extern void __asan_init(void) __attribute__((weak));
extern void __tsan_init(void) __attribute__((weak));
extern void __msan_init(void) __attribute__((weak));
extern void __hwasan_init(void) __attribute__((weak));
extern void __lsan_init(void) __attribute__((weak));

static int under_sanitizer(void)
{
	return __asan_init || __tsan_init || __msan_init || __hwasan_init ||
	       __lsan_init;
}

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)

#define STACK_SIZE	(256 * 1024)
#define STACKS_MAX	64
#define SPARES_MAX	32

/*
 * struct tl_ret __syslet_tl_run(fn, arg, stack_top, ring, done)
 *
 * Begins a threadlet; on 0 runs fn(arg) on the stack below stack_top,
 * stores its value in done->status and ends it.  Returns in .r what the
 * begin returned if it was not 0 (SYSLET_QUEUED in the spare that goes
 * on as the caller, or an error -1..-4095: fn did not run), else what the
 * end returned in the caller (fn never slept): SYSLET_DONE, or its error
 * minus 4096 (fn ran, its value, in .v, was not posted; the stack may
 * already be another threadlet's, so it is returned in a register).
 * .r and .v come back in rax and rdx.  After fn, rsp goes back to the
 * caller's stack before the end: the stack below stack_top may be reused
 * as soon as done->flags is 0, and if fn slept, this task has all signals
 * blocked (the spare's mask), so nothing is pushed on the caller's stack,
 * which the spare owns by then, before the kernel loads the spare's
 * registers.
 */
__asm__(
	".text\n"
	".globl __syslet_tl_run\n"
	".hidden __syslet_tl_run\n"
	".type __syslet_tl_run, @function\n"
	"__syslet_tl_run:\n"
	"	.cfi_startproc\n"
	"	pushq %rbp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rbx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r12\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r13\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r14\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r15\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq %rdi, %r12\n"		/* fn */
	"	movq %rsi, %r13\n"		/* arg */
	"	movq %rdx, %r14\n"		/* stack top */
	"	movq %rcx, %r15\n"		/* ring */
	"	movq %r8, %rbx\n"		/* done */
	"	movl $" SYSLET_STR(SYSLET_NR_ASYNC_EXEC) ", %eax\n"	/* async_exec(0, 0, 0, THREADLET) */
	"	xorl %edi, %edi\n"
	"	xorl %esi, %esi\n"
	"	xorl %edx, %edx\n"
	"	movl $2, %r10d\n"
	"	syscall\n"
	"	testq %rax, %rax\n"
	"	jne 1f\n"
	"	movq %rsp, %rbp\n"
	"	movq %r14, %rsp\n"
	"	andq $-16, %rsp\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	movq %rax, (%rbx)\n"		/* done->status */
	"	movq %rax, %r12\n"		/* and .v */
	"	movq %rbp, %rsp\n"
	"	movl $" SYSLET_STR(SYSLET_NR_ASYNC_EXEC) ", %eax\n"	/* async_exec(0, ring, done, END) */
	"	xorl %edi, %edi\n"
	"	movq %r15, %rsi\n"
	"	movq %rbx, %rdx\n"
	"	movl $4, %r10d\n"
	"	syscall\n"
	"	movq %r12, %rdx\n"
	"	testq %rax, %rax\n"
	"	jns 1f\n"
	"	subq $4096, %rax\n"		/* the end failed: fn ran */
	"1:\n"
	"	popq %r15\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r14\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r13\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r12\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rbx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rbp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size __syslet_tl_run, .-__syslet_tl_run\n");

struct tl_ret {
	long r;
	long v;
};

struct tl_ret __syslet_tl_run(syslet_threadlet_fn fn, void *arg,
			      void *stack_top, struct syslet_ring *ring,
			      struct syslet_completion *done);

/* A threadlet stack: its completion sits at the top, the stack below. */
struct tl_stack {
	void *base;			/* mapping, guard page first */
	struct syslet_completion *done;	/* flags: 1 in use, 0 free */
	_Atomic(struct syslet_ctx *) ctx;	/* whose ring it posts to */
};

static struct tl_stack stacks[STACKS_MAX];
static _Atomic unsigned int nr_stacks;
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int spares_alive;
static _Atomic int spare_starting;

static _Atomic uint32_t *done_flags(struct syslet_completion *c)
{
	return (_Atomic uint32_t *)&c->flags;
}

/* A free stack, marked in use; NULL if none can be had. */
static struct tl_stack *stack_get(void)
{
	unsigned int i, n = atomic_load_explicit(&nr_stacks,
						 memory_order_acquire);
	struct tl_stack *s = NULL;
	void *base;

	for (i = 0; i < n; i++) {
		uint32_t zero = 0;

		if (atomic_compare_exchange_strong(done_flags(stacks[i].done),
						   &zero, 1))
			return &stacks[i];
	}
	if (n >= STACKS_MAX)
		return NULL;
	base = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, 4096, PROT_NONE)) {
		munmap(base, STACK_SIZE);
		return NULL;
	}
	pthread_mutex_lock(&stacks_lock);
	n = atomic_load_explicit(&nr_stacks, memory_order_relaxed);
	if (n < STACKS_MAX) {
		s = &stacks[n];
		s->base = base;
		s->done = (struct syslet_completion *)
			((char *)base + STACK_SIZE - 64);
		atomic_store_explicit(done_flags(s->done), 1,
				      memory_order_relaxed);
		atomic_store_explicit(&nr_stacks, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&stacks_lock);
	if (!s)
		munmap(base, STACK_SIZE);
	return s;
}

static void stack_put(struct tl_stack *s)
{
	atomic_store_explicit(done_flags(s->done), 0, memory_order_release);
}

/* A spare: parked in the kernel until a threadlet hands it its caller. */
static void *spare_main(void *unused)
{
	long r;

	(void)unused;
	atomic_store(&spare_starting, 0);
	do
		r = __syslet_sys_async_exec(NULL, NULL, NULL,
					    SYSLET_EXEC_SPARE);
	while (r == -EINTR);
	atomic_fetch_sub(&spares_alive, 1);
	return NULL;
}

/*
 * fork(): the child has none of the parent's threads, so none of the
 * parent's spares and none of its threadlets: every stack is free in the
 * child (a threadlet must not fork: syslet_threadlet(3)).  stacks_lock is
 * held across fork() so the pool is whole in the child.  Registered when
 * the library is loaded, as kernel.c's are (and for the same reason).
 */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&stacks_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&stacks_lock);
}

static void atfork_child(void)
{
	unsigned int i, n = atomic_load(&nr_stacks);

	atomic_store(&spares_alive, 0);
	atomic_store(&spare_starting, 0);
	for (i = 0; i < n; i++) {
		atomic_store(&stacks[i].ctx, NULL);
		atomic_store(done_flags(stacks[i].done), 0);
	}
	pthread_mutex_unlock(&stacks_lock);
}

__attribute__((constructor)) static void atfork_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Starts one more spare, unless one is starting or there are enough. */
static void spare_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int zero = 0;

	if (atomic_load(&spares_alive) >= SPARES_MAX ||
	    !atomic_compare_exchange_strong(&spare_starting, &zero, 1))
		return;
	atomic_fetch_add(&spares_alive, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* a spare blocks every signal: see __syslet_tl_run */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, spare_main, NULL)) {
		atomic_fetch_sub(&spares_alive, 1);
		atomic_store(&spare_starting, 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

/*
 * Runs @fn in the caller as a threadlet.  Returns 0 (it completed, or it
 * goes on in another task: the completion comes through the ring), or
 * -EAGAIN if it could not start here (no spare, no stack, a sanitizer):
 * @fn did not run.  Once @fn has run nothing fails: if the end could not
 * post its value, it is posted here.
 */
int __syslet_tl_incaller(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			 void *arg, uint64_t user_data)
{
	struct tl_stack *s;
	struct tl_ret t;
	long r;

	if (under_sanitizer())
		return -EAGAIN;
	s = stack_get();
	if (!s) {
		spare_start();
		return -EAGAIN;
	}
	s->done->status = 0;
	s->done->user_data = user_data;
	atomic_store_explicit(&s->ctx, ctx, memory_order_relaxed);
	t = __syslet_tl_run(fn, arg, s->done, ctx->ring, s->done);
	r = t.r;
	if (r == SYSLET_QUEUED || r == SYSLET_DONE)
		return 0;
	if (r < -4095) {
		/*
		 * fn ran in the caller and never slept (a threadlet that
		 * slept does not come back here); the end failed to post
		 * (the stack is free again): post what the end would have.
		 */
		struct syslet_completion c = {
			.status = t.v,
			.user_data = user_data,
			.flags = SYSLET_COMP_SYNC,
		};

		__syslet_kernel_post_or_park(ctx, &c, NULL);
		return 0;
	}
	/* the kernel did not begin it: fn did not run, the stack is ours */
	stack_put(s);
	if (r == -EAGAIN)
		spare_start();
	return -EAGAIN;
}

/*
 * syslet_ctx_exit(): waits until every threadlet that posts to @ctx's ring
 * has posted (the kernel clears done->flags after the post).
 */
void __syslet_tl_wait(struct syslet_ctx *ctx)
{
	struct timespec ms = { 0, 1000000 };
	unsigned int i, n;
	int busy;

	do {
		busy = 0;
		n = atomic_load_explicit(&nr_stacks, memory_order_acquire);
		for (i = 0; i < n; i++)
			if (atomic_load(&stacks[i].ctx) == ctx &&
			    atomic_load(done_flags(stacks[i].done)))
				busy = 1;
		if (busy)
			nanosleep(&ms, NULL);
	} while (busy);
}

#else

void __syslet_tl_wait(struct syslet_ctx *ctx)
{
	(void)ctx;
	(void)under_sanitizer;
}

int __syslet_tl_incaller(struct syslet_ctx *ctx, syslet_threadlet_fn fn,
			 void *arg, uint64_t user_data)
{
	(void)ctx;
	(void)fn;
	(void)arg;
	(void)user_data;
	return -EAGAIN;
}

#endif
