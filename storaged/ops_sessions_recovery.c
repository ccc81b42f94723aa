/* 2FA recovery codes (API.md 3.4).  authd hashes and compares; storaged keeps
 * the hashes, marks one used, and when none is left turns 2FA off and deletes
 * the codes in the same write (publishing ("user", id): the principal's
 * totp_enabled changed). */
#include "ops_sessions.h"

#include <stdlib.h>
#include <string.h>

static const char ops_recovery_sql_user[] = "SELECT 1 FROM users WHERE id = ?";
static const char ops_recovery_sql_delete[] =
    "DELETE FROM two_factor_recovery_codes WHERE user_id = ?";
static const char ops_recovery_sql_insert[] =
    "INSERT INTO two_factor_recovery_codes(user_id, code_hash, created_at) VALUES (?, ?, ?)";
static const char ops_recovery_sql_list[] =
    "SELECT id, code_hash FROM two_factor_recovery_codes WHERE user_id = ? AND used_at IS NULL"
    " ORDER BY id";
static const char ops_recovery_sql_use[] =
    "UPDATE two_factor_recovery_codes SET used_at = ?3"
    " WHERE id = ?1 AND user_id = ?2 AND used_at IS NULL";
static const char ops_recovery_sql_probe[] =
    "SELECT 1 FROM two_factor_recovery_codes WHERE id = ?1 AND user_id = ?2";
static const char ops_recovery_sql_count[] =
    "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = ? AND used_at IS NULL";
static const char ops_recovery_sql_totp_off[] =
    "UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_verified_at = NULL,"
    " updated_at = ?2 WHERE id = ?1";

/* Runs a statement bound to one integer that returns at most one row. */
static int
ops_recovery_int(struct op_ctx *ctx, const char *sql, int64_t a, int64_t *v_r, bool *row_r)
{
	sqlite3_stmt *st = db_stmt(ctx->c, sql);
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(st, 1, a);
	rc = sqlite3_step(st);
	*row_r = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && v_r != NULL)
		*v_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

enum proto_status
ops_recovery_codes_replace(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_recovery_codes_replace_req *req = arg;
	struct proto_recovery_codes_replace_rep rep;
	sqlite3_stmt *st;
	char now[25];
	bool row;
	int rc;

	if (req->code_hashes.n != OPS_SESSIONS_RECOVERY_CODES)
		return op_fail(ctx, PROTO_BAD_REQUEST, "code_hashes must hold 8 hashes", "code_hashes");
	for (size_t i = 0; i < req->code_hashes.n; i++)
		if (req->code_hashes.v[i][0] == '\0')
			return op_fail(ctx, PROTO_BAD_REQUEST, "a code hash is empty", "code_hashes");
	if ((rc = ops_recovery_int(ctx, ops_recovery_sql_user, req->user_id, NULL, &row)) !=
	    SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (!row)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if ((rc = ops_recovery_int(ctx, ops_recovery_sql_delete, req->user_id, NULL, &row)) !=
	    SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if ((st = db_stmt(ctx->c, ops_recovery_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	for (size_t i = 0; i < req->code_hashes.n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, req->user_id);
		db_bind_text(st, 2, req->code_hashes.v[i]);
		db_bind_text(st, 3, now);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
			sqlite3_reset(st);
			return op_sqlite_fail(ctx, rc);
		}
	}
	sqlite3_reset(st);
	memset(&rep, 0, sizeof(rep));
	rep.count = (int64_t)req->code_hashes.n;
	*reply_r = proto_recovery_codes_replace_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

enum proto_status
ops_recovery_codes_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_recovery_codes_list_req *req = arg;
	struct proto_recovery_codes_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_recovery_code *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_recovery_sql_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = op_grow(v, &cap, n, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].code_hash = op_pool_dup(&pool, op_col(st, 1));
		n++;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.codes.v = v;
		rep.codes.n = n;
		*reply_r = proto_recovery_codes_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_recovery_code_use(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_recovery_code_use_req *req = arg;
	struct proto_recovery_code_use_rep rep;
	sqlite3_stmt *st;
	int64_t remaining = 0;
	char now[25];
	bool row;
	int rc;

	if ((st = db_stmt(ctx->c, ops_recovery_sql_use)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	sqlite3_bind_int64(st, 2, req->user_id);
	db_bind_text(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0) {
		if ((st = db_stmt(ctx->c, ops_recovery_sql_probe)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, req->id);
		sqlite3_bind_int64(st, 2, req->user_id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			return op_fail(ctx, PROTO_CONFLICT, "recovery code already used", "id");
		if (rc == SQLITE_DONE)
			return op_fail(ctx, PROTO_NOT_FOUND, "no such recovery code", "id");
		return op_sqlite_fail(ctx, rc);
	}
	if ((rc = ops_recovery_int(ctx, ops_recovery_sql_count, req->user_id, &remaining, &row)) !=
	    SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.remaining = remaining;
	if (remaining == 0) {
		if ((st = db_stmt(ctx->c, ops_recovery_sql_totp_off)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, req->user_id);
		db_bind_text(st, 2, now);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return op_sqlite_fail(ctx, rc);
		if ((rc = ops_recovery_int(ctx, ops_recovery_sql_delete, req->user_id, NULL, &row)) !=
		    SQLITE_DONE)
			return op_sqlite_fail(ctx, rc);
		rep.totp_disabled = true;
		op_event(ctx, "user", req->user_id, NULL);
	}
	*reply_r = proto_recovery_code_use_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
