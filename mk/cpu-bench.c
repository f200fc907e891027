// SPDX-License-Identifier: GPL-2.0
/*
 * cpu-bench: a fixed amount of CPU work, timed, for mk/cpu-factor.sh, which
 * runs it on the host and in a TCG guest and divides the times.
 *
 * Four kinds of work, each of about a quarter of a second on a current
 * host, because a boot is not one kind: integer arithmetic over a buffer
 * (FNV-1a), calls and unpredictable branches (qsort with a comparison
 * function), process creation (fork, exit, wait: the kernel's page table
 * copies and copy-on-write faults, as systemd's many short processes) and
 * page faults on fresh anonymous memory. Each prints its seconds on
 * CLOCK_MONOTONIC as soon as it is done; "total" is their sum.
 *
 *   cpu-bench [ROUNDS]    ROUNDS (default 1) multiplies every amount.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t sink;

static int hash(long rounds)
{
	static unsigned char buf[256 * 1024];
	uint64_t h = 0xcbf29ce484222325ULL;
	long r;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (r = 0; r < rounds * 400; r++) {
		for (i = 0; i < sizeof(buf); i++) {
			h ^= buf[i];
			h *= 0x100000001b3ULL;
		}
		buf[r % sizeof(buf)] ^= (unsigned char)h;
	}
	sink += h;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int sort(long rounds)
{
	enum { N = 100000 };
	static int v[N];
	uint32_t s = 12345;
	long r;
	int i;

	for (r = 0; r < rounds * 10; r++) {
		for (i = 0; i < N; i++) {
			s = s * 1103515245 + 12345;
			v[i] = (int)(s >> 1);
		}
		qsort(v, N, sizeof(v[0]), cmp);
		sink += v[N / 2];
	}
	return 0;
}

static int procs(long rounds)
{
	long r;

	for (r = 0; r < rounds * 500; r++) {
		pid_t pid = fork();
		int st;

		if (pid < 0) {
			perror("cpu-bench: fork");
			return -1;
		}
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
			perror("cpu-bench: waitpid");
			return -1;
		}
	}
	return 0;
}

static int faults(long rounds)
{
	const size_t len = 16 << 20;
	long r;
	size_t i;

	for (r = 0; r < rounds * 10; r++) {
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("cpu-bench: mmap");
			return -1;
		}
		for (i = 0; i < len; i += 4096)
			p[i] = (unsigned char)i;
		sink += p[len / 2];
		munmap(p, len);
	}
	return 0;
}

static const struct {
	const char *name;
	int (*run)(long rounds);
} works[] = {
	{ "hash", hash },
	{ "sort", sort },
	{ "fork", procs },
	{ "fault", faults },
};

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 1;
	double t, d, total = 0;
	size_t i;

	if (rounds < 1) {
		fprintf(stderr, "usage: cpu-bench [ROUNDS]\n");
		return 2;
	}
	/*
	 * A line before the work and one after each kind: mk/cpu-factor.sh
	 * times the guest's runs by when they reach the host.
	 */
	printf("cpu-bench: start\n");
	fflush(stdout);
	for (i = 0; i < ARRAY_SIZE(works); i++) {
		t = now();
		if (works[i].run(rounds))
			return 1;
		d = now() - t;
		total += d;
		printf("cpu-bench: %s %.6f\n", works[i].name, d);
		fflush(stdout);
	}
	printf("cpu-bench: total %.6f (%llu)\n", total, (unsigned long long)(sink & 0xff));
	return 0;
}
