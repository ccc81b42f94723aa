/* OAuth providers and linked accounts (API.md 3.7), bootstrap status and the
 * server config (API.md 4, Setup).  No read returns an OAuth client secret
 * (decision 9): records carry has_client_secret instead. */
#include "ops_sessions.h"

#include <stdlib.h>
#include <string.h>

#define OPS_SETUP_PROVIDER_COLS "id, name, enabled, client_id, client_secret IS NOT NULL, updated_at"
static const char ops_setup_sql_providers[] =
    "SELECT " OPS_SETUP_PROVIDER_COLS " FROM oauth_providers ORDER BY id";
/* ?4/?5: text; ?7/?8: whether the field was sent ('' clears it). */
static const char ops_setup_sql_provider_set[] =
    "INSERT INTO oauth_providers(id, name, enabled, client_id, client_secret, created_at,"
    " updated_at) VALUES (?1, COALESCE(?2, ?1), COALESCE(?3, 0), NULLIF(?4, ''), NULLIF(?5, ''),"
    " ?6, ?6)"
    " ON CONFLICT(id) DO UPDATE SET name = COALESCE(?2, name), enabled = COALESCE(?3, enabled),"
    " client_id = CASE WHEN ?7 THEN NULLIF(?4, '') ELSE client_id END,"
    " client_secret = CASE WHEN ?8 THEN NULLIF(?5, '') ELSE client_secret END, updated_at = ?6"
    " RETURNING " OPS_SETUP_PROVIDER_COLS;
static const char ops_setup_sql_link[] =
    "INSERT INTO oauth_accounts(user_id, provider, provider_user_id, email, display_name,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id";
static const char ops_setup_sql_find[] =
    "SELECT user_id, email, display_name FROM oauth_accounts"
    " WHERE provider = ? AND provider_user_id = ?";
#define OPS_SETUP_BOOTSTRAP_COLS \
	"component, display_name, status, message, started_at, completed_at, error"
static const char ops_setup_sql_bootstrap[] =
    "SELECT " OPS_SETUP_BOOTSTRAP_COLS " FROM bootstrap_status ORDER BY id";
/* installing stamps started_at; healthy and failed stamp completed_at; pending
 * clears both. */
static const char ops_setup_sql_bootstrap_set[] =
    "UPDATE bootstrap_status SET status = ?2, message = COALESCE(?3, message), error = ?4,"
    " started_at = CASE ?2 WHEN 'pending' THEN NULL WHEN 'installing' THEN ?5"
    "  ELSE COALESCE(started_at, ?5) END,"
    " completed_at = CASE WHEN ?2 IN ('healthy', 'failed') THEN ?5 ELSE NULL END"
    " WHERE component = ?1 RETURNING " OPS_SETUP_BOOTSTRAP_COLS;
static const char ops_setup_sql_server_get[] =
    "SELECT name, storage_path, created_at FROM server_config LIMIT 1";
static const char ops_setup_sql_server_update[] =
    "UPDATE server_config SET name = ?1, storage_path = ?2 RETURNING name, storage_path, created_at";
static const char ops_setup_sql_server_insert[] =
    "INSERT INTO server_config(name, storage_path, created_at) VALUES (?1, ?2, ?3)"
    " RETURNING name, storage_path, created_at";

_Static_assert(sizeof(struct proto_rec_oauth_provider) == sizeof(struct proto_oauth_provider_set_rep),
    "provider reply shares the record's shape");
_Static_assert(sizeof(struct proto_rec_bootstrap_item) ==
	sizeof(struct proto_bootstrap_status_set_rep),
    "bootstrap reply shares the record's shape");
_Static_assert(sizeof(struct proto_server_config_get_rep) ==
	sizeof(struct proto_server_config_set_rep),
    "server config replies share a shape");

static void
ops_setup_provider_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_oauth_provider *r = rec;
	memset(r, 0, sizeof(*r));
	r->id = op_pool_dup(pool, op_col(st, 0));
	r->name = op_pool_dup(pool, op_col(st, 1));
	r->enabled = sqlite3_column_int(st, 2) != 0;
	r->client_id = op_pool_dup(pool, op_col(st, 3));
	r->has_client_id = r->client_id != NULL;
	r->has_client_secret = sqlite3_column_int(st, 4) != 0;
	r->updated_at = op_pool_dup(pool, op_col(st, 5));
}

static void
ops_setup_bootstrap_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_bootstrap_item *r = rec;
	memset(r, 0, sizeof(*r));
	r->component = op_pool_dup(pool, op_col(st, 0));
	r->display_name = op_pool_dup(pool, op_col(st, 1));
	r->status = op_pool_dup(pool, op_col(st, 2));
	r->message = op_pool_dup(pool, op_col(st, 3));
	r->has_message = r->message != NULL;
	r->started_at = op_pool_dup(pool, op_col(st, 4));
	r->has_started_at = r->started_at != NULL;
	r->completed_at = op_pool_dup(pool, op_col(st, 5));
	r->has_completed_at = r->completed_at != NULL;
	r->error = op_pool_dup(pool, op_col(st, 6));
	r->has_error = r->error != NULL;
}

enum proto_status
ops_oauth_provider_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_oauth_provider_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_oauth_provider *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_setup_sql_providers)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_setup_provider_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.providers.v = v;
		rep.providers.n = n;
		*reply_r = proto_oauth_provider_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_oauth_provider_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_oauth_provider_set_req *req = arg;
	struct proto_oauth_provider_set_rep rep;
	struct proto_rec_oauth_provider row;
	struct op_pool pool = {0};
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->id[0] == '\0' || strlen(req->id) > 64)
		return op_fail(ctx, PROTO_BAD_REQUEST, "id must be 1-64 characters", "id");
	if (req->has_name && req->name[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "name must not be empty", "name");
	if ((st = db_stmt(ctx->c, ops_setup_sql_provider_set)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->id);
	db_bind_text(st, 2, req->has_name ? req->name : NULL);
	if (req->has_enabled)
		sqlite3_bind_int(st, 3, req->enabled ? 1 : 0);
	db_bind_text(st, 4, req->has_client_id ? req->client_id : NULL);
	db_bind_text(st, 5, req->has_client_secret ? req->client_secret : NULL);
	db_bind_text(st, 6, now);
	sqlite3_bind_int(st, 7, req->has_client_id);
	sqlite3_bind_int(st, 8, req->has_client_secret);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return op_sqlite_fail(ctx, rc);
	}
	ops_setup_provider_row(st, &pool, &row);
	sqlite3_reset(st);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_oauth_provider_set_rep_msg(ctx->req_id, &rep);
	op_pool_free(&pool);
	return PROTO_OK;
}

enum proto_status
ops_oauth_account_link(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_oauth_account_link_req *req = arg;
	struct proto_oauth_account_link_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->provider[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "provider must not be empty", "provider");
	if (req->provider_user_id[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "provider_user_id must not be empty",
		    "provider_user_id");
	if ((st = db_stmt(ctx->c, ops_setup_sql_link)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->user_id);
	db_bind_text(st, 2, req->provider);
	db_bind_text(st, 3, req->provider_user_id);
	db_bind_text(st, 4, req->has_email ? req->email : NULL);
	db_bind_text(st, 5, req->has_display_name ? req->display_name : NULL);
	db_bind_text(st, 6, now);
	rc = sqlite3_step(st);
	memset(&rep, 0, sizeof(rep));
	if (rc == SQLITE_ROW)
		rep.id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return op_fail(ctx, PROTO_CONFLICT, "account already linked", "provider_user_id");
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	rep.created_at = now;
	*reply_r = proto_oauth_account_link_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

enum proto_status
ops_oauth_account_find(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_oauth_account_find_req *req = arg;
	struct proto_oauth_account_find_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_setup_sql_find)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->provider);
	db_bind_text(st, 2, req->provider_user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no linked account", "provider_user_id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.user_id = sqlite3_column_int64(st, 0);
	rep.email = op_col(st, 1);
	rep.has_email = rep.email != NULL;
	rep.display_name = op_col(st, 2);
	rep.has_display_name = rep.display_name != NULL;
	*reply_r = proto_oauth_account_find_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}

enum proto_status
ops_bootstrap_status_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_bootstrap_status_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_bootstrap_item *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_setup_sql_bootstrap)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_setup_bootstrap_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.components.v = v;
		rep.components.n = n;
		*reply_r = proto_bootstrap_status_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* The stored status for a requested one (API names, plus two aliases). */
static const char *
ops_setup_status(const char *s)
{
	static const char *const map[][2] = {
		{"pending", "pending"}, {"installing", "installing"}, {"in_progress", "installing"},
		{"healthy", "healthy"}, {"completed", "healthy"}, {"failed", "failed"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

enum proto_status
ops_bootstrap_status_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_bootstrap_status_set_req *req = arg;
	struct proto_bootstrap_status_set_rep rep;
	struct proto_rec_bootstrap_item row;
	struct op_pool pool = {0};
	const char *status = ops_setup_status(req->status);
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (status == NULL)
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "status must be pending, installing, healthy or failed", "status");
	if ((st = db_stmt(ctx->c, ops_setup_sql_bootstrap_set)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->component);
	db_bind_text(st, 2, status);
	db_bind_text(st, 3, req->has_message ? req->message : NULL);
	db_bind_text(st, 4, req->has_error ? req->error : NULL);
	db_bind_text(st, 5, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ops_setup_bootstrap_row(st, &pool, &row);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such component", "component");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memcpy(&rep, &row, sizeof(rep));
	*reply_r = proto_bootstrap_status_set_rep_msg(ctx->req_id, &rep);
	op_pool_free(&pool);
	return PROTO_OK;
}

enum proto_status
ops_server_config_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_server_config_get_rep rep;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_setup_sql_server_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "server not configured", NULL);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.name = op_col(st, 0);
	rep.storage_path = op_col(st, 1);
	rep.created_at = op_col(st, 2);
	*reply_r = proto_server_config_get_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}

enum proto_status
ops_server_config_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_server_config_set_req *req = arg;
	struct proto_server_config_set_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->name[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "name must not be empty", "name");
	if (req->storage_path[0] != '/')
		return op_fail(ctx, PROTO_BAD_REQUEST, "storage_path must be absolute", "storage_path");
	if ((st = db_stmt(ctx->c, ops_setup_sql_server_update)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->name);
	db_bind_text(st, 2, req->storage_path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		if ((st = db_stmt(ctx->c, ops_setup_sql_server_insert)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		db_now(now);
		db_bind_text(st, 1, req->name);
		db_bind_text(st, 2, req->storage_path);
		db_bind_text(st, 3, now);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return op_sqlite_fail(ctx, rc);
	}
	memset(&rep, 0, sizeof(rep));
	rep.name = op_col(st, 0);
	rep.storage_path = op_col(st, 1);
	rep.created_at = op_col(st, 2);
	*reply_r = proto_server_config_set_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}
