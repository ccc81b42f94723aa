/* ops_invites: invites (API.md 3.6) and REGISTER_USER (decision 6).  It is
 * one write: every check runs before the first insert, and the writer's
 * savepoint undoes the user if a later step fails, so nothing partial stays. */
#include "ops_sessions.h"

#include <stdlib.h>
#include <string.h>

#define OPS_INVITES_CODE_MIN 8
#define OPS_INVITES_CODE_MAX 64

#define OPS_INVITES_SELECT                                                                 \
	"SELECT i.id, i.code, i.created_by_id, c.username, i.used_by_id, u.username,"         \
	" i.is_used, i.expires_at, i.created_at, i.used_at FROM invites AS i"                 \
	" LEFT JOIN users AS c ON c.id = i.created_by_id"                                     \
	" LEFT JOIN users AS u ON u.id = i.used_by_id"
static const char ops_invites_sql_by_code[] = OPS_INVITES_SELECT " WHERE i.code = ?";
static const char ops_invites_sql_list[] = OPS_INVITES_SELECT " ORDER BY i.id DESC";
static const char ops_invites_sql_insert[] =
    "INSERT INTO invites(code, created_by_id, expires_at, created_at) VALUES (?, ?, ?, ?)";
static const char ops_invites_sql_delete[] = "DELETE FROM invites WHERE id = ?";
static const char ops_invites_sql_redeem[] =
    "UPDATE invites SET is_used = 1, used_by_id = ?1, used_at = ?2 WHERE id = ?3 AND is_used = 0";
static const char ops_invites_sql_role[] = "SELECT id FROM roles WHERE name = ?";
static const char ops_invites_sql_user[] =
    "INSERT INTO users(username, email, hashed_password, is_active, is_approved, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5) RETURNING id";
static const char ops_invites_sql_user_role[] =
    "INSERT INTO user_roles(user_id, role_id) VALUES (?, ?)";

_Static_assert(sizeof(struct proto_rec_invite) == sizeof(struct proto_invite_create_rep) &&
	sizeof(struct proto_rec_invite) == sizeof(struct proto_invite_get_by_code_rep),
    "invite replies share the record's shape");

static bool
ops_invites_valid_code(const char *s)
{
	size_t n = strlen(s);

	if (n < OPS_INVITES_CODE_MIN || n > OPS_INVITES_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* A row of OPS_INVITES_SELECT; strings point into the statement (or into pool). */
static void
ops_invites_row(sqlite3_stmt *st, const char *now, struct op_pool *pool,
    struct proto_rec_invite *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->code = op_col(st, 1);
	r->has_created_by_id = sqlite3_column_type(st, 2) != SQLITE_NULL;
	r->created_by_id = sqlite3_column_int64(st, 2);
	r->created_by_username = op_col(st, 3);
	r->has_created_by_username = r->created_by_username != NULL;
	r->has_used_by_id = sqlite3_column_type(st, 4) != SQLITE_NULL;
	r->used_by_id = sqlite3_column_int64(st, 4);
	r->used_by_username = op_col(st, 5);
	r->has_used_by_username = r->used_by_username != NULL;
	r->is_used = sqlite3_column_int(st, 6) != 0;
	r->expires_at = op_col(st, 7);
	r->has_expires_at = r->expires_at != NULL;
	r->created_at = op_col(st, 8);
	r->used_at = op_col(st, 9);
	r->has_used_at = r->used_at != NULL;
	if (r->is_used)
		r->status = "used";
	else if (r->expires_at != NULL && strcmp(r->expires_at, now) <= 0)
		r->status = "expired";
	else
		r->status = "valid";
	if (pool != NULL) {
		r->code = op_pool_dup(pool, r->code);
		r->created_by_username = op_pool_dup(pool, r->created_by_username);
		r->used_by_username = op_pool_dup(pool, r->used_by_username);
		r->expires_at = op_pool_dup(pool, r->expires_at);
		r->created_at = op_pool_dup(pool, r->created_at);
		r->used_at = op_pool_dup(pool, r->used_at);
	}
}

/* Looks a code up; PROTO_OK with a row on st, PROTO_NOT_FOUND, or an error. */
static enum proto_status
ops_invites_find(struct op_ctx *ctx, const char *code, sqlite3_stmt **st_r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_invites_sql_by_code)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, code);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return PROTO_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	*st_r = st;
	return PROTO_OK;
}

enum proto_status
ops_invite_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_invite_create_req *req = arg;
	struct proto_invite_create_rep rep;
	struct proto_rec_invite row;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (!ops_invites_valid_code(req->code))
		return op_fail(ctx, PROTO_BAD_REQUEST, "code must be 8-64 characters [A-Za-z0-9_-]",
		    "code");
	if (req->has_expires_at && !op_valid_time(req->expires_at))
		return op_fail(ctx, PROTO_BAD_REQUEST, "expires_at must be RFC 3339 UTC", "expires_at");
	if ((st = db_stmt(ctx->c, ops_invites_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->code);
	if (req->has_created_by_id)
		sqlite3_bind_int64(st, 2, req->created_by_id);
	db_bind_text(st, 3, req->has_expires_at ? req->expires_at : NULL);
	db_bind_text(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return op_fail(ctx, PROTO_CONFLICT, "invite code already exists", "code");
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "created_by_id");
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if ((res = ops_invites_find(ctx, req->code, &st)) != PROTO_OK)
		return res == PROTO_NOT_FOUND ? op_fail(ctx, PROTO_INTERNAL, "invite vanished", NULL) : res;
	ops_invites_row(st, now, NULL, &row);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_invite_create_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}

enum proto_status
ops_invite_get_by_code(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_invite_get_by_code_req *req = arg;
	struct proto_invite_get_by_code_rep rep;
	struct proto_rec_invite row;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];

	if ((res = ops_invites_find(ctx, req->code, &st)) == PROTO_NOT_FOUND)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such invite", "code");
	if (res != PROTO_OK)
		return res;
	db_now(now);
	ops_invites_row(st, now, NULL, &row);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_invite_get_by_code_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}

enum proto_status
ops_invite_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_invite_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_invite *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_invites_sql_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = op_grow(v, &cap, n, sizeof(*v));
		ops_invites_row(st, now, &pool, &v[n++]);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.invites.v = v;
		rep.invites.n = n;
		*reply_r = proto_invite_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_invite_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_invite_delete_req *req = arg;
	struct proto_invite_delete_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_invites_sql_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such invite", "id");
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	*reply_r = proto_invite_delete_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* The invite named by a registration: its id if it can be redeemed now. */
static enum proto_status
ops_register_invite(struct op_ctx *ctx, const char *code, const char *now, int64_t *id_r)
{
	struct proto_rec_invite row;
	enum proto_status res;
	sqlite3_stmt *st;

	if ((res = ops_invites_find(ctx, code, &st)) == PROTO_NOT_FOUND)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such invite", "invite_code");
	if (res != PROTO_OK)
		return res;
	ops_invites_row(st, now, NULL, &row);
	*id_r = row.id;
	sqlite3_reset(st);
	if (row.is_used)
		return op_fail(ctx, PROTO_CONFLICT, "invite already used", "invite_code");
	if (strcmp(row.status, "expired") == 0)
		return op_fail(ctx, PROTO_BAD_REQUEST, "invite expired", "invite_code");
	return PROTO_OK;
}

static enum proto_status
ops_register_role(struct op_ctx *ctx, const char *role, int64_t *id_r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_invites_sql_role)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, role);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "role");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return PROTO_OK;
}

static enum proto_status
ops_register_step(struct op_ctx *ctx, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_register_user(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_register_user_req *req = arg;
	const char *role = req->has_role ? req->role : "viewer";
	struct proto_register_user_rep rep;
	int64_t invite_id = 0, role_id = 0;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->username[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "username must not be empty", "username");
	if (req->email[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "email must not be empty", "email");
	if (req->hashed_password[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "hashed_password must not be empty",
		    "hashed_password");
	db_now(now);
	if (req->has_invite_code &&
	    (res = ops_register_invite(ctx, req->invite_code, now, &invite_id)) != PROTO_OK)
		return res;
	if ((res = ops_register_role(ctx, role, &role_id)) != PROTO_OK)
		return res;

	memset(&rep, 0, sizeof(rep));
	if ((st = db_stmt(ctx->c, ops_invites_sql_user)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->username);
	db_bind_text(st, 2, req->email);
	db_bind_text(st, 3, req->hashed_password);
	sqlite3_bind_int(st, 4, req->is_approved ? 1 : 0);
	db_bind_text(st, 5, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rep.id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		if (strstr(sqlite3_errmsg(ctx->c->db), "users.email") != NULL)
			return op_fail(ctx, PROTO_CONFLICT, "email already registered", "email");
		return op_fail(ctx, PROTO_CONFLICT, "username already taken", "username");
	}
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);

	if ((st = db_stmt(ctx->c, ops_invites_sql_user_role)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, rep.id);
	sqlite3_bind_int64(st, 2, role_id);
	if ((res = ops_register_step(ctx, st)) != PROTO_OK)
		return res;
	if (req->has_invite_code) {
		if ((st = db_stmt(ctx->c, ops_invites_sql_redeem)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, rep.id);
		db_bind_text(st, 2, now);
		sqlite3_bind_int64(st, 3, invite_id);
		if ((res = ops_register_step(ctx, st)) != PROTO_OK)
			return res;
		if (sqlite3_changes(ctx->c->db) != 1)
			return op_fail(ctx, PROTO_CONFLICT, "invite already used", "invite_code");
		rep.invite_id = invite_id;
		rep.has_invite_id = true;
	}
	rep.username = req->username;
	rep.email = req->email;
	rep.is_active = true;
	rep.is_approved = req->is_approved;
	rep.role = role;
	rep.created_at = now;
	*reply_r = proto_register_user_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "user", rep.id, NULL);
	return PROTO_OK;
}
