/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ABI v1 of <linux/syslet.h>, pinned: every field's offset and size, every
 * struct's size and alignment, every constant and system call number.
 * abi.c includes this as C and abi.cc as C++ (tests/lib/Makefile builds
 * both with -Wall -Wextra -pedantic -Werror); each checks at compile time
 * (static assertions: the build of the tests fails) and prints TAP at run
 * time (one line per struct or group, naming what differs).  An
 * accidental change of the header fails make test; an intended one
 * changes this file too, and docs/abi.md says what v1 promises to keep.
 */
#ifndef SYSLET_TESTS_ABI_LAYOUT_H
#define SYSLET_TESTS_ABI_LAYOUT_H

#include <linux/syslet.h>
#include <stddef.h>
#include <stdio.h>

/* X(struct, field, offset, size) */
#define ABI_ATOM(X)							\
	X(syslet_atom, flags, 0, 4)					\
	X(syslet_atom, nr, 4, 4)					\
	X(syslet_atom, ret_ptr, 8, 8)					\
	X(syslet_atom, next, 16, 8)					\
	X(syslet_atom, arg_ptr, 24, 48)					\
	X(syslet_atom, user_data, 72, 8)				\
	X(syslet_atom, __reserved, 80, 16)
#define ABI_COMPLETION(X)						\
	X(syslet_completion, status, 0, 8)				\
	X(syslet_completion, user_data, 8, 8)				\
	X(syslet_completion, atom, 16, 8)				\
	X(syslet_completion, flags, 24, 4)				\
	X(syslet_completion, nr_atoms, 28, 4)
#define ABI_RING(X)							\
	X(syslet_ring, head, 0, 4)					\
	X(syslet_ring, kflags, 4, 4)					\
	X(syslet_ring, overflow, 8, 4)					\
	X(syslet_ring, __kpad, 12, 52)					\
	X(syslet_ring, tail, 64, 4)					\
	X(syslet_ring, __upad, 68, 60)					\
	X(syslet_ring, size, 128, 4)					\
	X(syslet_ring, nr_entries, 132, 4)				\
	X(syslet_ring, flags, 136, 4)					\
	X(syslet_ring, __rpad, 140, 52)
#define ABI_LIMITS(X)							\
	X(syslet_limits, size, 0, 4)					\
	X(syslet_limits, max_threads, 4, 4)				\
	X(syslet_limits, idle_msecs, 8, 4)				\
	X(syslet_limits, max_chains, 12, 4)				\
	X(syslet_limits, nr_threads, 16, 4)				\
	X(syslet_limits, nr_idle, 20, 4)				\
	X(syslet_limits, nr_chains, 24, 4)				\
	X(syslet_limits, __reserved, 28, 4)				\
	X(syslet_limits, chains_done, 32, 8)				\
	X(syslet_limits, __reserved2, 40, 24)

/*
 * A struct with __u64 fields is 8-byte aligned on x86-64 and 4-byte
 * aligned on i386 (its psABI aligns 64-bit integers in structs to 4):
 * the offsets and sizes are the same, and the kernel needs no alignment
 * of them (the ring's 64 bytes are its own rule).  abi32 (-m32) checks
 * the i386 side.
 */
#ifdef __i386__
#define ABI_ALIGN64	4
#else
#define ABI_ALIGN64	8
#endif

/* X(struct, size, alignment) */
#define ABI_STRUCTS(X)							\
	X(syslet_atom, 96, ABI_ALIGN64)					\
	X(syslet_completion, 32, ABI_ALIGN64)				\
	X(syslet_ring, 192, 4)						\
	X(syslet_limits, 64, ABI_ALIGN64)

/* X(name, value) */
#define ABI_NUMBERS(X)							\
	X(SYSLET_NR_ASYNC_EXEC, 500)					\
	X(SYSLET_NR_ASYNC_WAIT, 501)					\
	X(SYSLET_NR_ASYNC_CANCEL, 502)					\
	X(SYSLET_NR_ASYNC_LIMITS, 503)
#define ABI_CONSTANTS(X)						\
	X(SYSLET_ASYNC, 0x1)						\
	X(SYSLET_SYNC, 0x2)						\
	X(SYSLET_NO_COMPLETE, 0x4)					\
	X(SYSLET_STOP_ON_NONZERO, 0x8)					\
	X(SYSLET_STOP_ON_ZERO, 0x10)					\
	X(SYSLET_STOP_ON_NEGATIVE, 0x20)				\
	X(SYSLET_STOP_ON_NON_POSITIVE, 0x40)				\
	X(SYSLET_SKIP_TO_NEXT_ON_STOP, 0x80)				\
	X(SYSLET_NOSIGNAL, 0x100)					\
	X(SYSLET_ATOM_FLAGS, 0x1ff)					\
	X(SYSLET_MAX_ATOMS, 4096)					\
	X(SYSLET_COMP_CANCELED, 0x1)					\
	X(SYSLET_COMP_SYNC, 0x2)					\
	X(SYSLET_RING_OVERFLOW, 0x1)					\
	X(SYSLET_RING_ALIGN, 64)					\
	X(SYSLET_RING_MAX_ENTRIES, 65536)				\
	X(SYSLET_RING_F_ALL, 0)						\
	X(SYSLET_RING_SIZE_VER0, 192)					\
	X(SYSLET_RING_SIZE_MAX, 4096)					\
	X(SYSLET_DONE, 0)						\
	X(SYSLET_QUEUED, 1)						\
	X(SYSLET_EXEC_POST, 0x1)					\
	X(SYSLET_EXEC_THREADLET, 0x2)					\
	X(SYSLET_EXEC_THREADLET_END, 0x4)				\
	X(SYSLET_EXEC_SPARE, 0x8)					\
	X(SYSLET_EXEC_F_ALL, 0xf)					\
	X(SYSLET_WAIT_RESTART, 0x1)					\
	X(SYSLET_WAIT_HEAD, 0x2)					\
	X(SYSLET_WAIT_RESTART_SIGMASK, 0x4)				\
	X(SYSLET_WAIT_ABSTIME, 0x8)					\
	X(SYSLET_WAIT_F_ALL, 0xf)					\
	X(SYSLET_CANCEL_ALL, 0x1)					\
	X(SYSLET_CANCEL_QUEUED, 0x2)					\
	X(SYSLET_CANCEL_F_ALL, 0x3)					\
	X(SYSLET_LIMITS_SIZE_VER0, 16)					\
	X(SYSLET_LIMITS_SIZE_MAX, 4096)					\
	X(SYSLET_LIMITS_F_ALL, 0)

#define ABI_SIZEOF_FIELD(s, f)	sizeof(((struct s *)0)->f)

/* compile time */
#define ABI_ASSERT_FIELD(s, f, off, sz)					\
	static_assert(offsetof(struct s, f) == (off), #s "." #f " offset"); \
	static_assert(ABI_SIZEOF_FIELD(s, f) == (sz), #s "." #f " size");
#define ABI_ASSERT_STRUCT(s, sz, al)					\
	static_assert(sizeof(struct s) == (sz), #s " size");		\
	static_assert(alignof(struct s) == (al), #s " alignment");
#define ABI_ASSERT_VALUE(n, v)						\
	static_assert((unsigned long long)(n) == (unsigned long long)(v), #n);

ABI_ATOM(ABI_ASSERT_FIELD)
ABI_COMPLETION(ABI_ASSERT_FIELD)
ABI_RING(ABI_ASSERT_FIELD)
ABI_LIMITS(ABI_ASSERT_FIELD)
ABI_STRUCTS(ABI_ASSERT_STRUCT)
ABI_NUMBERS(ABI_ASSERT_VALUE)
ABI_CONSTANTS(ABI_ASSERT_VALUE)

/* run time: each mismatch is printed as a TAP diagnostic and counted */
static int abi_bad;

static void abi_field(const char *s, const char *f, size_t off, size_t sz,
		      size_t want_off, size_t want_sz)
{
	if (off != want_off || sz != want_sz) {
		printf("# %s.%s: offset %zu size %zu, want %zu and %zu\n",
		       s, f, off, sz, want_off, want_sz);
		abi_bad++;
	}
}

static void abi_value(const char *n, unsigned long long v,
		      unsigned long long want)
{
	if (v != want) {
		printf("# %s = %llu, want %llu\n", n, v, want);
		abi_bad++;
	}
}

#define ABI_CHECK_FIELD(s, f, off, sz)					\
	abi_field(#s, #f, offsetof(struct s, f), ABI_SIZEOF_FIELD(s, f),	\
		  off, sz);
#define ABI_CHECK_STRUCT(s, sz, al)					\
	abi_value("sizeof(struct " #s ")", sizeof(struct s), sz);	\
	abi_value("alignof(struct " #s ")", alignof(struct s), al);
#define ABI_CHECK_VALUE(n, v)						\
	abi_value(#n, (unsigned long long)(n), (unsigned long long)(v));

static int abi_n;

static int abi_ok(const char *what)
{
	int bad = abi_bad;

	abi_bad = 0;
	printf("%sok %d %s (%s)\n", bad ? "not " : "", ++abi_n, what,
	       ABI_LANG);
	return bad != 0;
}

static int abi_run(void)
{
	struct {
		struct syslet_ring r;
		struct syslet_completion e[4];
	} ring;
	int failed = 0;

	printf("TAP version 13\n1..7\n");
	ABI_ATOM(ABI_CHECK_FIELD)
	failed |= abi_ok("struct syslet_atom: every field's offset and size");
	ABI_COMPLETION(ABI_CHECK_FIELD)
	failed |= abi_ok("struct syslet_completion: every field's offset and size");
	ABI_RING(ABI_CHECK_FIELD)
	failed |= abi_ok("struct syslet_ring: every field's offset and size");
	ABI_LIMITS(ABI_CHECK_FIELD)
	failed |= abi_ok("struct syslet_limits: every field's offset and size");
	ABI_STRUCTS(ABI_CHECK_STRUCT)
	ABI_CHECK_VALUE(SYSLET_RING_BYTES(4), 192 + 4 * 32)
	failed |= abi_ok("struct sizes and alignments, SYSLET_RING_BYTES()");
	ABI_NUMBERS(ABI_CHECK_VALUE)
	ABI_CONSTANTS(ABI_CHECK_VALUE)
	failed |= abi_ok("system call numbers and every constant");
	/* the entries begin at the header's size, whatever it is */
	ring.r.size = sizeof(ring.r);
	abi_value("SYSLET_RING_ENTRIES(ring) - ring",
		  (unsigned long long)((char *)SYSLET_RING_ENTRIES(&ring.r) -
				       (char *)&ring), sizeof(ring.r));
	ring.r.size = 128;	/* (not a valid ring: the arithmetic only) */
	abi_value("SYSLET_RING_ENTRIES() of a 128-byte header",
		  (unsigned long long)((char *)SYSLET_RING_ENTRIES(&ring.r) -
				       (char *)&ring), 128);
	failed |= abi_ok("SYSLET_RING_ENTRIES() is the ring plus its size");
	return failed;
}

#endif
