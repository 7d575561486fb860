#!/bin/bash
# The parallel du example against du in the guest, on the kernel backend
# (built on the host by make userspace; tests/lib/pdu.sh).
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "$top/tests/lib/pdu.sh" kernel
