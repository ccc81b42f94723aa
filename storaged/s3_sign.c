/* s3_sign: SigV4 for S3 (see s3_sign.h). */
#include "s3_sign.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define S3_SIGN_MAX_HEADERS 32

struct s3_sign_buf {
	char *s;
	size_t len, cap;
};

static void
s3_sign_buf_add(struct s3_sign_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->s = xrealloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
s3_sign_buf_str(struct s3_sign_buf *b, const char *s)
{
	s3_sign_buf_add(b, s, strlen(s));
}

static char *
s3_sign_buf_take(struct s3_sign_buf *b)
{
	char *s = b->s;

	if (s == NULL)
		s = xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

static bool
s3_sign_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == '~';
}

char *
s3_sign_uri_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct s3_sign_buf b = {0};

	s3_sign_buf_add(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (s3_sign_unreserved(*p) || (keep_slash && *p == '/')) {
			s3_sign_buf_add(&b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			s3_sign_buf_add(&b, e, 3);
		}
	}
	return s3_sign_buf_take(&b);
}

static void
s3_sign_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
s3_sign_sha256_hex(const void *buf, size_t len, char out[S3_SIGN_HASH_HEX])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, buf, len);
	s3_sign_hex(d, sizeof(d), out);
}

void
s3_sign_amz_date(int64_t epoch_s, char out[S3_SIGN_DATE_LEN])
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, S3_SIGN_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

static void
s3_sign_hmac(unsigned char out[crypto_auth_hmacsha256_BYTES], const unsigned char *key,
    size_t keylen, const char *msg)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* ---- query --------------------------------------------------------------- */

struct s3_sign_qenc {
	char *k, *v;
};

static int
s3_sign_qcmp(const void *a, const void *b)
{
	const struct s3_sign_qenc *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

static char *
s3_sign_query(const struct s3_sign_req *req)
{
	struct s3_sign_qenc *q = xcalloc(req->nquery ? req->nquery : 1, sizeof(*q));
	struct s3_sign_buf b = {0};

	for (size_t i = 0; i < req->nquery; i++) {
		q[i].k = s3_sign_uri_encode(req->query[i].name, 0);
		q[i].v = s3_sign_uri_encode(req->query[i].value ? req->query[i].value : "", 0);
	}
	qsort(q, req->nquery, sizeof(*q), s3_sign_qcmp);
	s3_sign_buf_add(&b, "", 0);
	for (size_t i = 0; i < req->nquery; i++) {
		if (i > 0)
			s3_sign_buf_str(&b, "&");
		s3_sign_buf_str(&b, q[i].k);
		s3_sign_buf_str(&b, "=");
		s3_sign_buf_str(&b, q[i].v);
		free(q[i].k);
		free(q[i].v);
	}
	free(q);
	return s3_sign_buf_take(&b);
}

/* ---- headers ------------------------------------------------------------- */

struct s3_sign_hdr {
	char *name;                  /* lower case */
	char *value;                 /* trimmed, runs of spaces folded */
};

static int
s3_sign_hcmp(const void *a, const void *b)
{
	const struct s3_sign_hdr *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static char *
s3_sign_lower(const char *s)
{
	char *l = xstrdup(s);

	for (char *p = l; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

static char *
s3_sign_trimall(const char *s)
{
	struct s3_sign_buf b = {0};
	bool space = false;

	s3_sign_buf_add(&b, "", 0);
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			space = true;
			continue;
		}
		if (space)
			s3_sign_buf_add(&b, " ", 1);
		space = false;
		s3_sign_buf_add(&b, s, 1);
	}
	return s3_sign_buf_take(&b);
}

static bool
s3_sign_header_ok(const char *name, const char *value)
{
	if (name == NULL || value == NULL || name[0] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p == ':' || *p >= 0x7f)
			return false;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

/* ---- the signature ------------------------------------------------------- */

static bool
s3_sign_date_ok(const char *d)
{
	if (d == NULL || strlen(d) != S3_SIGN_DATE_LEN - 1 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

static bool
s3_sign_hash_ok(const char *h)
{
	if (h == NULL || strlen(h) != S3_SIGN_HASH_HEX - 1)
		return false;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return false;
	return true;
}

int
s3_sign(const struct s3_sign_req *req, struct s3_sign_out *out, const char **err_r)
{
	struct s3_sign_hdr h[S3_SIGN_MAX_HEADERS + 4];
	size_t nh = 0;
	struct s3_sign_buf b = {0};
	bool token = req->session_token != NULL && req->session_token[0] != '\0';
	char date[9], crhash[S3_SIGN_HASH_HEX];
	unsigned char k1[crypto_auth_hmacsha256_BYTES], k2[sizeof(k1)], sig[sizeof(k1)];
	char *kinit;

	memset(out, 0, sizeof(*out));
	if (req->method == NULL || req->host == NULL || req->host[0] == '\0' ||
	    req->path == NULL || req->path[0] != '/' || req->region == NULL ||
	    req->region[0] == '\0' || req->access_key == NULL || req->access_key[0] == '\0' ||
	    req->secret_key == NULL || (req->nquery > 0 && req->query == NULL)) {
		*err_r = "s3_sign: missing method, host, path, region or credentials";
		return -1;
	}
	if (!s3_sign_date_ok(req->amz_date)) {
		*err_r = "s3_sign: bad x-amz-date";
		return -1;
	}
	if (!s3_sign_hash_ok(req->payload_hash)) {
		*err_r = "s3_sign: bad payload hash";
		return -1;
	}
	if (req->nheaders > S3_SIGN_MAX_HEADERS) {
		*err_r = "s3_sign: too many headers";
		return -1;
	}
	for (size_t i = 0; i < req->nquery; i++)
		if (req->query[i].name == NULL || req->query[i].name[0] == '\0') {
			*err_r = "s3_sign: empty query key";
			return -1;
		}
	for (size_t i = 0; i < req->nheaders; i++) {
		if (!s3_sign_header_ok(req->headers[i].name, req->headers[i].value)) {
			*err_r = "s3_sign: bad header";
			return -1;
		}
	}

	h[nh].name = xstrdup("host");
	h[nh++].value = s3_sign_trimall(req->host);
	h[nh].name = xstrdup("x-amz-content-sha256");
	h[nh++].value = xstrdup(req->payload_hash);
	h[nh].name = xstrdup("x-amz-date");
	h[nh++].value = xstrdup(req->amz_date);
	if (token) {
		h[nh].name = xstrdup("x-amz-security-token");
		h[nh++].value = s3_sign_trimall(req->session_token);
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		char *name = s3_sign_lower(req->headers[i].name);
		bool dup = false;

		for (size_t j = 0; j < nh; j++)
			dup = dup || strcmp(h[j].name, name) == 0;
		if (dup) {
			free(name);
			for (size_t j = 0; j < nh; j++) {
				free(h[j].name);
				free(h[j].value);
			}
			*err_r = "s3_sign: header given twice";
			return -1;
		}
		h[nh].name = name;
		h[nh++].value = s3_sign_trimall(req->headers[i].value);
	}
	qsort(h, nh, sizeof(h[0]), s3_sign_hcmp);

	out->path = s3_sign_uri_encode(req->path, 1);
	out->query = s3_sign_query(req);

	s3_sign_buf_add(&b, "", 0);
	for (size_t i = 0; i < nh; i++) {
		if (i > 0)
			s3_sign_buf_str(&b, ";");
		s3_sign_buf_str(&b, h[i].name);
	}
	out->signed_headers = s3_sign_buf_take(&b);

	s3_sign_buf_str(&b, req->method);
	s3_sign_buf_str(&b, "\n");
	s3_sign_buf_str(&b, out->path);
	s3_sign_buf_str(&b, "\n");
	s3_sign_buf_str(&b, out->query);
	s3_sign_buf_str(&b, "\n");
	for (size_t i = 0; i < nh; i++) {
		s3_sign_buf_str(&b, h[i].name);
		s3_sign_buf_str(&b, ":");
		s3_sign_buf_str(&b, h[i].value);
		s3_sign_buf_str(&b, "\n");
		free(h[i].name);
		free(h[i].value);
	}
	s3_sign_buf_str(&b, "\n");
	s3_sign_buf_str(&b, out->signed_headers);
	s3_sign_buf_str(&b, "\n");
	s3_sign_buf_str(&b, req->payload_hash);
	out->canonical_request = s3_sign_buf_take(&b);

	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	s3_sign_sha256_hex(out->canonical_request, strlen(out->canonical_request), crhash);
	out->string_to_sign = xasprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
	    req->amz_date, date, req->region, crhash);

	kinit = xasprintf("AWS4%s", req->secret_key);
	s3_sign_hmac(k1, (const unsigned char *)kinit, strlen(kinit), date);
	sodium_memzero(kinit, strlen(kinit));
	free(kinit);
	s3_sign_hmac(k2, k1, sizeof(k1), req->region);
	s3_sign_hmac(k1, k2, sizeof(k2), "s3");
	s3_sign_hmac(k2, k1, sizeof(k1), "aws4_request");
	s3_sign_hmac(sig, k2, sizeof(k2), out->string_to_sign);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	s3_sign_hex(sig, sizeof(sig), out->signature);

	out->authorization = xasprintf(
	    "AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, SignedHeaders=%s, Signature=%s",
	    req->access_key, date, req->region, out->signed_headers, out->signature);
	return 0;
}

void
s3_sign_out_fini(struct s3_sign_out *out)
{
	free(out->path);
	free(out->query);
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->signed_headers);
	free(out->authorization);
	memset(out, 0, sizeof(*out));
}
