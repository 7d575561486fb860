// SPDX-License-Identifier: GPL-2.0
/*
 * order.c - requests on one descriptor that must stay in order do: writes
 * to a stream socket whose buffer is full queue behind the blocked one and
 * reach the peer in submission order, reads of a pipe are satisfied in
 * submission order, O_APPEND writes land in submission order, and
 * aio_fsync waits for the writes submitted before it.  A descriptor
 * number closed and reused for a file while a request on the old pipe
 * still waits gets positioned I/O, not the pipe's plain read/write.  A
 * read and a write of a file that do not overlap stay in order when the
 * write extends the file under the read, and only then.
 */
#include <sys/socket.h>

#include "aio-test.h"

enum { NW = 8, WSZ = 256 * 1024 };

TEST(socket_writes_in_order)
{
	static char wbuf[NW][WSZ];
	static char rbuf[NW * WSZ];
	struct aiocb cb[NW];
	size_t got = 0;
	int sv[2], i, j, sz = 4096;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (i = 0; i < NW; i++) {
		memset(wbuf[i], 'a' + i, WSZ);
		aiot_cb(&cb[i], sv[0], wbuf[i], WSZ, 0);
		ASSERT_EQ(aio_write(&cb[i]), 0);
	}
	aiot_msleep(100);
	/* the first is blocked on the full socket, the rest wait behind it */
	ASSERT_EQ(aio_error(&cb[NW - 1]), EINPROGRESS);
	while (got < sizeof(rbuf)) {
		ssize_t n = read(sv[1], rbuf + got, sizeof(rbuf) - got);

		ASSERT_GT(n, 0);
		got += n;
	}
	for (i = 0; i < NW; i++) {
		ASSERT_EQ(aiot_wait(&cb[i], 10), 0);
		ASSERT_EQ(aio_return(&cb[i]), WSZ);
		for (j = 0; j < WSZ; j += 4096)
			if (rbuf[(size_t)i * WSZ + j] != 'a' + i)
				ASSERT_EQ(rbuf[(size_t)i * WSZ + j], 'a' + i);
	}
}

TEST(pipe_reads_in_order)
{
	enum { N = 6 };
	char buf[N][2];
	struct aiocb cb[N];
	int p[2], i;

	ASSERT_EQ(pipe(p), 0);
	for (i = 0; i < N; i++) {
		aiot_cb(&cb[i], p[0], buf[i], 2, 0);
		ASSERT_EQ(aio_read(&cb[i]), 0);
	}
	aiot_msleep(50);
	/* feed one pair at a time: the i-th read gets the i-th pair */
	for (i = 0; i < N; i++) {
		char w[2] = { (char)('0' + i), (char)('A' + i) };

		ASSERT_EQ(write(p[1], w, 2), 2);
		ASSERT_EQ(aiot_wait(&cb[i], 10), 0);
		ASSERT_EQ(aio_return(&cb[i]), 2);
		ASSERT_EQ(buf[i][0], '0' + i);
		ASSERT_EQ(buf[i][1], 'A' + i);
	}
}

/*
 * POSIX: closing a descriptor need not cancel its requests.  A read on a
 * pipe is still waiting when its number is closed and given to a regular
 * file: a write at offset 4096 on the new file lands at 4096 (the shim
 * once took the number for the old pipe's and wrote at the file position,
 * offset 0).  glibc runs one number's requests one at a time, so the
 * write would wait for the pipe read for ever: shim only.
 */
TEST(reused_descriptor_number_gets_positioned_io)
{
	char rbuf[4], got[8] = "", path[] = "/tmp/aio-reuse.XXXXXX";
	struct aiocb rd, wr;
	int p[2], fd, num;

	need_shim();
	ASSERT_EQ(pipe(p), 0);
	num = p[0];
	aiot_cb(&rd, num, rbuf, sizeof(rbuf), 0);
	ASSERT_EQ(aio_read(&rd), 0);
	aiot_msleep(100);
	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	unlink(path);
	ASSERT_EQ(dup2(fd, num), num);	/* closes the pipe's end */
	close(fd);
	aiot_cb(&wr, num, "DATA", 4, 4096);
	ASSERT_EQ(aio_write(&wr), 0);
	ASSERT_EQ(aiot_wait(&wr, 10), 0);
	EXPECT_EQ(aio_return(&wr), 4);
	EXPECT_EQ(pread(num, got, 4, 4096), 4);
	EXPECT_EQ(memcmp(got, "DATA", 4), 0);
	EXPECT_EQ(pread(num, got, 4, 0), 4);	/* a hole at 0 */
	EXPECT_EQ(memcmp(got, "\0\0\0\0", 4), 0);
	/*
	 * The pipe read goes on, and ends when the pipe's writer does (0);
	 * unless it had not reached the kernel before dup2() (a busy
	 * machine, a thread still starting): it then read the file at its
	 * position, 4 bytes of the hole, as glibc's thread would.
	 */
	close(p[1]);
	ASSERT_EQ(aiot_wait(&rd, 10), 0);
	EXPECT_TRUE(aio_return(&rd) == 0 || aio_return(&rd) == 4);
	close(num);
}

TEST(append_writes_in_order)
{
	enum { N = 64, SZ = 1000 };
	static char w[N][SZ];
	static char r[N * SZ];
	struct aiocb cb[N];
	char path[] = "/tmp/aioappend.XXXXXX";
	int fd = mkstemp(path), i;

	ASSERT_GE(fd, 0);
	unlink(path);
	ASSERT_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);
	for (i = 0; i < N; i++) {
		memset(w[i], i, SZ);
		aiot_cb(&cb[i], fd, w[i], SZ, 0);
		ASSERT_EQ(aio_write(&cb[i]), 0);
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(aiot_wait(&cb[i], 10), 0);
		ASSERT_EQ(aio_return(&cb[i]), SZ);
	}
	ASSERT_EQ(pread(fd, r, sizeof(r), 0), (ssize_t)sizeof(r));
	for (i = 0; i < N; i++)
		ASSERT_EQ(r[(size_t)i * SZ], i);
}

/*
 * O_APPEND: a read queued after an append, of the range the append will
 * fill, sees its data (glibc: one queue per descriptor).  The append's
 * aio_offset (0, memset) says nothing of where it lands.  Before, the
 * shim ordered by aio_offset and the read ran first: end of file.
 */
TEST(append_then_read_sees_the_append)
{
	enum { OLD = 4096, BIG = 4 << 20, ROUNDS = 4 };
	static char big[BIG], back[OLD];
	struct aiocb w, r;
	char path[] = "/tmp/aioappend.XXXXXX";
	int fd, i, k, wrong = 0;

	for (k = 0; k < ROUNDS; k++) {
		fd = mkstemp(path);
		ASSERT_GE(fd, 0);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		memset(big, 'a' + k, BIG);
		ASSERT_EQ(write(fd, big, OLD), OLD);
		ASSERT_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);
		memset(big, 'A' + k, BIG);
		aiot_cb(&w, fd, big, BIG, 0);
		aiot_cb(&r, fd, back, OLD, BIG);	/* inside the append */
		ASSERT_EQ(aio_write(&w), 0);
		ASSERT_EQ(aio_read(&r), 0);
		ASSERT_EQ(aiot_wait(&w, 20), 0);
		ASSERT_EQ(aio_return(&w), BIG);
		ASSERT_EQ(aiot_wait(&r, 20), 0);
		ASSERT_EQ(aio_return(&r), OLD);
		for (i = 0; i < OLD; i++)
			wrong += back[i] != 'A' + k;
		ASSERT_EQ(wrong, 0);
		close(fd);
	}
}

/*
 * A write past the end of a file, then a read that does not overlap it
 * but reaches past the old end, on one descriptor: the read sees the file
 * as the write left it (glibc runs one descriptor's requests in order).
 * Before, the shim ordered a read only after writes of its own bytes,
 * and the read often ran first: end of file (192 of 200 rounds) or a
 * short read (15 of 100).  Two shapes: a read of the hole the write
 * makes, wholly past the old end ([500, 510) after [1000, 1010) on a
 * 100-byte file: 10 zero bytes), and one across the old end ([50, 250)
 * after [4096, 4106): 200 bytes, the last 150 zero).
 */
static int extending_write_then_read(off_t woff, off_t roff, size_t rlen,
				     int rounds)
{
	static char rb[4096];
	static const char wb[10] = "WWWWWWWWWW";
	struct aiocb w, r;
	int k, wrong = 0;
	size_t i;

	for (k = 0; k < rounds; k++) {
		int fd = aiot_file(100);

		if (fd < 0)
			return -1;
		memset(rb, 'x', rlen);
		aiot_cb(&w, fd, (void *)wb, sizeof(wb), woff);
		aiot_cb(&r, fd, rb, rlen, roff);
		if (aio_write(&w) || aio_read(&r) || aiot_wait(&w, 20) ||
		    aiot_wait(&r, 20) || aio_return(&w) != (ssize_t)sizeof(wb))
			return -1;
		if (aio_return(&r) != (ssize_t)rlen) {
			wrong++;
		} else {
			for (i = 0; i < rlen; i++) {
				unsigned char want = roff + (off_t)i < 100 ?
					aiot_pat(roff + i) : 0;

				if ((unsigned char)rb[i] != want) {
					wrong++;
					break;
				}
			}
		}
		close(fd);
	}
	return wrong;
}

TEST(read_of_the_hole_an_earlier_write_makes)
{
	int wrong = extending_write_then_read(1000, 500, 10, 200);

	ASSERT_GE(wrong, 0);
	EXPECT_EQ(wrong, 0);
}

TEST(read_across_the_old_end_after_an_extending_write)
{
	int wrong = extending_write_then_read(4096, 50, 200, 100);

	ASSERT_GE(wrong, 0);
	EXPECT_EQ(wrong, 0);
}

/*
 * The other way round: a read that reaches past the end of a 100-byte
 * file ([50, 250)), then a write beyond it that does not overlap it
 * ([4096, 4106)): the read sees the file as it was, 50 bytes, not as the
 * write leaves it.  The read waits behind an earlier write of a byte of
 * its own ([60, 70)), so that a later write not ordered after it would
 * overtake it (before, it did: 200 bytes).
 */
TEST(read_then_extending_write_does_not_see_it)
{
	static char rb[200];
	static const char w1b[10] = "1111111111", w2b[10] = "WWWWWWWWWW";
	struct aiocb w1, w2, r;
	int k, i, wrong = 0;

	for (k = 0; k < 100; k++) {
		int fd = aiot_file(100);

		ASSERT_GE(fd, 0);
		aiot_cb(&w1, fd, (void *)w1b, sizeof(w1b), 60);
		aiot_cb(&r, fd, rb, sizeof(rb), 50);
		aiot_cb(&w2, fd, (void *)w2b, sizeof(w2b), 4096);
		ASSERT_EQ(aio_write(&w1), 0);
		ASSERT_EQ(aio_read(&r), 0);
		ASSERT_EQ(aio_write(&w2), 0);
		ASSERT_EQ(aiot_wait(&w1, 20), 0);
		ASSERT_EQ(aiot_wait(&r, 20), 0);
		ASSERT_EQ(aiot_wait(&w2, 20), 0);
		ASSERT_EQ(aio_return(&w1), (ssize_t)sizeof(w1b));
		ASSERT_EQ(aio_return(&w2), (ssize_t)sizeof(w2b));
		if (aio_return(&r) != 50) {
			wrong++;
		} else {
			for (i = 0; i < 50; i++) {
				if ((unsigned char)rb[i] != (i >= 10 && i < 20 ?
				    '1' : aiot_pat(50 + i))) {
					wrong++;
					break;
				}
			}
		}
		close(fd);
	}
	EXPECT_EQ(wrong, 0);
}

/*
 * Not everything is ordered: a read of bytes the file already has does
 * not wait for a pending write elsewhere, even one that extends the file
 * (it cannot change what the read gets).  A 64 MiB write beyond the end
 * of a 1 MiB file, then a 4 KiB read of its start: in some round the
 * read is done while the write is still in progress (the shim's reads
 * of a file run concurrently; glibc's one helper does them in order).
 * A read of the hole the write makes, queued the same way, reads it.
 */
TEST(read_within_the_file_does_not_wait_for_an_extending_write)
{
	enum { OLD = 1 << 20, BIG = 64 << 20, ROUNDS = 10 };
	static char big[BIG], rb[4096], rb2[4096];
	struct aiocb w, r, past;
	int k, early = 0, fd;

	need_shim();
	memset(big, 'B', sizeof(big));
	for (k = 0; k < ROUNDS; k++) {
		fd = aiot_file(OLD);
		ASSERT_GE(fd, 0);
		aiot_cb(&w, fd, big, BIG, OLD + 4096);
		aiot_cb(&r, fd, rb, sizeof(rb), 0);
		aiot_cb(&past, fd, rb2, sizeof(rb2), OLD);
		ASSERT_EQ(aio_write(&w), 0);
		ASSERT_EQ(aio_read(&r), 0);
		ASSERT_EQ(aio_read(&past), 0);
		while (aio_error(&r) == EINPROGRESS)
			;
		early += aio_error(&w) == EINPROGRESS;
		ASSERT_EQ(aiot_wait(&w, 20), 0);
		ASSERT_EQ(aiot_wait(&past, 20), 0);
		ASSERT_EQ(aio_return(&w), BIG);
		ASSERT_EQ(aio_return(&r), (ssize_t)sizeof(rb));
		ASSERT_EQ((unsigned char)rb[4095], aiot_pat(4095));
		ASSERT_EQ(aio_return(&past), (ssize_t)sizeof(rb2));
		ASSERT_EQ(rb2[0], 0);		/* the hole */
		close(fd);
	}
	printf("# the read within the file done before the write in %d of %d "
	       "rounds\n", early, ROUNDS);
	EXPECT_GT(early, 0);
}

TEST(fsync_waits_for_earlier_writes)
{
	static char big[WSZ];
	struct aiocb w, f;
	int sv[2], sz = 4096;
	size_t got = 0;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	aiot_cb(&w, sv[0], big, sizeof(big), 0);
	aiot_cb(&f, sv[0], NULL, 0, 0);
	ASSERT_EQ(aio_write(&w), 0);
	ASSERT_EQ(aio_fsync(O_SYNC, &f), 0);
	aiot_msleep(100);
	ASSERT_EQ(aio_error(&w), EINPROGRESS);
	ASSERT_EQ(aio_error(&f), EINPROGRESS);
	while (got < sizeof(big)) {
		static char sink[65536];
		ssize_t n = read(sv[1], sink, sizeof(sink));

		ASSERT_GT(n, 0);
		got += n;
	}
	ASSERT_EQ(aiot_wait(&w, 10), 0);
	ASSERT_EQ(aiot_wait(&f, 10), 0);
	ASSERT_EQ(aio_return(&w), (ssize_t)sizeof(big));
	/* fsync of a socket fails, but only after the write */
	ASSERT_EQ(aio_error(&f), EINVAL);
}

TEST(socket_read_does_not_block_write)
{
	char rb[8];
	struct aiocb r, w;
	int sv[2];

	need_shim();	/* glibc serialises everything on one descriptor */
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	aiot_cb(&r, sv[0], rb, sizeof(rb), 0);
	aiot_cb(&w, sv[0], "ping", 4, 0);
	ASSERT_EQ(aio_read(&r), 0);
	ASSERT_EQ(aio_write(&w), 0);
	ASSERT_EQ(aiot_wait(&w, 10), 0);
	ASSERT_EQ(aio_return(&w), 4);
	ASSERT_EQ(aio_error(&r), EINPROGRESS);
	ASSERT_EQ(write(sv[1], "pong", 4), 4);
	ASSERT_EQ(aiot_wait(&r, 10), 0);
	ASSERT_EQ(aio_return(&r), 4);
	ASSERT_EQ(memcmp(rb, "pong", 4), 0);
}

TEST(file_reads_run_concurrently)
{
	char b1[8], b2[8];
	struct aiocb c1, c2;
	int p[2], fd = aiot_file(100);

	/* a read of a file is not held up by a blocked read of a pipe */
	ASSERT_EQ(pipe(p), 0);
	aiot_cb(&c1, p[0], b1, 8, 0);
	aiot_cb(&c2, fd, b2, 8, 0);
	ASSERT_EQ(aio_read(&c1), 0);
	ASSERT_EQ(aio_read(&c2), 0);
	ASSERT_EQ(aiot_wait(&c2, 10), 0);
	ASSERT_EQ(aio_return(&c2), 8);
	ASSERT_EQ(aio_error(&c1), EINPROGRESS);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ASSERT_EQ(aiot_wait(&c1, 10), 0);
}

TAP_MAIN
