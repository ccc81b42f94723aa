/*
 * test_setup.c: the first run through /api/setup (API.md section 4 Setup,
 * decisions 3, 12, 17), on the four real daemons with an empty data dir.
 *
 *   first_run   empty install -> required, status, generate-credentials,
 *               server (get, post), initialize -> POST /auth/login as the new
 *               admin; each answer's shape field by field; the audit entries
 *               user_created and system_setting_changed
 *   bad_input   400 for malformed JSON, a non-object body, wrong types,
 *               missing fields, a short password, a bad username or email, a
 *               relative or ".." storage path, initialize before /server, a
 *               body over KUBARR_HTTP_MAX_BODY_BYTES (413);
 *               nothing is written (still no admin, still no server)
 *   race        two POST /initialize at once: exactly one admin (the other
 *               answer is 409 or 403)
 *   sealed      once an admin exists: every setup route that changes or
 *               reveals anything answers 403 (required stays open and says
 *               setup_required false); an admin made outside setup seals too
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"

#define T_ADMIN "firstadmin"
#define T_EMAIL "first@example.org"
#define T_PASSWORD "a-good-password"

/* Every setup route but /required, with a harmless body. */
static const struct {
	const char *method, *path, *body;
} t_sealed_routes[] = {
	{"GET", "/api/setup/status", NULL},
	{"GET", "/api/setup/generate-credentials", NULL},
	{"POST", "/api/setup/validate-path?path=/", NULL},
	{"GET", "/api/setup/browse?path=/", NULL},
	{"GET", "/api/setup/server", NULL},
	{"POST", "/api/setup/server", "{\"name\":\"x\",\"storage_path\":\"/srv\"}"},
	{"POST", "/api/setup/initialize",
	    "{\"admin_username\":\"second\",\"admin_email\":\"s@example.org\","
	    "\"admin_password\":\"another-password\"}"},
	{"POST", "/api/setup/bootstrap/start", NULL},
	{"GET", "/api/setup/bootstrap/status", NULL},
	{"POST", "/api/setup/bootstrap/retry/database", NULL},
	{"GET", "/api/setup/bootstrap/ws", NULL},
};

static struct harness *
t_start(void)
{
	struct harness *h;

	if (harness_start(&h) != 0) {
		harness_print_log_tails(h, 40);
		fail_msg("daemons did not start");
	}
	return h;
}

static json_t *
t_json(struct http_resp *resp)
{
	json_t *j = http_resp_json(resp);

	if (j == NULL)
		fail_msg("not JSON: %.300s", resp->body);
	return j;
}

static void
t_bool(json_t *o, const char *key, int want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		fail_msg("field %s: not a boolean", key);
	if (want >= 0 && json_is_true(v) != want)
		fail_msg("field %s: %s, expected %s", key, json_is_true(v) ? "true" : "false",
		    want ? "true" : "false");
}

static const char *
t_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("field %s: not a string", key);
	return json_string_value(v);
}

/* 400 with a detail that contains `needle`. */
static void
t_bad(struct http_client *c, const char *method, const char *path, const char *body,
    const char *needle)
{
	struct http_resp resp = {0};
	const char *d;

	harness_expect(c, method, path, body, NULL, 400, &resp);
	d = t_str(t_json(&resp), "detail");
	if (needle != NULL && strstr(d, needle) == NULL)
		fail_msg("%s %s %s: detail '%s' does not name '%s'", method, path,
		    body ? body : "", d, needle);
	http_resp_free(&resp);
}

static void
t_expect_unsealed(struct http_client *c)
{
	struct http_resp resp = {0};
	json_t *j;

	harness_expect(c, "GET", "/api/setup/required", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	t_bool(j, "setup_required", 1);
	t_bool(j, "database_pending", 0);
	assert_int_equal(json_object_size(j), 2);
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/status", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	t_bool(j, "setup_required", 1);
	t_bool(j, "admin_user_exists", 0);
	t_bool(j, "bootstrap_complete", -1);
	t_bool(j, "server_configured", -1);
	t_bool(j, "storage_configured", -1);
	assert_int_equal(json_object_size(j), 5);
	http_resp_free(&resp);
}

static void
t_server_post(struct http_client *c, const char *name, const char *path)
{
	struct http_resp resp = {0};
	char body[512];
	json_t *j;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"storage_path\":\"%s\"}", name, path);
	harness_expect(c, "POST", "/api/setup/server", body, NULL, 200, &resp);
	j = t_json(&resp);
	assert_string_equal(t_str(j, "name"), name);
	assert_string_equal(t_str(j, "storage_path"), path);
	http_resp_free(&resp);
}

static void
t_initialize(struct http_client *c, json_int_t *id_r)
{
	struct http_resp resp = {0};
	json_t *j, *data, *user, *server;

	harness_expect(c, "POST", "/api/setup/initialize",
	    "{\"admin_username\":\"" T_ADMIN "\",\"admin_email\":\"" T_EMAIL "\","
	    "\"admin_password\":\"" T_PASSWORD "\"}", NULL, 200, &resp);
	j = t_json(&resp);
	t_bool(j, "success", 1);
	assert_true(strlen(t_str(j, "message")) > 0);
	data = json_object_get(j, "data");
	assert_true(json_is_object(data));
	user = json_object_get(data, "admin_user");
	server = json_object_get(data, "server");
	assert_true(json_is_object(user));
	assert_true(json_is_object(server));
	assert_true(json_is_integer(json_object_get(user, "id")));
	*id_r = json_integer_value(json_object_get(user, "id"));
	assert_string_equal(t_str(user, "username"), T_ADMIN);
	assert_string_equal(t_str(user, "email"), T_EMAIL);
	assert_string_equal(t_str(server, "name"), "media box");
	assert_string_equal(t_str(server, "storage_path"), "/srv/media");
	assert_null(strstr(resp.body, T_PASSWORD));
	http_resp_free(&resp);
}

/* ---- first_run ------------------------------------------------------------------ */

static void
test_first_run(void **state)
{
	struct harness *h = t_start();
	struct http_client *c, *admin;
	struct http_resp resp = {0};
	json_int_t id = 0;
	long st = 0;
	json_t *j, *logs, *roles;
	const char *pw;
	bool found;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	t_expect_unsealed(c);

	harness_expect(c, "GET", "/api/setup/generate-credentials", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	assert_string_equal(t_str(j, "admin_username"), "admin");
	assert_string_equal(t_str(j, "admin_email"), "admin@example.com");
	pw = t_str(j, "admin_password");
	assert_int_equal(strlen(pw), 32);
	assert_int_equal(strspn(pw, "0123456789abcdef"), 32);
	assert_int_equal(json_object_size(j), 3);
	http_resp_free(&resp);

	harness_expect(c, "GET", "/api/setup/server", NULL, NULL, 200, &resp);
	assert_string_equal(resp.body, "null");
	http_resp_free(&resp);
	/* an upsert: the second POST replaces the first; the path is normalised */
	t_server_post(c, "first name", "/srv/old");
	harness_expect(c, "POST", "/api/setup/server",
	    "{\"name\":\"media box\",\"storage_path\":\"/srv//media/\"}", NULL, 200, &resp);
	assert_string_equal(t_str(t_json(&resp), "storage_path"), "/srv/media");
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/server", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	assert_string_equal(t_str(j, "name"), "media box");
	assert_string_equal(t_str(j, "storage_path"), "/srv/media");
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/status", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	t_bool(j, "server_configured", 1);
	t_bool(j, "storage_configured", 1);
	t_bool(j, "admin_user_exists", 0);
	http_resp_free(&resp);

	t_initialize(c, &id);
	assert_true(id > 0);

	/* the new admin logs in with the password given to setup */
	assert_int_equal(harness_client_new(h, &admin), 0);
	assert_int_equal(harness_login(h, admin, T_ADMIN, T_PASSWORD, &st), 0);
	assert_int_equal(st, 200);
	harness_expect(admin, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	assert_string_equal(t_str(j, "username"), T_ADMIN);
	t_bool(j, "is_active", 1);
	t_bool(j, "is_approved", 1);
	roles = json_object_get(j, "roles");
	assert_true(json_is_array(roles));
	found = false;
	for (size_t i = 0; i < json_array_size(roles); i++) {
		json_t *r = json_array_get(roles, i);

		if ((json_is_string(r) && strcmp(json_string_value(r), "admin") == 0) ||
		    (json_is_object(r) && json_is_string(json_object_get(r, "name")) &&
		    strcmp(json_string_value(json_object_get(r, "name")), "admin") == 0))
			found = true;
	}
	assert_true(found);
	http_resp_free(&resp);
	/* a wrong password does not work */
	assert_int_not_equal(harness_login(h, c, T_ADMIN, "not-the-password", &st), 0);

	/* both audited */
	harness_expect(admin, "GET", "/api/audit?action=user_created", NULL, NULL, 200, &resp);
	logs = json_object_get(t_json(&resp), "logs");
	assert_int_equal(json_array_size(logs), 1);
	assert_string_equal(t_str(json_array_get(logs, 0), "resource_type"), "user");
	{
		char want[32];

		snprintf(want, sizeof(want), "%lld", (long long)id);
		assert_string_equal(t_str(json_array_get(logs, 0), "resource_id"), want);
	}
	http_resp_free(&resp);
	harness_expect(admin, "GET", "/api/audit?action=system_setting_changed", NULL, NULL, 200,
	    &resp);
	logs = json_object_get(t_json(&resp), "logs");
	assert_int_equal(json_array_size(logs), 1);
	assert_string_equal(t_str(json_array_get(logs, 0), "resource_id"), "storage_path");
	assert_non_null(strstr(resp.body, "/srv/media"));
	http_resp_free(&resp);

	http_client_free(&admin);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* ---- bad_input ------------------------------------------------------------------ */

static void
test_bad_input(void **state)
{
	struct harness *h = t_start();
	struct http_client *c;
	struct http_resp resp = {0};
	static const char ok_user[] = "\"admin_username\":\"boss\",\"admin_email\":\"b@example.org\"";

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);

	/* /server */
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"x\",", "Malformed JSON");
	t_bad(c, "POST", "/api/setup/server", "[1,2]", "JSON object");
	t_bad(c, "POST", "/api/setup/server", NULL, "body");
	t_bad(c, "POST", "/api/setup/server", "{\"storage_path\":\"/srv\"}", "'name'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"x\"}", "'storage_path'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":7,\"storage_path\":\"/srv\"}", "'name'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"x\",\"storage_path\":true}",
	    "'storage_path'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"\",\"storage_path\":\"/srv\"}", "'name'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"x\",\"storage_path\":\"srv/media\"}",
	    "'storage_path'");
	t_bad(c, "POST", "/api/setup/server", "{\"name\":\"x\",\"storage_path\":\"/srv/../etc\"}",
	    "'storage_path' must not contain '.' or '..'");
	harness_expect(c, "GET", "/api/setup/server", NULL, NULL, 200, &resp);
	assert_string_equal(resp.body, "null");   /* nothing written */
	http_resp_free(&resp);

	/* /initialize: body checks come before the server check */
	t_bad(c, "POST", "/api/setup/initialize", "{oops}", "Malformed JSON");
	t_bad(c, "POST", "/api/setup/initialize", "\"a string\"", "JSON");
	t_bad(c, "POST", "/api/setup/initialize",
	    "{\"admin_email\":\"b@example.org\",\"admin_password\":\"long-enough\"}",
	    "'admin_username'");
	t_bad(c, "POST", "/api/setup/initialize",
	    "{\"admin_username\":\"boss\",\"admin_password\":\"long-enough\"}", "'admin_email'");
	t_bad(c, "POST", "/api/setup/initialize", "{" "\"admin_username\":\"boss\","
	    "\"admin_email\":\"b@example.org\"}", "'admin_password'");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":\"boss\","
	    "\"admin_email\":\"b@example.org\",\"admin_password\":12345678}", "'admin_password'");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":[\"boss\"],"
	    "\"admin_email\":\"b@example.org\",\"admin_password\":\"long-enough\"}",
	    "'admin_username'");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":\"boss\","
	    "\"admin_email\":\"b@example.org\",\"admin_password\":\"short7!\"}", "at least 8");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":\"b\","
	    "\"admin_email\":\"b@example.org\",\"admin_password\":\"long-enough\"}",
	    "'admin_username'");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":\"bo ss\","
	    "\"admin_email\":\"b@example.org\",\"admin_password\":\"long-enough\"}",
	    "'admin_username'");
	t_bad(c, "POST", "/api/setup/initialize", "{\"admin_username\":\"boss\","
	    "\"admin_email\":\"no-at-sign\",\"admin_password\":\"long-enough\"}", "'admin_email'");
	{
		char body[256];

		/* a good body, but no server config yet */
		snprintf(body, sizeof(body), "{%s,\"admin_password\":\"long-enough\"}", ok_user);
		t_bad(c, "POST", "/api/setup/initialize", body, "POST /api/setup/server");
	}
	/* the query parameters */
	t_bad(c, "POST", "/api/setup/validate-path", NULL, "'path'");
	t_bad(c, "POST", "/api/setup/validate-path?path=relative", NULL, "absolute");
	t_bad(c, "POST", "/api/setup/validate-path?path=/a/../b", NULL, "'..'");
	t_bad(c, "GET", "/api/setup/browse?path=..", NULL, "absolute");
	t_bad(c, "GET", "/api/setup/browse?path=/./x", NULL, "'.'");

	{
		/* oversize: 413 before any handler runs */
		size_t n = 1100 * 1024;
		char *big = malloc(n + 64);

		assert_non_null(big);
		memcpy(big, "{\"admin_username\":\"", 19);
		memset(big + 19, 'a', n);
		strcpy(big + 19 + n, "\"}");
		harness_expect(c, "POST", "/api/setup/initialize", big, NULL, 413, &resp);
		http_resp_free(&resp);
		free(big);
	}
	/* nothing was written */
	t_expect_unsealed(c);
	harness_expect(c, "GET", "/api/setup/server", NULL, NULL, 200, &resp);
	assert_string_equal(resp.body, "null");
	http_resp_free(&resp);
	harness_expect(c, "POST", "/api/setup/bootstrap/retry/helm", NULL, NULL, 404, &resp);
	http_resp_free(&resp);

	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* ---- race ------------------------------------------------------------------------ */

struct t_racer {
	struct harness *h;
	const char *body;
	long status;
};

static void *
t_race_one(void *arg)
{
	struct t_racer *r = arg;
	struct http_client *c;
	struct http_resp resp = {0};

	if (harness_client_new(r->h, &c) != 0)
		return NULL;
	if (http_client_request(c, "POST", "/api/setup/initialize", r->body, NULL, &resp) == 0)
		r->status = resp.status;
	http_resp_free(&resp);
	http_client_free(&c);
	return NULL;
}

static void
test_race(void **state)
{
	struct harness *h = t_start();
	struct http_client *c;
	struct t_racer r[2] = {
		{h, "{\"admin_username\":\"alice\",\"admin_email\":\"a@example.org\","
		    "\"admin_password\":\"alice-password\"}", 0},
		{h, "{\"admin_username\":\"bob\",\"admin_email\":\"b@example.org\","
		    "\"admin_password\":\"bob-password\"}", 0},
	};
	pthread_t t[2];
	long st1 = 0, st2 = 0;
	int ok = 0;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	t_server_post(c, "media box", "/srv/media");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, t_race_one, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (r[i].status == 200)
			ok++;
		else if (r[i].status != 409 && r[i].status != 403)
			fail_msg("racer %d: status %ld", i, r[i].status);
	}
	assert_int_equal(ok, 1);
	/* exactly the winner can log in */
	assert_int_equal((harness_login(h, c, "alice", "alice-password", &st1) == 0) +
	    (harness_login(h, c, "bob", "bob-password", &st2) == 0), 1);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* ---- sealed --------------------------------------------------------------------- */

static void
t_expect_sealed(struct harness *h, struct http_client *c)
{
	struct http_resp resp = {0};
	json_t *j;

	for (size_t i = 0; i < sizeof(t_sealed_routes) / sizeof(t_sealed_routes[0]); i++) {
		harness_expect(c, t_sealed_routes[i].method, t_sealed_routes[i].path,
		    t_sealed_routes[i].body, NULL, 403, &resp);
		assert_true(strlen(t_str(t_json(&resp), "detail")) > 0);
		http_resp_free(&resp);
	}
	harness_expect(c, "GET", "/api/setup/required", NULL, NULL, 200, &resp);
	j = t_json(&resp);
	t_bool(j, "setup_required", 0);
	t_bool(j, "database_pending", 0);
	http_resp_free(&resp);
	(void)h;
}

static void
test_sealed(void **state)
{
	struct harness *h = t_start();
	struct http_client *c, *other;
	struct http_resp resp = {0};
	json_int_t id;
	long st;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	t_server_post(c, "media box", "/srv/media");
	t_initialize(c, &id);
	t_expect_sealed(h, c);
	/* a second client (no cookies at all) is sealed out too */
	assert_int_equal(harness_client_new(h, &other), 0);
	t_expect_sealed(h, other);
	/* the refused initialize created nobody */
	assert_int_not_equal(harness_login(h, other, "second", "another-password", &st), 0);
	/* still the server config setup stored */
	assert_int_equal(harness_login(h, other, T_ADMIN, T_PASSWORD, &st), 0);
	harness_expect(other, "GET", "/api/users/me", NULL, NULL, 200, &resp);
	http_resp_free(&resp);
	http_client_free(&other);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* An admin created some other way (the CLI, an import) seals setup as well. */
static void
test_sealed_by_other_admin(void **state)
{
	struct harness *h = t_start();
	struct http_client *c;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	t_expect_sealed(h, c);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_run),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_sealed_by_other_admin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
