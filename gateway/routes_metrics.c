/* routes_metrics: /api/networking/... and /api/monitoring/vm/..., answered from
 * metricsd (API.md decision 15: no TSDB), and the /api/networking/ws push.
 *
 *   GET /api/networking/stats        METRICS_SNAPSHOT -> per-namespace rates
 *   GET /api/networking/topology     METRICS_SNAPSHOT -> nodes (+ Internet) and edges
 *   GET /api/networking/ws           WebSocket: every snapshot metricsd publishes on
 *                                    metrics.ipc becomes one {type:"network_metrics",
 *                                    timestamp, topology, stats} frame, rendered once
 *                                    and fanned out (ws.c); nothing is rendered while
 *                                    nobody listens.
 *   GET /api/monitoring/vm/cluster   dashboard cards
 *   GET /api/monitoring/vm/apps      per-app CPU, memory, network
 *   GET /api/monitoring/vm/app/{app}?duration=       history of one app
 *   GET /api/monitoring/vm/cluster/network-history?duration=
 *   GET /api/monitoring/vm/cluster/metrics-history?duration=
 *   GET /api/monitoring/vm/available
 *
 * Durations: <n>s|m|h|d, 1 s .. 24 h (default 1h); anything else is 400.
 * metricsd down: 503 + Retry-After, like every backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "timeutil.h"
#include "ws.h"
#include "xmalloc.h"

#define ROUTES_METRICS_DEFAULT_DURATION_S 3600
#define COLLECT_NAME_MAX_GW 64   /* metricsd series names are shorter */

struct gw_metrics {
	struct gw_ws *ws;
	struct ipc_sub *sub;
	atomic_llong snapshots, rendered, render_us;
};

static const char *const routes_metrics_palette[] = {
	"#3b82f6", "#22c55e", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#f97316",
};

static double
routes_metrics_unmilli(int64_t v)
{
	return (double)v / 1000.0;
}

/* Colour by name, so a namespace keeps its colour from one frame to the next. */
static const char *
routes_metrics_color(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return routes_metrics_palette[h % 8];
}

/* ---- JSON shapes (API.md section 4, Networking) ----------------------------- */

static json_t *
routes_metrics_stats_json(const struct proto_metrics_snapshot_rep *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->namespaces.n; i++) {
		const struct proto_rec_metrics_ns *n = &s->namespaces.v[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}",
		    "namespace", n->name, "app_name", n->app_name,
		    "rx_bytes_per_sec", routes_metrics_unmilli(n->rx_bytes_m),
		    "tx_bytes_per_sec", routes_metrics_unmilli(n->tx_bytes_m),
		    "rx_packets_per_sec", routes_metrics_unmilli(n->rx_packets_m),
		    "tx_packets_per_sec", routes_metrics_unmilli(n->tx_packets_m),
		    "rx_errors_per_sec", routes_metrics_unmilli(n->rx_errors_m),
		    "tx_errors_per_sec", routes_metrics_unmilli(n->tx_errors_m),
		    "rx_dropped_per_sec", routes_metrics_unmilli(n->rx_dropped_m),
		    "tx_dropped_per_sec", routes_metrics_unmilli(n->tx_dropped_m),
		    "pod_count", (json_int_t)n->pod_count));
	}
	return a;
}

static json_t *
routes_metrics_topology_json(const struct proto_metrics_snapshot_rep *s)
{
	json_t *nodes = json_array(), *edges = json_array();
	double rx = 0, tx = 0;

	for (size_t i = 0; i < s->namespaces.n; i++) {
		const struct proto_rec_metrics_ns *n = &s->namespaces.v[i];
		double r = routes_metrics_unmilli(n->rx_bytes_m), t = routes_metrics_unmilli(n->tx_bytes_m);

		rx += r;
		tx += t;
		json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:I, s:s}",
		    "id", n->name, "name", n->app_name, "type", "namespace",
		    "rx_bytes_per_sec", r, "tx_bytes_per_sec", t, "total_traffic", r + t,
		    "pod_count", (json_int_t)n->pod_count, "color", routes_metrics_color(n->name)));
	}
	if (rx + tx > 0)   /* the Internet sees what the namespaces send, and the other way round */
		json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:i, s:s}",
		    "id", "external", "name", "Internet", "type", "external",
		    "rx_bytes_per_sec", tx, "tx_bytes_per_sec", rx, "total_traffic", rx + tx,
		    "pod_count", 0, "color", "#6b7280"));
	for (size_t i = 0; i < s->edges.n; i++) {
		const struct proto_rec_metrics_edge *e = &s->edges.v[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "source", e->source, "target",
		    e->target, "type", e->type, "label", e->label);

		if (e->has_port)
			json_object_set_new(o, "port", json_integer(e->port));
		if (e->has_protocol)
			json_object_set_new(o, "protocol", json_string(e->protocol));
		json_array_append_new(edges, o);
	}
	return json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
}

/* ---- the push: metrics.ipc -> WebSocket frames ------------------------------ */

char *
routes_metrics_ws_frame(nng_msg *msg)
{
	struct proto_metrics_snapshot_rep rep;
	struct proto_env env;
	const char *err;
	json_t *frame;
	char *text;

	if (proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err) != 0 ||
	    env.op != PROTO_OP_METRICS_SNAPSHOT || env.status != PROTO_OK ||
	    proto_metrics_snapshot_rep_decode(&env, &rep, &err) != 0) {
		log_warnx("metrics.ipc: unusable snapshot: %s",
		    env.live && env.op != PROTO_OP_METRICS_SNAPSHOT ? "other op" : err);
		proto_env_fini(&env);
		return NULL;
	}
	frame = json_pack("{s:s, s:I, s:o, s:o}", "type", "network_metrics", "timestamp",
	    (json_int_t)rep.timestamp_ms, "topology", routes_metrics_topology_json(&rep), "stats",
	    routes_metrics_stats_json(&rep));
	proto_env_fini(&env);
	text = frame ? json_dumps(frame, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(frame);
	return text;
}

static void
routes_metrics_published(void *arg, nng_msg *msg)
{
	struct gw_metrics *gm = arg;
	int64_t t0;
	char *text;

	atomic_fetch_add(&gm->snapshots, 1);
	if (gw_ws_clients(gm->ws) == 0) {   /* broadcast only while subscribers exist */
		nng_msg_free(msg);
		return;
	}
	t0 = time_mono_us();
	text = routes_metrics_ws_frame(msg);
	nng_msg_free(msg);
	if (text == NULL)
		return;
	gw_ws_broadcast(gm->ws, text, strlen(text));
	free(text);
	atomic_fetch_add(&gm->rendered, 1);
	atomic_fetch_add(&gm->render_us, time_mono_us() - t0);
}

int
gateway_metrics_open(struct gateway *gw, char **err_r)
{
	struct gw_metrics *gm = xcalloc(1, sizeof(*gm));

	gw->metrics = gm;
	if ((gm->ws = gw_ws_new(err_r)) == NULL)
		return -1;
	return daemon_sub_open(gw->d, "metrics", routes_metrics_published, gm, &gm->sub, err_r);
}

void
gateway_metrics_shutdown(struct gateway *gw)
{
	struct gw_metrics *gm = gw->metrics;

	if (gm == NULL)
		return;
	ipc_sub_close(&gm->sub);
	gw_ws_shutdown(gm->ws);
}

void
gateway_metrics_close(struct gateway *gw)
{
	struct gw_metrics *gm = gw->metrics;

	if (gm == NULL)
		return;
	gw->metrics = NULL;
	ipc_sub_close(&gm->sub);
	gw_ws_free(&gm->ws);
	free(gm);
}

int64_t
gateway_metrics_snapshots(struct gateway *gw)
{
	return gw->metrics != NULL ? atomic_load(&gw->metrics->snapshots) : 0;
}

void
gateway_metrics_stats(struct gateway *gw, struct proto_stats *st)
{
	struct gw_metrics *gm = gw->metrics;
	struct gw_ws_stats ws = {0};
	int64_t rendered;

	if (gm == NULL || gm->ws == NULL)
		return;
	gw_ws_get_stats(gm->ws, &ws);
	rendered = atomic_load(&gm->rendered);
	proto_stats_add(st, "ws_clients", ws.clients);
	proto_stats_add(st, "ws_accepted", ws.accepted);
	proto_stats_add(st, "ws_dropped_slow", ws.dropped_slow);
	proto_stats_add(st, "ws_frames_sent", ws.frames);
	proto_stats_add(st, "ws_bytes_sent", ws.bytes);
	proto_stats_add(st, "metrics_snapshots_received", atomic_load(&gm->snapshots));
	proto_stats_add(st, "metrics_frames_rendered", rendered);
	proto_stats_add(st, "metrics_render_us_avg", rendered ? atomic_load(&gm->render_us) / rendered : 0);
}

void
routes_metrics_ws(struct gw_req *r)
{
	if (r->gw->metrics == NULL || r->gw->metrics->ws == NULL) {
		gw_respond_unavailable(r, "metrics unavailable", NULL);
		return;
	}
	gw_ws_accept(r->gw->metrics->ws, r);
}

/* ---- request/reply routes ---------------------------------------------------- */

/* The answer is rendered on the IPC callback and set by finish. */
struct routes_metrics_call {
	struct gw_req *r;
	json_t *body;            /* the answer, or NULL */
	enum proto_status st;
	char detail[160];
	/* /vm/app: the snapshot and the history arrive separately */
	json_t *app_current;
	char app[COLLECT_NAME_MAX_GW];
	int64_t duration_s;
};

/* Like gw_respond_json, with 15 significant digits (8.1, not 8.0999999999999996). */
static void
routes_metrics_respond(struct gw_req *r, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	struct MHD_Response *resp;

	json_decref(body);
	if (s == NULL) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
		return;
	}
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	gw_respond(r, MHD_HTTP_OK, resp, strlen(s));
}

static void
routes_metrics_finish(struct gw_req *r)
{
	struct routes_metrics_call *c = r->hctx;

	if (c->st == PROTO_OK && c->body != NULL) {
		routes_metrics_respond(r, c->body);
		c->body = NULL;
	} else if (c->st == PROTO_OK || c->st == PROTO_BAD_REQUEST) {
		gw_respond_detail(r, c->st == PROTO_OK ? MHD_HTTP_INTERNAL_SERVER_ERROR :
		    MHD_HTTP_BAD_REQUEST, c->detail[0] ? c->detail : "Internal error");
	} else {
		gw_respond_unavailable(r, "metricsd unavailable", NULL);
	}
	json_decref(c->body);
	json_decref(c->app_current);
	free(c);
	r->hctx = NULL;
}

static struct routes_metrics_call *
routes_metrics_begin(struct gw_req *r, int calls)
{
	struct routes_metrics_call *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->st = PROTO_OK;
	r->hctx = c;
	gw_async_begin(r, calls, routes_metrics_finish);
	return c;
}

static void
routes_metrics_fail(struct routes_metrics_call *c, enum proto_status st, const char *detail)
{
	if (c->st == PROTO_OK) {
		c->st = st;
		snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
	}
}

typedef json_t *(*routes_metrics_render_fn)(const struct proto_metrics_snapshot_rep *s);

struct routes_metrics_snap_call {
	struct routes_metrics_call *c;
	routes_metrics_render_fn render;
};

static void
routes_metrics_snapshot_cb(void *arg, enum proto_status st,
    const struct proto_metrics_snapshot_rep *rep, const char *detail)
{
	struct routes_metrics_snap_call *sc = arg;
	struct routes_metrics_call *c = sc->c;

	if (st == PROTO_OK)
		c->body = sc->render(rep);
	else
		routes_metrics_fail(c, st, detail);
	free(sc);
	gw_async_done(c->r);
}

static void
routes_metrics_snapshot_route(struct gw_req *r, routes_metrics_render_fn render)
{
	struct routes_metrics_snap_call *sc = xmalloc(sizeof(*sc));
	struct proto_metrics_snapshot_req req = {0};
	struct gateway *gw = r->gw;

	sc->render = render;
	sc->c = routes_metrics_begin(r, 1);
	proto_metrics_snapshot_call(gw->backend[GW_METRICSD], &req, gw->ipc_timeout_ms,
	    routes_metrics_snapshot_cb, sc);
}

void
routes_metrics_stats(struct gw_req *r)
{
	routes_metrics_snapshot_route(r, routes_metrics_stats_json);
}

void
routes_metrics_topology(struct gw_req *r)
{
	routes_metrics_snapshot_route(r, routes_metrics_topology_json);
}

static double
routes_metrics_pct(double part, double whole)
{
	return whole > 0 ? round(part * 10000.0 / whole) / 100.0 : 0.0;
}

static json_t *
routes_metrics_cluster_json(const struct proto_metrics_snapshot_rep *s)
{
	double rx = 0, tx = 0;

	for (size_t i = 0; i < s->namespaces.n; i++) {
		rx += routes_metrics_unmilli(s->namespaces.v[i].rx_bytes_m);
		tx += routes_metrics_unmilli(s->namespaces.v[i].tx_bytes_m);
	}
	return json_pack("{s:f, s:I, s:f, s:I, s:f, s:f, s:I, s:I, s:f, s:f, s:I, s:I, s:f}",
	    "total_cpu_cores", routes_metrics_unmilli(s->cpu_total_m),
	    "total_memory_bytes", (json_int_t)s->memory_total,
	    "used_cpu_cores", routes_metrics_unmilli(s->cpu_used_m),
	    "used_memory_bytes", (json_int_t)s->memory_used,
	    "cpu_usage_percent", routes_metrics_pct((double)s->cpu_used_m, (double)s->cpu_total_m),
	    "memory_usage_percent", routes_metrics_pct((double)s->memory_used, (double)s->memory_total),
	    "container_count", (json_int_t)s->container_count,
	    "pod_count", (json_int_t)s->pod_count,
	    "network_receive_bytes_per_sec", rx,
	    "network_transmit_bytes_per_sec", tx,
	    "total_storage_bytes", (json_int_t)s->storage_total,
	    "used_storage_bytes", (json_int_t)s->storage_used,
	    "storage_usage_percent", routes_metrics_pct((double)s->storage_used, (double)s->storage_total));
}

static json_t *
routes_metrics_apps_json(const struct proto_metrics_snapshot_rep *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->namespaces.n; i++) {
		const struct proto_rec_metrics_ns *n = &s->namespaces.v[i];
		double mem = n->has_memory_bytes ? (double)n->memory_bytes : 0;

		if (strcmp(n->name, "host") == 0)   /* bare metal: the host is not an app */
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f}",
		    "app_name", n->app_name, "namespace", n->name,
		    "cpu_usage_cores", n->has_cpu_cores_m ? routes_metrics_unmilli(n->cpu_cores_m) : 0.0,
		    "memory_usage_bytes", mem,
		    "memory_usage_mb", round(mem / 1048576.0 * 100.0) / 100.0,
		    "network_receive_bytes_per_sec", routes_metrics_unmilli(n->rx_bytes_m),
		    "network_transmit_bytes_per_sec", routes_metrics_unmilli(n->tx_bytes_m)));
	}
	return a;
}

static json_t *
routes_metrics_available_json(const struct proto_metrics_snapshot_rep *s)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "metricsd (%s): %s", s->source,
	    s->has_message ? s->message : (s->available ? "collecting" : "no data yet"));
	return json_pack("{s:b, s:s}", "available", s->available, "message", msg);
}

void
routes_metrics_vm_cluster(struct gw_req *r)
{
	routes_metrics_snapshot_route(r, routes_metrics_cluster_json);
}

void
routes_metrics_vm_apps(struct gw_req *r)
{
	routes_metrics_snapshot_route(r, routes_metrics_apps_json);
}

void
routes_metrics_vm_available(struct gw_req *r)
{
	routes_metrics_snapshot_route(r, routes_metrics_available_json);
}

/* ---- history ------------------------------------------------------------------ */

/* "15m", "1h", "24h", "90s", "1d": seconds, or -1. */
static int64_t
routes_metrics_duration(const char *s)
{
	char *end;
	long long v;

	if (s == NULL)
		return ROUTES_METRICS_DEFAULT_DURATION_S;
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 8)
		return -1;
	v = strtoll(s, &end, 10);
	if (end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (end[0]) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	return v >= 1 && v <= 86400 ? v : -1;
}

static bool
routes_metrics_duration_arg(struct gw_req *r, int64_t *d_r)
{
	const char *s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "duration");

	if ((*d_r = routes_metrics_duration(s)) < 0) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
		    "duration: expected <number><s|m|h|d> between 1s and 24h, e.g. 15m, 1h, 3h");
		return false;
	}
	return true;
}

/* [{timestamp, value}] of one channel (or the sum of two), skipping empty steps. */
static json_t *
routes_metrics_series(const struct proto_metrics_history_rep *h, char ch, char ch2)
{
	json_t *a = json_array();

	for (size_t i = 0; i < h->points.n; i++) {
		const struct proto_rec_metrics_point *p = &h->points.v[i];
		int64_t v = 0;
		bool has = false;

		for (int k = 0; k < 2; k++) {
			char c = k == 0 ? ch : ch2;

#define ROUTES_CH(x)                          \
	if (c == #x[0] && p->has_##x) {           \
		v += p->x;                            \
		has = true;                           \
	}
			ROUTES_CH(a) ROUTES_CH(b) ROUTES_CH(c) ROUTES_CH(d) ROUTES_CH(e) ROUTES_CH(f)
			ROUTES_CH(g)
#undef ROUTES_CH
		}
		if (has)
			json_array_append_new(a, json_pack("{s:I, s:f}", "timestamp", (json_int_t)p->t,
			    "value", round((double)v / 10.0) / 100.0));
	}
	return a;
}

struct routes_metrics_hist_call {
	struct routes_metrics_call *c;
	int kind;   /* 0 network, 1 metrics, 2 app */
};

static void
routes_metrics_history_cb(void *arg, enum proto_status st,
    const struct proto_metrics_history_rep *h, const char *detail)
{
	struct routes_metrics_hist_call *hc = arg;
	struct routes_metrics_call *c = hc->c;

	if (st != PROTO_OK) {
		routes_metrics_fail(c, st, detail);
	} else if (hc->kind == 0) {
		c->body = json_pack("{s:o, s:o, s:o}", "combined_series",
		    routes_metrics_series(h, 'a', 'b'), "rx_series", routes_metrics_series(h, 'a', 0),
		    "tx_series", routes_metrics_series(h, 'b', 0));
	} else if (hc->kind == 1) {
		c->body = json_pack("{s:o, s:o, s:o, s:o, s:o}",
		    "cpu_series", routes_metrics_series(h, 'c', 0),
		    "memory_series", routes_metrics_series(h, 'd', 0),
		    "storage_series", routes_metrics_series(h, 'e', 0),
		    "pod_series", routes_metrics_series(h, 'f', 0),
		    "container_series", routes_metrics_series(h, 'g', 0));
	} else {
		c->body = json_pack("{s:o, s:o, s:o, s:o}",
		    "cpu_series", routes_metrics_series(h, 'c', 0),
		    "memory_series", routes_metrics_series(h, 'd', 0),
		    "network_rx_series", routes_metrics_series(h, 'a', 0),
		    "network_tx_series", routes_metrics_series(h, 'b', 0));
	}
	free(hc);
	gw_async_done(c->r);
}

static void
routes_metrics_history_route(struct gw_req *r, int kind)
{
	struct routes_metrics_hist_call *hc;
	struct proto_metrics_history_req req = {0};
	struct gateway *gw = r->gw;
	int64_t d;

	if (!routes_metrics_duration_arg(r, &d))
		return;
	hc = xmalloc(sizeof(*hc));
	hc->kind = kind;
	hc->c = routes_metrics_begin(r, 1);
	req.duration_s = d;
	proto_metrics_history_call(gw->backend[GW_METRICSD], &req, gw->ipc_timeout_ms,
	    routes_metrics_history_cb, hc);
}

void
routes_metrics_vm_network_history(struct gw_req *r)
{
	routes_metrics_history_route(r, 0);
}

void
routes_metrics_vm_metrics_history(struct gw_req *r)
{
	routes_metrics_history_route(r, 1);
}

/* /vm/app/{app}: the app's history and its current values, asked in parallel. */
static void
routes_metrics_app_finish(struct gw_req *r)
{
	struct routes_metrics_call *c = r->hctx;

	if (c->st == PROTO_OK && c->body != NULL) {
		json_t *cur = c->app_current;

		json_object_update(c->body, cur);
		c->body = json_pack("{s:s, s:s, s:o, s:[]}", "app_name", c->app, "namespace", c->app,
		    "historical", c->body, "pods");
	}
	routes_metrics_finish(r);
}

static void
routes_metrics_app_snapshot_cb(void *arg, enum proto_status st,
    const struct proto_metrics_snapshot_rep *rep, const char *detail)
{
	struct routes_metrics_call *c = arg;
	double cpu = 0, mem = 0, rx = 0, tx = 0;

	if (st != PROTO_OK) {
		routes_metrics_fail(c, st, detail);
	} else {
		for (size_t i = 0; i < rep->namespaces.n; i++) {
			const struct proto_rec_metrics_ns *n = &rep->namespaces.v[i];

			if (strcmp(n->name, c->app) != 0)
				continue;
			cpu = n->has_cpu_cores_m ? routes_metrics_unmilli(n->cpu_cores_m) : 0;
			mem = n->has_memory_bytes ? (double)n->memory_bytes : 0;
			rx = routes_metrics_unmilli(n->rx_bytes_m);
			tx = routes_metrics_unmilli(n->tx_bytes_m);
		}
		c->app_current = json_pack("{s:f, s:f, s:f, s:f}", "current_cpu", cpu,
		    "current_memory", mem, "current_network_rx", rx, "current_network_tx", tx);
	}
	gw_async_done(c->r);
}

void
routes_metrics_vm_app(struct gw_req *r)
{
	struct routes_metrics_hist_call *hc;
	struct routes_metrics_call *c;
	struct proto_metrics_history_req hreq = {0};
	struct proto_metrics_snapshot_req sreq = {0};
	struct gateway *gw = r->gw;
	int64_t d;

	if (!routes_metrics_duration_arg(r, &d))
		return;
	if (r->nparams < 1 || strlen(r->params[0]) >= COLLECT_NAME_MAX_GW) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "app: name too long");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->st = PROTO_OK;
	snprintf(c->app, sizeof(c->app), "%s", r->params[0]);
	r->hctx = c;
	hc = xmalloc(sizeof(*hc));
	hc->kind = 2;
	hc->c = c;
	hreq.duration_s = d;
	hreq.series = c->app;
	hreq.has_series = true;
	gw_async_begin(r, 2, routes_metrics_app_finish);
	/* r may be answered once the second call is made: only locals from here */
	proto_metrics_history_call(gw->backend[GW_METRICSD], &hreq, gw->ipc_timeout_ms,
	    routes_metrics_history_cb, hc);
	proto_metrics_snapshot_call(gw->backend[GW_METRICSD], &sreq, gw->ipc_timeout_ms,
	    routes_metrics_app_snapshot_cb, c);
}
