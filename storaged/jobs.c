#include "jobs.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "ops.h"
#include "ops_sessions.h"
#include "timeutil.h"
#include "writer.h"
#include "xmalloc.h"

#define JOBS_HOUR_MS (3600LL * 1000)
#define JOBS_DAY_MS (24 * JOBS_HOUR_MS)
#define JOBS_AUDIT_BATCH 5000

struct jobs_run {
	struct jobs *j;
	const char *name;
	uint64_t total;
	unsigned batches;
	int64_t started_us;
	atomic_bool busy;
};

struct jobs {
	struct writer *w;
	struct jobs_config cfg;
	int64_t next_hourly_ms, next_daily_ms;
	struct jobs_run audit, requests, sessions;
	atomic_ullong audit_deleted;
};

static const char jobs_sql_requests[] =
    "DELETE FROM request_log WHERE req_id IN (SELECT req_id FROM request_log"
    " WHERE created_at < ?1 LIMIT 5000)";

static void
jobs_done(struct jobs_run *run)
{
	log_info("jobs: %s removed %llu rows in %u batches (%lld ms)", run->name,
	    (unsigned long long)run->total, run->batches,
	    (long long)(time_mono_us() - run->started_us) / 1000);
	atomic_store(&run->busy, false);
}

/* Writer thread. */
static int
jobs_audit_task(struct db_conn *c, void *arg, bool *again_r)
{
	struct jobs_run *run = arg;
	uint64_t n = 0;
	int rc = ops_audit_clear_batch(c, run->j->cfg.audit_retention_days, JOBS_AUDIT_BATCH, &n);

	if (rc != 0) {
		log_error("jobs: audit retention: %s", sqlite3_errmsg(c->db));
		atomic_store(&run->busy, false);
		return -1;
	}
	run->total += n;
	run->batches++;
	atomic_fetch_add(&run->j->audit_deleted, n);
	if ((*again_r = n == JOBS_AUDIT_BATCH) == false)
		jobs_done(run);
	return 0;
}

/* Writer thread: request ids are kept an hour, far beyond any client retry. */
static int
jobs_requests_task(struct db_conn *c, void *arg, bool *again_r)
{
	struct jobs_run *run = arg;
	sqlite3_stmt *st = db_stmt(c, jobs_sql_requests);
	char cutoff[25];
	time_t t = time(NULL) - 3600;
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if (st == NULL || (db_bind_text(st, 1, cutoff), sqlite3_step(st)) != SQLITE_DONE) {
		log_error("jobs: request_log: %s", sqlite3_errmsg(c->db));
		atomic_store(&run->busy, false);
		return -1;
	}
	n = sqlite3_changes(c->db);
	run->total += (uint64_t)n;
	run->batches++;
	if ((*again_r = n == 5000) == false)
		jobs_done(run);
	return 0;
}

/* Writer thread: expired sessions, and revoked ones older than a day. */
static int
jobs_sessions_task(struct db_conn *c, void *arg, bool *again_r)
{
	struct jobs_run *run = arg;
	long long n = 0;

	*again_r = false;
	if (ops_sessions_cleanup(c, &n) != 0) {
		log_error("jobs: session cleanup: %s", sqlite3_errmsg(c->db));
		atomic_store(&run->busy, false);
		return -1;
	}
	run->total = (uint64_t)n;
	run->batches = 1;
	jobs_done(run);
	return 0;
}

static void
jobs_start(struct jobs *j, struct jobs_run *run, op_task_fn fn)
{
	if (atomic_exchange(&run->busy, true))
		return; /* the previous run is still going */
	run->total = 0;
	run->batches = 0;
	run->started_us = time_mono_us();
	writer_submit_task(j->w, fn, run);
}

void
jobs_tick(struct jobs *j, int64_t now_ms)
{
	if (j->next_hourly_ms == 0) {
		j->next_hourly_ms = j->next_daily_ms = now_ms + (int64_t)j->cfg.first_run_s * 1000;
		return;
	}
	if (now_ms >= j->next_hourly_ms) {
		j->next_hourly_ms = now_ms + JOBS_HOUR_MS;
		jobs_start(j, &j->requests, jobs_requests_task);
		jobs_start(j, &j->sessions, jobs_sessions_task);
	}
	if (now_ms >= j->next_daily_ms) {
		j->next_daily_ms = now_ms + JOBS_DAY_MS;
		if (j->cfg.audit_retention_days > 0)
			jobs_start(j, &j->audit, jobs_audit_task);
	}
}

struct jobs *
jobs_new(struct writer *w, const struct jobs_config *cfg)
{
	struct jobs *j = xcalloc(1, sizeof(*j));

	j->w = w;
	j->cfg = *cfg;
	j->audit.j = j->requests.j = j->sessions.j = j;
	j->sessions.name = "session cleanup";
	j->audit.name = "audit retention";
	j->requests.name = "request id expiry";
	return j;
}

void
jobs_free(struct jobs **jp)
{
	free(*jp);
	*jp = NULL;
}

uint64_t
jobs_audit_deleted(const struct jobs *j)
{
	return atomic_load(&j->audit_deleted);
}
