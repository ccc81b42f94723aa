/* ops_audit: the audit log (API.md section 10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "ops_notify.h"
#include "xmalloc.h"

static const char ops_audit_sql_json[] = "SELECT json_valid(?)";
static const char ops_audit_sql_insert[] =
    "INSERT INTO audit_logs(timestamp, user_id, username, action, resource_type, resource_id,"
    " details, ip_address, user_agent, success, error_message)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* The event types of API.md 9 are the audit actions.  Those emitted by the
 * change itself, in its own transaction (the security events, user_created),
 * are not emitted again here; every other enabled one is emitted with its audit
 * entry, for the admins and the acting user.  Inside a savepoint: a failed
 * emission never costs the audit entry. */
static const char ops_audit_sql_event_on[] =
    "SELECT 1 FROM notification_events WHERE event_type = ? AND enabled = 1";

static void
ops_audit_notify(struct op_ctx *ctx, const struct proto_audit_append_req *req)
{
	static const char *const at_change[] = {"password_changed", "2fa_disabled", "user_created"};
	sqlite3_stmt *st;
	char *after, *err = NULL;
	bool on;

	for (size_t i = 0; i < sizeof(at_change) / sizeof(at_change[0]); i++)
		if (strcmp(req->action, at_change[i]) == 0)
			return;
	if ((st = db_stmt(ctx->c, ops_audit_sql_event_on)) == NULL)
		return;
	db_bind_text(st, 1, req->action);
	on = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (!on)
		return;
	after = xasprintf(": %s %s%s%s", req->action, req->resource_type,
	    req->has_resource_id ? " " : "", req->has_resource_id ? req->resource_id : "");
	if (db_exec(ctx->c, "SAVEPOINT audit_notify", &err) == 0) {
		if (ops_notify_emit_admins(ctx->c, req->action, req->action,
		    req->has_user_id ? req->user_id : 0, req->has_user_id, "", after) != 0) {
			free(err);
			err = NULL;
			db_exec(ctx->c, "ROLLBACK TO audit_notify", &err);
		}
		free(err);
		err = NULL;
		db_exec(ctx->c, "RELEASE audit_notify", &err);
	}
	free(err);
	free(after);
}

enum proto_status
ops_audit_append(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_audit_append_req *req = arg;
	struct proto_audit_append_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->action[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "action must not be empty", "action");
	if (req->resource_type[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "resource_type must not be empty", "resource_type");
	if (req->has_details) {
		if ((st = db_stmt(ctx->c, ops_audit_sql_json)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		db_bind_text(st, 1, req->details);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
			return op_fail(ctx, PROTO_BAD_REQUEST, "details must be JSON", "details");
	}
	if ((st = db_stmt(ctx->c, ops_audit_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, now);
	if (req->has_user_id)
		sqlite3_bind_int64(st, 2, req->user_id);
	db_bind_text(st, 3, req->has_username ? req->username : NULL);
	db_bind_text(st, 4, req->action);
	db_bind_text(st, 5, req->resource_type);
	db_bind_text(st, 6, req->has_resource_id ? req->resource_id : NULL);
	db_bind_text(st, 7, req->has_details ? req->details : NULL);
	db_bind_text(st, 8, req->has_ip_address ? req->ip_address : NULL);
	db_bind_text(st, 9, req->has_user_agent ? req->user_agent : NULL);
	sqlite3_bind_int(st, 10, req->success ? 1 : 0);
	db_bind_text(st, 11, req->has_error_message ? req->error_message : NULL);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.id = sqlite3_last_insert_rowid(ctx->c->db);
	rep.timestamp = now;
	if (req->success)
		ops_audit_notify(ctx, req);
	*reply_r = proto_audit_append_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* ---- list, stats, clear --------------------------------------------------- */

#define OPS_AUDIT_COLUMNS \
	"id, timestamp, user_id, username, action, resource_type, resource_id, details," \
	" ip_address, user_agent, success, error_message"

/* Fills one record from a row of OPS_AUDIT_COLUMNS; strings point into the row. */
static void
ops_audit_row(sqlite3_stmt *st, struct proto_rec_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	e->timestamp = (const char *)sqlite3_column_text(st, 1);
	if ((e->has_user_id = sqlite3_column_type(st, 2) != SQLITE_NULL))
		e->user_id = sqlite3_column_int64(st, 2);
	if ((e->has_username = sqlite3_column_type(st, 3) != SQLITE_NULL))
		e->username = (const char *)sqlite3_column_text(st, 3);
	e->action = (const char *)sqlite3_column_text(st, 4);
	e->resource_type = (const char *)sqlite3_column_text(st, 5);
	if ((e->has_resource_id = sqlite3_column_type(st, 6) != SQLITE_NULL))
		e->resource_id = (const char *)sqlite3_column_text(st, 6);
	if ((e->has_details = sqlite3_column_type(st, 7) != SQLITE_NULL))
		e->details = (const char *)sqlite3_column_text(st, 7);
	if ((e->has_ip_address = sqlite3_column_type(st, 8) != SQLITE_NULL))
		e->ip_address = (const char *)sqlite3_column_text(st, 8);
	if ((e->has_user_agent = sqlite3_column_type(st, 9) != SQLITE_NULL))
		e->user_agent = (const char *)sqlite3_column_text(st, 9);
	e->success = sqlite3_column_int(st, 10) != 0;
	if ((e->has_error_message = sqlite3_column_type(st, 11) != SQLITE_NULL))
		e->error_message = (const char *)sqlite3_column_text(st, 11);
}

/* Entries are copied: the rows are gone once the statement steps again. */
static void
ops_audit_copy(struct proto_rec_audit_entry *dst, const struct proto_rec_audit_entry *src)
{
	*dst = *src;
#define OPS_AUDIT_DUP(f) dst->f = src->f ? xstrdup(src->f) : NULL
	OPS_AUDIT_DUP(timestamp);
	OPS_AUDIT_DUP(username);
	OPS_AUDIT_DUP(action);
	OPS_AUDIT_DUP(resource_type);
	OPS_AUDIT_DUP(resource_id);
	OPS_AUDIT_DUP(details);
	OPS_AUDIT_DUP(ip_address);
	OPS_AUDIT_DUP(user_agent);
	OPS_AUDIT_DUP(error_message);
#undef OPS_AUDIT_DUP
}

static void
ops_audit_free_entries(struct proto_rec_audit_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].timestamp);
		free((char *)v[i].username);
		free((char *)v[i].action);
		free((char *)v[i].resource_type);
		free((char *)v[i].resource_id);
		free((char *)v[i].details);
		free((char *)v[i].ip_address);
		free((char *)v[i].user_agent);
		free((char *)v[i].error_message);
	}
	free(v);
}

/* Reads every row of a prepared query into a heap array of entries. */
static int
ops_audit_collect(sqlite3_stmt *st, struct proto_rec_audit_entry **v_r, size_t *n_r)
{
	struct proto_rec_audit_entry *v = NULL, row;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		ops_audit_row(st, &row);
		ops_audit_copy(&v[n++], &row);
	}
	*v_r = v;
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : rc;
}

/* WHERE clause for the filters of AUDIT_LIST; binds are numbered ?1..?8. */
static void
ops_audit_where(const struct proto_audit_list_req *req, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, " WHERE 1");

#define OPS_AUDIT_COND(has, cond) \
	if ((has) && n < len) \
		n += (size_t)snprintf(buf + n, len - n, " AND %s", cond)
	OPS_AUDIT_COND(req->has_user_id, "user_id = ?1");
	OPS_AUDIT_COND(req->has_action, "action = ?2");
	OPS_AUDIT_COND(req->has_resource_type, "resource_type = ?3");
	OPS_AUDIT_COND(req->has_success, "success = ?4");
	OPS_AUDIT_COND(req->has_from, "timestamp >= ?5");
	OPS_AUDIT_COND(req->has_to, "timestamp <= ?6");
	OPS_AUDIT_COND(req->has_search,
	    "(instr(username, ?7) > 0 OR instr(action, ?7) > 0 OR instr(resource_id, ?7) > 0"
	    " OR instr(details, ?7) > 0)");
#undef OPS_AUDIT_COND
}

static void
ops_audit_bind(sqlite3_stmt *st, const struct proto_audit_list_req *req)
{
	if (req->has_user_id)
		sqlite3_bind_int64(st, 1, req->user_id);
	if (req->has_action)
		db_bind_text(st, 2, req->action);
	if (req->has_resource_type)
		db_bind_text(st, 3, req->resource_type);
	if (req->has_success)
		sqlite3_bind_int(st, 4, req->success ? 1 : 0);
	if (req->has_from)
		db_bind_text(st, 5, req->from);
	if (req->has_to)
		db_bind_text(st, 6, req->to);
	if (req->has_search)
		db_bind_text(st, 7, req->search);
}

enum proto_status
ops_audit_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_audit_list_req *req = arg;
	struct proto_audit_list_rep rep;
	struct proto_rec_audit_entry *v = NULL;
	uint64_t page = req->has_page ? req->page : 1, per_page = req->has_per_page ? req->per_page : 50;
	sqlite3_stmt *st = NULL;
	char where[512], sql[1024];
	size_t n = 0;
	int rc;

	if (page < 1 || page > 1000000)
		return op_fail(ctx, PROTO_BAD_REQUEST, "page must be 1 or more", "page");
	if (per_page < 1 || per_page > 100)
		return op_fail(ctx, PROTO_BAD_REQUEST, "per_page must be 1..100", "per_page");
	if (req->has_from && !op_valid_time(req->from))
		return op_fail(ctx, PROTO_BAD_REQUEST, "from must be YYYY-MM-DDTHH:MM:SS.mmmZ", "from");
	if (req->has_to && !op_valid_time(req->to))
		return op_fail(ctx, PROTO_BAD_REQUEST, "to must be YYYY-MM-DDTHH:MM:SS.mmmZ", "to");
	ops_audit_where(req, where, sizeof(where));
	memset(&rep, 0, sizeof(rep));

	/* the filters vary, so these two are prepared per call (not cached); with no
	 * filter or the action alone, the total comes from audit_counts (0002) */
	if (!req->has_user_id && !req->has_resource_type && !req->has_success &&
	    !req->has_from && !req->has_to && !req->has_search)
		snprintf(sql, sizeof(sql), "SELECT COALESCE(SUM(n), 0) FROM audit_counts%s",
		    req->has_action ? " WHERE action = ?2" : "");
	else
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM audit_logs%s", where);
	if ((rc = sqlite3_prepare_v2(ctx->c->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return op_sqlite_fail(ctx, rc);
	ops_audit_bind(st, req);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return op_sqlite_fail(ctx, rc);
	}
	rep.total = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	snprintf(sql, sizeof(sql),
	    "SELECT " OPS_AUDIT_COLUMNS " FROM audit_logs%s ORDER BY timestamp DESC, id DESC"
	    " LIMIT ?9 OFFSET ?10", where);
	if ((rc = sqlite3_prepare_v2(ctx->c->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return op_sqlite_fail(ctx, rc);
	ops_audit_bind(st, req);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)per_page);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)((page - 1) * per_page));
	rc = ops_audit_collect(st, &v, &n);
	sqlite3_finalize(st);
	if (rc != 0) {
		ops_audit_free_entries(v, n);
		return op_sqlite_fail(ctx, rc);
	}
	rep.logs.v = v;
	rep.logs.n = n;
	rep.page = page;
	rep.per_page = per_page;
	rep.total_pages = (rep.total + per_page - 1) / per_page;
	*reply_r = proto_audit_list_rep_msg(ctx->req_id, &rep);
	ops_audit_free_entries(v, n);
	return PROTO_OK;
}

static const char ops_audit_sql_count[] = "SELECT COALESCE(SUM(n), 0) FROM audit_counts";
static const char ops_audit_sql_count_ok[] = "SELECT COUNT(*) FROM audit_logs WHERE success = 1";
static const char ops_audit_sql_count_since[] =
    "SELECT COUNT(*) FROM audit_logs WHERE timestamp >= ?";
static const char ops_audit_sql_top[] =
    "SELECT action, n FROM audit_counts WHERE n > 0 ORDER BY n DESC, action LIMIT 10";
static const char ops_audit_sql_failures[] =
    "SELECT " OPS_AUDIT_COLUMNS " FROM audit_logs WHERE success = 0"
    " ORDER BY timestamp DESC, id DESC LIMIT 10";

static int
ops_audit_scalar(struct db_conn *c, const char *sql, const char *bind, uint64_t *v_r)
{
	sqlite3_stmt *st = db_stmt(c, sql);
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	if (bind != NULL)
		db_bind_text(st, 1, bind);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return rc;
	*v_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

enum proto_status
ops_audit_stats(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_audit_stats_rep rep;
	struct proto_kv top[10];
	char *names[10] = {0};
	struct proto_rec_audit_entry *fails = NULL;
	char midnight[25], week[25];
	size_t nfails = 0, ntop = 0;
	sqlite3_stmt *st;
	time_t now = time(NULL), day = now - now % 86400, wk = now - 7 * 86400;
	struct tm tm;
	int rc;

	(void)arg;
	memset(&rep, 0, sizeof(rep));
	gmtime_r(&day, &tm);
	strftime(midnight, sizeof(midnight), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	gmtime_r(&wk, &tm);
	strftime(week, sizeof(week), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if ((rc = ops_audit_scalar(ctx->c, ops_audit_sql_count, NULL, &rep.total_events)) != 0 ||
	    (rc = ops_audit_scalar(ctx->c, ops_audit_sql_count_ok, NULL, &rep.successful_events)) != 0 ||
	    (rc = ops_audit_scalar(ctx->c, ops_audit_sql_count_since, midnight, &rep.events_today)) != 0 ||
	    (rc = ops_audit_scalar(ctx->c, ops_audit_sql_count_since, week, &rep.events_this_week)) != 0)
		return op_sqlite_fail(ctx, rc);
	rep.failed_events = rep.total_events - rep.successful_events;
	if ((st = db_stmt(ctx->c, ops_audit_sql_top)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && ntop < 10) {
		names[ntop] = xstrdup((const char *)sqlite3_column_text(st, 0));
		top[ntop].key = names[ntop];
		top[ntop].val = sqlite3_column_int64(st, 1);
		ntop++;
	}
	sqlite3_reset(st);
	if ((st = db_stmt(ctx->c, ops_audit_sql_failures)) == NULL) {
		rc = SQLITE_ERROR;
	} else {
		rc = ops_audit_collect(st, &fails, &nfails);
		sqlite3_reset(st);
	}
	if (rc == 0) {
		rep.top_actions.v = top;
		rep.top_actions.n = ntop;
		rep.recent_failures.v = fails;
		rep.recent_failures.n = nfails;
		*reply_r = proto_audit_stats_rep_msg(ctx->req_id, &rep);
	}
	for (size_t i = 0; i < ntop; i++)
		free(names[i]);
	ops_audit_free_entries(fails, nfails);
	return rc == 0 ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

static const char ops_audit_sql_clear[] =
    "DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE timestamp < ?1"
    " ORDER BY timestamp LIMIT ?2)";

/* Deletes up to max_rows entries older than `days` days; the number deleted. */
int
ops_audit_clear_batch(struct db_conn *c, uint64_t days, uint64_t max_rows, uint64_t *deleted_r)
{
	sqlite3_stmt *st = db_stmt(c, ops_audit_sql_clear);
	time_t cutoff = time(NULL) - (time_t)days * 86400;
	char ts[25];
	struct tm tm;
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	gmtime_r(&cutoff, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.999Z", &tm);
	if (days == 0)
		snprintf(ts, sizeof(ts), "9999-12-31T23:59:59.999Z");
	db_bind_text(st, 1, ts);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max_rows);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return rc;
	*deleted_r = (uint64_t)sqlite3_changes(c->db);
	return 0;
}

enum proto_status
ops_audit_clear(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_audit_clear_req *req = arg;
	struct proto_audit_clear_rep rep;
	uint64_t days = req->has_days ? req->days : 90;
	uint64_t max_rows = req->has_max_rows ? req->max_rows : 10000;
	int rc;

	if (days > 36500)
		return op_fail(ctx, PROTO_BAD_REQUEST, "days must be 0..36500", "days");
	if (max_rows < 1 || max_rows > 100000)
		return op_fail(ctx, PROTO_BAD_REQUEST, "max_rows must be 1..100000", "max_rows");
	memset(&rep, 0, sizeof(rep));
	if ((rc = ops_audit_clear_batch(ctx->c, days, max_rows, &rep.deleted)) != 0)
		return op_sqlite_fail(ctx, rc);
	rep.more = rep.deleted == max_rows;
	*reply_r = proto_audit_clear_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
