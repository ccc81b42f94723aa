/*
 * http.c: libcurl-based HTTP client for the integration tests (see http.h).
 */
#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define HTTP_BASE_URL_MAX 256
#define HTTP_URL_MAX 4096

struct http_client {
	CURL *curl;
	char base_url[HTTP_BASE_URL_MAX];
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static int http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
		? 0 : -1;
}

static void *http_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size);

	if (p == NULL) {
		fprintf(stderr, "http: out of memory\n");
		abort();
	}
	return p;
}

static char *http_xstrndup(const char *s, size_t len)
{
	char *p = http_xrealloc(NULL, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static double http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *resp = arg;
	size_t len = size * nmemb;

	resp->body = http_xrealloc(resp->body, resp->body_len + len + 1);
	memcpy(resp->body + resp->body_len, data, len);
	resp->body_len += len;
	resp->body[resp->body_len] = '\0';
	return len;
}

static void http_resp_clear_headers(struct http_resp *resp)
{
	for (size_t i = 0; i < resp->header_count; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->header_count = 0;
}

static size_t http_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *resp = arg;
	size_t len = size * nmemb;
	size_t end = len;
	const char *colon;
	size_t name_len, value_at;
	struct http_header *hdr;

	/* A new status line (after 1xx or a redirect) starts a new header set. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		http_resp_clear_headers(resp);
		return len;
	}
	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	colon = memchr(data, ':', end);
	if (colon == NULL)
		return len;
	name_len = (size_t)(colon - data);
	value_at = name_len + 1;
	while (value_at < end && (data[value_at] == ' ' || data[value_at] == '\t'))
		value_at++;
	while (end > value_at && (data[end - 1] == ' ' || data[end - 1] == '\t'))
		end--;
	resp->headers = http_xrealloc(resp->headers,
		(resp->header_count + 1) * sizeof(*resp->headers));
	hdr = &resp->headers[resp->header_count++];
	hdr->name = http_xstrndup(data, name_len);
	hdr->value = http_xstrndup(data + value_at, end - value_at);
	return len;
}

int http_client_new(const char *base_url, struct http_client **client_r)
{
	struct http_client *client;

	*client_r = NULL;
	pthread_once(&http_global_once, http_global_init);
	if (http_global_rc != 0)
		return -1;
	if (strlen(base_url) >= HTTP_BASE_URL_MAX)
		return -1;
	client = calloc(1, sizeof(*client));
	if (client == NULL)
		return -1;
	client->curl = curl_easy_init();
	if (client->curl == NULL) {
		free(client);
		return -1;
	}
	snprintf(client->base_url, sizeof(client->base_url), "%s", base_url);
	/* An empty file name turns the in-memory cookie engine on. */
	curl_easy_setopt(client->curl, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(client->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(client->curl, CURLOPT_TIMEOUT_MS,
			 (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(client->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(client->curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(client->curl, CURLOPT_HEADERFUNCTION, http_header_cb);
	/* Never through a proxy from the environment. */
	curl_easy_setopt(client->curl, CURLOPT_PROXY, "");
	*client_r = client;
	return 0;
}

void http_client_free(struct http_client **client)
{
	if (client == NULL || *client == NULL)
		return;
	curl_easy_cleanup((*client)->curl);
	free(*client);
	*client = NULL;
}

static int http_has_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (strncasecmp(headers[i], name, len) == 0 &&
		    headers[i][len] == ':')
			return 1;
	}
	return 0;
}

static int http_build_headers(const char *const *headers, int has_body,
			      struct curl_slist **list_r)
{
	struct curl_slist *list = NULL, *next;

	/* Never wait for "100 Continue" on large bodies. */
	list = curl_slist_append(list, "Expect:");
	if (list == NULL)
		return -1;
	if (has_body && !http_has_header(headers, "Content-Type")) {
		next = curl_slist_append(list, "Content-Type: application/json");
		if (next == NULL)
			goto fail;
		list = next;
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		next = curl_slist_append(list, headers[i]);
		if (next == NULL)
			goto fail;
		list = next;
	}
	*list_r = list;
	return 0;
fail:
	curl_slist_free_all(list);
	return -1;
}

int http_client_request(struct http_client *client, const char *method,
			const char *path, const char *body,
			const char *const *headers, struct http_resp *resp)
{
	CURL *curl = client->curl;
	struct curl_slist *hdr_list = NULL;
	char url[HTTP_URL_MAX];
	CURLcode code;
	double start;

	memset(resp, 0, sizeof(*resp));
	resp->body = http_xstrndup("", 0);
	if ((size_t)snprintf(url, sizeof(url), "%s%s", client->base_url, path)
	    >= sizeof(url)) {
		snprintf(resp->error, sizeof(resp->error), "URL too long");
		return -1;
	}
	if (http_build_headers(headers, body != NULL, &hdr_list) < 0) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return -1;
	}

	/* No curl_easy_reset(): in curl 7.88 it drops the cookie file list
	   without freeing it. Every option that varies is set each time. */
	client->errbuf[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, client->errbuf);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr_list);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	/* Back to a plain GET, then adjust. */
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0 || body != NULL) {
		if (body != NULL || strcmp(method, "POST") == 0 ||
		    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
			const char *payload = body != NULL ? body : "";

			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)strlen(payload));
			curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, payload);
		}
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}

	start = http_now_ms();
	code = curl_easy_perform(curl);
	resp->elapsed_ms = http_now_ms() - start;
	/* Leave nothing in the handle that points at freed memory. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr_list);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, NULL);
	if (code != CURLE_OK) {
		resp->status = 0;
		snprintf(resp->error, sizeof(resp->error),
			 "%.16s %.160s: %.256s", method, path,
			 client->errbuf[0] != '\0' ? client->errbuf
			 : curl_easy_strerror(code));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->header_count; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	}
	return NULL;
}

int http_resp_content_type_is(const struct http_resp *resp,
			      const char *media_type)
{
	const char *ct = http_resp_header(resp, "Content-Type");
	size_t len = strlen(media_type);

	if (ct == NULL || strncasecmp(ct, media_type, len) != 0)
		return 0;
	ct += len;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

json_t *http_resp_json(struct http_resp *resp)
{
	json_error_t err;

	if (resp->json == NULL && resp->body != NULL)
		resp->json = json_loadb(resp->body, resp->body_len, 0, &err);
	return resp->json;
}

void http_resp_free(struct http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	http_resp_clear_headers(resp);
	if (resp->json != NULL)
		json_decref(resp->json);
	memset(resp, 0, sizeof(*resp));
}

/* metricsd tests: the session cookies, for a WebSocket opened on a raw socket. */
int http_client_cookie_header(struct http_client *client, char *buf,
			      size_t len)
{
	struct curl_slist *list = NULL, *it;
	size_t n = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (curl_easy_getinfo(client->curl, CURLINFO_COOKIELIST, &list) !=
	    CURLE_OK)
		return -1;
	for (it = list; it != NULL; it = it->next) {
		/* domain, flag, path, secure, expiry, name, value (tabs) */
		const char *f = it->data, *name = NULL, *value = NULL;
		int field = 0;

		for (const char *p = f; *p != '\0'; p++) {
			if (*p != '\t')
				continue;
			field++;
			if (field == 5)
				name = p + 1;
			else if (field == 6)
				value = p + 1;
		}
		if (name == NULL || value == NULL)
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%.*s=%s",
				      n ? "; " : "", (int)(value - 1 - name),
				      name, value);
		if (n >= len) {
			curl_slist_free_all(list);
			return -1;
		}
	}
	curl_slist_free_all(list);
	return 0;
}
