#!/bin/sh
# POSIX AIO shim in the guest (kernel backend): see tests/aio/run.sh.
exec "${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." \&\& pwd)}/tests/aio/run.sh" guest
