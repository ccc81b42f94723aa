/* http: the gateway's libmicrohttpd glue.
 *
 * Every request gets a struct gw_req.  A handler either answers at once
 * (gw_respond_*) or calls gw_async_begin(r, n), starts n backend calls, and
 * calls gw_async_done(r) from each callback; the connection stays suspended
 * (no HTTP thread ever blocks on a backend) until the last one is done and the
 * handler's finish function has set the response. */
#ifndef KUBARR_GATEWAY_HTTP_H
#define KUBARR_GATEWAY_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gateway;
struct route;
struct gw_principal;
struct gw_req;

/* A streamed request body (routes with ROUTE_F_STREAM_BODY): the handler,
 * run after the session and permission checks, either answers at once or sets
 * r->sink (and its state in r->hctx) to take the body.  chunk gets every piece
 * as it arrives (0, or -1 with an answer set: the rest is discarded); end runs
 * once after the last piece and answers (it may start an async round); release
 * always runs when the request is over, completed or aborted. */
struct gw_body_sink {
	int (*chunk)(struct gw_req *r, const char *data, size_t len);
	void (*end)(struct gw_req *r);
	void (*release)(struct gw_req *r);
};

#define GW_MAX_PARAMS 4

struct gw_req {
	struct MHD_Connection *conn;
	struct gateway *gw;
	const char *method;
	const char *url;
	int64_t start_us;
	const struct route *route;
	const char *params[GW_MAX_PARAMS]; /* {name} segments, in pattern order */
	size_t nparams;
	char *body;
	size_t body_len;
	bool body_too_large;
	/* ROUTE_F_STREAM_BODY */
	bool stream;                       /* the route takes its body as a stream */
	bool dispatched;                   /* checks and handler have run */
	bool body_ended;
	const struct gw_body_sink *sink;
	/* the answer */
	struct MHD_Response *resp;
	unsigned status;
	size_t resp_bytes;
	/* async */
	bool suspended;
	atomic_int pending;
	void (*finish)(struct gw_req *r);
	void *hctx;                        /* handler state, freed by the handler */
	char *path_params_buf;
	/* auth.c: the caller, once the middleware has checked the session */
	struct gw_principal *principal;
	char client_addr[64];              /* after KUBARR_TRUSTED_PROXIES */
	bool via_proxy;                    /* the peer is a trusted proxy */
};

struct gw_http_limits {
	unsigned threads;
	unsigned max_connections;
	unsigned idle_timeout_s;
	size_t max_header_bytes;
	size_t max_body_bytes;
	bool access_log;
};

struct gw_http;
int gw_http_start(struct gw_http **h_r, struct gateway *gw, const char *host, unsigned port,
    const struct gw_http_limits *lim, char **err_r);
void gw_http_stop(struct gw_http **h, int64_t deadline_us);
void gw_http_stats(const struct gw_http *h, int64_t *requests_r, int64_t *in_flight_r,
    int64_t *errors_5xx_r);

/* Responses: each takes ownership of what it is given. */
void gw_respond(struct gw_req *r, unsigned status, struct MHD_Response *resp, size_t bytes);
void gw_respond_json(struct gw_req *r, unsigned status, json_t *body);
/* JSON already rendered (copied). */
void gw_respond_json_text(struct gw_req *r, unsigned status, const char *json);
void gw_respond_detail(struct gw_req *r, unsigned status, const char *detail);
/* 503 with Retry-After and an optional extra JSON object merged in. */
void gw_respond_unavailable(struct gw_req *r, const char *detail, json_t *extra);
void gw_respond_text(struct gw_req *r, unsigned status, const char *text);

/* A round of `calls` backend calls; finish runs once after the last
 * gw_async_done.  finish may start another round (the middleware's finish
 * runs the route handler, which may call backends itself); the connection is
 * resumed only when a finish returns without starting one. */
void gw_async_begin(struct gw_req *r, int calls, void (*finish)(struct gw_req *r));
void gw_async_done(struct gw_req *r);
/* A finish for handlers that answer from their callbacks. */
void gw_async_noop(struct gw_req *r);

/* Request headers (NULL when absent). */
const char *gw_header(struct gw_req *r, const char *name);
/* Query string argument (NULL when absent). */
const char *gw_query(struct gw_req *r, const char *name);
/* Adds a header to the response already set (e.g. Set-Cookie, once per value). */
void gw_add_header(struct gw_req *r, const char *name, const char *value);

#endif
