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
#   - /etc/default/bootcache with BOOTCACHE_SAVE_DELAY=2s (the default is
#     30s): bootcache-stop.service saves the history and playlist and
#     rebuilds the initramfs 2 s after multi-user.target, while the marker
#     (below) waits for it;
#   - bootcache-demo-done.service: once multi-user.target is reached it
#     writes the result lines (below) to the second serial port (or the
#     console), then powers the machine off. When bootcache is on (there is
#     a /sys/kernel/bootcache) and bootcache-stop.timer is active, it first
#     waits until bootcache-stop.service has finished (saved the files and
#     rebuilt the initramfs), so the disk the boot leaves has them;
#   - the bootcache tool, built static from tools/bootcache, and whatever
#     tools/bootcache/install.sh DESTDIR installs (its systemd units, with
#     BOOTCACHE_BIN pointing at the static binary); then the boot cycle's
#     units (bootcache-start.service, bootcache-stop.timer) are enabled.
#     When install.sh does not exist the step is skipped with a message; the
#     image is rebuilt once it appears (it is one of the inputs below).
#
# The image is rebuilt only when an input changes: this script (which holds
# the package list and the guest's files), tools/bootcache/install.sh and
# what it installs (systemd/*, etc/default/*, initramfs-tools/; not the
# README), and the static tool binary. The debootstrap
# tree itself is cached separately (OUTDIR/rootfs-base) and redone only when
# the package list changes. Needs root (debootstrap, chroot).
#
# The guest's result lines (one per line, prefix "BOOTCACHE-DEMO: "):
#   multi-user SECONDS ANALYZE   SECONDS: CLOCK_MONOTONIC time (since the
#                                kernel started) at which multi-user.target
#                                became active; ANALYZE: systemd-analyze time
#   uptime SECONDS               /proc/uptime when the marker started
#   cmdline ...                  /proc/cmdline
#   diskstat DEV FIELDS...       /sys/block/DEV/stat at multi-user (field 3:
#                                sectors read)
#   blame TIME UNIT              the slowest units (systemd-analyze blame)
#   failed UNIT                  each failed unit, once the boot finished
#   system-state STATE           systemctl is-system-running
#   failed-log UNIT TEXT         the last lines of its journal
#   bootcache FILE VALUE         each text file of /sys/kernel/bootcache
#                                (state, recording, reason, boot, tunables)
#   stat NAME VALUE              /sys/kernel/bootcache/stats/NAME once the
#                                boot finished (before the stop unit ran)
#   stat-end NAME VALUE          the same after bootcache-stop.service (when
#                                the marker waited for it)
#   stop-unit RESULT WAITED      how bootcache-stop.service ended (systemd's
#                                Result) and how long the marker waited, s
#   unit-log UNIT TEXT           the journal of bootcache-start.service and
#                                bootcache-stop.service (their last lines)
#   saved NAME SIZE              the files in /var/lib/bootcache at the end
#   note TEXT                    anything unusual
#   history-begin / history-end  base64 of /sys/kernel/bootcache/history
#                                between them (recording boots), for media the
#                                guest cannot save it to (read-only root)
#   done                         last line, just before the power-off

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$TOP/out/demo}
SUITE=bookworm
PACKAGES=systemd-sysv,udev,e2fsprogs,dbus,procps,initramfs-tools,initramfs-tools-core,klibc-utils,kmod,cpio,busybox
IMAGE_MIB=${DEMO_IMAGE_MIB:-1024}
# MBR disk signature; the partition's PARTUUID is SIGNATURE-01.
DISK_SIGNATURE=b00cde00
PARTUUID=$DISK_SIGNATURE-01
MACHINE_ID=b00cace0de0000000000000000000001
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

# --- 1. The debootstrap tree, cached by its package list. ---
base=$OUTDIR/rootfs-base
base_key=$(printf '%s %s minbase\n' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
if [ "$(cat "$base.stamp" 2>/dev/null)" != "$base_key" ]; then
	say DEBOOT "Debian $SUITE minbase + $PACKAGES (about a minute)"
	rm -rf "$base" "$base.tmp" "$base.stamp"
	start=$(date +%s)
	debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$base.tmp" \
		>"$OUTDIR/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$OUTDIR/debootstrap.log" >&2; die "debootstrap failed (log: $OUTDIR/debootstrap.log)"; }
	chroot "$base.tmp" apt-get clean
	mv "$base.tmp" "$base"
	echo "$base_key" >"$base.stamp"
	say DEBOOT "done in $(($(date +%s) - start)) s"
fi

# --- 2. The static tool (cargo is incremental: cheap when unchanged). ---
tool_bin=
if [ -f "$TOOL/Cargo.toml" ]; then
	if RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
		--manifest-path "$TOOL/Cargo.toml" --target x86_64-unknown-linux-gnu \
		--target-dir "$OUTDIR/tool-target" >"$OUTDIR/tool-build.log" 2>&1; then
		tool_bin=$OUTDIR/tool-target/x86_64-unknown-linux-gnu/release/bootcache
	else
		cat "$OUTDIR/tool-build.log" >&2
		die "building the static bootcache tool failed"
	fi
fi

# --- 3. The guest's own files (part of this script, so of its hash). ---
guest_files() {
	local root=$1
	mkdir -p "$root/usr/local/sbin" "$root/etc/systemd/system/multi-user.target.wants"
	cat >"$root/etc/systemd/system/bootcache-demo-done.service" <<'EOF'
# make demo: report how long the boot took, then power off.
# Pulled in by multi-user.target and ordered after it, so it starts once
# multi-user.target is reached. Type=simple so that its job completes at
# once and the boot can finish (systemd-analyze time) while it runs.
[Unit]
Description=bootcache demo: report the boot time and power off
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/bootcache-demo-done
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
	ln -sf ../bootcache-demo-done.service \
		"$root/etc/systemd/system/multi-user.target.wants/bootcache-demo-done.service"
	cat >"$root/usr/local/sbin/bootcache-demo-done" <<'EOF'
#!/bin/sh
# make demo's marker: result lines for the host, then power off.
# Boot with systemd.mask=bootcache-demo-done.service to keep the machine up.
out=/dev/ttyS1
# The second serial port is the host's result channel; without it, the
# console.
[ -c "$out" ] && stty -F "$out" raw -echo 2>/dev/null || out=/dev/console
say() { printf 'BOOTCACHE-DEMO: %s\n' "$*" >"$out"; }

read -r up _ </proc/uptime
mu=$(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)
mu=$(awk -v u="$mu" 'BEGIN { printf "%.3f", u / 1e6 }')
disk=$(findmnt -n -o SOURCE / | sed 's|^/dev/||; s|[0-9]*$||; s|p$||')
# vda1 -> vda; anything else: the first disk with a stat file.
[ -f "/sys/block/$disk/stat" ] || disk=$(ls /sys/block | grep -v -e '^loop' -e '^ram' | head -n 1)
diskstat=$(cat "/sys/block/$disk/stat" 2>/dev/null | tr -s ' ' | sed 's/^ //')

# Let the boot finish (every start-up job done) for systemd-analyze.
timeout 120 systemctl is-system-running --wait >/dev/null 2>&1 || true
state=$(systemctl is-system-running 2>/dev/null)
analyze=$(systemd-analyze time 2>&1 | tr '\n' ' ' | sed 's/  */ /g; s/ $//')

say "uptime $up"
say "multi-user $mu $analyze"
say "cmdline $(cat /proc/cmdline)"
say "diskstat $disk $diskstat"
say "system-state $state"
systemd-analyze blame --no-pager 2>/dev/null | head -n 8 | while read -r l; do
	say "blame $l"
done
systemctl list-units --failed --plain --no-legend 2>/dev/null | while read -r unit _; do
	say "failed $unit"
	journalctl -b -u "$unit" -n 4 -o cat --no-pager 2>/dev/null | while read -r l; do
		say "failed-log $unit $l"
	done
done

bc=/sys/kernel/bootcache
cs() {
	read -r u _ </proc/uptime
	echo "${u%.*}${u#*.}" | sed 's/^0*//; s/^$/0/'
}
stats() {
	for f in "$bc"/stats/*; do
		[ -r "$f" ] && say "$1 $(basename "$f") $(cat "$f")"
	done
}
if [ -d "$bc" ]; then
	for f in "$bc"/*; do
		case ${f##*/} in history | playlist | control | stats) continue ;; esac
		[ -f "$f" ] && [ -r "$f" ] && say "bootcache ${f##*/} $(cat "$f")"
	done
	# The boot's figures, before the stop unit (and what it runs) adds its
	# own reads.
	stats stat
	# The tool's boot cycle: bootcache-stop.timer fires BOOTCACHE_SAVE_DELAY
	# after multi-user.target; bootcache-stop.service saves the history and
	# the next playlist, then rebuilds the initramfs (ExecStartPost). Wait
	# until it has finished, so that the disk this boot leaves holds what it
	# saved. A oneshot stays "activating" through ExecStartPost; once done it
	# is inactive (or failed) with its main process's exit time set.
	# Times from /proc/uptime in centiseconds (a poll's systemctl calls take
	# a while under TCG; counting polls would undercount); at most 300 s.
	res=
	if [ "$(systemctl show -P ActiveState bootcache-stop.timer 2>/dev/null)" = active ]; then
		t0=$(cs)
		while :; do
			st=$(systemctl show -P ActiveState bootcache-stop.service 2>/dev/null)
			ex=$(systemctl show -P ExecMainExitTimestampMonotonic bootcache-stop.service 2>/dev/null)
			[ "$st" != activating ] && [ -n "$ex" ] && [ "$ex" != 0 ] && break
			[ $(($(cs) - t0)) -lt 30000 ] || { st=not-finished; break; }
			sleep 0.5
		done
		res=$(systemctl show -P Result bootcache-stop.service 2>/dev/null)
		[ "$st" != not-finished ] || res=not-finished
		say "stop-unit $res $(awk -v n=$(($(cs) - t0)) 'BEGIN { printf "%.1f", n / 100 }')"
		stats stat-end
	fi
	for u in bootcache-start.service bootcache-stop.service; do
		journalctl -b -u "$u" -n 8 -o cat --no-pager 2>/dev/null | while read -r l; do
			say "unit-log $u $l"
		done
	done
	# A recording boot whose history the stop unit did not save (no units,
	# or a read-only root): let recording stop (the unit stops it even when
	# it cannot save), wait for the other jobs, and send the history on the
	# result channel.
	if grep -Eq '(^| )bootcache=[^ ]*record' /proc/cmdline && [ "$res" != success ]; then
		n=0
		while [ "$(cat "$bc/recording" 2>/dev/null)" = 1 ] && [ $n -lt 600 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ "$(cat "$bc/recording" 2>/dev/null)" = 1 ]; then
			say "note still recording 60 s after the boot finished: the demo stops it"
			echo stop >"$bc/control" || say "note writing stop failed"
		fi
		n=0
		while [ -n "$(systemctl list-jobs --no-legend 2>/dev/null)" ] && [ $n -lt 300 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ -r "$bc/history" ] && cat "$bc/history" >/run/bootcache-demo.history 2>/dev/null; then
			say "history-begin $(stat -c %s /run/bootcache-demo.history)"
			base64 -w 76 /run/bootcache-demo.history | sed 's/^/BOOTCACHE-DEMO: | /' >"$out"
			say "history-end"
		fi
	fi
	for f in /var/lib/bootcache/*; do
		[ -f "$f" ] && say "saved ${f##*/} $(stat -c %s "$f")"
	done
fi
say done
sync
systemctl --no-block poweroff
EOF
	chmod 755 "$root/usr/local/sbin/bootcache-demo-done"
}

# --- 4. The image's key: everything that goes into it. ---
key=$(
	{
		sha256sum "$0" | cut -d' ' -f1
		echo "$base_key $IMAGE_MIB kernel $KRELEASE"
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

echo bootcache-demo >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbootcache-demo\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
	>"$root/etc/hosts"
echo "$MACHINE_ID" >"$root/etc/machine-id"
cat >"$root/etc/fstab" <<EOF
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
PARTUUID=$PARTUUID	/	ext4	errors=remount-ro	0	1
EOF
chroot "$root" systemctl set-default multi-user.target >/dev/null 2>&1
chroot "$root" systemctl disable apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
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
# The demo's save delay: 2 s after multi-user.target instead of 30 s.
if [ -f "$root/etc/default/bootcache" ]; then
	sed -i 's/^BOOTCACHE_SAVE_DELAY=.*/BOOTCACHE_SAVE_DELAY=2s/' "$root/etc/default/bootcache"
	grep -q '^BOOTCACHE_SAVE_DELAY=2s$' "$root/etc/default/bootcache" ||
		echo 'BOOTCACHE_SAVE_DELAY=2s' >>"$root/etc/default/bootcache"
fi

# The initramfs for the demo kernel, made in a chroot of the tree (nothing
# to mount: mkinitramfs needs neither /proc nor /dev for this).
say INITRD "update-initramfs -c -k $KRELEASE (COMPRESS=gzip, MODULES=list)"
conf=$root/etc/initramfs-tools/initramfs.conf
[ -f "$conf" ] || die "no $conf: is initramfs-tools in the package list?"
sed -i -e 's/^COMPRESS=.*/COMPRESS=gzip/' -e 's/^MODULES=.*/MODULES=list/' "$conf"
echo RESUME=none >"$root/etc/initramfs-tools/conf.d/resume"
mkdir -p "$root/lib/modules/$KRELEASE"
for f in modules.order modules.builtin modules.builtin.modinfo; do
	: >"$root/lib/modules/$KRELEASE/$f"
done
if [ -n "$KCONFIG" ]; then
	cp "$KCONFIG" "$root/boot/config-$KRELEASE"
else
	# mkinitramfs checks the kernel's config for the compressor.
	printf 'CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\n' >"$root/boot/config-$KRELEASE"
fi
chroot "$root" update-initramfs -c -k "$KRELEASE" >"$OUTDIR/initramfs.log" 2>&1 ||
	{ cat "$OUTDIR/initramfs.log" >&2; die "update-initramfs -c -k $KRELEASE failed"; }
[ -s "$root/boot/initrd.img-$KRELEASE" ] || die "update-initramfs made no /boot/initrd.img-$KRELEASE"
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
