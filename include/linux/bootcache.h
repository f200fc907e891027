/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bootcache: boot-time block read-ahead cache.
 */
#ifndef _LINUX_BOOTCACHE_H
#define _LINUX_BOOTCACHE_H

#include <linux/types.h>
#include <uapi/linux/bootcache.h>

/*
 * The playlist built into the kernel image (CONFIG_BOOTCACHE_PLAYLIST), placed
 * by BOOTCACHE_PLAYLIST() in include/asm-generic/vmlinux.lds.h; the two are
 * equal when there is none. The bytes are init data: free_initmem() frees
 * them after the initcalls.
 */
extern const u8 __bootcache_playlist_start[];
extern const u8 __bootcache_playlist_end[];

/* drivers/block/bootcache/embedded.c */
size_t bootcache_playlist_len(void);
bool bootcache_playlist_copy(void *dst, size_t len);

#endif /* _LINUX_BOOTCACHE_H */
