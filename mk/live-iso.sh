#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/live-iso.sh [-f FROM.iso] -o OUT.iso WORKDIR: a Debian 12 live ISO for
# the project's kernel (make demo PROFILE=dvd).
#
# The ISO boots through its own boot loader from a DVD drive (El Torito,
# isolinux) or, written to a USB stick, from its hybrid MBR (isohdpfx.bin):
#
#   /isolinux/isolinux.bin, ldlinux.c32, isolinux.cfg  the BIOS boot loader
#                                            (Debian's isolinux and
#                                            syslinux-common) and its
#                                            configuration: one entry,
#                                            booted at once
#   /live/filesystem.squashfs                the root file system (zstd)
#   /live/vmlinuz, /live/initrd.img          the kernel (LIVE_KERNEL) and an
#                                            initramfs-tools initramfs with
#                                            live-boot, made for its release
#
# At boot live-boot (boot=live) finds the disc, mounts it on
# /run/live/medium, loop-mounts the squashfs and puts a tmpfs over it
# (overlay) as the root. The kernel needs configs/live.config (FLAVOR=boot).
#
# Without -f it builds WORKDIR's root tree and squashfs if their inputs
# changed, then the ISO. With -f FROM.iso it is a rebuild: the same root tree
# and squashfs (FROM.iso must have been made from them), a new kernel and/or
# kernel command line, and FROM.iso's identity; the script fails if the
# squashfs does not sit at the same place (LBA) as on FROM.iso or if blkid
# does not show the same UUID and LABEL. That is what a built-in bootcache
# playlist needs: it names the medium by the PVD's creation date and label
# (iso9660:UUID:LABELCRC, Documentation/admin-guide/bootcache.rst) and its
# extents are byte ranges of the disc.
#
# Identity: the PVD's creation and modification dates (blkid's UUID) are
# pinned with xorriso's --modification-date to LIVE_DATE, by default the
# date at which the squashfs was made (WORKDIR/filesystem.squashfs.date):
# a new root is a new disc, a rebuild of the same root is the same disc.
# The volume label (-V, blkid's LABEL) is LIVE_LABEL (BOOTCACHE_LIVE).
#
# Place of the squashfs: a sort weight puts its data first, right after the
# ISO's directories and before isolinux's files and /live/vmlinuz and
# /live/initrd.img, so a rebuild with another kernel (e.g. the same kernel
# with a playlist built in), another initramfs or another isolinux.cfg does
# not move it. OUT.iso.layout lists every file's LBA (xorriso report_lba).
#
# Environment:
#   LIVE_KERNEL          the bzImage (required)
#   LIVE_KERNEL_RELEASE  its release (required; the initramfs is made for it)
#   LIVE_KERNEL_CONFIG   its .config (mkinitramfs checks the compressor);
#                        modules.builtin beside it goes into /lib/modules
#   LIVE_APPEND          kernel arguments for isolinux.cfg's entry besides
#                        "boot=live console=ttyS0 panic=-1 kunit.enable=0",
#                        e.g. bootcache=off or
#                        bootcache=record,volume=iso9660:UUID:CRC
#   LIVE_LABEL           the volume label (BOOTCACHE_LIVE; not with -f)
#   LIVE_DATE            16 digits YYYYMMDDhhmmsscc (not with -f)
#   LIVE_TOOL_TARGET     cargo target dir for the static tool
#                        (WORKDIR/tool-target)
#
# Writes OUT.iso, OUT.iso.layout, and OUT.iso.env (shell variables:
# LIVE_ISO, LIVE_UUID, LIVE_LABEL, LIVE_VOLUME (the bootcache volume text),
# LIVE_SQUASHFS_LBA, LIVE_SQUASHFS_BLOCKS, LIVE_CMDLINE).
#
# Cache (everything under WORKDIR): WORKDIR/live-base, the debootstrap tree,
# redone when the package list changes; WORKDIR/filesystem.squashfs and
# WORKDIR/initrd.img, redone when their inputs change (this script,
# mk/demo-guest.sh, the tool binary, the kernel's release and .config).
# Needs root (debootstrap, chroot).

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
PACKAGES=systemd-sysv,udev,e2fsprogs,dbus,procps,initramfs-tools,initramfs-tools-core,klibc-utils,kmod,cpio,busybox,live-boot,live-boot-initramfs-tools
ISOLINUX_DIR=/usr/lib/ISOLINUX
SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
BASE_ARGS="boot=live console=ttyS0 panic=-1 kunit.enable=0"

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/live-iso: error: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: mk/live-iso.sh [-f FROM.iso] -o OUT.iso WORKDIR" >&2; exit 2; }

from=''
iso=''
while getopts f:o: opt; do
	case $opt in
	f) from=$OPTARG ;;
	o) iso=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
{ [ $# -eq 1 ] && [ -n "$iso" ]; } || usage
WORKDIR=$1
KERNEL=${LIVE_KERNEL:-}
KRELEASE=${LIVE_KERNEL_RELEASE:-}
KCONFIG=${LIVE_KERNEL_CONFIG:-}
APPEND=${LIVE_APPEND:-}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
for c in debootstrap mksquashfs xorriso blkid python3 sha256sum cargo; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done
for f in "$ISOLINUX_DIR/isolinux.bin" "$ISOLINUX_DIR/isohdpfx.bin" "$SYSLINUX_BIOS/ldlinux.c32"; do
	[ -f "$f" ] || die "no $f (run 'make setup': isolinux, syslinux-common)"
done
[ -f "$KERNEL" ] || die "LIVE_KERNEL='$KERNEL' is not a file (the bzImage)"
[ -n "$KRELEASE" ] || die "LIVE_KERNEL_RELEASE is not set"
[ -z "$KCONFIG" ] || [ -f "$KCONFIG" ] || die "LIVE_KERNEL_CONFIG=$KCONFIG does not exist"
[ -z "$from" ] || [ -f "$from" ] || die "-f $from: no such file"
mkdir -p "$WORKDIR" "$(dirname "$iso")"
WORKDIR=$(cd "$WORKDIR" && pwd)

# shellcheck source=mk/demo-guest.sh
. "$TOP/mk/demo-guest.sh"

# pvd_identity ISO: "DATE LABEL" from the primary volume descriptor (the
# creation date's 16 digits, the label without its padding).
pvd_identity() {
	python3 - "$1" <<'EOF'
import sys
with open(sys.argv[1], "rb") as f:
    f.seek(32768)
    pvd = f.read(2048)
if pvd[0] != 1 or pvd[1:6] != b"CD001":
    sys.exit("no ISO 9660 primary volume descriptor")
print(pvd[813:829].decode("ascii"), pvd[40:72].decode("ascii").rstrip(" "))
EOF
}

# volume_text DATE LABEL: bootcache's name of the medium,
# iso9660:YYYY-MM-DD-hh-mm-ss-cc:CRC, CRC the CRC-32C of the PVD's 32-byte
# volume identifier as stored (space padded).
volume_text() {
	python3 - "$1" "$2" <<'EOF'
import sys
d, label = sys.argv[1], sys.argv[2]
crc = 0xFFFFFFFF
for b in label.encode("ascii").ljust(32, b" ")[:32]:
    crc ^= b
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
crc ^= 0xFFFFFFFF
uuid = "-".join([d[0:4]] + [d[i:i + 2] for i in range(4, 16, 2)])
print("iso9660:%s:%08x" % (uuid, crc))
EOF
}

# squashfs_place ISO: "LBA BLOCKS" of /live/filesystem.squashfs.
squashfs_place() {
	xorriso -indev "$1" -find /live/filesystem.squashfs -exec report_lba -- 2>/dev/null |
		awk -F' *, *' '/^File data lba:/ { print $2, $3 }'
}

# --- 1. The root tree, its squashfs and the initramfs, cached. ---
tool_bin=$(build_tool "${LIVE_TOOL_TARGET:-$WORKDIR/tool-target}")
base=$WORKDIR/live-base
base_key=$(debootstrap_base "$base" "$PACKAGES" "$WORKDIR/debootstrap.log")
squash=$WORKDIR/filesystem.squashfs
initrd=$WORKDIR/initrd.img
builtin=
[ -z "$KCONFIG" ] || [ ! -f "$(dirname "$KCONFIG")/modules.builtin" ] ||
	builtin=$(dirname "$KCONFIG")/modules.builtin
key=$(
	{
		sha256sum "$0" "$TOP/mk/demo-guest.sh" | cut -d' ' -f1
		echo "$base_key kernel $KRELEASE target ${DEMO_TARGET:-multi-user.target}"
		[ -z "$KCONFIG" ] || sha256sum <"$KCONFIG"
		[ -z "$builtin" ] || sha256sum <"$builtin"
		[ -z "$tool_bin" ] || sha256sum <"$tool_bin"
	} | sha256sum | cut -c1-16
)
if [ -n "$from" ]; then
	[ "$(cat "$squash.stamp" 2>/dev/null)" = "$key" ] ||
		die "-f $from: the root tree in $WORKDIR is gone or out of date (inputs changed): a rebuild needs the squashfs $from was made from"
elif [ "$(cat "$squash.stamp" 2>/dev/null)" != "$key" ] || [ ! -f "$initrd" ]; then
	root=$WORKDIR/live-root
	say LIVE "root tree $root"
	rm -rf "$root" "$squash" "$squash.stamp" "$initrd"
	cp -a "$base" "$root"
	guest_system "$root"
	# live-boot writes the live system's own /etc/fstab (the overlay).
	: >"$root/etc/fstab"
	guest_files "$root"
	# The tool, not its boot cycle: a live system has nowhere to save a
	# playlist; its playlist goes into the kernel (make kernel PLAYLIST=).
	[ -z "$tool_bin" ] || install -m 755 "$tool_bin" "$root/usr/sbin/bootcache"
	start=$(date +%s)
	say INITRD "update-initramfs -c -k $KRELEASE (live-boot; COMPRESS=gzip, MODULES=list)"
	guest_initramfs "$root" "$KRELEASE" "$KCONFIG" "$builtin"
	mv "$root/boot/initrd.img-$KRELEASE" "$initrd.tmp"
	say INITRD "$(($(stat -c %s "$initrd.tmp") / 1024)) KiB in $(($(date +%s) - start)) s"
	# One-time work a first boot would do in every live boot (the overlay
	# starts empty each time): the hwdb, and ConditionNeedsUpdate's stamps.
	chroot "$root" systemd-hwdb update >/dev/null 2>&1 || true
	touch "$root/etc/.updated" "$root/var/.updated"
	rm -rf "$root/var/cache/apt"/*.bin "$root/var/lib/apt/lists"/* "$root/tmp"/*
	start=$(date +%s)
	say SQUASH "mksquashfs (zstd) $squash"
	nice -n 19 mksquashfs "$root" "$squash.tmp" -noappend -no-progress -comp zstd \
		>"$WORKDIR/mksquashfs.log" 2>&1 ||
		{ tail -n 20 "$WORKDIR/mksquashfs.log" >&2; die "mksquashfs failed"; }
	say SQUASH "$(($(stat -c %s "$squash.tmp") / 1048576)) MiB in $(($(date +%s) - start)) s"
	rm -rf "$root"
	mv "$initrd.tmp" "$initrd"
	mv "$squash.tmp" "$squash"
	date -u +%Y%m%d%H%M%S00 >"$squash.date"
	echo "$key" >"$squash.stamp"
fi

# --- 2. Identity. ---
if [ -n "$from" ]; then
	read -r date label < <(pvd_identity "$from") || die "-f $from: no ISO 9660 PVD"
	[ -z "${LIVE_DATE:-}" ] || [ "$LIVE_DATE" = "$date" ] || die "-f and LIVE_DATE disagree"
	[ -z "${LIVE_LABEL:-}" ] || [ "$LIVE_LABEL" = "$label" ] || die "-f and LIVE_LABEL disagree"
else
	date=${LIVE_DATE:-$(cat "$squash.date")}
	label=${LIVE_LABEL:-BOOTCACHE_LIVE}
fi
[[ $date =~ ^[0-9]{16}$ ]] || die "the volume date must be 16 digits, not '$date'"
[[ $label =~ ^[A-Z0-9_]{1,32}$ ]] || die "the volume label must be 1 to 32 of A-Z 0-9 _, not '$label'"
volume=$(volume_text "$date" "$label")

# --- 3. The ISO. ---
tree=$WORKDIR/iso-tree
rm -rf "$tree"
mkdir -p "$tree/isolinux" "$tree/live"
cp "$ISOLINUX_DIR/isolinux.bin" "$SYSLINUX_BIOS/ldlinux.c32" "$tree/isolinux/"
cp "$KERNEL" "$tree/live/vmlinuz"
cp "$initrd" "$tree/live/initrd.img"
cmdline="$BASE_ARGS${APPEND:+ $APPEND}"
cat >"$tree/isolinux/isolinux.cfg" <<EOF
# Made by mk/live-iso.sh: one entry, booted at once; the boot loader's
# messages go to the first serial port too.
serial 0 115200
default live
prompt 0
timeout 0
label live
	kernel /live/vmlinuz
	append initrd=/live/initrd.img $cmdline
EOF
say ISO "$iso ($label, $volume)"
start=$(date +%s)
rm -f "$iso.tmp"
# --sort-weight: the squashfs's data first (see the top).
nice -n 19 xorriso -as mkisofs -o "$iso.tmp" -V "$label" --modification-date="$date" \
	-r -J -graft-points \
	-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
	-boot-info-table -isohybrid-mbr "$ISOLINUX_DIR/isohdpfx.bin" \
	--sort-weight 1000 /live/filesystem.squashfs \
	"$tree" live/filesystem.squashfs="$squash" >"$WORKDIR/xorriso.log" 2>&1 ||
	{ tail -n 20 "$WORKDIR/xorriso.log" >&2; die "xorriso failed"; }
xorriso -indev "$iso.tmp" -find / -type f -exec report_lba -- 2>/dev/null |
	grep -E '^(Report layout|File data lba)' >"$iso.layout.tmp"
read -r lba blocks < <(squashfs_place "$iso.tmp") || die "no /live/filesystem.squashfs in $iso.tmp"

# --- 4. Checks: identity as blkid sees it, the squashfs's place. ---
uuid=$(blkid -o value -s UUID "$iso.tmp")
blabel=$(blkid -o value -s LABEL "$iso.tmp")
[ "$uuid" = "$(volume_text "$date" "$label" | cut -d: -f2)" ] ||
	die "blkid shows UUID '$uuid', not the pinned date $date"
[ "$blabel" = "$label" ] || die "blkid shows LABEL '$blabel', not $label"
[ "$(pvd_identity "$iso.tmp")" = "$date $label" ] || die "the PVD does not hold $date $label"
if [ -n "$from" ]; then
	{ [ "$uuid" = "$(blkid -o value -s UUID "$from")" ] &&
		[ "$blabel" = "$(blkid -o value -s LABEL "$from")" ]; } ||
		die "the rebuild's identity ($uuid, $blabel) differs from $from's"
	read -r flba fblocks < <(squashfs_place "$from") || die "no /live/filesystem.squashfs in $from"
	{ [ "$lba" = "$flba" ] && [ "$blocks" = "$fblocks" ]; } ||
		die "the rebuild moved the squashfs: LBA $lba ($blocks blocks) here, $flba ($fblocks blocks) on $from"
	say ISO "rebuild of $from: the same UUID $uuid and LABEL $label, squashfs still at LBA $lba"
fi
mv "$iso.tmp" "$iso"
mv "$iso.layout.tmp" "$iso.layout"
cat >"$iso.env" <<EOF
LIVE_ISO=$(realpath "$iso")
LIVE_UUID=$uuid
LIVE_LABEL=$label
LIVE_VOLUME=$volume
LIVE_SQUASHFS_LBA=$lba
LIVE_SQUASHFS_BLOCKS=$blocks
LIVE_CMDLINE="$cmdline"
EOF
say ISO "$(($(stat -c %s "$iso") / 1048576)) MiB in $(($(date +%s) - start)) s; squashfs at LBA $lba ($blocks blocks of 2 KiB); blkid: UUID=$uuid LABEL=$label"
