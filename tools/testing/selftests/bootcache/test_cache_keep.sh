#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Keep extents (BOOTCACHE_EXTENT_KEEP): a block the boot reads more than
# once is served every time, through the partition and through the whole
# disk, with the disk's bytes, until a write makes it a miss that reads the
# new bytes; an extent without the flag is served once. And the statistics
# the measurement needs: rehit_bytes, partial_miss_bytes, cpu_ns, cpu_max_ns.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip keep 16 5 bc7e5714
part=$BC_PART
uuid=$BC_UUID
bc_plan 10

MIB=1048576
want_md5() { bc_part_want 5 "$1"; }
mib_md5() { bc_mib_md5 "$part" "$1"; }
# stat_grew NAME BEFORE BY: NAME grew by exactly BY since it was BEFORE.
stat_grew() { [ $(($(bc_stat "$1") - $2)) -eq "$3" ]; }

# MiB 0 and 1 of the partition kept, MiB 2 served once.
bcfile make-playlist -o "$T"/pk -e "$uuid:0:2M:0:keep" -e "$uuid:2M:1M"
bc_load_and_start "$T"/pk
bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $((3 * MIB)) ]"

h=$(bc_stat hit_bytes)
x=$(mib_md5 0)
[ "$x" = "$(want_md5 0)" ] && stat_grew hit_bytes "$h" $MIB && [ "$(bc_stat rehit_bytes)" -eq 0 ]
bc_check "a keep extent's first read is a hit with the disk's bytes"

h=$(bc_stat hit_bytes)
x=$(mib_md5 0)
[ "$x" = "$(want_md5 0)" ] && stat_grew hit_bytes "$h" $MIB && [ "$(bc_stat rehit_bytes)" -eq $MIB ]
bc_check "read again, it is a hit again with the same bytes (rehit_bytes $(bc_stat rehit_bytes))"

# MiB 0 of the partition is MiB 1 of the disk.
h=$(bc_stat hit_bytes)
x=$(bc_mib_md5 "$BC_DEV" 1)
[ "$x" = "$(want_md5 0)" ] && stat_grew hit_bytes "$h" $MIB &&
	[ "$(bc_stat rehit_bytes)" -eq $((2 * MIB)) ]
bc_check "read through the whole disk, it is a hit a third time"

m=$(bc_stat misses)
x=$(mib_md5 2)
y=$(mib_md5 2)
[ "$x" = "$(want_md5 2)" ] && [ "$y" = "$x" ] && [ "$(bc_stat misses)" -gt "$m" ] &&
	[ "$(bc_stat rehit_bytes)" -eq $((2 * MIB)) ]
bc_check "an extent without the flag is served once, then read from the disk"

# MiB 1: read once (a hit, kept), then 16 KiB written in its middle, then
# read again: a miss that returns the new bytes around the cached ones.
x=$(mib_md5 1)
[ "$x" = "$(want_md5 1)" ]
bc_check "the other kept MiB is a hit with the disk's bytes"
dd if=/dev/urandom of="$T/w" bs=4096 count=4 2>/dev/null
dd if="$T/w" of="$part" bs=4096 seek=$(((MIB + 65536) / 4096)) count=4 oflag=direct conv=notrunc \
	2>/dev/null
bcfile pattern 5 $((2 * MIB)) $MIB >"$T/want"
dd if="$T/w" of="$T/want" bs=4096 seek=16 conv=notrunc 2>/dev/null
m=$(bc_stat misses) mb=$(bc_stat miss_bytes) p=$(bc_stat partial_miss_bytes)
x=$(mib_md5 1)
[ "$x" = "$(bc_md5 <"$T/want")" ] && [ "$(bc_stat misses)" -gt "$m" ]
bc_check "after a write the kept MiB is a miss that reads the new bytes"
# The cache held every byte of the MiB but the 16 KiB written: the read (or
# the part of it that missed, if it came in several bios) read the rest again.
missed=$(($(bc_stat miss_bytes) - mb)) partial=$(($(bc_stat partial_miss_bytes) - p))
[ "$missed" -ge 16384 ] && [ "$partial" -eq $((missed - 16384)) ]
bc_check "partial_miss_bytes counts what the miss read that the cache held ($partial of $missed)"

[ "$(bc_stat cpu_ns)" -gt 0 ]
bc_check "cpu_ns counts the time spent in bootcache ($(bc_stat cpu_ns) ns)"
# The longest section first: cpu_ns only grows.
mx=$(bc_stat cpu_max_ns)
[ "$mx" -gt 0 ] && [ "$mx" -le "$(bc_stat cpu_ns)" ]
bc_check "cpu_max_ns is the longest section, within cpu_ns ($mx ns)"

echo jettison >"$S/control"
bc_wait_for sh -c "[ \$(cat $S/stats/cache_bytes) -eq 0 ]"
bc_check "a jettison frees the kept pages (cache_bytes $(bc_stat cache_bytes))"

bc_end
