#!/bin/sh
# Unmodified io_submit() clients (issue 18), each with /proc/sys/fs/aio-syslet
# at 1 (buffered reads through the engine) and at 0 (mainline): libaio's
# own test harness (built by scripts/libaio-harness.sh), fio's libaio engine
# writing with verify=crc32c and verifying with the page cache dropped, and
# stress-ng --aiol.  On ext4 over a loop device: a file system whose pages
# the engine can wait for (tmpfs has no FMODE_BUF_RASYNC).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
sw=/proc/sys/fs/aio-syslet
fio=${FIO:-$build/fio/fio}
harness=$build/libaio/src/harness
work=/tmp/aio-clients
n=0 status=0
. "$top/tests/lib/tap.sh"

echo "TAP version 13"
# Not part of make test: too slow for it.  Both passes pass (int-aio
# b615109, fast kernel, loaded 2-core TCG host: harness 19/19, fio
# verify and stress-ng, switch on and off), but the whole script took
# 29.5 min (the harness ~11 min with the switch on, ~15 min off), where
# the rest of tests/guest/ takes a few.  Run it with: make aio-clients;
# scripts/guest-run.sh -t 3600 -- "SYSLET_AIO_CLIENTS=1 tests/guest/36-aio-clients.sh"
# (FIO=path if build/fio/fio is not built in this tree).
if [ "${SYSLET_AIO_CLIENTS:-0}" != 1 ]; then
	echo "1..0 # SKIP unmodified io_submit() clients: SYSLET_AIO_CLIENTS=1 runs them"
	exit 0
fi
if [ ! -f $sw ]; then
	echo "1..0 # SKIP no $sw (kernel without CONFIG_SYSLET_AIO)"
	exit 0
fi

setup() {
	mkdir -p $work/mnt
	# libaio case 6 writes and reads back min(MemTotal, 768 MiB)
	truncate -s 1200M $work/ext4.img
	loop=$(losetup -f --show $work/ext4.img) || return 1
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard \
		"$loop" || return 1
	mount -t ext4 "$loop" $work/mnt
}

cold() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
}

# libaio's harness, as its Makefile's partcheck runs it, in a copy on ext4
libaio_harness() {
	d=$work/mnt/harness
	rm -rf $d
	mkdir -p $d/testdir $d/cases
	cp $harness/cases/*.p $d/cases/ || return 1
	cp $harness/runtests.sh $d/
	(cd $d && echo test > testdir/rofile && chmod 400 testdir/rofile &&
	 echo test > testdir/rwfile && chmod 600 testdir/rwfile &&
	 echo test > testdir/wofile && chmod 200 testdir/wofile) || return 1
	cold
	(cd $d && ./runtests.sh $(cd $d && ls cases/*.p | sort -t/ -k2 -n))
}

fio_verify() {
	f=$work/mnt/fio.dat
	rm -f $f
	set -- --name=aio --filename=$f --ioengine=libaio --iodepth=32 --bs=4k \
		--size=32M --verify=crc32c --output-format=terse
	# in $work: fio keeps its verify state in its working directory
	(cd $work && "$fio" "$@" --rw=randwrite --do_verify=0 >/dev/null) ||
		return 1
	cold
	# the verify pass reads the whole file back, cold, at QD32
	(cd $work && "$fio" "$@" --rw=randwrite --verify_only=1 \
		--verify_fatal=1) > $work/fio.out 2>&1
	rc=$?
	cat $work/fio.out
	return $rc
}

stress_aiol() {
	cold
	stress-ng --aiol 2 --aiol-requests 64 --timeout 10s --verify \
		--temp-path $work/mnt --metrics-brief > $work/sng.out 2>&1
	rc=$?
	tail -5 $work/sng.out
	return $rc
}

if ! setup; then
	echo "1..0 # SKIP no ext4 on a loop device"
	exit 0
fi
for on in 1 0; do
	echo $on > $sw
	if [ -x $harness/cases/2.p ]; then
		check "libaio harness, aio-syslet=$on" libaio_harness
	else
		n=$((n + 1)); echo "ok $n libaio harness, aio-syslet=$on # SKIP not built (scripts/libaio-harness.sh)"
	fi
	if [ -x "$fio" ]; then
		check "fio libaio verify=crc32c, cold, aio-syslet=$on" fio_verify
	else
		n=$((n + 1)); echo "ok $n fio libaio, aio-syslet=$on # SKIP no $fio"
	fi
	if command -v stress-ng >/dev/null; then
		check "stress-ng --aiol, aio-syslet=$on" stress_aiol
	else
		n=$((n + 1)); echo "ok $n stress-ng --aiol, aio-syslet=$on # SKIP no stress-ng"
	fi
done
echo 1 > $sw
umount $work/mnt
losetup -d "$loop"
rm -rf $work
echo "1..$n"
exit $status
