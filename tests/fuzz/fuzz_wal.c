/* Fuzz target for storaged/wal: the header parser and the committed-frame
 * scan over a file holding the input (a memfd), checking what the shipper
 * relies on: frames handed over only up to a commit frame, the callback
 * count and the position consistent with the return value, the position on
 * a frame boundary within the file, a second scan from there finding
 * nothing.  Each input runs twice: as it is, and with its header and frame
 * checksums repaired (frames whose salt byte is even get the header's salts),
 * so mutations reach the commit logic instead of stopping at a checksum. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "wal.h"

struct fuzz_wal_state {
	uint64_t size, frame_size, next_off;
	uint32_t page_size;
	unsigned long frames, commits, stop_at;
};

static void
fuzz_wal_check(bool ok)
{
	if (!ok)
		abort();
}

static int
fuzz_wal_frame(void *arg, uint32_t pgno, uint32_t commit, const uint8_t *page, uint64_t off,
    char **err_r)
{
	struct fuzz_wal_state *st = arg;
	volatile uint8_t sink = 0;

	fuzz_wal_check(pgno != 0);
	fuzz_wal_check(off == st->next_off && off + st->page_size <= st->size);
	for (uint32_t i = 0; i < st->page_size; i += 512)
		sink ^= page[i];
	sink ^= page[st->page_size - 1];
	(void)sink;
	st->next_off += st->frame_size;
	st->frames++;
	if (commit != 0)
		st->commits++;
	if (st->stop_at != 0 && st->frames == st->stop_at) {
		*err_r = strdup("fuzz stop");
		return -1;
	}
	return 0;
}

static void
fuzz_wal_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
fuzz_wal_run(const uint8_t *data, size_t size, unsigned long stop_at)
{
	struct fuzz_wal_state st = {0};
	struct wal_hdr h;
	struct wal_pos pos, before;
	char *err = NULL;
	int fd = memfd_create("fuzz_wal", MFD_CLOEXEC), n, rc;

	fuzz_wal_check(fd >= 0);
	fuzz_wal_check(size == 0 || write(fd, data, size) == (ssize_t)size);
	rc = wal_hdr_read(fd, &h, &err);
	if (rc != 0) {
		fuzz_wal_check(rc == (size < WAL_HDR_SIZE ? 1 : -1));
		fuzz_wal_check((rc == -1) == (err != NULL));
		free(err);
		close(fd);
		return;
	}
	fuzz_wal_check(h.page_size >= 512 && h.page_size <= 65536);
	wal_pos_init(&pos, &h);
	before = pos;
	st.size = size;
	st.page_size = pos.page_size;
	st.frame_size = WAL_FRAME_HDR_SIZE + (uint64_t)pos.page_size;
	st.next_off = WAL_HDR_SIZE + WAL_FRAME_HDR_SIZE;
	st.stop_at = stop_at;
	n = wal_scan(fd, &pos, 0, fuzz_wal_frame, &st, &err);
	if (n < 0) {
		fuzz_wal_check(err != NULL && stop_at != 0 && st.frames == stop_at);
		fuzz_wal_check(memcmp(&pos, &before, sizeof(pos)) == 0);
		free(err);
		close(fd);
		return;
	}
	fuzz_wal_check(err == NULL);
	fuzz_wal_check((unsigned long)n == st.commits);
	fuzz_wal_check(pos.offset == WAL_HDR_SIZE + st.frames * st.frame_size);
	fuzz_wal_check(pos.offset <= size);
	fuzz_wal_check((n == 0) == (memcmp(&pos, &before, sizeof(pos)) == 0));
	/* everything committed was consumed: nothing more from there */
	before = pos;
	fuzz_wal_check(wal_scan(fd, &pos, 0, NULL, NULL, &err) == 0);
	fuzz_wal_check(memcmp(&pos, &before, sizeof(pos)) == 0);
	/* in steps of at most two frames: never more than the whole scan */
	wal_pos_init(&pos, &h);
	{
		unsigned long total = 0;

		while ((rc = wal_scan(fd, &pos, 2, NULL, NULL, &err)) > 0)
			total += (unsigned long)rc;
		fuzz_wal_check(rc == 0 && total <= st.commits);
	}
	close(fd);
}

/* The input with its checksums made valid. */
static uint8_t *
fuzz_wal_repair(const uint8_t *data, size_t size)
{
	uint8_t *w = malloc(size);
	uint32_t s[2] = {0, 0}, ps;
	bool be;
	struct wal_hdr h;
	char *err = NULL;

	if (w == NULL)
		abort();
	memcpy(w, data, size);
	be = w[3] & 1;
	fuzz_wal_put32(w, be ? 0x377f0683u : 0x377f0682u);
	fuzz_wal_put32(w + 4, 3007000);
	ps = 512u << (w[10] % 8);
	fuzz_wal_put32(w + 8, ps);
	wal_checksum(be, w, 24, s);
	fuzz_wal_put32(w + 24, s[0]);
	fuzz_wal_put32(w + 28, s[1]);
	fuzz_wal_check(wal_hdr_parse(w, &h, &err) == 0 && h.page_size == ps);
	for (size_t off = WAL_HDR_SIZE; off + WAL_FRAME_HDR_SIZE + ps <= size;
	     off += WAL_FRAME_HDR_SIZE + ps) {
		uint8_t *f = w + off;

		if (f[8] & 1)
			continue; /* left alone: most likely the end of the log */
		memcpy(f + 8, w + 16, 8);
		wal_checksum(be, f, 8, s);
		wal_checksum(be, f + WAL_FRAME_HDR_SIZE, ps, s);
		fuzz_wal_put32(f + 16, s[0]);
		fuzz_wal_put32(f + 20, s[1]);
	}
	return w;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_wal_run(data, size, 0);
	if (size >= WAL_HDR_SIZE) {
		uint8_t *w = fuzz_wal_repair(data, size);

		fuzz_wal_run(w, size, 0);
		/* the callback's error path, on the third frame */
		fuzz_wal_run(w, size, 3);
		free(w);
	}
	return 0;
}
