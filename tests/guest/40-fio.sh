#!/bin/sh
# The syslet fio engine in the guest (kernel and emulated backends):
# verify=crc32c jobs on files and on a block device, buffered and O_DIRECT,
# see fio-engine/run-tests.sh.
# (run-tests.sh runs fio in the results directory: fio leaves verify state
# files in its working directory.)
exec "${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/fio-engine/run-tests.sh" guest
