/* kubarr-metricsd: network and host rates without a TSDB.
 *
 * Owns:    collectors -> per-namespace counters -> rates (5-sample window + EMA)
 *          -> history rings (15 s/1 h, 60 s/3 h, 120 s/24 h), bounded
 *          (KUBARR_METRICS_MAX_SERIES, eviction after KUBARR_METRICS_SERIES_TTL_S),
 *          persisted under KUBARR_DATA_DIR every 30 s and at SIGTERM.
 * Serves:  metricsd.ipc (req/rep) - PING, STATS, METRICS_SNAPSHOT, METRICS_HISTORY;
 *          publishes metrics.ipc: a METRICS_SNAPSHOT after every cycle (1 s)
 *          for the gateway's WebSocket push.
 * Calls:   nobody; in Kubernetes, the API server (libcurl, service-account token).
 * Threads: one collector thread owns every write to the store (procfs.c or
 *          kube.c, then store.c, then persist.c); IPC threads only read.
 * Keeps:   read access to /proc (other users' ns links need ptrace-read
 *          permission: without it those processes are skipped and counted);
 *          no user data. */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ipc.h"
#include "kube.h"
#include "log.h"
#include "procfs.h"
#include "server.h"
#include "store.h"
#include "timeutil.h"
#include "xmalloc.h"

static struct config_var metricsd_vars[] = {
	{.name = "KUBARR_METRICS_INTERVAL_MS", .kind = CONFIG_INT, .def = "1000", .min = 100,
	    .max = 60000, .help = "collection cycle (and snapshot publication) period"},
	{.name = "KUBARR_METRICS_EMA_ALPHA", .kind = CONFIG_STR, .def = "0.3",
	    .help = "EMA weight of the newest 5-sample mean, in (0, 1]; 1 = plain window mean"},
	{.name = "KUBARR_METRICS_MAX_SERIES", .kind = CONFIG_INT, .def = "256", .min = 1,
	    .max = 100000, .help = "most series kept (least recently seen evicted beyond)"},
	{.name = "KUBARR_METRICS_SERIES_TTL_S", .kind = CONFIG_INT, .def = "300", .min = 1,
	    .max = 86400, .help = "a series not seen for this long is evicted"},
	{.name = "KUBARR_METRICS_STATE_FILE", .kind = CONFIG_PATH,
	    .def = "${KUBARR_DATA_DIR}/metrics.state", .help = "persisted rates and history"},
	{.name = "KUBARR_METRICS_PERSIST_INTERVAL_S", .kind = CONFIG_INT, .def = "30", .min = 1,
	    .max = 3600, .help = "write the state file this often (and at SIGTERM)"},
	{.name = "KUBARR_METRICS_STATE_MAX_AGE_S", .kind = CONFIG_INT, .def = "86400", .min = 0,
	    .max = 604800, .help = "ignore a state file older than this at start"},
	{.name = "KUBARR_METRICS_SOURCE", .kind = CONFIG_ENUM, .def = "auto",
	    .choices = "auto|proc|kubernetes",
	    .help = "auto: Kubernetes when in-cluster credentials exist, else /proc"},
	{.name = "KUBARR_PROC_ROOT", .kind = CONFIG_PATH, .def = "/proc",
	    .help = "proc file system the bare-metal collector reads (tests: a fixture tree)"},
	{.name = "KUBARR_METRICS_STORAGE_PATH", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}",
	    .help = "file system whose size and use the dashboard shows (statvfs)"},
	{.name = "KUBARR_METRICS_KUBE_API", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "API server URL; empty: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"},
	{.name = "KUBARR_METRICS_KUBE_TOKEN_FILE", .kind = CONFIG_PATH,
	    .def = "/var/run/secrets/kubernetes.io/serviceaccount/token",
	    .help = "service-account token (read at every request: tokens rotate)"},
	{.name = "KUBARR_METRICS_KUBE_CA_FILE", .kind = CONFIG_STR,
	    .def = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", .flags = CONFIG_EMPTY_OK,
	    .help = "CA of the API server; empty: the system CAs"},
	{.name = "KUBARR_METRICS_KUBE_TIMEOUT_MS", .kind = CONFIG_INT, .def = "5000", .min = 100,
	    .max = 60000, .help = "deadline of each request to the API server"},
};

struct metricsd {
	struct daemon *d;
	struct proto_server *srv;
	struct ipc_pub *metrics;
	struct store *store;
	struct procfs *procfs;
	struct kube *kube;
	struct collect_result res;
	const char *state_file;
	int interval_ms;
	int persist_ms;
	/* collector thread */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	/* STATS (written by the collector thread, read under lock) */
	int64_t cycle_us_last, cycle_us_max, cycle_cpu_us_total;
	uint64_t cycles, published;
	uint64_t pids_seen, ns_unreadable, ns_vanished, lines_skipped;
};

static int64_t
metricsd_thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
metricsd_save(struct metricsd *md)
{
	char *err = NULL;

	if (store_save(md->store, md->state_file, time_wall_ms(), &err) != 0) {
		log_warnx("state not saved: %s", err);
		free(err);
	}
}

static void
metricsd_cycle(struct metricsd *md)
{
	int64_t t0 = time_mono_us(), c0 = metricsd_thread_cpu_us(), now;
	nng_msg *msg;

	if (md->kube != NULL)
		kube_collect(md->kube, &md->res, config_str(&md->d->cfg, "KUBARR_METRICS_STORAGE_PATH"));
	else
		procfs_collect(md->procfs, &md->res);
	now = time_wall_ms();
	store_apply(md->store, &md->res, now);
	store_sweep(md->store, now);
	if ((msg = store_snapshot_msg(md->store, 0)) != NULL) {
		ipc_pub_send(md->metrics, msg);
		md->published++;
	}
	pthread_mutex_lock(&md->lock);
	md->cycles++;
	md->cycle_us_last = time_mono_us() - t0;
	if (md->cycle_us_last > md->cycle_us_max)
		md->cycle_us_max = md->cycle_us_last;
	md->cycle_cpu_us_total += metricsd_thread_cpu_us() - c0;
	md->pids_seen = md->res.pids_seen;
	md->ns_unreadable += md->res.ns_unreadable;
	md->ns_vanished += md->res.ns_vanished;
	md->lines_skipped += md->res.lines_skipped;
	pthread_mutex_unlock(&md->lock);
}

static void *
metricsd_collector(void *arg)
{
	struct metricsd *md = arg;
	int64_t next = time_mono_us(), next_save = next + (int64_t)md->persist_ms * 1000;

	pthread_mutex_lock(&md->lock);
	while (!md->stopping) {
		int64_t now = time_mono_us();

		if (now < next) {
			struct timespec ts;
			int64_t wait_us = next - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_us / 1000000;
			ts.tv_nsec += (wait_us % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&md->cond, &md->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&md->lock);
		metricsd_cycle(md);
		next += (int64_t)md->interval_ms * 1000;
		if (next < time_mono_us())   /* a slow cycle: do not run a burst to catch up */
			next = time_mono_us() + (int64_t)md->interval_ms * 1000;
		if (time_mono_us() >= next_save) {
			metricsd_save(md);
			next_save = time_mono_us() + (int64_t)md->persist_ms * 1000;
		}
		pthread_mutex_lock(&md->lock);
	}
	pthread_mutex_unlock(&md->lock);
	return NULL;
}

/* ---- IPC ------------------------------------------------------------------- */

static void
metricsd_op_snapshot(void *ctx, struct proto_request *r)
{
	struct metricsd *md = ctx;
	struct proto_metrics_snapshot_req req;
	const char *err;

	if (proto_metrics_snapshot_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	proto_reply(r, store_snapshot_msg(md->store, r->env.req_id));
}

static void
metricsd_op_history(void *ctx, struct proto_request *r)
{
	struct metricsd *md = ctx;
	struct proto_metrics_history_req req;
	const char *err;

	if (proto_metrics_history_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	if (req.duration_s < 1 || req.duration_s > 86400) {
		proto_reply_error(r, PROTO_BAD_REQUEST, "duration_s: 1..86400", "duration_s");
		return;
	}
	proto_reply(r, store_history_msg(md->store, r->env.req_id,
	    req.has_series ? req.series : NULL, req.duration_s, time_wall_ms()));
}

/* Most useful first: proto_stats holds PROTO_STATS_MAX entries and the server
 * adds one per op before ours. */
static void
metricsd_stats(void *ctx, struct proto_stats *ps)
{
	struct metricsd *md = ctx;

	store_stats(md->store, ps);
	pthread_mutex_lock(&md->lock);
	proto_stats_add(ps, "cycle_cpu_us_avg",
	    md->cycles ? md->cycle_cpu_us_total / (int64_t)md->cycles : 0);
	proto_stats_add(ps, "ns_unreadable", (int64_t)md->ns_unreadable);
	proto_stats_add(ps, "cycle_us_last", md->cycle_us_last);
	proto_stats_add(ps, "cycle_us_max", md->cycle_us_max);
	proto_stats_add(ps, "ns_vanished", (int64_t)md->ns_vanished);
	proto_stats_add(ps, "lines_skipped", (int64_t)md->lines_skipped);
	proto_stats_add(ps, "pids_seen", (int64_t)md->pids_seen);
	proto_stats_add(ps, "snapshots_published", (int64_t)md->published);
	pthread_mutex_unlock(&md->lock);
	if (md->kube != NULL) {
		unsigned long req, fail, skipped;

		kube_stats(md->kube, &req, &fail, &skipped);
		proto_stats_add(ps, "kube_failures", (int64_t)fail);
		proto_stats_add(ps, "kube_requests", (int64_t)req);
	}
}

/* ---- start / stop ---------------------------------------------------------- */

static double
metricsd_alpha(const struct daemon *d)
{
	const char *s = config_str(&d->cfg, "KUBARR_METRICS_EMA_ALPHA");
	char *end;
	double a;

	errno = 0;
	a = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(a > 0.0) || a > 1.0)
		fatalx(2, "configuration error: KUBARR_METRICS_EMA_ALPHA: '%s' is not a number in (0, 1]",
		    s);
	return a;
}

static int
metricsd_open_source(struct metricsd *md, char **err_r)
{
	const struct config *cfg = &md->d->cfg;
	const char *src = config_str(cfg, "KUBARR_METRICS_SOURCE");
	struct kube_config kc = {
		.api_url = config_str(cfg, "KUBARR_METRICS_KUBE_API"),
		.token_file = config_str(cfg, "KUBARR_METRICS_KUBE_TOKEN_FILE"),
		.ca_file = config_str(cfg, "KUBARR_METRICS_KUBE_CA_FILE"),
		.timeout_ms = (int)config_int(cfg, "KUBARR_METRICS_KUBE_TIMEOUT_MS"),
	};

	if (strcmp(src, "kubernetes") == 0 || (strcmp(src, "auto") == 0 && kube_available(&kc))) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			*err_r = xstrdup("curl_global_init failed");
			return -1;
		}
		if ((md->kube = kube_new(&kc, err_r)) == NULL)
			return -1;
		log_info("collecting from Kubernetes (cAdvisor through the API server)");
		return 0;
	}
	md->procfs = procfs_new(config_str(cfg, "KUBARR_PROC_ROOT"),
	    config_str(cfg, "KUBARR_METRICS_STORAGE_PATH"));
	log_info("collecting from %s (network namespaces)", config_str(cfg, "KUBARR_PROC_ROOT"));
	return 0;
}

static int
metricsd_start(struct daemon *d, char **err_r)
{
	struct metricsd *md = d->ctx;
	struct proto_service svc = {.ctx = md, .stats = metricsd_stats};
	struct store_config sc;
	char *err = NULL;
	int rc;

	md->d = d;
	pthread_mutex_init(&md->lock, NULL);
	pthread_cond_init(&md->cond, NULL);
	md->interval_ms = (int)config_int(&d->cfg, "KUBARR_METRICS_INTERVAL_MS");
	md->persist_ms = (int)config_int(&d->cfg, "KUBARR_METRICS_PERSIST_INTERVAL_S") * 1000;
	md->state_file = config_str(&d->cfg, "KUBARR_METRICS_STATE_FILE");
	sc.alpha = metricsd_alpha(d);
	sc.max_series = (size_t)config_int(&d->cfg, "KUBARR_METRICS_MAX_SERIES");
	sc.ttl_ms = config_int(&d->cfg, "KUBARR_METRICS_SERIES_TTL_S") * 1000;
	if (metricsd_open_source(md, err_r) != 0)
		return -1;
	sc.source = md->kube != NULL ? "kubernetes" : "proc";
	md->store = store_new(&sc);
	{
		/* a state directory we cannot create costs the persistence, not the daemon */
		char *dir = xstrdup(md->state_file), *slash = strrchr(dir, '/');

		if (slash != NULL && slash != dir) {
			*slash = '\0';
			if (daemon_mkdir_p(dir, 0750) != 0)
				log_warnx("state directory %s unusable: rates and history will not "
				    "survive a restart", dir);
		}
		free(dir);
	}
	rc = store_load(md->store, md->state_file, time_wall_ms(),
	    config_int(&d->cfg, "KUBARR_METRICS_STATE_MAX_AGE_S") * 1000, &err);
	if (rc < 0) {
		log_warnx("state file ignored: %s", err);
		free(err);
	} else if (rc > 0) {
		log_info("state loaded from %s", md->state_file);
	}
	if (daemon_pub_open(d, "metrics", &md->metrics, err_r) != 0)
		return -1;
	svc.handlers[PROTO_OP_METRICS_SNAPSHOT] = metricsd_op_snapshot;
	svc.handlers[PROTO_OP_METRICS_HISTORY] = metricsd_op_history;
	if (proto_server_open_daemon(&md->srv, d, 0, &svc, err_r) != 0)
		return -1;
	if (pthread_create(&md->thread, NULL, metricsd_collector, md) != 0) {
		*err_r = xstrdup("cannot start the collector thread");
		return -1;
	}
	md->thread_started = true;
	return 0;
}

static void
metricsd_stop(struct daemon *d, int64_t deadline_us)
{
	struct metricsd *md = d->ctx;

	if (md->d == NULL)
		return;
	proto_server_drain(md->srv, deadline_us);
	if (md->thread_started) {
		pthread_mutex_lock(&md->lock);
		md->stopping = true;
		pthread_cond_signal(&md->cond);
		pthread_mutex_unlock(&md->lock);
		pthread_join(md->thread, NULL);
		md->thread_started = false;
		metricsd_save(md);
	}
	proto_server_close(&md->srv, deadline_us);
	ipc_pub_close(&md->metrics);
	store_free(&md->store);
	procfs_free(&md->procfs);
	if (md->kube != NULL) {
		kube_free(&md->kube);
		curl_global_cleanup();
	}
	collect_free(&md->res);
	pthread_cond_destroy(&md->cond);
	pthread_mutex_destroy(&md->lock);
	md->d = NULL;
}

static const struct daemon_ops metricsd_ops = {
	.name = "metricsd",
	.summary = "kubarr-metricsd: live network and host rates with history rings.",
	.vars = metricsd_vars,
	.nvars = sizeof(metricsd_vars) / sizeof(metricsd_vars[0]),
	.start = metricsd_start,
	.stop = metricsd_stop,
};

int
main(int argc, char **argv)
{
	struct metricsd md = {0};

	return daemon_main(&metricsd_ops, &md, argc, argv);
}
