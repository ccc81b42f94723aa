/* restore: a verified database file from the replica (BACKUP.md 7), and the
 * replica's catalog (object keys, restore points).
 *
 * Order of work: list; pick the base snapshot (the newest within the bounds)
 * and the segments after it in its timeline; download each object into an
 * unlinked temp file beside the output; check its CRC (segment.c), its
 * timeline, sequence and prev_seq; write its pages into "<out>.restoring";
 * after each object compare the image's db_checksum with the object's.  A
 * missing sequence, a bad CRC or a checksum mismatch stops everything and
 * removes the partial file: an unverified database is never handed back.
 * Then quick_check (or integrity_check), fsync, rename, fsync the folder. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backup_int.h"
#include "fileio.h"
#include "log.h"
#include "segment.h"
#include "timeutil.h"
#include "xmalloc.h"

void
bk_key(char out[BK_KEY_MAX], uint32_t timeline, uint64_t seq, bool snapshot, int64_t time_ms)
{
	snprintf(out, BK_KEY_MAX, "%08" PRIu32 "/%s/%016" PRIu64 "-%013" PRId64 ".%s", timeline,
	    snapshot ? "snapshots" : "segments", seq, time_ms < 0 ? (int64_t)0 : time_ms,
	    snapshot ? "snap" : "seg");
}

static bool
bk_digits(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

bool
bk_key_parse(const char *key, uint64_t size, struct backup_point *p)
{
	uint64_t tl, seq, ms;
	const char *rest;
	bool snap;

	if (strlen(key) < 9 || !bk_digits(key, 8, &tl) || key[8] != '/')
		return false;
	rest = key + 9;
	if (strncmp(rest, "snapshots/", 10) == 0) {
		snap = true;
		rest += 10;
	} else if (strncmp(rest, "segments/", 9) == 0) {
		snap = false;
		rest += 9;
	} else {
		return false;
	}
	if (!bk_digits(rest, 16, &seq) || rest[16] != '-' || !bk_digits(rest + 17, 13, &ms) ||
	    strcmp(rest + 30, snap ? ".snap" : ".seg") != 0 || tl == 0 || tl > UINT32_MAX)
		return false;
	*p = (struct backup_point){.timeline = (uint32_t)tl, .seq = seq, .snapshot = snap,
	    .time_ms = (int64_t)ms, .bytes = size};
	return true;
}

static int
bk_point_cmp(const void *a, const void *b)
{
	const struct backup_point *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->snapshot != y->snapshot)
		return x->snapshot ? 1 : -1; /* segment S, then snapshot S (the state after it) */
	return x->timeline < y->timeline ? -1 : x->timeline > y->timeline;
}

int
bk_catalog_load(struct replica *r, struct bk_catalog *cat, char **err_r)
{
	struct replica_list l = {0};
	int rc;

	*cat = (struct bk_catalog){0};
	if ((rc = replica_list(r, "", &l, err_r)) != REPLICA_OK) {
		replica_list_free(&l);
		return rc;
	}
	cat->v = xcalloc(l.n ? l.n : 1, sizeof(*cat->v));
	for (size_t i = 0; i < l.n; i++) {
		struct backup_point p;

		if (strcmp(l.v[i].key, BK_LEASE_KEY) == 0) {
			cat->has_lease = true;
			continue;
		}
		if (!bk_key_parse(l.v[i].key, l.v[i].size, &p))
			continue; /* not ours: ignored, never deleted */
		cat->v[cat->n++] = p;
		if (p.timeline > cat->max_timeline)
			cat->max_timeline = p.timeline;
		if (p.seq > cat->max_seq)
			cat->max_seq = p.seq;
	}
	replica_list_free(&l);
	qsort(cat->v, cat->n, sizeof(*cat->v), bk_point_cmp);
	return REPLICA_OK;
}

void
bk_catalog_free(struct bk_catalog *cat)
{
	free(cat->v);
	*cat = (struct bk_catalog){0};
}

void
restore_move_stale(const char *db_path)
{
	static const char *const sfx[] = {"-wal", "-shm", "-journal"};

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		char *p = xasprintf("%s%s", db_path, sfx[i]), *aside;

		if (access(p, F_OK) == 0) {
			aside = xasprintf("%s.stale-%lld", p, (long long)time(NULL));
			if (rename(p, aside) == 0)
				log_warnx("restore: %s belongs to no database; moved aside to %s", p, aside);
			else
				log_warnx("restore: cannot move %s aside: %m", p);
			free(aside);
		}
		free(p);
	}
}

/* ---- applying objects ---------------------------------------------------- */

struct rs {
	struct replica *r;
	const struct restore_opts *o;
	struct restore_result *res;
	char *tmp_path;          /* "<out>.restoring" */
	char *dir;               /* the output's folder */
	int out;                 /* the database being built */
	int obj;                 /* scratch file for one downloaded object */
	bool local;              /* a file replica: objects read in place */
	int cur_fd;              /* the object read in place, -1 */
	struct imghash ih;
	uint64_t pages_written;
	int64_t last_log_us;
};

/* Closes an object's reader, and its file when it was read in place. */
static void
rs_done(struct rs *s, struct seg_reader **rd)
{
	if (rd != NULL)
		seg_reader_close(rd);
	if (s->cur_fd >= 0)
		close(s->cur_fd);
	s->cur_fd = -1;
}

static int
rs_apply(struct rs *s, const struct backup_point *p, uint32_t want_tl, uint64_t want_prev,
    char **err_r)
{
	char key[BK_KEY_MAX], *e = NULL;
	struct seg_reader *rd = NULL;
	const struct seg_hdr *h;
	uint64_t size = 0;
	uint32_t pgno;
	const uint8_t *page;
	int rc, n, fd = -1;

	bk_key(key, p->timeline, p->seq, p->snapshot, p->time_ms);
	/* a file replica is read in place; others are downloaded to scratch */
	if (s->local && (rc = replica_open_local(s->r, key, &fd, &size, &e)) != REPLICA_OK) {
		*err_r = xasprintf("%s: %s", key, e ? e : replica_strerror(rc));
		free(e);
		return rc == REPLICA_NOT_FOUND ? REPLICA_FAILED : rc;
	}
	if (!s->local && (rc = replica_get_fd(s->r, key, s->obj, &size, &e)) != REPLICA_OK) {
		*err_r = xasprintf("%s: %s", key, e ? e : replica_strerror(rc));
		free(e);
		return rc == REPLICA_NOT_FOUND ? REPLICA_FAILED : rc;
	}
	s->res->bytes_read += size;
	rc = seg_reader_open(&rd, s->local ? fd : s->obj, size, &e);
	s->cur_fd = fd; /* closed with the reader (rs_done) */
	if (rc != 0) {
		rs_done(s, NULL);
		*err_r = xasprintf("%s: corrupt object: %s", key, e);
		free(e);
		return REPLICA_FAILED;
	}
	h = seg_reader_hdr(rd);
	if (h->kind != (p->snapshot ? SEG_KIND_SNAPSHOT : SEG_KIND_SEGMENT) ||
	    h->timeline != want_tl || h->seq != p->seq ||
	    (!p->snapshot && h->prev_seq != want_prev)) {
		*err_r = xasprintf("%s: its header says timeline %u seq %llu (after %llu), expected "
		    "timeline %u seq %llu after %llu", key, h->timeline, (unsigned long long)h->seq,
		    (unsigned long long)h->prev_seq, want_tl, (unsigned long long)p->seq,
		    (unsigned long long)want_prev);
		rs_done(s, &rd);
		return REPLICA_FAILED;
	}
	if (p->snapshot)
		imghash_init(&s->ih, h->page_size);
	else if (h->page_size != s->ih.page_size) {
		*err_r = xasprintf("%s: page size %u, the database's is %u", key, h->page_size,
		    s->ih.page_size);
		rs_done(s, &rd);
		return REPLICA_FAILED;
	}
	while ((n = seg_reader_next(rd, &pgno, &page, &e)) == 1) {
		if (pwrite(s->out, page, h->page_size, (off_t)(pgno - 1) * h->page_size) !=
		    (ssize_t)h->page_size) {
			*err_r = xasprintf("writing %s: %m", s->tmp_path);
			rs_done(s, &rd);
			return REPLICA_FAILED;
		}
		imghash_set(&s->ih, pgno, page);
		s->pages_written++;
	}
	if (n < 0) {
		*err_r = xasprintf("%s: corrupt object: %s", key, e);
		free(e);
		rs_done(s, &rd);
		return REPLICA_FAILED;
	}
	if (ftruncate(s->out, (off_t)h->db_pages * h->page_size) != 0 ||
	    imghash_resize(&s->ih, h->db_pages) != 0) {
		*err_r = xasprintf("resizing %s: %m", s->tmp_path);
		rs_done(s, &rd);
		return REPLICA_FAILED;
	}
	if (s->ih.sum != h->db_checksum) {
		*err_r = xasprintf("%s: the database after it has checksum %016llx, the object "
		    "recorded %016llx", key, (unsigned long long)s->ih.sum,
		    (unsigned long long)h->db_checksum);
		rs_done(s, &rd);
		return REPLICA_FAILED;
	}
	s->res->timeline = h->timeline;
	s->res->seq = h->seq;
	s->res->time_ms = h->time_ms;
	s->res->db_checksum = h->db_checksum;
	s->res->db_pages = h->db_pages;
	s->res->page_size = h->page_size;
	rs_done(s, &rd);
	return REPLICA_OK;
}

static int
rs_check(struct rs *s, char **err_r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const char *sql = s->o->integrity ? "PRAGMA integrity_check" : "PRAGMA quick_check";
	int rc = REPLICA_FAILED;

	if (sqlite3_open_v2(s->tmp_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", s->tmp_path, db ? sqlite3_errmsg(db) : "no memory");
	} else if (sqlite3_step(st) != SQLITE_ROW) {
		*err_r = xasprintf("%s: %s", sql, sqlite3_errmsg(db));
	} else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		*err_r = xasprintf("%s: %s", sql, (const char *)sqlite3_column_text(st, 0));
	} else {
		rc = REPLICA_OK;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static void
rs_progress(struct rs *s, size_t done, size_t total)
{
	int64_t now = time_mono_us();

	if (s->o->quiet || now - s->last_log_us < 2000000)
		return;
	s->last_log_us = now;
	log_info("restore: %zu of %zu objects applied (%llu pages, %.1f MiB downloaded)", done,
	    total, (unsigned long long)s->pages_written, (double)s->res->bytes_read / 1048576.0);
}

/* The base snapshot and the segments to apply after it: indices into cat. */
static int
rs_plan(const struct bk_catalog *cat, const struct restore_opts *o, size_t *base_r,
    size_t **segs_r, size_t *nsegs_r, char **err_r)
{
	size_t base = SIZE_MAX, *segs, n = 0;
	uint64_t next;

	for (size_t i = cat->n; i-- > 0;) {
		const struct backup_point *p = &cat->v[i];

		if (p->snapshot && (o->to_seq == 0 || p->seq <= o->to_seq) &&
		    (o->to_ms == 0 || p->time_ms <= o->to_ms)) {
			base = i;
			break;
		}
	}
	if (base == SIZE_MAX) {
		if (cat->n == 0)
			*err_r = xstrdup("the replica holds no backup");
		else if (o->to_seq != 0 || o->to_ms != 0)
			*err_r = xstrdup("no snapshot at or before the requested point");
		else
			*err_r = xstrdup("the replica holds segments but no snapshot to start from");
		return REPLICA_NOT_FOUND;
	}
	segs = xcalloc(cat->n ? cat->n : 1, sizeof(*segs));
	next = cat->v[base].seq + 1;
	for (size_t i = base + 1; i < cat->n; i++) {
		const struct backup_point *p = &cat->v[i];

		if (p->snapshot || p->timeline != cat->v[base].timeline || p->seq < next)
			continue;
		if (o->to_seq != 0 && next > o->to_seq)
			break;
		if (p->seq != next) {
			/* a hole before the target (or before a later object): never skipped */
			*err_r = xasprintf("timeline %u: segment %llu is missing (the next one in the "
			    "replica is %llu)", p->timeline, (unsigned long long)next,
			    (unsigned long long)p->seq);
			free(segs);
			return REPLICA_FAILED;
		}
		if ((o->to_seq != 0 && p->seq > o->to_seq) || (o->to_ms != 0 && p->time_ms > o->to_ms))
			break;
		segs[n++] = i;
		next++;
	}
	*base_r = base;
	*segs_r = segs;
	*nsegs_r = n;
	return REPLICA_OK;
}

int
restore_run(struct replica *r, const struct restore_opts *o, struct restore_result *res,
    char **err_r)
{
	struct bk_catalog cat;
	struct rs s = {.r = r, .o = o, .res = res, .out = -1, .obj = -1, .cur_fd = -1};
	size_t base, *segs = NULL, nsegs = 0;
	char *dirbuf;
	int rc;

	*res = (struct restore_result){0};
	if ((rc = bk_catalog_load(r, &cat, err_r)) != REPLICA_OK)
		return rc;
	if ((rc = rs_plan(&cat, o, &base, &segs, &nsegs, err_r)) != REPLICA_OK) {
		bk_catalog_free(&cat);
		return rc;
	}
	dirbuf = xstrdup(o->out_path);
	s.dir = xstrdup(dirname(dirbuf));
	free(dirbuf);
	s.tmp_path = xasprintf("%s.restoring", o->out_path);
	unlink(s.tmp_path); /* a leftover of an interrupted restore */
	if ((s.out = open(s.tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0 ||
	    (s.obj = open(s.dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600)) < 0) {
		*err_r = xasprintf("restore into %s: %m", s.out < 0 ? s.tmp_path : s.dir);
		rc = REPLICA_FAILED;
		goto out;
	}
	if (!o->quiet)
		log_info("restore: timeline %u, snapshot %llu + %zu segments (to seq %llu) from %s",
		    cat.v[base].timeline, (unsigned long long)cat.v[base].seq, nsegs,
		    (unsigned long long)(nsegs ? cat.v[segs[nsegs - 1]].seq : cat.v[base].seq),
		    replica_url(r));
	s.last_log_us = time_mono_us();
	s.local = strcmp(replica_kind(r), "file") == 0;
	if ((rc = rs_apply(&s, &cat.v[base], cat.v[base].timeline, cat.v[base].seq, err_r)) != 0)
		goto out;
	res->snapshot_seq = cat.v[base].seq;
	for (size_t i = 0; i < nsegs; i++) {
		const struct backup_point *p = &cat.v[segs[i]];

		if ((rc = rs_apply(&s, p, cat.v[base].timeline, p->seq - 1, err_r)) != 0)
			goto out;
		res->segments++;
		rs_progress(&s, i + 1, nsegs + 1);
	}
	if (fsync(s.out) != 0) {
		*err_r = xasprintf("fsync %s: %m", s.tmp_path);
		rc = REPLICA_FAILED;
		goto out;
	}
	close(s.out);
	s.out = -1;
	if ((rc = rs_check(&s, err_r)) != REPLICA_OK)
		goto out;
	restore_move_stale(o->out_path);
	if (rename(s.tmp_path, o->out_path) != 0) {
		*err_r = xasprintf("rename %s to %s: %m", s.tmp_path, o->out_path);
		rc = REPLICA_FAILED;
		goto out;
	}
	if (fileio_fsync_dir(s.dir) != 0)
		log_warnx("restore: fsync %s: %m", s.dir);
	rc = REPLICA_OK;
out:
	if (s.out >= 0)
		close(s.out);
	if (s.obj >= 0)
		close(s.obj);
	if (rc != REPLICA_OK) {
		char *wal = xasprintf("%s-wal", s.tmp_path), *shm = xasprintf("%s-shm", s.tmp_path);

		unlink(s.tmp_path);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	imghash_free(&s.ih);
	free(s.tmp_path);
	free(s.dir);
	free(segs);
	bk_catalog_free(&cat);
	return rc;
}
