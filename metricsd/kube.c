#include "kube.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cadvisor.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define KUBE_MAX_BODY (64u * 1024 * 1024)  /* a big cluster's cAdvisor page is a few MB */
#define KUBE_EDGES_EVERY_MS 30000

struct kube_buf {
	char *p;
	size_t len, cap;
	bool too_big;
};

struct kube {
	CURL *curl;
	char *api;
	char *token_file;
	char *ca_file;
	int timeout_ms;
	struct kube_buf body;
	struct cadvisor_agg *agg;
	struct collect_edge *edges;   /* cached between edge refreshes */
	size_t nedges;
	int64_t edges_at_ms;
	unsigned long requests, failures, lines_skipped;
};

bool
kube_available(const struct kube_config *cfg)
{
	if (cfg->api_url != NULL && cfg->api_url[0] != '\0')
		return true;
	return getenv("KUBERNETES_SERVICE_HOST") != NULL &&
	    access(cfg->token_file, R_OK) == 0;
}

struct kube *
kube_new(const struct kube_config *cfg, char **err_r)
{
	struct kube *k;
	char *api;

	if (cfg->api_url != NULL && cfg->api_url[0] != '\0') {
		api = xstrdup(cfg->api_url);
	} else {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");
		const char *port = getenv("KUBERNETES_SERVICE_PORT");

		if (host == NULL || host[0] == '\0') {
			*err_r = xstrdup("KUBERNETES_SERVICE_HOST is not set");
			return NULL;
		}
		api = strchr(host, ':') != NULL ?
		    xasprintf("https://[%s]:%s", host, port ? port : "443") :
		    xasprintf("https://%s:%s", host, port ? port : "443");
	}
	while (api[0] != '\0' && api[strlen(api) - 1] == '/')
		api[strlen(api) - 1] = '\0';
	if ((k = xcalloc(1, sizeof(*k))) == NULL || (k->curl = curl_easy_init()) == NULL) {
		free(api);
		free(k);
		*err_r = xstrdup("curl_easy_init failed");
		return NULL;
	}
	k->api = api;
	k->token_file = xstrdup(cfg->token_file);
	k->ca_file = xstrdup(cfg->ca_file ? cfg->ca_file : "");
	k->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	k->agg = cadvisor_agg_new();
	return k;
}

void
kube_free(struct kube **kp)
{
	struct kube *k = *kp;

	if (k == NULL)
		return;
	*kp = NULL;
	curl_easy_cleanup(k->curl);
	free(k->api);
	free(k->token_file);
	free(k->ca_file);
	free(k->body.p);
	free(k->edges);
	cadvisor_agg_free(&k->agg);
	free(k);
}

void
kube_stats(const struct kube *k, unsigned long *requests_r, unsigned long *failures_r,
    unsigned long *lines_skipped_r)
{
	*requests_r = k->requests;
	*failures_r = k->failures;
	*lines_skipped_r = k->lines_skipped;
}

double
kube_quantity(const char *s)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
		{"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0},
		{"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9},
		{"T", 1e12}, {"P", 1e15}, {"E", 1e18}, {"", 1.0},
	};
	char *end;
	double v;

	if (s == NULL || s[0] == '\0')
		return -1;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			return v * units[i].mult;
	return -1;
}

static size_t
kube_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct kube_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > KUBE_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 65536;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* GET path into k->body; 0 on a 200. */
static int
kube_get(struct kube *k, const char *path, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	char *url = xasprintf("%s%s", k->api, path), *auth = NULL;
	char token[8192];
	long status = 0;
	CURLcode rc;
	FILE *f;

	token[0] = '\0';
	/* Read each time: the kubelet rotates projected service-account tokens. */
	if ((f = fopen(k->token_file, "r")) != NULL) {
		size_t n = fread(token, 1, sizeof(token) - 1, f);

		token[n] = '\0';
		token[strcspn(token, "\r\n")] = '\0';
		fclose(f);
	}
	if (token[0] != '\0') {
		auth = xasprintf("Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json, text/plain");
	k->body.len = 0;
	k->body.too_big = false;
	if (k->body.p != NULL)
		k->body.p[0] = '\0';
	curl_easy_reset(k->curl);
	curl_easy_setopt(k->curl, CURLOPT_URL, url);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, kube_write);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, &k->body);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
	curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)k->timeout_ms);
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->ca_file[0] != '\0' && access(k->ca_file, R_OK) == 0)
		curl_easy_setopt(k->curl, CURLOPT_CAINFO, k->ca_file);
	k->requests++;
	rc = curl_easy_perform(k->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	memset(token, 0, sizeof(token));
	free(url);
	if (rc != CURLE_OK || status != 200) {
		k->failures++;
		if (rc != CURLE_OK)
			snprintf(err, errlen, "GET %s: %s", path,
			    k->body.too_big ? "answer too large" : curl_easy_strerror(rc));
		else
			snprintf(err, errlen, "GET %s: HTTP %ld", path, status);
		return -1;
	}
	if (k->body.p == NULL)
		kube_write((char *)"", 1, 0, &k->body);
	return 0;
}

/* Percent-encodes a node name for a path segment. */
static void
kube_path_escape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0' && n + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, len - n, "%%%02X", c);
	}
	out[n] = '\0';
}

static void
kube_edge(struct kube *k, const char *target, const char *label, int port, const char *proto)
{
	struct collect_edge *e;

	if (cadvisor_namespace_excluded(target))
		return;
	for (size_t i = 0; i < k->nedges; i++)
		if (strcmp(k->edges[i].target, target) == 0 && k->edges[i].port == port)
			return;
	k->edges = xrealloc(k->edges, (k->nedges + 1) * sizeof(*k->edges));
	e = &k->edges[k->nedges++];
	memset(e, 0, sizeof(*e));
	snprintf(e->source, sizeof(e->source), "external");
	collect_name_copy(e->target, target, strlen(target));
	snprintf(e->type, sizeof(e->type), "ingress");
	snprintf(e->protocol, sizeof(e->protocol), "%s", proto);
	snprintf(e->label, sizeof(e->label), "%s", label);
	e->port = port;
}

/* Services of type LoadBalancer/NodePort and Ingresses: external -> namespace. */
static void
kube_refresh_edges(struct kube *k)
{
	char err[256];
	json_t *root, *items, *it;
	size_t i;

	k->nedges = 0;
	if (kube_get(k, "/api/v1/services", err, sizeof(err)) == 0 &&
	    (root = json_loadb(k->body.p, k->body.len, 0, NULL)) != NULL) {
		items = json_object_get(root, "items");
		json_array_foreach(items, i, it) {
			const char *ns = json_string_value(json_object_get(json_object_get(it,
			    "metadata"), "namespace"));
			json_t *spec = json_object_get(it, "spec");
			const char *type = json_string_value(json_object_get(spec, "type"));
			json_t *port0 = json_array_get(json_object_get(spec, "ports"), 0);
			const char *proto = json_string_value(json_object_get(port0, "protocol"));

			if (ns == NULL || type == NULL ||
			    (strcmp(type, "LoadBalancer") != 0 && strcmp(type, "NodePort") != 0))
				continue;
			kube_edge(k, ns, type, (int)json_integer_value(json_object_get(port0, "port")),
			    proto ? proto : "TCP");
		}
		json_decref(root);
	}
	if (kube_get(k, "/apis/networking.k8s.io/v1/ingresses", err, sizeof(err)) == 0 &&
	    (root = json_loadb(k->body.p, k->body.len, 0, NULL)) != NULL) {
		items = json_object_get(root, "items");
		json_array_foreach(items, i, it) {
			const char *ns = json_string_value(json_object_get(json_object_get(it,
			    "metadata"), "namespace"));

			if (ns != NULL)
				kube_edge(k, ns, "ingress", 443, "TCP");
		}
		json_decref(root);
	}
}

void
kube_collect(struct kube *k, struct collect_result *res, const char *storage_path)
{
	json_t *root, *items, *node;
	struct cadvisor_stats st = {0};
	struct statvfs sv;
	char err[256];
	size_t i, nodes = 0, scraped = 0;
	int64_t now = time_wall_ms();

	collect_reset(res);
	if (kube_get(k, "/api/v1/nodes", err, sizeof(err)) != 0) {
		snprintf(res->message, sizeof(res->message), "%s", err);
		return;
	}
	if ((root = json_loadb(k->body.p, k->body.len, 0, NULL)) == NULL) {
		snprintf(res->message, sizeof(res->message), "GET /api/v1/nodes: not JSON");
		return;
	}
	cadvisor_agg_reset(k->agg);
	items = json_object_get(root, "items");
	json_array_foreach(items, i, node) {
		const char *name = json_string_value(json_object_get(json_object_get(node,
		    "metadata"), "name"));
		json_t *cap = json_object_get(json_object_get(node, "status"), "capacity");
		double cpu = kube_quantity(json_string_value(json_object_get(cap, "cpu")));
		double mem = kube_quantity(json_string_value(json_object_get(cap, "memory")));
		char esc[256], path[400];

		if (name == NULL)
			continue;
		nodes++;
		if (cpu > 0)
			res->cpu_cores += cpu;
		if (mem > 0)
			res->memory_total += mem;
		kube_path_escape(name, esc, sizeof(esc));
		snprintf(path, sizeof(path), "/api/v1/nodes/%s/proxy/metrics/cadvisor", esc);
		if (kube_get(k, path, err, sizeof(err)) != 0) {
			log_warnx("kubernetes: %s", err);
			continue;
		}
		cadvisor_agg_add(k->agg, k->body.p, k->body.len, res, &st);
		scraped++;
	}
	json_decref(root);
	k->lines_skipped += st.skipped;
	res->lines_skipped = (unsigned)st.skipped;
	if (k->edges_at_ms == 0 || now - k->edges_at_ms >= KUBE_EDGES_EVERY_MS) {
		kube_refresh_edges(k);
		k->edges_at_ms = now;
	}
	for (i = 0; i < k->nedges; i++)
		*collect_edge_add(res) = k->edges[i];
	for (i = 0; i < res->n; i++)
		if (res->ns[i].has_memory)
			res->memory_used += res->ns[i].memory_bytes;
	if (storage_path != NULL && statvfs(storage_path, &sv) == 0) {
		res->storage_total = (double)sv.f_blocks * (double)sv.f_frsize;
		res->storage_used = (double)(sv.f_blocks - sv.f_bfree) * (double)sv.f_frsize;
	}
	res->ok = scraped > 0;
	snprintf(res->message, sizeof(res->message), "cAdvisor of %zu/%zu nodes, %zu namespaces",
	    scraped, nodes, res->n);
}
