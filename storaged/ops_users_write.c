/* ops_users_write: the writes of users (create, update, delete, password,
 * TOTP, preferences).  Each runs in the writer thread inside its own
 * savepoint: returning an error rolls back everything it did.
 *
 * The last-admin guard: an update or a delete that would take the number of
 * active, approved holders of the admin role from one or more down to zero is
 * refused with conflict.  It is checked by counting after the change, inside
 * the savepoint, so every way of losing the last admin (deactivate, un-approve,
 * drop the role, delete) is caught by the same test. */
#include <string.h>

#include "ops_notify.h"
#include "ops_users.h"

static const char users_sql_insert[] =
    "INSERT INTO users(username, email, hashed_password, is_active, is_approved, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char users_sql_update[] =
    "UPDATE users SET email = COALESCE(?2, email), is_active = COALESCE(?3, is_active),"
    " is_approved = COALESCE(?4, is_approved), updated_at = ?5,"
    " username = COALESCE(?6, username) WHERE id = ?1";
static const char users_sql_delete[] = "DELETE FROM users WHERE id = ?";
static const char users_sql_password[] =
    "UPDATE users SET hashed_password = ?2, updated_at = ?3 WHERE id = ?1";
static const char users_sql_totp[] =
    "UPDATE users SET totp_secret = CASE WHEN ?5 THEN NULL ELSE COALESCE(?2, totp_secret) END,"
    " totp_enabled = ?3, totp_verified_at = ?4, updated_at = ?6 WHERE id = ?1";
static const char users_sql_prefs_set[] =
    "INSERT INTO user_preferences(user_id, theme, updated_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(user_id) DO UPDATE SET theme = ?2, updated_at = ?3"
    " RETURNING theme, updated_at";

/* A unique violation on users names its column: say which one is taken. */
static enum proto_status
users_write_fail(struct op_ctx *ctx, int rc)
{
	enum proto_status res = op_sqlite_fail(ctx, rc);

	if (res == PROTO_CONFLICT && ctx->field != NULL && strcmp(ctx->field, "username") == 0)
		ctx->detail = "username already exists";
	else if (res == PROTO_CONFLICT && ctx->field != NULL && strcmp(ctx->field, "email") == 0)
		ctx->detail = "email already exists";
	return res;
}

static enum proto_status
users_admin_guard(struct op_ctx *ctx, int64_t before, const char *detail, const char *field)
{
	int64_t after;

	if (users_count_active_admins(ctx, &after) != 0)
		return PROTO_INTERNAL;
	if (before > 0 && after == 0)
		return op_fail(ctx, PROTO_CONFLICT, detail, field);
	return PROTO_OK;
}

enum proto_status
ops_user_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_create_req *req = arg;
	sqlite3_stmt *st;
	char now[25];
	int64_t id;
	enum proto_status res;
	int rc;

	if (!users_valid_username(req->username))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "username must be 3-64 characters of A-Z, a-z, 0-9, '.', '_', '-'", "username");
	if (!users_valid_email(req->email))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "email must contain one @ and be at most 255 characters", "email");
	if (req->hashed_password[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "hashed_password must not be empty",
		    "hashed_password");
	if ((st = db_stmt(ctx->c, users_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->username);
	db_bind_text(st, 2, req->email);
	db_bind_text(st, 3, req->hashed_password);
	sqlite3_bind_int(st, 4, req->is_active ? 1 : 0);
	sqlite3_bind_int(st, 5, req->is_approved ? 1 : 0);
	db_bind_text(st, 6, now);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return users_write_fail(ctx, rc);
	id = sqlite3_last_insert_rowid(ctx->c->db);
	if (req->has_roles && (res = users_set_roles(ctx, id, &req->roles)) != PROTO_OK)
		return res;
	/* user_created (off by default): the admins' inbox */
	if (ops_notify_emit_admins(ctx->c, "user_created", "New user", id, false, "New user: ",
		".") != 0)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	if ((res = users_reply_one(ctx, id, false, "id", reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "user", id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_user_update(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_update_req *req = arg;
	const char *field = "roles";
	sqlite3_stmt *st;
	char now[25];
	int64_t before;
	enum proto_status res;
	int rc;

	if (req->has_email && !users_valid_email(req->email))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "email must contain one @ and be at most 255 characters", "email");
	if (req->has_username && !users_valid_username(req->username))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "username must be 3-64 characters [A-Za-z0-9._-]", "username");
	if (users_count_active_admins(ctx, &before) != 0)
		return PROTO_INTERNAL;
	if ((st = db_stmt(ctx->c, users_sql_update)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, req->has_email ? req->email : NULL);
	if (req->has_is_active)
		sqlite3_bind_int(st, 3, req->is_active ? 1 : 0);
	if (req->has_is_approved)
		sqlite3_bind_int(st, 4, req->is_approved ? 1 : 0);
	db_bind_text(st, 5, now);
	db_bind_text(st, 6, req->has_username ? req->username : NULL);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return users_write_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "id");
	if (req->has_roles && (res = users_set_roles(ctx, req->id, &req->roles)) != PROTO_OK)
		return res;
	if (req->has_is_active && !req->is_active)
		field = "is_active";
	else if (req->has_is_approved && !req->is_approved)
		field = "is_approved";
	res = users_admin_guard(ctx, before,
	    "refused: this is the last active admin (deactivating, un-approving or removing"
	    " the admin role would leave no administrator)", field);
	if (res != PROTO_OK)
		return res;
	if ((res = users_reply_one(ctx, req->id, false, "id", reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "user", req->id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_user_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_delete_req *req = arg;
	struct proto_user_delete_rep rep;
	sqlite3_stmt *st;
	int64_t before;
	enum proto_status res;
	int rc;

	if (users_count_active_admins(ctx, &before) != 0)
		return PROTO_INTERNAL;
	if ((st = db_stmt(ctx->c, users_sql_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "id");
	res = users_admin_guard(ctx, before, "refused: this is the last active admin", "id");
	if (res != PROTO_OK)
		return res;
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	*reply_r = proto_user_delete_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "user", req->id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_user_set_password(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_set_password_req *req = arg;
	struct proto_user_set_password_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->hashed_password[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "hashed_password must not be empty",
		    "hashed_password");
	if ((st = db_stmt(ctx->c, users_sql_password)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, req->hashed_password);
	db_bind_text(st, 3, now);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "id");
	if (ops_notify_emit_security(ctx->c, "password_changed", "Password changed", req->id,
		"The password of ", " was changed.") != 0)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	rep.updated_at = now;
	*reply_r = proto_user_set_password_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "user", req->id, NULL);
	return PROTO_OK;
}

static bool
users_valid_timestamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	return true;
}

enum proto_status
ops_user_set_totp(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_set_totp_req *req = arg;
	struct proto_user_set_totp_rep rep;
	bool clear = req->has_clear && req->clear;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->has_totp_secret && (req->totp_secret[0] == '\0' || clear))
		return op_fail(ctx, PROTO_BAD_REQUEST, "totp_secret must be non-empty and without clear",
		    "totp_secret");
	if (clear && req->totp_enabled)
		return op_fail(ctx, PROTO_BAD_REQUEST, "TOTP cannot stay enabled without a secret",
		    "totp_enabled");
	if (req->has_totp_verified_at && !users_valid_timestamp(req->totp_verified_at))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "totp_verified_at must be RFC 3339 UTC with milliseconds", "totp_verified_at");
	if ((st = db_stmt(ctx->c, users_sql_totp)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, req->has_totp_secret ? req->totp_secret : NULL);
	sqlite3_bind_int(st, 3, req->totp_enabled ? 1 : 0);
	db_bind_text(st, 4, req->has_totp_verified_at ? req->totp_verified_at : NULL);
	sqlite3_bind_int(st, 5, clear ? 1 : 0);
	db_bind_text(st, 6, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_CHECK)
		return op_fail(ctx, PROTO_BAD_REQUEST, "TOTP cannot be enabled without a secret",
		    "totp_secret");
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "id");
	if (clear && ops_notify_emit_security(ctx->c, "2fa_disabled", "Two-factor authentication disabled",
		req->id, "Two-factor authentication was turned off for ", ".") != 0)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	rep.totp_enabled = req->totp_enabled;
	rep.updated_at = now;
	*reply_r = proto_user_set_totp_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "user", req->id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_user_prefs_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_prefs_set_req *req = arg;
	struct proto_user_prefs_set_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc, exists;

	if (strcmp(req->theme, "system") != 0 && strcmp(req->theme, "light") != 0 &&
	    strcmp(req->theme, "dark") != 0)
		return op_fail(ctx, PROTO_BAD_REQUEST, "theme must be system, light or dark", "theme");
	if ((exists = users_exists(ctx, req->user_id)) < 0)
		return PROTO_INTERNAL;
	if (exists == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if ((st = db_stmt(ctx->c, users_sql_prefs_set)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->theme);
	db_bind_text(st, 3, now);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.theme = (const char *)sqlite3_column_text(st, 0);
	rep.updated_at = (const char *)sqlite3_column_text(st, 1);
	rep.has_updated_at = true;
	*reply_r = proto_user_prefs_set_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	op_event(ctx, "user", req->user_id, NULL);
	return PROTO_OK;
}
