// SPDX-License-Identifier: GPL-2.0
/*
 * unload.c - module unload safety of syslet_daq: rmmod fails while a
 * reader is blocked in the device or while its pages sit in a pipe, the
 * pages stay valid meanwhile, and unload works once they are gone.
 * Each test unloads the module at the end and loads it again.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include "tap.h"
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

TAP_MAIN
