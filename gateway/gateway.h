/* The gateway's context: one per process, no other mutable globals. */
#ifndef KUBARR_GATEWAY_GATEWAY_H
#define KUBARR_GATEWAY_GATEWAY_H

#include "client.h"
#include "daemon.h"
#include "http.h"
#include "ipc.h"

#include <pthread.h>
#include <stdatomic.h>

/* One PING in flight per backend; requests that arrive meanwhile wait for its
 * answer instead of sending their own (a probe storm costs the backends one
 * round trip at a time).  An answer is never older than the request's wait. */
struct gw_ping_waiter;
struct gw_ping_flight {
	pthread_mutex_t lock;
	bool in_flight;
	struct gw_ping_waiter *waiters;
	atomic_ullong sent;      /* PINGs actually sent */
	atomic_ullong answered;  /* callers answered */
};

enum gw_backend { GW_AUTHD, GW_STORAGED, GW_METRICSD, GW_BACKEND_COUNT };

struct gateway {
	struct daemon *d;
	struct gw_http *http;
	struct proto_server *srv;
	struct ipc_client *backend[GW_BACKEND_COUNT];
	struct gw_ping_flight ping[GW_BACKEND_COUNT];
	int ipc_timeout_ms;
	const char *channel;
	struct gw_metrics *metrics;   /* routes_metrics.c */
	struct gw_setup *setup;       /* routes_setup*.c */
	struct auth_proxy *proxies;        /* KUBARR_TRUSTED_PROXIES (auth.c) */
	size_t nproxies;
	atomic_ullong auth_checks, auth_denied, csrf_refused;
	/* media storage (routes_storage*.c) */
	const char *storage_root;        /* KUBARR_STORAGE_PATH */
	bool storage_root_configured;    /* set explicitly, not the default */
	bool storage_walk;               /* KUBARR_STORAGE_NO_OPENAT2: the O_NOFOLLOW walk */
	uint64_t upload_max_bytes;       /* KUBARR_UPLOAD_MAX_BYTES, 0: no limit */
};

extern const char *const gateway_backend_names[GW_BACKEND_COUNT];

/* backends.c: dial the three backends (in the background; they may be down). */
int gateway_backends_open(struct gateway *gw, char **err_r);
void gateway_backends_close(struct gateway *gw);
/* PING a backend, joining a PING already in flight; cb runs exactly once. */
void gateway_ping(struct gateway *gw, enum gw_backend b, proto_ping_cb cb, void *arg);

#endif
