#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every cargo-fuzz target of tools/bootcache for SECONDS each (default 20), seeded
# with the malformed samples and small synthetic files (volume_id: volume names and an
# ISO 9660 descriptor). Prints the executions per target
# and exits non-zero if any target crashes (the crashing input is kept under artifacts/).
#
# Usage: run.sh [SECONDS]
set -euo pipefail

SECONDS_PER_TARGET="${1:-20}"
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
TOOL_DIR="$(dirname "$FUZZ_DIR")"
TARGETS=(validate convert volume_id)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
	echo "run.sh: installing cargo-fuzz" >&2
	cargo install cargo-fuzz --locked
fi

# Per-run scratch space, so that concurrent runs do not clobber each other's logs.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Seed corpora: the malformed samples and small valid files, made by the tool itself.
cargo build --quiet --manifest-path "$TOOL_DIR/Cargo.toml"
BIN="$TOOL_DIR/target/debug/bootcache"
SEEDS="$WORK/seeds"
mkdir -p "$SEEDS"
"$BIN" gen-malformed "$SEEDS"
for n in 0 1 5 40; do
	"$BIN" gen-history --entries "$n" --volumes 2 --volume-size 16M --seed "$n" \
		-o "$SEEDS/history-$n"
done
"$BIN" convert "$SEEDS/history-40" -o "$SEEDS/playlist-40" --max-gap 0 2>/dev/null
# Four volumes: the fourth is an ISO 9660 disc (since format version 2).
"$BIN" gen-history --entries 60 --volumes 4 --volume-size 16M --seed 4 -o "$SEEDS/history-iso"
"$BIN" convert "$SEEDS/history-iso" -o "$SEEDS/playlist-iso" --max-gap 0 2>/dev/null

# run_target TARGET CORPUS: fuzz one target; prints its executions and result.
run_target() {
	local t=$1 corpus=$2 log="$WORK/fuzz-$1.log" result execs secs rc=0
	echo "run.sh: fuzzing $t for ${SECONDS_PER_TARGET}s" >&2
	if (cd "$FUZZ_DIR" && cargo +nightly fuzz run "$t" "$corpus" -- \
		-max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
		-print_final_stats=1) >"$log" 2>&1; then
		result=ok
	else
		result=CRASH
		rc=1
		tail -n 40 "$log" >&2
	fi
	execs=$(grep -a -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
	secs=$(grep -a -E '^Done [0-9]+ runs in' "$log" | awk '{print $5}' | tail -n 1)
	echo "fuzz $t: ${execs:-?} executions in ${secs:-?}s: $result"
	return $rc
}

status=0
for t in "${TARGETS[@]}"; do
	corpus="$FUZZ_DIR/corpus/$t"
	mkdir -p "$corpus"
	if [ "$t" = volume_id ]; then
		# Volume names in their text form, and an ISO 9660 PVD.
		n=0
		for v in root 00112233-4455-6677-8899-aabbccddeeff 1234abcd-01 \
			iso9660:2026-11-30-04-00-00-00:1a2b3c4d; do
			n=$((n + 1))
			printf '%s' "$v" >"$corpus/seed-name-$n"
		done
		{
			printf '\001CD001\001\000'
			head -c 32 /dev/zero | tr '\0' ' '
			printf '%-32s' BOOTCACHE_LIVE
			head -c 741 /dev/zero
			printf '2026113004000000\000'
		} >"$corpus/seed-pvd"
	else
		for f in "$SEEDS"/*; do
			if [ "$t" = convert ]; then
				# The convert target takes 4 option bytes before the history.
				{
					printf '\001\002\000\000'
					cat "$f"
				} >"$corpus/seed-$(basename "$f")"
			else
				cp "$f" "$corpus/seed-$(basename "$f")"
			fi
		done
	fi
	run_target "$t" "$corpus" || status=1
done
exit "$status"
