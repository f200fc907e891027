#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak: the fault and load campaign (not part of make test or CI).
#
#   make soak [SOAK_MINUTES=30] [SOAK_SCENARIOS="io readerr ..."] [OUT=out] [JOBS=N]
#   SOAK_KERNEL=BZIMAGE mk/soak.sh      (no build; that kernel)
#
# Builds the debug kernel that make vm-debug runs (make kernel FLAVOR=debug:
# lockdep, KASAN, kmemleak, SMP, fault injection, PCI hot-plug), boots it
# once in QEMU (vmtest.sh, -smp as vmtest.sh boots it, 1 GiB, with fio, the
# CD drive as root=) and runs the scenarios of tools/testing/selftests/bootcache/soak/,
# each looping for its share of SOAK_MINUTES:
#
#   io        concurrent verified I/O (fio --verify=crc32c and bcverify) with
#             start/append/stop/jettison and drop_caches in a loop
#   readerr   read errors under read-ahead (QEMU blkdebug, null_blk badblocks)
#   unplug    hot removal with reads parked (QEMU device_del, null_blk power)
#   failnth   allocation failures at every allocation of load, start,
#             append, stop and jettison (fail-nth)
#   memhog    a memory hog with verified reads going on
#   badinput  mutated and random playlists in random chunks by several
#             writers, random control words, out-of-range tunables
#   cdswap    media change of a cached CD drive
#
# Then it prints one table: scenario | result | iterations | bytes verified |
# wrong bytes | reads failed by bootcache | kernel warnings | failed checks,
# and below it what each scenario made bootcache do (hits, parked reads,
# jettisons, read-ahead errors, appends). Kernel warnings are the console
# lines of WARNING, BUG, KASAN, lockdep, RCU stalls, hung tasks, soft lockups
# and kmemleak (scanned at the end of the run) while the scenario ran.
# Exit status 0 when every scenario ran and all columns but the first three
# are zero.
#
# Logs in $OUT/soak/: console.log, kselftest.log, hostchan.log, vmtest.log,
# table.txt.

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-out}
MAKE=${MAKE:-make}
MINUTES=${SOAK_MINUTES:-30}
SCENARIOS=${SOAK_SCENARIOS:-io readerr unplug failnth memhog badinput cdswap}
SEL=tools/testing/selftests/bootcache
LOG=$OUT/soak

cd "$TOP" || exit 1
case $MINUTES in '' | *[!0-9]*) echo "mk/soak: SOAK_MINUTES must be a number of minutes" >&2; exit 2 ;; esac
tests= n=0
for s in $SCENARIOS; do
	[ -f "$SEL/soak/soak_$s.sh" ] || { echo "mk/soak: no scenario '$s' ($SEL/soak/soak_$s.sh)" >&2; exit 2; }
	tests="$tests soak_$s.sh" n=$((n + 1))
done
[ $n -gt 0 ] || exit 2
secs=$((MINUTES * 60 / n))
[ $secs -ge 10 ] || secs=10

# SOAK_KERNEL=BZIMAGE boots that kernel instead (built with the same
# configuration), e.g. while the tree is being rebuilt.
KERNEL=${SOAK_KERNEL:-$OUT/build/debug/arch/x86/boot/bzImage}
if [ -z "${SOAK_KERNEL:-}" ]; then
	"$MAKE" --no-print-directory kernel FLAVOR=debug OUT="$OUT" || exit 1
fi

mkdir -p "$LOG"
# The guest's static tool is built once per OUT, shared with make vm.
export BOOTCACHE_TOOL_TARGET=${BOOTCACHE_TOOL_TARGET:-$(realpath -m "$OUT")/vm/tool-target}
progs=()
for p in fio; do
	if command -v $p >/dev/null; then progs+=(-T $p); else echo "  SOAK     no $p on the host: left out"; fi
done
# The kernel has ACPI for PCI hot-plug (acpiphp), but its interpreter is so
# slow under TCG with KASAN and lockdep that the PCI routing method (_PRT)
# times out (AE_AML_LOOP_TIMEOUT, 30 s per device, no interrupts):
# acpi=noirq routes interrupts through the BIOS's PIRQ table instead.
# root=/dev/sr0 makes the CD drive the playlists' volume "root" (cdswap).
# Each scenario may overrun its share by one round; the VM's limit leaves
# room for that, the boot and the kmemleak scan.
limit=$((MINUTES * 60 + n * 300 + 600))
echo "  SOAK     $n scenarios, ${secs} s each, in one VM (limit ${limit} s); logs in $LOG"
start=$(date +%s)
"$SEL/vmtest.sh" -k "$KERNEL" -K "$OUT/linux" -o "$LOG" \
	-t "$limit" -m 1024 -U -x "$SEL/soak" "${progs[@]}" -a "root=/dev/sr0 acpi=noirq" \
	-e "BOOTCACHE_TESTS=\"${tests# }\"" -e "SOAK_SECONDS=$secs" \
	-e "BOOTCACHE_TEST_TIMEOUT=$((secs + 600))" >"$LOG/vmtest.log" 2>&1
echo "  SOAK     the VM ran for $(($(date +%s) - start)) s (vmtest.sh: $(tail -n 1 "$LOG/vmtest.log"))"

python3 - "$LOG" "$SCENARIOS" "$MINUTES" <<'EOF'
import re, sys

log, scenarios, minutes = sys.argv[1], sys.argv[2].split(), sys.argv[3]
ktap = open(log + "/kselftest.log", errors="replace").read().replace("\r", "")
console = open(log + "/console.log", errors="replace").read().replace("\r", "").splitlines()

WARN = re.compile(r"WARNING:|BUG:|Oops|KASAN|general protection fault|possible circular locking|"
                  r"possible recursive locking|inconsistent lock state|suspicious RCU usage|"
                  r"self-detected stall|rcu_.*stall|rcu: INFO|blocked for more than|"
                  r"soft lockup|unreferenced object|UBSAN|Kernel panic|"
                  r"kernel BUG|list_add corruption|list_del corruption|refcount_t:")

# Console lines per scenario, between its start and end markers; the rest
# ("boot" before the first, "end" after the last: the kmemleak scan).
where, warns, samples = "boot", {}, {}
for line in console:
    m = re.search(r"bootcache-selftest: soak_(\w+) (start|end)", line)
    if m:
        where = m.group(1) if m.group(2) == "start" else "end"
        continue
    if WARN.search(line) and "kmemleak: Automatic memory scanning" not in line:
        # A task of a scenario blocked for good is reported again and again,
        # later: it counts for its own scenario.
        t = re.search(r"task soak_(\w+)\.sh:", line)
        w = t.group(1) if t else where
        warns[w] = warns.get(w, 0) + 1
        samples.setdefault(w, []).append(re.sub(r"^\[[ 0-9.]*\] ", "", line.strip()))

rows, notes, status = [], [], 0
for s in scenarios:
    m = re.search(r"soak: scenario=%s (.*)" % s, ktap)
    r = re.search(r"^(not ok|ok) \d+ selftests: bootcache: soak_%s\.sh(.*)$" % s, ktap, re.M)
    result = "missing"
    if r:
        result = "ok" if r.group(1) == "ok" else "FAILED"
        if "SKIP" in r.group(2):
            result = "skipped"
        if "TIMEOUT" in r.group(2):
            result = "TIMEOUT"
    f = dict(kv.split("=", 1) for kv in m.group(1).split()) if m else {}
    g = lambda k: int(f.get(k, 0))
    w = warns.get(s, 0)
    rows.append((s, result, f.get("iterations", "-"), g("bytes"), g("wrong"), g("bcfail"), w,
                 f.get("checks_failed", "-")))
    if result not in ("ok", "skipped") or g("wrong") or g("bcfail") or w:
        status = 1
    if m:
        notes.append("  %-9s hits %s, parked %s, jettisons %s, read-ahead errors %s, appends %s%s" % (
            s, f.get("hits"), f.get("parked"), f.get("jettisons"), f.get("readahead_errors"),
            f.get("appends"), (", " + f["extra"].replace(",", ", ")) if "extra" in f else ""))
for where in ("boot", "end"):
    if warns.get(where):
        rows.append(("(%s)" % ("boot" if where == "boot" else "after: kmemleak scan"), "", "", 0, 0, 0,
                     warns[where], ""))
        status = 1

def mib(b):
    return "%d (%.1f MiB)" % (b, b / 1048576) if b else "0"

head = ("scenario", "result", "iterations", "bytes verified", "wrong bytes",
        "reads failed by bootcache", "kernel warnings", "failed checks")
out = ["soak: %s minutes, %d scenarios" % (minutes, len(scenarios)), "",
       "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for r in rows:
    out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (r[0], r[1], r[2], mib(r[3]), r[4], r[5], r[6], r[7]))
out += ["", "What bootcache did, per scenario:"] + notes
for where, lines in samples.items():
    out.append("")
    out.append("Kernel warnings during %s (first 5 of %d):" % (where, len(lines)))
    out += ["  " + l[:200] for l in lines[:5]]
text = "\n".join(out)
print(text)
open(log + "/table.txt", "w").write(text + "\n")
sys.exit(status)
EOF
