#!/bin/bash
# What an atom may call is one list of decisions by name,
# kernel/syslet/calls.h, over the x86-64 list of names, calls64.h, which
# both the kernel engine (kernel/syslet/exec.c) and the emulated backend
# (userspace/libsyslet/src/emu/) include.  Checks that both build their
# table from them, that calls64.h names every x86-64 system call below
# the engine's own once (so a call added later is refused until someone
# lists it), with no entry point where the tables have none, that
# calls.h decides each of them once, that both refuse the same
# self-targeted calls with the same errno, and that tests/lib/core.c's
# forbidden tests (run on both backends) name every denied and
# self-targeted call.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
list=$top/kernel/syslet/calls.h
list64=$top/kernel/syslet/calls64.h
kern=$top/kernel/syslet/exec.c
# the emulated backend's sources, as one text
emu=$(mktemp)
trap 'rm -f "$emu"' EXIT
cat "$top"/userspace/libsyslet/src/emu/*.c > "$emu"
core=$top/tests/lib/core.c
hdr=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
status=0

# body FILE REGEX: the lines of the function whose definition matches REGEX
body() { awk -v re="$2" '$0 ~ re { on = 1 } on { print } on && /^}/ { exit }' "$1"; }
# names PREFIX: the call names of "case PREFIXname:" labels
names() {
	grep -o "case $1[A-Za-z0-9_]*:" | sed -e 's/^case //' -e 's/:$//' \
		-e "s/^$1//" | sort -u
}
# listed KIND [FILE]: the names FILE (calls.h) lists as SYSLET_KIND(name...)
listed() { grep -o "^SYSLET_$1([a-z0-9_]*" "${2:-$list}" | sed 's/.*(//'; }
ok() {
	if [ -n "$3" ]; then
		echo "ok $1 $2"
	else
		echo "not ok $1 $2"; status=1
	fi
}
same() {	# N WHAT LIST-A LIST-B
	if [ -n "$3" ] && [ "$3" = "$4" ]; then
		echo "ok $1 $2 ($(echo "$3" | wc -l) calls)"
	else
		echo "not ok $1 $2"; status=1
		diff <(echo "$3") <(echo "$4") | sed 's/^/#  /'
	fi
}

all=$( (listed CALL "$list64"; listed NOENTRY "$list64") | sort)
decided=$( (listed ALLOW; listed DENY) | sort)
undecided=$(comm -23 <(listed CALL "$list64" | sort -u) <(echo "$decided" | sort -u))
# the names listed only where the includer's headers define them
# ("#ifdef __NR_name" just before): newer calls than some kernel has
guarded=$(awk '/^#ifdef __NR_/ { g = substr($2, 6); next }
	g != "" && $0 ~ "^SYSLET_[A-Z]*\\(" g "[,)]" { print g } { g = "" }' \
	"$list64" | sort)
# listed_for NAMES: calls64.h's list as a build that knows NAMES sees it
listed_for() { comm -23 <(echo "$all") <(comm -23 <(echo "$guarded") <(echo "$1")); }
# the x86-64 calls calls.h denies
deny=$(comm -12 <(listed DENY | sort -u) <(listed CALL "$list64" | sort -u))
dups=$( (echo "$all" | uniq -d; echo "$decided" | uniq -d) | sort -u)
# the 64-bit calls the system headers name below 500 (the engine's)
known=$(awk '$1 == "#define" && $2 ~ /^__NR_/ && $3 < 500 {
	sub(/^__NR_/, "", $2); print $2 }' "$hdr" 2>/dev/null | sort)
engine=$(printf '%s\n' async_exec async_wait async_cancel async_limits)
want=$(printf '%s\n%s\n' "$known" "$engine" | sort)
# and the kernels' own tables, of those unpacked
. "$top/scripts/kver.sh"
tbls=
for v in $KVER_SUPPORTED; do
	t=$(kver_src "$build" "$v")/arch/x86/entry/syscalls/syscall_64.tbl
	[ -f "$t" ] && tbls="$tbls $t"
done

k_self=$(body "$kern" '^static bool syslet_targets_self\(' | names __NR_)
e_self=$(body "$emu" '^(static )?int nr_targets_self\(' | names SYS_)
k_err=$(grep -A1 'case SYSLET_CALL_DENY:' "$kern" | grep -o 'return -E[A-Z]*')
e_err=$(grep -A1 'case EMU_CALL_DENY:' "$emu" | grep -o 'return -E[A-Z]*')
k_self_err=$(grep -A1 'if (syslet_targets_self(nr, args))' "$kern" |
	grep -o 'return -E[A-Z]*')
e_self_err=$(grep -A1 'if (nr_targets_self(nr, a))' "$emu" |
	grep -o 'return -E[A-Z]*')
# every denied or self-targeted call must appear as SYS_name in core.c
tested=$(body "$core" '^TEST\(forbidden_calls_eperm\)'
	 body "$core" '^TEST\(forbidden_self_targeted_calls_eperm\)')
missing=
for n in $deny $k_self; do
	case $n in
	async_*) grep -qw "$n" <<<"$tested" || missing="$missing $n" ;;
	*) grep -qw "SYS_$n" <<<"$tested" || missing="$missing $n" ;;
	esac
done

echo "TAP version 13"
echo "1..$((6 + $(echo $tbls | wc -w)))"
ok 1 "kernel and emulated backend build their table from calls.h and calls64.h" \
	"$(grep -q '#include "calls.h"' "$kern" &&
	   grep -q '#include "calls64.h"' "$kern" &&
	   grep -q '#include "../../../../kernel/syslet/calls.h"' "$emu" &&
	   grep -q '#include "../../../../kernel/syslet/calls64.h"' "$emu" && echo y)"
[ -n "$dups" ] && echo "# listed twice: $dups"
[ -n "$undecided" ] && echo "# no decision in calls.h:" $undecided
ok 2 "calls64.h lists each call once, calls.h decides each once" \
	"$( [ -n "$all" ] && [ -z "$dups" ] && [ -z "$undecided" ] && echo y)"
if [ -n "$known" ]; then
	same 3 "calls64.h lists every x86-64 call of $hdr below 500, and no other" \
		"$want" "$(listed_for "$known")"
else
	echo "ok 3 calls64.h against $hdr # SKIP no x86-64 system headers"
fi
n=3
for t in $tbls; do
	n=$((n + 1))
	ktbl=$(awk '!/^#/ && NF >= 3 && $2 != "x32" { print $3 }' "$t" | sort)
	# NOENTRY only for a name without an entry point (or sys_ni_syscall) there
	noent=$(comm -23 <(listed NOENTRY "$list64" | sort) \
		<(awk '!/^#/ && $2 != "x32" && (NF == 3 || $4 == "sys_ni_syscall") { print $3 }' "$t" | sort) |
		sed 's/^/NOENTRY with an entry point: /')
	same $n "calls64.h lists every 64-bit entry of ${t#"$build"/}, and no other; NOENTRY where it has none" \
		"$ktbl" "$(listed_for "$ktbl"; [ -n "$noent" ] && echo "$noent")"
done
[ -z "$tbls" ] && { n=$((n + 1)); echo "ok $n calls64.h against syscall_64.tbl # SKIP no kernel tree unpacked"; }
same $((n + 1)) "self-targeted calls: kernel syslet_targets_self() = emu nr_targets_self()" \
	"$k_self" "$e_self"
ok $((n + 2)) "same errnos (denied: kernel ${k_err:-?}, emu ${e_err:-?}; self: kernel ${k_self_err:-?}, emu ${e_self_err:-?})" \
	"$( [ "$k_err" = "return -EPERM" ] && [ "$k_err" = "$e_err" ] &&
	    [ "$k_self_err" = "return -EPERM" ] &&
	    [ "$k_self_err" = "$e_self_err" ] && echo y)"
[ -n "$missing" ] && echo "# not in tests/lib/core.c's forbidden tests:$missing"
ok $((n + 3)) "tests/lib/core.c's forbidden tests name every refused call" \
	"$( [ -n "$deny" ] && [ -z "$missing" ] && echo y)"
exit $status
