#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Installs the bootcache tool and its boot cycle under DESTDIR (`/` for this
# machine), as `make install DESTDIR=...` would:
#
#   /usr/sbin/bootcache                                   the tool
#   /usr/lib/systemd/system/bootcache-start.service       start the cache early
#   /usr/lib/systemd/system/bootcache-stop.service        save history + playlist
#   /usr/lib/systemd/system/bootcache-stop.timer          ... once the boot is done
#   /usr/lib/systemd/system-generators/bootcache-generator  BOOTCACHE_SAVE_DELAY
#   /usr/lib/bootcache/update-initramfs                   rebuild it after a save
#   /usr/share/initramfs-tools/hooks/bootcache            copy tool + playlist
#   /usr/share/initramfs-tools/scripts/init-top/bootcache start from the initramfs
#   /etc/default/bootcache                                settings (kept if present)
#   /var/lib/bootcache/                                   saved files
#   /usr/share/doc/bootcache/README.md
#   /usr/share/man/man8/bootcache.8, bootcache-COMMAND.8  man pages
#   /usr/share/bash-completion/completions/bootcache      completions (bash,
#   /usr/share/zsh/vendor-completions/_bootcache          zsh, fish: Debian's
#   /usr/share/fish/vendor_completions.d/bootcache.fish   places)
#
# The binary is BOOTCACHE_BIN if set, else target/release/bootcache, built with
# `cargo build --release` if it is missing. The man pages and completions are
# made from the command line's definition by examples/gen-docs.rs: they are
# taken from BOOTCACHE_DOCS=DIR if set (gen-docs's output), else generated into
# target/docs with `cargo run --release --example gen-docs`. Nothing is enabled
# or started; the commands to do so are printed at the end. mk/deb.sh makes the
# Debian package from what this script installs.

set -eu

usage()
{
	cat <<USAGE
usage: $0 DESTDIR

Installs bootcache under DESTDIR; give / to install on this machine.
Environment: BOOTCACHE_BIN=FILE installs that binary instead of building one;
BOOTCACHE_DOCS=DIR installs the man pages and completions gen-docs wrote there.
USAGE
}

[ $# -eq 1 ] || { usage >&2; exit 2; }
case $1 in
-h|--help) usage; exit 0 ;;
esac

src=$(cd "$(dirname "$0")" && pwd)
dest=${1%/}

bin=${BOOTCACHE_BIN:-}
if [ -z "$bin" ]; then
	bin=$src/target/release/bootcache
	if [ ! -x "$bin" ]; then
		echo "building $bin"
		(cd "$src" && cargo build --release --quiet)
	fi
fi
[ -x "$bin" ] || { echo "$0: $bin: not an executable" >&2; exit 1; }

docs=${BOOTCACHE_DOCS:-}
if [ -z "$docs" ]; then
	docs=$src/target/docs
	echo "generating the man pages and completions in $docs"
	rm -rf "$docs"
	(cd "$src" && cargo run --release --quiet --example gen-docs -- "$docs")
fi
if [ ! -f "$docs/bootcache.8" ]; then
	echo "$0: $docs: no bootcache.8 (not gen-docs output)" >&2
	exit 1
fi

# put MODE SOURCE TARGET: copies SOURCE to DESTDIR/TARGET with MODE.
put()
{
	mkdir -p "$dest$(dirname "$3")"
	cp "$2" "$dest$3.tmp.$$"
	chmod "$1" "$dest$3.tmp.$$"
	mv -f "$dest$3.tmp.$$" "$dest$3"
	echo "installed $dest$3"
}

put 755 "$bin" /usr/sbin/bootcache
for u in bootcache-start.service bootcache-stop.service bootcache-stop.timer; do
	put 644 "$src/systemd/$u" "/usr/lib/systemd/system/$u"
done
put 755 "$src/systemd/bootcache-generator" /usr/lib/systemd/system-generators/bootcache-generator
put 755 "$src/lib/update-initramfs" /usr/lib/bootcache/update-initramfs
put 755 "$src/initramfs-tools/hooks/bootcache" /usr/share/initramfs-tools/hooks/bootcache
put 755 "$src/initramfs-tools/scripts/init-top/bootcache" \
	/usr/share/initramfs-tools/scripts/init-top/bootcache
put 644 "$src/README.md" /usr/share/doc/bootcache/README.md
for m in "$docs"/*.8; do
	put 644 "$m" "/usr/share/man/man8/${m##*/}"
done
put 644 "$docs/bootcache.bash" /usr/share/bash-completion/completions/bootcache
put 644 "$docs/_bootcache" /usr/share/zsh/vendor-completions/_bootcache
put 644 "$docs/bootcache.fish" /usr/share/fish/vendor_completions.d/bootcache.fish
if [ -e "$dest/etc/default/bootcache" ]; then
	echo "kept $dest/etc/default/bootcache"
else
	put 644 "$src/etc/default/bootcache" /etc/default/bootcache
fi
mkdir -p "$dest/var/lib/bootcache"
chmod 755 "$dest/var/lib/bootcache"

if [ -z "$dest" ]; then
	cat <<NEXT

To turn the boot cycle on:
  systemctl daemon-reload
  systemctl enable bootcache-start.service bootcache-stop.timer
  update-initramfs -u        # only to start from the initramfs
NEXT
fi
