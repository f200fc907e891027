#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/demo.sh: `make demo [PROFILE=all|hdd|dvd|unthrottled|seek|hdd7200|
# hdd5400|dvd-seek|usb2[,...]] [RUNS=5] [RECORDS=2] [SEEK_SCALE=1|F|cpu]`.
#
# Boots a real Debian 12 with the FLAVOR=boot kernel in QEMU (TCG) from a
# device throttled like a slow one, with and without bootcache, and prints
# how long each boot took to reach multi-user.target (or DEMO_TARGET), with
# the disk's and bootcache's figures at that instant, as a table per profile
# (mk/demo-report.py), as JSON in $OUT/demo/report.json and as Markdown in
# $OUT/demo/report.md (the README's tables are pasted from it).
#
# Device profiles (QEMU -drive throttling options):
#
#   hdd          an installed Debian (mk/demo-image.sh) on a virtio-blk disk
#                modelled on a 7200 rpm hard disk: about 150 random IOPS and
#                100 MiB/s (throttling.iops-total=150,
#                throttling.bps-total=100 MiB/s). The root is read-write, as
#                an installed system's. The kernel is loaded by QEMU
#                (-kernel), the initramfs is the image's own.
#   dvd          a Debian live ISO (mk/live-iso.sh) in an emulated ATAPI DVD
#                drive (ide-cd on the PIIX IDE controller of -machine pc,
#                media=cdrom, read-only), modelled on a DVD drive: 20 IOPS
#                and 8 MiB/s (throttling.iops-total=20,
#                throttling.bps-total=8 MiB/s). It boots as a live DVD does:
#                the BIOS (SeaBIOS, -boot d) loads isolinux from the disc
#                (El Torito), isolinux loads /live/vmlinuz and
#                /live/initrd.img from it, live-boot mounts the disc and
#                the squashfs on it and an overlay over that as the root.
#                Why these rates: a DVD drive reads 1.385 MB/s at 1x; a
#                typical 16x drive reads 8 to 22 MB/s, from the inner to the
#                outer edge (constant angular velocity), and a random access
#                (seek plus rotational latency) takes about 100 to 150 ms,
#                which makes tens of random reads a second at best. 8 MiB/s
#                is the inner edge of a 16x drive, where a small disc's data
#                sits, and 20 IOPS one access every 50 ms: if anything a
#                kinder drive than a real one, whose seeks are slower.
#   unthrottled  no limits: the same medium as fast as QEMU goes (the host's
#                page cache). It is the bound: a boot with no I/O penalty.
#                Each profile gets its own unthrottled runs on its own
#                medium. PROFILE=unthrottled runs only the hdd medium's bound
#                (a quick check that the image boots).
#
# Seek-model profiles: the same media and phases as hdd and dvd, but the
# drive is QEMU's NBD client (-drive file=nbd+unix:///?socket=...) talking
# to mk/seekdisk.py, a server of the project's that serves one request at
# a time in arrival order and answers each only after what the modelled
# device would take for it: a seek by distance (square root, then linear,
# through the data sheet's single-track, average and full-stroke times),
# half a revolution of rotational latency when the access is not
# sequential, transfer at the rate of the radius the data sits at (zoned:
# LBA 0 on the outer edge of a disk, on the inner edge of a DVD), a command
# overhead, and a small read-ahead buffer and cache in the drive. QEMU's
# token bucket charges none of that: there a seek costs nothing. Every
# figure's source (or "assumption") is in mk/seekdisk.py's PROFILES:
#
#   hdd7200      the hdd image on a 7200 rpm 3.5" desktop disk (Hitachi
#                Deskstar 7K1000.C data sheet: average seek 8.5 ms;
#                single-track 1.0 ms and full stroke 16 ms assumed from
#                Hitachi's and IBM's data sheets of the same years; 8.33 ms a
#                revolution; 150 MB/s outer to 75 MB/s inner, assumed, the
#                2:1 ratio of the Deskstar 7K500 data sheet's zones;
#                1 MiB read-ahead, 8 MiB cache, 0.3 ms a command: assumed).
#   hdd5400      the hdd image on a 5400 rpm 2.5" laptop disk (Hitachi
#                Travelstar 5K320 data sheet: 1.0 / 12 / 20 ms seeks, 11.1 ms
#                a revolution; 80 to 40 MB/s assumed).
#   dvd-seek     the live ISO on a 16x CAV DVD-ROM drive, ide-cd as dvd
#                (ECMA-267: 1x = 1.385 MB/s, data from 24 to 58 mm radius, so
#                6.6x to 16x, 9.2 to 22.2 MB/s, the ISO on the inner part of a
#                4.7 GB disc; 6.5 ms a revolution; about 100 ms random access:
#                95 ms average seek, 150 ms full stroke, 2 ms short jumps
#                assumed). Read-only. The boot loader needs no special case
#                here: its 2 KiB PIO reads are sequential, so they stream.
#                The seeks are by distance on the disc: the demo's live ISO
#                (about 75 MB) fills the innermost 0.9 mm of the 34 mm data
#                zone, so its seeks are short (2 to 28 ms, 10 ms on average
#                in a boot) where the 100 ms is for a third of the zone; a
#                2 GiB live DVD would seek 70 ms on average.
#   usb2         the hdd image on a USB 2 flash stick or SD card reader: no
#                seek, 1 ms a request and 30 MB/s read, 10 MB/s write (all
#                assumptions, under USB 2's practical ceiling of about
#                35 MB/s).
#   seek         PROFILE=seek runs all four.
#
# The hdd image stands for the whole disk: its first block on the outer
# edge, its last on the inner, a seek across it a full stroke (ext4 spreads
# a bigger file system over a bigger disk much as it spreads this one over
# the image; mk/seekdisk.py --capacity would model a partition at the start
# of a bigger disk instead, with shorter seeks). The guest sees the
# hdd-image models as virtio-blk disks, as hdd's: the kernel takes them for
# non-rotational (see "Why virtio-blk" below). Each boot behind a model
# starts its own server on that boot's medium (the hdd image's fresh copy,
# the ISO read-only) and socket (<phase>-<n>/seekdisk.sock); when the boot
# ends the server stops and
# writes one line to <phase>-<n>/seekdisk.txt (requests, bytes, the
# device's busy, seek, rotation, transfer and queueing seconds), beside a
# line per request in seekdisk.log. The bound boots of these profiles are
# unthrottled, as hdd's and dvd's.
#
# SEEK_SCALE=F multiplies every time the models charge by F (default 1: a
# real device's times). The guest's CPU under TCG is several times slower
# than a real machine's, which hides I/O behind CPU; `make cpu-factor`
# (mk/cpu-factor.sh) measures by how much (the same CPU-bound program timed
# on the host and in this demo's guest) and saves the factor in
# $OUT/demo/cpu-factor, and SEEK_SCALE=cpu reads it from there, so that the
# device is as much slower than a real one as the CPU is and the boot's
# proportion of CPU to I/O is a real machine's:
#
#   make cpu-factor && make demo PROFILE=hdd7200 SEEK_SCALE=cpu
#
# The table's drive column says which scale a run had.
#
# TCG's translated code: QEMU (7.2) keeps the code it translated from a guest
# page until the guest writes to that page, and while a page has such code
# every store into it takes a slow path. Pages that held programs the guest
# ran and then freed keep their translations, and the boot that reuses them
# for data pays for each store. On the live ISO that is the switch to the
# root: run-init frees the initramfs's programs, and squashfs then
# decompresses the root's libraries into those pages. mk/guest-profile.py
# (DEMO_SAMPLE_HZ) found 80 % of a vCPU's time there in memcpy_orig under
# ZSTD_decompressStream, at times a few bytes per millisecond. From
# init-bottom to systemd's first line took 14.8 and 22.9 s in two
# unthrottled boots of one ISO (the second with -cpu max,-la57), by where
# the allocator put those pages; 8.8 to 38.3 s in five with one TCG
# thread (thread=single); 57.7 s with init_on_free=1, which writes every
# page as it is freed (2026-12-02).
# QEMU drops all its translations when its code buffer is full. The
# default buffer (1 GiB) does not fill in a boot; a 128 MiB one
# (-accel tcg,tb-size=128, DEMO_ACCEL) fills a few times, and the same
# phase took 2.3 to 4.8 s in six boots of that ISO (tb-size 64, 128 and
# 256, bootcache off and on), which reached multi-user.target in 41.2 to
# 45.8 s against 51.0 and 59.6.
#
# The old `optical` profile (the hdd image's ext4 on a read-only virtio disk)
# is gone: `dvd` boots a real live medium from a real (emulated) DVD drive.
#
# Bursts: no throttling.*-max option is set, so QEMU allows its minimum burst
# (a bucket of one tenth of a second's worth: 15 requests for hdd, 2 for
# dvd) and the rates are otherwise sustained, as a real disk's are. A
# larger burst (throttling.iops-total-max with -max-length) would let the
# first second of boot run at memory speed, which no disk does.
# throttling.iops-size is not set either: a request costs one I/O whatever its
# size (up to the bandwidth limit), so, as on a real disk, one large read
# costs far less than many small ones. That is the cost model bootcache is
# for. QEMU's throttling is the block backend's, so it applies to the
# cdrom drive's reads as to a disk's: the BIOS's and isolinux's as well as
# Linux's (the dvd profile's bound and baseline differ by it).
#
# The boot loader's reads (dvd): SeaBIOS reads the disc through QEMU's ATAPI
# emulation in PIO mode, where every 2 KiB sector is a request of its own, so
# at 20 IOPS isolinux would load the kernel and initramfs at 40 KiB/s, some
# four minutes, where a real drive streams those contiguous files at its
# sequential rate (Linux's ata_piix uses DMA: its requests are the size it
# asks for). So until isolinux has loaded the initramfs the drive has the
# bandwidth limit only, and then (when the console shows isolinux's "...
# ok" after initrd.img) the demo adds the IOPS limit over QMP
# (block_set_io_throttle): the kernel runs from its first instruction on the
# DVD drive modelled above. <phase>-<n>/throttle.log says when.
#
# IO_SCALE=N divides both rates of hdd and dvd by N (default 1: the real
# devices' rates). Under TCG the guest's CPU is several times slower than a
# real machine's while the throttled disk runs at a real disk's speed, so the
# boot's CPU work hides much of its I/O wait and the I/O penalty looks
# smaller than on real hardware; IO_SCALE scales the disk down by about the
# same factor to restore the proportion (the table says which rates ran).
#
# Why virtio-blk for hdd: it is what the rest of the project tests on
# (vmtest.sh), it is the cheapest disk to emulate under TCG (an emulated AHCI
# or IDE controller costs CPU per request, and TCG is CPU-bound already), and
# the throttling, which is what models the device, is the same for any QEMU
# drive. Its one difference from a real hard disk: the kernel sees it as
# non-rotational (virtio-blk has no rotation rate), so bootcache keeps up to
# four read-aheads in flight instead of two. The dvd profile needs the real
# thing: a BIOS boot loader reads a CD through El Torito, and Linux sees
# /dev/sr0, a whole-disk ISO 9660 medium.
#
# Phases, per profile (hdd, dvd):
#
#   bound     its medium unthrottled, bootcache=off: the boot with no I/O
#             penalty
#   baseline  throttled, bootcache=off (hdd: each from a fresh copy of the
#             settled image; dvd: the ISO, read-only)
#   record    RECORDS boots (default 2). hdd: bootcache=record, boots of
#             the tool's cycle in a row (the second replays the playlist
#             the first saved and records the next); the replays start
#             from the disk the last one left. dvd: the first with
#             bootcache=record,volume=iso9660:UUID:LABELCRC, the disc
#             itself; boots 2 to RECORDS are tune boots of the disc with
#             the playlist so far built in and bootcache=auto,record, each
#             history converted and merged into the playlist with
#             `bootcache merge` (see dvd below). The history comes out of
#             the image (/var/lib/bootcache/history, saved by the tool's
#             units) or,
#             when the root is read-only or not kept (a live system) or
#             nothing was saved, from the guest's serial result channel (the
#             marker unit copies /sys/kernel/bootcache/history there); the
#             playlist is the one the units saved or else `bootcache convert
#             HISTORY`. Recording stops at the target: hdd's
#             bootcache-stop.timer fires at multi-user.target
#             (BOOTCACHE_SAVE_DELAY=0 in the demo image), and on the live
#             ISO (no stop unit) the marker writes `stop` as its first act.
#             The report checks that the history's last entry (`bootcache
#             info`: duration_ns, from the session's start on the kernel
#             log) is within 2 s of the target.
#   control   the replay's medium, kernel, command line and initramfs,
#             unthrottled: bootcache on with no I/O penalty. Under TCG
#             bootcache also saves (or costs) emulator CPU per request;
#             control - bound is that part, which the share removed
#             against the control does not count as I/O saved.
#   replay    throttled, with the playlist (see below for each profile).
#
# The record boot comes first (the control and replay phases need its
# playlist); then RUNS rounds, each one boot of bound, baseline, control and
# replay in that order. Interleaved, so that a slow spell of the shared
# host falls on every phase alike, not on one phase's run of boots.
#
# hdd: the tool's boot cycle, as a user runs it (tools/bootcache/README.md,
# "The boot cycle" and "The initramfs"). Every hdd boot (bound, baseline,
# record, replay) boots with an initramfs, -initrd = the image's own
# /boot/initrd.img-RELEASE as it is on the disk at that point (taken out with
# debugfs), so that baseline and replay differ only by bootcache:
#   - bound, baseline: bootcache=off (the init-top script and the units do
#     nothing), the settled image's initramfs (it holds the tool only);
#   - record: bootcache=record (the kernel records the root partition from
#     the first bio); at multi-user.target (BOOTCACHE_SAVE_DELAY=0 in the
#     demo image; the timer's AccuracySec=1s lets it fire up to a second
#     later) bootcache-stop.service stops recording, saves
#     /var/lib/bootcache/{history,playlist} and runs
#     /usr/lib/bootcache/update-initramfs, whose `update-initramfs -u` runs
#     the tool's hook: the playlist goes into the initramfs as
#     /bootcache/playlist and is renamed playlist.initramfs on the disk. The
#     marker unit waits for bootcache-stop.service before powering off
#     (every figure is still taken at multi-user.target). The demo checks
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
#   (as dvd does), bootcache=auto, the settled initramfs (no playlist in
#   it) and the disk the record boot left.
# dvd: the live-media workflow of Documentation/admin-guide/bootcache.rst
# ("Live media"). mk/live-iso.sh makes the ISO with bootcache=off in
# isolinux.cfg (bound, baseline), then rebuilds it (-f: the same squashfs at
# the same place, the same PVD date and label, so the same bootcache volume)
# with bootcache=record,volume=... for the first record boot. Its history
# comes over the result channel (the live root is a tmpfs overlay, gone at
# power off) and `bootcache convert` makes the playlist of it. Records 2 to
# RECORDS are tune boots (step 8 of the workflow): the ISO with the
# playlist so far built in and bootcache=auto,record, whose history, made
# into a playlist, is merged into it with `bootcache merge`. The playlist
# is built into a second kernel (make kernel FLAVOR=boot PLAYLIST=... in
# $OUT/build/boot-playlist), and the ISO is rebuilt again with that kernel
# and bootcache=auto; `bootcache
# check-medium PLAYLIST NEW.iso --recorded RECORD.iso` (when the tool has it)
# checks that the playlist still fits the disc. The replay boots boot that
# ISO.
#
# Before any of it, the hdd profile's pristine image is booted once
# (unthrottled, with its initramfs) to "settle" it: its first boot does
# one-time work (udev's hwdb, ldconfig, journal files, random seed) that
# would otherwise land in every baseline boot and in no replay boot. A live
# system has no such first boot to take out: each of its boots starts from
# the same squashfs (mk/live-iso.sh does the hwdb at build time).
#
# What is measured: every figure of a boot is taken at one instant, as
# soon as its target (DEMO_TARGET, default multi-user.target) is reached:
# the guest's bootcache-demo-done.service (mk/demo-guest.sh) is ordered
# after the target, and its first act, before anything else runs, reads
# with shell builtins /proc/uptime, /proc/stat's cpu line (the guest's CPU
# time so far), /sys/block/*/stat and every /sys/kernel/bootcache/stats/*
# file. The time of a boot is when the target became active, on the
# guest's CLOCK_MONOTONIC (from kernel start; systemctl show
# ActiveEnterTimestampMonotonic); the report gives the snapshot's lag
# after it (snapshot_lag_s in run.json). Beside it, the host's wall time
# from QEMU's start (power-on) to the target: when the marker's first line
# reached the host, less the time from the target to the snapshot on the
# guest's clock. For dvd it includes what the BIOS and isolinux read from
# the throttled drive (isolinux.bin, the kernel and the initramfs), which
# no kernel-side cache can help. After the snapshot the marker reports what
# the boot did (systemd-analyze, failed units), waits for hdd's
# bootcache-stop.service (it rebuilds the initramfs: at most 300 s, and a
# unit skipped by its conditions is not waited for; the wait is reported),
# ends the bootcache session (`jettison` to control), takes the end
# snapshot (the stats again, cache_bytes must be 0) and powers off.
#
# The report (mk/demo-report.py report): per phase the medians with
# [min-max] of the time to the target, the host's time, the disk's reads,
# busy time and bytes, the guest's CPU time, and bootcache's read-ahead,
# hits and parked time; for the bootcache phases the hit ratio by bytes and
# by requests, parked reads and their wait, the bytes read ahead and never
# served (readahead_bytes - hit_bytes, + rehit_bytes where the kernel has
# it), the peak cache against the playlist's bytes, cache_bytes after the
# session, bootcache's CPU time (stats/cpu_ns, where the kernel has it) as a
# share of the guest's; the penalty and the share of it removed:
#   penalty                      baseline - bound
#   removed against the bound    (baseline - replay) / (baseline - bound)
#   removed against the control  1 - (replay - control) / (baseline - bound)
# (with bootcache the penalty is replay - control, without it baseline -
# bound), the verdict on each of issue 14's targets, and whether the
# record boot's history ended at the target.
#
# Environment: OUT (out), PROFILE (all = hdd dvd), RUNS (5), RECORDS (2:
# record boots per profile, see "record" above), DEMO_TARGET
# (multi-user.target; built into the image and the ISO), TIMEOUT (600 s
# per boot), MEM (1024 MiB), SMP (2), DEMO_CMDLINE (extra kernel arguments;
# for dvd they go into the ISO's isolinux.cfg; e.g. no_timer_check, when a
# loaded host makes TCG's timer miss the kernel's IO-APIC timer check and
# the boot panics), REPLAY_ARGS (the hdd
# replay's kernel arguments; default bootcache=record), EMBED_HDD=1 (replay
# hdd with the playlist embedded in the kernel instead of the initramfs
# cycle), IO_SCALE (1), SEEK_SCALE (1; a number, or cpu for
# $OUT/demo/cpu-factor), KERNEL_LOCK (a file: each kernel build runs under
# `flock KERNEL_LOCK`, for a build directory shared with others),
# DEMO_TRACE (QEMU trace events, e.g. 'ide_atapi_cmd*', logged with their
# times into each boot's qemu.log; mk/atapi-trace.py reads the ATAPI ones),
# DEMO_CPU (QEMU's -cpu, max; see mk/cpu-factor.sh for why not max,-erms;
# the factor must be measured with the same model), DEMO_ACCEL (QEMU's
# -accel, tcg,tb-size=128; see "TCG's translated code" above; the factor
# must be measured with the same), DEMO_SAMPLE_HZ (sample
# each boot's vCPUs that many times a second into its profile.samples, for
# mk/guest-profile.py report; pausing the guest for each sample costs
# time, so such a run's figures are not the demo's).
# Needs root (debootstrap, chroot).

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
OUT=${OUT:-out}
PROFILE=${PROFILE:-all}
RUNS=${RUNS:-5}
RECORDS=${RECORDS:-2}
TIMEOUT=${TIMEOUT:-600}
MEM=${MEM:-1024}
SMP=${SMP:-2}
DEMO_CPU=${DEMO_CPU:-max}
DEMO_ACCEL=${DEMO_ACCEL:-tcg,tb-size=128}
DEMO_CMDLINE=${DEMO_CMDLINE:-}
REPLAY_ARGS=${REPLAY_ARGS-bootcache=record}
DEMO_TARGET=${DEMO_TARGET:-multi-user.target}
EMBED_HDD=${EMBED_HDD:-0}
IO_SCALE=${IO_SCALE:-1}
SEEK_SCALE=${SEEK_SCALE:-1}
MAKE=${MAKE:-make}
DEMO=$OUT/demo
KERNEL=$OUT/build/boot/arch/x86/boot/bzImage
KERNEL_LOCK=${KERNEL_LOCK:-}
LIVE=$DEMO/live
PLKBUILD=$OUT/build/boot-playlist
TOOL_BIN=$DEMO/tool-target/x86_64-unknown-linux-gnu/release/bootcache
REPORT=mk/demo-report.py

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/demo: error: %s\n' "$*" >&2; exit 1; }
hdr() { printf '\n==> %s\n' "$*"; }

# PROFILE is one name or several, separated by commas or spaces
# (PROFILE=dvd-seek,hdd7200); each runs once, in the order given.
PROFILES=
for p in ${PROFILE//,/ }; do
	case $p in
	all) add="hdd dvd" ;;
	seek) add="hdd7200 hdd5400 dvd-seek usb2" ;;
	hdd | dvd | hdd7200 | hdd5400 | dvd-seek | usb2 | unthrottled) add=$p ;;
	*) die "PROFILE must be all, seek, hdd, dvd, hdd7200, hdd5400, dvd-seek, usb2 or unthrottled (or several, comma-separated), not '$p'" ;;
	esac
	for a in $add; do
		case " $PROFILES " in *" $a "*) ;; *) PROFILES="${PROFILES:+$PROFILES }$a" ;; esac
	done
done
[ -n "$PROFILES" ] || die "PROFILE is empty"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"
[[ $RECORDS =~ ^[1-9][0-9]*$ ]] || die "RECORDS must be a positive number, not '$RECORDS'"
{ [[ $IO_SCALE =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$IO_SCALE" 'BEGIN { exit !(s >= 1) }'; } ||
	die "IO_SCALE must be a number of at least 1, not '$IO_SCALE'"
if [ "$SEEK_SCALE" = cpu ]; then
	SEEK_SCALE=$(cat "$DEMO/cpu-factor" 2>/dev/null) ||
		die "SEEK_SCALE=cpu: no $DEMO/cpu-factor (run 'make cpu-factor' first)"
fi
{ [[ $SEEK_SCALE =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SEEK_SCALE" 'BEGIN { exit !(s > 0) }'; } ||
	die "SEEK_SCALE must be a positive number or 'cpu', not '$SEEK_SCALE'"
[[ $DEMO_TARGET =~ ^[A-Za-z0-9@:._-]+\.target$ ]] ||
	die "DEMO_TARGET must name a systemd target (NAME.target), not '$DEMO_TARGET'"
export DEMO_TARGET
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot): run 'sudo make demo'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (run 'make setup')"

demo_start=$(date +%s)
failures=0
# The QEMU of the boot in progress and its seekdisk server, stopped if the
# demo is interrupted.
QEMU_PID=
SEEK_PID=
trap '[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null; [ -z "$SEEK_PID" ] || kill "$SEEK_PID" 2>/dev/null' EXIT
trap 'echo; die "interrupted"' INT TERM

# rates IOPS BYTES_PER_S: the throttling options, divided by IO_SCALE.
rates() {
	awk -v i="$1" -v b="$2" -v s="$IO_SCALE" 'BEGIN {
		printf "throttling.iops-total=%d,throttling.bps-total=%d", i / s + 0.5, b / s + 0.5 }'
}

# drive_opts PROFILE: QEMU -drive options that make the disk that device;
# for a seek model, "seekdisk=MODEL,scale=F", which boot turns into an
# mk/seekdisk.py server and an NBD drive (seekdisk_start).
drive_opts() {
	case $1 in
	hdd) rates 150 104857600 ;;
	dvd) rates 20 8388608 ;;
	hdd7200 | hdd5400 | usb2) echo "seekdisk=$1,scale=$SEEK_SCALE" ;;
	dvd-seek) echo "seekdisk=dvd,scale=$SEEK_SCALE" ;;
	*) echo "" ;;
	esac
}

# seekdisk_start DIR IMAGE DRIVE_OPTS: for a seek model's DRIVE_OPTS, start
# mk/seekdisk.py serving IMAGE (its per-request log in DIR/seekdisk.log);
# SEEK_URI is the NBD address for QEMU's -drive file=, SEEK_PID the server.
seekdisk_start() {
	local dir=$1 img=$2 model scale sock i
	[[ $3 =~ ^seekdisk=([a-z0-9]+),scale=([0-9.]+)$ ]] || return 1
	model=${BASH_REMATCH[1]} scale=${BASH_REMATCH[2]}
	# A Unix socket's path has at most 107 bytes.
	sock=$dir/seekdisk.sock
	[ ${#sock} -lt 100 ] || sock=$(mktemp -u /tmp/seekdisk.XXXXXX.sock)
	python3 mk/seekdisk.py --model "$model" --scale "$scale" --socket "$sock" \
		--log "$dir/seekdisk.log" --summary "$dir/seekdisk.txt" "$img" \
		</dev/null >/dev/null 2>"$dir/seekdisk.err" &
	SEEK_PID=$!
	for i in $(seq 1 100); do
		[ -S "$sock" ] && break
		kill -0 "$SEEK_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		printf '  %-8s seekdisk did not start: %s\n' BOOT "$(head -c 300 "$dir/seekdisk.err")"
		kill "$SEEK_PID" 2>/dev/null
		SEEK_PID=
		return 1
	fi
	SEEK_URI="nbd+unix:///?socket=$sock"
}

# seekdisk_stop DIR: stop the boot's seekdisk server; its summary line
# (requests, bytes, busy, seek, rotation and transfer seconds) is in
# DIR/seekdisk.txt.
seekdisk_stop() {
	[ -n "$SEEK_PID" ] || return 0
	kill -TERM "$SEEK_PID" 2>/dev/null
	wait "$SEEK_PID" 2>/dev/null
	SEEK_PID=
	[ -s "$1/seekdisk.txt" ] || printf '  %-8s %s: seekdisk left no summary\n' BOOT "$1"
}

# host_cpu: this machine's CPU time taken by its own host (steal) and in all,
# in clock ticks, from /proc/stat (user to steal; guest time is inside user).
# A boot's host-cpu file holds both at QEMU's start and at the target, for the
# report's steal figure (demo-report.py host_steal).
host_cpu() {
	awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat
}

# boot DIR IMAGE KERNEL DRIVE_OPTS LABEL KERNEL_ARGS [INITRD]: one boot, logs
# in DIR (console.log: the console; result.log: the marker's lines; run.json:
# what they say; initrd: which initramfs, if any; host-cpu: see host_cpu).
# Prints the time to multi-user; fails with a message when the boot does not
# finish in time or reports nothing. KERNEL "-": IMAGE is a live ISO, booted
# from a DVD drive through its own boot loader (its kernel command line is in
# the ISO; ARGS only names it).
boot() {
	local dir=$1 img=$2 kernel=$3 dopts=$4 label=$5 args=$6 initrd=${7:-} pid start now rc t
	local marker=
	rm -rf "$dir"
	mkdir -p "$dir"
	[ -z "$initrd" ] || sha256sum "$initrd" >"$dir/initrd"
	local media cmdline qmp='' iops='' bps='' switched='' file=$img
	# A seek model: the image behind an mk/seekdisk.py server, the drive
	# on its NBD socket.
	if [[ $dopts == seekdisk=* ]]; then
		seekdisk_start "$dir" "$img" "$dopts" || return 1
		file=$SEEK_URI dopts=
	fi
	if [ "$kernel" = - ]; then
		# The boot loader's reads: the bandwidth limit only, until
		# isolinux has loaded the initramfs; then the drive's IOPS limit
		# too, over QMP (see "The boot loader's reads" at the top).
		if [[ $dopts =~ iops-total=([0-9]+) ]]; then
			iops=${BASH_REMATCH[1]}
			[[ $dopts =~ bps-total=([0-9]+) ]] && bps=${BASH_REMATCH[1]}
			dopts=${bps:+throttling.bps-total=$bps}
			qmp=$dir/qmp.sock
		fi
		# The PIIX IDE controller of -machine pc: ide.1 is its
		# secondary channel, where a PC's optical drive sits.
		# shellcheck disable=SC2054 # -drive's options are one argument
		media=(-drive "file=$file,if=none,id=cd0,media=cdrom,readonly=on,format=raw${dopts:+,$dopts}"
			-device ide-cd,drive=cd0,bus=ide.1 -boot d
			${qmp:+-qmp "unix:$qmp,server=on,wait=off"})
		cmdline="(isolinux.cfg) $(sed -n 's/^[[:space:]]*append //p' "$img.cfg" 2>/dev/null)"
	else
		# kunit.enable=0: the boot kernel inherits test.config's KUnit
		# doctests; they cost boot time, and the shrinker's doctest runs
		# every shrinker (drop_slab()), which jettisons a cache started
		# from the command line.
		cmdline="console=ttyS0 root=PARTUUID=$DEMO_PARTUUID rootwait ro panic=-1 kunit.enable=0 $args $DEMO_CMDLINE"
		media=(-kernel "$kernel" ${initrd:+-initrd "$initrd"} -append "$cmdline"
			-drive "file=$file,if=virtio,format=raw${dopts:+,$dopts}")
	fi
	echo "$cmdline" >"$dir/cmdline"
	local cpu0 cpu1=
	cpu0=$(host_cpu)
	start=$(date +%s.%N)
	qemu-system-x86_64 -nodefaults -no-reboot -display none -monitor none \
		-machine pc -accel "$DEMO_ACCEL" -cpu "$DEMO_CPU" -smp "$SMP" -m "$MEM" \
		${DEMO_TRACE:+-msg timestamp=on -trace "$DEMO_TRACE"} \
		-serial "file:$dir/console.log" -serial "file:$dir/result.log" \
		${DEMO_SAMPLE_HZ:+-qmp "unix:$dir/profile.sock,server=on,wait=off"} \
		"${media[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	pid=$!
	QEMU_PID=$pid
	# DEMO_SAMPLE_HZ: a profile of the guest from the host (see
	# mk/guest-profile.py); it ends with QEMU.
	if [ -n "${DEMO_SAMPLE_HZ:-}" ]; then
		python3 "$TOP/mk/guest-profile.py" sample "$dir/profile.sock" "$dir/console.log" \
			"$dir/profile.samples" "$DEMO_SAMPLE_HZ" >"$dir/profile.log" 2>&1 &
	fi
	rc=
	while :; do
		# When the marker's first line arrives: the host's side of the
		# time to multi-user (polled every 0.2 s until then).
		if [ -z "$marker" ] && grep -q '^BOOTCACHE-DEMO: start' "$dir/result.log" 2>/dev/null; then
			marker=$(echo "$(date +%s.%N) - $start" | bc)
			cpu1=$(host_cpu)
		fi
		if [ -n "$qmp" ] && [ -z "$switched" ] &&
			grep -aq -e 'initrd\.img\.\.\. *ok' -e 'Linux version' "$dir/console.log" 2>/dev/null; then
			switched=$(echo "$(date +%s.%N) - $start" | bc)
			if python3 "$REPORT" throttle "$qmp" cd0 "$iops" "${bps:-0}" >"$dir/throttle.log" 2>&1; then
				echo "loader-done $switched" >>"$dir/throttle.log"
			else
				printf '  %-8s %s: setting the drive'"'"'s IOPS limit failed: %s\n' BOOT "$label" \
					"$(tail -n 1 "$dir/throttle.log")"
				kill "$pid" 2>/dev/null
			fi
		fi
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
		if [ -z "$marker" ] || { [ -n "$qmp" ] && [ -z "$switched" ]; }; then
			sleep 0.2
		else
			sleep 1
		fi
	done
	QEMU_PID=
	seekdisk_stop "$dir"
	[ -z "$cpu1" ] || echo "$cpu0 $cpu1" >"$dir/host-cpu"
	local wall
	wall=$(echo "$(date +%s.%N) - $start" | bc)
	[ -t 1 ] && printf '\r\033[K'
	if [ "$rc" = timeout ]; then
		# Reported everything but did not power off: the figures stand.
		if python3 "$REPORT" parse "$dir" "$wall" 124 "$marker" >"$dir/summary" 2>/dev/null &&
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
	if ! python3 "$REPORT" parse "$dir" "$wall" "$rc" "$marker" >"$dir/summary" 2>"$dir/parse.err"; then
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

# run_one PROFILE PHASE I N IMAGE KERNEL DRIVE_OPTS ARGS [INITRD]: boot I of
# N of PHASE, from a fresh copy of IMAGE (a live ISO, read-only, is not
# copied). Its logs go to $DEMO/PROFILE/PHASE-I.
run_one() {
	local prof=$1 ph=$2 i=$3 n=$4 img=$5 kernel=$6 dopts=$7 args=$8 initrd=${9:-}
	if [ "$kernel" = - ]; then
		boot "$DEMO/$prof/$ph-$i" "$img" - "$dopts" "[$prof] $ph $i/$n" "$args" ||
			{ failures=$((failures + 1)); return 1; }
		return 0
	fi
	local rc=0
	copy "$img" "$DEMO/run.img" || die "copying $img failed"
	boot "$DEMO/$prof/$ph-$i" "$DEMO/run.img" "$kernel" "$dopts" \
		"[$prof] $ph $i/$n" "$args" "$initrd" || { rc=1; failures=$((failures + 1)); }
	# The first replay boot's disk: what the cycle left for a next boot.
	if [ "$ph" = replay ] && [ "$i" = 1 ] && [ -n "$initrd" ]; then
		cycle_evidence "$DEMO/run.img" "$DEMO/$prof/$ph-$i" "[$prof] $ph 1" || true
	elif [ "$ph" = replay ]; then
		# Every replay's history, for mk/miss-report.py.
		fetch "$DEMO/run.img" /var/lib/bootcache/history "$DEMO/$prof/$ph-$i/history" || true
	fi
	rm -f "$DEMO/run.img"
	return $rc
}

# miss_kinds PROFILE: each replay's history (fetched from its disk, or sent
# on the result channel) set against the profile's playlist by
# mk/miss-report.py: replay-N/misses.json, the kinds of its misses, for the
# report.
miss_kinds() {
	local pl=$DEMO/$1/playlist d
	[ -s "$pl" ] || return 0
	for d in "$DEMO/$1"/replay-*; do
		[ -s "$d/history" ] || python3 "$REPORT" history "$d" "$d/history" >/dev/null 2>&1 ||
			continue
		python3 mk/miss-report.py "$TOOL_BIN" "$d/history" "$pl" --json >"$d/misses.json" \
			2>/dev/null || rm -f "$d/misses.json"
	done
}

# phase PROFILE PHASE N IMAGE KERNEL DRIVE_OPTS ARGS [INITRD]: N boots in a
# row.
phase() {
	local prof=$1 ph=$2 n=$3 i rc=0
	shift 3
	for i in $(seq 1 "$n"); do
		run_one "$prof" "$ph" "$i" "$n" "$@" || rc=1
	done
	return $rc
}

# What each phase of a profile boots: set by the profile, then booted by
# rounds. Keys: PROFILE/PHASE. MEDIUM is an image or ISO; KERNEL "-" for
# a live ISO.
declare -A P_MEDIUM P_KERNEL P_DOPTS P_ARGS P_INITRD

# set_phase PROFILE PHASE MEDIUM KERNEL DRIVE_OPTS ARGS [INITRD]
set_phase() {
	P_MEDIUM[$1/$2]=$3 P_KERNEL[$1/$2]=$4 P_DOPTS[$1/$2]=$5 P_ARGS[$1/$2]=$6 P_INITRD[$1/$2]=${7:-}
}

# rounds PROFILE: RUNS rounds, each one boot of every phase the profile has
# set, in the order bound, baseline, control, replay. Interleaved rounds,
# not all of one phase then the next, so that a slow spell of the host (the
# machine is shared, TCG is CPU-bound) falls on every phase alike instead of
# on one of them.
rounds() {
	local prof=$1 i ph k
	for i in $(seq 1 "$RUNS"); do
		for ph in bound baseline control replay; do
			k=$prof/$ph
			[ -n "${P_MEDIUM[$k]:-}" ] || continue
			run_one "$prof" "$ph" "$i" "$RUNS" "${P_MEDIUM[$k]}" "${P_KERNEL[$k]}" \
				"${P_DOPTS[$k]}" "${P_ARGS[$k]}" "${P_INITRD[$k]}" || true
		done
	done
}

# locked COMMAND...: COMMAND under `flock KERNEL_LOCK` when that is set.
locked() {
	if [ -n "$KERNEL_LOCK" ]; then
		flock "$KERNEL_LOCK" "$@"
	else
		"$@"
	fi
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
	if ! locked "$MAKE" --no-print-directory kernel FLAVOR=boot OUT="$OUT" \
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

# record_and_replay PROFILE MEDIUM DRIVE_OPTS [INITRD]: the record boot and
# the playlist; then sets the control and replay phases (set_phase) for
# rounds to boot. With INITRD (hdd) every boot has an
# initramfs: the record boot the one given (the settled image's, which holds
# no playlist), the replay boots the one the record boot's
# bootcache-stop.service rebuilt, taken from the disk it left.
record_and_replay() {
	local prof=$1 medium=$2 dopts=$3 initrd=${4:-}
	local rec=$DEMO/$prof/recorded.img
	local hist=$DEMO/$prof/history pl=$DEMO/$prof/playlist kernel=$KERNEL args
	local embed=0
	[ "$EMBED_HDD" = 1 ] && embed=1

	# The record boot works on its own copy: for hdd the disk it leaves
	# behind (with the saved history and playlist, and the rebuilt
	# initramfs) is what every replay boot starts from.
	copy "$medium" "$rec" || die "copying $medium failed"
	# No record boots of an earlier run with a larger RECORDS.
	rm -rf "$DEMO/$prof"/record-* "$DEMO/$prof"/initrd.record-*
	if ! boot "$DEMO/$prof/record" "$rec" "$KERNEL" "$dopts" "[$prof] record" "bootcache=record" "$initrd"; then
		failures=$((failures + 1))
		say SKIP "[$prof] replay: the record boot failed"
		return 1
	fi
	# RECORDS > 1: more boots of the cycle on that disk, each replaying the
	# playlist the boot before saved and recording the next: the replays
	# then start from a disk a cycle boot left, with the playlist of a
	# boot that itself followed one (the steady state), not of the first
	# boot after the settled image.
	local r last=$DEMO/$prof/record
	for r in $(seq 2 "$RECORDS"); do
		[ $embed = 1 ] && break
		cycle_evidence "$rec" "$last" "[$prof] record $((r - 1))" || failures=$((failures + 1))
		initrd_of "$rec" "$DEMO/$prof/initrd.record-$r"
		if ! boot "$DEMO/$prof/record-$r" "$rec" "$KERNEL" "$dopts" "[$prof] record $r" "$REPLAY_ARGS" \
			"$DEMO/$prof/initrd.record-$r"; then
			failures=$((failures + 1))
			say SKIP "[$prof] replay: record boot $r failed"
			return 1
		fi
		last=$DEMO/$prof/record-$r
	done
	rm -f "$hist" "$pl"
	if fetch "$rec" /var/lib/bootcache/history "$hist"; then
		say HISTORY "[$prof] /var/lib/bootcache/history from the disk ($(stat -c %s "$hist") bytes)"
	elif python3 "$REPORT" history "$last" "$hist"; then
		say HISTORY "[$prof] from the guest's result channel ($(stat -c %s "$hist") bytes)"
	else
		say SKIP "[$prof] replay: the record boot left no history (bootcache=record and the tool's units are needed)"
		return 1
	fi
	"$TOOL_BIN" info "$hist" >"$DEMO/$prof/history.info" 2>&1 || true
	basename "$last" >"$DEMO/$prof/history.from"
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
		# EMBED_HDD=1 keeps INITRD, the settled one, with no playlist in
		# it: the embedded playlist is the only one.
	else
		args=$REPLAY_ARGS
		if [ -n "$initrd" ]; then
			# The initramfs the last record boot's stop unit rebuilt.
			cycle_evidence "$rec" "$last" "[$prof] record${r:+ $RECORDS}" ||
				failures=$((failures + 1))
			initrd=$DEMO/$prof/initrd.replay
			initrd_of "$rec" "$initrd"
		fi
	fi
	# The control: the replay's medium, kernel, command line and
	# initramfs, unthrottled.
	set_phase "$prof" control "$rec" "$kernel" "" "$args" "$initrd"
	set_phase "$prof" replay "$rec" "$kernel" "$dopts" "$args" "$initrd"
}

# --- The kernel, then the image (its initramfs is made for this kernel). ---
hdr "kernel and image"
mkdir -p "$DEMO"
# make deb: the boot kernel (bindeb-pkg in $OUT/build/boot) and the tool as
# Debian packages, which the hdd image installs with dpkg -i. The packages'
# maintainer is git's user, or DEBFULLNAME and DEBEMAIL; with neither, the
# demo names itself.
if [ -z "${DEBEMAIL:-}" ] && [ -z "$(git config user.email 2>/dev/null)" ]; then
	export DEBFULLNAME="bootcache demo" DEBEMAIL=demo@bootcache.example
fi
say KERNEL "make deb: the boot kernel and the tool as Debian packages (log: $DEMO/kernel.log)"
if ! locked "$MAKE" --no-print-directory deb OUT="$OUT" >"$DEMO/kernel.log" 2>&1; then
	tail -n 30 "$DEMO/kernel.log" >&2
	die "make deb failed"
fi
grep -E '^  (BUILT|CONFIG|UPDATE|DEB|LINTIAN) ' "$DEMO/kernel.log" || true
release=$(cat "$OUT/build/boot/include/config/kernel.release" 2>/dev/null) ||
	die "no $OUT/build/boot/include/config/kernel.release"
# shellcheck source=mk/demo-guest.sh
. mk/demo-guest.sh
# The kernel every boot of the demo runs is the package's: its
# /boot/vmlinuz-RELEASE is the build tree's bzImage, byte for byte.
deb_packages "$OUT/deb"
dpkg-deb --fsys-tarfile "$kernel_deb" | tar -xOf - "./boot/vmlinuz-$release" | cmp -s - "$KERNEL" ||
	die "${kernel_deb##*/}'s /boot/vmlinuz-$release is not $KERNEL"
say KERNEL "$KERNEL is ${kernel_deb##*/}'s /boot/vmlinuz-$release"
# The tool, static, for the host's side of the demo (convert, info, plot,
# check-medium) and the live ISO.
build_tool "$DEMO/tool-target" >/dev/null
[ -x "$TOOL_BIN" ] || die "building the static tool made no $TOOL_BIN"

# live_iso NAME APPEND [KERNEL [FROM]]: $LIVE/NAME.iso (mk/live-iso.sh) with
# APPEND (and DEMO_CMDLINE) on isolinux.cfg's command line; with FROM, a
# rebuild keeping FROM's identity and its squashfs's place. Its
# isolinux.cfg is copied beside it
# (NAME.iso.cfg) for the boots' logs.
live_iso() {
	local name=$1 append=$2 kernel=${3:-$KERNEL} from=${4:-}
	if ! LIVE_KERNEL=$kernel LIVE_KERNEL_RELEASE=$release \
		LIVE_KERNEL_CONFIG=$OUT/build/boot/.config LIVE_APPEND="$append${DEMO_CMDLINE:+ $DEMO_CMDLINE}" \
		LIVE_TOOL_TARGET=$DEMO/tool-target \
		mk/live-iso.sh ${from:+-f "$from"} -o "$LIVE/$name.iso" "$LIVE"; then
		return 1
	fi
	cp "$LIVE/iso-tree/isolinux/isolinux.cfg" "$LIVE/$name.iso.cfg"
}

# check_medium PLAYLIST ISO RECORDED PROFILE: the tool's check that the
# playlist still fits the rebuilt disc (same identity, its extents in the
# same files), when the tool has that subcommand.
check_medium() {
	local log=$DEMO/$4/check-medium.log
	if ! "$TOOL_BIN" check-medium --help >/dev/null 2>&1; then
		say CHECK "skipped: the tool has no 'check-medium' subcommand yet"
		return 0
	fi
	if "$TOOL_BIN" check-medium "$1" "$2" --recorded "$3" >"$log" 2>&1; then
		say CHECK "bootcache check-medium: $(tail -n 1 "$log")"
	else
		say CHECK "bootcache check-medium FAILED:"
		sed 's/^/    | /' "$log"
		return 1
	fi
}

# dvd_profile PROFILE: the live ISO from the DVD drive (see the top):
# dvd's token bucket or dvd-seek's model: the record boot, the
# playlist, the replay ISO; sets the phases for rounds to boot.
dvd_profile() {
	local prof=$1
	local hist=$DEMO/$prof/history pl=$DEMO/$prof/playlist kernel
	# shellcheck source=/dev/null
	. "$LIVE/off.iso.env"
	say ISO "$LIVE_ISO: UUID $LIVE_UUID, LABEL $LIVE_LABEL, volume $LIVE_VOLUME, $(($(stat -c %s "$LIVE_ISO") / 1048576)) MiB; squashfs at LBA $LIVE_SQUASHFS_LBA"
	# The tool's name for the disc must be the one mk/live-iso.sh put on
	# the record entry's command line.
	if "$TOOL_BIN" medium-id --help >/dev/null 2>&1; then
		local id
		id=$("$TOOL_BIN" medium-id "$LIVE_ISO" 2>&1)
		if [ "$id" = "$LIVE_VOLUME" ]; then
			say ISO "bootcache medium-id $LIVE_ISO: $id (the same)"
		else
			failures=$((failures + 1))
			say ISO "bootcache medium-id says '$id', not $LIVE_VOLUME"
		fi
	fi
	set_phase "$prof" bound "$LIVE/off.iso" - "" bootcache=off
	set_phase "$prof" baseline "$LIVE/off.iso" - "$(drive_opts "$prof")" bootcache=off

	# No record boots of an earlier run with a larger RECORDS.
	rm -rf "$DEMO/$prof"/record-* "$hist"-* "$pl"-*
	live_iso record "bootcache=record,volume=$LIVE_VOLUME" "$KERNEL" "$LIVE/off.iso" ||
		{ failures=$((failures + 1)); say SKIP "[$prof] record: rebuilding the ISO failed"; return 1; }
	if ! boot "$DEMO/$prof/record" "$LIVE/record.iso" - "$(drive_opts "$prof")" "[$prof] record" \
		"bootcache=record,volume=$LIVE_VOLUME"; then
		failures=$((failures + 1))
		say SKIP "[$prof] replay: the record boot failed"
		return 1
	fi
	rm -f "$hist" "$pl"
	if python3 "$REPORT" history "$DEMO/$prof/record" "$hist"; then
		say HISTORY "[$prof] from the guest's result channel ($(stat -c %s "$hist") bytes)"
	else
		failures=$((failures + 1))
		say SKIP "[$prof] replay: the record boot sent no history (does the kernel know bootcache=record,volume=?)"
		grep -a 'bootcache' "$DEMO/$prof/record/console.log" | tail -n 5 | sed 's/\r$//; s/^/    | /'
		return 1
	fi
	"$TOOL_BIN" info "$hist" >"$DEMO/$prof/history.info" 2>&1 || true
	echo record >"$DEMO/$prof/history.from"
	if "$TOOL_BIN" convert "$hist" -o "$pl" >"$DEMO/$prof/convert.log" 2>&1; then
		say PLAYLIST "[$prof] bootcache convert $hist -o $pl"
	else
		failures=$((failures + 1))
		say SKIP "[$prof] replay: bootcache convert failed: $(head -c 300 "$DEMO/$prof/convert.log")"
		return 1
	fi
	# RECORDS > 1: tune boots. A boot served from the cache reads the disc
	# in other pieces than a cold boot does: its reads take no time, so
	# the page cache's read-ahead windows over the squashfs grow
	# otherwise, and a read that runs past a playlist extent's end
	# misses. Each tune boot boots the disc with the playlist so far
	# built in and bootcache=auto,record (step 8 of "Live media" in the
	# admin guide); its history, hits and misses alike, is made into a
	# playlist and merged into the one so far (`bootcache merge`: a block
	# in both stays in the earlier batch).
	local r tune
	for r in $(seq 2 "$RECORDS"); do
		if ! tune=$(embed_kernel "$pl") ||
			! live_iso tune "bootcache=auto,record" "$tune" "$LIVE/off.iso"; then
			failures=$((failures + 1))
			say SKIP "[$prof] tune $r: building its kernel or ISO failed; the playlist has $((r - 1)) boots"
			break
		fi
		if ! boot "$DEMO/$prof/record-$r" "$LIVE/tune.iso" - "$(drive_opts "$prof")" \
			"[$prof] tune $r" "bootcache=auto,record"; then
			failures=$((failures + 1))
			say SKIP "[$prof] tune $r: the boot failed; the playlist has $((r - 1)) boots"
			break
		fi
		if ! python3 "$REPORT" history "$DEMO/$prof/record-$r" "$hist-$r" ||
			! "$TOOL_BIN" convert "$hist-$r" -o "$pl-$r" >>"$DEMO/$prof/convert.log" 2>&1 ||
			! "$TOOL_BIN" merge "$pl" "$pl-$r" -o "$pl" >>"$DEMO/$prof/convert.log" 2>&1; then
			failures=$((failures + 1))
			say SKIP "[$prof] tune $r: no history, or convert or merge failed ($DEMO/$prof/convert.log)"
			break
		fi
		say PLAYLIST "[$prof] bootcache merge: tune boot $r's playlist merged in ($(stat -c %s "$pl") bytes)"
	done
	"$TOOL_BIN" info "$pl" >"$DEMO/$prof/playlist.info" 2>&1 || true
	plot "$prof" "$hist" "$pl"
	kernel=$(embed_kernel "$pl") || {
		say SKIP "[$prof] replay: building the kernel with the playlist failed ($DEMO/kernel-playlist.log)"
		failures=$((failures + 1))
		return 1
	}
	live_iso replay bootcache=auto "$kernel" "$LIVE/off.iso" ||
		{ failures=$((failures + 1)); say SKIP "[$prof] replay: rebuilding the ISO failed"; return 1; }
	check_medium "$pl" "$LIVE/replay.iso" "$LIVE/record.iso" "$prof" || failures=$((failures + 1))
	set_phase "$prof" control "$LIVE/replay.iso" - "" bootcache=auto
	set_phase "$prof" replay "$LIVE/replay.iso" - "$(drive_opts "$prof")" bootcache=auto
}

# --- The media: the hdd image (settled once), the live ISO. ---
settled=$DEMO/settled.img
case " $PROFILES " in
*" hdd "* | *" unthrottled "* | *" hdd7200 "* | *" hdd5400 "* | *" usb2 "*)
	DEMO_KERNEL_RELEASE=$release DEMO_DEBS=$OUT/deb mk/demo-image.sh "$DEMO" ||
		die "making the Debian image failed"
	# shellcheck source=/dev/null
	. "$DEMO/image.env"
	[ "${DEMO_KERNEL_RELEASE:-}" = "$release" ] ||
		die "the image's initramfs is for '${DEMO_KERNEL_RELEASE:-}', the kernel is '$release'"
	# Settle the image: its first boot, once.
	if [ "$(cat "$settled.stamp" 2>/dev/null)" != "$DEMO_IMAGE_KEY" ]; then
		hdr "settling the image (its first boot)"
		rm -f "$settled" "$settled.stamp"
		copy "$DEMO_IMAGE" "$settled.tmp" || die "copying the image failed"
		initrd_of "$settled.tmp" "$DEMO/settle.initrd"
		boot "$DEMO/settle" "$settled.tmp" "$KERNEL" "" "[settle] first boot" "bootcache=off" \
			"$DEMO/settle.initrd" ||
			die "the first boot of the image failed (logs: $DEMO/settle)"
		mv "$settled.tmp" "$settled"
		echo "$DEMO_IMAGE_KEY" >"$settled.stamp"
	fi
	;;
esac
case " $PROFILES " in
*" dvd "* | *" dvd-seek "*)
	hdr "the live ISO (mk/live-iso.sh)"
	live_iso off bootcache=off || die "making the live ISO failed"
	;;
esac
[ -x "$TOOL_BIN" ] || die "no tool binary at $TOOL_BIN"

for prof in $PROFILES; do
	rm -rf "${DEMO:?}/$prof"
	mkdir -p "$DEMO/$prof"
	case $prof in
	unthrottled)
		hdr "unthrottled: $RUNS boots (the bound)"
		phase unthrottled bound "$RUNS" "$settled" "$KERNEL" "" bootcache=off
		;;
	hdd | hdd7200 | hdd5400 | usb2)
		hdr "$prof: $(drive_opts "$prof")"
		# Every hdd boot has the image's initramfs, as the installed
		# system boots: these three the settled image's (no playlist in
		# it yet), the replay boots the one the record boot rebuilt.
		initrd_of "$settled" "$DEMO/$prof/initrd.settled"
		set_phase "$prof" bound "$settled" "$KERNEL" "" bootcache=off "$DEMO/$prof/initrd.settled"
		set_phase "$prof" baseline "$settled" "$KERNEL" "$(drive_opts "$prof")" bootcache=off \
			"$DEMO/$prof/initrd.settled"
		record_and_replay "$prof" "$settled" "$(drive_opts "$prof")" "$DEMO/$prof/initrd.settled"
		rounds "$prof"
		;;
	dvd | dvd-seek)
		hdr "$prof: $(drive_opts "$prof") (ide-cd, -boot d, isolinux)"
		dvd_profile "$prof"
		rounds "$prof"
		;;
	esac
	miss_kinds "$prof"
	rm -f "$DEMO/$prof/recorded.img"
done

hdr "results"
drives=()
for prof in $PROFILES; do
	drives+=(--drive "$prof=$(drive_opts "$prof")")
done
qemu_ver=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
python3 "$REPORT" report "$DEMO" --profiles "$PROFILES" "${drives[@]}" \
	--guest "QEMU $qemu_ver, -accel $DEMO_ACCEL, -cpu $DEMO_CPU, $SMP vCPUs, $MEM MiB" \
	-o "$DEMO/report.json" --markdown "$DEMO/report.md" ||
	failures=$((failures + 1))
total=$(($(date +%s) - demo_start))
printf '\nmake demo: %d:%02d in all; JSON: %s; Markdown: %s; logs: %s/<profile>/<phase>-<n>/\n' \
	$((total / 60)) $((total % 60)) "$DEMO/report.json" "$DEMO/report.md" "$DEMO"
if [ $failures -gt 0 ]; then
	printf 'make demo: %d boot(s) or step(s) FAILED (see above)\n' $failures >&2
	exit 1
fi
