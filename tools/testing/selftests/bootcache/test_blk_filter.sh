#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The bio filter, through the Rust sample samples/rust/rust_blk_filter.rs:
# it sees exactly the I/O a test does, data read through it is the disk's,
# a disk takes one filter only, detaching during I/O is clean, and a disk
# that goes away tells its filter. A bio-based disk takes no filter; a write
# that blk-throttle held across the attach is reported to the filter as
# missed; a media change (a loop device bound or switched to another file,
# another disc in the CD drive) detaches the filter and tells it, and the
# disk takes a filter again.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin_root
S=/sys/kernel/rust_blk_filter
[ -d "$S" ] || bc_skip_all "$S missing: kernel without CONFIG_SAMPLE_RUST_BLK_FILTER"
bc_disk_or_skip filter 64 2
disk=$BC_DEV
name=$(basename "$disk")
bc_plan 19

counter() { cat "$S/$1"; }
mib_md5() { bc_mib_md5 "$disk" "$1"; }
expected_md5() { bc_want 2 $(($1 * 1048576)) 1048576; }

echo "$name" >"$S/attach"
bc_check "attach to $name"
[ "$(cat "$S/disk")" = "$(cat "/sys/block/$name/dev")" ]
bc_check "disk shows $name's device number"

err=$(sh -c "echo $name > $S/attach" 2>&1)
case $err in
*"busy"*) ktap_test_pass "a second filter on $name is refused with EBUSY" ;;
*) ktap_test_fail "a second filter on $name is refused with EBUSY (got '$err')" ;;
esac

r0=$(counter reads) b0=$(counter read_bytes) w0=$(counter writes)
dd if="$disk" of=/dev/null bs=4096 count=10 skip=7 iflag=direct 2>/dev/null
r1=$(counter reads) b1=$(counter read_bytes)
[ $((r1 - r0)) -eq 10 ] && [ $((b1 - b0)) -eq 40960 ]
bc_check "10 direct 4 KiB reads count as 10 reads of 40960 bytes"

dd if=/dev/zero of="$disk" bs=4096 count=5 seek=4096 oflag=direct 2>/dev/null
w1=$(counter writes) wb=$(counter write_bytes) r2=$(counter reads)
[ $((w1 - w0)) -eq 5 ] && [ "$wb" -eq 20480 ] && [ "$r2" -eq "$r1" ]
bc_check "5 direct 4 KiB writes count as 5 writes of 20480 bytes, no reads"

with=$(mib_md5 2)
[ "$with" = "$(expected_md5 2)" ]
bc_check "data read through the filter is the disk's"

# Detach while a reader is busy: no hang, no error, no warning in the log.
# (Four passes over the disk: a memory-backed disk is fast.)
(for _ in 1 2 3 4; do
	dd if="$disk" of=/dev/null bs=4096 count=16384 iflag=direct 2>/dev/null || exit 1
done) &
reader=$!
sleep 0.3
running=0
kill -0 $reader 2>/dev/null && running=1
echo 1 >"$S/detach"
wait $reader
rc=$?
[ $running -eq 1 ] && [ $rc -eq 0 ] && [ -z "$(cat $S/disk)" ]
bc_check "detach during I/O: the reader finishes cleanly (was running: $running)"

without=$(mib_md5 2)
[ "$without" = "$with" ]
bc_check "data read without the filter is the same"

r3=$(counter reads)
dd if="$disk" of=/dev/null bs=4096 count=3 iflag=direct 2>/dev/null
[ "$(counter reads)" -eq "$r3" ]
bc_check "a detached filter sees nothing"

# A bio-based disk takes no filter: its bios in flight hold no queue
# reference, so the attach could not wait for them nor catch them later.
# A dm-linear device over the first MiB of the disk (progs/dm_linear.c, or
# dmsetup), else a RAM disk (brd).
biodisk='' dm=
if command -v dm_linear >/dev/null; then
	biodisk=$(dm_linear create bc_filter_lin "$disk" 2048) && dm=bc_filter_lin
elif command -v dmsetup >/dev/null &&
	echo "0 2048 linear $disk 0" | dmsetup create --noudevsync bc_filter_lin 2>/dev/null; then
	dm=bc_filter_lin
	for d in /sys/block/dm-*; do
		[ "$(cat "$d/dm/name" 2>/dev/null)" = $dm ] && biodisk=$(basename "$d")
	done
fi
[ -z "$biodisk" ] && [ -b /dev/ram0 ] && biodisk=ram0
if [ -n "$biodisk" ]; then
	err=$(sh -c "echo $biodisk > $S/attach" 2>&1)
	case $err in
	*"not supported"*) ! grep -qx "$(cat "/sys/block/$biodisk/dev")" "$S/disk" ;;
	*) false ;;
	esac
	bc_check "the bio-based disk $biodisk is refused with EOPNOTSUPP (got '$err')"
else
	why="the bio-based disk is refused with EOPNOTSUPP"
	ktap_test_skip "$why (no dm_linear or dmsetup, no brd)"
fi
# (Should the attach have worked, the filter holds the disk open.)
echo 1 >"$S/detach" 2>/dev/null
if [ -n "$dm" ]; then
	dm_linear remove $dm 2>/dev/null || dmsetup remove --noudevsync $dm 2>/dev/null
fi

# A write held by blk-throttle while the filter attaches was submitted
# before the filter was there and reaches the disk after: the filter is
# told of it as missed (not offered it), and the disk gets its bytes.
cg=/sys/fs/cgroup
grep -q " $cg cgroup2 " /proc/mounts || mount -t cgroup2 none $cg 2>/dev/null
if echo +io >$cg/cgroup.subtree_control 2>/dev/null && mkdir -p $cg/bc_filter &&
	[ -e $cg/bc_filter/io.max ]; then
	mm=$(cat "/sys/block/$name/dev")
	# 64 KiB at MiB 24 of the disk; put its bytes back afterwards.
	dd if="$disk" of="$T/bcf.orig" bs=65536 skip=384 count=1 iflag=direct 2>/dev/null
	dd if=/dev/urandom of="$T/bcf.new" bs=65536 count=1 2>/dev/null
	echo "$mm wbps=4096" >$cg/bc_filter/io.max
	sh -c "echo \$\$ >$cg/bc_filter/cgroup.procs &&
		exec dd if=$T/bcf.new of=$disk bs=65536 seek=384 count=1 oflag=direct 2>/dev/null" &
	writer=$!
	# Held: the writer waits for its bio, submitted before the attach,
	# which blk-throttle keeps for 16 s (the disk would take milliseconds).
	held=0
	bc_wait_for bc_bio_waits $writer && held=1
	m0=$(counter missed) mw0=$(counter missed_writes) w0=$(counter writes)
	ok=1
	echo "$name" >"$S/attach" || ok=0
	echo "$mm wbps=max" >$cg/bc_filter/io.max
	wait $writer
	wrc=$?
	m1=$(counter missed) mw1=$(counter missed_writes) w1=$(counter writes)
	echo 1 >"$S/detach"
	[ $held -eq 1 ] && [ $ok -eq 1 ] && [ $wrc -eq 0 ] && [ $((mw1 - mw0)) -eq 1 ] &&
		[ $((m1 - m0)) -ge 1 ] && [ "$w1" -eq "$w0" ]
	bc_check "a write blk-throttle held across the attach is reported missed (held: $held," \
		"missed writes: $((mw1 - mw0)), offered writes: $((w1 - w0)))"
	got=$(dd if="$disk" bs=65536 skip=384 count=1 iflag=direct 2>/dev/null | md5sum)
	[ "$got" = "$(md5sum <"$T/bcf.new")" ]
	bc_check "the held write's bytes are on the disk"
	dd if="$T/bcf.orig" of="$disk" bs=65536 seek=384 count=1 oflag=direct conv=notrunc \
		2>/dev/null
	rmdir $cg/bc_filter 2>/dev/null
	rm -f "$T/bcf.orig" "$T/bcf.new"
else
	ktap_test_skip "a write held by blk-throttle is reported missed (no cgroup v2 io.max)"
	ktap_test_skip "the held write's bytes are on the disk (no cgroup v2 io.max)"
fi

# A loop device's medium changes when it is bound to a file, or switched to
# another (LOOP_CHANGE_FD): its filter is detached and told, and the disk,
# still there, takes a filter again. The images are MiB 3 and 4 of the disk.
lo=
[ -e /dev/loop-control ] && lo=$(losetup -f 2>/dev/null)
if [ -n "$lo" ] && [ -b "$lo" ]; then
	lname=$(basename "$lo")
	lodev=$(cat "/sys/block/$lname/dev")
	dd if="$disk" of="$T/bcf.a.img" bs=1048576 skip=3 count=1 iflag=direct 2>/dev/null
	dd if="$disk" of="$T/bcf.b.img" bs=1048576 skip=4 count=1 iflag=direct 2>/dev/null
	lo_md5() { bc_mib_md5 "$lo" 0; }
	has_filter() { grep -qx "$lodev" $S/disk; }
	c0=$(counter media_changed) g0=$(counter disk_gone)
	# An unbound loop device opens, with nothing on it.
	ok=1
	echo "$lname" >"$S/attach" || ok=0
	has_filter || ok=0
	losetup -r "$lo" "$T/bcf.a.img" || ok=0
	[ $ok -eq 1 ] && [ $(($(counter media_changed) - c0)) -eq 1 ] && ! has_filter
	bc_check "binding $lname to a file detaches its filter as a media change"
	r0=$(counter reads)
	echo "$lname" >"$S/attach" && has_filter && [ "$(lo_md5)" = "$(expected_md5 3)" ] &&
		[ "$(counter reads)" -gt "$r0" ]
	bc_check "the same disk takes a filter again, which sees the new medium's reads"
	if command -v loop_change_fd >/dev/null; then
		loop_change_fd "$lo" "$T/bcf.b.img"
		lrc=$?
		[ $lrc -eq 0 ] && [ $(($(counter media_changed) - c0)) -eq 2 ] && ! has_filter &&
			[ "$(lo_md5)" = "$(expected_md5 4)" ]
		bc_check "LOOP_CHANGE_FD detaches the filter as a media change;" \
			"reads get the new file's bytes"
	else
		ktap_test_skip "LOOP_CHANGE_FD detaches the filter (no loop_change_fd)"
	fi
	[ "$(counter disk_gone)" -eq "$g0" ]
	bc_check "a media change is not reported as a deletion"
	echo 1 >"$S/detach"
	losetup -d "$lo"
	rm -f "$T/bcf.a.img" "$T/bcf.b.img"
else
	for t in "binding a loop device detaches its filter" \
		"the same disk takes a filter again" \
		"LOOP_CHANGE_FD detaches the filter" \
		"a media change is not reported as a deletion"; do
		ktap_test_skip "$t (no loop devices: CONFIG_BLK_DEV_LOOP)"
	done
fi

# Another disc in the CD drive (the host swaps it, vmtest.sh's bc_host): the
# kernel learns of it at the next open (disk_check_media_change(), as events
# polling is off), and the filter is detached then.
cd=${BOOTCACHE_TEST_CD:-}
# shellcheck disable=SC2086 # (two file names)
set -- ${BOOTCACHE_TEST_CD_MEDIA:-}
if [ -b "$cd" ] && [ $# -eq 2 ] && [ -f "${BOOTCACHE_TEST_CD2_SUMS:-}" ] &&
	bc_host "info block" >/dev/null 2>&1; then
	cdname=$(basename "$cd")
	cddev=$(cat "/sys/block/$cdname/dev")
	cd_md5() { bc_mib_md5 "$cd" 1; }
	# The drive takes a read (so the change has been noticed).
	cd_ready() { dd if="$cd" of=/dev/null bs=2048 count=1 iflag=direct 2>/dev/null; }
	c0=$(counter media_changed)
	ok=1
	echo "$cdname" >"$S/attach" || ok=0
	[ "$(cd_md5)" = "$(sed -n 's/^1 //p' "$BOOTCACHE_TEST_CD_SUMS")" ] || ok=0
	# The drive is open (by the filter), so its tray is locked: force it.
	bc_host eject "$BOOTCACHE_TEST_CD_DRIVE" >/dev/null || ok=0
	bc_host change "$BOOTCACHE_TEST_CD_DRIVE" "$2" >/dev/null || ok=0
	bc_wait_for cd_ready || ok=0
	[ $ok -eq 1 ] && [ $(($(counter media_changed) - c0)) -eq 1 ] &&
		! grep -qx "$cddev" $S/disk &&
		[ "$(cd_md5)" = "$(sed -n 's/^1 //p' "$BOOTCACHE_TEST_CD2_SUMS")" ]
	bc_check "another disc in $cdname detaches its filter as a media change"
	echo 1 >"$S/detach"
	bc_host eject "$BOOTCACHE_TEST_CD_DRIVE" >/dev/null
	bc_host change "$BOOTCACHE_TEST_CD_DRIVE" "$1" >/dev/null
	bc_wait_for cd_ready
else
	why="another disc in the CD drive detaches its filter"
	ktap_test_skip "$why (no CD drive or no host channel)"
fi

# A disk that goes away: a null_blk device made through configfs.
cfg=/sys/kernel/config/nullb
[ -d /sys/kernel/config ] && ! grep -q configfs /proc/mounts &&
	mount -t configfs none /sys/kernel/config
if [ -d "$cfg" ]; then
	mkdir "$cfg/bc_gone"
	echo 1 >"$cfg/bc_gone/memory_backed"
	echo 1 >"$cfg/bc_gone/power"
	# null_blk names a disk made through configfs after its directory.
	nb=bc_gone
	g0=$(counter disk_gone)
	ok=1
	sh -c "echo $nb > $S/attach" || ok=0
	dd if=/dev/$nb of=/dev/null bs=4096 count=4 iflag=direct 2>/dev/null
	echo 0 >"$cfg/bc_gone/power"
	g1=$(counter disk_gone)
	rmdir "$cfg/bc_gone"
	echo 1 >"$S/detach"
	[ $ok -eq 1 ] && [ $((g1 - g0)) -eq 1 ]
	bc_check "removing a disk calls the filter's disk_gone once"
	[ -z "$(cat $S/disk)" ]
	bc_check "after removal the filter detaches cleanly"
else
	ktap_test_skip "removing a disk calls the filter's disk_gone once (no null_blk configfs)"
	ktap_test_skip "after removal the filter detaches cleanly (no null_blk configfs)"
fi

bc_end
