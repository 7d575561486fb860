#!/bin/sh
# POSIX AIO shim on the host (emulated backend): see tests/aio/run.sh.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export SYSLET_BUILD=${SYSLET_BUILD:-$top/build}
exec "$top/tests/aio/run.sh" host
