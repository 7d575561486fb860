// SPDX-License-Identifier: GPL-2.0
/*
 * chain-loop: one kind of call, made over and over for a while, and its
 * time per call (a benchmark: it prints, it never asserts).  Also the
 * program scripts/itrace.sh traces: a call in the middle of the loop is
 * like every other.
 *
 *   chain-loop MODE [SECONDS | -n CALLS]
 *
 * With -n (not for handoff), exactly CALLS calls (rounded up to a
 * thousand) are made between two marks of scripts/insn-prof.sh (a
 * reboot() with a bad magic, which fails with EINVAL and does nothing
 * else): the profile between them, divided by CALLS, is what one call
 * costs, exactly.
 *
 * MODE is a call and how it is made:
 *   plain      getppid() through syscall()
 *   sync       a one-atom SYSLET_SYNC chain of getppid() with @done
 *   pob        the same in the default mode (pass-on-block, with @done
 *              and a ring): it never sleeps, so it completes in the caller
 *   pobthr     as pob, after one SYSLET_ASYNC chain made an async thread
 *              (as in a program that queued work before: the reserved
 *              taker is an idle thread, not one made for the chain)
 *   *read      the same four with a 4 KiB pread64() of a page-cache-hot
 *              tmpfs file (/tmp/chain-loop.dat, 1 MiB, made here) at a
 *              moving offset: plainread, syncread, pobread, pobthrread
 *   handoff    a default-mode read of one byte from an empty pipe: it
 *              sleeps, an async thread takes the caller's context and
 *              async_exec() returns SYSLET_QUEUED; then the byte is
 *              written and the completion reaped from the ring (the time
 *              is the whole round, as syslet-micro's handoff is not)
 *
 * Built by tests/kernel/Makefile into build/bench/chain-loop.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kernel/sys.h"

#define FILE_BLOCKS	256

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int make_file(char *buf)
{
	int fd = open("/tmp/chain-loop.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	memset(buf, 1, 4096);
	for (int i = 0; i < FILE_BLOCKS; i++)
		if (write(fd, buf, 4096) != 4096)
			return -1;
	return fd;
}

static int handoff(struct syslet_ring *r, double secs)
{
	struct syslet_completion comp;
	uint64_t fd, bp, len = 1;
	struct syslet_atom a;
	double t0, t;
	int64_t ret;
	int fds[2];
	long n = 0;
	char c;

	if (pipe(fds))
		return 1;
	fd = fds[0];
	bp = (uint64_t)(uintptr_t)&c;
	atom_init(&a, 0, SYS_read, &ret, &fd, &bp, &len, NULL);
	t0 = now_ns();
	do {
		for (int i = 0; i < 100; i++) {
			if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED ||
			    write(fds[1], "h", 1) != 1 || !ring_get(r, &comp) ||
			    comp.status != 1) {
				fprintf(stderr, "chain-loop: the hand-off failed\n");
				return 1;
			}
		}
		n += 100;
		t = now_ns();
	} while (t - t0 < secs * 1e9);
	printf("%-10s %8.0f ns per round (%ld rounds)\n", "handoff",
	       (t - t0) / n, n);
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	static const char *const modes[] = {
		"plain", "sync", "pob", "pobthr", "plainread", "syncread",
		"pobread", "pobthrread", "handoff",
	};
	const char *mode = argc > 1 ? argv[1] : "";
	long calls = argc > 3 && !strcmp(argv[2], "-n") ? atol(argv[3]) : 0;
	double secs = argc > 2 && !calls ? atof(argv[2]) : 3;
	int plain = !strncmp(mode, "plain", 5);
	int sync = !strncmp(mode, "sync", 4);
	int thr = !strncmp(mode, "pobthr", 6);
	int rd = strstr(mode, "read") != NULL;
	size_t m;
	struct syslet_completion done, comp;
	struct syslet_ring *r = ring_new(64);
	uint64_t fd = 0, len = 4096, off = 0;
	uint64_t bp = (uint64_t)(uintptr_t)buf;
	struct syslet_atom a;
	double t0, t;
	int64_t ret;
	long n = 0;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(mode, modes[m]))
			break;
	if (m == sizeof(modes) / sizeof(modes[0]) ||
	    (argc > 2 && !strcmp(argv[2], "-n") &&
	     (calls <= 0 || !strcmp(mode, "handoff")))) {
		fprintf(stderr, "usage: chain-loop plain|sync|pob|pobthr[read]|handoff [seconds | -n calls]\n");
		return 2;
	}
	if (!plain && !syslet_present()) {
		printf("%s: no syslet system calls in this kernel\n", mode);
		return 0;
	}
	if (rd) {
		int f = make_file(buf);

		if (f < 0) {
			perror("chain-loop: /tmp/chain-loop.dat");
			return 1;
		}
		fd = f;
	}
	if (thr) {
		atom_init(&a, SYSLET_ASYNC, SYS_getppid, &ret, NULL, NULL, NULL,
			  NULL);
		if (async_exec(&a, r, NULL, 0) != SYSLET_QUEUED ||
		    !ring_get(r, &comp)) {
			fprintf(stderr, "chain-loop: the async chain failed\n");
			return 1;
		}
	}
	if (!strcmp(mode, "handoff"))
		return handoff(r, secs);
	if (rd)
		atom_init(&a, sync ? SYSLET_SYNC : 0, SYS_pread64, &ret, &fd, &bp,
			  &len, &off);
	else
		atom_init(&a, sync ? SYSLET_SYNC : 0, SYS_getppid, &ret, NULL,
			  NULL, NULL, NULL);
	if (calls)
		syscall(SYS_reboot, 0, 0, 0, 0);	/* insn-prof's mark */
	t0 = now_ns();
	do {
		for (int i = 0; i < 1000; i++) {
			if (plain && rd)
				ret = pread((int)fd, buf, len, (off_t)off);
			else if (plain)
				ret = syscall(SYS_getppid);
			else if (async_exec(&a, r, &done, 0) != SYSLET_DONE) {
				fprintf(stderr, "chain-loop: not SYSLET_DONE\n");
				return 1;
			}
			if (ret < 0 || (rd && ret != (int64_t)len)) {
				fprintf(stderr, "chain-loop: the call failed\n");
				return 1;
			}
			off = (off + 37 * 4096) % (FILE_BLOCKS * 4096);
		}
		n += 1000;
		t = now_ns();
	} while (calls ? n < calls : t - t0 < secs * 1e9);
	if (calls)
		syscall(SYS_reboot, 0, 0, 0, 0);
	printf("%-10s %8.0f ns per call (%ld calls)\n", mode, (t - t0) / n, n);
	if (rd)
		unlink("/tmp/chain-loop.dat");
	return 0;
}
