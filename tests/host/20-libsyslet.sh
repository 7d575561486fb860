#!/bin/bash
# libsyslet's TAP suite on the emulated backend, plain and ASan+UBSan.
# (tests/guest/20-libsyslet.sh runs the same programs on the kernel one.)
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
bin=$build/tests/lib
make --no-print-directory -s -C "$top/tests/lib" O="$bin" >&2 || exit 1
export SYSLET_BACKEND=emulated
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in core ctx chain submit wait cq limits prep stress cancel threadlet \
	lost probe forkinit; do
	for v in "$t" "$t-san"; do
		[ -x "$bin/$v" ] || continue
		echo "# $v (SYSLET_BACKEND=$SYSLET_BACKEND)"
		"$bin/$v" || status=1
	done
done
# <syslet.h> compiled as C++ (-pedantic) and run (tests/lib/cxx.cc)
echo "# cxx (SYSLET_BACKEND=$SYSLET_BACKEND)"
"$bin/cxx" || status=1
# ABI v1: <linux/syslet.h>'s every offset, size and constant, as C and C++,
# and as C for i386 (abi32, built where gcc -m32 works)
for v in abi abi-cxx abi32; do
	[ "$v" != abi32 ] || [ -x "$bin/$v" ] || continue
	echo "# $v"
	"$bin/$v" || status=1
done
# a program under ASan with the plain library: no threadlet in the caller
echo "# threadlet-asan (SYSLET_BACKEND=$SYSLET_BACKEND)"
"$bin/threadlet-asan" || status=1

# Packaging: make install into a DESTDIR, then build a program with
# pkg-config against the installed header and library, shared and static;
# the installed names follow VERSION, the soname is libsyslet.so.MAJOR, and
# the shared library exports exactly the public API, each name in its
# version node of libsyslet.map.
echo "# packaging"
echo "TAP version 13"
echo "1..10"
dest=$(mktemp -d /tmp/libsyslet-inst.XXXXXX)
trap 'rm -rf "$dest"' EXIT
lib=$dest/usr/local/lib
libdir=$top/userspace/libsyslet
version=$(sed -n 's/^VERSION *:= *//p' "$libdir/Makefile")
major=${version%%.*}	# the soname's number
ok() { if "$@" >&2; then echo "ok $n $what"; else echo "not ok $n $what"; status=1; fi; }
n=1 what="make install PREFIX=/usr/local DESTDIR=..." ok \
	make --no-print-directory -s -C "$top/userspace/libsyslet" \
	O="$build/userspace/libsyslet" PREFIX=/usr/local DESTDIR="$dest" install
# <linux/syslet.h> goes beside, not into, the system's linux/ headers
n=2 what="installed files: soname link, .a, .pc, both headers, nothing in include/linux" ok \
	test -e "$lib/libsyslet.so.$major" -a -e "$lib/libsyslet.a" \
	-a -e "$lib/pkgconfig/libsyslet.pc" \
	-a -e "$dest/usr/local/include/syslet.h" \
	-a -e "$dest/usr/local/include/libsyslet/linux/syslet.h" \
	-a ! -e "$dest/usr/local/include/linux"
pc() { PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config "$@"; }
src=$top/tests/lib/pkg/use.c
n=3 what="pkg-config build against the shared library runs" ok sh -c \
	"cc -std=c11 -Wall -Wextra -Werror $(pc --cflags libsyslet) -o $dest/use $src $(pc --libs libsyslet) &&
	 LD_LIBRARY_PATH=$lib $dest/use"
n=4 what="static build runs" ok sh -c \
	"cc -std=c11 -Wall -Wextra -Werror $(pc --cflags libsyslet) -o $dest/use-static $src $lib/libsyslet.a -pthread &&
	 $dest/use-static"

# the installed file is libsyslet.so.VERSION; the soname and dev links
# point at it; libsyslet.pc says the same version
installed_names() {
	[ -n "$version" ] && [ -f "$lib/libsyslet.so.$version" ] &&
	[ ! -L "$lib/libsyslet.so.$version" ] &&
	[ "$(readlink "$lib/libsyslet.so.$major")" = "libsyslet.so.$version" ] &&
	[ "$(readlink "$lib/libsyslet.so")" = "libsyslet.so.$major" ] &&
	[ "$(ls "$lib" | grep -c '^libsyslet\.so')" = 3 ] &&
	[ "$(pc --modversion libsyslet)" = "$version" ] ||
	{ ls -l "$lib"; echo "VERSION=$version pc=$(pc --modversion libsyslet)"; return 1; }
}
n=5 what="installed libsyslet.so.$version (VERSION), .so.$major and .so links, pkg-config version" \
	ok installed_names
soname() {
	local got
	got=$(objdump -p "$lib/libsyslet.so.$major" | awk '$1 == "SONAME" {print $2}')
	[ "$got" = "libsyslet.so.$major" ] || { echo "SONAME: '$got'"; return 1; }
}
n=6 what="SONAME is libsyslet.so.$major (VERSION's major)" ok soname
# name@NODE for every global of the version script, and its nodes
map_names() {
	awk '/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { node = $1 }
	     /^global:/ { g = 1; next } /^local:/ { g = 0 } /^}/ { g = 0 }
	     g && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;/ { gsub(/[ \t;]/, ""); print $0 "@" node }' \
		"$libdir/libsyslet.map" | sort
}
exports() {
	local got want nodes gotnodes
	got=$(nm -D --defined-only "$lib/libsyslet.so.$major" |
		awk '$2 != "A" { sub("@@", "@", $3); print $3 }' | sort)
	gotnodes=$(nm -D --defined-only "$lib/libsyslet.so.$major" | awk '$2 == "A" { print $3 }' | sort)
	want=$(map_names)
	nodes=$(awk '/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { print $1 }' "$libdir/libsyslet.map" | sort)
	[ -n "$want" ] && [ "$got" = "$want" ] && [ "$gotnodes" = "$nodes" ] ||
	{ diff <(echo "$want"; echo "$nodes") <(echo "$got"; echo "$gotnodes") | sed 's/^/map< >so: /'; return 1; }
}
n=7 what="exported symbols (nm -D) are exactly libsyslet.map's, in its nodes" ok exports
# every function <syslet.h> declares (not static inline) is in the map
api() {
	local decl map
	decl=$(grep -v '^static' "$libdir/include/syslet.h" |
		grep -oE '^[a-z][a-z0-9_ *]*[ *]syslet_[a-z_]+\(' |
		grep -oE 'syslet_[a-z_]+' | sort)
	map=$(map_names | sed 's/@.*//' | sort)
	[ -n "$decl" ] && [ "$decl" = "$map" ] ||
	{ diff <(echo "$decl") <(echo "$map") | sed 's/^/header< >map: /'; return 1; }
}
n=8 what="libsyslet.map names every function <syslet.h> declares" ok api
# every libsyslet man page says the library's version (major.minor)
man_versions() {
	local want=${version%.*} bad
	bad=$(grep -H '^\.TH' "$top"/docs/man/man3/syslet*.3 |
		grep -v "\"libsyslet $want\"" | sed 's/^/# /')
	[ -n "$want" ] && [ -z "$bad" ] || { echo "want libsyslet $want:"; echo "$bad"; return 1; }
}
n=9 what="the man pages' .TH say libsyslet ${version%.*}" ok man_versions
# One naming scheme (issue 21): the deprecated old names were removed in
# 2.0 (docs/libsyslet.md, "Changes"): nothing in <syslet.h> is
# deprecated, and syslet_submit_sync(), syslet_link() and syslet_prep_()
# are in none of the header, the map, the library and the man pages.
old_names='\bsyslet_submit_sync\b|\bsyslet_link\b|\bsyslet_prep_ *\('
one_naming() {
	local bad
	bad=$({ grep -Hn 'deprecated' "$libdir/include/syslet.h"
		grep -HnE "$old_names" "$libdir/include/syslet.h" "$libdir/libsyslet.map"
		nm -D --defined-only "$lib/libsyslet.so.$major" | grep -E "$old_names"
		ls "$top"/docs/man/man3 | grep -E '^(syslet_submit_sync|syslet_link|syslet_prep_)\.3$'
		} 2>&1)
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}
n=10 what="one naming scheme: no deprecated or removed name in <syslet.h>, the map, the library, man3" \
	ok one_naming

# 32-bit: the library and its header refuse to build, with one clear
# message and no other error (before, gcc -m32 built it and every call
# passed 64-bit values to a 32-bit syscall()).  Needs gcc-multilib
# (scripts/deps.sh).
echo "# 32-bit builds (gcc -m32)"
echo "TAP version 13"
echo "1..4"
m32() {	# FILE: compile it with -m32; prints the compiler's output
	cc -m32 -std=c11 -Wall -Wextra -Werror -pthread \
		-I"$libdir/include" -I"$top/include/uapi" -fsyntax-only "$1" 2>&1
}
refused() {	# OUTPUT: exactly one error, ours
	[ "$(grep -c 'error:' <<<"$1")" = 1 ] &&
	grep -q 'error: #error "libsyslet: x86-64 (LP64) only' <<<"$1"
}
m32_lib() {
	local f out
	for f in "$libdir"/src/*.c "$libdir"/src/emu/*.c; do
		out=$(m32 "$f") && { echo "$f: built with -m32"; return 1; }
		refused "$out" || { echo "$f:"; echo "$out" | head -20; return 1; }
	done
}
m32_prog() {
	local out
	out=$(m32 "$top/tests/lib/pkg/use.c") && { echo "use.c: built with -m32"; return 1; }
	refused "$out" || { echo "$out" | head -20; return 1; }
}
n=1 what="the library's sources refuse -m32 with one clear #error" ok m32_lib
n=2 what="a program including <syslet.h> refuses -m32 the same way" ok m32_prog

# The components built on libsyslet refuse the same way, with their
# component's flags: the POSIX AIO shim with its own #error first (its
# exported names carry x86-64's glibc base version; chains.c then also
# gets <syslet.h>'s), and nothing but such refusals (before, seven of its
# eight files built with -m32, and chains.c also failed on a -Wsign-compare
# of statfs's 32-bit f_type); the fio engine with <syslet.h>'s.
refusals_only() {	# OUTPUT FIRST: every error a refusal, the first FIRST's
	local errs
	errs=$(grep 'error:' <<<"$1")
	[ -n "$errs" ] &&
	! grep -qv 'error: #error "libsyslet\(-aio\)\{0,1\}: x86-64 (LP64) only' <<<"$errs" &&
	head -1 <<<"$errs" | grep -q "error: #error \"$2: x86-64 (LP64) only"
}
m32_shim() {
	local f out
	for f in "$top"/userspace/aio/*.c; do
		out=$(cc -m32 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC \
			-pthread -I"$top/include/uapi" -I"$libdir/include" \
			-fsyntax-only "$f" 2>&1) && { echo "$f: built with -m32"; return 1; }
		refusals_only "$out" libsyslet-aio || { echo "$f:"; echo "$out" | head -20; return 1; }
	done
}
fiosrc=$build/fio/src
m32_fio() {
	local out
	out=$(cc -m32 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC \
		-include "$fiosrc/config-host.h" -isystem "$fiosrc" \
		-I"$libdir/include" -I"$top/include/uapi" \
		-fsyntax-only "$top/fio-engine/syslet.c" 2>&1) &&
		{ echo "syslet.c: built with -m32"; return 1; }
	refused "$out" || { echo "$out" | head -20; return 1; }
}
n=3 what="the POSIX AIO shim's sources refuse -m32: its #error first, only refusals" ok m32_shim
if [ -f "$fiosrc/config-host.h" ]; then
	n=4 what="the fio engine refuses -m32 with <syslet.h>'s one #error" ok m32_fio
else
	echo "ok 4 the fio engine refuses -m32 # SKIP fio not built ($fiosrc)"
fi
exit $status
