#!/bin/sh
# POSIX AIO shim on the host (emulated backend): see tests/aio/run.sh.
exec "${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." \&\& pwd)}/tests/aio/run.sh" host
