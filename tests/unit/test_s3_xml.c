/* test_s3_xml: storaged/s3_xml.c on answers captured from AWS's documentation,
 * moto and s3rver, and on documents it must refuse (DOCTYPE, entities,
 * wrong root, bad numbers, duplicates, over-long text, deep nesting). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

static int
list(const char *doc, struct s3_xml_list *l, char **err)
{
	*err = NULL;
	return s3_xml_parse_list(doc, strlen(doc), l, err);
}

static void
test_list_aws(void **state)
{
	const char *doc =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	    "  <Name>bucket</Name><Prefix/><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>\n"
	    "  <IsTruncated>true</IsTruncated>\n"
	    "  <Contents><Key>a/1 &amp; &lt;x&gt;</Key><LastModified>2009-10-12T17:50:30.000Z"
	    "</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"
	    "<Size>434234</Size><StorageClass>STANDARD</StorageClass>"
	    "<Owner><ID>x</ID><DisplayName>y</DisplayName></Owner></Contents>\n"
	    "  <Contents><Key>\xc3\xa9t\xc3\xa9</Key><Size>18446744073709551615</Size>"
	    "<LastModified>2026-11-23T18:20:00.5Z</LastModified></Contents>\n"
	    "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	    "</NextContinuationToken>\n"
	    "</ListBucketResult>";
	struct s3_xml_list l;
	char *err;

	(void)state;
	assert_int_equal(list(doc, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].key, "a/1 & <x>");
	assert_int_equal(l.v[0].size, 434234);
	assert_int_equal(l.v[0].mtime_ms, 1255369830000LL);
	assert_string_equal(l.v[1].key, "\xc3\xa9t\xc3\xa9");
	assert_true(l.v[1].size == UINT64_MAX);
	assert_int_equal(l.v[1].mtime_ms, 1795458000500LL);
	assert_true(l.truncated);
	assert_string_equal(l.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	s3_xml_list_fini(&l);

	doc = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	assert_int_equal(list(doc, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_false(l.truncated);
	assert_null(l.next_token);
	s3_xml_list_fini(&l);
}

static void
test_list_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"   ",
		"<ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><IsTruncated>false"
		"</IsTruncated></ListBucketResult>",
		"<ListBucketResult></ListBucketResult>",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<ListAllMyBucketsResult><IsTruncated>false</IsTruncated></ListAllMyBucketsResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key></Key>"
		"<Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
		"<Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
		"<Size>18446744073709551616</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
		"<Key>j</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
		"<Size>1</Size><LastModified>2026-11-23 18:20:00</LastModified></Contents>"
		"</ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k<b/></Key>"
		"<Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult>junk<IsTruncated>false</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult><x/>",
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&xxe;</Key>"
		"<Size>1</Size></Contents></ListBucketResult>",
		"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\">]><ListBucketResult>"
		"<IsTruncated>false</IsTruncated><Contents><Key>&a;</Key><Size>1</Size>"
		"</Contents></ListBucketResult>",
		"<!DOCTYPE ListBucketResult SYSTEM \"file:///etc/passwd\"><ListBucketResult>"
		"<IsTruncated>false</IsTruncated></ListBucketResult>",
	};
	struct s3_xml_list l;
	char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (list(bad[i], &l, &err) != -1)
			fail_msg("accepted #%zu: %s", i, bad[i]);
		assert_non_null(err);
		assert_int_equal(l.n, 0);
		assert_null(l.v);
		free(err);
	}
}

static void
test_limits(void **state)
{
	size_t n = S3_XML_MAX_TEXT + 200, off;
	char *doc = malloc(n + 200);
	struct s3_xml_list l;
	char *err;

	(void)state;
	/* a key over 1024 bytes */
	off = (size_t)sprintf(doc, "<ListBucketResult><IsTruncated>false</IsTruncated>"
				   "<Contents><Key>");
	memset(doc + off, 'k', 1025);
	off += 1025;
	strcpy(doc + off, "</Key><Size>1</Size></Contents></ListBucketResult>");
	assert_int_equal(list(doc, &l, &err), -1);
	free(err);
	/* text over the limit in a field */
	off = (size_t)sprintf(doc, "<ListBucketResult><NextContinuationToken>");
	memset(doc + off, 't', S3_XML_MAX_TEXT + 1);
	off += S3_XML_MAX_TEXT + 1;
	strcpy(doc + off, "</NextContinuationToken></ListBucketResult>");
	assert_int_equal(list(doc, &l, &err), -1);
	free(err);
	/* nesting */
	off = (size_t)sprintf(doc, "<ListBucketResult>");
	for (int i = 0; i < S3_XML_MAX_DEPTH; i++)
		off += (size_t)sprintf(doc + off, "<a>");
	for (int i = 0; i < S3_XML_MAX_DEPTH; i++)
		off += (size_t)sprintf(doc + off, "</a>");
	strcpy(doc + off, "<IsTruncated>false</IsTruncated></ListBucketResult>");
	assert_int_equal(list(doc, &l, &err), -1);
	assert_non_null(strstr(err, "nesting"));
	free(err);
	free(doc);
}

static void
test_initiate_complete_error(void **state)
{
	const char *ini = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			  "<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE/x+y=</UploadId>"
			  "</InitiateMultipartUploadResult>";
	const char *done = "<CompleteMultipartUploadResult><Location>http://x/b/k</Location>"
			   "<Bucket>b</Bucket><Key>k</Key><ETag>\"3858f62230ac3c915f300c664312c11f-9\""
			   "</ETag></CompleteMultipartUploadResult>";
	/* S3 sends whitespace while it assembles the parts, then perhaps an Error */
	const char *in200 = "\n \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
			    "<Code>InternalError</Code><Message>We encountered an internal error. "
			    "Please try again.</Message><RequestId>656c76696e6727732072657175657374"
			    "</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg"
			    "==</HostId></Error>";
	const char *skew = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference "
			   "between the request time and the current time is too large.</Message>"
			   "<RequestTime>20261123T182000Z</RequestTime><ServerTime>"
			   "2026-11-23T18:40:00Z</ServerTime><MaxAllowedTime>900000</MaxAllowedTime>"
			   "</Error>";
	struct s3_xml_error e;
	char *id = NULL, *err = NULL;

	(void)state;
	assert_int_equal(s3_xml_parse_initiate(ini, strlen(ini), &id, &err), 0);
	assert_string_equal(id, "VXBsb2FkIElE/x+y=");
	free(id);
	assert_int_equal(s3_xml_parse_initiate(done, strlen(done), &id, &err), -1);
	assert_null(id);
	free(err);
	assert_int_equal(s3_xml_parse_complete(done, strlen(done), &e, &err), 0);
	assert_int_equal(s3_xml_parse_complete(in200, strlen(in200), &e, &err), 1);
	assert_string_equal(e.code, "InternalError");
	assert_string_equal(e.message, "We encountered an internal error. Please try again.");
	s3_xml_error_fini(&e);
	assert_int_equal(s3_xml_parse_error(skew, strlen(skew), &e, &err), 0);
	assert_string_equal(e.code, "RequestTimeTooSkewed");
	assert_int_equal(e.server_time_ms, 1795459200000LL);
	assert_int_equal(e.request_time_ms, 0); /* not RFC 3339: ignored */
	s3_xml_error_fini(&e);
	/* an Error without Code, and a non-Error, are malformed */
	assert_int_equal(s3_xml_parse_error("<Error><Message>m</Message></Error>", 35, &e, &err),
	    -1);
	free(err);
	assert_int_equal(s3_xml_parse_error(done, strlen(done), &e, &err), -1);
	free(err);
	assert_int_equal(s3_xml_parse_error("<html>502</html>", 16, &e, &err), -1);
	free(err);
}

static void
test_time(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(s3_xml_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(s3_xml_parse_time("2026-11-23T18:20:00.123456Z", &ms), 0);
	assert_int_equal(ms, 1795458000123LL);
	assert_int_equal(s3_xml_parse_time("2026-11-23T18:20:00+00:00", &ms), -1);
	assert_int_equal(s3_xml_parse_time("2026-13-23T18:20:00Z", &ms), -1);
	assert_int_equal(s3_xml_parse_time("2026-11-23T18:20:00.Z", &ms), -1);
	assert_int_equal(s3_xml_parse_time("+026-11-23T18:20:00Z", &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_aws),
		cmocka_unit_test(test_list_rejects),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_initiate_complete_error),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
