// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 15 item 7: every atom is seen as the system call it is, in every
 * mode: by the raw_syscalls sys_enter/sys_exit tracepoints (read through
 * tracefs), by audit (records read from the audit netlink socket as
 * auditd would), by seccomp's logging, and, for atoms a traced task runs
 * itself, by a PTRACE_SYSCALL tracer.  And the engine's own trace events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include "tap.h"
#include "sys.h"

#define MAGIC_SYNC	0x7171
#define MAGIC_ASYNC	0x7272
#define MAGIC_POB	0x7373

/* getpgid(@magic) as one atom in mode @flags: fails with ESRCH */
static int64_t getpgid_atom(uint64_t magic, uint32_t flags)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion done, comp;
	struct syslet_atom a;
	int64_t ret = -12345;
	long n;

	atom_init(&a, flags, SYS_getpgid, &ret, &magic, NULL, NULL, NULL);
	a.user_data = magic;
	memset(&done, 0, sizeof(done));
	n = async_exec(&a, r, &done, 0);
	if (n == SYSLET_QUEUED) {
		if (!ring_get(r, &comp))
			return -99998;
		done = comp;
	} else if (n != SYSLET_DONE) {
		return -99999;
	}
	free(r);
	return done.status;
}

/* --- tracefs ----------------------------------------------------------- */

static const char *tracefs;

static int tr_write(const char *file, const char *text)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", tracefs, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Reads the trace buffer into a malloc'd string. */
static char *tr_read(void)
{
	char path[256], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", tracefs);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static void tracefs_or_skip(void)
{
	struct stat st;

	tracefs = "/sys/kernel/tracing";
	if (stat("/sys/kernel/tracing/trace", &st) &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) &&
	    (mkdir("/tmp/tracing", 0700), mount("nodev", "/tmp/tracing",
						 "tracefs", 0, NULL) == 0))
		tracefs = "/tmp/tracing";
	if (stat("/sys/kernel/tracing/trace", &st) == 0)
		tracefs = "/sys/kernel/tracing";
	else if (stat("/tmp/tracing/trace", &st))
		SKIP("no tracefs (CONFIG_FTRACE)");
}

static void tracing(int on)
{
	char filter[64];

	snprintf(filter, sizeof(filter), "id == %d", SYS_getpgid);
	tr_write("tracing_on", "0");
	if (on) {
		tr_write("trace", "");
		tr_write("events/raw_syscalls/sys_enter/filter", filter);
		tr_write("events/raw_syscalls/sys_exit/filter", filter);
	}
	tr_write("events/raw_syscalls/sys_enter/enable", on ? "1" : "0");
	tr_write("events/raw_syscalls/sys_exit/enable", on ? "1" : "0");
	tr_write("events/syslet/enable", on ? "1" : "0");
	if (!on) {
		tr_write("events/raw_syscalls/sys_enter/filter", "0");
		tr_write("events/raw_syscalls/sys_exit/filter", "0");
	}
	tr_write("tracing_on", on ? "1" : "0");
}

TEST(raw_syscalls_tracepoints_fire_per_atom)
{
	char want[64], *t;
	int n;

	REQUIRE_SYSLET();
	tracefs_or_skip();
	if (access("/sys/kernel/tracing/events/raw_syscalls", F_OK) &&
	    access("/tmp/tracing/events/raw_syscalls", F_OK))
		SKIP("no raw_syscalls events (CONFIG_TRACING)");
	tracing(1);
	ASSERT_EQ(getpgid_atom(MAGIC_SYNC, SYSLET_SYNC), -ESRCH);
	ASSERT_EQ(getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC), -ESRCH);
	ASSERT_EQ(getpgid_atom(MAGIC_POB, 0), -ESRCH);
	tracing(0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	/* one sys_enter with the atom's number and arguments, one sys_exit */
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_SYNC);
	EXPECT_EQ(count(t, want), 1);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_ASYNC);
	EXPECT_EQ(count(t, want), 1);
	snprintf(want, sizeof(want), "sys_enter: NR %d (%x,", SYS_getpgid,
		 MAGIC_POB);
	EXPECT_EQ(count(t, want), 1);
	snprintf(want, sizeof(want), "sys_exit: NR %d = %d", SYS_getpgid,
		 -ESRCH);
	n = count(t, want);
	EXPECT_EQ(n, 3);
	/* the async one ran in an async thread, named as one */
	EXPECT_TRUE(strstr(t, "syslet-") != NULL);
	if (n != 3)
		tap_diag("trace:\n%s", t);
	free(t);
}

static void *write_later(void *arg)
{
	int fd = *(int *)arg;

	usleep(300 * 1000);
	if (write(fd, "z", 1) != 1)
		_exit(3);
	return NULL;
}

TEST(engine_trace_events)
{
	struct syslet_ring *r = ring_new(4);
	struct syslet_completion comp;
	uint64_t fd, buf, len = 1;
	struct syslet_atom a;
	pthread_t th;
	int64_t ret;
	char c, want[96], *t;
	int p[2];

	REQUIRE_SYSLET();
	tracefs_or_skip();
	tracing(1);
	ASSERT_EQ(getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC), -ESRCH);
	async_cancel(r, 0x5151, 0);	/* nothing to cancel */
	/* a default-mode read that blocks: handed off */
	ASSERT_EQ(pipe(p), 0);
	fd = p[0];
	buf = (uintptr_t)&c;
	atom_init(&a, 0, SYS_read, &ret, &fd, &buf, &len, NULL);
	a.user_data = 0x6161;
	ASSERT_EQ(pthread_create(&th, NULL, write_later, &p[1]), 0);
	EXPECT_EQ(async_exec(&a, r, NULL, 0), SYSLET_QUEUED);
	ASSERT_TRUE(ring_get(r, &comp));
	pthread_join(th, NULL);
	tracing(0);
	t = tr_read();
	ASSERT_TRUE(t != NULL);
	snprintf(want, sizeof(want), "flags 0x%x user_data 0x%x", SYSLET_ASYNC,
		 MAGIC_ASYNC);
	EXPECT_EQ(count(t, "syslet_submit:"), 2);
	EXPECT_EQ(count(t, want), 1);
	snprintf(want, sizeof(want), "syslet_complete: user_data 0x%x status %d atoms 1",
		 MAGIC_ASYNC, -ESRCH);
	EXPECT_EQ(count(t, want), 1);
	EXPECT_EQ(count(t, "syslet_complete: user_data 0x6161 status 1 atoms 1"), 1);
	snprintf(want, sizeof(want), "syslet_handoff: tid %d giver ",
		 (int)syscall(SYS_gettid));
	EXPECT_EQ(count(t, want), 1);
	EXPECT_EQ(count(t, "syslet_cancel: ring"), 1);
	EXPECT_EQ(count(t, "user_data 0x5151 flags 0x0 ret -"), 1);
	free(t);
	free(r);
}

/* --- audit ------------------------------------------------------------- */

struct audit_req {
	struct nlmsghdr nh;
	union {
		struct audit_status s;
		struct audit_rule_data rule;
	};
};

/* Sends a request and waits for its ack; returns the ack's error. */
static int audit_send(int fd, int type, const void *data, size_t len)
{
	struct audit_req req;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	char buf[8192];
	int tries;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(len);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = type;
	memcpy(NLMSG_DATA(&req.nh), data, len);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	for (tries = 0; tries < 100; tries++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n))
			if (nh->nlmsg_type == NLMSG_ERROR &&
			    nh->nlmsg_seq == (unsigned int)type)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
	}
	return -ETIMEDOUT;
}

static void audit_rule(struct audit_rule_data *rule, int nr)
{
	memset(rule, 0, sizeof(*rule));
	rule->flags = AUDIT_FILTER_EXIT;
	rule->action = AUDIT_ALWAYS;
	rule->mask[nr / 32] |= 1U << (nr % 32);
}

static int audit_set(int fd, int enabled, int pid)
{
	struct audit_status s;

	memset(&s, 0, sizeof(s));
	s.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID;
	s.enabled = enabled;
	s.pid = pid;
	return audit_send(fd, AUDIT_SET, &s, sizeof(s));
}

static void audited_child(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { 4, f };
	uint64_t sid = 0x7474;
	struct syslet_atom a;
	int64_t ret;

	if (getpgid_atom(MAGIC_SYNC, SYSLET_SYNC) != -ESRCH ||
	    getpgid_atom(MAGIC_ASYNC, SYSLET_ASYNC) != -ESRCH ||
	    getpgid_atom(MAGIC_POB, 0) != -ESRCH)
		_exit(1);
	/* seccomp RET_LOG is logged for an atom as for a direct call */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(2);
	atom_init(&a, SYSLET_SYNC, SYS_getsid, &ret, &sid, NULL, NULL, NULL);
	if (async_exec(&a, NULL, NULL, 0) != SYSLET_DONE || ret != -ESRCH)
		_exit(3);
	_exit(0);
}

TEST(audit_records_per_atom)
{
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	struct audit_rule_data rule;
	char buf[8192], want[64];
	int fd, status, got[3] = { 0 }, exits = 0, logged = 0, e451 = 0;
	long long t0;
	pid_t pid;

	REQUIRE_SYSLET();
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	if (fd < 0)
		SKIP("no audit netlink socket (CONFIG_AUDIT): %s",
		     strerror(errno));
	ASSERT_EQ(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	ASSERT_EQ(audit_set(fd, 1, getpid()), 0);
	audit_rule(&rule, SYS_getpgid);
	rule.mask[SYS_getsid / 32] |= 1U << (SYS_getsid % 32);
	ASSERT_EQ(audit_send(fd, AUDIT_ADD_RULE, &rule, sizeof(rule)), 0);

	/* audited tasks are those made after audit was enabled */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		audited_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0);

	t0 = now_ms();
	while (now_ms() - t0 < 3000) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		ssize_t n;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			char *text = NLMSG_DATA(nh);
			unsigned int i;

			text[nh->nlmsg_len - NLMSG_HDRLEN] = 0;
			if (nh->nlmsg_type == AUDIT_SECCOMP &&
			    strstr(text, " syscall=124 "))
				logged++;
			if (nh->nlmsg_type != AUDIT_SYSCALL)
				continue;
			if (strstr(text, " syscall=451 "))
				e451++;
			snprintf(want, sizeof(want), " syscall=%d ",
				 SYS_getpgid);
			if (!strstr(text, want))
				continue;
			if (strstr(text, "exit=-3 "))
				exits++;
			for (i = 0; i < 3; i++) {
				snprintf(want, sizeof(want), " a0=%x ",
					 MAGIC_SYNC + 0x101 * i);
				if (strstr(text, want))
					got[i]++;
			}
		}
	}
	audit_send(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
	audit_set(fd, 0, 0);
	close(fd);
	EXPECT_EQ(got[0], 1);	/* SYSLET_SYNC, in the caller */
	EXPECT_EQ(got[1], 1);	/* SYSLET_ASYNC, in an async thread */
	EXPECT_EQ(got[2], 1);	/* default mode, in the caller */
	EXPECT_EQ(exits, 3);
	EXPECT_EQ(e451, 0);	/* async_exec() itself is not in the rule */
	EXPECT_EQ(logged, 1);	/* seccomp RET_LOG */
}

/* --- ptrace ------------------------------------------------------------ */

static void traced_child(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(1);
	raise(SIGSTOP);
	/* the tracer turns the argument into 0: our own process group */
	if (getpgid_atom(MAGIC_SYNC, SYSLET_SYNC) != getpgid(0))
		_exit(2);
	if (getpgid_atom(MAGIC_POB, 0) != getpgid(0))
		_exit(3);
	_exit(0);
}

/*
 * A PTRACE_SYSCALL tracer sees each atom its tracee runs as a system call
 * of its own, nested in async_exec(): entry with the atom's number and
 * arguments, exit with its result; it may change the arguments.
 */
TEST(ptrace_syscall_stops_per_atom)
{
	int status, entries = 0, exits = 0, in451 = 0, nested = 0;
	pid_t pid;

	REQUIRE_SYSLET();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		traced_child();
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)PTRACE_O_TRACESYSGOOD), 0);
	for (;;) {
		struct __ptrace_syscall_info info;
		struct user_regs_struct regs;

		ASSERT_EQ(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		memset(&info, 0, sizeof(info));
		ASSERT_GT(ptrace(PTRACE_GET_SYSCALL_INFO, pid,
				 (void *)sizeof(info), &info), 0);
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			if (info.entry.nr == NR_async_exec)
				in451++;
			if (info.entry.nr == SYS_getpgid &&
			    (info.entry.args[0] == MAGIC_SYNC ||
			     info.entry.args[0] == MAGIC_POB)) {
				entries++;
				nested += in451 == 1;
				ASSERT_EQ(ptrace(PTRACE_GETREGS, pid, NULL,
						 &regs), 0);
				EXPECT_EQ(regs.orig_rax, SYS_getpgid);
				regs.rdi = 0;
				ASSERT_EQ(ptrace(PTRACE_SETREGS, pid, NULL,
						 &regs), 0);
			}
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && in451) {
			ASSERT_EQ(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
			if (regs.orig_rax == SYS_getpgid) {
				exits++;
				EXPECT_EQ((long)regs.rax, getpgid(pid));
			} else if (regs.orig_rax == NR_async_exec) {
				in451--;
			}
		}
	}
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(entries, 2);
	EXPECT_EQ(exits, 2);
	EXPECT_EQ(nested, 2);
	EXPECT_EQ(in451, 0);
}

TAP_MAIN
