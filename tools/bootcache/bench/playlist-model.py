#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A rough model of how long a boot waits for read-ahead, to compare playlists offline.

Usage: playlist-model.py TOOL HISTORY PLAYLIST [SEEK_S RATE_BPS SCALE]

The model, and no more than that (the trace benchmark in the VM measures the real thing):

- read-ahead starts at the history's first read and walks the playlist's extents batch
  by batch, in disk order inside each, in reads of at most 1 MiB, one at a time; a read
  that does not start where the last one ended costs SEEK_S (default 0.1 s, a DVD
  drive), then its bytes at RATE_BPS (default 15e6);
- the boot issues the history's reads at their recorded times, scaled by SCALE (default
  0.3: a boot served from the cache runs faster than the recorded one); a read whose
  blocks are not read ahead yet waits for them, and everything after it is delayed by
  that wait; a read the playlist does not cover counts as a miss (it costs nothing here);
- misses do not compete with read-ahead for the device, and a block stays in the cache
  once read ahead (as if every extent were keep): the model shows what the batches and
  extents cost, not what keep saves.

It prints when read-ahead is done and the boot's total wait, both in seconds from the
first read.
"""

import bisect
import json
import subprocess
import sys


def main():
    if len(sys.argv) not in (4, 7):
        sys.exit(__doc__.split("\n\n")[1])
    tool, hist, pl = sys.argv[1:4]
    seek, rate, scale = (float(x) for x in sys.argv[4:7]) if len(sys.argv) == 7 else (0.1, 15e6, 0.3)
    h = json.loads(subprocess.check_output([tool, "print", "--json", hist]))
    p = json.loads(subprocess.check_output([tool, "print", "--json", pl]))
    reads = [e for e in h["entries"] if "T" not in e["flags"] and "W" not in e["flags"]]
    if not reads:
        sys.exit("no reads in " + hist)
    t0 = reads[0]["timestamp_ns"] / 1e9
    # When each piece of the playlist is in the cache.
    avail = []
    t, pos = t0, None
    for x in sorted(p["extents"], key=lambda x: (x["low_priority"], x["batch"], x["volume"], x["offset"])):
        off, end = x["offset"], x["offset"] + x["length"]
        while off < end:
            n = min(1 << 20, end - off)
            if pos != (x["volume"], off):
                t += seek
            t += n / rate
            avail.append((x["volume"], off, off + n, t))
            pos = (x["volume"], off + n)
            off += n
    avail.sort()
    keys = [(a[0], a[1]) for a in avail]

    def ready(vol, o, e):
        """When all of [o, e) of vol is in the cache, or None if the playlist lacks some."""
        worst, cov = 0.0, o
        i = max(0, bisect.bisect_right(keys, (vol, o)) - 1)
        while i < len(avail) and avail[i][0] == vol and avail[i][1] < e:
            _, s, en, ta = avail[i]
            if en > o:
                if s > cov:
                    return None
                worst, cov = max(worst, ta), max(cov, en)
            i += 1
        return worst if cov >= e else None

    wait, misses, shift = 0.0, 0, 0.0
    for r in reads:
        at = t0 + (r["timestamp_ns"] / 1e9 - t0) * scale + shift
        ready_at = ready(r["volume"], r["offset"], r["offset"] + r["length"])
        if ready_at is None:
            misses += 1
        elif ready_at > at:
            wait += ready_at - at
            shift += ready_at - at
    print(f"{pl}: read-ahead done {t - t0:.2f} s, boot waits {wait:.2f} s, "
          f"misses {misses}, extents {len(p['extents'])}, bytes {sum(x['length'] for x in p['extents'])}")


if __name__ == "__main__":
    main()
