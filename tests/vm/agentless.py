#!/usr/bin/python3
"""VM tests of the agentless sources: boot the real Debian kernels under
stock QEMU with a QMP socket, and check what `haywire --source memfile` and
`--source qmp` read from the guest kernel's own structures (with KASLR on)
against the guest's /proc, the map QEMU reports against the beacon's, the
three sources against each other, the hidden-process detector, and QMP
failures with the real QEMU (a wrong socket, QEMU stopped, QEMU killed in
the middle of a command).

The kernel files the agentless walk needs are taken from the first guest
of each kernel: its /sys/kernel/btf/vmlinux and its /proc/kallsyms (read as
root), copied out through the command channel; the qmp source uses the
BTF of the kernel image (vmlinuz) instead, so both kinds are tested. Later
guests of the same kernel are other boots with other KASLR offsets, so the
symbols are shown to work across boots.

Kernels: the x86-64 ones in $HAYWIRE_KERNELS (default "6.1 6.12") and the
arm64 ones in $HAYWIRE_ARM64_KERNELS (default "6.1-arm64 6.12-arm64").
Configurations: q35-512M (everything), q35-4G and pc-4G (the map and the
walk over RAM above 4 GiB), q35-512M-la57 (5-level paging), virt-1G and
virt-512M (arm64, the second boot with the first one's symbols; a short
set: the kernel found from its image without system registers, ps and maps
through both sources, translate and read across all three; 6.12 runs with
LPA2, 5 levels); select with $HAYWIRE_VM_CONFIGS as for vmtest.py. Prints nested TAP; exits 0 only if
everything passed.
"""

import base64
import gzip
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tools"))
sys.path.insert(0, HERE)
import haywire_vm  # noqa: E402
import compare  # noqa: E402
import vmtest  # noqa: E402
from vmtest import CheckError, GiB, host  # noqa: E402

CONFIGS = [  # label, QEMU machine, RAM, everything or the map and walk, CPU
    ("q35-512M", "q35", "512M", True, None),
    ("q35-4G", "q35", "4G", False, None),
    ("pc-4G", "pc", "4G", False, None),
    # 5-level paging (TCG emulates LA57): found from CR4, walked by all
    ("q35-512M-la57", "q35", "512M", False, "qemu64,+la57,-cx16"),
    # arm64: the kernel's tables from its Image in RAM (no TTBR from QEMU)
    ("virt-1G", "virt", "1G", False, None),
    # another boot (another KASLR slide) with the symbols of the first
    ("virt-512M", "virt", "512M", False, None),
]
VIRT_RAM_BASE = 0x40000000
AGENTLESS_CHECKS = ("ps matches /proc", "maps --json match /proc/PID/maps",
                    "text maps match /proc/PID/maps byte for byte")
FILES = os.path.join(TOP, "build", "vm", "agentless")
FROZEN_MS = 3600000


class KernelFiles:
    """BTF and symbols of one kernel, copied out of its first guest."""

    def __init__(self, release, vmlinuz):
        self.dir = os.path.join(FILES, release)
        self.btf = os.path.join(self.dir, "vmlinux.btf")
        self.kallsyms = os.path.join(self.dir, "kallsyms.gz")
        self.vmlinuz = vmlinuz
        self.text = None      # _text in the copied kallsyms
        self.data_symbols = False  # CONFIG_KALLSYMS_ALL (Debian arm64 6.1: off)
        self.copied = False

    def copy_from(self, guest):
        os.makedirs(self.dir, exist_ok=True)
        for command, path in (("base64 /sys/kernel/btf/vmlinux", self.btf),
                              ("grep -v '\\]$' /proc/kallsyms | gzip -c | base64",
                               self.kallsyms)):
            rc, out = guest.run(command, timeout=300, check=False)
            if rc != 0:
                raise CheckError(f"{command} failed in the guest ({rc})")
            with open(path + ".tmp", "wb") as f:
                f.write(base64.b64decode(out))
            os.replace(path + ".tmp", path)
        with gzip.open(self.kallsyms, "rt") as f:
            for line in f:
                if line.split()[2:3] == ["_text"]:
                    self.text = int(line.split()[0], 16)
                if line.split()[2:3] == ["init_task"]:
                    self.data_symbols = True
        if not self.text and self.data_symbols:
            raise CheckError("the copied /proc/kallsyms has no _text "
                             "(addresses hidden?)")
        self.copied = True
        return []


class AgentlessMachine(vmtest.Machine):
    def __init__(self, tap, kernel, label, machine, mem, images, files, full,
                 cpu):
        super().__init__(tap, kernel, label, machine, mem, images, cpu=cpu,
                         qmp=True)
        self.files = files
        self.full = full
        self.levels = 5 if cpu and "+la57" in cpu else 4
        if self.arch == "arm64":
            # Debian's 6.12 has 52-bit VAs, which TCG's max CPU runs with
            # LPA2 in 5 levels; 6.1 has 48-bit VAs in 4
            self.levels = 5 if self.pgd_bytes() < 4096 else 4

    def name(self, what):
        return f"{self.kernel} {self.label} agentless: {what}"

    def hw(self, source, *args, btf=None, qmp=None):
        """haywire through an agentless source (RAM file given too)."""
        return host(self.ram, "--qmp", qmp or self.guest.qmp_path,
                    "--source", source, "--btf", btf or self.btf_for(source),
                    "--system-map", self.files.kallsyms, *args)

    def btf_for(self, source):
        return self.files.vmlinuz if source == "qmp" else self.files.btf

    def with_qmp(self, *args):
        return host(self.ram, "--qmp", self.guest.qmp_path, *args)

    # -- the agentless view against /proc ---------------------------------

    def round(self, source, with_maps):
        """Truth, then the walk; differences per check."""
        truth = self.take_truth()
        ps = self.hw(source, "--json", "ps").json()
        if ps.get("source") != source:
            raise CheckError(f"ps --json says source {ps.get('source')!r}")
        in_walk = {p["pid"] for p in ps["processes"]}
        maps_json, maps_text = {}, {}
        for t in truth["processes"]:
            if t["maps"] is None or compare.is_kthread(t) or \
                    t["pid"] not in in_walk or not with_maps:
                continue
            pid = str(t["pid"])
            maps_json[t["pid"]] = self.hw(source, "--json", "maps", pid)
            maps_text[t["pid"]] = self.hw(source, "maps", pid)
        pairing = compare.Pairing(truth, ps, self.alive_pids())
        ps_diffs = compare.check_ps(pairing)
        json_diffs, text_diffs = [], []
        for t, s in pairing.user():
            rj, rt = maps_json.get(t["pid"]), maps_text.get(t["pid"])
            if t["maps"] is None or rj is None:
                continue
            if rj.rc != 0 or rt.rc != 0:
                bad = rj if rj.rc != 0 else rt
                json_diffs.append(f"{bad.cmd()} exited {bad.rc}: {bad.err.strip()}")
                continue
            json_diffs += compare.check_maps_json(t, rj.json())
            text_diffs += compare.check_maps_text(t, rt.out)
        return dict(zip(AGENTLESS_CHECKS, (ps_diffs, json_diffs, text_diffs)))

    def compare_source(self, source, with_maps=True):
        results = {}
        for attempt in range(1, vmtest.ATTEMPTS + 1):
            try:
                results = self.round(source, with_maps)
            except (CheckError, haywire_vm.GuestError) as e:
                results = {what: [str(e)] for what in AGENTLESS_CHECKS}
            if not any(results.values()):
                break
            n = sum(len(d) for d in results.values())
            self.tap.note(f"{self.name(source)} attempt {attempt}: {n} "
                          "differences" + ("; retrying" if attempt < vmtest.ATTEMPTS
                                           else ""))
            time.sleep(1)
        for what in AGENTLESS_CHECKS[:3 if with_maps else 1]:
            self.check(f"{source}: {what}", lambda d=results[what]: d)

    # -- what the walk found -------------------------------------------------

    def check_kernel(self):
        """The kernel found agentlessly is the guest's: release, banner,
        _text where KASLR put it this boot; with either kind of BTF."""
        diffs = []
        text = int(self.run("grep -w _text /proc/kallsyms")[1].split()[0], 16)
        version = self.run("cat /proc/version")[1].strip()
        if "nokaslr" in self.run("cat /proc/cmdline")[1]:
            diffs.append("the guest was booted with nokaslr")
        image = "arm64 Image" if self.arch == "arm64" else "bzImage"
        for source, btf, kind in (("memfile", self.files.btf, "raw BTF"),
                                  ("memfile", self.files.vmlinuz, image),
                                  ("qmp", self.files.vmlinuz, image)):
            info = self.hw(source, "--json", "info", btf=btf).json()
            what = f"{source} with {kind}"
            if info["kernel_release"] != self.release:
                diffs.append(f"{what}: release {info['kernel_release']!r}, "
                             f"guest runs {self.release!r}")
            if info["banner"] != version:
                diffs.append(f"{what}: banner {info['banner']!r}, /proc/version "
                             f"{version!r}")
            if compare.hexint(info["text_va"]) != text:
                diffs.append(f"{what}: _text {info['text_va']}, the guest's "
                             f"kallsyms says {text:#x}")
            if compare.hexint(info["page_offset_base"]) % GiB:
                diffs.append(f"{what}: page_offset_base {info['page_offset_base']} "
                             "is not 1 GiB aligned")
            if not info["btf_kind"].startswith(kind) or \
                    info["banner_checked"] != (kind == image):
                diffs.append(f"{what}: btf_kind {info['btf_kind']!r}, "
                             f"banner_checked {info['banner_checked']}")
            if info["paging_levels"] != self.levels or \
                    info["cpus"] != self.guest.smp:
                diffs.append(f"{what}: {info['paging_levels']}-level paging, "
                             f"{info['cpus']} CPUs")
        if self.arch == "arm64":
            self.tap.note(f"{self.name('')}_text {text:#x}; the symbols were "
                          f"copied from a boot with _text {self.files.text:#x}")
        else:
            self.tap.note(f"{self.name('')}_text {text:#x} (KASLR offset "
                          f"{text - 0xffffffff81000000:#x}); the symbols were "
                          f"copied from a boot with _text {self.files.text:#x}")
        return diffs

    def check_no_data_symbols(self):
        """A kallsyms without data symbols (Debian's arm64 6.1 is built
        without CONFIG_KALLSYMS_ALL, and its /boot/System.map is a
        placeholder): the agentless sources refuse in one line that says
        so; they never guess."""
        diffs = []
        for source in ("memfile", "qmp"):
            r = self.hw(source, "ps")
            if r.rc == 0 or "CONFIG_KALLSYMS_ALL" not in r.err:
                diffs.append(f"{r.cmd()}: exit {r.rc}, {r.err.strip()!r}")
            diffs += [p for p in [r.error_line_problem()] if p]
        return diffs

    def check_map(self):
        """QEMU's map (info mtree -f) equals the beacon's, and both are
        where QEMU really puts RAM for this machine."""
        info = self.with_qmp("--json", "info").json()
        diffs = []
        if info.get("qemu_map") != info.get("gpa_map"):
            diffs.append(f"QEMU's map {info.get('qemu_map')} differs from the "
                         f"beacon's {info.get('gpa_map')}")
        low = self.mem
        if self.machine == "virt":
            want = [{"gpa": hex(VIRT_RAM_BASE), "size": self.mem,
                     "file_offset": "0x0"}]
        elif self.machine == "q35" and self.mem >= 0xb0000000:
            low = 2 * GiB
        elif self.machine == "pc" and self.mem >= 0xe0000000:
            low = 3 * GiB
        if self.machine != "virt":
            want = [{"gpa": "0x0", "size": low, "file_offset": "0x0"}]
        if self.machine != "virt" and self.mem > low:
            want.append({"gpa": hex(4 * GiB), "size": self.mem - low,
                         "file_offset": hex(low)})
        if info.get("qemu_map") != want:
            diffs.append(f"QEMU's map {info.get('qemu_map')}, expected {want}")
        for run in info.get("qemu_map", []):
            gpa, size = compare.hexint(run["gpa"]), run["size"]
            for at in (gpa, gpa + size - 4096):
                if vmtest.gpa_to_offset(at, self.machine, self.mem) != \
                        compare.hexint(run["file_offset"]) + at - gpa:
                    diffs.append(f"GPA {at:#x} is not where the map says")
        if "map check" not in self.with_qmp("info").out:
            diffs.append("text info has no map check line")
        return diffs

    def check_translate_read(self):
        """translate and read give the same through all three sources, and
        read finds the ELF header where the executable is mapped."""
        ps = host(self.ram, "--json", "ps").json()
        pid = next(p["pid"] for p in ps["processes"]
                   if p["comm"] == "hw-workload" and p["vma_count"] > 20)
        maps = host(self.ram, "--json", "maps", str(pid)).json()["vmas"]
        heap = next(v for v in maps if v["path"] == "[heap]")
        exe = maps[0]
        diffs, runs, data = [], {}, {}
        length = compare.hexint(heap["end"]) - compare.hexint(heap["start"])
        for source in ("beacon", "memfile", "qmp"):
            args = ("--json", "translate", str(pid), heap["start"], str(length))
            r = host(self.ram, *args) if source == "beacon" else self.hw(source, *args)
            runs[source] = r.json()["runs"]
            out = os.path.join(self.guest.workdir, f"read-{source}")
            args = ("read", str(pid), exe["start"], "16K", "-o", out)
            r = host(self.ram, *args) if source == "beacon" else self.hw(source, *args)
            if r.rc != 0:
                diffs.append(f"{r.cmd()} exited {r.rc}: {r.err.strip()}")
                continue
            with open(out, "rb") as f:
                data[source] = f.read()
        for source in ("memfile", "qmp"):
            if runs[source] != runs["beacon"]:
                diffs.append(f"translate of the heap: {source} {runs[source][:3]}"
                             f"... differs from beacon {runs['beacon'][:3]}...")
            if data.get(source) != data.get("beacon"):
                diffs.append(f"read: {source} bytes differ from the beacon's")
        if not data.get("beacon", b"").startswith(b"\x7fELF"):
            diffs.append(f"read at {exe['start']} ({exe['path']}) is not an ELF "
                         "header")
        for run in runs["beacon"]:
            if run["state"] == "present" and compare.hexint(run["file_offset"]) != \
                    vmtest.gpa_to_offset(compare.hexint(run["gpa"]), self.machine,
                                         self.mem):
                diffs.append(f"run {run}: file offset is not where QEMU put the GPA")
        if not any(r["state"] == "present" for r in runs["beacon"]):
            diffs.append("no page of the touched heap is present")
        return diffs

    # -- the hidden-process detector ------------------------------------------

    def diff(self, source):
        return host(self.ram, "--qmp", self.guest.qmp_path, "--source", source,
                    "--btf", self.btf_for(source), "--system-map",
                    self.files.kallsyms, "--json", "diff")

    def check_diff_clean(self, source):
        last = None
        for attempt in range(vmtest.ATTEMPTS):
            r = self.diff(source)
            if r.rc == 0:
                d = r.json()
                if d["differences"] == 0 and d["beacon_count"] == d["agentless_count"]:
                    return []
                last = f"{r.cmd()}: {d}"
            else:
                last = f"{r.cmd()} exited {r.rc}: {r.err.strip()} {r.out[:400]}"
            time.sleep(1)
        return [last]

    def check_diff_hidden(self):
        """With the beacon frozen (a one-hour interval), a process started
        since is seen only by the agentless walk and one killed since only
        by the beacon; nothing else differs."""
        param = "/sys/module/haywire/parameters/interval_ms"
        self.run("(sleep 998 > /dev/null 2>&1 & echo $! > /tmp/old.pid)")
        old = int(self.run("cat /tmp/old.pid")[1])
        generation = self.info()["generation"]
        self.wait_info(lambda i: i["generation"] >= generation + 2,
                       "a snapshot with the old process")
        self.run(f"echo {FROZEN_MS} > {param}")
        try:
            frozen = self.info()["generation"]
            time.sleep(1)
            while self.info()["generation"] != frozen:
                frozen = self.info()["generation"]
                time.sleep(1)
            self.run("(sleep 997 > /dev/null 2>&1 & echo $! > /tmp/new.pid)")
            new = int(self.run("cat /tmp/new.pid")[1])
            self.run(f"kill -9 {old}; while [ -e /proc/{old} ]; do sleep 0.1; done")
            r = self.diff("memfile")
        finally:
            self.run(f"echo {vmtest.INTERVAL_MS} > {param}; kill {old} 2>/dev/null; "
                     "kill $(cat /tmp/new.pid) 2>/dev/null; true")
        if r.rc != 8:
            return [f"{r.cmd()} exited {r.rc}, expected 8: {r.err.strip()}"]
        d = json.loads(r.out)
        diffs = []
        # kernel threads come and go on their own: only processes count
        only_a = sorted(p["pid"] for p in d["only_in_agentless"] if not p["kthread"])
        only_b = sorted(p["pid"] for p in d["only_in_beacon"] if not p["kthread"])
        if only_a != [new]:
            diffs.append(f"only in the agentless walk: {only_a}, expected [{new}]")
        if only_b != [old]:
            diffs.append(f"only in the beacon: {only_b}, expected [{old}]")
        if "no new snapshot" not in r.err:
            diffs.append(f"no warning that the beacon is frozen: {r.err!r}")
        return diffs

    # -- QMP failures with the real QEMU -----------------------------------

    def check_qmp_failures(self):
        diffs = []
        r = self.hw("memfile", "ps", qmp=os.path.join(self.guest.workdir, "no.sock"))
        if r.rc != 1 or "cannot connect" not in r.err:
            diffs.append(f"wrong socket: exit {r.rc}, {r.err.strip()!r}")
        diffs += [p for p in [r.error_line_problem()] if p]
        # a QEMU that does not answer (stopped): a timeout, not a hang
        os.kill(self.guest.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = self.hw("qmp", "--qmp-timeout", "1000", "ps")
            took = time.monotonic() - t0
        finally:
            os.kill(self.guest.proc.pid, signal.SIGCONT)
        if r.rc != 1 or "nothing from QEMU within 1000 ms" not in r.err or took > 15:
            diffs.append(f"stopped QEMU: exit {r.rc} after {took:.1f} s, "
                         f"{r.err.strip()!r}")
        diffs += [p for p in [r.error_line_problem()] if p]
        return diffs

    def check_qemu_killed(self):
        """QEMU killed while `--source qmp maps` reads through it."""
        pid = max(self.host_ps(), key=lambda p: p["vma_total"])["pid"]
        argv = [vmtest.HAYWIRE, "--mem", self.ram, "--qmp", self.guest.qmp_path,
                "--source", "qmp", "--btf", self.files.vmlinuz, "--system-map",
                self.files.kallsyms, "maps", str(pid)]
        t0 = time.monotonic()
        subprocess.run(argv, capture_output=True, timeout=120)
        took = time.monotonic() - t0
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(took / 2)
        self.guest.proc.kill()
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return ["haywire hung after QEMU was killed"]
        err = err.decode(errors="replace")
        self.tap.note(f"{self.name('')}killed QEMU {took / 2:.2f} s into a "
                      f"{took:.2f} s command: {err.strip()}")
        lines = err.splitlines()
        if proc.returncode != 1 or len(lines) != 1 or \
                not lines[0].startswith("haywire: ") or \
                not any(w in err for w in ("QEMU closed", "did QEMU exit",
                                           "cannot connect")):
            return [f"exit {proc.returncode}, stderr {err!r}"]
        return []

    def host_ps(self):
        return host(self.ram, "--json", "ps").json()["processes"]

    # -- the scenario -----------------------------------------------------------

    def scenario(self):
        try:
            self.guest.start()
        except haywire_vm.GuestError as e:
            self.tap.result(self.name("boots"), [str(e)])
            self.guest.stop()
            return
        killed = False
        try:
            self.tap.note(f"{self.name('')}booted in {self.guest.boot_seconds:.1f} s "
                          f"({self.guest.accel})")
            if not self.check("insmod haywire.ko and start workloads", self.setup):
                return
            if not self.files.copied and not self.check(
                    "copy BTF and kallsyms out of the guest",
                    lambda: self.files.copy_from(self.guest)):
                return
            if not self.files.data_symbols:
                self.check("without data symbols (no CONFIG_KALLSYMS_ALL): "
                           "one clear error line", self.check_no_data_symbols)
                return
            self.check("the kernel found is the guest's (release, banner, "
                       "KASLR _text, direct map)", self.check_kernel)
            self.check("QEMU's memory map equals the beacon's",
                       self.check_map)
            self.compare_source("memfile")
            # through QMP every read is a round trip: maps of the small
            # guest's processes, ps only on the big ones
            self.compare_source("qmp", with_maps=self.full or self.arch == "arm64")
            if self.full or self.levels == 5 or self.arch == "arm64":
                self.check("translate and read agree across the three sources",
                           self.check_translate_read)
            if self.full:
                for source in ("memfile", "qmp"):
                    self.check(f"diff ({source}): no differences on a clean guest",
                               lambda s=source: self.check_diff_clean(s))
                self.check("diff finds a process only the walk sees and one only "
                           "the frozen beacon sees", self.check_diff_hidden)
                self.check("QMP failures (wrong socket, QEMU stopped): one "
                           "error line, no hang", self.check_qmp_failures)
                self.check("dmesg clean", self.check_dmesg)
                killed = True
                self.check("QEMU killed mid-command: one error line, no hang",
                           self.check_qemu_killed)
        finally:
            try:
                if not killed:
                    self.check("dmesg clean", self.check_dmesg)
            finally:
                self.guest.stop()


def main():
    # The debug kernel is built without debug information, so without the
    # BTF the agentless walk needs (tools/build-debug-kernel.sh).
    kernels = os.environ.get("HAYWIRE_KERNELS", "6.1 6.12").split() + \
        os.environ.get("HAYWIRE_ARM64_KERNELS", "6.1-arm64 6.12-arm64").split()
    kernels = [k for k in kernels if not haywire_vm.is_debug(k)]
    labels = os.environ.get("HAYWIRE_VM_CONFIGS",
                            " ".join(c[0] for c in CONFIGS)).split()
    # virt configurations are arm64's, the others x86-64's
    runs = [(k, c) for k in dict.fromkeys(kernels) for c in CONFIGS
            if c[0] in labels and (c[1] == "virt") ==
            (haywire_vm.spec_arch(k) == "arm64") and
            os.access(f"/usr/bin/{haywire_vm.QEMU[haywire_vm.spec_arch(k)]}",
                      os.X_OK)]
    tap = vmtest.Tap()
    if not runs:
        print("1..0")
        print("# SKIP: no guest to boot (kernels, configurations or QEMU)")
        return 4
    started = time.monotonic()
    try:
        images = vmtest.build(list(dict.fromkeys(k for k, _ in runs)))
    except (CheckError, subprocess.CalledProcessError) as e:
        tap.result("build host command, guest programs, modules, initramfs", [str(e)])
        print(f"1..{tap.n}")
        return 1
    files = {k: KernelFiles(images[k][2], images[k][0]) for k, _ in runs}
    for k, (label, machine, mem, full, cpu) in runs:
        t0 = time.monotonic()
        AgentlessMachine(tap, k, label, machine, mem, images[k], files[k],
                         full, cpu).scenario()
        tap.note(f"{k} {label} agentless: {time.monotonic() - t0:.0f} s")
    print(f"1..{tap.n}")
    tap.note(f"{tap.n - tap.failed} of {tap.n} passed in "
             f"{time.monotonic() - started:.0f} s")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
