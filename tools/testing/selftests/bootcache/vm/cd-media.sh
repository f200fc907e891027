# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# The identities of the VM's two CD media (vmtest.sh's cd0.img and cd1.img):
# the ISO 9660 volume creation date (16 digits) and label that vm/pvd.py
# writes into each, as DATE:LABEL. mk/boot-test.sh names cd0's in a built-in
# playlist. Sourced by both.
CD0_PVD="2026113000000007:BOOTCACHE CD0"
CD1_PVD="2026113000000008:BOOTCACHE CD1"
