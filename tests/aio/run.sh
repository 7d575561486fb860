#!/bin/bash
# Run the POSIX AIO tests in the ways that matter; prints TAP (one stream
# per program run, each with its own plan) and exits non-zero on failure.
#
#   run.sh host	  glibc (validates the tests), the shim preloaded into the
#		  unmodified binaries (plain and _FILE_OFFSET_BITS=64), the
#		  shim linked in with ASan+UBSan, some with SYSLET_AIO_INLINE=0,
#		  the symbol bindings, and the differential test (diff.c:
#		  glibc's observations recorded, the shim's compared)
#   run.sh guest  the symbol checks, the shim preloaded on the kernel
#		  backend (the default there) and on the emulated one
#		  (SYSLET_AIO_INLINE=0: nothing done in the caller), and the
#		  differential test against glibc on the guest's kernel;
#		  SYSLET_AIO_BLOCKING_DIR is ext4 on a loop device (glibc.c)
set -u
mode=${1:?usage: run.sh host|guest}
build=${SYSLET_BUILD:?}
SYSLET_TOP=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$build/tests/aio
shim=$build/userspace/aio/libsyslet-aio.so
tests="basic suspend cancel notify lio order fork threads shim compat glibc"
status=0
export TAP_TIMEOUT=${TAP_TIMEOUT:-120}

# run LABEL [VAR=VALUE...] PROGRAM: one TAP stream, renamed so failures say where
run() {
	local label=$1 rc
	shift
	echo "# ---- aio: $label"
	env "$@" 2>&1 | sed -e "s|^\(\(not \)\{0,1\}ok [0-9]* \)|\1$label: |"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || { echo "# $label: exit $rc"; status=1; }
}

# tap_line N NAME COMMAND...: one TAP line from a shell check
tap_line() {
	local n=$1 name=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		echo "$out" | tail -5 | sed 's/^/# /'
		status=1
	fi
}

# bindings PROGRAM "SYM[@VERSION] ...": with the shim preloaded, each
# reference binds to the shim (with that symbol version, GLIBC_2.34 if
# none is given), and no aio/lio reference binds to libc.
bindings() {
	local prog=$1 want=$2 log sym ver
	log=$(LD_PRELOAD=$shim LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=/tmp/aio-bind.$$ \
		TAP_FILTER=requests_counted "$prog" >/dev/null 2>&1; cat /tmp/aio-bind.$$.*; rm -f /tmp/aio-bind.$$.*)
	for sym in $want; do
		ver=GLIBC_2.34
		case $sym in *@*) ver=${sym#*@}; sym=${sym%@*};; esac
		echo "$log" | grep -qF "to $shim [0]: normal symbol \`$sym' [$ver]" ||
			{ echo "$sym [$ver] does not bind to the shim"; return 1; }
	done
	if echo "$log" | grep -E "libc\.so\.6 \[0\]: normal symbol \`(aio|lio)_"; then
		echo "some AIO symbol binds to libc"
		return 1
	fi
}

# The shim's dynamic symbol table: the POSIX names with libc.so.6's
# versions, syslet_aio_stats, nothing else (libsyslet is linked in hidden).
exports() {
	local got want n
	got=$(objdump -T "$shim" | awk '$2 == "g" && $4 != "*UND*" && $4 != "*ABS*" {print $NF "@" $(NF-1)}' |
		tr -d '()' | sort)
	want=$(for n in aio_read aio_write aio_error aio_return aio_suspend aio_fsync aio_cancel; do
		for s in "" 64; do echo "$n$s@GLIBC_2.2.5"; echo "$n$s@GLIBC_2.34"; done; done
		echo aio_init@GLIBC_2.2.5; echo aio_init@GLIBC_2.34
		for s in "" 64; do for v in 2.2.5 2.4 2.34; do echo "lio_listio$s@GLIBC_$v"; done; done
		echo syslet_aio_stats@SYSLET_AIO_1)
	want=$(echo "$want" | sort)
	[ "$got" = "$want" ] || { diff <(echo "$want") <(echo "$got"); return 1; }
}

# direct_link DIR shared|static: build shim.c linked with the shim; its
# every_entry_point_reaches_shim must pass (not skip), nothing fail
direct_link() {
	local dest=$1 how=$2 out
	if [ "$how" = shared ]; then
		make --no-print-directory -s -C "$SYSLET_TOP/userspace/aio" \
			O="$build/userspace/aio" PREFIX=/usr DESTDIR="$dest" install || return 1
		cc -std=c11 -D_GNU_SOURCE -pthread -I"$SYSLET_TOP/include/uapi" \
			-o "$dest/shim" "$SYSLET_TOP/tests/aio/shim.c" \
			-L"$dest/usr/lib" -lsyslet-aio -ldl || return 1
		out=$(LD_LIBRARY_PATH=$dest/usr/lib "$dest/shim")
	else
		cc -std=c11 -D_GNU_SOURCE -pthread -I"$SYSLET_TOP/include/uapi" \
			-rdynamic -o "$dest/shim-static" \
			"$SYSLET_TOP/tests/aio/shim.c" "$dest/usr/lib/libsyslet-aio.a" \
			"$build/userspace/libsyslet/libsyslet.a" -ldl || return 1
		out=$("$dest/shim-static")
	fi
	echo "$out"
	echo "$out" | grep -q '^ok 1 every_entry_point_reaches_shim$' &&
		echo "$out" | grep -q ' 0 failed'
}

all17="aio_read aio_write aio_error aio_return aio_suspend aio_fsync aio_cancel lio_listio aio_init aio_read64 aio_write64 aio_error64 aio_return64 aio_suspend64 aio_fsync64 aio_cancel64 lio_listio64"
lfs8="aio_read64 aio_write64 aio_error64 aio_return64 aio_suspend64 aio_fsync64 aio_cancel64 lio_listio64"
old9="aio_read@GLIBC_2.2.5 aio_write@GLIBC_2.2.5 aio_error@GLIBC_2.2.5 aio_return@GLIBC_2.2.5 aio_suspend@GLIBC_2.2.5 aio_fsync@GLIBC_2.2.5 aio_cancel@GLIBC_2.2.5 lio_listio@GLIBC_2.2.5 lio_listio@GLIBC_2.4"

# the symbol checks, as TAP lines 1..4
symbol_checks() {
	tap_line 1 "unmodified binary: every aio_* reference binds to the shim (GLIBC_2.34)" \
		bindings "$bin/shim" "$all17"
	tap_line 2 "_FILE_OFFSET_BITS=64 binary: the *64 references bind to the shim" \
		bindings "$bin/shim-lfs" "$lfs8"
	tap_line 3 "references to GLIBC_2.2.5 and GLIBC_2.4 versions bind to the shim" \
		bindings "$bin/compat" "$old9"
	tap_line 4 "the shim exports only the POSIX names, with libc.so.6's versions" exports
}

if [ ! -f "$shim" ] || [ ! -x "$bin/basic" ]; then
	echo "1..0 # SKIP shim or tests not built"
	exit 1
fi

case $mode in
host)
	echo "TAP version 13"
	echo "1..6"
	symbol_checks
	# linked directly instead of preloaded: installed shared library, and
	# the static archive (plus libsyslet.a)
	dest=$(mktemp -d /tmp/aio-inst.XXXXXX)
	tap_line 5 "linked with -lsyslet-aio (installed): the shim serves it" \
		direct_link "$dest" shared
	tap_line 6 "linked with libsyslet-aio.a and libsyslet.a: the shim serves it" \
		direct_link "$dest" static
	rm -rf "$dest"
	for t in $tests; do
		run "glibc/$t" "$bin/$t"
	done
	# no syslet system calls here: libsyslet's emulated backend (2)
	for t in $tests; do
		run "shim/$t" LD_PRELOAD="$shim" SYSLET_AIO_EXPECT_BACKEND=2 "$bin/$t"
		run "shim-lfs/$t" LD_PRELOAD="$shim" SYSLET_AIO_EXPECT_BACKEND=2 "$bin/$t-lfs"
		# versioned references need the dynamic linker (compat.c)
		[ "$t" = compat ] ||
			run "shim-san/$t" ASAN_OPTIONS=detect_leaks=0 SYSLET_AIO_EXPECT_BACKEND=2 "$bin/$t-san"
	done
	# the races around fork(), windows widened (no ASan: not fork-safe)
	run "shim-race/fork" SYSLET_AIO_EXPECT_BACKEND=2 "$bin/fork-race"
	# a pool of 64 requests: unread writes must not fill it
	run "shim-pool64/basic" LD_PRELOAD="$shim" SYSLET_AIO_MAX=64 \
		TAP_FILTER=unread_writes "$bin/basic"
	# differential: what glibc does, the shim does (diff.c)
	trace=$(mktemp /tmp/aio-diff.XXXXXX)
	run "glibc/diff" "$bin/diff" record "$trace"
	run "shim/diff" LD_PRELOAD="$shim" "$bin/diff" compare "$trace"
	run "shim-lfs/diff" LD_PRELOAD="$shim" "$bin/diff-lfs" compare "$trace"
	run "shim-noinline/diff" LD_PRELOAD="$shim" SYSLET_AIO_INLINE=0 "$bin/diff" compare "$trace"
	run "shim-san/diff" ASAN_OPTIONS=detect_leaks=0 "$bin/diff-san" compare "$trace"
	rm -f "$trace"
	# unmodified real clients: fio posixaio with verify, stress-ng --aio
	run "clients" "$SYSLET_TOP/tests/aio/clients.sh" host emulated
	# file reads through the engine's workers too (here /tmp's hot reads
	# are otherwise done in the caller: RWF_NOWAIT)
	for t in basic lio threads shim; do
		run "shim-noinline/$t" LD_PRELOAD="$shim" SYSLET_AIO_INLINE=0 \
			SYSLET_AIO_EXPECT_BACKEND=2 "$bin/$t"
	done
	;;
guest)
	expect=
	# async_limits(NULL, buf, 0), its number from <linux/syslet.h>
	nr=$(awk '$1 == "#define" && $2 == "SYSLET_NR_ASYNC_LIMITS" { print $3 }' \
		"$SYSLET_TOP/include/uapi/linux/syslet.h")
	if python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
ctypes.memmove(buf, (ctypes.c_uint32 * 1)(64), 4)
z = ctypes.c_long(0)
sys.exit(0 if libc.syscall(ctypes.c_long(int(sys.argv[1])), None, buf,
			   z, z, z, z) == 0 else 1)' "$nr" 2>/dev/null; then
		expect=1
	fi
	echo "TAP version 13"
	echo "1..6"
	symbol_checks
	if [ -n "$expect" ]; then
		tap_line 5 "kernel has the syslet system calls: the shim is to use them" true
	else
		echo "not ok 5 the guest kernel has no syslet system calls"
		status=1
	fi
	# /tmp is tmpfs here, where a write never waits: its thread is free
	# again at once.  glibc.c's
	# thread-bound and cancel tests write in SYSLET_AIO_BLOCKING_DIR
	# instead, ext4 on a loop device, where an O_DSYNC write waits for the
	# device, and there fail unless their case occurred.
	bwork=$(mktemp -d /tmp/aio-blocking.XXXXXX)
	blocking_setup() {
		truncate -s 256M "$bwork/ext4.img" &&
		loop=$(losetup -f --show "$bwork/ext4.img") &&
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard \
			"$loop" &&
		mkdir "$bwork/mnt" && mount -t ext4 "$loop" "$bwork/mnt"
	}
	loop=
	blocking_setup >"$bwork/setup.log" 2>&1
	tap_line 6 "ext4 on a loop device for the writes that must block" \
		sh -c 'mountpoint -q "$1" || { cat "$2"; exit 1; }' sh \
		"$bwork/mnt" "$bwork/setup.log"
	export SYSLET_AIO_BLOCKING_DIR=$bwork/mnt
	# the default: libsyslet picks the kernel backend (1)
	for t in $tests; do
		run "guest-shim/$t" LD_PRELOAD="$shim" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} "$bin/$t"
	done
	run "guest-race/fork" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} "$bin/fork-race"
	# a completion reaped by another thread just before an untimed
	# leader sleeps in the engine (complete.c lead_sleep), and news with
	# a signal due before it reads the head: windows widened
	run "guest-race/suspend" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} \
		TAP_FILTER=untimed_wait "$bin/suspend-race"
	# a signal set to SIG_IGN sent while a timed wait blocks it (before
	# its sleep): dropped, not an EINTR
	run "guest-race/suspend-ignored" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} \
		TAP_FILTER=ignored_signal "$bin/suspend-race"
	# a handler inside the shim polls a read done in the ring (white-box:
	# the depth raised by the test, basic.c)
	run "guest-race/basic" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} \
		TAP_FILTER=handler_inside "$bin/basic-race"
	run "guest-shim-pool64/basic" LD_PRELOAD="$shim" SYSLET_AIO_MAX=64 \
		TAP_FILTER=unread_writes "$bin/basic"
	# differential: glibc's AIO on this kernel, then the shim on each backend
	trace=$(mktemp /tmp/aio-diff.XXXXXX)
	run "guest-glibc/diff" "$bin/diff" record "$trace"
	run "guest-shim/diff" LD_PRELOAD="$shim" "$bin/diff" compare "$trace"
	run "guest-shim-emulated/diff" LD_PRELOAD="$shim" SYSLET_BACKEND=emulated \
		SYSLET_AIO_INLINE=0 "$bin/diff" compare "$trace"
	rm -f "$trace"
	run "guest-clients" "$SYSLET_TOP/tests/aio/clients.sh" guest kernel emulated
	for t in shim compat; do
		run "guest-shim-lfs/$t" LD_PRELOAD="$shim" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} "$bin/$t-lfs"
	done
	# and libsyslet's emulated backend, every request through its workers
	# (SYSLET_AIO_INLINE=0: the guest's /tmp is tmpfs, whose reads the
	# shim would otherwise do in the caller)
	for t in $tests; do
		run "guest-shim-emulated/$t" LD_PRELOAD="$shim" SYSLET_BACKEND=emulated \
			SYSLET_AIO_INLINE=0 SYSLET_AIO_EXPECT_BACKEND=2 "$bin/$t"
	done
	mountpoint -q "$bwork/mnt" && umount "$bwork/mnt"
	[ -z "$loop" ] || losetup -d "$loop"
	rm -rf "$bwork"
	;;
esac
exit $status
