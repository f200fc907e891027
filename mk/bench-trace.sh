#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-trace: replay a recorded boot's reads against a slow device in
# the test VM, without bootcache and with it, and print the I/O wait saved,
# one row per playlist option set. A benchmark for tuning without full boots.
#
#   make bench-trace [BENCH_HISTORY=FILE] [BENCH_IMAGE=ISO] [variables]
#   BENCH_KERNEL=BZIMAGE mk/bench-trace.sh      (no build; that kernel)
#
# Variables (defaults in brackets):
#   BENCH_HISTORY      the recorded history [$OUT/demo/dvd/history, from make demo]
#   BENCH_IMAGE        the medium it was recorded on, the VM's CD [$OUT/demo/live/off.iso]
#   BENCH_VOLUME       the history's volume to replay [0]
#   BENCH_CONVERT_OPTS option sets for `bootcache convert`, separated by ';',
#                      one table row each ["": convert's defaults], e.g.
#                      "--max-gap 0;--max-gap 262144"
#   BENCH_DEVICE       the device model behind the CD drive [throttle]:
#                      throttle  QEMU's token bucket, BENCH_IOPS and BENCH_BPS
#                                [20 and 8388608: the demo's dvd profile]
#                      none      no limit (the I/O-free bound's device)
#                      drive     BENCH_DRIVE_OPTS, more -drive options for the
#                                CD drive; a later file= replaces the image,
#                                e.g. file=nbd+unix:///?socket=SOCK for a
#                                device model served over NBD (the medium it
#                                serves must be BENCH_IMAGE)
#   BENCH_RUNS         rounds of (cold, each set) [3]
#   BENCH_PACE         how a process's next read is timed [model]
#                      (tools/testing/selftests/bootcache/bench/replay.c):
#                      model  the previous completion plus the think time,
#                             the recorded gap less the previous read's cost
#                             on the recording's device (BENCH_REC_IOPS,
#                             BENCH_REC_BPS: max(1/IOPS, LENGTH/BPS)), in
#                             every run
#                      think  the same with the cost taken from the round's
#                             cold run, which is paced
#                      paced  the recorded gap after the previous submission,
#                             not before its completion, in every run
#   BENCH_REC_IOPS, BENCH_REC_BPS  the recording device's rates [BENCH_IOPS, BENCH_BPS]
#   BENCH_GAP          percent of the recorded gaps to keep [100]
#   BENCH_LEAD_MS      read-ahead's head start before the replay [0]
#   BENCH_TUNABLES     bootcache tunables for every run with a playlist,
#                      NAME=VALUE,... (e.g. wait_limit_ms=2000) [none]
#
# The table's columns: median over the runs (min-max) of the I/O wait with
# bootcache, the I/O wait saved against the cold run of the same round (ms
# and share), bootcache's hit ratio by bytes and by requests, the reads that
# waited for read-ahead (number, mean wait), the reads that went to the disk
# (number, mean and worst latency), the bytes read ahead and the peak cache.
# Every read of every run is checked against the image (CRC-32 per read),
# and every run's digest must be the same: the benchmark fails otherwise.
# Logs in $OUT/bench-trace/ (vm/console.log, vm/kselftest.log, table.txt).

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-out}
MAKE=${MAKE:-make}
SEL=tools/testing/selftests/bootcache
HISTORY=${BENCH_HISTORY:-$OUT/demo/dvd/history}
IMAGE=${BENCH_IMAGE:-$OUT/demo/live/off.iso}
VOLUME=${BENCH_VOLUME:-0}
DEVICE=${BENCH_DEVICE:-throttle}
RUNS=${BENCH_RUNS:-3}
PACE=${BENCH_PACE:-model}
GAP=${BENCH_GAP:-100}
LEAD_MS=${BENCH_LEAD_MS:-0}
IOPS=${BENCH_IOPS:-20}
BPS=${BENCH_BPS:-8388608}
REC_IOPS=${BENCH_REC_IOPS:-$IOPS}
REC_BPS=${BENCH_REC_BPS:-$BPS}

die() { printf 'mk/bench-trace: error: %s\n' "$*" >&2; exit 2; }
say() { printf '  %-8s %s\n' "$1" "$2"; }

cd "$TOP" || exit 1
[ -f "$HISTORY" ] || die "no history '$HISTORY' (BENCH_HISTORY; make demo PROFILE=dvd records one)"
[ -f "$IMAGE" ] || die "no medium '$IMAGE' (BENCH_IMAGE: the image the history was recorded on)"
for v in VOLUME RUNS GAP LEAD_MS IOPS BPS REC_IOPS REC_BPS; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a number, not '${!v}'"
done
[ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"
case $PACE in model | think | paced) ;; *) die "BENCH_PACE must be model, think or paced, not '$PACE'" ;; esac
if [ "$REC_IOPS" -eq 0 ] || [ "$REC_BPS" -eq 0 ]; then
	die "BENCH_REC_IOPS and BENCH_REC_BPS must be above 0"
fi
TUNABLES=${BENCH_TUNABLES:-}
[[ $TUNABLES =~ ^([a-z_]+=[0-9]+(,[a-z_]+=[0-9]+)*)?$ ]] ||
	die "BENCH_TUNABLES must be NAME=NUMBER,..., not '$TUNABLES'"
IFS=';' read -r -a SETS <<<"${BENCH_CONVERT_OPTS:-}"
[ ${#SETS[@]} -gt 0 ] || SETS=("")

# The device model: -drive options for the CD drive. A model served from
# outside QEMU (an NBD server that charges seeks, started here) gets a case
# of its own that sets file=nbd+unix:///?socket=...; until then, "drive".
case $DEVICE in
throttle) DRIVE_OPTS="throttling.iops-total=$IOPS,throttling.bps-total=$BPS" ;;
none) DRIVE_OPTS= ;;
drive)
	DRIVE_OPTS=${BENCH_DRIVE_OPTS:-}
	[ -n "$DRIVE_OPTS" ] || die "BENCH_DEVICE=drive needs BENCH_DRIVE_OPTS"
	;;
*) die "BENCH_DEVICE must be throttle, none or drive, not '$DEVICE'" ;;
esac

LOG=$OUT/bench-trace
mkdir -p "$LOG/data"
rm -f "$LOG"/data/*

KERNEL=${BENCH_KERNEL:-$OUT/build/test/arch/x86/boot/bzImage}
if [ -z "${BENCH_KERNEL:-}" ]; then
	"$MAKE" --no-print-directory kernel OUT="$OUT" || exit 1
fi
[ -f "$KERNEL" ] || die "no kernel '$KERNEL'"

# The tool, static as the guest needs it; the host runs the same binary.
export BOOTCACHE_TOOL_TARGET=${BOOTCACHE_TOOL_TARGET:-$(realpath -m "$OUT")/vm/tool-target}
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
	--manifest-path tools/bootcache/Cargo.toml --target x86_64-unknown-linux-gnu \
	--target-dir "$BOOTCACHE_TOOL_TARGET" || die "building the tool failed"
TOOL=$BOOTCACHE_TOOL_TARGET/x86_64-unknown-linux-gnu/release/bootcache

"$TOOL" print --json "$HISTORY" >"$LOG/history.json" || die "cannot read the history '$HISTORY'"
info=$(python3 mk/bench-trace.py trace "$LOG/history.json" "$IMAGE" "$LOG/data/trace.txt" \
	--volume "$VOLUME" --cost "$REC_IOPS" "$REC_BPS" "$LOG/data/cost.lat") || exit 2
say TRACE "$HISTORY: $info"
digest=${info##*digest=}
volume=${info%% *}
volume=${volume#volume=}
if medium=$("$TOOL" medium-id "$IMAGE" 2>/dev/null) && [ "$medium" != "$volume" ]; then
	die "$IMAGE is $medium, but the history's volume $VOLUME is $volume: the playlists would not find it"
fi
k=0
for opts in "${SETS[@]}"; do
	k=$((k + 1))
	# shellcheck disable=SC2086 # (the set's options, split into words)
	made=$("$TOOL" convert "$HISTORY" -o "$LOG/data/playlist-$k.bin" $opts 2>&1) ||
		die "bootcache convert $opts failed: $made"
	say PLAYLIST "set $k: convert ${opts:-(defaults)}: ${made##*: }"
done

span=$(echo "$info" | sed -n 's/.*span_s=\([0-9]*\).*/\1/p')
# Each replay takes about the trace's span (longer when slow), plus settling.
limit=$((RUNS * (k + 1) * (span * GAP * 2 / 100 + 30) + 600))
files=()
for f in "$LOG"/data/*; do files+=(-f "$f"); done
say VM "$RUNS rounds of cold + $k sets, device $DEVICE${DRIVE_OPTS:+ ($DRIVE_OPTS)}, pace $PACE, gaps $GAP%, lead $LEAD_MS ms${TUNABLES:+, $TUNABLES} (limit $limit s)"
"$SEL/vmtest.sh" -k "$KERNEL" -K "$OUT/linux" -o "$LOG/vm" -U -t "$limit" \
	-x "$SEL/bench/trace" -C "$IMAGE" ${DRIVE_OPTS:+-D "$DRIVE_OPTS"} "${files[@]}" \
	-e BOOTCACHE_TESTS=bench_trace.sh -e BOOTCACHE_TEST_TIMEOUT="$limit" \
	-e BENCH_SETS="$k" -e BENCH_RUNS="$RUNS" -e BENCH_PACE="$PACE" -e BENCH_GAP="$GAP" \
	-e BENCH_LEAD_MS="$LEAD_MS" -e BENCH_TUNABLES="$TUNABLES" -e BENCH_DIGEST="$digest" >"$LOG/vmtest.log" 2>&1
rc=$?
python3 mk/bench-trace.py report "$LOG/vm/kselftest.log" "${SETS[@]}" | tee "$LOG/table.txt"
if [ $rc -ne 0 ]; then
	grep -E 'not ok|replay:|error' "$LOG/vm/kselftest.log" | head -20 >&2
	tail -5 "$LOG/vmtest.log" >&2
	echo "mk/bench-trace: the VM run failed (status $rc); logs in $LOG" >&2
	exit 1
fi
