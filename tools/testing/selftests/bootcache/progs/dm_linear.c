// SPDX-License-Identifier: GPL-2.0
/*
 * dm_linear create NAME DEVICE SECTORS: make the device-mapper device NAME,
 * mapping the first SECTORS sectors of the block device DEVICE linearly,
 * and print its kernel name (dm-N).
 * dm_linear remove NAME: remove it again.
 *
 * A bio-based disk for the bio filter's tests, in a guest without dmsetup:
 * the four ioctls dmsetup would make, on /dev/mapper/control.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define CONTROL "/dev/mapper/control"

static union {
	struct dm_ioctl io;
	char buf[16384];
} req;

/* Set up the request header for NAME, with @size bytes of payload. */
static void prepare(const char *name, size_t size)
{
	memset(&req, 0, sizeof(req));
	req.io.version[0] = DM_VERSION_MAJOR;
	req.io.version[1] = 0;
	req.io.version[2] = 0;
	req.io.data_size = sizeof(req.io) + size;
	req.io.data_start = sizeof(req.io);
	snprintf(req.io.name, sizeof(req.io.name), "%s", name);
}

static int dm(int fd, unsigned long cmd, const char *what)
{
	if (ioctl(fd, cmd, &req) < 0) {
		fprintf(stderr, "dm_linear: %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int create(int fd, const char *name, const char *dev,
		  unsigned long long sectors)
{
	struct dm_target_spec *spec;
	struct stat st;
	char *params;

	if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "dm_linear: %s: not a block device\n", dev);
		return -1;
	}
	prepare(name, 0);
	if (dm(fd, DM_DEV_CREATE, "DM_DEV_CREATE"))
		return -1;

	prepare(name, sizeof(*spec) + 64);
	req.io.target_count = 1;
	spec = (struct dm_target_spec *)(req.buf + sizeof(req.io));
	spec->sector_start = 0;
	spec->length = sectors;
	snprintf(spec->target_type, sizeof(spec->target_type), "linear");
	params = (char *)(spec + 1);
	snprintf(params, 64, "%u:%u 0", major(st.st_rdev), minor(st.st_rdev));
	if (dm(fd, DM_TABLE_LOAD, "DM_TABLE_LOAD"))
		goto out_remove;

	/* Resuming a device with an inactive table makes it live. */
	prepare(name, 0);
	if (dm(fd, DM_DEV_SUSPEND, "DM_DEV_SUSPEND"))
		goto out_remove;
	/* dm encodes the device number as the kernel's huge_encode_dev(). */
	printf("dm-%u\n", (unsigned int)((req.io.dev & 0xff) |
					 ((req.io.dev >> 12) & 0xfff00)));
	return 0;

out_remove:
	prepare(name, 0);
	dm(fd, DM_DEV_REMOVE, "DM_DEV_REMOVE");
	return -1;
}

int main(int argc, char **argv)
{
	int fd, ret;

	if (!(argc == 5 && !strcmp(argv[1], "create")) &&
	    !(argc == 3 && !strcmp(argv[1], "remove"))) {
		fprintf(stderr, "usage: %s create NAME DEVICE SECTORS | remove NAME\n",
			argv[0]);
		return 2;
	}
	fd = open(CONTROL, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "dm_linear: %s: %s\n", CONTROL, strerror(errno));
		return 1;
	}
	if (argc == 5) {
		ret = create(fd, argv[2], argv[3], strtoull(argv[4], NULL, 0));
	} else {
		prepare(argv[2], 0);
		ret = dm(fd, DM_DEV_REMOVE, "DM_DEV_REMOVE");
	}
	close(fd);
	return ret ? 1 : 0;
}
