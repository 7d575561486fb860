#!/bin/bash
# ABI v1, issue 19 item 2: the system call numbers are defined in one
# place, include/uapi/linux/syslet.h, and the syscall table patches agree
# with it; the numbers are free in the x86-64 and i386 tables of every
# kernel source Debian has here (linux-source-6.1, linux-source-6.12) and
# below the x32 range.  (The kernel build asserts the same against the
# generated unistd_64.h: kernel/syslet/core.c.)
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
hdr=$top/include/uapi/linux/syslet.h
. "$top/tests/tap.sh"

# name number, from the header: async_exec 500 ...
want=$(awk '$1 == "#define" && $2 ~ /^SYSLET_NR_ASYNC_/ {
	n = tolower($2); sub(/^syslet_nr_/, "", n); print n, $3 }' "$hdr" | sort)
# the entries every patch series adds to a table: name number
added() {	# TABLE-FILE-NAME PATCH...
	local tbl=$1; shift
	awk -v t="$tbl" '/^diff --git / { on = index($0, t) > 0 }
		on && /^\+[0-9]/ { sub(/^\+/, ""); print $3, $1 }' "$@" | sort
}
# the numbers a kernel tree's table uses: number (all ABIs)
used() { awk '!/^#/ && NF >= 3 { print $1 }' | sort -n; }

# every supported kernel's series: the common patches and its own
. "$top/scripts/kver.sh"
series() { ls "$top"/patches/*.patch "$top/patches/$1"/*.patch 2>/dev/null; }

echo "TAP version 13"
echo "1..$((3 + 2 * $(echo $KVER_SUPPORTED | wc -w)))"
ok "the header defines the four numbers" \
	"$( [ "$(echo "$want" | wc -l)" = 4 ] &&
	    echo "$want" | awk '$2 !~ /^[0-9]+$/' || echo "got: $want")"
for v in $KVER_SUPPORTED; do
	mapfile -t ps < <(series "$v")
	got=$(added syscall_64.tbl "${ps[@]}")
	ok "$v series: syscall_64.tbl adds exactly the header's numbers" \
		"$(diff <(echo "$want") <(echo "$got"))"
	got32=$(added syscall_32.tbl "${ps[@]}")
	ok "$v series: syscall_32.tbl adds exactly the header's numbers" \
		"$(diff <(echo "$want") <(echo "$got32"))"
done
ok "below the x32 range (512-547)" \
	"$(echo "$want" | awk '$2 >= 512 { print "in the x32 range: " $0 }')"

# Free in every kernel source here: the pristine tables (cached in build/)
clash=
checked=
mkdir -p "$build/abi"
for tar in /usr/src/linux-source-6.1.tar.xz /usr/src/linux-source-6.12.tar.xz; do
	[ -f "$tar" ] || continue
	v=$(basename "$tar" .tar.xz)
	for t in syscall_64.tbl syscall_32.tbl; do
		c=$build/abi/$v.$t
		if [ ! -s "$c" ] || [ "$c" -ot "$tar" ]; then
			tar -xJOf "$tar" --wildcards "*/arch/x86/entry/syscalls/$t" \
				> "$c.tmp" 2>/dev/null && mv "$c.tmp" "$c"
		fi
		[ -s "$c" ] || { clash="$clash$v $t: not readable"$'\n'; continue; }
		checked="$checked $v/$t"
		for nr in $(echo "$want" | awk '{ print $2 }'); do
			used < "$c" | grep -qx "$nr" && clash="$clash$v $t uses $nr"$'\n'
		done
	done
done
if [ -n "$checked" ]; then
	ok "free in the pristine tables:$checked" "$clash"
else
	n=$((n + 1))
	echo "ok $n free in the pristine tables # SKIP no linux-source tarball"
fi
exit $status
