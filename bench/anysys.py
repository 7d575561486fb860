#!/usr/bin/env python3
"""Any system call, asynchronously: the workloads io_uring cannot serve well.

    bench/anysys.py [--mode short|full] [--only WORKLOAD]

Runs build/bench/anysys (bench/anysys.c) for every workload and engine in
one boot, on ext4 over a null_blk device with the fio comparison's fixed
completion latency (bench/fio-compare.py's LAT_NS and module root; memory
backed here, to hold a file system).  Prints one table per workload;
keeps results.json and chart.svg (gnuplot) under
$SYSLET_OUT/bench/anysys-<mode>/.  A benchmark: it never asserts.

  stat   statx() of N files, hot and cold, 1, 16 and 64 in flight
  small  open, read whole, close N files of 4-16 KiB, hot and cold
  tree   a du-like walk (getdents64 + statx) of a tree of N entries
  copy   copy_file_range() of N files of 64 KiB, 16 in flight, cold

Engines: the sync loop; N threads that each take the next item and make
its calls (no loop: the least a call on a thread costs); an event loop
with a pool of N worker threads, as libuv does:
requests handed to the workers, results taken back by the loop, which
does the rest (the issue's "thread pool, the libuv/glibc model", N = 4
and 16); io_uring; the syslet engine (default mode, SYSLET_ASYNC) and
libsyslet's emulated backend.  The asynchronous engines and the loop
keep the same number of requests in flight.

Hot: the files were just read (a warm-up pass first).  Cold: sync and
drop_caches before every run.  Each row is run several times, in rounds
over all engines, and keeps its best run (REPEAT; the worst is shown too).
ops/s is wall-clock; CPU is the process's user + system time (every
thread, the engines' workers included); "device reads" the reads the
null_blk device completed during the run; "chains queued" how many syslet
chains left the caller (the rest ran there as plain calls would).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("fio_compare", os.path.join(HERE, "fio-compare.py"))
fc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fc)       # its constants and helpers; main() does not run

BIN = os.path.join(fc.BUILD, "bench/anysys")
WORK = "/tmp/anysys"

SIZES = {"short": dict(stat=2000, small=1000, tree=4000, copy=200),
         "full": dict(stat=10000, small=10000, tree=20000, copy=1000)}

# (workload, temperature, in-flight depths of the asynchronous engines)
PLAN = {"short": [("stat", "hot", [1, 16, 64]), ("stat", "cold", [1, 16, 64]),
                  ("small", "hot", [64]), ("small", "cold", [64]),
                  ("tree", "hot", [64]), ("tree", "cold", [64]),
                  ("copy", "cold", [16])],
        "full": [("stat", "hot", [1, 16, 64]), ("stat", "cold", [1, 16, 64]),
                 ("small", "hot", [16, 64]), ("small", "cold", [16, 64]),
                 ("tree", "hot", [16, 64]), ("tree", "cold", [16, 64]),
                 ("copy", "cold", [16])]}

# runs of each row (the best is kept), by mode and temperature
# (cold: 3, since one slow run of one row could decide a target)
REPEAT = {"short": {"hot": 5, "cold": 3}, "full": {"hot": 5, "cold": 3}}

LABEL = {"sync": "sync loop", "pool": "threads, no loop", "uring": "io_uring",
         "syslet": "syslet (default)", "syslet-async": "syslet SYSLET_ASYNC",
         "syslet-auto": "syslet auto",
         "emul": "emulated backend", "loop": "loop + pool"}

# The "thread pool (the libuv/glibc model)": an event loop that
# hands its requests to N worker threads and takes the results back
# (anysys.c, run_loop_pool()); N = 4 (libuv's default) and 16.
LOOP_THREADS = [4, 16]


def label(r):
    """A row's engine, with its thread count where it has one."""
    if r["engine"] == "loop":
        return "loop + pool of %d" % r.get("threads", 4)
    if r["engine"] == "pool":
        return "%d threads, no loop" % r["qd"]
    return LABEL[r["engine"]]


def syslet_kernel_present():
    return fc.syslet_kernel_present()


def setup():
    """null_blk (memory backed, the fio comparison's latency), ext4, noatime."""
    sh = fc.sh
    sh("umount %s/mnt 2>/dev/null; rmmod null_blk 2>/dev/null" % WORK, check=False)
    sh("modprobe -d '%s' null_blk completion_nsec=%d irqmode=2 gb=2 "
       "hw_queue_depth=128 memory_backed=1" % (fc.MODROOT, fc.LAT_NS))
    sh("mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard /dev/nullb0")
    mnt = os.path.join(WORK, "mnt")
    os.makedirs(mnt, exist_ok=True)
    sh("mount -t ext4 -o noatime /dev/nullb0 %s" % mnt)
    return mnt


def teardown():
    fc.sh("umount %s/mnt" % WORK, check=False)
    fc.sh("rmmod null_blk", check=False)


def drop_caches():
    fc.sh("sync; echo 3 > /proc/sys/vm/drop_caches", check=False)


def device_reads():
    """Reads the null_blk device completed so far."""
    with open("/sys/block/nullb0/stat") as f:
        return int(f.read().split()[0])


def run(w, engine, qd, mnt, n, threads=None):
    if w == "copy":
        fc.sh("rm -rf %s/copy-out" % mnt)
    r0 = device_reads()
    r = subprocess.run([BIN, "run", w, engine, str(qd), mnt, str(n)] +
                       ([str(threads)] if threads else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (r.stdout.strip() or "exit %d" % r.returncode)[-120:]}
    res["device_reads"] = device_reads() - r0
    return res


def best(old, new):
    """The better of two runs of one row, with every run's ops/s in "runs"."""
    runs = (old or {}).get("runs", []) + [new.get("ops_per_s", 0)]
    keep = new if old is None or new.get("ops_per_s", 0) > old.get("ops_per_s", 0) else old
    keep = dict(keep)
    keep["runs"] = runs
    return keep


def rows_for(w, depths, kernel):
    """(engine, in flight, threads) of every row of a workload."""
    rows = [("sync", 1, None), ("pool", 4, None), ("pool", 16, None)]
    for d in depths:
        if w != "copy":
            rows.append(("uring", d, None))
        rows += [("loop", d, t) for t in LOOP_THREADS]
        if kernel:
            rows += [("syslet", d, None), ("syslet-async", d, None),
                     ("syslet-auto", d, None)]
        rows.append(("emul", d, None))
    return rows


def baseline(res, engines=("uring", "loop")):
    """The best ops/s among @engines' rows: the issue's comparison is the
    best of io_uring and the thread pool of an event loop (libuv's model);
    with "pool" too, the best of every other way."""
    return max([x["ops_per_s"] for x in res if x["engine"] in engines
                and "ops_per_s" in x] or [0])


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


def table(w, temp, n, res):
    key = "%s-%s" % (w, temp)
    print("\n### %s (%s, %d %s)" % (key, {"stat": "statx", "small": "open+read+close",
                                          "tree": "getdents64+statx, ops = entries",
                                          "copy": "copy_file_range"}[w], n,
                                     "entries" if w == "tree" else "files"))
    print("| engine | in flight | ops/s | x sync | x io_uring | x best of io_uring, loop + pool "
          "| x best of all others | CPU us/op | worst run ops/s | device reads "
          "| chains queued | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    sync = next((r["ops_per_s"] for r in res if r["engine"] == "sync" and "ops_per_s" in r), 0)
    for r in res:
        if "ops_per_s" not in r:
            print("| %s | %d | failed: %s ||||||||||" % (label(r), r["qd"], r["error"]))
            continue
        ur = [x["ops_per_s"] for x in res if x["engine"] == "uring" and "ops_per_s" in x
              and x["qd"] == r["qd"]]
        mine = r["engine"] not in ("sync", "pool", "uring", "loop")
        cpu = r["usr"] + r["sys"]
        print("| %s | %d | %.0f | %s | %s | %s | %s | %.1f | %.0f | %d | %s | %d |" % (
            label(r), r["qd"], r["ops_per_s"], ratio(r["ops_per_s"], sync),
            ratio(r["ops_per_s"], ur[0] if ur else 0),
            ratio(r["ops_per_s"], baseline(res)) if mine else "",
            ratio(r["ops_per_s"], baseline(res, ("uring", "loop", "pool"))) if mine else "",
            1e6 * cpu / r["ops"] if r["ops"] else 0, min(r["runs"]), r["device_reads"],
            "%d of %d" % (r["queued"], r["chains"]) if r["engine"].startswith("syslet")
            else "", r["errors"]))
    if w == "tree":
        print("(io_uring has no getdents64: its row lists directories with synchronous "
              "getdents64 in the caller and stats entries through the ring)")
    if w == "copy":
        print("(io_uring has no copy_file_range: no io_uring row)")
    sys.stdout.flush()


def targets(summary):
    """The issue's figures, from this run."""
    def get(key, engine, qd=None):
        return [r for r in summary.get(key, []) if r["engine"] == engine and "ops_per_s" in r
                and (qd is None or r["qd"] == qd)]
    print("\n### targets (issue 20)")
    print("| figure | target | got |")
    print("|---|---|---|")
    s, sy = get("stat-hot", "sync"), get("stat-hot", "syslet", 1)
    if s and sy:
        print("| hot stat storm, 1 in flight, syslet / sync | >= 0.9x | %s |" %
              ratio(sy[0]["ops_per_s"], s[0]["ops_per_s"]))
    for key in ("stat-cold", "small-cold", "tree-cold"):
        for eng in ("syslet", "syslet-async", "syslet-auto"):
            e = get(key, eng, 64)
            res = summary.get(key, [])
            if e:
                print("| %s, 64 in flight, %s / best of io_uring and loop + pool | >= 1.5x "
                      "| %s (the best of all others, threads with no loop too: %s) |" %
                      (key, eng, ratio(e[0]["ops_per_s"], baseline(res)),
                       ratio(e[0]["ops_per_s"], baseline(res, ("uring", "loop", "pool")))))


def chart(summary, outdir):
    """ops/s relative to the sync loop: one cluster per workload, the best depth per engine."""
    engines = ["pool", "loop", "uring", "syslet", "syslet-async", "syslet-auto", "emul"]
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join('"%s"' % LABEL[e] for e in engines) + "\n")
        for key, res in summary.items():
            sync = next((r["ops_per_s"] for r in res if r["engine"] == "sync"
                         and "ops_per_s" in r), 0)
            row = [key]
            for e in engines:
                v = [r["ops_per_s"] for r in res if r["engine"] == e and "ops_per_s" in r]
                row.append("%.3f" % (max(v) / sync) if v and sync else "NaN")
            f.write(" ".join(row) + "\n")
    svg = os.path.join(outdir, "chart.svg")
    gp = """set terminal svg size 1000,520 noenhanced font 'sans,12'
set output '%s'
set title 'ops/s relative to the synchronous loop (best depth per engine; one guest run)'
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set key outside bottom center horizontal
set logscale y 2
set yrange [0.03125:*]
set grid ytics
plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)
""" % (svg, len(engines) + 1, dat)
    r = subprocess.run(["gnuplot"], input=gp, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return svg if r.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="short", choices=["short", "full"])
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    outdir = os.path.join(fc.OUT, "bench", "anysys-" + a.mode)
    os.makedirs(outdir, exist_ok=True)
    if not os.access(BIN, os.X_OK):
        print("anysys: %s missing (make -C bench)" % BIN)
        return 1
    kernel = syslet_kernel_present()
    sizes = SIZES[a.mode]
    print("== any system call, asynchronously (%s; ext4 on null_blk, %.1f ms per I/O; %s)" % (
        a.mode, fc.LAT_NS / 1e6, os.uname().release))
    if not kernel:
        print("(no syslet kernel rows: this kernel has no syslet system calls)")
    t0 = time.time()
    mnt = setup()
    summary = {}
    try:
        for w in sizes:
            if not a.only or a.only in w:
                fc.sh("%s mk %s %s %d" % (BIN, w, mnt, sizes[w]))
        drop_caches()
        for w, temp, depths in PLAN[a.mode]:
            if a.only and a.only not in w:
                continue
            n = sizes[w]
            if temp == "hot":
                run(w, "sync", 1, mnt, n)          # warm-up, not recorded
            rows = rows_for(w, depths, kernel)
            res = [None] * len(rows)
            # Rounds over every engine in turn, each row keeping its best
            # run: other work on the machine slows single runs, never
            # speeds one up, and a round shares out what it does.
            for _ in range(REPEAT[a.mode][temp]):
                for i, (engine, qd, threads) in enumerate(rows):
                    if temp == "cold":
                        drop_caches()
                    r = run(w, engine, qd, mnt, n, threads)
                    r.setdefault("engine", engine)
                    r.setdefault("qd", qd)
                    if threads:
                        r.setdefault("threads", threads)
                    res[i] = best(res[i], r)
            key = "%s-%s" % (w, temp)
            summary[key] = res
            table(w, temp, n, res)
    finally:
        teardown()
    targets(summary)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"mode": a.mode, "kernel": os.uname().release, "lat_ns": fc.LAT_NS,
                   "sizes": sizes, "results": summary}, f, indent=1)
    svg = chart(summary, outdir)
    print("\nresults.json%s in %s (%.0f s)" % (" and chart.svg" if svg else "", outdir,
                                               time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
