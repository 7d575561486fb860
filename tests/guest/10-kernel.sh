#!/bin/sh
# The kernel engine's own tests (raw system calls): the engine (issue 3),
# seccomp/credentials, identity, accounting/limits/signals (issue 9),
# pass-on-block and threadlets (issue 8), lifetime (ptrace, /proc, leaks at exit and exec)
# io-wq coexistence (issue 3) and direct reads without a thread (issue 5);
# issue 15: the allowlist, atoms seen by tracing/audit/ptrace, what a
# hand-off moves or refuses, the TGID after a leader's hand-off; buffered
# reads without a thread (kbuf).
# issue 16: completions posted by many threads at once (post); the
# hand-off's states: pending, cancelled, claimed, refused (pobstate).
# issue 19: ABI v1 (abi: sizes, reserved words, flags, numbers); i386
# callers (compat32: an x86-64 program using the i386 entry too, and
# compat32-i386, the i386 program, built where gcc -m32 works); PI
# futexes in atoms on 6.1 and 6.12 (pifutex).
# issue 18: io_submit() through the engine (aio).
# review 4 of issue 15 (rev4: the completion interrupt's cost, async
# threads' scheduling and io_context, restart codes, async_limits()).
# review 7 (rev7: a PI trylock's owner, queued chains' effective I/O
# priority, buffered reads and protection keys, an aio read's blocking rest
# on an async thread, completions while every user thread runs a chain).
# review 8 (rev8: protection keys across a read-on and a direct read's post,
# syslet_aio_complete's submitter after a hand-off).
# review 9 (rev9: reads completed while the only async thread is a
# pass-on-block taker).
# review 10 (rev10: reads posted by a waiting pass-on-block taker, a
# parked task work that swallowed later kicks).
rc=0
for t in engine abi seccomp identity limits pob pobstate threadlet lifetime iowq kio review aio \
	allowlist visible handoff tgid post kbuf rev4 rev7 rev8 rev9 rev10 compat32 pifutex; do
	"$SYSLET_BUILD/tests/kernel/$t" || rc=1
done
if [ -x "$SYSLET_BUILD/tests/kernel/compat32-i386" ]; then
	"$SYSLET_BUILD/tests/kernel/compat32-i386" || rc=1
else
	printf 'TAP version 13\n1..1\nok 1 compat32-i386 # SKIP not built (no gcc -m32)\n'
fi
exit $rc
