/* routes_invites: /api/users/invites (API.md 3.6), answered by storaged.  The
 * code is 32 random bytes as hex, made here; it never enters the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "timeutil.h"

#define INVITES_STORAGED(r) ROUTES_ADMIN_STORAGED(r)
#define INVITES_TIMEOUT(r) ROUTES_ADMIN_TIMEOUT(r)

/* ---- invites (API.md 3.6) ------------------------------------------------------ */

static json_t *
invites_json(const struct proto_rec_invite *v)
{
	return json_pack("{s:I, s:s, s:s?, s:s?, s:b, s:s?, s:s, s:s?, s:s}", "id",
	    (json_int_t)v->id, "code", v->code, "created_by_username",
	    v->has_created_by_username ? v->created_by_username : NULL, "used_by_username",
	    v->has_used_by_username ? v->used_by_username : NULL, "is_used", v->is_used,
	    "expires_at", v->has_expires_at ? v->expires_at : NULL, "created_at", v->created_at,
	    "used_at", v->has_used_at ? v->used_at : NULL, "status", v->status);
}

ROUTES_ADMIN_LIST(routes_invites_list, invite_list, invites, invites_json)

static void
invites_create_cb(void *arg, enum proto_status st, const struct proto_invite_create_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		struct proto_rec_invite v = {.id = rep->id, .code = rep->code,
		    .created_by_username = rep->created_by_username,
		    .has_created_by_username = rep->has_created_by_username,
		    .used_by_username = rep->used_by_username,
		    .has_used_by_username = rep->has_used_by_username, .is_used = rep->is_used,
		    .expires_at = rep->expires_at, .has_expires_at = rep->has_expires_at,
		    .created_at = rep->created_at, .used_at = rep->used_at,
		    .has_used_at = rep->has_used_at, .status = rep->status};
		char d[96], rid[24];

		snprintf(rid, sizeof(rid), "%lld", (long long)rep->id);
		snprintf(d, sizeof(d), "{\"expires_at\":%s%s%s}", rep->has_expires_at ? "\"" : "",
		    rep->has_expires_at ? rep->expires_at : "null", rep->has_expires_at ? "\"" : "");
		gw_respond_json(r, MHD_HTTP_OK, invites_json(&v));
		/* the code itself is a credential: not in the audit log */
		routes_admin_audit(r, "invite_created", "invite", rid, d);
	}
	gw_async_done(r);
}

void
routes_invites_create(struct gw_req *r)
{
	struct proto_invite_create_req req = {0};
	unsigned char raw[32];
	char code[65], exp[TIME_RFC3339_LEN];
	int64_t days = 7;
	json_t *b = NULL;

	/* the body is optional: none (or {}) means the default 7 days */
	if (r->body_len > 0) {
		if ((b = json_body_object(r)) == NULL)
			return;
		if (json_body_int(r, b, "expires_in_days", false, &days, NULL) != 0) {
			json_decref(b);
			return;
		}
		json_decref(b);
		if (days > 3650) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
			    "Field 'expires_in_days' must be at most 3650");
			return;
		}
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "No random bytes");
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(code + 2 * i, 3, "%02x", raw[i]);
	memset(raw, 0, sizeof(raw));
	req.code = code;
	req.created_by_id = r->principal->user_id;
	req.has_created_by_id = true;
	if (days > 0) {
		time_format_rfc3339(time_wall_ms() + days * 86400000LL, exp);
		req.expires_at = exp;
		req.has_expires_at = true;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_invite_create_call(INVITES_STORAGED(r), &req, INVITES_TIMEOUT(r), invites_create_cb, r);
}

static void
invites_delete_cb(void *arg, enum proto_status st, const struct proto_invite_delete_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	char rid[24];

	if (st == PROTO_NOT_FOUND) {
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Invite not found");
	} else if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		snprintf(rid, sizeof(rid), "%lld", (long long)rep->id);
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s}", "message", "Invite deleted"));
		routes_admin_audit(r, "invite_deleted", "invite", rid, NULL);
	}
	gw_async_done(r);
}

void
routes_invites_delete(struct gw_req *r)
{
	struct proto_invite_delete_req req = {0};

	if (routes_admin_path_id(r, 0, "invite", &req.id) != 0)
		return;
	gw_async_begin(r, 1, gw_async_noop);
	proto_invite_delete_call(INVITES_STORAGED(r), &req, INVITES_TIMEOUT(r), invites_delete_cb, r);
}
