// SPDX-License-Identifier: GPL-2.0
/*
 * fork.c - AIO across fork(): the child starts with a clean slate and can
 * use AIO at once (also while the parent has requests in flight, and when
 * the parent had started its notifier), and the parent's requests are
 * unaffected by the child.
 */
#include "aio-test.h"

static int child_io(int fd)
{
	char buf[16];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct timespec ts = { 10, 0 };
	int p[2];

	/* the shim's books are empty in the child, whatever the parent had */
	if (aiot_shim()) {
		struct aiot_stats st = aiot_stats();

		if (st.in_flight || st.submitted || st.completed)
			return 20;
	}
	aiot_cb(&cb, fd, buf, sizeof(buf), 10);
	if (aio_read(&cb))
		return 10;
	if (aio_suspend(l, 1, &ts))
		return 11;
	if (aio_return(&cb) != 16 || (unsigned char)buf[0] != aiot_pat(10))
		return 12;
	/* a request that really goes asynchronous in the child */
	if (pipe(p))
		return 13;
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	if (aio_read(&cb))
		return 14;
	aiot_msleep(20);
	if (aio_error(&cb) != EINPROGRESS)
		return 15;
	if (write(p[1], "kid", 3) != 3)
		return 16;
	if (aiot_wait(&cb, 10) || aio_return(&cb) != 3)
		return 17;
	return 0;
}

static int run_child(int fd)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child_io(fd));
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

TEST(child_before_any_aio)
{
	int fd = aiot_file(100);

	ASSERT_EQ(run_child(fd), 0);
}

TEST(child_while_parent_in_flight)
{
	char buf[8];
	struct aiocb cb;
	int p[2], fd = aiot_file(100);

	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	ASSERT_EQ(aio_read(&cb), 0);
	ASSERT_EQ(run_child(fd), 0);
	/* the child did not consume or complete the parent's request */
	ASSERT_EQ(aio_error(&cb), EINPROGRESS);
	ASSERT_EQ(write(p[1], "par", 3), 3);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	ASSERT_EQ(aio_return(&cb), 3);
}

/*
 * A request that completed before the fork, which the parent never looked
 * at: the child sees its status and result, as a glibc child sees what
 * its parent's helper thread stored (review 24 AIO probe finding 2: the
 * shim's child said EINPROGRESS for ever, its aio_suspend() loop spun).
 * A pipe read, the process's only request, in a zero-filled aiocb (as
 * most programs have them: SIGEV_SIGNAL, signal 0).
 */
static struct aiocb done_rd;
static char done_buf[8];

static int child_sees_done(void)
{
	if (aio_error(&done_rd) != 0)
		return 30;
	if (aio_return(&done_rd) != 4 || memcmp(done_buf, "data", 4))
		return 31;
	return 0;
}

TEST(child_sees_a_request_done_before_the_fork)
{
	int p[2], st;
	pid_t pid;

	ASSERT_EQ(pipe(p), 0);
	memset(&done_rd, 0, sizeof(done_rd));
	done_rd.aio_fildes = p[0];
	done_rd.aio_buf = done_buf;
	done_rd.aio_nbytes = 4;
	ASSERT_EQ(aio_read(&done_rd), 0);
	aiot_msleep(200);
	ASSERT_EQ(write(p[1], "data", 4), 4);
	/* the read completes now; nothing of the parent's looks at it */
	aiot_msleep(200);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(child_sees_done());
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		tap_diag("child status %#x (30: EINPROGRESS there, 31: the "
			 "wrong result)", st);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_EQ(aiot_wait(&done_rd, 10), 0);
	EXPECT_EQ(aio_return(&done_rd), 4);
}

static volatile sig_atomic_t nsig;

static void on_sig(int s)
{
	(void)s;
	nsig++;
}

TEST(child_after_notifier_started)
{
	char buf[8];
	struct aiocb cb;
	int p[2], fd = aiot_file(100);

	need_shim();	/* glibc's child inherits the parent's queues */
	signal(SIGUSR1, on_sig);
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&cb, p[0], buf, sizeof(buf), 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGUSR1;
	ASSERT_EQ(aio_read(&cb), 0);
	aiot_msleep(20);
	ASSERT_EQ(run_child(fd), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	for (int i = 0; i < 200 && !nsig; i++)
		aiot_msleep(10);
	ASSERT_EQ(nsig, 1);
	ASSERT_EQ(run_child(fd), 0);
}

/*
 * A grandchild forked by one thread while another starts the shim's
 * reaper thread or sets the shim up: its own first requests must not hang
 * on a lock it inherited held.  The -race build widens those moments.
 * Not under ASan: its allocator (GCC 12) is not fork-safe, a grandchild
 * may hang in malloc() whatever the shim does.  Not under glibc either:
 * its AIO has no fork handler, so a grandchild forked while glibc's
 * helper thread holds its request lock hangs in aio_read() (seen: exit
 * 33 in a host run); the test is about the shim.
 */
static volatile int stop_forking;

static int grandchild(void)
{
	char b[2][4];
	struct aiocb cb[2];
	int q[2];

	alarm(10);
	if (pipe(q))
		return 1;
	aiot_cb(&cb[0], q[0], b[0], 1, 0);
	aiot_cb(&cb[1], q[0], b[1], 1, 0);
	/* the second waits behind the first: that needs the reaper */
	if (aio_read(&cb[0]) || aio_read(&cb[1]))
		return 2;
	if (write(q[1], "ab", 2) != 2)
		return 3;
	if (aiot_wait(&cb[1], 5) || aio_return(&cb[1]) != 1)
		return 4;
	return 0;
}

static void *forker(void *arg)
{
	int *bad = arg, st;

	while (!__atomic_load_n(&stop_forking, __ATOMIC_ACQUIRE)) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(grandchild());
		if (pid < 0 || waitpid(pid, &st, 0) != pid ||
		    !WIFEXITED(st) || WEXITSTATUS(st)) {
			if (!(*bad)++)	/* the first one, for the log */
				printf("# grandchild: %s %d\n",
				       pid < 0 ? "fork errno" :
				       WIFEXITED(st) ? "exit" : "signal",
				       pid < 0 ? errno : WIFEXITED(st) ?
				       WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
	return NULL;
}

static int fork_during_reaper_start(void)
{
	char b[2][4];
	struct aiocb cb[2];
	pthread_t t;
	int q[2], bad = 0;

	if (pipe(q) || pthread_create(&t, NULL, forker, &bad))
		return 30;
	aiot_msleep(5);
	aiot_cb(&cb[0], q[0], b[0], 1, 0);
	aiot_cb(&cb[1], q[0], b[1], 1, 0);
	if (aio_read(&cb[0]) || aio_read(&cb[1]))	/* starts the reaper */
		return 31;
	aiot_msleep(5);
	__atomic_store_n(&stop_forking, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (write(q[1], "ab", 2) != 2 || aiot_wait(&cb[1], 10))
		return 32;
	fflush(stdout);
	return bad ? 33 : 0;
}

TEST(fork_while_reaper_starts)
{
	int i, st;

#ifdef __SANITIZE_ADDRESS__
	SKIP("ASan's allocator is not fork-safe (fork.c-race covers this)");
#endif
	if (!aiot_shim())
		SKIP("glibc's AIO is not fork-safe here; the shim's is");
	for (i = 0; i < 8; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(fork_during_reaper_start());
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
}

TEST(many_children)
{
	int fd = aiot_file(100), i;

	for (i = 0; i < 10; i++)
		ASSERT_EQ(run_child(fd), 0);
}

TAP_MAIN
