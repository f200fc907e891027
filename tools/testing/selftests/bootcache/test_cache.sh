#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The cache, end to end, on a partition named by PARTUUID: a playlist goes
# in, read-ahead fills the cache, reads are served from it byte for byte
# (also across extents, partly outside them, and unaligned to the page),
# writes are never hidden by it, the history comes back, and jettison and
# bad input behave.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip cache 64 3 bc7e5700
part=$BC_PART
uuid=$BC_UUID
bc_plan 17

want_md5() { bc_part_want 3 "$1"; }
mib_md5() { bc_mib_md5 "$part" "$1"; }
# Reads LEN bytes at byte offset OFF of the partition in one direct read and
# compares them, byte for byte, with the disk's content; both multiples of 512.
range_ok() {
	[ $(($1 % $2)) -eq 0 ] || return 1
	dd if="$part" of="$T/r" bs="$2" skip=$(($1 / $2)) count=1 iflag=direct 2>/dev/null ||
		return 1
	[ "$(bc_md5 <"$T/r")" = "$(bc_want 3 $((1048576 + $1)) "$2")" ]
}
wait_readahead() {
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $1 ]"
}

# Bad input first: nothing changes.
! echo bogus 2>/dev/null >"$S/control" && bc_state_is idle
bc_check "an unknown control word fails and changes nothing"
! echo start 2>/dev/null >"$S/control" && bc_state_is idle
bc_check "start without a playlist fails"
bcfile gen-malformed "$T/mal"
bad=0 n=0
for f in "$T"/mal/*.playlist; do
	n=$((n + 1))
	case $f in
	# A short file is a playlist still arriving: the write is taken, and
	# start refuses it as incomplete.
	*truncated*)
		if ! { cat "$f" >"$S/playlist" && ! echo start 2>/dev/null >"$S/control"; }; then
			bad=$((bad + 1))
			ktap_print_msg "mishandled: $f"
		fi
		;;
	*)
		if cat "$f" >"$S/playlist" 2>/dev/null; then
			bad=$((bad + 1))
			ktap_print_msg "accepted: $f"
		fi
		;;
	esac
done
! echo start 2>/dev/null >"$S/control" && [ $bad -eq 0 ] && [ $n -ge 30 ] && bc_state_is idle
bc_check "every malformed playlist ($n) is refused and start still fails"

# Extents (partition offsets): 0-2 MiB and 2-3 MiB adjacent in batch 0,
# 4 MiB + 4 KiB .. 5 MiB in batch 1, 6-8 MiB low priority.
bcfile make-playlist -o "$T/pl" \
	-e "$uuid:0:2M" -e "$uuid:2M:1M" -e "$uuid:4100K:1020K:1" -e "$uuid:6M:2M:2:low"
cat "$T/pl" >"$S/playlist" && echo start >"$S/control"
bc_check "a valid playlist is taken and start works"
bc_state_is active && [ "$(cat $S/recording)" = 1 ]
bc_check "state is active and recording"

total=$((3 * 1048576 + 1020 * 1024 + 2 * 1048576))
wait_readahead $total
[ "$(bc_stat playlist_bytes)" -eq $total ] && [ "$(bc_stat readahead_bytes)" -eq $total ]
bc_check "read-ahead brought the whole playlist ($(bc_stat readahead_bytes) of $total bytes)"

h0=$(bc_stat hit_bytes)
ok=1
for m in 0 1 2; do
	[ "$(mib_md5 $m)" = "$(want_md5 $m)" ] || ok=0
done
[ $ok -eq 1 ] && [ $(($(bc_stat hit_bytes) - h0)) -eq $((3 * 1048576)) ]
bc_check "3 MiB over two adjacent extents read from the cache, byte for byte"

# Partly outside any extent: 4 MiB .. 4 MiB + 8 KiB starts before the
# extent at 4 MiB + 4 KiB, so it goes to the disk; it must be right anyway.
m0=$(bc_stat misses)
range_ok $((4 * 1048576)) 8192 && [ $(($(bc_stat misses) - m0)) -eq 1 ]
bc_check "a read partly outside the playlist goes to the disk, correct"

# Unaligned to the page: 512 bytes at 4 MiB + 4 KiB + 512.
h1=$(bc_stat hits)
range_ok $((4 * 1048576 + 4096 + 512)) 512 && [ $(($(bc_stat hits) - h1)) -eq 1 ]
bc_check "a 512-byte read inside a page is a hit, correct"

# A write to cached, unread blocks: later reads see the new bytes.
dd if=/dev/urandom of="$T/new" bs=4096 count=4 2>/dev/null
dd if="$T/new" of="$part" bs=4096 seek=$(((4 * 1048576 + 65536) / 4096)) count=4 oflag=direct \
	2>/dev/null
x=$(dd if="$part" bs=16384 skip=$(((4 * 1048576 + 65536) / 16384)) count=1 iflag=direct \
	2>/dev/null | bc_md5)
[ "$x" = "$(bc_md5 <"$T/new")" ] && [ "$(bc_stat invalidated_bytes)" -ge 16384 ]
bc_check "a write to cached blocks is never hidden by the cache"

# Served once: the same range again comes from the disk, still right.
m1=$(bc_stat misses)
[ "$(mib_md5 1)" = "$(want_md5 1)" ] && [ "$(bc_stat misses)" -gt "$m1" ]
bc_check "a second read of consumed blocks goes to the disk, correct"

echo tag >"$S/control"
echo stop >"$S/control"
[ "$(cat $S/recording)" = 0 ]
bc_check "stop ends recording"
cat "$S/history" >"$T/h" 2>/dev/null && bcfile print-history "$T/h" >"$T/h.txt"
bc_check "the history reads back and is valid"
grep -q "$uuid" "$T/h.txt" &&
	awk '$1 ~ /^[0-9]+$/ && NF == 7 && $4 == "T" { n++ } END { exit !n }' "$T/h.txt"
bc_check "the history names the partition and holds the tag"
# bcfile's reading of the history is the tool's, where there is one.
if command -v bootcache >/dev/null; then
	bootcache validate --format history "$T/h" >/dev/null &&
		bootcache print "$T/h" >"$T/h.tool" &&
		cmp -s "$T/h.txt" "$T/h.tool"
	bc_check "bcfile prints the history as the bootcache tool does"
else
	ktap_test_skip "bcfile prints the history as the bootcache tool does (no bootcache tool)"
fi

held=$(bc_stat cache_bytes)
echo jettison >"$S/control"
bc_state_is idle && [ "$(cat $S/reason)" = command ] &&
	[ "$(bc_stat cache_bytes)" -eq 0 ] && [ "$(bc_stat jettison_command)" -eq 1 ]
bc_check "jettison by command frees the cache ($held bytes were held)"
ok=1
for m in 0 1 2 3 4 5 6 7; do
	[ "$(mib_md5 $m)" = "$(want_md5 $m)" ] || [ $m -eq 4 ] || ok=0
done
[ $ok -eq 1 ]
bc_check "after jettison every read is the disk's"

bc_end
