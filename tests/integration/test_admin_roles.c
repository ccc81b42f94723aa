/*
 * test_admin_roles.c: /api/roles, /api/settings and the audit stats and
 * clear routes through the gateway, real daemons, real HTTP (API.md 4 Roles,
 * Settings, Audit; 3.8; decisions 7, 9, 17).
 *
 *   roles_guard     401 / 403 on every route
 *   roles_read      seeded roles and the catalogue, field by field
 *   roles_write     create, patch, apps, permissions (app.X split), delete;
 *                   system roles protected; audit; bad input
 *   roles_effect    a permission given to a role reaches its members at once
 *   settings        known public keys only; audit; bad input
 *   audit_stats     shape and counts
 *   audit_clear     days, bad input, the clear is itself on record (last)
 */
#include "admin_fx.h"

static void
r_shape(json_t *ro)
{
	assert_true(json_is_integer(json_object_get(ro, "id")));
	assert_true(json_is_string(json_object_get(ro, "name")));
	assert_non_null(json_object_get(ro, "description"));
	assert_true(json_is_boolean(json_object_get(ro, "is_system")));
	assert_true(json_is_boolean(json_object_get(ro, "requires_2fa")));
	assert_int_equal(json_string_length(json_object_get(ro, "created_at")), 24);
	assert_true(json_is_array(json_object_get(ro, "app_names")));
	assert_true(json_is_array(json_object_get(ro, "permissions")));
}

static bool
r_has(json_t *a, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

static json_t *
r_find(struct afx *t, const char *name)
{
	json_t *a = afx_req(t->admin, "GET", "/api/roles", NULL, 200), *r, *found = NULL;
	size_t i;

	json_array_foreach(a, i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
			found = json_incref(r);
	json_decref(a);
	assert_non_null(found);
	return found;
}

static void
test_roles_guard(void **state)
{
	struct afx *t = *state;

	afx_guard(t, "GET", "/api/roles", NULL, "roles.view");
	afx_guard(t, "POST", "/api/roles", "{}", "roles.manage");
	afx_guard(t, "GET", "/api/roles/permissions", NULL, "roles.view");
	afx_guard(t, "GET", "/api/roles/1", NULL, "roles.view");
	afx_guard(t, "PATCH", "/api/roles/1", "{}", "roles.manage");
	afx_guard(t, "DELETE", "/api/roles/1", NULL, "roles.manage");
	afx_guard(t, "PUT", "/api/roles/1/apps", "{}", "roles.manage");
	afx_guard(t, "GET", "/api/roles/1/permissions", NULL, "roles.view");
	afx_guard(t, "PUT", "/api/roles/1/permissions", "{}", "roles.manage");
	afx_guard(t, "GET", "/api/settings", NULL, "settings.view");
	afx_guard(t, "GET", "/api/settings/registration_enabled", NULL, "settings.view");
	afx_guard(t, "PUT", "/api/settings/registration_enabled", "{}", "settings.manage");
	afx_guard(t, "GET", "/api/audit/stats", NULL, "audit.view");
	afx_guard(t, "POST", "/api/audit/clear", "{}", "audit.manage");
}

static void
test_roles_read(void **state)
{
	struct afx *t = *state;
	json_t *a, *r, *viewer, *p;
	char path[64];
	size_t i;

	a = afx_req(t->admin, "GET", "/api/roles", NULL, 200);
	assert_true(json_array_size(a) >= 3);
	json_array_foreach(a, i, r)
		r_shape(r);
	json_decref(a);
	viewer = r_find(t, "viewer");
	assert_true(json_is_true(json_object_get(viewer, "is_system")));
	assert_true(r_has(json_object_get(viewer, "app_names"), "jellyfin"));
	assert_true(r_has(json_object_get(viewer, "permissions"), "app.jellyfin"));
	assert_true(r_has(json_object_get(viewer, "permissions"), "logs.view"));
	snprintf(path, sizeof(path), "/api/roles/%lld",
	    (long long)json_integer_value(json_object_get(viewer, "id")));
	r = afx_req(t->admin, "GET", path, NULL, 200);
	r_shape(r);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "viewer");
	json_decref(r);
	strcat(path, "/permissions");
	p = afx_req(t->admin, "GET", path, NULL, 200);
	assert_true(r_has(p, "logs.view"));
	assert_false(r_has(p, "app.jellyfin"));  /* role_permissions rows only */
	json_decref(p);
	json_decref(viewer);
	afx_err(t->admin, "GET", "/api/roles/abc", NULL, 400, "Invalid role id");
	afx_err(t->admin, "GET", "/api/roles/9999999", NULL, 404, "Role not found");
	afx_err(t->admin, "GET", "/api/roles/9999999/permissions", NULL, 404, "Role not found");

	a = afx_req(t->admin, "GET", "/api/roles/permissions", NULL, 200);
	assert_true(json_array_size(a) > 15);
	json_array_foreach(a, i, r) {
		assert_true(json_is_string(json_object_get(r, "key")));
		assert_true(json_is_string(json_object_get(r, "category")));
		assert_true(json_is_string(json_object_get(r, "description")));
	}
	{
		bool users = false, sonarr = false;

		json_array_foreach(a, i, r) {
			const char *k = json_string_value(json_object_get(r, "key"));

			users |= strcmp(k, "users.manage") == 0;
			sonarr |= strcmp(k, "app.sonarr") == 0;
		}
		assert_true(users && sonarr);
	}
	json_decref(a);
}

static void
test_roles_write(void **state)
{
	struct afx *t = *state;
	char path[96], body[256], rid[24], sys[96];
	json_t *r, *d, *p, *admin;
	int64_t id;

	r = afx_req(t->admin, "POST", "/api/roles",
	    "{\"name\":\"editors\",\"description\":\"edit things\",\"app_names\":[\"sonarr\"],"
	    "\"requires_2fa\":false}", 200);
	r_shape(r);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "editors");
	assert_string_equal(json_string_value(json_object_get(r, "description")), "edit things");
	assert_true(json_is_false(json_object_get(r, "is_system")));
	assert_true(r_has(json_object_get(r, "app_names"), "sonarr"));
	assert_true(r_has(json_object_get(r, "permissions"), "app.sonarr"));
	id = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	d = afx_audit(t, "role_created", rid);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "details"),
	    "name")), "editors");
	json_decref(d);

	afx_err(t->admin, "POST", "/api/roles", "{\"name\":\"editors\",\"app_names\":[]}", 400,
	    NULL);  /* duplicate */
	afx_err(t->admin, "POST", "/api/roles", "{\"app_names\":[]}", 400, "'name'");
	afx_err(t->admin, "POST", "/api/roles", "{\"name\":5}", 400, "'name'");
	afx_err(t->admin, "POST", "/api/roles", "{\"name\":\"\"}", 400, "'name'");
	afx_err(t->admin, "POST", "/api/roles", "{\"name\":\"x\",\"app_names\":\"a\"}", 400,
	    "'app_names'");
	afx_err(t->admin, "POST", "/api/roles", "{\"name\":\"x\",\"requires_2fa\":1}", 400,
	    "'requires_2fa'");
	afx_err(t->admin, "POST", "/api/roles", "{\"name\":", 400, "Malformed JSON");

	snprintf(path, sizeof(path), "/api/roles/%lld", (long long)id);
	r = afx_req(t->admin, "PATCH", path, "{\"name\":\"writers\",\"requires_2fa\":true}", 200);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "writers");
	assert_true(json_is_true(json_object_get(r, "requires_2fa")));
	json_decref(r);
	json_decref(afx_audit(t, "role_updated", rid));
	afx_err(t->admin, "PATCH", path, "{\"description\":[]}", 400, "'description'");
	afx_err(t->admin, "PATCH", "/api/roles/0", "{}", 400, "Invalid role id");
	afx_err(t->admin, "PATCH", "/api/roles/7777777", "{\"name\":\"zz\"}", 404, NULL);

	snprintf(path, sizeof(path), "/api/roles/%lld/permissions", (long long)id);
	r = afx_req(t->admin, "PUT", path, "{\"permissions\":[\"logs.view\",\"app.radarr\"]}", 200);
	assert_true(r_has(json_object_get(r, "permissions"), "logs.view"));
	assert_true(r_has(json_object_get(r, "permissions"), "app.radarr"));
	assert_false(r_has(json_object_get(r, "app_names"), "sonarr"));  /* app rows replaced */
	assert_true(r_has(json_object_get(r, "app_names"), "radarr"));
	json_decref(r);
	p = afx_req(t->admin, "GET", path, NULL, 200);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_array_get(p, 0)), "logs.view");
	json_decref(p);
	afx_err(t->admin, "PUT", path, "{}", 400, "'permissions'");
	afx_err(t->admin, "PUT", path, "{\"permissions\":[1]}", 400, "'permissions'");

	snprintf(path, sizeof(path), "/api/roles/%lld/apps", (long long)id);
	r = afx_req(t->admin, "PUT", path, "{\"app_names\":[\"plex\",\"jellyfin\"]}", 200);
	assert_int_equal(json_array_size(json_object_get(r, "app_names")), 2);
	assert_true(r_has(json_object_get(r, "permissions"), "logs.view"));  /* kept */
	json_decref(r);
	afx_err(t->admin, "PUT", path, "{\"app_names\":null}", 400, "'app_names'");
	afx_err(t->admin, "PUT", "/api/roles/7777777/apps", "{\"app_names\":[]}", 404, NULL);

	/* system roles: no rename, no delete */
	admin = r_find(t, "admin");
	snprintf(path, sizeof(path), "/api/roles/%lld",
	    (long long)json_integer_value(json_object_get(admin, "id")));
	json_decref(admin);
	snprintf(sys, sizeof(sys), "%s", path);
	afx_err(t->admin, "PATCH", sys, "{\"name\":\"root\"}", 400, NULL);
	afx_err(t->admin, "DELETE", sys, NULL, 400, NULL);
	r = r_find(t, "admin");
	json_decref(r);

	snprintf(path, sizeof(path), "/api/roles/%lld", (long long)id);
	json_decref(afx_req(t->admin, "DELETE", path, NULL, 200));
	json_decref(afx_audit(t, "role_deleted", rid));
	afx_err(t->admin, "GET", path, NULL, 404, NULL);
	afx_err(t->admin, "DELETE", path, NULL, 404, NULL);
	(void)body;
}

/* A permission given to a role reaches a signed-in member on the next request. */
static void
test_roles_effect(void **state)
{
	struct afx *t = *state;
	char path[96];
	json_t *r;
	int64_t id;

	afx_err(t->viewer, "GET", "/api/audit/stats", NULL, 403, NULL);
	r = afx_req(t->admin, "POST", "/api/roles", "{\"name\":\"auditors\",\"app_names\":[]}", 200);
	id = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	snprintf(path, sizeof(path), "/api/roles/%lld/permissions", (long long)id);
	json_decref(afx_req(t->admin, "PUT", path, "{\"permissions\":[\"audit.view\"]}", 200));
	{
		char body[160];
		json_t *v = afx_req(t->admin, "GET", "/api/roles", NULL, 200), *e;
		int64_t viewer = 0;
		size_t i;

		json_array_foreach(v, i, e)
			if (strcmp(json_string_value(json_object_get(e, "name")), "viewer") == 0)
				viewer = json_integer_value(json_object_get(e, "id"));
		json_decref(v);
		snprintf(body, sizeof(body), "{\"role_ids\":[%lld,%lld]}", (long long)viewer,
		    (long long)id);
		snprintf(path, sizeof(path), "/api/users/%lld", (long long)t->viewer_id);
		json_decref(afx_req(t->admin, "PATCH", path, body, 200));
		json_decref(afx_req(t->viewer, "GET", "/api/audit/stats", NULL, 200));
		snprintf(body, sizeof(body), "{\"role_ids\":[%lld]}", (long long)viewer);
		json_decref(afx_req(t->admin, "PATCH", path, body, 200));
	}
	afx_err(t->viewer, "GET", "/api/audit/stats", NULL, 403, NULL);
	snprintf(path, sizeof(path), "/api/roles/%lld", (long long)id);
	json_decref(afx_req(t->admin, "DELETE", path, NULL, 200));
}

static void
test_settings(void **state)
{
	struct afx *t = *state;
	json_t *s, *e, *d;

	s = afx_req(t->admin, "GET", "/api/settings", NULL, 200);
	assert_int_equal(json_object_size(json_object_get(s, "settings")), 2);
	e = json_object_get(json_object_get(s, "settings"), "registration_enabled");
	assert_string_equal(json_string_value(json_object_get(e, "key")), "registration_enabled");
	assert_true(json_is_string(json_object_get(e, "value")));
	assert_true(json_is_string(json_object_get(e, "description")));
	assert_non_null(json_object_get(json_object_get(s, "settings"),
	    "registration_require_approval"));
	json_decref(s);

	e = afx_req(t->admin, "PUT", "/api/settings/registration_require_approval",
	    "{\"value\":\"false\"}", 200);
	assert_string_equal(json_string_value(json_object_get(e, "value")), "false");
	json_decref(e);
	d = afx_audit(t, "system_setting_changed", "registration_require_approval");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "details"),
	    "value")), "false");
	json_decref(d);
	e = afx_req(t->admin, "GET", "/api/settings/registration_require_approval", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(e, "key")),
	    "registration_require_approval");
	assert_string_equal(json_string_value(json_object_get(e, "value")), "false");
	json_decref(e);
	json_decref(afx_req(t->admin, "PUT", "/api/settings/registration_require_approval",
	    "{\"value\":\"true\"}", 200));

	/* decision 9: nothing but the public keys */
	afx_err(t->admin, "GET", "/api/settings/jwt_private_key", NULL, 404, "not found");
	afx_err(t->admin, "GET", "/api/settings/storage_path", NULL, 404, "not found");
	afx_err(t->admin, "PUT", "/api/settings/jwt_private_key", "{\"value\":\"x\"}", 400,
	    "Unknown setting");
	afx_err(t->admin, "PUT", "/api/settings/registration_enabled", "{\"value\":true}", 400,
	    "'value'");
	afx_err(t->admin, "PUT", "/api/settings/registration_enabled", "{\"value\":\"maybe\"}", 400,
	    "'value'");
	afx_err(t->admin, "PUT", "/api/settings/registration_enabled", "{}", 400, "'value'");
	afx_err(t->admin, "PUT", "/api/settings/registration_enabled", "{\"value\"", 400,
	    "Malformed JSON");
}

static void
test_audit_stats(void **state)
{
	struct afx *t = *state;
	json_t *s, *top, *e;
	size_t i;

	s = afx_req(t->admin, "GET", "/api/audit/stats", NULL, 200);
	assert_true(json_integer_value(json_object_get(s, "total_events")) > 0);
	assert_int_equal(json_integer_value(json_object_get(s, "total_events")),
	    json_integer_value(json_object_get(s, "successful_events")) +
	    json_integer_value(json_object_get(s, "failed_events")));
	assert_true(json_is_integer(json_object_get(s, "events_today")));
	assert_true(json_integer_value(json_object_get(s, "events_this_week")) >=
	    json_integer_value(json_object_get(s, "events_today")));
	top = json_object_get(s, "top_actions");
	assert_true(json_array_size(top) >= 1 && json_array_size(top) <= 10);
	json_array_foreach(top, i, e) {
		assert_true(json_is_string(json_object_get(e, "action")));
		assert_true(json_integer_value(json_object_get(e, "count")) >= 1);
	}
	assert_true(json_is_array(json_object_get(s, "recent_failures")));
	assert_true(json_array_size(json_object_get(s, "recent_failures")) <= 10);

	/* the totals kept by audit_counts (0002) agree with counting the rows:
	 * action + success=true and action + success=false are counted with COUNT(*) */
	{
		json_t *all = afx_req(t->admin, "GET", "/api/audit?per_page=1", NULL, 200);
		int64_t total = json_integer_value(json_object_get(all, "total"));

		json_decref(all);
		/* our own GET wrote nothing: the list is not audited */
		assert_int_equal(total, json_integer_value(json_object_get(s, "total_events")));
	}
	json_array_foreach(top, i, e) {
		const char *action = json_string_value(json_object_get(e, "action"));
		char path[160];
		json_t *a, *ok, *ko;

		snprintf(path, sizeof(path), "/api/audit?per_page=1&action=%s", action);
		a = afx_req(t->admin, "GET", path, NULL, 200);
		strcat(path, "&success=true");
		ok = afx_req(t->admin, "GET", path, NULL, 200);
		path[strlen(path) - 4] = '\0';
		strcat(path, "false");
		ko = afx_req(t->admin, "GET", path, NULL, 200);
		assert_int_equal(json_integer_value(json_object_get(a, "total")),
		    json_integer_value(json_object_get(e, "count")));
		assert_int_equal(json_integer_value(json_object_get(a, "total")),
		    json_integer_value(json_object_get(ok, "total")) +
		    json_integer_value(json_object_get(ko, "total")));
		json_decref(a);
		json_decref(ok);
		json_decref(ko);
	}
	json_decref(s);
}

static void
test_audit_clear(void **state)
{
	struct afx *t = *state;
	json_t *c, *s, *d;

	afx_err(t->admin, "POST", "/api/audit/clear", "{\"days\":\"9\"}", 400, "'days'");
	afx_err(t->admin, "POST", "/api/audit/clear", "{\"days\":-1}", 400, "'days'");
	afx_err(t->admin, "POST", "/api/audit/clear", "{\"days\"", 400, "Malformed JSON");
	c = afx_req(t->admin, "POST", "/api/audit/clear", NULL, 200);  /* 90 days: nothing */
	assert_int_equal(json_integer_value(json_object_get(c, "deleted")), 0);
	assert_true(json_is_string(json_object_get(c, "message")));
	json_decref(c);
	c = afx_req(t->admin, "POST", "/api/audit/clear", "{\"days\":0}", 200);
	assert_true(json_integer_value(json_object_get(c, "deleted")) > 0);
	json_decref(c);
	d = afx_audit(t, "audit_cleared", NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "details"), "days")),
	    0);
	json_decref(d);
	s = afx_req(t->admin, "GET", "/api/audit/stats", NULL, 200);
	/* only what was written since: the clear's own entry */
	assert_true(json_integer_value(json_object_get(s, "total_events")) <= 2);
	json_decref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		AFX_T(test_roles_guard),
		AFX_T(test_roles_read),
		AFX_T(test_roles_write),
		AFX_T(test_roles_effect),
		AFX_T(test_settings),
		AFX_T(test_audit_stats),
		AFX_T(test_audit_clear),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("admin_roles", tests, afx_setup, afx_teardown);
}
