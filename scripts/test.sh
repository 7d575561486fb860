#!/bin/bash
# make test: build everything, then run the static checks, the host tests
# and the guest tests, whatever failed before, and print one summary.
# Build and check stages are reported as TAP too (build/results/stages.tap),
# so a broken build counts as a failure, not as "no tests".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-fast}
export SYSLET_TOP=$top
export SYSLET_BUILD=${SYSLET_BUILD:-$top/build}
export SYSLET_OUT=$SYSLET_BUILD/results
mkdir -p "$SYSLET_OUT"
rm -rf "$SYSLET_OUT/host" "$SYSLET_OUT/guest" "$SYSLET_OUT"/*.tap
stages=$SYSLET_OUT/stages.tap
: > "$stages"
n=0
t0=$(date +%s)

stage() {
	local name=$1 start rc
	shift
	start=$(date +%s)
	echo "==== $name"
	"$@"
	rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then
		echo "ok $n $name" >> "$stages"
	else
		echo "not ok $n $name (exit $rc)" >> "$stages"
	fi
	echo "==== $name: exit $rc in $(( $(date +%s) - start )) s"
	return $rc
}

cd "$top"
stage "kernel build ($variant)" scripts/kernel.sh "$variant"
kernel_ok=$?
stage "fio build" scripts/fio.sh
fio_ok=$?
stage "user-space build" make --no-print-directory userspace
user_ok=$?
if [ $kernel_ok = 0 ]; then
	stage "kernel static checks" bash -c \
		'scripts/check.sh > "$SYSLET_OUT/check.tap"; rc=$?; cat "$SYSLET_OUT/check.tap"; exit $rc'
fi
if [ $user_ok = 0 ]; then
	stage "host tests" scripts/run-tests.sh host
fi
# The debug kernel (KASAN, lockdep) runs the same suite 2-3 times slower
# under TCG: 42 minutes were not enough for it on a loaded 2-core host.
guest_timeout=2400
[ "$variant" = debug ] && guest_timeout=5400
if [ $kernel_ok = 0 ] && [ $user_ok = 0 ] && [ $fio_ok = 0 ]; then
	stage "guest tests ($variant kernel)" scripts/guest-run.sh -k "$variant" \
		-t "${SYSLET_GUEST_TIMEOUT:-$guest_timeout}" -- scripts/run-tests.sh guest
fi

echo "==== summary ($(( $(date +%s) - t0 )) s)"
shopt -s nullglob
scripts/tap-summary "$stages" "$SYSLET_OUT"/check.tap \
	"$SYSLET_OUT"/host/*.tap "$SYSLET_OUT"/guest/*.tap
