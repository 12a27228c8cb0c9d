#!/usr/bin/python3
"""A fake QMP server for the command's bad-input tests (tests/badinput.sh).

    fakeqmp.py SOCKET MODE [RAM_FILE]

Listens on the unix socket SOCKET and serves one client after another
until killed. MODE:

  good         a QEMU whose memory backend 'ram' is RAM_FILE, mapped at
               guest-physical 0 (info mtree -f), with a first CPU in 64-bit
               mode whose page tables (CR3 0x1000) are whatever RAM_FILE
               holds; pmemsave writes the asked-for bytes of RAM_FILE
  malformed    greeting, then a reply that is not JSON
  silent       greeting, then never answers
  close        greeting, then closes the connection in the middle of a reply
  nogreeting   accepts and says nothing
  hmp          an HMP monitor's banner instead of QMP
  error        every command fails with a QEMU error
  arm64        as good, but an arm64 virt guest: RAM_FILE at 0x40000000 and
               QEMU's aarch64 "info registers" (no system register)
"""

import json
import os
import socket
import sys
import time

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                                "package": "fake"}, "capabilities": []}}
REGISTERS = ("RIP=ffffffff81000000 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1\r\n"
             "GS =0000 ffff888000000000 00000000 00000000\r\n"
             "CR0=80050033 CR2=0000000000000000 CR3=0000000000001000 "
             "CR4=000006b0\r\nEFER=0000000000000d01\r\n")

ARM64_REGISTERS = (" PC=ffff800008000000 X00=0000000000000000 "
                   "X01=0000000000000000\r\nPSTATE=400003c5 -Z-- EL1h\r\n")
VIRT_RAM_BASE = 0x40000000


def send(conn, obj):
    conn.sendall(json.dumps(obj).encode() + b"\r\n")


def requests(conn):
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        if line.strip():
            yield json.loads(line)


def answer_good(req, ram, arm64=False):
    cmd, args = req.get("execute"), req.get("arguments", {})
    size = os.path.getsize(ram)
    base = VIRT_RAM_BASE if arm64 else 0
    if cmd == "qom-list":
        return {"return": [{"name": "type", "type": "string"},
                           {"name": "ram", "type": "child<memory-backend-file>"}]}
    if cmd == "qom-get":
        value = {"size": size, "mem-path": ram}.get(args.get("property"))
        if value is None:
            return {"error": {"class": "GenericError", "desc": "no such property"}}
        return {"return": value}
    if cmd == "human-monitor-command":
        line = args.get("command-line")
        if line == "info mtree -f":
            return {"return": "FlatView #0\r\n AS \"memory\", root: system\r\n"
                    " Root memory region: system\r\n"
                    f"  {base:016x}-{base + size - 1:016x} (prio 0, ram): ram\r\n"}
        if line == "info registers":
            return {"return": ARM64_REGISTERS if arm64 else REGISTERS}
        return {"return": f"unknown command: '{line}'\r\n"}
    if cmd == "pmemsave":
        with open(ram, "rb") as src, open(args["filename"], "wb") as dst:
            if not base <= args["val"] < base + size:
                return {"error": {"class": "GenericError",
                                  "desc": "Invalid addr"}}
            src.seek(args["val"] - base)
            dst.write(src.read(args["size"]))
        return {"return": {}}
    return {"error": {"class": "CommandNotFound",
                      "desc": f"The command {cmd} has not been found"}}


def serve(conn, mode, ram):
    if mode == "nogreeting":
        while conn.recv(4096):
            pass
        return
    if mode == "hmp":
        conn.sendall(b"QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ")
        while conn.recv(4096):
            pass
        return
    send(conn, GREETING)
    for req in requests(conn):
        rid = req.get("id")
        if req.get("execute") == "qmp_capabilities":
            send(conn, {"return": {}, "id": rid})
        elif mode == "malformed":
            conn.sendall(b'{"return": [1, 2,\r\n')
        elif mode == "silent":
            pass
        elif mode == "close":
            conn.sendall(b'{"return": {"sta')
            return
        elif mode == "error":
            send(conn, {"error": {"class": "GenericError",
                                  "desc": "fake QEMU refuses"}, "id": rid})
        else:
            reply = answer_good(req, ram, mode == "arm64")
            reply["id"] = rid
            send(conn, reply)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    ram = sys.argv[3] if len(sys.argv) > 3 else None
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, mode, ram)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        time.sleep(0)
