#!/usr/bin/python3
"""Figures for the request rings and process memory (run by
tools/bench-rings.sh, and by make bench).

Boots the Debian 6.1 kernel on a q35 guest with 3 GiB of RAM under the VM
runner (KVM where it works, TCG otherwise), loads the module with
allow_read=1, starts two processes with 1 GiB populated each (4 KiB pages,
and transparent huge pages), and runs build/bench-rings (tools/bench-rings.c)
on each: ping and refresh round trips, host-side translation of the 1 GiB
range, host-side read throughput against memcpy from the mapping. Prints
one figure per line; asserts nothing.

    HAYWIRE_BENCH_KERNEL=6.1
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import vmtest  # noqa: E402
from vmtest import haywire_vm  # noqa: E402

KERNEL = os.environ.get("HAYWIRE_BENCH_KERNEL", "6.1")
BENCH = os.path.join(TOP, "build", "bench-rings")
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


def main():
    images = vmtest.build([KERNEL])
    vmtest.sh(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
               "-D_GNU_SOURCE", "-Iinclude", "-Ihost", "-o", BENCH,
               "tools/bench-rings.c", "build/libhaywire.a"])
    vmlinuz, initrd, release = images[KERNEL]
    g = haywire_vm.Guest(vmlinuz, initrd, mem="3G", machine="q35")
    with g:
        print(f"# guest: {release}, q35 3 GiB, {g.accel}, booted in "
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
