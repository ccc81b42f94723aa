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
#include "backup_priv.h"

/* ---- small helpers ------------------------------------------------------- */

/* The database file, read for snapshots and checksums.  Opened once and
 * closed only after SQLite closed its connections (backup_release_db):
 * closing any descriptor of a file drops every POSIX lock the process holds
 * on it, SQLite's SHARED lock included, and then another process's
 * connection closing can checkpoint and delete the WAL under storaged (seen:
 * an operator's sqlite3 shell did exactly that). */
int bk_db_fd = -1;

void
backup_release_db(void)
{
	if (bk_db_fd >= 0)
		close(bk_db_fd);
	bk_db_fd = -1;
}

void
bk_seterr(char *dst, const char *msg)
{
	snprintf(dst, 256, "%s", msg != NULL ? msg : "");
}

/* Sleeps on cond until woken or ms pass; false when stopping. */
bool
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

int64_t
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

/* Wall time rounded up to the millisecond: a segment's time is never before a
 * commit in it, even within one millisecond (restore --to). */
int64_t
bk_now_ceil_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000;
}

/* ---- the WAL hook (writer thread) ---------------------------------------- */

static int
bk_wal_hook(void *arg, sqlite3 *db, const char *name, int npages)
{
	struct backup *b = arg;
	int64_t now = bk_now_ceil_ms();

	(void)db;
	(void)name;
	log_debug("backup: commit, the WAL holds %d frames", npages);
	pthread_mutex_lock(&b->lock);
	b->last_commit_ms = now;
	b->hooked++;
	if (b->pending_first_ms == 0)
		b->pending_first_ms = now;
	b->commit_pending = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return SQLITE_OK;
}

/* ---- the shipper thread -------------------------------------------------- */

uint64_t
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
		bool pending, snap, verify, need_tl, stopping, heavy = false;

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
		heavy = b->seg_bytes > BK_SNAP_SEG_FLOOR &&
		    b->seg_bytes > (uint64_t)b->ih.n * b->ih.page_size;
		pthread_mutex_unlock(&b->ship_mu);
		pthread_mutex_lock(&b->lock);
		snap = b->snapshot_req;
		verify = b->verify_req;
		pthread_mutex_unlock(&b->lock);
		if (need_tl || snap || heavy || now >= b->next_snapshot_ms) {
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
	/* from the request on (not only once the shipper starts the drill), so
	 * nobody reads the previous verdict as the new drill's */
	if (st->validation_pending)
		snprintf(st->last_validation, sizeof(st->last_validation), "running");
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

/* Raises a request flag and wakes the shipper. */
static int
bk_request(struct backup *b, bool *flag, char **err_r)
{
	if (b == NULL) {
		*err_r = xstrdup("backup is not configured (KUBARR_BACKUP_URL is empty)");
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	*flag = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int
backup_request_snapshot(struct backup *b, char **err_r)
{
	return bk_request(b, b != NULL ? &b->snapshot_req : NULL, err_r);
}

int
backup_request_verify(struct backup *b, char **err_r)
{
	return bk_request(b, b != NULL ? &b->verify_req : NULL, err_r);
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
