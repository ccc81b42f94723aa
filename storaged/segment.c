/* segment: the backup's object format (see segment.h).
 *
 * Header (SEG_HDR_SIZE = 96 bytes, little-endian):
 *    0  magic "KBSEG\0\0\1" (the last byte is the version)
 *    8  kind u32          12  timeline u32
 *   16  seq u64           24  prev_seq u64
 *   32  page_size u32     36  db_pages u32
 *   40  npages u32        44  ncommits u32
 *   48  first_ms i64      56  time_ms i64
 *   64  db_checksum u64   72  zero padding (checked) up to 92
 *   92  CRC-32 (zlib) of bytes 0..91
 *
 * Body: one zstd frame (content checksum on, content size pledged) of npages
 * records u32le pgno + page.  Trailer: u64 compressed length, u32 CRC-32 of
 * the compressed bytes, "KBSEGEND".
 *
 * Bounds on hostile input: the reader allocates one record (4 + page_size
 * bytes), one 64 KiB input buffer (fd reader) and a zstd context whose window
 * is capped at 2^SEG_ZSTD_WINDOW_LOG bytes (the writer clamps its level so
 * its frames never need more).
 *
 * The image checksum (imghash_*, also declared in segment.h) is imghash.c. */
#include "fileio.h"
#include "segment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "xmalloc.h"

#define SEG_MAGIC "KBSEG\0\0\1"
#define SEG_MAGIC_LEN 8u
#define SEG_HDR_CRC_OFF (SEG_HDR_SIZE - 4u)
#define SEG_TRAILER_MAGIC "KBSEGEND"
#define SEG_ZSTD_WINDOW_LOG 23 /* 8 MiB: what levels up to 19 use at most */
#define SEG_ZSTD_LEVEL_MAX 19
#define SEG_IO_CHUNK (64u * 1024u)

/* ---- little-endian helpers ------------------------------------------------ */

static void
seg_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
seg_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
seg_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
seg_get64(const uint8_t *p)
{
	return (uint64_t)seg_get32(p) | (uint64_t)seg_get32(p + 4) << 32;
}

/* zlib's crc32 over any length (its length argument is an unsigned int). */
static uint32_t
seg_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
	return crc;
}

static bool
seg_page_size_ok(uint32_t ps)
{
	return ps >= 512 && ps <= SEG_MAX_PAGE_SIZE && (ps & (ps - 1)) == 0;
}

/* ---- header --------------------------------------------------------------- */

static void
seg_hdr_encode(const struct seg_hdr *h, uint8_t buf[SEG_HDR_SIZE])
{
	memset(buf, 0, SEG_HDR_SIZE);
	memcpy(buf, SEG_MAGIC, SEG_MAGIC_LEN);
	seg_put32(buf + 8, h->kind);
	seg_put32(buf + 12, h->timeline);
	seg_put64(buf + 16, h->seq);
	seg_put64(buf + 24, h->prev_seq);
	seg_put32(buf + 32, h->page_size);
	seg_put32(buf + 36, h->db_pages);
	seg_put32(buf + 40, h->npages);
	seg_put32(buf + 44, h->ncommits);
	seg_put64(buf + 48, (uint64_t)h->first_ms);
	seg_put64(buf + 56, (uint64_t)h->time_ms);
	seg_put64(buf + 64, h->db_checksum);
	seg_put32(buf + SEG_HDR_CRC_OFF, seg_crc(0, buf, SEG_HDR_CRC_OFF));
}

/* The checks on fields alone (shared by the writer and the decoder). */
static const char *
seg_hdr_check(const struct seg_hdr *h)
{
	if (h->kind != SEG_KIND_SEGMENT && h->kind != SEG_KIND_SNAPSHOT)
		return "unknown kind";
	if (!seg_page_size_ok(h->page_size))
		return "bad page size";
	if (h->npages > SEG_MAX_PAGES)
		return "too many pages";
	if (h->db_pages > SEG_MAX_PAGES)
		return "database size out of range";
	if (h->npages > h->db_pages)
		return "more pages than the database holds";
	if (h->kind == SEG_KIND_SEGMENT) {
		if (h->prev_seq >= h->seq)
			return "prev_seq not below seq";
		if (h->ncommits == 0)
			return "segment without commits";
	} else {
		if (h->npages != h->db_pages)
			return "snapshot npages differs from db_pages";
		if (h->prev_seq != h->seq)
			return "snapshot prev_seq differs from seq";
		if (h->ncommits != 1)
			return "snapshot ncommits is not 1";
	}
	return NULL;
}

int
seg_hdr_decode(const uint8_t *buf, size_t len, struct seg_hdr *h, char **err_r)
{
	struct seg_hdr t;
	const char *why;

	if (len < SEG_HDR_SIZE) {
		*err_r = xstrdup("segment header: truncated");
		return -1;
	}
	if (memcmp(buf, SEG_MAGIC, SEG_MAGIC_LEN - 1) != 0) {
		*err_r = xstrdup("segment header: bad magic");
		return -1;
	}
	if (buf[SEG_MAGIC_LEN - 1] != (uint8_t)SEG_MAGIC[SEG_MAGIC_LEN - 1]) {
		*err_r = xasprintf("segment header: unsupported version %u", buf[SEG_MAGIC_LEN - 1]);
		return -1;
	}
	if (seg_get32(buf + SEG_HDR_CRC_OFF) != seg_crc(0, buf, SEG_HDR_CRC_OFF)) {
		*err_r = xstrdup("segment header: bad CRC");
		return -1;
	}
	for (size_t i = 72; i < SEG_HDR_CRC_OFF; i++) {
		if (buf[i] != 0) {
			*err_r = xstrdup("segment header: nonzero padding");
			return -1;
		}
	}
	t.kind = seg_get32(buf + 8);
	t.timeline = seg_get32(buf + 12);
	t.seq = seg_get64(buf + 16);
	t.prev_seq = seg_get64(buf + 24);
	t.page_size = seg_get32(buf + 32);
	t.db_pages = seg_get32(buf + 36);
	t.npages = seg_get32(buf + 40);
	t.ncommits = seg_get32(buf + 44);
	t.first_ms = (int64_t)seg_get64(buf + 48);
	t.time_ms = (int64_t)seg_get64(buf + 56);
	t.db_checksum = seg_get64(buf + 64);
	if ((why = seg_hdr_check(&t)) != NULL) {
		*err_r = xasprintf("segment header: %s", why);
		return -1;
	}
	*h = t;
	return 0;
}

/* ---- writing -------------------------------------------------------------- */

struct seg_writer {
	int fd;
	struct seg_hdr hdr;
	ZSTD_CCtx *cctx;
	uint8_t *out; /* compressed output buffer */
	size_t out_cap;
	uint64_t off;      /* file offset of the next write */
	uint64_t body_len; /* compressed bytes written */
	uint32_t body_crc;
	uint32_t added, last_pgno;
};

static int
seg_pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Writes what zstd put in w->out. */
static int
seg_writer_flush(struct seg_writer *w, ZSTD_outBuffer *ob, char **err_r)
{
	if (ob->pos == 0)
		return 0;
	if (seg_pwrite_all(w->fd, w->out, ob->pos, w->off) != 0) {
		*err_r = xasprintf("segment write: %s", strerror(errno));
		return -1;
	}
	w->body_crc = seg_crc(w->body_crc, w->out, ob->pos);
	w->off += ob->pos;
	w->body_len += ob->pos;
	ob->pos = 0;
	return 0;
}

/* Feeds n bytes (or ends the frame) through the compressor. */
static int
seg_writer_feed(struct seg_writer *w, const void *p, size_t n, ZSTD_EndDirective mode,
    char **err_r)
{
	ZSTD_inBuffer ib = {p, n, 0};

	for (;;) {
		ZSTD_outBuffer ob = {w->out, w->out_cap, 0};
		size_t left = ZSTD_compressStream2(w->cctx, &ob, &ib, mode);

		if (ZSTD_isError(left)) {
			*err_r = xasprintf("segment compress: %s", ZSTD_getErrorName(left));
			return -1;
		}
		if (seg_writer_flush(w, &ob, err_r) != 0)
			return -1;
		if (mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size)
			return 0;
	}
}

int
seg_writer_open(struct seg_writer **w_r, int fd, const struct seg_hdr *hdr, int zstd_level,
    char **err_r)
{
	uint8_t zero[SEG_HDR_SIZE] = {0};
	struct seg_writer *w;
	const char *why;
	size_t rc;

	*w_r = NULL;
	if ((why = seg_hdr_check(hdr)) != NULL) {
		*err_r = xasprintf("segment writer: %s", why);
		return -1;
	}
	if (zstd_level > SEG_ZSTD_LEVEL_MAX)
		zstd_level = SEG_ZSTD_LEVEL_MAX;
	if (zstd_level < ZSTD_minCLevel())
		zstd_level = ZSTD_minCLevel();
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->hdr = *hdr;
	w->off = SEG_HDR_SIZE;
	w->out_cap = ZSTD_CStreamOutSize();
	w->out = xmalloc(w->out_cap);
	if ((w->cctx = ZSTD_createCCtx()) == NULL) {
		*err_r = xstrdup("segment writer: out of memory");
		goto fail;
	}
	rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, zstd_level);
	if (!ZSTD_isError(rc))
		rc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(rc))
		rc = ZSTD_CCtx_setPledgedSrcSize(w->cctx,
		    (unsigned long long)hdr->npages * (4ull + hdr->page_size));
	if (ZSTD_isError(rc)) {
		*err_r = xasprintf("segment writer: zstd: %s", ZSTD_getErrorName(rc));
		goto fail;
	}
	/* a placeholder header until the object is complete */
	if (seg_pwrite_all(fd, zero, sizeof(zero), 0) != 0) {
		*err_r = xasprintf("segment write: %s", strerror(errno));
		goto fail;
	}
	*w_r = w;
	return 0;
fail:
	seg_writer_abort(&w);
	return -1;
}

int
seg_writer_page(struct seg_writer *w, uint32_t pgno, const uint8_t *page, char **err_r)
{
	uint8_t pg[4];

	if (pgno == 0 || pgno <= w->last_pgno) {
		*err_r = xasprintf("segment writer: page %u after page %u", pgno, w->last_pgno);
		return -1;
	}
	if (pgno > w->hdr.db_pages) {
		*err_r = xasprintf("segment writer: page %u beyond the database's %u pages", pgno,
		    w->hdr.db_pages);
		return -1;
	}
	if (w->added == w->hdr.npages) {
		*err_r = xasprintf("segment writer: more than the %u pages announced", w->hdr.npages);
		return -1;
	}
	seg_put32(pg, pgno);
	if (seg_writer_feed(w, pg, sizeof(pg), ZSTD_e_continue, err_r) != 0 ||
	    seg_writer_feed(w, page, w->hdr.page_size, ZSTD_e_continue, err_r) != 0)
		return -1;
	w->added++;
	w->last_pgno = pgno;
	return 0;
}

int
seg_writer_close(struct seg_writer **wp, uint64_t *bytes_r, char **err_r)
{
	struct seg_writer *w = *wp;
	uint8_t tr[SEG_TRAILER_SIZE], hdr[SEG_HDR_SIZE];
	int ret = -1;

	*wp = NULL;
	if (w->added != w->hdr.npages) {
		*err_r = xasprintf("segment writer: %u pages added, %u announced", w->added,
		    w->hdr.npages);
		goto out;
	}
	if (seg_writer_feed(w, NULL, 0, ZSTD_e_end, err_r) != 0)
		goto out;
	seg_put64(tr, w->body_len);
	seg_put32(tr + 8, w->body_crc);
	memcpy(tr + 12, SEG_TRAILER_MAGIC, 8);
	seg_hdr_encode(&w->hdr, hdr);
	if (seg_pwrite_all(w->fd, tr, sizeof(tr), w->off) != 0 ||
	    seg_pwrite_all(w->fd, hdr, sizeof(hdr), 0) != 0) {
		*err_r = xasprintf("segment write: %s", strerror(errno));
		goto out;
	}
	w->off += sizeof(tr);
	if (ftruncate(w->fd, (off_t)w->off) != 0) {
		*err_r = xasprintf("segment truncate: %s", strerror(errno));
		goto out;
	}
	*bytes_r = w->off;
	ret = 0;
out:
	seg_writer_abort(&w);
	return ret;
}

void
seg_writer_abort(struct seg_writer **wp)
{
	struct seg_writer *w = *wp;

	if (w == NULL)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w);
	*wp = NULL;
}

/* ---- reading -------------------------------------------------------------- */

struct seg_reader {
	struct seg_hdr hdr;
	int fd;              /* -1: over mem */
	const uint8_t *mem;
	uint64_t body_off, body_len;
	uint64_t body_read;  /* compressed bytes handed to zstd so far */
	ZSTD_DCtx *dctx;
	uint8_t *in;         /* fd reader: compressed bytes (SEG_IO_CHUNK) */
	ZSTD_inBuffer ib;
	uint8_t *rec;        /* one record: u32 pgno + page */
	size_t rec_size;
	uint32_t produced, last_pgno;
	bool frame_done, finished;
	char *failed;        /* the error once the body proved corrupt */
};

static int
seg_reader_fail(struct seg_reader *r, char **err_r, char *msg)
{
	if (r->failed == NULL)
		r->failed = msg;
	else
		free(msg);
	*err_r = xstrdup(r->failed);
	return -1;
}

/* Reads n bytes at off of the object (fd or mem): 0, or -1 with *err_r. */
static int
seg_reader_get(struct seg_reader *r, uint8_t *buf, size_t n, uint64_t off, char **err_r)
{
	ssize_t k;

	if (r->fd < 0) {
		memcpy(buf, r->mem + off, n);
		return 0;
	}
	if ((k = fileio_pread_full(r->fd, buf, n, off)) < 0) {
		*err_r = xasprintf("segment read: %s", strerror(errno));
		return -1;
	}
	if ((size_t)k < n) {
		*err_r = xstrdup("segment: truncated (the file shrank)");
		return -1;
	}
	return 0;
}

/* Header, trailer, body CRC; then the decompressor is ready. */
static int
seg_reader_start(struct seg_reader *r, uint64_t size, char **err_r)
{
	uint8_t hdr[SEG_HDR_SIZE], tr[SEG_TRAILER_SIZE];
	uint32_t crc = 0, want_crc;
	size_t rc;

	if (size < SEG_HDR_SIZE + SEG_TRAILER_SIZE) {
		*err_r = xasprintf("segment: truncated (%llu bytes)", (unsigned long long)size);
		return -1;
	}
	if (seg_reader_get(r, hdr, sizeof(hdr), 0, err_r) != 0 ||
	    seg_hdr_decode(hdr, sizeof(hdr), &r->hdr, err_r) != 0)
		return -1;
	if (seg_reader_get(r, tr, sizeof(tr), size - SEG_TRAILER_SIZE, err_r) != 0)
		return -1;
	if (memcmp(tr + 12, SEG_TRAILER_MAGIC, 8) != 0) {
		*err_r = xstrdup("segment: truncated or bad trailer magic");
		return -1;
	}
	r->body_off = SEG_HDR_SIZE;
	r->body_len = seg_get64(tr);
	want_crc = seg_get32(tr + 8);
	if (r->body_len != size - SEG_HDR_SIZE - SEG_TRAILER_SIZE) {
		*err_r = xasprintf("segment: truncated or padded (body of %llu bytes, %llu present)",
		    (unsigned long long)r->body_len,
		    (unsigned long long)(size - SEG_HDR_SIZE - SEG_TRAILER_SIZE));
		return -1;
	}
	if (r->fd < 0) {
		crc = seg_crc(0, r->mem + r->body_off, r->body_len);
	} else {
		r->in = xmalloc(SEG_IO_CHUNK);
		for (uint64_t off = 0; off < r->body_len;) {
			size_t n = r->body_len - off < SEG_IO_CHUNK ? (size_t)(r->body_len - off) :
								      SEG_IO_CHUNK;

			if (seg_reader_get(r, r->in, n, r->body_off + off, err_r) != 0)
				return -1;
			crc = seg_crc(crc, r->in, n);
			off += n;
		}
	}
	if (crc != want_crc) {
		*err_r = xstrdup("segment: bad CRC of the body");
		return -1;
	}
	r->rec_size = 4 + (size_t)r->hdr.page_size;
	r->rec = xmalloc(r->rec_size);
	if ((r->dctx = ZSTD_createDCtx()) == NULL) {
		*err_r = xstrdup("segment: out of memory");
		return -1;
	}
	rc = ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, SEG_ZSTD_WINDOW_LOG);
	if (ZSTD_isError(rc)) {
		*err_r = xasprintf("segment: zstd: %s", ZSTD_getErrorName(rc));
		return -1;
	}
	r->ib.src = r->fd < 0 ? r->mem + r->body_off : r->in;
	r->ib.size = 0;
	r->ib.pos = 0;
	return 0;
}

static int
seg_reader_open_any(struct seg_reader **r_r, int fd, const uint8_t *mem, uint64_t size,
    char **err_r)
{
	struct seg_reader *r = xcalloc(1, sizeof(*r));

	*r_r = NULL;
	r->fd = fd;
	r->mem = mem;
	if (seg_reader_start(r, size, err_r) != 0) {
		seg_reader_close(&r);
		return -1;
	}
	*r_r = r;
	return 0;
}

int
seg_reader_open(struct seg_reader **r_r, int fd, uint64_t size, char **err_r)
{
	if (fd < 0) {
		*r_r = NULL;
		*err_r = xstrdup("segment: bad file descriptor");
		return -1;
	}
	return seg_reader_open_any(r_r, fd, NULL, size, err_r);
}

int
seg_reader_open_mem(struct seg_reader **r_r, const uint8_t *buf, size_t len, char **err_r)
{
	return seg_reader_open_any(r_r, -1, buf, len, err_r);
}

const struct seg_hdr *
seg_reader_hdr(const struct seg_reader *r)
{
	return &r->hdr;
}

/* Makes compressed input available: false when the body is exhausted. */
static int
seg_reader_refill(struct seg_reader *r, char **err_r)
{
	uint64_t left = r->body_len - r->body_read;
	size_t n;

	if (r->ib.pos < r->ib.size || left == 0)
		return 0;
	if (r->fd < 0) {
		/* the whole body at once: zstd reads it in place */
		n = left > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)left;
		r->ib.src = r->mem + r->body_off + r->body_read;
	} else {
		n = left < SEG_IO_CHUNK ? (size_t)left : SEG_IO_CHUNK;
		if (seg_reader_get(r, r->in, n, r->body_off + r->body_read, err_r) != 0)
			return -1;
		r->ib.src = r->in;
	}
	r->ib.size = n;
	r->ib.pos = 0;
	r->body_read += n;
	return 0;
}

/* Decompresses into out[0..n), all of it (1), or up to the end of the frame
 * (0 with *got_r < n), or -1. */
static int
seg_reader_inflate(struct seg_reader *r, uint8_t *out, size_t n, size_t *got_r, char **err_r)
{
	ZSTD_outBuffer ob = {out, n, 0};
	unsigned stalls = 0;

	while (ob.pos < n && !r->frame_done) {
		size_t in_before, out_before = ob.pos, rc;
		char *e = NULL;

		if (seg_reader_refill(r, &e) != 0)
			return seg_reader_fail(r, err_r, e);
		in_before = r->ib.pos;
		/* called even without input left: zstd may hold decoded bytes */
		rc = ZSTD_decompressStream(r->dctx, &ob, &r->ib);
		if (ZSTD_isError(rc))
			return seg_reader_fail(r, err_r,
			    xasprintf("segment: corrupt body (%s)", ZSTD_getErrorName(rc)));
		if (rc == 0) {
			r->frame_done = true;
		} else if (r->ib.pos == in_before && ob.pos == out_before) {
			if (r->ib.pos == r->ib.size && r->body_read == r->body_len)
				return seg_reader_fail(r, err_r, xstrdup("segment: truncated body"));
			if (++stalls > 4)
				return seg_reader_fail(r, err_r,
				    xstrdup("segment: corrupt body (no progress)"));
		}
	}
	*got_r = ob.pos;
	return 0;
}

/* After npages records: the frame must end with no more output and no more
 * input. */
static int
seg_reader_finish(struct seg_reader *r, char **err_r)
{
	uint8_t extra;
	size_t got = 0;

	if (seg_reader_inflate(r, &extra, 1, &got, err_r) != 0)
		return -1;
	if (got != 0)
		return seg_reader_fail(r, err_r, xstrdup("segment: more records than npages"));
	if (r->ib.pos < r->ib.size || r->body_read < r->body_len)
		return seg_reader_fail(r, err_r, xstrdup("segment: data after the zstd frame"));
	r->finished = true;
	return 0;
}

int
seg_reader_next(struct seg_reader *r, uint32_t *pgno_r, const uint8_t **page_r, char **err_r)
{
	size_t got = 0;
	uint32_t pgno;

	if (r->failed != NULL) {
		*err_r = xstrdup(r->failed);
		return -1;
	}
	if (r->finished)
		return 0;
	if (r->produced == r->hdr.npages)
		return seg_reader_finish(r, err_r);
	if (seg_reader_inflate(r, r->rec, r->rec_size, &got, err_r) != 0)
		return -1;
	if (got < r->rec_size)
		return seg_reader_fail(r, err_r,
		    xasprintf("segment: %u page records, %u announced", r->produced, r->hdr.npages));
	pgno = seg_get32(r->rec);
	if (pgno == 0 || pgno <= r->last_pgno || pgno > r->hdr.db_pages)
		return seg_reader_fail(r, err_r,
		    xasprintf("segment: page %u out of order or range (after %u, %u pages)", pgno,
			r->last_pgno, r->hdr.db_pages));
	r->last_pgno = pgno;
	r->produced++;
	*pgno_r = pgno;
	*page_r = r->rec + 4;
	return 1;
}

void
seg_reader_close(struct seg_reader **rp)
{
	struct seg_reader *r = *rp;

	if (r == NULL)
		return;
	ZSTD_freeDCtx(r->dctx);
	free(r->in);
	free(r->rec);
	free(r->failed);
	free(r);
	*rp = NULL;
}
