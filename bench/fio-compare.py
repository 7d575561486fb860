#!/usr/bin/env python3
"""Compare I/O engines with one fio binary, inside the guest.

    bench/fio-compare.py [--mode short|full] [--only WORKLOAD] [--engines a,b]
                         [--host-busy N]

Every engine runs every workload on the same fio (build/fio/fio), one after
the other in the same boot, so the ratios are comparable even though
absolute numbers under QEMU's TCG mean little.  Prints one table per
workload; keeps the raw fio JSON, a summary JSON and a PNG chart under
$SYSLET_OUT/bench/<mode>/.  This is a benchmark: it never asserts.

--host-busy N only labels the run: scripts/host-busy.sh runs the N busy
loops on the host, beside the guest (HOST_BUSY=N for make run / make
bench), and the results go to $SYSLET_OUT/bench/<mode>-host-busy-N/.

Workloads (null_blk with timer completions of a fixed latency, so the
physical limit iodepth/latency is known):
  cold-qd64    4k random buffered reads from /dev/nullb0, cache dropped
  cold-qd32    the same at iodepth 32, POSIX AIO (glibc and the shim) with
               psync, libaio and io_uring for reference only (the POSIX AIO
               shim's target is stated at QD32; the syslet engines have
               cold-qd64)
  direct-qd32  4k random O_DIRECT reads from /dev/nullb0
  hot-qd1      4k random reads of a page-cache-hot file on tmpfs, iodepth 1
  hot-qd32     the same at iodepth 32
  write-fsync  4k random buffered writes, fsync every 32, ext4 on a loop
               device over tmpfs (so fsync does real journal and block I/O)

libaio runs with /proc/sys/fs/aio-syslet at 0 (io_submit() as mainline
has it); libaio+engine is the same fio engine with it at 1 (a buffered
read that would wait does not wait in io_submit(): kernel/syslet/aio.c).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

TOP = os.environ.get("SYSLET_TOP", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SYSLET_BUILD", os.path.join(TOP, "build"))
OUT = os.environ.get("SYSLET_OUT", os.path.join(BUILD, "results"))
MODROOT = os.environ.get("SYSLET_MODROOT", os.path.join(BUILD, "kernel/fast/modroot"))
FIO = os.path.join(BUILD, "fio/fio")
LAT_NS = 2000000                      # null_blk completion latency
AIO_SWITCH = "/proc/sys/fs/aio-syslet"  # io_submit() through the engine

WORKLOADS = {
    "cold-qd64": dict(desc="4k randread, buffered, cold cache, QD64 (/dev/nullb0)",
                      rw="randread", qd=64, target="nullb", direct=0, cold=True),
    # only these engines: the row is for POSIX AIO, and short mode stays short
    "cold-qd32": dict(desc="4k randread, buffered, cold cache, QD32 (/dev/nullb0)",
                      rw="randread", qd=32, target="nullb", direct=0, cold=True,
                      engines=["psync", "libaio", "io_uring", "posixaio", "posixaio+shim"]),
    "direct-qd32": dict(desc="4k randread, O_DIRECT, QD32 (/dev/nullb0)",
                        rw="randread", qd=32, target="nullb", direct=1),
    # vs: extra ratio columns (the shim's target is against psync, and
    # posixaio+floor shows what fio's posixaio engine costs by itself)
    "hot-qd1": dict(desc="4k randread, page-cache hot (tmpfs file), QD1",
                    rw="randread", qd=1, target="tmpfs", direct=0,
                    vs=["psync", "posixaio+floor"]),
    "hot-qd32": dict(desc="4k randread, page-cache hot (tmpfs file), QD32",
                     rw="randread", qd=32, target="tmpfs", direct=0),
    "write-fsync": dict(desc="4k randwrite, buffered, fsync every 32, QD32 (ext4 on loop)",
                        rw="randwrite", qd=32, target="ext4", direct=0,
                        extra=["--fsync=32"]),
}


# engines run only in these workloads (short mode stays short)
ENGINE_ONLY = {"posixaio+floor": ["hot-qd1"]}


def find_shim():
    for pat in ("userspace/aio/*.so", "userspace/aio/lib*.so*"):
        hits = sorted(glob.glob(os.path.join(BUILD, pat)))
        if hits:
            return hits[0]
    return None


def engines(mode):
    """(name, fio args, extra environment, sync?) for every engine available."""
    e = [("psync", ["--ioengine=psync"], {}, True),
         ("libaio", ["--ioengine=libaio"], {}, False),
         ("io_uring", ["--ioengine=io_uring"], {}, False),
         ("posixaio", ["--ioengine=posixaio"], {}, False)]
    if os.path.exists(AIO_SWITCH):
        # the same fio engine, io_submit() through the engine (run_one())
        e.insert(2, ("libaio+engine", ["--ioengine=libaio"], {}, False))
    shim = find_shim()
    if shim:
        e.append(("posixaio+shim", ["--ioengine=posixaio"], {"LD_PRELOAD": shim}, False))
    # The floor of any POSIX AIO library under fio's posixaio engine:
    # aio_read() a bare pread, aio_error()/aio_return() read the aiocb
    # (bench/aio-floor.c; not conforming, a benchmark only).
    floor = os.path.join(BUILD, "bench/aio-floor.so")
    if os.path.exists(floor):
        e.append(("posixaio+floor", ["--ioengine=posixaio"], {"LD_PRELOAD": floor}, False))
    so = os.path.join(BUILD, "fio-engine/syslet.so")
    if os.path.exists(so):
        eng = ["--ioengine=external:" + so]
        if syslet_kernel_present():
            # default: pass-on-block (in the caller until a read would block)
            e.append(("syslet", eng + ["--backend=kernel"], {}, False))
            # pass-on-block for every I/O, without auto's adaptation
            e.append(("syslet-pob", eng + ["--backend=kernel", "--exec_mode=pob"], {}, False))
            # every I/O queued to an async thread at once (SYSLET_ASYNC)
            e.append(("syslet-async", eng + ["--backend=kernel", "--exec_mode=async"], {}, False))
        e.append(("syslet-emul", eng + ["--backend=emulated"], {}, False))
        # The same engine trying RWF_NOWAIT in the caller first (what
        # io_uring does before it punts to io-wq): chains only for misses.
        # Full mode only (tmpfs in 6.1 cannot do RWF_NOWAIT at all).
        if mode != "full":
            return e
        if syslet_kernel_present():
            e.append(("syslet+nowait", eng + ["--backend=kernel", "--nowait_first=1"], {}, False))
        e.append(("syslet-emul+nowait", eng + ["--backend=emulated", "--nowait_first=1"], {}, False))
    return e


def syslet_kernel_present():
    import ctypes
    import re
    # async_limits(NULL, NULL, 0); its number from <linux/syslet.h>
    with open(os.path.join(TOP, "include/uapi/linux/syslet.h")) as f:
        nr = int(re.search(r"#define\s+SYSLET_NR_ASYNC_LIMITS\s+(\d+)", f.read()).group(1))
    libc = ctypes.CDLL(None, use_errno=True)
    z = ctypes.c_long(0)
    return libc.syscall(ctypes.c_long(nr), None, None, z, z, z, z) == 0


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def setup(work):
    """Load null_blk, make the tmpfs file and the ext4 file system."""
    sh("rmmod null_blk 2>/dev/null", check=False)
    sh("modprobe -d '%s' null_blk completion_nsec=%d irqmode=2 gb=64 "
       "hw_queue_depth=128" % (MODROOT, LAT_NS))
    os.makedirs(work, exist_ok=True)
    hot = os.path.join(work, "hot.dat")
    sh("dd if=/dev/urandom of=%s bs=1M count=128 status=none" % hot)
    img = os.path.join(work, "ext4.img")
    sh("truncate -s 512M %s" % img)
    loop = sh("losetup -f --show %s" % img).strip()
    # Initialise inode tables and journal now: ext4lazyinit must not
    # write in the background while the engines are measured.
    sh("mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard %s" % loop)
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    sh("mount -t ext4 %s %s" % (loop, mnt))
    return {"nullb": "/dev/nullb0", "tmpfs": hot,
            "ext4": os.path.join(mnt, "write.dat"), "loop": loop, "mnt": mnt}


def teardown(t):
    sh("umount %s" % t["mnt"], check=False)
    sh("losetup -d %s" % t["loop"], check=False)
    sh("rmmod null_blk", check=False)


def aio_switch(on):
    if os.path.exists(AIO_SWITCH):
        with open(AIO_SWITCH, "w") as f:
            f.write("%d\n" % on)


def run_one(wname, w, ename, eargs, eenv, sync, targets, runtime, outdir):
    qd = 1 if sync else w["qd"]
    aio_switch(1 if ename == "libaio+engine" else 0)
    path = os.path.join(outdir, "%s--%s.json" % (wname, ename))
    cmd = [FIO, "--name=" + wname, "--rw=" + w["rw"], "--bs=4k",
           "--iodepth=%d" % qd, "--direct=%d" % w["direct"],
           "--filename=" + targets[w["target"]], "--runtime=%d" % runtime,
           "--time_based", "--ramp_time=1", "--norandommap", "--randrepeat=0",
           "--output-format=json", "--output=" + path] + eargs + w.get("extra", [])
    if w["target"] == "ext4":
        cmd.append("--size=256M")
    if w["target"] == "tmpfs":
        cmd.append("--invalidate=0")
    if w.get("cold"):
        sh("sync; echo 3 > /proc/sys/vm/drop_caches", check=False)
    env = dict(os.environ)
    env.update(eenv)
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return {"error": (r.stdout or "").strip().splitlines()[-1:] or ["exit %d" % r.returncode], "qd": qd}
    with open(path) as f:
        text = f.read()
    try:  # fio may put notes ahead of the JSON
        data = json.loads(text[text.index("{"):])
    except ValueError:
        return {"error": ["no JSON: " + (text or r.stdout or "").strip()[:200]], "qd": qd}
    job = data["jobs"][0]
    d = job["write"] if w["rw"].endswith("write") else job["read"]
    pct = d.get("clat_ns", {}).get("percentile", {})
    return {"qd": qd, "iops": d["iops"], "usr": job["usr_cpu"], "sys": job["sys_cpu"],
            "p50": pct.get("50.000000", 0) / 1000.0, "p99": pct.get("99.000000", 0) / 1000.0}


def fmt_ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


def print_table(wname, w, res):
    print("\n### %s: %s" % (wname, w["desc"]))
    limit_note = w["target"] == "nullb"
    vs = [v for v in w.get("vs", []) if v in res]
    hdr = "| engine | QD | IOPS | vs libaio | vs io_uring |%s%s usr%% | sys%% | p50 us | p99 us |" % (
        "".join(" vs %s |" % v.replace("posixaio+", "") for v in vs),
        " vs limit |" if limit_note else "")
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    base = res.get("libaio", {}).get("iops")
    uring = res.get("io_uring", {}).get("iops")
    for ename, r in res.items():
        if "error" in r:
            print("| %s | %d | failed: %s |" % (ename, r["qd"], " ".join(r["error"])[:80]))
            continue
        lim = ""
        if limit_note:
            lim = " %.0f%% |" % (100.0 * r["iops"] / (r["qd"] * 1e9 / LAT_NS))
        refs = "".join(" %s |" % fmt_ratio(r["iops"], res[v].get("iops")) for v in vs)
        print("| %s | %d | %.0f | %s | %s |%s%s %.0f | %.0f | %.0f | %.0f |" % (
            ename, r["qd"], r["iops"], fmt_ratio(r["iops"], base), fmt_ratio(r["iops"], uring),
            refs, lim, r["usr"], r["sys"], r["p50"], r["p99"]))
    if "posixaio+floor" in vs:
        print("(posixaio+floor: fio's posixaio engine over a preload whose aio_read() is a "
              "bare pread, the least any POSIX AIO library can cost here; bench/aio-floor.c)")
    sys.stdout.flush()


def chart(summary, outdir):
    """IOPS relative to io_uring, one cluster per workload."""
    names = []
    for res in summary.values():
        for e in res:
            if e not in names:
                names.append(e)
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(n.replace("_", "-") for n in names) + "\n")
        for wname, res in summary.items():
            ref = res.get("io_uring", {}).get("iops")
            row = [wname]
            for n in names:
                v = res.get(n, {}).get("iops")
                if n not in res:
                    row.append("NaN")   # not run for this workload: no bar
                else:
                    row.append("%.3f" % (v / ref) if v and ref else "0")
            f.write(" ".join(row) + "\n")
    png = os.path.join(outdir, "chart.png")
    gp = """set terminal png size 1000,500 noenhanced
set output '%s'
set title 'IOPS relative to io_uring (same guest, same fio; higher is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set key outside right
set yrange [0:*]
set grid ytics
plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)
""" % (png, len(names) + 1, dat)
    r = subprocess.run(["gnuplot"], input=gp, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return png if r.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="short", choices=["short", "full"])
    ap.add_argument("--only", default="")
    ap.add_argument("--engines", default="")
    ap.add_argument("--host-busy", type=int, default=0)
    a = ap.parse_args()
    runtime = 3 if a.mode == "short" else 8
    tag = a.mode + ("-host-busy-%d" % a.host_busy if a.host_busy else "")
    outdir = os.path.join(OUT, "bench", tag)
    os.makedirs(outdir, exist_ok=True)
    if not os.access(FIO, os.X_OK):
        print("fio-compare: %s missing (scripts/fio.sh)" % FIO)
        return 1
    engs = engines(a.mode)
    if a.engines:
        keep = a.engines.split(",")
        engs = [e for e in engs if e[0] in keep]
    print("== fio engine comparison (%s: %d s per job, null_blk latency %.1f ms, %s)" % (
        a.mode, runtime, LAT_NS / 1e6, os.uname().release))
    if a.host_busy:
        print("contended host: %d busy loop(s) on the host beside the guest "
              "(its vCPUs are preempted, as with steal time)" % a.host_busy)
    print("engines: " + ", ".join(e[0] for e in engs))
    if not any(e[0].startswith("syslet") for e in engs):
        print("(no syslet rows: fio-engine/syslet.so is not built yet)")
    elif not any(e[0] == "syslet" for e in engs):
        print("(no syslet kernel row: this kernel has no syslet system calls)")
    work = "/tmp/fio-compare"
    targets = setup(work)
    summary = {}
    t0 = time.time()
    try:
        for wname, w in WORKLOADS.items():
            if a.only and a.only not in wname:
                continue
            res = {}
            for ename, eargs, eenv, sync in engs:
                if "engines" in w and ename not in w["engines"]:
                    continue
                if ename in ENGINE_ONLY and wname not in ENGINE_ONLY[ename]:
                    continue
                res[ename] = run_one(wname, w, ename, eargs, eenv, sync, targets, runtime, outdir)
            summary[wname] = res
            print_table(wname, w, res)
    finally:
        teardown(targets)
        aio_switch(1)
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    png = chart(summary, outdir)
    print("\nraw fio JSON, summary.json%s in %s (%.0f s)" % (
        " and chart.png" if png else "", outdir, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
