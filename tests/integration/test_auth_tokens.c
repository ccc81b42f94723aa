/*
 * test_auth_tokens.c: the hostile and operational side of authd.
 *
 *   forged     alg none, HMAC signed with the public key, another key,
 *              expired, malformed, a valid signature for an unknown session
 *   restart    authd restarted while logged in: still logged in; killed:
 *              503 + Retry-After at once; back: works; cache hits in STATS
 *   throttle   growing delays, 429 + Retry-After, audited, then expiry
 *   nocache    KUBARR_AUTH_CACHE_MAX=0 still works (every request misses)
 *   cli        create-admin and reset-password
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "harness_auth.h"
#include "ipc.h"
#include "token.h"

static struct ipc_client *
tt_ipc(struct harness *h, const char *name)
{
	struct ipc_client *c = NULL;
	char url[512], *err = NULL;

	snprintf(url, sizeof(url), "ipc://%s/%s.ipc", harness_runtime_dir(h), name);
	assert_int_equal(ipc_client_open(&c, url, 0, &err), 0);
	for (long until = harness_now_ms() + 5000; !ipc_client_connected(c) &&
	     harness_now_ms() < until;)
		usleep(5000);
	return c;
}

static char *
tt_setting(struct harness *h, const char *key)
{
	struct ipc_client *c = tt_ipc(h, "storaged");
	struct proto_setting_get_secret_req req = {.key = key};
	struct proto_setting_get_secret_rep rep;
	struct proto_reply hold = {0};
	char *v;

	assert_int_equal(proto_setting_get_secret_call_sync(c, &req, 3000, &rep, &hold), PROTO_OK);
	v = strdup(rep.value);
	proto_reply_fini(&hold);
	ipc_client_close(&c);
	return v;
}

static char *
tt_b64(const void *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(len);

	sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* header.payload.<sig> with an HMAC-SHA256 over it keyed by `key`, or an
 * empty signature when key is NULL. */
static char *
tt_hand_token(const char *header, const char *payload, const char *key)
{
	char *h = tt_b64(header, strlen(header)), *p = tt_b64(payload, strlen(payload));
	char *signing, *sig = strdup(""), *out;
	size_t n;

	n = strlen(h) + strlen(p) + 2;
	signing = malloc(n);
	snprintf(signing, n, "%s.%s", h, p);
	if (key != NULL) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
		crypto_auth_hmacsha256_final(&st, mac);
		free(sig);
		sig = tt_b64(mac, sizeof(mac));
	}
	n = strlen(signing) + strlen(sig) + 2;
	out = malloc(n);
	snprintf(out, n, "%s.%s", signing, sig);
	free(h);
	free(p);
	free(signing);
	free(sig);
	return out;
}

/* GET /api/users/me with only `token` as the slot-0 cookie. */
static long
tt_me_with(struct harness *h, const char *token)
{
	struct http_client *c = NULL;
	struct http_resp resp = {0};
	char *cookie;
	const char *hdr[2];
	long st;
	size_t n = strlen(token) + 64;

	cookie = malloc(n);
	snprintf(cookie, n, "Cookie: kubarr_session_0=%s", token);
	hdr[0] = cookie;
	hdr[1] = NULL;
	assert_int_equal(harness_client_new(h, &c), 0);
	harness_expect(c, "GET", "/api/users/me", NULL, hdr, 0, &resp);
	st = resp.status;
	http_resp_free(&resp);
	http_client_free(&c);
	free(cookie);
	return st;
}

/* The sid of client c's current session. */
static void
tt_sid(struct http_client *c, char *out, size_t len)
{
	struct http_resp resp = {0};
	size_t i;
	json_t *e;

	harness_expect(c, "GET", "/auth/sessions", NULL, NULL, 200, &resp);
	json_array_foreach(http_resp_json(&resp), i, e)
		if (json_is_true(json_object_get(e, "is_current")))
			snprintf(out, len, "%s", json_string_value(json_object_get(e, "id")));
	http_resp_free(&resp);
}

static int
tt_start(void **state, const char *const *env)
{
	struct harness *h = NULL;

	*state = NULL;
	if (harness_init(&h) != 0)
		return -1;
	*state = h;
	for (size_t i = 0; env != NULL && env[i] != NULL; i += 2)
		if (harness_setenv(h, env[i], env[i + 1]) != 0)
			return -1;
	return harness_launch(h);
}

static int
tt_setup(void **state)
{
	return tt_start(state, NULL);
}

static int
tt_teardown(void **state)
{
	struct harness *h = *state;
	int rc = h != NULL && harness_finish(h) == 0 ? 0 : -1;

	harness_free(&h);
	return rc;
}

/* ---- forged tokens ----------------------------------------------------------- */

static void
test_forged_tokens(void **state)
{
	struct harness *h = *state;
	struct http_client *c = NULL;
	struct token_keys real = {0}, other = {0};
	char sid[64], payload[256], *tok, *err = NULL;
	int64_t now = time(NULL);

	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	tt_sid(c, sid, sizeof(sid));
	assert_int_equal(strlen(sid), 36);
	real.private_pem = tt_setting(h, "jwt_private_key");
	real.public_pem = tt_setting(h, "jwt_public_key");

	/* control: a token we sign with the real key for the live session works */
	tok = token_sign(&real, sid, now, now + 600);
	assert_int_equal(tt_me_with(h, tok), 200);
	free(tok);

	snprintf(payload, sizeof(payload), "{\"sid\":\"%s\",\"iat\":%lld,\"exp\":%lld}", sid,
	    (long long)now, (long long)now + 600);
	tok = tt_hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL);
	assert_int_equal(tt_me_with(h, tok), 401);
	free(tok);
	tok = tt_hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, real.public_pem);
	assert_int_equal(tt_me_with(h, tok), 401);
	free(tok);
	tok = tt_hand_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, real.public_pem);
	assert_int_equal(tt_me_with(h, tok), 401);   /* right alg, HMAC signature */
	free(tok);

	assert_int_equal(token_keys_generate(&other, &err), 0);
	tok = token_sign(&other, sid, now, now + 600);
	assert_int_equal(tt_me_with(h, tok), 401);
	free(tok);
	tok = token_sign(&real, sid, now - 7200, now - 3600);
	assert_int_equal(tt_me_with(h, tok), 401);   /* expired */
	free(tok);
	tok = token_sign(&real, "0b1e7d8e-1111-4222-8333-444455556666", now, now + 600);
	assert_int_equal(tt_me_with(h, tok), 401);   /* no such session */
	free(tok);
	assert_int_equal(tt_me_with(h, "not-a-token"), 401);
	assert_int_equal(tt_me_with(h, "a.b.c"), 401);
	assert_int_equal(tt_me_with(h, "eyJhbGciOiJSUzI1NiJ9..."), 401);
	token_keys_free(&real);
	token_keys_free(&other);
	http_client_free(&c);
}

/* ---- restart and kill ---------------------------------------------------------- */

static int64_t
tt_stat(struct harness *h, const char *daemon, const char *key)
{
	struct ipc_client *c = tt_ipc(h, daemon);
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold = {0};
	int64_t v = -1;

	assert_int_equal(proto_stats_call_sync(c, &req, 3000, &rep, &hold), PROTO_OK);
	for (size_t i = 0; i < rep.counters.n; i++)
		if (strcmp(rep.counters.v[i].key, key) == 0)
			v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	ipc_client_close(&c);
	return v;
}

static void
test_restart_and_kill(void **state)
{
	struct harness *h = *state;
	struct http_client *c = NULL;
	struct http_resp resp = {0};
	int64_t hits;

	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	http_resp_free(&resp);
	/* The login's own events (session created) may reach authd after that
	 * first miss and veto caching its answer (the invalidation generation):
	 * then the next request caches it.  A hit must come within a few. */
	hits = tt_stat(h, "authd", "cache_hits");
	for (int i = 0; i < 5 && tt_stat(h, "authd", "cache_hits") <= hits; i++) {
		harness_expect(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
		http_resp_free(&resp);
	}
	assert_true(tt_stat(h, "authd", "cache_hits") > hits);

	/* SIGTERM + start: the session lives in storaged, the key too */
	assert_int_equal(harness_kill(h, "authd", SIGTERM), 0);
	assert_int_equal(harness_restart(h, "authd"), 0);
	assert_int_equal(harness_wait_http_status(h, "/api/system/ready", 200, 10000, NULL), 0);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	http_resp_free(&resp);

	/* kill -9: a fast 503 naming authd, then back */
	assert_int_equal(harness_kill(h, "authd", SIGKILL), 0);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 503, &resp);
	assert_true(resp.elapsed_ms < 1000);
	assert_non_null(http_resp_header(&resp, "Retry-After"));
	assert_non_null(strstr(resp.body, "authd"));
	http_resp_free(&resp);
	assert_int_equal(harness_restart(h, "authd"), 0);
	assert_int_equal(harness_wait_http_status(h, "/api/system/ready", 200, 10000, NULL), 0);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- throttling (decision 4) ------------------------------------------------------ */

static int
tt_throttle_setup(void **state)
{
	static const char *const env[] = {"KUBARR_AUTH_THROTTLE_FREE", "2",
	    "KUBARR_AUTH_THROTTLE_BASE_MS", "1000", "KUBARR_AUTH_THROTTLE_MAX_S", "2", NULL};

	return tt_start(state, env);
}

static long
tt_login(struct http_client *c, const char *user, const char *pw, struct http_resp *resp)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	harness_expect(c, "POST", "/auth/login", body, NULL, 0, resp);
	return resp->status;
}

static void
test_throttle(void **state)
{
	struct harness *h = *state;
	struct http_client *c = NULL, *admin = NULL;
	struct http_resp resp = {0};
	int64_t id = 0;
	long t0;
	int tries;

	assert_int_equal(harness_create_user(h, "target", "password-123", "viewer", &id), 0);
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(tt_login(c, "target", "bad-1", &resp), 401);   /* free */
	http_resp_free(&resp);
	assert_int_equal(tt_login(c, "target", "bad-2", &resp), 401);   /* free */
	http_resp_free(&resp);
	assert_int_equal(tt_login(c, "target", "bad-3", &resp), 401);   /* locks 1 s */
	http_resp_free(&resp);
	t0 = harness_now_ms();
	/* even the right password is refused while locked */
	assert_int_equal(tt_login(c, "target", "password-123", &resp), 429);
	assert_non_null(http_resp_header(&resp, "Retry-After"));
	assert_true(atoi(http_resp_header(&resp, "Retry-After")) >= 1);
	assert_non_null(strstr(resp.body, "Too many"));
	http_resp_free(&resp);
	/* the lock ends by itself */
	for (tries = 0; tries < 40; tries++) {
		usleep(100000);
		if (tt_login(c, "target", "password-123", &resp) == 200)
			break;
		assert_int_equal(resp.status, 429);
		http_resp_free(&resp);
	}
	assert_int_equal(resp.status, 200);
	http_resp_free(&resp);
	assert_true(harness_now_ms() - t0 >= 500);
	/* audited, with the reason */
	assert_int_equal(harness_client_new(h, &admin), 0);
	assert_int_equal(harness_login_admin(h, admin), 0);
	{
		char path[128];

		/* throttled attempts are refused before the user is looked up: by name */
		snprintf(path, sizeof(path), "/api/audit?action=login_failed&search=throttled");
		(void)id;
		harness_expect(admin, "GET", path, NULL, NULL, 200, &resp);
		assert_true(json_integer_value(json_object_get(http_resp_json(&resp), "total")) >= 1);
		http_resp_free(&resp);
	}
	http_client_free(&c);
	http_client_free(&admin);
}

/* ---- cache off -------------------------------------------------------------------- */

static int
tt_nocache_setup(void **state)
{
	static const char *const env[] = {"KUBARR_AUTH_CACHE_MAX", "0", NULL};

	return tt_start(state, env);
}

static void
test_nocache(void **state)
{
	struct harness *h = *state;
	struct http_client *c = NULL;
	struct http_resp resp = {0};
	char sid[64], path[128];

	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	for (int i = 0; i < 3; i++) {
		harness_expect(c, "GET", "/api/users/me", NULL, NULL, 200, &resp);
		http_resp_free(&resp);
	}
	assert_int_equal(tt_stat(h, "authd", "cache_hits"), 0);
	assert_true(tt_stat(h, "authd", "cache_misses") >= 3);
	assert_int_equal(tt_stat(h, "authd", "cache_size"), 0);
	tt_sid(c, sid, sizeof(sid));
	snprintf(path, sizeof(path), "/auth/sessions/%s", sid);
	harness_expect(c, "POST", "/auth/logout", NULL, HARNESS_CSRF, 200, &resp);
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 401, &resp);
	http_resp_free(&resp);
	http_client_free(&c);
}

/* ---- operator commands -------------------------------------------------------------- */

static char *
tt_password_line(const char *out)
{
	const char *p = strstr(out, "password: ");
	char *s;

	assert_non_null(p);
	s = strdup(p + 10);
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

static void
test_cli(void **state)
{
	struct harness *h = *state;
	struct harness_run_result r = {0};
	struct http_client *c = NULL;
	struct http_resp resp = {0};
	const char *create[] = {"create-admin", "--username", "ops", "--email", "ops@example.com", NULL};
	const char *bad[] = {"create-admin", "--username", "ops2", NULL};
	const char *reset[] = {"reset-password", "--username", "ops", NULL};
	const char *missing[] = {"reset-password", "--username", "nobody-here", NULL};
	char *pw, *pw2;

	assert_int_equal(harness_run(h, "authd", create, 15000, &r), 0);
	assert_true(WIFEXITED(r.wait_status));
	assert_int_equal(WEXITSTATUS(r.wait_status), 0);
	pw = tt_password_line(r.out);
	assert_true(strlen(pw) >= 16);
	harness_run_result_free(&r);
	assert_int_equal(harness_run(h, "authd", create, 15000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 1);   /* exists */
	assert_non_null(strstr(r.err, "conflict"));
	harness_run_result_free(&r);
	assert_int_equal(harness_run(h, "authd", bad, 15000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 2);   /* usage */
	harness_run_result_free(&r);

	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(tt_login(c, "ops", pw, &resp), 200);
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/audit?per_page=1", NULL, NULL, 200, &resp);   /* an admin */
	http_resp_free(&resp);

	assert_int_equal(harness_run(h, "authd", reset, 15000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 0);
	pw2 = tt_password_line(r.out);
	harness_run_result_free(&r);
	harness_expect(c, "GET", "/api/users/me", NULL, NULL, 401, &resp);   /* sessions ended */
	http_resp_free(&resp);
	assert_int_equal(tt_login(c, "ops", pw, &resp), 401);
	http_resp_free(&resp);
	assert_int_equal(tt_login(c, "ops", pw2, &resp), 200);
	http_resp_free(&resp);
	assert_int_equal(harness_run(h, "authd", missing, 15000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 1);
	harness_run_result_free(&r);
	free(pw);
	free(pw2);
	http_client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forged_tokens, tt_setup, tt_teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_kill, tt_setup, tt_teardown),
		cmocka_unit_test_setup_teardown(test_throttle, tt_throttle_setup, tt_teardown),
		cmocka_unit_test_setup_teardown(test_nocache, tt_nocache_setup, tt_teardown),
		cmocka_unit_test_setup_teardown(test_cli, tt_setup, tt_teardown),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (sodium_init() < 0)
		return 1;
	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("auth_tokens", tests, NULL, NULL);
}
