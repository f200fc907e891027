#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/checkpatch.sh KSRC SERIES: scripts/checkpatch.pl --strict on every patch
# of the series `make series` wrote to SERIES (its signoff check on), and on
# every file bootcache adds to the kernel that checkpatch reads: C and
# headers, Rust, Kconfig and shell (the kselftests and the VM harness).
#
# One kind of report is left out of the series' check: FILE_PATH_CHANGES
# ("added, moved or deleted file(s), does MAINTAINERS need updating?"),
# which checkpatch gives for every patch that adds a file without touching
# MAINTAINERS. bootcache's own entry grows with the patches that add its
# files; the bio filter's and the abstractions' files are under entries
# that exist (BLOCK LAYER, BLOCK LAYER DEVICE DRIVER API [RUST], RUST).
# make series-check counts every report, that one too.

set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cp=$(cd "$1" && pwd)/scripts/checkpatch.pl
series=$(cd "$2" && pwd)
rc=0
# checkpatch keeps a cache file in its working directory.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1

npatches=0
for p in "$series"/0[0-9][0-9][0-9]-*.patch; do
	case $(basename "$p") in 0000-*) continue ;; esac
	npatches=$((npatches + 1))
	"$cp" --strict --quiet --no-tree --ignore FILE_PATH_CHANGES "$p" || rc=1
done
[ $npatches -gt 0 ] || { echo "mk/checkpatch: no patches in $series" >&2; exit 1; }

files=$(cd "$TOP" && git ls-files --cached --others --exclude-standard -- \
	'*.c' '*.h' '*.rs' '*Kconfig' '*.sh' |
	grep -Ev '^(tools/bootcache/|mk/)')
# UNDOCUMENTED_SETUP looks for the kernel-parameters.txt lines in the same
# patch; a file on its own has none (the driver's patch documents
# bootcache=).
for f in $files; do
	"$cp" --strict --quiet --no-tree --ignore UNDOCUMENTED_SETUP -f "$TOP/$f" || rc=1
done
kinds=$(printf '%s\n' "$files" | sed 's/.*\.//; s/.*Kconfig$/Kconfig/' | sort | uniq -c |
	awk '{ printf "%s%d %s", sep, $1, $2; sep = ", " }')
[ $rc -eq 0 ] && echo "  CHECKPATCH clean: $npatches patches (signed off), files: $kinds"
exit $rc
