#!/bin/bash
# Issue 19 item 5: the project's kernel files are the same for Linux 6.1
# and 6.12 and test no version; what differs is in compat/<version>/
# (docs/HACKING.md, "Where the two kernels differ").  Checks, without a
# kernel tree where it can: no version test in the kernel files; compat/
# holds only supported versions, each file below a directory
# scripts/kernel.sh lays over the tree and not at a common file's path;
# every version has the engine's kcompat.h, and they define the same
# syslet_ helpers; the names 6.1's defines besides are 6.12's (checked in
# build/linux-6.12 when it is there).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
. "$top/scripts/kver.sh"
. "$top/tests/tap.sh"
dirs="kernel arch include drivers"
kc=kernel/syslet/kcompat.h
# the syslet_/SYSLET_ names a header defines (macros, static inlines)
defined() {
	sed -nE 's/^#define[[:space:]]+([A-Za-z_][A-Za-z0-9_]*).*/\1/p
		s/^static inline [^(]*[ *]([A-Za-z_][A-Za-z0-9_]*)\(.*/\1/p' \
		"$1" | grep -v '^_' | sort -u
}

echo "TAP version 13"
echo "1..$((4 + 2 * $(echo $KVER_SUPPORTED | wc -w)))"
cd "$top" || exit 1
mapfile -t kfiles < <(find $dirs compat -type f 2>/dev/null)
ok "no version test in the kernel files (LINUX_VERSION_CODE, KERNEL_VERSION, <linux/version.h>)" \
	"$(grep -nE 'LINUX_VERSION_CODE|KERNEL_VERSION|linux/version\.h' \
		"${kfiles[@]}" /dev/null)"
ok "compat/ has a directory per supported version only ($KVER_SUPPORTED)" \
	"$(for d in compat/*; do
		[ -e "$d" ] || continue
		case " $KVER_SUPPORTED " in
		*" ${d#compat/} "*) [ -d "$d" ] || echo "$d: not a directory" ;;
		*) echo "$d: not a supported version" ;;
		esac
	done)"
ok "every compat/<version>/ file lands below $dirs, not at a common file's path" \
	"$(for f in $(find compat -mindepth 2 -type f 2>/dev/null); do
		p=${f#compat/*/}
		case " $dirs " in
		*" ${p%%/*} "*) ;;
		*) echo "$f: lands in ${p%%/*}/" ;;
		esac
		[ ! -e "$p" ] || echo "$f: $p is a common file"
	done)"
ok "kernel/syslet/syslet.h includes kcompat.h" \
	"$(grep -q '^#include "kcompat.h"' kernel/syslet/syslet.h ||
	   echo 'no #include "kcompat.h"')"
ref=
for v in $KVER_SUPPORTED; do
	f=compat/$v/$kc
	if [ ! -f "$f" ]; then
		ok "$v: $f defines the syslet_ helpers" "$f missing"
		ok "$v: the other names $f defines are 6.12's" "$f missing"
		continue
	fi
	mine=$(defined "$f" | grep -iE '^syslet_')
	[ -n "$ref" ] || { ref=$mine; refv=$v; }
	ok "$v: $f defines the syslet_ helpers ($(echo $mine))" \
		"$( [ -n "$mine" ] || echo none
		    diff <(echo "$ref") <(echo "$mine") |
			sed "s/^</only in $refv:/; s/^>/only in $v:/" | grep only)"
	others=$(defined "$f" | grep -viE '^syslet_')
	what="$v: the other names $f defines are 6.12's ($(echo $others))"
	src=$(kver_src "$build" 6.12)
	if [ "$v" = 6.12 ]; then
		ok "$what" "$( [ -z "$others" ] || echo "6.12 shims $others")"
	elif [ -z "$others" ]; then
		ok "$what" ""
	elif [ ! -d "$src/include/linux" ]; then
		n=$((n + 1))
		echo "ok $n $what # SKIP no $src (scripts/kernel.sh fast 6.12)"
	else
		ok "$what" "$(for m in $others; do
			grep -rqE "#define[[:space:]]+$m\b|[ *]$m\(" \
				"$src/include/linux" ||
				echo "$m: not in $src/include/linux"
		done)"
	fi
done
exit $status
