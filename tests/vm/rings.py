"""VM tests of the host-to-guest channel (request rings, cameras, process
memory), run by tests/vm/vmtest.py inside the guests it boots.

On the q35 512 MiB guest of each x86-64 kernel (see RING_CONFIGS), with
`hw-workload known` running (known bytes at known addresses, a hole, a
PROT_NONE page, a page never touched and a transparent-huge-page region):

- `read` returns the known bytes exactly, host-side and --via-guest; the
  guest refuses with allow_read=0 (exit 6); the hole, the PROT_NONE page
  and the untouched page exit 7 both ways;
- `translate` host-side == --via-guest == the guest's /proc/PID/pagemap
  (PFN * 4096 == GPA for present pages), also for a range longer than one
  guest answer covers;
- `camera` agrees with the host-side walk, and turns off;
- `detail` agrees with /proc (cmdline, cwd, ids, threads, state, signal
  masks, capabilities, nice, policy and exit signal exactly; CPU times
  and faults within the tolerance check_detail explains);
- `refresh` returns a newer generation that `info` then shows;
- tests/vm/ringtest.c: 8 clients x 1,000 mixed requests at once, every
  answer checked; a client SIGKILLed while it holds a slot, the slot
  reclaimed; malformed requests written straight into the request page,
  each answered with the right error, and the guest's dmesg clean.

On the arm64 virt 1 GiB guest the same (the host walks arm64's TTBR0
tables), except the 288 MiB translation, left to x86-64 to keep TCG time
down.

And one more guest per x86-64 kernel with 5-level paging (TCG's LA57: qemu64 with
+la57) and a 1 GiB page reserved at boot (+pdpe1gb, hugepagesz=1G): its
paging_levels is 5, and the read and translate checks run there, with the
1 GiB page among the regions. Last on that guest, reboots with ring clients
active (three host threads running ping, detail and read --via-guest in a
loop): QEMU killed as a power cut, then `reboot -f` in the guest (its
reboot notifier stops the module's heartbeat; -no-reboot makes QEMU exit);
each time QEMU starts again on the same RAM file, a new boot with the old
index still in memory, and the module is loaded there. Every client call
is a right answer or one error line, never a signal; the beacon's first
extent does not change while no guest runs (no client wrote into it); a
ping works in the new boot and its dmesg is clean.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RINGTEST = os.path.join(TOP, "build", "vm", "ringtest")

RING_CONFIGS = {"q35-512M", "virt-1G"}
LA57_WITH = "q35-512M"  # the 5-level guest boots the kernels this one ran
LA57_CPU = "qemu64,+la57,+pdpe1gb,-cx16"
LA57_MEM = "4G"
LA57_CMDLINE = "hugepagesz=1G hugepages=1"
ALLOW_READ = "/sys/module/haywire/parameters/allow_read"
MASK64 = (1 << 64) - 1
PAGE = 4096
PAGEMAP_PRESENT = 1 << 63
PAGEMAP_SWAPPED = 1 << 62
PFN_MASK = (1 << 55) - 1
CLK_TCK_NS = 10_000_000  # USER_HZ is 100 on x86-64 and arm64


def known_bytes(addr, length):
    """What hw-workload known wrote at [addr, addr + length) (8-aligned):
    the 64-bit word at address a is known_word(a), little-endian."""
    words = (((a * 0x9E3779B97F4A7C15) & MASK64) ^ 0x2165726977796168
             for a in range(addr, addr + length, 8))
    return b"".join(struct.pack("<Q", w) for w in words)


def build_ringtest(sh):
    """The host test program, linked with the library `make host` built;
    sh runs a command in the top directory and raises on failure."""
    os.makedirs(os.path.dirname(RINGTEST), exist_ok=True)
    sh(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Wshadow",
        "-Werror", "-D_GNU_SOURCE", "-Iinclude", "-Ihost", "-o", RINGTEST,
        "tests/vm/ringtest.c", "build/libhaywire.a"])


class Rings:
    """The checks on one machine (a vmtest.Machine with the module loaded)."""

    def __init__(self, m):
        self.m = m
        self.vt = sys.modules[type(m).__module__]  # vmtest, as it runs
        self.lay = None
        self.x86 = m.arch == "amd64"

    def host(self, *args):
        return self.vt.host(self.m.ram, *args)

    def file_offset(self, gpa):
        return self.vt.gpa_to_offset(gpa, self.m.machine, self.m.mem)

    def fail(self, text):
        raise self.vt.CheckError(text)

    def expect_error(self, r, rc, *words):
        """r exited rc with one 'haywire: ' line saying all the words."""
        diffs = []
        if r.rc != rc:
            diffs.append(f"{r.cmd()} exited {r.rc}, expected {rc}: {r.err.strip()}")
        problem = r.error_line_problem()
        if problem:
            diffs.append(problem)
        for w in words:
            if w not in r.err:
                diffs.append(f"{r.cmd()}: the error does not say {w!r}: {r.err.strip()}")
        return diffs

    # -- setup -----------------------------------------------------------

    def start_known(self):
        """hw-workload known, and its layout; huge pages on madvise."""
        self.m.run("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
                   check=False)
        # the file exists before the background job's own redirection runs
        self.m.run(": > /tmp/known.out; hw-workload known >> /tmp/known.out 2>&1 &")
        deadline = time.monotonic() + 60
        while True:
            out = self.m.run("cat /tmp/known.out")[1]
            lines = out.split("\n")
            if "ready" in lines:
                self.lay = json.loads(lines[0])
                self.pid = str(self.lay["pid"])
                return []
            if time.monotonic() > deadline or (out and not out.startswith("{")):
                self.fail(f"hw-workload known is not ready: {out!r}")
            time.sleep(0.2)

    def allow_read(self, on):
        self.m.run(f"echo {1 if on else 0} > {ALLOW_READ}")

    # -- reads -----------------------------------------------------------

    def read_file(self, addr, length, *opts):
        path = os.path.join(self.m.guest.workdir, "read.bin")
        r = self.host(*opts, "read", self.pid, hex(addr), str(length), "-o", path)
        if r.rc != 0:
            self.fail(f"{r.cmd()} exited {r.rc}: {r.err.strip()}")
        with open(path, "rb") as f:
            return f.read()

    def regions(self):
        lay = self.lay
        regions = [("4 KiB pages", lay["pages"], lay["pages_len"]),
                   ("THP region", lay["thp"], lay["thp_len"])]
        if lay["giant_len"]:
            end = lay["giant"] + lay["giant_len"]
            regions += [("start of the 1 GiB page", lay["giant"], lay["giant_piece"]),
                        ("end of the 1 GiB page", end - lay["giant_piece"],
                         lay["giant_piece"])]
        return regions

    def check_read(self, *opts):
        diffs = []
        for name, addr, length in self.regions():
            got = self.read_file(addr, length, *opts)
            want = known_bytes(addr, length)
            if got != want:
                first = next(i for i in range(min(len(got), len(want)) + 1)
                             if i >= len(got) or i >= len(want) or got[i] != want[i])
                diffs.append(f"read {' '.join(opts)} of the {name} "
                             f"{addr:#x}+{length:#x}: {len(got)} bytes, first "
                             f"difference at {addr + first:#x}")
        # a piece from the middle of one page into the next, as a hex dump
        addr = self.lay["pages"] + 4000
        r = self.host(*opts, "--json", "read", self.pid, hex(addr), "200")
        if r.rc != 0 or bytes.fromhex(r.json()["hex"]) != known_bytes(
                addr - 4000, 4200)[4000:]:
            diffs.append(f"{r.cmd()}: not the known bytes ({r.rc}: {r.err.strip()})")
        text = self.host(*opts, "read", self.pid, hex(self.lay["pages"]), "32")
        want = known_bytes(self.lay["pages"], 32)
        lines = text.out.splitlines()
        if text.rc != 0 or len(lines) != 2 or \
                lines[0].split()[1:17] != [f"{b:02x}" for b in want[:16]] or \
                not lines[0].startswith(f"{self.lay['pages']:016x}"):
            diffs.append(f"{text.cmd()}: hex dump {text.out!r}")
        return diffs

    def check_refused(self):
        self.allow_read(False)
        r = self.host("--via-guest", "read", self.pid, hex(self.lay["pages"]), "16")
        return self.expect_error(r, 6, "allow_read")

    def check_not_readable(self):
        """Exit 7, saying so, both ways; except that the guest reads a page
        mapped but never touched as the process would: zeros (faulting in
        the shared zero page, as /proc/PID/mem does)."""
        lay = self.lay
        diffs = []
        for name, addr, host_says, guest_says in (
                ("the hole", lay["hole"], "not mapped", "not"),
                ("the PROT_NONE page", lay["protnone"], "PROT_NONE", "not"),
                ("the untouched page", lay["untouched"], "not mapped", None),
                ("the end of the 4 KiB pages", lay["hole"] - 8,
                 f"address {lay['hole']:#x} is not mapped", f"{lay['hole']:#x}")):
            r = self.host("read", self.pid, hex(addr), "16")
            diffs += [f"{name}: {d}" for d in self.expect_error(r, 7, host_says)]
            if guest_says:
                r = self.host("--via-guest", "read", self.pid, hex(addr), "16")
                diffs += [f"{name}: {d}" for d in self.expect_error(r, 7, guest_says)]
            elif self.read_file(addr, 16, "--via-guest") != bytes(16):
                diffs.append(f"{name}: read --via-guest is not 16 zero bytes")
        return diffs

    # -- translation -----------------------------------------------------

    def translate(self, addr, length, *opts):
        r = self.host(*opts, "--json", "translate", self.pid, hex(addr), hex(length))
        return r.json()["runs"]

    def check_translate(self):
        lay = self.lay
        start = lay["pages"]
        length = lay["thp"] + lay["thp_len"] - start
        guest_runs = self.translate(start, length, "--via-guest")
        diffs = []
        host_runs = self.translate(start, length)
        if host_runs != guest_runs:
            diffs.append(f"host-side and --via-guest runs differ: {len(host_runs)} "
                         f"and {len(guest_runs)} runs")
            for h, g in zip(host_runs, guest_runs):
                if h != g:
                    diffs.append(f"first difference: host {h} guest {g}")
                    break
        rc, out = self.m.run(f"hw-pagemap {self.pid} {start} {length}", check=False)
        if rc != 0:
            return diffs + [f"hw-pagemap failed ({rc}): {out.strip()}"]
        entries = json.loads(out)["entries"]
        diffs += pagemap_problems(host_runs, entries, self.file_offset)
        present = {e[0] for e in entries if e[1] & PAGEMAP_PRESENT}
        for what, addr in (("4 KiB pages", start), ("PROT_NONE page", lay["protnone"]),
                           ("THP region", lay["thp"])):
            if addr not in present:
                diffs.append(f"pagemap: the {what} at {addr:#x} is not present")
        if lay["giant_len"]:
            diffs += self.check_giant()
        if lay["anon_huge_kb"] > 0:
            sizes = {r["page_size"] for r in host_runs
                     if lay["thp"] <= int(r["va"], 16) < lay["thp"] + lay["thp_len"]}
            if 2 << 20 not in sizes:
                diffs.append(f"the guest reports {lay['anon_huge_kb']} kB of huge pages "
                             f"in the THP region, but its runs have page sizes {sizes}")
        else:
            self.m.tap.note(f"{self.m.name('')}the kernel gave the THP region no "
                            "huge pages: 2 MiB leaves not exercised here")
        return diffs

    def check_giant(self):
        """The 1 GiB page: one run, the same both ways, and where pagemap
        puts its first, middle and last pages."""
        start, length = self.lay["giant"], self.lay["giant_len"]
        host_runs = self.translate(start, length)
        guest_runs = self.translate(start, length, "--via-guest")
        diffs = []
        if host_runs != guest_runs:
            diffs.append(f"1 GiB page: host-side runs {host_runs}, --via-guest {guest_runs}")
        if len(host_runs) != 1 or host_runs[0]["page_size"] != 1 << 30 or \
                int(host_runs[0]["gpa"], 16) % (1 << 30):
            return diffs + [f"1 GiB page: runs {host_runs}"]
        for va in (start, start + length // 2, start + length - PAGE):
            out = self.m.run(f"hw-pagemap {self.pid} {va} {PAGE}")[1]
            entries = json.loads(out)["entries"]
            diffs += pagemap_problems(host_runs, entries, self.file_offset)
        return diffs

    def check_long_translate(self):
        """288 MiB of 4 KiB pages: more page-table entries than one guest
        answer examines (65,536), so the guest's answer comes in parts, cut
        wherever its budget ends; the runs must still equal the host's."""
        self.m.run(": > /tmp/long.out; hw-workload populate 288 >> /tmp/long.out 2>&1 & "
                   "echo $! > /tmp/long.pid")
        deadline = time.monotonic() + 120
        while "ready" not in self.m.run("cat /tmp/long.out")[1].split("\n"):
            if time.monotonic() > deadline:
                self.fail("hw-workload populate 288 is not ready")
            time.sleep(0.5)
        lay = json.loads(self.m.run("cat /tmp/long.out")[1].split("\n")[0])
        pid = self.m.run("cat /tmp/long.pid")[1].strip()
        try:
            args = ["--json", "translate", pid, hex(lay["addr"]), hex(lay["len"])]
            host_runs = self.host(*args).json()["runs"]
            guest_runs = self.host("--via-guest", *args).json()["runs"]
        finally:
            self.m.run(f"kill {pid}", check=False)
        if host_runs != guest_runs:
            return [f"{len(host_runs)} host-side runs, {len(guest_runs)} --via-guest"]
        if sum(r["len"] for r in host_runs if r["state"] == "present") != lay["len"]:
            return [f"not all of the {lay['len']} bytes are present: {host_runs[:3]}"]
        return []

    # -- cameras ---------------------------------------------------------

    def camera_vs_walk(self):
        cam = self.host("--json", "camera", self.pid).json()
        diffs = []
        if cam.get("pid") != int(self.pid) or not cam.get("vmas"):
            return [f"camera {self.pid}: {cam}"]
        for v in cam["vmas"]:
            start, end = int(v["start"], 16), int(v["end"], 16)
            walk = self.translate(start, end - start)
            if walk != v["runs"]:
                diffs.append(f"VMA {start:#x}-{end:#x}: camera runs {v['runs'][:3]}... "
                             f"host-side walk {walk[:3]}...")
            present = sum(r["len"] // PAGE for r in walk if r["state"] == "present")
            if present != v["present_pages"]:
                diffs.append(f"VMA {start:#x}-{end:#x}: camera counts {v['present_pages']} "
                             f"present pages, the walk {present}")
        return diffs

    def check_camera(self):
        diffs = []
        for attempt in range(3):  # the process's tables may change between
            diffs = self.camera_vs_walk()
            if not diffs:
                break
            time.sleep(0.5)
        listing = self.host("--json", "camera").json()
        watching = [c for c in listing["cameras"] if c["pid"] == int(self.pid)]
        if len(watching) != 1 or not watching[0]["active"]:
            diffs.append(f"camera list: {listing}")
        off = self.host("camera", "--off", self.pid)
        if off.rc != 0:
            diffs.append(f"{off.cmd()} exited {off.rc}: {off.err.strip()}")
        listing = self.host("--json", "camera").json()
        if any(c["pid"] == int(self.pid) for c in listing["cameras"]):
            diffs.append(f"after camera --off: {listing}")
        diffs += self.expect_error(self.host("camera", "999999"), 5, "999999")
        return diffs

    # -- detail ----------------------------------------------------------

    def check_detail(self):
        return self.detail_vs_proc(self.pid, idle=True) + \
            self.detail_vs_proc("1", idle=False) + \
            self.expect_error(self.host("detail", "999999"), 5, "999999")

    def detail_vs_proc(self, pid, idle):
        """The detail against /proc. For the idle workload, which sleeps in
        pause() throughout, faults and context switches must be exact, and
        so must everything else but CPU times: /proc/PID/stat counts clock
        ticks (10 ms, truncated) and scales the whole group's time by its
        user/system split, while the module scales each thread by its own
        split (thread_group_cputime_adjusted() is not exported), so each
        part may differ by rounding: the sum must agree within two ticks,
        each part within two ticks plus 10%. pid 1 is the guest's shell,
        busy running our commands between the two looks: its state letter
        (R or S by the instant), counters and times are left out."""
        d = self.host("--json", "detail", pid).json()
        status = dict(line.split(":", 1) for line in
                      self.m.run(f"cat /proc/{pid}/status")[1].splitlines() if ":" in line)
        status = {k: v.strip() for k, v in status.items()}
        stat = self.m.run(f"cat /proc/{pid}/stat")[1]
        fields = stat[stat.rindex(")") + 2:].split()  # from field 3 on
        cmdline = self.m.run(f"tr '\\0' '\\n' < /proc/{pid}/cmdline")[1].split("\n")[:-1]
        cwd = self.m.run(f"readlink /proc/{pid}/cwd")[1].strip()

        def hexfield(name):
            return int(status[name], 16)

        want = {
            "pid": int(pid),
            "cmdline": cmdline,
            "cwd": cwd,
            "threads": int(status["Threads"]),
            "uid": [int(x) for x in status["Uid"].split()],
            "gid": [int(x) for x in status["Gid"].split()],
            "cap_effective": hexfield("CapEff"),
            "cap_permitted": hexfield("CapPrm"),
            "sig_pending": hexfield("SigPnd"),
            "sig_shared_pending": hexfield("ShdPnd"),
            "sig_blocked": hexfield("SigBlk"),
            "sig_ignored": hexfield("SigIgn"),
            "sig_caught": hexfield("SigCgt"),
            "nice": int(fields[16]),
            "exit_signal": int(fields[35]),
            "policy": int(fields[38]),
        }
        if idle:
            want.update({
                "state": status["State"][0],
                "min_flt": int(fields[7]),
                "maj_flt": int(fields[9]),
                "nvcsw": int(status["voluntary_ctxt_switches"]),
                "nivcsw": int(status["nonvoluntary_ctxt_switches"]),
            })
        diffs = []
        for key, value in want.items():
            got = d.get(key)
            if isinstance(got, str) and got.startswith("0x"):
                got = int(got, 16)
            if got != value:
                diffs.append(f"detail {pid}: {key} is {d.get(key)!r}, /proc says {value!r}")
        if not idle:
            return diffs
        ticks = {"utime_ns": int(fields[11]) * CLK_TCK_NS,
                 "stime_ns": int(fields[12]) * CLK_TCK_NS}
        for key, value in ticks.items():
            if abs(d[key] - value) > 2 * CLK_TCK_NS + value // 10:
                diffs.append(f"detail {pid}: {key} {d[key]}, /proc says {value}")
        if abs(d["utime_ns"] + d["stime_ns"] - sum(ticks.values())) > 2 * CLK_TCK_NS:
            diffs.append(f"detail {pid}: CPU time {d['utime_ns'] + d['stime_ns']} ns, "
                         f"/proc says {sum(ticks.values())}")
        return diffs

    # -- refresh, ping ---------------------------------------------------

    def check_refresh(self):
        before = self.m.info()["generation"]
        r = self.host("--json", "refresh")
        gen = r.json()["generation"]
        after = self.m.info()["generation"]
        diffs = []
        if not before < gen <= after:
            diffs.append(f"refresh returned generation {gen}; info said {before} "
                         f"before and {after} after")
        ping = self.host("--json", "ping").json()
        if ping["generation"] < gen or ping["guest_mono_ns"] <= 0:
            diffs.append(f"ping after refresh {gen}: {ping}")
        return diffs

    # -- ringtest --------------------------------------------------------

    def ringtest(self, mode, *extra):
        lay = self.lay
        argv = [RINGTEST, mode, "--mem", self.m.ram, "--pid", self.pid,
                "--addr", str(lay["thp"]), "--len", str(lay["thp_len"]), *extra]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return [f"ringtest {mode} did not finish in 600 s"]
        for line in r.stdout.splitlines():
            if line.startswith("# "):
                self.m.tap.note(f"{self.m.name('')}{line[2:]}")
        bad = [line for line in r.stdout.splitlines() if line.startswith("not ok")]
        if r.returncode != 0 and not bad:
            bad = [f"ringtest {mode} exited {r.returncode}: {r.stdout[-1000:]}{r.stderr}"]
        return bad

    def check_garbage(self):
        before = len(self.m.dmesg_lines())
        diffs = self.ringtest("garbage")
        ping = self.host("ping")
        if ping.rc != 0:
            diffs.append(f"ping after the garbage exited {ping.rc}: {ping.err.strip()}")
        new = self.m.dmesg_lines()[before:]
        diffs += [f"dmesg: {line}" for line in new
                  if any(b in line for b in self.vt.DMESG_BAD)]
        return diffs

    # -- reboots ----------------------------------------------------------

    def clients(self, stop, results):
        """Ring clients through the haywire command, until stop is set:
        ping, detail and read --via-guest in turn; every result kept."""
        addr, length = self.lay["pages"], 4096
        cmds = [["ping"], ["detail", self.pid],
                ["--json", "read", "--via-guest", self.pid, hex(addr), str(length)]]
        i = 0
        while not stop.is_set():
            argv = [self.vt.HAYWIRE, "--mem", self.m.ram, "--no-hint",
                    "--timeout", "2000", *cmds[i % len(cmds)]]
            i += 1
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                results.append((argv, None, "did not finish in 60 s", ""))
                continue
            results.append((argv, p.returncode, p.stderr, p.stdout))

    def result_problems(self, results):
        """Right answers or one clear error line; never a signal."""
        diffs = []
        want = known_bytes(self.lay["pages"], 4096).hex()
        for argv, rc, err, out in results:
            cmd = "haywire " + " ".join(argv[1:])
            if rc is None or rc < 0:
                diffs.append(f"{cmd}: {err or f'killed by signal {-rc}'}")
            elif rc != 0:
                lines = err.splitlines()
                if len(lines) != 1 or not lines[0].startswith("haywire: "):
                    diffs.append(f"{cmd} exited {rc}, stderr not one line: {err!r}")
            elif "read" in argv and json.loads(out)["hex"] != want:
                diffs.append(f"{cmd}: exit 0 with bytes that are not the known ones")
        return diffs[:10]

    def beacon_bytes(self, index_offset):
        """The beacon's first extent in the RAM file (index, request page,
        responses): nothing may write it while no guest runs."""
        with open(self.m.ram, "rb") as f:
            f.seek(index_offset)
            return hashlib.sha256(f.read(2 << 20)).hexdigest()

    def boot_again(self):
        """QEMU again on the same RAM file. A TCG guest on a loaded host
        sometimes fails the kernel's IO-APIC timer check at boot (a panic
        before anything of ours runs): no_timer_check, and one more try."""
        g = self.m.guest
        if "no_timer_check" not in g.cmdline:
            g.cmdline = (g.cmdline + " no_timer_check").strip()
        try:
            g.start()
        except self.vt.haywire_vm.GuestError as e:
            self.m.tap.note(f"{self.m.name('')}boot again failed, retrying: "
                            f"{str(e).splitlines()[0]}")
            g._kill()
            g.start()

    def reboot_once(self, how):
        """Ring clients active while the guest goes down (how: 'reset', QEMU
        killed as a power cut; 'reboot', reboot -f in the guest, which QEMU
        turns into an exit under -no-reboot) and boots again on the same
        RAM file; then the module is loaded in the new boot."""
        m = self.m
        index_offset = int(self.host("--json", "info").json()["index_offset"], 16)
        stop, results = threading.Event(), []
        threads = [threading.Thread(target=self.clients, args=(stop, results))
                   for _ in range(3)]
        for t in threads:
            t.start()
        diffs = []
        try:
            time.sleep(2)
            answered = sum(1 for r in results if r[1] == 0)
            if not answered:
                diffs.append(f"{how}: no client got an answer before it")
            if how == "reset":
                m.guest._kill()
            else:
                m.guest.sock.sendall(b"reboot -f\n")
                m.guest.proc.wait(timeout=60)
            before = self.beacon_bytes(index_offset)
            time.sleep(3)	# clients keep trying: no guest, no module
            if self.beacon_bytes(index_offset) != before:
                diffs.append(f"{how}: the beacon's extent changed while no guest "
                             "ran: a host client wrote into it")
            m.guest._kill()
            self.boot_again()		# a fresh boot on the same RAM file
            time.sleep(3)		# clients meet the new kernel, no module
            diffs += [f"{how}: {d}" for d in m.load("the new boot's snapshot")[0]]
            time.sleep(2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        diffs += self.result_problems(results)
        codes = {}
        for r in results:
            codes[r[1]] = codes.get(r[1], 0) + 1
        m.tap.note(f"{m.name('')}{how}: {len(results)} client calls, exit codes "
                   f"{dict(sorted(codes.items(), key=str))}")
        errors = sorted({re.sub(r"\b(0x[0-9a-f]+|[0-9a-f]{16}|\d+)\b", "N", r[2].strip())[:110]
                         for r in results if r[1]})
        for e in errors[:8]:
            m.tap.note(f"{m.name('')}{how}:   {e}")
        ping = self.host("--no-hint", "ping")
        if ping.rc != 0:
            diffs.append(f"{how}: ping in the new boot exited {ping.rc}: "
                         f"{ping.err.strip()}")
        return diffs

    def check_reboots(self):
        diffs = self.reboot_once("reset")
        if not diffs:
            if self.start_known():
                return ["hw-workload known did not start again"]
            self.allow_read(True)
            diffs = self.reboot_once("reboot")
        return diffs

    # -- all -------------------------------------------------------------

    def run(self):
        m = self.m
        if not m.check("rings: hw-workload known starts", self.start_known):
            return
        m.check("rings: read returns the known bytes (host-side)", self.check_read)
        m.check("rings: read --via-guest with allow_read=0 exits 6", self.check_refused)
        self.allow_read(True)
        m.check("rings: read --via-guest returns the known bytes",
                lambda: self.check_read("--via-guest"))
        m.check("rings: hole, PROT_NONE and untouched pages: read exits 7 both ways",
                self.check_not_readable)
        m.check("rings: translate host-side == --via-guest == /proc/PID/pagemap",
                self.check_translate)
        if self.x86:
            m.check("rings: translate of 288 MiB in 4 KiB pages: host-side == "
                    "--via-guest (an answer in parts)", self.check_long_translate)
        m.check("rings: camera agrees with the host-side walk; camera --off",
                self.check_camera)
        m.check("rings: detail agrees with /proc", self.check_detail)
        m.check("rings: refresh returns a newer generation that info shows",
                self.check_refresh)
        m.check("rings: 8 clients x 1,000 mixed requests at once, all correct",
                lambda: self.ringtest("stress", "--clients", "8", "--requests", "1000"))
        m.check("rings: a client SIGKILLed holding a slot; the slot is reclaimed",
                lambda: self.ringtest("kill"))
        m.check("rings: malformed requests rejected, ping works, dmesg clean",
                self.check_garbage)
        self.allow_read(False)


def pagemap_problems(runs, entries, file_offset):
    """Every page of the translation against the guest's pagemap entry, and
    the file offset of every page in RAM."""
    diffs = []
    i = 0
    for va, entry in entries:
        while i < len(runs) and int(runs[i]["end"], 16) <= va:
            i += 1
        if i == len(runs) or int(runs[i]["va"], 16) > va:
            diffs.append(f"{va:#x}: no run covers it")
            continue
        run = runs[i]
        if entry & PAGEMAP_PRESENT:
            gpa = (entry & PFN_MASK) * PAGE
            want = int(run["gpa"], 16) + va - int(run["va"], 16) if run["gpa"] else None
            if run["state"] != "present" or want != gpa:
                diffs.append(f"{va:#x}: pagemap says present at {gpa:#x}, "
                             f"translate {run}")
            elif run["file_offset"] != hex(file_offset(int(run["gpa"], 16))):
                diffs.append(f"{va:#x}: file offset {run['file_offset']} for GPA {run['gpa']}")
        elif entry & PAGEMAP_SWAPPED:
            if run["state"] != "swapped":
                diffs.append(f"{va:#x}: pagemap says swapped, translate {run}")
        elif run["state"] != "unmapped":
            diffs.append(f"{va:#x}: pagemap says not present, translate {run}")
        if len(diffs) > 20:
            break
    return diffs


def wanted(m):
    return m.label in RING_CONFIGS


def checks(m):
    """The ring checks on a machine vmtest set up (module loaded)."""
    Rings(m).run()


def la57(m):
    """A guest with 5-level paging: the read and translate checks there."""
    m.guest.cmdline = LA57_CMDLINE
    if not m.boot():
        return
    try:
        def setup():
            diffs, info = m.load()
            if diffs:
                return diffs
            if info["paging_levels"] != 5:
                return [f"paging_levels {info['paging_levels']}: the guest did not "
                        "use 5-level paging (was it booted with la57?)"]
            return []

        if not m.check("5-level paging: insmod, info says paging_levels 5", setup):
            return
        r = Rings(m)
        if not m.check("rings: hw-workload known starts", r.start_known):
            return
        m.check("rings: the guest mapped its 1 GiB page",
                lambda: [] if r.lay["giant_len"] else
                ["mmap of a 1 GiB hugetlb page failed (hugepagesz=1G hugepages=1)"])
        r.allow_read(True)
        m.check("rings: read returns the known bytes, both ways",
                lambda: r.check_read() + r.check_read("--via-guest"))
        m.check("rings: hole, PROT_NONE and untouched pages: read exits 7 both ways",
                r.check_not_readable)
        m.check("rings: translate host-side == --via-guest == /proc/PID/pagemap",
                r.check_translate)
        m.check("rings: guest reset and guest reboot with ring clients active: "
                "right answers or one error line, no write while no guest runs",
                r.check_reboots)
    finally:
        try:
            m.check_end()
        finally:
            m.guest.stop()
