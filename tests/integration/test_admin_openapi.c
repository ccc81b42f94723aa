/*
 * test_admin_openapi.c: GET /api/openapi.json against the gateway's own route
 * table (linked from kubarr_gateway_core: the same array the gateway serves),
 * and GET /api/docs.
 *
 *   spec_covers_table   every route of the table is documented with its
 *                       summary and permission, and nothing else is
 *   documented_answer   every documented GET without parameters answers
 *                       (not 404) for the admin
 *   docs_page           self-contained HTML: no external script or style
 */
#include "admin_fx.h"

#include <ctype.h>

#include "router.h"

static void
test_spec_covers_table(void **state)
{
	struct afx *t = *state;
	json_t *doc = afx_req(t->anon, "GET", "/api/openapi.json", NULL, 200), *paths, *item, *op;
	const struct route *rt;
	size_t n, ops = 0;
	const char *path;

	rt = router_table(&n);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	assert_true(json_is_string(json_object_get(json_object_get(doc, "info"), "version")));
	paths = json_object_get(doc, "paths");
	for (size_t i = 0; i < n; i++) {
		char m[16];
		const char *perm;
		size_t k;

		for (k = 0; rt[i].method[k] != '\0' && k + 1 < sizeof(m); k++)
			m[k] = (char)tolower((unsigned char)rt[i].method[k]);
		m[k] = '\0';
		op = json_object_get(json_object_get(paths, rt[i].pattern), m);
		if (op == NULL)
			fail_msg("%s %s is not documented", rt[i].method, rt[i].pattern);
		assert_string_equal(json_string_value(json_object_get(op, "summary")), rt[i].summary);
		perm = json_string_value(json_object_get(op, "x-permission"));
		if (rt[i].permission == ROUTE_PUBLIC) {
			assert_true(json_is_null(json_object_get(op, "x-permission")));
			assert_int_equal(json_array_size(json_object_get(op, "security")), 0);
		} else if (rt[i].permission[0] == '\0') {
			assert_string_equal(perm, "authenticated");
		} else {
			assert_string_equal(perm, rt[i].permission);
			assert_non_null(json_object_get(json_object_get(op, "responses"), "403"));
		}
		if (strchr(rt[i].pattern, '{') != NULL)
			assert_true(json_array_size(json_object_get(op, "parameters")) >= 1);
	}
	json_object_foreach(paths, path, item)
		ops += json_object_size(item);
	assert_int_equal(ops, n);  /* nothing documented that the table lacks */
	json_decref(doc);
}

static void
test_documented_answer(void **state)
{
	struct afx *t = *state;
	json_t *doc = afx_req(t->anon, "GET", "/api/openapi.json", NULL, 200), *item;
	const char *path;
	int checked = 0;

	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		struct http_resp resp = {0};

		if (json_object_get(item, "get") == NULL || strchr(path, '{') != NULL)
			continue;
		harness_expect(t->admin, "GET", path, NULL, AFX_HDRS, 0, &resp);
		if (resp.status == 0 || resp.status == 404 || resp.status == 405)
			fail_msg("documented GET %s answered %ld", path, resp.status);
		http_resp_free(&resp);
		checked++;
	}
	assert_true(checked >= 20);
	json_decref(doc);
}

static void
test_docs_page(void **state)
{
	struct afx *t = *state;
	struct http_resp resp = {0};

	harness_expect(t->anon, "GET", "/api/docs", NULL, NULL, 200, &resp);
	assert_true(http_resp_content_type_is(&resp, "text/html"));
	assert_non_null(strstr(resp.body, "/api/openapi.json"));
	assert_non_null(strstr(resp.body, "<script>"));
	assert_null(strstr(resp.body, "<script src"));
	assert_null(strstr(resp.body, "<link"));
	assert_null(strstr(resp.body, "https://"));
	assert_null(strstr(resp.body, "http://"));
	http_resp_free(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		AFX_T(test_spec_covers_table),
		AFX_T(test_documented_answer),
		AFX_T(test_docs_page),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("admin_openapi", tests, afx_setup, afx_teardown);
}
