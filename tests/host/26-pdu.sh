#!/bin/bash
# The parallel du example (userspace/examples/pdu.c) against du on the
# host, on the emulated backend (tests/lib/pdu.sh; tests/guest/26-pdu.sh
# runs it on the kernel backend).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
ex=$build/userspace/examples
make --no-print-directory -s -C "$top/userspace/examples" O="$ex" "$ex/pdu" >&2 || exit 1
exec "$top/tests/lib/pdu.sh" emulated
