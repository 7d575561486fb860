#!/bin/bash
# Instructions per function of one kernel call, in the guest (a tool, not
# a test): boots the guest with QEMU's gdbstub, runs CMD in it, and
# single-steps the SKIP+1th call of kernel function FUNC from its entry
# until the vCPU is back in user space (scripts/itrace.py).
#
#   scripts/itrace.sh [-k fast|debug] [-v 6.1|6.12] [-s SKIP] [-o FILE]
#                     FUNC -- CMD...
#
# e.g.  scripts/itrace.sh __x64_sys_async_exec -- build/bench/chain-loop pobthrread 600
#
# CMD should make the call over and over (bench/chain-loop.c does) for
# longer than the trace takes: about 10 s per 5,000 instructions.  The
# table goes to FILE (default build/results/itrace.txt) and to stdout,
# gdb's own output to FILE.gdb.log.
# A trace that reaches ITRACE_MAX (50,000) steps went where the call did
# not (the CPU's idle loop, another task): its header says so; trace
# another call (a larger -s).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
. "$top/scripts/kver.sh"
variant=fast
kver=${KVER:-$KVER_DEFAULT}
skip=50
out=$build/results/itrace.txt
while getopts "k:v:s:o:" o; do
	case $o in
	k) variant=$OPTARG ;;
	v) kver=$OPTARG ;;
	s) skip=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] && [ "$2" = -- ] ||
	{ echo "usage: $0 [-k variant] [-v version] [-s skip] [-o file] FUNC -- CMD" >&2; exit 2; }
func=$1
shift 2
kver_check "$kver"
vmlinux=$(kver_out "$build" "$kver" "$variant")/vmlinux
[ -f "$vmlinux" ] || { echo "itrace: no $vmlinux (scripts/kernel.sh $variant $kver)" >&2; exit 2; }
command -v gdb >/dev/null || { echo "itrace: gdb is needed (apt-get install gdb)" >&2; exit 2; }

# a free port for the gdbstub
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$(dirname "$out")"
log=$(mktemp)
guest=
# the guest's QEMU is found by its gdbstub address (guest-run.sh's child)
trap '[ -z "$guest" ] || kill $guest 2>/dev/null
      pkill -f "tcp:127.0.0.1:$port" 2>/dev/null; rm -f "$log"' EXIT
SYSLET_QEMU_ARGS="${SYSLET_QEMU_ARGS:-} -gdb tcp:127.0.0.1:$port" \
	"$top/scripts/guest-run.sh" -k "$variant" -v "$kver" -t 1800 -- "$*" \
	> "$log" 2>&1 &
guest=$!
for _ in $(seq 60); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
		2>/dev/null && break
	sleep 1
done
ITRACE_VMLINUX=$vmlinux ITRACE_PORT=$port ITRACE_FUNC=$func \
ITRACE_SKIP=$skip ITRACE_OUT=$out \
	timeout 1200 gdb -nx -batch -x "$top/scripts/itrace.py" \
	>"$out.gdb.log" 2>&1 ||
	{ echo "itrace: gdb failed ($out.gdb.log); the guest said:" >&2
	  tail -20 "$log" >&2; exit 1; }
cat "$out"
