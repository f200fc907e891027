// SPDX-License-Identifier: GPL-2.0
/*
 * bcfile: the bootcache files and test disks the kselftests need, from the
 * uapi header alone (no Rust tool, no cargo).
 *
 *   bcfile make-playlist -o FILE -e VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]...
 *	a playlist, byte for byte what `bootcache make-playlist` writes for the
 *	same arguments (volumes numbered in order of first appearance, block
 *	size 4096, or 2048 for an ISO 9660 medium, extents sorted by volume and
 *	offset); VOLUME is `root`, a GPT PARTUUID, an MBR PARTUUID or
 *	iso9660:YYYY-MM-DD-hh-mm-ss-cc:CRC, whose own colons stay with it
 *	and FLAGS is `low`, `keep` or `low+keep` (BOOTCACHE_EXTENT_LOW_PRIORITY,
 *	BOOTCACHE_EXTENT_KEEP)
 *   bcfile gen-malformed DIR
 *	the malformed playlists and histories of `bootcache gen-malformed`
 *	(tools/bootcache/src/malformed.rs), same names, same bytes
 *   bcfile print-history FILE
 *	check every rule of the history format, then print it as `bootcache
 *	print` does; exit status 1 and a message when it is not valid
 *   bcfile pattern SEED OFFSET LENGTH
 *	LENGTH bytes at OFFSET of a test disk's deterministic content: a
 *	pseudo-random stream in which each 4 KiB block starts with the label
 *	"bootcache seed SEED block N\n" (multiples of 512)
 *   bcfile mbr SIGNATURE SECTORS
 *	a 512-byte MBR: disk signature SIGNATURE (8 hex digits), one Linux
 *	partition from sector 2048 to SECTORS (PARTUUID SIGNATURE-01)
 *   bcfile pvd LABEL DATE BLOCKS
 *	the 4096 bytes to write at byte 32768 of a disk to make it an ISO 9660
 *	medium as bootcache and blkid see it: a primary volume descriptor
 *	(label LABEL, creation and modification date DATE, 16 digits
 *	YYYYMMDDhhmmsscc, BLOCKS blocks of 2048 bytes), then a terminator
 *   bcfile medium-id FILE
 *	the volume id of the ISO 9660 medium FILE, as `bootcache medium-id`
 *	prints it: iso9660:YYYY-MM-DD-hh-mm-ss-cc:CRC
 *
 * The formats: include/uapi/linux/bootcache.h and
 * drivers/block/bootcache/format/.
 */
#include <errno.h>
#include <fcntl.h>
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/bootcache.h>

#include "../kselftest.h"

#define HDR_SIZE	40
#define VOL_SIZE	40
#define EXT_SIZE	24
#define ENT_SIZE	32

/* Field offsets (struct bootcache_*_header, _volume, _extent, _entry). */
enum { H_MAGIC = 0, H_VERSION = 4, H_HEADER_SIZE = 6, H_FLAGS = 8, H_CHECKSUM = 12,
	H_VOLUME_COUNT = 16, H_COUNT = 20, H_BYTES = 24, H_EXTRA = 32, H_RESERVED = 36 };
enum { V_ID_TYPE = 0, V_RESERVED0 = 1, V_RECORD_COUNT = 4, V_ID = 8, V_BYTES = 24,
	V_BLOCK_SIZE = 32, V_RESERVED1 = 36 };
enum { X_OFFSET = 0, X_LENGTH = 8, X_VOLUME = 16, X_FLAGS = 18, X_BATCH = 20, X_RESERVED = 21 };
enum { E_OFFSET = 0, E_LENGTH = 8, E_TIMESTAMP = 16, E_PID = 24, E_FLAGS = 28, E_VOLUME = 30 };

static_assert(sizeof(struct bootcache_playlist_header) == HDR_SIZE, "header");
static_assert(sizeof(struct bootcache_history_header) == HDR_SIZE, "header");
static_assert(sizeof(struct bootcache_volume) == VOL_SIZE, "volume");
static_assert(sizeof(struct bootcache_extent) == EXT_SIZE, "extent");
static_assert(sizeof(struct bootcache_history_entry) == ENT_SIZE, "entry");

static const char *prog = "bcfile";

static noreturn void die(const char *fmt, ...) __printf(1, 2);
static noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = v;
	b[off + 1] = v >> 8;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[off + i] = v >> (8 * i);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[off + i] = v >> (8 * i);
}

static uint16_t get16(const uint8_t *b, size_t off)
{
	return b[off] | (uint16_t)b[off + 1] << 8;
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | b[off + i];
	return v;
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[off + i];
	return v;
}

/*
 * CRC-32C (reflected polynomial 0x82f63b78, initial value and final xor ~0)
 * of b, with the bytes from skip to skip + 3 read as zero.
 */
static uint32_t crc32c_skip(const uint8_t *b, size_t len, size_t skip)
{
	uint32_t crc = 0xffffffff;

	for (size_t i = 0; i < len; i++) {
		crc ^= (i >= skip && i < skip + 4) ? 0 : b[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

/* The CRC-32C of b (nothing skipped: the bytes from len on are not read). */
static uint32_t crc32c(const uint8_t *b, size_t len)
{
	return crc32c_skip(b, len, len);
}

/* The file's checksum: its CRC-32C with the checksum field as zero. */
static uint32_t file_checksum(const uint8_t *b, size_t len)
{
	return crc32c_skip(b, len, H_CHECKSUM);
}

static void seal(uint8_t *b, size_t len)
{
	put32(b, H_CHECKSUM, file_checksum(b, len));
}

/* Volumes and records, decoded. */
struct volume {
	uint8_t id_type;
	uint8_t id[16];
	uint32_t block_size;
	uint8_t reserved0;	/* for the malformed samples */
};

struct extent {
	uint64_t offset, length;
	uint16_t volume, flags;
	uint8_t batch;
};

struct entry {
	uint64_t offset, length, timestamp_ns;
	uint32_t pid;
	uint16_t flags, volume;
};

struct buf {
	uint8_t *b;
	size_t len;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static int is_tag(const struct entry *e)
{
	return e->flags & BOOTCACHE_ENTRY_TAG;
}

static int is_read(const struct entry *e)
{
	return !(e->flags & (BOOTCACHE_ENTRY_TAG | BOOTCACHE_ENTRY_WRITE));
}

static void write_header(uint8_t *b, uint32_t magic, uint32_t nvol, uint32_t n,
			 uint64_t bytes, uint32_t extra)
{
	put32(b, H_MAGIC, magic);
	put16(b, H_VERSION, BOOTCACHE_FORMAT_VERSION);
	put16(b, H_HEADER_SIZE, HDR_SIZE);
	put32(b, H_VOLUME_COUNT, nvol);
	put32(b, H_COUNT, n);
	put64(b, H_BYTES, bytes);
	put32(b, H_EXTRA, extra);
}

/*
 * One record, for the volume tallies: its volume (>= nv: none), its length,
 * and whether its length counts in the volume's bytes.
 */
struct rec {
	uint16_t volume;
	uint64_t length;
	int counts_bytes;
};

/*
 * A file exactly as given: the header, the volumes with honest counts and
 * sums computed from the records (even where they break the rules), the
 * records (written by put()), and a correct checksum (malformed.rs encode(),
 * and for valid input what format.rs write_playlist() writes).
 */
static struct buf encode(uint32_t magic, const struct volume *v, size_t nv, size_t n, size_t rsize,
			 uint64_t bytes, uint32_t extra, struct rec (*rec)(const void *, size_t),
			 void (*put)(uint8_t *, const void *, size_t), const void *recs)
{
	struct buf r;
	uint8_t *vol;

	r.len = HDR_SIZE + nv * VOL_SIZE + n * rsize;
	r.b = calloc(1, r.len + EXT_SIZE);
	if (!r.b)
		die("out of memory");
	write_header(r.b, magic, nv, n, bytes, extra);
	vol = r.b + HDR_SIZE;
	for (size_t i = 0; i < nv; i++) {
		vol[i * VOL_SIZE + V_ID_TYPE] = v[i].id_type;
		vol[i * VOL_SIZE + V_RESERVED0] = v[i].reserved0;
		memcpy(vol + i * VOL_SIZE + V_ID, v[i].id, 16);
		put32(vol + i * VOL_SIZE, V_BLOCK_SIZE, v[i].block_size);
	}
	for (size_t k = 0; k < n; k++) {
		struct rec x = rec(recs, k);
		uint8_t *p;

		put(vol + nv * VOL_SIZE + k * rsize, recs, k);
		if (x.volume >= nv)
			continue;
		p = vol + x.volume * VOL_SIZE;
		put32(p, V_RECORD_COUNT, get32(p, V_RECORD_COUNT) + 1);
		if (x.counts_bytes)
			put64(p, V_BYTES, sat_add(get64(p, V_BYTES), x.length));
	}
	seal(r.b, r.len);
	return r;
}

static struct rec extent_rec(const void *recs, size_t k)
{
	const struct extent *x = (const struct extent *)recs + k;

	return (struct rec){ x->volume, x->length, 1 };
}

static void put_extent(uint8_t *p, const void *recs, size_t k)
{
	const struct extent *x = (const struct extent *)recs + k;

	put64(p, X_OFFSET, x->offset);
	put64(p, X_LENGTH, x->length);
	put16(p, X_VOLUME, x->volume);
	put16(p, X_FLAGS, x->flags);
	p[X_BATCH] = x->batch;
}

static struct rec entry_rec(const void *recs, size_t k)
{
	const struct entry *e = (const struct entry *)recs + k;

	return (struct rec){ is_tag(e) ? UINT16_MAX : e->volume, e->length, is_read(e) };
}

static void put_entry(uint8_t *p, const void *recs, size_t k)
{
	const struct entry *e = (const struct entry *)recs + k;

	put64(p, E_OFFSET, e->offset);
	put64(p, E_LENGTH, e->length);
	put64(p, E_TIMESTAMP, e->timestamp_ns);
	put32(p, E_PID, e->pid);
	put16(p, E_FLAGS, e->flags);
	put16(p, E_VOLUME, e->volume);
}

static struct buf encode_playlist(const struct volume *v, size_t nv,
				  const struct extent *x, size_t nx)
{
	uint64_t total = 0;
	uint32_t batches = 0;

	for (size_t i = 0; i < nx; i++) {
		total = sat_add(total, x[i].length);
		if (x[i].batch + 1u > batches)
			batches = x[i].batch + 1u;
	}
	return encode(BOOTCACHE_PLAYLIST_MAGIC, v, nv, nx, EXT_SIZE, total, batches,
		      extent_rec, put_extent, x);
}

static struct buf encode_history(const struct volume *v, size_t nv,
				 const struct entry *e, size_t ne)
{
	uint64_t reads = 0;
	uint32_t tags = 0;

	for (size_t i = 0; i < ne; i++) {
		if (is_tag(&e[i]))
			tags++;
		else if (is_read(&e[i]))
			reads = sat_add(reads, e[i].length);
	}
	return encode(BOOTCACHE_HISTORY_MAGIC, v, nv, ne, ENT_SIZE, reads, tags,
		      entry_rec, put_entry, e);
}

static int hexval(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ISO 9660 ids: "iso9660:" and the creation date's 16 digits in 7 fields. */
#define ISO9660_PREFIX		"iso9660:"
#define DISK_PREFIX		"disk:"
#define ISO9660_DATE_LIMIT	10000000000000000ULL

/* Whether an ISO 9660 id is valid (record.rs VolumeId::from_raw). */
static int iso9660_id_ok(const uint8_t *id)
{
	uint64_t created = get64(id, 0);

	return created && created < ISO9660_DATE_LIMIT && all_zero(id + 12, 4);
}

/* YYYY-MM-DD-hh-mm-ss-cc:xxxxxxxx, after the prefix (record.rs parse_iso9660). */
static int parse_iso9660(const char *s, size_t n, struct volume *v)
{
	static const int widths[7] = { 4, 2, 2, 2, 2, 2, 2 };
	uint64_t created = 0, crc;
	size_t i = 0;

	for (int f = 0; f < 7; f++) {
		if (f > 0 && (i >= n || s[i++] != '-'))
			return -1;
		for (int d = 0; d < widths[f]; d++, i++) {
			if (i >= n || s[i] < '0' || s[i] > '9')
				return -1;
			created = created * 10 + (s[i] - '0');
		}
	}
	if (i >= n || s[i++] != ':' || n - i != 8 || hexval(s + i, 8, &crc))
		return -1;
	v->id_type = BOOTCACHE_VOLUME_ISO9660;
	v->block_size = 2048;
	put64(v->id, 0, created);
	put32(v->id, 8, crc);
	return iso9660_id_ok(v->id) ? 0 : -1;
}

/*
 * `root`, a GPT PARTUUID, an MBR PARTUUID SSSSSSSS-PP, an ISO 9660 medium or
 * `disk:` and a GPT or MBR PARTUUID (format/record.rs VolumeId::parse).
 */
static int parse_volume(const char *s, size_t n, struct volume *v)
{
	uint64_t sig, part, byte;
	int all_zero = 1;

	if (n >= strlen(DISK_PREFIX) && !strncmp(s, DISK_PREFIX, strlen(DISK_PREFIX))) {
		s += strlen(DISK_PREFIX);
		n -= strlen(DISK_PREFIX);
		/* One level: a disk of a disk is no volume. */
		if (n >= strlen(DISK_PREFIX) && !strncmp(s, DISK_PREFIX, strlen(DISK_PREFIX)))
			return -1;
		if (parse_volume(s, n, v))
			return -1;
		if (v->id_type == BOOTCACHE_VOLUME_GPT)
			v->id_type = BOOTCACHE_VOLUME_GPT_DISK;
		else if (v->id_type == BOOTCACHE_VOLUME_MBR)
			v->id_type = BOOTCACHE_VOLUME_MBR_DISK;
		else
			return -1;
		return 0;
	}
	memset(v, 0, sizeof(*v));
	v->block_size = 4096;
	if (n == 4 && !strncasecmp(s, "root", 4)) {
		v->id_type = BOOTCACHE_VOLUME_ROOT;
		return 0;
	}
	if (n >= strlen(ISO9660_PREFIX) && !strncmp(s, ISO9660_PREFIX, strlen(ISO9660_PREFIX)))
		return parse_iso9660(s + strlen(ISO9660_PREFIX), n - strlen(ISO9660_PREFIX), v);
	if (n == 11 && s[8] == '-') {
		if (hexval(s, 8, &sig) || hexval(s + 9, 2, &part) || part == 0)
			return -1;
		v->id_type = BOOTCACHE_VOLUME_MBR;
		put32(v->id, 0, sig);
		v->id[4] = part;
		return 0;
	}
	if (n == 36) {
		int k = 0;

		for (size_t i = 0; i < 36;) {
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (s[i] != '-')
					return -1;
				i++;
				continue;
			}
			if (hexval(s + i, 2, &byte))
				return -1;
			v->id[k++] = byte;
			if (byte)
				all_zero = 0;
			i += 2;
		}
		if (all_zero)
			return -1;
		v->id_type = BOOTCACHE_VOLUME_GPT;
		return 0;
	}
	return -1;
}

static void format_volume(const uint8_t type, const uint8_t *id, char *out, size_t size)
{
	switch (type) {
	case BOOTCACHE_VOLUME_ROOT:
		snprintf(out, size, "root");
		break;
	case BOOTCACHE_VOLUME_MBR_DISK:
	case BOOTCACHE_VOLUME_GPT_DISK:
		snprintf(out, size, DISK_PREFIX);
		format_volume(type == BOOTCACHE_VOLUME_MBR_DISK ? BOOTCACHE_VOLUME_MBR :
			      BOOTCACHE_VOLUME_GPT, id, out + strlen(DISK_PREFIX),
			      size - strlen(DISK_PREFIX));
		break;
	case BOOTCACHE_VOLUME_MBR:
		snprintf(out, size, "%08x-%02x", get32(id, 0), id[4]);
		break;
	case BOOTCACHE_VOLUME_ISO9660: {
		char d[24];

		/* A valid id's date has 16 digits at most. */
		snprintf(d, sizeof(d), "%016llu", (unsigned long long)get64(id, 0));
		snprintf(out, size,
			 ISO9660_PREFIX "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s:%08x",
			 d, d + 4, d + 6, d + 8, d + 10, d + 12, d + 14, get32(id, 8));
		break;
	}
	default:
		/* A GPT PARTUUID: 36 characters, which every caller has room for. */
		for (int i = 0; i < 16; i++) {
			const char *dash = (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "";

			out += sprintf(out, "%s%02x", dash, id[i]);
		}
	}
}

/* A byte count: decimal with an optional K, M, G, T (or KiB...) suffix (size.rs). */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
	size_t d = 0;
	uint64_t v = 0;
	int shift;
	char suf[8];

	while (d < n && s[d] >= '0' && s[d] <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[d] - '0');
		d++;
	}
	if (d == 0 || n - d >= sizeof(suf))
		return -1;
	memcpy(suf, s + d, n - d);
	suf[n - d] = 0;
	if (!strcasecmp(suf, "") || !strcasecmp(suf, "b"))
		shift = 0;
	else if (!strcasecmp(suf, "k") || !strcasecmp(suf, "kib"))
		shift = 10;
	else if (!strcasecmp(suf, "m") || !strcasecmp(suf, "mib"))
		shift = 20;
	else if (!strcasecmp(suf, "g") || !strcasecmp(suf, "gib"))
		shift = 30;
	else if (!strcasecmp(suf, "t") || !strcasecmp(suf, "tib"))
		shift = 40;
	else
		return -1;
	if (shift && v > UINT64_MAX >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

static void write_file(const char *path, const struct buf *b)
{
	char tmp[4096];
	int fd;

	/* Atomically, as the tool does. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		die("%s: name too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, b->b, b->len) != (ssize_t)b->len || fsync(fd) || close(fd) ||
	    rename(tmp, path))
		die("%s: %s", path, strerror(errno));
}

static struct buf read_file(const char *path)
{
	struct buf r = { NULL, 0 };
	size_t cap = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		if (r.len == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			r.b = realloc(r.b, cap);
			if (!r.b)
				die("out of memory");
		}
		n = read(fd, r.b + r.len, cap - r.len);
		if (n < 0)
			die("%s: %s", path, strerror(errno));
		if (n == 0)
			break;
		r.len += n;
	}
	close(fd);
	return r;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	if (x->volume != y->volume)
		return x->volume < y->volume ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/* The playlist rules write_playlist() checks before it writes. */
static const char *playlist_error(const struct volume *v, size_t nv,
				  const struct extent *x, size_t nx)
{
	uint64_t total = 0;

	if (nv > BOOTCACHE_MAX_VOLUMES)
		return "too many volumes";
	if (nx > BOOTCACHE_MAX_EXTENTS)
		return "too many extents";
	for (size_t i = 0; i < nx; i++) {
		uint32_t bs = v[x[i].volume].block_size;

		if (x[i].length == 0)
			return "an extent has length zero";
		if (x[i].offset % bs || x[i].length % bs)
			return "an extent is not a multiple of the block size (4096)";
		if (x[i].offset > BOOTCACHE_MAX_VOLUME_BYTES ||
		    x[i].length > BOOTCACHE_MAX_VOLUME_BYTES - x[i].offset)
			return "an extent ends past the largest volume";
		if (i > 0 && x[i].volume == x[i - 1].volume &&
		    x[i].offset < x[i - 1].offset + x[i - 1].length)
			return "extents overlap";
		total = sat_add(total, x[i].length);
	}
	if (total > BOOTCACHE_MAX_TOTAL_BYTES)
		return "more than 4 GiB in all";
	return NULL;
}

static int cmd_make_playlist(int argc, char **argv)
{
	struct volume vols[BOOTCACHE_MAX_VOLUMES + 1];
	struct extent *x = calloc(argc, sizeof(*x));
	size_t nv = 0, nx = 0;
	const char *out = NULL, *err;
	struct buf b;

	if (!x)
		die("out of memory");
	for (int i = 1; i < argc; i++) {
		const char *spec, *f[6], *p;
		size_t len[5];
		int nf = 0;
		struct volume v;
		uint64_t batch = 0;
		size_t k;

		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (++i == argc)
				die("-o wants a file");
			out = argv[i];
			continue;
		}
		if (strcmp(argv[i], "-e") && strcmp(argv[i], "--extent"))
			die("make-playlist: unknown argument '%s'", argv[i]);
		if (++i == argc)
			die("-e wants VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]");
		spec = argv[i];
		f[0] = spec;
		/*
		 * An ISO 9660 id's own two colons and a partition disk's one stay
		 * with it (make_playlist.rs split_spec).
		 */
		p = spec;
		if (!strncmp(spec, ISO9660_PREFIX, strlen(ISO9660_PREFIX))) {
			p = strchr(spec + strlen(ISO9660_PREFIX), ':');
			p = p ? p + 1 : spec + strlen(spec);
		} else if (!strncmp(spec, DISK_PREFIX, strlen(DISK_PREFIX))) {
			p = spec + strlen(DISK_PREFIX);
		}
		for (;; p++) {
			if (*p == ':' || !*p) {
				if (nf == 5)
					die("%s: want VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]", spec);
				len[nf] = p - f[nf];
				nf++;
				if (!*p)
					break;
				f[nf] = p + 1;
			}
		}
		if (nf < 3)
			die("%s: want VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]", spec);
		if (parse_volume(f[0], len[0], &v))
			die("%s: %.*s is not a volume id", spec, (int)len[0], f[0]);
		if (parse_size(f[1], len[1], &x[nx].offset) ||
		    parse_size(f[2], len[2], &x[nx].length))
			die("%s: not a size (expected e.g. 4096, 256K, 1G)", spec);
		if (nf > 3) {
			char *end;

			if (len[3] == 0 || len[3] > 3 || f[3][0] == '-' || f[3][0] == '+')
				die("%s: batch is not 0..255", spec);
			batch = strtoull(f[3], &end, 10);
			if (end != f[3] + len[3] || batch > 255)
				die("%s: batch is not 0..255", spec);
		}
		x[nx].batch = batch;
		if (nf > 4) {
			if (len[4] == 3 && !strncmp(f[4], "low", 3))
				x[nx].flags = BOOTCACHE_EXTENT_LOW_PRIORITY;
			else if (len[4] == 4 && !strncmp(f[4], "keep", 4))
				x[nx].flags = BOOTCACHE_EXTENT_KEEP;
			else if (len[4] == 8 && !strncmp(f[4], "low+keep", 8))
				x[nx].flags = BOOTCACHE_EXTENT_LOW_PRIORITY | BOOTCACHE_EXTENT_KEEP;
			else
				die("%s: unknown flag %.*s (low, keep or low+keep)", spec,
				    (int)len[4], f[4]);
		}
		for (k = 0; k < nv; k++)
			if (vols[k].id_type == v.id_type && !memcmp(vols[k].id, v.id, 16))
				break;
		if (k == nv) {
			if (nv > BOOTCACHE_MAX_VOLUMES)
				die("too many volumes");
			vols[nv++] = v;
		}
		x[nx++].volume = k;
	}
	if (!out || nx == 0)
		die("usage: make-playlist -o FILE -e VOLUME:OFFSET:LENGTH[:BATCH[:FLAGS]]...");
	/* A stable sort, as the tool's sort_by_key: keep the input order of equals. */
	for (size_t i = 1; i < nx; i++)
		for (size_t j = i; j > 0 && cmp_extent(&x[j - 1], &x[j]) > 0; j--) {
			struct extent t = x[j];

			x[j] = x[j - 1];
			x[j - 1] = t;
		}
	err = playlist_error(vols, nv, x, nx);
	if (err)
		die("the extents do not make a valid playlist: %s", err);
	b = encode_playlist(vols, nv, x, nx);
	write_file(out, &b);
	return 0;
}

/* --- gen-malformed: malformed.rs samples(), in the same order. --- */

static const struct volume base_vols[2] = {
	{ .id_type = BOOTCACHE_VOLUME_ROOT, .block_size = 4096 },
	{ .id_type = BOOTCACHE_VOLUME_GPT, .block_size = 512,
	  .id = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
		  0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x01 } },
};

static const struct extent base_exts[3] = {
	{ 0, 8192, 0, 0, 0 },
	{ 16384, 4096, 0, BOOTCACHE_EXTENT_LOW_PRIORITY, 1 },
	{ 4096, 4096, 1, 0, 0 },
};

static const struct entry base_ents[4] = {
	{ 0, 4096, 1000, 100, 0, 0 },
	{ 512, 512, 2000, 100, BOOTCACHE_ENTRY_WRITE, 1 },
	{ 0, 0, 3000, 1, BOOTCACHE_ENTRY_TAG, BOOTCACHE_NO_VOLUME },
	{ 8192, 1024, 4000, 100, BOOTCACHE_ENTRY_HIT, 1 },
};

#define VOL_AT(i)	(HDR_SIZE + (i) * VOL_SIZE)
#define EXT_AT(i)	(HDR_SIZE + 2 * VOL_SIZE + (i) * EXT_SIZE)

static struct buf copy(struct buf b)
{
	struct buf r = { malloc(b.len + EXT_SIZE), b.len };

	if (!r.b)
		die("out of memory");
	memcpy(r.b, b.b, b.len);
	return r;
}

static int cmd_gen_malformed(int argc, char **argv)
{
	struct buf base = encode_playlist(base_vols, 2, base_exts, 3);
	struct buf hist = encode_history(base_vols, 2, base_ents, 4);
	struct extent e[3];
	struct entry en[4];
	struct volume vv[3];
	char path[4096];
	int n = 0;
	const char *dir;
	struct buf b;

	if (argc != 2)
		die("usage: gen-malformed DIR");
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("%s: cannot create: %s", dir, strerror(errno));

#define EMIT(name, kind, expr) do {						\
		b = (expr);							\
		snprintf(path, sizeof(path), "%s/%02d-%s.%s", dir, ++n, name, kind); \
		write_file(path, &b);						\
	} while (0)
#define PATCHED(stmt) ({ b = copy(base); stmt; seal(b.b, b.len); b; })
#define HPATCHED(stmt) ({ b = copy(hist); stmt; seal(b.b, b.len); b; })
#define WITH_EXTS(stmt) ({						\
		memcpy(e, base_exts, sizeof(e));				\
		stmt;								\
		encode_playlist(base_vols, 2, e, 3);				\
	})
#define WITH_ENTS(stmt) ({						\
		memcpy(en, base_ents, sizeof(en));				\
		stmt;								\
		encode_history(base_vols, 2, en, 4);				\
	})

	EMIT("truncated", "playlist", ({ b = copy(base); b.len -= 10; b; }));
	EMIT("trailing-bytes", "playlist",
	     PATCHED(memset(b.b + b.len, 0, EXT_SIZE); b.len += EXT_SIZE));
	EMIT("wrong-magic", "playlist", PATCHED(put32(b.b, H_MAGIC, 0xdeadbeef)));
	EMIT("history-as-playlist", "playlist", copy(hist));
	/* Version 1, which had no ISO 9660 volumes. */
	EMIT("wrong-version", "playlist", PATCHED(put16(b.b, H_VERSION, 1)));
	EMIT("wrong-header-size", "playlist", PATCHED(put16(b.b, H_HEADER_SIZE, 48)));
	EMIT("unknown-header-flags", "playlist", PATCHED(put32(b.b, H_FLAGS, 0x10)));
	EMIT("header-reserved", "playlist", PATCHED(put32(b.b, H_RESERVED, 1)));
	EMIT("huge-volume-count", "playlist", PATCHED(put32(b.b, H_VOLUME_COUNT, 1000)));
	EMIT("huge-extent-count", "playlist", PATCHED(put32(b.b, H_COUNT, UINT32_MAX)));
	EMIT("huge-batch-count", "playlist", PATCHED(put32(b.b, H_EXTRA, 300)));
	EMIT("huge-total", "playlist", PATCHED(put64(b.b, H_BYTES, 1ULL << 40)));
	EMIT("bad-checksum", "playlist",
	     ({ b = copy(base); put64(b.b, EXT_AT(0) + X_LENGTH, 12288); b; }));
	EMIT("volume-bad-type", "playlist", PATCHED(b.b[VOL_AT(1) + V_ID_TYPE] = 7));
	EMIT("volume-null-gpt", "playlist", PATCHED(memset(b.b + VOL_AT(1) + V_ID, 0, 16)));
	EMIT("volume-reserved", "playlist", PATCHED(b.b[VOL_AT(0) + V_RESERVED0] = 1));
	EMIT("volume-block-size", "playlist", PATCHED(put32(b.b, VOL_AT(1) + V_BLOCK_SIZE, 3000)));
	memcpy(vv, base_vols, sizeof(base_vols));
	memset(vv[1].id, 0, 16);
	vv[1].id_type = BOOTCACHE_VOLUME_ROOT;
	EMIT("duplicate-volume", "playlist", encode_playlist(vv, 2, base_exts, 3));
	memcpy(vv, base_vols, sizeof(base_vols));
	vv[2] = base_vols[1];
	vv[2].id_type = BOOTCACHE_VOLUME_MBR;
	memset(vv[2].id, 0, 16);
	put32(vv[2].id, 0, 0x1234abcd);
	vv[2].id[4] = 1;
	EMIT("volume-without-extents", "playlist", encode_playlist(vv, 3, base_exts, 3));
	EMIT("volume-count-mismatch", "playlist",
	     PATCHED(put32(b.b, VOL_AT(0) + V_RECORD_COUNT, 3)));
	EMIT("volume-bytes-mismatch", "playlist", PATCHED(put64(b.b, VOL_AT(0) + V_BYTES, 4096)));
	EMIT("volume-index-out-of-range", "playlist", WITH_EXTS(e[2].volume = 5));
	EMIT("unknown-extent-flags", "playlist", WITH_EXTS(e[0].flags = 0x80));
	EMIT("extent-reserved", "playlist", PATCHED(b.b[EXT_AT(1) + X_RESERVED + 2] = 9));
	EMIT("zero-length", "playlist", WITH_EXTS(e[1].length = 0));
	EMIT("misaligned", "playlist", WITH_EXTS(e[2].offset = 4097));
	EMIT("past-end", "playlist", WITH_EXTS(e[2].offset = BOOTCACHE_MAX_VOLUME_BYTES - 4096;
					      e[2].length = 8192));
	EMIT("batch-out-of-range", "playlist", PATCHED(put32(b.b, H_EXTRA, 1)));
	EMIT("volumes-interleaved", "playlist",
	     WITH_EXTS(struct extent t = e[1]; e[1] = e[2]; e[2] = t));
	EMIT("unsorted", "playlist", WITH_EXTS(e[0].offset = 32768));
	EMIT("overlapping", "playlist", WITH_EXTS(e[1].offset = 4096));
	EMIT("total-mismatch", "playlist", PATCHED(put64(b.b, H_BYTES, 20480)));
	EMIT("batch-count-mismatch", "playlist", PATCHED(put32(b.b, H_EXTRA, 3)));
	EMIT("history-bad-flag-combination", "history",
	     WITH_ENTS(en[1].flags = BOOTCACHE_ENTRY_WRITE | BOOTCACHE_ENTRY_HIT));
	EMIT("history-bad-tag", "history", WITH_ENTS(en[2].length = 512));
	EMIT("history-time-order", "history", WITH_ENTS(en[3].timestamp_ns = 10));
	EMIT("history-tag-count", "history", HPATCHED(put32(b.b, H_EXTRA, 2)));
	EMIT("history-misaligned-entry", "history",
	     HPATCHED(put64(b.b, HDR_SIZE + 2 * VOL_SIZE + ENT_SIZE + E_OFFSET, 100)));
	return 0;
}

/* --- print-history --- */

/* Every rule of the history format (uapi header, format.rs History::parse). */
static const char *history_error(const uint8_t *b, size_t len)
{
	uint32_t nv, ne, rc[BOOTCACHE_MAX_VOLUMES] = { 0 };
	uint64_t rb[BOOTCACHE_MAX_VOLUMES] = { 0 }, reads = 0, last_ts = 0;
	uint32_t tags = 0, flags;
	const uint8_t *vol, *ent;

	if (len < HDR_SIZE)
		return "truncated header";
	if (get32(b, H_MAGIC) != BOOTCACHE_HISTORY_MAGIC)
		return "not a history (magic)";
	if (get16(b, H_VERSION) != BOOTCACHE_FORMAT_VERSION)
		return "wrong version";
	if (get16(b, H_HEADER_SIZE) != HDR_SIZE)
		return "wrong header size";
	flags = get32(b, H_FLAGS);
	if (flags & ~BOOTCACHE_HISTORY_FLAGS_ALL)
		return "unknown header flags";
	if (get32(b, H_RESERVED))
		return "header reserved field not zero";
	nv = get32(b, H_VOLUME_COUNT);
	ne = get32(b, H_COUNT);
	if (nv > BOOTCACHE_MAX_VOLUMES)
		return "too many volumes";
	if (ne > BOOTCACHE_MAX_HISTORY_ENTRIES)
		return "too many entries";
	if (len != HDR_SIZE + (uint64_t)nv * VOL_SIZE + (uint64_t)ne * ENT_SIZE)
		return "file size does not match the counts";
	if (get32(b, H_CHECKSUM) != file_checksum(b, len))
		return "bad checksum";
	vol = b + HDR_SIZE;
	ent = vol + nv * VOL_SIZE;
	for (uint32_t i = 0; i < nv; i++) {
		const uint8_t *v = vol + i * VOL_SIZE;
		uint32_t bs = get32(v, V_BLOCK_SIZE);

		if (!all_zero(v + V_RESERVED0, 3) || get32(v, V_RESERVED1))
			return "volume reserved field not zero";
		switch (v[V_ID_TYPE]) {
		case BOOTCACHE_VOLUME_ROOT:
			if (!all_zero(v + V_ID, 16))
				return "root volume with an id";
			break;
		case BOOTCACHE_VOLUME_GPT:
		case BOOTCACHE_VOLUME_GPT_DISK:
			if (all_zero(v + V_ID, 16))
				return "null GPT volume id";
			break;
		case BOOTCACHE_VOLUME_MBR:
		case BOOTCACHE_VOLUME_MBR_DISK:
			if (v[V_ID + 4] == 0 || !all_zero(v + V_ID + 5, 11))
				return "bad MBR volume id";
			break;
		case BOOTCACHE_VOLUME_ISO9660:
			if (!iso9660_id_ok(v + V_ID))
				return "bad ISO 9660 volume id";
			break;
		default:
			return "unknown volume id type";
		}
		if (bs < BOOTCACHE_MIN_BLOCK_SIZE || bs > BOOTCACHE_MAX_BLOCK_SIZE ||
		    (bs & (bs - 1)))
			return "bad volume block size";
		for (uint32_t k = 0; k < i; k++)
			if (vol[k * VOL_SIZE + V_ID_TYPE] == v[V_ID_TYPE] &&
			    !memcmp(vol + k * VOL_SIZE + V_ID, v + V_ID, 16))
				return "duplicate volume";
	}
	for (uint32_t i = 0; i < ne; i++) {
		const uint8_t *p = ent + i * ENT_SIZE;
		uint64_t off = get64(p, E_OFFSET), l = get64(p, E_LENGTH);
		uint64_t ts = get64(p, E_TIMESTAMP);
		uint16_t f = get16(p, E_FLAGS), vi = get16(p, E_VOLUME);

		if (f & ~BOOTCACHE_ENTRY_FLAGS_ALL)
			return "unknown entry flags";
		if (ts < last_ts)
			return "entries out of time order";
		last_ts = ts;
		if (f & BOOTCACHE_ENTRY_TAG) {
			if (f != BOOTCACHE_ENTRY_TAG || off || l || vi != BOOTCACHE_NO_VOLUME)
				return "bad tag entry";
			tags++;
			continue;
		}
		if ((f & BOOTCACHE_ENTRY_WRITE) &&
		    (f & (BOOTCACHE_ENTRY_HIT | BOOTCACHE_ENTRY_WAITED)))
			return "bad entry flag combination";
		if ((f & BOOTCACHE_ENTRY_WAITED) && !(f & BOOTCACHE_ENTRY_HIT))
			return "waited without hit";
		if (vi >= nv)
			return "entry volume out of range";
		if (l == 0 || off % BOOTCACHE_SECTOR_SIZE || l % BOOTCACHE_SECTOR_SIZE)
			return "entry zero or not a multiple of 512";
		if (off > BOOTCACHE_MAX_VOLUME_BYTES || l > BOOTCACHE_MAX_VOLUME_BYTES - off)
			return "entry past the largest volume";
		rc[vi]++;
		if (!(f & BOOTCACHE_ENTRY_WRITE)) {
			rb[vi] = sat_add(rb[vi], l);
			reads = sat_add(reads, l);
		}
	}
	for (uint32_t i = 0; i < nv; i++)
		if (get32(vol + i * VOL_SIZE, V_RECORD_COUNT) != rc[i] ||
		    get64(vol + i * VOL_SIZE, V_BYTES) != rb[i])
			return "volume counts do not match the entries";
	if (get64(b, H_BYTES) != reads)
		return "read bytes do not match the entries";
	if (get32(b, H_EXTRA) != tags)
		return "tag count does not match the entries";
	return NULL;
}

static int cmd_print_history(int argc, char **argv)
{
	struct buf f;
	const char *err;
	uint32_t nv, ne, flags;
	const uint8_t *vol, *ent;
	char id[64];

	if (argc != 2)
		die("usage: print-history FILE");
	f = read_file(argv[1]);
	err = history_error(f.b, f.len);
	if (err)
		die("%s: not a valid history: %s", argv[1], err);
	nv = get32(f.b, H_VOLUME_COUNT);
	ne = get32(f.b, H_COUNT);
	flags = get32(f.b, H_FLAGS);
	vol = f.b + HDR_SIZE;
	ent = vol + nv * VOL_SIZE;
	/* As commands.rs print() prints a history. */
	printf("history version %d flags 0x%x%s checksum 0x%08x\n",
	       BOOTCACHE_FORMAT_VERSION, flags,
	       flags & BOOTCACHE_HISTORY_TRUNCATED ? " (truncated)" : "", get32(f.b, H_CHECKSUM));
	printf("%u volumes, %u entries, %u tags, %llu bytes read\n\n", nv, ne, get32(f.b, H_EXTRA),
	       (unsigned long long)get64(f.b, H_BYTES));
	printf("%3s  %-39s  %5s  %7s  %14s\n", "VOL", "ID", "BLOCK", "ENTRIES", "READ BYTES");
	for (uint32_t i = 0; i < nv; i++) {
		const uint8_t *v = vol + i * VOL_SIZE;

		format_volume(v[V_ID_TYPE], v + V_ID, id, sizeof(id));
		printf("%3u  %-39s  %5u  %7u  %14llu\n", i, id,
		       get32(v, V_BLOCK_SIZE), get32(v, V_RECORD_COUNT),
		       (unsigned long long)get64(v, V_BYTES));
	}
	printf("\n%7s  %14s  %7s  %5s  %3s  %16s  %12s\n",
	       "ENTRY", "TIME_NS", "PID", "FLAGS", "VOL", "OFFSET", "LENGTH");
	for (uint32_t i = 0; i < ne; i++) {
		const uint8_t *p = ent + i * ENT_SIZE;
		uint16_t fl = get16(p, E_FLAGS);
		char fs[8] = "", vs[8] = "-";
		size_t n = 0;

		if (fl & BOOTCACHE_ENTRY_TAG)
			fs[n++] = 'T';
		if (fl & BOOTCACHE_ENTRY_WRITE)
			fs[n++] = 'W';
		if (fl & BOOTCACHE_ENTRY_HIT)
			fs[n++] = 'H';
		if (fl & BOOTCACHE_ENTRY_WAITED)
			fs[n++] = 'w';
		if (!n)
			fs[n++] = 'R';
		fs[n] = 0;
		if (!(fl & BOOTCACHE_ENTRY_TAG))
			snprintf(vs, sizeof(vs), "%u", get16(p, E_VOLUME));
		printf("%7u  %14llu  %7u  %5s  %3s  %16llu  %12llu\n", i,
		       (unsigned long long)get64(p, E_TIMESTAMP), get32(p, E_PID), fs, vs,
		       (unsigned long long)get64(p, E_OFFSET),
		       (unsigned long long)get64(p, E_LENGTH));
	}
	return 0;
}

/* --- pattern, mbr --- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t number(const char *s, const char *what)
{
	uint64_t v;

	if (parse_size(s, strlen(s), &v))
		die("%s: not a size: '%s'", what, s);
	return v;
}

static int cmd_pattern(int argc, char **argv)
{
	uint64_t seed, off, len, blk;
	static uint8_t block[4096];

	if (argc != 4)
		die("usage: pattern SEED OFFSET LENGTH");
	seed = number(argv[1], "seed");
	off = number(argv[2], "offset");
	len = number(argv[3], "length");
	if (off % 512 || len % 512)
		die("pattern: OFFSET and LENGTH must be multiples of 512");
	for (blk = off / 4096; len; blk++) {
		uint64_t start = blk * 4096, from = off > start ? off - start : 0;
		uint64_t n = 4096 - from < len ? 4096 - from : len;

		for (int i = 0; i < 4096; i += 8)
			put64(block, i, splitmix64(seed << 48 ^ (start + i)));
		snprintf((char *)block, 64, "bootcache seed %llu block %llu\n",
			 (unsigned long long)seed, (unsigned long long)blk);
		/* snprintf's NUL ends the label. */
		if (fwrite(block + from, 1, n, stdout) != n)
			die("pattern: %s", strerror(errno));
		len -= n;
		off += n;
	}
	return fflush(stdout) ? 1 : 0;
}

static int cmd_mbr(int argc, char **argv)
{
	uint8_t mbr[512] = { 0 };
	uint64_t sig, sectors;

	if (argc != 3 || strlen(argv[1]) != 8 || hexval(argv[1], 8, &sig))
		die("usage: mbr SIGNATURE SECTORS (SIGNATURE: 8 hex digits)");
	sectors = number(argv[2], "sectors");
	if (sectors <= 2048 || sectors - 2048 > UINT32_MAX)
		die("mbr: %llu sectors do not hold a partition from sector 2048",
		    (unsigned long long)sectors);
	put32(mbr, 440, sig);
	mbr[446 + 4] = 0x83;		/* Linux */
	put32(mbr, 446 + 8, 2048);	/* first LBA */
	put32(mbr, 446 + 12, sectors - 2048);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	return fwrite(mbr, 1, 512, stdout) == 512 && !fflush(stdout) ? 0 : 1;
}

/* --- pvd, medium-id: ISO 9660 media (include/uapi/linux/bootcache.h). --- */

#define PVD_OFFSET	32768
#define PVD_SIZE	2048
#define PVD_LABEL	40
#define PVD_CREATED	813
#define PVD_MODIFIED	830

static int cmd_pvd(int argc, char **argv)
{
	uint8_t d[2 * PVD_SIZE] = { 0 };
	uint64_t blocks;

	if (argc != 4 || strlen(argv[1]) > 32 || strlen(argv[2]) != 16 ||
	    strspn(argv[2], "0123456789") != 16)
		die("usage: pvd LABEL DATE BLOCKS (LABEL: 32 characters at most, DATE: 16 digits)");
	blocks = number(argv[3], "blocks");
	if (blocks > UINT32_MAX)
		die("pvd: %llu blocks are too many", (unsigned long long)blocks);
	memcpy(d, "\001CD001\001", 7);
	memset(d + 8, ' ', 32);					/* system identifier */
	memset(d + PVD_LABEL, ' ', 32);
	memcpy(d + PVD_LABEL, argv[1], strlen(argv[1]));
	put32(d, 80, blocks);					/* volume space size, */
	put32(d, 84, __builtin_bswap32(blocks));		/* both-endian */
	put16(d, 128, PVD_SIZE);				/* logical block size */
	put16(d, 130, __builtin_bswap16(PVD_SIZE));
	memcpy(d + PVD_CREATED, argv[2], 16);
	memcpy(d + PVD_MODIFIED, argv[2], 16);
	d[881] = 1;						/* file structure version */
	memcpy(d + PVD_SIZE, "\377CD001\001", 7);		/* terminator */
	return fwrite(d, 1, sizeof(d), stdout) == sizeof(d) && !fflush(stdout) ? 0 : 1;
}

static int cmd_medium_id(int argc, char **argv)
{
	uint8_t pvd[PVD_SIZE], id[16] = { 0 };
	uint64_t created = 0;
	char out[64];
	int fd;

	if (argc != 2)
		die("usage: medium-id FILE");
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		die("%s: cannot open: %s", argv[1], strerror(errno));
	if (pread(fd, pvd, PVD_SIZE, PVD_OFFSET) != PVD_SIZE)
		die("%s: not an ISO 9660 medium: too small", argv[1]);
	close(fd);
	/* record.rs VolumeId::from_iso9660_pvd. */
	if (memcmp(pvd, "\001CD001\001", 7))
		die("%s: not an ISO 9660 medium: no primary volume descriptor", argv[1]);
	for (int i = 0; i < 16; i++) {
		if (pvd[PVD_CREATED + i] < '0' || pvd[PVD_CREATED + i] > '9')
			die("%s: not an ISO 9660 medium: no creation date", argv[1]);
		created = created * 10 + (pvd[PVD_CREATED + i] - '0');
	}
	put64(id, 0, created);
	put32(id, 8, crc32c(pvd + PVD_LABEL, 32));
	if (!iso9660_id_ok(id))
		die("%s: not an ISO 9660 medium: no creation date", argv[1]);
	format_volume(BOOTCACHE_VOLUME_ISO9660, id, out, sizeof(out));
	printf("%s\n", out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: %s make-playlist|gen-malformed|print-history|pattern|mbr|pvd|medium-id ...\n",
			prog);
		return 2;
	}
	if (!strcmp(argv[1], "make-playlist"))
		return cmd_make_playlist(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen-malformed"))
		return cmd_gen_malformed(argc - 1, argv + 1);
	if (!strcmp(argv[1], "print-history"))
		return cmd_print_history(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pattern"))
		return cmd_pattern(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mbr"))
		return cmd_mbr(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pvd"))
		return cmd_pvd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "medium-id"))
		return cmd_medium_id(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	return 2;
}
