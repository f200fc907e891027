#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Shared by the soak scenarios (make soak, mk/soak.sh): the time budget,
# the counters every scenario reports, the session statistics summed over
# many starts, and the one machine-readable line at the end:
#
#   # soak: scenario=NAME iterations=N bytes=N wrong=N bcfail=N checks_failed=N
#           hits=N parked=N jettisons=N readahead_errors=N appends=N [extra=...]
#
# bytes: bytes read and compared with the known content (bcverify's CRC-32
# per sector, fio's crc32c verify); wrong: bytes that differed (whole 512-byte
# sectors for bcverify, fio's verify blocks); bcfail: reads that failed
# although the disk would have served them. Not a test by itself: the soak
# scenarios source it.

. "$(dirname "$(readlink -f "$0")")/common.sh"

# The kselftest runner reads this test's output and exit code through pipes
# (fds 1-4). A helper that the kernel blocks for good (the point of a soak)
# must not hold them, or the runner would wait for it: the helpers get files
# for output, and fds 3 and 4 are closed here.
exec 3>&- 4>&-

S=$BC_SYSFS
VMDATA=$DIR/vmdata
SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_END=$(($(date +%s) + SOAK_SECONDS))
W=/tmp/soak.$$
rm -rf $W && mkdir -p $W

iters=0 bytes=0 wrong=0 bcfail=0 checks=0
st_hits=0 st_parked=0 st_jett=0 st_raerr=0 st_appends=0 st_pending=0 extra=
# A session whose counters are not summed yet (they stay readable until the
# next start resets them).
soak_session=0

soak_time_left() { [ "$(date +%s)" -lt "$SOAK_END" ]; }

# soak_require NAME: root, bootcache, the tool and the helpers. The soak is
# not one of the kselftests that run_tests runs anywhere (those need neither
# cargo nor the tool, and write their playlists with bcfile): make soak runs
# it in vmtest.sh's guest, which has the tool. So the scenarios keep using
# the tool, also as the validator whose verdict soak_badinput holds the
# kernel's to.
soak_require() {
	SOAK_NAME=$1
	ktap_print_header
	bc_require
	if ! command -v bootcache >/dev/null || ! command -v bcverify >/dev/null; then
		ktap_skip_all "no bootcache tool or soak helpers: run through make soak"
		exit "$KSFT_SKIP"
	fi
	bc_kmsg "soak_$SOAK_NAME start ($SOAK_SECONDS s)"
	soak_idle
}

# soak_fail MESSAGE: a check failed (state changed, wrong answer...).
soak_fail() {
	checks=$((checks + 1))
	[ $checks -le 20 ] && ktap_print_msg "check failed: $*"
	bc_kmsg "soak_$SOAK_NAME check failed: $*"
	return 0
}

soak_idle() {
	bc_state_is idle || echo jettison >"$S/control" 2>/dev/null
	bc_wait_for bc_state_is idle
}

# Sum the counters of the last session, once.
soak_acc() {
	[ $soak_session -eq 1 ] || return 0
	soak_session=0
	st_hits=$((st_hits + $(bc_stat hits)))
	st_parked=$((st_parked + $(bc_stat parked)))
	st_raerr=$((st_raerr + $(bc_stat readahead_errors)))
	st_appends=$((st_appends + $(bc_stat playlist_appends)))
	st_jett=$((st_jett + $(bc_stat jettison_command) + $(bc_stat jettison_misses) + \
		$(bc_stat jettison_memory) + $(bc_stat jettison_disk_gone)))
}

# soak_start PLAYLIST: load and start, summing the previous session first.
soak_start() {
	soak_acc
	if cat "$1" >"$S/playlist" && echo start >"$S/control"; then
		soak_session=1
		return 0
	fi
	return 1
}

# soak_add_verify FILE: add a bcverify result line to the counters.
soak_add_verify() {
	line=$(grep '^bcverify:' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		soak_fail "a reader left no result ($(head -c 200 "$1" | tr '\n' ' '))"
		return
	fi
	v() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	bytes=$((bytes + $(v bytes)))
	wrong=$((wrong + $(v wrong_bytes)))
	bcfail=$((bcfail + $(v bc_failed)))
	grep -v '^bcverify: reads=' "$1" | head -n 5 | while read -r l; do ktap_print_msg "$l"; done
}

# soak_snapshot: the state and the counters that only a successful command
# may change, on one line (state recording reason playlist_bytes
# missing_volume_bytes playlist_appends capped_bytes jettison_command
# jettison_misses jettison_memory jettison_disk_gone wait_limit_ms
# miss_limit record_limit_ms history_entries), to compare after a command
# that failed.
soak_snapshot() {
	(cd $S && cat state recording reason stats/playlist_bytes stats/missing_volume_bytes \
		stats/playlist_appends stats/capped_bytes stats/jettison_command \
		stats/jettison_misses stats/jettison_memory stats/jettison_disk_gone \
		wait_limit_ms miss_limit record_limit_ms history_entries) | tr '\n' ' '
}

# soak_finish: the plan, the result line, the end marker. SOAK_EXERCISED is
# the scenario's condition, on the summed counters, that bootcache did what
# the scenario is about.
soak_finish() {
	soak_acc
	soak_idle
	ktap_set_plan 4
	[ $wrong -eq 0 ]
	bc_check "$SOAK_NAME: every byte read was the disk's ($wrong wrong of $bytes)"
	[ $bcfail -eq 0 ]
	bc_check "$SOAK_NAME: no read failed that the disk would have served ($bcfail)"
	[ $checks -eq 0 ]
	bc_check "$SOAK_NAME: every check of state and answers held ($checks failed)"
	[ $iters -gt 0 ] && eval "${SOAK_EXERCISED:-true}"
	bc_check "$SOAK_NAME: $iters iterations exercised bootcache (hits $st_hits," \
		"parked $st_parked, jettisons $st_jett, read-ahead errors $st_raerr)"
	ktap_print_msg "soak: scenario=$SOAK_NAME iterations=$iters bytes=$bytes wrong=$wrong" \
		"bcfail=$bcfail checks_failed=$checks hits=$st_hits parked=$st_parked" \
		"jettisons=$st_jett readahead_errors=$st_raerr" \
		"appends=$st_appends${extra:+ extra=$extra}"
	bc_kmsg "soak_$SOAK_NAME end"
	rm -rf $W
	ktap_finished
}

# soak_sleep_rand MAX_MS: sleep 0 to MAX_MS milliseconds.
soak_sleep_rand() { bc_sleep_ms $(($(od -An -N2 -tu2 /dev/urandom) % ($1 + 1))); }
soak_rand() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % $1 )); }

# Find a whole disk by its virtio serial (it may come back under another
# name after a hot plug).
soak_disk_by_serial() {
	for d in /sys/block/*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 1
}

# soak_nullb NAME SOURCE SIGNATURE MBPS: a memory-backed null_blk disk of 64
# MiB named NAME holding SOURCE's bytes (a test disk of known content) with
# an MBR (PARTUUID SIGNATURE-01, one partition from 1 MiB to the end), at
# MBPS MB/s (0: unthrottled). Prints the partition's device.
soak_nullb() {
	cfg=/sys/kernel/config/nullb
	[ -d /sys/kernel/config ] && ! grep -q configfs /proc/mounts &&
		mount -t configfs none /sys/kernel/config
	[ -d $cfg ] || return 1
	[ -d $cfg/$1 ] || mkdir $cfg/$1 || return 1
	echo 64 >$cfg/$1/size
	echo 1 >$cfg/$1/memory_backed
	echo 1 >$cfg/$1/power || return 1
	bc_wait_for test -b /dev/$1 || return 1
	dd if="$2" of=/dev/$1 bs=1048576 count=64 oflag=direct 2>/dev/null || return 1
	dd if=/dev/zero of=$W/mbr bs=512 count=1 2>/dev/null
	s=$3
	# The disk signature at byte 440, little-endian.
	sig0=$(printf %03o 0x${s#??????}) sig1=$(printf %03o 0x$(echo $s | cut -c5-6))
	sig2=$(printf %03o 0x$(echo $s | cut -c3-4)) sig3=$(printf %03o 0x$(echo $s | cut -c1-2))
	printf "\\$sig0\\$sig1\\$sig2\\$sig3" |
		dd of=$W/mbr bs=1 seek=440 conv=notrunc 2>/dev/null
	printf '\203' | dd of=$W/mbr bs=1 seek=450 conv=notrunc 2>/dev/null
	printf '\000\010\000\000' | dd of=$W/mbr bs=1 seek=454 conv=notrunc 2>/dev/null
	printf '\000\370\001\000' | dd of=$W/mbr bs=1 seek=458 conv=notrunc 2>/dev/null
	printf '\125\252' | dd of=$W/mbr bs=1 seek=510 conv=notrunc 2>/dev/null
	dd if=$W/mbr of=/dev/$1 bs=512 count=1 conv=notrunc oflag=direct 2>/dev/null
	echo 0 >$cfg/$1/power
	if [ "$4" -gt 0 ]; then
		# null_blk's throttle gives MBPS MiB/50 bytes each 20 ms tick and
		# requeues a request that does not fit in one: a request larger
		# than a tick's budget never completes, nor does the power-off
		# that waits for it (seen in 6.12 without bootcache: a 128 KiB
		# O_DIRECT read at mbps=4). So no request may be larger.
		mx=$(($4 * 2048 / 50 / 8 * 8))
		[ $mx -gt 255 ] && mx=255
		echo $mx >$cfg/$1/max_sectors
		echo "$4" >$cfg/$1/mbps
	fi
	echo 1 >$cfg/$1/power || return 1
	bc_wait_for test -b /dev/${1}1 || return 1
	echo /dev/${1}1
}
