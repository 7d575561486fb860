/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The slow device of the review tests (rev7.c .. rev10.c): a null_blk of
 * their own, memory backed (its reads are zeros), 200 ms a read, loaded
 * by main() (NULLB_MAIN()) when there is none and removed after.  A test
 * opens it cold (nullb_cold(): its page cache dropped), and submits its
 * io_submit() reads with nullb_submit_pread().  Include after "tap.h" and
 * "sys.h".
 */
#ifndef SYSLET_TESTS_NULLB_H
#define SYSLET_TESTS_NULLB_H

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

#define BLK		4096
#define NULLB_PARAMS	"memory_backed=1 completion_nsec=200000000 irqmode=2"
#define NULLB_NONE	"no null_blk of ours (memory backed, 200 ms)"

/* 1 if main() loaded /dev/nullb0 (ours: memory backed, 200 ms) */
static int loaded_nullb;

/* /dev/nullb0 opened with @flags and its page cache dropped; -1 if none */
static inline int nullb_cold(int flags)
{
	int fd;

	if (!loaded_nullb)
		return -1;
	fd = open("/dev/nullb0", flags);
	if (fd >= 0 && ioctl(fd, BLKFLSBUF, 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* nullb_cold(@flags), or the test skips */
#define NULLB_COLD_OR_SKIP(flags) ({				\
	int __fd = nullb_cold(flags);				\
	if (__fd < 0)						\
		SKIP(NULLB_NONE);				\
	__fd;							\
})

/*
 * A shared writable mapping of the block at @off_mib MiB of the device,
 * through a descriptor of its own (*@mfd); or the test fails.
 */
#define NULLB_MAP(mfd, off_mib) ({					\
	char *__map;							\
	*(mfd) = open("/dev/nullb0", O_RDWR);				\
	ASSERT_GE(*(mfd), 0);						\
	__map = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_SHARED,	\
		     *(mfd), (off_t)(off_mib) << 20);			\
	ASSERT_TRUE(__map != MAP_FAILED);				\
	__map;								\
})

/*
 * io_submit() of one IOCB_CMD_PREAD of a block at @off_mib MiB of @fd
 * into @buf, with IOCB_FLAG_RESFD @efd unless @efd is negative.
 * io_submit()'s return value.
 */
static inline int nullb_submit_pread(aio_context_t actx, int fd, void *buf,
				     int off_mib, int efd)
{
	struct iocb cb, *cbp = &cb;

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = BLK;
	cb.aio_offset = (long long)off_mib << 20;
	if (efd >= 0) {
		cb.aio_flags = IOCB_FLAG_RESFD;
		cb.aio_resfd = efd;
	}
	return (int)syscall(SYS_io_submit, actx, 1, &cbp);
}

/* main(): our null_blk for the tests, and away after them */
#define NULLB_MAIN()						\
int main(int argc, char **argv)					\
{								\
	int ret;						\
								\
	loaded_nullb = nullb_load(NULLB_PARAMS);		\
	ret = tap_main(argc, argv);				\
	if (loaded_nullb && nullb_unload())			\
		ret = 1;					\
	return ret;						\
}

#endif
