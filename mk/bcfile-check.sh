#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kselftests' C helper (tools/testing/selftests/bootcache/bcfile.c) must
# write what the tool writes: the same playlist bytes for the same extents,
# the same malformed samples, and the same printout of a history. Builds
# both on the host (BOOTCACHE_TOOL: an already built tool instead).

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# bcfile.c includes "../kselftest.h" for __printf, as kselftests do. The
# kernel tree is not there yet when the host tests run, so the compiler
# finds, through -iquote, a stand-in that defines that one macro as
# kselftest.h does.
mkdir -p "$W/ksft/dir"
echo '#define __printf(a, b) __attribute__((format(printf, a, b)))' >"$W/ksft/kselftest.h"
gcc -O2 -Wall -Wextra -Werror -idirafter "$TOP/include/uapi" -iquote "$W/ksft/dir" \
	-o "$W/bcfile" "$TOP/tools/testing/selftests/bootcache/bcfile.c"
tool=${BOOTCACHE_TOOL:-}
if [ -z "$tool" ]; then
	# The target directory cargo test of mk/host-test.sh builds in.
	target=${CARGO_TARGET_DIR:-$TOP/tools/bootcache/target}
	cargo build --quiet --manifest-path "$TOP/tools/bootcache/Cargo.toml" --target-dir "$target"
	tool=$target/debug/bootcache
fi

fail=0
same() {
	if cmp -s "$2" "$3"; then
		echo "ok: bcfile $1"
	else
		echo "FAILED: bcfile $1 ($2 and $3 differ)"
		fail=1
	fi
}

# Every way the tests call make-playlist, and the other forms of a spec.
n=0
while read -r -a spec; do
	n=$((n + 1))
	args=()
	for e in "${spec[@]}"; do args+=(-e "$e"); done
	"$tool" make-playlist -o "$W/t$n.pl" "${args[@]}"
	"$W/bcfile" make-playlist -o "$W/c$n.pl" "${args[@]}"
	same "make-playlist ${spec[*]}" "$W/t$n.pl" "$W/c$n.pl"
done <<'SPECS'
b0075ca0-01:0:2M b0075ca0-01:2M:1M b0075ca0-01:4100K:1020K:1 b0075ca0-01:6M:2M:2:low
b0075ca1-01:1M:3M b0075ca0-01:40M:1M cafe0002-01:0:1M
root:0:4M
00112233-4455-6677-8899-AABBCCDDEEFF:8k:4k:7 ROOT:1G:64KiB:255:low bc7e5700-ff:4096:4096b
bc7e5700-01:6M:2M bc7e5700-01:0:1M:3 bc7e5711-01:0:1M bc7e5700-01:2M:4M:1
iso9660:2026-11-30-04-00-00-00:1a2b3c4d:32K:2K iso9660:2026-11-30-04-00-00-00:1A2B3C4D:1M:6K:1:low root:0:4K
iso9660:0000-00-00-00-00-00-01:00000000:2K:2K iso9660:9999-12-31-23-59-59-99:ffffffff:4M:2M:255
SPECS
# Bad specs: both refuse them.
for bad in x:0:1M root:1:4096 root:0:0 root:0:1M:256 root:0:1M:1:hi root:0:1M:1:low:x \
	root:0:2M,root:1M:2M 12345678-00:0:1M 00000000-0000-0000-0000-000000000000:0:1M \
	iso9660:2026-11-30-04-00-00-00:1a2b3c4d:1K:2K iso9660:0000-00-00-00-00-00-00:1a2b3c4d:0:2K \
	iso9660:2026-11-30-04-00-00:1a2b3c4d:0:2K iso9660:2026-11-30-04-00-00-00:1a2b3c4:0:2K \
	iso9660:2026-11-30-04-00-00-00:1a2b3c4d0:0:2K iso9660:2026-11-30-04-00-00-0x:1a2b3c4d:0:2K \
	iso9660:2026-11-30-04-00-00-00:1a2b3c4d iso9660:x:0:2K ISO9660:2026-11-30-04-00-00-00:1a2b3c4d:0:2K; do
	args=()
	for e in ${bad//,/ }; do args+=(-e "$e"); done
	if "$tool" make-playlist -o "$W/bad" "${args[@]}" 2>/dev/null ||
		"$W/bcfile" make-playlist -o "$W/bad" "${args[@]}" 2>/dev/null; then
		echo "FAILED: bcfile and the tool both refuse $bad"
		fail=1
	fi
done

"$tool" gen-malformed "$W/tm" >/dev/null
"$W/bcfile" gen-malformed "$W/cm"
if diff -r "$W/tm" "$W/cm" >/dev/null; then
	echo "ok: bcfile gen-malformed ($(find "$W/cm" -type f | wc -l) files)"
else
	echo "FAILED: bcfile gen-malformed differs: $(diff -rq "$W/tm" "$W/cm" | head -n 3)"
	fail=1
fi
# The same printout of a history with the root, GPT volumes of 4096- and 512-byte
# blocks and an ISO 9660 disc (a synthetic history's fourth volume).
"$tool" gen-history -o "$W/h" --entries 60 --volumes 4 --volume-size 16M --seed 3
"$tool" print "$W/h" >"$W/th.txt"
"$W/bcfile" print-history "$W/h" >"$W/ch.txt"
same "print-history of a history with an ISO 9660 volume" "$W/th.txt" "$W/ch.txt"
# An ISO 9660 medium that bcfile makes has the id the tool reads, and bcfile
# reads it too.
"$W/bcfile" pattern 9 0 1M >"$W/iso"
"$W/bcfile" pvd BOOTCACHE_LIVE 2026113004000000 512 |
	dd of="$W/iso" bs=2048 seek=16 conv=notrunc 2>/dev/null
"$tool" medium-id "$W/iso" >"$W/tid.txt"
"$W/bcfile" medium-id "$W/iso" >"$W/cid.txt"
same "medium-id of a medium bcfile pvd made" "$W/tid.txt" "$W/cid.txt"
if "$W/bcfile" medium-id "$W/h" 2>/dev/null; then
	echo "FAILED: bcfile medium-id accepts a history"
	fail=1
fi
# Every malformed history is refused.
for h in "$W"/cm/*.history; do
	if "$W/bcfile" print-history "$h" >/dev/null 2>&1; then
		echo "FAILED: bcfile print-history accepts $h"
		fail=1
	fi
done
exit $fail
