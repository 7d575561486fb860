#!/bin/bash
# Tests of the syslet fio engine, run by tests/host/40-fio.sh (emulated
# backend, files) and tests/guest/40-fio.sh (kernel and emulated backends,
# files on tmpfs and ext4, and a memory-backed null_blk device, buffered
# and O_DIRECT).  Prints TAP; exits non-zero if anything failed.
#
# The data checks are fio's own: verify=crc32c writes every block with a
# checksummed header and reads it all back through the same engine.  That
# verification really happens is itself tested: a block corrupted behind
# fio's back must make a verify_only pass fail.
set -u
where=${1:?usage: run-tests.sh host|guest}
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
out=${SYSLET_OUT:-$build/results}/fio-tests/$where
fio=$build/fio/fio
so=$build/fio-engine/syslet.so
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log "$out"/*.state
# fio writes verify state files (*-verify.state) in its working directory.
cd "$out" || exit 1

echo "TAP version 13"
n=0
failed=0
ok() {	# ok STATUS DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

if [ ! -x "$fio" ] || [ ! -f "$so" ]; then
	echo "1..1"
	echo "not ok 1 fio ($fio) and the engine ($so) are built"
	exit 1
fi

# Summarises fio's JSON as "error read_bytes write_bytes" (fio may print a
# note ahead of the JSON, hence the search for the first brace).
summary() {
	python3 - "$1" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
print(j["error"], j["read"]["io_bytes"], j["write"]["io_bytes"])
EOF
}

# fjob NAME BACKEND ARGS...: one fio job with the syslet engine; on
# success the JSON summary is in $res ("error read write").
fjob() {
	local name=$1 backend=$2
	shift 2
	"$fio" --name="$name" --ioengine=external:"$so" --backend="$backend" \
		--output-format=json --output="$out/$name.json" "$@" \
		> "$out/$name.log" 2>&1
	local rc=$?
	res=$(summary "$out/$name.json" 2>/dev/null || echo "nojson")
	return $rc
}

# verify_job NAME BACKEND SIZE ARGS...: writes SIZE bytes (a randrw job
# about half of it) with verify=crc32c and checks that fio read back at
# least what it wrote and found no error.
verify_job() {
	local name=$1 backend=$2 size=$3 err rd wr
	shift 3
	fjob "$name" "$backend" --size="$size" --verify=crc32c \
		--do_verify=1 "$@"
	local rc=$?
	read -r err rd wr <<< "$res"
	# size= counts reads and writes; a 50/50 mix writes about half.
	local need
	need=$(numfmt --from=iec "$size")
	case " $* " in *" --rw=randrw "*) need=$((need / 4)) ;; esac
	if [ $rc = 0 ] && [ "$err" = 0 ] && [ "${wr:-0}" -ge "$need" ] &&
	   [ "$rd" -ge "$wr" ]; then
		ok 0 "$name: $backend, $* (wrote $wr, verified $rd)"
	else
		ok 1 "$name: $backend, $*" "exit $rc, error/read/write: $res
$(tail -5 "$out/$name.log")"
	fi
}

# corrupt_job NAME BACKEND FILE ARGS...: writes FILE with verification,
# flips a byte inside a block behind fio's back, and expects a verify_only
# pass (same job, so the same offsets and seeds) to report the bad block.
corrupt_job() {
	local name=$1 backend=$2 file=$3 rc
	shift 3
	local args=(--filename="$file" --rw=randwrite --bs=4k --size=4M
		    --iodepth=8 --verify=crc32c "$@")
	if ! fjob "$name-write" "$backend" "${args[@]}"; then
		ok 1 "$name: $backend writes the file" "$(tail -5 "$out/$name-write.log")"
		return
	fi
	# Offset 1000000: inside block 244, past its verify header.
	printf '\377' | dd of="$file" bs=1 seek=1000000 conv=notrunc status=none
	sync
	[ -b "$file" ] && blockdev --flushbufs "$file" 2>/dev/null
	fjob "$name" "$backend" "${args[@]}" --verify_only
	rc=$?
	# fio exits 1 on a job error; a signal (abort, segfault) is a bug.
	if [ $rc = 1 ] && ! grep -q 'got signal' "$out/$name.log" &&
	   grep -q 'verify failed at file .* offset 999424' "$out/$name.json" "$out/$name.log"; then
		ok 0 "$name: $backend, verify_only finds the block corrupted behind fio's back"
	else
		ok 1 "$name: $backend, verify_only finds the corrupted block" "exit $rc: $(head -3 "$out/$name.log")"
	fi
}

# async_limits(NULL, &l, 0) with every argument passed, believed only if it
# fills l in (454, its number before ABI v1, is futex_wake from 6.7 on);
# the number from <linux/syslet.h>
kernel_has_syslets() {
	python3 - "$(awk '$1 == "#define" && $2 == "SYSLET_NR_ASYNC_LIMITS" { print $3 }' \
		"$top/include/uapi/linux/syslet.h")" <<'PY'
import ctypes, sys
l = (ctypes.c_uint32 * 16)(*([64] + [0xa5a5a5a5] * 15))
c = ctypes.CDLL(None, use_errno=True)
c.syscall.restype = ctypes.c_long
r = c.syscall(ctypes.c_long(int(sys.argv[1])), None, ctypes.byref(l), ctypes.c_long(0),
	      ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
sys.exit(0 if r == 0 and l[0] == 64 and l[1] and l[1] != 0xa5a5a5a5 else 1)
PY
}

# depth_sum NAME KEY: the sum of fio's iodepth_submit or iodepth_complete
# percentages (about 100 when every submission and completion is counted)
depth_sum() {
	python3 - "$out/$1.json" "$2" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
print(int(round(sum(j[sys.argv[2]].values()))))
PY
}

# depth_pct NAME KEY BUCKET: one bucket of that distribution, rounded
depth_pct() {
	python3 - "$out/$1.json" "$2" "$3" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
print(int(round(j[sys.argv[2]][sys.argv[3]])))
PY
}

# accounting_job NAME BACKEND ARGS...: I/Os completed in ->queue() count
# in fio's submit and complete distributions like the others
accounting_job() {
	local name=$1 backend=$2 s c
	shift 2
	fjob "$name" "$backend" "$@"
	local rc=$?
	s=$(depth_sum "$name" iodepth_submit 2>/dev/null)
	c=$(depth_sum "$name" iodepth_complete 2>/dev/null)
	if [ $rc = 0 ] && [ "${res%% *}" = 0 ] && [ "${s:-0}" -ge 99 ] && [ "${c:-0}" -ge 99 ]; then
		ok 0 "$name: $backend, $* (submit ${s}%, complete ${c}%)"
	else
		ok 1 "$name: $backend, $*: every I/O counted as submitted and completed" \
			"exit $rc, $res, iodepth_submit ${s:-?}%, iodepth_complete ${c:-?}%"
	fi
}

# batch_job NAME BACKEND ARGS...: with iodepth_batch=8, submissions go
# to the engine 5 to 8 at a time (fio's "8" bucket), not one by one
batch_job() {
	local name=$1 backend=$2 b
	shift 2
	fjob "$name" "$backend" "$@" --iodepth_batch=8 --iodepth_batch_complete_min=8
	local rc=$?
	b=$(depth_pct "$name" iodepth_submit 8 2>/dev/null)
	if [ $rc = 0 ] && [ "${res%% *}" = 0 ] && [ "${b:-0}" -ge 50 ]; then
		ok 0 "$name: $backend, $* --iodepth_batch=8 --iodepth_batch_complete_min=8 (${b}% of submissions were 5-8 I/Os)"
	else
		ok 1 "$name: $backend, $* --iodepth_batch=8: submissions batched" \
			"exit $rc, $res, iodepth_submit 5-8: ${b:-?}%"
	fi
}

# trim_job NAME BACKEND SIZE ARGS...: trims complete without error, all
# SIZE bytes of them
trim_job() {
	local name=$1 backend=$2 size=$3 t
	shift 3
	fjob "$name" "$backend" --size="$size" --rw=randtrim "$@"
	local rc=$?
	t=$(python3 - "$out/$name.json" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
print(json.loads(t[t.index("{"):])["jobs"][0]["trim"]["io_bytes"])
PY
)
	if [ $rc = 0 ] && [ "${res%% *}" = 0 ] && [ "${t:-0}" = "$(numfmt --from=iec "$size")" ]; then
		ok 0 "$name: $backend, $* (trimmed $t)"
	else
		ok 1 "$name: $backend, $*: trims" "exit $rc, $res, trimmed ${t:-?}: $(tail -3 "$out/$name.log")"
	fi
}

# tracefs, mounted if need be (the guest); prints its directory
tracefs() {
	local t=/sys/kernel/tracing
	[ -f "$t/trace" ] || mount -t tracefs nodev "$t" 2>/dev/null ||
		{ t=/tmp/fio-test-tracing; mkdir -p "$t"; mount -t tracefs nodev "$t" 2>/dev/null; }
	[ -f "$t/trace" ] && echo "$t"
}

# calls_job NAME N KEY ARGS...: runs a hot QD1 fio job of N reads (ARGS
# name the engine) with the raw_syscalls sys_enter and sched_switch
# events traced, and sets $calls to "total key async_wait futex switches"
# of the job's thread (the one that made system call KEY most: 17 is
# pread64, 500 async_exec), the switches counting only its sleeps
calls_job() {
	local name=$1 nr=$2 key=$3 t kb
	shift 3
	calls=
	t=$(tracefs) || return 1
	echo 0 > "$t/tracing_on"
	echo > "$t/trace"
	kb=$(cat "$t/buffer_size_kb")
	echo 16384 > "$t/buffer_size_kb"
	echo 0 > "$t/events/raw_syscalls/sys_enter/filter"
	echo 0 > "$t/events/sched/sched_switch/filter"
	echo 1 > "$t/events/raw_syscalls/sys_enter/enable"
	echo 1 > "$t/events/sched/sched_switch/enable"
	echo 1 > "$t/tracing_on"
	"$fio" --name="$name" --rw=randread --bs=4k --iodepth=1 --thread \
		--number_ios="$nr" --io_size=$((nr * 4))k --norandommap --randrepeat=0 --invalidate=0 \
		--output-format=json --output="$out/$name.json" "$@" \
		> "$out/$name.log" 2>&1
	local rc=$?
	echo 0 > "$t/tracing_on"
	echo 0 > "$t/events/raw_syscalls/sys_enter/enable"
	echo 0 > "$t/events/sched/sched_switch/enable"
	calls=$(awk -v key="$key" '
		/ sys_enter: NR / {
			tid = $1; sub(/.*-/, "", tid)
			for (i = 1; i < NF; i++) if ($i == "NR") nr = $(i + 1)
			all[tid]++; n[tid " " nr]++
		}
		/ sched_switch: / {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^prev_pid=/) p = substr($i, 10)
				if ($i ~ /^prev_state=/) st = substr($i, 12)
			}
			if (st !~ /^R/) sw[p]++
		}
		END {
			for (k in n) { split(k, a, " ")
				if (a[2] == key && n[k] > best) { best = n[k]; job = a[1] } }
			printf "%d %d %d %d %d\n", all[job], n[job " " key],
				n[job " 501"], n[job " 202"], sw[job]
		}' "$t/trace")
	echo > "$t/trace"
	echo "${kb%% *}" > "$t/buffer_size_kb"
	return $rc
}

# calls_test NAME N MODE ARGS...: an in-caller completion costs the syslet
# engine one system call (async_exec(), whose pread64 atom the
# raw_syscalls tracepoint also shows) and no wait: per read, the job's
# thread makes at most one call more than psync's does, no async_wait(),
# no futex call and no sleep, over N hot reads at QD1 (exec_mode=MODE;
# ARGS name the file)
calls_test() {
	local name=$1 nr=$2 mode=$3 pt pk st sk sw sf ss
	shift 3
	if ! calls_job "$name-psync" "$nr" 17 --ioengine=psync "$@"; then
		ok 1 "$name: psync job" "exit $?, calls '$calls': $(tail -3 "$out/$name-psync.log")"
		return
	fi
	read -r pt pk _ _ _ <<< "$calls"
	calls_job "$name" "$nr" 500 --ioengine=external:"$so" --backend=kernel \
		--exec_mode="$mode" "$@"
	local rc=$?
	read -r st sk sw sf ss <<< "$calls"
	local d="psync: $pt calls ($pk pread64) for $nr reads; syslet: $st calls, $sk async_exec, $sw async_wait, $sf futex, $ss sleeps"
	if [ $rc = 0 ] && [ "${sk:-0}" -ge "$nr" ] && [ "$sk" -le $((nr + nr / 50)) ] &&
	   [ "${st:-0}" -le $((pt + nr + nr / 20)) ] && [ "${sw:-1}" -le $((nr / 100)) ] &&
	   [ "${sf:-1}" -le $((nr / 100)) ] && [ "${ss:-1}" -le $((nr / 50)) ]; then
		ok 0 "$name: exec_mode=$mode hot QD1, one system call per in-caller completion, no wait ($d)"
	else
		ok 1 "$name: exec_mode=$mode hot QD1, one system call per in-caller completion, no wait" \
			"exit $rc; $d; $(tail -3 "$out/$name.log")"
	fi
}

if [ "$where" = host ]; then
	# A directory on a disk file system (O_DIRECT), not a tmpfs /tmp.
	dir=$(mktemp -d -p "$build" fio-test.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
	f=$dir/data
	be=emulated
	verify_job host-randwrite "$be" 16M --filename="$f" --rw=randwrite --bs=4k --iodepth=16
	verify_job host-randwrite-direct "$be" 16M --filename="$f" --rw=randwrite --bs=4k --iodepth=16 --direct=1
	verify_job host-seqwrite-fsync "$be" 16M --filename="$f" --rw=write --bs=64k --iodepth=8 --fsync=4
	verify_job host-randrw-fdatasync "$be" 8M --filename="$f" --rw=randrw --bs=4k --iodepth=16 --fdatasync=8
	verify_job host-ring-overflow "$be" 8M --filename="$f" --rw=randwrite --bs=4k --iodepth=32 --ring_entries=2
	verify_job host-exec-sync "$be" 4M --filename="$f" --rw=randwrite --bs=4k --iodepth=8 --exec_mode=sync
	verify_job host-exec-async "$be" 4M --filename="$f" --rw=randwrite --bs=4k --iodepth=8 --exec_mode=async
	verify_job host-spin "$be" 8M --filename="$f" --rw=randwrite --bs=4k --iodepth=16 --spin_usec=200
	verify_job host-nowait-first "$be" 8M --filename="$f" --rw=randrw --bs=4k --iodepth=16 --nowait_first=1
	corrupt_job host-corrupt "$be" "$dir/corrupt"
	batch_job host-batch "$be" --filename="$f" --size=4M --rw=randwrite --bs=4k --iodepth=16
	trim_job host-trim-file "$be" 1M --filename="$dir/trim" --bs=64k --iodepth=4
	# backend=auto follows $SYSLET_BACKEND.
	SYSLET_BACKEND=emulated verify_job host-auto-env auto 4M --filename="$f" --rw=randwrite --bs=4k --iodepth=8
	if kernel_has_syslets; then
		skip "host-no-kernel" "this kernel has the syslet system calls"
	else
		fjob host-no-kernel kernel --filename="$f" --size=1M --rw=read --bs=4k
		rc=$?
		if [ $rc = 1 ] && ! grep -q 'got signal' "$out/host-no-kernel.log" &&
		   grep -q 'syslet_ctx_init.*kernel backend' "$out/host-no-kernel.log"; then
			ok 0 "host-no-kernel: backend=kernel fails cleanly without the syscalls"
		else
			ok 1 "host-no-kernel: backend=kernel fails cleanly" "exit $rc: $(tail -3 "$out/host-no-kernel.log")"
		fi
	fi
else
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root in the guest"; exit 0; }
	modroot=${SYSLET_MODROOT:-$build/kernel/${SYSLET_KERNEL:-fast}/modroot}
	rmmod null_blk 2>/dev/null
	# A memory-backed device (verify needs the data back) whose requests
	# complete from a timer after 200 us, so that I/O really waits.
	if ! modprobe -d "$modroot" null_blk nr_devices=1 gb=1 memory_backed=1 \
		irqmode=2 completion_nsec=200000 bs=4096 2>"$out/modprobe.log"; then
		echo "1..1"
		echo "not ok 1 null_blk loads ($(cat "$out/modprobe.log"))"
		exit 1
	fi
	mnt=/tmp/fio-test-ext4
	dir=/tmp/fio-test
	mkdir -p "$dir" "$mnt"
	trap 'umount "$mnt" 2>/dev/null; rm -rf "$dir"; rmmod null_blk 2>/dev/null' EXIT
	dev=/dev/nullb0
	backends="kernel emulated"
	kernel_has_syslets || ok 1 "the guest kernel has the syslet system calls"
	for be in $backends; do
		verify_job "tmpfs-randwrite-$be" "$be" 16M --filename="$dir/data" --rw=randwrite --bs=4k --iodepth=16
		verify_job "tmpfs-randrw-fsync-$be" "$be" 8M --filename="$dir/data" --rw=randrw --bs=4k --iodepth=16 --fsync=8
		verify_job "blkdev-randwrite-$be" "$be" 16M --filename="$dev" --rw=randwrite --bs=4k --iodepth=32
		verify_job "blkdev-randwrite-direct-$be" "$be" 16M --filename="$dev" --rw=randwrite --bs=4k --iodepth=32 --direct=1
		verify_job "blkdev-seqwrite-direct-$be" "$be" 16M --filename="$dev" --rw=write --bs=128k --iodepth=8 --direct=1
		verify_job "blkdev-ring-overflow-$be" "$be" 8M --filename="$dev" --rw=randwrite --bs=4k --iodepth=32 --ring_entries=2
		corrupt_job "blkdev-corrupt-$be" "$be" "$dev" --direct=1
	done
	verify_job "blkdev-exec-async-kernel" kernel 8M --filename="$dev" --rw=randwrite --bs=4k --iodepth=16 --exec_mode=async
	verify_job "blkdev-exec-sync-kernel" kernel 4M --filename="$dev" --rw=randwrite --bs=4k --iodepth=8 --exec_mode=sync
	verify_job "blkdev-spin-kernel" kernel 8M --filename="$dev" --rw=randwrite --bs=4k --iodepth=16 --spin_usec=500
	verify_job "blkdev-nowait-first-kernel" kernel 8M --filename="$dev" --rw=randrw --bs=4k --iodepth=16 --nowait_first=1
	# a hot tmpfs file never blocks: pass-on-block completes every read
	# in ->queue(), and fio must still count them submitted and completed
	fjob tmpfs-hot-prime kernel --filename="$dir/hot" --size=1M --rw=write --bs=64k
	accounting_job tmpfs-pob-accounting-kernel kernel --filename="$dir/hot" --size=1M --rw=randread --bs=4k --iodepth=8 --exec_mode=pob
	batch_job tmpfs-pob-batch-kernel kernel --filename="$dir/data" --size=4M --rw=randwrite --bs=4k --iodepth=16 --exec_mode=pob
	trim_job tmpfs-trim-kernel kernel 1M --filename="$dir/trim" --bs=64k --iodepth=4
	# the default mode and pass-on-block complete a hot read in ->queue()
	# with async_exec() alone: no reap, no wait, no wake-up
	calls_test tmpfs-hot-qd1-calls-auto 2000 auto --filename="$dir/hot" --size=1M
	calls_test tmpfs-hot-qd1-calls-pob 2000 pob --filename="$dir/hot" --size=1M

	if mkfs.ext4 -q -F "$dev" > "$out/mkfs.log" 2>&1 && mount -t ext4 "$dev" "$mnt"; then
		for be in $backends; do
			verify_job "ext4-randwrite-fsync-$be" "$be" 16M --filename="$mnt/data" --rw=randwrite --bs=4k --iodepth=16 --fsync=16
			verify_job "ext4-randwrite-direct-$be" "$be" 16M --filename="$mnt/data" --rw=randwrite --bs=4k --iodepth=16 --direct=1
			verify_job "ext4-randrw-fdatasync-$be" "$be" 8M --filename="$mnt/data" --rw=randrw --bs=4k --iodepth=16 --fdatasync=8
		done
		umount "$mnt"
	else
		ok 1 "ext4 on $dev" "$(cat "$out/mkfs.log")"
	fi
fi

echo "1..$n"
[ "$failed" = 0 ]
