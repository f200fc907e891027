#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: concurrent verified I/O over playlist-covered areas while read-ahead
# is in flight, with start, append, stop, jettison and drop_caches in a loop.
#
# - bcverify readers (mixed sizes, direct and buffered, several processes)
#   check the known content of the partitioned disk (MiB 0-24 of vdc1) and
#   of the throttled disk (MiB 0-16 of vdd1, where reads park);
# - fio jobs write and read back with --verify=crc32c (mixed block sizes,
#   direct and buffered) in MiB 24-56 of vdc1, which the playlist also
#   covers: writes race read-ahead, and the verify pass is served from the
#   cache when a session started after the writes;
# - the control loop loads and starts a playlist, appends a second one,
#   stops, jettisons and drops the page cache, at random moments.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require io
part=${BOOTCACHE_TEST_PDISK}1
slow=${BOOTCACHE_TEST_SLOW}1
uuid=$BOOTCACHE_TEST_PARTUUID
suuid=$BOOTCACHE_TEST_SLOW_PARTUUID

bootcache make-playlist -o $W/a -e "$uuid:0:8M" -e "$uuid:8M:8M:1" -e "$uuid:16M:8M:2:low" \
	-e "$uuid:24M:32M:1" -e "$suuid:0:8M" >/dev/null
bootcache make-playlist -o $W/b -e "$uuid:4M:24M" -e "$suuid:8M:8M" >/dev/null

# Readers of known content until the stop file appears.
bcverify -d "$part" -c $VMDATA/disk2.crc -p 1048576 -o 0 -l 25165824 -b 512 -B 262144 \
	-m mixed -j 3 -t 100000 -S $W/stop -r 11 >$W/v1 2>&1 &
bcverify -d "$slow" -c $VMDATA/disk3.crc -p 1048576 -o 0 -l 16777216 -b 4096 -B 131072 \
	-m direct -j 2 -t 100000 -S $W/stop -r 12 >$W/v2 2>&1 &

# fio: four jobs in their own 8 MiB, writing then verifying, over and over.
fio_loop() {
	n=0
	while [ ! -e $W/stop ]; do
		n=$((n + 1))
		fio --thread --output-format=terse --verify=crc32c --do_verify=1 --verify_fatal=0 \
			--filename="$part" --size=8M --rw=randwrite --randseed=$n \
			--bssplit=4k/40:16k/20:64k/30:256k/10 \
			--name=d0 --offset=24M --direct=1 \
			--name=b1 --offset=32M --direct=0 \
			--name=d2 --offset=40M --direct=1 --bssplit=512/20:8k/40:128k/40 \
			--name=b3 --offset=48M --direct=0 --rw=write \
			>$W/fio.out 2>$W/fio.err
		# Terse v3: field 6 is the KiB read (the verify pass).
		kb=$(awk -F';' '{s += $6} END {print s + 0}' $W/fio.out)
		bad=$(sed -n 's/.*verify failed at file .* length \([0-9]*\).*/\1/p' $W/fio.err |
			awk '{s += $1} END {print s + 0}')
		bad=$((bad + 4096 * $(grep -c 'bad magic header\|verify: bad' $W/fio.err)))
		ioerr=$(grep -c 'io_u error' $W/fio.err)
		# fio that cannot run at all (no System V IPC: CONFIG_SYSVIPC)
		# is reported, not counted.
		if grep -q 'failed to setup shm' $W/fio.err; then
			echo "fio cannot run: $(grep -m 1 error $W/fio.err)" >$W/fio.broken
			break
		fi
		echo "$((kb * 1024)) $bad $ioerr" >>$W/fio.res
		grep -m 3 'verify\|error' $W/fio.err >>$W/fio.log
	done
}
if command -v fio >/dev/null; then
	fio_loop </dev/null >$W/fio.loop 2>&1 &
else
	ktap_print_msg "no fio in the guest (vmtest.sh -T fio): the fio jobs are left out"
	extra=no-fio
fi

while soak_time_left; do
	iters=$((iters + 1))
	soak_start $W/a || soak_fail "start failed: $(cat $S/state)"
	soak_sleep_rand 1500
	# Append in the first round, then at random.
	if [ $iters -eq 1 ] || [ $(soak_rand 2) -eq 0 ]; then
		cat $W/b >"$S/playlist" || soak_fail "append failed"
		soak_sleep_rand 1000
	fi
	if [ $(soak_rand 2) -eq 0 ]; then
		echo stop >"$S/control" || soak_fail "stop failed"
		soak_sleep_rand 1000
	fi
	[ $(soak_rand 3) -eq 0 ] && echo 3 >/proc/sys/vm/drop_caches
	if bc_state_is active; then
		echo jettison >"$S/control" || soak_fail "jettison failed"
	fi
	[ "$(bc_stat cache_bytes)" -eq 0 ] ||
		soak_fail "cache_bytes $(bc_stat cache_bytes) after jettison"
	[ $(soak_rand 2) -eq 0 ] && echo 1 >/proc/sys/vm/drop_caches
done
touch $W/stop
wait
soak_add_verify $W/v1
soak_add_verify $W/v2
if [ -f $W/fio.broken ]; then
	ktap_print_msg "$(cat $W/fio.broken)"
	extra=fio-cannot-run
fi
if [ -f $W/fio.res ]; then
	runs=0
	while read -r b w e; do
		runs=$((runs + 1)) bytes=$((bytes + b)) wrong=$((wrong + w)) bcfail=$((bcfail + e))
	done <$W/fio.res
	extra=fio-runs-$runs
	[ -s $W/fio.log ] && head -n 5 $W/fio.log |
		while read -r l; do ktap_print_msg "fio: $l"; done
fi
SOAK_EXERCISED='[ $st_hits -gt 0 ] && [ $st_parked -gt 0 ] && [ $st_appends -gt 0 ]'
soak_finish
