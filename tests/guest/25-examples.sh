#!/bin/bash
# The libsyslet examples on the kernel backend, in the guest (built on the
# host by make userspace); a smaller copy than on the host, TCG is slow.
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "$top/tests/lib/examples.sh" kernel 1048583
