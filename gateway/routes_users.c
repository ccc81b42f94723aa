/* routes_users: /api/users (API.md 4 Users), answered by storaged; a new
 * user's password is hashed by authd (AUTH_HASH).  The routes authd answers
 * alone (own password, admin reset, DELETE /me) are in routes_auth.c, the
 * invites in routes_invites.c.  Every change writes its audit entry before the
 * answer leaves.
 *
 * storaged names a user's roles; the API takes role ids, so a request with
 * role_ids first reads the role list and translates (unknown id: 400). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"

#define USERS_TIMEOUT(r) ROUTES_ADMIN_TIMEOUT(r)
#define USERS_STORAGED(r) ROUTES_ADMIN_STORAGED(r)

/* The state of a request that takes several calls. */
struct users_ctx {
	int64_t id;
	char *username, *email, *hash;
	bool has_email, has_active, has_approved, is_active, is_approved;
	int64_t *role_ids;
	size_t nrole_ids;
	bool has_roles;
	struct proto_strs roles;  /* names; strings owned */
	char rid[24];
};

static struct users_ctx *
users_ctx_new(struct gw_req *r)
{
	struct users_ctx *c = xcalloc(1, sizeof(*c));

	r->hctx = c;
	return c;
}

static void
users_ctx_free(struct gw_req *r)
{
	struct users_ctx *c = r->hctx;

	if (c == NULL)
		return;
	free(c->username);
	free(c->email);
	if (c->hash != NULL) {
		memset(c->hash, 0, strlen(c->hash));
		free(c->hash);
	}
	free(c->role_ids);
	for (size_t i = 0; i < c->roles.n; i++)
		free((char *)c->roles.v[i]);
	free(c->roles.v);
	free(c);
	r->hctx = NULL;
}

/* ---- UserResponse ------------------------------------------------------------- */

#define USERS_REC(rep)                                                              \
	((struct proto_rec_user){.id = (rep)->id, .username = (rep)->username,         \
	    .email = (rep)->email, .is_active = (rep)->is_active,                      \
	    .is_approved = (rep)->is_approved, .created_at = (rep)->created_at,        \
	    .updated_at = (rep)->updated_at, .theme = (rep)->theme,                    \
	    .roles = (rep)->roles, .permissions = (rep)->permissions,                  \
	    .allowed_apps = (rep)->allowed_apps, .requires_2fa = (rep)->requires_2fa})

static json_t *
users_json(const struct proto_rec_user *u, const struct proto_recs_role_ref *refs)
{
	json_t *roles = json_array();

	for (size_t i = 0; i < u->roles.n; i++)
		for (size_t j = 0; j < refs->n; j++)
			if (strcmp(refs->v[j].name, u->roles.v[i]) == 0) {
				json_array_append_new(roles, json_pack("{s:I, s:s, s:s?}", "id",
				    (json_int_t)refs->v[j].id, "name", refs->v[j].name, "description",
				    refs->v[j].has_description ? refs->v[j].description : NULL));
				break;
			}
	return json_pack("{s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:o, s:{s:s}, s:o, s:o}", "id",
	    (json_int_t)u->id, "username", u->username, "email", u->email, "is_active",
	    u->is_active, "is_approved", u->is_approved, "created_at", u->created_at,
	    "updated_at", u->updated_at, "roles", roles, "preferences", "theme", u->theme,
	    "permissions", routes_admin_strs_json(&u->permissions), "allowed_apps",
	    routes_admin_strs_json(&u->allowed_apps));
}

/* A page of users is the API's largest answer (100 UserResponse objects, about
 * 40 KB): written straight into one buffer, the same JSON users_json() builds,
 * without a jansson tree (a profile showed the tree's allocations as half the
 * gateway's CPU on GET /api/users). */
struct users_buf {
	char *p;
	size_t len, cap;
};

static void
users_buf_put(struct users_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
users_buf_lit(struct users_buf *b, const char *s)
{
	users_buf_put(b, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void
users_buf_str(struct users_buf *b, const char *s)
{
	const char *run = s;

	users_buf_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		users_buf_put(b, run, (size_t)(s - run));
		if (ch == '"')
			users_buf_lit(b, "\\\"");
		else if (ch == '\\')
			users_buf_lit(b, "\\\\");
		else {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			users_buf_lit(b, esc);
		}
		run = s + 1;
	}
	users_buf_put(b, run, (size_t)(s - run));
	users_buf_put(b, "\"", 1);
}

static void
users_buf_strs(struct users_buf *b, const struct proto_strs *v)
{
	users_buf_put(b, "[", 1);
	for (size_t i = 0; i < v->n; i++) {
		if (i > 0)
			users_buf_put(b, ",", 1);
		users_buf_str(b, v->v[i]);
	}
	users_buf_put(b, "]", 1);
}

static void
users_buf_user(struct users_buf *b, const struct proto_rec_user *u,
    const struct proto_recs_role_ref *refs)
{
	char num[32];
	bool first = true;

	snprintf(num, sizeof(num), "{\"id\":%lld,\"username\":", (long long)u->id);
	users_buf_lit(b, num);
	users_buf_str(b, u->username);
	users_buf_lit(b, ",\"email\":");
	users_buf_str(b, u->email);
	users_buf_lit(b, u->is_active ? ",\"is_active\":true" : ",\"is_active\":false");
	users_buf_lit(b, u->is_approved ? ",\"is_approved\":true" : ",\"is_approved\":false");
	users_buf_lit(b, ",\"created_at\":");
	users_buf_str(b, u->created_at);
	users_buf_lit(b, ",\"updated_at\":");
	users_buf_str(b, u->updated_at);
	users_buf_lit(b, ",\"roles\":[");
	for (size_t i = 0; i < u->roles.n; i++)
		for (size_t j = 0; j < refs->n; j++)
			if (strcmp(refs->v[j].name, u->roles.v[i]) == 0) {
				snprintf(num, sizeof(num), "%s{\"id\":%lld,\"name\":", first ? "" : ",",
				    (long long)refs->v[j].id);
				users_buf_lit(b, num);
				users_buf_str(b, refs->v[j].name);
				users_buf_lit(b, ",\"description\":");
				if (refs->v[j].has_description)
					users_buf_str(b, refs->v[j].description);
				else
					users_buf_lit(b, "null");
				users_buf_put(b, "}", 1);
				first = false;
				break;
			}
	users_buf_lit(b, "],\"preferences\":{\"theme\":");
	users_buf_str(b, u->theme);
	users_buf_lit(b, "},\"permissions\":");
	users_buf_strs(b, &u->permissions);
	users_buf_lit(b, ",\"allowed_apps\":");
	users_buf_strs(b, &u->allowed_apps);
	users_buf_put(b, "}", 1);
}

static void
users_page_answer(struct gw_req *r, enum proto_status st, const struct proto_recs_user *users,
    const struct proto_recs_role_ref *refs, const char *detail)
{
	struct users_buf b = {0};
	struct MHD_Response *resp;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
		gw_async_done(r);
		return;
	}
	users_buf_put(&b, "[", 1);
	for (size_t i = 0; i < users->n; i++) {
		if (i > 0)
			users_buf_put(&b, ",", 1);
		users_buf_user(&b, &users->v[i], refs);
	}
	users_buf_put(&b, "]", 1);
	resp = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(b.p);
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		gw_respond(r, MHD_HTTP_OK, resp, b.len);
	}
	gw_async_done(r);
}

static void
users_page_cb(void *arg, enum proto_status st, const struct proto_user_list_rep *rep,
    const char *detail)
{
	users_page_answer(arg, st, rep != NULL ? &rep->users : NULL,
	    rep != NULL ? &rep->role_refs : NULL, detail);
}

static void
users_pending_cb(void *arg, enum proto_status st, const struct proto_user_list_pending_rep *rep,
    const char *detail)
{
	users_page_answer(arg, st, rep != NULL ? &rep->users : NULL,
	    rep != NULL ? &rep->role_refs : NULL, detail);
}

/* ?skip&limit: 0, or -1 after a 400. */
static int
users_page_args(struct gw_req *r, struct proto_user_list_req *req)
{
	int64_t skip = 0, limit = 100;

	if (routes_admin_query_int(r, "skip", 0, INT32_MAX, &skip) < 0 ||
	    routes_admin_query_int(r, "limit", 1, 1000, &limit) < 0)
		return -1;
	req->skip = (uint64_t)skip;
	req->has_skip = true;
	req->limit = (uint64_t)limit;
	req->has_limit = true;
	return 0;
}

void
routes_users_list(struct gw_req *r)
{
	struct proto_user_list_req req = {0};

	if (users_page_args(r, &req) != 0)
		return;
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_list_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_page_cb, r);
}

void
routes_users_pending(struct gw_req *r)
{
	struct proto_user_list_req lr = {0};
	struct proto_user_list_pending_req req = {0};

	if (users_page_args(r, &lr) != 0)
		return;
	req.skip = lr.skip;
	req.has_skip = true;
	req.limit = lr.limit;
	req.has_limit = true;
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_list_pending_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_pending_cb, r);
}

static void
users_get_cb(void *arg, enum proto_status st, const struct proto_user_get_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st == PROTO_NOT_FOUND) {
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "User not found");
	} else if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		struct proto_rec_user u = USERS_REC(rep);

		gw_respond_json(r, MHD_HTTP_OK, users_json(&u, &rep->role_refs));
	}
	gw_async_done(r);
}

void
routes_users_get(struct gw_req *r)
{
	struct proto_user_get_req req = {0};

	if (routes_admin_path_id(r, 0, "user", &req.id) != 0)
		return;
	req.has_id = true;
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_get_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_get_cb, r);
}

/* ---- role ids to role names ------------------------------------------------------ */

typedef void (*users_next_fn)(struct gw_req *r);

static users_next_fn
users_next_of(struct gw_req *r);

/* The role list answered: translate c->role_ids into c->roles, then run the
 * step the handler chose. */
static void
users_roles_cb(void *arg, enum proto_status st, const struct proto_role_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct users_ctx *c = r->hctx;
	char msg[120];

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
		users_ctx_free(r);
		gw_async_done(r);
		return;
	}
	c->roles.v = xcalloc(c->nrole_ids + 1, sizeof(*c->roles.v));
	for (size_t i = 0; i < c->nrole_ids; i++) {
		size_t j;

		for (j = 0; j < rep->roles.n; j++)
			if (rep->roles.v[j].id == c->role_ids[i])
				break;
		if (j == rep->roles.n) {
			snprintf(msg, sizeof(msg), "Field 'role_ids': role %lld not found",
			    (long long)c->role_ids[i]);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
			users_ctx_free(r);
			gw_async_done(r);
			return;
		}
		c->roles.v[c->roles.n++] = xstrdup(rep->roles.v[j].name);
	}
	users_next_of(r)(r);
	gw_async_done(r);
}

/* ---- POST / ------------------------------------------------------------------------- */

static void
users_create_cb(void *arg, enum proto_status st, const struct proto_user_create_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		struct proto_rec_user u = USERS_REC(rep);
		struct users_ctx *c = r->hctx;
		json_t *d = json_pack("{s:s, s:o}", "username", rep->username, "roles",
		    routes_admin_strs_json(&rep->roles));
		char *ds = json_dumps(d, JSON_COMPACT);

		gw_respond_json(r, MHD_HTTP_OK, users_json(&u, &rep->role_refs));
		snprintf(c->rid, sizeof(c->rid), "%lld", (long long)rep->id);
		routes_admin_audit(r, "user_created", "user", c->rid, ds);
		free(ds);
		json_decref(d);
	}
	users_ctx_free(r);
	gw_async_done(r);
}

static void
users_create_send(struct gw_req *r)
{
	struct users_ctx *c = r->hctx;
	struct proto_user_create_req req = {0};

	req.username = c->username;
	req.email = c->email;
	req.hashed_password = c->hash;
	req.is_active = true;
	req.is_approved = true;
	req.roles = c->roles;
	req.has_roles = c->has_roles;
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_create_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_create_cb, r);
}

static void
users_roles_then(struct gw_req *r)
{
	struct users_ctx *c = r->hctx;
	struct proto_role_list_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	if (c->nrole_ids == 0) {
		/* no ids to translate: an empty list still replaces the roles */
		c->roles.v = xcalloc(1, sizeof(*c->roles.v));
		users_next_of(r)(r);
		gw_async_done(r);
		return;
	}
	proto_role_list_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_roles_cb, r);
}

static void
users_hash_cb(void *arg, enum proto_status st, const struct proto_auth_hash_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct users_ctx *c = r->hctx;

	if (AUTH_CB_FAILED(r, st, rep, detail) || !rep->has_hash) {
		if (r->resp == NULL)
			gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "authd: no hash");
		users_ctx_free(r);
	} else {
		c->hash = xstrdup(rep->hash);
		if (c->has_roles)
			users_roles_then(r);
		else
			users_create_send(r);
	}
	gw_async_done(r);
}

/* Field checks storaged would make too, answered here with the API's words. */
static int
users_check_email(struct gw_req *r, const char *email)
{
	if (strchr(email, '@') == NULL || strlen(email) > 255) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'email' must be an email address");
		return -1;
	}
	return 0;
}

void
routes_users_create(struct gw_req *r)
{
	struct proto_auth_hash_req req = {0};
	const char *username, *email, *password;
	struct users_ctx *c;
	int64_t *ids;
	size_t nids;
	bool has_ids;
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "username", true, &username, NULL) != 0 ||
	    json_body_str(r, b, "email", true, &email, NULL) != 0 ||
	    json_body_str(r, b, "password", true, &password, NULL) != 0 ||
	    users_check_email(r, email) != 0 ||
	    routes_admin_ids(r, b, "role_ids", false, &ids, &nids, &has_ids) != 0) {
		json_decref(b);
		return;
	}
	c = users_ctx_new(r);
	c->username = xstrdup(username);
	c->email = xstrdup(email);
	c->role_ids = ids;
	c->nrole_ids = nids;
	c->has_roles = has_ids && nids > 0;
	req.password = password;
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_hash_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), users_hash_cb, r);
	json_decref(b);
}

/* ---- PATCH /{id}, POST /{id}/approve, PATCH /me ---------------------------------- */

static void
users_update_cb(void *arg, enum proto_status st, const struct proto_user_update_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct users_ctx *c = r->hctx;

	if (st == PROTO_NOT_FOUND && (detail == NULL || strstr(detail, "role") == NULL)) {
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "User not found");
	} else if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		struct proto_rec_user u = USERS_REC(rep);
		const char *action = "user_updated";
		json_t *d = json_object();
		char *ds;

		if (c->has_email)
			json_object_set_new(d, "email", json_string(c->email));
		if (c->has_active)
			json_object_set_new(d, "is_active", json_boolean(c->is_active));
		if (c->has_approved)
			json_object_set_new(d, "is_approved", json_boolean(c->is_approved));
		if (c->has_roles)
			json_object_set_new(d, "roles", routes_admin_strs_json(&c->roles));
		if (c->has_approved && c->is_approved && c->has_active && c->is_active &&
		    !c->has_email && !c->has_roles)
			action = "user_approved";
		else if (c->has_active && !c->is_active && !c->has_email && !c->has_roles &&
		    !c->has_approved)
			action = "user_deactivated";
		else if (c->has_active && c->is_active && !c->has_email && !c->has_roles &&
		    !c->has_approved)
			action = "user_activated";
		ds = json_dumps(d, JSON_COMPACT);
		gw_respond_json(r, MHD_HTTP_OK, users_json(&u, &rep->role_refs));
		snprintf(c->rid, sizeof(c->rid), "%lld", (long long)rep->id);
		routes_admin_audit(r, action, "user", c->rid, ds);
		free(ds);
		json_decref(d);
	}
	users_ctx_free(r);
	gw_async_done(r);
}

static void
users_update_send(struct gw_req *r)
{
	struct users_ctx *c = r->hctx;
	struct proto_user_update_req req = {0};

	req.id = c->id;
	req.username = c->username;
	req.has_username = c->username != NULL;
	req.email = c->email;
	req.has_email = c->has_email;
	req.is_active = c->is_active;
	req.has_is_active = c->has_active;
	req.is_approved = c->is_approved;
	req.has_is_approved = c->has_approved;
	req.roles = c->roles;
	req.has_roles = c->has_roles;
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_update_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_update_cb, r);
}

static users_next_fn
users_next_of(struct gw_req *r)
{
	struct users_ctx *c = r->hctx;

	return c->hash != NULL ? users_create_send : users_update_send;
}

void
routes_users_update(struct gw_req *r)
{
	struct users_ctx *c;
	int64_t id, *ids;
	size_t nids;
	const char *email = NULL;
	bool has_email, has_active, has_approved, has_ids, active = false, approved = false;
	json_t *b;

	if (routes_admin_path_id(r, 0, "user", &id) != 0 || (b = json_body_object(r)) == NULL)
		return;
	if (json_body_str(r, b, "email", false, &email, &has_email) != 0 ||
	    json_body_bool(r, b, "is_active", false, &active, &has_active) != 0 ||
	    json_body_bool(r, b, "is_approved", false, &approved, &has_approved) != 0 ||
	    (has_email && users_check_email(r, email) != 0) ||
	    routes_admin_ids(r, b, "role_ids", false, &ids, &nids, &has_ids) != 0) {
		json_decref(b);
		return;
	}
	c = users_ctx_new(r);
	c->id = id;
	c->email = has_email ? xstrdup(email) : NULL;
	c->has_email = has_email;
	c->has_active = has_active;
	c->is_active = active;
	c->has_approved = has_approved;
	c->is_approved = approved;
	c->role_ids = ids;
	c->nrole_ids = nids;
	c->has_roles = has_ids;
	json_decref(b);
	if (has_ids) {
		users_roles_then(r);
		return;
	}
	users_update_send(r);
}

void
routes_users_approve(struct gw_req *r)
{
	struct users_ctx *c;
	int64_t id;

	if (routes_admin_path_id(r, 0, "user", &id) != 0)
		return;
	c = users_ctx_new(r);
	c->id = id;
	c->has_active = c->is_active = true;
	c->has_approved = c->is_approved = true;
	users_update_send(r);
}

void
routes_users_me_update(struct gw_req *r)
{
	struct users_ctx *c;
	const char *email = NULL, *username = NULL;
	bool has_email, has_username;
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "username", false, &username, &has_username) != 0 ||
	    json_body_str(r, b, "email", false, &email, &has_email) != 0 ||
	    (has_email && users_check_email(r, email) != 0)) {
		json_decref(b);
		return;
	}
	if (has_username && strlen(username) < 3) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
		    "Field 'username' must be at least 3 characters");
		json_decref(b);
		return;
	}
	c = users_ctx_new(r);
	c->id = r->principal->user_id;
	/* sessions, invites and the audit log refer to the user by id: a rename is safe */
	if (has_username && strcmp(username, r->principal->username) != 0)
		c->username = xstrdup(username);
	c->email = has_email ? xstrdup(email) : NULL;
	c->has_email = has_email;
	json_decref(b);
	users_update_send(r);
}

/* ---- DELETE /{id}, POST /{id}/reject ------------------------------------------------ */

static void
users_delete_cb(void *arg, enum proto_status st, const struct proto_user_delete_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct users_ctx *c = r->hctx;

	if (st == PROTO_NOT_FOUND) {
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "User not found");
	} else if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		snprintf(c->rid, sizeof(c->rid), "%lld", (long long)rep->id);
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s}", "message",
		    c->is_approved ? "User deleted" : "User rejected"));
		routes_admin_audit(r, "user_deleted", "user", c->rid,
		    c->is_approved ? NULL : "{\"rejected\":true}");
	}
	users_ctx_free(r);
	gw_async_done(r);
}

static void
users_delete_any(struct gw_req *r, bool reject)
{
	struct proto_user_delete_req req = {0};
	struct users_ctx *c;

	if (routes_admin_path_id(r, 0, "user", &req.id) != 0)
		return;
	if (req.id == r->principal->user_id) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Cannot delete your own account here");
		return;
	}
	c = users_ctx_new(r);
	c->is_approved = !reject;  /* which message and audit detail */
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_delete_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_delete_cb, r);
}

void
routes_users_delete(struct gw_req *r)
{
	users_delete_any(r, false);
}

void
routes_users_reject(struct gw_req *r)
{
	users_delete_any(r, true);
}

/* ---- /me/preferences -------------------------------------------------------------- */

static void
users_prefs_answer(struct gw_req *r, enum proto_status st, const char *theme, const char *detail)
{
	if (st != PROTO_OK)
		routes_admin_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s}", "theme", theme));
	gw_async_done(r);
}

static void
users_prefs_cb(void *arg, enum proto_status st, const struct proto_user_prefs_get_rep *rep,
    const char *detail)
{
	users_prefs_answer(arg, st, rep != NULL ? rep->theme : NULL, detail);
}

static void
users_prefs_set_cb(void *arg, enum proto_status st, const struct proto_user_prefs_set_rep *rep,
    const char *detail)
{
	users_prefs_answer(arg, st, rep != NULL ? rep->theme : NULL, detail);
}

void
routes_users_prefs_get(struct gw_req *r)
{
	struct proto_user_prefs_get_req req = {.user_id = r->principal->user_id};

	gw_async_begin(r, 1, gw_async_noop);
	proto_user_prefs_get_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_prefs_cb, r);
}

void
routes_users_prefs_set(struct gw_req *r)
{
	struct proto_user_prefs_set_req req = {.user_id = r->principal->user_id};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "theme", true, &req.theme, NULL) != 0) {
		json_decref(b);
		return;
	}
	if (strcmp(req.theme, "system") != 0 && strcmp(req.theme, "light") != 0 &&
	    strcmp(req.theme, "dark") != 0) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
		    "Field 'theme' must be one of system, light, dark");
		json_decref(b);
		return;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_user_prefs_set_call(USERS_STORAGED(r), &req, USERS_TIMEOUT(r), users_prefs_set_cb, r);
	json_decref(b);
}
