#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What must hold whatever happens around the cache: a read bootcache took is
# served or handed to the disk even when memory runs out; a write held by
# blk-throttle while a filter attaches is never hidden, whether no filter or
# the last session's saw it; a medium swapped under a loop device is never
# served the old bytes;
# starting and jettisoning over and over on all CPUs while others write
# never shows anyone stale data; a parked read is let go within its wait
# limit while the control path is stuck in a slow attach; and reclaim takes
# from the cache about what it asks for, killing nobody.
#
# The test makes its own disks (common.sh's bc_disk); only the slow attach
# needs disks that the host throttles while it runs (vmtest.sh's), and it
# is skipped without them.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip trust 64 11 bc7e5760
pdisk=$BC_DEV
ppart=$BC_PART
puuid=$BC_UUID
# Throttled to 2 MB/s: read-ahead takes seconds.
bc_disk_or_skip trust_slow 64 12 bc7e5761 2
spart=$BC_PART
suuid=$BC_UUID
bc_plan 10

md5() { bc_md5; }
want_md5() { bc_part_want "$@"; }
mib_md5() { bc_mib_md5 "$@"; }
# Milliseconds since boot.
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
wait_readahead() {
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $1 ]"
}
quiet_jettison() { echo jettison >"$S/control" 2>/dev/null || true; }

# 1. Every allocation that cannot sleep fails in turn while a jettison hands
# parked reads to the disk: none may end in an error. (fail-nth counts the
# allocations failslab looks at; by default it ignores those that may sleep.)
if [ -w /proc/thread-self/fail-nth ]; then
	ok=1 parked=0
	for n in 1 2 3 4 5 6; do
		off=$(((n - 1) * 8))
		bcfile make-playlist -o "$T"/pf -e "$suuid:${off}M:6M"
		bc_load_and_start "$T"/pf || { ok=0; break; }
		# The extent's last MiB comes seconds after start: this read parks.
		(mib_md5 "$spart" $((off + 5)) >"$T"/pf.got) &
		bc_wait_for sh -c "[ \$(cat $S/stats/parked) -ge 1 ]" && parked=$((parked + 1))
		echo $n >/proc/thread-self/fail-nth
		echo jettison >"$S/control"
		echo 0 >/proc/thread-self/fail-nth
		wait
		[ "$(cat "$T"/pf.got)" = "$(want_md5 12 $((off + 5)))" ] || ok=0
		bc_state_is idle || ok=0
	done
	[ $ok -eq 1 ] && [ $parked -eq 6 ]
	bc_check "parked reads get the disk's bytes when a jettison's allocations fail" \
		"($parked of 6 parked)"
else
	ktap_test_skip "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)"
fi

# 2. A write held by blk-throttle (cgroup v2 io.max) while the filter
# attaches reaches the disk after read-ahead read the old bytes: the cache
# must hear of it.
cg=/sys/fs/cgroup
mountpoint -q $cg 2>/dev/null || mount -t cgroup2 none $cg 2>/dev/null
if echo +io >$cg/cgroup.subtree_control 2>/dev/null && mkdir -p $cg/bctrust &&
	[ -e $cg/bctrust/io.max ]; then
	mm=$(cat "/sys/block/$(basename "$pdisk")/dev")
	dd if="$ppart" of="$T"/tw.orig bs=65536 skip=$((20 * 16)) count=1 iflag=direct 2>/dev/null
	dd if=/dev/urandom of="$T"/tw bs=65536 count=1 2>/dev/null
	echo "$mm wbps=4096" >$cg/bctrust/io.max
	sh -c "echo \$\$ >$cg/bctrust/cgroup.procs &&
		exec dd if=$T/tw of=$ppart bs=65536 seek=$((20 * 16)) count=1 \
			oflag=direct 2>/dev/null" &
	writer=$!
	# Held: its bio was submitted before the attach.
	held=0
	bc_wait_for bc_bio_waits $writer && held=1
	bcfile make-playlist -o "$T"/pt -e "$puuid:20M:1M"
	bc_load_and_start "$T"/pt && wait_readahead 1048576
	echo "$mm wbps=max" >$cg/bctrust/io.max
	wait $writer
	wrc=$?
	x=$(dd if="$ppart" bs=65536 skip=$((20 * 16)) count=1 iflag=direct 2>/dev/null | md5)
	[ $held -eq 1 ] && [ $wrc -eq 0 ] && [ "$x" = "$(md5 <"$T"/tw)" ] &&
		[ "$(mib_md5 "$ppart" 21)" = "$(want_md5 11 21)" ]
	bc_check "a write throttled across the attach is never hidden" \
		"(held: $held, invalidated $(bc_stat invalidated_bytes) bytes)"
	quiet_jettison
	# The disk's own bytes back, for the tests after this one.
	dd if="$T"/tw.orig of="$ppart" bs=65536 seek=$((20 * 16)) count=1 oflag=direct \
		conv=notrunc 2>/dev/null

	# 3. The same, but session 1's filter passed the write before
	# blk-throttle took it, and it is held across a jettison and the next
	# start on the same disk: it went through a filter of this disk once
	# already, and session 2 must hear of it all the same.
	blk=$((28 * 16))
	dd if="$ppart" of="$T"/tw.orig bs=65536 skip=$blk count=1 iflag=direct 2>/dev/null
	dd if=/dev/urandom of="$T"/tw bs=65536 count=1 2>/dev/null
	bcfile make-playlist -o "$T"/pt2 -e "$puuid:28M:1M"
	ok=1 seen=0 held=0
	bc_load_and_start "$T"/pt2 || ok=0
	# 2 KiB/s: blk-throttle holds the 64 KiB write for 32 s.
	echo "$mm wbps=2048" >$cg/bctrust/io.max
	sh -c "echo \$\$ >$cg/bctrust/cgroup.procs &&
		exec dd if=$T/tw of=$ppart bs=65536 seek=$blk count=1 oflag=direct 2>/dev/null" &
	writer=$!
	# Held (the writer sleeps waiting for its bio), and session 1 saw it.
	bc_wait_for bc_bio_waits $writer && [ "$(bc_stat writes)" -ge 1 ] && seen=1
	echo jettison >"$S/control" || ok=0
	bc_load_and_start "$T"/pt2 && wait_readahead 1048576 || ok=0
	# Session 2 has read the old bytes ahead, and the write is still held.
	bc_bio_waits $writer && held=1
	echo "$mm wbps=max" >$cg/bctrust/io.max
	wait $writer
	wrc=$?
	x=$(dd if="$ppart" bs=65536 skip=$blk count=1 iflag=direct 2>/dev/null | md5)
	[ $ok -eq 1 ] && [ $seen -eq 1 ] && [ $held -eq 1 ] && [ $wrc -eq 0 ] &&
		[ "$x" = "$(md5 <"$T"/tw)" ]
	bc_check "a write session 1 passed, throttled across a jettison and the next start," \
		"is never hidden (seen by session 1: $seen, held: $held," \
		"session 2 invalidated $(bc_stat invalidated_bytes) bytes," \
		"served $(bc_stat hits) reads)"
	quiet_jettison
	dd if="$T"/tw.orig of="$ppart" bs=65536 seek=$blk count=1 oflag=direct conv=notrunc \
		2>/dev/null
	rmdir $cg/bctrust 2>/dev/null
else
	ktap_test_skip "no cgroup v2 io controller (CONFIG_BLK_CGROUP, CONFIG_BLK_DEV_THROTTLING)"
	ktap_test_skip "no cgroup v2 io controller (CONFIG_BLK_CGROUP, CONFIG_BLK_DEV_THROTTLING)"
fi

# 4. A medium swapped under a loop device (LOOP_CHANGE_FD, as for a live
# system's read-only image) is never served the old medium's bytes. The two
# images share one partition table (PARTUUID bc7e5762-01, from 1 MiB to
# their end at 16 MiB) and differ everywhere else.
if command -v loop_change_fd >/dev/null && { [ -b /dev/loop0 ] || [ -e /dev/loop-control ]; }; then
	# The images: the first 16 MiB of the test disk, and of other content
	# (seed 13), each with that partition table.
	bcfile mbr bc7e5762 32768 >"$T/mbr"
	dd if="$pdisk" of="$T/medium-a.img" bs=1048576 count=16 iflag=direct 2>/dev/null
	bcfile pattern 13 0 16M >"$T/medium-b.img"
	for img in "$T/medium-a.img" "$T/medium-b.img"; do
		dd if="$T/mbr" of="$img" bs=512 count=1 conv=notrunc 2>/dev/null
	done
	loopdev=$(losetup -f)
	if losetup -r -P "$loopdev" "$T/medium-a.img" 2>/dev/null &&
		bc_wait_for test -b "${loopdev}p1"; then
		bcfile make-playlist -o "$T"/pm -e bc7e5762-01:0:4M
		bc_load_and_start "$T"/pm && wait_readahead $((4 * 1048576))
		a0=$(mib_md5 "${loopdev}p1" 0)
		loop_change_fd "$loopdev" "$T/medium-b.img"
		crc=$?
		# Through the whole disk: its first open after the change rescans
		# the partitions, which an open of the partition could race with.
		b1=$(mib_md5 "$loopdev" 2)
		want_b1=$(dd if="$T/medium-b.img" bs=1048576 skip=2 count=1 2>/dev/null | md5)
		# Each image is its own reference.
		want_a0=$(dd if="$T/medium-a.img" bs=1048576 skip=1 count=1 2>/dev/null | md5)
		[ "$a0" = "$want_a0" ] && [ $crc -eq 0 ] && [ "$b1" = "$want_b1" ]
		bc_check "after the loop device's medium changed, reads get the new medium's bytes"
		{ [ "$a0" = "$want_a0" ] && [ "$b1" = "$want_b1" ]; } ||
			ktap_print_msg "old medium $a0 (want $want_a0), change $crc," \
				"new $b1 (want $want_b1)"
		bc_wait_for bc_state_is idle && [ "$(cat $S/reason)" = medium-changed ]
		bc_check "the session ended with reason medium-changed ($(cat $S/reason))"
		quiet_jettison
		losetup -d "$loopdev"
	else
		ktap_test_skip "cannot bind a loop device with partitions"
		ktap_test_skip "cannot bind a loop device with partitions"
	fi
	rm -f "$T/medium-a.img" "$T/medium-b.img"
else
	ktap_test_skip "no loop devices (CONFIG_BLK_DEV_LOOP) or no loop_change_fd"
	ktap_test_skip "no loop devices (CONFIG_BLK_DEV_LOOP) or no loop_change_fd"
fi

# 5. start and jettison over and over on every CPU while writers write and
# read back their own blocks: nobody ever reads back anything but what they
# wrote last. Each writer owns 16 blocks of 4 KiB in the first 4 MiB.
rm -f "$T"/trust.stop "$T"/trust.bad "$T"/wn.*
dd if="$ppart" of="$T"/first4m bs=1048576 count=4 iflag=direct 2>/dev/null
bcfile make-playlist -o "$T"/pl4 -e "$puuid:0:4M"
writer() {
	w=$1 i=0
	while [ ! -e "$T"/trust.stop ]; do
		blk=$((w * 64 + (i % 16) * 4))
		dd if=/dev/urandom of="$T/wb.$w" bs=4096 count=1 2>/dev/null
		dd if="$T/wb.$w" of="$ppart" bs=4096 seek="$blk" count=1 oflag=direct \
			conv=notrunc 2>/dev/null ||
			echo "writer $w: write of block $blk failed" >>"$T"/trust.bad
		got=$(dd if="$ppart" bs=4096 skip=$blk count=1 iflag=direct 2>/dev/null | md5)
		[ "$got" = "$(md5 <"$T/wb.$w")" ] ||
			echo "writer $w: block $blk read back wrong" >>"$T"/trust.bad
		i=$((i + 1))
		echo "$i" >"$T/wn.$w"
	done
}
written() {
	n=0
	for w in 0 1 2 3; do
		v=$(cat "$T/wn.$w" 2>/dev/null)
		n=$((n + ${v:-0}))
	done
	echo $n
}
for w in 0 1 2 3; do writer $w & done
cycles=0
# 20 s, or up to 90 s until the writers wrote 20 blocks (a debug kernel
# under TCG is slow).
t=$(cut -d. -f1 /proc/uptime)
end=$((t + 20)) last=$((t + 90))
while t=$(cut -d. -f1 /proc/uptime) && [ "$t" -lt $last ] &&
	{ [ "$t" -lt $end ] || [ "$(written)" -lt 20 ]; }; do
	bc_load_and_start "$T"/pl4 || echo "start failed" >>"$T"/trust.bad
	[ $((cycles % 3)) -eq 0 ] && echo 1 >/proc/sys/vm/drop_caches
	bc_sleep_ms $(((cycles % 5) * 20))
	echo jettison >"$S/control" || echo "jettison failed" >>"$T"/trust.bad
	cycles=$((cycles + 1))
done
touch "$T"/trust.stop
wait
writes=$(written)
[ ! -s "$T"/trust.bad ] && [ $cycles -ge 5 ] && [ "$writes" -ge 20 ]
bc_check "$cycles start/jettison cycles under $writes verified writes on $(nproc) CPUs:" \
	"no stale read"
[ -s "$T"/trust.bad ] && head -n 5 "$T"/trust.bad | while read -r l; do ktap_print_msg "$l"; done
dd if="$T"/first4m of="$ppart" bs=1048576 count=4 oflag=direct conv=notrunc 2>/dev/null

# 6. A parked read is let go within its wait limit (plus a tick) while the
# control mutex is held by a slow attach: attaching to a disk freezes its
# queue, which waits for the reads in it, and the host lets those through
# at 128 KiB/s. The host also slows the parked read's own disk to 64 KiB/s,
# so that no read-ahead completion comes by to let it go: only the wait
# limit can. The release is seen in parked_timeouts, not in the read's
# own end, which waits for the slowed disk.
# Both throttles change while the test runs, which neither a null_blk (its
# mbps is fixed while it is powered on) nor blk-throttle (it holds bios
# above the queue, where the attach does not wait for them) can do: this
# check needs vmtest.sh's disks, which QEMU throttles at bc_host's request:
# the partitioned disk BOOTCACHE_TEST_PDISK (QEMU drive
# BOOTCACHE_TEST_PDISK_DRIVE) and the slow disk BOOTCACHE_TEST_SLOW (drive
# BOOTCACHE_TEST_SLOW_DRIVE, normally at BOOTCACHE_TEST_SLOW_BPS), with the
# checksums vmtest.sh wrote of it. Without them it is skipped.
hdisk=${BOOTCACHE_TEST_PDISK:-}
huuid=${BOOTCACHE_TEST_PARTUUID:-}
drive=${BOOTCACHE_TEST_PDISK_DRIVE:-}
hsdisk=${BOOTCACHE_TEST_SLOW:-}
hssums=${BOOTCACHE_TEST_SLOW_SUMS:-}
hsuuid=${BOOTCACHE_TEST_SLOW_PARTUUID:-}
sdrive=${BOOTCACHE_TEST_SLOW_DRIVE:-}
sbps=${BOOTCACHE_TEST_SLOW_BPS:-}
# MiB N of a partition of vmtest.sh's disk (1 MiB into it), from the host's
# checksums of that disk: host_want SUMS N.
host_want() { sed -n "s/^$(($2 + 1)) //p" "$1"; }
if [ -b "${hdisk}1" ] && [ -n "$huuid" ] && [ -n "$drive" ] && [ -b "${hsdisk}1" ] &&
	[ -f "$hssums" ] && [ -n "$hsuuid" ] && [ -n "$sdrive" ] && [ -n "$sbps" ] &&
	bc_host "info block" >/dev/null 2>&1; then
	echo 300 >"$S/wait_limit_ms"
	# 16 MiB at 2 MiB/s, in 1 MiB reads.
	bcfile make-playlist -o "$T"/pw -e "$hsuuid:40M:16M"
	bc_load_and_start "$T"/pw
	: >"$T"/throttle.out
	for t in "$drive 131072 0 0 0 0 0" "$sdrive 65536 0 0 0 0 0"; do
		bc_host "block_set_io_throttle $t" >>"$T"/throttle.out ||
			echo "the host could not throttle: $t" >>"$T"/throttle.out
	done
	# Eight reads of 256 KiB at 128 KiB/s: the attach waits some 16 s.
	for k in 1 2 3 4 5 6 7 8; do
		dd if="${hdisk}1" of=/dev/null bs=262144 skip=$((k * 4)) count=1 iflag=direct \
			2>/dev/null &
	done
	sleep 1
	# Reads in the disk's queue (not its first one, which may be done).
	inflight=$(awk '{print $1 + $2}' "/sys/block/${hdisk##*/}/inflight")
	# Appending a playlist of the throttled disk attaches to it.
	bcfile make-playlist -o "$T"/pa -e "$huuid:8M:1M"
	rm -f "$T"/append.end
	t_append=$(now_ms)
	(cat "$T"/pa >"$S/playlist"; now_ms >"$T"/append.end) &
	sleep 1
	p0=$(bc_stat parked_timeouts)
	t0=$(now_ms)
	mib_md5 "${hsdisk}1" 55 >"$T"/parked.md5 &
	n=0
	while [ "$(bc_stat parked_timeouts)" -le "$p0" ] && [ $n -lt 200 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	ms=$(($(now_ms) - t0))
	# The attach must still be waiting when the parked read is let go:
	# until the host lifts the throttles below it would wait 10 s more.
	busy=0
	[ -e "$T"/append.end ] || busy=1
	bc_host "block_set_io_throttle $drive 0 0 0 0 0 0" >/dev/null
	bc_host "block_set_io_throttle $sdrive $sbps 0 0 100 0 0" >/dev/null
	wait
	if [ -s "$T"/throttle.out ]; then
		ktap_print_msg "$(cat "$T"/throttle.out)"
	fi
	[ ! -s "$T"/throttle.out ] && [ "$(cat "$T"/parked.md5)" = "$(host_want "$hssums" 55)" ] &&
		[ $ms -lt 3000 ] && [ "$inflight" -ge 2 ] && [ $busy -eq 1 ]
	bc_check "a parked read was let go after $ms ms (limit 300 ms) while an append's attach" \
		"still waited for $inflight throttled reads" \
		"(it took $(($(cat "$T"/append.end) - t_append)) ms)"
	quiet_jettison
	echo 10000 >"$S/wait_limit_ms"
else
	why="a slow attach needs disks the host throttles while the test runs"
	why="$why (vmtest.sh: BOOTCACHE_TEST_PDISK and BOOTCACHE_TEST_SLOW,"
	ktap_test_skip "$why their QEMU drives, bc_host)"
fi

# 7. The largest history log the format allows is allocated (it is too
# large for kmalloc), and a history comes out of it.
echo 2097152 >"$S/history_entries"
bcfile make-playlist -o "$T"/ph -e "$puuid:60M:1M"
bc_load_and_start "$T"/ph && wait_readahead 1048576 && mib_md5 "$ppart" 60 >/dev/null &&
	echo stop >"$S/control" && cat "$S/history" >"$T"/hh &&
	bcfile print-history "$T"/hh >/dev/null
bc_check "a session with a history log of 2097152 events starts and writes its history"
quiet_jettison
echo 65536 >"$S/history_entries"

# 8. Reclaim takes about what it asks for: a scan of 256 pages through the
# shrinker's debugfs file (CONFIG_SHRINKER_DEBUG) gives back about 1 MiB
# from the end of the read-ahead order, and the session goes on. Then a
# memory hog asks for more than MemAvailable (which does not count the
# cache): reclaim must take the rest from the cache, nobody is killed for
# it, and every read is still right.
bcfile make-playlist -o "$T"/ps -e "$puuid:24M:32M"
bc_load_and_start "$T"/ps && wait_readahead $((32 * 1048576))
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null
# The session's shrinker (one at a time: the last session's is gone).
set -- /sys/kernel/debug/shrinker/bootcache-*
scan=$1
if [ -f "$scan/scan" ]; then
	held=$(bc_stat cache_bytes)
	echo "0 0 256" >"$scan/scan"
	after=$(bc_stat cache_bytes)
	gave=$((held - after))
	[ "$held" -ge $((32 * 1048576)) ] && [ $gave -ge 1048576 ] &&
		[ $gave -le $((2 * 1048576)) ] && bc_state_is active &&
		[ "$(bc_stat jettison_memory)" -eq 0 ] &&
		[ "$(mib_md5 "$ppart" 24)" = "$(want_md5 11 24)" ] && [ "$(bc_stat hits)" -ge 1 ]
	bc_check "a reclaim scan of 256 pages took $gave of $held bytes" \
		"and the cache went on serving"
else
	ktap_test_skip "no shrinker debugfs file (CONFIG_SHRINKER_DEBUG)"
fi
if command -v memhog >/dev/null; then
	bc_state_is active || { bc_load_and_start "$T"/ps && wait_readahead $((32 * 1048576)); }
	held=$(bc_stat cache_bytes)
	free=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	ooms=$(dmesg | grep -c "invoked oom-killer")
	memhog $((free + 12)) 2 >"$T"/hog.out
	hog=$?
	after=$(bc_stat cache_bytes)
	ok=1
	for m in 24 30 40 55; do
		[ "$(mib_md5 "$ppart" $m)" = "$(want_md5 11 $m)" ] || ok=0
	done
	[ "$(dmesg | grep -c "invoked oom-killer")" -eq "$ooms" ] && [ $hog -eq 0 ] &&
		[ $ok -eq 1 ] &&
		grep -q "holding $((free + 12)) MiB" "$T"/hog.out &&
		[ "$held" -ge $((16 * 1048576)) ] && [ "$after" -lt "$held" ]
	bc_check "under a memory hog ($(cat "$T"/hog.out) of $((free + 12)) asked)" \
		"the cache gave back $((held - after)) of $held bytes, no OOM kill"
	quiet_jettison
else
	ktap_test_skip "no memhog"
fi

bc_end
