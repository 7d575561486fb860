#!/bin/sh
# The syslet fio engine on the host (emulated backend): verify=crc32c jobs
# on files, see fio-engine/run-tests.sh.
# (run-tests.sh runs fio in the results directory: fio leaves verify state
# files in its working directory.)
exec "${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/fio-engine/run-tests.sh" host
