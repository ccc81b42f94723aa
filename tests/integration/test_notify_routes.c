/* /api/notifications through the gateway, real daemons, real HTTP (API.md 4
 * Notifications, 9; decisions 8, 9):
 *
 *   guard        401 without a session on every route, 403 for a viewer on
 *                the settings.* and audit.view ones
 *   channels     six types listed; PUT upserts; secrets masked in every
 *                read (list, one, PUT's answer); the masked round trip keeps
 *                the secret; 400 / 404 on bad input
 *   test_verify  a test message reaches a loopback receiver and verifies the
 *                caller's destination; a failing one does not; changing the
 *                destination resets verified; destinations masked
 *   events       list, upsert, 400s
 *   inbox        own items only: list, count, read, read-all, delete, 404
 *                for another user's item, 400s
 *   logs         the test attempts with masked recipients; 400s */
#include "admin_fx.h"

#include <sqlite3.h>

#include "notify_sink.h"

static struct sink *sink_ok, *sink_500;

/* Whether the text of j (an answer) contains s. */
static bool
j_has(json_t *j, const char *s)
{
	char *d = json_dumps(j, JSON_COMPACT);
	bool has = d != NULL && strstr(d, s) != NULL;

	free(d);
	return has;
}

static void
test_guard(void **state)
{
	struct afx *t = *state;

	afx_guard(t, "GET", "/api/notifications/channels", NULL, "settings.view");
	afx_guard(t, "GET", "/api/notifications/channels/webhook", NULL, "settings.view");
	afx_guard(t, "PUT", "/api/notifications/channels/webhook", "{}", "settings.manage");
	afx_guard(t, "POST", "/api/notifications/channels/webhook/test", "{\"destination\":\"x\"}",
	    "settings.manage");
	afx_guard(t, "GET", "/api/notifications/events", NULL, "settings.view");
	afx_guard(t, "PUT", "/api/notifications/events/login", "{}", "settings.manage");
	afx_guard(t, "GET", "/api/notifications/logs", NULL, "audit.view");
	afx_guard(t, "GET", "/api/notifications/inbox", NULL, NULL);
	afx_guard(t, "GET", "/api/notifications/inbox/count", NULL, NULL);
	afx_guard(t, "POST", "/api/notifications/inbox/read-all", NULL, NULL);
	afx_guard(t, "POST", "/api/notifications/inbox/1/read", NULL, NULL);
	afx_guard(t, "DELETE", "/api/notifications/inbox/1", NULL, NULL);
	afx_guard(t, "GET", "/api/notifications/preferences", NULL, NULL);
	afx_guard(t, "PUT", "/api/notifications/preferences/webhook", "{}", NULL);
	/* any signed-in user has their own inbox and preferences */
	json_decref(afx_req(t->viewer, "GET", "/api/notifications/inbox", NULL, 200));
	json_decref(afx_req(t->viewer, "GET", "/api/notifications/preferences", NULL, 200));
}

static void
test_channels(void **state)
{
	struct afx *t = *state;
	json_t *a, *c, *e;
	size_t i;
	static const char *const types[] = {"email", "gotify", "messagebird", "ntfy", "telegram",
		"webhook"};

	a = afx_req(t->admin, "GET", "/api/notifications/channels", NULL, 200);
	assert_int_equal(json_array_size(a), 6);
	json_array_foreach(a, i, e) {
		assert_string_equal(json_string_value(json_object_get(e, "channel_type")), types[i]);
		assert_true(json_is_boolean(json_object_get(e, "enabled")));
		assert_true(json_is_object(json_object_get(e, "config")));
	}
	json_decref(a);

	c = afx_req(t->admin, "PUT", "/api/notifications/channels/telegram",
	    "{\"enabled\":true,\"config\":{\"bot_token\":\"TG-ROUTE-SECRET\",\"url\":\"http://x\"}}",
	    200);
	assert_true(json_is_true(json_object_get(c, "enabled")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "config"),
	    "bot_token")), "********");
	assert_false(j_has(c, "TG-ROUTE-SECRET"));
	assert_int_equal(json_string_length(json_object_get(c, "updated_at")), 24);
	json_decref(c);
	a = afx_req(t->admin, "GET", "/api/notifications/channels", NULL, 200);
	assert_false(j_has(a, "TG-ROUTE-SECRET"));
	assert_true(j_has(a, "\"bot_token\":\"********\""));
	json_decref(a);
	c = afx_req(t->admin, "GET", "/api/notifications/channels/telegram", NULL, 200);
	assert_false(j_has(c, "TG-ROUTE-SECRET"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "config"), "url")),
	    "http://x");
	/* the masked config sent back keeps the secret: the audit shows the change */
	json_decref(c);
	c = afx_req(t->admin, "PUT", "/api/notifications/channels/telegram",
	    "{\"config\":{\"bot_token\":\"********\",\"url\":\"http://y\"}}", 200);
	assert_false(j_has(c, "TG-ROUTE-SECRET"));
	assert_true(json_is_true(json_object_get(c, "enabled")));
	json_decref(c);
	json_decref(afx_audit(t, "system_setting_changed", "notifications.channel.telegram"));

	afx_err(t->admin, "PUT", "/api/notifications/channels/discord", "{\"enabled\":true}", 400,
	    NULL);
	afx_err(t->admin, "PUT", "/api/notifications/channels/telegram", "{\"config\":[1]}", 400,
	    "config");
	afx_err(t->admin, "PUT", "/api/notifications/channels/telegram", "{\"enabled\":\"yes\"}",
	    400, "enabled");
	afx_err(t->admin, "PUT", "/api/notifications/channels/telegram", "not json", 400, NULL);
	afx_err(t->admin, "GET", "/api/notifications/channels/discord", NULL, 404, NULL);
}

static json_t *
pref_of(json_t *a, const char *type)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (strcmp(json_string_value(json_object_get(e, "channel_type")), type) == 0)
			return e;
	fail_msg("no preference for %s", type);
	return NULL;
}

static void
test_test_verify(void **state)
{
	struct afx *t = *state;
	char dest[128], body[256], bad[128];
	json_t *p, *a;

	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/route-hook-ok", sink_port(sink_ok));
	snprintf(bad, sizeof(bad), "http://127.0.0.1:%d/route-hook-bad", sink_port(sink_500));
	json_decref(afx_req(t->admin, "PUT", "/api/notifications/channels/webhook",
	    "{\"enabled\":true,\"config\":{\"secret\":\"HOOK-ROUTE-SECRET\"}}", 200));

	snprintf(body, sizeof(body), "{\"destination\":\"%s\"}", dest);
	p = afx_req(t->admin, "PUT", "/api/notifications/preferences/webhook", body, 200);
	assert_false(json_is_true(json_object_get(p, "verified")));
	assert_true(json_is_true(json_object_get(p, "enabled")));
	assert_false(j_has(p, "route-hook-ok"));
	assert_true(j_has(p, "***"));
	json_decref(p);

	/* a test message that arrives verifies the caller's destination */
	p = afx_req(t->admin, "POST", "/api/notifications/channels/webhook/test", body, 200);
	assert_true(json_is_true(json_object_get(p, "success")));
	assert_true(json_is_true(json_object_get(p, "verified")));
	assert_null(json_object_get(p, "error"));
	json_decref(p);
	assert_true(sink_wait(sink_ok, 1, 10000));
	{
		struct sink_req r;

		sink_get(sink_ok, 0, &r);
		assert_string_equal(r.path, "/route-hook-ok");
		assert_non_null(strstr(r.body, "\"event_type\":\"test\""));
		assert_non_null(strstr(r.headers, "X-Kubarr-Signature: sha256="));
	}
	a = afx_req(t->admin, "GET", "/api/notifications/preferences", NULL, 200);
	assert_true(json_is_true(json_object_get(pref_of(a, "webhook"), "verified")));
	assert_false(j_has(a, "route-hook-ok"));
	json_decref(a);

	/* a failing one does not, and says why */
	snprintf(body, sizeof(body), "{\"destination\":\"%s\"}", bad);
	p = afx_req(t->admin, "POST", "/api/notifications/channels/webhook/test", body, 200);
	assert_false(json_is_true(json_object_get(p, "success")));
	assert_false(json_is_true(json_object_get(p, "verified")));
	assert_non_null(strstr(json_string_value(json_object_get(p, "error")), "HTTP 500"));
	json_decref(p);

	/* changing the destination resets verified; the same one keeps it */
	p = afx_req(t->admin, "PUT", "/api/notifications/preferences/webhook", body, 200);
	assert_false(json_is_true(json_object_get(p, "verified")));
	json_decref(p);
	snprintf(body, sizeof(body), "{\"destination\":\"%s\"}", dest);
	json_decref(afx_req(t->admin, "PUT", "/api/notifications/preferences/webhook", body, 200));
	json_decref(afx_req(t->admin, "POST", "/api/notifications/channels/webhook/test", body, 200));
	p = afx_req(t->admin, "PUT", "/api/notifications/preferences/webhook", "{\"enabled\":true}",
	    200);
	assert_true(json_is_true(json_object_get(p, "verified")));
	json_decref(p);

	afx_err(t->admin, "POST", "/api/notifications/channels/webhook/test", "{}", 400,
	    "destination");
	afx_err(t->admin, "POST", "/api/notifications/channels/discord/test", body, 400, NULL);
	afx_err(t->admin, "PUT", "/api/notifications/preferences/discord", "{}", 400, NULL);
	afx_err(t->admin, "PUT", "/api/notifications/preferences/webhook",
	    "{\"destination\":5}", 400, "destination");
	/* the test route never shows the channel's secret */
	a = afx_req(t->admin, "GET", "/api/notifications/channels/webhook", NULL, 200);
	assert_false(j_has(a, "HOOK-ROUTE-SECRET"));
	json_decref(a);
}

static void
test_events(void **state)
{
	struct afx *t = *state;
	json_t *a, *e;
	size_t i;
	bool seen = false;

	a = afx_req(t->admin, "GET", "/api/notifications/events", NULL, 200);
	json_array_foreach(a, i, e) {
		assert_true(json_is_boolean(json_object_get(e, "enabled")));
		assert_non_null(json_string_value(json_object_get(e, "severity")));
		if (strcmp(json_string_value(json_object_get(e, "event_type")), "user_created") == 0)
			seen = true;
	}
	assert_true(seen);
	json_decref(a);
	e = afx_req(t->admin, "PUT", "/api/notifications/events/user_created",
	    "{\"enabled\":true,\"severity\":\"warning\"}", 200);
	assert_true(json_is_true(json_object_get(e, "enabled")));
	assert_string_equal(json_string_value(json_object_get(e, "severity")), "warning");
	json_decref(e);
	afx_err(t->admin, "PUT", "/api/notifications/events/user_created", "{\"severity\":\"loud\"}",
	    400, "severity");
	afx_err(t->admin, "PUT", "/api/notifications/events/Bad%21Name", "{}", 400, NULL);

}

/* Inbox rows written straight into the database file (WAL: beside storaged). */
static int64_t
inbox_put(struct afx *t, int64_t uid, const char *title)
{
	char path[512], sql[512];
	sqlite3 *db;
	int64_t id;

	snprintf(path, sizeof(path), "%s/kubarr.db", harness_data_dir(t->h));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	snprintf(sql, sizeof(sql), "INSERT INTO user_notifications(user_id, title, message,"
				   " event_type, severity, created_at) VALUES (%lld, '%s', 'body',"
				   " 'user_created', 'info', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now'))",
	    (long long)uid, title);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	id = sqlite3_last_insert_rowid(db);
	sqlite3_close(db);
	return id;
}

static void
test_inbox(void **state)
{
	struct afx *t = *state;
	int64_t v1 = inbox_put(t, t->viewer_id, "first"), v2 = inbox_put(t, t->viewer_id, "second");
	int64_t a1 = inbox_put(t, t->admin_id, "for the admin");
	char path[128];
	json_t *j, *items, *it;

	j = afx_req(t->viewer, "GET", "/api/notifications/inbox", NULL, 200);
	items = json_object_get(j, "notifications");
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "unread")), 2);
	assert_int_equal(json_array_size(items), 2);
	it = json_array_get(items, 0);
	assert_int_equal(json_integer_value(json_object_get(it, "id")), v2);
	assert_string_equal(json_string_value(json_object_get(it, "title")), "second");
	assert_string_equal(json_string_value(json_object_get(it, "message")), "body");
	assert_string_equal(json_string_value(json_object_get(it, "event_type")), "user_created");
	assert_string_equal(json_string_value(json_object_get(it, "severity")), "info");
	assert_true(json_is_false(json_object_get(it, "read")));
	assert_int_equal(json_string_length(json_object_get(it, "created_at")), 24);
	json_decref(j);
	j = afx_req(t->viewer, "GET", "/api/notifications/inbox?limit=1&offset=1", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "notifications")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "notifications"), 0), "id")), v1);
	json_decref(j);

	j = afx_req(t->viewer, "GET", "/api/notifications/inbox/count", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/notifications/inbox/%lld/read", (long long)v1);
	j = afx_req(t->viewer, "POST", path, NULL, 200);
	assert_true(json_is_true(json_object_get(j, "success")));
	json_decref(j);
	j = afx_req(t->viewer, "GET", "/api/notifications/inbox/count", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
	/* another user's item: 404 */
	snprintf(path, sizeof(path), "/api/notifications/inbox/%lld/read", (long long)a1);
	afx_err(t->viewer, "POST", path, NULL, 404, NULL);
	snprintf(path, sizeof(path), "/api/notifications/inbox/%lld", (long long)a1);
	afx_err(t->viewer, "DELETE", path, NULL, 404, NULL);
	j = afx_req(t->viewer, "POST", "/api/notifications/inbox/read-all", NULL, 200);
	assert_true(json_is_true(json_object_get(j, "success")));
	json_decref(j);
	j = afx_req(t->viewer, "GET", "/api/notifications/inbox/count", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	/* the admin's item is untouched */
	j = afx_req(t->admin, "GET", "/api/notifications/inbox/count", NULL, 200);
	assert_true(json_integer_value(json_object_get(j, "count")) >= 1);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/notifications/inbox/%lld", (long long)v2);
	json_decref(afx_req(t->viewer, "DELETE", path, NULL, 200));
	afx_err(t->viewer, "DELETE", path, NULL, 404, NULL);
	j = afx_req(t->viewer, "GET", "/api/notifications/inbox", NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);

	afx_err(t->viewer, "GET", "/api/notifications/inbox?limit=101", NULL, 400, "limit");
	afx_err(t->viewer, "GET", "/api/notifications/inbox?limit=0", NULL, 400, "limit");
	afx_err(t->viewer, "GET", "/api/notifications/inbox?offset=-1", NULL, 400, "offset");
	afx_err(t->viewer, "POST", "/api/notifications/inbox/abc/read", NULL, 400, NULL);
	afx_err(t->viewer, "DELETE", "/api/notifications/inbox/0", NULL, 400, NULL);
}

static void
test_logs(void **state)
{
	struct afx *t = *state;
	json_t *j, *logs, *e;
	size_t i;

	j = afx_req(t->admin, "GET", "/api/notifications/logs?channel_type=webhook", NULL, 200);
	logs = json_object_get(j, "logs");
	assert_true(json_integer_value(json_object_get(j, "total")) >= 3);
	assert_false(j_has(j, "route-hook"));
	assert_false(j_has(j, "127.0.0.1"));
	json_array_foreach(logs, i, e) {
		assert_string_equal(json_string_value(json_object_get(e, "channel_type")), "webhook");
		assert_string_equal(json_string_value(json_object_get(e, "event_type")), "test");
		assert_non_null(strstr(json_string_value(json_object_get(e, "recipient")), "***"));
		assert_int_equal(json_integer_value(json_object_get(e, "user_id")), t->admin_id);
		assert_int_equal(json_string_length(json_object_get(e, "created_at")), 24);
	}
	json_decref(j);
	j = afx_req(t->admin, "GET", "/api/notifications/logs?status=failed&limit=1", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "logs")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "logs"), 0), "error_message")), "HTTP 500"));
	json_decref(j);
	afx_err(t->admin, "GET", "/api/notifications/logs?limit=0", NULL, 400, "limit");
	afx_err(t->admin, "GET", "/api/notifications/logs?limit=abc", NULL, 400, "limit");
}

/* Any enabled event type fires with its audit entry: role_created here.  Last:
 * its deliveries would show in test_logs, which expects test messages only. */
static void
test_event_fires(void **state)
{
	struct afx *t = *state;
	size_t i;

	json_decref(afx_req(t->admin, "PUT", "/api/notifications/events/role_created",
	    "{\"enabled\":true}", 200));
	json_decref(afx_req(t->admin, "POST", "/api/roles", "{\"name\":\"notified-role\"}", 200));
	{
		json_t *j = afx_req(t->admin, "GET", "/api/notifications/inbox", NULL, 200), *it;
		bool found = false;

		json_array_foreach(json_object_get(j, "notifications"), i, it)
			found |= strcmp(json_string_value(json_object_get(it, "event_type")),
			    "role_created") == 0;
		assert_true(found);
		json_decref(j);
	}
}

static int
setup(void **state)
{
	struct afx *t = calloc(1, sizeof(*t));
	char name[64];
	long st = 0;

	*state = t;
	sink_ok = sink_start(SINK_OK, 0);
	sink_500 = sink_start(SINK_500, 0);
	if (sink_ok == NULL || sink_500 == NULL)
		return -1;
	if (harness_init(&t->h) != 0 || harness_setenv(t->h, "KUBARR_NOTIFY_TIMEOUT_MS", "5000") != 0 ||
	    harness_launch(t->h) != 0)
		return -1;
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0 ||
	    harness_client_new(t->h, &t->viewer) != 0 || harness_client_new(t->h, &t->anon) != 0)
		return -1;
	snprintf(name, sizeof(name), "viewer%d", getpid());
	if (harness_create_user(t->h, name, "password-123", "viewer", &t->viewer_id) != 0 ||
	    harness_login(t->h, t->viewer, name, "password-123", &st) != 0)
		return -1;
	{
		struct http_resp resp = {0};
		json_t *me;

		if (http_client_request(t->admin, "GET", "/api/users/me", NULL, NULL, &resp) != 0 ||
		    (me = http_resp_json(&resp)) == NULL)
			return -1;
		t->admin_id = json_integer_value(json_object_get(me, "id"));
		http_resp_free(&resp);
	}
	return 0;
}

static int
teardown(void **state)
{
	int rc = afx_teardown(state);

	sink_stop(&sink_ok);
	sink_stop(&sink_500);
	return rc;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guard, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_channels, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_test_verify, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_events, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_inbox, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_logs, afx_begin, afx_end),
		cmocka_unit_test_setup_teardown(test_event_fires, afx_begin, afx_end),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
