#!/bin/sh
# make fuzz, in the guest: at least CHAINS fuzzer chains (default 1,000,000)
# on whatever kernel the guest booted (make fuzz boots the debug kernel:
# lockdep, KASAN, kmemleak), then a kmemleak scan that must find nothing,
# and, for a run of 100,000 chains or more, a check that it did each of
# the rare operations (fuzz.c's "coverage" line) at least once.
# Prints TAP; the guest harness also fails on any oops/KASAN/lockdep/
# kmemleak report on the console.
#
#   tests/fuzz/long.sh [CHAINS [SEED [SECS]]]	(SECS: stop earlier)
chains=${1:-1000000}
seed=${2:-0}
secs=${3:-0}
build=${SYSLET_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
echo "# kernel: ${SYSLET_KERNEL:-?} $(uname -r)"
# whatever kmemleak suspects from boot is not the fuzzer's
kml=/sys/kernel/debug/kmemleak
[ -e "$kml" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -w "$kml" ] && echo clear > "$kml"
# lone O_DIRECT preads of a loop device: issued by async_exec() itself
truncate -s 4M /tmp/fuzz-blk.img
SYSLET_FUZZ_BLK=$(losetup -f --show /tmp/fuzz-blk.img) && export SYSLET_FUZZ_BLK
out=/tmp/fuzz-long.$$
{ "$build/tests/fuzz/syslet-fuzz" -s "$seed" -n "$chains" -t "$secs" -x 2
  echo $? > "$out.rc"; } | tee "$out"
rc=$(cat "$out.rc")
[ -n "$SYSLET_FUZZ_BLK" ] && losetup -d "$SYSLET_FUZZ_BLK"

# kmemleak: objects must be unreferenced for a while before a scan
# reports them; scan twice with a pause, as its documentation suggests.
if [ -w "$kml" ]; then
	echo scan > "$kml"; sleep 6; echo scan > "$kml"
	leaks=$(cat "$kml")
	if [ -z "$leaks" ]; then
		echo "ok 4 kmemleak: no leak reported after the run"
	else
		echo "not ok 4 kmemleak: leaks reported after the run"
		echo "$leaks" | head -80 | sed 's/^/# /'
		rc=1
	fi
else
	echo "not ok 4 kmemleak: $kml not available (is this the debug kernel?)"
	rc=1
fi

# A long run must have driven each of the rarer operations at least once:
# runs at a low RLIMIT_NPROC (thread creation failing, concurrent
# cancels), POST floods that met max_chains, real-time signals delivered
# while atoms installed temporary masks, async_wait()s with flags.  One
# that never did tested less than it claims (e.g. a low-RLIMIT_NPROC child that could not become
# uid 1000).
cov=$(sed -n 's/^# coverage: //p' "$out" | tail -1)
rm -f "$out" "$out.rc"
set -- $cov
ran=${2:-0}
if [ -z "$cov" ]; then
	echo "not ok 5 the run drove thread-creation failures, POST floods, real-time signals and wait flags # no coverage line"
	rc=1
elif [ "$ran" -lt 100000 ]; then
	echo "ok 5 the run drove thread-creation failures, POST floods, real-time signals and wait flags # SKIP $ran chains: a short run"
else
	missing=
	while [ $# -ge 2 ]; do
		[ "$1" != chains ] && [ "$2" = 0 ] && missing="$missing $1"
		shift 2
	done
	if [ -z "$missing" ]; then
		echo "ok 5 the run drove thread-creation failures, POST floods, real-time signals and wait flags ($cov)"
	else
		echo "not ok 5 the run drove thread-creation failures, POST floods, real-time signals and wait flags: none of:$missing ($cov)"
		rc=1
	fi
fi
exit $rc
