/* check: AUTH_CHECK, the request path of every authenticated call.  Runs on
 * nng's threads and never blocks: a cache hit answers at once (no signature
 * check, no storaged); a miss verifies the token and asks storaged
 * asynchronously (PRINCIPAL_GET, then USER_GET), caches and answers. */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct check_miss {
	struct authd *ad;
	struct proto_request *r;
	unsigned char key[CACHE_KEY_BYTES];
	char sid[TOKEN_SID_LEN + 1];
	int64_t tok_exp;
	uint64_t gen;
	int slot;
	/* from PRINCIPAL_GET */
	char expires_at[TIME_RFC3339_LEN + 8];
	bool has_expires_at, totp_enabled;
};

static void
check_reply_fail(struct authd *ad, struct proto_request *r, int http, const char *detail)
{
	struct proto_auth_check_rep rep = {0};

	if (http == 401)
		atomic_fetch_add(&ad->check_denied, 1);
	rep.http = http;
	rep.detail = detail;
	rep.has_detail = true;
	proto_reply(r, proto_auth_check_rep_msg(r->env.req_id, &rep));
}

static void
check_reply_ok(struct authd *ad, struct proto_request *r, struct principal *p, int slot,
    bool cached)
{
	struct proto_auth_check_rep rep = {0};

	if (!p->is_active || !p->is_approved) {
		check_reply_fail(ad, r, 401, p->is_active ? "Account is pending approval" :
		    "Account is disabled");
		return;
	}
	rep.http = 200;
	principal_fill_check(p, &rep);
	rep.slot = slot;
	rep.has_slot = true;
	rep.cached = cached;
	rep.has_cached = true;
	touch_note(ad->touch, p, time_wall_ms());
	proto_reply(r, proto_auth_check_rep_msg(r->env.req_id, &rep));
}

static void
check_user_cb(void *arg, enum proto_status st, const struct proto_user_get_rep *u,
    const char *detail)
{
	struct check_miss *m = arg;
	struct proto_principal_get_rep pg = {0};
	struct principal *p;

	(void)detail;
	if (st == PROTO_NOT_FOUND) {
		check_reply_fail(m->ad, m->r, 401, "User not found");
	} else if (st != PROTO_OK) {
		check_reply_fail(m->ad, m->r, 503, "storaged unavailable");
	} else {
		pg.valid = true;
		pg.expires_at = m->expires_at;
		pg.has_expires_at = m->has_expires_at;
		pg.totp_enabled = m->totp_enabled;
		pg.has_totp_enabled = true;
		p = principal_new(m->sid, &pg, u);
		cache_put(m->ad->cache, m->key, p, m->tok_exp, time_wall_ms(), m->gen);
		check_reply_ok(m->ad, m->r, p, m->slot, false);
		principal_unref(&p);
	}
	free(m);
}

static void
check_principal_cb(void *arg, enum proto_status st, const struct proto_principal_get_rep *pg,
    const char *detail)
{
	struct check_miss *m = arg;
	struct proto_user_get_req uq = {0};

	(void)detail;
	if (st != PROTO_OK) {
		check_reply_fail(m->ad, m->r, 503, "storaged unavailable");
		free(m);
		return;
	}
	if (!pg->valid || !pg->has_user_id) {
		log_debug("check: session refused by storaged: %s", pg->has_reason ? pg->reason : "?");
		check_reply_fail(m->ad, m->r, 401, "Session expired or revoked");
		free(m);
		return;
	}
	if (pg->has_expires_at) {
		snprintf(m->expires_at, sizeof(m->expires_at), "%s", pg->expires_at);
		m->has_expires_at = true;
	}
	m->totp_enabled = pg->has_totp_enabled && pg->totp_enabled;
	uq.id = pg->user_id;
	uq.has_id = true;
	/* an async call from an nng callback: it only queues the send */
	proto_user_get_call(m->ad->storaged, &uq, m->ad->timeout_ms, check_user_cb, m);
}

void
check_handle(void *arg, struct proto_request *r)
{
	struct authd *ad = arg;
	struct proto_auth_check_req req = {0};
	struct cookie_jar jar;
	unsigned char key[CACHE_KEY_BYTES];
	char sid[TOKEN_SID_LEN + 1];
	const char *err = NULL, *token;
	struct principal *p;
	struct check_miss *m;
	int64_t now_ms = time_wall_ms(), exp;
	int slot;

	atomic_fetch_add(&ad->checks, 1);
	if (proto_auth_check_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	if (cookies_parse(req.has_cookies ? req.cookies : NULL, &jar, &err) != 0) {
		cookies_jar_fini(&jar);
		check_reply_fail(ad, r, 401, "Not authenticated");
		return;
	}
	token = cookies_pick(&jar, &slot);
	if (token == NULL) {
		cookies_jar_fini(&jar);
		check_reply_fail(ad, r, 401, "Not authenticated");
		return;
	}
	cache_key(token, key);
	if ((p = cache_get(ad->cache, key, now_ms)) != NULL) {
		cookies_jar_fini(&jar);
		check_reply_ok(ad, r, p, slot, true);
		principal_unref(&p);
		return;
	}
	atomic_fetch_add(&ad->check_misses, 1);
	if (!atomic_load(&ad->keys_ready)) {
		cookies_jar_fini(&jar);
		check_reply_fail(ad, r, 503, "authd is not ready (signing key not loaded)");
		return;
	}
	if (token_verify(&ad->keys, token, now_ms / 1000, sid, &exp, &err) != 0) {
		cookies_jar_fini(&jar);
		log_debug("check: token refused: %s", err);
		check_reply_fail(ad, r, 401, strcmp(err, "token expired") == 0 ? "Session expired" :
		    "Invalid session token");
		return;
	}
	cookies_jar_fini(&jar);
	m = xcalloc(1, sizeof(*m));
	m->ad = ad;
	m->r = r;
	memcpy(m->key, key, sizeof(key));
	memcpy(m->sid, sid, sizeof(sid));
	m->tok_exp = exp;
	m->gen = cache_generation(ad->cache);
	m->slot = slot;
	{
		struct proto_principal_get_req pq = {.session_id = m->sid};

		proto_principal_get_call(ad->storaged, &pq, ad->timeout_ms, check_principal_cb, m);
	}
}
