#!/bin/sh
# A short pass of the syslet engine fuzzer (issue 9): random chains with
# garbage pointers, flags, cancels, limits and mutilated rings, in child
# processes that exit, exec or are killed with chains in flight.  TAP from
# the fuzzer itself (its invariants); the guest harness fails the run on
# any kernel oops, KASAN, lockdep or hung-task report.
#
#   SYSLET_FUZZ_SECS	time to run (default 40 s)
#   SYSLET_FUZZ_SEED	replay a seed (default: a new one, printed)
secs=${SYSLET_FUZZ_SECS:-40}
seed=${SYSLET_FUZZ_SEED:-0}
exec "$SYSLET_BUILD/tests/fuzz/syslet-fuzz" -s "$seed" -t "$secs" -n 100000000
