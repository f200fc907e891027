// SPDX-License-Identifier: GPL-2.0
/*
 * randread: random O_DIRECT reads of one block size from a block device for
 * a number of seconds; prints the reads per second.
 *
 *   randread DEVICE SECONDS [BLOCK_SIZE]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long bs = argc > 3 ? strtoul(argv[3], NULL, 0) : 4096;
	double secs, start, end;
	uint64_t size, blocks, n = 0, x = 88172645463325252ULL;
	void *buf;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEVICE SECONDS [BLOCK_SIZE]\n", argv[0]);
		return 2;
	}
	secs = atof(argv[2]);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		perror(argv[1]);
		return 1;
	}
	blocks = size / bs;
	if (!blocks || posix_memalign(&buf, 4096, bs)) {
		fprintf(stderr, "%s: too small or out of memory\n", argv[1]);
		return 1;
	}
	start = now();
	end = start + secs;
	do {
		int i;

		for (i = 0; i < 64; i++, n++) {
			/* xorshift64: cheap and the same sequence every run. */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (pread(fd, buf, bs, (off_t)(x % blocks) * bs) != (ssize_t)bs) {
				perror("pread");
				return 1;
			}
		}
	} while (now() < end);
	printf("%.0f\n", n / (now() - start));
	return 0;
}
