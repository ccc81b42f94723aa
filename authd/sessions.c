/* sessions: logout, the session list and revocation, slot switching, the
 * accounts of this browser, and one's own password change (which ends the
 * user's other sessions).  Runs on the work pool. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

/* A successful action of the signed-in user p, on a resource of rtype. */
static void
sessions_audit(struct authd *ad, const struct principal *p, const char *action,
    const char *rtype, const char *resource_id, const char *ip, const char *ua,
    const char *details)
{
	struct audit_rec a = {0};

	a.user_id = p->user_id;
	a.username = p->username;
	a.action = action;
	a.resource_type = rtype;
	a.resource_id = resource_id;
	a.details = details;
	a.ip = ip;
	a.ua = ua;
	a.success = true;
	authd_audit(ad, &a);
}

/* The first slot other than `except` holding a live session, or -1. */
static int
sessions_other_live_slot(struct authd *ad, const struct cookie_jar *jar, int except)
{
	for (int i = 0; i < COOKIES_SLOTS; i++) {
		struct principal *p;
		int http;
		const char *detail;

		if (i == except || jar->slot[i] == NULL)
			continue;
		if ((p = authn_token(ad, jar->slot[i], &http, &detail)) != NULL) {
			principal_unref(&p);
			return i;
		}
	}
	return -1;
}

static int64_t
sessions_delete_user(struct authd *ad, int64_t user_id, const char *keep)
{
	struct proto_session_delete_user_req req = {0};
	struct proto_session_delete_user_rep rep;
	struct proto_reply hold = {0};
	int64_t n = -1;

	req.user_id = user_id;
	req.except_id = keep;
	req.has_except_id = keep != NULL;
	if (proto_session_delete_user_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold) ==
	    PROTO_OK)
		n = rep.deleted;
	proto_reply_fini(&hold);
	/* the events drop the cache too; do it now so the next request cannot win the race */
	if (keep == NULL) {
		cache_drop_user(ad->cache, user_id);
	} else {
		cache_drop_user(ad->cache, user_id);
	}
	return n;
}

void
sessions_op_logout(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_logout_req req = {0};
	struct proto_auth_logout_rep rep = {0};
	struct cookie_out co = {0};
	struct authn a;
	bool everywhere;
	int next;

	AUTHD_DECODE_OR_RETURN(auth_logout, r, &req);
	everywhere = req.has_everywhere && req.everywhere;
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) == 0) {
		const char *ip = req.has_ip_address ? req.ip_address : NULL;
		const char *ua = req.has_user_agent ? req.user_agent : NULL;

		if (everywhere) {
			int64_t n = sessions_delete_user(ad, a.p->user_id, NULL);
			char details[64];

			snprintf(details, sizeof(details), "{\"everywhere\":true,\"sessions\":%lld}",
			    (long long)n);
			sessions_audit(ad, a.p, "logout", "session", a.p->sid, ip, ua, details);
		} else {
			session_end(ad, a.p->sid);
			sessions_audit(ad, a.p, "logout", "session", a.p->sid, ip, ua, NULL);
		}
	}
	/* Decision 2: clear this slot and the legacy cookie; kubarr_active moves
	 * to another live slot, or is cleared.  Done even when the session was
	 * already dead, so a browser never keeps a useless cookie. */
	if (a.slot != COOKIES_LEGACY && (a.jar.slot[a.slot >= 0 ? a.slot : 0] != NULL))
		cookie_out_session(ad, &co, a.slot, NULL);
	cookie_out_session(ad, &co, COOKIES_LEGACY, NULL);
	next = everywhere ? -1 : sessions_other_live_slot(ad, &a.jar, a.slot);
	if (everywhere)
		for (int i = 0; i < COOKIES_SLOTS && co.n < AUTHD_MAX_COOKIES - 1; i++)
			if (i != a.slot && a.jar.slot[i] != NULL) {
				/* other accounts' sessions stay; only this user's are gone */
				struct principal *p;
				int http;
				const char *detail;

				if ((p = authn_token(ad, a.jar.slot[i], &http, &detail)) == NULL)
					cookie_out_session(ad, &co, i, NULL);
				else if (next < 0)
					next = i;
				principal_unref(&p);
			}
	cookie_out_active(ad, &co, next);
	rep.http = 200;
	rep.message = everywhere ? "Logged out everywhere" : "Logged out successfully";
	rep.has_message = true;
	rep.set_cookies = cookie_out_strs(&co);
	rep.has_set_cookies = true;
	proto_reply(r, proto_auth_logout_rep_msg(r->env.req_id, &rep));
	authn_fini(&a);
}

void
sessions_op_list(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_sessions_req req = {0};
	struct proto_auth_sessions_rep rep = {0};
	struct proto_session_list_user_req lq = {0};
	struct proto_session_list_user_rep lr;
	struct proto_reply hold = {0};
	struct proto_rec_auth_session *v = NULL;
	struct authn a;

	AUTHD_DECODE_OR_RETURN(auth_sessions, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	lq.user_id = a.p->user_id;
	if (proto_session_list_user_call_sync(ad->storaged, &lq, ad->timeout_ms, &lr, &hold) !=
	    PROTO_OK) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	v = xcalloc(lr.sessions.n + 1, sizeof(*v));
	for (size_t i = 0; i < lr.sessions.n; i++) {
		const struct proto_rec_session *s = &lr.sessions.v[i];

		v[i].id = s->id;
		v[i].user_agent = s->user_agent;
		v[i].has_user_agent = s->has_user_agent;
		v[i].ip_address = s->ip_address;
		v[i].has_ip_address = s->has_ip_address;
		v[i].created_at = s->created_at;
		v[i].last_accessed_at = s->last_accessed_at;
		v[i].is_current = strcmp(s->id, a.p->sid) == 0;
	}
	rep.http = 200;
	rep.sessions.v = v;
	rep.sessions.n = lr.sessions.n;
	rep.has_sessions = true;
out:
	proto_reply(r, proto_auth_sessions_rep_msg(r->env.req_id, &rep));
	free(v);
	proto_reply_fini(&hold);
	authn_fini(&a);
}

void
sessions_op_revoke(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_session_revoke_req req = {0};
	struct proto_auth_session_revoke_rep rep = {0};
	struct proto_session_get_req gq = {0};
	struct proto_session_get_rep gr;
	struct proto_reply hold = {0};
	enum proto_status st;
	struct authn a;

	AUTHD_DECODE_OR_RETURN(auth_session_revoke, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	if (strcmp(req.session_id, a.p->sid) == 0) {
		AUTHD_FAIL(&rep, 400, "Cannot revoke the current session; log out instead");
		goto out;
	}
	gq.id = req.session_id;
	st = proto_session_get_call_sync(ad->storaged, &gq, ad->timeout_ms, &gr, &hold);
	if (st == PROTO_NOT_FOUND || st == PROTO_BAD_REQUEST) {
		AUTHD_FAIL(&rep, 404, "Session not found");
		goto out;
	}
	if (st != PROTO_OK) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	if (gr.user_id != a.p->user_id) {
		AUTHD_FAIL(&rep, 403, "Cannot revoke another user's session");
		goto out;
	}
	if (session_end(ad, req.session_id) != 0) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	sessions_audit(ad, a.p, "session_revoked", "session", req.session_id,
	    req.has_ip_address ? req.ip_address : NULL, req.has_user_agent ? req.user_agent : NULL,
	    NULL);
	rep.http = 200;
	rep.message = "Session revoked";
	rep.has_message = true;
out:
	proto_reply(r, proto_auth_session_revoke_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&hold);
	authn_fini(&a);
}

void
sessions_op_revoke_others(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_revoke_others_req req = {0};
	struct proto_auth_revoke_others_rep rep = {0};
	struct authn a;
	int64_t n;

	AUTHD_DECODE_OR_RETURN(auth_revoke_others, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	n = sessions_delete_user(ad, a.p->user_id, a.p->sid);
	if (n < 0) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	sessions_audit(ad, a.p, "session_revoked", "session", a.p->sid,
	    req.has_ip_address ? req.ip_address : NULL, req.has_user_agent ? req.user_agent : NULL,
	    "{\"others\":true}");
	rep.http = 200;
	rep.message = "Other sessions revoked";
	rep.has_message = true;
	rep.revoked = n;
	rep.has_revoked = true;
out:
	proto_reply(r, proto_auth_revoke_others_rep_msg(r->env.req_id, &rep));
	authn_fini(&a);
}

void
sessions_op_switch(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_switch_req req = {0};
	struct proto_auth_switch_rep rep = {0};
	struct cookie_out co = {0};
	struct cookie_jar jar;
	const char *err;
	struct principal *p = NULL;
	int http;
	const char *detail;

	AUTHD_DECODE_OR_RETURN(auth_switch, r, &req);
	if (cookies_parse(req.has_cookies ? req.cookies : NULL, &jar, &err) != 0) {
		AUTHD_FAIL(&rep, 400, err);
		goto out;
	}
	if (req.slot < 0 || req.slot >= COOKIES_SLOTS) {
		AUTHD_FAIL(&rep, 400, "Invalid slot (0-4)");
		goto out;
	}
	if (jar.slot[req.slot] == NULL ||
	    (p = authn_token(ad, jar.slot[req.slot], &http, &detail)) == NULL) {
		AUTHD_FAIL(&rep, 404, "No session in this slot");
		goto out;
	}
	cookie_out_active(ad, &co, (int)req.slot);
	rep.http = 200;
	rep.message = "Switched account";
	rep.has_message = true;
	rep.slot = req.slot;
	rep.has_slot = true;
	rep.set_cookies = cookie_out_strs(&co);
	rep.has_set_cookies = true;
out:
	proto_reply(r, proto_auth_switch_rep_msg(r->env.req_id, &rep));
	principal_unref(&p);
	cookies_jar_fini(&jar);
}

void
sessions_op_accounts(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_accounts_req req = {0};
	struct proto_auth_accounts_rep rep = {0};
	struct proto_rec_auth_account v[COOKIES_SLOTS];
	struct principal *ps[COOKIES_SLOTS] = {0};
	struct cookie_jar jar;
	const char *err;
	size_t n = 0;
	int active;

	AUTHD_DECODE_OR_RETURN(auth_accounts, r, &req);
	if (cookies_parse(req.has_cookies ? req.cookies : NULL, &jar, &err) != 0) {
		AUTHD_FAIL(&rep, 400, err);
		goto out;
	}
	active = jar.active >= 0 ? jar.active : 0;
	for (int i = 0; i < COOKIES_SLOTS; i++) {
		int http;
		const char *detail;

		if (jar.slot[i] == NULL ||
		    (ps[i] = authn_token(ad, jar.slot[i], &http, &detail)) == NULL)
			continue;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].slot = i;
		v[n].user_id = ps[i]->user_id;
		v[n].username = ps[i]->username;
		v[n].email = ps[i]->email;
		v[n].is_active = i == active;
		n++;
	}
	rep.http = 200;
	rep.accounts.v = v;
	rep.accounts.n = n;
	rep.has_accounts = true;
out:
	proto_reply(r, proto_auth_accounts_rep_msg(r->env.req_id, &rep));
	for (int i = 0; i < COOKIES_SLOTS; i++)
		principal_unref(&ps[i]);
	cookies_jar_fini(&jar);
}

/* Hashes `password`, stores it, ends the user's sessions (all but keep_sid).
 * 0 with *revoked_r, or -1 with *http_r and *detail_r. */
static int
sessions_store_password(struct authd *ad, int64_t user_id, const char *password,
    const char *keep_sid, int64_t *revoked_r, int *http_r, const char **detail_r)
{
	struct proto_user_set_password_req sq = {0};
	struct proto_user_set_password_rep sr;
	struct proto_reply hold = {0};
	char hash[PASSWORD_HASH_MAX];
	enum proto_status st;
	int64_t n;

	if (password_hash(ad->pw, password, time_mono_us() + ad->hash_wait_ms * 1000, hash) !=
	    PASSWORD_OK) {
		*http_r = 503;
		*detail_r = "Too many requests at once; try again";
		return -1;
	}
	sq.id = user_id;
	sq.hashed_password = hash;
	st = proto_user_set_password_call_sync(ad->storaged, &sq, ad->timeout_ms, &sr, &hold);
	proto_reply_fini(&hold);
	sodium_memzero(hash, sizeof(hash));
	if (st != PROTO_OK) {
		*http_r = 503;
		*detail_r = "storaged unavailable";
		return -1;
	}
	/* Decision 2: a new password ends the other sessions (an admin reset: all) */
	n = sessions_delete_user(ad, user_id, keep_sid);
	*revoked_r = n < 0 ? 0 : n;
	return 0;
}

void
sessions_op_password(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_password_change_req req = {0};
	struct proto_auth_password_change_rep rep = {0};
	struct proto_user_get_req uq = {0};
	struct proto_user_get_rep u;
	struct proto_reply h1 = {0};
	int64_t deadline = time_mono_us() + ad->hash_wait_ms * 1000, n;
	enum password_result pr;
	const char *detail;
	int http;
	struct authn a;

	AUTHD_DECODE_OR_RETURN(auth_password_change, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	if (strlen(req.new_password) < PASSWORD_MIN_LEN) {
		AUTHD_FAIL(&rep, 400, "Password must be at least 8 characters");
		goto out;
	}
	uq.id = a.p->user_id;
	uq.has_id = true;
	uq.with_secrets = true;
	uq.has_with_secrets = true;
	if (proto_user_get_call_sync(ad->storaged, &uq, ad->timeout_ms, &u, &h1) != PROTO_OK ||
	    !u.has_hashed_password) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	pr = password_verify(ad->pw, req.current_password, u.hashed_password, deadline);
	if (pr == PASSWORD_BUSY) {
		AUTHD_FAIL(&rep, 503, "Too many requests at once; try again");
		goto out;
	}
	if (pr != PASSWORD_OK) {
		AUTHD_FAIL(&rep, 400, "Current password is incorrect");
		goto out;
	}
	if (sessions_store_password(ad, a.p->user_id, req.new_password, a.p->sid, &n, &http,
	    &detail) != 0) {
		AUTHD_FAIL(&rep, http, detail);
		goto out;
	}
	sessions_audit(ad, a.p, "password_changed", "user", NULL,
	    req.has_ip_address ? req.ip_address : NULL, req.has_user_agent ? req.user_agent : NULL,
	    NULL);
	rep.http = 200;
	rep.message = "Password changed successfully";
	rep.has_message = true;
	rep.revoked = n < 0 ? 0 : n;
	rep.has_revoked = true;
out:
	proto_reply(r, proto_auth_password_change_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&h1);
	authn_fini(&a);
}

/* AUTH_SET_PASSWORD: an administrator sets another user's password (API.md
 * Users, PATCH /{id}/password).  The gateway has checked the permission; it is
 * checked again here, since this op writes a password hash. */
void
sessions_op_set_password(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_set_password_req req = {0};
	struct proto_auth_set_password_rep rep = {0};
	struct proto_user_get_req uq = {0};
	struct proto_user_get_rep u;
	struct proto_reply h1 = {0};
	char rid[24], details[96];
	int64_t n;
	enum proto_status st;
	const char *detail;
	int http;
	struct authn a;

	AUTHD_DECODE_OR_RETURN(auth_set_password, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	if (!principal_has(a.p, "users.reset_password")) {
		AUTHD_FAIL(&rep, 403, "Permission denied: users.reset_password required");
		goto out;
	}
	if (req.user_id == a.p->user_id) {
		AUTHD_FAIL(&rep, 400,
		    "Use PATCH /api/users/me/password to change your own password");
		goto out;
	}
	if (strlen(req.new_password) < PASSWORD_MIN_LEN) {
		AUTHD_FAIL(&rep, 400, "Password must be at least 8 characters");
		goto out;
	}
	uq.id = req.user_id;
	uq.has_id = true;
	st = proto_user_get_call_sync(ad->storaged, &uq, ad->timeout_ms, &u, &h1);
	if (st == PROTO_NOT_FOUND) {
		AUTHD_FAIL(&rep, 404, "User not found");
		goto out;
	}
	if (st != PROTO_OK) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	if (sessions_store_password(ad, req.user_id, req.new_password, NULL, &n, &http,
	    &detail) != 0) {
		AUTHD_FAIL(&rep, http, detail);
		goto out;
	}
	snprintf(rid, sizeof(rid), "%lld", (long long)req.user_id);
	snprintf(details, sizeof(details), "{\"reset_by_admin\":true,\"sessions_revoked\":%lld}",
	    (long long)(n < 0 ? 0 : n));
	sessions_audit(ad, a.p, "password_changed", "user", rid,
	    req.has_ip_address ? req.ip_address : NULL, req.has_user_agent ? req.user_agent : NULL,
	    details);
	rep.http = 200;
	rep.message = "Password reset successfully";
	rep.has_message = true;
	rep.revoked = n < 0 ? 0 : n;
	rep.has_revoked = true;
out:
	proto_reply(r, proto_auth_set_password_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&h1);
	authn_fini(&a);
}

/* AUTH_DELETE_SELF: DELETE /api/users/me {password}.  storaged refuses to
 * delete the last active admin; the user's sessions go with the row. */
void
sessions_op_delete_self(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_delete_self_req req = {0};
	struct proto_auth_delete_self_rep rep = {0};
	struct proto_user_get_req uq = {0};
	struct proto_user_get_rep u;
	struct proto_user_delete_req dq = {0};
	struct proto_user_delete_rep dr;
	struct proto_reply h1 = {0}, h2 = {0};
	int64_t deadline = time_mono_us() + ad->hash_wait_ms * 1000;
	enum password_result pr;
	enum proto_status st;
	struct audit_rec au = {0};
	char rid[24];
	struct authn a;

	AUTHD_DECODE_OR_RETURN(auth_delete_self, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		AUTHD_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	uq.id = a.p->user_id;
	uq.has_id = true;
	uq.with_secrets = true;
	uq.has_with_secrets = true;
	if (proto_user_get_call_sync(ad->storaged, &uq, ad->timeout_ms, &u, &h1) != PROTO_OK ||
	    !u.has_hashed_password) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	pr = password_verify(ad->pw, req.password, u.hashed_password, deadline);
	if (pr == PASSWORD_BUSY) {
		AUTHD_FAIL(&rep, 503, "Too many requests at once; try again");
		goto out;
	}
	if (pr != PASSWORD_OK) {
		AUTHD_FAIL(&rep, 400, "Password is incorrect");
		goto out;
	}
	dq.id = a.p->user_id;
	st = proto_user_delete_call_sync(ad->storaged, &dq, ad->timeout_ms, &dr, &h2);
	if (st == PROTO_CONFLICT) {
		AUTHD_FAIL(&rep, 400, "Cannot delete the last administrator");
		goto out;
	}
	if (st != PROTO_OK) {
		AUTHD_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	cache_drop_user(ad->cache, a.p->user_id);
	snprintf(rid, sizeof(rid), "%lld", (long long)a.p->user_id);
	au.user_id = a.p->user_id;
	au.username = a.p->username;
	au.action = "user_deleted";
	au.resource_type = "user";
	au.resource_id = rid;
	au.details = "{\"self\":true}";
	au.ip = req.has_ip_address ? req.ip_address : NULL;
	au.ua = req.has_user_agent ? req.user_agent : NULL;
	au.success = true;
	authd_audit(ad, &au);
	rep.http = 200;
	rep.message = "Account deleted";
	rep.has_message = true;
out:
	proto_reply(r, proto_auth_delete_self_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&h1);
	proto_reply_fini(&h2);
	authn_fini(&a);
}
