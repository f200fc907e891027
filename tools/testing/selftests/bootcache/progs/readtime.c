// SPDX-License-Identifier: GPL-2.0
/*
 * readtime DEV OFFSET LENGTH: read LENGTH bytes at byte OFFSET of DEV with
 * O_DIRECT, in one read; write them to standard output and the microseconds
 * the read took (on the monotonic clock) to standard error. OFFSET and
 * LENGTH are multiples of 4096. The tests time a read that misses the cache
 * while read-ahead is under way.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	long long off, len;
	unsigned char *buf;
	ssize_t got;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DEV OFFSET LENGTH\n", argv[0]);
		return 2;
	}
	off = atoll(argv[2]);
	len = atoll(argv[3]);
	if (off < 0 || len <= 0 || off % 4096 || len % 4096) {
		fprintf(stderr, "readtime: OFFSET and LENGTH must be multiples of 4096\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, len)) {
		fprintf(stderr, "readtime: out of memory\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	got = pread(fd, buf, len, off);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (got != len) {
		perror("readtime: pread");
		return 1;
	}
	if (fwrite(buf, 1, len, stdout) != (size_t)len || fflush(stdout)) {
		perror("readtime: write");
		return 1;
	}
	fprintf(stderr, "%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000 +
		(b.tv_nsec - a.tv_nsec) / 1000);
	return 0;
}
