/* replica_s3: the s3://bucket/prefix back end of replica.h over libcurl.
 *
 * One easy handle per replica (one thread at a time), reset before every
 * request so the connection is reused.  Every request is signed with SigV4
 * (s3_sign.c) over the SHA-256 of its body; answers in XML go through
 * s3_xml.c.
 *   put        PUT <key> (If-None-Match: * on request; 412 -> REPLICA_EXISTS)
 *              up to REPLICA_S3_MULTIPART_MIN, else a multipart upload:
 *              POST ?uploads, PUT ?partNumber&uploadId (parts of 8 MiB read
 *              with pread, each with its own Content-Length and SHA-256),
 *              POST ?uploadId with the ETags (and If-None-Match), DELETE
 *              ?uploadId to abort on failure
 *   get        GET <key> streamed to the fd (size checked), or to memory
 *   list       GET ?list-type=2&prefix=..&continuation-token=.. page by page
 *   delete     DELETE <key> (204, and 404 is success)
 * Addressing: path style (host/bucket/key) or virtual host
 * (bucket.host/key); -1 picks path style for a custom endpoint, and a bucket
 * that is not a DNS label (or has dots, over https) is always path style.
 * Credentials: cfg's keys, else the [default] of an AWS shared credentials
 * file; none is a configuration error at open.
 * Requests, retries and the classification of answers: s3_http.c. */
#include "replica_s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "s3_http.h"
#include "s3_xml.h"
#include "xmalloc.h"

#define REPLICA_S3_MAX_PARTS 10000
#define REPLICA_S3_KEY_MAX 1024
#define REPLICA_S3_DEFAULT_TIMEOUT_MS 30000

/* ---- small helpers ------------------------------------------------------- */

static struct s3_http *
replica_s3_of(const struct replica *r)
{
	return r->be;
}

static int
replica_s3_key_check(const char *key, char **err_r)
{
	size_t n = key != NULL ? strlen(key) : 0;

	if (n == 0 || n > REPLICA_S3_KEY_MAX) {
		s3_http_set_err(err_r, xasprintf("s3: bad key '%s' (1 to %d bytes)", key ? key : "",
		    REPLICA_S3_KEY_MAX));
		return -1;
	}
	return 0;
}
/* ---- put ----------------------------------------------------------------- */

/* Where an upload's bytes come from. */
struct replica_s3_src {
	int fd;                      /* -1: mem */
	const uint8_t *mem;
	uint64_t size;
	uint8_t *buf;                /* a part read from fd */
};

static int
replica_s3_src_get(struct replica_s3_src *src, uint64_t off, size_t len, const uint8_t **p_r,
    char **err_r)
{
	size_t done = 0;

	if (src->fd < 0) {
		*p_r = src->mem + off;
		return 0;
	}
	if (src->buf == NULL && len > 0)
		src->buf = xmalloc(len > REPLICA_S3_PART_SIZE ? len : REPLICA_S3_PART_SIZE);
	while (done < len) {
		ssize_t n = pread(src->fd, src->buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s3_http_set_err(err_r, xasprintf("s3 put: reading the file at %llu: %s",
			    (unsigned long long)(off + done), n < 0 ? strerror(errno) :
			    "file shrank while uploading"));
			return -1;
		}
		done += (size_t)n;
	}
	*p_r = src->buf;
	return 0;
}

static int
replica_s3_put_single(struct s3_http *s, const char *key, struct replica_s3_src *src,
    bool if_none_match, char **err_r)
{
	struct s3_http_call c;
	const uint8_t *p = NULL;
	int rc;

	if (replica_s3_src_get(src, 0, (size_t)src->size, &p, err_r) != 0)
		return REPLICA_FAILED;
	s3_http_call_init(&c, "PUT", key);
	c.upload = true;
	c.body = p;
	c.body_len = (size_t)src->size;
	c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/octet-stream"};
	if (if_none_match)
		c.hdr[c.nhdr++] = (struct s3_sign_pair){"if-none-match", "*"};
	rc = s3_http_call(s, &c, err_r);
	s3_http_call_fini(&c);
	return rc;
}

static void
replica_s3_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void
replica_s3_multipart_abort(struct s3_http *s, const char *key, const char *upload_id)
{
	struct s3_http_call c;
	char *err = NULL;

	s3_http_call_init(&c, "DELETE", key);
	c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
	if (s3_http_call(s, &c, &err) != REPLICA_OK)
		log_warnx("s3: aborting the multipart upload of '%s' failed (the bucket's "
			  "lifecycle rule must clean it up): %s", key, err);
	free(err);
	s3_http_call_fini(&c);
}

static int
replica_s3_put_multipart(struct s3_http *s, const char *key, struct replica_s3_src *src,
    bool if_none_match, char **err_r)
{
	uint64_t part = REPLICA_S3_PART_SIZE, nparts;
	char **etags = NULL, *upload_id = NULL, *xml = NULL, *perr = NULL, num[24];
	size_t xml_len = 0;
	struct s3_http_call c;
	FILE *f;
	int rc;

	if (src->size / part >= REPLICA_S3_MAX_PARTS)
		part = (src->size + REPLICA_S3_MAX_PARTS - 1) / REPLICA_S3_MAX_PARTS;
	nparts = (src->size + part - 1) / part;

	s3_http_call_init(&c, "POST", key);
	c.upload = true;
	c.query[c.nquery++] = (struct s3_sign_pair){"uploads", ""};
	c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/octet-stream"};
	rc = s3_http_call(s, &c, err_r);
	if (rc == REPLICA_OK && s3_xml_parse_initiate((const char *)c.resp, c.resp_len,
	    &upload_id, &perr) != 0) {
		s3_http_set_err(err_r, xasprintf("s3 POST '%s' ?uploads: %s", key, perr));
		free(perr);
		rc = REPLICA_FAILED;
	}
	s3_http_call_fini(&c);
	if (rc != REPLICA_OK)
		return rc;

	etags = xcalloc((size_t)nparts, sizeof(*etags));
	for (uint64_t i = 0; i < nparts && rc == REPLICA_OK; i++) {
		uint64_t off = i * part;
		size_t len = (size_t)(src->size - off < part ? src->size - off : part);
		const uint8_t *p = NULL;

		if (replica_s3_src_get(src, off, len, &p, err_r) != 0) {
			rc = REPLICA_FAILED;
			break;
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(i + 1));
		s3_http_call_init(&c, "PUT", key);
		c.upload = true;
		c.body = p;
		c.body_len = len;
		c.query[c.nquery++] = (struct s3_sign_pair){"partNumber", num};
		c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
		rc = s3_http_call(s, &c, err_r);
		if (rc == REPLICA_OK && c.etag[0] == '\0') {
			s3_http_set_err(err_r, xasprintf("s3 PUT '%s' part %s: no ETag in the answer",
			    key, num));
			rc = REPLICA_FAILED;
		}
		if (rc == REPLICA_OK)
			etags[i] = xstrdup(c.etag);
		s3_http_call_fini(&c);
	}

	if (rc == REPLICA_OK) {
		f = open_memstream(&xml, &xml_len);
		if (f == NULL)
			abort();
		fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
		    f);
		for (uint64_t i = 0; i < nparts; i++) {
			fprintf(f, "<Part><PartNumber>%llu</PartNumber><ETag>",
			    (unsigned long long)(i + 1));
			replica_s3_escape(f, etags[i]);
			fputs("</ETag></Part>", f);
		}
		fputs("</CompleteMultipartUpload>", f);
		if (fclose(f) != 0)
			abort();
		s3_http_call_init(&c, "POST", key);
		c.upload = true;
		c.complete = true;
		c.body = (const uint8_t *)xml;
		c.body_len = xml_len;
		c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
		c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/xml"};
		if (if_none_match)
			c.hdr[c.nhdr++] = (struct s3_sign_pair){"if-none-match", "*"};
		rc = s3_http_call(s, &c, err_r);
		s3_http_call_fini(&c);
		free(xml);
	}
	if (rc != REPLICA_OK)
		replica_s3_multipart_abort(s, key, upload_id);
	for (uint64_t i = 0; i < nparts; i++)
		free(etags[i]);
	free(etags);
	free(upload_id);
	return rc;
}

static int
replica_s3_put(struct s3_http *s, const char *key, struct replica_s3_src *src,
    bool if_none_match, char **err_r)
{
	int rc;

	s->requests = 0;
	if (replica_s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	if (src->size <= REPLICA_S3_MULTIPART_MIN)
		rc = replica_s3_put_single(s, key, src, if_none_match, err_r);
	else
		rc = replica_s3_put_multipart(s, key, src, if_none_match, err_r);
	free(src->buf);
	src->buf = NULL;
	return rc;
}

static int
replica_s3_op_put_fd(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r)
{
	struct replica_s3_src src = {.fd = fd};
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		s3_http_set_err(err_r, xasprintf("s3 put '%s': fd is not a regular file: %s", key,
		    strerror(errno)));
		return REPLICA_FAILED;
	}
	src.size = (uint64_t)st.st_size;
	return replica_s3_put(replica_s3_of(r), key, &src, if_none_match, err_r);
}

static int
replica_s3_op_put_mem(struct replica *r, const char *key, const void *buf, size_t len,
    bool if_none_match, char **err_r)
{
	struct replica_s3_src src = {.fd = -1, .mem = buf, .size = len};

	if (buf == NULL && len > 0) {
		s3_http_set_err(err_r, xasprintf("s3 put '%s': no buffer", key));
		return REPLICA_FAILED;
	}
	if (buf == NULL)
		src.mem = (const uint8_t *)"";
	return replica_s3_put(replica_s3_of(r), key, &src, if_none_match, err_r);
}

/* ---- get ----------------------------------------------------------------- */

static int
replica_s3_op_get_fd(struct replica *r, const char *key, int fd, uint64_t *size_r, char **err_r)
{
	struct s3_http *s = replica_s3_of(r);
	struct s3_http_call c;
	int rc;

	s->requests = 0;
	if (replica_s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	if (ftruncate(fd, 0) != 0) {
		s3_http_set_err(err_r, xasprintf("s3 get '%s': truncating the file: %s", key,
		    strerror(errno)));
		return REPLICA_FAILED;
	}
	s3_http_call_init(&c, "GET", key);
	c.out_fd = fd;
	rc = s3_http_call(s, &c, err_r);
	if (rc == REPLICA_OK && c.content_length >= 0 &&
	    (uint64_t)c.content_length != c.written) {
		s3_http_set_err(err_r, xasprintf("s3 GET '%s': got %llu bytes of %lld", key,
		    (unsigned long long)c.written, (long long)c.content_length));
		rc = REPLICA_FAILED;
	}
	if (rc == REPLICA_OK && size_r != NULL)
		*size_r = c.written;
	s3_http_call_fini(&c);
	return rc;
}

int
replica_s3_get_mem(struct replica *r, const char *key, size_t max, uint8_t **buf_r,
    size_t *len_r, char **err_r)
{
	struct s3_http *s = replica_s3_of(r);
	struct s3_http_call c;
	int rc;

	*buf_r = NULL;
	*len_r = 0;
	s->requests = 0;
	if (replica_s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	s3_http_call_init(&c, "GET", key);
	c.max_mem = max;
	rc = s3_http_call(s, &c, err_r);
	if (rc == REPLICA_OK && c.content_length >= 0 &&
	    (uint64_t)c.content_length != c.resp_len) {
		s3_http_set_err(err_r, xasprintf("s3 GET '%s': got %zu bytes of %lld", key,
		    c.resp_len, (long long)c.content_length));
		rc = REPLICA_FAILED;
	}
	if (rc == REPLICA_OK) {
		*buf_r = c.resp != NULL ? c.resp : xmalloc(1);
		*len_r = c.resp_len;
		c.resp = NULL;
	}
	s3_http_call_fini(&c);
	return rc;
}

/* ---- list, delete -------------------------------------------------------- */

static int
replica_s3_list_cmp(const void *a, const void *b)
{
	const struct replica_obj *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static int
replica_s3_op_list(struct replica *r, const char *prefix, struct replica_list *l, char **err_r)
{
	struct s3_http *s = replica_s3_of(r);
	size_t plen = strlen(s->prefix), first = l->n;
	char *full = xasprintf("%s%s", s->prefix, prefix != NULL ? prefix : "");
	char *token = NULL, *perr = NULL;
	int rc = REPLICA_OK;

	s->requests = 0;
	do {
		struct s3_http_call c;
		struct s3_xml_list page;

		s3_http_call_init(&c, "GET", NULL);
		c.max_mem = S3_XML_MAX_DOC;
		c.query[c.nquery++] = (struct s3_sign_pair){"list-type", "2"};
		if (full[0] != '\0')
			c.query[c.nquery++] = (struct s3_sign_pair){"prefix", full};
		if (token != NULL)
			c.query[c.nquery++] = (struct s3_sign_pair){"continuation-token", token};
		rc = s3_http_call(s, &c, err_r);
		if (rc == REPLICA_OK && s3_xml_parse_list((const char *)c.resp, c.resp_len, &page,
		    &perr) != 0) {
			s3_http_set_err(err_r, xasprintf("s3 GET ?list-type=2 prefix '%s': %s", full,
			    perr));
			free(perr);
			perr = NULL;
			rc = REPLICA_FAILED;
		}
		s3_http_call_fini(&c);
		if (rc != REPLICA_OK)
			break;
		for (size_t i = 0; i < page.n; i++) {
			if (strncmp(page.v[i].key, full, strlen(full)) != 0) {
				s3_http_set_err(err_r, xasprintf("s3 list prefix '%s': the store answered "
				    "key '%s' outside it", full, page.v[i].key));
				rc = REPLICA_FAILED;
				break;
			}
			replica_list_add(l, page.v[i].key + plen, page.v[i].size, page.v[i].mtime_ms);
		}
		if (rc == REPLICA_OK && page.truncated && token != NULL &&
		    strcmp(token, page.next_token) == 0) {
			s3_http_set_err(err_r, xasprintf("s3 list prefix '%s': the continuation token "
			    "did not advance", full));
			rc = REPLICA_FAILED;
		}
		free(token);
		token = NULL;
		if (rc == REPLICA_OK && page.truncated) {
			token = page.next_token;
			page.next_token = NULL;
		}
		s3_xml_list_fini(&page);
	} while (rc == REPLICA_OK && token != NULL);
	free(token);
	free(full);
	if (rc != REPLICA_OK) {
		/* the caller's list as it was */
		for (size_t i = first; i < l->n; i++)
			free(l->v[i].key);
		l->n = first;
		return rc;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), replica_s3_list_cmp);
	return REPLICA_OK;
}

static int
replica_s3_op_del(struct replica *r, const char *key, char **err_r)
{
	struct s3_http *s = replica_s3_of(r);
	struct s3_http_call c;
	int rc;

	s->requests = 0;
	if (replica_s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	s3_http_call_init(&c, "DELETE", key);
	rc = s3_http_call(s, &c, err_r);
	s3_http_call_fini(&c);
	if (rc == REPLICA_NOT_FOUND) {
		s3_http_set_err(err_r, NULL);
		rc = REPLICA_OK;
	}
	return rc;
}

int
replica_s3_create_bucket(struct replica *r, char **err_r)
{
	struct s3_http *s = replica_s3_of(r);
	struct s3_http_call c;
	char *xml = NULL;
	int rc;

	s->requests = 0;
	s3_http_call_init(&c, "PUT", NULL);
	c.upload = true;
	if (strcmp(s->region, "us-east-1") != 0) {
		xml = xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
				"2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
				"</CreateBucketConfiguration>", s->region);
		c.body = (const uint8_t *)xml;
		c.body_len = strlen(xml);
	}
	rc = s3_http_call(s, &c, err_r);
	if (rc == REPLICA_FAILED && c.status == 409 && c.resp != NULL &&
	    strstr((const char *)c.resp, "BucketAlreadyOwnedByYou") != NULL) {
		s3_http_set_err(err_r, NULL);
		rc = REPLICA_OK;
	}
	s3_http_call_fini(&c);
	free(xml);
	return rc;
}

void
replica_s3_set_backoff(struct replica *r, unsigned base_ms, unsigned cap_ms)
{
	struct s3_http *s = replica_s3_of(r);

	s->backoff_base_ms = base_ms;
	s->backoff_cap_ms = cap_ms < base_ms ? base_ms : cap_ms;
}

unsigned
replica_s3_requests(const struct replica *r)
{
	return replica_s3_of(r)->requests;
}

/* ---- open, close --------------------------------------------------------- */

static void
replica_s3_free(struct s3_http *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL) {
		curl_easy_cleanup(s->curl);
		curl_global_cleanup();
	}
	if (s->secret_key != NULL)
		sodium_memzero(s->secret_key, strlen(s->secret_key));
	if (s->session_token != NULL)
		sodium_memzero(s->session_token, strlen(s->session_token));
	free(s->scheme);
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->access_key);
	free(s->secret_key);
	free(s->session_token);
	free(s);
}

static void
replica_s3_op_close(struct replica *r)
{
	replica_s3_free(r->be);
	r->be = NULL;
}

static const struct replica_ops replica_s3_ops = {
	.kind = "s3",
	.close = replica_s3_op_close,
	.put_fd = replica_s3_op_put_fd,
	.put_mem = replica_s3_op_put_mem,
	.get_fd = replica_s3_op_get_fd,
	.list = replica_s3_op_list,
	.del = replica_s3_op_del,
};

static char *
replica_s3_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* [default] of an AWS shared credentials file. */
static int
replica_s3_credentials_file(struct s3_http *s, const char *path, char **err_r)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	bool in_default = false, seen_default = false;

	if (f == NULL) {
		s3_http_set_err(err_r, xasprintf("s3 replica: credentials file %s: %s", path,
		    strerror(errno)));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *l = replica_s3_trim(line), *eq, *k, *v, **dst = NULL;

		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end != NULL)
				*end = '\0';
			in_default = strcmp(replica_s3_trim(l + 1), "default") == 0;
			seen_default = seen_default || in_default;
			continue;
		}
		if (!in_default || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		k = replica_s3_trim(l);
		v = replica_s3_trim(eq + 1);
		if (strcmp(k, "aws_access_key_id") == 0)
			dst = &s->access_key;
		else if (strcmp(k, "aws_secret_access_key") == 0)
			dst = &s->secret_key;
		else if (strcmp(k, "aws_session_token") == 0)
			dst = &s->session_token;
		if (dst != NULL) {
			free(*dst);
			*dst = xstrdup(v);
		}
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	if (!seen_default || s->access_key == NULL || s->access_key[0] == '\0' ||
	    s->secret_key == NULL || s->secret_key[0] == '\0') {
		s3_http_set_err(err_r, xasprintf("s3 replica: credentials file %s: no [default] "
		    "section with aws_access_key_id and aws_secret_access_key", path));
		return -1;
	}
	return 0;
}

static bool
replica_s3_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* A bucket name usable as a host name label (virtual-host addressing). */
static bool
replica_s3_dns_bucket(const char *b, bool https)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return false;
	for (; *b != '\0'; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '-' ||
		    (*b == '.' && !https)))
			return false;
	return true;
}

static int
replica_s3_parse_endpoint(struct s3_http *s, const char *ep, char **err_r)
{
	const char *rest = ep, *sep = strstr(ep, "://");
	size_t n;

	if (sep != NULL) {
		if ((size_t)(sep - ep) == 4 && strncmp(ep, "http", 4) == 0)
			s->scheme = xstrdup("http");
		else if ((size_t)(sep - ep) == 5 && strncmp(ep, "https", 5) == 0)
			s->scheme = xstrdup("https");
		else
			goto bad;
		rest = sep + 3;
	} else {
		s->scheme = xstrdup("https");
	}
	n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	if (n == 0)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (rest[i] == '/' || rest[i] == '@' || rest[i] == '?' || rest[i] == '#' ||
		    (unsigned char)rest[i] <= ' ' || (unsigned char)rest[i] >= 0x7f)
			goto bad;
	s->endpoint = xstrndup(rest, n);
	return 0;
bad:
	s3_http_set_err(err_r, xasprintf("s3 replica: bad endpoint '%s' (want http[s]://host[:port])",
	    ep));
	return -1;
}

int
replica_s3_open(struct replica *r, const char *bucket, const char *prefix,
    const struct replica_config *cfg, char **err_r)
{
	struct s3_http *s = xcalloc(1, sizeof(*s));
	const char *p = prefix != NULL ? prefix : "";
	size_t plen;

	if (replica_s3_empty(bucket) || strchr(bucket, '/') != NULL) {
		s3_http_set_err(err_r, xasprintf("s3 replica: bad bucket '%s'", bucket ? bucket : ""));
		goto fail;
	}
	for (const char *b = bucket; *b != '\0'; b++)
		if ((unsigned char)*b <= ' ' || (unsigned char)*b >= 0x7f) {
			s3_http_set_err(err_r, xasprintf("s3 replica: bad bucket '%s'", bucket));
			goto fail;
		}
	s->bucket = xstrdup(bucket);
	while (*p == '/')
		p++;
	plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	s->prefix = plen > 0 ? xasprintf("%.*s/", (int)plen, p) : xstrdup("");
	s->region = xstrdup(replica_s3_empty(cfg->s3_region) ? "us-east-1" : cfg->s3_region);
	if (replica_s3_empty(cfg->s3_endpoint)) {
		s->scheme = xstrdup("https");
		s->endpoint = xasprintf("s3.%s.amazonaws.com", s->region);
	} else if (replica_s3_parse_endpoint(s, cfg->s3_endpoint, err_r) != 0) {
		goto fail;
	}
	if (cfg->s3_path_style < 0)
		s->path_style = !replica_s3_empty(cfg->s3_endpoint);
	else
		s->path_style = cfg->s3_path_style != 0;
	/* virtual host needs a bucket that is a host name label (no dots over TLS) */
	if (!s->path_style && !replica_s3_dns_bucket(s->bucket, strcmp(s->scheme, "https") == 0))
		s->path_style = true;

	if (!replica_s3_empty(cfg->access_key)) {
		if (replica_s3_empty(cfg->secret_key)) {
			s3_http_set_err(err_r, xstrdup("s3 replica: an access key without a secret key"));
			goto fail;
		}
		s->access_key = xstrdup(cfg->access_key);
		s->secret_key = xstrdup(cfg->secret_key);
		s->session_token = xstrdup(replica_s3_empty(cfg->session_token) ? "" : cfg->session_token);
	} else if (!replica_s3_empty(cfg->credentials_file)) {
		if (replica_s3_credentials_file(s, cfg->credentials_file, err_r) != 0)
			goto fail;
		if (s->session_token == NULL)
			s->session_token = xstrdup("");
	} else {
		s3_http_set_err(err_r, xstrdup("s3 replica: no credentials: set the access and secret "
		    "keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or a shared credentials file"));
		goto fail;
	}
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : REPLICA_S3_DEFAULT_TIMEOUT_MS;
	s->retries = cfg->retries;
	s->backoff_base_ms = REPLICA_S3_BACKOFF_BASE_MS;
	s->backoff_cap_ms = REPLICA_S3_BACKOFF_CAP_MS;
	if (sodium_init() < 0) {
		s3_http_set_err(err_r, xstrdup("s3 replica: libsodium failed to start"));
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		s3_http_set_err(err_r, xstrdup("s3 replica: curl_global_init failed"));
		goto fail;
	}
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		curl_global_cleanup();
		s3_http_set_err(err_r, xstrdup("s3 replica: curl_easy_init failed"));
		goto fail;
	}
	r->ops = &replica_s3_ops;
	r->be = s;
	return 0;
fail:
	replica_s3_free(s);
	return -1;
}
