#!/bin/bash
# Run the POSIX AIO tests in the ways that matter; prints TAP (one stream
# per program run, each with its own plan) and exits non-zero on failure.
#
#   run.sh host	  glibc (validates the tests), the shim preloaded into the
#		  unmodified binaries (plain and _FILE_OFFSET_BITS=64), the
#		  shim linked in with ASan+UBSan, and the symbol bindings
#   run.sh guest  the shim preloaded, on the kernel backend when the
#		  running kernel has the syslet system calls
set -u
mode=${1:?usage: run.sh host|guest}
build=${SYSLET_BUILD:?}
bin=$build/tests/aio
shim=$build/userspace/aio/libsyslet-aio.so
tests="basic suspend cancel notify lio order fork threads shim"
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

# Every aio/lio symbol that PROGRAM references binds to the shim, none to libc.
bindings() {
	local prog=$1 log
	log=$(LD_PRELOAD=$shim LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=/tmp/aio-bind.$$ \
		TAP_FILTER=requests_counted "$prog" >/dev/null 2>&1; cat /tmp/aio-bind.$$.*; rm -f /tmp/aio-bind.$$.*)
	local want=$2 sym
	for sym in $want; do
		echo "$log" | grep -q "to $shim \[0\]: normal symbol \`$sym'" ||
			{ echo "$sym does not bind to the shim"; return 1; }
	done
	if echo "$log" | grep -E "libc\.so\.6 \[0\]: normal symbol \`(aio|lio)_" | grep -v "file $shim"; then
		echo "some AIO symbol binds to libc"
		return 1
	fi
}

if [ ! -f "$shim" ] || [ ! -x "$bin/basic" ]; then
	echo "1..0 # SKIP shim or tests not built"
	exit 1
fi

case $mode in
host)
	echo "TAP version 13"
	echo "1..2"
	tap_line 1 "unmodified binary: every aio_* reference binds to the shim" \
		bindings "$bin/shim" "aio_read aio_write aio_error aio_return aio_suspend aio_fsync aio_cancel lio_listio aio_init aio_read64 aio_write64 aio_error64 aio_return64 aio_suspend64 aio_fsync64 aio_cancel64 lio_listio64"
	tap_line 2 "_FILE_OFFSET_BITS=64 binary: the *64 references bind to the shim" \
		bindings "$bin/shim-lfs" "aio_read64 aio_write64 aio_error64 aio_return64 aio_suspend64 aio_fsync64 aio_cancel64 lio_listio64"
	for t in $tests; do
		run "glibc/$t" "$bin/$t"
	done
	for t in $tests; do
		run "shim/$t" LD_PRELOAD="$shim" "$bin/$t"
		run "shim-lfs/$t" LD_PRELOAD="$shim" "$bin/$t-lfs"
		run "shim-san/$t" ASAN_OPTIONS=detect_leaks=0 "$bin/$t-san"
	done
	;;
guest)
	expect=
	if python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
ctypes.memmove(buf, (ctypes.c_uint32 * 1)(64), 4)
sys.exit(0 if libc.syscall(454, None, buf) == 0 else 1)' 2>/dev/null; then
		expect=1
	fi
	echo "TAP version 13"
	echo "1..1"
	if [ -n "$expect" ]; then
		tap_line 1 "kernel has the syslet system calls: shim uses the kernel backend" true
	else
		echo "ok 1 kernel backend # SKIP this kernel has no syslet system calls yet"
	fi
	for t in $tests; do
		run "guest-shim/$t" LD_PRELOAD="$shim" ${expect:+SYSLET_AIO_EXPECT_BACKEND=$expect} "$bin/$t"
	done
	run "guest-shim-lfs/shim" LD_PRELOAD="$shim" "$bin/shim-lfs"
	;;
esac
exit $status
