#!/bin/bash
# libsyslet's per-operation overhead, both backends (issue 4).
echo "== libsyslet overhead per operation (bench/lib-overhead)"
exec "$SYSLET_BUILD/bench/lib-overhead"
