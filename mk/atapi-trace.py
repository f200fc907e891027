#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Which of a boot's ATAPI commands waited for a read.

Usage: mk/atapi-trace.py [--seconds S] [--min-ms M] QEMU_LOG...

Each QEMU_LOG is the qemu.log of a demo boot made with
DEMO_TRACE='ide_atapi_cmd*' (mk/demo.sh), which logs every ATAPI packet the
guest sends to the DVD drive, with its time. From the first DMA read (the
kernel's; the boot loader reads by PIO) for S seconds (12), it counts the
reads and the other commands (the drive's own: TEST UNIT READY, GET EVENT
STATUS NOTIFICATION, READ TOC, ... from udev's cdrom_id, blkid, mount), and
how many of the others were sent right after a read that had been in
flight for more than M ms (--min-ms, 5) and less than 0.5 s: a command
that a prober sent while the drive was busy with the read, and that waited
for it (the drive takes one command at a time). A boot without read-ahead
has few; a paced walk that issues its next command the moment the last one
completes has many.
"""

import argparse
import re
import statistics

PACKET = re.compile(r"\d+@(\d+\.\d+):ide_atapi_cmd_packet .*packet: ([0-9a-f]{2})")
READ = re.compile(r"\d+@\d+\.\d+:ide_atapi_cmd_read .*read (\w+):")
READ10 = 0x28


def packets(path):
    """[time, opcode, method] of each packet; method is 'dma' or 'pio' for
    reads, None for other commands."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = PACKET.match(line)
            if m:
                out.append([float(m.group(1)), int(m.group(2), 16), None])
                continue
            m = READ.match(line)
            if m and out:
                out[-1][2] = m.group(1)
    return out


def summary(path, seconds, min_s):
    pk = packets(path)
    first = next((i for i, p in enumerate(pk) if p[2] == "dma"), None)
    if first is None:
        return "%s: no DMA read (was it made with DEMO_TRACE='ide_atapi_cmd*'?)" % path
    t0 = pk[first][0]
    reads = others = 0
    waits = []
    for i in range(first + 1, len(pk)):
        t, op, _ = pk[i]
        if t - t0 > seconds:
            break
        if op == READ10:
            reads += 1
            continue
        others += 1
        gap = t - pk[i - 1][0]
        if pk[i - 1][1] == READ10 and min_s < gap < 0.5:
            waits.append(gap)
    return ("%s: first %g s: %d reads, %d other commands, %d of them right after a read "
            "(median %.3f s, %.2f s in all)" % (
                path, seconds, reads, others, len(waits),
                statistics.median(waits) if waits else 0.0, sum(waits)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--min-ms", type=float, default=5.0)
    ap.add_argument("logs", nargs="+")
    args = ap.parse_args()
    for path in args.logs:
        print(summary(path, args.seconds, args.min_ms / 1000.0))


if __name__ == "__main__":
    main()
