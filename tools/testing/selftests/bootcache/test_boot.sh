#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bootcache at boot, without userspace: run by mk/boot-test.sh in VMs booted
# with a given bootcache= command line and kernel (BOOTCACHE_SCENARIO):
#
#   auto        a kernel with a built-in playlist, bootcache=auto, the throttled
#               disk read-only: caching started before userspace, and reads
#               are served from the cache byte for byte;
#   autorecord  the same kernel with bootcache=auto,record: it caches and
#               records at once, as a tune boot of a live medium does
#               (Documentation/admin-guide/bootcache.rst, "Live media"):
#               reads are served byte for byte, and the history holds them
#               as hits, ready to be made into the next playlist;
#   record      bootcache=record, no initramfs (root on /dev/vde): the kernel's
#               own reads to mount root are in the history, whose playlist
#               names the root volume;
#   off         bootcache=off: no sysfs directory, no filter on any disk;
#   badplaylist a kernel with a malformed built-in playlist: one clear line,
#               a normal boot, nothing running;
#   badparam    a garbage bootcache= value: warnings, a normal boot;
#   zoned       bootcache=record with root on a zoned null_blk disk: refused
#               with a clear line, nothing attached;
#   dmroot      bootcache=record with root on a device-mapper (bio-based)
#               disk made at boot: refused with a clear line, nothing
#               attached, the disk reads right;
#   cdchange    root=/dev/sr0 (the emulated DVD drive): a playlist of the
#               disc is cached, the host puts another disc in the drive, and
#               the new disc's bytes are read, never the old one's.
#   cdmedium    a built-in playlist names the disc in the drive by its
#               identity (an ISO 9660 volume: the whole disc, 2 KiB blocks),
#               with no root= and no userspace: it is found and cached, its
#               bytes are the image's; then another disc is put in, the
#               session ends, and the new disc's bytes are read.
#   cdlive      a Debian live ISO (make demo PROFILE=dvd's) in the drive and
#               its playlist built in: every extent of the playlist is read
#               and compared with the ISO's bytes, served from the cache;
#               then another disc is put in, and its bytes are read.
#   cdother     the same kernel, booted with the other disc in the drive:
#               one line says the disc is not the playlist's, nothing is
#               cached, and the boot goes on; the playlist's own disc, put
#               in later, is found and cached.
#
# Nothing here writes to /sys/kernel/bootcache before the checks of what the
# kernel did by itself. Unlike the other tests this one cannot make its own
# disks: what it checks happened at boot, on the disks and the command line
# that mk/boot-test.sh gave the VM (vmtest.sh's, named in BOOTCACHE_TEST_*).

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin_root
scenario=${BOOTCACHE_SCENARIO:-}
[ -n "$scenario" ] || bc_skip_all "runs only in the boot scenarios of mk/boot-test.sh"
dmesg >"$T"/boot-dmesg
# The number of kernel log lines matching a pattern.
klog() { grep -c "$1" "$T"/boot-dmesg; }

# mibs_are DEV SUMS N [SHIFT]: the first N MiB of DEV are the image's, whose
# MiB K is line "K MD5" of SUMS; DEV starts SHIFT MiB into the image (a
# partition).
mibs_are() {
	ok=0
	for m in $(seq 0 $(($3 - 1))); do
		if [ "$(bc_mib_md5 "$1" "$m")" != "$(sed -n "s/^$((m + ${4:-0})) //p" "$2")" ]; then
			ok=1
			ktap_print_msg "MiB $m differs"
		fi
	done
	return $ok
}

# slow_is: the first 4 MiB of the slow disk's partition (1 MiB in) are the
# image's.
slow_is() { mibs_are "${BOOTCACHE_TEST_SLOW}1" "$BOOTCACHE_TEST_SLOW_SUMS" 4 1; }

# cd_is SUMS N: the CD drive's first N MiB are those of the disc of SUMS.
cd_is() { mibs_are "$BOOTCACHE_TEST_CD" "$1" "$2"; }

case $scenario in
auto)
	slow=$BOOTCACHE_TEST_SLOW
	bc_plan 6
	[ "$(cat $S/boot)" = auto ] && [ "$(cat $S/embedded)" -gt 0 ]
	bc_check "the kernel was booted with bootcache=auto and a built-in playlist" \
		"($(cat $S/embedded) bytes)"
	bc_state_is active && [ "$(cat $S/recording)" = 0 ] &&
		[ "$(cat $S/wait_limit_ms)" = 45000 ]
	bc_check "caching started by itself, without a history, with wait=45000"
	! echo x 2>/dev/null >>"${slow}1" && [ "$(cat "/sys/block/${slow#/dev/}/ro")" = 1 ]
	bc_check "the medium is read-only"
	slow_is
	bc_check "the data read is the image's, byte for byte"
	[ "$(bc_stat hit_bytes)" -ge $((4 * 1048576)) ] &&
		[ "$(bc_stat readahead_bytes)" -ge $((4 * 1048576)) ]
	bc_check "it came from the cache: $(bc_stat hit_bytes) bytes hit, $(bc_stat parked) parked"
	# The tool's own report (mk/boot-test.sh's VM has the tool).
	if command -v bootcache >/dev/null; then
		bootcache status >"$T"/status
		head -n 2 "$T"/status | sed 's/^/# /'
		head -n 1 "$T"/status | grep -q '^bootcache: caching' &&
			grep -q 'bootcache=auto' "$T"/status
		bc_check "bootcache status says what happened this boot"
	else
		ktap_test_skip "bootcache status says what happened this boot (no bootcache tool)"
	fi
	;;
autorecord)
	bc_plan 5
	[ "$(cat $S/boot)" = auto ] && [ "$(cat $S/embedded)" -gt 0 ] &&
		bc_state_is active && [ "$(cat $S/recording)" = 1 ]
	bc_check "bootcache=auto,record: caching and recording started by themselves"
	slow_is
	bc_check "the data read is the image's, byte for byte"
	[ "$(bc_stat hit_bytes)" -ge $((4 * 1048576)) ]
	bc_check "it came from the cache: $(bc_stat hit_bytes) bytes hit"
	# The playlist's 4 MiB, read from the partition (its volume 0) and
	# served from the cache, are in the history as hits: the bytes of hit
	# entries within them add up to 4 MiB.
	echo stop >"$S/control" && [ "$(cat $S/recording)" = 0 ] &&
		cat "$S/history" >"$T"/h && bcfile print-history "$T"/h >"$T"/h.txt &&
		awk -v m=4194304 'NF == 7 && $1 ~ /^[0-9]+$/ && $4 ~ /H/ && $5 == 0 && $6 < m {
				n += ($6 + $7 < m ? $6 + $7 : m) - $6 }
			END { exit !(n >= m) }' "$T"/h.txt
	bc_check "the history holds those reads as hits: $(sed -n 2p "$T"/h.txt)"
	if command -v bootcache >/dev/null; then
		bootcache convert "$T"/h -o "$T"/pl >/dev/null &&
			bootcache print "$T"/pl >"$T"/pl.txt &&
			awk -v m=4194304 'NF == 6 && $1 ~ /^[0-9]+$/ && $2 == 0 && $5 < m {
					n += ($5 + $6 < m ? $5 + $6 : m) - $5 }
				END { exit !(n == m) }' "$T"/pl.txt
		bc_check "its playlist reads those 4 MiB ahead"
	else
		ktap_test_skip "its playlist reads those 4 MiB ahead (no bootcache tool)"
	fi
	;;
record)
	bc_plan 5
	[ "$(cat $S/boot)" = record ] && bc_state_is active && [ "$(cat $S/recording)" = 1 ]
	bc_check "recording started by itself with bootcache=record"
	grep -q "^/dev/root / \|^/dev/vde / " /proc/mounts && [ ! -e /init.cpio ]
	bc_check "root is the ext4 disk, mounted by the kernel (no initramfs)"
	echo stop >"$S/control" && cat "$S/history" >"$T"/h &&
		bcfile print-history "$T"/h >"$T"/h.txt
	bc_check "the history reads out: $(sed -n 2p "$T"/h.txt)"
	# The ext4 superblock, 1 KiB in, is read to mount root, before any
	# userspace runs: a read entry below 4 KiB on volume 0.
	awk 'NF == 7 && $1 ~ /^[0-9]+$/ && $4 ~ /R/ && $5 == 0 && $6 < 4096 { n++ }
		END { exit !n }' "$T"/h.txt
	bc_check "the kernel's own reads to mount root are in it"
	# Making a playlist from a history is the tool's work.
	if command -v bootcache >/dev/null; then
		bootcache convert "$T"/h -o "$T"/pl >/dev/null &&
			bootcache print "$T"/pl >"$T"/pl.txt &&
			grep -q "^ *0  root " "$T"/pl.txt
		bc_check "its playlist names the root volume"
	else
		ktap_test_skip "its playlist names the root volume (no bootcache tool)"
	fi
	;;
off)
	bc_plan 3
	[ ! -e "$S" ]
	bc_check "bootcache=off: no /sys/kernel/bootcache"
	[ "$(klog 'bootcache: off (bootcache=off)')" -eq 1 ] &&
		[ "$(klog 'bootcache:.*start')" -eq 0 ]
	bc_check "one line says it is off, and nothing started"
	F=/sys/kernel/rust_blk_filter
	name=${BOOTCACHE_TEST_SLOW#/dev/}
	echo "$name" >$F/attach && echo "$name" >$F/detach
	bc_check "no filter is attached: another one attaches to $name"
	;;
badplaylist)
	bc_plan 3
	[ "$(klog 'bootcache: built-in playlist refused: ')" -eq 1 ]
	bc_check "one clear line:" \
		"$(grep 'built-in playlist refused' "$T"/boot-dmesg | sed 's/^\[[^]]*\] //')"
	bc_state_is idle && [ "$(cat $S/embedded)" -gt 0 ]
	bc_check "nothing runs, and the rest of bootcache works"
	bcfile make-playlist -o "$T"/pl -e "$BOOTCACHE_TEST_PARTUUID:0:1M" &&
		bc_load_and_start "$T"/pl && echo jettison >"$S/control"
	bc_check "a playlist from userspace still starts"
	;;
badparam)
	bc_plan 3
	bad_wait="bootcache=: wait= wants milliseconds up to 600000, not 'abc'; ignored"
	[ "$(klog "bootcache=: unknown mode 'bogus'; ignored")" -eq 1 ] &&
		[ "$(klog "$bad_wait")" -eq 1 ] &&
		[ "$(klog "bootcache=: unknown option 'zzz'; ignored")" -eq 1 ]
	bc_check "each part not understood is reported once"
	bc_state_is idle && [ "$(cat $S/boot)" = default ] && [ "$(cat $S/wait_limit_ms)" = 10000 ]
	bc_check "the rest is ignored: idle, defaults"
	[ "$(cat /proc/sys/kernel/tainted)" = 0 ]
	bc_check "a normal boot"
	;;
cdchange)
	bc_plan 3
	cd=$BOOTCACHE_TEST_CD
	md5() { bc_md5; }
	bcfile make-playlist -o "$T"/pc -e root:0:4M
	bc_load_and_start "$T"/pc &&
		bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 4194304 ]"
	x=$(dd if="$cd" bs=1048576 count=1 iflag=direct 2>/dev/null | md5)
	[ "$x" = "$(sed -n 's/^0 //p' "$BOOTCACHE_TEST_CD_SUMS")" ] &&
		[ "$(bc_stat hit_bytes)" -gt 0 ]
	bc_check "the first disc is read from the cache ($(bc_stat hit_bytes) bytes hit)"
	bc_host "change $BOOTCACHE_TEST_CD_DRIVE cd1.img" >/dev/null
	bc_wait_for sh -c "[ \"\$(cat $S/reason)\" = medium-changed ]"
	bc_check "the new disc ended the session: reason $(cat $S/reason)"
	# MiB 1 was read ahead from the first disc and never served.
	x=$(dd if="$cd" bs=1048576 skip=1 count=1 iflag=direct 2>/dev/null | md5)
	[ "$x" = "$(sed -n 's/^1 //p' "$BOOTCACHE_TEST_CD2_SUMS")" ]
	bc_check "the new disc's bytes are read, not the old one's"
	;;
cdmedium)
	bc_plan 5
	[ "$(cat /sys/block/sr0/queue/logical_block_size)" = 2048 ]
	bc_check "the drive reads 2048-byte blocks"
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 4194304 ]"
	bc_state_is active && [ "$(cat $S/boot)" = auto ] &&
		[ "$(cat $S/stats/readahead_bytes)" -ge 4194304 ]
	bc_check "the built-in playlist's disc was found and read ahead" \
		"($(cat $S/stats/readahead_bytes) bytes):" \
		"$(grep -o 'volume 0 appeared\|started: [0-9]* bytes on 1 disk' "$T"/boot-dmesg |
			head -n 1)"
	cd_is "$BOOTCACHE_TEST_CD_SUMS" 4 && [ "$(bc_stat hit_bytes)" -ge 4194304 ]
	bc_check "the disc's first 4 MiB are the image's, byte for byte, from the cache" \
		"($(bc_stat hit_bytes) bytes hit)"
	bc_host "change $BOOTCACHE_TEST_CD_DRIVE cd1.img" >/dev/null
	bc_wait_for sh -c "[ \"\$(cat $S/reason)\" = medium-changed ]"
	bc_check "the new disc ended the session: reason $(cat $S/reason)"
	cd_is "$BOOTCACHE_TEST_CD2_SUMS" 4
	bc_check "the new disc's bytes are read, not the old one's"
	;;
cdlive)
	bc_plan 4
	want=0
	for x in $BOOTCACHE_TEST_CD_EXTENTS; do
		want=$((want + $(echo "$x" | cut -d: -f2)))
	done
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge $want ]"
	bc_state_is active && [ "$(bc_stat readahead_bytes)" -ge "$want" ] &&
		grep -q "$BOOTCACHE_TEST_CD_ID" "$T"/boot-dmesg
	bc_check "the live ISO ($BOOTCACHE_TEST_CD_ID) was found and its playlist read ahead" \
		"($(bc_stat readahead_bytes) of $want bytes)"
	bad=0 n=0
	for x in $BOOTCACHE_TEST_CD_EXTENTS; do
		off=$(echo "$x" | cut -d: -f1) len=$(echo "$x" | cut -d: -f2) \
			sum=$(echo "$x" | cut -d: -f3)
		# Direct reads of up to 1 MiB from a page-aligned buffer (busybox
		# dd falls back to buffered reads, and the page cache's read-ahead
		# past the extent, when a small buffer is not aligned for O_DIRECT).
		got=$(dd if="$BOOTCACHE_TEST_CD" bs=1048576 skip="$off" count="$len" \
			iflag=skip_bytes,count_bytes,direct 2>/dev/null | bc_md5)
		if [ "$got" != "$sum" ]; then
			bad=$((bad + 1))
			ktap_print_msg "extent $off+$len differs"
		fi
		n=$((n + 1))
	done
	[ $bad -eq 0 ] && [ "$(bc_stat hit_bytes)" -ge "$want" ]
	bc_check "its $n extents are the ISO's bytes, byte for byte, from the cache" \
		"($(bc_stat hit_bytes) bytes hit)"
	bc_host "change $BOOTCACHE_TEST_CD_DRIVE cd1.img" >/dev/null
	bc_wait_for sh -c "[ \"\$(cat $S/reason)\" = medium-changed ]"
	bc_check "another disc ended the session: reason $(cat $S/reason)"
	cd_is "$BOOTCACHE_TEST_CD2_SUMS" 8
	bc_check "the new disc's bytes are read, not the live ISO's"
	;;
cdother)
	bc_plan 3
	line="holds another medium"
	bc_wait_for sh -c "dmesg | grep -q '$line'"
	# The ticker looks at the drive again every second: still one line.
	sleep 3
	n=$(dmesg | grep -c "$line")
	[ "$n" = 1 ] && dmesg | grep "$line" | grep -q "$BOOTCACHE_TEST_CD_ID"
	bc_check "one line ($n): $(dmesg | grep "$line" | head -n 1 | sed 's/^\[[^]]*\] //')"
	cd_is "$BOOTCACHE_TEST_CD2_SUMS" 2 && [ "$(bc_stat readahead_bytes)" = 0 ] &&
		[ "$(bc_stat hit_bytes)" = 0 ]
	bc_check "the boot went on uncached: the disc in the drive is read as it is" \
		"($(bc_stat readahead_bytes) bytes read ahead, $(bc_stat hit_bytes) hit)"
	bc_host "change $BOOTCACHE_TEST_CD_DRIVE cd0.img" >/dev/null
	bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 4194304 ]"
	cd_is "$BOOTCACHE_TEST_CD_SUMS" 4 && [ "$(bc_stat hit_bytes)" -ge 4194304 ]
	bc_check "the playlist's own disc, put in later, is found and cached" \
		"($(bc_stat hit_bytes) bytes hit, the image's bytes)"
	;;
zoned | dmroot)
	bc_plan 3
	if [ "$scenario" = zoned ]; then
		dev=nullb0 why='is zoned; bootcache does not cache zoned disks'
	else
		dev=dm-0 why='is bio-based (device-mapper, md)'
	fi
	# The disk may appear after bootcache's init: then the ticker finds it.
	bc_wait_for sh -c "dmesg | grep -q '$why'"
	bc_check "one clear line: $(dmesg | grep "$why" | head -n 1 | sed 's/^\[[^]]*\] //')"
	F=/sys/kernel/rust_blk_filter
	if [ "$scenario" = zoned ]; then
		echo $dev >$F/attach && echo $dev >$F/detach
		bc_check "bootcache holds no filter on $dev: another one attaches"
	else
		bc_state_is active && [ "$(cat $S/recording)" = 1 ] &&
			[ "$(dmesg | grep -c 'bootcache: volume 0 appeared')" = 0 ]
		bc_check "recording goes on without $dev"
	fi
	want=$(sed -n 's/^0 //p' "$BOOTCACHE_TEST_PDISK_SUMS")
	if [ "$scenario" = zoned ]; then
		[ "$(cat /sys/block/nullb0/queue/zoned)" = host-managed ]
		bc_check "the disk is zoned ($(cat /sys/block/nullb0/queue/zoned))"
	else
		x=$(dd if=/dev/$dev bs=1048576 count=1 iflag=direct 2>/dev/null | bc_md5)
		[ "$x" = "$want" ]
		bc_check "the device-mapper disk reads right"
	fi
	;;
*)
	ktap_exit_fail_msg "unknown scenario '$scenario'"
	;;
esac
bc_end
