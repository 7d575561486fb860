#!/bin/sh
# POSIX AIO shim in the guest (kernel and emulated backends): see tests/aio/run.sh.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export SYSLET_BUILD=${SYSLET_BUILD:-$top/build}
exec "$top/tests/aio/run.sh" guest
