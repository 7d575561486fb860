#!/bin/bash
# The parallel du example (userspace/examples/pdu) against du: the total of
# pdu PATH must be du -s --apparent-size -B1 PATH's on the same tree, with
# nested directories, files of odd sizes, symbolic links, hard links,
# directories bigger than one chain reads, and, run as an unprivileged user,
# an unreadable directory.  TAP on stdout.
#
#	tests/lib/pdu.sh emulated|kernel
#
# Used by tests/host/26-pdu.sh (emulated) and tests/guest/26-pdu.sh
# (kernel).  pdu must be built (build/userspace/examples/pdu).
backend=${1:?usage: $0 emulated|kernel}
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
pdu=$build/userspace/examples/pdu
export SYSLET_BACKEND=$backend
tmp=$(mktemp -d /tmp/syslet-pdu.XXXXXX)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"		# an unprivileged user walks it too
status=0
n=0

. "$top/tests/lib/tap.sh"

# same [AS...] -- PATH [PDU OPTIONS...]: pdu's total and exit status are
# du's on PATH (both run as AS..., e.g. setpriv); $pdu_err is pdu's stderr
same() {
	local as=() p du_out du_rc pdu_out pdu_rc
	while [ "$1" != -- ]; do as+=("$1"); shift; done
	shift
	p=$1
	shift
	[ -x "$pdu" ] || { echo "$pdu: not built"; return 1; }
	du_out=$("${as[@]}" du -s --apparent-size -B1 "$p" 2>/dev/null)
	du_rc=$?
	pdu_out=$("${as[@]}" timeout 120 "$pdu" "$@" "$p" 2>"$tmp/err")
	pdu_rc=$?
	pdu_err=$(cat "$tmp/err")
	echo "du: $du_out (exit $du_rc); pdu $*: $pdu_out (exit $pdu_rc)"
	[ -n "$pdu_err" ] && printf 'pdu stderr: %s\n' "$pdu_err"
	[ -n "$du_out" ] && [ "$pdu_out" = "$du_out" ] && [ $pdu_rc = $du_rc ]
}

# The tree: ~1,700 entries.
t=$tmp/tree
mkdir -p "$t/a/b/c/d/e/f" "$t/empty" "$t/big" "$t/links" "$t/odd name" || exit 1
for s in 0 1 7 511 4095 4096 4097 12345 65537 1000003; do
	head -c $s /dev/zero > "$t/a/f$s"
	head -c $((s + 3)) /dev/zero > "$t/a/b/c/d/e/f/g$s"
done
truncate -s 3000000007 "$t/a/sparse"		# apparent size, not blocks
printf 'x%.0s' $(seq 1 333) > "$t/odd name/with space"
printf 'newline' > "$t/odd name/new
line"
# more entries than two getdents64 buffers hold: resubmitted listings
name=$(printf 'n%.0s' $(seq 1 60))
for i in $(seq 1 1500); do
	printf '%*s' $((i % 97)) '' > "$t/big/$name$i"
done
# symbolic links: counted as links, never followed
ln -s a "$t/links/to-dir"
ln -s ../a/f12345 "$t/links/to-file"
ln -s "/nonexistent/$(printf 'x%.0s' $(seq 1 200))" "$t/links/dangling"
# hard links: counted once, wherever the names are
head -c 77777 /dev/zero > "$t/a/hard"
ln "$t/a/hard" "$t/links/hard2"
ln "$t/a/hard" "$t/a/b/c/hard3"
head -c 5555 /dev/zero > "$t/outside"	# one name in the tree, one out
ln "$t/outside" "$tmp/outside-link"
mkfifo "$t/a/fifo"
mkdir -p "$t/locked/inner" && head -c 999 /dev/zero > "$t/locked/inner/x"
head -c 4242 /dev/zero > "$t/locked/y"
chmod -R a+rX "$t"

t_tree() { same -- "$t"; }
t_one_chain() { same -- "$t" -n 1; }
t_subdirs() { same -- "$t/big" -n 3 && same -- "$t/a" && same -- "$t/empty"; }

t_hard_links() {
	local h=$tmp/hard dsz out
	mkdir "$h" && head -c 1000 /dev/zero > "$h/one" || return 1
	ln "$h/one" "$h/two" && ln "$h/one" "$h/three" || return 1
	dsz=$(stat -c %s "$h")
	same -- "$h" || return 1
	out=$("$pdu" "$h") || return 1
	[ "$out" = "$((dsz + 1000))	$h" ] || { echo "want $((dsz + 1000)), hard links once"; return 1; }
}

t_symlink_arg() { same -- "$t/links/to-dir" && same -- "$t/links/to-file"; }

t_missing() {
	local out rc
	out=$("$pdu" "$tmp/none" 2>&1)
	rc=$?
	echo "pdu $tmp/none: $out (exit $rc)"
	# as du: the error on stderr, no total line
	[ $rc = 1 ] && [ "$out" = "pdu: cannot access '$tmp/none': No such file or directory" ]
}

t_unreadable() {
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 000 "$t/locked"
	# as root the mode does not matter: all of it is counted
	same -- "$t" || return 1
	if ! command -v setpriv >/dev/null ||
	   ! "${nobody[@]}" test -x "$pdu" 2>/dev/null; then
		echo "no setpriv, or pdu not reachable by uid 65534: root run only"
		return 0
	fi
	# as a user: locked's own size counts, not what is in it; exit 1
	same "${nobody[@]}" -- "$t" || return 1
	grep -q "cannot read directory '$t/locked': Permission denied" <<<"$pdu_err"
}

echo "TAP version 13"
echo "1..7"
check "pdu = du -s --apparent-size on a tree of ~1,700 entries, 64 chains ($backend)" t_tree
check "pdu -n 1 = du on the same tree ($backend)" t_one_chain
check "pdu = du on subtrees: 1,500 entries (several listings of one directory), a chain of nested directories, an empty one ($backend)" t_subdirs
check "hard links counted once ($backend)" t_hard_links
check "a symbolic link as PATH counts as the link ($backend)" t_symlink_arg
check "a missing PATH: cannot access, no total, exit 1 ($backend)" t_missing
check "an unreadable directory: its own size counted, reported, exit 1, as du ($backend)" t_unreadable
exit $status
