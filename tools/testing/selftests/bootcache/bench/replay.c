// SPDX-License-Identifier: GPL-2.0
/*
 * replay: replay a recorded boot's reads on a block device, with O_DIRECT
 * preads, keeping the recorded gaps, and print what they waited.
 *
 *   replay [-v] [-g PERCENT] [-l LAT_OUT] [-c LAT] DEVICE TRACE
 *
 * TRACE holds one read a line, in time order ('#' starts a comment):
 *
 *   TIMESTAMP_NS OFFSET LENGTH PID CRC32
 *
 * CRC32 (zlib's, of the bytes the read must return; '-' for none) is checked
 * for every read. OFFSET and LENGTH must be multiples of the device's logical
 * block size.
 *
 * Timing. Each recorded PID gets a thread of its own, which issues that
 * PID's reads one at a time, in trace order: the boot's processes read in
 * parallel, but each waits for its own read before going on. The first read
 * of a PID is issued at its recorded time after the start of the replay.
 * Each later read is issued:
 *
 *   paced (default): its recorded gap after the previous read's submission,
 *	but not before that read completed. On a device as slow as the
 *	recorded one this reproduces the recording. The gaps contain the
 *	recorded boot's own I/O wait, so a faster read does not make the
 *	process go on sooner: the boot keeps its recorded pace.
 *   think (-c LAT): the previous read's completion plus its think time,
 *	the recorded gap less the previous read's latency in the recorded
 *	boot: the process's own work between two reads. A read that
 *	completes sooner lets the process go on sooner, as in a real boot
 *	that bootcache speeds up. A history records submissions only, so LAT
 *	holds an estimate of each read's recorded latency, in ns, a line
 *	each in trace order: a cold run's (written by -l), or the read's
 *	cost on the recording's device (make bench-trace's default).
 *
 * -g PERCENT scales every recorded time (100: as recorded; 0: each process
 * reads back to back). The schedule depends only on the trace and on the
 * completions, so two runs differ only by the device's timing.
 *
 * Clocks. The schedule runs on CLOCK_MONOTONIC. A read's latency is taken
 * from the x86 TSC, converted to ns with the TSC's rate over the whole run
 * against CLOCK_MONOTONIC: the test VM's kernel under TCG cannot calibrate
 * its TSC and falls back to jiffies (4 ms steps), too coarse for a cache
 * hit. The summary says which clock it used (clock=tsc or clock=monotonic).
 *
 * Output: with -v a line per read (index, pid, offset, length, latency in
 * microseconds), then one summary line:
 *
 *   replay: reads=N bytes=N wall_ms=X wait_ms=X mean_ms=X p50_ms=X p90_ms=X
 *	p99_ms=X max_ms=X digest=HEX mismatches=N
 *
 * wait_ms is the sum of the reads' latencies (submission to completion),
 * wall_ms the time from the start to the last completion, digest the CRC-32
 * of every read's CRC-32 (little-endian) in trace order. Exit status 1 when
 * a read failed or returned other bytes than CRC32 says, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_READ (16 << 20)

typedef unsigned long long u64;
typedef unsigned int u32;

/* The x86 TSC, where the compiler offers it. */
#if defined(__has_builtin) && __has_builtin(__builtin_ia32_rdtsc)
#define HAVE_TSC 1
#endif

struct rd {
	u64 ts_ns;
	u64 offset;
	u64 length;
	long pid;
	u32 want;		/* expected CRC-32 */
	int check;		/* want is set */
	u64 cold_ns;	/* latency in the cold run (think mode) */
	u64 lat_ns;
	u64 lat_ticks;
	u32 crc;
	int ok;
};

struct stream {
	pthread_t thread;
	long pid;
	size_t *idx;		/* indexes into reads, in trace order */
	size_t n;
	size_t cap;
	int failed;
};

static struct rd *reads;
static size_t nreads;
static struct stream *streams;
static size_t nstreams;
static int fd;
static u64 start_ns;
static u64 start_ticks;
static unsigned int scale = 100;
static int think;
static u32 crc_table[256];

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A latency clock: the TSC on x86 (its rate is found at the end), else ns. */
static u64 ticks(void)
{
#ifdef HAVE_TSC
	return __builtin_ia32_rdtsc();
#else
	return now_ns();
#endif
}

static void sleep_until(u64 t)
{
	struct timespec ts = {
		.tv_sec = t / 1000000000ULL,
		.tv_nsec = t % 1000000000ULL,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void crc_init(void)
{
	u32 c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* zlib's crc32(): crc32(0, buf, len) for a fresh one. */
static u32 crc32(u32 crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static u64 scaled(u64 ns)
{
	return ns / 100 * scale + ns % 100 * scale / 100;
}

static void *run_stream(void *arg)
{
	struct stream *s = arg;
	u64 due = 0, prev_issue = 0, prev_done = 0, t0, t1, k0, k1;
	struct rd *prev = NULL;
	void *buf;
	size_t i;

	if (posix_memalign(&buf, 4096, MAX_READ)) {
		fprintf(stderr, "replay: out of memory\n");
		s->failed = 1;
		return NULL;
	}
	for (i = 0; i < s->n; i++) {
		struct rd *r = &reads[s->idx[i]];
		u64 gap;
		ssize_t got;

		if (!prev) {
			due = start_ns + scaled(r->ts_ns - reads[0].ts_ns);
		} else {
			gap = scaled(r->ts_ns - prev->ts_ns);
			if (think)
				due = prev_done + (gap > prev->cold_ns ? gap - prev->cold_ns : 0);
			else if (prev_issue + gap > prev_done)
				due = prev_issue + gap;
			else
				due = prev_done;
		}
		sleep_until(due);
		t0 = now_ns();
		k0 = ticks();
		got = pread(fd, buf, r->length, r->offset);
		k1 = ticks();
		t1 = now_ns();
		if (got != (ssize_t)r->length) {
			fprintf(stderr, "replay: read of %llu bytes at %llu: %s\n",
				r->length, r->offset, got < 0 ? strerror(errno) : "short read");
			s->failed = 1;
			break;
		}
		r->lat_ns = t1 - t0;
		/* (Another CPU's TSC may lag a little: never below 0.) */
		r->lat_ticks = k1 > k0 ? k1 - k0 : 0;
		r->crc = crc32(0, buf, r->length);
		r->ok = !r->check || r->crc == r->want;
		prev = r;
		prev_issue = due;
		prev_done = t1;
	}
	free(buf);
	return NULL;
}

static struct stream *stream_of(long pid)
{
	struct stream *s;
	size_t i;

	for (i = 0; i < nstreams; i++)
		if (streams[i].pid == pid)
			return &streams[i];
	streams = realloc(streams, (nstreams + 1) * sizeof(*streams));
	if (!streams)
		return NULL;
	s = &streams[nstreams++];
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	return s;
}

static int load_trace(const char *path)
{
	char line[256], crc[32];
	size_t cap = 0, lineno = 0;
	struct stream *s;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct rd r = { 0 };

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llu %llu %llu %ld %31s",
			   &r.ts_ns, &r.offset, &r.length, &r.pid, crc) != 5 ||
		    !r.length || r.length > MAX_READ ||
		    (nreads && r.ts_ns < reads[nreads - 1].ts_ns)) {
			fprintf(stderr, "%s:%zu: want TIMESTAMP_NS OFFSET LENGTH PID CRC32\n",
				path, lineno);
			fprintf(stderr, "(in time order, LENGTH 1 to %d)\n", MAX_READ);
			fclose(f);
			return -1;
		}
		if (strcmp(crc, "-")) {
			r.want = strtoul(crc, NULL, 16);
			r.check = 1;
		}
		if (nreads == cap) {
			cap = cap ? 2 * cap : 1024;
			reads = realloc(reads, cap * sizeof(*reads));
			if (!reads)
				goto oom;
		}
		reads[nreads] = r;
		s = stream_of(r.pid);
		if (!s)
			goto oom;
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->idx = realloc(s->idx, s->cap * sizeof(*s->idx));
			if (!s->idx)
				goto oom;
		}
		s->idx[s->n++] = nreads++;
	}
	fclose(f);
	if (!nreads) {
		fprintf(stderr, "%s: no reads\n", path);
		return -1;
	}
	return 0;
oom:
	fprintf(stderr, "replay: out of memory\n");
	fclose(f);
	return -1;
}

static int load_cold(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t i;

	if (!f) {
		perror(path);
		return -1;
	}
	for (i = 0; i < nreads; i++) {
		if (fscanf(f, "%llu", &reads[i].cold_ns) != 1) {
			fprintf(stderr, "%s: fewer than %zu latencies\n", path, nreads);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values, in ms. */
static double pct(const u64 *v, size_t n, unsigned int p)
{
	size_t k = (n * p + 99) / 100;

	return v[k ? k - 1 : 0] / 1e6;
}

int main(int argc, char **argv)
{
	const char *lat_out = NULL, *cold = NULL;
	u64 end = 0, end_ticks, wait = 0, bytes = 0, *lat;
	double ns_per_tick = 1;
	const char *clock = "monotonic";
	size_t i, bad = 0;
	unsigned char le[4];
	u32 digest = 0;
	int verbose = 0, failed = 0, opt;

	while ((opt = getopt(argc, argv, "vg:l:c:")) != -1) {
		switch (opt) {
		case 'v':
			verbose = 1;
			break;
		case 'g':
			scale = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			lat_out = optarg;
			break;
		case 'c':
			cold = optarg;
			think = 1;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	crc_init();
	if (load_trace(argv[optind + 1]) || (cold && load_cold(cold)))
		return 2;
	fd = open(argv[optind], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror(argv[optind]);
		return 1;
	}
	start_ns = now_ns();
	start_ticks = ticks();
	for (i = 0; i < nstreams; i++) {
		if (pthread_create(&streams[i].thread, NULL, run_stream, &streams[i])) {
			fprintf(stderr, "replay: cannot start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < nstreams; i++) {
		pthread_join(streams[i].thread, NULL);
		failed |= streams[i].failed;
	}
	end = now_ns();
	end_ticks = ticks();
	if (failed)
		return 1;
#ifdef HAVE_TSC
	/* The TSC's rate, over at least a second of CLOCK_MONOTONIC. */
	if (end - start_ns >= 1000000000ULL && end_ticks > start_ticks) {
		ns_per_tick = (double)(end - start_ns) / (end_ticks - start_ticks);
		clock = "tsc";
	}
#endif

	lat = malloc(nreads * sizeof(*lat));
	if (!lat)
		return 1;
	for (i = 0; i < nreads; i++) {
		struct rd *r = &reads[i];

		if (!strcmp(clock, "tsc"))
			r->lat_ns = r->lat_ticks * ns_per_tick;
		lat[i] = r->lat_ns;
		wait += r->lat_ns;
		bytes += r->length;
		le[0] = r->crc;
		le[1] = r->crc >> 8;
		le[2] = r->crc >> 16;
		le[3] = r->crc >> 24;
		digest = crc32(digest, le, 4);
		if (!r->ok && bad++ < 5) {
			fprintf(stderr, "replay: read %zu (%llu bytes at %llu): ",
				i, r->length, r->offset);
			fprintf(stderr, "crc32 %08x, want %08x\n", r->crc, r->want);
		}
		if (verbose)
			printf("read %zu %ld %llu %llu %llu\n",
			       i, r->pid, r->offset, r->length, r->lat_ns / 1000);
	}
	if (lat_out) {
		FILE *f = fopen(lat_out, "w");

		if (!f) {
			perror(lat_out);
			return 1;
		}
		for (i = 0; i < nreads; i++)
			fprintf(f, "%llu\n", lat[i]);
		if (fclose(f)) {
			perror(lat_out);
			return 1;
		}
	}
	qsort(lat, nreads, sizeof(*lat), cmp_u64);
	printf("replay: reads=%zu bytes=%llu wall_ms=%.1f wait_ms=%.1f mean_ms=%.2f",
	       nreads, bytes, (end - start_ns) / 1e6, wait / 1e6, wait / 1e6 / nreads);
	printf(" p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f digest=%08x mismatches=%zu",
	       pct(lat, nreads, 50), pct(lat, nreads, 90), pct(lat, nreads, 99),
	       lat[nreads - 1] / 1e6, digest, bad);
	printf(" clock=%s\n", clock);
	free(lat);
	return bad ? 1 : 0;

usage:
	fprintf(stderr, "usage: %s [-v] [-g PERCENT] [-l LAT_OUT] [-c LAT] DEVICE TRACE\n",
		argv[0]);
	return 2;
}
