/* SPDX-License-Identifier: GPL-2.0 */
/* tracefs for the kernel engine tests: mount it, write a file, read the buffer. */
#ifndef SYSLET_TESTS_TRACEFS_H
#define SYSLET_TESTS_TRACEFS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tracefs;	/* where it is mounted, once found */

/* Finds tracefs, mounting it if need be: 0, or -1 (no CONFIG_FTRACE). */
static inline int tracefs_find(void)
{
	struct stat st;

	if (tracefs)
		return 0;
	if (stat("/sys/kernel/tracing/trace", &st) &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		mkdir("/tmp/tracing", 0700);
		mount("nodev", "/tmp/tracing", "tracefs", 0, NULL);
	}
	if (stat("/sys/kernel/tracing/trace", &st) == 0)
		tracefs = "/sys/kernel/tracing";
	else if (stat("/tmp/tracing/trace", &st) == 0)
		tracefs = "/tmp/tracing";
	return tracefs ? 0 : -1;
}

static inline int tr_write(const char *file, const char *text)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", tracefs, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* The trace buffer, a malloc'd string (NULL if it cannot be read). */
static inline char *tr_read(void)
{
	char path[256], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", tracefs);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* How many times @needle occurs in @hay. */
static inline int tr_count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

#endif
