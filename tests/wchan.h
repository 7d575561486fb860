/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wchan.h - wait until threads of this process sleep in a given kernel
 * function, for tests that need a request to be blocked (not merely
 * submitted) before they act on it: a cancel of a running chain, say.
 * Shared by tests/kernel and tests/aio.
 */
#ifndef SYSLET_TESTS_WCHAN_H
#define SYSLET_TESTS_WCHAN_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Does the wait channel in @path (/proc/.../wchan) name @fn? */
static inline int tap_wchan_has(const char *path, const char *fn)
{
	char wchan[64] = "";
	FILE *f = fopen(path, "r");

	if (f) {
		if (!fgets(wchan, sizeof(wchan), f))
			wchan[0] = 0;
		fclose(f);
	}
	return strstr(wchan, fn) != NULL;
}

/*
 * Waits, up to @secs seconds, until the task whose wchan file is @path
 * sleeps in a function whose name contains @fn: 1 once it does, else 0.
 */
static inline int tap_sleeps_in(const char *path, const char *fn, int secs)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < secs * 100; i++) {
		struct timespec left = tick;

		if (tap_wchan_has(path, fn))
			return 1;
		while (nanosleep(&left, &left) && errno == EINTR)
			;
	}
	return 0;
}

/*
 * Waits, up to @secs seconds, until at least @n threads of this process
 * sleep in a function whose name contains @fn (their wchan: say
 * "pipe_read", anon_pipe_read() on newer kernels).  Returns how many did
 * at the last look.  Best effort: a thread may sleep elsewhere on its way.
 */
static inline int tap_threads_in(const char *fn, int n, int secs)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char path[300];
	struct dirent *de;
	int found = 0;

	for (int i = 0; i < secs * 100; i++) {
		DIR *d = opendir("/proc/self/task");

		found = 0;
		while (d && (de = readdir(d))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/wchan",
				 de->d_name);
			found += tap_wchan_has(path, fn);
		}
		if (d)
			closedir(d);
		if (found >= n)
			return found;
		while (nanosleep(&tick, &tick) && errno == EINTR)
			;
		tick.tv_nsec = 10 * 1000 * 1000;
	}
	return found;
}

#endif
