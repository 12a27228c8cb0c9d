#!/usr/bin/python3
"""make demo: boot a small guest with the Haywire module and read it live.

Fetches the Debian 6.1 cloud kernel into the project cache, builds the module
and the host command, boots a 1 GiB q35 guest under QEMU with its RAM in a
shared file, loads the module, starts a few services, and shows the guest's
live process list as the host reads it straight from guest RAM. With
--interactive the guest keeps running so you can try `haywire` yourself.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import haywire_vm  # noqa: E402

TOP = haywire_vm.TOP
HAYWIRE = os.path.join(TOP, "build", "haywire")


def step(text):
    print(f"\n== {text}", flush=True)


def sh(argv, **kw):
    return subprocess.run(argv, check=True, cwd=TOP, **kw)


def haywire(ram, *args):
    """Run the host command against the guest's RAM file and show it."""
    cmd = [HAYWIRE, "--mem", ram, *args]
    print("$ haywire " + " ".join(args), flush=True)
    r = subprocess.run(cmd, text=True, capture_output=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", default="6.1", help="kernel series: 6.1 or 6.12")
    ap.add_argument("--interactive", action="store_true",
                    help="keep the guest running until Ctrl-C")
    args = ap.parse_args()

    step(f"fetching the Debian {args.kernel} cloud kernel (cached in .cache/)")
    kc = haywire_vm.kernel_dir(args.kernel)
    release = open(os.path.join(kc, "release")).read().strip()
    print(release)

    step("building the host command and the guest module")
    sh(["make", "-s", "host"])
    ko = sh([os.path.join(TOP, "tools", "build-module.sh"), os.path.join(kc, "kdir")],
            capture_output=True, text=True).stdout.strip()
    print(HAYWIRE)
    print(ko)
    initrd = os.path.join(TOP, "build", "demo", f"initrd-{release}.cpio.gz")
    sh([os.path.join(TOP, "tools", "mkinitramfs.sh"), initrd, kc, ko])

    step("booting a 1 GiB q35 guest (RAM in a shared memory-backend-file)")
    guest = haywire_vm.Guest(os.path.join(kc, "vmlinuz"), initrd, mem="1G")
    with guest:
        ram = guest.ram_path
        print(f"booted in {guest.boot_seconds:.1f} s with {guest.accel}; guest RAM file: {ram}")

        step("in the guest: insmod haywire.ko interval_ms=200, start some services")
        guest.run("insmod /lib/modules/haywire.ko interval_ms=200")
        guest.run("syslogd; klogd; httpd -p 8080 -h /tmp; "
                  "(sleep 3600 &); (sleep 7200 &); true")
        time.sleep(0.5)

        step("on the host: what the beacon says")
        haywire(ram, "info")

        step("on the host: the guest's live process list, read from guest RAM")
        haywire(ram, "ps")

        step("on the host: a memory map, in /proc/PID/maps format")
        pid = guest.run("pidof httpd")[1].split()[0]
        haywire(ram, "maps", pid)

        step("live: start a process in the guest and watch it appear")
        guest.run("(sleep 4242 &)")
        time.sleep(0.5)
        r = subprocess.run([HAYWIRE, "--mem", ram, "ps"], text=True, capture_output=True)
        header = r.stdout.splitlines()[:1]
        rows = [line for line in r.stdout.splitlines() if "sleep" in line]
        print("$ haywire ps | grep sleep")
        print("\n".join(header + rows))

        if args.interactive:
            step("the guest keeps running; in another terminal try:")
            print(f"  {HAYWIRE} --mem {ram} ps")
            print(f"  {HAYWIRE} --mem {ram} --json info")
            print("Ctrl-C stops the guest.")
            try:
                while guest.proc.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        step("done: the guest is shut down")


if __name__ == "__main__":
    main()
