#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/summary.sh RESULTS: one line per stage, then the total
# "N passed, N failed, N skipped" (the last line of make test and .ci/run).

results=${1:-out/results}
tp=0 tf=0 ts=0
printf '\n%-8s %8s %8s %8s %10s\n' stage passed failed skipped time
for name in setup host build vm; do
	[ -f "$results/$name" ] || continue
	read -r p f s <"$results/$name"
	read -r _ secs <"$results/$name.time" 2>/dev/null || secs=0
	printf '%-8s %8d %8d %8d %6d:%02d\n' "$name" "$p" "$f" "$s" $((secs / 60)) $((secs % 60))
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
if [ $ts -gt 0 ]; then
	printf '%d passed, %d failed, %d skipped\n' $tp $tf $ts
else
	printf '%d passed, %d failed\n' $tp $tf
fi
