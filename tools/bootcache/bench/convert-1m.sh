#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Times `bootcache convert` on a synthetic history of ENTRIES entries (default
# 1,000,000) with /usr/bin/time -v, and prints the wall time and peak memory.
#
# Usage: convert-1m.sh [ENTRIES]
set -euo pipefail

ENTRIES="${1:-1000000}"
TOOL_DIR="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x /usr/bin/time ]; then
	apt-get install -y time >/dev/null
fi

cargo build --release --quiet --manifest-path "$TOOL_DIR/Cargo.toml"
BIN="$TOOL_DIR/target/release/bootcache"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BIN" gen-history --entries "$ENTRIES" -o "$WORK/history"
"$BIN" validate "$WORK/history"
/usr/bin/time -v "$BIN" convert "$WORK/history" -o "$WORK/playlist" 2>"$WORK/time"
"$BIN" validate "$WORK/playlist"
grep -E '^(p|/).*bytes|Elapsed|Maximum resident' "$WORK/time" || cat "$WORK/time"
