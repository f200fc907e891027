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
TIMEOUT=300
MEM=512
APPEND=
EXTRA_TESTS=
DISK_MIB=64
# The slow disk (vdd): throttled by QEMU, so reads can catch up with
# read-ahead and wait for it.
SLOW_BPS=2097152

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
  -a ARGS      extra kernel command line arguments
  -x DIR       extra test scripts to install and run beside the kselftests
               (used to check that the harness catches failures)
  -e VAR=VALUE an environment variable for the tests (repeatable)
  -r           boot from an ext4 root disk holding the same tree (/dev/vde,
               root=/dev/vde) instead of an initramfs
  -O           attach the throttled disk (/dev/vdd) read-only, as an
               optical medium would be
  -U           no KUnit (kunit.enable=0): only the kselftests count
  -h           this help

Logs: DIR/console.log (kernel console, KUnit), DIR/kselftest.log (TAP).
EOF
}

die() { printf 'vmtest: error: %s\n' "$*" >&2; exit 2; }

TEST_ENV=
ROOTDISK=
SLOW_RO=
NO_KUNIT=
while getopts "k:K:o:t:m:a:x:e:rOUh" opt; do
	case $opt in
	k) KERNEL=$OPTARG ;;
	K) KSRC=$OPTARG ;;
	o) OUT=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	m) MEM=$OPTARG ;;
	a) APPEND=$OPTARG ;;
	x) EXTRA_TESTS=$OPTARG ;;
	e) TEST_ENV="$TEST_ENV
export $OPTARG" ;;
	r) ROOTDISK=1 ;;
	O) SLOW_RO=,readonly=on ;;
	U) NO_KUNIT=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -f "$KERNEL" ] || die "no kernel image '$KERNEL' (-k)"
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
	local img=$1 seed=$2 sig=${3:-}
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
	if [ -n "$sig" ]; then
		printf 'label: dos\nlabel-id: 0x%s\nstart=2048, type=83\n' "$sig" |
			sfdisk -q "$img" >/dev/null || return 1
	fi
	# Also the MD5 of every sector of the first 12 MiB, for small reads.
	python3 - "$img" "$ROOT/selftests/bootcache/vmdata/$(basename "$img" .img)" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2] + ".md5", "w") as s, \
        open(sys.argv[2] + ".sectors", "w") as t:
    i = 0
    while chunk := f.read(1 << 20):
        s.write("%d %s\n" % (i, hashlib.md5(chunk).hexdigest()))
        if i < 12:
            for k in range(0, 1 << 20, 512):
                t.write("%d %s\n" % ((i << 11) + k // 512, hashlib.md5(chunk[k:k + 512]).hexdigest()))
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
	INSTALL_PATH="$ROOT/selftests" install >"$OUT/install.log" 2>&1; then
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
for c in "$SELF_DIR"/bench/*.c; do
	gcc -static -O2 -Wall -o "$ROOT/usr/local/bin/$(basename "$c" .c)" "$c" ||
		die "building $c failed"
done
mkdir -p "$ROOT/selftests/bootcache/vmdata"
make_disk "$OUT/disk0.img" 1 || die "making the test disk failed"
make_disk "$OUT/disk1.img" 2 || die "making the spare test disk failed"
make_disk "$OUT/disk2.img" 3 b0075ca0 || die "making the partitioned test disk failed"
make_disk "$OUT/disk3.img" 4 b0075ca1 || die "making the slow test disk failed"

# The tool, linked statically for the guest (which has no libc).
TOOL_DIR=$(cd "$SELF_DIR/../../../bootcache" && pwd)
if ! RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
	--manifest-path "$TOOL_DIR/Cargo.toml" --target x86_64-unknown-linux-gnu \
	--target-dir "$TOOL_TARGET" >"$OUT/tool-build.log" 2>&1; then
	cat "$OUT/tool-build.log" >&2
	die "building the static tool failed"
fi
cp "$TOOL_TARGET/x86_64-unknown-linux-gnu/release/bootcache" "$ROOT/usr/local/bin/"
cat >"$ROOT/vm.env" <<EOF
export BOOTCACHE_TEST_DISK=/dev/vda
export BOOTCACHE_TEST_DISK_SUMS=/selftests/bootcache/vmdata/disk0.md5
export BOOTCACHE_TEST_DISK2=/dev/vdb
export BOOTCACHE_TEST_DISK2_SUMS=/selftests/bootcache/vmdata/disk1.md5
export BOOTCACHE_TEST_PDISK=/dev/vdc
export BOOTCACHE_TEST_PDISK_SUMS=/selftests/bootcache/vmdata/disk2.md5
export BOOTCACHE_TEST_PARTUUID=b0075ca0-01
export BOOTCACHE_TEST_SLOW=/dev/vdd
export BOOTCACHE_TEST_SLOW_SUMS=/selftests/bootcache/vmdata/disk3.md5
export BOOTCACHE_TEST_SLOW_PARTUUID=b0075ca1-01
export BOOTCACHE_TEST_SLOW_BPS=$SLOW_BPS
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
rm -f "$CONSOLE" "$KTAP"
start=$(date +%s.%N)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-nodefaults -no-reboot -display none -monitor none \
	-machine pc -accel tcg -cpu max -smp 1 -m "$MEM" \
	-kernel "$KERNEL" \
	-append "console=ttyS0 panic=-1 $bootargs${NO_KUNIT:+ kunit.enable=0} $APPEND" \
	-serial "file:$CONSOLE" -serial "file:$KTAP" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-drive "file=$OUT/disk0.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk1.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk2.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$OUT/disk3.img,if=virtio,format=raw,snapshot=on$SLOW_RO,throttling.bps-total=$SLOW_BPS,throttling.iops-total=100" \
	"${boot[@]}" \
	</dev/null >"$OUT/qemu.log" 2>&1
rc=$?
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

args=(--console "$CONSOLE" --kselftest "$KTAP" --guest-verdict "$verdict")
[ -z "${RESULTS_FILE:-}" ] || args+=(--counts "$RESULTS_FILE")
[ -z "$NO_KUNIT" ] || args+=(--no-kunit)
for e in "${extra[@]}"; do args+=(--extra-failure "$e"); done
sed 's/\r$//' "$KTAP" | grep -v '^bootcache-vm:' | sed 's/^/  | /'
python3 "$SELF_DIR/ktap_summary.py" "${args[@]}"
