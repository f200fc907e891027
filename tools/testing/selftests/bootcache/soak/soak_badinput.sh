#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Soak: bad input. Mutated playlists (bcmutate: fields set to edge values,
# bits flipped, records swapped, cut or lengthened, most with the checksum
# made right again) and random bytes are written to playlist in random
# chunk sizes, one writer at a time and several at once, while idle and
# while a session runs; random words go to control and out-of-range values
# to the tunables. Each must fail with an error and leave the state as it
# was; a mutated playlist the tool finds valid must be taken by the kernel
# too, and one it refuses must be refused. Each round ends with a valid
# playlist that must still start and serve the right bytes.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR/soak_lib.sh"
soak_require badinput
part=${BOOTCACHE_TEST_PDISK}1
uuid=$BOOTCACHE_TEST_PARTUUID
suuid=$BOOTCACHE_TEST_SLOW_PARTUUID
bootcache make-playlist -o $W/a -e "$uuid:0:1M" -e "$uuid:2M:2M" -e "$uuid:5M:1M:1" \
	-e "$uuid:8M:4M:2:low" -e "$suuid:0:1M" -e "$suuid:4M:512K:1" \
	-e "cafe0bad-01:0:1M" >/dev/null
bootcache make-playlist -o $W/b -e "$uuid:16M:4M" >/dev/null
# Nothing may change by itself between two snapshots: recording would stop
# at its time limit in a session that outlives it (0: never).
record_limit=$(cat $S/record_limit_ms)
echo 0 >$S/record_limit_ms

mutations=0 accepted=0 refused=0 partial=0 words=0 tunables=0 concurrent=0

# rbs: a random chunk size for dd, 1 byte to 9 KiB.
rbs() { echo $((1 + $(soak_rand 9216))); }

# write_one FILE: write it in random chunks; status of the writes.
write_one() { dd if="$1" of=$S/playlist bs=$(rbs) 2>/dev/null; }

# announced FILE: the size its header announces, or 0 if it has no header.
announced() {
	[ "$(stat -c %s "$1")" -ge 40 ] || { echo 0; return; }
	set -- $(od -An -tu4 -j16 -N8 "$1")
	echo $((40 + 40 * $1 + 24 * $2))
}

# One mutated playlist while idle: the kernel agrees with the tool, and
# nothing visible changes.
mutant() {
	f=$W/m
	if [ $(soak_rand 8) -eq 0 ]; then
		head -c $((1 + $(soak_rand 3000))) /dev/urandom >$f
	else
		bcmutate $W/a $f $(soak_rand 1000000000)
	fi
	mutations=$((mutations + 1))
	before=$(soak_snapshot)
	if bootcache validate --format playlist $f >/dev/null 2>&1; then valid=1; else valid=0; fi
	if write_one $f; then took=1; else took=0; fi
	size=$(stat -c %s $f) want=$(announced $f)
	if [ "$size" -lt 40 ] || [ "$size" -lt "$want" ]; then
		# Still arriving as far as the kernel can tell: either answer.
		partial=$((partial + 1))
	elif [ $valid -ne $took ]; then
		cp $f /tmp/soak-mismatch.$mutations
		soak_fail "the tool says valid=$valid, the kernel took=$took:" \
			"/tmp/soak-mismatch.$mutations" \
			"($(bootcache validate --format playlist $f 2>&1 | head -c 150))"
	fi
	[ $took -eq 1 ] && accepted=$((accepted + 1)) || refused=$((refused + 1))
	[ "$before" = "$(soak_snapshot)" ] ||
		soak_fail "a playlist write changed the state: $before -> $(soak_snapshot)"
}

# Several writers at once, of mutants, random bytes and the valid playlist.
writers() {
	k=0 pids=
	for k in 1 2 3; do
		case $(soak_rand 3) in
		0) bcmutate $W/a $W/c$k $(soak_rand 1000000000) ;;
		1) head -c $((1 + $(soak_rand 2000))) /dev/urandom >$W/c$k ;;
		2) cp $W/${1:-a} $W/c$k ;;
		esac
		write_one $W/c$k >/dev/null 2>&1 &
		pids="$pids $!"
	done
	# Only the writers: a verifier may be running in the background,
	# until the round tells it to stop.
	wait $pids
	concurrent=$((concurrent + 1))
}

# Control words that must be refused (tag and jettison while idle, too).
bad_word() {
	case $(soak_rand 14) in
	0) printf 'sta\n' ;;
	1) printf 'startt\n' ;;
	2) printf 'START\n' ;;
	3) printf 'start start\n' ;;
	4) printf 'stop2\n' ;;
	5) printf 'tagg\n' ;;
	6) printf 'jettisonn\n' ;;
	7) printf 'st art\n' ;;
	8) printf '\001start\n' ;;
	9) printf '\n' ;;
	10) printf 'start\000x\n' ;;
	11) head -c $((1 + $(soak_rand 64))) /dev/urandom | tr -d '\n' ;;
	12) head -c 5000 /dev/zero | tr '\0' 's' ;;
	13) if bc_state_is idle; then printf 'jettison\n'; else printf 'recordx\n'; fi ;;
	esac
}
words_round() {
	i=0
	while [ $i -lt 10 ]; do
		bad_word >$W/w
		[ -s $W/w ] || printf 'x\n' >$W/w
		before=$(soak_snapshot)
		if dd if=$W/w of=$S/control bs=8192 2>/dev/null; then
			soak_fail "control took $(od -An -c $W/w | head -c 80)"
		fi
		[ "$before" = "$(soak_snapshot)" ] ||
			soak_fail "a refused control word changed the state"
		words=$((words + 1)) i=$((i + 1))
	done
}

# Tunables: NAME MIN MAX; values out of range or not numbers are refused.
tunables_round() {
	for t in "wait_limit_ms 0 600000" "miss_limit 1 18446744073709551615" \
		"record_limit_ms 0 3600000" "history_entries 16 2097152"; do
		set -- $t
		old=$(cat $S/$1)
		[ "$2" -gt 0 ] && lo=$(($2 - 1)) || lo=-1
		case $1 in
		miss_limit) hi=18446744073709551616 ;;
		*) hi=$(($3 + 1)) ;;
		esac
		for v in "$lo" "$hi" -1 99999999999999999999999 abc 12abc 1e3 1.5 --1 \
			"$(printf '\001')" "$hi$hi"; do
			before=$(soak_snapshot)
			if echo "$v" >$S/$1 2>/dev/null; then
				soak_fail "$1 took '$v'"
				echo "$old" >$S/$1
			fi
			[ "$(cat $S/$1)" = "$old" ] && [ "$before" = "$(soak_snapshot)" ] ||
				soak_fail "$1: refused '$v' changed something:" \
					"$before -> $(soak_snapshot)"
			tunables=$((tunables + 1))
		done
		# The bounds themselves are taken.
		echo "$2" >$S/$1 && echo "$3" >$S/$1 && echo "$old" >$S/$1 ||
			soak_fail "$1 refused a bound ($2 or $3)"
	done
}

while soak_time_left; do
	iters=$((iters + 1))
	soak_idle
	i=0
	while [ $i -lt 10 ]; do mutant; i=$((i + 1)); done
	before=$(soak_snapshot)
	i=0
	while [ $i -lt 3 ]; do writers; i=$((i + 1)); done
	bc_state_is idle || soak_fail "concurrent playlist writes started a session"
	words_round
	tunables_round
	# A session runs: invalid playlists and words must leave it as it is.
	soak_start $W/a || soak_fail "a valid playlist did not start after bad input"
	rm -f $W/stop
	bcverify -d "$part" -c $VMDATA/disk2.crc -p 1048576 -o 0 -l 12582912 -b 512 -B 131072 \
		-m mixed -j 2 -t 100000 -S $W/stop -r $iters >$W/v.$iters 2>&1 &
	i=0
	while [ $i -lt 10 ]; do
		bcmutate $W/b $W/m $(soak_rand 1000000000)
		if ! bootcache validate --format playlist $W/m >/dev/null 2>&1; then
			before=$(soak_snapshot)
			# Shorter than its header, or than what the header
			# announces: still arriving, so the writes are taken.
			size=$(stat -c %s $W/m) want=$(announced $W/m)
			if write_one $W/m && [ "$size" -ge 40 ] && [ "$size" -ge "$want" ]; then
				soak_fail "an invalid append was taken ($(stat -c %s $W/m) bytes," \
					"header announces $(announced $W/m); tool:" \
					"$(bootcache validate --format playlist $W/m 2>&1 |
						head -c 150))"
			fi
			[ "$before" = "$(soak_snapshot)" ] ||
				soak_fail "an invalid append changed the session:" \
					"$before -> $(soak_snapshot)"
		fi
		i=$((i + 1))
	done
	words_round
	tunables_round
	# Several writers of a valid append at once: one may be appended.
	writers b
	bc_state_is active || soak_fail "the session ended under bad input ($(cat $S/reason))"
	touch $W/stop
	wait
	soak_add_verify $W/v.$iters
	soak_idle
done
extra=mutants-$mutations,accepted-$accepted,refused-$refused,partial-$partial
extra=$extra,concurrent-$concurrent,words-$words,tunable-writes-$tunables
echo "$record_limit" >$S/record_limit_ms
SOAK_EXERCISED='[ $st_hits -gt 0 ] && [ $refused -gt 0 ]'
soak_finish
