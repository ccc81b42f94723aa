/* backup_watch: what the backup tells people: audit entries and
 * notifications (writer tasks), retention of old objects, the validation
 * drill, the backup_failed / backup_stale alerts. */
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

void
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

void
bk_drill_start(struct backup *b)
{
	pthread_mutex_lock(&b->lock);
	if (b->drill_running) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	b->verify_req = false;
	b->drill_running = true;
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

double
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

void
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
