// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-soak: 10,000 chains blocked on pipes at once (issue 9, point 5).
 *
 *   syslet-soak [-n CHAINS] [-p PIPES]
 *
 * Submits CHAINS (10,000) SYSLET_ASYNC chains, each a read of one byte
 * from a pipe (one pipe per chain if RLIMIT_NOFILE can be raised to
 * 2 * CHAINS + 64, else chains share PIPES pipes round-robin).  Checks
 * that all are in flight at once with no more async threads than
 * max_threads, that all complete exactly once when the pipes are written,
 * and measures the kernel memory they take, from /proc/slabinfo (sum of
 * active objects x object size over all caches) plus KernelStack and
 * PageTables from /proc/meminfo, in two steps: the first max_threads
 * chains (each gets an async thread, blocked in read()) and the rest
 * (queued, no thread).  Prints TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include "sys.h"

static int tn, failed;

static void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++tn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failed = 1;
}

struct mem {
	long long slab, stack, pt;
};

static struct mem mem_now(void)
{
	struct mem m = { slab_bytes(), meminfo_kb("KernelStack") * 1024,
			 meminfo_kb("PageTables") * 1024 };

	return m;
}

static long long mem_total(const struct mem *a, const struct mem *b)
{
	return (b->slab - a->slab) + (b->stack - a->stack) + (b->pt - a->pt);
}

static int count_async_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		int fd;
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		k = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		/* "syslet-N" (this program is "syslet-soak") */
		if (k > 7 && !strncmp(comm, "syslet-", 7) &&
		    comm[7] >= '0' && comm[7] <= '9')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* waits until the engine counts @chains in flight and @threads threads */
static int settle(unsigned int chains, unsigned int threads)
{
	for (int i = 0; i < 600; i++) {
		struct syslet_limits l = limits_now();

		if (l.nr_chains == chains && l.nr_threads == threads &&
		    l.nr_idle == 0)
			return 1;
		usleep(50000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int n = 10000, npipes = 0, maxthr;
	struct syslet_atom *atoms;
	struct syslet_ring *r;
	struct syslet_limits lim;
	struct rlimit rl;
	int64_t *rets;
	uint64_t *fdv, bufp, one = 1;
	unsigned char *seen;
	char *bufs;
	int (*p)[2];
	struct mem m0, m1 = { 0, 0, 0 }, m2, m3;
	int opt, most = 0;
	long long t0;

	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		if (opt == 'n')
			n = (unsigned int)atoi(optarg);
		else if (opt == 'p')
			npipes = (unsigned int)atoi(optarg);
		else
			return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..6\n");
	if (!syslet_present()) {
		for (int i = 1; i <= 6; i++)
			printf("ok %d # SKIP no syslet system calls\n", i);
		return 0;
	}

	/* fds: one pipe per chain if the limit can be raised that far */
	if (!npipes) {
		rl.rlim_cur = rl.rlim_max = 2ULL * n + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
			npipes = n;
		} else {
			getrlimit(RLIMIT_NOFILE, &rl);
			npipes = (unsigned int)((rl.rlim_cur - 64) / 2);
			if (npipes > n)
				npipes = n;
		}
	}
	printf("# %u chains on %u pipes (RLIMIT_NOFILE %llu)\n", n, npipes,
	       (unsigned long long)(getrlimit(RLIMIT_NOFILE, &rl), rl.rlim_cur));
	p = calloc(npipes, sizeof(*p));
	atoms = calloc(n, sizeof(*atoms));
	rets = calloc(n, sizeof(*rets));
	fdv = calloc(npipes, sizeof(*fdv));
	bufs = calloc(n, 1);
	seen = calloc(n, 1);
	r = ring_new(16384);
	for (unsigned int i = 0; i < npipes; i++) {
		if (pipe(p[i])) {
			printf("Bail out! pipe %u: %s\n", i, strerror(errno));
			return 1;
		}
		fdv[i] = (uint64_t)p[i][0];
	}
	lim = limits_now();
	maxthr = lim.max_threads;
	memset(&lim, 0, sizeof(lim));
	lim.size = sizeof(lim);
	lim.max_chains = n > 16384 ? n : 16384;
	lim.idle_msecs = 300;
	async_limits(&lim, NULL);

	m0 = mem_now();
	if (m0.slab < 0)
		printf("# no /proc/slabinfo: slab figures are 0\n");
	for (unsigned int i = 0; i < n; i++) {
		bufp = (uintptr_t)&bufs[i];
		atom_init(&atoms[i], SYSLET_ASYNC, SYS_read, &rets[i],
			  &fdv[i % npipes], NULL, &one, NULL);
		/* each atom needs its own buffer pointer value */
		atoms[i].arg_ptr[1] = (uintptr_t)&atoms[i].user_data;
		atoms[i].user_data = bufp;		/* user_data = its buffer */
		rets[i] = -12345;
		if (i == maxthr) {		/* every thread made, all blocked */
			if (!settle(maxthr, maxthr))
				printf("# threads did not settle\n");
			m1 = mem_now();
		}
		if (async_exec(&atoms[i], r, NULL, 0) != SYSLET_QUEUED) {
			printf("Bail out! async_exec %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	if (n <= maxthr)
		m1 = mem_now();
	tap(settle(n, n < maxthr ? n : maxthr),
	    "all %u chains in flight at once (nr_chains %u)", n,
	    limits_now().nr_chains);
	m2 = mem_now();
	most = count_async_threads();
	tap(most <= (int)maxthr && limits_now().nr_threads <= maxthr,
	    "async threads within the limit: %d in /proc, %u counted, max_threads %u",
	    most, limits_now().nr_threads, maxthr);

	/* memory: the first maxthr chains had a thread each, the rest queue */
	{
		unsigned int nq = n > maxthr ? n - maxthr : 0;
		long long with = mem_total(&m0, &m1), queued = mem_total(&m1, &m2);
		long long all = mem_total(&m0, &m2);
		double per_q = nq ? (double)queued / nq : 0;
		double per_t = n >= maxthr ? ((double)with - per_q * maxthr) / maxthr : 0;

		printf("# kernel memory, in flight: %lld KiB for %u chains = %.0f B/chain "
		       "(slab %+lld KiB, kernel stacks %+lld KiB, page tables %+lld KiB)\n",
		       all / 1024, n, (double)all / n, (m2.slab - m0.slab) / 1024,
		       (m2.stack - m0.stack) / 1024, (m2.pt - m0.pt) / 1024);
		printf("# of which: a queued chain %.0f B (slab), an async thread "
		       "blocked in read() %.0f B (its task, stack and chain)\n",
		       per_q, per_t);
		tap(all > 0 && per_q > 0 && per_q < 2048 && per_t < 128 * 1024,
		    "kernel memory per in-flight chain measured: %.0f B queued, %.0f B with a thread",
		    per_q, per_t);
	}

	/* write every pipe: all complete, each once, threads stay bounded */
	t0 = now_ms();
	for (unsigned int i = 0; i < n; i++)
		if (write(p[i % npipes][1], "x", 1) != 1) {
			printf("Bail out! write: %s\n", strerror(errno));
			return 1;
		}
	{
		unsigned int got = 0, bad = 0, dup = 0;
		struct syslet_completion c;
		struct timespec ts = { 1, 0 };
		long long last = now_ms();

		while (got < n && now_ms() - last < 60000) {
			if (!ring_pop(r, &c)) {
				async_wait(r, 1, &ts);
				if (limits_now().nr_threads > maxthr)
					most = (int)limits_now().nr_threads;
				continue;
			}
			last = now_ms();
			got++;
			{
				uintptr_t b = (uintptr_t)c.user_data;
				unsigned int i = (unsigned int)(b - (uintptr_t)bufs);

				if (i >= n || c.status != 1 || rets[i] != 1)
					bad++;
				else if (seen[i]++)
					dup++;
			}
		}
		tap(got == n && !bad && !dup,
		    "all %u chains complete once the pipes are written (%u, %u bad, %u twice) in %lld ms",
		    n, got, bad, dup, now_ms() - t0);
		tap(most <= (int)maxthr, "thread count stayed within %u while completing",
		    maxthr);
	}
	/* the memory goes back once the threads have gone idle and exited */
	for (int i = 0; i < 100 && limits_now().nr_threads; i++)
		usleep(100000);
	usleep(200000);
	m3 = mem_now();
	printf("# after: %u threads, %u chains in flight, kernel memory %+lld KiB from before\n",
	       limits_now().nr_threads, limits_now().nr_chains,
	       mem_total(&m0, &m3) / 1024);
	tap(limits_now().nr_chains == 0 && limits_now().nr_threads == 0 &&
	    mem_total(&m0, &m3) < mem_total(&m0, &m2) / 4,
	    "chains and threads gone, memory returned (%lld of %lld KiB left)",
	    mem_total(&m0, &m3) / 1024, mem_total(&m0, &m2) / 1024);
	return failed;
}
