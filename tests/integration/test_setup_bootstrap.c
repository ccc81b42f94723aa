/*
 * test_setup_bootstrap.c: the bootstrap routes and WebSocket of /api/setup
 * (API.md section 4 Setup, section 5, decision 14) on the real daemons.
 *
 *   run        a WebSocket subscriber gets initial_status (three pending
 *              components), then, after POST /bootstrap/start, the component
 *              messages of database (with database_connected), metrics and
 *              backup and bootstrap_complete; /bootstrap/status agrees field
 *              by field and storaged kept the rows; start again -> started
 *              false; retry/{component}; a second subscriber's initial_status
 *              says complete; sealed (403) once an admin exists
 *   metrics    metricsd stopped: metrics fails with its reason, the others
 *              are healthy, complete stays false; metricsd back + retry/metrics
 *              -> healthy and bootstrap_complete
 *   database   storaged stopped: required says database_pending, browse is
 *              503 (it cannot tell whether setup is sealed), the run reports
 *              component_progress then component_failed for database; storaged
 *              back + retry/database -> database_connected
 *   backup     the component reports storaged's BACKUP_STATUS: backup off ->
 *              healthy, configured false, "not configured", the same as
 *              GET /api/backups/status says (configured false, disabled);
 *              a file replica -> healthy; the replica gone -> failed naming
 *              it; back -> healthy; the routes run a snapshot, the drill and
 *              list the restore points on the real engine
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"
#include "ws_client.h"

#define T_WS "/api/setup/bootstrap/ws"

static struct harness *
t_start(const char *backup_url)
{
	struct harness *h;

	assert_int_equal(harness_init(&h), 0);
	if (backup_url != NULL)
		assert_int_equal(harness_setenv(h, "KUBARR_BACKUP_URL", backup_url), 0);
	if (harness_launch(h) != 0) {
		harness_print_log_tails(h, 40);
		fail_msg("daemons did not start");
	}
	return h;
}

/* The next text frame as JSON (owned by the caller). */
static json_t *
t_frame(int fd)
{
	json_error_t e;
	char *p = NULL;
	size_t len;
	int op;
	json_t *j;

	if (ws_client_read_frame(fd, &op, &p, &len) != 0)
		fail_msg("WebSocket: no frame");
	assert_int_equal(op, 1);
	if ((j = json_loads(p, 0, &e)) == NULL)
		fail_msg("WebSocket: not JSON: %s", p);
	free(p);
	assert_true(json_is_string(json_object_get(j, "type")));
	return j;
}

static const char *
t_type(json_t *j)
{
	return json_string_value(json_object_get(j, "type"));
}

/* components: [{component, display_name, status, message, error}] in order */
static void
t_components(json_t *comps, const char *s_db, const char *s_metrics, const char *s_backup)
{
	static const char *const names[3][2] = {
		{"database", "Database"}, {"metrics", "Metrics"}, {"backup", "Backup"}};
	const char *want[3] = {s_db, s_metrics, s_backup};

	assert_true(json_is_array(comps));
	assert_int_equal(json_array_size(comps), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *c = json_array_get(comps, i);
		json_t *m = json_object_get(c, "message"), *e = json_object_get(c, "error");

		assert_string_equal(json_string_value(json_object_get(c, "component")), names[i][0]);
		assert_string_equal(json_string_value(json_object_get(c, "display_name")),
		    names[i][1]);
		if (strcmp(json_string_value(json_object_get(c, "status")), want[i]) != 0)
			fail_msg("%s: status %s, expected %s (%s)", names[i][0],
			    json_string_value(json_object_get(c, "status")), want[i],
			    json_dumps(c, 0));
		assert_true(m != NULL && (json_is_null(m) || json_is_string(m)));
		assert_true(e != NULL && (json_is_null(e) || json_is_string(e)));
		assert_true(strcmp(want[i], "failed") != 0 || json_is_string(e));
	}
}

static json_t *
t_status(struct http_client *c, struct http_resp *resp)
{
	json_t *j;

	harness_expect(c, "GET", "/api/setup/bootstrap/status", NULL, NULL, 200, resp);
	assert_non_null(j = http_resp_json(resp));
	assert_true(json_is_boolean(json_object_get(j, "complete")));
	assert_true(json_is_boolean(json_object_get(j, "started")));
	return j;
}

static void
t_start_run(struct http_client *c, bool want_started)
{
	struct http_resp resp = {0};
	json_t *j;

	harness_expect(c, "POST", "/api/setup/bootstrap/start", NULL, NULL, 200, &resp);
	j = http_resp_json(&resp);
	assert_true(json_is_string(json_object_get(j, "message")));
	assert_int_equal(json_is_true(json_object_get(j, "started")), want_started);
	assert_int_equal(json_object_size(j), 2);
	http_resp_free(&resp);
}

/* Reads frames until `type` for `component` (NULL: any); checks each on the way. */
static json_t *
t_until(int fd, const char *type, const char *component)
{
	for (int i = 0; i < 50; i++) {
		json_t *j = t_frame(fd);
		const char *c = json_string_value(json_object_get(j, "component"));

		if (strncmp(t_type(j), "component_", 10) == 0) {
			assert_non_null(c);
			assert_true(json_is_string(json_object_get(j, "message")));
		}
		if (strcmp(t_type(j), type) == 0 && (component == NULL || (c && strcmp(c, component) == 0)))
			return j;
		json_decref(j);
	}
	fail_msg("no %s for %s", type, component ? component : "-");
	return NULL;
}

static void
test_run(void **state)
{
	struct harness *h = t_start(NULL);
	struct http_client *c;
	struct http_resp resp = {0};
	char head[2048];
	int fd, fd2;
	json_t *j, *comps;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	j = t_status(c, &resp);
	t_components(json_object_get(j, "components"), "pending", "pending", "pending");
	assert_false(json_is_true(json_object_get(j, "complete")));
	assert_false(json_is_true(json_object_get(j, "started")));
	http_resp_free(&resp);

	fd = ws_client_open(h, T_WS, NULL, 0, head, sizeof(head));
	if (fd < 0)
		fail_msg("handshake: %s", head);
	j = t_frame(fd);
	assert_string_equal(t_type(j), "initial_status");
	t_components(json_object_get(j, "components"), "pending", "pending", "pending");
	assert_true(json_is_false(json_object_get(j, "complete")));
	json_decref(j);

	t_start_run(c, true);
	/* in order: database first, then metrics, then backup */
	j = t_until(fd, "component_started", "database");
	json_decref(j);
	j = t_until(fd, "component_completed", "database");
	json_decref(j);
	j = t_frame(fd);
	assert_string_equal(t_type(j), "database_connected");
	assert_true(json_is_string(json_object_get(j, "message")));
	json_decref(j);
	json_decref(t_until(fd, "component_started", "metrics"));
	json_decref(t_until(fd, "component_completed", "metrics"));
	json_decref(t_until(fd, "component_started", "backup"));
	j = t_until(fd, "component_completed", "backup");
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "not configured"));
	json_decref(j);
	j = t_frame(fd);
	assert_string_equal(t_type(j), "bootstrap_complete");
	assert_true(json_is_string(json_object_get(j, "message")));
	json_decref(j);

	j = t_status(c, &resp);
	comps = json_object_get(j, "components");
	t_components(comps, "healthy", "healthy", "healthy");
	assert_true(json_is_true(json_object_get(j, "complete")));
	assert_true(json_is_true(json_object_get(j, "started")));
	assert_true(json_is_false(json_object_get(json_array_get(comps, 2), "configured")));
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/status", NULL, NULL, 200, &resp);
	assert_true(json_is_true(json_object_get(http_resp_json(&resp), "bootstrap_complete")));
	http_resp_free(&resp);
	t_start_run(c, false);   /* already complete */

	/* a late subscriber starts from the state as it is */
	fd2 = ws_client_open(h, T_WS, NULL, 0, head, sizeof(head));
	assert_true(fd2 >= 0);
	j = t_frame(fd2);
	assert_string_equal(t_type(j), "initial_status");
	t_components(json_object_get(j, "components"), "healthy", "healthy", "healthy");
	assert_true(json_is_true(json_object_get(j, "complete")));
	json_decref(j);

	/* retry one: both subscribers see it */
	harness_expect(c, "POST", "/api/setup/bootstrap/retry/metrics", NULL, NULL, 200, &resp);
	j = http_resp_json(&resp);
	assert_true(json_is_true(json_object_get(j, "started")));
	assert_true(json_is_string(json_object_get(j, "message")));
	http_resp_free(&resp);
	json_decref(t_until(fd, "component_completed", "metrics"));
	json_decref(t_until(fd2, "component_started", "metrics"));
	json_decref(t_until(fd2, "bootstrap_complete", NULL));
	harness_expect(c, "POST", "/api/setup/bootstrap/retry/postgresql", NULL, NULL, 404, &resp);
	http_resp_free(&resp);
	/* Ping gets Pong; incoming text is ignored */
	ws_client_send(fd2, 1, "hello", 5);
	ws_client_send(fd2, 9, "hi", 2);
	{
		char *p = NULL;
		size_t len;
		int op;

		assert_int_equal(ws_client_read_frame(fd2, &op, &p, &len), 0);
		assert_int_equal(op, 10);
		assert_string_equal(p, "hi");
		free(p);
	}
	close(fd2);

	/* sealed: the handshake is refused */
	assert_int_equal(harness_login_admin(h, c), 0);
	assert_int_equal(ws_client_open(h, T_WS, NULL, 0, head, sizeof(head)), -1);
	assert_int_equal(strncmp(head, "HTTP/1.1 403", 12), 0);
	harness_expect(c, "GET", "/api/setup/bootstrap/status", NULL, NULL, 403, &resp);
	http_resp_free(&resp);
	close(fd);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

static void
test_metrics_down(void **state)
{
	struct harness *h = t_start(NULL);
	struct http_client *c;
	struct http_resp resp = {0};
	char head[2048];
	json_t *j;
	int fd;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_kill(h, "metricsd", SIGTERM), 0);
	fd = ws_client_open(h, T_WS, NULL, 0, head, sizeof(head));
	assert_true(fd >= 0);
	json_decref(t_frame(fd));   /* initial_status */
	t_start_run(c, true);
	j = t_until(fd, "component_failed", "metrics");
	assert_true(json_is_string(json_object_get(j, "error")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "metricsd"));
	json_decref(j);
	json_decref(t_until(fd, "component_completed", "backup"));
	j = t_status(c, &resp);
	t_components(json_object_get(j, "components"), "healthy", "failed", "healthy");
	assert_true(json_is_false(json_object_get(j, "complete")));
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/status", NULL, NULL, 200, &resp);
	assert_true(json_is_false(json_object_get(http_resp_json(&resp), "bootstrap_complete")));
	http_resp_free(&resp);

	assert_int_equal(harness_restart(h, "metricsd"), 0);
	for (long until = harness_now_ms() + 10000;; usleep(100000)) {
		bool ok;

		harness_expect(c, "POST", "/api/setup/bootstrap/retry/metrics", NULL, NULL, 0, &resp);
		ok = resp.status == 200;
		http_resp_free(&resp);
		if (ok)
			break;
		if (harness_now_ms() > until)
			fail_msg("retry never started");
	}
	j = t_until(fd, "component_completed", "metrics");
	json_decref(j);
	json_decref(t_until(fd, "bootstrap_complete", NULL));
	j = t_status(c, &resp);
	t_components(json_object_get(j, "components"), "healthy", "healthy", "healthy");
	http_resp_free(&resp);
	close(fd);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

static void
test_database_down(void **state)
{
	struct harness *h = t_start(NULL);
	struct http_client *c;
	struct http_resp resp = {0};
	char head[2048];
	json_t *j;
	int fd;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_kill(h, "storaged", SIGTERM), 0);
	harness_expect(c, "GET", "/api/setup/required", NULL, NULL, 200, &resp);
	j = http_resp_json(&resp);
	assert_true(json_is_true(json_object_get(j, "setup_required")));
	assert_true(json_is_true(json_object_get(j, "database_pending")));
	http_resp_free(&resp);
	harness_expect(c, "GET", "/api/setup/browse", NULL, NULL, 503, &resp);
	assert_non_null(http_resp_header(&resp, "Retry-After"));
	http_resp_free(&resp);

	fd = ws_client_open(h, T_WS, NULL, 0, head, sizeof(head));
	if (fd < 0)
		fail_msg("handshake: %s", head);
	json_decref(t_frame(fd));   /* initial_status */
	t_start_run(c, true);
	j = t_until(fd, "component_progress", "database");
	assert_true(json_is_integer(json_object_get(j, "progress")));
	assert_true(json_integer_value(json_object_get(j, "progress")) > 0);
	assert_true(json_integer_value(json_object_get(j, "progress")) <= 100);
	json_decref(j);
	j = t_until(fd, "component_failed", "database");
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "storaged"));
	json_decref(j);
	json_decref(t_until(fd, "component_completed", "backup"));
	j = t_status(c, &resp);   /* from the gateway's memory: storaged is down */
	t_components(json_object_get(j, "components"), "failed", "healthy", "healthy");
	assert_true(json_is_false(json_object_get(j, "complete")));
	http_resp_free(&resp);

	assert_int_equal(harness_restart(h, "storaged"), 0);
	for (long until = harness_now_ms() + 10000;; usleep(100000)) {
		bool ok;

		harness_expect(c, "POST", "/api/setup/bootstrap/retry/database", NULL, NULL, 0, &resp);
		ok = resp.status == 200;
		http_resp_free(&resp);
		if (ok)
			break;
		if (harness_now_ms() > until)
			fail_msg("retry never started");
	}
	json_decref(t_until(fd, "database_connected", NULL));
	json_decref(t_until(fd, "bootstrap_complete", NULL));
	j = t_status(c, &resp);
	t_components(json_object_get(j, "components"), "healthy", "healthy", "healthy");
	http_resp_free(&resp);
	close(fd);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* Starts a run and waits until the backup component settles (healthy or
 * failed); the status document stays in resp, the component in *b_r. */
static json_t *
t_backup_settled(struct http_client *c, struct http_resp *resp, json_t **b_r)
{
	t_start_run(c, true);
	for (long until = harness_now_ms() + 15000;; usleep(50000)) {
		json_t *j = t_status(c, resp);
		json_t *b = json_array_get(json_object_get(j, "components"), 2);
		const char *st = json_string_value(json_object_get(b, "status"));

		assert_string_equal(json_string_value(json_object_get(b, "component")), "backup");
		if (strcmp(st, "healthy") == 0 || strcmp(st, "failed") == 0) {
			*b_r = b;
			return j;
		}
		http_resp_free(resp);
		if (harness_now_ms() > until)
			fail_msg("backup never settled (status %s)", st);
	}
}

static void
test_backup_not_configured(void **state)
{
	struct harness *h = t_start(NULL);
	struct http_client *c;
	struct http_resp resp = {0};
	json_t *j, *b;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	j = t_backup_settled(c, &resp, &b);
	t_components(json_object_get(j, "components"), "healthy", "healthy", "healthy");
	assert_true(json_is_false(json_object_get(b, "configured")));
	assert_non_null(strstr(json_string_value(json_object_get(b, "message")), "not configured"));
	assert_true(json_is_null(json_object_get(b, "error")));
	assert_true(json_is_true(json_object_get(j, "complete")));
	http_resp_free(&resp);
	/* the engine says the same */
	assert_int_equal(harness_login_admin(h, c), 0);
	harness_expect(c, "GET", "/api/backups/status", NULL, NULL, 200, &resp);
	j = http_resp_json(&resp);
	assert_true(json_is_false(json_object_get(j, "configured")));
	assert_string_equal(json_string_value(json_object_get(j, "state")), "disabled");
	http_resp_free(&resp);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* Configured with a file replica: the component reports the engine's real
 * state, healthy while it ships and failed once uploads fail; the backup
 * routes drive the real engine (a snapshot, the drill). */
/* Runs the backup component again until it reports want (and an error
 * containing error_has); returns the last status seen. */
static const char *
t_backup_wait(struct http_client *c, const char *want, const char *error_has)
{
	struct http_resp resp = {0};
	static char st[32];

	for (long until = harness_now_ms() + 20000; harness_now_ms() < until; usleep(200000)) {
		json_t *b;
		const char *e;
		long settle = harness_now_ms() + 15000;

		harness_expect(c, "POST", "/api/setup/bootstrap/retry/backup", NULL, NULL, 200, &resp);
		http_resp_free(&resp);
		do {
			usleep(50000);
			b = json_array_get(json_object_get(t_status(c, &resp), "components"), 2);
			snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(b, "status")));
			e = json_string_value(json_object_get(b, "error"));
			if (strcmp(st, want) == 0 &&
			    (error_has == NULL || (e != NULL && strstr(e, error_has) != NULL))) {
				http_resp_free(&resp);
				return st;
			}
			http_resp_free(&resp);
		} while ((strcmp(st, "healthy") != 0 && strcmp(st, "failed") != 0) &&
		    harness_now_ms() < settle);
	}
	return st;
}

/* Configured with a file replica: the component reports the engine's real
 * state, healthy while it ships and failed once uploads fail; the backup
 * routes drive the real engine (a snapshot, the drill). */
/* Configured with a file replica: the component reports the engine's real
 * state (healthy while it ships, failed while the replica is gone, healthy
 * again after), and the backup routes drive the real engine (a snapshot, the
 * drill, the restore points). */
static void
test_backup_configured(void **state)
{
	struct harness *h;
	struct http_client *c;
	struct http_resp resp = {0};
	char replica[300], url[320], aside[320];
	json_t *j, *pts;
	bool found = false;

	(void)state;
	assert_int_equal(harness_init(&h), 0);
	snprintf(replica, sizeof(replica), "%s/replica", harness_tmp_dir(h));
	snprintf(url, sizeof(url), "file://%s", replica);
	assert_int_equal(mkdir(replica, 0750), 0);
	assert_int_equal(harness_setenv(h, "KUBARR_BACKUP_URL", url), 0);
	assert_int_equal(harness_setenv(h, "KUBARR_BACKUP_SYNC_INTERVAL_MS", "100"), 0);
	assert_int_equal(harness_setenv(h, "KUBARR_BACKUP_LEASE_TTL_S", "3"), 0);
	assert_int_equal(harness_launch(h), 0);
	assert_int_equal(harness_client_new(h, &c), 0);
	t_backup_settled(c, &resp, &pts);
	http_resp_free(&resp);
	assert_string_equal(t_backup_wait(c, "healthy", NULL), "healthy");
	/* the replica gone (an unmounted share): failed, with the reason */
	snprintf(aside, sizeof(aside), "%s.away", replica);
	assert_int_equal(rename(replica, aside), 0);
	assert_string_equal(t_backup_wait(c, "failed", "replica"), "failed");
	assert_int_equal(rename(aside, replica), 0);
	assert_string_equal(t_backup_wait(c, "healthy", NULL), "healthy");

	assert_int_equal(harness_login_admin(h, c), 0);
	harness_expect(c, "GET", "/api/backups/status", NULL, NULL, 200, &resp);
	j = http_resp_json(&resp);
	assert_true(json_is_true(json_object_get(j, "configured")));
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "file");
	http_resp_free(&resp);
	/* a snapshot and a drill on request */
	harness_expect(c, "POST", "/api/backups/snapshot", "{}", HARNESS_CSRF, 202, &resp);
	http_resp_free(&resp);
	harness_expect(c, "POST", "/api/backups/verify", "{}", HARNESS_CSRF, 202, &resp);
	http_resp_free(&resp);
	for (long until = harness_now_ms() + 15000; !found && harness_now_ms() < until;
	    usleep(100000)) {
		harness_expect(c, "GET", "/api/backups/status", NULL, NULL, 200, &resp);
		j = http_resp_json(&resp);
		found = strcmp(json_string_value(json_object_get(j, "last_validation")), "ok") == 0 &&
		    !json_is_true(json_object_get(j, "snapshot_pending")) &&
		    strcmp(json_string_value(json_object_get(j, "state")), "ok") == 0;
		http_resp_free(&resp);
	}
	assert_true(found);
	harness_expect(c, "GET", "/api/backups/points?limit=50", NULL, NULL, 200, &resp);
	pts = json_object_get(http_resp_json(&resp), "points");
	found = false;
	for (size_t i = 0; i < json_array_size(pts); i++)
		found |= strcmp(json_string_value(json_object_get(json_array_get(pts, i), "kind")),
		    "snapshot") == 0;
	assert_true(found);
	http_resp_free(&resp);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_metrics_down),
		cmocka_unit_test(test_database_down),
		cmocka_unit_test(test_backup_not_configured),
		cmocka_unit_test(test_backup_configured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
