/* tfa: /api/users/me/2fa (API.md 3.4).  The TOTP secret is stored sealed with
 * the key of KUBARR_SECRET_KEY_FILE; recovery codes as keyed hashes.  Runs on
 * the work pool. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "totp.h"
#include "xmalloc.h"

#define TFA_CODES 8

#define OUT_FAIL(rep, code, text)                                                     \
	do {                                                                              \
		(rep)->http = (code);                                                         \
		(rep)->detail = (text);                                                       \
		(rep)->has_detail = true;                                                     \
	} while (0)

#define DECODE_OR_RETURN(name, r, req)                                                \
	do {                                                                              \
		const char *derr_ = NULL;                                                     \
		if (proto_##name##_req_decode(&(r)->env, (req), &derr_) != 0) {               \
			proto_reply_error((r), PROTO_BAD_REQUEST, derr_, NULL);                   \
			return;                                                                   \
		}                                                                             \
	} while (0)

/* The caller and their secrets (USER_GET with_secrets). */
struct tfa_user {
	struct authn a;
	struct proto_user_get_rep u;
	struct proto_reply hold;
	int http;
	const char *detail;
};

static int
tfa_user(struct authd *ad, const char *cookies, struct tfa_user *t)
{
	struct proto_user_get_req uq = {0};

	memset(t, 0, sizeof(*t));
	if (authn_resolve(ad, cookies, &t->a) != 0) {
		t->http = t->a.http;
		t->detail = t->a.detail;
		return -1;
	}
	uq.id = t->a.p->user_id;
	uq.has_id = true;
	uq.with_secrets = true;
	uq.has_with_secrets = true;
	if (proto_user_get_call_sync(ad->storaged, &uq, ad->timeout_ms, &t->u, &t->hold) != PROTO_OK) {
		t->http = 503;
		t->detail = "storaged unavailable";
		return -1;
	}
	return 0;
}

static void
tfa_user_fini(struct tfa_user *t)
{
	proto_reply_fini(&t->hold);
	authn_fini(&t->a);
}

static bool
tfa_on(const struct tfa_user *t)
{
	return t->u.has_totp_enabled && t->u.totp_enabled;
}

static void
tfa_audit(struct authd *ad, const struct tfa_user *t, const char *action, bool ok,
    const char *ip, const char *ua)
{
	struct audit_rec a = {0};

	a.user_id = t->u.id;
	a.username = t->u.username;
	a.action = action;
	a.resource_type = "user";
	a.ip = ip;
	a.ua = ua;
	a.success = ok;
	a.error = ok ? NULL : "invalid code";
	authd_audit(ad, &a);
}

static enum proto_status
tfa_set(struct authd *ad, int64_t id, bool enabled, const char *sealed, const char *verified_at,
    bool clear)
{
	struct proto_user_set_totp_req req = {0};
	struct proto_user_set_totp_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st;

	req.id = id;
	req.totp_enabled = enabled;
	req.totp_secret = sealed;
	req.has_totp_secret = sealed != NULL;
	req.totp_verified_at = verified_at;
	req.has_totp_verified_at = verified_at != NULL;
	req.clear = clear;
	req.has_clear = clear;
	st = proto_user_set_totp_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold);
	proto_reply_fini(&hold);
	return st;
}

void
tfa_op_setup(struct authd *ad, struct proto_request *r)
{
	struct proto_tfa_setup_req req = {0};
	struct proto_tfa_setup_rep rep = {0};
	char secret[TOTP_SECRET_B32_MAX], sealed[SECRETS_SEALED_MAX], uri[TOTP_URI_MAX];
	struct tfa_user t;

	DECODE_OR_RETURN(tfa_setup, r, &req);
	secret[0] = '\0';
	if (tfa_user(ad, req.has_cookies ? req.cookies : NULL, &t) != 0) {
		OUT_FAIL(&rep, t.http, t.detail);
		goto out;
	}
	if (tfa_on(&t)) {
		OUT_FAIL(&rep, 400, "Two-factor authentication is already enabled");
		goto out;
	}
	totp_secret_new(secret);
	if (secrets_seal(&ad->secrets, secret, sealed, sizeof(sealed)) != 0 ||
	    totp_provisioning_uri(secret, t.u.email, uri, sizeof(uri)) != 0) {
		OUT_FAIL(&rep, 500, "Cannot create a TOTP secret");
		goto out;
	}
	if (tfa_set(ad, t.u.id, false, sealed, NULL, false) != PROTO_OK) {
		OUT_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	rep.http = 200;
	rep.secret = secret;
	rep.has_secret = true;
	rep.provisioning_uri = uri;
	rep.has_provisioning_uri = true;
out:
	proto_reply(r, proto_tfa_setup_rep_msg(r->env.req_id, &rep));
	sodium_memzero(secret, sizeof(secret));
	tfa_user_fini(&t);
}

void
tfa_op_enable(struct authd *ad, struct proto_request *r)
{
	struct proto_tfa_enable_req req = {0};
	struct proto_tfa_enable_rep rep = {0};
	struct proto_recovery_codes_replace_req cq = {0};
	struct proto_recovery_codes_replace_rep cr;
	struct proto_reply chold = {0};
	char secret[SECRETS_SEALED_MAX], now[TIME_RFC3339_LEN];
	char codes[TFA_CODES][11], hashes[TFA_CODES][SECRETS_CODE_HASH_MAX];
	const char *cv[TFA_CODES], *hv[TFA_CODES];
	const char *ip, *ua;
	struct tfa_user t;

	DECODE_OR_RETURN(tfa_enable, r, &req);
	secret[0] = '\0';
	ip = req.has_ip_address ? req.ip_address : NULL;
	ua = req.has_user_agent ? req.user_agent : NULL;
	if (tfa_user(ad, req.has_cookies ? req.cookies : NULL, &t) != 0) {
		OUT_FAIL(&rep, t.http, t.detail);
		goto out;
	}
	if (tfa_on(&t)) {
		OUT_FAIL(&rep, 400, "Two-factor authentication is already enabled");
		goto out;
	}
	if (!t.u.has_totp_secret ||
	    authd_totp_secret(ad, t.u.totp_secret, secret, sizeof(secret)) != 0) {
		OUT_FAIL(&rep, 400, "Call setup first");
		goto out;
	}
	if (!totp_verify(secret, req.code, (time_t)(time_wall_ms() / 1000))) {
		tfa_audit(ad, &t, "2fa_failed", false, ip, ua);
		OUT_FAIL(&rep, 400, "Invalid TOTP code");
		goto out;
	}
	secrets_recovery_codes(codes, TFA_CODES);
	for (int i = 0; i < TFA_CODES; i++) {
		secrets_code_hash(&ad->secrets, codes[i], hashes[i]);
		cv[i] = codes[i];
		hv[i] = hashes[i];
	}
	cq.user_id = t.u.id;
	cq.code_hashes.v = hv;
	cq.code_hashes.n = TFA_CODES;
	if (proto_recovery_codes_replace_call_sync(ad->storaged, &cq, ad->timeout_ms, &cr, &chold) !=
	    PROTO_OK) {
		OUT_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	time_format_rfc3339(time_wall_ms(), now);
	if (tfa_set(ad, t.u.id, true, NULL, now, false) != PROTO_OK) {
		OUT_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	tfa_audit(ad, &t, "2fa_enabled", true, ip, ua);
	rep.http = 200;
	rep.message = "Two-factor authentication enabled";
	rep.has_message = true;
	rep.recovery_codes.v = cv;
	rep.recovery_codes.n = TFA_CODES;
	rep.has_recovery_codes = true;
out:
	proto_reply(r, proto_tfa_enable_rep_msg(r->env.req_id, &rep));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(codes, sizeof(codes));
	proto_reply_fini(&chold);
	tfa_user_fini(&t);
}

void
tfa_op_disable(struct authd *ad, struct proto_request *r)
{
	struct proto_tfa_disable_req req = {0};
	struct proto_tfa_disable_rep rep = {0};
	struct proto_recovery_codes_replace_req cq = {0};
	enum password_result pr;
	struct tfa_user t;

	(void)cq;
	DECODE_OR_RETURN(tfa_disable, r, &req);
	if (tfa_user(ad, req.has_cookies ? req.cookies : NULL, &t) != 0) {
		OUT_FAIL(&rep, t.http, t.detail);
		goto out;
	}
	if (!tfa_on(&t)) {
		OUT_FAIL(&rep, 400, "Two-factor authentication is not enabled");
		goto out;
	}
	if (t.u.requires_2fa) {
		OUT_FAIL(&rep, 400, "Two-factor authentication is required by your role");
		goto out;
	}
	pr = password_verify(ad->pw, req.password, t.u.has_hashed_password ? t.u.hashed_password : "",
	    time_mono_us() + ad->hash_wait_ms * 1000);
	if (pr == PASSWORD_BUSY) {
		OUT_FAIL(&rep, 503, "Too many requests at once; try again");
		goto out;
	}
	if (pr != PASSWORD_OK) {
		OUT_FAIL(&rep, 400, "Invalid password");
		goto out;
	}
	if (tfa_set(ad, t.u.id, false, NULL, NULL, true) != PROTO_OK) {
		OUT_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	tfa_audit(ad, &t, "2fa_disabled", true, req.has_ip_address ? req.ip_address : NULL,
	    req.has_user_agent ? req.user_agent : NULL);
	rep.http = 200;
	rep.message = "Two-factor authentication disabled";
	rep.has_message = true;
out:
	proto_reply(r, proto_tfa_disable_rep_msg(r->env.req_id, &rep));
	tfa_user_fini(&t);
}

void
tfa_op_status(struct authd *ad, struct proto_request *r)
{
	struct proto_tfa_status_req req = {0};
	struct proto_tfa_status_rep rep = {0};
	struct tfa_user t;

	DECODE_OR_RETURN(tfa_status, r, &req);
	if (tfa_user(ad, req.has_cookies ? req.cookies : NULL, &t) != 0) {
		OUT_FAIL(&rep, t.http, t.detail);
		goto out;
	}
	rep.http = 200;
	rep.enabled = tfa_on(&t);
	rep.has_enabled = true;
	rep.verified_at = t.u.has_totp_verified_at ? t.u.totp_verified_at : NULL;
	rep.has_verified_at = t.u.has_totp_verified_at && rep.enabled;
	rep.required_by_role = t.u.requires_2fa;
	rep.has_required_by_role = true;
out:
	proto_reply(r, proto_tfa_status_rep_msg(r->env.req_id, &rep));
	tfa_user_fini(&t);
}

void
tfa_op_codes(struct authd *ad, struct proto_request *r)
{
	struct proto_tfa_codes_req req = {0};
	struct proto_tfa_codes_rep rep = {0};
	struct proto_recovery_codes_list_req lq = {0};
	struct proto_recovery_codes_list_rep lr;
	struct proto_reply hold = {0};
	struct authn a;

	DECODE_OR_RETURN(tfa_codes, r, &req);
	if (authn_resolve(ad, req.has_cookies ? req.cookies : NULL, &a) != 0) {
		OUT_FAIL(&rep, a.http, a.detail);
		goto out;
	}
	lq.user_id = a.p->user_id;
	if (proto_recovery_codes_list_call_sync(ad->storaged, &lq, ad->timeout_ms, &lr, &hold) !=
	    PROTO_OK) {
		OUT_FAIL(&rep, 503, "storaged unavailable");
		goto out;
	}
	rep.http = 200;
	rep.remaining = (int64_t)lr.codes.n;
	rep.has_remaining = true;
out:
	proto_reply(r, proto_tfa_codes_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&hold);
	authn_fini(&a);
}
