#!/bin/bash
# libsyslet's TAP suite on the kernel backend, in the guest (plain and
# ASan+UBSan); built on the host by tests/lib/Makefile (make userspace).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
bin=$build/tests/lib
export SYSLET_BACKEND=kernel
# TCG is slow, and other guests may share the two cores
export TAP_TIMEOUT=${TAP_TIMEOUT:-300}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in core ctx chain submit wait cq limits prep stress cancel threadlet \
	lost probe forkinit; do
	for v in "$t" "$t-san"; do
		if [ ! -x "$bin/$v" ]; then
			echo "not ok 1 $v not built"; status=1; continue
		fi
		echo "# $v (SYSLET_BACKEND=$SYSLET_BACKEND)"
		"$bin/$v" || status=1
	done
done
# <syslet.h> compiled as C++ (-pedantic) and run (tests/lib/cxx.cc)
echo "# cxx (SYSLET_BACKEND=$SYSLET_BACKEND)"
"$bin/cxx" || status=1
# a program under ASan with the plain library: no threadlet in the caller
echo "# threadlet-asan (SYSLET_BACKEND=$SYSLET_BACKEND)"
"$bin/threadlet-asan" || status=1
exit $status
