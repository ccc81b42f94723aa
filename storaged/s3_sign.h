/* s3_sign: AWS Signature Version 4 for S3 (header auth, signed payload).
 *
 *   canonical request = METHOD \n path \n query \n headers \n signed \n hash
 *     path     every byte but A-Z a-z 0-9 - _ . ~ and '/' as %XX, once (the
 *              raw key goes in: no double encoding, no "//" folding)
 *     query    pairs sorted by encoded key then value, both encoded with the
 *              RFC 3986 unreserved set ('/' -> %2F); "uploads" -> "uploads="
 *     headers  lower-case names, trimmed values with inner runs of spaces
 *              folded, sorted: host, x-amz-content-sha256, x-amz-date,
 *              x-amz-security-token (when set) and the caller's extra headers
 *   string to sign = "AWS4-HMAC-SHA256" \n date \n scope \n hex(sha256(cr))
 *   key = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, yyyymmdd), region), "s3"),
 *              "aws4_request")
 * SHA-256 and HMAC from libsodium.  Every intermediate step is kept in the
 * result so the unit test can compare each one with botocore's. */
#ifndef KUBARR_STORAGED_S3_SIGN_H
#define KUBARR_STORAGED_S3_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define S3_SIGN_HASH_HEX 65          /* 64 hex digits + NUL */
#define S3_SIGN_DATE_LEN 17          /* "20261123T182000Z" + NUL */

struct s3_sign_pair {
	const char *name;            /* query key (raw) or header name (any case) */
	const char *value;           /* raw value; "" for a value-less key */
};

struct s3_sign_req {
	const char *method;          /* "GET", "PUT", ... */
	const char *host;            /* Host header: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000" */
	const char *path;            /* raw (unencoded), starts with '/' */
	const struct s3_sign_pair *query;
	size_t nquery;
	const struct s3_sign_pair *headers; /* extra signed headers (x-amz-*, if-none-match, content-type) */
	size_t nheaders;
	const char *payload_hash;    /* hex SHA-256 of the body */
	const char *amz_date;        /* "YYYYMMDDTHHMMSSZ" */
	const char *region;
	const char *access_key;
	const char *secret_key;
	const char *session_token;   /* NULL or "" none */
};

struct s3_sign_out {
	char *path;                  /* encoded path, for the URL */
	char *query;                 /* canonical query, also the URL's query */
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;        /* "host;x-amz-content-sha256;x-amz-date" */
	char signature[S3_SIGN_HASH_HEX];
	char *authorization;         /* the Authorization header's value */
};

/* Fills *out (every string malloc'd; s3_sign_out_fini frees).  0, or -1 with
 * *err_r (a static string) when an input is missing or malformed. */
int s3_sign(const struct s3_sign_req *req, struct s3_sign_out *out, const char **err_r);
void s3_sign_out_fini(struct s3_sign_out *out);

/* hex SHA-256 of buf (out gets 64 digits + NUL). */
void s3_sign_sha256_hex(const void *buf, size_t len, char out[S3_SIGN_HASH_HEX]);
/* "YYYYMMDDTHHMMSSZ" for a UNIX time. */
void s3_sign_amz_date(int64_t epoch_s, char out[S3_SIGN_DATE_LEN]);
/* Appends s percent-encoded (unreserved set; keep_slash keeps '/') to a new
 * string (malloc). */
char *s3_sign_uri_encode(const char *s, int keep_slash);

#endif
