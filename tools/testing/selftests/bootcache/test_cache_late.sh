#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A volume that appears after start joins the cache: the playlist names a
# partition that does not exist yet; the test then writes a partition table
# to the spare disk, the partition appears, and its extents are read ahead
# and served.

. "$(dirname "$(readlink -f "$0")")/common.sh"

ktap_print_header
bc_require
spare=${BOOTCACHE_TEST_DISK2:-}
sums=${BOOTCACHE_TEST_DISK2_SUMS:-}
uuid=${BOOTCACHE_TEST_PARTUUID:-}
if [ -z "$spare" ] || [ ! -b "$spare" ] || [ ! -f "$sums" ] || [ -z "$uuid" ] ||
	! command -v bootcache >/dev/null; then
	ktap_skip_all "no spare disk or no bootcache tool: run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
S=$BC_SYSFS
ktap_set_plan 4
bc_kmsg "test_cache_late start"
late=cafe0001-01

bootcache make-playlist -o /tmp/pl -e "$uuid:20M:1M" -e "$late:0:1M"
bc_load_and_start /tmp/pl
[ "$(bc_stat missing_volume_bytes)" -eq 1048576 ] && bc_state_is active
bc_check "start caches what is there and waits for the missing volume"

# An MBR with signature 0xcafe0001 and one partition from sector 2048 to
# the end of the 64 MiB disk (129024 sectors).
dd if=/dev/zero of=/tmp/mbr bs=512 count=1 2>/dev/null
put() { printf "$2" | dd of=/tmp/mbr bs=1 seek="$1" conv=notrunc 2>/dev/null; }
put 440 '\001\000\376\312'
put 450 '\203'
put 454 '\000\010\000\000'
put 458 '\000\370\001\000'
put 510 '\125\252'
dd if=/tmp/mbr of="$spare" bs=512 count=1 conv=notrunc oflag=direct 2>/dev/null
blockdev --rereadpt "$spare"
bc_wait_for test -b "${spare}1"
bc_check "the partition appears"

bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 2097152 ] && [ \$(cat $S/stats/missing_volume_bytes) -eq 0 ]"
bc_check "the new volume joins: $(bc_stat readahead_bytes) bytes read ahead"

h0=$(bc_stat hit_bytes)
got=$(dd if="${spare}1" bs=1048576 count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got" = "$(sed -n 's/^1 //p' "$sums")" ] && [ $(($(bc_stat hit_bytes) - h0)) -eq 1048576 ]
bc_check "its data is served from the cache, byte for byte"
echo jettison >"$S/control"

bc_kmsg "test_cache_late end"
ktap_finished
