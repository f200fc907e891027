#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sys/kernel/bootcache/ exists and reports the format version of the uapi
# header, read-only.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_plan 4

if [ -d "$BC_SYSFS" ] && [ -f "$BC_SYSFS/version" ]; then
	ktap_test_pass "sysfs directory and version file exist"
else
	ktap_test_fail "sysfs directory and version file exist"
fi

mode=$(stat -c %a "$BC_SYSFS/version" 2>/dev/null)
if [ "$mode" = 444 ]; then
	ktap_test_pass "version is mode 0444"
else
	ktap_test_fail "version is mode 0444 (is ${mode:-missing})"
fi

want=$(cat "$DIR/format_version" 2>/dev/null)
got=$(cat "$BC_SYSFS/version" 2>/dev/null)
# One decimal value and a newline: the file must be exactly "$want\n".
if [ -n "$want" ] && [ "$got" = "$want" ] &&
	[ "$(od -An -c "$BC_SYSFS/version" | tr -d ' ')" = "$want\\n" ]; then
	ktap_test_pass "version reads '$want' as in the uapi header"
else
	ktap_test_fail "version reads '$want' as in the uapi header (got '$got')"
fi

if [ -f "$BC_SYSFS/version" ] && ! (echo 2 >"$BC_SYSFS/version") 2>/dev/null &&
	[ "$(cat "$BC_SYSFS/version")" = "$want" ]; then
	ktap_test_pass "writing version is refused"
else
	ktap_test_fail "writing version is refused"
fi

bc_end
