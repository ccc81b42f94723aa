/* test_s3_sign: storaged/s3_sign.c against botocore.  The vectors
 * (tests/unit/fixtures/s3_sign_vectors.json) come from s3_sign_vectors.py,
 * which signs the same requests with botocore's S3SigV4Auth at a fixed time;
 * ctest's unit_s3_sign_vectors re-runs it to prove the file is still what
 * botocore says.  Here: canonical request, string to sign, signature and
 * Authorization compared byte for byte, case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sign.h"

#define S3T_MAX_PAIRS 16

static json_t *s3t_doc;

static size_t
s3t_pairs(json_t *arr, struct s3_sign_pair *p)
{
	size_t i;
	json_t *v;

	assert_true(json_array_size(arr) <= S3T_MAX_PAIRS);
	json_array_foreach(arr, i, v) {
		p[i].name = json_string_value(json_array_get(v, 0));
		p[i].value = json_string_value(json_array_get(v, 1));
		assert_non_null(p[i].name);
		assert_non_null(p[i].value);
	}
	return json_array_size(arr);
}

static const char *
s3t_str(json_t *c, const char *k)
{
	const char *s = json_string_value(json_object_get(c, k));

	assert_non_null(s);
	return s;
}

static void
test_botocore_vectors(void **state)
{
	json_t *cases = json_object_get(s3t_doc, "cases"), *c;
	size_t i;

	(void)state;
	assert_true(json_array_size(cases) >= 15);
	json_array_foreach(cases, i, c) {
		struct s3_sign_pair q[S3T_MAX_PAIRS], h[S3T_MAX_PAIRS];
		struct s3_sign_req req = {0};
		struct s3_sign_out out;
		const char *err = NULL, *body = s3t_str(c, "body");
		char hash[S3_SIGN_HASH_HEX];

		s3_sign_sha256_hex(body, strlen(body), hash);
		assert_string_equal(hash, s3t_str(c, "payload_hash"));
		req.method = s3t_str(c, "method");
		req.host = s3t_str(c, "host");
		req.path = s3t_str(c, "path");
		req.nquery = s3t_pairs(json_object_get(c, "query"), q);
		req.query = q;
		req.nheaders = s3t_pairs(json_object_get(c, "headers"), h);
		req.headers = h;
		req.payload_hash = hash;
		req.amz_date = s3t_str(c, "amz_date");
		req.region = s3t_str(c, "region");
		req.access_key = s3t_str(c, "access_key");
		req.secret_key = s3t_str(c, "secret_key");
		req.session_token = s3t_str(c, "session_token");
		if (s3_sign(&req, &out, &err) != 0)
			fail_msg("%s: %s", s3t_str(c, "name"), err);
		if (strcmp(out.canonical_request, s3t_str(c, "canonical_request")) != 0)
			fail_msg("%s: canonical request\n--- ours\n%s\n--- botocore\n%s",
			    s3t_str(c, "name"), out.canonical_request,
			    s3t_str(c, "canonical_request"));
		assert_string_equal(out.string_to_sign, s3t_str(c, "string_to_sign"));
		assert_string_equal(out.signature, s3t_str(c, "signature"));
		assert_string_equal(out.authorization, s3t_str(c, "authorization"));
		s3_sign_out_fini(&out);
	}
}

/* The encoded path and query are what goes on the wire. */
static void
test_wire_forms(void **state)
{
	struct s3_sign_pair q[] = {{"uploadId", "a/b+c"}, {"partNumber", "2"}, {"uploads", ""}};
	struct s3_sign_req req = {.method = "PUT", .host = "h", .path = "/b/k ey//é%2F/",
	    .query = q, .nquery = 3,
	    .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    .amz_date = "20261123T182000Z", .region = "us-east-1", .access_key = "A",
	    .secret_key = "S"};
	struct s3_sign_out out;
	const char *err = NULL;
	char *e;

	(void)state;
	assert_int_equal(s3_sign(&req, &out, &err), 0);
	assert_string_equal(out.path, "/b/k%20ey//%C3%A9%252F/");
	assert_string_equal(out.query, "partNumber=2&uploadId=a%2Fb%2Bc&uploads=");
	assert_string_equal(out.signed_headers, "host;x-amz-content-sha256;x-amz-date");
	s3_sign_out_fini(&out);
	e = s3_sign_uri_encode("-_.~AZaz09 /+*", 0);
	assert_string_equal(e, "-_.~AZaz09%20%2F%2B%2A");
	free(e);
}

static void
test_rejects_bad_input(void **state)
{
	struct s3_sign_pair h[] = {{"x-amz-meta-a", "1\r\nInjected: yes"}};
	struct s3_sign_pair dup[] = {{"X-Amz-Date", "20261123T182000Z"}};
	struct s3_sign_req ok = {.method = "GET", .host = "h", .path = "/",
	    .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    .amz_date = "20261123T182000Z", .region = "us-east-1", .access_key = "A",
	    .secret_key = "S"};
	struct s3_sign_req r;
	struct s3_sign_out out;
	const char *err;

	(void)state;
	r = ok;
	r.path = "no-slash";
	err = NULL;
	assert_int_equal(s3_sign(&r, &out, &err), -1);
	assert_non_null(err);
	r = ok;
	r.amz_date = "2026-11-23T18:20:00Z";
	assert_int_equal(s3_sign(&r, &out, &err), -1);
	r = ok;
	r.payload_hash = "UNSIGNED-PAYLOAD";
	assert_int_equal(s3_sign(&r, &out, &err), -1);
	r = ok;
	r.headers = h;
	r.nheaders = 1;
	assert_int_equal(s3_sign(&r, &out, &err), -1);
	r = ok;
	r.headers = dup;
	r.nheaders = 1;
	assert_int_equal(s3_sign(&r, &out, &err), -1);
	r = ok;
	r.access_key = "";
	assert_int_equal(s3_sign(&r, &out, &err), -1);
}

static void
test_amz_date(void **state)
{
	char d[S3_SIGN_DATE_LEN];

	(void)state;
	s3_sign_amz_date(1369353600, d);
	assert_string_equal(d, "20130524T000000Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_botocore_vectors),
		cmocka_unit_test(test_wire_forms),
		cmocka_unit_test(test_rejects_bad_input),
		cmocka_unit_test(test_amz_date),
	};
	json_error_t jerr;
	int rc;

	s3t_doc = json_load_file(S3_SIGN_VECTORS, 0, &jerr);
	if (s3t_doc == NULL) {
		fprintf(stderr, "%s: %s (line %d)\n", S3_SIGN_VECTORS, jerr.text, jerr.line);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(s3t_doc);
	return rc;
}
