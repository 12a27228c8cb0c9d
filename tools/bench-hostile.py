#!/usr/bin/env python3
"""Figures for issue 8, before and after, side by side in one run.

Builds this tree's reader and the reader of main's commit 416777f (before
issue 8) from `git archive` into a temporary directory, writes synthetic
RAM files (tests/unit/mkbeacon, tests/hostile/hostile.c) and prints medians:

  discovery with 0, 256 and 2,048 hostile (busy) candidates, cold (no hint)
    and warm (with a hint), from `info --json` (discovery.ns) and wall time
  ps and --json ps of 1 M and 4 M processes: peak RSS (wait4) and time
  ps of 1,000 processes (50 VMAs each): wall time of the command
  make AGENTLESS=0: library size and the link line

The old reader retries every busy candidate 50 times 2 ms, so its flood
figures are one run each (256) or left out (2,048: minutes); its --json ps
of millions of processes builds the whole document (issue 8: 79 s and
17 GB at 4 M) and is left out too. No assertions: figures only.

  tools/bench-hostile.sh [--runs N]      (default 7)
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD_COMMIT = "416777f"


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def build(tmp):
    """This tree's reader, the old one, the generators."""
    sh("make", "-s", "-C", TOP, "host")
    old = os.path.join(tmp, "old")
    os.mkdir(old)
    archive = subprocess.run(["git", "-C", TOP, "archive", OLD_COMMIT],
                             check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
    sh("make", "-s", "-C", old, "host")
    cc = os.environ.get("CC", "cc")
    mk = os.path.join(tmp, "mkbeacon")
    hostile = os.path.join(tmp, "hostile")
    sh(cc, "-std=gnu11", "-O2", "-D_GNU_SOURCE", "-I" + TOP + "/include",
       "-o", mk, TOP + "/tests/unit/mkbeacon.c", TOP + "/tests/unit/fixture.c")
    sh(cc, "-std=gnu11", "-O2", "-D_GNU_SOURCE", "-I" + TOP + "/include",
       "-o", hostile, TOP + "/tests/hostile/hostile.c",
       TOP + "/tests/unit/fixture.c")
    return (os.path.join(TOP, "build/haywire"),
            os.path.join(old, "build/haywire"), mk, hostile)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_ms(ns):
    if ns is None:
        return "-"
    ms = ns / 1e6
    return f"{ms:.2f} ms" if ms < 100 else f"{ms / 1000:.2f} s"


def fmt_mb(kb):
    return "-" if kb is None else f"{kb / 1024:.0f} MiB"


def discovery(hw, img, runs, hint_dir, warm):
    """Median discovery.ns and wall time of `info --json`."""
    env = dict(os.environ, HAYWIRE_HINT_DIR=hint_dir)
    shutil.rmtree(hint_dir, ignore_errors=True)
    args = [hw, "--mem", img, "--json", "info"]
    if warm:    # the first run writes the hint
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    else:
        args.insert(1, "--no-hint")
    disc, wall = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        r = subprocess.run(args, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        wall.append((time.monotonic() - t0) * 1e9)
        if r.returncode == 0:
            disc.append(json.loads(r.stdout)["discovery"]["ns"])
    return median(disc), median(wall)


def peak(hostile, hw, img, args, runs):
    """Median wall time and peak RSS (KiB) of `hw --mem img args`."""
    rss, wall = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        r = subprocess.run([hostile, "rss", str(1 << 40), hw, "--no-hint",
                            "--mem", img] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        wall.append((time.monotonic() - t0) * 1e9)
        m = re.search(r"exit=(\d+) maxrss_kb=(\d+)", r.stdout)
        if m and m.group(1) == "0":
            rss.append(int(m.group(2)))
    return median(wall), median(rss)


def row(*cells):
    print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    opts = ap.parse_args()
    runs = opts.runs
    tmp = tempfile.mkdtemp(prefix="haywire-bench-hostile.",
                           dir=os.environ.get("TMPDIR", "/tmp"))
    shm = tempfile.mkdtemp(prefix="haywire-bench-hostile.",
                           dir=os.environ.get("HAYWIRE_SHM", "/dev/shm"))
    try:
        new, old, mk, hostile = build(tmp)
        hints = os.path.join(tmp, "hints")

        def image(name, *args, where=tmp):
            path = os.path.join(where, name)
            sh(mk, "--out", path, "--interval-ms", "600000", *args)
            return path

        print(f"# issue 8 figures: this tree vs {OLD_COMMIT}, "
              f"medians of {runs} runs")
        print()
        print("Discovery (`info --json`: discovery.ns, and the wall time "
              "of the command):")
        print()
        row("RAM file", "reader", "cold: discovery", "cold: command",
            "warm: discovery", "warm: command")
        row("---", "---", "---:", "---:", "---:", "---:")
        cases = []
        dense = os.path.join(shm, "dense")
        # Dense, as QEMU's RAM file is once the guest has run: every page
        # written (1 GiB of /dev/shm for the length of this table).
        sh("dd", "if=/dev/zero", "of=" + dense, "bs=1M", "count=1024",
           "status=none")
        sh(mk, "--out", dense, "--keep", "--size", "1G", "--procs", "1000",
           "--kthreads", "0", "--interval-ms", "600000")
        cases.append(("1 GiB dense, 0 hostile", dense, True))
        cases.append(("4 GiB, data every 2 MiB, 0 hostile",
                      image("junk", "--size", "4G", "--junk", "--procs",
                            "1000", "--kthreads", "0"), True))
        for n in (256, 2048):
            img = image(f"flood{n}", "--size", "5G", "--index-offset",
                        "64M", "--procs", "1000", "--kthreads", "0")
            sh(hostile, "flood", img, "64M", str(n))
            cases.append((f"5 GiB, {n} hostile", img, n <= 256))
        for name, img, run_old in cases:
            for label, hw in (("after", new), ("before", old)):
                if label == "before" and not run_old:
                    row(name, label, "not run (2,048 x 50 x 2 ms)", "", "", "")
                    continue
                n_runs = runs if label == "after" or "0 hostile" in name \
                    else 1
                cd, cw = discovery(hw, img, n_runs, hints, False)
                wd, ww = discovery(hw, img, n_runs, hints, True)
                row(name, label, fmt_ms(cd), fmt_ms(cw), fmt_ms(wd),
                    fmt_ms(ww))
        os.unlink(dense)
        print()

        print("ps of 1,000 processes (50 VMAs each): wall time and CPU "
              "time (user + system) of the command, readers alternating:")
        print()
        img = image("ps1000", "--size", "1G", "--procs", "1000",
                    "--kthreads", "0", "--vmas", "50")
        wall = {"after": [], "before": []}
        cpu = {"after": [], "before": []}
        for _ in range(max(runs, 30)):
            for label, hw in (("after", new), ("before", old)):
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.monotonic()
                subprocess.run([hw, "--no-hint", "--mem", img, "ps"],
                               stdout=subprocess.DEVNULL, check=True)
                wall[label].append((time.monotonic() - t0) * 1e9)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[label].append((r1.ru_utime + r1.ru_stime -
                                   r0.ru_utime - r0.ru_stime) * 1e9)
        row("reader", "ps wall", "vs before", "ps CPU", "vs before")
        row("---", "---:", "---:", "---:", "---:")
        wa, wb = median(wall["after"]), median(wall["before"])
        ca, cb = median(cpu["after"]), median(cpu["before"])
        row("after", fmt_ms(wa), f"{100 * (wa - wb) / wb:+.1f}%",
            fmt_ms(ca), f"{100 * (ca - cb) / cb:+.1f}%" if cb else "")
        row("before", fmt_ms(wb), "", fmt_ms(cb), "")
        print()

        print("Giant tables (peak RSS by wait4; the tables are 128 bytes a "
              "process):")
        print()
        row("processes", "tables", "reader", "ps time", "ps peak RSS",
            "--json ps time", "--json ps peak RSS")
        row("---:", "---:", "---", "---:", "---:", "---:", "---:")
        for procs in (1000000, 4000000):
            img = image(f"giant{procs}", "--size", "1G", "--procs",
                        str(procs), "--kthreads", "0", "--vmas", "0",
                        "--index-offset", "0")
            tables = fmt_mb(procs * 128 // 1024)
            n_runs = max(1, min(runs, 3))
            pt, pr = peak(hostile, new, img, ["ps"], n_runs)
            jt, jr = peak(hostile, new, img, ["--json", "ps"], n_runs)
            row(f"{procs:,}", tables, "after", fmt_ms(pt), fmt_mb(pr),
                fmt_ms(jt), fmt_mb(jr))
            if procs == 1000000:
                pt, pr = peak(hostile, old, img, ["ps"], 1)
                row(f"{procs:,}", tables, "before", fmt_ms(pt), fmt_mb(pr),
                    "not run", "")
            os.unlink(img)
        print()

        print("make AGENTLESS=0:")
        print()
        b0 = os.path.join(tmp, "build0")
        out = subprocess.run(["make", "-C", TOP, "BUILD=" + b0, "AGENTLESS=0",
                              "host"], check=True, stdout=subprocess.PIPE,
                             text=True).stdout
        # make echoes the link command over continued lines
        cmds = out.replace("\\\n", " ").splitlines()
        link = [" ".join(ln.split()) for ln in cmds
                if "-o " + b0 + "/haywire" in ln]
        lib = os.path.join(b0, "libhaywire.a")
        full = os.path.join(TOP, "build/libhaywire.a")
        print(f"- libhaywire.a: {os.path.getsize(lib):,} bytes "
              f"(with the agentless walk: {os.path.getsize(full):,})")
        print(f"- haywire: {os.path.getsize(os.path.join(b0, 'haywire')):,} "
              f"bytes")
        if link:
            print("- link line: `" + link[-1].replace(b0 + "/", "build/")
                  + "`")
        needed = subprocess.run(["readelf", "-d", os.path.join(b0, "haywire")],
                                stdout=subprocess.PIPE, text=True).stdout
        libs = re.findall(r"Shared library: \[(.*?)\]", needed)
        print("- needs: " + ", ".join(libs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
