#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/demo-image.sh [OUTDIR]: the Debian 12 disk image `make demo` boots.
#
# Makes OUTDIR/debian.img (default OUTDIR: out/demo): a raw disk with an MBR
# partition table and one ext4 partition from 1 MiB to the end (PARTUUID
# $PARTUUID), holding a minimal Debian 12 (bookworm) with systemd, made with
# debootstrap (its default mirror; apt's own configuration inside the image).
# No initramfs: the demo kernel has everything built in and mounts
# root=PARTUUID=... itself.
#
# What the image adds to a plain `debootstrap --variant=minbase` system:
#   - systemd-sysv, udev, e2fsprogs, dbus, procps (what a minimal installed
#     Debian boots with; nothing else, no network configuration);
#   - hostname, /etc/hosts, a fixed machine-id (every boot of every copy is
#     the same machine, so no boot is a "first boot" but the settling one),
#     /etc/fstab naming the root by PARTUUID, default target multi-user;
#   - apt-daily*.timer disabled (they never run at boot anyway);
#   - bootcache-demo-done.service: once multi-user.target is reached it
#     writes the result lines (below) to the second serial port (or the
#     console), then powers the machine off;
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
#   stat NAME VALUE              /sys/kernel/bootcache/stats/NAME
#   note TEXT                    anything unusual
#   history-begin / history-end  base64 of /sys/kernel/bootcache/history
#                                between them (recording boots), for media the
#                                guest cannot save it to (read-only root)
#   done                         last line, just before the power-off

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$TOP/out/demo}
SUITE=bookworm
PACKAGES=systemd-sysv,udev,e2fsprogs,dbus,procps
IMAGE_MIB=${DEMO_IMAGE_MIB:-1024}
# MBR disk signature; the partition's PARTUUID is SIGNATURE-01.
DISK_SIGNATURE=b00cde00
PARTUUID=$DISK_SIGNATURE-01
MACHINE_ID=b00cace0de0000000000000000000001
TOOL=$TOP/tools/bootcache

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/demo-image: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
for c in debootstrap mkfs.ext4 sfdisk debugfs sha256sum cargo; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done
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
if [ -d "$bc" ]; then
	# A recording boot (bootcache=record, bootcache=auto,record): give the
	# tool's units time to stop recording and save the history
	# (bootcache-stop.timer: 30 s after multi-user by default), and to
	# finish. Other boots may record too (the units start a session that
	# records), but nothing needs their history: they power off at once.
	if grep -Eq '(^| )bootcache=[^ ]*record' /proc/cmdline &&
		[ "$(cat "$bc/recording" 2>/dev/null)" = 1 ]; then
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
	for f in "$bc"/*; do
		case ${f##*/} in history | playlist | control | stats) continue ;; esac
		[ -f "$f" ] && [ -r "$f" ] && say "bootcache ${f##*/} $(cat "$f")"
	done
	for f in "$bc"/stats/*; do
		[ -r "$f" ] && say "stat $(basename "$f") $(cat "$f")"
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
		echo "$base_key $IMAGE_MIB"
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
EOF
echo "$key" >"$IMG.stamp"
say IMAGE "done: $(du -m "$IMG" | cut -f1) MiB used of ${IMAGE_MIB} MiB"
