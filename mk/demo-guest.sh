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
#   deb_packages DIR
#       Sets tool_deb and kernel_deb to the one bootcache_*.deb and the one
#       linux-image-*.deb in DIR (make deb's output), or dies.
#   guest_system ROOT
#       hostname, /etc/hosts, a fixed machine-id (every boot of every copy is
#       the same machine, so no boot is a "first boot"), default target
#       multi-user, apt-daily*.timer disabled (they never run at boot anyway).
#   guest_files ROOT
#       bootcache-demo-done.service and its script (below).
#   guest_initramfs_conf ROOT
#       initramfs-tools for the demo kernel (CONFIG_MODULES off, everything
#       built in): COMPRESS=gzip (the kernel has CONFIG_RD_GZIP),
#       MODULES=list with no modules listed (there is nothing to load, and
#       MODULES=dep would look for the root device's driver in the chroot's
#       /sys), RESUME=none (no swap). What mk/demo-image.sh sets before it
#       installs the kernel package.
#   guest_initramfs ROOT RELEASE CONFIG [MODULES_BUILTIN]
#       An initramfs without a kernel package (the live ISO's):
#       guest_initramfs_conf, then /lib/modules/RELEASE with
#       modules.order and modules.builtin for depmod (MODULES_BUILTIN, the
#       kernel build's list, when given: then `modprobe squashfs` and the
#       like succeed for built-in drivers; else empty), /boot/config-RELEASE
#       (CONFIG, where mkinitramfs checks that the kernel can unpack its
#       compression), then `update-initramfs -c -k RELEASE` in a chroot of
#       the tree (nothing to mount: mkinitramfs needs neither /proc nor /dev
#       for this), which makes /boot/initrd.img-RELEASE.
#
#   guest_files uses DEMO_TARGET (default multi-user.target): the unit
#   the marker waits for. The boot must reach it (the default target is
#   multi-user.target); mk/demo-image.sh and mk/live-iso.sh put it in their
#   cache keys.
#
# bootcache-demo-done.service: pulled in by DEMO_TARGET and ordered after it.
# Its first act is the snapshot, one instant for every figure of the boot,
# with shell builtins only (no process started, so a few milliseconds):
#   - on a recording boot with no stop unit enabled (a live medium), it
#     first writes `stop` to /sys/kernel/bootcache/control, so the history
#     ends at the target (an installed system's bootcache-stop.timer fires
#     at the target: BOOTCACHE_SAVE_DELAY=0 in the demo image);
#   - /proc/uptime (the instant), the cpu line of /proc/stat (the guest's
#     CPU time so far), every /sys/block/DEV/stat, every
#     /sys/kernel/bootcache/stats/* file that exists.
# Then it writes the result lines (below) to the second serial port (or the
# console): the snapshot first. When bootcache is on (there is a
# /sys/kernel/bootcache) and bootcache-stop.timer is enabled, it waits until
# bootcache-stop.service has finished (saved the files and rebuilt the
# initramfs) or was skipped by a condition, at most 300 s, and reports how
# long. Then what the boot did (systemd-analyze, failed units) once
# `systemctl is-system-running --wait` returns (at most 120 s). It then
# ends the session (`jettison` to control, unless it already ended), takes
# the end snapshot, and powers the machine off.
#
# The guest's result lines (one per line, prefix "BOOTCACHE-DEMO: "):
#   start                        written as soon as the snapshot is taken
#                                (the host notes when it arrives)
#   uptime SECONDS               /proc/uptime at the snapshot
#   target UNIT SECONDS          CLOCK_MONOTONIC time (since the kernel
#                                started) at which UNIT (DEMO_TARGET) became
#                                active (ActiveEnterTimestampMonotonic)
#   record-stop HOW              none, marker (the marker stopped recording
#                                before the snapshot) or failed
#   clk-tck N                    the unit of /proc/stat's fields (USER_HZ)
#   cpu FIELDS...                /proc/stat's cpu line at the snapshot
#   diskstat DEV FIELDS...       /sys/block/DEV/stat at the snapshot (field
#                                3: sectors read); DEV is the root's disk,
#                                or on a live system the live medium's (sr0)
#   stat NAME VALUE              /sys/kernel/bootcache/stats/NAME at the
#                                snapshot
#   system-state STATE           systemctl is-system-running
#   analyze TEXT                 systemd-analyze time
#   cmdline ...                  /proc/cmdline
#   blame TIME UNIT              the slowest units (systemd-analyze blame)
#   failed UNIT                  each failed unit, once the boot finished
#   failed-log UNIT TEXT         the last lines of its journal
#   bootcache FILE VALUE         each text file of /sys/kernel/bootcache
#                                (state, recording, reason, boot, tunables)
#   stop-unit RESULT WAITED      how bootcache-stop.service ended (systemd's
#                                Result, or skipped, or not-finished) and how
#                                long the marker waited for it, s
#   unit-log UNIT TEXT           the journal of bootcache-start.service and
#                                bootcache-stop.service (their last lines)
#   history-begin / history-end  base64 of /sys/kernel/bootcache/history
#                                between them (recording boots whose stop
#                                unit did not save it: a read-only root, or
#                                a live system's tmpfs)
#   saved NAME SIZE              the files in /var/lib/bootcache at the end
#   session-end HOW REASON       jettison (the marker ended the session),
#                                already-idle or jettison-failed
#   stat-end NAME VALUE          every stats file after the session ended
#   bootcache-end FILE VALUE     state and reason after the session ended
#   uptime-end SECONDS           /proc/uptime at the end snapshot
#   diskstat-end DEV FIELDS...   /sys/block/DEV/stat at the end snapshot
#   note TEXT                    anything unusual
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

deb_packages() {
	local dir=$1 debs
	shopt -s nullglob
	debs=("$dir"/bootcache_*.deb)
	[ ${#debs[@]} -eq 1 ] || die "not one $dir/bootcache_*.deb but ${#debs[@]}: run 'make deb' first"
	# shellcheck disable=SC2034 # for the caller
	tool_deb=${debs[0]}
	debs=("$dir"/linux-image-*.deb)
	[ ${#debs[@]} -eq 1 ] || die "not one $dir/linux-image-*.deb but ${#debs[@]}: run 'make deb' first"
	# shellcheck disable=SC2034 # for the caller
	kernel_deb=${debs[0]}
	shopt -u nullglob
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
	local root=$1 target=${DEMO_TARGET:-multi-user.target}
	mkdir -p "$root/usr/local/sbin" "$root/etc/systemd/system/$target.wants"
	cat >"$root/etc/systemd/system/bootcache-demo-done.service" <<EOF
# make demo: report how long the boot took, then power off.
# Pulled in by $target and ordered after it, so it starts once
# $target is reached. Type=simple so that its job completes at
# once and the boot can finish (systemd-analyze time) while it runs.
[Unit]
Description=bootcache demo: report the boot time and power off
After=$target

[Service]
Type=simple
ExecStart=/usr/local/sbin/bootcache-demo-done
StandardOutput=journal+console

[Install]
WantedBy=$target
EOF
	ln -sf ../bootcache-demo-done.service \
		"$root/etc/systemd/system/$target.wants/bootcache-demo-done.service"
	sed "s|@DEMO_TARGET@|$target|" >"$root/usr/local/sbin/bootcache-demo-done" <<'EOF'
#!/bin/sh
# make demo's marker: result lines for the host, then power off.
# Boot with systemd.mask=bootcache-demo-done.service to keep the machine up.
target=@DEMO_TARGET@
bc=/sys/kernel/bootcache

# --- The instant: the target has just been reached. ---
# Shell builtins only (read, echo, printf), no process started, so that every
# figure below is taken within a few milliseconds of the others.
# A recording boot with no stop unit (a live medium: nowhere to save, no
# units enabled): stop recording first, so that its history ends here.
rec=0
[ -r "$bc/recording" ] && read -r rec <"$bc/recording"
recstop=none
if [ "$rec" = 1 ] && [ ! -e /etc/systemd/system/multi-user.target.wants/bootcache-stop.timer ]; then
	if echo stop >"$bc/control" 2>/dev/null; then recstop=marker; else recstop=failed; fi
fi
read -r up _ </proc/uptime
read -r cpu </proc/stat
snap_disks=
for f in /sys/block/*/stat; do
	d=${f%/stat}
	d=${d##*/}
	case $d in loop* | ram* | zram*) continue ;; esac
	read -r l <"$f" && snap_disks="$snap_disks$d $l
"
done
snap_stats=
if [ -d "$bc/stats" ]; then
	for f in "$bc"/stats/*; do
		read -r v 2>/dev/null <"$f" && snap_stats="$snap_stats${f##*/} $v
"
	done
fi

out=/dev/ttyS1
# The second serial port is the host's result channel; without it, the
# console.
[ -c "$out" ] && stty -F "$out" raw -echo 2>/dev/null || out=/dev/console
say() { printf 'BOOTCACHE-DEMO: %s\n' "$*" >"$out"; }
# The host notes when this line arrives (its wall time to here).
say start

tt=$(systemctl show -P ActiveEnterTimestampMonotonic "$target")
say "uptime $up"
say "target $target $(awk -v u="$tt" 'BEGIN { printf "%.3f", u / 1e6 }')"
say "record-stop $recstop"
say "clk-tck $(getconf CLK_TCK 2>/dev/null || echo 100)"
say "$cpu"
src=$(findmnt -n -o SOURCE /)
# A live system's root is an overlay: its medium is what live-boot mounted
# on /run/live/medium (/dev/sr0 for a DVD).
case $src in /dev/*) ;; *) src=$(findmnt -n -o SOURCE /run/live/medium 2>/dev/null) ;; esac
case $src in
/dev/sr*) disk=${src#/dev/} ;;
*) disk=$(echo "$src" | sed 's|^/dev/||; s|[0-9]*$||; s|p$||') ;;
esac
# vda1 -> vda, sr0 -> sr0; anything else: the first disk with a stat file.
[ -f "/sys/block/$disk/stat" ] || disk=$(printf '%s' "$snap_disks" | head -n 1 | cut -d' ' -f1)
diskstat() { printf '%s' "$1" | awk -v d="$disk" '$1 == d { $1 = ""; sub(/^ +/, ""); print; exit }'; }
say "diskstat $disk $(diskstat "$snap_disks")"
printf '%s' "$snap_stats" | while read -r n v; do say "stat $n $v"; done

# --- After the instant. ---
cs() {
	read -r u _ </proc/uptime
	echo "${u%.*}${u#*.}" | sed 's/^0*//; s/^$/0/'
}
secs() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 100 }'; }
# The tool's boot cycle (an installed system): bootcache-stop.timer fires
# BOOTCACHE_SAVE_DELAY after multi-user.target (0 in the demo image, so
# recording stops there); bootcache-stop.service saves the history and the
# next playlist, then rebuilds the initramfs (ExecStartPost). Wait until it
# has finished, so that the disk this boot leaves holds what it saved, and
# before `systemctl is-system-running --wait` below (its job would keep the
# boot "starting" until then). It is expected when the timer is enabled and
# bootcache is on; the timer itself may not have started yet. A oneshot
# stays "activating" through ExecStartPost; once done it is inactive (or
# failed) with its main process's exit time set. A unit skipped by a
# condition (ConditionResult=no: a read-only /var/lib/bootcache) never
# runs: no wait. Times from /proc/uptime in centiseconds (a poll's
# systemctl calls take a while under TCG; counting polls would
# undercount); at most 300 s, reported either way.
res=
if [ -e /etc/systemd/system/multi-user.target.wants/bootcache-stop.timer ] &&
	[ -e "$bc/control" ]; then
	t0=$(cs)
	while :; do
		eval "$(systemctl show -p ActiveState -p ExecMainExitTimestampMonotonic \
			-p ConditionResult -p ConditionTimestampMonotonic bootcache-stop.service 2>/dev/null |
			sed -n 's/^\([A-Za-z]*\)=\([A-Za-z0-9]*\)$/\1=\2/p')"
		if [ "${ConditionResult:-}" = no ] && [ "${ConditionTimestampMonotonic:-0}" != 0 ]; then
			st=skipped
			break
		fi
		[ "${ActiveState:-}" != activating ] && [ -n "${ExecMainExitTimestampMonotonic:-}" ] &&
			[ "$ExecMainExitTimestampMonotonic" != 0 ] && { st=exited; break; }
		[ $(($(cs) - t0)) -lt 30000 ] || { st=not-finished; break; }
		sleep 0.5
	done
	res=$(systemctl show -P Result bootcache-stop.service 2>/dev/null)
	[ "$st" = exited ] || res=$st
	say "stop-unit $res $(secs $(($(cs) - t0)))"
fi

# What the boot did, for the logs. Let the boot finish (every start-up job
# done) for systemd-analyze.
timeout 120 systemctl is-system-running --wait >/dev/null 2>&1 || true
say "system-state $(systemctl is-system-running 2>/dev/null)"
say "analyze $(systemd-analyze time 2>&1 | tr '\n' ' ' | sed 's/  */ /g; s/ $//')"
say "cmdline $(cat /proc/cmdline)"
systemd-analyze blame --no-pager 2>/dev/null | head -n 8 | while read -r l; do
	say "blame $l"
done
systemctl list-units --failed --plain --no-legend 2>/dev/null | while read -r unit _; do
	say "failed $unit"
	journalctl -b -u "$unit" -n 4 -o cat --no-pager 2>/dev/null | while read -r l; do
		say "failed-log $unit $l"
	done
done

if [ -d "$bc" ]; then
	for f in "$bc"/*; do
		case ${f##*/} in history | playlist | control | stats) continue ;; esac
		[ -f "$f" ] && [ -r "$f" ] && say "bootcache ${f##*/} $(cat "$f")"
	done
	for u in bootcache-start.service bootcache-stop.service; do
		journalctl -b -u "$u" -n 8 -o cat --no-pager 2>/dev/null | while read -r l; do
			say "unit-log $u $l"
		done
	done
	# A recording boot whose history the stop unit did not save (no units,
	# or a read-only root): make sure recording has stopped (the marker
	# stopped it above when there is no stop unit), and send the history on
	# the result channel.
	if grep -Eq '(^| )bootcache=[^ ]*record' /proc/cmdline && [ "$res" != success ]; then
		if [ "$(cat "$bc/recording" 2>/dev/null)" = 1 ]; then
			say "note still recording after the stop unit ($res): the demo stops it"
			echo stop >"$bc/control" || say "note writing stop failed"
		fi
		if [ -r "$bc/history" ] && cat "$bc/history" >/run/bootcache-demo.history 2>/dev/null; then
			say "history-begin $(stat -c %s /run/bootcache-demo.history)"
			base64 -w 76 /run/bootcache-demo.history | sed 's/^/BOOTCACHE-DEMO: | /' >"$out"
			say "history-end"
		fi
	fi
	for f in /var/lib/bootcache/*; do
		[ -f "$f" ] && say "saved ${f##*/} $(stat -c %s "$f")"
	done
	# End the session (what the cache holds must go back to 0), then the
	# end snapshot: the counters after the session, for the end-of-session
	# checks. A jettison from control frees the cache at once; pages still
	# held by a bio in flight go when it completes: wait up to 2 s for
	# cache_bytes to reach 0.
	st=$(cat "$bc/state" 2>/dev/null)
	if [ "$st" = idle ]; then
		say "session-end already-idle $(cat "$bc/reason" 2>/dev/null)"
	elif echo jettison >"$bc/control" 2>/dev/null; then
		say "session-end jettison $(cat "$bc/reason" 2>/dev/null)"
	else
		say "session-end jettison-failed $st"
	fi
	n=0
	while [ "$(cat "$bc/stats/cache_bytes" 2>/dev/null || echo 0)" != 0 ] && [ $n -lt 20 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	for f in "$bc"/stats/*; do
		[ -r "$f" ] && say "stat-end ${f##*/} $(cat "$f")"
	done
	say "bootcache-end state $(cat "$bc/state" 2>/dev/null)"
	say "bootcache-end reason $(cat "$bc/reason" 2>/dev/null)"
fi
say "uptime-end $(cut -d' ' -f1 /proc/uptime)"
say "diskstat-end $disk $(tr -s ' ' <"/sys/block/$disk/stat" | sed 's/^ //')"
say done
sync
systemctl --no-block poweroff
EOF
	chmod 755 "$root/usr/local/sbin/bootcache-demo-done"
}


guest_initramfs_conf() {
	local root=$1 conf=$1/etc/initramfs-tools/initramfs.conf
	[ -f "$conf" ] || die "no $conf: is initramfs-tools in the package list?"
	sed -i -e 's/^COMPRESS=.*/COMPRESS=gzip/' -e 's/^MODULES=.*/MODULES=list/' "$conf"
	echo RESUME=none >"$root/etc/initramfs-tools/conf.d/resume"
}

guest_initramfs() {
	local root=$1 release=$2 kconfig=$3 builtin=${4:-} log=$1.initramfs.log f
	guest_initramfs_conf "$root"
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
