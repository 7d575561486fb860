#!/bin/bash
# make run: build everything, boot the patched kernel in QEMU and run the
# main job (scripts/main-job.sh short) there.  Results are kept in
# build/results/run/.  The kernel is Linux 6.12 unless KVER=6.1 (make run
# KVER=6.1).
#
# HOST_BUSY=N (make run HOST_BUSY=2) then runs the fio comparison again,
# in a second boot, with N busy loops on the host beside the guest
# (scripts/host-busy.sh): the guest's vCPUs are preempted by the host, as
# with steal time in a cloud VM.  HOST_BUSY_ONLY=WORKLOAD limits that run
# to the workloads whose name contains WORKLOAD (e.g. cold-qd64).  Its
# results are in build/results/bench/short-host-busy-N/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
busy=${HOST_BUSY:-0}
case $busy in ''|*[!0-9]*) echo "run: HOST_BUSY must be a number" >&2; exit 2 ;; esac
kver=${KVER:-6.12}
scripts/kernel.sh fast "$kver"
make --no-print-directory userspace
timeout=${SYSLET_RUN_TIMEOUT:-1800}
if [ "$busy" = 0 ]; then
	exec scripts/guest-run.sh -v "$kver" -t "$timeout" -- scripts/main-job.sh short
fi
rc=0
scripts/guest-run.sh -v "$kver" -t "$timeout" -- scripts/main-job.sh short || rc=$?
echo
echo "== the fio comparison again, with $busy busy loop(s) on the host"
scripts/host-busy.sh "$busy" -- scripts/guest-run.sh -v "$kver" -t "$timeout" -- \
	python3 bench/fio-compare.py --mode short --host-busy "$busy" \
	${HOST_BUSY_ONLY:+--only "$HOST_BUSY_ONLY"} || rc=1
exit $rc
