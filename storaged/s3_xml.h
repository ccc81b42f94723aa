/* s3_xml: the XML answers of S3 that the s3 replica reads, parsed with expat.
 *
 *   ListBucketResult               (ListObjectsV2) Contents/{Key, Size,
 *                                  LastModified}, IsTruncated,
 *                                  NextContinuationToken
 *   InitiateMultipartUploadResult  UploadId
 *   CompleteMultipartUploadResult  (or an Error document inside a 200; moto
 *                                  names the root ...Response)
 *   Error                          Code, Message, ServerTime/RequestTime
 *
 * Strict: the document is at most S3_XML_MAX_DOC bytes, nesting at most
 * S3_XML_MAX_DEPTH, any text at most S3_XML_MAX_TEXT; a DOCTYPE, an entity
 * declaration or a reference to an undeclared entity is rejected (no
 * expansion, no external fetch); the root must be the one expected; a field
 * we read must appear once where it belongs with a well-formed value (a Size
 * that is a decimal, a LastModified in RFC 3339 UTC, a non-empty Key).
 * Elements we do not read (ETag, Owner, StorageClass, ...) are skipped, so an
 * S3-compatible store that adds fields still parses. */
#ifndef KUBARR_STORAGED_S3_XML_H
#define KUBARR_STORAGED_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_XML_MAX_DOC (16u << 20)   /* a ListObjectsV2 page of 1000 keys is ~0.5 MiB */
#define S3_XML_MAX_DEPTH 16
#define S3_XML_MAX_TEXT 4096         /* keys are at most 1024 bytes */
#define S3_XML_MAX_OBJECTS 100000

struct s3_xml_object {
	char *key;
	uint64_t size;
	int64_t mtime_ms;            /* 0 when absent */
};

struct s3_xml_list {
	struct s3_xml_object *v;
	size_t n, cap;
	bool truncated;
	char *next_token;            /* NextContinuationToken, NULL if none */
};

struct s3_xml_error {
	char *code;                  /* "NoSuchKey", ... ("" when absent) */
	char *message;               /* ("" when absent) */
	int64_t server_time_ms;      /* ServerTime (RequestTimeTooSkewed), 0 if none */
	int64_t request_time_ms;     /* RequestTime, 0 if none */
};

/* Each parse returns 0, or -1 with *err_r (malloc'd) for a malformed or
 * unexpected document; on -1 the outputs hold nothing to free. */
int s3_xml_parse_list(const char *buf, size_t len, struct s3_xml_list *out, char **err_r);
void s3_xml_list_fini(struct s3_xml_list *l);
int s3_xml_parse_initiate(const char *buf, size_t len, char **upload_id_r, char **err_r);
/* 0: CompleteMultipartUploadResult; 1: an Error document (*e filled, also
 * inside a 200 answer); -1 malformed. */
int s3_xml_parse_complete(const char *buf, size_t len, struct s3_xml_error *e, char **err_r);
int s3_xml_parse_error(const char *buf, size_t len, struct s3_xml_error *e, char **err_r);
void s3_xml_error_fini(struct s3_xml_error *e);
/* "2026-11-23T18:20:00.123Z" (fraction optional) -> ms since the epoch. */
int s3_xml_parse_time(const char *s, int64_t *ms_r);

#endif
