/* Fuzz target: storaged's parser of S3's XML answers (s3_xml.c), which reads
 * whatever the object store, or anyone between it and us, sends back.  Every
 * input goes through all four parsers.  Invariants: no crash or leak; a parsed
 * list has non-empty keys of at most 1024 bytes and a continuation token when
 * truncated; an upload id is non-empty; an Error has a non-empty Code. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "s3_xml.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct s3_xml_list l;
	struct s3_xml_error e;
	char *err = NULL, *id = NULL;
	int rc;

	if (s3_xml_parse_list(buf, size, &l, &err) == 0) {
		if (l.n > S3_XML_MAX_OBJECTS || (l.truncated && (l.next_token == NULL ||
		    l.next_token[0] == '\0')))
			abort();
		for (size_t i = 0; i < l.n; i++)
			if (l.v[i].key == NULL || l.v[i].key[0] == '\0' || strlen(l.v[i].key) > 1024)
				abort();
		s3_xml_list_fini(&l);
	} else {
		if (err == NULL || l.v != NULL || l.n != 0)
			abort();
		free(err);
		err = NULL;
	}
	if (s3_xml_parse_initiate(buf, size, &id, &err) == 0) {
		if (id == NULL || id[0] == '\0')
			abort();
		free(id);
	} else {
		if (err == NULL || id != NULL)
			abort();
		free(err);
		err = NULL;
	}
	rc = s3_xml_parse_complete(buf, size, &e, &err);
	if (rc == 1) {
		if (e.code == NULL || e.code[0] == '\0' || e.message == NULL)
			abort();
		s3_xml_error_fini(&e);
	} else if (rc == -1) {
		if (err == NULL || e.code != NULL)
			abort();
		free(err);
		err = NULL;
	}
	if (s3_xml_parse_error(buf, size, &e, &err) == 0) {
		if (e.code == NULL || e.code[0] == '\0')
			abort();
		s3_xml_error_fini(&e);
	} else {
		if (err == NULL)
			abort();
		free(err);
	}
	return 0;
}
