#!/bin/bash
# The simulated acquisition device recorded three ways (issue 7): a
# read/write loop, a synchronous splice loop and syslet splice chains.
set -e
echo "== daq-record: 200 MB/s simulated DMA, 64 MiB each way"
mb=64
[ "${1:-short}" = full ] && mb=256
lsmod 2>/dev/null | grep -q '^syslet_daq' ||
	modprobe -d "$SYSLET_MODROOT" syslet_daq
"$SYSLET_BUILD/userspace/examples/daq/daq-record" -s "$mb" -c 1024 -n 4 \
	-o /tmp/daq-record.dat
