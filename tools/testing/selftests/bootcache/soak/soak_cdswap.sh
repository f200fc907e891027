#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: the medium of a cached CD/DVD drive is ejected and another one put
# in while a session runs (QEMU's ide-cd, through bc_host; the VM is booted
# with root=/dev/sr0, so the playlist's volume "root" is the drive). With the
# tray empty a read must fail; once the new medium is in, every read must
# return the new medium's bytes, never the old one's from the cache.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require cdswap
cd=${BOOTCACHE_TEST_CD:-}
if [ -z "$cd" ] || [ ! -b "$cd" ] || ! grep -q "root=$cd" /proc/cmdline ||
	! bc_host info block >/dev/null; then
	ktap_skip_all "no CD drive as root= or no host channel (vmtest.sh -a root=/dev/sr0)"
	exit "$KSFT_SKIP"
fi
drive=$BOOTCACHE_TEST_CD_DRIVE
set -- $BOOTCACHE_TEST_CD_MEDIA
media0=$1 media1=$2
bootcache make-playlist -o $W/p -e "root:0:8M" -e "root:8M:8M:1" -e "root:16M:8M:2:low" >/dev/null
cur=0 served_empty=0 swaps=0

# medium_ready: a read of the drive works (the change was noticed).
medium_ready() { dd if="$cd" of=/dev/null bs=2048 count=1 iflag=direct 2>/dev/null; }

while soak_time_left; do
	iters=$((iters + 1))
	bc_wait_for medium_ready || { soak_fail "no medium readable in $cd"; break; }
	soak_start $W/p || { soak_fail "start on the CD failed"; break; }
	eval "crc=\$VMDATA/\${media$cur%.img}.crc"
	bcverify -d "$cd" -c "$crc" -a 2048 -b 2048 -B 131072 -o 0 -l 25165824 -m mixed -j 2 \
		-t $((1 + $(soak_rand 2))) -r $iters >$W/v.$iters 2>&1
	soak_add_verify $W/v.$iters
	# Tray open, no medium: reads must fail, none may come from the cache.
	if [ $(soak_rand 2) -eq 0 ]; then
		bc_host eject "$drive" >/dev/null || soak_fail "eject failed"
		n=0 ok=0
		while [ $n -lt 20 ]; do
			dd if="$cd" of=/dev/null bs=4096 count=1 skip=$(soak_rand 6000) \
				iflag=direct 2>/dev/null && ok=$((ok + 1))
			n=$((n + 1))
		done
		# The first reads may still see the old medium until the drive
		# reports the change; more than a few is the cache.
		[ $ok -gt 2 ] && served_empty=$((served_empty + ok))
	fi
	new=$((1 - cur))
	eval "img=\$media$new"
	bc_host change "$drive" "$img" >/dev/null || { soak_fail "change to $img failed"; break; }
	cur=$new swaps=$((swaps + 1))
	bc_wait_for medium_ready || { soak_fail "the new medium is not readable"; break; }
	eval "crc=\$VMDATA/\${media$cur%.img}.crc"
	bcverify -d "$cd" -c "$crc" -a 2048 -b 2048 -B 131072 -o 0 -l 25165824 -m mixed -j 2 \
		-t $((1 + $(soak_rand 2))) -r $((iters + 1000)) >$W/w.$iters 2>&1
	soak_add_verify $W/w.$iters
	soak_idle
	echo 3 >/proc/sys/vm/drop_caches
done
[ $served_empty -eq 0 ] || soak_fail "$served_empty reads succeeded with the tray empty"
extra=media-changes-$swaps,served-with-tray-empty-$served_empty
SOAK_EXERCISED='[ $st_hits -gt 0 ]'
soak_finish
