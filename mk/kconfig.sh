#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/kconfig.sh SRC BUILD FRAGMENT...
#
# Make BUILD/.config from tinyconfig plus the fragments (later ones win), then
# check that Kconfig kept every option the fragments ask for. The .config is
# replaced only when its content changes, so an unchanged configuration costs
# the kernel build nothing.
#
# With KCONFIG_UNDEFINED_OK=1 an option that no Kconfig file of SRC defines
# is not an error (make series-check builds each step of the series, before
# the patch that adds CONFIG_BOOTCACHE); they are listed in
# BUILD/.kconfig-undefined, one name per line.

set -euo pipefail

die() { printf 'mk/kconfig: error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$2"
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
shift 2
tmp=$build/.kconfig-tmp
rm -rf "$tmp"
mkdir -p "$tmp"
# shellcheck disable=SC2086 # KMAKE_ARGS is a list of make variables.
make -s -C "$src" O="$tmp" $KMAKE_ARGS tinyconfig >"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; die "tinyconfig failed"; }
"$src/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "$@" >>"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; die "merge_config.sh failed"; }
# shellcheck disable=SC2086
make -s -C "$src" O="$tmp" $KMAKE_ARGS olddefconfig >>"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; die "olddefconfig failed"; }

# The last value each fragment line asks for, as "NAME VALUE" ("n" for
# "is not set"), checked against the result.
dropped=$(awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { i = index($0, "="); want[substr($0, 1, i - 1)] = substr($0, i + 1); next }
	/^# CONFIG_[A-Za-z0-9_]+ is not set/ { want[$2] = "n"; next }
	END { for (k in want) print k, want[k] }' "$@" | sort | while read -r name value; do
	got=$(grep -E "^$name=" "$tmp/.config" | cut -d= -f2- || true)
	[ -n "$got" ] || got=n
	[ "$got" = "$value" ] || printf '  %s: asked for %s, got %s\n' "$name" "$value" "$got"
done)
rm -f "$build/.kconfig-undefined"
if [ -n "$dropped" ] && [ "${KCONFIG_UNDEFINED_OK:-0}" = 1 ]; then
	# Every symbol the tree's Kconfig files define.
	find "$src" -name 'Kconfig*' -type f -print0 |
		xargs -0 sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/CONFIG_\2/p' |
		sort -u >"$tmp/defined"
	undefined=$(printf '%s\n' "$dropped" | awk '{ sub(":", "", $1); print $1 }' |
		sort -u | comm -23 - "$tmp/defined")
	if [ -n "$undefined" ]; then
		printf '%s\n' "$undefined" >"$build/.kconfig-undefined"
		dropped=$(printf '%s\n' "$dropped" | grep -vwF -f "$build/.kconfig-undefined" || true)
	fi
fi
if [ -n "$dropped" ]; then
	printf '%s\n' "$dropped" >&2
	die "Kconfig dropped options from $*; see the dependencies of the options above"
fi

if ! cmp -s "$tmp/.config" "$build/.config"; then
	cp "$tmp/.config" "$build/.config"
	printf '  %-8s %s\n' CONFIG "$build/.config ($(echo "$@" | xargs -n1 basename | tr '\n' ' '))"
fi
rm -rf "$tmp"
