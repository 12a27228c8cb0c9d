#!/usr/bin/python3
"""VM tests: boot the real Debian kernels, load the module, and check what
the host command reads from guest RAM against the guest's own /proc.

Kernels: the x86-64 kernels in $HAYWIRE_KERNELS (default "6.1 6.12 5.10
7.3") and the arm64 kernels in $HAYWIRE_ARM64_KERNELS (default "6.1-arm64
6.12-arm64 7.3-arm64"); a spec's architecture is its suffix
(tools/fetch-kernels.sh), so either list may hold either kind. Each kernel
in $HAYWIRE_WIDE_KERNELS (default the 6.1 and 6.12 ones) boots once per
machine configuration of its architecture (CONFIGS; $HAYWIRE_VM_CONFIGS
selects a subset by label); the others boot only in the smallest one
(q35-512M, virt-1G), which runs the whole scenario. Each
guest runs every hw-workload, then the checks below, each printed as one
nested TAP line. The smallest guest of each architecture also runs the
module lifecycle checks, the in-guest kselftests (tests/kselftest/*.c:
parameters, debugfs stats against the index, unload/load with readers in
the guest and `haywire ps` on the host) and the request-ring checks of
tests/vm/rings.py (which adds a 5-level paging guest per x86-64 kernel). The 6.1 kernel also
boots once with a pc-dimm (tests/vm/dimm.py, configuration "q35-512M-dimm").
Exits 0 only if everything passed.

Only arm64:       HAYWIRE_KERNELS= tests/vm/run.sh
                  (or HAYWIRE_VM_CONFIGS="virt-1G virt-4G")
Only x86-64:      HAYWIRE_ARM64_KERNELS= tests/vm/run.sh
Only the refresh stress guest (tests/vm/stress.py):
                  HAYWIRE_ARM64_KERNELS= HAYWIRE_VM_CONFIGS=q35-2G-stress
A given module:   HAYWIRE_VM_MODULE=PATH.ko (its vermagic must be the
                  kernel's; one kernel) instead of building one, and
                  HAYWIRE_VM_CHECKS=compare: only load it, compare ps and
                  maps with /proc and check dmesg (tests/deb.sh, for the
                  module haywire-dkms builds)
Only the Prometheus test (tests/vm/prom.py, two guests):
                  HAYWIRE_KERNELS=6.1 HAYWIRE_ARM64_KERNELS=
                  HAYWIRE_VM_CONFIGS=q35-512M-monitor
Only the kselftests: HAYWIRE_VM_ONLY=kselftest (with HAYWIRE_VM_CMDLINE=
                  debugfs=off: without debugfs, stats.c says SKIP)
Only the libvirt test (tests/vm/libvirt.py, a private libvirtd):
                  HAYWIRE_KERNELS=6.1 HAYWIRE_ARM64_KERNELS=
                  HAYWIRE_VM_CONFIGS=q35-512M-libvirt
The eBPF companion (tests/vm/ebpf.py, haywire-bpf instead of the module):
                  HAYWIRE_VM_COMPANION=ebpf (only it), module (not it),
                  both (default: on 6.1 and 6.12, q35-512M, after the
                  module's guests)
Debug kernel:     make check-debug (HAYWIRE_KERNELS=debug-6.1: lockdep,
                  KASAN, ... see tools/build-debug-kernel.sh); its guests
                  also fail on any kernel splat in their console log, which
                  is kept in build/vm/console-debug-6.1-LABEL.log
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tools"))
sys.path.insert(0, HERE)
import haywire_vm  # noqa: E402
import compare  # noqa: E402
import ebpf  # noqa: E402
import dimm  # noqa: E402
import libvirt  # noqa: E402
import monitor  # noqa: E402
import prom  # noqa: E402
import rings  # noqa: E402
import stress  # noqa: E402
import stall  # noqa: E402

HAYWIRE = os.path.join(TOP, "build", "haywire")
GiB = 1 << 30

CONFIGS = [  # label, architecture, QEMU machine, RAM
    ("q35-512M", "amd64", "q35", "512M"),
    ("q35-4G", "amd64", "q35", "4G"),
    ("pc-4G", "amd64", "pc", "4G"),
    ("virt-1G", "arm64", "virt", "1G"),
    ("virt-4G", "arm64", "virt", "4G"),
    # the GPA map with RAM above 4 GiB (virt's RAM is one range from 1 GiB,
    # which crosses 4 GiB from 3 GiB of RAM on), and with highmem=off
    # (QEMU then caps RAM at 3 GiB, ending at 4 GiB): the map checks and
    # host-side reads and translation only (VIRT_MAP_CONFIGS)
    ("virt-6G", "arm64", "virt", "6G"),
    ("virt-3G-nohigh", "arm64", "virt,highmem=off", "3G"),
]
VIRT_MAP_CONFIGS = {"virt-6G", "virt-3G-nohigh"}
# Extra kernel command line per configuration: the 512 MiB x86-64 guest runs
# with page-table isolation forced on (TCG's qemu64 is not vulnerable to
# Meltdown, so it is off by default): its ring and page-rights checks then
# cover the user copy of the page tables; the 4 GiB guests cover PTI off.
CONFIG_CMDLINE = {"q35-512M": "pti=on"}
# HAYWIRE_VM_CMDLINE: more kernel parameters for every guest (e.g.
# debugfs=off: the kselftests that need debugfs say SKIP, the rest pass)
EXTRA_CMDLINE = os.environ.get("HAYWIRE_VM_CMDLINE", "")
# The kernel matrix (README, "Kernels"): the kernels in $HAYWIRE_WIDE_KERNELS
# (default: 6.1 and 6.12, both architectures) run every configuration; the
# others (5.10, 7.3) run the whole scenario on the first configuration of
# their architecture only, which keeps make check's time in bounds.
WIDE_KERNELS = os.environ.get(
    "HAYWIRE_WIDE_KERNELS", "6.1 6.12 6.1-arm64 6.12-arm64 debug-6.1").split()
NARROW_CONFIGS = {"q35-512M", "virt-1G"}
# the configurations that also run the module lifecycle checks
LIFECYCLE_CONFIGS = {"q35-512M", "virt-1G"}
# HAYWIRE_VM_CHECKS=compare: load the module, compare, check dmesg; no more.
ONLY_COMPARE = os.environ.get("HAYWIRE_VM_CHECKS") == "compare"
# arm64 virt: all guest RAM is one range starting at 1 GiB
VIRT_RAM_BASE = 0x40000000

WORKLOADS = ["maps", "threads 4", "tree 3", "ids", "stopped", "zombie",
             "longname", "manyvmas 500", "deletedexe", "spawn 20"]
# On the 4 GiB guests, one process with enough VMAs (64 bytes each) that a
# snapshot no longer fits the first extent: the beacon has to grow.
BIG_WORKLOAD = "manyvmas 40000"

DMESG_BAD = ["WARNING:", "BUG:", "Oops", "Call Trace",
             "sleeping function called from invalid context", "refcount_t"]

# What the debug kernel's checkers print (lockdep, PROVE_RCU,
# DEBUG_ATOMIC_SLEEP, KASAN, DEBUG_OBJECTS, WARN, BUG): a debug guest's
# console log must have none of these, from boot to shutdown.
SPLATS = ["WARNING:", "BUG:", "Oops", "lockdep", "possible recursive locking",
          "possible circular locking", "inconsistent lock state",
          "suspicious RCU usage", "sleeping function called from invalid context",
          "KASAN", "ODEBUG", "Call Trace", "refcount_t"]
SPLAT_LINES = 30  # console lines shown from each splat on

COMPARE_CHECKS = ("ps matches /proc", "maps --json match /proc/PID/maps",
                  "text maps match /proc/PID/maps byte for byte")

INTERVAL_MS = 100
# HAYWIRE_VM_ONLY=monitor: after setup, only tests/vm/monitor.py's checks;
# HAYWIRE_VM_ONLY=kselftest: only the in-guest kselftests
ONLY = os.environ.get("HAYWIRE_VM_ONLY", "")
ATTEMPTS = 3
MAX_DIFF_LINES = 40


class Tap:
    """Nested TAP lines: "ok N 6.1 q35-4G ps matches /proc"."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, name, diffs):
        self.n += 1
        if not diffs:
            print(f"ok {self.n} {name}", flush=True)
            return True
        self.failed += 1
        print(f"not ok {self.n} {name}")
        for line in diffs[:MAX_DIFF_LINES]:
            for part in str(line).splitlines():
                print(f"#   {part}")
        if len(diffs) > MAX_DIFF_LINES:
            print(f"#   ... and {len(diffs) - MAX_DIFF_LINES} more differences")
        sys.stdout.flush()
        return False

    def note(self, text):
        print(f"# {text}", flush=True)


class HostResult:
    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "surrogateescape")
        self.err = proc.stderr.decode("utf-8", "surrogateescape")

    def cmd(self):
        return "haywire " + " ".join(self.argv)

    def json(self):
        if self.rc != 0:
            raise CheckError(f"{self.cmd()} exited {self.rc}: {self.err.strip()}")
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise CheckError(f"{self.cmd()}: output is not JSON ({e}): "
                             f"{self.out[:200]!r}")

    def error_line_problem(self):
        """Errors are exactly one line on stderr starting "haywire: "."""
        lines = self.err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("haywire: "):
            return f"{self.cmd()}: stderr is not one 'haywire: ' line: {self.err!r}"
        return None


class CheckError(Exception):
    pass


# A bound that detects a hang, not a timing assertion: one command of a VM
# test (a small guest) takes seconds even under TCG on a loaded machine.
# Calls whose work is large pass their own bound, derived from that work
# (tests/vm/agentbench.py); HAYWIRE_HOST_TIMEOUT overrides the default.
HOST_TIMEOUT = float(os.environ.get("HAYWIRE_HOST_TIMEOUT", "300"))


def host(ram, *args, timeout=None):
    argv = ["--mem", ram, *args]
    bound = timeout or HOST_TIMEOUT
    try:
        proc = subprocess.run([HAYWIRE, *argv], capture_output=True,
                              timeout=bound)
    except subprocess.TimeoutExpired:
        raise CheckError(f"haywire {' '.join(argv)} did not finish in "
                         f"{bound:.0f} s")
    return HostResult(list(args), proc)


def wait_info(ram, cond, what, timeout=60):
    """Poll `haywire info --json` until cond(info) holds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        r = host(ram, "--json", "info")
        if r.rc == 0:
            last = r.json()
            if cond(last):
                return last
        else:
            last = f"exit {r.rc}: {r.err.strip()}"
        if time.monotonic() > deadline:
            raise CheckError(f"timed out waiting for {what}; last info: {last}")
        time.sleep(0.1)


def machine_type(machine):
    """"virt,highmem=off" -> "virt"."""
    return machine.split(",")[0]


def gpa_to_offset(gpa, machine, mem):
    """Where QEMU puts a guest-physical address in the RAM file (None: not
    RAM). Independent of the host command's own derivation, on purpose."""
    machine = machine_type(machine)
    if machine == "virt":
        if VIRT_RAM_BASE <= gpa < VIRT_RAM_BASE + mem:
            return gpa - VIRT_RAM_BASE
        return None
    low = mem
    if machine == "q35" and mem >= 0xb0000000:
        low = 2 * GiB
    elif machine == "pc" and mem >= 0xe0000000:
        low = 3 * GiB
    if gpa < low:
        return gpa
    if 4 * GiB <= gpa < 4 * GiB + mem - low:
        return gpa - 4 * GiB + low
    return None


# -- building ------------------------------------------------------------

def sh(argv):
    r = subprocess.run(argv, cwd=TOP, capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckError(f"{' '.join(argv)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout.strip()


def build(kernels, with_bpf=False):
    """The host command, guest programs (per architecture), and per kernel
    module + initramfs: {kernel: (vmlinuz, initrd, release)}. with_bpf: the
    x86-64 initramfs also holds haywire-bpf (tests/vm/ebpf.py)."""
    sh(["make", "-s", "host"])
    rings.build_ringtest(sh)
    programs = {}
    for arch in sorted({haywire_vm.spec_arch(k) for k in kernels}):
        programs[arch] = sh([os.path.join(HERE, "build-guest.sh"),
                             "-a", arch]).split()
    if with_bpf and "amd64" in programs:
        sh(["make", "-s", "bpf"])
        programs["amd64"].append(os.path.join(TOP, ebpf.BINARY))
    images = {}
    for k in kernels:
        kc = haywire_vm.kernel_dir(k)
        release = open(os.path.join(kc, "release")).read().strip()
        ko = os.environ.get("HAYWIRE_VM_MODULE")
        if ko:
            magic = sh(["modinfo", "-F", "vermagic", ko])
            if not magic.startswith(release + " "):
                raise CheckError(f"HAYWIRE_VM_MODULE {ko} is for '{magic}', "
                                 f"not {release}")
        else:
            # our own build directory: other builds may run at the same time
            ko = sh([os.path.join(TOP, "tools", "build-module.sh"),
                     os.path.join(kc, "kdir"),
                     os.path.join(TOP, "build", "vm", "module", release)]
                    ).splitlines()[-1]
            ko = signed_module(release) or ko
        initrd = os.path.join(TOP, "build", "vm", f"initrd-{release}.cpio.gz")
        sh([os.path.join(TOP, "tools", "mkinitramfs.sh"), initrd, kc, ko,
            *programs[haywire_vm.spec_arch(k)]])
        images[k] = (os.path.join(kc, "vmlinuz"), initrd, release)
    return images


def has_la57(kernel):
    """Whether the kernel can run 5-level paging: 6.x has CONFIG_X86_5LEVEL
    (newer ones always do, without the option); bullseye's 5.10 left it out."""
    config = os.path.join(haywire_vm.kernel_dir(kernel), "kdir", ".config")
    with open(config) as f:
        return "# CONFIG_X86_5LEVEL is not set\n" not in f.read()


def signed_module(release):
    """The DKMS-signed module tests/dkms.sh left in $HAYWIRE_SIGNED_KO, when
    it is for this kernel: the guest then runs its whole suite on it. Debian's
    cloud kernel does not enforce signatures (the test key is not enrolled),
    so this proves the signed file loads and works, not that it is trusted."""
    path = os.environ.get("HAYWIRE_SIGNED_KO")
    if not path or not os.path.exists(path):
        return None
    r = subprocess.run(["modinfo", "-F", "vermagic", path],
                       capture_output=True, text=True)
    if not r.stdout.startswith(release + " "):
        return None
    signer = subprocess.run(["modinfo", "-F", "signer", path],
                            capture_output=True, text=True).stdout.strip()
    print(f"# {release}: loading the DKMS-signed module (signer '{signer}')")
    return path


# -- one guest -------------------------------------------------------------

class Machine:
    def __init__(self, tap, kernel, label, machine, mem, images, cpu=None,
                 qmp=False, dimm=None, cmdline=""):
        self.tap = tap
        self.kernel = kernel
        self.label = label
        self.arch = haywire_vm.spec_arch(kernel)
        self.machine = machine
        self.mem = haywire_vm.guest_mem(kernel, haywire_vm.parse_size(mem))
        vmlinuz, initrd, self.release = images
        self.guest = haywire_vm.Guest(vmlinuz, initrd, mem=self.mem, machine=machine,
                                      arch=self.arch, cpu=cpu,
                                      qmp=qmp or self.arch == "arm64",
                                      dimm=dimm, cmdline=" ".join(filter(None, [
                                          CONFIG_CMDLINE.get(label, ""), cmdline, EXTRA_CMDLINE])),
                                      **haywire_vm.guest_options(kernel))
        self.ram = self.guest.ram_path
        self.big = self.mem >= 4 * GiB
        self.workloads = WORKLOADS + ([BIG_WORKLOAD] if self.big else [])
        if label in VIRT_MAP_CONFIGS:
            self.workloads = ["maps"]  # the map checks need no more

    def name(self, what):
        return f"{self.kernel} {self.label} {what}"

    def run(self, command, **kw):
        return self.guest.run(command, **kw)

    def check(self, what, fn):
        """Run one check; exceptions are failures with their message."""
        try:
            diffs = fn()
        except (CheckError, haywire_vm.GuestError) as e:
            diffs = [str(e)]
        except Exception:
            diffs = ["test error:"] + traceback.format_exc().splitlines()
        return self.tap.result(self.name(what), diffs)

    # guest side

    def dmesg_lines(self):
        return self.run("dmesg")[1].splitlines()

    def insmod(self, args=""):
        return self.run(f"insmod /lib/modules/haywire.ko {args}".strip(),
                        check=False)

    def boot(self):
        """Start the guest: False, reported and stopped, if it did not boot."""
        try:
            self.guest.start()
            return True
        except haywire_vm.GuestError as e:
            self.tap.result(self.name("boots"), [str(e)])
            self.guest.stop()
            return False

    def load(self, what="the first snapshot"):
        """insmod at the test interval and wait for the first snapshot:
        (problems, that snapshot's info)."""
        rc, out = self.insmod(f"interval_ms={INTERVAL_MS}")
        if rc != 0:
            return [f"insmod failed ({rc}): {out.strip()}"], None
        return [], self.wait_info(lambda i: i["generation"] >= 1, what)

    def start_workloads(self):
        for i, w in enumerate(self.workloads):
            # created here: the background job's own redirection may not
            # have run yet when its output is first looked at
            self.run(f": > /tmp/w{i}.out; hw-workload {w} >> /tmp/w{i}.out 2>&1 &")
        deadline = time.monotonic() + 120
        while True:
            outs = {w: self.run(f"cat /tmp/w{i}.out")[1]
                    for i, w in enumerate(self.workloads)}
            missing = [f"{w}: {out!r}" for w, out in outs.items()
                       if out.strip() != "ready"]
            if not missing:
                return
            failed = any(out.strip() not in ("", "ready") for out in outs.values())
            if failed or time.monotonic() > deadline:
                raise CheckError("workloads not ready: " + "; ".join(missing))
            time.sleep(0.2)

    def take_truth(self):
        rc, out = self.run("hw-truth > /tmp/truth.json && cat /tmp/truth.json",
                           check=False, timeout=120)
        if rc != 0:
            raise CheckError(f"hw-truth failed ({rc}): {out[-2000:]}")
        try:
            return json.loads(out)
        except ValueError as e:
            raise CheckError(f"hw-truth output is not JSON: {e}")

    def alive_pids(self):
        return {int(x) for x in self.run("ls /proc")[1].split() if x.isdigit()}

    # host side

    def wait_info(self, cond, what, timeout=60):
        return wait_info(self.ram, cond, what, timeout)

    def info(self):
        return host(self.ram, "--json", "info").json()

    # -- scenarios -------------------------------------------------------

    def snapshot_round(self):
        """Truth, then a snapshot published after it; returns the checks'
        differences by check name, and the pieces for the pgd check."""
        truth = self.take_truth()
        end = truth["boot_ns_end"]
        info = self.wait_info(lambda i: i["publish_boot_ns"] > end,
                              "a snapshot published after the truth")
        ps = host(self.ram, "--json", "ps").json()
        in_snapshot = {p["pid"] for p in ps["processes"]}
        maps_json, maps_text = {}, {}
        for t in truth["processes"]:
            if t["maps"] is None or compare.is_kthread(t) or \
                    t["pid"] not in in_snapshot:
                continue
            pid = str(t["pid"])
            maps_json[t["pid"]] = host(self.ram, "--json", "maps", pid)
            maps_text[t["pid"]] = host(self.ram, "maps", pid)
        alive = self.alive_pids()
        pairing = compare.Pairing(truth, ps, alive)

        ps_diffs = []
        if ps["generation"] < info["generation"]:
            ps_diffs.append(f"ps generation {ps['generation']} is older than "
                            f"info's {info['generation']}")
        if ps.get("truncated"):
            ps_diffs.append("ps says the snapshot is truncated")
        ps_diffs += compare.check_ps(pairing)
        json_diffs, text_diffs = [], []
        for t, s in pairing.user():
            if t["maps"] is None:
                continue
            rj, rt = maps_json.get(t["pid"]), maps_text.get(t["pid"])
            if rj is None:
                continue
            if rj.rc != 0 or rt.rc != 0:
                bad = rj if rj.rc != 0 else rt
                json_diffs.append(f"{bad.cmd()} exited {bad.rc}: {bad.err.strip()}")
                continue
            json_diffs += compare.check_maps_json(t, rj.json())
            text_diffs += compare.check_maps_text(t, rt.out)
        return truth, ps, pairing, dict(zip(COMPARE_CHECKS,
                                            (ps_diffs, json_diffs, text_diffs)))

    def compare_scenario(self):
        """Truth vs snapshot, retried when something transient differs."""
        truth = pairing = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                truth, ps, pairing, results = self.snapshot_round()
            except (CheckError, haywire_vm.GuestError) as e:
                results = {what: [f"no snapshot to compare: {e}"]
                           for what in COMPARE_CHECKS}
            except Exception:
                results = {what: ["test error:"] + traceback.format_exc().splitlines()
                           for what in COMPARE_CHECKS}
            if not any(results.values()):
                break
            n = sum(len(d) for d in results.values())
            first = [d for ds in results.values() for d in ds][:3]
            self.tap.note(f"{self.name('')}attempt {attempt}: {n} differences"
                          + ("; retrying" if attempt < ATTEMPTS else "")
                          + f" (first: {'; '.join(map(str, first))})")
            time.sleep(1)
        self.check("workload state present in /proc",
                   lambda: workload_coverage(truth) if truth else
                   ["no ground truth taken"])
        for what in COMPARE_CHECKS:
            self.check(what, lambda d=results[what]: d)
        what = ("pgd sane, a user page table in RAM" if self.arch == "arm64"
                else "pgd sane, kernel half shared")
        self.check(what, lambda: self.check_pgd(pairing) if pairing else
                   ["no snapshot to check"])

    def check_pgd(self, pairing):
        """Page-table roots: nonzero, page aligned and in RAM, and then what
        the architecture says the table must look like."""
        diffs = []
        tables = {}
        with open(self.ram, "rb") as f:
            for t, s in pairing.user():
                pid = t["pid"]
                pgd = compare.hexint(s["pgd"])
                if not t["has_mm"]:
                    if pgd != 0:
                        diffs.append(f"pid {pid} has no mm but pgd {s['pgd']}")
                    continue
                off = gpa_to_offset(pgd, self.machine, self.mem)
                size = self.pgd_bytes()
                if pgd == 0 or pgd % size or off is None:
                    diffs.append(f"pid {pid} ({t['comm']}): pgd {s['pgd']} is "
                                 "zero, unaligned or outside guest RAM")
                    continue
                f.seek(off)
                tables[pid] = f.read(size)
        if not tables and not diffs:
            diffs.append("no user process with an address space to check")
        if self.arch == "arm64":
            return diffs + self.check_arm64_user_tables(tables)
        return diffs + self.check_x86_kernel_half(tables)

    def pgd_bytes(self):
        """The size of a top-level table: a page on x86-64; on arm64 (4 KiB
        pages) PTRS_PER_PGD = 2^(VA_BITS - PGDIR_SHIFT) entries, from the
        kernel's config: 512 for 48-bit VAs (Debian's 6.1), 16 for 52-bit
        VAs in 5 levels (Debian's 6.12; the kernel takes it from a slab
        cache, so it is not page aligned)."""
        if self.arch != "arm64":
            return 4096
        conf = {}
        path = os.path.join(haywire_vm.kernel_dir(self.kernel), "kdir", ".config")
        with open(path) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                conf[key] = value
        va_bits = int(conf["CONFIG_ARM64_VA_BITS"])
        pgdir_shift = 12 + 9 * (int(conf["CONFIG_PGTABLE_LEVELS"]) - 1)
        return 8 << (va_bits - pgdir_shift)

    def check_x86_kernel_half(self, tables):
        """x86-64: every process's top-level table maps the kernel in its
        upper half (entries 256..511), the same for all of them."""
        diffs = []
        halves = {}
        for pid, table in tables.items():
            halves.setdefault(table[2048:], []).append(pid)
        if len(halves) > 1:
            groups = sorted(halves.values(), key=len, reverse=True)
            diffs.append("kernel half (entries 256..511) differs between "
                         f"processes: groups {groups}")
        for half in halves:
            if not any(half):
                diffs.append("kernel half of the top-level table is all zero")
        return diffs

    def check_arm64_user_tables(self, tables):
        """arm64: mm->pgd is the TTBR0 table, which holds only the user half
        (the kernel lives in TTBR1's swapper_pg_dir), so there is no shared
        kernel half to compare. Instead: with 4 KiB pages and 48-bit VAs (4
        levels, Debian's arm64 config) it is a level-0 table, whose valid
        entries can only be table descriptors (low bits 0b11) pointing at a
        next-level table in guest RAM, and a process with an address space
        has at least one."""
        diffs = []
        for pid, table in tables.items():
            entries = [int.from_bytes(table[i:i + 8], "little")
                       for i in range(0, len(table), 8)]
            valid = [(i, e) for i, e in enumerate(entries) if e & 1]
            if not valid:
                diffs.append(f"pid {pid}: its level-0 table has no valid entry")
            for i, e in valid:
                next_table = e & 0x0000fffffffff000
                if (e & 3) != 3 or gpa_to_offset(next_table, self.machine,
                                                self.mem) is None:
                    diffs.append(f"pid {pid}: level-0 entry {i} is {e:#x}, not "
                                 "a table descriptor pointing into guest RAM")
        return diffs

    def note_refresh_cost(self, st):
        """The kernel matrix's figure (README): the last refresh's walk time
        per process and per VMA, from the module's own statistics."""
        procs, vmas = st.get("last_procs", 0), st.get("last_vmas", 0)
        if procs and vmas:
            self.tap.note(
                f"{self.name('')}refresh cost: {st['last_refresh_ns'] / 1e3:.0f} us "
                f"for {procs} processes, {vmas} VMAs: "
                f"{st['last_walk_procs_ns'] / procs / 1e3:.1f} us/process, "
                f"{st['last_walk_vmas_ns'] / vmas / 1e3:.2f} us/VMA")

    def check_info(self):
        """`info --json`: fields, types, and the index location."""
        diffs = []
        info = self.info()
        for key in ("generation", "publish_mono_ns", "publish_boot_ns",
                    "publish_real_ns", "age_ms", "interval_ms", "procs",
                    "procs_total", "vmas", "vmas_total"):
            if not isinstance(info.get(key), int):
                diffs.append(f"{key} is not a number: {info.get(key)!r}")
        for key in ("nonce", "index_offset", "index_gpa"):
            try:
                compare.hexint(info.get(key))
            except ValueError as e:
                diffs.append(f"{key}: {e}")
        if diffs:
            return diffs
        if not isinstance(info.get("flags"), list):
            diffs.append(f"flags is not an array: {info.get('flags')!r}")
        self.note_refresh_cost(info.get("stats") or {})
        diffs += self.check_freshness(info)
        if info["generation"] < 1:
            diffs.append("generation 0")
        if info["interval_ms"] != INTERVAL_MS:
            diffs.append(f"interval_ms {info['interval_ms']}, loaded with {INTERVAL_MS}")
        arch = {"amd64": "x86-64", "arm64": "arm64"}[self.arch]
        if info.get("arch") != arch or info.get("page_size") != 4096:
            diffs.append(f"arch {info.get('arch')!r} page_size "
                         f"{info.get('page_size')!r}, guest is {arch} with "
                         "4 KiB pages")
        if info.get("kernel_release") != self.release:
            diffs.append(f"kernel_release {info.get('kernel_release')!r}, "
                         f"guest runs {self.release!r}")
        if info["procs"] > info["procs_total"] or info["vmas"] > info["vmas_total"]:
            diffs.append("published counts exceed the totals")
        stats = info.get("stats", {})
        # 1.4: the eBPF companion has no time budget (HW_UF_STATS_WALK):
        # its mmap_lock and budget figures are null, not 0
        walks = "stats_walk" not in (info.get("unavailable") or [])
        walk_keys = ("mm_busy_total", "budget_overruns", "budget_ns",
                     "last_max_hold_ns", "last_max_hold_pid", "max_hold_ns",
                     "last_budget_skipped", "last_budget_cut",
                     "last_start_pid", "next_start_pid")
        for key in ("last_refresh_ns", "last_walk_procs_ns", "last_walk_vmas_ns",
                    "last_procs", "last_vmas", "ns_per_proc", "ns_per_vma",
                    # 1.2
                    "last_total_ns", "staging_bytes") + walk_keys:
            if key in walk_keys and not walks:
                if key not in stats or stats[key] is not None:
                    diffs.append(f"stats.{key} {stats.get(key, 'missing')!r}, "
                                 "the index marks it unavailable: null")
            elif not isinstance(stats.get(key), (int, float)):
                diffs.append(f"stats.{key} missing: {stats.get(key)!r}")
        if not diffs and walks and stats["budget_ns"] != 500_000_000:
            diffs.append(f"stats.budget_ns {stats['budget_ns']}, loaded with the "
                         "default budget_ms 500")
        if not diffs and not 0 < stats["staging_bytes"] <= 64 << 20:
            diffs.append(f"stats.staging_bytes {stats['staging_bytes']}: not within "
                         "the default max_mb 64")
        disc = info.get("discovery", {})
        for key in ("ns", "probes", "hint_used"):
            if key not in disc:
                diffs.append(f"discovery.{key} missing")
        gpa, off = compare.hexint(info["index_gpa"]), compare.hexint(info["index_offset"])
        if gpa_to_offset(gpa, self.machine, self.mem) != off:
            diffs.append(f"index_gpa {info['index_gpa']} should be at file offset "
                         f"{gpa_to_offset(gpa, self.machine, self.mem)!r}, "
                         f"info says {info['index_offset']}")
        if gpa % (2 << 20):
            diffs.append(f"index_gpa {info['index_gpa']} is not 2 MiB aligned")
        cold = host(self.ram, "--no-hint", "--json", "info")
        if cold.rc != 0:
            diffs.append(f"{cold.cmd()} exited {cold.rc}: {cold.err.strip()}")
        elif cold.json().get("discovery", {}).get("hint_used") is not False:
            diffs.append("--no-hint info says the hint was used")
        text = host(self.ram, "info")
        if text.rc != 0 or not text.out.strip():
            diffs.append(f"text info exited {text.rc}: {text.err.strip()}")
        return diffs

    def check_freshness(self, info):
        """A live beacon is never called stale, even when the guest's clock
        is off (a TCG guest sets CLOCK_REALTIME from the RTC in whole
        seconds): the host confirms an apparent age by watching the
        generation, and reports the clock offset instead. The beacon is
        live: its generation advances."""
        diffs = []
        limit = 3 * info["interval_ms"] + 1000
        for key in ("stale", "stale_confirmed"):
            if not isinstance(info.get(key), bool):
                return [f"{key} is not a boolean: {info.get(key)!r}"]
        live = self.wait_info(lambda i: i["generation"] >= info["generation"] + 3,
                              "three more generations", timeout=30)
        for i in (info, live):
            if i["stale"] or i["stale_confirmed"]:
                diffs.append(f"a live beacon is called stale (age_ms {i['age_ms']}, "
                             f"limit {limit} ms, clock_offset_ms {i['clock_offset_ms']}); "
                             f"the guest's clock is {self.guest_clock_offset():+.3f} s "
                             "off the host's")
            elif i["age_ms"] > limit and not i["clock_offset_ms"]:
                diffs.append(f"age_ms {i['age_ms']} is over the limit but no clock "
                             "offset is reported")
        return diffs

    def guest_clock_offset(self):
        """Guest CLOCK_REALTIME minus the host's, in seconds (busybox
        adjtimex prints the guest's time)."""
        before = time.time()
        out = self.run("adjtimex")[1]
        after = time.time()
        fields = dict(line.strip().split(":", 1) for line in out.splitlines()
                      if ":" in line)
        guest = int(fields["time.tv_sec"]) + int(fields["time.tv_usec"]) / 1e6
        return guest - (before + after) / 2

    def check_virt_map(self):
        """virt: QEMU's own map (info mtree -f, through --qmp) equals the
        beacon's, and both are one range of all of RAM at 1 GiB."""
        r = host(self.ram, "--qmp", self.guest.qmp_path, "--json", "info")
        if r.rc != 0:
            return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        info = r.json()
        want = [{"gpa": hex(VIRT_RAM_BASE), "size": self.mem, "file_offset": "0x0"}]
        diffs = []
        if info.get("qemu_map") != want:
            diffs.append(f"QEMU's map {info.get('qemu_map')}, expected {want}")
        if info.get("gpa_map") != info.get("qemu_map"):
            diffs.append(f"the beacon's map {info.get('gpa_map')} differs from "
                         f"QEMU's {info.get('qemu_map')}")
        return diffs

    def map_scenario(self):
        """The VIRT_MAP_CONFIGS guests: the map, then host-side reads and
        translation against the guest's pagemap (frames of a guest this
        size are mostly above 4 GiB, or up to it with highmem=off)."""
        self.check("GPA map: QEMU's (info mtree -f) == the beacon's == "
                   "one range at 1 GiB", self.check_virt_map)
        r = rings.Rings(self)
        if not self.check("rings: hw-workload known starts", r.start_known):
            return
        self.check("rings: read returns the known bytes (host-side)", r.check_read)
        self.check("rings: translate host-side == --via-guest == /proc/PID/pagemap",
                   r.check_translate)
        if self.mem > 3 * GiB:
            self.check("host-side translation reached RAM above 4 GiB",
                       lambda: self.check_high_frames(r))

    def check_high_frames(self, r):
        """Some page of the known workload is in RAM above 4 GiB: the high
        part of the map was exercised, not only assumed."""
        lay = r.lay
        runs = r.translate(lay["pages"], lay["thp"] + lay["thp_len"] - lay["pages"])
        top = max((compare.hexint(x["gpa"]) + x["len"] for x in runs
                   if x["state"] == "present"), default=0)
        if top > 4 * GiB:
            return []
        return [f"the highest present GPA ends at {top:#x}, below 4 GiB: RAM above "
                "4 GiB was NOT exercised by this guest"]

    def check_high_index(self):
        """With RAM above 4 GiB the index should be there (ZONE_NORMAL)."""
        gpa = compare.hexint(self.info()["index_gpa"])
        if gpa >= 4 * GiB:
            return []
        return [f"index_gpa {gpa:#x} is below 4 GiB: the map of RAM above 4 GiB "
                "was NOT exercised by this guest"]

    def check_grown(self):
        info = self.info()
        if info.get("extent_count", 0) > 1:
            return []
        return [f"the beacon still has {info.get('extent_count')!r} extent(s) "
                f"({info.get('extent_bytes')!r} bytes) with {info['vmas']} VMAs "
                "published: growth was NOT exercised"]

    def check_missing_pid(self):
        r = host(self.ram, "maps", "999999")
        diffs = [] if r.rc == 5 else [f"{r.cmd()} exited {r.rc}, expected 5"]
        problem = r.error_line_problem()
        return diffs + ([problem] if problem else [])

    def check_dmesg(self):
        bad = [line for line in self.dmesg_lines()
               if any(b in line for b in DMESG_BAD)]
        return [f"dmesg: {line}" for line in bad]

    def check_console(self):
        """Debug kernels: no splat on the console, shown from its first line
        on; the whole log is kept under build/vm/. A KERN_WARNING line
        written first must show up, or the console would not show the
        checkers' reports either (they print at KERN_WARNING and KERN_ERR)."""
        marker = f"haywire-vmtest: console shows KERN_WARNING {os.getpid()}"
        try:  # a guest that died still has its console read below
            self.run(f"echo '<4>{marker}' > /dev/kmsg", timeout=30)
            deadline = time.monotonic() + 30
            while marker not in self.guest.console() and time.monotonic() < deadline:
                time.sleep(0.2)
        except haywire_vm.GuestError:
            pass
        text = self.guest.console()
        keep = os.path.join(TOP, "build", "vm",
                            f"console-{self.kernel}-{self.label}.log")
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        with open(keep, "w") as f:
            f.write(text)
        lines = text.splitlines()
        firsts, excerpts = [], []
        shown_to = 0
        for i, line in enumerate(lines):
            if i < shown_to or not any(s in line for s in SPLATS):
                continue
            shown_to = i + SPLAT_LINES
            firsts.append(f"splat: {line}")
            excerpts += [f"console: {x}" for x in lines[i:shown_to]] + ["console: ..."]
        diffs = []
        if firsts:  # every splat's first line, then the excerpts
            diffs = [f"{len(firsts)} kernel splat(s) in the console log "
                     f"(all of it: {keep})"] + firsts + excerpts
        if marker not in text:
            diffs.insert(0, "a KERN_WARNING line did not reach the console: "
                         "splats would not either")
        return diffs

    def check_checkers(self):
        """Debug kernels: the checkers ran to the end. Lockdep switches
        itself off (debug_locks 0) after its first report or when it runs
        out of room; KASAN says it started; ODEBUG counts its warnings."""
        diffs = []
        out = self.run("cat /proc/lockdep_stats")[1]
        if not re.search(r"^\s*debug_locks:\s+1$", out, re.M):
            diffs.append("lockdep is off (debug_locks is not 1 in /proc/lockdep_stats)")
        if not any("KernelAddressSanitizer initialized" in line
                   for line in self.dmesg_lines()):
            diffs.append("KASAN did not start (no 'KernelAddressSanitizer initialized')")
        out = self.run("grep -qw debugfs /proc/mounts || "
                       "mount -t debugfs debugfs /sys/kernel/debug; "
                       "cat /sys/kernel/debug/debug_objects/stats")[1]
        m = re.search(r"^warnings\s*:\s*(\d+)$", out, re.M)
        if not m:
            diffs.append(f"no ODEBUG statistics: {out.strip()[:200]!r}")
        elif m.group(1) != "0":
            diffs.append(f"ODEBUG counted {m.group(1)} warnings")
        return diffs

    def check_end(self):
        """The last checks of every guest while it runs, before it stops."""
        try:
            self.check("dmesg clean", self.check_dmesg)
            if haywire_vm.is_debug(self.kernel):
                self.check("debug kernel's checkers stayed on (lockdep, KASAN, "
                           "ODEBUG)", self.check_checkers)
        finally:
            self.check_console_end()

    def check_console_end(self):
        """Debug kernels: the console log, also of a guest that is gone."""
        if haywire_vm.is_debug(self.kernel):
            self.check("console log has no kernel splat (debug kernel)",
                       self.check_console)

    def lifecycle(self):
        """rmmod / insmod / bad parameters, one check each."""
        nonce = {}

        def unload():
            nonce["before"] = self.info()["nonce"]
            self.run("rmmod haywire")
            diffs = []
            for cmd in ("ps", "info"):
                r = host(self.ram, cmd)
                if r.rc != 3:
                    diffs.append(f"{r.cmd()} after rmmod exited {r.rc}, expected 3")
                problem = r.error_line_problem()
                if problem:
                    diffs.append(problem)
                elif "unload" not in r.err.lower():
                    diffs.append(f"{r.cmd()} does not say the module was "
                                 f"unloaded: {r.err.strip()!r}")
            return diffs

        def bad_insmod(args, param):
            before = len(self.dmesg_lines())
            rc, out = self.insmod(args)
            diffs = []
            if rc == 0:
                diffs.append(f"insmod haywire.ko {args} succeeded")
                self.run("rmmod haywire", check=False)
            new = self.dmesg_lines()[before:]
            if not any("haywire" in line and param in line for line in new):
                diffs.append(f"no dmesg line from haywire naming {param}; new "
                             f"dmesg lines: {new!r}")
            return diffs

        def reload():
            diffs, info = self.load("the reloaded module's first snapshot")
            if diffs:
                return diffs
            if info["nonce"] == nonce.get("before"):
                diffs.append(f"nonce {info['nonce']} did not change on reload")
            ps = host(self.ram, "--json", "ps").json()
            pids = {p["pid"] for p in ps["processes"]}
            if 1 not in pids or len(pids) < len(self.workloads):
                diffs.append(f"ps after reload lists only {sorted(pids)}")
            return diffs

        def bad_param_write():
            path = "/sys/module/haywire/parameters/interval_ms"
            diffs = []
            for value in ("5", "3600001", "abc"):
                rc, _ = self.run(f"echo {value} > {path}", check=False)
                if rc == 0:
                    diffs.append(f"writing {value} to {path} succeeded")
            now = self.run(f"cat {path}")[1].strip()
            if now != str(INTERVAL_MS):
                diffs.append(f"interval_ms is {now} after bad writes")
            self.run(f"echo 250 > {path}")
            self.wait_info(lambda i: i["interval_ms"] == 250,
                           "interval_ms 250 to show in the index", timeout=30)
            return diffs

        self.check("lifecycle: rmmod -> ps and info exit 3, say unloaded", unload)
        self.check("lifecycle: insmod interval_ms=5 fails, says why in dmesg",
                   lambda: bad_insmod("interval_ms=5", "interval_ms"))
        self.check("lifecycle: insmod max_mb=2 fails, says why in dmesg",
                   lambda: bad_insmod("max_mb=2", "max_mb"))
        self.check("lifecycle: insmod again -> new nonce, ps works", reload)
        self.check("lifecycle: bad interval_ms writes to sysfs fail", bad_param_write)
        self.kselftests()

    def kselftests(self):
        """The in-guest kselftests (tests/kselftest/*.c), the module loaded."""
        self.check("kselftest: hw-kselftest-params (parameters, second load, log)",
                   lambda: self.kselftest("params"))
        self.check("kselftest: hw-kselftest-stats (debugfs stats agree with "
                   "the index, a forced refresh moves them)",
                   lambda: self.kselftest("stats"))
        self.check("kselftest: hw-kselftest-reload (unload/load with readers "
                   "in the guest and haywire ps on the host, log)",
                   self.kselftest_reload)
        self.check("debugfs stats count the host's requests (ping, detail of "
                   "a missing pid, refresh)", self.check_stats_requests)

    def guest_stats(self):
        """The module's debugfs stats as a dict, or None without debugfs."""
        rc, out = self.run("grep -qw debugfs /proc/mounts || mount -t debugfs "
                           "debugfs /sys/kernel/debug; "
                           "cat /sys/kernel/debug/haywire/stats", check=False)
        if rc != 0:
            return None
        return {k: int(v) for k, v in
                (line.split() for line in out.splitlines() if line.strip())}

    def check_stats_requests(self):
        """Requests the host makes show in the guest's counters."""
        before = self.guest_stats()
        if before is None:
            self.tap.note("  no debugfs in this guest: nothing to compare")
            return []
        for _ in range(3):
            r = host(self.ram, "ping")
            if r.rc != 0:
                return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        r = host(self.ram, "detail", "999999")
        if r.rc != 5:
            return [f"{r.cmd()} exited {r.rc}, not 5: {r.err.strip()}"]
        r = host(self.ram, "--json", "refresh")
        if r.rc != 0:
            return [f"{r.cmd()} exited {r.rc}: {r.err.strip()}"]
        generation = r.json()["generation"]
        after = self.guest_stats()
        diffs = []
        # a host command may send more than one request (a ping first)
        if after["requests_answered"] < before["requests_answered"] + 5:
            diffs.append(f"requests_answered {before['requests_answered']} -> "
                         f"{after['requests_answered']} after 5 requests")
        if after["requests_failed"] < before["requests_failed"] + 1:
            diffs.append(f"requests_failed {before['requests_failed']} -> "
                         f"{after['requests_failed']} after a detail of a "
                         "missing pid")
        if not before["generation"] < generation <= after["generation"]:
            diffs.append(f"refresh answered generation {generation}; debugfs "
                         f"said {before['generation']} before, "
                         f"{after['generation']} after")
        if after["refreshes"] != after["generation"]:
            diffs.append(f"refreshes {after['refreshes']} != generation "
                         f"{after['generation']}")
        return diffs

    def kselftest(self, name, timeout=120):
        """tests/kselftest/NAME.c in the guest: its TAP, nested."""
        t0 = time.monotonic()
        rc, out = self.run(f"hw-kselftest-{name}", timeout=timeout, check=False)
        for line in out.splitlines():
            self.tap.note(f"  {line}")
        self.tap.note(f"  hw-kselftest-{name}: {time.monotonic() - t0:.1f} s")
        return [] if rc == 0 else [f"hw-kselftest-{name} exited {rc}"]

    def kselftest_reload(self):
        """tests/kselftest/reload.c, with `haywire ps` on the host meanwhile:
        every run answers, says the module is gone (3) or busy (4); none
        crashes or hangs, and some answer."""
        stop = threading.Event()
        exits, first_bad = {}, []

        def host_reader():
            while not stop.is_set():
                try:
                    r = host(self.ram, "ps")
                    rc, err = r.rc, r.err.strip()
                except CheckError as e:
                    rc, err = "timeout", str(e)
                exits[rc] = exits.get(rc, 0) + 1
                if rc not in (0, 3, 4) and not first_bad:
                    first_bad.append(f"haywire ps exited {rc}: {err[:300]}")

        reader = threading.Thread(target=host_reader, daemon=True)
        reader.start()
        try:
            # RELOADS loads, each with a first refresh; generous under TCG
            diffs = self.kselftest("reload", timeout=900)
        finally:
            stop.set()
            reader.join()
        self.tap.note(f"  haywire ps on the host meanwhile, exits: {exits}")
        diffs += first_bad
        if not exits.get(0):
            diffs.append(f"haywire ps never answered during the reloads: {exits}")
        return diffs

    def scenario(self):
        rebooted = False
        if not self.boot():
            return
        try:
            self.tap.note(f"{self.name('')}booted in {self.guest.boot_seconds:.1f} s "
                          f"({self.guest.accel}); RAM file {self.ram}")
            if not self.check("insmod haywire.ko and start workloads", self.setup):
                return
            if self.label in VIRT_MAP_CONFIGS:
                self.check("info --json sane, index where the RAM map says",
                           self.check_info)
                self.map_scenario()
                return
            if ONLY == "monitor":
                monitor.checks(self)
                return
            if ONLY == "kselftest":
                self.kselftests()
                return
            self.compare_scenario()
            self.check("info --json sane, index where the RAM map says",
                       self.check_info)
            if ONLY_COMPARE:
                return
            if self.arch == "arm64":
                self.check("GPA map: QEMU's (info mtree -f) == the beacon's == "
                           "one range at 1 GiB", self.check_virt_map)
            # virt has no RAM hole below 4 GiB: all of it is one range from
            # 1 GiB, which "index where the RAM map says" already covers
            if self.big and machine_type(self.machine) != "virt":
                self.check("index above 4 GiB (high RAM map exercised)",
                           self.check_high_index)
            if self.big:
                self.check("beacon grew past its first extent",
                           self.check_grown)
            self.check("maps of a missing pid exits 5", self.check_missing_pid)
            if monitor.wanted(self):
                monitor.checks(self)
            if rings.wanted(self):
                rings.checks(self)
            if stall.wanted(self):
                stall.checks(self)
            if self.label in LIFECYCLE_CONFIGS:
                self.lifecycle()
            if stall.wanted(self):
                # everything that needs this boot's guest, then the reboot
                self.check_end()
                rebooted = True  # from here on, whatever happens
                self.check("reboot with a client pinging: magic gone, clean errors",
                           lambda: stall.check_reboot(self, sys.modules[__name__]))
        except Exception:
            self.tap.result(self.name("scenario ran to the end"),
                            ["test error:"] + traceback.format_exc().splitlines())
        finally:
            try:
                if rebooted:  # the console again: the reboot included
                    self.check_console_end()
                else:
                    self.check_end()
            finally:
                self.guest.stop()

    def setup(self):
        rc, out = self.insmod(f"interval_ms={INTERVAL_MS}")
        if rc != 0:
            return [f"insmod failed ({rc}): {out.strip()}"]
        # the workloads start before the first snapshot is waited for
        self.start_workloads()
        self.wait_info(lambda i: i["generation"] >= 1, "the first snapshot")
        return []


def chain_depth(procs):
    """The longest parent -> child chain of hw-workload processes."""
    by_pid = {p["pid"]: p for p in procs}
    best = 0
    for p in procs:
        depth = 0
        while p and p["comm"] == "hw-workload" and depth <= len(procs):
            depth += 1
            p = by_pid.get(p["ppid"])
        best = max(best, depth)
    return best


def workload_coverage(truth):
    """The workloads' states really are in the guest (so they get compared)."""
    procs = truth["processes"]
    paths = {v["path"] for p in procs for v in (p["maps"] or [])}
    want = {
        "a stopped process": any(p["state"] == "T" for p in procs),
        "a zombie": any(p["state"] == "Z" for p in procs),
        "uid 1000 euid 1002 gid 1001 egid 1003": any(
            (p["uid"], p["euid"], p["gid"], p["egid"]) == (1000, 1002, 1001, 1003)
            for p in procs),
        "comm 'long) name (15)'": any(p["comm"] == "long) name (15)" for p in procs),
        "an exe ' (deleted)'": any((p["exe"] or "").endswith(" (deleted)")
                                   for p in procs),
        "a 5-thread process": any(p["threads"] == 5 for p in procs),
        "a process with 500+ VMAs": any(len(p["maps"] or []) >= 500 for p in procs),
        "a chain of 4 hw-workload processes": chain_depth(procs) >= 4,
    }
    for path in ("/data/hw-map-file", "/data/hw-unlinked (deleted)",
                 "/data/dir with spaces/file name.bin", "/data/new\\012line",
                 "/memfd:hw-memfd (deleted)", "/dev/zero (deleted)",
                 "/SYSV48570001 (deleted)", "[heap]", "[stack]", "[vdso]"):
        want[f"a mapping of {path!r}"] = path in paths
    return [f"missing from the guest: {what}" for what, ok in want.items() if not ok]


def main():
    kernels = (os.environ.get("HAYWIRE_KERNELS", "6.1 6.12 5.10 7.3").split() +
               os.environ.get("HAYWIRE_ARM64_KERNELS",
                              "6.1-arm64 6.12-arm64 7.3-arm64").split())
    kernels = list(dict.fromkeys(kernels))  # each once, in order
    labels = os.environ.get("HAYWIRE_VM_CONFIGS", " ".join(
        [c[0] for c in CONFIGS] + [dimm.CONFIG, stress.STRESS_LABEL,
                                   prom.CONFIG, libvirt.CONFIG])).split()
    runs = [(k, label, machine, mem) for k in kernels
            for label, arch, machine, mem in CONFIGS
            if label in labels and arch == haywire_vm.spec_arch(k) and
            (k in WIDE_KERNELS or label in NARROW_CONFIGS)]
    tap = Tap()
    missing = {arch: qemu for arch, qemu in haywire_vm.QEMU.items()
               if not os.access(f"/usr/bin/{qemu}", os.X_OK)}
    for k, label, machine, mem in runs:
        if haywire_vm.spec_arch(k) in missing:
            tap.n += 1
            print(f"ok {tap.n} {k} {label} # SKIP "
                  f"{missing[haywire_vm.spec_arch(k)]} is not installed")
    runs = [r for r in runs if haywire_vm.spec_arch(r[0]) not in missing]
    dimm_kernels = [k for k in kernels if dimm.CONFIG in labels and k in WIDE_KERNELS and
                    k in dimm.KERNELS and "amd64" not in missing]
    # the stress guest (tests/vm/stress.py): every x86-64 kernel
    stress_kernels = [k for k in kernels if stress.STRESS_LABEL in labels and
                      k in WIDE_KERNELS and
                      haywire_vm.spec_arch(k) == "amd64" and "amd64" not in missing]
    # two guests scraped by a real Prometheus (tests/vm/prom.py)
    prom_kernels = [k for k in kernels if prom.CONFIG in labels and
                    k in prom.KERNELS and "amd64" not in missing]
    # libvirt domains by name (tests/vm/libvirt.py)
    libvirt_kernels = [k for k in kernels if libvirt.CONFIG in labels and
                       k in libvirt.KERNELS and "amd64" not in missing]
    # the eBPF companion (tests/vm/ebpf.py); HAYWIRE_VM_COMPANION=ebpf: only it
    ebpf_kernels = [k for k in ebpf.wanted_kernels(kernels, labels)
                    if "amd64" not in missing]
    if os.environ.get("HAYWIRE_VM_COMPANION") == "ebpf":
        runs, dimm_kernels, stress_kernels, prom_kernels = [], [], [], []
        libvirt_kernels = []
    if not runs and not dimm_kernels and not stress_kernels and \
            not prom_kernels and not libvirt_kernels and not ebpf_kernels:
        print(f"1..{tap.n}")
        print("# SKIP: no guest to boot (kernels, configurations or QEMU)")
        return 4
    started = time.monotonic()
    try:
        images = build(list(dict.fromkeys([r[0] for r in runs] + dimm_kernels +
                                          stress_kernels + prom_kernels +
                                          libvirt_kernels + ebpf_kernels)),
                       with_bpf=bool(ebpf_kernels))
    except (CheckError, subprocess.CalledProcessError) as e:
        tap.result("build host command, guest programs, modules, initramfs", [str(e)])
        print(f"1..{tap.n}")
        return 1
    for k, label, machine, mem in runs:
        t0 = time.monotonic()
        Machine(tap, k, label, machine, mem, images[k]).scenario()
        tap.note(f"{k} {label}: {time.monotonic() - t0:.0f} s")
    # 5-level paging, for the kernels the x86-64 ring configuration ran
    for k in dict.fromkeys(r[0] for r in runs
                           if r[1] == rings.LA57_WITH and not ONLY_COMPARE
                           and ONLY != "kselftest"):
        if not has_la57(k):
            tap.n += 1
            print(f"ok {tap.n} {k} q35-la57 # SKIP kernel built without "
                  "CONFIG_X86_5LEVEL (bullseye's 5.10)")
            continue
        t0 = time.monotonic()
        rings.la57(Machine(tap, k, "q35-la57", "q35", rings.LA57_MEM,
                           images[k], cpu=rings.LA57_CPU))
        tap.note(f"{k} q35-la57: {time.monotonic() - t0:.0f} s")
    # RAM beyond the boot map: one short boot with a pc-dimm
    if dimm_kernels:
        for k in dimm_kernels:
            t0 = time.monotonic()
            dimm.run(Machine(tap, k, dimm.CONFIG, "q35", dimm.MEM, images[k],
                             qmp=True, dimm=dimm.DIMM, cmdline=dimm.CMDLINE))
            tap.note(f"{k} {dimm.CONFIG}: {time.monotonic() - t0:.0f} s")
    for k in stress_kernels:
        t0 = time.monotonic()
        stress.run(Machine(tap, k, stress.STRESS_LABEL, "q35", stress.STRESS_MEM,
                           images[k]))
        tap.note(f"{k} {stress.STRESS_LABEL}: {time.monotonic() - t0:.0f} s")
    for k in prom_kernels:
        t0 = time.monotonic()
        prom.run(sys.modules[__name__], tap, k, images[k])
        tap.note(f"{k} {prom.CONFIG}: {time.monotonic() - t0:.0f} s")
    for k in libvirt_kernels:
        t0 = time.monotonic()
        libvirt.run(sys.modules[__name__], tap, k, images[k])
        tap.note(f"{k} {libvirt.CONFIG}: {time.monotonic() - t0:.0f} s")
    for k in ebpf_kernels:
        t0 = time.monotonic()
        ebpf.run(sys.modules[__name__], tap, k, images[k])
        tap.note(f"{k} {ebpf.CONFIG} ebpf: {time.monotonic() - t0:.0f} s")
    print(f"1..{tap.n}")
    tap.note(f"{tap.n - tap.failed} of {tap.n} passed in "
             f"{time.monotonic() - started:.0f} s")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
