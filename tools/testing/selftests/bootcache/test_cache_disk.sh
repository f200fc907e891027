#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The whole disk of a partition as a volume (disk:PARTUUID): reads made
# through the disk's own device, outside the partition (the partition table,
# blkid's probes), are read ahead and served byte for byte, and recorded
# against the disk, also when the playlist names the partition only.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip cdisk 16 5 bcd15c00
disk=$BC_DEV
part=$BC_PART
uuid=$BC_UUID
bc_plan 7

# disk_ok OFF LEN: LEN bytes at byte OFF of the whole disk, read in one
# direct read through the disk's device, are the disk's content (OFF a
# multiple of LEN).
disk_ok() {
	[ $(($1 % $2)) -eq 0 ] || return 1
	dd if="$disk" of="$T/r" bs="$2" skip=$(($1 / $2)) count=1 iflag=direct 2>/dev/null &&
		[ "$(bc_md5 <"$T/r")" = "$(bc_want 5 "$1" "$2")" ]
}
# history_has VOLUME FLAGS OFFSET LENGTH: the history in $T/h.txt has an
# entry of the volume named VOLUME with these flags, offset and length.
history_has() {
	awk -v id="$1" -v fl="$2" -v off="$3" -v len="$4" '
		NF == 5 && $1 ~ /^[0-9]+$/ && $2 == id { vol = $1 }
		NF == 7 && $1 ~ /^[0-9]+$/ && vol != "" && $5 == vol && $4 == fl &&
			$6 == off && $7 == len { found = 1 }
		END { exit !found }' "$T/h.txt"
}

# 60 KiB of the disk before its partition, and the partition's first MiB.
bcfile make-playlist -o "$T/pl" -e "disk:$uuid:4K:60K" -e "$uuid:0:1M"
cat "$T/pl" >"$S/playlist" && echo start >"$S/control" && bc_state_is active
bc_check "a playlist naming the partition's disk is taken and started"

total=$((61440 + 1048576))
bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $total ]"
[ "$(bc_stat playlist_bytes)" -eq $total ] && [ "$(bc_stat readahead_bytes)" -eq $total ]
bc_check "read-ahead brought both volumes ($(bc_stat readahead_bytes) of $total bytes)"

h0=$(bc_stat hits)
disk_ok 4096 4096 && disk_ok 8192 8192 && disk_ok 16384 16384 && disk_ok 32768 32768 &&
	[ $(($(bc_stat hits) - h0)) -eq 4 ]
bc_check "reads through the disk outside the partition come from the cache, byte for byte"

h0=$(bc_stat hits)
[ "$(bc_mib_md5 "$part" 0)" = "$(bc_part_want 5 0)" ] && [ $(($(bc_stat hits) - h0)) -ge 1 ]
bc_check "the partition's extent is served through the partition, byte for byte"

echo stop >"$S/control"
cat "$S/history" >"$T/h" 2>/dev/null && bcfile print-history "$T/h" >"$T/h.txt" &&
	history_has "disk:$uuid" H 4096 4096 && history_has "disk:$uuid" H 32768 32768
bc_check "the history records the disk's reads against disk:$uuid"
echo jettison >"$S/control"

# A playlist of the partition alone: the session records its disk too.
bcfile make-playlist -o "$T/pl2" -e "$uuid:0:1M"
cat "$T/pl2" >"$S/playlist" && echo start >"$S/control" && bc_state_is active &&
	disk_ok 16384 4096 && echo stop >"$S/control" &&
	cat "$S/history" >"$T/h" 2>/dev/null && bcfile print-history "$T/h" >"$T/h.txt" &&
	history_has "disk:$uuid" R 16384 4096
bc_check "a session recording the partition records its disk's reads as disk:$uuid"
echo jettison >"$S/control"

# The next playlist, made from that history, reads the disk's block ahead.
if command -v bootcache >/dev/null; then
	bootcache convert "$T/h" -o "$T/pl3" >/dev/null 2>&1 &&
		bootcache print "$T/pl3" | grep -q "disk:$uuid"
	bc_check "convert keeps the disk's volume in the next playlist"
else
	ktap_test_skip "convert keeps the disk's volume in the next playlist (no bootcache tool)"
fi

bc_end
