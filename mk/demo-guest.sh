# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# mk/demo-guest.sh: what the demo's guests share, sourced by
# mk/demo-image.sh (the hdd profile's installed Debian on a disk image) and
# mk/live-iso.sh (the dvd profile's Debian live ISO). Both include this
# file's hash in their cache keys. Functions (the caller defines say and
# die, and runs as root):
#
#   debootstrap_base DIR PACKAGES LOG
#       DIR: a Debian 12 (bookworm) `debootstrap --variant=minbase` tree with
#       PACKAGES (comma-separated), made with debootstrap's default mirror;
#       cached by its suite and package list (DIR.stamp). Prints its key.
#   build_tool TARGET_DIR
#       Builds tools/bootcache static (crt-static) into TARGET_DIR and prints
#       the binary's path (nothing when the tool has no Cargo.toml).
#   guest_system ROOT
#       hostname, /etc/hosts, a fixed machine-id (every boot of every copy is
#       the same machine, so no boot is a "first boot"), default target
#       multi-user, apt-daily*.timer disabled (they never run at boot anyway).
#   guest_files ROOT
#       bootcache-demo-done.service and its script (below).
#   guest_initramfs ROOT RELEASE CONFIG [MODULES_BUILTIN]
#       initramfs-tools for the demo kernel (CONFIG_MODULES off, everything
#       built in): COMPRESS=gzip (the kernel has CONFIG_RD_GZIP),
#       MODULES=list with no modules listed (there is nothing to load, and
#       MODULES=dep would look for the root device's driver in the chroot's
#       /sys), RESUME=none (no swap); /lib/modules/RELEASE with
#       modules.order and modules.builtin for depmod (MODULES_BUILTIN, the
#       kernel build's list, when given: then `modprobe squashfs` and the
#       like succeed for built-in drivers; else empty), /boot/config-RELEASE
#       (CONFIG, where mkinitramfs checks that the kernel can unpack its
#       compression), then `update-initramfs -c -k RELEASE` in a chroot of
#       the tree (nothing to mount: mkinitramfs needs neither /proc nor /dev
#       for this), which makes /boot/initrd.img-RELEASE.
#
# bootcache-demo-done.service: once multi-user.target is reached it writes
# the result lines (below) to the second serial port (or the console), then
# powers the machine off. When bootcache is on (there is a
# /sys/kernel/bootcache) and bootcache-stop.timer is active, it first waits
# until bootcache-stop.service has finished (saved the files and rebuilt the
# initramfs), so the disk the boot leaves has them.
#
# The guest's result lines (one per line, prefix "BOOTCACHE-DEMO: "):
#   start                        written first, as soon as the marker runs
#                                (the host notes when it arrives)
#   multi-user SECONDS ANALYZE   SECONDS: CLOCK_MONOTONIC time (since the
#                                kernel started) at which multi-user.target
#                                became active; ANALYZE: systemd-analyze time
#   uptime SECONDS               /proc/uptime when the marker started
#   cmdline ...                  /proc/cmdline
#   diskstat DEV FIELDS...       /sys/block/DEV/stat at multi-user (field 3:
#                                sectors read); DEV is the root's disk, or
#                                on a live system the live medium's (sr0)
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
#                                guest cannot save it to (read-only root, or
#                                a live system's tmpfs); with no stop unit
#                                the marker stops recording itself
#   done                         last line, just before the power-off

SUITE=bookworm
MACHINE_ID=b00cace0de0000000000000000000001

debootstrap_base() {
	local base=$1 packages=$2 log=$3 key start
	key=$(printf '%s %s minbase\n' "$SUITE" "$packages" | sha256sum | cut -c1-16)
	if [ "$(cat "$base.stamp" 2>/dev/null)" != "$key" ]; then
		say DEBOOT "Debian $SUITE minbase + $packages (a minute or two)" >&2
		rm -rf "$base" "$base.tmp" "$base.stamp"
		start=$(date +%s)
		debootstrap --variant=minbase --include="$packages" "$SUITE" "$base.tmp" \
			>"$log" 2>&1 ||
			{ tail -n 30 "$log" >&2; die "debootstrap failed (log: $log)"; }
		chroot "$base.tmp" apt-get clean
		mv "$base.tmp" "$base"
		echo "$key" >"$base.stamp"
		say DEBOOT "done in $(($(date +%s) - start)) s" >&2
	fi
	echo "$key"
}

build_tool() {
	local target=$1 tool=$TOP/tools/bootcache
	[ -f "$tool/Cargo.toml" ] || return 0
	mkdir -p "$target"
	if RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
		--manifest-path "$tool/Cargo.toml" --target x86_64-unknown-linux-gnu \
		--target-dir "$target" >"$target/tool-build.log" 2>&1; then
		echo "$target/x86_64-unknown-linux-gnu/release/bootcache"
	else
		cat "$target/tool-build.log" >&2
		die "building the static bootcache tool failed"
	fi
}

guest_system() {
	local root=$1
	echo bootcache-demo >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tbootcache-demo\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$root/etc/hosts"
	echo "$MACHINE_ID" >"$root/etc/machine-id"
	chroot "$root" systemctl set-default multi-user.target >/dev/null 2>&1
	chroot "$root" systemctl disable apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
}

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
# At once: the host notes when this line arrives (its wall time to here).
say start

read -r up _ </proc/uptime
mu=$(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)
mu=$(awk -v u="$mu" 'BEGIN { printf "%.3f", u / 1e6 }')
src=$(findmnt -n -o SOURCE /)
# A live system's root is an overlay: its medium is what live-boot mounted
# on /run/live/medium (/dev/sr0 for a DVD).
case $src in /dev/*) ;; *) src=$(findmnt -n -o SOURCE /run/live/medium 2>/dev/null) ;; esac
case $src in
/dev/sr*) disk=${src#/dev/} ;;
*) disk=$(echo "$src" | sed 's|^/dev/||; s|[0-9]*$||; s|p$||') ;;
esac
# vda1 -> vda, sr0 -> sr0; anything else: the first disk with a stat file.
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
		# No stop unit at all (a live medium has none enabled: its playlist
		# goes into the kernel, not the initramfs): the boot has finished
		# (is-system-running --wait above), so stop recording now.
		if [ -z "$res" ] && [ "$(cat "$bc/recording" 2>/dev/null)" = 1 ]; then
			echo stop >"$bc/control" || say "note writing stop failed"
		fi
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


guest_initramfs() {
	local root=$1 release=$2 kconfig=$3 builtin=${4:-} log=$1.initramfs.log conf f
	conf=$root/etc/initramfs-tools/initramfs.conf
	[ -f "$conf" ] || die "no $conf: is initramfs-tools in the package list?"
	sed -i -e 's/^COMPRESS=.*/COMPRESS=gzip/' -e 's/^MODULES=.*/MODULES=list/' "$conf"
	echo RESUME=none >"$root/etc/initramfs-tools/conf.d/resume"
	mkdir -p "$root/lib/modules/$release"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		: >"$root/lib/modules/$release/$f"
	done
	[ -z "$builtin" ] || cp "$builtin" "$root/lib/modules/$release/modules.builtin"
	if [ -n "$kconfig" ]; then
		cp "$kconfig" "$root/boot/config-$release"
	else
		# mkinitramfs checks the kernel's config for the compressor.
		printf 'CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\n' >"$root/boot/config-$release"
	fi
	chroot "$root" update-initramfs -c -k "$release" >"$log" 2>&1 ||
		{ cat "$log" >&2; die "update-initramfs -c -k $release failed"; }
	[ -s "$root/boot/initrd.img-$release" ] || die "update-initramfs made no /boot/initrd.img-$release"
	rm -f "$log"
}
