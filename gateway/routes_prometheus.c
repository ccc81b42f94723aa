/* routes_prometheus: GET /metrics (API.md decision 16), the Prometheus text
 * exposition format 0.0.4.  Open to loopback clients (the address after
 * KUBARR_TRUSTED_PROXIES: ROUTE_F_LOOPBACK_OPEN); anyone else needs
 * monitoring.view.
 *
 * One round, in parallel: STATS to authd, storaged and metricsd, and
 * BACKUP_STATUS to storaged; the gateway's own STATS figures are read in
 * process.  Every stat becomes kubarr_<daemon>_<stat> (a gauge when the name
 * says it is a level, else a counter); the backup engine's figures are the
 * kubarr_backup_* series of BACKUP.md section 12.  A daemon that does not
 * answer (down, or past the IPC deadline) only loses its series:
 * kubarr_up{daemon} says 0 and the scrape still answers 200. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "xmalloc.h"

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"
/* the daemons in kubarr_up order: the gateway, then the backends */
#define PROM_NDAEMONS (1 + GW_BACKEND_COUNT)

struct prom_kv {
	char *key;
	int64_t val;
};

struct prom_stats {
	struct gw_req *r;
	bool up;
	struct prom_kv *kv;
	size_t n;
};

struct prom_backup {
	bool have;
	bool configured;
	char state[16];
	char last_validation[8];
	uint64_t lag_ms, spool_bytes, wal_bytes, uploads, upload_errors, upload_bytes;
	uint64_t seq_uploaded;
	int64_t last_upload_ms, last_snapshot_ms;
};

struct prom_state {
	struct prom_stats daemons[PROM_NDAEMONS];   /* [0] the gateway */
	struct prom_backup backup;
	struct gw_req *r;
};

/* A growing text buffer. */
struct prom_buf {
	char *p;
	size_t len, cap;
};

static void prom_printf(struct prom_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 1024;
		b->p = xrealloc(b->p, b->cap);
	}
}

/* Levels among the daemons' STATS names; everything else only grows. */
static bool
prom_is_gauge(const char *key)
{
	static const char *const exact[] = {"uptime_ms", "rss_kib", "http_in_flight", "cache_bytes",
	    "cache_max", "cache_size", "hash_busy", "hash_max_wait_us", "hash_queued", "keys_ready",
	    "schema_version", "throttle_keys", "throttle_locked", "work_max_queued", "work_queued",
	    "work_threads", "write_max_batch", "ws_clients", "metrics_render_us_avg"};
	static const char *const suffix[] = {"_connected", "_in_flight", "_avg", "_max", "_size",
	    "_queued"};
	size_t n = strlen(key);

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(key, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t k = strlen(suffix[i]);

		if (n > k && strcmp(key + n - k, suffix[i]) == 0)
			return true;
	}
	return false;
}

/* A metric name from a daemon and a STATS key: [a-zA-Z0-9_] kept, the rest
 * '_' (the keys are snake_case already; this only guards the format). */
static void
prom_name(char *out, size_t len, const char *daemon, const char *key)
{
	size_t n = (size_t)snprintf(out, len, "kubarr_%s_%s", daemon, key);

	if (n >= len)
		n = len - 1;
	for (size_t i = strlen("kubarr_"); i < n; i++) {
		char c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			out[i] = '_';
	}
}

static void
prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_daemon(struct prom_buf *b, const char *daemon, const struct prom_stats *s)
{
	for (size_t i = 0; i < s->n; i++) {
		char name[128], help[160];
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(s->kv[j].key, s->kv[i].key) == 0;
		if (dup)   /* one family per name */
			continue;
		prom_name(name, sizeof(name), daemon, s->kv[i].key);
		snprintf(help, sizeof(help), "%s STATS %s", daemon, name + strlen("kubarr_") +
		    strlen(daemon) + 1);
		prom_family(b, name, prom_is_gauge(s->kv[i].key) ? "gauge" : "counter", help);
		prom_printf(b, "%s %lld\n", name, (long long)s->kv[i].val);
	}
}

static void
prom_backup(struct prom_buf *b, const struct prom_backup *bk)
{
	static const char *const states[] = {"ok", "degraded", "failed", "disabled", "starting"};
	int validation = strcmp(bk->last_validation, "ok") == 0 ? 1 :
	    strcmp(bk->last_validation, "failed") == 0 ? 0 : -1;

	prom_family(b, "kubarr_backup_configured", "gauge", "1 when KUBARR_BACKUP_URL is set");
	prom_printf(b, "kubarr_backup_configured %d\n", bk->configured ? 1 : 0);
	prom_family(b, "kubarr_backup_state", "gauge", "the backup engine's state (1 for the current one)");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		prom_printf(b, "kubarr_backup_state{state=\"%s\"} %d\n", states[i],
		    strcmp(bk->state, states[i]) == 0 ? 1 : 0);
	prom_family(b, "kubarr_backup_replication_lag_seconds", "gauge",
	    "age of the oldest commit not yet in the replica");
	prom_printf(b, "kubarr_backup_replication_lag_seconds %.3f\n", (double)bk->lag_ms / 1000.0);
	prom_family(b, "kubarr_backup_spool_bytes", "gauge", "bytes waiting in the local spool");
	prom_printf(b, "kubarr_backup_spool_bytes %llu\n", (unsigned long long)bk->spool_bytes);
	prom_family(b, "kubarr_backup_wal_bytes", "gauge", "size of the database's WAL file");
	prom_printf(b, "kubarr_backup_wal_bytes %llu\n", (unsigned long long)bk->wal_bytes);
	prom_family(b, "kubarr_backup_last_upload_timestamp_seconds", "gauge",
	    "Unix time of the last successful upload (0: never)");
	prom_printf(b, "kubarr_backup_last_upload_timestamp_seconds %.3f\n",
	    (double)bk->last_upload_ms / 1000.0);
	prom_family(b, "kubarr_backup_last_snapshot_timestamp_seconds", "gauge",
	    "Unix time of the last snapshot uploaded (0: never)");
	prom_printf(b, "kubarr_backup_last_snapshot_timestamp_seconds %.3f\n",
	    (double)bk->last_snapshot_ms / 1000.0);
	prom_family(b, "kubarr_backup_last_validation_ok", "gauge",
	    "last restore drill: 1 ok, 0 failed, -1 never (or the first one running)");
	prom_printf(b, "kubarr_backup_last_validation_ok %d\n", validation);
	prom_family(b, "kubarr_backup_uploads_total", "counter", "objects uploaded since start");
	prom_printf(b, "kubarr_backup_uploads_total %llu\n", (unsigned long long)bk->uploads);
	prom_family(b, "kubarr_backup_upload_errors_total", "counter",
	    "failed upload attempts since start");
	prom_printf(b, "kubarr_backup_upload_errors_total %llu\n",
	    (unsigned long long)bk->upload_errors);
	prom_family(b, "kubarr_backup_upload_bytes_total", "counter", "bytes uploaded since start");
	prom_printf(b, "kubarr_backup_upload_bytes_total %llu\n", (unsigned long long)bk->upload_bytes);
	prom_family(b, "kubarr_backup_seq_uploaded", "gauge", "highest sequence in the replica");
	prom_printf(b, "kubarr_backup_seq_uploaded %llu\n", (unsigned long long)bk->seq_uploaded);
}

static const char *
prom_daemon_name(int i)
{
	return i == 0 ? "gateway" : gateway_backend_names[i - 1];
}

static void
prom_finish(struct gw_req *r)
{
	struct prom_state *ps = r->hctx;
	struct prom_buf b = {0};
	struct MHD_Response *resp;

	r->hctx = NULL;
	prom_family(&b, "kubarr_up", "gauge", "1 when the daemon answered this scrape, else 0");
	for (int i = 0; i < PROM_NDAEMONS; i++)
		prom_printf(&b, "kubarr_up{daemon=\"%s\"} %d\n", prom_daemon_name(i),
		    ps->daemons[i].up ? 1 : 0);
	for (int i = 0; i < PROM_NDAEMONS; i++)
		if (ps->daemons[i].up)
			prom_daemon(&b, prom_daemon_name(i), &ps->daemons[i]);
	if (ps->backup.have)
		prom_backup(&b, &ps->backup);
	for (int i = 0; i < PROM_NDAEMONS; i++) {
		for (size_t k = 0; k < ps->daemons[i].n; k++)
			free(ps->daemons[i].kv[k].key);
		free(ps->daemons[i].kv);
	}
	free(ps);
	resp = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(b.p);
		log_error("http: cannot create a response");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CTYPE);
	gw_respond(r, MHD_HTTP_OK, resp, b.len);
}

static void
prom_stats_copy(struct prom_stats *s, const struct proto_kv *kv, size_t n)
{
	s->up = true;
	s->kv = xcalloc(n ? n : 1, sizeof(*s->kv));
	for (size_t i = 0; i < n; i++) {
		s->kv[i].key = xstrdup(kv[i].key);
		s->kv[i].val = kv[i].val;
	}
	s->n = n;
}

static void
prom_stats_cb(void *arg, enum proto_status st, const struct proto_stats_rep *rep,
    const char *detail)
{
	struct prom_stats *s = arg;

	(void)detail;
	if (st == PROTO_OK)
		prom_stats_copy(s, rep->counters.v, rep->counters.n);
	gw_async_done(s->r);
}

static void
prom_backup_cb(void *arg, enum proto_status st, const struct proto_backup_status_rep *rep,
    const char *detail)
{
	struct prom_state *ps = arg;
	struct prom_backup *bk = &ps->backup;

	(void)detail;
	if (st == PROTO_OK) {
		bk->have = true;
		bk->configured = rep->configured;
		snprintf(bk->state, sizeof(bk->state), "%s", rep->state);
		snprintf(bk->last_validation, sizeof(bk->last_validation), "%s", rep->last_validation);
		bk->lag_ms = rep->lag_ms;
		bk->spool_bytes = rep->spool_bytes;
		bk->wal_bytes = rep->wal_bytes;
		bk->uploads = rep->uploads;
		bk->upload_errors = rep->upload_errors;
		bk->upload_bytes = rep->upload_bytes;
		bk->seq_uploaded = rep->seq_uploaded;
		bk->last_upload_ms = rep->last_upload_ms;
		bk->last_snapshot_ms = rep->last_snapshot_ms;
	}
	gw_async_done(ps->r);
}

void
routes_prometheus_metrics(struct gw_req *r)
{
	struct prom_state *ps = xcalloc(1, sizeof(*ps));
	struct gateway *gw = r->gw;
	struct proto_stats_req sreq = {0};
	struct proto_backup_status_req breq = {0};
	struct proto_stats *own = xcalloc(1, sizeof(*own));

	/* the gateway's own: what its STATS would answer, without the hop */
	if (gw->srv != NULL) {
		proto_server_stats_collect(gw->srv, own);
		prom_stats_copy(&ps->daemons[0], own->kv, own->n);
	}
	ps->daemons[0].up = true;   /* it is answering this very request */
	free(own);
	ps->r = r;
	for (int i = 0; i < PROM_NDAEMONS; i++)
		ps->daemons[i].r = r;
	r->hctx = ps;
	gw_async_begin(r, GW_BACKEND_COUNT + 1, prom_finish);
	/* r may be answered and freed once the last call is issued: use locals */
	proto_backup_status_call(gw->backend[GW_STORAGED], &breq, gw->ipc_timeout_ms,
	    prom_backup_cb, ps);
	for (int i = 0; i < GW_BACKEND_COUNT; i++)
		proto_stats_call(gw->backend[i], &sreq, gw->ipc_timeout_ms, prom_stats_cb,
		    &ps->daemons[i + 1]);
}
