#!/bin/bash
# make test: build everything, then run the static checks, the host tests
# and the guest tests, whatever failed before, and print one summary.
# Build and check stages are reported as TAP too (build/results/stages.tap),
# so a broken build counts as a failure, not as "no tests".
#
#   scripts/test.sh [fast|debug] [VERSION...]
#
# Every kernel version named (default: all supported, 6.1 and 6.12) is
# built, checked and booted; results per version in
# build/results/guest-<version>/.  The versions in $SYSLET_GUEST_FULL
# (default: all) run the whole guest suite, the others the scripts that
# test what differs between the kernels, $SYSLET_GUEST_SUBSET (the kernel
# tests, io_submit() among them, libsyslet on the kernel, the driver; see
# README.md), for a shorter run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kver.sh"
variant=${1:-fast}
shift || true
kvers=("$@")
[ ${#kvers[@]} -gt 0 ] || read -ra kvers <<< "$KVER_SUPPORTED"
for v in "${kvers[@]}"; do kver_check "$v"; done
export SYSLET_TOP=$top
export SYSLET_BUILD=${SYSLET_BUILD:-$top/build}
export SYSLET_OUT=$SYSLET_BUILD/results
mkdir -p "$SYSLET_OUT"
rm -rf "$SYSLET_OUT/host" "$SYSLET_OUT"/guest "$SYSLET_OUT"/guest-* \
	"$SYSLET_OUT"/*.tap
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
declare -A kernel_ok
for v in "${kvers[@]}"; do
	stage "kernel build ($v $variant)" scripts/kernel.sh "$variant" "$v"
	kernel_ok[$v]=$?
done
stage "fio build" scripts/fio.sh
fio_ok=$?
# libaio's harness for tests/guest/36-aio-clients.sh (make aio-clients):
# without it that script skips the harness, the rest still runs
stage "libaio harness build" scripts/libaio-harness.sh
stage "user-space build" make --no-print-directory userspace
user_ok=$?
for v in "${kvers[@]}"; do
	[ "${kernel_ok[$v]}" = 0 ] || continue
	# shellcheck disable=SC2016
	stage "kernel static checks ($v)" bash -c \
		'scripts/check.sh "$0" > "$SYSLET_OUT/check-$0.tap"; rc=$?
		 cat "$SYSLET_OUT/check-$0.tap"; exit $rc' "$v"
done
if [ $user_ok = 0 ]; then
	stage "host tests" scripts/run-tests.sh host
fi
# The debug kernel (KASAN, lockdep) runs the same suite 2-3 times slower
# under TCG: 42 minutes were not enough for it on a loaded 2-core host.
guest_timeout=2400
[ "$variant" = debug ] && guest_timeout=5400
# The preemption model each kernel's guest suite boots (the kernels are
# built PREEMPT_DYNAMIC, voluntary by default, as Debian's): 6.12 fully
# preemptible, where a task may be preempted anywhere outside an atomic
# section (which voluntary never does); 6.1 the default, voluntary, which
# is what make run and make bench boot.  $SYSLET_PREEMPT (none, voluntary
# or full) boots every version with that one.
preempt_of() {
	if [ -n "${SYSLET_PREEMPT:-}" ]; then
		echo "$SYSLET_PREEMPT"
	elif [ "$1" = 6.1 ]; then
		echo voluntary
	else
		echo full
	fi
}
full=${SYSLET_GUEST_FULL:-${kvers[*]}}
subset=${SYSLET_GUEST_SUBSET:-00-harness 10-kernel 20-libsyslet 30-driver}
for v in "${kvers[@]}"; do
	if [ "${kernel_ok[$v]}" = 0 ] && [ $user_ok = 0 ] && [ $fio_ok = 0 ]; then
		case " $full " in
		*" $v "*) which= filter= ;;
		*) which=", subset" filter=$subset ;;
		esac
		preempt=$(preempt_of "$v")
		stage "guest tests ($v $variant kernel, preempt=$preempt$which)" scripts/guest-run.sh \
			-k "$variant" -v "$v" -a "preempt=$preempt" \
			-t "${SYSLET_GUEST_TIMEOUT:-$guest_timeout}" \
			-- scripts/run-tests.sh guest "$filter"
	fi
done

echo "==== summary ($(( $(date +%s) - t0 )) s)"
shopt -s nullglob
scripts/tap-summary "$stages" "$SYSLET_OUT"/check-*.tap \
	"$SYSLET_OUT"/host/*.tap "$SYSLET_OUT"/guest-*/*.tap
