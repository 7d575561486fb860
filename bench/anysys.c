// SPDX-License-Identifier: MIT
/*
 * anysys: any system call, asynchronously.  One workload through one
 * engine, timed; prints one JSON object.  A benchmark: it asserts nothing
 * (wrong results are counted in "errors").  bench/anysys.py runs every
 * engine on every workload in one boot and makes the tables and chart.
 *
 *	anysys mk stat|small|tree|copy DIR COUNT	make the files
 *	anysys run WORKLOAD ENGINE QD DIR COUNT [THREADS]	measure
 *
 * Workloads (COUNT items; the files made by "mk" with the same COUNT):
 *   stat	statx() of DIR/stat/fNNNNN
 *   small	open, read whole (4-16 KiB), close DIR/small/sNNNNN
 *   tree	a du-like walk of DIR/tree (getdents64 + statx of each entry,
 *		by path); one operation = one entry stat'ed
 *   copy	copy_file_range() of DIR/copy/cNNNN (64 KiB) to DIR/copy-out/
 *		(open both, copy, close both)
 *
 * Engines (QD: operations in flight):
 *   sync		a plain loop of the calls (QD ignored)
 *   pool		QD threads running the same calls, each taking the next
 *			item itself: no loop, no hand-over (a program built
 *			around threads; the least a call on a thread costs)
 *   loop		an event loop handing QD requests in flight to THREADS
 *			worker threads (4 by default) and taking their
 *			results back, as libuv does: what an event-driven
 *			program has without this engine
 *   uring		io_uring (liburing): statx; small files as linked
 *			openat (direct descriptor) -> read -> close; tree: statx
 *			through the ring, getdents64 synchronous (io_uring has
 *			none); copy: not available (no copy_file_range op)
 *   syslet		the kernel engine, default mode (pass-on-block); chains
 *			that did not block complete into the caller's buffer
 *			(syslet_submit_done), as a plain call would
 *   syslet-async	the same chains with SYSLET_ASYNC (queued to an async
 *			thread at once)
 *   syslet-auto	the default mode until a chain hands off, then the
 *			next QD chains with SYSLET_ASYNC, then the default
 *			again: the fio engine's exec_mode=auto, a program's
 *			own policy (the engine has no such mode)
 *   emul		libsyslet's emulated backend (a thread pool)
 *
 * The syslet chains are one per item: statx; openat -> read -> close with
 * the descriptor by pointer; openat -> getdents64 -> close (branching to
 * the close when getdents64 returns <= 0, as userspace/examples/pdu.c);
 * openat(src) -> openat(dst) -> copy_file_range -> close -> close.
 *
 * CPU time is the process's (getrusage: every thread, the engines'
 * worker threads included) over the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <syslet.h>

#define MAXQD		256
#define SMALL_MAX	(16 << 10)
#define COPY_BYTES	(64 << 10)
#define DENTS_BYTES	(16 << 10)
#define STATX_FLAGS	AT_SYMLINK_NOFOLLOW
#define STATX_MASK	STATX_BASIC_STATS

enum { W_STAT, W_SMALL, W_TREE, W_COPY };
enum { E_SYNC, E_POOL, E_URING, E_SYSLET, E_ASYNC, E_EMUL, E_LOOP, E_AUTO };

static int workload, engine;
static unsigned int qd, count;
static const char *dir;
static unsigned long ops, errors;
/* syslet: chains submitted, and of those, chains that left the caller */
static unsigned long chains, queued;

static void die(const char *what, int err)
{
	fprintf(stderr, "anysys: %s: %s\n", what, strerror(err));
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("malloc", ENOMEM);
	return p;
}

/* Size of small file @i: 4 KiB to 16 KiB, odd. */
static size_t small_size(unsigned int i)
{
	return 4096 + (i * 2741u) % 12289u;
}

static void item_path(char *p, size_t n, unsigned int i, int out)
{
	switch (workload) {
	case W_STAT:
		snprintf(p, n, "%s/stat/f%05u", dir, i);
		break;
	case W_SMALL:
		snprintf(p, n, "%s/small/s%05u", dir, i);
		break;
	default:
		snprintf(p, n, "%s/copy%s/c%05u", dir, out ? "-out" : "", i);
	}
}

/* --- making the files ---------------------------------------------- */

static unsigned long written;		/* files made */

static void write_file(const char *path, size_t len)
{
	static char buf[COPY_BYTES];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path, errno);
	memset(buf, 'a' + len % 26, len < sizeof(buf) ? len : sizeof(buf));
	if (len && write(fd, buf, len) != (ssize_t)len)
		die(path, EIO);
	/*
	 * Write back as we go: one sync of all the sets at the end waited
	 * on a slow device for over a minute, a hung-task report in the guest.
	 */
	if (++written % 500 == 0 && syncfs(fd))
		die("syncfs", errno);
	close(fd);
}

/*
 * The tree: 20 directories of 20 directories, each of those holding an
 * equal share of files of 0-3 KiB: COUNT entries in all (at least 420).
 */
static void mk_tree(void)
{
	unsigned int per = count > 420 ? (count - 420) / 400 : 0, i, j, k;
	char p[4096];

	snprintf(p, sizeof(p), "%s/tree", dir);
	mkdir(p, 0755);
	for (i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "%s/tree/d%02u", dir, i);
		if (mkdir(p, 0755) && errno != EEXIST)
			die(p, errno);
		for (j = 0; j < 20; j++) {
			snprintf(p, sizeof(p), "%s/tree/d%02u/e%02u", dir, i, j);
			if (mkdir(p, 0755) && errno != EEXIST)
				die(p, errno);
			for (k = 0; k < per; k++) {
				snprintf(p, sizeof(p), "%s/tree/d%02u/e%02u/file-%04u",
					 dir, i, j, k);
				write_file(p, (k * 977u) % 3072u);
			}
		}
	}
}

static void mk(void)
{
	char p[4096];
	unsigned int i;

	if (workload == W_TREE)
		return mk_tree();
	item_path(p, sizeof(p), 0, 0);
	*strrchr(p, '/') = '\0';
	if (mkdir(p, 0755) && errno != EEXIST)
		die(p, errno);
	for (i = 0; i < count; i++) {
		item_path(p, sizeof(p), i, 0);
		write_file(p, workload == W_STAT ? 0 :
			   workload == W_SMALL ? small_size(i) : COPY_BYTES);
	}
}

/* --- independent items: stat, small, copy ----------------------------- */

struct slot {
	unsigned int item, left;	/* uring: CQEs still to come */
	int bad;
	char path[2][256];
	char *buf;
	struct statx stx;
	/* syslet: up to six atoms, their argument values and results */
	struct syslet_atom at[6];
	uint64_t v[6][4];
	int64_t ret[6];
	struct syslet_completion done;
};

static struct slot slots[MAXQD];

/* The item done with plain calls (sync, pool); 0 if right. */
static int item_sync(struct slot *s, unsigned int i)
{
	int fd, out;
	ssize_t n;

	item_path(s->path[0], sizeof(s->path[0]), i, 0);
	switch (workload) {
	case W_STAT:
		return statx(AT_FDCWD, s->path[0], STATX_FLAGS, STATX_MASK,
			     &s->stx) != 0;
	case W_SMALL:
		fd = open(s->path[0], O_RDONLY);
		if (fd < 0)
			return 1;
		n = read(fd, s->buf, SMALL_MAX);
		return (close(fd) != 0) | (n != (ssize_t)small_size(i));
	default:
		item_path(s->path[1], sizeof(s->path[1]), i, 1);
		fd = open(s->path[0], O_RDONLY);
		if (fd < 0)
			return 1;
		out = open(s->path[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0) {
			close(fd);
			return 1;
		}
		n = copy_file_range(fd, NULL, out, NULL, COPY_BYTES, 0);
		return (close(out) != 0) | (close(fd) != 0) | (n != COPY_BYTES);
	}
}

static unsigned int next_item;		/* pool: the next item to take */

static void *pool_thread(void *arg)
{
	struct slot *s = arg;
	unsigned int i;

	while ((i = __atomic_fetch_add(&next_item, 1, __ATOMIC_RELAXED)) < count)
		if (item_sync(s, i))
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void run_pool_items(void)
{
	pthread_t th[MAXQD];
	unsigned int t;

	for (t = 0; t < qd; t++)
		if (pthread_create(&th[t], NULL, pool_thread, &slots[t]))
			die("pthread_create", EAGAIN);
	for (t = 0; t < qd; t++)
		pthread_join(th[t], NULL);
	ops = count;
}

/* io_uring: the item's SQEs in @s (slot number @k = direct descriptor). */
static void uring_prep(struct io_uring *r, struct slot *s, unsigned int k,
		       unsigned int i)
{
	struct io_uring_sqe *q[3];
	unsigned int j, n = workload == W_STAT ? 1 : 3;

	for (j = 0; j < n; j++) {
		q[j] = io_uring_get_sqe(r);
		if (!q[j])
			die("io_uring_get_sqe", EBUSY);
	}
	s->item = i;
	s->left = n;
	s->bad = 0;
	item_path(s->path[0], sizeof(s->path[0]), i, 0);
	if (workload == W_STAT) {
		io_uring_prep_statx(q[0], AT_FDCWD, s->path[0], STATX_FLAGS,
				    STATX_MASK, &s->stx);
	} else {
		io_uring_prep_openat_direct(q[0], AT_FDCWD, s->path[0],
					    O_RDONLY, 0, k);
		io_uring_prep_read(q[1], k, s->buf, SMALL_MAX, 0);
		q[1]->flags |= IOSQE_FIXED_FILE;
		io_uring_prep_close_direct(q[2], k);
		q[0]->flags |= IOSQE_IO_LINK;
		/* a read shorter than asked breaks a plain link: hard link */
		q[1]->flags |= IOSQE_IO_HARDLINK;
	}
	for (j = 0; j < n; j++)
		io_uring_sqe_set_data64(q[j], (uint64_t)k << 2 | j);
}

static void run_uring_items(void)
{
	unsigned int started = 0, finished = 0, inflight = 0, k;
	unsigned int freek[MAXQD], nfree = qd;
	struct io_uring r;
	int ret;

	if (workload == W_COPY)
		die("io_uring", EOPNOTSUPP);	/* no copy_file_range op */
	ret = io_uring_queue_init(4 * qd < 8 ? 8 : 4 * qd, &r, 0);
	if (ret < 0)
		die("io_uring_queue_init", -ret);
	if (workload == W_SMALL) {
		ret = io_uring_register_files_sparse(&r, qd);
		if (ret < 0)
			die("io_uring_register_files_sparse", -ret);
	}
	for (k = 0; k < qd; k++)
		freek[k] = qd - 1 - k;
	while (finished < count) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		while (nfree && started < count) {
			k = freek[--nfree];
			uring_prep(&r, &slots[k], k, started++);
			inflight++;
		}
		ret = io_uring_submit_and_wait(&r, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", -ret);
		io_uring_for_each_cqe(&r, head, cqe) {
			struct slot *s = &slots[cqe->user_data >> 2];
			unsigned int j = cqe->user_data & 3;

			seen++;
			if (workload == W_STAT ? cqe->res != 0 :
			    j == 1 ? cqe->res != (int)small_size(s->item) :
			    cqe->res < 0)
				s->bad = 1;
			if (--s->left)
				continue;
			errors += s->bad;
			finished++;
			inflight--;
			freek[nfree++] = (unsigned int)(s - slots);
		}
		io_uring_cq_advance(&r, seen);
	}
	io_uring_queue_exit(&r);
	ops = count;
}

/* syslet: the item's chain in @s; returns its head. */
static struct syslet_atom *chain_prep(struct slot *s, unsigned int k,
				      unsigned int i, unsigned int mode)
{
	unsigned int j, n = workload == W_STAT ? 1 : workload == W_SMALL ? 3 : 6;
	struct syslet_atom *a = s->at;

	s->item = i;
	item_path(s->path[0], sizeof(s->path[0]), i, 0);
	if (workload == W_COPY)
		item_path(s->path[1], sizeof(s->path[1]), i, 1);
	/* atom j: argument values v[j][0..3], result ret[j] (no more work
	 * than the plain calls' loop: only the atoms this workload uses) */
	for (j = 0; j < n; j++) {
		unsigned int m;

		syslet_atom_init(&a[j], 0, 0);
		for (m = 0; m < 4; m++)
			syslet_atom_arg(&a[j], m, &s->v[j][m]);
		syslet_atom_ret(&a[j], &s->ret[j]);
		s->ret[j] = 0;
	}
	if (workload == W_STAT) {
		a[0].nr = SYS_statx;
		s->v[0][0] = (uint64_t)AT_FDCWD;
		s->v[0][1] = SYSLET_U64(s->path[0]);
		s->v[0][2] = STATX_FLAGS;
		s->v[0][3] = STATX_MASK;
		syslet_atom_arg(&a[0], 4, &s->v[1][0]);	/* a[1] unused */
		s->v[1][0] = SYSLET_U64(&s->stx);
	} else if (workload == W_SMALL) {
		/* openat -> read(fd by pointer) -> close(fd by pointer) */
		a[0].nr = SYS_openat;
		a[0].flags = SYSLET_STOP_ON_NEGATIVE;
		s->v[0][0] = (uint64_t)AT_FDCWD;
		s->v[0][1] = SYSLET_U64(s->path[0]);
		s->v[0][2] = O_RDONLY;
		a[1].nr = SYS_read;
		syslet_atom_arg(&a[1], 0, &s->ret[0]);
		s->v[1][1] = SYSLET_U64(s->buf);
		s->v[1][2] = SMALL_MAX;
		a[2].nr = SYS_close;
		syslet_atom_arg(&a[2], 0, &s->ret[0]);
		syslet_atom_link(&a[0], &a[1]);
		syslet_atom_link(&a[1], &a[2]);
	} else {
		/*
		 * [0] openat(src)	stop if negative
		 * [1] openat(dst)	if negative: skip to [2], close(src)
		 * [2] close(src)	(the failure branch ends here)
		 * [3] copy_file_range(src, NULL, dst, NULL, len, 0)
		 * [4] close(dst)
		 * [5] close(src)
		 */
		a[0].nr = SYS_openat;
		a[0].flags = SYSLET_STOP_ON_NEGATIVE;
		s->v[0][0] = (uint64_t)AT_FDCWD;
		s->v[0][1] = SYSLET_U64(s->path[0]);
		s->v[0][2] = O_RDONLY;
		a[1].nr = SYS_openat;
		a[1].flags = SYSLET_STOP_ON_NEGATIVE | SYSLET_SKIP_TO_NEXT_ON_STOP;
		s->v[1][0] = (uint64_t)AT_FDCWD;
		s->v[1][1] = SYSLET_U64(s->path[1]);
		s->v[1][2] = O_WRONLY | O_CREAT | O_TRUNC;
		s->v[1][3] = 0644;
		a[2].nr = SYS_close;
		syslet_atom_arg(&a[2], 0, &s->ret[0]);
		a[3].nr = SYS_copy_file_range;
		syslet_atom_arg(&a[3], 0, &s->ret[0]);
		syslet_atom_arg(&a[3], 1, NULL);
		syslet_atom_arg(&a[3], 2, &s->ret[1]);
		syslet_atom_arg(&a[3], 3, NULL);
		syslet_atom_arg(&a[3], 4, &s->v[3][0]);
		s->v[3][0] = COPY_BYTES;
		a[4].nr = SYS_close;
		syslet_atom_arg(&a[4], 0, &s->ret[1]);
		a[5].nr = SYS_close;
		syslet_atom_arg(&a[5], 0, &s->ret[0]);
		syslet_atom_link(&a[0], &a[1]);
		syslet_atom_link(&a[1], &a[3]);
		syslet_atom_link(&a[3], &a[4]);
		syslet_atom_link(&a[4], &a[5]);
	}
	a[0].flags |= mode;
	syslet_atom_set_data(&a[0], k);
	return &a[0];
}

/* A chain of @s ended with @c: count it right or wrong. */
static void chain_check(struct slot *s, const struct syslet_completion *c)
{
	int bad;

	if (workload == W_STAT)
		bad = c->status != 0;
	else if (workload == W_SMALL)
		bad = c->nr_atoms != 3 || s->ret[1] != (int64_t)small_size(s->item) ||
		      s->ret[2] != 0;
	else
		bad = c->nr_atoms != 5 || s->ret[3] != COPY_BYTES ||
		      s->ret[4] != 0 || s->ret[5] != 0;
	errors += bad;
}

/* a whole decimal number in 1..max, else the usage error */
static unsigned int number(const char *s, const char *what, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || !v || v > max)
		die(what, EINVAL);
	return (unsigned int)v;
}

static unsigned int ctx_flags(void)
{
	return engine == E_EMUL ? SYSLET_CTX_EMULATED : SYSLET_CTX_KERNEL;
}

/*
 * The context, and $ANYSYS_MAX_THREADS, if set, as the backend's
 * max_threads (an experiment's knob: the engine's default is 128; io-wq
 * caps its workers for bound work, statx, opens and regular files' reads
 * among them, at 4 per CPU); recorded as "max_threads" in the JSON.
 */
static unsigned int max_threads;	/* set by $ANYSYS_MAX_THREADS, or 0 */

static void ctx_setup(struct syslet_ctx *ctx)
{
	const char *env = getenv("ANYSYS_MAX_THREADS");
	int ret = syslet_ctx_init(ctx, qd, ctx_flags());

	if (ret < 0)
		die("syslet_ctx_init", -ret);
	if (env && *env) {
		struct syslet_limits set = { .size = sizeof(set) };

		max_threads = number(env, "ANYSYS_MAX_THREADS", 4096);
		set.max_threads = max_threads;
		ret = syslet_limits(ctx, &set, NULL);
		if (ret < 0)
			die("syslet_limits", -ret);
	}
}

/*
 * The mode of the next chain.  syslet-auto: a hand-off costs the caller
 * a thread's wake-up, so once a chain handed off (SYSLET_QUEUED in the
 * default mode), the next qd go to async threads at once; then the
 * caller tries again (what the fio engine's exec_mode=auto does).
 */
static unsigned int auto_left;

static unsigned int next_mode(void)
{
	if (engine == E_ASYNC)
		return SYSLET_ASYNC;
	if (engine != E_AUTO || !auto_left)
		return 0;
	auto_left--;
	return SYSLET_ASYNC;
}

static void mode_result(unsigned int mode, int ret)
{
	if (engine == E_AUTO && !mode && ret == SYSLET_QUEUED)
		auto_left = qd;
}

static void run_syslet_items(void)
{
	unsigned int started = 0, finished = 0, k, freek[MAXQD], nfree = qd;
	struct syslet_completion comps[MAXQD];
	struct syslet_ctx ctx;
	int ret, n, j;

	ctx_setup(&ctx);
	for (k = 0; k < qd; k++)
		freek[k] = qd - 1 - k;
	while (finished < count) {
		while (nfree && started < count) {
			unsigned int mode = next_mode();
			struct slot *s;

			k = freek[--nfree];
			s = &slots[k];
			ret = syslet_submit_done(&ctx, chain_prep(s, k, started, mode),
						 &s->done);
			if (ret == -EAGAIN) {		/* chains limit */
				nfree++;
				if (engine == E_AUTO && mode)
					auto_left++;	/* not submitted */
				break;
			}
			if (ret < 0)
				die("syslet_submit_done", -ret);
			mode_result(mode, ret);
			started++;
			chains++;
			queued += ret == SYSLET_QUEUED;
			if (ret == SYSLET_DONE) {	/* ran in the caller */
				chain_check(s, &s->done);
				finished++;
				nfree++;
			}
		}
		if (finished == count)
			break;
		ret = syslet_wait(&ctx, 1, NULL);
		if (ret < 0 && ret != -EINTR)
			die("syslet_wait", -ret);
		n = syslet_reap(&ctx, comps, MAXQD);
		if (n < 0)
			die("syslet_reap", -n);
		for (j = 0; j < n; j++) {
			k = (unsigned int)comps[j].user_data;
			chain_check(&slots[k], &comps[j]);
			finished++;
			freek[nfree++] = k;
		}
	}
	syslet_ctx_exit(&ctx);
	ops = count;
}

/* --- the tree walk --------------------------------------------------- */

/* What getdents64 writes (struct linux_dirent64). */
struct dirent64_k {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct work {
	char *path;
	int list;		/* list the directory, else statx the path */
};

static struct work *stack;
static size_t nstack, cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static unsigned int busy;	/* pool threads working on an item */

static void push(char *path, int list)
{
	if (nstack == cap) {
		cap = cap ? 2 * cap : 4096;
		stack = realloc(stack, cap * sizeof(*stack));
		if (!stack)
			die("realloc", ENOMEM);
	}
	stack[nstack].path = path;
	stack[nstack++].list = list;
}

/* Pushes a stat of each entry of the @len bytes at @buf, in @dirpath. */
static void parse(const char *dirpath, const char *buf, long len)
{
	long off = 0;

	while (off < len) {
		const struct dirent64_k *d = (const void *)(buf + off);
		const char *n = d->d_name;
		char *p;

		off += d->d_reclen;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		if (asprintf(&p, "%s/%s", dirpath, n) < 0)
			die("asprintf", ENOMEM);
		push(p, 0);
	}
}

/* Lists @path with plain calls (the pool takes @locked to push). */
static void list_sync(const char *path, char *buf, int locked)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (fd < 0) {
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		return;
	}
	while ((n = syscall(SYS_getdents64, fd, buf, DENTS_BYTES)) > 0) {
		if (locked)
			pthread_mutex_lock(&lock);
		parse(path, buf, n);
		if (locked) {
			pthread_cond_broadcast(&more);
			pthread_mutex_unlock(&lock);
		}
	}
	if (n < 0)
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	close(fd);
}

/* One item with plain calls; the path is freed or handed on. */
static void walk_one(struct work w, char *buf, struct statx *stx, int locked)
{
	if (w.list) {
		list_sync(w.path, buf, locked);
		free(w.path);
		return;
	}
	if (statx(AT_FDCWD, w.path, STATX_FLAGS, STATX_MASK, stx)) {
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		free(w.path);
		return;
	}
	__atomic_fetch_add(&ops, 1, __ATOMIC_RELAXED);
	if (!S_ISDIR(stx->stx_mode)) {
		free(w.path);
		return;
	}
	if (locked)
		pthread_mutex_lock(&lock);
	push(w.path, 1);
	if (locked) {
		pthread_cond_broadcast(&more);
		pthread_mutex_unlock(&lock);
	}
}

static void *tree_thread(void *arg)
{
	char *buf = xmalloc(DENTS_BYTES);
	struct statx stx;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct work w;

		while (!nstack && busy)
			pthread_cond_wait(&more, &lock);
		if (!nstack)
			break;			/* nothing left, nobody busy */
		w = stack[--nstack];
		busy++;
		pthread_mutex_unlock(&lock);
		walk_one(w, buf, &stx, 1);
		pthread_mutex_lock(&lock);
		if (!--busy && !nstack)
			pthread_cond_broadcast(&more);
	}
	pthread_mutex_unlock(&lock);
	free(buf);
	return NULL;
}

static char *root_path(void)
{
	char *p;

	if (asprintf(&p, "%s/tree", dir) < 0)
		die("asprintf", ENOMEM);
	return p;
}

static void run_tree_threads(unsigned int n)
{
	pthread_t th[MAXQD];
	unsigned int t;

	push(root_path(), 0);		/* the root is stat'ed too */
	if (n == 0) {				/* sync */
		tree_thread(NULL);
		return;
	}
	for (t = 0; t < n; t++)
		if (pthread_create(&th[t], NULL, tree_thread, NULL))
			die("pthread_create", EAGAIN);
	for (t = 0; t < n; t++)
		pthread_join(th[t], NULL);
}

/* io_uring: statx through the ring, listings synchronous in the caller. */
static void run_tree_uring(void)
{
	unsigned int inflight = 0, k, freek[MAXQD], nfree = qd;
	char *buf = xmalloc(DENTS_BYTES);
	struct io_uring r;
	int ret;

	ret = io_uring_queue_init(qd < 8 ? 8 : qd, &r, 0);
	if (ret < 0)
		die("io_uring_queue_init", -ret);
	for (k = 0; k < qd; k++)
		freek[k] = qd - 1 - k;
	push(root_path(), 0);
	while (nstack || inflight) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		while (nstack && nfree) {
			struct work w = stack[--nstack];
			struct io_uring_sqe *q;
			struct slot *s;

			if (w.list) {
				list_sync(w.path, buf, 0);
				free(w.path);
				continue;
			}
			k = freek[--nfree];
			s = &slots[k];
			s->buf = w.path;	/* owned by the slot */
			q = io_uring_get_sqe(&r);
			io_uring_prep_statx(q, AT_FDCWD, w.path, STATX_FLAGS,
					    STATX_MASK, &s->stx);
			io_uring_sqe_set_data64(q, k);
			inflight++;
		}
		if (!inflight)
			continue;
		ret = io_uring_submit_and_wait(&r, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", -ret);
		io_uring_for_each_cqe(&r, head, cqe) {
			struct slot *s = &slots[cqe->user_data];

			seen++;
			inflight--;
			freek[nfree++] = (unsigned int)cqe->user_data;
			if (cqe->res) {
				errors++;
				free(s->buf);
			} else if (ops++, S_ISDIR(s->stx.stx_mode)) {
				push(s->buf, 1);
			} else {
				free(s->buf);
			}
		}
		io_uring_cq_advance(&r, seen);
	}
	io_uring_queue_exit(&r);
	free(buf);
}

/* syslet: pdu's chains (userspace/examples/pdu.c explains them). */
struct tslot {
	char *path;
	int list;
	struct syslet_op st;
	struct statx stx;
	struct syslet_atom at[5];
	uint64_t cwd, p, oflags, buf[2], len;
	int64_t fd, got[2], closed;
	char *dents;
	struct syslet_completion done;
};

static struct tslot tslots[MAXQD];

static const struct syslet_atom *tree_prep(struct tslot *s, unsigned int k,
					   unsigned int mode)
{
	struct syslet_atom *a = s->at;
	unsigned int i;

	if (!s->list) {
		syslet_prep_syscall(&s->st, SYS_statx, (uint64_t)AT_FDCWD,
				    SYSLET_U64(s->path), STATX_FLAGS, STATX_MASK,
				    SYSLET_U64(&s->stx), 0);
		syslet_op_set_flags(&s->st, mode);
		syslet_op_set_data(&s->st, k);
		return &s->st.atom;
	}
	if (!s->dents)
		s->dents = xmalloc(2 * DENTS_BYTES);
	s->cwd = (uint64_t)AT_FDCWD;
	s->p = SYSLET_U64(s->path);
	s->oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	s->buf[0] = SYSLET_U64(s->dents);
	s->buf[1] = SYSLET_U64(s->dents + DENTS_BYTES);
	s->len = DENTS_BYTES;
	s->got[1] = 0;
	syslet_atom_init(&a[0], SYS_openat, SYSLET_STOP_ON_NEGATIVE | mode);
	syslet_atom_arg(&a[0], 0, &s->cwd);
	syslet_atom_arg(&a[0], 1, &s->p);
	syslet_atom_arg(&a[0], 2, &s->oflags);
	syslet_atom_ret(&a[0], &s->fd);
	syslet_atom_link(&a[0], &a[1]);
	for (i = 0; i < 2; i++) {
		struct syslet_atom *g = &a[1 + 2 * i];

		/* [1] heads a resubmission: its mode too (ignored otherwise) */
		syslet_atom_init(g, SYS_getdents64, SYSLET_STOP_ON_NON_POSITIVE |
				 SYSLET_SKIP_TO_NEXT_ON_STOP | (i ? 0 : mode));
		syslet_atom_arg(g, 0, &s->fd);
		syslet_atom_arg(g, 1, &s->buf[i]);
		syslet_atom_arg(g, 2, &s->len);
		syslet_atom_ret(g, &s->got[i]);
		syslet_atom_init(g + 1, SYS_close, 0);
		syslet_atom_arg(g + 1, 0, &s->fd);
		syslet_atom_ret(g + 1, &s->closed);
	}
	syslet_atom_link(&a[1], &a[3]);
	syslet_atom_set_data(&a[0], k);
	syslet_atom_set_data(&a[1], k);
	return &a[0];
}

/* A listing's next part heads its own submission: the mode of that one. */
static const struct syslet_atom *tree_again(struct tslot *s, unsigned int mode)
{
	s->got[1] = 0;
	s->at[1].flags = (s->at[1].flags & ~SYSLET_ASYNC) | mode;
	return &s->at[1];
}

/* Returns 1 when the slot is free, 0 when its listing must go on. */
static int tree_done(struct tslot *s, const struct syslet_completion *c)
{
	if (!s->list) {
		if (c->status) {
			errors++;
			free(s->path);
			return 1;
		}
		ops++;
		if (S_ISDIR(s->stx.stx_mode))
			push(s->path, 1);
		else
			free(s->path);
		return 1;
	}
	if (c->atom == SYSLET_U64(&s->at[0])) {
		errors++;
		free(s->path);
		return 1;
	}
	if (s->got[0] > 0)
		parse(s->path, s->dents, s->got[0]);
	errors += s->got[0] < 0;
	if (c->atom == SYSLET_U64(&s->at[3]) || c->atom == SYSLET_U64(&s->at[4])) {
		if (s->got[1] > 0)
			parse(s->path, s->dents + DENTS_BYTES, s->got[1]);
		errors += s->got[1] < 0;
	}
	if (c->atom == SYSLET_U64(&s->at[3]))
		return 0;		/* more: resubmit from at[1] */
	free(s->path);
	return 1;
}

static void run_tree_syslet(void)
{
	unsigned int inflight = 0, k, freek[MAXQD], nfree = qd;
	struct syslet_completion comps[MAXQD];
	struct syslet_ctx ctx;
	int ret, n, j;

	ctx_setup(&ctx);
	for (k = 0; k < qd; k++)
		freek[k] = qd - 1 - k;
	push(root_path(), 0);
	while (nstack || inflight) {
		while (nstack && nfree) {
			unsigned int mode = next_mode();
			struct tslot *s;
			const struct syslet_atom *head;
			struct work w = stack[--nstack];

			k = freek[--nfree];
			s = &tslots[k];
			s->path = w.path;
			s->list = w.list;
			head = tree_prep(s, k, mode);
			/* resubmitted until its listing is read whole */
			for (;;) {
				while ((ret = syslet_submit_done(&ctx, head,
								 &s->done)) == -EAGAIN)
					syslet_wait(&ctx, 1, NULL);
				if (ret < 0)
					die("syslet_submit_done", -ret);
				mode_result(mode, ret);
				chains++;
				if (ret != SYSLET_DONE) {
					queued++;
					inflight++;
					break;
				}
				if (tree_done(s, &s->done)) {
					freek[nfree++] = k;
					break;
				}
				mode = next_mode();
				head = tree_again(s, mode);
			}
		}
		if (!inflight)
			continue;
		ret = syslet_wait(&ctx, 1, NULL);
		if (ret < 0 && ret != -EINTR)
			die("syslet_wait", -ret);
		n = syslet_reap(&ctx, comps, MAXQD);
		if (n < 0)
			die("syslet_reap", -n);
		for (j = 0; j < n; j++) {
			const struct syslet_atom *head;
			unsigned int mode;
			struct tslot *s;

			k = (unsigned int)comps[j].user_data;
			s = &tslots[k];
			if (tree_done(s, &comps[j])) {
				inflight--;
				freek[nfree++] = k;
				continue;
			}
			/* the listing goes on: again from [1], fd in its slot */
			mode = next_mode();
			head = tree_again(s, mode);
			while ((ret = syslet_submit(&ctx, head)) == -EAGAIN)
				syslet_wait(&ctx, 1, NULL);
			if (ret < 0)
				die("syslet_submit", -ret);
			mode_result(mode, ret);
			chains++;
			queued += ret == SYSLET_QUEUED;
		}
	}
	syslet_ctx_exit(&ctx);
}

/* --- an event loop and its thread pool: libuv's model ----------------- */

/*
 * What libuv does for uv_fs_stat() and the rest: the loop thread puts
 * each request on a queue under a mutex and signals an idle worker
 * (uv__work_submit()); a worker makes the call, puts the request on the
 * loop's done list under a second mutex and wakes the loop
 * (uv_async_send(): an eventfd write, none while one is pending); the
 * loop, woken in its poll, takes the whole done list and runs each
 * request's callback in the loop thread (uv__work_done()), which may
 * submit more: here what the syslet and io_uring loops do with a
 * completion (the tree walk's listings parsed, directories pushed).
 * @pool_threads workers (libuv's UV_THREADPOOL_SIZE, 4 by default), QD
 * requests in flight.  A best case of libuv (an outside review measured
 * libuv 1.44 itself at 0.65-0.85x this on hot stat and tree walks): one
 * hand-over per item where libuv takes one per call (open, read and
 * close of a small file are three requests there), no path copy, no
 * timers, the wake-up write outside the done list's lock.
 */
static unsigned int pool_threads = 4;

struct lslot {
	struct work w;		/* tree: the item */
	int err;
	mode_t mode;		/* tree: a stat's result */
	char *dents;		/* tree: a listing, whole */
	size_t dlen, dcap;
};

static struct lslot lslots[MAXQD];
static pthread_mutex_t lq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lq_cond = PTHREAD_COND_INITIALIZER;
static unsigned int lq[MAXQD], lq_head, lq_tail, lq_idle;
static int lq_stop;
static pthread_mutex_t ld_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int ld[MAXQD], ld_n;
static int ld_efd, ld_pending;

/* A tree item with plain calls, its result left in @l for the loop. */
static void loop_tree_one(struct lslot *l, struct statx *stx)
{
	int fd;
	long n;

	l->err = 0;
	l->dlen = 0;
	if (!l->w.list) {
		if (statx(AT_FDCWD, l->w.path, STATX_FLAGS, STATX_MASK, stx))
			l->err = 1;
		l->mode = stx->stx_mode;
		return;
	}
	fd = open(l->w.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		l->err = 1;
		return;
	}
	/* as list_sync(): what was read is parsed, a failure counted */
	for (;;) {
		if (l->dcap - l->dlen < DENTS_BYTES) {
			l->dcap = l->dcap ? 2 * l->dcap : 2 * DENTS_BYTES;
			l->dents = realloc(l->dents, l->dcap);
			if (!l->dents)
				die("realloc", ENOMEM);
		}
		n = syscall(SYS_getdents64, fd, l->dents + l->dlen, DENTS_BYTES);
		if (n <= 0)
			break;
		l->dlen += (size_t)n;
	}
	if (n < 0)
		l->err = 1;
	close(fd);
}

static void *loop_worker(void *arg)
{
	struct statx stx;
	uint64_t one = 1;
	unsigned int k;

	(void)arg;
	pthread_mutex_lock(&lq_lock);
	for (;;) {
		while (lq_head == lq_tail && !lq_stop) {
			lq_idle++;
			pthread_cond_wait(&lq_cond, &lq_lock);
			lq_idle--;
		}
		if (lq_head == lq_tail)
			break;
		k = lq[lq_head++ % MAXQD];
		pthread_mutex_unlock(&lq_lock);
		if (workload == W_TREE)
			loop_tree_one(&lslots[k], &stx);
		else
			slots[k].bad = item_sync(&slots[k], slots[k].item);
		pthread_mutex_lock(&ld_lock);
		ld[ld_n++] = k;
		pthread_mutex_unlock(&ld_lock);
		/* uv_async_send(): one write until the loop has looked */
		if (!__atomic_load_n(&ld_pending, __ATOMIC_RELAXED) &&
		    !__atomic_exchange_n(&ld_pending, 1, __ATOMIC_ACQ_REL) &&
		    write(ld_efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd write", errno);
		pthread_mutex_lock(&lq_lock);
	}
	pthread_mutex_unlock(&lq_lock);
	return NULL;
}

static void loop_submit(unsigned int k)
{
	pthread_mutex_lock(&lq_lock);
	lq[lq_tail++ % MAXQD] = k;
	if (lq_idle)
		pthread_cond_signal(&lq_cond);
	pthread_mutex_unlock(&lq_lock);
}

/* Waits for the workers' news; fills @done with what completed. */
static unsigned int loop_wait(unsigned int *done)
{
	struct pollfd p = { .fd = ld_efd, .events = POLLIN };
	uint64_t v;
	unsigned int n;

	if (poll(&p, 1, -1) < 0 && errno != EINTR)
		die("poll", errno);
	if (read(ld_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		die("eventfd read", errno);
	__atomic_store_n(&ld_pending, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ld_lock);
	n = ld_n;
	memcpy(done, ld, n * sizeof(*done));
	ld_n = 0;
	pthread_mutex_unlock(&ld_lock);
	return n;
}

static unsigned int lfree[MAXQD], lnfree, linflight, lstarted;

/* Hands the workers what is ready, up to QD in flight. */
static void loop_fill(void)
{
	unsigned int k;

	while (lnfree && (workload == W_TREE ? nstack != 0 : lstarted < count)) {
		k = lfree[--lnfree];
		if (workload == W_TREE)
			lslots[k].w = stack[--nstack];
		else
			slots[k].item = lstarted++;
		loop_submit(k);
		linflight++;
	}
}

static void run_loop_pool(void)
{
	unsigned int done[MAXQD], n, j, k, t;
	pthread_t th[MAXQD];

	ld_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ld_efd < 0)
		die("eventfd", errno);
	for (t = 0; t < pool_threads; t++)
		if (pthread_create(&th[t], NULL, loop_worker, NULL))
			die("pthread_create", EAGAIN);
	for (k = 0; k < qd; k++)
		lfree[k] = qd - 1 - k;
	lnfree = qd;
	if (workload == W_TREE)
		push(root_path(), 0);
	for (;;) {
		loop_fill();
		if (!linflight)
			break;
		n = loop_wait(done);
		/* each "callback" in turn, which submits what it can at once */
		for (j = 0; j < n; j++) {
			struct lslot *l = &lslots[done[j]];

			if (j)
				loop_fill();
			linflight--;
			lfree[lnfree++] = done[j];
			if (workload != W_TREE) {
				errors += slots[done[j]].bad != 0;
				ops++;
				continue;
			}
			errors += l->err;
			if (l->w.list) {
				parse(l->w.path, l->dents, (long)l->dlen);
				free(l->w.path);
			} else if (l->err) {
				free(l->w.path);
			} else if (ops++, S_ISDIR(l->mode)) {
				push(l->w.path, 1);
			} else {
				free(l->w.path);
			}
		}
	}
	pthread_mutex_lock(&lq_lock);
	lq_stop = 1;
	pthread_cond_broadcast(&lq_cond);
	pthread_mutex_unlock(&lq_lock);
	for (t = 0; t < pool_threads; t++)
		pthread_join(th[t], NULL);
	close(ld_efd);
}

/* --- main -------------------------------------------------------------- */

static double tv(struct timeval t)
{
	return t.tv_sec + t.tv_usec / 1e6;
}

static int pick(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	fprintf(stderr, "anysys: unknown %s\n", s);
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const wnames[] = { "stat", "small", "tree", "copy" };
	static const char *const enames[] = { "sync", "pool", "uring", "syslet",
					       "syslet-async", "emul", "loop",
					       "syslet-auto" };
	struct timespec t0, t1;
	struct rusage r0, r1;
	double secs;
	unsigned int i;

	if (argc == 5 && !strcmp(argv[1], "mk")) {
		workload = pick(argv[2], wnames, 4);
		dir = argv[3];
		count = number(argv[4], "COUNT", UINT_MAX);
		mk();
		return 0;
	}
	if ((argc != 7 && argc != 8) || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: %s mk stat|small|tree|copy DIR COUNT\n"
			"       %s run WORKLOAD ENGINE QD DIR COUNT [THREADS]\n",
			argv[0], argv[0]);
		return 2;
	}
	workload = pick(argv[2], wnames, 4);
	engine = pick(argv[3], enames, 8);
	if (argc == 8)
		pool_threads = number(argv[7], "THREADS", MAXQD);
	qd = number(argv[4], "QD", MAXQD);
	dir = argv[5];
	count = number(argv[6], "COUNT", UINT_MAX);
	if (engine == E_SYNC)
		qd = 1;
	for (i = 0; i < MAXQD; i++)
		slots[i].buf = xmalloc(SMALL_MAX);
	if (workload == W_COPY) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/copy-out", dir);
		if (mkdir(p, 0755) && errno != EEXIST)
			die(p, errno);
	}

	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (engine == E_LOOP) {
		run_loop_pool();
	} else if (workload == W_TREE) {
		if (engine == E_SYNC)
			run_tree_threads(0);
		else if (engine == E_POOL)
			run_tree_threads(qd);
		else if (engine == E_URING)
			run_tree_uring();
		else
			run_tree_syslet();
	} else if (engine == E_SYNC) {
		for (i = 0; i < count; i++)
			errors += item_sync(&slots[0], i);
		ops = count;
	} else if (engine == E_POOL) {
		run_pool_items();
	} else if (engine == E_URING) {
		run_uring_items();
	} else {
		run_syslet_items();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"workload\": \"%s\", \"engine\": \"%s\", \"qd\": %u, "
	       "\"threads\": %u, \"ops\": %lu, \"errors\": %lu, \"chains\": %lu, \"queued\": %lu, "
	       "\"secs\": %.6f, \"ops_per_s\": %.1f, \"usr\": %.6f, \"sys\": %.6f, "
	       "\"max_threads\": %u}\n",
	       wnames[workload], enames[engine], qd,
	       engine == E_LOOP ? pool_threads : engine == E_POOL ? qd : 0,
	       ops, errors, chains, queued, secs,
	       ops / secs, tv(r1.ru_utime) - tv(r0.ru_utime),
	       tv(r1.ru_stime) - tv(r0.ru_stime), max_threads);
	return 0;
}
