#!/bin/sh
# The kernel engine's own tests (raw system calls): the engine (issue 3),
# seccomp/credentials, identity, accounting/limits/signals (issue 9) and
# pass-on-block (issue 8).
rc=0
for t in engine seccomp identity limits pob; do
	"$SYSLET_BUILD/tests/kernel/$t" || rc=1
done
exit $rc
