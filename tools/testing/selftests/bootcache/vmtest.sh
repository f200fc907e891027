#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel in QEMU (TCG), run KUnit and the bootcache kselftests in it,
# and summarise the results. See usage() below.

set -uo pipefail

SELF_DIR=$(cd "$(dirname "$0")" && pwd)
KERNEL=
KSRC=
OUT=out/vm
# Generous: four vCPUs share the host's cores under TCG (two on the CI
# machine), and a loaded host slows them further; a hang still ends the run.
TIMEOUT=900
MEM=512
# vCPUs: the tests run with real concurrency on an SMP, preemptible kernel
# (test.config), on QEMU's multi-threaded TCG (one host thread per vCPU). Each
# vCPU is a socket of its own: the test kernel has no ACPI and finds CPUs in
# SeaBIOS's MP table, which lists only the first CPU of each package.
SMP=4
APPEND=
EXTRA_TESTS=
DISK_MIB=64
# The slow disk (vdd): throttled by QEMU, so reads can catch up with
# read-ahead and wait for it.
SLOW_BPS=2097152
# The two CD media's identities: CD0_PVD, CD1_PVD.
# shellcheck source=vm/cd-media.sh
. "$SELF_DIR/vm/cd-media.sh"

usage() {
	cat <<EOF
Usage: $0 -k BZIMAGE -K KERNEL_SOURCE [options]

Builds a busybox initramfs holding the installed bootcache kselftests, makes
disk images with known content, boots BZIMAGE in QEMU under TCG with those
disks on virtio and a serial console, and checks the run:

  - KUnit's KTAP (from the kernel log) and the kselftests' TAP (from the
    second serial port) are parsed; every plan must be met;
  - the kernel log must show no oops, BUG, WARNING, panic, KASAN, lockdep,
    kmemleak or hung-task report;
  - the guest's own verdict comes back as QEMU's exit status through the
    isa-debug-exit device, and the run must end within the time limit.

It prints "N passed, N failed, N skipped" last and exits non-zero when
anything failed.

Options:
  -k BZIMAGE   kernel to boot
  -K DIR       kernel source tree with bootcache applied (for the selftests)
  -o DIR       work and log directory (default: $OUT)
  -t SECONDS   time limit for the VM (default: $TIMEOUT)
  -m MIB       guest memory (default: $MEM)
  -s N         number of vCPUs (default: $SMP)
  -a ARGS      extra kernel command line arguments
  -x DIR       extra test scripts to install and run beside the kselftests
               (used to check that the harness catches failures, and by
               make soak); its C programs are built for the guest too
  -e VAR=VALUE an environment variable for the tests (repeatable)
  -r           boot from an ext4 root disk holding the same tree (/dev/vde,
               root=/dev/vde) instead of an initramfs
  -O           attach the throttled disk (/dev/vdd) read-only, as an
               optical medium would be
  -U           no KUnit (kunit.enable=0): only the kselftests count
  -c MEDIUM    the medium in the CD drive at power-on: cd0.img (default)
               or cd1.img
  -C IMAGE     use a copy of IMAGE (a live ISO, say) as cd0.img instead of
               the generated medium
  -D OPTS      more -drive options for the CD drive cd0, e.g. a throttle:
               throttling.iops-total=20,throttling.bps-total=8388608
  -f FILE      copy FILE into the guest's /selftests/bootcache/vmdata/
               (data for -x tests; repeatable)
  -T PROGRAM   copy a host program (fio, dmsetup) with its shared libraries
               and the dynamic loader into the guest (repeatable)
  -h           this help

Besides the four test disks the guest has an emulated CD/DVD drive (ide-cd
on the PIIX IDE, drive cd0, medium cd0.img; cd1.img is a second medium of
other known content; each carries an ISO 9660 primary volume descriptor,
so it has an identity: see CD0_PVD and CD1_PVD), a disk whose reads of some sectors fail (QEMU
blkdebug) and a hot-pluggable disk (virtio-blk-pci id hotdisk). Guest tests
ask the host for actions on them (eject, media change, hot unplug and plug)
through common.sh's bc_host, over a third serial port that vm/hostchan.py
serves with QEMU's monitor (QMP on DIR/qmp.sock).

Logs: DIR/console.log (kernel console, KUnit), DIR/kselftest.log (TAP),
DIR/hostchan.log (host actions).
EOF
}

die() { printf 'vmtest: error: %s\n' "$*" >&2; exit 2; }

TEST_ENV=
ROOTDISK=
SLOW_RO=
NO_KUNIT=
HOST_PROGS=
CD_FIRST=cd0.img
CD0_IMAGE=
CD0_OPTS=
DATA_FILES=()
while getopts "k:K:o:t:m:s:a:x:e:c:C:D:f:rOUT:h" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	K) KSRC=$OPTARG ;;
	o) OUT=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	m) MEM=$OPTARG ;;
	s) SMP=$OPTARG ;;
	a) APPEND=$OPTARG ;;
	x) EXTRA_TESTS=$OPTARG ;;
	e) TEST_ENV="$TEST_ENV
export $OPTARG" ;;
	c) CD_FIRST=$OPTARG ;;
	C) CD0_IMAGE=$OPTARG ;;
	D) CD0_OPTS=,$OPTARG ;;
	f) DATA_FILES+=("$OPTARG") ;;
	r) ROOTDISK=1 ;;
	O) SLOW_RO=,readonly=on ;;
	U) NO_KUNIT=1 ;;
	T) HOST_PROGS="$HOST_PROGS $OPTARG" ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -f "$KERNEL" ] || die "no kernel image '$KERNEL' (-k)"
case $CD_FIRST in
cd0.img | cd1.img) ;;
*) die "-c wants cd0.img or cd1.img, not '$CD_FIRST'" ;;
esac
[[ "$SMP" =~ ^[1-9][0-9]*$ ]] || die "-s wants a number of vCPUs, not '$SMP'"
[ -d "$KSRC/tools/testing/selftests" ] || die "no kernel source '$KSRC' (-K)"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "busybox is missing (Debian package busybox-static)"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=$OUT/initramfs
CONSOLE=$OUT/console.log
# Where the guest's static tool is built (shared between runs to save time).
TOOL_TARGET=${BOOTCACHE_TOOL_TARGET:-$OUT/tool-target}
KTAP=$OUT/kselftest.log

# Disk images: a deterministic pseudo-random pattern, and the MD5 of every MiB
# for the guest to compare with what it reads.
# make_disk IMAGE SEED [MBR_SIGNATURE]: a deterministic pseudo-random pattern;
# with a signature, also an MBR partition table with one partition from 1 MiB
# to the end (PARTUUID SIGNATURE-01). Then the MD5 of every MiB, for the
# guest to compare with what it reads.
make_disk() {
	local img=$1 seed=$2 sig=${3:-} pvd=${4:-}
	# Rebuilt every run: a few hundred milliseconds, and never stale.
	python3 - "$img" "$seed" "$DISK_MIB" <<'EOF'
import random, sys
img, seed, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(img, "wb") as f:
    for i in range(mib):
        chunk = bytearray(rng.randbytes(1 << 20))
        # Each 4 KiB block starts with its own label, so a read from the
        # wrong place can never match by accident.
        for b in range(0, 1 << 20, 4096):
            label = b"bootcache seed %d block %d\n" % (seed, (i << 20 | b) >> 12)
            chunk[b:b + len(label)] = label
        f.write(chunk)
EOF
	# A disc's identity: an ISO 9660 primary volume descriptor (DATE:LABEL).
	if [ -n "$pvd" ]; then
		python3 "$SELF_DIR/vm/pvd.py" "$img" "${pvd%%:*}" "${pvd#*:}" || return 1
	fi
	if [ -n "$sig" ]; then
		printf 'label: dos\nlabel-id: 0x%s\nstart=2048, type=83\n' "$sig" |
			sfdisk -q "$img" >/dev/null || return 1
	fi
	disk_sums "$img"
}

# disk_sums IMAGE: the MD5 of every MiB of IMAGE, for the guest to compare
# with what it reads; also the MD5 of every sector of the first 12 MiB, for
# small reads, and the CRC-32 of every sector of the disk (little-endian
# 32-bit words), for the soak's readers.
disk_sums() {
	python3 - "$1" "$ROOT/selftests/bootcache/vmdata/$(basename "$1" .img)" <<'EOF'
import hashlib, struct, sys, zlib
with open(sys.argv[1], "rb") as f, open(sys.argv[2] + ".md5", "w") as s, \
        open(sys.argv[2] + ".sectors", "w") as t, open(sys.argv[2] + ".crc", "wb") as c:
    i = 0
    while chunk := f.read(1 << 20):
        s.write("%d %s\n" % (i, hashlib.md5(chunk).hexdigest()))
        c.write(b"".join(struct.pack("<I", zlib.crc32(chunk[k:k + 512]))
                         for k in range(0, 1 << 20, 512)))
        if i < 12:
            for k in range(0, 1 << 20, 512):
                md5 = hashlib.md5(chunk[k:k + 512]).hexdigest()
                t.write("%d %s\n" % ((i << 11) + k // 512, md5))
        i += 1
EOF
}

echo "  VM       initramfs and disks in $OUT"
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,usr/bin,selftests}
cp "$BUSYBOX" "$ROOT/bin/busybox"
install -m 755 "$SELF_DIR/vm/init" "$ROOT/init"
install -m 755 "$SELF_DIR/vm/timeout" "$ROOT/usr/bin/timeout"
if ! make -s -C "$KSRC/tools/testing/selftests" TARGETS=bootcache \
	USERLDFLAGS=-static INSTALL_PATH="$ROOT/selftests" install >"$OUT/install.log" 2>&1; then
	cat "$OUT/install.log" >&2
	die "installing the kselftests failed"
fi
if [ -n "$EXTRA_TESTS" ]; then
	for t in "$EXTRA_TESTS"/*.sh; do
		install -m 755 "$t" "$ROOT/selftests/bootcache/"
		echo "bootcache:$(basename "$t")" >>"$ROOT/selftests/kselftest-list.txt"
	done
fi
# Static helper programs (benchmarks) for the guest, which has no libc.
mkdir -p "$ROOT/usr/local/bin"
for c in "$SELF_DIR"/bench/*.c "$SELF_DIR"/progs/*.c ${EXTRA_TESTS:+"$EXTRA_TESTS"/*.c}; do
	[ -f "$c" ] || continue
	gcc -static -O2 -Wall -o "$ROOT/usr/local/bin/$(basename "$c" .c)" "$c" ||
		die "building $c failed"
done
mkdir -p "$ROOT/selftests/bootcache/vmdata"
make_disk "$OUT/disk0.img" 1 || die "making the test disk failed"
make_disk "$OUT/disk1.img" 2 || die "making the spare test disk failed"
make_disk "$OUT/disk2.img" 3 b0075ca0 || die "making the partitioned test disk failed"
make_disk "$OUT/disk3.img" 4 b0075ca1 || die "making the slow test disk failed"
make_disk "$OUT/disk4.img" 5 b0075ca2 || die "making the failing test disk failed"
make_disk "$OUT/disk5.img" 6 b0075ca3 || die "making the hot-pluggable test disk failed"
if [ -n "$CD0_IMAGE" ]; then
	{ cp --reflink=auto "$CD0_IMAGE" "$OUT/cd0.img" && disk_sums "$OUT/cd0.img"; } ||
		die "copying $CD0_IMAGE as the first CD medium failed"
else
	make_disk "$OUT/cd0.img" 7 "" "$CD0_PVD" || die "making the first CD medium failed"
fi
make_disk "$OUT/cd1.img" 8 "" "$CD1_PVD" || die "making the second CD medium failed"
for f in "${DATA_FILES[@]}"; do
	cp "$f" "$ROOT/selftests/bootcache/vmdata/" || die "copying $f into the guest failed (-f)"
done
# The failing disk: reads that include one of these sectors fail with EIO
# (QEMU blkdebug), one every 3 MiB from MiB 2 on, at varying offsets.
ERR_SECTORS=$(for k in $(seq 2 3 62); do echo $((k * 2048 + k * 389 % 2048)); done | tr '\n' ' ')
for s in $ERR_SECTORS; do
	printf '[inject-error]\nevent = "read_aio"\nerrno = "5"\n'
	printf 'sector = "%d"\nonce = "off"\n\n' "$s"
done >"$OUT/blkdebug.conf"
# Host programs (-T) with their shared libraries and the dynamic loader.
for prog in $HOST_PROGS; do
	path=$(command -v "$prog") || die "no program '$prog' on the host (-T)"
	install -D -m 755 "$path" "$ROOT/usr/bin/$(basename "$path")"
	for lib in $(ldd "$path" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }'); do
		[ -e "$ROOT$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$ROOT$lib"
	done
done

# The tool, linked statically for the guest (which has no libc).
TOOL_DIR=$(cd "$SELF_DIR/../../../bootcache" && pwd)
if ! RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
	--manifest-path "$TOOL_DIR/Cargo.toml" --target x86_64-unknown-linux-gnu \
	--target-dir "$TOOL_TARGET" >"$OUT/tool-build.log" 2>&1; then
	cat "$OUT/tool-build.log" >&2
	die "building the static tool failed"
fi
cp "$TOOL_TARGET/x86_64-unknown-linux-gnu/release/bootcache" "$ROOT/usr/local/bin/"
# The failing and hot-pluggable disks have fixed PCI slots after the others
# (and after the root disk of -r), so they are named after them.
if [ -n "$ROOTDISK" ]; then ERR_DEV=vdf HOT_DEV=vdg; else ERR_DEV=vde HOT_DEV=vdf; fi
cat >"$ROOT/vm.env" <<EOF
export BOOTCACHE_TEST_DISK=/dev/vda
export BOOTCACHE_TEST_DISK_SUMS=/selftests/bootcache/vmdata/disk0.md5
export BOOTCACHE_TEST_DISK2=/dev/vdb
export BOOTCACHE_TEST_DISK2_SUMS=/selftests/bootcache/vmdata/disk1.md5
export BOOTCACHE_TEST_PDISK=/dev/vdc
export BOOTCACHE_TEST_PDISK_SUMS=/selftests/bootcache/vmdata/disk2.md5
export BOOTCACHE_TEST_PARTUUID=b0075ca0-01
# QEMU's name of vdc's drive (-drive if=virtio, the third), for bc_host.
export BOOTCACHE_TEST_PDISK_DRIVE=virtio2
export BOOTCACHE_TEST_SLOW=/dev/vdd
export BOOTCACHE_TEST_SLOW_SUMS=/selftests/bootcache/vmdata/disk3.md5
export BOOTCACHE_TEST_SLOW_PARTUUID=b0075ca1-01
export BOOTCACHE_TEST_SLOW_BPS=$SLOW_BPS
# QEMU's name of vdd's drive (the fourth -drive if=virtio), for bc_host.
export BOOTCACHE_TEST_SLOW_DRIVE=virtio3
export BOOTCACHE_TEST_ERR=/dev/$ERR_DEV
export BOOTCACHE_TEST_ERR_SUMS=/selftests/bootcache/vmdata/disk4.md5
export BOOTCACHE_TEST_ERR_PARTUUID=b0075ca2-01
export BOOTCACHE_TEST_ERR_SECTORS="$ERR_SECTORS"
export BOOTCACHE_TEST_HOT=/dev/$HOT_DEV
export BOOTCACHE_TEST_HOT_SUMS=/selftests/bootcache/vmdata/disk5.md5
export BOOTCACHE_TEST_HOT_PARTUUID=b0075ca3-01
export BOOTCACHE_TEST_HOT_ID=hotdisk
export BOOTCACHE_TEST_CD=/dev/sr0
export BOOTCACHE_TEST_CD_DRIVE=cd0
export BOOTCACHE_TEST_CD_MEDIA="cd0.img cd1.img"
export BOOTCACHE_TEST_CD_FIRST=$CD_FIRST
export BOOTCACHE_TEST_CD_SUMS=/selftests/bootcache/vmdata/cd0.md5
export BOOTCACHE_TEST_CD2_SUMS=/selftests/bootcache/vmdata/cd1.md5
export BOOTCACHE_HOST_CHANNEL=/dev/ttyS2
$TEST_ENV
EOF
(cd "$ROOT" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$OUT/initramfs.cpio.gz" ||
	die "making the initramfs failed"
# With -r the same tree is an ext4 file system on a fifth disk, which the
# kernel mounts itself (no initramfs).
boot=(-initrd "$OUT/initramfs.cpio.gz")
bootargs="rdinit=/init"
if [ -n "$ROOTDISK" ]; then
	rm -f "$OUT/rootfs.img"
	mkfs.ext4 -q -F -d "$ROOT" "$OUT/rootfs.img" \
		$(($(du -sm "$ROOT" | cut -f1) + 32))M || die "making the root disk failed"
	boot=(-drive "file=$OUT/rootfs.img,if=virtio,format=raw,snapshot=on")
	bootargs="root=/dev/vde rw rootwait init=/init"
fi

echo "  VM       booting $KERNEL (time limit ${TIMEOUT} s)"
rm -f "$CONSOLE" "$KTAP" "$OUT/qmp.sock" "$OUT/hostchan.sock"
# The host's side of bc_host: carries out the guest's requests on QEMU's
# monitor. It connects once QEMU has made the sockets.
# The throttle of the slow disks, and the failing disk's drive.
SLOW_THROTTLE="throttling.bps-total=$SLOW_BPS,throttling.iops-total=100"
ERR_DRIVE="if=none,id=errdrv,file=blkdebug:$OUT/blkdebug.conf:$OUT/disk4.img,format=raw"
ERR_DRIVE="$ERR_DRIVE,snapshot=on,throttling.bps-total=$((SLOW_BPS * 2)),throttling.iops-total=200"
HOT_DRIVE="if=none,id=hotdrv,file=$OUT/disk5.img,format=raw,snapshot=on,$SLOW_THROTTLE"
HOT_DEVICE="virtio-blk-pci,drive=hotdrv,id=hotdisk,addr=0x11,serial=hotdisk"
python3 "$SELF_DIR/vm/hostchan.py" "$OUT/qmp.sock" "$OUT/hostchan.sock" "$OUT" "$OUT/hostchan.log" \
	--hotplug "hotdisk=$HOT_DRIVE|$HOT_DEVICE" &
hostchan=$!
start=$(date +%s.%N)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-nodefaults -no-reboot -display none -monitor none \
	-machine pc -accel tcg,thread=multi -cpu max -smp "$SMP,sockets=$SMP" -m "$MEM" \
	-kernel "$KERNEL" \
	-append "console=ttyS0 panic=-1 $bootargs${NO_KUNIT:+ kunit.enable=0} $APPEND" \
	-serial "file:$CONSOLE" -serial "file:$KTAP" \
	-qmp "unix:$OUT/qmp.sock,server=on,wait=off" \
	-chardev "socket,id=hostchan,path=$OUT/hostchan.sock,server=on,wait=off" \
	-serial chardev:hostchan \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-drive "file=$OUT/disk0.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk1.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk2.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk3.img,if=virtio,format=raw,snapshot=on$SLOW_RO,$SLOW_THROTTLE" \
	-drive "$ERR_DRIVE" \
	-device virtio-blk-pci,drive=errdrv,id=errdisk,addr=0x10,serial=errdisk \
	-drive "$HOT_DRIVE" -device "$HOT_DEVICE" \
	-drive "if=none,id=cd0,media=cdrom,file=$OUT/$CD_FIRST,format=raw,readonly=on$CD0_OPTS" \
	-device ide-cd,drive=cd0,id=cd0dev,bus=ide.1,unit=0 \
	"${boot[@]}" \
	</dev/null >"$OUT/qemu.log" 2>&1
rc=$?
kill "$hostchan" 2>/dev/null
wait "$hostchan" 2>/dev/null
secs=$(echo "$(date +%s.%N) - $start" | bc)
printf '  VM       exited with status %d after %.1f s\n' "$rc" "$secs"

extra=()
verdict=0
case $rc in
1) ;; # isa-debug-exit: guest verdict 0, all passed.
3) verdict=1 ;;
124 | 137) extra+=("the VM did not finish within ${TIMEOUT} s (hang?); last console lines:")
	tail -n 20 "$CONSOLE" | sed 's/^/    /' ;;
0) extra+=("the VM stopped without a verdict (kernel panic or reboot)") ;;
*) extra+=("QEMU failed with status $rc: $(head -c 500 "$OUT/qemu.log")") ;;
esac
# The guest must have brought up every vCPU (CONFIG_SMP, NR_CPUS), or the run
# had less concurrency than it claims.
if [ "$SMP" -gt 1 ] && { [ $rc -eq 1 ] || [ $rc -eq 3 ]; } &&
	! grep -Eq "smp: Brought up [0-9]+ nodes?, $SMP CPUs" "$CONSOLE"; then
	brought=$(grep -m1 -o 'smp: Brought up.*' "$CONSOLE" || echo 'no SMP')
	extra+=("the guest did not bring up $SMP CPUs ($brought)")
fi

args=(--console "$CONSOLE" --kselftest "$KTAP" --guest-verdict "$verdict")
[ -z "${RESULTS_FILE:-}" ] || args+=(--counts "$RESULTS_FILE")
[ -z "$NO_KUNIT" ] || args+=(--no-kunit)
for e in "${extra[@]}"; do args+=(--extra-failure "$e"); done
sed 's/\r$//' "$KTAP" | grep -v '^bootcache-vm:' | sed 's/^/  | /'
python3 "$SELF_DIR/ktap_summary.py" "${args[@]}"
