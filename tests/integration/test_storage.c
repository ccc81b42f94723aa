/*
 * test_storage.c: /api/storage through the real gateway (API.md 4 Storage, 11,
 * decision 10).
 *
 *   browse       dirs first, then case-insensitive names; shapes; 404/400
 *   info_stats   FileInfo fields; statvfs figures
 *   download     Range (206, open-ended, suffix, clamped, 416, ignored),
 *                HEAD, ETag / If-None-Match / If-Modified-Since / If-Range
 *   symlinks     inside the root followed; out of it (relative, absolute,
 *                loops, chains) refused on every route
 *   traversal    more than 40 hostile paths (.., absolute, encodings, NUL,
 *                control bytes, length, symlinks) x every route -> 400/403,
 *                and nothing outside the root read, created or changed
 *   traversal_walk  the same with KUBARR_STORAGE_NO_OPENAT2 (the O_NOFOLLOW walk)
 *   mkdir_delete create_dir_all, existing -> 400, protected downloads/media,
 *                root, only empty directories, audit entries
 *   upload       create 201, replace 200, into a directory 409, missing parent
 *                404, KUBARR_UPLOAD_MAX_BYTES 413 (declared and chunked),
 *                nothing left behind, audited
 *   abort        the client goes away mid-body: no file, no temporary
 *   permissions  viewer (view + download), no role, no session, CSRF
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"

struct ts {
	struct harness *h;
	struct http_client *admin;
	char root[512];      /* KUBARR_STORAGE_PATH (the default, under the data dir) */
	char outside[512];   /* a directory beside it that must stay untouched */
	int users;
};

static void ts_gateway_env(struct ts *t, const char *key, const char *value);

/* ---- helpers -------------------------------------------------------------- */

static void
ts_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
ts_mkdirs(const char *dir)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static char *
ts_path(struct ts *t, const char *rel)
{
	static char buf[4][1200];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", t->root, rel);
	return b;
}

static bool
ts_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Percent-encodes every byte but [A-Za-z0-9_~-] (so '.' and '/' too). */
static char *
ts_enc(const char *s, size_t n)
{
	char *out = malloc(3 * n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '~' || c == '-')
			*o++ = (char)c;
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	return out;
}

static long
ts_req(struct http_client *c, const char *method, const char *path, const char *body,
    struct http_resp *resp)
{
	http_resp_free(resp);
	memset(resp, 0, sizeof(*resp));
	harness_expect(c, method, path, body, HARNESS_CSRF, 0, resp);
	return resp->status;
}

static json_t *
ts_json(struct http_resp *resp)
{
	json_t *j = http_resp_json(resp);

	if (j == NULL)
		fail_msg("not JSON (%ld): %.300s", resp->status, resp->body);
	return j;
}

static struct http_client *
ts_user_client(struct ts *t, const char *role)
{
	struct http_client *c = NULL;
	char name[64];
	int64_t id;
	long st = 0;

	snprintf(name, sizeof(name), "st_user%d", ++t->users);
	assert_int_equal(harness_create_user(t->h, name, "password-123", role, &id), 0);
	assert_int_equal(harness_client_new(t->h, &c), 0);
	assert_int_equal(harness_login(t->h, c, name, "password-123", &st), 0);
	return c;
}

/* Number of entries of dir whose name starts with prefix (recursive). */
static int
ts_count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char sub[1200];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			n += ts_count_prefix(sub, prefix);
	}
	closedir(d);
	return n;
}

static int64_t
ts_audit_total(struct ts *t, const char *action)
{
	struct http_resp resp = {0};
	char url[256];
	int64_t n;

	snprintf(url, sizeof(url), "/api/audit?action=%s&resource_type=storage", action);
	assert_int_equal(ts_req(t->admin, "GET", url, NULL, &resp), 200);
	n = json_integer_value(json_object_get(ts_json(&resp), "total"));
	http_resp_free(&resp);
	return n;
}

/* ---- browse, info, stats ----------------------------------------------------- */

static void
test_browse(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	const char *want[] = {"a_dir", "B_dir", ".hidden", "A.txt", "b.txt", "c"};
	json_t *j, *items;

	ts_mkdirs(ts_path(t, "lst/a_dir"));
	ts_mkdirs(ts_path(t, "lst/B_dir"));
	ts_write(ts_path(t, "lst/b.txt"), "bb");
	ts_write(ts_path(t, "lst/A.txt"), "a");
	ts_write(ts_path(t, "lst/c"), "c");
	ts_write(ts_path(t, "lst/.hidden"), "h");
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse?path=lst", NULL, &resp), 200);
	j = ts_json(&resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "lst");
	assert_string_equal(json_string_value(json_object_get(j, "parent")), "");
	assert_int_equal(json_integer_value(json_object_get(j, "total_items")), 6);
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *it = json_array_get(items, i);
		char p[64];

		assert_string_equal(json_string_value(json_object_get(it, "name")), want[i]);
		snprintf(p, sizeof(p), "lst/%s", want[i]);
		assert_string_equal(json_string_value(json_object_get(it, "path")), p);
		assert_string_equal(json_string_value(json_object_get(it, "type")),
		    i < 2 ? "directory" : "file");
		assert_non_null(json_object_get(it, "modified"));
		assert_non_null(json_object_get(it, "permissions"));
	}
	assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 4), "size")), 2);
	/* the root: path "", parent null; "/" and "" and no path are the root */
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse", NULL, &resp), 200);
	j = ts_json(&resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "");
	assert_true(json_is_null(json_object_get(j, "parent")));
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse?path=%2F", NULL, &resp), 200);
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse?path=lst%2Fa_dir", NULL,
	    &resp), 200);
	assert_string_equal(json_string_value(json_object_get(ts_json(&resp), "parent")), "lst");
	/* a file is not a directory; a missing path is 404 */
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse?path=lst%2Fc", NULL, &resp),
	    400);
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/browse?path=nope", NULL, &resp), 404);
	http_resp_free(&resp);
}

static void
test_info_stats(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	json_t *j;
	double pct;
	int64_t total, used, freeb;

	ts_mkdirs(ts_path(t, "inf"));
	ts_write(ts_path(t, "inf/f.bin"), "12345");
	chmod(ts_path(t, "inf/f.bin"), 0640);
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/file-info?path=inf%2Ff.bin", NULL,
	    &resp), 200);
	j = ts_json(&resp);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "f.bin");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "inf/f.bin");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "file");
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 5);
	assert_string_equal(json_string_value(json_object_get(j, "permissions")), "640");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "modified"))), 20);
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/file-info?path=inf", NULL, &resp),
	    200);
	assert_string_equal(json_string_value(json_object_get(ts_json(&resp), "type")), "directory");
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/file-info?path=inf%2Fx", NULL,
	    &resp), 404);
	assert_int_equal(ts_req(t->admin, "GET", "/api/storage/stats", NULL, &resp), 200);
	j = ts_json(&resp);
	total = json_integer_value(json_object_get(j, "total_bytes"));
	used = json_integer_value(json_object_get(j, "used_bytes"));
	freeb = json_integer_value(json_object_get(j, "free_bytes"));
	pct = json_number_value(json_object_get(j, "usage_percent"));
	assert_true(total > 0 && used > 0 && freeb > 0 && used + freeb <= total);
	assert_true(pct > 0 && pct <= 100);
	assert_true(pct - (double)used * 100.0 / (double)total < 0.01 &&
	    (double)used * 100.0 / (double)total - pct < 0.01);
	http_resp_free(&resp);
}

/* ---- download ----------------------------------------------------------------- */

static long
ts_get(struct ts *t, const char *path, const char *h1, const char *h2, struct http_resp *resp)
{
	const char *hdrs[] = {h1, h2, NULL};

	http_resp_free(resp);
	memset(resp, 0, sizeof(*resp));
	harness_expect(t->admin, "GET", path, NULL, hdrs, 0, resp);
	return resp->status;
}

static void
test_download(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	char data[1001], hdr[160], etag[96];
	const char *u = "/api/storage/download?path=dl%2Fdata.bin";

	for (int i = 0; i < 1000; i++)
		data[i] = (char)('a' + i % 26);
	data[1000] = '\0';
	ts_mkdirs(ts_path(t, "dl"));
	ts_write(ts_path(t, "dl/data.bin"), data);
	ts_write(ts_path(t, "dl/empty"), "");
	ts_write(ts_path(t, "dl/na\xc3\xafve \"q\".txt"), "x");

	assert_int_equal(ts_get(t, u, NULL, NULL, &resp), 200);
	assert_int_equal(resp.body_len, 1000);
	assert_memory_equal(resp.body, data, 1000);
	assert_true(http_resp_content_type_is(&resp, "application/octet-stream"));
	assert_non_null(strstr(http_resp_header(&resp, "Content-Disposition"),
	    "attachment; filename=\"data.bin\""));
	assert_string_equal(http_resp_header(&resp, "Accept-Ranges"), "bytes");
	assert_non_null(http_resp_header(&resp, "Last-Modified"));
	snprintf(etag, sizeof(etag), "%s", http_resp_header(&resp, "ETag"));
	assert_true(etag[0] == '"');

	/* one range: closed, open-ended, suffix, clamped */
	assert_int_equal(ts_get(t, u, "Range: bytes=0-99", NULL, &resp), 206);
	assert_int_equal(resp.body_len, 100);
	assert_memory_equal(resp.body, data, 100);
	assert_string_equal(http_resp_header(&resp, "Content-Range"), "bytes 0-99/1000");
	assert_int_equal(ts_get(t, u, "Range: bytes=990-", NULL, &resp), 206);
	assert_int_equal(resp.body_len, 10);
	assert_memory_equal(resp.body, data + 990, 10);
	assert_string_equal(http_resp_header(&resp, "Content-Range"), "bytes 990-999/1000");
	assert_int_equal(ts_get(t, u, "Range: bytes=-5", NULL, &resp), 206);
	assert_memory_equal(resp.body, data + 995, 5);
	assert_string_equal(http_resp_header(&resp, "Content-Range"), "bytes 995-999/1000");
	assert_int_equal(ts_get(t, u, "Range: bytes=-5000", NULL, &resp), 206);
	assert_int_equal(resp.body_len, 1000);
	assert_int_equal(ts_get(t, u, "Range: bytes=900-5000", NULL, &resp), 206);
	assert_string_equal(http_resp_header(&resp, "Content-Range"), "bytes 900-999/1000");
	assert_int_equal(ts_get(t, u, "Range: bytes=999-999", NULL, &resp), 206);
	assert_int_equal(resp.body_len, 1);
	/* unsatisfiable */
	assert_int_equal(ts_get(t, u, "Range: bytes=1000-", NULL, &resp), 416);
	assert_string_equal(http_resp_header(&resp, "Content-Range"), "bytes */1000");
	assert_int_equal(ts_get(t, u, "Range: bytes=5000-6000", NULL, &resp), 416);
	assert_int_equal(ts_get(t, u, "Range: bytes=-0", NULL, &resp), 416);
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl%2Fempty", "Range: bytes=0-", NULL,
	    &resp), 416);
	/* ignored: malformed, reversed, several ranges, other units -> the whole file */
	const char *ignored[] = {"Range: bytes=5-2", "Range: bytes=0-1,5-6", "Range: items=0-5",
		"Range: bytes=abc", "Range: bytes=-", "Range: bytes=1-2x",
		"Range: bytes=99999999999999999999999-"};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		assert_int_equal(ts_get(t, u, ignored[i], NULL, &resp), 200);
		assert_int_equal(resp.body_len, 1000);
	}
	/* HEAD: the headers, no body */
	http_resp_free(&resp);
	memset(&resp, 0, sizeof(resp));
	harness_expect(t->admin, "HEAD", u, NULL, NULL, 200, &resp);
	assert_string_equal(http_resp_header(&resp, "Content-Length"), "1000");
	assert_int_equal(resp.body_len, 0);
	assert_string_equal(http_resp_header(&resp, "ETag"), etag);
	/* conditional */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
	assert_int_equal(ts_get(t, u, hdr, NULL, &resp), 304);
	assert_int_equal(resp.body_len, 0);
	assert_int_equal(ts_get(t, u, "If-None-Match: \"other\"", NULL, &resp), 200);
	assert_int_equal(ts_get(t, u, "If-None-Match: *", NULL, &resp), 304);
	assert_int_equal(ts_get(t, u, "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT", NULL,
	    &resp), 304);
	assert_int_equal(ts_get(t, u, "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT", NULL,
	    &resp), 200);
	snprintf(hdr, sizeof(hdr), "If-Range: %s", etag);
	assert_int_equal(ts_get(t, u, "Range: bytes=0-9", hdr, &resp), 206);
	assert_int_equal(ts_get(t, u, "Range: bytes=0-9", "If-Range: \"stale\"", &resp), 200);
	assert_int_equal(resp.body_len, 1000);
	/* empty file, a name that needs quoting, a directory, a missing file, no path */
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl%2Fempty", NULL, NULL, &resp), 200);
	assert_int_equal(resp.body_len, 0);
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl%2Fna%C3%AFve%20%22q%22.txt", NULL,
	    NULL, &resp), 200);
	assert_non_null(strstr(http_resp_header(&resp, "Content-Disposition"),
	    "filename*=UTF-8''na%C3%AFve%20%22q%22.txt"));
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl", NULL, NULL, &resp), 400);
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl%2Fnone", NULL, NULL, &resp), 404);
	assert_int_equal(ts_get(t, "/api/storage/download", NULL, NULL, &resp), 400);
	/* a FIFO planted in the storage does not hang the request */
	assert_int_equal(mkfifo(ts_path(t, "dl/fifo"), 0644), 0);
	assert_int_equal(ts_get(t, "/api/storage/download?path=dl%2Ffifo", NULL, NULL, &resp), 400);
	http_resp_free(&resp);
}

/* ---- symlinks and traversal ------------------------------------------------------ */

/* Links inside the root: followed while they stay inside. */
static void
ts_plant_links(struct ts *t)
{
	char target[1200];

	ts_mkdirs(ts_path(t, "sub/deep"));
	ts_write(ts_path(t, "sub/file.txt"), "inside");
	ts_mkdirs(t->outside);
	snprintf(target, sizeof(target), "%s/secret", t->outside);
	ts_write(target, "root:x:0:0:SECRET");
	symlink("sub/file.txt", ts_path(t, "in_link"));
	symlink("../file.txt", ts_path(t, "sub/deep/up_link"));      /* sub/file.txt */
	symlink("sub", ts_path(t, "in_dir"));
	symlink("../outside/secret", ts_path(t, "out"));              /* relative, out */
	symlink("../outside", ts_path(t, "outdir"));
	symlink(target, ts_path(t, "abs_out"));                       /* absolute, out */
	symlink("/etc", ts_path(t, "abs_etc"));
	symlink(ts_path(t, "sub/file.txt"), ts_path(t, "abs_in"));   /* absolute, in */
	symlink("loop", ts_path(t, "loop"));
	symlink("chain2", ts_path(t, "chain1"));
	symlink("sub/../../outside", ts_path(t, "chain2"));
	symlink("../../../outside/secret", ts_path(t, "sub/deep/out3"));
}

static void
test_symlinks(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	json_t *items;
	bool seen = false;

	ts_plant_links(t);
	assert_int_equal(ts_get(t, "/api/storage/download?path=in_link", NULL, NULL, &resp), 200);
	assert_string_equal(resp.body, "inside");
	assert_int_equal(ts_get(t, "/api/storage/download?path=sub%2Fdeep%2Fup_link", NULL, NULL,
	    &resp), 200);
	assert_string_equal(resp.body, "inside");
	assert_int_equal(ts_get(t, "/api/storage/browse?path=in_dir", NULL, NULL, &resp), 200);
	assert_int_equal(ts_get(t, "/api/storage/file-info?path=in_dir%2Ffile.txt", NULL, NULL,
	    &resp), 200);
	/* absolute links are refused even when they point inside (RESOLVE_BENEATH) */
	assert_int_equal(ts_get(t, "/api/storage/download?path=abs_in", NULL, NULL, &resp), 403);
	/* the listing describes links (lstat), never what is behind them */
	assert_int_equal(ts_get(t, "/api/storage/browse", NULL, NULL, &resp), 200);
	items = json_object_get(ts_json(&resp), "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);

		if (strcmp(json_string_value(json_object_get(it, "name")), "out") == 0) {
			seen = true;
			assert_string_equal(json_string_value(json_object_get(it, "type")), "file");
			assert_int_equal(json_integer_value(json_object_get(it, "size")),
			    strlen("../outside/secret"));
		}
	}
	assert_true(seen);
	assert_null(strstr(resp.body, "SECRET"));
	/* out of the root: every route refuses */
	const char *outs[] = {"out", "outdir", "outdir%2Fsecret", "abs_out", "abs_etc",
		"abs_etc%2Fpasswd", "loop", "chain1", "chain1%2Fsecret", "sub%2Fdeep%2Fout3"};
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		const char *routes[] = {"browse", "file-info", "download"};
		char url[256];

		for (size_t k = 0; k < 3; k++) {
			snprintf(url, sizeof(url), "/api/storage/%s?path=%s", routes[k], outs[i]);
			if (ts_get(t, url, NULL, NULL, &resp) != 403)
				fail_msg("%s: %ld %s", url, resp.status, resp.body);
			assert_null(strstr(resp.body, "SECRET"));
		}
	}
	/* deleting a link that leads out is refused too; the target stays */
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=out", NULL, &resp), 403);
	assert_true(ts_exists(ts_path(t, "out")));
	http_resp_free(&resp);
}

/* Decoded hostile paths: every route answers 400 or 403. */
static const char *const ts_hostile[] = {
	"..", "../", "/..", "../..", "../../..", "../etc/passwd", "../../../../../../etc/passwd",
	"/../etc/passwd", "//../etc", "a/../../b", "sub/../..", "sub/./../..", "./..", "./../x",
	"sub/..", "a/..", "..//..", "...//..", "../storage", "../outside/secret",
	"downloads/../../outside", "media/../..", "sub/deep/../../../outside",
	"\x01", "a\nb", "a\rb", "tab\there", "..\t", "del\x7f", "esc\x1b[0m",
	/* symlinks that lead out */
	"out", "outdir", "outdir/secret", "outdir/new", "abs_out", "abs_etc", "abs_etc/passwd",
	"loop", "loop/x", "chain1", "chain1/secret", "sub/deep/out3", "abs_in",
};

/* Raw query strings (sent as is): encodings of the same tricks, and NUL. */
static const char *const ts_hostile_raw[] = {
	"%2e%2e", "%2E%2E", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc", "..%2f..%2fetc",
	".%2e/.%2e", "%2e./x", "%2e%2e%2f%5c", "sub%2f%2e%2e%2f%2e%2e", "%2f%2e%2e", "..%2F",
	"%00", "a%00b", "%2e%2e%00", "sub%00/../..", "file.txt%00.jpg", "%2e%2e%2f%00",
	"%2F%2E%2E%2Foutside", "a%2F..%2F..%2Foutside%2Fsecret", "%0a", "%7f",
};

static void
ts_hostile_all(struct ts *t, const char *q, const char *decoded, size_t dlen)
{
	struct http_resp resp = {0};
	const char *routes[] = {"GET browse", "GET file-info", "GET download", "HEAD download",
		"DELETE delete", "PUT upload"};
	char url[16384];

	for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++) {
		char method[8];
		const char *route = strchr(routes[k], ' ') + 1;

		snprintf(method, sizeof(method), "%.*s", (int)(route - routes[k] - 1), routes[k]);
		snprintf(url, sizeof(url), "/api/storage/%s?path=%s", route, q);
		http_resp_free(&resp);
		memset(&resp, 0, sizeof(resp));
		harness_expect(t->admin, method, url, strcmp(method, "PUT") == 0 ? "payload" : NULL,
		    HARNESS_CSRF, 0, &resp);
		if (resp.status != 400 && resp.status != 403)
			fail_msg("%s %s: %ld %s", method, url, resp.status, resp.body);
		if (resp.body_len > 0)
			assert_null(strstr(resp.body, "SECRET"));
	}
	/* mkdir takes the path in JSON */
	if (decoded != NULL) {
		json_t *b = json_object();
		char *text;

		json_object_set_new(b, "path", json_stringn_nocheck(decoded, dlen));
		text = json_dumps(b, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(b);
		if (ts_req(t->admin, "POST", "/api/storage/mkdir", text, &resp) != 400 &&
		    resp.status != 403)
			fail_msg("mkdir %s: %ld %s", text, resp.status, resp.body);
		free(text);
	}
	http_resp_free(&resp);
}

static void
test_traversal(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	char secret[1200], buf[64] = "";
	size_t n = 0;
	FILE *f;

	ts_plant_links(t);
	for (size_t i = 0; i < sizeof(ts_hostile) / sizeof(ts_hostile[0]); i++, n++) {
		char *q = ts_enc(ts_hostile[i], strlen(ts_hostile[i]));

		ts_hostile_all(t, q, ts_hostile[i], strlen(ts_hostile[i]));
		free(q);
	}
	for (size_t i = 0; i < sizeof(ts_hostile_raw) / sizeof(ts_hostile_raw[0]); i++, n++)
		ts_hostile_all(t, ts_hostile_raw[i], NULL, 0);
	/* NUL inside the JSON of mkdir */
	ts_hostile_all(t, "x%00y", "x\0y", 3);
	/* too long: a path over PATH_MAX, a segment over NAME_MAX */
	{
		char *lp = malloc(5001), seg[301];

		memset(lp, 'a', 5000);
		for (int i = 100; i < 5000; i += 100)
			lp[i] = '/';
		lp[5000] = '\0';
		memset(seg, 'b', 300);
		seg[300] = '\0';
		/* the test client's URL buffer is smaller than PATH_MAX: the query
		 * gets the segment over NAME_MAX, mkdir's JSON the path over PATH_MAX */
		ts_hostile_all(t, seg, seg, 300);
		{
			json_t *b = json_pack("{s:s}", "path", lp);
			char *text = json_dumps(b, JSON_COMPACT);

			assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", text, &resp), 400);
			free(text);
			json_decref(b);
		}
		free(lp);
		n += 3;
	}
	assert_true(n >= 40);
	print_message("%zu hostile paths x 7 routes: all 400/403\n", n);
	/* nothing outside changed, nothing created beside the root */
	snprintf(secret, sizeof(secret), "%s/secret", t->outside);
	f = fopen(secret, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "root:x:0:0:SECRET");
	{
		DIR *d = opendir(t->outside);
		struct dirent *de;
		int entries = 0;

		while ((de = readdir(d)) != NULL)
			entries += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(entries, 1);
	}
	assert_int_equal(ts_count_prefix(t->root, ".kubarr-upload"), 0);
	/* an absolute path means the root (the reference strips the leading '/'):
	 * "/etc/passwd" is <root>/etc/passwd, which does not exist */
	assert_int_equal(ts_get(t, "/api/storage/download?path=%2Fetc%2Fpasswd", NULL, NULL, &resp),
	    404);
	assert_int_equal(ts_get(t, "/api/storage/browse?path=%2Fetc", NULL, NULL, &resp), 404);
	/* double encoding is a literal name, never a traversal */
	assert_int_equal(ts_get(t, "/api/storage/browse?path=%252e%252e", NULL, NULL, &resp), 404);
	http_resp_free(&resp);
}

/* The same suite with the fallback walk (KUBARR_STORAGE_NO_OPENAT2=true, what
 * a kernel without openat2 gets): every symlink refused, plain paths served. */
static void
test_traversal_walk(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};

	ts_plant_links(t);
	ts_gateway_env(t, "KUBARR_STORAGE_NO_OPENAT2", "true");
	for (size_t i = 0; i < sizeof(ts_hostile) / sizeof(ts_hostile[0]); i++) {
		char *q = ts_enc(ts_hostile[i], strlen(ts_hostile[i]));

		ts_hostile_all(t, q, ts_hostile[i], strlen(ts_hostile[i]));
		free(q);
	}
	for (size_t i = 0; i < sizeof(ts_hostile_raw) / sizeof(ts_hostile_raw[0]); i++)
		ts_hostile_all(t, ts_hostile_raw[i], NULL, 0);
	/* links that stay inside are refused too; plain paths work */
	assert_int_equal(ts_get(t, "/api/storage/download?path=in_link", NULL, NULL, &resp), 403);
	assert_int_equal(ts_get(t, "/api/storage/browse?path=in_dir", NULL, NULL, &resp), 403);
	assert_int_equal(ts_get(t, "/api/storage/download?path=sub%2Ffile.txt", NULL, NULL, &resp),
	    200);
	assert_string_equal(resp.body, "inside");
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"walk/a\"}",
	    &resp), 200);
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=walk%2Fa%2Ff", "w", &resp),
	    201);
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=walk%2Fa%2Ff", NULL,
	    &resp), 200);
	ts_gateway_env(t, "KUBARR_STORAGE_NO_OPENAT2", NULL);
	assert_int_equal(ts_get(t, "/api/storage/download?path=in_link", NULL, NULL, &resp), 200);
	http_resp_free(&resp);
}

/* ---- mkdir and delete ------------------------------------------------------------ */

static void
test_mkdir_delete(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	int64_t mk0 = ts_audit_total(t, "storage_mkdir"), del0 = ts_audit_total(t, "storage_delete");
	struct stat st;

	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"/mk/a/b\"}",
	    &resp), 200);
	assert_int_equal(stat(ts_path(t, "mk/a/b"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"mk/a/b\"}",
	    &resp), 400);
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"mk/./a//c/\"}",
	    &resp), 200);
	assert_true(ts_exists(ts_path(t, "mk/a/c")));
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"\"}", &resp),
	    400);
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{}", &resp), 400);
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":5}", &resp), 400);
	ts_write(ts_path(t, "mk/file"), "f");
	assert_int_equal(ts_req(t->admin, "POST", "/api/storage/mkdir", "{\"path\":\"mk/file/x\"}",
	    &resp), 400);
	assert_int_equal(ts_audit_total(t, "storage_mkdir"), mk0 + 2);

	/* delete: only empty directories, files, never the root or a protected folder */
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=mk", NULL, &resp), 400);
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=mk%2Fa%2Fb", NULL,
	    &resp), 200);
	assert_false(ts_exists(ts_path(t, "mk/a/b")));
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=mk%2Ffile", NULL,
	    &resp), 200);
	assert_false(ts_exists(ts_path(t, "mk/file")));
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=mk%2Ffile", NULL,
	    &resp), 404);
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete", NULL, &resp), 400);
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=", NULL, &resp), 403);
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=%2F", NULL, &resp),
	    403);
	ts_mkdirs(ts_path(t, "downloads"));
	ts_mkdirs(ts_path(t, "media"));
	ts_mkdirs(ts_path(t, "sub2/downloads"));
	const char *prot[] = {"downloads", "media", "%2Fdownloads", "downloads%2F", ".%2Fmedia",
		"%2F%2Fmedia%2F%2F"};
	for (size_t i = 0; i < sizeof(prot) / sizeof(prot[0]); i++) {
		char url[128];

		snprintf(url, sizeof(url), "/api/storage/delete?path=%s", prot[i]);
		assert_int_equal(ts_req(t->admin, "DELETE", url, NULL, &resp), 403);
	}
	assert_true(ts_exists(ts_path(t, "downloads")) && ts_exists(ts_path(t, "media")));
	/* only top-level names are protected */
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=sub2%2Fdownloads", NULL,
	    &resp), 200);
	/* a link inside is removed itself, not what it points to */
	ts_mkdirs(ts_path(t, "keep"));
	ts_write(ts_path(t, "keep/k"), "k");
	symlink("keep/k", ts_path(t, "klink"));
	assert_int_equal(ts_req(t->admin, "DELETE", "/api/storage/delete?path=klink", NULL, &resp),
	    200);
	assert_false(ts_exists(ts_path(t, "klink")));
	assert_true(ts_exists(ts_path(t, "keep/k")));
	assert_int_equal(ts_audit_total(t, "storage_delete"), del0 + 4);
	http_resp_free(&resp);
}

/* ---- upload ------------------------------------------------------------------------ */

struct ts_src {
	size_t left;
};

static size_t
ts_src_read(char *buf, size_t size, size_t n, void *arg)
{
	struct ts_src *s = arg;
	size_t k = size * n < s->left ? size * n : s->left;

	memset(buf, 'z', k);
	s->left -= k;
	return k;
}

static size_t
ts_discard(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;
}

/* A chunked PUT (no Content-Length) of `bytes` bytes with c's cookies. */
static long
ts_put_chunked(struct ts *t, struct http_client *c, const char *path, size_t bytes)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct ts_src src = {.left = bytes};
	char url[512], cookie[4096], ch[4200];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", harness_base_url(t->h), path);
	assert_int_equal(http_client_cookie_header(c, cookie, sizeof(cookie)), 0);
	snprintf(ch, sizeof(ch), "Cookie: %s", cookie);
	hl = curl_slist_append(hl, ch);
	hl = curl_slist_append(hl, "X-Requested-With: XMLHttpRequest");
	hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, ts_src_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &src);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ts_discard);
	curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	return status;
}

static void
ts_gateway_env(struct ts *t, const char *key, const char *value)
{
	assert_int_equal(harness_kill(t->h, "gateway", SIGTERM), 0);
	if (value != NULL)
		assert_int_equal(harness_setenv(t->h, key, value), 0);
	else
		harness_unsetenv(t->h, key);
	assert_int_equal(harness_restart(t->h, "gateway"), 0);
	/* the new gateway dials its backends in the background */
	assert_int_equal(harness_wait_http_status(t->h, "/api/system/ready", 200, 10000, NULL), 0);
}

static void
test_upload(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	int64_t up0 = ts_audit_total(t, "storage_upload");
	json_t *j;

	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fa.txt", "hello",
	    &resp), 404);
	ts_mkdirs(ts_path(t, "upd/dir"));
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fa.txt", "hello",
	    &resp), 201);
	j = ts_json(&resp);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "upd/a.txt");
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 5);
	assert_int_equal(ts_get(t, "/api/storage/download?path=upd%2Fa.txt", NULL, NULL, &resp),
	    200);
	assert_string_equal(resp.body, "hello");
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fa.txt",
	    "hello again", &resp), 200);
	assert_int_equal(ts_get(t, "/api/storage/download?path=upd%2Fa.txt", NULL, NULL, &resp),
	    200);
	assert_string_equal(resp.body, "hello again");
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fempty", "", &resp),
	    201);
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fdir", "x", &resp),
	    409);
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=", "x", &resp), 400);
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload", "x", &resp), 400);
	/* bigger than KUBARR_HTTP_MAX_BODY_BYTES (1 MiB): uploads are not buffered */
	assert_int_equal(ts_put_chunked(t, t->admin, "/api/storage/upload?path=upd%2Fbig", 5 << 20),
	    201);
	{
		struct stat st;

		assert_int_equal(stat(ts_path(t, "upd/big"), &st), 0);
		assert_int_equal(st.st_size, 5 << 20);
	}
	assert_int_equal(ts_audit_total(t, "storage_upload"), up0 + 4);
	assert_int_equal(ts_count_prefix(t->root, ".kubarr-upload"), 0);

	/* KUBARR_UPLOAD_MAX_BYTES: declared (Content-Length) and counted (chunked) */
	ts_gateway_env(t, "KUBARR_UPLOAD_MAX_BYTES", "1000");
	{
		char *big = malloc(2001);

		memset(big, 'q', 2000);
		big[2000] = '\0';
		assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Flimit", big,
		    &resp), 413);
		free(big);
	}
	assert_int_equal(ts_put_chunked(t, t->admin, "/api/storage/upload?path=upd%2Flimit2",
	    200000), 413);
	assert_false(ts_exists(ts_path(t, "upd/limit")));
	assert_false(ts_exists(ts_path(t, "upd/limit2")));
	assert_int_equal(ts_req(t->admin, "PUT", "/api/storage/upload?path=upd%2Fsmall", "small",
	    &resp), 201);
	ts_gateway_env(t, "KUBARR_UPLOAD_MAX_BYTES", NULL);
	assert_int_equal(ts_count_prefix(t->root, ".kubarr-upload"), 0);
	http_resp_free(&resp);
}

/* The client sends half the body and goes away. */
static void
test_abort(void **state)
{
	struct ts *t = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct http_resp resp = {0};
	char cookie[4096], head[6000];
	static char chunk[65536];
	int fd;

	ts_mkdirs(ts_path(t, "ab"));
	assert_int_equal(http_client_cookie_header(t->admin, cookie, sizeof(cookie)), 0);
	sa.sin_port = htons((uint16_t)harness_http_port(t->h));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (int round = 0; round < 3; round++) {
		size_t sent = 0;

		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		snprintf(head, sizeof(head),
		    "PUT /api/storage/upload?path=ab%%2Fpartial HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Cookie: %s\r\nX-Requested-With: x\r\nContent-Length: 104857600\r\n\r\n", cookie);
		assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
		memset(chunk, 'p', sizeof(chunk));
		while (sent < (size_t)(round + 1) * (1u << 20)) {
			ssize_t n = write(fd, chunk, sizeof(chunk));

			assert_true(n > 0);
			sent += (size_t)n;
		}
		usleep(200000);
		close(fd);
	}
	/* the gateway notices, closes the temporary: nothing left */
	for (long until = harness_now_ms() + 5000; harness_now_ms() < until;) {
		if (ts_count_prefix(ts_path(t, "ab"), "") == 0)
			break;
		usleep(50000);
	}
	assert_int_equal(ts_count_prefix(ts_path(t, "ab"), ""), 0);
	assert_int_equal(ts_get(t, "/api/storage/browse?path=ab", NULL, NULL, &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(ts_json(&resp), "total_items")), 0);
	http_resp_free(&resp);
}

/* ---- permissions ---------------------------------------------------------------- */

static void
test_permissions(void **state)
{
	struct ts *t = *state;
	struct http_resp resp = {0};
	struct http_client *viewer = ts_user_client(t, "viewer");
	struct http_client *nobody = ts_user_client(t, NULL);
	struct http_client *anon = NULL;
	const char *views[] = {"/api/storage/browse", "/api/storage/stats",
		"/api/storage/file-info?path=pm%2Ff", "/api/storage/download?path=pm%2Ff"};

	ts_mkdirs(ts_path(t, "pm/d"));
	ts_write(ts_path(t, "pm/f"), "perm");
	assert_int_equal(harness_client_new(t->h, &anon), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(ts_req(viewer, "GET", views[i], NULL, &resp), 200);
		assert_int_equal(ts_req(nobody, "GET", views[i], NULL, &resp), 403);
		assert_non_null(strstr(resp.body, "Permission denied: storage."));
		assert_int_equal(ts_req(anon, "GET", views[i], NULL, &resp), 401);
	}
	assert_int_equal(ts_req(viewer, "POST", "/api/storage/mkdir", "{\"path\":\"pm/v\"}", &resp),
	    403);
	assert_int_equal(ts_req(viewer, "DELETE", "/api/storage/delete?path=pm%2Ff", NULL, &resp),
	    403);
	assert_int_equal(ts_req(viewer, "DELETE", "/api/storage/delete?path=pm%2Fd", NULL, &resp),
	    403);
	assert_int_equal(ts_req(viewer, "PUT", "/api/storage/upload?path=pm%2Fv", "x", &resp), 403);
	assert_int_equal(ts_put_chunked(t, viewer, "/api/storage/upload?path=pm%2Fv2", 3 << 20), 403);
	assert_int_equal(ts_req(anon, "PUT", "/api/storage/upload?path=pm%2Fv", "x", &resp), 401);
	assert_int_equal(ts_req(nobody, "POST", "/api/storage/mkdir", "{\"path\":\"pm/v\"}", &resp),
	    403);
	assert_false(ts_exists(ts_path(t, "pm/v")));
	assert_false(ts_exists(ts_path(t, "pm/v2")));
	assert_true(ts_exists(ts_path(t, "pm/f")) && ts_exists(ts_path(t, "pm/d")));
	/* CSRF: a cookie-authenticated upload from another origin */
	{
		const char *evil[] = {"Origin: http://evil.example", NULL};

		http_resp_free(&resp);
		memset(&resp, 0, sizeof(resp));
		harness_expect(t->admin, "PUT", "/api/storage/upload?path=pm%2Fcsrf", "x", evil, 403,
		    &resp);
		assert_false(ts_exists(ts_path(t, "pm/csrf")));
	}
	http_resp_free(&resp);
	http_client_free(&viewer);
	http_client_free(&nobody);
	http_client_free(&anon);
}

/* ---- setup ---------------------------------------------------------------------- */

static int
ts_setup(void **state)
{
	struct ts *t = calloc(1, sizeof(*t));

	*state = t;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (harness_start(&t->h) != 0)
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/storage", harness_data_dir(t->h));
	snprintf(t->outside, sizeof(t->outside), "%s/outside", harness_data_dir(t->h));
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0)
		return -1;
	return ts_exists(t->root) ? 0 : -1;   /* the gateway created the default root */
}

static int
ts_teardown(void **state)
{
	struct ts *t = *state;
	int rc = 0;

	if (t->h != NULL && harness_finish(t->h) != 0)
		rc = -1;
	http_client_free(&t->admin);
	harness_free(&t->h);
	curl_global_cleanup();
	free(t);
	return rc;
}

static int
ts_begin(void **state)
{
	harness_test_begin(((struct ts *)*state)->h);
	return 0;
}

static int
ts_end(void **state)
{
	struct ts *t = *state;
	int rc = harness_test_pass(t->h);

	harness_test_end(t->h);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ts_begin, ts_end)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_browse),
		T(test_info_stats),
		T(test_download),
		T(test_symlinks),
		T(test_traversal),
		T(test_traversal_walk),
		T(test_mkdir_delete),
		T(test_upload),
		T(test_abort),
		T(test_permissions),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests_name("storage", tests, ts_setup, ts_teardown);
}
