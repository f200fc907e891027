#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: setup, host tests, the kernel build, the VM run of KUnit and the
# kselftests, then the boot scenarios (bootcache= and built-in playlists).
# Each stage is timed and leaves "passed failed skipped" in
# $OUT/results/<stage>, its name in $OUT/results/.stages (the order it ran
# in); the last line is mk/summary.sh's total over every stage there.

set -uo pipefail

OUT=${OUT:-out}
RESULTS=$OUT/results
MAKE=${MAKE:-make}
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
status=0

# stage NAME COMMAND...: run one stage. A stage that writes its own counts to
# $RESULTS/NAME keeps them; otherwise it counts as one check.
stage() {
	local name=$1 start rc
	shift
	# Listed before it runs: a stage that dies still counts (as a failure).
	printf '%s\n' "$name" >>"$RESULTS/.stages"
	printf '\n==> %s\n' "$name"
	start=$(date +%s)
	RESULTS_FILE=$RESULTS/$name "$@"
	rc=$?
	local secs=$(($(date +%s) - start))
	if [ ! -s "$RESULTS/$name" ]; then
		if [ $rc -eq 0 ]; then echo "1 0 0" >"$RESULTS/$name"; else echo "0 1 0" >"$RESULTS/$name"; fi
	elif [ $rc -ne 0 ] && [ "$(cut -d' ' -f2 "$RESULTS/$name")" = 0 ]; then
		# Failed without counting a failure (a crash, a missing result).
		read -r p f s <"$RESULTS/$name"
		echo "$p $((f + 1)) $s" >"$RESULTS/$name"
	fi
	printf '%s %s\n' "$rc" "$secs" >"$RESULTS/$name.time"
	printf '<== %s: %s in %d min %02d s\n' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" \
		$((secs / 60)) $((secs % 60))
	[ $rc -eq 0 ] || status=1
	return $rc
}

export RESULTS
stage setup "$MAKE" --no-print-directory setup || { mk/summary.sh "$RESULTS"; exit 1; }
stage host mk/host-test.sh
if stage build "$MAKE" --no-print-directory kernel OUT="$OUT" FLAVOR=test; then
	stage vm tools/testing/selftests/bootcache/vmtest.sh \
		-k "$OUT/build/test/arch/x86/boot/bzImage" -K "$OUT/linux" -o "$OUT/vm"
	stage boot env OUT="$OUT" MAKE="$MAKE" mk/boot-test.sh
fi
mk/summary.sh "$RESULTS"
exit $status
