/* routes_audit: /api/audit (API.md 4 Audit, 10), served by storaged's indexed
 * queries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"

#define STORAGED(r) ((r)->gw->backend[GW_STORAGED])

/* ?name=<integer in [lo, hi]>; 0 absent, 1 set, -1 after a 400. */
static int
routes_audit_int(struct gw_req *r, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	const char *s = gw_query(r, name);
	char *end, msg[160];
	long long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		snprintf(msg, sizeof(msg), "Query parameter '%s' must be an integer from %lld to %lld",
		    name, (long long)lo, (long long)hi);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return -1;
	}
	*out = v;
	return 1;
}

static json_t *
routes_audit_entry(const struct proto_rec_audit_entry *e)
{
	json_t *details = NULL;

	if (e->has_details)
		details = json_loads(e->details, 0, NULL);
	if (e->has_details && details == NULL)
		details = json_string(e->details);
	return json_pack("{s:I, s:s, s:o?, s:s?, s:s, s:s, s:s?, s:o?, s:s?, s:s?, s:b, s:s?}",
	    "id", (json_int_t)e->id, "timestamp", e->timestamp, "user_id",
	    e->has_user_id ? json_integer(e->user_id) : NULL, "username",
	    e->has_username ? e->username : NULL, "action", e->action, "resource_type",
	    e->resource_type, "resource_id", e->has_resource_id ? e->resource_id : NULL, "details",
	    details, "ip_address", e->has_ip_address ? e->ip_address : NULL, "user_agent",
	    e->has_user_agent ? e->user_agent : NULL, "success", e->success, "error_message",
	    e->has_error_message ? e->error_message : NULL);
}

static void
routes_audit_list_cb(void *arg, enum proto_status st, const struct proto_audit_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		auth_backend_failed(r, "storaged", st, detail);
	} else {
		json_t *logs = json_array();

		for (size_t i = 0; i < rep->logs.n; i++)
			json_array_append_new(logs, routes_audit_entry(&rep->logs.v[i]));
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I, s:I, s:I, s:I}", "logs", logs,
		    "total", (json_int_t)rep->total, "page", (json_int_t)rep->page, "per_page",
		    (json_int_t)rep->per_page, "total_pages", (json_int_t)rep->total_pages));
	}
	gw_async_done(r);
}

void
routes_audit_list(struct gw_req *r)
{
	struct proto_audit_list_req req = {0};
	int64_t page = 1, per_page = 50, uid = 0;
	const char *ok;
	int rc;

	if (routes_audit_int(r, "page", 1, 1000000000, &page) < 0 ||
	    routes_audit_int(r, "per_page", 1, 100, &per_page) < 0 ||
	    (rc = routes_audit_int(r, "user_id", 1, INT64_MAX, &uid)) < 0)
		return;
	req.page = (uint64_t)page;
	req.has_page = true;
	req.per_page = (uint64_t)per_page;
	req.has_per_page = true;
	req.user_id = uid;
	req.has_user_id = rc > 0;
	req.action = gw_query(r, "action");
	req.has_action = req.action != NULL;
	req.resource_type = gw_query(r, "resource_type");
	req.has_resource_type = req.resource_type != NULL;
	req.from = gw_query(r, "from");
	req.has_from = req.from != NULL;
	req.to = gw_query(r, "to");
	req.has_to = req.to != NULL;
	req.search = gw_query(r, "search");
	req.has_search = req.search != NULL;
	if ((ok = gw_query(r, "success")) != NULL) {
		if (strcmp(ok, "true") != 0 && strcmp(ok, "false") != 0) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
			    "Query parameter 'success' must be true or false");
			return;
		}
		req.success = strcmp(ok, "true") == 0;
		req.has_success = true;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_audit_list_call(STORAGED(r), &req, r->gw->ipc_timeout_ms, routes_audit_list_cb, r);
}

/* ---- GET /api/audit/stats ------------------------------------------------------- */

static void
routes_audit_stats_cb(void *arg, enum proto_status st, const struct proto_audit_stats_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		auth_backend_failed(r, "storaged", st, detail);
	} else {
		json_t *top = json_array(), *fails = json_array();

		for (size_t i = 0; i < rep->top_actions.n; i++)
			json_array_append_new(top, json_pack("{s:s, s:I}", "action",
			    rep->top_actions.v[i].key, "count", (json_int_t)rep->top_actions.v[i].val));
		for (size_t i = 0; i < rep->recent_failures.n; i++)
			json_array_append_new(fails, routes_audit_entry(&rep->recent_failures.v[i]));
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
		    "total_events", (json_int_t)rep->total_events, "successful_events",
		    (json_int_t)rep->successful_events, "failed_events",
		    (json_int_t)rep->failed_events, "events_today", (json_int_t)rep->events_today,
		    "events_this_week", (json_int_t)rep->events_this_week, "top_actions", top,
		    "recent_failures", fails));
	}
	gw_async_done(r);
}

void
routes_audit_stats(struct gw_req *r)
{
	struct proto_audit_stats_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_audit_stats_call(STORAGED(r), &req, r->gw->ipc_timeout_ms, routes_audit_stats_cb, r);
}

/* ---- POST /api/audit/clear ---------------------------------------------------------
 * storaged deletes in batches (the writer is never held long); the gateway
 * calls again while older entries remain. */

struct routes_audit_clear {
	uint64_t days, deleted;
	char rid[24];
};

static void routes_audit_clear_next(struct gw_req *r);

static void
routes_audit_clear_cb(void *arg, enum proto_status st, const struct proto_audit_clear_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct routes_audit_clear *c = r->hctx;

	if (st != PROTO_OK) {
		r->hctx = NULL;
		auth_backend_failed(r, "storaged", st, detail);
		free(c);
	} else {
		c->deleted += rep->deleted;
		if (rep->more && rep->deleted > 0) {
			routes_audit_clear_next(r);
		} else {
			char msg[96], d[96];

			r->hctx = NULL;
			snprintf(msg, sizeof(msg), "Deleted %llu audit entries older than %llu days",
			    (unsigned long long)c->deleted, (unsigned long long)c->days);
			snprintf(d, sizeof(d), "{\"days\":%llu,\"deleted\":%llu}",
			    (unsigned long long)c->days, (unsigned long long)c->deleted);
			gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:I, s:s}", "deleted",
			    (json_int_t)c->deleted, "message", msg));
			/* written after the delete, so the clear itself stays on record */
			routes_admin_audit(r, "audit_cleared", "system", NULL, d);
			free(c);
		}
	}
	gw_async_done(r);
}

static void
routes_audit_clear_next(struct gw_req *r)
{
	struct routes_audit_clear *c = r->hctx;
	struct proto_audit_clear_req req = {0};

	req.days = c->days;
	req.has_days = true;
	gw_async_begin(r, 1, gw_async_noop);
	proto_audit_clear_call(STORAGED(r), &req, r->gw->ipc_timeout_ms, routes_audit_clear_cb, r);
}

void
routes_audit_clear(struct gw_req *r)
{
	struct routes_audit_clear *c;
	int64_t days = 90;

	if (r->body_len > 0) {
		json_t *b = json_body_object(r);

		if (b == NULL)
			return;
		if (json_body_int(r, b, "days", false, &days, NULL) != 0) {
			json_decref(b);
			return;
		}
		json_decref(b);
		if (days < 0 || days > 36500) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
			    "Field 'days' must be an integer from 0 to 36500");
			return;
		}
	}
	c = xcalloc(1, sizeof(*c));
	c->days = (uint64_t)days;
	r->hctx = c;
	routes_audit_clear_next(r);
}
