/* SPDX-License-Identifier: GPL-2.0 */
/*
 * procstatus.h - a numeric field of a thread's /proc status, and its
 * state, for tests that look at what the kernel says of a thread of this
 * process: its tracer, its context switches, whether it sleeps.  Shared
 * by tests/kernel and tests/aio.
 */
#ifndef SYSLET_TESTS_PROCSTATUS_H
#define SYSLET_TESTS_PROCSTATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Field @field ("TracerPid", "voluntary_ctxt_switches", ...) of
 * /proc/self/task/@tid/status, or -1 if the thread or the field is not
 * there.
 */
static inline long tap_task_status(const char *tid, const char *field)
{
	char path[300], line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = atol(line + len + 1);
	if (f)
		fclose(f);
	return v;
}

/* the same for a thread named by its TID */
static inline long tap_tid_status(int tid, const char *field)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", tid);
	return tap_task_status(s, field);
}

/* The state (R, S, D, ...) of thread @tid of this process; 0 if gone. */
static inline char tap_tid_state(int tid)
{
	char path[64], line[512], *s;
	char st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (s = strrchr(line, ')')))
		st = s[2];
	fclose(f);
	return st;
}

#endif
