// SPDX-License-Identifier: GPL-2.0
/*
 * compat.c - references to the older symbol versions libc.so.6 still
 * exports: aio_*@GLIBC_2.2.5 (programs linked against glibc < 2.34, where
 * the functions lived in librt) and lio_listio@GLIBC_2.2.5 / @GLIBC_2.4.
 * A preloaded shim must capture them too, and the old lio_listio keeps
 * its old meaning: the entries' own notifications are not delivered
 * (glibc's LIO_NO_INDIVIDUAL_EVENT), while lio_listio@GLIBC_2.4 delivers
 * them.  Run against glibc as well (see old_lio_listio_waits for what
 * glibc itself gets wrong there).  Only meaningful dynamically linked: a
 * static link has no symbol versions, so there is no -san run of it.
 */
#include "aio-test.h"

/* the reference binds to exactly this version, wherever it is defined */
int old_aio_read(struct aiocb *cb);
int old_aio_error(const struct aiocb *cb);
ssize_t old_aio_return(struct aiocb *cb);
int old_aio_suspend(const struct aiocb *const list[], int nent,
		    const struct timespec *ts);
int old_aio_cancel(int fd, struct aiocb *cb);
int old_aio_fsync(int op, struct aiocb *cb);
int old_aio_write(struct aiocb *cb);
int old_lio_listio(int mode, struct aiocb *const list[], int nent,
		   struct sigevent *sig);
int lio_listio_2_4(int mode, struct aiocb *const list[], int nent,
		   struct sigevent *sig);
__asm__(".symver old_aio_read, aio_read@GLIBC_2.2.5");
__asm__(".symver old_aio_error, aio_error@GLIBC_2.2.5");
__asm__(".symver old_aio_return, aio_return@GLIBC_2.2.5");
__asm__(".symver old_aio_suspend, aio_suspend@GLIBC_2.2.5");
__asm__(".symver old_aio_cancel, aio_cancel@GLIBC_2.2.5");
__asm__(".symver old_aio_fsync, aio_fsync@GLIBC_2.2.5");
__asm__(".symver old_aio_write, aio_write@GLIBC_2.2.5");
__asm__(".symver old_lio_listio, lio_listio@GLIBC_2.2.5");
__asm__(".symver lio_listio_2_4, lio_listio@GLIBC_2.4");

static uint64_t calls(void)
{
	return aiot_stats().calls;
}

#define THROUGH_SHIM(expr) do {						\
		uint64_t c0_ = calls();					\
		(void)(expr);						\
		if (calls() <= c0_)					\
			TAP_FAIL_(1, "%s did not reach the shim", #expr); \
	} while (0)

TEST(old_versions_work)
{
	char buf[16];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct aiocb *wl[1] = { &cb };
	int fd = aiot_file(100);

	aiot_cb(&cb, fd, buf, sizeof(buf), 3);
	ASSERT_EQ(old_aio_read(&cb), 0);
	ASSERT_EQ(old_aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(old_aio_error(&cb), 0);
	ASSERT_EQ(old_aio_return(&cb), 16);
	ASSERT_EQ((unsigned char)buf[0], aiot_pat(3));
	ASSERT_EQ(old_aio_write(&cb), 0);
	ASSERT_EQ(old_aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(old_aio_return(&cb), 16);
	ASSERT_EQ(old_aio_fsync(O_SYNC, &cb), 0);
	ASSERT_EQ(old_aio_suspend(l, 1, NULL), 0);
	ASSERT_EQ(old_aio_return(&cb), 0);
	ASSERT_EQ(old_aio_cancel(fd, NULL), AIO_ALLDONE);
	cb.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(lio_listio_2_4(LIO_WAIT, wl, 1, NULL), 0);
	ASSERT_EQ(old_aio_return(&cb), 16);
}

/*
 * The old lio_listio is checked against the shim only: glibc 2.36's
 * lio_listio@GLIBC_2.2.5 ORs LIO_NO_INDIVIDUAL_EVENT into the mode and
 * then neither waits for LIO_WAIT (it returns with the request still
 * EINPROGRESS) nor suppresses the entries' signals, as this test shows
 * when run without the shim.
 */
TEST(old_lio_listio_waits)
{
	char buf[16];
	struct aiocb cb;
	struct aiocb *wl[1] = { &cb };
	int fd = aiot_file(100);

	need_shim();
	aiot_cb(&cb, fd, buf, sizeof(buf), 5);
	cb.aio_lio_opcode = LIO_READ;
	ASSERT_EQ(old_lio_listio(LIO_WAIT, wl, 1, NULL), 0);
	ASSERT_EQ(old_aio_error(&cb), 0);
	ASSERT_EQ(old_aio_return(&cb), 16);
	ASSERT_EQ((unsigned char)buf[0], aiot_pat(5));
}

TEST(old_versions_reach_the_shim)
{
	char buf[16];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	struct aiocb *wl[1] = { &cb };
	int fd = aiot_file(100);

	need_shim();
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	THROUGH_SHIM(old_aio_read(&cb));
	THROUGH_SHIM(old_aio_suspend(l, 1, NULL));
	THROUGH_SHIM(old_aio_error(&cb));
	THROUGH_SHIM(old_aio_return(&cb));
	THROUGH_SHIM(old_aio_write(&cb));
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	old_aio_return(&cb);
	THROUGH_SHIM(old_aio_fsync(O_DSYNC, &cb));
	ASSERT_EQ(aiot_wait(&cb, 10), 0);
	old_aio_return(&cb);
	THROUGH_SHIM(old_aio_cancel(fd, NULL));
	cb.aio_lio_opcode = LIO_READ;
	THROUGH_SHIM(old_lio_listio(LIO_WAIT, wl, 1, NULL));
	old_aio_return(&cb);
	THROUGH_SHIM(lio_listio_2_4(LIO_WAIT, wl, 1, NULL));
	old_aio_return(&cb);
}

/* LIO_WAIT with one entry asking for a signal; did the signal come? */
static int entry_signal(int (*lio)(int, struct aiocb *const[], int,
				   struct sigevent *), int sig)
{
	char buf[16];
	struct aiocb cb;
	struct aiocb *wl[1] = { &cb };
	struct timespec ts = { 0, 300 * 1000000L };
	sigset_t set;
	siginfo_t si;
	int fd = aiot_file(100), got;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	aiot_cb(&cb, fd, buf, sizeof(buf), 0);
	cb.aio_lio_opcode = LIO_READ;
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = sig;
	cb.aio_sigevent.sigev_value.sival_int = 77;
	if (lio(LIO_WAIT, wl, 1, NULL))
		return -1;
	got = sigtimedwait(&set, &si, &ts) == sig && si.si_value.sival_int == 77;
	if (aio_return(&cb) != 16)
		return -2;
	return got;
}

TEST(old_lio_listio_no_individual_event)
{
	need_shim();	/* see old_lio_listio_waits */
	ASSERT_EQ(entry_signal(old_lio_listio, SIGRTMIN + 6), 0);
}

TEST(lio_listio_2_4_individual_event)
{
	ASSERT_EQ(entry_signal(lio_listio_2_4, SIGRTMIN + 6), 1);
}

TEST(old_lio_listio_list_event)
{
	char buf[2][16];
	struct aiocb cb[2];
	struct aiocb *wl[2] = { &cb[0], &cb[1] };
	struct sigevent sev;
	struct timespec ts = { 10, 0 };
	sigset_t set;
	siginfo_t si;
	int fd = aiot_file(100), i;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 7);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	for (i = 0; i < 2; i++) {
		aiot_cb(&cb[i], fd, buf[i], 16, i * 16);
		cb[i].aio_lio_opcode = LIO_READ;
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 7;
	sev.sigev_value.sival_int = 5;
	ASSERT_EQ(old_lio_listio(LIO_NOWAIT, wl, 2, &sev), 0);
	ASSERT_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN + 7);
	ASSERT_EQ(si.si_code, SI_ASYNCIO);
	ASSERT_EQ(si.si_value.sival_int, 5);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(aio_return(&cb[i]), 16);
}

TAP_MAIN
