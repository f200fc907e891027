#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mk/deb.sh: the bootcache tool as a Debian binary package (make deb-tool),
# written to $OUT/deb/bootcache_VERSION_ARCH.deb and checked with lintian.
#
# The package is made with dpkg-deb --root-owner-group --build from a staged
# tree, not with debhelper from a debian/ source directory: the repository is
# a kernel patch set whose tools/ go to the mailing lists (a debian/ directory
# there would travel with them), the tool is built by cargo against cargo's
# registry rather than from Debian's packaged crates, and the few things
# debhelper would do here are a handful of lines below. What goes in is what
# tools/bootcache/install.sh installs (one list of files for both), run into
# the staging root, plus what Debian adds:
#   - the binary stripped (cargo's release profile keeps line tables);
#   - the man pages gzipped (gzip -9n), and
#     /usr/share/doc/bootcache/{copyright,changelog.Debian.gz};
#   - DEBIAN/: control (Depends from dpkg-shlibdeps), conffiles
#     (/etc/default/bootcache), md5sums, and the maintainer scripts of
#     mk/deb/ (postinst, prerm, postrm: they say what they do).
# lintian's overrides, each with its reason, are mk/deb/lintian-overrides
# (installed at /usr/share/lintian/overrides/bootcache); lintian must then
# report no error and no warning, or this script fails.
#
# The version is the tool's (Cargo.toml) plus the commit's date and hash
# (0.1.0+git20261130.654fe25-1; "+dirty" when the tree has uncommitted
# changes). SOURCE_DATE_EPOCH is the commit's time (the man pages' and the
# changelog's date; dpkg-deb clamps the files' times to it), so a rebuild of
# the same tree makes the same bytes (checked: two builds, one sha256). The maintainer is DEBFULLNAME and DEBEMAIL, or git's user.name
# and user.email. Builds go to $OUT/build/deb/tool (cargo's target
# directory) and $OUT/build/deb/stage (the tree), which nothing else uses.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$TOP/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TOOL=$TOP/tools/bootcache
DEB=$OUT/deb
WORK=$OUT/build/deb
TARGET=$WORK/tool
STAGE=$WORK/stage

say() { printf '  %-8s %s\n' "$1" "$2"; }
die() { printf 'mk/deb: error: %s\n' "$*" >&2; exit 1; }

for c in cargo dpkg-deb dpkg-shlibdeps lintian strip gzip git; do
	command -v "$c" >/dev/null || die "$c is missing (run 'make setup')"
done

# --- The version, the date and the maintainer. ---
upstream=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$TOOL/Cargo.toml" | head -n 1)
[ -n "$upstream" ] || die "no version in $TOOL/Cargo.toml"
SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct)
export SOURCE_DATE_EPOCH
commit=$(git -C "$TOP" rev-parse --short=7 HEAD)
day=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d)
dirty=
git -C "$TOP" diff --quiet HEAD -- || dirty=+dirty
version=$upstream+git$day.$commit$dirty-1
name=${DEBFULLNAME:-$(git -C "$TOP" config user.name || true)}
email=${DEBEMAIL:-$(git -C "$TOP" config user.email || true)}
if [ -z "$name" ] || [ -z "$email" ]; then
	die "no maintainer: set DEBFULLNAME and DEBEMAIL (or git's user.name and user.email)"
fi
arch=$(dpkg --print-architecture)
deb=$DEB/bootcache_${version}_$arch.deb

# --- The binary and the generated man pages and completions. ---
say CARGO "release build of tools/bootcache in ${TARGET#"$TOP"/}"
mkdir -p "$TARGET"
cargo build --quiet --release --manifest-path "$TOOL/Cargo.toml" --target-dir "$TARGET" \
	--bin bootcache --example gen-docs >"$TARGET/build.log" 2>&1 ||
	{ cat "$TARGET/build.log" >&2; die "cargo build failed"; }
rm -rf "$TARGET/docs"
"$TARGET/release/examples/gen-docs" "$TARGET/docs"

# --- The staged tree: install.sh's files, then Debian's additions. ---
say STAGE "tools/bootcache/install.sh ${STAGE#"$TOP"/}"
rm -rf "$STAGE"
BOOTCACHE_BIN=$TARGET/release/bootcache BOOTCACHE_DOCS=$TARGET/docs \
	sh "$TOOL/install.sh" "$STAGE" >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log" >&2; die "install.sh failed"; }
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$STAGE/usr/sbin/bootcache"
gzip -9n "$STAGE"/usr/share/man/man8/*.8
doc=$STAGE/usr/share/doc/bootcache
install -D -m 644 "$TOP/mk/deb/lintian-overrides" "$STAGE/usr/share/lintian/overrides/bootcache"

# copyright: machine-readable (DEP-5). The binary also holds the Rust crates
# it is built with: listed, with their licences, from cargo's own record.
years=$(git -C "$TOP" log --reverse --format=%ad --date=format:%Y | sed -n '1p;$p' | uniq |
	paste -sd- -)
crates=$(cargo tree --quiet --manifest-path "$TOOL/Cargo.toml" --edges normal,no-proc-macro \
	--prefix none --format '{p} ({l})' 2>/dev/null | sed -e 's/ (\/.*)//' -e 's/ (\*)$//' |
	grep -v '^bootcache ' | sort -u | sed 's/^/ /')
[ -n "$crates" ] || die "cargo tree listed no crates"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bootcache
Comment: Built from the bootcache repository (a patch set against Linux 6.12
 and its userspace tool) at commit $commit$dirty with make deb.
 .
 /usr/sbin/bootcache is built with these Rust crates (name, version, licence
 as the crate declares it), fetched by cargo and linked in statically:
$crates

Files: *
Copyright: $years the bootcache authors
License: GPL-2.0

License: GPL-2.0
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT
 ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or
 FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for
 more details.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in "/usr/share/common-licenses/GPL-2".
EOF
chmod 644 "$doc/copyright"
{
	printf 'bootcache (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built with make deb from the bootcache repository at commit %s%s:\n' \
		"$commit" "$dirty"
	printf '    %s\n\n' "$(git -C "$TOP" log -1 --format=%s | cut -c1-72)"
	printf ' -- %s <%s>  %s\n' "$name" "$email" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 644 "$doc/changelog.Debian.gz"

# --- DEBIAN/. ---
mkdir -p "$STAGE/DEBIAN"
install -m 755 "$TOP"/mk/deb/{postinst,prerm,postrm} "$STAGE/DEBIAN/"
echo /etc/default/bootcache >"$STAGE/DEBIAN/conffiles"
# dpkg-shlibdeps reads debian/control: give it a minimal one.
mkdir -p "$WORK/shlibs/debian"
printf 'Source: bootcache\n\nPackage: bootcache\nArchitecture: any\n' \
	>"$WORK/shlibs/debian/control"
depends=$(cd "$WORK/shlibs" && dpkg-shlibdeps -O -e"$STAGE/usr/sbin/bootcache" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies of the binary"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
cat >"$STAGE/DEBIAN/control" <<EOF
Package: bootcache
Version: $version
Architecture: $arch
Maintainer: $name <$email>
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $depends
Suggests: initramfs-tools
Section: admin
Priority: optional
Description: boot-time block read-ahead cache: tool and boot cycle
 bootcache reads the disk blocks a boot needs ahead of the boot, in large
 sequential reads, from a playlist that the previous boot recorded. It
 needs a kernel with bootcache (CONFIG_BOOTCACHE, a patch set against
 Linux 6.12).
 .
 This package holds the userspace side: the bootcache tool (make, check
 and inspect playlists and histories; drive the kernel's cache through
 /sys/kernel/bootcache), systemd units that start the cache at boot and
 save the history and the next playlist once the boot is done, and an
 initramfs-tools hook that starts read-ahead from the initramfs. The units
 are enabled on installation; /etc/default/bootcache holds the settings.
EOF

# --- The package, and lintian. ---
mkdir -p "$DEB"
rm -f "$DEB"/bootcache_*.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$deb" >/dev/null
say DEB "${deb#"$TOP"/} ($(($(stat -c %s "$deb") / 1024)) KiB, $(dpkg-deb -c "$deb" | grep -vc '/$') files)"
# Every tag down to pedantic, and the overridden ones (O:), without the
# overrides' reasons (N:) and lintian's warning about running as root.
lintian --display-info --pedantic --show-overrides "$deb" 2>&1 |
	grep -v -e '^N: ' -e 'running with root privileges' >"$WORK/lintian.log" || true
sed 's/^/    /' "$WORK/lintian.log"
if grep -Eq '^[EW]: ' "$WORK/lintian.log"; then
	die "lintian reports errors or warnings (above); fix them or override them with a reason in mk/deb/lintian-overrides"
fi
say LINTIAN "no errors or warnings; $(grep -c '^[IPX]: ' "$WORK/lintian.log") info, pedantic or experimental tags; $(grep -c '^O: ' "$WORK/lintian.log") overridden (mk/deb/lintian-overrides)"
