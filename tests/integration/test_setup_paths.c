/*
 * test_setup_paths.c: POST /api/setup/validate-path and GET /api/setup/browse
 * over a temporary tree given as KUBARR_HOST_BROWSE_PREFIX (API.md section 4
 * Setup, decision 10).
 *
 *   browse     directories only, sorted, hidden ones and /tmp, /proc... at
 *              the top skipped; {path, parent, directories:[{name, path}]};
 *              paths are the client's (the prefix never shows); a symlink out
 *              of the tree, "..", "." and relative paths are refused (400);
 *              a missing directory is 404, a file 400
 *   validate   {valid, exists, writable, message} for a writable directory,
 *              a missing path, a file, a read-only directory
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"

static char t_root[600];

static void
t_mkdir(const char *rel, mode_t mode)
{
	char p[800];

	snprintf(p, sizeof(p), "%s%s", t_root, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void
t_touch(const char *rel)
{
	char p[800];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", t_root, rel);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
}

static struct harness *
t_start(void)
{
	struct harness *h;
	char p[800], l[800];

	assert_int_equal(harness_init(&h), 0);
	snprintf(t_root, sizeof(t_root), "%s/host", harness_tmp_dir(h));
	assert_int_equal(mkdir(t_root, 0755), 0);
	t_mkdir("/media", 0755);
	t_mkdir("/media/movies", 0755);
	t_mkdir("/media/tv", 0755);
	t_mkdir("/media/.cache", 0755);
	t_mkdir("/backups", 0755);
	t_mkdir("/.secret", 0755);
	t_mkdir("/tmp", 0755);     /* skipped at the top, as on a real host */
	t_mkdir("/proc", 0755);
	t_mkdir("/readonly", 0555);
	t_touch("/notes.txt");
	t_touch("/media/readme.md");
	snprintf(p, sizeof(p), "%s/media", t_root);
	snprintf(l, sizeof(l), "%s/linked", t_root);
	assert_int_equal(symlink(p, l), 0);
	snprintf(l, sizeof(l), "%s/escape", t_root);   /* out of the tree */
	assert_int_equal(symlink("/etc", l), 0);
	assert_int_equal(harness_setenv(h, "KUBARR_HOST_BROWSE_PREFIX", t_root), 0);
	if (harness_launch(h) != 0) {
		harness_print_log_tails(h, 40);
		fail_msg("daemons did not start");
	}
	return h;
}

static json_t *
t_get(struct http_client *c, const char *method, const char *path, long want,
    struct http_resp *resp)
{
	json_t *j;

	harness_expect(c, method, path, NULL, NULL, want, resp);
	if ((j = http_resp_json(resp)) == NULL)
		fail_msg("%s: not JSON: %.300s", path, resp->body);
	return j;
}

/* directories must be exactly `names` (in order), each {name, path = base/name} */
static void
t_dirs(json_t *j, const char *base, const char *const *names, size_t n)
{
	json_t *dirs = json_object_get(j, "directories");

	assert_true(json_is_array(dirs));
	if (json_array_size(dirs) != n)
		fail_msg("%zu directories, expected %zu: %s", json_array_size(dirs), n,
		    json_dumps(dirs, 0));
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(dirs, i);
		char want[300];

		assert_int_equal(json_object_size(d), 2);
		assert_string_equal(json_string_value(json_object_get(d, "name")), names[i]);
		snprintf(want, sizeof(want), "%s/%s", strcmp(base, "/") == 0 ? "" : base, names[i]);
		assert_string_equal(json_string_value(json_object_get(d, "path")), want);
	}
}

static void
test_browse(void **state)
{
	struct harness *h = t_start();
	struct http_client *c;
	struct http_resp resp = {0};
	static const char *const top[] = {"backups", "linked", "media", "readonly"};
	static const char *const media[] = {"movies", "tv"};
	json_t *j;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	/* the top: no path means / */
	j = t_get(c, "GET", "/api/setup/browse", 200, &resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/");
	assert_true(json_is_null(json_object_get(j, "parent")));
	assert_int_equal(json_object_size(j), 3);
	t_dirs(j, "/", top, 4);
	assert_null(strstr(resp.body, t_root));   /* the prefix never shows */
	http_resp_free(&resp);

	j = t_get(c, "GET", "/api/setup/browse?path=/media", 200, &resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/media");
	assert_string_equal(json_string_value(json_object_get(j, "parent")), "/");
	t_dirs(j, "/media", media, 2);
	http_resp_free(&resp);
	/* a symlink inside the tree is followed; the answer keeps the client's path */
	j = t_get(c, "GET", "/api/setup/browse?path=/linked/", 200, &resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/linked");
	t_dirs(j, "/linked", media, 2);
	http_resp_free(&resp);
	j = t_get(c, "GET", "/api/setup/browse?path=/media/tv", 200, &resp);
	assert_string_equal(json_string_value(json_object_get(j, "parent")), "/media");
	t_dirs(j, "/media/tv", NULL, 0);
	http_resp_free(&resp);

	/* refused */
	t_get(c, "GET", "/api/setup/browse?path=/escape", 400, &resp);   /* symlink out */
	http_resp_free(&resp);
	t_get(c, "GET", "/api/setup/browse?path=/media/..", 400, &resp);
	http_resp_free(&resp);
	t_get(c, "GET", "/api/setup/browse?path=/../../etc", 400, &resp);
	http_resp_free(&resp);
	t_get(c, "GET", "/api/setup/browse?path=media", 400, &resp);
	http_resp_free(&resp);
	t_get(c, "GET", "/api/setup/browse?path=/nowhere", 404, &resp);
	http_resp_free(&resp);
	t_get(c, "GET", "/api/setup/browse?path=/notes.txt", 400, &resp);
	http_resp_free(&resp);

	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

static void
t_validate(struct http_client *c, const char *path, bool valid, bool exists, bool writable)
{
	struct http_resp resp = {0};
	char url[300];
	json_t *j;

	snprintf(url, sizeof(url), "/api/setup/validate-path?path=%s", path);
	j = t_get(c, "POST", url, 200, &resp);
	if (json_is_true(json_object_get(j, "valid")) != valid ||
	    json_is_true(json_object_get(j, "exists")) != exists ||
	    json_is_true(json_object_get(j, "writable")) != writable)
		fail_msg("%s: %s", path, resp.body);
	assert_true(json_is_boolean(json_object_get(j, "valid")));
	assert_true(json_is_boolean(json_object_get(j, "exists")));
	assert_true(json_is_boolean(json_object_get(j, "writable")));
	assert_true(json_is_string(json_object_get(j, "message")));
	http_resp_free(&resp);
}

static void
test_validate(void **state)
{
	struct harness *h = t_start();
	struct http_client *c;
	struct http_resp resp = {0};

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	t_validate(c, "/media/movies", true, true, true);
	t_validate(c, "/media/missing", false, false, false);
	t_validate(c, "/notes.txt", false, true, false);
	if (geteuid() != 0)   /* root writes anywhere */
		t_validate(c, "/readonly", false, true, false);
	t_validate(c, "/", true, true, true);
	t_get(c, "POST", "/api/setup/validate-path?path=/escape", 400, &resp);
	http_resp_free(&resp);
	t_get(c, "POST", "/api/setup/validate-path?path=/media/../..", 400, &resp);
	http_resp_free(&resp);
	t_get(c, "POST", "/api/setup/validate-path", 400, &resp);
	http_resp_free(&resp);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_browse),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
