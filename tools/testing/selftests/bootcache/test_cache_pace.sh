#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Read-ahead on a drive that takes one command at a time (the VM's emulated
# DVD drive: queue depth 1) is paced: the first batch at full speed, then a
# batch at full speed only once the boot reads from it; meanwhile the walk
# reads on in 32 KiB commands, one at a time, so that the drive is not idle
# while the boot probes it. With nothing reading the disc, a playlist of
# two batches is read ahead whole, the second batch in small commands, and
# every byte served is the disc's.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
cd=${BOOTCACHE_TEST_CD:-}
if ! [ -b "$cd" ] || ! [ -f "${BOOTCACHE_TEST_CD_SUMS:-}" ] ||
	[ "${BOOTCACHE_TEST_CD_FIRST:-}" != cd0.img ]; then
	bc_skip_all "needs vmtest.sh's CD drive with cd0.img in it"
fi
depth=$(cat "/sys/block/${cd#/dev/}/device/queue_depth" 2>/dev/null)
[ "$depth" = 1 ] || bc_skip_all "the CD drive's queue depth is '$depth', not 1"
id=$(bcfile medium-id "$cd") || bc_skip_all "the disc in $cd has no identity"
bc_plan 4

MIB=1048576
# mib_is N: MiB N of the disc is the image's.
mib_is() {
	[ "$(bc_mib_md5 "$cd" "$1")" = "$(sed -n "s/^$1 //p" "$BOOTCACHE_TEST_CD_SUMS")" ]
}

# Batch 0: MiB 0. Batch 1: MiB 2 and 3, which nothing reads until the end.
bcfile make-playlist -o "$T"/pp -e "$id:0:1M:0" -e "$id:2M:2M:1"
bc_load_and_start "$T"/pp &&
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $((3 * MIB)) ]"
bc_check "the batch the boot has not reached is read ahead" \
	"($(bc_stat readahead_bytes) bytes)"

# At full speed a chunk is at least 64 KiB: batch 1 would take at most 32
# reads, and batch 0 at least one more.
bios=$(bc_stat readahead_bios)
[ "$bios" -ge 65 ] && [ "$(bc_stat demand_bios)" -eq 0 ]
bc_check "in small commands: $bios read-ahead bios for 3 MiB"

ok=1
for m in 0 1 2 3; do
	mib_is $m || ok=0
done
[ $ok -eq 1 ] && [ "$(bc_stat hit_bytes)" -eq $((3 * MIB)) ]
bc_check "the disc's first 4 MiB are the image's, 3 MiB of them from the cache" \
	"($(bc_stat hit_bytes) bytes hit)"

echo jettison >"$S/control" && bc_wait_for bc_state_is idle
bc_check "the session ends"

bc_end
