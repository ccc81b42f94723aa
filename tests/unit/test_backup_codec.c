/* Unit tests for the backup codecs: storaged/wal.c against WAL files written
 * by the real SQLite (frames applied over the database file must give what a
 * checkpoint gives), torn tails, flipped bytes, wrong salts, a synthetic
 * big-endian log checksummed by an independent implementation here; and
 * storaged/segment.c: round trips, every corruption a reader must refuse
 * (objects assembled by hand below, since the writer refuses to make them),
 * and the image checksum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "segment.h"
#include "wal.h"
#include "xmalloc.h"

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t test_rng = 0x2545f4914f6cdd1dULL;

static uint32_t
test_rand(void)
{
	test_rng ^= test_rng >> 12;
	test_rng ^= test_rng << 25;
	test_rng ^= test_rng >> 27;
	return (uint32_t)((test_rng * 2685821657736338717ULL) >> 32);
}

static void
test_fill(uint8_t *p, size_t n, bool compressible)
{
	for (size_t i = 0; i < n; i++)
		p[i] = compressible ? (uint8_t)(i / 7 + (test_rand() % 4 == 0)) : (uint8_t)test_rand();
}

static char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *d = xasprintf("%s/kubarr-codec-XXXXXX", base && *base ? base : "/tmp");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
test_rmdir(char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

static uint8_t *
test_read_file(const char *path, size_t *len_r)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* A memfd holding buf[0..len). */
static int
test_memfd(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	return fd;
}

static void
test_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void
test_put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
test_get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- WAL: a real database ---------------------------------------------------- */

#define TEST_WAL_MAX_FRAMES 4096

/* What a scan saw: every frame, and an image with the frames applied. */
struct test_apply {
	uint8_t *img; /* page_size * cap */
	uint32_t page_size, npages, cap;
	uint32_t nframes, ncommits;
	uint32_t frame_txn[TEST_WAL_MAX_FRAMES]; /* frame i belongs to transaction frame_txn[i] */
	uint64_t frame_off[TEST_WAL_MAX_FRAMES]; /* page offsets */
	int fail_at;                             /* fn fails on this frame (1-based), 0 never */
};

static int
test_apply_frame(void *arg, uint32_t pgno, uint32_t commit, const uint8_t *page, uint64_t off,
    char **err_r)
{
	struct test_apply *a = arg;

	if (a->fail_at != 0 && (int)a->nframes + 1 == a->fail_at) {
		*err_r = xstrdup("test stop");
		return -1;
	}
	assert_true(pgno >= 1);
	assert_true(a->nframes < TEST_WAL_MAX_FRAMES);
	assert_int_equal((off - WAL_HDR_SIZE) % (WAL_FRAME_HDR_SIZE + a->page_size),
	    WAL_FRAME_HDR_SIZE);
	a->frame_off[a->nframes] = off;
	a->frame_txn[a->nframes++] = a->ncommits;
	if (pgno > a->cap) {
		uint32_t cap = pgno * 2;

		a->img = xrealloc(a->img, (size_t)cap * a->page_size);
		memset(a->img + (size_t)a->cap * a->page_size, 0,
		    (size_t)(cap - a->cap) * a->page_size);
		a->cap = cap;
	}
	memcpy(a->img + (size_t)(pgno - 1) * a->page_size, page, a->page_size);
	if (pgno > a->npages)
		a->npages = pgno;
	if (commit != 0) {
		a->ncommits++;
		a->npages = commit;
	}
	return 0;
}

static void
test_apply_init(struct test_apply *a, const uint8_t *db, size_t len, uint32_t page_size)
{
	memset(a, 0, sizeof(*a));
	a->page_size = page_size;
	a->npages = (uint32_t)(len / page_size);
	a->cap = a->npages + 1;
	a->img = xcalloc(a->cap, page_size);
	memcpy(a->img, db, (size_t)a->npages * page_size);
}

struct test_db {
	char *dir, *path, *wal;
	sqlite3 *db;
	int rows; /* rows inserted so far */
};

static void
test_db_open(struct test_db *t, int page_size)
{
	char *sql;

	t->dir = test_tmpdir();
	t->path = xasprintf("%s/t.db", t->dir);
	t->wal = xasprintf("%s/t.db-wal", t->dir);
	t->rows = 0;
	assert_int_equal(sqlite3_open(t->path, &t->db), SQLITE_OK);
	sql = xasprintf("PRAGMA page_size=%d", page_size);
	test_exec(t->db, sql);
	free(sql);
	test_exec(t->db, "PRAGMA journal_mode=WAL");
	test_exec(t->db, "PRAGMA wal_autocheckpoint=0");
	test_exec(t->db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
}

/* One transaction of n rows (blobs of a few hundred bytes: several pages). */
static void
test_db_txn(struct test_db *t, int n)
{
	test_exec(t->db, "BEGIN");
	for (int i = 0; i < n; i++) {
		char *sql = xasprintf("INSERT INTO t (id, v) VALUES (%d, randomblob(300 + %d))",
		    ++t->rows, i % 500);

		test_exec(t->db, sql);
		free(sql);
	}
	test_exec(t->db, "COMMIT");
}

static void
test_db_close(struct test_db *t)
{
	sqlite3_close(t->db);
	test_rmdir(t->dir);
	free(t->path);
	free(t->wal);
}

/* Full scan of the WAL of t from its start, applied over the database file. */
static int
test_db_scan(struct test_db *t, struct test_apply *a, struct wal_pos *pos)
{
	struct wal_hdr h;
	char *err = NULL;
	uint8_t *db;
	size_t len;
	int fd = open(t->wal, O_RDONLY), n;

	assert_true(fd >= 0);
	assert_int_equal(wal_hdr_read(fd, &h, &err), 0);
	assert_int_equal(h.magic, 0x377f0682u); /* this machine is little-endian */
	wal_pos_init(pos, &h);
	db = test_read_file(t->path, &len);
	test_apply_init(a, db, len, h.page_size);
	free(db);
	n = wal_scan(fd, pos, 0, test_apply_frame, a, &err);
	assert_null(err);
	close(fd);
	return n;
}

static void
test_wal_real(void **state)
{
	struct test_db t;
	struct test_apply a;
	struct wal_pos pos, pos2;
	struct imghash ih, ih2;
	struct stat st;
	sqlite3_stmt *st_count;
	char *err = NULL;
	uint8_t *ck;
	size_t cklen;
	int n, fd;

	(void)state;
	test_db_open(&t, 4096);
	for (int i = 0; i < 5; i++)
		test_db_txn(&t, 3 + i * 10);
	n = test_db_scan(&t, &a, &pos);
	assert_int_equal(n, 6); /* CREATE TABLE + 5 */
	assert_int_equal(a.ncommits, 6);
	assert_int_equal(pos.db_pages, a.npages);
	assert_int_equal(stat(t.wal, &st), 0);
	assert_int_equal(pos.offset, (uint64_t)st.st_size); /* all of it committed */

	/* more transactions: a scan from pos sees only them */
	test_db_txn(&t, 50);
	test_db_txn(&t, 1);
	fd = open(t.wal, O_RDONLY);
	assert_true(fd >= 0);
	pos2 = pos;
	a.ncommits = 0;
	n = wal_scan(fd, &pos2, 0, test_apply_frame, &a, &err);
	assert_null(err);
	assert_int_equal(n, 2);
	assert_true(pos2.offset > pos.offset);
	/* nothing new: 0 and pos as it was */
	pos = pos2;
	assert_int_equal(wal_scan(fd, &pos2, 0, test_apply_frame, &a, &err), 0);
	assert_memory_equal(&pos, &pos2, sizeof(pos));
	close(fd);

	/* the frames applied over the database file = what a checkpoint writes */
	imghash_init(&ih2, a.page_size);
	for (uint32_t p = 1; p <= a.npages; p++)
		assert_int_equal(imghash_set(&ih2, p, a.img + (size_t)(p - 1) * a.page_size), 0);
	test_exec(t.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	ck = test_read_file(t.path, &cklen);
	assert_int_equal(cklen, (size_t)a.npages * a.page_size);
	assert_memory_equal(ck, a.img, cklen);
	free(ck);

	fd = open(t.path, O_RDONLY);
	imghash_init(&ih, 512);
	assert_int_equal(imghash_file(&ih, fd, &err), 0);
	assert_null(err);
	close(fd);
	assert_int_equal(ih.page_size, 4096);
	assert_int_equal(ih.n, a.npages);
	assert_true(ih.sum == ih2.sum);
	imghash_free(&ih);
	imghash_free(&ih2);

	/* and SQLite agrees on the content */
	assert_int_equal(sqlite3_prepare_v2(t.db, "SELECT count(*) FROM t", -1, &st_count, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st_count), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st_count, 0), t.rows);
	sqlite3_finalize(st_count);
	free(a.img);
	test_db_close(&t);
}

/* After a checkpoint the next writer restarts the log: a new header (salt-1
 * + 1, a new salt-2), frames written again from the start, stale frames of the
 * old generation behind them.  The old position finds nothing; the new
 * generation's transactions are read and the stale frames are not. */
static void
test_wal_restart(void **state)
{
	struct test_db t;
	struct test_apply a, b;
	struct wal_pos old, pos;
	struct wal_hdr h;
	struct stat st;
	char *err = NULL;
	uint8_t *ck;
	size_t cklen;
	int n, fd;

	(void)state;
	test_db_open(&t, 1024);
	for (int i = 0; i < 4; i++)
		test_db_txn(&t, 20);
	n = test_db_scan(&t, &a, &old);
	assert_int_equal(n, 5);
	free(a.img);
	test_exec(t.db, "PRAGMA wal_checkpoint(PASSIVE)");
	test_db_txn(&t, 1);

	fd = open(t.wal, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(wal_hdr_read(fd, &h, &err), 0);
	assert_int_equal(h.salt1, old.salt1 + 1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(old.offset <= (uint64_t)st.st_size); /* the old frames are still there */
	pos = old;
	assert_int_equal(wal_scan(fd, &pos, 0, NULL, NULL, &err), 0);
	assert_memory_equal(&pos, &old, sizeof(pos));
	close(fd);

	n = test_db_scan(&t, &b, &pos);
	assert_int_equal(n, 1);
	assert_int_equal(b.ncommits, 1);
	assert_true(pos.offset < (uint64_t)st.st_size); /* stale frames behind */
	test_exec(t.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	ck = test_read_file(t.path, &cklen);
	assert_int_equal(cklen, (size_t)b.npages * b.page_size);
	assert_memory_equal(ck, b.img, cklen);
	free(ck);
	free(b.img);
	test_db_close(&t);
}

/* Scans a modified copy of a WAL: the number of transactions and the end. */
static int
test_wal_scan_buf(const uint8_t *buf, size_t len, struct wal_pos *pos, uint64_t max_frames,
    struct test_apply *a)
{
	struct wal_hdr h;
	char *err = NULL;
	int fd = test_memfd(buf, len), n;

	assert_int_equal(wal_hdr_read(fd, &h, &err), 0);
	wal_pos_init(pos, &h);
	memset(a, 0, sizeof(*a));
	a->page_size = h.page_size;
	n = wal_scan(fd, pos, max_frames, test_apply_frame, a, &err);
	assert_null(err);
	free(a->img);
	a->img = NULL;
	close(fd);
	return n;
}

static void
test_wal_damage(void **state)
{
	struct test_db t;
	struct test_apply full, a;
	struct wal_pos pos, p;
	uint64_t fsz;
	uint32_t want;
	uint8_t *wal, *copy;
	size_t len;
	int n;

	(void)state;
	test_db_open(&t, 1024);
	for (int i = 0; i < 6; i++)
		test_db_txn(&t, 5 + i * 4);
	n = test_db_scan(&t, &full, &pos);
	assert_int_equal(n, 7);
	free(full.img);
	wal = test_read_file(t.wal, &len);
	copy = xmalloc(len);
	fsz = WAL_FRAME_HDR_SIZE + 1024;

	/* torn tail: cut inside each frame of the last transaction */
	for (uint32_t f = 0; f < full.nframes; f++) {
		uint64_t cut = full.frame_off[f] + 100;
		uint32_t txn = full.frame_txn[f];

		n = test_wal_scan_buf(wal, (size_t)cut, &p, 0, &a);
		assert_int_equal(n, (int)txn);
		/* the frames of complete transactions, all of them */
		want = 0;
		while (want < full.nframes && full.frame_txn[want] < txn)
			want++;
		assert_int_equal(a.nframes, want);
		/* stopping at a cut frame that is not a commit: pos at the previous commit end */
		assert_int_equal((p.offset - WAL_HDR_SIZE) % fsz, 0);
		assert_int_equal((p.offset - WAL_HDR_SIZE) / fsz, a.nframes);
	}

	/* a flipped byte in frame f (header or page): transactions before it only */
	for (uint32_t f = 0; f < full.nframes; f += 3) {
		uint64_t at[] = {full.frame_off[f] - WAL_FRAME_HDR_SIZE,     /* pgno */
		    full.frame_off[f] - WAL_FRAME_HDR_SIZE + 9,               /* salt-1 */
		    full.frame_off[f] - WAL_FRAME_HDR_SIZE + 17,              /* checksum */
		    full.frame_off[f] + 1023};                                /* page */
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			memcpy(copy, wal, len);
			copy[at[k]] ^= 0x40;
			n = test_wal_scan_buf(copy, len, &p, 0, &a);
			assert_int_equal(n, (int)full.frame_txn[f]);
		}
	}

	/* pgno 0 in a frame stops the log there */
	memcpy(copy, wal, len);
	memset(copy + full.frame_off[2] - WAL_FRAME_HDR_SIZE, 0, 4);
	assert_int_equal(test_wal_scan_buf(copy, len, &p, 0, &a), (int)full.frame_txn[2]);

	/* max_frames: only whole transactions within the limit */
	for (uint32_t m = 1; m <= full.nframes; m++) {
		n = test_wal_scan_buf(wal, len, &p, m, &a);
		assert_int_equal(n, m == full.nframes ? 7 : (int)full.frame_txn[m]);
	}

	/* wrong salts in the position: nothing, pos unchanged */
	{
		struct wal_hdr h;
		char *err = NULL;
		int fd = test_memfd(wal, len);
		struct wal_pos saved;

		assert_int_equal(wal_hdr_read(fd, &h, &err), 0);
		wal_pos_init(&p, &h);
		p.salt1++;
		saved = p;
		assert_int_equal(wal_scan(fd, &p, 0, NULL, NULL, &err), 0);
		assert_memory_equal(&p, &saved, sizeof(p));
		wal_pos_init(&p, &h);
		p.salt2 ^= 1;
		assert_int_equal(wal_scan(fd, &p, 0, NULL, NULL, &err), 0);
		/* a wrong checksum seed */
		wal_pos_init(&p, &h);
		p.cksum1++;
		assert_int_equal(wal_scan(fd, &p, 0, NULL, NULL, &err), 0);

		/* the callback's error: -1, its message, pos unchanged */
		wal_pos_init(&p, &h);
		saved = p;
		memset(&a, 0, sizeof(a));
		a.page_size = h.page_size;
		a.fail_at = 5;
		assert_int_equal(wal_scan(fd, &p, 0, test_apply_frame, &a, &err), -1);
		assert_string_equal(err, "test stop");
		free(err);
		err = NULL;
		free(a.img);
		assert_memory_equal(&p, &saved, sizeof(p));

		/* an unreadable fd */
		close(fd);
		assert_int_equal(wal_scan(fd, &p, 0, NULL, NULL, &err), -1);
		assert_non_null(err);
		free(err);
		assert_memory_equal(&p, &saved, sizeof(p));
	}
	free(copy);
	free(wal);
	test_db_close(&t);
}

/* ---- WAL: synthetic logs, both byte orders ------------------------------------ */

/* An independent checksum: the words read in the stated byte order. */
static void
test_cksum(bool be, const uint8_t *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i < n; i += 8) {
		uint32_t x, y;

		if (be) {
			x = test_get32be(p + i);
			y = test_get32be(p + i + 4);
		} else {
			memcpy(&x, p + i, 4); /* this machine is little-endian */
			memcpy(&y, p + i + 4, 4);
		}
		s[0] += x + s[1];
		s[1] += y + s[0];
	}
}

/* A WAL of page size 512: nf frames, commits where commit[i] != 0. */
static uint8_t *
test_wal_build(bool be, uint32_t page_size_field, const uint32_t *pgnos, const uint32_t *commit,
    size_t nf, size_t *len_r)
{
	size_t fsz = WAL_FRAME_HDR_SIZE + 512, len = WAL_HDR_SIZE + nf * fsz;
	uint8_t *w = xcalloc(1, len);
	uint32_t s[2] = {0, 0};

	test_put32be(w, be ? 0x377f0683u : 0x377f0682u);
	test_put32be(w + 4, 3007000);
	test_put32be(w + 8, page_size_field);
	test_put32be(w + 12, 7);
	test_put32be(w + 16, 0x11223344);
	test_put32be(w + 20, 0xa5a5a5a5);
	test_cksum(be, w, 24, s);
	test_put32be(w + 24, s[0]);
	test_put32be(w + 28, s[1]);
	for (size_t i = 0; i < nf; i++) {
		uint8_t *f = w + WAL_HDR_SIZE + i * fsz;

		test_put32be(f, pgnos[i]);
		test_put32be(f + 4, commit[i]);
		memcpy(f + 8, w + 16, 8);
		test_fill(f + WAL_FRAME_HDR_SIZE, 512, false);
		test_cksum(be, f, 8, s);
		test_cksum(be, f + WAL_FRAME_HDR_SIZE, 512, s);
		test_put32be(f + 16, s[0]);
		test_put32be(f + 20, s[1]);
	}
	*len_r = len;
	return w;
}

static void
test_wal_synthetic(void **state)
{
	static const uint32_t pg[] = {1, 2, 3, 2, 5, 4};
	static const uint32_t cm[] = {0, 0, 3, 0, 5, 0};
	struct test_apply a;
	struct wal_pos p;
	struct wal_hdr h;
	char *err = NULL;

	(void)state;
	for (int be = 0; be <= 1; be++) {
		size_t len;
		uint8_t *w = test_wal_build(be, 512, pg, cm, 6, &len);

		assert_int_equal(wal_hdr_parse(w, &h, &err), 0);
		assert_int_equal(h.page_size, 512);
		assert_int_equal(h.ckpt_seq, 7);
		assert_int_equal(h.salt1, 0x11223344);
		wal_pos_init(&p, &h);
		assert_int_equal(p.big_endian, (bool)be);
		assert_int_equal(test_wal_scan_buf(w, len, &p, 0, &a), 2);
		assert_int_equal(a.nframes, 5); /* the 6th is not committed */
		assert_int_equal(p.db_pages, 5);
		assert_int_equal(p.offset, WAL_HDR_SIZE + 5 * (WAL_FRAME_HDR_SIZE + 512));
		/* the chain continues in the position */
		assert_int_equal(p.cksum1, test_get32be(w + WAL_HDR_SIZE + 4 * 536 + 16));
		assert_int_equal(p.cksum2, test_get32be(w + WAL_HDR_SIZE + 4 * 536 + 20));

		/* the other byte order's checksums do not validate */
		test_put32be(w, be ? 0x377f0682u : 0x377f0683u);
		assert_int_equal(wal_hdr_parse(w, &h, &err), -1);
		assert_non_null(err);
		free(err);
		err = NULL;
		free(w);
	}

	/* wal_checksum against the independent one, both orders */
	{
		uint8_t buf[4096];
		uint32_t s1[2] = {1, 2}, s2[2] = {1, 2};

		test_fill(buf, sizeof(buf), false);
		for (int be = 0; be <= 1; be++) {
			wal_checksum(be, buf, sizeof(buf), s1);
			test_cksum(be, buf, sizeof(buf), s2);
			assert_int_equal(s1[0], s2[0]);
			assert_int_equal(s1[1], s2[1]);
		}
	}

	/* page size field 1 means 65536; 65536 itself is accepted too */
	{
		size_t len;
		uint8_t *w = test_wal_build(false, 1, pg, cm, 0, &len);

		assert_int_equal(wal_hdr_parse(w, &h, &err), 0);
		assert_int_equal(h.page_size, 65536);
		free(w);
		w = test_wal_build(false, 65536, pg, cm, 0, &len);
		assert_int_equal(wal_hdr_parse(w, &h, &err), 0);
		assert_int_equal(h.page_size, 65536);
		free(w);
	}
}

static void
test_wal_header_errors(void **state)
{
	static const uint32_t bad_ps[] = {0, 2, 256, 1000, 4097, 131072};
	static const uint32_t pg[] = {1}, cm[] = {1};
	struct wal_hdr h;
	char *err = NULL;
	size_t len;
	uint8_t *w;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_ps) / sizeof(bad_ps[0]); i++) {
		w = test_wal_build(false, bad_ps[i], pg, cm, 0, &len);
		assert_int_equal(wal_hdr_parse(w, &h, &err), -1);
		assert_non_null(strstr(err, "page size"));
		free(err);
		free(w);
	}
	w = test_wal_build(false, 4096, pg, cm, 0, &len);
	/* every byte of the header matters: magic, version, fields under the checksum, checksum */
	for (size_t i = 0; i < WAL_HDR_SIZE; i++) {
		w[i] ^= 0x10;
		assert_int_equal(wal_hdr_parse(w, &h, &err), -1);
		assert_non_null(err);
		free(err);
		err = NULL;
		w[i] ^= 0x10;
	}
	test_put32be(w + 4, 3007001);
	assert_int_equal(wal_hdr_parse(w, &h, &err), -1);
	assert_non_null(strstr(err, "version"));
	free(err);
	err = NULL;
	free(w);

	/* shorter than a header: 1, nothing committed */
	w = test_wal_build(false, 4096, pg, cm, 0, &len);
	for (size_t cut = 0; cut < WAL_HDR_SIZE; cut += 7) {
		fd = test_memfd(w, cut);
		assert_int_equal(wal_hdr_read(fd, &h, &err), 1);
		close(fd);
	}
	fd = test_memfd(w, len);
	assert_int_equal(wal_hdr_read(fd, &h, &err), 0);
	close(fd);
	assert_int_equal(wal_hdr_read(fd, &h, &err), -1);
	free(err);
	free(w);
}

/* ---- segments ------------------------------------------------------------------ */

struct test_obj {
	uint8_t *buf;
	size_t len;
};

/* Writes an object with the writer: pages pgnos[0..n) of content pages. */
static struct test_obj
test_seg_write(const struct seg_hdr *h, const uint32_t *pgnos, const uint8_t *pages, int level)
{
	struct seg_writer *w = NULL;
	struct test_obj o;
	char *err = NULL;
	uint64_t bytes = 0;
	int fd = memfd_create("seg", MFD_CLOEXEC);

	assert_true(fd >= 0);
	/* leftovers past the end are truncated */
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(seg_writer_open(&w, fd, h, level, &err), 0);
	for (uint32_t i = 0; i < h->npages; i++) {
		if (seg_writer_page(w, pgnos[i], pages + (size_t)i * h->page_size, &err) != 0)
			fail_msg("%s", err);
	}
	if (seg_writer_close(&w, &bytes, &err) != 0)
		fail_msg("%s", err);
	assert_null(w);
	o.len = (size_t)bytes;
	o.buf = xmalloc(o.len);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)bytes);
	assert_int_equal(pread(fd, o.buf, o.len, 0), (ssize_t)o.len);
	close(fd);
	return o;
}

/* Reads all of an object: 0 and the pages compared with the expected, or -1. */
static int
test_seg_read(const uint8_t *buf, size_t len, bool use_fd, struct seg_hdr *h_r,
    const uint32_t *pgnos, const uint8_t *pages, char **err_r)
{
	struct seg_reader *r = NULL;
	const uint8_t *page;
	uint32_t pgno, i = 0;
	int fd = -1, rc;

	if (use_fd) {
		fd = test_memfd(buf, len);
		rc = seg_reader_open(&r, fd, len, err_r);
	} else {
		rc = seg_reader_open_mem(&r, buf, len, err_r);
	}
	if (rc != 0) {
		assert_null(r);
		goto out;
	}
	*h_r = *seg_reader_hdr(r);
	while ((rc = seg_reader_next(r, &pgno, &page, err_r)) == 1) {
		if (pgnos != NULL) {
			assert_true(i < h_r->npages);
			assert_int_equal(pgno, pgnos[i]);
			assert_memory_equal(page, pages + (size_t)i * h_r->page_size, h_r->page_size);
		}
		i++;
	}
	if (rc == 0) {
		assert_int_equal(i, h_r->npages);
		/* and it stays at the end */
		assert_int_equal(seg_reader_next(r, &pgno, &page, err_r), 0);
	} else {
		/* a failed reader keeps failing */
		char *again = NULL;

		assert_int_equal(seg_reader_next(r, &pgno, &page, &again), -1);
		free(again);
	}
	seg_reader_close(&r);
	assert_null(r);
out:
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -1 : 0;
}

static struct seg_hdr
test_hdr(uint32_t kind, uint32_t page_size, uint32_t db_pages, uint32_t npages)
{
	struct seg_hdr h = {.kind = kind, .timeline = 3, .seq = 42, .prev_seq = 41,
	    .page_size = page_size, .db_pages = db_pages, .npages = npages, .ncommits = 5,
	    .first_ms = 1700000000000, .time_ms = 1700000000999, .db_checksum = 0x0123456789abcdefULL};

	if (kind == SEG_KIND_SNAPSHOT) {
		h.prev_seq = h.seq;
		h.ncommits = 1;
	}
	return h;
}

static void
test_seg_roundtrip(void **state)
{
	static const uint32_t sizes[] = {512, 1024, 4096, 65536};
	char *err = NULL;

	(void)state;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		uint32_t ps = sizes[si], db_pages = ps == 65536 ? 40 : 300;

		for (uint32_t kind = SEG_KIND_SEGMENT; kind <= SEG_KIND_SNAPSHOT; kind++) {
			uint32_t n = 0, *pgnos = xcalloc(db_pages, sizeof(*pgnos));
			uint8_t *pages;
			struct seg_hdr h, got;
			struct test_obj o;

			for (uint32_t p = 1; p <= db_pages; p++) {
				if (kind == SEG_KIND_SNAPSHOT || test_rand() % 3 == 0 || p == db_pages)
					pgnos[n++] = p;
			}
			pages = xmalloc((size_t)n * ps);
			for (uint32_t i = 0; i < n; i++)
				test_fill(pages + (size_t)i * ps, ps, i % 2 == 0);
			h = test_hdr(kind, ps, db_pages, n);
			o = test_seg_write(&h, pgnos, pages, (int)si * 3 - 1);
			for (int use_fd = 0; use_fd <= 1; use_fd++) {
				memset(&got, 0, sizeof(got));
				if (test_seg_read(o.buf, o.len, use_fd, &got, pgnos, pages, &err) != 0)
					fail_msg("%s", err);
				assert_memory_equal(&got, &h, sizeof(h));
			}
			assert_int_equal(seg_hdr_decode(o.buf, o.len, &got, &err), 0);
			assert_memory_equal(&got, &h, sizeof(h));
			free(o.buf);
			free(pages);
			free(pgnos);
		}
	}

	/* an empty segment (no pages: a commit that changed nothing we keep) */
	{
		struct seg_hdr h = test_hdr(SEG_KIND_SEGMENT, 4096, 7, 0), got;
		struct test_obj o = test_seg_write(&h, NULL, NULL, 3);

		assert_int_equal(test_seg_read(o.buf, o.len, false, &got, NULL, NULL, &err), 0);
		assert_int_equal(got.npages, 0);
		free(o.buf);
	}
}

static void
test_seg_writer_errors(void **state)
{
	struct seg_hdr h = test_hdr(SEG_KIND_SEGMENT, 512, 10, 2);
	struct seg_writer *w = NULL;
	uint8_t page[512] = {0};
	uint64_t bytes;
	char *err = NULL;
	int fd = memfd_create("seg", MFD_CLOEXEC);

	(void)state;
	/* pages out of order, 0, past db_pages, more than announced */
	assert_int_equal(seg_writer_open(&w, fd, &h, 3, &err), 0);
	assert_int_equal(seg_writer_page(w, 0, page, &err), -1);
	free(err);
	assert_int_equal(seg_writer_page(w, 11, page, &err), -1);
	free(err);
	assert_int_equal(seg_writer_page(w, 5, page, &err), 0);
	assert_int_equal(seg_writer_page(w, 5, page, &err), -1);
	free(err);
	assert_int_equal(seg_writer_page(w, 4, page, &err), -1);
	free(err);
	assert_int_equal(seg_writer_page(w, 6, page, &err), 0);
	assert_int_equal(seg_writer_page(w, 7, page, &err), -1);
	free(err);
	seg_writer_abort(&w);
	assert_null(w);
	seg_writer_abort(&w);

	/* fewer than announced: close fails and frees */
	assert_int_equal(seg_writer_open(&w, fd, &h, 3, &err), 0);
	assert_int_equal(seg_writer_page(w, 1, page, &err), 0);
	assert_int_equal(seg_writer_close(&w, &bytes, &err), -1);
	assert_null(w);
	free(err);

	/* a header the reader would refuse */
	h.prev_seq = h.seq;
	assert_int_equal(seg_writer_open(&w, fd, &h, 3, &err), -1);
	assert_null(w);
	free(err);
	close(fd);

	/* a bad fd */
	h = test_hdr(SEG_KIND_SEGMENT, 512, 10, 0);
	assert_int_equal(seg_writer_open(&w, -1, &h, 3, &err), -1);
	free(err);
}

/* ---- hand-made objects -------------------------------------------------------- */

static void
test_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
test_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The header layout of segment.c written independently. */
static void
test_hdr_encode(const struct seg_hdr *h, uint8_t b[SEG_HDR_SIZE])
{
	memset(b, 0, SEG_HDR_SIZE);
	memcpy(b, "KBSEG\0\0\1", 8);
	test_le32(b + 8, h->kind);
	test_le32(b + 12, h->timeline);
	test_le64(b + 16, h->seq);
	test_le64(b + 24, h->prev_seq);
	test_le32(b + 32, h->page_size);
	test_le32(b + 36, h->db_pages);
	test_le32(b + 40, h->npages);
	test_le32(b + 44, h->ncommits);
	test_le64(b + 48, (uint64_t)h->first_ms);
	test_le64(b + 56, (uint64_t)h->time_ms);
	test_le64(b + 64, h->db_checksum);
	test_le32(b + 92, (uint32_t)crc32(0, b, 92));
}

static void
test_hdr_fix_crc(uint8_t *b)
{
	test_le32(b + 92, (uint32_t)crc32(0, b, 92));
}

/* An object from a header and a raw body (decompressed bytes), plus extra
 * bytes after the zstd frame. */
static struct test_obj
test_obj_build(const struct seg_hdr *h, const uint8_t *raw, size_t rawlen, const uint8_t *extra,
    size_t nextra)
{
	size_t bound = ZSTD_compressBound(rawlen), clen;
	struct test_obj o;

	o.buf = xmalloc(SEG_HDR_SIZE + bound + nextra + SEG_TRAILER_SIZE);
	test_hdr_encode(h, o.buf);
	clen = ZSTD_compress(o.buf + SEG_HDR_SIZE, bound, raw, rawlen, 3);
	assert_false(ZSTD_isError(clen));
	if (nextra > 0)
		memcpy(o.buf + SEG_HDR_SIZE + clen, extra, nextra);
	clen += nextra;
	test_le64(o.buf + SEG_HDR_SIZE + clen, clen);
	test_le32(o.buf + SEG_HDR_SIZE + clen + 8, (uint32_t)crc32(0, o.buf + SEG_HDR_SIZE, (uInt)clen));
	memcpy(o.buf + SEG_HDR_SIZE + clen + 12, "KBSEGEND", 8);
	o.len = SEG_HDR_SIZE + clen + SEG_TRAILER_SIZE;
	return o;
}

/* Records for pgnos[0..n) of 512-byte pages filled with their number. */
static uint8_t *
test_records(const uint32_t *pgnos, size_t n, size_t *len_r)
{
	uint8_t *raw = xmalloc(n * 516 + 1);

	for (size_t i = 0; i < n; i++) {
		test_le32(raw + i * 516, pgnos[i]);
		memset(raw + i * 516 + 4, (int)pgnos[i], 512);
	}
	*len_r = n * 516;
	return raw;
}

/* Expects the object to be refused (by open or while reading), with err
 * containing want (NULL: any message). */
static void
test_refused(const struct test_obj *o, const char *want)
{
	struct seg_hdr h;
	char *err = NULL;

	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		assert_int_equal(test_seg_read(o->buf, o->len, use_fd, &h, NULL, NULL, &err), -1);
		assert_non_null(err);
		if (want != NULL && strstr(err, want) == NULL)
			fail_msg("expected '%s', got '%s'", want, err);
		free(err);
		err = NULL;
	}
}

static void
test_seg_body_errors(void **state)
{
	static const uint32_t good[] = {2, 3, 9};
	static const uint32_t dup[] = {2, 3, 3};
	static const uint32_t down[] = {2, 9, 3};
	static const uint32_t zero[] = {0, 3, 9};
	static const uint32_t big[] = {2, 3, 11};
	struct seg_hdr h = test_hdr(SEG_KIND_SEGMENT, 512, 10, 3), got;
	struct test_obj o;
	uint8_t *raw, junk[5] = {1, 2, 3, 4, 5};
	size_t rawlen;
	char *err = NULL;

	(void)state;
	/* the hand-made object is good: the layout is what the reader expects */
	raw = test_records(good, 3, &rawlen);
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	assert_int_equal(test_seg_read(o.buf, o.len, false, &got, NULL, NULL, &err), 0);
	assert_memory_equal(&got, &h, sizeof(h));

	/* trailing garbage after the trailer (a size mismatch) */
	o.buf = xrealloc(o.buf, o.len + 3);
	memset(o.buf + o.len, 0, 3);
	o.len += 3;
	test_refused(&o, "truncated or");
	free(o.buf);

	/* npages says 2 or 4: too many or too few records */
	h.npages = 2;
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "more records");
	free(o.buf);
	h.npages = 4;
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "3 page records, 4 announced");
	free(o.buf);
	h.npages = 3;

	/* a partial record at the end */
	o = test_obj_build(&h, raw, rawlen - 1, NULL, 0);
	test_refused(&o, "records");
	free(o.buf);
	raw = xrealloc(raw, rawlen + 2);
	memset(raw + rawlen, 0, 2);
	o = test_obj_build(&h, raw, rawlen + 2, NULL, 0);
	test_refused(&o, "more records");
	free(o.buf);

	/* data after the zstd frame (under the CRC): junk, then a second frame */
	o = test_obj_build(&h, raw, rawlen, junk, sizeof(junk));
	test_refused(&o, "after the zstd frame");
	free(o.buf);
	{
		uint8_t second[64];
		size_t n = ZSTD_compress(second, sizeof(second), "x", 1, 1);

		o = test_obj_build(&h, raw, rawlen, second, n);
		test_refused(&o, "after the zstd frame");
		free(o.buf);
	}

	/* pgno repeated, decreasing, 0, beyond db_pages */
	free(raw);
	raw = test_records(dup, 3, &rawlen);
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "out of order");
	free(o.buf);
	free(raw);
	raw = test_records(down, 3, &rawlen);
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "out of order");
	free(o.buf);
	free(raw);
	raw = test_records(zero, 3, &rawlen);
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "out of order");
	free(o.buf);
	free(raw);
	raw = test_records(big, 3, &rawlen);
	o = test_obj_build(&h, raw, rawlen, NULL, 0);
	test_refused(&o, "out of order");
	free(o.buf);
	free(raw);

	/* large records from a frame without a content checksum: the last block's
	 * input is all consumed while decoded records are still to come */
	for (uint32_t big_n = 1; big_n <= 6; big_n++) {
		struct seg_hdr bh = test_hdr(SEG_KIND_SNAPSHOT, 65536, big_n, big_n);
		uint8_t *braw = xmalloc((size_t)big_n * 65540);

		for (uint32_t i = 0; i < big_n; i++) {
			test_le32(braw + (size_t)i * 65540, i + 1);
			test_fill(braw + (size_t)i * 65540 + 4, 65536, i % 2 == 0);
		}
		o = test_obj_build(&bh, braw, (size_t)big_n * 65540, NULL, 0);
		for (int use_fd = 0; use_fd <= 1; use_fd++) {
			if (test_seg_read(o.buf, o.len, use_fd, &got, NULL, NULL, &err) != 0)
				fail_msg("%u records of 64 KiB: %s", big_n, err);
		}
		free(o.buf);
		free(braw);
	}

	/* not zstd at all (under a good CRC) */
	{
		struct test_obj z = test_obj_build(&h, (const uint8_t *)"", 0, NULL, 0);
		size_t clen = z.len - SEG_HDR_SIZE - SEG_TRAILER_SIZE;

		memset(z.buf + SEG_HDR_SIZE, 0x5a, clen);
		test_le32(z.buf + z.len - 12, (uint32_t)crc32(0, z.buf + SEG_HDR_SIZE, (uInt)clen));
		test_refused(&z, "corrupt body");
		free(z.buf);
	}
}

static void
test_seg_corruption(void **state)
{
	static const uint32_t pgnos[] = {1, 2, 3};
	struct seg_hdr h = test_hdr(SEG_KIND_SNAPSHOT, 512, 3, 3), got;
	uint8_t pages[3 * 512], *copy;
	struct test_obj o;
	char *err = NULL;

	(void)state;
	test_fill(pages, sizeof(pages), true);
	o = test_seg_write(&h, pgnos, pages, 3);
	copy = xmalloc(o.len);

	/* every byte of the object, flipped: refused (header and trailer fields,
	 * body under the CRC) */
	for (size_t i = 0; i < o.len; i++) {
		memcpy(copy, o.buf, o.len);
		copy[i] ^= 0x01;
		for (int use_fd = 0; use_fd <= 1; use_fd++) {
			if (test_seg_read(copy, o.len, use_fd, &got, NULL, NULL, &err) == 0)
				fail_msg("a flipped byte %zu of %zu was accepted", i, o.len);
			free(err);
			err = NULL;
		}
	}

	/* truncated at every length */
	for (size_t len = 0; len < o.len; len++) {
		uint8_t *t = xmalloc(len + 1);

		memcpy(t, o.buf, len);
		for (int use_fd = 0; use_fd <= 1; use_fd++) {
			if (test_seg_read(t, len, use_fd, &got, NULL, NULL, &err) == 0)
				fail_msg("truncated to %zu of %zu: accepted", len, o.len);
			free(err);
			err = NULL;
		}
		free(t);
	}
	free(copy);
	free(o.buf);
}

/* Header fields with semantic checks, under a recomputed CRC. */
static void
test_seg_header_fields(void **state)
{
	struct seg_hdr h;
	uint8_t b[SEG_HDR_SIZE];
	char *err = NULL;
	struct {
		size_t off, width;
		uint64_t value;
		uint32_t kind;
		const char *want;
	} cases[] = {
		{0, 1, 'X', SEG_KIND_SEGMENT, "magic"},
		{7, 1, 2, SEG_KIND_SEGMENT, "version"},
		{8, 4, 0, SEG_KIND_SEGMENT, "kind"},
		{8, 4, 3, SEG_KIND_SEGMENT, "kind"},
		{32, 4, 0, SEG_KIND_SEGMENT, "page size"},
		{32, 4, 256, SEG_KIND_SEGMENT, "page size"},
		{32, 4, 1000, SEG_KIND_SEGMENT, "page size"},
		{32, 4, 131072, SEG_KIND_SEGMENT, "page size"},
		{40, 4, SEG_MAX_PAGES + 1ull, SEG_KIND_SEGMENT, "too many pages"},
		{36, 4, SEG_MAX_PAGES + 1ull, SEG_KIND_SEGMENT, "database size"},
		{36, 4, 2, SEG_KIND_SEGMENT, "more pages than"},
		{24, 8, 42, SEG_KIND_SEGMENT, "prev_seq"},
		{24, 8, 43, SEG_KIND_SEGMENT, "prev_seq"},
		{44, 4, 0, SEG_KIND_SEGMENT, "without commits"},
		{40, 4, 2, SEG_KIND_SNAPSHOT, "npages differs"},
		{24, 8, 41, SEG_KIND_SNAPSHOT, "prev_seq differs"},
		{44, 4, 2, SEG_KIND_SNAPSHOT, "ncommits"},
		{80, 1, 1, SEG_KIND_SEGMENT, "padding"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seg_hdr src = test_hdr(cases[i].kind, 4096, 3, 3);

		test_hdr_encode(&src, b);
		assert_int_equal(seg_hdr_decode(b, sizeof(b), &h, &err), 0);
		assert_memory_equal(&h, &src, sizeof(h));
		if (cases[i].width == 1)
			b[cases[i].off] = (uint8_t)cases[i].value;
		else if (cases[i].width == 4)
			test_le32(b + cases[i].off, (uint32_t)cases[i].value);
		else
			test_le64(b + cases[i].off, cases[i].value);
		test_hdr_fix_crc(b);
		assert_int_equal(seg_hdr_decode(b, sizeof(b), &h, &err), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].want, err);
		free(err);
		err = NULL;
	}
	/* a bad CRC; a short buffer */
	{
		struct seg_hdr src = test_hdr(SEG_KIND_SEGMENT, 4096, 3, 3);

		test_hdr_encode(&src, b);
		b[92] ^= 1;
		assert_int_equal(seg_hdr_decode(b, sizeof(b), &h, &err), -1);
		assert_non_null(strstr(err, "CRC"));
		free(err);
		b[92] ^= 1;
		assert_int_equal(seg_hdr_decode(b, SEG_HDR_SIZE - 1, &h, &err), -1);
		assert_non_null(strstr(err, "truncated"));
		free(err);
	}
}

/* ---- image checksum ------------------------------------------------------------ */

static uint64_t
test_img_sum(const uint8_t *img, uint32_t n, uint32_t ps)
{
	uint64_t sum = 0;

	for (uint32_t p = 1; p <= n; p++)
		sum += imghash_page(p, img + (size_t)(p - 1) * ps, ps);
	return sum;
}

static void
test_imghash(void **state)
{
	const uint32_t ps = 1024, maxp = 64;
	uint8_t *img = xcalloc(maxp, ps), zero[1024] = {0};
	struct imghash ih, full;
	uint32_t n = 0;

	(void)state;
	/* the definition: SipHash-2-4 of u32le pgno || page, key "kubarr-imghash-1" */
	{
		uint8_t m[4 + 1024], out[8];
		uint64_t v = 0;

		test_le32(m, 7);
		test_fill(m + 4, 1024, false);
		crypto_shorthash(out, m, sizeof(m), (const unsigned char *)"kubarr-imghash-1");
		for (int i = 7; i >= 0; i--)
			v = v << 8 | out[i];
		assert_true(imghash_page(7, m + 4, 1024) == v);
		assert_true(imghash_page(8, m + 4, 1024) != v);
	}

	imghash_init(&ih, ps);
	for (int round = 0; round < 400; round++) {
		uint32_t op = test_rand() % 10, p;

		if (op < 7) {
			/* set a page, sometimes past the end (a gap of zero pages) */
			p = 1 + test_rand() % (n + 5 < maxp ? n + 5 : maxp);
			test_fill(img + (size_t)(p - 1) * ps, ps, false);
			assert_int_equal(imghash_set(&ih, p, img + (size_t)(p - 1) * ps), 0);
			if (p > n)
				n = p;
		} else {
			/* resize: shrink drops pages (they read as zero when regrown) */
			p = test_rand() % maxp;
			assert_int_equal(imghash_resize(&ih, p), 0);
			if (p < n)
				memset(img + (size_t)p * ps, 0, (size_t)(maxp - p) * ps);
			n = p;
		}
		assert_int_equal(ih.n, n);
		assert_true(ih.sum == test_img_sum(img, n, ps));
	}
	/* a fresh image of the same pages: the same sum */
	imghash_init(&full, ps);
	for (uint32_t p = n; p >= 1; p--)
		assert_int_equal(imghash_set(&full, p, img + (size_t)(p - 1) * ps), 0);
	assert_true(full.sum == ih.sum);
	assert_int_equal(full.n, n);
	/* a gap page's hash is a zero page's */
	assert_int_equal(imghash_resize(&full, n + 2), 0);
	assert_true(full.h[n + 1] == imghash_page(n + 2, zero, ps));
	/* refused: page 0, beyond SEG_MAX_PAGES */
	assert_int_equal(imghash_set(&full, 0, zero), -1);
	assert_int_equal(imghash_set(&full, SEG_MAX_PAGES + 1, zero), -1);
	assert_int_equal(imghash_resize(&full, SEG_MAX_PAGES + 1), -1);
	imghash_free(&full);
	imghash_free(&ih);
	assert_null(ih.h);
	free(img);
}

/* imghash_file of a real database, page size 65536 (stored as 1), equals the
 * pages hashed one by one; and refuses what is not a database. */
static void
test_imghash_file(void **state)
{
	struct test_db t;
	struct imghash ih;
	char *err = NULL;
	uint8_t *db;
	size_t len;
	int fd;

	(void)state;
	test_db_open(&t, 65536);
	test_db_txn(&t, 40);
	test_exec(t.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	db = test_read_file(t.path, &len);
	assert_int_equal(db[16], 0);
	assert_int_equal(db[17], 1);
	fd = open(t.path, O_RDONLY);
	imghash_init(&ih, 0);
	assert_int_equal(imghash_file(&ih, fd, &err), 0);
	assert_int_equal(ih.page_size, 65536);
	assert_int_equal(ih.n, len / 65536);
	assert_true(ih.n > 1);
	assert_true(ih.sum == test_img_sum(db, ih.n, 65536));
	close(fd);

	/* not a database */
	db[0] = 'X';
	fd = test_memfd(db, len);
	assert_int_equal(imghash_file(&ih, fd, &err), -1);
	assert_non_null(strstr(err, "not a SQLite"));
	free(err);
	close(fd);
	db[0] = 'S';
	db[16] = 3;
	fd = test_memfd(db, len);
	assert_int_equal(imghash_file(&ih, fd, &err), -1);
	assert_non_null(strstr(err, "page size"));
	free(err);
	close(fd);
	fd = test_memfd(db, 50);
	assert_int_equal(imghash_file(&ih, fd, &err), -1);
	free(err);
	close(fd);
	imghash_free(&ih);
	free(db);
	test_db_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wal_real),
		cmocka_unit_test(test_wal_restart),
		cmocka_unit_test(test_wal_damage),
		cmocka_unit_test(test_wal_synthetic),
		cmocka_unit_test(test_wal_header_errors),
		cmocka_unit_test(test_seg_roundtrip),
		cmocka_unit_test(test_seg_writer_errors),
		cmocka_unit_test(test_seg_body_errors),
		cmocka_unit_test(test_seg_corruption),
		cmocka_unit_test(test_seg_header_fields),
		cmocka_unit_test(test_imghash),
		cmocka_unit_test(test_imghash_file),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
