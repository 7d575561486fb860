#!/bin/sh
# Soak (issue 9): 10,000 chains blocked on pipes at once complete when the
# pipes are written, with no more async threads than max_threads; prints
# the kernel memory per in-flight chain (slab, kernel stacks, page tables).
exec "$SYSLET_BUILD/tests/fuzz/syslet-soak" -n 10000
