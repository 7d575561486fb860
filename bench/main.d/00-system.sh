#!/bin/bash
# What the guest is running on, and whether the syslet system calls are there.
echo "== system"
echo "kernel:  $(uname -sr) ($(uname -v))"
echo "cpus:    $(nproc), memory: $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
python3 - <<'PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
# TEMPORARY (issue 19): numbered by kernel, include/uapi/linux/syslet.h
rel = tuple(int(x) for x in os.uname().release.split(".")[:2])
base = 463 if rel == (6, 12) else 451
# async_limits(NULL, NULL) is a harmless probe: 0 when present.
r = libc.syscall(base + 3, None, None)
e = ctypes.get_errno()
if r == 0:
    print("syslets: present (async_exec %d .. async_limits %d)" % (base, base + 3))
else:
    print("syslets: not available (async_limits: %s)" % os.strerror(e))
PY
