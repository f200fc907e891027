#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark, not a test: random 4 KiB direct reads on a memory-backed
# null_blk disk with no filter attached anywhere, with a pass-everything
# filter on another disk, and with one on this disk. Prints IOPS and ratios.
# Run from the host with "make bench-filter".

# Installed beside the kselftests (vmtest.sh -x).
. "$(dirname "$(readlink -f "$0")")/common.sh"

S=/sys/kernel/rust_blk_filter
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
cfg=/sys/kernel/config/nullb
ktap_print_header
grep -q configfs /proc/mounts || mount -t configfs none /sys/kernel/config
if [ ! -d "$S" ] || [ ! -d "$cfg" ] || ! command -v randread >/dev/null; then
	ktap_skip_all "needs the rust_blk_filter sample, null_blk configfs and randread"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 1

mknull() {
	mkdir "$cfg/$1"
	echo 1 >"$cfg/$1/memory_backed"
	echo 128 >"$cfg/$1/size"
	echo 1 >"$cfg/$1/power"
	# null_blk names a disk made through configfs after its directory.
	echo "$1"
}
a=$(mknull bench_a)
b=$(mknull bench_b)
# Fill the disk once so reads hit allocated memory.
dd if=/dev/zero of="/dev/$a" bs=1048576 count=128 oflag=direct 2>/dev/null

run() { randread "/dev/$a" "$SECS"; }
median() { tr ' ' '\n' | sort -n | awk 'NF {v[++n] = $1} END {print v[int((n + 1) / 2)]}'; }
run >/dev/null # warm up
none='' other='' this=''
# Interleave the three cases so drift in the emulator hits them alike.
i=0
while [ $i -lt "$ROUNDS" ]; do
	none="$none $(run)"
	echo "$b" >"$S/attach"
	other="$other $(run)"
	echo 1 >"$S/detach"
	echo "$a" >"$S/attach"
	this="$this $(run)"
	echo 1 >"$S/detach"
	i=$((i + 1))
done
ktap_print_msg "bench: rounds (IOPS): none:$none; other disk:$other; this disk:$this"
none=$(echo "$none" | median) other=$(echo "$other" | median) this=$(echo "$this" | median)

ktap_print_msg "bench: random 4 KiB O_DIRECT reads on /dev/$a (null_blk, memory backed)," \
	"median of $ROUNDS runs of $SECS s"
ktap_print_msg "bench: no filter anywhere:      $none IOPS"
ktap_print_msg "bench: filter on another disk: $other IOPS" \
	"($(awk "BEGIN{printf \"%.3f\", $other/$none}") x)"
ktap_print_msg "bench: filter on this disk:    $this IOPS" \
	"($(awk "BEGIN{printf \"%.3f\", $this/$none}") x)"
echo 0 >"$cfg/bench_a/power"
echo 0 >"$cfg/bench_b/power"
rmdir "$cfg/bench_a" "$cfg/bench_b"
ktap_test_pass "benchmark ran"
ktap_finished
