#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench-trace's host side (mk/bench-trace.sh calls it).

  bench-trace.py trace HISTORY_JSON IMAGE TRACE [--volume N] [--cost IOPS BPS FILE]
      Writes the replay's trace (tools/testing/selftests/bootcache/bench/
      replay.c): one line per read of volume N of the history (the JSON of
      `bootcache print --json`), "TIMESTAMP_NS OFFSET LENGTH PID CRC32", the
      CRC-32 of the bytes IMAGE holds there. Prints the volume's id, the
      reads, the bytes and the digest replay must print. With --cost, also
      FILE: each read's cost on the recording's device, max(1/IOPS,
      LENGTH/BPS) in ns, for replay -c (BENCH_PACE=model).

  bench-trace.py report KSELFTEST_LOG SET...
      The table of the guest's "bench-trace:" lines, one row per playlist
      option set (SET: the options given to convert, in order).
"""

import json
import re
import statistics
import struct
import sys
import zlib


def trace(args):
    volume = 0
    cost = None
    if "--cost" in args:
        i = args.index("--cost")
        cost = (int(args[i + 1]), int(args[i + 2]), args[i + 3])
        del args[i:i + 4]
    if len(args) == 5 and args[3] == "--volume":
        volume = int(args[4])
    elif len(args) != 3:
        sys.exit("usage: bench-trace.py trace HISTORY_JSON IMAGE TRACE [--volume N] [--cost IOPS BPS FILE]")
    with open(args[0]) as f:
        hist = json.load(f)
    vols = [v for v in hist["volumes"] if v["index"] == volume]
    if not vols:
        sys.exit(f"bench-trace: the history has no volume {volume}")
    reads = [e for e in hist["entries"]
             if e["volume"] == volume and e["flags"] != "T" and "W" not in e["flags"]]
    if not reads:
        sys.exit(f"bench-trace: the history has no reads of volume {volume}")
    digest = 0
    size = 0
    with open(args[1], "rb") as img, open(args[2], "w") as out:
        out.write("# TIMESTAMP_NS OFFSET LENGTH PID CRC32 (%s, volume %d: %s)\n"
                  % (args[0], volume, vols[0]["id"]))
        for e in reads:
            img.seek(e["offset"])
            data = img.read(e["length"])
            if len(data) != e["length"]:
                sys.exit("bench-trace: %s ends before %d + %d: not the recorded medium"
                         % (args[1], e["offset"], e["length"]))
            crc = zlib.crc32(data)
            digest = zlib.crc32(struct.pack("<I", crc), digest)
            size += e["length"]
            out.write("%d %d %d %d %08x\n"
                      % (e["timestamp_ns"], e["offset"], e["length"], e["pid"], crc))
    if cost:
        iops, bps, path = cost
        with open(path, "w") as out:
            for e in reads:
                out.write("%d\n" % max(10**9 // iops, e["length"] * 10**9 // bps))
    span = (reads[-1]["timestamp_ns"] - reads[0]["timestamp_ns"]) / 1e9
    print("volume=%s reads=%d bytes=%d span_s=%.1f pids=%d digest=%08x"
          % (vols[0]["id"], len(reads), size, span, len({e["pid"] for e in reads}), digest))


LINE = re.compile(r"bench-trace: run (\d+) set (\d+) (replay|stats|classes): (.*)")


def fields(text):
    out = {}
    for kv in text.split():
        k, _, v = kv.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def med(values, fmt="%.0f"):
    """Median with min-max, as text."""
    if not values:
        return "-"
    m = statistics.median(values)
    if len(values) == 1:
        return fmt % m
    return (fmt + " (" + fmt + "-" + fmt + ")") % (m, min(values), max(values))


def report(args):
    if len(args) < 1:
        sys.exit("usage: bench-trace.py report KSELFTEST_LOG SET...")
    sets = args[1:] or [""]
    runs = {}
    with open(args[0], errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                run, s = int(m.group(1)), int(m.group(2))
                runs.setdefault((run, s), {})[m.group(3)] = fields(m.group(4))
    cold = {r: v["replay"] for (r, s), v in runs.items() if s == 0 and "replay" in v}
    if not cold:
        sys.exit("bench-trace: no cold run in %s" % args[0])
    n = len(cold)
    c = list(cold.values())
    print("  cold (no bootcache), %d runs: I/O wait %s ms, wall %s ms, mean read %s ms, p99 %s ms, worst %s ms (clock: %s)"
          % (n, med([x["wait_ms"] for x in c]), med([x["wall_ms"] for x in c]),
             med([x["mean_ms"] for x in c], "%.1f"), med([x["p99_ms"] for x in c]),
             med([x["max_ms"] for x in c]), ",".join(sorted({str(x.get("clock")) for x in c}))))
    print("  medians over the runs (min-max); saved = cold I/O wait - I/O wait, run by run")
    head = ("convert options", "I/O wait ms", "saved ms", "saved", "hits B", "hits req",
            "waited: n, mean ms", "misses: n, mean/max ms", "read ahead", "peak")
    rows = [head]
    for k, opts in enumerate(sets, 1):
        got = [(r, v) for (r, s), v in sorted(runs.items())
               if s == k and "replay" in v and "stats" in v and r in cold]
        if not got:
            rows.append((opts or "(defaults)", "no run",) + ("",) * (len(head) - 2))
            continue
        wait = [v["replay"]["wait_ms"] for _, v in got]
        saved = [cold[r]["wait_ms"] - v["replay"]["wait_ms"] for r, v in got]
        pct = [100 * (cold[r]["wait_ms"] - v["replay"]["wait_ms"]) / cold[r]["wait_ms"]
               for r, v in got]
        st = [v["stats"] for _, v in got]
        hb = [100 * x["hit_bytes"] / max(1, x["hit_bytes"] + x["miss_bytes"]) for x in st]
        hr = [100 * x["hits"] / max(1, x["hits"] + x["misses"]) for x in st]
        cl = [v.get("classes", {}) for _, v in got]
        waited = [x.get("waited", 0) for x in cl]
        wmean = [x["waited_ms"] / x["waited"] for x in cl if x.get("waited")]
        miss = [x.get("miss", 0) for x in cl]
        mmean = [x["miss_ms"] / x["miss"] for x in cl if x.get("miss")]
        mmax = [x["miss_max_ms"] for x in cl if x.get("miss")]
        ra = [x["readahead_bytes"] / 1048576 for x in st]
        peak = [x["cache_peak_bytes"] / 1048576 for x in st]
        rows.append((
            opts or "(defaults)",
            med(wait), med(saved), med(pct, "%.1f") + "%",
            med(hb, "%.1f") + "%", med(hr, "%.1f") + "%",
            "%s, %s" % (med(waited), med(wmean, "%.1f")),
            "%s, %s/%s" % (med(miss), med(mmean, "%.1f"), med(mmax)),
            med(ra, "%.1f") + " MiB", med(peak, "%.1f") + " MiB",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  " + " | ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("trace", "report"):
        sys.exit(__doc__)
    {"trace": trace, "report": report}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
