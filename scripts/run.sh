#!/bin/bash
# make run: build everything, boot the patched kernel in QEMU and run the
# main job (scripts/main-job.sh short) there.  Results are kept in
# build/results/run/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/kernel.sh fast
make --no-print-directory userspace
exec scripts/guest-run.sh -t "${SYSLET_RUN_TIMEOUT:-1800}" -- scripts/main-job.sh short
