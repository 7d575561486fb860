// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15 item 3: after the group leader hands its user context off,
 * another task carries the TGID as its TID.  A process-shared robust
 * mutex locked under that TID is marked owner-dead when the process is
 * killed; /proc/<tgid>/stat keeps the process's start time; setpgid() by
 * the TGID works.  Issue 16: the process is named by its TGID, not by the
 * leader's TID of the moment, in setsid(), in wait() for a stop or a
 * continue and in the SIGCHLD that reports them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "tap.h"
#include "sys.h"

struct blocker {
	int fds[2];
	int64_t ret;
	uint64_t fd, buf, len;
	char c;
	struct syslet_atom a;
	pthread_t writer;
};

static void *write_later(void *arg)
{
	struct blocker *b = arg;

	usleep(200 * 1000);
	if (write(b->fds[1], "z", 1) != 1)
		_exit(3);
	return NULL;
}

/*
 * The leader (current) submits a read that blocks, in the default mode:
 * its user context goes on in an async thread, which now carries the
 * TGID.  Returns what async_exec() returned (SYSLET_QUEUED: handed off).
 */
static long leader_hands_off(struct syslet_ring *r)
{
	static struct blocker b;
	struct syslet_completion comp;
	long how;

	if (pipe(b.fds))
		_exit(2);
	b.fd = b.fds[0];
	b.buf = (uintptr_t)&b.c;
	b.len = 1;
	atom_init(&b.a, 0, SYS_read, &b.ret, &b.fd, &b.buf, &b.len, NULL);
	if (pthread_create(&b.writer, NULL, write_later, &b))
		_exit(2);
	how = async_exec(&b.a, r, NULL, 0);
	pthread_join(b.writer, NULL);
	if (how == SYSLET_QUEUED && !ring_get(r, &comp))
		_exit(4);
	return how;
}

/* field 22 of /proc/<pid>/stat: the start time, in clock ticks */
static unsigned long long start_time(pid_t pid)
{
	unsigned long long t = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	p = strrchr(buf, ')');
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

struct shared {
	pthread_mutex_t m;
	volatile int locked;
};

TEST(robust_mutex_locked_under_the_tgid_is_owner_dead_on_kill)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;
	struct timespec ts;
	pid_t pid;
	int ret;

	REQUIRE_SYSLET();
	ASSERT_TRUE(sh != MAP_FAILED);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	ASSERT_EQ(pthread_mutex_init(&sh->m, &ma), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct syslet_ring *r = ring_new(4);

		if (leader_hands_off(r) != SYSLET_QUEUED)
			_exit(5);
		/* we carry the TGID, and lock under it */
		if (syscall(SYS_gettid) != getpid())
			_exit(6);
		if (pthread_mutex_lock(&sh->m))
			_exit(7);
		sh->locked = 1;
		for (;;)
			pause();
	}
	while (!sh->locked) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			ASSERT_EQ(st, 0);	/* the child gave up */
		usleep(10000);
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	ret = pthread_mutex_timedlock(&sh->m, &ts);
	EXPECT_EQ(ret, EOWNERDEAD);
	if (ret == EOWNERDEAD)
		pthread_mutex_consistent(&sh->m);
}

TEST(proc_tgid_stat_keeps_the_start_time)
{
	struct syslet_ring *r = ring_new(4);
	unsigned long long t0, t1;

	REQUIRE_SYSLET();
	/* the async thread is made well after the process: ticks differ */
	usleep(100 * 1000);
	t0 = start_time(getpid());
	ASSERT_NE(t0, 0);
	ASSERT_EQ(leader_hands_off(r), SYSLET_QUEUED);
	ASSERT_EQ(syscall(SYS_gettid), getpid());
	t1 = start_time(getpid());
	EXPECT_EQ(t1, t0);
}

TEST(setpgid_by_tgid_after_the_leader_handed_off)
{
	struct syslet_ring *r = ring_new(4);

	REQUIRE_SYSLET();
	ASSERT_EQ(leader_hands_off(r), SYSLET_QUEUED);
	ASSERT_EQ(syscall(SYS_gettid), getpid());
	EXPECT_EQ(setpgid(getpid(), getpid()), 0);
	EXPECT_EQ(getpgrp(), getpid());
	/* 0 names the process, by the TGID, whatever the leader's TID */
	EXPECT_EQ(setpgid(0, 0), 0);
	EXPECT_EQ(getpgrp(), getpid());
	EXPECT_EQ(getpgid(0), getpid());
}

TEST(setsid_names_the_session_by_the_tgid_after_a_handoff)
{
	pid_t pid;
	int st;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct syslet_ring *r = ring_new(4);
		pid_t sid;

		if (leader_hands_off(r) != SYSLET_QUEUED)
			_exit(5);
		if (syscall(SYS_gettid) != getpid())
			_exit(6);
		sid = setsid();
		if (sid != getpid())
			_exit(7);
		if (getsid(0) != getpid() || getpgrp() != getpid())
			_exit(8);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	/* 7: setsid() returned the leader's TID; 8: the ids are not the TGID */
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

static atomic_int chld_pid;
static atomic_int chld_code;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code == CLD_STOPPED || si->si_code == CLD_CONTINUED) {
		atomic_store(&chld_pid, si->si_pid);
		atomic_store(&chld_code, si->si_code);
	}
}

/* waits up to 5 s for a SIGCHLD with @code */
static int chld_wait(int code)
{
	for (int i = 0; i < 500; i++) {
		if (atomic_load(&chld_code) == code)
			return atomic_load(&chld_pid);
		usleep(10000);
	}
	return -1;
}

TEST(stop_and_continue_report_the_tgid_after_a_handoff)
{
	struct sigaction sa = { .sa_sigaction = on_chld,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	int sync[2], st;
	siginfo_t si;
	pid_t pid;
	char c;

	REQUIRE_SYSLET();
	ASSERT_EQ(sigaction(SIGCHLD, &sa, NULL), 0);
	ASSERT_EQ(pipe(sync), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct syslet_ring *r = ring_new(4);

		if (leader_hands_off(r) != SYSLET_QUEUED)
			_exit(5);
		if (syscall(SYS_gettid) != getpid())
			_exit(6);
		if (write(sync[1], "r", 1) != 1)
			_exit(7);
		for (;;)
			pause();
	}
	ASSERT_EQ(read(sync[0], &c, 1), 1);

	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	ASSERT_EQ(waitpid(pid, &st, WUNTRACED), pid);
	ASSERT_TRUE(WIFSTOPPED(st));
	EXPECT_EQ(chld_wait(CLD_STOPPED), pid);

	atomic_store(&chld_code, 0);
	ASSERT_EQ(kill(pid, SIGCONT), 0);
	memset(&si, 0, sizeof(si));
	ASSERT_EQ(waitid(P_PID, pid, &si, WCONTINUED), 0);
	EXPECT_EQ(si.si_pid, pid);
	EXPECT_EQ(si.si_code, CLD_CONTINUED);
	EXPECT_EQ(chld_wait(CLD_CONTINUED), pid);

	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
}

TAP_MAIN
