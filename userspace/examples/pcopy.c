// SPDX-License-Identifier: MIT
/*
 * pcopy: copy a file (or block device) keeping N chains in flight.
 *
 *	pcopy [-n CHAINS] [-b BLOCK_KIB] [-l BYTES] [-d] [-q] SRC DST
 *
 * Each block is one two-atom chain
 *
 *	pread(src, buf, BLOCK, off)	SYSLET_STOP_ON_NON_POSITIVE
 *	pwrite(dst, buf, <pread's result>, off)
 *
 * so the write's length is the read's result (data flow by pointer) and a
 * failed or empty read never writes.  Unlike a sequential copy (cp), N
 * reads are outstanding at once, which is what a slow device with a deep
 * queue needs; this is Jens Axboe's point about syslet chains: one chain
 * per in-flight I/O, never one long chain.
 *
 * -d opens SRC with O_DIRECT (buffers are page aligned; BLOCK must be a
 * multiple of the logical block size).  -l copies only the first BYTES.
 * -q prints only the MiB/s figure.
 * Compare against cp with pcopy-vs-cp.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <syslet.h>

struct slot {
	struct syslet_op rd, wr;
	void *buf;
	off_t off;
	int busy;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "pcopy: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Builds and submits the chain of @s for the block at @off. */
static void start(struct syslet_ctx *ctx, struct slot *s, unsigned int idx,
		  int src, int dst, size_t bs, off_t off, off_t end)
{
	int ret;

	s->off = off;
	syslet_prep_pread(&s->rd, src, s->buf, bs, off);
	syslet_op_add_flags(&s->rd, SYSLET_STOP_ON_NON_POSITIVE);
	syslet_op_set_data(&s->rd, idx);
	syslet_prep_pwrite(&s->wr, dst, s->buf, 0, off);
	syslet_op_arg_ret(&s->wr, 2, &s->rd);	/* len = bytes read */
	syslet_op_link(&s->rd, &s->wr);
	if (bs > (size_t)(end - off))
		syslet_op_arg(&s->rd, 2, (uint64_t)(end - off)); /* last block */
	while ((ret = syslet_submit(ctx, &s->rd.atom)) == -EAGAIN)
		syslet_wait(ctx, 1, NULL);	/* at the chains limit */
	if (ret < 0)
		die("syslet_submit", -ret);
	s->busy = 1;
}

/* A chain ended: check it, finish a short write by hand. */
static void finish(struct slot *s, const struct syslet_completion *c,
		   int dst)
{
	int64_t got = s->rd.ret, put;

	s->busy = 0;
	if (c->status == -ECANCELED)
		die("chain", ECANCELED);
	if (got < 0)
		die("pread", (int)-got);
	if (got == 0)
		die("pread", EIO);	/* the source shrank under us */
	put = s->wr.ret;
	if (put < 0)
		die("pwrite", (int)-put);
	while (put < got) {		/* a short write: rare, do it here */
		ssize_t n = pwrite(dst, (char *)s->buf + put, got - put,
				   s->off + put);

		if (n <= 0)
			die("pwrite", n < 0 ? errno : EIO);
		put += n;
	}
}

int main(int argc, char **argv)
{
	unsigned int nchains = 16, inflight = 0, i;
	int opt, direct = 0, quiet = 0, src, dst, ret;
	struct syslet_completion *comps;
	size_t bs = 64 << 10;
	struct syslet_ctx ctx;
	off_t size, next = 0, limit = -1;
	struct slot *slots;
	double t0, dt;

	while ((opt = getopt(argc, argv, "n:b:l:dq")) != -1) {
		switch (opt) {
		case 'n':
			nchains = (unsigned int)atoi(optarg);
			break;
		case 'b':
			bs = (size_t)atoi(optarg) << 10;
			break;
		case 'l':
			limit = strtoll(optarg, NULL, 0);
			break;
		case 'd':
			direct = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || !nchains || nchains > 4096 || !bs)
		goto usage;

	src = open(argv[optind], O_RDONLY | (direct ? O_DIRECT : 0));
	if (src < 0)
		die(argv[optind], errno);
	dst = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (dst < 0)
		die(argv[optind + 1], errno);
	size = lseek(src, 0, SEEK_END);		/* also right for devices */
	if (size < 0)
		die("lseek", errno);
	if (limit >= 0 && limit < size)
		size = limit;

	ret = syslet_ctx_init(&ctx, nchains, 0);
	if (ret < 0)
		die("syslet_ctx_init", -ret);
	slots = calloc(nchains, sizeof(*slots));
	comps = calloc(nchains, sizeof(*comps));
	if (!slots || !comps)
		die("calloc", ENOMEM);
	for (i = 0; i < nchains; i++)
		if (posix_memalign(&slots[i].buf, 4096, bs))
			die("posix_memalign", ENOMEM);

	t0 = now();
	for (;;) {
		int n;

		for (i = 0; i < nchains && next < size; i++) {
			if (slots[i].busy)
				continue;
			start(&ctx, &slots[i], i, src, dst, bs, next, size);
			next += (off_t)bs;
			inflight++;
		}
		if (!inflight)
			break;
		ret = syslet_wait(&ctx, 1, NULL);
		if (ret < 0 && ret != -EINTR)
			die("syslet_wait", -ret);
		n = syslet_reap(&ctx, comps, nchains);
		if (n < 0)
			die("syslet_reap", -n);
		for (i = 0; i < (unsigned int)n; i++) {
			finish(&slots[comps[i].user_data], &comps[i], dst);
			inflight--;
		}
	}
	dt = now() - t0;
	if (ftruncate(dst, size) && errno != EINVAL)	/* EINVAL: a device */
		die("ftruncate", errno);
	if (close(dst))
		die("close", errno);

	if (quiet)
		printf("%.2f\n", size / dt / (1 << 20));
	else
		printf("pcopy: %lld bytes in %.3f s, %.2f MiB/s "
		       "(%u chains of %zu KiB, %s backend%s)\n",
		       (long long)size, dt, size / dt / (1 << 20), nchains,
		       bs >> 10, syslet_backend_name(&ctx),
		       direct ? ", O_DIRECT source" : "");
	syslet_ctx_exit(&ctx);
	for (i = 0; i < nchains; i++)
		free(slots[i].buf);
	free(slots);
	free(comps);
	close(src);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n CHAINS] [-b BLOCK_KIB] [-l BYTES] [-d] [-q] SRC DST\n",
		argv[0]);
	return 2;
}
