#!/bin/bash
# Any system call, asynchronously (issue 20): stat storm, small files, tree
# walk and copy_file_range through a plain loop, thread pools, io_uring and
# the syslet engine, on ext4 over null_blk (bench/anysys.py, bench/anysys.c).
exec python3 "$SYSLET_TOP/bench/anysys.py" --mode "${1:-short}"
