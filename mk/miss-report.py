#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Why a replay boot's reads missed: each read of a history without the hit
flag, set against the playlist that boot replayed.

Usage: miss-report.py TOOL HISTORY PLAYLIST [--list | --json]

TOOL is the bootcache binary (for `print --json`). Each miss falls in the
first class that fits:

  outside    no byte of it is in the playlist
  partial    some of its bytes are in the playlist, some are not
  written    all in the playlist, but a write (or an earlier read of the
             same boot) reached some of its bytes first: for a write, the
             cache dropped them; see `reread`
  reread     all in the playlist, and an earlier read of this boot (a hit
             or a miss) overlapped it: a block served once and not kept
             (its extent's keep flag is given)
  late       all in the playlist, read for the first time after the last
             hit of the boot: the cache had ended
  first      all in the playlist, read for the first time, while the cache
             served: read-ahead had not brought it (failed, left out by the
             cache limit, or a volume found late)

Prints a line per class (misses, bytes) and, with --list, every miss; with
--json, an object of class: [misses, bytes] (every class, and "total").
"""

import bisect
import json
import subprocess
import sys


CLASSES = ("outside", "partial", "written", "reread", "late", "first")


def load(tool, path):
    out = subprocess.run([tool, "print", "--json", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


class Ranges:
    """Disjoint byte ranges per volume id, with an attribute (keep)."""

    def __init__(self):
        self.by_vol = {}

    def add(self, vol, start, end, attr=None):
        self.by_vol.setdefault(vol, []).append((start, end, attr))

    def done(self):
        for v, rs in self.by_vol.items():
            rs.sort()
            self.by_vol[v] = (rs, [r[0] for r in rs])

    def overlaps(self, vol, start, end):
        """The ranges that overlap [start, end)."""
        if vol not in self.by_vol:
            return []
        rs, starts = self.by_vol[vol]
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        found = []
        while i < len(rs) and rs[i][0] < end:
            if rs[i][1] > start:
                found.append(rs[i])
            i += 1
        return found

    def covered(self, vol, start, end):
        """Bytes of [start, end) the ranges cover (ranges may overlap)."""
        pieces = sorted((max(s, start), min(e, end))
                        for s, e, _ in self.overlaps(vol, start, end))
        n, at = 0, start
        for s, e in pieces:
            s = max(s, at)
            if e > s:
                n += e - s
                at = e
        return n


class Seen:
    """Byte ranges touched so far, per volume: a plain list (histories are
    a few thousand entries)."""

    def __init__(self):
        self.by_vol = {}

    def add(self, vol, start, end):
        self.by_vol.setdefault(vol, []).append((start, end))

    def touches(self, vol, start, end):
        return any(s < end and e > start for s, e in self.by_vol.get(vol, ()))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    listing = "--list" in sys.argv
    if len(args) != 3:
        sys.exit(next(l for l in __doc__.splitlines() if l.startswith("Usage:")))
    tool, hpath, ppath = args
    hist, pl = load(tool, hpath), load(tool, ppath)
    pvol = {v["index"]: v["id"] for v in pl["volumes"]}
    hvol = {v["index"]: v["id"] for v in hist["volumes"]}
    ranges = Ranges()
    for x in pl["extents"]:
        ranges.add(pvol[x["volume"]], x["offset"], x["offset"] + x["length"], x["keep"])
    ranges.done()

    entries = [e for e in hist["entries"] if e["flags"] != "T"]
    last_hit = max((e["timestamp_ns"] for e in entries if "H" in e["flags"]), default=0)
    reads, writes = Seen(), Seen()
    classes = {}
    rows = []
    for e in entries:
        vol = hvol[e["volume"]]
        start, end = e["offset"], e["offset"] + e["length"]
        if "W" in e["flags"]:
            writes.add(vol, start, end)
            continue
        if "H" not in e["flags"]:
            cov = ranges.covered(vol, start, end)
            keep = "-"
            if cov == 0:
                c = "outside"
            elif cov < end - start:
                c = "partial"
            elif writes.touches(vol, start, end):
                c = "written"
            elif reads.touches(vol, start, end):
                kept = [a for _, _, a in ranges.overlaps(vol, start, end)]
                keep = "keep" if all(kept) else ("some-keep" if any(kept) else "not-kept")
                c = "reread"
            elif e["timestamp_ns"] > last_hit:
                c = "late"
            else:
                c = "first"
            n, b = classes.get(c, (0, 0))
            classes[c] = (n + 1, b + e["length"])
            rows.append((e["timestamp_ns"], c, keep, vol, start, e["length"], e["pid"]))
        reads.add(vol, start, end)

    total = sum(n for n, _ in classes.values())
    if "--json" in sys.argv:
        out = {c: list(classes.get(c, (0, 0))) for c in CLASSES}
        out["total"] = [total, sum(b for _, b in classes.values())]
        print(json.dumps(out))
        return
    print(f"{total} misses; last hit at {last_hit / 1e9:.3f} s")
    for c in CLASSES:
        n, b = classes.get(c, (0, 0))
        print(f"  {c:8} {n:5} misses {b / 1024:10.1f} KiB")
    if listing:
        for t, c, keep, vol, start, length, pid in rows:
            print(f"{t / 1e9:10.3f} {c:8} {keep:9} {vol[:8]} {start:12} +{length:<8} pid {pid}")


if __name__ == "__main__":
    main()
