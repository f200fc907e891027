#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reads that outrun read-ahead, on a disk throttled to 2 MB/s (null_blk's
# mbps): they wait, read-ahead fetches what they wait for ahead of its walk
# (a demand read-ahead), and they get the right bytes, or, past the wait
# limit, go to the disk and get the right bytes; a write while read-ahead is
# under way is never hidden.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip wait 16 4 bc7e5710 2
part=$BC_PART
uuid=$BC_UUID
bc_plan 7
want_md5() { bc_part_want 4 "$1"; }
mib_md5() { bc_mib_md5 "$part" "$1"; }

# 6 MiB at 2 MiB/s: the walk reaches the last MiB after seconds; a read of
# it right after start must wait for it, and read-ahead fetches it first.
bcfile make-playlist -o "$T"/pw -e "$uuid:0:6M"
bc_load_and_start "$T"/pw
x=$(mib_md5 5)
[ "$x" = "$(want_md5 5)" ] && [ "$(bc_stat parked)" -ge 1 ] &&
	[ "$(bc_stat parked_hits)" -ge 1 ]
bc_check "a read ahead of read-ahead waits and gets the right bytes" \
	"(parked $(bc_stat parked), served $(bc_stat parked_hits))"
# What it waited for came by demand read-aheads, before the walk got there:
# the walk had not read all 6 MiB when the read was served.
ra=$(bc_stat readahead_bytes)
[ "$(bc_stat demand_bios)" -ge 1 ] && [ "$(bc_stat hit_bytes)" -eq 1048576 ] &&
	[ "$ra" -lt $((6 * 1048576)) ]
bc_check "demand read-aheads fetched it first (demand_bios $(bc_stat demand_bios)," \
	"$ra bytes read ahead by then, waited $(($(bc_stat parked_wait_ns) / 1000000)) ms)"
[ "$(bc_stat parked_wait_ns)" -gt 0 ] && [ "$(bc_stat parked_timeouts)" -eq 0 ]
bc_check "the wait is counted ($(($(bc_stat parked_wait_ns) / 1000000)) ms) and did not time out"
echo stop >"$S/control"
cat "$S/history" >"$T/hw" 2>/dev/null && bcfile print-history "$T/hw" >"$T/hw.txt" &&
	awk '$1 ~ /^[0-9]+$/ && NF == 7 {print $4}' "$T/hw.txt" | grep -qx Hw
bc_check "the history is valid and shows the read as a hit that waited"
echo jettison >"$S/control"

# With a 100 ms wait limit the same read gives up and goes to the disk.
echo 100 >"$S/wait_limit_ms"
bcfile make-playlist -o "$T"/pt -e "$uuid:8M:6M"
bc_load_and_start "$T"/pt
x=$(mib_md5 13)
[ "$x" = "$(want_md5 13)" ] && [ "$(bc_stat parked_timeouts)" -ge 1 ]
bc_check "past the wait limit a read goes to the disk and gets the right bytes" \
	"(timeouts $(bc_stat parked_timeouts))"

# A write into blocks still being read ahead, then a read of them.
dd if=/dev/urandom of="$T/w" bs=4096 count=2 2>/dev/null
dd if="$T/w" of="$part" bs=4096 seek=$(((12 * 1048576 + 8192) / 4096)) count=2 oflag=direct \
	2>/dev/null
x=$(dd if="$part" bs=8192 skip=$(((12 * 1048576 + 8192) / 8192)) count=1 iflag=direct \
	2>/dev/null | bc_md5)
[ "$x" = "$(bc_md5 <"$T/w")" ]
bc_check "a write during read-ahead is never hidden by the cache"
x=$(mib_md5 11)
[ "$x" = "$(want_md5 11)" ]
bc_check "blocks around the write still read right"
echo jettison >"$S/control"
echo 10000 >"$S/wait_limit_ms"

bc_end
