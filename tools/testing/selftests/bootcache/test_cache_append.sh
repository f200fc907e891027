#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A playlist written while caching is appended: its extents are read ahead
# after the ones queued (in later batches), minus what the cache already
# covers, on the disk in use and on another disk, while read-ahead of the
# first playlist is still in flight on a throttled disk; its reads are served
# byte for byte; a volume that is not there waits; the history names every
# volume; a bad playlist while caching changes nothing.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
# The throttled disk (2 MB/s) and a second one.
bc_disk_or_skip append_slow 8 9 bc7e5750 2
slow=$BC_PART
suuid=$BC_UUID
bc_disk_or_skip append 48 10 bc7e5751
pdisk=$BC_PART
puuid=$BC_UUID
bc_plan 8

# mib_ok PART N SEED: MiB N of a partition of a bc_disk of SEED is right.
mib_ok() { [ "$(bc_mib_md5 "$1" "$2")" = "$(bc_part_want "$3" "$2")" ]; }

bcfile make-playlist -o "$T"/pa -e "$suuid:0:2M"
# Overlaps the first by 1 MiB; adds a disk not in use and a missing volume.
bcfile make-playlist -o "$T"/pb -e "$suuid:1M:3M" -e "$puuid:40M:1M" \
	-e "cafe0002-01:0:1M"
bc_load_and_start "$T"/pa &&
	cat "$T/pb" >"$S/playlist" &&
	[ "$(bc_stat playlist_appends)" -eq 1 ] && bc_state_is active
bc_check "a playlist written while caching is appended"

[ "$(bc_stat playlist_bytes)" -eq $((5 * 1048576)) ] &&
	[ "$(bc_stat missing_volume_bytes)" -eq 1048576 ]
bc_check "only what the cache lacked is added: $(bc_stat playlist_bytes) bytes," \
	"$(bc_stat missing_volume_bytes) missing"

bcfile make-playlist -o "$T"/pc -e "cafe0002-01:1M:1M"
cat "$T/pc" >"$S/playlist" && [ "$(bc_stat playlist_appends)" -eq 2 ] &&
	[ "$(bc_stat missing_volume_bytes)" -eq 2097152 ] &&
	[ "$(bc_stat playlist_bytes)" -eq $((5 * 1048576)) ]
bc_check "a volume still missing gains the appended bytes: $(bc_stat missing_volume_bytes) missing"

bcfile gen-malformed "$T/mal"
bad=$(find "$T/mal" -name '*.playlist' ! -name '*truncated*' | sort | head -n 1)
before=$(bc_stat playlist_bytes)
! cat "$bad" >"$S/playlist" 2>/dev/null &&
	[ "$(bc_stat playlist_bytes)" -eq "$before" ] &&
	[ "$(bc_stat playlist_appends)" -eq 2 ] && bc_state_is active
bc_check "a malformed playlist while caching is refused and changes nothing"

bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $((5 * 1048576)) ]"
bc_check "every appended extent is read ahead: $(bc_stat readahead_bytes) bytes"

h0=$(bc_stat hit_bytes)
ok=0
for m in 0 1 2 3; do
	mib_ok "$slow" $m 9 || { ok=1; ktap_print_msg "slow MiB $m differs"; }
done
mib_ok "$pdisk" 40 10 || { ok=1; ktap_print_msg "MiB 40 of $pdisk differs"; }
ktap_print_msg "hit bytes: $(($(bc_stat hit_bytes) - h0))"
[ $ok -eq 0 ] && [ $(($(bc_stat hit_bytes) - h0)) -eq $((5 * 1048576)) ]
bc_check "both playlists' data is served from the cache, byte for byte"

echo stop >"$S/control" && cat "$S/history" >"$T/h" &&
	bcfile print-history "$T/h" >"$T/h.txt" &&
	grep -q "$suuid" "$T/h.txt" && grep -q "$puuid" "$T/h.txt" &&
	grep -q cafe0002-01 "$T/h.txt"
bc_check "the history names the volumes of both playlists"

echo jettison >"$S/control" && bc_state_is idle && bc_load_and_start "$T"/pa &&
	[ "$(bc_stat playlist_appends)" -eq 0 ] && [ "$(bc_stat playlist_bytes)" -eq 2097152 ]
bc_check "after a jettison a new start begins from one playlist"
echo jettison >"$S/control"

bc_end
