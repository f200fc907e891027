// SPDX-License-Identifier: GPL-2.0
/*
 * bcverify: read random ranges of a block device (mixed sizes, direct and
 * buffered, several processes) and check every 512-byte sector against the
 * CRC-32 the host computed for the disk image (vmtest.sh, vmdata/NAME.crc).
 *
 * A read that fails is classified: a range holding a sector the harness
 * makes fail (-e) expects the disk's error; once the -G file exists the
 * disk is going away and errors are the disk's; any other failure is a read
 * that the disk itself would have served, so bootcache failed it. Prints one
 * line of counters at the end:
 *
 *   bcverify: reads=N bytes=N wrong_sectors=N wrong_bytes=N errors=N
 *             expected_errors=N gone_errors=N bc_failed=N bad_served=N
 *
 * (bad_served: reads that included a failing sector and still succeeded,
 * from the cache; their bytes are checked like any other.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct counts {
	unsigned long long reads, bytes, wrong_sectors, errors, expected, gone,
		bc_failed, bad_served;
};

static uint32_t crc_table[256];
static uint32_t *sums;
static size_t nsums;
static unsigned long long *bad;
static int nbad;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffff;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * The size of the device or file open at FD, in *SIZE: a block device's, else
 * a file's; -1 if neither is known or the file is empty.
 */
static int dev_size(int fd, unsigned long long *size)
{
	struct stat st;

	if (!ioctl(fd, BLKGETSIZE64, size))
		return 0;
	if (fstat(fd, &st))
		return -1;
	*size = st.st_size;
	return *size ? 0 : -1;
}

static void usage_exit(void)
{
	fprintf(stderr,
		"usage: bcverify -d DEV -c CRCFILE [-p PARTSTART] [-o OFF] [-l LEN] [-b MIN] [-B MAX]\n"
		"       [-a ALIGN] [-m direct|buffered|mixed] [-j JOBS] [-t SECONDS] [-n READS]\n"
		"       [-S STOPFILE] [-G GONEFILE] [-e 'SECTOR ...'] [-r SEED] [-q]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dev = NULL, *crcfile = NULL, *stopfile = NULL, *gonefile = NULL;
	const char *mode = "mixed";
	unsigned long long partstart = 0, off = 0, len = 0;
	unsigned long long minbs = 512, maxbs = 131072, align = 512, maxreads = 0;
	double secs = 10;
	int jobs = 1, quiet = 0, opt;
	uint64_t seed = 1;
	char *e;

	while ((opt = getopt(argc, argv, "d:c:p:o:l:b:B:a:m:j:t:n:S:G:e:r:q")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'c':
			crcfile = optarg;
			break;
		case 'p':
			partstart = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			off = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			len = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			minbs = strtoull(optarg, NULL, 0);
			break;
		case 'B':
			maxbs = strtoull(optarg, NULL, 0);
			break;
		case 'a':
			align = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'j':
			jobs = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'n':
			maxreads = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			stopfile = optarg;
			break;
		case 'G':
			gonefile = optarg;
			break;
		case 'e':
			for (e = optarg; *e;) {
				char *end;
				unsigned long long s = strtoull(e, &end, 0);

				if (end == e)
					break;
				bad = realloc(bad, (nbad + 1) * sizeof(*bad));
				bad[nbad++] = s;
				e = end;
			}
			break;
		case 'r':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage_exit();
		}
	}
	if (!dev || !crcfile || jobs < 1 || align < 512 || align % 512 || minbs < align ||
	    maxbs < minbs)
		usage_exit();
	crc_init();

	int cfd = open(crcfile, O_RDONLY);
	struct stat st;

	if (cfd < 0 || fstat(cfd, &st)) {
		perror(crcfile);
		return 2;
	}
	nsums = st.st_size / 4;
	sums = malloc(st.st_size);
	if (read(cfd, sums, st.st_size) != st.st_size) {
		perror(crcfile);
		return 2;
	}
	close(cfd);

	int probe = open(dev, O_RDONLY);
	unsigned long long size = 0;

	if (probe < 0 || dev_size(probe, &size)) {
		perror(dev);
		return 2;
	}
	close(probe);
	if (!len || off + len > size)
		len = size > off ? size - off : 0;
	len -= len % align;
	if (len < minbs || (partstart + off + len) / 512 > nsums) {
		fprintf(stderr, "bcverify: range %llu+%llu does not fit %s or its sums\n",
			off, len, dev);
		return 2;
	}
	if (maxbs > len)
		maxbs = len;

	struct counts *all = mmap(NULL, jobs * sizeof(*all), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (all == MAP_FAILED)
		return 2;
	memset(all, 0, jobs * sizeof(*all));
	double end = now() + secs;

	for (int j = 0; j < jobs; j++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid)
			continue;
		struct counts *c = &all[j];
		uint64_t s = seed * 0x9e3779b97f4a7c15ULL + j * 7919 + 1;
		int dfd = open(dev, O_RDONLY | O_DIRECT);
		int bfd = open(dev, O_RDONLY);
		unsigned char *buf;

		if (dfd < 0 || bfd < 0 || posix_memalign((void **)&buf, 4096, maxbs)) {
			perror(dev);
			_exit(2);
		}
		while (now() < end && (!maxreads || c->reads < maxreads)) {
			if (stopfile && access(stopfile, F_OK) == 0)
				break;
			unsigned long long n = minbs + (rnd(&s) % (maxbs - minbs + 1));

			n -= n % align;
			unsigned long long o = rnd(&s) % ((len - n) / align + 1) * align + off;
			int direct = !strcmp(mode, "direct") ||
				     (strcmp(mode, "buffered") && (rnd(&s) & 1));
			int fd = direct ? dfd : bfd;
			int gone = gonefile && access(gonefile, F_OK) == 0;
			ssize_t got = pread(fd, buf, n, o);
			int err = got < 0 ? errno : 0;
			unsigned long long first = (partstart + o) / 512;
			/*
			 * A buffered read reads whole pages of the device's
			 * page cache: a failing sector in the first or last
			 * page fails it (or cuts it short) even outside
			 * [o, o + n).
			 */
			unsigned long long pg = direct ? 512 : 4096;
			unsigned long long efirst = (partstart + o / pg * pg) / 512;
			unsigned long long elast = (partstart + (o + n + pg - 1) / pg * pg) / 512;
			int hasbad = 0;

			for (int b = 0; b < nbad; b++)
				if (bad[b] >= efirst && bad[b] < elast)
					hasbad = 1;
			c->reads++;
			if (got != (ssize_t)n) {
				c->errors++;
				if (!gone && gonefile && access(gonefile, F_OK) == 0)
					gone = 1;
				if (gone) {
					c->gone++;
					break;
				} else if (hasbad) {
					c->expected++;
				} else {
					c->bc_failed++;
					fprintf(stderr,
						"bcverify: %s: %s read of %llu bytes at %llu failed: %s\n",
						dev, direct ? "direct" : "buffered", n, o,
						got < 0 ? strerror(err) : "short read");
				}
				continue;
			}
			if (hasbad)
				c->bad_served++;
			for (unsigned long long k = 0; k < n / 512; k++) {
				if (crc32(buf + k * 512, 512) != sums[first + k]) {
					c->wrong_sectors++;
					if (!quiet && c->wrong_sectors <= 5)
						fprintf(stderr,
							"bcverify: %s: sector %llu (%s read %llu+%llu) differs\n",
							dev, first + k,
							direct ? "direct" : "buffered", o, n);
				}
			}
			c->bytes += n;
			/*
			 * Buffered: drop the pages now and then, so the next
			 * read goes to the disk (and bootcache) again.
			 */
			if (!direct && (rnd(&s) & 1))
				posix_fadvise(bfd, o, n, POSIX_FADV_DONTNEED);
		}
		_exit(0);
	}
	int failed = 0, status;

	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	struct counts t = { 0 };

	for (int j = 0; j < jobs; j++) {
		t.reads += all[j].reads;
		t.bytes += all[j].bytes;
		t.wrong_sectors += all[j].wrong_sectors;
		t.errors += all[j].errors;
		t.expected += all[j].expected;
		t.gone += all[j].gone;
		t.bc_failed += all[j].bc_failed;
		t.bad_served += all[j].bad_served;
	}
	printf("bcverify: reads=%llu bytes=%llu wrong_sectors=%llu wrong_bytes=%llu errors=%llu ",
	       t.reads, t.bytes, t.wrong_sectors, t.wrong_sectors * 512, t.errors);
	printf("expected_errors=%llu gone_errors=%llu bc_failed=%llu bad_served=%llu\n",
	       t.expected, t.gone, t.bc_failed, t.bad_served);
	return failed ? 2 : 0;
}
