/* SPDX-License-Identifier: GPL-2.0 */
/* Raw syslet system calls and small helpers for the kernel engine tests. */
#ifndef SYSLET_TESTS_SYS_H
#define SYSLET_TESTS_SYS_H

#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/syslet.h>
#include <linux/time_types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the numbers: <linux/syslet.h>, the one place they are defined */
#define NR_async_exec	SYSLET_NR_ASYNC_EXEC
#define NR_async_wait	SYSLET_NR_ASYNC_WAIT
#define NR_async_cancel	SYSLET_NR_ASYNC_CANCEL
#define NR_async_limits	SYSLET_NR_ASYNC_LIMITS

/*
 * Every argument a call takes is passed (flags 0): syscall() forwards
 * six, and a missing one would be a leftover register value.
 *
 * Built with -m32 (compat32-i386) these are an i386 program's calls
 * (docs/abi.md, "32-bit (i386) callers"): each argument one 32-bit
 * register, so nothing wider than a long goes through syscall()'s
 * "...": async_cancel()'s 64-bit user word is passed as two halves, low
 * first, and async_wait()'s timeout, a struct __kernel_timespec in both
 * ABIs, is copied from the caller's struct timespec.
 */
static inline long async_exec(struct syslet_atom *a, struct syslet_ring *r,
			      struct syslet_completion *done, unsigned int flags)
{
	return syscall(NR_async_exec, a, r, done, flags, 0L, 0L);
}

/* async_wait() with a signal mask and flags (ABI v1: 6 arguments) */
static inline long async_pwait(struct syslet_ring *r, unsigned int min,
			       const struct timespec *ts, const void *mask,
			       size_t masksize, unsigned int flags)
{
#ifdef __i386__
	struct __kernel_timespec kts, *kp = NULL;

	if (ts) {
		kts.tv_sec = ts->tv_sec;
		kts.tv_nsec = ts->tv_nsec;
		kp = &kts;
	}
	return syscall(NR_async_wait, r, min, kp, mask, masksize, flags);
#else
	/* the same layout: passed as it is (a bad pointer stays bad) */
	_Static_assert(sizeof(struct timespec) ==
		       sizeof(struct __kernel_timespec), "timespec");
	return syscall(NR_async_wait, r, min, ts, mask, masksize, flags);
#endif
}

static inline long async_wait(struct syslet_ring *r, unsigned int min,
			      const struct timespec *ts)
{
	return async_pwait(r, min, ts, NULL, 8, 0);
}

static inline long async_cancel(struct syslet_ring *r, uint64_t ud,
				unsigned int flags)
{
#ifdef __i386__
	return syscall(NR_async_cancel, r, (uint32_t)ud, (uint32_t)(ud >> 32),
		       flags, 0L, 0L);
#else
	return syscall(NR_async_cancel, r, (unsigned long)ud, flags, 0L, 0L,
		       0L);
#endif
}

static inline long async_limits_flags(const struct syslet_limits *set,
				      struct syslet_limits *get,
				      unsigned int flags)
{
	return syscall(NR_async_limits, set, get, flags, 0L, 0L, 0L);
}

static inline long async_limits(const struct syslet_limits *set,
				struct syslet_limits *get)
{
	return async_limits_flags(set, get, 0);
}

static inline int syslet_present(void)
{
	return async_limits(NULL, NULL) == 0;
}

/* A ring of n entries at @mem (SYSLET_RING_BYTES(n), 64-byte aligned). */
static inline struct syslet_ring *ring_at(void *mem, unsigned int n)
{
	struct syslet_ring *r = mem;

	memset(r, 0, SYSLET_RING_BYTES(n));
	r->size = sizeof(*r);
	r->nr_entries = n;
	return r;
}

/* A ring of n entries on the heap, 64-byte aligned. */
static inline struct syslet_ring *ring_new(unsigned int n)
{
	return ring_at(aligned_alloc(64, (SYSLET_RING_BYTES(n) + 63) & ~63UL), n);
}

/* Takes one completion if there is one; returns 1 if it did. */
static inline int ring_pop(struct syslet_ring *r, struct syslet_completion *c)
{
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t tail = r->tail;

	if (head == tail)
		return 0;
	*c = SYSLET_RING_ENTRIES(r)[tail & (r->nr_entries - 1)];
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	return 1;
}

/* Waits for and takes one completion (10 s limit); returns 1 on success. */
static inline int ring_get(struct syslet_ring *r, struct syslet_completion *c)
{
	struct timespec ts = { 10, 0 };

	long n;

	if (ring_pop(r, c))
		return 1;
	/* a signal handler that ran meanwhile is not the test's failure */
	do
		n = async_wait(r, 1, &ts);
	while (n < 0 && errno == EINTR);
	if (n < 1)
		return 0;
	return ring_pop(r, c);
}

/*
 * Begins a threadlet (async_exec(NULL, NULL, NULL, SYSLET_EXEC_THREADLET)).
 * A spare that takes the caller's context returns from this system call
 * instruction with SYSLET_QUEUED, on a stack the threadlet has used
 * since: it ends the process with status @code (a constant) right there,
 * before anything is read from the stack.  glibc's syscall() would
 * return through whatever return address the threadlet's own calls left
 * in the same slot: the spare then ran the threadlet's rest as if it
 * were the caller (pobstate.c on 6.12: its end found no threadlet,
 * -EINVAL).
 */
#define tl_begin_or_exit(code) ({					\
	register long r10_ __asm__("r10") = SYSLET_EXEC_THREADLET;	\
	long ret_;							\
									\
	__asm__ volatile("syscall\n\t"					\
			 "cmp $1, %%rax\n\t"				\
			 "jne 1f\n\t"					\
			 "mov $231, %%eax\n\t"	/* exit_group */	\
			 "mov %[c], %%edi\n\t"				\
			 "syscall\n"					\
			 "1:"						\
			 : "=a"(ret_)					\
			 : "0"((long)NR_async_exec), "D"(0L), "S"(0L),	\
			   "d"(0L), "r"(r10_), [c] "i"(code)		\
			 : "rcx", "r11", "memory");			\
	ret_;								\
})

/* One atom: nr with argument pointers, result into *ret. */
static inline void atom_init(struct syslet_atom *a, uint32_t flags, uint32_t nr,
			     int64_t *ret, uint64_t *a0, uint64_t *a1,
			     uint64_t *a2, uint64_t *a3)
{
	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->nr = nr;
	a->ret_ptr = (uintptr_t)ret;
	a->arg_ptr[0] = (uintptr_t)a0;
	a->arg_ptr[1] = (uintptr_t)a1;
	a->arg_ptr[2] = (uintptr_t)a2;
	a->arg_ptr[3] = (uintptr_t)a3;
}

/*
 * Runs chain @a to its end, whichever way async_exec() takes it (done in
 * the call, or queued to ring @r): its completion in *@c.  Returns 0;
 * -99998 if a queued chain's completion did not come; -99999 if
 * async_exec() failed.
 */
static inline int run_chain(struct syslet_atom *a, struct syslet_ring *r,
			    struct syslet_completion *c)
{
	struct syslet_completion comp;
	long n;

	memset(c, 0, sizeof(*c));
	n = async_exec(a, r, c, 0);
	if (n == SYSLET_QUEUED) {
		if (!ring_get(r, &comp))
			return -99998;
		*c = comp;
		return 0;
	}
	return n == SYSLET_DONE ? 0 : -99999;
}

static inline struct syslet_limits limits_now(void)
{
	struct syslet_limits l;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	async_limits(NULL, &l);
	return l;
}

static inline long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * A thread body that sets *@started and then sits 1.5 s in vfork(), a
 * killable sleep that TWA_SIGNAL task work does not end (kbuf.c and
 * aio.c: a read's kick that goes to a thread which cannot run).
 */
static inline void *vfork_hold(void *started)
{
	pid_t pid;

	__atomic_store_n((int *)started, 1, __ATOMIC_RELEASE);
	pid = vfork();
	if (pid == 0) {
		struct timespec ts = { 1, 500 * 1000 * 1000 };

		syscall(SYS_nanosleep, &ts, NULL);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return NULL;
}

static inline long long now_ms(void)
{
	return now_us() / 1000;
}

/* Runs @fn in a child process and returns its wait status (-1: none). */
static inline int in_child(void (*fn)(void), int secs)
{
	pid_t pid = fork();
	int status = -1;

	if (!pid) {
		fn();
		_exit(99);
	}
	alarm(secs);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	alarm(0);
	return status;
}

/* Ends a child with work in flight: exit (0), exec (1) or SIGKILL (2). */
static inline void __attribute__((noreturn)) end_child(int how)
{
	if (how == 1)
		execl("/bin/true", "true", (char *)NULL);
	if (how == 2)
		raise(SIGKILL);
	_exit(0);
}

/*
 * Waits for a child ended by end_child(@how): 0 if it ended so, else its
 * exit code (77: it skipped), or -1; how it ended, if not so, as a "#"
 * line.
 */
static inline int wait_end(pid_t pid, int how)
{
	int st, ret;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (how == 2)
		ret = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
	else
		ret = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (ret)
		printf("# a child to end by %s: %s %d\n",
		       how == 0 ? "exit" : how == 1 ? "exec" : "SIGKILL",
		       WIFEXITED(st) ? "exit status" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return ret;
}

/* --- audit, through its netlink socket, as auditd does it ------------- */

/*
 * An audit netlink socket, bound: its fd; -1 (errno set) if there is no
 * such socket (no CONFIG_AUDIT), -2 if it would not bind.
 */
static inline int audit_open(void)
{
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		close(fd);
		return -2;
	}
	return fd;
}

/* Sends a request and waits for its ack; returns the ack's error. */
static inline int audit_send(int fd, int type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr nh;
		union {
			struct audit_status s;
			struct audit_rule_data rule;
		};
	} req;
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

/*
 * Turns audit on or off; with @pid >= 0 also makes @pid the audit daemon
 * (0: none), to which the records then go.  Returns the ack's error.
 */
static inline int audit_set(int fd, int enabled, int pid)
{
	struct audit_status s;

	memset(&s, 0, sizeof(s));
	s.mask = AUDIT_STATUS_ENABLED | (pid >= 0 ? AUDIT_STATUS_PID : 0);
	s.enabled = enabled;
	s.pid = pid >= 0 ? pid : 0;
	return audit_send(fd, AUDIT_SET, &s, sizeof(s));
}

/* A rule: every exit of system call @nr (i386's under -m32) is audited. */
static inline void audit_rule(struct audit_rule_data *rule, int nr)
{
	memset(rule, 0, sizeof(*rule));
	rule->flags = AUDIT_FILTER_EXIT;
	rule->action = AUDIT_ALWAYS;
	rule->mask[nr / 32] |= 1U << (nr % 32);
}

/* Reads the records that come to the audit daemon's socket for a while. */
struct audit_reader {
	int fd;
	long long until;	/* now_ms() */
	struct nlmsghdr *nh;	/* the next message in buf, if any */
	ssize_t left;
	char buf[8192];
};

static inline void audit_reader_init(struct audit_reader *ar, int fd, int ms)
{
	ar->fd = fd;
	ar->until = now_ms() + ms;
	ar->nh = NULL;
	ar->left = 0;
}

/*
 * The next record, its text NUL-terminated in *@text: returns its type
 * (AUDIT_SYSCALL, AUDIT_SECCOMP, ...), or 0 once the time is up or the
 * socket fails.
 */
static inline int audit_next(struct audit_reader *ar, char **text)
{
	while (!ar->nh || !NLMSG_OK(ar->nh, ar->left)) {
		struct pollfd pfd = { ar->fd, POLLIN, 0 };

		ar->nh = NULL;
		if (now_ms() >= ar->until)
			return 0;
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		ar->left = recv(ar->fd, ar->buf, sizeof(ar->buf) - 1, 0);
		if (ar->left <= 0)
			return 0;
		ar->nh = (struct nlmsghdr *)ar->buf;
	}
	{
		struct nlmsghdr *nh = ar->nh;

		ar->nh = NLMSG_NEXT(ar->nh, ar->left);
		*text = NLMSG_DATA(nh);
		(*text)[nh->nlmsg_len - NLMSG_HDRLEN] = 0;
		return nh->nlmsg_type;
	}
}

/* --- block devices: null_blk with slow completions, loop devices ------ */

/*
 * null_blk with 200 ms timer completions (reads that wait long), loaded
 * by the tests of a file that finds none: main() calls nullb_begin()
 * before the tests (which run in children) and nullb_end() after them.
 */
static inline int *nullb_ours(void)
{
	static int ours;	/* not there at nullb_begin(): ours to load */

	return &ours;
}

static inline void nullb_begin(void)
{
	*nullb_ours() = access("/dev/nullb0", F_OK) != 0;
}

/*
 * /dev/nullb0 opened with @flags, loaded first if absent; or -1.  With
 * @ours, -1 as well for a null_blk that was there at nullb_begin() (its
 * latency is not known).
 */
static inline int nullb_open(int flags, int ours)
{
	const char *root = getenv("SYSLET_MODROOT");
	char cmd[512];

	if (access("/dev/nullb0", F_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "modprobe %s%s null_blk "
			 "completion_nsec=200000000 irqmode=2 2>/dev/null",
			 root ? "-d " : "", root ? root : "");
		if (system(cmd))
			return -1;
		for (int i = 0; i < 50 && access("/dev/nullb0", F_OK); i++)
			usleep(20000);
	} else if (ours && !*nullb_ours()) {
		return -1;
	}
	return open("/dev/nullb0", flags);
}

/*
 * Unloads a null_blk the tests loaded; a read left in flight holds the
 * module until it completes, so a few completion times are given.
 * Returns -1 if it stays.
 */
static inline int nullb_end(void)
{
	if (*nullb_ours() && access("/dev/nullb0", F_OK) == 0 &&
	    system("i=0; until rmmod null_blk 2>/dev/null; do "
		   "i=$((i + 1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done"))
		return -1;
	return 0;
}

/*
 * For a file whose tests need a null_blk of their own (its latency
 * known): loads it with the module parameters @params unless a
 * /dev/nullb0 exists already.  Returns 1 if it loaded one (then
 * nullb_unload() must remove it), else 0.
 */
static inline int nullb_load(const char *params)
{
	const char *root = getenv("SYSLET_MODROOT");
	char cmd[512];

	if (access("/dev/nullb0", F_OK) == 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "modprobe %s%s null_blk %s 2>/dev/null",
		 root ? "-d " : "", root ? root : "", params);
	if (system(cmd))
		return 0;
	for (int i = 0; i < 50 && access("/dev/nullb0", F_OK); i++)
		usleep(20000);
	return access("/dev/nullb0", F_OK) == 0;
}

/*
 * Removes the null_blk nullb_load() loaded; a read left in flight holds
 * the module until it completes, so 10 s are given.  0, or -1 if it stays.
 */
static inline int nullb_unload(void)
{
	return system("i=0; until rmmod null_blk 2>/dev/null; do "
		      "i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done") ?
		-1 : 0;
}

/* Sets up a loop device over the file @img: its name in @dev; 0 or -1. */
static inline int loop_attach(const char *img, char *dev, size_t size)
{
	char cmd[160];
	FILE *p;

	dev[0] = 0;
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(dev, size, p))
		dev[0] = 0;
	pclose(p);
	dev[strcspn(dev, "\n")] = 0;
	return dev[0] ? 0 : -1;
}

/* Takes down loop device @dev (none if ""); 0, or -1 if losetup failed. */
static inline int loop_detach(const char *dev)
{
	char cmd[96];

	if (!dev[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	return system(cmd) ? -1 : 0;
}

#define REQUIRE_SYSLET() do {						\
		if (!syslet_present())					\
			SKIP("no syslet system calls in this kernel");	\
	} while (0)

/* The caller's thread id. */
static inline pid_t sys_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Sets the process's limits (0 leaves one as it is); exits 3 on failure. */
static inline void sys_set_limits(unsigned int threads, unsigned int idle_ms,
				  unsigned int chains)
{
	struct syslet_limits l = { .size = sizeof(l), .max_threads = threads,
				   .idle_msecs = idle_ms, .max_chains = chains };

	if (async_limits(&l, NULL))
		_exit(3);
}

/*
 * The threads of process @pid whose comm starts with @prefix: how many
 * there are, and, unless @first is NULL, the TID of the first one read
 * in *@first (0: none).
 */
static inline int threads_named(pid_t pid, const char *prefix, pid_t *first)
{
	char dir[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (first)
		*first = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char path[400], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')	/* "..": the leader again */
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* gone meanwhile */
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, prefix, strlen(prefix)) && !n++ && first)
			*first = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* Bytes in use in all slab caches (active objects x object size). */
static inline long long slab_bytes(void)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	long long sum = 0, active, total, size;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &total,
			   &size) == 4)
			sum += active * size;
	}
	fclose(f);
	return sum;
}

/* The value of /proc/meminfo's line @key (in kB for most), or -1. */
static inline long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long v = -1;
	size_t n = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = atoll(line + n + 1);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* Waits, up to 10 s, until thread @tid sleeps (state S in /proc). */
static inline int sleeping(pid_t tid)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	char path[64], buf[256], *st;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			st = fgets(buf, sizeof(buf), f);
			fclose(f);
			st = st ? strrchr(buf, ')') : NULL;
			if (st && st[1] == ' ' && st[2] == 'S')
				return 1;
		}
		nanosleep(&ms, NULL);
	}
	return 0;
}

#endif
