#!/bin/sh
# SPDX-License-Identifier: MIT
#
# pcopy-vs-cp.sh: time cp and pcopy copying the same source, cold, and
# print the ratio.  A slow device with a deep queue is where pcopy's N
# chains in flight pay; in the guest use null_blk with timer completions:
#
#	modprobe -d "$SYSLET_MODROOT" null_blk completion_nsec=2000000 \
#		irqmode=2 gb=1 memory_backed=1
#	dd if=/dev/urandom of=/dev/nullb0 bs=1M count=64
#	pcopy-vs-cp.sh /dev/nullb0 64M
#
# (memory_backed=1: without it null_blk returns whatever its pages held,
# so two reads differ and the copies cannot be compared.)
#
# usage: pcopy-vs-cp.sh SRC [BYTES [CHAINS [BLOCK_KIB]]]
#   SRC		file or block device to copy from
#   BYTES	copy only the first BYTES of it (suffix K/M/G; default all;
#		the sequential side is then head -c rather than cp)
#   CHAINS	pcopy's chains in flight (default 16)
# $PCOPY_FLAGS adds pcopy options (e.g. -d for an O_DIRECT source).
# The copies go to $TMPDIR (default /tmp) and are compared with cmp.
# Page caches are dropped before each run when /proc/sys/vm/drop_caches is
# writable (root); otherwise the second run may be served from the cache.
set -eu

src=${1:?usage: pcopy-vs-cp.sh SRC [BYTES [CHAINS [BLOCK_KIB]]]}
bytes=${2:-}
chains=${3:-16}
bk=${4:-64}
tmp=${TMPDIR:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
pcopy=${PCOPY:-$here/pcopy}
[ -x "$pcopy" ] || pcopy=${SYSLET_BUILD:-$here/../../build}/userspace/examples/pcopy

n=
if [ -n "$bytes" ]; then
	case $bytes in
	*K) n=$(( ${bytes%K} * 1024 ));;
	*M) n=$(( ${bytes%M} * 1024 * 1024 ));;
	*G) n=$(( ${bytes%G} * 1024 * 1024 * 1024 ));;
	*) n=$bytes;;
	esac
fi

# The sequential copy: cp, or for a prefix head -c (the same read loop).
seqname=cp
[ -z "$n" ] || seqname="head -c"
seqcopy() {
	if [ -n "$n" ]; then
		head -c "$n" "$src" > "$1"
	else
		cp "$src" "$1"
	fi
}

drop() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo 3 > /proc/sys/vm/drop_caches
	fi
}

now() { date +%s%N; }

drop
t0=$(now)
seqcopy "$tmp/pcvc.cp"
t1=$(now)
drop
t2=$(now)
"$pcopy" -n "$chains" -b "$bk" ${n:+-l "$n"} ${PCOPY_FLAGS:-} "$src" "$tmp/pcvc.pcopy" > "$tmp/pcvc.out"
t3=$(now)
cmp "$tmp/pcvc.cp" "$tmp/pcvc.pcopy"
size=$(wc -c < "$tmp/pcvc.cp")
cp_ms=$(( (t1 - t0) / 1000000 ))
pc_ms=$(( (t3 - t2) / 1000000 ))
[ "$cp_ms" -gt 0 ] || cp_ms=1
[ "$pc_ms" -gt 0 ] || pc_ms=1
echo "# $(cat "$tmp/pcvc.out")"
printf 'copy of %s (%d bytes): %s %d ms, pcopy -n %s -b %sK %s%d ms, ' \
	"$src" "$size" "$seqname" "$cp_ms" "$chains" "$bk" \
	"${PCOPY_FLAGS:+$PCOPY_FLAGS }" "$pc_ms"
awk -v a="$cp_ms" -v b="$pc_ms" 'BEGIN { printf "speed-up %.2fx\n", a / b }'
rm -f "$tmp/pcvc.cp" "$tmp/pcvc.pcopy" "$tmp/pcvc.out"
