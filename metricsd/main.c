/* kubarr-metricsd: network and host rates without a TSDB.
 *
 * Owns:    collectors -> per-namespace counters -> rates (5-sample window + EMA)
 *          -> history rings, persisted under KUBARR_DATA_DIR.
 * Serves:  metricsd.ipc (req/rep) - PING, STATS; publishes metrics.ipc
 *          (a snapshot every second for the gateway's WebSocket push).
 * Calls:   nobody (in Kubernetes: the API server, through libcurl).
 * Keeps:   read access to /proc; no user data. */
#include <stdlib.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "server.h"

struct metricsd {
	struct proto_server *srv;
	struct ipc_pub *metrics;
};

static int
metricsd_start(struct daemon *d, char **err_r)
{
	struct metricsd *md = d->ctx;
	struct proto_service svc = {.ctx = md};

	if (daemon_pub_open(d, "metrics", &md->metrics, err_r) != 0)
		return -1;
	return proto_server_open_daemon(&md->srv, d, 0, &svc, err_r);
}

static void
metricsd_stop(struct daemon *d, int64_t deadline_us)
{
	struct metricsd *md = d->ctx;

	proto_server_close(&md->srv, deadline_us);
	ipc_pub_close(&md->metrics);
}

static const struct daemon_ops metricsd_ops = {
	.name = "metricsd",
	.summary = "kubarr-metricsd: live network and host rates with history rings.",
	.start = metricsd_start,
	.stop = metricsd_stop,
};

int
main(int argc, char **argv)
{
	struct metricsd md = {0};

	return daemon_main(&metricsd_ops, &md, argc, argv);
}
