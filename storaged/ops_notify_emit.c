/* ops_notify_emit: emission, the outbox and the delivery log (issue 6).
 *
 * Emission writes inbox and outbox rows in the transaction of the change that
 * caused it (ops_notify_emit on the writer's connection, or NOTIFY_EMIT as its
 * own write), so a crash loses neither.  The sender (storaged's, later) leases
 * due rows with OUTBOX_TAKE and reports each attempt with OUTBOX_RESULT, which
 * logs it with the recipient masked.  The user ids are bound as one JSON
 * array: every statement is one indexed pass, whatever the number of users. */
#include "ops_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

#define OPS_NOTIFY_LEASE_DEFAULT_S 300
#define OPS_NOTIFY_LEASE_MAX_S 86400

static const char ops_notify_sql_event[] =
    "SELECT enabled, severity FROM notification_events WHERE event_type = ?";
static const char ops_notify_sql_missing_users[] =
    "SELECT (SELECT COUNT(DISTINCT value) FROM json_each(?1)) -"
    " (SELECT COUNT(*) FROM users WHERE id IN (SELECT value FROM json_each(?1)))";
static const char ops_notify_sql_inbox_insert[] =
    "INSERT INTO user_notifications(user_id, title, message, event_type, severity, created_at)"
    " SELECT DISTINCT value, ?2, ?3, ?4, ?5, ?6 FROM json_each(?1)";
static const char ops_notify_sql_outbox_insert[] =
    "INSERT INTO notification_outbox(user_id, channel_type, destination, event_type, title,"
    " message, next_attempt_at, created_at)"
    " SELECT p.user_id, p.channel_type, p.destination, ?2, ?3, ?4, ?5, ?5"
    " FROM user_notification_prefs AS p JOIN notification_channels AS ch"
    " ON ch.channel_type = p.channel_type"
    " WHERE p.user_id IN (SELECT DISTINCT value FROM json_each(?1)) AND ch.enabled = 1"
    " AND p.enabled = 1 AND p.verified = 1 AND p.destination IS NOT NULL"
    " AND p.destination <> ''";
static const char ops_notify_sql_take[] =
    "UPDATE notification_outbox SET next_attempt_at ="
    " strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '+' || ?3 || ' seconds')"
    " WHERE id IN (SELECT id FROM notification_outbox WHERE next_attempt_at <= ?1"
    " ORDER BY next_attempt_at, id LIMIT ?2)"
    " RETURNING id, user_id, channel_type, destination, event_type, title, message, attempts";
static const char ops_notify_sql_outbox_one[] =
    "SELECT user_id, channel_type, destination, event_type, attempts FROM notification_outbox"
    " WHERE id = ?";
static const char ops_notify_sql_outbox_delete[] = "DELETE FROM notification_outbox WHERE id = ?";
static const char ops_notify_sql_outbox_retry[] =
    "UPDATE notification_outbox SET attempts = attempts + 1, next_attempt_at = ?2,"
    " last_error = ?3 WHERE id = ?1";
static const char ops_notify_sql_log_insert[] =
    "INSERT INTO notification_logs(user_id, channel_type, event_type, recipient, status,"
    " error_message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
#define OPS_NOTIFY_LOG_WHERE                                                               \
	" WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR channel_type = ?2)"            \
	" AND (?3 IS NULL OR status = ?3)"
static const char ops_notify_sql_log_count[] =
    "SELECT COUNT(*) FROM notification_logs" OPS_NOTIFY_LOG_WHERE;
static const char ops_notify_sql_log_list[] =
    "SELECT id, user_id, channel_type, event_type, recipient, status, error_message, created_at"
    " FROM notification_logs" OPS_NOTIFY_LOG_WHERE
    " ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5";

/* ---- emission ----------------------------------------------------------- */

/* "[1,2,3]" (xmalloc'd). */
static char *
ops_notify_ids_json(const int64_t *ids, size_t n)
{
	size_t cap = n * 21 + 3, off = 0;
	char *s = xmalloc(cap);

	s[off++] = '[';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s%lld", i ? "," : "", (long long)ids[i]);
	s[off++] = ']';
	s[off] = '\0';
	return s;
}

/* The emission on c with the user ids as JSON; severity NULL: the event's. */
static int
ops_notify_emit_json(struct db_conn *c, const char *event_type, const char *title,
    const char *message, const char *ids, const char *severity, int *inbox_r, int *outbox_r)
{
	char sev[16], now[25];
	sqlite3_stmt *st;
	int rc, enabled = 0;

	*inbox_r = *outbox_r = 0;
	if ((st = db_stmt(c, ops_notify_sql_event)) == NULL)
		return -1;
	db_bind_text(st, 1, event_type);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enabled = sqlite3_column_int(st, 0);
		snprintf(sev, sizeof(sev), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (!enabled)
		return 0;
	db_now(now);

	if ((st = db_stmt(c, ops_notify_sql_inbox_insert)) == NULL)
		return -1;
	db_bind_text(st, 1, ids);
	db_bind_text(st, 2, title);
	db_bind_text(st, 3, message);
	db_bind_text(st, 4, event_type);
	db_bind_text(st, 5, severity != NULL ? severity : sev);
	db_bind_text(st, 6, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	*inbox_r = sqlite3_changes(c->db);

	if ((st = db_stmt(c, ops_notify_sql_outbox_insert)) == NULL)
		return -1;
	db_bind_text(st, 1, ids);
	db_bind_text(st, 2, event_type);
	db_bind_text(st, 3, title);
	db_bind_text(st, 4, message);
	db_bind_text(st, 5, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	*outbox_r = sqlite3_changes(c->db);
	return 0;
fail:
	log_warnx("notify emit %s: %s", event_type, sqlite3_errstr(rc));
	return -1;
}

int
ops_notify_emit(struct db_conn *c, const char *event_type, const char *title,
    const char *message, const int64_t *user_ids, size_t n, int *inbox_r, int *outbox_r)
{
	char *ids = ops_notify_ids_json(user_ids, n);
	int rc = ops_notify_emit_json(c, event_type, title, message, ids, NULL, inbox_r, outbox_r);

	free(ids);
	return rc;
}

static const char ops_notify_sql_security_ids[] =
    "SELECT json_group_array(id), (SELECT username FROM users WHERE id = ?1) FROM"
    " (SELECT ?1 AS id WHERE ?2 UNION SELECT ur.user_id FROM user_roles AS ur"
    " JOIN roles AS r ON r.id = ur.role_id JOIN users AS u ON u.id = ur.user_id"
    " WHERE r.name = 'admin' AND u.is_active = 1)";

int
ops_notify_emit_admins(struct db_conn *c, const char *event_type, const char *title,
    int64_t user_id, bool include_user, const char *before, const char *after)
{
	sqlite3_stmt *st;
	char *ids = NULL, *msg = NULL;
	int rc, inbox, outbox;

	if ((st = db_stmt(c, ops_notify_sql_security_ids)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int(st, 2, include_user ? 1 : 0);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *u = sqlite3_column_text(st, 1);

		ids = xstrdup((const char *)sqlite3_column_text(st, 0));
		msg = user_id > 0 ? xasprintf("%s%s%s", before, u != NULL ? (const char *)u : "?", after) :
		    xasprintf("%s%s", before, after); /* no user: a system event */
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		log_warnx("notify emit %s: %s", event_type, sqlite3_errstr(rc));
		return -1;
	}
	rc = ops_notify_emit_json(c, event_type, title, msg, ids, NULL, &inbox, &outbox);
	free(ids);
	free(msg);
	return rc;
}

int
ops_notify_emit_security(struct db_conn *c, const char *event_type, const char *title,
    int64_t user_id, const char *before, const char *after)
{
	return ops_notify_emit_admins(c, event_type, title, user_id, true, before, after);
}

enum proto_status
ops_notify_emit_op(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_notify_emit_req *req = arg;
	struct proto_notify_emit_rep rep;
	enum proto_status res;
	int64_t *v, missing = 0;
	int inbox = 0, outbox = 0;
	sqlite3_stmt *st;
	char *ids;

	if (!ops_notify_valid_event(req->event_type))
		return op_fail(ctx, PROTO_BAD_REQUEST, "event_type must be 1-64 of [a-z0-9_.]",
		    "event_type");
	if (req->title[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "title must not be empty", "title");
	if (req->message[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "message must not be empty", "message");
	if (req->has_severity && !ops_notify_valid_severity(req->severity))
		return op_fail(ctx, PROTO_BAD_REQUEST, "severity must be info, warning or critical",
		    "severity");
	v = xmalloc((req->user_ids.n + 1) * sizeof(*v));
	for (size_t i = 0; i < req->user_ids.n; i++)
		v[i] = req->user_ids.v[i].id;
	ids = ops_notify_ids_json(v, req->user_ids.n);
	free(v);
	if ((st = db_stmt(ctx->c, ops_notify_sql_missing_users)) == NULL) {
		free(ids);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	db_bind_text(st, 1, ids);
	if ((res = ops_notify_scalar(ctx, st, &missing)) != PROTO_OK) {
		free(ids);
		return res;
	}
	if (missing != 0) {
		free(ids);
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_ids");
	}
	if (ops_notify_emit_json(ctx->c, req->event_type, req->title, req->message, ids,
		req->has_severity ? req->severity : NULL, &inbox, &outbox) != 0) {
		free(ids);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	free(ids);
	memset(&rep, 0, sizeof(rep));
	rep.inbox = (uint64_t)inbox;
	rep.outbox = (uint64_t)outbox;
	*reply_r = proto_notify_emit_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* ---- outbox ------------------------------------------------------------- */

enum proto_status
ops_outbox_take(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_outbox_take_req *req = arg;
	struct proto_outbox_take_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_out *v = NULL;
	size_t n = 0, cap = 0;
	int64_t limit;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (!ops_notify_limit(req->has_limit, req->limit, &limit))
		return op_fail(ctx, PROTO_BAD_REQUEST, "limit must be 1..200", "limit");
	if (req->has_now && !op_valid_time(req->now))
		return op_fail(ctx, PROTO_BAD_REQUEST, "now must be RFC 3339 UTC", "now");
	if (req->has_lease_s && (req->lease_s < 1 || req->lease_s > OPS_NOTIFY_LEASE_MAX_S))
		return op_fail(ctx, PROTO_BAD_REQUEST, "lease_s must be 1..86400", "lease_s");
	if ((st = db_stmt(ctx->c, ops_notify_sql_take)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	if (req->has_now)
		snprintf(now, sizeof(now), "%s", req->now);
	else
		db_now(now);
	db_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, req->has_lease_s ? (int64_t)req->lease_s : OPS_NOTIFY_LEASE_DEFAULT_S);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_notify_out *r;

		v = op_grow(v, &cap, n, sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->has_user_id = sqlite3_column_type(st, 1) != SQLITE_NULL;
		r->user_id = sqlite3_column_int64(st, 1);
		r->channel_type = op_pool_dup(&pool, op_col(st, 2));
		r->destination = op_pool_dup(&pool, op_col(st, 3));
		r->event_type = op_pool_dup(&pool, op_col(st, 4));
		r->title = op_pool_dup(&pool, op_col(st, 5));
		r->message = op_pool_dup(&pool, op_col(st, 6));
		r->attempts = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.rows.v = v;
		rep.rows.n = n;
		*reply_r = proto_outbox_take_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

int
ops_notify_outbox_lease(struct db_conn *c, int64_t limit, int64_t lease_s,
    void (*fn)(void *arg, sqlite3_stmt *row), void *arg)
{
	sqlite3_stmt *st = db_stmt(c, ops_notify_sql_take);
	char now[25];
	int rc;

	if (st == NULL)
		return -1;
	db_now(now);
	db_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, lease_s);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("notify outbox lease: %s", sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

/* One notification_logs row; its id in *id_r. */
static enum proto_status
ops_notify_log(struct op_ctx *ctx, sqlite3_stmt *row, const char *status, const char *error,
    int64_t *id_r)
{
	char *masked = ops_notify_mask_dest(op_col(row, 1), op_col(row, 2));
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];

	if ((st = db_stmt(ctx->c, ops_notify_sql_log_insert)) == NULL) {
		free(masked);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	db_now(now);
	if (sqlite3_column_type(row, 0) != SQLITE_NULL)
		sqlite3_bind_int64(st, 1, sqlite3_column_int64(row, 0));
	db_bind_text(st, 2, op_col(row, 1));
	db_bind_text(st, 3, op_col(row, 3));
	db_bind_text(st, 4, masked);
	db_bind_text(st, 5, status);
	db_bind_text(st, 6, error);
	db_bind_text(st, 7, now);
	res = ops_notify_step(ctx, st);
	free(masked);
	*id_r = sqlite3_last_insert_rowid(ctx->c->db);
	return res;
}

enum proto_status
ops_outbox_result(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_outbox_result_req *req = arg;
	bool give_up = !req->ok && req->has_give_up && req->give_up;
	bool retry = !req->ok && !give_up;
	const char *error = req->has_error ? req->error : NULL;
	struct proto_outbox_result_rep rep;
	enum proto_status res;
	sqlite3_stmt *row, *st;
	int64_t attempts, log_id = 0;
	int rc;

	if (retry && !(req->has_next_attempt_at && op_valid_time(req->next_attempt_at)))
		return op_fail(ctx, PROTO_BAD_REQUEST, "a retry needs next_attempt_at (RFC 3339 UTC)",
		    "next_attempt_at");
	if (!req->ok && error == NULL)
		error = give_up ? "gave up" : "failed";
	if ((row = db_stmt(ctx->c, ops_notify_sql_outbox_one)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(row, 1, req->id);
	if ((rc = sqlite3_step(row)) != SQLITE_ROW) {
		sqlite3_reset(row);
		if (rc == SQLITE_DONE)
			return op_fail(ctx, PROTO_NOT_FOUND, "no such outbox row", "id");
		return op_sqlite_fail(ctx, rc);
	}
	attempts = sqlite3_column_int64(row, 4) + (req->ok ? 0 : 1);
	/* the log first, while row's columns are readable */
	res = ops_notify_log(ctx, row, req->ok ? "sent" : retry ? "retrying" : "failed", error,
	    &log_id);
	sqlite3_reset(row);
	if (res != PROTO_OK)
		return res;
	if (retry) {
		if ((st = db_stmt(ctx->c, ops_notify_sql_outbox_retry)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, req->id);
		db_bind_text(st, 2, req->next_attempt_at);
		db_bind_text(st, 3, error);
	} else {
		if ((st = db_stmt(ctx->c, ops_notify_sql_outbox_delete)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, req->id);
	}
	if ((res = ops_notify_step(ctx, st)) != PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.status = req->ok ? "sent" : retry ? "retrying" : "failed";
	rep.attempts = attempts;
	rep.log_id = log_id;
	*reply_r = proto_outbox_result_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* ---- log ---------------------------------------------------------------- */

static void
ops_notify_log_bind(sqlite3_stmt *st, const struct proto_log_list_req *req)
{
	if (req->has_user_id)
		sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->has_channel_type ? req->channel_type : NULL);
	db_bind_text(st, 3, req->has_status ? req->status : NULL);
}

enum proto_status
ops_log_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_log_list_req *req = arg;
	struct proto_log_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_log *v = NULL;
	int64_t limit, total = 0;
	size_t n = 0, cap = 0;
	enum proto_status res;
	sqlite3_stmt *st;
	int rc;

	if (!ops_notify_limit(req->has_limit, req->limit, &limit))
		return op_fail(ctx, PROTO_BAD_REQUEST, "limit must be 1..200", "limit");
	if (req->has_offset && req->offset > INT64_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "offset too large", "offset");
	if ((st = db_stmt(ctx->c, ops_notify_sql_log_count)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	ops_notify_log_bind(st, req);
	if ((res = ops_notify_scalar(ctx, st, &total)) != PROTO_OK)
		return res;
	if ((st = db_stmt(ctx->c, ops_notify_sql_log_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	ops_notify_log_bind(st, req);
	sqlite3_bind_int64(st, 4, limit);
	sqlite3_bind_int64(st, 5, req->has_offset ? (int64_t)req->offset : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_notify_log *r;

		v = op_grow(v, &cap, n, sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->has_user_id = sqlite3_column_type(st, 1) != SQLITE_NULL;
		r->user_id = sqlite3_column_int64(st, 1);
		r->channel_type = op_pool_dup(&pool, op_col(st, 2));
		r->event_type = op_pool_dup(&pool, op_col(st, 3));
		r->recipient = op_pool_dup(&pool, op_col(st, 4));
		r->has_recipient = r->recipient != NULL;
		r->status = op_pool_dup(&pool, op_col(st, 5));
		r->error_message = op_pool_dup(&pool, op_col(st, 6));
		r->has_error_message = r->error_message != NULL;
		r->created_at = op_pool_dup(&pool, op_col(st, 7));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.logs.v = v;
		rep.logs.n = n;
		rep.total = (uint64_t)total;
		*reply_r = proto_log_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}
