#!/usr/bin/python3
"""Figures for the request rings and process memory (run by
tools/bench-rings.sh, and by make bench).

For each kernel in $HAYWIRE_BENCH_KERNELS (default "6.1 6.1-arm64": an
x86-64 q35 and an arm64 virt guest, in the same run) boots a guest with
3 GiB of RAM under the VM runner (KVM where it works, TCG otherwise), loads
the module with allow_read=1, starts two processes with 1 GiB populated
each (4 KiB pages, and transparent huge pages), and runs build/bench-rings
(tools/bench-rings.c) on each: ping and refresh round trips, host-side
translation of the 1 GiB range, host-side read throughput against memcpy
from the mapping. Prints one figure per line, then the host-side walk of
1 GiB in 4 KiB pages per guest beside the first one's (the arm64 target:
within 1.5x of x86-64), and tools/bench-walk.c: the same walk over one
synthetic layout per architecture, without a guest; asserts nothing.

    HAYWIRE_BENCH_KERNELS="6.1 6.1-arm64"   (HAYWIRE_BENCH_KERNEL: one)
"""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import vmtest  # noqa: E402
from vmtest import haywire_vm  # noqa: E402

KERNELS = os.environ.get("HAYWIRE_BENCH_KERNELS",
                         os.environ.get("HAYWIRE_BENCH_KERNEL", "6.1 6.1-arm64")).split()
BENCH = os.path.join(TOP, "build", "bench-rings")
WALK = os.path.join(TOP, "build", "bench-walk")
MIB = 1024


def populate(g, name, extra):
    g.run(f": > /tmp/{name}.out; hw-workload populate {MIB} {extra} >> /tmp/{name}.out 2>&1 &")
    deadline = time.monotonic() + 900
    while True:
        out = g.run(f"cat /tmp/{name}.out")[1].split("\n")
        if "ready" in out:
            return json.loads(out[0])
        if time.monotonic() > deadline or (out[0] and not out[0].startswith("{")):
            raise SystemExit(f"bench-rings: populate {extra} not ready: {out}")
        time.sleep(1)


def bench_guest(kernel, image):
    """The figures of one guest; returns translate_walk's p50 (us) for the
    4 KiB pages, or None."""
    vmlinuz, initrd, release = image
    arch = haywire_vm.spec_arch(kernel)
    machine = "virt" if arch == "arm64" else "q35"
    walk_us = None
    g = haywire_vm.Guest(vmlinuz, initrd, mem="3G", machine=machine, arch=arch,
                         **haywire_vm.guest_options(kernel))
    with g:
        print(f"# guest: {release}, {machine} 3 GiB, {g.accel}, booted in "
              f"{g.boot_seconds:.1f} s", flush=True)
        g.run("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled")
        t0 = time.monotonic()
        small = populate(g, "small", "")
        huge = populate(g, "huge", "huge")
        print(f"# populated 2 x {MIB} MiB in {time.monotonic() - t0:.0f} s "
              f"(AnonHugePages of the huge one: {huge['anon_huge_kb']} kB)",
              flush=True)
        pids = g.run("pidof hw-workload")[1].split()
        g.run("insmod /lib/modules/haywire.ko allow_read=1")
        vmtest.wait_info(g.ram_path, lambda i: i["generation"] >= 1,
                         "the first snapshot")
        info = vmtest.host(g.ram_path, "--json", "info").json()
        print(f"# {info.get('arch')}, {info.get('paging_levels')}-level paging",
              flush=True)
        for what, lay in (("4 KiB pages", small), ("huge pages", huge)):
            pid = next(p for p in pids if g.run(
                f"grep -q {lay['addr']:x} /proc/{p}/maps", check=False)[0] == 0)
            print(f"## {MIB} MiB in {what} (pid {pid})", flush=True)
            r = subprocess.run([BENCH, "--mem", g.ram_path, "--pid", pid,
                                "--addr", str(lay["addr"]), "--len", str(lay["len"])],
                               capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            if r.returncode != 0:
                print(f"bench-rings: exit {r.returncode}: {r.stderr.strip()}")
            m = re.search(r"^translate_walk: p50 ([0-9.]+) us", r.stdout, re.M)
            if what == "4 KiB pages" and m:
                walk_us = float(m.group(1))
    return f"{release} ({info.get('arch')}, {info.get('paging_levels')} levels)", walk_us


def main():
    images = vmtest.build(KERNELS)
    vmtest.sh(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
               "-D_GNU_SOURCE", "-Iinclude", "-Ihost", "-o", BENCH,
               "tools/bench-rings.c", "build/libhaywire.a"])
    libs = subprocess.run(["pkg-config", "--libs", "json-c"], capture_output=True,
                          text=True).stdout.split() + subprocess.run(
        [os.path.join(HERE, "host-libs.sh")], capture_output=True, text=True).stdout.split()
    vmtest.sh(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
               "-D_GNU_SOURCE", "-Iinclude", "-Ihost", "-o", WALK,
               "tools/bench-walk.c", "build/libhaywire.a"] + libs)
    walks = [bench_guest(k, images[k]) for k in KERNELS]
    print(f"## host-side walk of {MIB} MiB in 4 KiB pages (translate_walk p50)")
    base = walks[0][1]
    for name, us in walks:
        ratio = f"{us / base:.2f}x the first" if us and base else "-"
        shown = f"{us / 1e3:.2f} ms" if us else "not measured"
        print(f"translate_walk_4k: {shown} {name}; {ratio}")
    print("## the same walk on one synthetic layout per architecture "
          "(tools/bench-walk.c)", flush=True)
    subprocess.run([WALK])
    return 0


if __name__ == "__main__":
    sys.exit(main())
