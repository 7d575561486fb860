#!/bin/sh
# A short pass of the syslet engine fuzzer (issue 9): random chains with
# garbage pointers, flags, cancels, limits and mutilated rings, in child
# processes that exit, exec or are killed with chains in flight.  TAP from
# the fuzzer itself (its invariants); the guest harness fails the run on
# any kernel oops, KASAN, lockdep or hung-task report.
#
#   SYSLET_FUZZ_SECS	time to run (default 40 s)
#   SYSLET_FUZZ_SEED	replay a seed (default: a new one, printed)
#   (SYSLET_FUZZ_BLK, set here: a loop device for direct reads)
secs=${SYSLET_FUZZ_SECS:-40}
seed=${SYSLET_FUZZ_SEED:-0}
# lone O_DIRECT preads of a loop device: issued by async_exec() itself
truncate -s 4M /tmp/fuzz-blk.img
SYSLET_FUZZ_BLK=$(losetup -f --show /tmp/fuzz-blk.img) && export SYSLET_FUZZ_BLK
"$SYSLET_BUILD/tests/fuzz/syslet-fuzz" -s "$seed" -t "$secs" -n 100000000
rc=$?
[ -n "$SYSLET_FUZZ_BLK" ] && losetup -d "$SYSLET_FUZZ_BLK"
rm -f /tmp/fuzz-blk.img
exit $rc
