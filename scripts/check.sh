#!/bin/bash
# Static checks of the project's kernel code against one kernel version,
# printed as TAP:
#
#   scripts/check.sh [VERSION]		(default $KVER, else 6.1)
#
#  - that tree's scripts/checkpatch.pl --strict on every new kernel file
#    (kernel/ arch/ include/ drivers/, and compat/<version>/, that version's
#    own) and on every patch of that version's series (patches/*.patch and
#    patches/<version>/*.patch);
#  - a W=1 build of the project's kernel directories, which must add no
#    warning.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
. "$top/scripts/kver.sh"
kver=${1:-${KVER:-$KVER_DEFAULT}}
kver_check "$kver"
cp=$(kver_src "$build" "$kver")/scripts/checkpatch.pl
out=${SYSLET_OUT:-$build/results}
mkdir -p "$out"
[ -f "$cp" ] || { echo "check: $cp missing (scripts/kernel.sh fast $kver)" >&2; exit 2; }

cd "$top"
mapfile -t files < <(find kernel arch include drivers "compat/$kver" -type f \
	\( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
mapfile -t patches < <(ls patches/*.patch "patches/$kver"/*.patch 2>/dev/null)
mapfile -t kdirs < <(for d in kernel/syslet drivers/misc/syslet-daq; do
	[ -f "$d/Makefile" ] && echo "$d/"; done)
n=$(( ${#files[@]} + ${#patches[@]} + 1 ))
echo "TAP version 13"
echo "1..$n"
i=0 fail=0
# Nothing is ignored: not LINUX_VERSION_CODE (what differs between the
# kernels is in compat/<version>/ and patches/<version>/, not in version
# tests), not MACRO_ARG_UNUSED (an X-macro expansion that drops an
# argument takes it as "...").
ignore=
for f in "${files[@]}" "${patches[@]}"; do
	i=$((i + 1))
	case $f in
	*.patch) res=$(perl "$cp" --no-tree --strict -q --ignore "$ignore" \
			- < "$f" 2>&1) ;;
	*) res=$(perl "$cp" --no-tree --strict -q --ignore "$ignore" \
		-f "$f" 2>&1) ;;
	esac
	if [ -z "$res" ]; then
		echo "ok $i checkpatch ($kver) $f"
	else
		echo "not ok $i checkpatch ($kver) $f"
		echo "$res" | sed 's/^/# /' | head -30
		fail=1
	fi
done
i=$((i + 1))
# W=1 build of the project's own kernel directories (drivers/misc/syslet*
# and arch/x86/kernel/syslet objects are named explicitly so upstream
# files are not rebuilt).
targets=()
for d in "${kdirs[@]}"; do targets+=("$d"); done
for f in drivers/misc/syslet*.c arch/x86/kernel/syslet.c; do
	[ -f "$f" ] && targets+=("${f%.c}.o")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "ok $i W=1 build # SKIP no project kernel directories yet"
elif log=$("$top/scripts/kernel.sh" fast "$kver" W=1 "${targets[@]}" 2>&1); then
	echo "ok $i W=1 build ($kver) of ${targets[*]}"
else
	echo "not ok $i W=1 build ($kver) of ${targets[*]}"
	echo "$log" | sed 's/^/# /' | tail -30
	fail=1
fi
exit $fail
