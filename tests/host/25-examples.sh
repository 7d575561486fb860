#!/bin/bash
# The libsyslet examples (userspace/examples/) run on the host, on the
# emulated backend: each one's output and exit status are checked
# (tests/lib/examples.sh; tests/guest/25-examples.sh runs them on the
# kernel backend).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
ex=$build/userspace/examples
make --no-print-directory -s -C "$top/userspace/examples" O="$ex" \
	"$ex/oneshot-read" "$ex/chain" "$ex/threadlet" "$ex/pcopy" \
	"$ex/cancel" >&2 || exit 1
exec "$top/tests/lib/examples.sh" emulated
