"""An independent reader of the beacon for the stress tests: it follows
docs/protocol.md with its own code (not libhaywire, whose own checks would
hide what the module published) and checks each snapshot it accepts for
internal consistency.

Reading: s1 = seq (odd: retry); copy the index and the sections; s2 = seq;
s1 != s2, or the magic or nonce changed: discard and retry.
"""

import mmap
import struct
import time

HW_MAGIC = 0x4e4f434145425748
INDEX_SIZE = 4096
SEC_PROCS, SEC_VMAS, SEC_STRINGS, SEC_STATS = 1, 2, 3, 4
PROC = struct.Struct("<iiiIIIIIIc3x16s4Q2I3I4x16x")
VMA = struct.Struct("<4Q4I2I8x")
PAGE = 4096
USER_TOP = 1 << 47  # x86-64 with 4-level paging (the stress guest)
PF_MM_BUSY, PF_VMAS_SKIPPED, PF_BUDGET_CUT = 1 << 3, 1 << 5, 1 << 7
PF_VMAS_TRUNCATED = 1 << 4
assert PROC.size == 128 and VMA.size == 64

# hw_stats fields by offset (docs/protocol.md), u64 unless noted
STATS = {"refreshes": 0, "last_refresh_ns": 16, "last_walk_procs_ns": 24,
         "last_walk_vmas_ns": 32, "last_publish_ns": 40, "budget_overruns": 80,
         "grow_events": 96,
         "last_max_hold_ns": 136, "max_hold_ns": 144, "last_total_ns": 152,
         "last_budget_skipped": 160, "last_budget_cut": 168,
         "budget_ns": 184, "staging_bytes": 200, "last_cameras_ns": 208}
STATS32 = {"last_start_pid": 176, "next_start_pid": 180,
           "last_max_hold_pid": 192}


class Torn(Exception):
    """The copy overlapped an update (or an unload): discard it."""


class Reader:
    def __init__(self, ram_path, index_offset, gpa_to_offset):
        """gpa_to_offset(gpa) -> file offset or None (vmtest's map)."""
        self.f = open(ram_path, "rb")
        self.mm = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        self.index_offset = index_offset
        self.gpa_to_offset = gpa_to_offset
        self.nonce = None

    def close(self):
        self.mm.close()
        self.f.close()

    def u32(self, off):
        return struct.unpack_from("<I", self.mm, off)[0]

    def seq(self):
        return self.u32(self.index_offset + 128)

    def logical(self, extents, off, n):
        """Bytes [off, off + n) of the logical space, across extents."""
        out = bytearray()
        base = 0
        for start, size in extents:
            if n and off < base + size:
                take = min(n, base + size - off)
                fo = self.gpa_to_offset(start + off - base)
                if fo is None or fo + take > len(self.mm):
                    raise ValueError(f"extent GPA {start:#x} is outside the RAM file")
                out += self.mm[fo:fo + take]
                off += take
                n -= take
            base += size
        if n:
            raise ValueError(f"logical range ends {n} bytes past the extents")
        return bytes(out)

    def copy(self):
        """One copy of the index and the snapshot sections; raises Torn,
        or ValueError for a copy that seq says is whole but is not."""
        s1 = self.seq()
        # an unloaded module leaves seq odd for good: say it is gone
        if struct.unpack_from("<Q", self.mm, self.index_offset)[0] != HW_MAGIC:
            raise Torn("magic gone")
        if s1 & 1:
            raise Torn("odd seq")
        try:
            return self.copy_at(s1)
        except ValueError:
            # garbage read mid-update is no fault: only if seq held
            if self.seq() != s1:
                raise Torn("seq changed")
            raise

    def copy_at(self, s1):
        ix = self.mm[self.index_offset:self.index_offset + INDEX_SIZE]
        magic, nonce = struct.unpack_from("<Q", ix, 0)[0], struct.unpack_from("<Q", ix, 16)[0]
        if magic != HW_MAGIC:
            raise Torn("magic gone")
        if self.nonce is not None and nonce != self.nonce:
            raise Torn("nonce changed")
        self.nonce = nonce
        (gen,) = struct.unpack_from("<Q", ix, 136)
        ext_count, = struct.unpack_from("<I", ix, 172)
        sec_count, = struct.unpack_from("<I", ix, 184)
        if ext_count > 64 or sec_count > 16:
            raise ValueError(f"extent_count {ext_count} or section_count {sec_count} out of range")
        extents = [struct.unpack_from("<QQ", ix, 248 + 16 * i) for i in range(ext_count)]
        secs = {}
        for i in range(sec_count):
            kind, esize, off, count = struct.unpack_from("<IIQQ", ix, 1784 + 32 * i)
            secs[kind] = (esize, off, count)
        data = {}
        logical_size = sum(size for _, size in extents)
        for kind in (SEC_PROCS, SEC_VMAS, SEC_STRINGS, SEC_STATS):
            esize, off, count = secs.get(kind, (0, 0, 0))
            if off + esize * count > logical_size:
                raise ValueError(f"section {kind} [{off}, +{esize} x {count}) is "
                                 f"past the {logical_size}-byte beacon")
            data[kind] = (esize, count, self.logical(extents, off, esize * count)
                          if count else b"")
        if self.seq() != s1:
            raise Torn("seq changed")
        return {"generation": gen, "flags": struct.unpack_from("<I", ix, 132)[0],
                "procs_total": struct.unpack_from("<I", ix, 192)[0],
                "sections": data}

    def read(self, tries=1000):
        """A consistent copy, decoded: (snapshot, discarded copies). Retries
        1 ms apart: a TCG vCPU may be descheduled in the middle of a
        publication for a while."""
        torn = 0
        why = None
        for _ in range(tries):
            try:
                raw = self.copy()
            except Torn as e:
                torn += 1
                why = e
                time.sleep(0.001)
                continue
            return decode(raw), torn
        raise Torn(f"no consistent copy in {tries} tries over 1 ms apart; last: {why}")


def decode(raw):
    esize, n, procs_b = raw["sections"][SEC_PROCS]
    procs = [PROC.unpack_from(procs_b, i * esize) for i in range(n)]
    esize_v, nv, vmas_b = raw["sections"][SEC_VMAS]
    vmas = [VMA.unpack_from(vmas_b, i * esize_v) for i in range(nv)]
    _, _, strings = raw["sections"][SEC_STRINGS]
    _, ns, stats_b = raw["sections"][SEC_STATS]
    stats = {}
    if ns:
        stats = {k: struct.unpack_from("<Q", stats_b, o)[0] for k, o in STATS.items()}
        stats.update({k: struct.unpack_from("<i", stats_b, o)[0]
                      for k, o in STATS32.items()})
    return {"generation": raw["generation"], "flags": raw["flags"],
            "procs_total": raw["procs_total"], "procs": procs, "vmas": vmas,
            "strings": strings, "stats": stats}


def str_problem(strings, off, length, what):
    if off + length >= len(strings) or strings[off + length] != 0:
        return f"{what}: string [{off}, +{length}) is outside the {len(strings)}-byte table or not NUL-terminated"
    return None


def check(snap):
    """Internal consistency of one snapshot: a list of problems."""
    bad = []
    procs, vmas, strings = snap["procs"], snap["vmas"], snap["strings"]
    gen = snap["generation"]
    if strings[:1] != b"\0" and strings:
        bad.append(f"gen {gen}: string table does not begin with the empty string")
    used = []
    last_pid = None
    for p in procs:
        (pid, tgid, ppid, flags, uid, gid, euid, egid, threads, state, comm,
         start, vsize, rss, pgd, exe_off, exe_len, first, count, total) = p
        if last_pid is not None and pid <= last_pid:
            bad.append(f"gen {gen}: pid {pid} after {last_pid}: not unique and sorted")
        last_pid = pid
        if b"\0" not in comm:
            bad.append(f"gen {gen}: pid {pid}: comm not NUL-terminated")
        problem = str_problem(strings, exe_off, exe_len, f"gen {gen}: pid {pid} exe")
        if problem:
            bad.append(problem)
        if first + count > len(vmas) or count > total:
            bad.append(f"gen {gen}: pid {pid}: VMAs [{first}, +{count}) of {total} outside the {len(vmas)}-record table")
            continue
        if count and flags & (PF_MM_BUSY | PF_VMAS_SKIPPED):
            bad.append(f"gen {gen}: pid {pid}: {count} VMAs but flags {flags:#x} say not walked")
        if count:
            used.append((first, first + count, pid))
        prev_end = 0
        for v in vmas[first:first + count]:
            vs, ve, voff, inode, dmaj, dmin, vflags, _, name_off, name_len = v
            if not (vs < ve <= USER_TOP) or vs % PAGE or ve % PAGE:
                bad.append(f"gen {gen}: pid {pid}: VMA {vs:#x}-{ve:#x} empty, unaligned or outside user space")
            if vs < prev_end:
                bad.append(f"gen {gen}: pid {pid}: VMA {vs:#x}-{ve:#x} overlaps or precedes the one before (ends {prev_end:#x})")
            prev_end = max(prev_end, ve)
            problem = str_problem(strings, name_off, name_len,
                                  f"gen {gen}: pid {pid} VMA {vs:#x} name")
            if problem:
                bad.append(problem)
    used.sort()
    for (a0, a1, pa), (b0, b1, pb) in zip(used, used[1:]):
        if b0 < a1:
            bad.append(f"gen {gen}: pids {pa} and {pb} share VMA records [{b0}, {a1})")
    return bad
