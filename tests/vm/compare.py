"""Compare what the host reads from the beacon with the guest's own /proc.

The ground truth is hw-truth's JSON (tests/guest/truth.c); the snapshot is
`haywire ps --json` plus `haywire maps PID --json` and text `maps PID` for
every user process. Each check returns a list of differences, one readable
line each; an empty list means the check passed.
"""

import difflib

PF_KTHREAD = 0x00200000  # /proc/PID/stat flags
PF_WQ_WORKER = 0x00000020
STATES = set("RSDTtXZPI")

# `ps --json` process fields and their JSON types (bool is not an int here)
PROC_FIELDS = {
    "pid": int, "ppid": int, "tgid": int, "uid": int, "gid": int,
    "euid": int, "egid": int, "state": str, "comm": str, "threads": int,
    "kthread": bool, "start_time_ns": int, "vsize_kb": int, "rss_kb": int,
    "pgd": str, "exe": (str, type(None)), "flags": list,
}


# process flag words the host contract names
CONTRACT_FLAGS = {"mm_busy", "vmas_skipped", "vmas_truncated", "no_mm",
                  "wq_worker"}


def flag_spelling_problems(ps):
    """Flag words spelled differently from the contract (e.g. "no-mm"),
    reported once; the comparisons below read them as the contract's."""
    seen = {f for p in ps.get("processes", []) if isinstance(p.get("flags"), list)
            for f in p["flags"] if isinstance(f, str)}
    odd = sorted(f for f in seen if f not in CONTRACT_FLAGS and
                 f.replace("-", "_") in CONTRACT_FLAGS)
    if not odd:
        return []
    return [f"ps --json flag words {odd} are not the contract's spelling "
            f"{sorted(f.replace('-', '_') for f in odd)}"]


def record_problems(rec):
    """Fields of a `ps --json` process that are missing or mistyped."""
    bad = []
    for key, kind in PROC_FIELDS.items():
        value = rec.get(key)
        if not isinstance(value, kind) or \
                (kind is int and isinstance(value, bool)):
            bad.append(f"{key}={value!r}")
    return bad


def hexint(text):
    """'0x1f' -> 31; anything else raises ValueError."""
    if not isinstance(text, str) or not text.startswith("0x"):
        raise ValueError(f"not a 0x hex string: {text!r}")
    return int(text, 16)


def is_kthread(truth_proc):
    return bool(truth_proc["flags"] & PF_KTHREAD)


def comm_matches(truth_proc, snap_comm, wq_worker):
    """The beacon carries task->comm; /proc shows more for some kthreads."""
    shown = truth_proc["comm"]
    if shown == snap_comm:
        return True
    if not is_kthread(truth_proc) or not snap_comm or \
            not shown.startswith(snap_comm):
        return False
    # a kernel thread whose full name is longer than task->comm holds
    # (including 6.12's "kworker/R-<workqueue>" rescuers)
    if len(snap_comm) == 15:
        return True
    # a workqueue worker: "<comm>-<workqueue>" ("+" while it runs a work)
    return wq_worker and shown[len(snap_comm)] in "-+"


class Pairing:
    """Which processes of the truth and of the snapshot to compare.

    Processes that started after the truth began, or that are gone by the
    time the snapshot has been read (alive = pids seen afterwards), are left
    out; every other process must be on both sides.
    """

    def __init__(self, truth, ps, alive):
        self.ps = ps
        self.truth = {p["pid"]: p for p in truth["processes"]}
        self.snap = {p["pid"]: p for p in ps["processes"]}
        self.clk_ns = 10**9 // truth["clk_tck"]
        self.diffs = []
        self.pairs = []
        started = truth["boot_ns_start"]
        for pid in sorted(set(self.truth) | set(self.snap)):
            t, s = self.truth.get(pid), self.snap.get(pid)
            if pid == truth["self_pid"]:
                continue
            if s and not t:
                if s["start_time_ns"] > started or pid not in alive:
                    continue
                self.diffs.append(f"pid {pid} ({s['comm']}) is in the beacon "
                                  "but not in /proc")
            elif t and not s:
                if pid not in alive:
                    continue
                self.diffs.append(f"pid {pid} ({t['comm']}) is in /proc but "
                                  "not in the beacon")
            elif record_problems(s):
                self.diffs.append(f"pid {pid}: malformed beacon record: "
                                  + ", ".join(record_problems(s)))
            else:
                self.pairs.append((t, s))

    def user(self):
        return [(t, s) for t, s in self.pairs if not is_kthread(t)]


def check_ps(pairing):
    """Every field of every process record against /proc."""
    diffs = flag_spelling_problems(pairing.ps) + pairing.diffs
    for t, s in pairing.pairs:
        pid = t["pid"]
        kthread = is_kthread(t)
        flags = [f.replace("-", "_") for f in s["flags"] if isinstance(f, str)]
        wq_worker = "wq_worker" in flags

        def want(field, expected, actual):
            if expected != actual:
                diffs.append(f"pid {pid} ({t['comm']}): {field}: /proc "
                             f"{expected!r}, beacon {actual!r}")

        want("tgid", pid, s["tgid"])
        want("ppid", t["ppid"], s["ppid"])
        want("kthread", kthread, s["kthread"])
        want("uid", t["uid"], s["uid"])
        want("gid", t["gid"], s["gid"])
        want("euid", t["euid"], s["euid"])
        want("egid", t["egid"], s["egid"])
        want("threads", t["threads"], s["threads"])
        want("start time (clock ticks)", t["starttime"],
             s["start_time_ns"] // pairing.clk_ns)
        want("flag wq_worker", bool(t["flags"] & PF_WQ_WORKER), wq_worker)
        want("flag no_mm", not t["has_mm"], "no_mm" in flags)
        if not comm_matches(t, s["comm"], wq_worker):
            diffs.append(f"pid {pid}: comm: /proc {t['comm']!r}, beacon "
                         f"{s['comm']!r}")
        if kthread:
            if s["state"] not in STATES:
                diffs.append(f"pid {pid}: bad state {s['state']!r}")
            continue
        want("state", t["state"], s["state"])
        want("comm (/proc/PID/comm)", t["comm_file"], s["comm"])
        want("vsize_kb", t["vmsize_kb"], s["vsize_kb"])
        want("rss_kb", t["vmrss_kb"], s["rss_kb"])
        want("exe", t["exe"], s["exe"])
        for bad in ("mm_busy", "vmas_skipped", "vmas_truncated"):
            if bad in flags:
                diffs.append(f"pid {pid} ({t['comm']}): flag {bad}")
    return diffs


def truth_vmas(t):
    """The /proc/PID/maps lines the beacon must reproduce: all but x86-64's
    [vsyscall], which /proc adds although it is no VMA (arm64 has none)."""
    return [v for v in t["maps"] if v["path"] != "[vsyscall]"]


def beacon_vma(g):
    """A VMA of `maps --json` in hw-truth's terms; raises ValueError."""
    major, minor = (int(x, 16) for x in g["dev"].split(":"))
    return {"start": hexint(g["start"]), "end": hexint(g["end"]),
            "perms": g["perms"], "offset": hexint(g["offset"]),
            "dev_major": major, "dev_minor": minor, "inode": g["inode"],
            "path": g["path"]}


def check_maps_json(t, maps):
    """`haywire maps PID --json` against the parsed /proc/PID/maps."""
    pid = t["pid"]
    want = {v["start"]: v for v in truth_vmas(t)}
    got = {}
    diffs = []
    if maps.get("pid") != pid:
        diffs.append(f"pid {pid}: maps --json says pid {maps.get('pid')!r}")
    for g in maps.get("vmas", []):
        try:
            v = beacon_vma(g)
        except (KeyError, ValueError, AttributeError, TypeError) as e:
            diffs.append(f"pid {pid}: malformed VMA {g!r}: {e!r}")
            continue
        got[v["start"]] = v
    if list(got) != sorted(got):
        diffs.append(f"pid {pid}: VMAs not sorted by start address")
    for start in sorted(set(want) | set(got)):
        w, g = want.get(start), got.get(start)
        if not g:
            diffs.append(f"pid {pid}: VMA missing from the beacon: {w['line']!r}")
            continue
        if not w:
            diffs.append(f"pid {pid}: VMA not in /proc/PID/maps: {g!r}")
            continue
        # /proc escapes a newline in a path as \012; JSON needs no escape
        if isinstance(g["path"], str) and g["path"].replace("\n", "\\012") == w["path"]:
            g["path"] = w["path"]
        bad = [f"{k}: /proc {w[k]!r}, beacon {v!r}"
               for k, v in g.items() if w[k] != v]
        if bad:
            diffs.append(f"pid {pid} VMA {w['line'].rstrip()!r}: " + "; ".join(bad))
    return diffs


def check_maps_text(t, text):
    """Text `haywire maps PID` must be /proc/PID/maps, byte for byte."""
    want = [v["line"] for v in truth_vmas(t)]
    got = text.split("\n")
    if got and got[-1] == "":
        got.pop()
    if want == got:
        return []
    if [w.rstrip() for w in want] == [g.rstrip() for g in got]:
        w, g = next((w, g) for w, g in zip(want, got) if w != g)
        return [f"pid {t['pid']} ({t['comm']}): haywire maps differs from "
                "/proc/PID/maps only in trailing spaces, e.g. /proc "
                f"{w!r}, haywire {g!r}"]
    diff = difflib.unified_diff(want, got, "/proc/PID/maps", "haywire maps",
                                n=0, lineterm="")
    return [f"pid {t['pid']} ({t['comm']}): haywire maps differs from "
            "/proc/PID/maps:"] + [f"  {line!r}" for line in diff]
