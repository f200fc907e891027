#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing bootcache needs, and only what is missing:
# Debian packages (from apt's configured sources), bindgen-cli and cargo-fuzz
# from cargo's configured registry, and the rustup toolchain parts the host
# tests use. Quiet when everything is present.
#
# The package list covers every program that the Makefile, mk/*.sh, .ci/run,
# tools/testing/selftests/bootcache/vmtest.sh (host side) and the tool's
# tests (tools/bootcache/tests/*.rs) run that a new Debian 12 machine may
# lack; each line says who needs it. Programs from Essential packages
# (coreutils, findutils, grep, sed, tar, gzip, diffutils, util-linux,
# libc-bin's ldd, dash) and mawk are always there. A script that starts
# needing a new program adds its package here, not an apt-get of its own.

set -euo pipefail

BINDGEN_VERSION=0.71.1
PACKAGES=(
	# Kernel source and the Rust toolchain the kernel is built with.
	linux-source-6.12 rustc-web rust-web-src rust-web-clippy
	# C toolchain (LLVM=1) and libclang for bindgen.
	clang lld llvm libclang-dev
	# Kernel build dependencies; perl: the build's scripts use modules
	# (File::Find) that perl-base lacks, and checkpatch.pl needs it.
	make flex bison bc libelf-dev libssl-dev cpio xz-utils kmod perl
	# mk/tree.sh applies patches/ with patch(1) and lists the repository's
	# files with git (so does mk/checkpatch.sh).
	patch git
	# VM: emulator, guest userland, images, and the log parser.
	qemu-system-x86 busybox-static e2fsprogs fdisk python3
	# mk/seekdisk_test.py (make host-test): qemu-img and qemu-io check the
	# seek model's NBD server with QEMU's own client.
	qemu-utils
	# vmtest.sh: the kselftests' install target copies with rsync.
	rsync
	# vmtest.sh -T dmsetup: the device-mapper tool, copied into the guest.
	dmsetup
	# Host tools used by the tests and the demo. libc6-dev: gcc -static
	# (the guest's helpers) and the crt-static tool need libc.a, and the
	# tool's C layout test includes <linux/types.h>; gcc only recommends it.
	gcc libc6-dev fio debootstrap time
	# mk/live-iso.sh (make demo PROFILE=dvd): the live ISO's root file
	# system image, the ISO 9660 image, and its BIOS boot loader (isolinux
	# for El Torito, syslinux-common for ldlinux.c32 and the hybrid MBR).
	squashfs-tools xorriso isolinux syslinux-common
	# The tool's tests: systemd-analyze verifies the units, and posh checks
	# that the boot scripts are POSIX sh (besides dash).
	systemd posh
	# make shellcheck (and mk/host-test.sh): the kselftests' and VM
	# harness's shell scripts must be shellcheck clean.
	shellcheck
	# make deb: dpkg-dev (dpkg-buildpackage, dpkg-shlibdeps), debhelper (the
	# kernel's bindeb-pkg runs dh_* tools), binutils (strip), lintian.
	dpkg-dev debhelper binutils lintian
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
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null ||
			die "missing Debian packages (${missing[*]}): run 'make setup' as root, or install sudo"
		sudo=sudo
	fi
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

# The host tests: cargo fmt and clippy on the stable toolchain, and the short
# fuzz run (tools/bootcache/fuzz/run.sh), which needs nightly and cargo-fuzz.
if command -v rustup >/dev/null; then
	for c in rustfmt clippy; do
		if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
			say "installing the rustup component $c"
			rustup component add "$c" >/dev/null
		fi
	done
	if ! rustup run nightly rustc --version >/dev/null 2>&1; then
		say "installing the nightly Rust toolchain with rustup (for cargo-fuzz)"
		rustup toolchain install nightly --profile minimal >/dev/null
	fi
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
	say "installing cargo-fuzz with cargo (a minute or two)"
	cargo install --quiet --locked cargo-fuzz
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
