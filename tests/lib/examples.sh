#!/bin/bash
# Runs the libsyslet examples (userspace/examples/) on one backend and
# checks what they print and how they exit; TAP on stdout.
#
#	tests/lib/examples.sh emulated|kernel [PCOPY_BYTES]
#
# Used by tests/host/25-examples.sh (emulated) and
# tests/guest/25-examples.sh (kernel).  The programs must be built
# (build/userspace/examples/); this script does not build them.
backend=${1:?usage: $0 emulated|kernel [PCOPY_BYTES]}
bytes=${2:-5242917}		# a few MiB, not a multiple of the block size
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SYSLET_BUILD:-$top/build}
ex=$build/userspace/examples
export SYSLET_BACKEND=$backend
tmp=$(mktemp -d /tmp/syslet-examples.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
n=0

. "$top/tests/lib/tap.sh"

# run PROG ARGS...: $out = stdout+stderr, $rc = exit status; fails if unbuilt
run() {
	local prog=$ex/$1
	shift
	[ -x "$prog" ] || { echo "$prog: not built"; return 1; }
	out=$(timeout 60 "$prog" "$@" 2>&1)
	rc=$?
	echo "\$ ${prog##*/} $* -> exit $rc"
	printf '%s\n' "$out"
}

# expect REGEX: $out has a line matching REGEX (grep -E)
expect() { grep -Eq -- "$1" <<<"$out" || { echo "no line matching: $1"; return 1; }; }

text="hello, syslet examples: the three-line read"
printf '%s\n' "$text" > "$tmp/hello.txt"
len=$(( ${#text} + 1 ))

t_oneshot() {
	run oneshot-read "$tmp/hello.txt" || return 1
	[ $rc = 0 ] && expect "^backend $backend: read $len bytes: \"hello, syslet examples" || return 1
	run oneshot-read "$tmp/none" || return 1
	[ $rc = 1 ]
}

t_chain() {
	run chain "$tmp/hello.txt" || return 1
	[ $rc = 0 ] &&
	expect '^chain 42: 3 atoms ran, last close, status 0$' &&
	expect "^openat -> fd [0-9]+, read -> $len, close -> 0$" &&
	expect '^data: "hello, syslet examples' || return 1
	# a failing open stops the chain there (SYSLET_STOP_ON_NEGATIVE)
	run chain "$tmp/none" || return 1
	[ $rc = 1 ] &&
	expect '^chain 42: 1 atoms ran, last openat, status -2$' &&
	expect '^openat: No such file or directory$'
}

t_threadlet() {
	local ms k
	run threadlet || return 1
	[ $rc = 0 ] &&
	expect '^localhost +(127\.0\.0\.1|::1)$' &&
	expect '^127\.0\.0\.1 +127\.0\.0\.1$' &&
	expect "^4 threadlets of usleep\(200 ms\) took [0-9]+ ms, at most [0-9] asleep at once \($backend backend\)$" ||
		return 1
	# in parallel: one after the other would never have two asleep at
	# once (and take 800 ms; time alone fails on a busy debug kernel,
	# where making the spares took 1.5 s: 1,567 ms for the four)
	ms=$(sed -n 's/^4 threadlets of usleep(200 ms) took \([0-9]*\) ms.*/\1/p' <<<"$out")
	k=$(sed -n 's/.* at most \([0-9]\) asleep at once.*/\1/p' <<<"$out")
	[ "$ms" -ge 199 ] && [ "$k" -ge 2 ] ||
		{ echo "took $ms ms, at most $k asleep at once"; return 1; }
	# a name that cannot resolve: reported, exit 1
	run threadlet nonexistent.invalid || return 1
	[ $rc = 1 ] && expect '^nonexistent\.invalid '
}

t_pcopy() {
	head -c "$bytes" /dev/urandom > "$tmp/src" || return 1
	run pcopy -n 8 -b 64 "$tmp/src" "$tmp/dst" || return 1
	[ $rc = 0 ] && expect "^pcopy: $bytes bytes in .* \(8 chains of 64 KiB, $backend backend\)$" &&
	cmp "$tmp/src" "$tmp/dst" || return 1
	# a prefix (-l), one chain, odd block size
	run pcopy -n 1 -b 3 -l 100001 "$tmp/src" "$tmp/dst2" || return 1
	head -c 100001 "$tmp/src" > "$tmp/prefix"	# (no /dev/fd in the guest)
	[ $rc = 0 ] && cmp "$tmp/prefix" "$tmp/dst2" || return 1
	# a missing source fails
	run pcopy "$tmp/none" "$tmp/dst3" || return 1
	[ $rc != 0 ]
}

t_cancel() {
	run cancel 100 || return 1
	[ $rc = 0 ] &&
	expect '^after 100 ms: still blocked, cancelling$' &&
	expect "^chain 7: status -125 \(.*\), cancelled flag, 1 atom\(s\) ran, read's own result -125 \($backend backend\)$"
}

echo "TAP version 13"
echo "1..5"
check "oneshot-read: the three-line read ($backend)" t_oneshot
check "chain: open -> read -> close with the fd flowing; a failed open stops it ($backend)" t_chain
check "threadlet: getaddrinfo of localhost, 4 x 200 ms in parallel ($backend)" t_threadlet
check "pcopy: $bytes bytes copied by 8 chains match; -l prefix; missing source fails ($backend)" t_pcopy
check "cancel: a blocked read cancelled by its user word ($backend)" t_cancel
exit $status
