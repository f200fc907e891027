/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The playlist built into the kernel image (CONFIG_BOOTCACHE_PLAYLIST).
 *
 * The Makefile copies the file to playlist.bin (empty when the option is),
 * and this puts its bytes in .init.bootcache_playlist. The linker script
 * (BOOTCACHE_PLAYLIST() in include/asm-generic/vmlinux.lds.h) places that
 * section in the init data between __bootcache_playlist_start and
 * __bootcache_playlist_end, so it is freed with the rest of the init memory
 * after boot. embedded.c copies it for the driver while it is there.
 */

	.section .init.bootcache_playlist, "a"
	.balign 8
	.incbin "drivers/block/bootcache/playlist.bin"
