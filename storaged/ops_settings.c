/* ops_settings: system_settings.  Secret values (signing keys) never leave
 * through SETTING_GET. */
#include <string.h>

#include "ops.h"

static const char ops_settings_sql_get[] =
    "SELECT key, value, description, updated_at FROM system_settings WHERE key = ?";
static const char ops_settings_sql_set[] =
    "INSERT INTO system_settings(key, value, description, updated_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT(key) DO UPDATE SET value = ?2,"
    " description = COALESCE(?3, system_settings.description), updated_at = ?4"
    " RETURNING key, value, description, updated_at";

bool
ops_setting_is_secret(const char *key)
{
	static const char *const secret[] = {"jwt_private_key", "secret_key"};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strcmp(key, secret[i]) == 0)
			return true;
	return false;
}

static enum proto_status
ops_setting_reply(struct op_ctx *ctx, sqlite3_stmt *st, nng_msg **reply_r)
{
	struct proto_setting_get_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.key = (const char *)sqlite3_column_text(st, 0);
	rep.value = (const char *)sqlite3_column_text(st, 1);
	rep.has_description = sqlite3_column_type(st, 2) != SQLITE_NULL;
	rep.description = (const char *)sqlite3_column_text(st, 2);
	rep.updated_at = (const char *)sqlite3_column_text(st, 3);
	_Static_assert(sizeof(struct proto_setting_get_rep) == sizeof(struct proto_setting_set_rep) &&
	    sizeof(struct proto_setting_get_rep) == sizeof(struct proto_setting_get_secret_rep),
	    "the setting replies share a shape");
	if (ctx->op == PROTO_OP_SETTING_GET) {
		*reply_r = proto_setting_get_rep_msg(ctx->req_id, &rep);
	} else if (ctx->op == PROTO_OP_SETTING_GET_SECRET) {
		struct proto_setting_get_secret_rep sec;

		memcpy(&sec, &rep, sizeof(sec));
		*reply_r = proto_setting_get_secret_rep_msg(ctx->req_id, &sec);
	} else {
		struct proto_setting_set_rep set;

		memcpy(&set, &rep, sizeof(set));
		*reply_r = proto_setting_set_rep_msg(ctx->req_id, &set);
	}
	return PROTO_OK;
}

static enum proto_status
ops_setting_read(struct op_ctx *ctx, const char *key, nng_msg **reply_r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_settings_sql_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such setting", "key");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	return ops_setting_reply(ctx, st, reply_r);
}

enum proto_status
ops_setting_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_setting_get_req *req = arg;

	if (ops_setting_is_secret(req->key))
		return op_fail(ctx, PROTO_FORBIDDEN, "secret settings are not readable", "key");
	return ops_setting_read(ctx, req->key, reply_r);
}

/* Authd only (OPS_DEF_AUTHD): the caller's uid was checked before this runs. */
enum proto_status
ops_setting_get_secret(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_setting_get_secret_req *req = arg;

	return ops_setting_read(ctx, req->key, reply_r);
}

enum proto_status
ops_setting_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_setting_set_req *req = arg;
	sqlite3_stmt *st;
	char now[25];
	enum proto_status res;
	int rc;

	if (req->key[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "key must not be empty", "key");
	if ((st = db_stmt(ctx->c, ops_settings_sql_set)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->key);
	db_bind_text(st, 2, req->value);
	db_bind_text(st, 3, req->has_description ? req->description : NULL);
	db_bind_text(st, 4, now);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	res = ops_setting_reply(ctx, st, reply_r);
	sqlite3_reset(st);
	op_event(ctx, "setting", 0, req->key);
	return res;
}
