/* proto server: decodes every request on a daemon's socket, answers PING and
 * STATS itself and dispatches the other ops to the daemon's handler table.
 * A malformed message gets a bad_request reply naming the problem, an op the
 * daemon does not serve gets unknown_op; neither ever stops the daemon. */
#ifndef KUBARR_PROTO_SERVER_H
#define KUBARR_PROTO_SERVER_H

#include <stdint.h>

#include "ipc.h"
#include "proto.h"

#define PROTO_STATS_MAX 256

struct proto_stats {
	struct proto_kv kv[PROTO_STATS_MAX];
	size_t n;
};
/* The key must outlive the reply (use string literals). */
void proto_stats_add(struct proto_stats *st, const char *key, int64_t val);

struct proto_server;
struct proto_request {
	struct proto_env env;   /* env.op, env.req_id, env.body */
	nng_msg *msg;           /* the request bytes env points into */
	struct ipc_call *call;
	struct proto_server *srv;
	int64_t started_us;
	uint64_t peer_uid;      /* the sender's uid, when has_peer_uid */
	bool has_peer_uid;
};

typedef void (*proto_handler_fn)(void *ctx, struct proto_request *r);

struct proto_service {
	const char *daemon;                          /* "storaged" */
	void *ctx;
	proto_handler_fn handlers[PROTO_OP_END];     /* NULL: unknown_op */
	/* PING: set rep->ready (and reason); daemon, version, pid, uptime are filled. */
	void (*ping)(void *ctx, struct proto_ping_rep *rep);
	/* STATS: add the daemon's own counters; common ones are added before. */
	void (*stats)(void *ctx, struct proto_stats *st);
	int64_t started_us;
};

int proto_server_open(struct proto_server **srv_r, const char *url, int workers,
    const struct proto_service *svc, char **err_r);
/* Stop taking requests and let those in flight finish (new ones are answered
 * "unavailable: shutting down"); call before stopping the threads that reply. */
void proto_server_drain(struct proto_server *srv, int64_t deadline_us);
void proto_server_close(struct proto_server **srv, int64_t deadline_us);
/* Serves svc on the daemon's own socket, <runtime dir>/<daemon name>.ipc, with
 * KUBARR_IPC_WORKERS contexts (or `workers` when non-zero). */
struct daemon;
int proto_server_open_daemon(struct proto_server **srv_r, const struct daemon *d, int workers,
    struct proto_service *svc, char **err_r);

/* What STATS answers, collected in this process (the gateway's /metrics
 * reads its own figures this way, without a round trip to itself). */
void proto_server_stats_collect(struct proto_server *srv, struct proto_stats *st);

/* Answer a request (any thread, exactly once); frees r. */
void proto_reply(struct proto_request *r, nng_msg *rep);
void proto_reply_error(struct proto_request *r, enum proto_status st, const char *detail,
    const char *field);

/* Resident set size of this process in KiB (0 if unknown). */
int64_t proto_rss_kib(void);

#endif
