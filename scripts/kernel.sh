#!/bin/bash
# Build the project's patched Linux 6.1 kernel.
#
#   scripts/kernel.sh [fast|debug] [make targets...]
#
# 1. Unpack /usr/src/linux-source-6.1.tar.xz once into build/linux and make it
#    a git repository whose tag 'base' is the pristine Debian source.
# 2. Apply patches/*.patch with 'git am' (only when the series changed:
#    reset to 'base' and re-apply, so unchanged files keep their mtimes).
# 3. Lay the project's new files (kernel/ arch/ include/ drivers/) over the
#    tree, rewriting only files whose contents changed, so a rebuild after
#    editing one file recompiles only what depends on it.
# 4. Configure build/kernel/<variant> from tinyconfig + configs/fast.config
#    (+ configs/<variant>.config), check that no option was dropped, build.
#
# Builds take build/.kernel.lock, so concurrent invocations queue.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
variant=${1:-fast}
shift || true
targets=("$@")
src=$build/linux
out=$build/kernel/$variant
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=$(nproc)
overlay_dirs="kernel arch include drivers"
kmake=(make -C "$src" O="$out" ARCH=x86_64 -j"$jobs")

say() { printf 'kernel: %s\n' "$*"; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }

case $variant in
fast|debug) ;;
*) die "unknown variant '$variant' (fast or debug)" ;;
esac

mkdir -p "$build"
exec 9>"$build/.kernel.lock"
flock 9

git_base() {
	git -C "$src" -c user.name=syslet-build -c user.email=build@syslet.invalid \
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
	git -C "$src.tmp" -c user.name=syslet-build \
		-c user.email=build@syslet.invalid commit -q -m "Debian linux-source-6.1"
	git -C "$src.tmp" tag base
	touch "$src.tmp/.syslet-unpacked"
	mv "$src.tmp" "$src"
fi

# --- 2. patch series -------------------------------------------------------
shopt -s nullglob
patches=("$top"/patches/*.patch)
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
newlist=$(mktemp)
trap 'rm -f "$newlist"' EXIT
(cd "$top" && for d in $overlay_dirs; do
	[ -d "$d" ] || continue
	find "$d" -type f ! -name '*.orig' ! -name '*~'
done | sort) > "$newlist"
# A file that exists upstream must be changed through a patch, not replaced.
while read -r f; do
	if git_base cat-file -e "base:$f" 2>/dev/null; then
		die "$f exists upstream: change it with a patch in patches/"
	fi
done < "$newlist"
# Files the project no longer has are removed from the tree.
if [ -f "$src/.syslet-overlay" ]; then
	comm -23 "$src/.syslet-overlay" "$newlist" | while read -r f; do
		rm -f "$src/$f"
	done
fi
(cd "$top" && rsync -c --files-from="$newlist" . "$src/")
cp "$newlist" "$src/.syslet-overlay"

# --- 4. configure ------------------------------------------------------------
frags=("$top/configs/fast.config")
[ "$variant" = fast ] || frags+=("$top/configs/$variant.config")
chash=$(cat "${frags[@]}" "$src/.syslet-patches" | sha1sum | cut -d' ' -f1)
mkdir -p "$out"
if [ "$(cat "$out/.syslet-config" 2>/dev/null)" != "$chash" ] ||
   [ ! -f "$out/.config" ]; then
	say "configuring $variant: tinyconfig + ${frags[*]##*/}"
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
