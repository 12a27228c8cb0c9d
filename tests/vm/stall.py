"""VM tests: no host request can hang the module's request thread (issue 9),
and page rights are what user mode gets; run by tests/vm/vmtest.py on the
ring configurations (q35-512M, virt-1G), after the ring checks.

In the guest (tests/guest/stall.c): a FUSE server speaking the protocol on
/dev/fuse that never answers a read; a process that maps a file of it over
its own argument area (prctl PR_SET_MM_ARG_START/END); one whose argument
area is userfaultfd-registered and never served. Then:

- /proc/PID/cmdline of each returns at once (the guest's own rule);
- `detail` of each answers within --timeout, the command line reported
  unavailable; `ping` still answers;
- `read --via-guest` of each argument area is refused at once, saying why
  (exit 6), with allow_read=1; a file's page that is mapped (pid 1's text)
  is still read;
- `rmmod` completes while the FUSE server still sits on the read, and the
  module loads again;
- the guest log has no warning and no hung-task report.

A reboot with a host client pinging: the index magic says "gone" from the
reboot on, and every ping answers or fails with one clear error.

Page rights (the guest boots with pti=on on x86-64, see vmtest.py): every
present page of a process, translated host-side and --via-guest, has NX
exactly when its VMA is not executable, and write only when it is writable.
"""

import os
import sys
import threading
import time

# --timeout for each answer: generous under TCG. A request that hung the
# request thread would never be answered at all.
TIMEOUT_MS = 30000
FUSE_DIR = "/tmp/hw-fuse"
HUNG = ["blocked for more than", "hung_task", "INFO: task"]


class Stall:
    def __init__(self, m):
        self.m = m
        self.vt = sys.modules[type(m).__module__]  # vmtest, as it runs
        self.procs = {}     # kind -> {"pid", "addr", "len"}
        self.server = None  # the FUSE server's pid
        self.latency = {}   # what -> seconds

    def host(self, *args):
        return self.vt.host(self.m.ram, "--timeout", str(TIMEOUT_MS), *args)

    def timed(self, what, *args):
        t0 = time.monotonic()
        r = self.host(*args)
        self.latency[what] = time.monotonic() - t0
        return r

    def fail(self, text):
        raise self.vt.CheckError(text)

    def background(self, name, command):
        """Start command in the guest; wait for its "ready"; its pid and
        output."""
        out = f"/tmp/{name}.out"
        pid = int(self.m.run(f": > {out}; {command} >> {out} 2>&1 & echo $!")[1])
        deadline = time.monotonic() + 60
        while True:
            text = self.m.run(f"cat {out}")[1]
            if "ready" in text.split("\n"):
                return pid, text
            if time.monotonic() > deadline or "hw-stall:" in text:
                self.fail(f"{command}: not ready: {text!r}")
            time.sleep(0.2)

    # -- setup -----------------------------------------------------------

    def start(self):
        self.m.run(f"mkdir -p {FUSE_DIR}")
        self.server = self.background("fuse", f"hw-stall fuse {FUSE_DIR}")[0]
        rc, out = self.m.run(f"ls -l {FUSE_DIR}/file", check=False, timeout=30)
        if rc != 0:
            self.fail(f"the FUSE file is not there: {out!r}")
        for kind, command in (("file", f"hw-stall argfile {FUSE_DIR}/file"),
                              ("uffd", "hw-stall arguffd")):
            text = self.background(f"stall-{kind}", command)[1]
            self.procs[kind] = self.vt.json.loads(text.split("\n")[0])
        return []

    # -- checks ----------------------------------------------------------

    def check_proc_cmdline(self):
        """The guest's own /proc reads only anonymous memory: empty, at once.
        Not the userfaultfd one on a debug kernel: there CONFIG_DEBUG_VM
        dumps a stack ("FAULT_FLAG_ALLOW_RETRY missing", from /proc's own
        remote read in handle_userfault) that the splat checks would blame
        on the module, which never faults a userfaultfd range."""
        diffs = []
        for kind, p in self.procs.items():
            if kind == "uffd" and self.vt.haywire_vm.is_debug(self.m.kernel):
                continue
            rc, out = self.m.run(f"wc -c < /proc/{p['pid']}/cmdline",
                                 check=False, timeout=30)
            if rc != 0 or out.strip() != "0":
                diffs.append(f"{kind}: /proc/{p['pid']}/cmdline: rc {rc}, {out!r}")
        return diffs

    def check_detail(self):
        diffs = []
        for kind, p in self.procs.items():
            r = self.timed(f"detail ({kind})", "--json", "detail", str(p["pid"]))
            if r.rc != 0:
                diffs.append(f"{r.cmd()} exited {r.rc}: {r.err.strip()}")
                continue
            d = r.json()
            if "cmdline_unavailable" not in d["flags"] or d["cmdline"]:
                diffs.append(f"{kind}: detail says flags {d['flags']}, cmdline "
                             f"{d['cmdline']!r}: not 'unavailable'")
            if "unavailable" not in r.err:
                diffs.append(f"{kind}: no warning that the command line is "
                             f"unavailable: {r.err!r}")
            text = self.host("detail", str(p["pid"]))
            if text.rc != 0 or "unavailable" not in text.out:
                diffs.append(f"{text.cmd()}: {text.rc}, {text.out!r}")
        return diffs

    def check_ping(self):
        r = self.timed("ping", "--json", "ping")
        if r.rc != 0:
            return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        return []

    def check_read(self):
        self.m.run(f"echo 1 > {self.vt.rings.ALLOW_READ}")
        diffs = []
        try:
            for kind, words in (("file", "not in memory"), ("uffd", "userfaultfd")):
                p = self.procs[kind]
                r = self.timed(f"read --via-guest ({kind})", "--via-guest", "read",
                               str(p["pid"]), hex(p["addr"]), "64")
                diffs += [f"{kind}: {d}" for d in
                          self.vt.rings.Rings(self.m).expect_error(r, 6, words)]
        finally:
            self.m.run(f"echo 0 > {self.vt.rings.ALLOW_READ}")
        return diffs

    def check_resident_file(self):
        """A file's page that is mapped is read: pid 1's text (busybox, a
        file of the initramfs), the same bytes as the host-side walk reads
        (x86-64), or at least one whole page (arm64)."""
        lo = next(lo for lo, hi, perms in vma_perms(self.m, 1) if "x" in perms)
        self.m.run(f"echo 1 > {self.vt.rings.ALLOW_READ}")
        try:
            path = os.path.join(self.m.guest.workdir, "text.bin")
            r = self.host("--via-guest", "read", "1", hex(lo), "4096", "-o", path)
            if r.rc != 0:
                return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
            with open(path, "rb") as f:
                guest = f.read()
            if self.m.arch != "amd64":
                return [] if len(guest) == 4096 else [f"{len(guest)} bytes"]
            r = self.host("read", "1", hex(lo), "4096", "-o", path)
            with open(path, "rb") as f:
                walked = f.read()
            if r.rc != 0 or walked != guest:
                return [f"read --via-guest of pid 1's text at {lo:#x} differs "
                        f"from the host-side read ({r.rc}: {r.err.strip()})"]
            return []
        finally:
            self.m.run(f"echo 0 > {self.vt.rings.ALLOW_READ}")

    def check_rmmod(self):
        """rmmod while the FUSE server still holds the read: completes."""
        t0 = time.monotonic()
        rc, out = self.m.run("rmmod haywire", check=False, timeout=120)
        self.latency["rmmod"] = time.monotonic() - t0
        if rc != 0:
            return [f"rmmod failed ({rc}): {out.strip()}"]
        return self.m.load("the reloaded module's first snapshot")[0]

    def check_log(self):
        bad = [line for line in self.m.dmesg_lines()
               if any(b in line for b in self.vt.DMESG_BAD + HUNG)]
        return [f"dmesg: {line}" for line in bad]

    def stop(self):
        """Kill what start() started; a guest that no longer answers (the
        checks have failed already) is left to vmtest to stop."""
        pids = [p["pid"] for p in self.procs.values()] + [self.server]
        pids = " ".join(str(p) for p in pids if p)
        try:
            if pids:
                self.m.run(f"kill -9 {pids}", check=False)
            self.m.run(f"umount -l {FUSE_DIR}", check=False)
        except self.vt.haywire_vm.GuestError as e:
            self.m.tap.note(self.m.name(f"stall: cleanup failed: {e}"))

    def run(self):
        m = self.m
        if not m.check("stall: FUSE server, file and userfaultfd argument areas",
                       self.start):
            self.stop()
            return
        try:
            m.check("stall: /proc/PID/cmdline of each is empty at once",
                    self.check_proc_cmdline)
            m.check("stall: detail of each answers, command line unavailable",
                    self.check_detail)
            m.check("stall: ping still answers", self.check_ping)
            m.check("stall: read --via-guest of each argument area refused, "
                    "saying why", self.check_read)
            m.check("stall: read --via-guest of a mapped file page (pid 1's "
                    "text) works", self.check_resident_file)
            m.check("stall: rmmod completes while the FUSE read hangs; insmod",
                    self.check_rmmod)
            m.tap.note(m.name("stall latency: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in self.latency.items())))
        finally:
            self.stop()
        m.check("stall: no warning or hung-task report in dmesg", self.check_log)


# -- page rights -------------------------------------------------------------

def vma_perms(m, pid):
    """(start, end, perms) of every VMA, from the guest's /proc."""
    out = m.run(f"cat /proc/{pid}/maps")[1]
    vmas = []
    for line in out.splitlines():
        rng, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in rng.split("-"))
        vmas.append((lo, hi, perms))
    return vmas


def rights_problems(runs, vmas, how):
    diffs = []
    for run in runs:
        if run["state"] != "present" or "protnone" in run["flags"]:
            continue
        va, end = int(run["va"], 16), int(run["end"], 16)
        for lo, hi, perms in vmas:
            if lo <= va < hi:
                break
        else:
            diffs.append(f"{how}: present run {run} outside every VMA")
            continue
        nx = "nx" in run["flags"]
        if nx == ("x" in perms) or ("write" in run["flags"] and "w" not in perms):
            diffs.append(f"{how}: {va:#x}-{end:#x} flags {run['flags']} in a "
                         f"{perms} VMA")
    return diffs


def check_rights(m, vt, pid):
    """Present pages' NX and write rights against the VMAs' permissions."""
    diffs = []
    if m.arch == "amd64":
        rc, out = m.run("dmesg | grep -i 'page tables isolation'", check=False)
        if "enabled" not in out:
            diffs.append(f"PTI is not on in this guest (pti=on): {out.strip()!r}")
    vmas = vma_perms(m, pid)
    ways = {"host-side": (), "--via-guest": ("--via-guest",)}
    # x86-64's [vsyscall] is above the user half, not in the process's
    # tables; arm64 user space reaches 2^48 (its stack) or 2^52 (LPA2)
    user_top = 1 << 47 if m.arch == "amd64" else 1 << 52
    for how, opts in ways.items():
        for lo, hi, perms in vmas:
            if hi > user_top:
                continue
            r = vt.host(m.ram, *opts, "--json", "translate", str(pid),
                        hex(lo), hex(hi - lo))
            if r.rc != 0:
                diffs.append(f"{r.cmd()} exited {r.rc}: {r.err.strip()}")
                continue
            diffs += rights_problems(r.json()["runs"], vmas, how)
    return diffs


# -- reboot --------------------------------------------------------------------

HW_MAGIC_GONE = 0x2121454E4F475748


def check_reboot(m, vt):
    """A reboot with a host client active: from the reboot on, the index
    magic says "gone" (the next kernel will reuse this memory, and clients
    check the magic before each store into the request page); every ping
    gives an answer or one clear error line, never a signal. Ends the
    guest (QEMU runs with -no-reboot)."""
    off = vt.compare.hexint(vt.host(m.ram, "--json", "info").json()["index_offset"])
    results = []
    stop = threading.Event()

    def pinger():
        while not stop.is_set() and len(results) < 10000:
            results.append(vt.host(m.ram, "--timeout", "2000", "ping"))

    thread = threading.Thread(target=pinger)
    thread.start()
    try:
        time.sleep(1)
        try:
            m.run("reboot -f", timeout=60)
        except vt.haywire_vm.GuestError:
            pass  # QEMU exits at the reset
        m.guest.proc.wait(timeout=120)
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
    with open(m.ram, "rb") as f:
        f.seek(off)
        magic = int.from_bytes(f.read(8), "little")
    diffs = []
    if magic != HW_MAGIC_GONE:
        diffs.append(f"index magic after the reboot is {magic:#x}, not "
                     f"HW_MAGIC_GONE {HW_MAGIC_GONE:#x}")
    for r in results:
        if r.rc < 0 or r.rc not in (0, 3, 4):
            diffs.append(f"{r.cmd()} exited {r.rc}: {r.err.strip()}")
        elif r.rc:
            problem = r.error_line_problem()
            if problem:
                diffs.append(problem)
    if not results or results[0].rc != 0 or results[-1].rc != 3:
        diffs.append("pings did not go from answered to 'unloaded': "
                     + ", ".join(str(r.rc) for r in results[:3] + results[-3:]))
    m.tap.note(m.name(f"reboot: {len(results)} pings, exits "
                      f"{sorted({r.rc for r in results})}"))
    return diffs


def wanted(m):
    return m.label in {"q35-512M", "virt-1G"}


def checks(m):
    """The stall checks and the page-rights check on a machine vmtest set up
    (module loaded)."""
    vt = sys.modules[type(m).__module__]
    m.check("page rights: present pages' NX and write match their VMAs"
            + (" (PTI on)" if m.arch == "amd64" else ""),
            lambda: check_rights(m, vt, 1))
    Stall(m).run()


if __name__ == "__main__":
    print(__doc__, file=sys.stderr)
    sys.exit(os.EX_USAGE)
