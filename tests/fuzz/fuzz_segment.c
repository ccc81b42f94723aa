/* Fuzz target for storaged/segment: the header decoder, and the reader over
 * the whole input (seg_reader_open_mem, then every page), checking what a
 * restore relies on: pages strictly increasing, none 0 or past db_pages, no
 * more than npages of them, exactly npages when the reader reports the end,
 * and a failed reader staying failed.  Each input runs twice: as it is, and
 * with the header CRC, the trailer's length and magic and the body CRC
 * repaired, so mutations reach the zstd body and the record checks. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "segment.h"

static void
fuzz_segment_check(bool ok)
{
	if (!ok)
		abort();
}

static void
fuzz_segment_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
fuzz_segment_run(const uint8_t *data, size_t size)
{
	struct seg_reader *r = NULL;
	struct seg_hdr h, h2;
	const uint8_t *page;
	uint32_t pgno, last = 0, n = 0;
	char *err = NULL;
	int rc;

	rc = seg_hdr_decode(data, size, &h, &err);
	fuzz_segment_check((rc == 0) == (err == NULL));
	free(err);
	err = NULL;
	if (rc == 0) {
		fuzz_segment_check(h.page_size >= 512 && h.page_size <= SEG_MAX_PAGE_SIZE &&
		    (h.page_size & (h.page_size - 1)) == 0);
		fuzz_segment_check(h.npages <= SEG_MAX_PAGES);
	}

	if (seg_reader_open_mem(&r, data, size, &err) != 0) {
		fuzz_segment_check(r == NULL && err != NULL);
		free(err);
		return;
	}
	fuzz_segment_check(rc == 0 && err == NULL);
	h2 = *seg_reader_hdr(r);
	fuzz_segment_check(memcmp(&h, &h2, sizeof(h)) == 0);
	while ((rc = seg_reader_next(r, &pgno, &page, &err)) == 1) {
		volatile uint8_t sink = page[0] ^ page[h.page_size - 1];

		(void)sink;
		fuzz_segment_check(pgno > last && pgno <= h.db_pages);
		last = pgno;
		fuzz_segment_check(++n <= h.npages);
	}
	if (rc == 0) {
		fuzz_segment_check(n == h.npages && err == NULL);
		fuzz_segment_check(seg_reader_next(r, &pgno, &page, &err) == 0);
	} else {
		fuzz_segment_check(rc == -1 && err != NULL);
		free(err);
		err = NULL;
		fuzz_segment_check(seg_reader_next(r, &pgno, &page, &err) == -1 && err != NULL);
		free(err);
	}
	seg_reader_close(&r);
	fuzz_segment_check(r == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_segment_run(data, size);
	if (size >= SEG_HDR_SIZE + SEG_TRAILER_SIZE) {
		uint8_t *b = malloc(size);
		size_t body = size - SEG_HDR_SIZE - SEG_TRAILER_SIZE;
		uint8_t *tr = b + size - SEG_TRAILER_SIZE;

		if (b == NULL)
			abort();
		memcpy(b, data, size);
		memcpy(b, "KBSEG\0\0\1", 8);
		fuzz_segment_le32(b + SEG_HDR_SIZE - 4, (uint32_t)crc32(0, b, SEG_HDR_SIZE - 4));
		fuzz_segment_le32(tr, (uint32_t)body);
		fuzz_segment_le32(tr + 4, (uint32_t)((uint64_t)body >> 32));
		fuzz_segment_le32(tr + 8, (uint32_t)crc32(0, b + SEG_HDR_SIZE, (uInt)body));
		memcpy(tr + 12, "KBSEGEND", 8);
		fuzz_segment_run(b, size);
		free(b);
	}
	return 0;
}
