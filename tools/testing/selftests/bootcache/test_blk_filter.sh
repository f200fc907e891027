#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The bio filter, through the Rust sample samples/rust/rust_blk_filter.rs:
# it sees exactly the I/O a test does, data read through it is the disk's,
# a disk takes one filter only, detaching during I/O is clean, and a disk
# that goes away tells its filter.

. "$(dirname "$(readlink -f "$0")")/common.sh"

S=/sys/kernel/rust_blk_filter
ktap_print_header
if [ ! -d "$S" ]; then
	ktap_skip_all "$S missing: kernel without CONFIG_SAMPLE_RUST_BLK_FILTER"
	exit "$KSFT_SKIP"
fi
disk=${BOOTCACHE_TEST_DISK2:-}
sums=${BOOTCACHE_TEST_DISK2_SUMS:-}
if [ -z "$disk" ] || [ ! -b "$disk" ] || [ ! -f "$sums" ]; then
	ktap_skip_all "no spare test disk (BOOTCACHE_TEST_DISK2): run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
name=$(basename "$disk")
ktap_set_plan 11
bc_kmsg "test_blk_filter start"

counter() { cat "$S/$1"; }
mib_md5() { dd if="$disk" bs=1048576 skip="$1" count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }
expected_md5() { sed -n "s/^$1 //p" "$sums"; }

# check DESCRIPTION: pass if the last command succeeded.
check() {
	if [ $? -eq 0 ]; then ktap_test_pass "$1"; else ktap_test_fail "$1"; fi
}

echo "$name" >"$S/attach"
check "attach to $name"
[ "$(cat $S/disk)" = "$(cat /sys/block/$name/dev)" ]
check "disk shows $name's device number"

err=$(sh -c "echo $name > $S/attach" 2>&1)
case $err in
*"busy"*) ktap_test_pass "a second filter on $name is refused with EBUSY" ;;
*) ktap_test_fail "a second filter on $name is refused with EBUSY (got '$err')" ;;
esac

r0=$(counter reads) b0=$(counter read_bytes) w0=$(counter writes)
dd if="$disk" of=/dev/null bs=4096 count=10 skip=7 iflag=direct 2>/dev/null
r1=$(counter reads) b1=$(counter read_bytes)
[ $((r1 - r0)) -eq 10 ] && [ $((b1 - b0)) -eq 40960 ]
check "10 direct 4 KiB reads count as 10 reads of 40960 bytes"

dd if=/dev/zero of="$disk" bs=4096 count=5 seek=4096 oflag=direct 2>/dev/null
w1=$(counter writes) wb=$(counter write_bytes) r2=$(counter reads)
[ $((w1 - w0)) -eq 5 ] && [ "$wb" -eq 20480 ] && [ "$r2" -eq "$r1" ]
check "5 direct 4 KiB writes count as 5 writes of 20480 bytes, no reads"

with=$(mib_md5 2)
[ "$with" = "$(expected_md5 2)" ]
check "data read through the filter is the disk's"

# Detach while a reader is busy: no hang, no error, no warning in the log.
dd if="$disk" of=/dev/null bs=4096 count=16384 iflag=direct 2>/dev/null &
reader=$!
usleep 300000
running=0
kill -0 $reader 2>/dev/null && running=1
echo 1 >"$S/detach"
wait $reader
rc=$?
[ $running -eq 1 ] && [ $rc -eq 0 ] && [ -z "$(cat $S/disk)" ]
check "detach during I/O: the reader finishes cleanly (was running: $running)"

without=$(mib_md5 2)
[ "$without" = "$with" ]
check "data read without the filter is the same"

r3=$(counter reads)
dd if="$disk" of=/dev/null bs=4096 count=3 iflag=direct 2>/dev/null
[ "$(counter reads)" -eq "$r3" ]
check "a detached filter sees nothing"

# A disk that goes away: a null_blk device made through configfs.
cfg=/sys/kernel/config/nullb
[ -d /sys/kernel/config ] && ! grep -q configfs /proc/mounts && mount -t configfs none /sys/kernel/config
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
	check "removing a disk calls the filter's disk_gone once"
	[ -z "$(cat $S/disk)" ]
	check "after removal the filter detaches cleanly"
else
	ktap_test_skip "removing a disk calls the filter's disk_gone once (no null_blk configfs)"
	ktap_test_skip "after removal the filter detaches cleanly (no null_blk configfs)"
fi

bc_kmsg "test_blk_filter end"
ktap_finished
