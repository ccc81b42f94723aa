/* segment: the backup's object format, one codec for segments and snapshots.
 *
 * A segment holds the latest image of every page changed by one or more
 * commits; a snapshot holds every page of the database (pages 1..db_pages).
 * Both are one file:
 *
 *   header   SEG_HDR_SIZE bytes, little-endian (struct seg_hdr), ending in a
 *            CRC-32 of its own first SEG_HDR_SIZE-4 bytes
 *   body     a zstd frame; decompressed, npages records of
 *            u32 pgno (little-endian) + page_size bytes, pgno strictly
 *            increasing, none 0
 *   trailer  u64 compressed body length, u32 CRC-32 of the compressed body,
 *            the 8 bytes "KBSEGEND"
 *
 * The writer streams (a snapshot of a 100 MB database never sits in memory):
 * header placeholder, pages compressed as they come, trailer, then the final
 * header written at offset 0.  The reader checks the header, then the trailer
 * and the body's CRC in one pass, before it yields a single page; then it
 * decompresses page by page and checks that the body holds exactly npages
 * records.  Every object is untrusted input (the fuzz target feeds arbitrary
 * bytes).
 *
 * db_checksum: a checksum of a whole database image that follows page
 * changes cheaply: the sum (mod 2^64) over pages 1..db_pages of
 * SipHash-2-4(fixed key, u32le pgno || page).  struct imghash keeps each
 * page's hash so a segment updates it in O(pages changed). */
#ifndef KUBARR_STORAGED_SEGMENT_H
#define KUBARR_STORAGED_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEG_HDR_SIZE 96u
#define SEG_TRAILER_SIZE 20u
#define SEG_MAX_PAGE_SIZE 65536u
#define SEG_MAX_PAGES (1u << 26) /* 4 TiB of 64 KiB pages */

enum seg_kind { SEG_KIND_SEGMENT = 1, SEG_KIND_SNAPSHOT = 2 };

struct seg_hdr {
	/* "KBSEG\0\0\1" on disk (version 1) */
	uint32_t kind;          /* enum seg_kind */
	uint32_t timeline;
	uint64_t seq;           /* a snapshot: the state after segment seq */
	uint64_t prev_seq;      /* a segment: the seq it follows (seq - 1); a snapshot: = seq */
	uint32_t page_size;     /* 512..65536, a power of two */
	uint32_t db_pages;      /* database size in pages after this object */
	uint32_t npages;        /* page records in the body */
	uint32_t ncommits;      /* transactions folded into a segment (1 for a snapshot) */
	int64_t first_ms;       /* wall time of the first commit shipped in it (ms since epoch) */
	int64_t time_ms;        /* wall time of its last commit; a snapshot: when taken */
	uint64_t db_checksum;   /* db_checksum of the image after applying it */
};

/* ---- writing ------------------------------------------------------------ */

struct seg_writer;
/* Starts an object on fd (a regular file opened for writing; written with
 * pwrite from offset 0, and truncated to what gets written).  hdr must pass
 * the checks of seg_hdr_decode; hdr->npages is checked at the end against the
 * pages added.  zstd_level is clamped to ..19 (whose window, at most 8 MiB,
 * is what readers accept); 0 is zstd's default.  0 or -1 (*err_r, caller
 * frees). */
int seg_writer_open(struct seg_writer **w_r, int fd, const struct seg_hdr *hdr, int zstd_level,
    char **err_r);
/* Adds a page; pgno strictly increasing, 1..hdr->db_pages (a segment whose
 * commits shrank the database must leave out the pages past its end), at
 * most hdr->npages of them.  0 or -1 (*err_r). */
int seg_writer_page(struct seg_writer *w, uint32_t pgno, const uint8_t *page, char **err_r);
/* Writes the trailer and the final header; does not fsync or close fd.
 * Returns 0 and the object's size in *bytes_r, or -1 (*err_r).  Frees w
 * either way. */
int seg_writer_close(struct seg_writer **w, uint64_t *bytes_r, char **err_r);
/* Frees a writer after an error without finishing the object. */
void seg_writer_abort(struct seg_writer **w);

/* ---- reading ------------------------------------------------------------ */

/* Parses and validates the SEG_HDR_SIZE-byte header alone (magic, version,
 * CRC, zero padding, kind, page size, npages <= db_pages <= SEG_MAX_PAGES, a
 * segment's prev_seq < seq and ncommits >= 1, a snapshot's npages ==
 * db_pages, prev_seq == seq and ncommits == 1).  len is the bytes available
 * (at least SEG_HDR_SIZE).  0 or -1 (*err_r). */
int seg_hdr_decode(const uint8_t *buf, size_t len, struct seg_hdr *h, char **err_r);

struct seg_reader;
/* Opens an object in fd (positioned anywhere; read with pread) of size
 * bytes: checks the header, the trailer and the CRC of the body.  0 or -1
 * (*err_r names what is wrong: "truncated", "bad CRC", ...). */
int seg_reader_open(struct seg_reader **r_r, int fd, uint64_t size, char **err_r);
/* Same over a buffer (the fuzz target; tests); buf must outlive the reader. */
int seg_reader_open_mem(struct seg_reader **r_r, const uint8_t *buf, size_t len, char **err_r);
const struct seg_hdr *seg_reader_hdr(const struct seg_reader *r);
/* The next page: 1 with *pgno_r and *page_r (page_size bytes, valid until
 * the next call), 0 after the last page (and the body held exactly npages
 * records and nothing after), -1 on a corrupt body (*err_r): a page number 0,
 * not increasing or past db_pages, too few or too many records, bytes after
 * the zstd frame.  After -1 every call fails again.  Pages come before the
 * end of the body is checked: apply them to a scratch copy and keep it only
 * after the 0. */
int seg_reader_next(struct seg_reader *r, uint32_t *pgno_r, const uint8_t **page_r, char **err_r);
void seg_reader_close(struct seg_reader **r);

/* ---- database image checksum ------------------------------------------- */

struct imghash {
	uint64_t *h;        /* h[pgno - 1]: the page's hash */
	uint32_t n, cap;    /* pages in the image */
	uint32_t page_size;
	uint64_t sum;       /* the image's db_checksum */
};

/* The key of SipHash is the 16 ASCII bytes "kubarr-imghash-1" (imghash.c);
 * the hash of a page is the 8-byte output read little-endian. */
void imghash_init(struct imghash *ih, uint32_t page_size);
void imghash_free(struct imghash *ih);
/* Sets page pgno (>= 1).  When pgno is past the end the image grows, and
 * the pages between count as all-zero pages (what a file extended by
 * ftruncate reads).  0, or -1 on ENOMEM (or EINVAL: pgno 0 or past
 * SEG_MAX_PAGES, a page size that is not one). */
int imghash_set(struct imghash *ih, uint32_t pgno, const uint8_t *page);
/* Sets the image size to db_pages (drops pages beyond; grows with zero pages,
 * each hashed: growing by k pages costs k page hashes).  0 or -1 (errno). */
int imghash_resize(struct imghash *ih, uint32_t db_pages);
/* The hash of one page as it counts in the sum. */
uint64_t imghash_page(uint32_t pgno, const uint8_t *page, uint32_t page_size);
/* db_checksum of a database file (page_size from its header, pages =
 * size / page_size), filling ih: ih must have been initialised (imghash_init)
 * and its old content is replaced, page_size included.  0 or -1 (*err_r). */
int imghash_file(struct imghash *ih, int fd, char **err_r);

#endif
