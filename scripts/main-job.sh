#!/bin/bash
# The main job, run inside the guest: every executable bench/main.d/*.sh in
# order, each given the mode (short for 'make run', full for 'make bench').
# Each prints a readable section; output is also kept in
# $SYSLET_OUT/run/<name>.txt.
set -u
mode=${1:-short}
dir=$SYSLET_OUT/run
mkdir -p "$dir"
status=0
for s in "$SYSLET_TOP"/bench/main.d/*.sh; do
	[ -x "$s" ] || continue
	name=$(basename "$s" .sh)
	"$s" "$mode" 2>&1 | tee "$dir/$name.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || { echo "main job: $name failed"; status=1; }
	echo
done
exit $status
