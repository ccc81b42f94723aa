/* imghash: db_checksum, the checksum of a whole database image (segment.h):
 * the sum (mod 2^64) over pages 1..n of SipHash-2-4 (libsodium's
 * crypto_shorthash) of u32le pgno || page, keyed with the constant
 * IMGHASH_KEY; changing the key changes every recorded db_checksum.  Each
 * page's hash is kept, so setting a page costs one page hash; pages added
 * by growth are all-zero pages, hashed as such. */
#include "fileio.h"
#include "segment.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

/* The 16 bytes "kubarr-imghash-1": the fixed SipHash key of db_checksum. */
#define IMGHASH_KEY "kubarr-imghash-1"

static void
imghash_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
imghash_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool
imghash_page_size_ok(uint32_t ps)
{
	return ps >= 512 && ps <= SEG_MAX_PAGE_SIZE && (ps & (ps - 1)) == 0;
}

/* SipHash-2-4 of u32le pgno || page, with scratch of 4 + page_size bytes. */
static uint64_t
imghash_page_scratch(uint32_t pgno, const uint8_t *page, uint32_t page_size, uint8_t *scratch)
{
	static const unsigned char key[crypto_shorthash_KEYBYTES] = IMGHASH_KEY;
	unsigned char out[crypto_shorthash_BYTES];

	imghash_put32(scratch, pgno);
	if (page != NULL)
		memcpy(scratch + 4, page, page_size);
	else
		memset(scratch + 4, 0, page_size);
	crypto_shorthash(out, scratch, 4 + (unsigned long long)page_size, key);
	return imghash_get64(out);
}

uint64_t
imghash_page(uint32_t pgno, const uint8_t *page, uint32_t page_size)
{
	uint8_t *scratch = xmalloc(4 + (size_t)page_size);
	uint64_t v = imghash_page_scratch(pgno, page, page_size, scratch);

	free(scratch);
	return v;
}

void
imghash_init(struct imghash *ih, uint32_t page_size)
{
	memset(ih, 0, sizeof(*ih));
	ih->page_size = page_size;
}

void
imghash_free(struct imghash *ih)
{
	free(ih->h);
	memset(ih, 0, sizeof(*ih));
}

/* Room for n pages' hashes. */
static int
imghash_reserve(struct imghash *ih, uint32_t n)
{
	if (n > SEG_MAX_PAGES || !imghash_page_size_ok(ih->page_size)) {
		errno = EINVAL;
		return -1;
	}
	if (n > ih->cap) {
		uint32_t cap = ih->cap ? ih->cap : 64;
		uint64_t *h;

		while (cap < n)
			cap = cap > SEG_MAX_PAGES / 2 ? SEG_MAX_PAGES : cap * 2;
		if ((h = realloc(ih->h, (size_t)cap * sizeof(*h))) == NULL)
			return -1;
		ih->h = h;
		ih->cap = cap;
	}
	return 0;
}

/* Grows the image to n pages, the new ones all-zero. */
static int
imghash_grow(struct imghash *ih, uint32_t n)
{
	uint8_t *scratch;

	if (n <= ih->n)
		return 0;
	if (imghash_reserve(ih, n) != 0)
		return -1;
	if ((scratch = malloc(4 + (size_t)ih->page_size)) == NULL)
		return -1;
	for (uint32_t p = ih->n + 1; p <= n; p++) {
		ih->h[p - 1] = imghash_page_scratch(p, NULL, ih->page_size, scratch);
		ih->sum += ih->h[p - 1];
	}
	free(scratch);
	ih->n = n;
	return 0;
}

int
imghash_set(struct imghash *ih, uint32_t pgno, const uint8_t *page)
{
	uint8_t *scratch;
	uint64_t v;

	if (pgno == 0 || pgno > SEG_MAX_PAGES || !imghash_page_size_ok(ih->page_size)) {
		errno = EINVAL;
		return -1;
	}
	if ((scratch = malloc(4 + (size_t)ih->page_size)) == NULL)
		return -1;
	v = imghash_page_scratch(pgno, page, ih->page_size, scratch);
	free(scratch);
	if (pgno > ih->n) {
		/* the gap pages count as zero pages; pgno itself is replaced below */
		if (imghash_grow(ih, pgno) != 0)
			return -1;
	}
	ih->sum -= ih->h[pgno - 1];
	ih->h[pgno - 1] = v;
	ih->sum += v;
	return 0;
}

int
imghash_resize(struct imghash *ih, uint32_t db_pages)
{
	if (db_pages >= ih->n)
		return imghash_grow(ih, db_pages);
	for (uint32_t p = db_pages; p < ih->n; p++)
		ih->sum -= ih->h[p];
	ih->n = db_pages;
	return 0;
}

int
imghash_file(struct imghash *ih, int fd, char **err_r)
{
	static const char sqlite_magic[16] = "SQLite format 3";
	uint8_t hdr[100], *buf = NULL, *scratch = NULL;
	struct stat st;
	uint32_t ps, npages, per_chunk;
	ssize_t k;
	int ret = -1;

	if (fstat(fd, &st) != 0) {
		*err_r = xasprintf("imghash: fstat: %s", strerror(errno));
		return -1;
	}
	if ((k = fileio_pread_full(fd, hdr, sizeof(hdr), 0)) < 0) {
		*err_r = xasprintf("imghash: read: %s", strerror(errno));
		return -1;
	}
	if ((size_t)k < sizeof(hdr) || memcmp(hdr, sqlite_magic, sizeof(sqlite_magic)) != 0) {
		*err_r = xstrdup("imghash: not a SQLite database file");
		return -1;
	}
	ps = (uint32_t)hdr[16] << 8 | hdr[17];
	if (ps == 1)
		ps = 65536;
	if (!imghash_page_size_ok(ps)) {
		*err_r = xasprintf("imghash: bad page size %u", ps);
		return -1;
	}
	if ((uint64_t)st.st_size / ps > SEG_MAX_PAGES) {
		*err_r = xstrdup("imghash: database too large");
		return -1;
	}
	npages = (uint32_t)((uint64_t)st.st_size / ps);
	imghash_free(ih);
	imghash_init(ih, ps);
	per_chunk = (1u << 20) / ps; /* 1 MiB reads */
	buf = malloc((size_t)per_chunk * ps);
	scratch = malloc(4 + (size_t)ps);
	if (buf == NULL || scratch == NULL || (npages > 0 && imghash_reserve(ih, npages) != 0)) {
		*err_r = xstrdup("imghash: out of memory");
		goto out;
	}
	for (uint32_t p = 1; p <= npages;) {
		uint32_t n = npages - p + 1 < per_chunk ? npages - p + 1 : per_chunk;

		if ((k = fileio_pread_full(fd, buf, (size_t)n * ps, (uint64_t)(p - 1) * ps)) < 0) {
			*err_r = xasprintf("imghash: read: %s", strerror(errno));
			goto out;
		}
		if ((size_t)k < (size_t)n * ps) {
			*err_r = xstrdup("imghash: the file shrank while it was read");
			goto out;
		}
		for (uint32_t i = 0; i < n; i++, p++) {
			ih->h[p - 1] = imghash_page_scratch(p, buf + (size_t)i * ps, ps, scratch);
			ih->sum += ih->h[p - 1];
		}
		ih->n = p - 1;
	}
	ret = 0;
out:
	free(buf);
	free(scratch);
	return ret;
}
