#!/bin/sh
# The simulated acquisition device (issue 7): drivers/misc/syslet-daq.
# Loads the module, runs the driver's tests (which set its parameters),
# then the unload tests (which unload and reload it), then the recorder
# example once (its file must verify), and unloads the module.
d=$SYSLET_BUILD/tests/driver
rec=$SYSLET_BUILD/userspace/examples/daq/daq-record
rc=0
if ! modprobe -d "$SYSLET_MODROOT" syslet_daq; then
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 modprobe syslet_daq"
	exit 1
fi
"$d/daq" || rc=1
"$d/unload" || rc=1
echo "TAP version 13"
echo "1..1"
if out=$("$rec" -s 32 -c 1024 -n 4 -o /tmp/daq-record.dat 2>&1); then
	echo "$out" | sed 's/^/# /'
	echo "ok 1 daq-record: read/write, splice and syslet recordings verify"
else
	echo "$out" | sed 's/^/# /'
	echo "not ok 1 daq-record"
	rc=1
fi
for i in 1 2 3 4 5 6 7 8 9 10; do rmmod syslet_daq 2>/dev/null && break; sleep 1; done
exit $rc
