#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bootcache at boot, without userspace (make boot-test, and a stage of make
# test): builds test kernels with a playlist built in (a valid one, then a
# malformed one), then boots the VM once per scenario with its bootcache=
# command line and runs tools/testing/selftests/bootcache/test_boot.sh there
# (see that file for what each scenario checks). KUnit is off in these boots;
# the main VM stage runs it. Counts go to $RESULTS_FILE when it is set.
# BOOT_SCENARIOS="NAME..." runs only the scenarios named.

set -euo pipefail

OUT=${OUT:-out}
MAKE=${MAKE:-make}
SELFTESTS=tools/testing/selftests/bootcache
W=$OUT/boot-test
mkdir -p "$W"
W=$(cd "$W" && pwd)

say() { printf '  BOOT     %s\n' "$*"; }

say "building the tool"
cargo build -q --release --manifest-path tools/bootcache/Cargo.toml
BC=tools/bootcache/target/release/bootcache

# The throttled test disk of vmtest.sh (PARTUUID b0075ca1-01): its first
# 4 MiB, as a DVD's boot files would be.
$BC make-playlist -o "$W/auto.playlist" -e b0075ca1-01:0:4M
$BC embed "$W/auto.playlist" -o "$W/auto.embed"
# The VM's first CD medium, named by its identity (an ISO 9660 volume, the
# whole disc): its first 4 MiB. The tool reads the identity from a stub
# image that carries the same primary volume descriptor as vmtest.sh's
# cd0.img (vm/cd-media.sh, vm/pvd.py).
# shellcheck source=tools/testing/selftests/bootcache/vm/cd-media.sh
. $SELFTESTS/vm/cd-media.sh
rm -f "$W/cd0.id"
python3 $SELFTESTS/vm/pvd.py "$W/cd0.id" "${CD0_PVD%%:*}" "${CD0_PVD#*:}"
CD0_ID=$($BC medium-id "$W/cd0.id")
$BC make-playlist -o "$W/cd.playlist" -e "$CD0_ID:0:4M"
$BC embed "$W/cd.playlist" -o "$W/cd.embed"
# LIVE_ISO=FILE LIVE_PLAYLIST=FILE (make demo PROFILE=dvd's replay medium
# and playlist, $OUT/demo/live/replay.iso and $OUT/demo/dvd/playlist): the
# cdlive scenario boots a kernel with that playlist built in and the live
# ISO in the CD drive. Skipped without them. The guest gets each extent of
# the playlist with the MD5 of the ISO's bytes there.
LIVE_ISO=${LIVE_ISO:-}
LIVE_PLAYLIST=${LIVE_PLAYLIST:-}
if [ -n "$LIVE_ISO" ] && [ -n "$LIVE_PLAYLIST" ]; then
	LIVE_ID=$($BC medium-id "$LIVE_ISO")
	LIVE_EXTENTS=$(python3 - "$LIVE_PLAYLIST" "$LIVE_ISO" <<'EOF'
import hashlib, struct, sys
pl = open(sys.argv[1], "rb").read()
nvol, next_ = struct.unpack_from("<II", pl, 16)
with open(sys.argv[2], "rb") as iso:
    for i in range(next_):
        off, length, vol = struct.unpack_from("<QQH", pl, 40 + 40 * nvol + 24 * i)
        iso.seek(off)
        print("%d:%d:%s" % (off, length, hashlib.md5(iso.read(length)).hexdigest()), end=" ")
EOF
)
	$BC embed "$LIVE_PLAYLIST" -o "$W/live.embed"
fi
# A playlist whose checksum does not match.
mkdir -p "$W/malformed"
$BC gen-malformed "$W/malformed" >/dev/null
bad=$(ls "$W"/malformed/*checksum*.playlist | head -n 1)

# One build tree for both kernels: the same path, new contents, so that the
# second build only relinks.
build() {
	cp "$1" "$W/embedded.playlist"
	say "kernel with $(basename "$1") built in"
	$MAKE --no-print-directory kernel OUT="$OUT" FLAVOR=test PLAYLIST="$W/embedded.playlist" \
		>"$W/build-$2.log" 2>&1 || { tail -n 30 "$W/build-$2.log"; exit 1; }
	cp "$OUT/build/test-playlist/arch/x86/boot/bzImage" "$W/bzImage.$2"
}
build "$W/auto.embed" auto
build "$bad" bad
build "$W/cd.embed" cd
[ -z "$LIVE_ISO" ] || build "$W/live.embed" live
PLAIN=$OUT/build/test/arch/x86/boot/bzImage
[ -f "$PLAIN" ] || $MAKE --no-print-directory kernel OUT="$OUT" FLAVOR=test >/dev/null

total_p=0 total_f=0 total_s=0 rc=0
# scenario NAME KERNEL "CMDLINE" [vmtest options]
scenario() {
	local name=$1 kernel=$2 cmdline=$3 counts
	shift 3
	# BOOT_SCENARIOS="NAME...": run only those (while working on them).
	if [ -n "${BOOT_SCENARIOS:-}" ] && [[ " $BOOT_SCENARIOS " != *" $name "* ]]; then
		return 0
	fi
	counts=$W/$name.counts
	say "scenario $name: bootcache command line '$cmdline'"
	if ! RESULTS_FILE=$counts BOOTCACHE_TOOL_TARGET=$OUT/vm/tool-target \
		$SELFTESTS/vmtest.sh -k "$kernel" -K "$OUT/linux" -o "$W/vm-$name" -U \
		-a "$cmdline" -e BOOTCACHE_SCENARIO=$name -e BOOTCACHE_TESTS=test_boot.sh "$@"; then
		rc=1
	fi
	if [ -s "$counts" ]; then
		read -r p f s <"$counts"
	else
		p=0 f=1 s=0
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
}
scenario auto "$W/bzImage.auto" "bootcache=auto,wait=45000" -O
scenario autorecord "$W/bzImage.auto" "bootcache=auto,record" -O
scenario record "$PLAIN" "bootcache=record" -r
scenario off "$PLAIN" "bootcache=off"
scenario badplaylist "$W/bzImage.bad" ""
scenario badparam "$PLAIN" "bootcache=bogus,wait=abc,zzz"
scenario cdchange "$PLAIN" "root=/dev/sr0 block.events_dfl_poll_msecs=250"
scenario cdmedium "$W/bzImage.cd" "bootcache=auto block.events_dfl_poll_msecs=250" \
	-e BOOTCACHE_TEST_CD_ID="$CD0_ID"
scenario cdother "$W/bzImage.cd" "bootcache=auto block.events_dfl_poll_msecs=250" \
	-e BOOTCACHE_TEST_CD_ID="$CD0_ID" -c cd1.img
if [ -n "$LIVE_ISO" ]; then
	scenario cdlive "$W/bzImage.live" "bootcache=auto block.events_dfl_poll_msecs=250" \
		-C "$LIVE_ISO" -e BOOTCACHE_TEST_CD_ID="$LIVE_ID" -e BOOTCACHE_TEST_CD_EXTENTS="'$LIVE_EXTENTS'"
elif [ -z "${BOOT_SCENARIOS:-}" ] || [[ " $BOOT_SCENARIOS " == *" cdlive "* ]]; then
	say "scenario cdlive: skipped (LIVE_ISO and LIVE_PLAYLIST not given)"
	total_s=$((total_s + 1))
fi
scenario zoned "$PLAIN" "bootcache=record null_blk.nr_devices=1 null_blk.zoned=1 root=/dev/nullb0"
scenario dmroot "$PLAIN" "bootcache=record dm-mod.waitfor=/dev/vdc dm-mod.create=\"lin,,,ro,0 131072 linear /dev/vdc 0\" root=/dev/dm-0"

[ -z "${RESULTS_FILE:-}" ] || echo "$total_p $total_f $total_s" >"$RESULTS_FILE"
echo "boot scenarios: $total_p passed, $total_f failed, $total_s skipped"
exit $rc
