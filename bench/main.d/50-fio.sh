#!/bin/bash
# The engine comparison: every engine, every workload, one fio, one boot.
exec python3 "$SYSLET_TOP/bench/fio-compare.py" --mode "${1:-short}"
