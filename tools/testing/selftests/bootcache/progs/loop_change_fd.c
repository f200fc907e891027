// SPDX-License-Identifier: GPL-2.0
/*
 * loop_change_fd LOOPDEV FILE: put FILE behind the read-only loop device
 * LOOPDEV with LOOP_CHANGE_FD, as a live system swaps the medium under a
 * loop device it cannot detach (the device stays open). The kernel reports
 * a media change; the tests check that bootcache stops serving the old
 * file's bytes.
 */
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int dev, file;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LOOPDEV FILE\n", argv[0]);
		return 2;
	}
	dev = open(argv[1], O_RDONLY);
	if (dev < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	file = open(argv[2], O_RDONLY);
	if (file < 0) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (ioctl(dev, LOOP_CHANGE_FD, file) < 0) {
		fprintf(stderr, "LOOP_CHANGE_FD: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
