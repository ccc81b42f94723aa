/* routes_admin: what the administration routes (users, roles, settings,
 * audit) share: storaged errors as HTTP answers, the audit entry of an admin
 * action, strict path ids, query integers and JSON string arrays. */
#ifndef KUBARR_GATEWAY_ROUTES_ADMIN_H
#define KUBARR_GATEWAY_ROUTES_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "proto.h"

#define ROUTES_ADMIN_STORAGED(r) ((r)->gw->backend[GW_STORAGED])
#define ROUTES_ADMIN_TIMEOUT(r) ((r)->gw->ipc_timeout_ms)

/* A failed storaged call as an answer: 400 (bad_request, conflict, forbidden:
 * the API answers refusals with 400), 404, 503 or 500; detail kept. */
void routes_admin_failed(struct gw_req *r, enum proto_status st, const char *detail);

/* Appends the audit entry of the action the answer already set reports: the
 * acting principal, r->client_addr, the User-Agent.  Call from a callback
 * before its gw_async_done: the response waits for the entry (one more round),
 * so a client reading the audit log right after sees it.  details: JSON text
 * or NULL. */
void routes_admin_audit(struct gw_req *r, const char *action, const char *resource_type,
    const char *resource_id, const char *details);

/* params[idx] as an id >= 1: 0, or -1 after a 400 naming `what`. */
int routes_admin_path_id(struct gw_req *r, size_t idx, const char *what, int64_t *id_r);
/* ?name=<integer in [lo, hi]>: 0 absent, 1 set, -1 after a 400. */
int routes_admin_query_int(struct gw_req *r, const char *name, int64_t lo, int64_t hi,
    int64_t *out);
/* obj.field as an array of strings: v (malloc'd, pointing into obj) and n.
 * Absent/null: 0 with *has_r false (required: 400, -1). */
int routes_admin_strs(struct gw_req *r, json_t *obj, const char *field, bool required,
    struct proto_strs *out, bool *has_r);
/* obj.field as an array of ids >= 1 (malloc'd). */
int routes_admin_ids(struct gw_req *r, json_t *obj, const char *field, bool required,
    int64_t **v_r, size_t *n_r, bool *has_r);

json_t *routes_admin_strs_json(const struct proto_strs *s);

#endif
