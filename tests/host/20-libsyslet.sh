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
for t in core stress cancel threadlet; do
	for v in "$t" "$t-san"; do
		[ -x "$bin/$v" ] || continue
		echo "# $v (SYSLET_BACKEND=$SYSLET_BACKEND)"
		"$bin/$v" || status=1
	done
done

# Packaging: make install into a DESTDIR, then build a program with
# pkg-config against the installed header and library, shared and static.
echo "# packaging"
echo "TAP version 13"
echo "1..4"
dest=$(mktemp -d /tmp/libsyslet-inst.XXXXXX)
trap 'rm -rf "$dest"' EXIT
lib=$dest/usr/local/lib
ok() { if "$@" >&2; then echo "ok $n $what"; else echo "not ok $n $what"; status=1; fi; }
n=1 what="make install PREFIX=/usr/local DESTDIR=..." ok \
	make --no-print-directory -s -C "$top/userspace/libsyslet" \
	O="$build/userspace/libsyslet" PREFIX=/usr/local DESTDIR="$dest" install
n=2 what="installed files: soname link, .a, .pc, both headers" ok \
	test -e "$lib/libsyslet.so.1" -a -e "$lib/libsyslet.a" \
	-a -e "$lib/pkgconfig/libsyslet.pc" \
	-a -e "$dest/usr/local/include/syslet.h" \
	-a -e "$dest/usr/local/include/linux/syslet.h"
pc() { PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config "$@"; }
src=$top/tests/lib/pkg/use.c
n=3 what="pkg-config build against the shared library runs" ok sh -c \
	"cc -std=c11 -Wall -Wextra -Werror $(pc --cflags libsyslet) -o $dest/use $src $(pc --libs libsyslet) &&
	 LD_LIBRARY_PATH=$lib $dest/use"
n=4 what="static build runs" ok sh -c \
	"cc -std=c11 -Wall -Wextra -Werror $(pc --cflags libsyslet) -o $dest/use-static $src $lib/libsyslet.a -pthread &&
	 $dest/use-static"
exit $status
