/* backup_ship: committed WAL frames -> one segment in the spool (wal.c,
 * segment.c); the exclusive checkpoint jobs run on the writer thread; snapshots.
 * See backup.c for the threads and locks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "backup_int.h"
#include "db.h"
#include "log.h"
#include "ops_notify.h"
#include "segment.h"
#include "storaged.h"
#include "timeutil.h"
#include "wal.h"
#include "writer.h"
#include "xmalloc.h"
#include "backup_priv.h"
#include "fileio.h"

/* ---- reading the WAL ----------------------------------------------------- */

/* (Re)opens the WAL when it was replaced; 1 when there is no WAL. */
int
bk_wal_open(struct backup *b, char **err_r)
{
	struct stat sb;

	if (stat(b->wal_path, &sb) != 0) {
		if (errno == ENOENT)
			return 1;
		*err_r = xasprintf("%s: %m", b->wal_path);
		return -1;
	}
	if (b->wal_fd >= 0 && sb.st_ino == b->wal_ino)
		return 0;
	if (b->wal_fd >= 0) {
		close(b->wal_fd);
		log_warnx("backup: %s was replaced", b->wal_path);
		b->need_timeline = b->ready; /* another file: continuity is unknown */
	}
	if ((b->wal_fd = open(b->wal_path, O_RDONLY | O_CLOEXEC)) < 0) {
		*err_r = xasprintf("%s: %m", b->wal_path);
		return -1;
	}
	b->wal_ino = sb.st_ino;
	return 0;
}

static int
bk_collect(void *arg, uint32_t pgno, uint32_t commit_db_pages, const uint8_t *page,
    uint64_t page_offset, char **err_r)
{
	struct backup *b = arg;

	(void)commit_db_pages;
	(void)page;
	(void)err_r;
	if (b->npages == b->cap_pages) {
		b->cap_pages = b->cap_pages ? b->cap_pages * 2 : 256;
		b->pages = xrealloc(b->pages, b->cap_pages * sizeof(*b->pages));
	}
	b->pages[b->npages++] = (struct bk_page){pgno, page_offset};
	return 0;
}

static int
bk_page_cmp(const void *x, const void *y)
{
	const struct bk_page *a = x, *c = y;

	if (a->pgno != c->pgno)
		return a->pgno < c->pgno ? -1 : 1;
	return a->off < c->off ? -1 : a->off > c->off;
}

static int
bk_pread_page(struct backup *b, uint64_t off, uint8_t *buf, char **err_r)
{
	if (pread(b->wal_fd, buf, b->pos.page_size, (off_t)off) != (ssize_t)b->pos.page_size) {
		*err_r = xasprintf("reading %s: %s", b->wal_path, errno ? strerror(errno) : "short read");
		return -1;
	}
	return 0;
}

void
bk_spool_name(char *out, size_t n, uint64_t seq, bool snap, uint32_t tl, int64_t ms)
{
	snprintf(out, n, "%016" PRIu64 "-%c-%08" PRIu32 "-%013" PRId64, seq, snap ? 'b' : 'a', tl,
	    ms);
}

static void
bk_note_recent(struct backup *b, uint64_t seq, uint64_t sum)
{
	pthread_mutex_lock(&b->lock);
	b->recent[b->nrecent % BK_RECENT].seq = seq;
	b->recent[b->nrecent % BK_RECENT].sum = sum;
	b->nrecent++;
	pthread_mutex_unlock(&b->lock);
}

/* The spool queue (lock held). */
void
bk_queue_push(struct backup *b, const char *name, uint64_t bytes, int64_t first_ms)
{
	if (b->nq == b->capq) {
		b->capq = b->capq ? b->capq * 2 : 64;
		b->q = xrealloc(b->q, b->capq * sizeof(*b->q));
	}
	snprintf(b->q[b->nq].name, sizeof(b->q[b->nq].name), "%s", name);
	b->q[b->nq].bytes = bytes;
	b->q[b->nq].first_ms = first_ms;
	b->nq++;
	b->spool_bytes += bytes;
	b->spool_files++;
}

void
bk_queue_pop(struct backup *b, const char *name)
{
	for (size_t i = 0; i < b->nq; i++) {
		if (strcmp(b->q[i].name, name) != 0)
			continue;
		b->spool_bytes -= b->q[i].bytes < b->spool_bytes ? b->q[i].bytes : b->spool_bytes;
		b->spool_files -= b->spool_files > 0;
		memmove(b->q + i, b->q + i + 1, (b->nq - i - 1) * sizeof(*b->q));
		b->nq--;
		return;
	}
}

/* Checks the spool quota for an object of about est bytes. */
static int
bk_spool_room(struct backup *b, uint64_t est, char **err_r)
{
	uint64_t used;

	pthread_mutex_lock(&b->lock);
	used = b->spool_bytes;
	pthread_mutex_unlock(&b->lock);
	if (used > 0 && used + est > b->cfg.spool_max_bytes) { /* an empty spool takes anything */
		*err_r = xasprintf("spool full (%llu bytes of KUBARR_BACKUP_SPOOL_MAX_BYTES=%llu): "
		    "uploads are behind; the WAL keeps every commit until there is room",
		    (unsigned long long)used, (unsigned long long)b->cfg.spool_max_bytes);
		return -1;
	}
	return 0;
}

static int
bk_spool_write(struct backup *b, const struct seg_hdr *h, bk_pages_fn fn, void *arg,
    uint64_t *bytes_r, char **err_r)
{
	char name[80], *tmp, *path;
	struct seg_writer *w = NULL;
	uint64_t bytes = 0;
	int fd, rc = -1;

	bk_spool_name(name, sizeof(name), h->seq, h->kind == SEG_KIND_SNAPSHOT, h->timeline,
	    h->time_ms);
	tmp = xasprintf("%s/.tmp-%s", b->cfg.spool_dir, name);
	path = xasprintf("%s/%s", b->cfg.spool_dir, name);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		*err_r = xasprintf("spool %s: %m", tmp);
		goto out;
	}
	if (seg_writer_open(&w, fd, h, b->cfg.zstd_level, err_r) != 0)
		goto out;
	if (fn(b, w, arg, err_r) != 0) {
		seg_writer_abort(&w);
		goto out;
	}
	if (seg_writer_close(&w, &bytes, err_r) != 0)
		goto out;
	if (fsync(fd) != 0 || rename(tmp, path) != 0 || fileio_fsync_dir(b->cfg.spool_dir) != 0) {
		*err_r = xasprintf("spool %s: %m", path);
		goto out;
	}
	rc = 0;
	*bytes_r = bytes;
	pthread_mutex_lock(&b->lock);
	bk_queue_push(b, name, bytes, h->first_ms);
	pthread_cond_signal(&b->up_cond);
	pthread_mutex_unlock(&b->lock);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

struct bk_seg_arg {
	struct bk_page *v;
	size_t n;
	uint8_t *buf;
};

static int
bk_seg_pages(struct backup *b, struct seg_writer *w, void *arg, char **err_r)
{
	struct bk_seg_arg *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (bk_pread_page(b, a->v[i].off, a->buf, err_r) != 0 ||
		    seg_writer_page(w, a->v[i].pgno, a->buf, err_r) != 0)
			return -1;
	return 0;
}

/* Ships the complete transactions after pos into one segment, at most
 * BK_SEG_MAX_FRAMES frames of them (unless one transaction is larger): *more_r
 * says frames are left.  Holds ship_mu.  0 (nothing or shipped), -1
 * (*err_r; pos unchanged). */
static int
bk_ship_once(struct backup *b, bool *more_r, char **err_r)
{
	struct wal_hdr hdr;
	struct wal_pos pos;
	struct imghash ih2 = {0};
	struct bk_seg_arg a = {0};
	struct seg_hdr h;
	uint64_t bytes = 0;
	int64_t first_ms, last_ms;
	uint64_t hooked;
	int rc, ntx;
	size_t n = 0;

	if (!b->ready || b->need_timeline)
		return 0;
	if ((rc = bk_wal_open(b, err_r)) < 0)
		return -1;
	if (rc == 1 && b->wal_fd >= 0) {
		/* the WAL we were reading was deleted: someone else checkpointed
		 * and removed it, with commits we may not have shipped */
		log_warnx("backup: %s was deleted behind the shipper's back; new timeline", b->wal_path);
		close(b->wal_fd);
		b->wal_fd = -1;
		b->need_timeline = true;
	}
	if (b->need_timeline)
		return 0; /* the snapshot takes the commits: they stay pending (and in the lag) */
	if (rc == 1) {
		pthread_mutex_lock(&b->lock);
		b->pending_first_ms = 0;
		b->commit_pending = false;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	if ((rc = wal_hdr_read(b->wal_fd, &hdr, err_r)) != 0) {
		if (rc < 0)
			return -1;
		/* an empty WAL: nothing committed since the checkpoint */
		pthread_mutex_lock(&b->lock);
		b->pending_first_ms = 0;
		b->commit_pending = false;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	if (!b->have_pos || hdr.salt1 != b->pos.salt1 || hdr.salt2 != b->pos.salt2) {
		if (b->have_pos && !b->expect_restart) {
			log_warnx("backup: the WAL was restarted behind the shipper's back (salts "
			    "%08x/%08x, shipped %08x/%08x): an external checkpoint; new timeline",
			    hdr.salt1, hdr.salt2, b->pos.salt1, b->pos.salt2);
			b->need_timeline = true;
			return 0;
		}
		if (hdr.page_size != b->ih.page_size) {
			log_warnx("backup: WAL page size %u, database %u: new timeline", hdr.page_size,
			    b->ih.page_size);
			b->need_timeline = true;
			return 0;
		}
		wal_pos_init(&b->pos, &hdr);
		b->pos.db_pages = b->ih.n;
		b->have_pos = true;
		b->expect_restart = false;
	}
	pthread_mutex_lock(&b->lock);
	first_ms = b->pending_first_ms;
	b->shipping_first_ms = first_ms != 0 ? first_ms : time_wall_ms();
	b->pending_first_ms = 0;
	b->commit_pending = false;
	pthread_mutex_unlock(&b->lock);

	pos = b->pos;
	b->npages = 0;
	log_debug("backup: shipping from offset %" PRIu64 " of the WAL (salts %08x/%08x)", pos.offset,
	    pos.salt1, pos.salt2);
	ntx = wal_scan(b->wal_fd, &pos, BK_SEG_MAX_FRAMES, bk_collect, b, err_r);
	if (ntx == 0 && bk_wal_size(b) >= pos.offset + (uint64_t)BK_SEG_MAX_FRAMES *
	    (WAL_FRAME_HDR_SIZE + pos.page_size)) {
		b->npages = 0; /* one transaction larger than the limit: all of it */
		ntx = wal_scan(b->wal_fd, &pos, 0, bk_collect, b, err_r);
	}
	if (ntx <= 0) {
		log_debug("backup: ship: %d transactions after offset %" PRIu64 " (WAL %" PRIu64
		    " bytes)%s%s", ntx, b->pos.offset, bk_wal_size(b), ntx < 0 ? ": " : "",
		    ntx < 0 ? *err_r : "");
		goto restore_pending; /* nothing new (a commit already shipped), or an error */
	}
	*more_r = bk_wal_size(b) >= pos.offset + WAL_FRAME_HDR_SIZE + pos.page_size;
	b->expect_restart = false;
	qsort(b->pages, b->npages, sizeof(*b->pages), bk_page_cmp);
	for (size_t i = 0; i < b->npages; i++) {
		if (i + 1 < b->npages && b->pages[i + 1].pgno == b->pages[i].pgno)
			continue; /* a later frame of the same page follows */
		if (b->pages[i].pgno > pos.db_pages)
			continue; /* truncated away by the last commit */
		b->pages[n++] = b->pages[i];
	}
	a.v = b->pages;
	a.n = n;
	a.buf = xmalloc(pos.page_size);
	imghash_init(&ih2, pos.page_size);
	if (imghash_resize(&ih2, b->ih.n) != 0)
		goto oom;
	memcpy(ih2.h, b->ih.h, (size_t)b->ih.n * sizeof(*ih2.h));
	ih2.sum = b->ih.sum;
	if (imghash_resize(&ih2, pos.db_pages) != 0)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (bk_pread_page(b, a.v[i].off, a.buf, err_r) != 0)
			goto fail;
		if (imghash_set(&ih2, a.v[i].pgno, a.buf) != 0)
			goto oom;
	}
	if (bk_spool_room(b, (uint64_t)n * (pos.page_size + 4) / 2 + SEG_HDR_SIZE, err_r) != 0)
		goto fail;
	/* The segment's time must not be earlier than any commit in it (restore
	 * --to T keeps segments up to T): the hook's last time only when the hook
	 * has seen every transaction read (a commit's frames reach the WAL before
	 * its hook runs; an earlier run's commits had no hook here), else now. */
	pthread_mutex_lock(&b->lock);
	hooked = b->hooked;
	last_ms = hooked >= (uint64_t)ntx ? b->last_commit_ms : bk_now_ceil_ms();
	pthread_mutex_unlock(&b->lock);
	if (first_ms == 0 || first_ms > last_ms)
		first_ms = last_ms;
	h = (struct seg_hdr){
		.kind = SEG_KIND_SEGMENT,
		.timeline = b->timeline,
		.seq = b->seq + 1,
		.prev_seq = b->seq,
		.page_size = pos.page_size,
		.db_pages = pos.db_pages,
		.npages = (uint32_t)n,
		.ncommits = (uint32_t)ntx,
		.first_ms = first_ms,
		.time_ms = last_ms,
		.db_checksum = ih2.sum,
	};
	if (bk_spool_write(b, &h, bk_seg_pages, &a, &bytes, err_r) != 0)
		goto fail;
	/* the frames read must still be the ones validated: a restart of the WAL
	 * meanwhile (an external checkpoint) would have changed its header */
	{
		struct wal_hdr again;
		char *e2 = NULL;

		if (wal_hdr_read(b->wal_fd, &again, &e2) != 0 || again.salt1 != hdr.salt1 ||
		    again.salt2 != hdr.salt2) {
			free(e2);
			log_warnx("backup: the WAL changed while segment %" PRIu64 " was written; "
			    "new timeline", h.seq);
			b->need_timeline = true;
		}
	}
	b->pos = pos;
	b->seq = h.seq;
	b->seg_bytes += bytes;
	imghash_free(&b->ih);
	b->ih = ih2;
	free(a.buf);
	bk_state_save(b);
	bk_note_recent(b, h.seq, h.db_checksum);
	pthread_mutex_lock(&b->lock);
	b->st.seq_spooled = h.seq;
	b->hooked = b->hooked > (uint64_t)ntx ? b->hooked - (uint64_t)ntx : 0;
	b->st.last_segment_ms = time_wall_ms();
	b->err_ship[0] = '\0';
	b->shipping_first_ms = 0;
	pthread_mutex_unlock(&b->lock);
	return 0;
oom:
	*err_r = xstrdup("out of memory");
fail:
	imghash_free(&ih2);
	free(a.buf);
	ntx = -1;
restore_pending:
	if (ntx < 0 && first_ms == 0)
		first_ms = time_wall_ms(); /* unknown: from now, so the lag is never 0 */
	pthread_mutex_lock(&b->lock);
	b->shipping_first_ms = 0;
	pthread_mutex_unlock(&b->lock);
	if (ntx < 0 || first_ms != 0) {
		/* keep the commits pending: they are shipped on the next try */
		pthread_mutex_lock(&b->lock);
		if (ntx < 0 && (b->pending_first_ms == 0 || first_ms < b->pending_first_ms))
			b->pending_first_ms = first_ms;
		if (ntx < 0)
			b->commit_pending = true;
		pthread_mutex_unlock(&b->lock);
	}
	return ntx < 0 ? -1 : 0;
}

/* Ships everything committed, one segment per BK_SEG_MAX_FRAMES frames.
 * Holds ship_mu.  0 or -1 (*err_r). */
int
bk_ship_locked(struct backup *b, char **err_r)
{
	bool more;

	do {
		more = false;
		if (bk_ship_once(b, &more, err_r) != 0)
			return -1;
	} while (more && !b->need_timeline);
	return 0;
}

/* ---- exclusive jobs: ship + checkpoint (writer thread) ------------------- */

static int
bk_ckpt_task(struct db_conn *c, void *arg, bool *again)
{
	struct bk_ckpt *j = arg;
	struct backup *b = j->b;
	char *err = NULL;
	int nlog = -1, nckpt = -1, rc;

	(void)again;
	pthread_mutex_lock(&b->ship_mu);
	if (!b->need_timeline && bk_ship_locked(b, &err) != 0) {
		bk_seterr(j->err, err);
		free(err);
		pthread_mutex_unlock(&b->ship_mu);
		return 0; /* the WAL keeps what could not be spooled: no checkpoint */
	}
	if (b->need_timeline && !j->for_snapshot) {
		pthread_mutex_unlock(&b->ship_mu);
		return 0;
	}
	sqlite3_busy_timeout(c->db, 250);
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
		j->complete = rc == SQLITE_OK && nlog == nckpt;
	} else {
		j->complete = rc == SQLITE_OK;
	}
	sqlite3_busy_timeout(c->db, b->cfg.busy_timeout_ms);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		snprintf(j->err, sizeof(j->err), "checkpoint: %s", sqlite3_errmsg(c->db));
	if (j->complete) {
		b->expect_restart = true;
		/* on the writer thread every commit's hook has run: none pending */
		pthread_mutex_lock(&b->lock);
		b->hooked = 0;
		pthread_mutex_unlock(&b->lock);
		if (j->for_snapshot) {
			if (b->need_timeline) {
				b->timeline = (b->max_timeline > b->timeline ? b->max_timeline : b->timeline) + 1;
				b->max_timeline = b->timeline;
				/* its own sequence: the snapshot may hold commits the old
				 * timeline never shipped, so it is not the state after the
				 * old timeline's last segment (restore --seq S would get more) */
				b->seq++;
				b->need_timeline = false;
				b->have_pos = false;
				j->new_timeline = true;
			}
			j->timeline = b->timeline;
			j->seq = b->seq;
		}
	}
	pthread_mutex_unlock(&b->ship_mu);
	return 0;
}

static void
bk_ckpt_done(void *arg, int rc)
{
	struct bk_ckpt *j = arg;
	struct backup *b = j->b;

	(void)rc;
	pthread_mutex_lock(&b->lock);
	j->done = true;
	pthread_cond_broadcast(&b->job_cond);
	pthread_mutex_unlock(&b->lock);
}

/* Runs an exclusive job and waits for it (the writer always finishes or
 * drops it, calling done either way). */
void
bk_ckpt_run(struct backup *b, struct bk_ckpt *j)
{
	writer_submit_exclusive(b->writer, bk_ckpt_task, j, bk_ckpt_done);
	pthread_mutex_lock(&b->lock);
	while (!j->done)
		pthread_cond_wait(&b->job_cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* ---- snapshots ----------------------------------------------------------- */

struct bk_snap_arg {
	int fd;
	uint32_t pages, page_size;
};

static int
bk_snap_pages(struct backup *b, struct seg_writer *w, void *arg, char **err_r)
{
	struct bk_snap_arg *a = arg;
	size_t chunk = 256;
	uint8_t *buf = xmalloc(chunk * a->page_size);
	int rc = 0;

	(void)b;
	for (uint32_t p = 1; rc == 0 && p <= a->pages; p += (uint32_t)chunk) {
		uint32_t k = a->pages - p + 1 < chunk ? a->pages - p + 1 : (uint32_t)chunk;
		ssize_t want = (ssize_t)k * a->page_size;

		if (pread(a->fd, buf, (size_t)want, (off_t)(p - 1) * a->page_size) != want) {
			*err_r = xasprintf("reading the database: %s", errno ? strerror(errno) : "short");
			rc = -1;
			break;
		}
		for (uint32_t i = 0; rc == 0 && i < k; i++)
			rc = seg_writer_page(w, p + i, buf + (size_t)i * a->page_size, err_r);
	}
	free(buf);
	return rc;
}

/* A snapshot (a new timeline first when continuity was lost).  0 or -1. */
int
bk_snapshot(struct backup *b, char **err_r)
{
	struct bk_ckpt j = {.b = b, .for_snapshot = true};
	struct imghash ih = {0};
	struct bk_snap_arg a;
	struct seg_hdr h;
	uint64_t bytes;
	int64_t t0 = time_mono_us();
	int fd;

	bk_ckpt_run(b, &j);
	if (!j.complete) {
		*err_r = xasprintf("snapshot postponed: the checkpoint before it did not complete%s%s",
		    j.err[0] ? ": " : " (readers busy)", j.err);
		return -1;
	}
	/* The database file cannot change now until the shipper checkpoints
	 * again, and only this thread asks for that. */
	fd = bk_db_fd;
	if (imghash_file(&ih, fd, err_r) != 0)
		return -1;
	pthread_mutex_lock(&b->ship_mu);
	if (!j.new_timeline && ih.sum != b->ih.sum) {
		log_error("backup: the database file after the checkpoint (checksum %016" PRIx64
		    ") is not the image the segments built (%016" PRIx64 "): new timeline",
		    ih.sum, b->ih.sum);
		b->need_timeline = true;
		pthread_mutex_unlock(&b->ship_mu);
		imghash_free(&ih);
		*err_r = xstrdup("continuity lost: retrying with a new timeline");
		return -1;
	}
	imghash_free(&b->ih);
	b->ih = ih;
	pthread_mutex_unlock(&b->ship_mu);
	a = (struct bk_snap_arg){.fd = fd, .pages = ih.n, .page_size = ih.page_size};
	h = (struct seg_hdr){
		.kind = SEG_KIND_SNAPSHOT,
		.timeline = j.timeline,
		.seq = j.seq,
		.prev_seq = j.seq,
		.page_size = ih.page_size,
		.db_pages = ih.n,
		.npages = ih.n,
		.ncommits = 1,
		.first_ms = time_wall_ms(),
		.db_checksum = ih.sum,
	};
	h.time_ms = h.first_ms;
	if (bk_spool_room(b, (uint64_t)ih.n * ih.page_size / 2, err_r) != 0 ||
	    bk_spool_write(b, &h, bk_snap_pages, &a, &bytes, err_r) != 0) {
		pthread_mutex_lock(&b->ship_mu);
		if (j.new_timeline)
			b->need_timeline = true; /* a timeline without its snapshot is useless */
		pthread_mutex_unlock(&b->ship_mu);
		return -1;
	}
	pthread_mutex_lock(&b->ship_mu);
	bk_state_save(b);
	b->seg_bytes = 0;
	pthread_mutex_unlock(&b->ship_mu);
	bk_note_recent(b, h.seq, h.db_checksum);
	log_info("backup: snapshot of timeline %u at seq %" PRIu64 ": %u pages, %" PRIu64
	    " bytes spooled in %.1f s%s", h.timeline, h.seq, h.db_pages, bytes,
	    (double)(time_mono_us() - t0) / 1e6, j.new_timeline ? " (new timeline)" : "");
	pthread_mutex_lock(&b->lock);
	b->st.timeline = h.timeline;
	if (h.seq > b->st.seq_spooled) /* a new timeline's snapshot has its own */
		b->st.seq_spooled = h.seq;
	b->st.last_snapshot_ms = time_wall_ms();
	b->snapshot_req = false;
	pthread_mutex_unlock(&b->lock);
	b->next_snapshot_ms = time_wall_ms() + (int64_t)b->cfg.snapshot_interval_s * 1000;
	return 0;
}
