#!/usr/bin/python3
"""Boot a Debian kernel under QEMU with guest RAM in a shared file.

Used by the tests, the demo and the benchmarks. Guest RAM is a
memory-backend-file (share=on) so the host can read it; the first serial
port is the kernel console (a log file), the second is a command channel
(a virtio serial port) served by tests/guest/init: send one shell command
line, read its output up to "@@rc N".

KVM is used when it actually boots a guest; otherwise (for example when
/dev/kvm exists but does not work) TCG. The probe result is cached per host
boot in the project cache. A guest of another architecture (arm64 on an
x86-64 host) always runs under TCG.

As a command:  tools/haywire_vm.py --kernel 6.1 --mem 512M [--machine q35]
               (--kernel 6.1-arm64 boots an arm64 guest on a virt machine)
               [--initrd FILE] [--keep]   boots, prints the RAM file path,
               and serves the command channel on stdin/stdout.

Kernel specs: 6.1, 6.12 (Debian cloud kernels, tools/fetch-kernels.sh),
6.1-arm64, and debug-6.1: the debug kernel tools/build-debug-kernel.sh
builds from Debian's linux-source-6.1 (lockdep, KASAN, ...; `make
check-debug`). A debug guest prints warnings on its console too and is given
longer to boot.
"""

import argparse
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("HAYWIRE_CACHE", os.path.join(TOP, ".cache"))

QEMU = {"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}

# QEMU 7.2's TCG (Debian bookworm) intermittently corrupts SMP 6.12 guests in
# SLUB's per-CPU cmpxchg16b fast path (kmem_cache_alloc panics, no Haywire
# module needed). Without cx16 the guest takes its fallback path. qemu64 is
# QEMU's default model, so this removes only cx16, and only under TCG.
TCG_X86_CPU = "qemu64,-cx16"

# arm64 guests get every CPU feature TCG emulates ("max"), but with QEMU's
# cheap implementation-defined pointer-authentication algorithm instead of
# the architected QARMA one: same kernel code paths, and a 6.1 guest boots
# in about 2 s instead of 8 s under TCG. Only under TCG (a TCG property).
TCG_ARM64_CPU = "max,pauth-impdef=on"

# The guest architecture this machine's KVM could run, in Debian's names.
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine)


class GuestError(Exception):
    pass


def parse_size(text):
    """'512M' / '4G' / bytes -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = str(text).strip().upper()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


DEBUG_SPECS = {"debug-6.1": "build-debug-kernel.sh"}


def is_debug(spec):
    """A debug kernel built from source (tools/build-debug-kernel.sh)."""
    return spec in DEBUG_SPECS


def spec_arch(spec):
    """A kernel spec's architecture: '6.1-arm64' -> 'arm64', '6.12' -> 'amd64'."""
    if is_debug(spec):
        return "amd64"
    return spec.split("-", 1)[1] if "-" in spec else "amd64"


def kernel_dir(spec):
    """Fetch or build (if needed) and return the cache directory of a kernel
    spec; both tools print it last, in the same layout."""
    tool = DEBUG_SPECS.get(spec, "fetch-kernels.sh")
    args = [] if is_debug(spec) else [spec]
    out = subprocess.run([os.path.join(TOP, "tools", tool), *args],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def guest_options(spec):
    """Guest() arguments a kernel spec needs. A debug kernel's checkers
    report at KERN_WARNING (lockdep, ODEBUG, WARN) and KERN_ERR (KASAN):
    "quiet loglevel=4" prints only below KERN_WARNING on the console, so its
    console gets loglevel 5. Under TCG, KASAN and lockdep make it boot
    several times slower."""
    if is_debug(spec):
        return {"console_loglevel": 5, "boot_timeout": 900}
    return {}


# KASAN's shadow (an eighth of RAM), lockdep's tables and the larger kernel
# come out of a debug guest's RAM: it gets this much more than the
# configuration says, so that the workloads sized for it still fit (measured
# on 6.1: MemTotal 311 MiB of 768 MiB, 524 MiB of 1 GiB; a 512 MiB cloud
# guest has about 470 MiB).
DEBUG_EXTRA_MEM = 512 << 20


def guest_mem(spec, mem):
    """The RAM (bytes) a guest of this kernel spec gets for a configuration
    of `mem` (bytes)."""
    return mem + DEBUG_EXTRA_MEM if is_debug(spec) else mem


def _host_boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def _cached_accel():
    path = os.path.join(CACHE, "accel")
    try:
        with open(path) as f:
            boot, accel = f.read().split()
        if boot == _host_boot_id():
            return accel
    except (OSError, ValueError):
        pass
    return None


def _store_accel(accel):
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "accel"), "w") as f:
        f.write(f"{_host_boot_id()} {accel}\n")


class Guest:
    """One running guest. Use as a context manager or call stop()."""

    def __init__(self, kernel, initrd, mem="512M", machine="q35", arch="amd64",
                 smp=2, cmdline="", accel=None, qmp=False, cpu=None,
                 boot_timeout=120, workdir=None, ram_dir=None, dimm=None,
                 console_loglevel=4):
        self.kernel = kernel
        self.initrd = initrd
        self.mem_bytes = parse_size(mem)
        self.machine = machine
        self.arch = arch
        self.smp = smp
        self.cmdline = cmdline
        self.boot_timeout = boot_timeout
        self.console_loglevel = console_loglevel
        self.cpu = cpu
        self.want_qmp = qmp
        self.workdir = workdir or tempfile.mkdtemp(prefix="haywire-vm-")
        self._own_workdir = workdir is None
        ram_dir = ram_dir or os.environ.get("HAYWIRE_RAM_DIR") or (
            "/dev/shm" if os.path.isdir("/dev/shm") else self.workdir)
        fd, self.ram_path = tempfile.mkstemp(prefix="haywire-ram-", dir=ram_dir)
        os.close(fd)
        # dimm="256M": one cold-plugged pc-dimm backed by its own shared
        # file (RAM beyond the boot map, in the guest's ACPI memory devices)
        self.dimm_bytes = parse_size(dimm) if dimm else 0
        self.dimm_path = None
        if dimm:
            fd, self.dimm_path = tempfile.mkstemp(prefix="haywire-dimm-",
                                                  dir=ram_dir)
            os.close(fd)
        self.console_path = os.path.join(self.workdir, "console.log")
        self.ctl_path = os.path.join(self.workdir, "ctl.sock")
        self.qmp_path = os.path.join(self.workdir, "qmp.sock") if qmp else None
        self.proc = None
        self.sock = None
        self.buf = b""
        self.accel = accel
        self.boot_seconds = None

    # -- lifecycle -------------------------------------------------------

    def _argv(self, accel):
        con = "ttyAMA0" if self.arch == "arm64" else "ttyS0"
        append = (f"console={con} panic=-1 oops=panic quiet "
                  f"loglevel={self.console_loglevel} {self.cmdline}").strip()
        mem = str(self.mem_bytes // (1 << 20))
        if self.dimm_bytes:
            mem += f",slots=2,maxmem={(self.mem_bytes + self.dimm_bytes) // (1 << 20)}M"
        argv = [QEMU[self.arch], "-accel", accel, "-smp", str(self.smp),
                "-m", mem,
                "-object", f"memory-backend-file,id=ram,size={self.mem_bytes},"
                f"mem-path={self.ram_path},share=on",
                "-machine", f"{self.machine},memory-backend=ram",
                "-kernel", self.kernel, "-initrd", self.initrd, "-append", append,
                "-display", "none", "-monitor", "none", "-nodefaults",
                "-no-reboot",
                "-chardev", f"file,id=con,path={self.console_path}",
                "-chardev", f"socket,id=ctl,path={self.ctl_path},server=on,wait=off"]
        if self.arch == "arm64":
            cpu = self.cpu or (TCG_ARM64_CPU if accel == "tcg" else "max")
            argv += ["-cpu", cpu, "-device", "virtio-serial-device",
                     "-device", "virtio-rng-device"]
        else:
            cpu = self.cpu or (TCG_X86_CPU if accel == "tcg" else None)
            if cpu:
                argv += ["-cpu", cpu]
            argv += ["-device", "virtio-serial-pci", "-device", "virtio-rng-pci"]
        argv += ["-serial", "chardev:con",
                 "-device", "virtserialport,chardev=ctl,name=haywire.ctl"]
        if self.qmp_path:
            argv += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if self.dimm_bytes:
            argv += ["-object", f"memory-backend-file,id=dimm0,size={self.dimm_bytes},"
                     f"mem-path={self.dimm_path},share=on",
                     "-device", "pc-dimm,id=dimm0dev,memdev=dimm0"]
        return argv

    def _launch(self, accel, timeout):
        for p in (self.ctl_path, self.console_path):
            if os.path.exists(p):
                os.unlink(p)
        start = time.monotonic()
        self.proc = subprocess.Popen(self._argv(accel), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = start + timeout
        while not os.path.exists(self.ctl_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        # The socket file can exist a moment before QEMU listens on it.
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(self.ctl_path)
                break
            except OSError:
                self.sock.close()
                self.sock = None
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    return False  # start() kills QEMU
                time.sleep(0.02)
        self.buf = b""
        try:
            self._read_until(b"@@ready\n", deadline)
        except GuestError:
            return False
        self.boot_seconds = time.monotonic() - start
        return True

    def start(self):
        accels = [self.accel] if self.accel else None
        if accels is None and self.arch != HOST_ARCH:
            accels = ["tcg"]  # KVM runs only the host's own architecture
        if accels is None:
            cached = _cached_accel()
            accels = [cached] if cached else ["kvm", "tcg"]
        for accel in accels:
            # A KVM that does not work either fails at once or never boots:
            # give it a short leash and fall back to TCG.
            timeout = 30 if accel == "kvm" and len(accels) > 1 else self.boot_timeout
            if self._launch(accel, timeout):
                self.accel = accel
                if not self.accel or len(accels) > 1:
                    _store_accel(accel)
                return self
            self._kill()
        raise GuestError(f"guest did not boot (accelerators tried: {', '.join(accels)}); "
                         f"console log:\n{self.console_tail()}")

    def _kill(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self._kill()
        for path in (self.ram_path, self.dimm_path):
            if path and os.path.exists(path):
                os.unlink(path)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- command channel -------------------------------------------------

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"timeout waiting for {marker!r} from the guest")
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited ({self.proc.returncode}); console:\n"
                                 f"{self.console_tail()}")
            r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if r:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise GuestError("guest command channel closed")
                self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def run(self, command, timeout=60, check=True):
        """Run one shell command line in the guest; return (rc, output)."""
        if "\n" in command:
            raise ValueError("one line per command")
        try:
            self.sock.sendall(command.encode() + b"\n")
        except OSError as e:  # the guest is gone (rebooted, died)
            raise GuestError(f"guest command channel closed: {e}") from e
        deadline = time.monotonic() + timeout
        out = self._read_until(b"@@rc ", deadline)
        tail = self._read_until(b"\n", deadline)
        rc = int(tail.strip())
        text = out[:-len(b"@@rc ")].decode(errors="replace")
        if check and rc != 0:
            raise GuestError(f"guest command failed ({rc}): {command}\n{text}")
        return rc, text

    def console_tail(self, lines=40):
        try:
            with open(self.console_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no console log)"

    def console(self):
        try:
            with open(self.console_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", default="6.1",
                    help="kernel spec (6.1, 6.12, 6.1-arm64, debug-6.1)")
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--machine", help="default: q35 (amd64), virt (arm64)")
    ap.add_argument("--accel")
    ap.add_argument("--cmdline", default="")
    args = ap.parse_args()
    kdir = kernel_dir(args.kernel)
    arch = spec_arch(args.kernel)
    machine = args.machine or ("virt" if arch == "arm64" else "q35")
    g = Guest(os.path.join(kdir, "vmlinuz"), args.initrd, mem=args.mem,
              machine=machine, arch=arch, accel=args.accel, cmdline=args.cmdline,
              **guest_options(args.kernel))
    with g:
        print(f"booted in {g.boot_seconds:.1f}s with {g.accel}; RAM file {g.ram_path}",
              flush=True)
        for line in sys.stdin:
            rc, out = g.run(line.rstrip("\n"), check=False, timeout=600)
            sys.stdout.write(out)
            print(f"[rc {rc}]", flush=True)


if __name__ == "__main__":
    main()
