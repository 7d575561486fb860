# gdb -nx -batch -x scripts/itrace.py, through scripts/itrace.sh.
#
# Counts the instructions one kernel call executes, by function: attaches
# to the guest's gdbstub, waits for the SKIP+1th hit of FUNCTION (a
# hardware breakpoint), then single-steps the vCPU that hit it until it
# is back in user space, and prints how many instructions ran in each
# function (a rep-prefixed string instruction counts once per iteration).
# Under TCG, time follows these counts closely; unlike a timing, they are
# the same from run to run and whatever else the host is doing.
#
# Environment: ITRACE_VMLINUX, ITRACE_PORT, ITRACE_FUNC, ITRACE_SKIP,
# ITRACE_MAX (steps before giving up), ITRACE_OUT (the table).
import collections
import os

import gdb

env = os.environ
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("file " + env["ITRACE_VMLINUX"])
gdb.execute("target remote :" + env["ITRACE_PORT"])
gdb.execute("hbreak " + env["ITRACE_FUNC"])
for _ in range(int(env.get("ITRACE_SKIP", "50")) + 1):
    gdb.execute("continue", to_string=True)
gdb.execute("delete")

USER_TOP = 0xffff800000000000
limit = int(env.get("ITRACE_MAX", "50000"))
per_fn = collections.Counter()
steps = 0
why = " (stopped: ITRACE_MAX reached)"
try:
    while steps < limit:
        pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
        if pc < USER_TOP:
            why = ""
            break
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            name = block.function.name
        else:
            sym = gdb.execute("info symbol 0x%x" % pc, to_string=True)
            name = sym.split(" in ")[0].split()[0]
        per_fn[name] += 1
        steps += 1
        gdb.execute("stepi", to_string=True)
except gdb.error as e:
    why = " (stopped: %s)" % e
finally:
    # what was counted is kept, whatever stopped the trace
    with open(env["ITRACE_OUT"], "w") as f:
        f.write("# %s: %d instructions%s\n" % (env["ITRACE_FUNC"], steps, why))
        for name, n in per_fn.most_common():
            f.write("%7d %s\n" % (n, name))
gdb.execute("detach")
