/* session: who is asking (for the pool threads), cookies out, issuing and
 * ending sessions, and the audit trail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

/* PRINCIPAL_GET then USER_GET: a principal, or NULL with http/detail. */
static struct principal *
authn_fetch(struct authd *ad, const char *sid, int *http_r, const char **detail_r)
{
	struct proto_principal_get_req pq = {.session_id = sid};
	struct proto_principal_get_rep pg;
	struct proto_user_get_req uq = {0};
	struct proto_user_get_rep u;
	struct proto_reply h1 = {0}, h2 = {0};
	struct principal *p = NULL;
	enum proto_status st;

	st = proto_principal_get_call_sync(ad->storaged, &pq, ad->timeout_ms, &pg, &h1);
	if (st != PROTO_OK) {
		*http_r = 503;
		*detail_r = "storaged unavailable";
		goto out;
	}
	if (!pg.valid || !pg.has_user_id) {
		*http_r = 401;
		*detail_r = "Session expired or revoked";
		goto out;
	}
	uq.id = pg.user_id;
	uq.has_id = true;
	st = proto_user_get_call_sync(ad->storaged, &uq, ad->timeout_ms, &u, &h2);
	if (st == PROTO_NOT_FOUND) {
		*http_r = 401;
		*detail_r = "User not found";
		goto out;
	}
	if (st != PROTO_OK) {
		*http_r = 503;
		*detail_r = "storaged unavailable";
		goto out;
	}
	p = principal_new(sid, &pg, &u);
out:
	proto_reply_fini(&h1);
	proto_reply_fini(&h2);
	return p;
}

struct principal *
authn_token(struct authd *ad, const char *token, int *http_r, const char **detail_r)
{
	unsigned char key[CACHE_KEY_BYTES];
	char sid[TOKEN_SID_LEN + 1];
	int64_t now_ms = time_wall_ms(), exp;
	struct principal *p;
	uint64_t gen;

	if (!atomic_load(&ad->keys_ready)) {
		*http_r = 503;
		*detail_r = "authd is not ready (signing key not loaded)";
		return NULL;
	}
	cache_key(token, key);
	if ((p = cache_get(ad->cache, key, now_ms)) != NULL)
		return p;
	if (token_verify(&ad->keys, token, now_ms / 1000, sid, &exp, detail_r) != 0) {
		*http_r = 401;
		return NULL;
	}
	gen = cache_generation(ad->cache);
	if ((p = authn_fetch(ad, sid, http_r, detail_r)) != NULL)
		cache_put(ad->cache, key, p, exp, now_ms, gen);
	return p;
}

int
authn_resolve(struct authd *ad, const char *cookies, struct authn *a)
{
	const char *token, *err = NULL;

	memset(a, 0, sizeof(*a));
	a->jar.active = -1;
	if (cookies_parse(cookies, &a->jar, &err) != 0) {
		a->http = 401;
		a->detail = "Not authenticated";
		return -1;
	}
	token = cookies_pick(&a->jar, &a->slot);
	if (token == NULL) {
		a->http = 401;
		a->detail = "Not authenticated";
		return -1;
	}
	a->p = authn_token(ad, token, &a->http, &a->detail);
	if (a->p == NULL)
		return -1;
	if (!a->p->is_active || !a->p->is_approved) {
		principal_unref(&a->p);
		a->http = 401;
		a->detail = "Account is disabled or pending approval";
		return -1;
	}
	touch_note(ad->touch, a->p, time_wall_ms());
	return 0;
}

void
authn_fini(struct authn *a)
{
	principal_unref(&a->p);
	cookies_jar_fini(&a->jar);
}

/* ---- cookies out --------------------------------------------------------- */

void
cookie_out_session(struct authd *ad, struct cookie_out *co, int slot, const char *token)
{
	if (co->n == AUTHD_MAX_COOKIES)
		return;
	cookies_set_session(co->v[co->n], slot, token, (long)ad->session_ttl_s, ad->cookie_secure);
	co->ptr[co->n] = co->v[co->n];
	co->n++;
}

void
cookie_out_active(struct authd *ad, struct cookie_out *co, int slot)
{
	if (co->n == AUTHD_MAX_COOKIES)
		return;
	cookies_set_active(co->v[co->n], slot, (long)ad->session_ttl_s, ad->cookie_secure);
	co->ptr[co->n] = co->v[co->n];
	co->n++;
}

struct proto_strs
cookie_out_strs(struct cookie_out *co)
{
	struct proto_strs s = {.v = co->ptr, .n = co->n};

	return s;
}

/* ---- sessions ------------------------------------------------------------ */

char *
session_issue(struct authd *ad, int64_t user_id, const char *ip, const char *ua, char *sid_r,
    const char **detail_r)
{
	struct proto_session_create_req req = {0};
	struct proto_session_create_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st;
	int64_t now = time_wall_ms() / 1000;
	char *token;

	token_new_sid(sid_r);
	req.id = sid_r;
	req.user_id = user_id;
	req.ip_address = ip;
	req.has_ip_address = ip != NULL;
	req.user_agent = ua;
	req.has_user_agent = ua != NULL;
	req.ttl_s = ad->session_ttl_s;
	req.has_ttl_s = true;
	st = proto_session_create_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold);
	proto_reply_fini(&hold);
	if (st != PROTO_OK) {
		*detail_r = "cannot create the session (storaged unavailable)";
		return NULL;
	}
	token = token_sign(&ad->keys, sid_r, now, now + ad->session_ttl_s);
	if (token == NULL)
		*detail_r = "cannot sign the session token";
	return token;
}

int
session_end(struct authd *ad, const char *sid)
{
	struct proto_session_delete_req req = {.id = sid};
	struct proto_session_delete_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st;

	cache_drop_sid(ad->cache, sid);
	st = proto_session_delete_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold);
	proto_reply_fini(&hold);
	/* an event may have refilled nothing, but a concurrent miss could have: drop again */
	cache_drop_sid(ad->cache, sid);
	return st == PROTO_OK ? 0 : -1;
}

int
authd_totp_secret(struct authd *ad, const char *stored, char *out, size_t len)
{
	size_t n = strlen(stored);

	if (strncmp(stored, "v1:", 3) == 0)
		return secrets_open(&ad->secrets, stored, out, len);
	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = stored[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') ||
		    c == '='))
			return -1;
	}
	memcpy(out, stored, n + 1);   /* imported from the reference, which kept it in clear */
	return 0;
}

/* ---- audit --------------------------------------------------------------- */

static void
authd_audit_done(void *arg, enum proto_status st, const struct proto_audit_append_rep *rep,
    const char *detail)
{
	struct authd *ad = arg;

	(void)rep;
	if (st != PROTO_OK) {
		atomic_fetch_add(&ad->audit_failures, 1);
		log_warnx("audit: entry not written: %s (%s)", proto_status_name(st),
		    detail != NULL ? detail : "");
	}
}

void
authd_audit(struct authd *ad, const struct audit_rec *a)
{
	struct proto_audit_append_req req = {0};
	char ua[256];

	req.user_id = a->user_id;
	req.has_user_id = a->user_id > 0;
	req.username = a->username;
	req.has_username = a->username != NULL;
	req.action = a->action;
	req.resource_type = a->resource_type != NULL ? a->resource_type : "user";
	req.resource_id = a->resource_id;
	req.has_resource_id = a->resource_id != NULL;
	req.details = a->details;
	req.has_details = a->details != NULL;
	req.ip_address = a->ip;
	req.has_ip_address = a->ip != NULL;
	if (a->ua != NULL) {
		size_t n = strlen(a->ua);

		if (n > sizeof(ua) - 1) {
			n = sizeof(ua) - 1;
			while (n > 0 && ((unsigned char)a->ua[n] & 0xc0) == 0x80)
				n--;   /* never cut a UTF-8 sequence */
		}
		memcpy(ua, a->ua, n);
		ua[n] = '\0';
		req.user_agent = ua;
		req.has_user_agent = true;
	}
	req.success = a->success;
	req.error_message = a->error;
	req.has_error_message = a->error != NULL;
	proto_audit_append_call(ad->storaged, &req, ad->timeout_ms, authd_audit_done, ad);
}
