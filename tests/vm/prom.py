"""A real Prometheus scraping haywire exporter, which watches two live
guests (run by tests/vm/vmtest.py, configuration "q35-512M-monitor", 6.1
only; two 512 MiB guests, one after the other booted, both running).

The test starts Debian's prometheus on loopback (a temporary config and
storage directory, --web.listen-address=127.0.0.1:PORT, scrape interval
1 s) and the exporter on another loopback port, then asks Prometheus's
HTTP API (/api/v1/query) and compares with what each guest says about
itself:
  - haywire_up 1 with reason ok for both guests;
  - haywire_processes against the guest's own count of /proc/PID entries,
    taken just before and just after the query (tolerance: the count may
    move between the two by the test's own shell commands; the metric must
    lie between the lower and the upper count, widened by 2);
  - guest-wide metrics against /proc/meminfo (MemTotal exactly: it does
    not move; SwapTotal exactly) and /proc/loadavg's task count;
then guest A unloads its module: Prometheus shows haywire_up{vm="a"} 0 with
reason "gone", while guest B stays up and its generation keeps advancing.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

CONFIG = "q35-512M-monitor"
KERNELS = ("6.1",)
MEM = "512M"
INTERVAL_MS = 500
WAIT = 180		# seconds: a bound on TCG guests and a loaded machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prom:
    def __init__(self, workdir, target):
        self.port = free_port()
        self.dir = workdir
        conf = os.path.join(workdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: haywire\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        self.log = open(os.path.join(workdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={os.path.join(workdir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, q):
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?" +
               urllib.parse.urlencode({"query": q}))
        with urllib.request.urlopen(url, timeout=30) as r:
            doc = json.loads(r.read())
        if doc.get("status") != "success":
            raise RuntimeError(f"query {q}: {doc}")
        return {tuple(sorted(x["metric"].items())): float(x["value"][1])
                for x in doc["data"]["result"]}

    def one(self, q):
        res = self.query(q)
        return next(iter(res.values())) if len(res) == 1 else None

    def wait(self, q, cond, what):
        deadline = time.monotonic() + WAIT
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.one(q)
                if last is not None and cond(last):
                    return last
            except OSError as e:  # not listening yet
                last = str(e)
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}: {q} = {last}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run(vt, tap, kernel, images):
    if not shutil.which("prometheus"):
        tap.n += 1
        print(f"ok {tap.n} {kernel} {CONFIG} # SKIP prometheus is not installed")
        return
    # no_timer_check: a loaded TCG host can fail the boot-time IO-APIC
    # timer check (tests/vm/rings.py retries with it; here it is simply on)
    guests = {name: vt.Machine(tap, kernel, f"{CONFIG}-{name}", "q35", MEM, images,
                               cmdline="no_timer_check")
              for name in ("a", "b")}
    work = tempfile.mkdtemp(prefix="haywire-prom-")
    exporter = prom = None
    try:
        for name, m in guests.items():
            m.guest.start()
            tap.note(f"{m.name('')}booted in {m.guest.boot_seconds:.1f} s")
            m.run(f"insmod /lib/modules/haywire.ko interval_ms={INTERVAL_MS}")
            m.run("sleep 100000 & sleep 100000 &")
        port = free_port()
        exporter = subprocess.Popen(
            [vt.HAYWIRE, "exporter", "--listen", f"127.0.0.1:{port}",
             "--top", "3"] +
            [x for name, m in guests.items() for x in ("--vm", f"{name}={m.ram}")],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "exporter.log"), "w"))
        prom = Prom(work, f"127.0.0.1:{port}")
        checks(vt, tap, guests, prom)
    except Exception as e:
        tap.result(f"{kernel} {CONFIG} ran to the end", [f"{type(e).__name__}: {e}"])
    finally:
        if prom:
            prom.stop()
        if exporter:
            exporter.terminate()
            try:
                exporter.wait(timeout=30)
            except subprocess.TimeoutExpired:
                exporter.kill()
                exporter.wait()
        for m in guests.values():
            m.guest.stop()
        shutil.rmtree(work, ignore_errors=True)


def proc_count(m):
    return len([x for x in m.run("ls /proc")[1].split() if x.isdigit()])


def meminfo(m):
    out = {}
    for line in m.run("cat /proc/meminfo")[1].splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[key] = int(parts[0]) * 1024
    return out


def checks(vt, tap, guests, prom):
    kernel = guests["a"].kernel

    def check(what, fn):
        try:
            diffs = fn()
        except Exception as e:
            diffs = [f"{type(e).__name__}: {e}"]
        tap.result(f"{kernel} {CONFIG} {what}", diffs)

    def both_up():
        for name in guests:
            prom.wait(f'haywire_up{{vm="{name}"}}', lambda v: v == 1,
                      f"guest {name} up in Prometheus")
        diffs = []
        for name in guests:
            r = prom.one(f'haywire_up_reason{{vm="{name}"}}')
            res = prom.query(f'haywire_up_reason{{vm="{name}"}}')
            reasons = [dict(k)["reason"] for k in res]
            if reasons != ["ok"] or r != 1:
                diffs.append(f"guest {name}: reasons {reasons}")
        return diffs

    def processes():
        diffs = []
        for name, m in guests.items():
            for _ in range(3):
                before = proc_count(m)
                # a sample scraped after "before": wait for a fresh one
                time.sleep(2 + INTERVAL_MS / 1000)
                got = prom.one(f'haywire_processes{{vm="{name}"}}')
                after = proc_count(m)
                lo, hi = min(before, after) - 2, max(before, after) + 2
                if got is not None and lo <= got <= hi:
                    break
            else:
                diffs.append(f"guest {name}: haywire_processes {got}, the "
                             f"guest counts {before} then {after} in /proc")
            states = prom.query(f'haywire_processes_by_state{{vm="{name}"}}')
            if abs(sum(states.values()) - got) > 2:
                diffs.append(f"guest {name}: states sum to {sum(states.values())}, "
                             f"processes {got}")
        return diffs

    def guest_wide():
        diffs = []
        for name, m in guests.items():
            mi = meminfo(m)
            for field in ("MemTotal", "SwapTotal"):
                got = prom.one(f'haywire_guest_memory_{field}_bytes{{vm="{name}"}}')
                # SwapTotal: left out where the kernel exports no swap
                # total (the module says so), never a made-up 0
                if got != mi[field] and not (field == "SwapTotal" and got is None):
                    diffs.append(f"guest {name}: {field} {got} in Prometheus, "
                                 f"{mi[field]} in /proc/meminfo")
            # uptime moves: between the guest's /proc/uptime before the
            # query, less a snapshot interval and two scrape intervals, and
            # after it
            before = float(m.run("cat /proc/uptime")[1].split()[0])
            got = prom.one(f'haywire_guest_uptime_seconds{{vm="{name}"}}')
            after = float(m.run("cat /proc/uptime")[1].split()[0])
            if got is None or not before - INTERVAL_MS / 1000 - 3 <= got <= after:
                diffs.append(f"guest {name}: uptime {got}, /proc/uptime "
                             f"{before} .. {after}")
            cpus = prom.query(f'haywire_guest_cpu_seconds_total{{vm="{name}",mode="idle"}}')
            if len(cpus) != 2:
                diffs.append(f"guest {name}: idle time of {len(cpus)} CPUs, the guest has 2")
        return diffs

    top_a = {}

    def unload():
        gen_b = prom.one('haywire_snapshot_generation{vm="b"}')
        # top follows guest a through the unload and the reload below
        top_a["proc"] = subprocess.Popen(
            [vt.HAYWIRE, "--mem", guests["a"].ram, "top", "-b", "-d", "0.5",
             "-n", "400"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        time.sleep(2)
        guests["a"].run("rmmod haywire")
        prom.wait('haywire_up{vm="a"}', lambda v: v == 0, "guest a down")
        diffs = []
        reasons = [dict(k)["reason"] for k in
                   prom.query('haywire_up_reason{vm="a"}')]
        if reasons != ["gone"]:
            diffs.append(f"guest a after rmmod: reasons {reasons}, want gone")
        if prom.one('haywire_up{vm="b"}') != 1:
            diffs.append("guest b is not up while a is down")
        prom.wait('haywire_snapshot_generation{vm="b"}',
                  lambda v: gen_b is not None and v > gen_b,
                  "guest b's generation to advance")
        return diffs

    check("Prometheus scrapes the exporter: both guests up, reason ok", both_up)
    # a figure, not a check: the exporter's own time for the 2 live guests
    for q, what in (("haywire_exporter_scrape_seconds", "last scrape"),
                    ("max_over_time(haywire_exporter_scrape_seconds[1m])",
                     "slowest scrape in the last minute")):
        try:
            v = prom.one(q)
            tap.note(f"{kernel} {CONFIG} exporter, 2 live guests, {what}: "
                     f"{v * 1e3:.3f} ms" if v is not None else f"{q}: none")
        except Exception as e:
            tap.note(f"{q}: {e}")
    check("haywire_processes and by-state counts match each guest's /proc",
          processes)
    check("guest-wide metrics match /proc/meminfo (MemTotal, SwapTotal), /proc/uptime, 2 CPUs",
          guest_wide)
    def top_batch():
        m = guests["a"]
        r = vt.host(m.ram, "top", "-b", "-n", "3", "-d", "1")
        if r.rc != 0:
            return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        screens = [s for s in r.out.split("haywire top - ")[1:]]
        diffs = [] if len(screens) == 3 else [f"{len(screens)} screens, want 3"]
        count = proc_count(m)
        mem_total = meminfo(m)["MemTotal"] / (1 << 20)
        for i, text in enumerate(screens):
            lines = text.splitlines()
            if not re.search(r"load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d", lines[0]):
                diffs.append(f"screen {i}: no load average: {lines[0]!r}")
            mm = re.search(r"Tasks:\s+(\d+) total", text)
            if not mm or abs(int(mm.group(1)) - count) > 3:
                diffs.append(f"screen {i}: tasks {mm and mm.group(1)}, /proc has {count}")
            mm = re.search(r"MiB Mem :\s+([\d.]+) total", text)
            if not mm or abs(float(mm.group(1)) - mem_total) > 0.06:
                diffs.append(f"screen {i}: MiB Mem {mm and mm.group(1)}, MemTotal {mem_total:.1f}")
            if i > 0 and not re.search(r"%Cpu\(s\):\s+[\d.]+ us", text):
                diffs.append(f"screen {i}: no %Cpu(s) split after two snapshots")
            rows = [x.split() for x in lines if re.match(r"^\s*\d+ ", x)]
            cpus = [float(x[7]) for x in rows]
            if cpus != sorted(cpus, reverse=True):
                diffs.append(f"screen {i}: rows not sorted by %CPU")
        return diffs

    check("top -b -n 3 on a live guest: load, tasks, memory, %Cpu(s), sorted",
          top_batch)

    def top_cpu():
        """A busy loop in guest b is its first process by CPU, with about
        one CPU (between 0.3 and 1.05: TCG shares the host's cores), and
        the guest's own /proc/PID/stat agrees that it runs."""
        m = guests["b"]
        pid = int(m.run("sh -c 'while :; do :; done' > /dev/null 2>&1 & echo $!")[1].split()[-1])
        try:
            def first(res):
                best = max(res.items(), key=lambda kv: kv[1]) if res else None
                return best and dict(best[0]).get("pid") == str(pid)
            deadline = time.monotonic() + WAIT
            res = {}
            while time.monotonic() < deadline:
                res = prom.query('haywire_top_process_cpu_ratio{vm="b"}')
                if first(res):
                    break
                time.sleep(1)
            diffs = []
            if not first(res):
                return [f"busy loop pid {pid} is not first by CPU: {res}"]
            ratio = max(res.values())
            if not 0.3 <= ratio <= 1.05:
                diffs.append(f"busy loop at {ratio:.2f} CPUs")
            if len(res) > 3:
                diffs.append(f"{len(res)} CPU top-N series with --top 3")
            stat = m.run(f"cat /proc/{pid}/stat")[1].rsplit(")", 1)[1].split()
            if int(stat[11]) + int(stat[12]) == 0:  # utime + stime ticks
                diffs.append("the guest says the busy loop used no CPU")
            return diffs
        finally:
            m.run(f"kill {pid}", check=False)

    check("top-N by CPU: a busy loop in guest b comes first, about one CPU",
          top_cpu)
    def reload():
        m = guests["a"]
        time.sleep(2)
        m.run(f"insmod /lib/modules/haywire.ko interval_ms={INTERVAL_MS}")
        prom.wait('haywire_up{vm="a"}', lambda v: v == 1, "guest a up again")
        p = top_a.get("proc")
        if not p:
            return ["top was not started"]
        time.sleep(3)
        p.terminate()
        out, err = p.communicate(timeout=60)
        diffs = []
        screens = out.split("haywire top - ")[1:]
        if not any("gone:" in x for x in screens):
            diffs.append("top never said the module was gone")
        restarts = [x for x in screens if "restart: the beacon's nonce changed" in x]
        if len(restarts) != 1:
            diffs.append(f"{len(restarts)} screens say restart, want 1")
        elif "Tasks:" not in restarts[0]:
            diffs.append("the restart screen shows no processes")
        return diffs

    check("guest a rmmod: haywire_up 0 reason gone; b stays up and advances",
          unload)
    check("guest a insmod again: up again; top -b said gone, then restart once",
          reload)
