/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - a small TAP test harness in the style of the kernel's kselftest
 * harness: TEST(name) { ... } blocks, each run in its own forked child
 * with a time limit, ASSERT_* (stop this test) and EXPECT_* (note and go
 * on) macros that name what was expected and what was got, SKIP(), and a
 * main() that prints TAP version 13 and exits 0 only if nothing failed.
 *
 * Usage:
 *	#include "tap.h"
 *	TEST(pipe_read) { ...; ASSERT_EQ(n, 4); }
 *	TAP_MAIN
 *
 * Environment: TAP_TIMEOUT (seconds per test, default 60), TAP_FILTER
 * (run only tests whose name contains it).
 */
#ifndef SYSLET_TESTS_TAP_H
#define SYSLET_TESTS_TAP_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
	struct tap_test *next;
};

static struct tap_test *tap_first, **tap_last = &tap_first;
static int tap_failed_here;	/* in the child: an EXPECT failed */

#define TAP_SKIP_EXIT	77

static inline void tap_register(struct tap_test *t)
{
	*tap_last = t;
	tap_last = &t->next;
}

#define TEST(name)							\
	static void tap_fn_##name(void);				\
	static struct tap_test tap_t_##name = { #name, tap_fn_##name, 0 }; \
	__attribute__((constructor)) static void tap_reg_##name(void)	\
	{ tap_register(&tap_t_##name); }				\
	static void tap_fn_##name(void)

/* Print a diagnostic line ("# ...") from inside a test. */
static inline void tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

#define SKIP(...) do {							\
		printf("# SKIP: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
		_exit(TAP_SKIP_EXIT);					\
	} while (0)

#define TAP_FAIL_(fatal, ...) do {					\
		printf("# %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
		if (fatal)						\
			_exit(1);					\
		tap_failed_here = 1;					\
	} while (0)

#define TAP_CMP_(fatal, a, op, b) do {					\
		int64_t tap_a_ = (int64_t)(a), tap_b_ = (int64_t)(b);	\
		if (!(tap_a_ op tap_b_))				\
			TAP_FAIL_(fatal, "expected %s " #op " %s, got %" PRId64 \
				  " vs %" PRId64 " (errno %d: %s)", #a, #b, \
				  tap_a_, tap_b_, errno, strerror(errno)); \
	} while (0)

#define ASSERT_EQ(a, b)	TAP_CMP_(1, a, ==, b)
#define ASSERT_NE(a, b)	TAP_CMP_(1, a, !=, b)
#define ASSERT_LT(a, b)	TAP_CMP_(1, a, <, b)
#define ASSERT_LE(a, b)	TAP_CMP_(1, a, <=, b)
#define ASSERT_GT(a, b)	TAP_CMP_(1, a, >, b)
#define ASSERT_GE(a, b)	TAP_CMP_(1, a, >=, b)
#define EXPECT_EQ(a, b)	TAP_CMP_(0, a, ==, b)
#define EXPECT_NE(a, b)	TAP_CMP_(0, a, !=, b)
#define EXPECT_LT(a, b)	TAP_CMP_(0, a, <, b)
#define EXPECT_LE(a, b)	TAP_CMP_(0, a, <=, b)
#define EXPECT_GT(a, b)	TAP_CMP_(0, a, >, b)
#define EXPECT_GE(a, b)	TAP_CMP_(0, a, >=, b)
#define ASSERT_TRUE(c)	TAP_CMP_(1, !!(c), ==, 1)
#define ASSERT_FALSE(c)	TAP_CMP_(1, !!(c), ==, 0)
#define EXPECT_TRUE(c)	TAP_CMP_(0, !!(c), ==, 1)
#define EXPECT_FALSE(c)	TAP_CMP_(0, !!(c), ==, 0)
#define ASSERT_STREQ(a, b) do {						\
		if (strcmp((a), (b)))					\
			TAP_FAIL_(1, "expected \"%s\", got \"%s\"", (b), (a)); \
	} while (0)

/* Run one test in a child; returns 0 pass, 1 fail, 2 skip. */
static inline int tap_run_one(struct tap_test *t, unsigned int timeout)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("# fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(timeout);
		t->fn();
		fflush(stdout);
		_exit(tap_failed_here ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);	/* whatever the test left behind */
	if (WIFSIGNALED(status)) {
		printf("# %s: killed by signal %d%s\n", t->name,
		       WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return 1;
	}
	if (WEXITSTATUS(status) == TAP_SKIP_EXIT)
		return 2;
	return WEXITSTATUS(status) ? 1 : 0;
}

static inline int tap_main(int argc, char **argv)
{
	const char *filter = getenv("TAP_FILTER");
	const char *tmo = getenv("TAP_TIMEOUT");
	unsigned int timeout = tmo ? (unsigned int)atoi(tmo) : 60;
	int n = 0, i = 0, failed = 0, passed = 0, skipped = 0;
	struct tap_test *t;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = tap_first; t; t = t->next)
		if (!filter || strstr(t->name, filter))
			n++;
	printf("TAP version 13\n1..%d\n", n);
	for (t = tap_first; t; t = t->next) {
		int r;

		if (filter && !strstr(t->name, filter))
			continue;
		i++;
		r = tap_run_one(t, timeout);
		if (r == 0) {
			passed++;
			printf("ok %d %s\n", i, t->name);
		} else if (r == 2) {
			skipped++;
			printf("ok %d %s # SKIP\n", i, t->name);
		} else {
			failed++;
			printf("not ok %d %s\n", i, t->name);
		}
	}
	printf("# %s: %d passed, %d failed, %d skipped\n",
	       argv[0], passed, failed, skipped);
	return failed ? 1 : 0;
}

#define TAP_MAIN							\
	int main(int argc, char **argv) { return tap_main(argc, argv); }

#endif /* SYSLET_TESTS_TAP_H */
