/* routes_roles: /api/roles (API.md 4 Roles, 3.8), answered by storaged.
 * Every change writes its audit entry before the answer leaves; storaged
 * publishes a role event, so authd drops the principals it affects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"

#define ROLES_STORAGED(r) ROUTES_ADMIN_STORAGED(r)
#define ROLES_TIMEOUT(r) ROUTES_ADMIN_TIMEOUT(r)

/* RoleWithApps (API.md Roles). */
static json_t *
roles_json(const struct proto_rec_role *ro)
{
	return json_pack("{s:I, s:s, s:s?, s:b, s:b, s:s, s:o, s:o}", "id", (json_int_t)ro->id,
	    "name", ro->name, "description", ro->has_description ? ro->description : NULL,
	    "is_system", ro->is_system, "requires_2fa", ro->requires_2fa, "created_at",
	    ro->created_at, "app_names", routes_admin_strs_json(&ro->app_names), "permissions",
	    routes_admin_strs_json(&ro->permissions));
}

#define ROLES_REC(rep)                                                              \
	((struct proto_rec_role){.id = (rep)->id, .name = (rep)->name,                 \
	    .description = (rep)->description, .has_description = (rep)->has_description, \
	    .is_system = (rep)->is_system, .requires_2fa = (rep)->requires_2fa,         \
	    .created_at = (rep)->created_at, .permissions = (rep)->permissions,         \
	    .role_permissions = (rep)->role_permissions, .app_names = (rep)->app_names})

/* The audit entry of a role change: the role's id, details as JSON. */
static void
roles_audit(struct gw_req *r, const char *action, int64_t id, json_t *details)
{
	char rid[24], *ds = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;

	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	routes_admin_audit(r, action, "role", rid, ds);
	free(ds);
	json_decref(details);
}

static void
roles_failed(struct gw_req *r, enum proto_status st, const char *detail)
{
	if (st == PROTO_NOT_FOUND)
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Role not found");
	else
		routes_admin_failed(r, st, detail);
}

/* ---- GET / , GET /{id}, GET /{id}/permissions, GET /permissions ------------- */

ROUTES_ADMIN_LIST(routes_roles_list, role_list, roles, roles_json)

static void
roles_get_cb(void *arg, enum proto_status st, const struct proto_role_get_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		roles_failed(r, st, detail);
	} else {
		struct proto_rec_role ro = ROLES_REC(rep);

		gw_respond_json(r, MHD_HTTP_OK, roles_json(&ro));
	}
	gw_async_done(r);
}

void
routes_roles_get(struct gw_req *r)
{
	struct proto_role_get_req req = {0};

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0)
		return;
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_get_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_get_cb, r);
}

static void
roles_perms_cb(void *arg, enum proto_status st, const struct proto_role_get_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		roles_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, routes_admin_strs_json(&rep->role_permissions));
	gw_async_done(r);
}

void
routes_roles_permissions_get(struct gw_req *r)
{
	struct proto_role_get_req req = {0};

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0)
		return;
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_get_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_perms_cb, r);
}

static void
roles_catalogue_cb(void *arg, enum proto_status st, const struct proto_permission_catalogue_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->perms.n; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "key",
			    rep->perms.v[i].key, "category", rep->perms.v[i].category, "description",
			    rep->perms.v[i].description));
		gw_respond_json(r, MHD_HTTP_OK, a);
	}
	gw_async_done(r);
}

void
routes_roles_catalogue(struct gw_req *r)
{
	struct proto_permission_catalogue_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_permission_catalogue_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r),
	    roles_catalogue_cb, r);
}

/* ---- changes ------------------------------------------------------------------- */

/* One callback for every op that answers a whole role: the answer, then the
 * audit entry named by the route (r->hctx: the action, a static string). */
#define ROLES_CHANGE_CB(op)                                                         \
	static void                                                                     \
	roles_##op##_cb(void *arg, enum proto_status st,                                \
	    const struct proto_##op##_rep *rep, const char *detail)                     \
	{                                                                               \
		struct gw_req *r = arg;                                                     \
		const char *action = r->hctx;                                               \
                                                                                    \
		r->hctx = NULL;                                                             \
		if (st != PROTO_OK) {                                                       \
			roles_failed(r, st, detail);                                            \
		} else {                                                                    \
			struct proto_rec_role ro = ROLES_REC(rep);                              \
                                                                                    \
			gw_respond_json(r, MHD_HTTP_OK, roles_json(&ro));                       \
			roles_audit(r, action, rep->id, json_pack("{s:s, s:o, s:o}", "name",   \
			    rep->name, "permissions", routes_admin_strs_json(&rep->permissions), \
			    "app_names", routes_admin_strs_json(&rep->app_names)));             \
		}                                                                           \
		gw_async_done(r);                                                           \
	}
ROLES_CHANGE_CB(role_create)
ROLES_CHANGE_CB(role_update)
ROLES_CHANGE_CB(role_set_permissions)
ROLES_CHANGE_CB(role_set_apps)

void
routes_roles_create(struct gw_req *r)
{
	struct proto_role_create_req req = {0};
	bool has_apps, has_perms;
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "name", true, &req.name, NULL) != 0 ||
	    json_body_str(r, b, "description", false, &req.description, &req.has_description) != 0 ||
	    json_body_bool(r, b, "requires_2fa", false, &req.requires_2fa, &req.has_requires_2fa) != 0) {
		json_decref(b);
		return;
	}
	if (req.name[0] == '\0' || strlen(req.name) > 64) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'name' must be 1 to 64 characters");
		json_decref(b);
		return;
	}
	if (routes_admin_strs(r, b, "app_names", false, &req.app_names, &has_apps) != 0) {
		json_decref(b);
		return;
	}
	if (routes_admin_strs(r, b, "permissions", false, &req.permissions, &has_perms) != 0) {
		free(req.app_names.v);
		json_decref(b);
		return;
	}
	req.has_app_names = has_apps;
	req.has_permissions = has_perms;
	r->hctx = (void *)"role_created";
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_create_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_role_create_cb, r);
	free(req.app_names.v);
	free(req.permissions.v);
	json_decref(b);
}

void
routes_roles_update(struct gw_req *r)
{
	struct proto_role_update_req req = {0};
	json_t *b;

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0 || (b = json_body_object(r)) == NULL)
		return;
	if (json_body_str(r, b, "name", false, &req.name, &req.has_name) != 0 ||
	    json_body_str(r, b, "description", false, &req.description, &req.has_description) != 0 ||
	    json_body_bool(r, b, "requires_2fa", false, &req.requires_2fa, &req.has_requires_2fa) != 0) {
		json_decref(b);
		return;
	}
	if (req.has_name && (req.name[0] == '\0' || strlen(req.name) > 64)) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'name' must be 1 to 64 characters");
		json_decref(b);
		return;
	}
	r->hctx = (void *)"role_updated";
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_update_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_role_update_cb, r);
	json_decref(b);
}

void
routes_roles_set_permissions(struct gw_req *r)
{
	struct proto_role_set_permissions_req req = {0};
	json_t *b;

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0 || (b = json_body_object(r)) == NULL)
		return;
	if (routes_admin_strs(r, b, "permissions", true, &req.permissions, NULL) != 0) {
		json_decref(b);
		return;
	}
	r->hctx = (void *)"role_updated";
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_set_permissions_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r),
	    roles_role_set_permissions_cb, r);
	free(req.permissions.v);
	json_decref(b);
}

void
routes_roles_set_apps(struct gw_req *r)
{
	struct proto_role_set_apps_req req = {0};
	json_t *b;

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0 || (b = json_body_object(r)) == NULL)
		return;
	if (routes_admin_strs(r, b, "app_names", true, &req.app_names, NULL) != 0) {
		json_decref(b);
		return;
	}
	r->hctx = (void *)"role_updated";
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_set_apps_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_role_set_apps_cb, r);
	free(req.app_names.v);
	json_decref(b);
}

static void
roles_delete_cb(void *arg, enum proto_status st, const struct proto_role_delete_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		roles_failed(r, st, detail);
	} else {
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s}", "message", "Role deleted"));
		roles_audit(r, "role_deleted", rep->id, NULL);
	}
	gw_async_done(r);
}

void
routes_roles_delete(struct gw_req *r)
{
	struct proto_role_delete_req req = {0};

	if (routes_admin_path_id(r, 0, "role", &req.id) != 0)
		return;
	gw_async_begin(r, 1, gw_async_noop);
	proto_role_delete_call(ROLES_STORAGED(r), &req, ROLES_TIMEOUT(r), roles_delete_cb, r);
}
