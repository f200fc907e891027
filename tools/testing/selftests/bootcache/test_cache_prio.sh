#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A read that misses goes first: read-ahead's walk reads at the idle I/O
# priority, so on a disk whose scheduler knows priorities (mq-deadline) a
# miss does not wait behind the walk's queued reads. On a disk throttled to
# 2 MB/s (null_blk's mbps: about 40 KiB per 20 ms tick, one request of the
# walk's at a time; what it cannot take yet waits in the scheduler), reads
# outside the playlist are timed while read-ahead runs. With mq-deadline a
# miss must wait for at most the request the disk holds and its own tick,
# not for the walk's reads in flight (4 of 64 KiB: 128 ms at 2 MB/s). The
# same reads with no scheduler (none, where priorities are not looked at)
# are timed too, for the record: null_blk takes requests from its per-CPU
# queues in CPU order, not in arrival order, so a miss there need not wait
# behind the walk either. The test checks behaviour (every miss gets the
# disk's bytes while the walk runs, under either scheduler); both medians
# are printed as a measurement, not asserted: they depend on the machine
# (measured 2026-11-30 under TCG: 16 to 44 ms with the idle walk, 180 to
# 208 ms with the walk at the default priority).

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip prio 40 6 bc7e5716 2
part=$BC_PART
uuid=$BC_UUID
sched=/sys/block/${BC_DEV#/dev/}/queue/scheduler
command -v readtime >/dev/null || bc_skip_all "no readtime helper"
grep -qw mq-deadline "$sched" 2>/dev/null ||
	bc_skip_all "no mq-deadline scheduler (CONFIG_MQ_IOSCHED_DEADLINE)"
bc_plan 2

MIB=1048576
READS=7

# misses SCHED: with SCHED on the disk, read ahead 24 MiB (12 s at 2 MB/s)
# and, while it runs, read 4 KiB at each of READS places outside it, one
# every 200 ms; prints the median of their times in microseconds. Each read
# must return the disk's bytes and be a miss, or it prints "bad".
misses() {
	echo "$1" >"$sched" || { echo bad; return; }
	bcfile make-playlist -o "$T"/pp -e "$uuid:0:24M"
	bc_load_and_start "$T"/pp || { echo bad; return; }
	# Let the walk fill the device's queue.
	bc_sleep_ms 500
	m=$(bc_stat misses) ok=1 i=0
	: >"$T/times"
	while [ $i -lt $READS ]; do
		off=$(((30 + i) * MIB))
		readtime "$part" $off 4096 2>>"$T/times" >"$T/r" || ok=0
		[ "$(bc_md5 <"$T/r")" = "$(bc_want 6 $((MIB + off)) 4096)" ] || ok=0
		bc_sleep_ms 200
		i=$((i + 1))
	done
	[ $(($(bc_stat misses) - m)) -ge $READS ] || ok=0
	# The walk was still running: the reads waited behind it, if at all.
	[ "$(bc_stat readahead_bytes)" -lt $((24 * MIB)) ] || ok=0
	echo jettison >"$S/control"
	bc_wait_for bc_state_is idle || ok=0
	if [ $ok -eq 1 ]; then
		sort -n "$T/times" | sed -n "$(((READS + 1) / 2))p"
	else
		echo bad
	fi
}

dl=$(misses mq-deadline)
[ "$dl" != bad ]
bc_check "misses during read-ahead with mq-deadline get the disk's bytes"
none=$(misses none)
[ "$none" != bad ]
bc_check "misses during read-ahead with no scheduler get the disk's bytes"
echo "# median time of a 4 KiB miss during read-ahead at 2 MB/s: mq-deadline $dl us, none $none us"

bc_end
