// SPDX-License-Identifier: GPL-2.0
/*
 * diff.c - differential test: one program, run against glibc's AIO and
 * against the shim, must observe the same thing (issue 17).
 *
 *	diff record FILE	with glibc's AIO (no shim): run every case,
 *				write what each observed to FILE, print TAP
 *	diff compare FILE	with the shim (preloaded or linked): run every
 *				case, print TAP: ok when the observations
 *				equal glibc's in FILE, else both
 *
 * The cases are a table: aiocbs built the way programs build them
 * (memset() to 0, calloc(), an uninitialised stack aiocb with garbage in
 * the fields that are ignored), each notification (the zero-filled
 * default, i.e. SIGEV_SIGNAL with signal 0; SIGEV_NONE; SIGEV_SIGNAL with
 * signal 0 set explicitly and with a real signal; SIGEV_THREAD), each
 * operation (read, read at end of file, write, aio_fsync both ways, a read
 * of a pipe that waits for data, a bad descriptor, lio_listio with
 * LIO_WAIT and LIO_NOWAIT), plus a few single cases (aio_cancel of a
 * request queued behind another, aio_suspend timing out, a bad aio_reqprio,
 * a negative offset, lio_listio with NOP, NULL and failing entries).
 *
 * Only what does not depend on timing is observed: return values and
 * errno of the calls, aio_error/aio_return sequences once a request is
 * over (read twice each, and after aio_return), the data and the file's
 * contents, and the notifications: how many, with which value, si_code,
 * in which thread.  Where the shim deliberately differs from glibc
 * (docs/aio.md), the case is not in the table.
 */
#include <limits.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "aio-test.h"

#define SIG	(SIGRTMIN + 1)	/* queued: two are two */

enum init { I_MEMSET, I_CALLOC, I_STACK, I_NR };
enum notify { N_DEFAULT, N_NONE, N_SIG0, N_SIGNAL, N_THREAD, N_NR };
enum op {
	OP_READ, OP_READ_EOF, OP_WRITE, OP_FSYNC, OP_FDSYNC, OP_PIPE, OP_BADFD,
	OP_LIO_WAIT, OP_LIO_NOWAIT, OP_NR
};

static const char *const init_name[] = { "memset0", "calloc", "stack" };
static const char *const notify_name[] = {
	"default", "none", "signal0", "signal", "thread"
};
static const char *const op_name[] = {
	"read", "read-eof", "write", "fsync", "fdatasync", "pipe-read",
	"bad-fd", "lio-wait", "lio-nowait"
};

/* --- observations ----------------------------------------------------- */

static char *obs_buf;
static size_t obs_len, obs_cap;

static void obs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void obs(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (obs_len + n + 1 > obs_cap) {
		obs_cap = (obs_len + n + 1) * 2;
		obs_buf = realloc(obs_buf, obs_cap);
		if (!obs_buf)
			abort();
	}
	memcpy(obs_buf + obs_len, line, n);
	obs_len += n;
	obs_buf[obs_len] = 0;
}

/* --- notifications ---------------------------------------------------- */

#define MAX_TAG 8
static volatile sig_atomic_t sig_count[MAX_TAG + 1], sig_badcode;
static int thr_count[MAX_TAG + 1], thr_inmain, thr_masked;
static pthread_t main_thread;
static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sig(int s, siginfo_t *si, void *uc)
{
	int tag = si->si_value.sival_int;

	(void)s;
	(void)uc;
	if (si->si_code != SI_ASYNCIO)
		sig_badcode++;
	if (tag >= 1 && tag <= MAX_TAG)
		sig_count[tag]++;
	else
		sig_count[0]++;
}

static void on_thread(union sigval v)
{
	sigset_t mask;

	pthread_mutex_lock(&thr_lock);
	if (v.sival_int >= 1 && v.sival_int <= MAX_TAG)
		thr_count[v.sival_int]++;
	else
		thr_count[0]++;
	if (pthread_equal(pthread_self(), main_thread))
		thr_inmain++;
	/* glibc runs the function with no signal blocked */
	if (!pthread_sigmask(SIG_BLOCK, NULL, &mask) &&
	    sigismember(&mask, SIGINT))
		thr_masked++;
	pthread_mutex_unlock(&thr_lock);
}

static void make_sigevent(struct sigevent *sev, enum notify n, int tag)
{
	switch (n) {
	case N_DEFAULT:		/* left as the aiocb was made */
		break;
	case N_NONE:
		memset(sev, 0, sizeof(*sev));
		sev->sigev_notify = SIGEV_NONE;
		break;
	case N_SIG0:
		memset(sev, 0, sizeof(*sev));
		sev->sigev_notify = SIGEV_SIGNAL;
		sev->sigev_signo = 0;
		sev->sigev_value.sival_int = tag;
		break;
	case N_SIGNAL:
		memset(sev, 0, sizeof(*sev));
		sev->sigev_notify = SIGEV_SIGNAL;
		sev->sigev_signo = SIG;
		sev->sigev_value.sival_int = tag;
		break;
	case N_THREAD:
		memset(sev, 0, sizeof(*sev));
		sev->sigev_notify = SIGEV_THREAD;
		sev->sigev_notify_function = on_thread;
		sev->sigev_value.sival_int = tag;
		break;
	default:
		break;
	}
}

/* How many notifications style n sends per request. */
static int sends(enum notify n)
{
	return n == N_SIGNAL || n == N_THREAD;
}

static int delivered(void)
{
	int i, n = 0;

	pthread_mutex_lock(&thr_lock);
	for (i = 0; i <= MAX_TAG; i++)
		n += sig_count[i] + thr_count[i];
	pthread_mutex_unlock(&thr_lock);
	return n;
}

/* Wait for 'expect' notifications (up to 5 s), then a little more. */
static void observe_notifications(int expect)
{
	int i;

	for (i = 0; i < 500 && delivered() < expect; i++)
		aiot_msleep(10);
	aiot_msleep(30);
	pthread_mutex_lock(&thr_lock);
	for (i = 0; i <= MAX_TAG; i++) {
		if (sig_count[i])
			obs("signal tag %d count %d", i, (int)sig_count[i]);
		if (thr_count[i])
			obs("thread tag %d count %d", i, thr_count[i]);
	}
	obs("signal bad si_code %d, thread fn in main thread %d, with SIGINT "
	    "blocked %d", (int)sig_badcode, thr_inmain, thr_masked);
	pthread_mutex_unlock(&thr_lock);
}

/* --- aiocbs as programs make them -------------------------------------- */

static struct aiocb *make_cb(enum init how, struct aiocb *stack_cb, int fd,
			     void *buf, size_t n, off_t off)
{
	struct aiocb *cb;

	switch (how) {
	case I_CALLOC:
		cb = calloc(1, sizeof(*cb));
		if (!cb)
			abort();
		break;
	case I_STACK:
		/* what an uninitialised stack aiocb may hold */
		cb = stack_cb;
		memset(cb, 0xa5, sizeof(*cb));
		cb->aio_reqprio = 0;
		memset(&cb->aio_sigevent, 0, sizeof(cb->aio_sigevent));
		cb->aio_sigevent.sigev_notify = SIGEV_NONE;
		break;
	default:
		cb = stack_cb;
		memset(cb, 0, sizeof(*cb));
		break;
	}
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
	return cb;
}

static void drop_cb(enum init how, struct aiocb *cb)
{
	if (how == I_CALLOC)
		free(cb);
}

/* Wait until cb is over (aio_suspend), at most 10 s. */
static int wait_done(struct aiocb *cb)
{
	return aiot_wait(cb, 10);
}

/* The status sequence of a finished request. */
static void observe_status(const char *what, struct aiocb *cb)
{
	ssize_t r1, r2;
	int e1, e2, e3;

	if (wait_done(cb)) {
		obs("%s still in progress", what);
		return;
	}
	e1 = aio_error(cb);
	e2 = aio_error(cb);
	r1 = aio_return(cb);
	e3 = aio_error(cb);
	r2 = aio_return(cb);
	obs("%s error %d %d return %zd then error %d return %zd", what, e1,
	    e2, r1, e3, r2);
}

static void observe_submit(const char *what, int ret)
{
	obs("%s -> %d errno %d", what, ret, ret < 0 ? errno : 0);
}

/* --- the table's cases -------------------------------------------------- */

struct dcase {
	char name[64];
	void (*fn)(const struct dcase *);
	enum init init;
	enum notify notify;
	enum op op;
};

static int pattern_file(void)
{
	return aiot_file(4096);
}

static void check_data(const unsigned char *buf, size_t n, off_t off)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++)
		if (buf[i] != aiot_pat(off + i))
			bad++;
	obs("data %zu bytes, %zu wrong", n, bad);
}

static void check_file(int fd, off_t off, size_t n, int c)
{
	unsigned char buf[512];
	struct stat st;
	size_t i, bad = 0;

	if (pread(fd, buf, n, off) != (ssize_t)n) {
		obs("file: short read back");
		return;
	}
	for (i = 0; i < n; i++)
		if (buf[i] != c)
			bad++;
	fstat(fd, &st);
	obs("file %lld bytes, written range %zu wrong", (long long)st.st_size,
	    bad);
}

static void run_single(const struct dcase *c)
{
	static unsigned char buf[512];
	struct aiocb scb, *cb;
	int fd = pattern_file(), p[2], ret;

	memset(buf, 0, sizeof(buf));
	switch (c->op) {
	case OP_READ:
		cb = make_cb(c->init, &scb, fd, buf, 300, 100);
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		observe_submit("aio_read", aio_read(cb));
		observe_status("read", cb);
		check_data(buf, 300, 100);
		break;
	case OP_READ_EOF:
		cb = make_cb(c->init, &scb, fd, buf, 300, 4000);
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		observe_submit("aio_read", aio_read(cb));
		observe_status("read", cb);
		check_data(buf, 96, 4000);
		break;
	case OP_WRITE:
		memset(buf, 'w', sizeof(buf));
		cb = make_cb(c->init, &scb, fd, buf, 200, 4000);
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		observe_submit("aio_write", aio_write(cb));
		observe_status("write", cb);
		check_file(fd, 4000, 200, 'w');
		break;
	case OP_FSYNC:
	case OP_FDSYNC:
		cb = make_cb(c->init, &scb, fd, NULL, 0, 0);
		if (c->init == I_STACK) {	/* garbage in ignored fields */
			cb->aio_reqprio = 0x5a5a5a5a;
			cb->aio_offset = -77;
			cb->aio_buf = (void *)(uintptr_t)0x5a5a;
			cb->aio_nbytes = 0x5a5a5a5a;
		}
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		observe_submit("aio_fsync",
			       aio_fsync(c->op == OP_FSYNC ? O_SYNC : O_DSYNC,
					 cb));
		observe_status("fsync", cb);
		break;
	case OP_PIPE:
		if (pipe(p))
			abort();
		cb = make_cb(c->init, &scb, p[0], buf, 10, 0);
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		observe_submit("aio_read", aio_read(cb));
		aiot_msleep(20);
		obs("before data: error %d", aio_error(cb));
		ret = write(p[1], "0123456789abc", 13);
		obs("wrote %d", ret);
		observe_status("pipe read", cb);
		obs("got \"%.10s\"", buf);
		break;
	case OP_BADFD:
		cb = make_cb(c->init, &scb, 1000, buf, 10, 0);
		make_sigevent(&cb->aio_sigevent, c->notify, 1);
		ret = aio_read(cb);
		observe_submit("aio_read", ret);
		if (!ret)
			observe_status("read", cb);
		break;
	default:
		abort();
	}
	observe_notifications(sends(c->notify));
	drop_cb(c->init, cb);
	close(fd);
}

/*
 * lio_listio: a read, a write, a LIO_NOP and a NULL entry; each entry's own
 * sigevent and (LIO_NOWAIT) the list's use the case's notification (tags
 * 1, 2 and 5).
 */
static void run_lio(const struct dcase *c)
{
	static unsigned char rbuf[256], wbuf[256];
	struct aiocb s[3], *cb[3], *l[4];
	struct sigevent lsev;
	int fd = pattern_file(), i, ret, expect;
	bool wait = c->op == OP_LIO_WAIT;

	memset(rbuf, 0, sizeof(rbuf));
	memset(wbuf, 'L', sizeof(wbuf));
	cb[0] = make_cb(c->init, &s[0], fd, rbuf, 256, 50);
	cb[0]->aio_lio_opcode = LIO_READ;
	cb[1] = make_cb(c->init, &s[1], fd, wbuf, 256, 5000);
	cb[1]->aio_lio_opcode = LIO_WRITE;
	cb[2] = make_cb(c->init, &s[2], fd, NULL, 0, 0);
	cb[2]->aio_lio_opcode = LIO_NOP;
	for (i = 0; i < 3; i++) {
		make_sigevent(&cb[i]->aio_sigevent, c->notify, i + 1);
		l[i] = cb[i];
	}
	l[3] = NULL;
	memset(&lsev, 0, sizeof(lsev));
	make_sigevent(&lsev, c->notify, 5);
	if (c->notify == N_DEFAULT)
		lsev.sigev_notify = SIGEV_SIGNAL;	/* zero-filled */
	ret = lio_listio(wait ? LIO_WAIT : LIO_NOWAIT, l, 4,
			 wait ? NULL : &lsev);
	observe_submit(wait ? "lio_listio(LIO_WAIT)" : "lio_listio(LIO_NOWAIT)",
		       ret);
	observe_status("lio read", cb[0]);
	observe_status("lio write", cb[1]);
	check_data(rbuf, 256, 50);
	check_file(fd, 5000, 256, 'L');
	/* two entries notify; with LIO_NOWAIT the list too */
	expect = 2 * sends(c->notify) + (!wait && sends(c->notify));
	observe_notifications(expect);
	for (i = 0; i < 3; i++)
		drop_cb(c->init, cb[i]);
	close(fd);
}

/* --- single cases ------------------------------------------------------ */

/* aio_cancel of a read queued behind another on a pipe, then of both. */
static void run_cancel_queued(const struct dcase *c)
{
	char b1[4], b2[4];
	struct aiocb c1, c2;
	int p[2], ret;

	(void)c;
	if (pipe(p))
		abort();
	make_cb(I_MEMSET, &c1, p[0], b1, 4, 0);
	make_cb(I_MEMSET, &c2, p[0], b2, 4, 0);
	make_sigevent(&c2.aio_sigevent, N_SIGNAL, 2);
	observe_submit("aio_read 1", aio_read(&c1));
	observe_submit("aio_read 2", aio_read(&c2));
	aiot_msleep(30);
	obs("aio_cancel 2 -> %d", aio_cancel(p[0], &c2));
	observe_status("cancelled", &c2);
	obs("aio_cancel 2 again -> %d", aio_cancel(p[0], &c2));
	obs("first still %d", aio_error(&c1));
	obs("write %zd", write(p[1], "wxyz", 4));
	observe_status("first", &c1);
	obs("aio_cancel all -> %d", aio_cancel(p[0], NULL));
	ret = aio_cancel(1000, NULL);
	obs("aio_cancel bad fd -> %d errno %d", ret, errno);
	observe_notifications(1);
}

/* aio_suspend on a read that never completes, with a timeout. */
static void run_suspend_timeout(const struct dcase *c)
{
	struct timespec ts = { 0, 50 * 1000000L };
	struct aiocb cb;
	const struct aiocb *l[3];
	char b[4];
	int p[2], r;

	(void)c;
	if (pipe(p))
		abort();
	make_cb(I_MEMSET, &cb, p[0], b, 4, 0);
	observe_submit("aio_read", aio_read(&cb));
	l[0] = NULL;
	l[1] = &cb;
	l[2] = NULL;
	r = aio_suspend(l, 3, &ts);
	obs("aio_suspend -> %d errno %d", r, r ? errno : 0);
	ts.tv_nsec = 0;
	r = aio_suspend(l, 3, &ts);
	obs("aio_suspend(0) -> %d errno %d", r, r ? errno : 0);
	obs("write %zd", write(p[1], "s", 1));
	observe_status("read", &cb);
	r = aio_suspend(l, 3, &ts);
	obs("aio_suspend after -> %d", r);
}

/* Requests refused at once, and what aio_error then says. */
static void run_refused(const struct dcase *c)
{
	char b[8];
	struct aiocb cb;
	int fd = pattern_file();

	(void)c;
	make_cb(I_MEMSET, &cb, fd, b, 8, 0);
	cb.aio_reqprio = -1;
	observe_submit("aio_read reqprio -1", aio_read(&cb));
	obs("then aio_error %d", aio_error(&cb));
	make_cb(I_MEMSET, &cb, fd, b, 8, 0);
	cb.aio_reqprio = AIO_PRIO_DELTA_MAX + 1;
	observe_submit("aio_write reqprio max+1", aio_write(&cb));
	make_cb(I_MEMSET, &cb, fd, b, 8, 0);
	observe_submit("aio_fsync bad op", aio_fsync(12345, &cb));
	make_cb(I_MEMSET, &cb, 1000, b, 8, 0);
	observe_submit("aio_fsync bad fd", aio_fsync(O_SYNC, &cb));
	{
		struct aiocb *l[1] = { &cb };
		int ret = lio_listio(77, l, 1, NULL);

		obs("lio_listio bad mode -> %d errno %d", ret, errno);
	}
	close(fd);
}

/* A read with a negative offset. */
static void run_negative_offset(const struct dcase *c)
{
	char b[8];
	struct aiocb cb;
	int fd = pattern_file(), r;

	(void)c;
	make_cb(I_MEMSET, &cb, fd, b, 8, -8);
	r = aio_read(&cb);
	observe_submit("aio_read offset -8", r);
	if (!r)
		observe_status("read", &cb);
	make_cb(I_MEMSET, &cb, fd, b, 8, -8);
	r = aio_write(&cb);
	observe_submit("aio_write offset -8", r);
	if (!r)
		observe_status("write", &cb);
	close(fd);
}

/* lio_listio(LIO_WAIT) whose entries fail: a bad descriptor. */
static void run_lio_failing(const struct dcase *c)
{
	char b[2][8];
	struct aiocb s[2], *l[2];
	int fd = pattern_file(), r;

	(void)c;
	l[0] = make_cb(I_MEMSET, &s[0], fd, b[0], 8, 0);
	l[0]->aio_lio_opcode = LIO_READ;
	l[1] = make_cb(I_MEMSET, &s[1], 1000, b[1], 8, 0);
	l[1]->aio_lio_opcode = LIO_READ;
	r = lio_listio(LIO_WAIT, l, 2, NULL);
	observe_submit("lio_listio(LIO_WAIT) with a bad fd", r);
	observe_status("good", l[0]);
	observe_status("bad", l[1]);
	close(fd);
}

/* lio_listio(LIO_NOWAIT) with nothing to do: the list event at once. */
static void run_lio_empty(const struct dcase *c)
{
	struct aiocb s, *l[2];
	struct sigevent sev;

	(void)c;
	l[0] = make_cb(I_MEMSET, &s, 0, NULL, 0, 0);
	l[0]->aio_lio_opcode = LIO_NOP;
	l[1] = NULL;
	make_sigevent(&sev, N_SIGNAL, 5);
	observe_submit("lio_listio(LIO_NOWAIT) nothing", lio_listio(LIO_NOWAIT, l, 2, &sev));
	observe_submit("lio_listio(LIO_WAIT) nothing", lio_listio(LIO_WAIT, l, 2, NULL));
	observe_submit("lio_listio(LIO_WAIT) 0 entries", lio_listio(LIO_WAIT, l, 0, NULL));
	observe_notifications(1);
}

/* lio_listio with an entry whose opcode is none of the three. */
static void run_lio_bad_opcode(const struct dcase *c)
{
	char b[2][8];
	struct aiocb s[2], *l[2];
	int fd = pattern_file(), i, r;

	(void)c;
	for (i = 0; i < 2; i++) {
		l[i] = make_cb(I_MEMSET, &s[i], fd, b[i], 8, 0);
		make_sigevent(&l[i]->aio_sigevent, N_SIGNAL, i + 1);
	}
	l[0]->aio_lio_opcode = LIO_READ;
	l[1]->aio_lio_opcode = 99;
	r = lio_listio(LIO_NOWAIT, l, 2, NULL);
	observe_submit("lio_listio(LIO_NOWAIT) opcode 99", r);
	observe_status("good", l[0]);
	observe_status("bad", l[1]);
	for (i = 0; i < 2; i++)
		l[i] = make_cb(I_MEMSET, &s[i], fd, b[i], 8, 0);
	l[0]->aio_lio_opcode = LIO_READ;
	l[1]->aio_lio_opcode = 99;
	r = lio_listio(LIO_WAIT, l, 2, NULL);
	observe_submit("lio_listio(LIO_WAIT) opcode 99", r);
	observe_status("good", l[0]);
	observe_status("bad", l[1]);
	observe_notifications(2);
	close(fd);
}

/*
 * lio_listio with an entry that cannot be queued (aio_reqprio out of
 * range): errno is that entry's error with LIO_NOWAIT, or when nothing
 * was queued; EIO with LIO_WAIT once something was.
 */
static void run_lio_refused(const struct dcase *c)
{
	char b[2][8];
	struct aiocb s[2], *l[2];
	int fd = pattern_file(), i, r;

	(void)c;
	for (int mode = 0; mode < 2; mode++) {
		for (int n = 1; n <= 2; n++) {
			for (i = 0; i < 2; i++) {
				l[i] = make_cb(I_MEMSET, &s[i], fd, b[i], 8, 0);
				l[i]->aio_lio_opcode = LIO_READ;
			}
			l[0]->aio_reqprio = -1;
			r = lio_listio(mode ? LIO_WAIT : LIO_NOWAIT, l, n, NULL);
			obs("lio_listio(%s) bad reqprio, %d entries -> %d errno %d",
			    mode ? "LIO_WAIT" : "LIO_NOWAIT", n, r,
			    r ? errno : 0);
			observe_status("refused", l[0]);
			if (n == 2)
				observe_status("good", l[1]);
		}
		/* a bad opcode too: the aio_reqprio is looked at first */
		l[0] = make_cb(I_MEMSET, &s[0], fd, b[0], 8, 0);
		l[0]->aio_lio_opcode = 99;
		l[0]->aio_reqprio = -1;
		r = lio_listio(mode ? LIO_WAIT : LIO_NOWAIT, l, 1, NULL);
		obs("lio_listio(%s) bad reqprio and opcode -> %d errno %d",
		    mode ? "LIO_WAIT" : "LIO_NOWAIT", r, r ? errno : 0);
		observe_status("refused", l[0]);
	}
	close(fd);
}

/* A successful wait leaves errno as it was. */
static void run_errno_kept(const struct dcase *c)
{
	char b[8];
	struct aiocb cb, *l[1] = { &cb };
	const struct aiocb *cl[1] = { &cb };
	int p[2], r;

	(void)c;
	if (pipe(p))
		abort();
	make_cb(I_MEMSET, &cb, p[0], b, 8, 0);
	cb.aio_lio_opcode = LIO_READ;
	observe_submit("aio_read of an empty pipe", aio_read(&cb));
	if (write(p[1], "abc", 3) != 3)
		abort();
	errno = EDOM;
	r = aio_suspend(cl, 1, NULL);
	obs("aio_suspend -> %d errno %d", r, errno);
	observe_status("read", &cb);
	make_cb(I_MEMSET, &cb, p[0], b, 8, 0);
	cb.aio_lio_opcode = LIO_READ;
	if (write(p[1], "de", 2) != 2)
		abort();
	errno = EDOM;
	r = lio_listio(LIO_WAIT, l, 1, NULL);
	obs("lio_listio(LIO_WAIT) -> %d errno %d", r, errno);
	observe_status("read", &cb);
	close(p[0]);
	close(p[1]);
}

/*
 * aio_suspend with nothing to wait for: at once, or the whole timeout?
 * (3 s: whatever the first AIO call costs on a slow machine, it is less.)
 */
static void run_suspend_nothing(const struct dcase *c)
{
	struct timespec ts = { 3, 0 };
	const struct aiocb *l[2] = { NULL, NULL };
	double t0 = aiot_now();
	int r;

	(void)c;
	r = aio_suspend(l, 2, &ts);
	obs("aio_suspend(NULL, NULL) -> %d errno %d, waited the timeout %s",
	    r, r ? errno : 0, aiot_now() - t0 > 2.5 ? "yes" : "no");
	ts.tv_sec = 0;
	ts.tv_nsec = 100 * 1000000L;
	r = aio_suspend(l, 0, &ts);
	obs("aio_suspend(0 entries) -> %d errno %d", r, r ? errno : 0);
}

/*
 * Writes queued on one range (LTP's aio_error 2-1: 128 at offset 0), and
 * an aio_fsync behind a write: the last write's data in the file and in
 * a read queued after them, every status.  Whether one was still in
 * progress is timing (glibc's helper may keep up with a preempted
 * submitter), not observed here: basic.c asserts it for the shim.
 */
static void run_writes_queued(const struct dcase *c)
{
	/*
	 * 64 KiB each: glibc's helper, doing them one after another, then
	 * stays behind the submitting loop (with 512 bytes it did all 128
	 * before the loop checked, in one run of three)
	 */
	enum { N = 128, SZ = 64 << 10, NBUF = 50, ROUNDS = 5 };
	static struct aiocb cb[N];
	static unsigned char buf[NBUF][SZ], back[SZ];
	struct aiocb fs, rd;
	int fd = aiot_file(0), i, bad = 0;

	for (i = 0; i < N; i++) {
		if (i < NBUF)
			memset(buf[i], 'A' + i, SZ);
		make_cb(c->init, &cb[i], fd, buf[i % NBUF], SZ, 0);
		if (aio_write(&cb[i]))
			bad++;
	}
	make_cb(c->init, &rd, fd, back, SZ, 0);
	if (aio_read(&rd))
		bad++;
	for (i = 0; i < N; i++)
		if (wait_done(&cb[i]) || aio_return(&cb[i]) != SZ)
			bad++;
	if (wait_done(&rd) || aio_return(&rd) != SZ)
		bad++;
	obs("%d writes refused or failed; the read after them saw write %d",
	    bad, back[0] - 'A');
	check_file(fd, SZ - 512, 512, 'A' + (N - 1) % NBUF);
	for (i = 0; i < ROUNDS; i++) {
		make_cb(c->init, &cb[0], fd, buf[0], SZ, 0);
		make_cb(c->init, &fs, fd, NULL, 0, 0);
		if (aio_write(&cb[0]) || aio_fsync(O_SYNC, &fs))
			bad++;
		if (wait_done(&fs) || aio_return(&fs) || wait_done(&cb[0]) ||
		    aio_return(&cb[0]) != SZ)
			bad++;
	}
	obs("%d write/fsync rounds failed", bad);
	close(fd);
}

/*
 * A write to a broken pipe and one past RLIMIT_FSIZE, SIGPIPE and SIGXFSZ
 * at their default actions (which kill): glibc's helper thread blocks
 * every signal, so the program lives and sees EPIPE and EFBIG.  (The
 * shim's kernel backend once passed them on to the submitter.)
 */
static void run_write_signals(const struct dcase *c)
{
	struct rlimit rl = { 4096, 4096 };
	char b[4] = "abc";
	struct aiocb cb;
	sigset_t pend;
	int p[2], fd;

	(void)c;
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	if (pipe(p))
		abort();
	close(p[0]);
	make_cb(I_MEMSET, &cb, p[1], b, 3, 0);
	observe_submit("aio_write to a broken pipe", aio_write(&cb));
	observe_status("write", &cb);
	fd = aiot_file(0);
	if (fd < 0 || setrlimit(RLIMIT_FSIZE, &rl))
		abort();
	make_cb(I_MEMSET, &cb, fd, b, 3, 8192);
	observe_submit("aio_write past RLIMIT_FSIZE", aio_write(&cb));
	observe_status("write", &cb);
	aiot_msleep(100);
	sigemptyset(&pend);
	sigpending(&pend);
	obs("alive; SIGPIPE pending %d, SIGXFSZ pending %d",
	    sigismember(&pend, SIGPIPE), sigismember(&pend, SIGXFSZ));
	close(p[1]);
	close(fd);
}

static struct dcase cases[I_NR * N_NR * OP_NR + 16];
static int ncases;

static void add(const char *name, void (*fn)(const struct dcase *),
		enum init i, enum notify n, enum op o)
{
	struct dcase *c = &cases[ncases++];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fn = fn;
	c->init = i;
	c->notify = n;
	c->op = o;
}

static void build_table(void)
{
	char name[64];
	int i, n, o;

	for (o = 0; o < OP_NR; o++) {
		for (i = 0; i < I_NR; i++) {
			for (n = 0; n < N_NR; n++) {
				/* a stack aiocb's sigevent is garbage:
				 * programs set it */
				if (i == I_STACK && n == N_DEFAULT)
					continue;
				snprintf(name, sizeof(name), "%s/%s/%s",
					 op_name[o], init_name[i],
					 notify_name[n]);
				add(name, o == OP_LIO_WAIT || o == OP_LIO_NOWAIT ?
				    run_lio : run_single, i, n, o);
			}
		}
	}
	add("cancel-queued", run_cancel_queued, 0, 0, 0);
	add("suspend-timeout", run_suspend_timeout, 0, 0, 0);
	add("refused", run_refused, 0, 0, 0);
	add("negative-offset", run_negative_offset, 0, 0, 0);
	add("lio-failing", run_lio_failing, 0, 0, 0);
	add("lio-empty", run_lio_empty, 0, 0, 0);
	add("lio-bad-opcode", run_lio_bad_opcode, 0, 0, 0);
	add("suspend-nothing", run_suspend_nothing, 0, 0, 0);
	add("lio-refused", run_lio_refused, 0, 0, 0);
	add("errno-kept", run_errno_kept, 0, 0, 0);
	add("writes-queued", run_writes_queued, I_MEMSET, 0, 0);
	add("write-signals", run_write_signals, 0, 0, 0);
}

/*
 * Run one case in a child (fresh signal counts, AIO state of its own, a
 * time limit); its observations come back through a pipe.
 */
static char *run_case(const struct dcase *c)
{
	struct sigaction sa;
	char *out = NULL, tmp[4096];
	size_t len = 0;
	ssize_t n;
	int p[2], st;
	pid_t pid;

	if (pipe(p))
		abort();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		alarm(60);
		main_thread = pthread_self();
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sig;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigaction(SIG, &sa, NULL);
		c->fn(c);
		if (obs_buf && write(p[1], obs_buf, obs_len) != (ssize_t)obs_len)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0) {
		out = realloc(out, len + n + 1);
		if (!out)
			abort();
		memcpy(out + len, tmp, n);
		len += n;
		out[len] = 0;
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(tmp, sizeof(tmp), "case died: status %#x\n", st);
		out = realloc(out, len + strlen(tmp) + 1);
		if (!out)
			abort();
		strcpy(out + len, tmp);
	}
	return out ? out : strdup("");
}

/* The block of case 'name' in a recorded file, or NULL. */
static char *recorded(const char *all, const char *name)
{
	char head[128];
	const char *s, *e;
	char *r;

	snprintf(head, sizeof(head), "== %.100s\n", name);
	s = strstr(all, head);
	if (!s)
		return NULL;
	s += strlen(head);
	e = strstr(s, "\n== ");
	e = e ? e + 1 : s + strlen(s);
	r = strndup(s, e - s);
	return r;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0, n;
	char tmp[4096];

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		s = realloc(s, len + n + 1);
		if (!s)
			abort();
		memcpy(s + len, tmp, n);
		len += n;
		s[len] = 0;
	}
	fclose(f);
	return s;
}

static void print_block(const char *who, const char *s)
{
	const char *e;

	while (*s) {
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		printf("#   %s: %.*s\n", who, (int)(e - s), s);
		s = *e ? e + 1 : e;
	}
}

int main(int argc, char **argv)
{
	bool record;
	char *ref = NULL;
	FILE *out = NULL;
	int i, failed = 0;

	if (argc != 3 || (strcmp(argv[1], "record") &&
			  strcmp(argv[1], "compare"))) {
		fprintf(stderr, "usage: %s record|compare FILE\n", argv[0]);
		return 2;
	}
	record = !strcmp(argv[1], "record");
	build_table();
	printf("TAP version 13\n1..%d\n", ncases + 1);
	if (record) {
		if (aiot_shim()) {
			printf("not ok 1 record runs with glibc's AIO, not the shim\n");
			return 1;
		}
		out = fopen(argv[2], "w");
		if (!out) {
			printf("not ok 1 cannot write %s\n", argv[2]);
			return 1;
		}
		printf("ok 1 recording glibc's behaviour in %s\n", argv[2]);
	} else {
		ref = slurp(argv[2]);
		if (!aiot_shim() || !ref) {
			printf("not ok 1 compare runs with the shim, against a recording (%s)\n",
			       argv[2]);
			return 1;
		}
		printf("ok 1 comparing with glibc's behaviour in %s\n", argv[2]);
	}
	for (i = 0; i < ncases; i++) {
		const struct dcase *c = &cases[i];
		char *got = run_case(c), *want;

		if (record) {
			fprintf(out, "== %s\n%s", c->name, got);
			printf("ok %d %s\n", i + 2, c->name);
		} else {
			want = recorded(ref, c->name);
			if (want && !strcmp(want, got)) {
				printf("ok %d %s: as glibc\n", i + 2, c->name);
			} else {
				printf("not ok %d %s: differs from glibc\n",
				       i + 2, c->name);
				print_block("glibc", want ? want : "(not recorded)\n");
				print_block("shim ", got);
				failed++;
			}
			free(want);
		}
		free(got);
		fflush(stdout);
	}
	if (out)
		fclose(out);
	printf("# %s: %d passed, %d failed, 0 skipped\n", argv[0],
	       ncases + 1 - failed, failed);
	return failed ? 1 : 0;
}
