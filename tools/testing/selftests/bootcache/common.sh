# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Shared by the bootcache kselftests: KTAP helpers, the sysfs location, the
# prologue and epilogue of a test, and the test disks each test makes for
# itself (bc_disk). Sourced by POSIX sh scripts: no bash, no busybox-only
# commands (they run on a Debian or Fedora install as in vmtest.sh's guest).

# shellcheck disable=SC2034 # (variables for the scripts that source this)
DIR=$(dirname "$(readlink -f "$0")")
KTAP_HELPERS=$DIR/../kselftest/ktap_helpers.sh
if [ -e "$KTAP_HELPERS" ]; then
	# (In the kernel tree, not in the bootcache repository.)
	# shellcheck source=/dev/null
	. "$KTAP_HELPERS"
else
	echo "$KTAP_HELPERS not found [SKIP]"
	exit 4
fi

BC_SYSFS=/sys/kernel/bootcache
S=$BC_SYSFS
# The helpers the Makefile builds beside the tests (bcfile, memhog,
# loop_change_fd, dm_linear) come first.
PATH=$DIR:$PATH

# bc_skip_all REASON...: skip the whole test (REASON's words joined by
# spaces).
bc_skip_all() {
	ktap_skip_all "$*"
	exit "$KSFT_SKIP"
}

bc_require_root() {
	[ "$(id -u)" -eq 0 ] || bc_skip_all "must be run as root"
}

# Skip the whole test unless we are root on a kernel with bootcache.
bc_require() {
	bc_require_root
	if [ ! -d "$BC_SYSFS" ]; then
		ktap_skip_all "$BC_SYSFS missing: kernel without CONFIG_BOOTCACHE"
		exit "$KSFT_SKIP"
	fi
}

# Log the start and end of a test in the kernel log, next to what the
# kernel says about it.
bc_kmsg() {
	echo "bootcache-selftest: $*" >/dev/kmsg 2>/dev/null || true
}

# Helpers of the cache tests. bc_check DESCRIPTION...: pass if the last
# command succeeded (DESCRIPTION's words joined by spaces, so that a long one
# can be given in pieces).
bc_check() {
	if [ $? -eq 0 ]; then ktap_test_pass "$*"; else ktap_test_fail "$*"; fi
}

bc_stat() { cat "$BC_SYSFS/stats/$1"; }

# bc_sleep_ms MS: sleep MS milliseconds. (POSIX sleep takes whole seconds;
# GNU's, busybox's and the BSDs' take fractions. busybox's usleep is not on
# a Debian or Fedora install.)
bc_sleep_ms() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }

# bc_wait_for CMD...: up to 10 s for CMD to succeed.
bc_wait_for() {
	i=0
	while ! "$@"; do
		[ $i -ge 100 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# bc_bio_waits PID: the task PID sleeps in submit_bio_wait(), so its bio
# has been submitted and has not completed. A task in state D may still be
# on its way to the submission (opening the disk, joining a cgroup), so the
# state alone does not say that. (/proc/PID/wchan names the function with
# CONFIG_KALLSYMS; without it, it reads 0 and this is false.)
bc_bio_waits() { [ "$(cat "/proc/$1/wchan" 2>/dev/null)" = submit_bio_wait ]; }

# bc_load_and_start PLAYLIST: write a playlist and start the cache.
bc_load_and_start() {
	cat "$1" >"$BC_SYSFS/playlist" && echo start >"$BC_SYSFS/control"
}

bc_state_is() { [ "$(cat $BC_SYSFS/state)" = "$1" ]; }

# bc_host ACTION [ARG...]: ask the host to act on the VM's hardware through
# QEMU's monitor (vmtest.sh, vm/hostchan.py): "eject cd0", "change cd0
# cd1.img" (a medium image of the host's work directory), "device_del
# hotdisk" (returns once the guest let the device go), "device_add hotdisk"
# (plugs it back), or a human monitor command such as "info block". Prints
# what the host answered after ok/error. Returns 0 when it was done, 1 when
# the host refused or failed, 2 when there is no channel to the host (then
# the test should skip): outside vmtest.sh, or no answer within 90 s.
bc_host() {
	_ch=${BOOTCACHE_HOST_CHANNEL:-}
	[ -n "$_ch" ] && [ -c "$_ch" ] || return 2
	# One request at a time (mkdir is atomic); a token pairs the answer
	# with the request, so a late answer to an earlier one is skipped.
	_n=0
	while ! mkdir /tmp/.bc_host.lock 2>/dev/null; do
		_n=$((_n + 1))
		[ $_n -ge 1800 ] && return 2
		sleep 0.05
	done
	_tok=$$-$(tr -d '. ' </proc/uptime | cut -c1-12)
	_rc=2
	exec 8<>"$_ch"
	stty -F "$_ch" raw -echo 2>/dev/null
	echo "$_tok $*" >&8
	# (Only in vmtest.sh's guest, whose busybox sh reads with a timeout.)
	# shellcheck disable=SC3045
	while read -r -t 90 _t _st _rest <&8; do
		[ "$_t" = "$_tok" ] || continue
		[ -n "$_rest" ] && echo "$_rest"
		if [ "$_st" = ok ]; then _rc=0; else _rc=1; fi
		break
	done
	exec 8>&-
	rmdir /tmp/.bc_host.lock
	return $_rc
}

# bc_begin: the prologue of a test that needs bootcache: the KTAP header, root
# and a kernel with bootcache, and a work directory BC_TMP, also T (mktemp
# -d), that goes, with the test's disks, when the script exits. Then the
# test makes its disks (or skips) and calls bc_plan.
bc_begin() {
	bc_begin_root
	bc_require
}

# bc_begin_root: bc_begin for a test that does not need bootcache itself
# (it checks what it needs instead): the KTAP header, root and BC_TMP.
bc_begin_root() {
	BC_TEST=$(basename "$0" .sh)
	ktap_print_header
	bc_require_root
	bc_tmp
}

# bc_tmp: the work directory BC_TMP and the clean-up at exit.
bc_tmp() {
	BC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bootcache.XXXXXX") || bc_skip_all "mktemp -d failed"
	T=$BC_TMP
	BC_DISKS=
	trap bc_cleanup EXIT
}

# bc_plan N: the plan, and the test's start in the kernel log.
bc_plan() {
	ktap_set_plan "$1"
	bc_kmsg "${BC_TEST:-$(basename "$0" .sh)} start"
}

# bc_end: the test's end in the kernel log, the KTAP totals and exit status.
bc_end() {
	bc_kmsg "${BC_TEST:-$(basename "$0" .sh)} end"
	ktap_finished
}

bc_cleanup() {
	# Nothing of ours may stay cached or attached.
	[ -d "$BC_SYSFS" ] && ! bc_state_is idle && echo jettison >"$BC_SYSFS/control" 2>/dev/null
	for _d in $BC_DISKS; do
		case $_d in
		/dev/loop*) losetup -d "$_d" 2>/dev/null ;;
		*)
			echo 0 >"$_d/power" 2>/dev/null
			rmdir "$_d" 2>/dev/null
			;;
		esac
	done
	[ -n "${BC_TMP:-}" ] && rm -rf "$BC_TMP"
}

# bc_md5: the MD5 of standard input, alone.
bc_md5() { md5sum | cut -d' ' -f1; }

# bc_want SEED OFFSET LENGTH: the MD5 of what a disk of bc_disk with SEED
# holds at byte OFFSET of the disk (multiples of 512; a partition starts at
# 1 MiB, and the MBR in sector 0 is not the pattern).
bc_want() { bcfile pattern "$1" "$2" "$3" | bc_md5; }

# bc_part_want SEED N: the MD5 of MiB N of the partition of a bc_disk with
# SEED (the partition starts 1 MiB into the disk).
bc_part_want() { bc_want "$1" $((($2 + 1) * 1048576)) 1048576; }

# bc_mib_md5 DEV N: the MD5 of MiB N of DEV, read with O_DIRECT.
bc_mib_md5() { dd if="$1" bs=1048576 skip="$2" count=1 iflag=direct 2>/dev/null | bc_md5; }

# bc_nullb_cfg: null_blk's configfs directory, if the kernel has one.
bc_nullb_cfg() {
	[ -d /sys/kernel/config ] && ! grep -q ' /sys/kernel/config ' /proc/mounts &&
		mount -t configfs none /sys/kernel/config 2>/dev/null
	[ -d /sys/kernel/config/nullb ] || modprobe null_blk nr_devices=0 2>/dev/null
	[ -d /sys/kernel/config/nullb ]
}

# bc_disk NAME MIB SEED [SIGNATURE [MBPS]]: make a test disk of MIB MiB
# holding `bcfile pattern SEED` (see bc_want). With SIGNATURE (8 hex digits)
# sector 0 is an MBR whose one partition, PARTUUID SIGNATURE-01, runs from 1
# MiB to the end. With MBPS (whole MB/s) reads and writes are throttled to
# that rate. The disk is a memory-backed null_blk made through configfs, named
# bc_NAME, or, when the kernel has none and no throttle is asked for, a loop
# device over a file in BC_TMP. Sets BC_DEV (the disk), BC_PART (its
# partition) and BC_UUID (the partition's PARTUUID); the disk goes when the
# script exits. Returns 1, with the reason in BC_WHY, when it cannot be made.
bc_disk() {
	_name=bc_$1 _mib=$2 _seed=$3 _sig=${4:-} _mbps=${5:-0}
	BC_DEV='' BC_PART='' BC_UUID='' BC_WHY=
	[ -n "$_sig" ] && BC_UUID=$_sig-01
	if ! command -v bcfile >/dev/null; then
		BC_WHY="no bcfile (build the kselftests:"
		BC_WHY="$BC_WHY make -C tools/testing/selftests TARGETS=bootcache)"
		return 1
	fi
	if bc_nullb_cfg; then
		_cfg=/sys/kernel/config/nullb/$_name
		if [ -d "$_cfg" ]; then
			echo 0 >"$_cfg/power"
			rmdir "$_cfg"
		fi
		mkdir "$_cfg" || { BC_WHY="cannot make $_cfg"; return 1; }
		BC_DISKS="$BC_DISKS $_cfg"
		if ! { echo "$_mib" >"$_cfg/size" && echo 1 >"$_cfg/memory_backed" &&
			echo 1 >"$_cfg/power" && bc_wait_for test -b "/dev/$_name"; }; then
			BC_WHY="null_blk $_name does not power on"
			return 1
		fi
		BC_DEV=/dev/$_name
		bc_fill || return 1
		if [ "$_mbps" -gt 0 ]; then
			# The content first, unthrottled: a memory-backed null_blk
			# keeps its data while powered off. Its throttle gives MBPS
			# MiB/50 bytes each 20 ms tick and requeues a request that
			# does not fit in one: a larger request would never complete
			# (nor would the power-off waiting for it), so none may be.
			echo 0 >"$_cfg/power"
			_mx=$((_mbps * 2048 / 50 / 8 * 8))
			[ $_mx -gt 255 ] && _mx=255
			if ! { echo $_mx >"$_cfg/max_sectors" && echo "$_mbps" >"$_cfg/mbps" &&
				echo 1 >"$_cfg/power" && bc_wait_for test -b "$BC_DEV"; }; then
				BC_WHY="null_blk $_name does not power on throttled"
				return 1
			fi
		fi
	elif [ "$_mbps" -gt 0 ]; then
		BC_WHY="a throttled disk needs null_blk"
		BC_WHY="$BC_WHY (CONFIG_BLK_DEV_NULL_BLK, CONFIG_CONFIGFS_FS)"
		return 1
	else
		_img=$BC_TMP/$_name.img
		if ! BC_DEV=$(losetup -f 2>/dev/null) || [ ! -b "$BC_DEV" ]; then
			BC_WHY="neither null_blk nor a free loop device (CONFIG_BLK_DEV_LOOP)"
			return 1
		fi
		if ! bcfile pattern "$_seed" 0 "${_mib}M" >"$_img"; then
			BC_WHY="cannot write $_img"
			return 1
		fi
		[ -n "$_sig" ] && { bcfile mbr "$_sig" $((_mib * 2048)) |
			dd of="$_img" bs=512 count=1 conv=notrunc 2>/dev/null; }
		losetup -P "$BC_DEV" "$_img" || { BC_WHY="cannot bind $BC_DEV to $_img"; return 1; }
		BC_DISKS="$BC_DISKS $BC_DEV"
	fi
	if [ -n "$_sig" ]; then
		case $BC_DEV in
		*[0-9]) BC_PART=${BC_DEV}p1 ;;
		*) BC_PART=${BC_DEV}1 ;;
		esac
		blockdev --rereadpt "$BC_DEV" 2>/dev/null
		if ! bc_wait_for test -b "$BC_PART"; then
			BC_WHY="no partition $BC_PART appeared"
			return 1
		fi
	fi
}

# The pattern, and the MBR, onto the null_blk disk BC_DEV.
bc_fill() {
	if ! bcfile pattern "$_seed" 0 "${_mib}M" >"$BC_DEV"; then
		BC_WHY="cannot fill $BC_DEV"
		return 1
	fi
	if [ -n "$_sig" ] && ! bcfile mbr "$_sig" $((_mib * 2048)) >"$BC_DEV"; then
		BC_WHY="cannot write an MBR"
		return 1
	fi
	# Written back, and the page cache dropped: the tests read with O_DIRECT.
	blockdev --flushbufs "$BC_DEV"
}

# bc_disk_or_skip ARGS...: bc_disk, or skip the whole test saying why.
bc_disk_or_skip() {
	bc_disk "$@" || bc_skip_all "cannot make the test disk $1: $BC_WHY"
}
