#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: allocation failures at every allocation of loading a playlist,
# start, append, stop and jettison. For N = 1, 2, ... the Nth slab or page
# allocation of the command's write(2) fails (/proc/thread-self/fail-nth,
# through bcfailnth), until the command runs without reaching N. After a
# command that failed, the state must be as before (the kext rule: a clear
# error, and the system as it was); a command that succeeded although an
# allocation failed must have done all it does. Meanwhile a reader checks
# the bytes of the throttled disk, whose reads park; kmemleak, scanned at
# the end of the run, finds what a failed command leaked.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require failnth
F=/sys/kernel/debug
if [ ! -w /proc/thread-self/fail-nth ] || [ ! -d $F/failslab ]; then
	why="no fail-nth or failslab"
	ktap_skip_all "$why (CONFIG_FAULT_INJECTION, FAILSLAB, FAULT_INJECTION_DEBUG_FS)"
	exit "$KSFT_SKIP"
fi
# Fail GFP_KERNEL allocations too, page allocations of any order; quietly.
for a in failslab fail_page_alloc; do
	[ -d $F/$a ] || continue
	echo N >$F/$a/ignore-gfp-wait
	echo 0 >$F/$a/verbose
done
[ -d $F/fail_page_alloc ] && echo 0 >$F/fail_page_alloc/min-order

uuid=$BOOTCACHE_TEST_PARTUUID
suuid=$BOOTCACHE_TEST_SLOW_PARTUUID
slow=${BOOTCACHE_TEST_SLOW}1
bootcache make-playlist -o $W/a -e "$uuid:0:4M" -e "$uuid:4M:4M:1" -e "$suuid:0:8M" \
	-e "$suuid:8M:4M:2:low" >/dev/null
bootcache make-playlist -o $W/b -e "$uuid:2M:8M" -e "$suuid:12M:4M" \
	-e "$BOOTCACHE_TEST_ERR_PARTUUID:0:2M" >/dev/null

bcverify -d "$slow" -c $VMDATA/disk3.crc -p 1048576 -o 0 -l 16777216 -b 4096 -B 131072 \
	-m mixed -j 1 -t 100000 -S $W/stop -r 5 >$W/v 2>&1 &

# A small history log: start allocates and clears less, so that more
# attempts fit in the time (the failures of interest are the same).
old_entries=$(cat $S/history_entries)
echo 16 >$S/history_entries
injected=0 tolerated=0 commands=0 sweeps=0 partial=0 allocs=0

# fresh_session: a started session with playlist a (no failures injected).
fresh_session() {
	soak_idle
	soak_start $W/a || soak_fail "start without failures failed"
}

# Before an append, stop or jettison: a session in the state the command
# expects. A command that failed left it so (or the check reports it); one
# that succeeded used it up, and a new session is started.
append_setup() {
	bc_state_is active && [ "$(bc_stat playlist_appends)" -eq 0 ] || fresh_session
}
stop_setup() {
	bc_state_is active && [ "$(cat $S/recording)" = 1 ] || fresh_session
}
jettison_setup() {
	bc_state_is active || fresh_session
}

# Before each start: a session that started (the last attempt succeeded
# although an allocation failed) is ended and the playlist loaded again. A
# start that failed must have left the playlist loaded.
start_setup() {
	if bc_state_is active || [ $n -eq 1 ]; then
		soak_idle
		cat $W/a >$S/playlist
	fi
}

# sweep NAME SETUP FILE ARG...: for N = 1.. run SETUP, then bcfailnth N FILE
# ARG..., and check the outcome, until no failure was injected.
sweep() {
	name=$1 setup=$2
	shift 2
	n=1
	while [ $n -lt 2000 ]; do
		# Out of time (the first round may take twice its share): the
		# sweep stays incomplete, counted apart.
		if [ "$(date +%s)" -ge $((SOAK_END + SOAK_SECONDS * (iters == 1))) ]; then
			partial=$((partial + 1))
			return
		fi
		eval "$setup"
		before=$(soak_snapshot)
		r=$(bcfailnth $n "$@") || { soak_fail "bcfailnth $n $*: $r"; return; }
		after=$(soak_snapshot)
		case $r in
		"injected=0 rc=0")
			commands=$((commands + 1)) sweeps=$((sweeps + 1)) allocs=$((allocs + n - 1))
			check_done "$name" "$before" "$after"
			return ;;
		"injected=0 "*) soak_fail "$name failed without an injected failure: $r"; return ;;
		"injected=1 rc=0")
			injected=$((injected + 1)) tolerated=$((tolerated + 1))
			check_done "$name" "$before" "$after" ;;
		*)
			injected=$((injected + 1))
			if [ "$before" != "$after" ]; then
				soak_fail "$name with allocation $n failing (${r#*rc=})" \
					"changed the state: $before -> $after"
			fi ;;
		esac
		n=$((n + 1))
	done
	soak_fail "$name still meets allocation failures after 2000"
}

# check_done NAME BEFORE AFTER: the command succeeded; did it do its job?
check_done() {
	case $1 in
	load) bc_state_is idle || soak_fail "load: state $(cat $S/state)" ;;
	start) bc_state_is active || soak_fail "start succeeded but the state is $(cat $S/state)"
		soak_session=1 ;;
	append) [ "$(bc_stat playlist_appends)" -eq 1 ] || soak_fail "append succeeded but: $3" ;;
	stop) [ "$(cat $S/recording)" = 0 ] || soak_fail "stop succeeded but still recording"
		cat $S/history >/dev/null 2>&1 || soak_fail "stop succeeded but no history" ;;
	jettison) bc_state_is idle && [ "$(bc_stat cache_bytes)" -eq 0 ] ||
		soak_fail "jettison succeeded but state $(cat $S/state)," \
			"cache_bytes $(bc_stat cache_bytes)" ;;
	esac
}

while soak_time_left; do
	iters=$((iters + 1))
	# Loading a playlist while idle (it is then used by start below).
	sweep load "soak_idle" $S/playlist -f $W/a
	# Start with the playlist loaded; a failed start leaves it loaded.
	soak_acc
	sweep start start_setup $S/control start
	# Append to a running session (a new one each time, so that every
	# attempt appends the same).
	sweep append append_setup $S/playlist -f $W/b
	sweep stop stop_setup $S/control stop
	sweep jettison jettison_setup $S/control jettison
	soak_idle
done
touch $W/stop
wait
echo "$old_entries" >$S/history_entries
soak_add_verify $W/v
extra=complete-sweeps-$sweeps,incomplete-$partial,allocations-failed-$allocs
extra=$extra,injected-$injected,tolerated-$tolerated
SOAK_EXERCISED='[ $injected -gt 0 ] && [ $st_parked -gt 0 ]'
soak_finish
