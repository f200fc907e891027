#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A volume that appears after start joins the cache: the playlist names a
# partition that does not exist yet; the test then writes a partition table
# to a spare disk of its own, the partition appears, and its extents are read ahead
# and served.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip late_present 24 7 bc7e5740
uuid=$BC_UUID
# The spare disk: no partition table yet.
bc_disk_or_skip late 16 8
spare=$BC_DEV
bc_plan 4
late=bc7e5741-01

bcfile make-playlist -o "$T/pl" -e "$uuid:20M:1M" -e "$late:0:1M"
bc_load_and_start "$T/pl"
[ "$(bc_stat missing_volume_bytes)" -eq 1048576 ] && bc_state_is active
bc_check "start caches what is there and waits for the missing volume"

# An MBR with signature 0xbc7e5741 and one partition from sector 2048 to
# the end of the 16 MiB disk.
bcfile mbr bc7e5741 $((16 * 2048)) >"$T/mbr"
dd if="$T/mbr" of="$spare" bs=512 count=1 conv=notrunc oflag=direct 2>/dev/null
blockdev --rereadpt "$spare"
case $spare in *[0-9]) spart=${spare}p1 ;; *) spart=${spare}1 ;; esac
bc_wait_for test -b "$spart"
bc_check "the partition appears"

bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 2097152 ] &&
	[ \$(cat $S/stats/missing_volume_bytes) -eq 0 ]"
bc_check "the new volume joins: $(bc_stat readahead_bytes) bytes read ahead"

h0=$(bc_stat hit_bytes)
got=$(dd if="$spart" bs=1048576 count=1 iflag=direct 2>/dev/null | bc_md5)
[ "$got" = "$(bc_want 8 1048576 1048576)" ] && [ $(($(bc_stat hit_bytes) - h0)) -eq 1048576 ]
bc_check "its data is served from the cache, byte for byte"
echo jettison >"$S/control"

bc_end
