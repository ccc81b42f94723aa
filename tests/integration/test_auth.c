/*
 * test_auth.c: authd and the /auth API through the gateway, real daemons,
 * real HTTP (API.md 3.3-3.6, decisions 2-7).
 *
 *   login       shape, cookies, /api/users/me, failures and their audit
 *   slots       five accounts in one cookie jar, switch, accounts, reuse
 *   revoke      a session revoked from one jar is refused on the other's very
 *               next request; 403/400/404 cases; revoke others; everywhere
 *   logout      cookies cleared, kubarr_active moves to a live slot
 *   password    change revokes the other sessions; old password refused
 *   csrf        unsafe cookie requests need same origin or X-Requested-With
 *   2fa         setup, enable, login with TOTP, recovery codes, disable,
 *               requires_2fa roles
 *   register    invites (valid, used, expired, unknown), open registration
 *   bcrypt      an imported bcrypt user logs in and is rehashed to argon2id
 *   permission  401 without a session, 403 without the permission
 *
 * One set of daemons for the file; every test ends with the sanitizer scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "harness_auth.h"
#include "ipc.h"
#include "totp.h"

struct ta {
	struct harness *h;
	struct ipc_client *sd;      /* storaged, for fixtures (invites, roles, flags) */
	struct http_client *admin;  /* logged in as admin */
	int users;                  /* for unique names */
};

static struct ta *ta_global;

/* ---- helpers ------------------------------------------------------------ */

static json_t *
ta_json(struct http_resp *resp)
{
	json_t *j = http_resp_json(resp);

	if (j == NULL)
		fail_msg("not JSON (%ld): %.300s", resp->status, resp->body);
	return j;
}

static void
ta_req(struct http_client *c, const char *method, const char *path, const char *body,
    const char *const *headers, long want, struct http_resp *resp)
{
	if (http_client_request(c, method, path, body, headers, resp) != 0)
		fail_msg("%s %s: no response: %s", method, path, resp->error);
	if (want != 0 && resp->status != want)
		fail_msg("%s %s: status %ld, expected %ld: %.400s", method, path, resp->status, want,
		    resp->body);
}

static struct http_client *
ta_client(struct ta *t)
{
	struct http_client *c = NULL;

	assert_int_equal(harness_client_new(t->h, &c), 0);
	return c;
}

/* A fresh user with `role` (may be NULL); name written to name_r. */
static int64_t
ta_user(struct ta *t, const char *prefix, const char *role, char *name_r, size_t len)
{
	int64_t id = 0;

	snprintf(name_r, len, "%s%d", prefix, ++t->users);
	assert_int_equal(harness_create_user(t->h, name_r, "password-123", role, &id), 0);
	return id;
}

static long
ta_login(struct ta *t, struct http_client *c, const char *name, const char *password,
    const char *totp, struct http_resp *resp)
{
	json_t *b = json_pack("{s:s, s:s}", "username", name, "password", password);
	char *text;

	if (totp != NULL)
		json_object_set_new(b, "totp_code", json_string(totp));
	text = json_dumps(b, JSON_COMPACT);
	(void)t;
	ta_req(c, "POST", "/auth/login", text, NULL, 0, resp);
	free(text);
	json_decref(b);
	return resp->status;
}

static void
ta_login_ok(struct ta *t, struct http_client *c, const char *name)
{
	struct http_resp resp = {0};

	if (ta_login(t, c, name, "password-123", NULL, &resp) != 200)
		fail_msg("login %s: %ld %s", name, resp.status, resp.body);
	http_resp_free(&resp);
}

/* Every Set-Cookie value of a response that starts with `prefix`, or NULL. */
static const char *
ta_set_cookie(const struct http_resp *resp, const char *prefix)
{
	for (size_t i = 0; i < resp->header_count; i++)
		if (strcasecmp(resp->headers[i].name, "Set-Cookie") == 0 &&
		    strncmp(resp->headers[i].value, prefix, strlen(prefix)) == 0)
			return resp->headers[i].value;
	return NULL;
}

/* GET /api/users/me: the username, or the status as text. */
static void
ta_me(struct http_client *c, char *out, size_t len)
{
	struct http_resp resp = {0};

	ta_req(c, "GET", "/api/users/me", NULL, NULL, 0, &resp);
	if (resp.status == 200)
		snprintf(out, len, "%s", json_string_value(json_object_get(ta_json(&resp), "username")));
	else
		snprintf(out, len, "%ld", resp.status);
	http_resp_free(&resp);
}

/* Newest audit entry for user_id with `action`; its success and details. */
static int
ta_audit(struct ta *t, int64_t user_id, const char *action, bool *success_r, char *details,
    size_t len)
{
	struct http_resp resp = {0};
	char path[256];
	json_t *logs, *e;
	int rc = -1;

	/* the audit append is fire-and-forget: give it a moment */
	for (int tries = 0; tries < 50 && rc != 0; tries++) {
		snprintf(path, sizeof(path), "/api/audit?action=%s&user_id=%lld&per_page=1", action,
		    (long long)user_id);
		ta_req(t->admin, "GET", path, NULL, NULL, 200, &resp);
		logs = json_object_get(ta_json(&resp), "logs");
		if (json_array_size(logs) == 1) {
			e = json_array_get(logs, 0);
			*success_r = json_is_true(json_object_get(e, "success"));
			if (details != NULL) {
				char *d = json_dumps(json_object_get(e, "details"), JSON_COMPACT |
				    JSON_ENCODE_ANY);
				snprintf(details, len, "%s", d != NULL ? d : "");
				free(d);
			}
			assert_non_null(json_string_value(json_object_get(e, "ip_address")));
			rc = 0;
		}
		http_resp_free(&resp);
		if (rc != 0)
			usleep(20000);
	}
	return rc;
}

static void
ta_storaged_update(struct ta *t, int64_t id, int active, int approved)
{
	struct proto_user_update_req req = {.id = id};
	struct proto_user_update_rep rep;
	struct proto_reply hold = {0};

	if (active >= 0) {
		req.is_active = active;
		req.has_is_active = true;
	}
	if (approved >= 0) {
		req.is_approved = approved;
		req.has_is_approved = true;
	}
	assert_int_equal(proto_user_update_call_sync(t->sd, &req, 3000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
}

/* ---- login -------------------------------------------------------------- */

static void
test_login_and_me(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char name[64], details[256];
	int64_t id = ta_user(t, "viewer", "viewer", name, sizeof(name));
	json_t *j, *roles;
	const char *ck;
	bool ok;

	assert_int_equal(ta_login(t, c, name, "password-123", NULL, &resp), 200);
	j = ta_json(&resp);
	assert_int_equal(json_integer_value(json_object_get(j, "user_id")), id);
	assert_string_equal(json_string_value(json_object_get(j, "username")), name);
	assert_non_null(strstr(json_string_value(json_object_get(j, "email")), "@example.com"));
	assert_int_equal(json_integer_value(json_object_get(j, "session_slot")), 0);
	ck = ta_set_cookie(&resp, "kubarr_session_0=");
	assert_non_null(ck);
	assert_non_null(strstr(ck, "HttpOnly"));
	assert_non_null(strstr(ck, "SameSite=Lax"));
	assert_non_null(strstr(ck, "Max-Age=604800"));
	ck = ta_set_cookie(&resp, "kubarr_active=0");
	assert_non_null(ck);
	assert_null(strstr(ck, "HttpOnly"));
	assert_non_null(ta_set_cookie(&resp, "kubarr_session=ey"));
	http_resp_free(&resp);

	ta_req(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	j = ta_json(&resp);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
	assert_string_equal(json_string_value(json_object_get(j, "username")), name);
	assert_true(json_is_true(json_object_get(j, "is_active")));
	assert_true(json_is_true(json_object_get(j, "is_approved")));
	assert_non_null(json_string_value(json_object_get(j, "created_at")));
	assert_non_null(json_string_value(json_object_get(j, "updated_at")));
	roles = json_object_get(j, "roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 0), "name")),
	    "viewer");
	assert_true(json_is_integer(json_object_get(json_array_get(roles, 0), "id")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "preferences"),
	    "theme")), "system");
	assert_true(json_is_array(json_object_get(j, "permissions")));
	{
		bool seen = false;
		size_t i;
		json_t *v;

		json_array_foreach(json_object_get(j, "permissions"), i, v)
			seen |= strcmp(json_string_value(v), "storage.view") == 0;
		assert_true(seen);
		seen = false;
		json_array_foreach(json_object_get(j, "allowed_apps"), i, v)
			seen |= strcmp(json_string_value(v), "jellyfin") == 0;
		assert_true(seen);
	}
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "login", &ok, details, sizeof(details)), 0);
	assert_true(ok);
	http_client_free(&c);
}

static void
test_login_failures(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char name[64], details[256];
	int64_t id = ta_user(t, "fail", "viewer", name, sizeof(name));
	bool ok = true;

	assert_int_equal(ta_login(t, c, name, "wrong-password", NULL, &resp), 401);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Invalid credentials");
	assert_null(ta_set_cookie(&resp, "kubarr_session"));
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "login_failed", &ok, details, sizeof(details)), 0);
	assert_false(ok);
	assert_non_null(strstr(details, "bad password"));

	assert_int_equal(ta_login(t, c, "nobody-at-all", "password-123", NULL, &resp), 401);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Invalid credentials");
	http_resp_free(&resp);

	ta_storaged_update(t, id, 0, -1);
	assert_int_equal(ta_login(t, c, name, "password-123", NULL, &resp), 401);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Account is disabled");
	http_resp_free(&resp);
	ta_storaged_update(t, id, 1, 0);
	assert_int_equal(ta_login(t, c, name, "password-123", NULL, &resp), 401);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Account is pending approval");
	http_resp_free(&resp);
	ta_storaged_update(t, id, 1, 1);
	assert_int_equal(ta_login(t, c, name, "password-123", NULL, &resp), 200);
	http_resp_free(&resp);

	/* bad bodies: 400 naming the field, nothing happens */
	ta_req(c, "POST", "/auth/login", "{\"username\":\"x\"", NULL, 400, &resp);
	assert_non_null(strstr(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Malformed JSON"));
	http_resp_free(&resp);
	ta_req(c, "POST", "/auth/login", "{\"username\":5,\"password\":\"x\"}", NULL, 400, &resp);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Field 'username' must be a string");
	http_resp_free(&resp);
	ta_req(c, "POST", "/auth/login", "{\"username\":\"x\"}", NULL, 400, &resp);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Field 'password' is required");
	http_resp_free(&resp);
	http_client_free(&c);
}

/* A disabled user's live session is refused on the next request. */
static void
test_disable_drops_session(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	char name[64], me[64];
	int64_t id = ta_user(t, "dis", "viewer", name, sizeof(name));

	ta_login_ok(t, c, name);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, name);
	ta_storaged_update(t, id, 0, -1);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, "401");
	http_client_free(&c);
}

/* ---- five slots in one jar ---------------------------------------------- */

static void
test_five_slots(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char names[6][64], me[64];
	json_t *a;

	for (int i = 0; i < 5; i++) {
		ta_user(t, "slot", "viewer", names[i], sizeof(names[i]));
		assert_int_equal(ta_login(t, c, names[i], "password-123", NULL, &resp), 200);
		assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "session_slot")), i);
		http_resp_free(&resp);
		ta_me(c, me, sizeof(me));
		assert_string_equal(me, names[i]);   /* the newest login is active */
	}
	ta_req(c, "GET", "/auth/accounts", NULL, NULL, 200, &resp);
	a = ta_json(&resp);
	assert_int_equal(json_array_size(a), 5);
	for (int i = 0; i < 5; i++) {
		json_t *e = json_array_get(a, (size_t)i);

		assert_int_equal(json_integer_value(json_object_get(e, "slot")), i);
		assert_string_equal(json_string_value(json_object_get(e, "username")), names[i]);
		assert_int_equal(json_is_true(json_object_get(e, "is_active")), i == 4);
	}
	http_resp_free(&resp);

	/* switch: 400 beyond the slots, 404 on an empty one is impossible here */
	ta_req(c, "POST", "/auth/switch/2", NULL, HARNESS_CSRF, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "slot")), 2);
	http_resp_free(&resp);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, names[2]);
	ta_req(c, "POST", "/auth/switch/5", NULL, HARNESS_CSRF, 400, &resp);
	http_resp_free(&resp);

	/* the same user again reuses their slot */
	assert_int_equal(ta_login(t, c, names[3], "password-123", NULL, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "session_slot")), 3);
	http_resp_free(&resp);
	/* a sixth account takes slot 0 (all taken) */
	ta_user(t, "slot", "viewer", names[5], sizeof(names[5]));
	assert_int_equal(ta_login(t, c, names[5], "password-123", NULL, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "session_slot")), 0);
	http_resp_free(&resp);
	ta_req(c, "GET", "/auth/accounts", NULL, NULL, 200, &resp);
	a = ta_json(&resp);
	assert_int_equal(json_array_size(a), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "username")),
	    names[5]);
	http_resp_free(&resp);

	/* logout of the active slot (0) moves kubarr_active to a live slot */
	ta_req(c, "POST", "/auth/logout", NULL, HARNESS_CSRF, 200, &resp);
	assert_non_null(ta_set_cookie(&resp, "kubarr_session_0=;"));
	assert_non_null(ta_set_cookie(&resp, "kubarr_session=;"));
	assert_non_null(ta_set_cookie(&resp, "kubarr_active=1;"));
	http_resp_free(&resp);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, names[1]);
	ta_req(c, "POST", "/auth/switch/0", NULL, HARNESS_CSRF, 404, &resp);
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- revocation ---------------------------------------------------------- */

static const char *
ta_session_id(struct http_client *c, bool current, char *out, size_t len)
{
	struct http_resp resp = {0};
	size_t i;
	json_t *e;

	out[0] = '\0';
	ta_req(c, "GET", "/auth/sessions", NULL, NULL, 200, &resp);
	json_array_foreach(ta_json(&resp), i, e)
		if (json_is_true(json_object_get(e, "is_current")) == current)
			snprintf(out, len, "%s", json_string_value(json_object_get(e, "id")));
	http_resp_free(&resp);
	return out;
}

static void
test_revoke_other_jar(void **state)
{
	struct ta *t = *state;
	struct http_client *a = ta_client(t), *b = ta_client(t), *o = ta_client(t);
	struct http_resp resp = {0};
	char name[64], other[64], me[64], sid_b[64], sid_a[64], sid_o[64], path[128];
	json_t *list;

	ta_user(t, "rev", "viewer", name, sizeof(name));
	ta_user(t, "rev", "viewer", other, sizeof(other));
	ta_login_ok(t, a, name);
	ta_login_ok(t, b, name);
	ta_login_ok(t, o, other);
	ta_me(b, me, sizeof(me));
	assert_string_equal(me, name);   /* b's principal is now cached in authd */

	ta_req(a, "GET", "/auth/sessions", NULL, NULL, 200, &resp);
	list = ta_json(&resp);
	assert_int_equal(json_array_size(list), 2);
	assert_non_null(json_string_value(json_object_get(json_array_get(list, 0), "created_at")));
	assert_non_null(json_object_get(json_array_get(list, 0), "last_accessed_at"));
	http_resp_free(&resp);
	ta_session_id(b, true, sid_b, sizeof(sid_b));
	ta_session_id(a, true, sid_a, sizeof(sid_a));
	ta_session_id(o, true, sid_o, sizeof(sid_o));
	assert_int_equal(strlen(sid_b), 36);

	snprintf(path, sizeof(path), "/auth/sessions/%s", sid_a);
	ta_req(a, "DELETE", path, NULL, HARNESS_CSRF, 400, &resp);   /* current */
	http_resp_free(&resp);
	snprintf(path, sizeof(path), "/auth/sessions/%s", sid_o);
	ta_req(a, "DELETE", path, NULL, HARNESS_CSRF, 403, &resp);   /* another user's */
	http_resp_free(&resp);
	ta_req(a, "DELETE", "/auth/sessions/00000000-0000-4000-8000-000000000000", NULL,
	    HARNESS_CSRF, 404, &resp);
	http_resp_free(&resp);
	snprintf(path, sizeof(path), "/auth/sessions/%s", sid_b);
	ta_req(a, "DELETE", path, NULL, HARNESS_CSRF, 200, &resp);
	http_resp_free(&resp);
	/* the very next request of b: refused, no waiting */
	ta_me(b, me, sizeof(me));
	assert_string_equal(me, "401");
	ta_me(a, me, sizeof(me));
	assert_string_equal(me, name);

	/* revoke the others: b logs in twice more, a ends both */
	ta_login_ok(t, b, name);
	ta_req(a, "DELETE", "/auth/sessions", NULL, HARNESS_CSRF, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "revoked")), 1);
	http_resp_free(&resp);
	ta_me(b, me, sizeof(me));
	assert_string_equal(me, "401");
	ta_me(a, me, sizeof(me));
	assert_string_equal(me, name);

	/* log out everywhere */
	ta_login_ok(t, b, name);
	ta_req(b, "POST", "/auth/logout/all", NULL, HARNESS_CSRF, 200, &resp);
	http_resp_free(&resp);
	ta_me(a, me, sizeof(me));
	assert_string_equal(me, "401");
	ta_me(b, me, sizeof(me));
	assert_string_equal(me, "401");
	ta_me(o, me, sizeof(me));
	assert_string_equal(me, other);
	http_client_free(&a);
	http_client_free(&b);
	http_client_free(&o);
}

static void
test_password_change(void **state)
{
	struct ta *t = *state;
	struct http_client *a = ta_client(t), *b = ta_client(t);
	struct http_resp resp = {0};
	char name[64], me[64];
	int64_t id = ta_user(t, "pw", "viewer", name, sizeof(name));
	bool ok;

	ta_login_ok(t, a, name);
	ta_login_ok(t, b, name);
	ta_req(a, "PATCH", "/api/users/me/password",
	    "{\"current_password\":\"nope-nope\",\"new_password\":\"new-password-1\"}", HARNESS_CSRF,
	    400, &resp);
	http_resp_free(&resp);
	ta_req(a, "PATCH", "/api/users/me/password",
	    "{\"current_password\":\"password-123\",\"new_password\":\"short\"}", HARNESS_CSRF, 400,
	    &resp);
	http_resp_free(&resp);
	ta_req(a, "PATCH", "/api/users/me/password",
	    "{\"current_password\":\"password-123\",\"new_password\":\"new-password-1\"}",
	    HARNESS_CSRF, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "revoked_sessions")), 1);
	http_resp_free(&resp);
	ta_me(b, me, sizeof(me));
	assert_string_equal(me, "401");
	ta_me(a, me, sizeof(me));
	assert_string_equal(me, name);
	assert_int_equal(ta_login(t, b, name, "password-123", NULL, &resp), 401);
	http_resp_free(&resp);
	assert_int_equal(ta_login(t, b, name, "new-password-1", NULL, &resp), 200);
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "password_changed", &ok, NULL, 0), 0);
	assert_true(ok);
	http_client_free(&a);
	http_client_free(&b);
}

/* ---- CSRF (decision 5) ---------------------------------------------------- */

static void
test_csrf(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char name[64], origin[160], me[64];
	const char *evil[] = {"Origin: http://evil.example", NULL};
	const char *evil_ref[] = {"Referer: http://evil.example/page", NULL};
	const char *same[] = {origin, NULL};

	snprintf(origin, sizeof(origin), "Origin: %s", harness_base_url(t->h));
	ta_user(t, "csrf", "viewer", name, sizeof(name));
	ta_login_ok(t, c, name);
	ta_req(c, "POST", "/auth/logout", NULL, NULL, 403, &resp);
	assert_non_null(strstr(resp.body, "CSRF"));
	http_resp_free(&resp);
	ta_req(c, "POST", "/auth/logout", NULL, evil, 403, &resp);
	http_resp_free(&resp);
	ta_req(c, "POST", "/auth/logout", NULL, evil_ref, 403, &resp);
	http_resp_free(&resp);
	ta_req(c, "PATCH", "/api/users/me/password",
	    "{\"current_password\":\"password-123\",\"new_password\":\"new-password-1\"}", evil, 403,
	    &resp);
	http_resp_free(&resp);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, name);   /* nothing happened */
	ta_req(c, "POST", "/auth/logout", NULL, same, 200, &resp);
	http_resp_free(&resp);
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, "401");
	http_client_free(&c);
}

/* ---- 2FA -------------------------------------------------------------------- */

static void
ta_totp_now(const char *secret, int offset_steps, char code[7])
{
	assert_int_equal(totp_generate(secret, time(NULL) + offset_steps * 30, code), 0);
}

static void
test_2fa(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t), *d = ta_client(t);
	struct http_resp resp = {0};
	char name[64], secret[64], code[7], body[256], rc_code[16], me[64];
	int64_t id = ta_user(t, "tfa", "viewer", name, sizeof(name));
	json_t *j, *codes;
	bool ok;

	ta_login_ok(t, c, name);
	ta_req(c, "GET", "/api/users/me/2fa/status", NULL, NULL, 200, &resp);
	assert_true(json_is_false(json_object_get(ta_json(&resp), "enabled")));
	http_resp_free(&resp);
	ta_req(c, "POST", "/api/users/me/2fa/setup", NULL, HARNESS_CSRF, 200, &resp);
	j = ta_json(&resp);
	snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "secret")));
	assert_int_equal(strlen(secret), 32);
	assert_non_null(strstr(json_string_value(json_object_get(j, "provisioning_uri")),
	    "otpauth://totp/Kubarr:"));
	http_resp_free(&resp);
	/* the stored secret is not the plaintext */
	ta_req(c, "POST", "/api/users/me/2fa/enable", "{\"code\":\"000000\"}", HARNESS_CSRF, 400,
	    &resp);
	http_resp_free(&resp);
	ta_totp_now(secret, 0, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	ta_req(c, "POST", "/api/users/me/2fa/enable", body, HARNESS_CSRF, 200, &resp);
	codes = json_object_get(ta_json(&resp), "recovery_codes");
	assert_int_equal(json_array_size(codes), 8);
	snprintf(rc_code, sizeof(rc_code), "%s", json_string_value(json_array_get(codes, 3)));
	assert_int_equal(strlen(rc_code), 10);
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "2fa_enabled", &ok, NULL, 0), 0);
	ta_req(c, "GET", "/api/users/me/2fa/status", NULL, NULL, 200, &resp);
	assert_true(json_is_true(json_object_get(ta_json(&resp), "enabled")));
	assert_non_null(json_string_value(json_object_get(ta_json(&resp), "verified_at")));
	http_resp_free(&resp);

	/* login needs the code */
	assert_int_equal(ta_login(t, d, name, "password-123", NULL, &resp), 400);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Two-factor authentication code required");
	http_resp_free(&resp);
	assert_int_equal(ta_login(t, d, name, "password-123", "123456", &resp) == 401 ||
	    strcmp(code, "123456") == 0, 1);
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "2fa_failed", &ok, NULL, 0), 0);
	assert_false(ok);
	ta_totp_now(secret, 0, code);
	assert_int_equal(ta_login(t, d, name, "password-123", code, &resp), 200);
	http_resp_free(&resp);
	ta_me(d, me, sizeof(me));
	assert_string_equal(me, name);

	/* a recovery code works once */
	snprintf(body, sizeof(body),
	    "{\"username\":\"%s\",\"password\":\"password-123\",\"recovery_code\":\"%s\"}", name,
	    rc_code);
	ta_req(d, "POST", "/auth/2fa/recover", body, NULL, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp),
	    "remaining_recovery_codes")), 7);
	http_resp_free(&resp);
	ta_req(d, "POST", "/auth/2fa/recover", body, NULL, 401, &resp);
	http_resp_free(&resp);
	ta_req(c, "GET", "/api/users/me/2fa/recovery-codes", NULL, NULL, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "remaining")), 7);
	http_resp_free(&resp);

	/* disable needs the password */
	ta_req(c, "POST", "/api/users/me/2fa/disable", "{\"password\":\"wrong-pass\"}", HARNESS_CSRF,
	    400, &resp);
	http_resp_free(&resp);
	ta_req(c, "POST", "/api/users/me/2fa/disable", "{\"password\":\"password-123\"}",
	    HARNESS_CSRF, 200, &resp);
	http_resp_free(&resp);
	assert_int_equal(ta_audit(t, id, "2fa_disabled", &ok, NULL, 0), 0);
	assert_int_equal(ta_login(t, d, name, "password-123", NULL, &resp), 200);
	http_resp_free(&resp);
	http_client_free(&c);
	http_client_free(&d);
}

static void
test_2fa_required_by_role(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	struct proto_role_create_req rq = {.name = "secure-ops", .requires_2fa = true,
	    .has_requires_2fa = true};
	struct proto_role_create_rep rr;
	struct proto_reply hold = {0};
	char name[64];

	assert_int_equal(proto_role_create_call_sync(t->sd, &rq, 3000, &rr, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	ta_user(t, "sec", "secure-ops", name, sizeof(name));
	assert_int_equal(ta_login(t, c, name, "password-123", NULL, &resp), 400);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Two-factor authentication setup required");
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- register and invites (decision 6) ----------------------------------- */

static void
ta_invite(struct ta *t, const char *code, const char *expires_at)
{
	struct proto_invite_create_req req = {.code = code};
	struct proto_invite_create_rep rep;
	struct proto_reply hold = {0};

	req.expires_at = expires_at;
	req.has_expires_at = expires_at != NULL;
	assert_int_equal(proto_invite_create_call_sync(t->sd, &req, 3000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
}

static long
ta_register(struct http_client *c, const char *name, const char *invite, const char *password,
    struct http_resp *resp)
{
	json_t *b = json_pack("{s:s, s:s, s:s}", "username", name, "email", name, "password",
	    password);
	char email[96], *text;

	snprintf(email, sizeof(email), "%s@example.org", name);
	json_object_set_new(b, "email", json_string(email));
	if (invite != NULL)
		json_object_set_new(b, "invite_code", json_string(invite));
	text = json_dumps(b, JSON_COMPACT);
	ta_req(c, "POST", "/auth/register", text, NULL, 0, resp);
	free(text);
	json_decref(b);
	return resp->status;
}

static void
test_register(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char me[64];

	ta_invite(t, "invite-good-0001", "2099-01-01T00:00:00.000Z");
	ta_invite(t, "invite-old-00001", "2001-01-01T00:00:00.000Z");
	ta_req(c, "GET", "/auth/invite/invite-good-0001", NULL, NULL, 200, &resp);
	assert_true(json_is_true(json_object_get(ta_json(&resp), "valid")));
	http_resp_free(&resp);
	ta_req(c, "GET", "/auth/invite/invite-old-00001", NULL, NULL, 200, &resp);
	assert_true(json_is_false(json_object_get(ta_json(&resp), "valid")));
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "status")), "expired");
	http_resp_free(&resp);
	ta_req(c, "GET", "/auth/invite/no-such-invite", NULL, NULL, 404, &resp);
	http_resp_free(&resp);

	assert_int_equal(ta_register(c, "invited1", "invite-good-0001", "short", &resp), 400);
	http_resp_free(&resp);
	assert_int_equal(ta_register(c, "invited1", "invite-good-0001", "password-123", &resp), 201);
	assert_true(json_is_true(json_object_get(ta_json(&resp), "is_approved")));
	http_resp_free(&resp);
	ta_login_ok(t, c, "invited1");
	ta_me(c, me, sizeof(me));
	assert_string_equal(me, "invited1");
	assert_int_equal(ta_register(c, "invited2", "invite-good-0001", "password-123", &resp), 400);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Invite already used");
	http_resp_free(&resp);
	assert_int_equal(ta_register(c, "invited3", "invite-old-00001", "password-123", &resp), 400);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Invite expired");
	http_resp_free(&resp);
	assert_int_equal(ta_register(c, "invited4", "invite-unknown-1", "password-123", &resp), 400);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Invalid invite code");
	http_resp_free(&resp);
	ta_req(c, "GET", "/auth/invite/invite-good-0001", NULL, NULL, 200, &resp);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "status")), "used");
	http_resp_free(&resp);

	/* without an invite: refused while registration is closed (the seed), then
	 * created pending approval once an admin opens it */
	assert_int_equal(ta_register(c, "walkin1", NULL, "password-123", &resp), 403);
	http_resp_free(&resp);
	{
		struct proto_setting_set_req sq = {.key = "registration_enabled", .value = "true"};
		struct proto_setting_set_rep sr;
		struct proto_reply hold = {0};

		assert_int_equal(proto_setting_set_call_sync(t->sd, &sq, 3000, &sr, &hold), PROTO_OK);
		proto_reply_fini(&hold);
	}
	assert_int_equal(ta_register(c, "walkin1", NULL, "password-123", &resp), 201);
	assert_true(json_is_false(json_object_get(ta_json(&resp), "is_approved")));
	http_resp_free(&resp);
	assert_int_equal(ta_login(t, c, "walkin1", "password-123", NULL, &resp), 401);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Account is pending approval");
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- bcrypt from the reference ------------------------------------------- */

static void
test_bcrypt_rehash(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	struct proto_user_create_req req = {0};
	struct proto_user_create_rep rep;
	struct proto_user_get_req gq = {0};
	struct proto_user_get_rep gr;
	struct proto_reply hold = {0};
	struct crypt_data cd;
	char salt[64];
	const char *roles[] = {"viewer"};

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$2b$", 8, NULL, 0, salt, sizeof(salt)));
	req.username = "legacy1";
	req.email = "legacy1@example.com";
	req.hashed_password = crypt_r("old-bcrypt-pw", salt, &cd);
	assert_non_null(req.hashed_password);
	assert_memory_equal(req.hashed_password, "$2b$", 4);
	req.is_active = req.is_approved = true;
	req.roles.v = roles;
	req.roles.n = 1;
	req.has_roles = true;
	assert_int_equal(proto_user_create_call_sync(t->sd, &req, 3000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(ta_login(t, c, "legacy1", "wrong-one", NULL, &resp), 401);
	http_resp_free(&resp);
	assert_int_equal(ta_login(t, c, "legacy1", "old-bcrypt-pw", NULL, &resp), 200);
	http_resp_free(&resp);
	/* rehashed to argon2id (USER_GET with secrets: the test runs as authd's uid) */
	gq.username = "legacy1";
	gq.has_username = true;
	gq.with_secrets = true;
	gq.has_with_secrets = true;
	assert_int_equal(proto_user_get_call_sync(t->sd, &gq, 3000, &gr, &hold), PROTO_OK);
	assert_memory_equal(gr.hashed_password, "$argon2id$", 10);
	proto_reply_fini(&hold);
	assert_int_equal(ta_login(t, c, "legacy1", "old-bcrypt-pw", NULL, &resp), 200);
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- permissions ------------------------------------------------------------- */

static void
test_permissions(void **state)
{
	struct ta *t = *state;
	struct http_client *c = ta_client(t);
	struct http_resp resp = {0};
	char name[64];

	ta_req(c, "GET", "/api/users/me", NULL, NULL, 401, &resp);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Not authenticated");
	http_resp_free(&resp);
	ta_req(c, "GET", "/api/audit", NULL, NULL, 401, &resp);
	http_resp_free(&resp);
	ta_user(t, "perm", "viewer", name, sizeof(name));
	ta_login_ok(t, c, name);
	ta_req(c, "GET", "/api/audit", NULL, NULL, 403, &resp);
	assert_string_equal(json_string_value(json_object_get(ta_json(&resp), "detail")),
	    "Permission denied: audit.view required");
	http_resp_free(&resp);
	ta_req(t->admin, "GET", "/api/audit?per_page=500", NULL, NULL, 400, &resp);
	assert_non_null(strstr(resp.body, "per_page"));
	http_resp_free(&resp);
	ta_req(t->admin, "GET", "/api/audit?per_page=5", NULL, NULL, 200, &resp);
	assert_int_equal(json_integer_value(json_object_get(ta_json(&resp), "per_page")), 5);
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- fixture ----------------------------------------------------------------- */

static int
ta_setup(void **state)
{
	struct ta *t = calloc(1, sizeof(*t));
	char url[512], *err = NULL;

	*state = t;
	ta_global = t;
	if (harness_start(&t->h) != 0 || totp_global_init() != 0)
		return -1;
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(t->h));
	if (ipc_client_open(&t->sd, url, 0, &err) != 0)
		return -1;
	for (long until = harness_now_ms() + 5000; !ipc_client_connected(t->sd) &&
	     harness_now_ms() < until;)
		usleep(5000);
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0)
		return -1;
	return 0;
}

static int
ta_teardown(void **state)
{
	struct ta *t = *state;
	int rc = 0;

	if (t->h != NULL && harness_finish(t->h) != 0)
		rc = -1;
	http_client_free(&t->admin);
	ipc_client_close(&t->sd);
	harness_free(&t->h);
	totp_global_done();
	ipc_fini();
	free(t);
	return rc;
}

static int
ta_begin(void **state)
{
	harness_test_begin(((struct ta *)*state)->h);
	return 0;
}

static int
ta_end(void **state)
{
	struct ta *t = *state;
	int rc = harness_test_pass(t->h);

	harness_test_end(t->h);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ta_begin, ta_end)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_login_and_me),
		T(test_login_failures),
		T(test_disable_drops_session),
		T(test_five_slots),
		T(test_revoke_other_jar),
		T(test_password_change),
		T(test_csrf),
		T(test_2fa),
		T(test_2fa_required_by_role),
		T(test_register),
		T(test_bcrypt_rehash),
		T(test_permissions),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("auth", tests, ta_setup, ta_teardown);
}
