/* backup: the shipper and the uploader (BACKUP.md, design 1-12).
 *
 * Threads:
 *   writer    the WAL hook notes each commit (time, wakes the shipper);
 *             exclusive jobs ship the WAL's end and checkpoint with no
 *             commit in between (writer_submit_exclusive)
 *   shipper   reads new committed frames (wal.c), writes one segment per
 *             batch (sync_interval) to the spool: temp file, fsync, rename,
 *             fsync the folder, then the state file; snapshots, retention,
 *             continuity checks (new timelines), alerts
 *   uploader  drains the spool in name order into the replica, under the
 *             lease; capped, jittered backoff
 *   drill     the validation drill (restore.c into a temp folder)
 * Locks: ship_mu (shipping state) before lock (status, flags); the WAL hook
 * takes lock only.
 *
 * Spool names sort in upload order: "<seq:16>-<a|b>-<timeline:8>-<ms:13>"
 * with a = segment, b = snapshot (the snapshot S of a new timeline follows
 * segment S of the old one and precedes segment S+1).
 *
 * The state file (spool/state) says where shipping stands after each
 * segment: timeline, sequence, WAL position (salts, offset, checksums) and
 * the image checksum there.  On start the WAL is replayed over the database
 * file up to that position; if the checksum and the chain agree, shipping
 * resumes (a crash loses nothing: the unshipped commits are still in the
 * WAL, which only the shipper checkpoints); otherwise a new timeline starts
 * with a snapshot.  Never guess. */
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

#define BK_RECENT 4096
#define BK_STATE_MAGIC "kubarr-backup-state 1"
#define BK_BACKOFF_MIN_MS 500
#define BK_BACKOFF_MAX_MS 60000
#define BK_ALERT_AFTER_MS 60000 /* degraded this long: backup_failed */
#define BK_SEG_MAX_FRAMES 8192  /* frames per segment (32 MiB of 4 KiB pages) */

/* An object waiting in the spool: what lag and quota are computed from. */
struct bk_spooled {
	char name[48];
	uint64_t bytes;
	int64_t first_ms;
};

struct bk_page {
	uint32_t pgno;
	uint64_t off;  /* of the page in the WAL */
};

struct backup {
	struct storaged *sd;
	struct backup_config cfg;
	struct writer *writer;
	struct db_conn *wconn;
	char *wal_path, *state_path, *validate_dir;
	char owner[128];

	pthread_t ship_thread, up_thread, drill_thread;
	bool ship_started, up_started, drill_running, drill_joinable;

	/* lock: flags and status */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* shipper wakes */
	pthread_cond_t up_cond;     /* uploader wakes */
	pthread_cond_t job_cond;    /* exclusive jobs done */
	bool stopping, commit_pending, snapshot_req, verify_req;
	int64_t pending_first_ms;   /* first commit not yet spooled */
	int64_t shipping_first_ms;  /* first commit of the segment being made */
	int64_t last_commit_ms;
	struct bk_spooled *q;       /* the spool's objects, oldest first (accounting) */
	size_t nq, capq;
	uint64_t spool_bytes, spool_files;
	struct backup_status st;
	char err_ship[256], err_up[256];
	int64_t degraded_since_ms;
	bool lease_conflict;
	bool alert_failed_sent, alert_stale_sent;
	bool ready_status;          /* the replica was listed and a timeline chosen */
	struct { uint64_t seq, sum; } recent[BK_RECENT];
	size_t nrecent;

	/* ship_mu: the shipping state */
	pthread_mutex_t ship_mu;
	int wal_fd;
	ino_t wal_ino;
	struct wal_pos pos;
	bool have_pos, expect_restart, need_timeline, ready;
	uint32_t timeline, max_timeline;
	uint64_t seq, spool_max_seq;
	uint32_t spool_max_tl;
	struct imghash ih;
	struct bk_page *pages;
	size_t npages, cap_pages;

	/* shipper-thread only */
	int64_t next_snapshot_ms, next_retention_ms, next_validate_ms;
};

/* ---- small helpers ------------------------------------------------------- */

/* The database file, read for snapshots and checksums.  Opened once and
 * closed only after SQLite closed its connections (backup_release_db):
 * closing any descriptor of a file drops every POSIX lock the process holds
 * on it, SQLite's SHARED lock included, and then another process's
 * connection closing can checkpoint and delete the WAL under storaged (seen:
 * an operator's sqlite3 shell did exactly that). */
static int bk_db_fd = -1;

void
backup_release_db(void)
{
	if (bk_db_fd >= 0)
		close(bk_db_fd);
	bk_db_fd = -1;
}

static void
bk_seterr(char *dst, const char *msg)
{
	snprintf(dst, 256, "%s", msg != NULL ? msg : "");
}

static int
bk_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Sleeps on cond until woken or ms pass; false when stopping. */
static bool
bk_wait(struct backup *b, pthread_cond_t *cv, int64_t ms)
{
	struct timespec ts;
	bool go;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->lock);
	if (!b->stopping)
		pthread_cond_timedwait(cv, &b->lock, &ts);
	go = !b->stopping;
	pthread_mutex_unlock(&b->lock);
	return go;
}

static int64_t
bk_backoff(unsigned *attempt)
{
	int64_t ms = BK_BACKOFF_MIN_MS;

	for (unsigned i = 0; i < *attempt && ms < BK_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BK_BACKOFF_MAX_MS)
		ms = BK_BACKOFF_MAX_MS;
	(*attempt)++;
	return ms / 2 + (int64_t)randombytes_uniform((uint32_t)(ms / 2 + 1));
}

/* ---- the WAL hook (writer thread) ---------------------------------------- */

static int
bk_wal_hook(void *arg, sqlite3 *db, const char *name, int npages)
{
	struct backup *b = arg;
	int64_t now = time_wall_ms();

	(void)db;
	(void)name;
	log_debug("backup: commit, the WAL holds %d frames", npages);
	pthread_mutex_lock(&b->lock);
	b->last_commit_ms = now;
	if (b->pending_first_ms == 0)
		b->pending_first_ms = now;
	b->commit_pending = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return SQLITE_OK;
}

/* ---- state file ---------------------------------------------------------- */

static int
bk_state_save(struct backup *b)
{
	char *tmp = xasprintf("%s.tmp", b->state_path), buf[512];
	int fd, n, rc = -1;

	n = snprintf(buf, sizeof(buf),
	    "%s\ntimeline %" PRIu32 "\nseq %" PRIu64 "\nhave_pos %d\nsalt1 %" PRIu32
	    "\nsalt2 %" PRIu32 "\noffset %" PRIu64 "\ncksum1 %" PRIu32 "\ncksum2 %" PRIu32
	    "\ndb_pages %" PRIu32 "\npage_size %" PRIu32 "\nsum %" PRIu64 "\nexpect_restart %d\n",
	    BK_STATE_MAGIC, b->timeline, b->seq, b->have_pos, b->pos.salt1, b->pos.salt2,
	    b->pos.offset, b->pos.cksum1, b->pos.cksum2, b->ih.n, b->ih.page_size, b->ih.sum,
	    b->expect_restart);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) >= 0) {
		if (write(fd, buf, (size_t)n) == n && fsync(fd) == 0)
			rc = 0;
		close(fd);
	}
	if (rc == 0 && rename(tmp, b->state_path) != 0)
		rc = -1;
	if (rc == 0)
		bk_fsync_dir(b->cfg.spool_dir);
	else
		log_warnx("backup: saving %s: %m", b->state_path);
	free(tmp);
	return rc;
}

struct bk_state {
	uint32_t timeline, salt1, salt2, cksum1, cksum2, db_pages, page_size;
	uint64_t seq, offset, sum;
	int have_pos, expect_restart;
};

static bool
bk_state_load(struct backup *b, struct bk_state *s)
{
	FILE *f = fopen(b->state_path, "re");
	char magic[64];
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(magic, sizeof(magic), f) != NULL &&
	    strncmp(magic, BK_STATE_MAGIC, strlen(BK_STATE_MAGIC)) == 0 &&
	    fscanf(f,
		"timeline %" SCNu32 " seq %" SCNu64 " have_pos %d salt1 %" SCNu32 " salt2 %" SCNu32
		" offset %" SCNu64 " cksum1 %" SCNu32 " cksum2 %" SCNu32 " db_pages %" SCNu32
		" page_size %" SCNu32 " sum %" SCNu64 " expect_restart %d",
		&s->timeline, &s->seq, &s->have_pos, &s->salt1, &s->salt2, &s->offset, &s->cksum1,
		&s->cksum2, &s->db_pages, &s->page_size, &s->sum, &s->expect_restart) == 12;
	fclose(f);
	return ok;
}

/* ---- reading the WAL ----------------------------------------------------- */

static uint64_t bk_wal_size(struct backup *b);

/* (Re)opens the WAL when it was replaced; 1 when there is no WAL. */
static int
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

static void
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
static void
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

static void
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

/* Writes one object into the spool: fn adds its pages. */
typedef int (*bk_pages_fn)(struct backup *b, struct seg_writer *w, void *arg, char **err_r);

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
	if (fsync(fd) != 0 || rename(tmp, path) != 0 || bk_fsync_dir(b->cfg.spool_dir) != 0) {
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
	last_ms = b->last_commit_ms;
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
	if (first_ms == 0)
		first_ms = last_ms != 0 ? last_ms : time_wall_ms();
	if (last_ms < first_ms)
		last_ms = first_ms;
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
	imghash_free(&b->ih);
	b->ih = ih2;
	free(a.buf);
	bk_state_save(b);
	bk_note_recent(b, h.seq, h.db_checksum);
	pthread_mutex_lock(&b->lock);
	b->st.seq_spooled = h.seq;
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
static int
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

struct bk_ckpt {
	struct backup *b;
	bool for_snapshot;
	bool done, complete;
	bool new_timeline;
	uint32_t timeline;
	uint64_t seq;
	char err[256];
};

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
static void
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
static int
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
	pthread_mutex_unlock(&b->ship_mu);
	bk_note_recent(b, h.seq, h.db_checksum);
	log_info("backup: snapshot of timeline %u at seq %" PRIu64 ": %u pages, %" PRIu64
	    " bytes spooled in %.1f s%s", h.timeline, h.seq, h.db_pages, bytes,
	    (double)(time_mono_us() - t0) / 1e6, j.new_timeline ? " (new timeline)" : "");
	pthread_mutex_lock(&b->lock);
	b->st.timeline = h.timeline;
	if (h.seq > b->st.seq_spooled)
		b->st.seq_spooled = h.seq; /* a new timeline's snapshot has its own */
	b->st.last_snapshot_ms = time_wall_ms();
	b->snapshot_req = false;
	pthread_mutex_unlock(&b->lock);
	b->next_snapshot_ms = time_wall_ms() + (int64_t)b->cfg.snapshot_interval_s * 1000;
	return 0;
}

/* ---- start: resume or a new timeline ------------------------------------- */

struct bk_replay {
	struct imghash *ih;
};

static int
bk_replay_frame(void *arg, uint32_t pgno, uint32_t commit_db_pages, const uint8_t *page,
    uint64_t off, char **err_r)
{
	struct bk_replay *r = arg;

	(void)off;
	if (imghash_set(r->ih, pgno, page) != 0 ||
	    (commit_db_pages != 0 && imghash_resize(r->ih, commit_db_pages) != 0)) {
		*err_r = xstrdup("out of memory");
		return -1;
	}
	return 0;
}

/* Replays the WAL over the database file up to the saved position; true
 * when the state file describes exactly this database and WAL. */
static bool
bk_resume(struct backup *b, const struct bk_state *s, char **why_r)
{
	struct imghash ih = {0};
	struct wal_hdr hdr;
	struct wal_pos pos;
	struct bk_replay rp = {.ih = &ih};
	char *err = NULL;
	int rc;

	if (imghash_file(&ih, bk_db_fd, &err) != 0) {
		*why_r = xasprintf("reading the database: %s", err);
		goto no;
	}
	if (ih.page_size != s->page_size) {
		*why_r = xstrdup("page size changed");
		goto no;
	}
	if (s->have_pos) {
		if (bk_wal_open(b, &err) != 0 || wal_hdr_read(b->wal_fd, &hdr, &err) != 0) {
			*why_r = xasprintf("the WAL shipped up to offset %" PRIu64 " is gone%s%s",
			    s->offset, err ? ": " : "", err ? err : "");
			goto no;
		}
		if (hdr.salt1 != s->salt1 || hdr.salt2 != s->salt2) {
			if (!s->expect_restart) {
				*why_r = xstrdup("the WAL was restarted by someone else");
				goto no;
			}
			/* restarted after our own complete checkpoint: the file is the image */
			wal_pos_init(&pos, &hdr);
			pos.db_pages = ih.n;
			if (ih.sum != s->sum) {
				*why_r = xstrdup("the database file is not the shipped image");
				goto no;
			}
			b->pos = pos;
			b->have_pos = true;
			b->expect_restart = true;
		} else {
			wal_pos_init(&pos, &hdr);
			pos.db_pages = ih.n;
			while (pos.offset < s->offset) {
				uint64_t left = (s->offset - pos.offset) / (WAL_FRAME_HDR_SIZE + pos.page_size);

				rc = wal_scan(b->wal_fd, &pos, left, bk_replay_frame, &rp, &err);
				if (rc <= 0)
					break;
			}
			if (pos.offset != s->offset || pos.cksum1 != s->cksum1 || pos.cksum2 != s->cksum2) {
				*why_r = xasprintf("the WAL does not hold the shipped frames (at %" PRIu64
				    ", expected %" PRIu64 ")%s%s", pos.offset, s->offset, err ? ": " : "",
				    err ? err : "");
				goto no;
			}
			if (ih.sum != s->sum) {
				*why_r = xstrdup("the database and WAL are not the shipped image");
				goto no;
			}
			b->pos = pos;
			b->have_pos = true;
			b->expect_restart = s->expect_restart;
		}
	} else {
		if (ih.sum != s->sum) {
			*why_r = xstrdup("the database file is not the shipped image");
			goto no;
		}
		b->have_pos = false;
	}
	imghash_free(&b->ih);
	b->ih = ih;
	free(err);
	return true;
no:
	imghash_free(&ih);
	free(err);
	return false;
}

/* Lists the replica, then resumes or asks for a new timeline.  0 or -1
 * (replica unreachable: retried). */
static int
bk_establish(struct backup *b, struct replica *r, char **err_r)
{
	struct bk_catalog cat;
	struct bk_state s = {0};
	char *why = NULL;
	bool have_state;
	int rc;

	if ((rc = bk_catalog_load(r, &cat, err_r)) != REPLICA_OK)
		return -1;
	pthread_mutex_lock(&b->ship_mu);
	b->max_timeline = cat.max_timeline;
	have_state = bk_state_load(b, &s);
	/* an object spooled after the state was last saved (a crash between
	 * the two) would be shipped twice under one sequence: then a new
	 * timeline instead */
	if (have_state && s.timeline != 0 && s.timeline >= cat.max_timeline &&
	    s.seq >= cat.max_seq && s.seq >= b->spool_max_seq && bk_resume(b, &s, &why)) {
		b->timeline = s.timeline;
		b->seq = s.seq;
		b->need_timeline = false;
		log_info("backup: resuming timeline %u after seq %" PRIu64 " (%s)", b->timeline, b->seq,
		    replica_url(r));
	} else {
		if (why != NULL)
			log_warnx("backup: cannot resume the saved position: %s; new timeline", why);
		/* numbering continues after everything the replica, the saved
		 * state and the spool have seen */
		b->timeline = cat.max_timeline > s.timeline ? cat.max_timeline : s.timeline;
		b->max_timeline = b->timeline;
		b->seq = cat.max_seq > s.seq ? cat.max_seq : s.seq;
		if (b->spool_max_seq > b->seq)
			b->seq = b->spool_max_seq;
		if (b->spool_max_tl > b->timeline)
			b->timeline = b->spool_max_tl;
		b->need_timeline = true;
		log_info("backup: new timeline after seq %" PRIu64 " in %s (%zu objects there)", b->seq,
		    replica_url(r), cat.n);
	}
	b->ready = true;
	pthread_mutex_unlock(&b->ship_mu);
	free(why);
	pthread_mutex_lock(&b->lock);
	b->st.timeline = b->timeline;
	b->st.seq_uploaded = cat.max_seq;
	b->st.seq_spooled = b->seq;
	b->ready_status = true;
	/* the WAL may hold commits of an earlier run: lag counts from now
	 * until the first ship says otherwise */
	b->commit_pending = true;
	if (b->pending_first_ms == 0)
		b->pending_first_ms = time_wall_ms();
	pthread_mutex_unlock(&b->lock);
	bk_catalog_free(&cat);
	return 0;
}

/* ---- events: audit + notification (writer task) -------------------------- */

struct bk_event {
	char *action, *event_type, *title, *message, *details;
	bool success;
};

static const char bk_sql_audit[] =
    "INSERT INTO audit_logs(timestamp, user_id, username, action, resource_type, resource_id,"
    " details, ip_address, user_agent, success, error_message)"
    " VALUES (?, NULL, 'system', ?, 'backup', NULL, ?, NULL, 'kubarr-storaged', ?, ?)";

static int
bk_event_task(struct db_conn *c, void *arg, bool *again)
{
	struct bk_event *e = arg;
	sqlite3_stmt *st = db_stmt(c, bk_sql_audit);
	char now[25];

	(void)again;
	db_now(now);
	if (st != NULL) {
		db_bind_text(st, 1, now);
		db_bind_text(st, 2, e->action);
		db_bind_text(st, 3, e->details);
		sqlite3_bind_int(st, 4, e->success ? 1 : 0);
		db_bind_text(st, 5, e->success ? NULL : e->message);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_warnx("backup: audit %s: %s", e->action, sqlite3_errmsg(c->db));
		sqlite3_reset(st);
	}
	if (e->event_type != NULL)
		ops_notify_emit_admins(c, e->event_type, e->title, 0, false, e->message, "");
	return 0;
}

static void
bk_event_done(void *arg, int rc)
{
	struct bk_event *e = arg;

	(void)rc;
	free(e->action);
	free(e->event_type);
	free(e->title);
	free(e->message);
	free(e->details);
	free(e);
}

/* Audits action (and emits event_type when not NULL) through the writer. */
static void
bk_event(struct backup *b, const char *action, const char *event_type, const char *title,
    bool success, const char *message)
{
	struct bk_event *e = xcalloc(1, sizeof(*e));
	json_t *d = json_pack("{s:s, s:s}", "message", message, "replica", b->st.url);

	e->action = xstrdup(action);
	e->event_type = event_type ? xstrdup(event_type) : NULL;
	e->title = xstrdup(title ? title : action);
	e->message = xstrdup(message);
	e->details = d ? json_dumps(d, JSON_COMPACT) : xstrdup("{}");
	e->success = success;
	json_decref(d);
	writer_submit_task_done(b->writer, bk_event_task, e, bk_event_done);
}

/* ---- retention (BACKUP.md 9) --------------------------------------------- */

static void
bk_retention(struct backup *b, struct replica *r)
{
	struct bk_catalog cat;
	char *err = NULL, key[BK_KEY_MAX];
	int64_t cutoff = time_wall_ms() - (int64_t)b->cfg.retention_s * 1000;
	uint64_t oldest_kept = UINT64_MAX;
	size_t newest = SIZE_MAX, deleted = 0;

	if (bk_catalog_load(r, &cat, &err) != REPLICA_OK) {
		log_warnx("backup: retention: %s", err);
		free(err);
		return;
	}
	for (size_t i = 0; i < cat.n; i++)
		if (cat.v[i].snapshot)
			newest = i;
	if (newest == SIZE_MAX) {
		bk_catalog_free(&cat);
		return;
	}
	for (size_t i = 0; i < cat.n; i++)
		if (cat.v[i].snapshot && (cat.v[i].time_ms >= cutoff || i == newest) &&
		    cat.v[i].seq < oldest_kept)
			oldest_kept = cat.v[i].seq;
	for (size_t i = 0; i < cat.n; i++) {
		const struct backup_point *p = &cat.v[i];
		bool drop = p->snapshot ? (p->time_ms < cutoff && i != newest && p->seq <= oldest_kept &&
		    !(p->seq == oldest_kept && p->time_ms >= cutoff)) : p->seq <= oldest_kept;

		if (p->snapshot && p->seq == oldest_kept)
			drop = false;
		if (!drop)
			continue;
		bk_key(key, p->timeline, p->seq, p->snapshot, p->time_ms);
		if (replica_delete(r, key, &err) != REPLICA_OK) {
			log_warnx("backup: retention: %s", err);
			free(err);
			err = NULL;
			break;
		}
		deleted++;
	}
	if (deleted > 0)
		log_info("backup: retention deleted %zu objects older than the oldest kept snapshot "
		    "(seq %" PRIu64 ")", deleted, oldest_kept);
	bk_catalog_free(&cat);
}

/* ---- the validation drill (BACKUP.md 10) --------------------------------- */

static void *
bk_drill_main(void *arg)
{
	struct backup *b = arg;
	struct replica *r = NULL;
	struct restore_result res;
	struct restore_opts o = {.integrity = true, .quiet = true};
	char *err = NULL, *out = xasprintf("%s/kubarr.db", b->validate_dir), msg[512];
	int64_t t0 = time_mono_us();
	bool ok = false, known = false;
	uint64_t want = 0;

	o.out_path = out;
	mkdir(b->validate_dir, 0700);
	unlink(out);
	if (replica_open(&r, &b->cfg.rc, &err) != 0 || restore_run(r, &o, &res, &err) != REPLICA_OK) {
		snprintf(msg, sizeof(msg), "restore drill failed: %s", err ? err : "?");
	} else {
		pthread_mutex_lock(&b->lock);
		for (size_t i = 0; i < BK_RECENT && i < b->nrecent; i++)
			if (b->recent[i].seq == res.seq) {
				known = true;
				want = b->recent[i].sum;
			}
		pthread_mutex_unlock(&b->lock);
		if (known && want != res.db_checksum)
			snprintf(msg, sizeof(msg), "restore drill: seq %" PRIu64 " restored with checksum "
			    "%016" PRIx64 ", the shipper recorded %016" PRIx64, res.seq, res.db_checksum,
			    want);
		else {
			ok = true;
			snprintf(msg, sizeof(msg), "restore drill ok: timeline %u seq %" PRIu64 " (snapshot %"
			    PRIu64 " + %zu segments, %u pages) passed integrity_check in %.1f s%s",
			    res.timeline, res.seq, res.snapshot_seq, res.segments, res.db_pages,
			    (double)(time_mono_us() - t0) / 1e6,
			    known ? ", checksum equal to the shipped one" : "");
		}
	}
	unlink(out);
	replica_close(&r);
	free(err);
	free(out);
	if (ok)
		log_info("backup: %s", msg);
	else
		log_error("backup: %s", msg);
	pthread_mutex_lock(&b->lock);
	b->st.last_validation_ms = time_wall_ms();
	snprintf(b->st.last_validation, sizeof(b->st.last_validation), "%s", ok ? "ok" : "failed");
	snprintf(b->st.validation_error, sizeof(b->st.validation_error), "%.255s", ok ? "" : msg);
	if (ok)
		b->st.validated_seq = res.seq;
	b->drill_running = false;
	pthread_mutex_unlock(&b->lock);
	bk_event(b, ok ? "backup_validated" : "backup_validation_failed",
	    ok ? NULL : "backup_failed", "Backup validation failed", ok, msg);
	return NULL;
}

static void
bk_drill_start(struct backup *b)
{
	pthread_mutex_lock(&b->lock);
	if (b->drill_running) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	b->verify_req = false;
	b->drill_running = true;
	snprintf(b->st.last_validation, sizeof(b->st.last_validation), "running");
	pthread_mutex_unlock(&b->lock);
	if (b->drill_joinable)
		pthread_join(b->drill_thread, NULL);
	b->drill_joinable = pthread_create(&b->drill_thread, NULL, bk_drill_main, b) == 0;
	if (!b->drill_joinable) {
		pthread_mutex_lock(&b->lock);
		b->drill_running = false;
		pthread_mutex_unlock(&b->lock);
	}
	b->next_validate_ms = time_wall_ms() + (int64_t)b->cfg.validate_interval_s * 1000;
}

/* ---- alerts -------------------------------------------------------------- */

static double
bk_lag_locked(struct backup *b, int64_t now)
{
	int64_t oldest = 0;

	for (size_t i = 0; i < b->nq; i++)
		if (b->q[i].first_ms != 0 && (oldest == 0 || b->q[i].first_ms < oldest))
			oldest = b->q[i].first_ms;
	if (b->pending_first_ms != 0 && (oldest == 0 || b->pending_first_ms < oldest))
		oldest = b->pending_first_ms;
	if (b->shipping_first_ms != 0 && (oldest == 0 || b->shipping_first_ms < oldest))
		oldest = b->shipping_first_ms;
	return oldest == 0 || now < oldest ? 0.0 : (double)(now - oldest) / 1000.0;
}

static void
bk_alerts(struct backup *b)
{
	int64_t now = time_wall_ms();
	char msg[640] = "";
	bool fail = false, stale = false, recovered = false;
	double lag;

	pthread_mutex_lock(&b->lock);
	lag = bk_lag_locked(b, now);
	if (b->err_ship[0] || b->err_up[0] || b->lease_conflict) {
		if (b->degraded_since_ms == 0)
			b->degraded_since_ms = now;
		if (!b->alert_failed_sent && (now - b->degraded_since_ms >= BK_ALERT_AFTER_MS ||
		    b->lease_conflict)) {
			b->alert_failed_sent = fail = true;
			snprintf(msg, sizeof(msg), "Backup to %s is failing: %s", b->st.url,
			    b->err_ship[0] ? b->err_ship : b->err_up[0] ? b->err_up :
			    "another storaged holds the lease on this replica");
		}
	} else {
		if (b->alert_failed_sent)
			recovered = true;
		b->degraded_since_ms = 0;
		b->alert_failed_sent = false;
	}
	if (lag > b->cfg.stale_s && !b->alert_stale_sent) {
		b->alert_stale_sent = stale = true;
	} else if (lag < b->cfg.stale_s / 2.0) {
		b->alert_stale_sent = false;
	}
	pthread_mutex_unlock(&b->lock);
	if (fail) {
		log_error("backup: %s", msg);
		bk_event(b, "backup_failed", "backup_failed", "Backup failed", false, msg);
	}
	if (recovered)
		bk_event(b, "backup_recovered", NULL, NULL, true, "Backup is shipping again");
	if (stale) {
		snprintf(msg, sizeof(msg), "The newest commit in the replica %s is %.0f s behind "
		    "(KUBARR_BACKUP_STALE_S=%u)", b->st.url, lag, b->cfg.stale_s);
		log_warnx("backup: %s", msg);
		bk_event(b, "backup_stale", "backup_stale", "Backup is stale", false, msg);
	}
}

/* ---- the shipper thread -------------------------------------------------- */

static uint64_t
bk_wal_size(struct backup *b)
{
	struct stat sb;

	return stat(b->wal_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void *
bk_ship_main(void *arg)
{
	struct backup *b = arg;
	struct replica *r = NULL;
	char *err = NULL;
	unsigned attempt = 0;
	bool ckpt_wanted;

	if (replica_open(&r, &b->cfg.rc, &err) != 0) {
		pthread_mutex_lock(&b->lock);
		bk_seterr(b->err_ship, err);
		pthread_mutex_unlock(&b->lock);
		log_error("backup: %s", err);
		free(err);
		return NULL;
	}
	while (bk_establish(b, r, &err) != 0) {
		log_warnx("backup: replica %s: %s (retrying; the WAL keeps every commit meanwhile)",
		    replica_url(r), err);
		pthread_mutex_lock(&b->lock);
		bk_seterr(b->err_ship, err);
		pthread_mutex_unlock(&b->lock);
		free(err);
		err = NULL;
		if (!bk_wait(b, &b->cond, bk_backoff(&attempt)))
			goto out;
	}
	pthread_mutex_lock(&b->lock);
	b->err_ship[0] = '\0';
	pthread_mutex_unlock(&b->lock);
	attempt = 0;
	b->next_retention_ms = time_wall_ms() + 60000;
	b->next_validate_ms = b->cfg.validate_interval_s ?
	    time_wall_ms() + (int64_t)b->cfg.validate_interval_s * 1000 : INT64_MAX;
	if (b->next_snapshot_ms == 0)
		b->next_snapshot_ms = time_wall_ms() + (int64_t)b->cfg.snapshot_interval_s * 1000;
	for (;;) {
		int64_t now = time_wall_ms(), wait_ms = 1000;
		bool pending, snap, verify, need_tl, stopping;

		pthread_mutex_lock(&b->lock);
		pending = b->commit_pending;
		snap = b->snapshot_req;
		verify = b->verify_req;
		stopping = b->stopping;
		if (pending && b->pending_first_ms != 0 &&
		    now < b->pending_first_ms + (int64_t)b->cfg.sync_interval_ms && !stopping && !snap)
			wait_ms = b->pending_first_ms + b->cfg.sync_interval_ms - now;
		else if (pending || snap || verify || stopping)
			wait_ms = 0;
		if (wait_ms > 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_ms / 1000;
			ts.tv_nsec += (wait_ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&b->cond, &b->lock, &ts);
			pthread_mutex_unlock(&b->lock);
			if (!pending)
				goto periodic;
			continue; /* re-evaluate: the batch window may not be over */
		}
		pthread_mutex_unlock(&b->lock);
		/* ship what is committed */
		pthread_mutex_lock(&b->ship_mu);
		if (bk_ship_locked(b, &err) != 0) {
			pthread_mutex_unlock(&b->ship_mu);
			log_warnx("backup: shipping: %s", err);
			pthread_mutex_lock(&b->lock);
			bk_seterr(b->err_ship, err);
			pthread_mutex_unlock(&b->lock);
			free(err);
			err = NULL;
			if (stopping)
				break;
			if (!bk_wait(b, &b->cond, bk_backoff(&attempt)))
				break;
			continue;
		}
		attempt = 0;
		need_tl = b->need_timeline;
		pthread_mutex_unlock(&b->ship_mu);
		if (stopping)
			break;
periodic:
		now = time_wall_ms();
		pthread_mutex_lock(&b->ship_mu);
		need_tl = b->need_timeline;
		pthread_mutex_unlock(&b->ship_mu);
		pthread_mutex_lock(&b->lock);
		snap = b->snapshot_req;
		verify = b->verify_req;
		pthread_mutex_unlock(&b->lock);
		if (need_tl || snap || now >= b->next_snapshot_ms) {
			if (bk_snapshot(b, &err) != 0) {
				log_warnx("backup: %s", err);
				pthread_mutex_lock(&b->lock);
				bk_seterr(b->err_ship, err);
				pthread_mutex_unlock(&b->lock);
				free(err);
				err = NULL;
				if (!bk_wait(b, &b->cond, bk_backoff(&attempt)))
					break;
			} else {
				pthread_mutex_lock(&b->lock);
				b->err_ship[0] = '\0';
				pthread_mutex_unlock(&b->lock);
				attempt = 0;
			}
			continue;
		}
		ckpt_wanted = bk_wal_size(b) > b->cfg.checkpoint_bytes;
		if (ckpt_wanted) {
			struct bk_ckpt j = {.b = b};

			bk_ckpt_run(b, &j);
			if (!j.complete && bk_wal_size(b) > b->cfg.wal_alert_bytes)
				log_warnx("backup: the WAL is %" PRIu64 " bytes and checkpoints do not "
				    "complete%s%s", bk_wal_size(b), j.err[0] ? ": " : "", j.err);
		}
		if (now >= b->next_retention_ms) {
			bk_retention(b, r);
			b->next_retention_ms = now + 3600 * 1000;
		}
		if (verify || now >= b->next_validate_ms)
			bk_drill_start(b);
		bk_alerts(b);
	}
out:
	replica_close(&r);
	return NULL;
}

/* ---- the lease (BACKUP.md 11) -------------------------------------------- */

/* Takes or renews the lease.  0 held; 1 another storaged holds it (*err_r);
 * -1 the replica failed (*err_r). */
static int
bk_lease(struct backup *b, struct replica *r, char **err_r)
{
	int64_t now = time_wall_ms(), expires = now + (int64_t)b->cfg.lease_ttl_s * 1000;
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *j, *mine;
	char *text;
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = replica_get_mem(r, BK_LEASE_KEY, 4096, &buf, &len, err_r);
		if (rc == REPLICA_OK) {
			json_error_t je;
			const char *owner = NULL;
			json_int_t until = 0;

			j = json_loadb((const char *)buf, len, 0, &je);
			free(buf);
			buf = NULL;
			if (j == NULL || json_unpack(j, "{s:s, s:I}", "owner", &owner, "expires_ms",
				&until) != 0) {
				log_warnx("backup: the lease object is unreadable; replacing it");
			} else if (strcmp(owner, b->owner) != 0 && until > now) {
				*err_r = xasprintf("another storaged (%s) holds the lease on this replica "
				    "for %lld s more; not uploading (two writers on one prefix would "
				    "corrupt it)", owner, (long long)((until - now) / 1000));
				json_decref(j);
				return 1;
			} else if (strcmp(owner, b->owner) != 0) {
				log_warnx("backup: taking over the expired lease of %s", owner);
			}
			json_decref(j);
		} else if (rc != REPLICA_NOT_FOUND) {
			return -1;
		} else {
			free(*err_r);
			*err_r = NULL;
		}
		mine = json_pack("{s:s, s:I, s:I}", "owner", b->owner, "expires_ms",
		    (json_int_t)expires, "renewed_ms", (json_int_t)now);
		text = json_dumps(mine, JSON_COMPACT);
		json_decref(mine);
		rc = replica_put_mem(r, BK_LEASE_KEY, text, strlen(text), rc == REPLICA_NOT_FOUND,
		    err_r);
		free(text);
		if (rc == REPLICA_EXISTS) { /* someone created it meanwhile: read it again */
			free(*err_r);
			*err_r = NULL;
			continue;
		}
		if (rc != REPLICA_OK)
			return -1;
		/* read back: of two takers at once, the one whose write landed last wins */
		if (replica_get_mem(r, BK_LEASE_KEY, 4096, &buf, &len, err_r) != REPLICA_OK)
			return -1;
		rc = memmem(buf, len, b->owner, strlen(b->owner)) != NULL ? 0 : 1;
		free(buf);
		if (rc != 0)
			*err_r = xstrdup("lost the lease to another storaged");
		return rc;
	}
	*err_r = xstrdup("the lease keeps changing under us");
	return 1;
}

/* ---- the uploader thread ------------------------------------------------- */

static int
bk_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The spool's objects in upload order (names; caller frees), with totals. */
static char **
bk_spool_scan(struct backup *b, size_t *n_r, uint64_t *bytes_r)
{
	DIR *d = opendir(b->cfg.spool_dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	uint64_t bytes = 0;

	*n_r = 0;
	*bytes_r = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || strlen(de->d_name) != 41) /* bk_spool_name */
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
		bytes += (uint64_t)sb.st_size;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), bk_name_cmp);
	*n_r = n;
	*bytes_r = bytes;
	return v;
}

static void
bk_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Uploads one spool file.  REPLICA_OK (also when it was there already). */
static int
bk_upload_one(struct backup *b, struct replica *r, const char *name, uint64_t *bytes_r,
    struct seg_hdr *h, char **err_r)
{
	char *path = xasprintf("%s/%s", b->cfg.spool_dir, name), key[BK_KEY_MAX];
	uint8_t hb[SEG_HDR_SIZE];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	free(path);
	if (fd < 0 || fstat(fd, &sb) != 0 || pread(fd, hb, sizeof(hb), 0) != (ssize_t)sizeof(hb) ||
	    seg_hdr_decode(hb, sizeof(hb), h, err_r) != 0) {
		if (*err_r == NULL)
			*err_r = xasprintf("spool %s: %m", name);
		if (fd >= 0)
			close(fd);
		return REPLICA_FAILED;
	}
	bk_key(key, h->timeline, h->seq, h->kind == SEG_KIND_SNAPSHOT, h->time_ms);
	rc = replica_put_fd(r, key, fd, true, err_r);
	close(fd);
	if (rc == REPLICA_EXISTS) {
		log_info("backup: %s is in the replica already (an upload retried after a crash)", key);
		free(*err_r);
		*err_r = NULL;
		rc = REPLICA_OK;
	}
	*bytes_r = (uint64_t)sb.st_size;
	return rc;
}

static void *
bk_up_main(void *arg)
{
	struct backup *b = arg;
	struct replica *r = NULL;
	char *err = NULL;
	unsigned attempt = 0;
	int64_t lease_until = 0;
	int64_t renew_ms = (int64_t)b->cfg.lease_ttl_s * 1000 / 3;

	if (replica_open(&r, &b->cfg.rc, &err) != 0) {
		free(err);
		return NULL;
	}
	for (;;) {
		size_t n;
		uint64_t bytes;
		char **names;
		int64_t now = time_wall_ms();
		int rc;

		pthread_mutex_lock(&b->lock);
		if (b->stopping) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		pthread_mutex_unlock(&b->lock);
		if (now >= lease_until - 2 * renew_ms) {
			rc = bk_lease(b, r, &err);
			pthread_mutex_lock(&b->lock);
			b->lease_conflict = rc == 1;
			b->st.lease_held = rc == 0;
			if (rc != 0)
				bk_seterr(b->err_up, err);
			if (rc < 0)
				b->st.upload_errors++; /* the replica failed a request */
			pthread_mutex_unlock(&b->lock);
			if (rc != 0) {
				if (rc == 1)
					log_error("backup: %s", err);
				else
					log_warnx("backup: lease: %s", err);
				free(err);
				err = NULL;
				lease_until = 0;
				if (!bk_wait(b, &b->up_cond, rc == 1 ? renew_ms : bk_backoff(&attempt)))
					break;
				continue;
			}
			lease_until = now + (int64_t)b->cfg.lease_ttl_s * 1000;
		}
		names = bk_spool_scan(b, &n, &bytes);
		if (n == 0) {
			bk_names_free(names, n);
			if (!bk_wait(b, &b->up_cond, renew_ms))
				break;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct seg_hdr h = {0};
			uint64_t sz = 0;
			char *path;

			if (time_wall_ms() >= lease_until - renew_ms)
				break; /* renew first */
			rc = bk_upload_one(b, r, names[i], &sz, &h, &err);
			if (rc != REPLICA_OK) {
				log_warnx("backup: upload %s: %s", names[i], err ? err : replica_strerror(rc));
				pthread_mutex_lock(&b->lock);
				bk_seterr(b->err_up, err ? err : replica_strerror(rc));
				b->st.upload_errors++;
				pthread_mutex_unlock(&b->lock);
				free(err);
				err = NULL;
				if (!bk_wait(b, &b->up_cond, bk_backoff(&attempt))) {
					bk_names_free(names, n);
					goto out;
				}
				break;
			}
			attempt = 0;
			path = xasprintf("%s/%s", b->cfg.spool_dir, names[i]);
			unlink(path);
			free(path);
			bk_fsync_dir(b->cfg.spool_dir);
			pthread_mutex_lock(&b->lock);
			b->err_up[0] = '\0';
			b->st.uploads++;
			b->st.upload_bytes += sz;
			b->st.last_upload_ms = time_wall_ms();
			if (h.seq > b->st.seq_uploaded || h.kind == SEG_KIND_SEGMENT)
				b->st.seq_uploaded = h.seq;
			bk_queue_pop(b, names[i]);
			pthread_cond_signal(&b->cond); /* a shipper waiting for spool room */
			pthread_mutex_unlock(&b->lock);
			pthread_mutex_lock(&b->lock);
			if (b->stopping) {
				pthread_mutex_unlock(&b->lock);
				bk_names_free(names, n);
				goto out;
			}
			pthread_mutex_unlock(&b->lock);
		}
		bk_names_free(names, n);
	}
out:
	/* a clean stop hands the lease back: a successor need not wait out its TTL */
	if (lease_until > time_wall_ms()) {
		char *e2 = NULL;

		replica_delete(r, BK_LEASE_KEY, &e2);
		free(e2);
	}
	replica_close(&r);
	return NULL;
}

/* ---- public --------------------------------------------------------------- */

void
backup_status_get(struct backup *b, struct backup_status *st)
{
	int64_t now = time_wall_ms();

	if (b == NULL) {
		*st = (struct backup_status){0};
		snprintf(st->state, sizeof(st->state), "disabled");
		snprintf(st->last_validation, sizeof(st->last_validation), "never");
		return;
	}
	pthread_mutex_lock(&b->lock);
	*st = b->st;
	st->lag_s = bk_lag_locked(b, now);
	st->spool_bytes = b->spool_bytes;
	st->spool_files = b->spool_files;
	st->snapshot_pending = b->snapshot_req;
	st->validation_pending = b->verify_req || b->drill_running;
	if (b->lease_conflict) {
		snprintf(st->state, sizeof(st->state), "failed");
		snprintf(st->error, sizeof(st->error), "%s", b->err_up);
	} else if (b->err_ship[0] || b->err_up[0]) {
		snprintf(st->state, sizeof(st->state), "%s",
		    st->seq_uploaded == 0 && st->last_upload_ms == 0 ? "starting" : "degraded");
		snprintf(st->error, sizeof(st->error), "%s", b->err_ship[0] ? b->err_ship : b->err_up);
		if (strcmp(st->state, "starting") == 0 && b->degraded_since_ms != 0 &&
		    now - b->degraded_since_ms > BK_ALERT_AFTER_MS)
			snprintf(st->state, sizeof(st->state), "degraded");
	} else if (!b->ready_status) {
		snprintf(st->state, sizeof(st->state), "starting");
	} else {
		snprintf(st->state, sizeof(st->state), "ok");
	}
	pthread_mutex_unlock(&b->lock);
	st->wal_bytes = bk_wal_size(b);
}

int
backup_request_snapshot(struct backup *b, char **err_r)
{
	if (b == NULL) {
		*err_r = xstrdup("backup is not configured (KUBARR_BACKUP_URL is empty)");
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	b->snapshot_req = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int
backup_request_verify(struct backup *b, char **err_r)
{
	if (b == NULL) {
		*err_r = xstrdup("backup is not configured (KUBARR_BACKUP_URL is empty)");
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	b->verify_req = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int
backup_points(struct backup *b, uint64_t before_seq, size_t max, struct backup_point **pts_r,
    size_t *n_r, char **err_r)
{
	struct replica *r = NULL;
	struct bk_catalog cat;
	struct backup_point *v;
	size_t n = 0;
	int rc;

	if (b == NULL) {
		*err_r = xstrdup("backup is not configured (KUBARR_BACKUP_URL is empty)");
		return -1;
	}
	if (replica_open(&r, &b->cfg.rc, err_r) != 0)
		return -1;
	rc = bk_catalog_load(r, &cat, err_r);
	replica_close(&r);
	if (rc != REPLICA_OK)
		return -1;
	v = xcalloc(cat.n ? cat.n : 1, sizeof(*v));
	for (size_t i = cat.n; i-- > 0 && (max == 0 || n < max);)
		if (before_seq == 0 || cat.v[i].seq < before_seq)
			v[n++] = cat.v[i];
	bk_catalog_free(&cat);
	*pts_r = v;
	*n_r = n;
	return 0;
}

int
backup_start(struct backup **b_r, struct storaged *sd, struct db_conn *wconn,
    const struct backup_config *cfg, char **err_r)
{
	struct backup *b = xcalloc(1, sizeof(*b));
	struct replica *probe = NULL;
	char host[64] = "host", *idpath, id[40] = "";
	size_t n;
	uint64_t bytes;
	char **names;
	FILE *f;

	if (replica_open(&probe, &cfg->rc, err_r) != 0) {
		free(b);
		return -1;
	}
	b->sd = sd;
	b->cfg = *cfg;
	b->wconn = wconn;
	b->wal_fd = -1;
	b->wal_path = xasprintf("%s-wal", cfg->db_path);
	b->state_path = xasprintf("%s/state", cfg->spool_dir);
	b->validate_dir = xasprintf("%s/validate", cfg->spool_dir);
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->ship_mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	pthread_cond_init(&b->up_cond, NULL);
	pthread_cond_init(&b->job_cond, NULL);
	b->st.configured = true;
	snprintf(b->st.url, sizeof(b->st.url), "%s", replica_url(probe));
	snprintf(b->st.kind, sizeof(b->st.kind), "%s", replica_kind(probe));
	snprintf(b->st.last_validation, sizeof(b->st.last_validation), "never");
	replica_close(&probe);
	if (daemon_mkdir_p(cfg->spool_dir, 0750) != 0) {
		*err_r = xasprintf("backup spool %s: %m", cfg->spool_dir);
		backup_stop(&b);
		return -1;
	}
	/* a stable owner id per data directory: a restarted storaged keeps its lease */
	idpath = xasprintf("%s/instance-id", cfg->spool_dir);
	if ((f = fopen(idpath, "re")) != NULL) {
		if (fgets(id, sizeof(id), f) == NULL)
			id[0] = '\0';
		fclose(f);
		id[strcspn(id, "\n")] = '\0';
	}
	if (strlen(id) != 32) {
		uint8_t raw[16];

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
		if ((f = fopen(idpath, "we")) != NULL) {
			fprintf(f, "%s\n", id);
			fflush(f);
			fsync(fileno(f));
			fclose(f);
		}
	}
	free(idpath);
	gethostname(host, sizeof(host) - 1);
	snprintf(b->owner, sizeof(b->owner), "%s/%s", host, id);
	/* what the spool holds from an earlier run is uploaded first */
	names = bk_spool_scan(b, &n, &bytes);
	for (size_t i = 0; i < n; i++) {
		unsigned long long seq = strtoull(names[i], NULL, 10);
		unsigned long tl = strtoul(names[i] + 19, NULL, 10);

		if (seq > b->spool_max_seq)
			b->spool_max_seq = seq;
		if (tl > b->spool_max_tl)
			b->spool_max_tl = (uint32_t)tl;
	}
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", cfg->spool_dir, names[i]), *e2 = NULL;
		uint8_t hb[SEG_HDR_SIZE];
		struct seg_hdr h = {0};
		struct stat sb;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0 && fstat(fd, &sb) == 0 && pread(fd, hb, sizeof(hb), 0) == (ssize_t)sizeof(hb) &&
		    seg_hdr_decode(hb, sizeof(hb), &h, &e2) == 0)
			bk_queue_push(b, names[i], (uint64_t)sb.st_size, h.first_ms);
		else
			bk_queue_push(b, names[i], 0, time_wall_ms());
		if (fd >= 0)
			close(fd);
		free(e2);
		free(path);
	}
	bk_names_free(names, n);
	if (n > 0)
		log_info("backup: %zu objects (%llu bytes) waiting in the spool from an earlier run", n,
		    (unsigned long long)bytes);
	if (bk_db_fd < 0 && (bk_db_fd = open(cfg->db_path, O_RDONLY | O_CLOEXEC)) < 0) {
		*err_r = xasprintf("%s: %m", cfg->db_path);
		backup_stop(&b);
		return -1;
	}
	sqlite3_wal_hook(wconn->db, bk_wal_hook, b);
	*b_r = b;
	return 0;
}

int
backup_run(struct backup *b, struct writer *w, char **err_r)
{
	int rc;

	b->writer = w;
	if ((rc = pthread_create(&b->ship_thread, NULL, bk_ship_main, b)) != 0) {
		*err_r = xasprintf("backup shipper thread: %s", strerror(rc));
		return -1;
	}
	b->ship_started = true;
	if ((rc = pthread_create(&b->up_thread, NULL, bk_up_main, b)) != 0) {
		*err_r = xasprintf("backup uploader thread: %s", strerror(rc));
		return -1;
	}
	b->up_started = true;
	return 0;
}

void
backup_halt(struct backup *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->cond);
	pthread_cond_broadcast(&b->up_cond);
	pthread_mutex_unlock(&b->lock);
	if (b->ship_started)
		pthread_join(b->ship_thread, NULL);
	if (b->up_started)
		pthread_join(b->up_thread, NULL);
	if (b->drill_joinable)
		pthread_join(b->drill_thread, NULL);
	b->ship_started = b->up_started = b->drill_joinable = false;
}

void
backup_stop(struct backup **bp)
{
	struct backup *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	backup_halt(b);
	if (b->wconn != NULL)
		sqlite3_wal_hook(b->wconn->db, NULL, NULL);
	if (b->wal_fd >= 0)
		close(b->wal_fd);
	imghash_free(&b->ih);
	free(b->pages);
	free(b->q);
	free(b->wal_path);
	free(b->state_path);
	free(b->validate_dir);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->ship_mu);
	pthread_cond_destroy(&b->cond);
	pthread_cond_destroy(&b->up_cond);
	pthread_cond_destroy(&b->job_cond);
	free(b);
}
