// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 3, point 4: async threads are PF_IO_WORKER threads like io-wq's,
 * and must not be mistaken for io-wq workers by the scheduler hooks
 * (io_wq_worker_sleeping/running), which run for every PF_IO_WORKER task
 * that sleeps or wakes.  These tests keep io-wq busy in the same process,
 * through raw io_uring system calls, with work that really sleeps in its
 * workers (openat of a FIFO with no writer, splice from an empty pipe)
 * and reads forced to io-wq with IOSQE_ASYNC, while async threads block
 * and wake many times; everything must complete with the right results,
 * and the kernel must not taint itself (a WARN) or oops.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"

struct uring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int uring_init(struct uring *u, unsigned int entries)
{
	struct io_uring_params p;
	size_t sqsz, cqsz;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	u->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (u->fd < 0)
		return -1;
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sqsz = cqsz = sqsz > cqsz ? sqsz : cqsz;
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  u->fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -1;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -1;
	}
	u->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		return -1;
	u->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned int *)(sq + p.sq_off.array);
	u->cq_head = (unsigned int *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Queues one SQE; returns it for the caller to fill in further. */
static struct io_uring_sqe *uring_sqe(struct uring *u, int op, int fd,
				      uint64_t addr, unsigned int len,
				      uint64_t ud)
{
	unsigned int tail = *u->sq_tail, idx = tail & *u->sq_mask;
	struct io_uring_sqe *sqe = &u->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = addr;
	sqe->len = len;
	sqe->user_data = ud;
	sqe->flags = IOSQE_ASYNC;	/* straight to io-wq */
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return sqe;
}

static int uring_submit(struct uring *u, unsigned int n)
{
	return (int)syscall(__NR_io_uring_enter, u->fd, n, 0, 0, NULL, 0);
}

/* Takes one CQE, waiting up to @ms; returns 1 if it did. */
static int uring_reap(struct uring *u, struct io_uring_cqe *cqe, int ms)
{
	for (int i = 0; i <= ms; i++) {
		unsigned int head = *u->cq_head;

		if (head != __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE)) {
			*cqe = u->cqes[head & *u->cq_mask];
			__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
			return 1;
		}
		usleep(1000);
	}
	return 0;
}

static int count_comm(const char *prefix)
{
	return threads_named(getpid(), prefix, NULL);
}

static long tainted(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	long t = -1;

	if (f) {
		if (fscanf(f, "%ld", &t) != 1)
			t = -1;
		fclose(f);
	}
	return t;
}

static int wait_count(const char *prefix, int want, int ms)
{
	int n = 0;

	for (int i = 0; i <= ms / 10; i++) {
		n = count_comm(prefix);
		if (n >= want)
			break;
		usleep(10000);
	}
	return n;
}

enum { NFIFO = 3, NSPLICE = 3, NREAD = 4, NPING = 6, NSLEEPER = 6,
       NSLEEPS = 40 };

/* io_uring work that sleeps in io-wq, and reads punted to io-wq */
struct io_side {
	struct uring u;
	char fifo[NFIFO][64];
	int spl_in[NSPLICE][2], spl_out[NSPLICE][2], rd[NREAD][2];
	char buf[NREAD][8];
};

static int io_side_start(struct io_side *s)
{
	int n = 0;

	if (uring_init(&s->u, 32))
		return -1;
	for (int i = 0; i < NFIFO; i++) {
		snprintf(s->fifo[i], sizeof(s->fifo[i]), "/tmp/syslet-iowq-%d-%d",
			 (int)getpid(), i);
		unlink(s->fifo[i]);
		if (mkfifo(s->fifo[i], 0600))
			return -1;
		/* blocks in fifo_open() until a writer comes */
		uring_sqe(&s->u, IORING_OP_OPENAT, AT_FDCWD,
			  (uintptr_t)s->fifo[i], 0, 100 + i)->open_flags = O_RDONLY;
		n++;
	}
	for (int i = 0; i < NSPLICE; i++) {
		struct io_uring_sqe *sqe;

		if (pipe(s->spl_in[i]) || pipe(s->spl_out[i]))
			return -1;
		/* blocks in splice until the input pipe has data */
		sqe = uring_sqe(&s->u, IORING_OP_SPLICE, s->spl_out[i][1], 0, 4,
				200 + i);
		sqe->splice_fd_in = s->spl_in[i][0];
		sqe->splice_off_in = (uint64_t)-1;
		sqe->off = (uint64_t)-1;
		n++;
	}
	for (int i = 0; i < NREAD; i++) {
		if (pipe(s->rd[i]))
			return -1;
		uring_sqe(&s->u, IORING_OP_READ, s->rd[i][0],
			  (uintptr_t)s->buf[i], 4, 300 + i);
		n++;
	}
	return uring_submit(&s->u, n) == n ? 0 : -1;
}

/* Ends every io_uring request; checks their results.  Returns 0 if right. */
static int io_side_finish(struct io_side *s)
{
	int fds[NFIFO], got = 0, bad = 0;
	struct io_uring_cqe cqe;
	char out[8];

	for (int i = 0; i < NFIFO; i++) {
		/*
		 * Its io-wq worker exists, but on a loaded machine may not
		 * have reached fifo_open() yet: ENXIO until it has (5 s).
		 */
		for (int t = 0; t < 500; t++) {
			fds[i] = open(s->fifo[i], O_WRONLY | O_NONBLOCK);
			if (fds[i] >= 0 || errno != ENXIO)
				break;
			usleep(10000);
		}
		if (fds[i] < 0)
			bad |= 1;	/* ENXIO: no reader was waiting */
	}
	for (int i = 0; i < NSPLICE; i++)
		if (write(s->spl_in[i][1], "spl!", 4) != 4)
			bad |= 2;
	for (int i = 0; i < NREAD; i++)
		if (write(s->rd[i][1], "rd!!", 4) != 4)
			bad |= 2;
	while (got < NFIFO + NSPLICE + NREAD && uring_reap(&s->u, &cqe, 10000)) {
		got++;
		if (cqe.user_data >= 100 && cqe.user_data < 100 + NFIFO) {
			if (cqe.res < 0)
				bad |= 4;
			else
				close(cqe.res);
		} else if (cqe.user_data >= 200 && cqe.user_data < 200 + NSPLICE) {
			int i = (int)cqe.user_data - 200;

			if (cqe.res != 4 || read(s->spl_out[i][0], out, 4) != 4 ||
			    memcmp(out, "spl!", 4))
				bad |= 8;
		} else if (cqe.user_data >= 300 && cqe.user_data < 300 + NREAD) {
			int i = (int)cqe.user_data - 300;

			if (cqe.res != 4 || memcmp(s->buf[i], "rd!!", 4))
				bad |= 16;
		} else {
			bad |= 32;
		}
	}
	for (int i = 0; i < NFIFO; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		unlink(s->fifo[i]);
	}
	if (got != NFIFO + NSPLICE + NREAD)
		bad |= 64;
	if (bad)
		printf("# io_uring side: %d of %d completed, bad %#x\n", got,
		       NFIFO + NSPLICE + NREAD, bad);
	return bad;
}

/* a chain that blocks and wakes twice: read, write back, read, write back */
struct ping {
	int in[2], out[2];
	struct syslet_atom a[4];
	int64_t ret[4];
	uint64_t rfd, wfd, buf0, buf1, one;
	char c[2];
};

static void ping_start(struct ping *p, struct syslet_ring *r, uint64_t ud)
{
	if (pipe(p->in) || pipe(p->out))
		_exit(1);
	p->rfd = p->in[0];
	p->wfd = p->out[1];
	p->buf0 = (uintptr_t)&p->c[0];
	p->buf1 = (uintptr_t)&p->c[1];
	p->one = 1;
	atom_init(&p->a[0], SYSLET_ASYNC | SYSLET_STOP_ON_NON_POSITIVE, SYS_read,
		  &p->ret[0], &p->rfd, &p->buf0, &p->one, NULL);
	atom_init(&p->a[1], SYSLET_STOP_ON_NON_POSITIVE, SYS_write, &p->ret[1],
		  &p->wfd, &p->buf0, &p->one, NULL);
	atom_init(&p->a[2], SYSLET_STOP_ON_NON_POSITIVE, SYS_read, &p->ret[2],
		  &p->rfd, &p->buf1, &p->one, NULL);
	atom_init(&p->a[3], 0, SYS_write, &p->ret[3], &p->wfd, &p->buf1,
		  &p->one, NULL);
	for (int i = 0; i < 3; i++)
		p->a[i].next = (uintptr_t)&p->a[i + 1];
	p->a[0].user_data = ud;
	if (async_exec(&p->a[0], r, NULL, 0) != SYSLET_QUEUED)
		_exit(1);
}

/* writes @c into the chain and reads it back through the chain (10 s) */
static int ping_once(struct ping *p, char c)
{
	struct pollfd pfd = { .fd = p->out[0], .events = POLLIN };
	char back = 0;

	if (write(p->in[1], &c, 1) != 1 || poll(&pfd, 1, 10000) != 1 ||
	    read(p->out[0], &back, 1) != 1)
		return 0;
	return back == c;
}

/* chains of many short sleeps: async threads sleeping and waking a lot */
struct sleeper {
	struct syslet_atom a[NSLEEPS];
	struct timespec ts;
	uint64_t tsp;
};

static void sleeper_start(struct sleeper *s, struct syslet_ring *r, uint64_t ud)
{
	s->ts.tv_sec = 0;
	s->ts.tv_nsec = 2 * 1000 * 1000;
	s->tsp = (uintptr_t)&s->ts;
	for (int i = 0; i < NSLEEPS; i++) {
		atom_init(&s->a[i], i ? 0 : SYSLET_ASYNC, SYS_nanosleep, NULL,
			  &s->tsp, NULL, NULL, NULL);
		s->a[i].next = i + 1 < NSLEEPS ? (uintptr_t)&s->a[i + 1] : 0;
	}
	s->a[0].user_data = ud;
	if (async_exec(&s->a[0], r, NULL, 0) != SYSLET_QUEUED)
		_exit(1);
}

TEST(io_wq_and_async_threads_block_and_wake_together)
{
	static struct io_side io;
	static struct ping pg[NPING];
	static struct sleeper sl[NSLEEPER];
	struct syslet_ring *r = ring_new(32);
	struct syslet_completion comp;
	long taint0 = tainted();
	unsigned char seen[100 + NSLEEPER] = { 0 };

	REQUIRE_SYSLET();
	if (io_side_start(&io)) {
		if (errno == ENOSYS)
			SKIP("no io_uring");
		ASSERT_EQ(errno, 0);
	}
	/* the openat and splice requests sleep in io-wq workers */
	ASSERT_GE(wait_count("iou-wrk-", NFIFO + NSPLICE, 5000), NFIFO + NSPLICE);

	for (int i = 0; i < NPING; i++)
		ping_start(&pg[i], r, i);
	for (int i = 0; i < NSLEEPER; i++)
		sleeper_start(&sl[i], r, 100 + i);
	ASSERT_EQ(wait_count("syslet-", NPING + NSLEEPER, 5000),
		  NPING + NSLEEPER);
	/* the engine counts its threads only, not io-wq's */
	ASSERT_EQ(limits_now().nr_threads, (unsigned int)count_comm("syslet-"));
	ASSERT_LE(limits_now().nr_threads, NPING + NSLEEPER);

	/* async threads wake and sleep again, io-wq workers still asleep */
	for (int i = 0; i < NPING; i++)
		ASSERT_TRUE(ping_once(&pg[i], 'a' + i));
	ASSERT_GE(count_comm("iou-wrk-"), NFIFO + NSPLICE);
	/* now io-wq's workers wake while async threads are asleep */
	ASSERT_EQ(io_side_finish(&io), 0);
	for (int i = 0; i < NPING; i++)
		ASSERT_TRUE(ping_once(&pg[i], 'A' + i));

	for (int k = 0; k < NPING + NSLEEPER; k++) {
		ASSERT_TRUE(ring_get(r, &comp));
		if (comp.user_data < NPING) {
			struct ping *p = &pg[comp.user_data];

			ASSERT_EQ(comp.status, 1);
			ASSERT_EQ(comp.nr_atoms, 4);
			ASSERT_EQ(p->c[0], 'a' + (int)comp.user_data);
			ASSERT_EQ(p->c[1], 'A' + (int)comp.user_data);
		} else {
			ASSERT_LT(comp.user_data, 100 + NSLEEPER);
			ASSERT_EQ(comp.status, 0);
			ASSERT_EQ(comp.nr_atoms, NSLEEPS);
		}
		ASSERT_EQ(seen[comp.user_data], 0);	/* once each */
		seen[comp.user_data] = 1;
	}
	ASSERT_EQ(limits_now().nr_chains, 0);
	ASSERT_EQ(tainted(), taint0);		/* no WARN on the way */
}

/* A process ends with io-wq workers and async threads all asleep. */
TEST(exit_with_io_wq_and_async_threads_asleep)
{
	int ready[2], st = 0;
	struct pollfd pfd;
	pid_t w = 0;
	long long t0;
	long taint0 = tainted();
	pid_t pid;
	char c;

	REQUIRE_SYSLET();
	ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static struct io_side io;
		static struct ping pg[NPING];
		struct syslet_ring *r = ring_new(32);

		if (io_side_start(&io))
			_exit(errno == ENOSYS ? 77 : 1);
		for (int i = 0; i < NPING; i++)
			ping_start(&pg[i], r, i);
		if (wait_count("iou-wrk-", NFIFO + NSPLICE, 5000) < NFIFO + NSPLICE ||
		    wait_count("syslet-", NPING, 5000) < NPING)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (int i = 0; i < NFIFO; i++)
			unlink(io.fifo[i]);
		_exit(0);	/* everything still asleep */
	}
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 15000) != 1 || read(ready[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			SKIP("no io_uring");
		tap_diag("child status %#x", st);
		ASSERT_TRUE(0);
	}
	t0 = now_ms();
	for (int i = 0; i < 1000 && !(w = waitpid(pid, &st, WNOHANG)); i++)
		usleep(10000);
	ASSERT_EQ(w, pid);
	ASSERT_LT(now_ms() - t0, 10000);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_EQ(tainted(), taint0);
}

TAP_MAIN
