/* admin_fx: what the test_admin_*.c files share: one set of daemons, an
 * admin and a viewer signed in, an anonymous client, requests that must
 * answer a given status, the 401/403 matrix and audit read-back. */
#ifndef KUBARR_TESTS_ADMIN_FX_H
#define KUBARR_TESTS_ADMIN_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"

struct afx {
	struct harness *h;
	struct http_client *admin, *viewer, *anon;
	int64_t admin_id, viewer_id;
	int seq;
};

/* unsafe requests: CSRF header plus a User-Agent the audit must record */
static const char *const AFX_HDRS[] = {"X-Requested-With: XMLHttpRequest",
    "User-Agent: kubarr-admin-test", NULL};
#define AFX_UA "kubarr-admin-test"

/* method path body -> want; the parsed body (a new reference, or NULL if not JSON). */
static inline json_t *
afx_req(struct http_client *c, const char *method, const char *path, const char *body, long want)
{
	struct http_resp resp = {0};
	json_t *j;

	harness_expect(c, method, path, body, AFX_HDRS, want, &resp);
	j = http_resp_json(&resp);
	if (j != NULL)
		json_incref(j);
	http_resp_free(&resp);
	return j;
}

/* An error answer: want and a detail containing `needle` (NULL: any detail). */
static inline void
afx_err(struct http_client *c, const char *method, const char *path, const char *body, long want,
    const char *needle)
{
	json_t *j = afx_req(c, method, path, body, want);
	const char *d = json_string_value(json_object_get(j, "detail"));

	if (d == NULL)
		fail_msg("%s %s: no detail", method, path);
	if (needle != NULL && strstr(d, needle) == NULL)
		fail_msg("%s %s: detail \"%s\" lacks \"%s\"", method, path, d, needle);
	json_decref(j);
}

/* 401 without a session; 403 naming perm for the viewer (perm NULL: any user). */
static inline void
afx_guard(struct afx *t, const char *method, const char *path, const char *body, const char *perm)
{
	char want[128];

	afx_err(t->anon, method, path, body, 401, NULL);
	if (perm == NULL)
		return;
	snprintf(want, sizeof(want), "Permission denied: %s required", perm);
	afx_err(t->viewer, method, path, body, 403, want);
}

/* The newest audit entry with `action` and resource_id (NULL: any), written
 * by the admin with the client's address and User-Agent.  New reference. */
static inline json_t *
afx_audit_any(struct afx *t, const char *action, const char *resource_id)
{
	char path[256];
	json_t *j, *logs, *e = NULL;
	size_t i;

	snprintf(path, sizeof(path), "/api/audit?action=%s&per_page=100", action);
	/* the gateway's entries are written before it answers; authd's (password
	 * reset, self-deletion) are fire-and-forget: poll for up to 2 s */
	for (int tries = 0;; tries++) {
		j = afx_req(t->admin, "GET", path, NULL, 200);
		logs = json_object_get(j, "logs");
		json_array_foreach(logs, i, e) {
			const char *rid = json_string_value(json_object_get(e, "resource_id"));

			if (resource_id == NULL || (rid != NULL && strcmp(rid, resource_id) == 0))
				break;
		}
		if (e != NULL && i < json_array_size(logs))
			break;
		json_decref(j);
		if (tries == 100)
			fail_msg("no audit entry %s for %s", action, resource_id ? resource_id : "*");
		usleep(20000);
	}
	json_incref(e);
	json_decref(j);
	return e;
}

static inline json_t *
afx_audit(struct afx *t, const char *action, const char *resource_id)
{
	json_t *e = afx_audit_any(t, action, resource_id);

	assert_int_equal(json_integer_value(json_object_get(e, "user_id")), t->admin_id);
	assert_string_equal(json_string_value(json_object_get(e, "username")), HARNESS_ADMIN_USER);
	assert_non_null(json_string_value(json_object_get(e, "ip_address")));
	assert_string_equal(json_string_value(json_object_get(e, "user_agent")), AFX_UA);
	assert_true(json_is_true(json_object_get(e, "success")));
	return e;
}

static inline int
afx_setup(void **state)
{
	struct afx *t = calloc(1, sizeof(*t));
	char name[64];
	long st = 0;

	*state = t;
	if (harness_start(&t->h) != 0)
		return -1;
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0 ||
	    harness_client_new(t->h, &t->viewer) != 0 || harness_client_new(t->h, &t->anon) != 0)
		return -1;
	snprintf(name, sizeof(name), "viewer%d", getpid());
	if (harness_create_user(t->h, name, "password-123", "viewer", &t->viewer_id) != 0 ||
	    harness_login(t->h, t->viewer, name, "password-123", &st) != 0)
		return -1;
	{
		json_t *me = afx_req(t->admin, "GET", "/api/users/me", NULL, 200);

		t->admin_id = json_integer_value(json_object_get(me, "id"));
		json_decref(me);
	}
	return 0;
}

static inline int
afx_teardown(void **state)
{
	struct afx *t = *state;
	int rc = 0;

	if (t->h != NULL && harness_finish(t->h) != 0)
		rc = -1;
	http_client_free(&t->admin);
	http_client_free(&t->viewer);
	http_client_free(&t->anon);
	harness_free(&t->h);
	free(t);
	return rc;
}

static inline int
afx_begin(void **state)
{
	harness_test_begin(((struct afx *)*state)->h);
	return 0;
}

static inline int
afx_end(void **state)
{
	struct afx *t = *state;
	int rc = harness_test_pass(t->h);

	harness_test_end(t->h);
	return rc;
}

#define AFX_T(fn) cmocka_unit_test_setup_teardown(fn, afx_begin, afx_end)

#endif
