#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: read errors during read-ahead. The boot's reads must still get the
# disk's bytes, or the disk's own error, never one of bootcache's.
#
# - The failing disk (QEMU blkdebug, vmtest.sh): reads that include one of
#   BOOTCACHE_TEST_ERR_SECTORS fail with EIO. A playlist covers them, so
#   read-ahead bios fail and leave holes; readers (mixed sizes, direct and
#   buffered) read everywhere while read-ahead is in flight.
# - A null_blk disk whose bad blocks (configfs badblocks) change while
#   read-ahead runs: errors appear under read-ahead already issued.
#
# A read that fails must include a failing sector; one that includes a
# failing sector may still succeed from the cache, with the right bytes.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require readerr
err=${BOOTCACHE_TEST_ERR:-}
if [ -z "$err" ] || [ ! -b "${err}1" ]; then
	ktap_skip_all "no failing test disk: run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
euuid=$BOOTCACHE_TEST_ERR_PARTUUID
bootcache make-playlist -o $W/e -e "$euuid:0:16M" -e "$euuid:16M:16M:1" \
	-e "$euuid:32M:16M:2:low" >/dev/null

# The null_blk disk: disk1's content, an MBR cafe00e1, 8 MB/s.
nb=$(soak_nullb bcerr "$BOOTCACHE_TEST_DISK2" cafe00e1 8) || nb=
if [ -n "$nb" ]; then
	bootcache make-playlist -o $W/n -e "cafe00e1-01:0:24M" -e "cafe00e1-01:24M:8M:1" >/dev/null
else
	ktap_print_msg "no null_blk through configfs: only the blkdebug disk"
fi
cfg=/sys/kernel/config/nullb/bcerr
ndone=0

while soak_time_left; do
	iters=$((iters + 1))
	# The blkdebug disk.
	soak_start $W/e || soak_fail "start on the failing disk failed"
	rm -f $W/stop
	bcverify -d "${err}1" -c $VMDATA/disk4.crc -p 1048576 -o 0 -l 50331648 -b 512 -B 262144 \
		-m mixed -j 3 -t $((2 + $(soak_rand 5))) -e "$BOOTCACHE_TEST_ERR_SECTORS" \
		-r $iters >$W/v.$iters 2>&1
	soak_add_verify $W/v.$iters
	echo jettison >"$S/control" 2>/dev/null
	# The null_blk disk: bad blocks come and go under read-ahead.
	[ -n "$nb" ] || continue
	soak_start $W/n || { soak_fail "start on the null_blk disk failed"; continue; }
	# Disk sectors 2048 + partition offset: a few 8-sector runs in MiB 1-24.
	bad=
	for k in 1 2 3; do
		s=$((2048 + $(soak_rand 48000) + k * 1000))
		bad="$bad $s $((s + 1)) $((s + 2)) $((s + 3))"
		bad="$bad $((s + 4)) $((s + 5)) $((s + 6)) $((s + 7))"
		echo "+$s-$((s + 7))" >$cfg/badblocks
	done
	bcverify -d "$nb" -c $VMDATA/disk1.crc -p 1048576 -o 0 -l 25165824 -b 512 -B 131072 \
		-m mixed -j 2 -t $((2 + $(soak_rand 3))) -e "$bad" -r $((iters + 100)) \
		>$W/n.$iters 2>&1
	soak_add_verify $W/n.$iters
	echo jettison >"$S/control" 2>/dev/null
	for s in $bad; do echo "-$s-$s" >$cfg/badblocks; done
	ndone=$((ndone + 1))
done
soak_acc
extra=nullb-rounds-$ndone
if [ -n "$nb" ]; then
	echo 0 >$cfg/power
	rmdir $cfg
fi
SOAK_EXERCISED='[ $st_raerr -gt 0 ] && [ $st_hits -gt 0 ]'
soak_finish
