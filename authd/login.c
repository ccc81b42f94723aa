/* login: POST /auth/login, /auth/2fa/recover and /auth/register, and hashing
 * for routes that set someone's password.  Runs on the work pool. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "totp.h"
#include "xmalloc.h"

/* An argon2id hash of a random password, verified against when the user does
 * not exist, so that "no such user" costs the same time as "wrong password". */
static char login_dummy_hash[PASSWORD_HASH_MAX];

#define OUT_FAIL(rep, code, text)                                                     \
	do {                                                                              \
		(rep)->http = (code);                                                         \
		(rep)->detail = (text);                                                       \
		(rep)->has_detail = true;                                                     \
	} while (0)

struct login_user {
	struct proto_user_get_rep u;
	struct proto_reply hold;
	bool found;
};

static int
login_find(struct authd *ad, const char *name, struct login_user *lu)
{
	struct proto_user_get_req req = {0};
	enum proto_status st;

	memset(lu, 0, sizeof(*lu));
	if (strchr(name, '@') != NULL) {
		req.email = name;
		req.has_email = true;
	} else {
		req.username = name;
		req.has_username = true;
	}
	req.with_secrets = true;
	req.has_with_secrets = true;
	st = proto_user_get_call_sync(ad->storaged, &req, ad->timeout_ms, &lu->u, &lu->hold);
	if (st == PROTO_OK)
		lu->found = true;
	return st == PROTO_OK || st == PROTO_NOT_FOUND || st == PROTO_BAD_REQUEST ? 0 : -1;
}

static int64_t
login_deadline(struct authd *ad)
{
	return time_mono_us() + ad->hash_wait_ms * 1000;
}

static void
login_lower(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* The outcome of the common checks; on failure http/detail are set and the
 * failure is audited.  `what` is "login" or "2fa recover". */
struct login_try {
	const char *name, *password, *ip, *ua;
	struct login_user lu;
	char user_key[128];
	int http;
	const char *detail;
	int64_t retry_after;
};

static void
login_audit_fail(struct authd *ad, struct login_try *t, const char *action, const char *reason)
{
	char details[160];
	struct audit_rec a = {0};

	snprintf(details, sizeof(details), "{\"reason\":\"%s\"}", reason);
	a.user_id = t->lu.found ? t->lu.u.id : 0;
	a.username = t->lu.found ? t->lu.u.username : t->name;
	a.action = action;
	a.resource_type = "user";
	a.details = details;
	a.ip = t->ip;
	a.ua = t->ua;
	a.success = false;
	a.error = reason;
	authd_audit(ad, &a);
}

static void
login_failed(struct authd *ad, struct login_try *t, int http, const char *detail,
    const char *reason, bool count)
{
	int64_t now = time_mono_us() / 1000;

	t->http = http;
	t->detail = detail;
	atomic_fetch_add(&ad->login_failures, 1);
	if (count) {
		throttle_fail(ad->thr, THROTTLE_USER, t->user_key, now);
		if (t->ip != NULL)
			throttle_fail(ad->thr, THROTTLE_ADDR, t->ip, now);
	}
	login_audit_fail(ad, t, "login_failed", reason);
}

/* Throttle, find, verify, state checks.  0 when the password is right and the
 * account may sign in (2FA not yet checked). */
static int
login_check(struct authd *ad, struct login_try *t)
{
	int64_t now = time_mono_us() / 1000, wait_u, wait_a = 0;
	enum password_result pr;

	login_lower(t->user_key, sizeof(t->user_key), t->name);
	wait_u = throttle_check(ad->thr, THROTTLE_USER, t->user_key, now);
	if (t->ip != NULL)
		wait_a = throttle_check(ad->thr, THROTTLE_ADDR, t->ip, now);
	if (wait_u > 0 || wait_a > 0) {
		int64_t w = wait_u > wait_a ? wait_u : wait_a;

		atomic_fetch_add(&ad->throttled, 1);
		t->http = 429;
		t->detail = "Too many failed login attempts; try again later";
		t->retry_after = (w + 999) / 1000;
		login_audit_fail(ad, t, "login_failed", "throttled");
		return -1;
	}
	if (login_find(ad, t->name, &t->lu) != 0) {
		t->http = 503;
		t->detail = "storaged unavailable";
		return -1;
	}
	if (!t->lu.found || !t->lu.u.has_hashed_password) {
		/* same work as a real check */
		password_verify(ad->pw, t->password, login_dummy_hash, login_deadline(ad));
		login_failed(ad, t, 401, "Invalid credentials", "unknown user", true);
		return -1;
	}
	pr = password_verify(ad->pw, t->password, t->lu.u.hashed_password, login_deadline(ad));
	if (pr == PASSWORD_BUSY) {
		t->http = 503;
		t->detail = "Too many logins at once; try again";
		t->retry_after = 1;
		return -1;
	}
	if (pr != PASSWORD_OK) {
		login_failed(ad, t, 401, "Invalid credentials",
		    pr == PASSWORD_BAD_HASH ? "unusable password hash" : "bad password", true);
		return -1;
	}
	if (!t->lu.u.is_active) {
		login_failed(ad, t, 401, "Account is disabled", "account disabled", false);
		return -1;
	}
	if (!t->lu.u.is_approved) {
		login_failed(ad, t, 401, "Account is pending approval", "account pending approval",
		    false);
		return -1;
	}
	if (t->lu.u.requires_2fa && !(t->lu.u.has_totp_enabled && t->lu.u.totp_enabled)) {
		login_failed(ad, t, 400, "Two-factor authentication setup required",
		    "2fa setup required", false);
		return -1;
	}
	return 0;
}

/* Replaces a bcrypt (or old-parameter) hash by a fresh argon2id one. */
static void
login_rehash(struct authd *ad, struct login_try *t)
{
	char hash[PASSWORD_HASH_MAX];
	struct proto_user_set_password_req req = {0};
	struct proto_user_set_password_rep rep;
	struct proto_reply hold = {0};

	if (!password_needs_rehash(t->lu.u.hashed_password))
		return;
	if (password_hash(ad->pw, t->password, login_deadline(ad), hash) != PASSWORD_OK)
		return;   /* next time */
	req.id = t->lu.u.id;
	req.hashed_password = hash;
	if (proto_user_set_password_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold) ==
	    PROTO_OK)
		log_info("login: password of user %lld rehashed to argon2id", (long long)req.id);
	proto_reply_fini(&hold);
}

/* API.md 3.1: slots holding a valid session are taken; the same user reuses
 * theirs, else the first free slot, else slot 0.  *old_sid_r gets the session
 * the chosen slot held (to end it: its cookie is about to be overwritten). */
static int
login_slot(struct authd *ad, const char *cookies, int64_t user_id, char *old_sid_r)
{
	struct cookie_jar jar;
	const char *err;
	int free_slot = -1, same = -1;
	char sids[COOKIES_SLOTS][TOKEN_SID_LEN + 1];

	old_sid_r[0] = '\0';
	if (cookies_parse(cookies, &jar, &err) != 0) {
		cookies_jar_fini(&jar);
		return 0;
	}
	for (int i = 0; i < COOKIES_SLOTS; i++) {
		struct principal *p;
		int http;
		const char *detail;

		sids[i][0] = '\0';
		if (jar.slot[i] == NULL) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		p = authn_token(ad, jar.slot[i], &http, &detail);
		if (p == NULL) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		memcpy(sids[i], p->sid, sizeof(sids[i]));
		if (p->user_id == user_id && same < 0)
			same = i;
		principal_unref(&p);
	}
	cookies_jar_fini(&jar);
	if (same >= 0) {
		memcpy(old_sid_r, sids[same], sizeof(sids[same]));
		return same;
	}
	if (free_slot >= 0)
		return free_slot;
	memcpy(old_sid_r, sids[0], sizeof(sids[0]));
	return 0;
}

/* A session in a slot: cookies for the slot, kubarr_active and the legacy cookie. */
static int
login_session(struct authd *ad, struct login_try *t, const char *cookies, struct cookie_out *co,
    int *slot_r)
{
	char sid[TOKEN_SID_LEN + 1], old[TOKEN_SID_LEN + 1];
	char *token;
	struct audit_rec a = {0};

	*slot_r = login_slot(ad, cookies, t->lu.u.id, old);
	token = session_issue(ad, t->lu.u.id, t->ip, t->ua, sid, &t->detail);
	if (token == NULL) {
		t->http = 503;
		return -1;
	}
	if (old[0] != '\0')
		session_end(ad, old);
	cookie_out_session(ad, co, *slot_r, token);
	cookie_out_active(ad, co, *slot_r);
	cookie_out_session(ad, co, COOKIES_LEGACY, token);
	free(token);
	throttle_success(ad->thr, THROTTLE_USER, t->user_key);
	atomic_fetch_add(&ad->logins, 1);
	a.user_id = t->lu.u.id;
	a.username = t->lu.u.username;
	a.action = "login";
	a.resource_type = "session";
	a.resource_id = sid;
	a.ip = t->ip;
	a.ua = t->ua;
	a.success = true;
	authd_audit(ad, &a);
	return 0;
}

static void
login_audit_2fa(struct authd *ad, struct login_try *t, const char *action, bool ok)
{
	struct audit_rec a = {0};

	a.user_id = t->lu.u.id;
	a.username = t->lu.u.username;
	a.action = action;
	a.resource_type = "user";
	a.ip = t->ip;
	a.ua = t->ua;
	a.success = ok;
	a.error = ok ? NULL : "invalid code";
	authd_audit(ad, &a);
}

void
login_op_login(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_login_req req = {0};
	struct proto_auth_login_rep rep = {0};
	struct login_try t = {0};
	struct cookie_out co = {0};
	const char *err = NULL;
	int slot;

	if (proto_auth_login_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	t.name = req.username;
	t.password = req.password;
	t.ip = req.has_ip_address ? req.ip_address : NULL;
	t.ua = req.has_user_agent ? req.user_agent : NULL;
	if (login_check(ad, &t) != 0)
		goto fail;
	if (t.lu.u.has_totp_enabled && t.lu.u.totp_enabled) {
		char secret[SECRETS_SEALED_MAX];

		if (!req.has_totp_code || req.totp_code[0] == '\0') {
			t.http = 400;
			t.detail = "Two-factor authentication code required";
			goto fail;
		}
		if (!t.lu.u.has_totp_secret ||
		    authd_totp_secret(ad, t.lu.u.totp_secret, secret, sizeof(secret)) != 0) {
			log_error("login: the TOTP secret of user %lld cannot be decrypted (wrong "
			    "KUBARR_SECRET_KEY_FILE?)", (long long)t.lu.u.id);
			login_failed(ad, &t, 401, "Invalid TOTP code", "totp secret unreadable", false);
			goto fail;
		}
		if (!totp_verify(secret, req.totp_code, (time_t)(time_wall_ms() / 1000))) {
			sodium_memzero(secret, sizeof(secret));
			login_audit_2fa(ad, &t, "2fa_failed", false);
			login_failed(ad, &t, 401, "Invalid TOTP code", "bad totp code", true);
			goto fail;
		}
		sodium_memzero(secret, sizeof(secret));
		login_audit_2fa(ad, &t, "2fa_verified", true);
	}
	login_rehash(ad, &t);
	if (login_session(ad, &t, req.has_cookies ? req.cookies : NULL, &co, &slot) != 0)
		goto fail;
	rep.http = 200;
	rep.user_id = t.lu.u.id;
	rep.has_user_id = true;
	rep.username = t.lu.u.username;
	rep.has_username = true;
	rep.email = t.lu.u.email;
	rep.has_email = true;
	rep.session_slot = slot;
	rep.has_session_slot = true;
	rep.set_cookies = cookie_out_strs(&co);
	rep.has_set_cookies = true;
	proto_reply(r, proto_auth_login_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&t.lu.hold);
	return;
fail:
	OUT_FAIL(&rep, t.http, t.detail);
	if (t.retry_after > 0) {
		rep.retry_after = t.retry_after;
		rep.has_retry_after = true;
	}
	proto_reply(r, proto_auth_login_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&t.lu.hold);
}

void
login_op_recover(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_recover_req req = {0};
	struct proto_auth_recover_rep rep = {0};
	struct proto_recovery_codes_list_req lq = {0};
	struct proto_recovery_codes_list_rep lr;
	struct proto_reply lhold = {0};
	struct login_try t = {0};
	struct cookie_out co = {0};
	const char *err = NULL;
	int64_t code_id = -1, remaining = 0;
	int slot;

	if (proto_auth_recover_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	t.name = req.username;
	t.password = req.password;
	t.ip = req.has_ip_address ? req.ip_address : NULL;
	t.ua = req.has_user_agent ? req.user_agent : NULL;
	if (login_check(ad, &t) != 0)
		goto fail;
	if (!(t.lu.u.has_totp_enabled && t.lu.u.totp_enabled)) {
		t.http = 400;
		t.detail = "Two-factor authentication is not enabled";
		goto fail;
	}
	lq.user_id = t.lu.u.id;
	if (proto_recovery_codes_list_call_sync(ad->storaged, &lq, ad->timeout_ms, &lr, &lhold) !=
	    PROTO_OK) {
		t.http = 503;
		t.detail = "storaged unavailable";
		goto fail;
	}
	for (size_t i = 0; i < lr.codes.n; i++)
		if (secrets_code_matches(&ad->secrets, req.recovery_code, lr.codes.v[i].code_hash)) {
			code_id = lr.codes.v[i].id;
			break;
		}
	if (code_id < 0) {
		login_audit_2fa(ad, &t, "2fa_failed", false);
		login_failed(ad, &t, 401, "Invalid recovery code", "bad recovery code", true);
		goto fail;
	} else {
		struct proto_recovery_code_use_req uq = {.id = code_id, .user_id = t.lu.u.id};
		struct proto_recovery_code_use_rep ur;
		struct proto_reply uhold = {0};
		enum proto_status st;

		st = proto_recovery_code_use_call_sync(ad->storaged, &uq, ad->timeout_ms, &ur, &uhold);
		remaining = st == PROTO_OK ? ur.remaining : 0;
		proto_reply_fini(&uhold);
		if (st != PROTO_OK) {
			t.http = st == PROTO_CONFLICT ? 401 : 503;
			t.detail = st == PROTO_CONFLICT ? "Invalid recovery code" : "storaged unavailable";
			goto fail;
		}
		login_audit_2fa(ad, &t, "2fa_verified", true);
	}
	if (login_session(ad, &t, req.has_cookies ? req.cookies : NULL, &co, &slot) != 0)
		goto fail;
	rep.http = 200;
	rep.user_id = t.lu.u.id;
	rep.has_user_id = true;
	rep.username = t.lu.u.username;
	rep.has_username = true;
	rep.email = t.lu.u.email;
	rep.has_email = true;
	rep.session_slot = slot;
	rep.has_session_slot = true;
	rep.remaining = remaining;
	rep.has_remaining = true;
	rep.set_cookies = cookie_out_strs(&co);
	rep.has_set_cookies = true;
	proto_reply(r, proto_auth_recover_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&lhold);
	proto_reply_fini(&t.lu.hold);
	return;
fail:
	OUT_FAIL(&rep, t.http, t.detail);
	if (t.retry_after > 0) {
		rep.retry_after = t.retry_after;
		rep.has_retry_after = true;
	}
	proto_reply(r, proto_auth_recover_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&lhold);
	proto_reply_fini(&t.lu.hold);
}

/* A setting's value as a boolean ("true"/"false"), or def. */
static bool
login_setting_bool(struct authd *ad, const char *key, bool def)
{
	struct proto_setting_get_req req = {.key = key};
	struct proto_setting_get_rep rep;
	struct proto_reply hold = {0};
	bool v = def;

	if (proto_setting_get_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold) == PROTO_OK)
		v = strcmp(rep.value, "true") == 0 || strcmp(rep.value, "1") == 0;
	proto_reply_fini(&hold);
	return v;
}

void
login_op_register(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_register_req req = {0};
	struct proto_auth_register_rep rep = {0};
	struct proto_register_user_req rq = {0};
	struct proto_register_user_rep rr;
	struct proto_reply hold = {0};
	char hash[PASSWORD_HASH_MAX];
	const char *err = NULL;
	enum password_result pr;
	enum proto_status st;
	bool invited, approved;
	struct audit_rec a = {0};

	if (proto_auth_register_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	invited = req.has_invite_code && req.invite_code[0] != '\0';
	if (strlen(req.password) < PASSWORD_MIN_LEN) {
		OUT_FAIL(&rep, 400, "Password must be at least 8 characters");
		goto out;
	}
	if (!invited && !login_setting_bool(ad, "registration_enabled", false)) {
		OUT_FAIL(&rep, 403, "Registration is disabled; an invite is required");
		goto out;
	}
	approved = invited || !login_setting_bool(ad, "registration_require_approval", true);
	pr = password_hash(ad->pw, req.password, login_deadline(ad), hash);
	if (pr != PASSWORD_OK) {
		OUT_FAIL(&rep, 503, "Too many requests at once; try again");
		rep.retry_after = 1;
		rep.has_retry_after = true;
		goto out;
	}
	rq.username = req.username;
	rq.email = req.email;
	rq.hashed_password = hash;
	rq.invite_code = req.invite_code;
	rq.has_invite_code = invited;
	rq.is_approved = approved;
	st = proto_register_user_call_sync(ad->storaged, &rq, ad->timeout_ms, &rr, &hold);
	switch (st) {
	case PROTO_OK:
		rep.http = 201;
		rep.message = approved ? "Registration successful" :
		    "Registration successful; an administrator must approve the account";
		rep.has_message = true;
		rep.user_id = rr.id;
		rep.has_user_id = true;
		rep.username = rr.username;
		rep.has_username = true;
		rep.email = rr.email;
		rep.has_email = true;
		rep.is_approved = rr.is_approved;
		rep.has_is_approved = true;
		a.user_id = rr.id;
		a.username = rr.username;
		a.action = invited ? "invite_used" : "user_created";
		a.resource_type = invited ? "invite" : "user";
		a.ip = req.has_ip_address ? req.ip_address : NULL;
		a.ua = req.has_user_agent ? req.user_agent : NULL;
		a.success = true;
		authd_audit(ad, &a);
		break;
	case PROTO_CONFLICT:
		OUT_FAIL(&rep, 400, hold.detail != NULL && strstr(hold.detail, "invite") != NULL ?
		    "Invite already used" : hold.detail != NULL && strstr(hold.detail, "email") != NULL ?
		    "Email already registered" : "Username already taken");
		break;
	case PROTO_NOT_FOUND:
		OUT_FAIL(&rep, 400, "Invalid invite code");
		break;
	case PROTO_BAD_REQUEST:
		OUT_FAIL(&rep, 400, hold.detail != NULL && strstr(hold.detail, "expired") != NULL ?
		    "Invite expired" : hold.detail != NULL ? hold.detail : "Invalid registration");
		break;
	default:
		OUT_FAIL(&rep, 503, "storaged unavailable");
		break;
	}
out:
	sodium_memzero(hash, sizeof(hash));
	proto_reply(r, proto_auth_register_rep_msg(r->env.req_id, &rep));
	proto_reply_fini(&hold);
}

void
login_op_hash(struct authd *ad, struct proto_request *r)
{
	struct proto_auth_hash_req req = {0};
	struct proto_auth_hash_rep rep = {0};
	char hash[PASSWORD_HASH_MAX];
	const char *err = NULL;

	if (proto_auth_hash_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	if (strlen(req.password) < PASSWORD_MIN_LEN) {
		OUT_FAIL(&rep, 400, "Password must be at least 8 characters");
	} else if (password_hash(ad->pw, req.password, login_deadline(ad), hash) != PASSWORD_OK) {
		OUT_FAIL(&rep, 503, "Too many requests at once; try again");
	} else {
		rep.http = 200;
		rep.hash = hash;
		rep.has_hash = true;
	}
	proto_reply(r, proto_auth_hash_rep_msg(r->env.req_id, &rep));
}

int
login_init(void)
{
	char pw[33];

	randombytes_buf(pw, sizeof(pw) - 1);
	for (size_t i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = (char)('a' + ((unsigned char)pw[i] % 26));
	pw[sizeof(pw) - 1] = '\0';
	return password_hash_now(pw, login_dummy_hash) == PASSWORD_OK ? 0 : -1;
}
