#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What must hold whatever happens around the cache: a read bootcache took is
# served or handed to the disk even when memory runs out; a write held by
# blk-throttle while a filter attaches is never hidden, whether no filter or
# the last session's saw it; a medium swapped under a loop device is never
# served the old bytes;
# starting and jettisoning over and over on all CPUs while others write
# never shows anyone stale data; and a parked read is let go within its
# wait limit while the control path is stuck in a slow attach.

. "$(dirname "$(readlink -f "$0")")/common.sh"

ktap_print_header
bc_require
pdisk=${BOOTCACHE_TEST_PDISK:-}
psums=${BOOTCACHE_TEST_PDISK_SUMS:-}
puuid=${BOOTCACHE_TEST_PARTUUID:-}
sdisk=${BOOTCACHE_TEST_SLOW:-}
ssums=${BOOTCACHE_TEST_SLOW_SUMS:-}
suuid=${BOOTCACHE_TEST_SLOW_PARTUUID:-}
if [ -z "$pdisk" ] || [ ! -b "${pdisk}1" ] || [ -z "$sdisk" ] || [ ! -b "${sdisk}1" ] ||
	! command -v bootcache >/dev/null; then
	ktap_skip_all "no test disks or no bootcache tool: run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
ppart=${pdisk}1
spart=${sdisk}1
S=$BC_SYSFS
ktap_set_plan 10
bc_kmsg "test_cache_trust start"

md5() { md5sum | cut -d' ' -f1; }
# MiB N of a partition (1 MiB into its disk) and what the host says it holds.
want_md5() { sed -n "s/^$(($2 + 1)) //p" "$1"; }
mib_md5() { dd if="$1" bs=1048576 skip="$2" count=1 iflag=direct 2>/dev/null | md5; }
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
		bootcache make-playlist -o /tmp/pf -e "$suuid:${off}M:6M"
		bc_load_and_start /tmp/pf || { ok=0; break; }
		# The extent's last MiB comes seconds after start: this read parks.
		(mib_md5 "$spart" $((off + 5)) >/tmp/pf.got) &
		bc_wait_for sh -c "[ \$(cat $S/stats/parked) -ge 1 ]" && parked=$((parked + 1))
		echo $n >/proc/thread-self/fail-nth
		echo jettison >"$S/control"
		echo 0 >/proc/thread-self/fail-nth
		wait
		[ "$(cat /tmp/pf.got)" = "$(want_md5 "$ssums" $((off + 5)))" ] || ok=0
		bc_state_is idle || ok=0
	done
	[ $ok -eq 1 ] && [ $parked -eq 6 ]
	bc_check "parked reads get the disk's bytes when a jettison's allocations fail ($parked of 6 parked)"
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
	mm=$(cat /sys/block/$(basename "$pdisk")/dev)
	dd if="$ppart" of=/tmp/tw.orig bs=65536 skip=$((20 * 16)) count=1 iflag=direct 2>/dev/null
	dd if=/dev/urandom of=/tmp/tw bs=65536 count=1 2>/dev/null
	echo "$mm wbps=4096" >$cg/bctrust/io.max
	sh -c "echo \$\$ >$cg/bctrust/cgroup.procs &&
		exec dd if=/tmp/tw of=$ppart bs=65536 seek=$((20 * 16)) count=1 oflag=direct 2>/dev/null" &
	writer=$!
	sleep 1
	bootcache make-playlist -o /tmp/pt -e "$puuid:20M:1M"
	bc_load_and_start /tmp/pt && wait_readahead 1048576
	echo "$mm wbps=max" >$cg/bctrust/io.max
	wait $writer
	wrc=$?
	x=$(dd if="$ppart" bs=65536 skip=$((20 * 16)) count=1 iflag=direct 2>/dev/null | md5)
	[ $wrc -eq 0 ] && [ "$x" = "$(md5 </tmp/tw)" ] && [ "$(mib_md5 "$ppart" 21)" = "$(want_md5 "$psums" 21)" ]
	bc_check "a write throttled across the attach is never hidden (invalidated $(bc_stat invalidated_bytes) bytes)"
	quiet_jettison
	# The disk's own bytes back, for the tests after this one.
	dd if=/tmp/tw.orig of="$ppart" bs=65536 seek=$((20 * 16)) count=1 oflag=direct conv=notrunc 2>/dev/null

	# 3. The same, but session 1's filter passed the write before
	# blk-throttle took it, and it is held across a jettison and the next
	# start on the same disk: it went through a filter of this disk once
	# already, and session 2 must hear of it all the same.
	blk=$((28 * 16))
	dd if="$ppart" of=/tmp/tw.orig bs=65536 skip=$blk count=1 iflag=direct 2>/dev/null
	dd if=/dev/urandom of=/tmp/tw bs=65536 count=1 2>/dev/null
	bootcache make-playlist -o /tmp/pt2 -e "$puuid:28M:1M"
	ok=1 seen=0 held=0
	bc_load_and_start /tmp/pt2 || ok=0
	# 2 KiB/s: blk-throttle holds the 64 KiB write for 32 s.
	echo "$mm wbps=2048" >$cg/bctrust/io.max
	sh -c "echo \$\$ >$cg/bctrust/cgroup.procs &&
		exec dd if=/tmp/tw of=$ppart bs=65536 seek=$blk count=1 oflag=direct 2>/dev/null" &
	writer=$!
	# Held (the writer sleeps waiting for its bio), and session 1 saw it.
	bc_wait_for sh -c "grep -q '^State:.*D' /proc/$writer/status 2>/dev/null &&
		[ \$(cat $S/stats/writes) -ge 1 ]" && seen=1
	echo jettison >"$S/control" || ok=0
	bc_load_and_start /tmp/pt2 && wait_readahead 1048576 || ok=0
	# Session 2 has read the old bytes ahead, and the write is still held.
	grep -q '^State:.*D' /proc/$writer/status 2>/dev/null && held=1
	echo "$mm wbps=max" >$cg/bctrust/io.max
	wait $writer
	wrc=$?
	x=$(dd if="$ppart" bs=65536 skip=$blk count=1 iflag=direct 2>/dev/null | md5)
	[ $ok -eq 1 ] && [ $seen -eq 1 ] && [ $held -eq 1 ] && [ $wrc -eq 0 ] && [ "$x" = "$(md5 </tmp/tw)" ]
	bc_check "a write session 1 passed, throttled across a jettison and the next start, is never hidden (seen by session 1: $seen, held: $held, session 2 invalidated $(bc_stat invalidated_bytes) bytes, served $(bc_stat hits) reads)"
	quiet_jettison
	dd if=/tmp/tw.orig of="$ppart" bs=65536 seek=$blk count=1 oflag=direct conv=notrunc 2>/dev/null
	rmdir $cg/bctrust 2>/dev/null
else
	ktap_test_skip "no cgroup v2 io controller (CONFIG_BLK_CGROUP, CONFIG_BLK_DEV_THROTTLING)"
	ktap_test_skip "no cgroup v2 io controller (CONFIG_BLK_CGROUP, CONFIG_BLK_DEV_THROTTLING)"
fi

# 4. A medium swapped under a loop device (LOOP_CHANGE_FD, as for a live
# system's read-only image) is never served the old medium's bytes. The two
# images share one partition table (PARTUUID b0075cb0-01, from 1 MiB to
# their end at 16 MiB) and differ everywhere else.
if command -v loop_change_fd >/dev/null && [ -b /dev/loop0 ] || [ -e /dev/loop-control ]; then
	mkimg() {
		dd if="$1" of="$2" bs=1048576 count=16 2>/dev/null
		dd if=/tmp/mbr of="$2" bs=512 count=1 conv=notrunc 2>/dev/null
	}
	dd if="$pdisk" of=/tmp/mbr bs=512 count=1 2>/dev/null
	# Signature 0xb0075cb0, one partition of 30720 sectors from sector 2048.
	printf '\260\134\007\260' | dd of=/tmp/mbr bs=1 seek=440 conv=notrunc 2>/dev/null
	printf '\000\170\000\000' | dd of=/tmp/mbr bs=1 seek=458 conv=notrunc 2>/dev/null
	mkimg "$pdisk" /tmp/medium-a.img
	mkimg "${BOOTCACHE_TEST_DISK:-/dev/vda}" /tmp/medium-b.img
	loopdev=$(losetup -f)
	if losetup -r -P "$loopdev" /tmp/medium-a.img 2>/dev/null &&
		bc_wait_for test -b "${loopdev}p1"; then
		bootcache make-playlist -o /tmp/pm -e b0075cb0-01:0:4M
		bc_load_and_start /tmp/pm && wait_readahead $((4 * 1048576))
		a0=$(mib_md5 "${loopdev}p1" 0)
		loop_change_fd "$loopdev" /tmp/medium-b.img
		crc=$?
		# Through the whole disk: its first open after the change rescans
		# the partitions, which an open of the partition could race with.
		b1=$(mib_md5 "$loopdev" 2)
		want_b1=$(dd if=/tmp/medium-b.img bs=1048576 skip=2 count=1 2>/dev/null | md5)
		# Earlier tests may have written to the disk the images came from:
		# each image is its own reference.
		want_a0=$(dd if=/tmp/medium-a.img bs=1048576 skip=1 count=1 2>/dev/null | md5)
		[ "$a0" = "$want_a0" ] && [ $crc -eq 0 ] && [ "$b1" = "$want_b1" ]
		bc_check "after the loop device's medium changed, reads get the new medium's bytes"
		[ "$a0" = "$want_a0" ] && [ "$b1" = "$want_b1" ] ||
			ktap_print_msg "old medium $a0 (want $want_a0), change $crc, new $b1 (want $want_b1)"
		bc_wait_for bc_state_is idle && [ "$(cat $S/reason)" = medium-changed ]
		bc_check "the session ended with reason medium-changed ($(cat $S/reason))"
		quiet_jettison
		losetup -d "$loopdev"
	else
		ktap_test_skip "cannot bind a loop device with partitions"
		ktap_test_skip "cannot bind a loop device with partitions"
	fi
	rm -f /tmp/medium-a.img /tmp/medium-b.img
else
	ktap_test_skip "no loop devices (CONFIG_BLK_DEV_LOOP) or no loop_change_fd"
	ktap_test_skip "no loop devices (CONFIG_BLK_DEV_LOOP) or no loop_change_fd"
fi

# 5. start and jettison over and over on every CPU while writers write and
# read back their own blocks: nobody ever reads back anything but what they
# wrote last. Each writer owns 16 blocks of 4 KiB in the first 4 MiB.
rm -f /tmp/trust.stop /tmp/trust.bad /tmp/wn.*
dd if="$ppart" of=/tmp/first4m bs=1048576 count=4 iflag=direct 2>/dev/null
bootcache make-playlist -o /tmp/pl4 -e "$puuid:0:4M"
writer() {
	w=$1 i=0
	while [ ! -e /tmp/trust.stop ]; do
		blk=$((w * 64 + (i % 16) * 4))
		dd if=/dev/urandom of=/tmp/wb.$w bs=4096 count=1 2>/dev/null
		dd if=/tmp/wb.$w of="$ppart" bs=4096 seek=$blk count=1 oflag=direct conv=notrunc 2>/dev/null ||
			echo "writer $w: write of block $blk failed" >>/tmp/trust.bad
		got=$(dd if="$ppart" bs=4096 skip=$blk count=1 iflag=direct 2>/dev/null | md5)
		[ "$got" = "$(md5 </tmp/wb.$w)" ] ||
			echo "writer $w: block $blk read back wrong" >>/tmp/trust.bad
		i=$((i + 1))
		echo $i >/tmp/wn.$w
	done
}
written() {
	n=0
	for w in 0 1 2 3; do
		v=$(cat /tmp/wn.$w 2>/dev/null)
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
while t=$(cut -d. -f1 /proc/uptime) && [ $t -lt $last ] &&
	{ [ $t -lt $end ] || [ "$(written)" -lt 20 ]; }; do
	bc_load_and_start /tmp/pl4 || echo "start failed" >>/tmp/trust.bad
	[ $((cycles % 3)) -eq 0 ] && echo 1 >/proc/sys/vm/drop_caches
	usleep $(((cycles % 5) * 20000))
	echo jettison >"$S/control" || echo "jettison failed" >>/tmp/trust.bad
	cycles=$((cycles + 1))
done
touch /tmp/trust.stop
wait
writes=$(written)
[ ! -s /tmp/trust.bad ] && [ $cycles -ge 5 ] && [ $writes -ge 20 ]
bc_check "$cycles start/jettison cycles under $writes verified writes on $(nproc) CPUs: no stale read"
[ -s /tmp/trust.bad ] && head -n 5 /tmp/trust.bad | while read -r l; do ktap_print_msg "$l"; done
dd if=/tmp/first4m of="$ppart" bs=1048576 count=4 oflag=direct conv=notrunc 2>/dev/null

# 6. A parked read is let go within its wait limit (plus a tick) while the
# control mutex is held by a slow attach: attaching to a disk freezes its
# queue, which waits for the reads in it, and the host lets those through
# at 128 KiB/s. The host also slows the parked read's own disk to 64 KiB/s,
# so that no read-ahead completion comes by to let it go: only the wait
# limit can. The release is seen in parked_timeouts, not in the read's
# own end, which waits for the slowed disk.
drive=${BOOTCACHE_TEST_PDISK_DRIVE:-}
sdrive=${BOOTCACHE_TEST_SLOW_DRIVE:-}
sbps=${BOOTCACHE_TEST_SLOW_BPS:-}
if [ -n "$drive" ] && [ -n "$sdrive" ] && [ -n "$sbps" ] && bc_host "info block" >/dev/null 2>&1; then
	echo 300 >"$S/wait_limit_ms"
	# 16 MiB at 2 MiB/s, in 1 MiB reads.
	bootcache make-playlist -o /tmp/pw -e "$suuid:40M:16M"
	bc_load_and_start /tmp/pw
	: >/tmp/throttle.out
	for t in "$drive 131072 0 0 0 0 0" "$sdrive 65536 0 0 0 0 0"; do
		bc_host "block_set_io_throttle $t" >>/tmp/throttle.out ||
			echo "the host could not throttle: $t" >>/tmp/throttle.out
	done
	# Eight reads of 256 KiB at 128 KiB/s: the attach waits some 16 s.
	for k in 1 2 3 4 5 6 7 8; do
		dd if="$ppart" of=/dev/null bs=262144 skip=$((k * 4)) count=1 iflag=direct 2>/dev/null &
	done
	sleep 1
	# Reads in the disk's queue (not its first one, which may be done).
	inflight=$(awk '{print $1 + $2}' "/sys/block/${pdisk##*/}/inflight")
	# Appending a playlist of the throttled disk attaches to it.
	bootcache make-playlist -o /tmp/pa -e "$puuid:8M:1M"
	rm -f /tmp/append.end
	t_append=$(now_ms)
	(cat /tmp/pa >"$S/playlist"; now_ms >/tmp/append.end) &
	sleep 1
	p0=$(bc_stat parked_timeouts)
	t0=$(now_ms)
	mib_md5 "$spart" 55 >/tmp/parked.md5 &
	n=0
	while [ "$(bc_stat parked_timeouts)" -le "$p0" ] && [ $n -lt 200 ]; do
		usleep 50000
		n=$((n + 1))
	done
	ms=$(($(now_ms) - t0))
	# The attach must still be waiting when the parked read is let go:
	# until the host lifts the throttles below it would wait 10 s more.
	busy=0
	[ -e /tmp/append.end ] || busy=1
	bc_host "block_set_io_throttle $drive 0 0 0 0 0 0" >/dev/null
	bc_host "block_set_io_throttle $sdrive $sbps 0 0 100 0 0" >/dev/null
	wait
	if [ -s /tmp/throttle.out ]; then
		ktap_print_msg "$(cat /tmp/throttle.out)"
	fi
	[ ! -s /tmp/throttle.out ] && [ "$(cat /tmp/parked.md5)" = "$(want_md5 "$ssums" 55)" ] &&
		[ $ms -lt 3000 ] && [ "$inflight" -ge 2 ] && [ $busy -eq 1 ]
	bc_check "a parked read was let go after $ms ms (limit 300 ms) while an append's attach still waited for $inflight throttled reads (it took $(($(cat /tmp/append.end) - t_append)) ms)"
	quiet_jettison
	echo 10000 >"$S/wait_limit_ms"
else
	ktap_test_skip "no channel to the host (vmtest.sh's bc_host) or no drive names"
fi

# 7. The largest history log the format allows is allocated (it is too
# large for kmalloc), and a history comes out of it.
echo 2097152 >"$S/history_entries"
bootcache make-playlist -o /tmp/ph -e "$puuid:60M:1M"
bc_load_and_start /tmp/ph && wait_readahead 1048576 && mib_md5 "$ppart" 60 >/dev/null &&
	echo stop >"$S/control" && cat "$S/history" >/tmp/hh &&
	bootcache validate --format history /tmp/hh >/dev/null
bc_check "a session with a history log of 2097152 events starts and writes its history"
quiet_jettison
echo 65536 >"$S/history_entries"

# 8. Reclaim takes about what it asks for: a scan of 256 pages through the
# shrinker's debugfs file (CONFIG_SHRINKER_DEBUG) gives back about 1 MiB
# from the end of the read-ahead order, and the session goes on. Then a
# memory hog asks for more than MemAvailable (which does not count the
# cache): reclaim must take the rest from the cache, nobody is killed for
# it, and every read is still right.
bootcache make-playlist -o /tmp/ps -e "$puuid:24M:32M"
bc_load_and_start /tmp/ps && wait_readahead $((32 * 1048576))
# The session's shrinker (one at a time: the last session's is gone).
scan=$(ls -d /sys/kernel/debug/shrinker/bootcache-* 2>/dev/null | head -n 1)
if [ -n "$scan" ] && [ -f "$scan/scan" ]; then
	held=$(bc_stat cache_bytes)
	echo "0 0 256" >"$scan/scan"
	after=$(bc_stat cache_bytes)
	gave=$((held - after))
	[ "$held" -ge $((32 * 1048576)) ] && [ $gave -ge 1048576 ] && [ $gave -le $((2 * 1048576)) ] &&
		bc_state_is active && [ "$(bc_stat jettison_memory)" -eq 0 ] &&
		[ "$(mib_md5 "$ppart" 24)" = "$(want_md5 "$psums" 24)" ] && [ "$(bc_stat hits)" -ge 1 ]
	bc_check "a reclaim scan of 256 pages took $gave of $held bytes and the cache went on serving"
else
	ktap_test_skip "no shrinker debugfs file (CONFIG_SHRINKER_DEBUG)"
fi
if command -v memhog >/dev/null; then
	bc_state_is active || { bc_load_and_start /tmp/ps && wait_readahead $((32 * 1048576)); }
	held=$(bc_stat cache_bytes)
	free=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	ooms=$(dmesg | grep -c "invoked oom-killer")
	memhog $((free + 12)) 2 >/tmp/hog.out
	hog=$?
	after=$(bc_stat cache_bytes)
	ok=1
	for m in 24 30 40 55; do
		[ "$(mib_md5 "$ppart" $m)" = "$(want_md5 "$psums" $m)" ] || ok=0
	done
	[ "$(dmesg | grep -c "invoked oom-killer")" -eq "$ooms" ] && [ $hog -eq 0 ] && [ $ok -eq 1 ] &&
		grep -q "holding $((free + 12)) MiB" /tmp/hog.out &&
		[ "$held" -ge $((16 * 1048576)) ] && [ "$after" -lt "$held" ]
	bc_check "under a memory hog ($(cat /tmp/hog.out) of $((free + 12)) asked) the cache gave back $((held - after)) of $held bytes, no OOM kill"
	quiet_jettison
else
	ktap_test_skip "no memhog"
fi

bc_kmsg "test_cache_trust end"
ktap_finished
