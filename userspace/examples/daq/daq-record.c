// SPDX-License-Identifier: GPL-2.0
/*
 * daq-record - record /dev/syslet-daq to a file three ways and compare.
 *
 *   rw      read() into a buffer, write() it out: two copies per byte,
 *           and the device idles while the buffer is written.
 *   splice  splice(dev -> pipe) and splice(pipe -> file) in a loop through
 *           a pipe made big with F_SETPIPE_SZ: one copy (into the page
 *           cache); the device's pages enter the pipe before their DMA is
 *           done and the second splice waits for it in ->confirm().
 *   syslet  the same two splices as one syslet chain per segment, with
 *           several chains in flight, each with its own pipe and its own
 *           stream range (the device reads are positioned), so the device
 *           always has work queued and the waiting happens off this CPU.
 *
 * Each run's file is read back and checked against the stream pattern.
 * Prints MB/s, the share of the device's configured rate, and the CPU
 * time (user + system, all threads, async threads included) per run.
 *
 *   daq-record [-s MiB] [-c KiB] [-n chains] [-m rw|splice|syslet|all]
 *              [-o file]
 *
 * Raw system calls (async_exec etc., numbers from docs/HACKING.md), no
 * library needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/syslet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "daq.h"

/* the numbers are <linux/syslet.h>'s; every argument is passed (flags 0) */
#define NR_async_exec	SYSLET_NR_ASYNC_EXEC
#define NR_async_wait	SYSLET_NR_ASYNC_WAIT
#define NR_async_limits	SYSLET_NR_ASYNC_LIMITS
#define MAX_CHAINS	64

static size_t total = 64 << 20, chunk = 1 << 20;
static int nchains = 4;
static const char *outpath = "/tmp/daq-record.dat";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int die(const char *what)
{
	fprintf(stderr, "daq-record: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int record_rw(int dev, int out)
{
	char *buf = malloc(chunk);
	size_t done = 0;
	ssize_t r, w;

	if (!buf)
		die("malloc");
	while (done < total) {
		r = read(dev, buf, chunk);
		if (r <= 0)
			die("read");
		for (w = 0; w < r; ) {
			ssize_t n = write(out, buf + w, r - w);

			if (n <= 0)
				die("write");
			w += n;
		}
		done += r;
	}
	free(buf);
	return 0;
}

static int record_splice(int dev, int out)
{
	size_t done = 0;
	ssize_t r, w;
	int p[2];

	if (pipe(p) || fcntl(p[1], F_SETPIPE_SZ, (int)chunk) < (int)chunk)
		die("pipe");
	while (done < total) {
		r = splice(dev, NULL, p[1], NULL, chunk, SPLICE_F_MORE);
		if (r <= 0)
			die("splice dev->pipe");
		for (w = 0; w < r; ) {
			ssize_t n = splice(p[0], NULL, out, NULL, r - w, 0);

			if (n <= 0)
				die("splice pipe->file");
			w += n;
		}
		done += r;
	}
	close(p[0]);
	close(p[1]);
	return 0;
}

/* splice(dev, &off_in, pipe, len) -> splice(pipe, file, &off_out, got) */
struct chain {
	struct syslet_atom a[2];
	int64_t r_in, r_out;
	uint64_t dev, off_in_p, pw, len, flags_in;
	uint64_t pr, file, off_out_p, zero;
	int64_t off_in, off_out;
	int p[2];
};

static void chain_arm(struct chain *c, uint64_t pos)
{
	memset(c->a, 0, sizeof(c->a));
	c->off_in = c->off_out = (int64_t)pos;
	c->r_in = c->r_out = 0;
	c->a[0].flags = SYSLET_ASYNC | SYSLET_STOP_ON_NON_POSITIVE;
	c->a[0].nr = SYS_splice;
	c->a[0].ret_ptr = (uintptr_t)&c->r_in;
	c->a[0].next = (uintptr_t)&c->a[1];
	c->a[0].arg_ptr[0] = (uintptr_t)&c->dev;
	c->a[0].arg_ptr[1] = (uintptr_t)&c->off_in_p;
	c->a[0].arg_ptr[2] = (uintptr_t)&c->pw;
	c->a[0].arg_ptr[3] = (uintptr_t)&c->zero;
	c->a[0].arg_ptr[4] = (uintptr_t)&c->len;
	c->a[0].arg_ptr[5] = (uintptr_t)&c->flags_in;
	c->a[0].user_data = (uintptr_t)c;
	c->a[1].nr = SYS_splice;
	c->a[1].ret_ptr = (uintptr_t)&c->r_out;
	c->a[1].arg_ptr[0] = (uintptr_t)&c->pr;
	c->a[1].arg_ptr[1] = (uintptr_t)&c->zero;
	c->a[1].arg_ptr[2] = (uintptr_t)&c->file;
	c->a[1].arg_ptr[3] = (uintptr_t)&c->off_out_p;
	c->a[1].arg_ptr[4] = (uintptr_t)&c->r_in;	/* what atom 0 got */
	c->a[1].arg_ptr[5] = (uintptr_t)&c->zero;
}

static int record_syslet(int dev, int out)
{
	unsigned int nr = 64, inflight = 0;
	struct syslet_ring *ring;
	struct chain *c = calloc(nchains, sizeof(*c));
	uint64_t next = 0;
	size_t done = 0;
	int i;

	ring = aligned_alloc(64, (SYSLET_RING_BYTES(nr) + 63) & ~(size_t)63);
	if (!ring || !c)
		die("malloc");
	memset(ring, 0, SYSLET_RING_BYTES(nr));
	ring->size = sizeof(*ring);
	ring->nr_entries = nr;
	for (i = 0; i < nchains; i++) {
		if (pipe(c[i].p) ||
		    fcntl(c[i].p[1], F_SETPIPE_SZ, (int)chunk) < (int)chunk)
			die("pipe");
		c[i].dev = dev;
		c[i].file = out;
		c[i].pw = c[i].p[1];
		c[i].pr = c[i].p[0];
		c[i].len = chunk;
		c[i].flags_in = SPLICE_F_MORE;
		c[i].off_in_p = (uintptr_t)&c[i].off_in;
		c[i].off_out_p = (uintptr_t)&c[i].off_out;
	}
	/* keep every chain busy until the whole range has been asked for */
	for (i = 0; i < nchains && next < total; i++, next += chunk) {
		chain_arm(&c[i], next);
		if (syscall(NR_async_exec, &c[i].a[0], ring, NULL, 0, 0L, 0L) < 0)
			die("async_exec");
		inflight++;
	}
	while (inflight) {
		uint32_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
		uint32_t tail = ring->tail;

		if (head == tail) {
			if (syscall(NR_async_wait, ring, 1, NULL, NULL, 8, 0) < 0 &&
			    errno != EINTR)
				die("async_wait");
			continue;
		}
		for (; tail != head; tail++) {
			struct syslet_completion *e =
				&SYSLET_RING_ENTRIES(ring)[tail & (nr - 1)];
			struct chain *ch = (struct chain *)(uintptr_t)e->user_data;

			/* a short splice would leave a hole: not expected */
			if (e->status != (int64_t)chunk || ch->r_in != ch->r_out) {
				errno = e->status < 0 ? -e->status : EIO;
				die("chain");
			}
			done += chunk;
			inflight--;
			if (next < total) {
				chain_arm(ch, next);
				next += chunk;
				if (syscall(NR_async_exec, &ch->a[0], ring,
					    NULL, 0, 0L, 0L) < 0)
					die("async_exec");
				inflight++;
			}
		}
		__atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
	}
	for (i = 0; i < nchains; i++) {
		close(c[i].p[0]);
		close(c[i].p[1]);
	}
	free(c);
	free(ring);
	return done == total ? 0 : -1;
}

/* Reads the file back; returns 0 if it is the stream's first total bytes. */
static int verify(int out)
{
	char *buf = malloc(chunk);
	size_t pos = 0, ok;
	ssize_t r;

	while (pos < total) {
		r = pread(out, buf, chunk, pos);
		if (r <= 0)
			break;
		ok = daq_check(buf, pos, r);
		if (ok != (size_t)r) {
			fprintf(stderr, "daq-record: pattern wrong at %zu\n",
				pos + ok);
			free(buf);
			return -1;
		}
		pos += r;
	}
	free(buf);
	return pos == total ? 0 : -1;
}

static unsigned int param(const char *name)
{
	char path[128];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", DAQ_PARAMS, name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int run(const char *mode, int (*fn)(int, int), double rw_cpu,
	       double *cpu_out)
{
	unsigned int rate = param("rate");
	double t0, c0, dt, dc, mbs;
	int dev, out, ret;

	dev = open(DAQ_DEV, O_RDONLY);
	if (dev < 0)
		die(DAQ_DEV);
	out = open(outpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die(outpath);
	t0 = now();
	c0 = cpu();
	ret = fn(dev, out);
	dt = now() - t0;
	dc = cpu() - c0;
	close(dev);
	if (!ret)
		ret = verify(out);
	close(out);
	mbs = total / dt / 1e6;
	printf("%-7s %6zu MiB %8.1f MB/s %6.1f%% of %u MB/s  cpu %6.3f s",
	       mode, total >> 20, mbs, rate ? 100.0 * mbs / rate : 0.0,
	       rate, dc);
	if (rw_cpu > 0)
		printf(" (%.2fx rw)", dc / rw_cpu);
	printf("  %s\n", ret ? "VERIFY FAILED" : "verified");
	fflush(stdout);
	if (cpu_out)
		*cpu_out = dc;
	return ret;
}

int main(int argc, char **argv)
{
	const char *mode = "all";
	double rw_cpu = 0;
	int opt, bad = 0;
	bool all;

	while ((opt = getopt(argc, argv, "s:c:n:m:o:")) != -1) {
		switch (opt) {
		case 's': total = strtoul(optarg, NULL, 0) << 20; break;
		case 'c': chunk = strtoul(optarg, NULL, 0) << 10; break;
		case 'n': nchains = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'o': outpath = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-s MiB] [-c KiB] [-n chains] [-m rw|splice|syslet|all] [-o file]\n",
				argv[0]);
			return 2;
		}
	}
	if (!chunk || chunk > (1 << 20) || chunk % 4096 || !total ||
	    total % chunk || nchains < 1 || nchains > MAX_CHAINS) {
		fprintf(stderr, "daq-record: chunk must be 4..1024 KiB in 4 KiB steps and divide the size; 1..%d chains\n",
			MAX_CHAINS);
		return 2;
	}
	all = !strcmp(mode, "all");
	if (all || !strcmp(mode, "rw"))
		bad |= run("rw", record_rw, 0, &rw_cpu);
	if (all || !strcmp(mode, "splice"))
		bad |= run("splice", record_splice, rw_cpu, NULL);
	if (all || !strcmp(mode, "syslet")) {
		if (syscall(NR_async_limits, NULL, NULL, 0, 0L, 0L, 0L) != 0)
			printf("syslet  skipped: no syslet system calls (%s)\n",
			       strerror(errno));
		else
			bad |= run("syslet", record_syslet, rw_cpu, NULL);
	}
	unlink(outpath);
	return bad ? 1 : 0;
}
