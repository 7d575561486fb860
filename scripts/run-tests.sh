#!/bin/bash
# Run every executable tests/<kind>/*.sh (kind: host or guest), each of which
# prints TAP; keep each one's output in $SYSLET_OUT/<kind>/<name>.tap, for
# the guest in $SYSLET_OUT/guest-<version>/ (the booted kernel's version,
# $SYSLET_KVER, set by the guest's init: each version's results are kept).
# Exits non-zero if any script failed.  The summary is scripts/tap-summary's.
# FILTER, if given, is a space-separated list: a script runs if its name
# contains one of them.  It may come as one argument or several (a guest
# run's command line is re-split: scripts/guest-run.sh).
set -u
kind=${1:?usage: run-tests.sh host|guest [filter...]}
shift
filter=$*
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
export SYSLET_TOP=$top
export SYSLET_BUILD=${SYSLET_BUILD:-$top/build}
export SYSLET_OUT=${SYSLET_OUT:-$SYSLET_BUILD/results}
dir=$SYSLET_OUT/$kind
[ "$kind" = guest ] && [ -n "${SYSLET_KVER:-}" ] && dir=$dir-$SYSLET_KVER
mkdir -p "$dir"
rm -f "$dir"/*.tap "$dir"/*.rc
status=0
for t in "$top"/tests/"$kind"/*.sh; do
	[ -x "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$filter" ]; then
		hit=
		for f in $filter; do
			case $name in *"$f"*) hit=1 ;; esac
		done
		[ -n "$hit" ] || continue
	fi
	echo "# ---- $kind: $name"
	start=$(date +%s)
	"$t" 2>&1 | tee "$dir/$name.tap"
	rc=${PIPESTATUS[0]}
	echo "$rc" > "$dir/$name.rc"
	echo "# ---- $kind: $name exit $rc in $(( $(date +%s) - start )) s"
	if [ $rc != 0 ]; then
		status=1
		# a script that died without a failing TAP line still counts
		grep -q '^[ \t]*not ok' "$dir/$name.tap" ||
			echo "not ok 1 $name exited with status $rc" >> "$dir/$name.tap"
	fi
done
exit $status
