#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A statistical profile of a TCG guest, taken from the host over QMP.

Usage:
  guest-profile.py sample QMP_SOCKET CONSOLE OUT [HZ]
  guest-profile.py report OUT SYSTEM_MAP [--from T] [--to T] [--clock guest|host]
                          [--top N]

`sample` connects to QEMU's QMP socket and, HZ times a second (default
20), stops the guest, reads every vCPU's registers (`info registers -a`)
and, for a vCPU running in the kernel, the top of its stack, and lets the
guest go on. Stopping first matters: under TCG a running vCPU's RIP is
only written back at the end of a chain of translated blocks, so a
register read of a running guest lands where the last chain began. Each
sample is tagged with the host's seconds since `sample` started and with
the newest kernel timestamp ("[   12.345678]") seen so far in the console
log CONSOLE, so a report can take a phase of the boot by either clock (a
phase with no kernel messages has one guest timestamp: the last one
before it). Every 5 s it also logs QEMU's translation counters (`info
jit`). It runs until QEMU goes away. Sampling slows the guest (each
sample stops it), so a sampled boot's times are not a boot's.

OUT has, per vCPU and sample, a line "S GUEST_S HOST_S CPU RIP CPL HLT
[STACK]" (STACK: the words at RSP, comma-separated, in hex) and a line "R
RDI RSI RDX" (a copy's destination, source and length, where the sample
is in one); a line "J GUEST_S key=value..." per `info jit`.

`report` counts the samples between two times (--clock: guest, the
default, or host): halted, user mode, and kernel mode by function
(SYSTEM_MAP: the guest kernel's System.map; the KASLR slide is found
from the halted vCPUs, whose RIP lies just after the HLT in the kernel's
idle function). For the commonest functions it lists the chains of
kernel text addresses found on the stack (the first is a leaf function's
caller; the rest are a guess, since a stack holds stale addresses too;
DEPTH, 4 by default, is how many). With the guest clock it also gives
the change of the translation counters over the span.
"""

import bisect
import os
import re
import sys
import time

import qmp


STAMP = re.compile(rb"\[ *([0-9]+\.[0-9]+)\]")
REGS = re.compile(r"RDX=([0-9a-f]+).*?RSI=([0-9a-f]+) RDI=([0-9a-f]+).*?RSP=([0-9a-f]+)"
                  r".*?RIP=([0-9a-f]+) .*?CPL=([0-9]) .*?HLT=([0-9])", re.S)
WORDS = re.compile(r"0x([0-9a-f]{16})")
JIT = re.compile(r"^(TB count|TB flush count|TB invalidate count|TLB full flushes"
                 r"|TLB partial flushes|TLB elided flushes|gen code size)\s+(\d+)",
                 re.M)


STACK_WORDS = 160


def sample(sock, console, out, hz=20.0):
    start = time.time()
    try:
        call = qmp.connect(sock, 30.0)
    except qmp.QmpError as e:
        raise SystemExit("guest-profile: %s" % e)
    period = 1.0 / hz
    guest = 0.0
    pos = 0
    last_jit = 0.0
    with open(out, "w") as o:
        while True:
            try:
                with open(console, "rb") as c:
                    c.seek(pos)
                    data = c.read()
                    pos += len(data)
                for m in STAMP.finditer(data):
                    guest = max(guest, float(m.group(1)))
                call("stop")
                regs = call("human-monitor-command", **{"command-line": "info registers -a"})
                lines = []
                for cpu, m in enumerate(REGS.finditer(regs)):
                    rdx, rsi, rdi, rsp, rip, cpl, hlt = m.groups()
                    stack = ""
                    # A running kernel's top of stack: a leaf function's
                    # caller, and return addresses further up.
                    if cpl == "0" and hlt == "0":
                        words = call("human-monitor-command", **{
                            "command-line": "x/%dgx 0x%s" % (STACK_WORDS, rsp),
                            "cpu-index": cpu})
                        stack = " " + ",".join(w for w in WORDS.findall(words))
                    lines.append("S %.6f %.3f %d %s %s %s%s\n" % (
                        guest, time.time() - start, cpu, rip, cpl, hlt, stack))
                    lines.append("R %s %s %s\n" % (rdi, rsi, rdx))
                call("cont")
                o.write("".join(lines))
                now = time.time()
                if now - last_jit >= 5.0:
                    jit = call("human-monitor-command", **{"command-line": "info jit"})
                    o.write("J %.6f %s\n" % (guest, " ".join(
                        "%s=%s" % (k.replace(" ", "_"), v) for k, v in JIT.findall(jit))))
                    last_jit = now
            except (qmp.QmpError, OSError):
                call.close()
                return 0  # QEMU went away
            time.sleep(period)


def load_map(path):
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW":
                syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


DEPTH = int(os.environ.get("DEPTH", "4"))

HALT_FUNCS = ("pv_native_safe_halt", "default_idle", "native_safe_halt",
              "acpi_safe_halt", "mwait_idle")


def report(out, smap, t0, t1, top, host=False):
    addrs, names = load_map(smap)
    by_name = dict(zip(names, addrs))
    samples = []
    jits = []
    with open(out) as f:
        lines = f.read().splitlines()
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "S":
            stack = [int(w, 16) for w in fields[7].split(",")] if len(fields) > 7 else []
            t = float(fields[2]) if host else float(fields[1])
            samples.append((t, int(fields[3]), int(fields[4], 16), int(fields[5]),
                            int(fields[6]), stack))
        elif fields[0] == "J" and not host:  # they carry the guest's time only
            jits.append((float(fields[1]), dict(kv.split("=") for kv in fields[2:])))
    # The KASLR slide, from the halted kernel-mode samples (a multiple of
    # 2 MiB: CONFIG_PHYSICAL_ALIGN).
    slides = {}
    for _, _, rip, cpl, hlt, _ in samples:
        if hlt and cpl == 0:
            for fn in HALT_FUNCS:
                if fn in by_name:
                    d = rip - by_name[fn]
                    if d >= 0:
                        d -= d % (2 << 20)
                        slides[d] = slides.get(d, 0) + 1
                    break
    slide = max(slides, key=slides.get) if slides else 0
    text = (by_name.get("_stext", 0), by_name.get("_etext", 0))

    def sym(addr):
        i = bisect.bisect_right(addrs, addr - slide) - 1
        return names[i] if i >= 0 else "?"

    counts = {}
    callers = {}
    n = halted = user = 0
    for t, _, rip, cpl, hlt, stack in samples:
        if t < t0 or t > t1:
            continue
        n += 1
        if hlt:
            halted += 1
        elif cpl == 3:
            user += 1
        else:
            name = sym(rip)
            counts[name] = counts.get(name, 0) + 1
            # The words on the stack that point into the kernel's text:
            # the first is a leaf function's caller; the rest, a guess at
            # the chain above it (a stack holds stale addresses too).
            chain = [sym(w) for w in stack if text[0] <= w - slide < text[1]][:DEPTH]
            if chain:
                key = (name, " < ".join(chain))
                callers[key] = callers.get(key, 0) + 1
    kernel = n - halted - user
    print("samples %d (vCPU samples between %.2f and %.2f s; slide %#x)" % (n, t0, t1, slide))
    if not n:
        return 1
    print("  halted %5d  %5.1f %%" % (halted, 100.0 * halted / n))
    print("  user   %5d  %5.1f %%" % (user, 100.0 * user / n))
    print("  kernel %5d  %5.1f %%" % (kernel, 100.0 * kernel / n))
    for name, c in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
        print("    %5d  %5.1f %%  %s" % (c, 100.0 * c / n, name))
    if callers:
        shown = min(top, 5)
        print("the stacks of the %d commonest functions (their return addresses, nearest first):"
              % shown)
        for name, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:shown]:
            rows = sorted(((c, k[1]) for k, c in callers.items() if k[0] == name), reverse=True)
            for c, chain in rows[:6]:
                print("    %5d  %s < %s" % (c, name, chain))
    span = [j for j in jits if t0 <= j[0] <= t1]
    if len(span) >= 2:
        a, b = span[0][1], span[-1][1]
        print("translation counters, %.2f to %.2f s:" % (span[0][0], span[-1][0]))
        for k in b:
            try:
                print("  %-22s %+d" % (k, int(b[k]) - int(a.get(k, 0))))
            except ValueError:
                pass
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "sample":
        return sample(argv[2], argv[3], argv[4], float(argv[5]) if len(argv) > 5 else 20.0)
    if len(argv) >= 4 and argv[1] == "report":
        t0, t1, top, host = 0.0, 1e9, 30, False
        rest = argv[4:]
        while rest:
            opt, val, rest = rest[0], rest[1], rest[2:]
            if opt == "--from":
                t0 = float(val)
            elif opt == "--to":
                t1 = float(val)
            elif opt == "--top":
                top = int(val)
            elif opt == "--clock":
                host = val == "host"
            else:
                raise SystemExit(__doc__)
        return report(argv[2], argv[3], t0, t1, top, host)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
