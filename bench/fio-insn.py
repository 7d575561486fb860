#!/usr/bin/env python3
"""Instructions per I/O of fio's engines, in the guest (a tool, not a test).

    scripts/insn-prof.sh [-v 6.12] -- python3 bench/fio-insn.py \
        [--only WORKLOAD] [--engines a,b] [--ios N]

Under scripts/insn-prof.sh (which counts every instruction the guest
runs between marks), runs each engine of bench/fio-compare.py on one of
its workloads twice, with N and then 2N I/Os, each between two marks, and
writes which profile is which to $SYSLET_OUT/insn-prof/manifest.json.
The difference of the two runs' profiles, divided by N, is what one I/O
costs (fio's start and exit cancel out):

    scripts/insn-prof.py report -m build/results/insn-prof/System.map \
        build/results/insn-prof/prof.B --minus build/results/insn-prof/prof.A --per N

This is a benchmark tool: it never asserts.
"""
import argparse
import ctypes
import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("fio_compare", os.path.join(HERE, "fio-compare.py"))
fc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fc)

marks = 0


def mark():
    """In this process: a new python process per mark would count its
    start (some 10^8 instructions, not the same every time) in the run."""
    global marks
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(ctypes.c_long(169), 0, 0, 0, 0)   # reboot(), bad magic: -EINVAL
    marks += 1


def job_maps(proc):
    """The memory map of fio's job process (a child of @proc, fio's
    default), for scripts/insn-prof.py to name user-space addresses: read
    once, 50 ms after the job appeared (its engine is loaded by then),
    so that the looking costs the same in the N and 2N runs.
    None if fio ends first (a bad option, no job)."""
    while proc.poll() is None:
        time.sleep(0.02)
        for d in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) != proc.pid:
                    continue
                time.sleep(0.05)
                with open("/proc/%s/maps" % d) as f:
                    return f.read() or None
            except (OSError, ValueError):
                continue
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="cold-qd64")
    ap.add_argument("--engines", default="io_uring,libaio+engine,syslet,syslet-async")
    ap.add_argument("--ios", type=int, default=5000)
    args = ap.parse_args()
    w = fc.WORKLOADS[args.only]
    want = args.engines.split(",")
    work = "/tmp/fio-insn"
    targets = fc.setup(work)
    out = os.path.join(fc.OUT, "insn-prof")
    os.makedirs(out, exist_ok=True)
    # where scripts/insn-prof.sh has the plugin write (its -o)
    pout = os.environ.get("INSN_PROF_OUT", out)
    man = {"workload": args.only, "ios": args.ios, "runs": []}
    mark()                                  # prof.1: the boot and the setup
    try:
        for ename, eargs, eenv, sync in fc.engines("short"):
            if ename not in want:
                continue
            for n in (args.ios, 2 * args.ios):
                fc.aio_switch(1 if ename == "libaio+engine" else 0)
                if w.get("cold"):
                    fc.sh("sync; echo 3 > /proc/sys/vm/drop_caches", check=False)
                qd = 1 if sync else w["qd"]
                cmd = [fc.FIO, "--name=insn", "--rw=" + w["rw"], "--bs=4k",
                       "--iodepth=%d" % qd, "--direct=%d" % w["direct"],
                       "--filename=" + targets[w["target"]],
                       # n I/Os, over the file again if it is smaller
                       "--io_size=%d" % (n * 4096),
                       "--norandommap", "--randrepeat=0", "--output-format=terse",
                       # not fio's default TSC: its calibration at start
                       # loops for a time, not a count (noise in the difference)
                       "--clocksource=clock_gettime"]
                cmd += eargs + w.get("extra", [])
                if w["target"] == "tmpfs":
                    cmd.append("--invalidate=0")
                env = dict(os.environ)
                env.update(eenv)
                mark()                          # what came before the run
                r = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                maps = job_maps(r)
                r.stdout_text = r.communicate()[0]
                mark()                          # the run
                if maps:
                    with open(os.path.join(pout, "prof.%d.maps" % marks), "w") as f:
                        f.write(maps)
                f = r.stdout_text.strip().split(";")
                # terse v3: read KiB at 5, read IOPS at 7, write KiB at 46
                rd = w["rw"].endswith("read")
                kib = (f[5] if rd else f[46]) if len(f) > 48 else "?"
                iops = (f[7] if rd else f[48]) if len(f) > 48 else "?"
                man["runs"].append({"engine": ename, "ios": n, "prof": "prof.%d" % marks,
                                    "rc": r.returncode, "kib": kib, "iops": iops})
                print("%s ios=%d prof.%d rc=%d kib=%s iops=%s" % (
                      ename, n, marks, r.returncode, kib, iops), flush=True)
    finally:
        fc.teardown(targets)
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
