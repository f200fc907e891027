#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Put bootcache into a Linux 6.12 source tree.
#
#   mk/tree.sh prepare OUT      unpack Debian's linux-source-6.12 under OUT and
#                               keep OUT/linux equal to "pristine + our files +
#                               patches/", touching only files whose content
#                               changed so that the kernel build stays
#                               incremental
#   mk/tree.sh apply KERNEL     lay our files over a kernel tree the user
#                               already has and apply patches/ (once)
#   mk/tree.sh files            list the files laid over the kernel
#
# The files laid over the kernel are every file of this repository that git
# tracks or would track, except the project's own plumbing (EXCLUDE below).
# patches/ is the patch series (mk/series.py): each patch names the files it
# adds ("Files:") and may carry, after its message, a diff of kernel files
# it edits, which is what this script applies, in the series' order. A patch
# that only adds files has no diff.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
TARBALL=${BOOTCACHE_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
EXCLUDE='^(Makefile|README\.md|\.gitignore|\.ci/|mk/|patches/)'

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/tree: error: %s\n' "$*" >&2; exit 1; }

# The repository's files that belong in the kernel tree, one path per line.
overlay_files() {
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TOP" ls-files --cached --others --exclude-standard
	else
		(cd "$TOP" && find . -type f ! -path './.git/*' ! -path './out/*' \
			! -path '*/target/*' | sed 's|^\./||')
	fi | grep -Ev "$EXCLUDE" | while read -r f; do
		[ -f "$TOP/$f" ] && printf '%s\n' "$f"
	done | sort -u
}

# The patches with a diff, in the series' order.
patch_list() {
	local p
	for p in "$TOP"/patches/*.patch; do
		[ -f "$p" ] && grep -q '^+++ b/' "$p" && printf '%s\n' "$p"
	done
}

# Paths a patch modifies (its "+++ b/..." lines).
patch_targets() {
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

# apply_patch TREE PATCH: apply one patch, or stop naming the patch and file.
apply_patch() {
	local tree=$1 p=$2 out
	if ! out=$(patch -d "$tree" -p1 --batch --forward --no-backup-if-mismatch \
			--reject-file=- <"$p" 2>&1); then
		local files
		# The files whose hunks failed: the "patching file" line before
		# each failure report.
		files=$(printf '%s\n' "$out" | awk '
			/^patching file / { f = $3 }
			/FAILED|can.t find file|No such file|malformed/ { if (f != "" && !seen[f]++) printf "%s ", f }')
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		die "patch ${p#"$TOP"/} does not apply to ${files:-$(patch_targets "$p" | tr '\n' ' ')}"
	fi
}

check_612() {
	local mk=$1/Makefile v p
	[ -f "$mk" ] || die "$1 is not a kernel tree (no Makefile)"
	v=$(sed -n 's/^VERSION = //p' "$mk")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$mk")
	[ "$v.$p" = "6.12" ] || die "$1 is Linux $v.$p; bootcache needs 6.12"
}

kernel_version() {
	make -s -C "$1" kernelversion 2>/dev/null
}

prepare() {
	local out pristine work stage manifest
	out=$(mkdir -p "$1" && cd "$1" && pwd)
	pristine=$out/pristine
	work=$out/linux
	stage=$out/stage
	manifest=$work/.bootcache-files

	[ -f "$TARBALL" ] || die "$TARBALL is missing: run 'make setup' (Debian package linux-source-6.12)"

	if [ ! -f "$pristine/.unpacked" ] || [ "$TARBALL" -nt "$pristine/.unpacked" ]; then
		say UNPACK "$TARBALL"
		rm -rf "$pristine" "$work"
		mkdir -p "$pristine"
		tar -xf "$TARBALL" -C "$pristine" --strip-components=1
		check_612 "$pristine"
		{
			printf 'kernel %s\n' "$(kernel_version "$pristine")"
			printf 'package %s\n' "$(dpkg-query -W -f='${Package} ${Version}' linux-source-6.12 2>/dev/null || echo unknown)"
		} >"$pristine/.bootcache-version"
		touch "$pristine/.unpacked"
	fi
	if [ ! -f "$work/.copied" ] || [ "$pristine/.unpacked" -nt "$work/.copied" ]; then
		say COPY "pristine tree -> $work"
		rm -rf "$work"
		cp -a "$pristine" "$work"
		rm -f "$work/.unpacked"
		touch "$work/.copied"
	fi

	# Build the wanted content of every file we manage in a small staging
	# tree, then copy over only what differs.
	rm -rf "$stage"
	mkdir -p "$stage"
	local f p
	overlay_files >"$stage.list"
	while read -r f; do
		mkdir -p "$stage/$(dirname "$f")"
		cp "$TOP/$f" "$stage/$f"
	done <"$stage.list"
	for p in $(patch_list); do
		for f in $(patch_targets "$p"); do
			[ -e "$stage/$f" ] && continue
			[ -f "$pristine/$f" ] || continue
			mkdir -p "$stage/$(dirname "$f")"
			cp "$pristine/$f" "$stage/$f"
			printf '%s\n' "$f" >>"$stage.list"
		done
		apply_patch "$stage" "$p"
	done
	sort -u -o "$stage.list" "$stage.list"

	local changed=0
	while read -r f; do
		if ! cmp -s "$stage/$f" "$work/$f"; then
			mkdir -p "$work/$(dirname "$f")"
			cp "$stage/$f" "$work/$f"
			say UPDATE "$f"
			changed=$((changed + 1))
		fi
	done <"$stage.list"
	# Files we managed before but no longer do go back to pristine.
	if [ -f "$manifest" ]; then
		comm -23 "$manifest" "$stage.list" | while read -r f; do
			if [ -f "$pristine/$f" ]; then
				cp "$pristine/$f" "$work/$f"
				say RESTORE "$f"
			else
				rm -f "$work/$f"
				say REMOVE "$f"
			fi
		done
	fi
	cp "$stage.list" "$manifest"
	cp "$pristine/.bootcache-version" "$out/kernel-version"
	rm -rf "$stage" "$stage.list"
	say TREE "$work: Linux $(sed -n 's/^kernel //p' "$out/kernel-version"), $(wc -l <"$manifest") bootcache files, $changed updated"
}

apply() {
	local kernel f p
	kernel=$(cd "$1" && pwd) || die "no such directory: $1"
	check_612 "$kernel"
	while read -r f; do
		if ! cmp -s "$TOP/$f" "$kernel/$f"; then
			mkdir -p "$kernel/$(dirname "$f")"
			cp "$TOP/$f" "$kernel/$f"
			say COPY "$f"
		fi
	done < <(overlay_files)
	for p in $(patch_list); do
		if patch -d "$kernel" -p1 -R --dry-run --batch --force -s <"$p" >/dev/null 2>&1; then
			say SKIP "${p#"$TOP"/} (already applied)"
			continue
		fi
		apply_patch "$kernel" "$p"
		say PATCH "${p#"$TOP"/}"
	done
	say DONE "bootcache is in $kernel (Linux $(kernel_version "$kernel"))"
}

case "${1:-}" in
prepare) prepare "${2:?usage: mk/tree.sh prepare OUT}" ;;
apply) apply "${2:?usage: mk/tree.sh apply KERNEL}" ;;
files) overlay_files ;;
*) die "usage: mk/tree.sh prepare OUT | apply KERNEL | files" ;;
esac
