"""RAM beyond the boot map: one short boot of a q35 guest with a pc-dimm
(run by tests/vm/vmtest.py, configuration "q35-512M-dimm", 6.1 only).

The guest has 512 MiB of boot RAM in the RAM file and a 256 MiB DIMM in
its own shared file, which QEMU places at GPA 4 GiB; the kernel adds it
from ACPI and onlines it movable (memhp_default_state=online_movable), so
user pages land in it. Checks:
  - without --qmp the reader names the RAM the file lacks, precisely (not
    "corrupt"), in one error line;
  - with --qmp, info shows the DIMM's backend and the map gains its run,
    and ps works;
  - translate of 64 MiB of a process's touched memory matches the guest's
    own /proc/PID/pagemap, with pages in the DIMM, and read of a DIMM page
    returns the bytes the guest sees in /proc/PID/mem.
"""

import hashlib
import json
import os
import sys
import tempfile
import time

CONFIG = "q35-512M-dimm"
KERNELS = ("6.1",)
MEM = "512M"
DIMM = "256M"
DIMM_GPA = 4 << 30		# QEMU's device memory starts at 4 GiB here
DIMM_BYTES = 256 << 20
RAM_BYTES = 512 << 20
CMDLINE = "memhp_default_state=online_movable"
POPULATE_MIB = 64
PAGE = 4096


def run(m):
    """Boot m (a vmtest.Machine with a DIMM and QMP) and run the checks."""
    vt = sys.modules[type(m).__module__]
    if not m.boot():
        return
    try:
        checks(m, vt)
    finally:
        m.guest.stop()


def checks(m, vt):
    qmp = ["--qmp", m.guest.qmp_path]

    def host(*args):
        return vt.host(m.ram, *args)

    def setup():
        iomem = m.run("cat /proc/iomem")[1]
        if "100000000-10fffffff : System RAM" not in iomem:
            return ["the guest did not add the DIMM as System RAM at 4 GiB:",
                    *iomem.splitlines()[-8:]]
        rc, out = m.insmod(f"interval_ms={vt.INTERVAL_MS}")
        if rc != 0:
            return [f"insmod failed ({rc}): {out.strip()}"]
        deadline = time.monotonic() + 60
        while True:
            r = host(*qmp, "--json", "info")
            if r.rc == 0 and r.json()["generation"] >= 1:
                return []
            if time.monotonic() > deadline:
                return [f"no snapshot with --qmp within 60 s: {r.err.strip()}"]
            time.sleep(0.2)

    if not m.check("dimm: the guest adds its DIMM at 4 GiB; insmod; a snapshot",
                   setup):
        return

    def without_qmp():
        r = host("ps")
        diffs = []
        if r.rc == 0:
            diffs.append("ps without --qmp succeeded although the index lists "
                         "RAM the file does not hold")
        problem = r.error_line_problem()
        if problem:
            diffs.append(problem)
        want = (f"guest RAM at GPA {DIMM_GPA:#x}-{DIMM_GPA + DIMM_BYTES:#x} that "
                f"the {RAM_BYTES >> 20} MiB RAM file does not cover (hot-plugged")
        if want not in r.err or "--qmp" not in r.err or "corrupt" in r.err:
            diffs.append(f"the error does not say {want!r} and --qmp: {r.err.strip()}")
        return diffs

    m.check("dimm: without --qmp, one precise error naming the DIMM's RAM",
            without_qmp)

    def info_with_qmp():
        info = host(*qmp, "--json", "info").json()
        others = info.get("qemu_other_backends", [])
        diffs = []
        if [(o["backend"], o["share"]) for o in others] != [("dimm0", True)]:
            diffs.append(f"qemu_other_backends: {others}")
        elif [(r["gpa"], r["size"]) for r in others[0]["runs"]] != \
                [(hex(DIMM_GPA), DIMM_BYTES)]:
            diffs.append(f"the DIMM's runs: {others[0]['runs']}")
        runs = info.get("gpa_map", [])
        if not any(r.get("gpa") == hex(DIMM_GPA) and
                   r.get("file_offset") == hex(RAM_BYTES) for r in runs):
            diffs.append(f"the beacon's map has no run {DIMM_GPA:#x} at file "
                         f"offset {RAM_BYTES:#x}: {runs}")
        return diffs

    m.check("dimm: with --qmp, info shows the DIMM's backend and its run",
            info_with_qmp)

    def ps_with_qmp():
        procs = host(*qmp, "--json", "ps").json()["processes"]
        pids = {p["pid"] for p in procs}
        guest = m.alive_pids()
        missing = sorted(guest - pids)
        # processes may come and go between the two looks; a few only
        return [f"pids in the guest, not in ps: {missing}"] if len(missing) > 3 else []

    m.check("dimm: with --qmp, ps lists the guest's processes", ps_with_qmp)

    lay = {}

    def populate():
        m.run(f": > /tmp/pop.out; hw-workload populate {POPULATE_MIB} >> /tmp/pop.out 2>&1 & "
              "echo $! > /tmp/pop.pid")
        deadline = time.monotonic() + 120
        while "ready" not in m.run("cat /tmp/pop.out")[1].split("\n"):
            if time.monotonic() > deadline:
                return [f"hw-workload populate {POPULATE_MIB} is not ready"]
            time.sleep(0.5)
        lay.update(json.loads(m.run("cat /tmp/pop.out")[1].split("\n")[0]))
        lay["pid"] = m.run("cat /tmp/pop.pid")[1].strip()
        return []

    if not m.check(f"dimm: hw-workload populate {POPULATE_MIB} starts", populate):
        return

    def file_offset(gpa):
        return gpa - DIMM_GPA + RAM_BYTES if gpa >= DIMM_GPA else gpa

    dimm_pages = []

    def translate():
        pid, addr, length = lay["pid"], lay["addr"], lay["len"]
        runs = host(*qmp, "--json", "translate", pid, hex(addr),
                    hex(length)).json()["runs"]
        rc, out = m.run(f"hw-pagemap {pid} {addr} {length}", check=False)
        if rc != 0:
            return [f"hw-pagemap failed ({rc}): {out.strip()}"]
        entries = json.loads(out)["entries"]
        diffs = vt.rings.pagemap_problems(runs, entries, file_offset)
        dimm_pages.extend(int(r["va"], 16) for r in runs
                          if r["state"] == "present" and int(r["gpa"], 16) >= DIMM_GPA)
        if not dimm_pages:
            diffs.append(f"no page of the {POPULATE_MIB} MiB is in the DIMM "
                         "(was it onlined movable?)")
        return diffs

    m.check("dimm: translate matches /proc/PID/pagemap, pages in the DIMM",
            translate)

    def read_dimm_page():
        if not dimm_pages:
            return ["no page in the DIMM to read"]
        va = dimm_pages[0]
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "page")
            r = host(*qmp, "read", lay["pid"], hex(va), str(PAGE), "-o", out)
            if r.rc != 0:
                return [f"read exited {r.rc}: {r.err.strip()}"]
            with open(out, "rb") as f:
                got = hashlib.md5(f.read()).hexdigest()
        want = m.run(f"dd if=/proc/{lay['pid']}/mem bs={PAGE} skip={va // PAGE} "
                     "count=1 2>/dev/null | md5sum")[1].split()[0]
        return [] if got == want else [f"md5 {got} from the host, {want} in the guest"]

    m.check("dimm: read of a DIMM page equals the guest's /proc/PID/mem",
            read_dimm_page)
    m.run(f"kill {lay['pid']}", check=False)
