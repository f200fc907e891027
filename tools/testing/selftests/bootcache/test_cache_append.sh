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

ktap_print_header
bc_require
slow=${BOOTCACHE_TEST_SLOW:-}
ssums=${BOOTCACHE_TEST_SLOW_SUMS:-}
suuid=${BOOTCACHE_TEST_SLOW_PARTUUID:-}
pdisk=${BOOTCACHE_TEST_PDISK:-}
psums=${BOOTCACHE_TEST_PDISK_SUMS:-}
puuid=${BOOTCACHE_TEST_PARTUUID:-}
if [ -z "$slow" ] || [ ! -b "${slow}1" ] || [ ! -f "$ssums" ] ||
	[ -z "$pdisk" ] || [ ! -b "${pdisk}1" ] || [ ! -f "$psums" ] ||
	! command -v bootcache >/dev/null; then
	ktap_skip_all "no throttled and partitioned test disks or no bootcache tool: run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
S=$BC_SYSFS
ktap_set_plan 8
bc_kmsg "test_cache_append start"

# MiB N of a partition (starting 1 MiB into its disk) against the host.
mib_ok() {
	got=$(dd if="$1" bs=1048576 skip="$2" count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$(sed -n "s/^$(($2 + 1)) //p" "$3")" ]
}

bootcache make-playlist -o /tmp/pa -e "$suuid:0:2M"
# Overlaps the first by 1 MiB; adds a disk not in use and a missing volume.
bootcache make-playlist -o /tmp/pb -e "$suuid:1M:3M" -e "$puuid:40M:1M" \
	-e "cafe0002-01:0:1M"
bc_load_and_start /tmp/pa &&
	cat /tmp/pb >"$S/playlist" &&
	[ "$(bc_stat playlist_appends)" -eq 1 ] && bc_state_is active
bc_check "a playlist written while caching is appended"

[ "$(bc_stat playlist_bytes)" -eq $((5 * 1048576)) ] &&
	[ "$(bc_stat missing_volume_bytes)" -eq 1048576 ]
bc_check "only what the cache lacked is added: $(bc_stat playlist_bytes) bytes, $(bc_stat missing_volume_bytes) missing"

bootcache make-playlist -o /tmp/pc -e "cafe0002-01:1M:1M"
cat /tmp/pc >"$S/playlist" && [ "$(bc_stat playlist_appends)" -eq 2 ] &&
	[ "$(bc_stat missing_volume_bytes)" -eq 2097152 ] &&
	[ "$(bc_stat playlist_bytes)" -eq $((5 * 1048576)) ]
bc_check "a volume still missing gains the appended bytes: $(bc_stat missing_volume_bytes) missing"

mkdir -p /tmp/mal && bootcache gen-malformed /tmp/mal >/dev/null
bad=$(ls /tmp/mal/*.playlist | grep -v truncated | head -n 1)
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
	mib_ok "${slow}1" $m "$ssums" || { ok=1; ktap_print_msg "slow MiB $m differs"; }
done
# (MiB 40: the other tests write to the start of this partition.)
mib_ok "${pdisk}1" 40 "$psums" || { ok=1; ktap_print_msg "MiB 40 of ${pdisk}1 differs"; }
ktap_print_msg "hit bytes: $(($(bc_stat hit_bytes) - h0))"
[ $ok -eq 0 ] && [ $(($(bc_stat hit_bytes) - h0)) -eq $((5 * 1048576)) ]
bc_check "both playlists' data is served from the cache, byte for byte"

echo stop >"$S/control" && cat "$S/history" >/tmp/h &&
	bootcache print /tmp/h >/tmp/h.txt &&
	grep -q "$suuid" /tmp/h.txt && grep -q "$puuid" /tmp/h.txt &&
	grep -q cafe0002-01 /tmp/h.txt
bc_check "the history names the volumes of both playlists"

echo jettison >"$S/control" && bc_state_is idle && bc_load_and_start /tmp/pa &&
	[ "$(bc_stat playlist_appends)" -eq 0 ] && [ "$(bc_stat playlist_bytes)" -eq 2097152 ]
bc_check "after a jettison a new start begins from one playlist"
echo jettison >"$S/control"

bc_kmsg "test_cache_append end"
ktap_finished
