#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/summary.sh RESULTS: one line per stage, then the total
# "N passed, N failed[, N skipped]" (the last line of make test and .ci/run).
#
# Every stage counts. The stages are read from the directory, not from a list
# here, so that a new stage cannot be left out of the total: first those named
# in RESULTS/.stages (mk/test.sh writes each stage's name there as it starts,
# so the table keeps the order they ran in), then any other result file. A
# result file is RESULTS/NAME holding "passed failed skipped", with its
# "status seconds" in RESULTS/NAME.time. A stage that started but left no
# readable counts counts as one failure.

results=${1:-out/results}
tp=0 tf=0 ts=0

stages() {
	local f name
	[ -f "$results/.stages" ] && cat "$results/.stages"
	for f in "$results"/*; do
		[ -f "$f" ] || continue
		name=${f##*/}
		case $name in *.time) continue ;; esac
		printf '%s\n' "$name"
	done
}

printf '\n%-8s %8s %8s %8s %10s\n' stage passed failed skipped time
# Each name once, in the first place it appears.
while read -r name; do
	[ -n "$name" ] || continue
	p= f= s=
	[ -f "$results/$name" ] && read -r p f s _ <"$results/$name"
	if ! [[ "$p" =~ ^[0-9]+$ && "$f" =~ ^[0-9]+$ ]]; then
		echo "summary: stage $name left no counts: counted as one failure" >&2
		p=0 f=1 s=0
	fi
	[[ "$s" =~ ^[0-9]+$ ]] || s=0
	secs=0
	[ -f "$results/$name.time" ] && read -r _ secs _ <"$results/$name.time"
	[[ "$secs" =~ ^[0-9]+$ ]] || secs=0
	printf '%-8s %8d %8d %8d %6d:%02d\n' "$name" "$p" "$f" "$s" $((secs / 60)) $((secs % 60))
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done < <(stages | awk '!seen[$0]++')
if [ $ts -gt 0 ]; then
	printf '%d passed, %d failed, %d skipped\n' $tp $tf $ts
else
	printf '%d passed, %d failed\n' $tp $tf
fi
