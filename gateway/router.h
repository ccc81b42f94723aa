/* router: the whole HTTP API in one table, {method, pattern, permission,
 * handler}.  Patterns are literal segments and {name} placeholders. */
#ifndef KUBARR_GATEWAY_ROUTER_H
#define KUBARR_GATEWAY_ROUTER_H

#include <stddef.h>

#include "http.h"

typedef void (*route_handler_fn)(struct gw_req *r);

#define ROUTE_PUBLIC NULL  /* permission: none, no session needed */
#define ROUTE_ANY ""       /* permission: any signed-in user ("A" in API.md) */

/* flags */
#define ROUTE_F_COOKIE 0x1u  /* public, but acts on the session cookies: CSRF applies */
/* The body is not buffered (nor limited by KUBARR_HTTP_MAX_BODY_BYTES): the
 * checks and the handler run when the first piece (or the end) arrives, and
 * the handler takes the body through a struct gw_body_sink (http.h). */
#define ROUTE_F_STREAM_BODY 0x2u
/* The permission applies only to clients that are not on loopback (the
 * address after KUBARR_TRUSTED_PROXIES): a local scraper needs no session. */
#define ROUTE_F_LOOPBACK_OPEN 0x4u

struct route {
	const char *method;
	const char *pattern;
	const char *permission;
	route_handler_fn handler;
	const char *summary;
	unsigned flags;
};

enum router_result { ROUTER_FOUND, ROUTER_NO_PATH, ROUTER_NO_METHOD };

/* Finds the route for method + path, fills r->route and r->params.  On
 * ROUTER_NO_METHOD, allow_r receives the methods the path accepts ("GET, POST"). */
enum router_result router_match(struct gw_req *r, const char *method, const char *path,
    char *allow_r, size_t allow_len);
const struct route *router_table(size_t *n_r);

#endif
