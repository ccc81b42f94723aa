/* The sessions family (ops 200-299): sessions, principals, invites, recovery
 * codes, OAuth, bootstrap status, server config.  This file holds the table,
 * the helpers the family shares, the session rows and the cleanup job.
 *
 * Events: every write that removes or creates a session publishes
 * ("session", 0, id).  SESSION_TOUCH publishes nothing (last_accessed_at is
 * not part of a principal; an event would empty authd's cache on every
 * batch), nor does the cleanup (it removes sessions already refused). */
#include "ops_sessions.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ops_notify.h"
#include "xmalloc.h"

static const struct op_def ops_sessions_table[] = {
	OPS_DEF_AUTHD(SESSION_CREATE, session_create, true, ops_session_create),
	OPS_DEF(PRINCIPAL_GET, principal_get, false, ops_principal_get),
	OPS_DEF(SESSION_GET, session_get, false, ops_session_get),
	OPS_DEF(SESSION_LIST_USER, session_list_user, false, ops_session_list_user),
	OPS_DEF(SESSION_DELETE, session_delete, true, ops_session_delete),
	OPS_DEF(SESSION_DELETE_USER, session_delete_user, true, ops_session_delete_user),
	OPS_DEF(SESSION_TOUCH, session_touch, true, ops_session_touch),
	OPS_DEF(SESSION_CLEANUP, session_cleanup, true, ops_session_cleanup),
	OPS_DEF(INVITE_CREATE, invite_create, true, ops_invite_create),
	OPS_DEF(INVITE_GET_BY_CODE, invite_get_by_code, false, ops_invite_get_by_code),
	OPS_DEF(INVITE_LIST, invite_list, false, ops_invite_list),
	OPS_DEF(INVITE_DELETE, invite_delete, true, ops_invite_delete),
	OPS_DEF(REGISTER_USER, register_user, true, ops_register_user),
	OPS_DEF_AUTHD(RECOVERY_CODES_REPLACE, recovery_codes_replace, true, ops_recovery_codes_replace),
	OPS_DEF_AUTHD(RECOVERY_CODES_LIST, recovery_codes_list, false, ops_recovery_codes_list),
	OPS_DEF_AUTHD(RECOVERY_CODE_USE, recovery_code_use, true, ops_recovery_code_use),
	OPS_DEF(OAUTH_PROVIDER_LIST, oauth_provider_list, false, ops_oauth_provider_list),
	OPS_DEF(OAUTH_PROVIDER_SET, oauth_provider_set, true, ops_oauth_provider_set),
	OPS_DEF(OAUTH_ACCOUNT_LINK, oauth_account_link, true, ops_oauth_account_link),
	OPS_DEF(OAUTH_ACCOUNT_FIND, oauth_account_find, false, ops_oauth_account_find),
	OPS_DEF(BOOTSTRAP_STATUS_LIST, bootstrap_status_list, false, ops_bootstrap_status_list),
	OPS_DEF(BOOTSTRAP_STATUS_SET, bootstrap_status_set, true, ops_bootstrap_status_set),
	OPS_DEF(SERVER_CONFIG_GET, server_config_get, false, ops_server_config_get),
	OPS_DEF(SERVER_CONFIG_SET, server_config_set, true, ops_server_config_set),
};

const struct op_family ops_family_sessions = {ops_sessions_table,
    sizeof(ops_sessions_table) / sizeof(ops_sessions_table[0])};

#define OPS_SESSIONS_UA_MAX 255
#define OPS_SESSIONS_TTL_MAX_S (10LL * 366 * 24 * 3600)

static const char ops_sessions_sql_insert[] =
    "INSERT INTO sessions(id, user_id, user_agent, ip_address, created_at, expires_at,"
    " last_accessed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)"
    " RETURNING id, user_id, user_agent, ip_address, created_at, expires_at, last_accessed_at";
/* A login from an address none of the user's earlier (kept) sessions had;
 * a user's very first session is not "new". */
static const char ops_sessions_sql_new_address[] =
    "SELECT EXISTS(SELECT 1 FROM sessions WHERE user_id = ?1)"
    " AND NOT EXISTS(SELECT 1 FROM sessions WHERE user_id = ?1 AND ip_address = ?2)";
static const char ops_sessions_sql_get[] =
    "SELECT id, user_id, user_agent, ip_address, created_at, expires_at, last_accessed_at"
    " FROM sessions WHERE id = ?";
static const char ops_sessions_sql_list[] =
    "SELECT id, user_id, user_agent, ip_address, created_at, expires_at, last_accessed_at"
    " FROM sessions WHERE user_id = ?1 AND is_revoked = 0 AND expires_at > ?2"
    " ORDER BY created_at DESC, id";
static const char ops_sessions_sql_delete[] =
    "DELETE FROM sessions WHERE id = ? RETURNING user_id";
static const char ops_sessions_sql_delete_user[] =
    "DELETE FROM sessions WHERE user_id = ?1 AND id IS NOT ?2 RETURNING id";
static const char ops_sessions_sql_touch[] =
    "UPDATE sessions SET last_accessed_at = ?2 WHERE id = ?1 AND last_accessed_at < ?2";
static const char ops_sessions_sql_expired[] = "DELETE FROM sessions WHERE expires_at <= ?";
static const char ops_sessions_sql_revoked[] =
    "DELETE FROM sessions WHERE is_revoked = 1"
    " AND created_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-1 day')";

/* 8-4-4-4-12 hex digits. */
static bool
ops_sessions_valid_id(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* ---- session rows ------------------------------------------------------- */

static void
ops_sessions_row(sqlite3_stmt *st, struct proto_rec_session *r)
{
	memset(r, 0, sizeof(*r));
	r->id = op_col(st, 0);
	r->user_id = sqlite3_column_int64(st, 1);
	r->user_agent = op_col(st, 2);
	r->has_user_agent = r->user_agent != NULL;
	r->ip_address = op_col(st, 3);
	r->has_ip_address = r->ip_address != NULL;
	r->created_at = op_col(st, 4);
	r->expires_at = op_col(st, 5);
	r->last_accessed_at = op_col(st, 6);
}

_Static_assert(sizeof(struct proto_rec_session) == sizeof(struct proto_session_get_rep) &&
	sizeof(struct proto_rec_session) == sizeof(struct proto_session_create_rep),
    "session replies share the record's shape");

enum proto_status
ops_session_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_create_req *req = arg;
	struct proto_session_create_rep rep;
	struct proto_rec_session row;
	char now[25], exp[25], ua[OPS_SESSIONS_UA_MAX + 1];
	int64_t ttl = req->has_ttl_s ? req->ttl_s : OPS_SESSIONS_TTL_DEFAULT_S;
	bool new_address = false;
	sqlite3_stmt *st;
	int rc;

	if (!ops_sessions_valid_id(req->id))
		return op_fail(ctx, PROTO_BAD_REQUEST, "id must be a uuid", "id");
	if (ttl <= 0 || ttl > OPS_SESSIONS_TTL_MAX_S)
		return op_fail(ctx, PROTO_BAD_REQUEST, "ttl_s out of range", "ttl_s");
	if (req->has_user_agent) {
		size_t n = strlen(req->user_agent);

		if (n > OPS_SESSIONS_UA_MAX) {
			/* cut at 255 bytes, then back to the start of a UTF-8 character */
			n = OPS_SESSIONS_UA_MAX;
			while (n > 0 && ((unsigned char)req->user_agent[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(ua, req->user_agent, n);
		ua[n] = '\0';
	}
	if (req->has_ip_address && req->ip_address[0] != '\0') {
		if ((st = db_stmt(ctx->c, ops_sessions_sql_new_address)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, req->user_id);
		db_bind_text(st, 2, req->ip_address);
		rc = sqlite3_step(st);
		new_address = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return op_sqlite_fail(ctx, rc);
	}
	if ((st = db_stmt(ctx->c, ops_sessions_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	op_times(now, exp, ttl);
	db_bind_text(st, 1, req->id);
	sqlite3_bind_int64(st, 2, req->user_id);
	db_bind_text(st, 3, req->has_user_agent ? ua : NULL);
	db_bind_text(st, 4, req->has_ip_address ? req->ip_address : NULL);
	db_bind_text(st, 5, now);
	db_bind_text(st, 6, exp);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return op_fail(ctx, PROTO_CONFLICT, "session already exists", "id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	ops_sessions_row(st, &row);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_session_create_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	if (new_address) {
		char *after = xasprintf(" signed in from a new address: %s.", req->ip_address);

		rc = ops_notify_emit_security(ctx->c, "login_new_address", "Sign-in from a new address",
		    req->user_id, "", after);
		free(after);
		if (rc != 0) {
			nng_msg_free(*reply_r);
			*reply_r = NULL;
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		}
	}
	op_event(ctx, "session", 0, req->id);
	return PROTO_OK;
}

enum proto_status
ops_session_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_get_req *req = arg;
	struct proto_session_get_rep rep;
	struct proto_rec_session row;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_sessions_sql_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such session", "id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	ops_sessions_row(st, &row);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_session_get_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}

enum proto_status
ops_session_list_user(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_list_user_req *req = arg;
	struct proto_session_list_user_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_session *v = NULL, row;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if ((st = db_stmt(ctx->c, ops_sessions_sql_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ops_sessions_row(st, &row);
		row.id = op_pool_dup(&pool, row.id);
		row.user_agent = op_pool_dup(&pool, row.user_agent);
		row.ip_address = op_pool_dup(&pool, row.ip_address);
		row.created_at = op_pool_dup(&pool, row.created_at);
		row.expires_at = op_pool_dup(&pool, row.expires_at);
		row.last_accessed_at = op_pool_dup(&pool, row.last_accessed_at);
		v = op_grow(v, &cap, n, sizeof(*v));
		v[n++] = row;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.sessions.v = v;
		rep.sessions.n = n;
		*reply_r = proto_session_list_user_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_session_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_delete_req *req = arg;
	struct proto_session_delete_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_sessions_sql_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such session", "id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.user_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	*reply_r = proto_session_delete_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "session", 0, req->id);
	return PROTO_OK;
}

/* One event per session while they fit; past OP_MAX_EVENTS a single ("user",
 * user_id) event tells caches to drop every entry of that user instead. */
enum proto_status
ops_session_delete_user(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_delete_user_req *req = arg;
	struct proto_session_delete_user_rep rep;
	char ids[OP_MAX_EVENTS][37];
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if ((st = db_stmt(ctx->c, ops_sessions_sql_delete_user)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->has_except_id ? req->except_id : NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n < OP_MAX_EVENTS)
			snprintf(ids[n], sizeof(ids[n]), "%s", sqlite3_column_text(st, 0));
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.deleted = n;
	*reply_r = proto_session_delete_user_rep_msg(ctx->req_id, &rep);
	if (n > OP_MAX_EVENTS)
		op_event(ctx, "user", req->user_id, NULL);
	else
		for (int64_t i = 0; i < n; i++)
			op_event(ctx, "session", 0, ids[i]);
	return PROTO_OK;
}

enum proto_status
ops_session_touch(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_touch_req *req = arg;
	struct proto_session_touch_rep rep;
	sqlite3_stmt *st;
	int64_t updated = 0;
	int rc;

	for (size_t i = 0; i < req->items.n; i++)
		if (!op_valid_time(req->items.v[i].last_accessed_at))
			return op_fail(ctx, PROTO_BAD_REQUEST, "last_accessed_at must be RFC 3339 UTC",
			    "items");
	if ((st = db_stmt(ctx->c, ops_sessions_sql_touch)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	for (size_t i = 0; i < req->items.n; i++) {
		sqlite3_reset(st);
		db_bind_text(st, 1, req->items.v[i].id);
		db_bind_text(st, 2, req->items.v[i].last_accessed_at);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return op_sqlite_fail(ctx, rc);
		updated += sqlite3_changes(ctx->c->db);
	}
	sqlite3_reset(st);
	memset(&rep, 0, sizeof(rep));
	rep.updated = updated;
	*reply_r = proto_session_touch_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

static int
ops_sessions_sweep(struct db_conn *c, const char *now, int64_t *expired_r, int64_t *revoked_r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(c, ops_sessions_sql_expired)) == NULL)
		return SQLITE_ERROR;
	db_bind_text(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	*expired_r = sqlite3_changes(c->db);
	if ((st = db_stmt(c, ops_sessions_sql_revoked)) == NULL)
		return SQLITE_ERROR;
	db_bind_text(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	*revoked_r = sqlite3_changes(c->db);
	return SQLITE_OK;
}

int
ops_sessions_cleanup(struct db_conn *c, long long *deleted_r)
{
	int64_t expired = 0, revoked = 0;
	char now[25];
	int rc;

	db_now(now);
	if ((rc = ops_sessions_sweep(c, now, &expired, &revoked)) != SQLITE_OK) {
		log_error("sessions cleanup: %s", sqlite3_errmsg(c->db));
		return -1;
	}
	log_info("sessions cleanup: %lld expired, %lld revoked deleted", (long long)expired,
	    (long long)revoked);
	*deleted_r = expired + revoked;
	return 0;
}

enum proto_status
ops_session_cleanup(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_session_cleanup_req *req = arg;
	struct proto_session_cleanup_rep rep;
	char now[25];
	int rc;

	if (req->has_now && !op_valid_time(req->now))
		return op_fail(ctx, PROTO_BAD_REQUEST, "now must be RFC 3339 UTC", "now");
	if (req->has_now)
		snprintf(now, sizeof(now), "%s", req->now);
	else
		db_now(now);
	memset(&rep, 0, sizeof(rep));
	if ((rc = ops_sessions_sweep(ctx->c, now, &rep.expired, &rep.revoked)) != SQLITE_OK)
		return op_sqlite_fail(ctx, rc);
	log_info("sessions cleanup: %lld expired, %lld revoked deleted", (long long)rep.expired,
	    (long long)rep.revoked);
	*reply_r = proto_session_cleanup_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
