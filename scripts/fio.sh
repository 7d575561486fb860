#!/bin/bash
# Build fio from Debian's source package (fio 3.33, the version Debian's fio
# binary is) into build/fio/, so every engine in the comparison, ours
# included (ioengine=external:...), runs on one fio binary.  The tree is kept
# for the external engine's headers (build/fio/src).  Quick when built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
dir=$build/fio
[ -x "$dir/fio" ] && [ -f "$dir/src/config-host.h" ] && exit 0

mkdir -p "$dir"
exec 8>"$dir/.lock"
flock 8
[ -x "$dir/fio" ] && [ -f "$dir/src/config-host.h" ] && exit 0

echo "fio: fetching Debian's fio source package"
rm -rf "$dir/pkg" "$dir/src"
mkdir -p "$dir/pkg"
(cd "$dir/pkg" && apt-get source -q fio >apt.log 2>&1) ||
	{ tail -20 "$dir/pkg/apt.log" >&2; echo "fio: apt-get source failed (deb-src entry? scripts/deps.sh)" >&2; exit 1; }
src=$(find "$dir/pkg" -maxdepth 1 -type d -name 'fio-*' | head -1)
[ -n "$src" ] || { echo "fio: no source tree unpacked" >&2; exit 1; }
mv "$src" "$dir/src"
ver=$(sed -n 's/^#define FIO_IOOPS_VERSION[[:space:]]*\([0-9]*\).*/\1/p' "$dir/src/ioengines.h")
echo "fio: building $(basename "$src") (FIO_IOOPS_VERSION $ver)"
cd "$dir/src"
./configure --disable-native --disable-numa --disable-rdma --disable-rados \
	--disable-rbd --disable-http --disable-gfapi --disable-pmem \
	--disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs \
	> "$dir/configure.log" 2>&1 || { tail -20 "$dir/configure.log" >&2; exit 1; }
grep -qE '^Linux AIO support +yes' "$dir/configure.log" ||
	{ echo "fio: configured without libaio" >&2; exit 1; }
make -j"$(nproc)" fio > "$dir/build.log" 2>&1 || { tail -30 "$dir/build.log" >&2; exit 1; }
ln -sf src/fio "$dir/fio"
echo "fio: built $dir/fio ($("$dir/fio" --version))"
