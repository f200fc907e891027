#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test disk reads back exactly as the host wrote it, MiB by MiB. This is
# the byte comparison every bootcache read test builds on. It needs the disk
# the VM harness (vmtest.sh) provides and is skipped elsewhere.

. "$(dirname "$(readlink -f "$0")")/common.sh"

ktap_print_header
disk=${BOOTCACHE_TEST_DISK:-}
sums=${BOOTCACHE_TEST_DISK_SUMS:-}
if [ -z "$disk" ] || [ ! -b "$disk" ] || [ ! -f "$sums" ]; then
	ktap_skip_all "no test disk (BOOTCACHE_TEST_DISK, BOOTCACHE_TEST_DISK_SUMS): run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 2
bc_kmsg "test_disk start"

size=$(blockdev --getsize64 "$disk")
want=$(($(wc -l <"$sums") * 1048576))
if [ "$size" = "$want" ]; then
	ktap_test_pass "$disk is $want bytes"
else
	ktap_test_fail "$disk is $want bytes (is $size)"
fi

bad=0
while read -r mib sum; do
	got=$(dd if="$disk" bs=1048576 skip="$mib" count=1 2>/dev/null | md5sum | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		ktap_print_msg "MiB $mib: md5 $got, expected $sum"
		bad=$((bad + 1))
	fi
done <"$sums"
if [ $bad -eq 0 ]; then
	ktap_test_pass "every MiB of $disk matches the host's image"
else
	ktap_test_fail "every MiB of $disk matches the host's image ($bad differ)"
fi

bc_kmsg "test_disk end"
ktap_finished
