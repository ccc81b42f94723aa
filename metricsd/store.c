#include "store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "xmalloc.h"

#define STORE_FRESH_MS 5000  /* a series missing for longer leaves the snapshot */

const struct store_ring_geom store_ring_geoms[STORE_RINGS] = {{15, 240}, {60, 180}, {120, 720}};

_Static_assert(240 + 180 + 720 == STORE_SLOTS, "ring geometry and STORE_SLOTS disagree");

void
store_series_rings_init(struct series *s)
{
	float *p = s->data;

	for (int i = 0; i < STORE_RINGS; i++) {
		ring_init(&s->rings[i], store_ring_geoms[i].step_s, store_ring_geoms[i].cap,
		    STORE_SERIES_WIDTH, p);
		p += RING_FLOATS(store_ring_geoms[i].cap, STORE_SERIES_WIDTH);
	}
}

void
store_cluster_rings_init(struct store_cluster *c)
{
	float *p = c->data;

	for (int i = 0; i < STORE_RINGS; i++) {
		ring_init(&c->rings[i], store_ring_geoms[i].step_s, store_ring_geoms[i].cap,
		    STORE_CLUSTER_WIDTH, p);
		p += RING_FLOATS(store_ring_geoms[i].cap, STORE_CLUSTER_WIDTH);
	}
}

struct series *
store_series_alloc(const char *name)
{
	struct series *s = xcalloc(1, sizeof(*s));

	snprintf(s->name, sizeof(s->name), "%s", name);
	store_series_rings_init(s);
	return s;
}

struct store *
store_new(const struct store_config *cfg)
{
	struct store *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	st->cfg = *cfg;
	if (st->cfg.max_series == 0)
		st->cfg.max_series = 1;
	if (!(st->cfg.alpha > 0.0) || st->cfg.alpha > 1.0)
		st->cfg.alpha = 1.0;
	snprintf(st->source, sizeof(st->source), "%s", cfg->source ? cfg->source : "proc");
	st->cfg.source = st->source;
	lru_init(&st->series);
	store_cluster_rings_init(&st->cluster);
	return st;
}

static void
store_series_drop(struct store *st, struct series *s)
{
	lru_remove(&st->series, &s->node);
	free(s);
}

void
store_free(struct store **stp)
{
	struct store *st = *stp;
	struct lru_node *n;

	if (st == NULL)
		return;
	*stp = NULL;
	while ((n = lru_oldest(&st->series)) != NULL)
		store_series_drop(st, LRU_ENTRY(n, struct series, node));
	lru_fini(&st->series);
	free(st->edges);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The series for name: existing, new, or NULL when the cap is reached by
 * series all seen in this cycle. */
static struct series *
store_series_get(struct store *st, const char *name, int64_t now_ms)
{
	struct lru_node *n = lru_find(&st->series, name);
	struct series *s;

	if (n != NULL)
		return LRU_ENTRY(n, struct series, node);
	if (st->series.n >= st->cfg.max_series) {
		struct series *old = LRU_ENTRY(lru_oldest(&st->series), struct series, node);

		if (old->last_seen_ms >= now_ms) {
			st->refused++;
			return NULL;
		}
		log_debug("series %s evicted (cap %zu) for %s", old->name, st->cfg.max_series, name);
		store_series_drop(st, old);
		st->evicted_lru++;
	}
	s = store_series_alloc(name);
	lru_insert(&st->series, &s->node, s->name);
	st->created++;
	return s;
}

static double
store_pct(double part, double whole)
{
	return whole > 0 ? part * 100.0 / whole : 0.0;
}

void
store_apply(struct store *st, const struct collect_result *res, int64_t now_ms)
{
	struct store_cluster *c = &st->cluster;
	double alpha = st->cfg.alpha, rx = 0, tx = 0, cpu_used = 0, vals[STORE_CLUSTER_WIDTH];
	bool any_cpu = false;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < res->n; i++) {
		const struct collect_ns *ns = &res->ns[i];
		struct series *s = store_series_get(st, ns->name, now_ms);
		double sv[STORE_SERIES_WIDTH];

		if (s == NULL)
			continue;
		for (int k = 0; k < CTR_COUNT; k++)
			rate_update(&s->net[k], ns->ctr[k], now_ms, alpha);
		s->has_cpu = ns->has_cpu;
		if (ns->has_cpu) {
			rate_update(&s->cpu, ns->cpu_seconds, now_ms, alpha);
			cpu_used += rate_value(&s->cpu);
			any_cpu = true;
		}
		s->has_memory = ns->has_memory;
		s->memory = ns->has_memory ? ns->memory_bytes : 0;
		s->pods = ns->pods;
		s->last_seen_ms = now_ms;
		lru_touch(&st->series, &s->node);
		rx += rate_value(&s->net[CTR_RX_BYTES]);
		tx += rate_value(&s->net[CTR_TX_BYTES]);
		sv[0] = rate_value(&s->net[CTR_RX_BYTES]);
		sv[1] = rate_value(&s->net[CTR_TX_BYTES]);
		sv[2] = s->has_cpu ? rate_value(&s->cpu) : NAN;
		sv[3] = s->has_memory ? s->memory : NAN;
		for (int r = 0; r < STORE_RINGS; r++)
			ring_add(&s->rings[r], now_ms / 1000, sv);
	}

	/* cluster / host */
	if (res->has_cpu_jiffies) {
		double dall = res->cpu_all - c->all_prev, dbusy = res->cpu_busy - c->busy_prev;

		if (c->has_prev && dall > 0 && dbusy >= 0 && dbusy <= dall)
			c->cpu_pct = dbusy * 100.0 / dall;
		c->has_prev = true;
		c->busy_prev = res->cpu_busy;
		c->all_prev = res->cpu_all;
		c->cpu_used = c->cpu_pct / 100.0 * res->cpu_cores;
	} else if (any_cpu) {
		c->cpu_used = cpu_used;
		c->cpu_pct = store_pct(cpu_used, res->cpu_cores);
	}
	if (res->ok || res->n > 0) {
		c->cpu_cores = res->cpu_cores;
		c->memory_total = res->memory_total;
		c->memory_used = res->memory_used;
		c->storage_total = res->storage_total;
		c->storage_used = res->storage_used;
		c->pods = res->pods;
		c->containers = res->containers;
		c->rx = rx;
		c->tx = tx;
		vals[0] = rx;
		vals[1] = tx;
		vals[2] = c->cpu_pct;
		vals[3] = store_pct(c->memory_used, c->memory_total);
		vals[4] = store_pct(c->storage_used, c->storage_total);
		vals[5] = c->pods;
		vals[6] = c->containers;
		for (int r = 0; r < STORE_RINGS; r++)
			ring_add(&c->rings[r], now_ms / 1000, vals);
	}
	st->available = res->ok;
	snprintf(st->message, sizeof(st->message), "%s", res->message);
	if (res->nedges > 0 || st->nedges > 0) {
		st->edges = xrealloc(st->edges, (res->nedges + 1) * sizeof(*st->edges));
		memcpy(st->edges, res->edges, res->nedges * sizeof(*st->edges));
		st->nedges = res->nedges;
	}
	st->last_ms = now_ms;
	st->cycles++;
	pthread_mutex_unlock(&st->lock);
}

size_t
store_sweep(struct store *st, int64_t now_ms)
{
	struct lru_node *n;
	size_t evicted = 0;

	pthread_mutex_lock(&st->lock);
	while ((n = lru_oldest(&st->series)) != NULL) {
		struct series *s = LRU_ENTRY(n, struct series, node);

		if (now_ms - s->last_seen_ms < st->cfg.ttl_ms)
			break;
		log_info("series %s evicted: not seen for %lld s", s->name,
		    (long long)((now_ms - s->last_seen_ms) / 1000));
		store_series_drop(st, s);
		st->evicted_ttl++;
		evicted++;
	}
	pthread_mutex_unlock(&st->lock);
	return evicted;
}

static int64_t
store_milli(double v)
{
	if (!isfinite(v))
		return 0;
	if (v > 9e15)
		return INT64_MAX;
	if (v < -9e15)
		return INT64_MIN;
	return llround(v * 1000.0);
}

static int
store_rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct proto_rec_metrics_ns *)a)->name,
	    ((const struct proto_rec_metrics_ns *)b)->name);
}

nng_msg *
store_snapshot_msg(struct store *st, uint64_t req_id)
{
	struct proto_metrics_snapshot_rep rep = {0};
	struct proto_rec_metrics_ns *recs;
	struct proto_rec_metrics_edge *edges;
	struct store_cluster *c = &st->cluster;
	struct lru_node *n;
	size_t nrec = 0;
	nng_msg *msg;

	pthread_mutex_lock(&st->lock);
	recs = xcalloc(st->series.n + 1, sizeof(*recs));
	edges = xcalloc(st->nedges + 1, sizeof(*edges));
	for (n = lru_oldest(&st->series); n != NULL; n = lru_newer(&st->series, n)) {
		struct series *s = LRU_ENTRY(n, struct series, node);
		struct proto_rec_metrics_ns *r;

		if (s->last_seen_ms < st->last_ms - STORE_FRESH_MS)
			continue;
		r = &recs[nrec++];
		r->name = s->name;
		r->app_name = s->name;
		r->rx_bytes_m = store_milli(rate_value(&s->net[CTR_RX_BYTES]));
		r->tx_bytes_m = store_milli(rate_value(&s->net[CTR_TX_BYTES]));
		r->rx_packets_m = store_milli(rate_value(&s->net[CTR_RX_PACKETS]));
		r->tx_packets_m = store_milli(rate_value(&s->net[CTR_TX_PACKETS]));
		r->rx_errors_m = store_milli(rate_value(&s->net[CTR_RX_ERRORS]));
		r->tx_errors_m = store_milli(rate_value(&s->net[CTR_TX_ERRORS]));
		r->rx_dropped_m = store_milli(rate_value(&s->net[CTR_RX_DROPPED]));
		r->tx_dropped_m = store_milli(rate_value(&s->net[CTR_TX_DROPPED]));
		r->has_cpu_cores_m = s->has_cpu;
		r->cpu_cores_m = store_milli(rate_value(&s->cpu));
		r->has_memory_bytes = s->has_memory;
		r->memory_bytes = (int64_t)s->memory;
		r->pod_count = s->pods;
	}
	qsort(recs, nrec, sizeof(*recs), store_rec_cmp);
	for (size_t i = 0; i < st->nedges; i++) {
		const struct collect_edge *e = &st->edges[i];

		edges[i].source = e->source;
		edges[i].target = e->target;
		edges[i].type = e->type;
		edges[i].label = e->label;
		edges[i].has_port = e->port > 0;
		edges[i].port = e->port;
		edges[i].has_protocol = e->protocol[0] != '\0';
		edges[i].protocol = e->protocol;
	}
	rep.timestamp_ms = st->last_ms;
	rep.source = st->source;
	rep.available = st->available;
	rep.has_message = st->message[0] != '\0';
	rep.message = st->message;
	rep.namespaces.v = recs;
	rep.namespaces.n = nrec;
	rep.edges.v = edges;
	rep.edges.n = st->nedges;
	rep.cpu_total_m = store_milli(c->cpu_cores);
	rep.cpu_used_m = store_milli(c->cpu_used);
	rep.memory_total = (int64_t)c->memory_total;
	rep.memory_used = (int64_t)c->memory_used;
	rep.storage_total = (int64_t)c->storage_total;
	rep.storage_used = (int64_t)c->storage_used;
	rep.pod_count = c->pods;
	rep.container_count = c->containers;
	msg = proto_metrics_snapshot_rep_msg(req_id, &rep);
	pthread_mutex_unlock(&st->lock);
	free(recs);
	free(edges);
	return msg;
}

nng_msg *
store_history_msg(struct store *st, uint64_t req_id, const char *name, int64_t duration_s,
    int64_t now_ms)
{
	struct proto_metrics_history_rep rep = {0};
	struct proto_rec_metrics_point *pts;
	const struct ring *ring = NULL;
	int64_t step, k_end, npts;
	int ri = duration_s <= 900 ? 0 : duration_s <= 3600 ? 1 : 2;
	nng_msg *msg;

	step = store_ring_geoms[ri].step_s;
	if (duration_s > (int64_t)store_ring_geoms[ri].cap * step)
		duration_s = (int64_t)store_ring_geoms[ri].cap * step;
	npts = (duration_s + step - 1) / step;
	if (npts < 1)
		npts = 1;
	k_end = now_ms / 1000 / step;
	pts = xcalloc((size_t)npts, sizeof(*pts));
	pthread_mutex_lock(&st->lock);
	if (name == NULL) {
		ring = &st->cluster.rings[ri];
		rep.found = true;
	} else {
		struct lru_node *n = lru_find(&st->series, name);

		if (n != NULL) {
			ring = &LRU_ENTRY(n, struct series, node)->rings[ri];
			rep.found = true;
		}
	}
	for (int64_t i = 0; i < npts; i++) {
		int64_t k = k_end - npts + 1 + i;
		struct proto_rec_metrics_point *p = &pts[i];
		double v[STORE_CLUSTER_WIDTH];

		p->t = k * step;
		if (ring == NULL || !ring_get(ring, k, v))
			continue;
#define STORE_PT(idx, f)                                      \
	if ((idx) < ring->width && !isnan(v[idx])) {          \
		p->has_##f = true;                                \
		p->f = store_milli(v[idx]);                       \
	}
		STORE_PT(0, a) STORE_PT(1, b) STORE_PT(2, c) STORE_PT(3, d)
		STORE_PT(4, e) STORE_PT(5, f) STORE_PT(6, g)
#undef STORE_PT
	}
	pthread_mutex_unlock(&st->lock);
	rep.step_s = step;
	rep.points.v = pts;
	rep.points.n = (size_t)npts;
	msg = proto_metrics_history_rep_msg(req_id, &rep);
	free(pts);
	return msg;
}

void
store_stats(struct store *st, struct proto_stats *ps)
{
	pthread_mutex_lock(&st->lock);
	proto_stats_add(ps, "series", (int64_t)st->series.n);
	proto_stats_add(ps, "series_bytes", (int64_t)(st->series.n * sizeof(struct series)));
	proto_stats_add(ps, "series_evicted_ttl", (int64_t)st->evicted_ttl);
	proto_stats_add(ps, "series_evicted_lru", (int64_t)st->evicted_lru);
	proto_stats_add(ps, "series_refused", (int64_t)st->refused);
	proto_stats_add(ps, "series_max", (int64_t)st->cfg.max_series);
	proto_stats_add(ps, "series_bytes_each", (int64_t)sizeof(struct series));
	proto_stats_add(ps, "series_created", (int64_t)st->created);
	proto_stats_add(ps, "series_loaded", (int64_t)st->loaded);
	proto_stats_add(ps, "state_saves", (int64_t)st->saves);
	proto_stats_add(ps, "state_save_failures", (int64_t)st->save_failures);
	proto_stats_add(ps, "cycles", (int64_t)st->cycles);
	proto_stats_add(ps, "available", st->available);
	pthread_mutex_unlock(&st->lock);
}
