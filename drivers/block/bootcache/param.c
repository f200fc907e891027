// SPDX-License-Identifier: GPL-2.0
/*
 * bootcache: claims the bootcache= kernel parameter.
 *
 * The driver reads bootcache= itself when it starts (boot.rs). Claiming it
 * here keeps the kernel from reporting it as unknown and from passing it on to
 * init's environment.
 */

#include <linux/init.h>

static int __init bootcache_param(char *str)
{
	return 1;
}
__setup("bootcache=", bootcache_param);
