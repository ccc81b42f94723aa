/* backends: the gateway's IPC clients to authd, storaged and metricsd, and
 * single-flight PINGs to them. */
#include <stdlib.h>

#include "gateway.h"
#include "xmalloc.h"

const char *const gateway_backend_names[GW_BACKEND_COUNT] = {"authd", "storaged", "metricsd"};

struct gw_ping_waiter {
	proto_ping_cb cb;
	void *arg;
	struct gw_ping_waiter *next;
};

int
gateway_backends_open(struct gateway *gw, char **err_r)
{
	for (int i = 0; i < GW_BACKEND_COUNT; i++) {
		pthread_mutex_init(&gw->ping[i].lock, NULL);
		if (daemon_client_open(gw->d, gateway_backend_names[i], &gw->backend[i], err_r) != 0)
			return -1;
	}
	return 0;
}

void
gateway_backends_close(struct gateway *gw)
{
	for (int i = 0; i < GW_BACKEND_COUNT; i++) {
		ipc_client_close(&gw->backend[i]);
		pthread_mutex_destroy(&gw->ping[i].lock);
	}
}

static void
gateway_ping_done(void *arg, enum proto_status st, const struct proto_ping_rep *rep,
    const char *detail)
{
	struct gw_ping_flight *fl = arg;
	struct gw_ping_waiter *w, *next;

	pthread_mutex_lock(&fl->lock);
	w = fl->waiters;
	fl->waiters = NULL;
	fl->in_flight = false;
	pthread_mutex_unlock(&fl->lock);
	for (; w != NULL; w = next) {
		next = w->next;
		atomic_fetch_add(&fl->answered, 1);
		w->cb(w->arg, st, rep, detail);
		free(w);
	}
}

void
gateway_ping(struct gateway *gw, enum gw_backend b, proto_ping_cb cb, void *arg)
{
	struct gw_ping_flight *fl = &gw->ping[b];
	struct gw_ping_waiter *w = xmalloc(sizeof(*w));
	struct proto_ping_req req = {0};
	bool start;

	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&fl->lock);
	w->next = fl->waiters;
	fl->waiters = w;
	start = !fl->in_flight;
	fl->in_flight = true;
	pthread_mutex_unlock(&fl->lock);
	if (start) {
		atomic_fetch_add(&fl->sent, 1);
		proto_ping_call(gw->backend[b], &req, gw->ipc_timeout_ms, gateway_ping_done, fl);
	}
}
