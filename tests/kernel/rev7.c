// SPDX-License-Identifier: GPL-2.0
/*
 * Review 7 of the kernel engine (a hostile review of d02740f): its
 * reproducers, each a test that failed on the kernel as of that commit.
 * Needs our own null_blk (memory backed: its reads are zeros; 200 ms a
 * read), loaded by main() when there is none.
 *
 * Finding 3: FUTEX_TRYLOCK_PI in the caller is the caller's.
 * Finding 2: a queued chain's I/O goes at its submitter's effective I/O
 * priority (nice and policy when none was set).
 * Findings 1 and 8: a buffered read is read on with its submitter's
 * PKRU wherever it is read on: no thread spins handing it back and forth
 * (needs CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS and a CPU with PKU).
 * Findings 4 and 11: the blocking rest of an io_submit() read, and
 * completions while every thread runs a chain.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include "tap.h"
#include "sys.h"

#ifndef BLKFLSBUF
#define BLKFLSBUF	_IO(0x12, 97)
#endif

#define BLK	4096

/* <linux/ioprio.h> is not a uapi header on every distribution */
#define IOPRIO_CLASS_SHIFT	13
#define IOPRIO_PRIO_CLASS(p)	(((p) >> IOPRIO_CLASS_SHIFT) & 0x7)
#define IOPRIO_PRIO_LEVEL(p)	((p) & 0x7)
#define IOPRIO_PRIO_VALUE(c, l)	(((c) << IOPRIO_CLASS_SHIFT) | (l))
#define IOPRIO_CLASS_NONE	0
#define IOPRIO_CLASS_RT		1
#define IOPRIO_CLASS_BE		2
#define IOPRIO_CLASS_IDLE	3
#define IOPRIO_WHO_PROCESS	1

static int loaded_nullb;

static struct syslet_ring *qr;

static int64_t queue1(uint32_t nr, uint64_t *a0, uint64_t *a1)
{
	struct syslet_completion c;
	struct syslet_atom a;
	int64_t ret = -12345;

	atom_init(&a, SYSLET_ASYNC, nr, &ret, a0, a1, NULL, NULL);
	if (async_exec(&a, qr, NULL, 0) != SYSLET_QUEUED || !ring_get(qr, &c))
		return -99999;
	return ret;
}

static int nullb_cold(int flags)
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

/* ---------------------------------------------------------------------- */
/* Finding 3: FUTEX_TRYLOCK_PI hands off, and takes the lock as the giver  */
/* ---------------------------------------------------------------------- */

/*
 * A default-mode chain of one FUTEX_TRYLOCK_PI of a free lock whose word
 * is on a page not yet read from the device (a private mapping of the
 * slow null_blk: the fault in futex_lock_pi()'s uaddr_faulted path sleeps
 * 200 ms).  syslet_pi_futex_owner() (exec.c) listed FUTEX_LOCK_PI,
 * LOCK_PI2 and WAIT_REQUEUE_PI only, so the atom was dispatched with
 * pass-on-block armed: the caller's user context went to an async thread
 * while the fault slept, the TIDs were exchanged, and the retry in
 * futex_lock_pi_atomic() wrote task_pid_vnr(current), the giver's new
 * TID, into the word.  The program, which got 0, owned a lock whose word
 * named an async thread: its FUTEX_UNLOCK_PI failed with EPERM (glibc's
 * pthread_mutex_unlock() of a PI mutex then returns EPERM), and priority
 * inheritance would boost the wrong task.
 */
TEST(pi_trylock_on_a_cold_page_in_the_caller_is_the_callers)
{
	struct syslet_ring *r = ring_new(4);
	uint64_t uaddr, op = FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, zero = 0;
	struct syslet_completion done;
	struct syslet_atom a;
	_Atomic uint32_t *word;
	int64_t ret = -12345;
	pid_t me = sys_tid();
	uint32_t owner;
	long n, unl;
	char *m;
	int fd;

	REQUIRE_SYSLET();
	fd = nullb_cold(O_RDONLY);
	if (fd < 0)
		SKIP("no null_blk of ours (memory backed, 200 ms)");
	/* an idle async thread: a hand-off is possible */
	sys_set_limits(4, 60000, 0);
	qr = r;
	ASSERT_EQ(queue1(SYS_getpid, NULL, NULL), getpid());
	m = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 8 << 20);
	ASSERT_TRUE(m != MAP_FAILED);
	word = (_Atomic uint32_t *)m;
	uaddr = (uintptr_t)word;
	atom_init(&a, 0, SYS_futex, &ret, &uaddr, &op, &zero, &zero);
	a.arg_ptr[4] = a.arg_ptr[5] = (uintptr_t)&zero;
	memset(&done, 0, sizeof(done));
	n = async_exec(&a, r, &done, 0);
	if (n == SYSLET_QUEUED)
		ASSERT_TRUE(ring_get(r, &done));
	tap_diag("async_exec() %ld (%s), status %lld, ret %lld; word %#x, "
		 "caller's TID %d", n, n == SYSLET_QUEUED ? "handed off" :
		 "in the caller", (long long)done.status, (long long)ret,
		 (unsigned)atomic_load(word), (int)me);
	ASSERT_EQ(done.status, 0);
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(sys_tid(), me);
	unl = syscall(SYS_futex, word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG,
		      0, NULL, NULL, 0);
	if (unl)
		tap_diag("FUTEX_UNLOCK_PI by the caller: %s", strerror(errno));
	owner = atomic_load(word) & FUTEX_TID_MASK;
	EXPECT_EQ(owner, unl ? (uint32_t)me : 0);
	EXPECT_EQ(unl, 0);
	munmap(m, BLK);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *root = getenv("SYSLET_MODROOT");
	char cmd[512];
	int ret;

	/* our own null_blk: memory backed (reads of it are zeros), 200 ms */
	if (access("/dev/nullb0", F_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "modprobe %s%s null_blk "
			 "memory_backed=1 completion_nsec=200000000 irqmode=2 "
			 "2>/dev/null", root ? "-d " : "", root ? root : "");
		if (!system(cmd)) {
			for (int i = 0; i < 50 && access("/dev/nullb0", F_OK); i++)
				usleep(20000);
			loaded_nullb = access("/dev/nullb0", F_OK) == 0;
		}
	}
	ret = tap_main(argc, argv);
	if (loaded_nullb &&
	    system("i=0; until rmmod null_blk 2>/dev/null; do "
		   "i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done"))
		ret = 1;
	return ret;
}
