#!/usr/bin/python3
"""Real-guest benchmark (run by tools/bench.sh).

Boots the 6.1 kernel on a q35 4 GiB guest, starts 1,000 sleeping processes
and the maps workload, loads the module with its default interval, and
prints one figure per line: the module's own refresh cost (medians over
about ten generations, from `haywire info --json` stats) and the host side's
costs on the real RAM file. Nothing here asserts on timings.
"""

import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vmtest  # noqa: E402
from vmtest import TOP, host, haywire_vm  # noqa: E402

KERNEL = os.environ.get("HAYWIRE_BENCH_KERNEL", "6.1")
PROCESSES = int(os.environ.get("HAYWIRE_BENCH_PROCS", "1000"))
GENERATIONS = 10


def median_line(name, values, what):
    if not values:
        print(f"{name}: no samples")
        return
    print(f"{name}: median {statistics.median(values):.0f} ns over "
          f"{len(values)} {what}", flush=True)


def module_figures(ram):
    """Stats of ~GENERATIONS consecutive snapshots, one sample each."""
    samples = {}
    seen = set()
    deadline = time.monotonic() + 60 + GENERATIONS * 3
    while len(seen) < GENERATIONS and time.monotonic() < deadline:
        info = host(ram, "--json", "info").json()
        if info["generation"] not in seen:
            seen.add(info["generation"])
            for key, value in info["stats"].items():
                if isinstance(value, (int, float)):
                    samples.setdefault(key, []).append(value)
            samples.setdefault("procs_total", []).append(info["procs_total"])
            samples.setdefault("vmas_total", []).append(info["vmas_total"])
        time.sleep(0.2)
    if not seen:
        print("module: no generation published within the time limit")
        return
    n = f"generations ({int(statistics.median(samples['procs_total']))} " \
        f"processes, {int(statistics.median(samples['vmas_total']))} VMAs)"
    median_line("module refresh total (last_refresh_ns)",
                samples.get("last_refresh_ns", []), n)
    median_line("module process walk (last_walk_procs_ns)",
                samples.get("last_walk_procs_ns", []), n)
    median_line("module VMA walk (last_walk_vmas_ns)",
                samples.get("last_walk_vmas_ns", []), n)
    median_line("module cost per process (ns_per_proc)",
                samples.get("ns_per_proc", []), n)
    median_line("module cost per VMA (ns_per_vma)",
                samples.get("ns_per_vma", []), n)


def host_figures(ram, pid):
    """The host helper's benchmark (library and CLI) on the real RAM file."""
    script = os.path.join(TOP, "tools", "bench-host.sh")
    r = subprocess.run([script, "--mem", ram, "--pid", str(pid)],
                       capture_output=True, text=True, cwd=TOP)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        print(f"bench-host: exit {r.returncode}: {r.stderr.strip()}")


def main():
    images = vmtest.build([KERNEL])
    vmlinuz, initrd, release = images[KERNEL]
    g = haywire_vm.Guest(vmlinuz, initrd, mem="4G", machine="q35")
    with g:
        print(f"# guest: {release}, q35 4 GiB, {g.accel}, booted in "
              f"{g.boot_seconds:.1f} s; RAM file {g.ram_path}", flush=True)
        g.run(f"hw-workload spawn {PROCESSES} > /tmp/spawn.out 2>&1 &")
        g.run("hw-workload maps > /tmp/maps.out 2>&1 & echo $! > /tmp/maps.pid")
        deadline = time.monotonic() + 600
        while g.run("cat /tmp/spawn.out /tmp/maps.out")[1].split() != ["ready"] * 2:
            if time.monotonic() > deadline:
                raise SystemExit("bench: workloads not ready after 600 s")
            time.sleep(0.5)
        pid = int(g.run("cat /tmp/maps.pid")[1])
        g.run("insmod /lib/modules/haywire.ko")
        vmtest.wait_info(g.ram_path, lambda i: i["generation"] >= 1,
                         "the first snapshot")
        module_figures(g.ram_path)
        host_figures(g.ram_path, pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
