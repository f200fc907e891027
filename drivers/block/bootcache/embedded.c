// SPDX-License-Identifier: GPL-2.0
/*
 * bootcache: the playlist built into the kernel image, for the Rust driver.
 *
 * playlist_blob.S puts the bytes of CONFIG_BOOTCACHE_PLAYLIST in the section
 * .init.bootcache_playlist, which BOOTCACHE_PLAYLIST() in
 * include/asm-generic/vmlinux.lds.h places in the init data between
 * __bootcache_playlist_start and __bootcache_playlist_end; with the option
 * empty the two are equal. Being init data, the bytes are freed by
 * free_initmem() once the initcalls have run: so they are only ever copied,
 * and only where the copy is certain to finish before they are freed. The
 * bytes are not checked here: they are what the file held at build time.
 */

#include <linux/bootcache.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>

/**
 * bootcache_playlist_len - size of the playlist built into the kernel image
 *
 * The size stays known after the bytes themselves are freed.
 *
 * Return: the size in bytes, 0 if no playlist is built in.
 */
size_t bootcache_playlist_len(void)
{
	return __bootcache_playlist_end - __bootcache_playlist_start;
}

/*
 * kernel_init() runs the initcalls and then frees the init memory, in the
 * same thread. So in that thread, before it sets SYSTEM_FREEING_INITMEM, the
 * init memory is there and cannot go away under the caller; in any other
 * thread (a work item, a kernel thread, a sysfs handler) it may be freed at
 * any time.
 */
static bool bootcache_playlist_readable(void)
{
	return is_global_init(current) &&
	       system_state < SYSTEM_FREEING_INITMEM;
}

/**
 * bootcache_playlist_copy - copy the playlist built into the kernel image
 * @dst: where to copy it
 * @len: the room at @dst, which must be bootcache_playlist_len()
 *
 * Copies only from an initcall run by kernel_init(), before the init memory
 * is freed: anywhere else the bytes could go away during the copy.
 *
 * Return: true if the playlist was copied; false, with nothing written, if
 * it cannot be read from here or @len is not its size.
 */
bool bootcache_playlist_copy(void *dst, size_t len)
{
	if (!bootcache_playlist_readable() || len != bootcache_playlist_len())
		return false;
	memcpy(dst, __bootcache_playlist_start, len);
	return true;
}
