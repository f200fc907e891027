#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/cpu-factor.sh: how many times slower the demo's TCG guest runs the same
# CPU work than the host (`make cpu-factor`).
#
# Under TCG the guest's CPU is several times slower than a real machine's,
# while a modelled or throttled disk runs at a real disk's speed, so a boot
# in the demo hides more of its I/O behind CPU work than on real hardware.
# This measures the factor: mk/cpu-bench.c (hashing, sorting, fork and page
# faults; a static binary built with the host's gcc) runs RUNS times on the
# host and RUNS times in a guest booted as mk/demo.sh boots its machine
# (qemu-system-x86_64 -machine pc -accel DEMO_ACCEL -cpu DEMO_CPU -smp SMP
# -m MEM;
# the test kernel and an initramfs of busybox and the benchmark), and the
# factor is the guest's total time over the host's, each the fastest of its
# runs (the least disturbed by other load on the host: RUNS in the guest,
# RUNS on the host before them and RUNS after). Per kind of work too.
# The guest's times are the host's: each of the benchmark's lines is
# stamped with the host's clock when it comes out of the guest's second
# serial port, so a guest clock that loses time under TCG cannot flatter
# the figure (the guest's own figures are kept beside them).
#
# The CPU model is DEMO_CPU, -cpu max by default, as in mk/demo.sh. Its
# ERMS makes the guest's kernel copy to user space with `rep movsb`, which
# TCG (QEMU 7.2) runs a byte per step: a loop of 1 MiB preads of a memfd,
# tried as a fifth kind of work and dropped, ran 42 to 46 times slower in
# the guest than on the host. A boot is not
# mostly such copies, and leaving ERMS out made it slower, not faster: the
# demo's live ISO reached multi-user.target after 27.3 s of guest CPU with
# max and 34.2 s with max,-erms (medians, 2026-12-02), while that pread
# work, counted in, gave max,-erms a smaller factor (5.14). A smaller
# factor and a slower guest both hide more I/O behind CPU, which flatters
# bootcache, so the default is max and the work is the four kinds above.
#
# Writes the factor (one number) to $OUT/demo/cpu-factor, which mk/demo.sh
# reads with SEEK_SCALE=cpu, and the details to $OUT/demo/cpu-factor.txt.
# The figure is only as good as the host's quiet: run it on an idle machine
# (the details record the load average before and after).
#
# Environment: OUT (out), KERNEL (the test kernel,
# $OUT/build/test/arch/x86/boot/bzImage; any x86_64 kernel that boots an
# initramfs on ttyS0 does), RUNS (3), SMP (2), MEM (1024), DEMO_CPU
# (max), DEMO_ACCEL (tcg,tb-size=128, as in mk/demo.sh), TIMEOUT (600 s).

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-out}
KERNEL=${KERNEL:-$OUT/build/test/arch/x86/boot/bzImage}
RUNS=${RUNS:-3}
SMP=${SMP:-2}
MEM=${MEM:-1024}
DEMO_CPU=${DEMO_CPU:-max}
DEMO_ACCEL=${DEMO_ACCEL:-tcg,tb-size=128}
TIMEOUT=${TIMEOUT:-600}
BUSYBOX=/bin/busybox

die() { printf 'mk/cpu-factor: error: %s\n' "$*" >&2; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
[[ $SMP =~ ^[1-9][0-9]*$ ]] || die "SMP must be a positive number, not '$SMP'"
[[ $MEM =~ ^[1-9][0-9]*$ ]] || die "MEM must be a number of MiB, not '$MEM'"
[ -f "$KERNEL" ] || die "no kernel '$KERNEL': run 'make kernel' (or set KERNEL)"
[ -x "$BUSYBOX" ] || die "busybox is missing (Debian package busybox-static)"
command -v gcc >/dev/null || die "gcc is missing (run 'make setup')"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (run 'make setup')"

DEMO=$OUT/demo
mkdir -p "$DEMO"
work=$(mktemp -d)
qemu_pid=
reader_pid=
cleanup() {
	local pid
	for pid in $qemu_pid $reader_pid; do
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -static -Wall -Werror -o "$work/cpu-bench" "$TOP/mk/cpu-bench.c" ||
	die "building mk/cpu-bench.c failed (gcc -static needs libc6-dev)"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# host_runs: RUNS runs on the host, before the guest's and again after
# them, so that a burst of other load lands on both sides alike.
host_runs() {
	for _ in $(seq 1 "$RUNS"); do
		"$work/cpu-bench" >>"$work/host.txt" || die "cpu-bench failed on the host"
	done
}
host_runs

# The guest: busybox, the benchmark, an init that runs it RUNS times and
# writes the results to the second serial port.
root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc"
cp "$BUSYBOX" "$root/bin/busybox"
cp "$work/cpu-bench" "$root/bin/cpu-bench"
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null ||
	/bin/busybox mknod /dev/ttyS1 c 4 65
for i in \$(/bin/busybox seq 1 $RUNS); do
	/bin/cpu-bench >/dev/ttyS1 || echo "cpu-bench: failed" >/dev/ttyS1
done
echo "cpu-bench: done" >/dev/ttyS1
/bin/busybox reboot -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio" ||
	die "making the initramfs failed"

# The result port is a FIFO that a reader on the host stamps line by line
# (QEMU's pipe character device writes to PATH.out, reads from PATH.in).
mkfifo "$work/result.in" "$work/result.out"
python3 -c '
import sys, time
for line in sys.stdin:
    print("%.6f %s" % (time.monotonic(), line.rstrip("\r\n")), flush=True)
' <"$work/result.out" >"$work/guest.stamped" &
reader_pid=$!
# -no-reboot: the guest's reboot -f ends QEMU (the test kernel may have no
# ACPI power-off).
qemu-system-x86_64 -nodefaults -no-reboot -display none -monitor none \
	-machine pc -accel "$DEMO_ACCEL" -cpu "$DEMO_CPU" -smp "$SMP" -m "$MEM" \
	-kernel "$KERNEL" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 quiet kunit.enable=0" \
	-serial "file:$work/console.log" -chardev "pipe,id=result,path=$work/result" \
	-serial chardev:result </dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
start=$(date +%s)
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ $(($(date +%s) - start)) -ge "$TIMEOUT" ]; then
		kill "$qemu_pid"
		tail -n 20 "$work/console.log" >&2
		die "the guest did not finish within $TIMEOUT s"
	fi
	sleep 1
done
wait "$qemu_pid" || true
qemu_pid=
wait "$reader_pid" || true
reader_pid=
grep -q ' cpu-bench: done$' "$work/guest.stamped" || {
	tail -n 20 "$work/console.log" >&2
	die "the guest reported no results (console above)"
}
! grep -q ' cpu-bench: failed$' "$work/guest.stamped" || die "cpu-bench failed in the guest"
# Each kind of work's time on the host's clock: from the line before it.
awk '$2 != "cpu-bench:" { next }
	$3 == "start" { prev = $1; sum = 0; next }
	$3 == "total" { printf "cpu-bench: total %.6f\n", sum; next }
	$3 != "done" { printf "cpu-bench: %s %.6f\n", $3, $1 - prev; sum += $1 - prev; prev = $1 }' \
	"$work/guest.stamped" >"$work/guest.txt"

host_runs
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The fastest run of each kind of work on each side, and the factors.
awk -v runs="$RUNS" -v lb="$load_before" -v la="$load_after" -v kernel="$KERNEL" \
	-v smp="$SMP" -v mem="$MEM" -v cpu="$DEMO_CPU" -v accel="$DEMO_ACCEL" -v out="$DEMO/cpu-factor" '
	FNR == 1 { side++ }
	$1 == "cpu-bench:" && $2 != "done" && $2 != "start" {
		k = side SUBSEP $2
		if (!(k in best) || $3 < best[k]) best[k] = $3
		if (side == 1 && !($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	}
	END {
		printf "cpu factor: the guest (-accel %s -cpu %s -smp %s -m %s, %s) against the host, fastest of %d runs in the guest and %d on the host\n", accel, cpu, smp, mem, kernel, runs, 2 * runs
		printf "  %-6s %10s %10s %8s\n", "work", "host s", "guest s", "factor"
		for (i = 1; i <= n; i++) {
			w = order[i]; h = best[1 SUBSEP w]; g = best[2 SUBSEP w]
			if (h <= 0 || g == "") { print "mk/cpu-factor: no result for " w > "/dev/stderr"; exit 1 }
			printf "  %-6s %10.3f %10.3f %8.2f\n", w, h, g, g / h
		}
		printf "load average before %s, after %s\n", lb, la
		printf "%.2f\n", best[2 SUBSEP "total"] / best[1 SUBSEP "total"] > out
	}' "$work/host.txt" "$work/guest.txt" >"$work/report.txt" || die "the results are incomplete"
{
	cat "$work/report.txt"
	echo "host runs:"
	sed 's/^/  /' "$work/host.txt"
	echo "guest runs (host's clock, from when each line reached the host):"
	sed 's/^/  /' "$work/guest.txt"
	echo "guest runs (the guest's own clock; stamped with the host's monotonic clock):"
	sed 's/^/  /' "$work/guest.stamped"
} >"$DEMO/cpu-factor.txt"
cat "$work/report.txt"
printf 'cpu factor %s (the guest'"'"'s total over the host'"'"'s): %s; details: %s\n' \
	"$(cat "$DEMO/cpu-factor")" "$DEMO/cpu-factor" "$DEMO/cpu-factor.txt"
