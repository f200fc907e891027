// SPDX-License-Identifier: GPL-2.0

#include <linux/bootcache.h>
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/string.h>

#ifdef CONFIG_BOOTCACHE

size_t rust_helper_bootcache_playlist_len(void)
{
	return __bootcache_playlist_end - __bootcache_playlist_start;
}

/*
 * kernel_init() runs the initcalls and then frees the init memory, in the
 * same thread. So in that thread, before it sets SYSTEM_FREEING_INITMEM, the
 * init memory is there and cannot go away under the caller; in any other
 * thread it may be freed at any time.
 */
bool rust_helper_bootcache_playlist_readable(void)
{
	return is_global_init(current) &&
	       system_state < SYSTEM_FREEING_INITMEM;
}

bool rust_helper_bootcache_playlist_copy(void *dst, size_t len)
{
	if (!rust_helper_bootcache_playlist_readable() ||
	    len != rust_helper_bootcache_playlist_len())
		return false;
	memcpy(dst, __bootcache_playlist_start, len);
	return true;
}

#endif /* CONFIG_BOOTCACHE */
