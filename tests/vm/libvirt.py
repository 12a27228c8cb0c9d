"""libvirt guests by domain name (run by tests/vm/vmtest.py, configuration
"q35-512M-libvirt", 6.1 only).

The test starts Debian's libvirtd privately: a session daemon running as
the unprivileged user nobody, with its configuration, sockets, logs and
domain state under a temporary directory and its memory_backing_dir under
/dev/shm (no systemd, nothing of the machine's own libvirt touched). The
host command, as root, talks to it through its socket
(qemu+unix:///session?socket=...).

Domains (all TCG, <domain type='qemu'>, direct kernel boot of the cached
Debian kernel with the VM suite's initramfs):
  - hw-shared: <memoryBacking><source type='file'/><access mode='shared'/>,
    booted, running the module; it is driven through a virtio-serial
    channel exactly as tests/tools/haywire_vm.py drives its own guests;
  - hw-private: file-backed but not shared, and hw-anon: no memoryBacking
    at all; both started paused (QEMU up, no guest CPU spent);
  - hw-defined: defined, never started.
Checks:
  - haywire --domain hw-shared finds the RAM file QEMU maps (the path on
    QEMU's own command line, in /proc/PID/cmdline) and its ps matches the
    guest's /proc (tests/vm/compare.py, as every other VM test);
  - --domain refuses hw-private, hw-anon, hw-defined and an unknown name,
    with one line saying why and exit status 1;
  - haywire exporter --libvirt-all reports hw-shared up, with its process
    count between two counts of the guest's /proc, and the paused ones as
    haywire_up 0 with reason not_shared; --libvirt names hw-defined
    (not_running) and an unknown domain (no_domain).
Everything is destroyed and libvirtd stopped at the end. About a minute on
TCG (one boot; the paused domains cost no guest time).
"""

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import haywire_vm

CONFIG = "q35-512M-libvirt"
KERNELS = ("6.1",)
MEM_MIB = 512
INTERVAL_MS = 500
WAIT = 180		# seconds: a bound on TCG guests and a loaded machine
USER = "nobody"


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (libvirtd runs as the user nobody)"
    for tool in ("libvirtd", "virsh", "setpriv"):
        if not shutil.which(tool):
            return f"{tool} is not installed (tools/install-deps.sh)"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no user {USER}"
    return None


class Libvirtd:
    """A private session libvirtd, run as nobody."""

    def __init__(self):
        pw = pwd.getpwnam(USER)
        self.dir = tempfile.mkdtemp(prefix="haywire-libvirt-")
        self.shm = tempfile.mkdtemp(prefix="haywire-libvirt-", dir="/dev/shm")
        for sub in ("run", "config/libvirt", "cache", "data"):
            os.makedirs(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "config/libvirt/qemu.conf"), "w") as f:
            f.write(f'memory_backing_dir = "{self.shm}"\n')
        for root in (self.dir, self.shm):
            for d, dirs, files in os.walk(root):
                for x in [d] + [os.path.join(d, y) for y in files]:
                    os.chown(x, pw.pw_uid, pw.pw_gid)
        self.env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"),
                    "HOME": self.dir,
                    "XDG_RUNTIME_DIR": os.path.join(self.dir, "run"),
                    "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
                    "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
                    "XDG_DATA_HOME": os.path.join(self.dir, "data")}
        sock = os.path.join(self.dir, "run", "libvirt", "libvirt-sock")
        self.uri = f"qemu+unix:///session?socket={sock}"
        self.log = open(os.path.join(self.dir, "libvirtd.log"), "w")
        # setpriv execs: the pid is libvirtd's own
        self.proc = subprocess.Popen(
            ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
             "--clear-groups", "libvirtd"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while True:
            if self.virsh("version", check=False).returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("libvirtd did not start: " + self.log_tail())
            time.sleep(0.2)

    def log_tail(self):
        with open(os.path.join(self.dir, "libvirtd.log"), errors="replace") as f:
            return "".join(f.readlines()[-10:])

    def virsh(self, *args, check=True):
        r = subprocess.run(["virsh", "-q", "-c", self.uri, *args],
                           capture_output=True, text=True, timeout=WAIT)
        if check and r.returncode:
            raise RuntimeError(f"virsh {' '.join(args)}: {r.stderr.strip()}")
        return r

    def stop(self):
        for name in self.virsh("list", "--name", check=False).stdout.split():
            self.virsh("destroy", name, check=False)
        for name in self.virsh("list", "--all", "--name", check=False).stdout.split():
            self.virsh("undefine", name, check=False)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)


def domain_xml(name, workdir, memory, ctl=True):
    """memory: "shared", "private" (file, not shared) or "anon"."""
    backing = {"shared": "<memoryBacking><source type='file'/>"
                         "<access mode='shared'/></memoryBacking>",
               "private": "<memoryBacking><source type='file'/></memoryBacking>",
               "anon": ""}[memory]
    channel = (f"<channel type='unix'><source mode='bind' path='{workdir}/ctl.sock'/>"
               "<target type='virtio' name='haywire.ctl'/></channel>") if ctl else ""
    cpu = haywire_vm.TCG_X86_CPU.split(",")
    features = "".join(f"<feature policy='disable' name='{f[1:]}'/>"
                       for f in cpu[1:] if f.startswith("-"))
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{MEM_MIB}</memory>
  <vcpu>2</vcpu>
  {backing}
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{workdir}/vmlinuz</kernel>
    <initrd>{workdir}/initrd</initrd>
    <cmdline>console=ttyS0 panic=-1 oops=panic quiet loglevel=4 no_timer_check</cmdline>
  </os>
  <cpu mode='custom' match='exact'><model fallback='allow'>{cpu[0]}</model>{features}</cpu>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='{workdir}/console.log'/><target port='0'/></serial>
    {channel}
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
"""


class Domain(haywire_vm.Guest):
    """A libvirt domain driven like haywire_vm's guests (run(), console)."""

    def __init__(self, daemon, name, vmlinuz, initrd, memory="shared"):
        super().__init__(vmlinuz, initrd, mem=f"{MEM_MIB}M", accel="tcg",
                         boot_timeout=WAIT, ram_dir=daemon.dir)
        os.unlink(self.ram_path)   # QEMU's file is libvirt's to name
        self.ram_path = None
        self.daemon = daemon
        self.name = name
        self.memory = memory
        pw = pwd.getpwnam(USER)
        shutil.copy(vmlinuz, os.path.join(self.workdir, "vmlinuz"))
        shutil.copy(initrd, os.path.join(self.workdir, "initrd"))
        for x in ("", "vmlinuz", "initrd"):
            os.chown(os.path.join(self.workdir, x), pw.pw_uid, pw.pw_gid)
        self.xml = os.path.join(self.workdir, "domain.xml")
        with open(self.xml, "w") as f:
            f.write(domain_xml(name, self.workdir, memory))

    def qemu_mem_path(self):
        """The mem-path on the domain's QEMU command line (ground truth)."""
        out = subprocess.run(["pgrep", "-f", f"guest={self.name},"],
                             capture_output=True, text=True).stdout.split()
        if len(out) != 1:
            raise RuntimeError(f"{len(out)} QEMU processes for {self.name}")
        with open(f"/proc/{out[0]}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace")
        m = re.search(r'"mem-path":"([^"]+)"', argv) or \
            re.search(r"mem-path=([^,\0]+)", argv)
        return m.group(1) if m else None

    def start_paused(self):
        self.daemon.virsh("create", "--paused", self.xml)

    def _launch(self, accel, timeout):
        start = time.monotonic()
        self.daemon.virsh("create", self.xml)
        deadline = start + timeout
        while True:
            if os.path.exists(self.ctl_path):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    self.sock.connect(self.ctl_path)
                    break
                except OSError:
                    self.sock.close()
                    self.sock = None
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        self.buf = b""
        self.proc = self   # _read_until asks proc.poll() whether QEMU runs
        try:
            self._read_until(b"@@ready\n", deadline)
        except haywire_vm.GuestError:
            return False
        self.boot_seconds = time.monotonic() - start
        return True

    def poll(self):
        r = self.daemon.virsh("domstate", self.name, check=False)
        return None if r.stdout.strip() in ("running", "paused") else 1

    returncode = None

    def _kill(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        self.daemon.virsh("destroy", self.name, check=False)


def run(vt, tap, kernel, images):
    why = skip_reason()
    if why:
        tap.n += 1
        print(f"ok {tap.n} {kernel} {CONFIG} # SKIP {why}")
        return
    vmlinuz, initrd, _ = images
    daemon = None
    domains = []
    try:
        daemon = Libvirtd()
        shared = Domain(daemon, "hw-shared", vmlinuz, initrd)
        domains.append(shared)
        shared.start()
        tap.note(f"{kernel} {CONFIG}: hw-shared booted in {shared.boot_seconds:.1f} s")
        shared.run(f"insmod /lib/modules/haywire.ko interval_ms={INTERVAL_MS}")
        for name, memory in (("hw-private", "private"), ("hw-anon", "anon")):
            d = Domain(daemon, name, vmlinuz, initrd, memory)
            domains.append(d)
            d.start_paused()
        defined = Domain(daemon, "hw-defined", vmlinuz, initrd)
        domains.append(defined)
        daemon.virsh("define", defined.xml)
        checks(vt, tap, kernel, daemon, shared)
    except Exception as e:
        tap.result(f"{kernel} {CONFIG} ran to the end",
                   [f"{type(e).__name__}: {e}"] +
                   ([daemon.log_tail()] if daemon else []))
    finally:
        for d in domains:
            d.stop()
        if daemon:
            daemon.stop()


def hw(vt, daemon, *args, timeout=120):
    return subprocess.run([vt.HAYWIRE, "--libvirt-uri", daemon.uri, *args],
                          capture_output=True, text=True, timeout=timeout)


def proc_count(d):
    return len([x for x in d.run("ls /proc")[1].split() if x.isdigit()])


def metrics(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def checks(vt, tap, kernel, daemon, shared):
    def check(what, fn):
        try:
            diffs = fn()
        except Exception as e:
            diffs = [f"{type(e).__name__}: {e}"]
        tap.result(f"{kernel} {CONFIG} {what}", diffs)

    def finds_file():
        path = shared.qemu_mem_path()
        if not path or not path.startswith(daemon.shm + "/"):
            return [f"QEMU's mem-path {path!r} is not under libvirt's "
                    f"memory_backing_dir {daemon.shm}"]
        deadline = time.monotonic() + WAIT
        while True:
            by_name = hw(vt, daemon, "--domain", "hw-shared", "--json", "info")
            if by_name.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        by_file = subprocess.run([vt.HAYWIRE, "--mem", path, "--json", "info"],
                                 capture_output=True, text=True, timeout=120)
        if by_name.returncode or by_file.returncode:
            return [f"info by name: exit {by_name.returncode} {by_name.stderr.strip()}",
                    f"info by file: exit {by_file.returncode} {by_file.stderr.strip()}"]
        a, b = json.loads(by_name.stdout), json.loads(by_file.stdout)
        if a["nonce"] != b["nonce"]:
            return [f"--domain read beacon nonce {a['nonce']}, the RAM file "
                    f"{path} has {b['nonce']}"]
        return []

    def ps_round():
        truth = vt.Machine.take_truth(shared)
        end = truth["boot_ns_end"]
        deadline = time.monotonic() + WAIT
        while True:
            info = json.loads(hw(vt, daemon, "--domain", "hw-shared",
                                 "--json", "info").stdout or "{}")
            if info.get("publish_boot_ns", 0) > end:
                break
            if time.monotonic() > deadline:
                return [f"no snapshot after the truth; last info {info}"]
            time.sleep(0.1)
        r = hw(vt, daemon, "--domain", "hw-shared", "--json", "ps")
        if r.returncode:
            return [f"ps exited {r.returncode}: {r.stderr.strip()}"]
        ps = json.loads(r.stdout)
        alive = vt.Machine.alive_pids(shared)
        return vt.compare.check_ps(vt.compare.Pairing(truth, ps, alive))

    def ps_matches():
        # The truth and the snapshot are a moment apart: a process may
        # run or fault in between (the guest's init answering the test
        # first of all). As the main scenario, a few rounds.
        for attempt in range(1, vt.ATTEMPTS + 1):
            diffs = ps_round()
            if not diffs:
                return []
            tap.note(f"{kernel} {CONFIG} ps attempt {attempt}: {diffs[:3]}")
        return diffs

    def refuses():
        want = {"hw-private": "not shared", "hw-anon": "not file-backed",
                "hw-defined": "not running", "hw-nosuch": "no such domain"}
        diffs = []
        for name, words in want.items():
            r = hw(vt, daemon, "--domain", name, "ps")
            lines = r.stderr.strip().splitlines()
            if r.returncode != 1 or len(lines) != 1 or words not in lines[0] \
                    or r.stdout:
                diffs.append(f"--domain {name}: exit {r.returncode}, stderr "
                             f"{r.stderr.strip()!r} (want exit 1 and one line "
                             f"saying '{words}')")
        return diffs

    def exporter():
        low = proc_count(shared)
        r = hw(vt, daemon, "exporter", "--libvirt-all", "--scrapes", "2")
        high = proc_count(shared)
        if r.returncode:
            return [f"exporter --libvirt-all exited {r.returncode}: {r.stderr.strip()}"]
        m = metrics(r.stdout)
        diffs = []

        def want(name, labels, value):
            got = m.get((name, frozenset(labels.items())))
            if got != value:
                diffs.append(f"{name}{labels}: {got}, want {value}")

        want("haywire_up", {"vm": "hw-shared"}, 1)
        want("haywire_up_reason", {"vm": "hw-shared", "reason": "ok"}, 1)
        for name in ("hw-private", "hw-anon"):
            want("haywire_up", {"vm": name}, 0)
            want("haywire_up_reason", {"vm": name, "reason": "not_shared"}, 1)
        if any(lab == frozenset({("vm", "hw-defined")}) for _, lab in m):
            diffs.append("--libvirt-all lists hw-defined, which is not running")
        n = m.get(("haywire_processes", frozenset({("vm", "hw-shared")})))
        if n is None or not low - 2 <= n <= high + 2:
            diffs.append(f"haywire_processes{{vm=hw-shared}} {n}, the guest "
                         f"counted {low} then {high}")
        scrape = re.search(r"^haywire_exporter_scrape_seconds (\S+)$", r.stdout, re.M)
        tap.note(f"{kernel} {CONFIG} exporter --libvirt-all, 3 domains: scrape "
                 f"{float(scrape.group(1)) * 1e3 if scrape else float('nan'):.2f} ms")
        r = hw(vt, daemon, "exporter", "--libvirt", "hw-shared", "--libvirt",
               "hw-defined", "--libvirt", "hw-nosuch", "--scrapes", "1")
        m = metrics(r.stdout)
        want("haywire_up", {"vm": "hw-shared"}, 1)
        want("haywire_up_reason", {"vm": "hw-defined", "reason": "not_running"}, 1)
        want("haywire_up_reason", {"vm": "hw-nosuch", "reason": "no_domain"}, 1)
        return diffs

    check("--domain finds the RAM file QEMU maps", finds_file)
    check("--domain ps matches /proc", ps_matches)
    check("--domain refuses domains it cannot read, with the reason", refuses)
    check("exporter --libvirt-all and --libvirt", exporter)
