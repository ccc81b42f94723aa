/* s3_http: one signed S3 request with retries (see s3_http.h). */
#include "s3_http.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "replica.h"
#include "s3_xml.h"
#include "timeutil.h"
#include "xmalloc.h"

#define S3_HTTP_CONNECT_TIMEOUT_MS 10000

void
s3_http_set_err(char **err_r, char *msg)
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
s3_http_printable(char *out, size_t size, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < size; s++)
		out[o++] = (*s >= ' ' && *s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

/* ---- one HTTP request ---------------------------------------------------- */

static size_t
s3_http_cb_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_http_call *c = arg;
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
	limit = (status >= 200 && status < 300) ? c->max_mem : S3_HTTP_ERRBODY_MAX;
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
s3_http_cb_read(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_http_call *c = arg;
	size_t n = sz * nmemb;

	if (n > c->body_len - c->body_off)
		n = c->body_len - c->body_off;
	if (n > 0)
		memcpy(p, c->body + c->body_off, n);
	c->body_off += n;
	return n;
}

static int
s3_http_cb_seek(void *arg, curl_off_t off, int origin)
{
	struct s3_http_call *c = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > c->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	c->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
s3_http_cb_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct s3_http_call *c = arg;
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
s3_http_call_reset(struct s3_http_call *c)
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

void
s3_http_call_fini(struct s3_http_call *c)
{
	free(c->resp);
	c->resp = NULL;
	c->resp_len = c->resp_cap = 0;
}

/* The request's path (raw) and Host. */
static void
s3_http_target(const struct s3_http *s, const char *key, char **path_r, char **host_r)
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
s3_http_perform(struct s3_http *s, struct s3_http_call *c, const char **err_r)
{
	struct s3_sign_req req = {0};
	struct s3_sign_out out;
	struct curl_slist *h = NULL;
	char hash[S3_SIGN_HASH_HEX], date[S3_SIGN_DATE_LEN];
	char *path, *host, *url, *line;
	CURLcode cc;
	CURL *cu = s->curl;

	s3_http_call_reset(c);
	s3_http_target(s, c->key, &path, &host);
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
	    (long)(s->timeout_ms < S3_HTTP_CONNECT_TIMEOUT_MS ? s->timeout_ms : S3_HTTP_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, s3_http_cb_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, s3_http_cb_header);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, c);
	if (c->upload) {
		curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(cu, CURLOPT_READFUNCTION, s3_http_cb_read);
		curl_easy_setopt(cu, CURLOPT_READDATA, c);
		curl_easy_setopt(cu, CURLOPT_SEEKFUNCTION, s3_http_cb_seek);
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
s3_http_curl_retryable(CURLcode cc)
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
s3_http_code_retryable(const char *code)
{
	static const char *const codes[] = {"SlowDown", "RequestTimeout", "InternalError",
	    "ServiceUnavailable", "Throttling", "ThrottlingException", "RequestThrottled",
	    "OperationAborted", "ConditionalRequestConflict", "RequestTimeoutException"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

/* Credentials refused whatever the status (an expired session token is a
 * 400): never retried. */
static bool
s3_http_code_forbidden(const char *code)
{
	static const char *const codes[] = {"AccessDenied", "SignatureDoesNotMatch",
	    "InvalidAccessKeyId", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
	    "AccountProblem", "AllAccessDisabled"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

static unsigned
s3_http_backoff_ms(const struct s3_http *s, unsigned attempt)
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
s3_http_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *
s3_http_what(const struct s3_http_call *c)
{
	return c->key != NULL ? c->key : "(bucket)";
}

/* The server is this many seconds ahead of us (from the Error's ServerTime,
 * else the Date header); 0 when unknown. */
static long long
s3_http_skew_s(const struct s3_http_call *c, const struct s3_xml_error *e)
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
int
s3_http_call(struct s3_http *s, struct s3_http_call *c, char **err_r)
{
	for (unsigned attempt = 0;; attempt++) {
		const char *serr = NULL;
		CURLcode cc = s3_http_perform(s, c, &serr);
		struct s3_xml_error e = {0};
		bool have_e = false, retry = false;
		char *perr = NULL, code[64], msg[256], *why;
		int rc;

		if (serr != NULL) {
			s3_http_set_err(err_r, xasprintf("s3 %s '%s': %s", c->method, s3_http_what(c), serr));
			return REPLICA_FAILED;
		}
		if (cc == CURLE_WRITE_ERROR && (c->too_big || c->write_errno != 0)) {
			if (c->too_big)
				s3_http_set_err(err_r, xasprintf("s3 %s '%s': answer larger than %zu bytes",
				    c->method, s3_http_what(c), c->max_mem));
			else
				s3_http_set_err(err_r, xasprintf("s3 %s '%s': writing the download: %s",
				    c->method, s3_http_what(c), strerror(c->write_errno)));
			return REPLICA_FAILED;
		}
		if (cc != CURLE_OK) {
			rc = s3_http_curl_retryable(cc) ? REPLICA_UNREACHABLE : REPLICA_FAILED;
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
				s3_http_set_err(err_r, xasprintf("s3 %s '%s': HTTP %ld: %s", c->method,
				    s3_http_what(c), c->status, perr));
				free(perr);
				return REPLICA_FAILED;
			}
			have_e = true;
		} else if (c->resp_len > 0) {
			have_e = s3_xml_parse_error((const char *)c->resp, c->resp_len, &e,
			    &perr) == 0;
			free(perr);
		}
		s3_http_printable(code, sizeof(code), have_e ? e.code : "");
		s3_http_printable(msg, sizeof(msg), have_e ? e.message : "");
		if (code[0] == '\0' && c->status >= 300)
			s3_http_printable(msg, sizeof(msg), c->resp_len > 0 && !have_e ?
			    "(no S3 error document)" : "");
		why = xasprintf("HTTP %ld%s%s%s%s", c->status, code[0] ? " " : "", code,
		    msg[0] ? ": " : "", msg);
		if (strcmp(code, "RequestTimeTooSkewed") == 0) {
			s3_http_set_err(err_r, xasprintf("s3 %s '%s': %s; our clock is off: the server "
			    "is %lld s ahead of us", c->method, s3_http_what(c), why, s3_http_skew_s(c,
			    have_e ? &e : NULL)));
			free(why);
			s3_xml_error_fini(&e);
			return REPLICA_CLOCK_SKEW;
		}
		if (c->status == 403 || s3_http_code_forbidden(code)) {
			rc = REPLICA_FORBIDDEN;
		} else if (c->status == 404) {
			rc = (code[0] == '\0' || strcmp(code, "NoSuchKey") == 0) ?
			    REPLICA_NOT_FOUND : REPLICA_FAILED;
		} else if (c->status == 412) {
			rc = REPLICA_EXISTS;
		} else {
			rc = REPLICA_FAILED;
			retry = c->status >= 500 || c->status == 408 || c->status == 429 ||
			    s3_http_code_retryable(code);
		}
		s3_xml_error_fini(&e);
fail:
		if (retry && attempt < s->retries) {
			unsigned ms = s3_http_backoff_ms(s, attempt);

			log_warnx("s3 %s '%s': %s; retry %u/%u in %u ms", c->method, s3_http_what(c),
			    why, attempt + 1, s->retries, ms);
			free(why);
			s3_http_sleep_ms(ms);
			if (c->out_fd >= 0 && ftruncate(c->out_fd, 0) != 0) {
				s3_http_set_err(err_r, xasprintf("s3 %s '%s': truncating the download: %s",
				    c->method, s3_http_what(c), strerror(errno)));
				return REPLICA_FAILED;
			}
			continue;
		}
		s3_http_set_err(err_r, xasprintf("s3 %s '%s': %s%s", c->method, s3_http_what(c), why,
		    retry ? " (retries exhausted)" : ""));
		free(why);
		return rc;
	}
}

void
s3_http_call_init(struct s3_http_call *c, const char *method, const char *key)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->key = key;
	c->out_fd = -1;
	c->max_mem = S3_HTTP_SMALL_MAX;
	c->server_date = -1;
	c->content_length = -1;
}
