#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing bootcache needs, and only what is missing:
# Debian packages (from apt's configured sources) and bindgen-cli from cargo's
# configured registry. Quiet when everything is present.

set -euo pipefail

BINDGEN_VERSION=0.71.1
PACKAGES=(
	# Kernel source and the Rust toolchain the kernel is built with.
	linux-source-6.12 rustc-web rust-web-src rust-web-clippy
	# C toolchain (LLVM=1) and libclang for bindgen.
	clang lld llvm libclang-dev
	# Kernel build dependencies.
	make flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
	# VM: emulator, guest userland, images, and the log parser.
	qemu-system-x86 busybox-static e2fsprogs fdisk python3
	# Host tools used by the tests and the demo.
	gcc fio debootstrap time
)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	say "installing Debian packages: ${missing[*]}"
	$sudo apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# bindgen: Debian 12's own is older than Linux 6.12's minimum.
if ! command -v cargo >/dev/null; then
	die "cargo is missing: install a Rust toolchain (rustup) to build bindgen-cli and the tool"
fi
bindgen=${CARGO_HOME:-$HOME/.cargo}/bin/bindgen
if ! "$bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	say "installing bindgen-cli $BINDGEN_VERSION with cargo (about 70 s)"
	cargo install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION"
fi

# The kernel compiles core from source: rustc and its library source must be
# the very same version.
rustc_v=$(/usr/bin/rustc --version | awk '{print $2}')
sysroot=$(/usr/bin/rustc --print sysroot)
core=$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs
[ -f "$core" ] || die "no Rust core source at $core: install rust-web-src matching rustc-web $rustc_v"
src_v=$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null)
bin_v=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null)
[ "$src_v" = "$bin_v" ] ||
	die "rustc-web is $bin_v but rust-web-src is $src_v: install the same version of both (apt-get install rustc-web=$bin_v rust-web-src=$bin_v)"
exit 0
