/* ops_notify_user: a user's notification preferences (destinations masked on
 * every read; a changed destination is unverified again, decision 8) and the
 * user's inbox (user_notifications).  Every inbox op names the user, and an
 * item of another user is not_found, never touched. */
#include "ops_notify.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const char ops_notify_sql_prefs[] =
    "SELECT channel_type, enabled, destination, verified FROM user_notification_prefs"
    " WHERE user_id = ? ORDER BY channel_type";
static const char ops_notify_sql_pref_one[] =
    "SELECT channel_type, enabled, destination, verified FROM user_notification_prefs"
    " WHERE user_id = ? AND channel_type = ?";
/* ?6: whether a destination was sent; "" clears it.  SET reads the old row. */
static const char ops_notify_sql_pref_upsert[] =
    "INSERT INTO user_notification_prefs(user_id, channel_type, enabled, destination, verified,"
    " created_at, updated_at) VALUES (?1, ?2, coalesce(?3, 1), nullif(?4, ''), 0, ?5, ?5)"
    " ON CONFLICT(user_id, channel_type) DO UPDATE SET enabled = coalesce(?3, enabled),"
    " verified = CASE WHEN ?6 AND destination IS NOT nullif(?4, '') THEN 0 ELSE verified END,"
    " destination = CASE WHEN ?6 THEN nullif(?4, '') ELSE destination END, updated_at = ?5";
static const char ops_notify_sql_pref_verify[] =
    "UPDATE user_notification_prefs SET verified = 1, updated_at = ?3"
    " WHERE user_id = ?1 AND channel_type = ?2 AND destination IS NOT NULL";

static const char ops_notify_sql_inbox_all[] =
    "SELECT id, title, message, event_type, severity, read, created_at FROM user_notifications"
    " WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
static const char ops_notify_sql_inbox_unread[] =
    "SELECT id, title, message, event_type, severity, read, created_at FROM user_notifications"
    " WHERE user_id = ? AND read = 0 ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
static const char ops_notify_sql_inbox_total[] =
    "SELECT COUNT(*) FROM user_notifications WHERE user_id = ?";
static const char ops_notify_sql_inbox_unread_n[] =
    "SELECT COUNT(*) FROM user_notifications WHERE user_id = ? AND read = 0";
static const char ops_notify_sql_inbox_read[] =
    "UPDATE user_notifications SET read = 1 WHERE id = ? AND user_id = ?";
static const char ops_notify_sql_inbox_read_all[] =
    "UPDATE user_notifications SET read = 1 WHERE user_id = ? AND read = 0";
static const char ops_notify_sql_inbox_delete[] =
    "DELETE FROM user_notifications WHERE id = ? AND user_id = ?";

_Static_assert(sizeof(struct proto_rec_notify_pref) == sizeof(struct proto_pref_set_rep) &&
	sizeof(struct proto_rec_notify_pref) == sizeof(struct proto_pref_verify_rep),
    "preference replies are a preference record");

/* A preference row, strings copied into pool (the destination masked). */
static void
ops_notify_pref_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_notify_pref *r = rec;
	const char *dest = op_col(st, 2);

	memset(r, 0, sizeof(*r));
	r->channel_type = op_pool_dup(pool, op_col(st, 0));
	r->enabled = sqlite3_column_int(st, 1) != 0;
	if (dest != NULL) {
		char *m = ops_notify_mask_dest(r->channel_type, dest);

		r->destination = op_pool_dup(pool, m);
		r->has_destination = true;
		free(m);
	}
	r->verified = sqlite3_column_int(st, 3) != 0;
}

enum proto_status
ops_pref_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_pref_list_req *req = arg;
	struct proto_pref_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_pref *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_notify_sql_prefs)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	v = op_collect(st, sizeof(*v), ops_notify_pref_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.prefs.v = v;
		rep.prefs.n = n;
		*reply_r = proto_pref_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* Replies with the (user, channel) row; the pref ops share it. */
static enum proto_status
ops_notify_pref_reply(struct op_ctx *ctx, int64_t user_id, const char *type, nng_msg **reply_r)
{
	struct op_pool pool = {0};
	struct proto_rec_notify_pref row;
	struct proto_pref_set_rep rep;
	struct proto_pref_verify_rep vrep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_notify_sql_pref_one)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, type);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ops_notify_pref_row(st, &pool, &row);
		/* one shape, each op's own encoder */
		if (ctx->op == PROTO_OP_PREF_VERIFY) {
			memcpy(&vrep, &row, sizeof(vrep));
			*reply_r = proto_pref_verify_rep_msg(ctx->req_id, &vrep);
		} else {
			memcpy(&rep, &row, sizeof(rep));
			*reply_r = proto_pref_set_rep_msg(ctx->req_id, &rep);
		}
	}
	sqlite3_reset(st);
	op_pool_free(&pool);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_INTERNAL, "preference vanished", NULL);
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_pref_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_pref_set_req *req = arg;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (!ops_notify_valid_channel(req->channel_type))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "channel_type must be email, telegram, messagebird, webhook, ntfy or gotify",
		    "channel_type");
	if (req->has_destination && strlen(req->destination) > OPS_NOTIFY_DEST_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "destination is longer than 320 bytes",
		    "destination");
	if ((st = db_stmt(ctx->c, ops_notify_sql_pref_upsert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->channel_type);
	if (req->has_enabled)
		sqlite3_bind_int(st, 3, req->enabled ? 1 : 0);
	db_bind_text(st, 4, req->has_destination ? req->destination : NULL);
	db_bind_text(st, 5, now);
	sqlite3_bind_int(st, 6, req->has_destination ? 1 : 0);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	return ops_notify_pref_reply(ctx, req->user_id, req->channel_type, reply_r);
}

enum proto_status
ops_pref_verify(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_pref_verify_req *req = arg;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];

	if ((st = db_stmt(ctx->c, ops_notify_sql_pref_verify)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->channel_type);
	db_bind_text(st, 3, now);
	if ((res = ops_notify_step(ctx, st)) != PROTO_OK)
		return res;
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no destination on that channel", "channel_type");
	return ops_notify_pref_reply(ctx, req->user_id, req->channel_type, reply_r);
}

/* ---- inbox -------------------------------------------------------------- */

static enum proto_status
ops_notify_count(struct op_ctx *ctx, const char *sql, int64_t user_id, int64_t *n_r)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(ctx->c, sql)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, user_id);
	return ops_notify_scalar(ctx, st, n_r);
}

enum proto_status
ops_inbox_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_inbox_list_req *req = arg;
	bool unread_only = req->has_unread_only && req->unread_only;
	struct proto_inbox_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_item *v = NULL;
	int64_t limit, total = 0, unread = 0;
	size_t n = 0, cap = 0;
	enum proto_status res;
	sqlite3_stmt *st;
	int rc;

	if (!ops_notify_limit(req->has_limit, req->limit, &limit))
		return op_fail(ctx, PROTO_BAD_REQUEST, "limit must be 1..200", "limit");
	if (req->has_offset && req->offset > INT64_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "offset too large", "offset");
	if ((res = ops_notify_count(ctx, ops_notify_sql_inbox_unread_n, req->user_id, &unread)) !=
	    PROTO_OK)
		return res;
	if (unread_only)
		total = unread;
	else if ((res = ops_notify_count(ctx, ops_notify_sql_inbox_total, req->user_id, &total)) !=
	    PROTO_OK)
		return res;
	st = db_stmt(ctx->c, unread_only ? ops_notify_sql_inbox_unread : ops_notify_sql_inbox_all);
	if (st == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, req->has_offset ? (int64_t)req->offset : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_notify_item *r;

		v = op_grow(v, &cap, n, sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->title = op_pool_dup(&pool, op_col(st, 1));
		r->message = op_pool_dup(&pool, op_col(st, 2));
		r->event_type = op_pool_dup(&pool, op_col(st, 3));
		r->has_event_type = r->event_type != NULL;
		r->severity = op_pool_dup(&pool, op_col(st, 4));
		r->read = sqlite3_column_int(st, 5) != 0;
		r->created_at = op_pool_dup(&pool, op_col(st, 6));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.items.v = v;
		rep.items.n = n;
		rep.total = (uint64_t)total;
		rep.unread = (uint64_t)unread;
		*reply_r = proto_inbox_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_inbox_count(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_inbox_count_req *req = arg;
	struct proto_inbox_count_rep rep;
	enum proto_status res;
	int64_t unread = 0;

	if ((res = ops_notify_count(ctx, ops_notify_sql_inbox_unread_n, req->user_id, &unread)) !=
	    PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.unread = (uint64_t)unread;
	*reply_r = proto_inbox_count_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* Runs an (id, user_id) statement; not_found "id" when no row of the user's. */
static enum proto_status
ops_notify_item_write(struct op_ctx *ctx, const char *sql, int64_t id, int64_t user_id)
{
	enum proto_status res;
	sqlite3_stmt *st;

	if ((st = db_stmt(ctx->c, sql)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user_id);
	if ((res = ops_notify_step(ctx, st)) != PROTO_OK)
		return res;
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such notification", "id");
	return PROTO_OK;
}

enum proto_status
ops_inbox_read(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_inbox_read_req *req = arg;
	struct proto_inbox_read_rep rep;
	enum proto_status res;
	int64_t unread = 0;

	if ((res = ops_notify_item_write(ctx, ops_notify_sql_inbox_read, req->id, req->user_id)) !=
	    PROTO_OK)
		return res;
	if ((res = ops_notify_count(ctx, ops_notify_sql_inbox_unread_n, req->user_id, &unread)) !=
	    PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.unread = (uint64_t)unread;
	*reply_r = proto_inbox_read_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

enum proto_status
ops_inbox_read_all(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_inbox_read_all_req *req = arg;
	struct proto_inbox_read_all_rep rep;
	enum proto_status res;
	sqlite3_stmt *st;

	if ((st = db_stmt(ctx->c, ops_notify_sql_inbox_read_all)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	if ((res = ops_notify_step(ctx, st)) != PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.count = (uint64_t)sqlite3_changes(ctx->c->db);
	*reply_r = proto_inbox_read_all_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

enum proto_status
ops_inbox_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_inbox_delete_req *req = arg;
	struct proto_inbox_delete_rep rep;
	enum proto_status res;

	if ((res = ops_notify_item_write(ctx, ops_notify_sql_inbox_delete, req->id, req->user_id)) !=
	    PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	*reply_r = proto_inbox_delete_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
