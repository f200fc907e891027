#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/deb-test.sh: make deb-test. Installs, removes and purges the packages of
# $OUT/deb (make deb) in a throwaway Debian 12 chroot, as a user would with
# dpkg, and prints one "ok:" or "FAILED:" line per check, then
# "N passed, N failed". Needs root (debootstrap, chroot).
#
# The chroot is a copy of a Debian 12 minbase tree with systemd and
# initramfs-tools (the demo image's package list, made by mk/demo-guest.sh's
# debootstrap_base in $OUT/deb-test/rootfs-base and cached there; or a copy of
# DEB_TEST_BASE=DIR, such a tree made elsewhere, e.g. out/demo/rootfs-base).
# Nothing is mounted in it and no systemd runs there, as in an image being
# built: maintainer scripts must cope with that.
#
# The steps:
#   1. dpkg -i bootcache_*.deb, with no kernel installed yet (as in an image
#      being built): bootcache-start.service and bootcache-stop.timer are
#      enabled, the tool runs, the man page, completions and conffile are
#      there;
#   2. dpkg -i linux-image-*.deb: the kernel installs and its initramfs is
#      made (initramfs-tools' hook in /etc/kernel/postinst.d), with the tool
#      and the init-top script in it;
#   3. a saved playlist (bootcache make-playlist into /var/lib/bootcache),
#      update-initramfs -u: the hook copies it in and renames it to
#      playlist.initramfs;
#   4. the administrator disables the timer, dpkg -i the same package again
#      (an upgrade): the timer stays disabled, the service enabled;
#   5. dpkg -r: no file of the package is left but the conffile and what the
#      boot cycle saved, no unit link or deb-systemd-helper state, and the
#      initramfs was rebuilt without bootcache;
#   6. apt install ./bootcache_*.deb: the units are enabled again, and the
#      initramfs rebuilt with the tool (through initramfs-tools' trigger);
#   7. dpkg -P (after dpkg -r): nothing named bootcache is left anywhere in
#      the tree.

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$TOP/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DEB=$OUT/deb
WORK=$OUT/deb-test
ROOT=$WORK/root
LOG=$WORK/test.log
# The demo image's packages (mk/demo-image.sh): a minimal installed Debian.
PACKAGES=systemd-sysv,udev,e2fsprogs,dbus,procps,initramfs-tools,initramfs-tools-core,klibc-utils,kmod,cpio,busybox
UNITS="sysinit.target.wants/bootcache-start.service multi-user.target.wants/bootcache-stop.timer"

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/deb-test: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
for c in debootstrap chroot dpkg-deb; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done
# shellcheck source=mk/demo-guest.sh
. "$TOP/mk/demo-guest.sh"
deb_packages "$DEB"
krelease=$(dpkg-deb -f "$kernel_deb" Package | sed 's/^linux-image-//')

passed=0 failed=0
# check NAME COMMAND...: one pass/fail line; the command's output goes to the log.
check() {
	local name=$1
	shift
	printf '### check: %s\n' "$name" >>"$LOG"
	if "$@" >>"$LOG" 2>&1; then
		passed=$((passed + 1))
		printf 'ok: %s\n' "$name"
	else
		failed=$((failed + 1))
		printf 'FAILED: %s (see %s)\n' "$name" "$LOG"
	fi
}
in_root() { chroot "$ROOT" "$@"; }
# run NAME COMMAND...: a step in the chroot, checked like the rest.
run() { local name=$1; shift; check "$name" in_root "$@"; }
# shellcheck disable=SC2016 # dpkg-query's ${field}, not the shell's
status() { in_root dpkg-query -W -f='${Status}' bootcache 2>/dev/null; }
# shellcheck disable=SC2016
conffile_listed() { in_root dpkg-query -W -f='${Conffiles}' bootcache | grep -q " $1 "; }
status_is() { [ "$(status)" = "$1" ]; }
not_installed() { case $(status) in "" | "unknown ok not-installed") ;; *) false ;; esac; }
enabled() { local u; for u in $UNITS; do [ -L "$ROOT/etc/systemd/system/$u" ] || return 1; done; }
no_links() { ! find "$ROOT/etc/systemd" "$ROOT/var/lib/systemd" -name '*bootcache*' | grep .; }
# The initramfs's paths, listed whole first (grep -q would stop reading early,
# and pipefail would count lsinitramfs's SIGPIPE as a failure).
initrd_list() { in_root lsinitramfs "/boot/initrd.img-$krelease" >"$WORK/initrd.list"; }
# initrd_has REGEX: a path in the initramfs matches REGEX (grep -E, whole line).
initrd_has() { initrd_list && grep -Eqx "$1" "$WORK/initrd.list"; }
initrd_lacks() { initrd_list && ! grep bootcache "$WORK/initrd.list"; }
# Every path in the tree whose name has "bootcache" in it, but dpkg's own
# database (it keeps a removed package's list and postrm until the purge)
# and this test's packages in /tmp.
leftovers() {
	(cd "$ROOT" && find . \( -path ./tmp -o -path ./var/lib/dpkg \) -prune -o \
		-name '*bootcache*' -print | sort)
}
leftovers_are() {
	local left
	left=$(leftovers | tr '\n' ' ')
	echo "left: $left"
	[ "$left" = "$1" ]
}

mkdir -p "$WORK"
: >"$LOG"

# --- The tree. ---
if [ -n "${DEB_TEST_BASE:-}" ]; then
	[ -d "$DEB_TEST_BASE/var/lib/dpkg" ] || die "DEB_TEST_BASE=$DEB_TEST_BASE is not a Debian tree"
	base=$DEB_TEST_BASE
else
	base=$WORK/rootfs-base
	debootstrap_base "$base" "$PACKAGES" "$WORK/debootstrap.log" >/dev/null
fi
say CHROOT "$ROOT (a copy of $base)"
rm -rf "$ROOT"
mkdir -p "$ROOT"
# base/. : the tree's content, also when base is a symbolic link to it.
cp -a "$base/." "$ROOT/"
mkdir -p "$ROOT/tmp/deb"
cp "$tool_deb" "$kernel_deb" "$ROOT/tmp/deb/"
tool=/tmp/deb/${tool_deb##*/}
kernel=/tmp/deb/${kernel_deb##*/}

# --- 1. Install, before any kernel (as an image being built would). ---
say STEP "1. dpkg -i ${tool_deb##*/}"
run "dpkg -i the bootcache package" dpkg -i "$tool"
check "bootcache is installed" status_is "install ok installed"
check "the units are enabled (links in /etc/systemd/system)" enabled
run "systemctl is-enabled says enabled" systemctl is-enabled bootcache-start.service \
	bootcache-stop.timer
run "the tool runs" bootcache --version
run "the page is bootcache(8)" sh -c 'zcat /usr/share/man/man8/bootcache.8.gz | grep -q "^.TH bootcache 8"'
check "the completions are in place" test -s "$ROOT/usr/share/bash-completion/completions/bootcache" \
	-a -s "$ROOT/usr/share/zsh/vendor-completions/_bootcache" \
	-a -s "$ROOT/usr/share/fish/vendor_completions.d/bootcache.fish"
check "/etc/default/bootcache is a conffile" conffile_listed /etc/default/bootcache

# --- 2. The kernel: its initramfs is made with the hook in place. ---
say STEP "2. dpkg -i ${kernel_deb##*/}"
run "dpkg -i the kernel package" dpkg -i "$kernel"
check "the kernel's initramfs was made" test -s "$ROOT/boot/initrd.img-$krelease"
check "the initramfs holds the tool" initrd_has '(usr/)?sbin/bootcache'
check "the initramfs holds the init-top script" initrd_has scripts/init-top/bootcache

# --- 3. The hook with a saved playlist. ---
say STEP "3. a saved playlist, update-initramfs -u"
run "bootcache make-playlist into /var/lib/bootcache" \
	bootcache make-playlist -o /var/lib/bootcache/playlist -e root:0:1M
run "update-initramfs -u" update-initramfs -u -k "$krelease"
check "the initramfs holds the playlist" initrd_has bootcache/playlist
check "the hook consumed the saved playlist" \
	test -f "$ROOT/var/lib/bootcache/playlist.initramfs" -a ! -e "$ROOT/var/lib/bootcache/playlist"

# --- 4. An upgrade keeps the administrator's choice. ---
say STEP "4. systemctl disable bootcache-stop.timer, dpkg -i again"
run "systemctl disable bootcache-stop.timer" systemctl disable bootcache-stop.timer
run "dpkg -i the same package again" dpkg -i "$tool"
check "the timer stays disabled" test ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/bootcache-stop.timer"
check "the service stays enabled" test -L "$ROOT/etc/systemd/system/sysinit.target.wants/bootcache-start.service"
run "systemctl enable bootcache-stop.timer" systemctl enable bootcache-stop.timer

# --- 5. Remove. ---
say STEP "5. dpkg -r bootcache"
run "dpkg -r bootcache" dpkg -r bootcache
check "bootcache is removed, its conffile kept" status_is "deinstall ok config-files"
check "no unit link or deb-systemd-helper state is left" no_links
check "only the conffile and the saved files are left" leftovers_are \
	"./etc/default/bootcache ./var/lib/bootcache "
check "/var/lib/bootcache holds what the hook saved" \
	test "$(ls -A "$ROOT/var/lib/bootcache")" = playlist.initramfs
check "the initramfs was rebuilt without bootcache" initrd_lacks

# --- 6. Install again, with apt this time. ---
say STEP "6. apt install ./${tool_deb##*/}"
run "apt install the bootcache package" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "$tool"
check "the units are enabled again" enabled
check "the initramfs holds the tool again" initrd_has '(usr/)?sbin/bootcache'

# --- 7. Remove and purge. ---
say STEP "7. dpkg -r bootcache, dpkg -P bootcache"
run "dpkg -r bootcache" dpkg -r bootcache
run "dpkg -P bootcache" dpkg -P bootcache
check "bootcache is not installed" not_installed
check "no unit link or deb-systemd-helper state is left" no_links
check "nothing named bootcache is left" leftovers_are ""
check "the initramfs holds no bootcache" initrd_lacks

echo "$passed passed, $failed failed (log: $LOG)"
[ "$failed" -eq 0 ]
