/* ops_roles: roles, their permissions and app rows, and the permission
 * catalogue (API.md 3.8).
 *
 * How app access is stored (the split rule of PUT /roles/{id}/permissions):
 *   - app.X entries of the list replace the role's role_app_permissions rows
 *     (X, with app.* stored as the app row "*"); every other entry replaces the
 *     role_permissions rows.  A list without app.X entries therefore clears the
 *     app rows, as in the reference.
 *   - a role's permissions read back as role_permissions plus app.<app_name>
 *     per app row, so app.* comes out either way;
 *   - allowed_apps is ["*"] only when a role has the role_permission app.*
 *     (the seeded admin role); an app row "*" is reported as the app name "*".
 *   Both are what the reference does. */
#include <stdio.h>
#include <string.h>

#include "ops_users.h"

/* The one list of permission strings storaged knows (GET /api/roles/permissions).
 * app.<name> for any app name, and app.*, are accepted besides these. */
static const struct proto_rec_perm roles_catalogue[] = {
#define ROLES_P(k, c, d) {.key = k, .category = c, .description = d}
	ROLES_P("apps.view", "apps", "View installed and available apps"),
	ROLES_P("apps.install", "apps", "Install apps"),
	ROLES_P("apps.delete", "apps", "Uninstall apps"),
	ROLES_P("apps.restart", "apps", "Restart apps"),
	ROLES_P("storage.view", "storage", "Browse files"),
	ROLES_P("storage.write", "storage", "Create and upload files and folders"),
	ROLES_P("storage.delete", "storage", "Delete files and folders"),
	ROLES_P("storage.download", "storage", "Download files"),
	ROLES_P("logs.view", "logs", "View logs"),
	ROLES_P("monitoring.view", "monitoring", "View metrics and monitoring"),
	ROLES_P("networking.view", "networking", "View network traffic"),
	ROLES_P("networking.manage", "networking", "Manage networking (no route requires it)"),
	ROLES_P("users.view", "users", "View users"),
	ROLES_P("users.manage", "users", "Create, edit and delete users"),
	ROLES_P("users.reset_password", "users", "Reset other users' passwords"),
	ROLES_P("roles.view", "roles", "View roles"),
	ROLES_P("roles.manage", "roles", "Create, edit and delete roles"),
	ROLES_P("settings.view", "settings", "View system settings"),
	ROLES_P("settings.manage", "settings", "Change system settings"),
	ROLES_P("audit.view", "audit", "View the audit log"),
	ROLES_P("audit.manage", "audit", "Clear the audit log"),
	ROLES_P("notifications.view", "notifications", "View notification settings"),
	ROLES_P("notifications.manage", "notifications", "Manage notification channels and events"),
	ROLES_P("vpn.view", "vpn", "View VPN providers"),
	ROLES_P("vpn.manage", "vpn", "Manage VPN providers and app VPN settings"),
	ROLES_P("cloudflare.view", "cloudflare", "View Cloudflare tunnels"),
	ROLES_P("cloudflare.manage", "cloudflare", "Manage Cloudflare tunnels"),
	ROLES_P("app.*", "app", "Access every app"),
	ROLES_P("app.sonarr", "app", "Access Sonarr"),
	ROLES_P("app.radarr", "app", "Access Radarr"),
	ROLES_P("app.qbittorrent", "app", "Access qBittorrent"),
	ROLES_P("app.transmission", "app", "Access Transmission"),
	ROLES_P("app.deluge", "app", "Access Deluge"),
	ROLES_P("app.rutorrent", "app", "Access ruTorrent"),
	ROLES_P("app.jellyfin", "app", "Access Jellyfin"),
	ROLES_P("app.plex", "app", "Access Plex"),
	ROLES_P("app.jackett", "app", "Access Jackett"),
	ROLES_P("app.jellyseerr", "app", "Access Jellyseerr"),
	ROLES_P("app.sabnzbd", "app", "Access SABnzbd"),
	ROLES_P("app.grafana", "app", "Access Grafana"),
	ROLES_P("app.victoriametrics", "app", "Access VictoriaMetrics"),
	ROLES_P("app.victorialogs", "app", "Access VictoriaLogs"),
	ROLES_P("app.kubernetes-dashboard", "app", "Access the Kubernetes dashboard"),
#undef ROLES_P
};
#define ROLES_NCATALOGUE (sizeof(roles_catalogue) / sizeof(roles_catalogue[0]))

static bool
roles_is_app(const char *perm)
{
	return strncmp(perm, "app.", 4) == 0;
}

bool
users_permission_known(const char *perm)
{
	if (roles_is_app(perm))
		return users_valid_app_name(perm + 4);
	for (size_t i = 0; i < ROLES_NCATALOGUE; i++)
		if (strcmp(roles_catalogue[i].key, perm) == 0)
			return true;
	return false;
}

enum proto_status
ops_permission_catalogue(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_permission_catalogue_rep rep;

	(void)arg;
	memset(&rep, 0, sizeof(rep));
	rep.perms.v = roles_catalogue;
	rep.perms.n = ROLES_NCATALOGUE;
	*reply_r = proto_permission_catalogue_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* ---- reads ---------------------------------------------------------------- */

#define ROLES_COLS "SELECT id, name, description, is_system, requires_2fa, created_at FROM roles"
static const char roles_sql_all[] = ROLES_COLS " ORDER BY id";
static const char roles_sql_one[] = ROLES_COLS " WHERE id = ?1";
/* kind 0: a role_permissions row; kind 1: an app row as app.<name>. */
#define ROLES_PERMS(where)                                                        \
	"SELECT role_id, permission, 0 FROM role_permissions" where                    \
	" UNION ALL SELECT role_id, 'app.' || app_name, 1 FROM role_app_permissions" where \
	" ORDER BY 1, 2, 3"
static const char roles_sql_perms_all[] = ROLES_PERMS("");
static const char roles_sql_perms_one[] = ROLES_PERMS(" WHERE role_id = ?1");

struct roles_set {
	struct users_arena arena;
	struct proto_rec_role *v;
	size_t n;
};

static struct proto_rec_role *
roles_find(struct roles_set *rs, int64_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].id == id)
			return &rs->v[i];
	return NULL;
}

/* Appends s to the slice list->v[0..n) of a role; slices are separate arena
 * arrays grown by doubling (roles have tens of entries). */
static void
roles_push(struct users_arena *a, struct proto_strs *list, size_t *cap, const char *s)
{
	if (list->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		const char **v = users_arena_alloc(a, ncap * sizeof(*v));

		if (list->n)
			memcpy(v, list->v, list->n * sizeof(*v));
		list->v = v;
		*cap = ncap;
	}
	list->v[list->n++] = s;
}

/* Loads one role (id > 0) or all of them (id == 0). */
static enum proto_status
roles_load(struct op_ctx *ctx, struct roles_set *rs, int64_t id)
{
	sqlite3_stmt *st;
	size_t cap = 0, *caps;
	int rc;

	if ((st = db_stmt(ctx->c, id ? roles_sql_one : roles_sql_all)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	if (id)
		sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_role *r;

		if (rs->n == cap) {
			struct proto_rec_role *nv;

			cap = cap ? cap * 2 : 16;
			nv = users_arena_alloc(&rs->arena, cap * sizeof(*nv));
			if (rs->n)
				memcpy(nv, rs->v, rs->n * sizeof(*nv));
			rs->v = nv;
		}
		r = &rs->v[rs->n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->name = users_arena_strdup(&rs->arena, (const char *)sqlite3_column_text(st, 1));
		r->has_description = sqlite3_column_type(st, 2) != SQLITE_NULL;
		r->description = users_arena_strdup(&rs->arena, (const char *)sqlite3_column_text(st, 2));
		r->is_system = sqlite3_column_int(st, 3) != 0;
		r->requires_2fa = sqlite3_column_int(st, 4) != 0;
		r->created_at = users_arena_strdup(&rs->arena, (const char *)sqlite3_column_text(st, 5));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (rs->n == 0)
		return PROTO_OK;
	caps = users_arena_alloc(&rs->arena, rs->n * 3 * sizeof(*caps));
	memset(caps, 0, rs->n * 3 * sizeof(*caps));
	if ((st = db_stmt(ctx->c, id ? roles_sql_perms_one : roles_sql_perms_all)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	if (id)
		sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_role *r = roles_find(rs, sqlite3_column_int64(st, 0));
		const char *p;
		size_t *c;

		if (r == NULL)
			continue;
		c = &caps[(size_t)(r - rs->v) * 3];
		p = users_arena_strdup(&rs->arena, (const char *)sqlite3_column_text(st, 1));
		if (r->permissions.n == 0 || strcmp(r->permissions.v[r->permissions.n - 1], p) != 0)
			roles_push(&rs->arena, &r->permissions, &c[0], p);
		if (sqlite3_column_int(st, 2) == 0)
			roles_push(&rs->arena, &r->role_permissions, &c[1], p);
		else
			roles_push(&rs->arena, &r->app_names, &c[2], p + 4);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	return PROTO_OK;
}

/* The one-role reply, in the shape of the op being served. */
static enum proto_status
roles_reply_one(struct op_ctx *ctx, int64_t id, nng_msg **reply_r)
{
	struct roles_set rs;
	enum proto_status res;

	memset(&rs, 0, sizeof(rs));
	res = roles_load(ctx, &rs, id);
	if (res == PROTO_OK && rs.n == 0)
		res = op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if (res != PROTO_OK) {
		users_arena_free(&rs.arena);
		return res;
	}
	switch (ctx->op) {
#define ROLES_SHAPE(NAME, name)                                                         \
	case PROTO_OP_##NAME: {                                                             \
		struct proto_##name##_rep r;                                                    \
		_Static_assert(sizeof(r) == sizeof(rs.v[0]), #NAME " replies with a role");     \
		memcpy(&r, &rs.v[0], sizeof(r));                                                \
		*reply_r = proto_##name##_rep_msg(ctx->req_id, &r);                             \
		break;                                                                          \
	}
	ROLES_SHAPE(ROLE_CREATE, role_create)
	ROLES_SHAPE(ROLE_UPDATE, role_update)
	ROLES_SHAPE(ROLE_SET_PERMISSIONS, role_set_permissions)
	ROLES_SHAPE(ROLE_SET_APPS, role_set_apps)
	ROLES_SHAPE(ROLE_GET, role_get)
#undef ROLES_SHAPE
	default:
		res = op_fail(ctx, PROTO_INTERNAL, "role reply for an unexpected op", NULL);
		break;
	}
	users_arena_free(&rs.arena);
	return res;
}

enum proto_status
ops_role_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_get_req *req = arg;
	enum proto_status res;

	if (req->id <= 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "BEGIN", NULL, NULL, NULL);
	res = roles_reply_one(ctx, req->id, reply_r);
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "COMMIT", NULL, NULL, NULL);
	return res;
}

enum proto_status
ops_role_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_role_list_rep rep;
	struct roles_set rs;
	enum proto_status res;

	(void)arg;
	memset(&rs, 0, sizeof(rs));
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "BEGIN", NULL, NULL, NULL);
	res = roles_load(ctx, &rs, 0);
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "COMMIT", NULL, NULL, NULL);
	if (res == PROTO_OK) {
		memset(&rep, 0, sizeof(rep));
		rep.roles.v = rs.v;
		rep.roles.n = rs.n;
		*reply_r = proto_role_list_rep_msg(ctx->req_id, &rep);
	}
	users_arena_free(&rs.arena);
	return res;
}

/* ---- writes --------------------------------------------------------------- */

static const char roles_sql_head[] = "SELECT name, is_system FROM roles WHERE id = ?";
static const char roles_sql_insert[] =
    "INSERT INTO roles(name, description, is_system, requires_2fa, created_at)"
    " VALUES (?1, ?2, 0, ?3, ?4)";
static const char roles_sql_update[] =
    "UPDATE roles SET name = COALESCE(?2, name),"
    " description = CASE WHEN ?5 THEN NULLIF(?3, '') ELSE description END,"
    " requires_2fa = COALESCE(?4, requires_2fa) WHERE id = ?1";
static const char roles_sql_delete[] = "DELETE FROM roles WHERE id = ?";
static const char roles_sql_perms_clear[] = "DELETE FROM role_permissions WHERE role_id = ?";
static const char roles_sql_perm_add[] =
    "INSERT OR IGNORE INTO role_permissions(role_id, permission) VALUES (?, ?)";
static const char roles_sql_apps_clear[] = "DELETE FROM role_app_permissions WHERE role_id = ?";
static const char roles_sql_app_add[] =
    "INSERT OR IGNORE INTO role_app_permissions(role_id, app_name) VALUES (?, ?)";

/* Whether a role exists (1, 0; -1 on error) and whether it is the admin role. */
static int
roles_head(struct op_ctx *ctx, int64_t id, bool *system_r, bool *admin_r, char name_r[65])
{
	sqlite3_stmt *st = db_stmt(ctx->c, roles_sql_head);
	int rc;

	if (st == NULL) {
		op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		op_sqlite_fail(ctx, rc);
		return -1;
	}
	*system_r = sqlite3_column_int(st, 1) != 0;
	snprintf(name_r, 65, "%s", (const char *)sqlite3_column_text(st, 0));
	*admin_r = *system_r && strcmp(name_r, USERS_ADMIN_ROLE) == 0;
	sqlite3_reset(st);
	return 1;
}

/* Runs `sql` (role id, text) once per entry of `list`, after `clear`. */
static enum proto_status
roles_replace(struct op_ctx *ctx, int64_t id, const char *clear, const char *add,
    const struct proto_strs *list, bool apps, bool skip_apps)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, clear)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	for (size_t i = 0; i < list->n; i++) {
		const char *s = list->v[i];

		if (skip_apps && roles_is_app(s) != apps)
			continue;
		if ((st = db_stmt(ctx->c, add)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, id);
		db_bind_text(st, 2, skip_apps && apps ? s + 4 : s);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return op_sqlite_fail(ctx, rc);
	}
	return PROTO_OK;
}

/* The split rule (see the top of this file). */
static enum proto_status
roles_set_permissions(struct op_ctx *ctx, int64_t id, bool admin, const struct proto_strs *perms)
{
	bool users_manage = false, roles_manage = false;
	enum proto_status res;

	for (size_t i = 0; i < perms->n; i++) {
		if (!users_permission_known(perms->v[i]))
			return op_fail(ctx, PROTO_BAD_REQUEST, "unknown permission", "permissions");
		users_manage = users_manage || strcmp(perms->v[i], "users.manage") == 0;
		roles_manage = roles_manage || strcmp(perms->v[i], "roles.manage") == 0;
	}
	/* Admin lock-out guard: without users.manage and roles.manage on the admin
	 * role nobody could manage users or give the permissions back, so removing
	 * either from the admin role is refused. */
	if (admin && (!users_manage || !roles_manage))
		return op_fail(ctx, PROTO_FORBIDDEN,
		    "the admin role must keep users.manage and roles.manage", "permissions");
	res = roles_replace(ctx, id, roles_sql_perms_clear, roles_sql_perm_add, perms, false, true);
	if (res != PROTO_OK)
		return res;
	return roles_replace(ctx, id, roles_sql_apps_clear, roles_sql_app_add, perms, true, true);
}

static enum proto_status
roles_set_apps(struct op_ctx *ctx, int64_t id, const struct proto_strs *apps)
{
	for (size_t i = 0; i < apps->n; i++)
		if (!users_valid_app_name(apps->v[i]))
			return op_fail(ctx, PROTO_BAD_REQUEST, "invalid app name", "app_names");
	return roles_replace(ctx, id, roles_sql_apps_clear, roles_sql_app_add, apps, true, false);
}

enum proto_status
ops_role_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_create_req *req = arg;
	sqlite3_stmt *st;
	char now[25];
	int64_t id;
	enum proto_status res;
	int rc;

	if (!users_valid_role_name(req->name))
		return op_fail(ctx, PROTO_BAD_REQUEST, "name must be 1-64 characters", "name");
	if ((st = db_stmt(ctx->c, roles_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->name);
	db_bind_text(st, 2, req->has_description && req->description[0] ? req->description : NULL);
	sqlite3_bind_int(st, 3, req->has_requires_2fa && req->requires_2fa ? 1 : 0);
	db_bind_text(st, 4, now);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		res = op_sqlite_fail(ctx, rc);
		if (res == PROTO_CONFLICT)
			res = op_fail(ctx, PROTO_CONFLICT, "role name already exists", "name");
		return res;
	}
	id = sqlite3_last_insert_rowid(ctx->c->db);
	if (req->has_permissions && (res = roles_set_permissions(ctx, id, false, &req->permissions)))
		return res;
	if (req->has_app_names && (res = roles_set_apps(ctx, id, &req->app_names)) != PROTO_OK)
		return res;
	if ((res = roles_reply_one(ctx, id, reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "role", id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_role_update(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_update_req *req = arg;
	bool system = false, admin = false;
	char name[65];
	sqlite3_stmt *st;
	enum proto_status res;
	int rc;

	if ((rc = roles_head(ctx, req->id, &system, &admin, name)) < 0)
		return PROTO_INTERNAL;
	if (rc == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if (req->has_name && !users_valid_role_name(req->name))
		return op_fail(ctx, PROTO_BAD_REQUEST, "name must be 1-64 characters", "name");
	if (req->has_name && system && strcmp(req->name, name) != 0)
		return op_fail(ctx, PROTO_FORBIDDEN, "system roles cannot be renamed", "name");
	if ((st = db_stmt(ctx->c, roles_sql_update)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, req->has_name ? req->name : NULL);
	db_bind_text(st, 3, req->has_description ? req->description : NULL);
	if (req->has_requires_2fa)
		sqlite3_bind_int(st, 4, req->requires_2fa ? 1 : 0);
	sqlite3_bind_int(st, 5, req->has_description ? 1 : 0);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		res = op_sqlite_fail(ctx, rc);
		if (res == PROTO_CONFLICT)
			res = op_fail(ctx, PROTO_CONFLICT, "role name already exists", "name");
		return res;
	}
	if ((res = roles_reply_one(ctx, req->id, reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "role", req->id, NULL);
	return PROTO_OK;
}

/* Deleting a role still held by users is allowed: user_roles cascades.  One
 * role event is published (caches key principals by role id as well); one
 * user event per holder could exceed OP_MAX_EVENTS. */
enum proto_status
ops_role_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_delete_req *req = arg;
	struct proto_role_delete_rep rep;
	bool system = false, admin = false;
	char name[65];
	sqlite3_stmt *st;
	int rc;

	if ((rc = roles_head(ctx, req->id, &system, &admin, name)) < 0)
		return PROTO_INTERNAL;
	if (rc == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if (system)
		return op_fail(ctx, PROTO_FORBIDDEN, "system roles cannot be deleted", "id");
	if ((st = db_stmt(ctx->c, roles_sql_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	*reply_r = proto_role_delete_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "role", req->id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_role_set_permissions(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_set_permissions_req *req = arg;
	bool system = false, admin = false;
	char name[65];
	enum proto_status res;
	int rc;

	if ((rc = roles_head(ctx, req->id, &system, &admin, name)) < 0)
		return PROTO_INTERNAL;
	if (rc == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if ((res = roles_set_permissions(ctx, req->id, admin, &req->permissions)) != PROTO_OK)
		return res;
	if ((res = roles_reply_one(ctx, req->id, reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "role", req->id, NULL);
	return PROTO_OK;
}

enum proto_status
ops_role_set_apps(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_role_set_apps_req *req = arg;
	bool system = false, admin = false;
	char name[65];
	enum proto_status res;
	int rc;

	if ((rc = roles_head(ctx, req->id, &system, &admin, name)) < 0)
		return PROTO_INTERNAL;
	if (rc == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "id");
	if ((res = roles_set_apps(ctx, req->id, &req->app_names)) != PROTO_OK)
		return res;
	if ((res = roles_reply_one(ctx, req->id, reply_r)) != PROTO_OK)
		return res;
	op_event(ctx, "role", req->id, NULL);
	return PROTO_OK;
}
