#!/bin/bash
# libsyslet's TAP suite on the emulated backend, plain and ASan+UBSan.
# (tests/guest/20-libsyslet.sh runs the same programs on the kernel one.)
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
bin=$build/tests/lib
make --no-print-directory -s -C "$top/tests/lib" O="$bin" >&2 || exit 1
export SYSLET_BACKEND=emulated
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in core stress cancel threadlet; do
	for v in "$t" "$t-san"; do
		[ -x "$bin/$v" ] || continue
		echo "# $v (SYSLET_BACKEND=$SYSLET_BACKEND)"
		"$bin/$v" || status=1
	done
done
exit $status
