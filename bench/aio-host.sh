#!/bin/bash
# POSIX AIO on the host: fio's posixaio engine with glibc against the same
# fio with libsyslet-aio preloaded, 4k random reads of a page-cache-hot
# file at iodepth 1 and 32, with psync and io_uring for reference.  On a
# kernel without the syslet engine (the usual host) the shim runs on
# libsyslet's emulated backend.  A benchmark: prints a table, never asserts.
#
#   bench/aio-host.sh [-t SECONDS] [-s SIZE_MB] [DIR...]
#
# DIR: where the test file goes (default: /dev/shm and /tmp, i.e. tmpfs
# and, usually, a disk file system; they differ for the shim because tmpfs
# may lack RWF_NOWAIT).  The file is read once before the runs and fio is
# told not to drop its cache (--invalidate=0).  Then the threads alive while
# 128 writes are queued on one file (bench/main.d/55-aio-threads.sh).  Raw fio JSON goes to
# $SYSLET_OUT/bench/aio-host/ (default build/results).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
out=${SYSLET_OUT:-$build/results}/bench/aio-host
fio=$build/fio/fio
shim=$build/userspace/aio/libsyslet-aio.so
secs=5
size=256
while getopts t:s: o; do
	case $o in
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	*) sed -n '9p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(/dev/shm /tmp)

[ -x "$fio" ] || { echo "aio-host: $fio missing (scripts/fio.sh)"; exit 1; }
[ -f "$shim" ] || { echo "aio-host: $shim missing (make userspace)"; exit 1; }
mkdir -p "$out"

# iops JSONFILE: read IOPS of the first job (fio may print notes first)
iops() {
	python3 - "$1" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
try:
    print("%.0f" % json.loads(t[t.index("{"):])["jobs"][0]["read"]["iops"])
except (ValueError, KeyError, IndexError):
    print(0)
EOF
}

# job NAME FILE QD [VAR=VALUE...] -- FIO ARGS...: prints the IOPS
job() {
	local name=$1 file=$2 qd=$3 json
	shift 3
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	json=$out/$name.json
	if ! env "${envs[@]}" "$fio" --name="$name" --filename="$file" \
		--rw=randread --bs=4k --iodepth="$qd" --runtime="$secs" \
		--time_based --ramp_time=1 --norandommap --randrepeat=0 \
		--invalidate=0 --output-format=json --output="$json" "$@" \
		>"$out/$name.log" 2>&1; then
		echo 0
		return
	fi
	iops "$json"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
usop() { awk -v a="$1" 'BEGIN { if (a > 0) printf "%.2f", 1e6 / a; else printf "-" }'; }

echo "== POSIX AIO on the host: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   fio $("$fio" --version), 4k randread, ${secs} s per job, ${size} MiB file, shim $shim"
for dir in "${dirs[@]}"; do
	fs=$(findmnt -no FSTYPE -T "$dir" 2>/dev/null || stat -f -c %T "$dir")
	file=$dir/aio-host.$$.dat
	trap 'rm -f "$file"' EXIT
	dd if=/dev/urandom of="$file" bs=1M count="$size" status=none
	cat "$file" >/dev/null
	tag=$(basename "$dir")
	psync=$(job "$tag-psync" "$file" 1 -- --ioengine=psync)
	declare -A r=()
	for qd in 1 32; do
		r[uring$qd]=$(job "$tag-io_uring-qd$qd" "$file" "$qd" -- --ioengine=io_uring)
		r[glibc$qd]=$(job "$tag-posixaio-qd$qd" "$file" "$qd" -- --ioengine=posixaio)
		r[shim$qd]=$(job "$tag-shim-qd$qd" "$file" "$qd" LD_PRELOAD="$shim" -- --ioengine=posixaio)
	done
	rm -f "$file"
	echo
	echo "### $dir ($fs), page-cache hot"
	echo "| QD | psync | io_uring | posixaio (glibc) | posixaio + shim | shim / glibc | shim / psync | shim / io_uring | glibc us/op | shim us/op |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for qd in 1 32; do
		echo "| $qd | $psync | ${r[uring$qd]} | ${r[glibc$qd]} | ${r[shim$qd]} |" \
			"$(ratio "${r[shim$qd]}" "${r[glibc$qd]}") |" \
			"$(ratio "${r[shim$qd]}" "$psync") |" \
			"$(ratio "${r[shim$qd]}" "${r[uring$qd]}") |" \
			"$(usop "${r[glibc$qd]}") | $(usop "${r[shim$qd]}") |"
	done
	unset r
done
echo
echo "psync runs at QD1 whatever the depth (one pread at a time); us/op is 1/IOPS."
echo "raw fio JSON: $out"
echo
SYSLET_BUILD=$build "$top/bench/main.d/55-aio-threads.sh"
