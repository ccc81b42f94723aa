/*
 * test_admin_users.c: /api/users through the gateway, real daemons, real
 * HTTP (API.md 4 Users, 3.6 Invites, decisions 7 and 17).
 *
 *   guard       401 without a session, 403 for a viewer, on every route
 *   create      UserResponse field by field, audit, each kind of bad input
 *   list_get    pages, one user, bad and unknown ids
 *   update      email, flags, role_ids; audit; bad input; nothing written
 *   pending     registered users await approval; approve, reject
 *   delete      own id refused; deleted user is gone; audit
 *   reset       admin password reset ends the user's sessions; audit
 *   me          PATCH /me, preferences
 *   invites     create, list, valid at /auth/invite, delete; audit
 */
#include "admin_fx.h"

#define U_CREATE "{\"username\":\"%s\",\"email\":\"%s@example.org\",\"password\":\"password-123\",\"role_ids\":[%s]}"

static void
u_shape(json_t *u)
{
	json_t *roles = json_object_get(u, "roles"), *r;
	size_t i;

	assert_true(json_is_integer(json_object_get(u, "id")));
	assert_true(json_is_string(json_object_get(u, "username")));
	assert_true(json_is_string(json_object_get(u, "email")));
	assert_true(json_is_boolean(json_object_get(u, "is_active")));
	assert_true(json_is_boolean(json_object_get(u, "is_approved")));
	assert_int_equal(json_string_length(json_object_get(u, "created_at")), 24);
	assert_int_equal(json_string_length(json_object_get(u, "updated_at")), 24);
	assert_true(json_is_array(roles));
	json_array_foreach(roles, i, r) {
		assert_true(json_is_integer(json_object_get(r, "id")));
		assert_true(json_is_string(json_object_get(r, "name")));
		assert_non_null(json_object_get(r, "description"));
	}
	assert_true(json_is_string(json_object_get(json_object_get(u, "preferences"), "theme")));
	assert_true(json_is_array(json_object_get(u, "permissions")));
	assert_true(json_is_array(json_object_get(u, "allowed_apps")));
}

/* The id of a role by name, through GET /api/roles. */
static int64_t
u_role_id(struct afx *t, const char *name)
{
	json_t *a = afx_req(t->admin, "GET", "/api/roles", NULL, 200), *r;
	int64_t id = 0;
	size_t i;

	json_array_foreach(a, i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
			id = json_integer_value(json_object_get(r, "id"));
	json_decref(a);
	assert_true(id > 0);
	return id;
}

/* A new user through POST /api/users; its UserResponse. */
static json_t *
u_create(struct afx *t, const char *prefix, const char *role_ids, char *name, size_t len)
{
	char body[512];

	snprintf(name, len, "%s%d", prefix, ++t->seq);
	snprintf(body, sizeof(body), U_CREATE, name, name, role_ids);
	return afx_req(t->admin, "POST", "/api/users", body, 200);
}

static void
test_guard(void **state)
{
	struct afx *t = *state;

	afx_guard(t, "GET", "/api/users", NULL, "users.view");
	afx_guard(t, "POST", "/api/users", "{}", "users.manage");
	afx_guard(t, "GET", "/api/users/pending", NULL, "users.view");
	afx_guard(t, "GET", "/api/users/invites", NULL, "users.manage");
	afx_guard(t, "POST", "/api/users/invites", "{}", "users.manage");
	afx_guard(t, "DELETE", "/api/users/invites/1", NULL, "users.manage");
	afx_guard(t, "GET", "/api/users/1", NULL, "users.view");
	afx_guard(t, "PATCH", "/api/users/1", "{}", "users.manage");
	afx_guard(t, "DELETE", "/api/users/1", NULL, "users.manage");
	afx_guard(t, "POST", "/api/users/1/approve", NULL, "users.manage");
	afx_guard(t, "POST", "/api/users/1/reject", NULL, "users.manage");
	afx_guard(t, "PATCH", "/api/users/1/password", "{}", "users.reset_password");
	afx_guard(t, "PATCH", "/api/users/me", "{}", NULL);
	afx_guard(t, "DELETE", "/api/users/me", "{}", NULL);
	afx_guard(t, "GET", "/api/users/me/preferences", NULL, NULL);
	afx_guard(t, "PATCH", "/api/users/me/preferences", "{}", NULL);
}

static void
test_create(void **state)
{
	struct afx *t = *state;
	char name[64], ids[32], rid[24], body[512];
	int64_t viewer = u_role_id(t, "viewer");
	json_t *u, *roles, *a, *d;
	size_t n;

	snprintf(ids, sizeof(ids), "%lld", (long long)viewer);
	u = u_create(t, "made", ids, name, sizeof(name));
	u_shape(u);
	assert_string_equal(json_string_value(json_object_get(u, "username")), name);
	assert_true(json_is_true(json_object_get(u, "is_active")));
	assert_true(json_is_true(json_object_get(u, "is_approved")));
	roles = json_object_get(u, "roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 0), "name")),
	    "viewer");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(roles, 0), "id")), viewer);
	assert_true(json_array_size(json_object_get(u, "permissions")) > 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(u, "preferences"),
	    "theme")), "system");
	snprintf(rid, sizeof(rid), "%lld", (long long)json_integer_value(json_object_get(u, "id")));
	json_decref(u);
	d = afx_audit(t, "user_created", rid);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "details"),
	    "username")), name);
	json_decref(d);
	/* the new user signs in with that password */
	{
		struct http_client *c = NULL;
		long st = 0;

		assert_int_equal(harness_client_new(t->h, &c), 0);
		assert_int_equal(harness_login(t->h, c, name, "password-123", &st), 0);
		http_client_free(&c);
	}

	/* bad input: 400 naming the problem, nothing written */
	u = afx_req(t->admin, "GET", "/api/users?limit=1000", NULL, 200);
	n = json_array_size(u);
	json_decref(u);
	afx_err(t->admin, "POST", "/api/users", "{\"username\":", 400, "Malformed JSON");
	afx_err(t->admin, "POST", "/api/users", "[]", 400, "JSON object");
	afx_err(t->admin, "POST", "/api/users", "", 400, "body");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"x1@example.org\"}", 400, "'password'");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":7,\"email\":\"x1@example.org\",\"password\":\"password-123\"}", 400,
	    "'username' must be a string");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"nope\",\"password\":\"password-123\"}", 400,
	    "'email'");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"x1@example.org\",\"password\":\"short\"}", 400,
	    "8 characters");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"x1@example.org\",\"password\":\"password-123\","
	    "\"role_ids\":\"viewer\"}", 400, "'role_ids' must be an array");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"x1@example.org\",\"password\":\"password-123\","
	    "\"role_ids\":[\"1\"]}", 400, "positive integers");
	afx_err(t->admin, "POST", "/api/users",
	    "{\"username\":\"x1abc\",\"email\":\"x1@example.org\",\"password\":\"password-123\","
	    "\"role_ids\":[999999]}", 400, "role 999999 not found");
	snprintf(body, sizeof(body), U_CREATE, name, "other", "");
	afx_err(t->admin, "POST", "/api/users", body, 400, NULL);  /* duplicate username */
	{
		/* oversize: 413 before any handler runs */
		size_t big = 2u << 20;
		char *huge = malloc(big + 64);

		snprintf(huge, 64, "{\"username\":\"bigbody\",\"email\":\"");
		memset(huge + strlen(huge), 'a', big);
		strcpy(huge + big, "@x.org\",\"password\":\"password-123\"}");
		afx_err(t->admin, "POST", "/api/users", huge, 413, "too large");
		free(huge);
	}
	a = afx_req(t->admin, "GET", "/api/users?limit=1000", NULL, 200);
	assert_int_equal(json_array_size(a), n);
	json_decref(a);
}

static void
test_list_get(void **state)
{
	struct afx *t = *state;
	char name[64], path[64];
	json_t *u, *a, *b;
	int64_t id;

	u = u_create(t, "list", "", name, sizeof(name));
	id = json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	a = afx_req(t->admin, "GET", "/api/users", NULL, 200);
	assert_true(json_array_size(a) >= 3);
	u_shape(json_array_get(a, 0));
	json_decref(a);
	a = afx_req(t->admin, "GET", "/api/users?skip=0&limit=1", NULL, 200);
	b = afx_req(t->admin, "GET", "/api/users?skip=1&limit=1", NULL, 200);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(json_array_size(b), 1);
	assert_true(json_integer_value(json_object_get(json_array_get(a, 0), "id")) <
	    json_integer_value(json_object_get(json_array_get(b, 0), "id")));
	json_decref(a);
	json_decref(b);
	/* the page (rendered without jansson) equals each user's own answer, escaping
	 * included: a role whose description needs every kind of escape */
	{
		json_t *ro = afx_req(t->admin, "POST", "/api/roles",
		    "{\"name\":\"esc\\\"role\",\"description\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 \u00e9\u4e2d\"}", 200);
		char body[96], p2[64];
		size_t i;
		json_t *e;

		snprintf(body, sizeof(body), "{\"role_ids\":[%lld]}",
		    (long long)json_integer_value(json_object_get(ro, "id")));
		snprintf(p2, sizeof(p2), "/api/users/%lld", (long long)id);
		json_decref(afx_req(t->admin, "PATCH", p2, body, 200));
		json_decref(ro);
		a = afx_req(t->admin, "GET", "/api/users?limit=1000", NULL, 200);
		json_array_foreach(a, i, e) {
			snprintf(p2, sizeof(p2), "/api/users/%lld",
			    (long long)json_integer_value(json_object_get(e, "id")));
			b = afx_req(t->admin, "GET", p2, NULL, 200);
			if (!json_equal(e, b)) {
				char *x = json_dumps(e, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);

				fail_msg("page entry %s != %s", x, y);
			}
			json_decref(b);
		}
		json_decref(a);
	}
	afx_err(t->admin, "GET", "/api/users?limit=0", NULL, 400, "'limit'");
	afx_err(t->admin, "GET", "/api/users?limit=abc", NULL, 400, "'limit'");
	afx_err(t->admin, "GET", "/api/users?skip=-1", NULL, 400, "'skip'");
	snprintf(path, sizeof(path), "/api/users/%lld", (long long)id);
	u = afx_req(t->admin, "GET", path, NULL, 200);
	u_shape(u);
	assert_string_equal(json_string_value(json_object_get(u, "username")), name);
	assert_int_equal(json_array_size(json_object_get(u, "roles")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(u,
	    "roles"), 0), "name")), "esc\"role");
	json_decref(u);
	afx_err(t->admin, "GET", "/api/users/abc", NULL, 400, "Invalid user id");
	afx_err(t->admin, "GET", "/api/users/0", NULL, 400, "Invalid user id");
	afx_err(t->admin, "GET", "/api/users/99999999", NULL, 404, "User not found");
}

static void
test_update(void **state)
{
	struct afx *t = *state;
	char name[64], path[64], body[256], rid[24];
	int64_t id, viewer = u_role_id(t, "viewer"), downloader = u_role_id(t, "downloader");
	json_t *u, *roles, *d;

	u = u_create(t, "upd", "", name, sizeof(name));
	id = json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	snprintf(path, sizeof(path), "/api/users/%lld", (long long)id);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	snprintf(body, sizeof(body), "{\"email\":\"%s-new@example.org\",\"role_ids\":[%lld,%lld]}",
	    name, (long long)viewer, (long long)downloader);
	u = afx_req(t->admin, "PATCH", path, body, 200);
	u_shape(u);
	assert_non_null(strstr(json_string_value(json_object_get(u, "email")), "-new@"));
	roles = json_object_get(u, "roles");
	assert_int_equal(json_array_size(roles), 2);
	json_decref(u);
	d = afx_audit(t, "user_updated", rid);
	assert_int_equal(json_array_size(json_object_get(json_object_get(d, "details"), "roles")), 2);
	json_decref(d);
	u = afx_req(t->admin, "PATCH", path, "{\"is_active\":false}", 200);
	assert_true(json_is_false(json_object_get(u, "is_active")));
	json_decref(u);
	json_decref(afx_audit(t, "user_deactivated", rid));
	u = afx_req(t->admin, "PATCH", path, "{\"role_ids\":[]}", 200);
	assert_int_equal(json_array_size(json_object_get(u, "roles")), 0);
	json_decref(u);

	afx_err(t->admin, "PATCH", path, "{\"is_active\":\"yes\"}", 400, "'is_active'");
	afx_err(t->admin, "PATCH", path, "{\"email\":\"none\"}", 400, "'email'");
	afx_err(t->admin, "PATCH", path, "{\"role_ids\":[0]}", 400, "'role_ids'");
	afx_err(t->admin, "PATCH", path, "{\"role_ids\":[424242]}", 400, "role 424242");
	afx_err(t->admin, "PATCH", path, "{bad", 400, "Malformed JSON");
	afx_err(t->admin, "PATCH", "/api/users/x", "{}", 400, "Invalid user id");
	afx_err(t->admin, "PATCH", "/api/users/88888888", "{\"is_active\":true}", 404, NULL);
	/* nothing was written by the refusals */
	u = afx_req(t->admin, "GET", path, NULL, 200);
	assert_true(json_is_false(json_object_get(u, "is_active")));
	assert_non_null(strstr(json_string_value(json_object_get(u, "email")), "-new@"));
	json_decref(u);
}

/* POST /auth/register without an invite: an unapproved user; its id. */
static int64_t
u_register(struct afx *t, char *name, size_t len)
{
	char body[256];
	json_t *j;
	int64_t id;

	json_decref(afx_req(t->admin, "PUT", "/api/settings/registration_enabled",
	    "{\"value\":\"true\"}", 200));
	json_decref(afx_req(t->admin, "PUT", "/api/settings/registration_require_approval",
	    "{\"value\":\"true\"}", 200));
	snprintf(name, len, "reg%d", ++t->seq);
	snprintf(body, sizeof(body),
	    "{\"username\":\"%s\",\"email\":\"%s@example.org\",\"password\":\"password-123\"}",
	    name, name);
	{
		struct http_resp resp = {0};

		harness_expect(t->anon, "POST", "/auth/register", body, AFX_HDRS, 0, &resp);
		if (resp.status != 200 && resp.status != 201)
			fail_msg("register: %ld %s", resp.status, resp.body);
		j = json_incref(http_resp_json(&resp));
		http_resp_free(&resp);
	}
	assert_true(json_is_false(json_object_get(j, "is_approved")));
	id = json_integer_value(json_object_get(j, "user_id"));
	json_decref(j);
	return id;
}

static void
test_pending(void **state)
{
	struct afx *t = *state;
	char name[64], other[64], path[96], rid[24];
	int64_t id = u_register(t, name, sizeof(name)), id2 = u_register(t, other, sizeof(other));
	json_t *a, *u, *d;
	size_t i;
	bool seen = false;

	a = afx_req(t->admin, "GET", "/api/users/pending", NULL, 200);
	json_array_foreach(a, i, u) {
		u_shape(u);
		assert_true(json_is_false(json_object_get(u, "is_approved")));
		if (json_integer_value(json_object_get(u, "id")) == id)
			seen = true;
	}
	assert_true(seen);
	json_decref(a);
	afx_err(t->admin, "GET", "/api/users/pending?limit=5000", NULL, 400, "'limit'");

	snprintf(path, sizeof(path), "/api/users/%lld/approve", (long long)id);
	u = afx_req(t->admin, "POST", path, NULL, 200);
	u_shape(u);
	assert_true(json_is_true(json_object_get(u, "is_approved")));
	assert_true(json_is_true(json_object_get(u, "is_active")));
	json_decref(u);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	json_decref(afx_audit(t, "user_approved", rid));
	afx_err(t->admin, "POST", "/api/users/nope/approve", NULL, 400, "Invalid user id");
	afx_err(t->admin, "POST", "/api/users/77777777/approve", NULL, 404, NULL);

	snprintf(path, sizeof(path), "/api/users/%lld/reject", (long long)id2);
	json_decref(afx_req(t->admin, "POST", path, NULL, 200));
	snprintf(rid, sizeof(rid), "%lld", (long long)id2);
	d = afx_audit(t, "user_deleted", rid);
	assert_true(json_is_true(json_object_get(json_object_get(d, "details"), "rejected")));
	json_decref(d);
	snprintf(path, sizeof(path), "/api/users/%lld", (long long)id2);
	afx_err(t->admin, "GET", path, NULL, 404, NULL);
	snprintf(path, sizeof(path), "/api/users/%lld/reject", (long long)id2);
	afx_err(t->admin, "POST", path, NULL, 404, NULL);
}

static void
test_delete(void **state)
{
	struct afx *t = *state;
	char name[64], path[64], rid[24];
	json_t *u;
	int64_t id;

	snprintf(path, sizeof(path), "/api/users/%lld", (long long)t->admin_id);
	afx_err(t->admin, "DELETE", path, NULL, 400, "own account");
	u = u_create(t, "del", "", name, sizeof(name));
	id = json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	snprintf(path, sizeof(path), "/api/users/%lld", (long long)id);
	u = afx_req(t->admin, "DELETE", path, NULL, 200);
	assert_true(json_is_string(json_object_get(u, "message")));
	json_decref(u);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	json_decref(afx_audit(t, "user_deleted", rid));
	afx_err(t->admin, "GET", path, NULL, 404, NULL);
	afx_err(t->admin, "DELETE", path, NULL, 404, NULL);
	afx_err(t->admin, "DELETE", "/api/users/-3", NULL, 400, "Invalid user id");
}

static void
test_reset(void **state)
{
	struct afx *t = *state;
	char name[64], path[96], rid[24];
	struct http_client *c = NULL;
	json_t *u, *d;
	int64_t id;
	long st = 0;

	u = u_create(t, "rst", "", name, sizeof(name));
	id = json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	assert_int_equal(harness_client_new(t->h, &c), 0);
	assert_int_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	json_decref(afx_req(c, "GET", "/api/users/me", NULL, 200));

	snprintf(path, sizeof(path), "/api/users/%lld/password", (long long)id);
	afx_err(t->admin, "PATCH", path, "{\"new_password\":\"short\"}", 400, "8 characters");
	afx_err(t->admin, "PATCH", path, "{\"new_password\":12345678}", 400, "'new_password'");
	afx_err(t->admin, "PATCH", path, "{}", 400, "'new_password'");
	afx_err(t->admin, "PATCH", path, "{", 400, "Malformed JSON");
	afx_err(t->admin, "PATCH", "/api/users/99999991/password",
	    "{\"new_password\":\"password-456\"}", 404, NULL);
	snprintf(rid, sizeof(rid), "/api/users/%lld/password", (long long)t->admin_id);
	afx_err(t->admin, "PATCH", rid, "{\"new_password\":\"password-456\"}", 400, NULL);
	/* the refusals changed nothing: the user's session still works */
	json_decref(afx_req(c, "GET", "/api/users/me", NULL, 200));

	u = afx_req(t->admin, "PATCH", path, "{\"new_password\":\"password-456\"}", 200);
	assert_true(json_is_string(json_object_get(u, "message")));
	assert_true(json_integer_value(json_object_get(u, "revoked_sessions")) >= 1);
	json_decref(u);
	/* that user's session is gone at once; the new password works, the old one not */
	afx_err(c, "GET", "/api/users/me", NULL, 401, NULL);
	assert_int_not_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	assert_int_equal(harness_login(t->h, c, name, "password-456", &st), 0);
	http_client_free(&c);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	d = afx_audit(t, "password_changed", rid);
	assert_true(json_is_true(json_object_get(json_object_get(d, "details"), "reset_by_admin")));
	json_decref(d);
}

static void
test_me(void **state)
{
	struct afx *t = *state;
	char name[64], body[160];
	struct http_client *c = NULL;
	json_t *u;
	long st = 0;

	u = u_create(t, "me", "", name, sizeof(name));
	json_decref(u);
	assert_int_equal(harness_client_new(t->h, &c), 0);
	assert_int_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	snprintf(body, sizeof(body), "{\"email\":\"%s-me@example.org\"}", name);
	u = afx_req(c, "PATCH", "/api/users/me", body, 200);
	u_shape(u);
	assert_non_null(strstr(json_string_value(json_object_get(u, "email")), "-me@"));
	json_decref(u);
	snprintf(body, sizeof(body), "{\"username\":\"%s\"}", name);
	json_decref(afx_req(c, "PATCH", "/api/users/me", body, 200));
	afx_err(c, "PATCH", "/api/users/me", "{\"username\":\"ab\"}", 400, "'username'");
	afx_err(c, "PATCH", "/api/users/me", "{\"username\":\"admin\"}", 400, "username");
	/* a rename: the session goes on (it refers to the id) and shows the new name at once */
	snprintf(body, sizeof(body), "{\"username\":\"%s-new\"}", name);
	u = afx_req(c, "PATCH", "/api/users/me", body, 200);
	assert_non_null(strstr(json_string_value(json_object_get(u, "username")), "-new"));
	json_decref(u);
	u = afx_req(c, "GET", "/api/users/me", NULL, 200);
	assert_non_null(strstr(json_string_value(json_object_get(u, "username")), "-new"));
	json_decref(u);
	afx_err(c, "PATCH", "/api/users/me", "{\"email\":\"bad\"}", 400, "'email'");
	afx_err(c, "PATCH", "/api/users/me", "{\"email\":false}", 400, "'email'");
	afx_err(c, "PATCH", "/api/users/me", "nope", 400, "Malformed JSON");

	u = afx_req(c, "GET", "/api/users/me/preferences", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(u, "theme")), "system");
	json_decref(u);
	u = afx_req(c, "PATCH", "/api/users/me/preferences", "{\"theme\":\"dark\"}", 200);
	assert_string_equal(json_string_value(json_object_get(u, "theme")), "dark");
	json_decref(u);
	afx_err(c, "PATCH", "/api/users/me/preferences", "{\"theme\":\"purple\"}", 400, "'theme'");
	afx_err(c, "PATCH", "/api/users/me/preferences", "{\"theme\":1}", 400, "'theme'");
	afx_err(c, "PATCH", "/api/users/me/preferences", "{}", 400, "'theme'");
	u = afx_req(c, "GET", "/api/users/me/preferences", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(u, "theme")), "dark");
	json_decref(u);
	http_client_free(&c);
}

static void
test_me_delete(void **state)
{
	struct afx *t = *state;
	char name[64], rid[24];
	struct http_client *c = NULL;
	json_t *u, *d;
	int64_t id;
	long st = 0;

	/* the only admin cannot delete itself, even with the right password */
	afx_err(t->admin, "DELETE", "/api/users/me", "{\"password\":\"" HARNESS_ADMIN_PASSWORD
	    "\"}", 400, "last administrator");
	json_decref(afx_req(t->admin, "GET", "/api/users/me", NULL, 200));

	u = u_create(t, "gone", "", name, sizeof(name));
	id = json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	assert_int_equal(harness_client_new(t->h, &c), 0);
	assert_int_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	afx_err(c, "DELETE", "/api/users/me", "{\"password\":\"wrong-password\"}", 400,
	    "incorrect");
	afx_err(c, "DELETE", "/api/users/me", "{}", 400, "'password'");
	afx_err(c, "DELETE", "/api/users/me", "{\"password\":1}", 400, "'password'");
	afx_err(c, "DELETE", "/api/users/me", NULL, 400, "body");
	json_decref(afx_req(c, "GET", "/api/users/me", NULL, 200));  /* still there */
	u = afx_req(c, "DELETE", "/api/users/me", "{\"password\":\"password-123\"}", 200);
	assert_true(json_is_string(json_object_get(u, "message")));
	json_decref(u);
	afx_err(c, "GET", "/api/users/me", NULL, 401, NULL);
	assert_int_not_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	http_client_free(&c);
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	d = afx_audit_any(t, "user_deleted", rid);
	assert_int_equal(json_integer_value(json_object_get(d, "user_id")), id);
	assert_true(json_is_true(json_object_get(json_object_get(d, "details"), "self")));
	assert_string_equal(json_string_value(json_object_get(d, "user_agent")), AFX_UA);
	json_decref(d);
	snprintf(rid, sizeof(rid), "/api/users/%lld", (long long)id);
	afx_err(t->admin, "GET", rid, NULL, 404, NULL);
}

static void
test_invites(void **state)
{
	struct afx *t = *state;
	char path[160], rid[24];
	const char *code;
	json_t *v, *a, *e, *d;
	int64_t id;
	size_t i;
	bool seen = false;

	v = afx_req(t->admin, "POST", "/api/users/invites", "{\"expires_in_days\":3}", 200);
	code = json_string_value(json_object_get(v, "code"));
	assert_int_equal(strlen(code), 64);
	assert_int_equal(strspn(code, "0123456789abcdef"), 64);
	assert_true(json_is_integer(json_object_get(v, "id")));
	assert_string_equal(json_string_value(json_object_get(v, "created_by_username")),
	    HARNESS_ADMIN_USER);
	assert_true(json_is_null(json_object_get(v, "used_by_username")));
	assert_true(json_is_false(json_object_get(v, "is_used")));
	assert_int_equal(json_string_length(json_object_get(v, "expires_at")), 24);
	assert_int_equal(json_string_length(json_object_get(v, "created_at")), 24);
	assert_true(json_is_null(json_object_get(v, "used_at")));
	id = json_integer_value(json_object_get(v, "id"));
	snprintf(rid, sizeof(rid), "%lld", (long long)id);
	d = afx_audit(t, "invite_created", rid);
	/* the code is a credential: never in the log */
	{
		char *text = json_dumps(d, JSON_COMPACT);

		assert_null(strstr(text, code));
		free(text);
	}
	json_decref(d);
	snprintf(path, sizeof(path), "/auth/invite/%s", code);
	e = afx_req(t->anon, "GET", path, NULL, 200);
	assert_true(json_is_true(json_object_get(e, "valid")));
	json_decref(e);

	/* no body: 7 days; 0: never expires */
	e = afx_req(t->admin, "POST", "/api/users/invites", NULL, 200);
	assert_int_equal(json_string_length(json_object_get(e, "expires_at")), 24);
	json_decref(e);
	e = afx_req(t->admin, "POST", "/api/users/invites", "{\"expires_in_days\":0}", 200);
	assert_true(json_is_null(json_object_get(e, "expires_at")));
	json_decref(e);
	afx_err(t->admin, "POST", "/api/users/invites", "{\"expires_in_days\":\"7\"}", 400,
	    "'expires_in_days'");
	afx_err(t->admin, "POST", "/api/users/invites", "{\"expires_in_days\":99999}", 400,
	    "'expires_in_days'");
	afx_err(t->admin, "POST", "/api/users/invites", "{x", 400, "Malformed JSON");

	a = afx_req(t->admin, "GET", "/api/users/invites", NULL, 200);
	json_array_foreach(a, i, e)
		if (json_integer_value(json_object_get(e, "id")) == id)
			seen = true;
	assert_true(seen);
	json_decref(a);

	snprintf(path, sizeof(path), "/api/users/invites/%lld", (long long)id);
	json_decref(afx_req(t->admin, "DELETE", path, NULL, 200));
	json_decref(afx_audit(t, "invite_deleted", rid));
	afx_err(t->admin, "DELETE", path, NULL, 404, "Invite not found");
	afx_err(t->admin, "DELETE", "/api/users/invites/zz", NULL, 400, "Invalid invite id");
	snprintf(path, sizeof(path), "/auth/invite/%s", code);
	e = afx_req(t->anon, "GET", path, NULL, 0);
	assert_false(json_is_true(json_object_get(e, "valid")));
	json_decref(e);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		AFX_T(test_guard),
		AFX_T(test_create),
		AFX_T(test_list_get),
		AFX_T(test_update),
		AFX_T(test_pending),
		AFX_T(test_delete),
		AFX_T(test_reset),
		AFX_T(test_me),
		AFX_T(test_me_delete),
		AFX_T(test_invites),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("admin_users", tests, afx_setup, afx_teardown);
}
