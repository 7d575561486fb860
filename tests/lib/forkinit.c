// SPDX-License-Identifier: GPL-2.0
/*
 * fork() at the worst moment of a process's first context: while
 * libsyslet registers its fork handlers.  A handler registered on first
 * use, with the library's pool lock held, gave a child forked by another
 * thread at that moment the lock held and no handler to reset it: the
 * child's own first context hung (CI: a shim grandchild stuck in
 * aio_read(), fork_while_reaper_starts on the 6.12 guest).
 *
 * The window is made deterministic by standing in for glibc's
 * __register_atfork(), which pthread_atfork() (from libc_nonshared.a)
 * calls: while main() creates its first context of a backend, every
 * registration forks a child right there, and the child must be able to
 * make a context of the same backend and run a chain.  Registrations at
 * load time, before main(), fork nothing.  One process per backend (the
 * first context is what matters), so this program re-executes itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib-test.h"

int __register_atfork(void (*prepare)(void), void (*parent)(void),
		      void (*child)(void), void *dso);

static unsigned int armed;	/* SYSLET_CTX_* of the context being made */
static unsigned int nr_armed;	/* registrations while armed */
static pid_t kids[8];
static unsigned int nr_kids;

/* In a child forked inside a registration: a context, one chain. */
static int child_first_context(unsigned int flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;

	alarm(10);		/* a lock inherited held: SIGALRM */
	if (syslet_ctx_init(&ctx, 8, flags))
		return 2;
	syslet_op_init(&op, SYS_getpid, 0);
	if (syslet_submit(&ctx, &op.atom) < 0 || wait_one(&ctx, &c))
		return 3;
	if (c.status != getpid())
		return 4;
	syslet_ctx_exit(&ctx);
	return 0;
}

int __register_atfork(void (*prepare)(void), void (*parent)(void),
		      void (*child)(void), void *dso)
{
	static int (*real)(void (*)(void), void (*)(void), void (*)(void),
			   void *);

	if (!real)
		*(void **)&real = dlvsym(RTLD_NEXT, "__register_atfork",
					 "GLIBC_2.3.2");
	if (armed) {
		nr_armed++;
		if (nr_kids < 8) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(child_first_context(armed));
			if (pid > 0)
				kids[nr_kids++] = pid;
		}
	}
	return real ? real(prepare, parent, child, dso) : ENOSYS;
}

/* The part run in a fresh process: argv[1] is the backend's flag. */
static int first_context(unsigned int flags)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;
	unsigned int i;
	int st, bad = 0;

	armed = flags;
	if (syslet_ctx_init(&ctx, 8, flags))
		return 10;
	armed = 0;
	for (i = 0; i < nr_kids; i++) {
		if (waitpid(kids[i], &st, 0) != kids[i])
			return 11;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("# child %u: %s %d\n", i,
			       WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad++;
		}
	}
	printf("# %u fork handler registrations during the first context\n",
	       nr_armed);
	syslet_op_init(&op, SYS_getpid, 0);
	if (syslet_submit(&ctx, &op.atom) < 0 || wait_one(&ctx, &c))
		return 12;
	syslet_ctx_exit(&ctx);
	return bad ? 13 : 0;
}

static const char *self;

static int run_fresh(const char *flag)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(self, self, flag, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

TEST(fork_during_first_emulated_context)
{
	ASSERT_EQ(run_fresh("emulated"), 0);
}

TEST(fork_during_first_kernel_context)
{
	if (!syslet_kernel_supported())
		SKIP("no syslet system calls in this kernel");
	ASSERT_EQ(run_fresh("kernel"), 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "emulated"))
		return first_context(SYSLET_CTX_EMULATED);
	if (argc == 2 && !strcmp(argv[1], "kernel"))
		return first_context(SYSLET_CTX_KERNEL);
	self = "/proc/self/exe";
	return tap_main(argc, argv);
}
