/* auth: the gateway's side of authentication.
 *
 * For every route with a permission (API.md 3.2): the CSRF rule for unsafe
 * methods (decision 5), then AUTH_CHECK with the request's cookies to authd
 * (one round trip; authd answers from its cache), then 401 / 403 / 503, then
 * the route's handler with r->principal set.  The client address comes from
 * X-Forwarded-For only when the peer is in KUBARR_TRUSTED_PROXIES (decision 4). */
#ifndef KUBARR_GATEWAY_AUTH_H
#define KUBARR_GATEWAY_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "proto.h"

struct gw_principal {
	int64_t user_id;
	char *username;
	char *email;
	char *session_id;
	int slot;
	char **permissions;    /* sorted; one allocation with the strings */
	size_t npermissions;
	char *user_json;       /* UserResponse (API.md Users), as authd rendered it */
};

/* KUBARR_TRUSTED_PROXIES: comma-separated addresses or CIDRs.  0 or -1 with
 * *err_r (malloc'd) naming the bad entry. */
struct gateway;
int auth_open(struct gateway *gw, const char *trusted_proxies, char **err_r);
void auth_close(struct gateway *gw);

void auth_client_addr(struct gw_req *r);
/* The client (after auth_client_addr) is on loopback: 127.0.0.0/8, ::1 or
 * ::ffff:127.0.0.0/104. */
bool auth_client_loopback(const struct gw_req *r);
/* False (and a 403 set) when an unsafe cookie-authenticated request fails the
 * same-origin rule. */
bool auth_csrf_ok(struct gw_req *r);
void auth_middleware(struct gw_req *r);
bool auth_has(const struct gw_principal *p, const char *permission);
void auth_principal_free(struct gw_principal **p);

/* The client fields of every authd request: cookies, address, user agent. */
#define AUTH_CLIENT_FILL(req, r)                                                   \
	do {                                                                           \
		(req).cookies = gw_header((r), "Cookie");                                   \
		(req).has_cookies = (req).cookies != NULL;                                  \
		(req).ip_address = (r)->client_addr;                                        \
		(req).has_ip_address = (r)->client_addr[0] != '\0';                         \
		(req).user_agent = gw_header((r), "User-Agent");                            \
		(req).has_user_agent = (req).user_agent != NULL;                            \
	} while (0)

/* Shorthands of the handlers that forward to authd (routes_auth.c, routes_2fa.c). */
#define AUTH_AUTHD(r) ((r)->gw->backend[GW_AUTHD])
#define AUTH_TIMEOUT(r) ((r)->gw->ipc_timeout_ms)
/* In a callback: true (and the answer set) on a transport failure or a failed outcome. */
#define AUTH_CB_FAILED(r, st, rep, detail)                                         \
	((st) != PROTO_OK ? (auth_backend_failed((r), "authd", (st), (detail)), true) :  \
	    AUTH_OUTCOME_FAILED((r), (rep)))
/* A handler without a body: the client fields only, answered by fn##_cb. */
#define AUTH_ROUTE_CLIENT_ONLY(fn, op)                                             \
	void fn(struct gw_req *r)                                                      \
	{                                                                              \
		struct proto_##op##_req req = {0};                                         \
                                                                                   \
		AUTH_CLIENT_FILL(req, r);                                                  \
		gw_async_begin(r, 1, gw_async_noop);                                       \
		proto_##op##_call(AUTH_AUTHD(r), &req, AUTH_TIMEOUT(r), fn##_cb, r);       \
	}

/* Renders a failed authd outcome (http >= 400) with its cookies; false when
 * the outcome is a success and the caller renders the body. */
bool auth_outcome_failed(struct gw_req *r, int64_t http, const char *detail, int64_t retry_after,
    const struct proto_strs *cookies);
#define AUTH_OUTCOME_FAILED(r, rep)                                                \
	auth_outcome_failed((r), (rep)->http, (rep)->has_detail ? (rep)->detail : NULL, \
	    (rep)->has_retry_after ? (rep)->retry_after : 0,                           \
	    (rep)->has_set_cookies ? &(rep)->set_cookies : NULL)
void auth_set_cookies(struct gw_req *r, const struct proto_strs *cookies);
/* An IPC failure talking to a backend: 503 (down, timeout) or 500. */
void auth_backend_failed(struct gw_req *r, const char *backend, enum proto_status st,
    const char *detail);

#endif
