/* PRINCIPAL_GET: authd's cache miss.  One reader job, two statements on
 * indexes: the session joined to its user (primary keys) with the roles'
 * requires_2fa (user_roles primary key, roles primary key), then the user's
 * role permissions and app rows (user_roles primary key, then the
 * UNIQUE (role_id, ...) indexes of role_permissions and role_app_permissions).
 * Permissions are sorted and unique (API.md 3.2); allowed_apps is ["*"] when
 * app.* is held, else the unique app names (API.md 3.8). */
#include "ops_sessions.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const char ops_principal_sql_session[] =
    "SELECT s.user_id, s.expires_at, s.is_revoked, u.username, u.email, u.is_active,"
    " u.is_approved, u.totp_enabled,"
    " (SELECT COALESCE(MAX(r.requires_2fa), 0) FROM user_roles AS ur"
    "  JOIN roles AS r ON r.id = ur.role_id WHERE ur.user_id = s.user_id)"
    " FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE s.id = ?";
static const char ops_principal_sql_perms[] =
    "SELECT 0, rp.permission FROM user_roles AS ur"
    " JOIN role_permissions AS rp ON rp.role_id = ur.role_id WHERE ur.user_id = ?1"
    " UNION ALL"
    " SELECT 1, ra.app_name FROM user_roles AS ur"
    " JOIN role_app_permissions AS ra ON ra.role_id = ur.role_id WHERE ur.user_id = ?1";

static int
ops_principal_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts v and drops duplicates; returns the new length. */
static size_t
ops_principal_unique(const char **v, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(v[0]), ops_principal_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i], v[out]) != 0)
			v[++out] = v[i];
	return out + 1;
}

/* Fills the permission and app lists of a valid principal. */
static int
ops_principal_perms(struct op_ctx *ctx, int64_t user_id, struct op_pool *pool,
    struct proto_principal_get_rep *rep)
{
	const char **perms = NULL, **apps = NULL;
	size_t np = 0, capp = 0, na = 0, capa = 0;
	bool wildcard = false;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_principal_sql_perms)) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 1);
		const char *perm;

		if (sqlite3_column_int(st, 0) == 0) {
			perm = op_pool_dup(pool, v);
		} else {
			char *s = xasprintf("app.%s", v);

			perm = op_pool_dup(pool, s);
			free(s);
			apps = op_grow(apps, &capa, na, sizeof(apps[0]));
			apps[na++] = perm + 4;
		}
		if (strcmp(perm, "app.*") == 0)
			wildcard = true;
		perms = op_grow(perms, &capp, np, sizeof(perms[0]));
		perms[np++] = perm;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(perms);
		free(apps);
		return rc;
	}
	rep->permissions.v = perms;
	rep->permissions.n = ops_principal_unique(perms, np);
	rep->has_permissions = true;
	if (wildcard) {
		apps = op_grow(apps, &capa, 0, sizeof(apps[0]));
		apps[0] = "*";
		na = 1;
	}
	rep->allowed_apps.v = apps;
	rep->allowed_apps.n = ops_principal_unique(apps, na);
	rep->has_allowed_apps = true;
	return SQLITE_OK;
}

static const char *
ops_principal_check(sqlite3_stmt *st, const char *now)
{
	if (strcmp((const char *)sqlite3_column_text(st, 1), now) <= 0)
		return "expired";
	if (sqlite3_column_int(st, 2) != 0)
		return "revoked";
	if (sqlite3_column_int(st, 5) == 0)
		return "user disabled";
	if (sqlite3_column_int(st, 6) == 0)
		return "user not approved";
	return NULL;
}

enum proto_status
ops_principal_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_principal_get_req *req = arg;
	struct proto_principal_get_rep rep;
	struct op_pool pool = {0};
	sqlite3_stmt *st;
	char now[25];
	int rc;

	memset(&rep, 0, sizeof(rep));
	if ((st = db_stmt(ctx->c, ops_principal_sql_session)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->session_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (rc == SQLITE_DONE) {
		rep.reason = "no such session";
		rep.has_reason = true;
		*reply_r = proto_principal_get_rep_msg(ctx->req_id, &rep);
		return PROTO_OK;
	}
	db_now(now);
	rep.user_id = sqlite3_column_int64(st, 0);
	rep.has_user_id = true;
	if ((rep.reason = ops_principal_check(st, now)) != NULL) {
		rep.has_reason = true;
		sqlite3_reset(st);
		*reply_r = proto_principal_get_rep_msg(ctx->req_id, &rep);
		return PROTO_OK;
	}
	rep.valid = true;
	rep.expires_at = op_pool_dup(&pool, (const char *)sqlite3_column_text(st, 1));
	rep.username = op_pool_dup(&pool, (const char *)sqlite3_column_text(st, 3));
	rep.email = op_pool_dup(&pool, (const char *)sqlite3_column_text(st, 4));
	rep.is_active = rep.is_approved = true;
	rep.totp_enabled = sqlite3_column_int(st, 7) != 0;
	rep.requires_2fa = sqlite3_column_int(st, 8) != 0;
	rep.has_expires_at = rep.has_username = rep.has_email = rep.has_is_active =
	    rep.has_is_approved = rep.has_totp_enabled = rep.has_requires_2fa = true;
	sqlite3_reset(st);
	if ((rc = ops_principal_perms(ctx, rep.user_id, &pool, &rep)) != SQLITE_OK) {
		op_pool_free(&pool);
		return op_sqlite_fail(ctx, rc);
	}
	*reply_r = proto_principal_get_rep_msg(ctx->req_id, &rep);
	free((void *)rep.permissions.v);
	free((void *)rep.allowed_apps.v);
	op_pool_free(&pool);
	return PROTO_OK;
}
