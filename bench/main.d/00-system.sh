#!/bin/bash
# What the guest is running on, and whether the syslet system calls are there.
echo "== system"
echo "kernel:  $(uname -sr) ($(uname -v))"
echo "cpus:    $(nproc), memory: $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
python3 - <<'PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
names = {451: "async_exec", 452: "async_wait", 453: "async_cancel", 454: "async_limits"}
# async_limits(NULL, NULL) is a harmless probe: 0 when present.
r = libc.syscall(454, None, None)
e = ctypes.get_errno()
if r == 0:
    print("syslets: present (async_exec 451 .. async_limits 454)")
else:
    print("syslets: not available (async_limits: %s)" % os.strerror(e))
PY
