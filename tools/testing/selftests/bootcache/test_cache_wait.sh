#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reads that outrun read-ahead, on a disk QEMU throttles: they wait and get
# the right bytes, or, past the wait limit, go to the disk and get the right
# bytes; a write while read-ahead is under way is never hidden.

. "$(dirname "$(readlink -f "$0")")/common.sh"

ktap_print_header
bc_require
disk=${BOOTCACHE_TEST_SLOW:-}
sums=${BOOTCACHE_TEST_SLOW_SUMS:-}
uuid=${BOOTCACHE_TEST_SLOW_PARTUUID:-}
if [ -z "$disk" ] || [ ! -b "${disk}1" ] || [ ! -f "$sums" ] ||
	! command -v bootcache >/dev/null; then
	ktap_skip_all "no throttled test disk or no bootcache tool: run through vmtest.sh"
	exit "$KSFT_SKIP"
fi
part=${disk}1
S=$BC_SYSFS
ktap_set_plan 6
bc_kmsg "test_cache_wait start"
want_md5() { sed -n "s/^$(($1 + 1)) //p" "$sums"; }
mib_md5() { dd if="$part" bs=1048576 skip="$1" count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }

# 6 MiB at ${BOOTCACHE_TEST_SLOW_BPS} bytes/s: the last MiB arrives after
# seconds; a read of it right after start must wait for it.
bootcache make-playlist -o /tmp/pw -e "$uuid:0:6M"
bc_load_and_start /tmp/pw
x=$(mib_md5 5)
[ "$x" = "$(want_md5 5)" ] && [ "$(bc_stat parked)" -ge 1 ] && [ "$(bc_stat parked_hits)" -ge 1 ]
bc_check "a read ahead of read-ahead waits and gets the right bytes (parked $(bc_stat parked), served $(bc_stat parked_hits))"
[ "$(bc_stat parked_wait_ns)" -gt 0 ] && [ "$(bc_stat parked_timeouts)" -eq 0 ]
bc_check "the wait is counted ($(($(bc_stat parked_wait_ns) / 1000000)) ms) and did not time out"
echo stop >"$S/control"
cat "$S/history" >/tmp/hw 2>/dev/null && bootcache validate --format history /tmp/hw >/dev/null &&
	bootcache print /tmp/hw | awk '$1 ~ /^[0-9]+$/ && NF == 7 {print $4}' | grep -qx Hw
bc_check "the history is valid and shows the read as a hit that waited"
echo jettison >"$S/control"

# With a 100 ms wait limit the same read gives up and goes to the disk.
echo 100 >"$S/wait_limit_ms"
bootcache make-playlist -o /tmp/pt -e "$uuid:8M:6M"
bc_load_and_start /tmp/pt
x=$(mib_md5 13)
[ "$x" = "$(want_md5 13)" ] && [ "$(bc_stat parked_timeouts)" -ge 1 ]
bc_check "past the wait limit a read goes to the disk and gets the right bytes (timeouts $(bc_stat parked_timeouts))"

# A write into blocks still being read ahead, then a read of them.
dd if=/dev/urandom of=/tmp/w bs=4096 count=2 2>/dev/null
dd if=/tmp/w of="$part" bs=4096 seek=$(((12 * 1048576 + 8192) / 4096)) count=2 oflag=direct 2>/dev/null
x=$(dd if="$part" bs=8192 skip=$(((12 * 1048576 + 8192) / 8192)) count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$x" = "$(md5sum </tmp/w | cut -d' ' -f1)" ]
bc_check "a write during read-ahead is never hidden by the cache"
x=$(mib_md5 11)
[ "$x" = "$(want_md5 11)" ]
bc_check "blocks around the write still read right"
echo jettison >"$S/control"
echo 10000 >"$S/wait_limit_ms"

bc_kmsg "test_cache_wait end"
ktap_finished
