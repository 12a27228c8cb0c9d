#!/usr/bin/python3
"""Seeds for fuzz_answer: well-formed answers of every kind (see the
harness for the input layout), written into the directory given."""

import os
import struct
import sys

PING, REFRESH, DETAIL, CAMERA_SET, CAMERA_CLEAR, TRANSLATE, READ = range(1, 8)


NONCE = 0x1122334455667788
RAW_ECHO, NEW_WINDOWS = 1, 2


def request(rtype, pid, addr, length, flags=0):
    return struct.pack("<BiQQB", rtype, pid, addr, length, flags)


def chunk(rtype, data=b"", status=0, cursor=0, total=0, values=(0, 0, 0, 0),
          echo=(0, 0, 0, 0, 0)):
    """A response; echo (pid, arg, addr, len, cursor asked) only counts
    with RAW_ECHO (the harness fills it in otherwise)."""
    header = struct.pack("<IIQQIIQQ4QiIQQQQQ", 1, status, 7, 9, rtype,
                         len(data), cursor, total, *values, *echo, NONCE, 1)
    assert len(header) == 128
    return header + data


def run(va, length, state, gpa=0, shift=12, flags=3):
    return struct.pack("<QQQBBHI", va, length, gpa, state,
                       shift if state else 0, flags, 0)


def detail(pid, cmdline, cwd):
    d = struct.pack("<iI4I4IQQQQQQQQQQQQQIiIIc3xIII16x", pid, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0x1ff, 0x1ff, 10, 20, 30, 1,
                    5, 2, 0, 0, 1 << 9, 0, 1 << 16, 1, 0, 0, 17, b"S",
                    len(cmdline), len(cwd), 0)
    assert len(d) == 192
    return d + cmdline + cwd


def main():
    out = sys.argv[1]
    seeds = {
        "ping": request(PING, 0, 0, 0) + chunk(PING, values=(123, 4, 0, 0)),
        "refresh": request(REFRESH, 0, 0, 0) + chunk(REFRESH, values=(5, 0, 0, 0)),
        "camera": request(CAMERA_SET, 1, 0, 0) + chunk(CAMERA_SET, values=(6, 0, 0, 0)),
        "read": request(READ, 1, 0x1000, 64) +
        chunk(READ, bytes(range(40)), cursor=11, total=64) +
        chunk(READ, bytes(range(24)), total=64),
        "read-unmapped": request(READ, 1, 0x1000, 64) +
        chunk(READ, status=4, values=(0x1010, 0, 0, 0)),
        "translate": request(TRANSLATE, 1, 0x400000, 0x5000) +
        chunk(TRANSLATE, run(0x400000, 0x2000, 1, 0x100000), cursor=3) +
        chunk(TRANSLATE, run(0x402000, 0x1000, 2) + run(0x403000, 0x2000, 0),
              total=3),
        "translate-huge": request(TRANSLATE, 1, 0x40000000, 0x40000000) +
        chunk(TRANSLATE, run(0x40000000, 0x40000000, 1, 0x80000000, 30, 7)),
        "detail": request(DETAIL, 42, 0, 0) +
        chunk(DETAIL, detail(42, b"prog\0arg\0", b"/home")),
        "detail-split": request(DETAIL, 42, 0, 0) +
        chunk(DETAIL, detail(42, b"x\0", b"/")[:100], cursor=5, total=195) +
        chunk(DETAIL, detail(42, b"x\0", b"/")[100:], total=195),
        "refused": request(READ, 1, 0, 16) + chunk(READ, status=5),
        "torn": request(READ, 1, 0, 16) + chunk(READ, status=12),
        "wrong-beacon": request(PING, 0, 0, 0) + chunk(PING, status=13),
        "read-echo": request(READ, 1, 0x1000, 64, RAW_ECHO) +
        chunk(READ, bytes(range(40)), cursor=11, total=64,
              echo=(1, 0, 0x1000, 64, 0)) +
        chunk(READ, bytes(range(24)), total=64,
              echo=(1, 0, 0x1000, 64, 11)),
        "translate-windows": request(TRANSLATE, 1, 0x400800, 0x4800,
                                     NEW_WINDOWS) +
        chunk(TRANSLATE, run(0x400800, 0x800, 1, 0x100800), cursor=3) +
        chunk(TRANSLATE, run(0x401000, 0x1000, 1, 0x101000) +
              run(0x402000, 0x3000, 0), total=2),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
