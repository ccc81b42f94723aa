/* wal: reads the committed frames of a SQLite WAL file, validating every
 * frame (https://www.sqlite.org/fileformat2.html#walformat).
 *
 * File:  32-byte header: magic 0x377f0682 (checksums over little-endian
 *        32-bit words) or 0x377f0683 (big-endian), version 3007000, page size,
 *        checkpoint sequence, salt-1, salt-2, checksum-1, checksum-2 (of the
 *        first 24 bytes); all fields big-endian.
 * Frame: 24-byte header: page number, database size in pages after the commit
 *        (commit frames only, else 0), salt-1, salt-2, cumulative checksum-1,
 *        checksum-2 (over the frame header's first 8 bytes and the page,
 *        seeded with the previous frame's checksum, the header's for the
 *        first), then the page.
 * A frame is valid when its salts equal the header's and its checksum
 * continues the chain; the log ends at the first invalid or short frame, and
 * only frames up to the last valid commit frame are committed.
 *
 * Pure reading: nothing here writes the WAL or holds a lock.  Untrusted
 * input (the fuzz target feeds arbitrary files): every length is checked. */
#ifndef KUBARR_STORAGED_WAL_H
#define KUBARR_STORAGED_WAL_H

#include <stdbool.h>
#include <stdint.h>

#define WAL_HDR_SIZE 32u
#define WAL_FRAME_HDR_SIZE 24u

struct wal_hdr {
	uint32_t magic, version, page_size, ckpt_seq;
	uint32_t salt1, salt2, cksum1, cksum2;
};

/* Where a reader stands: the frames before offset were validated. */
struct wal_pos {
	uint32_t salt1, salt2;   /* the header's: the generation of the log */
	uint32_t page_size;
	bool big_endian;         /* checksum word order (magic 0x377f0683) */
	uint64_t offset;         /* file offset of the next frame (32 = the first) */
	uint32_t cksum1, cksum2; /* checksum of the last validated frame (the header's at 32) */
	uint32_t db_pages;       /* database size after the last commit read (0: none yet) */
};

/* Parses and validates a 32-byte header: magic, version, page size (a power of
 * two, 512..65536; SQLite writes 65536 as is, the value 1 is accepted for it
 * too), header checksum.  h->page_size is the size in bytes.  0, or -1 with a
 * message in *err_r (caller frees). */
int wal_hdr_parse(const uint8_t buf[WAL_HDR_SIZE], struct wal_hdr *h, char **err_r);
/* Reads and parses the header of fd.  1 when the file is shorter than a
 * header (empty WAL: nothing committed), 0 parsed, -1 error (*err_r). */
int wal_hdr_read(int fd, struct wal_hdr *h, char **err_r);
/* The position before the first frame of the log whose header is h. */
void wal_pos_init(struct wal_pos *pos, const struct wal_hdr *h);

/* Called for every frame of every complete transaction, in log order: the
 * page number (never 0), the commit frame's database size (0 on other
 * frames), the page (pos->page_size bytes, valid during the call) and the
 * page's file offset in the WAL.  0 goes on; -1 (with *err_r set) stops the
 * scan.  A page number can repeat (a page changed again later): the last
 * image wins. */
typedef int (*wal_frame_fn)(void *arg, uint32_t pgno, uint32_t commit_db_pages,
    const uint8_t *page, uint64_t page_offset, char **err_r);

/* Reads frames of fd from *pos, validating each, up to the end of the file,
 * the first invalid frame, or max_frames frames (0: no limit); then calls fn
 * for the frames up to and including the last valid commit frame (never for
 * a trailing incomplete transaction) and advances *pos past that commit frame
 * (offset, checksums, db_pages).  Returns the number of transactions (commit
 * frames) consumed, 0 when there is none, or -1 on an I/O error, an
 * allocation failure or fn's -1, with *err_r set and *pos unchanged.  Reads
 * each frame at most twice (validation, then fn; the second from the page
 * cache). */
/* Notes: max_frames counts validated frames, so a limit smaller than the next
 * transaction returns 0 without progress (use 0, or a limit above the largest
 * transaction).  The second pass checks every frame again, so a file that
 * changed between the passes is an error, never a wrong page.  On -1, fn may
 * already have seen some of the frames: discard what it built.  fn may be
 * NULL (validate and advance only).  The shipper must stop SQLite from
 * checkpointing/restarting the log while it scans (BACKUP.md: checkpoints
 * belong to the shipper). */
int wal_scan(int fd, struct wal_pos *pos, uint64_t max_frames, wal_frame_fn fn, void *arg,
    char **err_r);

/* SQLite's WAL checksum over n bytes (n a multiple of 8), continuing s[2]. */
void wal_checksum(bool big_endian, const uint8_t *p, uint32_t n, uint32_t s[2]);

#endif
