#!/usr/bin/env python3
"""Marks and reports for scripts/insn-prof.sh (a tool, not a test).

    scripts/insn-prof.py mark
        in the guest: make the mark the plugin watches (reboot() with a
        bad magic: -EINVAL, nothing else)
    scripts/insn-prof.py report -m System.map PROF [--minus PROF0]
                                [--per N] [--top K] [--grep RE]
        on the host: instructions per kernel function in PROF (less
        PROF0's), divided by N, the K largest, with the totals of kernel
        and user space; with -u user-space functions too, named by the
        memory map in PROF.maps (bench/fio-insn.py saves fio's)
    scripts/insn-prof.py diff -m System.map A [--minus A0] B [--minus-b B0]
                              [--per N] [--top K]
        the functions whose counts differ most between two profiles
"""
import argparse
import bisect
import collections
import ctypes
import os
import re
import subprocess
import sys

KERNEL = 0xffff800000000000


def mark():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(ctypes.c_long(169), 0, 0, 0, 0)   # __NR_reboot, bad magic


def load_map(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            a, t, n = line.split()[:3]
            if t in "tTwW":
                addrs.append(int(a, 16))
                names.append(n)
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


ELFSYMS = {}


def elf_syms(path):
    """(addresses, names, is ET_EXEC) of the functions of an ELF file."""
    if path not in ELFSYMS:
        out = []
        for opt in ([], ["-D"]):
            try:
                text = subprocess.run(["nm", "-n", "--defined-only"] + opt + [path],
                                      capture_output=True, text=True).stdout
            except OSError:
                break
            for line in text.splitlines():
                f = line.split()
                if len(f) >= 3 and f[1] in "tTwWi":
                    out.append((int(f[0], 16), f[2]))
            if out:
                break
        out.sort()
        try:
            with open(path, "rb") as f:
                exe = f.read(18)[16] == 2
        except OSError:
            exe = False
        ELFSYMS[path] = ([a for a, _ in out], [n for _, n in out], exe)
    return ELFSYMS[path]


def load_maps(path):
    maps = []
    try:
        with open(path) as f:
            for line in f:
                x = line.split()
                if len(x) >= 6 and "x" in x[1]:
                    lo, hi = (int(v, 16) for v in x[0].split("-"))
                    maps.append((lo, hi, int(x[2], 16), x[5]))
    except OSError:
        pass
    return sorted(maps)


def user_name(maps, pc):
    """lib:function for a user address, by the job's memory map; the
    file offset is taken for the ELF address (true of the text of
    what gcc and ld make)."""
    i = bisect.bisect_right(maps, (pc, float("inf"))) - 1
    if i < 0 or pc >= maps[i][1]:
        return "(user)"
    lo, _, off, path = maps[i]
    addrs, names, exe = elf_syms(path)
    a = pc if exe else pc - lo + off
    j = bisect.bisect_right(addrs, a) - 1
    return "%s:%s" % (os.path.basename(path), names[j] if j >= 0 else "?")


def load(path, sym, user=False):
    addrs, names = sym
    by = collections.Counter()
    maps = load_maps(path + ".maps") if user else []
    with open(path) as f:
        for line in f:
            pc, insns, n = line.split()
            pc = int(pc, 16)
            c = int(insns) * int(n)
            if pc < KERNEL:
                by[user_name(maps, pc) if maps else "(user)"] += c
                continue
            i = bisect.bisect_right(addrs, pc) - 1
            by[names[i] if i >= 0 else "(kernel ?)"] += c
    return by


def profile(args, sym, p, minus):
    by = load(p, sym, args.user)
    if minus:
        by.subtract(load(minus, sym, args.user))
    return by


def is_user(name):
    return name == "(user)" or ":" in name


def totals(by):
    user = sum(c for n, c in by.items() if is_user(n))
    return sum(by.values()) - user, user


def report(args):
    sym = load_map(args.map)
    by = profile(args, sym, args.prof, args.minus)
    per = float(args.per)
    k, u = totals(by)
    print("kernel %.0f  user %.0f  all %.0f  (instructions%s)" %
          (k / per, u / per, (k + u) / per, " per %s" % args.what if args.per != 1 else ""))
    rx = re.compile(args.grep) if args.grep else None
    rows = [(n, c) for n, c in by.items()
            if (args.user or not is_user(n)) and (not rx or rx.search(n))]
    rows.sort(key=lambda r: -abs(r[1]))
    for n, c in rows[:args.top]:
        print("%10.0f  %5.1f%%  %s" % (c / per, 100.0 * c / k if k else 0, n))


def diff(args):
    sym = load_map(args.map)
    a = profile(args, sym, args.a, args.minus)
    b = profile(args, sym, args.b, args.minus_b)
    per = float(args.per)
    ka, ua = totals(a)
    kb, ub = totals(b)
    print("             A          B        B-A   (instructions%s)" %
          (" per %s" % args.what if args.per != 1 else ""))
    print("kernel %10.0f %10.0f %10.0f" % (ka / per, kb / per, (kb - ka) / per))
    print("user   %10.0f %10.0f %10.0f" % (ua / per, ub / per, (ub - ua) / per))
    names = set(a) | set(b)
    rows = sorted(names, key=lambda n: -abs(b.get(n, 0) - a.get(n, 0)))
    for n in rows[:args.top]:
        print("%10.0f %10.0f %10.0f  %s" % (a.get(n, 0) / per, b.get(n, 0) / per,
                                            (b.get(n, 0) - a.get(n, 0)) / per, n))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("mark")
    r = sub.add_parser("report")
    r.add_argument("-m", "--map", required=True)
    r.add_argument("prof")
    r.add_argument("--minus")
    r.add_argument("--grep")
    d = sub.add_parser("diff")
    d.add_argument("-m", "--map", required=True)
    d.add_argument("a")
    d.add_argument("--minus")
    d.add_argument("b")
    d.add_argument("--minus-b")
    for p in (r, d):
        p.add_argument("--per", type=float, default=1)
        p.add_argument("--what", default="op")
        p.add_argument("--top", type=int, default=40)
        p.add_argument("-u", "--user", action="store_true",
                       help="name user-space functions too (PROF.maps: the job's memory map)")
    args = ap.parse_args()
    if args.cmd == "mark":
        mark()
    elif args.cmd == "report":
        report(args)
    else:
        diff(args)


if __name__ == "__main__":
    sys.exit(main())
