"""Refresh stress tests, run by tests/vm/vmtest.py on one extra guest per
x86-64 kernel (q35, 2 GiB: label STRESS_LABEL, selected like the other
configurations with $HAYWIRE_VM_CONFIGS):

- storm: hw-stress storm (fork/exec/mmap/exit) for STORM_SECONDS
  ($HAYWIRE_STORM_SECONDS) while the host reads snapshots without pause
  with its own reader (snapread.py): every accepted snapshot internally
  consistent (unique sorted pids, every process's VMAs inside the VMA table
  and not shared, sorted, non-overlapping, in user space, strings in
  bounds). Reads, discarded copies and inconsistencies are reported.
- unload: UNLOAD_CYCLES rmmod/insmod cycles while host commands (ps, info,
  maps 1) run in a loop: every one exits 0 with right data, or 3/4 with one
  "haywire: " line; never a signal.
- bigvmas: one process with BIG_VMAS VMAs among BIG_PROCS processes,
  budget_ms a third of what a whole refresh takes there (measured first with
  budget_ms 60000): by the module's own accounting the median refresh took
  at most budget_ms + 10% (stats.last_total_ns; a refresh that grew the
  beacon, or whose process records alone took the budget, is reported, not
  judged: docs/protocol.md; at least BIG_MIN_JUDGED are judged; each one is
  printed as a figure, since under TCG on a busy host a vCPU is at times
  descheduled for tens of ms), the median longest mmap_lock hold is within
  budget_ms, the budget flag is set, and over the refreshes read every
  process had its VMAs walked (rotation). Refresh time, budget and
  mmap_lock holds are reported.
"""

import json
import os
import struct
import subprocess
import sys
import statistics
import threading
import time

import snapread

STRESS_LABEL = "q35-2G-stress"
STRESS_MEM = "2G"
STORM_SECONDS = int(os.environ.get("HAYWIRE_STORM_SECONDS", "60"))
STORM_WORKERS = 3
UNLOAD_CYCLES = 20
BIG_VMAS = 200_000
BIG_PROCS = 4_000
BIG_MIN_BUDGET_MS = 20
BIG_MIN_GENERATIONS = 5
BIG_MIN_JUDGED = 4
BIG_INTERVAL_MS = 500
BIG_MAX_GENERATIONS = 40
HW_IF_BUDGET = 1 << 1
PARAMS = "/sys/module/haywire/parameters"


def vt_of(m):
    return sys.modules[type(m).__module__]


def reader(m):
    vt = vt_of(m)
    info = m.info()
    return snapread.Reader(m.ram, vt.compare.hexint(info["index_offset"]),
                           lambda gpa: vt.gpa_to_offset(gpa, m.machine, m.mem))


def wait_output(m, path, want, timeout):
    """Poll a guest file until a line starts with want; returns that line."""
    deadline = time.monotonic() + timeout
    while True:
        out = m.run(f"cat {path}")[1]
        for line in out.splitlines():
            if line.startswith(want):
                return line
        if time.monotonic() > deadline:
            raise vt_of(m).CheckError(f"no {want!r} in {path} after {timeout} s: {out[-500:]!r}")
        time.sleep(1)


def storm(m):
    m.run(f": > /tmp/storm.out; hw-stress storm {STORM_SECONDS} {STORM_WORKERS} "
          "> /tmp/storm.out 2>&1 &")
    wait_output(m, "/tmp/storm.out", "ready", 60)
    r = reader(m)
    reads = torn = churn_seen = churn_cut = 0
    gens = set()
    bad = []
    end = time.monotonic() + STORM_SECONDS
    try:
        while time.monotonic() < end:
            snap, t = r.read()
            reads += 1
            torn += t
            gens.add(snap["generation"])
            # the churner: its VMAs take several holds of its mmap_lock
            churn = [p for p in snap["procs"] if p[19] > 1000]
            churn_seen += bool(churn and churn[0][18])
            churn_cut += bool(churn and churn[0][3] & snapread.PF_VMAS_TRUNCATED)
            problems = snapread.check(snap)
            if problems:
                bad.append((snap["generation"], problems))
    finally:
        r.close()
    wait_output(m, "/tmp/storm.out", "done", 60 + STORM_SECONDS)
    forks = sum(int(w.split("forks=")[1].split()[0])
                for w in m.run("cat /tmp/storm.out")[1].splitlines()
                if "forks=" in w)
    m.tap.note(f"{m.name('')}storm {STORM_SECONDS} s: {forks} forks; {reads} "
               f"snapshots read ({len(gens)} generations), {torn} copies "
               f"discarded, {len(bad)} inconsistent; the 4000-VMA churner "
               f"walked in {churn_seen} (truncated: changed between holds "
               f"or busy, in {churn_cut})")
    diffs = [f"{p}" for _, problems in bad[:5] for p in problems[:5]]
    if not churn_seen:
        diffs.append("the churning process never had its VMAs published")
    if len(gens) < 3:
        diffs.append(f"only {len(gens)} generations seen in {STORM_SECONDS} s")
    return diffs


def classify(argv, proc):
    """A problem with one host call during the unload cycles, or None."""
    cmd = "haywire " + " ".join(argv)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode < 0:
        return f"{cmd}: killed by signal {-proc.returncode}"
    if proc.returncode == 0:
        out = proc.stdout.decode(errors="replace")
        if argv[-1] == "ps":
            pids = [p["pid"] for p in json.loads(out)["processes"]]
            if pids != sorted(set(pids)) or 1 not in pids:
                return f"{cmd}: pids not unique and sorted, or no pid 1"
        elif argv[-1] == "info":
            if json.loads(out)["generation"] < 1:
                return f"{cmd}: generation 0"
        elif not out.strip():
            return f"{cmd}: exit 0 with no output"
        return None
    lines = err.splitlines()
    if proc.returncode not in (3, 4) or len(lines) != 1 or \
            not lines[0].startswith("haywire: "):
        return f"{cmd}: exit {proc.returncode}, stderr {err!r}"
    return None


def unload_cycles(m):
    vt = vt_of(m)
    stop = threading.Event()
    calls = {}
    problems = []

    def poll():
        cmds = (["--json", "ps"], ["--json", "info"], ["maps", "1"])
        while not stop.is_set():
            for argv in cmds:
                try:
                    p = subprocess.run([vt.HAYWIRE, "--mem", m.ram, *argv],
                                       capture_output=True, timeout=120)
                except subprocess.TimeoutExpired:
                    problems.append(f"haywire {' '.join(argv)}: no answer in 120 s")
                    continue
                calls[p.returncode] = calls.get(p.returncode, 0) + 1
                try:
                    problem = classify(argv, p)
                except ValueError as e:
                    problem = f"haywire {' '.join(argv)}: output is not JSON: {e}"
                if problem:
                    problems.append(problem)

    raw = {"accepted": 0, "discarded": 0}

    def raw_reads():
        """snapread copies without pause: one that the seq check accepts is
        whole, also when the module went away in the middle of it."""
        r = None
        while not stop.is_set():
            if r is None:
                p = subprocess.run([vt.HAYWIRE, "--mem", m.ram, "--json", "info"],
                                   capture_output=True, timeout=120)
                if p.returncode != 0:
                    time.sleep(0.05)
                    continue
                off = vt.compare.hexint(json.loads(p.stdout)["index_offset"])
                r = snapread.Reader(m.ram, off,
                                    lambda gpa: vt.gpa_to_offset(gpa, m.machine, m.mem))
            try:
                snap = snapread.decode(r.copy())
            except snapread.Torn as e:
                raw["discarded"] += 1
                if "magic" in str(e) or "nonce" in str(e):
                    r.close()
                    r = None
                time.sleep(0.001)
                continue
            except (ValueError, struct.error) as e:
                problems.append(f"snapread: a copy seq accepted is not whole: {e}")
                continue
            raw["accepted"] += 1
            problems.extend(snapread.check(snap)[:3])
            time.sleep(0.001)
        if r:
            r.close()

    t = threading.Thread(target=poll)
    t.start()
    t2 = threading.Thread(target=raw_reads)
    t2.start()
    try:
        for _ in range(UNLOAD_CYCLES):
            m.run("rmmod haywire", timeout=120)
            time.sleep(0.3)
            m.run(f"insmod /lib/modules/haywire.ko interval_ms={vt.INTERVAL_MS}",
                  timeout=120)
            time.sleep(0.3)
    finally:
        stop.set()
        t.join()
        t2.join()
    summary = ", ".join(f"exit {rc}: {n}" for rc, n in sorted(calls.items()))
    m.tap.note(f"{m.name('')}{UNLOAD_CYCLES} unload/load cycles: {sum(calls.values())} "
               f"host calls ({summary}); raw reader: {raw['accepted']} copies "
               f"accepted, {raw['discarded']} discarded; {len(problems)} problems")
    if raw["accepted"] == 0:
        problems.append("the raw reader never had a whole copy")
    if calls.get(0, 0) == 0:
        problems.append("no host call succeeded")
    return problems[:20]


def next_snapshot(r, last_gen, timeout=120):
    """The next snapshot with a generation above last_gen."""
    deadline = time.monotonic() + timeout
    while True:
        snap, _ = r.read()
        if snap["generation"] > last_gen:
            return snap
        if time.monotonic() > deadline:
            raise RuntimeError(f"no generation after {last_gen} in {timeout} s")
        time.sleep(0.1)


def unbudgeted_refresh(m, r, big):
    """With a budget no refresh reaches: how long a whole refresh takes (ns),
    the least of three that published everything and did not grow the
    beacon."""
    snap = {"generation": 0, "stats": {"grow_events": -1}}
    times = []
    for _ in range(60):
        prev, snap = snap, next_snapshot(r, snap["generation"])
        p = {q[0]: q for q in snap["procs"]}.get(big)
        if p and p[18] == p[19] and not snap["flags"] & HW_IF_BUDGET and \
                snap["stats"]["grow_events"] == prev["stats"]["grow_events"]:
            times.append((snap["stats"]["last_total_ns"],
                          snap["stats"]["last_walk_procs_ns"]))
            if len(times) == 3:
                return min(times)
    raise vt_of(m).CheckError("the big process's VMAs never all got published "
                              "with budget_ms 60000 (three times)")


def judgeable(st, flags, proc, grew):
    """Whether a refresh's time says something about the bound: not when
    it grew the beacon, nor when its process records alone (not cut:
    docs/protocol.md) took the budget: under TCG a vCPU is at times
    descheduled for tens of ms in the middle of them."""
    return not grew and st["last_walk_procs_ns"] <= st["budget_ns"] * 0.9


def bigvmas(m):
    m.run("echo 250000 > /proc/sys/vm/max_map_count")
    m.run(f"echo 60000 > {PARAMS}/budget_ms")
    m.run(f"echo {BIG_INTERVAL_MS} > {PARAMS}/interval_ms")
    t0 = time.monotonic()
    m.run(f": > /tmp/big.out; hw-stress bigvmas {BIG_VMAS} {BIG_PROCS} "
          "> /tmp/big.out 2>&1 &")
    big = int(wait_output(m, "/tmp/big.out", "ready", 900).split()[1])
    m.tap.note(f"{m.name('')}bigvmas: {BIG_PROCS} processes, {BIG_VMAS} VMAs "
               f"set up in {time.monotonic() - t0:.0f} s")
    r = reader(m)
    diffs, rows = [], []
    walked, present = set(), None
    try:
        # A third of what a whole refresh takes here (TCG or KVM alike),
        # but twice what the process records alone take: the budget bounds
        # the VMA walk, every process always gets its record.
        full, records = unbudgeted_refresh(m, r, big)
        budget_ms = max(BIG_MIN_BUDGET_MS, int(full / 3e6), int(records * 2 / 1e6))
        m.tap.note(f"{m.name('')}bigvmas: a whole refresh takes {full / 1e6:.0f} ms, "
                   f"its process records {records / 1e6:.0f} ms; budget_ms {budget_ms}")
        if budget_ms * 1e6 >= full:
            return [f"budget_ms {budget_ms} would not be exceeded (a whole refresh "
                    f"takes {full / 1e6:.0f} ms): the process records take too much "
                    "of it for this test"]
        m.run(f"echo {budget_ms} > {PARAMS}/budget_ms")
        snap = {"generation": 0, "stats": {"budget_ns": 0}}
        while snap["stats"]["budget_ns"] != budget_ms * 1_000_000:
            prev = snap
            snap = next_snapshot(r, snap["generation"])
        while len(rows) < BIG_MAX_GENERATIONS:
            diffs += snapread.check(snap)[:5]
            users = {p[0]: p for p in snap["procs"] if p[14]}  # pgd: has an mm
            grew = snap["stats"]["grow_events"] != prev["stats"]["grow_events"]
            rows.append((snap["generation"], snap["stats"], snap["flags"],
                         users.get(big), grew))
            present = set(users) if present is None else present & set(users)
            for pid, p in users.items():
                if p[18] and not p[3] & snapread.PF_VMAS_SKIPPED:
                    walked.add(pid)
            judged = sum(1 for row in rows if judgeable(*row[1:]))
            if present <= walked and len(rows) >= BIG_MIN_GENERATIONS and \
                    judged >= BIG_MIN_JUDGED:
                break
            prev, snap = snap, next_snapshot(r, snap["generation"])
    finally:
        r.close()
    m.tap.note(f"{m.name('')}bigvmas: gen  total_ms budget_ms  walk_procs_ms "
               "walk_vmas_ms publish_ms  skipped cut start_pid  max_hold_ms (pid)  big's VMAs")
    records_over, totals, holds = 0, [], []
    for gen, st, flags, p, grew in rows:
        m.tap.note(f"{m.name('')}bigvmas: {gen:4d} {st['last_total_ns'] / 1e6:9.1f} "
                   f"{st['budget_ns'] / 1e6:9.0f} {st['last_walk_procs_ns'] / 1e6:13.1f} "
                   f"{st['last_walk_vmas_ns'] / 1e6:12.1f} {st['last_publish_ns'] / 1e6:10.1f} "
                   f"{st['last_budget_skipped']:8d} {st['last_budget_cut']:3d} "
                   f"{st['last_start_pid']:9d} {st['last_max_hold_ns'] / 1e6:11.1f} "
                   f"({st['last_max_hold_pid']})  "
                   f"{f'{p[18]}/{p[19]}' if p else '-'}{'  (beacon grew)' if grew else ''}")
        over = st["last_total_ns"] > st["budget_ns"] * 1.1
        if over and not judgeable(st, flags, p, grew):
            records_over += 1
        elif judgeable(st, flags, p, grew):
            totals.append(st["last_total_ns"] / st["budget_ns"])
            holds.append(st["last_max_hold_ns"] / st["budget_ns"])
    judged = len(totals)
    # Wall time measured inside a TCG guest includes the vCPU's pauses on a
    # busy host, so single refreshes are figures, not verdicts: the median
    # must keep within the bound (before 1.2 a refresh took up to 4x).
    if totals:
        m.tap.note(f"{m.name('')}bigvmas: judged refreshes / budget_ms: median "
                   f"{statistics.median(totals):.2f}, max {max(totals):.2f}; longest "
                   f"mmap_lock hold / budget_ms: median {statistics.median(holds):.3f}, "
                   f"max {max(holds):.3f}")
        if statistics.median(totals) > 1.1:
            diffs.append(f"the median judged refresh took {statistics.median(totals):.2f}x "
                         "budget_ms, over budget_ms + 10%")
        if statistics.median(holds) > 1:
            diffs.append(f"the median longest mmap_lock hold was "
                         f"{statistics.median(holds):.2f}x budget_ms")
    if records_over:
        m.tap.note(f"{m.name('')}bigvmas: {records_over} refreshes over budget because "
                   "the process records alone took the budget or the beacon grew "
                   "(not a VMA overrun)")
    if judged < BIG_MIN_JUDGED:
        diffs.append(f"only {judged} of {len(rows)} refreshes could be judged (the "
                     f"others grew the beacon or their process records alone took "
                     f"the budget): too noisy to conclude")
    if not any(flags & HW_IF_BUDGET for _, _, flags, _, _ in rows):
        diffs.append("no snapshot has the budget flag: the test did not exceed the budget")
    missing = sorted(present - walked)
    m.tap.note(f"{m.name('')}bigvmas: {len(rows)} snapshots; {len(walked & present)} of "
               f"{len(present)} processes had their VMAs walked; longest hold since "
               f"load {rows[-1][1]['max_hold_ns'] / 1e6:.1f} ms")
    if missing:
        diffs.append(f"{len(missing)} processes never had their VMAs walked in "
                     f"{len(rows)} snapshots, e.g. {missing[:10]}")
    return diffs


def run(m):
    """All three on a fresh guest; m is a vmtest.Machine."""
    if not m.boot():
        return
    try:
        if not m.check("stress: insmod", lambda: m.load()[0]):
            return
        for what, fn in (
                ("stress: fork/exec/mmap/exit storm, every snapshot consistent", storm),
                ("stress: 20 unload/load cycles under a polling host, no signal, "
                 "no torn answer", unload_cycles),
                ("stress: 200k VMAs among 4k processes: median refresh within budget_ms + 10%, "
                 "budget flagged, rotation reaches every process", bigvmas)):
            t0 = time.monotonic()
            m.check(what, lambda fn=fn: fn(m))
            m.tap.note(f"{m.name('')}{what.split(':')[1].split(',')[0].strip()}: "
                       f"{time.monotonic() - t0:.0f} s")
    finally:
        try:
            m.check("dmesg clean", m.check_dmesg)
        finally:
            m.guest.stop()
