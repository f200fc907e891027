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
# Environment: DEMO_KERNEL_RELEASE (required: the demo kernel's release,
# out/build/boot/include/config/kernel.release; the initramfs is made for
# it and it is part of the image's key), DEMO_KERNEL_CONFIG (that kernel's
# .config, copied to /boot/config-RELEASE, where mkinitramfs checks that
# the kernel can unpack its compression), DEMO_IMAGE_MIB (1024).
#
# What the image adds to a plain `debootstrap --variant=minbase` system:
#   - systemd-sysv, udev, e2fsprogs, dbus, procps (what a minimal installed
#     Debian boots with; nothing else, no network configuration);
#   - hostname, /etc/hosts, a fixed machine-id (every boot of every copy is
#     the same machine, so no boot is a "first boot" but the settling one),
#     /etc/fstab naming the root by PARTUUID, default target multi-user;
#   - apt-daily*.timer disabled (they never run at boot anyway);
#   - initramfs-tools (with busybox, as apt's Recommends would bring):
#     COMPRESS=gzip (the kernel has CONFIG_RD_GZIP), MODULES=list with no
#     modules listed (the kernel has CONFIG_MODULES off: there is nothing to
#     load, and MODULES=dep would look for the root device's driver in the
#     chroot's /sys), RESUME=none (no swap); /lib/modules/RELEASE with empty
#     modules.order and modules.builtin for depmod, /boot/config-RELEASE,
#     and `update-initramfs -c -k RELEASE` run in a chroot of the tree
#     before mkfs, so /boot/initrd.img-RELEASE exists. Its bootcache hook
#     finds no saved playlist yet: the first initramfs holds the tool only;
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
#   - the bootcache tool, built static from tools/bootcache, and whatever
#     tools/bootcache/install.sh DESTDIR installs (its systemd units, with
#     BOOTCACHE_BIN pointing at the static binary); then the boot cycle's
#     units (bootcache-start.service, bootcache-stop.timer) are enabled.
#     When install.sh does not exist the step is skipped with a message; the
#     image is rebuilt once it appears (it is one of the inputs below).
#
# The image is rebuilt only when an input changes: this script (which holds
# the package list) and mk/demo-guest.sh (the guest's files), DEMO_TARGET,
# tools/bootcache/install.sh and
# what it installs (systemd/*, etc/default/*, initramfs-tools/; not the
# README), and the static tool binary. The debootstrap
# tree itself is cached separately (OUTDIR/rootfs-base) and redone only when
# the package list changes. Needs root (debootstrap, chroot).
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
TOOL=$TOP/tools/bootcache
KRELEASE=${DEMO_KERNEL_RELEASE:-}
KCONFIG=${DEMO_KERNEL_CONFIG:-}

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/demo-image: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
for c in debootstrap mkfs.ext4 sfdisk debugfs sha256sum cargo; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done
[ -n "$KRELEASE" ] || die "DEMO_KERNEL_RELEASE is not set (the demo kernel's release: the initramfs is made for it)"
[ -z "$KCONFIG" ] || [ -f "$KCONFIG" ] || die "DEMO_KERNEL_CONFIG=$KCONFIG does not exist"
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
IMG=$OUTDIR/debian.img

# shellcheck source=mk/demo-guest.sh
. "$TOP/mk/demo-guest.sh"

# --- 1. The debootstrap tree, cached by its package list. ---
base=$OUTDIR/rootfs-base
base_key=$(debootstrap_base "$base" "$PACKAGES" "$OUTDIR/debootstrap.log")

# --- 2. The static tool (cargo is incremental: cheap when unchanged). ---
tool_bin=$(build_tool "$OUTDIR/tool-target")

# --- 4. The image's key: everything that goes into it. ---
key=$(
	{
		sha256sum "$0" "$TOP/mk/demo-guest.sh" | cut -d' ' -f1
		echo "$base_key $IMAGE_MIB kernel $KRELEASE target ${DEMO_TARGET:-multi-user.target}"
		[ -z "$KCONFIG" ] || sha256sum <"$KCONFIG"
		[ -z "$tool_bin" ] || sha256sum <"$tool_bin"
		for f in "$TOOL/install.sh" "$TOOL"/systemd/* "$TOOL"/etc/default/* \
			$(find "$TOOL/initramfs-tools" -type f 2>/dev/null | sort); do
			if [ -f "$f" ]; then echo "${f#"$TOP"/}"; sha256sum <"$f"; fi
		done
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

# The tool and its units.
if [ -f "$TOOL/install.sh" ]; then
	say INSTALL "tools/bootcache/install.sh $root"
	BOOTCACHE_BIN=$tool_bin DESTDIR=$root bash "$TOOL/install.sh" "$root" \
		>"$OUTDIR/install.log" 2>&1 ||
		{ cat "$OUTDIR/install.log" >&2; die "tools/bootcache/install.sh failed"; }
	# install.sh installs; the image turns the boot cycle on, as its
	# administrator would.
	units=
	for u in bootcache-start.service bootcache-stop.timer; do
		[ -f "$root/usr/lib/systemd/system/$u" ] && units="$units $u"
	done
	if [ -n "$units" ]; then
		# shellcheck disable=SC2086 # a list of unit names
		chroot "$root" systemctl enable $units >>"$OUTDIR/install.log" 2>&1 ||
			die "systemctl enable$units failed (see $OUTDIR/install.log)"
		say ENABLE "$units"
	fi
else
	say SKIP "tools/bootcache/install.sh does not exist yet: no bootcache units in the image"
fi
if [ -n "$tool_bin" ] && ! ls "$root"/{usr/,usr/local/,}{bin,sbin}/bootcache >/dev/null 2>&1; then
	install -m 755 "$tool_bin" "$root/usr/sbin/bootcache"
fi
mkdir -p "$root/var/lib/bootcache"
# The demo's save delay: 0, so recording stops at multi-user.target (the
# figures are taken there; a history that ran on would hold reads the boot
# to the target never made) instead of 30 s after it.
if [ -f "$root/etc/default/bootcache" ]; then
	sed -i 's/^BOOTCACHE_SAVE_DELAY=.*/BOOTCACHE_SAVE_DELAY=0/' "$root/etc/default/bootcache"
	grep -q '^BOOTCACHE_SAVE_DELAY=0$' "$root/etc/default/bootcache" ||
		echo 'BOOTCACHE_SAVE_DELAY=0' >>"$root/etc/default/bootcache"
fi

# The initramfs for the demo kernel, made in a chroot of the tree.
say INITRD "update-initramfs -c -k $KRELEASE (COMPRESS=gzip, MODULES=list)"
guest_initramfs "$root" "$KRELEASE" "$KCONFIG"
say INITRD "/boot/initrd.img-$KRELEASE: $(($(stat -c %s "$root/boot/initrd.img-$KRELEASE") / 1024)) KiB"

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
