#!/bin/sh
# The kernel engine's own tests (raw system calls).
exec "$SYSLET_BUILD/tests/kernel/engine"
