#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: a memory hog (no cgroup) allocates and touches memory until reclaim,
# and with it bootcache's shrinker, has to act, over and over, while readers
# check the bytes of the cached areas (the partitioned disk, and the
# throttled one where reads park). The hog keeps no reserve: each round goes
# on until reclaim has run, so the shrinker is asked for the cache's
# memory while it holds some. It runs for the whole scenario, beside the
# sessions, and keeps three quarters of its memory from one round to the
# next (-k): filling the guest takes about a minute on the debug kernel, a
# refill only seconds. The cache gives back about what reclaim asks
# for and is jettisoned (reason memory) only once it holds nothing; no read
# may be wrong or fail either way.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require memhog
part=${BOOTCACHE_TEST_PDISK}1
slow=${BOOTCACHE_TEST_SLOW}1
uuid=$BOOTCACHE_TEST_PARTUUID
suuid=$BOOTCACHE_TEST_SLOW_PARTUUID
bootcache make-playlist -o $W/a -e "$uuid:0:24M" -e "$suuid:0:8M" -e "$suuid:8M:8M:1" >/dev/null

memory=0
bchog -t $((SOAK_END - $(date +%s))) -r 0 -s 4 -k >$W/hog 2>&1 &
hog=$!
while soak_time_left; do
	iters=$((iters + 1))
	soak_start $W/a || soak_fail "start failed"
	# Let read-ahead fill part of the cache first.
	soak_sleep_rand 2000
	bcverify -d "$part" -c $VMDATA/disk2.crc -p 1048576 -o 0 -l 25165824 -b 512 -B 262144 \
		-m mixed -j 2 -t 24 -r $iters >$W/v1.$iters 2>&1 &
	v1=$!
	bcverify -d "$slow" -c $VMDATA/disk3.crc -p 1048576 -o 0 -l 16777216 -b 4096 -B 131072 \
		-m direct -j 2 -t 24 -r $((iters + 50)) >$W/v2.$iters 2>&1 &
	wait $v1 $!
	soak_add_verify $W/v1.$iters
	soak_add_verify $W/v2.$iters
	[ $iters -le 3 ] && ktap_print_msg "reason $(cat $S/reason)," \
		"cache $(bc_stat cache_peak_bytes) bytes at peak"
	[ "$(cat $S/reason)" = memory ] && memory=$((memory + 1))
	soak_idle
	[ "$(bc_stat cache_bytes)" -eq 0 ] ||
		soak_fail "cache_bytes $(bc_stat cache_bytes) when idle"
done
wait $hog || soak_fail "the hog failed: $(cat $W/hog)"
ktap_print_msg "$(cat $W/hog)"
rounds=$(sed -n 's/bchog: rounds=\([0-9]*\).*/\1/p' $W/hog)
reclaim=$(sed -n 's/.*reclaim_rounds=\([0-9]*\).*/\1/p' $W/hog)
extra=hog-rounds-${rounds:-0},reclaim-rounds-${reclaim:-0},memory-jettisons-$memory
SOAK_EXERCISED='[ "${reclaim:-0}" -gt 0 ] && [ $st_hits -gt 0 ]'
soak_finish
