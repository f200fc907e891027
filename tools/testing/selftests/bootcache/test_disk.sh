#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A test disk made by common.sh's bc_disk (null_blk through configfs, or a
# loop device) reads back exactly the content it was given, MiB by MiB. This
# is the byte comparison every bootcache read test builds on.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin_root
bc_disk_or_skip disk 64 1
disk=$BC_DEV
bc_plan 2

size=$(blockdev --getsize64 "$disk")
want=$((64 * 1048576))
if [ "$size" = "$want" ]; then
	ktap_test_pass "$disk is $want bytes"
else
	ktap_test_fail "$disk is $want bytes (is $size)"
fi

bad=0
mib=0
while [ $mib -lt 64 ]; do
	got=$(dd if="$disk" bs=1048576 skip="$mib" count=1 iflag=direct 2>/dev/null | bc_md5)
	sum=$(bc_want 1 $((mib * 1048576)) 1048576)
	if [ "$got" != "$sum" ]; then
		ktap_print_msg "MiB $mib: md5 $got, expected $sum"
		bad=$((bad + 1))
	fi
	mib=$((mib + 1))
done
if [ $bad -eq 0 ]; then
	ktap_test_pass "every MiB of $disk matches its content"
else
	ktap_test_fail "every MiB of $disk matches its content ($bad differ)"
fi

bc_end
