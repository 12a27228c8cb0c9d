#!/usr/bin/python3
"""Agentless benchmark (run by tools/bench-agentless.sh).

Boots a Debian kernel (default 6.1) on a q35 guest (a virt guest for an
arm64 kernel such as 6.12-arm64; default 4 GiB) with a
QMP socket, starts sleeping processes (default 1,000) and one process with
16,384 VMAs over 64 MiB of touched memory (hw-workload manyvmas), loads the
module, copies the kernel's BTF and kallsyms out of the guest, and runs
`haywire bench` once: ps, maps of that process, translate of its 64 MiB and
a 1 MiB read, through the beacon, the RAM file (agentless) and QMP
(agentless), medians with the ratio to the beacon. Nothing here asserts on
timings.

  HAYWIRE_BENCH_KERNEL=6.1  HAYWIRE_BENCH_MEM=4G  HAYWIRE_BENCH_PROCS=1000
  HAYWIRE_BENCH_RUNS=5
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentless  # noqa: E402
import vmtest  # noqa: E402
from vmtest import haywire_vm  # noqa: E402

KERNEL = os.environ.get("HAYWIRE_BENCH_KERNEL", "6.1")
MEM = os.environ.get("HAYWIRE_BENCH_MEM", "4G")
PROCESSES = int(os.environ.get("HAYWIRE_BENCH_PROCS", "1000"))
RUNS = os.environ.get("HAYWIRE_BENCH_RUNS", "5")
BUSY_VMAS = 16384	# pages of 4 KiB: 64 MiB


def bench_bound(runs, processes, vmas, pages):
    """A hang bound for `haywire bench` that follows its work, not a timing.

    Each run asks ps, maps, translate and read through the beacon, the RAM
    file and QMP; QMP is by far the slowest (on a slow machine about 5 ms
    per process, 1.2 ms per VMA, and a few ms per translated page). Allow
    four times that per run, plus a minute per run for opening the sources
    (BTF, QMP) and a fixed start-up allowance.
    """
    per_run = 4 * (0.005 * processes + 0.0012 * vmas + 0.002 * pages) + 60
    return 300 + int(runs) * per_run


def main():
    images = vmtest.build([KERNEL])
    vmlinuz, initrd, release = images[KERNEL]
    files = agentless.KernelFiles(release, vmlinuz)
    arch = haywire_vm.spec_arch(KERNEL)
    machine = "virt" if arch == "arm64" else "q35"
    g = haywire_vm.Guest(vmlinuz, initrd, mem=MEM, machine=machine, qmp=True,
                         arch=arch)
    with g:
        print(f"# guest: {release}, {machine} {MEM}, {g.smp} CPUs, {g.accel}, booted in "
              f"{g.boot_seconds:.1f} s", flush=True)
        g.run(f"hw-workload spawn {PROCESSES} > /tmp/spawn.out 2>&1 &")
        g.run(f"hw-workload manyvmas {BUSY_VMAS} > /tmp/busy.out 2>&1 & "
              "echo $! > /tmp/busy.pid")
        deadline = time.monotonic() + 900
        while g.run("cat /tmp/spawn.out /tmp/busy.out")[1].split() != ["ready"] * 2:
            if time.monotonic() > deadline:
                raise SystemExit("bench: workloads not ready after 900 s")
            time.sleep(0.5)
        pid = int(g.run("cat /tmp/busy.pid")[1])
        # the first VMA of the 64 MiB region: the lowest rw-p anonymous
        # mapping followed by its r--p neighbour
        maps = g.run(f"cat /proc/{pid}/maps")[1].splitlines()
        start = next(line.split("-")[0] for line, after in zip(maps, maps[1:])
                     if line.split()[1] == "rw-p" and after.split()[1] == "r--p"
                     and len(line.split()) == 5)
        g.run("insmod /lib/modules/haywire.ko")
        vmtest.wait_info(g.ram_path, lambda i: i["generation"] >= 1,
                         "the first snapshot")
        files.copy_from(g)
        print(f"# busy process {pid}: {len(maps)} maps lines, 64 MiB at 0x{start}; "
              f"{RUNS} runs per figure", flush=True)
        procs = int(g.run("ls -d /proc/[0-9]* | wc -l")[1])
        bound = bench_bound(RUNS, procs, len(maps), BUSY_VMAS)
        print(f"# bound for the bench command (hang detection): {bound:.0f} s",
              flush=True)
        r = vmtest.host(g.ram_path, "--qmp", g.qmp_path, "--btf", files.btf,
                        "--system-map", files.kallsyms, "--runs", RUNS,
                        "bench", str(pid), "0x" + start, timeout=bound)
        sys.stdout.write(r.out)
        if r.rc != 0:
            print(f"bench: exit {r.rc}: {r.err.strip()}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
