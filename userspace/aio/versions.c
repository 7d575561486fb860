// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * versions.c - the names libsyslet-aio exports, and nothing else.
 *
 * Each POSIX entry point is a small function here that counts the call
 * (syslet_aio_stats()'s 'calls') and goes to its implementation
 * (submit.c, complete.c, cancel.c).  In the shared library each is given
 * the symbol versions libc.so.6 gives the name, with .symver (which must
 * be in the file that defines the function): name@GLIBC_2.2.5, the x86-64
 * base version, for programs linked when the functions lived in librt,
 * and the default name@@GLIBC_2.34; lio_listio and lio_listio64 also
 * @GLIBC_2.4, and their GLIBC_2.2.5 version is the old lio_listio, which
 * does not deliver the entries' own notifications.  libsyslet-aio.map
 * lists the same set and keeps everything else local.  A preloaded shim
 * thus matches every versioned reference of a program exactly.  The
 * static archive (SAIO_STATIC) defines the plain names instead, as
 * aliases.  On x86-64, struct aiocb64 is struct aiocb, so each *64 name is
 * the same function.
 */
#include "aio-internal.h"

#define SAIO_SYMVER(impl, name, ver) \
	__asm__(".symver " #impl ", " #name "@" ver)
#define SAIO_VERSIONS(impl, name) \
	SAIO_SYMVER(impl, name, "GLIBC_2.2.5"); \
	SAIO_SYMVER(impl, name, "@GLIBC_2.34")

static inline void saio_count_call(void)
{
	saio_stat_add(&saio.st.calls, 1);
}

SAIO_EXPORT int saio_e_aio_read(struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_read(cb);
}

SAIO_EXPORT int saio_e_aio_write(struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_write(cb);
}

SAIO_EXPORT int saio_e_aio_fsync(int operation, struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_fsync(operation, cb);
}

SAIO_EXPORT int saio_e_lio_listio(int mode, struct aiocb *const list[],
				  int nent, struct sigevent *sig)
{
	saio_count_call();
	return saio_lio_listio(mode, list, nent, sig);
}

/* lio_listio@GLIBC_2.2.5, for programs linked against glibc < 2.4 */
SAIO_EXPORT int saio_e_lio_listio_old(int mode, struct aiocb *const list[],
				      int nent, struct sigevent *sig)
{
	saio_count_call();
	return saio_lio_listio_old(mode, list, nent, sig);
}

SAIO_EXPORT void saio_e_aio_init(const struct aioinit *init)
{
	saio_count_call();
	saio_aio_init(init);
}

SAIO_EXPORT int saio_e_aio_error(const struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_error(cb);
}

SAIO_EXPORT ssize_t saio_e_aio_return(struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_return(cb);
}

SAIO_EXPORT int saio_e_aio_suspend(const struct aiocb *const list[], int nent,
				   const struct timespec *timeout)
{
	saio_count_call();
	return saio_aio_suspend(list, nent, timeout);
}

SAIO_EXPORT int saio_e_aio_cancel(int fd, struct aiocb *cb)
{
	saio_count_call();
	return saio_aio_cancel(fd, cb);
}

/* The shim's own call (syslet-aio.h), SYSLET_AIO_1 in the map. */
SAIO_EXPORT int syslet_aio_stats(struct syslet_aio_stats *st, size_t size)
{
	return saio_stats(st, size);
}

#ifdef SAIO_STATIC
#define SAIO_ALIAS(impl) __attribute__((alias(#impl)))
SAIO_EXPORT int aio_read(struct aiocb *cb) SAIO_ALIAS(saio_e_aio_read);
SAIO_EXPORT int aio_read64(struct aiocb64 *cb) SAIO_ALIAS(saio_e_aio_read);
SAIO_EXPORT int aio_write(struct aiocb *cb) SAIO_ALIAS(saio_e_aio_write);
SAIO_EXPORT int aio_write64(struct aiocb64 *cb) SAIO_ALIAS(saio_e_aio_write);
SAIO_EXPORT int aio_fsync(int operation, struct aiocb *cb)
	SAIO_ALIAS(saio_e_aio_fsync);
SAIO_EXPORT int aio_fsync64(int operation, struct aiocb64 *cb)
	SAIO_ALIAS(saio_e_aio_fsync);
SAIO_EXPORT int lio_listio(int mode, struct aiocb *const list[], int nent,
			   struct sigevent *sig) SAIO_ALIAS(saio_e_lio_listio);
SAIO_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int nent,
			     struct sigevent *sig)
	SAIO_ALIAS(saio_e_lio_listio);
SAIO_EXPORT void aio_init(const struct aioinit *init)
	SAIO_ALIAS(saio_e_aio_init);
SAIO_EXPORT int aio_error(const struct aiocb *cb)
	SAIO_ALIAS(saio_e_aio_error);
SAIO_EXPORT int aio_error64(const struct aiocb64 *cb)
	SAIO_ALIAS(saio_e_aio_error);
SAIO_EXPORT ssize_t aio_return(struct aiocb *cb)
	SAIO_ALIAS(saio_e_aio_return);
SAIO_EXPORT ssize_t aio_return64(struct aiocb64 *cb)
	SAIO_ALIAS(saio_e_aio_return);
SAIO_EXPORT int aio_suspend(const struct aiocb *const list[], int nent,
			    const struct timespec *timeout)
	SAIO_ALIAS(saio_e_aio_suspend);
SAIO_EXPORT int aio_suspend64(const struct aiocb64 *const list[], int nent,
			      const struct timespec *timeout)
	SAIO_ALIAS(saio_e_aio_suspend);
SAIO_EXPORT int aio_cancel(int fd, struct aiocb *cb)
	SAIO_ALIAS(saio_e_aio_cancel);
SAIO_EXPORT int aio_cancel64(int fd, struct aiocb64 *cb)
	SAIO_ALIAS(saio_e_aio_cancel);
#else
SAIO_VERSIONS(saio_e_aio_read, aio_read);
SAIO_VERSIONS(saio_e_aio_read, aio_read64);
SAIO_VERSIONS(saio_e_aio_write, aio_write);
SAIO_VERSIONS(saio_e_aio_write, aio_write64);
SAIO_VERSIONS(saio_e_aio_fsync, aio_fsync);
SAIO_VERSIONS(saio_e_aio_fsync, aio_fsync64);
SAIO_VERSIONS(saio_e_aio_init, aio_init);
SAIO_VERSIONS(saio_e_aio_error, aio_error);
SAIO_VERSIONS(saio_e_aio_error, aio_error64);
SAIO_VERSIONS(saio_e_aio_return, aio_return);
SAIO_VERSIONS(saio_e_aio_return, aio_return64);
SAIO_VERSIONS(saio_e_aio_suspend, aio_suspend);
SAIO_VERSIONS(saio_e_aio_suspend, aio_suspend64);
SAIO_VERSIONS(saio_e_aio_cancel, aio_cancel);
SAIO_VERSIONS(saio_e_aio_cancel, aio_cancel64);
/* lio_listio: GLIBC_2.4 and GLIBC_2.34 mean the same, GLIBC_2.2.5 differs */
SAIO_SYMVER(saio_e_lio_listio, lio_listio, "GLIBC_2.4");
SAIO_SYMVER(saio_e_lio_listio, lio_listio, "@GLIBC_2.34");
SAIO_SYMVER(saio_e_lio_listio, lio_listio64, "GLIBC_2.4");
SAIO_SYMVER(saio_e_lio_listio, lio_listio64, "@GLIBC_2.34");
SAIO_SYMVER(saio_e_lio_listio_old, lio_listio, "GLIBC_2.2.5");
SAIO_SYMVER(saio_e_lio_listio_old, lio_listio64, "GLIBC_2.2.5");
#endif
