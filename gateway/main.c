/* kubarr-gateway: the HTTP front of kubarr.
 *
 * Owns:    HTTP (libmicrohttpd), the route table (router.c), JSON in and out,
 *          cookies and CSRF, the access log.  No database, no keys.
 * Serves:  KUBARR_HTTP_ADDR (HTTP); gateway.ipc (req/rep) - PING, STATS.
 * Calls:   authd, storaged, metricsd (req/rep, each call with a deadline,
 *          connections suspended while a backend answers: no HTTP thread ever
 *          blocks).  A backend that is down gives 503 + Retry-After at once.
 * Keeps:   nothing but its sockets; runs as an unprivileged user. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "server.h"
#include "xmalloc.h"

static struct config_var gateway_vars[] = {
	{.name = "KUBARR_HTTP_ADDR", .kind = CONFIG_ADDR, .def = "127.0.0.1:8080",
	    .help = "address the HTTP API listens on (host:port)"},
	{.name = "KUBARR_HTTP_THREADS", .kind = CONFIG_INT, .def = "0", .min = 0, .max = 256,
	    .help = "HTTP threads (0: one per CPU)"},
	{.name = "KUBARR_HTTP_MAX_CONNECTIONS", .kind = CONFIG_INT, .def = "1024", .min = 1,
	    .max = 100000, .help = "concurrent HTTP connections"},
	{.name = "KUBARR_HTTP_IDLE_TIMEOUT_S", .kind = CONFIG_INT, .def = "60", .min = 1,
	    .max = 86400, .help = "close a connection idle this long"},
	{.name = "KUBARR_HTTP_MAX_HEADER_BYTES", .kind = CONFIG_INT, .def = "32768", .min = 4096,
	    .max = 1048576, .help = "per-connection memory for the request line and headers"},
	{.name = "KUBARR_HTTP_MAX_BODY_BYTES", .kind = CONFIG_INT, .def = "1048576", .min = 1024,
	    .max = 1073741824, .help = "largest JSON request body (413 beyond)"},
	{.name = "KUBARR_ACCESS_LOG", .kind = CONFIG_BOOL, .def = "true",
	    .help = "one log line per HTTP request"},
	{.name = "KUBARR_CHANNEL", .kind = CONFIG_STR, .def = "stable",
	    .help = "release channel reported by /api/system/version"},
	{.name = "KUBARR_STORAGE_PATH", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}/storage",
	    .help = "root of the media file browser; nothing outside it is ever reachable"},
	{.name = "KUBARR_UPLOAD_MAX_BYTES", .kind = CONFIG_INT, .def = "107374182400", .min = 0,
	    .max = INT64_MAX, .help = "largest upload, PUT /api/storage/upload (413 beyond; 0: no limit)"},
	{.name = "KUBARR_STORAGE_NO_OPENAT2", .kind = CONFIG_BOOL, .def = "false",
	    .help = "resolve storage paths with the O_NOFOLLOW walk (no symlinks at all) even where openat2 exists"},
	{.name = "KUBARR_TRUSTED_PROXIES", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "proxies whose X-Forwarded-For is believed: addresses or CIDRs, comma-separated"},
	{.name = "KUBARR_HOST_BROWSE_PREFIX", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "where the host's / is mounted, for the setup directory browser (empty: /)"},
	{.name = "KUBARR_BACKUP_URL", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "continuous backup target; the setup wizard asks storaged's backup engine and uses this only while storaged does not answer"},
};

static void
gateway_stats(void *arg, struct proto_stats *st)
{
	struct gateway *gw = arg;
	int64_t requests = 0, in_flight = 0, errors = 0;

	if (gw->http != NULL)
		gw_http_stats(gw->http, &requests, &in_flight, &errors);
	proto_stats_add(st, "http_requests", requests);
	proto_stats_add(st, "http_in_flight", in_flight);
	proto_stats_add(st, "http_5xx", errors);
	proto_stats_add(st, "auth_checks", (int64_t)atomic_load(&gw->auth_checks));
	proto_stats_add(st, "auth_denied", (int64_t)atomic_load(&gw->auth_denied));
	proto_stats_add(st, "csrf_refused", (int64_t)atomic_load(&gw->csrf_refused));
	proto_stats_add(st, "authd_connected", ipc_client_connected(gw->backend[GW_AUTHD]));
	proto_stats_add(st, "storaged_connected", ipc_client_connected(gw->backend[GW_STORAGED]));
	proto_stats_add(st, "metricsd_connected", ipc_client_connected(gw->backend[GW_METRICSD]));
	proto_stats_add(st, "pings_sent_authd", (int64_t)atomic_load(&gw->ping[GW_AUTHD].sent));
	proto_stats_add(st, "pings_sent_storaged", (int64_t)atomic_load(&gw->ping[GW_STORAGED].sent));
	proto_stats_add(st, "pings_sent_metricsd", (int64_t)atomic_load(&gw->ping[GW_METRICSD].sent));
	proto_stats_add(st, "pings_answered_storaged",
	    (int64_t)atomic_load(&gw->ping[GW_STORAGED].answered));
	gateway_metrics_stats(gw, st);
}

static int
gateway_start(struct daemon *d, char **err_r)
{
	struct gateway *gw = d->ctx;
	struct proto_service svc = {.ctx = gw, .stats = gateway_stats};
	struct gw_http_limits lim = {
		.threads = (unsigned)config_int(&d->cfg, "KUBARR_HTTP_THREADS"),
		.max_connections = (unsigned)config_int(&d->cfg, "KUBARR_HTTP_MAX_CONNECTIONS"),
		.idle_timeout_s = (unsigned)config_int(&d->cfg, "KUBARR_HTTP_IDLE_TIMEOUT_S"),
		.max_header_bytes = (size_t)config_int(&d->cfg, "KUBARR_HTTP_MAX_HEADER_BYTES"),
		.max_body_bytes = (size_t)config_int(&d->cfg, "KUBARR_HTTP_MAX_BODY_BYTES"),
		.access_log = config_bool(&d->cfg, "KUBARR_ACCESS_LOG"),
	};
	char *host = NULL;
	unsigned port = 0;
	int rc;

	gw->d = d;
	gw->ipc_timeout_ms = d->ipc_timeout_ms;
	gw->channel = config_str(&d->cfg, "KUBARR_CHANNEL");
	if (lim.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		lim.threads = n > 0 ? (unsigned)n : 1;
	}
	gw->storage_root = config_str(&d->cfg, "KUBARR_STORAGE_PATH");
	gw->storage_root_configured = getenv("KUBARR_STORAGE_PATH") != NULL;
	gw->storage_walk = config_bool(&d->cfg, "KUBARR_STORAGE_NO_OPENAT2");
	gw->upload_max_bytes = (uint64_t)config_int(&d->cfg, "KUBARR_UPLOAD_MAX_BYTES");
	if (!gw->storage_root_configured && mkdir(gw->storage_root, 0775) != 0 && errno != EEXIST)
		log_warn("storage: cannot create %s", gw->storage_root);
	if (auth_open(gw, config_str(&d->cfg, "KUBARR_TRUSTED_PROXIES"), err_r) != 0)
		return -1;
	if (gateway_backends_open(gw, err_r) != 0)
		return -1;
	if (proto_server_open_daemon(&gw->srv, d, 4, &svc, err_r) != 0)
		return -1;
	if (gateway_metrics_open(gw, err_r) != 0)
		return -1;
	if (gateway_setup_open(gw, config_str(&d->cfg, "KUBARR_HOST_BROWSE_PREFIX"),
	    config_str(&d->cfg, "KUBARR_BACKUP_URL"), err_r) != 0)
		return -1;
	if (config_parse_addr(config_str(&d->cfg, "KUBARR_HTTP_ADDR"), &host, &port) != 0) {
		*err_r = xstrdup("KUBARR_HTTP_ADDR: not host:port");
		return -1;
	}
	rc = gw_http_start(&gw->http, gw, host, port, &lim, err_r);
	if (rc == 0)
		log_info("listening on http://%s:%u with %u threads", host, port, lim.threads);
	free(host);
	return rc;
}

static void
gateway_stop(struct daemon *d, int64_t deadline_us)
{
	struct gateway *gw = d->ctx;

	gateway_metrics_shutdown(gw);
	gateway_setup_shutdown(gw);
	gw_http_stop(&gw->http, deadline_us);
	gateway_metrics_close(gw);
	gateway_setup_close(gw);
	proto_server_close(&gw->srv, deadline_us);
	gateway_backends_close(gw);
	auth_close(gw);
}

static const struct daemon_ops gateway_ops = {
	.name = "gateway",
	.summary = "kubarr-gateway: the HTTP API of kubarr (no database, no keys).",
	.vars = gateway_vars,
	.nvars = sizeof(gateway_vars) / sizeof(gateway_vars[0]),
	.start = gateway_start,
	.stop = gateway_stop,
};

int
main(int argc, char **argv)
{
	struct gateway gw = {0};

	return daemon_main(&gateway_ops, &gw, argc, argv);
}
