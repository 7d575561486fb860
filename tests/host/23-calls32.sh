#!/bin/bash
# What an i386 caller's atoms may call: calls.h's decision for the call's
# name, the names and numbers from the i386 list, kernel/syslet/calls32.h
# (issue 19 item 3).  Checks that the kernel builds its i386 table so,
# that calls32.h names every i386 system call below the engine's own
# once (from Linux 6.1's and 6.12's pristine syscall_32.tbl: a call added
# later is refused until someone lists it), with no entry point where
# the tables have none, and that calls.h decides each call of either
# ABI's list once and no other name.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
list32=$top/kernel/syslet/calls32.h
list64=$top/kernel/syslet/calls64.h
decisions=$top/kernel/syslet/calls.h
kern=$top/kernel/syslet/exec.c
. "$top/tests/tap.sh"
# kinds LIST: "name KIND" for every entry of a list
kinds() {
	grep -o '^SYSLET_[A-Z]*([a-z0-9_]*' "$1" |
		sed 's/^SYSLET_\([A-Z]*\)(\(.*\)/\2 \1/' | sort
}

echo "TAP version 13"
echo "1..4"
ok "the kernel builds its i386 table from calls32.h and calls.h with the i386 numbers" \
	"$(grep -q '#include "calls32.h"' "$kern" &&
	   grep -q '#define SYSLET_NR(name) __NR_ia32_##name' "$kern" &&
	   grep -q '\[SYSLET_NR(name)\] = SYSLET_KIND_##name' "$kern" ||
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
	# NOENTRY only for a name without an i386 entry point in the tables
	noent=$(comm -23 <(echo "$k32" | awk '$2 == "NOENTRY" { print $1 }') \
		<(for t in "${tables[@]}"; do
			awk '!/^#/ && NF >= 3 && $1 < 500 &&
			     (NF == 3 || $NF == "sys_ni_syscall") { print $3 }' "${t#*:}"
		  done | sort -u) | sed 's/^/NOENTRY with an entry point: /')
	ok "calls32.h lists every i386 call of ${tables[*]%%:*}'s syscall_32.tbl, and no other; 6.1's missing under #ifdef; NOENTRY where they have none" \
		"$(diff <(echo "$want") <(echo "$k32" | awk '{ print $1 }'))${unguarded:+
$unguarded}${noent:+
$noent}"
else
	n=$((n + 1))
	echo "ok $n calls32.h against syscall_32.tbl # SKIP no linux-source-6.1 or 6.12"
fi
# one decision per name, for the names of either ABI's list and no other
dec=$(kinds "$decisions")
names=$( (echo "$k32"; kinds "$list64") | awk '$2 == "CALL" { print $1 }' | sort -u)
ok "calls.h decides each call of calls32.h and calls64.h once, and no other name" \
	"$(echo "$dec" | awk '{ print $1 }' | uniq -d | sed 's/^/twice: /')$(
	   diff <(echo "$names") <(echo "$dec" | awk '{ print $1 }' | sort -u) |
	   sed -n 's/^< /undecided: /p; s/^> /decided, in no list: /p')"
exit $status
