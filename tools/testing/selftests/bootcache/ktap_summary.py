#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the KTAP/TAP results of a bootcache VM run.

Reads the kernel console log (KUnit's KTAP, with printk timestamps) and the
kselftest log (TAP 13 from run_kselftest.sh, where each test's own output is
nested behind "# "), counts leaf results, checks every plan was met, and
looks for oopses, warnings and BUGs in the kernel log.

Prints one line per source, the failures by name, and a last line
"N passed, N failed, N skipped". With --counts FILE it also writes
"passed failed skipped" to FILE. Exits 0 only when nothing failed.
"""

import argparse
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(ok|not ok)\s+(\d+)\s*-?\s*([^#]*?)\s*(?:#\s*(.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
VERSION = re.compile(r"^(K?TAP) version \d+")

# Kernel log lines that mean the run is not clean, whatever the tests said.
# What fault injection itself prints ("FAULT_INJECTION: forcing a failure."
# and its stack dump, "page allocation failure") is expected and not here;
# what a mishandled failure leads to (a BUG, WARNING, KASAN report, leak,
# panic) is.
ANOMALIES = [
    ("oops", re.compile(r"\bOops\b|general protection fault|BUG: unable to handle")),
    ("BUG", re.compile(r"\bBUG:|kernel BUG at")),
    ("WARNING", re.compile(r"\bWARNING:|------------\[ cut here \]------------")),
    ("panic", re.compile(r"Kernel panic|rust_panic|panicked at")),
    ("KASAN", re.compile(r"\bKASAN:")),
    ("UBSAN", re.compile(r"\bUBSAN:")),
    ("lockdep", re.compile(r"possible (recursive|circular) locking|inconsistent lock state|"
                           r"lock held when returning|suspicious RCU usage")),
    ("hung task", re.compile(r"INFO: task .* blocked for more than|"
                             r"rcu: INFO: rcu_.* (detected stalls?|self-detected stall)")),
    ("kmemleak", re.compile(r"kmemleak: \d+ new suspected memory leaks|unreferenced object 0x")),
    ("sleep in atomic", re.compile(r"sleeping function called from invalid context")),
]


class Block:
    """The results under one plan line."""

    def __init__(self, planned, skip):
        self.planned = planned
        self.skip = skip
        self.seen = 0
        self.failed = 0
        # Failures found in this block, named once the parent is known.
        self.failures = []


class Tally:
    def __init__(self, source):
        self.source = source
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []
        self.found = False

    def fail(self, what):
        self.failed += 1
        self.failures.append(what)


def tap_lines(lines, hash_nesting):
    """Yield (depth, text) for each TAP line; other lines are dropped.

    Depth counts four-space indents (KTAP) and, with hash_nesting, leading
    "# " prefixes that kselftest's runner puts before a test's own output.
    """
    for raw in lines:
        line = TIMESTAMP.sub("", raw.rstrip("\r\n"))
        depth = 0
        while True:
            stripped = line.lstrip(" ")
            depth += (len(line) - len(stripped)) // 4
            line = stripped
            if hash_nesting and line.startswith("# ") and tap_kind(line[2:]):
                depth += 1
                line = line[2:]
                continue
            break
        if tap_kind(line):
            yield depth, line


def tap_kind(text):
    text = text.lstrip(" ")
    if RESULT.match(text):
        return "result"
    if PLAN.match(text):
        return "plan"
    if VERSION.match(text):
        return "version"
    if text.startswith("Bail out!"):
        return "bail"
    if text.startswith("# ") and tap_kind(text[2:]):
        return "nested"
    return None


def parse(lines, source, hash_nesting, names):
    """Count the leaf results of one TAP/KTAP stream.

    A result with subtests is not counted itself: its subtests are. A
    failure is named by its path, "parent: child".
    """
    tally = Tally(source)
    top = Block(0, False)
    blocks = {}

    def owner(depth):
        # The block a result at this depth belongs to (the top if none).
        return blocks.get(depth, top)

    def fail(block, what):
        block.failed += 1
        block.failures.append(what)

    for depth, text in tap_lines(lines, hash_nesting):
        tally.found = True
        kind = tap_kind(text)
        if kind == "version":
            # A new document at this depth ends any open deeper blocks.
            for d in sorted([d for d in blocks if d >= depth], reverse=True):
                child = blocks.pop(d)
                close(child, source)
                parent = owner(d - 1)
                parent.failed += child.failed
                parent.failures += child.failures
        elif kind == "plan":
            m = PLAN.match(text)
            skip = bool(m.group(2) and m.group(2).upper().startswith("SKIP"))
            blocks[depth] = Block(int(m.group(1)), skip)
        elif kind == "bail":
            fail(owner(depth), text)
        elif kind == "result":
            m = RESULT.match(text)
            ok = m.group(1) == "ok"
            name = m.group(3) or f"test {m.group(2)}"
            directive = m.group(4) or ""
            skipped = directive.upper().startswith("SKIP")
            block = owner(depth)
            block.seen += 1
            # Close the deeper blocks: they are this result's subtests.
            child = None
            for d in sorted([d for d in blocks if d > depth], reverse=True):
                b = blocks.pop(d)
                close(b, name)
                if child is not None:
                    b.failed += child.failed
                    b.failures += child.failures
                child = b
            if child is not None and child.seen > 0:
                block.failed += child.failed
                block.failures += [f"{name}: {w}" for w in child.failures]
                # A failing parent whose subtests all passed still failed (a
                # crash, a non-zero exit).
                if not ok and not skipped and child.failed == 0:
                    fail(block, f"{name}: failed after its subtests passed ({directive})")
                continue
            if child is not None and child.failed:
                block.failed += child.failed
                block.failures += [f"{name}: {w}" for w in child.failures]
            if skipped:
                tally.skipped += 1
            elif ok:
                tally.passed += 1
            else:
                fail(block, name)
            if names is not None:
                names.append((source, name, ok, directive))
    for d in sorted(blocks, reverse=True):
        child = blocks.pop(d)
        close(child, "unfinished")
        parent = owner(d - 1)
        parent.failed += child.failed
        prefix = "(unfinished) " if d > 0 else ""
        parent.failures += [prefix + w for w in child.failures]
    close(top, source)
    tally.failed += top.failed
    tally.failures += top.failures
    return tally


def close(block, name):
    """Count the results a block's plan promised but did not get."""
    if block.seen < block.planned:
        missing = block.planned - block.seen
        block.failed += 1
        block.failures.append(f"{missing} of {block.planned} planned results missing")


def kunit_lines(console):
    """The console from KUnit's first "KTAP version" line on."""
    started = False
    for raw in console:
        line = TIMESTAMP.sub("", raw.rstrip("\r\n"))
        if not started and line.startswith("KTAP version"):
            started = True
        if started:
            yield line


def anomalies(console):
    found = []
    lines = [TIMESTAMP.sub("", l.rstrip("\r\n")) for l in console]
    for i, line in enumerate(lines):
        for label, pattern in ANOMALIES:
            if pattern.search(line):
                found.append((label, i, lines))
                break
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--console", help="kernel console log (KUnit KTAP, oopses)")
    ap.add_argument("--kselftest", help="kselftest TAP log")
    ap.add_argument("--counts", help="write 'passed failed skipped' here")
    ap.add_argument("--extra-failure", action="append", default=[],
                    help="a failure found by the caller (timeout, verdict)")
    ap.add_argument("--guest-verdict", type=int, default=0,
                    help="the guest's own verdict (0 = all passed)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every result")
    ap.add_argument("--no-kunit", action="store_true",
                    help="KUnit was turned off (kunit.enable=0): expect no KUnit results")
    args = ap.parse_args()

    tallies = []
    names = [] if args.verbose else None
    kernel_problems = []
    if args.console:
        with open(args.console, errors="replace") as f:
            console = f.readlines()
        if not args.no_kunit:
            kunit = parse(kunit_lines(console), "kunit", False, names)
            if not kunit.found:
                kunit.fail("kunit: no KUnit results in the kernel log")
            tallies.append(kunit)
        kernel_problems = anomalies(console)
    if args.kselftest:
        try:
            with open(args.kselftest, errors="replace") as f:
                ks_lines = f.readlines()
        except FileNotFoundError:
            ks_lines = []
        ks = parse(ks_lines, "kselftest", True, names)
        if not ks.found:
            ks.fail("kselftest: no kselftest results")
        tallies.append(ks)

    vm = Tally("vm")
    seen = set()
    for label, i, lines in kernel_problems:
        if label in seen:
            continue
        seen.add(label)
        vm.fail(f"kernel log shows {label}: {lines[i].strip()}")
        print(f"--- kernel log around the first {label} (line {i + 1}) ---")
        for l in lines[max(0, i - 3):i + 25]:
            print("    " + l)
    for what in args.extra_failure:
        vm.fail(what)
    if args.guest_verdict and not vm.failed and not any(t.failed for t in tallies):
        vm.fail(f"the guest reported failure (verdict {args.guest_verdict}) "
                "but no failing result was found")
    if vm.failed:
        tallies.append(vm)

    if names:
        for source, name, ok, directive in names:
            print(f"  {source}: {'ok' if ok else 'not ok'} {name} {directive}".rstrip())
    total = [0, 0, 0]
    for t in tallies:
        print(f"{t.source}: {t.passed} passed, {t.failed} failed, {t.skipped} skipped")
        for what in t.failures:
            print(f"  FAILED: {what}")
        total[0] += t.passed
        total[1] += t.failed
        total[2] += t.skipped
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    if args.counts:
        with open(args.counts, "w") as f:
            f.write(f"{total[0]} {total[1]} {total[2]}\n")
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
