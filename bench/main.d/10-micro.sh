#!/bin/bash
# The kernel engine's raw costs (issues 3 and 8): plain syscall, SYSLET_SYNC
# chain, async round trip, pass-on-block in the caller and its hand-off,
# against pthread_create, and 64 sleeping chains at once.
echo "== syslet-micro (ratios to a plain system call)"
n=20000
[ "${1:-short}" = full ] && n=100000
exec "$SYSLET_BUILD/bench/syslet-micro" "$n"
