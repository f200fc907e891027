#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Stress: for BOOTCACHE_STRESS_SECONDS (default 60), four workers read and
# write 4 KiB blocks of a playlist-covered area while the cache is started,
# read ahead and jettisoned over and over. Every read is checked against
# what the block must hold: what the disk held when the test began (read
# with the cache idle; earlier tests may have written there), or what a
# worker last wrote there. Each worker owns its blocks, so the expected content is
# always known; the cache, read-ahead and parking run across all of them.

. "$(dirname "$(readlink -f "$0")")/common.sh"

bc_begin
bc_disk_or_skip stress 16 6 bc7e5730
part=$BC_PART
uuid=$BC_UUID
SECS=${BOOTCACHE_STRESS_SECONDS:-60}
# Partition blocks 0..2559 (10 MiB).
NBLK=2560
bc_plan 3
ktap_print_msg "$SECS s"

bcfile make-playlist -o "$BC_TMP/ps" -e "$uuid:0:4M" -e "$uuid:4M:4M:1" -e "$uuid:8M:2M:2:low"
W=$BC_TMP/stress
mkdir -p "$W"
bc_state_is idle || echo jettison >"$S/control"
dd if="$part" of="$W"/area bs=1048576 count=$((NBLK / 256)) iflag=direct 2>/dev/null

# worker N: blocks N, N+4, N+8, ... in a pseudo-random order.
worker() {
	n=$1 x=$((n * 7919 + 13)) reads=0 writes=0 bad=0
	mkdir -p "$W/$n"
	while [ ! -e "$W"/stop ]; do
		x=$(((x * 1103515245 + 12345) % 2147483648))
		b=$((((x / 65536) % (NBLK / 4)) * 4 + n))
		got=$(dd if="$part" bs=4096 skip=$b count=1 iflag=direct 2>/dev/null | bc_md5)
		if [ -f "$W/$n/$b" ]; then
			want=$(cat "$W/$n/$b")
		else
			want=$(dd if="$W"/area bs=4096 skip=$b count=1 2>/dev/null | bc_md5)
		fi
		reads=$((reads + 1))
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			echo "worker $n block $b: read $got, want $want" >>"$W"/mismatch
		fi
		# Every other round, overwrite the block with fresh bytes.
		if [ $(((x / 16) % 2)) -eq 0 ]; then
			head -c 4096 /dev/urandom >"$W/$n/data"
			dd if="$W/$n/data" of="$part" bs=4096 seek="$b" count=1 oflag=direct \
				2>/dev/null
			md5sum <"$W/$n/data" | cut -d' ' -f1 >"$W/$n/$b"
			writes=$((writes + 1))
		fi
	done
	echo "$reads $writes $bad" >"$W/result.$n"
}

for n in 0 1 2 3; do
	worker $n &
done
# The cache comes and goes under the workers.
end=$(($(date +%s) + SECS))
starts=0 hits=0 parked=0
while [ "$(date +%s)" -lt "$end" ]; do
	if bc_load_and_start "$BC_TMP/ps"; then
		starts=$((starts + 1))
	fi
	sleep 2
	hits=$((hits + $(bc_stat hits))) parked=$((parked + $(bc_stat parked)))
	echo jettison >"$S/control" 2>/dev/null
done
touch "$W"/stop
wait
reads=0 writes=0 bad=0
for n in 0 1 2 3; do
	read -r r w b <"$W"/result.$n
	reads=$((reads + r)) writes=$((writes + w)) bad=$((bad + b))
done
[ -f "$W"/mismatch ] && head -5 "$W"/mismatch | while read -r l; do ktap_print_msg "$l"; done
ktap_print_msg "$reads reads, $writes writes, $starts cache starts," \
	"$hits reads served from the cache, $parked parked"

[ $bad -eq 0 ] && [ $reads -gt 0 ]
bc_check "no read returned stale or wrong bytes ($bad mismatches in $reads reads)"
[ $starts -ge 3 ] && [ $writes -gt 0 ] && [ $hits -gt 0 ]
bc_check "the cache served $hits reads over $starts starts under $writes writes"
bc_state_is idle
bc_check "the cache is idle at the end"

bc_end
