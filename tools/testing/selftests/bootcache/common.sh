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
