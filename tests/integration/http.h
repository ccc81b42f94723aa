/*
 * http.h: a small HTTP client for the integration tests, on libcurl.
 *
 * One struct http_client per simulated browser: its own CURL handle, its own
 * cookie jar (in memory), its own keep-alive connection. A response lands in
 * a struct http_resp that the caller owns and releases with http_resp_free().
 * Every request has a deadline (HTTP_TIMEOUT_MS) so a hung server fails the
 * test instead of blocking it.
 */
#ifndef KUBARR_TESTS_HTTP_H
#define KUBARR_TESTS_HTTP_H

#include <stddef.h>

#include <jansson.h>

#define HTTP_TIMEOUT_MS 10000
#define HTTP_CONNECT_TIMEOUT_MS 5000

struct http_header {
	char *name;
	char *value;
};

struct http_resp {
	long status;              /* 0 when the transfer failed */
	char *body;               /* NUL-terminated, never NULL after a request */
	size_t body_len;
	struct http_header *headers;
	size_t header_count;
	double elapsed_ms;        /* wall time of the whole request */
	char error[512];          /* libcurl's reason when the transfer failed */
	json_t *json;             /* parsed lazily by http_resp_json() */
};

struct http_client;

/* base_url e.g. "http://127.0.0.1:8080" (no trailing slash). */
int http_client_new(const char *base_url, struct http_client **client_r);
void http_client_free(struct http_client **client);

/*
 * Sends `method path` with an optional body and optional extra headers
 * (NULL-terminated array of "Name: value" strings). A body without a
 * Content-Type header is sent as application/json. Returns 0 when an HTTP
 * response arrived (whatever its status), -1 on a transport failure or
 * timeout (resp->error says why). resp is reset first; always call
 * http_resp_free() afterwards.
 */
int http_client_request(struct http_client *client, const char *method,
			const char *path, const char *body,
			const char *const *headers, struct http_resp *resp);

/* Value of the first response header with that name (case-insensitive). */
const char *http_resp_header(const struct http_resp *resp, const char *name);
/* 1 when Content-Type's media type equals `media_type` (case-insensitive). */
int http_resp_content_type_is(const struct http_resp *resp,
			      const char *media_type);
/* Body parsed as JSON; owned by resp (do not decref); NULL if not JSON. */
json_t *http_resp_json(struct http_resp *resp);
void http_resp_free(struct http_resp *resp);
/* The client's cookies as one Cookie header value ("a=1; b=2"); -1 if they
   do not fit. For requests made outside libcurl (a WebSocket test). */
int http_client_cookie_header(struct http_client *client, char *buf,
			      size_t len);

#endif
