#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: hot removal of a cached disk with reads parked.
#
# - The throttled virtio disk hotdisk (vmtest.sh) is unplugged through
#   QEMU's monitor (device_del, bc_host) while readers wait for read-ahead,
#   then plugged back (device_add);
# - a throttled null_blk disk is powered off (configfs power) likewise, and
#   on again.
#
# Every parked read must end (with the cached bytes or the disk's error),
# the session must be jettisoned (reason disk-gone), and before the removal
# every byte read must be right.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require unplug
hot_id=${BOOTCACHE_TEST_HOT_ID:-}
huuid=${BOOTCACHE_TEST_HOT_PARTUUID:-}
qemu=1
if [ -z "$hot_id" ] || ! bc_host info block >/dev/null; then
	ktap_print_msg "no host channel or no hot-pluggable disk: only null_blk"
	qemu=0
fi
bootcache make-playlist -o $W/h -e "$huuid:0:16M" -e "$huuid:16M:16M:1" >/dev/null
nb=$(soak_nullb bchot "$BOOTCACHE_TEST_DISK2" cafe00e2 4) || nb=
bootcache make-playlist -o $W/n -e "cafe00e2-01:0:16M" -e "cafe00e2-01:16M:16M:1" >/dev/null
cfg=/sys/kernel/config/nullb/bchot
if [ $qemu -eq 0 ] && [ -z "$nb" ]; then
	ktap_skip_all "neither a host channel nor null_blk"
	exit "$KSFT_SKIP"
fi
qrounds=0 nrounds=0 parked_at_removal=0 broken=0

# unplug_round PLAYLIST PART CRC REMOVE_CMD ADD_CMD
unplug_round() {
	soak_start "$1" || { soak_fail "start before removal failed"; return 1; }
	rm -f $W/gone
	bcverify -d "$2" -c "$3" -p 1048576 -o 0 -l 33554432 -b 4096 -B 262144 -m mixed -j 3 \
		-t 60 -G $W/gone -r $iters >$W/v.$iters 2>&1 &
	rd=$!
	bc_sleep_ms $((300 + $(soak_rand 2000)))
	p=$(bc_stat parked)
	touch $W/gone
	# The removal itself must not hang on parked reads.
	(eval "$4" && touch $W/removed) </dev/null >$W/removal.log 2>&1 &
	rm_pid=$!
	n=0
	while kill -0 $rm_pid 2>/dev/null && [ $n -lt 900 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $rm_pid 2>/dev/null; then
		soak_fail "removal blocked for 90 s: $4"
		ktap_print_msg "blocked: $(cat /proc/$rm_pid/wchan 2>/dev/null)" \
			"$(cat /proc/$rm_pid/stack 2>/dev/null | head -5 | tr '\n' ' ')"
		broken=1
		return 1
	fi
	wait $rm_pid
	if [ ! -e $W/removed ]; then
		soak_fail "removal failed: $4"
		wait $rd
		return 1
	fi
	rm -f $W/removed
	# Every reader must come back, parked or not.
	n=0
	while kill -0 $rd 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $rd 2>/dev/null; then
		soak_fail "readers still blocked 30 s after the disk went away"
		ktap_print_msg "blocked: $(cat /proc/$rd/task/*/wchan 2>/dev/null | tr '\n' ' ')"
	fi
	wait $rd
	soak_add_verify $W/v.$iters
	bc_wait_for bc_state_is idle || soak_fail "still active after the disk went away"
	[ "$(cat $S/reason)" = disk-gone ] || soak_fail "reason $(cat $S/reason), not disk-gone"
	[ "$(bc_stat cache_bytes)" -eq 0 ] ||
		soak_fail "cache_bytes $(bc_stat cache_bytes) after disk-gone"
	[ "$p" -gt 0 ] && parked_at_removal=$((parked_at_removal + 1))
	eval "$5" || { soak_fail "putting the disk back failed: $5"; return 1; }
	return 0
}

hot_part() {
	d=$(soak_disk_by_serial "$hot_id") && [ -b "${d}1" ] && echo "${d}1"
}

while soak_time_left && [ $broken -eq 0 ]; do
	iters=$((iters + 1))
	if [ $qemu -eq 1 ]; then
		if bc_wait_for hot_part >/dev/null && part=$(hot_part); then
			unplug_round $W/h "$part" $VMDATA/disk5.crc \
				"bc_host device_del $hot_id >/dev/null" \
				"bc_host device_add $hot_id >/dev/null && bc_wait_for hot_part" &&
				qrounds=$((qrounds + 1))
		else
			soak_fail "the hot-pluggable disk is not there"
			qemu=0
		fi
	fi
	if [ -n "$nb" ] && [ $broken -eq 0 ]; then
		unplug_round $W/n "$nb" $VMDATA/disk1.crc "echo 0 >$cfg/power" \
			"echo 1 >$cfg/power && bc_wait_for test -b $nb" &&
			nrounds=$((nrounds + 1))
	fi
done
if [ -n "$nb" ] && [ $broken -eq 0 ]; then
	echo 0 >$cfg/power
	rmdir $cfg
fi
extra=device_del-$qrounds,nullb-power-$nrounds,parked-at-removal-$parked_at_removal
SOAK_EXERCISED='[ $st_jett -gt 0 ] && [ $st_parked -gt 0 ]'
soak_finish
