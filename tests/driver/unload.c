// SPDX-License-Identifier: GPL-2.0
/*
 * unload.c - module unload safety of syslet_daq: rmmod fails while a
 * reader is blocked in the device or while its pages sit in a pipe, the
 * pages stay valid meanwhile, and unload works once they are gone; the
 * same while a syslet chain is blocked in the device after the caller
 * closed the descriptors it is using (only the chain's references and
 * the pages are left).  Each test unloads the module at the end and loads it again.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "tap.h"
#include "sys.h"
#include "daq.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "syslet_daq", O_NONBLOCK);
}

/* Unloads (retrying while in-flight DMA finishes), then loads again. */
static int unload_and_reload(void)
{
	const char *root = getenv("SYSLET_MODROOT");
	char cmd[512];
	int i;

	for (i = 0; i < 100 && unload(); i++)
		usleep(100000);
	if (i == 100) {
		printf("# unload: %s\n", strerror(errno));
		return -1;
	}
	if (access(DAQ_DEV, F_OK) == 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "modprobe -d '%s' syslet_daq",
		 root ? root : "/");
	return system(cmd);
}

static int in_use(int err)
{
	return err == EWOULDBLOCK || err == EBUSY;
}

TEST(unload_with_blocked_reader)
{
	char buf[4096];
	pid_t pid;
	int fd, st;

	ASSERT_EQ(daq_param("latency_us", 1000000), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		fd = open(DAQ_DEV, O_RDONLY);
		_exit(fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf) ?
		      1 : 2);
	}
	usleep(300000);
	ASSERT_EQ(unload(), -1);
	ASSERT_TRUE(in_use(errno));
	ASSERT_EQ(access(DAQ_DEV, F_OK), 0);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(unload_and_reload(), 0);
}

TEST(pages_in_pipe_outlive_unload_attempt)
{
	char *buf = malloc(65536);
	int fd, p[2];

	ASSERT_EQ(daq_param("latency_us", 100), 0);
	fd = open(DAQ_DEV, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, 65536, 0), 65536);
	ASSERT_EQ(close(fd), 0);
	usleep(100000);		/* the DMA is done, only the pipe holds pages */
	ASSERT_EQ(unload(), -1);
	ASSERT_TRUE(in_use(errno));
	ASSERT_EQ(read(p[0], buf, 65536), 65536);
	ASSERT_EQ(daq_check(buf, 0, 65536), 65536);
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(unload_and_reload(), 0);
}

TEST(unload_with_pages_in_flight_then_idle)
{
	int fd, p[2];

	/* pages whose DMA has not finished, in a pipe that is then closed */
	ASSERT_EQ(daq_param("latency_us", 500000), 0);
	fd = open(DAQ_DEV, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(splice(fd, NULL, p[1], NULL, 65536, 0), 65536);
	close(fd);
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(unload(), -1);	/* the engine still holds them */
	ASSERT_TRUE(in_use(errno));
	ASSERT_EQ(unload_and_reload(), 0);
}

/* pread64(dev, buf, len, 0) */
struct rchain {
	struct syslet_atom a;
	int64_t ret;
	uint64_t fd, buf, len, off;
};

/*
 * A syslet chain blocked in the device's read(): the caller closes the
 * device, so the file the chain's pread() holds is what keeps the module;
 * rmmod is refused until the chain is cancelled, then it works.
 */
TEST(unload_with_syslet_read_blocked_then_cancelled)
{
	struct syslet_ring *ring = ring_new(8);
	struct syslet_completion done;
	char buf[4096];
	struct rchain c;
	long long t0;
	int fd;

	REQUIRE_SYSLET();
	ASSERT_EQ(daq_param("latency_us", 3000000), 0);	/* 3 s */
	fd = open(DAQ_DEV, O_RDONLY);
	ASSERT_GE(fd, 0);
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.buf = (uintptr_t)buf;
	c.len = sizeof(buf);
	c.ret = 1;
	atom_init(&c.a, SYSLET_ASYNC, SYS_pread64, &c.ret, &c.fd, &c.buf,
		  &c.len, &c.off);
	c.a.user_data = 0xd1;
	t0 = now_ms();
	ASSERT_EQ(async_exec(&c.a, ring, NULL, 0), SYSLET_QUEUED);
	usleep(500000);			/* asleep in the driver's read */
	ASSERT_EQ(close(fd), 0);
	ASSERT_EQ(unload(), -1);
	ASSERT_TRUE(in_use(errno));
	ASSERT_EQ(access(DAQ_DEV, F_OK), 0);
	ASSERT_FALSE(ring_pop(ring, &done));	/* still blocked */
	ASSERT_EQ(async_cancel(ring, 0xd1, 0), 0);
	ASSERT_TRUE(ring_get(ring, &done));
	printf("# cancelled %lld ms after submission, pread returned %lld\n",
	       now_ms() - t0, (long long)c.ret);
	ASSERT_EQ(done.status, -ECANCELED);
	ASSERT_EQ(c.ret, -ECANCELED);
	EXPECT_LT(now_ms() - t0, 2500);
	ASSERT_EQ(unload_and_reload(), 0);
}

/*
 * A chain splice(dev -> pipe) -> splice(pipe -> file) blocked in the
 * pipe buffer's ->confirm(), after the caller closed the device and the
 * pipe's read end: only the pages (in the pipe and the engine) keep the
 * module, the chain's own reference keeps the read end.
 * rmmod is refused; the chain completes with the data; then unload works.
 */
TEST(unload_with_syslet_splice_chain_blocked_then_completed)
{
	struct syslet_ring *ring = ring_new(8);
	char path[] = "/tmp/daq-unl-XXXXXX";
	struct syslet_completion done;
	uint64_t dev, pw, pr, file, len = 65536, offp, null = 0;
	uint64_t more = SPLICE_F_MORE;
	int64_t r_in = 0, r_out = 0;
	struct syslet_atom a[2];
	char *buf = malloc(len);
	loff_t off_out = 0;
	int fd, p[2], out;
	long long t0;

	REQUIRE_SYSLET();
	ASSERT_TRUE(buf);
	ASSERT_EQ(daq_param("latency_us", 2000000), 0);	/* 2 s */
	fd = open(DAQ_DEV, O_RDONLY);
	ASSERT_GE(fd, 0);
	out = mkstemp(path);
	ASSERT_GE(out, 0);
	unlink(path);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_GE(fcntl(p[1], F_SETPIPE_SZ, (int)len), (int)len);
	dev = fd;
	pw = p[1];
	pr = p[0];
	file = out;
	offp = (uintptr_t)&off_out;
	atom_init(&a[0], SYSLET_ASYNC | SYSLET_STOP_ON_NON_POSITIVE,
		  SYS_splice, &r_in, &dev, &null, &pw, &null);
	a[0].arg_ptr[4] = (uintptr_t)&len;
	a[0].arg_ptr[5] = (uintptr_t)&more;
	atom_init(&a[1], 0, SYS_splice, &r_out, &pr, &null, &file, &offp);
	a[1].arg_ptr[4] = (uintptr_t)&r_in;
	a[0].next = (uintptr_t)&a[1];
	a[0].user_data = 0xd2;
	t0 = now_ms();
	ASSERT_EQ(async_exec(&a[0], ring, NULL, 0), SYSLET_QUEUED);
	usleep(500000);			/* asleep in ->confirm() */
	ASSERT_FALSE(ring_pop(ring, &done));
	ASSERT_EQ(r_in, (int64_t)len);
	ASSERT_EQ(close(fd), 0);
	ASSERT_EQ(close(p[0]), 0);
	/* (closing the write end now would wait for the pipe's mutex, which
	 * the chain's splice holds while it sleeps in ->confirm()) */
	ASSERT_EQ(unload(), -1);
	ASSERT_TRUE(in_use(errno));
	ASSERT_FALSE(ring_pop(ring, &done));	/* still blocked */
	ASSERT_TRUE(ring_get(ring, &done));
	printf("# completed %lld ms after submission\n", now_ms() - t0);
	ASSERT_EQ(done.status, (int64_t)len);
	ASSERT_EQ(done.nr_atoms, 2);
	ASSERT_EQ(r_in, (int64_t)len);
	ASSERT_EQ(pread(out, buf, len, 0), (ssize_t)len);
	ASSERT_EQ(daq_check(buf, 0, len), len);
	EXPECT_GE(now_ms() - t0, 1900);
	close(p[1]);
	close(out);
	ASSERT_EQ(unload_and_reload(), 0);
}

TAP_MAIN
