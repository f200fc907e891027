#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, not a test: the guest's side of make bench-trace
# (mk/bench-trace.sh). Replays a recorded boot's reads (replay, from
# ../replay.c) on the CD drive, once without bootcache (cold) and once with
# each playlist, BENCH_RUNS times, interleaved, and prints for each run the
# replay's figures, bootcache's counters and what each read was (a hit, a
# hit that waited for read-ahead, a miss) as "bench-trace:" lines for the
# host to tabulate. A run fails if a read returned other bytes than the
# medium holds, or if the runs' digests differ.
#
# Input (vmtest.sh -f, -e): vmdata/trace.txt (replay's trace), vmdata/
# playlist-1.bin ... playlist-$BENCH_SETS.bin; BENCH_RUNS, BENCH_PACE
# (model, think or paced, see mk/bench-trace.sh), BENCH_GAP (percent of the recorded gaps),
# BENCH_LEAD_MS (read-ahead's head start), BENCH_TUNABLES (NAME=VALUE,...
# written to /sys/kernel/bootcache/NAME before each start), BENCH_DIGEST
# (the digest the host computed from the image), BENCH_DEV (default the CD
# drive).

. "$(dirname "$(readlink -f "$0")")/common.sh"

DATA=$DIR/vmdata
DEV=${BENCH_DEV:-${BOOTCACHE_TEST_CD:-/dev/sr0}}
SETS=${BENCH_SETS:-1}
RUNS=${BENCH_RUNS:-3}
PACE=${BENCH_PACE:-model}
GAP=${BENCH_GAP:-100}
LEAD_MS=${BENCH_LEAD_MS:-0}
WANT=${BENCH_DIGEST:-}
TUNABLES=${BENCH_TUNABLES:-}

ktap_print_header
bc_require
if [ ! -f "$DATA/trace.txt" ] || ! command -v replay >/dev/null ||
	! command -v bootcache >/dev/null; then
	bc_skip_all "needs vmdata/trace.txt (make bench-trace), replay and the bootcache tool"
fi
case $PACE in
model | think | paced) ;;
*) bc_skip_all "BENCH_PACE must be model, think or paced, not '$PACE'" ;;
esac
ktap_set_plan $((RUNS * (SETS + 1)))
bc_kmsg "bench_trace.sh starting: $RUNS runs of $((SETS + 1)) cases on $DEV"

T=$(mktemp -d)
# How each run times a process's next read (replay -c: think times).
cold_opts=''
warm_opts=''
case $PACE in
model) cold_opts="-c $DATA/cost.lat" warm_opts=$cold_opts ;;
think) cold_opts="-l $T/cold.lat" warm_opts="-c $T/cold.lat" ;;
esac
msg() { ktap_print_msg "bench-trace: $*"; }

# settle: the same start for every run: no session, no cached pages, and the
# device's throttle bucket refilled.
settle() {
	bc_state_is active && echo jettison >"$S/control"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 3
}

# replay_run RUN SET [REPLAY OPTIONS]: replay the trace, print its figures,
# check its bytes; leaves the per-read lines in $T/reads.
replay_run() {
	run=$1 set=$2
	shift 2
	if ! replay -v -g "$GAP" "$@" "$DEV" "$DATA/trace.txt" >"$T/out" 2>"$T/err"; then
		sed 's/^/# /' "$T/err"
		why="replay failed or read other bytes than the medium holds"
		ktap_test_fail "run $run set $set: $why"
		return 1
	fi
	grep '^read ' "$T/out" >"$T/reads"
	summary=$(grep '^replay: ' "$T/out")
	msg "run $run set $set $summary"
	digest=$(echo "$summary" | sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p')
	[ -n "$WANT" ] || WANT=$digest
	if [ "$digest" != "$WANT" ]; then
		ktap_test_fail "run $run set $set: digest $digest, want $WANT"
		return 1
	fi
	return 0
}

# classify RUN SET: what each replayed read was, from the session's history
# (H hit, w waited; a read whose first bio has no H went to the disk), and
# the latencies of each class.
classify() {
	bootcache print "$T/history" | awk '
		NR == FNR {
			if ($1 ~ /^[0-9]+$/ && NF == 7) {
				k = $6; q[k] = q[k] " " $4
			}
			next
		}
		$1 == "read" {
			k = $4; f = "R"
			if (k in q && q[k] != "") {
				split(q[k], a, " "); f = a[1]; sub(/^ [^ ]*/, "", q[k])
			}
			c = f ~ /H/ ? (f ~ /w/ ? "waited" : "hit") : "miss"
			n[c]++; ms[c] += $6 / 1000
			if ($6 / 1000 > mx[c]) mx[c] = $6 / 1000
		}
		END {
			printf "hit=%d waited=%d miss=%d hit_ms=%.1f waited_ms=%.1f miss_ms=%.1f ",
				n["hit"], n["waited"], n["miss"],
				ms["hit"], ms["waited"], ms["miss"]
			printf "waited_max_ms=%.1f miss_max_ms=%.1f\n", mx["waited"], mx["miss"]
		}' - "$T/reads"
}

counters="playlist_bytes readahead_bytes readahead_bios hits hit_bytes misses miss_bytes
	parked parked_hits parked_timeouts parked_passed parked_wait_ns cache_peak_bytes"
stats() {
	line=
	for c in $counters; do line="$line $c=$(bc_stat "$c")"; done
	echo "${line# }"
}

run=1
while [ "$run" -le "$RUNS" ]; do
	settle
	# shellcheck disable=SC2086 # (none or two words)
	if replay_run "$run" 0 $cold_opts; then
		ktap_test_pass "run $run cold: every read as on the medium"
	fi
	set=1
	while [ "$set" -le "$SETS" ]; do
		settle
		for t in $(echo "$TUNABLES" | tr ',' ' '); do
			echo "${t#*=}" >"$S/${t%%=*}" ||
				ktap_test_fail "run $run set $set: cannot set $t"
		done
		if ! bootcache start "$DATA/playlist-$set.bin" >"$T/err" 2>&1; then
			sed 's/^/# /' "$T/err"
			ktap_test_fail "run $run set $set: bootcache start failed"
			set=$((set + 1))
			continue
		fi
		bc_sleep_ms "$LEAD_MS"
		# shellcheck disable=SC2086 # (none or two words)
		if replay_run "$run" "$set" $warm_opts; then
			echo stop >"$S/control"
			msg "run $run set $set stats: $(stats) reason=$(cat "$S/reason")"
			cat "$S/history" >"$T/history"
			msg "run $run set $set classes: $(classify)"
			ktap_test_pass "run $run set $set: every read as on the medium"
		fi
		set=$((set + 1))
	done
	run=$((run + 1))
done
settle
rm -rf "$T"
bc_kmsg "bench_trace.sh done"
ktap_finished
