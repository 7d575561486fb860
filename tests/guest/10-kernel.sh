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
# issue 19: ABI v1 (abi: sizes, reserved words, flags, numbers).
rc=0
for t in engine abi seccomp identity limits pob pobstate threadlet lifetime iowq kio review \
	allowlist visible handoff tgid post kbuf; do
	"$SYSLET_BUILD/tests/kernel/$t" || rc=1
done
exit $rc
