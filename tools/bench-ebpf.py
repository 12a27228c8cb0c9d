#!/usr/bin/python3
"""Figures for the eBPF companion (issue 11), in one TCG guest, same run.

~1,000 processes (hw-workload spawn) and ~10,000 VMAs (hw-workload
manyvmas), then for the module and for haywire-bpf in turn, at a 1 s
interval:

1. Guest CPU per refresh: the CPU time (/proc/PID/task/TID/schedstat, ns)
   of the thread that refreshes (the module's "haywire" kthread; the
   loader's "hwb-refresh" thread, whose system time includes the BPF
   iterators), over REFRESHES refreshes, divided by the refreshes seen;
   median of the per-refresh deltas, and the ratio eBPF / module (target:
   within 2x).
2. The loader's resident memory beyond the beacon: VmRSS (hugetlb pages,
   the beacon, are not in it; HugetlbPages is printed beside).
3. Host discovery (--no-hint info's discovery.ns) and `haywire ps`
   latency, medians of RUNS.

usage: tools/bench-ebpf.py [KERNEL]   (default 6.1; x86-64 TCG guest)
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import vmtest  # noqa: E402
import ebpf  # noqa: E402

PROCS = 1000
VMAS = 9000
REFRESHES = 8
RUNS = 7


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def thread_ns(m, pid, comm):
    """CPU ns of pid's thread named comm."""
    out = m.run(f"for t in /proc/{pid}/task/*; do echo $(cat $t/comm) "
                f"$(cut -d' ' -f1 $t/schedstat); done")[1]
    for line in out.splitlines():
        name, _, ns = line.rpartition(" ")
        if name == comm:
            return int(ns)
    raise SystemExit(f"no thread {comm} in pid {pid}: {out!r}")


def cpu_per_refresh(m, pid, comm):
    """Median CPU ns per refresh over REFRESHES refreshes."""
    per = []
    gen, ns = m.info()["generation"], thread_ns(m, pid, comm)
    while len(per) < REFRESHES:
        time.sleep(1.0)
        g2, ns2 = m.info()["generation"], thread_ns(m, pid, comm)
        if g2 > gen:
            per.append((ns2 - ns) / (g2 - gen))
            gen, ns = g2, ns2
    return med(per)


def host_latency(m):
    disc, ps = [], []
    for _ in range(RUNS):
        r = vmtest.host(m.ram, "--no-hint", "--json", "info")
        disc.append(r.json()["discovery"]["ns"])
        t0 = time.monotonic_ns()
        p = vmtest.host(m.ram, "ps")
        ps.append(time.monotonic_ns() - t0)
        if p.rc != 0:
            raise SystemExit(f"ps: {p.err}")
    return med(disc), med(ps)


def main():
    kernel = sys.argv[1] if len(sys.argv) > 1 else "6.1"
    images = vmtest.build([kernel], with_bpf=True)
    tap = vmtest.Tap()
    Bpf = ebpf.machine_class(vmtest)
    m = Bpf(tap, kernel, "q35-1G", "q35", "1G", images[kernel])
    m.guest.start()
    try:
        m.run(f"hw-workload spawn {PROCS} > /tmp/spawn.out 2>&1 &")
        m.run(f"hw-workload manyvmas {VMAS} > /tmp/vmas.out 2>&1 &")
        time.sleep(5)
        rows = {}
        # the module
        rc, out = vmtest.Machine.insmod(m, "interval_ms=1000")
        if rc:
            raise SystemExit(f"insmod: {out}")
        m.wait_info(lambda i: i["generation"] >= 2, "module snapshots")
        info = m.info()
        kpid = m.run("for p in /proc/[0-9]*; do [ \"$(cat $p/comm)\" = haywire ] "
                     "&& echo ${p#/proc/}; done; true")[1].split()[0]
        rows["module"] = {"cpu": cpu_per_refresh(m, kpid, "haywire"),
                          "lat": host_latency(m),
                          "procs": info["procs_total"], "vmas": info["vmas_total"]}
        m.run("rmmod haywire")
        # the eBPF companion
        rc, out = m.insmod("interval_ms=1000")
        if rc:
            raise SystemExit(f"haywire-bpf: {out}")
        m.wait_info(lambda i: i["generation"] >= 2 and i["companion"] == "ebpf",
                    "haywire-bpf snapshots")
        info = m.info()
        pid = ebpf.loader_pid(m)
        status = m.run(f"grep -E 'VmRSS|HugetlbPages' /proc/{pid}/status")[1]
        rows["ebpf"] = {"cpu": cpu_per_refresh(m, pid, "hwb-refresh"),
                        "lat": host_latency(m),
                        "procs": info["procs_total"], "vmas": info["vmas_total"]}
    finally:
        m.guest.stop()
    mod, bpf = rows["module"], rows["ebpf"]
    print(f"# {kernel} TCG guest: {bpf['procs']} processes, {bpf['vmas']} VMAs "
          f"(module saw {mod['procs']}, {mod['vmas']})")
    print("| figure | module | eBPF | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| guest CPU per refresh (median) | {mod['cpu'] / 1e6:.1f} ms | "
          f"{bpf['cpu'] / 1e6:.1f} ms | {bpf['cpu'] / mod['cpu']:.2f}x |")
    print(f"| host discovery, --no-hint (median) | {mod['lat'][0] / 1e3:.0f} us | "
          f"{bpf['lat'][0] / 1e3:.0f} us | |")
    print(f"| host `haywire ps` (median) | {mod['lat'][1] / 1e6:.1f} ms | "
          f"{bpf['lat'][1] / 1e6:.1f} ms | |")
    print("loader memory: " + " ".join(status.split()))


if __name__ == "__main__":
    main()
