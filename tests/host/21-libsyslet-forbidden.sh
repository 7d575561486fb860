#!/bin/bash
# The emulated backend refuses exactly what the kernel engine refuses:
# compares the system calls named in kernel/syslet/exec.c's
# syslet_forbidden() and syslet_targets_self() with those in
# userspace/libsyslet/src/emu.c's __syslet_nr_forbidden() and
# nr_targets_self(), the errno both return, and checks that the
# forbidden_* tests in tests/lib/core.c (run on both backends) name every
# one of them.  The kernel file cannot include a user-space table, so this
# check is what keeps the copies from drifting apart.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
kern=$top/kernel/syslet/exec.c
emu=$top/userspace/libsyslet/src/emu.c
core=$top/tests/lib/core.c
status=0

# body FILE REGEX: the lines of the function whose definition matches REGEX
body() { awk -v re="$2" '$0 ~ re { on = 1 } on { print } on && /^}/ { exit }' "$1"; }
# names PREFIX: the call names of "case PREFIXname:" labels, and bare numbers
names() {
	grep -o "case [A-Za-z0-9_]*:" | sed -e 's/^case //' -e 's/:$//' \
		-e "s/^$1//" | sort -u
}
ok() {
	if [ -n "$3" ]; then
		echo "ok $1 $2"
	else
		echo "not ok $1 $2"; status=1
	fi
}
same() {	# N WHAT KERNEL-LIST EMU-LIST
	if [ -n "$3" ] && [ "$3" = "$4" ]; then
		echo "ok $1 $2 ($(echo "$3" | wc -l) calls)"
	else
		echo "not ok $1 $2"; status=1
		diff <(echo "$3") <(echo "$4") | sed 's/^/# kernel<  >emu: /'
	fi
}

k_forb=$(body "$kern" '^static bool syslet_forbidden\(' | names __NR_)
e_forb=$(body "$emu" '^int __syslet_nr_forbidden\(' | names SYS_)
k_self=$(body "$kern" '^static bool syslet_targets_self\(' | names __NR_)
e_self=$(body "$emu" '^static int nr_targets_self\(' | names SYS_)
# the errno of the line after the check that calls both
k_err=$(grep -A1 'syslet_forbidden(nr) || syslet_targets_self(nr, args)' "$kern" |
	grep -o 'return -E[A-Z]*' | sed 's/return //')
e_err=$(grep -A1 '__syslet_nr_forbidden(nr) || nr_targets_self(nr, a)' "$emu" |
	grep -o 'return -E[A-Z]*' | sed 's/return //')
# every call must appear as SYS_name (or the number) in core.c's tests
tested=$(body "$core" '^TEST\(forbidden_calls_eperm\)'
	 body "$core" '^TEST\(forbidden_self_targeted_calls_eperm\)')
missing=
for n in $k_forb $k_self; do
	case $n in
	[0-9]*) grep -qw "$n" <<<"$tested" || missing="$missing $n" ;;
	*) grep -qw "SYS_$n" <<<"$tested" || missing="$missing $n" ;;
	esac
done

echo "TAP version 13"
echo "1..4"
same 1 "forbidden calls: kernel syslet_forbidden() = emu __syslet_nr_forbidden()" \
	"$k_forb" "$e_forb"
same 2 "self-targeted calls: kernel syslet_targets_self() = emu nr_targets_self()" \
	"$k_self" "$e_self"
ok 3 "same errno on refusal (kernel ${k_err:-?}, emu ${e_err:-?})" \
	"$( [ -n "$k_err" ] && [ "$k_err" = "$e_err" ] && echo y)"
[ -n "$missing" ] && echo "# not in tests/lib/core.c's forbidden tests:$missing"
ok 4 "tests/lib/core.c's forbidden tests name every refused call" \
	"$( [ -n "$k_forb" ] && [ -z "$missing" ] && echo y)"
exit $status
