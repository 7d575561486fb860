#!/bin/bash
# What the guest is running on, and whether the syslet system calls are there.
echo "== system"
echo "kernel:  $(uname -sr) ($(uname -v))"
echo "cpus:    $(nproc), memory: $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
# the numbers from <linux/syslet.h>, the one place they are defined
top=${SYSLET_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 - "$top/include/uapi/linux/syslet.h" <<'PY'
import ctypes, os, re, sys
nr = {m.group(1).lower(): int(m.group(2)) for m in
      re.finditer(r"#define\s+SYSLET_NR_(ASYNC_\w+)\s+(\d+)", open(sys.argv[1]).read())}
libc = ctypes.CDLL(None, use_errno=True)
z = ctypes.c_long(0)
# async_limits(NULL, NULL, 0) is a harmless probe: 0 when present.
r = libc.syscall(ctypes.c_long(nr["async_limits"]), None, None, z, z, z, z)
e = ctypes.get_errno()
if r == 0:
    print("syslets: present (async_exec %d .. async_limits %d)" %
          (nr["async_exec"], nr["async_limits"]))
else:
    print("syslets: not available (async_limits: %s)" % os.strerror(e))
PY
