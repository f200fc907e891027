// SPDX-License-Identifier: GPL-2.0
/*
 * bchog: a memory hog without cgroups. For -t SECONDS, in rounds: allocate
 * and touch anonymous memory STEP MiB at a time until reclaim has run
 * (/proc/vmstat: kswapd, direct reclaim or the shrinkers, bootcache's
 * among them, did work), MemAvailable drops below RESERVE MiB or -M MiB
 * are held; hold it a moment, free it, rest, repeat. With -k, a round
 * frees only the last quarter of what it holds, so that on a slow guest
 * (KASAN under TCG touches some 10 MiB/s) every round after the first
 * reaches reclaim again within seconds; everything is freed at the end.
 * Its OOM score is the highest, so that if memory does run out the hog goes
 * first. Prints "bchog: rounds=N reclaim_rounds=N peak_mib=N" at the end.
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

/*
 * Reclaim's work so far: kswapd's balancing runs, direct reclaim stalls and
 * the objects the shrinkers were asked to scan. (pgscan_* alone misses it:
 * with no swap, anonymous memory is not scanned, and the guest has little
 * page cache, so the shrinkers are called long before pgscan moves.)
 */
static long long reclaim_work(void)
{
	char name[64];
	long long v, sum = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strcmp(name, "pageoutrun") || !strcmp(name, "slabs_scanned") ||
		    !strncmp(name, "allocstall_", 11))
			sum = (sum < 0 ? 0 : sum) + v;
	fclose(f);
	return sum;
}

int main(int argc, char **argv)
{
	long secs = 10, reserve = 48, step = 4, maxmib = 1 << 20, hold_ms = 1000;
	int opt, keep = 0;

	while ((opt = getopt(argc, argv, "t:r:s:M:h:k")) != -1) {
		switch (opt) {
		case 't':
			secs = atol(optarg);
			break;
		case 'r':
			reserve = atol(optarg);
			break;
		case 's':
			step = atol(optarg);
			break;
		case 'M':
			maxmib = atol(optarg);
			break;
		case 'h':
			hold_ms = atol(optarg);
			break;
		case 'k':
			keep = 1;
			break;
		default:
			fprintf(stderr,
				"usage: bchog [-t SECONDS] [-r RESERVE_MIB] [-s STEP_MIB] [-M MAX_MIB] [-h HOLD_MS] [-k]\n");
			return 2;
		}
	}
	FILE *adj = fopen("/proc/self/oom_score_adj", "w");

	if (adj) {
		fputs("1000\n", adj);
		fclose(adj);
	}
	if (reclaim_work() < 0) {
		fprintf(stderr,
			"bchog: /proc/vmstat has no reclaim events (CONFIG_VM_EVENT_COUNTERS)\n");
		return 2;
	}
	time_t end = time(NULL) + secs;
	long rounds = 0, peak = 0, reclaimed = 0, n = 0;
	size_t chunk = (size_t)step << 20;
	void **held = calloc(maxmib / step + 1, sizeof(void *));

	while (time(NULL) < end) {
		long long work0 = reclaim_work();
		long left;

		while (n * step < maxmib && avail_mib() > reserve && time(NULL) < end) {
			if (reclaim_work() > work0) {
				reclaimed++;
				break;
			}
			void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				break;
			memset(p, 0x5a + n, chunk);
			held[n++] = p;
		}
		if (n * step > peak)
			peak = n * step;
		usleep(hold_ms * 1000);
		left = keep ? n - (n + 3) / 4 : 0;
		while (n > left)
			munmap(held[--n], chunk);
		rounds++;
		usleep(500000);
	}
	while (n > 0)
		munmap(held[--n], chunk);
	printf("bchog: rounds=%ld reclaim_rounds=%ld peak_mib=%ld\n", rounds, reclaimed, peak);
	return 0;
}
