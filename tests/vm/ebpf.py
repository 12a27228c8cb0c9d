"""The eBPF companion (haywire-bpf) in a guest: the same comparison with
/proc as the module's (ps, maps as JSON and text, pgd), info, the request
ring (read, translate, detail, refresh, malformed requests), the events
of a burst of processes (tests/vm/monitor.py), and the
loader's own life: a second loader refused, SIGKILL (the host says the
snapshot is stale, with its age), a restart (new nonce), no huge pages and
none reservable, no BTF. One host-built static binary, copied into every
initramfs (tools/mkinitramfs.sh).

Selected by HAYWIRE_VM_COMPANION (tests/vm/vmtest.py): "module", "ebpf" or
"both" (default); it runs on the x86-64 kernels of KERNELS that are under
test, in the q35-512M configuration, and checks that a kernel of
REFUSED_KERNELS (5.10: no task_vma iterator) is refused in one line.
"""

import json
import os
import re
import time

import monitor
import rings

KERNELS = ("6.1", "6.12")
# kernels without the task_vma iterator (before 5.12): refused in one line
REFUSED_KERNELS = ("5.10",)
CONFIG = "q35-512M"
MEM = "512M"
BINARY = "build/haywire-bpf"


def machine_class(vt):
    """vmtest.Machine with the loader where the module was."""

    class BpfMachine(vt.Machine):
        def name(self, what):
            return f"{self.kernel} {self.label} ebpf {what}"

        def insmod(self, args=""):
            """Start haywire-bpf in the background with the module's
            interval; (0, "") once it runs, else its exit and message."""
            interval = re.search(r"interval_ms=(\d+)", args)
            opts = f"-i {interval.group(1)}" if interval else ""
            self.run(f"haywire-bpf --allow-read {opts} > /tmp/bpf.log 2>&1 & "
                     "echo $! > /tmp/bpf.pid")
            return self.wait_loader()

        def wait_loader(self, timeout=60):
            """The loader published (its first snapshot is out before the
            magic) or exited: (0, "") or (1, its log). A beacon left by a
            loader before (old_nonce) does not count."""
            old = getattr(self, "old_nonce", None)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                rc, _ = self.run("kill -0 $(cat /tmp/bpf.pid)", check=False)
                if rc != 0:
                    return 1, self.run("cat /tmp/bpf.log")[1]
                r = vt.host(self.ram, "--json", "info")
                if r.rc == 0 and r.json().get("companion") == "ebpf" and \
                        r.json().get("nonce") != old:
                    return 0, ""
                time.sleep(0.5)
            return 1, "haywire-bpf published nothing in 60 s: " + \
                self.run("cat /tmp/bpf.log")[1]

    # rings.Rings finds vmtest through the class's module
    BpfMachine.__module__ = vt.__name__
    return BpfMachine


def loader_pid(m):
    return m.run("cat /tmp/bpf.pid")[1].strip()


def check_companion(m):
    """info says ebpf, its version, and what it cannot obtain."""
    info = m.info()
    diffs = []
    if info.get("companion") != "ebpf":
        diffs.append(f"companion {info.get('companion')!r}, not 'ebpf'")
    if not str(info.get("companion_version", "")).startswith("haywire-bpf "):
        diffs.append(f"companion_version {info.get('companion_version')!r}")
    if "cpu_time" not in (info.get("unavailable") or []):
        diffs.append(f"unavailable {info.get('unavailable')!r} lacks cpu_time")
    return diffs


def check_unavailable_null(m):
    """ps --json: an unavailable field is null, never 0."""
    ps = m.vt.host(m.ram, "--json", "ps").json()
    bad = [p["pid"] for p in ps["processes"]
           if "utime_ns" in p and p["utime_ns"] is not None]
    return [f"utime_ns not null for pids {bad[:5]}"] if bad else []


def check_translate(r):
    """TRANSLATE from /proc/PID/pagemap: every page as the guest's pagemap
    says, each present run flagged unknown (null page size and flags); the
    host-side walk's runs also split at page sizes and flags, so they are
    checked against pagemap, not against these."""
    lay = r.lay
    start = lay["pages"]
    length = lay["thp"] + lay["thp_len"] - start
    runs = r.translate(start, length, "--via-guest")
    rc, out = r.m.run(f"hw-pagemap {r.pid} {start} {length}", check=False)
    if rc != 0:
        return [f"hw-pagemap failed ({rc}): {out.strip()}"]
    entries = json.loads(out)["entries"]
    diffs = rings.pagemap_problems(runs, entries, r.file_offset)
    for run in runs:
        if run["state"] == "present" and \
                (run["flags"] is not None or run["page_size"] is not None):
            diffs.append(f"present run with known flags or page size: {run}")
            break
    return diffs


def check_second_refused(m):
    rc, out = m.run("haywire-bpf -i 1000", check=False)
    if rc == 0 or "another haywire-bpf is running" not in out:
        return [f"a second haywire-bpf: exit {rc}, {out.strip()!r}"]
    return []


def check_no_btf(m):
    """A guest without BTF, as the loader sees it: --btf names nothing."""
    rc, out = m.run("haywire-bpf --btf /nonexistent/vmlinux --lock /tmp/x.lock",
                    check=False)
    lines = [x for x in out.splitlines() if x.strip()]
    if rc == 0 or len(lines) != 1 or "no BTF" not in out:
        return [f"no BTF: exit {rc}, {out.strip()!r} (want one line saying 'no BTF')"]
    return []


def check_no_huge_pages(m):
    """None free and none reservable: vm.nr_hugepages is a plain file (a
    bind mount), so raising it reserves nothing; one clear line."""
    m.run("echo 0 > /tmp/nr_hugepages && "
          "mount --bind /tmp/nr_hugepages /proc/sys/vm/nr_hugepages")
    try:
        rc, out = m.run("haywire-bpf --lock /tmp/y.lock -m 8", check=False,
                        timeout=120)
    finally:
        m.run("umount /proc/sys/vm/nr_hugepages", check=False)
    lines = [x for x in out.splitlines() if x.strip()]
    if rc == 0 or len(lines) != 1 or "no huge pages" not in out:
        return [f"no huge pages: exit {rc}, {out.strip()!r}"]
    return []


def check_killed_stale(m):
    """SIGKILL: the magic stays, the generation stops; the host says the
    snapshot is stale, with its age."""
    vt = m.vt
    before = m.info()
    m.run(f"kill -KILL {loader_pid(m)}")
    wait = (3 * before["interval_ms"] + 1000) / 1000 + 1
    time.sleep(wait)
    r = vt.host(m.ram, "info")
    diffs = []
    if "STALE" not in r.out and "stale" not in r.out:
        diffs.append(f"info after SIGKILL does not say stale: {r.out[:400]!r}")
    age = re.search(r"age:\s+(\d+) ms", r.out)
    if not age or int(age.group(1)) < 3 * before["interval_ms"]:
        diffs.append(f"info after SIGKILL: age {age.group(1) if age else None} ms")
    m.before_restart = before
    return diffs


def check_restart(m):
    """A new loader after the killed one: a new nonce, ps works (the old
    index, frozen, is told apart from the live one)."""
    m.old_nonce = m.before_restart["nonce"]
    m.huge_before = m.run("grep HugePages_Total /proc/meminfo")[1].split()[-1]
    rc, out = m.insmod(f"interval_ms={m.vt.INTERVAL_MS}")
    if rc != 0:
        return [f"restart: {out.strip()}"]
    info = m.info()
    diffs = []
    if info["nonce"] == m.before_restart["nonce"]:
        diffs.append("restart kept the nonce")
    r = m.vt.host(m.ram, "ps")
    if r.rc != 0:
        diffs.append(f"ps after restart exited {r.rc}: {r.err.strip()}")
    return diffs


def check_sigterm(m):
    """SIGTERM: the index says gone, the huge pages it reserved go back
    (those of the loader killed before stay reserved: nobody gave them
    back)."""
    m.run(f"kill -TERM {loader_pid(m)}; "
          "while kill -0 $(cat /tmp/bpf.pid) 2>/dev/null; do sleep 0.2; done")
    r = m.vt.host(m.ram, "ps")
    diffs = []
    if r.rc != 3:
        diffs.append(f"ps after SIGTERM exited {r.rc}, expected 3: {r.err.strip()}")
    total = m.run("grep HugePages_Total /proc/meminfo")[1].split()[-1]
    want = getattr(m, "huge_before", "0")
    if total != want:
        diffs.append(f"HugePages_Total {total} after exit, {want} before it started")
    return diffs


def check_refused_kernel(m):
    rc, out = m.run("haywire-bpf", check=False)
    lines = [x for x in out.splitlines() if x.strip()]
    if rc == 0 or len(lines) != 1 or "unsupported kernel" not in out:
        return [f"haywire-bpf on {m.release}: exit {rc}, {out.strip()!r}"]
    return []


def run(vt, tap, kernel, images):
    m = machine_class(vt)(tap, kernel, CONFIG, "q35", MEM, images)
    m.vt = vt
    if not m.boot():
        return
    if kernel in REFUSED_KERNELS:
        try:
            m.check("unsupported kernel (no task_vma iterator): one clear line",
                    lambda: check_refused_kernel(m))
        finally:
            m.guest.stop()
        return
    try:
        if not m.check("start haywire-bpf and the workloads", m.setup):
            return
        m.compare_scenario()
        m.check("info --json sane, index where the RAM map says", m.check_info)
        m.check("info: companion ebpf, its version, unavailable fields",
                lambda: check_companion(m))
        m.check("ps --json: unavailable CPU times are null",
                lambda: check_unavailable_null(m))
        r = rings.Rings(m)
        if m.check("rings: hw-workload known starts", r.start_known):
            m.check("rings: read --via-guest returns the known bytes",
                    lambda: r.check_read("--via-guest"))
            m.check("rings: translate --via-guest == /proc/PID/pagemap, page "
                    "size and flags unknown", lambda: check_translate(r))
            m.check("rings: detail agrees with /proc", r.check_detail)
            m.check("rings: refresh returns a newer generation that info "
                    "shows", r.check_refresh)
            m.check("rings: malformed requests rejected, ping works, dmesg "
                    "clean", r.check_garbage)
        mon = monitor.Monitor(m)
        m.check("info --json: guest section as /proc/meminfo, stat, loadavg, "
                "uptime", mon.check_guest)
        m.check(f"events --follow: every fork, exec and exit of a "
                f"{monitor.BURST}-process burst", mon.check_burst)
        m.check("a second haywire-bpf is refused", lambda: check_second_refused(m))
        m.check("no BTF: one clear line", lambda: check_no_btf(m))
        m.check("no huge pages and none reservable: one clear line",
                lambda: check_no_huge_pages(m))
        m.check("SIGKILL: the host says stale, with the age",
                lambda: check_killed_stale(m))
        m.check("restarted: new nonce, ps works", lambda: check_restart(m))
        m.check("SIGTERM: magic gone, huge pages given back",
                lambda: check_sigterm(m))
        m.check_end()
    finally:
        m.guest.stop()


def wanted_kernels(kernels, labels):
    which = os.environ.get("HAYWIRE_VM_COMPANION", "both")
    if which not in ("ebpf", "both") or CONFIG not in labels:
        return []
    # a run about a given module (tests/deb.sh) or one part of the suite
    if which == "both" and (os.environ.get("HAYWIRE_VM_MODULE") or
                            os.environ.get("HAYWIRE_VM_CHECKS") or
                            os.environ.get("HAYWIRE_VM_ONLY")):
        return []
    return [k for k in kernels if k in KERNELS + REFUSED_KERNELS]
