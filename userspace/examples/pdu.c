// SPDX-License-Identifier: MIT
/*
 * pdu: a parallel "du -s --apparent-size -B1" built on syslet chains.
 *
 *	pdu [-n CHAINS] PATH
 *
 * Prints "BYTES<TAB>PATH", BYTES being what du -s --apparent-size -B1
 * prints: the st_size of PATH and of everything below it (directories
 * too), symbolic links counted as links (their own size, never
 * followed), a file with several hard links counted once (by device and
 * inode number, the first name met), mount points crossed.  As du, it
 * reports an entry it cannot stat or a directory it cannot read on
 * stderr, still counts what it could stat, and exits 1.
 *
 * Up to CHAINS (default 64) chains are in flight at once, each of one of
 * two kinds:
 *
 *   a stat:	statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, mask, &stx)
 *
 *   a listing of one directory, an array of plain atoms so that the
 *   stop flags can branch (SYSLET_SKIP_TO_NEXT_ON_STOP goes on with the
 *   atom laid out right after the one that stopped):
 *
 *	[0] openat(path, O_DIRECTORY)	negative: stop, nothing to close
 *	[1] getdents64(fd, buf0)	<= 0: skip to [2]; else on to [3]
 *	[2] close(fd)			end: the directory was read whole
 *	[3] getdents64(fd, buf1)	<= 0: skip to [4]; else end, fd open
 *	[4] close(fd)			end
 *
 * The descriptor never passes through this program: getdents64 and close
 * read it from openat's result slot (arguments are pointers).  Most
 * directories are read, and their descriptor closed, by one chain; a
 * bigger one ends after [3] with its descriptor still open, and is
 * resubmitted from [1] (openat's result is still in its slot) until a
 * getdents64 returns 0.  The completion's ->atom says which atom ran
 * last, so which branch was taken.
 *
 * Every entry a listing finds becomes a stat; a stat that finds a
 * directory becomes a listing.  Stats are by path (the directory's
 * descriptor may be closed by then), one chain each, so up to CHAINS
 * run at once.  On the kernel backend in its default mode a chain whose
 * calls hit the cache runs in the caller at the cost of plain calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <syslet.h>

#define DENTS_BYTES	(16 << 10)	/* per getdents64 buffer */

/* What getdents64 writes (struct linux_dirent64, not in a libc header). */
struct dirent64_k {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct listing {
	struct syslet_atom at[5];	/* see the top of this file */
	uint64_t cwd, path, oflags, buf[2], len;	/* argument values */
	int64_t fd, got[2], closed;	/* result slots */
};

struct slot {
	char *path;			/* malloc'ed, the slot's */
	int is_listing;
	struct syslet_op st;		/* a stat chain */
	struct statx stx;
	struct listing ls;		/* a listing chain */
	char *dents;			/* 2 x DENTS_BYTES */
};

struct item {				/* work not started yet */
	char *path;
	int is_listing;
};

static struct item *todo;		/* a stack: depth first, little memory */
static size_t ntodo, todo_cap;
static void *seen;			/* tsearch() tree of hard-linked inodes */
static unsigned long long total;
static int status, root_ok;	/* root_ok: PATH itself could be stat'ed */

static void die(const char *what, int err)
{
	fprintf(stderr, "pdu: %s: %s\n", what, strerror(err));
	exit(1);
}

static void push(char *path, int is_listing)
{
	if (ntodo == todo_cap) {
		todo_cap = todo_cap ? 2 * todo_cap : 1024;
		todo = realloc(todo, todo_cap * sizeof(*todo));
		if (!todo)
			die("realloc", ENOMEM);
	}
	todo[ntodo].path = path;
	todo[ntodo++].is_listing = is_listing;
}

static int cmp_inode(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* 1 the first time (device, inode) is met, else 0. */
static int first_time(const struct statx *stx)
{
	uint64_t *key = malloc(2 * sizeof(*key));
	void *node;

	if (!key)
		die("malloc", ENOMEM);
	key[0] = (uint64_t)stx->stx_dev_major << 32 | stx->stx_dev_minor;
	key[1] = stx->stx_ino;
	node = tsearch(key, &seen, cmp_inode);
	if (!node)
		die("tsearch", ENOMEM);
	if (*(uint64_t **)node != key) {
		free(key);
		return 0;
	}
	return 1;
}

/* Sets up @s's chain for its item; the chain's user word is @idx. */
static void prep(struct slot *s, unsigned int idx)
{
	struct listing *l = &s->ls;
	struct syslet_atom *a = l->at;
	unsigned int i;

	if (!s->is_listing) {
		syslet_prep_syscall(&s->st, SYS_statx, (uint64_t)AT_FDCWD,
				    SYSLET_U64(s->path), AT_SYMLINK_NOFOLLOW,
				    STATX_TYPE | STATX_SIZE | STATX_INO |
				    STATX_NLINK, SYSLET_U64(&s->stx), 0);
		syslet_op_set_data(&s->st, idx);
		return;
	}
	l->cwd = (uint64_t)AT_FDCWD;
	l->path = SYSLET_U64(s->path);
	l->oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	l->buf[0] = SYSLET_U64(s->dents);
	l->buf[1] = SYSLET_U64(s->dents + DENTS_BYTES);
	l->len = DENTS_BYTES;

	syslet_atom_init(&a[0], SYS_openat, SYSLET_STOP_ON_NEGATIVE);
	syslet_atom_arg(&a[0], 0, &l->cwd);
	syslet_atom_arg(&a[0], 1, &l->path);
	syslet_atom_arg(&a[0], 2, &l->oflags);
	syslet_atom_ret(&a[0], &l->fd);
	syslet_atom_link(&a[0], &a[1]);
	for (i = 0; i < 2; i++) {
		struct syslet_atom *g = &a[1 + 2 * i], *c = g + 1;

		syslet_atom_init(g, SYS_getdents64, SYSLET_STOP_ON_NON_POSITIVE |
				 SYSLET_SKIP_TO_NEXT_ON_STOP);
		syslet_atom_arg(g, 0, &l->fd);		/* fd by pointer */
		syslet_atom_arg(g, 1, &l->buf[i]);
		syslet_atom_arg(g, 2, &l->len);
		syslet_atom_ret(g, &l->got[i]);
		syslet_atom_init(c, SYS_close, 0);	/* the stop branch */
		syslet_atom_arg(c, 0, &l->fd);
		syslet_atom_ret(c, &l->closed);
	}
	syslet_atom_link(&a[1], &a[3]);	/* buf0 got entries: read more */
	syslet_atom_set_data(&a[0], idx);
	syslet_atom_set_data(&a[1], idx);	/* head of a resubmission */
}

static void submit(struct syslet_ctx *ctx, const struct syslet_atom *head)
{
	int ret;

	while ((ret = syslet_submit(ctx, head)) == -EAGAIN)
		syslet_wait(ctx, 1, NULL);	/* at the chains limit */
	if (ret < 0)
		die("syslet_submit", -ret);
}

/* Queues a stat of every entry of the @len bytes at @buf, in @dir. */
static void parse(const char *dir, const char *buf, int64_t len)
{
	int64_t off = 0;

	while (off < len) {
		const struct dirent64_k *d = (const void *)(buf + off);
		const char *n = d->d_name;
		char *path;

		off += d->d_reclen;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		if (asprintf(&path, "%s/%s", dir, n) < 0)
			die("asprintf", ENOMEM);
		push(path, 0);
	}
}

/*
 * A chain of slot @s ended with @c.  Returns 1 if the slot is free again,
 * 0 if its chain was resubmitted (a directory with more to read).
 */
static int finish(struct syslet_ctx *ctx, struct slot *s,
		  const struct syslet_completion *c)
{
	struct listing *l = &s->ls;
	int err = 0;

	if (!s->is_listing) {
		if (c->status < 0) {
			fprintf(stderr, "pdu: cannot access '%s': %s\n",
				s->path, strerror((int)-c->status));
			status = 1;
			free(s->path);
			return 1;
		}
		root_ok = 1;
		if (S_ISDIR(s->stx.stx_mode)) {
			total += s->stx.stx_size;
			push(s->path, 1);	/* list it: the path goes along */
			return 1;
		}
		if (s->stx.stx_nlink < 2 || first_time(&s->stx))
			total += s->stx.stx_size;
		free(s->path);
		return 1;
	}

	/* A listing: which atom ran last says which branch was taken. */
	if (c->atom == SYSLET_U64(&l->at[0])) {
		err = (int)-l->fd;			/* openat failed */
	} else {
		if (l->got[0] < 0)
			err = (int)-l->got[0];
		else
			parse(s->path, s->dents, l->got[0]);
		if (c->atom == SYSLET_U64(&l->at[3]) ||
		    c->atom == SYSLET_U64(&l->at[4])) {
			if (l->got[1] < 0)
				err = (int)-l->got[1];
			else
				parse(s->path, s->dents + DENTS_BYTES, l->got[1]);
		}
		if (c->atom == SYSLET_U64(&l->at[3])) {
			/* more to read: again from [1], fd still in its slot */
			submit(ctx, &l->at[1]);
			return 0;
		}
	}
	if (c->status == -ECANCELED)
		err = ECANCELED;
	if (err) {
		fprintf(stderr, "pdu: cannot read directory '%s': %s\n",
			s->path, strerror(err));
		status = 1;
	}
	free(s->path);
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int nslots = 64, nfree, inflight = 0, i, *freeidx;
	struct syslet_completion *comps;
	struct syslet_ctx ctx;
	struct slot *slots;
	char *root;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		nslots = (unsigned int)atoi(optarg);
	}
	if (argc - optind != 1 || !nslots || nslots > 4096)
		goto usage;

	ret = syslet_ctx_init(&ctx, nslots, 0);
	if (ret < 0)
		die("syslet_ctx_init", -ret);
	slots = calloc(nslots, sizeof(*slots));
	freeidx = calloc(nslots, sizeof(*freeidx));
	comps = calloc(nslots, sizeof(*comps));
	if (!slots || !freeidx || !comps)
		die("calloc", ENOMEM);
	for (i = 0; i < nslots; i++)
		freeidx[i] = nslots - 1 - i;
	nfree = nslots;

	root = strdup(argv[optind]);
	if (!root)
		die("strdup", ENOMEM);
	push(root, 0);			/* PATH itself is stat'ed first */

	for (;;) {
		int n;

		/* Start work while there is some and a slot for it. */
		while (ntodo && nfree) {
			unsigned int idx = freeidx[--nfree];
			struct slot *s = &slots[idx];

			s->path = todo[--ntodo].path;
			s->is_listing = todo[ntodo].is_listing;
			if (s->is_listing && !s->dents) {
				s->dents = malloc(2 * DENTS_BYTES);
				if (!s->dents)
					die("malloc", ENOMEM);
			}
			prep(s, idx);
			submit(&ctx, s->is_listing ? &s->ls.at[0] :
			       &s->st.atom);
			inflight++;
		}
		if (!inflight)
			break;
		ret = syslet_wait(&ctx, 1, NULL);
		if (ret < 0 && ret != -EINTR)
			die("syslet_wait", -ret);
		n = syslet_reap(&ctx, comps, nslots);
		if (n < 0)
			die("syslet_reap", -n);
		for (i = 0; i < (unsigned int)n; i++) {
			unsigned int idx = (unsigned int)comps[i].user_data;

			if (finish(&ctx, &slots[idx], &comps[i])) {
				freeidx[nfree++] = idx;
				inflight--;
			}
		}
	}
	if (root_ok)		/* as du: no line for a PATH it cannot stat */
		printf("%llu\t%s\n", total, argv[optind]);

	syslet_ctx_exit(&ctx);
	for (i = 0; i < nslots; i++)
		free(slots[i].dents);
	free(slots);
	free(freeidx);
	free(comps);
	free(todo);
	tdestroy(seen, free);
	return status;
usage:
	fprintf(stderr, "usage: %s [-n CHAINS] PATH\n", argv[0]);
	return 2;
}
