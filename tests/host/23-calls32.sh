#!/bin/bash
# What an i386 caller's atoms may call (issue 19 item 3) is its own list,
# kernel/syslet/calls32.h, by the i386 table's names.  Checks that the
# kernel builds its i386 table from it, that it names every i386 system
# call below the engine's own once (from Linux 6.1's and 6.12's pristine
# syscall_32.tbl: a call added later is refused until someone lists it),
# and that a call both lists name is decided alike, but for the three
# with an i386 entry point and none on x86-64, which docs/abi.md names.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
list32=$top/kernel/syslet/calls32.h
list64=$top/kernel/syslet/calls.h
kern=$top/kernel/syslet/exec.c
status=0
n=0
ok() {	# WHAT OUTPUT: ok if OUTPUT is empty
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"; echo "$2" | sed 's/^/#  /'; status=1
	fi
}
# kinds LIST: "name KIND" for every entry of a list
kinds() {
	grep -o '^SYSLET_[A-Z]*([a-z0-9_]*' "$1" |
		sed 's/^SYSLET_\([A-Z]*\)(\(.*\)/\2 \1/' | sort
}

echo "TAP version 13"
echo "1..4"
ok "the kernel builds its i386 table from calls32.h with the i386 numbers" \
	"$(grep -q '#include "calls32.h"' "$kern" &&
	   grep -q '#define SYSLET_NR(name) __NR_ia32_##name' "$kern" &&
	   grep -q '\[SYSLET_NR(name)\] = SYSLET_CALL_ALLOW' "$kern" ||
	   echo 'exec.c does not include calls32.h as __NR_ia32_ entries')"
k32=$(kinds "$list32")
ok "calls32.h lists each call once" \
	"$(echo "$k32" | awk '{ print $1 }' | uniq -d)"

# The i386 tables of Linux 6.1 and 6.12, pristine (cached in build/abi,
# as 22-abi.sh does): calls32.h names every call of either; those 6.1
# does not have are listed under #ifdef __NR_ia32_<name>, so that the
# list builds on both.
mkdir -p "$build/abi"
tables=()
for v in 6.1 6.12; do
	tar=/usr/src/linux-source-$v.tar.xz
	c=$build/abi/linux-source-$v.syscall_32.tbl
	if [ -f "$tar" ] && { [ ! -s "$c" ] || [ "$c" -ot "$tar" ]; }; then
		tar -xJOf "$tar" --wildcards '*/arch/x86/entry/syscalls/syscall_32.tbl' \
			> "$c.tmp" 2>/dev/null && mv "$c.tmp" "$c"
	fi
	[ -s "$c" ] && tables+=("$v:$c")
done
names() { awk '!/^#/ && NF >= 3 && $1 < 500 { print $3 }' "$1"; }
if [ ${#tables[@]} -gt 0 ]; then
	want=$( (for t in "${tables[@]}"; do names "${t#*:}"; done
		 printf '%s\n' async_exec async_wait async_cancel async_limits) |
		sort -u)
	late=
	for t in "${tables[@]}"; do
		[ "${t%%:*}" = 6.1 ] && late=$(comm -13 <(names "${t#*:}" | sort -u) \
			<(echo "$want") | grep -v '^async_')
	done
	unguarded=$(for x in $late; do
		grep -B1 -E "^SYSLET_[A-Z]+\($x[,)]" "$list32" | head -1 |
			grep -qx "#ifdef __NR_ia32_$x" || echo "$x not under #ifdef"
	done)
	ok "calls32.h lists every i386 call of ${tables[*]%%:*}'s syscall_32.tbl, and no other; 6.1's missing under #ifdef" \
		"$(diff <(echo "$want") <(echo "$k32" | awk '{ print $1 }'))${unguarded:+
$unguarded}"
else
	n=$((n + 1))
	echo "ok $n calls32.h against syscall_32.tbl # SKIP no linux-source-6.1 or 6.12"
fi
# decided alike: the names both list, with their kinds
k64=$(kinds "$list64")
differ=$(join <(echo "$k32") <(echo "$k64") | awk '$2 != $3' |
	grep -vE '^(uselib|set_thread_area|get_thread_area) ')
ok "a call both lists name is decided alike (but uselib, set/get_thread_area)" \
	"$differ"
exit $status
