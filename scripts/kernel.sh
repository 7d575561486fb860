#!/bin/bash
# Build the project's patched Linux kernel, 6.1 or 6.12.
#
#   scripts/kernel.sh [fast|debug] [6.1|6.12] [make targets...]
#
# The version may also come from $KVER (the argument wins); the default is
# 6.1.  Trees and outputs per version (6.1 keeps its historical paths):
#
#   version  source tree         output of <variant>
#   6.1      build/linux         build/kernel/<variant>
#   6.12     build/linux-6.12    build/kernel/6.12-<variant>
#
# 1. Unpack /usr/src/linux-source-<version>.tar.xz once into the source
#    tree and make it a git repository whose tag 'base' is the pristine
#    Debian source.
# 2. Apply the series with 'git am' (only when it changed: reset to 'base'
#    and re-apply, so unchanged files keep their mtimes).  The series is
#    patches/*.patch (both versions) and patches/<version>/*.patch (edits
#    that differ between the versions), applied in the order of their file
#    names.
# 3. Lay the project's new files over the tree, rewriting only files whose
#    contents changed, so a rebuild after editing one file recompiles only
#    what depends on it: kernel/ arch/ include/ drivers/ (the same for both
#    versions), and compat/<version>/, this version's own files (its kernel
#    API shims), each landing at its path below compat/<version>/
#    (compat/6.1/kernel/syslet/kcompat.h is kernel/syslet/kcompat.h of the
#    6.1 tree).
# 4. Configure the output directory from tinyconfig + configs/fast.config
#    (+ configs/<variant>.config, + configs/<version>/*.config where they
#    exist), check that no option was dropped, build.
#
# Builds take build/.kernel.lock, so concurrent invocations queue.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
variant=${1:-fast}
shift || true
. "$top/scripts/kver.sh"
kver=${KVER:-$KVER_DEFAULT}
case ${1:-} in
[0-9]*.[0-9]*) kver=$1; shift ;;
esac
targets=("$@")
kver_check "$kver"
src=$(kver_src "$build" "$kver")
out=$(kver_out "$build" "$kver" "$variant")
tarball=${LINUX_TARBALL:-/usr/src/linux-source-$kver.tar.xz}
jobs=$(nproc)
overlay_dirs="kernel arch include drivers"
kmake=(make -C "$src" O="$out" ARCH=x86_64 -j"$jobs")

say() { printf 'kernel %s: %s\n' "$kver" "$*"; }
die() { printf 'kernel %s: error: %s\n' "$kver" "$*" >&2; exit 1; }

case $variant in
fast|debug) ;;
*) die "unknown variant '$variant' (fast or debug)" ;;
esac

mkdir -p "$build"
exec 9>"$build/.kernel.lock"
flock 9

git_base() {
	git -C "$src" -c user.name=syslet-build -c user.email=build@syslet.invalid -c gc.auto=0 \
		-c advice.detachedHead=false "$@"
}

# --- 1. unpack -------------------------------------------------------------
if [ ! -f "$src/.syslet-unpacked" ]; then
	[ -f "$tarball" ] || die "$tarball missing (run scripts/deps.sh)"
	say "unpacking $(basename "$tarball")"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	say "recording the pristine tree as git tag 'base'"
	git -C "$src.tmp" init -q
	git -C "$src.tmp" add -Af .
	git -C "$src.tmp" -c user.name=syslet-build -c gc.auto=0 \
		-c user.email=build@syslet.invalid commit -q \
		-m "Debian linux-source-$kver"
	git -C "$src.tmp" tag base
	touch "$src.tmp/.syslet-unpacked"
	mv "$src.tmp" "$src"
fi

# --- 2. patch series -------------------------------------------------------
shopt -s nullglob
# The common series and this version's, sorted by file name.
mapfile -t patches < <(for p in "$top"/patches/*.patch \
	"$top/patches/$kver"/*.patch; do
	printf '%s\t%s\n' "$(basename "$p")" "$p"
done | sort | cut -f2)
phash=$(cat /dev/null "${patches[@]}" | sha1sum | cut -d' ' -f1)
if [ "$(cat "$src/.syslet-patches" 2>/dev/null)" != "$phash" ]; then
	say "applying ${#patches[@]} patch(es)"
	git_base am --abort >/dev/null 2>&1 || true
	# The files the old series changed, with their content and mtime:
	# re-applying rewrites them all, and a header such as sched.h with a
	# new mtime rebuilds the whole kernel.  Those whose content comes out
	# the same get their old mtime back (below).
	stamps=$src/.syslet-stamps
	: > "$stamps"
	if [ -f "$src/.syslet-patches" ]; then
		git_base diff --name-only base HEAD -- | while read -r f; do
			[ -f "$src/$f" ] &&
			printf '%s %s %s\n' "$(git_base hash-object -- "$f")" \
				"$(stat -c %Y "$src/$f")" "$f"
		done > "$stamps"
	fi
	git_base reset -q --hard base
	# no 'git gc --auto' from git am: it would run on in the background
	# holding build/.kernel.lock (inherited fd 9) for minutes
	git_base config gc.auto 0
	if [ ${#patches[@]} -gt 0 ] &&
	   ! git_base am -q --committer-date-is-author-date "${patches[@]}"; then
		git_base am --abort >/dev/null 2>&1 || true
		git_base reset -q --hard base
		rm -f "$src/.syslet-patches"
		die "patch series does not apply (see above)"
	fi
	while read -r hash mtime f; do
		[ -f "$src/$f" ] &&
		[ "$(git_base hash-object -- "$f")" = "$hash" ] &&
		touch -d "@$mtime" "$src/$f"
	done < "$stamps"
	rm -f "$stamps"
	echo "$phash" > "$src/.syslet-patches"
fi

# --- 3. overlay new files --------------------------------------------------
compat=compat/$kver
common=$(mktemp)
verfiles=$(mktemp)
newlist=$(mktemp)
trap 'rm -f "$common" "$verfiles" "$newlist"' EXIT
list_files() {	# the files below directory $1, relative to it
	[ -d "$1" ] || return 0
	(cd "$1" && find . -type f ! -name '*.orig' ! -name '*~' |
		sed 's|^\./||' | LC_ALL=C sort)
}
(cd "$top" && for d in $overlay_dirs; do
	[ -d "$d" ] || continue
	find "$d" -type f ! -name '*.orig' ! -name '*~'
done | LC_ALL=C sort) > "$common"
list_files "$top/$compat" > "$verfiles"
while read -r f; do
	case " $overlay_dirs " in
	*" ${f%%/*} "*) ;;
	*) die "$compat/$f: not below $compat/{${overlay_dirs// /,}}/" ;;
	esac
done < "$verfiles"
f=$(LC_ALL=C comm -12 "$common" "$verfiles" | head -1)
[ -z "$f" ] || die "$compat/$f: $f is a common file, for both versions"
LC_ALL=C sort -m "$common" "$verfiles" > "$newlist"
# A file that exists upstream must be changed through a patch, not replaced.
while read -r f; do
	if git_base cat-file -e "base:$f" 2>/dev/null; then
		die "$f exists upstream: change it with a patch in patches/"
	fi
done < "$newlist"
# Files the project no longer has are removed from the tree.
if [ -f "$src/.syslet-overlay" ]; then
	LC_ALL=C sort "$src/.syslet-overlay" | LC_ALL=C comm -23 - "$newlist" |
	while read -r f; do
		rm -f "$src/$f"
	done
fi
(cd "$top" && rsync -c --files-from="$common" . "$src/")
if [ -s "$verfiles" ]; then
	(cd "$top/$compat" && rsync -c --files-from="$verfiles" . "$src/")
fi
cp "$newlist" "$src/.syslet-overlay"

# --- 4. configure ------------------------------------------------------------
frags=("$top/configs/fast.config")
[ "$variant" = fast ] || frags+=("$top/configs/$variant.config")
# per-version fragments, merged after the common ones
[ -f "$top/configs/$kver/fast.config" ] &&
	frags+=("$top/configs/$kver/fast.config")
[ "$variant" = fast ] || [ ! -f "$top/configs/$kver/$variant.config" ] ||
	frags+=("$top/configs/$kver/$variant.config")
chash=$(cat "${frags[@]}" "$src/.syslet-patches" | sha1sum | cut -d' ' -f1)
mkdir -p "$out"
if [ "$(cat "$out/.syslet-config" 2>/dev/null)" != "$chash" ] ||
   [ ! -f "$out/.config" ]; then
	say "configuring $variant: tinyconfig + ${frags[*]#"$top"/configs/}"
	"${kmake[@]}" -s tinyconfig >/dev/null
	KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" \
		-m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
	"${kmake[@]}" -s olddefconfig >/dev/null
	# Every option the fragments ask for must have survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=n)
			opt=${line%%=*}
			if grep -q "^$opt=" "$out/.config"; then
				echo "  wanted $line, got $(grep "^$opt=" "$out/.config")"
				bad=1
			fi ;;
		CONFIG_*=*)
			if ! grep -qxF "$line" "$out/.config"; then
				opt=${line%%=*}
				echo "  wanted $line, got $(grep "^$opt=\|^# $opt " \
					"$out/.config" || echo 'nothing (unknown option?)')"
				bad=1
			fi ;;
		esac
	done < <(cat "${frags[@]}" | sed 's/[[:space:]]*#.*//' | grep '^CONFIG_')
	[ $bad = 0 ] || die "config fragment options were dropped (dependencies?)"
	echo "$chash" > "$out/.syslet-config"
fi

# --- 5. build ----------------------------------------------------------------
[ ${#targets[@]} -gt 0 ] || targets=(bzImage modules)
say "building $variant: ${targets[*]} (log: $out/build.log)"
start=$(date +%s)
if ! "${kmake[@]}" "${targets[@]}" > "$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | head -40 >&2 || true
	echo "--- last lines of $out/build.log ---" >&2
	tail -25 "$out/build.log" >&2
	die "build failed"
fi
# Warnings in the project's own files are errors here.
own=$(grep -E '^[^ ]*(kernel/syslet|drivers/misc/syslet)[^:]*:[0-9]+:[0-9]+: warning' \
	"$out/build.log" || true)
if [ -n "$own" ]; then
	echo "$own" >&2
	die "warnings in project files"
fi
# Modules go to build/kernel/<variant>/modroot for 'modprobe -d' in the guest.
if [ "${targets[*]}" = "bzImage modules" ]; then
	rm -rf "$out/modroot"
	"${kmake[@]}" -s INSTALL_MOD_PATH="$out/modroot" modules_install \
		>> "$out/build.log" 2>&1 || die "modules_install failed"
fi
say "done in $(( $(date +%s) - start )) s: $out/arch/x86/boot/bzImage"
