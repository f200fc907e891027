#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test of mk/summary.sh (run by mk/host-test.sh): every stage's counts
# reach the total, including stages it was never told about, in the order
# mk/test.sh ran them. Prints one "ok:"/"FAILED:" line per case; exits
# non-zero when any failed.

set -uo pipefail

SUMMARY=$(cd "$(dirname "$0")" && pwd)/summary.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failed=0

# stage NAME "P F S" SECONDS [unlisted]: a result as mk/test.sh leaves it.
stage() {
	echo "$2" >"$dir/$1"
	echo "0 $3" >"$dir/$1.time"
	[ "${4:-}" = unlisted ] || echo "$1" >>"$dir/.stages"
}

# expect NAME WANT: the last line of the summary of $dir is WANT.
expect() {
	local got
	got=$("$SUMMARY" "$dir" 2>/dev/null | tail -n 1)
	if [ "$got" = "$2" ]; then
		echo "ok: summary: $1"
	else
		echo "FAILED: summary: $1: last line '$got', want '$2'"
		failed=$((failed + 1))
	fi
}

reset() { rm -rf "${dir:?}"/* "$dir/.stages"; }

# The run of issue 11: the boot scenarios failed, and the total must say so.
stage setup "1 0 0" 1
stage host "80 0 2" 150
stage build "1 0 0" 700
stage vm "34 1 0" 100
stage boot "0 5 0" 600
expect "a failed boot stage counts" "116 passed, 6 failed, 2 skipped"
# ... and has its row, after vm (the order the stages ran in).
rows=$("$SUMMARY" "$dir" | awk 'NF == 5 && $1 != "stage" { printf "%s ", $1 }')
if [ "$rows" = "setup host build vm boot " ]; then
	echo "ok: summary: one row per stage, in the order they ran"
else
	echo "FAILED: summary: rows '$rows', want 'setup host build vm boot '"
	failed=$((failed + 1))
fi

# A stage nobody listed (a new one, or one written by hand) still counts.
reset
stage setup "1 0 0" 1
stage soak "3 2 1" 60 unlisted
expect "an unlisted stage counts" "4 passed, 2 failed, 1 skipped"

# A stage that started but left no counts is a failure, not nothing.
reset
stage setup "1 0 0" 1
echo vm >>"$dir/.stages"
expect "a stage without counts fails" "1 passed, 1 failed"

# No skips: the short form of the last line.
reset
stage setup "1 0 0" 1
stage host "7 0 0" 5
expect "no skips" "8 passed, 0 failed"

[ $failed -eq 0 ]
