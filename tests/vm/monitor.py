"""Monitoring checks (protocol 1.3) on a guest vmtest set up, module loaded:

- the new per-process fields (CPU time, faults, nice, last CPU, cgroup,
  PID namespace) against the guest's /proc/PID/stat, cgroup, ns/pid and
  status; the guest-wide section against /proc/meminfo, /proc/stat,
  /proc/loadavg and /proc/uptime. Tolerances only where the value moves
  between the guest's read and the snapshot (said at each check);
- a burst of 5,000 short-lived processes (tests/guest/burst.c) followed by
  `haywire events --follow --json`: every fork, exec and exit seen;
- the module reloaded with a ring of 64 records: `events --from 1` reports
  exactly the events it lost.
"""
import json
import os
import signal
import subprocess
import sys
import time

MONITOR_CONFIGS = {"q35-512M", "virt-1G"}
BURST = int(os.environ.get("HAYWIRE_BURST", "5000"))
SMALL_RING = 64
USER_HZ = 100
TICK_NS = 1000000000 // USER_HZ

# One guest command line: every process's stat, cgroup, PID namespace and
# NSpid, then the guest-wide files, each line tagged.
TRUTH = ("cat /proc/uptime | sed 's/^/U0 /'; "
         "for d in /proc/[0-9]*; do p=${d#/proc/}; "
         "s=$(cat $d/stat 2>/dev/null) || continue; echo \"P $p $s\"; "
         "sed \"s/^/C $p /\" $d/cgroup 2>/dev/null; "
         "echo \"N $p $(readlink $d/ns/pid 2>/dev/null)\"; "
         "grep '^NSpid' $d/status 2>/dev/null | sed \"s/^/S $p /\"; done; "
         "sed 's/^/M /' /proc/meminfo; sed 's/^/T /' /proc/stat; "
         "sed 's/^/L /' /proc/loadavg; sed 's/^/U1 /' /proc/uptime")


def wanted(m):
    return m.label in MONITOR_CONFIGS


def parse_truth(text):
    t = {"stat": {}, "cgroup": {}, "ns": {}, "nspid": {}, "mem": {},
         "cpu": None, "procs_running": None, "procs_blocked": None}
    for line in text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "P":
            pid, _, stat = rest.partition(" ")
            # comm may hold spaces and parentheses: fields after the last ')'
            fields = stat[stat.rindex(")") + 2:].split()
            t["stat"][int(pid)] = fields  # fields[0] is field 3 (state)
        elif tag == "C":
            pid, _, line2 = rest.partition(" ")
            if line2.startswith("0::"):
                t["cgroup"][int(pid)] = line2[3:]
        elif tag == "N":
            pid, _, link = rest.partition(" ")
            if link.startswith("pid:["):
                t["ns"][int(pid)] = int(link[5:-1])
        elif tag == "S":
            pid, _, line2 = rest.partition(" ")
            t["nspid"][int(pid)] = int(line2.split()[-1])
        elif tag == "M":
            key, _, val = rest.partition(":")
            t["mem"][key] = int(val.split()[0])
        elif tag == "T":
            f = rest.split()
            if f[0] == "cpu":
                t["cpu"] = [int(x) for x in f[1:9]]
            elif f[0] in ("procs_running", "procs_blocked"):
                t[f[0]] = int(f[1])
        elif tag == "L":
            t["load"] = rest.split()
        elif tag in ("U0", "U1"):
            t[tag] = float(rest.split()[0])
    return t


def stat_field(fields, n):
    """/proc/PID/stat field n (1-based, as proc(5) numbers them)."""
    return int(fields[n - 3])


class Monitor:
    def __init__(self, m):
        self.m = m
        self.vt = sys.modules[type(m).__module__]

    def host(self, *args, **kw):
        return self.vt.host(self.m.ram, *args, **kw)

    def snapshot_after(self):
        """A process table and info published after now."""
        gen = self.m.info()["generation"]
        self.m.wait_info(lambda i: i["generation"] >= gen + 2,
                         "two snapshots after the guest's reads")
        return (self.host("--json", "ps").json(),
                self.host("--json", "info").json())

    # -- fields ------------------------------------------------------------

    def check_procs(self):
        rc, out = self.m.run(TRUTH, timeout=120)
        t = parse_truth(out)
        ps, info = self.snapshot_after()
        # CPU time can grow by at most this between the two reads (all CPUs)
        window = (info["publish_boot_ns"] - int(t["U0"] * 1e9)) * 2 // TICK_NS + 2
        diffs = []
        seen = 0
        for p in ps["processes"]:
            pid = p["pid"]
            f = t["stat"].get(pid)
            if f is None:
                continue
            seen += 1
            if "utime_ns" not in p:
                diffs.append(f"pid {pid}: no 1.3 fields in ps --json")
                continue
            slack = p["threads"] + 1  # per-thread scaling vs the group's
            for name, n in (("utime", 14), ("stime", 15)):
                want = stat_field(f, n)
                got = p[f"{name}_ns"] // TICK_NS
                # moves between the reads, by at most `window` ticks
                if not want - slack <= got <= want + window + slack:
                    diffs.append(f"pid {pid}: {name} {got} ticks, /proc {want} "
                                 f"(window {window})")
            moved = (p["utime_ns"] + p["stime_ns"]) // TICK_NS != \
                stat_field(f, 14) + stat_field(f, 15)
            for name, n in (("min_flt", 10), ("maj_flt", 12)):
                want = stat_field(f, n)
                # exact unless the process ran between the reads
                if p[name] < want or (not moved and p[name] != want):
                    diffs.append(f"pid {pid}: {name} {p[name]}, /proc {want}")
            if p["nice"] != stat_field(f, 19):
                diffs.append(f"pid {pid}: nice {p['nice']}, /proc {stat_field(f, 19)}")
            if not 0 <= p["last_cpu"] < info["guest"]["nr_possible"]:
                diffs.append(f"pid {pid}: last CPU {p['last_cpu']}")
            if pid in t["cgroup"] and p["cgroup"] != t["cgroup"][pid]:
                diffs.append(f"pid {pid}: cgroup {p['cgroup']!r}, /proc "
                             f"{t['cgroup'][pid]!r}")
            if pid in t["ns"] and p["pidns_inum"] != t["ns"][pid]:
                diffs.append(f"pid {pid}: PID namespace {p['pidns_inum']}, "
                             f"/proc {t['ns'][pid]}")
            if pid in t["nspid"] and p["ns_pid"] != t["nspid"][pid]:
                diffs.append(f"pid {pid}: NSpid {p['ns_pid']}, /proc "
                             f"{t['nspid'][pid]}")
        if seen < 10:
            diffs.append(f"only {seen} processes in both ps and /proc")
        return diffs[:40]

    def check_guest(self):
        rc, out = self.m.run(TRUTH, timeout=120)
        t = parse_truth(out)
        _, info = self.snapshot_after()
        g = info["guest"]
        diffs = []
        if g is None:
            return ["info --json has no guest section"]
        mem = t["mem"]
        if g["mem_total_kb"] != mem["MemTotal"]:
            diffs.append(f"MemTotal {g['mem_total_kb']}, /proc {mem['MemTotal']}")
        if g["swap_free_kb"] != mem["SwapFree"]:
            diffs.append(f"SwapFree {g['swap_free_kb']}, /proc {mem['SwapFree']}")
        if g["swap_total_kb"] not in (None, mem["SwapTotal"]):
            diffs.append(f"SwapTotal {g['swap_total_kb']}, /proc {mem['SwapTotal']}")
        # these move between the reads: within 8 MiB
        for key, name in (("mem_free_kb", "MemFree"),
                          ("mem_available_kb", "MemAvailable"),
                          ("buffers_kb", "Buffers"), ("cached_kb", "Cached"),
                          ("shmem_kb", "Shmem"), ("slab_kb", "Slab")):
            if abs(g[key] - mem[name]) > 8192:
                diffs.append(f"{name} {g[key]} kB, /proc {mem[name]} kB")
        elapsed = g["uptime_ns"] / 1e9 - t["U1"]
        if not -0.011 <= elapsed <= 120:
            diffs.append(f"uptime {g['uptime_ns'] / 1e9:.2f} s, /proc {t['U1']}")
        window = int((g["uptime_ns"] / 1e9 - t["U0"]) * USER_HZ * g["nr_possible"]) + 2
        names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq",
                 "steal")
        for i, name in enumerate(names):
            got = g["cpu"][f"{name}_ns"] // TICK_NS
            want = t["cpu"][i]
            # grows between the reads, by at most the elapsed ticks
            if not want - 1 <= got <= want + window:
                diffs.append(f"cpu {name} {got} ticks, /proc/stat {want} "
                             f"(window {window})")
        running, total = (int(x) for x in t["load"][3].split("/"))
        # task counts move (the reading shell forks): a few either way
        if abs(g["nr_threads"] - total) > 10:
            diffs.append(f"tasks {g['nr_threads']}, /proc/loadavg {total}")
        if not 1 <= g["nr_running"] <= g["nr_threads"]:
            diffs.append(f"nr_running {g['nr_running']} of {g['nr_threads']}")
        if abs(g["nr_blocked"] - t["procs_blocked"]) > 5:
            diffs.append(f"nr_blocked {g['nr_blocked']}, /proc/stat "
                         f"{t['procs_blocked']}")
        for i in range(3):
            # updated every 5 s: within 1.0 of the value read
            if abs(g["load"][i] - float(t["load"][i])) > 1.0:
                diffs.append(f"load[{i}] {g['load'][i]:.2f}, /proc/loadavg "
                             f"{t['load'][i]}")
        return diffs

    # -- events --------------------------------------------------------------

    def check_burst(self):
        # a file, not a pipe: nobody reads a pipe until the end
        out_file = open(self.m.ram + ".events", "w+b")
        follower = subprocess.Popen(
            [self.vt.HAYWIRE, "--mem", self.m.ram, "events", "--follow", "--json"],
            stdout=out_file, stderr=subprocess.PIPE)
        try:
            time.sleep(1.0)  # it takes "now" on its first read
            t0 = time.monotonic()
            rc, out = self.m.run(f"hw-burst {BURST}", timeout=60 + BURST * 0.5)
            self.m.vt_note = time.monotonic() - t0
            burst_pid = int(out.split()[1])
            time.sleep(1.0)
        finally:
            follower.send_signal(signal.SIGINT)
            try:
                _, stderr = follower.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                follower.kill()
                follower.communicate()
                return ["events --follow did not exit on SIGINT"]
            finally:
                out_file.seek(0)
                stdout = out_file.read()
                out_file.close()
                os.unlink(self.m.ram + ".events")
        diffs = []
        if follower.returncode != 0:
            diffs.append(f"events --follow exited {follower.returncode}: "
                         f"{stderr.decode(errors='replace').strip()}")
        events = [json.loads(x) for x in stdout.decode().splitlines()]
        lost = [e for e in events if e["type"] == "lost"]
        if lost:
            diffs.append(f"the follower lost events: {lost[:5]}")
        seqs = [e["seq"] for e in events if "seq" in e]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True:
            diffs.append("event numbers are not consecutive")
        for kind in ("fork", "exec", "exit"):
            n = sum(1 for e in events if e["type"] == kind and
                    e["ppid"] == burst_pid and e["pid"] != burst_pid)
            if n != BURST:
                diffs.append(f"{n} {kind} events of the burst's children, "
                             f"expected {BURST}")
        bad = [e for e in events if e["type"] == "exit" and
               e["ppid"] == burst_pid and e["exit_code"] != 0]
        if bad:
            diffs.append(f"children exits with a nonzero code: {bad[:3]}")
        self.m.tap.note(f"{self.m.name('')}burst of {BURST}: {len(events)} events "
                        f"followed, guest run {self.m.vt_note:.1f} s")
        return diffs

    def check_small_ring(self):
        self.m.run("rmmod haywire")
        rc, out = self.m.insmod(f"interval_ms={self.vt.INTERVAL_MS} "
                                f"events={SMALL_RING}")
        if rc:
            return [f"insmod events={SMALL_RING} failed: {out.strip()}"]
        self.m.wait_info(lambda i: i["generation"] >= 1, "the first snapshot")
        self.m.run("hw-burst 300", timeout=300)
        r = self.host("--json", "events", "--from", "1")
        if r.rc:
            return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        lines = [json.loads(x) for x in r.out.splitlines()]
        lost = sum(e["count"] for e in lines if e["type"] == "lost")
        got = [e["seq"] for e in lines if "seq" in e]
        diffs = []
        if not got:
            return ["no events read back"]
        # exact: every number from 1 to the last is either delivered or lost
        if lost + len(got) != got[-1]:
            diffs.append(f"{lost} lost + {len(got)} read != last event {got[-1]}")
        if got != sorted(set(got)):
            diffs.append("event numbers not increasing")
        if got[-1] <= SMALL_RING * 3 or lost < got[-1] - SMALL_RING - 200:
            diffs.append(f"ring of {SMALL_RING}: last {got[-1]}, lost {lost}, "
                         f"read {len(got)}")
        self.m.tap.note(f"{self.m.name('')}ring of {SMALL_RING}: last event "
                        f"{got[-1]}, lost {lost}, read {len(got)}")
        # back to the module vmtest loaded
        self.m.run("rmmod haywire")
        rc, out = self.m.insmod(f"interval_ms={self.vt.INTERVAL_MS}")
        if rc:
            diffs.append(f"insmod again failed: {out.strip()}")
        self.m.wait_info(lambda i: i["generation"] >= 1, "the first snapshot")
        return diffs

    def run(self):
        m = self.m
        m.check("ps --json: CPU time, faults, nice, CPU, cgroup, PID namespace "
                "as /proc", self.check_procs)
        m.check("info --json: guest section as /proc/meminfo, stat, loadavg, "
                "uptime", self.check_guest)
        m.check(f"events --follow: every fork, exec and exit of a {BURST}-process "
                "burst", self.check_burst)
        m.check(f"events with a {SMALL_RING}-record ring: lost counted exactly",
                self.check_small_ring)


def checks(m):
    Monitor(m).run()
