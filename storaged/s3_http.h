/* s3_http: one signed S3 request over libcurl, with retries, for
 * replica_s3.c.
 *
 * A struct s3_http holds the endpoint, the addressing style, the credentials
 * and one easy handle (reset before every request, so the connection is
 * reused; one thread at a time).  s3_http_call signs the request (SigV4 over
 * the SHA-256 of the body, s3_sign.c), sends it, streams a 2xx body to a file
 * or a bounded buffer, keeps the head of an error body, and classifies:
 *   retried (capped jittered exponential backoff, up to `retries`): curl's
 *     connect/DNS/timeout/reset errors, 5xx, 408, 429, and the codes
 *     SlowDown, RequestTimeout, InternalError, ... also as an Error inside
 *     the 200 of CompleteMultipartUpload
 *   never retried: 403 and the codes of refused credentials (ExpiredToken
 *     is a 400) (REPLICA_FORBIDDEN; RequestTimeTooSkewed is
 *     REPLICA_CLOCK_SKEW with the server's lead in the message), 404
 *     (REPLICA_NOT_FOUND for NoSuchKey; a missing bucket or upload is
 *     REPLICA_FAILED), 412 (REPLICA_EXISTS), other 4xx (REPLICA_FAILED)
 * Messages name the method, the key, the status and S3's Code and Message;
 * never a secret. */
#ifndef KUBARR_STORAGED_S3_HTTP_H
#define KUBARR_STORAGED_S3_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3_sign.h"

#define S3_HTTP_ERRBODY_MAX (64u << 10)   /* kept of an error answer */
#define S3_HTTP_SMALL_MAX (1u << 20)      /* an answer we parse (initiate, complete) */

struct s3_http {
	CURL *curl;
	char *scheme;                /* "https" or "http" */
	char *endpoint;              /* host[:port] of the endpoint */
	char *bucket;
	char *prefix;                /* "" or "dir/.../" */
	bool path_style;
	char *region, *access_key, *secret_key, *session_token;
	unsigned timeout_ms, retries, backoff_base_ms, backoff_cap_ms;
	unsigned requests;           /* of the current call */
	char errbuf[CURL_ERROR_SIZE];
};

/* One request and, after s3_call, its answer. */
struct s3_http_call {
	const char *method;
	const char *key;             /* relative to the prefix; NULL: the bucket */
	struct s3_sign_pair query[4];
	size_t nquery;
	struct s3_sign_pair hdr[4];  /* signed extras */
	size_t nhdr;
	const uint8_t *body;
	size_t body_len;
	bool upload;                 /* send a body (maybe empty) with Content-Length */
	bool complete;               /* CompleteMultipartUpload: a 200 may hold an Error */
	int out_fd;                  /* >= 0: a 2xx body goes here */
	size_t max_mem;              /* else to memory, at most this */
	/* per attempt */
	size_t body_off;
	uint64_t written;
	bool too_big;
	int write_errno;
	CURL *curl;
	/* answer */
	long status;
	uint8_t *resp;
	size_t resp_len, resp_cap;
	char etag[256];
	time_t server_date;
	curl_off_t content_length;
};

/* Replaces *err_r (frees the old one; err_r may be NULL) with msg (taken). */
void s3_http_set_err(char **err_r, char *msg);
/* A call to method on key (NULL: the bucket): no query, no body, the answer
 * to memory up to S3_HTTP_SMALL_MAX.  Fill in the rest, then s3_http_call. */
void s3_http_call_init(struct s3_http_call *c, const char *method, const char *key);
void s3_http_call_fini(struct s3_http_call *c);
/* Sends c with retries.  REPLICA_OK for a 2xx (c's answer holds it), else a
 * negative replica_rc with *err_r.  Counts every attempt in s->requests. */
int s3_http_call(struct s3_http *s, struct s3_http_call *c, char **err_r);

#endif
