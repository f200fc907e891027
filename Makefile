# SPDX-License-Identifier: GPL-2.0
#
# bootcache: the one entry point. `make help` lists the targets.
#
# Everything generated goes under $(OUT): the unpacked kernel (pristine and
# patched), one build tree per kernel flavour, VM images and logs.

OUT       ?= out
FLAVOR    ?= test
KSRC      := $(OUT)/linux
KBUILD    := $(OUT)/build/$(FLAVOR)
CARGO_HOME ?= $(HOME)/.cargo
JOBS      ?= $(shell echo $$(( $$(nproc) + 1 )))
SELFTESTS := tools/testing/selftests/bootcache
TOOL      := tools/bootcache

# Config fragments per flavour, merged onto tinyconfig in this order.
FRAGMENTS_test  := $(SELFTESTS)/configs/test.config
FRAGMENTS_boot  := $(FRAGMENTS_test) $(SELFTESTS)/configs/boot.config \
	$(SELFTESTS)/configs/live.config
FRAGMENTS_debug := $(FRAGMENTS_test) $(SELFTESTS)/configs/debug.config
FRAGMENTS       := $(FRAGMENTS_$(FLAVOR))
ifeq ($(FRAGMENTS),)
$(error FLAVOR must be test, boot or debug, not '$(FLAVOR)')
endif
# EXTRA_FRAGMENTS: more fragments merged last (make soak adds its own).
FRAGMENTS       += $(EXTRA_FRAGMENTS)

# PLAYLIST=FILE builds the playlist FILE into the kernel image
# (CONFIG_BOOTCACHE_PLAYLIST, through a generated fragment), in a build tree
# of its own so that the plain one stays incremental. The kernel build copies
# the file again whenever it changes.
ifneq ($(PLAYLIST),)
ifneq ($(word 2,$(PLAYLIST)),)
$(error PLAYLIST must be one path, without spaces)
endif
KBUILD    := $(OUT)/build/$(FLAVOR)-playlist
PLAYLIST_CONFIG := $(KBUILD)/bootcache-playlist.config
FRAGMENTS += $(PLAYLIST_CONFIG)
endif

# The kernel is built with LLVM and Debian's rustc (whose core source is
# installed beside it); bindgen comes from cargo.
KMAKE_ARGS := LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	HOSTRUSTC=/usr/bin/rustc BINDGEN=$(CARGO_HOME)/bin/bindgen \
	CLIPPY_DRIVER=/usr/bin/clippy-driver
export KMAKE_ARGS
KMAKE = $(MAKE) -C $(KSRC) O=$(abspath $(KBUILD)) $(KMAKE_ARGS) -j$(JOBS)

.PHONY: help setup tree apply config kernel clippy rustfmtcheck checkpatch \
	configs-check host-test shellcheck vm vm-debug boot-test test bench-filter bench-trace demo \
	cpu-factor fuzz soak series series-check deb deb-tool deb-kernel deb-test clean distclean

help:
	@echo 'bootcache targets:'
	@echo '  make demo            a real Debian boot with and without bootcache (PROFILE=hdd|dvd|seek|hdd7200|... RUNS=N; root)'
	@echo '  make cpu-factor      how many times slower the demo'"'"'s TCG guest computes than the host (SEEK_SCALE=cpu)'
	@echo '  make test            host tests, kernel build, VM run of KUnit and kselftests'
	@echo '  make setup           install missing Debian packages and bindgen-cli'
	@echo '  make tree            unpack linux-source-6.12 into $(OUT)/linux with bootcache applied'
	@echo '  make kernel          build $(OUT)/build/FLAVOR/arch/x86/boot/bzImage'
	@echo '  make vm              boot the test kernel in QEMU and run KUnit and the kselftests'
	@echo '  make vm-debug        the same with the debug kernel (lockdep, KASAN, kmemleak, fault injection)'
	@echo '  make boot-test       boot scenarios: bootcache=off|record|auto, built-in playlists'
	@echo '  make deb             Debian packages in $(OUT)/deb: the tool (make deb-tool, checked with lintian)'
	@echo '                       and the boot kernel (make deb-kernel; build tree $(OUT)/build/boot)'
	@echo '  make deb-test        install, upgrade, remove and purge them in a Debian 12 chroot (root)'
	@echo '  make apply KERNEL=/path/to/linux-6.12   put bootcache into your own 6.12 tree'
	@echo '  make series          the patch series for the mailing lists, in $(OUT)/series (SIGNOFF="Name <email>")'
	@echo '  make series-check    git am the series on 6.12: build after each patch, checkpatch, VM run; one table'
	@echo '  make host-test       cargo tests of tools/bootcache and the shared format code'
	@echo '  make bench-filter    IOPS on null_blk with and without a bio filter (benchmark)'
	@echo '  make bench-trace     a recorded boot'"'"'s reads replayed on a slow CD drive, I/O wait without/with bootcache'
	@echo '                       (BENCH_HISTORY, BENCH_IMAGE, BENCH_CONVERT_OPTS="A;B", BENCH_RUNS; see mk/bench-trace.sh)'
	@echo '  make shellcheck      check the kselftests'"'"' and VM harness'"'"'s shell scripts'
	@echo '  make clippy          lint the Rust code with CLIPPY=1'
	@echo '  make rustfmtcheck    check the Rust formatting (kernel and tool)'
	@echo '  make checkpatch      scripts/checkpatch.pl --strict on the series and on the C, Rust, Kconfig and shell files'
	@echo '  make configs-check   merge every config flavour and check nothing was dropped'
	@echo '  make fuzz            long fuzz run of the format code (FUZZ_SECONDS=600 per target)'
	@echo '  make soak            fault and load campaign on the debug kernel, one table (SOAK_MINUTES=30)'
	@echo 'Variables: FLAVOR=test|boot|debug (kernel config), OUT=$(OUT), JOBS=$(JOBS)'
	@echo '           PLAYLIST=FILE (build FILE into the kernel image, in $(OUT)/build/FLAVOR-playlist)'

setup:
	@mk/setup.sh

tree: setup
	@mk/tree.sh prepare $(OUT)

apply:
	@test -n "$(KERNEL)" || { echo 'usage: make apply KERNEL=/path/to/linux-6.12' >&2; exit 2; }
	@mk/tree.sh apply $(KERNEL)

config: tree
	@mk/kconfig.sh $(KSRC) $(KBUILD) $(FRAGMENTS)

ifneq ($(PLAYLIST),)
.PHONY: playlist-config
config: playlist-config
playlist-config:
	@test -f '$(abspath $(PLAYLIST))' || { echo 'make: PLAYLIST=$(PLAYLIST): no such file' >&2; exit 2; }
	@mkdir -p $(KBUILD)
	@printf 'CONFIG_BOOTCACHE_PLAYLIST="%s"\n' '$(abspath $(PLAYLIST))' >$(PLAYLIST_CONFIG)
endif

kernel: config
	@echo "  BUILD    Linux $$(sed -n 's/^kernel //p' $(OUT)/kernel-version) ($(FLAVOR)) in $(KBUILD)"
	@start=$$(date +%s); \
	$(KMAKE) bzImage && \
	echo "  BUILT    $(KBUILD)/arch/x86/boot/bzImage in $$(( $$(date +%s) - start )) s"

clippy: config
	$(KMAKE) CLIPPY=1 bzImage

rustfmtcheck: tree
	$(MAKE) -C $(KSRC) O=$(abspath $(KBUILD)) $(KMAKE_ARGS) rustfmtcheck
	@if [ -f $(TOOL)/Cargo.toml ]; then cargo fmt --manifest-path $(TOOL)/Cargo.toml --check; fi

# The patch series for the mailing lists (mk/series.py): patches/ in
# git format-patch form, with a cover letter, in $(OUT)/series.
series: tree
	@python3 mk/series.py $(OUT)/pristine $(OUT)/series

# git am of the series onto a pristine 6.12 tree, a build of the test config
# after each patch, checkpatch --strict on each, the VM run at the end.
series-check: series
	@OUT=$(OUT) JOBS=$(JOBS) mk/series-check.sh

checkpatch: series
	@mk/checkpatch.sh $(KSRC) $(OUT)/series

configs-check: tree
	@for f in test boot debug; do \
		$(MAKE) --no-print-directory FLAVOR=$$f OUT=$(OUT) config || exit 1; \
		echo "  CHECKED  $$f: every requested option is set"; \
	done

host-test:
	@mk/host-test.sh

# The kselftests and their VM harness (bash and POSIX sh) must be clean, and
# so must the Debian package's scripts.
shellcheck:
	@cd $(SELFTESTS) && shellcheck -x -f gcc *.sh vmtest.sh vm/init bench/*.sh bench/trace/*.sh
	@shellcheck -x -f gcc mk/bench-trace.sh mk/deb.sh mk/deb-test.sh mk/deb/postinst mk/deb/prerm mk/deb/postrm
	@echo "  CHECKED  shellcheck: $(SELFTESTS)"

vm: kernel
	@$(SELFTESTS)/vmtest.sh -k $(KBUILD)/arch/x86/boot/bzImage -K $(KSRC) -o $(OUT)/vm

# bootcache= and a built-in playlist, at boot, without userspace.
boot-test: kernel
	@OUT=$(OUT) MAKE="$(MAKE)" mk/boot-test.sh

test:
	@mk/test.sh

# Reliability run: the debug kernel through the same tests, on the same 4
# vCPUs (vmtest.sh's default) with preemption: lockdep with PROVE_RCU,
# DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, KASAN, kmemleak and the fault-injection
# options (configs/debug.config on top of test.config). ktap_summary.py fails
# the run on any report of theirs in the kernel log. The kernel has ACPI (for
# make soak's PCI hot-plug); acpi=noirq: see mk/soak.sh.
vm-debug:
	@$(MAKE) --no-print-directory kernel FLAVOR=debug
	@$(SELFTESTS)/vmtest.sh -k $(OUT)/build/debug/arch/x86/boot/bzImage -K $(KSRC) \
		-o $(OUT)/vm-debug -t 1800 -m 1024 -a acpi=noirq

# Benchmark of the bio filter's cost (prints IOPS; not a test).
bench-filter: kernel
	@$(SELFTESTS)/vmtest.sh -k $(KBUILD)/arch/x86/boot/bzImage -K $(KSRC) -o $(OUT)/vm-bench \
		-x $(SELFTESTS)/bench -t 900 >$(OUT)/vm-bench.log 2>&1 || { cat $(OUT)/vm-bench.log; exit 1; }
	@sed -n 's/^# # bench: /  /p' $(OUT)/vm-bench/kselftest.log

# Benchmark for tuning without full boots: a recorded history's reads
# replayed, with their gaps, on the throttled CD drive of the test VM, cold and
# with a playlist per BENCH_CONVERT_OPTS set (mk/bench-trace.sh has the
# BENCH_* variables). Prints the I/O wait saved; fails if any read's bytes differ.
bench-trace:
	@OUT=$(OUT) MAKE="$(MAKE)" mk/bench-trace.sh

# A real Debian 12 boot from an emulated hard disk and a live ISO in an emulated
# DVD drive, with and without bootcache (mk/demo.sh; needs root). PROFILE=all|hdd|dvd|unthrottled,
# or a seek model's (seek|hdd7200|hdd5400|dvd-seek|usb2; SEEK_SCALE=F|cpu), or several,
# comma-separated; RUNS boots per phase.
demo: setup
	@OUT=$(OUT) PROFILE="$(PROFILE)" RUNS=$(RUNS) MAKE="$(MAKE)" mk/demo.sh

# The demo guest's CPU slowness under TCG against the host's (mk/cpu-factor.sh):
# the factor goes to $(OUT)/demo/cpu-factor, where make demo SEEK_SCALE=cpu reads it.
cpu-factor: kernel
	@OUT=$(OUT) KERNEL=$(KBUILD)/arch/x86/boot/bzImage mk/cpu-factor.sh

fuzz:
	@$(TOOL)/fuzz/run.sh $(or $(FUZZ_SECONDS),600)

# The fault and load campaign (mk/soak.sh; not part of make test or CI):
# the debug kernel in one VM through the scenarios of $(SELFTESTS)/soak/,
# SOAK_MINUTES in all, then one table of what went wrong.
SOAK_MINUTES ?= 30
soak: setup
	@OUT=$(OUT) MAKE="$(MAKE)" SOAK_MINUTES=$(SOAK_MINUTES) SOAK_SCENARIOS="$(SOAK_SCENARIOS)" mk/soak.sh

# Debian packages, in $(OUT)/deb: the tool's (mk/deb.sh: the release binary,
# what install.sh installs, man pages and shell completions, maintainer
# scripts; checked with lintian) and the patched kernel's.
DEB_OUT    := $(OUT)/deb
# The kernel package: the demo's boot configuration, built by bindeb-pkg in
# the boot kernel's own tree ($(OUT)/build/boot, as make kernel FLAVOR=boot),
# so that the kernel make demo boots is the package's, and a tree already
# built only relinks (bindeb-pkg gives it its own build number). bindeb-pkg
# writes the .debs next to the object tree, in $(OUT)/build. Only
# linux-image-* is kept: the build also makes a linux-libc-dev, which would
# replace Debian's own (libc6-dev needs it). The packages' maintainer is
# DEBFULLNAME and DEBEMAIL, or git's user (else mkdebian writes
# root@HOSTNAME, which lintian calls an error).
DEB_KBUILD := $(OUT)/build
DEB_KOBJ   := $(OUT)/build/boot

deb: deb-tool deb-kernel
	@ls -1 $(DEB_OUT)/*.deb | sed 's/^/  DEB      /'

deb-tool: setup
	@OUT=$(OUT) mk/deb.sh

deb-kernel: tree
	@mk/kconfig.sh $(KSRC) $(DEB_KOBJ) $(FRAGMENTS_boot)
	@echo "  BUILD    Linux $$(sed -n 's/^kernel //p' $(OUT)/kernel-version) (boot) as Debian packages in $(DEB_KOBJ)"
	@rm -f $(DEB_KBUILD)/*.deb $(DEB_KBUILD)/*.buildinfo $(DEB_KBUILD)/*.changes
	@start=$$(date +%s); \
	DEBFULLNAME="$${DEBFULLNAME:-$$(git config user.name)}" \
	DEBEMAIL="$${DEBEMAIL:-$$(git config user.email)}" \
	$(MAKE) -C $(KSRC) O=$(abspath $(DEB_KOBJ)) $(KMAKE_ARGS) -j$(JOBS) bindeb-pkg \
		>$(DEB_KOBJ)/bindeb-pkg.log 2>&1 || \
		{ tail -n 40 $(DEB_KOBJ)/bindeb-pkg.log >&2; exit 1; }; \
	mkdir -p $(DEB_OUT) && rm -f $(DEB_OUT)/linux-image-*.deb && \
	mv $(DEB_KBUILD)/linux-image-*.deb $(DEB_OUT)/ && \
	echo "  BUILT    $$(cd $(DEB_OUT) && ls linux-image-*.deb) in $$(( $$(date +%s) - start )) s"

# Installs, upgrades, removes and purges the packages in a throwaway Debian 12
# chroot (mk/deb-test.sh; root): one ok/FAILED line per check.
deb-test: setup
	@OUT=$(OUT) mk/deb-test.sh

clean:
	rm -rf $(OUT)/build $(OUT)/vm $(OUT)/results

distclean:
	rm -rf $(OUT)
