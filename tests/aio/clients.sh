#!/bin/bash
# Unmodified real clients with the shim preloaded (issue 17): fio's
# posixaio engine with verify=crc32c (writes read back and checked, a
# verify_only pass that reads a file written with psync, and a block
# corrupted behind fio's back that must be found), and stress-ng --aio
# with --verify, a few seconds each.  That the clients' AIO calls reach
# the shim is checked with the dynamic linker's binding log.  Prints TAP.
#
#   clients.sh host|guest [BACKEND...]
#
# BACKEND: kernel, emulated or auto (libsyslet's choice, the default).
set -u
where=${1:?usage: clients.sh host|guest [BACKEND...]}
shift
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(auto)
build=${SYSLET_BUILD:?}
fio=$build/fio/fio
shim=$build/userspace/aio/libsyslet-aio.so
work=$(mktemp -d /tmp/aio-clients.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

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
		[ -n "${3:-}" ] && printf '%s\n' "$3" | tail -8 | sed 's/^/# /'
	fi
}

# fio's JSON as "error read_bytes write_bytes"
summary() {
	python3 - "$1" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
try:
    j = json.loads(t[t.index("{"):])["jobs"][0]
    print(j["error"], j["read"]["io_bytes"], j["write"]["io_bytes"])
except (ValueError, KeyError, IndexError):
    print("unparsable 0 0")
EOF
}

# binds LOGPREFIX: the binding log says aio_* went to the shim, not libc
binds() {
	local log
	log=$(cat "$1".* 2>/dev/null)
	rm -f "$1".*
	echo "$log" | grep -qE "to $shim \[0\]: normal symbol \`aio_(write|read)" &&
		! echo "$log" | grep -qE "libc\.so\.6 \[0\]: normal symbol \`(aio|lio)_"
}

# sfio NAME ENV... -- FIO ARGS: fio with the shim preloaded; $res is the
# summary, $rc fio's exit status
sfio() {
	local name=$1
	shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env LD_PRELOAD="$shim" "${envs[@]}" "$fio" --name="$name" \
		--output-format=json --output="$work/$name.json" "$@" \
		>"$work/$name.log" 2>&1
	rc=$?
	res=$(summary "$work/$name.json")
}

if [ ! -f "$shim" ]; then
	echo "1..1"
	echo "not ok 1 $where: the shim is built ($shim)"
	exit 1
fi

for be in "${backends[@]}"; do
	benv=()
	[ "$be" = auto ] || benv=(SYSLET_BACKEND="$be")
	tag=$where/$be
	f=$work/data

	if [ ! -x "$fio" ]; then
		ok 1 "$tag: fio is built ($fio: scripts/fio.sh)"
	else
		# writes, each block read back and checked, through the shim
		sfio "w-$be" "${benv[@]}" LD_BIND_NOW=1 LD_DEBUG=bindings \
			LD_DEBUG_OUTPUT="$work/bind-fio" -- \
			--ioengine=posixaio --filename="$f" --size=4m --bs=4k \
			--rw=randwrite --iodepth=16 --verify=crc32c --do_verify=1 \
			--verify_fatal=1
		binds "$work/bind-fio"
		ok $? "$tag: fio's posixaio calls bind to the shim"
		[ "$rc" = 0 ] && [ "$res" = "0 4194304 4194304" ]
		ok $? "$tag: fio posixaio randwrite verify=crc32c: all written, all read back and verified" \
			"exit $rc, error/read/written: $res; $(cat "$work/w-$be.log")"

		# reads and writes mixed, fsync through aio_fsync
		sfio "rw-$be" "${benv[@]}" -- --ioengine=posixaio \
			--filename="$f" --size=2m --bs=4k --rw=randrw \
			--iodepth=8 --fsync=8 --verify=crc32c --do_verify=1 \
			--verify_fatal=1
		read -r err rd wr <<<"$res"
		[ "$rc" = 0 ] && [ "$err" = 0 ] && [ "$rd" -gt 0 ] && [ "$wr" -gt 0 ]
		ok $? "$tag: fio posixaio randrw fsync=8 verify=crc32c" \
			"exit $rc, error/read/written: $res; $(cat "$work/rw-$be.log")"

		# a file written by psync, read and verified through the shim
		rm -f "$f"
		"$fio" --name=seed --ioengine=psync --filename="$f" --size=4m \
			--bs=4k --rw=randwrite --verify=crc32c --do_verify=0 \
			>"$work/seed.log" 2>&1
		sfio "r-$be" "${benv[@]}" -- --ioengine=posixaio \
			--filename="$f" --size=4m --bs=4k --rw=randwrite \
			--iodepth=16 --verify=crc32c --verify_only --verify_fatal=1
		read -r err rd wr <<<"$res"
		[ "$rc" = 0 ] && [ "$err" = 0 ] && [ "$rd" = 4194304 ]
		ok $? "$tag: fio posixaio verify_only reads 4 MiB written by psync, all verified" \
			"exit $rc, error/read/written: $res; $(cat "$work/r-$be.log")"

		# the same after a byte changed behind fio's back: found
		printf '\377' | dd of="$f" bs=1 seek=1000000 conv=notrunc status=none
		sfio "c-$be" "${benv[@]}" -- --ioengine=posixaio \
			--filename="$f" --size=4m --bs=4k --rw=randwrite \
			--iodepth=16 --verify=crc32c --verify_only --verify_fatal=1
		[ "$rc" != 0 ] && grep -q 'verify failed\|bad magic\|crc32c' \
			"$work/c-$be.json" "$work/c-$be.log"
		ok $? "$tag: fio posixaio verify_only finds a block corrupted behind its back" \
			"exit $rc; $(cat "$work/c-$be.log")"
		rm -f "$f"
	fi

	if ! command -v stress-ng >/dev/null; then
		ok 1 "$tag: stress-ng is installed (scripts/deps.sh)"
		continue
	fi
	mkdir -p "$work/sng"
	env LD_PRELOAD="$shim" "${benv[@]}" LD_BIND_NOW=1 LD_DEBUG=bindings \
		LD_DEBUG_OUTPUT="$work/bind-sng" stress-ng --aio 1 --aio-ops 64 \
		--temp-path "$work/sng" >/dev/null 2>&1
	binds "$work/bind-sng"
	ok $? "$tag: stress-ng's aio calls bind to the shim"
	out=$(env LD_PRELOAD="$shim" "${benv[@]}" stress-ng --aio 2 \
		--aio-requests 32 --verify -t 3 --temp-path "$work/sng" \
		--metrics-brief 2>&1)
	rc=$?
	[ "$rc" = 0 ] && echo "$out" | grep -q 'successful run completed' &&
		! echo "$out" | grep -qiE 'fail|error'
	ok $? "$tag: stress-ng --aio 2 --aio-requests 32 --verify, 3 s" "$out
exit $rc"
done

echo "1..$n"
echo "# aio clients ($where): $((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
