#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/demo.sh: `make demo [PROFILE=all|hdd|optical|unthrottled] [RUNS=3]`.
#
# Boots a real Debian 12 (systemd, mk/demo-image.sh) with the FLAVOR=boot
# kernel in QEMU (TCG) from a disk throttled like a slow device, with and
# without bootcache, and prints how long each boot took to reach
# multi-user.target, as a table per profile and as JSON in
# $OUT/demo/report.json.
#
# Device profiles (QEMU -drive throttling options on a virtio-blk disk):
#
#   hdd          a 7200 rpm hard disk: about 150 random IOPS and 100 MiB/s
#                (throttling.iops-total=150, throttling.bps-total=100 MiB/s).
#                The root is read-write, as an installed system's.
#   optical      an optical drive (DVD-like): about 20 IOPS and 8 MiB/s
#                (throttling.iops-total=20, throttling.bps-total=8 MiB/s), the
#                drive read-only (readonly=on), the kernel command line "ro"
#                and an image whose fstab mounts the root read-only with no
#                fsck (the image is derived from the hdd one by rewriting
#                /etc/fstab), as a live medium boots.
#   unthrottled  no limits: the same disk as fast as QEMU goes (the host's
#                page cache). It is the bound: a boot with no I/O penalty.
#                Each profile gets its own unthrottled runs on its own medium
#                (the optical bound is the read-only medium, unthrottled),
#                since a read-only boot does different work from a
#                read-write one. PROFILE=unthrottled runs only the read-write
#                medium's bound (a quick check that the image boots).
#
# Bursts: no throttling.*-max option is set, so QEMU allows its minimum burst
# (a bucket of one tenth of a second's worth: 15 requests for hdd, 2 for
# optical) and the rates are otherwise sustained, as a real disk's are. A
# larger burst (throttling.iops-total-max with -max-length) would let the
# first second of boot run at memory speed, which no disk does.
# throttling.iops-size is not set either: a request costs one I/O whatever its
# size (up to the bandwidth limit), so, as on a real disk, one large read
# costs far less than many small ones. That is the cost model bootcache is
# for.
#
# IO_SCALE=N divides both rates of hdd and optical by N (default 1: the real
# devices' rates). Under TCG the guest's CPU is several times slower than a
# real machine's while the throttled disk runs at a real disk's speed, so the
# boot's CPU work hides much of its I/O wait and the I/O penalty looks
# smaller than on real hardware; IO_SCALE scales the disk down by about the
# same factor to restore the proportion (the table says which rates ran).
#
# Why virtio-blk: it is what the rest of the project tests on (vmtest.sh), it
# is the cheapest disk to emulate under TCG (an emulated AHCI or IDE
# controller costs CPU per request, and TCG is CPU-bound already), and the
# throttling, which is what models the device, is the same for any QEMU
# drive. Its one difference from a real hard disk: the kernel sees it as
# non-rotational (virtio-blk has no rotation rate), so bootcache keeps up to
# four read-aheads in flight instead of two.
#
# Phases, per profile (hdd, optical):
#
#   bound     RUNS boots of its medium unthrottled, bootcache=off
#   baseline  RUNS boots throttled, bootcache=off, each from a fresh copy of
#             the settled image
#   record    one boot with bootcache=record; the history comes out of the
#             image (/var/lib/bootcache/history, saved by the tool's units)
#             or, when the root is read-only or nothing was saved, from the
#             guest's serial result channel (the marker unit copies
#             /sys/kernel/bootcache/history there); the playlist is the one
#             the units saved or else `bootcache convert HISTORY`
#   replay    RUNS boots with the playlist, each from a fresh copy of the
#             same snapshot (see below for each profile).
#
# hdd: the tool's boot cycle, as a user runs it (tools/bootcache/README.md,
# "The boot cycle" and "The initramfs"). Every hdd boot (bound, baseline,
# record, replay) boots with an initramfs, -initrd = the image's own
# /boot/initrd.img-RELEASE as it is on the disk at that point (taken out with
# debugfs), so that baseline and replay differ only by bootcache:
#   - bound, baseline: bootcache=off (the init-top script and the units do
#     nothing), the settled image's initramfs (it holds the tool only);
#   - record: bootcache=record (the kernel records the root partition from
#     the first bio); 2 s after multi-user.target (BOOTCACHE_SAVE_DELAY=2s
#     in the demo image) bootcache-stop.service saves
#     /var/lib/bootcache/{history,playlist} and runs
#     /usr/lib/bootcache/update-initramfs, whose `update-initramfs -u` runs
#     the tool's hook: the playlist goes into the initramfs as
#     /bootcache/playlist and is renamed playlist.initramfs on the disk. The
#     marker unit waits for bootcache-stop.service before powering off (the
#     multi-user time is still taken at multi-user.target). The demo checks
#     (CYCLE lines, <phase>/cycle.txt) that the rebuilt initramfs holds the
#     saved playlist;
#   - replay: from copies of the disk the record boot left, with the
#     initramfs it rebuilt, and bootcache=record (REPLAY_ARGS: a user keeps
#     it on the command line). The kernel starts recording from the first
#     bio; the initramfs's init-top script runs `bootcache boot-start --dir
#     /bootcache`, which appends its playlist to that session: read-ahead
#     starts before the root file system is mounted. bootcache-start.service
#     then finds no on-disk playlist (the hook consumed it) and adds nothing.
#     The first replay's disk is checked like the record's: the cycle goes
#     on (a new playlist saved and put into the initramfs) with no manual
#     step.
#   EMBED_HDD=1 instead replays with the playlist built into a second kernel
#   (as optical does), bootcache=auto, the settled initramfs (no playlist in
#   it) and the disk the record boot left.
# optical: the record boot has no initramfs (as before: live media boot the
# kernel's own way here) and its read-only root cannot save, so the history
# comes over the result channel; the playlist is embedded in a second kernel
# (make kernel FLAVOR=boot PLAYLIST=... in $OUT/build/boot-playlist) booted
# with bootcache=auto (the medium itself does not change).
#
# Before any of it, the pristine image is booted once (unthrottled, with its
# initramfs) to
# "settle" it: its first boot does one-time work (udev's hwdb, ldconfig,
# journal files, random seed) that would otherwise land in every baseline
# boot and in no replay boot.
#
# The time of a boot is when multi-user.target became active, on the guest's
# CLOCK_MONOTONIC (from kernel start; systemctl show
# ActiveEnterTimestampMonotonic). It is reported by the guest's
# bootcache-demo-done.service, which then powers the machine off.
#
# Environment: OUT (out), PROFILE (all), RUNS (3), TIMEOUT (600 s per boot),
# MEM (1024 MiB), SMP (2), DEMO_CMDLINE (extra kernel arguments),
# REPLAY_ARGS (the hdd replay's kernel arguments; default bootcache=record),
# EMBED_HDD=1 (replay hdd with the playlist embedded in the kernel instead of
# the initramfs cycle), IO_SCALE (1).
# Needs root (debootstrap, chroot).

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
OUT=${OUT:-out}
PROFILE=${PROFILE:-all}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-600}
MEM=${MEM:-1024}
SMP=${SMP:-2}
DEMO_CMDLINE=${DEMO_CMDLINE:-}
REPLAY_ARGS=${REPLAY_ARGS-bootcache=record}
EMBED_HDD=${EMBED_HDD:-0}
IO_SCALE=${IO_SCALE:-1}
MAKE=${MAKE:-make}
DEMO=$OUT/demo
KERNEL=$OUT/build/boot/arch/x86/boot/bzImage
PLKBUILD=$OUT/build/boot-playlist
TOOL_BIN=$DEMO/tool-target/x86_64-unknown-linux-gnu/release/bootcache
REPORT=mk/demo-report.py

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/demo: error: %s\n' "$*" >&2; exit 1; }
hdr() { printf '\n==> %s\n' "$*"; }

case $PROFILE in
all) PROFILES="hdd optical" ;;
hdd | optical) PROFILES=$PROFILE ;;
unthrottled) PROFILES=unthrottled ;;
*) die "PROFILE must be all, hdd, optical or unthrottled, not '$PROFILE'" ;;
esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
[[ $IO_SCALE =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$IO_SCALE" 'BEGIN { exit !(s >= 1) }' ||
	die "IO_SCALE must be a number of at least 1, not '$IO_SCALE'"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot): run 'sudo make demo'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (run 'make setup')"

demo_start=$(date +%s)
failures=0
# The QEMU of the boot in progress, stopped if the demo is interrupted.
QEMU_PID=
trap '[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null' EXIT
trap 'echo; die "interrupted"' INT TERM

# rates IOPS BYTES_PER_S: the throttling options, divided by IO_SCALE.
rates() {
	awk -v i="$1" -v b="$2" -v s="$IO_SCALE" 'BEGIN {
		printf "throttling.iops-total=%d,throttling.bps-total=%d", i / s + 0.5, b / s + 0.5 }'
}

# drive_opts PROFILE: QEMU -drive options that make the disk that device.
drive_opts() {
	case $1 in
	hdd) rates 150 104857600 ;;
	optical) echo "$(rates 20 8388608),readonly=on" ;;
	optical-bound) echo "readonly=on" ;;
	*) echo "" ;;
	esac
}

# boot DIR IMAGE KERNEL DRIVE_OPTS LABEL KERNEL_ARGS [INITRD]: one boot, logs
# in DIR (console.log: the console; result.log: the marker's lines; run.json:
# what they say; initrd: which initramfs, if any). Prints the time to
# multi-user; fails with a message when the boot does not finish in time or
# reports nothing.
boot() {
	local dir=$1 img=$2 kernel=$3 dopts=$4 label=$5 args=$6 initrd=${7:-} pid start now rc t
	rm -rf "$dir"
	mkdir -p "$dir"
	[ -z "$initrd" ] || sha256sum "$initrd" >"$dir/initrd"
	# kunit.enable=0: the boot kernel inherits test.config's KUnit doctests;
	# they cost boot time, and the shrinker's doctest runs every shrinker
	# (drop_slab()), which jettisons a cache started from the command line.
	local cmdline="console=ttyS0 root=PARTUUID=$DEMO_PARTUUID rootwait ro panic=-1 kunit.enable=0 $args $DEMO_CMDLINE"
	echo "$cmdline" >"$dir/cmdline"
	start=$(date +%s.%N)
	qemu-system-x86_64 -nodefaults -no-reboot -display none -monitor none \
		-machine pc -accel tcg -cpu max -smp "$SMP" -m "$MEM" \
		-kernel "$kernel" ${initrd:+-initrd "$initrd"} -append "$cmdline" \
		-serial "file:$dir/console.log" -serial "file:$dir/result.log" \
		-drive "file=$img,if=virtio,format=raw${dopts:+,$dopts}" \
		</dev/null >"$dir/qemu.log" 2>&1 &
	pid=$!
	QEMU_PID=$pid
	rc=
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
			break
		fi
		now=$(date +%s)
		t=$((now - ${start%.*}))
		if [ -t 1 ]; then
			printf '\r  %-8s %-34s %4d s  (total %d:%02d)' BOOT "$label" "$t" \
				$(((now - demo_start) / 60)) $(((now - demo_start) % 60))
		fi
		if [ "$t" -ge "$TIMEOUT" ]; then
			kill "$pid" 2>/dev/null
			sleep 1
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			rc=timeout
			break
		fi
		sleep 1
	done
	QEMU_PID=
	local wall
	wall=$(echo "$(date +%s.%N) - $start" | bc)
	[ -t 1 ] && printf '\r\033[K'
	if [ "$rc" = timeout ]; then
		# Reported everything but did not power off: the figures stand.
		if python3 "$REPORT" parse "$dir" "$wall" 124 >"$dir/summary" 2>/dev/null &&
			grep -q '^BOOTCACHE-DEMO: done' <(tr -d '\r' <"$dir/result.log"); then
			printf '  %-8s %-34s %s (did not power off within %d s: killed)\n' BOOT "$label" \
				"$(cat "$dir/summary")" "$TIMEOUT"
			return 0
		fi
		printf '  %-8s %s: FAILED: not done within %d s (TIMEOUT); last console lines (%s):\n' \
			BOOT "$label" "$TIMEOUT" "$dir/console.log"
		tail -n 15 "$dir/console.log" | sed 's/\r$//; s/^/    | /'
		return 1
	fi
	if ! python3 "$REPORT" parse "$dir" "$wall" "$rc" >"$dir/summary" 2>"$dir/parse.err"; then
		printf '  %-8s %s: FAILED: %s; last console lines (%s):\n' BOOT "$label" \
			"$(cat "$dir/parse.err")" "$dir/console.log"
		tail -n 15 "$dir/console.log" | sed 's/\r$//; s/^/    | /'
		[ "$rc" = 0 ] || printf '    QEMU exited with status %s: %s\n' "$rc" "$(head -c 300 "$dir/qemu.log")"
		return 1
	fi
	printf '  %-8s %-34s %s\n' BOOT "$label" "$(cat "$dir/summary")"
}

# copy SRC DST: a fresh copy of a disk image (sparse; reflinked if it can).
copy() {
	cp --reflink=auto --sparse=always "$1" "$2"
}

# fetch IMAGE PATH DEST: copy a file out of the image's root filesystem.
fetch() {
	rm -f "$3"
	debugfs -R "dump $2 $3" "$1?offset=$DEMO_PART_OFFSET" >/dev/null 2>&1 && [ -s "$3" ]
}

# initrd_of IMAGE DEST: the image's initramfs for the demo kernel, as it is
# on that disk now (/boot/initrd.img-RELEASE).
initrd_of() {
	fetch "$1" "$DEMO_INITRD" "$2" || die "no $DEMO_INITRD in $1"
}

# initrd_playlist INITRD DEST: the bootcache/playlist inside an initramfs
# (a gzip'd cpio archive: COMPRESS=gzip, no early microcode part).
initrd_playlist() {
	local tmp
	rm -f "$2"
	tmp=$(mktemp -d) || return 1
	(cd "$tmp" && gzip -dc | cpio -id --quiet bootcache/playlist) <"$1" 2>/dev/null
	[ -s "$tmp/bootcache/playlist" ] && mv "$tmp/bootcache/playlist" "$2"
	local rc=$?
	rm -rf "$tmp"
	return $rc
}

# cycle_evidence IMAGE RUNDIR LABEL: what the tool's boot cycle left on the
# disk after a boot: the files in /var/lib/bootcache, and whether the
# rebuilt initramfs holds the playlist the stop unit saved (the hook copies
# /var/lib/bootcache/playlist in, then renames it to playlist.initramfs).
# Writes RUNDIR/cycle.txt; fails if the next boot would have no playlist.
cycle_evidence() {
	local img=$1 dir=$2 label=$3 files
	files=$(debugfs -R "ls -l /var/lib/bootcache" "$img?offset=$DEMO_PART_OFFSET" 2>/dev/null |
		awk 'NF >= 9 && $NF != "." && $NF != ".." { printf "%s%s (%s B)", sep, $NF, $(NF-3); sep = ", " }')
	{
		echo "/var/lib/bootcache: ${files:-empty}"
	} >"$dir/cycle.txt"
	say CYCLE "$label: /var/lib/bootcache: ${files:-empty}"
	# That boot's own history (for `bootcache print` or `plot`).
	fetch "$img" /var/lib/bootcache/history "$dir/history" || true
	fetch "$img" "$DEMO_INITRD" "$dir/initrd.next" || { say CYCLE "$label: no $DEMO_INITRD"; return 1; }
	if ! initrd_playlist "$dir/initrd.next" "$dir/initrd.playlist"; then
		say CYCLE "$label: the initramfs on the disk has no bootcache/playlist"
		echo "initramfs: no bootcache/playlist" >>"$dir/cycle.txt"
		return 1
	fi
	local same="differs from /var/lib/bootcache/playlist.initramfs"
	fetch "$img" /var/lib/bootcache/playlist.initramfs "$dir/playlist.initramfs" &&
		cmp -s "$dir/initrd.playlist" "$dir/playlist.initramfs" &&
		same="= /var/lib/bootcache/playlist.initramfs"
	local line
	line="initramfs $DEMO_INITRD ($(($(stat -c %s "$dir/initrd.next") / 1024)) KiB) holds bootcache/playlist ($(stat -c %s "$dir/initrd.playlist") B, $same)"
	echo "$line" >>"$dir/cycle.txt"
	say CYCLE "$label: $line"
	rm -f "$dir/initrd.next"
}

# phase PROFILE PHASE N IMAGE KERNEL DRIVE_OPTS ARGS [INITRD]: N boots, each
# from a fresh copy of IMAGE.
phase() {
	local prof=$1 ph=$2 n=$3 img=$4 kernel=$5 dopts=$6 args=$7 initrd=${8:-} i rc=0
	for i in $(seq 1 "$n"); do
		copy "$img" "$DEMO/run.img" || die "copying $img failed"
		boot "$DEMO/$prof/$ph-$i" "$DEMO/run.img" "$kernel" "$dopts" \
			"[$prof] $ph $i/$n" "$args" "$initrd" || { rc=1; failures=$((failures + 1)); }
		# The first replay boot's disk: what the cycle left for a next boot.
		if [ "$ph" = replay ] && [ "$i" = 1 ] && [ "$prof" = hdd ] && [ -n "$initrd" ]; then
			cycle_evidence "$DEMO/run.img" "$DEMO/$prof/$ph-$i" "[$prof] $ph 1" || true
		fi
	done
	rm -f "$DEMO/run.img"
	return $rc
}

# embed_kernel PLAYLIST: build the boot kernel with PLAYLIST embedded, in its
# own build tree (seeded from the plain one so the build is incremental).
# Prints the bzImage's path.
embed_kernel() {
	local pl=$1
	if [ ! -f "$PLKBUILD/.config" ] && [ -d "$OUT/build/boot" ]; then
		mkdir -p "$PLKBUILD"
		cp -a "$OUT/build/boot/." "$PLKBUILD/"
	fi
	say KERNEL "boot kernel with the playlist $pl embedded ($PLKBUILD)" >&2
	if ! $MAKE --no-print-directory kernel FLAVOR=boot OUT="$OUT" \
		PLAYLIST="$(realpath "$pl")" >"$DEMO/kernel-playlist.log" 2>&1; then
		tail -n 20 "$DEMO/kernel-playlist.log" >&2
		return 1
	fi
	echo "$PLKBUILD/arch/x86/boot/bzImage"
}

# The tool's `plot` subcommand, when it exists: the SVG timeline.
plot() {
	local prof=$1 hist=$2 pl=$3
	if "$TOOL_BIN" plot --help >/dev/null 2>&1; then
		if "$TOOL_BIN" plot "$hist" --playlist "$pl" -o "$DEMO/$prof.svg" >"$DEMO/$prof/plot.log" 2>&1; then
			say PLOT "$DEMO/$prof.svg"
		else
			say PLOT "bootcache plot failed: $(head -c 300 "$DEMO/$prof/plot.log")"
		fi
	else
		say PLOT "skipped: the tool has no 'plot' subcommand yet"
	fi
}

# record_and_replay PROFILE MEDIUM DRIVE_OPTS [INITRD]: the record boot, the
# playlist, then the replay boots. With INITRD (hdd) every boot has an
# initramfs: the record boot the one given (the settled image's, which holds
# no playlist), the replay boots the one the record boot's
# bootcache-stop.service rebuilt, taken from the disk it left.
record_and_replay() {
	local prof=$1 medium=$2 dopts=$3 initrd=${4:-} rec=$DEMO/$prof/recorded.img
	local hist=$DEMO/$prof/history pl=$DEMO/$prof/playlist kernel=$KERNEL args
	local embed=0
	[ "$prof" = optical ] && embed=1
	[ "$prof" = hdd ] && [ "$EMBED_HDD" = 1 ] && embed=1

	# The record boot works on its own copy: for hdd the disk it leaves
	# behind (with the saved history and playlist, and the rebuilt
	# initramfs) is what every replay boot starts from.
	copy "$medium" "$rec" || die "copying $medium failed"
	if ! boot "$DEMO/$prof/record" "$rec" "$KERNEL" "$dopts" "[$prof] record" "bootcache=record" "$initrd"; then
		failures=$((failures + 1))
		say SKIP "[$prof] replay: the record boot failed"
		return 1
	fi
	rm -f "$hist" "$pl"
	if fetch "$rec" /var/lib/bootcache/history "$hist"; then
		say HISTORY "[$prof] /var/lib/bootcache/history from the disk ($(stat -c %s "$hist") bytes)"
	elif python3 "$REPORT" history "$DEMO/$prof/record" "$hist"; then
		say HISTORY "[$prof] from the guest's result channel ($(stat -c %s "$hist") bytes)"
	else
		say SKIP "[$prof] replay: the record boot left no history (bootcache=record and the tool's units are needed)"
		return 1
	fi
	"$TOOL_BIN" info "$hist" >"$DEMO/$prof/history.info" 2>&1 || true
	if fetch "$rec" /var/lib/bootcache/playlist "$pl"; then
		say PLAYLIST "[$prof] /var/lib/bootcache/playlist from the disk"
	elif fetch "$rec" /var/lib/bootcache/playlist.initramfs "$pl"; then
		say PLAYLIST "[$prof] /var/lib/bootcache/playlist.initramfs from the disk (the initramfs hook took the saved playlist)"
	elif "$TOOL_BIN" convert "$hist" -o "$pl" >"$DEMO/$prof/convert.log" 2>&1; then
		say PLAYLIST "[$prof] bootcache convert $hist -o $pl"
	else
		say SKIP "[$prof] replay: bootcache convert failed: $(head -c 300 "$DEMO/$prof/convert.log")"
		return 1
	fi
	"$TOOL_BIN" info "$pl" >"$DEMO/$prof/playlist.info" 2>&1 || true
	plot "$prof" "$hist" "$pl"

	if [ $embed = 1 ]; then
		kernel=$(embed_kernel "$pl") || {
			say SKIP "[$prof] replay: building the kernel with the playlist failed ($DEMO/kernel-playlist.log)"
			failures=$((failures + 1))
			return 1
		}
		args=bootcache=auto
		# The medium does not change: replay boots the same read-only disk.
		# (EMBED_HDD=1 keeps INITRD, the settled one, with no playlist in
		# it: the embedded playlist is the only one.)
		[ "$prof" = optical ] && rec=$medium
	else
		args=$REPLAY_ARGS
		if [ -n "$initrd" ]; then
			# The initramfs the record boot's stop unit rebuilt.
			cycle_evidence "$rec" "$DEMO/$prof/record" "[$prof] record" ||
				failures=$((failures + 1))
			initrd=$DEMO/$prof/initrd.replay
			initrd_of "$rec" "$initrd"
		fi
	fi
	phase "$prof" replay "$RUNS" "$rec" "$kernel" "$dopts" "$args" "$initrd"
}

# --- The kernel, then the image (its initramfs is made for this kernel). ---
hdr "kernel and image"
mkdir -p "$DEMO"
say KERNEL "make kernel FLAVOR=boot (log: $DEMO/kernel.log)"
if ! $MAKE --no-print-directory kernel FLAVOR=boot OUT="$OUT" >"$DEMO/kernel.log" 2>&1; then
	tail -n 30 "$DEMO/kernel.log" >&2
	die "building the boot kernel failed"
fi
grep -E '^  (BUILT|CONFIG|UPDATE) ' "$DEMO/kernel.log" || true
release=$(cat "$OUT/build/boot/include/config/kernel.release" 2>/dev/null) ||
	die "no $OUT/build/boot/include/config/kernel.release"
DEMO_KERNEL_RELEASE=$release DEMO_KERNEL_CONFIG=$OUT/build/boot/.config mk/demo-image.sh "$DEMO" ||
	die "making the Debian image failed"
# shellcheck source=/dev/null
. "$DEMO/image.env"
[ "${DEMO_KERNEL_RELEASE:-}" = "$release" ] ||
	die "the image's initramfs is for '${DEMO_KERNEL_RELEASE:-}', the kernel is '$release'"
[ -x "$TOOL_BIN" ] || die "no tool binary at $TOOL_BIN"

# --- Settle the image: its first boot, once. ---
settled=$DEMO/settled.img
if [ "$(cat "$settled.stamp" 2>/dev/null)" != "$DEMO_IMAGE_KEY" ]; then
	hdr "settling the image (its first boot)"
	rm -f "$settled" "$settled.stamp" "$DEMO/optical.img"
	copy "$DEMO_IMAGE" "$settled.tmp" || die "copying the image failed"
	initrd_of "$settled.tmp" "$DEMO/settle.initrd"
	boot "$DEMO/settle" "$settled.tmp" "$KERNEL" "" "[settle] first boot" "bootcache=off" \
		"$DEMO/settle.initrd" ||
		die "the first boot of the image failed (logs: $DEMO/settle)"
	mv "$settled.tmp" "$settled"
	echo "$DEMO_IMAGE_KEY" >"$settled.stamp"
fi
# The optical medium: the settled system with a read-only root in fstab.
optical=$DEMO/optical.img
if [ ! -f "$optical" ] || [ "$settled" -nt "$optical" ]; then
	copy "$settled" "$optical.tmp"
	printf '# <file system>\t<mount point>\t<type>\t<options>\t<dump>\t<pass>\nPARTUUID=%s\t/\text4\tro\t0\t0\n' \
		"$DEMO_PARTUUID" >"$DEMO/fstab.optical"
	debugfs -w -R "rm /etc/fstab" "$optical.tmp?offset=$DEMO_PART_OFFSET" >/dev/null 2>&1
	debugfs -w -R "write $DEMO/fstab.optical /etc/fstab" "$optical.tmp?offset=$DEMO_PART_OFFSET" \
		>/dev/null 2>&1 || die "writing the optical medium's fstab failed"
	fetch "$optical.tmp" /etc/fstab "$DEMO/fstab.check" && cmp -s "$DEMO/fstab.check" "$DEMO/fstab.optical" ||
		die "the optical medium's fstab did not take"
	mv "$optical.tmp" "$optical"
fi

for prof in $PROFILES; do
	rm -rf "${DEMO:?}/$prof"
	mkdir -p "$DEMO/$prof"
	case $prof in
	unthrottled)
		hdr "unthrottled: $RUNS boots (the bound)"
		phase unthrottled bound "$RUNS" "$settled" "$KERNEL" "" bootcache=off
		;;
	hdd)
		hdr "hdd: $(drive_opts hdd)"
		# Every hdd boot has the image's initramfs, as the installed
		# system boots: these three the settled image's (no playlist in
		# it yet), the replay boots the one the record boot rebuilt.
		initrd_of "$settled" "$DEMO/hdd/initrd.settled"
		phase hdd bound "$RUNS" "$settled" "$KERNEL" "" bootcache=off "$DEMO/hdd/initrd.settled"
		phase hdd baseline "$RUNS" "$settled" "$KERNEL" "$(drive_opts hdd)" bootcache=off \
			"$DEMO/hdd/initrd.settled"
		record_and_replay hdd "$settled" "$(drive_opts hdd)" "$DEMO/hdd/initrd.settled"
		;;
	optical)
		hdr "optical: $(drive_opts optical)"
		phase optical bound "$RUNS" "$optical" "$KERNEL" "$(drive_opts optical-bound)" bootcache=off
		phase optical baseline "$RUNS" "$optical" "$KERNEL" "$(drive_opts optical)" bootcache=off
		record_and_replay optical "$optical" "$(drive_opts optical)"
		;;
	esac
	rm -f "$DEMO/$prof/recorded.img"
done

hdr "results"
python3 "$REPORT" report "$DEMO" --profiles "$PROFILES" \
	--drive hdd="$(drive_opts hdd)" --drive optical="$(drive_opts optical)" \
	--drive unthrottled= -o "$DEMO/report.json" || failures=$((failures + 1))
total=$(($(date +%s) - demo_start))
printf '\nmake demo: %d:%02d in all; JSON: %s; logs: %s/<profile>/<phase>-<n>/\n' \
	$((total / 60)) $((total % 60)) "$DEMO/report.json" "$DEMO"
if [ $failures -gt 0 ]; then
	printf 'make demo: %d boot(s) or step(s) FAILED (see above)\n' $failures >&2
	exit 1
fi
