#!/usr/bin/python3
"""haywire exporter and haywire top on fixture RAM files (tests/unit
mkbeacon): no guest is booted. Nested TAP, one line per check.

- exporter output passes `promtool check metrics` (Debian's prometheus
  package: the real parser) and this file's own line-by-line rules (every
  sample after its family's # HELP and # TYPE, families not split, counters
  named _total, a vm label on every sample but the two haywire_exporter_*
  ones, label values escaped);
- values against the fixtures: up and reason for a fresh, an unloaded, a
  missing and a busy guest (seq stuck odd: a writer that never finishes),
  process counts by state, the bounded top-N;
- a busy guest does not stall the others: the scrape ends within a bound
  proportional to its guests, and the others are up;
- the HTTP server with a config file: /metrics, 404 elsewhere, loopback;
- top -b -n 3 parsed; top in tmux: keys M, N, T, P re-sort, q quits;
- figures: scrape time for 1, 10 and 100 guests (printed, not asserted).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
HAYWIRE = os.path.join(TOP, "build", "haywire")
MKBEACON = os.path.join(TOP, "build", "monitor", "mkbeacon")
FRESH = ["--interval-ms", "3600000", "--age-ms", "0"]

n = 0
failed = 0


def result(name, diffs):
    global n, failed
    n += 1
    if not diffs:
        print(f"ok {n} {name}", flush=True)
        return
    failed += 1
    print(f"not ok {n} {name}")
    for d in diffs[:30]:
        print(f"#   {d}")
    sys.stdout.flush()


def check(name, fn):
    try:
        diffs = fn()
    except Exception as e:  # a test error is a failure with its message
        diffs = [f"test error: {type(e).__name__}: {e}"]
    result(name, diffs)


def mkbeacon(path, *args):
    subprocess.run([MKBEACON, "--out", path, "--size", "16M", *args],
                   check=True, stdout=subprocess.DEVNULL)


def haywire(*args, timeout=120):
    return subprocess.run([HAYWIRE, *args], capture_output=True, text=True,
                          timeout=timeout)


# -- the exposition format, line by line ----------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)\}})? (\S+)$")


def parse(text):
    """{(name, frozenset(labels)): value}, and the rule violations."""
    diffs, samples, types, seen_done = [], {}, {}, set()
    helped, current = set(), None
    if not text.endswith("\n"):
        diffs.append("output does not end with a newline")
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split()[2]
            if name in helped:
                diffs.append(f"line {i}: second # HELP for {name}")
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("counter", "gauge"):
                diffs.append(f"line {i}: bad TYPE line {line!r}")
                continue
            name = parts[2]
            if name not in helped:
                diffs.append(f"line {i}: TYPE of {name} before its HELP")
            if current:
                seen_done.add(current)
            current = name
            types[name] = parts[3]
            if parts[3] == "counter" and not name.endswith("_total"):
                diffs.append(f"counter {name} does not end in _total")
            if parts[3] == "gauge" and name.endswith("_total"):
                diffs.append(f"gauge {name} ends in _total")
            continue
        m = SAMPLE.match(line)
        if not m:
            diffs.append(f"line {i}: not a sample: {line!r}")
            continue
        name, labels, value = m.groups()
        if name != current:
            diffs.append(f"line {i}: sample of {name} outside its family "
                         f"({current})" + (" (family split)" if name in seen_done else ""))
        try:
            v = float(value)
        except ValueError:
            diffs.append(f"line {i}: value {value!r}")
            continue
        pairs = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                     labels or ""))
        if not name.startswith("haywire_exporter_") and \
                "vm" not in dict(pairs):
            diffs.append(f"line {i}: {name} has no vm label")
        key = (name, pairs)
        if key in samples:
            diffs.append(f"line {i}: duplicate series {line!r}")
        samples[key] = v
    return samples, types, diffs


def value(samples, name, **labels):
    want = frozenset(labels.items())
    for (n_, pairs), v in samples.items():
        if n_ == name and want <= pairs:
            return v
    return None


def series(samples, name, **labels):
    want = frozenset(labels.items())
    return [(dict(p), v) for (n_, p), v in samples.items()
            if n_ == name and want <= p]


def promtool(text):
    if not shutil.which("promtool"):
        return ["promtool is not installed (Debian package prometheus; make deps)"]
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    # promtool prints lint advice (e.g. about metric names) and exits 1 for
    # it; parse errors are what matter most, but we want no advice either
    out = (r.stdout + r.stderr).strip()
    return [] if r.returncode == 0 else [f"promtool: {out}"]


# -- the checks ---------------------------------------------------------------

def exporter_checks(tmp):
    fresh = os.path.join(tmp, "fresh.ram")
    other = os.path.join(tmp, "other.ram")
    gone = os.path.join(tmp, "gone.ram")
    busy = os.path.join(tmp, "busy.ram")
    mkbeacon(fresh, "--procs", "30", *FRESH,
             "--set", "proc[5].state=Z", "--set", "proc[6].state=T",
             "--set", "proc[29].comm=we\"ird\n")
    mkbeacon(other, "--procs", "12", *FRESH)
    mkbeacon(gone, "--procs", "5", "--gone")
    mkbeacon(busy, "--procs", "5", *FRESH, "--set", "seq=3")
    args = ["exporter", "--vm", f"fresh={fresh}", "--vm", f"other={other}",
            "--vm", f"gone={gone}", "--vm", f"missing={tmp}/nothing.ram",
            "--vm", f"busy={busy}", "--top", "4", "--scrapes", "2"]
    t0 = time.monotonic()
    r = haywire(*args)
    took = time.monotonic() - t0
    text = r.stdout
    samples, types, rule_diffs = parse(text)

    def ran():
        return [] if r.returncode == 0 else [f"exit {r.returncode}: {r.stderr.strip()}"]

    check("exporter --scrapes 2 over 5 guests exits 0", ran)
    check("exporter output passes promtool check metrics", lambda: promtool(text))
    check("exporter output follows the exposition rules line by line",
          lambda: rule_diffs)

    def up():
        diffs = []
        want = {"fresh": (1, "ok"), "other": (1, "ok"), "gone": (0, "gone"),
                "missing": (0, "no_file"), "busy": (0, "busy")}
        for vm, (u, reason) in want.items():
            got = value(samples, "haywire_up", vm=vm)
            if got != u:
                diffs.append(f"haywire_up{{vm={vm}}} is {got}, want {u}")
            reasons = series(samples, "haywire_up_reason", vm=vm)
            if [(x["reason"], v) for x, v in reasons] != [(reason, 1.0)]:
                diffs.append(f"vm {vm}: reasons {reasons}, want {reason}")
        for vm in ("gone", "missing", "busy"):
            if value(samples, "haywire_processes", vm=vm) is not None:
                diffs.append(f"vm {vm} is down but has haywire_processes")
        return diffs

    check("haywire_up and reason: fresh 1 ok; unloaded, missing, busy 0 with their reason",
          up)

    def counts():
        diffs = []
        for vm, procs in (("fresh", 30), ("other", 12)):
            if value(samples, "haywire_processes", vm=vm) != procs:
                diffs.append(f"{vm}: haywire_processes "
                             f"{value(samples, 'haywire_processes', vm=vm)}, want {procs}")
            states = {x["state"]: v for x, v in
                      series(samples, "haywire_processes_by_state", vm=vm)}
            if sum(states.values()) != procs:
                diffs.append(f"{vm}: states sum to {sum(states.values())}: {states}")
        st = {x["state"]: v for x, v in
              series(samples, "haywire_processes_by_state", vm="fresh")}
        if st.get("zombie") != 1 or st.get("stopped") != 1:
            diffs.append(f"fresh: one zombie and one stopped process set, got {st}")
        return diffs

    check("process counts and counts by state match the fixtures", counts)

    def topn():
        diffs = []
        for vm, procs in (("fresh", 30), ("other", 12)):
            rss = series(samples, "haywire_top_process_resident_memory_bytes",
                         vm=vm)
            if len(rss) != 4:
                diffs.append(f"{vm}: {len(rss)} top-RSS series, want 4")
            # the fixture gives process i 1024 + i kB: the last 4 are top
            values = sorted((v for _, v in rss), reverse=True)
            want = [(1024 + i) * 1024 for i in range(procs - 1, procs - 5, -1)]
            if values != want:
                diffs.append(f"{vm}: top RSS {values}, want {want}")
        weird = [x["comm"] for x, _ in
                 series(samples, "haywire_top_process_resident_memory_bytes")
                 if "we" in x["comm"]]
        if weird != ['we\\"ird\\\\012']:
            diffs.append(f"comm label escaped as {weird!r}")
        return diffs

    check("top-N bounded to --top 4 per guest, the largest RSS, labels escaped",
          topn)

    def bounded():
        # busy guest: 20 attempts 1 ms apart + 60 ms discovery per scrape;
        # the bound is generous (a loaded machine), not a timing assertion
        return [] if took < 20 else [f"2 scrapes of 5 guests took {took:.1f} s"]

    check("a busy guest (seq stuck odd) does not stall the scrape", bounded)
    return samples


def bumper_checks(tmp):
    """A seq bumper: a writer that keeps the index's seq moving (odd and
    even) for the whole scrape. The scrape still ends within the bound and
    the other guest is up."""
    import mmap
    import struct
    import threading
    ram = os.path.join(tmp, "bumper.ram")
    good = os.path.join(tmp, "good.ram")
    mkbeacon(ram, "--procs", "200", *FRESH, "--index-offset", "0x400000")
    mkbeacon(good, "--procs", "8", *FRESH)
    stop = threading.Event()

    def bump():
        with open(ram, "r+b") as f:
            m = mmap.mmap(f.fileno(), 0)
            off = 0x400000 + 128    # hw_index.seq
            v = struct.unpack_from("<I", m, off)[0]
            while not stop.is_set():
                v = (v + 1) & 0xffffffff
                struct.pack_into("<I", m, off, v)
            m.close()

    t = threading.Thread(target=bump)
    t.start()
    try:
        t0 = time.monotonic()
        r = haywire("exporter", "--vm", f"bumper={ram}", "--vm", f"good={good}",
                    "--scrapes", "3")
        took = time.monotonic() - t0
    finally:
        stop.set()
        t.join()
    samples, _, diffs = parse(r.stdout)
    if r.returncode != 0:
        diffs.append(f"exit {r.returncode}: {r.stderr.strip()}")
    if value(samples, "haywire_up", vm="good") != 1:
        diffs.append("the good guest is not up next to the bumper")
    reasons = [x["reason"] for x, _ in series(samples, "haywire_up_reason", vm="bumper")]
    if reasons not in (["busy"], ["ok"]):
        diffs.append(f"bumper guest reason {reasons}, want busy (or ok)")
    if took > 20:  # generous: 3 scrapes of ~25 ms each + startup
        diffs.append(f"3 scrapes took {took:.1f} s")
    return diffs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_checks(tmp):
    fresh = os.path.join(tmp, "fresh.ram")
    globdir = os.path.join(tmp, "globbed")
    os.makedirs(globdir, exist_ok=True)
    for name in ("g1.ram", "g2.ram"):
        mkbeacon(os.path.join(globdir, name), "--procs", "6", *FRESH)
    port = free_port()
    conf = os.path.join(tmp, "exporter.conf")
    with open(conf, "w") as f:
        f.write(f"# a comment\nlisten 127.0.0.1:{port}\n\n"
                f"vm fresh {fresh}   # trailing comment\n"
                f"glob {globdir}/*.ram\ntop 2\n")
    proc = subprocess.Popen([HAYWIRE, "exporter", "--config", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        body, diffs = None, []
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=10) as resp:
                    body = resp.read().decode()
                    ctype = resp.headers.get("Content-Type", "")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        if body is None:
            return [f"no answer on port {port}"]
        if not ctype.startswith("text/plain; version=0.0.4"):
            diffs.append(f"Content-Type {ctype!r}")
        samples, _, rules = parse(body)
        diffs += rules + promtool(body)
        for vm in ("fresh", "g1.ram", "g2.ram"):
            if value(samples, "haywire_up", vm=vm) != 1:
                diffs.append(f"haywire_up{{vm={vm}}} is "
                             f"{value(samples, 'haywire_up', vm=vm)}")
        if len(series(samples, "haywire_top_process_resident_memory_bytes",
                      vm="fresh")) != 2:
            diffs.append("config 'top 2' not applied")
        # a file matched by the glob later shows up at the next scrape
        mkbeacon(os.path.join(globdir, "g3.ram"), "--procs", "6", *FRESH)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                    timeout=10) as resp:
            samples, _, _ = parse(resp.read().decode())
        if value(samples, "haywire_up", vm="g3.ram") != 1:
            diffs.append("a RAM file added to the glob's directory is not scraped")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=10)
            diffs.append("/nothing answered 200")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                diffs.append(f"/nothing answered {e.code}")
        return diffs
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bad_config_checks(tmp):
    conf = os.path.join(tmp, "bad.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:1\nfrobnicate 3\n")
    diffs = []
    r = haywire("exporter", "--config", conf)
    if r.returncode == 0 or f"{conf}:2:" not in r.stderr or \
            len(r.stderr.splitlines()) != 1:
        diffs.append(f"bad directive: exit {r.returncode}, stderr {r.stderr!r}")
    for args in (["--vm", "bad name=/x"], ["--vm", "a=/x", "--vm", "a=/y"],
                 ["--vm", "a=/x", "--top", "51"], ["--vm", "a=/x", "--listen", "nope"]):
        r = haywire("exporter", *args, "--scrapes", "1")
        if r.returncode == 0 or len(r.stderr.splitlines()) != 1:
            diffs.append(f"exporter {' '.join(args)}: exit {r.returncode}, "
                         f"stderr {r.stderr!r}")
    return diffs


TOP_HEADER = re.compile(r"^\s*PID\s+USER\s+PR\s+NI\s+VIRT\s+RES\s+S\s+%CPU\s+%MEM\s+TIME\+\s+COMMAND$")


def parse_top_blocks(text):
    """[(header lines, rows as dicts)] of every screen in the output."""
    blocks, cur = [], None
    for line in text.splitlines():
        if line.startswith("haywire top - "):
            cur = {"head": [line], "rows": [], "in_table": False}
            blocks.append(cur)
        elif cur is None or not line.strip():
            continue
        elif TOP_HEADER.match(line):
            cur["in_table"] = True
        elif cur["in_table"]:
            f = line.split(None, 10)
            cur["rows"].append({"pid": int(f[0]), "virt": int(f[4]),
                                "res": int(f[5]), "state": f[6],
                                "cpu": float(f[7]), "time": f[9],
                                "command": f[10]})
        else:
            cur["head"].append(line)
    return blocks


def top_batch_checks(tmp):
    ram = os.path.join(tmp, "fresh.ram")
    r = haywire("--mem", ram, "top", "-b", "-n", "3", "-d", "0.1")
    if r.returncode != 0:
        return [f"exit {r.returncode}: {r.stderr.strip()}"]
    blocks = parse_top_blocks(r.stdout)
    diffs = []
    if len(blocks) != 3:
        diffs.append(f"{len(blocks)} screens, want 3")
    for b in blocks:
        head = "\n".join(b["head"])
        for want in ("Tasks:  30 total", "%Cpu(s):", "MiB Mem", "MiB Swap"):
            if want not in head:
                diffs.append(f"header lacks {want!r}: {b['head']}")
        if len(b["rows"]) != 30:
            diffs.append(f"{len(b['rows'])} rows, want 30")
        keys = [(-x["cpu"], x["pid"]) for x in b["rows"]]
        if keys != sorted(keys):
            diffs.append("rows not sorted by %CPU (then PID)")
        if any(x["res"] != 1024 + i for i, x in
               enumerate(sorted(b["rows"], key=lambda x: x["pid"]))
               if not x["command"].startswith("[")):
            diffs.append("RES differs from the fixture's 1024 + i kB")
    return diffs


def top_restart_checks(tmp):
    """A new nonce between two reads: the batch output says so. The new
    beacon is in a new file at the same path (a guest started again), which
    top must open instead of the deleted one it has mapped."""
    ram = os.path.join(tmp, "restart.ram")
    mkbeacon(ram, "--procs", "6", *FRESH, "--nonce", "0x1111")
    p = subprocess.Popen([HAYWIRE, "--mem", ram, "top", "-b", "-n", "40",
                          "-d", "0.1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    # the guest started again: QEMU makes a new file at the same path
    os.unlink(ram)
    mkbeacon(ram, "--procs", "7", *FRESH, "--nonce", "0x2222")
    out, err = p.communicate(timeout=120)
    diffs = [] if p.returncode == 0 else [f"exit {p.returncode}: {err.strip()}"]
    if not re.search(r"restart: the beacon's nonce changed \(0+1111 -> 0+2222\)", out):
        diffs.append("no restart line for nonce 1111 -> 2222")
    blocks = parse_top_blocks(out)
    if not blocks or len(blocks[-1]["rows"]) != 7:
        diffs.append("the last screen does not show the new beacon's 7 processes")
    return diffs


def cpu_checks(tmp):
    """%CPU from two snapshots: process 4 used 0.5 s of CPU (0.3 user,
    0.2 system) in the 1 s between them (guest monotonic publish times):
    top shows it first with 50.0; the exporter, with a single snapshot,
    shows no CPU top-N at all."""
    ram = os.path.join(tmp, "cpu.ram")
    base = ["--procs", "8", *FRESH, "--nonce", "0x33"]
    mkbeacon(ram, *base, "--generation", "1",
             "--set", "publish_mono_ns=100000000000",
             "--set", "proc[4].utime_ns=0", "--set", "proc[4].stime_ns=0")
    top = subprocess.Popen([HAYWIRE, "--mem", ram, "top", "-b", "-n", "30",
                            "-d", "0.1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)
    # written in place (same inode): the same guest's next snapshot
    mkbeacon(ram, *base, "--generation", "2",
             "--set", "publish_mono_ns=101000000000",
             "--set", "proc[4].utime_ns=300000000",
             "--set", "proc[4].stime_ns=200000000", "--set", "proc[4].nice=5")
    out, err = top.communicate(timeout=120)
    diffs = [] if top.returncode == 0 else [f"top exit {top.returncode}: {err.strip()}"]
    last = parse_top_blocks(out)[-1]["rows"] if parse_top_blocks(out) else []
    if not last or last[0]["cpu"] != 50.0 or last[0]["time"] != "0:00.50":
        diffs.append(f"top's first row {last[:1]}, want 50.0 %CPU, TIME+ 0:00.50")
    r = haywire("exporter", "--vm", f"cpu={ram}", "--top", "2", "--scrapes", "1")
    # one scrape: no baseline yet, so no CPU top-N (never a made-up value)
    if "haywire_top_process_cpu_ratio{" in r.stdout:
        diffs.append("a CPU top-N from a single snapshot")
    return diffs


def tmux_checks(tmp):
    if not shutil.which("tmux"):
        return ["tmux is not installed (make deps)"]
    ram = os.path.join(tmp, "tmux.ram")
    # process 9 gets the most memory, so M, N and T orders all differ
    mkbeacon(ram, "--procs", "12", *FRESH, "--set", "proc[9].rss_kb=900000")
    sock = os.path.join(tmp, "tmux.sock")
    tm = ["tmux", "-S", sock]
    subprocess.run(tm + ["new-session", "-d", "-x", "150", "-y", "40",
                         f"{HAYWIRE} --mem {ram} top -d 0.3; sleep 30"],
                   check=True)
    diffs = []

    def screen():
        return subprocess.run(tm + ["capture-pane", "-p"], capture_output=True,
                              text=True).stdout

    def rows_after(key, pred, what):
        if key:
            subprocess.run(tm + ["send-keys", key], check=True)
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            blocks = parse_top_blocks(screen())
            if blocks and len(blocks[0]["rows"]) == 12:
                last = blocks[0]["rows"]
                if pred(last):
                    return
            time.sleep(0.2)
        diffs.append(f"after {key or 'start'}: not {what}: "
                     f"{[(x['pid'], x['res']) for x in last or []]}")

    def desc(field):
        return lambda rows: [x[field] for x in rows] == \
            sorted((x[field] for x in rows), reverse=True)

    try:
        rows_after(None, lambda r: True, "a screen")
        rows_after("M", lambda r: desc("res")(r) and r[0]["res"] == 900000,
                   "sorted by RES")
        rows_after("N", desc("pid"), "sorted by PID, largest first")
        def cpu_time(x):
            mins, rest = x["time"].split(":")
            return int(mins) * 60 + float(rest)
        rows_after("T", lambda r: [cpu_time(x) for x in r] ==
                   sorted((cpu_time(x) for x in r), reverse=True) and
                   [cpu_time(x) for x in r] != sorted(cpu_time(x) for x in r),
                   "sorted by TIME+, largest first")
        rows_after("P", lambda r: [x["pid"] for x in r] ==
                   sorted(x["pid"] for x in r), "sorted by %CPU (all 0: by PID)")
        subprocess.run(tm + ["send-keys", "q"], check=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "haywire top - " not in screen():
                break
            time.sleep(0.2)
        else:
            diffs.append("q did not quit")
        # the pane's shell went on to its "sleep 30": top exited
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cmd = subprocess.run(tm + ["list-panes", "-F", "#{pane_current_command}"],
                                 capture_output=True, text=True).stdout.strip()
            if cmd == "sleep":
                break
            time.sleep(0.2)
        if cmd != "sleep":
            diffs.append(f"after q the pane runs {cmd!r}, not the shell's sleep")
    finally:
        subprocess.run(tm + ["kill-server"], capture_output=True)
    return diffs


def figures(tmp):
    """Scrape time for 1, 10 and 100 guests (fixture files)."""
    d = os.path.join(tmp, "many")
    os.makedirs(d, exist_ok=True)
    for i in range(100):
        mkbeacon(os.path.join(d, f"g{i:03d}.ram"), "--procs", "60", *FRESH)
    print("# scrape time (median of 5 runs, the 3rd scrape of each; fixture guests "
          "of 60 processes, --top 5):")
    print("#   guests  scrape_ms  per_guest_ms")
    rows = []
    for count in (1, 10, 100):
        args = ["exporter", "--top", "5"]
        for i in range(count):
            args += ["--vm", f"g{i}={d}/g{i:03d}.ram"]
        times = []
        for _ in range(5):
            r = haywire(*args, "--scrapes", "3")
            m = re.search(r"^haywire_exporter_scrape_seconds (\S+)$", r.stdout, re.M)
            if not m:
                return [f"no scrape time for {count} guests: {r.stderr.strip()}"]
            times.append(float(m.group(1)) * 1e3)
        ms = sorted(times)[len(times) // 2]
        rows.append((count, ms))
        print(f"#   {count:6d}  {ms:9.3f}  {ms / count:12.4f}")
    return []


def main():
    for path in (HAYWIRE, MKBEACON):
        if not os.access(path, os.X_OK):
            print(f"1..0 # SKIP {path} not built")
            return 4
    tmp = tempfile.mkdtemp(prefix="haywire-monitor-")
    try:
        exporter_checks(tmp)
        check("exporter: a seq bumper guest does not stall the scrape or the other guest",
              lambda: bumper_checks(tmp))
        check("exporter: HTTP on loopback with a config file (listen, vm, glob, top), 404 elsewhere",
              lambda: http_checks(tmp))
        check("exporter: bad config and options are one error line, non-zero exit",
              lambda: bad_config_checks(tmp))
        check("top -b -n 3: three screens, header, rows sorted by %CPU, fixture values",
              lambda: top_batch_checks(tmp))
        check("top -b: a nonce change says restart and starts over",
              lambda: top_restart_checks(tmp))
        check("top in tmux: M, N, T, P sort; q quits", lambda: tmux_checks(tmp))
        check("%CPU from two snapshots' CPU times over their publish times",
              lambda: cpu_checks(tmp))
        if os.environ.get("HAYWIRE_MONITOR_FIGURES", "1") != "0":
            check("exporter scrape time for 1, 10, 100 guests (figures)",
                  lambda: figures(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
