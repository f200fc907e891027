#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/demo-image.sh [OUTDIR]: the Debian 12 disk image `make demo` boots.
#
# Makes OUTDIR/debian.img (default OUTDIR: out/demo): a raw disk with an MBR
# partition table and one ext4 partition from 1 MiB to the end (PARTUUID
# $PARTUUID), holding a minimal Debian 12 (bookworm) with systemd, made with
# debootstrap (its default mirror; apt's own configuration inside the image).
# The demo kernel has everything built in (no modules) and can mount
# root=PARTUUID=... itself; the image also has an initramfs-tools initramfs
# for it (/boot/initrd.img-RELEASE), which the hdd profile boots with, as an
# installed Debian does, so that the tool's initramfs hook and init-top
# script start read-ahead before the root file system is mounted.
#
# Environment: DEMO_DEBS (required: the directory make deb wrote, with one
# bootcache_*.deb and one linux-image-*.deb; they are part of the image's
# key), DEMO_KERNEL_RELEASE (required: the demo kernel's release, which
# must be the kernel package's), DEMO_IMAGE_MIB (1024).
#
# What the image adds to a plain `debootstrap --variant=minbase` system:
#   - systemd-sysv, udev, e2fsprogs, dbus, procps (what a minimal installed
#     Debian boots with; nothing else, no network configuration);
#   - hostname, /etc/hosts, a fixed machine-id (every boot of every copy is
#     the same machine, so no boot is a "first boot" but the settling one),
#     /etc/fstab naming the root by PARTUUID, default target multi-user;
#   - apt-daily*.timer disabled (they never run at boot anyway);
#   - initramfs-tools (with busybox, as apt's Recommends would bring),
#     configured before any kernel is installed: COMPRESS=gzip (the kernel
#     has CONFIG_RD_GZIP), MODULES=list with no modules listed (the kernel
#     has CONFIG_MODULES off: there is nothing to load, and MODULES=dep
#     would look for the root device's driver in the chroot's /sys),
#     RESUME=none (no swap);
#   - the packages of make deb, installed as a user installs them (README,
#     "Install on Debian"): `dpkg -i` of the kernel package and the
#     bootcache package in a chroot of the tree. The kernel's postinst makes
#     /boot/initrd.img-RELEASE (initramfs-tools' /etc/kernel/postinst.d
#     hook); bootcache's enables bootcache-start.service and
#     bootcache-stop.timer. The bootcache hook finds no saved playlist yet:
#     the first initramfs holds the tool only;
#   - /etc/default/bootcache with BOOTCACHE_SAVE_DELAY=0 (the default is
#     30s): bootcache-stop.service stops recording, saves the history and
#     playlist and rebuilds the initramfs as soon as multi-user.target is
#     reached, so the history ends where the demo takes its figures; the
#     marker (below) waits for it;
#   - bootcache-demo-done.service (mk/demo-guest.sh): once multi-user.target
#     (DEMO_TARGET) is reached it takes every figure of the boot at one
#     instant, writes the result lines to the second serial port (or the
#     console), waits for bootcache-stop.service (bounded, reported), ends
#     the bootcache session and powers the machine off;
#
# The image is rebuilt only when an input changes: this script (which holds
# the package list) and mk/demo-guest.sh (the guest's files), DEMO_TARGET,
# and the two packages. The debootstrap tree itself is cached separately
# (OUTDIR/rootfs-base) and redone only when the package list changes. Needs
# root (debootstrap, chroot).
#
# The guest's result lines and the shared parts of the guest (debootstrap,
# the tool, the marker unit, the initramfs): mk/demo-guest.sh.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$TOP/out/demo}
PACKAGES=systemd-sysv,udev,e2fsprogs,dbus,procps,initramfs-tools,initramfs-tools-core,klibc-utils,kmod,cpio,busybox
IMAGE_MIB=${DEMO_IMAGE_MIB:-1024}
# MBR disk signature; the partition's PARTUUID is SIGNATURE-01.
DISK_SIGNATURE=b00cde00
PARTUUID=$DISK_SIGNATURE-01
KRELEASE=${DEMO_KERNEL_RELEASE:-}
DEBS=${DEMO_DEBS:-}

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/demo-image: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
for c in debootstrap mkfs.ext4 sfdisk debugfs sha256sum dpkg-deb; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done
[ -n "$KRELEASE" ] || die "DEMO_KERNEL_RELEASE is not set (the demo kernel's release: the initramfs is made for it)"
[ -n "$DEBS" ] || die "DEMO_DEBS is not set (the directory make deb wrote the packages to)"
# shellcheck source=mk/demo-guest.sh
. "$TOP/mk/demo-guest.sh"
deb_packages "$DEBS"
[ "$(dpkg-deb -f "$kernel_deb" Package)" = "linux-image-$KRELEASE" ] ||
	die "${kernel_deb##*/} is not linux-image-$KRELEASE"
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
IMG=$OUTDIR/debian.img

# --- 1. The debootstrap tree, cached by its package list. ---
base=$OUTDIR/rootfs-base
base_key=$(debootstrap_base "$base" "$PACKAGES" "$OUTDIR/debootstrap.log")

# --- 2. The image's key: everything that goes into it. ---
key=$(
	{
		sha256sum "$0" "$TOP/mk/demo-guest.sh" | cut -d' ' -f1
		echo "$base_key $IMAGE_MIB kernel $KRELEASE target ${DEMO_TARGET:-multi-user.target}"
		sha256sum "$kernel_deb" "$tool_deb"
	} | sha256sum | cut -c1-16
)
if [ -f "$IMG" ] && [ "$(cat "$IMG.stamp" 2>/dev/null)" = "$key" ]; then
	say IMAGE "$IMG is up to date (PARTUUID $PARTUUID)"
	exit 0
fi

say IMAGE "$IMG (${IMAGE_MIB} MiB, PARTUUID $PARTUUID)"
root=$OUTDIR/rootfs
rm -rf "$root" "$IMG" "$IMG.stamp"
cp -a "$base" "$root"

guest_system "$root"
cat >"$root/etc/fstab" <<EOF
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
PARTUUID=$PARTUUID	/	ext4	errors=remount-ro	0	1
EOF
guest_files "$root"

# The packages, as a user installs them: initramfs-tools configured for this
# kernel first, then dpkg -i of both (the kernel's postinst makes the
# initramfs, bootcache's enables the units; the initramfs-tools trigger
# runs once at the end).
guest_initramfs_conf "$root"
mkdir -p "$root/tmp/deb"
cp "$kernel_deb" "$tool_deb" "$root/tmp/deb/"
say DPKG "dpkg -i ${kernel_deb##*/} ${tool_deb##*/}"
chroot "$root" dpkg -i "/tmp/deb/${kernel_deb##*/}" "/tmp/deb/${tool_deb##*/}" \
	>"$OUTDIR/install.log" 2>&1 ||
	{ cat "$OUTDIR/install.log" >&2; die "dpkg -i of the packages failed"; }
rm -rf "$root/tmp/deb"
for u in sysinit.target.wants/bootcache-start.service multi-user.target.wants/bootcache-stop.timer; do
	[ -L "$root/etc/systemd/system/$u" ] || die "the bootcache package did not enable ${u#*/}"
done
[ -s "$root/boot/initrd.img-$KRELEASE" ] ||
	die "installing the kernel package made no /boot/initrd.img-$KRELEASE (see $OUTDIR/install.log)"
# shellcheck disable=SC2016 # dpkg-query's ${field}, not the shell's
say DPKG "$(chroot "$root" dpkg-query -W -f '${Package} ${Version}, ' linux-image-"$KRELEASE" bootcache |
	sed 's/, $//'); units enabled"
say INITRD "/boot/initrd.img-$KRELEASE: $(($(stat -c %s "$root/boot/initrd.img-$KRELEASE") / 1024)) KiB"
# The demo's save delay: 0, so recording stops at multi-user.target (the
# figures are taken there; a history that ran on would hold reads the boot
# to the target never made) instead of 30 s after it. An administrator's
# edit of the conffile; the initramfs does not read it.
sed -i 's/^BOOTCACHE_SAVE_DELAY=.*/BOOTCACHE_SAVE_DELAY=0/' "$root/etc/default/bootcache"
grep -q '^BOOTCACHE_SAVE_DELAY=0$' "$root/etc/default/bootcache" ||
	echo 'BOOTCACHE_SAVE_DELAY=0' >>"$root/etc/default/bootcache"

# The filesystem from the tree (no mount needed), then the disk around it.
part_mib=$((IMAGE_MIB - 1))
rm -f "$OUTDIR/part.img"
truncate -s "${part_mib}M" "$OUTDIR/part.img"
mkfs.ext4 -q -L debian -d "$root" "$OUTDIR/part.img" "${part_mib}M" ||
	die "mkfs.ext4 -d failed"
truncate -s "${IMAGE_MIB}M" "$IMG.tmp"
printf 'label: dos\nlabel-id: 0x%s\nstart=2048, type=83\n' "$DISK_SIGNATURE" | sfdisk -q "$IMG.tmp"
dd if="$OUTDIR/part.img" of="$IMG.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$OUTDIR/part.img"
rm -rf "$root"
mv "$IMG.tmp" "$IMG"
cat >"$OUTDIR/image.env" <<EOF
DEMO_IMAGE=$IMG
DEMO_PARTUUID=$PARTUUID
DEMO_PART_OFFSET=1048576
DEMO_IMAGE_KEY=$key
DEMO_KERNEL_RELEASE=$KRELEASE
DEMO_INITRD=/boot/initrd.img-$KRELEASE
EOF
echo "$key" >"$IMG.stamp"
say IMAGE "done: $(du -m "$IMG" | cut -f1) MiB used of ${IMAGE_MIB} MiB"
