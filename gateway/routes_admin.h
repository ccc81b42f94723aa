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


/* A GET route that lists the records of a storaged op without request fields:
 * [rec_json(record), ...], or routes_admin_failed. */
#define ROUTES_ADMIN_LIST(fn, op, field, rec_json)                                          \
	static void fn##_cb(void *arg, enum proto_status st, const struct proto_##op##_rep *rep, \
	    const char *detail)                                                                 \
	{                                                                                       \
		struct gw_req *r = arg;                                                             \
                                                                                            \
		if (st != PROTO_OK) {                                                               \
			routes_admin_failed(r, st, detail);                                             \
		} else {                                                                            \
			json_t *a = json_array();                                                       \
                                                                                            \
			for (size_t i = 0; i < rep->field.n; i++)                                       \
				json_array_append_new(a, rec_json(&rep->field.v[i]));                       \
			gw_respond_json(r, MHD_HTTP_OK, a);                                             \
		}                                                                                   \
		gw_async_done(r);                                                                   \
	}                                                                                       \
	void fn(struct gw_req *r)                                                               \
	{                                                                                       \
		struct proto_##op##_req req = {0};                                                  \
                                                                                            \
		gw_async_begin(r, 1, gw_async_noop);                                                \
		proto_##op##_call(r->gw->backend[GW_STORAGED], &req, r->gw->ipc_timeout_ms,       \
		    fn##_cb, r);                                                                    \
	}

#endif
