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
 * (bucket.host/key); -1 picks path style for a custom endpoint.
 * Retries (up to cfg->retries, capped jittered exponential backoff): curl's
 * connect/DNS/timeout/reset errors, 5xx, 408, 429, SlowDown,
 * RequestTimeout, InternalError and an Error inside a 200 answer of
 * CompleteMultipartUpload.  403 is never retried (REPLICA_FORBIDDEN, or
 * REPLICA_CLOCK_SKEW for RequestTimeTooSkewed).  Messages name the method,
 * the key, the HTTP status and S3's Code and Message; never a secret. */
#include "replica_s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "s3_sign.h"
#include "s3_xml.h"
#include "timeutil.h"
#include "xmalloc.h"

#define S3_ERRBODY_MAX (64u << 10)   /* kept of an error answer */
#define S3_SMALL_MAX (1u << 20)      /* an answer we parse (initiate, complete) */
#define S3_MAX_PARTS 10000
#define S3_KEY_MAX 1024
#define S3_DEFAULT_TIMEOUT_MS 30000
#define S3_CONNECT_TIMEOUT_MS 10000

struct s3 {
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
struct s3_call {
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

/* ---- small helpers ------------------------------------------------------- */

static struct s3 *
s3_of(const struct replica *r)
{
	return r->be;
}

static void
s3_set_err(char **err_r, char *msg)
{
	if (err_r != NULL) {
		free(*err_r);
		*err_r = msg;
	} else {
		free(msg);
	}
}

/* A short, printable copy of text from the server, for a message. */
static void
s3_printable(char *out, size_t size, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < size; s++)
		out[o++] = (*s >= ' ' && *s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

static int
s3_key_check(const char *key, char **err_r)
{
	size_t n = key != NULL ? strlen(key) : 0;

	if (n == 0 || n > S3_KEY_MAX) {
		s3_set_err(err_r, xasprintf("s3: bad key '%s' (1 to %d bytes)", key ? key : "",
		    S3_KEY_MAX));
		return -1;
	}
	return 0;
}

/* ---- one HTTP request ---------------------------------------------------- */

static size_t
s3_cb_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_call *c = arg;
	size_t len = sz * nmemb, limit;
	long status = 0;

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && c->out_fd >= 0) {
		size_t done = 0;

		while (done < len) {
			ssize_t w = pwrite(c->out_fd, p + done, len - done,
			    (off_t)(c->written + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				c->write_errno = w < 0 ? errno : EIO;
				return 0;
			}
			done += (size_t)w;
		}
		c->written += len;
		return len;
	}
	limit = (status >= 200 && status < 300) ? c->max_mem : S3_ERRBODY_MAX;
	if (c->resp_len + len > limit) {
		if (status >= 200 && status < 300) {
			c->too_big = true;
			return 0;
		}
		len = limit - c->resp_len;     /* keep the head of an error body */
		if (len == 0)
			return sz * nmemb;
	}
	if (c->resp_len + len + 1 > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 4096;

		while (c->resp_len + len + 1 > cap)
			cap *= 2;
		c->resp = xrealloc(c->resp, cap);
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, p, len);
	c->resp_len += len;
	c->resp[c->resp_len] = '\0';
	c->written += len;
	return sz * nmemb;
}

static size_t
s3_cb_read(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_call *c = arg;
	size_t n = sz * nmemb;

	if (n > c->body_len - c->body_off)
		n = c->body_len - c->body_off;
	if (n > 0)
		memcpy(p, c->body + c->body_off, n);
	c->body_off += n;
	return n;
}

static int
s3_cb_seek(void *arg, curl_off_t off, int origin)
{
	struct s3_call *c = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > c->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	c->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
s3_cb_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_call *c = arg;
	size_t len = sz * nmemb, vl;
	const char *v;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		c->etag[0] = '\0';             /* a new answer (after a 100) */
		return len;
	}
	v = memchr(p, ':', len);
	if (v == NULL)
		return len;
	v++;
	while (v < p + len && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(p + len - v);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (len > 5 && strncasecmp(p, "etag:", 5) == 0 && vl < sizeof(c->etag)) {
		memcpy(c->etag, v, vl);
		c->etag[vl] = '\0';
	} else if (len > 5 && strncasecmp(p, "date:", 5) == 0 && vl < 64) {
		char d[64];

		memcpy(d, v, vl);
		d[vl] = '\0';
		c->server_date = curl_getdate(d, NULL);
	}
	return len;
}

static void
s3_call_reset_answer(struct s3_call *c)
{
	free(c->resp);
	c->resp = NULL;
	c->resp_len = c->resp_cap = 0;
	c->status = 0;
	c->etag[0] = '\0';
	c->server_date = -1;
	c->content_length = -1;
	c->written = 0;
	c->too_big = false;
	c->write_errno = 0;
	c->body_off = 0;
}

static void
s3_call_fini(struct s3_call *c)
{
	free(c->resp);
	c->resp = NULL;
	c->resp_len = c->resp_cap = 0;
}

/* The request's path (raw) and Host. */
static void
s3_target(const struct s3 *s, const char *key, char **path_r, char **host_r)
{
	if (s->path_style) {
		*host_r = xstrdup(s->endpoint);
		*path_r = key != NULL ? xasprintf("/%s/%s%s", s->bucket, s->prefix, key) :
		    xasprintf("/%s", s->bucket);
	} else {
		*host_r = xasprintf("%s.%s", s->bucket, s->endpoint);
		*path_r = key != NULL ? xasprintf("/%s%s", s->prefix, key) : xstrdup("/");
	}
}

/* One attempt: CURLE_OK with c->status set, or curl's error. */
static CURLcode
s3_perform(struct s3 *s, struct s3_call *c, const char **err_r)
{
	struct s3_sign_req req = {0};
	struct s3_sign_out out;
	struct curl_slist *h = NULL;
	char hash[S3_SIGN_HASH_HEX], date[S3_SIGN_DATE_LEN];
	char *path, *host, *url, *line;
	CURLcode cc;
	CURL *cu = s->curl;

	s3_call_reset_answer(c);
	s3_target(s, c->key, &path, &host);
	s3_sign_sha256_hex(c->body != NULL ? c->body : (const uint8_t *)"", c->body_len, hash);
	s3_sign_amz_date(time_wall_ms() / 1000, date);
	req.method = c->method;
	req.host = host;
	req.path = path;
	req.query = c->query;
	req.nquery = c->nquery;
	req.headers = c->hdr;
	req.nheaders = c->nhdr;
	req.payload_hash = hash;
	req.amz_date = date;
	req.region = s->region;
	req.access_key = s->access_key;
	req.secret_key = s->secret_key;
	req.session_token = s->session_token;
	if (s3_sign(&req, &out, err_r) != 0) {
		free(path);
		free(host);
		return CURLE_BAD_FUNCTION_ARGUMENT;
	}
	url = out.query[0] != '\0' ?
	    xasprintf("%s://%s%s?%s", s->scheme, host, out.path, out.query) :
	    xasprintf("%s://%s%s", s->scheme, host, out.path);

#define S3_HDR(...)                                          \
	do {                                                 \
		line = xasprintf(__VA_ARGS__);               \
		h = curl_slist_append(h, line);              \
		free(line);                                  \
	} while (0)
	S3_HDR("Host: %s", host);
	S3_HDR("x-amz-date: %s", date);
	S3_HDR("x-amz-content-sha256: %s", hash);
	if (s->session_token[0] != '\0')
		S3_HDR("x-amz-security-token: %s", s->session_token);
	for (size_t i = 0; i < c->nhdr; i++)
		S3_HDR("%s: %s", c->hdr[i].name, c->hdr[i].value);
	S3_HDR("Authorization: %s", out.authorization);
#undef S3_HDR
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "Accept:");
	if (c->upload && c->nhdr == 0)
		h = curl_slist_append(h, "Content-Type:");

	curl_easy_reset(cu);
	c->curl = cu;
	s->errbuf[0] = '\0';
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(s->timeout_ms < S3_CONNECT_TIMEOUT_MS ? s->timeout_ms : S3_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, s3_cb_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, s3_cb_header);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, c);
	if (c->upload) {
		curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(cu, CURLOPT_READFUNCTION, s3_cb_read);
		curl_easy_setopt(cu, CURLOPT_READDATA, c);
		curl_easy_setopt(cu, CURLOPT_SEEKFUNCTION, s3_cb_seek);
		curl_easy_setopt(cu, CURLOPT_SEEKDATA, c);
		curl_easy_setopt(cu, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->body_len);
		if (strcmp(c->method, "PUT") != 0)
			curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, c->method);
	} else if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, c->method);
	}
	s->requests++;
	cc = curl_easy_perform(cu);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &c->status);
	curl_easy_getinfo(cu, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &c->content_length);
	curl_slist_free_all(h);
	free(url);
	free(path);
	free(host);
	s3_sign_out_fini(&out);
	return cc;
}

static bool
s3_curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_WEIRD_SERVER_REPLY:
		return true;
	default:
		return false;
	}
}

static bool
s3_code_retryable(const char *code)
{
	static const char *const codes[] = {"SlowDown", "RequestTimeout", "InternalError",
	    "ServiceUnavailable", "Throttling", "ThrottlingException", "RequestThrottled",
	    "OperationAborted", "ConditionalRequestConflict", "RequestTimeoutException"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

static unsigned
s3_backoff_ms(const struct s3 *s, unsigned attempt)
{
	uint64_t d = s->backoff_base_ms;

	for (unsigned i = 0; i < attempt && d < s->backoff_cap_ms; i++)
		d *= 2;
	if (d > s->backoff_cap_ms)
		d = s->backoff_cap_ms;
	if (d < 2)
		return (unsigned)d;
	return (unsigned)(d / 2 + randombytes_uniform((uint32_t)(d / 2) + 1));
}

static void
s3_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *
s3_what(const struct s3_call *c)
{
	return c->key != NULL ? c->key : "(bucket)";
}

/* The server is this many seconds ahead of us (from the Error's ServerTime,
 * else the Date header); 0 when unknown. */
static long long
s3_skew_s(const struct s3_call *c, const struct s3_xml_error *e)
{
	int64_t now = time_wall_ms();

	if (e != NULL && e->server_time_ms > 0)
		return (long long)((e->server_time_ms - now) / 1000);
	if (c->server_date > 0)
		return (long long)(c->server_date - now / 1000);
	return 0;
}

/* Sends c with retries.  REPLICA_OK for a 2xx (and c's answer holds it);
 * otherwise a replica_rc with *err_r.  A 404 is REPLICA_NOT_FOUND for
 * NoSuchKey (or an unreadable body), REPLICA_FAILED for a missing bucket or
 * upload. */
static int
s3_call(struct s3 *s, struct s3_call *c, char **err_r)
{
	for (unsigned attempt = 0;; attempt++) {
		const char *serr = NULL;
		CURLcode cc = s3_perform(s, c, &serr);
		struct s3_xml_error e = {0};
		bool have_e = false, retry = false;
		char *perr = NULL, code[64], msg[256], *why;
		int rc;

		if (serr != NULL) {
			s3_set_err(err_r, xasprintf("s3 %s '%s': %s", c->method, s3_what(c), serr));
			return REPLICA_FAILED;
		}
		if (cc == CURLE_WRITE_ERROR && (c->too_big || c->write_errno != 0)) {
			if (c->too_big)
				s3_set_err(err_r, xasprintf("s3 %s '%s': answer larger than %zu bytes",
				    c->method, s3_what(c), c->max_mem));
			else
				s3_set_err(err_r, xasprintf("s3 %s '%s': writing the download: %s",
				    c->method, s3_what(c), strerror(c->write_errno)));
			return REPLICA_FAILED;
		}
		if (cc != CURLE_OK) {
			rc = s3_curl_retryable(cc) ? REPLICA_UNREACHABLE : REPLICA_FAILED;
			why = xasprintf("%s%s%s", curl_easy_strerror(cc),
			    s->errbuf[0] != '\0' ? ": " : "", s->errbuf);
			retry = rc == REPLICA_UNREACHABLE;
			goto fail;
		}
		if (c->status >= 200 && c->status < 300 && !c->complete)
			return REPLICA_OK;
		if (c->status >= 200 && c->status < 300) {
			int x = s3_xml_parse_complete((const char *)c->resp, c->resp_len, &e, &perr);

			if (x == 0)
				return REPLICA_OK;
			if (x < 0) {
				s3_set_err(err_r, xasprintf("s3 %s '%s': HTTP %ld: %s", c->method,
				    s3_what(c), c->status, perr));
				free(perr);
				return REPLICA_FAILED;
			}
			have_e = true;
		} else if (c->resp_len > 0) {
			have_e = s3_xml_parse_error((const char *)c->resp, c->resp_len, &e,
			    &perr) == 0;
			free(perr);
		}
		s3_printable(code, sizeof(code), have_e ? e.code : "");
		s3_printable(msg, sizeof(msg), have_e ? e.message : "");
		if (code[0] == '\0' && c->status >= 300)
			s3_printable(msg, sizeof(msg), c->resp_len > 0 && !have_e ?
			    "(no S3 error document)" : "");
		why = xasprintf("HTTP %ld%s%s%s%s", c->status, code[0] ? " " : "", code,
		    msg[0] ? ": " : "", msg);
		if (strcmp(code, "RequestTimeTooSkewed") == 0) {
			s3_set_err(err_r, xasprintf("s3 %s '%s': %s; our clock is off: the server "
			    "is %lld s ahead of us", c->method, s3_what(c), why, s3_skew_s(c,
			    have_e ? &e : NULL)));
			free(why);
			s3_xml_error_fini(&e);
			return REPLICA_CLOCK_SKEW;
		}
		if (c->status == 403) {
			rc = REPLICA_FORBIDDEN;
		} else if (c->status == 404) {
			rc = (code[0] == '\0' || strcmp(code, "NoSuchKey") == 0) ?
			    REPLICA_NOT_FOUND : REPLICA_FAILED;
		} else if (c->status == 412) {
			rc = REPLICA_EXISTS;
		} else {
			rc = REPLICA_FAILED;
			retry = c->status >= 500 || c->status == 408 || c->status == 429 ||
			    s3_code_retryable(code);
		}
		s3_xml_error_fini(&e);
fail:
		if (retry && attempt < s->retries) {
			unsigned ms = s3_backoff_ms(s, attempt);

			log_warnx("s3 %s '%s': %s; retry %u/%u in %u ms", c->method, s3_what(c),
			    why, attempt + 1, s->retries, ms);
			free(why);
			s3_sleep_ms(ms);
			if (c->out_fd >= 0 && ftruncate(c->out_fd, 0) != 0) {
				s3_set_err(err_r, xasprintf("s3 %s '%s': truncating the download: %s",
				    c->method, s3_what(c), strerror(errno)));
				return REPLICA_FAILED;
			}
			continue;
		}
		s3_set_err(err_r, xasprintf("s3 %s '%s': %s%s", c->method, s3_what(c), why,
		    retry ? " (retries exhausted)" : ""));
		free(why);
		return rc;
	}
}

static void
s3_call_init(struct s3_call *c, const char *method, const char *key)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->key = key;
	c->out_fd = -1;
	c->max_mem = S3_SMALL_MAX;
	c->server_date = -1;
	c->content_length = -1;
}

/* ---- put ----------------------------------------------------------------- */

/* Where an upload's bytes come from. */
struct s3_src {
	int fd;                      /* -1: mem */
	const uint8_t *mem;
	uint64_t size;
	uint8_t *buf;                /* a part read from fd */
};

static int
s3_src_get(struct s3_src *src, uint64_t off, size_t len, const uint8_t **p_r, char **err_r)
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
			s3_set_err(err_r, xasprintf("s3 put: reading the file at %llu: %s",
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
s3_put_single(struct s3 *s, const char *key, struct s3_src *src, bool if_none_match,
    char **err_r)
{
	struct s3_call c;
	const uint8_t *p = NULL;
	int rc;

	if (s3_src_get(src, 0, (size_t)src->size, &p, err_r) != 0)
		return REPLICA_FAILED;
	s3_call_init(&c, "PUT", key);
	c.upload = true;
	c.body = p;
	c.body_len = (size_t)src->size;
	c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/octet-stream"};
	if (if_none_match)
		c.hdr[c.nhdr++] = (struct s3_sign_pair){"if-none-match", "*"};
	rc = s3_call(s, &c, err_r);
	s3_call_fini(&c);
	return rc;
}

static void
s3_xml_escape(FILE *f, const char *s)
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
s3_multipart_abort(struct s3 *s, const char *key, const char *upload_id)
{
	struct s3_call c;
	char *err = NULL;

	s3_call_init(&c, "DELETE", key);
	c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
	if (s3_call(s, &c, &err) != REPLICA_OK)
		log_warnx("s3: aborting the multipart upload of '%s' failed (the bucket's "
			  "lifecycle rule must clean it up): %s", key, err);
	free(err);
	s3_call_fini(&c);
}

static int
s3_put_multipart(struct s3 *s, const char *key, struct s3_src *src, bool if_none_match,
    char **err_r)
{
	uint64_t part = REPLICA_S3_PART_SIZE, nparts;
	char **etags = NULL, *upload_id = NULL, *xml = NULL, *perr = NULL, num[24];
	size_t xml_len = 0;
	struct s3_call c;
	FILE *f;
	int rc;

	if (src->size / part >= S3_MAX_PARTS)
		part = (src->size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
	nparts = (src->size + part - 1) / part;

	s3_call_init(&c, "POST", key);
	c.upload = true;
	c.query[c.nquery++] = (struct s3_sign_pair){"uploads", ""};
	c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/octet-stream"};
	rc = s3_call(s, &c, err_r);
	if (rc == REPLICA_OK && s3_xml_parse_initiate((const char *)c.resp, c.resp_len,
	    &upload_id, &perr) != 0) {
		s3_set_err(err_r, xasprintf("s3 POST '%s' ?uploads: %s", key, perr));
		free(perr);
		rc = REPLICA_FAILED;
	}
	s3_call_fini(&c);
	if (rc != REPLICA_OK)
		return rc;

	etags = xcalloc((size_t)nparts, sizeof(*etags));
	for (uint64_t i = 0; i < nparts && rc == REPLICA_OK; i++) {
		uint64_t off = i * part;
		size_t len = (size_t)(src->size - off < part ? src->size - off : part);
		const uint8_t *p = NULL;

		if (s3_src_get(src, off, len, &p, err_r) != 0) {
			rc = REPLICA_FAILED;
			break;
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(i + 1));
		s3_call_init(&c, "PUT", key);
		c.upload = true;
		c.body = p;
		c.body_len = len;
		c.query[c.nquery++] = (struct s3_sign_pair){"partNumber", num};
		c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
		rc = s3_call(s, &c, err_r);
		if (rc == REPLICA_OK && c.etag[0] == '\0') {
			s3_set_err(err_r, xasprintf("s3 PUT '%s' part %s: no ETag in the answer",
			    key, num));
			rc = REPLICA_FAILED;
		}
		if (rc == REPLICA_OK)
			etags[i] = xstrdup(c.etag);
		s3_call_fini(&c);
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
			s3_xml_escape(f, etags[i]);
			fputs("</ETag></Part>", f);
		}
		fputs("</CompleteMultipartUpload>", f);
		if (fclose(f) != 0)
			abort();
		s3_call_init(&c, "POST", key);
		c.upload = true;
		c.complete = true;
		c.body = (const uint8_t *)xml;
		c.body_len = xml_len;
		c.query[c.nquery++] = (struct s3_sign_pair){"uploadId", upload_id};
		c.hdr[c.nhdr++] = (struct s3_sign_pair){"content-type", "application/xml"};
		if (if_none_match)
			c.hdr[c.nhdr++] = (struct s3_sign_pair){"if-none-match", "*"};
		rc = s3_call(s, &c, err_r);
		s3_call_fini(&c);
		free(xml);
	}
	if (rc != REPLICA_OK)
		s3_multipart_abort(s, key, upload_id);
	for (uint64_t i = 0; i < nparts; i++)
		free(etags[i]);
	free(etags);
	free(upload_id);
	return rc;
}

static int
s3_put(struct s3 *s, const char *key, struct s3_src *src, bool if_none_match, char **err_r)
{
	int rc;

	s->requests = 0;
	if (s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	if (src->size <= REPLICA_S3_MULTIPART_MIN)
		rc = s3_put_single(s, key, src, if_none_match, err_r);
	else
		rc = s3_put_multipart(s, key, src, if_none_match, err_r);
	free(src->buf);
	src->buf = NULL;
	return rc;
}

static int
s3_op_put_fd(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r)
{
	struct s3_src src = {.fd = fd};
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		s3_set_err(err_r, xasprintf("s3 put '%s': fd is not a regular file: %s", key,
		    strerror(errno)));
		return REPLICA_FAILED;
	}
	src.size = (uint64_t)st.st_size;
	return s3_put(s3_of(r), key, &src, if_none_match, err_r);
}

static int
s3_op_put_mem(struct replica *r, const char *key, const void *buf, size_t len,
    bool if_none_match, char **err_r)
{
	struct s3_src src = {.fd = -1, .mem = buf, .size = len};

	if (buf == NULL && len > 0) {
		s3_set_err(err_r, xasprintf("s3 put '%s': no buffer", key));
		return REPLICA_FAILED;
	}
	if (buf == NULL)
		src.mem = (const uint8_t *)"";
	return s3_put(s3_of(r), key, &src, if_none_match, err_r);
}

/* ---- get ----------------------------------------------------------------- */

static int
s3_op_get_fd(struct replica *r, const char *key, int fd, uint64_t *size_r, char **err_r)
{
	struct s3 *s = s3_of(r);
	struct s3_call c;
	int rc;

	s->requests = 0;
	if (s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	if (ftruncate(fd, 0) != 0) {
		s3_set_err(err_r, xasprintf("s3 get '%s': truncating the file: %s", key,
		    strerror(errno)));
		return REPLICA_FAILED;
	}
	s3_call_init(&c, "GET", key);
	c.out_fd = fd;
	rc = s3_call(s, &c, err_r);
	if (rc == REPLICA_OK && c.content_length >= 0 &&
	    (uint64_t)c.content_length != c.written) {
		s3_set_err(err_r, xasprintf("s3 GET '%s': got %llu bytes of %lld", key,
		    (unsigned long long)c.written, (long long)c.content_length));
		rc = REPLICA_FAILED;
	}
	if (rc == REPLICA_OK && size_r != NULL)
		*size_r = c.written;
	s3_call_fini(&c);
	return rc;
}

int
replica_s3_get_mem(struct replica *r, const char *key, size_t max, uint8_t **buf_r,
    size_t *len_r, char **err_r)
{
	struct s3 *s = s3_of(r);
	struct s3_call c;
	int rc;

	*buf_r = NULL;
	*len_r = 0;
	s->requests = 0;
	if (s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	s3_call_init(&c, "GET", key);
	c.max_mem = max;
	rc = s3_call(s, &c, err_r);
	if (rc == REPLICA_OK && c.content_length >= 0 &&
	    (uint64_t)c.content_length != c.resp_len) {
		s3_set_err(err_r, xasprintf("s3 GET '%s': got %zu bytes of %lld", key,
		    c.resp_len, (long long)c.content_length));
		rc = REPLICA_FAILED;
	}
	if (rc == REPLICA_OK) {
		*buf_r = c.resp != NULL ? c.resp : xmalloc(1);
		*len_r = c.resp_len;
		c.resp = NULL;
	}
	s3_call_fini(&c);
	return rc;
}

/* ---- list, delete -------------------------------------------------------- */

static int
s3_list_cmp(const void *a, const void *b)
{
	const struct replica_obj *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static int
s3_op_list(struct replica *r, const char *prefix, struct replica_list *l, char **err_r)
{
	struct s3 *s = s3_of(r);
	size_t plen = strlen(s->prefix), first = l->n;
	char *full = xasprintf("%s%s", s->prefix, prefix != NULL ? prefix : "");
	char *token = NULL, *perr = NULL;
	int rc = REPLICA_OK;

	s->requests = 0;
	do {
		struct s3_call c;
		struct s3_xml_list page;

		s3_call_init(&c, "GET", NULL);
		c.max_mem = S3_XML_MAX_DOC;
		c.query[c.nquery++] = (struct s3_sign_pair){"list-type", "2"};
		if (full[0] != '\0')
			c.query[c.nquery++] = (struct s3_sign_pair){"prefix", full};
		if (token != NULL)
			c.query[c.nquery++] = (struct s3_sign_pair){"continuation-token", token};
		rc = s3_call(s, &c, err_r);
		if (rc == REPLICA_OK && s3_xml_parse_list((const char *)c.resp, c.resp_len, &page,
		    &perr) != 0) {
			s3_set_err(err_r, xasprintf("s3 GET ?list-type=2 prefix '%s': %s", full,
			    perr));
			free(perr);
			perr = NULL;
			rc = REPLICA_FAILED;
		}
		s3_call_fini(&c);
		if (rc != REPLICA_OK)
			break;
		for (size_t i = 0; i < page.n; i++) {
			if (strncmp(page.v[i].key, full, strlen(full)) != 0) {
				s3_set_err(err_r, xasprintf("s3 list prefix '%s': the store answered "
				    "key '%s' outside it", full, page.v[i].key));
				rc = REPLICA_FAILED;
				break;
			}
			replica_list_add(l, page.v[i].key + plen, page.v[i].size, page.v[i].mtime_ms);
		}
		if (rc == REPLICA_OK && page.truncated && token != NULL &&
		    strcmp(token, page.next_token) == 0) {
			s3_set_err(err_r, xasprintf("s3 list prefix '%s': the continuation token "
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
		qsort(l->v, l->n, sizeof(l->v[0]), s3_list_cmp);
	return REPLICA_OK;
}

static int
s3_op_del(struct replica *r, const char *key, char **err_r)
{
	struct s3 *s = s3_of(r);
	struct s3_call c;
	int rc;

	s->requests = 0;
	if (s3_key_check(key, err_r) != 0)
		return REPLICA_FAILED;
	s3_call_init(&c, "DELETE", key);
	rc = s3_call(s, &c, err_r);
	s3_call_fini(&c);
	if (rc == REPLICA_NOT_FOUND) {
		s3_set_err(err_r, NULL);
		rc = REPLICA_OK;
	}
	return rc;
}

int
replica_s3_create_bucket(struct replica *r, char **err_r)
{
	struct s3 *s = s3_of(r);
	struct s3_call c;
	char *xml = NULL;
	int rc;

	s->requests = 0;
	s3_call_init(&c, "PUT", NULL);
	c.upload = true;
	if (strcmp(s->region, "us-east-1") != 0) {
		xml = xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
				"2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
				"</CreateBucketConfiguration>", s->region);
		c.body = (const uint8_t *)xml;
		c.body_len = strlen(xml);
	}
	rc = s3_call(s, &c, err_r);
	if (rc == REPLICA_FAILED && c.status == 409 && c.resp != NULL &&
	    strstr((const char *)c.resp, "BucketAlreadyOwnedByYou") != NULL) {
		s3_set_err(err_r, NULL);
		rc = REPLICA_OK;
	}
	s3_call_fini(&c);
	free(xml);
	return rc;
}

void
replica_s3_set_backoff(struct replica *r, unsigned base_ms, unsigned cap_ms)
{
	struct s3 *s = s3_of(r);

	s->backoff_base_ms = base_ms;
	s->backoff_cap_ms = cap_ms < base_ms ? base_ms : cap_ms;
}

unsigned
replica_s3_requests(const struct replica *r)
{
	return s3_of(r)->requests;
}

/* ---- open, close --------------------------------------------------------- */

static void
s3_free(struct s3 *s)
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
s3_op_close(struct replica *r)
{
	s3_free(r->be);
	r->be = NULL;
}

static const struct replica_ops s3_ops = {
	.kind = "s3",
	.close = s3_op_close,
	.put_fd = s3_op_put_fd,
	.put_mem = s3_op_put_mem,
	.get_fd = s3_op_get_fd,
	.list = s3_op_list,
	.del = s3_op_del,
};

static char *
s3_trim(char *s)
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
s3_credentials_file(struct s3 *s, const char *path, char **err_r)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	bool in_default = false, seen_default = false;

	if (f == NULL) {
		s3_set_err(err_r, xasprintf("s3 replica: credentials file %s: %s", path,
		    strerror(errno)));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *l = s3_trim(line), *eq, *k, *v, **dst = NULL;

		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end != NULL)
				*end = '\0';
			in_default = strcmp(s3_trim(l + 1), "default") == 0;
			seen_default = seen_default || in_default;
			continue;
		}
		if (!in_default || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		k = s3_trim(l);
		v = s3_trim(eq + 1);
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
		s3_set_err(err_r, xasprintf("s3 replica: credentials file %s: no [default] "
		    "section with aws_access_key_id and aws_secret_access_key", path));
		return -1;
	}
	return 0;
}

static bool
s3_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* A bucket name usable as a host name label (virtual-host addressing). */
static bool
s3_dns_bucket(const char *b, bool https)
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
s3_parse_endpoint(struct s3 *s, const char *ep, char **err_r)
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
	s3_set_err(err_r, xasprintf("s3 replica: bad endpoint '%s' (want http[s]://host[:port])",
	    ep));
	return -1;
}

int
replica_s3_open(struct replica *r, const char *bucket, const char *prefix,
    const struct replica_config *cfg, char **err_r)
{
	struct s3 *s = xcalloc(1, sizeof(*s));
	const char *p = prefix != NULL ? prefix : "";
	size_t plen;

	if (s3_empty(bucket) || strchr(bucket, '/') != NULL) {
		s3_set_err(err_r, xasprintf("s3 replica: bad bucket '%s'", bucket ? bucket : ""));
		goto fail;
	}
	for (const char *b = bucket; *b != '\0'; b++)
		if ((unsigned char)*b <= ' ' || (unsigned char)*b >= 0x7f) {
			s3_set_err(err_r, xasprintf("s3 replica: bad bucket '%s'", bucket));
			goto fail;
		}
	s->bucket = xstrdup(bucket);
	while (*p == '/')
		p++;
	plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	s->prefix = plen > 0 ? xasprintf("%.*s/", (int)plen, p) : xstrdup("");
	s->region = xstrdup(s3_empty(cfg->s3_region) ? "us-east-1" : cfg->s3_region);
	if (s3_empty(cfg->s3_endpoint)) {
		s->scheme = xstrdup("https");
		s->endpoint = xasprintf("s3.%s.amazonaws.com", s->region);
	} else if (s3_parse_endpoint(s, cfg->s3_endpoint, err_r) != 0) {
		goto fail;
	}
	if (cfg->s3_path_style < 0)
		s->path_style = !s3_empty(cfg->s3_endpoint);
	else
		s->path_style = cfg->s3_path_style != 0;
	/* virtual host needs a bucket that is a host name label (no dots over TLS) */
	if (!s->path_style && !s3_dns_bucket(s->bucket, strcmp(s->scheme, "https") == 0))
		s->path_style = true;

	if (!s3_empty(cfg->access_key)) {
		if (s3_empty(cfg->secret_key)) {
			s3_set_err(err_r, xstrdup("s3 replica: an access key without a secret key"));
			goto fail;
		}
		s->access_key = xstrdup(cfg->access_key);
		s->secret_key = xstrdup(cfg->secret_key);
		s->session_token = xstrdup(s3_empty(cfg->session_token) ? "" : cfg->session_token);
	} else if (!s3_empty(cfg->credentials_file)) {
		if (s3_credentials_file(s, cfg->credentials_file, err_r) != 0)
			goto fail;
		if (s->session_token == NULL)
			s->session_token = xstrdup("");
	} else {
		s3_set_err(err_r, xstrdup("s3 replica: no credentials: set the access and secret "
		    "keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or a shared credentials file"));
		goto fail;
	}
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : S3_DEFAULT_TIMEOUT_MS;
	s->retries = cfg->retries;
	s->backoff_base_ms = REPLICA_S3_BACKOFF_BASE_MS;
	s->backoff_cap_ms = REPLICA_S3_BACKOFF_CAP_MS;
	if (sodium_init() < 0) {
		s3_set_err(err_r, xstrdup("s3 replica: libsodium failed to start"));
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		s3_set_err(err_r, xstrdup("s3 replica: curl_global_init failed"));
		goto fail;
	}
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		curl_global_cleanup();
		s3_set_err(err_r, xstrdup("s3 replica: curl_easy_init failed"));
		goto fail;
	}
	r->ops = &s3_ops;
	r->be = s;
	return 0;
fail:
	s3_free(s);
	return -1;
}
