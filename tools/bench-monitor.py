#!/usr/bin/python3
"""Figures for monitoring (protocol 1.3), in one TCG guest, medians.

1. Guest CPU cost of monitoring ~1,000 processes: the module's whole
   refresh (stats.last_total_ns: processes, VMAs, guest section, copy into
   the beacon) against tests/guest/procread.c reading the same fields from
   /proc (stat, status, cgroup, ns/pid per process; meminfo, stat, loadavg,
   uptime), per pass, and as a share of one CPU at 1 s and 100 ms.
2. fork+exit+wait in a tight loop (hw-burst -l) with the event probes
   (events=8192) and without them (events=0).
3. Event latency, exec in the guest -> its line read from
   `haywire events --follow --json` on the host; the guest's clock is
   placed on the host's with the fastest of 20 pings (error: half its
   round trip, printed).

   The module's phases are printed too: its process records alone
   (stats.last_walk_procs_ns: the fields the /proc reader reads, and the
   exe path it does not) and its VMA walk (last_walk_vmas_ns: every VMA,
   which the /proc reader does not read at all), so that the like-for-like
   ratio is there beside the whole refresh's.

usage: tools/bench-monitor.py [KERNEL]   (default 6.1; x86-64 TCG guest)
       BENCH_ONLY=fork tools/bench-monitor.py   (the fork figure only)
       BENCH_ONLY=cost tools/bench-monitor.py   (the CPU cost figures only)
       tools/bench-monitor.py KERNEL --against OLD.ko
           the module's CPU cost against another build of it (e.g. main's),
           both in one guest, loaded in turn for ROUNDS rounds, the /proc
           reader run in every round: on a shared TCG host the load moves
           the figures by 2x within minutes, so only figures taken side by
           side in one guest compare
       BENCH_ICOUNT=SHIFT ... --against OLD.ko
           the same with QEMU's -icount shift=SHIFT: the guest's clock is
           then its instruction count (2^SHIFT ns each), so the figures are
           instructions, the same however loaded the host is (not real
           time: a cache miss or an atomic costs what any instruction does)
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import vmtest  # noqa: E402

PROCS = 1000
FORK_LOOP = 2000
RUNS = 5
EXECS = 40


def med(xs):
    return statistics.median(xs)


PHASES = ("last_total_ns", "last_walk_procs_ns", "last_walk_vmas_ns",
          "path_lookups")


def module_cost(m, interval_ms, samples=15):
    """Medians of the refresh's phases: {stat name: value}."""
    m.run(f"echo {interval_ms} > /sys/module/haywire/parameters/interval_ms")
    seen, costs = set(), []
    deadline = time.monotonic() + 600
    while len(costs) < samples and time.monotonic() < deadline:
        info = m.info()
        g = info["generation"]
        if g not in seen:
            seen.add(g)
            costs.append(info["stats"])
        time.sleep(interval_ms / 2000)
    costs = costs[1:]
    return {k: med([c[k] for c in costs]) if costs else float("nan")
            for k in PHASES}


def fork_once(m, events):
    m.run("rmmod haywire", check=False)
    rc, out = m.insmod(f"interval_ms=1000 events={events}")
    if rc:
        raise SystemExit(f"insmod events={events}: {out}")
    return int(m.run(f"hw-burst -l {FORK_LOOP}", timeout=600)[1].split()[0])


def fork_costs(m):
    """Medians without and with the probes, runs interleaved (the host is
    shared: load changes over minutes)."""
    runs = {0: [], 8192: []}
    for _ in range(RUNS):
        for events in runs:
            runs[events].append(fork_once(m, events))
    return med(runs[0]), med(runs[8192])


def clock_offset(m):
    """host CLOCK_MONOTONIC ns - guest CLOCK_MONOTONIC ns, and the error."""
    best = None
    for _ in range(20):
        t0 = time.monotonic_ns()
        r = vmtest.host(m.ram, "--json", "ping")
        t1 = time.monotonic_ns()
        guest = r.json()["guest_mono_ns"]
        if best is None or t1 - t0 < best[1]:
            best = ((t0 + t1) // 2 - guest, t1 - t0)
    return best[0], best[1] // 2


def latency(m):
    m.run("rmmod haywire", check=False)
    m.insmod("interval_ms=1000")
    m.wait_info(lambda i: i["generation"] >= 1, "first snapshot")
    offset, err = clock_offset(m)
    proc = subprocess.Popen([vmtest.HAYWIRE, "--mem", m.ram, "events",
                             "--follow", "--json"], stdout=subprocess.PIPE)
    seen = []

    def reader():
        for line in proc.stdout:
            seen.append((time.monotonic_ns(), json.loads(line)))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(1)
    for _ in range(EXECS):
        m.run("hw-burst 1")
        time.sleep(0.05)
    time.sleep(1)
    proc.terminate()
    proc.wait()
    t.join(5)
    # boot time = monotonic time in a guest that never suspended
    lat = sorted((host_ns - (e["boot_ns"] + offset)) / 1e6
                 for host_ns, e in seen if e.get("type") == "exec")
    return lat, err / 1e6


ROUNDS = 5
AB_SAMPLES = {100: 20, 1000: 6}


def sh(argv):
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout.strip()


def ab_images(kernel, old_ko):
    """The tree's module as haywire.ko and old_ko as haywire_old.ko in one
    initramfs: (vmlinuz, initrd, release)."""
    vmlinuz, _, release = vmtest.build([kernel])[kernel]
    kc = vmtest.haywire_vm.kernel_dir(kernel)
    new_ko = os.path.join(TOP, "build", "vm", "module", release, "haywire.ko")
    ab_dir = os.path.join(TOP, "build", "vm", "ab")
    os.makedirs(ab_dir, exist_ok=True)
    old = os.path.join(ab_dir, "haywire_old.ko")
    subprocess.run(["cp", old_ko, old], check=True)
    programs = sh([os.path.join(TOP, "tests", "vm", "build-guest.sh"),
                   "-a", "amd64"]).split()
    initrd = os.path.join(ab_dir, f"initrd-{release}.cpio.gz")
    sh([os.path.join(TOP, "tools", "mkinitramfs.sh"), initrd, kc, new_ko, old,
        *programs])
    return vmlinuz, initrd, release


def ab_main(kernel, old_ko):
    images = ab_images(kernel, old_ko)
    m = vmtest.Machine(vmtest.Tap(), kernel, "q35-1G", "q35", "1G", images)
    icount = os.environ.get("BENCH_ICOUNT")
    if icount:
        argv = m.guest._argv
        m.guest._argv = lambda accel: argv(accel) + ["-icount", f"shift={icount}"]
        m.guest.accel = "tcg"
        m.guest.smp = 1   # with -icount a second CPU does not come up
        print(f"# -icount shift={icount}, one CPU: times are instruction "
              f"counts x {2 ** int(icount)} ns")
    m.guest.start()
    res = {(ko, iv): [] for ko in ("old", "new") for iv in AB_SAMPLES}
    reader = []
    try:
        m.run(f"i=0; while [ $i -lt {PROCS} ]; do sleep 100000 & i=$((i+1)); done",
              timeout=600)
        for _ in range(ROUNDS):
            for ko, path in (("old", "haywire_old.ko"), ("new", "haywire.ko")):
                m.run("rmmod haywire", check=False)
                m.run(f"insmod /lib/modules/{path} interval_ms=100")
                m.wait_info(lambda i: i["generation"] >= 1, "first snapshot")
                for iv, n in AB_SAMPLES.items():
                    res[(ko, iv)].append(module_cost(m, iv, n + 1))
            reader.append(int(m.run("hw-procread 3", timeout=1200)[1].split()[0]))
        nprocs = m.info()["procs_total"]
    finally:
        m.guest.stop()
    pr = med(reader)
    print(f"# {kernel} TCG guest, {nprocs} processes, {ROUNDS} rounds, modules "
          f"loaded in turn; medians over rounds of each round's median")
    print(f"# /proc reader per pass: {pr / 1e6:.2f} ms (rounds: "
          + ", ".join(f"{x / 1e6:.0f}" for x in reader) + " ms)")
    print("| interval | module | whole refresh | ratio to /proc reader | "
          "process records | ratio | VMA walk | d_path calls |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for iv in AB_SAMPLES:
        for ko in ("old", "new"):
            rs = res[(ko, iv)]
            tot = med([r["last_total_ns"] for r in rs])
            procs = med([r["last_walk_procs_ns"] for r in rs])
            vmas = med([r["last_walk_vmas_ns"] for r in rs])
            paths = med([r["path_lookups"] for r in rs])
            print(f"| {iv} ms | {ko} | {tot / 1e6:.2f} ms | {pr / tot:.1f}x | "
                  f"{procs / 1e6:.2f} ms | {pr / procs:.1f}x | {vmas / 1e6:.2f} ms "
                  f"| {paths:.0f} |")


def main():
    if "--against" in sys.argv:
        i = sys.argv.index("--against")
        ab_main(sys.argv[1] if i > 1 else "6.1", sys.argv[i + 1])
        return
    kernel = sys.argv[1] if len(sys.argv) > 1 else "6.1"
    images = vmtest.build([kernel])
    tap = vmtest.Tap()
    m = vmtest.Machine(tap, kernel, "q35-1G", "q35", "1G", images[kernel])
    m.guest.start()
    try:
        m.run(f"i=0; while [ $i -lt {PROCS} ]; do sleep 100000 & i=$((i+1)); done",
              timeout=600)
        rc, out = m.insmod("interval_ms=1000")
        m.wait_info(lambda i: i["generation"] >= 1, "first snapshot")
        nprocs = m.info()["procs_total"]
        only_fork = os.environ.get("BENCH_ONLY") == "fork"
        only_cost = os.environ.get("BENCH_ONLY") == "cost"
        mod = {} if only_fork else {iv: module_cost(m, iv) for iv in (1000, 100)}
        pr_ns, pr_procs = (0, 0) if only_fork else (
            int(x) for x in m.run("hw-procread 11", timeout=1200)[1].split())
        print(f"# {kernel} TCG guest, {nprocs} processes (procread saw {pr_procs})")
        print("| figure | module | /proc reader | ratio |")
        print("|---|---:|---:|---:|")
        for iv, st in mod.items():
            cost = st["last_total_ns"]
            procs = st["last_walk_procs_ns"]
            print(f"| CPU per refresh, interval {iv} ms | {cost / 1e6:.2f} ms | "
                  f"{pr_ns / 1e6:.2f} ms | {pr_ns / cost:.1f}x |")
            print(f"| of which process records (the reader's fields), {iv} ms | "
                  f"{procs / 1e6:.2f} ms | {pr_ns / 1e6:.2f} ms | "
                  f"{pr_ns / procs:.1f}x |")
            print(f"| of which VMA walk (not read by the reader), {iv} ms | "
                  f"{st['last_walk_vmas_ns'] / 1e6:.2f} ms | | |")
            print(f"| d_path calls per refresh, {iv} ms | "
                  f"{st['path_lookups']:.0f} | | |")
            print(f"| share of one CPU at {iv} ms | {100 * cost / (iv * 1e6):.2f} % | "
                  f"{100 * pr_ns / (iv * 1e6):.2f} % | |")
        if only_cost:
            return
        without, with_probes = fork_costs(m)
        print(f"| fork+exit+wait, median of {RUNS} x {FORK_LOOP}, interleaved | "
              f"{with_probes / 1e3:.1f} us with probes | {without / 1e3:.1f} us "
              f"without | {100 * (with_probes / without - 1):+.1f} % |")
        lat, err = ([], 0) if only_fork else latency(m)
        if lat:
            p50 = lat[len(lat) // 2]
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"| exec -> host line, {len(lat)} execs | p50 {p50:.1f} ms | "
                  f"p99 {p99:.1f} ms | clock error +-{err:.1f} ms |")
        else:
            print("| exec -> host line | no exec events seen | | |")
    finally:
        m.guest.stop()


if __name__ == "__main__":
    main()
