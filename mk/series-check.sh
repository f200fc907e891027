#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/series-check.sh: prove the patch series (`make series-check`).
#
# `make series` has written $OUT/series/. This script applies it with
# `git am` to a pristine Linux 6.12 tree in a scratch repository
# ($OUT/series-check/linux), one patch at a time, and after each patch:
#
#   - builds the test config (the kselftests' configs/test.config on
#     tinyconfig) incrementally in $OUT/build/series; CONFIG_BOOTCACHE and
#     the other options are on wherever the tree has them yet (mk/kconfig.sh
#     with KCONFIG_UNDEFINED_OK=1), and counts the build's warnings that
#     the pristine tree's build of the same config does not give: there must
#     be none (the pristine tree is built first, once per kernel version, and
#     its warnings kept in $WORK/base-warnings; with this toolchain it has
#     some, in files bootcache does not touch);
#   - runs scripts/checkpatch.pl --strict on the patch, with its signoff
#     check, and counts errors, warnings and checks, by type.
#
# Then it checks that the tree the series gives is the tree `make tree`
# lays out (every file bootcache adds or edits, byte for byte), boots the
# last build in the test VM (KUnit and the kselftests, vmtest.sh), and
# prints one table. It fails when a patch does not apply or build, a build
# warns, checkpatch reports an error, the trees differ, or the VM run fails.
# checkpatch warnings and checks are reported, by type, without failing.
#
# Environment: OUT (out), JOBS, KMAKE_ARGS (from the Makefile), SERIES_VM
# (1; 0 skips the VM run).

set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
OUT=${OUT:-out}
JOBS=${JOBS:-$(($(nproc) + 1))}
SERIES_VM=${SERIES_VM:-1}
SERIES=$OUT/series
WORK=$OUT/series-check
LINUX=$WORK/linux
BUILD=$OUT/build/series
FRAGMENTS=tools/testing/selftests/bootcache/configs/test.config

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/series-check: error: %s\n' "$*" >&2; exit 1; }

ls "$SERIES"/0001-*.patch >/dev/null 2>&1 || die "no series in $SERIES (make series)"
[ -f "$OUT/pristine/.unpacked" ] || die "no pristine tree in $OUT/pristine (make tree)"
SERIES=$(cd "$SERIES" && pwd)
CHECKPATCH=$(cd "$OUT/pristine" && pwd)/scripts/checkpatch.pl
mkdir -p "$WORK" "$BUILD"
WORK=$(cd "$WORK" && pwd)
BUILD=$(cd "$BUILD" && pwd)
LINUX=$WORK/linux

# The scratch repository: the pristine tree as one commit, tagged "base",
# made once and reset to that commit on each run.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=series-check GIT_AUTHOR_EMAIL=series-check@localhost
export GIT_COMMITTER_NAME=series-check GIT_COMMITTER_EMAIL=series-check@localhost
if [ ! -f "$LINUX/.git/bootcache-base" ] ||
	! cmp -s "$LINUX/.git/bootcache-base" "$OUT/pristine/.bootcache-version"; then
	say COPY "$OUT/pristine -> $LINUX (a git repository; once)"
	rm -rf "$LINUX"
	cp -a "$OUT/pristine" "$LINUX"
	rm -f "$LINUX/.unpacked" "$LINUX/.bootcache-version"
	git -C "$LINUX" init -q -b series || die "git init failed"
	# -f: Debian's linux-source .gitignore ignores everything at the top.
	{ git -C "$LINUX" add -A -f && git -C "$LINUX" commit -q -m "Linux $(make -s -C "$LINUX" kernelversion)"; } ||
		die "could not commit the pristine tree"
	git -C "$LINUX" tag base
	cp "$OUT/pristine/.bootcache-version" "$LINUX/.git/bootcache-base"
fi
git -C "$LINUX" am --abort >/dev/null 2>&1
{ git -C "$LINUX" reset -q --hard base && git -C "$LINUX" clean -q -fdx; } ||
	die "could not reset $LINUX to its base"

LOGS=$WORK/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

# warnings LOG: the build's warnings, one per line, with the tree's path
# taken off so that they compare across steps.
warnings() {
	grep -E '(^|: )warning:' "$1" | sed "s|$LINUX/||g" | sort -u
}

# The pristine tree's own warnings (its build is also the first step's
# incremental base).
if [ ! -f "$WORK/base-warnings" ] ||
	! cmp -s "$WORK/base-warnings.version" "$OUT/pristine/.bootcache-version"; then
	say BASE "building the pristine tree's test config from scratch ($LOGS/base.build)"
	# From scratch: an incremental build would leave out the warnings of
	# the files it does not recompile.
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	# shellcheck disable=SC2086 # KMAKE_ARGS is a list of make variables.
	{ KCONFIG_UNDEFINED_OK=1 mk/kconfig.sh "$LINUX" "$BUILD" "$FRAGMENTS" &&
		make -C "$LINUX" O="$BUILD" $KMAKE_ARGS -j"$JOBS" bzImage; } >"$LOGS/base.build" 2>&1 ||
		die "the pristine tree does not build; see $LOGS/base.build"
	warnings "$LOGS/base.build" >"$WORK/base-warnings"
	cp "$OUT/pristine/.bootcache-version" "$WORK/base-warnings.version"
fi
say BASE "$(wc -l <"$WORK/base-warnings") warnings of the pristine tree's build are not counted"
cpdir=$WORK/checkpatch-cwd # checkpatch writes a cache into its cwd
mkdir -p "$cpdir"

fail=0
rows=()
types=()
n=0
patches=("$SERIES"/0[0-9][0-9][0-9]-*.patch)
total=$((${#patches[@]} - 1)) # without the cover letter
for p in "${patches[@]}"; do
	name=$(basename "$p")
	case $name in 0000-*) continue ;; esac
	n=$((n + 1))
	log=$LOGS/${name%.patch}
	short=$(printf '%s' "$name" | cut -c1-48)

	if ! git -C "$LINUX" am -q "$p" >"$log.am" 2>&1; then
		rows+=("$(printf '%-48s  %-9s  %8s  %s' "$short" "no (am)" - -)")
		cat "$log.am" >&2
		fail=1
		break
	fi

	# The build: config (options the tree does not define yet are
	# allowed), then the kernel, incrementally.
	start=$(date +%s)
	built=yes
	# shellcheck disable=SC2086 # KMAKE_ARGS is a list of make variables.
	if ! KCONFIG_UNDEFINED_OK=1 mk/kconfig.sh "$LINUX" "$BUILD" "$FRAGMENTS" >"$log.build" 2>&1 ||
		! make -C "$LINUX" O="$BUILD" $KMAKE_ARGS -j"$JOBS" bzImage >>"$log.build" 2>&1; then
		built=no
		fail=1
	fi
	secs=$(($(date +%s) - start))
	warnings "$log.build" | comm -23 - "$WORK/base-warnings" >"$log.warnings"
	warnings=$(wc -l <"$log.warnings")
	[ "$warnings" -eq 0 ] || fail=1
	if [ -s "$BUILD/.kconfig-undefined" ]; then
		missing=" (not yet: $(sed 's/^CONFIG_//' "$BUILD/.kconfig-undefined" | tr '\n' ' ' | sed 's/ $//'))"
	else
		missing=""
	fi

	(cd "$cpdir" && "$CHECKPATCH" --strict --no-tree --terse --show-types "$p") \
		>"$log.checkpatch" 2>&1
	cprc=$?
	e='' w='' c=''
	read -r e w c < <(sed -n 's/^total: \([0-9]*\) errors, \([0-9]*\) warnings, \([0-9]*\) checks.*/\1 \2 \3/p' \
		"$log.checkpatch")
	# --terse prints nothing at all for a clean patch.
	[ -n "$e" ] || { [ $cprc -eq 0 ] && [ ! -s "$log.checkpatch" ] && e=0 w=0 c=0; }
	[ -n "$e" ] || { e='?' w='?' c='?' fail=1; }
	[ "$e" = 0 ] || fail=1
	kinds=$(sed -n 's/^[^:]*:[0-9]*: \(ERROR\|WARNING\|CHECK\):\([A-Z_]*\):.*/\2/p' "$log.checkpatch" |
		sort | uniq -c | sort -rn | awk '{ printf "%s%s x%d", sep, $2, $1; sep = ", " }')
	[ -z "$kinds" ] || types+=("$(printf '%04d %s' "$n" "$kinds")")
	row=$(printf '%-48s  %-9s  %8s  %s/%s/%s%s' "$short" "$built ${secs}s" "$warnings" "$e" "$w" "$c" "$missing")
	rows+=("$row")
	printf '  %2d/%d %s\n' "$n" "$total" "$row"
	[ "$built" = yes ] || { tail -20 "$log.build" >&2; break; }
done

# The series gives the tree make tree lays out.
same="not checked: the series stopped at patch $n"
if [ "$n" -eq "$total" ]; then
	mk/tree.sh prepare "$OUT" >/dev/null || die "make tree failed"
	manifest=$OUT/linux/.bootcache-files
	changed=$(git -C "$LINUX" diff --name-only base HEAD | sort)
	if [ "$changed" = "$(sort "$manifest")" ]; then
		same=yes
		while read -r f; do
			cmp -s "$LINUX/$f" "$OUT/linux/$f" || { same="no ($f differs)"; break; }
		done <"$manifest"
	else
		same="no (the files differ: $(diff <(printf '%s\n' "$changed") <(sort "$manifest") | grep -c '^[<>]') names)"
	fi
	[ "$same" = yes ] || fail=1
fi

vm=skipped
if [ "$SERIES_VM" = 1 ] && [ $fail -eq 0 ]; then
	say VM "vmtest.sh with the last build ($LOGS/vm.log)"
	if tools/testing/selftests/bootcache/vmtest.sh -k "$BUILD/arch/x86/boot/bzImage" -K "$LINUX" \
		-o "$WORK/vm" >"$LOGS/vm.log" 2>&1; then
		vm="passed: $(tail -n 1 "$LOGS/vm.log")"
	else
		vm="FAILED: $(tail -n 1 "$LOGS/vm.log")"
		fail=1
	fi
fi

echo
printf '%-48s  %-9s  %8s  %s\n' "patch" "builds" "new warn" "checkpatch errors/warnings/checks"
for r in "${rows[@]}"; do printf '%s\n' "$r"; done
echo
echo "checkpatch --strict, by type (see $LOGS/*.checkpatch):"
for t in "${types[@]}"; do printf '  %s\n' "$t"; done
echo
echo "applied: $n of $total patches with git am onto Linux $(sed -n 's/^kernel //p' "$OUT/pristine/.bootcache-version")"
echo "same tree as make tree: $same"
echo "VM run (KUnit and kselftests on the last build): $vm"
if [ $fail -eq 0 ]; then
	echo "series-check: passed"
else
	echo "series-check: FAILED"
fi
exit $fail
