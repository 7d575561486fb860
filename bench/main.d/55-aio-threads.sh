#!/bin/bash
# POSIX AIO: threads alive while 128 writes are queued on one file, glibc's
# AIO against the shim on each backend (issue 17).  The same program
# (bench/aio-threads.c) each time.
b=$SYSLET_BUILD/bench/aio-threads
shim=$SYSLET_BUILD/userspace/aio/libsyslet-aio.so
dir=${1:-short}
[ -x "$b" ] && [ -f "$shim" ] || { echo "aio-threads: $b or $shim missing"; exit 0; }
row() {	# row LABEL ENV...: one table row from one run
	local label=$1 out
	shift
	out=$(env "$@" "$b" /tmp 128 16384 2>&1)
	# "threads_peak P threads_after A ms T failed F"
	set -- $out
	echo "| $label | $2 | $4 | $6 | $8 |"
}
echo "== POSIX AIO: 128 writes of 16 KiB queued on one O_DSYNC file in /tmp ($(findmnt -no FSTYPE -T /tmp 2>/dev/null))"
echo "| AIO | threads alive (peak, with the program's own) | threads after | ms | failed |"
echo "|---|---|---|---|---|"
row "glibc"
row "shim, libsyslet's choice of backend" LD_PRELOAD="$shim"
row "shim, emulated backend" LD_PRELOAD="$shim" SYSLET_BACKEND=emulated
row "shim, emulated, aio_threads=4 (SYSLET_AIO_THREADS)" LD_PRELOAD="$shim" SYSLET_BACKEND=emulated SYSLET_AIO_THREADS=4
echo
echo "glibc runs the requests of one descriptor on one thread; the shim runs up to aio_threads (glibc's default 20) at once."
