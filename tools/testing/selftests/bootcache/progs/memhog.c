// SPDX-License-Identifier: GPL-2.0
/*
 * memhog MIB SECONDS: allocate MIB MiB, touch every page, hold it for
 * SECONDS seconds, then exit; prints how much it got. The tests use it to
 * put the system under memory pressure while bootcache holds a cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib, secs, got = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MIB SECONDS\n", argv[0]);
		return 2;
	}
	mib = atol(argv[1]);
	secs = atol(argv[2]);
	for (; got < mib; got++) {
		char *p = malloc(1 << 20);

		if (!p)
			break;
		memset(p, (int)got | 1, 1 << 20);
	}
	printf("memhog: holding %ld MiB\n", got);
	fflush(stdout);
	sleep(secs);
	return 0;
}
