#!/bin/bash
# libaio's own test harness (the harness/ directory of Debian's libaio
# source package), built against the installed libaio (libaio-dev), so
# unmodified io_submit() clients can be run in the guest with
# /proc/sys/fs/aio-syslet on and off (tests/guest/36-aio-clients.sh).
# Nothing of it is kept in the repository: the source is fetched with
# apt-get source into build/libaio/ and built there.  Quick when built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
dir=$build/libaio
[ -f "$dir/.built" ] && exit 0

mkdir -p "$dir"
exec 8>"$dir/.lock"
flock 8
[ -f "$dir/.built" ] && exit 0

echo "libaio: fetching Debian's libaio source package"
rm -rf "$dir/pkg" "$dir/src"
mkdir -p "$dir/pkg"
(cd "$dir/pkg" && apt-get source -q --download-only libaio >apt.log 2>&1) ||
	{ tail -20 "$dir/pkg/apt.log" >&2
	  echo "libaio: apt-get source failed (deb-src entry? scripts/deps.sh)" >&2
	  exit 1; }
orig=$(find "$dir/pkg" -maxdepth 1 -name 'libaio_*.orig.tar.*' | head -1)
[ -n "$orig" ] || { echo "libaio: no source tarball" >&2; exit 1; }
mkdir -p "$dir/src"
tar -xf "$orig" -C "$dir/src" --strip-components=1
echo "libaio: building harness/ against the installed libaio"
# the cases only, linked with -laio (not the source's libaio.a)
make -s -C "$dir/src/harness" LIBAIO=-laio \
	$(cd "$dir/src/harness" && find cases -name '*.t' | sed 's/\.t$/.p/' |
	  grep -v -e '^cases/8\.p$' -e '^cases/10\.p$' | sort -t/ -k2 -n)
touch "$dir/.built"
