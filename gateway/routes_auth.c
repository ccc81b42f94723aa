/* routes_auth: the /auth routes (API.md 3.3-3.6, decisions 2 and 6) and the session
 * parts of /api/users/me.  authd decides; these handlers check the JSON body,
 * pass the cookies, client address and user agent, and render the outcome
 * (status, {"detail"}, Set-Cookie, Retry-After). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "log.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"



static void
routes_auth_json(struct gw_req *r, int64_t http, json_t *body, const struct proto_strs *cookies,
    bool has_cookies)
{
	gw_respond_json(r, (unsigned)http, body);
	if (has_cookies)
		auth_set_cookies(r, cookies);
}

static void
routes_auth_message(struct gw_req *r, int64_t http, bool has, const char *message,
    const struct proto_strs *cookies, bool has_cookies)
{
	routes_auth_json(r, http, json_pack("{s:s}", "message", has ? message : "ok"), cookies,
	    has_cookies);
}

/* ---- POST /auth/login ---------------------------------------------------- */

static void
routes_auth_login_cb(void *arg, enum proto_status st, const struct proto_auth_login_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		routes_auth_json(r, rep->http, json_pack("{s:I, s:s, s:s, s:I}", "user_id",
		    (json_int_t)rep->user_id, "username", rep->has_username ? rep->username : "",
		    "email", rep->has_email ? rep->email : "", "session_slot",
		    (json_int_t)rep->session_slot), &rep->set_cookies, rep->has_set_cookies);
	gw_async_done(r);
}

void
routes_auth_login(struct gw_req *r)
{
	struct proto_auth_login_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "username", true, &req.username, NULL) != 0 ||
	    json_body_str(r, b, "password", true, &req.password, NULL) != 0 ||
	    json_body_str(r, b, "totp_code", false, &req.totp_code, &req.has_totp_code) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_login_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_login_cb, r);
	json_decref(b);   /* the request was encoded by the call */
}

/* ---- POST /auth/2fa/recover ---------------------------------------------- */

static void
routes_auth_recover_cb(void *arg, enum proto_status st, const struct proto_auth_recover_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		routes_auth_json(r, rep->http, json_pack("{s:I, s:s, s:s, s:I, s:I}", "user_id",
		    (json_int_t)rep->user_id, "username", rep->has_username ? rep->username : "",
		    "email", rep->has_email ? rep->email : "", "session_slot",
		    (json_int_t)rep->session_slot, "remaining_recovery_codes",
		    (json_int_t)rep->remaining), &rep->set_cookies, rep->has_set_cookies);
	gw_async_done(r);
}

void
routes_auth_recover(struct gw_req *r)
{
	struct proto_auth_recover_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "username", true, &req.username, NULL) != 0 ||
	    json_body_str(r, b, "password", true, &req.password, NULL) != 0 ||
	    json_body_str(r, b, "recovery_code", true, &req.recovery_code, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_recover_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_recover_cb, r);
	json_decref(b);
}

/* ---- POST /auth/logout, /auth/logout/all ---------------------------------- */

static void
routes_auth_logout_cb(void *arg, enum proto_status st, const struct proto_auth_logout_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		routes_auth_message(r, rep->http, rep->has_message, rep->message, &rep->set_cookies,
		    rep->has_set_cookies);
	gw_async_done(r);
}

static void
routes_auth_logout_any(struct gw_req *r, bool everywhere)
{
	struct proto_auth_logout_req req = {0};

	AUTH_CLIENT_FILL(req, r);
	req.everywhere = everywhere;
	req.has_everywhere = true;
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_logout_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_logout_cb, r);
}

void
routes_auth_logout(struct gw_req *r)
{
	routes_auth_logout_any(r, false);
}

void
routes_auth_logout_all(struct gw_req *r)
{
	routes_auth_logout_any(r, true);
}

/* ---- GET /auth/sessions ---------------------------------------------------- */

static void
routes_auth_sessions_cb(void *arg, enum proto_status st, const struct proto_auth_sessions_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail)) {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->sessions.n; i++) {
			const struct proto_rec_auth_session *s = &rep->sessions.v[i];

			json_array_append_new(a, json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:b}", "id", s->id,
			    "user_agent", s->has_user_agent ? s->user_agent : NULL, "ip_address",
			    s->has_ip_address ? s->ip_address : NULL, "created_at", s->created_at,
			    "last_accessed_at", s->last_accessed_at, "is_current", s->is_current));
		}
		gw_respond_json(r, MHD_HTTP_OK, a);
	}
	gw_async_done(r);
}

AUTH_ROUTE_CLIENT_ONLY(routes_auth_sessions, auth_sessions)

/* ---- DELETE /auth/sessions/{id}, DELETE /auth/sessions (the others) ------- */

static void
routes_auth_revoke_cb(void *arg, enum proto_status st,
    const struct proto_auth_session_revoke_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		routes_auth_message(r, rep->http, rep->has_message, rep->message, &rep->set_cookies,
		    rep->has_set_cookies);
	gw_async_done(r);
}

void
routes_auth_session_revoke(struct gw_req *r)
{
	struct proto_auth_session_revoke_req req = {0};

	AUTH_CLIENT_FILL(req, r);
	req.session_id = r->params[0];
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_session_revoke_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_revoke_cb, r);
}

static void
routes_auth_revoke_others_cb(void *arg, enum proto_status st,
    const struct proto_auth_revoke_others_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, (unsigned)rep->http, json_pack("{s:s, s:I}", "message",
		    rep->has_message ? rep->message : "ok", "revoked", (json_int_t)rep->revoked));
	gw_async_done(r);
}

AUTH_ROUTE_CLIENT_ONLY(routes_auth_revoke_others, auth_revoke_others)

/* ---- POST /auth/switch/{slot} ---------------------------------------------- */

static void
routes_auth_switch_cb(void *arg, enum proto_status st, const struct proto_auth_switch_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		routes_auth_json(r, rep->http, json_pack("{s:s, s:I}", "message",
		    rep->has_message ? rep->message : "ok", "slot", (json_int_t)rep->slot),
		    &rep->set_cookies, rep->has_set_cookies);
	gw_async_done(r);
}

void
routes_auth_switch(struct gw_req *r)
{
	struct proto_auth_switch_req req = {0};
	const char *s = r->params[0];
	char *end;
	long slot = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || slot < 0 || slot > 1000000) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Invalid slot (0-4)");
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	req.slot = slot;
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_switch_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_switch_cb, r);
}

/* ---- GET /auth/accounts ---------------------------------------------------- */

static void
routes_auth_accounts_cb(void *arg, enum proto_status st, const struct proto_auth_accounts_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail)) {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->accounts.n; i++) {
			const struct proto_rec_auth_account *ac = &rep->accounts.v[i];

			json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s, s:b}", "slot",
			    (json_int_t)ac->slot, "user_id", (json_int_t)ac->user_id, "username",
			    ac->username, "email", ac->email, "is_active", ac->is_active));
		}
		gw_respond_json(r, MHD_HTTP_OK, a);
	}
	gw_async_done(r);
}

AUTH_ROUTE_CLIENT_ONLY(routes_auth_accounts, auth_accounts)

/* ---- GET /auth/invite/{code} (storaged) ------------------------------------ */

static void
routes_auth_invite_cb(void *arg, enum proto_status st, const struct proto_invite_get_by_code_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st == PROTO_NOT_FOUND || st == PROTO_BAD_REQUEST)
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Invite not found");
	else if (st != PROTO_OK)
		auth_backend_failed(r, "storaged", st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s, s:s?}", "valid",
		    strcmp(rep->status, "valid") == 0, "status", rep->status, "expires_at",
		    rep->has_expires_at ? rep->expires_at : NULL));
	gw_async_done(r);
}

void
routes_auth_invite(struct gw_req *r)
{
	struct proto_invite_get_by_code_req req = {.code = r->params[0]};

	gw_async_begin(r, 1, gw_async_noop);
	proto_invite_get_by_code_call(r->gw->backend[GW_STORAGED], &req, AUTH_TIMEOUT(r),
	    routes_auth_invite_cb, r);
}

/* ---- POST /auth/register ----------------------------------------------------- */

static void
routes_auth_register_cb(void *arg, enum proto_status st, const struct proto_auth_register_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, (unsigned)rep->http, json_pack("{s:s, s:I, s:s, s:s, s:b}",
		    "message", rep->has_message ? rep->message : "ok", "user_id",
		    (json_int_t)rep->user_id, "username", rep->has_username ? rep->username : "",
		    "email", rep->has_email ? rep->email : "", "is_approved", rep->is_approved));
	gw_async_done(r);
}

void
routes_auth_register(struct gw_req *r)
{
	struct proto_auth_register_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "username", true, &req.username, NULL) != 0 ||
	    json_body_str(r, b, "email", true, &req.email, NULL) != 0 ||
	    json_body_str(r, b, "password", true, &req.password, NULL) != 0 ||
	    json_body_str(r, b, "invite_code", false, &req.invite_code, &req.has_invite_code) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_register_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_auth_register_cb, r);
	json_decref(b);
}

/* ---- /api/users/me ------------------------------------------------------------ */

void
routes_users_me(struct gw_req *r)
{
	gw_respond_json_text(r, MHD_HTTP_OK, r->principal->user_json);
}

static void
routes_users_me_password_cb(void *arg, enum proto_status st,
    const struct proto_auth_password_change_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, (unsigned)rep->http, json_pack("{s:s, s:I}", "message",
		    rep->has_message ? rep->message : "ok", "revoked_sessions",
		    (json_int_t)rep->revoked));
	gw_async_done(r);
}

void
routes_users_me_password(struct gw_req *r)
{
	struct proto_auth_password_change_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "current_password", true, &req.current_password, NULL) != 0 ||
	    json_body_str(r, b, "new_password", true, &req.new_password, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_password_change_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), routes_users_me_password_cb, r);
	json_decref(b);
}

/* ---- PATCH /{id}/password (authd) ------------------------------------------------- */

static void
users_password_cb(void *arg, enum proto_status st, const struct proto_auth_set_password_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, (unsigned)rep->http, json_pack("{s:s, s:I}", "message",
		    rep->has_message ? rep->message : "ok", "revoked_sessions",
		    (json_int_t)(rep->has_revoked ? rep->revoked : 0)));
	gw_async_done(r);
}

void
routes_users_password_reset(struct gw_req *r)
{
	struct proto_auth_set_password_req req = {0};
	json_t *b;

	if (routes_admin_path_id(r, 0, "user", &req.user_id) != 0 ||
	    (b = json_body_object(r)) == NULL)
		return;
	if (json_body_str(r, b, "new_password", true, &req.new_password, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_set_password_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), users_password_cb, r);
	json_decref(b);
}

/* ---- DELETE /me (authd: password check; storaged: last-admin guard) ----------- */

static void
users_me_delete_cb(void *arg, enum proto_status st, const struct proto_auth_delete_self_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!AUTH_CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, (unsigned)rep->http, json_pack("{s:s}", "message",
		    rep->has_message ? rep->message : "ok"));
	gw_async_done(r);
}

void
routes_users_me_delete(struct gw_req *r)
{
	struct proto_auth_delete_self_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "password", true, &req.password, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_auth_delete_self_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), users_me_delete_cb, r);
	json_decref(b);
}
