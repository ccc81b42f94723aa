/* The users family (ops 100-199): users, roles, permissions, preferences.
 *
 * This file holds the family's table, the reply arena, validation and the
 * reads of users.  A user's permissions, allowed apps and 2FA requirement are
 * computed here for a whole page at once: one query for the page, one for the
 * roles of its users, one for their permissions and app rows (the user ids are
 * bound as a JSON array, so each query is an indexed lookup, never N+1).
 *
 * Permissions (API.md 3.2): every role_permissions row of the user's roles
 * plus app.<app_name> per role_app_permissions row, sorted (byte order) and
 * de-duplicated.  allowed_apps (API.md 3.8): ["*"] when a role has the
 * role_permission app.*, else the de-duplicated app names (an app row "*",
 * written by the split rule, is an app name like any other, as in the
 * reference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_users.h"
#include "xmalloc.h"

static const struct op_def ops_users_table[] = {
	OPS_DEF(USER_CREATE, user_create, true, ops_user_create),
	OPS_DEF(USER_GET, user_get, false, ops_user_get),
	OPS_DEF(USER_LIST, user_list, false, ops_user_list),
	OPS_DEF(USER_LIST_PENDING, user_list_pending, false, ops_user_list_pending),
	OPS_DEF(USER_UPDATE, user_update, true, ops_user_update),
	OPS_DEF(USER_DELETE, user_delete, true, ops_user_delete),
	OPS_DEF_AUTHD(USER_SET_PASSWORD, user_set_password, true, ops_user_set_password),
	OPS_DEF_AUTHD(USER_SET_TOTP, user_set_totp, true, ops_user_set_totp),
	OPS_DEF(USER_PREFS_GET, user_prefs_get, false, ops_user_prefs_get),
	OPS_DEF(USER_PREFS_SET, user_prefs_set, true, ops_user_prefs_set),
	OPS_DEF(ROLE_LIST, role_list, false, ops_role_list),
	OPS_DEF(ROLE_GET, role_get, false, ops_role_get),
	OPS_DEF(ROLE_CREATE, role_create, true, ops_role_create),
	OPS_DEF(ROLE_UPDATE, role_update, true, ops_role_update),
	OPS_DEF(ROLE_DELETE, role_delete, true, ops_role_delete),
	OPS_DEF(ROLE_SET_PERMISSIONS, role_set_permissions, true, ops_role_set_permissions),
	OPS_DEF(ROLE_SET_APPS, role_set_apps, true, ops_role_set_apps),
	OPS_DEF(PERMISSION_CATALOGUE, permission_catalogue, false, ops_permission_catalogue),
};

const struct op_family ops_family_users = {ops_users_table,
    sizeof(ops_users_table) / sizeof(ops_users_table[0])};

#define USERS_PAGE_DEFAULT 100
#define USERS_PAGE_MAX 1000
#define USERS_ARENA_BLOCK 8192

/* ---- arena ---------------------------------------------------------------- */

struct users_arena_block {
	struct users_arena_block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

void *
users_arena_alloc(struct users_arena *a, size_t size)
{
	struct users_arena_block *b = a->head;

	size = (size + 15) & ~(size_t)15;
	if (b == NULL || b->size - b->used < size) {
		size_t cap = size > USERS_ARENA_BLOCK ? size : USERS_ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + cap);
		b->size = cap;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	b->used += size;
	return b->data + b->used - size;
}

const char *
users_arena_strdup(struct users_arena *a, const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	p = users_arena_alloc(a, n);
	memcpy(p, s, n);
	return p;
}

void
users_arena_free(struct users_arena *a)
{
	while (a->head != NULL) {
		struct users_arena_block *b = a->head;

		a->head = b->next;
		free(b);
	}
}

/* A growable array of strings inside the arena (old copies are left behind). */
struct users_vec {
	const char **v;
	size_t n, cap;
};

static void
users_vec_push(struct users_arena *a, struct users_vec *vec, const char *s)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 32;
		const char **v = users_arena_alloc(a, cap * sizeof(*v));

		if (vec->n)
			memcpy(v, vec->v, vec->n * sizeof(*v));
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = s;
}

/* ---- validation ----------------------------------------------------------- */

static bool
users_name_chars(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

bool
users_valid_username(const char *s)
{
	return users_name_chars(s, 3, 64);
}

bool
users_valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	return n <= 255 && at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

bool
users_valid_role_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && s[0] != ' ' && s[n - 1] != ' ';
}

bool
users_valid_app_name(const char *s)
{
	return strcmp(s, "*") == 0 || users_name_chars(s, 1, 63);
}

/* ---- shared queries ------------------------------------------------------- */

static const char users_sql_active_admins[] =
    "SELECT COUNT(*) FROM roles r JOIN user_roles ur ON ur.role_id = r.id"
    " JOIN users u ON u.id = ur.user_id"
    " WHERE r.name = '" USERS_ADMIN_ROLE "' AND r.is_system = 1"
    " AND u.is_active = 1 AND u.is_approved = 1";
static const char users_sql_exists[] = "SELECT 1 FROM users WHERE id = ?";
static const char users_sql_roles_clear[] = "DELETE FROM user_roles WHERE user_id = ?";
static const char users_sql_roles_add[] =
    "INSERT OR IGNORE INTO user_roles(user_id, role_id) SELECT ?1, id FROM roles WHERE name = ?2";

int
users_count_active_admins(struct op_ctx *ctx, int64_t *n_r)
{
	sqlite3_stmt *st = db_stmt(ctx->c, users_sql_active_admins);
	int rc;

	if (st == NULL) {
		op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		return -1;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		op_sqlite_fail(ctx, rc);
		return -1;
	}
	*n_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
users_exists(struct op_ctx *ctx, int64_t id)
{
	sqlite3_stmt *st = db_stmt(ctx->c, users_sql_exists);
	int rc;

	if (st == NULL) {
		op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	op_sqlite_fail(ctx, rc);
	return -1;
}

enum proto_status
users_set_roles(struct op_ctx *ctx, int64_t user_id, const struct proto_strs *roles)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, users_sql_roles_clear)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, user_id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	for (size_t i = 0; i < roles->n; i++) {
		if ((st = db_stmt(ctx->c, users_sql_roles_add)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		sqlite3_bind_int64(st, 1, user_id);
		db_bind_text(st, 2, roles->v[i]);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return op_sqlite_fail(ctx, rc);
		/* no row inserted and not a repeat of an earlier name: unknown role */
		if (sqlite3_changes(ctx->c->db) == 0) {
			bool repeat = false;

			for (size_t j = 0; j < i; j++)
				repeat = repeat || strcmp(roles->v[j], roles->v[i]) == 0;
			if (!repeat)
				return op_fail(ctx, PROTO_NOT_FOUND, "no such role", "roles");
		}
	}
	return PROTO_OK;
}

/* ---- pages of users ------------------------------------------------------- */

#define USERS_COLS                                                                \
	"SELECT u.id, u.username, u.email, u.is_active, u.is_approved, u.created_at,"  \
	" u.updated_at, COALESCE(p.theme, 'system'), u.hashed_password, u.totp_secret," \
	" u.totp_enabled, u.totp_verified_at"                                          \
	" FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id"
static const char users_sql_by_id[] = USERS_COLS " WHERE u.id = ?1";
static const char users_sql_by_username[] = USERS_COLS " WHERE u.username = ?1";
static const char users_sql_by_email[] = USERS_COLS " WHERE u.email = ?1";
static const char users_sql_page[] = USERS_COLS " ORDER BY u.id LIMIT ?1 OFFSET ?2";
static const char users_sql_page_pending[] =
    USERS_COLS " WHERE u.is_approved = 0 ORDER BY u.id LIMIT ?1 OFFSET ?2";
static const char users_sql_count[] = "SELECT COUNT(*) FROM users";
static const char users_sql_count_pending[] = "SELECT COUNT(*) FROM users WHERE is_approved = 0";
static const char users_sql_page_roles[] =
    "SELECT ur.user_id, r.id, r.name, r.description, r.requires_2fa"
    " FROM user_roles ur JOIN roles r ON r.id = ur.role_id"
    " WHERE ur.user_id IN (SELECT value FROM json_each(?1))"
    " ORDER BY ur.user_id, r.name";
/* kind 0: a role_permissions row; kind 1: an app row as app.<name>. */
static const char users_sql_page_perms[] =
    "SELECT ur.user_id, rp.permission AS p, 0 AS kind"
    " FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id"
    " WHERE ur.user_id IN (SELECT value FROM json_each(?1))"
    " UNION ALL SELECT ur.user_id, 'app.' || ra.app_name, 1"
    " FROM user_roles ur JOIN role_app_permissions ra ON ra.role_id = ur.role_id"
    " WHERE ur.user_id IN (SELECT value FROM json_each(?1))"
    " ORDER BY 1, 2, 3";

struct users_page {
	struct users_arena arena;
	struct proto_rec_user *v;
	size_t n;
	struct proto_rec_role_ref *refs;
	size_t nrefs;
	/* the secrets of v[0] (USER_GET with_secrets) */
	const char *hashed_password, *totp_secret, *totp_verified_at;
	bool totp_enabled;
};

static void
users_row(struct users_page *pg, sqlite3_stmt *st, struct proto_rec_user *u)
{
	struct users_arena *a = &pg->arena;

	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	u->username = users_arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
	u->email = users_arena_strdup(a, (const char *)sqlite3_column_text(st, 2));
	u->is_active = sqlite3_column_int(st, 3) != 0;
	u->is_approved = sqlite3_column_int(st, 4) != 0;
	u->created_at = users_arena_strdup(a, (const char *)sqlite3_column_text(st, 5));
	u->updated_at = users_arena_strdup(a, (const char *)sqlite3_column_text(st, 6));
	u->theme = users_arena_strdup(a, (const char *)sqlite3_column_text(st, 7));
}

static struct proto_rec_user *
users_page_find(struct users_page *pg, int64_t id)
{
	size_t lo = 0, hi = pg->n;

	while (lo < hi) {   /* the page is ordered by id */
		size_t mid = (lo + hi) / 2;

		if (pg->v[mid].id == id)
			return &pg->v[mid];
		if (pg->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *
users_page_ids(struct users_page *pg)
{
	size_t cap = 2 + pg->n * 21, len = 0;
	char *s = users_arena_alloc(&pg->arena, cap);

	s[len++] = '[';
	for (size_t i = 0; i < pg->n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)pg->v[i].id);
	s[len++] = ']';
	s[len] = '\0';
	return s;
}

static enum proto_status
users_page_roles(struct op_ctx *ctx, struct users_page *pg, const char *ids)
{
	struct users_vec names = {0};
	size_t *start = users_arena_alloc(&pg->arena, (pg->n + 1) * sizeof(*start));
	size_t refcap = 0;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, users_sql_page_roles)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, ids);
	for (size_t i = 0; i < pg->n; i++)
		start[i] = SIZE_MAX;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_user *u = users_page_find(pg, sqlite3_column_int64(st, 0));
		int64_t rid = sqlite3_column_int64(st, 1);
		size_t k;

		if (u == NULL)
			continue;
		if (start[u - pg->v] == SIZE_MAX)
			start[u - pg->v] = names.n;
		u->roles.n++;
		u->requires_2fa = u->requires_2fa || sqlite3_column_int(st, 4) != 0;
		for (k = 0; k < pg->nrefs && pg->refs[k].id != rid; k++)
			;
		if (k == pg->nrefs) {
			struct proto_rec_role_ref *r;

			if (pg->nrefs == refcap) {
				struct proto_rec_role_ref *nv;

				refcap = refcap ? refcap * 2 : 8;
				nv = users_arena_alloc(&pg->arena, refcap * sizeof(*nv));
				if (pg->nrefs)
					memcpy(nv, pg->refs, pg->nrefs * sizeof(*nv));
				pg->refs = nv;
			}
			r = &pg->refs[pg->nrefs++];
			memset(r, 0, sizeof(*r));
			r->id = rid;
			r->name = users_arena_strdup(&pg->arena, (const char *)sqlite3_column_text(st, 2));
			r->has_description = sqlite3_column_type(st, 3) != SQLITE_NULL;
			r->description = users_arena_strdup(&pg->arena,
			    (const char *)sqlite3_column_text(st, 3));
		}
		users_vec_push(&pg->arena, &names, pg->refs[k].name);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	for (size_t i = 0; i < pg->n; i++)
		if (pg->v[i].roles.n)
			pg->v[i].roles.v = names.v + start[i];
	return PROTO_OK;
}

static enum proto_status
users_page_perms(struct op_ctx *ctx, struct users_page *pg, const char *ids)
{
	struct users_vec perms = {0}, apps = {0};
	size_t *pstart = users_arena_alloc(&pg->arena, (pg->n + 1) * sizeof(*pstart));
	size_t *astart = users_arena_alloc(&pg->arena, (pg->n + 1) * sizeof(*astart));
	bool *all = users_arena_alloc(&pg->arena, (pg->n + 1) * sizeof(*all));
	struct proto_rec_user *cur = NULL;
	const char *last_app = NULL;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, users_sql_page_perms)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, ids);
	memset(all, 0, (pg->n + 1) * sizeof(*all));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proto_rec_user *u = users_page_find(pg, sqlite3_column_int64(st, 0));
		const char *p = (const char *)sqlite3_column_text(st, 1);
		bool app = sqlite3_column_int(st, 2) == 1;
		size_t ui;

		if (u == NULL)
			continue;
		ui = (size_t)(u - pg->v);
		if (u != cur) {
			cur = u;
			last_app = NULL;
			pstart[ui] = perms.n;
			astart[ui] = apps.n;
		}
		if (u->permissions.n == 0 || strcmp(perms.v[perms.n - 1], p) != 0) {
			users_vec_push(&pg->arena, &perms, users_arena_strdup(&pg->arena, p));
			u->permissions.n++;
		}
		if (!app && strcmp(p, "app.*") == 0)
			all[ui] = true;
		if (app && (last_app == NULL || strcmp(last_app, p + 4) != 0)) {
			last_app = perms.v[perms.n - 1] + 4;
			users_vec_push(&pg->arena, &apps, last_app);
			u->allowed_apps.n++;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	for (size_t i = 0; i < pg->n; i++) {
		struct proto_rec_user *u = &pg->v[i];

		if (u->permissions.n)
			u->permissions.v = perms.v + pstart[i];
		if (all[i]) {
			const char **star = users_arena_alloc(&pg->arena, sizeof(*star));

			*star = "*";
			u->allowed_apps.v = star;
			u->allowed_apps.n = 1;
		} else if (u->allowed_apps.n) {
			u->allowed_apps.v = apps.v + astart[i];
		}
	}
	return PROTO_OK;
}

/* Runs a users query (page or single) and completes every row. */
static enum proto_status
users_page_load(struct op_ctx *ctx, struct users_page *pg, sqlite3_stmt *st, size_t max)
{
	const char *ids;
	enum proto_status res;
	int rc = SQLITE_DONE;

	pg->v = users_arena_alloc(&pg->arena, (max ? max : 1) * sizeof(*pg->v));
	while (pg->n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pg->n == 0 && sqlite3_column_type(st, 9) != SQLITE_NULL)
			pg->totp_secret = users_arena_strdup(&pg->arena,
			    (const char *)sqlite3_column_text(st, 9));
		if (pg->n == 0) {
			pg->hashed_password = users_arena_strdup(&pg->arena,
			    (const char *)sqlite3_column_text(st, 8));
			pg->totp_enabled = sqlite3_column_int(st, 10) != 0;
			pg->totp_verified_at = users_arena_strdup(&pg->arena,
			    (const char *)sqlite3_column_text(st, 11));
		}
		users_row(pg, st, &pg->v[pg->n++]);
	}
	if (pg->n < max && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return op_sqlite_fail(ctx, rc);
	}
	sqlite3_reset(st);
	if (pg->n == 0)
		return PROTO_OK;
	ids = users_page_ids(pg);
	if ((res = users_page_roles(ctx, pg, ids)) != PROTO_OK)
		return res;
	return users_page_perms(ctx, pg, ids);
}

/* A read that spans several statements sees one snapshot. */
static void
users_read_begin(struct op_ctx *ctx)
{
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "BEGIN", NULL, NULL, NULL);
}

static void
users_read_end(struct op_ctx *ctx)
{
	if (ctx->c->readonly)
		sqlite3_exec(ctx->c->db, "COMMIT", NULL, NULL, NULL);
}

static enum proto_status
users_reply_by(struct op_ctx *ctx, const char *sql, int64_t id, const char *text, bool with_secrets,
    const char *field, nng_msg **reply_r)
{
	struct users_page pg;
	struct proto_user_get_rep rep;
	sqlite3_stmt *st;
	enum proto_status res;

	memset(&pg, 0, sizeof(pg));
	if ((st = db_stmt(ctx->c, sql)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	if (text != NULL)
		db_bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, id);
	users_read_begin(ctx);
	res = users_page_load(ctx, &pg, st, 1);
	users_read_end(ctx);
	if (res == PROTO_OK && pg.n == 0)
		res = op_fail(ctx, PROTO_NOT_FOUND, "no such user", field);
	if (res != PROTO_OK) {
		users_arena_free(&pg.arena);
		return res;
	}
	memset(&rep, 0, sizeof(rep));
#define USERS_COPY(type, name, key, req, doc) rep.name = pg.v[0].name;
	PROTO_REC_user(USERS_COPY)
#undef USERS_COPY
	rep.role_refs.v = pg.refs;
	rep.role_refs.n = pg.nrefs;
	if (with_secrets) {
		rep.hashed_password = pg.hashed_password;
		rep.has_hashed_password = true;
		rep.totp_secret = pg.totp_secret;
		rep.has_totp_secret = pg.totp_secret != NULL;
		rep.totp_enabled = pg.totp_enabled;
		rep.has_totp_enabled = true;
		rep.totp_verified_at = pg.totp_verified_at;
		rep.has_totp_verified_at = pg.totp_verified_at != NULL;
	}
	/* every op of the family that answers one user shares USER_GET's shape */
	switch (ctx->op) {
#define USERS_SAME_SHAPE(NAME, name)                                                     \
	case PROTO_OP_##NAME: {                                                             \
		struct proto_##name##_rep r;                                                    \
		_Static_assert(sizeof(r) == sizeof(rep), #NAME " shares USER_GET's reply");     \
		memcpy(&r, &rep, sizeof(r));                                                    \
		*reply_r = proto_##name##_rep_msg(ctx->req_id, &r);                             \
		break;                                                                          \
	}
	USERS_SAME_SHAPE(USER_CREATE, user_create)
	USERS_SAME_SHAPE(USER_UPDATE, user_update)
#undef USERS_SAME_SHAPE
	default:
		*reply_r = proto_user_get_rep_msg(ctx->req_id, &rep);
		break;
	}
	users_arena_free(&pg.arena);
	return PROTO_OK;
}

enum proto_status
users_reply_one(struct op_ctx *ctx, int64_t id, bool with_secrets, const char *field,
    nng_msg **reply_r)
{
	return users_reply_by(ctx, users_sql_by_id, id, NULL, with_secrets, field, reply_r);
}

enum proto_status
ops_user_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_get_req *req = arg;
	bool secrets = req->has_with_secrets && req->with_secrets;

	if (secrets && !ctx->peer_is_authd)
		return op_fail(ctx, PROTO_FORBIDDEN, "only authd may read password hashes", "with_secrets");
	if (req->has_id + req->has_username + req->has_email != 1)
		return op_fail(ctx, PROTO_BAD_REQUEST, "give exactly one of id, username, email", "id");
	if (req->has_username)
		return users_reply_by(ctx, users_sql_by_username, 0, req->username, secrets, "username",
		    reply_r);
	if (req->has_email)
		return users_reply_by(ctx, users_sql_by_email, 0, req->email, secrets, "email", reply_r);
	return users_reply_by(ctx, users_sql_by_id, req->id, NULL, secrets, "id", reply_r);
}

static enum proto_status
users_list(struct op_ctx *ctx, const struct proto_user_list_req *req, bool pending,
    nng_msg **reply_r)
{
	uint64_t limit = req->has_limit ? req->limit : USERS_PAGE_DEFAULT;
	uint64_t skip = req->has_skip ? req->skip : 0;
	struct users_page pg;
	struct proto_user_list_rep rep;
	sqlite3_stmt *st;
	enum proto_status res;
	int rc;

	if (limit < 1 || limit > USERS_PAGE_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "limit must be 1..1000", "limit");
	if (skip > INT64_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "skip is too large", "skip");
	memset(&pg, 0, sizeof(pg));
	memset(&rep, 0, sizeof(rep));
	users_read_begin(ctx);
	if ((st = db_stmt(ctx->c, pending ? users_sql_count_pending : users_sql_count)) == NULL) {
		users_read_end(ctx);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		users_read_end(ctx);
		return op_sqlite_fail(ctx, rc);
	}
	rep.total = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if ((st = db_stmt(ctx->c, pending ? users_sql_page_pending : users_sql_page)) == NULL) {
		users_read_end(ctx);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)skip);
	res = users_page_load(ctx, &pg, st, (size_t)limit);
	users_read_end(ctx);
	if (res == PROTO_OK) {
		rep.users.v = pg.v;
		rep.users.n = pg.n;
		rep.role_refs.v = pg.refs;
		rep.role_refs.n = pg.nrefs;
		if (pending) {
			struct proto_user_list_pending_rep p;

			_Static_assert(sizeof(p) == sizeof(rep), "the two lists share a shape");
			memcpy(&p, &rep, sizeof(p));
			*reply_r = proto_user_list_pending_rep_msg(ctx->req_id, &p);
		} else {
			*reply_r = proto_user_list_rep_msg(ctx->req_id, &rep);
		}
	}
	users_arena_free(&pg.arena);
	return res;
}

enum proto_status
ops_user_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	return users_list(ctx, arg, false, reply_r);
}

enum proto_status
ops_user_list_pending(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_list_pending_req *p = arg;
	struct proto_user_list_req req;

	_Static_assert(sizeof(*p) == sizeof(req), "the two lists share a shape");
	memcpy(&req, p, sizeof(req));
	return users_list(ctx, &req, true, reply_r);
}

static const char users_sql_prefs_get[] =
    "SELECT u.id, p.theme, p.updated_at FROM users u"
    " LEFT JOIN user_preferences p ON p.user_id = u.id WHERE u.id = ?";

enum proto_status
ops_user_prefs_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_user_prefs_get_req *req = arg;
	struct proto_user_prefs_get_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, users_sql_prefs_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such user", "user_id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.has_updated_at = sqlite3_column_type(st, 1) != SQLITE_NULL;
	rep.theme = rep.has_updated_at ? (const char *)sqlite3_column_text(st, 1) : "system";
	rep.updated_at = (const char *)sqlite3_column_text(st, 2);
	*reply_r = proto_user_prefs_get_rep_msg(ctx->req_id, &rep);
	sqlite3_reset(st);
	return PROTO_OK;
}
