/* The gateway's context: one per process, no other mutable globals. */
#ifndef KUBARR_GATEWAY_GATEWAY_H
#define KUBARR_GATEWAY_GATEWAY_H

#include "client.h"
#include "daemon.h"
#include "http.h"
#include "ipc.h"

enum gw_backend { GW_AUTHD, GW_STORAGED, GW_METRICSD, GW_BACKEND_COUNT };

struct gateway {
	struct daemon *d;
	struct gw_http *http;
	struct proto_server *srv;
	struct ipc_client *backend[GW_BACKEND_COUNT];
	int ipc_timeout_ms;
	const char *channel;
};

extern const char *const gateway_backend_names[GW_BACKEND_COUNT];

/* backends.c: dial the three backends (in the background; they may be down). */
int gateway_backends_open(struct gateway *gw, char **err_r);
void gateway_backends_close(struct gateway *gw);

#endif
