/* wal: reads the committed frames of a SQLite WAL file (see wal.h).
 *
 * wal_scan makes two passes over the frames after pos: the first validates
 * the chain (salts, checksums) and finds the last commit frame; the second
 * reads the same frames again (from the page cache), checks them once more
 * against the chain (so a file that changed between the passes is an error,
 * never a wrong page) and hands them to the callback.  One buffer of one
 * frame is the only allocation. */
#include "fileio.h"
#include "wal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

#define WAL_MAGIC_LE 0x377f0682u
#define WAL_MAGIC_BE 0x377f0683u
#define WAL_VERSION 3007000u

static uint32_t
wal_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
wal_get32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void
wal_checksum(bool big_endian, const uint8_t *p, uint32_t n, uint32_t s[2])
{
	uint32_t s0 = s[0], s1 = s[1];

	/* n is a multiple of 8: WAL headers (24), frame headers (8), pages */
	if (big_endian) {
		for (uint32_t i = 0; i + 8 <= n; i += 8) {
			s0 += wal_get32(p + i) + s1;
			s1 += wal_get32(p + i + 4) + s0;
		}
	} else {
		for (uint32_t i = 0; i + 8 <= n; i += 8) {
			s0 += wal_get32le(p + i) + s1;
			s1 += wal_get32le(p + i + 4) + s0;
		}
	}
	s[0] = s0;
	s[1] = s1;
}

int
wal_hdr_parse(const uint8_t buf[WAL_HDR_SIZE], struct wal_hdr *h, char **err_r)
{
	uint32_t s[2] = {0, 0};
	struct wal_hdr t;

	t.magic = wal_get32(buf);
	t.version = wal_get32(buf + 4);
	t.page_size = wal_get32(buf + 8);
	t.ckpt_seq = wal_get32(buf + 12);
	t.salt1 = wal_get32(buf + 16);
	t.salt2 = wal_get32(buf + 20);
	t.cksum1 = wal_get32(buf + 24);
	t.cksum2 = wal_get32(buf + 28);
	if (t.magic != WAL_MAGIC_LE && t.magic != WAL_MAGIC_BE) {
		*err_r = xasprintf("WAL header: bad magic 0x%08x", t.magic);
		return -1;
	}
	if (t.version != WAL_VERSION) {
		*err_r = xasprintf("WAL header: unsupported version %u", t.version);
		return -1;
	}
	if (t.page_size == 1)
		t.page_size = 65536;
	if (t.page_size < 512 || t.page_size > 65536 || (t.page_size & (t.page_size - 1)) != 0) {
		*err_r = xasprintf("WAL header: bad page size %u", t.page_size);
		return -1;
	}
	wal_checksum(t.magic == WAL_MAGIC_BE, buf, 24, s);
	if (s[0] != t.cksum1 || s[1] != t.cksum2) {
		*err_r = xstrdup("WAL header: bad checksum");
		return -1;
	}
	*h = t;
	return 0;
}

int
wal_hdr_read(int fd, struct wal_hdr *h, char **err_r)
{
	uint8_t buf[WAL_HDR_SIZE];
	ssize_t n = fileio_pread_full(fd, buf, sizeof(buf), 0);

	if (n < 0) {
		*err_r = xasprintf("WAL header: read: %s", strerror(errno));
		return -1;
	}
	if ((size_t)n < sizeof(buf))
		return 1;
	return wal_hdr_parse(buf, h, err_r);
}

void
wal_pos_init(struct wal_pos *pos, const struct wal_hdr *h)
{
	memset(pos, 0, sizeof(*pos));
	pos->salt1 = h->salt1;
	pos->salt2 = h->salt2;
	pos->page_size = h->page_size;
	pos->big_endian = h->magic == WAL_MAGIC_BE;
	pos->offset = WAL_HDR_SIZE;
	pos->cksum1 = h->cksum1;
	pos->cksum2 = h->cksum2;
	pos->db_pages = 0;
}

/* Checks one frame (header + page in f) against the chain in s[2], which it
 * advances.  true when the frame is valid. */
static bool
wal_frame_valid(const struct wal_pos *pos, const uint8_t *f, uint32_t s[2])
{
	uint32_t c[2] = {s[0], s[1]};

	if (wal_get32(f) == 0)
		return false;
	if (wal_get32(f + 8) != pos->salt1 || wal_get32(f + 12) != pos->salt2)
		return false;
	wal_checksum(pos->big_endian, f, 8, c);
	wal_checksum(pos->big_endian, f + WAL_FRAME_HDR_SIZE, pos->page_size, c);
	if (c[0] != wal_get32(f + 16) || c[1] != wal_get32(f + 20))
		return false;
	s[0] = c[0];
	s[1] = c[1];
	return true;
}

int
wal_scan(int fd, struct wal_pos *pos, uint64_t max_frames, wal_frame_fn fn, void *arg,
    char **err_r)
{
	uint64_t frame_size, off, end = pos->offset, nframes = 0;
	uint32_t s[2] = {pos->cksum1, pos->cksum2}, end_s[2] = {pos->cksum1, pos->cksum2};
	uint32_t end_pages = pos->db_pages;
	int commits = 0, ret = -1;
	uint8_t *f;

	if (pos->page_size < 512 || pos->page_size > 65536 ||
	    (pos->page_size & (pos->page_size - 1)) != 0 || pos->offset < WAL_HDR_SIZE) {
		*err_r = xstrdup("WAL scan: invalid position");
		return -1;
	}
	frame_size = WAL_FRAME_HDR_SIZE + (uint64_t)pos->page_size;
	if ((f = malloc(frame_size)) == NULL) {
		*err_r = xstrdup("WAL scan: out of memory");
		return -1;
	}

	/* pass 1: validate, find the last commit frame */
	for (off = pos->offset; max_frames == 0 || nframes < max_frames; off += frame_size) {
		ssize_t n = fileio_pread_full(fd, f, frame_size, off);

		if (n < 0) {
			*err_r = xasprintf("WAL scan: read at %llu: %s", (unsigned long long)off,
			    strerror(errno));
			goto out;
		}
		if ((uint64_t)n < frame_size || !wal_frame_valid(pos, f, s))
			break;
		nframes++;
		if (wal_get32(f + 4) != 0) {
			end = off + frame_size;
			end_s[0] = s[0];
			end_s[1] = s[1];
			end_pages = wal_get32(f + 4);
			if (++commits == INT_MAX)
				break;
		}
	}

	/* pass 2: the committed frames again, to the callback */
	s[0] = pos->cksum1;
	s[1] = pos->cksum2;
	for (off = pos->offset; off < end; off += frame_size) {
		ssize_t n = fileio_pread_full(fd, f, frame_size, off);

		if (n < 0) {
			*err_r = xasprintf("WAL scan: read at %llu: %s", (unsigned long long)off,
			    strerror(errno));
			goto out;
		}
		if ((uint64_t)n < frame_size || !wal_frame_valid(pos, f, s)) {
			*err_r = xasprintf("WAL scan: frame at %llu changed while it was read",
			    (unsigned long long)off);
			goto out;
		}
		*err_r = NULL;
		if (fn != NULL && fn(arg, wal_get32(f), wal_get32(f + 4), f + WAL_FRAME_HDR_SIZE,
			off + WAL_FRAME_HDR_SIZE, err_r) != 0) {
			if (*err_r == NULL)
				*err_r = xstrdup("WAL scan: stopped by the callback");
			goto out;
		}
	}
	pos->offset = end;
	pos->cksum1 = end_s[0];
	pos->cksum2 = end_s[1];
	pos->db_pages = end_pages;
	ret = commits;
out:
	free(f);
	return ret;
}
