#!/bin/bash
# The parallel copy example against cp on a slow null_blk (issue 4).
set -e
echo "== pcopy (16 chains in flight) vs cp: 32 MiB from null_blk, 2 ms per I/O"
bytes=32M
[ "${1:-short}" = full ] && bytes=128M
rmmod null_blk 2>/dev/null || true
modprobe -d "$SYSLET_MODROOT" null_blk completion_nsec=2000000 irqmode=2 \
	gb=1 memory_backed=1
trap 'rmmod null_blk 2>/dev/null || true' EXIT
dd if=/dev/urandom of=/dev/nullb0 bs=1M count=${bytes%M} status=none
sync
"$SYSLET_BUILD/userspace/examples/pcopy-vs-cp.sh" /dev/nullb0 "$bytes"
