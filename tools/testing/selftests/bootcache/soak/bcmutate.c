// SPDX-License-Identifier: GPL-2.0
/*
 * bcmutate IN OUT SEED: write a mutated copy of the playlist IN to OUT.
 * One to three mutations: a bit flipped anywhere, a header, volume or
 * extent field set to an edge value (counts, sizes, block sizes, id types,
 * offsets and lengths unaligned, past the end or overflowing, volume indexes
 * out of range, unknown flags, batches, reserved bytes), two extents
 * swapped or one duplicated (unsorted, overlapping), the file cut short or
 * lengthened. Most of the time the CRC-32C checksum is then made right
 * again, so that the mutation reaches the checks behind it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR 40
#define VOL 40
#define EXT 24

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static uint64_t s;

static uint64_t rnd(void)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static uint32_t crc32c(const unsigned char *p, size_t n, uint32_t c)
{
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0x82f63b78 ^ (c >> 1) : c >> 1;
	}
	return c;
}

static void put(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

static uint64_t edge(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 64, 65, 255, 256, 511, 512, 513, 1000, 2048, 4095, 4096,
		65535, 65536, 65537, 131072, 1048575, 1048576, 1048577, 0x7fffffff,
		0x80000000, 0xffffffff, 0x100000000ULL, 0x1000000000000000ULL,
		0x7fffffffffffffffULL, 0xfffffffffffffe00ULL, 0xffffffffffffffffULL,
	};
	if (rnd() % 4 == 0)
		return rnd() >> (rnd() % 64);
	return v[rnd() % ARRAY_SIZE(v)];
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bcmutate IN OUT SEED\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	static unsigned char b[1 << 20];
	size_t n = f ? fread(b, 1, sizeof(b) / 2, f) : 0;

	if (!f || n < HDR)
		return 2;
	fclose(f);
	s = strtoull(argv[3], NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	uint32_t vols = b[16] | b[17] << 8, exts = b[20] | b[21] << 8 | b[22] << 16;
	size_t ext0 = HDR + (size_t)vols * VOL;
	int muts = 1 + rnd() % 3;

	for (int m = 0; m < muts; m++) {
		switch (rnd() % 10) {
		case 0: /* a bit anywhere */
			b[rnd() % n] ^= 1 << (rnd() % 8);
			break;
		case 1: { /* a header field */
			static const int off[] = { 0, 4, 6, 8, 16, 20, 24, 32, 36 };
			static const int len[] = { 4, 2, 2, 4, 4, 4, 8, 4, 4 };
			int i = rnd() % 9;

			put(b + off[i], edge(), len[i]);
			break;
		}
		case 2: case 3: { /* a volume field */
			if (!vols)
				break;
			unsigned char *v = b + HDR + rnd() % vols * VOL;
			static const int off[] = { 0, 1, 4, 8, 20, 24, 32, 36 };
			static const int len[] = { 1, 3, 4, 16, 4, 8, 4, 4 };
			int i = rnd() % 8;

			if (i == 3)
				v[8 + rnd() % 16] = rnd();
			else
				put(v + off[i], edge(), len[i]);
			break;
		}
		case 4: case 5: case 6: { /* an extent field */
			if (!exts)
				break;
			unsigned char *e = b + ext0 + rnd() % exts * EXT;
			static const int off[] = { 0, 8, 16, 18, 20, 21 };
			static const int len[] = { 8, 8, 2, 2, 1, 3 };
			int i = rnd() % 6;

			put(e + off[i], edge(), len[i]);
			break;
		}
		case 7: /* two extents swapped, or one copied over another */
			if (exts >= 2) {
				unsigned char t[EXT], *a = b + ext0 + rnd() % exts * EXT,
						     *c = b + ext0 + rnd() % exts * EXT;
				memcpy(t, a, EXT);
				if (rnd() & 1)
					memcpy(a, c, EXT);
				memcpy(c, t, EXT);
			}
			break;
		case 8: /* cut short */
			n = rnd() % n;
			break;
		case 9: { /* longer: garbage or a repeated tail */
			size_t more = 1 + rnd() % 100;

			for (size_t i = 0; i < more && n < sizeof(b); i++)
				b[n++] = rnd();
			break;
		}
		}
	}
	if (n >= 16 && rnd() % 8) {
		uint32_t c = crc32c(b, 12, ~0u);

		c = crc32c((const unsigned char *)"\0\0\0\0", 4, c);
		c = ~crc32c(b + 16, n - 16, c);
		put(b + 12, c, 4);
	}
	f = fopen(argv[2], "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f))
		return 2;
	return 0;
}
