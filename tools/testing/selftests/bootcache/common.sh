# SPDX-License-Identifier: GPL-2.0
#
# Shared by the bootcache kselftests: KTAP helpers and the sysfs location.

DIR=$(dirname "$(readlink -f "$0")")
KTAP_HELPERS=$DIR/../kselftest/ktap_helpers.sh
if [ -e "$KTAP_HELPERS" ]; then
	. "$KTAP_HELPERS"
else
	echo "$KTAP_HELPERS not found [SKIP]"
	exit 4
fi

BC_SYSFS=/sys/kernel/bootcache

# Skip the whole test unless we are root on a kernel with bootcache.
bc_require() {
	if [ "$(id -u)" -ne 0 ]; then
		ktap_skip_all "must be run as root"
		exit "$KSFT_SKIP"
	fi
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

# Helpers of the cache tests. bc_check DESCRIPTION: pass if the last
# command succeeded.
bc_check() {
	if [ $? -eq 0 ]; then ktap_test_pass "$1"; else ktap_test_fail "$1"; fi
}

bc_stat() { cat "$BC_SYSFS/stats/$1"; }

# bc_wait_for CMD...: up to 10 s for CMD to succeed.
bc_wait_for() {
	i=0
	while ! "$@"; do
		[ $i -ge 100 ] && return 1
		usleep 100000
		i=$((i + 1))
	done
}

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
		usleep 50000
	done
	_tok=$$-$(cat /proc/uptime | tr -d '. ' | cut -c1-12)
	_rc=2
	exec 8<>"$_ch"
	stty -F "$_ch" raw -echo 2>/dev/null
	echo "$_tok $*" >&8
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
