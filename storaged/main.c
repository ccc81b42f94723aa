/* kubarr-storaged: the only process that opens the SQLite database.
 *
 * Owns:    the database file (later: migrations, every table, audit, settings,
 *          media files, continuous backup and restore).
 * Serves:  storaged.ipc (req/rep) - PING, STATS; publishes events.ipc
 *          (change events for caches in authd and the gateway).
 * Calls:   nobody.
 * Keeps:   no privileges beyond its uid; files under KUBARR_DATA_DIR. */
#include <stdlib.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"
#include "xmalloc.h"

struct storaged {
	struct proto_server *srv;
	struct ipc_pub *events;
};

static void
storaged_ping(void *arg, struct proto_ping_rep *rep)
{
	(void)arg;
	/* No database is opened yet, so no admin can exist: setup is required. */
	rep->admin_exists = false;
	rep->has_admin_exists = true;
}

static int
storaged_start(struct daemon *d, char **err_r)
{
	struct storaged *sd = d->ctx;
	struct proto_service svc = {.ctx = sd, .ping = storaged_ping};

	if (daemon_pub_open(d, "events", &sd->events, err_r) != 0)
		return -1;
	return proto_server_open_daemon(&sd->srv, d, 0, &svc, err_r);
}

static void
storaged_stop(struct daemon *d, int64_t deadline_us)
{
	struct storaged *sd = d->ctx;

	proto_server_close(&sd->srv, deadline_us);
	ipc_pub_close(&sd->events);
}

static const struct daemon_ops storaged_ops = {
	.name = "storaged",
	.summary = "kubarr-storaged: owner of the kubarr database (the only process that opens it).",
	.start = storaged_start,
	.stop = storaged_stop,
};

int
main(int argc, char **argv)
{
	struct storaged sd = {0};

	return daemon_main(&storaged_ops, &sd, argc, argv);
}
