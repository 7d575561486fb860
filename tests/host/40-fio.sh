#!/bin/sh
# The syslet fio engine on the host (emulated backend): verify=crc32c jobs
# on files, see fio-engine/run-tests.sh.
# fio leaves verify state files in its working directory
cd "${TMPDIR:-/tmp}" || exit 1
exec "${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/fio-engine/run-tests.sh" host
