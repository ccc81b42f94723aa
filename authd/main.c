/* kubarr-authd: sessions and permissions, cached in memory.
 *
 * Owns:    JWT signing and verification, the session and principal cache,
 *          password hashing, TOTP, login throttling.
 * Serves:  authd.ipc (req/rep) - PING, STATS.
 * Calls:   storaged (req/rep) on a cache miss; subscribes to events.ipc to drop
 *          cache entries the moment a user, role or session changes.
 * Keeps:   the signing key in memory only; never writes the database itself.
 * Ready:   only while storaged is reachable (PING says why not). */
#include <stdatomic.h>
#include <stdlib.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "server.h"
#include "xmalloc.h"

struct authd {
	struct proto_server *srv;
	struct ipc_client *storaged;
	struct ipc_sub *events;
	atomic_ullong events_seen;
};

static void
authd_ping(void *arg, struct proto_ping_rep *rep)
{
	struct authd *ad = arg;

	if (!ipc_client_connected(ad->storaged)) {
		rep->ready = false;
		rep->reason = "storaged unavailable";
		rep->has_reason = true;
	}
}

static void
authd_stats(void *arg, struct proto_stats *st)
{
	struct authd *ad = arg;

	proto_stats_add(st, "storaged_connected", ipc_client_connected(ad->storaged));
	proto_stats_add(st, "events_seen", (int64_t)atomic_load(&ad->events_seen));
}

static void
authd_event(void *arg, nng_msg *msg)
{
	struct authd *ad = arg;

	atomic_fetch_add(&ad->events_seen, 1);
	nng_msg_free(msg);
}

static int
authd_start(struct daemon *d, char **err_r)
{
	struct authd *ad = d->ctx;
	struct proto_service svc = {.ctx = ad, .ping = authd_ping, .stats = authd_stats};

	if (daemon_client_open(d, "storaged", &ad->storaged, err_r) != 0 ||
	    daemon_sub_open(d, "events", authd_event, ad, &ad->events, err_r) != 0)
		return -1;
	return proto_server_open_daemon(&ad->srv, d, 0, &svc, err_r);
}

static void
authd_stop(struct daemon *d, int64_t deadline_us)
{
	struct authd *ad = d->ctx;

	proto_server_close(&ad->srv, deadline_us);
	ipc_sub_close(&ad->events);
	ipc_client_close(&ad->storaged);
}

static const struct daemon_ops authd_ops = {
	.name = "authd",
	.summary = "kubarr-authd: sessions, permissions and 2FA, cached in memory.",
	.start = authd_start,
	.stop = authd_stop,
};

int
main(int argc, char **argv)
{
	struct authd ad = {0};

	return daemon_main(&authd_ops, &ad, argc, argv);
}
