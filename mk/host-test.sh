#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests: the VM harness's result parser, the seek model
# (mk/seekdisk_test.py), the guest profiler (mk/guest_profile_test.py),
# make test's summary, the
# userspace tool and the shared format code (cargo test, formatting, clippy),
# the kselftests' C helper against the tool, shellcheck of the test scripts,
# and a short fuzz run. Counts go to $RESULTS_FILE as "passed failed skipped"
# when it is set.

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
TOOL=$TOP/tools/bootcache
FORMAT=$TOP/drivers/block/bootcache/format
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 skipped=0

# check NAME COMMAND...: one pass/fail check.
check() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		printf 'ok: %s\n' "$name"
	else
		failed=$((failed + 1))
		printf 'FAILED: %s\n' "$name"
	fi
}

# The VM harness's result parser: it must catch what it claims to catch.
python3 "$TOP/tools/testing/selftests/bootcache/ktap_summary_test.py" >"$log" 2>&1
cat "$log"
passed=$((passed + $(grep -c '\.\.\. ok$' "$log")))
failed=$((failed + $(grep -Ec '\.\.\. (FAIL|ERROR)$' "$log")))
grep -q '^OK' "$log" || { grep -Eq '\.\.\. (FAIL|ERROR)$' "$log" || failed=$((failed + 1)); }

# unittest_py FILE: a Python unittest file, counted test by test.
unittest_py() {
	python3 "$TOP/$1" >"$log" 2>&1
	cat "$log"
	local n
	n=$(grep -Ec '\.\.\. (ok|FAIL|ERROR|skipped.*)$' "$log")
	passed=$((passed + $(grep -c '\.\.\. ok$' "$log")))
	failed=$((failed + $(grep -Ec '\.\.\. (FAIL|ERROR)$' "$log")))
	skipped=$((skipped + $(grep -c '\.\.\. skipped' "$log")))
	if grep -q '^OK' "$log" && [ "$n" -gt 0 ]; then
		echo "ok: $1 ($n tests)"
	else
		echo "FAILED: $1"
		grep -Eq '\.\.\. (FAIL|ERROR)$' "$log" || failed=$((failed + 1))
	fi
}

# The seek model behind make demo's hdd7200, hdd5400, dvd-seek and usb2
# drives (mk/seekdisk.py): its arithmetic, and the NBD server against
# qemu-img and qemu-io.
unittest_py mk/seekdisk_test.py

# The guest profiler (mk/guest-profile.py) and the QMP client it shares
# with demo-report.py (mk/qmp.py): a report on a hand-made samples file,
# sampling against a fake QMP server.
unittest_py mk/guest_profile_test.py

# make test's total (mk/summary.sh): every stage must count in it.
"$TOP/mk/summary-test.sh" >"$log" 2>&1
rc=$?
cat "$log"
passed=$((passed + $(grep -c '^ok: ' "$log")))
failed=$((failed + $(grep -c '^FAILED: ' "$log")))
[ $rc -eq 0 ] || grep -q '^FAILED: ' "$log" || failed=$((failed + 1))

if [ ! -f "$TOOL/Cargo.toml" ]; then
	echo "host: no tools/bootcache yet, nothing to test"
else
	# cargo test: count the individual tests it ran.
	if cargo test --manifest-path "$TOOL/Cargo.toml" 2>&1 | tee "$log"; then :; fi
	counts=$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$log" |
		awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}')
	read -r p f s <<<"$counts"
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		echo "FAILED: cargo test ran no tests (build error?)"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	check "cargo fmt --check" cargo fmt --manifest-path "$TOOL/Cargo.toml" --check
	if [ -d "$FORMAT" ]; then
		check "rustfmt --check format/" rustfmt --check --edition 2021 "$FORMAT"/*.rs
	fi
	check "cargo clippy -D warnings" cargo clippy --quiet --manifest-path "$TOOL/Cargo.toml" \
		--all-targets -- -D warnings
	check "bcfile writes the tool's bytes" "$TOP/mk/bcfile-check.sh"
	if [ -x "$TOOL/fuzz/run.sh" ]; then
		check "short fuzz run" "$TOOL/fuzz/run.sh" "${FUZZ_SHORT_SECONDS:-20}"
	fi
fi

check "shellcheck of the kselftests" make -s -C "$TOP" shellcheck

printf 'host: %d passed, %d failed, %d skipped\n' $passed $failed $skipped
[ -z "${RESULTS_FILE:-}" ] || echo "$passed $failed $skipped" >"$RESULTS_FILE"
[ $failed -eq 0 ]
