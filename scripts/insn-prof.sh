#!/bin/bash
# Instructions per function of a whole workload, kernel and user space, in
# the guest (a tool, not a test): boots the guest with a QEMU plugin
# (scripts/insn-prof.c) that counts every instruction executed, per
# translation block, between marks the workload makes, then reads the
# counts against the kernel's System.map (scripts/insn-prof.py).
#
#   scripts/insn-prof.sh [-k fast|debug] [-v 6.1|6.12] [-o DIR] -- CMD...
#
# CMD marks a point by calling `scripts/insn-prof.py mark` (in the guest):
# a reboot() with a bad magic, which does nothing but enter the kernel
# function the plugin watches.  Each mark writes the counts since the one
# before to DIR/prof.N (N = 1, 2, ...; prof.1 is the boot) and starts
# again from zero.  Then, on the host:
#
#   scripts/insn-prof.py report -m System.map DIR/prof.3 [--minus DIR/prof.2]
#                         [--per N] [--top 40]
#
# e.g. bench/fio-insn.py (in the guest) runs fio with N and 2N I/Os per
# engine between marks; the difference of the two is what N I/Os cost,
# whatever fio's start and exit cost.  Under TCG time follows these
# counts, and host load moves only what the guest does for time rather
# than for work (timer ticks, loops that wait for a time).  With -smp 2
# the plain inline counters can miss an increment, or keep one across a
# dump, when two vCPUs run one block at once: noise, not a bias.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
. "$top/scripts/kver.sh"
variant=fast
kver=${KVER:-$KVER_DEFAULT}
out=$build/results/insn-prof
while getopts "k:v:o:" o; do
	case $o in
	k) variant=$OPTARG ;;
	v) kver=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift	# getopts takes the -- when it ends the options
[ $# -ge 1 ] ||
	{ echo "usage: $0 [-k variant] [-v version] [-o dir] -- CMD" >&2; exit 2; }
kver_check "$kver"
map=$(kver_out "$build" "$kver" "$variant")/System.map
[ -f "$map" ] || { echo "insn-prof: no $map (scripts/kernel.sh $variant $kver)" >&2; exit 2; }

# The plugin's one header comes from Debian's QEMU source (the QEMU that
# runs the guest: the plugin API version must be its own).
pdir=$build/qemu-plugin
so=$pdir/insn-prof.so
if [ ! -f "$pdir/qemu-plugin.h" ]; then
	mkdir -p "$pdir"
	# the installed QEMU's own version, not the archive's newest; the
	# source's, without a binary-only rebuild's +bN (7.2+dfsg-7+deb12u18+b3)
	qv=$(dpkg-query -W -f='${source:Version}' qemu-system-x86)
	(cd "$pdir" && apt-get source --download-only "qemu=$qv" >/dev/null &&
	 tar -xJf qemu_*.orig.tar.xz --wildcards --strip-components=3 \
		'*/include/qemu/qemu-plugin.h' && rm -f qemu_*)
fi
if [ ! -f "$so" ] || [ "$top/scripts/insn-prof.c" -nt "$so" ]; then
	gcc -std=gnu11 -O2 -shared -fPIC -Wall -Wextra -Werror -I"$pdir" \
		-o "$so" "$top/scripts/insn-prof.c" -lpthread
fi

mark=$(awk '$3 == "__x64_sys_reboot" { print "0x" $1 }' "$map")
[ -n "$mark" ] || { echo "insn-prof: no __x64_sys_reboot in $map" >&2; exit 2; }
mkdir -p "$out"
rm -f "$out"/prof.*
cp "$map" "$out/System.map"
# TCG plugins run under TCG only: never KVM, even where it works
SYSLET_ACCEL=tcg \
SYSLET_QEMU_ARGS="${SYSLET_QEMU_ARGS:-} -plugin $so,mark=$mark,out=$out/prof" \
	"$top/scripts/guest-run.sh" -k "$variant" -v "$kver" -t 3600 -- "INSN_PROF_OUT=$out $*"
