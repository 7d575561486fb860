#!/bin/bash
# Run a command with N busy loops on the host beside it:
#
#   scripts/host-busy.sh N -- CMD...
#
# The loops compete with the guest's vCPUs for the host's CPUs, as steal
# time does in a cloud VM (see HOST_BUSY in README.md).  Each loop is a
# child of this script, bounded by a timeout as a safety net, and killed
# by its PID when CMD ends (or this script is interrupted).  The exit
# status is CMD's.
set -u
n=${1:?usage: $0 N -- CMD...}
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 N -- CMD..." >&2; exit 2; }
case $n in ''|*[!0-9]*) echo "host-busy: N must be a number" >&2; exit 2 ;; esac

pids=()
stop() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	pids=()
}
trap 'stop; exit 130' INT TERM
trap stop EXIT
for ((i = 0; i < n; i++)); do
	# a safety net only: the loops are killed when CMD ends
	timeout "${HOST_BUSY_MAX_SECS:-7200}" sh -c 'while :; do :; done' &
	pids+=($!)
done
[ "$n" -gt 0 ] && echo "host-busy: $n busy loop(s) on the host (pids ${pids[*]})"
"$@"
rc=$?
stop
exit $rc
