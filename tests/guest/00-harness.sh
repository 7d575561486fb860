#!/bin/bash
# The guest environment the other guest tests rely on.
n=0 fail=0
t() {	# t NAME COMMAND...: one TAP line for a shell check
	local name=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		echo "$out" | sed 's/^/# /' | tail -5
		fail=1
	fi
}
kver=$(cat "${SYSLET_KDIR:-$SYSLET_BUILD/kernel/$SYSLET_KERNEL}/include/config/kernel.release" 2>/dev/null)
echo "TAP version 13"
echo "1..9"
t "two vCPUs visible (nproc = 2)" test "$(nproc)" = 2
t "running the project's kernel ($kver)" test "$(uname -r)" = "$kver"
t "host root is read-only" sh -c '! touch /usr/.syslet-probe 2>/dev/null'
t "/tmp is a writable tmpfs" sh -c 'echo x > /tmp/probe && grep -q " /tmp tmpfs " /proc/mounts'
t "results dir is writable" sh -c 'echo x > "$SYSLET_OUT/.guest-probe" && rm "$SYSLET_OUT/.guest-probe"'
t "null_blk loads with a fixed completion latency" sh -c \
	"modprobe -d '$SYSLET_MODROOT' null_blk completion_nsec=100000 irqmode=2 &&
	 test -b /dev/nullb0 && dd if=/dev/nullb0 of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null &&
	 rmmod null_blk"
t "loop devices available" sh -c 'truncate -s 8M /tmp/loop.img && l=$(losetup -f --show /tmp/loop.img) && losetup -d "$l"'
# scripts/test.sh boots the suites with preempt=full: check that the kernel
# took it (a kernel without PREEMPT_DYNAMIC ignores the parameter).
want=$(sed -n 's/.*\bpreempt=\([a-z]*\).*/\1/p' /proc/cmdline)
t "preemption model is the one booted (${want:-default})" sh -c \
	"[ -z '$want' ] || dmesg | grep -q 'Dynamic Preempt: $want'"
t "host programs run (busybox, perl, python3)" sh -c "busybox true && perl -e1 && python3 -c 1"
exit $fail
