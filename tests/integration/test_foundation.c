/*
 * test_foundation.c: the foundation contract of the four daemons, checked
 * against the real binaries over real sockets and real HTTP.
 *
 *   cli        --help / --version / --check-config / unknown flag, per binary
 *   routes     health, version, system health, readiness, 404, 405
 *              (one shared set of daemons for the whole group)
 *   lifecycle  kill -9 of each backend: fast 503 + Retry-After naming it,
 *              gateway keeps serving, recovers after a restart of the backend
 *              alone; SIGTERM: exit 0 within 2 s, with STOPPING=1
 *
 * Every test ends with the sanitizer scan of the daemon logs.
 * KUBARR_TEST_FILTER=<glob> runs only the matching tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "harness.h"

#define TEST_CLI_TIMEOUT_MS 5000
#define TEST_STOP_BUDGET_MS 2000      /* SIGTERM -> exit, per the contract */
/* backend READY -> /ready == 200.  Usually tens of ms; up to ~6 s when a
 * client's handshake was cut and nng 1.5.2 stalled the listener, which the
 * server's monitor detects (3 missed probes) and repairs (common/ipc.c). */
#define TEST_RECOVER_BUDGET_MS 9000
#define TEST_DEAD_PROBES 3

static const char *const test_backends[] = { "storaged", "authd", "metricsd" };
#define TEST_BACKEND_COUNT (sizeof(test_backends) / sizeof(test_backends[0]))

/* ---- helpers ---------------------------------------------------------- */

static void test_request(struct harness *h, const char *method,
			 const char *path, struct http_resp *resp)
{
	if (harness_http(h, method, path, NULL, NULL, resp) < 0)
		fail_msg("%s %s: no HTTP response: %s", method, path,
			 resp->error);
}

static void test_expect_status(const struct http_resp *resp, long status,
			       const char *what)
{
	if (resp->status != status)
		fail_msg("%s: status %ld, expected %ld; body: %.500s", what,
			 resp->status, status, resp->body);
}

static json_t *test_expect_json_object(struct http_resp *resp,
				       const char *what)
{
	json_t *json;

	if (!http_resp_content_type_is(resp, "application/json")) {
		const char *ct = http_resp_header(resp, "Content-Type");

		fail_msg("%s: Content-Type \"%s\", expected application/json",
			 what, ct != NULL ? ct : "(none)");
	}
	json = http_resp_json(resp);
	if (json == NULL || !json_is_object(json))
		fail_msg("%s: body is not a JSON object: %.500s", what,
			 resp->body);
	return json;
}

static const char *test_expect_string(json_t *obj, const char *key,
				      const char *what)
{
	json_t *value = json_object_get(obj, key);

	if (!json_is_string(value))
		fail_msg("%s: \"%s\" missing or not a string", what, key);
	return json_string_value(value);
}

static void test_expect_bool(json_t *obj, const char *key, const char *what)
{
	if (!json_is_boolean(json_object_get(obj, key)))
		fail_msg("%s: \"%s\" missing or not a boolean", what, key);
}

/* An error answer: the status, a JSON body, a "detail" string. */
static const char *test_expect_error(struct http_resp *resp, long status,
				     const char *what)
{
	json_t *json;

	test_expect_status(resp, status, what);
	json = test_expect_json_object(resp, what);
	return test_expect_string(json, "detail", what);
}

/* Retry-After as delta-seconds (RFC 9110 also allows a date; we send ints). */
static void test_expect_retry_after(const struct http_resp *resp,
				    const char *what)
{
	const char *value = http_resp_header(resp, "Retry-After");

	if (value == NULL || value[0] == '\0')
		fail_msg("%s: no Retry-After header", what);
	for (const char *c = value; *c != '\0'; c++) {
		if (!isdigit((unsigned char)*c))
			fail_msg("%s: Retry-After \"%s\" is not delta-seconds",
				 what, value);
	}
}

/* 1 if the comma-separated header value lists `token`. */
static int test_list_has(const char *list, const char *token)
{
	size_t len = strlen(token);

	for (const char *p = list; *p != '\0';) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncasecmp(p, token, len) == 0 &&
		    (p[len] == '\0' || p[len] == ',' || p[len] == ' '))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

static void test_expect_health_ok(struct harness *h)
{
	struct http_resp resp;

	test_request(h, "GET", "/api/health", &resp);
	test_expect_status(&resp, 200, "GET /api/health");
	assert_string_equal(resp.body, "OK");
	http_resp_free(&resp);
}

static void test_expect_all_ready(struct harness *h)
{
	struct http_resp resp;
	json_t *json, *components;

	test_request(h, "GET", "/api/system/ready", &resp);
	test_expect_status(&resp, 200, "GET /api/system/ready");
	json = test_expect_json_object(&resp, "GET /api/system/ready");
	assert_string_equal(test_expect_string(json, "status", "ready"),
			    "ready");
	components = json_object_get(json, "components");
	assert_true(json_is_object(components));
	assert_int_equal(json_object_size(components), TEST_BACKEND_COUNT);
	for (size_t i = 0; i < TEST_BACKEND_COUNT; i++)
		assert_string_equal(test_expect_string(components,
			test_backends[i], "ready components"), "ok");
	http_resp_free(&resp);
}

/* ---- cli: no daemons running, only one-shot invocations --------------- */

static int test_cli_setup(void **state)
{
	struct harness *h;

	if (harness_init(&h) < 0) {
		harness_free(&h);
		return -1;
	}
	*state = h;
	return 0;
}

static int test_cli_teardown(void **state)
{
	struct harness *h = *state;

	harness_free(&h);
	return 0;
}

static void test_cli_expect_exit(const struct harness_run_result *r,
				 int code, const char *what)
{
	if (r->timed_out)
		fail_msg("%s: still running after %d ms", what,
			 TEST_CLI_TIMEOUT_MS);
	if (!WIFEXITED(r->wait_status) ||
	    WEXITSTATUS(r->wait_status) != code)
		fail_msg("%s: wait status 0x%x, expected exit %d\n"
			 "stdout: %.800s\nstderr: %.800s", what,
			 (unsigned)r->wait_status, code, r->out, r->err);
}

static void test_cli_run(struct harness *h, const char *name,
			 const char *arg, int code, const char *what,
			 struct harness_run_result *r)
{
	const char *args[] = { arg, NULL };
	char label[128];

	snprintf(label, sizeof(label), "kubarr-%s %s (%s)", name, arg, what);
	assert_int_equal(harness_run(h, name, args, TEST_CLI_TIMEOUT_MS, r),
			 0);
	test_cli_expect_exit(r, code, label);
}

static void test_cli(struct harness *h, const char *name)
{
	static const char *const common_vars[] = {
		"KUBARR_DATA_DIR", "KUBARR_RUNTIME_DIR",
		"KUBARR_IPC_TIMEOUT_MS", "KUBARR_LOG_LEVEL", NULL,
	};
	int is_gateway = strcmp(name, "gateway") == 0;
	struct harness_run_result r;
	char prefix[64];
	size_t plen;

	test_cli_run(h, name, "--help", 0, "help", &r);
	for (int i = 0; common_vars[i] != NULL; i++) {
		if (strstr(r.out, common_vars[i]) == NULL)
			fail_msg("kubarr-%s --help: stdout does not mention "
				 "%s:\n%.1500s", name, common_vars[i], r.out);
	}
	if (is_gateway && strstr(r.out, "KUBARR_HTTP_ADDR") == NULL)
		fail_msg("kubarr-gateway --help does not mention "
			 "KUBARR_HTTP_ADDR");
	harness_run_result_free(&r);

	test_cli_run(h, name, "--version", 0, "version", &r);
	plen = (size_t)snprintf(prefix, sizeof(prefix), "kubarr-%s ", name);
	if (strncmp(r.out, prefix, plen) != 0 ||
	    !isdigit((unsigned char)r.out[plen]))
		fail_msg("kubarr-%s --version: \"%.200s\", expected "
			 "\"%s<version> ...\"", name, r.out, prefix);
	harness_run_result_free(&r);

	/* The harness environment is a valid configuration. */
	test_cli_run(h, name, "--check-config", 0, "valid env", &r);
	if (strstr(r.out, harness_data_dir(h)) == NULL &&
	    strstr(r.err, harness_data_dir(h)) == NULL)
		fail_msg("kubarr-%s --check-config does not print the "
			 "effective KUBARR_DATA_DIR (%s):\nstdout: %.800s\n"
			 "stderr: %.800s", name, harness_data_dir(h), r.out,
			 r.err);
	harness_run_result_free(&r);

	assert_int_equal(harness_setenv(h, "KUBARR_IPC_TIMEOUT_MS", "abc"), 0);
	test_cli_run(h, name, "--check-config", 2,
		     "KUBARR_IPC_TIMEOUT_MS=abc", &r);
	harness_run_result_free(&r);
	assert_int_equal(harness_setenv(h, "KUBARR_IPC_TIMEOUT_MS", "1500"), 0);

	assert_int_equal(harness_setenv(h, "KUBARR_LOG_LEVEL", "loud"), 0);
	test_cli_run(h, name, "--check-config", 2, "KUBARR_LOG_LEVEL=loud",
		     &r);
	harness_run_result_free(&r);
	assert_int_equal(harness_setenv(h, "KUBARR_LOG_LEVEL", "info"), 0);

	if (is_gateway) {
		const char *addr = harness_getenv(h, "KUBARR_HTTP_ADDR");
		char *saved = strdup(addr);

		assert_non_null(saved);
		assert_int_equal(harness_setenv(h, "KUBARR_HTTP_ADDR",
						"nonsense"), 0);
		test_cli_run(h, name, "--check-config", 2,
			     "KUBARR_HTTP_ADDR=nonsense", &r);
		harness_run_result_free(&r);
		assert_int_equal(harness_setenv(h, "KUBARR_HTTP_ADDR", saved),
				 0);
		free(saved);
	}

	test_cli_run(h, name, "--no-such-flag", 2, "unknown flag", &r);
	harness_run_result_free(&r);

	assert_int_equal(harness_finish(h), 0);
}

static void test_cli_storaged(void **state)
{
	test_cli(*state, "storaged");
}

static void test_cli_authd(void **state)
{
	test_cli(*state, "authd");
}

static void test_cli_metricsd(void **state)
{
	test_cli(*state, "metricsd");
}

static void test_cli_gateway(void **state)
{
	test_cli(*state, "gateway");
}

/* ---- routes: one set of daemons shared by the group ------------------- */

static int test_routes_group_setup(void **state)
{
	struct harness *h;

	if (harness_start(&h) < 0) {
		harness_free(&h);
		return -1;
	}
	*state = h;
	return 0;
}

static int test_routes_group_teardown(void **state)
{
	struct harness *h = *state;
	int rc;

	if (h == NULL)      /* cmocka calls this even when set-up failed */
		return 0;
	/* a failure here also fails the binary at exit (harness.c): cmocka
	 * does not count a failed group teardown */
	rc = harness_finish(h);
	harness_free(&h);
	return rc;
}

static int test_routes_setup(void **state)
{
	harness_test_begin(*state);
	return 0;
}

static int test_routes_teardown(void **state)
{
	harness_test_end(*state);
	return 0;
}

static void test_route_health(void **state)
{
	struct harness *h = *state;
	struct http_resp resp;

	test_request(h, "GET", "/api/health", &resp);
	test_expect_status(&resp, 200, "GET /api/health");
	assert_true(http_resp_content_type_is(&resp, "text/plain"));
	assert_string_equal(resp.body, "OK");
	http_resp_free(&resp);
	assert_int_equal(harness_test_pass(h), 0);
}

static void test_route_version(void **state)
{
	static const char *const fields[] = {
		"version", "channel", "commit_hash", "build_time", NULL,
	};
	static const char *const version_args[] = { "--version", NULL };
	struct harness *h = *state;
	struct harness_run_result run;
	struct http_resp resp;
	const char *version;
	json_t *json, *rust;

	test_request(h, "GET", "/api/system/version", &resp);
	test_expect_status(&resp, 200, "GET /api/system/version");
	json = test_expect_json_object(&resp, "GET /api/system/version");
	for (int i = 0; fields[i] != NULL; i++) {
		const char *value = test_expect_string(json, fields[i],
						       "version");

		if (value[0] == '\0')
			fail_msg("version: \"%s\" is empty", fields[i]);
	}
	/* Kept for API compatibility with the Rust backend. */
	rust = json_object_get(json, "rust_version");
	if (rust == NULL || !(json_is_string(rust) || json_is_null(rust)))
		fail_msg("version: \"rust_version\" missing or not a string");
	assert_string_equal(test_expect_string(json, "backend", "version"),
			    "c");

	/* Same version as the binary reports. */
	version = test_expect_string(json, "version", "version");
	assert_int_equal(harness_run(h, "gateway", version_args,
				     TEST_CLI_TIMEOUT_MS, &run), 0);
	if (strstr(run.out, version) == NULL)
		fail_msg("API version \"%s\" not in --version output \"%s\"",
			 version, run.out);
	harness_run_result_free(&run);
	http_resp_free(&resp);
	assert_int_equal(harness_test_pass(h), 0);
}

static void test_route_system_health(void **state)
{
	struct harness *h = *state;
	struct http_resp resp;
	json_t *json;

	test_request(h, "GET", "/api/system/health", &resp);
	test_expect_status(&resp, 200, "GET /api/system/health");
	json = test_expect_json_object(&resp, "GET /api/system/health");
	assert_string_equal(test_expect_string(json, "status", "health"),
			    "ok");
	test_expect_bool(json, "ready", "health");
	test_expect_bool(json, "setup_required", "health");
	http_resp_free(&resp);
	assert_int_equal(harness_test_pass(h), 0);
}

static void test_route_ready(void **state)
{
	struct harness *h = *state;

	test_expect_all_ready(h);
	assert_int_equal(harness_test_pass(h), 0);
}

static void test_route_not_found(void **state)
{
	static const struct { const char *method, *path; } cases[] = {
		{ "GET", "/api/no-such-route" },
		{ "GET", "/api/system/no-such-route" },
		{ "GET", "/api/health/extra" },
		{ "POST", "/api/no-such-route" },
		{ "DELETE", "/api/system/no/such/route" },
	};
	struct harness *h = *state;
	struct http_resp resp;
	char what[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "%s %s", cases[i].method,
			 cases[i].path);
		test_request(h, cases[i].method, cases[i].path, &resp);
		assert_string_equal(test_expect_error(&resp, 404, what),
				    "Not Found");
		http_resp_free(&resp);
	}
	assert_int_equal(harness_test_pass(h), 0);
}

static void test_route_method_not_allowed(void **state)
{
	static const struct { const char *method, *path; } cases[] = {
		{ "POST", "/api/health" },
		{ "DELETE", "/api/health" },
		{ "PUT", "/api/system/version" },
		{ "POST", "/api/system/health" },
		{ "PATCH", "/api/system/ready" },
	};
	struct harness *h = *state;
	struct http_resp resp;
	const char *allow;
	char what[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "%s %s", cases[i].method,
			 cases[i].path);
		test_request(h, cases[i].method, cases[i].path, &resp);
		assert_string_equal(test_expect_error(&resp, 405, what),
				    "Method Not Allowed");
		allow = http_resp_header(&resp, "Allow");
		if (allow == NULL)
			fail_msg("%s: 405 without an Allow header", what);
		if (!test_list_has(allow, "GET") ||
		    test_list_has(allow, cases[i].method))
			fail_msg("%s: Allow \"%s\" should list GET and not %s",
				 what, allow, cases[i].method);
		http_resp_free(&resp);
	}
	assert_int_equal(harness_test_pass(h), 0);
}

/* Body and header limits: refused with a 4xx, and the gateway keeps serving. */
static void test_route_limits(void **state)
{
	struct harness *h = *state;
	struct http_resp resp;
	size_t big = 1048576 + 4096;   /* KUBARR_HTTP_MAX_BODY_BYTES default + 4 KiB */
	char *body = malloc(big + 1);
	char *header = malloc(64 * 1024);
	const char *headers[] = { header, NULL };

	assert_non_null(body);
	assert_non_null(header);
	memset(body, 'a', big);
	body[big] = '\0';
	if (harness_http(h, "POST", "/api/health", body, NULL, &resp) < 0)
		fail_msg("oversize body: no HTTP response: %s", resp.error);
	assert_string_equal(test_expect_error(&resp, 413, "oversize body"),
			    "Request body too large");
	http_resp_free(&resp);

	/* 40 KiB of headers: over KUBARR_HTTP_MAX_HEADER_BYTES (32 KiB) */
	memcpy(header, "X-Filler: ", 10);
	memset(header + 10, 'b', 40 * 1024);
	header[10 + 40 * 1024] = '\0';
	if (harness_http(h, "GET", "/api/health", NULL, headers, &resp) == 0) {
		if (resp.status < 400 || resp.status >= 500)
			fail_msg("oversize headers: status %ld, expected 4xx",
				 resp.status);
		http_resp_free(&resp);
	}
	free(body);
	free(header);
	test_expect_health_ok(h);
	assert_int_equal(harness_test_pass(h), 0);
}

/* ---- lifecycle: a fresh set of daemons per test ----------------------- */

static int test_fresh_setup(void **state)
{
	struct harness *h;

	if (harness_start(&h) < 0) {
		harness_free(&h);
		return -1;
	}
	*state = h;
	return 0;
}

static int test_fresh_teardown(void **state)
{
	struct harness *h = *state;

	harness_free(&h);
	return 0;
}

/* /api/system/ready while `victim` is dead: fast 503 naming it. */
static void test_expect_not_ready(struct harness *h, const char *victim)
{
	long budget = strtol(harness_getenv(h, "KUBARR_IPC_TIMEOUT_MS"),
			     NULL, 10);
	struct http_resp resp;
	const char *detail;
	json_t *components;

	test_request(h, "GET", "/api/system/ready", &resp);
	detail = test_expect_error(&resp, 503, "ready with a dead backend");
	if (resp.elapsed_ms >= (double)budget)
		fail_msg("503 took %.0f ms; KUBARR_IPC_TIMEOUT_MS is %ld",
			 resp.elapsed_ms, budget);
	test_expect_retry_after(&resp, "ready with a dead backend");
	if (strstr(detail, victim) == NULL ||
	    strstr(detail, "unavailable") == NULL)
		fail_msg("detail \"%s\" should say %s is unavailable", detail,
			 victim);
	components = json_object_get(http_resp_json(&resp), "components");
	if (!json_is_object(components))
		fail_msg("503 body without a components object: %s",
			 resp.body);
	/* The dead one is "unavailable"; the live ones answer, though they
	   may report themselves degraded (authd without storaged). */
	for (size_t i = 0; i < TEST_BACKEND_COUNT; i++) {
		const char *name = test_backends[i];
		int dead = strcmp(name, victim) == 0;
		const char *got = test_expect_string(components, name,
						     "components");

		if (dead != (strcmp(got, "unavailable") == 0))
			fail_msg("%s dead: components.%s is \"%s\"; body %s",
				 victim, name, got, resp.body);
	}
	http_resp_free(&resp);
}

static void test_backend_death(struct harness *h, const char *victim)
{
	struct harness_daemon_info gw;
	struct http_resp resp;
	long recovered_ms = -1;

	assert_int_equal(harness_kill(h, victim, SIGKILL), 0);

	for (int i = 0; i < TEST_DEAD_PROBES; i++) {
		test_expect_not_ready(h, victim);
		test_expect_health_ok(h);
	}

	/* /api/system/health needs storaged only. */
	test_request(h, "GET", "/api/system/health", &resp);
	if (strcmp(victim, "storaged") == 0) {
		test_expect_error(&resp, 503, "system health, storaged dead");
		test_expect_retry_after(&resp, "system health, storaged dead");
	} else {
		test_expect_status(&resp, 200, "system health");
	}
	http_resp_free(&resp);

	/* The backend alone comes back; the gateway redials by itself. */
	assert_int_equal(harness_restart(h, victim), 0);
	if (harness_wait_http_status(h, "/api/system/ready", 200,
				     TEST_RECOVER_BUDGET_MS,
				     &recovered_ms) < 0)
		fail_msg("/api/system/ready not 200 within %d ms of %s's "
			 "READY=1", TEST_RECOVER_BUDGET_MS, victim);
	test_expect_all_ready(h);
	test_expect_health_ok(h);
	assert_int_equal(harness_daemon_info(h, "gateway", &gw), 0);
	assert_true(gw.running);
	assert_int_equal(gw.starts, 1);
	print_message("%s: recovered %ld ms after READY=1\n", victim,
		      recovered_ms);

	assert_int_equal(harness_finish(h), 0);
}

static void test_kill_storaged(void **state)
{
	test_backend_death(*state, "storaged");
}

static void test_kill_authd(void **state)
{
	test_backend_death(*state, "authd");
}

static void test_kill_metricsd(void **state)
{
	test_backend_death(*state, "metricsd");
}

static void test_expect_clean_stop(struct harness *h, const char *name)
{
	struct harness_daemon_info info;

	assert_int_equal(harness_daemon_info(h, name, &info), 0);
	assert_false(info.running);
	assert_true(info.has_status);
	if (!WIFEXITED(info.wait_status) || WEXITSTATUS(info.wait_status) != 0)
		fail_msg("kubarr-%s after SIGTERM: wait status 0x%x, "
			 "expected exit 0", name, (unsigned)info.wait_status);
	if (info.stop_ms < 0 || info.stop_ms >= TEST_STOP_BUDGET_MS)
		fail_msg("kubarr-%s took %ld ms to exit after SIGTERM "
			 "(budget %d)", name, info.stop_ms,
			 TEST_STOP_BUDGET_MS);
	if (!info.stopping_seen)
		fail_msg("kubarr-%s sent no STOPPING=1", name);
}

/* Everything at once, as systemd stopping kubarr.target would. */
static void test_sigterm_all(void **state)
{
	struct harness *h = *state;

	assert_int_equal(harness_stop(h), 0);
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++)
		test_expect_clean_stop(h, harness_daemon_name(i));
	assert_int_equal(harness_finish(h), 0);
}

/* One at a time, storaged first: each exits while its peers are gone. */
static void test_sigterm_each(void **state)
{
	static const char *const order[] = {
		"storaged", "authd", "metricsd", "gateway",
	};
	struct harness *h = *state;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		assert_int_equal(harness_kill(h, order[i], SIGTERM), 0);
		test_expect_clean_stop(h, order[i]);
		if (strcmp(order[i], "gateway") != 0)
			test_expect_health_ok(h);
	}
	assert_int_equal(harness_finish(h), 0);
}

int main(void)
{
	const struct CMUnitTest cli_tests[] = {
		cmocka_unit_test_setup_teardown(test_cli_storaged,
			test_cli_setup, test_cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_authd,
			test_cli_setup, test_cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_metricsd,
			test_cli_setup, test_cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_gateway,
			test_cli_setup, test_cli_teardown),
	};
	const struct CMUnitTest route_tests[] = {
		cmocka_unit_test_setup_teardown(test_route_health,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_version,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_system_health,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_ready,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_not_found,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_method_not_allowed,
			test_routes_setup, test_routes_teardown),
		cmocka_unit_test_setup_teardown(test_route_limits,
			test_routes_setup, test_routes_teardown),
	};
	const struct CMUnitTest lifecycle_tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_storaged,
			test_fresh_setup, test_fresh_teardown),
		cmocka_unit_test_setup_teardown(test_kill_authd,
			test_fresh_setup, test_fresh_teardown),
		cmocka_unit_test_setup_teardown(test_kill_metricsd,
			test_fresh_setup, test_fresh_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_all,
			test_fresh_setup, test_fresh_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_each,
			test_fresh_setup, test_fresh_teardown),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");
	int failed = 0;

	if (filter != NULL && filter[0] != '\0')
		cmocka_set_test_filter(filter);
	failed += cmocka_run_group_tests_name("cli", cli_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("routes", route_tests,
		test_routes_group_setup, test_routes_group_teardown);
	failed += cmocka_run_group_tests_name("lifecycle", lifecycle_tests,
		NULL, NULL);
	return failed == 0 ? 0 : 1;
}
