// SPDX-License-Identifier: GPL-2.0
/*
 * bchog: a memory hog without cgroups. For -t SECONDS, in rounds: allocate
 * and touch anonymous memory STEP MiB at a time until reclaim has scanned
 * pages (/proc/vmstat pgscan_*, so the shrinkers, bootcache's among them,
 * were called), MemAvailable drops below RESERVE MiB, -M MiB are held or
 * the file -w FILE starts with -W WORD (e.g. bootcache's reason "memory");
 * hold it a moment, free it, rest, repeat.
 * Its OOM score is the highest, so that if memory does run out the hog goes
 * first. Prints "bchog: rounds=N peak_mib=N" at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long avail_mib(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024;
}

static long long scanned(void)
{
	char name[64];
	long long v, sum = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strncmp(name, "pgscan_", 7))
			sum += v;
	fclose(f);
	return sum;
}

static int file_says(const char *path, const char *word)
{
	char buf[64] = "";
	FILE *f = path ? fopen(path, "r") : NULL;

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !strncmp(buf, word, strlen(word));
}

int main(int argc, char **argv)
{
	const char *wfile = NULL, *word = "memory";
	long secs = 10, reserve = 48, step = 4, maxmib = 1 << 20, hold_ms = 1000;
	int opt;

	while ((opt = getopt(argc, argv, "t:r:s:M:h:w:W:")) != -1) {
		switch (opt) {
		case 't': secs = atol(optarg); break;
		case 'r': reserve = atol(optarg); break;
		case 's': step = atol(optarg); break;
		case 'M': maxmib = atol(optarg); break;
		case 'h': hold_ms = atol(optarg); break;
		case 'w': wfile = optarg; break;
		case 'W': word = optarg; break;
		default:
			fprintf(stderr, "usage: bchog [-t SECONDS] [-r RESERVE_MIB] [-s STEP_MIB] [-M MAX_MIB] [-h HOLD_MS] [-w FILE [-W WORD]]\n");
			return 2;
		}
	}
	FILE *adj = fopen("/proc/self/oom_score_adj", "w");

	if (adj) {
		fputs("1000\n", adj);
		fclose(adj);
	}
	time_t end = time(NULL) + secs;
	long rounds = 0, peak = 0, reclaimed = 0;
	size_t chunk = (size_t)step << 20;
	void **held = calloc(maxmib / step + 1, sizeof(void *));

	while (time(NULL) < end) {
		long n = 0;
		long long scan0 = scanned();

		while (n * step < maxmib && avail_mib() > reserve && time(NULL) < end) {
			if (scanned() > scan0 + 256 || file_says(wfile, word)) {
				reclaimed++;
				break;
			}
			void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				break;
			memset(p, 0x5a + n, chunk);
			held[n++] = p;
		}
		if (n * step > peak)
			peak = n * step;
		usleep(hold_ms * 1000);
		while (n > 0)
			munmap(held[--n], chunk);
		rounds++;
		usleep(500000);
	}
	printf("bchog: rounds=%ld reclaim_rounds=%ld peak_mib=%ld\n", rounds, reclaimed, peak);
	return 0;
}
