#!/bin/bash
# What an atom may call is one allowlist, kernel/syslet/calls.h, which
# both the kernel engine (kernel/syslet/exec.c) and the emulated backend
# (userspace/libsyslet/src/emu/) include.  Checks that both build their
# table from it, that it names every x86-64 system call below the
# engine's own once (so a call added later is refused until someone
# lists it), that both refuse the same self-targeted calls with the same
# errno, and that tests/lib/core.c's forbidden tests (run on both
# backends) name every denied and self-targeted call.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
list=$top/kernel/syslet/calls.h
kern=$top/kernel/syslet/exec.c
# the emulated backend's sources, as one text
emu=$(mktemp)
trap 'rm -f "$emu"' EXIT
cat "$top"/userspace/libsyslet/src/emu/*.c > "$emu"
core=$top/tests/lib/core.c
hdr=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
tbl=$build/linux/arch/x86/entry/syscalls/syscall_64.tbl
status=0

# body FILE REGEX: the lines of the function whose definition matches REGEX
body() { awk -v re="$2" '$0 ~ re { on = 1 } on { print } on && /^}/ { exit }' "$1"; }
# names PREFIX: the call names of "case PREFIXname:" labels
names() {
	grep -o "case $1[A-Za-z0-9_]*:" | sed -e 's/^case //' -e 's/:$//' \
		-e "s/^$1//" | sort -u
}
# listed KIND: the names calls.h lists as SYSLET_KIND(name...)
listed() { grep -o "^SYSLET_$1([a-z0-9_]*" "$list" | sed 's/.*(//'; }
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

all=$( (listed ALLOW; listed DENY; listed NOSYS) | sort)
deny=$(listed DENY | sort)
dups=$(echo "$all" | uniq -d)
# the 64-bit calls the system headers name below 451 (the end of 6.1's table)
known=$(awk '$1 == "#define" && $2 ~ /^__NR_/ && $3 < 451 {
	sub(/^__NR_/, "", $2); print $2 }' "$hdr" 2>/dev/null | sort)
engine=$(printf '%s\n' async_exec async_wait async_cancel async_limits)
want=$(printf '%s\n%s\n' "$known" "$engine" | sort)
# and, once the kernel tree is unpacked, the kernel's own table
if [ -f "$tbl" ]; then
	ktbl=$(awk '!/^#/ && NF >= 3 && $2 != "x32" { print $3 }' "$tbl" | sort)
fi

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
echo "1..7"
ok 1 "kernel and emulated backend build their table from calls.h" \
	"$(grep -q '#include "calls.h"' "$kern" &&
	   grep -q '#include "../../../../kernel/syslet/calls.h"' "$emu" && echo y)"
[ -n "$dups" ] && echo "# listed twice: $dups"
ok 2 "calls.h lists each call once" "$( [ -n "$all" ] && [ -z "$dups" ] && echo y)"
if [ -n "$known" ]; then
	same 3 "calls.h lists every x86-64 call of $hdr below 451, and no other" \
		"$want" "$all"
else
	echo "ok 3 calls.h against $hdr # SKIP no x86-64 system headers"
fi
if [ -n "${ktbl:-}" ]; then
	same 4 "calls.h lists every 64-bit entry of syscall_64.tbl" "$ktbl" "$all"
else
	echo "ok 4 calls.h against syscall_64.tbl # SKIP kernel tree not unpacked"
fi
same 5 "self-targeted calls: kernel syslet_targets_self() = emu nr_targets_self()" \
	"$k_self" "$e_self"
ok 6 "same errnos (denied: kernel ${k_err:-?}, emu ${e_err:-?}; self: kernel ${k_self_err:-?}, emu ${e_self_err:-?})" \
	"$( [ "$k_err" = "return -EPERM" ] && [ "$k_err" = "$e_err" ] &&
	    [ "$k_self_err" = "return -EPERM" ] &&
	    [ "$k_self_err" = "$e_self_err" ] && echo y)"
[ -n "$missing" ] && echo "# not in tests/lib/core.c's forbidden tests:$missing"
ok 7 "tests/lib/core.c's forbidden tests name every refused call" \
	"$( [ -n "$deny" ] && [ -z "$missing" ] && echo y)"
exit $status
