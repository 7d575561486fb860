#!/bin/bash
# The ratios the issues set targets on, as medians of interleaved runs in
# this boot (bench/fio-busy.py): one run of hot-qd1 moves by 20% from the
# next, and one of cold-qd64 by 10%, so the comparison's single runs
# (50-fio.sh) cannot say whether 0.95x or 1.0x is met.  Each engine runs
# $FIO_MEDIAN_REPS times (5), the base engine first in every round, and the
# ratio is taken to the base's run of the same round.
reps=${FIO_MEDIAN_REPS:-5}
runtime=3
[ "${1:-short}" = full ] && runtime=8
out=$SYSLET_OUT/bench/medians
mkdir -p "$out"
rc=0
echo "== medians of $reps interleaved runs: hot QD1 (base psync; targets: syslet >= 0.95x psync, the shim >= 0.9x psync, libaio+engine >= 0.95x libaio)"
python3 "$SYSLET_TOP/bench/fio-busy.py" --workload hot-qd1 --reps "$reps" \
	--runtime "$runtime" --json "$out/hot-qd1.json" \
	--engines psync,syslet,libaio,libaio+engine,posixaio+shim,posixaio+floor \
	--pair libaio+engine/libaio --pair posixaio+shim/posixaio+floor || rc=1
echo
echo "== medians of $reps interleaved runs: cold QD64 (base io_uring; targets: syslet >= 1.0x, libaio+engine >= 0.9x)"
python3 "$SYSLET_TOP/bench/fio-busy.py" --workload cold-qd64 --reps "$reps" \
	--runtime "$runtime" --json "$out/cold-qd64.json" \
	--engines io_uring,syslet,libaio,libaio+engine,posixaio+shim \
	--pair libaio+engine/libaio || rc=1
exit $rc
