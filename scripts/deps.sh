#!/bin/sh
# Install the Debian packages the build, the guest and the benchmarks need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -eu

PKGS="build-essential bc bison flex cpio kmod libelf-dev libssl-dev dwarves
      xz-utils rsync python3 perl git
      linux-source-6.1 linux-source-6.12
      qemu-system-x86 busybox-static
      libaio-dev liburing-dev zlib1g-dev dpkg-dev
      gnuplot-nox strace e2fsprogs pkgconf gcc-multilib
      stress-ng sysbench"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done

# fio's source needs a deb-src entry for the mirror the machine already uses.
need_src=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	need_src=1
fi

# linux-source-6.12 is in Debian 12's security archive (bookworm-security),
# which a default installation lists; add it where it is missing.
need_sec=0
if ! grep -rqs 'bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	need_sec=1
fi

[ -z "$missing" ] && [ "$need_src" = 0 ] && [ "$need_sec" = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install:$missing" >&2
	exit 1
fi

if [ "$need_sec" = 1 ]; then
	cat > /etc/apt/sources.list.d/syslet-security.sources <<-EOF
	Types: deb deb-src
	URIs: http://deb.debian.org/debian-security
	Suites: bookworm-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
fi

if [ "$need_src" = 1 ]; then
	src=/etc/apt/sources.list.d/debian.sources
	if [ -f "$src" ]; then
		sed -e 's/^Types: deb$/Types: deb-src/' "$src" \
			> /etc/apt/sources.list.d/syslet-deb-src.sources
	else
		sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list \
			> /etc/apt/sources.list.d/syslet-deb-src.list
	fi
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ -n "$missing" ] && apt-get install -y -qq --no-install-recommends $missing
exit 0
