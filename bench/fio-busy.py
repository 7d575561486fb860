#!/usr/bin/env python3
"""Interleaved repetitions of one fio workload, and what to trace.

    bench/fio-busy.py [--workload W] [--base ENGINE] [--engines a,b,...]
                      [--reps N] [--trace none|sched|lat|cpu]
                      [--fio-args=ARGS] [--host-busy N] [--runtime SECS]
                      [--spin-stacks] [--json FILE]

Runs one of fio-compare.py's workloads (--workload, default cold-qd64:
4k random buffered reads of /dev/nullb0, 2 ms timer completions, QD64)
for each engine, N times, interleaved (engine order repeated), in the
same boot, and prints one line per run, then the median IOPS of each
engine and its median ratio to the base engine's run of the same
repetition (--base: io_uring, or psync for a workload at QD1; it runs
first in each repetition).  On a loaded host one run of one engine
differs from the next by up to 3x, and on a quiet one hot-qd1 moves by
20% from run to run: read the medians, and the ratios, never one row.
--json FILE saves every run's IOPS and the medians.  --pair A/B (more
than once) adds the median of A's ratio to B in the same repetition.
Issue 16 part 2; README.md, "On a busy host";
bench/main.d/52-fio-medians.sh (make run).

--trace sched counts, per I/O, from tracefs: wake-ups of fio's threads
(sched_waking) and those sent from another vCPU than the target's
(cross-vCPU, what a thread-per-I/O engine pays twice per I/O), the
other tasks woken (async threads, kworkers, io_uring's workers, the
rest by name; "cross": from another vCPU), fio's
context switches and migrations, new tasks (async threads) and hand-offs
(syslet_handoff).  --trace lat prints the device's latency (block_rq_issue
to block_rq_complete: null_blk's timer) and, for the syslet rows, the
engine's (syslet_submit to syslet_complete), as p50/p90/p99/max in ms.
--trace cpu (no tracefs: /proc/stat and /proc/interrupts before and
after each run) prints each vCPU's busy share of the run (user, system,
interrupts) and, per I/O, the interrupts each vCPU took by kind (LOC
timer, RES reschedule IPI, CAL function-call IPI, TLB shootdown): what
keeps a vCPU busy or wakes an idle one, which a host with no CPU to spare
makes the other vCPUs pay for.  Tracing costs CPU under TCG: the IOPS of a traced run are not the
engine's.  No raw_syscalls events: a traced task reads without kbuf
(docs/design.md).

--spin-stacks, on a kernel built with scripts/spin-stacks.patch (an
experiment: docs/HACKING.md), prints after each run where the guest
spun in queued_spin_lock_slowpath() during it, by caller, longest first.

--fio-args=ARGS adds fio options to every job, split at spaces (with the
'=': ARGS begins with '--'; --fio-args=--cpus_allowed=0 pins fio to
vCPU 0).  --host-busy N only labels the output, as for
fio-compare.py: scripts/host-busy.sh N -- scripts/guest-run.sh -- ...
This is a benchmark: it never asserts.
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("fio_compare", os.path.join(HERE, "fio-compare.py"))
fc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fc)

SCHED = ["sched/sched_waking", "sched/sched_switch", "sched/sched_migrate_task",
         "task/task_newtask", "syslet/syslet_handoff"]
LAT = ["syslet/syslet_submit", "syslet/syslet_complete",
       "block/block_rq_issue", "block/block_rq_complete"]
LINE = re.compile(r"\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)")


def tracefs():
    for t in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.exists(os.path.join(t, "trace")):
            return t
    t = "/tmp/fio-busy-tracing"
    os.makedirs(t, exist_ok=True)
    os.system("mount -t tracefs nodev %s 2>/dev/null" % t)
    return t


def tw(t, path, val):
    with open(os.path.join(t, path), "w") as f:
        f.write(val)


def set_events(t, events, on):
    for e in events:
        try:
            tw(t, "events/%s/enable" % e, "1" if on else "0")
        except OSError:
            pass                # not in this kernel
    if on:
        tw(t, "buffer_size_kb", "32768")
        tw(t, "trace", "")
    tw(t, "tracing_on", "1" if on else "0")


def pct(v, f):
    return v[min(len(v) - 1, int(f * len(v)))] * 1e3


def lat_line(name, v):
    v.sort()
    return "%s ms: p50 %.1f p90 %.1f p99 %.1f max %.1f (n %d)" % (
        name, pct(v, .5), pct(v, .9), pct(v, .99), v[-1] * 1e3, len(v))


def cpu_snap():
    """Per-vCPU jiffies (busy, all) and interrupt counts by kind."""
    busy, tot = {}, {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                cpu = int(m.group(1))
                # user nice system idle iowait irq softirq steal ...
                busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6]
                tot[cpu] = sum(v[:8])
    irq = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            p = line.split()
            if p and p[0].rstrip(":") in IRQ_KINDS:
                irq[p[0].rstrip(":")] = [int(x) for x in p[1:1 + ncpu]]
    return busy, tot, irq


IRQ_KINDS = ("LOC", "RES", "CAL", "TLB")


def cpu_line(a, b, nio):
    busy = ", ".join("vCPU%d busy %.0f%%" % (c, 100.0 * (b[0][c] - a[0][c]) /
                                             max(1, b[1][c] - a[1][c]))
                     for c in sorted(a[0]))
    irq = "; ".join("%s %s" % (k, "/".join("%.3f" % ((y - x) / nio) for x, y in
                                          zip(a[2][k], b[2][k])))
                    for k in IRQ_KINDS if k in a[2])
    return "%s | per I/O by vCPU: %s" % (busy, irq)


QSL = "/sys/module/qspinlock/parameters/qsl_dump"


def spin_stacks(cmd):
    """scripts/spin-stacks.patch: 'r' starts counting, 'x' stops and
    returns its lines (the kernel log's), the longest spins first."""
    if not os.path.exists(QSL):
        if cmd == "r":
            print("fio-busy: --spin-stacks needs a kernel with scripts/spin-stacks.patch")
        return []
    if cmd == "r":
        subprocess.run(["dmesg", "-C"])
    with open(QSL, "w") as f:
        f.write(cmd)
    if cmd != "x":
        return []
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    lines = [re.sub(r"^\[[ 0-9.]*\] ", "", l) for l in out.splitlines() if "qsl:" in l]
    total = [l for l in lines if "total" in l]
    rest = sorted((l for l in lines if "total" not in l),
                  key=lambda l: -int(l.split()[1]))
    return total + rest[:12]


def parse(t, kind):
    """Counts (sched) or latency lines (lat) from the trace buffer."""
    c = collections.Counter()
    sub, dev, lats, dlats = {}, {}, [], []
    with open(os.path.join(t, "trace")) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, _, cpu, ts, ev, rest = m.groups()
            cpu, ts = int(cpu), float(ts)
            if ev == "sched_waking":
                w = re.search(r"comm=(\S+) .*target_cpu=(\d+)", rest)
                if w and w.group(1).startswith("fio"):
                    c["wakeups"] += 1
                    if int(w.group(2)) != cpu:
                        c["cross-vCPU"] += 1
                elif w:
                    # the others: async threads, kworkers, the rest
                    k = next((p for p in ("syslet", "kworker", "iou")
                              if w.group(1).startswith(p)),
                             re.sub(r"[/:]?\d+$", "", w.group(1)))
                    c["wake " + k] += 1
                    if int(w.group(2)) != cpu:
                        c["wake " + k + " cross"] += 1
            elif ev == "sched_switch" and rest.startswith("prev_comm=fio"):
                c["switches"] += 1
            elif ev == "sched_migrate_task" and "comm=fio" in rest:
                c["migrations"] += 1
            elif ev == "task_newtask":
                c["new tasks"] += 1
            elif ev == "syslet_handoff":
                c["hand-offs"] += 1
            elif ev in ("syslet_submit", "syslet_complete"):
                ud = re.search(r"user_data 0x([0-9a-f]+)", rest).group(1)
                if ev == "syslet_submit":
                    sub[ud] = ts
                elif ud in sub:
                    lats.append(ts - sub.pop(ud))
            elif ev in ("block_rq_issue", "block_rq_complete"):
                s = re.search(r"\s(\d+) \+ \d+", rest)
                if not s:
                    continue
                if ev == "block_rq_issue":
                    dev[s.group(1)] = ts
                    c["issued on vCPU%d" % cpu] += 1
                    c["issued by " + ("fio" if comm.startswith("fio")
                                      else re.sub(r"[/:]?\d+$", "", comm))] += 1
                elif s.group(1) in dev:
                    dlats.append(ts - dev.pop(s.group(1)))
    out = []
    if kind == "lat":
        where = sorted(k for k in c if k.startswith("issued"))
        if where:
            out.append("device reads " + ", ".join("%s %d" % (k, c[k]) for k in where))
        if dlats:
            out.append(lat_line("device", dlats))
        if lats:
            out.append(lat_line("submit->posted", lats))
    return c, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="io_uring,syslet,syslet-pob,syslet-async")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--trace", default="none", choices=["none", "sched", "lat", "cpu"])
    ap.add_argument("--fio-args", default="")
    ap.add_argument("--host-busy", type=int, default=0)
    ap.add_argument("--runtime", type=int, default=3)
    ap.add_argument("--spin-stacks", action="store_true")
    ap.add_argument("--workload", default="cold-qd64", choices=sorted(fc.WORKLOADS))
    ap.add_argument("--base", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--pair", action="append", default=[])
    a = ap.parse_args()
    if not os.access(fc.FIO, os.X_OK):
        print("fio-busy: %s missing (scripts/fio.sh)" % fc.FIO)
        return 1
    for pair in a.pair:
        if len(pair.split("/")) != 2:
            ap.error("--pair takes A/B, not %r" % pair)
    wname = a.workload
    w = fc.WORKLOADS[wname]
    base_name = a.base or ("psync" if w["qd"] == 1 else "io_uring")
    want = a.engines.split(",")
    if base_name not in want:
        want.insert(0, base_name)
    # the base first: each repetition's ratios are to its own base run
    want.sort(key=lambda n: n != base_name)
    engs = sorted((e for e in fc.engines("short") if e[0] in want),
                  key=lambda e: want.index(e[0]))
    missing = [n for n in want if n not in [e[0] for e in engs]]
    if missing:
        print("fio-busy: not available here: " + ", ".join(missing))
    if base_name in missing:
        return 1		# no ratio could be taken
    extra = a.fio_args.split()
    engs = [(n, args + extra, env, sync) for n, args, env, sync in engs]
    tag = "busy" + ("-host-busy-%d" % a.host_busy if a.host_busy else "")
    if wname != "cold-qd64":
        tag += "-" + wname
    outdir = os.path.join(fc.OUT, "bench", tag)
    os.makedirs(outdir, exist_ok=True)
    print("== %s, %d interleaved run(s) of %d s per engine (%s)%s%s%s" % (
        wname, a.reps, a.runtime, os.uname().release,
        ", %d busy loop(s) on the host" % a.host_busy if a.host_busy else "",
        ", fio " + a.fio_args if a.fio_args else "",
        ", traced (%s): IOPS not the engines'" % a.trace if a.trace != "none" else ""))
    t = tracefs() if a.trace in ("sched", "lat") else None
    events = SCHED if a.trace == "sched" else LAT
    targets = fc.setup("/tmp/fio-compare")
    iops = collections.defaultdict(list)
    per_rep = collections.defaultdict(dict)	# repetition -> engine -> IOPS

    def round_ratios(x, y):
        """x's IOPS over y's, in each repetition that has both."""
        return [per_rep[k][x] / per_rep[k][y] for k in sorted(per_rep)
                if per_rep[k].get(x) and per_rep[k].get(y)]
    try:
        for rep in range(a.reps):
            for name, args, env, sync in engs:
                if t:
                    set_events(t, events, True)
                snap = cpu_snap() if a.trace == "cpu" else None
                if a.spin_stacks:
                    spin_stacks("r")
                r = fc.run_one(wname, w, name, args, env, sync, targets,
                               a.runtime, outdir)
                if t:
                    set_events(t, events, False)
                if snap:
                    snap = (snap, cpu_snap())
                spins = spin_stacks("x") if a.spin_stacks else []
                if "error" in r:
                    print("%-14s run %d failed: %s" % (name, rep, " ".join(r["error"])))
                    continue
                iops[name].append(r["iops"])
                per_rep[rep][name] = r["iops"]
                line = "%-14s run %d: %6.0f IOPS, usr %2.0f%% sys %2.0f%%, p50 %.1f ms, p99 %.1f ms" % (
                    name, rep, r["iops"], r["usr"], r["sys"], r["p50"] / 1e3, r["p99"] / 1e3)
                if snap:
                    nio = max(1.0, r["iops"] * (a.runtime + 1))  # with fio's ramp
                    line += "\n    " + cpu_line(snap[0], snap[1], nio)
                for l in spins:
                    line += "\n    " + l
                if t:
                    c, lines = parse(t, a.trace)
                    nio = max(1.0, r["iops"] * (a.runtime + 1))  # with fio's ramp
                    if a.trace == "sched":
                        line += " | per I/O: " + ", ".join(
                            "%s %.3f" % (k, c[k] / nio) for k in
                            ("wakeups", "cross-vCPU", "switches", "migrations",
                             "new tasks", "hand-offs"))
                        others = sorted(k for k in c if k.startswith("wake "))
                        if others:
                            line += "\n    others woken per I/O: " + ", ".join(
                                "%s %.3f" % (k[5:], c[k] / nio) for k in others)
                    for l in lines:
                        line += "\n    " + l
                print(line)
                sys.stdout.flush()
    finally:
        fc.teardown(targets)
    print("\n| engine | median IOPS | range | median ratio to %s (per run) |" % base_name)
    print("|---|---|---|---|")
    summary = dict(workload=wname, base=base_name, reps=a.reps, runtime=a.runtime,
                   kernel=os.uname().release, host_busy=a.host_busy, engines={})
    for name, _, _, _ in engs:
        v = iops.get(name)
        if not v:
            continue
        rr = round_ratios(name, base_name) if name != base_name else []
        print("| %s | %.0f | %.0f-%.0f | %s |" % (
            name, statistics.median(v), min(v), max(v),
            "%.2fx (%.2f-%.2f)" % (statistics.median(rr), min(rr), max(rr)) if rr else "-"))
        summary["engines"][name] = dict(iops=v, median_iops=statistics.median(v),
                                        ratios=rr or [],
                                        median_ratio=statistics.median(rr) if rr else None)
    summary["pairs"] = {}
    for pair in a.pair:
        x, y = pair.split("/")
        rr = round_ratios(x, y)
        if rr:
            print("%s / %s: median %.2fx (%.2f-%.2f, %d rounds)" % (
                x, y, statistics.median(rr), min(rr), max(rr), len(rr)))
            summary["pairs"][pair] = dict(ratios=rr, median_ratio=statistics.median(rr))
        else:
            print("%s / %s: no round with both" % (x, y))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
