// SPDX-License-Identifier: GPL-2.0
/*
 * bcfailnth N FILE (-f DATA | WORD): write WORD (or the file DATA, in
 * page-sized writes through one open file) to FILE with the Nth allocation
 * of those writes made to fail (/proc/thread-self/fail-nth; the file is
 * opened before, so only the writes count). Prints
 *
 *   injected=0|1 rc=0|ERRNO
 *
 * injected=0: the writes made fewer than N allocations, none failed. Exit
 * status 0 unless the tool itself failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *data;
	size_t len;

	if (argc == 5 && !strcmp(argv[3], "-f")) {
		int d = open(argv[4], O_RDONLY);
		struct stat st;

		if (d < 0 || fstat(d, &st)) {
			perror(argv[4]);
			return 2;
		}
		len = st.st_size;
		data = malloc(len + 1);
		if (read(d, data, len) != (ssize_t)len) {
			perror(argv[4]);
			return 2;
		}
		close(d);
	} else if (argc == 4) {
		len = strlen(argv[3]);
		data = malloc(len + 2);
		memcpy(data, argv[3], len);
		data[len++] = '\n';
	} else {
		fprintf(stderr, "usage: bcfailnth N FILE (-f DATA | WORD)\n");
		return 2;
	}
	int fail = open("/proc/thread-self/fail-nth", O_RDWR);
	int fd = open(argv[2], O_WRONLY);

	if (fail < 0 || fd < 0) {
		perror(fail < 0 ? "/proc/thread-self/fail-nth" : argv[2]);
		return 2;
	}
	const char *n = argv[1];
	int rc = 0;

	if (write(fail, n, strlen(n)) != (ssize_t)strlen(n)) {
		perror("fail-nth");
		return 2;
	}
	for (size_t done = 0; done < len;) {
		size_t chunk = len - done > 4096 ? 4096 : len - done;
		ssize_t w = write(fd, data + done, chunk);

		if (w < 0) {
			rc = errno;
			break;
		}
		done += w;
	}
	char left[32] = "";

	lseek(fail, 0, SEEK_SET);
	ssize_t r = read(fail, left, sizeof(left) - 1);

	/* Disarm before anything else allocates. */
	if (write(fail, "0", 1) != 1)
		return 2;
	if (r <= 0)
		return 2;
	close(fd);
	printf("injected=%d rc=%d\n", atoi(left) == 0, rc);
	return 0;
}
