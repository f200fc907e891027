#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The cache's life: the history records exactly what happened, in order;
# the cache leaves by itself after a run of misses (once recording stopped)
# and when memory is short, and gives its memory back.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip life 40 5 bc7e5720
part=$BC_PART
uuid=$BC_UUID
bc_plan 6
rd() { dd if="$part" of=/dev/null bs="$2" skip=$(($1 / $2)) count=1 iflag=direct 2>/dev/null; }

# A known sequence, outside the playlist: read, write, tag, read.
bcfile make-playlist -o "$T"/pl -e "$uuid:32M:1M"
bc_load_and_start "$T"/pl
rd 0 4096
dd if=/dev/zero of="$part" bs=4096 seek=2 count=1 oflag=direct 2>/dev/null
echo tag >"$S/control"
rd 16384 8192
echo stop >"$S/control"
cat "$S/history" >"$T/h"
got=$(bcfile print-history "$T/h" |
	awk '$1 ~ /^[0-9]+$/ && NF == 7 {printf "%s %s %s %s;", $4, $5, $6, $7}')
want="R 0 0 4096;W 0 8192 4096;T - 0 0;R 0 16384 8192;"
[ "$got" = "$want" ]
bc_check "the history holds exactly read, write, tag, read in order"
[ "$got" = "$want" ] || ktap_print_msg "history: $got"
echo jettison >"$S/control"

# A run of misses ends the cache, but only once recording has stopped.
echo 20 >"$S/miss_limit"
bc_load_and_start "$T"/pl
i=0
while [ $i -lt 30 ]; do rd $((i * 4096)) 4096; i=$((i + 1)); done
sleep 0.3
bc_state_is active
bc_check "misses while recording do not end the cache"
echo stop >"$S/control"
i=0
while [ $i -lt 25 ]; do rd $((i * 4096)) 4096; i=$((i + 1)); done
bc_wait_for bc_state_is idle && [ "$(cat $S/reason)" = misses ] &&
	[ "$(bc_stat jettison_misses)" -eq 1 ]
bc_check "20 misses after stop jettison the cache (reason $(cat $S/reason))"
echo 10000 >"$S/miss_limit"

# Memory pressure: reclaim calls the shrinker, which frees the cache.
# MemFree is folded from per-CPU counters about once a second: let it settle.
memfree() { sleep 2; sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
bcfile make-playlist -o "$T"/pm -e "$uuid:16M:16M"
echo 3 >/proc/sys/vm/drop_caches
before=$(memfree)
bc_load_and_start "$T"/pm
bc_wait_for sh -c "[ \$(cat $S/stats/readahead_bytes) -ge 16777216 ]"
held=$(bc_stat cache_bytes)
during=$(memfree)
[ "$held" -ge 16777216 ]
bc_check "the cache holds what it read ahead ($held bytes)"
echo 2 >/proc/sys/vm/drop_caches
bc_wait_for bc_state_is idle && [ "$(cat $S/reason)" = memory ] &&
	[ "$(bc_stat jettison_memory)" -eq 1 ] && [ "$(bc_stat cache_bytes)" -eq 0 ]
bc_check "memory pressure frees the cache and jettisons it"
after=$(memfree)
ktap_print_msg "MemFree: ${before} kB before start, ${during} kB with the cache," \
	"${after} kB after jettison"
[ "$(bc_stat cache_peak_bytes)" -ge 16777216 ] && [ "$(bc_stat cache_bytes)" -eq 0 ]
bc_check "every cache page is freed" \
	"(peak $(bc_stat cache_peak_bytes) bytes, now $(bc_stat cache_bytes))"

bc_end
